/* ha_types.h — the vocabulary shared by the HA engine, the agent and trapgen.
 * Numeric values equal the SIPHA-MIB enumerations, so no table translates them. */
#ifndef SIPHA_HA_TYPES_H
#define SIPHA_HA_TYPES_H

#include <stdint.h>

/* SiphaRole */
enum ha_role {
    HA_ROLE_UNKNOWN = 1,
    HA_ROLE_PRIMARY = 2,
    HA_ROLE_BACKUP = 3,
};

/* SiphaStatus: the values Genesys-style servers report to their management layer. */
enum ha_status {
    HA_STATUS_UNKNOWN = 1,
    HA_STATUS_STOPPED = 2,
    HA_STATUS_PENDING = 3,
    HA_STATUS_RUNNING = 4,
    HA_STATUS_INITIALIZING = 5,
    HA_STATUS_SERVICE_UNAVAILABLE = 6,
};

/* SiphaSwitchoverReason */
enum ha_reason {
    HA_REASON_NONE = 1,
    HA_REASON_ADMIN = 2,
    HA_REASON_SIP_TRAFFIC_LOST = 3,
    HA_REASON_LISTENER_BIND = 4,
    HA_REASON_SPLIT_BRAIN = 5,
    HA_REASON_VIP_FAILURE = 6,
    HA_REASON_NIC_FAILURE = 7,
    HA_REASON_SIP_NIC_FAILURE = 8,
    HA_REASON_PEER_LOST = 9,
    HA_REASON_QUORUM_LOST = 10,
    HA_REASON_PEER_REQUEST = 11,
    HA_REASON_SERVICE_UNAVAILABLE = 12,
    HA_REASON_STARTUP = 13,
    HA_REASON_SHUTDOWN = 14,  /* graceful stop (SIGTERM): the primary resigned */
};

/* siphaInstAdminCommand */
enum ha_admin_cmd {
    HA_CMD_NONE = 1,
    HA_CMD_SWITCHOVER = 2,
    HA_CMD_BECOME_PRIMARY = 3,
    HA_CMD_BECOME_BACKUP = 4,
    /* Messages of the HA link (siphaInstHaLinkMessage), not operator commands: */
    HA_CMD_PEER_TAKEOVER = 5, /* "I have released the primary role: take it" */
    HA_CMD_PEER_RELEASE = 6,  /* "release the primary role, then tell me to take it" */
};

/* siphaInstAdminResult */
enum ha_admin_result {
    HA_RESULT_NONE = 1,
    HA_RESULT_IN_PROGRESS = 2,
    HA_RESULT_SUCCESS = 3,
    HA_RESULT_FAILED = 4,
    HA_RESULT_REFUSED = 5,
};

/* The seed's option flags, as a bit set (siphaInstSipPassCheck..SipNicMonitoring). */
enum ha_option {
    HA_OPT_SIP_PASS_CHECK = 1u << 0,       /* sip-pass-check */
    HA_OPT_CONTROL_VIP_SCRIPTS = 1u << 1,  /* control-vip-scripts */
    HA_OPT_IPTAKEOVER_MONITORING = 1u << 2,/* sip-iptakeover-monitoring */
    HA_OPT_TLIB_NIC_MONITORING = 1u << 3,  /* tlib-nic-monitoring */
    HA_OPT_SIP_NIC_MONITORING = 1u << 4,   /* sip-nic-monitoring */
};

/* What the engine reports (HA_OUT_NOTIFY), and the monitors through the agent: one
 * kind per SIPHA-MIB notification. The value is the notification's sub-identifier
 * under siphaNotifications (siphaMIB.0.N); mib/notify_defs.c maps each kind to its
 * OID, log event id and varbinds. */
enum ha_notif {
    HA_NOTIF_ROLE_CHANGE = 1,
    HA_NOTIF_STATUS_CHANGE = 2,
    HA_NOTIF_SWITCHOVER = 3,
    HA_NOTIF_SIP_TRAFFIC_LOST = 4,
    HA_NOTIF_SIP_TRAFFIC_RESTORED = 5,
    HA_NOTIF_DN_OUT_OF_SERVICE = 6,
    HA_NOTIF_DN_IN_SERVICE = 7,
    HA_NOTIF_DOUBLE_SWITCHOVER = 8,
    HA_NOTIF_LISTENER_BIND_FAILURE = 9, /* 00-04200 */
    HA_NOTIF_LISTENER_BOUND = 10,
    HA_NOTIF_NIC_FAILURE = 11,          /* SIP NIC: 00-52027 */
    HA_NOTIF_NIC_RECOVERY = 12,         /* SIP NIC: 00-52028 */
    HA_NOTIF_VIP_FAILURE = 13,          /* 00-52029 */
    HA_NOTIF_VIP_SUCCESS = 14,          /* 00-52030 */
    HA_NOTIF_PEER_LOST = 15,
    HA_NOTIF_PEER_FOUND = 16,
    HA_NOTIF_ARBITER_LOST = 17,
    HA_NOTIF_ARBITER_FOUND = 18,
    HA_NOTIF_SPLIT_BRAIN_DETECTED = 19,
    HA_NOTIF_SPLIT_BRAIN_RESOLVED = 20,
    HA_NOTIF_ALARM_CLEARED = 21,
    HA_NOTIF_STATE_DIR_FAILURE = 22, /* 00-52118: raised by the agent, not the engine */
    HA_NOTIF_CONTACT_SOURCE_LOST = 23, /* 00-52119: raised by the agent, not the engine */
    HA_NOTIF_COUNT = 23,
};

const char *ha_role_name(enum ha_role r);
const char *ha_status_name(enum ha_status s);
const char *ha_reason_name(enum ha_reason r);

#endif
