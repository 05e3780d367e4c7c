/* etcd_holder.c — taking, keeping and giving up the pair's primary key (see
 * etcd_holder.h).
 *
 * The holder keeps a lease alive at all times, held or not: a take is then one
 * transaction (one round trip), which keeps a SET switchover within its budget. A lease
 * that etcd no longer knows, or that could not be renewed before its guard, is
 * forgotten (no keepalive refreshes it again) and a new one is granted. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "errbuf.h"
#include "etcd_holder.h"
#include "loop.h"

#define REGRANT_DELAY_MS 100 /* after a failed grant */
/* After a renewal that failed (no member answered, or an error answer such as "no
 * leader" during an election): the next one goes this soon, not a quarter TTL later, so
 * that the lease is renewed soon after a new leader is elected, before its guard. */
#define RENEW_RETRY_MS 250

/* Leases given up and not yet revoked: more than one when etcd keeps failing between a
 * grant and its guard (a slow election); past this many, the oldest is left to expire
 * by itself (its TTL has mostly run by then). */
#define ABANDONED_MAX 4

struct etcd_holder {
    struct loop *lp;
    struct etcd_client *cli;
    etcd_holder_cb cb;
    void *arg;
    char key[ETCD_WIRE_KEY_MAX + 1];
    uint32_t ttl_s, read_ms, guard_ms;

    enum etcd_holder_state state;
    unsigned char value[ETCD_WIRE_VALUE_MAX];
    size_t vlen;
    unsigned take_retries;  /* of the take under way */
    uint64_t generation;    /* a new one at every hold and every loss */

    int64_t lease;          /* 0: none */
    int64_t abandoned[ABANDONED_MAX]; /* leases given up while etcd did not answer,
                             * oldest first: each revoked (its key deleted) as soon as a
                             * member answers */
    size_t n_abandoned;
    bool revoking;          /* a revoke of abandoned[0] is on the way */
    uint32_t lease_ttl_s;
    bool granting;
    uint64_t deadline_ms;   /* the lease ends (locally) unless renewed */
    uint64_t last_renewal_ms;
    uint64_t t_keepalive, t_guard, t_read, t_grant;
    bool keepalive_out, read_out;

    bool unreachable;
    struct etcd_kv seen;    /* holder as last reported */
    bool seen_reported;
    bool *freed;            /* while the callback runs */
    uint64_t takes, refusals, losses, releases, renewals;
    struct ctx {            /* one per call the client holds (its queue's size) */
        bool used;
        struct pending {    /* what a call was sent for, and when */
            struct etcd_holder *h;
            uint64_t sent_ms; /* when queued: at or before its send, so a deadline
                               * counted from it errs early, never late */
            uint64_t generation;
            int64_t lease;  /* the lease in use when it was sent */
        } p;
        void (*fn)(struct etcd_holder *h, const struct pending *p,
                   const struct etcd_result *r);
    } ctx[ETCD_CLIENT_QUEUE_MAX];
};

/* The event to the caller; `loss` says why for LOST (NONE for every other event). */
static void report_loss(struct etcd_holder *h, enum etcd_holder_event ev,
                        const struct etcd_kv *kv, const char *error,
                        enum etcd_holder_loss loss, bool *freed_out)
{
    struct etcd_holder_report r = { .ev = ev, .holder = kv, .error = error ? error : "",
                                    .member = etcd_client_member_url(h->cli), .loss = loss };
    bool freed = false;
    h->freed = &freed;
    h->cb(h->arg, &r);
    if (!freed)
        h->freed = NULL;
    if (freed_out)
        *freed_out = freed;
}

static void report(struct etcd_holder *h, enum etcd_holder_event ev, const struct etcd_kv *kv,
                   const char *error, bool *freed_out)
{
    report_loss(h, ev, kv, error, ETCD_HOLDER_LOSS_NONE, freed_out);
}

/* --- sending --- */

typedef void (*answer_fn)(struct etcd_holder *h, const struct pending *p,
                          const struct etcd_result *r);

/* tracks reachability, then hands the answer to its handler */
static void on_result(void *arg, const struct etcd_result *r)
{
    struct ctx *c = arg;
    struct etcd_holder *h = c->p.h;
    struct pending p = c->p;
    answer_fn fn = c->fn;
    c->used = false;
    bool freed = false;
    if (r->outcome == ETCD_UNREACHABLE && !h->unreachable) {
        h->unreachable = true;
        report(h, ETCD_HOLDER_EV_UNREACHABLE, NULL, r->error, &freed);
    } else if (r->outcome == ETCD_ANSWERED && h->unreachable) {
        h->unreachable = false;
        report(h, ETCD_HOLDER_EV_REACHABLE, NULL, NULL, &freed);
    }
    if (!freed)
        fn(h, &p, r);
}

static int send_for(struct etcd_holder *h, int64_t lease, enum etcd_op op, const char *body,
                    int len, answer_fn fn)
{
    /* a renewal goes first: it must not wait behind reads while a member fails */
    int (*call)(struct etcd_client *, enum etcd_op, const char *, size_t, etcd_done, void *) =
        op == ETCD_OP_KEEPALIVE ? etcd_client_call_first : etcd_client_call;
    struct ctx *c = NULL;
    for (size_t i = 0; i < ETCD_CLIENT_QUEUE_MAX && !c; i++)
        if (!h->ctx[i].used)
            c = &h->ctx[i];
    if (!c || len <= 0)
        return -1;
    c->p = (struct pending){ .h = h, .sent_ms = loop_now(h->lp), .generation = h->generation,
                             .lease = lease };
    c->fn = fn;
    if (call(h->cli, op, body, (size_t)len, on_result, c) < 0)
        return -1;
    c->used = true;
    return 0;
}

/* a call about the lease in use */
static int send_op(struct etcd_holder *h, enum etcd_op op, const char *body, int len,
                   answer_fn fn)
{
    return send_for(h, h->lease, op, body, len, fn);
}

/* --- the lease --- */

static void arm(struct etcd_holder *h, uint64_t *t, uint64_t delay, loop_timer_cb cb)
{
    if (*t)
        loop_timer_cancel(h->lp, *t);
    *t = loop_timer_add(h->lp, delay, cb, h);
}

static void on_guard(void *arg);

/* The guard is a safety deadline: after a freeze it runs before the loop reads and
 * answers anything, so that nothing is done as the holder of a hold that has ended. */
static void arm_guard(struct etcd_holder *h, uint64_t delay)
{
    if (h->t_guard)
        loop_timer_cancel(h->lp, h->t_guard);
    h->t_guard = loop_timer_add_urgent(h->lp, delay, on_guard, h);
}

static void grant(struct etcd_holder *h);
static void take_send(struct etcd_holder *h);
static void lose(struct etcd_holder *h, const char *why, enum etcd_holder_loss loss,
                 bool *freed);

static bool is_abandoned(const struct etcd_holder *h, int64_t lease)
{
    for (size_t i = 0; i < h->n_abandoned; i++)
        if (h->abandoned[i] == lease)
            return true;
    return false;
}

static void unlist_abandoned(struct etcd_holder *h, int64_t lease)
{
    for (size_t i = 0; i < h->n_abandoned; i++)
        if (h->abandoned[i] == lease) {
            memmove(&h->abandoned[i], &h->abandoned[i + 1],
                    (h->n_abandoned - i - 1) * sizeof h->abandoned[0]);
            h->n_abandoned--;
            return;
        }
}

static void revoke_abandoned(struct etcd_holder *h);

static void on_revoke_answer(struct etcd_holder *h, const struct pending *p,
                             const struct etcd_result *r)
{
    h->revoking = false;
    if (r->outcome != ETCD_ANSWERED)
        return; /* asked again at the next call about a lease */
    unlist_abandoned(h, p->lease); /* revoked, or etcd no longer knew it: gone */
    revoke_abandoned(h);           /* the next one, if any */
}

/* Revokes the abandoned lease (if any); the answer clears it. Calls run in order, so a
 * take queued after this finds our stale key gone. */
static void revoke_abandoned(struct etcd_holder *h)
{
    if (!h->n_abandoned || h->revoking)
        return;
    char body[ETCD_WIRE_BODY_MAX];
    int64_t lease = h->abandoned[0];
    if (send_for(h, lease, ETCD_OP_REVOKE, body, etcd_wire_revoke(body, sizeof body, lease),
                 on_revoke_answer) == 0)
        h->revoking = true;
}

/* The lease is no longer renewed. If its key may still be ours, the lease is revoked as
 * soon as etcd answers, so that our stale key does not keep the peer out for a TTL. */
static void forget_lease(struct etcd_holder *h)
{
    if (h->lease && !is_abandoned(h, h->lease)) {
        if (h->n_abandoned == ABANDONED_MAX) { /* the oldest expires by itself */
            memmove(&h->abandoned[0], &h->abandoned[1],
                    (ABANDONED_MAX - 1) * sizeof h->abandoned[0]);
            h->n_abandoned--;
            h->revoking = false; /* its revoke's answer no longer matters */
        }
        h->abandoned[h->n_abandoned++] = h->lease;
    }
    h->lease = 0;
    h->deadline_ms = 0;
    if (h->t_guard)
        loop_timer_cancel(h->lp, h->t_guard);
    h->t_guard = 0;
}

/* The lease is gone or given up: a hold on it is lost (`why`, `loss`), and a new
 * lease comes. */
static void drop_lease(struct etcd_holder *h, const char *why, enum etcd_holder_loss loss)
{
    bool freed = false;
    forget_lease(h);
    if (h->state == ETCD_HOLDER_HELD)
        lose(h, why, loss, &freed);
    if (!freed)
        grant(h);
}

static void on_guard(void *arg)
{
    struct etcd_holder *h = arg;
    h->t_guard = 0;
    drop_lease(h, "lease not renewed in time", ETCD_HOLDER_LOSS_DEADLINE);
}

/* When the call that answered r started its first attempt: etcd's lease clock for it
 * starts later still, so a deadline counted from here errs early, never late. A call
 * queued behind others that failed over (an election) starts long after it was
 * queued, and a deadline counted from the queueing would give its lease up at once. */
static uint64_t started_at(const struct etcd_holder *h, const struct pending *p,
                           const struct etcd_result *r)
{
    uint64_t now = loop_now(h->lp);
    uint64_t first = now > r->elapsed_ms ? now - r->elapsed_ms : 0;
    return first > p->sent_ms ? first : p->sent_ms;
}

/* a renewal (or the grant) sent at sent_ms answered ttl seconds */
static void extend(struct etcd_holder *h, uint64_t sent_ms, int64_t ttl)
{
    uint64_t deadline = sent_ms + (uint64_t)ttl * 1000u;
    if (deadline <= h->deadline_ms)
        return;
    h->deadline_ms = deadline;
    h->last_renewal_ms = loop_now(h->lp);
    uint64_t now = loop_now(h->lp), at = deadline > h->guard_ms ? deadline - h->guard_ms : 0;
    arm_guard(h, at > now ? at - now : 0);
}

static void on_keepalive_timer(void *arg);

static void on_keepalive_answer(struct etcd_holder *h, const struct pending *p,
                                const struct etcd_result *r)
{
    h->keepalive_out = false;
    if (!h->lease || p->lease != h->lease)
        return; /* an older lease: forgotten already */
    if (r->outcome == ETCD_ANSWERED) {
        const struct etcd_reply *rep = r->reply;
        if (!rep->is_error && rep->lease == h->lease && rep->ttl > 0) {
            h->renewals++;
            extend(h, started_at(h, p, r), rep->ttl);
            return;
        }
        if (!rep->is_error || rep->code == ETCD_GRPC_NOT_FOUND) {
            drop_lease(h, "the lease expired in etcd", ETCD_HOLDER_LOSS_GONE); /* its key too */
            return;
        }
    }
    /* unreachable, or an error answer ("no leader"): the guard decides; try again soon */
    arm(h, &h->t_keepalive, RENEW_RETRY_MS, on_keepalive_timer);
}

/* A renewal every quarter of the TTL: with the guard at another quarter, a lease
 * survives a second of unanswered renewals at TTL 2 s (an etcd leader election) */
static uint32_t renew_period_ms(const struct etcd_holder *h)
{
    return (h->lease_ttl_s ? h->lease_ttl_s : h->ttl_s) * 1000u / 4u;
}

static void on_keepalive_timer(void *arg)
{
    struct etcd_holder *h = arg;
    h->t_keepalive = loop_timer_add(h->lp, renew_period_ms(h), on_keepalive_timer, h);
    revoke_abandoned(h);
    if (!h->lease || h->keepalive_out || h->granting)
        return;
    char body[ETCD_WIRE_BODY_MAX];
    if (send_op(h, ETCD_OP_KEEPALIVE, body, etcd_wire_keepalive(body, sizeof body, h->lease),
                on_keepalive_answer) == 0)
        h->keepalive_out = true;
}

static void on_grant_timer(void *arg)
{
    struct etcd_holder *h = arg;
    h->t_grant = 0;
    grant(h);
}

static void on_grant_answer(struct etcd_holder *h, const struct pending *p,
                            const struct etcd_result *r)
{
    (void)p;
    h->granting = false;
    if (r->outcome != ETCD_ANSWERED || r->reply->is_error) {
        bool freed = false;
        if (h->state == ETCD_HOLDER_TAKING) {
            h->state = ETCD_HOLDER_IDLE;
            report(h, ETCD_HOLDER_EV_FAILED, NULL,
                   r->outcome == ETCD_ANSWERED ? r->reply->message : r->error, &freed);
        }
        if (!freed)
            arm(h, &h->t_grant, REGRANT_DELAY_MS, on_grant_timer);
        return;
    }
    h->lease = r->reply->lease;
    h->lease_ttl_s = (uint32_t)r->reply->ttl;
    h->deadline_ms = 0;
    extend(h, started_at(h, p, r), r->reply->ttl);
    if (h->state == ETCD_HOLDER_TAKING)
        take_send(h);
}

static void grant(struct etcd_holder *h)
{
    if (h->lease || h->granting)
        return;
    revoke_abandoned(h);
    char body[ETCD_WIRE_BODY_MAX];
    if (send_op(h, ETCD_OP_GRANT, body, etcd_wire_grant(body, sizeof body, h->ttl_s),
                on_grant_answer) == 0)
        h->granting = true;
    else
        arm(h, &h->t_grant, REGRANT_DELAY_MS, on_grant_timer);
}

/* --- holding --- */

static void lose(struct etcd_holder *h, const char *why, enum etcd_holder_loss loss,
                 bool *freed)
{
    h->state = ETCD_HOLDER_IDLE;
    h->generation++;
    h->losses++;
    report_loss(h, ETCD_HOLDER_EV_LOST, NULL, why, loss, freed);
}

static bool ours(const struct etcd_holder *h, const struct etcd_kv *kv)
{
    return kv->present && h->lease && kv->lease == h->lease;
}

static void take_failed(struct etcd_holder *h, const char *why)
{
    h->state = ETCD_HOLDER_IDLE;
    report(h, ETCD_HOLDER_EV_FAILED, NULL, why, NULL);
}

static void on_take_answer(struct etcd_holder *h, const struct pending *p,
                           const struct etcd_result *r)
{
    if (h->state != ETCD_HOLDER_TAKING)
        return;
    if (p->lease != h->lease) {
        /* Its lease was given up while the take waited (its guard passed: a grant
         * answered late, in an election). Whatever it won goes with that lease's
         * revoke; the take goes again on the lease in use, or on the grant's answer. */
        if (h->lease && !h->granting)
            return take_send(h);
        return grant(h);
    }
    if (r->outcome != ETCD_ANSWERED)
        return take_failed(h, r->error);
    const struct etcd_reply *rep = r->reply;
    if (rep->is_error) {
        if (rep->code == ETCD_GRPC_NOT_FOUND && h->take_retries++ < 2) { /* the lease ended */
            forget_lease(h);
            return grant(h); /* the grant's answer takes again */
        }
        return take_failed(h, rep->message);
    }
    if (rep->succeeded || ours(h, &rep->kv)) { /* ours: a retried take that had landed */
        h->state = ETCD_HOLDER_HELD;
        h->generation++;
        h->takes++;
        h->seen = rep->succeeded ? (struct etcd_kv){ .present = true, .lease = h->lease }
                                 : rep->kv;
        report(h, ETCD_HOLDER_EV_HELD, NULL, NULL, NULL);
        return;
    }
    if (!rep->kv.present && h->take_retries++ < 2) /* gone between compare and read */
        return take_send(h);
    if (is_abandoned(h, rep->kv.lease) && h->take_retries++ < 2) {
        revoke_abandoned(h); /* our own stale key: gone once the revoke lands */
        return take_send(h);
    }
    h->state = ETCD_HOLDER_IDLE;
    h->refusals++;
    h->seen = rep->kv;
    h->seen_reported = true;
    report(h, ETCD_HOLDER_EV_REFUSED, &rep->kv, NULL, NULL);
}

static void take_send(struct etcd_holder *h)
{
    char body[ETCD_WIRE_BODY_MAX];
    int n = etcd_wire_take(body, sizeof body, h->key, h->value, h->vlen, h->lease);
    if (send_op(h, ETCD_OP_TAKE, body, n, on_take_answer) < 0)
        take_failed(h, "cannot queue the take");
}

int etcd_holder_take(struct etcd_holder *h, const void *value, size_t vlen)
{
    if (h->state != ETCD_HOLDER_IDLE || !value || !vlen || vlen > ETCD_WIRE_VALUE_MAX)
        return -1;
    memcpy(h->value, value, vlen);
    h->vlen = vlen;
    h->state = ETCD_HOLDER_TAKING;
    h->take_retries = 0;
    if (h->lease && !h->granting)
        take_send(h);
    else
        grant(h); /* its answer takes */
    return 0;
}

static void on_release_answer(struct etcd_holder *h, const struct pending *p,
                              const struct etcd_result *r)
{
    (void)p;
    if (h->state != ETCD_HOLDER_RELEASING)
        return;
    h->state = ETCD_HOLDER_IDLE;
    h->generation++;
    if (r->outcome != ETCD_ANSWERED || r->reply->is_error) {
        /* perhaps still ours: stop renewing the lease, so the key goes with it */
        forget_lease(h);
        bool freed = false;
        report(h, ETCD_HOLDER_EV_FAILED, NULL,
               r->outcome == ETCD_ANSWERED ? r->reply->message : r->error, &freed);
        if (!freed)
            grant(h);
        return;
    }
    h->releases++;
    report(h, ETCD_HOLDER_EV_RELEASED, NULL, NULL, NULL);
}

int etcd_holder_release(struct etcd_holder *h)
{
    if (h->state != ETCD_HOLDER_HELD)
        return -1;
    char body[ETCD_WIRE_BODY_MAX];
    if (send_op(h, ETCD_OP_RELEASE, body, etcd_wire_release(body, sizeof body, h->key, h->lease),
                on_release_answer) < 0)
        return -1;
    h->state = ETCD_HOLDER_RELEASING;
    return 0;
}

/* --- watching the key --- */

static bool same_holder(const struct etcd_kv *a, const struct etcd_kv *b)
{
    if (a->present != b->present)
        return false;
    return !a->present || (a->lease == b->lease && a->value_len == b->value_len &&
                           !memcmp(a->value, b->value, a->value_len));
}

static void on_read_answer(struct etcd_holder *h, const struct pending *p,
                           const struct etcd_result *r)
{
    h->read_out = false;
    if (r->outcome != ETCD_ANSWERED || r->reply->is_error || p->generation != h->generation)
        return;
    const struct etcd_kv *kv = &r->reply->kv;
    if (h->state == ETCD_HOLDER_HELD && !ours(h, kv)) {
        char why[ETCD_WIRE_VALUE_MAX + 64];
        if (kv->present)
            snprintf(why, sizeof why, "the key now names %s", (const char *)kv->value);
        else
            snprintf(why, sizeof why, "the key was deleted");
        bool freed = false;
        lose(h, why, ETCD_HOLDER_LOSS_GONE, &freed);
        if (freed)
            return;
    }
    if (h->state == ETCD_HOLDER_IDLE && (!h->seen_reported || !same_holder(&h->seen, kv))) {
        h->seen = *kv;
        h->seen_reported = true;
        report(h, ETCD_HOLDER_EV_SEEN, kv, NULL, NULL);
    }
}

static void on_read_timer(void *arg)
{
    struct etcd_holder *h = arg;
    h->t_read = loop_timer_add(h->lp, h->read_ms, on_read_timer, h);
    if (h->read_out)
        return;
    char body[ETCD_WIRE_BODY_MAX];
    if (send_op(h, ETCD_OP_READ, body, etcd_wire_read(body, sizeof body, h->key),
                on_read_answer) == 0)
        h->read_out = true;
}

/* --- set-up --- */

static int holder_check(const struct etcd_holder_config *c, char *err, size_t errlen)
{
    if (!c->key || !*c->key || strlen(c->key) > ETCD_WIRE_KEY_MAX)
        return errbuf_set(err, errlen, "etcd: the key is empty or longer than %u bytes",
                          ETCD_WIRE_KEY_MAX);
    if (c->ttl_s < ETCD_HOLDER_TTL_MIN_S || c->ttl_s > ETCD_HOLDER_TTL_MAX_S)
        return errbuf_set(err, errlen, "etcd: lease TTL %u s is outside %u..%u s", c->ttl_s,
                          ETCD_HOLDER_TTL_MIN_S, ETCD_HOLDER_TTL_MAX_S);
    if (c->guard_ms && c->guard_ms >= c->ttl_s * 1000u / 2u)
        return errbuf_set(err, errlen, "etcd: the guard (%u ms) must be under half the TTL",
                          c->guard_ms);
    return 0;
}

struct etcd_holder *etcd_holder_new(struct loop *lp, const struct etcd_client_config *ccfg,
                                    const struct etcd_holder_config *hcfg, etcd_holder_cb cb,
                                    void *arg, char *err, size_t errlen)
{
    if (!cb || !hcfg) {
        errbuf_set(err, errlen, "etcd: no callback or configuration");
        return NULL;
    }
    if (holder_check(hcfg, err, errlen) < 0)
        return NULL;
    struct etcd_holder *h = calloc(1, sizeof *h);
    if (!h) {
        errbuf_set(err, errlen, "etcd: out of memory");
        return NULL;
    }
    h->lp = lp;
    h->cb = cb;
    h->arg = arg;
    snprintf(h->key, sizeof h->key, "%s", hcfg->key);
    h->ttl_s = hcfg->ttl_s;
    h->read_ms = hcfg->read_ms ? hcfg->read_ms : ETCD_HOLDER_READ_DEFAULT_MS;
    h->guard_ms = hcfg->guard_ms ? hcfg->guard_ms : hcfg->ttl_s * 1000u / 4u;
    if (!(h->cli = etcd_client_new(lp, ccfg, err, errlen))) {
        free(h);
        return NULL;
    }
    h->t_read = loop_timer_add(lp, 0, on_read_timer, h);
    h->t_keepalive = loop_timer_add(lp, renew_period_ms(h), on_keepalive_timer, h);
    h->t_grant = loop_timer_add(lp, 0, on_grant_timer, h);
    if (!h->t_read || !h->t_keepalive || !h->t_grant) {
        etcd_holder_free(h);
        errbuf_set(err, errlen, "etcd: out of timers");
        return NULL;
    }
    return h;
}

enum etcd_holder_state etcd_holder_state(const struct etcd_holder *h)
{
    return h->state;
}

uint32_t etcd_holder_guard_ms(const struct etcd_holder *h)
{
    return h->guard_ms;
}

void etcd_holder_get_stats(const struct etcd_holder *h, struct etcd_holder_stats *st)
{
    *st = (struct etcd_holder_stats){
        .state = h->state, .lease = h->lease, .ttl_s = h->lease_ttl_s,
        .last_renewal_ms = h->last_renewal_ms, .deadline_ms = h->deadline_ms,
        .takes = h->takes, .refusals = h->refusals, .losses = h->losses,
        .releases = h->releases, .renewals = h->renewals, .holder = h->seen,
    };
    etcd_client_get_stats(h->cli, &st->client);
}

const char *etcd_holder_event_name(enum etcd_holder_event ev)
{
    switch (ev) {
    case ETCD_HOLDER_EV_HELD: return "held";
    case ETCD_HOLDER_EV_REFUSED: return "refused";
    case ETCD_HOLDER_EV_FAILED: return "failed";
    case ETCD_HOLDER_EV_LOST: return "lost";
    case ETCD_HOLDER_EV_RELEASED: return "released";
    case ETCD_HOLDER_EV_SEEN: return "holder seen";
    case ETCD_HOLDER_EV_REACHABLE: return "reachable";
    case ETCD_HOLDER_EV_UNREACHABLE: return "unreachable";
    }
    return "?";
}

void etcd_holder_free(struct etcd_holder *h)
{
    if (!h)
        return;
    if (h->freed)
        *h->freed = true;
    uint64_t *timers[] = { &h->t_keepalive, &h->t_guard, &h->t_read, &h->t_grant };
    for (size_t i = 0; i < sizeof timers / sizeof timers[0]; i++)
        if (*timers[i])
            loop_timer_cancel(h->lp, *timers[i]);
    etcd_client_free(h->cli); /* no callback after this: the contexts go with h */
    free(h);
}
