/* ha_nic.c — tlib-nic-monitoring (management NIC down: this instance goes backup)
 * and sip-nic-monitoring (SIP NIC down: serviceUnavailable). Oper state and the
 * failure count are kept for every NIC whatever the options; the notifications
 * (00-52027 / 00-52028, shared by both purposes) and the reactions only when the
 * NIC's option is on. */
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

static void refresh_cause(struct ha_engine *e)
{
    ha_set_cause(e, HA_CAUSE_SIP_NIC_DOWN,
                 ha_opt(e, HA_OPT_SIP_NIC_MONITORING) && any_down(e, HA_NIC_SIP));
}

void ha_nic_state_in(struct ha_engine *e, uint32_t idx, bool up)
{
    struct ha_nic_state *n = &e->st.nics[idx];
    enum ha_oper now = up ? HA_OPER_UP : HA_OPER_DOWN;
    enum ha_oper old = n->oper;
    if (now == old)
        return;
    n->oper = now;
    n->last_change = e->p.now;
    if (now == HA_OPER_DOWN)
        n->failures++;
    if (ha_opt(e, option_of(n->purpose))) {
        if (now == HA_OPER_DOWN)
            ha_notify(e, NOTIF_NIC_FAILURE, idx + 1);
        else if (old == HA_OPER_DOWN)
            ha_notify(e, NOTIF_NIC_RECOVERY, idx + 1);
    }
    refresh_cause(e);
}

/* An option turned on finds a NIC already down: that is a failure it detects now. */
void ha_nic_options(struct ha_engine *e, unsigned old_opts)
{
    for (size_t i = 0; i < e->st.n_nics; i++) {
        unsigned opt = option_of(e->st.nics[i].purpose);
        if ((old_opts & opt) || !ha_opt(e, opt))
            continue;
        if (e->st.nics[i].oper == HA_OPER_DOWN)
            ha_notify(e, NOTIF_NIC_FAILURE, (uint32_t)i + 1);
    }
    refresh_cause(e);
}

/* tlib-nic-monitoring: the primary whose management NIC is down gives the role away
 * whether or not the peer is fit (the seed: "enforce switching to backup"). */
void ha_nic_eval(struct ha_engine *e)
{
    if (e->st.role == HA_ROLE_PRIMARY && ha_opt(e, HA_OPT_TLIB_NIC_MONITORING) &&
        ha_nic_mgmt_down(e))
        ha_release(e, HA_REASON_NIC_FAILURE);
}
