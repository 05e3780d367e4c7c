/* ha_shutdown.c — graceful stop (HA_IN_SHUTDOWN, e.g. on SIGTERM).
 *
 * A primary releases at once (ROLE backup, reason shutdown, VIP down scripts) and,
 * once those scripts have ended or release_wait_ms passed, sends TAKEOVER {reason
 * shutdown}: the peer takes the role at once instead of after a peer timeout. From
 * then on the instance never takes a role again, reports status stopped and
 * unavailable in its heartbeat, and hears nothing but SCRIPT_DONE and TICK. A
 * backup, or a node without a peer, just stops (a peerless primary still runs its
 * down scripts). ha_shutdown_done() tells the adapter when it may exit. */
#include "ha_engine_int.h"

void ha_shutdown_in(struct ha_engine *e)
{
    if (e->p.stopping)
        return;
    e->p.stopping = true;
    e->p.stop_until = e->p.now + e->p.release_wait_ms;
    e->p.noprim = false;
    e->p.ho_active = false; /* a handover of ours in flight: no re-sends any more */
    if (e->p.admin_wait != HA_ADMIN_IDLE) {
        e->p.admin_wait = HA_ADMIN_IDLE;
        ha_emit_admin_result(e, HA_RESULT_FAILED);
    }
    ha_release(e, HA_REASON_SHUTDOWN); /* primary only; its status turns stopped */
    ha_update_status(e);                /* backup or unknown: stopped now */
}

void ha_shutdown_eval(struct ha_engine *e)
{
    ha_handover_flush(e);
}

static bool scripts_settled(const struct ha_engine *e)
{
    return !ha_vip_any_running(e) || e->p.now >= e->p.stop_until;
}

/* The lock still needs us: held or being released, or a take on the wire whose win
 * must be released again (gone with it held, we would keep the peer out a TTL). */
static bool lock_unsettled(const struct ha_engine *e)
{
    return ha_lock_busy(e) || (e->p.has_lock && e->st.lock == HA_LOCK_TAKING);
}

uint64_t ha_shutdown_deadline(const struct ha_engine *e)
{
    uint64_t d = HA_NEVER;
    if (e->p.ho_waiting)
        d = e->p.ho_wait_until;
    if (!scripts_settled(e) || (e->p.stopping && lock_unsettled(e)))
        d = ha_min_u64(d, e->p.stop_until);
    return d;
}

bool ha_shutdown_done(const struct ha_engine *e)
{
    return e && e->p.stopping && e->st.role != HA_ROLE_PRIMARY && !e->p.ho_waiting &&
           scripts_settled(e) && (!lock_unsettled(e) || e->p.now >= e->p.stop_until);
}
