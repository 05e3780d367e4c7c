/* ha_lock.c — the arbiter as a lock (has_lock: etcd). Only the lock's holder may be
 * primary, so two nodes that both reach the arbiter but not each other can never
 * both lead.
 *
 * Every way to the primary role goes through ha_become_primary, which asks
 * ha_lock_gate first: without the lock the wish is remembered (reason, epoch), a
 * take is asked for (LOCK output), and the role changes when the lock service says
 * HELD. Refused, a backup tries again every HA_LOCK_RETRY_MS for as long as the wish
 * stands (a crashed holder's lease expires by itself); a wish ends when the role
 * came, the instance may no longer lead, or a refusal shows the peer leading.
 *
 * Giving the role up releases the lock (ha_lock_on_backup), and the handover's
 * TAKEOVER waits for the release to finish, so the successor's take is not refused.
 *
 * A primary that loses the lock steps down, with one exception: when the lock
 * lapsed only because the service was away (not renewed in time) while its peer is
 * heard, it keeps the role (the peer, hearing a primary, does not take the lock) and
 * takes the lock again as soon as it can; refused, or its peer lost or deaf to it,
 * it steps down. Its heartbeat meanwhile says "arbiter down", and a backup that loses
 * such a peer waits two peer timeouts before it takes the lock (which has expired):
 * the keeper, losing the backup at about the same time, has stepped down by then. */
#include "ha_engine_int.h"

#define HA_LOCK_RETRY_MS 100u

static void emit_lock(struct ha_engine *e, bool take, uint32_t epoch)
{
    struct ha_output o = { .kind = HA_OUT_LOCK };
    o.u.lock.take = take;
    o.u.lock.epoch = epoch;
    ha_emit(e, &o);
}

static void take(struct ha_engine *e, uint32_t epoch)
{
    e->st.lock = HA_LOCK_TAKING;
    emit_lock(e, true, epoch);
}

static void release(struct ha_engine *e)
{
    e->st.lock = HA_LOCK_RELEASING;
    emit_lock(e, false, 0);
}

/* A peer last heard as a primary without the arbiter may be keeping the role without
 * the lock (it expired meanwhile): it steps down when it loses us, within a peer
 * timeout of our losing it, give or take a heartbeat. A take waits that long. */
static uint64_t keeper_gone_at(const struct ha_engine *e, enum ha_reason reason)
{
    const struct ha_peer_state *p = &e->st.peer;
    if (reason != HA_REASON_PEER_LOST || !e->st.peer_last_seen ||
        p->role != HA_ROLE_PRIMARY || p->arbiter != HA_LINK_DOWN)
        return 0;
    return e->st.peer_last_seen + 2u * (uint64_t)e->p.peer_timeout_ms;
}

bool ha_lock_gate(struct ha_engine *e, enum ha_reason reason, uint32_t epoch)
{
    if (!e->p.has_lock || e->st.lock == HA_LOCK_HELD)
        return true;
    if (!e->p.lock_want)
        e->p.lock_retry_at = ha_max_u64(e->p.lock_retry_at, keeper_gone_at(e, reason));
    e->p.lock_want = true;
    e->p.lock_reason = reason;
    e->p.lock_epoch = epoch;
    if (e->st.lock == HA_LOCK_FREE && e->p.now >= e->p.lock_retry_at)
        take(e, epoch);
    return false;
}

void ha_lock_on_backup(struct ha_engine *e)
{
    if (!e->p.has_lock)
        return;
    e->p.lock_want = false;
    e->p.lock_keep = false;
    if (e->st.lock == HA_LOCK_HELD)
        release(e);
    /* TAKING: released when its HELD comes, nobody wanting it then */
}

/* The lock is ours, or on its way back, while we are not primary: a TAKEOVER waits. */
bool ha_lock_busy(const struct ha_engine *e)
{
    return e->p.has_lock && e->st.role != HA_ROLE_PRIMARY &&
           (e->st.lock == HA_LOCK_HELD || e->st.lock == HA_LOCK_RELEASING);
}

static void on_held(struct ha_engine *e)
{
    e->st.lock = HA_LOCK_HELD;
    if (e->st.role == HA_ROLE_PRIMARY) {
        e->p.lock_keep = false; /* taken again after a lapse */
        return;
    }
    if (!e->p.lock_want || e->p.stopping || !ha_can_be_primary(e)) {
        release(e); /* nobody wants it any more */
        return;
    }
    e->p.lock_want = false;
    ha_become_primary(e, e->p.lock_reason, e->p.lock_epoch);
}

static void on_refused(struct ha_engine *e)
{
    e->st.lock = HA_LOCK_FREE;
    e->p.lock_retry_at = e->p.now + HA_LOCK_RETRY_MS;
    if (e->st.role == HA_ROLE_PRIMARY) { /* taking it again after a lapse: too late */
        ha_become_backup(e, HA_REASON_QUORUM_LOST);
    } else if (e->st.role == HA_ROLE_UNKNOWN) {
        e->p.lock_want = false;
        ha_become_backup(e, HA_REASON_STARTUP); /* another node leads */
    } else if (ha_peer_up(e) && e->st.peer.role == HA_ROLE_PRIMARY) {
        e->p.lock_want = false; /* the peer leads, with the lock */
    }
}

static void on_lost(struct ha_engine *e, bool unreachable)
{
    e->st.lock = HA_LOCK_FREE;
    e->p.lock_retry_at = e->p.now + HA_LOCK_RETRY_MS;
    if (e->st.role != HA_ROLE_PRIMARY)
        return;
    if (unreachable && ha_peer_up(e))
        e->p.lock_keep = true;
    else
        ha_become_backup(e, HA_REASON_QUORUM_LOST);
}

void ha_lock_in(struct ha_engine *e, enum ha_lock_event ev)
{
    switch (ev) {
    case HA_LOCK_EV_HELD: on_held(e); break;
    case HA_LOCK_EV_REFUSED: on_refused(e); break;
    case HA_LOCK_EV_LOST_UNREACHABLE: on_lost(e, true); break;
    case HA_LOCK_EV_LOST_TAKEN: on_lost(e, false); break;
    case HA_LOCK_EV_FAILED:
    case HA_LOCK_EV_RELEASED:
        /* a failed release: the service forgets the lease, which expires by itself */
        e->st.lock = HA_LOCK_FREE;
        e->p.lock_retry_at = ev == HA_LOCK_EV_FAILED ? e->p.now + HA_LOCK_RETRY_MS : 0;
        break;
    }
}

/* The peer leads, so our wish no longer stands: a wish of our own (start, peer lost,
 * election) ends when the peer is heard as primary; one handed to us (TAKEOVER) when
 * the peer leads in a term at least as new as the one it handed us (a heartbeat from
 * before its release still shows it primary in the older term). */
static bool peer_leads(const struct ha_engine *e)
{
    if (!ha_peer_up(e) || e->st.peer.role != HA_ROLE_PRIMARY)
        return false;
    enum ha_reason r = e->p.lock_reason;
    if (r == HA_REASON_PEER_LOST || r == HA_REASON_STARTUP || r == HA_REASON_NONE)
        return true;
    return e->st.peer.epoch >= e->p.lock_epoch;
}

/* Wishes that no longer stand end; those that do are tried again when due. */
void ha_lock_eval(struct ha_engine *e)
{
    if (!e->p.has_lock)
        return;
    if (e->p.lock_want && (e->st.role == HA_ROLE_PRIMARY || !ha_can_be_primary(e) ||
                           peer_leads(e))) {
        e->p.lock_want = false;
        if (e->st.role == HA_ROLE_UNKNOWN) /* the start waited for the lock: not ours */
            ha_become_backup(e, HA_REASON_STARTUP);
    }
    if (e->p.lock_keep && e->st.role != HA_ROLE_PRIMARY)
        e->p.lock_keep = false;
    /* Kept only while the peer hears us: a peer that does not (its heartbeat says so,
     * or it is lost) may take the lock, which has expired meanwhile. */
    if (e->p.lock_keep && (!ha_peer_up(e) || e->p.peer_deaf_since)) {
        ha_become_backup(e, HA_REASON_QUORUM_LOST);
        return;
    }
    if (e->st.lock != HA_LOCK_FREE || e->p.now < e->p.lock_retry_at)
        return;
    if (e->p.lock_want)
        take(e, e->p.lock_epoch);
    else if (e->p.lock_keep)
        take(e, e->st.epoch);
}

uint64_t ha_lock_deadline(const struct ha_engine *e)
{
    if (!e->p.has_lock || e->st.lock != HA_LOCK_FREE || !(e->p.lock_want || e->p.lock_keep))
        return HA_NEVER;
    return ha_max_u64(e->p.lock_retry_at, e->p.now);
}
