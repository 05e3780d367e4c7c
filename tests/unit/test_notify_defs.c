/* The notification table (ids, names, event ids, varbinds) and the varbind builder
 * shared by the agent and sipha-trapgen: every notification gives sysUpTime.0,
 * snmpTrapOID.0, then its columns with the instance and row indexes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "mib_values.h"
#include "notify_build.h"
#include "notify_defs.h"
#include "sample_instance.h"
#include "sipha_mib.h"

static const struct notif_def *def_of(unsigned id)
{
    const struct notif_def *d = notif_def_get((enum ha_notif)id);
    assert_non_null(d);
    return d;
}

static void every_id_present(void **state)
{
    (void)state;
    for (unsigned id = 1; id <= HA_NOTIF_COUNT; id++)
        assert_int_equal(def_of(id)->id, id);
    assert_null(notif_def_get((enum ha_notif)0));
    assert_null(notif_def_get((enum ha_notif)(HA_NOTIF_COUNT + 1)));
}

static void names_unique_and_found(void **state)
{
    (void)state;
    for (unsigned a = 1; a <= HA_NOTIF_COUNT; a++) {
        const struct notif_def *d = def_of(a);
        assert_non_null(d->name);
        assert_true(strncmp(d->name, "sipha", 5) == 0);
        assert_ptr_equal(notif_def_by_name(d->name), d);
        for (unsigned b = a + 1; b <= HA_NOTIF_COUNT; b++)
            assert_string_not_equal(d->name, def_of(b)->name);
    }
    assert_null(notif_def_by_name("siphaNoSuchThing"));
    assert_null(notif_def_by_name("SIPHAROLECHANGE"));
    assert_null(notif_def_by_name(""));
}

/* "NN-NNNNN": two digits, a dash, five digits; code is the number they make. */
static void event_ids_well_formed_and_unique(void **state)
{
    (void)state;
    for (unsigned a = 1; a <= HA_NOTIF_COUNT; a++) {
        const struct notif_def *d = def_of(a);
        const char *e = d->event_id;
        assert_int_equal(strlen(e), 8);
        for (int i = 0; i < 8; i++) {
            if (i == 2)
                assert_int_equal(e[i], '-');
            else
                assert_true(e[i] >= '0' && e[i] <= '9');
        }
        unsigned code = (unsigned)((e[0] - '0') * 10 + (e[1] - '0')) * 100000u
                      + (unsigned)strtoul(e + 3, NULL, 10);
        assert_int_equal(d->code, code);
        for (unsigned b = a + 1; b <= HA_NOTIF_COUNT; b++) {
            assert_string_not_equal(e, def_of(b)->event_id);
            assert_int_not_equal(d->code, def_of(b)->code);
        }
    }
}

static void seed_event_ids(void **state)
{
    (void)state;
    static const struct { const char *name, *event_id; } seed[] = {
        { "siphaListenerBindFailure", "00-04200" },
        { "siphaNicFailure", "00-52027" },
        { "siphaNicRecovery", "00-52028" },
        { "siphaVipFailure", "00-52029" },
        { "siphaVipSuccess", "00-52030" },
    };
    for (size_t i = 0; i < sizeof(seed) / sizeof(seed[0]); i++) {
        const struct notif_def *d = notif_def_by_name(seed[i].name);
        assert_non_null(d);
        assert_string_equal(d->event_id, seed[i].event_id);
    }
    /* 00-04200 is an alarm that stays active until cleared. */
    assert_true(notif_def_by_name("siphaListenerBindFailure")->is_alarm);
}

static bool has_varbind(const struct notif_def *d, unsigned table, unsigned column)
{
    for (size_t i = 0; i < d->nvarbinds; i++)
        if (d->varbinds[i].table == table && d->varbinds[i].column == column)
            return true;
    return false;
}

static void varbinds_valid(void **state)
{
    (void)state;
    for (unsigned id = 1; id <= HA_NOTIF_COUNT; id++) {
        const struct notif_def *d = def_of(id);
        assert_true(d->severity >= SEV_ALARM && d->severity <= SEV_DEBUG);
        if (d->is_alarm)
            assert_int_equal(d->severity, SEV_ALARM);
        assert_true(d->text && *d->text && strlen(d->text) < EVLOG_TEXT_MAX);
        assert_true(d->row_table >= SIPHA_T_INSTANCE && d->row_table <= SIPHA_T_EVENT);
        assert_true(d->nvarbinds >= 1 && d->nvarbinds <= NOTIF_MAX_VARBINDS);
        for (size_t i = 0; i < d->nvarbinds; i++) {
            const struct notif_varbind *v = &d->varbinds[i];
            assert_true(v->table >= SIPHA_T_INSTANCE && v->table <= SIPHA_T_EVENT);
            /* Column 1 is the not-accessible index. */
            assert_true(v->column >= 2);
            assert_true(v->column <= mibval_last_column((enum sipha_table_id)v->table));
            /* A sub-table column must be of the row the notification is about. */
            if (v->table != SIPHA_T_INSTANCE && v->table != SIPHA_T_EVENT)
                assert_int_equal(v->table, d->row_table);
            for (size_t j = i + 1; j < d->nvarbinds; j++)
                assert_false(v->table == d->varbinds[j].table && v->column == d->varbinds[j].column);
        }
        /* Every notification names its instance and points at its event log row. */
        assert_true(has_varbind(d, SIPHA_T_INSTANCE, INST_COL_NAME));
        assert_true(has_varbind(d, SIPHA_T_EVENT, EVENT_COL_ID));
    }
}

/* ---- notify_build_varbinds on the sample instance ---------------------------- */

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void assert_oid(const netsnmp_variable_list *v, const oid *want, size_t len)
{
    if (snmp_oid_compare(v->name, v->name_length, want, len) != 0) {
        char got[256], exp[256];
        snprint_objid(got, sizeof(got), v->name, v->name_length);
        snprint_objid(exp, sizeof(exp), want, len);
        fail_msg("OID %s, expected %s", got, exp);
    }
}

/* The OID the test expects, built here independently of the builder. */
static size_t expected_oid(const struct notif_varbind *vb, uint32_t inst, uint32_t row,
                           oid *out)
{
    static const oid objects[] = { 1, 3, 6, 1, 4, 1, 32473, 1, 1 };
    memcpy(out, objects, sizeof(objects));
    size_t n = OID_LENGTH(objects);
    out[n++] = vb->table;
    out[n++] = 1;
    out[n++] = vb->column;
    out[n++] = inst;
    if (vb->table != SIPHA_T_INSTANCE)
        out[n++] = row;
    return n;
}

static uint32_t expected_row(unsigned table)
{
    switch (table) {
    case SIPHA_T_NIC: return 2; /* the SIP NIC */
    case SIPHA_T_VIP: return 1;
    case SIPHA_T_DN: return 1;
    default: return 0;
    }
}

static void check_header(const netsnmp_variable_list *v, const struct notif_def *d)
{
    static const oid uptime[] = { 1, 3, 6, 1, 2, 1, 1, 3, 0 };
    static const oid trap_oid[] = { 1, 3, 6, 1, 6, 3, 1, 1, 4, 1, 0 };
    const oid notif[] = { 1, 3, 6, 1, 4, 1, 32473, 1, 0, d->id };
    assert_non_null(v);
    assert_oid(v, uptime, OID_LENGTH(uptime));
    assert_int_equal(v->type, ASN_TIMETICKS);
    v = v->next_variable;
    assert_non_null(v);
    assert_oid(v, trap_oid, OID_LENGTH(trap_oid));
    assert_int_equal(v->type, ASN_OBJECT_ID);
    assert_int_equal(snmp_oid_compare(v->val.objid, v->val_len / sizeof(oid), notif,
                                      OID_LENGTH(notif)), 0);
}

/* Builds `d` about sample instance `inst` as sipha-trapgen does and checks it all. */
static void check_build(const struct notif_def *d, uint32_t inst)
{
    static struct sample_instance s; /* static: its engine state is 33 KB */
    uint64_t now = now_ms();
    assert_int_equal(sample_instance_fill_at(&s, inst, now), 0);
    uint32_t ev = sample_instance_notify(&s, d, now);
    assert_int_not_equal(ev, 0);
    uint32_t row = d->row_table == SIPHA_T_EVENT ? ev : expected_row(d->row_table);
    assert_int_equal(sample_row_index(&s.in, (enum sipha_table_id)d->row_table), row);
    netsnmp_variable_list *list = NULL;
    assert_int_equal(notify_build_varbinds(d, &s.in, row, ev, sample_uptime_base(now), &list), 0);
    check_header(list, d);
    const netsnmp_variable_list *v = list->next_variable->next_variable;
    for (size_t i = 0; i < d->nvarbinds; i++, v = v->next_variable) {
        const struct notif_varbind *vb = &d->varbinds[i];
        oid want[NOTIFY_OID_MAX];
        size_t len = expected_oid(vb, inst, vb->table == SIPHA_T_EVENT ? ev : row, want);
        assert_non_null(v);
        assert_oid(v, want, len);
        assert_int_not_equal(v->type, ASN_NULL);
        if (vb->table == SIPHA_T_EVENT && vb->column == EVENT_COL_ID) {
            /* The event row is this notification's (or, for alarm-cleared, the alarm's). */
            const char *id = d->id == HA_NOTIF_ALARM_CLEARED ? "00-04200" : d->event_id;
            assert_int_equal(v->val_len, strlen(id));
            assert_memory_equal(v->val.string, id, strlen(id));
        }
        if (vb->table == SIPHA_T_INSTANCE && vb->column == INST_COL_NAME) {
            const char *name = inst % 2 ? "sip-a" : "sip-b";
            assert_int_equal(v->val_len, strlen(name));
            assert_memory_equal(v->val.string, name, strlen(name));
        }
    }
    assert_null(v); /* nothing more */
    snmp_free_varbind(list);
    sample_instance_free(&s);
}

static void build_every_notification(void **state)
{
    (void)state;
    for (unsigned id = 1; id <= HA_NOTIF_COUNT; id++) {
        check_build(def_of(id), 1);
        check_build(def_of(id), 254); /* sip-b, highest even siphaInstIndex */
    }
}

static void uptime_counts_from_base(void **state)
{
    (void)state;
    static struct sample_instance s; /* static: its engine state is 33 KB */
    uint64_t now = now_ms();
    assert_int_equal(sample_instance_fill_at(&s, 1, now), 0);
    const struct notif_def *d = def_of(HA_NOTIF_STATUS_CHANGE);
    uint32_t ev = sample_instance_notify(&s, d, now);
    netsnmp_variable_list *list = NULL;
    assert_int_equal(notify_build_varbinds(d, &s.in, 0, ev, now - 5000, &list), 0);
    assert_true(*list->val.integer >= 500 && *list->val.integer < 1500); /* centiseconds */
    snmp_free_varbind(list);
    sample_instance_free(&s);
}

static void build_fails_cleanly_on_missing_rows(void **state)
{
    (void)state;
    static struct sample_instance s; /* static: its engine state is 33 KB */
    uint64_t now = now_ms();
    assert_int_equal(sample_instance_fill_at(&s, 1, now), 0);
    netsnmp_variable_list *list = (netsnmp_variable_list *)&list; /* must be reset */
    const struct notif_def *vip = def_of(HA_NOTIF_VIP_FAILURE);
    uint32_t ev = sample_instance_notify(&s, vip, now);
    assert_int_equal(notify_build_varbinds(vip, &s.in, 99, ev, 0, &list), -1);
    assert_null(list);
    assert_int_equal(notify_build_varbinds(vip, &s.in, 1, 12345, 0, &list), -1); /* no event */
    assert_null(list);
    assert_int_equal(notify_build_varbinds(NULL, &s.in, 1, ev, 0, &list), -1);
    assert_null(list);
    /* A varbind of a sub-table the notification has no row of has no OID. */
    struct notif_def odd = *vip;
    odd.row_table = SIPHA_T_INSTANCE;
    oid buf[NOTIFY_OID_MAX];
    assert_int_equal(notify_varbind_oid(&odd, &odd.varbinds[1], 1, 1, ev, buf), 0);
    assert_int_equal(notify_build_varbinds(&odd, &s.in, 1, ev, 0, &list), -1);
    assert_null(list);
    sample_instance_free(&s);
}

static void sample_rows_and_states(void **state)
{
    (void)state;
    static struct sample_instance sa, sb;
    struct sipha_instance *a = &sa.in, *b = &sb.in;
    uint64_t now = now_ms();
    assert_int_equal(sample_instance_fill_at(&sa, 1, now), 0);
    assert_int_equal(sample_instance_fill_at(&sb, 2, now), 0);
    assert_string_equal(a->name, "sip-a");
    assert_string_equal(b->name, "sip-b");
    assert_string_equal(a->peer_name, "sip-b");
    assert_int_equal(instance_ha(a)->role, HA_ROLE_PRIMARY);
    assert_int_equal(instance_ha(b)->role, HA_ROLE_BACKUP);
    assert_int_equal(a->sip_port, 5060);
    assert_int_equal(a->sip_addr.family, 4);
    assert_memory_equal(a->sip_addr.bytes, ((const uint8_t[]){ 192, 0, 2, 10 }), 4);
    assert_int_equal(a->nics.count, 2);
    assert_int_equal(((struct sipha_nic *)rows_find(&a->nics, 2))->purpose, HA_NIC_SIP);
    assert_int_equal(a->vips.count, 1);
    assert_int_equal(a->dns.count, 2);
    assert_int_equal(a->contacts.count, 1);
    assert_int_equal(a->events.count, 1);
    /* The notification's state is the one it reports. */
    sample_instance_notify(&sa, def_of(HA_NOTIF_NIC_FAILURE), now);
    assert_int_equal(sa.ha.nics[1].oper, HA_OPER_DOWN);
    sample_instance_notify(&sa, def_of(HA_NOTIF_VIP_FAILURE), now);
    assert_int_equal(sa.ha.vips[0].status, HA_VIP_FAILED);
    assert_int_equal(a->events.count, 3);
    /* A Kamailio beside each, reached; the backup wrote the primary's contacts. */
    assert_int_equal(a->sip_server_kind, SIP_SERVER_MIB_KAMAILIO);
    assert_int_equal(a->contact_source, CONTACT_SOURCE_UP);
    assert_int_equal(a->contacts_written, 0);
    assert_int_not_equal(b->contacts_written, 0);
    uint32_t failures = a->contact_source_failures;
    sample_instance_notify(&sa, def_of(HA_NOTIF_CONTACT_SOURCE_LOST), now);
    assert_int_equal(a->contact_source, CONTACT_SOURCE_DOWN);
    assert_int_equal(a->contact_source_failures, failures + 1);
    assert_int_equal(a->events.count, 4);
    sample_instance_free(&sb);
    assert_int_equal(sample_instance_fill_at(&sb, 0, now), -1); /* index 0 is no index */
    sample_instance_free(&sa);
    sample_instance_free(&sb);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_id_present),
        cmocka_unit_test(names_unique_and_found),
        cmocka_unit_test(event_ids_well_formed_and_unique),
        cmocka_unit_test(seed_event_ids),
        cmocka_unit_test(varbinds_valid),
        cmocka_unit_test(build_every_notification),
        cmocka_unit_test(uptime_counts_from_base),
        cmocka_unit_test(build_fails_cleanly_on_missing_rows),
        cmocka_unit_test(sample_rows_and_states),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
