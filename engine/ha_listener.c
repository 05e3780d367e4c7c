/* ha_listener.c — SIP listener bind failure (00-04200).
 *
 * A failed bind raises the alarm (kept until ALARM_CLEAR or the auto-clear time) and
 * leaves the status running. A primary whose listener failed hands the role to a fit
 * peer: at once when the peer's listener is bound or unknown; after T_listener x
 * backoff factor (listener_handover_ms, counted from the failure or from becoming
 * primary, the later) when the peer's has failed too. Both failing, the role thus
 * alternates every T_listener, 2 x, 4 x (each return is a double switchover) until
 * one binds; the one that binds keeps it (a bound peer draws the role, a bound
 * primary has nothing to hand over). The "at once" case is never held: a primary
 * without a listener serves nobody (the other side's causes carry the hold, see
 * ha_backoff_hold_until). A listener that fails after it was
 * bound (the SIP server died) is a failure like a bind failure; binding clears
 * nothing (the alarm stays until ALARM_CLEAR or the auto-clear time). */
#include "ha_engine_int.h"

void ha_listener_in(struct ha_engine *e, bool bound)
{
    if (bound) {
        if (e->st.listener != HA_LISTENER_BOUND) {
            e->st.listener = HA_LISTENER_BOUND;
            ha_notify(e, HA_NOTIF_LISTENER_BOUND, 0);
        }
        return;
    }
    if (e->st.listener != HA_LISTENER_FAILED) {
        e->st.listener = HA_LISTENER_FAILED;
        e->p.listener_fail_since = e->p.now;
    }
    ha_alarm_raise(e, &e->st.listener_alarm, HA_NOTIF_LISTENER_BIND_FAILURE);
}

static bool failing_primary(const struct ha_engine *e)
{
    return e->st.role == HA_ROLE_PRIMARY && e->st.listener == HA_LISTENER_FAILED &&
           ha_peer_ok(e);
}

uint64_t ha_listener_deadline(const struct ha_engine *e)
{
    if (!failing_primary(e))
        return HA_NEVER;
    if (e->st.peer.listener != HA_LISTENER_FAILED)
        return e->p.now; /* due at once: it serves nobody, a bound peer does */
    uint64_t from = ha_max_u64(e->p.listener_fail_since, e->p.primary_since);
    return from + (uint64_t)e->p.listener_ms * e->st.backoff_factor;
}

void ha_listener_eval(struct ha_engine *e)
{
    uint64_t due = ha_listener_deadline(e);
    if (due != HA_NEVER && e->p.now >= due)
        ha_release(e, HA_REASON_LISTENER_BIND);
}
