/* ctl_snmp.h — sipha-ctl's SNMP client side: one session per target (a Net-SNMP
 * transport address such as udp:10.0.1.1:161), requests whose failures become one
 * readable line, and subtree walks (GETBULK, GETNEXT for SNMPv1). */
#ifndef SIPHA_CTL_SNMP_H
#define SIPHA_CTL_SNMP_H

#include <stdbool.h>
#include <stddef.h>

#include <net-snmp/net-snmp-config.h>
#include <net-snmp/net-snmp-includes.h>

#define CTL_ERR_MAX 256

struct ctl_target {
    const char *peer;        /* as given on the command line */
    void *ss;                /* single-session handle, NULL until opened */
    bool failed;             /* the last request failed (timeout, refusal, error) */
    bool no_answer;          /* ... because nothing answered in time */
    char error[CTL_ERR_MAX]; /* why, for the operator */
};

/* Opens a session to `peer` from the template `tmpl` (the options of the command
 * line and snmp.conf). The SNMPv3 engine ID is discovered with the first request,
 * so an unreachable node fails there, not here. Returns 0, or -1 with t->error set
 * when the target cannot be used at all (bad address, unknown host or domain). */
int ctl_target_open(struct ctl_target *t, const netsnmp_session *tmpl, const char *peer);
void ctl_target_close(struct ctl_target *t);

/* The SNMP version, security level and user the open session really uses (after
 * the snmp.conf defaults were applied; *user "" when none). */
void ctl_target_security(const struct ctl_target *t, long *version, int *level);
const char *ctl_target_user(const struct ctl_target *t);

/* Sends `pdu` (always consumed) and waits for the answer. Returns 0 with *resp (the
 * caller frees it with snmp_free_pdu) when the agent answered noError; otherwise -1
 * with t->failed, t->no_answer and t->error set, and *errstat the agent's error
 * status (0 when it did not answer: timeout, security failure or a local error). */
int ctl_request(struct ctl_target *t, netsnmp_pdu *pdu, netsnmp_pdu **resp, long *errstat);

/* GET of `n` OIDs (each `lens[i]` long); *resp as for ctl_request. */
int ctl_get(struct ctl_target *t, const oid *const *oids, const size_t *lens, size_t n,
            netsnmp_pdu **resp);

/* Calls fn for every variable under root (root excluded) in OID order; fn returns
 * 0 to go on. Returns 0, or -1 with t->error set when a request failed, or fn's
 * non-zero value. */
typedef int (*ctl_walk_fn)(void *ctx, const netsnmp_variable_list *vb);
int ctl_walk(struct ctl_target *t, const oid *root, size_t root_len, ctl_walk_fn fn, void *ctx);

#endif
