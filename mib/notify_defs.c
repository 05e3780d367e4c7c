/* notify_defs.c — the table behind notify_defs.h. Keep in step with the
 * NOTIFICATION-TYPE definitions of mib/SIPHA-MIB.txt (tests/unit/test_notify_defs.c
 * and `make lint` check the names and OBJECTS clauses against the MIB). */
#include <string.h>

#include "notify_defs.h"
#include "sipha_mib.h"

#define VB(t, c) { (t), (c) }
#define I(c) VB(SIPHA_T_INSTANCE, c)
#define EV VB(SIPHA_T_EVENT, EVENT_COL_ID)

static const struct notif_def defs[HA_NOTIF_COUNT] = {
    { HA_NOTIF_ROLE_CHANGE, "siphaRoleChange", "00-52100", 52100, SEV_STANDARD, false,
      SIPHA_T_INSTANCE, "HA role changed", 5,
      { I(INST_COL_NAME), I(INST_COL_ROLE), I(INST_COL_EPOCH), I(INST_COL_LAST_SWITCHOVER_REASON), EV } },
    { HA_NOTIF_STATUS_CHANGE, "siphaStatusChange", "00-52101", 52101, SEV_STANDARD, false,
      SIPHA_T_INSTANCE, "status changed", 4,
      { I(INST_COL_NAME), I(INST_COL_STATUS), I(INST_COL_ROLE), EV } },
    { HA_NOTIF_SWITCHOVER, "siphaSwitchover", "00-52102", 52102, SEV_STANDARD, false,
      SIPHA_T_INSTANCE, "switchover performed", 6,
      { I(INST_COL_NAME), I(INST_COL_ROLE), I(INST_COL_LAST_SWITCHOVER_REASON), I(INST_COL_SWITCHOVERS),
        I(INST_COL_PEER_NAME), EV } },
    { HA_NOTIF_SIP_TRAFFIC_LOST, "siphaSipTrafficLost", "00-52103", 52103, SEV_STANDARD, false,
      SIPHA_T_INSTANCE, "no SIP traffic for the effective out-of-service timeout", 5,
      { I(INST_COL_NAME), I(INST_COL_SIP_TRAFFIC_STATE), I(INST_COL_OOS_TIMEOUT_EFF),
        I(INST_COL_LAST_SIP_MSG_TIME), EV } },
    { HA_NOTIF_SIP_TRAFFIC_RESTORED, "siphaSipTrafficRestored", "00-52104", 52104, SEV_STANDARD, false,
      SIPHA_T_INSTANCE, "SIP traffic seen again", 4,
      { I(INST_COL_NAME), I(INST_COL_SIP_TRAFFIC_STATE), I(INST_COL_SIP_MSGS_IN), EV } },
    { HA_NOTIF_DN_OUT_OF_SERVICE, "siphaServiceDnOutOfService", "00-52105", 52105, SEV_STANDARD, false,
      SIPHA_T_DN, "service DN out of service", 5,
      { I(INST_COL_NAME), VB(SIPHA_T_DN, DN_COL_NAME), VB(SIPHA_T_DN, DN_COL_URI),
        VB(SIPHA_T_DN, DN_COL_STATE), EV } },
    { HA_NOTIF_DN_IN_SERVICE, "siphaServiceDnInService", "00-52106", 52106, SEV_STANDARD, false,
      SIPHA_T_DN, "service DN back in service", 6,
      { I(INST_COL_NAME), VB(SIPHA_T_DN, DN_COL_NAME), VB(SIPHA_T_DN, DN_COL_URI),
        VB(SIPHA_T_DN, DN_COL_STATE), VB(SIPHA_T_DN, DN_COL_LAST_STATUS), EV } },
    { HA_NOTIF_DOUBLE_SWITCHOVER, "siphaDoubleSwitchover", "00-52107", 52107, SEV_STANDARD, false,
      SIPHA_T_INSTANCE, "double switchover without SIP traffic: timeout backed off", 5,
      { I(INST_COL_NAME), I(INST_COL_DOUBLE_SWITCHOVERS), I(INST_COL_BACKOFF_FACTOR),
        I(INST_COL_OOS_TIMEOUT_EFF), EV } },
    { HA_NOTIF_LISTENER_BIND_FAILURE, "siphaListenerBindFailure", "00-04200", 4200, SEV_ALARM, true,
      SIPHA_T_INSTANCE, "SIP listener cannot be opened", 6,
      { I(INST_COL_NAME), I(INST_COL_SIP_ADDR_TYPE), I(INST_COL_SIP_ADDR), I(INST_COL_SIP_PORT),
        I(INST_COL_LISTENER_BOUND), EV } },
    { HA_NOTIF_LISTENER_BOUND, "siphaListenerBound", "00-52108", 52108, SEV_STANDARD, false,
      SIPHA_T_INSTANCE, "SIP listener open", 6,
      { I(INST_COL_NAME), I(INST_COL_SIP_ADDR_TYPE), I(INST_COL_SIP_ADDR), I(INST_COL_SIP_PORT),
        I(INST_COL_LISTENER_BOUND), EV } },
    { HA_NOTIF_NIC_FAILURE, "siphaNicFailure", "00-52027", 52027, SEV_STANDARD, false,
      SIPHA_T_NIC, "NIC failure detected", 5,
      { I(INST_COL_NAME), VB(SIPHA_T_NIC, NIC_COL_PURPOSE), VB(SIPHA_T_NIC, NIC_COL_NAME),
        VB(SIPHA_T_NIC, NIC_COL_OPER_STATE), EV } },
    { HA_NOTIF_NIC_RECOVERY, "siphaNicRecovery", "00-52028", 52028, SEV_STANDARD, false,
      SIPHA_T_NIC, "NIC recovery detected", 5,
      { I(INST_COL_NAME), VB(SIPHA_T_NIC, NIC_COL_PURPOSE), VB(SIPHA_T_NIC, NIC_COL_NAME),
        VB(SIPHA_T_NIC, NIC_COL_OPER_STATE), EV } },
    { HA_NOTIF_VIP_FAILURE, "siphaVipFailure", "00-52029", 52029, SEV_STANDARD, false,
      SIPHA_T_VIP, "virtual IP address failure detected", 7,
      { I(INST_COL_NAME), VB(SIPHA_T_VIP, VIP_COL_ADDR_TYPE), VB(SIPHA_T_VIP, VIP_COL_ADDR),
        VB(SIPHA_T_VIP, VIP_COL_EXPECTED), VB(SIPHA_T_VIP, VIP_COL_ACTUAL),
        VB(SIPHA_T_VIP, VIP_COL_LAST_EXIT), EV } },
    { HA_NOTIF_VIP_SUCCESS, "siphaVipSuccess", "00-52030", 52030, SEV_STANDARD, false,
      SIPHA_T_VIP, "virtual IP address success detected", 6,
      { I(INST_COL_NAME), VB(SIPHA_T_VIP, VIP_COL_ADDR_TYPE), VB(SIPHA_T_VIP, VIP_COL_ADDR),
        VB(SIPHA_T_VIP, VIP_COL_EXPECTED), VB(SIPHA_T_VIP, VIP_COL_ACTUAL), EV } },
    { HA_NOTIF_PEER_LOST, "siphaPeerLost", "00-52111", 52111, SEV_STANDARD, false,
      SIPHA_T_INSTANCE, "HA peer lost", 5,
      { I(INST_COL_NAME), I(INST_COL_PEER_NAME), I(INST_COL_PEER_LINK_STATE), I(INST_COL_PEER_LAST_SEEN), EV } },
    { HA_NOTIF_PEER_FOUND, "siphaPeerFound", "00-52112", 52112, SEV_STANDARD, false,
      SIPHA_T_INSTANCE, "HA peer found", 6,
      { I(INST_COL_NAME), I(INST_COL_PEER_NAME), I(INST_COL_PEER_LINK_STATE), I(INST_COL_PEER_ROLE),
        I(INST_COL_PEER_STATUS), EV } },
    { HA_NOTIF_ARBITER_LOST, "siphaArbiterLost", "00-52113", 52113, SEV_STANDARD, false,
      SIPHA_T_INSTANCE, "arbiter connection lost", 4,
      { I(INST_COL_NAME), I(INST_COL_ARBITER_STATE), I(INST_COL_ARBITER_ENDPOINT), EV } },
    { HA_NOTIF_ARBITER_FOUND, "siphaArbiterFound", "00-52114", 52114, SEV_STANDARD, false,
      SIPHA_T_INSTANCE, "arbiter connection restored", 4,
      { I(INST_COL_NAME), I(INST_COL_ARBITER_STATE), I(INST_COL_ARBITER_ENDPOINT), EV } },
    { HA_NOTIF_SPLIT_BRAIN_DETECTED, "siphaSplitBrainDetected", "00-52115", 52115, SEV_ALARM, true,
      SIPHA_T_INSTANCE, "both instances primary", 6,
      { I(INST_COL_NAME), I(INST_COL_ROLE), I(INST_COL_EPOCH), I(INST_COL_PEER_NAME), I(INST_COL_PEER_ROLE), EV } },
    { HA_NOTIF_SPLIT_BRAIN_RESOLVED, "siphaSplitBrainResolved", "00-52116", 52116, SEV_STANDARD, false,
      SIPHA_T_INSTANCE, "split brain resolved", 5,
      { I(INST_COL_NAME), I(INST_COL_ROLE), I(INST_COL_EPOCH), I(INST_COL_PEER_ROLE), EV } },
    { HA_NOTIF_ALARM_CLEARED, "siphaAlarmCleared", "00-52117", 52117, SEV_STANDARD, false,
      SIPHA_T_EVENT, "alarm cleared", 4,
      { I(INST_COL_NAME), VB(SIPHA_T_EVENT, EVENT_COL_ID), VB(SIPHA_T_EVENT, EVENT_COL_ALARM_STATE),
        VB(SIPHA_T_EVENT, EVENT_COL_TEXT) } },
    { HA_NOTIF_STATE_DIR_FAILURE, "siphaStateDirFailure", "00-52118", 52118, SEV_ALARM, true,
      SIPHA_T_INSTANCE, "state directory cannot be written", 4,
      { I(INST_COL_NAME), I(INST_COL_STATE_DIR_STATUS), VB(SIPHA_T_EVENT, EVENT_COL_TEXT), EV } },
    { HA_NOTIF_CONTACT_SOURCE_LOST, "siphaContactSourceLost", "00-52119", 52119, SEV_ALARM, true,
      SIPHA_T_INSTANCE, "contact source of the SIP server lost", 4,
      { I(INST_COL_NAME), I(INST_COL_CONTACT_SOURCE_STATE), VB(SIPHA_T_EVENT, EVENT_COL_TEXT), EV } },
};

const struct notif_def *notif_def_get(enum ha_notif id)
{
    if (id < 1 || id > HA_NOTIF_COUNT)
        return NULL;
    return &defs[id - 1];
}

const struct notif_def *notif_def_by_name(const char *name)
{
    for (size_t i = 0; i < HA_NOTIF_COUNT; i++)
        if (strcmp(defs[i].name, name) == 0)
            return &defs[i];
    return NULL;
}
