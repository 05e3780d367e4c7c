/* Two HA engines wired back to back through an in-test HA link (heartbeats every
 * 250 ms, PEER_SEND delivered at once), on a virtual clock: the double-switchover
 * backoff sequence T, T, 2T, 2T, 4T, 4T and its reset by traffic, coordinated
 * operator switchovers from either side, listener failures on both sides, split
 * brain when the link returns, quorum in a partition, peer loss, and a seeded
 * randomized run checking the pair's invariants. */
#include "test_ha_rig.h"

#define T_MS 15000u

static struct rig *pair(unsigned options)
{
    struct rig *r = rig_new(2, true);
    r->n[0].cfg.options = options;
    r->n[1].cfg.options = options;
    return r;
}

/* Times (ms) at which either node became primary, from `from` in the log. */
static size_t primary_times(const struct rig *r, size_t from, uint64_t *t, int *who, size_t max)
{
    size_t n = 0;
    for (size_t i = from; i < r->nlog && n < max; i++)
        if (r->log[i].o.kind == HA_OUT_ROLE && r->log[i].o.u.role.role == HA_ROLE_PRIMARY) {
            t[n] = r->log[i].t;
            who[n++] = r->log[i].who;
        }
    return n;
}

static void all_dns_out(struct rig *r)
{
    rig_in(r, 0, in_dn(0, false));
    rig_in(r, 1, in_dn(0, false));
}

static void backoff_sequence_and_reset(void **state)
{
    (void)state;
    struct rig *r = pair(HA_OPT_SIP_PASS_CHECK);
    size_t m = rig_mark(r);
    rig_start(r);
    assert_int_equal(S(r, 0)->role, HA_ROLE_PRIMARY);
    assert_int_equal(S(r, 1)->role, HA_ROLE_BACKUP);
    all_dns_out(r);
    rig_advance(r, 1000 + 25 * T_MS);

    uint64_t t[16];
    int who[16];
    size_t n = primary_times(r, m, t, who, 16);
    const uint64_t factor[] = { 1, 1, 2, 2, 4, 4, 4, 4 };
    assert_true(n >= 9);
    assert_int_equal(t[0], 1000);
    for (size_t k = 1; k < 9; k++) {
        assert_int_equal(who[k], k % 2); /* strictly alternating: B, A, B, ... */
        assert_int_equal(t[k] - t[k - 1], factor[k - 1] * T_MS);
    }
    /* each side doubled on getting the role back: A at 2T and 4T..., B one term later */
    assert_int_equal(rig_notifs(r, m, 0, HA_NOTIF_DOUBLE_SWITCHOVER) +
                     rig_notifs(r, m, 1, HA_NOTIF_DOUBLE_SWITCHOVER),
                     (int)(S(r, 0)->double_switchovers + S(r, 1)->double_switchovers));
    assert_true(S(r, 0)->double_switchovers >= 3);
    assert_true(S(r, 1)->double_switchovers >= 3);
    assert_int_equal(S(r, 0)->backoff_factor, 4);
    assert_int_equal(S(r, 1)->backoff_factor, 4);
    assert_int_equal(S(r, 0)->oos_eff_s, 60);
    assert_int_equal(rig_notifs(r, m, -1, HA_NOTIF_SPLIT_BRAIN_DETECTED), 0);
    /* every handover was for lost traffic, with its notification on the giver */
    for (int k = 0; k < 8; k++) {
        const struct rig_event *ev = rig_find(r, m, -1, HA_OUT_PEER_SEND, k);
        assert_non_null(ev);
        assert_int_equal(ev->o.u.peer.reason, HA_REASON_SIP_TRAFFIC_LOST);
    }

    /* SIP traffic reaches the current primary: it keeps the role, both sides go back
     * to T at once (the backup through the primary's message counter) */
    int p = S(r, 0)->role == HA_ROLE_PRIMARY ? 0 : 1;
    uint64_t start = r->now;
    m = rig_mark(r);
    for (uint64_t k = 0; k < 20; k++) {
        rig_in(r, p, in_sip(1));
        rig_advance(r, start + (k + 1) * 10000); /* a message every 10 s < T */
    }
    assert_int_equal(rig_count(r, m, -1, HA_OUT_ROLE), 0);
    assert_int_equal(S(r, p)->backoff_factor, 1);
    assert_int_equal(S(r, 1 - p)->backoff_factor, 1);
    assert_int_equal(S(r, p)->traffic, HA_TRAFFIC_FLOWING);
    /* traffic stops: T after the last message, then the sequence starts over */
    uint64_t last = start + 19 * 10000;
    rig_advance(r, last + 6 * T_MS);
    n = primary_times(r, m, t, who, 16);
    assert_true(n >= 3);
    assert_int_equal(who[0], 1 - p);
    assert_int_equal(t[0], last + T_MS);
    assert_int_equal(t[1] - t[0], T_MS);
    assert_int_equal(t[2] - t[1], 2 * T_MS);
    rig_free(r);
}

/* Exactly one switchover: one ROLE output on each side, one switchover counted. */
static void expect_one_switchover(struct rig *r, size_t m, int new_primary)
{
    assert_int_equal(rig_count(r, m, 0, HA_OUT_ROLE), 1);
    assert_int_equal(rig_count(r, m, 1, HA_OUT_ROLE), 1);
    assert_int_equal(rig_notifs(r, m, 0, HA_NOTIF_SWITCHOVER), 1);
    assert_int_equal(rig_notifs(r, m, 1, HA_NOTIF_SWITCHOVER), 1);
    assert_int_equal(S(r, new_primary)->role, HA_ROLE_PRIMARY);
    assert_int_equal(S(r, 1 - new_primary)->role, HA_ROLE_BACKUP);
}

static void admin_from_either_side_is_one_switchover(void **state)
{
    (void)state;
    struct rig *r = pair(0);
    r->n[0].cfg.n_vips = 1;
    r->n[1].cfg.n_vips = 1;
    r->auto_vip = true;
    rig_start(r);
    const struct { int side; enum ha_admin_cmd cmd; } steps[] = {
        { 1, HA_CMD_SWITCHOVER },     /* on the backup */
        { 1, HA_CMD_SWITCHOVER },     /* on the primary (now node 1) */
        { 1, HA_CMD_BECOME_PRIMARY }, /* on the backup */
        { 1, HA_CMD_BECOME_BACKUP },  /* on the primary */
        { 0, HA_CMD_BECOME_BACKUP },  /* on the primary */
        { 0, HA_CMD_BECOME_PRIMARY }, /* on the backup */
    };
    int primary = 0;
    for (size_t k = 0; k < sizeof(steps) / sizeof(steps[0]); k++) {
        rig_advance(r, r->now + 1000);
        uint32_t epoch = S(r, primary)->epoch;
        size_t m = rig_mark(r);
        rig_in(r, steps[k].side, in_admin(steps[k].cmd));
        primary = 1 - primary;
        expect_one_switchover(r, m, primary);
        assert_int_equal(S(r, primary)->epoch, epoch + 1);
        /* the old primary's VIP went down before the new primary's came up */
        const struct rig_event *down = rig_find(r, m, 1 - primary, HA_OUT_RUN_SCRIPT, 0);
        const struct rig_event *up = rig_find(r, m, primary, HA_OUT_RUN_SCRIPT, 0);
        assert_false(down->o.u.script.up);
        assert_true(up->o.u.script.up);
        assert_true(down < up);
        rig_advance(r, r->now + 300);
        assert_int_equal(S(r, steps[k].side)->admin_result, HA_RESULT_SUCCESS);
        assert_int_equal(rig_count(r, m, -1, HA_OUT_ROLE), 2);
        assert_int_equal(S(r, 0)->epoch, S(r, 1)->epoch); /* the backup follows the term */
    }
    /* no-ops: success and nothing else */
    size_t m = rig_mark(r);
    rig_in(r, primary, in_admin(HA_CMD_BECOME_PRIMARY));
    rig_in(r, 1 - primary, in_admin(HA_CMD_BECOME_BACKUP));
    assert_int_equal(rig_count(r, m, -1, HA_OUT_ROLE), 0);
    assert_int_equal(rig_count(r, m, -1, HA_OUT_PEER_SEND), 0);
    assert_int_equal(S(r, 0)->admin_result, HA_RESULT_SUCCESS);
    assert_int_equal(S(r, 1)->admin_result, HA_RESULT_SUCCESS);
    /* a handover is never mistaken for two primaries */
    assert_int_equal(rig_notifs(r, 0, -1, HA_NOTIF_SPLIT_BRAIN_DETECTED), 0);
    rig_free(r);
}

static void listener_failing_on_both_alternates_until_one_binds(void **state)
{
    (void)state;
    struct rig *r = pair(0);
    rig_start(r);
    rig_in(r, 1, in_flag(HA_IN_LISTENER, false)); /* the backup's first */
    rig_advance(r, r->now + 250);
    uint64_t t1 = r->now;
    size_t m = rig_mark(r);
    rig_in(r, 0, in_flag(HA_IN_LISTENER, false));
    assert_int_equal(S(r, 0)->status, HA_STATUS_RUNNING);
    assert_int_equal(rig_notifs(r, m, 0, HA_NOTIF_LISTENER_BIND_FAILURE), 1);
    rig_advance(r, t1 + 12000);
    uint64_t t[8];
    int who[8];
    size_t n = primary_times(r, m, t, who, 8);
    assert_int_equal(n, 2);
    assert_int_equal(t[0], t1 + 5000);
    assert_int_equal(who[0], 1);
    assert_int_equal(t[1], t1 + 10000);
    assert_int_equal(who[1], 0);
    assert_int_equal(S(r, 0)->status, HA_STATUS_RUNNING);
    assert_int_equal(S(r, 1)->status, HA_STATUS_RUNNING);
    /* the backup binds: the primary sees it on the next heartbeat and hands over */
    rig_in(r, 1, in_flag(HA_IN_LISTENER, true));
    rig_advance(r, r->now + 250);
    assert_int_equal(S(r, 1)->role, HA_ROLE_PRIMARY);
    assert_int_equal(S(r, 1)->last_reason, HA_REASON_LISTENER_BIND);
    m = rig_mark(r);
    rig_advance(r, r->now + 120000);
    assert_int_equal(rig_count(r, m, -1, HA_OUT_ROLE), 0); /* and there it stays */
    rig_free(r);
}

static void split_brain_resolved_when_link_returns(void **state)
{
    (void)state;
    struct rig *r = pair(0);
    rig_start(r);
    rig_advance(r, r->now + 1000);
    r->link = false;
    uint64_t last = S(r, 1)->peer_last_seen;
    rig_advance(r, last + 1500);
    assert_int_equal(S(r, 1)->role, HA_ROLE_PRIMARY);
    assert_int_equal(S(r, 1)->last_reason, HA_REASON_PEER_LOST);
    assert_int_equal(S(r, 0)->role, HA_ROLE_PRIMARY); /* no arbiter: it cannot know */
    assert_int_equal(S(r, 1)->epoch, 2);
    size_t m = rig_mark(r);
    rig_advance(r, r->now + 5000);
    r->link = true;
    rig_advance(r, r->now + 600);
    assert_int_equal(S(r, 0)->role, HA_ROLE_BACKUP); /* the older term yields */
    assert_int_equal(S(r, 0)->last_reason, HA_REASON_SPLIT_BRAIN);
    assert_int_equal(S(r, 1)->role, HA_ROLE_PRIMARY);
    for (int i = 0; i < 2; i++) {
        assert_int_equal(rig_notifs(r, m, i, HA_NOTIF_SPLIT_BRAIN_DETECTED), 1);
        assert_int_equal(rig_notifs(r, m, i, HA_NOTIF_SPLIT_BRAIN_RESOLVED), 1);
        assert_int_equal(rig_notifs(r, m, i, HA_NOTIF_PEER_FOUND), 1);
        assert_false(S(r, i)->split_brain);
    }
    assert_int_equal(rig_count(r, m, 1, HA_OUT_ROLE), 0);
    rig_free(r);
}

/* With control-vip-scripts, the side cut from both peer and arbiter stands back
 * when it would lose a split brain. (Changed: with the option off there is no
 * quorum rule any more, so the partition uses the option and A ranks lower.) */
static void partition_with_arbiter_keeps_one_primary(void **state)
{
    (void)state;
    struct rig *r = pair(HA_OPT_CONTROL_VIP_SCRIPTS);
    r->n[0].cfg.has_arbiter = true;
    r->n[1].cfg.has_arbiter = true;
    r->n[0].cfg.priority = 50;
    r->one_primary = true;
    rig_start(r);
    rig_advance(r, r->now + 1000);
    /* A loses the network: neither B nor the arbiter; B still reaches the arbiter */
    r->link = false;
    r->n[0].arbiter_ok = false;
    rig_in(r, 0, in_flag(HA_IN_ARBITER, false));
    assert_int_equal(S(r, 0)->role, HA_ROLE_PRIMARY); /* the peer is not lost yet */
    uint64_t last = S(r, 0)->peer_last_seen;
    size_t m = rig_mark(r);
    rig_advance(r, last + 1500);
    assert_int_equal(S(r, 0)->role, HA_ROLE_BACKUP);
    assert_int_equal(S(r, 0)->last_reason, HA_REASON_QUORUM_LOST);
    assert_int_equal(S(r, 1)->role, HA_ROLE_PRIMARY);
    assert_int_equal(S(r, 1)->last_reason, HA_REASON_PEER_LOST);
    /* A stepped down no later than B took over */
    const struct rig_event *down = rig_find(r, m, 0, HA_OUT_ROLE, 0);
    const struct rig_event *up = rig_find(r, m, 1, HA_OUT_ROLE, 0);
    assert_true(down < up);
    rig_advance(r, r->now + 60000);
    assert_int_equal(S(r, 0)->role, HA_ROLE_BACKUP);
    /* healed: B stays primary, A backup, no switchover */
    m = rig_mark(r);
    r->link = true;
    r->n[0].arbiter_ok = true;
    rig_in(r, 0, in_flag(HA_IN_ARBITER, true));
    rig_advance(r, r->now + 5000);
    assert_int_equal(rig_count(r, m, -1, HA_OUT_ROLE), 0);
    assert_int_equal(S(r, 1)->role, HA_ROLE_PRIMARY);
    rig_free(r);
}

/* What an HTTP arbiter cannot prevent: the side cut from everything but ranking
 * higher keeps the role (it cannot tell a dead peer from its own isolation) while
 * the side that reaches the arbiter takes over. Two primaries until the network
 * heals; then the newer term stays and exactly one remains. */
static void isolated_winner_and_arbiter_side_both_lead_until_healed(void **state)
{
    (void)state;
    struct rig *r = pair(HA_OPT_CONTROL_VIP_SCRIPTS);
    r->n[0].cfg.has_arbiter = true;
    r->n[1].cfg.has_arbiter = true;
    rig_start(r);
    rig_advance(r, r->now + 1000);
    r->link = false;
    r->n[0].arbiter_ok = false;
    rig_in(r, 0, in_flag(HA_IN_ARBITER, false));
    rig_advance(r, r->now + 5000);
    assert_int_equal(S(r, 0)->role, HA_ROLE_PRIMARY);
    assert_int_equal(S(r, 1)->role, HA_ROLE_PRIMARY);
    r->link = true;
    r->n[0].arbiter_ok = true;
    rig_in(r, 0, in_flag(HA_IN_ARBITER, true));
    rig_advance(r, r->now + 2000); /* (A holds its step-down for a peer timeout) */
    assert_int_equal(S(r, 0)->role, HA_ROLE_BACKUP);
    assert_int_equal(S(r, 0)->last_reason, HA_REASON_SPLIT_BRAIN);
    assert_int_equal(S(r, 1)->role, HA_ROLE_PRIMARY);
    rig_free(r);
}

/* The fault matrix's "full partition, with arbiter" failed once: A's arbiter came back
 * while the healed link's first heartbeats crossed. B decided on A's old state (arbiter
 * lost, control-vip-scripts: the priority rule, B ranks lower) and stepped down; A
 * decided on its new one (the epoch rule, B's term is newer) and stepped down too: no
 * primary for a settle time. A now holds its step-down until B has heard its change. */
static void arbiter_change_while_heartbeats_cross_leaves_one_primary(void **state)
{
    (void)state;
    struct rig *r = pair(HA_OPT_CONTROL_VIP_SCRIPTS);
    r->n[0].cfg.has_arbiter = true;
    r->n[1].cfg.has_arbiter = true;
    rig_start(r);
    rig_advance(r, r->now + 1000);
    r->link = false;
    r->n[0].arbiter_ok = false;
    rig_in(r, 0, in_flag(HA_IN_ARBITER, false));
    rig_advance(r, r->now + 5000);
    assert_int_equal(S(r, 0)->role, HA_ROLE_PRIMARY);
    assert_int_equal(S(r, 1)->role, HA_ROLE_PRIMARY);
    assert_true(S(r, 1)->epoch > S(r, 0)->epoch);
    /* the heartbeats of the healed link, taken at the same instant, cross A's arbiter */
    struct ha_input from_a = { .kind = HA_IN_PEER_STATE }, from_b = { .kind = HA_IN_PEER_STATE };
    ha_peer_summary(E(r, 0), &from_a.u.peer);
    ha_peer_summary(E(r, 1), &from_b.u.peer);
    from_a.u.peer.hears_peer = from_b.u.peer.hears_peer = true;
    rig_in(r, 1, from_a); /* B: A's arbiter lost, B ranks lower: B steps down */
    assert_int_equal(S(r, 1)->role, HA_ROLE_BACKUP);
    r->n[0].arbiter_ok = true;
    rig_in(r, 0, in_flag(HA_IN_ARBITER, true));
    rig_in(r, 0, from_b); /* A: B's old word, "primary", with the newer term */
    assert_int_equal(S(r, 0)->role, HA_ROLE_PRIMARY);
    r->link = true;
    rig_advance(r, r->now + 3000);
    assert_int_equal(S(r, 0)->role, HA_ROLE_PRIMARY);
    assert_int_equal(S(r, 1)->role, HA_ROLE_BACKUP);
    rig_free(r);
}

static void killed_primary_backup_takes_over_at_timeout(void **state)
{
    (void)state;
    struct rig *r = pair(0);
    rig_start(r);
    rig_advance(r, r->now + 1000);
    r->n[0].alive = false;
    uint64_t last = S(r, 1)->peer_last_seen;
    rig_advance(r, last + 1499);
    assert_int_equal(S(r, 1)->role, HA_ROLE_BACKUP);
    rig_advance(r, last + 1500);
    assert_int_equal(S(r, 1)->role, HA_ROLE_PRIMARY);
    /* the old primary restarts with its persisted epoch: it joins as backup */
    rig_restart(r, 0, S(r, 0)->epoch);
    rig_advance(r, r->now + 1000);
    assert_int_equal(S(r, 0)->role, HA_ROLE_BACKUP);
    assert_int_equal(S(r, 1)->role, HA_ROLE_PRIMARY);
    rig_free(r);
}

static void two_backups_elect_the_fitter_then_the_higher_priority(void **state)
{
    (void)state;
    /* both configured backup: after the peer timeout the higher priority leads */
    struct rig *r = pair(HA_OPT_SIP_NIC_MONITORING);
    r->n[0].cfg.initial_role = HA_ROLE_BACKUP;
    r->n[1].cfg.priority = 150;
    rig_start(r);
    uint64_t t0 = r->now;
    rig_advance(r, t0 + 1499);
    assert_int_equal(S(r, 0)->role, HA_ROLE_BACKUP);
    assert_int_equal(S(r, 1)->role, HA_ROLE_BACKUP);
    rig_advance(r, t0 + 1750);
    assert_int_equal(S(r, 0)->role, HA_ROLE_BACKUP);
    assert_int_equal(S(r, 1)->role, HA_ROLE_PRIMARY);
    rig_free(r);

    /* the higher priority cannot serve (SIP NIC down): the fit one leads */
    r = pair(HA_OPT_SIP_NIC_MONITORING);
    r->n[0].cfg.initial_role = HA_ROLE_BACKUP;
    r->n[1].cfg.priority = 150;
    rig_start(r);
    rig_in(r, 1, in_nic(1, false));
    rig_advance(r, r->now + 2000);
    assert_int_equal(S(r, 0)->role, HA_ROLE_PRIMARY);
    assert_int_equal(S(r, 1)->role, HA_ROLE_BACKUP);
    assert_int_equal(rig_count(r, 0, 1, HA_OUT_ROLE), 1); /* never primary, even briefly */
    rig_free(r);
}

/* ---- fast heartbeats: I1-I4 ------------------------------------------------------- */

/* The HA link every 20 ms, peer lost after 60 ms, as the UDP link will run it. */
static struct rig *fast_pair(unsigned options)
{
    struct rig *r = pair(options);
    r->hb_ms = 20;
    for (int i = 0; i < 2; i++)
        r->n[i].cfg.peer_timeout_ms = 60;
    r->one_primary = true;
    return r;
}

/* Samples the pair every 10 ms until `t`: never two primaries (one_primary), and
 * returns the first time at which exactly one was primary with both alive. */
static uint64_t sample_until(struct rig *r, uint64_t t)
{
    uint64_t first = 0;
    while (r->now < t) {
        rig_advance(r, r->now + 10);
        int n = (S(r, 0)->role == HA_ROLE_PRIMARY) + (S(r, 1)->role == HA_ROLE_PRIMARY);
        if (n == 1 && !first)
            first = r->now;
    }
    return first;
}

/* The measured failure: SIP NIC down on the primary with the HA link on that NIC.
 * The primary steps down at once (I1); the backup, hearing nothing, takes over by
 * peer loss within 60 ms (I2); when the NIC returns nothing moves back (I3). */
static void sip_nic_down_with_the_link_on_it(void **state)
{
    (void)state;
    struct rig *r = fast_pair(HA_OPT_SIP_NIC_MONITORING);
    r->n[0].cfg.n_vips = 1;
    r->n[1].cfg.n_vips = 1;
    r->auto_vip = true;
    rig_start(r);
    sample_until(r, r->now + 500);
    assert_int_equal(S(r, 0)->role, HA_ROLE_PRIMARY);
    uint64_t t0 = r->now;
    r->link = false;
    rig_in(r, 0, in_nic(1, false));
    assert_int_equal(S(r, 0)->role, HA_ROLE_BACKUP);
    assert_int_equal(S(r, 0)->last_reason, HA_REASON_SIP_NIC_FAILURE);
    sample_until(r, t0 + 60 + 20);
    assert_int_equal(S(r, 1)->role, HA_ROLE_PRIMARY);
    assert_int_equal(S(r, 1)->last_reason, HA_REASON_PEER_LOST);
    sample_until(r, t0 + 5000);
    assert_int_equal(S(r, 0)->role, HA_ROLE_BACKUP); /* alone, but unfit */
    size_t m = rig_mark(r);
    rig_in(r, 0, in_nic(1, true));
    r->link = true;
    sample_until(r, r->now + 5000);
    assert_int_equal(rig_count(r, m, -1, HA_OUT_ROLE), 0);
    assert_int_equal(S(r, 1)->role, HA_ROLE_PRIMARY);
    assert_int_equal(S(r, 0)->peer_link, HA_LINK_UP);
    assert_int_equal(rig_notifs(r, 0, -1, HA_NOTIF_SPLIT_BRAIN_DETECTED), 0);
    rig_free(r);
}

/* The measured storm: A sees no SIP traffic while B's listener cannot bind (80
 * switchovers in 10 minutes before). A does not hand lost traffic to a peer whose
 * listener failed; B, if it holds the role, hands it to A once. Bound: at most 2
 * switchovers in 10 virtual minutes, whichever side fails first. */
static void mixed_storm_is_bounded(void **state)
{
    (void)state;
    for (int b_first = 0; b_first < 2; b_first++) {
        struct rig *r = fast_pair(HA_OPT_SIP_PASS_CHECK);
        rig_start(r);
        rig_advance(r, r->now + 100);
        if (b_first)
            rig_in(r, 1, in_admin(HA_CMD_SWITCHOVER)); /* B primary when it fails */
        rig_advance(r, r->now + 100);
        size_t m = rig_mark(r);
        uint32_t before = S(r, 0)->switchovers;
        rig_in(r, 1, in_flag(HA_IN_LISTENER, false));
        all_dns_out(r);
        rig_advance(r, r->now + 600000);
        uint32_t n = S(r, 0)->switchovers - before;
        assert_true(n <= 2);
        assert_true(rig_count(r, m, -1, HA_OUT_ROLE) <= 4);
        assert_int_equal(S(r, 0)->role, HA_ROLE_PRIMARY); /* the one with a listener */
        assert_int_equal(S(r, 0)->status, HA_STATUS_SERVICE_UNAVAILABLE);
        rig_free(r);
    }
}

/* Two failing listeners slow down like lost traffic: T_l, T_l, 2T_l, 2T_l, 4T_l. */
static void failing_listeners_back_off(void **state)
{
    (void)state;
    struct rig *r = fast_pair(0);
    rig_start(r);
    rig_in(r, 1, in_flag(HA_IN_LISTENER, false));
    rig_advance(r, r->now + 100);
    uint64_t t1 = r->now;
    size_t m = rig_mark(r);
    rig_in(r, 0, in_flag(HA_IN_LISTENER, false));
    rig_advance(r, t1 + 5000 * 25);
    uint64_t t[16];
    int who[16];
    size_t n = primary_times(r, m, t, who, 16);
    const uint64_t f[] = { 1, 1, 2, 2, 4, 4 };
    assert_true(n >= 6);
    assert_int_equal(t[0], t1 + 5000);
    for (size_t k = 1; k < 6; k++)
        assert_int_equal(t[k] - t[k - 1], 5000 * f[k]);
    assert_int_equal(S(r, 0)->backoff_factor, 4);
    assert_int_equal(S(r, 1)->backoff_factor, 4);
    rig_free(r);
}

/* The backup shows the primary's factor (it used to show 1 while the primary ran
 * at 2T). */
static void backoff_factor_is_the_pairs(void **state)
{
    (void)state;
    struct rig *r = pair(HA_OPT_SIP_PASS_CHECK);
    rig_start(r);
    all_dns_out(r);
    uint64_t end = r->now + 12 * T_MS;
    int checked = 0;
    while (r->now < end) {
        rig_advance(r, r->now + 1000);
        uint64_t a = S(r, 0)->last_switchover, b = S(r, 1)->last_switchover;
        if (r->now - (a > b ? a : b) < 600)
            continue; /* a heartbeat after the switchover */
        assert_int_equal(S(r, 0)->backoff_factor, S(r, 1)->backoff_factor);
        checked += S(r, 0)->backoff_factor > 1;
    }
    assert_true(checked > 0);
    struct ha_peer_state ps;
    ha_peer_summary(E(r, 0), &ps);
    assert_int_equal(ps.backoff_factor, S(r, 0)->backoff_factor);
    rig_free(r);
}

/* Both lose the arbiter and the link. control-vip-scripts on: the seed's rule
 * leaves exactly one primary. Off: no quorum rule, both lead (what no arbiter can
 * prevent) until the link returns; then exactly one. Never none. */
static void both_lose_arbiter_and_link(void **state)
{
    (void)state;
    for (int cvs = 0; cvs < 2; cvs++) {
        for (int a_primary = 0; a_primary < 2; a_primary++) {
            struct rig *r = fast_pair(cvs ? HA_OPT_CONTROL_VIP_SCRIPTS : 0);
            r->one_primary = cvs;
            r->n[0].cfg.has_arbiter = true;
            r->n[1].cfg.has_arbiter = true;
            r->n[0].cfg.priority = 50; /* A would lose a split brain */
            rig_start(r);
            rig_advance(r, r->now + 100);
            if (!a_primary)
                rig_in(r, 1, in_admin(HA_CMD_SWITCHOVER));
            rig_advance(r, r->now + 100);
            r->link = false;
            for (int i = 0; i < 2; i++) {
                r->n[i].arbiter_ok = false;
                rig_in(r, i, in_flag(HA_IN_ARBITER, false));
            }
            rig_advance(r, r->now + 5000);
            assert_int_equal(S(r, 1)->role, HA_ROLE_PRIMARY);
            assert_int_equal(S(r, 0)->role, cvs ? HA_ROLE_BACKUP : HA_ROLE_PRIMARY);
            r->link = true;
            rig_advance(r, r->now + 2000);
            int n = (S(r, 0)->role == HA_ROLE_PRIMARY) + (S(r, 1)->role == HA_ROLE_PRIMARY);
            assert_int_equal(n, 1);
            rig_free(r);
        }
    }
}

/* A link that works one way. B does not hear A: B takes over by peer loss, A hears
 * B primary in a newer term and steps down. A does not hear B: A, primary, keeps
 * the role, B stays backup. Either way one primary, and it stays. */
static void one_way_link(void **state)
{
    (void)state;
    for (int muted = 0; muted < 2; muted++) {
        for (int cvs = 0; cvs < 2; cvs++) {
            struct rig *r = fast_pair(cvs ? HA_OPT_CONTROL_VIP_SCRIPTS : 0);
            r->one_primary = false; /* the peer-loss takeover overlaps for a heartbeat */
            r->n[0].cfg.has_arbiter = cvs;
            r->n[1].cfg.has_arbiter = cvs;
            rig_start(r);
            rig_advance(r, r->now + 200);
            if (cvs) /* and the arbiter is gone for both */
                for (int i = 0; i < 2; i++) {
                    r->n[i].arbiter_ok = false;
                    rig_in(r, i, in_flag(HA_IN_ARBITER, false));
                }
            r->mute[muted] = true;
            rig_advance(r, r->now + 2000);
            int p = S(r, 0)->role == HA_ROLE_PRIMARY ? 0 : 1;
            assert_int_equal(S(r, 1 - p)->role, HA_ROLE_BACKUP);
            assert_int_equal(S(r, p)->role, HA_ROLE_PRIMARY);
            size_t m = rig_mark(r);
            r->one_primary = true;
            rig_advance(r, r->now + 60000);
            assert_int_equal(rig_count(r, m, -1, HA_OUT_ROLE), 0);
            /* both ways again: still one, no failback */
            r->mute[muted] = false;
            rig_advance(r, r->now + 5000);
            assert_int_equal(rig_count(r, m, -1, HA_OUT_ROLE), 0);
            rig_free(r);
        }
    }
}

/* A partition heals one way first: A's heartbeats reach B (they say A does not hear
 * B), B's reach A two heartbeats later. A, in the older term, steps down as soon as it
 * hears B; B, the newer term, must not also step down for A's deafness at the peer
 * timeout (it did, once, in the fault matrix: no primary for a settle time). */
static void heal_one_way_first_leaves_one_primary(void **state)
{
    (void)state;
    struct rig *r = fast_pair(0);
    r->one_primary = false; /* during the partition both lead */
    rig_start(r);
    rig_advance(r, r->now + 200);
    r->link = false;
    rig_advance(r, r->now + 1000);
    assert_int_equal(S(r, 0)->role, HA_ROLE_PRIMARY);
    assert_int_equal(S(r, 1)->role, HA_ROLE_PRIMARY);
    assert_true(S(r, 1)->epoch > S(r, 0)->epoch);
    r->link = true;
    r->mute[1] = true;            /* B's way back still cut */
    rig_advance(r, r->next_hb);   /* A's first heartbeat reaches B */
    uint64_t t0 = E(r, 1)->p.peer_deaf_since;
    assert_true(t0 > 0);
    rig_advance(r, t0 + 39);
    size_t m = rig_mark(r);
    r->mute[1] = false;           /* B's heartbeat at t0 + 40 reaches A... */
    r->mute[0] = true;            /* ...while A's crosses it on the way (lost here) */
    rig_advance(r, t0 + 41);
    assert_int_equal(S(r, 0)->role, HA_ROLE_BACKUP); /* A yielded to the newer term */
    r->mute[0] = false;           /* A's next one (t0 + 60) says so, just as B's
                                     peer timeout of A's deafness ends */
    rig_advance(r, r->now + 2000);
    assert_int_equal(S(r, 0)->role, HA_ROLE_BACKUP);
    assert_int_equal(S(r, 0)->last_reason, HA_REASON_SPLIT_BRAIN);
    assert_int_equal(S(r, 1)->role, HA_ROLE_PRIMARY);
    assert_int_equal(rig_count(r, m, 1, HA_OUT_ROLE), 0); /* B never stepped down */
    rig_free(r);
}

/* Graceful stop of the primary: the peer takes over on the TAKEOVER, not after a
 * peer timeout, and the pair never has two primaries or none for long. */
static void shutdown_hands_over_at_once(void **state)
{
    (void)state;
    struct rig *r = fast_pair(0);
    r->n[0].cfg.n_vips = 1;
    r->n[1].cfg.n_vips = 1;
    r->n[0].cfg.peer_timeout_ms = 1500; /* slow loss: only the TAKEOVER can be quick */
    r->n[1].cfg.peer_timeout_ms = 1500;
    r->auto_vip = true;
    rig_start(r);
    rig_advance(r, r->now + 500);
    uint64_t t0 = r->now;
    rig_in(r, 0, (struct ha_input){ .kind = HA_IN_SHUTDOWN });
    assert_int_equal(S(r, 1)->role, HA_ROLE_PRIMARY);
    assert_int_equal(S(r, 1)->last_reason, HA_REASON_SHUTDOWN);
    assert_int_equal(r->now, t0);
    assert_true(ha_shutdown_done(E(r, 0)));
    r->n[0].alive = false; /* the adapter exits */
    size_t m = rig_mark(r);
    rig_advance(r, r->now + 10000);
    assert_int_equal(rig_count(r, m, -1, HA_OUT_ROLE), 0);
    /* back up: it joins as backup */
    rig_restart(r, 0, S(r, 0)->epoch);
    rig_advance(r, r->now + 3000);
    assert_int_equal(S(r, 0)->role, HA_ROLE_BACKUP);
    assert_int_equal(S(r, 1)->role, HA_ROLE_PRIMARY);
    rig_free(r);

    /* the TAKEOVER is lost: the backup sees a stopped peer and elects itself */
    r = fast_pair(0);
    rig_start(r);
    rig_advance(r, r->now + 500);
    r->mute[0] = true;
    rig_in(r, 0, (struct ha_input){ .kind = HA_IN_SHUTDOWN });
    r->mute[0] = false;
    rig_advance(r, r->now + 1500 + 100);
    assert_int_equal(S(r, 1)->role, HA_ROLE_PRIMARY);
    assert_int_equal(S(r, 0)->role, HA_ROLE_BACKUP);
    rig_free(r);
}

/* ---- randomized ------------------------------------------------------------------- */

static uint64_t rng_state;
static unsigned seen_stopped, seen_one_way, seen_fast; /* the new paths were taken */

static uint32_t rnd(uint32_t n)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (uint32_t)(rng_state % n);
}

static void random_config(struct rig *r)
{
    for (int i = 0; i < 2; i++) {
        struct rig_node *nd = &r->n[i];
        nd->cfg.priority = 50 + 50 * rnd(3);
        nd->cfg.options = rnd(32);
        nd->cfg.has_arbiter = true;
        nd->cfg.n_vips = rnd(3);
        nd->cfg.n_dns = 1 + rnd(2);
        for (size_t d = 0; d < nd->cfg.n_dns; d++)
            nd->dns[d] = (struct ha_dn_cfg){ .oos_check = rnd(3), .oos_force = rnd(8) };
        nd->cfg.vip_retry_max = 1 + rnd(3);
        nd->cfg.alarm_autoclear_ms = rnd(2) * 10000;
        nd->cfg.initial_role = rnd(4) == 0 ? (enum ha_role)(2 + rnd(2))
                                            : (i == 0 ? HA_ROLE_PRIMARY : HA_ROLE_BACKUP);
    }
    if (rnd(4) == 0) { /* the fast UDP link: heartbeat 20 ms, lost after 60 ms */
        r->hb_ms = 20;
        for (int i = 0; i < 2; i++) {
            r->n[i].cfg.peer_timeout_ms = 60;
            r->n[i].cfg.settle_ms = 250 * (1 + rnd(4));
        }
    }
}

/* An input the engine must refuse. */
static struct ha_input garbage(const struct rig *r, int who)
{
    const struct ha_state *s = S((struct rig *)r, who);
    struct ha_input in;
    memset(&in, 0, sizeof(in));
    switch (rnd(7)) {
    case 0: in = in_nic((uint32_t)s->n_nics + rnd(5), rnd(2)); break;
    case 1: in = in_vip((uint32_t)s->n_vips + rnd(5), rnd(2)); break;
    case 2: in = in_dn((uint32_t)s->n_dns + rnd(5), rnd(2)); break;
    case 3: in = in_sip(0); break;
    case 4: in = in_options(HA_OPT_ALL + 1 + rnd(100)); break;
    case 5: in.kind = (enum ha_in_kind)(20 + rnd(100)); break;
    default:
        in.kind = HA_IN_PEER_STATE;
        in.u.peer.role = (enum ha_role)(4 + rnd(10));
        in.u.peer.index = 3;
        break;
    }
    return in;
}

static void random_action(struct rig *r)
{
    int i = (int)rnd(2);
    struct rig_node *nd = &r->n[i];
    switch (rnd(23)) {
    case 0: case 1: case 2: case 3: case 4:
        rig_advance(r, r->now + rnd(3000));
        break;
    case 5: rig_in(r, i, in_nic(rnd(2), rnd(4) != 0)); break;
    case 6:
        if (nd->cfg.n_vips)
            rig_in(r, i, in_vip(rnd((uint32_t)nd->cfg.n_vips), rnd(2)));
        break;
    case 7: rig_in(r, i, in_sip(1 + rnd(3))); break;
    case 8: rig_in(r, i, in_dn(rnd((uint32_t)nd->cfg.n_dns), rnd(2))); break;
    case 9: rig_in(r, i, in_flag(HA_IN_LISTENER, rnd(3) != 0)); break;
    case 10: /* faults heal more readily than they strike */
        if (!nd->arbiter_ok || rnd(3) == 0) {
            nd->arbiter_ok = !nd->arbiter_ok;
            rig_in(r, i, in_flag(HA_IN_ARBITER, nd->arbiter_ok));
        }
        break;
    case 11:
        if (!r->link || rnd(3) == 0)
            r->link = !r->link;
        break;
    case 12: rig_in(r, i, in_admin((enum ha_admin_cmd)(HA_CMD_SWITCHOVER + rnd(3)))); break;
    case 13: rig_in(r, i, in_options(rnd(32))); break;
    case 14: rig_in(r, i, (struct ha_input){ .kind = HA_IN_ALARM_CLEAR }); break;
    case 15:
        if (!r->link || !r->n[1 - i].alive)
            rig_in(r, i, (struct ha_input){ .kind = HA_IN_PEER_LOST });
        break;
    case 16:
        if (!nd->alive)
            rig_restart(r, i, rnd(2) ? S(r, i)->epoch : 0);
        else if (rnd(4) == 0)
            nd->alive = false;
        break;
    case 17: {
        if (!nd->alive)
            break;
        uint32_t before = S(r, i)->inputs_rejected;
        assert_int_equal(rig_step1(r, i, &(struct ha_input){ 0 }), 0);
        struct ha_input g = garbage(r, i);
        assert_int_equal(rig_step1(r, i, &g), 0);
        assert_int_equal(S(r, i)->inputs_rejected, before + 2);
        break;
    }
    case 18:
        if (nd->cfg.n_vips) {
            struct ha_input in = { .kind = HA_IN_SCRIPT_DONE };
            in.u.script.idx = rnd((uint32_t)nd->cfg.n_vips);
            in.u.script.seq = rnd(5);
            in.u.script.exit_status = (int32_t)rnd(3);
            rig_in(r, i, in);
        }
        break;
    case 19:
        if (nd->alive && rnd(3) == 0)
            rig_in(r, i, (struct ha_input){ .kind = HA_IN_SHUTDOWN });
        break;
    case 20: /* one direction of the link fails or heals */
        if (r->mute[i] || rnd(3) == 0)
            r->mute[i] = !r->mute[i];
        break;
    default:
        rig_heartbeat(r);
        break;
    }
    for (int k = 0; k < 2; k++) { /* a stopped node's adapter exits */
        if (r->n[k].alive && ha_shutdown_done(E(r, k))) {
            r->n[k].alive = false;
            seen_stopped++;
        }
    }
    seen_one_way += r->link && r->mute[0] != r->mute[1];
}

/* Once both engines have each other's current state and reach the arbiter, there
 * is at most one primary: an exchange of heartbeats in which no role changed (a
 * change mid-exchange, e.g. a restarted side deciding its role, needs one more). */
static void check_pair(struct rig *r)
{
    if (!r->link || r->mute[0] || r->mute[1] || !r->n[0].alive || !r->n[1].alive ||
        !r->n[0].arbiter_ok || !r->n[1].arbiter_ok)
        return;
    for (int i = 0; i < 2; i++) /* a split brain waits out a hold (ha_peer_hold_split) */
        if (E(r, i)->p.split_hold_until > r->now)
            rig_advance(r, E(r, i)->p.split_hold_until);
    for (int round = 0; round < 2; round++) {
        size_t m = rig_mark(r);
        rig_heartbeat(r);
        if (rig_count(r, m, -1, HA_OUT_ROLE) == 0)
            break;
    }
    assert_false(S(r, 0)->role == HA_ROLE_PRIMARY && S(r, 1)->role == HA_ROLE_PRIMARY);
    /* I4: the backoff factor is the pair's. A side that saw traffic since the last
     * exchange can differ for one more round (its reset reaches the primary). */
    size_t m = rig_mark(r);
    rig_heartbeat(r);
    bool one = (S(r, 0)->role == HA_ROLE_PRIMARY) != (S(r, 1)->role == HA_ROLE_PRIMARY);
    bool stopping = S(r, 0)->status == HA_STATUS_STOPPED || S(r, 1)->status == HA_STATUS_STOPPED;
    if (one && !stopping && rig_count(r, m, -1, HA_OUT_ROLE) == 0)
        assert_int_equal(S(r, 0)->backoff_factor, S(r, 1)->backoff_factor);
}

/* Everything healthy again: the pair settles on exactly one primary. */
static void heal_and_check(struct rig *r)
{
    r->link = true;
    r->mute[0] = r->mute[1] = false;
    for (int i = 0; i < 2; i++) {
        if (!r->n[i].alive || S(r, i)->status == HA_STATUS_STOPPED)
            rig_restart(r, i, S(r, i)->epoch);
        r->n[i].arbiter_ok = true;
        rig_in(r, i, in_flag(HA_IN_ARBITER, true));
        rig_in(r, i, in_nic(0, true));
        rig_in(r, i, in_nic(1, true));
        rig_in(r, i, in_flag(HA_IN_LISTENER, true));
        for (uint32_t d = 0; d < r->n[i].cfg.n_dns; d++)
            rig_in(r, i, in_dn(d, true));
        for (uint32_t v = 0; v < r->n[i].cfg.n_vips; v++)
            rig_in(r, i, in_vip(v, S(r, i)->role == HA_ROLE_PRIMARY));
    }
    rig_advance(r, r->now + 30000);
    int primaries = (S(r, 0)->role == HA_ROLE_PRIMARY) + (S(r, 1)->role == HA_ROLE_PRIMARY);
    assert_int_equal(primaries, 1);
    size_t m = rig_mark(r);
    rig_advance(r, r->now + 30000);
    assert_int_equal(rig_count(r, m, -1, HA_OUT_ROLE), 0);
}

static void randomized_pair_invariants(void **state)
{
    (void)state;
    size_t worst = 0;
    for (unsigned run = 0; run < 200; run++) {
        rng_state = 0x9e3779b97f4a7c15ull ^ ((uint64_t)run * 0x100000001b3ull) ^ 1;
        struct rig *r = rig_new(2, true);
        r->auto_vip = true;
        random_config(r);
        rig_start(r);
        for (int k = 0; k < 500; k++) {
            r->nlog = 0; /* only the current action's outputs are looked at */
            random_action(r);
            check_pair(r);
        }
        seen_fast += r->hb_ms == 20;
        r->nlog = 0;
        heal_and_check(r);
        if (r->max_step_outputs > worst)
            worst = r->max_step_outputs;
        rig_free(r);
    }
    assert_true(worst > 0 && worst <= HA_MAX_OUTPUTS);
    assert_true(seen_stopped > 50 && seen_one_way > 1000 && seen_fast > 20);
}

/* Worst output burst: a role change with every VIP of a full config. */
static void full_vip_role_change_fits(void **state)
{
    (void)state;
    struct rig *r = pair(HA_OPT_IPTAKEOVER_MONITORING);
    r->n[0].cfg.n_vips = HA_MAX_VIPS;
    r->n[1].cfg.n_vips = HA_MAX_VIPS;
    r->auto_vip = true;
    rig_start(r);
    rig_in(r, 1, in_admin(HA_CMD_SWITCHOVER));
    assert_int_equal(S(r, 1)->role, HA_ROLE_PRIMARY);
    assert_true(r->max_step_outputs >= HA_MAX_VIPS);
    assert_true(r->max_step_outputs <= HA_MAX_OUTPUTS);
    rig_free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(backoff_sequence_and_reset),
        cmocka_unit_test(admin_from_either_side_is_one_switchover),
        cmocka_unit_test(listener_failing_on_both_alternates_until_one_binds),
        cmocka_unit_test(split_brain_resolved_when_link_returns),
        cmocka_unit_test(partition_with_arbiter_keeps_one_primary),
        cmocka_unit_test(isolated_winner_and_arbiter_side_both_lead_until_healed),
        cmocka_unit_test(heal_one_way_first_leaves_one_primary),
        cmocka_unit_test(arbiter_change_while_heartbeats_cross_leaves_one_primary),
        cmocka_unit_test(killed_primary_backup_takes_over_at_timeout),
        cmocka_unit_test(two_backups_elect_the_fitter_then_the_higher_priority),
        cmocka_unit_test(sip_nic_down_with_the_link_on_it),
        cmocka_unit_test(mixed_storm_is_bounded),
        cmocka_unit_test(failing_listeners_back_off),
        cmocka_unit_test(backoff_factor_is_the_pairs),
        cmocka_unit_test(both_lose_arbiter_and_link),
        cmocka_unit_test(one_way_link),
        cmocka_unit_test(shutdown_hands_over_at_once),
        cmocka_unit_test(randomized_pair_invariants),
        cmocka_unit_test(full_vip_role_change_fits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
