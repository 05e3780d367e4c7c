/* kam_sync.c — see kam_sync.h. Three parts: the source (primary: hints, lookups and
 * reads of Kamailio's table into local contacts), the writer (backup: synced contacts
 * into Kamailio) and the source's health (MIB state, alarm). The RPC plumbing of
 * both (a call, its streamed reply, its end) is at the top. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <net-snmp/net-snmp-config.h>
#include <net-snmp/net-snmp-includes.h>

#include "contacts.h"
#include "ha_monitors.h"
#include "kam_sync.h"
#include "notify.h"
#include "ss_events.h"
#include "ss_json.h"
#include "ss_rpc.h"

#define KS_IN_FLIGHT 4u          /* RPC calls at once (each its own keep-alive connection) */
#define KS_QUEUE_MAX 200000u     /* queued AORs or contacts; beyond: drop and read all */
#define KS_LOST_GRACE_MS 5000u   /* down this long (also at start) before the alarm */
#define KS_RETRY_MS 1000u        /* a failed read of the whole table is tried again */
#define KS_AOR_CONTACTS_MAX 256u /* contacts of one AOR in a lookup answer */
#define KS_RECENT 256u           /* AORs hinted lately, remembered ... */
#define KS_RECENT_MS 1000u       /* ... this long: a second hint of one is read instead */

enum ks_call_kind { KS_LOOKUP, KS_DUMP, KS_ADD, KS_RM, KS_WRITER_DUMP };

/* A queued key: an AOR (uri NULL) for the source, an (AOR, URI) for the writer. */
struct ks_key {
    char *aor, *uri;
};

struct ks_queue {
    struct ks_key *v;
    size_t head, n, cap; /* entries v[head .. head+n) */
};

/* The table of Kamailio read by the writer: sorted "aor\nuri" strings. */
struct ks_seen {
    char **v;
    size_t n, cap;
};

struct kam_sync {
    struct agent *a;
    struct ss_events *ev;
    struct ss_rpc *rpc;
    enum ha_role role;
    bool ev_up, rpc_ok, alarmed;
    uint64_t lost_timer, reconcile_timer, retry_timer;
    uint64_t dead_timer;       /* the event stream down: Kamailio taken as not running */
    unsigned in_flight;
    struct ks_call *calls;     /* in flight */
    uint64_t next_id;          /* JSON-RPC request ids */
    /* source */
    struct ss_hint *hint;      /* the hint being applied (45 KB: not on the stack) */
    struct { uint64_t hash, at; } recent[KS_RECENT]; /* a ring */
    unsigned recent_next;
    unsigned lookups;          /* ul.lookup calls in flight */
    struct ks_queue dirty;     /* AORs to read with ul.lookup */
    bool dumping, dump_wanted;
    bool takeover_pending;     /* the first read as primary: carry synced contacts over */
    uint64_t dump_contacts;    /* contacts in the read in progress */
    uint64_t dump_mark;
    /* writer */
    struct ks_queue writes;    /* (AOR, URI) to write as they are now */
    bool writer_dump_wanted;
    bool copied;               /* a full copy ended since we became the backup: until
                                  then our Kamailio is not compared with it */
    bool handoff;              /* the next read of our Kamailio hands over what the
                                  primary lacks, instead of removing it */
    struct ks_seen seen;
    bool seen_lost;            /* out of memory while reading it: repair nothing */
    uint64_t handed_over;      /* contacts handed over by the read in progress */
};

struct ks_call {
    struct ks_call *next, *prev; /* the calls in flight, freed at stop */
    struct kam_sync *ks;
    enum ks_call_kind kind;
    char *aor, *uri;
    struct ss_json *reply;
    struct ss_contact *got;    /* KS_LOOKUP: the AOR's contacts */
    size_t n_got, cap_got;
    bool too_many;
};

static void pump(struct kam_sync *ks);
static void source_health(struct kam_sync *ks);

/* ---- queues ----------------------------------------------------------------------------- */

static bool q_push(struct ks_queue *q, const char *aor, const char *uri)
{
    if (q->n >= KS_QUEUE_MAX)
        return false;
    if (q->head + q->n == q->cap) {
        if (q->head) { /* slide down before growing */
            memmove(q->v, q->v + q->head, q->n * sizeof *q->v);
            q->head = 0;
        } else {
            size_t cap = q->cap ? q->cap * 2 : 64;
            struct ks_key *v = realloc(q->v, cap * sizeof *v);
            if (!v)
                return false;
            q->v = v;
            q->cap = cap;
        }
    }
    struct ks_key k = { .aor = strdup(aor), .uri = uri ? strdup(uri) : NULL };
    if (!k.aor || (uri && !k.uri)) {
        free(k.aor);
        free(k.uri);
        return false;
    }
    q->v[q->head + q->n++] = k;
    return true;
}

/* The oldest key (the caller frees its strings); false when empty. */
static bool q_pop(struct ks_queue *q, struct ks_key *out)
{
    if (!q->n)
        return false;
    *out = q->v[q->head++];
    if (--q->n == 0)
        q->head = 0;
    return true;
}

static void q_clear(struct ks_queue *q)
{
    struct ks_key k;
    while (q_pop(q, &k)) {
        free(k.aor);
        free(k.uri);
    }
}

static void q_free(struct ks_queue *q)
{
    q_clear(q);
    free(q->v);
    *q = (struct ks_queue){ 0 };
}

/* ---- RPC calls ------------------------------------------------------------------------------ */

static void call_free(struct ks_call *c)
{
    if (c->reply)
        ss_json_free(c->reply);
    free(c->aor);
    free(c->uri);
    free(c->got);
    free(c);
}

static int on_reply_contact(void *arg, const struct ss_contact *k);
static void on_call_done(void *arg, const struct ss_rpc_result *r);

/* The reply streams into its parser; a verdict other than "more" ends the call. */
static int on_call_data(void *arg, const char *buf, size_t len)
{
    struct ks_call *c = arg;
    enum ss_json_status st = ss_json_feed(c->reply, buf, len);
    return st == SS_JSON_MORE || st == SS_JSON_OK || st == SS_JSON_RPC_ERROR ? 0 : -1;
}

/* Sends `body` (len < 0: it could not be built) for call c, taken over: freed on
 * every path. */
static bool call_send(struct kam_sync *ks, struct ks_call *c, const char *body, int len)
{
    c->ks = ks;
    c->reply = ss_json_new(NULL, on_reply_contact, c);
    if (!c->reply || len <= 0 ||
        ss_rpc_call(ks->rpc, body, (size_t)len, on_call_data, on_call_done, c) != 0) {
        call_free(c);
        return false;
    }
    c->next = ks->calls;
    if (ks->calls)
        ks->calls->prev = c;
    ks->calls = c;
    ks->in_flight++;
    return true;
}

static struct ks_call *call_new(enum ks_call_kind kind, const char *aor, const char *uri)
{
    struct ks_call *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->kind = kind;
    c->aor = aor ? strdup(aor) : NULL;
    c->uri = uri ? strdup(uri) : NULL;
    if ((aor && !c->aor) || (uri && !c->uri)) {
        call_free(c);
        return NULL;
    }
    return c;
}

/* ---- the source (primary) ------------------------------------------------------------------- */

static void attrs_of(const struct ss_contact *k, struct contact_attrs *at)
{
    *at = (struct contact_attrs){ .q = k->q, .flags = k->flags, .cflags = k->cflags,
                                  .methods = k->methods, .path = k->path,
                                  .received = k->received, .socket = k->socket };
}

/* Kamailio's table as the writer read it: one "aor\nuri" key per contact. */
static bool seen_add(struct ks_seen *s, const char *aor, const char *uri)
{
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 256;
        char **v = realloc(s->v, cap * sizeof *v);
        if (!v)
            return false;
        s->v = v;
        s->cap = cap;
    }
    size_t need = strlen(aor) + strlen(uri) + 2;
    char *key = malloc(need);
    if (!key)
        return false;
    snprintf(key, need, "%s\n%s", aor, uri);
    s->v[s->n++] = key;
    return true;
}

static int on_reply_contact(void *arg, const struct ss_contact *k)
{
    struct ks_call *c = arg;
    struct agent *a = c->ks->a;
    struct contact_attrs at;
    switch (c->kind) {
    case KS_DUMP: /* streamed straight into the table: seen from now on */
        if (c->ks->role != HA_ROLE_PRIMARY)
            break; /* we stepped down while it streamed: the primary's view counts */
        c->ks->dump_contacts++;
        attrs_of(k, &at);
        contacts_put_local(a, k->aor, k->uri, k->expires_s, &at);
        break;
    case KS_LOOKUP: /* applied whole at the end, so a broken answer changes nothing */
        if (c->n_got >= KS_AOR_CONTACTS_MAX) {
            c->too_many = true;
            break;
        }
        if (c->n_got == c->cap_got) { /* most AORs have one or two contacts */
            size_t cap = c->cap_got ? c->cap_got * 4 : 4;
            if (cap > KS_AOR_CONTACTS_MAX)
                cap = KS_AOR_CONTACTS_MAX;
            struct ss_contact *v = realloc(c->got, cap * sizeof *v);
            if (!v) {
                c->too_many = true;
                break;
            }
            c->got = v;
            c->cap_got = cap;
        }
        c->got[c->n_got++] = *k;
        break;
    case KS_WRITER_DUMP:
        if (!seen_add(&c->ks->seen, k->aor, k->uri))
            c->ks->seen_lost = true;
        /* The first read after a start or a demotion: a contact the primary's full
         * copy did not bring is one it lacks (a registration our Kamailio took while
         * it was the primary's, or that the primary lost): ours now, to hand over
         * (ha_link.c), not to remove. The price: one unregistered at the primary
         * while our agent was down comes back until it expires. */
        if (c->ks->handoff && c->ks->role == HA_ROLE_BACKUP && k->expires_s &&
            k->expires_s != SS_EXPIRES_PERMANENT &&
            !contacts_find(a, k->aor, k->uri, CONTACT_SYNCED) &&
            !contacts_find(a, k->aor, k->uri, CONTACT_LOCAL)) {
            attrs_of(k, &at);
            if (contacts_put_local(a, k->aor, k->uri, k->expires_s, &at) == 0)
                c->ks->handed_over++;
        }
        break;
    default:
        break;
    }
    return 0;
}

struct aor_set {
    const struct ss_contact *v;
    size_t n;
};

/* A local contact of the AOR that Kamailio no longer lists is gone. */
static void drop_unlisted(struct agent *a, const struct sipha_contact *row, void *arg)
{
    const struct aor_set *set = arg;
    for (size_t i = 0; i < set->n; i++)
        if (strcmp(set->v[i].uri, row->uri) == 0)
            return;
    contacts_remove_local(a, row->aor, row->uri);
}

/* Makes our local contacts of `aor` the n Kamailio holds (from a lookup or a hint). */
static void apply_aor(struct kam_sync *ks, const char *aor, const struct ss_contact *v, size_t n)
{
    struct agent *a = ks->a;
    struct contact_attrs at;
    for (size_t i = 0; i < n; i++) {
        attrs_of(&v[i], &at);
        if (contacts_put_local(a, aor, v[i].uri, v[i].expires_s, &at) == 0)
            contacts_remove_synced(a, aor, v[i].uri); /* handed over: ours now */
    }
    struct aor_set set = { .v = v, .n = n };
    contacts_each_local_of(a, aor, drop_unlisted, &set);
}

static void source_hint(struct kam_sync *ks, const char *aor)
{
    if (ks->role != HA_ROLE_PRIMARY)
        return; /* the backup's Kamailio gets its contacts from us, not from phones */
    if (!q_push(&ks->dirty, aor, NULL)) { /* too far behind: read everything instead */
        q_clear(&ks->dirty);
        ks->dump_wanted = true;
    }
    pump(ks);
}

static bool start_lookup(struct kam_sync *ks)
{
    struct ks_key k;
    if (!q_pop(&ks->dirty, &k))
        return false;
    char body[SS_JSON_REQ_MAX];
    int len = ss_json_req_lookup(body, sizeof body, ++ks->next_id, ks->a->cfg.sip_server_table,
                                 k.aor);
    struct ks_call *c = call_new(KS_LOOKUP, k.aor, NULL);
    free(k.aor);
    free(k.uri);
    if (c && call_send(ks, c, body, len))
        ks->lookups++;
    return true;
}

/* Synced contacts (of the old primary, or handed over by the backup) that our
 * Kamailio holds now (local twins) are dropped; the others are written into it
 * first, then read back as local (the lookup after each write drops their synced
 * twins). */
static void carry_over_synced(struct kam_sync *ks)
{
    struct agent *a = ks->a;
    for (size_t i = a->inst.contacts.count; i-- > 0;) {
        const struct sipha_contact *c = rows_at(&a->inst.contacts, i);
        if (c->origin != CONTACT_SYNCED)
            continue;
        if (contacts_find(a, c->aor, c->uri, CONTACT_LOCAL)) {
            contacts_remove_synced(a, c->aor, c->uri);
            continue;
        }
        q_push(&ks->writes, c->aor, c->uri);
    }
    ks->takeover_pending = false;
}

static void dump_done(struct kam_sync *ks, bool ok, const struct ss_json_result *jr)
{
    ks->dumping = false;
    if (ks->role != HA_ROLE_PRIMARY)
        return; /* stepped down meanwhile: what is not local now is not ours to drop */
    if (!ok) {
        ks->dump_wanted = true; /* again when the retry timer ends */
        return;
    }
    size_t before = contacts_local_count(ks->a);
    contacts_drop_local_before(ks->a, ks->dump_mark);
    /* every read, not only the first after a takeover: a write that failed (our
     * Kamailio was down) is tried again here */
    carry_over_synced(ks);
    snmp_log(LOG_INFO, "sipha[%u]: Kamailio's location table read: %llu contacts, %zu gone "
             "since\n", ks->a->inst.index, (unsigned long long)ks->dump_contacts,
             before - contacts_local_count(ks->a));
    if (jr->invalid)
        snmp_log(LOG_WARNING, "sipha[%u]: Kamailio's location table: %llu contacts skipped "
                 "(the first: %s)\n", ks->a->inst.index, (unsigned long long)jr->invalid,
                 jr->first_invalid);
}

/* ---- the writer (backup) -------------------------------------------------------------------- */

static int seen_cmp(const void *x, const void *y)
{
    return strcmp(*(char *const *)x, *(char *const *)y);
}

static void seen_clear(struct ks_seen *s)
{
    for (size_t i = 0; i < s->n; i++)
        free(s->v[i]);
    s->n = 0;
}

static bool seen_has(const struct ks_seen *s, const char *aor, const char *uri)
{
    char key[2 * SIPHA_URI_MAX + 2], *p = key;
    snprintf(key, sizeof key, "%s\n%s", aor, uri);
    return bsearch(&p, s->v, s->n, sizeof *s->v, seen_cmp) != NULL;
}

/* Kamailio's table read: what it has and we do not is removed, what we have and it
 * does not is written. Our own local contacts (registered here while we were the
 * primary, not yet confirmed by the new one) stay: removing them before the primary
 * holds them would lose registrations. */
static void writer_dump_done(struct kam_sync *ks, bool ok)
{
    struct agent *a = ks->a;
    struct ks_seen *s = &ks->seen;
    if (ks->handed_over)
        snmp_log(LOG_NOTICE, "sipha[%u]: %llu contacts of our Kamailio that the primary lacks "
                 "handed over to it\n", a->inst.index, (unsigned long long)ks->handed_over);
    ks->handed_over = 0;
    if (ok)
        ks->handoff = false;
    if (ks->role != HA_ROLE_BACKUP) {
        /* took over meanwhile: nothing of our Kamailio is removed */
    } else if (ok && !ks->seen_lost) {
        qsort(s->v, s->n, sizeof *s->v, seen_cmp);
        for (size_t i = 0; i < s->n; i++) {
            char *nl = strchr(s->v[i], '\n');
            *nl = '\0';
            if (!contacts_find(a, s->v[i], nl + 1, CONTACT_SYNCED) &&
                !contacts_find(a, s->v[i], nl + 1, CONTACT_LOCAL))
                q_push(&ks->writes, s->v[i], nl + 1);
            *nl = '\n';
        }
        for (size_t i = 0; i < a->inst.contacts.count; i++) {
            const struct sipha_contact *c = rows_at(&a->inst.contacts, i);
            if (c->origin == CONTACT_SYNCED && !seen_has(s, c->aor, c->uri))
                q_push(&ks->writes, c->aor, c->uri);
        }
    } else {
        ks->writer_dump_wanted = true;
    }
    seen_clear(s);
    ks->seen_lost = false;
}

static bool start_write(struct kam_sync *ks)
{
    struct ks_key k;
    if (!q_pop(&ks->writes, &k))
        return false;
    struct agent *a = ks->a;
    const struct sipha_contact *c = contacts_find(a, k.aor, k.uri, CONTACT_SYNCED);
    char body[SS_JSON_REQ_MAX], err[128];
    int len;
    struct ks_call *call;
    uint64_t now = loop_now(a->loop);
    /* expires 0 would make it permanent there; and nothing is removed from the
     * primary's Kamailio, nor a contact of ours the primary has not confirmed yet */
    if ((c && c->expires_at <= now + 1000) ||
        (!c && (ks->role == HA_ROLE_PRIMARY || contacts_find(a, k.aor, k.uri, CONTACT_LOCAL)))) {
        free(k.aor);
        free(k.uri);
        return true;
    }
    if (c) {
        uint64_t left_s = (c->expires_at - now + 999) / 1000;
        uint32_t left = left_s > INT32_MAX ? SS_EXPIRES_PERMANENT : (uint32_t)left_s;
        struct ss_contact sc = { .expires_s = left, .q = c->q, .flags = c->flags,
                                 .cflags = c->cflags, .methods = c->methods };
        snprintf(sc.aor, sizeof sc.aor, "%s", c->aor);
        snprintf(sc.uri, sizeof sc.uri, "%s", c->uri);
        snprintf(sc.path, sizeof sc.path, "%s", c->path ? c->path : "");
        snprintf(sc.received, sizeof sc.received, "%s", c->received ? c->received : "");
        snprintf(sc.socket, sizeof sc.socket, "%s", c->socket ? c->socket : "");
        len = ss_json_req_add(body, sizeof body, ++ks->next_id, a->cfg.sip_server_table, &sc,
                              err, sizeof err);
        if (len < 0)
            snmp_log(LOG_WARNING, "sipha[%u]: contact %s of %s not written into Kamailio: %s\n",
                     a->inst.index, k.uri, k.aor, err);
        call = call_new(KS_ADD, k.aor, k.uri);
    } else {
        len = ss_json_req_rm_contact(body, sizeof body, ++ks->next_id, a->cfg.sip_server_table,
                                     k.aor, k.uri);
        call = call_new(KS_RM, k.aor, k.uri);
    }
    free(k.aor);
    free(k.uri);
    if (call)
        call_send(ks, call, body, len);
    return true;
}

/* A synced contact changed. On the backup it goes into Kamailio, and a local twin
 * (ours from when we were the primary) is the primary's now. On the primary it is
 * one the old primary handed over (ha_link.c): written into our Kamailio unless we
 * have it, then read back as ours (the first read after a takeover does that for
 * all of them at once). */
void kam_sync_synced_changed(struct agent *a, const char *aor_in, const char *uri_in)
{
    struct kam_sync *ks = a->kam;
    if (!ks)
        return;
    char aor[SIPHA_URI_MAX], uri[SIPHA_URI_MAX]; /* they may live in a row that moves */
    snprintf(aor, sizeof aor, "%s", aor_in);
    snprintf(uri, sizeof uri, "%s", uri_in);
    bool synced = contacts_find(a, aor, uri, CONTACT_SYNCED) != NULL;
    if (ks->role == HA_ROLE_PRIMARY) {
        if (!synced || ks->takeover_pending || contacts_find(a, aor, uri, CONTACT_LOCAL))
            return;
    } else if (synced) {
        contacts_forget_local(a, aor, uri);
    }
    if (!q_push(&ks->writes, aor, uri)) {
        q_clear(&ks->writes);
        ks->writer_dump_wanted = true;
    }
    pump(ks);
}

void kam_sync_pass_done(struct agent *a, bool full)
{
    struct kam_sync *ks = a->kam;
    if (!ks || !full || ks->role != HA_ROLE_BACKUP)
        return;
    ks->copied = true;
    ks->writer_dump_wanted = true; /* a full copy: make Kamailio's table equal to it */
    pump(ks);
}

/* ---- driving the calls ------------------------------------------------------------------------ */

static bool start_dump(struct kam_sync *ks, enum ks_call_kind kind)
{
    char body[SS_JSON_REQ_MAX];
    int len = ss_json_req_dump(body, sizeof body, ++ks->next_id);
    struct ks_call *c = call_new(kind, NULL, NULL);
    if (!c)
        return false;
    ks->dumping = true;
    if (kind == KS_DUMP) {
        ks->dump_mark = loop_now(ks->a->loop);
        ks->dump_contacts = 0;
    }
    if (!call_send(ks, c, body, len)) {
        ks->dumping = false;
        return false;
    }
    return true;
}

/* Starts what is due, KS_IN_FLIGHT calls at most. A read of the whole table goes
 * alone: lookups answered while it streams could be overwritten by its older view. */
static void pump(struct kam_sync *ks)
{
    if (!ks->ev_up || ks->dumping || ks->retry_timer) /* (after a failure: its timer) */
        return;
    if (ks->role == HA_ROLE_PRIMARY && ks->dump_wanted) {
        if (ks->in_flight)
            return; /* wait for the calls in flight to end first */
        ks->dump_wanted = false;
        start_dump(ks, KS_DUMP);
        return;
    }
    if (ks->role == HA_ROLE_BACKUP && ks->writer_dump_wanted && ks->copied) {
        if (ks->in_flight)
            return;
        ks->writer_dump_wanted = false;
        start_dump(ks, KS_WRITER_DUMP);
        return;
    }
    while (ks->in_flight < KS_IN_FLIGHT) {
        bool started = ks->role == HA_ROLE_PRIMARY ? start_lookup(ks) : false;
        if (!started)
            started = start_write(ks);
        if (!started)
            break;
    }
}

static void on_retry(void *arg)
{
    struct kam_sync *ks = arg;
    ks->retry_timer = 0;
    pump(ks);
}

static void call_failed(struct kam_sync *ks, const char *what)
{
    struct agent *a = ks->a;
    a->inst.contact_source_failures++;
    if (ks->rpc_ok)
        snmp_log(LOG_WARNING, "sipha[%u]: Kamailio RPC failed: %s\n", a->inst.index, what);
    ks->rpc_ok = false;
    source_health(ks);
    if (!ks->retry_timer)
        ks->retry_timer = loop_timer_add(a->loop, KS_RETRY_MS, on_retry, ks);
}

static const char *call_name(enum ks_call_kind k)
{
    switch (k) {
    case KS_LOOKUP: return "ul.lookup";
    case KS_ADD: return "ul.add";
    case KS_RM: return "ul.rm_contact";
    default: return "ul.dump";
    }
}

static void on_call_done(void *arg, const struct ss_rpc_result *r)
{
    struct ks_call *c = arg;
    struct kam_sync *ks = c->ks;
    bool answered = r->outcome == SS_RPC_ANSWERED;
    enum ss_json_status st = answered ? ss_json_finish(c->reply) : ss_json_result(c->reply)->status;
    const struct ss_json_result *jr = ss_json_result(c->reply);
    /* Kamailio 5.6 answers an unknown AOR with code 500 "AOR not found in location
     * table" (ul.lookup) and 404 "AOR not found" / "Contact not found" (ul.rm_contact):
     * for us both mean "nothing there". */
    bool not_found = answered && st == SS_JSON_RPC_ERROR &&
                     (c->kind == KS_LOOKUP || c->kind == KS_RM) &&
                     (jr->rpc_code == 404 || strcasestr(jr->rpc_message, "not found") != NULL);
    bool ok = answered && (st == SS_JSON_OK || not_found) && !c->too_many;
    ks->in_flight--;
    if (c->prev)
        c->prev->next = c->next;
    else
        ks->calls = c->next;
    if (c->next)
        c->next->prev = c->prev;
    if (!ok) {
        char why[300];
        snprintf(why, sizeof why, "%s: %s", call_name(c->kind),
                 !answered ? r->error : st == SS_JSON_RPC_ERROR ? jr->rpc_message
                 : c->too_many ? "too many contacts for one AOR" : jr->reason);
        if (c->kind == KS_LOOKUP) /* read everything again once it works */
            ks->dump_wanted = true;
        if (c->kind == KS_ADD || c->kind == KS_RM)
            ks->writer_dump_wanted = true;
        call_failed(ks, why);
    } else if (!ks->rpc_ok) {
        ks->rpc_ok = true;
        source_health(ks);
    }
    switch (c->kind) {
    case KS_LOOKUP:
        ks->lookups--;
        if (ok && ks->role == HA_ROLE_PRIMARY)
            apply_aor(ks, c->aor, c->got, not_found ? 0 : c->n_got);
        break;
    case KS_DUMP: dump_done(ks, ok, jr); break;
    case KS_WRITER_DUMP:
        ks->dumping = false;
        writer_dump_done(ks, ok);
        break;
    case KS_ADD:
    case KS_RM:
        if (ok)
            ks->a->inst.contacts_written++;
        if (ok && ks->role == HA_ROLE_PRIMARY && c->kind == KS_ADD) /* carried over */
            source_hint(ks, c->aor);
        break;
    }
    call_free(c);
    pump(ks);
}

/* ---- health of the source ------------------------------------------------------------------- */

static void on_lost_timer(void *arg)
{
    struct kam_sync *ks = arg;
    ks->lost_timer = 0;
    if (ks->alarmed)
        return;
    ks->alarmed = true;
    notify_emit(ks->a, HA_NOTIF_CONTACT_SOURCE_LOST, 0,
                !ks->ev_up ? "no connection to its event stream (evapi)" : "its RPC fails");
}

/* The event stream is Kamailio's own process: down for KS_LOST_GRACE_MS (also from the
 * start), Kamailio is taken as not running, and a process that holds its SIP port
 * meanwhile is not its listener (ha_monitors_server_alive). */
static void on_dead_timer(void *arg)
{
    struct kam_sync *ks = arg;
    ks->dead_timer = 0;
    snmp_log(LOG_WARNING, "sipha[%u]: Kamailio's event stream %s down for %u s: Kamailio taken "
             "as not running, its SIP listener as failed\n", ks->a->inst.index,
             ks->a->cfg.sip_server_events, KS_LOST_GRACE_MS / 1000u);
    ha_monitors_server_alive(ks->a, false);
}

static void server_health(struct kam_sync *ks)
{
    struct agent *a = ks->a;
    if (ks->ev_up) {
        if (ks->dead_timer)
            loop_timer_cancel(a->loop, ks->dead_timer);
        ks->dead_timer = 0;
        ha_monitors_server_alive(a, true);
    } else if (!ks->dead_timer) {
        ks->dead_timer = loop_timer_add(a->loop, KS_LOST_GRACE_MS, on_dead_timer, ks);
    }
}

/* up = the event stream is connected and the last call worked. Down for
 * KS_LOST_GRACE_MS raises the alarm once; up again clears it. */
static void source_health(struct kam_sync *ks)
{
    struct agent *a = ks->a;
    bool up = ks->ev_up && ks->rpc_ok;
    a->inst.contact_source = up ? CONTACT_SOURCE_UP : CONTACT_SOURCE_DOWN;
    if (up) {
        if (ks->lost_timer)
            loop_timer_cancel(a->loop, ks->lost_timer);
        ks->lost_timer = 0;
        if (ks->alarmed) {
            ks->alarmed = false;
            notify_clear_alarm(a, HA_NOTIF_CONTACT_SOURCE_LOST, "contact source found");
        }
    } else if (!ks->lost_timer && !ks->alarmed) {
        ks->lost_timer = loop_timer_add(a->loop, KS_LOST_GRACE_MS, on_lost_timer, ks);
    }
}

/* Whether `aor` was hinted within KS_RECENT_MS (then remembered again). Two SIP
 * workers that saved one AOR at once may relay their hints in the other order. */
static bool hinted_lately(struct kam_sync *ks, const char *aor)
{
    uint64_t h = 1469598103934665603ull, now = loop_now(ks->a->loop);
    for (const unsigned char *p = (const unsigned char *)aor; *p; p++)
        h = (h ^ *p) * 1099511628211ull;
    bool seen = false;
    for (unsigned i = 0; i < KS_RECENT && !seen; i++)
        seen = ks->recent[i].hash == h && ks->recent[i].at && now - ks->recent[i].at < KS_RECENT_MS;
    ks->recent[ks->recent_next].hash = h;
    ks->recent[ks->recent_next].at = now ? now : 1;
    ks->recent_next = (ks->recent_next + 1) % KS_RECENT;
    return seen;
}

/* A hint with the AOR's contacts is applied as it is, unless something older about
 * that AOR may still arrive after it: a read of the table or lookups under way, or
 * another hint of it just before. Then the AOR is read like one without contacts. */
static void on_event(void *ctx, const char *buf, size_t len)
{
    struct kam_sync *ks = ctx;
    struct ss_hint *h = ks->hint;
    char err[128];
    if (ss_json_parse_hint(buf, len, h, err, sizeof err) != 0) {
        ks->a->inst.contact_source_failures++;
        ks->dump_wanted = true; /* cannot tell which AOR: read everything */
        pump(ks);
        return;
    }
    if (h->contacts_invalid)
        ks->a->inst.contact_source_failures++;
    bool lately = hinted_lately(ks, h->aor);
    if (ks->role == HA_ROLE_PRIMARY && h->has_contacts && !lately && !ks->dumping &&
        !ks->dump_wanted && !ks->lookups && !ks->dirty.n) {
        apply_aor(ks, h->aor, h->contacts, h->n_contacts);
        return;
    }
    source_hint(ks, h->aor);
}

/* Every connection of the stream may follow lost hints (or a restarted Kamailio):
 * read everything, on either side. */
static void on_stream(void *ctx, bool up, enum ss_events_reason reason)
{
    struct kam_sync *ks = ctx;
    struct agent *a = ks->a;
    ks->ev_up = up;
    if (up) {
        ks->rpc_ok = true; /* until a call says otherwise */
        ks->dump_wanted = ks->role == HA_ROLE_PRIMARY;
        ks->writer_dump_wanted = ks->role == HA_ROLE_BACKUP;
        snmp_log(LOG_INFO, "sipha[%u]: Kamailio event stream %s connected\n", a->inst.index,
                 a->cfg.sip_server_events);
    } else {
        a->inst.contact_source_failures++;
        snmp_log(LOG_WARNING, "sipha[%u]: Kamailio event stream %s lost: %s\n", a->inst.index,
                 a->cfg.sip_server_events, ss_events_reason_name(reason));
    }
    server_health(ks);
    source_health(ks);
    pump(ks);
}

static void on_reconcile(void *arg)
{
    struct kam_sync *ks = arg;
    struct agent *a = ks->a;
    ks->reconcile_timer = loop_timer_add(a->loop, (uint64_t)a->cfg.sip_server_reconcile_s * 1000u,
                                         on_reconcile, ks);
    if (ks->role == HA_ROLE_PRIMARY)
        ks->dump_wanted = true;
    else if (ks->role == HA_ROLE_BACKUP)
        ks->writer_dump_wanted = true;
    pump(ks);
}

/* ---- life ---------------------------------------------------------------------------------------- */

void kam_sync_role_changed(struct agent *a, enum ha_role role)
{
    struct kam_sync *ks = a->kam;
    if (!ks || ks->role == role)
        return;
    ks->role = role;
    q_clear(&ks->dirty);
    q_clear(&ks->writes);
    if (role == HA_ROLE_PRIMARY) {
        /* what the old primary had is in our Kamailio now (we wrote it there) */
        ks->takeover_pending = true;
        ks->dump_wanted = true;
    } else if (role == HA_ROLE_BACKUP) {
        /* Our local contacts stay ours until the new primary holds them: it pulls them
         * once (ha_link.c) and each comes back to us as a synced row, which replaces
         * it (kam_sync_synced_changed). Forgetting them now would lose every
         * registration a primary that took over too early had not copied yet. */
        ks->writer_dump_wanted = false; /* after the first full copy (kam_sync_pass_done) */
        ks->copied = false;
        ks->handoff = true;
    }
    pump(ks);
}

int kam_sync_start(struct agent *a)
{
    const struct sipha_config *cfg = &a->cfg;
    a->inst.sip_server_kind = cfg->sip_server_kind == SIP_SERVER_KAMAILIO ? SIP_SERVER_MIB_KAMAILIO
                                                                           : SIP_SERVER_MIB_GENERIC;
    a->inst.contact_source = CONTACT_SOURCE_NOT_CONFIGURED;
    if (cfg->sip_server_kind != SIP_SERVER_KAMAILIO)
        return 0;
    struct kam_sync *ks = calloc(1, sizeof *ks);
    char err[256];
    if (!ks)
        return -1;
    ks->a = a;
    ks->role = HA_ROLE_UNKNOWN;
    ks->handoff = true;
    ks->hint = malloc(sizeof *ks->hint);
    if (!ks->hint) {
        free(ks);
        return -1;
    }
    ks->rpc = ss_rpc_new(a->loop, cfg->sip_server_rpc, cfg->sip_server_timeout_ms, err, sizeof err);
    const struct ss_events_callbacks cb = { .on_payload = on_event, .on_state = on_stream };
    if (!ks->rpc ||
        ss_events_open(&ks->ev, a->loop, cfg->sip_server_events, &cb, ks, err, sizeof err) != 0) {
        snmp_log(LOG_ERR, "sipha[%u]: Kamailio: %s\n", a->inst.index, err);
        if (ks->rpc)
            ss_rpc_free(ks->rpc);
        free(ks->hint);
        free(ks);
        return -1;
    }
    a->kam = ks;
    ks->reconcile_timer = loop_timer_add(a->loop, (uint64_t)cfg->sip_server_reconcile_s * 1000u,
                                         on_reconcile, ks);
    source_health(ks); /* down until the stream connects; the alarm after the grace */
    server_health(ks);
    return 0;
}

void kam_sync_stop(struct agent *a)
{
    struct kam_sync *ks = a->kam;
    if (!ks)
        return;
    uint64_t *timers[] = { &ks->lost_timer, &ks->reconcile_timer, &ks->retry_timer,
                           &ks->dead_timer };
    for (size_t i = 0; i < sizeof timers / sizeof timers[0]; i++)
        if (*timers[i])
            loop_timer_cancel(a->loop, *timers[i]);
    ss_events_close(ks->ev);
    ss_rpc_free(ks->rpc); /* cancels the calls in flight: no callback follows */
    while (ks->calls) {
        struct ks_call *c = ks->calls;
        ks->calls = c->next;
        call_free(c);
    }
    q_free(&ks->dirty);
    q_free(&ks->writes);
    seen_clear(&ks->seen);
    free(ks->seen.v);
    free(ks->hint);
    free(ks);
    a->kam = NULL;
}
