/* test_ha_lock.c — the arbiter as a lock (has_lock), two engines on the virtual rig
 * beside a simulated lock service with etcd's lease rules: a take succeeds when the
 * key is free or ours; the holder's lease is renewed while it is alive and reaches
 * the service and expires TTL after its last renewal; a holder cut from the service
 * gives up (LOST, not renewed in time) at 3/4 of the TTL, before the expiry. Never two
 * primaries, in any step of any case (rig one_primary):
 *   - start: the configured primary leads once it holds the lock, never before;
 *   - SET switchover: the lock is released before TAKEOVER leaves, the peer leads once
 *     it holds it; the same instant on the virtual clock;
 *   - the primary crashes: the backup leads once the crashed holder's lease expired;
 *   - the HA link cut, both reach the service: the primary stays the only one (without
 *     the lock both would lead);
 *   - the primary cut from the service, its peer heard: it keeps the role and takes the
 *     lock again when the service is back;
 *   - the primary cut from the service and from its peer: it gives the role up before
 *     its lease expires, and the backup leads after the expiry;
 *   - a frozen primary resumes after the backup took over: it steps down at once. */
#include "test_ha_rig.h"

#define TTL_MS 2000u

struct lockworld {
    int holder;               /* -1: the key is free */
    unsigned holder_gen;      /* the holder's lease: a restarted node has a new one */
    unsigned gen[2];          /* node i's current process */
    uint64_t renewed[2];      /* the holder's last renewal */
    bool reach[2];            /* node i reaches the service */
    bool gave_up[2];          /* node i was told LOST for its current hold */
    int takes[2];
};

static struct lockworld *W(struct rig *r)
{
    return r->world;
}

static void answer(struct rig *r, int who, enum ha_lock_event ev)
{
    struct ha_input in = { .kind = HA_IN_LOCK };
    in.u.lock = ev;
    rig_push(r, who, &in);
}

static void lock_output(struct rig *r, int who, const struct ha_output *o)
{
    struct lockworld *w = W(r);
    if (o->kind != HA_OUT_LOCK)
        return;
    if (!w->reach[who]) {
        /* a release that fails: the holder forgets the lease, which expires */
        if (!o->u.lock.take && w->holder == who && w->holder_gen == w->gen[who])
            w->gave_up[who] = true;
        answer(r, who, HA_LOCK_EV_FAILED);
        return;
    }
    if (o->u.lock.take) {
        w->takes[who]++;
        if (w->holder == -1 || (w->holder == who && w->holder_gen == w->gen[who])) {
            w->holder = who;
            w->holder_gen = w->gen[who];
            w->renewed[who] = r->now;
            w->gave_up[who] = false;
            answer(r, who, HA_LOCK_EV_HELD);
        } else {
            answer(r, who, HA_LOCK_EV_REFUSED);
        }
    } else {
        if (w->holder == who && w->holder_gen == w->gen[who])
            w->holder = -1;
        answer(r, who, HA_LOCK_EV_RELEASED);
    }
}

static bool renewing(struct rig *r, int i)
{
    struct lockworld *w = W(r);
    return r->n[i].alive && w->reach[i] && !w->gave_up[i] && w->holder_gen == w->gen[i];
}

static void lock_time(struct rig *r)
{
    struct lockworld *w = W(r);
    int h = w->holder;
    if (h < 0)
        return;
    if (renewing(r, h))
        w->renewed[h] = r->now;
    if (r->now >= w->renewed[h] + TTL_MS) { /* the lease expired in the service */
        w->holder = -1;
        return;
    }
    if (r->n[h].alive && !w->reach[h] && !w->gave_up[h] && w->holder_gen == w->gen[h] &&
        r->now >= w->renewed[h] + TTL_MS * 3 / 4) { /* the holder's guard */
        w->gave_up[h] = true;
        answer(r, h, HA_LOCK_EV_LOST_UNREACHABLE);
        rig_flush(r);
    }
}

static uint64_t lock_next(struct rig *r)
{
    struct lockworld *w = W(r);
    int h = w->holder;
    if (h < 0 || renewing(r, h))
        return UINT64_MAX;
    uint64_t guard = w->renewed[h] + TTL_MS * 3 / 4, expiry = w->renewed[h] + TTL_MS;
    if (r->n[h].alive && !w->reach[h] && !w->gave_up[h] && w->holder_gen == w->gen[h])
        return guard > r->now ? guard : r->now + 1;
    return expiry > r->now ? expiry : r->now + 1;
}

/* node i reaches the service, or no longer: its holder reports it (ARBITER) */
static void set_reach(struct rig *r, int i, bool reach)
{
    lock_time(r); /* the lease renewed up to now, before the world changes */
    W(r)->reach[i] = reach;
    r->n[i].arbiter_ok = reach;
    if (r->n[i].alive)
        rig_in(r, i, in_flag(HA_IN_ARBITER, reach));
}

static struct rig *lock_rig(struct lockworld *w)
{
    struct rig *r = rig_new(2, true);
    *w = (struct lockworld){ .holder = -1, .reach = { true, true } };
    for (int i = 0; i < 2; i++) {
        r->n[i].cfg.has_arbiter = true;
        r->n[i].cfg.has_lock = true;
        r->n[i].cfg.peer_timeout_ms = 45;
    }
    r->hb_ms = 15;
    r->one_primary = true;
    r->world = w;
    r->on_output = lock_output;
    r->at_time = lock_time;
    r->next_time = lock_next;
    rig_start(r);
    return r;
}

static void test_start_leads_with_the_lock(void **state)
{
    (void)state;
    struct lockworld w;
    struct rig *r = lock_rig(&w);
    rig_advance(r, r->now + 3000);
    assert_int_equal(S(r, 0)->role, HA_ROLE_PRIMARY);
    assert_int_equal(S(r, 1)->role, HA_ROLE_BACKUP);
    assert_int_equal(w.holder, 0);
    assert_int_equal(S(r, 0)->lock, HA_LOCK_HELD);
    assert_int_equal(S(r, 1)->lock, HA_LOCK_FREE);
    /* the take came before the role */
    const struct rig_event *take = rig_find(r, 0, 0, HA_OUT_LOCK, 0);
    const struct rig_event *role = rig_find(r, 0, 0, HA_OUT_ROLE, 0);
    assert_non_null(take);
    assert_non_null(role);
    assert_true(take < role);
    rig_free(r);
}

static void test_switchover_moves_the_lock(void **state)
{
    (void)state;
    struct lockworld w;
    struct rig *r = lock_rig(&w);
    rig_advance(r, r->now + 3000);
    size_t m = rig_mark(r);
    uint64_t t0 = r->now;
    rig_in(r, 0, in_admin(HA_CMD_SWITCHOVER));
    rig_advance(r, r->now + 1000);
    assert_int_equal(S(r, 0)->role, HA_ROLE_BACKUP);
    assert_int_equal(S(r, 1)->role, HA_ROLE_PRIMARY);
    assert_int_equal(w.holder, 1);
    /* node 0: ROLE backup, LOCK release, then TAKEOVER; node 1 leads at that instant */
    const struct rig_event *rel = rig_find(r, m, 0, HA_OUT_LOCK, 0);
    const struct rig_event *to = rig_find(r, m, 0, HA_OUT_PEER_SEND, 0);
    const struct rig_event *up = rig_find(r, m, 1, HA_OUT_ROLE, 0);
    assert_non_null(rel);
    assert_false(rel->o.u.lock.take);
    assert_non_null(to);
    assert_true(rel < to);
    assert_non_null(up);
    assert_int_equal(up->t, t0);
    assert_int_equal(w.takes[1], 1); /* never refused */
    rig_free(r);
}

static bool primary(struct rig *r, int i)
{
    return S(r, i)->role == HA_ROLE_PRIMARY;
}

static uint64_t until_primary(struct rig *r, int i, uint64_t max_ms)
{
    uint64_t t0 = r->now;
    while (!primary(r, i) && r->now < t0 + max_ms)
        rig_advance(r, r->now + 5);
    assert_true(primary(r, i));
    return r->now - t0;
}

static void test_crashed_primary_replaced_after_its_lease(void **state)
{
    (void)state;
    struct lockworld w;
    struct rig *r = lock_rig(&w);
    rig_advance(r, r->now + 3000);
    lock_time(r);
    r->n[0].alive = false; /* kill -9: no release, the lease lives on */
    uint64_t took = until_primary(r, 1, 10000);
    /* refused until the lease expired (TTL after the last renewal), then within one
     * retry (100 ms) */
    assert_true(took >= TTL_MS - 15);
    assert_true(took <= TTL_MS + 150);
    assert_true(w.takes[1] > 1);
    rig_free(r);
}

static void test_partition_keeps_one_primary(void **state)
{
    (void)state;
    struct lockworld w;
    struct rig *r = lock_rig(&w);
    rig_advance(r, r->now + 3000);
    r->link = false; /* both reach the service, not each other */
    rig_advance(r, r->now + 30000);
    assert_int_equal(S(r, 0)->role, HA_ROLE_PRIMARY);
    assert_int_equal(S(r, 1)->role, HA_ROLE_BACKUP);
    assert_true(w.takes[1] > 100); /* it kept asking, every 100 ms */
    r->link = true;
    rig_advance(r, r->now + 3000);
    assert_int_equal(S(r, 0)->role, HA_ROLE_PRIMARY);
    assert_int_equal(S(r, 1)->role, HA_ROLE_BACKUP);
    rig_free(r);
}

static void test_service_away_peer_heard_keeps_the_role(void **state)
{
    (void)state;
    struct lockworld w;
    struct rig *r = lock_rig(&w);
    rig_advance(r, r->now + 3000);
    set_reach(r, 0, false);
    rig_advance(r, r->now + 5000);
    assert_int_equal(S(r, 0)->role, HA_ROLE_PRIMARY); /* kept: its peer hears it */
    assert_int_equal(S(r, 0)->lock, HA_LOCK_FREE);
    assert_int_equal(S(r, 1)->role, HA_ROLE_BACKUP);
    assert_int_equal(w.holder, -1); /* expired in the service */
    set_reach(r, 0, true);
    rig_advance(r, r->now + 500);
    assert_int_equal(S(r, 0)->lock, HA_LOCK_HELD); /* taken again */
    assert_int_equal(w.holder, 0);
    assert_int_equal(S(r, 0)->role, HA_ROLE_PRIMARY);
    rig_free(r);
}

static void test_isolated_primary_gives_up_before_expiry(void **state)
{
    (void)state;
    struct lockworld w;
    struct rig *r = lock_rig(&w);
    rig_advance(r, r->now + 3000);
    set_reach(r, 0, false);
    r->link = false;
    uint64_t t0 = r->now;
    uint64_t took = until_primary(r, 1, 10000);
    assert_int_equal(S(r, 0)->role, HA_ROLE_BACKUP);
    const struct rig_event *down = NULL;
    for (size_t k = 0; k < r->nlog; k++)
        if (r->log[k].who == 0 && r->log[k].t >= t0 && r->log[k].o.kind == HA_OUT_ROLE)
            down = &r->log[k];
    assert_non_null(down);
    assert_true(down->t - t0 <= TTL_MS * 3 / 4 + 15); /* at its guard */
    assert_true(took >= TTL_MS - 15 && took <= TTL_MS + 150);
    rig_free(r);
}

static void test_frozen_primary_steps_down_on_resume(void **state)
{
    (void)state;
    struct lockworld w;
    struct rig *r = lock_rig(&w);
    rig_advance(r, r->now + 3000);
    lock_time(r);
    r->n[0].alive = false; /* SIGSTOP: it neither renews nor hears */
    until_primary(r, 1, 10000);
    assert_int_equal(w.holder, 1);
    /* SIGCONT: the holder's first news is that its lease is gone (its guard passed, or
     * its read finds the key on another lease) */
    r->n[0].alive = true;
    answer(r, 0, HA_LOCK_EV_LOST_TAKEN);
    rig_flush(r);
    assert_int_equal(S(r, 0)->role, HA_ROLE_BACKUP);
    rig_advance(r, r->now + 3000);
    assert_int_equal(S(r, 0)->role, HA_ROLE_BACKUP);
    assert_int_equal(S(r, 1)->role, HA_ROLE_PRIMARY);
    rig_free(r);
}

static void test_bad_lock_input_refused(void **state)
{
    (void)state;
    struct rig *r = rig_new(2, true);
    rig_start(r); /* no lock configured */
    struct ha_output out[HA_MAX_OUTPUTS];
    struct ha_input in = { .kind = HA_IN_LOCK, .u.lock = HA_LOCK_EV_HELD };
    uint32_t before = S(r, 0)->inputs_rejected;
    assert_int_equal(ha_step(E(r, 0), r->now, &in, out, HA_MAX_OUTPUTS), 0);
    assert_int_equal(S(r, 0)->inputs_rejected, before + 1);
    assert_int_equal(S(r, 0)->lock, HA_LOCK_NOT_CONFIGURED);
    rig_free(r);
    struct lockworld w;
    r = lock_rig(&w);
    in.u.lock = (enum ha_lock_event)99;
    before = S(r, 0)->inputs_rejected;
    assert_int_equal(ha_step(E(r, 0), r->now, &in, out, HA_MAX_OUTPUTS), 0);
    assert_int_equal(S(r, 0)->inputs_rejected, before + 1);
    rig_free(r);
    struct ha_config c = { .index = 1, .initial_role = HA_ROLE_PRIMARY, .has_peer = true,
                           .has_lock = true };
    assert_non_null(ha_config_check(&c)); /* a lock is an arbiter */
}

/* One engine on its own, its lock answers given by hand. Returns the time at which it
 * asked to take the lock (0: it never did within 10 s). */
static uint64_t lone_until_take(struct ha_engine *e, struct rig_node *nd)
{
    rig_default_cfg(nd, 0);
    nd->cfg.has_peer = true;
    nd->cfg.has_arbiter = true;
    nd->cfg.has_lock = true;
    nd->cfg.peer_timeout_ms = 45;
    assert_int_equal(ha_init(e, &nd->cfg, 1000), 0);
    struct ha_output out[HA_MAX_OUTPUTS];
    struct ha_input in = { .kind = HA_IN_ARBITER, .u.flag = true };
    ha_step(e, 1000, &in, out, HA_MAX_OUTPUTS);
    for (uint64_t t = 1010; t < 11000; t += 10) {
        in = (struct ha_input){ .kind = HA_IN_TICK };
        size_t n = ha_step(e, t, &in, out, HA_MAX_OUTPUTS);
        for (size_t i = 0; i < n; i++)
            if (out[i].kind == HA_OUT_LOCK && out[i].u.lock.take)
                return t;
    }
    return 0;
}

static bool released_in(const struct ha_output *out, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (out[i].kind == HA_OUT_LOCK && !out[i].u.lock.take)
            return true;
    return false;
}

/* Stopped while a take is on the wire: the stop is not done until the take's answer
 * came and the lock it won was released again (else the key would stay held by a
 * node that is gone, keeping its peer out for a whole TTL); an answer that never
 * comes holds the stop up no longer than release_wait_ms. */
static void test_stop_while_taking_releases_first(void **state)
{
    (void)state;
    struct rig_node nd;
    struct ha_engine *e = &nd.e;
    struct ha_output out[HA_MAX_OUTPUTS];
    uint64_t t = lone_until_take(e, &nd);
    assert_true(t > 0);
    assert_int_equal(ha_state(e)->lock, HA_LOCK_TAKING);
    struct ha_input in = { .kind = HA_IN_SHUTDOWN };
    ha_step(e, t + 5, &in, out, HA_MAX_OUTPUTS);
    assert_false(ha_shutdown_done(e));
    in = (struct ha_input){ .kind = HA_IN_LOCK, .u.lock = HA_LOCK_EV_HELD };
    size_t n = ha_step(e, t + 20, &in, out, HA_MAX_OUTPUTS);
    assert_true(released_in(out, n));
    assert_int_not_equal(ha_state(e)->role, HA_ROLE_PRIMARY);
    assert_false(ha_shutdown_done(e));
    in = (struct ha_input){ .kind = HA_IN_LOCK, .u.lock = HA_LOCK_EV_RELEASED };
    ha_step(e, t + 30, &in, out, HA_MAX_OUTPUTS);
    assert_true(ha_shutdown_done(e));

    /* the answer never comes: done once release_wait_ms has passed */
    t = lone_until_take(e, &nd);
    assert_true(t > 0);
    in = (struct ha_input){ .kind = HA_IN_SHUTDOWN };
    ha_step(e, t + 5, &in, out, HA_MAX_OUTPUTS);
    in = (struct ha_input){ .kind = HA_IN_TICK };
    ha_step(e, t + 1000, &in, out, HA_MAX_OUTPUTS);
    assert_false(ha_shutdown_done(e));
    assert_true(ha_next_deadline(e) <= t + 5 + 2000);
    ha_step(e, t + 5 + 2000, &in, out, HA_MAX_OUTPUTS);
    assert_true(ha_shutdown_done(e));
}

/* ---- randomized: never two primaries ---------------------------------------- */

static uint64_t rng = 1;

static uint32_t rnd(uint32_t n)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint32_t)(rng % n);
}

static void random_lock_action(struct rig *r, struct lockworld *w)
{
    lock_time(r); /* the lease renewed up to now, before the world changes */
    int i = (int)rnd(2);
    struct rig_node *nd = &r->n[i];
    switch (rnd(12)) {
    case 0: case 1: case 2: case 3:
        rig_advance(r, r->now + rnd(3000));
        break;
    case 4: /* the service, from one node (whose holder says so at its next call) */
        if (!w->reach[i] || rnd(3) == 0)
            set_reach(r, i, !w->reach[i]);
        break;
    case 5:
        if (!r->link || rnd(3) == 0)
            r->link = !r->link;
        break;
    case 6:
        if (r->mute[i] || rnd(3) == 0)
            r->mute[i] = !r->mute[i];
        break;
    case 7: rig_in(r, i, in_admin((enum ha_admin_cmd)(HA_CMD_SWITCHOVER + rnd(3)))); break;
    case 8: rig_in(r, i, in_nic(rnd(2), rnd(4) != 0)); break;
    case 9: /* a crash (the lease lives on) or a restart */
        if (!nd->alive) {
            w->gen[i]++; /* a new process, without the old lease */
            w->gave_up[i] = false;
            rig_restart(r, i, S(r, i)->epoch);
        } else if (rnd(4) == 0) {
            nd->alive = false;
        }
        break;
    case 10: rig_in(r, i, in_flag(HA_IN_LISTENER, rnd(3) != 0)); break;
    default: rig_advance(r, r->now + 20); break;
    }
}

/* 300 runs of 300 random faults each (the service lost and found from either node,
 * the link cut or one-way, crashes and restarts, switchovers, NICs, listeners): the
 * rig fails the test on any step that leaves two live primaries. A restarted node
 * reads its old hold as lost before anything else, as the holder's guard would
 * have it. Healed at the end, each run ends with exactly one primary: the holder. */
static void test_randomized_never_two_primaries(void **state)
{
    (void)state;
    unsigned led[2] = { 0, 0 };
    for (unsigned run = 0; run < 300; run++) {
        rng = 0x9e3779b97f4a7c15ull ^ ((uint64_t)run * 0x100000001b3ull);
        struct lockworld w;
        struct rig *r = lock_rig(&w);
        for (int k = 0; k < 300; k++) {
            random_lock_action(r, &w);
            for (int i = 0; i < 2; i++)
                led[i] += S(r, i)->role == HA_ROLE_PRIMARY;
        }
        /* everything healed: exactly one primary, the lock's holder (I2) */
        r->link = true;
        r->mute[0] = r->mute[1] = false;
        for (int i = 0; i < 2; i++) {
            if (!r->n[i].alive) {
                w.gen[i]++;
                w.gave_up[i] = false;
                rig_restart(r, i, S(r, i)->epoch);
            }
            set_reach(r, i, true);
            rig_in(r, i, in_nic(0, true));
            rig_in(r, i, in_nic(1, true));
            rig_in(r, i, in_flag(HA_IN_LISTENER, true));
        }
        rig_advance(r, r->now + 10000);
        int primaries = (S(r, 0)->role == HA_ROLE_PRIMARY) + (S(r, 1)->role == HA_ROLE_PRIMARY);
        assert_int_equal(primaries, 1);
        assert_true(w.holder >= 0 && S(r, w.holder)->role == HA_ROLE_PRIMARY);
        rig_free(r);
    }
    assert_true(led[0] > 3000 && led[1] > 3000); /* both led, often */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_start_leads_with_the_lock),
        cmocka_unit_test(test_switchover_moves_the_lock),
        cmocka_unit_test(test_crashed_primary_replaced_after_its_lease),
        cmocka_unit_test(test_partition_keeps_one_primary),
        cmocka_unit_test(test_service_away_peer_heard_keeps_the_role),
        cmocka_unit_test(test_isolated_primary_gives_up_before_expiry),
        cmocka_unit_test(test_frozen_primary_steps_down_on_resume),
        cmocka_unit_test(test_bad_lock_input_refused),
        cmocka_unit_test(test_stop_while_taking_releases_first),
        cmocka_unit_test(test_randomized_never_two_primaries),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
