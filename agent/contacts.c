/* contacts.c — see contacts.h. Lookups by (origin, AOR, URI) go through a hash of
 * row indexes, so that 10,000 registrations cost no scan per change. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "contacts.h"

/* Removal entries kept for backups that are behind; older ones raise the horizon. */
#define CONTACT_REMOVALS_KEEP 4096u

/* ---- the change log ------------------------------------------------------------------ */

static bool log_reserve(struct contact_log *lg)
{
    if (lg->n < lg->cap)
        return true;
    size_t cap = lg->cap ? lg->cap * 2 : 64;
    struct contact_change *v = realloc(lg->v, cap * sizeof *v);
    if (!v)
        return false;
    lg->v = v;
    lg->cap = cap;
    return true;
}

static bool is_current(const struct agent *a, const struct contact_change *e)
{
    if (e->index == 0)
        return true;
    const struct sipha_contact *c = rows_find(&a->inst.contacts, e->index);
    return c && c->origin == CONTACT_LOCAL && c->change == e->change;
}

static void free_change(struct contact_change *e)
{
    free(e->aor);
    free(e->uri);
}

/* Drops superseded entries, and the oldest removals beyond CONTACT_REMOVALS_KEEP. */
static void log_compact(struct agent *a)
{
    struct contact_log *lg = &a->clog;
    size_t drop_removals = lg->removals > CONTACT_REMOVALS_KEEP ? lg->removals - CONTACT_REMOVALS_KEEP : 0;
    size_t w = 0;
    for (size_t r = 0; r < lg->n; r++) {
        struct contact_change *e = &lg->v[r];
        bool keep = is_current(a, e);
        if (e->index == 0 && drop_removals) {
            drop_removals--;
            lg->removals--;
            if (e->change > lg->horizon)
                lg->horizon = e->change;
            keep = false;
        }
        if (keep)
            lg->v[w++] = *e;
        else
            free_change(e);
    }
    lg->n = w;
}

/* A new change number for row `index` (0: a removal of aor/uri). -1 when out of
 * memory: the change is then not listed, so the backups must copy everything again
 * (the horizon moves past it). */
static int log_add(struct agent *a, uint32_t index, const char *aor, const char *uri,
                   uint32_t *change)
{
    struct contact_log *lg = &a->clog;
    *change = ++lg->last_change;
    if (lg->n > 2 * a->inst.contacts.count + 1024)
        log_compact(a);
    struct contact_change e = { .change = *change, .index = index };
    if (index == 0 && (!(e.aor = strdup(aor)) || !(e.uri = strdup(uri)))) {
        free_change(&e);
        lg->horizon = *change;
        return -1;
    }
    if (!log_reserve(lg)) {
        free_change(&e);
        lg->horizon = *change;
        return -1;
    }
    lg->v[lg->n++] = e;
    lg->removals += index == 0;
    return 0;
}

size_t contacts_changes_after(struct agent *a, uint32_t after, struct contact_view *out, size_t max)
{
    const struct contact_log *lg = &a->clog;
    size_t lo = 0, hi = lg->n;
    while (lo < hi) { /* the first entry numbered above `after` */
        size_t mid = lo + (hi - lo) / 2;
        if (lg->v[mid].change <= after)
            lo = mid + 1;
        else
            hi = mid;
    }
    uint64_t now = loop_now(a->loop);
    size_t n = 0;
    for (size_t i = lo; i < lg->n && n < max; i++) {
        const struct contact_change *e = &lg->v[i];
        if (e->index == 0) {
            out[n++] = (struct contact_view){ .change = e->change, .aor = e->aor, .uri = e->uri };
            continue;
        }
        const struct sipha_contact *c = rows_find(&a->inst.contacts, e->index);
        if (!c || c->origin != CONTACT_LOCAL || c->change != e->change || c->expires_at <= now)
            continue; /* superseded, or expiring now (its removal follows) */
        out[n++] = (struct contact_view){ .change = e->change, .c = c, .aor = c->aor, .uri = c->uri };
    }
    return n;
}

uint32_t contacts_horizon(const struct agent *a)
{
    return a->clog.horizon;
}

size_t contacts_local_count(const struct agent *a)
{
    return a->clog.locals;
}

void contacts_free(struct agent *a)
{
    for (size_t i = 0; i < a->clog.n; i++)
        free_change(&a->clog.v[i]);
    free(a->clog.v);
    free(a->clog.slots);
    a->clog = (struct contact_log){ 0 };
}

/* ---- the table ------------------------------------------------------------------------- */

/* The hash covers origin and AOR only, not the URI: every contact of one AOR starts
 * its probe from the same slot, so the contacts of an AOR are found in one short run
 * (contacts_each_local_of) instead of a scan of the whole table. */
static uint64_t key_hash(enum contact_origin origin, const char *aor)
{
    uint64_t h = 1469598103934665603ull ^ (uint64_t)origin; /* FNV-1a */
    for (const unsigned char *p = (const unsigned char *)aor; *p; p++)
        h = (h ^ *p) * 1099511628211ull;
    return h;
}

static bool key_is(const struct sipha_contact *c, enum contact_origin origin, const char *aor,
                   const char *uri)
{
    return c->origin == origin && strcmp(c->aor, aor) == 0 && strcmp(c->uri, uri) == 0;
}

/* The slot holding the row of this key, or the empty slot where it would go. */
static size_t slot_of(struct agent *a, enum contact_origin origin, const char *aor, const char *uri)
{
    const struct contact_log *lg = &a->clog;
    size_t mask = lg->nslots - 1, i = key_hash(origin, aor) & mask;
    for (; lg->slots[i]; i = (i + 1) & mask) {
        const struct sipha_contact *c = rows_find(&a->inst.contacts, lg->slots[i]);
        if (c && key_is(c, origin, aor, uri))
            break;
    }
    return i;
}

static bool index_grow(struct agent *a)
{
    struct contact_log *lg = &a->clog;
    size_t n = lg->nslots ? lg->nslots * 2 : 64;
    uint32_t *old = lg->slots, *v = calloc(n, sizeof *v);
    size_t old_n = lg->nslots;
    if (!v)
        return false;
    lg->slots = v;
    lg->nslots = n;
    for (size_t i = 0; i < old_n; i++) {
        const struct sipha_contact *c = old[i] ? rows_find(&a->inst.contacts, old[i]) : NULL;
        if (c)
            v[slot_of(a, c->origin, c->aor, c->uri)] = c->index;
    }
    free(old);
    return true;
}

static struct sipha_contact *find(struct agent *a, const char *aor, const char *uri,
                                  enum contact_origin origin)
{
    if (!a->clog.nslots)
        return NULL;
    uint32_t index = a->clog.slots[slot_of(a, origin, aor, uri)];
    return index ? rows_find(&a->inst.contacts, index) : NULL;
}

/* Adds row c (stored, not yet indexed). */
static bool index_add(struct agent *a, const struct sipha_contact *c)
{
    struct contact_log *lg = &a->clog;
    if (2 * (lg->used + 1) > lg->nslots && !index_grow(a))
        return false;
    lg->slots[slot_of(a, c->origin, c->aor, c->uri)] = c->index;
    lg->used++;
    return true;
}

/* Removes row c (still stored) from the index; later slots of its probe run move
 * back, so no lookup stops early at the hole. */
static void index_remove(struct agent *a, const struct sipha_contact *c)
{
    struct contact_log *lg = &a->clog;
    if (!lg->nslots)
        return;
    size_t mask = lg->nslots - 1, hole = slot_of(a, c->origin, c->aor, c->uri);
    if (lg->slots[hole] != c->index)
        return;
    lg->slots[hole] = 0;
    lg->used--;
    for (size_t j = (hole + 1) & mask; lg->slots[j]; j = (j + 1) & mask) {
        const struct sipha_contact *o = rows_find(&a->inst.contacts, lg->slots[j]);
        size_t home = o ? key_hash(o->origin, o->aor) & mask : j;
        /* o may fill the hole when its home is not in (hole, j] on the ring */
        bool stays = hole <= j ? (home > hole && home <= j) : (home > hole || home <= j);
        if (!stays) {
            lg->slots[hole] = lg->slots[j];
            lg->slots[j] = 0;
            hole = j;
        }
    }
}

static bool str_same(const char *owned, const char *given)
{
    if (!given || !*given)
        return owned == NULL;
    return owned && strcmp(owned, given) == 0;
}

static bool attrs_same(const struct sipha_contact *c, const struct contact_attrs *at)
{
    static const struct contact_attrs none = { .q = -1 };
    if (!at)
        at = &none;
    return c->q == at->q && c->flags == at->flags && c->cflags == at->cflags &&
           c->methods == at->methods && str_same(c->path, at->path) &&
           str_same(c->received, at->received) && str_same(c->socket, at->socket);
}

/* A malloc'ed copy of an attribute string; NULL for unset. *bad on out of memory. */
static char *dup_attr(const char *s, bool *bad)
{
    if (!s || !*s)
        return NULL;
    char *d = strdup(s);
    *bad |= d == NULL;
    return d;
}

/* Fills c's attributes from `at` (fresh strings, owned by the row once stored). */
static int set_attrs(struct sipha_contact *c, const struct contact_attrs *at)
{
    bool bad = false;
    c->q = at ? at->q : -1;
    c->flags = at ? at->flags : 0;
    c->cflags = at ? at->cflags : 0;
    c->methods = at ? at->methods : 0;
    c->path = dup_attr(at ? at->path : NULL, &bad);
    c->received = dup_attr(at ? at->received : NULL, &bad);
    c->socket = dup_attr(at ? at->socket : NULL, &bad);
    if (!bad)
        return 0;
    free(c->path);
    free(c->received);
    free(c->socket);
    return -1;
}

static void arm_expiry(struct agent *a, uint64_t at);

/* Inserts or updates (aor, uri, origin). A local change gets a change number and
 * tells the HA link. */
static int put(struct agent *a, const char *aor, const char *uri, uint64_t expires_at,
               const struct contact_attrs *at, enum contact_origin origin, uint64_t seen)
{
    struct sipha_contact *old = find(a, aor, uri, origin);
    if (old && old->expires_at == expires_at && attrs_same(old, at)) {
        old->seen = seen;
        return 0;
    }
    struct sipha_contact c = old ? *old : (struct sipha_contact){ .index = a->clog.next_index + 1,
                                                                  .origin = origin };
    if (set_attrs(&c, at) != 0)
        return -1;
    if (!old) {
        snprintf(c.aor, sizeof(c.aor), "%s", aor);
        snprintf(c.uri, sizeof(c.uri), "%s", uri);
    }
    c.expires_at = expires_at;
    c.seen = seen;
    if (origin == CONTACT_LOCAL)
        log_add(a, c.index, NULL, NULL, &c.change);
    struct sipha_contact *stored = instance_put_contact(&a->inst, &c);
    if (!stored)
        return -1;
    if (!old && !index_add(a, stored)) {
        instance_remove_contact(&a->inst, stored->index);
        return -1;
    }
    if (!old) {
        a->clog.next_index = c.index;
        a->clog.locals += origin == CONTACT_LOCAL;
    }
    if (a->loop)
        arm_expiry(a, expires_at);
    if (origin == CONTACT_LOCAL)
        agent_contacts_changed(a);
    else
        agent_synced_changed(a, stored->aor, stored->uri);
    return 0;
}

/* Removes row `c`; a local contact's removal is numbered for the peer. */
static void remove_row(struct agent *a, const struct sipha_contact *c)
{
    uint32_t change;
    bool local = c->origin == CONTACT_LOCAL;
    if (local) {
        log_add(a, 0, c->aor, c->uri, &change);
        a->clog.locals--;
    }
    index_remove(a, c);
    if (local) {
        instance_remove_contact(&a->inst, c->index);
        agent_contacts_changed(a);
        return;
    }
    char aor[SIPHA_URI_MAX], uri[SIPHA_URI_MAX]; /* the row goes before the news */
    snprintf(aor, sizeof aor, "%s", c->aor);
    snprintf(uri, sizeof uri, "%s", c->uri);
    instance_remove_contact(&a->inst, c->index);
    agent_synced_changed(a, aor, uri);
}

void contacts_apply_config(struct agent *a)
{
    if (a->cfg.sip_server_kind != SIP_SERVER_GENERIC)
        return; /* the local contacts are the SIP server's (kam_sync.c) */
    uint64_t now = loop_now(a->loop), mark = now + 1;
    for (size_t i = 0; i < a->cfg.n_contacts; i++)
        put(a, a->cfg.contacts[i].aor, a->cfg.contacts[i].uri,
            now + (uint64_t)a->cfg.contacts[i].expires * 1000u, NULL, CONTACT_LOCAL, mark);
    for (size_t i = a->inst.contacts.count; i-- > 0;) {
        struct sipha_contact *c = rows_at(&a->inst.contacts, i);
        if (c->origin == CONTACT_LOCAL && c->seen != mark)
            remove_row(a, c);
    }
}

/* The source's expiry is seconds left, rounded: keep the old deadline when it agrees
 * within a second, so that reading it again is not a change. */
static uint64_t deadline(const struct sipha_contact *old, uint64_t now, uint32_t expiry_s)
{
    uint64_t at = now + (uint64_t)expiry_s * 1000u;
    if (old && old->expires_at + 1000 >= at && old->expires_at <= at + 1000)
        return old->expires_at;
    return at;
}

int contacts_put_local(struct agent *a, const char *aor, const char *uri, uint32_t expiry_s,
                       const struct contact_attrs *attrs)
{
    uint64_t now = loop_now(a->loop);
    if (expiry_s == 0) {
        contacts_remove_local(a, aor, uri);
        return 0;
    }
    return put(a, aor, uri, deadline(find(a, aor, uri, CONTACT_LOCAL), now, expiry_s), attrs,
               CONTACT_LOCAL, now);
}

void contacts_remove_local(struct agent *a, const char *aor, const char *uri)
{
    struct sipha_contact *c = find(a, aor, uri, CONTACT_LOCAL);
    if (c)
        remove_row(a, c);
}

/* The local rows of `aor`, by index, into *v (n of cap; *v grows onto the heap when
 * the stack buffer is full). false when out of memory. */
static bool collect_local_of(struct agent *a, const char *aor, uint32_t **v, size_t *n,
                             size_t *cap, uint32_t *stack)
{
    const struct contact_log *lg = &a->clog;
    size_t mask = lg->nslots - 1, i = key_hash(CONTACT_LOCAL, aor) & mask;
    for (; lg->slots[i]; i = (i + 1) & mask) {
        const struct sipha_contact *c = rows_find(&a->inst.contacts, lg->slots[i]);
        if (!c || c->origin != CONTACT_LOCAL || strcmp(c->aor, aor) != 0)
            continue;
        if (*n == *cap) {
            uint32_t *w = malloc(2 * *cap * sizeof *w);
            if (!w)
                return false;
            memcpy(w, *v, *n * sizeof *w);
            if (*v != stack)
                free(*v);
            *v = w;
            *cap *= 2;
        }
        (*v)[(*n)++] = c->index;
    }
    return true;
}

static void scan_local_of(struct agent *a, const char *aor,
                          void (*fn)(struct agent *a, const struct sipha_contact *c, void *arg),
                          void *arg)
{
    for (size_t i = a->inst.contacts.count; i-- > 0;) {
        if (i >= a->inst.contacts.count)
            continue; /* fn removed more than the row it was given */
        const struct sipha_contact *c = rows_at(&a->inst.contacts, i);
        if (c->origin == CONTACT_LOCAL && strcmp(c->aor, aor) == 0)
            fn(a, c, arg);
    }
}

void contacts_each_local_of(struct agent *a, const char *aor,
                            void (*fn)(struct agent *a, const struct sipha_contact *c, void *arg),
                            void *arg)
{
    if (!a->clog.nslots)
        return;
    /* The rows first, then the calls: fn may remove a row, which moves slots of this
     * very probe run back. */
    uint32_t stack[16], *v = stack;
    size_t n = 0, cap = sizeof stack / sizeof stack[0];
    if (!collect_local_of(a, aor, &v, &n, &cap, stack)) {
        if (v != stack)
            free(v);
        scan_local_of(a, aor, fn, arg); /* out of memory: a scan needs none */
        return;
    }
    for (size_t i = 0; i < n; i++) {
        const struct sipha_contact *c = rows_find(&a->inst.contacts, v[i]);
        if (c)
            fn(a, c, arg);
    }
    if (v != stack)
        free(v);
}

void contacts_drop_local_before(struct agent *a, uint64_t mark)
{
    for (size_t i = a->inst.contacts.count; i-- > 0;) {
        struct sipha_contact *c = rows_at(&a->inst.contacts, i);
        if (c->origin == CONTACT_LOCAL && c->seen < mark)
            remove_row(a, c);
    }
}

void contacts_forget_local(struct agent *a, const char *aor, const char *uri)
{
    struct sipha_contact *c = find(a, aor, uri, CONTACT_LOCAL);
    if (!c)
        return;
    a->clog.locals--; /* its log entry stays, and is skipped: no row behind it */
    index_remove(a, c);
    instance_remove_contact(&a->inst, c->index);
    agent_contacts_changed(a);
}

const struct sipha_contact *contacts_find(struct agent *a, const char *aor, const char *uri,
                                          enum contact_origin origin)
{
    return find(a, aor, uri, origin);
}

void contacts_upsert_synced(struct agent *a, const char *aor, const char *uri, uint32_t expiry_s,
                            const struct contact_attrs *attrs)
{
    uint64_t now = loop_now(a->loop);
    if (expiry_s == 0) {
        contacts_remove_synced(a, aor, uri);
        return;
    }
    put(a, aor, uri, deadline(find(a, aor, uri, CONTACT_SYNCED), now, expiry_s), attrs,
        CONTACT_SYNCED, now);
}

void contacts_remove_synced(struct agent *a, const char *aor, const char *uri)
{
    struct sipha_contact *c = find(a, aor, uri, CONTACT_SYNCED);
    if (c)
        remove_row(a, c);
}

void contacts_drop_synced_before(struct agent *a, uint64_t mark)
{
    for (size_t i = a->inst.contacts.count; i-- > 0;) {
        struct sipha_contact *c = rows_at(&a->inst.contacts, i);
        if (c->origin == CONTACT_SYNCED && c->seen < mark)
            remove_row(a, c);
    }
}

/* ---- expiry ------------------------------------------------------------------------------ */

static void expiry_tick(void *arg)
{
    struct agent *a = arg;
    a->contact_timer = 0;
    uint64_t now = loop_now(a->loop);
    for (size_t i = a->inst.contacts.count; i-- > 0;) {
        struct sipha_contact *c = rows_at(&a->inst.contacts, i);
        if (c->expires_at <= now)
            remove_row(a, c);
    }
    contacts_start_expiry(a);
}

/* Arms the sweep for `at` unless it is armed earlier already. Refreshes only move
 * deadlines later, so an early sweep finds nothing and re-arms at the true earliest:
 * no scan of the table per change. */
static void arm_expiry(struct agent *a, uint64_t at)
{
    if (a->contact_timer && a->contact_timer_at <= at)
        return;
    uint64_t now = loop_now(a->loop);
    if (a->contact_timer)
        loop_timer_cancel(a->loop, a->contact_timer);
    a->contact_timer_at = at;
    a->contact_timer = loop_timer_add(a->loop, at > now ? at - now : 0, expiry_tick, a);
}

/* One timer at the earliest expiry (no periodic wake-up for an idle agent). */
void contacts_start_expiry(struct agent *a)
{
    uint64_t next = UINT64_MAX;
    for (size_t i = 0; i < a->inst.contacts.count; i++) {
        const struct sipha_contact *c = rows_at(&a->inst.contacts, i);
        if (c->expires_at < next)
            next = c->expires_at;
    }
    contacts_stop_expiry(a);
    if (next != UINT64_MAX)
        arm_expiry(a, next);
}

void contacts_stop_expiry(struct agent *a)
{
    if (a->contact_timer)
        loop_timer_cancel(a->loop, a->contact_timer);
    a->contact_timer = 0;
}
