/* ha_link.h — the HA link of this instance (halink.c) wired to the engine and to
 * the contact table. Without a <peer> all of these do nothing. */
#ifndef SIPHA_HA_LINK_H
#define SIPHA_HA_LINK_H

#include "agent.h"
#include "ha_engine.h"

int ha_link_start(struct agent *a);
void ha_link_stop(struct agent *a);
void ha_link_send(struct agent *a, const struct ha_peer_msg *m);
/* The backup pulls the primary's contacts; the primary does not. */
void ha_link_role_changed(struct agent *a, enum ha_role role);

#endif
