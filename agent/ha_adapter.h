/* ha_adapter.h — connects the pure HA engine to the agent: feeds it monitor events,
 * SETs, peer messages and timer ticks, and carries out its decisions (role, status,
 * VIP scripts, notifications, messages to the peer). */
#ifndef SIPHA_HA_ADAPTER_H
#define SIPHA_HA_ADAPTER_H

#include "agent.h"
#include "ha_engine.h"

int ha_adapter_start(struct agent *a);
/* Graceful stop: a primary releases the role (VIP down scripts, TAKEOVER to the
 * peer); then nothing takes a role any more. done = the process may exit. */
void ha_adapter_shutdown(struct agent *a);
bool ha_adapter_shutdown_done(struct agent *a);
void ha_adapter_stop(struct agent *a);
/* Feeds one input to the engine now and carries out what it decides. */
void ha_adapter_input(struct agent *a, const struct ha_input *in);
void ha_adapter_admin(struct agent *a, enum ha_admin_cmd cmd);
void ha_adapter_peer_message(struct agent *a, const struct ha_peer_msg *m);
void ha_adapter_options_changed(struct agent *a);
/* An operator cleared an alarm of event code `code` (4200, 52115). */
void ha_adapter_alarm_cleared(struct agent *a, unsigned code);

#endif
