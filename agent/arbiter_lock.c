/* arbiter_lock.c — the etcd arbiter as the engine's lock (see arbiter_lock.h).
 *
 * The engine asks (HA_OUT_LOCK) and the holder answers (its events); this module keeps
 * the two apart in time. A wish is carried out from a loop timer, not from inside the
 * engine's step, so the holder is never called back into from its own callback. A
 * wish that meets a take or release still under way waits for that call's event (the
 * holder takes one call at a time) and is applied then: the latest wish wins, and it
 * always ends in an HA_IN_LOCK input, so the engine never waits for an answer that
 * cannot come. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <net-snmp/net-snmp-config.h>
#include <net-snmp/net-snmp-includes.h>

#include "arbiter_lock.h"
#include "etcd_holder.h"

#define RELEASE_RETRY_MS 100u /* a release the holder could not queue is tried again */

struct arbiter_lock {
    struct agent *a;
    struct etcd_holder *h;
    /* the engine's latest wish, not yet handed to the holder */
    bool wish_pending, wish_take;
    uint32_t wish_epoch;
    uint64_t apply_timer;
    /* what the holder said, for the log and the MIB */
    int reachable;                          /* -1 not known yet, 0, 1 */
    char member[ETCD_CLIENT_URL_MAX + 1];   /* the member that answered or was tried */
    char value[SIPHA_LOCK_HOLDER_MAX];      /* ours, as taken */
    char refused_by[SIPHA_LOCK_HOLDER_MAX]; /* the last refusal's holder, for the log */
    unsigned refused_quiet;                 /* refusals by it not logged one by one */
    uint64_t refused_at;                    /* the last refusal */
    unsigned failed_quiet;                  /* failures while etcd was unreachable */
    uint64_t failures, unreachable;
};

/* src into dst, cut to fit (a key's value may be longer than what is shown) */
static void copy_cut(char *dst, size_t size, const char *src)
{
    size_t n = strnlen(src, size - 1);
    memcpy(dst, src, n);
    dst[n] = '\0';
}

/* --- into the engine --- */

static void feed_lock(struct arbiter_lock *l, enum ha_lock_event ev)
{
    struct ha_input in = { .kind = HA_IN_LOCK, .u.lock = ev };
    agent_ha_input(l->a, &in);
}

/* Whether a member answers is the arbiter's reachability (HA_IN_ARBITER), fed on
 * change. The holder reports only changes, so the first answer of any kind (its
 * first read's SEEN, usually) is what says "reachable" at start. */
static void set_reachable(struct arbiter_lock *l, bool up)
{
    if (l->reachable == (int)up)
        return;
    l->reachable = up;
    struct ha_input in = { .kind = HA_IN_ARBITER, .u.flag = up };
    agent_ha_input(l->a, &in);
}

/* --- carrying out the engine's wish --- */

static void arm_apply(struct arbiter_lock *l, uint64_t delay_ms);

static void take(struct arbiter_lock *l, enum etcd_holder_state st)
{
    if (st == ETCD_HOLDER_HELD) { /* ours already (the engine missed a HELD): say so */
        feed_lock(l, HA_LOCK_EV_HELD);
        return;
    }
    /* the value names the holder for operators and the peer's log: "sip-a 12" */
    int n = snprintf(l->value, sizeof l->value, "%s %" PRIu32, l->a->cfg.name,
                     l->wish_epoch);
    if (n <= 0 || (size_t)n >= sizeof l->value ||
        etcd_holder_take(l->h, l->value, (size_t)n) < 0) {
        snmp_log(LOG_ERR, "sipha[%u]: etcd: cannot ask for the key with '%s'\n",
                 l->a->inst.index, l->value);
        feed_lock(l, HA_LOCK_EV_FAILED);
    }
}

static void release(struct arbiter_lock *l, enum etcd_holder_state st)
{
    if (st != ETCD_HOLDER_HELD) { /* not ours (lost meanwhile): nothing to give up */
        feed_lock(l, HA_LOCK_EV_RELEASED);
        return;
    }
    if (etcd_holder_release(l->h) < 0) { /* its call queue is full: soon again */
        l->wish_pending = true;
        arm_apply(l, RELEASE_RETRY_MS);
    }
}

static void apply_wish(struct arbiter_lock *l)
{
    enum etcd_holder_state st = etcd_holder_state(l->h);
    if (!l->wish_pending || st == ETCD_HOLDER_TAKING || st == ETCD_HOLDER_RELEASING)
        return; /* the call under way ends in an event, which applies the wish */
    l->wish_pending = false;
    if (l->wish_take)
        take(l, st);
    else
        release(l, st);
}

static void on_apply(void *arg)
{
    struct arbiter_lock *l = arg;
    l->apply_timer = 0;
    apply_wish(l);
}

static void arm_apply(struct arbiter_lock *l, uint64_t delay_ms)
{
    if (!l->apply_timer)
        l->apply_timer = loop_timer_add(l->a->loop, delay_ms, on_apply, l);
}

void arbiter_lock_want(struct agent *a, bool take_it, uint32_t epoch)
{
    struct arbiter_lock *l = a->lock;
    if (!l)
        return;
    l->wish_pending = true;
    l->wish_take = take_it;
    l->wish_epoch = epoch;
    arm_apply(l, 0);
}

/* --- the holder's events --- */

static const char *kv_text(const struct etcd_kv *kv)
{
    return kv && kv->present ? (const char *)kv->value : "";
}

#define REFUSALS_RUN_MS 1000u /* refusals closer than this are one run */

/* A backup that would lead asks every 100 ms until a dead holder's lease ends: the
 * first refusal of a run by one holder is logged, the next ones are counted and told
 * with the take that ends them. */
static void log_refused(struct arbiter_lock *l, const struct etcd_holder_report *r)
{
    const char *by = kv_text(r->holder);
    uint64_t now = loop_now(l->a->loop), last = l->refused_at;
    l->refused_at = now;
    if (l->refused_by[0] && now - last < REFUSALS_RUN_MS &&
        !strncmp(l->refused_by, by, sizeof l->refused_by - 1)) {
        l->refused_quiet++;
        return;
    }
    copy_cut(l->refused_by, sizeof l->refused_by, by);
    l->refused_quiet = 0;
    snmp_log(LOG_NOTICE, "sipha[%u]: etcd: key %s refused, held by '%s'\n", l->a->inst.index,
             l->a->cfg.etcd_key, by);
}

static void log_held(struct arbiter_lock *l, const struct etcd_holder_report *r)
{
    char after[SIPHA_LOCK_HOLDER_MAX + 64] = "";
    if (l->refused_quiet && loop_now(l->a->loop) - l->refused_at < REFUSALS_RUN_MS)
        snprintf(after, sizeof after, ", after %u more refusals by '%s'", l->refused_quiet,
                 l->refused_by);
    snmp_log(LOG_NOTICE, "sipha[%u]: etcd: key %s held as '%s' (member %s%s)\n",
             l->a->inst.index, l->a->cfg.etcd_key, l->value, r->member, after);
    l->refused_by[0] = '\0';
    l->refused_quiet = 0;
}

static void log_event(struct arbiter_lock *l, const struct etcd_holder_report *r)
{
    unsigned idx = l->a->inst.index;
    const char *key = l->a->cfg.etcd_key;
    switch (r->ev) {
    case ETCD_HOLDER_EV_HELD: log_held(l, r); break;
    case ETCD_HOLDER_EV_REFUSED: log_refused(l, r); break;
    case ETCD_HOLDER_EV_FAILED:
        if (l->reachable == 0) { /* said once by UNREACHABLE; counted until REACHABLE */
            l->failed_quiet++;
            break;
        }
        snmp_log(LOG_WARNING, "sipha[%u]: etcd: a take or release of key %s failed: %s\n",
                 idx, key, r->error);
        break;
    case ETCD_HOLDER_EV_LOST:
        snmp_log(LOG_WARNING, "sipha[%u]: etcd: hold on key %s lost: %s\n", idx, key,
                 r->error);
        break;
    case ETCD_HOLDER_EV_RELEASED:
        snmp_log(LOG_INFO, "sipha[%u]: etcd: key %s released\n", idx, key);
        break;
    case ETCD_HOLDER_EV_SEEN:
        snmp_log(LOG_INFO, "sipha[%u]: etcd: key %s %s%s%s\n", idx, key,
                 r->holder && r->holder->present ? "held by '" : "held by nobody",
                 kv_text(r->holder), r->holder && r->holder->present ? "'" : "");
        break;
    case ETCD_HOLDER_EV_REACHABLE:
        if (l->failed_quiet)
            snmp_log(LOG_NOTICE, "sipha[%u]: etcd: reachable again (member %s; %u takes or "
                     "releases failed meanwhile)\n", idx, r->member, l->failed_quiet);
        else
            snmp_log(LOG_NOTICE, "sipha[%u]: etcd: reachable again (member %s)\n", idx,
                     r->member);
        l->failed_quiet = 0;
        break;
    case ETCD_HOLDER_EV_UNREACHABLE:
        snmp_log(LOG_WARNING, "sipha[%u]: etcd: unreachable: %s\n", idx, r->error);
        break;
    }
}

/* LOST: the engine keeps the role through a lapse only when etcd was not heard; when
 * etcd said the key is gone or another's, the primary steps down at once. */
static enum ha_lock_event lost_event(const struct etcd_holder_report *r)
{
    return r->loss == ETCD_HOLDER_LOSS_DEADLINE ? HA_LOCK_EV_LOST_UNREACHABLE
                                                : HA_LOCK_EV_LOST_TAKEN;
}

static void on_holder(void *arg, const struct etcd_holder_report *r)
{
    struct arbiter_lock *l = arg;
    if (r->member)
        copy_cut(l->member, sizeof l->member, r->member);
    log_event(l, r);
    switch (r->ev) {
    case ETCD_HOLDER_EV_HELD: set_reachable(l, true); feed_lock(l, HA_LOCK_EV_HELD); break;
    case ETCD_HOLDER_EV_REFUSED: set_reachable(l, true); feed_lock(l, HA_LOCK_EV_REFUSED); break;
    case ETCD_HOLDER_EV_FAILED: l->failures++; feed_lock(l, HA_LOCK_EV_FAILED); break;
    case ETCD_HOLDER_EV_LOST: feed_lock(l, lost_event(r)); break;
    case ETCD_HOLDER_EV_RELEASED: set_reachable(l, true); feed_lock(l, HA_LOCK_EV_RELEASED); break;
    case ETCD_HOLDER_EV_SEEN:
    case ETCD_HOLDER_EV_REACHABLE: set_reachable(l, true); break;
    case ETCD_HOLDER_EV_UNREACHABLE: l->unreachable++; set_reachable(l, false); break;
    }
    if (l->wish_pending) /* it waited for this call's end */
        arm_apply(l, 0);
}

/* --- the MIB's view --- */

static void fill_view(const void *ctx, struct sipha_lock_view *v)
{
    const struct arbiter_lock *l = ctx;
    struct etcd_holder_stats st;
    etcd_holder_get_stats(l->h, &st);
    v->reachable = l->reachable == 1;
    copy_cut(v->endpoint, sizeof v->endpoint, l->member);
    v->lease = st.lease;
    v->ttl_s = st.ttl_s;
    v->last_renewal = st.last_renewal_ms;
    v->held = st.state == ETCD_HOLDER_HELD || st.state == ETCD_HOLDER_RELEASING;
    v->holder_present = v->held || st.holder.present;
    /* our own hold is recorded without its value: we know it */
    copy_cut(v->holder, sizeof v->holder, v->held ? l->value : kv_text(&st.holder));
    v->takes = st.takes;
    v->refusals = st.refusals;
    v->losses = st.losses;
    v->releases = st.releases;
    v->renewals = st.renewals;
    v->failures = l->failures;
    v->unreachable = l->unreachable;
}

/* --- start and stop --- */

int arbiter_lock_start(struct agent *a, char *err, size_t errlen)
{
    const struct sipha_config *c = &a->cfg;
    struct arbiter_lock *l = calloc(1, sizeof *l);
    if (!l) {
        snprintf(err, errlen, "etcd: out of memory");
        return -1;
    }
    *l = (struct arbiter_lock){ .a = a, .reachable = -1 };
    struct etcd_client_config cc = {
        .n_endpoints = c->n_etcd_endpoints, .timeout_ms = c->arbiter_timeout_ms,
        .ca_file = c->etcd_ca[0] ? c->etcd_ca : NULL,
        .cert_file = c->etcd_cert[0] ? c->etcd_cert : NULL,
        .key_file = c->etcd_key_file[0] ? c->etcd_key_file : NULL,
    };
    for (size_t i = 0; i < c->n_etcd_endpoints && i < ETCD_CLIENT_ENDPOINTS_MAX; i++)
        cc.endpoints[i] = c->etcd_endpoints[i];
    struct etcd_holder_config hc = { .key = c->etcd_key, .ttl_s = c->etcd_ttl_s,
                                     .read_ms = c->etcd_read_ms };
    if (!(l->h = etcd_holder_new(a->loop, &cc, &hc, on_holder, l, err, errlen))) {
        free(l);
        return -1;
    }
    a->lock = l;
    a->inst.lock_view = fill_view;
    a->inst.lock_ctx = l;
    snmp_log(LOG_INFO, "sipha[%u]: etcd: key %s, lease TTL %u s, %zu member(s), first %s\n",
             a->inst.index, c->etcd_key, c->etcd_ttl_s, c->n_etcd_endpoints,
             c->etcd_endpoints[0]);
    return 0;
}

void arbiter_lock_stop(struct agent *a)
{
    struct arbiter_lock *l = a->lock;
    if (!l)
        return;
    if (l->apply_timer)
        loop_timer_cancel(a->loop, l->apply_timer);
    etcd_holder_free(l->h);
    a->inst.lock_view = NULL;
    a->inst.lock_ctx = NULL;
    free(l);
    a->lock = NULL;
}
