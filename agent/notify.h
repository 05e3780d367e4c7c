/* notify.h — sending a SIPHA-MIB notification: log it (event table and syslog), then
 * send it through the AgentX master, or queue it while the master is away. */
#ifndef SIPHA_NOTIFY_H
#define SIPHA_NOTIFY_H

#include <stdint.h>

#include "context.h"
#include "notify_defs.h"

/* Logs and sends notification `id` about row `row` of its table (0 for the instance).
 * `detail` (may be NULL) is appended to the log text. Returns the event index. */
uint32_t notify_emit(struct agent *a, enum ha_notif id, uint32_t row, const char *detail);

/* Marks every active log row of alarm `alarm` (0: of any alarm) cleared and sends one siphaAlarmCleared
 * about the last of them (`detail` in its log text); nothing when none is active. */
void notify_clear_alarm(struct agent *a, enum ha_notif alarm, const char *detail);

/* Sends queued notifications in order once the master is back, at the allowed rate
 * (the rest follow from a timer). */
void notify_flush(struct agent *a);
void notify_init(struct agent *a);
void notify_stop(struct agent *a);

#endif
