/* ha_nic.c — tlib-nic-monitoring (management NIC down: this instance goes backup)
 * and sip-nic-monitoring (SIP NIC down: serviceUnavailable, and backup at once).
 * Oper state and the failure count are kept for every NIC whatever the options;
 * the notifications and the reactions only when the NIC's option is on. Both
 * purposes notify NIC_FAILURE / NIC_RECOVERY with the NIC's row; the seed's log
 * ids 00-52027 / 00-52028 are the SIP NIC's (the adapter logs the management NIC
 * under its own id text). */
#include "ha_engine_int.h"

static unsigned option_of(enum ha_nic_purpose p)
{
    return p == HA_NIC_SIP ? HA_OPT_SIP_NIC_MONITORING : HA_OPT_TLIB_NIC_MONITORING;
}

static bool any_down(const struct ha_engine *e, enum ha_nic_purpose p)
{
    for (size_t i = 0; i < e->st.n_nics; i++)
        if (e->st.nics[i].purpose == p && e->st.nics[i].oper == HA_OPER_DOWN)
            return true;
    return false;
}

bool ha_nic_mgmt_down(const struct ha_engine *e)
{
    return any_down(e, HA_NIC_MANAGEMENT);
}

/* A NIC keeping this instance from leading (see ha_can_be_primary). */
static bool nic_unfit(const struct ha_engine *e)
{
    return (e->p.has_peer && (e->st.causes & HA_CAUSE_SIP_NIC_DOWN)) ||
           (ha_opt(e, HA_OPT_TLIB_NIC_MONITORING) && ha_nic_mgmt_down(e));
}

/* Sets the SIP NIC cause. When the last unfitting NIC comes back, the HA link often
 * runs on it: the peer, which took over meanwhile, is heard again within moments.
 * Taking over by peer loss right now would make two primaries and then fail back
 * (I3), so peer loss waits settle_ms from here (see alone_ok_at in ha_peer.c). */
static void refresh_cause(struct ha_engine *e, bool was_unfit)
{
    ha_set_cause(e, HA_CAUSE_SIP_NIC_DOWN,
                 ha_opt(e, HA_OPT_SIP_NIC_MONITORING) && any_down(e, HA_NIC_SIP));
    if (was_unfit && !nic_unfit(e))
        e->p.nic_fit_since = e->p.now;
}

void ha_nic_state_in(struct ha_engine *e, uint32_t idx, bool up)
{
    struct ha_nic_state *n = &e->st.nics[idx];
    enum ha_oper now = up ? HA_OPER_UP : HA_OPER_DOWN;
    enum ha_oper old = n->oper;
    if (now == old)
        return;
    bool was_unfit = nic_unfit(e);
    n->oper = now;
    n->last_change = e->p.now;
    if (now == HA_OPER_DOWN)
        n->failures++;
    if (ha_opt(e, option_of(n->purpose))) {
        if (now == HA_OPER_DOWN)
            ha_notify(e, HA_NOTIF_NIC_FAILURE, idx + 1);
        else if (old == HA_OPER_DOWN)
            ha_notify(e, HA_NOTIF_NIC_RECOVERY, idx + 1);
    }
    refresh_cause(e, was_unfit);
}

/* An option turned on finds a NIC already down: that is a failure it detects now. */
void ha_nic_options(struct ha_engine *e, unsigned old_opts)
{
    bool was_unfit = (e->p.has_peer && (e->st.causes & HA_CAUSE_SIP_NIC_DOWN)) ||
                     ((old_opts & HA_OPT_TLIB_NIC_MONITORING) && ha_nic_mgmt_down(e));
    for (size_t i = 0; i < e->st.n_nics; i++) {
        unsigned opt = option_of(e->st.nics[i].purpose);
        if ((old_opts & opt) || !ha_opt(e, opt))
            continue;
        if (e->st.nics[i].oper == HA_OPER_DOWN)
            ha_notify(e, HA_NOTIF_NIC_FAILURE, (uint32_t)i + 1);
    }
    refresh_cause(e, was_unfit);
}

/* A primary whose NIC is down gives the role away whether or not the peer is fit:
 * tlib-nic-monitoring (the seed: "enforce switching to backup"), and, for I1,
 * sip-nic-monitoring: with its SIP NIC down it serves nobody, and when the HA link
 * runs on that NIC its peer, hearing nothing, takes over by peer loss — staying
 * primary would make two. Without a peer there is nobody to make two with, nor to
 * take over: a peerless instance keeps its role (a peerless backup never leads). */
void ha_nic_eval(struct ha_engine *e)
{
    if (e->st.role != HA_ROLE_PRIMARY)
        return;
    if ((e->st.causes & HA_CAUSE_SIP_NIC_DOWN) && e->p.has_peer)
        ha_release(e, HA_REASON_SIP_NIC_FAILURE);
    else if (ha_opt(e, HA_OPT_TLIB_NIC_MONITORING) && ha_nic_mgmt_down(e))
        ha_release(e, HA_REASON_NIC_FAILURE);
}
