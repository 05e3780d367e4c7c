/* ha_adapter.c — interim: local role changes only, until the HA engine and link land. */
#include <stdio.h>

#include "ha_adapter.h"
#include "notify.h"

static void set_role(struct agent *a, enum ha_role role, enum ha_reason reason)
{
    struct sipha_instance *in = &a->inst;
    if (in->role == role)
        return;
    bool switchover = in->role != HA_ROLE_UNKNOWN;
    in->role = role;
    in->last_reason = reason;
    if (role == HA_ROLE_PRIMARY)
        in->epoch++;
    char detail[96];
    snprintf(detail, sizeof(detail), "now %s (%s)", ha_role_name(role), ha_reason_name(reason));
    notify_emit(a, NOTIF_ROLE_CHANGE, 0, detail);
    if (switchover) {
        in->switchovers++;
        in->last_switchover = loop_now_ms();
        notify_emit(a, NOTIF_SWITCHOVER, 0, detail);
    }
}

int ha_adapter_start(struct agent *a)
{
    a->inst.status = HA_STATUS_RUNNING;
    set_role(a, a->cfg.initial_role, HA_REASON_STARTUP);
    return 0;
}

void ha_adapter_stop(struct agent *a)
{
    (void)a;
}

void ha_adapter_admin(struct agent *a, enum ha_admin_cmd cmd)
{
    struct sipha_instance *in = &a->inst;
    switch (cmd) {
    case HA_CMD_SWITCHOVER:
        set_role(a, in->role == HA_ROLE_PRIMARY ? HA_ROLE_BACKUP : HA_ROLE_PRIMARY, HA_REASON_ADMIN);
        break;
    case HA_CMD_BECOME_PRIMARY:
        set_role(a, HA_ROLE_PRIMARY, HA_REASON_ADMIN);
        break;
    case HA_CMD_BECOME_BACKUP:
        set_role(a, HA_ROLE_BACKUP, HA_REASON_ADMIN);
        break;
    default:
        in->admin_result = HA_RESULT_REFUSED;
        return;
    }
    in->admin_result = HA_RESULT_SUCCESS;
}

void ha_adapter_peer_message(struct agent *a, const struct ha_peer_msg *m)
{
    (void)a;
    (void)m;
}

void ha_adapter_options_changed(struct agent *a)
{
    (void)a;
}

void ha_adapter_alarm_cleared(struct agent *a, unsigned code)
{
    (void)a;
    (void)code;
}
