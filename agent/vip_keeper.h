/* vip_keeper.h — what the primary does for its VIPs beyond the operator's scripts:
 * it tells the network where each VIP now lives (gratuitous ARP / unsolicited
 * neighbour advertisements, agent/vip_announce.h) and keeps each VIP on a short
 * address lifetime that only a live agent renews (agent/vip_lifetime.h), so a
 * killed agent's VIP leaves its host by itself. Driven by the engine's state after
 * every step, and by one renewal timer. */
#ifndef SIPHA_VIP_KEEPER_H
#define SIPHA_VIP_KEEPER_H

#include "context.h"
#include "ha_engine.h"

int vipkeep_start(struct agent *a);
void vipkeep_stop(struct agent *a);
/* After every engine step: announce VIPs that just became present on the primary,
 * put their lifetime on them, forget them on the backup. */
void vipkeep_sync(struct agent *a, const struct ha_state *st);
/* A two-primary episode ended, or the peer is heard again, with this instance
 * primary: announce again, since clients may have turned to the other host (its
 * announcements, or its kernel answering ARP for a VIP it still held). */
void vipkeep_reannounce(struct agent *a);

#endif
