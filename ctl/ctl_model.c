/* ctl_model.c — see ctl_model.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "array.h"
#include "ctl_model.h"
#include "mib_oid.h"
#include "notify_build.h"
#include "notify_defs.h"
#include "sipha_mib.h"

/* Positions in a column OID siphaObjects.T.1.C.INSTANCE[.ROW]. */
#define POS_TABLE MIB_OBJECTS_LEN
#define POS_COLUMN (MIB_OBJECTS_LEN + 2)
#define POS_INSTANCE (MIB_OBJECTS_LEN + 3)
#define POS_ROW (MIB_OBJECTS_LEN + 4)
#define INST_OID_LEN (MIB_OBJECTS_LEN + 4)
#define ROW_OID_LEN (MIB_OBJECTS_LEN + 5)
#define DATE_AND_TIME_MIN 8
#define DATE_AND_TIME_TZ 11

/* ---- OIDs ------------------------------------------------------------------- */

/* siphaObjects.table.1 (the entry), or siphaObjects.table.1.column with column > 0. */
static size_t entry_oid(oid *out, enum sipha_table_id table, unsigned column)
{
    size_t n = MIB_OBJECTS_LEN;
    memcpy(out, mib_objects_oid, sizeof(mib_objects_oid));
    out[n++] = table;
    out[n++] = 1;
    if (column)
        out[n++] = column;
    return n;
}

/* ---- values ----------------------------------------------------------------- */

static bool is_value(const netsnmp_variable_list *vb)
{
    return vb->type != SNMP_NOSUCHOBJECT && vb->type != SNMP_NOSUCHINSTANCE
        && vb->type != SNMP_ENDOFMIBVIEW && vb->type != ASN_NULL;
}

static int int_of(const netsnmp_variable_list *vb)
{
    return vb->type == ASN_INTEGER && vb->val.integer ? (int)*vb->val.integer : 0;
}

static uint32_t uint_of(const netsnmp_variable_list *vb)
{
    switch (vb->type) {
    case ASN_INTEGER:
    case ASN_UNSIGNED:
    case ASN_COUNTER:
    case ASN_TIMETICKS:
        return vb->val.integer ? (uint32_t)*vb->val.integer : 0;
    default:
        return 0;
    }
}

static void str_of(const netsnmp_variable_list *vb, char *out, size_t cap)
{
    size_t n = 0;
    if (vb->type == ASN_OCTET_STR && vb->val.string)
        n = vb->val_len < cap - 1 ? vb->val_len : cap - 1;
    if (n)
        memcpy(out, vb->val.string, n);
    out[n] = '\0';
}

/* DateAndTime (RFC 2579) → "YYYY-MM-DDTHH:MM:SSZ" (or with its UTC offset); "" for
 * the all-zero "unknown" value or anything malformed. */
static void date_and_time_of(const netsnmp_variable_list *vb, char *out, size_t cap)
{
    out[0] = '\0';
    if (vb->type != ASN_OCTET_STR || !vb->val.string
        || (vb->val_len != DATE_AND_TIME_MIN && vb->val_len != DATE_AND_TIME_TZ))
        return;
    const u_char *b = vb->val.string;
    unsigned year = (unsigned)b[0] << 8 | b[1];
    if (year == 0 || b[2] < 1 || b[2] > 12 || b[3] < 1 || b[3] > 31 || b[4] > 23 || b[5] > 59
        || b[6] > 60)
        return;
    int n = snprintf(out, cap, "%04u-%02u-%02uT%02u:%02u:%02u", year, b[2], b[3], b[4], b[5], b[6]);
    if (n < 0 || (size_t)n >= cap)
        return;
    if (vb->val_len == DATE_AND_TIME_TZ && (b[8] == '+' || b[8] == '-') && (b[9] || b[10]))
        snprintf(out + n, cap - (size_t)n, "%c%02u:%02u", b[8], b[9], b[10]);
    else
        snprintf(out + n, cap - (size_t)n, "Z");
}

/* ---- rows ------------------------------------------------------------------- */

static struct ctl_inst *find_inst(struct ctl_node *n, uint32_t index)
{
    for (size_t i = 0; i < n->ninst; i++)
        if (n->inst[i].index == index)
            return &n->inst[i];
    return NULL;
}

static struct ctl_inst *add_inst(struct ctl_node *n, uint32_t index)
{
    struct ctl_inst *in = find_inst(n, index);
    if (in)
        return in;
    if (array_reserve((void **)&n->inst, &n->inst_cap, n->ninst + 1, sizeof(*n->inst), 2) != 0)
        return NULL;
    in = &n->inst[n->ninst++];
    memset(in, 0, sizeof(*in));
    in->index = index;
    return in;
}

static struct ctl_vip *add_vip(struct ctl_inst *in, uint32_t index)
{
    for (size_t i = 0; i < in->nvips; i++)
        if (in->vips[i].index == index)
            return &in->vips[i];
    if (array_reserve((void **)&in->vips, &in->vips_cap, in->nvips + 1, sizeof(*in->vips), 2) != 0)
        return NULL;
    struct ctl_vip *v = &in->vips[in->nvips++];
    memset(v, 0, sizeof(*v));
    v->index = index;
    return v;
}

static struct ctl_alarm *add_alarm(struct ctl_inst *in, uint32_t index)
{
    if (array_reserve((void **)&in->alarms, &in->alarms_cap, in->nalarms + 1, sizeof(*in->alarms),
                      4) != 0)
        return NULL;
    struct ctl_alarm *a = &in->alarms[in->nalarms++];
    memset(a, 0, sizeof(*a));
    a->index = index;
    return a;
}

/* ---- walks ------------------------------------------------------------------ */

#define WALK_NOMEM 2

static int on_instance(void *ctx, const netsnmp_variable_list *vb)
{
    struct ctl_node *n = ctx;
    if (vb->name_length != INST_OID_LEN || !is_value(vb))
        return 0;
    struct ctl_inst *in = add_inst(n, (uint32_t)vb->name[POS_INSTANCE]);
    if (!in)
        return WALK_NOMEM;
    switch (vb->name[POS_COLUMN]) {
    case INST_COL_NAME: str_of(vb, in->name, sizeof(in->name)); break;
    case INST_COL_ROLE: in->role = int_of(vb); break;
    case INST_COL_STATUS: in->status = int_of(vb); break;
    case INST_COL_PRIORITY: in->priority = uint_of(vb); break;
    case INST_COL_EPOCH: in->epoch = uint_of(vb); break;
    case INST_COL_SWITCHOVERS: in->switchovers = uint_of(vb); break;
    case INST_COL_LAST_SWITCHOVER_REASON: in->last_reason = int_of(vb); break;
    case INST_COL_PEER_NAME: str_of(vb, in->peer_name, sizeof(in->peer_name)); break;
    case INST_COL_PEER_ROLE: in->peer_role = int_of(vb); break;
    case INST_COL_PEER_STATUS: in->peer_status = int_of(vb); break;
    case INST_COL_PEER_LINK_STATE: in->peer_link = int_of(vb); break;
    case INST_COL_PEER_HEARS_US: in->peer_hears_us = int_of(vb); break;
    case INST_COL_ADMIN_RESULT: in->admin_result = int_of(vb); break;
    default: break;
    }
    return 0;
}

static int on_vip(void *ctx, const netsnmp_variable_list *vb)
{
    struct ctl_node *n = ctx;
    if (vb->name_length != ROW_OID_LEN || !is_value(vb))
        return 0;
    struct ctl_inst *in = find_inst(n, (uint32_t)vb->name[POS_INSTANCE]);
    if (!in) /* an instance that registered after the instance table was read */
        return 0;
    struct ctl_vip *v = add_vip(in, (uint32_t)vb->name[POS_ROW]);
    if (!v)
        return WALK_NOMEM;
    switch (vb->name[POS_COLUMN]) {
    case VIP_COL_ADDR: {
        /* InetAddress: 4 or 16 octets (the type column says which; the length does too) */
        struct sipha_addr a = { 0 };
        if (vb->type == ASN_OCTET_STR && (vb->val_len == 4 || vb->val_len == 16)) {
            a.family = vb->val_len == 4 ? 4 : 6;
            memcpy(a.bytes, vb->val.string, vb->val_len);
        }
        sipha_addr_format(&a, v->address, sizeof(v->address));
        break;
    }
    case VIP_COL_INTERFACE: str_of(vb, v->interface, sizeof(v->interface)); break;
    case VIP_COL_EXPECTED: v->expected = int_of(vb); break;
    case VIP_COL_ACTUAL: v->actual = int_of(vb); break;
    case VIP_COL_STATUS: v->status = int_of(vb); break;
    default: break;
    }
    return 0;
}

static int on_alarm_state(void *ctx, const netsnmp_variable_list *vb)
{
    struct ctl_node *n = ctx;
    if (vb->name_length != ROW_OID_LEN || int_of(vb) != ALARM_ACTIVE)
        return 0;
    struct ctl_inst *in = find_inst(n, (uint32_t)vb->name[POS_INSTANCE]);
    if (in && !add_alarm(in, (uint32_t)vb->name[POS_ROW]))
        return WALK_NOMEM;
    return 0;
}

/* siphaNotifications.N → the descriptor of notification N, or NULL. */
static const char *notification_name(const netsnmp_variable_list *vb)
{
    oid trap[NOTIFY_OID_MAX];
    size_t len = notify_trap_oid(notif_def_get(HA_NOTIF_ROLE_CHANGE), trap);
    if (vb->type != ASN_OBJECT_ID || vb->val_len / sizeof(oid) != len
        || snmp_oid_compare(vb->val.objid, len - 1, trap, len - 1) != 0)
        return NULL;
    const struct notif_def *d = notif_def_get((enum ha_notif)vb->val.objid[len - 1]);
    return d ? d->name : NULL;
}

struct switchover_scan {
    struct ctl_node *node;
    const char *name; /* descriptor of siphaSwitchover */
};

static int on_notification(void *ctx, const netsnmp_variable_list *vb)
{
    struct switchover_scan *s = ctx;
    if (vb->name_length != ROW_OID_LEN)
        return 0;
    const char *name = notification_name(vb);
    struct ctl_inst *in = find_inst(s->node, (uint32_t)vb->name[POS_INSTANCE]);
    uint32_t row = (uint32_t)vb->name[POS_ROW];
    /* the newest row (event indexes grow; a wrap after 2^32 events is ignored) */
    if (in && name && strcmp(name, s->name) == 0 && row > in->last_switchover_event)
        in->last_switchover_event = row;
    return 0;
}

static int walk(struct ctl_node *n, enum sipha_table_id table, unsigned column, ctl_walk_fn fn,
                void *ctx)
{
    oid root[MAX_OID_LEN];
    size_t len = entry_oid(root, table, column);
    int rc = ctl_walk(n->target, root, len, fn, ctx);
    if (rc == WALK_NOMEM)
        snprintf(n->target->error, sizeof(n->target->error), "out of memory");
    return rc == 0 ? 0 : -1;
}

/* ---- GETs of single rows ---------------------------------------------------- */

static int get_alarm_details(struct ctl_node *n, struct ctl_inst *in, struct ctl_alarm *a)
{
    static const unsigned cols[] = { EVENT_COL_ID, EVENT_COL_SEVERITY, EVENT_COL_DATE_TIME,
                                     EVENT_COL_TEXT, EVENT_COL_NOTIFICATION };
    enum { NCOLS = sizeof(cols) / sizeof(cols[0]) };
    oid oids[NCOLS][MAX_OID_LEN];
    const oid *ptrs[NCOLS];
    size_t lens[NCOLS];
    for (size_t i = 0; i < NCOLS; i++) {
        lens[i] = mib_oid_build(oids[i], SIPHA_T_EVENT, cols[i], in->index, a->index, true);
        ptrs[i] = oids[i];
    }
    netsnmp_pdu *resp;
    if (ctl_get(n->target, ptrs, lens, NCOLS, &resp) != 0)
        return -1;
    netsnmp_variable_list *vb = resp->variables;
    for (size_t i = 0; i < NCOLS && vb; i++, vb = vb->next_variable) {
        if (!is_value(vb))
            continue; /* the row left the log since the walk */
        switch (cols[i]) {
        case EVENT_COL_ID: str_of(vb, a->id, sizeof(a->id)); break;
        case EVENT_COL_SEVERITY: a->severity = int_of(vb); break;
        case EVENT_COL_DATE_TIME: date_and_time_of(vb, a->time, sizeof(a->time)); break;
        case EVENT_COL_TEXT: str_of(vb, a->text, sizeof(a->text)); break;
        case EVENT_COL_NOTIFICATION: a->notification = notification_name(vb); break;
        default: break;
        }
    }
    snmp_free_pdu(resp);
    return 0;
}

static int get_switchover_time(struct ctl_node *n, struct ctl_inst *in)
{
    oid o[MAX_OID_LEN];
    const oid *ptr = o;
    size_t len = mib_oid_build(o, SIPHA_T_EVENT, EVENT_COL_DATE_TIME, in->index,
                               in->last_switchover_event, true);
    netsnmp_pdu *resp;
    if (ctl_get(n->target, &ptr, &len, 1, &resp) != 0)
        return -1;
    if (resp->variables && is_value(resp->variables))
        date_and_time_of(resp->variables, in->last_switchover_time, sizeof(in->last_switchover_time));
    snmp_free_pdu(resp);
    return 0;
}

/* ---- a node ----------------------------------------------------------------- */

static int read_all(struct ctl_node *n)
{
    struct switchover_scan scan = { n, notif_def_get(HA_NOTIF_SWITCHOVER)->name };
    if (walk(n, SIPHA_T_INSTANCE, 0, on_instance, n) != 0)
        return -1;
    if (n->ninst == 0)
        return 0;
    if (walk(n, SIPHA_T_VIP, 0, on_vip, n) != 0
        || walk(n, SIPHA_T_EVENT, EVENT_COL_ALARM_STATE, on_alarm_state, n) != 0
        || walk(n, SIPHA_T_EVENT, EVENT_COL_NOTIFICATION, on_notification, &scan) != 0)
        return -1;
    for (size_t i = 0; i < n->ninst; i++) {
        struct ctl_inst *in = &n->inst[i];
        for (size_t k = 0; k < in->nalarms; k++)
            if (get_alarm_details(n, in, &in->alarms[k]) != 0)
                return -1;
        if (in->last_switchover_event && get_switchover_time(n, in) != 0)
            return -1;
    }
    return 0;
}

void ctl_node_free(struct ctl_node *n)
{
    for (size_t i = 0; i < n->ninst; i++) {
        free(n->inst[i].vips);
        free(n->inst[i].alarms);
    }
    free(n->inst);
    n->inst = NULL;
    n->ninst = n->inst_cap = 0;
}

int ctl_node_read(struct ctl_node *n, struct ctl_target *t)
{
    memset(n, 0, sizeof(*n));
    n->target = t;
    if (read_all(n) == 0) {
        n->ok = true;
        return 0;
    }
    snprintf(n->error, sizeof(n->error), "%s", t->error[0] ? t->error : "read failed");
    n->unreachable = t->no_answer;
    ctl_node_free(n);
    return -1;
}

/* ---- switchover ------------------------------------------------------------- */

int ctl_read_roles(struct ctl_target *t, uint32_t instance, struct ctl_roles *r)
{
    static const unsigned cols[] = { INST_COL_ROLE, INST_COL_PEER_ROLE, INST_COL_ADMIN_RESULT };
    enum { NCOLS = sizeof(cols) / sizeof(cols[0]) };
    oid oids[NCOLS][MAX_OID_LEN];
    const oid *ptrs[NCOLS];
    size_t lens[NCOLS];
    for (size_t i = 0; i < NCOLS; i++) {
        lens[i] = mib_oid_build(oids[i], SIPHA_T_INSTANCE, cols[i], instance, 0, false);
        ptrs[i] = oids[i];
    }
    netsnmp_pdu *resp;
    if (ctl_get(t, ptrs, lens, NCOLS, &resp) != 0)
        return -1;
    int v[NCOLS] = { 0 };
    size_t i = 0;
    int rc = 0;
    for (netsnmp_variable_list *vb = resp->variables; vb && i < NCOLS; vb = vb->next_variable, i++) {
        if (!is_value(vb))
            rc = -1;
        v[i] = int_of(vb);
    }
    snmp_free_pdu(resp);
    if (rc != 0 || i != NCOLS) {
        t->failed = true;
        snprintf(t->error, sizeof(t->error), "instance %u is not served there (any more)",
                 (unsigned)instance);
        return -1;
    }
    r->role = v[0];
    r->peer_role = v[1];
    r->admin_result = v[2];
    return 0;
}

int ctl_set_admin(struct ctl_target *t, uint32_t instance, enum ha_admin_cmd cmd, long *errstat)
{
    oid o[MAX_OID_LEN];
    size_t len = mib_oid_build(o, SIPHA_T_INSTANCE, INST_COL_ADMIN_COMMAND, instance, 0, false);
    long value = cmd;
    netsnmp_pdu *pdu = snmp_pdu_create(SNMP_MSG_SET);
    snmp_pdu_add_variable(pdu, o, len, ASN_INTEGER, &value, sizeof(value));
    netsnmp_pdu *resp;
    if (ctl_request(t, pdu, &resp, errstat) != 0)
        return -1;
    snmp_free_pdu(resp);
    return 0;
}
