/* state_save.h — the instance's persistent state (options set by SNMP, the epoch, the
 * event log) written to its state directory, and that directory's health as the MIB
 * shows it (siphaInstStateDirStatus) with the siphaStateDirFailure alarm. */
#ifndef SIPHA_STATE_SAVE_H
#define SIPHA_STATE_SAVE_H

#include "context.h"

/* How often a failed directory is tried again, so that its recovery is seen (and
 * the alarm cleared) without waiting for the next change. */
#define STATE_SAVE_RETRY_MS 10000u

/* Sets the initial status: notConfigured without a state directory, else ok. */
void state_save_init(struct agent *a);
/* Writes the current state now. 0 (or no directory configured); -1 when it could not
 * be written: the status turns failed, the alarm is raised once, and a retry timer
 * runs until a save succeeds (which clears the alarm). */
int state_save_now(struct agent *a);
void state_save_stop(struct agent *a);

#endif
