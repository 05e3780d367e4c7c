/* SET validation: every writable column, every error class, and nothing else
 * writable. mibset_check is pure, so the instance is compared before and after. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "mib_set.h"

struct fixture {
    struct sipha_instance in;
    struct ha_state ha; /* what in.ha shows: the engine's state */
    struct sipha_config cfg;
    struct config_nic nics[2];
    struct config_vip vip;
    struct config_dn dn;
};

/* A configuration on which every option can be turned on. */
static void full_config(struct fixture *f)
{
    f->nics[0].purpose = HA_NIC_MANAGEMENT;
    f->nics[1].purpose = HA_NIC_SIP;
    snprintf(f->vip.up_script, sizeof(f->vip.up_script), "/bin/true");
    snprintf(f->vip.down_script, sizeof(f->vip.down_script), "/bin/true");
    f->dn.oos_check = 10;
    f->cfg.nics = f->nics;
    f->cfg.n_nics = 2;
    f->cfg.vips = &f->vip;
    f->cfg.n_vips = 1;
    f->cfg.dns = &f->dn;
    f->cfg.n_dns = 1;
    f->cfg.has_arbiter = true;
}

static int setup(void **state)
{
    static struct fixture f;
    memset(&f, 0, sizeof(f));
    full_config(&f);
    instance_init(&f.in);
    f.in.index = 1;
    f.ha.admin_result = HA_RESULT_NONE;
    f.in.ha = &f.ha;
    struct evlog_entry e = { .alarm = ALARM_ACTIVE, .notif = HA_NOTIF_LISTENER_BIND_FAILURE };
    snprintf(e.id, sizeof(e.id), "00-04200");
    evlog_append(&f.in.events, &e);          /* index 1: active alarm */
    e.alarm = ALARM_NONE;
    evlog_append(&f.in.events, &e);          /* index 2: not an alarm */
    e.alarm = ALARM_CLEARED;
    evlog_append(&f.in.events, &e);          /* index 3: cleared alarm */
    *state = &f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    instance_free(&f->in);
    return 0;
}

static int check_int(struct fixture *f, enum sipha_table_id t, unsigned col, uint32_t row, long v)
{
    netsnmp_variable_list vb;
    memset(&vb, 0, sizeof(vb));
    snmp_set_var_typed_value(&vb, ASN_INTEGER, &v, sizeof(v));
    int rc = mibset_check(&f->in, &f->cfg, t, col, row, &vb);
    snmp_free_var_internals(&vb);
    return rc;
}

static void options_accept_true_false_only(void **state)
{
    struct fixture *f = *state;
    for (unsigned col = INST_COL_OPT_SIP_PASS_CHECK; col <= INST_COL_OPT_SIP_NIC_MON; col++) {
        assert_int_not_equal(mibset_option_bit(col), 0);
        assert_int_equal(check_int(f, SIPHA_T_INSTANCE, col, 0, 1), SNMP_ERR_NOERROR);
        assert_int_equal(check_int(f, SIPHA_T_INSTANCE, col, 0, 2), SNMP_ERR_NOERROR);
        assert_int_equal(check_int(f, SIPHA_T_INSTANCE, col, 0, 0), SNMP_ERR_WRONGVALUE);
        assert_int_equal(check_int(f, SIPHA_T_INSTANCE, col, 0, 3), SNMP_ERR_WRONGVALUE);
        assert_int_equal(check_int(f, SIPHA_T_INSTANCE, col, 0, -1), SNMP_ERR_WRONGVALUE);
    }
}

static void options_the_config_cannot_serve(void **state)
{
    struct fixture *f = *state;
    f->cfg.n_dns = 0;         /* nothing to probe: sip-pass-check cannot work */
    f->cfg.has_arbiter = false;
    assert_int_equal(check_int(f, SIPHA_T_INSTANCE, INST_COL_OPT_SIP_PASS_CHECK, 0, 1),
                     SNMP_ERR_INCONSISTENTVALUE);
    assert_int_equal(check_int(f, SIPHA_T_INSTANCE, INST_COL_OPT_CONTROL_VIP_SCRIPTS, 0, 1),
                     SNMP_ERR_INCONSISTENTVALUE);
    /* Turning them off is always possible. */
    assert_int_equal(check_int(f, SIPHA_T_INSTANCE, INST_COL_OPT_SIP_PASS_CHECK, 0, 2), SNMP_ERR_NOERROR);
    full_config(f);
}

static void option_bits_are_distinct(void **state)
{
    (void)state;
    unsigned seen = 0;
    for (unsigned col = INST_COL_OPT_SIP_PASS_CHECK; col <= INST_COL_OPT_SIP_NIC_MON; col++) {
        assert_int_equal(seen & mibset_option_bit(col), 0);
        seen |= mibset_option_bit(col);
    }
    assert_int_equal(mibset_option_bit(INST_COL_ADMIN_COMMAND), 0);
}

static void wrong_type_and_length(void **state)
{
    struct fixture *f = *state;
    netsnmp_variable_list vb;
    memset(&vb, 0, sizeof(vb));
    snmp_set_var_typed_value(&vb, ASN_OCTET_STR, "true", 4);
    assert_int_equal(mibset_check(&f->in, &f->cfg, SIPHA_T_INSTANCE, INST_COL_OPT_SIP_PASS_CHECK, 0, &vb),
                     SNMP_ERR_WRONGTYPE);
    snmp_free_var_internals(&vb);
    u_long u = 1;
    snmp_set_var_typed_value(&vb, ASN_UNSIGNED, &u, sizeof(u));
    assert_int_equal(mibset_check(&f->in, &f->cfg, SIPHA_T_INSTANCE, INST_COL_ADMIN_COMMAND, 0, &vb),
                     SNMP_ERR_WRONGTYPE);
    snmp_free_var_internals(&vb);
    /* An INTEGER whose length is not that of a long: wrongLength. */
    long v = 1;
    snmp_set_var_typed_value(&vb, ASN_INTEGER, &v, sizeof(v));
    vb.val_len = 2;
    assert_int_equal(mibset_check(&f->in, &f->cfg, SIPHA_T_INSTANCE, INST_COL_OPT_SIP_PASS_CHECK, 0, &vb),
                     SNMP_ERR_WRONGLENGTH);
    vb.val_len = sizeof(long);
    snmp_free_var_internals(&vb);
}

static void admin_command_values(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(check_int(f, SIPHA_T_INSTANCE, INST_COL_ADMIN_COMMAND, 0, 1), SNMP_ERR_WRONGVALUE);
    for (long v = HA_CMD_SWITCHOVER; v <= HA_CMD_BECOME_BACKUP; v++)
        assert_int_equal(check_int(f, SIPHA_T_INSTANCE, INST_COL_ADMIN_COMMAND, 0, v), SNMP_ERR_NOERROR);
    assert_int_equal(check_int(f, SIPHA_T_INSTANCE, INST_COL_ADMIN_COMMAND, 0, 7), SNMP_ERR_WRONGVALUE);
    /* The HA link's messages are not operator commands. */
    assert_int_equal(check_int(f, SIPHA_T_INSTANCE, INST_COL_ADMIN_COMMAND, 0, HA_CMD_PEER_TAKEOVER),
                     SNMP_ERR_WRONGVALUE);
    assert_int_equal(check_int(f, SIPHA_T_INSTANCE, INST_COL_ADMIN_COMMAND, 0, HA_CMD_PEER_RELEASE),
                     SNMP_ERR_WRONGVALUE);
    /* One command at a time. */
    f->ha.admin_result = HA_RESULT_IN_PROGRESS;
    assert_int_equal(check_int(f, SIPHA_T_INSTANCE, INST_COL_ADMIN_COMMAND, 0, HA_CMD_SWITCHOVER),
                     SNMP_ERR_INCONSISTENTVALUE);
    f->ha.admin_result = HA_RESULT_NONE;
    f->cfg.has_peer = false;
}

/* Sub-id 40 carried the peer's handover messages when the HA link rode on SNMP; the
 * agents now use their own datagrams, so nothing may be written there any more. */
static void old_link_message_column_refused(void **state)
{
    struct fixture *f = *state;
    f->cfg.has_peer = true;
    netsnmp_variable_list vb;
    memset(&vb, 0, sizeof(vb));
    snmp_set_var_typed_value(&vb, ASN_OCTET_STR, "release", 7);
    assert_int_equal(mibset_check(&f->in, &f->cfg, SIPHA_T_INSTANCE, 40, 0, &vb), SNMP_ERR_NOTWRITABLE);
    snmp_free_var_internals(&vb);
    f->cfg.has_peer = false;
}

static void read_only_columns(void **state)
{
    struct fixture *f = *state;
    for (unsigned col = 2; col <= INST_COL_LAST; col++) {
        if (mibset_option_bit(col) || col == INST_COL_ADMIN_COMMAND)
            continue;
        assert_int_equal(check_int(f, SIPHA_T_INSTANCE, col, 0, 1), SNMP_ERR_NOTWRITABLE);
    }
    for (enum sipha_table_id t = SIPHA_T_NIC; t <= SIPHA_T_CONTACT; t++)
        assert_int_equal(check_int(f, t, 2, 1, 1), SNMP_ERR_NOTWRITABLE);
    for (unsigned col = 2; col < EVENT_COL_ALARM_STATE; col++)
        assert_int_equal(check_int(f, SIPHA_T_EVENT, col, 1, 1), SNMP_ERR_NOTWRITABLE);
}

static void alarm_clear(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(check_int(f, SIPHA_T_EVENT, EVENT_COL_ALARM_STATE, 1, ALARM_CLEARED), SNMP_ERR_NOERROR);
    assert_int_equal(check_int(f, SIPHA_T_EVENT, EVENT_COL_ALARM_STATE, 1, ALARM_ACTIVE), SNMP_ERR_WRONGVALUE);
    assert_int_equal(check_int(f, SIPHA_T_EVENT, EVENT_COL_ALARM_STATE, 1, ALARM_NONE), SNMP_ERR_WRONGVALUE);
    assert_int_equal(check_int(f, SIPHA_T_EVENT, EVENT_COL_ALARM_STATE, 2, ALARM_CLEARED),
                     SNMP_ERR_INCONSISTENTVALUE);
    assert_int_equal(check_int(f, SIPHA_T_EVENT, EVENT_COL_ALARM_STATE, 3, ALARM_CLEARED),
                     SNMP_ERR_INCONSISTENTVALUE);
    assert_int_equal(check_int(f, SIPHA_T_EVENT, EVENT_COL_ALARM_STATE, 99, ALARM_CLEARED), SNMP_ERR_NOCREATION);
    /* Checking changed nothing. */
    assert_int_equal(evlog_find(&f->in.events, 1)->alarm, ALARM_ACTIVE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(options_accept_true_false_only),
        cmocka_unit_test(options_the_config_cannot_serve),
        cmocka_unit_test(option_bits_are_distinct),
        cmocka_unit_test(wrong_type_and_length),
        cmocka_unit_test(admin_command_values),
        cmocka_unit_test(old_link_message_column_refused),
        cmocka_unit_test(read_only_columns),
        cmocka_unit_test(alarm_clear),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
