/* ha_engine.c — the engine's API: config check, init, one step (timers, the input,
 * then every rule in a fixed order), the next deadline and the peer summary. */
#include <string.h>

#include "ha_engine_int.h"

/* A role change can make another rule apply (e.g. a handover makes the status
 * running again): the rules run again, at most this many times per step. */
#define HA_MAX_PASSES 3

static const char *check_lists(const struct ha_config *c)
{
    if (c->n_dns > HA_MAX_DNS)
        return "too many service DNs (HA_MAX_DNS)";
    if (c->n_dns && !c->dns)
        return "service DN list missing";
    for (size_t i = 0; i < c->n_dns; i++)
        if (c->dns[i].oos_check > HA_MAX_OOS_SECONDS || c->dns[i].oos_force > HA_MAX_OOS_SECONDS)
            return "oos-check/oos-force above 86400 s";
    if (c->n_nics > HA_MAX_NICS)
        return "too many NICs (HA_MAX_NICS)";
    if (c->n_nics && !c->nics)
        return "NIC list missing";
    for (size_t i = 0; i < c->n_nics; i++)
        if (c->nics[i] != HA_NIC_MANAGEMENT && c->nics[i] != HA_NIC_SIP)
            return "NIC purpose must be management or sip";
    if (c->n_vips > HA_MAX_VIPS)
        return "too many VIPs (HA_MAX_VIPS)";
    return NULL;
}

const char *ha_config_check(const struct ha_config *c)
{
    if (!c)
        return "no config";
    if (c->index < 1 || c->index > 255)
        return "index must be 1..255";
    if (c->initial_role != HA_ROLE_PRIMARY && c->initial_role != HA_ROLE_BACKUP)
        return "initial role must be primary or backup";
    if (c->options & ~(unsigned)HA_OPT_ALL)
        return "unknown option bits";
    if (c->peer_timeout_ms > HA_MAX_TIMER_MS)
        return "peer timeout above 600000 ms";
    if (c->settle_ms > HA_MAX_TIMER_MS)
        return "settle time above 600000 ms";
    if (c->vip_retry_max > 1000u)
        return "vip retry max above 1000";
    if (c->has_arbiter && !c->has_peer)
        return "an arbiter needs a peer";
    if (c->has_lock && !c->has_arbiter)
        return "a lock is an arbiter: has_lock needs has_arbiter";
    return check_lists(c);
}

static uint32_t or_default(uint32_t v, uint32_t def)
{
    return v ? v : def;
}

int ha_init(struct ha_engine *e, const struct ha_config *cfg, uint64_t now_ms)
{
    if (!e || ha_config_check(cfg))
        return -1;
    memset(e, 0, sizeof(*e));
    struct ha_priv *p = &e->p;
    struct ha_state *s = &e->st;
    p->now = p->init_ms = now_ms;
    p->priority = cfg->priority;
    p->index = cfg->index;
    p->initial_role = cfg->initial_role;
    p->has_peer = cfg->has_peer;
    p->has_arbiter = cfg->has_arbiter;
    p->has_lock = cfg->has_lock;
    p->peer_timeout_ms = or_default(cfg->peer_timeout_ms, HA_DEFAULT_PEER_TIMEOUT_MS);
    p->peer_loss_reported = cfg->peer_loss_reported;
    p->settle_ms = or_default(cfg->settle_ms, HA_DEFAULT_SETTLE_MS);
    p->vip_retry_max = or_default(cfg->vip_retry_max, HA_DEFAULT_VIP_RETRY_MAX);
    p->vip_recheck_ms = or_default(cfg->vip_recheck_ms, HA_DEFAULT_VIP_RECHECK_MS);
    p->listener_ms = or_default(cfg->listener_handover_ms, HA_DEFAULT_LISTENER_HANDOVER_MS);
    p->release_wait_ms = or_default(cfg->release_wait_ms, HA_DEFAULT_RELEASE_WAIT_MS);
    p->autoclear_ms = cfg->alarm_autoclear_ms;
    p->discovering = cfg->has_peer;
    s->role = HA_ROLE_UNKNOWN;
    s->status = HA_STATUS_INITIALIZING;
    s->epoch = cfg->initial_epoch;
    s->options = cfg->options;
    s->listener = HA_LISTENER_UNKNOWN;
    s->last_reason = HA_REASON_NONE;
    s->peer_link = cfg->has_peer ? HA_LINK_DOWN : HA_LINK_NOT_CONFIGURED;
    s->peer.role = HA_ROLE_UNKNOWN;
    s->peer.status = HA_STATUS_UNKNOWN;
    s->arbiter = cfg->has_arbiter ? HA_LINK_DOWN : HA_LINK_NOT_CONFIGURED;
    s->lock = cfg->has_lock ? HA_LOCK_FREE : HA_LOCK_NOT_CONFIGURED;
    s->admin_result = HA_RESULT_NONE;
    s->n_nics = cfg->n_nics;
    for (size_t i = 0; i < cfg->n_nics; i++) {
        s->nics[i].purpose = cfg->nics[i];
        s->nics[i].oper = HA_OPER_UNKNOWN;
    }
    s->n_vips = cfg->n_vips;
    for (size_t i = 0; i < cfg->n_vips; i++) {
        s->vips[i].expected = HA_VIP_EXPECT_ABSENT;
        s->vips[i].actual = HA_VIP_UNKNOWN;
        s->vips[i].last_exit = -1;
    }
    ha_traffic_init(e, cfg);
    ha_traffic_refresh(e);
    ha_vip_refresh(e);
    return 0;
}

static bool valid_peer_state(const struct ha_engine *e, const struct ha_peer_state *ps)
{
    return e->p.has_peer && ps->role >= HA_ROLE_UNKNOWN && ps->role <= HA_ROLE_BACKUP &&
           ps->status >= HA_STATUS_UNKNOWN && ps->status <= HA_STATUS_SERVICE_UNAVAILABLE &&
           ps->index >= 1 && ps->index <= 255 && ps->index != e->p.index &&
           ps->listener >= HA_LISTENER_UNKNOWN && ps->listener <= HA_LISTENER_FAILED &&
           ps->arbiter >= HA_LINK_NOT_CONFIGURED && ps->arbiter <= HA_LINK_DOWN &&
           !(ps->options & ~(unsigned)HA_OPT_ALL) &&
           (ps->backoff_factor == 0 || ps->backoff_factor == 1 || ps->backoff_factor == 2 ||
            ps->backoff_factor == HA_BACKOFF_MAX);
}

static bool valid_admin(const struct ha_engine *e, const struct ha_peer_msg *m)
{
    switch (m->cmd) {
    case HA_CMD_NONE:
    case HA_CMD_SWITCHOVER:
    case HA_CMD_BECOME_PRIMARY:
    case HA_CMD_BECOME_BACKUP:
        return true;
    case HA_CMD_PEER_TAKEOVER:
        return e->p.has_peer && m->factor >= 1 && m->factor <= HA_BACKOFF_MAX;
    case HA_CMD_PEER_RELEASE:
        return e->p.has_peer;
    }
    return false;
}

static bool valid_input(const struct ha_engine *e, const struct ha_input *in)
{
    const struct ha_state *s = &e->st;
    switch (in->kind) {
    case HA_IN_TICK:
    case HA_IN_LISTENER:
    case HA_IN_SHUTDOWN:
        return true;
    case HA_IN_NIC_STATE: return in->u.nic.idx < s->n_nics;
    case HA_IN_VIP_STATE: return in->u.vip.idx < s->n_vips;
    case HA_IN_SIP_MESSAGE: return in->u.sip.count > 0;
    case HA_IN_DN_STATE: return in->u.dn.idx < s->n_dns;
    case HA_IN_ARBITER: return e->p.has_arbiter;
    case HA_IN_PEER_STATE: return valid_peer_state(e, &in->u.peer);
    case HA_IN_PEER_LOST: return e->p.has_peer;
    case HA_IN_ADMIN: return valid_admin(e, &in->u.admin);
    case HA_IN_SCRIPT_DONE: return in->u.script.idx < s->n_vips;
    case HA_IN_SET_OPTIONS: return !(in->u.options & ~(unsigned)HA_OPT_ALL);
    case HA_IN_ALARM_CLEAR: return (unsigned)in->u.alarm <= HA_NOTIF_COUNT;
    case HA_IN_LOCK:
        return e->p.has_lock && in->u.lock >= HA_LOCK_EV_HELD && in->u.lock <= HA_LOCK_EV_RELEASED;
    }
    return false;
}

static void set_options(struct ha_engine *e, unsigned opts)
{
    unsigned old = e->st.options;
    e->st.options = opts;
    if ((old ^ opts) & HA_OPT_CONTROL_VIP_SCRIPTS) /* split brains are decided by it */
        ha_peer_hold_split(e);
    ha_traffic_options(e, old);
    ha_vip_options(e, old);
    ha_nic_options(e, old);
}

static void alarm_clear_in(struct ha_engine *e, enum ha_notif id)
{
    if (id == 0 || id == HA_NOTIF_LISTENER_BIND_FAILURE)
        ha_alarm_clear(e, &e->st.listener_alarm, HA_NOTIF_LISTENER_BIND_FAILURE);
    if (id == 0 || id == HA_NOTIF_SPLIT_BRAIN_DETECTED)
        ha_alarm_clear(e, &e->st.split_brain_alarm, HA_NOTIF_SPLIT_BRAIN_DETECTED);
}

static void admin_in(struct ha_engine *e, const struct ha_peer_msg *m)
{
    if (m->cmd == HA_CMD_PEER_TAKEOVER)
        ha_handover_takeover_in(e, m);
    else if (m->cmd == HA_CMD_PEER_RELEASE)
        ha_handover_release_in(e);
    else
        ha_admin_in(e, m->cmd);
}

static void apply_input(struct ha_engine *e, const struct ha_input *in)
{
    /* A stopping instance only waits for its down scripts: nothing else it hears
     * can change what it does (it will never lead again). */
    if (e->p.stopping && in->kind != HA_IN_SCRIPT_DONE && in->kind != HA_IN_TICK &&
        in->kind != HA_IN_LOCK) /* ... and the lock's release */
        return;
    switch (in->kind) {
    case HA_IN_TICK: break;
    case HA_IN_NIC_STATE: ha_nic_state_in(e, in->u.nic.idx, in->u.nic.up); break;
    case HA_IN_VIP_STATE: ha_vip_state_in(e, in->u.vip.idx, in->u.vip.present); break;
    case HA_IN_SIP_MESSAGE: ha_traffic_sip(e, in->u.sip.count); break;
    case HA_IN_DN_STATE: ha_traffic_dn(e, in->u.dn.idx, in->u.dn.in_service); break;
    case HA_IN_LISTENER: ha_listener_in(e, in->u.flag); break;
    case HA_IN_ARBITER: ha_arbiter_in(e, in->u.flag); break;
    case HA_IN_PEER_STATE: ha_peer_state_in(e, &in->u.peer); break;
    case HA_IN_PEER_LOST: ha_peer_lost_in(e); break;
    case HA_IN_ADMIN: admin_in(e, &in->u.admin); break;
    case HA_IN_SCRIPT_DONE:
        ha_vip_script_done(e, in->u.script.idx, in->u.script.seq, in->u.script.exit_status);
        break;
    case HA_IN_SET_OPTIONS: set_options(e, in->u.options); break;
    case HA_IN_ALARM_CLEAR: alarm_clear_in(e, in->u.alarm); break;
    case HA_IN_SHUTDOWN: ha_shutdown_in(e); break;
    case HA_IN_LOCK: ha_lock_in(e, in->u.lock); break;
    }
}

/* The rules, in an order where causes come before their consequences: link and
 * timers, then what sets causes (VIP, traffic), then who gives the role up
 * (quorum, NIC, split brain, unavailable, listener), then who takes it. */
static void apply_rules(struct ha_engine *e)
{
    if (e->p.stopping) {
        ha_shutdown_eval(e);
        return;
    }
    for (int pass = 0; pass < HA_MAX_PASSES; pass++) {
        e->p.role_changed = false;
        ha_peer_eval_link(e);
        ha_peer_eval_start(e);
        ha_alarm_eval(e);
        ha_vip_eval(e);
        ha_traffic_eval(e);
        ha_update_status(e);
        ha_peer_eval_quorum(e);
        ha_nic_eval(e);
        ha_peer_eval_split(e);
        ha_handover_eval(e);
        ha_listener_eval(e);
        ha_peer_eval_takeover(e);
        ha_handover_eval_noprimary(e);
        ha_admin_eval(e);
        ha_lock_eval(e);
        if (!e->p.role_changed)
            break;
    }
}

size_t ha_step(struct ha_engine *e, uint64_t now_ms, const struct ha_input *in,
               struct ha_output *out, size_t max_out)
{
    static const struct ha_input tick = { .kind = HA_IN_TICK };
    if (!e)
        return 0;
    if (!in)
        in = &tick;
    if (!out || max_out < HA_MAX_OUTPUTS || !valid_input(e, in)) {
        e->st.inputs_rejected++;
        return 0;
    }
    e->p.now = ha_max_u64(e->p.now, now_ms);
    e->p.out = out;
    e->p.n_out = 0;
    e->p.max_out = max_out;
    apply_rules(e); /* timers due before the input arrived fire first */
    apply_input(e, in);
    apply_rules(e);
    ha_traffic_refresh(e);
    ha_vip_refresh(e);
    e->p.out = NULL;
    return e->p.n_out;
}

/* A rule still due after a step is one whose role change waits for the arbiter's lock
 * (start, takeover, election): the lock's answer or retry wakes it, not a timer. */
static uint64_t earliest(const struct ha_engine *e, uint64_t d, uint64_t x)
{
    if (x <= e->p.now && e->p.lock_want)
        return d;
    return ha_min_u64(d, x);
}

uint64_t ha_next_deadline(const struct ha_engine *e)
{
    if (e->p.stopping)
        return ha_shutdown_deadline(e); /* no other rule runs any more */
    uint64_t d = earliest(e, HA_NEVER, ha_peer_deadline(e));
    d = earliest(e, d, ha_alarm_deadline(e));
    d = earliest(e, d, ha_vip_deadline(e));
    d = earliest(e, d, ha_traffic_deadline(e));
    d = earliest(e, d, ha_listener_deadline(e));
    d = earliest(e, d, ha_handover_deadline(e));
    d = earliest(e, d, ha_admin_deadline(e));
    d = earliest(e, d, ha_lock_deadline(e));
    return d;
}

const struct ha_state *ha_state(const struct ha_engine *e)
{
    return &e->st;
}

void ha_peer_summary(const struct ha_engine *e, struct ha_peer_state *ps)
{
    memset(ps, 0, sizeof(*ps));
    ps->role = e->st.role;
    ps->status = e->st.status;
    ps->epoch = e->st.epoch;
    ps->priority = e->p.priority;
    ps->index = e->p.index;
    ps->sip_msgs = e->st.sip_msgs;
    ps->listener = e->st.listener;
    ps->unavailable = ha_self_unavailable(e);
    ps->options = e->st.options;
    ps->arbiter = e->st.arbiter;
    if (e->p.has_lock && e->st.role == HA_ROLE_PRIMARY && e->st.lock != HA_LOCK_HELD)
        ps->arbiter = HA_LINK_DOWN; /* leading without the lock: a peer that loses us
                                       waits before it takes it (ha_lock.c) */
    ps->backoff_factor = e->st.backoff_factor;
}
