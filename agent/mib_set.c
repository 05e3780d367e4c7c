/* mib_set.c — which SIPHA-MIB columns may be written, with which values, and which
 * control.c action an accepted SET becomes. */
#include <string.h>

#include "control.h"
#include "mib_set.h"

#define TV_TRUE 1
#define TV_FALSE 2

unsigned mibset_option_bit(unsigned col)
{
    switch (col) {
    case INST_COL_OPT_SIP_PASS_CHECK: return HA_OPT_SIP_PASS_CHECK;
    case INST_COL_OPT_CONTROL_VIP_SCRIPTS: return HA_OPT_CONTROL_VIP_SCRIPTS;
    case INST_COL_OPT_IPTAKEOVER_MON: return HA_OPT_IPTAKEOVER_MONITORING;
    case INST_COL_OPT_TLIB_NIC_MON: return HA_OPT_TLIB_NIC_MONITORING;
    case INST_COL_OPT_SIP_NIC_MON: return HA_OPT_SIP_NIC_MONITORING;
    default: return 0;
    }
}

/* Every writable column is an INTEGER enumeration. */
static int check_integer(const netsnmp_variable_list *vb, long *value)
{
    if (vb->type != ASN_INTEGER)
        return SNMP_ERR_WRONGTYPE;
    if (vb->val_len != sizeof(long) || !vb->val.integer)
        return SNMP_ERR_WRONGLENGTH;
    *value = *vb->val.integer;
    return SNMP_ERR_NOERROR;
}

static int check_admin(const struct sipha_instance *in, const struct sipha_config *cfg, long v)
{
    (void)cfg;
    if (v < HA_CMD_SWITCHOVER || v > HA_CMD_BECOME_BACKUP)
        return SNMP_ERR_WRONGVALUE;
    /* One command at a time: a second one while a switchover is under way would race
     * the handover. */
    if (instance_ha(in)->admin_result == HA_RESULT_IN_PROGRESS)
        return SNMP_ERR_INCONSISTENTVALUE;
    return SNMP_ERR_NOERROR;
}

/* Turning an option on that the configuration cannot support (no service DN to
 * probe, no VIP, ...) would make a rule that can never work: refused. */
static int check_option(const struct sipha_instance *in, const struct sipha_config *cfg,
                        unsigned bit, long v)
{
    if (v != TV_TRUE && v != TV_FALSE)
        return SNMP_ERR_WRONGVALUE;
    unsigned opts = v == TV_TRUE ? (instance_options(in) | bit) : (instance_options(in) & ~bit);
    return config_options_problem(cfg, opts) ? SNMP_ERR_INCONSISTENTVALUE : SNMP_ERR_NOERROR;
}

static int check_instance(const struct sipha_instance *in, const struct sipha_config *cfg,
                          unsigned col, const netsnmp_variable_list *vb)
{
    long v;
    int err;
    if (mibset_option_bit(col)) {
        if ((err = check_integer(vb, &v)) != SNMP_ERR_NOERROR)
            return err;
        return check_option(in, cfg, mibset_option_bit(col), v);
    }
    if (col == INST_COL_ADMIN_COMMAND) {
        if ((err = check_integer(vb, &v)) != SNMP_ERR_NOERROR)
            return err;
        return check_admin(in, cfg, v);
    }
    return SNMP_ERR_NOTWRITABLE;
}

static int check_event(const struct sipha_instance *in, unsigned col, uint32_t row,
                       const netsnmp_variable_list *vb)
{
    long v;
    int err;
    if (col != EVENT_COL_ALARM_STATE)
        return SNMP_ERR_NOTWRITABLE;
    const struct evlog_entry *e = evlog_find(&in->events, row);
    if (!e)
        return SNMP_ERR_NOCREATION;
    if ((err = check_integer(vb, &v)) != SNMP_ERR_NOERROR)
        return err;
    if (v != ALARM_CLEARED)
        return SNMP_ERR_WRONGVALUE; /* an operator clears alarms; only sipha raises them */
    return e->alarm == ALARM_ACTIVE ? SNMP_ERR_NOERROR : SNMP_ERR_INCONSISTENTVALUE;
}

bool mibset_is_persistent(enum sipha_table_id table, unsigned col)
{
    return (table == SIPHA_T_INSTANCE && mibset_option_bit(col) != 0) ||
           (table == SIPHA_T_EVENT && col == EVENT_COL_ALARM_STATE);
}

int mibset_check(const struct sipha_instance *in, const struct sipha_config *cfg,
                 enum sipha_table_id table, unsigned col, uint32_t row,
                 const netsnmp_variable_list *vb)
{
    switch (table) {
    case SIPHA_T_INSTANCE: return check_instance(in, cfg, col, vb);
    case SIPHA_T_EVENT: return check_event(in, col, row, vb);
    default: return SNMP_ERR_NOTWRITABLE;
    }
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
        control_set_options(a, v == 1 ? (instance_options(&a->inst) | bit) : (instance_options(&a->inst) & ~bit));
        return;
    }
    if (col == INST_COL_ADMIN_COMMAND)
        control_admin(a, (enum ha_admin_cmd)v);
}
