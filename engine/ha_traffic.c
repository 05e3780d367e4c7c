/* ha_traffic.c — sip-pass-check and the double-switchover backoff.
 *
 * T = max over probed service DNs of (oos_check + max(oos_force, 5)) seconds. The
 * primary's monitoring period starts when it becomes primary, when the option is
 * turned on, and again at every SIP message; when every probed DN is out of service
 * and the period has lasted T x factor, the traffic is lost: serviceUnavailable, and
 * the handover rule gives the role to the peer.
 *
 * The backoff factor is the pair's: the primary's value travels in its heartbeat
 * (the backup adopts it) and in TAKEOVER. An instance that gave the role away and
 * gets it back by TAKEOVER with no SIP traffic seen by either side in between has
 * made a double switchover, whatever the causes of the two handovers (traffic,
 * listener, VIP, peer request...), except deliberate ones (operator command,
 * graceful stop): the factor becomes max(2 x its factor when it released, the
 * carried one), at most 4. The two sides alternate, so the factor doubles on every
 * second switchover: intervals T, T, 2T, 2T, 4T, 4T... It stretches T and
 * T_listener, and holds VIP handovers (ha_backoff_hold_until). Any SIP traffic,
 * seen here or reported by the peer (its message counter moved, or its TAKEOVER
 * says so), resets the factor to 1. */
#include "ha_engine_int.h"

#define HA_OOS_FORCE_MIN 5u

void ha_traffic_init(struct ha_engine *e, const struct ha_config *cfg)
{
    uint32_t t = 0;
    e->st.n_dns = cfg->n_dns;
    e->st.n_probed = 0;
    e->st.n_probed_oos = 0;
    for (size_t i = 0; i < cfg->n_dns; i++) {
        const struct ha_dn_cfg *d = &cfg->dns[i];
        e->st.dn_state[i] = HA_DN_UNKNOWN;
        e->st.dn_probed[i] = d->oos_check > 0;
        if (!d->oos_check)
            continue;
        e->st.n_probed++;
        uint32_t force = d->oos_force < HA_OOS_FORCE_MIN ? HA_OOS_FORCE_MIN : d->oos_force;
        if (d->oos_check + force > t)
            t = d->oos_check + force;
    }
    e->st.oos_base_s = t;
    e->p.t_ms = (uint64_t)t * 1000u;
    e->st.backoff_factor = 1;
    e->st.oos_eff_s = t;
}

static bool monitoring(const struct ha_engine *e)
{
    return ha_opt(e, HA_OPT_SIP_PASS_CHECK) && e->st.n_probed > 0 &&
           e->st.role == HA_ROLE_PRIMARY;
}

static void set_factor(struct ha_engine *e, uint32_t f)
{
    e->st.backoff_factor = f;
    e->st.oos_eff_s = e->st.oos_base_s * f;
}

/* Traffic seen here: a SIP message, or a DN answering again. */
static void seen(struct ha_engine *e)
{
    e->p.traffic_ref = ha_max_u64(e->p.traffic_ref, e->p.now);
    set_factor(e, 1);
    if (e->st.role != HA_ROLE_PRIMARY) {
        e->p.traffic_since_release = true;
        return;
    }
    e->p.traffic_in_term = true;
    if (e->st.causes & HA_CAUSE_TRAFFIC_LOST) {
        ha_notify(e, HA_NOTIF_SIP_TRAFFIC_RESTORED, 0);
        ha_set_cause(e, HA_CAUSE_TRAFFIC_LOST, false);
    }
}

void ha_traffic_sip(struct ha_engine *e, uint32_t count)
{
    e->st.sip_msgs += count;
    e->st.last_sip_msg = e->p.now;
    seen(e);
}

void ha_traffic_dn(struct ha_engine *e, uint32_t idx, bool in_service)
{
    enum ha_dn_state old = (enum ha_dn_state)e->st.dn_state[idx];
    enum ha_dn_state now = in_service ? HA_DN_IN_SERVICE : HA_DN_OUT_OF_SERVICE;
    if (old == now)
        return;
    e->st.dn_state[idx] = (uint8_t)now;
    if (e->st.dn_probed[idx]) {
        if (now == HA_DN_OUT_OF_SERVICE)
            e->st.n_probed_oos++;
        else if (old == HA_DN_OUT_OF_SERVICE)
            e->st.n_probed_oos--;
    }
    /* "Back in service" only after "out of service": a DN's first answer is its
     * starting state, not news — 10,000 DNs must not make 10,000 traps at start. */
    if (!in_service || old == HA_DN_OUT_OF_SERVICE)
        ha_notify(e, in_service ? HA_NOTIF_DN_IN_SERVICE : HA_NOTIF_DN_OUT_OF_SERVICE, idx + 1);
    /* The DN came back because it answered: that answer is SIP traffic. */
    if (in_service)
        seen(e);
}

/* The peer's message counter moved: it saw traffic. */
void ha_traffic_peer_seen(struct ha_engine *e)
{
    set_factor(e, 1);
    if (e->st.role != HA_ROLE_PRIMARY)
        e->p.traffic_since_release = true;
}

void ha_traffic_on_role(struct ha_engine *e)
{
    e->p.traffic_in_term = false;
    if (e->st.role == HA_ROLE_PRIMARY) {
        e->p.traffic_ref = e->p.now; /* the new primary monitors from now */
        return;
    }
    /* Lost traffic is a cause of the primary only: as backup it reports running. */
    e->st.causes &= ~(unsigned)HA_CAUSE_TRAFFIC_LOST;
}

/* The backup takes the primary's factor (0: a peer that does not send it). */
void ha_traffic_adopt(struct ha_engine *e, uint32_t factor)
{
    if (factor >= 1 && factor <= HA_BACKOFF_MAX && factor != e->st.backoff_factor)
        set_factor(e, factor);
}

/* An operator's switchover and a graceful stop are deliberate, not a storm. */
static bool counts_for_backoff(enum ha_reason r)
{
    return r != HA_REASON_ADMIN && r != HA_REASON_SHUTDOWN;
}

/* Called once the TAKEOVER made this instance primary. */
void ha_traffic_takeover(struct ha_engine *e, const struct ha_peer_msg *m)
{
    bool traffic = e->p.traffic_since_release || m->traffic_seen;
    bool ping_pong = e->p.released && counts_for_backoff(e->p.release_reason) &&
                     counts_for_backoff(m->reason);
    if (traffic) {
        set_factor(e, 1);
        return;
    }
    uint32_t carried = m->factor > e->st.backoff_factor ? m->factor : e->st.backoff_factor;
    if (!ping_pong) {
        set_factor(e, carried);
        return;
    }
    uint32_t f = e->p.release_factor * 2;
    if (carried > f)
        f = carried;
    if (f > HA_BACKOFF_MAX)
        f = HA_BACKOFF_MAX;
    set_factor(e, f);
    e->st.double_switchovers++;
    ha_notify(e, HA_NOTIF_DOUBLE_SWITCHOVER, 0);
}

void ha_traffic_options(struct ha_engine *e, unsigned old_opts)
{
    bool was = (old_opts & HA_OPT_SIP_PASS_CHECK) != 0;
    bool is = ha_opt(e, HA_OPT_SIP_PASS_CHECK);
    if (is && !was)
        e->p.traffic_ref = e->p.now; /* monitoring starts now, not in the past */
    if (!is && was)
        ha_set_cause(e, HA_CAUSE_TRAFFIC_LOST, false);
}

static bool all_out(const struct ha_engine *e)
{
    return e->st.n_probed_oos == e->st.n_probed;
}

uint64_t ha_traffic_deadline(const struct ha_engine *e)
{
    if (!monitoring(e) || (e->st.causes & HA_CAUSE_TRAFFIC_LOST) || !all_out(e))
        return HA_NEVER;
    return e->p.traffic_ref + e->p.t_ms * e->st.backoff_factor;
}

void ha_traffic_eval(struct ha_engine *e)
{
    uint64_t due = ha_traffic_deadline(e);
    if (due == HA_NEVER || e->p.now < due)
        return;
    ha_notify(e, HA_NOTIF_SIP_TRAFFIC_LOST, 0);
    ha_set_cause(e, HA_CAUSE_TRAFFIC_LOST, true);
}

void ha_traffic_refresh(struct ha_engine *e)
{
    if (!monitoring(e))
        e->st.traffic = HA_TRAFFIC_NOT_MONITORED;
    else if (e->st.causes & HA_CAUSE_TRAFFIC_LOST)
        e->st.traffic = HA_TRAFFIC_LOST;
    else
        e->st.traffic = e->p.traffic_in_term ? HA_TRAFFIC_FLOWING : HA_TRAFFIC_UNKNOWN;
}
