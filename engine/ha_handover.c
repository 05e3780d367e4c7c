/* ha_handover.c — handing the primary role to the peer over the HA link.
 *
 * The side giving the role up drops it first (ROLE backup, VIP scripts down) and
 * sends TAKEOVER with the new term's epoch once those scripts have ended (or after
 * release_wait_ms, so a hung script cannot keep the pair without a primary): the
 * VIP is never on both hosts; the receiver becomes primary with
 * that epoch (VIP scripts up). A TAKEOVER the peer does not confirm (its PEER_STATE
 * still shows it backup) is sent again every resend_ms, HA_HANDOVER_RESENDS times
 * at most; a TAKEOVER not newer than the receiver's epoch is a stale copy and
 * ignored. Also here: serviceUnavailable on the primary hands over to a fit peer,
 * and two backups that stay so for settle_ms elect one of them primary. */
#include "ha_engine_int.h"

static void send(struct ha_engine *e, const struct ha_peer_msg *m)
{
    struct ha_output o = { .kind = HA_OUT_PEER_SEND };
    o.u.peer = *m;
    ha_emit(e, &o);
}

/* A confirmation is the peer's next heartbeat, due within peer_timeout_ms (the
 * heartbeat interval times the misses allowed): waiting longer only delays the
 * recovery from a lost datagram. The floor leaves a loaded peer time to process
 * it; the cap keeps the re-sends within the settle time when peer loss is slow. */
static uint64_t resend_ms(const struct ha_engine *e)
{
    uint64_t ms = ha_max_u64(e->p.peer_timeout_ms, HA_RESEND_MIN_MS);
    return ha_min_u64(ms, e->p.settle_ms);
}

/* The held TAKEOVER goes when the down scripts are done, or at the wait's end. */
static void eval_waiting(struct ha_engine *e)
{
    if (!e->p.ho_waiting)
        return;
    if (e->st.role != HA_ROLE_BACKUP || !ha_peer_up(e)) {
        e->p.ho_waiting = false; /* took the role back, or nobody to hand it to */
        return;
    }
    /* the VIP leaves before it comes; the arbiter's lock is released before the peer
     * takes it */
    if ((ha_vip_any_running(e) || ha_lock_busy(e)) && e->p.now < e->p.ho_wait_until)
        return;
    e->p.ho_waiting = false;
    send(e, &e->p.ho_msg);
    e->p.ho_active = !e->p.stopping; /* a stopping instance leaves: no re-sends */
    e->p.ho_sent_at = e->p.now;
    e->p.ho_resends = 0;
}

void ha_handover_flush(struct ha_engine *e)
{
    eval_waiting(e);
}

void ha_release(struct ha_engine *e, enum ha_reason reason)
{
    if (e->st.role != HA_ROLE_PRIMARY)
        return;
    struct ha_peer_msg m = {
        .cmd = HA_CMD_PEER_TAKEOVER,
        .epoch = ha_next_epoch(e),
        .reason = reason,
        .factor = e->st.backoff_factor,
        .traffic_seen = e->p.traffic_in_term,
    };
    e->p.released = true;
    e->p.release_reason = reason;
    e->p.release_factor = e->st.backoff_factor;
    e->p.traffic_since_release = false;
    ha_become_backup(e, reason);
    if (!e->p.has_peer)
        return;
    e->p.ho_msg = m;
    e->p.ho_waiting = true;
    e->p.ho_wait_until = e->p.now + e->p.release_wait_ms;
    eval_waiting(e); /* no VIP scripts running: sent at once */
}

static enum ha_reason takeover_reason(enum ha_reason r)
{
    return r >= HA_REASON_ADMIN && r <= HA_REASON_SHUTDOWN ? r : HA_REASON_PEER_REQUEST;
}

void ha_handover_takeover_in(struct ha_engine *e, const struct ha_peer_msg *m)
{
    if (m->epoch <= e->st.epoch)
        return; /* stale or repeated */
    if (e->st.role == HA_ROLE_PRIMARY) {
        e->st.epoch = m->epoch; /* the peer stepped down: its term number is newer */
        return;
    }
    if (!ha_can_be_primary(e))
        return; /* unfit: the peer's re-sends stop, then the two-backup election
                   (or, the link being down, peer loss) picks the fitter side */
    ha_become_primary(e, takeover_reason(m->reason), m->epoch);
    ha_traffic_takeover(e, m);
}

void ha_handover_release_in(struct ha_engine *e)
{
    /* The peer's operator asked for a switchover; the peer checked it can serve. */
    ha_release(e, HA_REASON_ADMIN);
}

static enum ha_reason unavailable_reason(const struct ha_engine *e)
{
    if (e->st.causes & HA_CAUSE_SIP_NIC_DOWN)
        return HA_REASON_SIP_NIC_FAILURE;
    if (e->st.causes & HA_CAUSE_VIP_FAILED)
        return HA_REASON_VIP_FAILURE;
    if (e->st.causes & HA_CAUSE_TRAFFIC_LOST)
        return HA_REASON_SIP_TRAFFIC_LOST;
    return HA_REASON_SERVICE_UNAVAILABLE;
}

static void eval_resend(struct ha_engine *e)
{
    if (!e->p.ho_active)
        return;
    const struct ha_peer_state *p = &e->st.peer;
    if (e->st.role == HA_ROLE_PRIMARY || !ha_peer_up(e) ||
        (p->role == HA_ROLE_PRIMARY && p->epoch >= e->p.ho_msg.epoch)) {
        e->p.ho_active = false;
        return;
    }
    if (e->p.now < e->p.ho_sent_at + resend_ms(e))
        return;
    if (e->p.ho_resends >= HA_HANDOVER_RESENDS) {
        e->p.ho_active = false;
        return;
    }
    e->p.ho_resends++;
    e->p.ho_sent_at = e->p.now;
    send(e, &e->p.ho_msg);
}

/* When may the unavailable primary hand over to its fit peer (HA_NEVER: not now)?
 * Lost traffic alone does not go to a peer whose listener failed: that peer would
 * hand it straight back. A failed VIP waits out the backoff hold (I4). */
static uint64_t unavailable_due(const struct ha_engine *e)
{
    if (e->st.role != HA_ROLE_PRIMARY || e->st.status != HA_STATUS_SERVICE_UNAVAILABLE ||
        !ha_peer_ok(e))
        return HA_NEVER;
    unsigned c = e->st.causes;
    if (c == HA_CAUSE_TRAFFIC_LOST && e->st.peer.listener == HA_LISTENER_FAILED)
        return HA_NEVER;
    if (c & HA_CAUSE_SIP_NIC_DOWN)
        return 0;
    if (c & HA_CAUSE_VIP_FAILED)
        return ha_backoff_hold_until(e);
    return 0;
}

/* serviceUnavailable on the primary, whatever its cause, goes to a fit peer; with no
 * fit peer the primary stays, and its STATUS output said serviceUnavailable. (A SIP
 * NIC down does not wait for a fit peer: ha_nic_eval releases at once.) */
void ha_handover_eval(struct ha_engine *e)
{
    eval_waiting(e);
    eval_resend(e);
    if (e->p.now >= unavailable_due(e))
        ha_release(e, unavailable_reason(e));
}

/* Of two backups, the fit one (not unavailable) takes the role; both fit or both
 * unfit: the higher priority, then the lower index. Both sides decide alike. */
static bool self_elected(const struct ha_engine *e)
{
    bool self_fit = !ha_self_unavailable(e);
    bool peer_fit = !e->st.peer.unavailable && e->st.peer.status == HA_STATUS_RUNNING;
    if (self_fit != peer_fit)
        return self_fit;
    if (e->p.priority != e->st.peer.priority)
        return e->p.priority > e->st.peer.priority;
    return e->p.index < e->st.peer.index;
}

/* No primary at all — after a refused TAKEOVER, a graceful stop whose TAKEOVER was
 * lost, or both configured backup — is worse than any primary. Waiting settle_ms
 * lets a handover in flight land first. */
void ha_handover_eval_noprimary(struct ha_engine *e)
{
    bool both_backup = e->st.role == HA_ROLE_BACKUP && ha_peer_up(e) &&
                       e->st.peer.role == HA_ROLE_BACKUP && !e->p.ho_active &&
                       !e->p.ho_waiting;
    if (!both_backup) {
        e->p.noprim = false;
        return;
    }
    if (!e->p.noprim) {
        e->p.noprim = true;
        e->p.noprim_since = e->p.now;
        return;
    }
    if (e->p.now < e->p.noprim_since + e->p.settle_ms)
        return;
    if (self_elected(e) && ha_can_be_primary(e))
        ha_become_primary(e, HA_REASON_NONE, ha_next_epoch(e));
    else
        e->p.noprim_since = e->p.now; /* the peer's turn; look again later */
}

uint64_t ha_handover_deadline(const struct ha_engine *e)
{
    uint64_t d = HA_NEVER;
    if (e->p.ho_waiting)
        d = e->p.ho_wait_until;
    if (e->p.ho_active)
        d = e->p.ho_sent_at + resend_ms(e);
    if (e->p.noprim)
        d = ha_min_u64(d, e->p.noprim_since + e->p.settle_ms);
    uint64_t due = unavailable_due(e);
    if (due != HA_NEVER)
        d = ha_min_u64(d, ha_max_u64(due, e->p.now));
    return d;
}
