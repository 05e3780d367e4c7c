/* ha_core.c — what every rule shares: writing outputs, changing the role (with its
 * notifications and VIP scripts), the status derived from the set of causes, the
 * eligibility tests and the two alarms the engine tracks. */
#include "ha_engine_int.h"

void ha_emit(struct ha_engine *e, const struct ha_output *o)
{
    if (e->p.out == NULL || e->p.n_out >= e->p.max_out) {
        /* Only reachable if HA_MAX_OUTPUTS is wrong: count it, never overrun. */
        e->st.outputs_dropped++;
        return;
    }
    e->p.out[e->p.n_out++] = *o;
}

void ha_notify(struct ha_engine *e, enum ha_notif id, uint32_t row)
{
    struct ha_output o = { .kind = HA_OUT_NOTIFY };
    o.u.notify.id = id;
    o.u.notify.row = row;
    ha_emit(e, &o);
}

void ha_emit_admin_result(struct ha_engine *e, enum ha_admin_result r)
{
    struct ha_output o = { .kind = HA_OUT_ADMIN_RESULT };
    o.u.admin = r;
    e->st.admin_result = r;
    ha_emit(e, &o);
}

bool ha_opt(const struct ha_engine *e, unsigned opt)
{
    return (e->st.options & opt) != 0;
}

/* Status follows the role and the causes: initializing until the role is known,
 * then serviceUnavailable while any cause holds, running otherwise; stopped for
 * good once a graceful stop began. */
void ha_update_status(struct ha_engine *e)
{
    enum ha_status s;
    if (e->p.stopping)
        s = HA_STATUS_STOPPED;
    else if (e->st.role == HA_ROLE_UNKNOWN)
        s = HA_STATUS_INITIALIZING;
    else
        s = e->st.causes ? HA_STATUS_SERVICE_UNAVAILABLE : HA_STATUS_RUNNING;
    if (s == e->st.status)
        return;
    e->st.status = s;
    struct ha_output o = { .kind = HA_OUT_STATUS };
    o.u.status = s;
    ha_emit(e, &o);
    ha_notify(e, HA_NOTIF_STATUS_CHANGE, 0);
}

void ha_set_cause(struct ha_engine *e, unsigned cause, bool on)
{
    if (on)
        e->st.causes |= cause;
    else
        e->st.causes &= ~cause;
    ha_update_status(e);
}

/* A new primary term is numbered above anything either side has used. */
uint32_t ha_next_epoch(const struct ha_engine *e)
{
    uint32_t peer = e->st.peer_last_seen ? e->st.peer.epoch : 0;
    uint32_t top = e->st.epoch > peer ? e->st.epoch : peer;
    return top == UINT32_MAX ? top : top + 1;
}

static void change_role(struct ha_engine *e, enum ha_role role, enum ha_reason reason)
{
    enum ha_role old = e->st.role;
    e->st.role = role;
    e->p.role_changed = true;
    /* What the peer said before this change may no longer hold (it may have just
     * handed us the role, or become unfit since): decisions that involve the peer
     * wait for its next heartbeat. Without this, two stale views can bounce the
     * role back and forth without end. */
    e->p.peer_fresh = false;
    struct ha_output o = { .kind = HA_OUT_ROLE };
    o.u.role.role = role;
    o.u.role.reason = reason;
    o.u.role.epoch = e->st.epoch;
    ha_emit(e, &o);
    ha_notify(e, HA_NOTIF_ROLE_CHANGE, 0);
    if (old != HA_ROLE_UNKNOWN) {
        /* primary <-> backup: a switchover (leaving "unknown" at startup is not) */
        e->st.switchovers++;
        e->st.last_switchover = e->p.now;
        e->st.last_reason = reason;
        ha_notify(e, HA_NOTIF_SWITCHOVER, 0);
    }
    if (role == HA_ROLE_PRIMARY) {
        e->p.primary_since = e->p.now;
        e->p.noprim = false;
        e->p.ho_active = false;
        e->p.ho_waiting = false;
    }
    ha_traffic_on_role(e);
    ha_vip_on_role(e);
    ha_update_status(e);
}

void ha_become_primary(struct ha_engine *e, enum ha_reason reason, uint32_t epoch)
{
    if (e->st.role == HA_ROLE_PRIMARY || e->p.stopping)
        return;
    if (!ha_lock_gate(e, reason, epoch))
        return; /* the role comes with the arbiter's lock (ha_lock.c) */
    e->st.epoch = epoch;
    e->p.discovering = false;
    change_role(e, HA_ROLE_PRIMARY, reason);
}

void ha_become_backup(struct ha_engine *e, enum ha_reason reason)
{
    ha_lock_on_backup(e);
    if (e->st.role == HA_ROLE_BACKUP)
        return;
    e->p.discovering = false;
    change_role(e, HA_ROLE_BACKUP, reason);
}

/* The seed's deterministic rule, shared by split brain and quorum: of the two, the
 * lower priority gives way, then the higher index. A peer never heard from has no
 * known priority: the configured backup gives way then. */
bool ha_loses_tiebreak(const struct ha_engine *e)
{
    const struct ha_peer_state *p = &e->st.peer;
    if (!e->st.peer_last_seen)
        return e->p.initial_role == HA_ROLE_BACKUP;
    if (e->p.priority != p->priority)
        return e->p.priority < p->priority;
    return e->p.index > p->index;
}

/* Quorum (the seed's control-vip-scripts rule): with an arbiter configured, an
 * instance that reaches neither its peer nor the arbiter may lead only if it would
 * win a split brain, so that two isolated sides never both lead and never both
 * stand back. Without control-vip-scripts there is no quorum rule at all. */
bool ha_quorum_ok(const struct ha_engine *e)
{
    if (!e->p.has_peer || !e->p.has_arbiter)
        return true;
    if (e->st.peer_link == HA_LINK_UP || e->st.arbiter == HA_LINK_UP)
        return true;
    return !ha_opt(e, HA_OPT_CONTROL_VIP_SCRIPTS) || !ha_loses_tiebreak(e);
}

/* I1: an instance that cannot serve never takes the role by any path. A SIP NIC
 * down (sip-nic-monitoring) or a management NIC down (tlib-nic-monitoring) make it
 * unfit; a failed VIP or lost traffic do not (it may still serve some calls).
 * Without a peer the SIP NIC does not matter: nobody else could lead. */
bool ha_can_be_primary(const struct ha_engine *e)
{
    if (e->p.stopping || (e->p.has_peer && (e->st.causes & HA_CAUSE_SIP_NIC_DOWN)))
        return false;
    if (ha_opt(e, HA_OPT_TLIB_NIC_MONITORING) && ha_nic_mgmt_down(e))
        return false;
    return ha_quorum_ok(e);
}

/* What the peer learns as our `unavailable` flag. */
bool ha_self_unavailable(const struct ha_engine *e)
{
    return e->p.stopping || e->st.status == HA_STATUS_SERVICE_UNAVAILABLE ||
           (ha_opt(e, HA_OPT_TLIB_NIC_MONITORING) && ha_nic_mgmt_down(e));
}

/* I4: after a double switchover (factor > 1) a primary keeps the role for
 * T_listener x factor before it hands it over for a cause that may strike the
 * peer just as well (listener, VIP): the alternation slows down as the traffic
 * one does. With factor 1 nothing is held. */
uint64_t ha_backoff_hold_until(const struct ha_engine *e)
{
    if (e->st.backoff_factor <= 1)
        return 0;
    return e->p.primary_since + (uint64_t)e->p.listener_ms * e->st.backoff_factor;
}

bool ha_peer_up(const struct ha_engine *e)
{
    return e->p.has_peer && e->st.peer_link == HA_LINK_UP;
}

bool ha_peer_fresh(const struct ha_engine *e)
{
    return ha_peer_up(e) && e->p.peer_fresh;
}

/* The peer can take the primary role from us: heard from since our last role
 * change, backup, running, fit. */
bool ha_peer_ok(const struct ha_engine *e)
{
    return ha_peer_fresh(e) && e->st.peer.role == HA_ROLE_BACKUP &&
           e->st.peer.status == HA_STATUS_RUNNING && !e->st.peer.unavailable;
}

void ha_alarm_raise(struct ha_engine *e, struct ha_alarm *a, enum ha_notif id)
{
    if (a->active)
        return;
    a->active = true;
    a->since = e->p.now;
    ha_notify(e, id, 0);
}

void ha_alarm_clear(struct ha_engine *e, struct ha_alarm *a, enum ha_notif id)
{
    if (!a->active)
        return;
    a->active = false;
    ha_notify(e, HA_NOTIF_ALARM_CLEARED, (uint32_t)id);
}

static bool autoclear_due(const struct ha_engine *e, const struct ha_alarm *a)
{
    return a->active && e->p.autoclear_ms && e->p.now >= a->since + e->p.autoclear_ms;
}

void ha_alarm_eval(struct ha_engine *e)
{
    if (autoclear_due(e, &e->st.listener_alarm))
        ha_alarm_clear(e, &e->st.listener_alarm, HA_NOTIF_LISTENER_BIND_FAILURE);
    if (autoclear_due(e, &e->st.split_brain_alarm))
        ha_alarm_clear(e, &e->st.split_brain_alarm, HA_NOTIF_SPLIT_BRAIN_DETECTED);
}

uint64_t ha_alarm_deadline(const struct ha_engine *e)
{
    uint64_t d = HA_NEVER;
    if (!e->p.autoclear_ms)
        return d;
    if (e->st.listener_alarm.active)
        d = ha_min_u64(d, e->st.listener_alarm.since + e->p.autoclear_ms);
    if (e->st.split_brain_alarm.active)
        d = ha_min_u64(d, e->st.split_brain_alarm.since + e->p.autoclear_ms);
    return d;
}
