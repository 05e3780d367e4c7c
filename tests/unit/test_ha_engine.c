/* The HA engine, one instance at a time, on a virtual clock: each seed rule and its
 * edges (exact timeout boundaries, oos-force below 5, no service DN, partial
 * outage, VIP retries, NIC and listener rules, quorum, both-primary tie-breaks,
 * startup, operator commands, options off, malformed input). The peer, when there
 * is one, is a scripted heartbeat. Two wired engines: test_ha_pair.c. */
#include "test_ha_rig.h"


#define T_MS 15000u /* default rig: one DN, oos-check 10 + max(oos-force 3, 5) */

static struct rig *lone(unsigned options)
{
    struct rig *r = rig_new(1, false);
    r->n[0].cfg.options = options;
    return r;
}

static struct rig *with_fake_peer(unsigned options)
{
    struct rig *r = rig_new(1, true);
    r->n[0].cfg.options = options;
    return r;
}

static const struct ha_output *out_at(const struct rig *r, size_t i)
{
    assert_true(i < r->nlog);
    return &r->log[i].o;
}

/* ---- sip-pass-check ------------------------------------------------------------- */

static uint32_t base_timeout(const struct ha_dn_cfg *dns, size_t n)
{
    struct ha_engine *e = calloc(1, sizeof(*e));
    assert_non_null(e);
    struct ha_config c = { .index = 1, .initial_role = HA_ROLE_PRIMARY, .dns = dns, .n_dns = n };
    assert_int_equal(ha_init(e, &c, 0), 0);
    uint32_t t = ha_state(e)->oos_base_s;
    free(e);
    return t;
}

static void timeout_is_max_of_check_plus_force_at_least_5(void **state)
{
    (void)state;
    const struct ha_dn_cfg a[] = { { 10, 3 } };
    assert_int_equal(base_timeout(a, 1), 15);        /* force 3 counts as 5 */
    const struct ha_dn_cfg b[] = { { 10, 7 } };
    assert_int_equal(base_timeout(b, 1), 17);
    const struct ha_dn_cfg c[] = { { 10, 3 }, { 20, 7 }, { 0, 100 } };
    assert_int_equal(base_timeout(c, 3), 27);        /* the unprobed DN does not count */
    const struct ha_dn_cfg d[] = { { 0, 30 } };
    assert_int_equal(base_timeout(d, 1), 0);
    assert_int_equal(base_timeout(NULL, 0), 0);
    const struct ha_dn_cfg f[] = { { 1, 0 } };
    assert_int_equal(base_timeout(f, 1), 6);
}

static void traffic_lost_exactly_at_T(void **state)
{
    (void)state;
    struct rig *r = lone(HA_OPT_SIP_PASS_CHECK);
    rig_start(r);
    assert_int_equal(S(r, 0)->role, HA_ROLE_PRIMARY);
    assert_int_equal(S(r, 0)->status, HA_STATUS_RUNNING);
    rig_in(r, 0, in_dn(0, false));
    assert_int_equal(ha_next_deadline(E(r, 0)), 1000 + T_MS);
    size_t m = rig_mark(r);
    rig_advance(r, 1000 + T_MS - 1);
    assert_int_equal(rig_notifs(r, m, 0, HA_NOTIF_SIP_TRAFFIC_LOST), 0);
    assert_int_equal(S(r, 0)->status, HA_STATUS_RUNNING);
    rig_advance(r, 1000 + T_MS);
    assert_int_equal(rig_notifs(r, m, 0, HA_NOTIF_SIP_TRAFFIC_LOST), 1);
    assert_int_equal(S(r, 0)->status, HA_STATUS_SERVICE_UNAVAILABLE);
    assert_int_equal(S(r, 0)->traffic, HA_TRAFFIC_LOST);
    /* no peer to take over: it stays primary, and said serviceUnavailable */
    assert_int_equal(S(r, 0)->role, HA_ROLE_PRIMARY);
    const struct rig_event *st = rig_find(r, m, 0, HA_OUT_STATUS, 0);
    assert_non_null(st);
    assert_int_equal(st->t, 1000 + T_MS);
    assert_int_equal(st->o.u.status, HA_STATUS_SERVICE_UNAVAILABLE);
    /* traffic again: restored, running */
    rig_in(r, 0, in_sip(1));
    assert_int_equal(rig_notifs(r, m, 0, HA_NOTIF_SIP_TRAFFIC_RESTORED), 1);
    assert_int_equal(S(r, 0)->status, HA_STATUS_RUNNING);
    assert_int_equal(S(r, 0)->traffic, HA_TRAFFIC_FLOWING);
    rig_free(r);
}

static void traffic_one_ms_before_T_restarts_the_period(void **state)
{
    (void)state;
    struct rig *r = lone(HA_OPT_SIP_PASS_CHECK);
    rig_start(r);
    rig_in(r, 0, in_dn(0, false));
    size_t m = rig_mark(r);
    rig_advance(r, 1000 + T_MS - 1);
    rig_in(r, 0, in_sip(1));
    rig_advance(r, 1000 + T_MS - 1 + T_MS - 1);
    assert_int_equal(rig_notifs(r, m, 0, HA_NOTIF_SIP_TRAFFIC_LOST), 0);
    rig_advance(r, 1000 + T_MS - 1 + T_MS);
    assert_int_equal(rig_notifs(r, m, 0, HA_NOTIF_SIP_TRAFFIC_LOST), 1);
    rig_free(r);
}

static void oos_force_below_5_counts_as_5(void **state)
{
    (void)state;
    struct rig *r = lone(HA_OPT_SIP_PASS_CHECK);
    r->n[0].dns[0] = (struct ha_dn_cfg){ .oos_check = 4, .oos_force = 1 }; /* T = 9 s */
    rig_start(r);
    rig_in(r, 0, in_dn(0, false));
    size_t m = rig_mark(r);
    rig_advance(r, 1000 + 8999);
    assert_int_equal(rig_notifs(r, m, 0, HA_NOTIF_SIP_TRAFFIC_LOST), 0);
    rig_advance(r, 1000 + 9000);
    assert_int_equal(rig_notifs(r, m, 0, HA_NOTIF_SIP_TRAFFIC_LOST), 1);
    rig_free(r);
}

static void partial_outage_never_fires(void **state)
{
    (void)state;
    struct rig *r = lone(HA_OPT_SIP_PASS_CHECK);
    r->n[0].dns[1] = (struct ha_dn_cfg){ .oos_check = 5, .oos_force = 5 };
    r->n[0].cfg.n_dns = 2;
    rig_start(r);
    size_t first = rig_mark(r);
    rig_in(r, 0, in_dn(0, false));
    rig_in(r, 0, in_dn(1, true));
    /* a DN's first answer is its starting state: no "back in service" */
    assert_int_equal(rig_notifs(r, first, 0, HA_NOTIF_DN_IN_SERVICE), 0);
    assert_int_equal(rig_notifs(r, first, 0, HA_NOTIF_DN_OUT_OF_SERVICE), 1);
    size_t m = rig_mark(r);
    rig_advance(r, 1000 + 10 * T_MS);
    assert_int_equal(rig_notifs(r, m, 0, HA_NOTIF_SIP_TRAFFIC_LOST), 0);
    /* the last DN going out after a long silence: lost at once */
    rig_in(r, 0, in_dn(1, false));
    assert_int_equal(rig_notifs(r, m, 0, HA_NOTIF_SIP_TRAFFIC_LOST), 1);
    assert_int_equal(rig_notifs(r, m, 0, HA_NOTIF_DN_OUT_OF_SERVICE), 1);
    /* a DN answering again is traffic */
    rig_in(r, 0, in_dn(0, true));
    assert_int_equal(rig_notifs(r, m, 0, HA_NOTIF_DN_IN_SERVICE), 1);
    assert_int_equal(rig_notifs(r, m, 0, HA_NOTIF_SIP_TRAFFIC_RESTORED), 1);
    assert_int_equal(S(r, 0)->status, HA_STATUS_RUNNING);
    const struct rig_event *ev = rig_find(r, m, 0, HA_OUT_NOTIFY, 0);
    assert_int_equal(ev->o.u.notify.row, 2); /* DN rows are 1-based */
    rig_free(r);
}

static void no_service_dn_never_fires(void **state)
{
    (void)state;
    struct rig *r = lone(HA_OPT_SIP_PASS_CHECK);
    r->n[0].dns[0] = (struct ha_dn_cfg){ .oos_check = 0, .oos_force = 10 };
    rig_start(r);
    rig_in(r, 0, in_dn(0, false));
    size_t m = rig_mark(r);
    rig_advance(r, 3600000);
    assert_int_equal(rig_notifs(r, m, 0, HA_NOTIF_SIP_TRAFFIC_LOST), 0);
    assert_int_equal(S(r, 0)->traffic, HA_TRAFFIC_NOT_MONITORED);
    assert_int_equal(S(r, 0)->oos_base_s, 0);
    assert_int_equal(ha_next_deadline(E(r, 0)), UINT64_MAX);
    rig_free(r);

    r = lone(HA_OPT_SIP_PASS_CHECK);
    r->n[0].cfg.n_dns = 0;
    rig_start(r);
    rig_advance(r, 3600000);
    assert_int_equal(S(r, 0)->status, HA_STATUS_RUNNING);
    assert_int_equal(ha_next_deadline(E(r, 0)), UINT64_MAX);
    rig_free(r);
}

static void pass_check_off_then_on_counts_from_now(void **state)
{
    (void)state;
    struct rig *r = lone(0);
    rig_start(r);
    rig_in(r, 0, in_dn(0, false));
    size_t m = rig_mark(r);
    rig_advance(r, 101000);
    assert_int_equal(rig_notifs(r, m, 0, HA_NOTIF_SIP_TRAFFIC_LOST), 0);
    assert_int_equal(S(r, 0)->traffic, HA_TRAFFIC_NOT_MONITORED);
    rig_in(r, 0, in_options(HA_OPT_SIP_PASS_CHECK));
    rig_advance(r, 101000 + T_MS - 1);
    assert_int_equal(rig_notifs(r, m, 0, HA_NOTIF_SIP_TRAFFIC_LOST), 0);
    rig_advance(r, 101000 + T_MS);
    assert_int_equal(rig_notifs(r, m, 0, HA_NOTIF_SIP_TRAFFIC_LOST), 1);
    assert_int_equal(S(r, 0)->status, HA_STATUS_SERVICE_UNAVAILABLE);
    /* off again: the rule stops and its cause goes */
    rig_in(r, 0, in_options(0));
    assert_int_equal(S(r, 0)->status, HA_STATUS_RUNNING);
    assert_int_equal(S(r, 0)->traffic, HA_TRAFFIC_NOT_MONITORED);
    rig_free(r);
}

static void traffic_lost_hands_over_in_order(void **state)
{
    (void)state;
    struct rig *r = with_fake_peer(HA_OPT_SIP_PASS_CHECK);
    r->n[0].cfg.n_vips = 1;
    rig_start(r);
    assert_int_equal(S(r, 0)->role, HA_ROLE_PRIMARY);
    assert_int_equal(S(r, 0)->epoch, 1);
    assert_int_equal(S(r, 0)->peer_link, HA_LINK_UP);
    rig_in(r, 0, in_dn(0, false));
    size_t m = rig_mark(r);
    rig_advance(r, 1000 + T_MS);
    /* find the step at T and check its exact order */
    size_t i = m;
    while (i < r->nlog && r->log[i].t < 1000 + T_MS)
        i++;
    /* The step at T drops the role and starts the VIP's down script; TAKEOVER waits
     * for that script's end (the VIP must leave before the peer brings it up). */
    const enum ha_out_kind kinds[] = { HA_OUT_NOTIFY, HA_OUT_STATUS, HA_OUT_NOTIFY, HA_OUT_ROLE,
                                       HA_OUT_NOTIFY, HA_OUT_NOTIFY, HA_OUT_RUN_SCRIPT,
                                       HA_OUT_STATUS, HA_OUT_NOTIFY };
    for (size_t k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++)
        assert_int_equal(out_at(r, i + k)->kind, kinds[k]);
    assert_int_equal(out_at(r, i)->u.notify.id, HA_NOTIF_SIP_TRAFFIC_LOST);
    assert_int_equal(out_at(r, i + 1)->u.status, HA_STATUS_SERVICE_UNAVAILABLE);
    assert_int_equal(out_at(r, i + 3)->u.role.role, HA_ROLE_BACKUP);
    assert_int_equal(out_at(r, i + 3)->u.role.reason, HA_REASON_SIP_TRAFFIC_LOST);
    assert_int_equal(out_at(r, i + 5)->u.notify.id, HA_NOTIF_SWITCHOVER);
    assert_false(out_at(r, i + 6)->u.script.up);
    assert_int_equal(out_at(r, i + 7)->u.status, HA_STATUS_RUNNING);
    assert_null(rig_find(r, i, 0, HA_OUT_PEER_SEND, 0));
    struct ha_input done = { .kind = HA_IN_SCRIPT_DONE };
    done.u.script.idx = 0;
    done.u.script.seq = out_at(r, i + 6)->u.script.seq;
    rig_in(r, 0, done); /* the VIP is down: now the peer may take it */
    const struct rig_event *sent = rig_find(r, i, 0, HA_OUT_PEER_SEND, 0);
    assert_non_null(sent);
    const struct ha_peer_msg *pm = &sent->o.u.peer;
    assert_int_equal(pm->cmd, HA_CMD_PEER_TAKEOVER);
    assert_int_equal(pm->epoch, 2);
    assert_int_equal(pm->reason, HA_REASON_SIP_TRAFFIC_LOST);
    assert_int_equal(pm->factor, 1);
    assert_false(pm->traffic_seen);
    assert_int_equal(S(r, 0)->switchovers, 1);
    assert_int_equal(S(r, 0)->last_reason, HA_REASON_SIP_TRAFFIC_LOST);
    assert_int_equal(S(r, 0)->last_switchover, 1000 + T_MS);
    /* the peer confirms: nothing is sent again */
    r->peer.role = HA_ROLE_PRIMARY;
    r->peer.epoch = 2;
    m = rig_mark(r);
    rig_advance(r, 1000 + T_MS + 10000);
    assert_int_equal(rig_count(r, m, 0, HA_OUT_PEER_SEND), 0);
    assert_int_equal(S(r, 0)->role, HA_ROLE_BACKUP);
    assert_int_equal(S(r, 0)->epoch, 2);
    rig_free(r);
}

/* TAKEOVER leaves only when the VIP down scripts have ended — or, if one hangs, after
 * release_wait_ms, so the pair is never left without a primary for long. */
static void takeover_waits_for_vip_down_scripts(void **state)
{
    (void)state;
    struct rig *r = with_fake_peer(0);
    r->n[0].cfg.n_vips = 2;
    rig_start(r);
    assert_int_equal(S(r, 0)->role, HA_ROLE_PRIMARY);
    rig_advance(r, r->now + 250); /* a heartbeat after our role change */
    r->auto_vip = false; /* the scripts end when the test says so */
    size_t m = rig_mark(r);
    rig_in(r, 0, in_admin(HA_CMD_SWITCHOVER));
    assert_int_equal(S(r, 0)->role, HA_ROLE_BACKUP);
    assert_int_equal(rig_count(r, m, 0, HA_OUT_RUN_SCRIPT), 2);
    assert_int_equal(rig_count(r, m, 0, HA_OUT_PEER_SEND), 0);
    uint32_t seq0 = rig_find(r, m, 0, HA_OUT_RUN_SCRIPT, 0)->o.u.script.seq;
    uint32_t seq1 = rig_find(r, m, 0, HA_OUT_RUN_SCRIPT, 1)->o.u.script.seq;
    struct ha_input done = { .kind = HA_IN_SCRIPT_DONE };
    done.u.script.idx = 0;
    done.u.script.seq = seq0;
    rig_in(r, 0, done);
    assert_int_equal(rig_count(r, m, 0, HA_OUT_PEER_SEND), 0); /* one still running */
    done.u.script.idx = 1;
    done.u.script.seq = seq1;
    rig_in(r, 0, done);
    assert_int_equal(rig_count(r, m, 0, HA_OUT_PEER_SEND), 1);
    assert_int_equal(rig_find(r, m, 0, HA_OUT_PEER_SEND, 0)->o.u.peer.cmd, HA_CMD_PEER_TAKEOVER);
    rig_free(r);

    /* A down script that never ends: TAKEOVER goes at release_wait_ms, not before. */
    r = with_fake_peer(0);
    r->n[0].cfg.n_vips = 1;
    rig_start(r);
    rig_advance(r, r->now + 250);
    r->auto_vip = false;
    m = rig_mark(r);
    rig_in(r, 0, in_admin(HA_CMD_SWITCHOVER));
    assert_int_equal(S(r, 0)->role, HA_ROLE_BACKUP);
    uint64_t released = r->now;
    rig_advance(r, released + HA_DEFAULT_RELEASE_WAIT_MS - 1);
    assert_int_equal(rig_count(r, m, 0, HA_OUT_PEER_SEND), 0);
    rig_advance(r, released + HA_DEFAULT_RELEASE_WAIT_MS);
    assert_int_equal(rig_count(r, m, 0, HA_OUT_PEER_SEND), 1);
    rig_free(r);
}

static void unconfirmed_takeover_is_resent_then_backups_elect(void **state)
{
    (void)state;
    struct rig *r = with_fake_peer(HA_OPT_SIP_PASS_CHECK);
    rig_start(r);
    rig_in(r, 0, in_dn(0, false));
    size_t m = rig_mark(r);
    rig_advance(r, 1000 + T_MS);
    assert_int_equal(S(r, 0)->role, HA_ROLE_BACKUP);
    /* the fake peer stays backup: TAKEOVER again every 1.5 s, three times */
    rig_advance(r, 1000 + T_MS + 1499);
    assert_int_equal(rig_count(r, m, 0, HA_OUT_PEER_SEND), 1);
    rig_advance(r, 1000 + T_MS + 1500);
    assert_int_equal(rig_count(r, m, 0, HA_OUT_PEER_SEND), 2);
    rig_advance(r, 1000 + T_MS + 4500);
    assert_int_equal(rig_count(r, m, 0, HA_OUT_PEER_SEND), 4);
    assert_int_equal(rig_find(r, m, 0, HA_OUT_PEER_SEND, 3)->o.u.peer.epoch, 2);
    /* the handover is given up at +6 s; two backups then for 1.5 s more, and the
     * fitter (equal here: the lower index, ours) takes the role */
    rig_advance(r, 1000 + T_MS + 7500 - 1);
    assert_int_equal(S(r, 0)->role, HA_ROLE_BACKUP);
    rig_advance(r, 1000 + T_MS + 7500);
    assert_int_equal(S(r, 0)->role, HA_ROLE_PRIMARY);
    assert_int_equal(S(r, 0)->epoch, 2);
    assert_int_equal(rig_count(r, m, 0, HA_OUT_PEER_SEND), 4);
    rig_free(r);
}

static void unavailable_primary_stays_until_peer_is_fit(void **state)
{
    (void)state;
    struct rig *r = with_fake_peer(HA_OPT_SIP_PASS_CHECK);
    r->peer.unavailable = true;
    r->peer.status = HA_STATUS_SERVICE_UNAVAILABLE;
    rig_start(r);
    rig_in(r, 0, in_dn(0, false));
    size_t m = rig_mark(r);
    rig_advance(r, 1000 + T_MS + 5000);
    assert_int_equal(S(r, 0)->role, HA_ROLE_PRIMARY);
    assert_int_equal(S(r, 0)->status, HA_STATUS_SERVICE_UNAVAILABLE);
    assert_int_equal(rig_count(r, m, 0, HA_OUT_ROLE), 0);
    /* the peer recovers: the next heartbeat hands the role over */
    r->peer.unavailable = false;
    r->peer.status = HA_STATUS_RUNNING;
    rig_advance(r, 1000 + T_MS + 5250);
    assert_int_equal(S(r, 0)->role, HA_ROLE_BACKUP);
    assert_int_equal(S(r, 0)->status, HA_STATUS_RUNNING);
    const struct rig_event *role = rig_find(r, m, 0, HA_OUT_ROLE, 0);
    assert_int_equal(role->o.u.role.reason, HA_REASON_SIP_TRAFFIC_LOST);
    rig_free(r);
}

/* ---- sip-iptakeover-monitoring ----------------------------------------------------- */

static struct ha_input in_done(uint32_t idx, uint32_t seq, int32_t status)
{
    struct ha_input in = { .kind = HA_IN_SCRIPT_DONE };
    in.u.script.idx = idx;
    in.u.script.seq = seq;
    in.u.script.exit_status = status;
    return in;
}

static void vip_retries_then_fails_then_succeeds(void **state)
{
    (void)state;
    struct rig *r = lone(HA_OPT_IPTAKEOVER_MONITORING);
    r->n[0].cfg.n_vips = 1;
    size_t m = rig_mark(r);
    rig_start(r);
    const struct rig_event *run = rig_find(r, m, 0, HA_OUT_RUN_SCRIPT, 0);
    assert_non_null(run);
    assert_true(run->o.u.script.up);
    assert_int_equal(run->o.u.script.seq, 1);
    for (uint32_t k = 1; k <= 3; k++) {
        uint64_t t = r->now + 10;
        rig_advance(r, t);
        rig_in(r, 0, in_done(0, k, 1));
        rig_in(r, 0, in_vip(0, false));
        assert_int_equal(S(r, 0)->vips[0].status, HA_VIP_MISMATCH);
        assert_int_equal(S(r, 0)->vips[0].last_exit, 1);
        rig_advance(r, t + 999);
        assert_int_equal(S(r, 0)->vips[0].script_runs, k);
        rig_advance(r, t + 1000);
        if (k < 3) {
            assert_int_equal(S(r, 0)->vips[0].script_runs, k + 1);
            assert_int_equal(rig_notifs(r, m, 0, HA_NOTIF_VIP_FAILURE), 0);
        }
    }
    assert_int_equal(S(r, 0)->vips[0].script_runs, 3);
    assert_int_equal(rig_notifs(r, m, 0, HA_NOTIF_VIP_FAILURE), 1);
    assert_int_equal(rig_find(r, m, 0, HA_OUT_NOTIFY, 2)->o.u.notify.row, 1);
    assert_int_equal(S(r, 0)->vips[0].status, HA_VIP_FAILED);
    assert_int_equal(S(r, 0)->status, HA_STATUS_SERVICE_UNAVAILABLE);
    /* Changed with the retry rule: a failed VIP is no longer left alone. It is tried
     * again vip_recheck_ms x 2^k after each failed try, at most 30 s apart; the
     * failure is notified once. */
    const uint64_t delay[] = { 1000, 2000, 4000, 8000, 16000, 30000, 30000 };
    for (uint32_t k = 0; k < 7; k++) {
        uint64_t tf = r->now; /* the last try failed now */
        rig_advance(r, tf + delay[k] - 1);
        assert_int_equal(S(r, 0)->vips[0].script_runs, 3 + k);
        rig_advance(r, tf + delay[k]);
        assert_int_equal(S(r, 0)->vips[0].script_runs, 4 + k);
        rig_in(r, 0, in_done(0, 4 + k, 1));
        rig_in(r, 0, in_vip(0, false));
        rig_advance(r, r->now + 1000); /* its recheck fails */
        assert_int_equal(S(r, 0)->vips[0].status, HA_VIP_FAILED);
    }
    assert_int_equal(rig_notifs(r, m, 0, HA_NOTIF_VIP_FAILURE), 1);
    rig_in(r, 0, in_vip(0, true));
    assert_int_equal(rig_notifs(r, m, 0, HA_NOTIF_VIP_SUCCESS), 1);
    assert_int_equal(S(r, 0)->vips[0].status, HA_VIP_OK);
    assert_int_equal(S(r, 0)->status, HA_STATUS_RUNNING);
    rig_free(r);
}

static void vip_present_on_backup_runs_down_script(void **state)
{
    (void)state;
    struct rig *r = lone(HA_OPT_IPTAKEOVER_MONITORING);
    r->n[0].cfg.initial_role = HA_ROLE_BACKUP;
    r->n[0].cfg.n_vips = 2;
    rig_start(r);
    assert_int_equal(S(r, 0)->role, HA_ROLE_BACKUP);
    rig_in(r, 0, in_done(0, 1, 0));
    rig_in(r, 0, in_done(1, 1, 0));
    rig_in(r, 0, in_vip(0, false));
    rig_in(r, 0, in_vip(1, false));
    assert_int_equal(S(r, 0)->vips[1].status, HA_VIP_OK);
    assert_int_equal(S(r, 0)->vips[1].expected, HA_VIP_EXPECT_ABSENT);
    size_t m = rig_mark(r);
    rig_advance(r, r->now + 5000);
    assert_int_equal(rig_count(r, m, 0, HA_OUT_RUN_SCRIPT), 0);
    rig_in(r, 0, in_vip(1, true));
    const struct rig_event *run = rig_find(r, m, 0, HA_OUT_RUN_SCRIPT, 0);
    assert_non_null(run);
    assert_int_equal(run->o.u.script.idx, 1);
    assert_false(run->o.u.script.up);
    assert_int_equal(rig_count(r, m, 0, HA_OUT_RUN_SCRIPT), 1);
    rig_free(r);
}

static void vip_monitoring_off_only_role_scripts(void **state)
{
    (void)state;
    struct rig *r = lone(0);
    r->n[0].cfg.n_vips = 1;
    size_t m = rig_mark(r);
    rig_start(r);
    assert_int_equal(rig_count(r, m, 0, HA_OUT_RUN_SCRIPT), 1); /* the role's own script */
    rig_in(r, 0, in_done(0, 1, 7));
    rig_in(r, 0, in_vip(0, false));
    rig_advance(r, r->now + 60000);
    assert_int_equal(rig_count(r, m, 0, HA_OUT_RUN_SCRIPT), 1);
    assert_int_equal(S(r, 0)->vips[0].status, HA_VIP_NOT_MONITORED);
    assert_int_equal(S(r, 0)->vips[0].last_exit, 7);
    assert_int_equal(S(r, 0)->vips[0].actual, HA_VIP_ABSENT);
    assert_int_equal(S(r, 0)->status, HA_STATUS_RUNNING);
    /* turned on: the mismatch it finds is acted on at once */
    rig_in(r, 0, in_options(HA_OPT_IPTAKEOVER_MONITORING));
    assert_int_equal(rig_count(r, m, 0, HA_OUT_RUN_SCRIPT), 2);
    rig_free(r);
}

static void stale_script_end_starts_no_recheck(void **state)
{
    (void)state;
    struct rig *r = with_fake_peer(HA_OPT_IPTAKEOVER_MONITORING);
    r->n[0].cfg.n_vips = 1;
    rig_start(r);
    rig_advance(r, r->now + 250); /* a heartbeat after our role change */
    assert_int_equal(S(r, 0)->vips[0].seq, 1);
    rig_in(r, 0, in_admin(HA_CMD_SWITCHOVER));
    assert_int_equal(S(r, 0)->role, HA_ROLE_BACKUP);
    assert_int_equal(S(r, 0)->vips[0].seq, 2);
    rig_in(r, 0, in_done(0, 1, 0)); /* the up script of the old role ends */
    assert_true(S(r, 0)->vips[0].running);
    assert_false(S(r, 0)->vips[0].recheck);
    rig_in(r, 0, in_done(0, 2, 0));
    assert_false(S(r, 0)->vips[0].running);
    assert_true(S(r, 0)->vips[0].recheck);
    rig_free(r);
}

/* ---- NIC monitoring -------------------------------------------------------------- */

static void sip_nic_down_and_up(void **state)
{
    (void)state;
    struct rig *r = lone(HA_OPT_SIP_NIC_MONITORING | HA_OPT_SIP_PASS_CHECK);
    rig_start(r);
    rig_in(r, 0, in_nic(1, true));
    size_t m = rig_mark(r);
    rig_in(r, 0, in_nic(1, false));
    assert_int_equal(rig_notifs(r, m, 0, HA_NOTIF_NIC_FAILURE), 1);
    assert_int_equal(rig_find(r, m, 0, HA_OUT_NOTIFY, 0)->o.u.notify.row, 2);
    assert_int_equal(S(r, 0)->status, HA_STATUS_SERVICE_UNAVAILABLE);
    assert_int_equal(S(r, 0)->nics[1].failures, 1);
    assert_int_equal(S(r, 0)->nics[1].oper, HA_OPER_DOWN);
    /* a second cause: the NIC's recovery alone does not make it running */
    rig_in(r, 0, in_dn(0, false));
    rig_advance(r, 1000 + T_MS);
    assert_int_equal(rig_notifs(r, m, 0, HA_NOTIF_SIP_TRAFFIC_LOST), 1);
    rig_in(r, 0, in_nic(1, true));
    assert_int_equal(rig_notifs(r, m, 0, HA_NOTIF_NIC_RECOVERY), 1);
    assert_int_equal(S(r, 0)->status, HA_STATUS_SERVICE_UNAVAILABLE);
    rig_in(r, 0, in_sip(3));
    assert_int_equal(S(r, 0)->status, HA_STATUS_RUNNING);
    assert_int_equal(S(r, 0)->sip_msgs, 3);
    rig_free(r);
}

static void sip_nic_option_off_does_nothing(void **state)
{
    (void)state;
    struct rig *r = lone(0);
    rig_start(r);
    size_t m = rig_mark(r);
    rig_in(r, 0, in_nic(1, false));
    assert_int_equal(rig_notifs(r, m, 0, HA_NOTIF_NIC_FAILURE), 0);
    assert_int_equal(S(r, 0)->status, HA_STATUS_RUNNING);
    assert_int_equal(S(r, 0)->nics[1].failures, 1); /* still counted for the MIB */
    /* turned on with the NIC down: detected now */
    rig_in(r, 0, in_options(HA_OPT_SIP_NIC_MONITORING));
    assert_int_equal(rig_notifs(r, m, 0, HA_NOTIF_NIC_FAILURE), 1);
    assert_int_equal(S(r, 0)->status, HA_STATUS_SERVICE_UNAVAILABLE);
    rig_free(r);
}

static void mgmt_nic_down_switches_to_backup(void **state)
{
    (void)state;
    struct rig *r = with_fake_peer(HA_OPT_TLIB_NIC_MONITORING);
    rig_start(r);
    assert_int_equal(S(r, 0)->role, HA_ROLE_PRIMARY);
    size_t m = rig_mark(r);
    rig_in(r, 0, in_nic(0, false));
    assert_int_equal(rig_notifs(r, m, 0, HA_NOTIF_NIC_FAILURE), 1);
    assert_int_equal(rig_find(r, m, 0, HA_OUT_NOTIFY, 0)->o.u.notify.row, 1);
    assert_int_equal(S(r, 0)->role, HA_ROLE_BACKUP);
    assert_int_equal(S(r, 0)->last_reason, HA_REASON_NIC_FAILURE);
    const struct rig_event *send = rig_find(r, m, 0, HA_OUT_PEER_SEND, 0);
    assert_non_null(send);
    assert_int_equal(send->o.u.peer.cmd, HA_CMD_PEER_TAKEOVER);
    /* while the NIC is down it takes no role: not by TAKEOVER, not by peer loss */
    struct ha_input tk = { .kind = HA_IN_ADMIN };
    tk.u.admin = (struct ha_peer_msg){ .cmd = HA_CMD_PEER_TAKEOVER, .epoch = 9,
                                       .reason = HA_REASON_ADMIN, .factor = 1 };
    rig_in(r, 0, tk);
    assert_int_equal(S(r, 0)->role, HA_ROLE_BACKUP);
    r->link = false;
    rig_advance(r, r->now + 5000);
    assert_int_equal(S(r, 0)->peer_link, HA_LINK_DOWN);
    assert_int_equal(S(r, 0)->role, HA_ROLE_BACKUP);
    uint64_t back = r->now;
    rig_in(r, 0, in_nic(0, true));
    assert_int_equal(rig_notifs(r, m, 0, HA_NOTIF_NIC_RECOVERY), 1);
    /* NIC back, peer still lost, no arbiter: it may take over, after settle_ms
     * (changed: at once before; the HA link may run on that NIC and bring back a
     * peer that took over meanwhile — taking over now would fail back, I3) */
    rig_advance(r, back + 1499);
    assert_int_equal(S(r, 0)->role, HA_ROLE_BACKUP);
    rig_advance(r, back + 1500);
    assert_int_equal(S(r, 0)->role, HA_ROLE_PRIMARY);
    assert_int_equal(S(r, 0)->last_reason, HA_REASON_PEER_LOST);
    rig_free(r);
}

static void mgmt_nic_option_off_does_nothing(void **state)
{
    (void)state;
    struct rig *r = with_fake_peer(0);
    rig_start(r);
    size_t m = rig_mark(r);
    rig_in(r, 0, in_nic(0, false));
    assert_int_equal(S(r, 0)->role, HA_ROLE_PRIMARY);
    assert_int_equal(rig_count(r, m, 0, HA_OUT_NOTIFY), 0);
    /* on at run time: acts at once */
    rig_in(r, 0, in_options(HA_OPT_TLIB_NIC_MONITORING));
    assert_int_equal(S(r, 0)->role, HA_ROLE_BACKUP);
    rig_free(r);
}

/* ---- listener bind failure ------------------------------------------------------- */

static void listener_failure_hands_over_and_alarm_autoclears(void **state)
{
    (void)state;
    struct rig *r = with_fake_peer(0);
    r->n[0].cfg.alarm_autoclear_ms = 60000;
    rig_start(r);
    rig_advance(r, r->now + 250); /* a heartbeat after our role change */
    size_t m = rig_mark(r);
    uint64_t t0 = r->now;
    rig_in(r, 0, in_flag(HA_IN_LISTENER, false));
    assert_int_equal(rig_notifs(r, m, 0, HA_NOTIF_LISTENER_BIND_FAILURE), 1);
    assert_int_equal(S(r, 0)->status, HA_STATUS_RUNNING);
    assert_int_equal(S(r, 0)->role, HA_ROLE_BACKUP);
    assert_int_equal(S(r, 0)->last_reason, HA_REASON_LISTENER_BIND);
    assert_true(S(r, 0)->listener_alarm.active);
    /* a repeated failure while the alarm is active is the same alarm */
    rig_in(r, 0, in_flag(HA_IN_LISTENER, false));
    assert_int_equal(rig_notifs(r, m, 0, HA_NOTIF_LISTENER_BIND_FAILURE), 1);
    rig_advance(r, t0 + 59999);
    assert_int_equal(rig_notifs(r, m, 0, HA_NOTIF_ALARM_CLEARED), 0);
    rig_advance(r, t0 + 60000);
    assert_int_equal(rig_notifs(r, m, 0, HA_NOTIF_ALARM_CLEARED), 1);
    const struct rig_event *ev = NULL;
    for (int k = 0; (ev = rig_find(r, m, 0, HA_OUT_NOTIFY, k)); k++)
        if (ev->o.u.notify.id == HA_NOTIF_ALARM_CLEARED)
            break;
    assert_int_equal(ev->o.u.notify.row, HA_NOTIF_LISTENER_BIND_FAILURE);
    assert_false(S(r, 0)->listener_alarm.active);
    rig_in(r, 0, in_flag(HA_IN_LISTENER, true));
    assert_int_equal(rig_notifs(r, m, 0, HA_NOTIF_LISTENER_BOUND), 1);
    rig_free(r);
}

static void listener_alarm_cleared_by_operator(void **state)
{
    (void)state;
    struct rig *r = lone(0);
    rig_start(r);
    size_t m = rig_mark(r);
    rig_in(r, 0, in_flag(HA_IN_LISTENER, false));
    assert_int_equal(S(r, 0)->role, HA_ROLE_PRIMARY); /* no peer to hand to */
    rig_advance(r, r->now + 3600000);
    assert_true(S(r, 0)->listener_alarm.active); /* no auto-clear configured */
    struct ha_input clr = { .kind = HA_IN_ALARM_CLEAR, .u.alarm = HA_NOTIF_LISTENER_BIND_FAILURE };
    rig_in(r, 0, clr);
    assert_false(S(r, 0)->listener_alarm.active);
    assert_int_equal(rig_notifs(r, m, 0, HA_NOTIF_ALARM_CLEARED), 1);
    rig_in(r, 0, clr);
    assert_int_equal(rig_notifs(r, m, 0, HA_NOTIF_ALARM_CLEARED), 1);
    rig_free(r);
}

static void listener_both_failed_waits_T_listener(void **state)
{
    (void)state;
    struct rig *r = with_fake_peer(0);
    r->peer.listener = HA_LISTENER_FAILED;
    rig_start(r);
    uint64_t t0 = r->now + 100;
    rig_advance(r, t0);
    rig_in(r, 0, in_flag(HA_IN_LISTENER, false));
    rig_advance(r, t0 + 4999);
    assert_int_equal(S(r, 0)->role, HA_ROLE_PRIMARY);
    rig_advance(r, t0 + 5000);
    assert_int_equal(S(r, 0)->role, HA_ROLE_BACKUP);
    rig_free(r);
}

static void takeover_does_not_bounce_on_a_stale_peer_view(void **state)
{
    (void)state;
    struct rig *r = with_fake_peer(0);
    r->n[0].cfg.initial_role = HA_ROLE_BACKUP;
    r->peer.priority = 150; /* of two backups the fake peer is elected (and never acts) */
    rig_start(r);
    rig_advance(r, r->now + 250);
    rig_in(r, 0, in_flag(HA_IN_LISTENER, false));
    /* the peer hands us the role because its SIP NIC failed; its last heartbeat
     * still said "backup, running, fit, listener bound" */
    size_t m = rig_mark(r);
    struct ha_input tk = { .kind = HA_IN_ADMIN };
    tk.u.admin = (struct ha_peer_msg){ .cmd = HA_CMD_PEER_TAKEOVER, .epoch = 5,
                                       .reason = HA_REASON_SIP_NIC_FAILURE, .factor = 1 };
    rig_in(r, 0, tk);
    assert_int_equal(S(r, 0)->role, HA_ROLE_PRIMARY);
    assert_int_equal(S(r, 0)->last_reason, HA_REASON_SIP_NIC_FAILURE);
    assert_int_equal(rig_count(r, m, 0, HA_OUT_PEER_SEND), 0);
    /* its next heartbeat tells the truth: it cannot serve, so we keep the role */
    r->peer.status = HA_STATUS_SERVICE_UNAVAILABLE;
    r->peer.unavailable = true;
    rig_advance(r, r->now + 1000);
    assert_int_equal(S(r, 0)->role, HA_ROLE_PRIMARY);
    assert_int_equal(rig_count(r, m, 0, HA_OUT_PEER_SEND), 0);
    assert_int_equal(rig_notifs(r, m, 0, HA_NOTIF_SPLIT_BRAIN_DETECTED), 0);
    rig_free(r);
}

/* ---- both primary: control-vip-scripts and split brain ------------------------------ */

/* A lone engine that became primary, then hears a peer that claims primary too. */
static struct rig *both_primary(unsigned options, bool arbiter, uint32_t prio, uint32_t index,
                                uint32_t peer_prio, uint32_t peer_index)
{
    struct rig *r = with_fake_peer(options);
    r->n[0].cfg.has_arbiter = arbiter;
    r->n[0].cfg.priority = prio;
    r->n[0].cfg.index = index;
    r->peer.priority = peer_prio;
    r->peer.index = peer_index;
    rig_start(r);
    assert_int_equal(S(r, 0)->role, HA_ROLE_PRIMARY);
    return r;
}

static void peer_turns_primary(struct rig *r, uint32_t epoch, enum ha_link arbiter)
{
    r->peer.role = HA_ROLE_PRIMARY;
    r->peer.epoch = epoch;
    r->peer.arbiter = arbiter;
    rig_advance(r, r->now + 250);
}

static void arbiter_lost_lower_priority_yields(void **state)
{
    (void)state;
    /* lower priority yields, even with the newer epoch */
    struct rig *r = both_primary(HA_OPT_CONTROL_VIP_SCRIPTS, true, 50, 1, 100, 2);
    rig_in(r, 0, in_flag(HA_IN_ARBITER, false));
    assert_int_equal(S(r, 0)->role, HA_ROLE_PRIMARY);
    rig_advance(r, r->now + 1500); /* past the hold after our arbiter change */
    size_t m = rig_mark(r);
    peer_turns_primary(r, 0, HA_LINK_DOWN);
    assert_int_equal(S(r, 0)->role, HA_ROLE_BACKUP);
    assert_int_equal(S(r, 0)->last_reason, HA_REASON_SPLIT_BRAIN);
    assert_int_equal(rig_notifs(r, m, 0, HA_NOTIF_SPLIT_BRAIN_DETECTED), 1);
    assert_int_equal(rig_notifs(r, m, 0, HA_NOTIF_SPLIT_BRAIN_RESOLVED), 1);
    rig_free(r);

    /* higher priority stays, even with the older epoch */
    r = both_primary(HA_OPT_CONTROL_VIP_SCRIPTS, true, 150, 1, 100, 2);
    rig_in(r, 0, in_flag(HA_IN_ARBITER, false));
    peer_turns_primary(r, 7, HA_LINK_DOWN);
    assert_int_equal(S(r, 0)->role, HA_ROLE_PRIMARY);
    assert_true(S(r, 0)->split_brain);
    rig_free(r);

    /* equal priority: the higher index yields */
    r = both_primary(HA_OPT_CONTROL_VIP_SCRIPTS, true, 100, 3, 100, 2);
    rig_in(r, 0, in_flag(HA_IN_ARBITER, false));
    rig_advance(r, r->now + 1500);
    peer_turns_primary(r, 0, HA_LINK_DOWN);
    assert_int_equal(S(r, 0)->role, HA_ROLE_BACKUP);
    rig_free(r);
    r = both_primary(HA_OPT_CONTROL_VIP_SCRIPTS, true, 100, 1, 100, 2);
    rig_in(r, 0, in_flag(HA_IN_ARBITER, false));
    peer_turns_primary(r, 7, HA_LINK_DOWN);
    assert_int_equal(S(r, 0)->role, HA_ROLE_PRIMARY);
    rig_free(r);
}

static void split_brain_epoch_then_priority_then_index(void **state)
{
    (void)state;
    /* newer epoch wins over priority */
    struct rig *r = both_primary(0, false, 150, 1, 100, 2);
    size_t m = rig_mark(r);
    peer_turns_primary(r, 2, HA_LINK_NOT_CONFIGURED); /* ours is 1 */
    assert_int_equal(S(r, 0)->role, HA_ROLE_BACKUP);
    assert_int_equal(rig_notifs(r, m, 0, HA_NOTIF_SPLIT_BRAIN_DETECTED), 1);
    assert_int_equal(rig_notifs(r, m, 0, HA_NOTIF_SPLIT_BRAIN_RESOLVED), 1);
    assert_false(S(r, 0)->split_brain_alarm.active);
    rig_free(r);

    /* our epoch newer: we stay; resolved when the peer reports backup */
    r = both_primary(0, false, 50, 2, 100, 1);
    m = rig_mark(r);
    peer_turns_primary(r, 0, HA_LINK_NOT_CONFIGURED);
    assert_int_equal(S(r, 0)->role, HA_ROLE_PRIMARY);
    assert_true(S(r, 0)->split_brain);
    assert_true(S(r, 0)->split_brain_alarm.active);
    r->peer.role = HA_ROLE_BACKUP;
    rig_advance(r, r->now + 250);
    assert_false(S(r, 0)->split_brain);
    assert_int_equal(rig_notifs(r, m, 0, HA_NOTIF_SPLIT_BRAIN_RESOLVED), 1);
    rig_free(r);

    /* same epoch: priority */
    r = both_primary(0, false, 50, 1, 100, 2);
    peer_turns_primary(r, 1, HA_LINK_NOT_CONFIGURED);
    assert_int_equal(S(r, 0)->role, HA_ROLE_BACKUP);
    rig_free(r);
    r = both_primary(0, false, 150, 2, 100, 1);
    peer_turns_primary(r, 1, HA_LINK_NOT_CONFIGURED);
    assert_int_equal(S(r, 0)->role, HA_ROLE_PRIMARY);
    rig_free(r);

    /* same epoch and priority: lower index stays */
    r = both_primary(0, false, 100, 2, 100, 1);
    peer_turns_primary(r, 1, HA_LINK_NOT_CONFIGURED);
    assert_int_equal(S(r, 0)->role, HA_ROLE_BACKUP);
    rig_free(r);
    r = both_primary(0, false, 100, 1, 100, 2);
    peer_turns_primary(r, 1, HA_LINK_NOT_CONFIGURED);
    assert_int_equal(S(r, 0)->role, HA_ROLE_PRIMARY);
    rig_free(r);

    /* control-vip-scripts on but the arbiter reachable: the epoch rule */
    r = both_primary(HA_OPT_CONTROL_VIP_SCRIPTS, true, 150, 1, 100, 2);
    peer_turns_primary(r, 5, HA_LINK_UP);
    assert_int_equal(S(r, 0)->role, HA_ROLE_BACKUP);
    rig_free(r);
}

/* ---- quorum and peer loss ----------------------------------------------------------- */

/* Quorum is the seed's control-vip-scripts rule: with the peer and the arbiter both
 * lost, the side that would lose a split brain (lower priority, then higher index)
 * stands back and the other leads. (Changed: a primary that reached neither used
 * to step down whatever its rank, which left a pair that lost both with nobody.) */
static void quorum_with_arbiter(void **state)
{
    (void)state;
    struct rig *r = with_fake_peer(HA_OPT_CONTROL_VIP_SCRIPTS);
    r->n[0].cfg.has_arbiter = true;
    r->n[0].cfg.priority = 50; /* the fake peer has 100: we would lose */
    rig_start(r);
    assert_int_equal(S(r, 0)->role, HA_ROLE_PRIMARY);
    size_t m = rig_mark(r);
    r->link = false;
    uint64_t last = S(r, 0)->peer_last_seen;
    rig_advance(r, last + 1499);
    assert_int_equal(S(r, 0)->peer_link, HA_LINK_UP);
    rig_advance(r, last + 1500);
    assert_int_equal(S(r, 0)->peer_link, HA_LINK_DOWN);
    assert_int_equal(rig_notifs(r, m, 0, HA_NOTIF_PEER_LOST), 1);
    assert_int_equal(S(r, 0)->role, HA_ROLE_PRIMARY); /* the arbiter still answers */
    rig_in(r, 0, in_flag(HA_IN_ARBITER, false));
    assert_int_equal(rig_notifs(r, m, 0, HA_NOTIF_ARBITER_LOST), 1);
    assert_int_equal(S(r, 0)->role, HA_ROLE_BACKUP);
    assert_int_equal(S(r, 0)->last_reason, HA_REASON_QUORUM_LOST);
    /* and does not take it back, not even when asked */
    rig_advance(r, r->now + 10000);
    assert_int_equal(S(r, 0)->role, HA_ROLE_BACKUP);
    rig_in(r, 0, in_admin(HA_CMD_BECOME_PRIMARY));
    assert_int_equal(S(r, 0)->admin_result, HA_RESULT_REFUSED);
    assert_int_equal(S(r, 0)->role, HA_ROLE_BACKUP);
    /* arbiter back, peer still lost: after settle_ms (time for a healing network
     * to bring the peer's heartbeat back too) the backup takes over */
    uint64_t t = r->now;
    rig_in(r, 0, in_flag(HA_IN_ARBITER, true));
    assert_int_equal(rig_notifs(r, m, 0, HA_NOTIF_ARBITER_FOUND), 1);
    rig_advance(r, t + 1499);
    assert_int_equal(S(r, 0)->role, HA_ROLE_BACKUP);
    rig_advance(r, t + 1500);
    assert_int_equal(S(r, 0)->role, HA_ROLE_PRIMARY);
    assert_int_equal(S(r, 0)->last_reason, HA_REASON_PEER_LOST);
    rig_free(r);

    /* the side that would win stays primary; without control-vip-scripts there is
     * no quorum rule: the primary stays too */
    const struct { unsigned opts; uint32_t prio; } stay[] = {
        { HA_OPT_CONTROL_VIP_SCRIPTS, 150 }, { 0, 50 },
    };
    for (size_t k = 0; k < 2; k++) {
        r = with_fake_peer(stay[k].opts);
        r->n[0].cfg.has_arbiter = true;
        r->n[0].cfg.priority = stay[k].prio;
        rig_start(r);
        r->link = false;
        rig_in(r, 0, in_flag(HA_IN_ARBITER, false));
        rig_advance(r, r->now + 10000);
        assert_int_equal(S(r, 0)->peer_link, HA_LINK_DOWN);
        assert_int_equal(S(r, 0)->role, HA_ROLE_PRIMARY);
        assert_int_equal(S(r, 0)->switchovers, 0);
        rig_free(r);
    }
}

static void peer_loss_without_arbiter(void **state)
{
    (void)state;
    struct rig *r = with_fake_peer(0);
    r->n[0].cfg.initial_role = HA_ROLE_BACKUP;
    r->peer.role = HA_ROLE_PRIMARY;
    r->peer.epoch = 4;
    rig_start(r);
    rig_advance(r, r->now + 1000);
    assert_int_equal(S(r, 0)->role, HA_ROLE_BACKUP);
    assert_int_equal(S(r, 0)->epoch, 4);
    r->link = false;
    uint64_t last = S(r, 0)->peer_last_seen;
    rig_advance(r, last + 1499);
    assert_int_equal(S(r, 0)->role, HA_ROLE_BACKUP);
    rig_advance(r, last + 1500);
    assert_int_equal(S(r, 0)->role, HA_ROLE_PRIMARY);
    assert_int_equal(S(r, 0)->last_reason, HA_REASON_PEER_LOST);
    assert_int_equal(S(r, 0)->epoch, 5);
    rig_free(r);
}

static void stale_takeover_on_backup_is_ignored(void **state)
{
    (void)state;
    struct rig *r = with_fake_peer(0);
    r->n[0].cfg.initial_role = HA_ROLE_BACKUP;
    r->peer.role = HA_ROLE_PRIMARY;
    r->peer.epoch = 4;
    rig_start(r);
    assert_int_equal(S(r, 0)->epoch, 4);
    size_t m = rig_mark(r);
    struct ha_input tk = { .kind = HA_IN_ADMIN };
    tk.u.admin = (struct ha_peer_msg){ .cmd = HA_CMD_PEER_TAKEOVER, .epoch = 4,
                                       .reason = HA_REASON_ADMIN, .factor = 1 };
    rig_in(r, 0, tk); /* a delayed copy of an old handover */
    assert_int_equal(S(r, 0)->role, HA_ROLE_BACKUP);
    assert_int_equal(rig_count(r, m, 0, HA_OUT_ROLE), 0);
    tk.u.admin.epoch = 5;
    rig_in(r, 0, tk);
    assert_int_equal(S(r, 0)->role, HA_ROLE_PRIMARY);
    rig_free(r);
}

static void peer_lost_input_is_immediate(void **state)
{
    (void)state;
    struct rig *r = with_fake_peer(0);
    r->n[0].cfg.initial_role = HA_ROLE_BACKUP;
    r->peer.role = HA_ROLE_PRIMARY;
    rig_start(r);
    r->link = false;
    rig_in(r, 0, (struct ha_input){ .kind = HA_IN_PEER_LOST });
    assert_int_equal(S(r, 0)->role, HA_ROLE_PRIMARY);
    rig_free(r);
}

/* With peer_loss_reported the adapter owns liveness: silence alone loses no peer
 * (the link sends only news), PEER_LOST does at once. */
static void peer_loss_reported_by_the_adapter_only(void **state)
{
    (void)state;
    struct rig *r = with_fake_peer(0);
    r->n[0].cfg.initial_role = HA_ROLE_BACKUP;
    r->n[0].cfg.peer_loss_reported = true;
    r->peer.role = HA_ROLE_PRIMARY;
    rig_start(r);
    r->link = false;
    rig_advance(r, r->now + 60000);
    assert_int_equal(S(r, 0)->peer_link, HA_LINK_UP);
    assert_int_equal(S(r, 0)->role, HA_ROLE_BACKUP);
    rig_in(r, 0, (struct ha_input){ .kind = HA_IN_PEER_LOST });
    assert_int_equal(S(r, 0)->peer_link, HA_LINK_DOWN);
    assert_int_equal(S(r, 0)->role, HA_ROLE_PRIMARY);
    rig_free(r);
}

/* A backup that loses the peer and the arbiter: with control-vip-scripts it leads
 * only if it would win a split brain; without the option it takes over as with no
 * arbiter. (Changed: it used to stand back whatever its rank.) */
static void backup_alone_follows_the_seed_quorum_rule(void **state)
{
    (void)state;
    const struct { unsigned opts; uint32_t prio; enum ha_role role; } cases[] = {
        { HA_OPT_CONTROL_VIP_SCRIPTS, 50, HA_ROLE_BACKUP },   /* would lose */
        { HA_OPT_CONTROL_VIP_SCRIPTS, 150, HA_ROLE_PRIMARY }, /* would win */
        { 0, 50, HA_ROLE_PRIMARY },                           /* no quorum rule */
    };
    for (size_t k = 0; k < 3; k++) {
        struct rig *r = with_fake_peer(cases[k].opts);
        r->n[0].cfg.initial_role = HA_ROLE_BACKUP;
        r->n[0].cfg.has_arbiter = true;
        r->n[0].cfg.priority = cases[k].prio;
        r->n[0].arbiter_ok = false;
        r->peer.role = HA_ROLE_PRIMARY;
        rig_start(r);
        assert_int_equal(S(r, 0)->role, HA_ROLE_BACKUP);
        r->link = false;
        uint64_t last = S(r, 0)->peer_last_seen;
        rig_advance(r, last + 1499);
        assert_int_equal(S(r, 0)->role, HA_ROLE_BACKUP);
        rig_advance(r, last + 1500); /* peer lost: decided at once */
        assert_int_equal(S(r, 0)->peer_link, HA_LINK_DOWN);
        assert_int_equal(S(r, 0)->role, cases[k].role);
        rig_advance(r, r->now + 10000);
        assert_int_equal(S(r, 0)->role, cases[k].role);
        rig_free(r);
    }
}

/* ---- startup ------------------------------------------------------------------------- */

static void startup_primary_defers_to_running_primary(void **state)
{
    (void)state;
    struct rig *r = with_fake_peer(0);
    r->peer.role = HA_ROLE_PRIMARY;
    r->peer.epoch = 3;
    size_t m = rig_mark(r);
    rig_start(r);
    assert_int_equal(S(r, 0)->role, HA_ROLE_BACKUP);
    assert_int_equal(S(r, 0)->epoch, 3);
    const struct rig_event *ev = rig_find(r, m, 0, HA_OUT_ROLE, 0);
    assert_int_equal(ev->o.u.role.reason, HA_REASON_STARTUP);
    assert_int_equal(S(r, 0)->switchovers, 0); /* leaving "unknown" is no switchover */
    assert_int_equal(rig_notifs(r, m, 0, HA_NOTIF_SWITCHOVER), 0);
    rig_free(r);
}

static void startup_backup_alone_takes_over_after_timeout(void **state)
{
    (void)state;
    struct rig *r = with_fake_peer(0);
    r->n[0].cfg.initial_role = HA_ROLE_BACKUP;
    r->link = false;
    rig_start(r);
    assert_int_equal(S(r, 0)->role, HA_ROLE_UNKNOWN);
    assert_int_equal(S(r, 0)->status, HA_STATUS_INITIALIZING);
    rig_advance(r, 1000 + 1499);
    assert_int_equal(S(r, 0)->role, HA_ROLE_UNKNOWN);
    rig_advance(r, 1000 + 1500);
    assert_int_equal(S(r, 0)->role, HA_ROLE_PRIMARY);
    assert_int_equal(S(r, 0)->status, HA_STATUS_RUNNING);
    rig_free(r);
}

/* ---- operator commands -------------------------------------------------------------- */

static void admin_on_lone_engine(void **state)
{
    (void)state;
    struct rig *r = lone(0);
    r->n[0].cfg.initial_role = HA_ROLE_BACKUP;
    rig_start(r);
    size_t m = rig_mark(r);
    rig_in(r, 0, in_admin(HA_CMD_SWITCHOVER));
    assert_int_equal(S(r, 0)->admin_result, HA_RESULT_REFUSED);
    rig_in(r, 0, in_admin(HA_CMD_BECOME_BACKUP));
    assert_int_equal(S(r, 0)->admin_result, HA_RESULT_SUCCESS);
    assert_int_equal(rig_count(r, m, 0, HA_OUT_ROLE), 0);
    rig_in(r, 0, in_admin(HA_CMD_BECOME_PRIMARY)); /* operator override */
    assert_int_equal(S(r, 0)->admin_result, HA_RESULT_SUCCESS);
    assert_int_equal(S(r, 0)->role, HA_ROLE_PRIMARY);
    assert_int_equal(S(r, 0)->last_reason, HA_REASON_ADMIN);
    rig_in(r, 0, in_admin(HA_CMD_BECOME_PRIMARY));
    assert_int_equal(S(r, 0)->admin_result, HA_RESULT_SUCCESS);
    rig_in(r, 0, in_admin(HA_CMD_BECOME_BACKUP)); /* no peer to hand to */
    assert_int_equal(S(r, 0)->admin_result, HA_RESULT_REFUSED);
    assert_int_equal(rig_count(r, m, 0, HA_OUT_ROLE), 1);
    rig_free(r);
}

static void admin_switchover_on_primary_waits_for_peer(void **state)
{
    (void)state;
    struct rig *r = with_fake_peer(0);
    rig_start(r);
    rig_advance(r, r->now + 250); /* a heartbeat after our role change */
    size_t m = rig_mark(r);
    rig_in(r, 0, in_admin(HA_CMD_SWITCHOVER));
    assert_int_equal(S(r, 0)->role, HA_ROLE_BACKUP);
    assert_int_equal(S(r, 0)->admin_result, HA_RESULT_IN_PROGRESS);
    const struct rig_event *send = rig_find(r, m, 0, HA_OUT_PEER_SEND, 0);
    assert_int_equal(send->o.u.peer.cmd, HA_CMD_PEER_TAKEOVER);
    assert_int_equal(send->o.u.peer.epoch, 2);
    /* another command meanwhile is refused */
    rig_in(r, 0, in_admin(HA_CMD_BECOME_PRIMARY));
    assert_int_equal(S(r, 0)->admin_result, HA_RESULT_REFUSED);
    r->peer.role = HA_ROLE_PRIMARY;
    r->peer.epoch = 2;
    rig_advance(r, r->now + 250);
    assert_int_equal(S(r, 0)->admin_result, HA_RESULT_SUCCESS);
    rig_free(r);
}

static void admin_refused_when_peer_unfit(void **state)
{
    (void)state;
    struct rig *r = with_fake_peer(0);
    r->peer.unavailable = true;
    rig_start(r);
    rig_in(r, 0, in_admin(HA_CMD_SWITCHOVER));
    assert_int_equal(S(r, 0)->admin_result, HA_RESULT_REFUSED);
    assert_int_equal(S(r, 0)->role, HA_ROLE_PRIMARY);
    rig_free(r);
}

static void admin_on_backup_sends_release(void **state)
{
    (void)state;
    struct rig *r = with_fake_peer(0);
    r->n[0].cfg.initial_role = HA_ROLE_BACKUP;
    r->peer.role = HA_ROLE_PRIMARY;
    r->peer.epoch = 1;
    rig_start(r);
    size_t m = rig_mark(r);
    rig_in(r, 0, in_admin(HA_CMD_BECOME_PRIMARY));
    assert_int_equal(S(r, 0)->admin_result, HA_RESULT_IN_PROGRESS);
    assert_int_equal(S(r, 0)->role, HA_ROLE_BACKUP);
    assert_int_equal(rig_find(r, m, 0, HA_OUT_PEER_SEND, 0)->o.u.peer.cmd, HA_CMD_PEER_RELEASE);
    /* no TAKEOVER within 2 x peer timeout: failed, nothing changed */
    uint64_t t = r->now;
    rig_advance(r, t + 2999);
    assert_int_equal(S(r, 0)->admin_result, HA_RESULT_IN_PROGRESS);
    rig_advance(r, t + 3000);
    assert_int_equal(S(r, 0)->admin_result, HA_RESULT_FAILED);
    assert_int_equal(S(r, 0)->role, HA_ROLE_BACKUP);
    /* again, and this time the peer answers */
    rig_in(r, 0, in_admin(HA_CMD_SWITCHOVER));
    struct ha_input tk = { .kind = HA_IN_ADMIN };
    tk.u.admin = (struct ha_peer_msg){ .cmd = HA_CMD_PEER_TAKEOVER, .epoch = 2,
                                       .reason = HA_REASON_ADMIN, .factor = 1 };
    rig_in(r, 0, tk);
    assert_int_equal(S(r, 0)->role, HA_ROLE_PRIMARY);
    assert_int_equal(S(r, 0)->epoch, 2);
    assert_int_equal(S(r, 0)->last_reason, HA_REASON_ADMIN);
    assert_int_equal(S(r, 0)->admin_result, HA_RESULT_SUCCESS);
    /* the same TAKEOVER again is stale */
    m = rig_mark(r);
    rig_in(r, 0, tk);
    assert_int_equal(rig_count(r, m, 0, HA_OUT_ROLE), 0);
    rig_free(r);
}

/* ---- new rules: settle time, I1, pair backoff, shutdown, one-way link --------------- */

/* peer_timeout_ms is peer loss only; discovery, election, arbiter settle and the
 * operator's time limit are settle_ms; TAKEOVER re-sends every max(peer_timeout, 50). */
static void settle_ms_apart_from_peer_timeout(void **state)
{
    (void)state;
    struct rig *r = with_fake_peer(HA_OPT_SIP_PASS_CHECK);
    r->n[0].cfg.peer_timeout_ms = 60;
    r->n[0].cfg.settle_ms = 1000;
    r->hb_ms = 20;
    r->link = false;
    rig_start(r);
    rig_advance(r, 1000 + 999);
    assert_int_equal(S(r, 0)->role, HA_ROLE_UNKNOWN); /* discovery: settle_ms */
    r->link = true;
    r->next_hb = r->now + 1;
    rig_advance(r, 1000 + 1001);
    assert_int_equal(S(r, 0)->role, HA_ROLE_PRIMARY);
    /* the fake peer never confirms: re-sends every 60 ms, 3 at most */
    rig_in(r, 0, in_dn(0, false));
    size_t m = rig_mark(r);
    rig_advance(r, r->now + T_MS);
    assert_int_equal(S(r, 0)->role, HA_ROLE_BACKUP);
    assert_int_equal(rig_count(r, m, 0, HA_OUT_PEER_SEND), 1);
    uint64_t t = rig_find(r, m, 0, HA_OUT_PEER_SEND, 0)->t;
    rig_advance(r, t + 59);
    assert_int_equal(rig_count(r, m, 0, HA_OUT_PEER_SEND), 1);
    rig_advance(r, t + 60);
    assert_int_equal(rig_count(r, m, 0, HA_OUT_PEER_SEND), 2);
    rig_advance(r, t + 240);
    assert_int_equal(rig_count(r, m, 0, HA_OUT_PEER_SEND), 4);
    /* given up at +240; two backups for settle_ms: elected at +1240 */
    rig_advance(r, t + 1239);
    assert_int_equal(S(r, 0)->role, HA_ROLE_BACKUP);
    rig_advance(r, t + 1240);
    assert_int_equal(S(r, 0)->role, HA_ROLE_PRIMARY);
    /* peer loss: 60 ms without a heartbeat */
    r->link = false;
    uint64_t last = S(r, 0)->peer_last_seen;
    rig_advance(r, last + 59);
    assert_int_equal(S(r, 0)->peer_link, HA_LINK_UP);
    rig_advance(r, last + 60);
    assert_int_equal(S(r, 0)->peer_link, HA_LINK_DOWN);
    rig_free(r);

    /* the operator's command fails after 2 x settle_ms */
    r = with_fake_peer(0);
    r->n[0].cfg.initial_role = HA_ROLE_BACKUP;
    r->n[0].cfg.peer_timeout_ms = 60;
    r->n[0].cfg.settle_ms = 400;
    r->hb_ms = 20;
    r->peer.role = HA_ROLE_PRIMARY;
    r->peer.epoch = 1;
    rig_start(r);
    rig_in(r, 0, in_admin(HA_CMD_SWITCHOVER));
    uint64_t t0 = r->now;
    rig_advance(r, t0 + 799);
    assert_int_equal(S(r, 0)->admin_result, HA_RESULT_IN_PROGRESS);
    rig_advance(r, t0 + 800);
    assert_int_equal(S(r, 0)->admin_result, HA_RESULT_FAILED);
    rig_free(r);

    /* a long peer timeout: the re-send interval is capped at settle_ms */
    r = with_fake_peer(0);
    r->n[0].cfg.peer_timeout_ms = 5000;
    r->n[0].cfg.settle_ms = 300;
    rig_start(r);
    rig_advance(r, r->now + 250);
    m = rig_mark(r);
    rig_in(r, 0, in_admin(HA_CMD_SWITCHOVER));
    t0 = r->now;
    rig_advance(r, t0 + 300);
    assert_int_equal(rig_count(r, m, 0, HA_OUT_PEER_SEND), 2);
    rig_free(r);

    /* the floor: peer_timeout 20 ms re-sends every 50 ms */
    r = with_fake_peer(0);
    r->n[0].cfg.peer_timeout_ms = 20;
    r->hb_ms = 10;
    rig_start(r);
    rig_advance(r, r->now + 10);
    m = rig_mark(r);
    rig_in(r, 0, in_admin(HA_CMD_SWITCHOVER));
    t0 = r->now;
    rig_advance(r, t0 + 49);
    assert_int_equal(rig_count(r, m, 0, HA_OUT_PEER_SEND), 1);
    rig_advance(r, t0 + 50);
    assert_int_equal(rig_count(r, m, 0, HA_OUT_PEER_SEND), 2);
    rig_free(r);
}

static void settle_ms_checked(void **state)
{
    (void)state;
    struct ha_config c = { .index = 1, .initial_role = HA_ROLE_PRIMARY };
    c.settle_ms = HA_MAX_TIMER_MS;
    assert_null(ha_config_check(&c));
    c.settle_ms = HA_MAX_TIMER_MS + 1;
    assert_non_null(ha_config_check(&c));
    c.settle_ms = 0;
    c.peer_timeout_ms = HA_MAX_TIMER_MS + 1;
    assert_non_null(ha_config_check(&c));
}

static struct ha_input takeover_msg(uint32_t epoch, enum ha_reason reason, uint32_t factor)
{
    struct ha_input tk = { .kind = HA_IN_ADMIN };
    tk.u.admin = (struct ha_peer_msg){ .cmd = HA_CMD_PEER_TAKEOVER, .epoch = epoch,
                                       .reason = reason, .factor = factor };
    return tk;
}

/* I1: a primary whose SIP NIC goes down steps down at once even with no fit peer,
 * and takes the role by no path while it is down. */
static void sip_nic_down_primary_steps_down_and_takes_nothing(void **state)
{
    (void)state;
    struct rig *r = with_fake_peer(HA_OPT_SIP_NIC_MONITORING);
    r->n[0].cfg.n_vips = 1;
    r->auto_vip = true;
    r->peer.unavailable = true; /* no fit peer */
    r->peer.status = HA_STATUS_SERVICE_UNAVAILABLE;
    rig_start(r);
    rig_advance(r, r->now + 250);
    assert_int_equal(S(r, 0)->role, HA_ROLE_PRIMARY);
    size_t m = rig_mark(r);
    rig_in(r, 0, in_nic(1, false));
    assert_int_equal(S(r, 0)->role, HA_ROLE_BACKUP);
    assert_int_equal(S(r, 0)->last_reason, HA_REASON_SIP_NIC_FAILURE);
    assert_false(rig_find(r, m, 0, HA_OUT_RUN_SCRIPT, 0)->o.u.script.up);
    const struct rig_event *send = rig_find(r, m, 0, HA_OUT_PEER_SEND, 0);
    assert_non_null(send);
    assert_int_equal(send->o.u.peer.reason, HA_REASON_SIP_NIC_FAILURE);
    /* not by TAKEOVER, election, becomePrimary, nor peer loss */
    struct ha_input tk = takeover_msg(9, HA_REASON_SIP_TRAFFIC_LOST, 1);
    rig_in(r, 0, tk);
    assert_int_equal(S(r, 0)->role, HA_ROLE_BACKUP);
    rig_in(r, 0, in_admin(HA_CMD_BECOME_PRIMARY));
    assert_int_equal(S(r, 0)->admin_result, HA_RESULT_REFUSED);
    rig_advance(r, r->now + 10000); /* two backups all along: no election of us */
    assert_int_equal(S(r, 0)->role, HA_ROLE_BACKUP);
    r->link = false;
    rig_advance(r, r->now + 5000);
    assert_int_equal(S(r, 0)->peer_link, HA_LINK_DOWN);
    assert_int_equal(S(r, 0)->role, HA_ROLE_BACKUP);
    /* NIC back with the peer still lost: a fit backup takes over (I2), once the
     * link had settle_ms to come back with the NIC */
    rig_in(r, 0, in_nic(1, true));
    assert_int_equal(S(r, 0)->role, HA_ROLE_BACKUP);
    rig_advance(r, r->now + 1500);
    assert_int_equal(S(r, 0)->role, HA_ROLE_PRIMARY);
    assert_int_equal(S(r, 0)->last_reason, HA_REASON_PEER_LOST);
    rig_free(r);

    /* a configured primary whose SIP NIC is down before the role is decided */
    r = with_fake_peer(HA_OPT_SIP_NIC_MONITORING);
    r->link = false;
    rig_start(r);
    rig_in(r, 0, in_nic(1, false));
    rig_advance(r, r->now + 5000);
    assert_int_equal(S(r, 0)->role, HA_ROLE_BACKUP);
    rig_free(r);
}

/* VIP-failed and traffic-lost primaries keep the old rule: only to a fit peer; and
 * lost traffic does not go to a peer whose listener failed. */
static void traffic_lost_not_handed_to_listener_failed_peer(void **state)
{
    (void)state;
    struct rig *r = with_fake_peer(HA_OPT_SIP_PASS_CHECK);
    r->peer.listener = HA_LISTENER_FAILED;
    rig_start(r);
    rig_in(r, 0, in_dn(0, false));
    size_t m = rig_mark(r);
    rig_advance(r, 1000 + 10 * T_MS);
    assert_int_equal(S(r, 0)->role, HA_ROLE_PRIMARY);
    assert_int_equal(S(r, 0)->status, HA_STATUS_SERVICE_UNAVAILABLE);
    assert_int_equal(rig_count(r, m, 0, HA_OUT_PEER_SEND), 0);
    /* its listener binds: the next heartbeat hands over */
    r->peer.listener = HA_LISTENER_BOUND;
    rig_advance(r, r->now + 250);
    assert_int_equal(S(r, 0)->role, HA_ROLE_BACKUP);
    assert_int_equal(S(r, 0)->last_reason, HA_REASON_SIP_TRAFFIC_LOST);
    rig_free(r);
}

/* The backup shows the primary's factor; the heartbeat carries ours; a factor that
 * is not 0, 1, 2 or 4 makes the heartbeat malformed. */
static void backup_adopts_the_primarys_backoff_factor(void **state)
{
    (void)state;
    struct rig *r = with_fake_peer(HA_OPT_SIP_PASS_CHECK);
    r->n[0].cfg.initial_role = HA_ROLE_BACKUP;
    r->peer.role = HA_ROLE_PRIMARY;
    r->peer.epoch = 3;
    r->peer.backoff_factor = 4;
    rig_start(r);
    assert_int_equal(S(r, 0)->backoff_factor, 4);
    assert_int_equal(S(r, 0)->oos_eff_s, 60);
    struct ha_peer_state ps;
    ha_peer_summary(E(r, 0), &ps);
    assert_int_equal(ps.backoff_factor, 4);
    assert_false(ps.hears_peer); /* the link's to fill */
    r->peer.backoff_factor = 0; /* an older peer: ignored */
    rig_advance(r, r->now + 250);
    assert_int_equal(S(r, 0)->backoff_factor, 4);
    r->peer.backoff_factor = 2;
    rig_advance(r, r->now + 250);
    assert_int_equal(S(r, 0)->backoff_factor, 2);
    /* traffic the peer saw: 1 here too */
    r->peer.sip_msgs += 5;
    r->peer.backoff_factor = 1;
    rig_advance(r, r->now + 250);
    assert_int_equal(S(r, 0)->backoff_factor, 1);
    uint32_t rejected = S(r, 0)->inputs_rejected;
    struct ha_input bad = { .kind = HA_IN_PEER_STATE };
    bad.u.peer = r->peer;
    bad.u.peer.backoff_factor = 3;
    rig_in(r, 0, bad);
    assert_int_equal(S(r, 0)->inputs_rejected, rejected + 1);
    rig_free(r);
}

/* A double switchover is any A->B->A without traffic, whatever the causes, except
 * deliberate ones (operator, shutdown). */
static void double_switchover_counts_any_cause_but_deliberate_ones(void **state)
{
    (void)state;
    const struct { enum ha_reason out, back; int counted; } cases[] = {
        { HA_REASON_LISTENER_BIND, HA_REASON_SIP_TRAFFIC_LOST, 1 },
        { HA_REASON_SIP_TRAFFIC_LOST, HA_REASON_VIP_FAILURE, 1 },
        { HA_REASON_ADMIN, HA_REASON_LISTENER_BIND, 0 },
        { HA_REASON_LISTENER_BIND, HA_REASON_ADMIN, 0 },
        { HA_REASON_LISTENER_BIND, HA_REASON_SHUTDOWN, 0 },
    };
    for (size_t k = 0; k < 5; k++) {
        struct rig *r = with_fake_peer(0);
        rig_start(r);
        rig_advance(r, r->now + 250);
        if (cases[k].out == HA_REASON_ADMIN)
            rig_in(r, 0, in_admin(HA_CMD_SWITCHOVER));
        else
            rig_in(r, 0, in_flag(HA_IN_LISTENER, false));
        assert_int_equal(S(r, 0)->role, HA_ROLE_BACKUP);
        rig_in(r, 0, in_flag(HA_IN_LISTENER, true));
        struct ha_input tk = takeover_msg(5, cases[k].back, 1);
        rig_in(r, 0, tk);
        assert_int_equal(S(r, 0)->role, HA_ROLE_PRIMARY);
        assert_int_equal(S(r, 0)->double_switchovers, (uint32_t)cases[k].counted);
        assert_int_equal(S(r, 0)->backoff_factor, cases[k].counted ? 2 : 1);
        rig_free(r);
    }
}

/* The SIP server dies after its listener was bound: the alarm is raised again (it
 * was cleared), the handover rule applies; binding again clears nothing. */
static void listener_lost_after_bound_is_a_failure(void **state)
{
    (void)state;
    struct rig *r = with_fake_peer(0);
    rig_start(r);
    rig_in(r, 0, in_flag(HA_IN_LISTENER, true));
    rig_advance(r, r->now + 250);
    size_t m = rig_mark(r);
    rig_in(r, 0, in_flag(HA_IN_LISTENER, false));
    assert_int_equal(rig_notifs(r, m, 0, HA_NOTIF_LISTENER_BIND_FAILURE), 1);
    assert_int_equal(S(r, 0)->role, HA_ROLE_BACKUP);
    rig_in(r, 0, in_flag(HA_IN_LISTENER, true));
    assert_true(S(r, 0)->listener_alarm.active); /* bound again: the alarm stays */
    assert_int_equal(rig_notifs(r, m, 0, HA_NOTIF_ALARM_CLEARED), 0);
    rig_in(r, 0, (struct ha_input){ .kind = HA_IN_ALARM_CLEAR });
    rig_in(r, 0, in_flag(HA_IN_LISTENER, false)); /* dies again: raised again */
    assert_int_equal(rig_notifs(r, m, 0, HA_NOTIF_LISTENER_BIND_FAILURE), 2);
    rig_in(r, 0, in_flag(HA_IN_LISTENER, false)); /* still active: not again */
    assert_int_equal(rig_notifs(r, m, 0, HA_NOTIF_LISTENER_BIND_FAILURE), 2);
    rig_free(r);
}

/* NIC notifications carry the NIC's row, for either purpose. */
static void nic_notifications_carry_their_row(void **state)
{
    (void)state;
    struct rig *r = lone(HA_OPT_SIP_NIC_MONITORING | HA_OPT_TLIB_NIC_MONITORING);
    rig_start(r);
    size_t m = rig_mark(r);
    rig_in(r, 0, in_nic(1, false));
    rig_in(r, 0, in_nic(0, false));
    rig_in(r, 0, in_nic(0, true));
    rig_in(r, 0, in_nic(1, true));
    const uint32_t rows[] = { 2, 1, 1, 2 };
    const enum ha_notif ids[] = { HA_NOTIF_NIC_FAILURE, HA_NOTIF_NIC_FAILURE, HA_NOTIF_NIC_RECOVERY,
                                  HA_NOTIF_NIC_RECOVERY };
    int k = 0;
    for (size_t i = m; i < r->nlog; i++) {
        const struct ha_output *o = &r->log[i].o;
        if (o->kind != HA_OUT_NOTIFY || (o->u.notify.id != HA_NOTIF_NIC_FAILURE &&
                                         o->u.notify.id != HA_NOTIF_NIC_RECOVERY))
            continue;
        assert_true(k < 4);
        assert_int_equal(o->u.notify.id, ids[k]);
        assert_int_equal(o->u.notify.row, rows[k]);
        k++;
    }
    assert_int_equal(k, 4);
    rig_free(r);
}

/* One-way link: the peer, primary in a newer term, has not heard us for a whole peer
 * timeout — we step down; and even in an older term, since it could never yield to
 * us, but only after three peer timeouts: a peer that hears us late (a link healing
 * one way first) yields by the epoch rule meanwhile. (Its first heartbeats after a
 * link heals say "not hearing" too: those alone decide nothing, see
 * split_after_heal_is_decided_by_epoch.) */
static void primary_yields_to_a_primary_that_cannot_hear_it(void **state)
{
    (void)state;
    for (uint32_t epoch = 0; epoch <= 2; epoch += 2) { /* ours is 1 */
        struct rig *r = with_fake_peer(0);
        rig_start(r);
        r->peer.hears_peer = false;
        r->peer.role = HA_ROLE_PRIMARY;
        r->peer.epoch = epoch;
        rig_advance(r, r->now + 2000); /* deaf for a whole peer timeout (1500 ms) */
        assert_int_equal(S(r, 0)->role, epoch > 1 ? HA_ROLE_BACKUP : HA_ROLE_PRIMARY);
        rig_advance(r, r->now + 3000); /* and for three */
        assert_int_equal(S(r, 0)->role, HA_ROLE_BACKUP);
        assert_int_equal(S(r, 0)->last_reason, HA_REASON_SPLIT_BRAIN);
        rig_free(r);
    }
    /* unless that peer, cut from us and the arbiter, is the one to stand back */
    struct rig *r = with_fake_peer(HA_OPT_CONTROL_VIP_SCRIPTS);
    r->n[0].cfg.has_arbiter = true;
    r->n[0].cfg.priority = 150;
    rig_start(r);
    r->peer.hears_peer = false;
    r->peer.role = HA_ROLE_PRIMARY;
    r->peer.epoch = 2;
    r->peer.arbiter = HA_LINK_DOWN;
    r->peer.options = HA_OPT_CONTROL_VIP_SCRIPTS;
    rig_advance(r, r->now + 2000); /* deaf for a whole peer timeout */
    assert_int_equal(S(r, 0)->role, HA_ROLE_PRIMARY);
    rig_free(r);
}

/* A link that heals: each side's first heartbeats say "not hearing you yet". The
 * split brain is then decided by epoch as usual, not by the one-way rule (which
 * would make both step down and leave nobody primary until the election). */
static void split_after_heal_is_decided_by_epoch(void **state)
{
    (void)state;
    struct rig *r = with_fake_peer(0);
    rig_start(r);
    r->peer.role = HA_ROLE_PRIMARY;
    r->peer.epoch = 0; /* older than ours (1) */
    r->peer.hears_peer = false;
    rig_advance(r, r->now + 40); /* under the 1500 ms peer timeout */
    assert_int_equal(S(r, 0)->role, HA_ROLE_PRIMARY);
    r->peer.hears_peer = true;
    rig_advance(r, r->now + 2000);
    assert_int_equal(S(r, 0)->role, HA_ROLE_PRIMARY);
    rig_free(r);
}

/* ---- graceful stop ------------------------------------------------------------------ */

static struct ha_input in_shutdown(void)
{
    return (struct ha_input){ .kind = HA_IN_SHUTDOWN };
}

static void shutdown_primary_releases_then_sends_takeover(void **state)
{
    (void)state;
    struct rig *r = with_fake_peer(HA_OPT_IPTAKEOVER_MONITORING);
    r->n[0].cfg.n_vips = 2;
    rig_start(r);
    rig_advance(r, r->now + 250);
    assert_false(ha_shutdown_done(E(r, 0)));
    size_t m = rig_mark(r);
    rig_in(r, 0, in_shutdown());
    assert_int_equal(S(r, 0)->role, HA_ROLE_BACKUP);
    const struct rig_event *role = rig_find(r, m, 0, HA_OUT_ROLE, 0);
    assert_int_equal(role->o.u.role.reason, HA_REASON_SHUTDOWN);
    assert_int_equal(S(r, 0)->status, HA_STATUS_STOPPED);
    const struct rig_event *st = rig_find(r, m, 0, HA_OUT_STATUS, 0);
    assert_non_null(st);
    assert_int_equal(st->o.u.status, HA_STATUS_STOPPED);
    assert_int_equal(rig_count(r, m, 0, HA_OUT_STATUS), 1);
    assert_int_equal(rig_count(r, m, 0, HA_OUT_RUN_SCRIPT), 2);
    assert_int_equal(rig_count(r, m, 0, HA_OUT_PEER_SEND), 0);
    assert_false(ha_shutdown_done(E(r, 0)));
    struct ha_peer_state ps;
    ha_peer_summary(E(r, 0), &ps);
    assert_int_equal(ps.status, HA_STATUS_STOPPED);
    assert_true(ps.unavailable);
    /* everything but SCRIPT_DONE and TICK is ignored, and not refused */
    size_t m2 = rig_mark(r);
    rig_in(r, 0, in_nic(1, false));
    rig_in(r, 0, in_flag(HA_IN_LISTENER, false));
    rig_in(r, 0, in_admin(HA_CMD_BECOME_PRIMARY));
    rig_in(r, 0, takeover_msg(9, HA_REASON_ADMIN, 1));
    rig_in(r, 0, in_shutdown());
    assert_int_equal(r->nlog, m2);
    assert_int_equal(S(r, 0)->inputs_rejected, 0);
    assert_int_equal(S(r, 0)->role, HA_ROLE_BACKUP);
    rig_in(r, 0, in_done(0, 2, 0));
    assert_int_equal(rig_count(r, m, 0, HA_OUT_PEER_SEND), 0); /* one still runs */
    rig_in(r, 0, in_done(1, 2, 0));
    const struct rig_event *send = rig_find(r, m, 0, HA_OUT_PEER_SEND, 0);
    assert_non_null(send);
    assert_int_equal(send->o.u.peer.cmd, HA_CMD_PEER_TAKEOVER);
    assert_int_equal(send->o.u.peer.reason, HA_REASON_SHUTDOWN);
    assert_true(ha_shutdown_done(E(r, 0)));
    /* nothing more: no re-sends, no timers, never a role */
    assert_int_equal(ha_next_deadline(E(r, 0)), UINT64_MAX);
    r->link = false;
    m = rig_mark(r);
    rig_advance(r, r->now + 60000);
    assert_int_equal(rig_count(r, m, 0, HA_OUT_PEER_SEND), 0);
    assert_int_equal(rig_count(r, m, 0, HA_OUT_ROLE), 0);
    rig_free(r);
}

static void shutdown_backup_and_peerless_primary(void **state)
{
    (void)state;
    /* a backup just stops */
    struct rig *r = with_fake_peer(0);
    r->n[0].cfg.initial_role = HA_ROLE_BACKUP;
    r->peer.role = HA_ROLE_PRIMARY;
    rig_start(r);
    size_t m = rig_mark(r);
    rig_in(r, 0, in_shutdown());
    assert_int_equal(rig_count(r, m, 0, HA_OUT_ROLE), 0);
    assert_int_equal(rig_count(r, m, 0, HA_OUT_PEER_SEND), 0);
    assert_int_equal(S(r, 0)->status, HA_STATUS_STOPPED);
    assert_true(ha_shutdown_done(E(r, 0)));
    r->link = false;
    rig_advance(r, r->now + 10000); /* peer gone: still no role */
    assert_int_equal(S(r, 0)->role, HA_ROLE_BACKUP);
    rig_free(r);

    /* a peerless primary runs its down scripts; a hung one is waited for at most
     * release_wait_ms */
    r = lone(0);
    r->n[0].cfg.n_vips = 1;
    rig_start(r);
    m = rig_mark(r);
    rig_in(r, 0, in_shutdown());
    assert_int_equal(S(r, 0)->role, HA_ROLE_BACKUP);
    assert_int_equal(rig_count(r, m, 0, HA_OUT_RUN_SCRIPT), 1);
    assert_int_equal(rig_count(r, m, 0, HA_OUT_PEER_SEND), 0);
    uint64_t t = r->now;
    assert_false(ha_shutdown_done(E(r, 0)));
    rig_advance(r, t + HA_DEFAULT_RELEASE_WAIT_MS - 1);
    assert_false(ha_shutdown_done(E(r, 0)));
    rig_advance(r, t + HA_DEFAULT_RELEASE_WAIT_MS);
    assert_true(ha_shutdown_done(E(r, 0)));
    rig_free(r);

    /* during discovery: no role, done at once */
    r = with_fake_peer(0);
    r->link = false;
    rig_start(r);
    rig_in(r, 0, in_shutdown());
    assert_true(ha_shutdown_done(E(r, 0)));
    rig_advance(r, r->now + 10000);
    assert_int_equal(S(r, 0)->role, HA_ROLE_UNKNOWN);
    assert_false(ha_shutdown_done(NULL));
    rig_free(r);
}

static void takeover_from_a_resigning_peer_is_taken_at_once(void **state)
{
    (void)state;
    struct rig *r = with_fake_peer(0);
    r->n[0].cfg.initial_role = HA_ROLE_BACKUP;
    r->peer.role = HA_ROLE_PRIMARY;
    r->peer.epoch = 1;
    rig_start(r);
    rig_in(r, 0, takeover_msg(2, HA_REASON_SHUTDOWN, 1));
    assert_int_equal(S(r, 0)->role, HA_ROLE_PRIMARY);
    assert_int_equal(S(r, 0)->last_reason, HA_REASON_SHUTDOWN);
    assert_int_equal(S(r, 0)->epoch, 2);
    rig_free(r);
}

/* ---- malformed input and config ----------------------------------------------------- */

static void bad_input_changes_nothing(void **state)
{
    (void)state;
    struct rig *r = with_fake_peer(HA_OPT_ALL);
    rig_start(r);
    struct ha_engine *before = malloc(sizeof(*before));
    assert_non_null(before);
    struct ha_input bad[20];
    size_t n = 0;
    bad[n++] = in_nic(2, false);
    bad[n++] = in_vip(0, true);
    bad[n++] = in_sip(0);
    bad[n++] = in_dn(1, false);
    bad[n++] = in_flag(HA_IN_ARBITER, false); /* no arbiter configured */
    bad[n] = (struct ha_input){ .kind = HA_IN_PEER_STATE };
    bad[n].u.peer = r->peer;
    bad[n++].u.peer.index = 1; /* our own index */
    bad[n] = (struct ha_input){ .kind = HA_IN_PEER_STATE };
    bad[n].u.peer = r->peer;
    bad[n++].u.peer.role = (enum ha_role)7;
    bad[n] = (struct ha_input){ .kind = HA_IN_PEER_STATE };
    bad[n].u.peer = r->peer;
    bad[n++].u.peer.options = 1u << 9;
    bad[n++] = in_admin((enum ha_admin_cmd)99);
    bad[n] = in_admin(HA_CMD_PEER_TAKEOVER);
    bad[n++].u.admin.factor = 0;
    bad[n] = (struct ha_input){ .kind = HA_IN_SCRIPT_DONE };
    bad[n++].u.script.idx = 0;
    bad[n++] = in_options(1u << 7);
    bad[n] = (struct ha_input){ .kind = HA_IN_ALARM_CLEAR };
    bad[n++].u.alarm = (enum ha_notif)99;
    bad[n++] = (struct ha_input){ .kind = (enum ha_in_kind)0 };
    bad[n++] = (struct ha_input){ .kind = (enum ha_in_kind)99 };
    struct ha_output out[HA_MAX_OUTPUTS];
    for (size_t k = 0; k < n; k++) {
        memcpy(before, E(r, 0), sizeof(*before));
        assert_int_equal(ha_step(E(r, 0), r->now + 500, &bad[k], out, HA_MAX_OUTPUTS), 0);
        before->st.inputs_rejected++;
        assert_memory_equal(before, E(r, 0), sizeof(*before));
    }
    /* a good input with a short array or none */
    struct ha_input ok = in_sip(1);
    memcpy(before, E(r, 0), sizeof(*before));
    assert_int_equal(ha_step(E(r, 0), r->now, &ok, out, HA_MAX_OUTPUTS - 1), 0);
    assert_int_equal(ha_step(E(r, 0), r->now, &ok, NULL, HA_MAX_OUTPUTS), 0);
    before->st.inputs_rejected += 2;
    assert_memory_equal(before, E(r, 0), sizeof(*before));
    assert_int_equal(ha_step(NULL, 0, &ok, out, HA_MAX_OUTPUTS), 0);
    /* a peer message on a peerless engine */
    struct rig *l = lone(0);
    rig_start(l);
    assert_int_equal(ha_step(E(l, 0), l->now, &(struct ha_input){ .kind = HA_IN_PEER_LOST },
                             out, HA_MAX_OUTPUTS), 0);
    assert_int_equal(S(l, 0)->inputs_rejected, 1);
    rig_free(l);
    free(before);
    rig_free(r);
}

static void bad_config_is_refused(void **state)
{
    (void)state;
    struct ha_dn_cfg dn = { 10, 3 };
    enum ha_nic_purpose bad_nic = (enum ha_nic_purpose)9;
    const struct ha_config good = { .index = 1, .initial_role = HA_ROLE_PRIMARY,
                                    .dns = &dn, .n_dns = 1 };
    assert_null(ha_config_check(&good));
    struct ha_config c[12];
    size_t n = 0;
    c[n] = good; c[n++].index = 0;
    c[n] = good; c[n++].index = 256;
    c[n] = good; c[n++].initial_role = HA_ROLE_UNKNOWN;
    c[n] = good; c[n++].n_dns = HA_MAX_DNS + 1;
    c[n] = good; c[n++].dns = NULL;
    c[n] = good; c[n].nics = &bad_nic; c[n++].n_nics = 1;
    c[n] = good; c[n++].n_vips = HA_MAX_VIPS + 1;
    c[n] = good; c[n++].options = 1u << 8;
    c[n] = good; c[n++].has_arbiter = true; /* without a peer */
    c[n] = good; c[n++].peer_timeout_ms = 600001;
    struct ha_dn_cfg big = { HA_MAX_OOS_SECONDS + 1, 5 };
    c[n] = good; c[n++].dns = &big;
    struct ha_engine *e = malloc(sizeof(*e));
    struct ha_engine *copy = malloc(sizeof(*copy));
    assert_non_null(e);
    assert_non_null(copy);
    memset(e, 0xab, sizeof(*e));
    memcpy(copy, e, sizeof(*e));
    for (size_t k = 0; k < n; k++) {
        assert_non_null(ha_config_check(&c[k]));
        assert_int_equal(ha_init(e, &c[k], 5), -1);
        assert_memory_equal(e, copy, sizeof(*e));
    }
    assert_non_null(ha_config_check(NULL));
    assert_int_equal(ha_init(e, NULL, 0), -1);
    assert_int_equal(ha_init(NULL, &good, 0), -1);
    free(e);
    free(copy);
}

static void clock_going_back_counts_as_now(void **state)
{
    (void)state;
    struct rig *r = lone(HA_OPT_SIP_PASS_CHECK);
    rig_start(r);
    rig_in(r, 0, in_dn(0, false));
    struct ha_output out[HA_MAX_OUTPUTS];
    struct ha_input tick = { .kind = HA_IN_TICK };
    assert_int_equal(ha_step(E(r, 0), 1000 + T_MS, &tick, out, HA_MAX_OUTPUTS) > 0, true);
    assert_int_equal(S(r, 0)->status, HA_STATUS_SERVICE_UNAVAILABLE);
    assert_int_equal(ha_step(E(r, 0), 5, &tick, out, HA_MAX_OUTPUTS), 0);
    assert_int_equal(S(r, 0)->status, HA_STATUS_SERVICE_UNAVAILABLE);
    rig_free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(timeout_is_max_of_check_plus_force_at_least_5),
        cmocka_unit_test(traffic_lost_exactly_at_T),
        cmocka_unit_test(traffic_one_ms_before_T_restarts_the_period),
        cmocka_unit_test(oos_force_below_5_counts_as_5),
        cmocka_unit_test(partial_outage_never_fires),
        cmocka_unit_test(no_service_dn_never_fires),
        cmocka_unit_test(pass_check_off_then_on_counts_from_now),
        cmocka_unit_test(traffic_lost_hands_over_in_order),
        cmocka_unit_test(takeover_waits_for_vip_down_scripts),
        cmocka_unit_test(unconfirmed_takeover_is_resent_then_backups_elect),
        cmocka_unit_test(unavailable_primary_stays_until_peer_is_fit),
        cmocka_unit_test(vip_retries_then_fails_then_succeeds),
        cmocka_unit_test(vip_present_on_backup_runs_down_script),
        cmocka_unit_test(vip_monitoring_off_only_role_scripts),
        cmocka_unit_test(stale_script_end_starts_no_recheck),
        cmocka_unit_test(sip_nic_down_and_up),
        cmocka_unit_test(sip_nic_option_off_does_nothing),
        cmocka_unit_test(mgmt_nic_down_switches_to_backup),
        cmocka_unit_test(mgmt_nic_option_off_does_nothing),
        cmocka_unit_test(listener_failure_hands_over_and_alarm_autoclears),
        cmocka_unit_test(listener_alarm_cleared_by_operator),
        cmocka_unit_test(listener_both_failed_waits_T_listener),
        cmocka_unit_test(takeover_does_not_bounce_on_a_stale_peer_view),
        cmocka_unit_test(arbiter_lost_lower_priority_yields),
        cmocka_unit_test(split_brain_epoch_then_priority_then_index),
        cmocka_unit_test(quorum_with_arbiter),
        cmocka_unit_test(peer_loss_without_arbiter),
        cmocka_unit_test(stale_takeover_on_backup_is_ignored),
        cmocka_unit_test(peer_lost_input_is_immediate),
        cmocka_unit_test(backup_alone_follows_the_seed_quorum_rule),
        cmocka_unit_test(startup_primary_defers_to_running_primary),
        cmocka_unit_test(startup_backup_alone_takes_over_after_timeout),
        cmocka_unit_test(admin_on_lone_engine),
        cmocka_unit_test(admin_switchover_on_primary_waits_for_peer),
        cmocka_unit_test(admin_refused_when_peer_unfit),
        cmocka_unit_test(admin_on_backup_sends_release),
        cmocka_unit_test(bad_input_changes_nothing),
        cmocka_unit_test(bad_config_is_refused),
        cmocka_unit_test(clock_going_back_counts_as_now),
        cmocka_unit_test(settle_ms_apart_from_peer_timeout),
        cmocka_unit_test(peer_loss_reported_by_the_adapter_only),
        cmocka_unit_test(settle_ms_checked),
        cmocka_unit_test(sip_nic_down_primary_steps_down_and_takes_nothing),
        cmocka_unit_test(traffic_lost_not_handed_to_listener_failed_peer),
        cmocka_unit_test(backup_adopts_the_primarys_backoff_factor),
        cmocka_unit_test(double_switchover_counts_any_cause_but_deliberate_ones),
        cmocka_unit_test(listener_lost_after_bound_is_a_failure),
        cmocka_unit_test(nic_notifications_carry_their_row),
        cmocka_unit_test(primary_yields_to_a_primary_that_cannot_hear_it),
        cmocka_unit_test(split_after_heal_is_decided_by_epoch),
        cmocka_unit_test(shutdown_primary_releases_then_sends_takeover),
        cmocka_unit_test(shutdown_backup_and_peerless_primary),
        cmocka_unit_test(takeover_from_a_resigning_peer_is_taken_at_once),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
