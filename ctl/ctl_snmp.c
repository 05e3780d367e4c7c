/* ctl_snmp.c — see ctl_snmp.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl_snmp.h"

/* Rows asked per GETBULK: a whole pair's instance table (44 columns x 2) in a few
 * round trips, and answers well below any transport's message size. */
#define CTL_BULK_REPETITIONS 30

static void set_error(struct ctl_target *t, const char *what)
{
    t->failed = true;
    snprintf(t->error, sizeof(t->error), "%s", what);
}

int ctl_target_open(struct ctl_target *t, const netsnmp_session *tmpl, const char *peer)
{
    netsnmp_session s = *tmpl;
    memset(t, 0, sizeof(*t));
    t->peer = peer;
    s.peername = (char *)peer;
    /* No engine ID discovery here: it happens with the first request, so that an
     * unreachable node reads as such instead of failing the whole command. */
    s.flags |= SNMP_FLAGS_DONT_PROBE;
    t->ss = snmp_sess_open(&s);
    if (t->ss)
        return 0;
    int cerr = 0, serr = 0;
    char *msg = NULL;
    snmp_error(&s, &cerr, &serr, &msg);
    snprintf(t->error, sizeof(t->error), "cannot use target '%s': %s", peer,
             msg ? msg : "unknown error");
    free(msg);
    t->failed = true;
    return -1;
}

void ctl_target_close(struct ctl_target *t)
{
    if (t->ss)
        snmp_sess_close(t->ss);
    t->ss = NULL;
}

void ctl_target_security(const struct ctl_target *t, long *version, int *level)
{
    const netsnmp_session *s = snmp_sess_session(t->ss);
    *version = s ? s->version : -1;
    *level = s ? s->securityLevel : 0;
}

const char *ctl_target_user(const struct ctl_target *t)
{
    const netsnmp_session *s = snmp_sess_session(t->ss);
    return s && s->securityName && s->securityNameLen ? s->securityName : "";
}

int ctl_request(struct ctl_target *t, netsnmp_pdu *pdu, netsnmp_pdu **resp, long *errstat)
{
    char buf[CTL_ERR_MAX];
    *resp = NULL;
    if (errstat)
        *errstat = 0;
    t->failed = t->no_answer = false;
    t->error[0] = '\0';
    netsnmp_pdu *r = NULL;
    int st = snmp_sess_synch_response(t->ss, pdu, &r); /* consumes pdu */
    if (st == STAT_SUCCESS && r && r->errstat == SNMP_ERR_NOERROR) {
        *resp = r;
        return 0;
    }
    if (st == STAT_SUCCESS && r) {
        if (errstat)
            *errstat = r->errstat;
        snprintf(buf, sizeof(buf), "the agent answered %s", snmp_errstring((int)r->errstat));
        set_error(t, buf);
    } else if (st == STAT_TIMEOUT) {
        set_error(t, "no answer (timeout)");
        t->no_answer = true;
    } else {
        int cerr = 0, serr = 0;
        char *msg = NULL;
        snmp_sess_error(t->ss, &cerr, &serr, &msg);
        if (serr == SNMPERR_TIMEOUT) /* e.g. SNMPv3 engine ID discovery */
            snprintf(buf, sizeof(buf), "no answer (timeout)");
        else
            snprintf(buf, sizeof(buf), "%s", msg && *msg ? msg : "request failed");
        free(msg);
        set_error(t, buf);
        t->no_answer = serr == SNMPERR_TIMEOUT;
    }
    if (r)
        snmp_free_pdu(r);
    return -1;
}

int ctl_get(struct ctl_target *t, const oid *const *oids, const size_t *lens, size_t n,
            netsnmp_pdu **resp)
{
    netsnmp_pdu *pdu = snmp_pdu_create(SNMP_MSG_GET);
    for (size_t i = 0; i < n; i++)
        snmp_add_null_var(pdu, oids[i], lens[i]);
    return ctl_request(t, pdu, resp, NULL);
}

static bool is_exception(u_char type)
{
    return type == SNMP_ENDOFMIBVIEW || type == SNMP_NOSUCHOBJECT || type == SNMP_NOSUCHINSTANCE;
}

int ctl_walk(struct ctl_target *t, const oid *root, size_t root_len, ctl_walk_fn fn, void *ctx)
{
    oid cur[MAX_OID_LEN];
    size_t cur_len = root_len;
    long version, errstat;
    int level;
    ctl_target_security(t, &version, &level);
    memcpy(cur, root, root_len * sizeof(oid));
    for (;;) {
        bool bulk = version != SNMP_VERSION_1;
        netsnmp_pdu *pdu = snmp_pdu_create(bulk ? SNMP_MSG_GETBULK : SNMP_MSG_GETNEXT);
        if (bulk) {
            pdu->non_repeaters = 0;
            pdu->max_repetitions = CTL_BULK_REPETITIONS;
        }
        snmp_add_null_var(pdu, cur, cur_len);
        netsnmp_pdu *resp;
        if (ctl_request(t, pdu, &resp, &errstat) != 0) {
            if (!bulk && errstat == SNMP_ERR_NOSUCHNAME) { /* SNMPv1: past the end */
                t->failed = false;
                return 0;
            }
            return -1;
        }
        bool done = resp->variables == NULL;
        for (netsnmp_variable_list *vb = resp->variables; vb && !done; vb = vb->next_variable) {
            if (is_exception(vb->type) || vb->name_length <= root_len
                || snmp_oid_compare(vb->name, root_len, root, root_len) != 0) {
                done = true;
                break;
            }
            if (snmp_oid_compare(vb->name, vb->name_length, cur, cur_len) <= 0) {
                set_error(t, "the agent answered OIDs out of order");
                snmp_free_pdu(resp);
                return -1;
            }
            int rc = fn(ctx, vb);
            if (rc != 0) {
                snmp_free_pdu(resp);
                return rc;
            }
            memcpy(cur, vb->name, vb->name_length * sizeof(oid));
            cur_len = vb->name_length;
        }
        snmp_free_pdu(resp);
        if (done)
            return 0;
    }
}
