/* ha_adapter.h — connects the pure HA engine to the agent: feeds it monitor events,
 * SETs, peer messages and timer ticks, and carries out its decisions (role, status,
 * VIP scripts, notifications, messages to the peer). */
#ifndef SIPHA_HA_ADAPTER_H
#define SIPHA_HA_ADAPTER_H

#include "context.h"
#include "ha_engine.h"

/* Starts the engine and its modules, and runs the first step. On failure whatever
 * was started is stopped again (a->ha is NULL) and -1 is returned. */
int ha_adapter_start(struct agent *a);
/* Graceful stop: a primary releases the role (VIP down scripts, TAKEOVER to the
 * peer); then nothing takes a role any more. done = the process may exit. */
void ha_adapter_shutdown(struct agent *a);
bool ha_adapter_shutdown_done(struct agent *a);
void ha_adapter_stop(struct agent *a);
/* At most this many inputs raised while one input is carried out (its step's outputs,
 * and those of the steps the raised inputs get) wait for their own step; the engine
 * writes at most a few script runs and messages per step. */
#define HA_ADAPTER_PENDING_MAX 32

/* Feeds one input to the engine (NULL: only its timers) and carries out what it
 * decides, in this order: the outputs in the engine's order (role, scripts,
 * notifications, peer messages), then the VIPs' announcement/lifetime keeper, then
 * the heartbeat's content; the MIB reads the engine's state in place throughout.
 * An input that arrives from inside that work (a callback of an output) gets its own
 * step right after, never a nested one. The engine's timer is re-armed last. */
void ha_adapter_input(struct agent *a, const struct ha_input *in);
/* Inputs raised beyond HA_ADAPTER_PENDING_MAX in one pass (each pass that drops
 * some logs how many), since the start. */
uint32_t ha_adapter_inputs_dropped(const struct agent *a);
void ha_adapter_admin(struct agent *a, enum ha_admin_cmd cmd);
/* The operator set the option flags (before the engine runs: its boot options). */
void ha_adapter_set_options(struct agent *a, unsigned options);
/* An operator cleared an alarm of event code `code` (4200, 52115). */
void ha_adapter_alarm_cleared(struct agent *a, unsigned code);

#endif
