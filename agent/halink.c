/* halink.c — the HA link transport (behaviour in halink.h).
 *
 * Re-entrancy rules, because Net-SNMP calls us from inside snmp_read2/snmp_timeout:
 *  - a session is never closed from within its own callback: closing (to rediscover)
 *    is deferred to a 0 ms loop timer;
 *  - user callbacks may call halink_close: `dead` is then set, nothing is touched
 *    after the callback returns, and the memory goes in a 0 ms loop timer;
 *  - snmp_close calls back every outstanding request with TIMED_OUT: `sess_closing`
 *    makes those calls no-ops. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "halink_cred.h" /* Net-SNMP's headers first */

#include <net-snmp/library/lcd_time.h>

#include "halink.h"
#include "halink_discover.h"
#include "halink_msg.h"
#include "mib_oid.h"
#include "sipha_mib.h"

#define COLUMN_OID_LEN MIB_COLUMN_PREFIX_LEN /* objects.table.1.column.instance */
#define ROW_OID_LEN (COLUMN_OID_LEN + 1)

/* Heartbeat columns, in request order. */
static const unsigned hb_columns[] = {
    INST_COL_ROLE, INST_COL_STATUS, INST_COL_PRIORITY, INST_COL_EPOCH,
    INST_COL_LISTENER_BOUND, INST_COL_SIP_MSGS_IN, INST_COL_ARBITER_STATE,
    INST_COL_OPT_SIP_PASS_CHECK, INST_COL_OPT_CONTROL_VIP_SCRIPTS, INST_COL_OPT_IPTAKEOVER_MON,
    INST_COL_OPT_TLIB_NIC_MON, INST_COL_OPT_SIP_NIC_MON,
};
#define HB_VARS (sizeof(hb_columns) / sizeof(hb_columns[0]))
#define HB_FIRST_OPTION 7 /* index in hb_columns of the first option flag */

static const unsigned option_bits[] = {
    HA_OPT_SIP_PASS_CHECK, HA_OPT_CONTROL_VIP_SCRIPTS, HA_OPT_IPTAKEOVER_MONITORING,
    HA_OPT_TLIB_NIC_MONITORING, HA_OPT_SIP_NIC_MONITORING,
};

static const unsigned contact_columns[] = {
    CONTACT_COL_AOR, CONTACT_COL_URI, CONTACT_COL_EXPIRY, CONTACT_COL_ORIGIN,
};
#define CONTACT_VARS 4
#define CONTACT_STR_MAX 255 /* DisplayString */

#define TV_TRUE 1
#define TV_FALSE 2
#define ORIGIN_LOCAL 1

/* What an outstanding request is: the callback's magic points at one of these, as a
 * Report about a request that could not be decrypted comes back with request-id 0. */
enum req_kind { REQ_HB, REQ_MSG, REQ_BULK, REQ_KINDS };
struct req_tag {
    struct halink *l;
    enum req_kind kind;
};

struct halink {
    struct loop *lp;
    struct req_tag tags[REQ_KINDS];
    struct halink_callbacks cb;
    void *ctx;
    struct halink_addr addr;
    struct halink_cred cred;
    uint32_t peer_index, interval_ms, timeout_ms, req_timeout_ms;

    struct halink_disc *disc;
    uint64_t disc_timer;       /* delayed restart of discovery */
    struct halink_engine engine, logged_engine;
    netsnmp_session *ss;       /* open once the engine is known */
    uint64_t reset_timer;      /* deferred close + rediscovery */
    const char *reset_why;

    uint64_t hb_timer;
    int hb_reqid;              /* 0 = none outstanding */
    unsigned failures;         /* failed requests in a row */
    bool lost_reported, seen_good;
    uint64_t last_good_ms;
    uint32_t last_epoch;
    const char *last_log;      /* repeated complaints are logged once */
    const char *last_reset_log;

    struct ha_peer_msg queue[HALINK_QUEUE_MAX + 1]; /* [q_head] is the outstanding one */
    size_t q_head, q_len;
    int msg_reqid;

    bool pull;
    uint32_t pull_from;        /* last peer row index delivered */
    bool pass_full;            /* the current pass began at row 0 */
    uint32_t pass_contacts;    /* delivered in the current pass */
    uint32_t pass_rows;        /* rows taken in the current pass */
    uint32_t pull_gen;         /* bumped by every restart; stale answers are dropped */
    uint32_t bulk_gen;
    int bulk_reqid;
    uint64_t pull_quiet_until; /* after an empty pass: next incremental pull not before */

    bool dead, sess_closing;
    int depth;                 /* user callbacks running */
    struct halink_counters cnt;
};

static void start_discovery(struct halink *l);
static void stop_check(struct halink *l);
static void send_heartbeat(struct halink *l);
static void send_bulk(struct halink *l);

/* ---- user callbacks: each returns false when the link was closed meanwhile ---- */

static void logf_(struct halink *l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void logf_(struct halink *l, const char *fmt, ...)
{
    char text[256];
    va_list ap;
    if (l->dead || !l->cb.on_log)
        return;
    va_start(ap, fmt);
    vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    l->depth++;
    l->cb.on_log(l->ctx, text);
    l->depth--;
}

/* Logs `why` unless it is the complaint logged last (cleared by a good answer). */
static void log_once(struct halink *l, const char *why)
{
    if (l->last_log == why)
        return;
    l->last_log = why;
    logf_(l, "peer %s: %s", l->addr.peername, why);
}

static bool emit_state(struct halink *l, const struct ha_peer_state *ps)
{
    if (!l->dead && l->cb.on_state) {
        l->depth++;
        l->cb.on_state(l->ctx, ps);
        l->depth--;
    }
    return !l->dead;
}

static bool emit_lost(struct halink *l, const char *why)
{
    if (!l->dead && l->cb.on_lost) {
        l->depth++;
        l->cb.on_lost(l->ctx, why);
        l->depth--;
    }
    return !l->dead;
}

static bool emit_sent(struct halink *l, const struct ha_peer_msg *m, bool ok)
{
    if (!l->dead && l->cb.on_sent) {
        l->depth++;
        l->cb.on_sent(l->ctx, m, ok);
        l->depth--;
    }
    return !l->dead;
}

static bool emit_contact(struct halink *l, const char *aor, const char *uri, uint32_t expiry,
                         uint32_t row)
{
    if (!l->dead && l->cb.on_contact) {
        l->depth++;
        l->cb.on_contact(l->ctx, aor, uri, expiry, row);
        l->depth--;
    }
    return !l->dead;
}

static bool emit_contacts_done(struct halink *l, bool full)
{
    if (!l->dead && l->cb.on_contacts_done) {
        l->depth++;
        l->cb.on_contacts_done(l->ctx, full);
        l->depth--;
    }
    return !l->dead;
}

/* ---- OIDs ------------------------------------------------------------------------- */


/* Is `vb` exactly objects.table.1.column.instance.ROW? Sets *row. */
static bool is_row_of(const netsnmp_variable_list *vb, enum sipha_table_id table, unsigned column,
                      uint32_t instance, uint32_t *row)
{
    oid prefix[ROW_OID_LEN];
    mib_oid_build(prefix, table, column, instance, 0, false);
    if (vb->name_length != ROW_OID_LEN ||
        memcmp(vb->name, prefix, COLUMN_OID_LEN * sizeof(oid)) != 0 ||
        vb->name[COLUMN_OID_LEN] > UINT32_MAX)
        return false;
    *row = (uint32_t)vb->name[COLUMN_OID_LEN];
    return true;
}

/* ---- session ------------------------------------------------------------------------ */

static int snmp_cb(int op, netsnmp_session *s, int reqid, netsnmp_pdu *pdu, void *magic);

static void close_session(struct halink *l)
{
    if (!l->ss)
        return;
    l->sess_closing = true;
    snmp_close(l->ss); /* calls back outstanding requests: ignored */
    l->sess_closing = false;
    l->ss = NULL;
    l->hb_reqid = l->msg_reqid = l->bulk_reqid = 0;
}

/* Opens the Net-SNMP session for the discovered engine. With securityEngineID set,
 * snmp_open does not probe: it only localizes our keys for that engine. */
static int open_session(struct halink *l)
{
    netsnmp_session s;
    snmp_sess_init(&s);
    s.version = SNMP_VERSION_3;
    s.peername = l->addr.peername;
    s.retries = 0;
    s.timeout = (long)l->req_timeout_ms * 1000L;
    s.securityModel = USM_SEC_MODEL_NUMBER;
    s.securityLevel = SNMP_SEC_LEVEL_AUTHPRIV;
    s.securityName = l->cred.user;
    s.securityNameLen = strlen(l->cred.user);
    s.securityAuthProto = l->cred.auth_proto;
    s.securityAuthProtoLen = l->cred.auth_proto_len;
    memcpy(s.securityAuthKey, l->cred.auth_ku, l->cred.auth_ku_len);
    s.securityAuthKeyLen = l->cred.auth_ku_len;
    s.securityPrivProto = l->cred.priv_proto;
    s.securityPrivProtoLen = l->cred.priv_proto_len;
    memcpy(s.securityPrivKey, l->cred.priv_ku, l->cred.priv_ku_len);
    s.securityPrivKeyLen = l->cred.priv_ku_len;
    s.securityEngineID = l->engine.id;
    s.securityEngineIDLen = l->engine.id_len;
    s.contextEngineID = l->engine.id;
    s.contextEngineIDLen = l->engine.id_len;
    l->ss = snmp_open(&s);
    explicit_bzero(s.securityAuthKey, sizeof(s.securityAuthKey));
    explicit_bzero(s.securityPrivKey, sizeof(s.securityPrivKey));
    if (!l->ss) {
        char *msg = NULL;
        snmp_error(&s, NULL, NULL, &msg);
        logf_(l, "peer %s: cannot open the SNMPv3 session: %s", l->addr.peername,
              msg ? msg : "unknown error");
        free(msg);
        return -1;
    }
    /* The discovered clock: the first authPriv request is inside the time window. */
    set_enginetime(l->engine.id, (u_int)l->engine.id_len, l->engine.boots, l->engine.time, TRUE);
    l->failures = 0;
    return 0;
}

/* Every queued message fails (the session they were meant for is gone). */
static bool fail_all_msgs(struct halink *l)
{
    l->msg_reqid = 0;
    while (l->q_len > 0) {
        struct ha_peer_msg m = l->queue[l->q_head];
        l->q_head = (l->q_head + 1) % (HALINK_QUEUE_MAX + 1);
        l->q_len--;
        l->cnt.msgs_failed++;
        if (!emit_sent(l, &m, false))
            return false;
    }
    return true;
}

static void on_reset_timer(void *arg)
{
    struct halink *l = arg;
    l->reset_timer = 0;
    close_session(l);
    l->cnt.resets++;
    if (l->reset_why != l->last_reset_log) /* once per cause until the link works */
        logf_(l, "peer %s: %s; discovering its engine again", l->addr.peername,
              l->reset_why);
    l->last_reset_log = l->reset_why;
    if (l->dead || !fail_all_msgs(l))
        return;
    start_discovery(l);
}

/* Gives up the session (from the loop, never inside Net-SNMP's callback). */
static void schedule_reset(struct halink *l, const char *why)
{
    if (l->reset_timer || !l->ss)
        return;
    l->reset_why = why;
    l->reset_timer = loop_timer_add(l->lp, 0, on_reset_timer, l);
}

/* A failed request: check at once (one datagram) whether the peer's engine is still
 * the one the session was made for, and give the session up after a run of them. */
static void note_failure(struct halink *l, const char *why)
{
    log_once(l, why);
    if (l->ss && !l->disc)
        start_discovery(l);
    if (++l->failures >= HALINK_MAX_FAILURES)
        schedule_reset(l, why);
}

/* ---- discovery ------------------------------------------------------------------- */

static void on_disc_timer(void *arg)
{
    struct halink *l = arg;
    l->disc_timer = 0;
    start_discovery(l);
}

static void take_disc_counters(struct halink *l)
{
    struct halink_disc_counters dc;
    halink_disc_counters(l->disc, &dc);
    l->cnt.disc_sent += dc.sent;
}

/* A good answer came: the engine check started by a failure is not needed. */
static void stop_check(struct halink *l)
{
    if (!l->disc || !l->ss)
        return;
    take_disc_counters(l);
    halink_disc_free(l->disc);
    l->disc = NULL;
}

static bool same_engine(const struct halink_engine *a, const struct halink_engine *b)
{
    return a->id_len == b->id_len && a->boots == b->boots && memcmp(a->id, b->id, a->id_len) == 0;
}

static void log_engine(struct halink *l, const struct halink_engine *eng)
{
    /* Only when it differs from the last one logged: finding the same engine again
     * after a run of timeouts is not news. */
    if (same_engine(eng, &l->logged_engine))
        return;
    char hex[2 * HALINK_ENGINE_ID_MAX + 1];
    for (size_t i = 0; i < eng->id_len; i++)
        snprintf(hex + 2 * i, 3, "%02x", eng->id[i]);
    logf_(l, "peer %s: engine %s (boots %u, time %u)", l->addr.peername, hex, eng->boots,
          eng->time);
    l->logged_engine = *eng;
}

/* A check found `eng` while a session is open: false when the session stays (same
 * engine ID and boots: the peer was only slow), true when it was closed to make way
 * for a session with the fresh engine (another engine, or a reset already decided). */
static bool replace_session(struct halink *l, const struct halink_engine *eng)
{
    bool changed = !same_engine(eng, &l->engine);
    if (!changed && !l->reset_timer)
        return false;
    if (l->reset_timer)
        loop_timer_cancel(l->lp, l->reset_timer);
    l->reset_timer = 0;
    close_session(l);
    l->cnt.resets++;
    const char *why = changed ? "engine changed" : l->reset_why;
    if (why != l->last_reset_log)
        logf_(l, "peer %s: %s; reconnecting", l->addr.peername, why);
    l->last_reset_log = why;
    return true;
}

/* The discovery answered: the first one (no session yet), or the check a failed
 * request started while a session is open. */
static void on_engine_found(void *arg, const struct halink_engine *eng)
{
    struct halink *l = arg;
    take_disc_counters(l);
    halink_disc_free(l->disc);
    l->disc = NULL;
    if (l->ss && (!replace_session(l, eng) || l->dead || !fail_all_msgs(l)))
        return;
    l->engine = *eng;
    l->cnt.discoveries++;
    log_engine(l, eng);
    if (l->dead)
        return;
    if (open_session(l) != 0) {
        if (!l->dead) /* retry later, not at once: no busy loop on a hard error */
            l->disc_timer = loop_timer_add(l->lp, l->interval_ms, on_disc_timer, l);
        return;
    }
    if (!l->dead)
        send_heartbeat(l); /* at once: the peer's state is wanted as soon as possible */
}

static void start_discovery(struct halink *l)
{
    char err[256];
    if (l->disc || l->dead)
        return;
    l->disc = halink_disc_start(l->lp, &l->addr, l->interval_ms, on_engine_found, l, err,
                                sizeof(err));
    if (!l->disc) {
        log_once(l, "cannot start discovery");
        l->disc_timer = loop_timer_add(l->lp, l->interval_ms, on_disc_timer, l);
    }
}

/* ---- heartbeat ----------------------------------------------------------------------- */

static int send_pdu(struct halink *l, netsnmp_pdu *pdu, enum req_kind kind)
{
    int reqid = snmp_async_send(l->ss, pdu, snmp_cb, &l->tags[kind]);
    if (reqid == 0) {
        snmp_free_pdu(pdu);
        note_failure(l, "cannot send a request");
    }
    return reqid;
}

static void send_heartbeat(struct halink *l)
{
    netsnmp_pdu *pdu = snmp_pdu_create(SNMP_MSG_GET);
    if (!pdu)
        return;
    for (size_t i = 0; i < HB_VARS; i++) {
        oid name[ROW_OID_LEN];
        size_t n = mib_oid_build(name, SIPHA_T_INSTANCE, hb_columns[i], l->peer_index, 0, false);
        snmp_add_null_var(pdu, name, n);
    }
    l->hb_reqid = send_pdu(l, pdu, REQ_HB);
    if (l->hb_reqid)
        l->cnt.hb_sent++;
}

static void on_hb_timer(void *arg)
{
    struct halink *l = arg;
    l->hb_timer = loop_timer_add(l->lp, l->interval_ms, on_hb_timer, l);
    if (!l->ss || l->reset_timer)
        return;
    if (l->hb_reqid) {
        l->cnt.hb_skipped++;
        return;
    }
    send_heartbeat(l);
}

static bool int_in(const netsnmp_variable_list *vb, u_char type, long min, long max, long *v)
{
    if (vb->type != type || !vb->val.integer || vb->val_len < sizeof(long))
        return false;
    *v = *vb->val.integer;
    return *v >= min && *v <= max;
}

static bool u32_of(const netsnmp_variable_list *vb, uint32_t *v)
{
    if (vb->type != ASN_UNSIGNED || !vb->val.integer || vb->val_len < sizeof(long))
        return false;
    *v = (uint32_t)(unsigned long)*vb->val.integer;
    return true;
}

static bool c64_of(const netsnmp_variable_list *vb, uint64_t *v)
{
    if (vb->type != ASN_COUNTER64 || !vb->val.counter64 ||
        vb->val_len < sizeof(struct counter64))
        return false;
    *v = ((uint64_t)(uint32_t)vb->val.counter64->high << 32) | (uint32_t)vb->val.counter64->low;
    return true;
}

static bool is_no_such(const netsnmp_variable_list *vb)
{
    return vb->type == SNMP_NOSUCHOBJECT || vb->type == SNMP_NOSUCHINSTANCE ||
           vb->type == SNMP_ENDOFMIBVIEW;
}

/* The answer's varbinds in request order into v[]; -1 if they are not exactly the
 * columns asked for, else how many say the row does not exist. */
static int collect_heartbeat(const struct halink *l, const netsnmp_pdu *pdu,
                             const netsnmp_variable_list *v[HB_VARS])
{
    size_t n = 0;
    int missing = 0;
    for (const netsnmp_variable_list *vb = pdu->variables; vb; vb = vb->next_variable) {
        oid name[ROW_OID_LEN];
        if (n == HB_VARS)
            return -1;
        size_t len = mib_oid_build(name, SIPHA_T_INSTANCE, hb_columns[n], l->peer_index, 0, false);
        if (snmp_oid_compare(vb->name, vb->name_length, name, len) != 0)
            return -1;
        missing += is_no_such(vb);
        v[n++] = vb;
    }
    return n == HB_VARS ? missing : -1;
}

/* The row's values into *ps (types and ranges of SIPHA-MIB checked): 0 or -1. */
static int decode_heartbeat(const struct halink *l, const netsnmp_variable_list *const v[HB_VARS],
                            struct ha_peer_state *ps)
{
    long role, status, listener, arbiter, flag;
    *ps = (struct ha_peer_state){ .index = l->peer_index };
    if (!int_in(v[0], ASN_INTEGER, HA_ROLE_UNKNOWN, HA_ROLE_BACKUP, &role) ||
        !int_in(v[1], ASN_INTEGER, HA_STATUS_UNKNOWN, HA_STATUS_SERVICE_UNAVAILABLE, &status) ||
        !u32_of(v[2], &ps->priority) || !u32_of(v[3], &ps->epoch) ||
        !int_in(v[4], ASN_INTEGER, TV_TRUE, TV_FALSE, &listener) || !c64_of(v[5], &ps->sip_msgs) ||
        !int_in(v[6], ASN_INTEGER, HA_LINK_NOT_CONFIGURED, HA_LINK_DOWN, &arbiter))
        return -1;
    for (size_t i = 0; i < sizeof(option_bits) / sizeof(option_bits[0]); i++) {
        if (!int_in(v[HB_FIRST_OPTION + i], ASN_INTEGER, TV_TRUE, TV_FALSE, &flag))
            return -1;
        if (flag == TV_TRUE)
            ps->options |= option_bits[i];
    }
    ps->role = (enum ha_role)role;
    ps->status = (enum ha_status)status;
    ps->unavailable = status == HA_STATUS_SERVICE_UNAVAILABLE;
    ps->listener = listener == TV_TRUE ? HA_LISTENER_BOUND : HA_LISTENER_FAILED;
    ps->arbiter = (enum ha_link)arbiter;
    return 0;
}

/* 1 = good (*ps filled), 0 = the peer's row does not exist, -1 = malformed. An
 * answer where only some columns are missing is malformed, not a loss. */
static int parse_heartbeat(const struct halink *l, const netsnmp_pdu *pdu,
                           struct ha_peer_state *ps)
{
    const netsnmp_variable_list *v[HB_VARS];
    int missing = collect_heartbeat(l, pdu, v);
    if (missing != 0)
        return missing == (int)HB_VARS ? 0 : -1;
    return decode_heartbeat(l, v, ps) == 0 ? 1 : -1;
}

static void restart_pull(struct halink *l)
{
    l->pull_from = 0;
    l->pass_full = true;
    l->pass_contacts = l->pass_rows = 0;
    l->pull_gen++;
    l->pull_quiet_until = 0;
}

static void on_good_state(struct halink *l, const struct ha_peer_state *ps)
{
    uint64_t now = loop_now_ms();
    bool back = !l->seen_good || l->lost_reported || now - l->last_good_ms > l->timeout_ms;
    if (back || ps->epoch != l->last_epoch)
        restart_pull(l); /* a full copy: we may have missed changes */
    l->seen_good = true;
    l->lost_reported = false;
    l->last_good_ms = now;
    l->last_epoch = ps->epoch;
    l->cnt.hb_answered++;
    if (!emit_state(l, ps))
        return;
    if (l->pull && !l->bulk_reqid && l->ss && (l->pass_full || now >= l->pull_quiet_until))
        send_bulk(l);
}

/* A report instead of a response: which usmStats counter says why. */
static void on_report(struct halink *l, const netsnmp_pdu *pdu)
{
    static const oid usm_stats[] = { 1, 3, 6, 1, 6, 3, 15, 1, 1 };
    const netsnmp_variable_list *vb = pdu->variables;
    unsigned which = 0;
    l->cnt.auth_errors++;
    if (vb && vb->name_length == OID_LENGTH(usm_stats) + 2 &&
        memcmp(vb->name, usm_stats, sizeof(usm_stats)) == 0)
        which = (unsigned)vb->name[OID_LENGTH(usm_stats)];
    switch (which) {
    case 2: /* usmStatsNotInTimeWindows */
    case 4: /* usmStatsUnknownEngineIDs: the peer's snmpd was replaced */
        log_once(l, which == 2 ? "engine clock moved (notInTimeWindow)"
                               : "engine changed (unknownEngineID)");
        schedule_reset(l, "engine changed");
        return;
    /* Credentials the peer refuses: talking to its engine again would not help. */
    case 3: log_once(l, "does not know our user (unknownUserName)"); return;
    case 5: log_once(l, "rejects our authentication key (wrongDigest)"); return;
    case 6: log_once(l, "cannot decrypt our requests (decryptionError)"); return;
    case 1: log_once(l, "refuses authPriv for our user (unsupportedSecLevel)"); return;
    default: note_failure(l, "answered with an unexpected report"); return;
    }
}

static const char *const timeout_text[REQ_KINDS] = {
    "heartbeat timed out", "message timed out", "contact pull timed out",
};
static const char *const error_text[REQ_KINDS] = {
    "answered a heartbeat with an error", "",
    "answered a contact pull with an error",
};

/* Common checks of an answer; true when `pdu` is a response without error. */
static bool answer_ok(struct halink *l, int op, const netsnmp_pdu *pdu, enum req_kind kind)
{
    if (op == NETSNMP_CALLBACK_OP_TIMED_OUT) {
        note_failure(l, timeout_text[kind]);
        return false;
    }
    if (op == NETSNMP_CALLBACK_OP_SEND_FAILED) {
        note_failure(l, "cannot send a request");
        return false;
    }
    if (pdu && pdu->command == SNMP_MSG_REPORT) { /* RECEIVED_MESSAGE or SEC_ERROR */
        on_report(l, pdu);
        return false;
    }
    if (op != NETSNMP_CALLBACK_OP_RECEIVED_MESSAGE || !pdu) {
        l->cnt.auth_errors++;
        log_once(l, "an answer failed the security checks (credentials?)");
        return false;
    }
    if (pdu->command != SNMP_MSG_RESPONSE) {
        note_failure(l, "unexpected PDU type in an answer");
        return false;
    }
    /* The session works: whatever the answer says, the failure streak ends. */
    l->failures = 0;
    stop_check(l);
    if (pdu->errstat != SNMP_ERR_NOERROR) {
        if (kind == REQ_MSG) /* every refused message is worth a line */
            logf_(l, "peer %s: refused a message: %s", l->addr.peername,
                  snmp_errstring((int)pdu->errstat));
        else if (l->last_log != error_text[kind]) {
            l->last_log = error_text[kind];
            logf_(l, "peer %s: %s: %s", l->addr.peername, error_text[kind],
                  snmp_errstring((int)pdu->errstat));
        }
        return false;
    }
    return true;
}

static void on_hb_answer(struct halink *l, int op, const netsnmp_pdu *pdu)
{
    struct ha_peer_state ps;
    l->hb_reqid = 0;
    if (op == NETSNMP_CALLBACK_OP_TIMED_OUT)
        l->cnt.hb_timeouts++;
    if (!answer_ok(l, op, pdu, REQ_HB)) {
        if (op == NETSNMP_CALLBACK_OP_RECEIVED_MESSAGE && pdu &&
            pdu->command == SNMP_MSG_RESPONSE)
            l->cnt.hb_bad++;
        return;
    }
    switch (parse_heartbeat(l, pdu, &ps)) {
    case 1:
        l->last_log = l->last_reset_log = NULL;
        on_good_state(l, &ps);
        return;
    case 0:
        l->cnt.hb_not_registered++;
        if (!l->lost_reported) {
            l->lost_reported = true;
            emit_lost(l, "peer agent not registered");
        }
        return;
    default:
        l->cnt.hb_bad++;
        log_once(l, "malformed heartbeat answer ignored");
        return;
    }
}

/* ---- messages --------------------------------------------------------------------- */

/* Sends the message at the head of the queue; 0, or -1 if it could not go out. */
static int msg_transmit(struct halink *l)
{
    char text[HALINK_MSG_MAX + 1];
    oid name[ROW_OID_LEN];
    size_t len = halink_msg_encode(&l->queue[l->q_head], text, sizeof(text));
    netsnmp_pdu *pdu = len ? snmp_pdu_create(SNMP_MSG_SET) : NULL;
    if (!pdu)
        return -1;
    size_t n = mib_oid_build(name, SIPHA_T_INSTANCE, INST_COL_HA_LINK_MESSAGE, l->peer_index, 0, false);
    if (!snmp_pdu_add_variable(pdu, name, n, ASN_OCTET_STR, text, len)) {
        snmp_free_pdu(pdu);
        return -1;
    }
    l->msg_reqid = send_pdu(l, pdu, REQ_MSG);
    if (!l->msg_reqid)
        return -1;
    l->cnt.msgs_sent++;
    return 0;
}

/* Pops the head with its result, then sends the next that can go. */
static bool msg_done(struct halink *l, bool ok)
{
    struct ha_peer_msg m = l->queue[l->q_head];
    l->q_head = (l->q_head + 1) % (HALINK_QUEUE_MAX + 1);
    l->q_len--;
    l->msg_reqid = 0;
    if (ok)
        l->cnt.msgs_ok++;
    else
        l->cnt.msgs_failed++;
    return emit_sent(l, &m, ok);
}

static void msg_pump(struct halink *l)
{
    while (!l->dead && l->q_len > 0 && !l->msg_reqid && l->ss && !l->reset_timer) {
        if (msg_transmit(l) == 0)
            return;
        if (!msg_done(l, false))
            return;
    }
}

static void on_msg_answer(struct halink *l, int op, const netsnmp_pdu *pdu)
{
    bool ok = answer_ok(l, op, pdu, REQ_MSG);
    if (!l->dead && msg_done(l, ok))
        msg_pump(l);
}

int halink_send(struct halink *l, const struct ha_peer_msg *m)
{
    char text[HALINK_MSG_MAX + 1];
    if (l->dead || !l->ss || l->reset_timer || l->q_len > HALINK_QUEUE_MAX ||
        halink_msg_encode(m, text, sizeof(text)) == 0) {
        l->cnt.msgs_refused++;
        return -1;
    }
    size_t tail = (l->q_head + l->q_len) % (HALINK_QUEUE_MAX + 1);
    l->queue[tail] = *m;
    l->q_len++;
    if (l->msg_reqid)
        return 0;
    if (msg_transmit(l) != 0) { /* refused now rather than reported from in here */
        l->q_len--;
        l->cnt.msgs_refused++;
        return -1;
    }
    return 0;
}

/* ---- contacts ------------------------------------------------------------------------ */

static void send_bulk(struct halink *l)
{
    netsnmp_pdu *pdu = snmp_pdu_create(SNMP_MSG_GETBULK);
    if (!pdu)
        return;
    pdu->non_repeaters = 0;
    /* An incremental pass usually finds nothing new: it asks for one row (a GETNEXT)
     * and only goes on with full pages once something came. Asking for full pages
     * every heartbeat would walk 32 rows past the end of the peer's rows each time. */
    pdu->max_repetitions = l->pass_full || l->pass_rows > 0 ? HALINK_BULK_REPS : 1;
    for (size_t i = 0; i < CONTACT_VARS; i++) {
        oid name[ROW_OID_LEN];
        size_t n = mib_oid_build(name, SIPHA_T_CONTACT, contact_columns[i], l->peer_index,
                             l->pull_from, l->pull_from != 0);
        snmp_add_null_var(pdu, name, n);
    }
    l->bulk_gen = l->pull_gen;
    l->bulk_reqid = send_pdu(l, pdu, REQ_BULK);
    if (l->bulk_reqid)
        l->cnt.bulk_sent++;
}

/* Copies a DisplayString value; false if it is not one. */
static bool str_of(const netsnmp_variable_list *vb, char *out)
{
    if (vb->type != ASN_OCTET_STR || vb->val_len > CONTACT_STR_MAX ||
        (vb->val_len && (!vb->val.string || memchr(vb->val.string, '\0', vb->val_len))))
        return false;
    if (vb->val_len)
        memcpy(out, vb->val.string, vb->val_len);
    out[vb->val_len] = '\0';
    return true;
}

/* Whether the four varbinds are one well-formed row; fills the values. */
static bool row_values(const struct halink *l, uint32_t row,
                       const netsnmp_variable_list *const v[CONTACT_VARS], char *aor, char *uri,
                       uint32_t *expiry, long *origin)
{
    uint32_t r;
    for (size_t i = 1; i < CONTACT_VARS; i++)
        if (!is_row_of(v[i], SIPHA_T_CONTACT, contact_columns[i], l->peer_index, &r) || r != row)
            return false;
    return str_of(v[0], aor) && str_of(v[1], uri) && u32_of(v[2], expiry) &&
           int_in(v[3], ASN_INTEGER, 1, 2, origin);
}

/* One row of the answer: 1 = taken (delivered, or skipped: not local, or malformed),
 * 0 = past the peer's rows, -1 = the walk does not advance, -2 = closed meanwhile. */
static int take_row(struct halink *l, const netsnmp_variable_list *const v[CONTACT_VARS])
{
    uint32_t row, expiry;
    long origin;
    char aor[CONTACT_STR_MAX + 1], uri[CONTACT_STR_MAX + 1];
    if (is_no_such(v[0]) || !is_row_of(v[0], SIPHA_T_CONTACT, contact_columns[0],
                                       l->peer_index, &row))
        return 0;
    if (row <= l->pull_from)
        return -1;
    /* Past this row whatever it holds: a bad row is skipped, never retried forever. */
    l->pull_from = row;
    l->pass_rows++;
    if (!row_values(l, row, v, aor, uri, &expiry, &origin)) {
        l->cnt.bad_rows++;
        log_once(l, "malformed contact row skipped");
        return 1;
    }
    if (origin != ORIGIN_LOCAL) /* our own contacts, synced to the peer: not echoed back */
        return 1;
    l->cnt.contacts++;
    l->pass_contacts++;
    return emit_contact(l, aor, uri, expiry, row) ? 1 : -2;
}

/* The end of the peer's rows: the pass is over. */
static void finish_pass(struct halink *l)
{
    bool full = l->pass_full, any = l->pass_contacts > 0;
    /* Nothing new: look again in a second, not at every heartbeat (the heartbeat is
     * fast for failure detection; contacts change at registration pace). */
    if (!any)
        l->pull_quiet_until = loop_now_ms() + HALINK_PULL_QUIET_MS;
    l->pass_full = false;
    l->pass_contacts = l->pass_rows = 0;
    if (full)
        l->cnt.full_copies++;
    if (full || any) /* an empty incremental pass (the usual case) says nothing */
        emit_contacts_done(l, full);
}

static void on_bulk_answer(struct halink *l, int op, const netsnmp_pdu *pdu)
{
    l->bulk_reqid = 0;
    if (!answer_ok(l, op, pdu, REQ_BULK) || l->dead || !l->pull)
        return;
    if (l->bulk_gen != l->pull_gen) { /* restarted meanwhile: begin again at row 0 */
        send_bulk(l);
        return;
    }
    const netsnmp_variable_list *v[CONTACT_VARS];
    const netsnmp_variable_list *vb = pdu->variables;
    size_t rows = 0;
    int rc = 1;
    while (rc == 1) {
        size_t n = 0;
        for (; n < CONTACT_VARS && vb; vb = vb->next_variable)
            v[n++] = vb;
        if (n < CONTACT_VARS)
            break; /* the answer was cut short (message size): go on from here */
        if ((rc = take_row(l, v)) == 1)
            rows++;
    }
    if (rc == 0)
        finish_pass(l);
    else if (rc == -1)
        log_once(l, "contact rows out of order; pull resumes at the next heartbeat");
    else if (rc == 1 && rows > 0) /* more rows to come: go on at once */
        send_bulk(l);
}

void halink_pull_contacts(struct halink *l, bool enable)
{
    if (enable && !l->pull)
        restart_pull(l);
    l->pull = enable;
}

/* ---- Net-SNMP callback ------------------------------------------------------------ */

/* One request of each kind is outstanding at most; its id also tells a late answer
 * to an earlier one (after a security error, say) from the current one. A Report
 * may carry request-id 0 (the peer could not read our PDU): it is the current one. */
static int snmp_cb(int op, netsnmp_session *s, int reqid, netsnmp_pdu *pdu, void *magic)
{
    const struct req_tag *tag = magic;
    struct halink *l = tag->l;
    (void)s;
    if (l->sess_closing || l->dead)
        return 1;
    if (op != NETSNMP_CALLBACK_OP_RECEIVED_MESSAGE && op != NETSNMP_CALLBACK_OP_TIMED_OUT &&
        op != NETSNMP_CALLBACK_OP_SEND_FAILED && op != NETSNMP_CALLBACK_OP_SEC_ERROR)
        return 1; /* RESEND, CONNECT, DISCONNECT: nothing to do */
    int current = tag->kind == REQ_HB ? l->hb_reqid
                  : tag->kind == REQ_MSG ? l->msg_reqid : l->bulk_reqid;
    if (current == 0 || (reqid != 0 && reqid != current))
        return 1;
    if (tag->kind == REQ_HB)
        on_hb_answer(l, op, pdu);
    else if (tag->kind == REQ_MSG)
        on_msg_answer(l, op, pdu);
    else
        on_bulk_answer(l, op, pdu);
    return 1;
}

/* ---- open / close -------------------------------------------------------------------- */

int halink_open(struct halink **out, struct loop *lp, const struct halink_config *cfg,
                const struct halink_callbacks *cb, void *ctx, char *err, size_t errlen)
{
    *out = NULL;
    if (!cfg || !cfg->address || !cfg->credentials || cfg->peer_index < 1 ||
        cfg->peer_index > 255) {
        snprintf(err, errlen, "address, credentials and a peer index 1..255 are needed");
        return -1;
    }
    struct halink *l = calloc(1, sizeof(*l));
    if (!l) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    l->lp = lp;
    l->ctx = ctx;
    for (int k = 0; k < REQ_KINDS; k++)
        l->tags[k] = (struct req_tag){ l, (enum req_kind)k };
    if (cb)
        l->cb = *cb;
    l->peer_index = cfg->peer_index;
    l->interval_ms = cfg->interval_ms ? cfg->interval_ms : HALINK_DEFAULT_INTERVAL_MS;
    l->timeout_ms = cfg->timeout_ms ? cfg->timeout_ms : HALINK_DEFAULT_TIMEOUT_MS;
    uint64_t four = 4ull * l->interval_ms;
    l->req_timeout_ms = four < l->timeout_ms ? (uint32_t)four : l->timeout_ms;
    char why[256];
    if (halink_addr_parse(cfg->address, &l->addr, why, sizeof(why)) != 0) {
        snprintf(err, errlen, "peer address %s", why);
        free(l);
        return -1;
    }
    if (halink_cred_load(cfg->credentials, &l->cred, why, sizeof(why)) != 0) {
        snprintf(err, errlen, "credentials %s", why);
        free(l);
        return -1;
    }
    start_discovery(l);
    if (!l->disc) {
        snprintf(err, errlen, "peer %s: cannot start discovery", l->addr.peername);
        halink_close(l);
        return -1;
    }
    l->hb_timer = loop_timer_add(lp, l->interval_ms, on_hb_timer, l);
    *out = l;
    return 0;
}

static void destroy(struct halink *l)
{
    if (l->hb_timer)
        loop_timer_cancel(l->lp, l->hb_timer);
    if (l->reset_timer)
        loop_timer_cancel(l->lp, l->reset_timer);
    if (l->disc_timer)
        loop_timer_cancel(l->lp, l->disc_timer);
    halink_disc_free(l->disc);
    close_session(l);
    halink_cred_wipe(&l->cred);
    free(l);
}

static void on_free_timer(void *arg)
{
    destroy(arg);
}

void halink_close(struct halink *l)
{
    if (!l || l->dead)
        return;
    l->dead = true;
    if (l->depth > 0) {
        /* Inside one of our callbacks (maybe inside Net-SNMP's): finish later. The
         * periodic timers stop now; the session closes on the next iteration. */
        if (l->hb_timer)
            loop_timer_cancel(l->lp, l->hb_timer);
        l->hb_timer = 0;
        loop_timer_add(l->lp, 0, on_free_timer, l);
        return;
    }
    destroy(l);
}

bool halink_connected(const struct halink *l)
{
    return l && l->ss && !l->reset_timer;
}

void halink_get_counters(const struct halink *l, struct halink_counters *out)
{
    *out = l->cnt;
    if (l->disc) {
        struct halink_disc_counters dc;
        halink_disc_counters(l->disc, &dc);
        out->disc_sent += dc.sent;
    }
}
