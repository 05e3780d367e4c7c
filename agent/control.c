/* control.c — the effects of SETs. Role changes go through the HA adapter so that a
 * switchover asked by an operator follows the same path as one asked by a monitor. */
#include <stdio.h>

#include <net-snmp/net-snmp-config.h>
#include <net-snmp/net-snmp-includes.h>

#include "control.h"
#include "ha_adapter.h"
#include "notify.h"

void control_set_options(struct agent *a, unsigned options)
{
    if (options == instance_options(&a->inst))
        return;
    ha_adapter_set_options(a, options);
    agent_request_save(a);
}

void control_admin(struct agent *a, enum ha_admin_cmd cmd)
{
    a->inst.admin_cmd = cmd;
    a->inst.admin_time = loop_now(a->loop);
    ha_adapter_admin(a, cmd);
}

void control_clear_alarm(struct agent *a, uint32_t event_index)
{
    struct evlog_entry *e = evlog_find(&a->inst.events, event_index);
    if (!e || e->alarm != ALARM_ACTIVE)
        return;
    e->alarm = ALARM_CLEARED;
    char detail[64];
    snprintf(detail, sizeof(detail), "%s (event %u)", e->id, event_index);
    notify_emit(a, HA_NOTIF_ALARM_CLEARED, event_index, detail);
    ha_adapter_alarm_cleared(a, e->code);
    agent_request_save(a);
}
