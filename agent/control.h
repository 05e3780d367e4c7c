/* control.h — what an accepted SET does: option flags, admin commands, alarm clear. */
#ifndef SIPHA_CONTROL_H
#define SIPHA_CONTROL_H

#include <stddef.h>

#include "context.h"

void control_set_options(struct agent *a, unsigned options);
void control_admin(struct agent *a, enum ha_admin_cmd cmd);
void control_clear_alarm(struct agent *a, uint32_t event_index);

#endif
