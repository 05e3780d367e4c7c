/* control.c — the effects of SETs. Role changes go through the HA adapter so that a
 * switchover asked by an operator follows the same path as one asked by a monitor. */
#include <stdio.h>

#include <net-snmp/net-snmp-config.h>
#include <net-snmp/net-snmp-includes.h>

#include "control.h"
#include "ha_adapter.h"
#include "mib_set.h"
#include "notify.h"

void control_set_options(struct agent *a, unsigned options)
{
    if (options == a->inst.options)
        return;
    a->inst.options = options;
    ha_adapter_options_changed(a);
    agent_request_save(a);
}

void control_admin(struct agent *a, enum ha_admin_cmd cmd)
{
    a->inst.admin_cmd = cmd;
    a->inst.admin_time = loop_now_ms();
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

void mibset_apply(struct agent *a, enum sipha_table_id table, unsigned col, uint32_t row,
                  const netsnmp_variable_list *vb)
{
    long v = *vb->val.integer;
    if (table == SIPHA_T_EVENT) {
        control_clear_alarm(a, row);
        return;
    }
    unsigned bit = mibset_option_bit(col);
    if (bit) {
        control_set_options(a, v == 1 ? (a->inst.options | bit) : (a->inst.options & ~bit));
        return;
    }
    if (col == INST_COL_ADMIN_COMMAND)
        control_admin(a, (enum ha_admin_cmd)v);
}
