/* ha_scripts.h — VIP up/down scripts asked for by the HA engine. */
#ifndef SIPHA_HA_SCRIPTS_H
#define SIPHA_HA_SCRIPTS_H

#include <stdbool.h>
#include <stdint.h>

#include "context.h"

int ha_scripts_start(struct agent *a);
void ha_scripts_stop(struct agent *a);
/* Runs VIP `idx`'s up or down script; a run still going for that VIP is killed
 * first (the newer decision wins). The end comes back as a SCRIPT_DONE input. */
void ha_scripts_run(struct agent *a, uint32_t idx, bool up, uint32_t seq);

#endif
