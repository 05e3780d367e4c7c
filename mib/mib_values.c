/* mib_values.c — encodes every readable SIPHA-MIB column as a varbind value.
 *
 * One switch per table maps a column number (mib/sipha_mib.h) to the field of the
 * instance or row and to its ASN.1 type. The value is written into the varbind only
 * once the column and row are known to exist, so a failed lookup leaves it untouched. */
#include <string.h>
#include <time.h>

#include "hl_link.h"
#include "mib_values.h"
#include "notify_defs.h"
#include "notify_queue.h"

/* SNMPv2-TC TruthValue */
#define TRUTH_TRUE 1
#define TRUTH_FALSE 2

/* INET-ADDRESS-MIB InetAddressType */
#define INET_TYPE_UNKNOWN 0
#define INET_TYPE_IPV4 1
#define INET_TYPE_IPV6 2

#define DATE_AND_TIME_LEN 11

/* ---- varbind setters: 0, or -1 when Net-SNMP could not store the value ---------- */

static int set_int(netsnmp_variable_list *vb, long v)
{
    return snmp_set_var_typed_value(vb, ASN_INTEGER, &v, sizeof v) == 0 ? 0 : -1;
}

/* Unsigned32, Gauge32, Counter32 and TimeTicks share one representation. */
static int set_uint(netsnmp_variable_list *vb, u_char type, uint32_t v)
{
    unsigned long u = v;
    return snmp_set_var_typed_value(vb, type, &u, sizeof u) == 0 ? 0 : -1;
}

static int set_truth(netsnmp_variable_list *vb, bool v)
{
    return set_int(vb, v ? TRUTH_TRUE : TRUTH_FALSE);
}

static int set_bytes(netsnmp_variable_list *vb, const void *p, size_t len)
{
    return snmp_set_var_typed_value(vb, ASN_OCTET_STR, p, len) == 0 ? 0 : -1;
}

/* `size` is the char array's size. The read is bounded in case a careless copy left
 * no terminator, and to size - 1: the column's SIZE limit is the array less its NUL. */
static int set_str(netsnmp_variable_list *vb, const char *s, size_t size)
{
    return set_bytes(vb, s, strnlen(s, size - 1));
}

static int set_counter64(netsnmp_variable_list *vb, uint64_t v)
{
    struct counter64 c = { .high = (u_long)(v >> 32), .low = (u_long)(v & 0xffffffffu) };
    return snmp_set_var_typed_value(vb, ASN_COUNTER64, &c, sizeof c) == 0 ? 0 : -1;
}

static int set_timestamp(netsnmp_variable_list *vb, sipha_ms ms, uint64_t base)
{
    return set_uint(vb, ASN_TIMETICKS, mibval_timestamp(ms, base));
}

static int set_addr_type(netsnmp_variable_list *vb, const struct sipha_addr *a)
{
    long t = a->family == 4 ? INET_TYPE_IPV4 : a->family == 6 ? INET_TYPE_IPV6 : INET_TYPE_UNKNOWN;
    return set_int(vb, t);
}

/* InetAddress: 4 or 16 octets in network order, empty for unknown(0). */
static int set_addr(netsnmp_variable_list *vb, const struct sipha_addr *a)
{
    size_t len = a->family == 4 ? 4 : a->family == 6 ? 16 : 0;
    return set_bytes(vb, a->bytes, len);
}

/* ---- conversions ---------------------------------------------------------------- */

uint32_t mibval_timestamp(uint64_t ms, uint64_t uptime_base)
{
    if (ms == 0 || ms < uptime_base)
        return 0;
    /* TimeTicks wrap modulo 2^32 like sysUpTime itself. */
    return (uint32_t)((ms - uptime_base) / 10);
}

/* DateAndTime (RFC 2579) in UTC: year(2) month day hour min sec deci '+' 0 0.
 * Returns the length written: 11, or 8 zero octets when the time is unknown. */
static size_t date_and_time(int64_t wall_ms, uint8_t out[DATE_AND_TIME_LEN])
{
    memset(out, 0, DATE_AND_TIME_LEN);
    if (wall_ms <= 0)
        return 8;
    time_t secs = (time_t)(wall_ms / 1000);
    struct tm tm;
    if (!gmtime_r(&secs, &tm) || tm.tm_year + 1900 > 65535)
        return 8;
    unsigned year = (unsigned)tm.tm_year + 1900;
    out[0] = (uint8_t)(year >> 8);
    out[1] = (uint8_t)(year & 0xff);
    out[2] = (uint8_t)(tm.tm_mon + 1);
    out[3] = (uint8_t)tm.tm_mday;
    out[4] = (uint8_t)tm.tm_hour;
    out[5] = (uint8_t)tm.tm_min;
    out[6] = (uint8_t)(tm.tm_sec > 59 ? 60 : tm.tm_sec); /* 60 = leap second */
    out[7] = (uint8_t)((wall_ms % 1000) / 100);
    out[8] = '+';
    return DATE_AND_TIME_LEN;
}

static uint64_t mono_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* Whole seconds left before a monotonic deadline, rounded up so that a contact
 * with time left never reads 0 (0 means expired). */
static uint32_t seconds_left(sipha_ms deadline)
{
    uint64_t now = mono_now_ms();
    if (deadline <= now)
        return 0;
    uint64_t s = (deadline - now + 999) / 1000;
    return s > UINT32_MAX ? UINT32_MAX : (uint32_t)s;
}

/* ---- per-table columns ---------------------------------------------------------- */

/* Datagrams the link refused for any reason but authentication. */
static uint32_t link_bad(const struct hl_counters *c)
{
    uint64_t bad = 0;
    for (int i = 1; i < HL_E_COUNT; i++)
        if (i != HL_E_AUTH)
            bad += c->rejected[i];
    return (uint32_t)bad;
}

static bool is_link_column(unsigned col)
{
    return col == INST_COL_HA_LINK_IN || col == INST_COL_HA_LINK_OUT ||
           col == INST_COL_HA_LINK_AUTH_FAILURES || col == INST_COL_HA_LINK_BAD;
}

static bool is_arbiter_column(unsigned col)
{
    return col >= INST_COL_ARBITER_KIND && col <= INST_COL_ARBITER_LOCK_LOSSES;
}

/* The arbiter's columns: one look at the lock per value (an etcd hold changes between
 * reads; the view is a copy of plain values, cheap to fill). */
static int inst_arbiter_value(const struct sipha_instance *in, unsigned col, uint64_t base,
                              netsnmp_variable_list *vb)
{
    if (!is_arbiter_column(col))
        return -1; /* index column or beyond the last */
    struct sipha_lock_view lv;
    instance_lock(in, &lv);
    char lease[17] = "";
    switch (col) {
    case INST_COL_ARBITER_KIND: return set_int(vb, lv.kind);
    case INST_COL_ARBITER_ENDPOINT: return set_str(vb, lv.endpoint, sizeof lv.endpoint);
    case INST_COL_ARBITER_LEASE_ID:
        if (lv.lease)
            snprintf(lease, sizeof lease, "%016llx", (unsigned long long)lv.lease);
        return set_str(vb, lease, sizeof lease);
    case INST_COL_ARBITER_LEASE_TTL: return set_uint(vb, ASN_UNSIGNED, lv.ttl_s);
    case INST_COL_ARBITER_LAST_RENEWAL: return set_timestamp(vb, lv.last_renewal, base);
    case INST_COL_ARBITER_LOCK_HELD: return set_truth(vb, lv.held);
    case INST_COL_ARBITER_HOLDER:
        return set_str(vb, lv.holder_present ? lv.holder : "", sizeof lv.holder);
    case INST_COL_ARBITER_FAILURES:
        return set_uint(vb, ASN_COUNTER, (uint32_t)(lv.unreachable + lv.failures));
    default: return set_uint(vb, ASN_COUNTER, (uint32_t)lv.losses);
    }
}

static int inst_value(const struct sipha_instance *in, unsigned col, uint64_t base,
                      netsnmp_variable_list *vb)
{
    const struct ha_state *st = instance_ha(in);
    unsigned opts = instance_options(in);
    struct hl_counters lc = { 0 };
    if (in->link && is_link_column(col))
        hl_get_counters(in->link, &lc);
    switch (col) {
    case INST_COL_NAME: return set_str(vb, in->name, sizeof in->name);
    case INST_COL_ROLE: return set_int(vb, st->role);
    case INST_COL_STATUS: return set_int(vb, st->status);
    case INST_COL_PRIORITY: return set_uint(vb, ASN_UNSIGNED, in->priority);
    case INST_COL_EPOCH: return set_uint(vb, ASN_UNSIGNED, instance_epoch(in));
    case INST_COL_SIP_ADDR_TYPE: return set_addr_type(vb, &in->sip_addr);
    case INST_COL_SIP_ADDR: return set_addr(vb, &in->sip_addr);
    case INST_COL_SIP_PORT: return set_uint(vb, ASN_UNSIGNED, in->sip_port);
    case INST_COL_LISTENER_BOUND: return set_truth(vb, st->listener == HA_LISTENER_BOUND);
    case INST_COL_SIP_TRAFFIC_STATE: return set_int(vb, st->traffic);
    case INST_COL_SIP_MSGS_IN: return set_counter64(vb, st->sip_msgs);
    case INST_COL_LAST_SIP_MSG_TIME: return set_timestamp(vb, st->last_sip_msg, base);
    case INST_COL_OOS_TIMEOUT_BASE: return set_uint(vb, ASN_UNSIGNED, st->oos_base_s);
    case INST_COL_OOS_TIMEOUT_EFF: return set_uint(vb, ASN_UNSIGNED, st->oos_eff_s);
    case INST_COL_BACKOFF_FACTOR: return set_uint(vb, ASN_UNSIGNED, st->backoff_factor);
    case INST_COL_SWITCHOVERS: return set_uint(vb, ASN_COUNTER, st->switchovers);
    case INST_COL_DOUBLE_SWITCHOVERS: return set_uint(vb, ASN_COUNTER, st->double_switchovers);
    case INST_COL_LAST_SWITCHOVER_TIME: return set_timestamp(vb, st->last_switchover, base);
    case INST_COL_LAST_SWITCHOVER_REASON: return set_int(vb, st->last_reason);
    case INST_COL_PEER_NAME: return set_str(vb, in->peer_name, sizeof in->peer_name);
    case INST_COL_PEER_ROLE: return set_int(vb, instance_peer_role(in));
    case INST_COL_PEER_STATUS: return set_int(vb, instance_peer_status(in));
    case INST_COL_PEER_LINK_STATE: return set_int(vb, st->peer_link);
    case INST_COL_PEER_LAST_SEEN: return set_timestamp(vb, instance_peer_last_seen(in), base);
    case INST_COL_ARBITER_STATE: return set_int(vb, st->arbiter);
    case INST_COL_OPT_SIP_PASS_CHECK: return set_truth(vb, opts & HA_OPT_SIP_PASS_CHECK);
    case INST_COL_OPT_CONTROL_VIP_SCRIPTS:
        return set_truth(vb, opts & HA_OPT_CONTROL_VIP_SCRIPTS);
    case INST_COL_OPT_IPTAKEOVER_MON: return set_truth(vb, opts & HA_OPT_IPTAKEOVER_MONITORING);
    case INST_COL_OPT_TLIB_NIC_MON: return set_truth(vb, opts & HA_OPT_TLIB_NIC_MONITORING);
    case INST_COL_OPT_SIP_NIC_MON: return set_truth(vb, opts & HA_OPT_SIP_NIC_MONITORING);
    case INST_COL_ADMIN_COMMAND: return set_int(vb, in->admin_cmd);
    case INST_COL_ADMIN_RESULT: return set_int(vb, st->admin_result);
    case INST_COL_ADMIN_TIME: return set_timestamp(vb, in->admin_time, base);
    case INST_COL_EVENT_LOG_SIZE: return set_uint(vb, ASN_GAUGE, (uint32_t)in->events.count);
    case INST_COL_EVENT_LOG_LIMIT: return set_uint(vb, ASN_UNSIGNED, (uint32_t)in->events.limit);
    case INST_COL_EVENT_LOG_DROPPED: return set_uint(vb, ASN_COUNTER, in->events.dropped);
    case INST_COL_NOTIFS_QUEUED: return set_uint(vb, ASN_GAUGE, in->queue ? (uint32_t)nq_count(in->queue) : 0);
    case INST_COL_NOTIFS_DROPPED: return set_uint(vb, ASN_COUNTER, in->queue ? nq_dropped(in->queue) : 0);
    case INST_COL_HA_LINK_IN: return set_counter64(vb, lc.dgrams_in);
    case INST_COL_HA_LINK_OUT: return set_counter64(vb, lc.dgrams_out);
    case INST_COL_HA_LINK_AUTH_FAILURES: return set_uint(vb, ASN_COUNTER, (uint32_t)lc.rejected[HL_E_AUTH]);
    case INST_COL_HA_LINK_BAD: return set_uint(vb, ASN_COUNTER, link_bad(&lc));
    case INST_COL_PEER_HEARS_US: return set_truth(vb, instance_peer_hears_us(in));
    case INST_COL_STATE_DIR_STATUS: return set_int(vb, in->state_dir);
    case INST_COL_SIP_SERVER_KIND: return set_int(vb, in->sip_server_kind);
    case INST_COL_CONTACT_SOURCE_STATE: return set_int(vb, in->contact_source);
    case INST_COL_CONTACT_SOURCE_FAILURES: return set_uint(vb, ASN_COUNTER, in->contact_source_failures);
    case INST_COL_CONTACTS_WRITTEN: return set_uint(vb, ASN_COUNTER, in->contacts_written);
    default: return inst_arbiter_value(in, col, base, vb);
    }
}

static int nic_value(const struct sipha_nic *n, const struct ha_state *st, unsigned col,
                     uint64_t base, netsnmp_variable_list *vb)
{
    static const struct ha_nic_state unknown = { .oper = HA_OPER_UNKNOWN };
    const struct ha_nic_state *h = n->index <= st->n_nics ? &st->nics[n->index - 1] : &unknown;
    switch (col) {
    case NIC_COL_PURPOSE: return set_int(vb, n->purpose);
    case NIC_COL_IFINDEX: return set_int(vb, n->ifindex < 0 ? 0 : n->ifindex);
    case NIC_COL_NAME: return set_str(vb, n->name, sizeof n->name);
    case NIC_COL_ADDR_TYPE: return set_addr_type(vb, &n->addr);
    case NIC_COL_ADDR: return set_addr(vb, &n->addr);
    case NIC_COL_OPER_STATE: return set_int(vb, h->oper);
    case NIC_COL_LAST_CHANGE: return set_timestamp(vb, h->last_change, base);
    case NIC_COL_FAILURES: return set_uint(vb, ASN_COUNTER, h->failures);
    default: return -1;
    }
}

static int vip_value(const struct sipha_vip *v, const struct ha_state *st, unsigned col,
                     uint64_t base, netsnmp_variable_list *vb)
{
    static const struct ha_vip_state unknown = {
        .expected = HA_VIP_EXPECT_ABSENT, .actual = HA_VIP_UNKNOWN,
        .status = HA_VIP_NOT_MONITORED, .last_exit = -1,
    };
    const struct ha_vip_state *h = v->index <= st->n_vips ? &st->vips[v->index - 1] : &unknown;
    switch (col) {
    case VIP_COL_ADDR_TYPE: return set_addr_type(vb, &v->addr);
    case VIP_COL_ADDR: return set_addr(vb, &v->addr);
    case VIP_COL_INTERFACE: return set_str(vb, v->interface, sizeof v->interface);
    case VIP_COL_EXPECTED: return set_int(vb, h->expected);
    case VIP_COL_ACTUAL: return set_int(vb, h->actual);
    case VIP_COL_STATUS: return set_int(vb, h->status);
    case VIP_COL_SCRIPT_RUNS: return set_uint(vb, ASN_COUNTER, h->script_runs);
    case VIP_COL_LAST_EXIT: return set_int(vb, h->last_exit);
    case VIP_COL_LAST_CHANGE: return set_timestamp(vb, h->last_change, base);
    default: return -1;
    }
}

static int dn_value(const struct sipha_dn *d, const struct ha_state *st, unsigned col,
                    uint64_t base, netsnmp_variable_list *vb)
{
    long state = d->index <= st->n_dns && st->dn_state[d->index - 1] ? st->dn_state[d->index - 1]
                                                                       : HA_DN_UNKNOWN;
    switch (col) {
    case DN_COL_NAME: return set_str(vb, d->name, sizeof d->name);
    case DN_COL_URI: return set_str(vb, d->uri, sizeof d->uri);
    case DN_COL_OOS_CHECK: return set_uint(vb, ASN_UNSIGNED, d->oos_check);
    case DN_COL_OOS_FORCE: return set_uint(vb, ASN_UNSIGNED, d->oos_force);
    case DN_COL_STATE: return set_int(vb, state);
    case DN_COL_LAST_RESP_TIME: return set_timestamp(vb, d->last_response, base);
    case DN_COL_LAST_STATUS: return set_uint(vb, ASN_UNSIGNED, d->last_status);
    case DN_COL_RTT: return set_uint(vb, ASN_UNSIGNED, d->rtt_us);
    case DN_COL_PROBES: return set_uint(vb, ASN_COUNTER, d->probes);
    case DN_COL_TIMEOUTS: return set_uint(vb, ASN_COUNTER, d->timeouts);
    default: return -1;
    }
}

static int contact_value(const struct sipha_contact *c, unsigned col,
                         netsnmp_variable_list *vb)
{
    switch (col) {
    case CONTACT_COL_AOR: return set_str(vb, c->aor, sizeof c->aor);
    case CONTACT_COL_URI: return set_str(vb, c->uri, sizeof c->uri);
    case CONTACT_COL_EXPIRY: return set_uint(vb, ASN_UNSIGNED, seconds_left(c->expires_at));
    case CONTACT_COL_ORIGIN: return set_int(vb, c->origin);
    default: return -1;
    }
}

/* siphaEventNotification: siphaNotifications.N, or zeroDotZero when none was sent. */
static int set_notification(netsnmp_variable_list *vb, unsigned notif)
{
    static const oid none[] = { 0, 0 };
    oid name[] = { SIPHA_NOTIFICATIONS, 0 };
    if (notif < 1 || notif > HA_NOTIF_COUNT)
        return snmp_set_var_typed_value(vb, ASN_OBJECT_ID, none, sizeof none) == 0 ? 0 : -1;
    name[OID_LENGTH(name) - 1] = notif;
    return snmp_set_var_typed_value(vb, ASN_OBJECT_ID, name, sizeof name) == 0 ? 0 : -1;
}

static int event_value(const struct evlog_entry *e, unsigned col, uint64_t base,
                       netsnmp_variable_list *vb)
{
    uint8_t dt[DATE_AND_TIME_LEN];
    switch (col) {
    case EVENT_COL_ID: return set_str(vb, e->id, sizeof e->id);
    case EVENT_COL_CODE: return set_uint(vb, ASN_UNSIGNED, e->code);
    case EVENT_COL_SEVERITY: return set_int(vb, e->severity);
    case EVENT_COL_TIME: return set_timestamp(vb, e->mono_ms, base);
    case EVENT_COL_DATE_TIME: return set_bytes(vb, dt, date_and_time(e->wall_ms, dt));
    case EVENT_COL_TEXT: return set_str(vb, e->text, sizeof e->text);
    case EVENT_COL_NOTIFICATION: return set_notification(vb, e->notif);
    case EVENT_COL_ALARM_STATE: return set_int(vb, e->alarm);
    default: return -1;
    }
}

/* ---- entry points --------------------------------------------------------------- */

int mibval_get(const struct sipha_instance *in, enum sipha_table_id table, unsigned col,
               uint32_t row_index, uint64_t uptime_base, netsnmp_variable_list *vb)
{
    if (!in || !vb)
        return -1;
    const void *row;
    switch (table) {
    case SIPHA_T_INSTANCE:
        return inst_value(in, col, uptime_base, vb);
    case SIPHA_T_NIC:
        row = rows_find(&in->nics, row_index);
        return row ? nic_value(row, instance_ha(in), col, uptime_base, vb) : -1;
    case SIPHA_T_VIP:
        row = rows_find(&in->vips, row_index);
        return row ? vip_value(row, instance_ha(in), col, uptime_base, vb) : -1;
    case SIPHA_T_DN:
        row = rows_find(&in->dns, row_index);
        return row ? dn_value(row, instance_ha(in), col, uptime_base, vb) : -1;
    case SIPHA_T_CONTACT:
        row = rows_find(&in->contacts, row_index);
        return row ? contact_value(row, col, vb) : -1;
    case SIPHA_T_EVENT:
        row = row_index && in->events.count ? evlog_find(&in->events, row_index) : NULL;
        return row ? event_value(row, col, uptime_base, vb) : -1;
    default:
        return -1;
    }
}

unsigned mibval_last_column(enum sipha_table_id table)
{
    switch (table) {
    case SIPHA_T_INSTANCE: return INST_COL_LAST;
    case SIPHA_T_NIC: return NIC_COL_LAST;
    case SIPHA_T_VIP: return VIP_COL_LAST;
    case SIPHA_T_DN: return DN_COL_LAST;
    case SIPHA_T_CONTACT: return CONTACT_COL_LAST;
    case SIPHA_T_EVENT: return EVENT_COL_LAST;
    default: return 0;
    }
}
