/* notify_build.c — the varbinds of a notification (see notify_build.h). One builder
 * for the agent and sipha-trapgen, so what an operator tests is what the agent sends. */
#include <string.h>
#include <time.h>

#include "mib_oid.h"
#include "mib_values.h"
#include "notify_build.h"
#include "sipha_mib.h"

static const oid sys_uptime_oid[] = { 1, 3, 6, 1, 2, 1, 1, 3, 0 };
static const oid snmp_trap_oid[] = { 1, 3, 6, 1, 6, 3, 1, 1, 4, 1, 0 };
static const oid notifications_oid[] = { SIPHA_NOTIFICATIONS };

#define OID_COUNT(a) (sizeof(a) / sizeof((a)[0]))

size_t notify_trap_oid(const struct notif_def *def, oid *buf)
{
    memcpy(buf, notifications_oid, sizeof(notifications_oid));
    buf[OID_COUNT(notifications_oid)] = (oid)def->id;
    return OID_COUNT(notifications_oid) + 1;
}

size_t notify_varbind_oid(const struct notif_def *def, const struct notif_varbind *vb,
                          uint32_t inst_index, uint32_t row_index, uint32_t event_index,
                          oid *buf)
{
    size_t n = MIB_OBJECTS_LEN;
    memcpy(buf, mib_objects_oid, sizeof(mib_objects_oid));
    buf[n++] = vb->table;
    buf[n++] = 1; /* the table's entry */
    buf[n++] = vb->column;
    buf[n++] = inst_index;
    if (vb->table == SIPHA_T_INSTANCE)
        return n;
    if (vb->table == SIPHA_T_EVENT)
        buf[n++] = event_index;
    else if (vb->table == def->row_table)
        buf[n++] = row_index;
    else
        return 0;
    return n;
}

static uint64_t monotonic_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* The two varbinds every SNMPv2 notification starts with (RFC 3416 4.2.6). */
static int add_header(const struct notif_def *def, uint64_t uptime_base,
                      netsnmp_variable_list **list)
{
    uint64_t now = monotonic_ms();
    /* TimeTicks wraps modulo 2^32 like any sysUpTime. */
    u_long ticks = (u_long)(uint32_t)(now > uptime_base ? (now - uptime_base) / 10 : 0);
    oid trap[NOTIFY_OID_MAX];
    size_t trap_len = notify_trap_oid(def, trap);
    if (!snmp_varlist_add_variable(list, sys_uptime_oid, OID_COUNT(sys_uptime_oid),
                                   ASN_TIMETICKS, &ticks, sizeof(ticks)))
        return -1;
    if (!snmp_varlist_add_variable(list, snmp_trap_oid, OID_COUNT(snmp_trap_oid),
                                   ASN_OBJECT_ID, trap, trap_len * sizeof(oid)))
        return -1;
    return 0;
}

static int add_column(const struct notif_def *def, const struct notif_varbind *vb,
                      const struct sipha_instance *in, uint32_t row_index,
                      uint32_t event_index, uint64_t uptime_base, netsnmp_variable_list **list)
{
    oid name[NOTIFY_OID_MAX];
    size_t len = notify_varbind_oid(def, vb, in->index, row_index, event_index, name);
    if (len == 0)
        return -1;
    uint32_t row = vb->table == SIPHA_T_EVENT ? event_index : row_index;
    netsnmp_variable_list *v = snmp_varlist_add_variable(list, name, len, ASN_NULL, NULL, 0);
    if (!v)
        return -1;
    return mibval_get(in, (enum sipha_table_id)vb->table, vb->column, row, uptime_base, v);
}

int notify_build_varbinds(const struct notif_def *def, const struct sipha_instance *in,
                          uint32_t row_index, uint32_t event_index, uint64_t uptime_base,
                          netsnmp_variable_list **out)
{
    netsnmp_variable_list *list = NULL;
    *out = NULL;
    if (!def || !in || def->nvarbinds > NOTIF_MAX_VARBINDS)
        return -1;
    int rc = add_header(def, uptime_base, &list);
    for (size_t i = 0; rc == 0 && i < def->nvarbinds; i++)
        rc = add_column(def, &def->varbinds[i], in, row_index, event_index, uptime_base, &list);
    if (rc != 0) {
        snmp_free_varbind(list);
        return -1;
    }
    *out = list;
    return 0;
}
