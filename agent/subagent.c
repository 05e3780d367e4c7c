/* subagent.c — Net-SNMP AgentX subagent set-up.
 *
 * Net-SNMP reconnects by itself when the ping interval is non-zero and re-registers
 * every subtree on the new session (register_mib_reattach). We track whether the
 * session is up (INDEX_START/INDEX_STOP callbacks) so notifications can be queued
 * while it is not, and keep each table's registration one range (see
 * keep_ranges_whole). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <net-snmp/net-snmp-config.h>
#include <net-snmp/net-snmp-includes.h>
#include <net-snmp/agent/net-snmp-agent-includes.h>
#include <net-snmp/agent/agent_callbacks.h>

#include "agent_log.h"
#include "mib_table.h"
#include "notify.h"
#include "subagent.h"

static const char *const app_name = "sipha-agent";

/* Every session Net-SNMP initialises — the AgentX one included — gets a short
 * timeout and no retries, so a synchronous AgentX call to a hung master stalls the
 * loop for at most one timeout instead of the library default (~30 s with retries).
 * Our own client sessions set their values after snmp_sess_init. */
static int on_session_init(int major, int minor, void *server_arg, void *client_arg)
{
    (void)major;
    (void)minor;
    netsnmp_session *s = server_arg;
    const struct agent *a = client_arg;
    s->timeout = (long)a->cfg.agentx_timeout_ms * 1000L;
    s->retries = 0;
    return SNMPERR_SUCCESS;
}

/* The master session's own callback (Net-SNMP's AgentX packet handler) and the agent
 * whose tables answer on it. File-static because Net-SNMP's session callback has no
 * argument of ours to carry it (its magic belongs to the library); one agent per
 * process. */
static struct {
    snmp_callback library;
    struct agent *agent;
} fast;

/* Get and GetNext for our own columns are answered at once (mib_table.c); every
 * other PDU and event goes to Net-SNMP's subagent code as before. (Those answered
 * here do not postpone the library's next ping of the master: at most one extra
 * ping per ping interval during a walk.) */
static int on_master_pdu(int op, netsnmp_session *s, int reqid, netsnmp_pdu *pdu, void *magic)
{
    if (op == NETSNMP_CALLBACK_OP_RECEIVED_MESSAGE && pdu && fast.agent &&
        mib_table_answer_agentx(fast.agent, s, pdu) == 0)
        return 1;
    return fast.library ? fast.library(op, s, reqid, pdu, magic) : 1;
}

/* Whether `s` is a copy Net-SNMP made of `prev` for the next value of a range: each
 * table is registered as one range (entry.2.INST .. entry.LAST.INST, mib_table.c),
 * which the library keeps as one subtree per column, each carrying the whole range. */
static bool range_copy_of(const netsnmp_subtree *prev, const netsnmp_subtree *s)
{
    if (!prev || s->range_subid <= 0 || prev->range_subid != s->range_subid ||
        prev->range_ubound != s->range_ubound || prev->namelen != s->namelen ||
        prev->session != s->session || (size_t)s->range_subid > s->namelen ||
        !prev->label_a || !s->label_a || strcmp(prev->label_a, s->label_a) != 0)
        return false;
    size_t k = (size_t)s->range_subid - 1;
    for (size_t i = 0; i < s->namelen; i++)
        if (i == k ? prev->name_a[i] + 1 != s->name_a[i] : prev->name_a[i] != s->name_a[i])
            return false;
    return true;
}

/* On a reconnect, register_mib_reattach re-sends every subtree not marked attached,
 * each column's copy with the whole range: the master registers the range for the
 * first column and refuses every other as an overlap ("registering pdu failed: 263",
 * duplicate registration, for every column but the first of each table). At the
 * first connection the copies are marked attached and only the range's first subtree
 * is sent; marking them again before the reattach (INDEX_START comes first) does the
 * same on every reconnect. */
static void keep_ranges_whole(void)
{
    for (subtree_context_cache *c = get_top_context_cache(); c; c = c->next) {
        const netsnmp_subtree *prev = NULL;
        for (netsnmp_subtree *s = c->first_subtree; s; s = s->next) {
            /* Between two columns lie the library's fillers of the gaps (one
             * sub-identifier, no label), which reattach skips too. */
            if (s->namelen <= 1 || !s->label_a || !s->label_a[0])
                continue;
            if (range_copy_of(prev, s))
                s->flags |= SUBTREE_ATTACHED;
            prev = s;
        }
    }
}

static int on_master_up(int major, int minor, void *server_arg, void *client_arg)
{
    (void)major;
    (void)minor;
    struct agent *a = client_arg;
    netsnmp_session *s = server_arg;
    if (s && s->callback != on_master_pdu) { /* each new session of a reconnect */
        fast.library = s->callback;
        fast.agent = a;
        s->callback = on_master_pdu;
    }
    keep_ranges_whole();
    /* TimeStamp columns and the notifications' sysUpTime count from the master's
     * sysUpTime 0, not from our start: the library has just set its uptime from the
     * master's answer to our Open (every AgentX Response carries it). */
    uint64_t now = loop_now(a->loop), up_ms = (uint64_t)netsnmp_get_agent_uptime() * 10u;
    a->uptime_base = up_ms < now ? now - up_ms : 0;
    a->master_connected = true;
    a->flush_pending = true; /* sent from the loop, once registrations are done */
    snmp_log(LOG_INFO, "sipha[%u]: connected to the AgentX master\n", a->inst.index);
    return SNMPERR_SUCCESS;
}

static int on_master_down(int major, int minor, void *server_arg, void *client_arg)
{
    (void)major;
    (void)minor;
    (void)server_arg;
    struct agent *a = client_arg;
    if (a->master_connected)
        snmp_log(LOG_WARNING, "sipha[%u]: AgentX master lost; notifications are queued\n",
                 a->inst.index);
    a->master_connected = false;
    return SNMPERR_SUCCESS;
}

/* The agent reads no MIB file: it knows its OIDs (mib/sipha_mib.h) and prints none by
 * name. Left alone, init_snmp() would parse Net-SNMP's default module list from its
 * default directories (on a Debian host without the IETF MIBs: hundreds of "Cannot
 * find module" and parse warnings). No modules (MIBS empty, MIBFILES unset) and no
 * directories to scan. */
static void no_mib_files(void)
{
    setenv("MIBS", "", 1);
    unsetenv("MIBFILES");
    netsnmp_ds_set_string(NETSNMP_DS_LIBRARY_ID, NETSNMP_DS_LIB_MIBDIRS, "");
}

int subagent_start(struct agent *a)
{
    no_mib_files();
    netsnmp_ds_set_boolean(NETSNMP_DS_APPLICATION_ID, NETSNMP_DS_AGENT_ROLE, 1);
    netsnmp_ds_set_boolean(NETSNMP_DS_LIBRARY_ID, NETSNMP_DS_LIB_ALARM_DONT_USE_SIG, 1);
    /* Behaviour comes from the XML config only: no sipha-agent.conf, no persistent
     * Net-SNMP state files (the agent need not be able to write /var/lib/snmp). */
    netsnmp_ds_set_boolean(NETSNMP_DS_LIBRARY_ID, NETSNMP_DS_LIB_DONT_READ_CONFIGS, 1);
    netsnmp_ds_set_boolean(NETSNMP_DS_LIBRARY_ID, NETSNMP_DS_LIB_DONT_PERSIST_STATE, 1);
    netsnmp_ds_set_boolean(NETSNMP_DS_LIBRARY_ID, NETSNMP_DS_LIB_DISABLE_PERSISTENT_LOAD, 1);
    netsnmp_ds_set_boolean(NETSNMP_DS_LIBRARY_ID, NETSNMP_DS_LIB_DISABLE_PERSISTENT_SAVE, 1);
    if (a->cfg.agentx_socket[0])
        netsnmp_ds_set_string(NETSNMP_DS_APPLICATION_ID, NETSNMP_DS_AGENT_X_SOCKET,
                              a->cfg.agentx_socket);

    snmp_register_callback(SNMP_CALLBACK_LIBRARY, SNMP_CALLBACK_SESSION_INIT,
                           on_session_init, a);
    snmp_register_callback(SNMP_CALLBACK_APPLICATION, SNMPD_CALLBACK_INDEX_START,
                           on_master_up, a);
    snmp_register_callback(SNMP_CALLBACK_APPLICATION, SNMPD_CALLBACK_INDEX_STOP,
                           on_master_down, a);

    if (init_agent(app_name) != 0) {
        snmp_log(LOG_ERR, "sipha: init_agent failed\n");
        return -1;
    }
    /* init_agent() resets the ping interval: set ours after it, before init_snmp(). */
    netsnmp_ds_set_int(NETSNMP_DS_APPLICATION_ID, NETSNMP_DS_AGENT_AGENTX_PING_INTERVAL,
                       (int)a->cfg.agentx_ping_interval);
    netsnmp_ds_set_int(NETSNMP_DS_APPLICATION_ID, NETSNMP_DS_AGENT_AGENTX_TIMEOUT,
                       (int)((a->cfg.agentx_timeout_ms + 999) / 1000));
    netsnmp_ds_set_int(NETSNMP_DS_APPLICATION_ID, NETSNMP_DS_AGENT_AGENTX_RETRIES, 0);
    if (subagent_register_tables(a) != 0)
        return -1;
    init_snmp(app_name);
    return 0;
}

int subagent_register_tables(struct agent *a)
{
    return mib_table_register_all(a);
}

void subagent_stop(struct agent *a)
{
    /* snmp_shutdown() frees the client argument of every callback still registered:
     * ours point into struct agent, so they go first. */
    snmp_unregister_callback(SNMP_CALLBACK_LIBRARY, SNMP_CALLBACK_SESSION_INIT,
                             on_session_init, a, 1);
    snmp_unregister_callback(SNMP_CALLBACK_APPLICATION, SNMPD_CALLBACK_INDEX_START,
                             on_master_up, a, 1);
    snmp_unregister_callback(SNMP_CALLBACK_APPLICATION, SNMPD_CALLBACK_INDEX_STOP,
                             on_master_down, a, 1);
    fast.agent = NULL; /* the session's hook passes everything on from now */
    agent_log_flush(); /* snmp_shutdown removes the log handler */
    snmp_shutdown(app_name);
}
