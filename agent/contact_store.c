/* contact_store.c — the pair's contacts in etcd (see contact_store.h). One loop: pump
 * decides the next call when none is under way and no timer waits, in this order: the
 * read (a backup's, or at start), then the primary's batches of changes, then the sweep
 * that ends a resync. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <net-snmp/net-snmp-config.h>
#include <net-snmp/net-snmp-includes.h>

#include "contact_store.h"
#include "contacts.h"
#include "etcd_contacts.h"

struct contact_store {
    struct agent *a;
    struct etcd_contacts *s;
    enum ha_role role;
    /* reading */
    bool read_wanted;      /* the prefix is to be read (at start, after a demotion) */
    bool reading;          /* pages of a read are under way */
    bool read_fresh;       /* a read ended: tell the SIP server's writer once a backup */
    uint64_t read_learnt, read_known, read_expired, read_bad; /* of the read under way */
    /* writing (primary) */
    uint32_t after;        /* changes written up to */
    uint32_t batch_last;   /* the last change of the batch on the wire */
    const char *resync_why; /* write everything, and why (NULL: no need) */
    bool resyncing;        /* following from change 0; the sweep ends it */
    bool sweeping;         /* pages of the sweep are under way */
    uint64_t resync_puts, resync_deletes;
    /* timing and failures */
    uint64_t timer;        /* the gather delay, or the retry after a failure */
    uint32_t retry_ms;
    bool outage;           /* failing since the last call that worked */
    uint64_t outage_failures;
    bool skipped_logged;
};

static void pump(struct contact_store *cs);

static unsigned idx(const struct contact_store *cs)
{
    return cs->a->inst.index;
}

void contact_store_prefix(const char *lock_key, char *buf, size_t len)
{
    const char *slash = strrchr(lock_key, '/');
    size_t n = slash ? (size_t)(slash - lock_key) + 1 : 0;
    snprintf(buf, len, "%.*s", (int)n, lock_key);
}

/* --- timing and failures --- */

static void on_timer(void *arg)
{
    struct contact_store *cs = arg;
    cs->timer = 0;
    pump(cs);
}

static void arm(struct contact_store *cs, uint64_t ms)
{
    if (!cs->timer)
        cs->timer = loop_timer_add(cs->a->loop, ms, on_timer, cs);
}

/* A call worked: an outage ends (told once). */
static void worked(struct contact_store *cs)
{
    cs->retry_ms = 0;
    if (!cs->outage)
        return;
    cs->outage = false;
    snmp_log(LOG_NOTICE, "sipha[%u]: etcd contacts: reachable again (member %s; %" PRIu64
             " calls failed meanwhile)\n", idx(cs), etcd_contacts_member_url(cs->s),
             cs->outage_failures);
}

/* A call failed: logged at the first of an outage, tried again later (the same page,
 * or the batch gathered again from the same change number). */
static void failed(struct contact_store *cs, const char *what, const char *error)
{
    struct sipha_contact_store *st = &cs->a->inst.contact_store;
    st->failures++;
    if (!cs->outage) {
        cs->outage = true;
        cs->outage_failures = 0;
        st->outages++;
        snmp_log(LOG_WARNING, "sipha[%u]: etcd contacts: %s failed, tried again until it "
                 "works: %s\n", idx(cs), what, error);
    }
    cs->outage_failures++;
    cs->retry_ms = cs->retry_ms ? cs->retry_ms * 2 : CONTACT_STORE_RETRY_MS;
    if (cs->retry_ms > CONTACT_STORE_RETRY_MAX_MS)
        cs->retry_ms = CONTACT_STORE_RETRY_MAX_MS;
    arm(cs, cs->retry_ms);
}

/* --- reading --- */

/* A read ended on a backup: the contacts it brought are the primary's set as etcd has
 * it, a full copy for the SIP server's writer (kam_sync.c writes them into Kamailio,
 * as after the HA link's). */
static void tell_sip_server(struct contact_store *cs)
{
    if (!cs->read_fresh || cs->role != HA_ROLE_BACKUP)
        return;
    cs->read_fresh = false;
    agent_synced_pass_done(cs->a, true);
}

static void on_read_contact(void *arg, const struct etcd_contact *c)
{
    struct contact_store *cs = arg;
    struct agent *a = cs->a;
    int64_t now = (int64_t)time(NULL);
    if (c->expires <= now) { /* its lease has not ended yet */
        cs->read_expired++;
        return;
    }
    /* one the HA link brought, or our own: the fresher copy is kept */
    if (contacts_find(a, c->aor, c->uri, CONTACT_LOCAL) ||
        contacts_find(a, c->aor, c->uri, CONTACT_SYNCED)) {
        cs->read_known++;
        return;
    }
    int64_t left = c->expires - now;
    struct contact_attrs at = { .q = c->q, .flags = c->flags, .cflags = c->cflags,
                                .methods = c->methods, .path = c->path,
                                .received = c->received, .socket = c->socket };
    contacts_upsert_synced(a, c->aor, c->uri, left >= UINT32_MAX ? UINT32_MAX - 1 : (uint32_t)left,
                           &at);
    cs->read_learnt += contacts_find(a, c->aor, c->uri, CONTACT_SYNCED) != NULL;
}

static void on_read_done(void *arg, const struct etcd_contacts_result *r)
{
    struct contact_store *cs = arg;
    struct sipha_contact_store *st = &cs->a->inst.contact_store;
    cs->read_bad += r->bad;
    if (!r->ok) {
        failed(cs, "reading the prefix", r->error);
        return;
    }
    worked(cs);
    if (r->more) {
        pump(cs);
        return;
    }
    cs->reading = false;
    st->read += cs->read_learnt;
    st->read_known += cs->read_known;
    st->read_expired += cs->read_expired;
    st->read_bad += cs->read_bad;
    snmp_log(LOG_NOTICE, "sipha[%u]: etcd contacts: %" PRIu64 " learnt from %s (%" PRIu64
             " held already, %" PRIu64 " expired, %" PRIu64 " unreadable)\n", idx(cs),
             cs->read_learnt, etcd_contacts_dir(cs->s), cs->read_known, cs->read_expired,
             cs->read_bad);
    cs->read_fresh = cs->read_learnt > 0;
    tell_sip_server(cs);
    pump(cs);
}

static void read_page(struct contact_store *cs)
{
    if (!cs->reading) {
        cs->reading = true;
        cs->read_wanted = false;
        cs->read_learnt = cs->read_known = cs->read_expired = cs->read_bad = 0;
        etcd_contacts_rewind(cs->s);
    }
    if (etcd_contacts_read_next(cs->s, on_read_contact, on_read_done, cs) < 0)
        failed(cs, "reading the prefix", "cannot queue the call");
}

/* --- writing --- */

static void on_written(void *arg, const struct etcd_contacts_result *r)
{
    struct contact_store *cs = arg;
    struct sipha_contact_store *st = &cs->a->inst.contact_store;
    if (!r->ok) {
        failed(cs, "writing contacts", r->error);
        return;
    }
    worked(cs);
    cs->after = cs->batch_last;
    st->written_change = cs->after;
    st->batches++;
    st->puts += r->puts;
    st->deletes += r->deletes;
    cs->resync_puts += r->puts;
    struct etcd_contacts_stats sst;
    etcd_contacts_get_stats(cs->s, &sst);
    st->grants = sst.grants;
    if (r->lease_lost && !cs->resyncing) /* its other keys went with it */
        cs->resync_why = "a lease of ours had vanished";
    pump(cs); /* more at once, if more changed meanwhile */
}

/* The contact's expiry in unix seconds. */
static int64_t expires_unix(const struct sipha_contact *c, uint64_t now_ms, int64_t now)
{
    return now + (int64_t)((c->expires_at - now_ms + 999) / 1000);
}

/* Gathers the changes after cs->after into the store's batch; its last change in
 * batch_last. Contacts that cannot be stored are skipped (counted, logged once). */
static size_t gather(struct contact_store *cs)
{
    struct agent *a = cs->a;
    struct contact_view v[ETCD_WIRE_TXN_OPS_MAX];
    for (;;) {
        size_t n = contacts_changes_after(a, cs->after, v, ETCD_WIRE_TXN_OPS_MAX);
        uint64_t now_ms = loop_now(a->loop);
        int64_t now = (int64_t)time(NULL);
        uint32_t last = cs->after;
        for (size_t i = 0; i < n; i++) {
            const struct sipha_contact *c = v[i].c;
            enum etcd_contacts_add rc;
            if (c) {
                struct etcd_contact ec = {
                    .aor = c->aor, .uri = c->uri, .expires = expires_unix(c, now_ms, now),
                    .q = c->q, .flags = c->flags, .cflags = c->cflags, .methods = c->methods,
                    .path = c->path, .received = c->received, .socket = c->socket,
                };
                rc = etcd_contacts_put(cs->s, &ec, now);
            } else {
                rc = etcd_contacts_delete(cs->s, v[i].aor, v[i].uri);
            }
            if (rc == ETCD_CONTACTS_FULL)
                break; /* the next batch starts with it */
            if (rc == ETCD_CONTACTS_REFUSED) {
                a->inst.contact_store.skipped++;
                if (!cs->skipped_logged)
                    snmp_log(LOG_WARNING, "sipha[%u]: etcd contacts: contact %s of %s cannot "
                             "be stored (too long, or a blank in the AOR); skipped, as later "
                             "ones will be\n", idx(cs), v[i].uri, v[i].aor);
                cs->skipped_logged = true;
            }
            last = v[i].change;
        }
        cs->batch_last = last;
        if (etcd_contacts_batched(cs->s) || last == cs->after)
            return etcd_contacts_batched(cs->s);
        cs->after = last; /* all of them skipped: on to the next ones */
    }
}

static void write_batch(struct contact_store *cs)
{
    if (etcd_contacts_write(cs->s, on_written, cs) < 0) {
        etcd_contacts_clear(cs->s);
        failed(cs, "writing contacts", "cannot queue the call");
    }
}

/* --- the sweep that ends a resync --- */

static bool keep(void *arg, const char *aor, const char *uri)
{
    struct contact_store *cs = arg;
    return contacts_find(cs->a, aor, uri, CONTACT_LOCAL) ||
           contacts_find(cs->a, aor, uri, CONTACT_SYNCED); /* the old primary's, until
                                                             * they expire or are ours */
}

static void on_swept(void *arg, const struct etcd_contacts_result *r)
{
    struct contact_store *cs = arg;
    struct sipha_contact_store *st = &cs->a->inst.contact_store;
    if (!r->ok) {
        failed(cs, "sweeping the prefix", r->error);
        return;
    }
    worked(cs);
    st->deletes += r->deletes;
    st->read_bad += r->bad;
    if (r->deletes)
        st->batches++;
    cs->resync_deletes += r->deletes;
    if (!r->more) {
        cs->sweeping = false;
        cs->resyncing = false;
        snmp_log(LOG_INFO, "sipha[%u]: etcd contacts: all written to %s (%" PRIu64
                 " puts, %" PRIu64 " stale keys deleted)\n", idx(cs), etcd_contacts_dir(cs->s),
                 cs->resync_puts, cs->resync_deletes);
    }
    pump(cs);
}

static void sweep_page(struct contact_store *cs)
{
    if (!cs->sweeping) {
        cs->sweeping = true;
        etcd_contacts_rewind(cs->s);
    }
    if (etcd_contacts_sweep_next(cs->s, keep, on_swept, cs) < 0)
        failed(cs, "sweeping the prefix", "cannot queue the call");
}

static void start_resync(struct contact_store *cs, const char *why)
{
    cs->resync_why = NULL;
    cs->resyncing = true;
    cs->sweeping = false;
    cs->after = 0;
    cs->resync_puts = cs->resync_deletes = 0;
    cs->a->inst.contact_store.resyncs++;
    snmp_log(LOG_INFO, "sipha[%u]: etcd contacts: writing all to %s (%s)\n", idx(cs),
             etcd_contacts_dir(cs->s), why);
}

/* --- the one place that starts calls --- */

static void pump(struct contact_store *cs)
{
    if (etcd_contacts_busy(cs->s) || cs->timer)
        return;
    if (cs->read_wanted || cs->reading)
        return read_page(cs);
    if (cs->role != HA_ROLE_PRIMARY)
        return;
    if (cs->resync_why)
        start_resync(cs, cs->resync_why);
    else if (!cs->resyncing && contacts_horizon(cs->a) > cs->after)
        start_resync(cs, "removals past the change log's horizon");
    if (gather(cs))
        return write_batch(cs);
    if (cs->resyncing)
        sweep_page(cs);
}

bool contact_store_settled(struct agent *a)
{
    struct contact_store *cs = a->cstore;
    struct contact_view v[1];
    if (!cs || etcd_contacts_busy(cs->s) || cs->read_wanted || cs->reading)
        return false;
    return cs->role != HA_ROLE_PRIMARY ||
           (!cs->resync_why && !cs->resyncing && !contacts_changes_after(a, cs->after, v, 1) &&
            contacts_horizon(a) <= cs->after);
}

void contact_store_changed(struct agent *a)
{
    struct contact_store *cs = a->cstore;
    if (!cs || cs->role != HA_ROLE_PRIMARY || etcd_contacts_busy(cs->s))
        return; /* a call's end looks for more itself */
    arm(cs, CONTACT_STORE_GATHER_MS);
}

void contact_store_role_changed(struct agent *a, enum ha_role role)
{
    struct contact_store *cs = a->cstore;
    if (!cs || cs->role == role)
        return;
    enum ha_role old = cs->role;
    cs->role = role;
    if (role == HA_ROLE_PRIMARY) {
        /* read first (a read under way does): what the HA link's copy had not brought
         * yet is learnt, not swept; a takeover never shrinks the pair's contacts */
        cs->resync_why = "promoted";
        cs->read_wanted = !cs->reading;
    } else {
        /* a write under way ends; nothing more is written */
        cs->resync_why = NULL;
        cs->resyncing = cs->sweeping = false;
        if (old == HA_ROLE_PRIMARY && role == HA_ROLE_BACKUP && !a->stopping)
            cs->read_wanted = true; /* demoted: what the new primary wrote meanwhile */
        tell_sip_server(cs);
    }
    arm(cs, 0);
}

/* --- start and stop --- */

int contact_store_start(struct agent *a, char *err, size_t errlen)
{
    const struct sipha_config *c = &a->cfg;
    if (!c->has_arbiter || c->arbiter_kind != ARBITER_ETCD || !c->etcd_contacts)
        return 0;
    struct contact_store *cs = calloc(1, sizeof *cs);
    if (!cs) {
        snprintf(err, errlen, "etcd contacts: out of memory");
        return -1;
    }
    *cs = (struct contact_store){ .a = a, .role = HA_ROLE_UNKNOWN, .read_wanted = true };
    struct etcd_client_config cc = {
        .n_endpoints = c->n_etcd_endpoints,
        .timeout_ms = c->arbiter_timeout_ms > CONTACT_STORE_TIMEOUT_MS ? c->arbiter_timeout_ms
                                                                      : CONTACT_STORE_TIMEOUT_MS,
        .ca_file = c->etcd_ca[0] ? c->etcd_ca : NULL,
        .cert_file = c->etcd_cert[0] ? c->etcd_cert : NULL,
        .key_file = c->etcd_key_file[0] ? c->etcd_key_file : NULL,
    };
    for (size_t i = 0; i < c->n_etcd_endpoints && i < ETCD_CLIENT_ENDPOINTS_MAX; i++)
        cc.endpoints[i] = c->etcd_endpoints[i];
    char prefix[ETCD_WIRE_KEY_MAX + 1];
    contact_store_prefix(c->etcd_key, prefix, sizeof prefix);
    struct etcd_contacts_config sc = { .prefix = prefix };
    if (!(cs->s = etcd_contacts_new(a->loop, &cc, &sc, err, errlen))) {
        free(cs);
        return -1;
    }
    a->cstore = cs;
    a->inst.contact_store.enabled = true;
    arm(cs, 0);
    snmp_log(LOG_INFO, "sipha[%u]: etcd contacts: kept under %s\n", a->inst.index,
             etcd_contacts_dir(cs->s));
    return 0;
}

void contact_store_stop(struct agent *a)
{
    struct contact_store *cs = a->cstore;
    if (!cs)
        return;
    if (cs->timer)
        loop_timer_cancel(a->loop, cs->timer);
    etcd_contacts_free(cs->s);
    free(cs);
    a->cstore = NULL;
}
