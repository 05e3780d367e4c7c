/* test_mib_values.c — every SIPHA-MIB column encodes with the type mib/sipha_mib.h
 * documents and the value the instance holds; lookups that must fail do, leaving the
 * varbind untouched. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "mib_values.h"
#include "notify_defs.h"
#include "notify_queue.h"

#define BASE_MS 1000000u /* uptime_base: monotonic ms at sysUpTime 0 */
#define T_NIC 4u
#define T_VIP 2u
#define T_DN 9u
#define T_CONTACT 3u

/* Expected ASN.1 types, written from the comments of mib/sipha_mib.h (Gauge32 and
 * Unsigned32 share ASN_UNSIGNED; enums, TruthValue, InetAddressType and Integer32
 * are ASN_INTEGER; TimeStamp is ASN_TIMETICKS). Index 0 and 1 unused. */
#define S ASN_OCTET_STR
#define I ASN_INTEGER
#define U ASN_UNSIGNED
#define G ASN_GAUGE
#define C ASN_COUNTER
#define C64 ASN_COUNTER64
#define TT ASN_TIMETICKS
#define O ASN_OBJECT_ID
static const u_char inst_types[] = { 0, 0, S, I, I, U, U, I, S, U, I, I, C64, TT, U, U, U, C, C, TT,
                                     I, S, I, I, I, TT, I, I, I, I, I, I, I, I, TT, G, U, C, G, C,
                                     0 /* 40: withdrawn */, C64, C64, C, C, I, I, I, I, C, C,
                                     I, S, S, U, TT, I, S, C, C };
static const u_char nic_types[] = { 0, 0, I, I, S, I, S, I, TT, C };
static const u_char vip_types[] = { 0, 0, I, S, S, I, I, I, C, I, TT };
static const u_char dn_types[] = { 0, 0, S, S, U, U, I, TT, U, U, C, C };
static const u_char contact_types[] = { 0, 0, S, S, U, I };
static const u_char event_types[] = { 0, 0, S, U, I, TT, S, S, O, I };
#undef S
#undef I
#undef U
#undef G
#undef C
#undef C64
#undef TT
#undef O

struct fixture {
    struct sipha_instance in;
    struct ha_state ha;       /* the engine's state the instance shows (in.ha) */
    struct nq queue;          /* the notification queue it shows (in.queue) */
    uint32_t ev_alarm;  /* event index of a logged 00-04200 alarm */
    uint32_t ev_plain;  /* event index of an event without notification or wall time */
    netsnmp_variable_list vb;
};

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void fill_instance(struct fixture *f)
{
    struct sipha_instance *in = &f->in;
    struct ha_state *st = &f->ha;
    in->ha = st;
    in->index = 1;
    snprintf(in->name, sizeof in->name, "sip-a");
    st->role = HA_ROLE_PRIMARY;
    st->status = HA_STATUS_RUNNING;
    in->priority = 150;
    st->epoch = 7;
    assert_int_equal(sipha_addr_parse(&in->sip_addr, "192.0.2.10"), 0);
    in->sip_port = 5060;
    st->listener = HA_LISTENER_BOUND;
    st->traffic = HA_TRAFFIC_FLOWING;
    st->sip_msgs = 0x123456789ull;
    st->last_sip_msg = BASE_MS + 12345;
    st->oos_base_s = 15;
    st->oos_eff_s = 30;
    st->backoff_factor = 2;
    st->switchovers = 4;
    st->double_switchovers = 1;
    st->last_switchover = BASE_MS + 500;
    st->last_reason = HA_REASON_SIP_TRAFFIC_LOST;
    snprintf(in->peer_name, sizeof in->peer_name, "sip-b");
    st->peer.role = HA_ROLE_BACKUP;
    st->peer.status = HA_STATUS_SERVICE_UNAVAILABLE;
    st->peer.hears_peer = true;
    st->peer_link = HA_LINK_UP;
    st->peer_last_seen = BASE_MS + 99990;
    st->arbiter = HA_LINK_DOWN;
    st->options = HA_OPT_SIP_PASS_CHECK | HA_OPT_IPTAKEOVER_MONITORING;
    in->admin_cmd = HA_CMD_SWITCHOVER;
    st->admin_result = HA_RESULT_IN_PROGRESS;
    in->admin_time = BASE_MS + 3000;
    in->state_dir = STATE_DIR_FAILED;
    in->sip_server_kind = SIP_SERVER_MIB_KAMAILIO;
    in->contact_source = CONTACT_SOURCE_DOWN;
    in->contact_source_failures = 0xfffffffeu;
    in->contacts_written = 17;
    /* 3 waiting in a queue of 3, then 2 more refused */
    assert_int_equal(nq_init(&f->queue, 3), 0);
    for (int i = 0; i < 5; i++) {
        netsnmp_variable_list *vb = NULL;
        static const oid o[] = { 1, 3, 6 };
        snmp_varlist_add_variable(&vb, o, 3, ASN_INTEGER, &i, sizeof i);
        assert_true(nq_push(&f->queue, vb) >= 0);
    }
    in->queue = &f->queue;
}

static void fill_rows(struct sipha_instance *in, struct ha_state *st)
{
    struct sipha_nic nic = { .index = T_NIC, .purpose = HA_NIC_SIP, .ifindex = 17 };
    st->n_nics = T_NIC;
    st->nics[T_NIC - 1] = (struct ha_nic_state){ .purpose = HA_NIC_SIP, .oper = HA_OPER_DOWN,
                                                 .last_change = BASE_MS + 20, .failures = 5 };
    snprintf(nic.name, sizeof nic.name, "eth1");
    assert_int_equal(sipha_addr_parse(&nic.addr, "2001:db8::1"), 0);
    assert_non_null(rows_insert(&in->nics, &nic));

    struct sipha_vip vip = { .index = T_VIP };
    st->n_vips = T_VIP;
    st->vips[T_VIP - 1] = (struct ha_vip_state){ .expected = HA_VIP_EXPECT_PRESENT,
                                                 .actual = HA_VIP_ABSENT, .status = HA_VIP_FAILED,
                                                 .script_runs = 3, .last_exit = 137,
                                                 .last_change = BASE_MS + 7 };
    assert_int_equal(sipha_addr_parse(&vip.addr, "192.0.2.100"), 0);
    snprintf(vip.interface, sizeof vip.interface, "eth1");
    assert_non_null(rows_insert(&in->vips, &vip));

    st->n_dns = T_DN;
    st->dn_state[T_DN - 1] = HA_DN_OUT_OF_SERVICE;
    struct sipha_dn dn = { .index = T_DN, .oos_check = 10, .oos_force = 3,
                           .last_response = BASE_MS + 40000,
                           .last_status = 503, .rtt_us = 1500, .probes = 60, .timeouts = 2 };
    snprintf(dn.name, sizeof dn.name, "gw1");
    memset(dn.uri, 'u', sizeof dn.uri); /* no terminator: must still be bounded */
    assert_non_null(rows_insert(&in->dns, &dn));

    struct sipha_contact c = { .index = T_CONTACT, .expires_at = now_ms() + 30000,
                               .origin = CONTACT_SYNCED };
    snprintf(c.aor, sizeof c.aor, "sip:1001@example.com");
    snprintf(c.uri, sizeof c.uri, "sip:1001@192.0.2.50:5062");
    assert_non_null(rows_insert(&in->contacts, &c));
}

static uint32_t log_event(struct sipha_instance *in, const char *id, unsigned code,
                          enum notif_severity sev, int64_t wall_ms, unsigned notif,
                          enum alarm_state alarm)
{
    struct evlog_entry e;
    memset(&e, 0, sizeof e);
    snprintf(e.id, sizeof e.id, "%s", id);
    e.code = code;
    e.severity = sev;
    e.mono_ms = BASE_MS + 60000;
    e.wall_ms = wall_ms;
    snprintf(e.text, sizeof e.text, "SIP listener cannot be opened");
    e.notif = notif;
    e.alarm = alarm;
    struct evlog_entry *stored = evlog_append(&in->events, &e);
    assert_non_null(stored);
    assert_int_not_equal(stored->index, 0);
    return stored->index;
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    if (!f)
        return -1;
    instance_init(&f->in);
    fill_instance(f);
    fill_rows(&f->in, &f->ha);
    /* 2023-11-14T22:13:20.123Z */
    f->ev_alarm = log_event(&f->in, "00-04200", 4200, SEV_ALARM, 1700000000123ll,
                            HA_NOTIF_LISTENER_BIND_FAILURE, ALARM_ACTIVE);
    f->ev_plain = log_event(&f->in, "00-52101", 52101, SEV_STANDARD, 0, 0, ALARM_NONE);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    snmp_free_var_internals(&f->vb);
    instance_free(&f->in);
    nq_free(&f->queue);
    free(f);
    return 0;
}

/* Gets one value into the fixture's varbind (freeing the previous one first). */
static int get(struct fixture *f, enum sipha_table_id t, unsigned col, uint32_t row)
{
    snmp_free_var_internals(&f->vb);
    memset(&f->vb, 0, sizeof f->vb);
    return mibval_get(&f->in, t, col, row, BASE_MS, &f->vb);
}

static long get_int(struct fixture *f, enum sipha_table_id t, unsigned col, uint32_t row)
{
    assert_int_equal(get(f, t, col, row), 0);
    assert_int_equal(f->vb.type, ASN_INTEGER);
    return *f->vb.val.integer;
}

static unsigned long get_uint(struct fixture *f, enum sipha_table_id t, unsigned col,
                              uint32_t row, u_char type)
{
    assert_int_equal(get(f, t, col, row), 0);
    assert_int_equal(f->vb.type, type);
    return (unsigned long)*f->vb.val.integer;
}

static void assert_str(struct fixture *f, enum sipha_table_id t, unsigned col, uint32_t row,
                       const char *want)
{
    assert_int_equal(get(f, t, col, row), 0);
    assert_int_equal(f->vb.type, ASN_OCTET_STR);
    assert_int_equal(f->vb.val_len, strlen(want));
    assert_memory_equal(f->vb.val.string, want, strlen(want));
}

static void check_types(struct fixture *f, enum sipha_table_id t, uint32_t row,
                        const u_char *types, size_t ntypes)
{
    unsigned last = mibval_last_column(t);
    assert_int_equal(last + 1, ntypes);
    for (unsigned col = 2; col <= last; col++) {
        if (types[col] == 0) { /* a withdrawn sub-identifier answers nothing */
            if (get(f, t, col, row) == 0)
                fail_msg("table %d column %u: withdrawn, yet answers", t, col);
            continue;
        }
        if (get(f, t, col, row) != 0)
            fail_msg("table %d column %u: no value", t, col);
        if (f->vb.type != types[col])
            fail_msg("table %d column %u: type 0x%02x, want 0x%02x", t, col, f->vb.type, types[col]);
    }
}

static void test_every_column_has_documented_type(void **state)
{
    struct fixture *f = *state;
    check_types(f, SIPHA_T_INSTANCE, 0, inst_types, sizeof inst_types);
    check_types(f, SIPHA_T_NIC, T_NIC, nic_types, sizeof nic_types);
    check_types(f, SIPHA_T_VIP, T_VIP, vip_types, sizeof vip_types);
    check_types(f, SIPHA_T_DN, T_DN, dn_types, sizeof dn_types);
    check_types(f, SIPHA_T_CONTACT, T_CONTACT, contact_types, sizeof contact_types);
    check_types(f, SIPHA_T_EVENT, f->ev_alarm, event_types, sizeof event_types);
}

static void test_last_column(void **state)
{
    (void)state;
    assert_int_equal(mibval_last_column(SIPHA_T_INSTANCE), 59);
    assert_int_equal(mibval_last_column(SIPHA_T_NIC), 9);
    assert_int_equal(mibval_last_column(SIPHA_T_VIP), 10);
    assert_int_equal(mibval_last_column(SIPHA_T_DN), 11);
    assert_int_equal(mibval_last_column(SIPHA_T_CONTACT), 5);
    assert_int_equal(mibval_last_column(SIPHA_T_EVENT), 9);
    assert_int_equal(mibval_last_column((enum sipha_table_id)0), 0);
    assert_int_equal(mibval_last_column((enum sipha_table_id)7), 0);
}

static void test_instance_values(void **state)
{
    struct fixture *f = *state;
    const enum sipha_table_id T = SIPHA_T_INSTANCE;
    assert_str(f, T, INST_COL_NAME, 0, "sip-a");
    assert_int_equal(get_int(f, T, INST_COL_ROLE, 0), 2);
    assert_int_equal(get_int(f, T, INST_COL_STATUS, 0), 4);
    assert_int_equal(get_uint(f, T, INST_COL_PRIORITY, 0, ASN_UNSIGNED), 150);
    assert_int_equal(get_uint(f, T, INST_COL_EPOCH, 0, ASN_UNSIGNED), 7);
    assert_int_equal(get_uint(f, T, INST_COL_SIP_PORT, 0, ASN_UNSIGNED), 5060);
    assert_int_equal(get_int(f, T, INST_COL_LISTENER_BOUND, 0), 1);
    assert_int_equal(get_int(f, T, INST_COL_SIP_TRAFFIC_STATE, 0), 2);
    assert_int_equal(get_uint(f, T, INST_COL_OOS_TIMEOUT_BASE, 0, ASN_UNSIGNED), 15);
    assert_int_equal(get_uint(f, T, INST_COL_OOS_TIMEOUT_EFF, 0, ASN_UNSIGNED), 30);
    assert_int_equal(get_uint(f, T, INST_COL_BACKOFF_FACTOR, 0, ASN_UNSIGNED), 2);
    assert_int_equal(get_uint(f, T, INST_COL_SWITCHOVERS, 0, ASN_COUNTER), 4);
    assert_int_equal(get_uint(f, T, INST_COL_DOUBLE_SWITCHOVERS, 0, ASN_COUNTER), 1);
    assert_int_equal(get_int(f, T, INST_COL_LAST_SWITCHOVER_REASON, 0), 3);
    assert_str(f, T, INST_COL_PEER_NAME, 0, "sip-b");
    assert_int_equal(get_int(f, T, INST_COL_PEER_ROLE, 0), 3);
    assert_int_equal(get_int(f, T, INST_COL_PEER_STATUS, 0), 6);
    assert_int_equal(get_int(f, T, INST_COL_PEER_LINK_STATE, 0), 2);
    assert_int_equal(get_int(f, T, INST_COL_ARBITER_STATE, 0), 3);
    assert_int_equal(get_int(f, T, INST_COL_ADMIN_COMMAND, 0), 2);
    assert_int_equal(get_int(f, T, INST_COL_ADMIN_RESULT, 0), 2);
    assert_int_equal(get_uint(f, T, INST_COL_EVENT_LOG_SIZE, 0, ASN_GAUGE), 2);
    assert_int_equal(get_uint(f, T, INST_COL_EVENT_LOG_LIMIT, 0, ASN_UNSIGNED), EVLOG_DEFAULT_LIMIT);
    assert_int_equal(get_uint(f, T, INST_COL_EVENT_LOG_DROPPED, 0, ASN_COUNTER), 0);
    assert_int_equal(get_uint(f, T, INST_COL_NOTIFS_QUEUED, 0, ASN_GAUGE), 3);
    assert_int_equal(get_uint(f, T, INST_COL_NOTIFS_DROPPED, 0, ASN_COUNTER), 2);
    assert_int_equal(get_int(f, T, INST_COL_STATE_DIR_STATUS, 0), 2);
    assert_int_equal(get_int(f, T, INST_COL_SIP_SERVER_KIND, 0), 2);
    assert_int_equal(get_int(f, T, INST_COL_CONTACT_SOURCE_STATE, 0), 3);
    assert_int_equal(get_uint(f, T, INST_COL_CONTACT_SOURCE_FAILURES, 0, ASN_COUNTER), 0xfffffffeu);
    assert_int_equal(get_uint(f, T, INST_COL_CONTACTS_WRITTEN, 0, ASN_COUNTER), 17);
    f->in.contact_source = CONTACT_SOURCE_UP;
    assert_int_equal(get_int(f, T, INST_COL_CONTACT_SOURCE_STATE, 0), 2);

    /* Counter64 keeps all 64 bits. */
    assert_int_equal(get(f, T, INST_COL_SIP_MSGS_IN, 0), 0);
    assert_int_equal(f->vb.type, ASN_COUNTER64);
    assert_int_equal(f->vb.val.counter64->high, 1);
    assert_int_equal(f->vb.val.counter64->low, 0x23456789u);

    /* TruthValue: true(1) / false(2), each column from its own option bit. */
    static const struct { unsigned bit, col; } opts[] = {
        { HA_OPT_SIP_PASS_CHECK, INST_COL_OPT_SIP_PASS_CHECK },
        { HA_OPT_CONTROL_VIP_SCRIPTS, INST_COL_OPT_CONTROL_VIP_SCRIPTS },
        { HA_OPT_IPTAKEOVER_MONITORING, INST_COL_OPT_IPTAKEOVER_MON },
        { HA_OPT_TLIB_NIC_MONITORING, INST_COL_OPT_TLIB_NIC_MON },
        { HA_OPT_SIP_NIC_MONITORING, INST_COL_OPT_SIP_NIC_MON },
    };
    for (size_t on = 0; on < 5; on++) {
        f->ha.options = opts[on].bit;
        for (size_t i = 0; i < 5; i++)
            assert_int_equal(get_int(f, T, opts[i].col, 0), i == on ? 1 : 2);
        f->ha.options = ~opts[on].bit;
        for (size_t i = 0; i < 5; i++)
            assert_int_equal(get_int(f, T, opts[i].col, 0), i == on ? 2 : 1);
    }
    f->ha.listener = HA_LISTENER_FAILED;
    assert_int_equal(get_int(f, T, INST_COL_LISTENER_BOUND, 0), 2);

    /* The row index is ignored for the instance table. */
    assert_int_equal(get_uint(f, T, INST_COL_EPOCH, 12345, ASN_UNSIGNED), 7);
}

static void test_defaults_after_init(void **state)
{
    (void)state;
    struct fixture g;
    memset(&g, 0, sizeof g);
    instance_init(&g.in);
    const enum sipha_table_id T = SIPHA_T_INSTANCE;
    assert_int_equal(get_int(&g, T, INST_COL_ROLE, 0), HA_ROLE_UNKNOWN);
    assert_int_equal(get_int(&g, T, INST_COL_STATUS, 0), HA_STATUS_INITIALIZING);
    assert_int_equal(get_int(&g, T, INST_COL_SIP_TRAFFIC_STATE, 0), HA_TRAFFIC_UNKNOWN);
    assert_int_equal(get_int(&g, T, INST_COL_PEER_LINK_STATE, 0), HA_LINK_NOT_CONFIGURED);
    assert_int_equal(get_int(&g, T, INST_COL_ARBITER_STATE, 0), HA_LINK_NOT_CONFIGURED);
    assert_int_equal(get_int(&g, T, INST_COL_ADMIN_COMMAND, 0), HA_CMD_NONE);
    assert_int_equal(get_int(&g, T, INST_COL_STATE_DIR_STATUS, 0), 3);     /* notConfigured */
    assert_int_equal(get_int(&g, T, INST_COL_SIP_SERVER_KIND, 0), 1);      /* generic */
    assert_int_equal(get_int(&g, T, INST_COL_CONTACT_SOURCE_STATE, 0), 1); /* notConfigured */
    assert_int_equal(get_uint(&g, T, INST_COL_CONTACT_SOURCE_FAILURES, 0, ASN_COUNTER), 0);
    assert_int_equal(get_uint(&g, T, INST_COL_CONTACTS_WRITTEN, 0, ASN_COUNTER), 0);
    assert_int_equal(get_uint(&g, T, INST_COL_BACKOFF_FACTOR, 0, ASN_UNSIGNED), 1);
    assert_int_equal(get_uint(&g, T, INST_COL_LAST_SIP_MSG_TIME, 0, ASN_TIMETICKS), 0);
    assert_int_equal(get_int(&g, T, INST_COL_SIP_ADDR_TYPE, 0), 0);
    assert_int_equal(get(&g, T, INST_COL_SIP_ADDR, 0), 0);
    assert_int_equal(g.vb.val_len, 0);
    assert_str(&g, T, INST_COL_NAME, 0, "");
    assert_int_equal(get(&g, SIPHA_T_EVENT, EVENT_COL_ID, 1), -1); /* empty log */
    snmp_free_var_internals(&g.vb);
    instance_free(&g.in);
}

static void test_timestamps(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(mibval_timestamp(0, 0), 0);
    assert_int_equal(mibval_timestamp(0, BASE_MS), 0);            /* never */
    assert_int_equal(mibval_timestamp(BASE_MS - 1, BASE_MS), 0);  /* before sysUpTime 0 */
    assert_int_equal(mibval_timestamp(BASE_MS, BASE_MS), 0);
    assert_int_equal(mibval_timestamp(BASE_MS + 9, BASE_MS), 0);   /* truncated to 1/100 s */
    assert_int_equal(mibval_timestamp(BASE_MS + 10, BASE_MS), 1);
    assert_int_equal(mibval_timestamp(BASE_MS + 12345, BASE_MS), 1234);
    /* TimeTicks wrap modulo 2^32 like sysUpTime. */
    assert_int_equal(mibval_timestamp(42949672960ull + 50, 0), 5);

    const enum sipha_table_id T = SIPHA_T_INSTANCE;
    assert_int_equal(get_uint(f, T, INST_COL_LAST_SIP_MSG_TIME, 0, ASN_TIMETICKS), 1234);
    assert_int_equal(get_uint(f, T, INST_COL_LAST_SWITCHOVER_TIME, 0, ASN_TIMETICKS), 50);
    assert_int_equal(get_uint(f, T, INST_COL_PEER_LAST_SEEN, 0, ASN_TIMETICKS), 9999);
    assert_int_equal(get_uint(f, T, INST_COL_ADMIN_TIME, 0, ASN_TIMETICKS), 300);
    assert_int_equal(get_uint(f, SIPHA_T_NIC, NIC_COL_LAST_CHANGE, T_NIC, ASN_TIMETICKS), 2);
    assert_int_equal(get_uint(f, SIPHA_T_VIP, VIP_COL_LAST_CHANGE, T_VIP, ASN_TIMETICKS), 0);
    assert_int_equal(get_uint(f, SIPHA_T_DN, DN_COL_LAST_RESP_TIME, T_DN, ASN_TIMETICKS), 4000);
    assert_int_equal(get_uint(f, SIPHA_T_EVENT, EVENT_COL_TIME, f->ev_alarm, ASN_TIMETICKS), 6000);
    /* A different base shifts every TimeStamp. */
    snmp_free_var_internals(&f->vb);
    memset(&f->vb, 0, sizeof f->vb);
    assert_int_equal(mibval_get(&f->in, T, INST_COL_LAST_SIP_MSG_TIME, 0, BASE_MS + 2345, &f->vb), 0);
    assert_int_equal(*f->vb.val.integer, 1000);
}

static void test_date_and_time(void **state)
{
    struct fixture *f = *state;
    /* 1700000000.123 s = 2023-11-14 22:13:20.1 UTC */
    static const u_char want[11] = { 0x07, 0xe7, 11, 14, 22, 13, 20, 1, '+', 0, 0 };
    assert_int_equal(get(f, SIPHA_T_EVENT, EVENT_COL_DATE_TIME, f->ev_alarm), 0);
    assert_int_equal(f->vb.type, ASN_OCTET_STR);
    assert_int_equal(f->vb.val_len, 11);
    assert_memory_equal(f->vb.val.string, want, 11);

    /* Unknown wall-clock time: 8 zero octets. */
    static const u_char zero[8] = { 0 };
    assert_int_equal(get(f, SIPHA_T_EVENT, EVENT_COL_DATE_TIME, f->ev_plain), 0);
    assert_int_equal(f->vb.val_len, 8);
    assert_memory_equal(f->vb.val.string, zero, 8);

    /* Leap-year day, last deci-second: 2024-02-29 23:59:59.9 UTC */
    uint32_t ev = log_event(&f->in, "00-52100", 52100, SEV_STANDARD, 1709251199999ll, 0, ALARM_NONE);
    static const u_char leap[11] = { 0x07, 0xe8, 2, 29, 23, 59, 59, 9, '+', 0, 0 };
    assert_int_equal(get(f, SIPHA_T_EVENT, EVENT_COL_DATE_TIME, ev), 0);
    assert_int_equal(f->vb.val_len, 11);
    assert_memory_equal(f->vb.val.string, leap, 11);
}

static void test_inet_address_encodings(void **state)
{
    struct fixture *f = *state;
    static const u_char v4[4] = { 192, 0, 2, 10 };
    static const u_char v6[16] = { 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1 };
    assert_int_equal(get_int(f, SIPHA_T_INSTANCE, INST_COL_SIP_ADDR_TYPE, 0), 1);
    assert_int_equal(get(f, SIPHA_T_INSTANCE, INST_COL_SIP_ADDR, 0), 0);
    assert_int_equal(f->vb.type, ASN_OCTET_STR);
    assert_int_equal(f->vb.val_len, 4);
    assert_memory_equal(f->vb.val.string, v4, 4);

    assert_int_equal(get_int(f, SIPHA_T_NIC, NIC_COL_ADDR_TYPE, T_NIC), 2);
    assert_int_equal(get(f, SIPHA_T_NIC, NIC_COL_ADDR, T_NIC), 0);
    assert_int_equal(f->vb.val_len, 16);
    assert_memory_equal(f->vb.val.string, v6, 16);

    f->in.sip_addr.family = 0; /* none: unknown(0) and a zero-length string */
    assert_int_equal(get_int(f, SIPHA_T_INSTANCE, INST_COL_SIP_ADDR_TYPE, 0), 0);
    assert_int_equal(get(f, SIPHA_T_INSTANCE, INST_COL_SIP_ADDR, 0), 0);
    assert_int_equal(f->vb.type, ASN_OCTET_STR);
    assert_int_equal(f->vb.val_len, 0);
    f->in.sip_addr.family = 5; /* corrupt family: treated as none */
    assert_int_equal(get_int(f, SIPHA_T_INSTANCE, INST_COL_SIP_ADDR_TYPE, 0), 0);
}

static void test_addr_parse_format(void **state)
{
    (void)state;
    struct sipha_addr a;
    char buf[64];
    assert_int_equal(sipha_addr_parse(&a, "198.51.100.7"), 0);
    assert_int_equal(a.family, 4);
    assert_int_equal(a.bytes[0], 198);
    assert_int_equal(a.bytes[3], 7);
    assert_string_equal(sipha_addr_format(&a, buf, sizeof buf), "198.51.100.7");
    assert_int_equal(sipha_addr_parse(&a, "2001:DB8:0:0::42"), 0);
    assert_int_equal(a.family, 6);
    assert_int_equal(a.bytes[15], 0x42);
    assert_string_equal(sipha_addr_format(&a, buf, sizeof buf), "2001:db8::42");

    /* Bad input is rejected and leaves the address as it was. */
    const char *bad[] = { "", "192.0.2", "192.0.2.256", "192.0.2.1 ", " 192.0.2.1", "::g",
                          "2001:db8::1%eth0", "example.com", "1.2.3.4/24" };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(sipha_addr_parse(&a, bad[i]), -1);
        assert_int_equal(a.family, 6);
        assert_int_equal(a.bytes[15], 0x42);
    }
    assert_int_equal(sipha_addr_parse(&a, NULL), -1);
    assert_int_equal(sipha_addr_parse(NULL, "192.0.2.1"), -1);

    /* No address, too small a buffer: an empty string, never a partial one. */
    struct sipha_addr none = { 0 };
    assert_string_equal(sipha_addr_format(&none, buf, sizeof buf), "");
    assert_string_equal(sipha_addr_format(&a, buf, 5), "");
    assert_string_equal(sipha_addr_format(NULL, buf, sizeof buf), "");
    assert_string_equal(sipha_addr_format(&a, NULL, 10), "");
    assert_string_equal(sipha_addr_format(&a, buf, 0), "");
}

static void test_sub_table_values(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(get_int(f, SIPHA_T_NIC, NIC_COL_PURPOSE, T_NIC), 2);
    assert_int_equal(get_int(f, SIPHA_T_NIC, NIC_COL_IFINDEX, T_NIC), 17);
    assert_str(f, SIPHA_T_NIC, NIC_COL_NAME, T_NIC, "eth1");
    assert_int_equal(get_int(f, SIPHA_T_NIC, NIC_COL_OPER_STATE, T_NIC), 3);
    assert_int_equal(get_uint(f, SIPHA_T_NIC, NIC_COL_FAILURES, T_NIC, ASN_COUNTER), 5);

    assert_str(f, SIPHA_T_VIP, VIP_COL_INTERFACE, T_VIP, "eth1");
    assert_int_equal(get_int(f, SIPHA_T_VIP, VIP_COL_EXPECTED, T_VIP), 1);
    assert_int_equal(get_int(f, SIPHA_T_VIP, VIP_COL_ACTUAL, T_VIP), 3);
    assert_int_equal(get_int(f, SIPHA_T_VIP, VIP_COL_STATUS, T_VIP), 3);
    assert_int_equal(get_uint(f, SIPHA_T_VIP, VIP_COL_SCRIPT_RUNS, T_VIP, ASN_COUNTER), 3);
    assert_int_equal(get_int(f, SIPHA_T_VIP, VIP_COL_LAST_EXIT, T_VIP), 137);
    f->ha.vips[T_VIP - 1].last_exit = -1;
    assert_int_equal(get_int(f, SIPHA_T_VIP, VIP_COL_LAST_EXIT, T_VIP), -1);

    assert_str(f, SIPHA_T_DN, DN_COL_NAME, T_DN, "gw1");
    assert_int_equal(get(f, SIPHA_T_DN, DN_COL_URI, T_DN), 0);
    assert_int_equal(f->vb.val_len, SIPHA_URI_MAX - 1); /* unterminated: bounded to SIZE (0..255) */
    assert_int_equal(f->vb.val.string[SIPHA_URI_MAX - 2], 'u');
    assert_int_equal(get_uint(f, SIPHA_T_DN, DN_COL_OOS_CHECK, T_DN, ASN_UNSIGNED), 10);
    assert_int_equal(get_uint(f, SIPHA_T_DN, DN_COL_OOS_FORCE, T_DN, ASN_UNSIGNED), 3);
    assert_int_equal(get_int(f, SIPHA_T_DN, DN_COL_STATE, T_DN), 3);
    assert_int_equal(get_uint(f, SIPHA_T_DN, DN_COL_LAST_STATUS, T_DN, ASN_UNSIGNED), 503);
    assert_int_equal(get_uint(f, SIPHA_T_DN, DN_COL_RTT, T_DN, ASN_UNSIGNED), 1500);
    assert_int_equal(get_uint(f, SIPHA_T_DN, DN_COL_PROBES, T_DN, ASN_COUNTER), 60);
    assert_int_equal(get_uint(f, SIPHA_T_DN, DN_COL_TIMEOUTS, T_DN, ASN_COUNTER), 2);

    assert_str(f, SIPHA_T_CONTACT, CONTACT_COL_AOR, T_CONTACT, "sip:1001@example.com");
    assert_str(f, SIPHA_T_CONTACT, CONTACT_COL_URI, T_CONTACT, "sip:1001@192.0.2.50:5062");
    assert_int_equal(get_int(f, SIPHA_T_CONTACT, CONTACT_COL_ORIGIN, T_CONTACT), 2);
}

static void test_contact_expiry(void **state)
{
    struct fixture *f = *state;
    struct sipha_contact *c = rows_find(&f->in.contacts, T_CONTACT);
    assert_non_null(c);
    unsigned long left = get_uint(f, SIPHA_T_CONTACT, CONTACT_COL_EXPIRY, T_CONTACT, ASN_UNSIGNED);
    assert_true(left >= 29 && left <= 30);
    c->expires_at = now_ms() + 400; /* under a second left still reads 1, not "expired" */
    assert_int_equal(get_uint(f, SIPHA_T_CONTACT, CONTACT_COL_EXPIRY, T_CONTACT, ASN_UNSIGNED), 1);
    c->expires_at = now_ms() - 1;
    assert_int_equal(get_uint(f, SIPHA_T_CONTACT, CONTACT_COL_EXPIRY, T_CONTACT, ASN_UNSIGNED), 0);
    c->expires_at = 0;
    assert_int_equal(get_uint(f, SIPHA_T_CONTACT, CONTACT_COL_EXPIRY, T_CONTACT, ASN_UNSIGNED), 0);
}

static void test_event_values(void **state)
{
    struct fixture *f = *state;
    const enum sipha_table_id T = SIPHA_T_EVENT;
    assert_str(f, T, EVENT_COL_ID, f->ev_alarm, "00-04200");
    assert_int_equal(get_uint(f, T, EVENT_COL_CODE, f->ev_alarm, ASN_UNSIGNED), 4200);
    assert_int_equal(get_int(f, T, EVENT_COL_SEVERITY, f->ev_alarm), SEV_ALARM);
    assert_str(f, T, EVENT_COL_TEXT, f->ev_alarm, "SIP listener cannot be opened");
    assert_int_equal(get_int(f, T, EVENT_COL_ALARM_STATE, f->ev_alarm), 2);
    assert_int_equal(get_int(f, T, EVENT_COL_ALARM_STATE, f->ev_plain), 1);

    /* siphaEventNotification = siphaNotifications.9 (siphaListenerBindFailure) */
    static const oid want[] = { 1, 3, 6, 1, 4, 1, 32473, 1, 0, 9 };
    assert_int_equal(get(f, T, EVENT_COL_NOTIFICATION, f->ev_alarm), 0);
    assert_int_equal(f->vb.type, ASN_OBJECT_ID);
    assert_int_equal(f->vb.val_len, sizeof want);
    assert_memory_equal(f->vb.val.objid, want, sizeof want);

    /* none sent, or a value outside the notification table: 0.0 */
    static const oid zero[] = { 0, 0 };
    assert_int_equal(get(f, T, EVENT_COL_NOTIFICATION, f->ev_plain), 0);
    assert_int_equal(f->vb.val_len, sizeof zero);
    assert_memory_equal(f->vb.val.objid, zero, sizeof zero);
    struct evlog_entry *e = evlog_find(&f->in.events, f->ev_plain);
    assert_non_null(e);
    e->notif = HA_NOTIF_COUNT + 1;
    assert_int_equal(get(f, T, EVENT_COL_NOTIFICATION, f->ev_plain), 0);
    assert_memory_equal(f->vb.val.objid, zero, sizeof zero);
    e->notif = HA_NOTIF_ALARM_CLEARED;
    assert_int_equal(get(f, T, EVENT_COL_NOTIFICATION, f->ev_plain), 0);
    assert_int_equal(f->vb.val_len, sizeof want);
    assert_int_equal(f->vb.val.objid[9], HA_NOTIF_ALARM_CLEARED);
}

/* A failed lookup returns -1 and leaves the varbind as it was. */
static void assert_fails(struct fixture *f, enum sipha_table_id t, unsigned col, uint32_t row)
{
    snmp_free_var_internals(&f->vb);
    memset(&f->vb, 0, sizeof f->vb);
    f->vb.type = ASN_NULL;
    if (mibval_get(&f->in, t, col, row, BASE_MS, &f->vb) != -1)
        fail_msg("table %d column %u row %u: expected -1", t, col, (unsigned)row);
    assert_int_equal(f->vb.type, ASN_NULL);
    assert_null(f->vb.val.string);
}

static void test_missing_rows_and_bad_columns(void **state)
{
    struct fixture *f = *state;
    /* index columns are not-accessible */
    assert_fails(f, SIPHA_T_INSTANCE, INST_COL_INDEX, 0);
    assert_fails(f, SIPHA_T_NIC, NIC_COL_INDEX, T_NIC);
    assert_fails(f, SIPHA_T_VIP, VIP_COL_INDEX, T_VIP);
    assert_fails(f, SIPHA_T_DN, DN_COL_INDEX, T_DN);
    assert_fails(f, SIPHA_T_CONTACT, CONTACT_COL_INDEX, T_CONTACT);
    assert_fails(f, SIPHA_T_EVENT, EVENT_COL_INDEX, f->ev_alarm);
    /* columns 0 and past the last */
    static const enum sipha_table_id tables[] = { SIPHA_T_INSTANCE, SIPHA_T_NIC, SIPHA_T_VIP,
                                                  SIPHA_T_DN, SIPHA_T_CONTACT, SIPHA_T_EVENT };
    static const uint32_t rows[] = { 0, T_NIC, T_VIP, T_DN, T_CONTACT, 1 };
    for (size_t i = 0; i < 6; i++) {
        uint32_t row = tables[i] == SIPHA_T_EVENT ? f->ev_alarm : rows[i];
        assert_fails(f, tables[i], 0, row);
        assert_fails(f, tables[i], mibval_last_column(tables[i]) + 1, row);
        assert_fails(f, tables[i], 1000, row);
    }
    /* missing rows, including index 0 */
    assert_fails(f, SIPHA_T_NIC, NIC_COL_NAME, T_NIC + 1);
    assert_fails(f, SIPHA_T_NIC, NIC_COL_NAME, 0);
    assert_fails(f, SIPHA_T_VIP, VIP_COL_ADDR, 1);
    assert_fails(f, SIPHA_T_DN, DN_COL_URI, UINT32_MAX);
    assert_fails(f, SIPHA_T_CONTACT, CONTACT_COL_EXPIRY, 0);
    assert_fails(f, SIPHA_T_EVENT, EVENT_COL_ID, 0);
    assert_fails(f, SIPHA_T_EVENT, EVENT_COL_ID, f->ev_plain + 100);
    assert_true(rows_remove(&f->in.nics, T_NIC));
    assert_fails(f, SIPHA_T_NIC, NIC_COL_NAME, T_NIC);
    /* unknown tables, NULL arguments */
    assert_fails(f, (enum sipha_table_id)0, 2, 1);
    assert_fails(f, (enum sipha_table_id)7, 2, 1);
    assert_int_equal(mibval_get(NULL, SIPHA_T_INSTANCE, INST_COL_NAME, 0, 0, &f->vb), -1);
    assert_int_equal(mibval_get(&f->in, SIPHA_T_INSTANCE, INST_COL_NAME, 0, 0, NULL), -1);
}

static void test_long_and_unterminated_strings(void **state)
{
    struct fixture *f = *state;
    memset(f->in.name, 'n', sizeof f->in.name); /* no terminator */
    assert_int_equal(get(f, SIPHA_T_INSTANCE, INST_COL_NAME, 0), 0);
    assert_int_equal(f->vb.val_len, SIPHA_NAME_MAX - 1);
    struct evlog_entry *e = evlog_find(&f->in.events, f->ev_alarm);
    assert_non_null(e);
    memset(e->text, 't', sizeof e->text);
    assert_int_equal(get(f, SIPHA_T_EVENT, EVENT_COL_TEXT, f->ev_alarm), 0);
    assert_int_equal(f->vb.val_len, EVLOG_TEXT_MAX - 1);
    assert_int_equal(f->vb.val.string[0], 't');
}

/* The arbiter's columns: the HTTP kind shows its URL and no lock; the etcd kind the
 * view its lock fills (a stand-in here), the lease in hex as etcdctl shows it. */
static void fake_lock(const void *ctx, struct sipha_lock_view *v)
{
    (void)ctx;
    v->reachable = true;
    snprintf(v->endpoint, sizeof v->endpoint, "http://10.0.1.22:2379");
    v->lease = 0x694d7c6d9b7a3a05;
    v->ttl_s = 3;
    v->last_renewal = BASE_MS + 2500;
    v->held = true;
    v->holder_present = true;
    snprintf(v->holder, sizeof v->holder, "sip-a 7");
    v->losses = 2;
    v->failures = 1;
    v->unreachable = 4;
}

static void test_arbiter_values(void **state)
{
    struct fixture *f = *state;
    enum sipha_table_id T = SIPHA_T_INSTANCE;
    f->in.arbiter_kind = ARBITER_MIB_NONE;
    assert_int_equal(get_int(f, T, INST_COL_ARBITER_KIND, 0), 1);
    assert_str(f, T, INST_COL_ARBITER_ENDPOINT, 0, "");
    assert_str(f, T, INST_COL_ARBITER_LEASE_ID, 0, "");
    assert_int_equal(get_int(f, T, INST_COL_ARBITER_LOCK_HELD, 0), 2);

    f->in.arbiter_kind = ARBITER_MIB_HTTP;
    snprintf(f->in.arbiter_url, sizeof f->in.arbiter_url, "http://10.0.1.10:8080/health");
    assert_int_equal(get_int(f, T, INST_COL_ARBITER_KIND, 0), 2);
    assert_str(f, T, INST_COL_ARBITER_ENDPOINT, 0, "http://10.0.1.10:8080/health");
    assert_str(f, T, INST_COL_ARBITER_HOLDER, 0, "");
    assert_int_equal(get_uint(f, T, INST_COL_ARBITER_LEASE_TTL, 0, ASN_UNSIGNED), 0);

    f->in.arbiter_kind = ARBITER_MIB_ETCD;
    f->in.lock_view = fake_lock;
    assert_int_equal(get_int(f, T, INST_COL_ARBITER_KIND, 0), 3);
    assert_str(f, T, INST_COL_ARBITER_ENDPOINT, 0, "http://10.0.1.22:2379");
    assert_str(f, T, INST_COL_ARBITER_LEASE_ID, 0, "694d7c6d9b7a3a05");
    assert_int_equal(get_uint(f, T, INST_COL_ARBITER_LEASE_TTL, 0, ASN_UNSIGNED), 3);
    assert_int_equal(get_uint(f, T, INST_COL_ARBITER_LAST_RENEWAL, 0, ASN_TIMETICKS), 250);
    assert_int_equal(get_int(f, T, INST_COL_ARBITER_LOCK_HELD, 0), 1);
    assert_str(f, T, INST_COL_ARBITER_HOLDER, 0, "sip-a 7");
    assert_int_equal(get_uint(f, T, INST_COL_ARBITER_FAILURES, 0, ASN_COUNTER), 5);
    assert_int_equal(get_uint(f, T, INST_COL_ARBITER_LOCK_LOSSES, 0, ASN_COUNTER), 2);
    f->in.lock_view = NULL;
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_every_column_has_documented_type),
        cmocka_unit_test(test_last_column),
        T(test_instance_values),
        T(test_arbiter_values),
        cmocka_unit_test(test_defaults_after_init),
        T(test_timestamps),
        T(test_date_and_time),
        T(test_inet_address_encodings),
        cmocka_unit_test(test_addr_parse_format),
        T(test_sub_table_values),
        T(test_contact_expiry),
        T(test_event_values),
        T(test_missing_rows_and_bad_columns),
        T(test_long_and_unterminated_strings),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
