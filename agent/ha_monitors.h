/* ha_monitors.h — the kernel monitors of one instance, their events turned into HA
 * engine inputs and MIB counters. */
#ifndef SIPHA_HA_MONITORS_H
#define SIPHA_HA_MONITORS_H

#include "agent.h"

int ha_monitors_start(struct agent *a);
void ha_monitors_stop(struct agent *a);

#endif
