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
#include "state_save.h"
#include "mib_values.h"

/* From RFC 2741 (Net-SNMP does not install its agentx/protocol.h). */
#define AX_MSG_GET 5
#define AX_MSG_GETNEXT 6
#define AX_MSG_RESPONSE 18
#define AX_FLAG_NON_DEFAULT_CONTEXT 0x08
#define AX_FLAG_NETWORK_BYTE_ORDER 0x10

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

/* ---- AgentX Get/GetNext answered without Net-SNMP's internal request path ------
 *
 * Net-SNMP's subagent hands every AgentX request to its own agent core through a
 * callback session (a pipe written and read twice, two more poll rounds, two PDU
 * copies, an agent session with its request list and a registry search) and only
 * then to table_handler. A bulk walk through snmpd costs one AgentX GetNext per
 * value, so that detour is paid per value. mib_table_answer_agentx answers the
 * common case — every varbind inside this instance's columns, default context —
 * from the same lookups as table_handler and sends the Response itself; anything
 * else goes the usual way. */

/* The next value after (or at, when inclusive) `name` in `pos.table`, searching the
 * request's column then the following ones; its OID in out/out_len and its value in
 * vb. False when the table has nothing further. */
static bool next_in_table(struct agent *a, struct mib_pos pos, bool has_row, bool extra,
                          bool inclusive, oid *out, size_t *out_len, netsnmp_variable_list *vb)
{
    unsigned last = mibval_last_column(pos.table);
    for (unsigned col = pos.column; col <= last; col++) {
        uint32_t row = 0;
        if (is_instance_table(pos.table)) {
            if (col == pos.column && (has_row || !inclusive))
                continue; /* past the single row of this column */
        } else {
            bool first = col == pos.column;
            row = mib_next_row(&a->inst, pos.table, first && has_row ? pos.row : 0,
                               first && has_row && inclusive && !extra);
            if (row == 0)
                continue;
        }
        if (mibval_get(&a->inst, pos.table, col, row, a->uptime_base, vb) != 0)
            continue;
        *out_len = mib_oid_build(out, pos.table, col, pos.instance, row,
                                 !is_instance_table(pos.table));
        return true;
    }
    return false;
}

/* Appends the answer to one request varbind to resp; -1 when the varbind is not
 * one this fast path answers (the whole PDU then takes Net-SNMP's path). */
static int fast_answer(struct agent *a, int command, const netsnmp_variable_list *req,
                       netsnmp_pdu *resp)
{
    struct mib_pos pos;
    bool has_row, extra;
    if (mib_oid_parse(req->name, req->name_length, &pos, &has_row, &extra) != 0 ||
        pos.instance != a->inst.index)
        return -1;
    netsnmp_variable_list *vb =
        snmp_pdu_add_variable(resp, req->name, req->name_length, ASN_NULL, NULL, 0);
    if (!vb)
        return -1;
    if (command == AX_MSG_GET) {
        if (extra || has_row == is_instance_table(pos.table) ||
            mibval_get(&a->inst, pos.table, pos.column, pos.row, a->uptime_base, vb) != 0)
            snmp_set_var_typed_value(vb, SNMP_NOSUCHINSTANCE, NULL, 0);
        return 0;
    }
    oid name[MAX_OID_LEN];
    size_t len = 0;
    bool inclusive = req->type == ASN_PRIV_INCL_RANGE;
    if (!next_in_table(a, pos, has_row, extra, inclusive, name, &len, vb)) {
        snmp_set_var_typed_value(vb, SNMP_ENDOFMIBVIEW, NULL, 0);
        return 0;
    }
    /* The master scopes each search to the end of the region it asks about (an
     * empty end OID means no limit): an answer at or past it is endOfMibView, under
     * the request's own name (RFC 2741, 7.2.3.2). */
    size_t end_len = req->val_len / sizeof(oid);
    if (end_len > 0 && snmp_oid_compare(name, len, req->val.objid, end_len) >= 0) {
        snmp_set_var_typed_value(vb, SNMP_ENDOFMIBVIEW, NULL, 0);
        return 0;
    }
    snmp_set_var_objid(vb, name, len);
    return 0;
}

int mib_table_answer_agentx(struct agent *a, netsnmp_session *s, netsnmp_pdu *pdu)
{
    if ((pdu->command != AX_MSG_GET && pdu->command != AX_MSG_GETNEXT) ||
        (pdu->flags & AX_FLAG_NON_DEFAULT_CONTEXT) || pdu->community_len != 0 ||
        !pdu->variables)
        return -1;
    netsnmp_pdu *resp = snmp_pdu_create(AX_MSG_RESPONSE);
    if (!resp)
        return -1;
    for (netsnmp_variable_list *v = pdu->variables; v; v = v->next_variable) {
        if (fast_answer(a, pdu->command, v, resp) != 0) {
            snmp_free_pdu(resp);
            return -1;
        }
    }
    resp->version = s->version;
    resp->reqid = pdu->reqid;
    resp->transid = pdu->transid;
    resp->sessid = pdu->sessid;
    resp->flags |= pdu->flags & AX_FLAG_NETWORK_BYTE_ORDER;
    resp->time = 0;
    resp->errstat = SNMP_ERR_NOERROR;
    resp->errindex = 0;
    if (!snmp_send(s, resp))
        snmp_free_pdu(resp); /* the master times the request out and retries or fails it */
    return 0;
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
    } else if (ri->mode == MODE_SET_RESERVE2) {
        /* A value that could not be kept would revert at the next restart with the
         * manager told noError: refuse it now, while nothing has changed (RFC 3416:
         * resourceUnavailable in the allocation phase). The save writes the state as it
         * is; the new value follows at the end of the loop iteration. */
        if (mibset_is_persistent(pos.table, pos.column) && state_save_now(a) != 0)
            netsnmp_set_request_error(ri, req, SNMP_ERR_RESOURCEUNAVAILABLE);
    } else if (ri->mode == MODE_SET_COMMIT) {
        /* Every varbind passed RESERVE1 and RESERVE2: applying cannot fail. */
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
