/* test_arbiter_lock.c — the etcd arbiter as the engine's lock (agent/arbiter_lock.c)
 * against a real etcd member (etcd_member.h), with the engine replaced by a recorder
 * of the inputs it would get: reachability at start, a take (HELD, the key's value and
 * the MIB's view) and release, a release with nothing held, the latest of two wishes
 * winning, a wish made while a take is under way waiting for its end, a refusal by
 * another node's hold, LOST_TAKEN when the lease is revoked behind its back,
 * LOST_UNREACHABLE when etcd is frozen, and a take that fails when no member answers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <string.h>

#include <curl/curl.h>

#include "arbiter_lock.h"
#include "etcd_member.h"
#include "etcd_wire.h"
#include "loop.h"

/* ---------- what the engine would have been fed ---------- */

#define INPUTS_MAX 256

struct fed {
    const struct agent *a;
    enum ha_in_kind kind;   /* HA_IN_LOCK or HA_IN_ARBITER */
    int value;              /* enum ha_lock_event, or the reachable flag */
};

static struct fed fed[INPUTS_MAX];
static unsigned n_fed;

static void on_input(struct agent *a, const struct ha_input *in)
{
    assert_true(n_fed < INPUTS_MAX);
    assert_true(in->kind == HA_IN_LOCK || in->kind == HA_IN_ARBITER);
    fed[n_fed++] = (struct fed){ a, in->kind,
                                 in->kind == HA_IN_LOCK ? (int)in->u.lock : (int)in->u.flag };
}

/* the index of the first input (kind, value) to `a` at or after `from`, or -1 */
static int find(const struct agent *a, enum ha_in_kind kind, int value, unsigned from)
{
    for (unsigned i = from; i < n_fed; i++)
        if (fed[i].a == a && fed[i].kind == kind && fed[i].value == value)
            return (int)i;
    return -1;
}

static int count(const struct agent *a, enum ha_in_kind kind, int value, unsigned from)
{
    int n = 0;
    for (unsigned i = from; i < n_fed; i++)
        n += fed[i].a == a && fed[i].kind == kind && fed[i].value == value;
    return n;
}

/* waits (10 s at most) for that input after `from`; its index */
static int wait_for(struct agent *a, enum ha_in_kind kind, int value, unsigned from)
{
    uint64_t end = loop_now_ms() + 10000;
    while (find(a, kind, value, from) < 0) {
        if (loop_now_ms() >= end) {
            for (unsigned i = 0; i < n_fed; i++)
                fprintf(stderr, "  input %u: %s %d\n", i,
                        fed[i].kind == HA_IN_LOCK ? "lock" : "arbiter", fed[i].value);
            fail_msg("no input %d/%d after #%u", kind, value, from);
        }
        assert_int_equal(loop_run_once(a->loop, 20), 0);
    }
    return find(a, kind, value, from);
}

static void run_for(struct loop *lp, uint64_t ms)
{
    uint64_t end = loop_now_ms() + ms;
    while (loop_now_ms() < end)
        assert_int_equal(loop_run_once(lp, 20), 0);
}

/* Each case starts with no input recorded (its agents may sit where the last case's
 * did on the stack). */
static int forget_inputs(void **state)
{
    (void)state;
    n_fed = 0;
    return 0;
}

/* ---------- an agent with nothing but the lock ---------- */

static void start(struct agent *a, struct loop *lp, const char *name, const char *url,
                  const char *key)
{
    memset(a, 0, sizeof *a);
    a->loop = lp;
    a->ha_input = on_input;
    a->inst.index = 1;
    a->inst.arbiter_kind = ARBITER_MIB_ETCD;
    struct sipha_config *c = &a->cfg;
    c->index = 1;
    snprintf(c->name, sizeof c->name, "%s", name);
    c->has_arbiter = true;
    c->arbiter_kind = ARBITER_ETCD;
    c->arbiter_timeout_ms = 300;
    c->n_etcd_endpoints = 1;
    snprintf(c->etcd_endpoints[0], sizeof c->etcd_endpoints[0], "%s", url);
    snprintf(c->etcd_key, sizeof c->etcd_key, "%s", key);
    c->etcd_ttl_s = 2;
    c->etcd_read_ms = 100;
    char err[256];
    if (arbiter_lock_start(a, err, sizeof err) != 0)
        fail_msg("arbiter_lock_start: %s", err);
    assert_non_null(a->lock);
}

static void view(const struct agent *a, struct sipha_lock_view *v)
{
    instance_lock(&a->inst, v);
    assert_int_equal(v->kind, ARBITER_MIB_ETCD);
}

/* a call of the test's own, as an operator's tool would make it */
static void direct(struct loop *lp, enum etcd_op op, const char *body, int len)
{
    struct etcd_client_config cc = { .endpoints = { etcd.url }, .n_endpoints = 1 };
    char err[256];
    struct etcd_client *c = etcd_client_new(lp, &cc, err, sizeof err);
    assert_non_null(c);
    int state = 0;
    assert_true(len > 0);
    assert_int_equal(etcd_client_call(c, op, body, (size_t)len, on_ready, &state), 0);
    uint64_t end = loop_now_ms() + 5000;
    while (!state && loop_now_ms() < end)
        assert_int_equal(loop_run_once(lp, 20), 0);
    assert_int_equal(state, 1);
    etcd_client_free(c);
}

/* ---------- the cases ---------- */

static void test_take_and_release(void **state)
{
    (void)state;
    struct loop *lp = loop_new();
    struct agent a;
    start(&a, lp, "node-a", etcd.url, "/sipha/lock1/primary");
    wait_for(&a, HA_IN_ARBITER, true, 0); /* the first read answered */
    arbiter_lock_want(&a, true, 5);
    wait_for(&a, HA_IN_LOCK, HA_LOCK_EV_HELD, 0);
    struct sipha_lock_view v;
    view(&a, &v);
    assert_true(v.held && v.holder_present && v.reachable);
    assert_string_equal(v.holder, "node-a 5");
    assert_string_equal(v.endpoint, etcd.url);
    assert_true(v.lease > 0);
    assert_int_equal(v.ttl_s, 2);
    assert_true(v.last_renewal > 0);
    assert_int_equal(v.takes, 1);
    unsigned from = n_fed;
    arbiter_lock_want(&a, false, 0);
    wait_for(&a, HA_IN_LOCK, HA_LOCK_EV_RELEASED, from);
    view(&a, &v);
    assert_false(v.held);
    assert_int_equal(v.releases, 1);
    /* nothing held: a release answers at once, so the engine does not wait */
    from = n_fed;
    arbiter_lock_want(&a, false, 0);
    wait_for(&a, HA_IN_LOCK, HA_LOCK_EV_RELEASED, from);
    assert_int_equal(count(&a, HA_IN_ARBITER, true, 0), 1); /* fed on change only */
    arbiter_lock_stop(&a);
    assert_null(a.lock);
    instance_lock(&a.inst, &v);
    assert_false(v.held); /* no holder any more: zeros */
    loop_free(lp);
}

static void test_latest_wish_wins(void **state)
{
    (void)state;
    struct loop *lp = loop_new();
    struct agent a;
    start(&a, lp, "node-a", etcd.url, "/sipha/lock2/primary");
    wait_for(&a, HA_IN_ARBITER, true, 0);
    unsigned from = n_fed;
    arbiter_lock_want(&a, true, 6); /* superseded before the loop carries it out */
    arbiter_lock_want(&a, false, 0);
    wait_for(&a, HA_IN_LOCK, HA_LOCK_EV_RELEASED, from);
    run_for(lp, 300);
    assert_int_equal(count(&a, HA_IN_LOCK, HA_LOCK_EV_HELD, from), 0);
    struct sipha_lock_view v;
    view(&a, &v);
    assert_false(v.held);
    arbiter_lock_stop(&a);
    loop_free(lp);
}

static void test_wish_waits_for_the_call(void **state)
{
    (void)state;
    struct loop *lp = loop_new();
    struct agent a;
    start(&a, lp, "node-a", etcd.url, "/sipha/lock3/primary");
    wait_for(&a, HA_IN_ARBITER, true, 0);
    unsigned from = n_fed;
    arbiter_lock_want(&a, true, 7);
    loop_run_due(lp); /* the take goes out; its answer needs more loop turns */
    assert_int_equal(n_fed, from);
    arbiter_lock_want(&a, false, 0); /* meets the take under way */
    int released = wait_for(&a, HA_IN_LOCK, HA_LOCK_EV_RELEASED, from);
    int held = find(&a, HA_IN_LOCK, HA_LOCK_EV_HELD, from);
    assert_true(held >= 0 && held < released); /* the take's own answer first */
    assert_int_equal(count(&a, HA_IN_LOCK, HA_LOCK_EV_FAILED, from), 0);
    struct sipha_lock_view v;
    view(&a, &v);
    assert_false(v.held);
    arbiter_lock_stop(&a);
    loop_free(lp);
}

static void test_refused_by_the_holder(void **state)
{
    (void)state;
    struct loop *lp = loop_new();
    struct agent a, b;
    start(&a, lp, "node-a", etcd.url, "/sipha/lock4/primary");
    start(&b, lp, "node-b", etcd.url, "/sipha/lock4/primary");
    arbiter_lock_want(&a, true, 8);
    wait_for(&a, HA_IN_LOCK, HA_LOCK_EV_HELD, 0);
    arbiter_lock_want(&b, true, 9);
    wait_for(&b, HA_IN_LOCK, HA_LOCK_EV_REFUSED, 0);
    struct sipha_lock_view v;
    view(&b, &v);
    assert_false(v.held);
    assert_true(v.holder_present);
    assert_string_equal(v.holder, "node-a 8");
    assert_int_equal(v.refusals, 1);
    arbiter_lock_want(&a, false, 0);
    wait_for(&a, HA_IN_LOCK, HA_LOCK_EV_RELEASED, 0);
    unsigned from = n_fed;
    arbiter_lock_want(&b, true, 9);
    wait_for(&b, HA_IN_LOCK, HA_LOCK_EV_HELD, from);
    arbiter_lock_stop(&a);
    arbiter_lock_stop(&b);
    loop_free(lp);
}

static void test_lost_taken(void **state)
{
    (void)state;
    struct loop *lp = loop_new();
    struct agent a;
    start(&a, lp, "node-a", etcd.url, "/sipha/lock5/primary");
    arbiter_lock_want(&a, true, 10);
    wait_for(&a, HA_IN_LOCK, HA_LOCK_EV_HELD, 0);
    struct sipha_lock_view v;
    view(&a, &v);
    char body[ETCD_WIRE_BODY_MAX];
    unsigned from = n_fed;
    direct(lp, ETCD_OP_REVOKE, body, etcd_wire_revoke(body, sizeof body, v.lease));
    /* etcd said so: the engine is told the key is not ours (a primary steps down) */
    wait_for(&a, HA_IN_LOCK, HA_LOCK_EV_LOST_TAKEN, from);
    assert_int_equal(count(&a, HA_IN_LOCK, HA_LOCK_EV_LOST_UNREACHABLE, from), 0);
    view(&a, &v);
    assert_false(v.held);
    assert_int_equal(v.losses, 1);
    arbiter_lock_stop(&a);
    loop_free(lp);
}

static void test_lost_unreachable(void **state)
{
    (void)state;
    struct loop *lp = loop_new();
    struct agent a;
    start(&a, lp, "node-a", etcd.url, "/sipha/lock6/primary");
    arbiter_lock_want(&a, true, 11);
    wait_for(&a, HA_IN_LOCK, HA_LOCK_EV_HELD, 0);
    unsigned from = n_fed;
    assert_int_equal(kill(etcd.pid, SIGSTOP), 0);
    /* not renewed in time: the engine is told etcd was away (a primary whose peer
     * hears it may keep the role) */
    wait_for(&a, HA_IN_LOCK, HA_LOCK_EV_LOST_UNREACHABLE, from);
    assert_true(find(&a, HA_IN_ARBITER, false, from) >= 0);
    assert_int_equal(kill(etcd.pid, SIGCONT), 0);
    wait_for(&a, HA_IN_ARBITER, true, from);
    assert_int_equal(count(&a, HA_IN_LOCK, HA_LOCK_EV_LOST_TAKEN, from), 0);
    struct sipha_lock_view v;
    view(&a, &v);
    assert_int_equal(v.unreachable, 1);
    arbiter_lock_stop(&a);
    loop_free(lp);
}

static void test_no_member_answers(void **state)
{
    (void)state;
    struct loop *lp = loop_new();
    struct agent a;
    start(&a, lp, "node-a", etcd.dead_url, "/sipha/lock7/primary");
    wait_for(&a, HA_IN_ARBITER, false, 0);
    unsigned from = n_fed;
    arbiter_lock_want(&a, true, 12);
    wait_for(&a, HA_IN_LOCK, HA_LOCK_EV_FAILED, from);
    struct sipha_lock_view v;
    view(&a, &v);
    assert_false(v.reachable);
    assert_false(v.held);
    assert_true(v.failures >= 1);
    assert_int_equal(v.unreachable, 1);
    arbiter_lock_stop(&a);
    loop_free(lp);
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_take_and_release, forget_inputs),
        cmocka_unit_test_setup(test_latest_wish_wins, forget_inputs),
        cmocka_unit_test_setup(test_wish_waits_for_the_call, forget_inputs),
        cmocka_unit_test_setup(test_refused_by_the_holder, forget_inputs),
        cmocka_unit_test_setup(test_lost_taken, forget_inputs),
        cmocka_unit_test_setup(test_lost_unreachable, forget_inputs),
        cmocka_unit_test_setup(test_no_member_answers, forget_inputs),
    };
    int failed = cmocka_run_group_tests_name("arbiter_lock", tests, etcd_setup, etcd_teardown);
    curl_global_cleanup();
    return failed;
}
