/* hl_link.c — socket, timers and contact sync of the HA link (behaviour in hl_link.h).
 *
 * Re-entrancy: every entry from the loop (the socket, the timers) runs between
 * enter() and leave(). A user callback may call hl_close: the link is then marked
 * dead, its fd and timers go at once, nothing else is touched after the callback
 * returns, and leave() frees the memory when the outermost entry unwinds. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "hl_key.h"
#include "hl_link.h"

#define DSCP_CS6 0xc0
#define RX_IDS 8           /* message ids remembered for de-duplication */
#define REPEAT_SLOTS 8     /* messages whose repeats are pending */

/* A rate-limited complaint: one line per HL_LOG_GAP_MS with the count since. */
struct ratelog {
    uint64_t last_ms;      /* 0 = never logged */
    uint64_t pending;      /* occurrences not yet reported */
    struct sockaddr_storage from; /* of the last bad datagram */
    int err;               /* errno of the last send error */
};

struct repeat {
    struct hl_takeover msg;
    enum hl_type type;
    unsigned left;
};

struct hl_link {
    struct loop *lp;
    struct hl_callbacks cb;
    void *ctx;
    int fd;
    struct sockaddr_storage peer;
    socklen_t peer_len;
    uint32_t self_index, peer_index, interval_ms, miss_count, backup_interval_ms;
    struct hl_auth auth;

    uint64_t session, seq;     /* ours */
    struct hl_replay rx;       /* the peer's */
    uint64_t last_rx_ms;       /* last accepted datagram, 0 = none */
    uint64_t hb_timer, hb_period; /* the HELLO timer and the period it was armed with */
    uint64_t lost_timer;       /* peer lost when it fires: re-armed by every datagram */
    uint32_t peer_tx_ms;       /* the peer's HELLO period, from its last HELLO */
    bool peer_alive;           /* heard within miss_count of its periods */
    struct ha_peer_state self;
    bool have_self;
    struct ha_peer_state told; /* the peer state last handed to on_state */
    bool have_told, want_fresh; /* want_fresh: our state changed, hand over the next */
    uint32_t contact_gen, contact_count;

    uint32_t next_msg_id;
    struct repeat rep[REPEAT_SLOTS];
    size_t n_rep;
    uint64_t rep_timer;
    uint64_t rx_msg_session;   /* the peer session rx_ids belong to */
    uint32_t rx_ids[RX_IDS];
    size_t rx_ids_next;

    /* contact pull */
    bool pull, in_pass, synced, peer_known;
    uint64_t peer_session, synced_session, pass_session;
    uint32_t peer_gen, synced_gen, pass_gen, pass_after;
    uint32_t synced_row;       /* last_row of the last complete pass: where the next
                                  incremental pass starts */
    bool pass_full;            /* the pass in progress started at row 0 */
    uint64_t pass_started_ms;  /* 0 = never */
    unsigned pass_resends;
    uint64_t req_timer;
    uint64_t gap_timer;        /* a full pass waiting for HL_PASS_MIN_GAP_MS */
    bool full_asked;           /* answering: the peer asked from row 0, when the */
    uint32_t full_horizon;     /* horizon was this */

    struct ratelog rl_reject[HL_E_COUNT], rl_send, rl_pass, rl_encode;
    int depth;
    bool dead;
    struct hl_counters cnt;

    uint8_t txbuf[HL_MAX_DGRAM], rxbuf[HL_MAX_DGRAM + 1];
    struct hl_msg rxmsg, txmsg;        /* CONTACT_DATA is large: kept off the stack */
    struct hl_contact rows[HL_MAX_ROWS];
};

static void destroy(struct hl_link *l);
static void arm_req_timer(struct hl_link *l);

/* ---- entry / exit, callbacks --------------------------------------------------- */

static void enter(struct hl_link *l)
{
    l->depth++;
}

/* false when the link died meanwhile (then it is freed once no entry is running). */
static bool leave(struct hl_link *l)
{
    if (--l->depth == 0 && l->dead) {
        destroy(l);
        return false;
    }
    return !l->dead;
}

static void logf_(struct hl_link *l, int prio, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void logf_(struct hl_link *l, int prio, const char *fmt, ...)
{
    char text[320];
    va_list ap;
    if (l->dead || !l->cb.on_log)
        return;
    va_start(ap, fmt);
    vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    l->cb.on_log(l->ctx, prio, text);
}

static const char *addr_text(const struct sockaddr_storage *ss, char *buf, size_t len)
{
    char host[INET6_ADDRSTRLEN] = "?";
    unsigned port = 0;
    if (ss->ss_family == AF_INET) {
        const struct sockaddr_in *s4 = (const struct sockaddr_in *)ss;
        inet_ntop(AF_INET, &s4->sin_addr, host, sizeof(host));
        port = ntohs(s4->sin_port);
        snprintf(buf, len, "%s:%u", host, port);
    } else if (ss->ss_family == AF_INET6) {
        const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)ss;
        inet_ntop(AF_INET6, &s6->sin6_addr, host, sizeof(host));
        port = ntohs(s6->sin6_port);
        snprintf(buf, len, "[%s]:%u", host, port);
    } else {
        snprintf(buf, len, "?");
    }
    return buf;
}

/* Whether rl may print now (and then resets it). Called from the loop only. */
static bool rl_due(struct ratelog *rl, uint64_t now)
{
    if (rl->pending == 0 || (rl->last_ms && now - rl->last_ms < HL_LOG_GAP_MS))
        return false;
    rl->last_ms = now;
    return true;
}

/* Prints every rate-limited complaint that is due. */
static void flush_logs(struct hl_link *l, uint64_t now)
{
    char a[64];
    for (int r = 1; r < HL_E_COUNT && !l->dead; r++) {
        struct ratelog *rl = &l->rl_reject[r];
        if (!rl_due(rl, now))
            continue;
        logf_(l, LOG_WARNING, "HA link: %llu datagram(s) rejected (%s), last from %s%s",
              (unsigned long long)rl->pending, hl_strerror((enum hl_err)r),
              addr_text(&rl->from, a, sizeof(a)),
              r == HL_E_REPLAY ? "; a peer restarted without its state directory and with"
                                 " its clock set back is refused until this agent restarts"
                               : "");
        rl->pending = 0;
    }
    if (!l->dead && rl_due(&l->rl_send, now)) {
        logf_(l, LOG_WARNING, "HA link: %llu datagram(s) to %s not sent: %s",
              (unsigned long long)l->rl_send.pending, addr_text(&l->peer, a, sizeof(a)),
              strerror(l->rl_send.err));
        l->rl_send.pending = 0;
    }
    if (!l->dead && rl_due(&l->rl_encode, now)) {
        logf_(l, LOG_ERR, "HA link: %llu message(s) with a field out of range not sent",
              (unsigned long long)l->rl_encode.pending);
        l->rl_encode.pending = 0;
    }
    if (!l->dead && rl_due(&l->rl_pass, now)) {
        logf_(l, LOG_WARNING, "HA link: %llu contact pass(es) dropped: peer %s did not answer",
              (unsigned long long)l->rl_pass.pending, addr_text(&l->peer, a, sizeof(a)));
        l->rl_pass.pending = 0;
    }
}

/* ---- sending ------------------------------------------------------------------- */

/* Encodes l->txmsg (header filled here) and sends it; 0 or -1 (counted). No callback. */
static int send_tx(struct hl_link *l, enum hl_type type)
{
    struct hl_msg *m = &l->txmsg;
    m->h = (struct hl_hdr){ .type = type, .sender = l->self_index, .receiver = l->peer_index,
                            .session = l->session, .seq = l->seq + 1 };
    size_t len = hl_encode(&l->auth, m, l->txbuf, sizeof(l->txbuf));
    if (len == 0) {
        l->cnt.encode_errors++;
        l->rl_encode.pending++;
        return -1;
    }
    l->seq++; /* used even when sendto fails: a sequence number is never reused */
    ssize_t n = sendto(l->fd, l->txbuf, len, 0, (const struct sockaddr *)&l->peer, l->peer_len);
    if (n != (ssize_t)len) {
        l->cnt.send_errors++;
        l->rl_send.pending++;
        l->rl_send.err = n < 0 ? errno : EMSGSIZE;
        return -1;
    }
    l->cnt.dgrams_out++;
    return 0;
}

/* Our HELLO period: a backup that hears its primary only has to show it is there
 * (the primary needs no quick verdict on it; VRRP backups do not speak at all), so
 * it speaks every backup_interval_ms. Everyone else, and a backup that misses its
 * primary, every interval_ms: the backup's timely verdict on the primary is what
 * failover speed is made of. */
static uint32_t hello_period(const struct hl_link *l)
{
    bool quiet = l->have_self && l->self.role == HA_ROLE_BACKUP && l->peer_alive &&
                 l->have_told && l->told.role == HA_ROLE_PRIMARY;
    return quiet ? l->backup_interval_ms : l->interval_ms;
}

static void send_hello(struct hl_link *l, bool poll)
{
    if (!l->have_self)
        return;
    struct hl_hello *h = &l->txmsg.u.hello;
    h->ps = l->self;
    h->ps.index = l->self_index;
    h->ps.hears_peer = l->peer_alive;
    h->contact_gen = l->contact_gen;
    h->contact_count = l->contact_count;
    h->tx_interval_ms = (uint16_t)hello_period(l);
    h->poll = poll;
    if (send_tx(l, HL_HELLO) == 0)
        l->cnt.hellos_out++;
}

static void send_link_msg(struct hl_link *l, const struct repeat *r)
{
    l->txmsg.u.msg = r->msg;
    if (send_tx(l, r->type) == 0)
        l->cnt.msgs_out++;
}

static void send_req(struct hl_link *l)
{
    l->txmsg.u.creq = (struct hl_creq){ .gen = l->pass_gen, .after_row = l->pass_after };
    if (send_tx(l, HL_CONTACT_REQ) == 0)
        l->cnt.contact_reqs_out++;
    arm_req_timer(l);
}

/* ---- heartbeat and repeats ------------------------------------------------------- */

static void maybe_start_pass(struct hl_link *l, uint64_t now);
static void on_gap_timer(void *arg);

static void on_hb_timer(void *arg);

/* (Re)starts the HELLO timer when the period changed, or unconditionally with force. */
static void arm_hb(struct hl_link *l, bool force)
{
    uint32_t period = hello_period(l);
    if (l->dead || (!force && l->hb_timer && l->hb_period == period))
        return;
    bool slower = l->hb_timer && period > l->hb_period;
    if (l->hb_timer)
        loop_timer_cancel(l->lp, l->hb_timer);
    l->hb_period = period;
    l->hb_timer = loop_timer_add(l->lp, period, on_hb_timer, l);
    /* The peer times us out by the period our last HELLO announced: announce a
     * longer one before the first longer gap (BFD does the same). */
    if (slower && !force)
        send_hello(l, false);
}

static void on_hb_timer(void *arg)
{
    struct hl_link *l = arg;
    l->hb_timer = 0;
    arm_hb(l, true);
    enter(l);
    uint64_t now = loop_now(l->lp);
    send_hello(l, false);
    maybe_start_pass(l, now);
    flush_logs(l, now);
    leave(l);
}

static void on_rep_timer(void *arg)
{
    struct hl_link *l = arg;
    l->rep_timer = 0;
    size_t keep = 0;
    for (size_t i = 0; i < l->n_rep; i++) {
        send_link_msg(l, &l->rep[i]);
        if (--l->rep[i].left > 0)
            l->rep[keep++] = l->rep[i];
    }
    l->n_rep = keep;
    if (keep)
        l->rep_timer = loop_timer_add(l->lp, l->interval_ms, on_rep_timer, l);
}

void hl_set_state(struct hl_link *l, const struct ha_peer_state *self)
{
    if (l->dead)
        return;
    bool changed = !l->have_self || self->role != l->self.role ||
                   self->status != l->self.status || self->epoch != l->self.epoch ||
                   self->unavailable != l->self.unavailable;
    l->self = *self;
    l->have_self = true;
    if (!changed)
        return;
    /* Told at once, with a poll: the peer answers with its own HELLO, which goes to
     * on_state even if unchanged, so the engine has a word of the peer newer than our
     * change within one round trip. */
    l->want_fresh = true;
    send_hello(l, true);
    arm_hb(l, true);
}

int hl_send_msg(struct hl_link *l, const struct ha_peer_msg *m)
{
    if (l->dead || (m->cmd != HA_CMD_PEER_TAKEOVER && m->cmd != HA_CMD_PEER_RELEASE))
        return -1;
    struct repeat r = { .type = m->cmd == HA_CMD_PEER_TAKEOVER ? HL_TAKEOVER : HL_RELEASE,
                        .left = HL_MSG_REPEATS };
    r.msg.id = l->next_msg_id + 1;
    r.msg.m = *m;
    l->txmsg.u.msg = r.msg;
    uint64_t before = l->cnt.encode_errors;
    if (send_tx(l, r.type) != 0 && l->cnt.encode_errors != before)
        return -1;
    l->next_msg_id++;
    l->cnt.msgs_out++;
    if (l->n_rep == REPEAT_SLOTS) { /* the oldest's repeats give way */
        memmove(&l->rep[0], &l->rep[1], (REPEAT_SLOTS - 1) * sizeof(l->rep[0]));
        l->n_rep--;
    }
    l->rep[l->n_rep++] = r;
    if (!l->rep_timer)
        l->rep_timer = loop_timer_add(l->lp, l->interval_ms, on_rep_timer, l);
    return 0;
}

void hl_contacts_changed(struct hl_link *l, uint32_t count)
{
    l->contact_gen++;
    l->contact_count = count;
}

/* ---- contact pull (the backup) ----------------------------------------------------- */

static void stop_pass(struct hl_link *l)
{
    l->in_pass = false;
    if (l->req_timer)
        loop_timer_cancel(l->lp, l->req_timer);
    l->req_timer = 0;
}

static void on_req_timer(void *arg)
{
    struct hl_link *l = arg;
    l->req_timer = 0;
    if (!l->in_pass)
        return;
    if (++l->pass_resends > HL_REQ_RETRIES) {
        stop_pass(l);
        l->cnt.passes_dropped++;
        l->rl_pass.pending++;
        return;
    }
    l->cnt.contact_resends++;
    send_req(l);
}

static void arm_req_timer(struct hl_link *l)
{
    uint64_t t = 4ull * l->interval_ms;
    if (t < HL_REQ_TIMEOUT_MIN_MS)
        t = HL_REQ_TIMEOUT_MIN_MS;
    if (l->req_timer)
        loop_timer_cancel(l->lp, l->req_timer);
    l->req_timer = loop_timer_add(l->lp, t, on_req_timer, l);
}

/* Starts a pass at `after` (0 = a full pass). */
static void start_pass(struct hl_link *l, uint32_t after, uint64_t now)
{
    l->in_pass = true;
    l->pass_full = after == 0;
    l->pass_session = l->peer_session;
    l->pass_gen = l->peer_gen;
    l->pass_after = after;
    l->pass_resends = 0;
    if (l->pass_full) {
        l->pass_started_ms = now;
        if (l->cb.on_full_pass_start) /* (always from a loop callback) */
            l->cb.on_full_pass_start(l->ctx);
    }
    if (!l->dead)
        send_req(l);
}

/* Once the peer's rows are synced, a change of its generation is fetched at once and
 * from where the last pass ended (changed rows and removals only). Anything else — the
 * first sync, a new peer process, a peer that no longer remembers that far back —
 * is a full pass, started at most every HL_PASS_MIN_GAP_MS. */
static void maybe_start_pass(struct hl_link *l, uint64_t now)
{
    if (!l->pull || l->in_pass || !l->peer_known || l->dead)
        return;
    bool same = l->synced && l->synced_session == l->peer_session;
    if (same && l->synced_gen == l->peer_gen)
        return;
    if (same && l->synced_row) {
        start_pass(l, l->synced_row, now);
        return;
    }
    if (l->pass_started_ms && now - l->pass_started_ms < HL_PASS_MIN_GAP_MS) {
        if (!l->gap_timer)
            l->gap_timer = loop_timer_add(l->lp, HL_PASS_MIN_GAP_MS - (now - l->pass_started_ms),
                                          on_gap_timer, l);
        return;
    }
    start_pass(l, 0, now);
}

static void on_gap_timer(void *arg)
{
    struct hl_link *l = arg;
    l->gap_timer = 0;
    maybe_start_pass(l, loop_now(l->lp));
}

void hl_pull_contacts(struct hl_link *l, bool enable)
{
    if (!enable)
        stop_pass(l);
    else if (!l->pull)
        l->synced = false;
    l->pull = enable;
}

/* One row to the caller, as NUL-terminated strings. */
static void deliver_row(struct hl_link *l, const struct hl_row *r)
{
    char buf[HL_F_COUNT * (HL_STR_MAX + 1)];
    struct hl_contact c = { .row = r->row, .expiry_s = r->expiry_s, .q = r->q,
                            .flags = r->flags, .cflags = r->cflags, .methods = r->methods };
    char *p = buf;
    for (int f = 0; f < HL_F_COUNT; f++) {
        memcpy(p, r->str[f], r->len[f]);
        p[r->len[f]] = '\0';
        c.str[f] = p;
        p += r->len[f] + 1;
    }
    l->cnt.contacts_in++;
    if (l->cb.on_contact)
        l->cb.on_contact(l->ctx, &c);
}

static void end_pass(struct hl_link *l, uint32_t gen)
{
    bool full = l->pass_full;
    stop_pass(l);
    l->synced = true;
    l->synced_session = l->pass_session;
    l->synced_gen = gen;
    l->synced_row = l->pass_after;
    l->cnt.passes_done++;
    if (l->cb.on_contacts_done)
        l->cb.on_contacts_done(l->ctx, full);
    if (!l->dead) /* the peer changed again meanwhile: fetch that at once */
        maybe_start_pass(l, loop_now(l->lp));
}

static void on_cdata(struct hl_link *l, const struct hl_cdata *c)
{
    /* Only the answer to the request outstanding: a late duplicate (after a re-send)
     * echoes an after_row already passed. */
    if (!l->in_pass || l->rx.session != l->pass_session || c->after_row != l->pass_after) {
        l->cnt.stale++;
        return;
    }
    if (c->too_old) { /* removals we would need are forgotten: copy everything */
        l->cnt.passes_too_old++;
        l->synced_row = 0; /* void: should this full pass be dropped, the next is full too */
        stop_pass(l);
        start_pass(l, 0, loop_now(l->lp));
        return;
    }
    for (size_t i = 0; i < c->n && !l->dead; i++)
        deliver_row(l, &c->rows[i]);
    if (l->dead || !l->in_pass) /* closed, or the pull was disabled from on_contact */
        return;
    l->pass_after = c->last_row;
    l->pass_resends = 0;
    if (c->gen != l->peer_gen) /* newer than its last HELLO said */
        l->peer_gen = c->gen;
    if (!c->end) {
        send_req(l);
        return;
    }
    /* "end": nothing beyond last_row when the peer answered, i.e. every change up to
     * the generation it answered with has been delivered. */
    end_pass(l, c->gen);
}

/* ---- contact answers (the primary) --------------------------------------------------- */

/* A row of ours as the codec takes it; false when a string is too long to travel. */
static bool row_of(const struct hl_contact *k, struct hl_row *r)
{
    *r = (struct hl_row){ .row = k->row, .expiry_s = k->expiry_s, .flags = k->flags,
                          .cflags = k->cflags, .methods = k->methods,
                          .q = (int16_t)(k->q >= 0 && k->q <= 1000 ? k->q : HL_Q_UNSET) };
    for (int f = 0; f < HL_F_COUNT; f++) {
        const char *v = k->str[f] ? k->str[f] : "";
        size_t n = strlen(v);
        if (n > hl_str_max[f] || ((f == HL_F_AOR || f == HL_F_URI) && n == 0))
            return false;
        r->str[f] = v;
        r->len[f] = (uint16_t)n;
    }
    return true;
}

/* Packs the rows contacts_after gave into l->txmsg.u.cdata, as many as fit. */
static void pack_rows(struct hl_link *l, uint32_t after_row, size_t n)
{
    struct hl_cdata *c = &l->txmsg.u.cdata;
    size_t room = HL_MAX_BODY - HL_CDATA_FIXED, i = 0;
    c->after_row = c->last_row = after_row;
    c->n = 0;
    c->too_old = false;
    for (; i < n; i++) {
        const struct hl_contact *k = &l->rows[i];
        if (k->row <= c->last_row)
            break; /* out of order: the caller's bug; end here rather than loop */
        struct hl_row *r = &c->rows[c->n];
        if (!row_of(k, r)) {
            l->cnt.rows_skipped++; /* cannot travel; passed over, never retried */
            c->last_row = k->row;
            continue;
        }
        size_t need = hl_row_len(r);
        if (need > room)
            break;
        room -= need;
        c->n++;
        c->last_row = k->row;
    }
    /* The end when every row given went in and the callback had no more to give; also
     * when nothing advanced (a misbehaving callback must not make the pass spin). */
    c->end = (i == n && n < HL_MAX_ROWS) || c->last_row == after_row;
}

static void on_creq(struct hl_link *l, const struct hl_creq *q)
{
    size_t n = 0;
    l->cnt.contact_reqs_in++;
    uint32_t horizon = l->cb.contacts_horizon ? l->cb.contacts_horizon(l->ctx) : 0;
    if (l->dead)
        return;
    /* Below the horizon the peer may miss a removal we forgot, unless none was
     * forgotten since its last full pass began: removals forgotten before are of
     * contacts that pass did not deliver (it drops them at its end). Without this,
     * a full pass through live rows numbered below the horizon would be told "too
     * old" at its second request, and start over for ever. One puller: the peer. */
    if (q->after_row == 0) {
        l->full_asked = true;
        l->full_horizon = horizon;
    }
    if (q->after_row && q->after_row < horizon &&
        !(l->full_asked && l->full_horizon == horizon)) {
        struct hl_cdata *c = &l->txmsg.u.cdata;
        c->after_row = c->last_row = q->after_row;
        c->n = 0;
        c->end = c->too_old = true;
    } else {
        if (l->cb.contacts_after)
            n = l->cb.contacts_after(l->ctx, q->after_row, l->rows, HL_MAX_ROWS);
        if (l->dead)
            return;
        if (n > HL_MAX_ROWS)
            n = HL_MAX_ROWS;
        pack_rows(l, q->after_row, n);
    }
    l->txmsg.u.cdata.gen = l->contact_gen;
    size_t sent = l->txmsg.u.cdata.n;
    if (send_tx(l, HL_CONTACT_DATA) == 0)
        l->cnt.contacts_out += sent;
}

/* ---- receiving ---------------------------------------------------------------------------- */

static bool peer_state_equal(const struct ha_peer_state *a, const struct ha_peer_state *b)
{
    return a->role == b->role && a->status == b->status && a->listener == b->listener &&
           a->arbiter == b->arbiter && a->options == b->options &&
           a->unavailable == b->unavailable && a->hears_peer == b->hears_peer &&
           a->backoff_factor == b->backoff_factor && a->epoch == b->epoch &&
           a->priority == b->priority && a->sip_msgs == b->sip_msgs;
}

static void drain(struct hl_link *l);

/* miss_count of the peer's HELLO periods without a datagram: the peer is lost. But
 * first read what is queued on the socket: a loop kept busy (a long callback, a
 * process not scheduled) reaches this timer before the datagrams that arrived
 * meanwhile, and a peer that spoke is not lost (reading one re-arms the timer). */
static void on_lost_timer(void *arg)
{
    struct hl_link *l = arg;
    l->lost_timer = 0;
    enter(l);
    drain(l);
    if (!l->dead && !l->lost_timer) {
        l->peer_alive = false;
        l->have_told = false; /* the next HELLO is news, whatever it says */
        if (l->cb.on_lost)
            l->cb.on_lost(l->ctx);
        arm_hb(l, false);
    }
    leave(l);
}

static void arm_lost(struct hl_link *l)
{
    if (l->lost_timer)
        loop_timer_cancel(l->lp, l->lost_timer);
    uint32_t period = l->peer_tx_ms ? l->peer_tx_ms : l->interval_ms;
    l->lost_timer = loop_timer_add(l->lp, (uint64_t)l->miss_count * period, on_lost_timer, l);
}

static void on_hello(struct hl_link *l, const struct hl_msg *m)
{
    const struct hl_hello *h = &m->u.hello;
    l->cnt.hellos_in++;
    l->cnt.peer_contact_gen = h->contact_gen;
    l->cnt.peer_contact_count = h->contact_count;
    if (!l->peer_known || m->h.session != l->peer_session) {
        if (l->peer_known)
            logf_(l, LOG_NOTICE, "HA link: peer %u restarted (new session)", l->peer_index);
        if (l->in_pass)
            stop_pass(l); /* its rows belong to the old process */
    }
    l->peer_known = true;
    l->peer_session = m->h.session;
    l->peer_gen = h->contact_gen;
    struct ha_peer_state ps = h->ps;
    ps.index = l->peer_index;
    bool tell = !l->have_told || l->want_fresh || !peer_state_equal(&ps, &l->told);
    if (h->poll)
        send_hello(l, false); /* the answer the peer asked for */
    if (tell) {
        l->told = ps;
        l->have_told = true;
        l->want_fresh = false;
        if (!l->dead && l->cb.on_state)
            l->cb.on_state(l->ctx, &ps);
    }
    arm_hb(l, false); /* the peer's role may change our period */
    maybe_start_pass(l, loop_now(l->lp));
}

static void on_link_msg(struct hl_link *l, const struct hl_msg *m)
{
    const struct hl_takeover *t = &m->u.msg;
    if (m->h.session != l->rx_msg_session) { /* a new peer process numbers from 1 */
        memset(l->rx_ids, 0, sizeof(l->rx_ids));
        l->rx_msg_session = m->h.session;
    }
    for (size_t i = 0; i < RX_IDS; i++) {
        if (l->rx_ids[i] == t->id) {
            l->cnt.msgs_dup++;
            return;
        }
    }
    l->rx_ids[l->rx_ids_next] = t->id;
    l->rx_ids_next = (l->rx_ids_next + 1) % RX_IDS;
    l->cnt.msgs_in++;
    if (l->cb.on_msg)
        l->cb.on_msg(l->ctx, &t->m);
}

static void reject(struct hl_link *l, enum hl_err e, const struct sockaddr_storage *from)
{
    l->cnt.rejected[e]++;
    l->rl_reject[e].pending++;
    l->rl_reject[e].from = *from;
    flush_logs(l, loop_now(l->lp));
}

static void on_datagram(struct hl_link *l, size_t len, const struct sockaddr_storage *from)
{
    enum hl_err e = len > HL_MAX_DGRAM ? HL_E_OVERSIZED
                    : hl_decode(&l->auth, &l->rx, l->self_index, l->peer_index, l->rxbuf,
                                len, &l->rxmsg);
    if (e != HL_OK) {
        reject(l, e, from);
        return;
    }
    l->cnt.dgrams_in++;
    l->last_rx_ms = loop_now(l->lp);
    bool was_alive = l->peer_alive;
    l->peer_alive = true;
    const struct hl_msg *m = &l->rxmsg;
    if (m->h.type == HL_HELLO)
        l->peer_tx_ms = m->u.hello.tx_interval_ms;
    arm_lost(l);
    if (!was_alive)
        arm_hb(l, false);
    switch (m->h.type) {
    case HL_HELLO: on_hello(l, m); break;
    case HL_TAKEOVER:
    case HL_RELEASE: on_link_msg(l, m); break;
    case HL_CONTACT_REQ: on_creq(l, &m->u.creq); break;
    case HL_CONTACT_DATA: on_cdata(l, &m->u.cdata); break;
    }
}

/* Reads up to HL_RX_BURST datagrams (the caller holds an entry: enter/leave). */
static void drain(struct hl_link *l)
{
    for (unsigned i = 0; i < HL_RX_BURST && !l->dead; i++) {
        struct sockaddr_storage from;
        socklen_t flen = sizeof(from);
        memset(&from, 0, sizeof(from));
        /* MSG_TRUNC: the real size, so an oversized datagram is told from a full one. */
        ssize_t n = recvfrom(l->fd, l->rxbuf, sizeof(l->rxbuf), MSG_TRUNC | MSG_DONTWAIT,
                             (struct sockaddr *)&from, &flen);
        if (n < 0)
            break; /* EAGAIN: drained; anything else: try again at the next wakeup */
        on_datagram(l, (size_t)n, &from);
    }
}

static void on_readable(int fd, unsigned events, void *arg)
{
    struct hl_link *l = arg;
    (void)fd;
    (void)events;
    enter(l);
    drain(l);
    leave(l);
}

/* ---- open / close ------------------------------------------------------------------------ */

int hl_endpoint_parse(const char *s, struct sockaddr_storage *ss, socklen_t *len)
{
    char host[INET6_ADDRSTRLEN + 1];
    const char *port;
    size_t hl;
    bool v6 = s[0] == '[';
    if (v6) {
        const char *close = strchr(s, ']');
        if (!close || close[1] != ':')
            return -1;
        hl = (size_t)(close - s - 1);
        port = close + 2;
        s++;
    } else {
        const char *colon = strrchr(s, ':');
        if (!colon)
            return -1;
        hl = (size_t)(colon - s);
        port = colon + 1;
    }
    if (hl == 0 || hl >= sizeof(host) || !*port || strspn(port, "0123456789") != strlen(port) ||
        strlen(port) > 5 || atoi(port) > 65535)
        return -1;
    memcpy(host, s, hl);
    host[hl] = '\0';
    memset(ss, 0, sizeof(*ss));
    if (v6) {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)ss;
        a->sin6_family = AF_INET6;
        a->sin6_port = htons((uint16_t)atoi(port));
        *len = sizeof(*a);
        return inet_pton(AF_INET6, host, &a->sin6_addr) == 1 ? 0 : -1;
    }
    struct sockaddr_in *a = (struct sockaddr_in *)ss;
    a->sin_family = AF_INET;
    a->sin_port = htons((uint16_t)atoi(port));
    *len = sizeof(*a);
    return inet_pton(AF_INET, host, &a->sin_addr) == 1 ? 0 : -1;
}

static int check_config(const struct hl_config *c, char *err, size_t errlen)
{
    const char *why = NULL;
    if (!c->local || !c->peer || !c->key_file)
        why = "local address, peer address and key file are needed";
    else if (c->self_index < 1 || c->self_index > 255 || c->peer_index < 1 ||
             c->peer_index > 255 || c->self_index == c->peer_index)
        why = "instance indexes must be 1..255 and differ";
    else if (c->interval_ms &&
             (c->interval_ms < HL_INTERVAL_MIN_MS || c->interval_ms > HL_INTERVAL_MAX_MS))
        why = "interval must be 10..10000 ms";
    else if (c->miss_count && (c->miss_count < HL_MISS_COUNT_MIN || c->miss_count > HL_MISS_COUNT_MAX))
        why = "miss count must be 2..100";
    else if (c->backup_interval_ms &&
             (c->backup_interval_ms > HL_INTERVAL_MAX_MS ||
              c->backup_interval_ms < (c->interval_ms ? c->interval_ms : HL_DEFAULT_INTERVAL_MS)))
        why = "backup interval must be from the interval up to 10000 ms";
    if (why)
        snprintf(err, errlen, "HA link: %s", why);
    return why ? -1 : 0;
}

static int open_socket(struct hl_link *l, const struct hl_config *c, char *err, size_t errlen)
{
    struct sockaddr_storage local;
    socklen_t llen;
    if (hl_endpoint_parse(c->local, &local, &llen) != 0) {
        snprintf(err, errlen, "HA link: local address '%s': IP:PORT or [IPv6]:PORT expected",
                 c->local);
        return -1;
    }
    if (hl_endpoint_parse(c->peer, &l->peer, &l->peer_len) != 0 ||
        l->peer.ss_family != local.ss_family) {
        snprintf(err, errlen, "HA link: peer address '%s': IP:PORT or [IPv6]:PORT of the "
                 "local address's family expected", c->peer);
        return -1;
    }
    l->fd = socket(local.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (l->fd < 0) {
        snprintf(err, errlen, "HA link: socket: %s", strerror(errno));
        return -1;
    }
    /* CS6 (network control): ahead of bulk traffic in queues that honour DSCP.
     * Best effort; a host that refuses it still works. */
    int tos = DSCP_CS6;
    if (local.ss_family == AF_INET)
        (void)setsockopt(l->fd, IPPROTO_IP, IP_TOS, &tos, sizeof(tos));
    else
        (void)setsockopt(l->fd, IPPROTO_IPV6, IPV6_TCLASS, &tos, sizeof(tos));
    if (bind(l->fd, (struct sockaddr *)&local, llen) != 0) {
        snprintf(err, errlen, "HA link: bind %s: %s", c->local, strerror(errno));
        return -1;
    }
    return 0;
}

static int setup(struct hl_link *l, const struct hl_config *cfg, char *err, size_t errlen)
{
    struct hl_key key;
    if (check_config(cfg, err, errlen) != 0 || open_socket(l, cfg, err, errlen) != 0)
        return -1;
    if (hl_key_load(cfg->key_file, &key, err, errlen) != 0)
        return -1;
    int rc = hl_auth_init(&l->auth, key.bytes, key.len);
    hl_key_wipe(&key);
    if (rc != 0) {
        snprintf(err, errlen, "HA link: HMAC-SHA-256 unavailable in libcrypto");
        return -1;
    }
    if (loop_watch_fd(l->lp, l->fd, LOOP_READ, on_readable, l) != 0) {
        snprintf(err, errlen, "HA link: out of memory");
        return -1;
    }
    arm_hb(l, true);
    if (!l->hb_timer) {
        snprintf(err, errlen, "HA link: out of memory");
        return -1;
    }
    return 0;
}

int hl_open(struct hl_link **out, struct loop *lp, const struct hl_config *cfg,
            const struct hl_callbacks *cb, void *ctx, char *err, size_t errlen)
{
    *out = NULL;
    struct hl_link *l = calloc(1, sizeof(*l));
    if (!l) {
        snprintf(err, errlen, "HA link: out of memory");
        return -1;
    }
    l->lp = lp;
    l->fd = -1;
    l->ctx = ctx;
    if (cb)
        l->cb = *cb;
    l->self_index = cfg->self_index;
    l->peer_index = cfg->peer_index;
    l->interval_ms = cfg->interval_ms ? cfg->interval_ms : HL_DEFAULT_INTERVAL_MS;
    l->miss_count = cfg->miss_count ? cfg->miss_count : HL_DEFAULT_MISS_COUNT;
    l->backup_interval_ms = cfg->backup_interval_ms ? cfg->backup_interval_ms
                                                    : HL_DEFAULT_BACKUP_INTERVAL_MS;
    if (l->backup_interval_ms < l->interval_ms)
        l->backup_interval_ms = l->interval_ms;
    l->contact_gen = 1;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    l->session = (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
    /* The peer refuses a session below the last it saw (replay): a clock stepped back
     * since our previous start must not make us a stranger to it. */
    if (l->session <= cfg->session_floor)
        l->session = cfg->session_floor + 1;
    if (setup(l, cfg, err, errlen) != 0) {
        destroy(l);
        return -1;
    }
    *out = l;
    return 0;
}

/* Stops every source of events (fd, timers); the memory stays. */
static void quiesce(struct hl_link *l)
{
    if (l->fd >= 0) {
        loop_unwatch_fd(l->lp, l->fd);
        close(l->fd);
        l->fd = -1;
    }
    uint64_t *timers[] = { &l->hb_timer, &l->rep_timer, &l->req_timer, &l->lost_timer,
                          &l->gap_timer };
    for (size_t i = 0; i < sizeof(timers) / sizeof(timers[0]); i++) {
        if (*timers[i])
            loop_timer_cancel(l->lp, *timers[i]);
        *timers[i] = 0;
    }
}

static void destroy(struct hl_link *l)
{
    quiesce(l);
    hl_auth_free(&l->auth);
    free(l);
}

void hl_close(struct hl_link *l)
{
    if (!l || l->dead)
        return;
    l->dead = true;
    quiesce(l);
    if (l->depth == 0)
        destroy(l);
}

void hl_get_counters(const struct hl_link *l, struct hl_counters *c)
{
    *c = l->cnt;
    c->last_rx_ms = l->last_rx_ms;
    c->peer_alive = l->peer_alive;
    c->hello_period_ms = l->hb_period;
}

uint64_t hl_session(const struct hl_link *l)
{
    return l->session;
}

int hl_local_port(const struct hl_link *l)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);
    if (l->fd < 0 || getsockname(l->fd, (struct sockaddr *)&ss, &len) != 0)
        return -1;
    if (ss.ss_family == AF_INET)
        return ntohs(((struct sockaddr_in *)&ss)->sin_port);
    return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
}
