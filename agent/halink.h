/* halink.h — the HA link transport: how a sipha-agent talks to its peer agent.
 *
 * The peer is reached through the peer host's snmpd with SNMPv3 authPriv, using
 * Net-SNMP's asynchronous client API on the agent's loop; nothing here blocks.
 *
 *   1. Discovery: the peer engine's ID, boots and time are learnt with our own
 *      non-blocking RFC 3414 discovery (halink_discover.h), retried every
 *      interval_ms. Only then is a Net-SNMP session opened for that engine (keys
 *      localized at once, engine time preset), so Net-SNMP never probes.
 *   2. Heartbeat: every interval_ms one GET of the peer's instance row (role,
 *      status, priority, epoch, listener, SIP message count, arbiter, the five
 *      options); never more than one outstanding. A good answer -> on_state. An
 *      answer saying the row does not exist (the peer's snmpd answers, its agent
 *      is gone: a killed agent's AgentX session closes at once) -> on_lost, once
 *      per loss. Timeouts only count: the engine decides when the peer is lost.
 *   3. Messages: halink_send -> a SET of the peer's siphaInstHaLinkMessage, in
 *      order, one outstanding, the rest queued (HALINK_QUEUE_MAX); the result comes
 *      back through on_sent. No retries: the engine re-sends what matters.
 *   4. Contacts (while halink_pull_contacts(l, true)): after each heartbeat answer,
 *      GETBULKs over the peer's siphaContactTable rows (its instance only) from the
 *      last row index seen, chained until the end of its rows; each complete row of
 *      origin local(1) -> on_contact. Starts over at row 0 (a full copy) when the
 *      pull is (re)enabled, when the link comes back, and when the peer's epoch
 *      changes. on_contacts_done(full) at the end of a pass (see below).
 *   5. Recovery: a failed request (timeout, unexpected report) starts a discovery
 *      alongside the session; if it finds another engine ID or boots count (the
 *      peer's snmpd was replaced or restarted) the session is replaced at once. An
 *      unknownEngineID / notInTimeWindow report, or HALINK_MAX_FAILURES failed
 *      requests in a row, also give the session up. Queued and outstanding messages
 *      then fail (on_sent ok=false). Reports that our credentials are refused
 *      (unknown user, wrong digest, ...) are logged once and counted: a new session
 *      would not help, the requests go on.
 *
 * Timeouts: every request times out after min(timeout_ms, 4 x interval_ms), no
 * retries, so a lost heartbeat delays the next by at most that much, and a message
 * has its answer well before the engine re-sends it (every peer timeout).
 *
 * Callbacks are optional (NULL = not wanted) and run from the loop; none but on_log
 * ever runs from within halink_open / halink_send / halink_pull_contacts (so the
 * engine is never re-entered from its own output). halink_close may be
 * called from one of them: no callback follows, and the memory is released on the
 * next loop iteration (so run the loop once more before loop_free). It must not be
 * called from inside another Net-SNMP session's callback (an AgentX request
 * handler): it closes a Net-SNMP session, which Net-SNMP does not allow there. */
#ifndef SIPHA_HALINK_H
#define SIPHA_HALINK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ha_engine.h"
#include "loop.h"

#define HALINK_DEFAULT_INTERVAL_MS 100u /* peer death seen within ~interval */
#define HALINK_PULL_QUIET_MS 1000u      /* contact pulls at most this often when idle */
#define HALINK_DEFAULT_TIMEOUT_MS 1500u
#define HALINK_QUEUE_MAX 8u       /* messages waiting behind the outstanding one */
#define HALINK_MAX_FAILURES 4u    /* failed requests in a row before rediscovery */
#define HALINK_BULK_REPS 32       /* contact rows per GETBULK */

struct halink_config {
    const char *address;      /* udp:IPv4:PORT, IPv4:PORT, udp6:[IPv6]:PORT (halink_discover.h) */
    uint32_t peer_index;      /* the peer's siphaInstIndex, 1..255 */
    const char *credentials;  /* file, see halink_cred.h */
    uint32_t interval_ms;     /* heartbeat period; 0 = 250 */
    uint32_t timeout_ms;      /* request timeout bound; 0 = 1500 */
};

struct halink_callbacks {
    /* The peer's state; ps->index = peer_index, ps->unavailable = serviceUnavailable. */
    void (*on_state)(void *ctx, const struct ha_peer_state *ps);
    /* The peer's snmpd answers but the peer agent's rows are gone. */
    void (*on_lost)(void *ctx, const char *why);
    /* Result of halink_send; `m` is a copy of the message sent. */
    void (*on_sent)(void *ctx, const struct ha_peer_msg *m, bool ok);
    /* One peer contact of origin local; aor and uri are NUL-terminated. */
    void (*on_contact)(void *ctx, const char *aor, const char *uri, uint32_t expiry_s,
                       uint32_t peer_row);
    /* A pass reached the end of the peer's rows. full = it started at row 0, so every
     * contact the peer holds now was delivered in it (drop synced contacts it did not
     * deliver). Called after every full pass, and after an incremental pass only when
     * it delivered something. */
    void (*on_contacts_done)(void *ctx, bool full);
    /* Something worth a log line (state changes of the link, refused answers). */
    void (*on_log)(void *ctx, const char *text);
};

struct halink_counters {
    uint64_t discoveries;       /* engines discovered (sessions opened) */
    uint64_t disc_sent;         /* discovery requests sent */
    uint64_t resets;            /* sessions given up to rediscover */
    uint64_t hb_sent, hb_answered, hb_timeouts, hb_skipped, hb_not_registered, hb_bad;
    uint64_t msgs_sent, msgs_ok, msgs_failed, msgs_refused;
    uint64_t bulk_sent, contacts, full_copies, bad_rows;
    uint64_t auth_errors;       /* reports and security errors from the peer */
};

struct halink;

/* Loads the credentials, checks the address and starts discovery. Returns 0, or -1
 * with a message in err (nothing started). Net-SNMP must be initialized
 * (init_snmp) before. */
int halink_open(struct halink **out, struct loop *lp, const struct halink_config *cfg,
                const struct halink_callbacks *cb, void *ctx, char *err, size_t errlen);
void halink_close(struct halink *l);

/* Queues `m` (HA_CMD_PEER_TAKEOVER or HA_CMD_PEER_RELEASE) for the peer: 0 when
 * queued (on_sent reports the result later), -1 when refused (no session with the
 * peer yet, queue full, not a link message); then no on_sent follows. */
int halink_send(struct halink *l, const struct ha_peer_msg *m);

/* Starts (from row 0) or stops pulling the peer's contacts. */
void halink_pull_contacts(struct halink *l, bool enable);

/* true while a session with the peer's engine is open (discovery done). */
bool halink_connected(const struct halink *l);
void halink_get_counters(const struct halink *l, struct halink_counters *out);

#endif
