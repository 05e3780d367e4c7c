/* ha_link.h — the HA link of this instance (halink/hl_link.h) wired to the engine,
 * and the contact table. Without a <peer> all of these do nothing. */
#ifndef SIPHA_HA_LINK_H
#define SIPHA_HA_LINK_H

#include "context.h"
#include "ha_engine.h"

int ha_link_start(struct agent *a);
void ha_link_stop(struct agent *a);
/* A message of the engine for the peer (TAKEOVER, RELEASE). */
void ha_link_send(struct agent *a, const struct ha_peer_msg *m);
/* What our heartbeats say, after every engine step. */
void ha_link_publish(struct agent *a, const struct ha_peer_state *self);
/* The backup pulls the primary's contacts; the primary does not. */
void ha_link_role_changed(struct agent *a, enum ha_role role);
/* Our local contacts changed: the peer's next heartbeat tells it to pull. */
void ha_link_contacts_changed(struct agent *a);

#endif
