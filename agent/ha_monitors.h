/* ha_monitors.h — the kernel monitors of one instance, their events turned into HA
 * engine inputs and MIB counters. */
#ifndef SIPHA_HA_MONITORS_H
#define SIPHA_HA_MONITORS_H

#include <stdbool.h>

#include "context.h"
#include "monitor.h"

int ha_monitors_start(struct agent *a);
void ha_monitors_stop(struct agent *a);

/* What a monitor reports (the emit callback of every monitor but the arbiter's),
 * and the arbiter's verdict: turned into MIB counters and engine inputs. */
void ha_monitors_event(struct agent *a, const struct mon_event *ev);
void ha_monitors_arbiter(struct agent *a, bool reachable);
/* Whether the SIP server that should hold the listener runs (kind kamailio: its
 * event stream is up, or down for less than a grace). A port held by another process
 * while the server does not run is no listener: 00-04200 as if it were closed. */
void ha_monitors_server_alive(struct agent *a, bool alive);

/* For tests: ha_monitors_start then sets up the tracking only and opens no kernel
 * monitor, so that events come solely through ha_monitors_event/_arbiter. */
void ha_monitors_test_no_sources(bool on);

#endif
