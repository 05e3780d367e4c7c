/* notify_defs.h — every SIPHA-MIB notification: its OID, log event id, severity and
 * varbinds. One table drives the agent's sender, the event log and sipha-trapgen, so
 * a notification is described once. */
#ifndef SIPHA_NOTIFY_DEFS_H
#define SIPHA_NOTIFY_DEFS_H

#include <stdbool.h>
#include <stddef.h>

#include "ha_types.h"

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
    enum ha_notif id;
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
const struct notif_def *notif_def_get(enum ha_notif id);
/* Returns the definition named `name` (case-sensitive descriptor), or NULL. */
const struct notif_def *notif_def_by_name(const char *name);

#endif
