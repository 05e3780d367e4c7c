/* mib_table.c — GET and GETNEXT over the six tables, and the SET phases.
 *
 * GETNEXT: Net-SNMP calls the handler of the column subtree entry.C.INST that holds
 * the next OID; when the request OID is below that subtree it rewrites it to the
 * subtree's start and marks the request `inclusive`. We answer within entry.C.INST
 * only: leaving the varbind unanswered sends the search on to the next subtree, which
 * may be the same column of another instance registered by another agent. */
#include <string.h>

#include <net-snmp/net-snmp-config.h>
#include <net-snmp/net-snmp-includes.h>
#include <net-snmp/agent/net-snmp-agent-includes.h>

#include "mib_set.h"
#include "ha_link.h"
#include "mib_table.h"
#include "mib_values.h"

int mib_oid_parse(const oid *name, size_t len, struct mib_pos *pos, bool *has_row, bool *extra)
{
    if (len < MIB_COLUMN_PREFIX_LEN || memcmp(name, mib_objects_oid, sizeof(mib_objects_oid)) != 0)
        return -1;
    oid t = name[MIB_OBJECTS_LEN], e = name[MIB_OBJECTS_LEN + 1], c = name[MIB_OBJECTS_LEN + 2];
    oid inst = name[MIB_OBJECTS_LEN + 3];
    if (t < SIPHA_T_INSTANCE || t > SIPHA_T_EVENT || e != 1)
        return -1;
    if (c < 2 || c > mibval_last_column((enum sipha_table_id)t) || inst > UINT32_MAX)
        return -1;
    *pos = (struct mib_pos){ (enum sipha_table_id)t, (unsigned)c, (uint32_t)inst, 0 };
    *has_row = len > MIB_COLUMN_PREFIX_LEN;
    *extra = len > MIB_COLUMN_PREFIX_LEN + 1;
    if (*has_row) {
        if (name[MIB_COLUMN_PREFIX_LEN] > UINT32_MAX)
            return -1;
        pos->row = (uint32_t)name[MIB_COLUMN_PREFIX_LEN];
    }
    return 0;
}

static const struct sipha_rows *table_rows(const struct sipha_instance *in,
                                           enum sipha_table_id table)
{
    switch (table) {
    case SIPHA_T_NIC: return &in->nics;
    case SIPHA_T_VIP: return &in->vips;
    case SIPHA_T_DN: return &in->dns;
    case SIPHA_T_CONTACT: return &in->contacts;
    default: return NULL;
    }
}

uint32_t mib_next_row(const struct sipha_instance *in, enum sipha_table_id table, uint32_t row,
                      bool inclusive)
{
    if (table == SIPHA_T_EVENT) {
        const struct evlog_entry *e = evlog_next(&in->events, row, inclusive);
        return e ? e->index : 0;
    }
    const struct sipha_rows *r = table_rows(in, table);
    if (!r)
        return 0;
    const uint32_t *first = rows_next(r, row, inclusive); /* index is each row's first member */
    return first ? *first : 0;
}

static bool is_instance_table(enum sipha_table_id t)
{
    return t == SIPHA_T_INSTANCE;
}

/* GET: the OID must name exactly one existing value of this instance. */
static void answer_get(struct agent *a, netsnmp_agent_request_info *ri, netsnmp_request_info *req)
{
    netsnmp_variable_list *vb = req->requestvb;
    struct mib_pos pos;
    bool has_row, extra;
    if (mib_oid_parse(vb->name, vb->name_length, &pos, &has_row, &extra) != 0 ||
        pos.instance != a->inst.index || extra || has_row == is_instance_table(pos.table) ||
        mibval_get(&a->inst, pos.table, pos.column, pos.row, a->uptime_base, vb) != 0)
        netsnmp_set_request_error(ri, req, SNMP_NOSUCHINSTANCE);
}

/* GETNEXT within entry.C.INST: the first row after the request OID. */
static void answer_getnext(struct agent *a, netsnmp_request_info *req)
{
    netsnmp_variable_list *vb = req->requestvb;
    struct mib_pos pos;
    bool has_row, extra;
    if (mib_oid_parse(vb->name, vb->name_length, &pos, &has_row, &extra) != 0 ||
        pos.instance != a->inst.index)
        return;
    uint32_t row = 0;
    if (is_instance_table(pos.table)) {
        if (has_row || !req->inclusive)
            return; /* past the single row of the instance */
    } else {
        row = mib_next_row(&a->inst, pos.table, has_row ? pos.row : 0,
                           has_row && req->inclusive && !extra);
        if (row == 0)
            return;
    }
    oid name[MAX_OID_LEN];
    size_t len = mib_oid_build(name, pos.table, pos.column, pos.instance, row,
                               !is_instance_table(pos.table));
    if (mibval_get(&a->inst, pos.table, pos.column, row, a->uptime_base, vb) == 0)
        snmp_set_var_objid(vb, name, len);
}

static void handle_set_phase(struct agent *a, netsnmp_agent_request_info *ri,
                             netsnmp_request_info *req)
{
    netsnmp_variable_list *vb = req->requestvb;
    struct mib_pos pos;
    bool has_row, extra;
    if (mib_oid_parse(vb->name, vb->name_length, &pos, &has_row, &extra) != 0 ||
        pos.instance != a->inst.index || extra || has_row == is_instance_table(pos.table)) {
        if (ri->mode == MODE_SET_RESERVE1)
            netsnmp_set_request_error(ri, req, SNMP_ERR_NOCREATION);
        return;
    }
    if (ri->mode == MODE_SET_RESERVE1) {
        int err = mibset_check(&a->inst, &a->cfg, pos.table, pos.column, pos.row, vb);
        if (err != SNMP_ERR_NOERROR)
            netsnmp_set_request_error(ri, req, err);
    } else if (ri->mode == MODE_SET_COMMIT) {
        /* Every varbind passed RESERVE1: applying cannot fail. */
        mibset_apply(a, pos.table, pos.column, pos.row, vb);
    }
}

static int table_handler(netsnmp_mib_handler *handler, netsnmp_handler_registration *reg,
                         netsnmp_agent_request_info *ri, netsnmp_request_info *requests)
{
    (void)reg;
    struct agent *a = handler->myvoid;
    for (netsnmp_request_info *req = requests; req; req = req->next) {
        if (req->processed)
            continue;
        switch (ri->mode) {
        case MODE_GET:
            answer_get(a, ri, req);
            break;
        case MODE_GETNEXT:
            answer_getnext(a, req);
            break;
        default:
            handle_set_phase(a, ri, req);
            break;
        }
    }
    return SNMP_ERR_NOERROR;
}

static int register_table(struct agent *a, enum sipha_table_id table, const char *name)
{
    oid root[MAX_OID_LEN];
    size_t len = mib_oid_build(root, table, 2, a->inst.index, 0, false);
    int modes = (table == SIPHA_T_INSTANCE || table == SIPHA_T_EVENT) ? HANDLER_CAN_RWRITE
                                                                       : HANDLER_CAN_RONLY;
    netsnmp_mib_handler *h = netsnmp_create_handler(name, table_handler);
    if (!h)
        return -1;
    h->myvoid = a;
    netsnmp_handler_registration *reg =
        netsnmp_handler_registration_create(name, h, root, len, modes);
    if (!reg)
        return -1;
    /* The column sub-id varies from 2 to the last column: one registration covers
     * entry.2.INST .. entry.LAST.INST. range_subid is 1-based. */
    reg->range_subid = (int)(MIB_COLUMN_PREFIX_LEN - 1);
    reg->range_ubound = mibval_last_column(table);
    if (netsnmp_register_handler(reg) != MIB_REGISTERED_OK) {
        snmp_log(LOG_ERR, "sipha: cannot register %s\n", name);
        return -1;
    }
    return 0;
}

int mib_table_register_all(struct agent *a)
{
    static const struct {
        enum sipha_table_id t;
        const char *name;
    } tables[] = {
        { SIPHA_T_INSTANCE, "siphaInstanceTable" }, { SIPHA_T_NIC, "siphaNicTable" },
        { SIPHA_T_VIP, "siphaVipTable" },           { SIPHA_T_DN, "siphaServiceDnTable" },
        { SIPHA_T_CONTACT, "siphaContactTable" },   { SIPHA_T_EVENT, "siphaEventTable" },
    };
    for (size_t i = 0; i < sizeof(tables) / sizeof(tables[0]); i++)
        if (register_table(a, tables[i].t, tables[i].name) != 0)
            return -1;
    return 0;
}
