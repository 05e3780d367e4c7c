/* notify_defs.h — every SIPHA-MIB notification: its OID, log event id, severity and
 * varbinds. One table drives the agent's sender, the event log and sipha-trapgen, so
 * a notification is described once. */
#ifndef SIPHA_NOTIFY_DEFS_H
#define SIPHA_NOTIFY_DEFS_H

#include <stdbool.h>
#include <stddef.h>

/* Sub-identifier under siphaNotifications (siphaMIB.0.N). */
enum notif_id {
    NOTIF_ROLE_CHANGE = 1,
    NOTIF_STATUS_CHANGE = 2,
    NOTIF_SWITCHOVER = 3,
    NOTIF_SIP_TRAFFIC_LOST = 4,
    NOTIF_SIP_TRAFFIC_RESTORED = 5,
    NOTIF_DN_OUT_OF_SERVICE = 6,
    NOTIF_DN_IN_SERVICE = 7,
    NOTIF_DOUBLE_SWITCHOVER = 8,
    NOTIF_LISTENER_BIND_FAILURE = 9, /* 00-04200 */
    NOTIF_LISTENER_BOUND = 10,
    NOTIF_NIC_FAILURE = 11,          /* SIP NIC: 00-52027 */
    NOTIF_NIC_RECOVERY = 12,         /* SIP NIC: 00-52028 */
    NOTIF_VIP_FAILURE = 13,          /* 00-52029 */
    NOTIF_VIP_SUCCESS = 14,          /* 00-52030 */
    NOTIF_PEER_LOST = 15,
    NOTIF_PEER_FOUND = 16,
    NOTIF_ARBITER_LOST = 17,
    NOTIF_ARBITER_FOUND = 18,
    NOTIF_SPLIT_BRAIN_DETECTED = 19,
    NOTIF_SPLIT_BRAIN_RESOLVED = 20,
    NOTIF_ALARM_CLEARED = 21,
    NOTIF_COUNT = 21,
};

/* siphaEventSeverity: the log levels of Genesys-style servers. */
enum notif_severity {
    SEV_ALARM = 1,
    SEV_STANDARD = 2,
    SEV_INTERACTION = 3,
    SEV_TRACE = 4,
    SEV_DEBUG = 5,
};

/* A varbind is a column of one of the tables of sipha_mib.h; its instance is the
 * instance index, followed by the row index of `row_table` when the column belongs to
 * that row's table, or by the event index for SIPHA_T_EVENT columns. */
struct notif_varbind {
    unsigned char table;  /* enum sipha_table_id */
    unsigned char column;
};

#define NOTIF_MAX_VARBINDS 8

struct notif_def {
    enum notif_id id;
    const char *name;        /* SIPHA-MIB descriptor, e.g. "siphaRoleChange" */
    const char *event_id;    /* log event id, e.g. "00-52100" */
    unsigned code;           /* numeric form of event_id */
    enum notif_severity severity;
    bool is_alarm;           /* logged with alarm state active until cleared */
    unsigned char row_table; /* table the notification speaks of a row of; SIPHA_T_INSTANCE if none */
    const char *text;        /* printf-free summary for the log line */
    size_t nvarbinds;
    struct notif_varbind varbinds[NOTIF_MAX_VARBINDS];
};

/* Returns the definition of `id`, or NULL when out of range. */
const struct notif_def *notif_def_get(enum notif_id id);
/* Returns the definition named `name` (case-sensitive descriptor), or NULL. */
const struct notif_def *notif_def_by_name(const char *name);

#endif
