/* The HA link on loopback: two links in one loop exchange HELLOs (hears_peer set
 * once both talk), a state change goes out at once, TAKEOVER/RELEASE arrive once
 * despite their repeats, forged / replayed / misaddressed datagrams from a third
 * socket are rejected and counted, and contacts are copied: a 10,000-contact full
 * pass, then incremental passes of the changes only (removals included) within a
 * HELLO period of each change; a full pass again when the peer forgot removals the
 * puller would need ("too old"), restarted, or the pull was switched off and on, at
 * most one per HL_PASS_MIN_GAP_MS; rows too long to travel skipped. A scripted peer
 * (a test socket speaking the protocol) pins down the answering side's "too old"
 * rule and what the puller does after a full pass that got no answer.
 *
 * Ports: two ephemeral ports are reserved by binding port 0 and released just before
 * the links bind them, so parallel runs do not collide. Every wait is bounded by a
 * loop timer that stops the loop. */
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#if defined(__has_include)
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#endif
#endif
#ifndef RUNNING_ON_VALGRIND
#define RUNNING_ON_VALGRIND 0
#endif

#include "hl_link.h"
#include "hl_wire.h"
#include "loop.h"

#define KEY "test-key-0123456789abcdef0123456789"
#define N_CONTACTS 10000u
#define MAX_EXTRA 16
#define MAX_REQS 4096
#define MAX_GOT 64

/* A change of the answering side after its rows 1..n_rows: row n_rows + 1 + i. */
struct extra {
    uint32_t of;        /* the base row (contact) it supersedes, 1..n_rows */
    uint32_t expiry_s;  /* 0: the removal of that contact */
    const char *path;   /* NULL: the contact's own */
    bool forgotten;     /* a removal no longer listed (at or below the horizon) */
};

struct side {
    struct fx *f;
    struct hl_link *l;
    int states, lost;
    struct ha_peer_state last;
    int msgs;
    struct ha_peer_msg last_msg;
    int logs;
    char last_log[320];
    /* pulling side: what on_contact / on_contacts_done saw */
    uint32_t contacts;      /* rows delivered (all passes) */
    bool contacts_ok;       /* every row as the answering side holds it, in order */
    uint32_t last_seen_row; /* in the pass in progress */
    uint32_t pass_rows, last_pass_rows;
    int passes, full_passes;
    int full_starts;        /* on_full_pass_start calls */
    bool last_full;
    uint64_t pass_done_ms;
    uint32_t got_row[MAX_GOT], got_expiry[MAX_GOT]; /* rows delivered since reset */
    size_t n_got;
    /* answering side: rows 1..n_rows (base contacts), then the extras */
    uint32_t n_rows;
    struct extra extra[MAX_EXTRA];
    size_t n_extra;
    uint32_t horizon;
    uint32_t long_path[4];  /* base rows whose path is too long to travel */
    size_t n_long;
    uint32_t reqs[MAX_REQS]; /* after_row of each contacts_after call, and when */
    uint64_t req_ms[MAX_REQS];
    size_t n_reqs;
};

struct fx {
    struct loop *lp;
    uint64_t now;           /* the loop's virtual clock, ms */
    uint64_t session_floor; /* for the links opened next */
    char dir[64], key[128];
    struct side a, b;
    bool timed_out;
    bool (*done)(struct fx *f);
    void (*row_hook)(struct fx *f, const struct hl_contact *c); /* from a's on_contact */
    char (*aor)[40], (*uri)[64];
    int port_a, port_b; /* of open_pair */
    int want_passes;    /* for passes_reached */
    int restarts_allowed; /* passes that may start over without on_contacts_done */
    uint64_t sent_seen; /* sent_total at the start of the last round */
    bool settle;        /* the test sent a datagram to a link: let the next round wait */
};

static char too_long_path[HL_STR_MAX + 2]; /* hl_str_max[HL_F_PATH] + 1 bytes */

/* ---- callbacks ---- */

static void check_done(struct fx *f)
{
    if (f->done && f->done(f))
        loop_stop(f->lp);
}

static void on_state(void *ctx, const struct ha_peer_state *ps)
{
    struct side *s = ctx;
    s->states++;
    s->last = *ps;
    check_done(s->f);
}

static void on_lost(void *ctx)
{
    struct side *s = ctx;
    s->lost++;
    check_done(s->f);
}

static void on_msg(void *ctx, const struct ha_peer_msg *m)
{
    struct side *s = ctx;
    s->msgs++;
    s->last_msg = *m;
    check_done(s->f);
}

static void on_log(void *ctx, int prio, const char *text)
{
    struct side *s = ctx;
    (void)prio;
    s->logs++;
    snprintf(s->last_log, sizeof(s->last_log), "%s", text);
}

static bool superseded(const struct side *s, uint32_t row)
{
    for (size_t i = 0; i < s->n_extra; i++)
        if (s->extra[i].of == row)
            return true;
    return false;
}

/* Row `row` of the answering side s as it lists it now; false when it does not. Base
 * row b is contact b (expiry b s), with attributes derived from b; an extra is its
 * contact changed, or its removal (expiry 0, AOR and URI only). */
static bool row_content(const struct side *s, uint32_t row, struct hl_contact *out)
{
    static const char *const paths[] = { "", "<sip:edge1.example.com;lr>",
                                         "<sip:edge2.example.com;lr>,<sip:core.example.com;lr>" };
    const struct extra *e = NULL;
    uint32_t b = row;
    if (row == 0)
        return false;
    if (row > s->n_rows) {
        if (row - s->n_rows > s->n_extra)
            return false;
        e = &s->extra[row - s->n_rows - 1];
        if (e->forgotten)
            return false;
        b = e->of;
    } else if (superseded(s, row)) {
        return false;
    }
    *out = (struct hl_contact){ .row = row, .expiry_s = b, .q = (int32_t)(b % 1002) - 1,
                                .flags = b * 2654435761u, .cflags = ~b, .methods = b << 4 | 1 };
    out->str[HL_F_AOR] = s->f->aor[b - 1];
    out->str[HL_F_URI] = s->f->uri[b - 1];
    if (e && e->expiry_s == 0) { /* a removal */
        out->expiry_s = 0;
        out->q = HL_Q_UNSET;
        out->flags = out->cflags = out->methods = 0;
        return true;
    }
    out->str[HL_F_PATH] = paths[b % 3];
    out->str[HL_F_RECEIVED] = b % 2 ? "sip:192.0.2.7:40000" : NULL;
    out->str[HL_F_SOCKET] = b % 5 ? "udp:10.0.0.1:5060" : "";
    for (size_t i = 0; i < s->n_long; i++)
        if (s->long_path[i] == row)
            out->str[HL_F_PATH] = too_long_path;
    if (e) {
        out->expiry_s = e->expiry_s;
        if (e->path)
            out->str[HL_F_PATH] = e->path;
    }
    return true;
}

static size_t contacts_after(void *ctx, uint32_t after_row, struct hl_contact *out, size_t max)
{
    struct side *s = ctx;
    if (s->n_reqs < MAX_REQS) {
        s->reqs[s->n_reqs] = after_row;
        s->req_ms[s->n_reqs] = loop_now(s->f->lp);
    }
    s->n_reqs++;
    size_t n = 0;
    for (uint32_t r = after_row + 1; r <= s->n_rows + s->n_extra && n < max; r++)
        if (row_content(s, r, &out[n]))
            n++;
    return n;
}

static uint32_t contacts_horizon(void *ctx)
{
    return ((struct side *)ctx)->horizon;
}

static const char *str_or_empty(const char *v)
{
    return v ? v : "";
}

static bool contact_equal(const struct hl_contact *x, const struct hl_contact *y)
{
    if (x->row != y->row || x->expiry_s != y->expiry_s || x->q != y->q || x->flags != y->flags ||
        x->cflags != y->cflags || x->methods != y->methods)
        return false;
    for (int g = 0; g < HL_F_COUNT; g++)
        if (strcmp(str_or_empty(x->str[g]), str_or_empty(y->str[g])) != 0)
            return false;
    return true;
}

static void on_contact(void *ctx, const struct hl_contact *c)
{
    struct side *s = ctx;
    const struct side *peer = s == &s->f->a ? &s->f->b : &s->f->a;
    struct hl_contact want;
    if (c->row <= s->last_seen_row && s->f->restarts_allowed > 0) {
        s->f->restarts_allowed--; /* a pass started over from row 0 (too old) */
        s->last_seen_row = 0;
        s->pass_rows = 0;
    }
    /* rows come in order, each once, as the answering side holds them */
    if (c->row <= s->last_seen_row || !row_content(peer, c->row, &want) ||
        !contact_equal(c, &want))
        s->contacts_ok = false;
    for (int g = 0; g < HL_F_COUNT; g++) /* NUL-terminated, never NULL */
        if (!c->str[g] || strlen(c->str[g]) > hl_str_max[g])
            s->contacts_ok = false;
    s->last_seen_row = c->row;
    s->contacts++;
    s->pass_rows++;
    if (s->n_got < MAX_GOT) {
        s->got_row[s->n_got] = c->row;
        s->got_expiry[s->n_got] = c->expiry_s;
    }
    s->n_got++;
    if (s->f->row_hook)
        s->f->row_hook(s->f, c);
}

static void on_full_pass_start(void *ctx)
{
    ((struct side *)ctx)->full_starts++;
}

static void on_contacts_done(void *ctx, bool full)
{
    struct side *s = ctx;
    s->passes++;
    s->full_passes += full;
    s->last_full = full;
    s->last_pass_rows = s->pass_rows;
    s->pass_rows = 0;
    s->last_seen_row = 0;
    s->pass_done_ms = loop_now(s->f->lp);
    check_done(s->f);
}

static const struct hl_callbacks cbs = {
    .on_state = on_state, .on_lost = on_lost, .on_msg = on_msg, .contacts_after = contacts_after,
    .contacts_horizon = contacts_horizon, .on_contact = on_contact,
    .on_contacts_done = on_contacts_done, .on_log = on_log,
    .on_full_pass_start = on_full_pass_start,
};

/* ---- fixture ---- */

static uint64_t fx_now(void *arg)
{
    return ((struct fx *)arg)->now;
}

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));
    if (!f)
        return -1;
    f->a.f = f->b.f = f;
    f->lp = loop_new();
    /* Virtual time: a loaded machine that does not schedule the test for a few
     * periods must not look like a lost peer (the periods here are 10-20 ms). */
    f->now = 1000000;
    if (f->lp)
        loop_set_clock(f->lp, fx_now, f);
    snprintf(f->dir, sizeof(f->dir), "/tmp/test_hl_link.XXXXXX");
    if (!f->lp || !mkdtemp(f->dir))
        return -1;
    snprintf(f->key, sizeof(f->key), "%s/key", f->dir);
    memset(too_long_path, 'p', sizeof(too_long_path) - 1);
    assert_int_equal(strlen(too_long_path), hl_str_max[HL_F_PATH] + 1);
    int fd = open(f->key, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd < 0 || write(fd, KEY "\n", sizeof(KEY)) != (ssize_t)sizeof(KEY))
        return -1;
    close(fd);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    hl_close(f->a.l);
    hl_close(f->b.l);
    loop_free(f->lp);
    unlink(f->key);
    rmdir(f->dir);
    free(f->aor);
    free(f->uri);
    free(f);
    return 0;
}

static int bound_socket(int *port)
{
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t len = sizeof(sa);
    int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    assert_true(s >= 0);
    assert_int_equal(bind(s, (struct sockaddr *)&sa, sizeof(sa)), 0);
    assert_int_equal(getsockname(s, (struct sockaddr *)&sa, &len), 0);
    *port = ntohs(sa.sin_port);
    return s;
}

static void open_link_cb(struct fx *f, struct side *s, uint32_t self, uint32_t peer, int lport,
                         int pport, uint32_t interval_ms, const struct hl_callbacks *cb)
{
    char local[32], remote[32], err[256];
    snprintf(local, sizeof(local), "127.0.0.1:%d", lport);
    snprintf(remote, sizeof(remote), "127.0.0.1:%d", pport);
    struct hl_config cfg = { .local = local, .peer = remote, .key_file = f->key,
                             .self_index = self, .peer_index = peer,
                             .interval_ms = interval_ms, .session_floor = f->session_floor };
    if (hl_open(&s->l, f->lp, &cfg, cb, s, err, sizeof(err)) != 0)
        fail_msg("hl_open: %s", err);
    assert_int_equal(hl_local_port(s->l), lport);
}

static void open_link(struct fx *f, struct side *s, uint32_t self, uint32_t peer, int lport,
                      int pport, uint32_t interval_ms)
{
    open_link_cb(f, s, self, peer, lport, pport, interval_ms, &cbs);
}

/* Links a (index 1) and b (index 2) talking to each other. */
static void open_pair_cb(struct fx *f, uint32_t interval_ms, const struct hl_callbacks *cba)
{
    int pa, pb;
    int sa = bound_socket(&pa), sb = bound_socket(&pb);
    close(sa);
    close(sb);
    open_link_cb(f, &f->a, 1, 2, pa, pb, interval_ms, cba);
    open_link(f, &f->b, 2, 1, pb, pa, interval_ms);
    f->port_a = pa;
    f->port_b = pb;
}

static void open_pair(struct fx *f, uint32_t interval_ms)
{
    open_pair_cb(f, interval_ms, &cbs);
}

static struct ha_peer_state state_of(enum ha_role role, uint32_t epoch)
{
    return (struct ha_peer_state){ .role = role, .status = HA_STATUS_RUNNING, .epoch = epoch,
                                   .priority = 10, .listener = HA_LISTENER_BOUND,
                                   .arbiter = HA_LINK_NOT_CONFIGURED, .backoff_factor = 1,
                                   .sip_msgs = 5 };
}

/* Datagrams the links have sent so far. */
static uint64_t sent_total(const struct fx *f)
{
    uint64_t n = 0;
    struct hl_counters c;
    if (f->a.l) {
        hl_get_counters(f->a.l, &c);
        n += c.dgrams_out;
    }
    if (f->b.l) {
        hl_get_counters(f->b.l, &c);
        n += c.dgrams_out;
    }
    return n;
}

/* Real time a round may wait for a datagram just sent (see run_until). */
#define SETTLE_MS 5

/* Runs the loop on its virtual clock until f->done says so (checked in callbacks and
 * after every step) or max_ms of virtual time pass; true when done. At each instant the
 * loop runs a few rounds, then the clock moves on by 1 ms. Datagrams on loopback
 * normally arrive at once; a round after one that sent something may still wait up to
 * SETTLE_MS of real time for a readable socket, so that a delivery the kernel put off
 * on a busy host does not let virtual time run ahead of it. */
static bool run_until(struct fx *f, bool (*done)(struct fx *), uint64_t max_ms)
{
    f->done = done;
    f->timed_out = false;
    uint64_t deadline = f->now + max_ms;
    bool ok = false;
    for (;;) {
        for (int i = 0; i < 4; i++) {
            uint64_t sent = sent_total(f);
            loop_run_once(f->lp, sent != f->sent_seen || f->settle ? SETTLE_MS : 0);
            f->sent_seen = sent;
            f->settle = false;
        }
        if (done && done(f)) {
            ok = true;
            break;
        }
        if (f->now >= deadline)
            break;
        f->now++; /* 1 ms steps: a request/answer chain goes on at its own pace */
    }
    f->timed_out = !ok && done != NULL;
    f->done = NULL;
    return ok || done == NULL;
}

static void run_for(struct fx *f, uint64_t ms)
{
    run_until(f, NULL, ms);
}

/* ---- heartbeat ---- */

static bool both_hear(struct fx *f)
{
    return f->a.states > 0 && f->b.states > 0 && f->a.last.hears_peer && f->b.last.hears_peer;
}

static void hello_and_hears_peer(void **state)
{
    struct fx *f = *state;
    open_pair(f, 20);
    struct ha_peer_state sa = state_of(HA_ROLE_PRIMARY, 3), sb = state_of(HA_ROLE_BACKUP, 3);
    sb.options = HA_OPT_SIP_PASS_CHECK;
    hl_set_state(f->a.l, &sa);
    hl_set_state(f->b.l, &sb);
    assert_int_equal(f->a.states + f->b.states, 0); /* never from inside hl_set_state */
    assert_true(run_until(f, both_hear, 3000));
    assert_int_equal(f->a.last.role, HA_ROLE_BACKUP);
    assert_int_equal(f->a.last.index, 2);
    assert_int_equal(f->a.last.options, HA_OPT_SIP_PASS_CHECK);
    assert_int_equal(f->a.last.sip_msgs, 5);
    assert_int_equal(f->b.last.role, HA_ROLE_PRIMARY);
    assert_int_equal(f->b.last.index, 1);
    struct hl_counters c;
    hl_get_counters(f->a.l, &c);
    assert_true(c.hellos_in > 0 && c.hellos_out > 0);
    for (int e = 1; e < HL_E_COUNT; e++)
        assert_int_equal(c.rejected[e], 0);
    assert_int_equal(c.send_errors, 0);

}

static bool a_sees_epoch_9(struct fx *f)
{
    return f->a.last.epoch == 9;
}

/* With a 2 s period, a change still reaches the peer at once. */
static void state_change_sent_at_once(void **state)
{
    struct fx *f = *state;
    open_pair(f, 2000);
    struct ha_peer_state sa = state_of(HA_ROLE_BACKUP, 3), sb = state_of(HA_ROLE_PRIMARY, 3);
    hl_set_state(f->a.l, &sa);
    hl_set_state(f->b.l, &sb);
    run_for(f, 50);
    int told = f->a.states;
    assert_true(told >= 1);
    sb.sip_msgs = 99; /* not a change that needs an immediate HELLO */
    hl_set_state(f->b.l, &sb);
    run_for(f, 50);
    assert_int_equal(f->a.states, told);
    uint64_t t0 = loop_now(f->lp);
    sb.epoch = 9;
    hl_set_state(f->b.l, &sb);
    assert_true(run_until(f, a_sees_epoch_9, 1500));
    assert_true(loop_now(f->lp) - t0 < 1000);
    assert_int_equal(f->a.last.sip_msgs, 99);
}

/* An idle pair: heartbeats keep flowing, but only news reaches on_state. */
static void unchanged_hellos_not_handed_over(void **state)
{
    struct fx *f = *state;
    open_pair(f, 10);
    struct ha_peer_state sa = state_of(HA_ROLE_PRIMARY, 3), sb = state_of(HA_ROLE_PRIMARY, 3);
    hl_set_state(f->a.l, &sa);
    hl_set_state(f->b.l, &sb);
    run_for(f, 100);
    int told = f->b.states;
    struct hl_counters c;
    hl_get_counters(f->b.l, &c);
    uint64_t hellos = c.hellos_in;
    run_for(f, 300);
    hl_get_counters(f->b.l, &c);
    assert_true(c.hellos_in >= hellos + 10); /* ~30 at 10 ms */
    assert_int_equal(f->b.states, told);
    assert_int_equal(f->a.lost + f->b.lost, 0);
}

static bool b_lost_a(struct fx *f)
{
    return f->b.lost > 0;
}

static bool a_lost_b(struct fx *f)
{
    return f->a.lost > 0;
}

static bool b_hears_a(struct fx *f)
{
    return f->b.states > 0 && f->b.last.role == HA_ROLE_PRIMARY;
}

/* A backup that hears its primary speaks every backup_interval_ms; the primary
 * times it out after miss_count of those periods, the backup times the primary out
 * after miss_count of the primary's (short) period. */
static void backup_speaks_slowly_and_loss_follows_periods(void **state)
{
    struct fx *f = *state;
    open_pair(f, 20); /* backup interval: default 500 ms */
    struct ha_peer_state sa = state_of(HA_ROLE_PRIMARY, 3), sb = state_of(HA_ROLE_BACKUP, 3);
    hl_set_state(f->a.l, &sa);
    hl_set_state(f->b.l, &sb);
    assert_true(run_until(f, b_hears_a, 1000));
    run_for(f, 100);
    struct hl_counters ca0, cb0, ca1, cb1;
    hl_get_counters(f->a.l, &ca0);
    hl_get_counters(f->b.l, &cb0);
    assert_int_equal(cb0.hello_period_ms, HL_DEFAULT_BACKUP_INTERVAL_MS);
    assert_int_equal(ca0.hello_period_ms, 20);
    run_for(f, 1000);
    hl_get_counters(f->a.l, &ca1);
    hl_get_counters(f->b.l, &cb1);
    assert_true(cb1.hellos_out - cb0.hellos_out <= 3);  /* ~2 in 1 s */
    assert_true(ca1.hellos_out - ca0.hellos_out >= 25); /* ~50 in 1 s */
    assert_int_equal(f->a.lost + f->b.lost, 0);         /* the primary waits 1.5 s */

    /* The primary goes silent: the backup loses it within 3 x 20 ms (+ slack). */
    hl_close(f->a.l);
    f->a.l = NULL;
    uint64_t t0 = loop_now(f->lp);
    assert_true(run_until(f, b_lost_a, 2000));
    uint64_t took = loop_now(f->lp) - t0;
    assert_true(took <= (RUNNING_ON_VALGRIND ? 1000 : 200)); /* 60 ms, and a loaded host */
    hl_get_counters(f->b.l, &cb1);
    assert_false(cb1.peer_alive);
    assert_int_equal(cb1.hello_period_ms, 20); /* missing its primary: fast again */
}

/* A loop kept busy past the peer's deadline (here: the clock jumps 100 ms in one
 * step, so the primary's HELLO timer and the backup's loss timer fall due in the same
 * round, the HELLO sent first) reads the queued HELLO before it calls the peer lost. */
static void busy_loop_reads_queued_hello_before_loss(void **state)
{
    struct fx *f = *state;
    open_pair(f, 20);
    struct ha_peer_state sa = state_of(HA_ROLE_PRIMARY, 3), sb = state_of(HA_ROLE_BACKUP, 3);
    hl_set_state(f->a.l, &sa);
    hl_set_state(f->b.l, &sb);
    assert_true(run_until(f, b_hears_a, 1000));
    run_for(f, 100);
    for (int i = 0; i < 5; i++) {
        f->now += 100;
        loop_run_once(f->lp, 0);
        assert_int_equal(f->b.lost, 0);
        run_for(f, 50);
    }
    struct hl_counters cb;
    hl_get_counters(f->b.l, &cb);
    assert_true(cb.peer_alive);
}

/* The primary loses a silent backup only after miss_count of the backup's periods. */
static void primary_times_out_backup_by_its_period(void **state)
{
    struct fx *f = *state;
    open_pair(f, 20);
    struct ha_peer_state sa = state_of(HA_ROLE_PRIMARY, 3), sb = state_of(HA_ROLE_BACKUP, 3);
    hl_set_state(f->a.l, &sa);
    hl_set_state(f->b.l, &sb);
    assert_true(run_until(f, b_hears_a, 1000));
    run_for(f, 600); /* the backup's slow HELLO has told a its period */
    hl_close(f->b.l);
    f->b.l = NULL;
    uint64_t t0 = loop_now(f->lp);
    assert_true(run_until(f, a_lost_b, 3000));
    uint64_t took = loop_now(f->lp) - t0;
    assert_true(took >= 500 && took <= 3 * HL_DEFAULT_BACKUP_INTERVAL_MS +
                                       (RUNNING_ON_VALGRIND ? 1000 : 300));
}

/* ---- messages ---- */

static void takeover_delivered_once(void **state)
{
    struct fx *f = *state;
    open_pair(f, 20);
    struct ha_peer_msg m = { .cmd = HA_CMD_PEER_TAKEOVER, .epoch = 12,
                             .reason = HA_REASON_ADMIN, .factor = 2, .traffic_seen = true };
    assert_int_equal(hl_send_msg(f->a.l, &m), 0);
    assert_int_equal(f->b.msgs, 0);
    run_for(f, 150); /* the first send and both repeats */
    assert_int_equal(f->b.msgs, 1);
    assert_int_equal(f->b.last_msg.cmd, HA_CMD_PEER_TAKEOVER);
    assert_int_equal(f->b.last_msg.epoch, 12);
    assert_int_equal(f->b.last_msg.reason, HA_REASON_ADMIN);
    assert_int_equal(f->b.last_msg.factor, 2);
    assert_true(f->b.last_msg.traffic_seen);
    struct hl_counters ca, cb;
    hl_get_counters(f->a.l, &ca);
    hl_get_counters(f->b.l, &cb);
    assert_int_equal(ca.msgs_out, 3);
    assert_int_equal(cb.msgs_in, 1);
    assert_int_equal(cb.msgs_dup, 2);

    struct ha_peer_msg r = { .cmd = HA_CMD_PEER_RELEASE };
    assert_int_equal(hl_send_msg(f->a.l, &r), 0);
    run_for(f, 150);
    assert_int_equal(f->b.msgs, 2);
    assert_int_equal(f->b.last_msg.cmd, HA_CMD_PEER_RELEASE);

    struct ha_peer_msg bad = { .cmd = HA_CMD_SWITCHOVER };
    assert_int_equal(hl_send_msg(f->a.l, &bad), -1);
    m.factor = 3; /* out of range: refused, not sent */
    assert_int_equal(hl_send_msg(f->a.l, &m), -1);
}

/* ---- rejects from a third socket ---- */

static void send_raw(int s, int port, const uint8_t *buf, size_t len)
{
    struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                              .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    assert_int_equal(sendto(s, buf, len, 0, (struct sockaddr *)&to, sizeof(to)), (ssize_t)len);
}

static size_t hello_from(const char *key, uint32_t sender, uint64_t seq, uint8_t *buf)
{
    struct hl_auth auth;
    assert_int_equal(hl_auth_init(&auth, (const uint8_t *)key, strlen(key)), 0);
    struct hl_msg m = { .h = { HL_HELLO, sender, 1, 77, seq } };
    m.u.hello.ps = state_of(HA_ROLE_BACKUP, 1);
    m.u.hello.tx_interval_ms = 20;
    size_t n = hl_encode(&auth, &m, buf, HL_MAX_DGRAM);
    hl_auth_free(&auth);
    assert_true(n > 0);
    return n;
}

static bool rejects_seen(struct fx *f)
{
    struct hl_counters c;
    hl_get_counters(f->a.l, &c);
    return c.rejected[HL_E_AUTH] == 3 && c.rejected[HL_E_REPLAY] == 1 &&
           c.rejected[HL_E_INDEX] == 1 && c.rejected[HL_E_TRUNCATED] == 1 && c.dgrams_in == 1;
}

static void third_socket_rejected(void **state)
{
    struct fx *f = *state;
    int sport, lport;
    int s = bound_socket(&sport), r = bound_socket(&lport);
    close(r);
    open_link(f, &f->a, 1, 2, lport, sport, 20); /* a's peer is the test's socket */
    uint8_t buf[HL_MAX_DGRAM];
    size_t n = hello_from("a-wrong-key-0123456789", 2, 1, buf);
    for (int i = 0; i < 3; i++)
        send_raw(s, lport, buf, n);
    n = hello_from(KEY, 2, 5, buf);
    send_raw(s, lport, buf, n); /* good */
    send_raw(s, lport, buf, n); /* the same again: a replay */
    n = hello_from(KEY, 3, 6, buf);
    send_raw(s, lport, buf, n); /* from instance 3 */
    send_raw(s, lport, buf, 10);
    bool ok = run_until(f, rejects_seen, 3000);
    struct hl_counters c;
    hl_get_counters(f->a.l, &c);
    if (!ok)
        fail_msg("auth %llu replay %llu index %llu truncated %llu in %llu",
                 (unsigned long long)c.rejected[HL_E_AUTH], (unsigned long long)c.rejected[HL_E_REPLAY],
                 (unsigned long long)c.rejected[HL_E_INDEX],
                 (unsigned long long)c.rejected[HL_E_TRUNCATED], (unsigned long long)c.dgrams_in);
    assert_int_equal(f->a.states, 1);
    assert_int_equal(f->a.last.role, HA_ROLE_BACKUP);
    /* one line per reason, not one per datagram */
    assert_int_equal(f->a.logs, 4);
    run_for(f, 30);
    assert_int_equal(f->a.logs, 4);
    close(s);
}

/* ---- contacts ---- */

static void make_contacts(struct fx *f, uint32_t n)
{
    f->aor = calloc(n + 1, sizeof(*f->aor));
    f->uri = calloc(n + 1, sizeof(*f->uri));
    assert_non_null(f->aor);
    assert_non_null(f->uri);
    for (uint32_t i = 0; i <= n; i++) {
        snprintf(f->aor[i], sizeof(f->aor[i]), "sip:user%05u@example.com", i + 1);
        snprintf(f->uri[i], sizeof(f->uri[i]), "sip:user%05u@10.1.%u.%u:5060;transport=udp",
                 i + 1, (i >> 8) & 255, i & 255);
    }
}

static bool pass_done(struct fx *f)
{
    return f->a.passes >= 1;
}

static bool second_pass_done(struct fx *f)
{
    return f->a.passes >= 2;
}

static void contact_full_pass(void **state)
{
    struct fx *f = *state;
    make_contacts(f, N_CONTACTS);
    f->b.n_rows = N_CONTACTS;
    f->a.contacts_ok = true;
    open_pair(f, 20);
    struct ha_peer_state sa = state_of(HA_ROLE_BACKUP, 3), sb = state_of(HA_ROLE_PRIMARY, 3);
    hl_contacts_changed(f->b.l, N_CONTACTS);
    hl_pull_contacts(f->a.l, true);
    uint64_t t0 = loop_now(f->lp);
    hl_set_state(f->a.l, &sa);
    hl_set_state(f->b.l, &sb);
    assert_true(run_until(f, pass_done, 20000));
    uint64_t took = f->a.pass_done_ms - t0;
    print_message("full pass of %u contacts: %llu ms\n", N_CONTACTS, (unsigned long long)took);
    if (!RUNNING_ON_VALGRIND)
        assert_true(took < 2000);
    assert_int_equal(f->a.contacts, N_CONTACTS);
    assert_true(f->a.contacts_ok);
    struct hl_counters ca, cb;
    hl_get_counters(f->a.l, &ca);
    hl_get_counters(f->b.l, &cb);
    assert_int_equal(ca.contacts_in, N_CONTACTS);
    assert_int_equal(cb.contacts_out, N_CONTACTS);
    assert_int_equal(ca.peer_contact_count, N_CONTACTS);
    assert_int_equal(ca.passes_done, 1);

    /* no change: no new pass */
    run_for(f, 1200);
    assert_int_equal(f->a.passes, 1);

    assert_true(f->a.last_full);
    assert_int_equal(f->a.full_passes, 1);

    /* one more contact and a new generation: an incremental pass delivers just that,
     * asking from the last row of the full pass */
    size_t r0 = f->b.n_reqs;
    f->b.n_rows = N_CONTACTS + 1;
    hl_contacts_changed(f->b.l, N_CONTACTS + 1);
    f->a.contacts = 0;
    assert_true(run_until(f, second_pass_done, 20000));
    assert_int_equal(f->a.contacts, 1);
    assert_false(f->a.last_full);
    assert_true(f->a.contacts_ok);
    assert_int_equal(f->b.n_reqs, r0 + 1);
    assert_int_equal(f->b.reqs[r0], N_CONTACTS);
}

static bool passes_reached(struct fx *f)
{
    return f->a.passes >= f->want_passes;
}

/* a (index 1, backup) pulls the n contacts of b (index 2, primary); returns after
 * the first (full) pass. */
static void synced_pair(struct fx *f, uint32_t n, uint32_t interval_ms)
{
    if (!f->aor)
        make_contacts(f, n);
    f->b.n_rows = n;
    f->a.contacts_ok = true;
    open_pair(f, interval_ms);
    struct ha_peer_state sa = state_of(HA_ROLE_BACKUP, 3), sb = state_of(HA_ROLE_PRIMARY, 3);
    hl_contacts_changed(f->b.l, n);
    hl_pull_contacts(f->a.l, true);
    hl_set_state(f->a.l, &sa);
    hl_set_state(f->b.l, &sb);
    assert_true(run_until(f, pass_done, 5000));
    assert_int_equal(f->a.passes, 1);
    assert_true(f->a.last_full);
    assert_true(f->a.contacts_ok);
}

/* The next change of s (row n_rows + n_extra + 1); returns its row. */
static uint32_t add_extra(struct side *s, uint32_t of, uint32_t expiry_s, const char *path,
                          bool forgotten)
{
    assert_true(s->n_extra < MAX_EXTRA);
    s->extra[s->n_extra++] = (struct extra){ .of = of, .expiry_s = expiry_s, .path = path,
                                             .forgotten = forgotten };
    return s->n_rows + (uint32_t)s->n_extra;
}

/* After the full pass, a changed contact and a removed one reach the puller in an
 * incremental pass from the last row of the full one, within one HELLO period of the
 * primary (no HL_PASS_MIN_GAP_MS wait); then the next change the same way. */
static void incremental_pass_after_change(void **state)
{
    struct fx *f = *state;
    synced_pair(f, 50, 20);
    assert_int_equal(f->a.last_pass_rows, 50);
    assert_int_equal(f->a.full_passes, 1);
    uint64_t first_done = f->a.pass_done_ms;
    size_t r0 = f->b.n_reqs;
    f->a.n_got = 0;
    uint32_t changed = add_extra(&f->b, 5, 7777, "<sip:new-edge.example.com;lr>", false);
    uint32_t removed = add_extra(&f->b, 7, 0, NULL, false);
    hl_contacts_changed(f->b.l, 49);
    uint64_t t0 = loop_now(f->lp);
    f->want_passes = 2;
    assert_true(run_until(f, passes_reached, 1000));
    assert_true(f->a.pass_done_ms - t0 <= 20);
    assert_true(f->a.pass_done_ms - first_done < HL_PASS_MIN_GAP_MS);
    assert_false(f->a.last_full);
    assert_int_equal(f->a.full_passes, 1);
    assert_true(f->a.contacts_ok);
    assert_int_equal(f->a.n_got, 2);
    assert_int_equal(f->a.got_row[0], changed);
    assert_int_equal(f->a.got_expiry[0], 7777);
    assert_int_equal(f->a.got_row[1], removed);
    assert_int_equal(f->a.got_expiry[1], 0);
    assert_int_equal(f->b.n_reqs, r0 + 1); /* one request, answered with the end */
    assert_int_equal(f->b.reqs[r0], 50);
    struct hl_counters ca;
    hl_get_counters(f->a.l, &ca);
    assert_int_equal(ca.passes_done, 2);
    assert_int_equal(ca.passes_too_old, 0);
    assert_int_equal(ca.peer_contact_count, 49);

    /* the next change: asked from the last row of that pass */
    r0 = f->b.n_reqs;
    f->a.n_got = 0;
    uint32_t again = add_extra(&f->b, 9, 100, NULL, false);
    hl_contacts_changed(f->b.l, 49);
    t0 = loop_now(f->lp);
    f->want_passes = 3;
    assert_true(run_until(f, passes_reached, 1000));
    assert_true(f->a.pass_done_ms - t0 <= 20);
    assert_false(f->a.last_full);
    assert_true(f->a.contacts_ok);
    assert_int_equal(f->a.n_got, 1);
    assert_int_equal(f->a.got_row[0], again);
    assert_int_equal(f->b.reqs[r0], removed);

    /* no change: no pass */
    run_for(f, 300);
    assert_int_equal(f->a.passes, 3);
    assert_int_equal(f->b.n_reqs, r0 + 1);
}

static void change_at_row_20(struct fx *f, const struct hl_contact *c)
{
    if (c->row == 20 && f->b.n_extra == 0) {
        add_extra(&f->b, 3, 4242, NULL, false);
        hl_contacts_changed(f->b.l, 200);
    }
}

/* A change during a pass (to a row already delivered) comes later in the same pass;
 * the CONTACT_DATA carries the new generation, so no second pass follows. */
static void change_during_pass_in_that_pass(void **state)
{
    struct fx *f = *state;
    f->row_hook = change_at_row_20;
    synced_pair(f, 200, 20);
    assert_int_equal(f->b.n_extra, 1);
    assert_int_equal(f->a.last_pass_rows, 201); /* 1..200 (3 before its change), 201 */
    assert_true(f->a.contacts_ok);
    run_for(f, 300);
    assert_int_equal(f->a.passes, 1);
    struct hl_counters ca;
    hl_get_counters(f->a.l, &ca);
    assert_int_equal(ca.passes_done, 1);
    assert_int_equal(ca.peer_contact_gen, 3); /* 1 at open, +1 per change */
}

/* A horizon equal to the puller's last row is fine; one above it gets "too old", and
 * the puller copies everything at once (a full pass, not HL_PASS_MIN_GAP_MS later). */
static void too_old_answer_then_full_pass(void **state)
{
    struct fx *f = *state;
    synced_pair(f, 50, 20);
    size_t r0 = f->b.n_reqs;
    f->b.horizon = 50;
    add_extra(&f->b, 5, 600, NULL, false); /* row 51 */
    hl_contacts_changed(f->b.l, 50);
    f->want_passes = 2;
    assert_true(run_until(f, passes_reached, 1000));
    assert_false(f->a.last_full);
    assert_int_equal(f->b.reqs[r0], 50);
    assert_int_equal(f->a.last_pass_rows, 1);

    /* The primary forgets removal 52; the puller has seen up to 51 only. */
    r0 = f->b.n_reqs;
    struct hl_counters cb0, ca, cb;
    hl_get_counters(f->b.l, &cb0);
    add_extra(&f->b, 7, 0, NULL, true);                   /* row 52, forgotten */
    uint32_t r53 = add_extra(&f->b, 9, 900, NULL, false); /* row 53 */
    f->b.horizon = 52;
    hl_contacts_changed(f->b.l, 49);
    uint64_t t0 = loop_now(f->lp);
    int starts0 = f->a.full_starts;
    f->want_passes = 3;
    assert_true(run_until(f, passes_reached, 1000));
    assert_true(f->a.last_full);
    assert_int_equal(f->a.full_passes, 2);
    assert_int_equal(f->a.full_starts, starts0 + 1); /* the full pass after "too old" told */
    assert_true(f->a.pass_done_ms - t0 <= 30);
    assert_true(f->a.contacts_ok);
    assert_int_equal(f->a.last_pass_rows, 49); /* 1..50 but 5, 7, 9; 51 and 53 */
    assert_int_equal(f->a.last_seen_row, 0);
    hl_get_counters(f->a.l, &ca);
    hl_get_counters(f->b.l, &cb);
    assert_int_equal(ca.passes_too_old, 1);
    assert_int_equal(ca.passes_done, 3);
    /* the too-old request did not list; every request after it asked from row 0 on */
    assert_int_equal(cb.contact_reqs_in - cb0.contact_reqs_in, f->b.n_reqs - r0 + 1);
    assert_int_equal(f->b.reqs[r0], 0);
    assert_true(f->b.reqs[f->b.n_reqs - 1] < r53); /* the last asked from below 53 */

    /* synced again: the next change is incremental from 53 */
    r0 = f->b.n_reqs;
    add_extra(&f->b, 11, 1100, NULL, false);
    hl_contacts_changed(f->b.l, 49);
    f->want_passes = 4;
    assert_true(run_until(f, passes_reached, 1000));
    assert_false(f->a.last_full);
    assert_int_equal(f->b.reqs[r0], r53);
    hl_get_counters(f->a.l, &ca);
    assert_int_equal(ca.passes_too_old, 1);
}

static void forget_at_row_20(struct fx *f, const struct hl_contact *c)
{
    if (c->row == 20 && f->b.n_extra == 0) {
        f->b.horizon = add_extra(&f->b, 150, 0, NULL, true); /* row 201, forgotten */
        hl_contacts_changed(f->b.l, 199);
    }
}

/* The horizon rises above a full pass in progress (a removal forgotten while it ran,
 * perhaps of a contact it delivered): "too old", and the pass starts over from row 0,
 * once; it then ends without the removed contact. */
static void horizon_rising_during_full_pass(void **state)
{
    struct fx *f = *state;
    f->row_hook = forget_at_row_20;
    f->restarts_allowed = 1;
    synced_pair(f, 200, 20);
    assert_int_equal(f->restarts_allowed, 0);
    struct hl_counters ca;
    hl_get_counters(f->a.l, &ca);
    assert_int_equal(ca.passes_too_old, 1);
    assert_int_equal(ca.passes_done, 1);
    assert_int_equal(f->a.full_passes, 1);
    assert_int_equal(f->a.last_pass_rows, 199); /* the pass that ended: all but 150 */
    assert_true(f->a.contacts_ok);
    size_t zeros = 0;
    for (size_t i = 0; i < f->b.n_reqs; i++)
        zeros += f->b.reqs[i] == 0;
    assert_int_equal(zeros, 2);
}

/* ---- a scripted peer: a test socket speaking the protocol ---- */

struct fake {
    struct fx *f;
    int s, port;          /* the test's socket, and its port */
    uint64_t sent_seen;   /* sent_total when the fake last waited for its socket */
    int link_port;        /* the link it talks to */
    uint32_t self, peer;  /* its index, the link's */
    struct hl_auth auth;
    struct hl_replay rp;
    uint64_t session, seq;
    struct hl_msg m;      /* the last datagram decoded (large: not on the stack) */
    uint8_t buf[HL_MAX_DGRAM + 1];
};

static struct fake *fake_new(struct fx *f, uint32_t self, uint32_t peer)
{
    struct fake *p = calloc(1, sizeof(*p));
    assert_non_null(p);
    p->f = f;
    p->s = bound_socket(&p->port);
    assert_int_equal(fcntl(p->s, F_SETFL, O_NONBLOCK), 0);
    assert_int_equal(hl_auth_init(&p->auth, (const uint8_t *)KEY, strlen(KEY)), 0);
    p->self = self;
    p->peer = peer;
    p->session = 77;
    return p;
}

static void fake_free(struct fake *p)
{
    close(p->s);
    hl_auth_free(&p->auth);
    free(p);
}

/* Opens the link of side s (index p->peer) talking to the fake. */
static void fake_open_link(struct fx *f, struct fake *p, struct side *s)
{
    int port;
    close(bound_socket(&port));
    open_link(f, s, p->peer, p->self, port, p->port, 20);
    p->link_port = port;
}

static void fake_send(struct fake *p, enum hl_type type)
{
    p->m.h = (struct hl_hdr){ .type = type, .sender = p->self, .receiver = p->peer,
                              .session = p->session, .seq = ++p->seq };
    size_t n = hl_encode(&p->auth, &p->m, p->buf, sizeof(p->buf));
    assert_true(n > 0);
    send_raw(p->s, p->link_port, p->buf, n);
    p->f->settle = true;
}

/* A primary's HELLO with contact generation gen; its period (1 s) keeps it alive. */
static void fake_hello(struct fake *p, uint32_t gen)
{
    memset(&p->m.u, 0, sizeof(p->m.u));
    p->m.u.hello.ps = state_of(HA_ROLE_PRIMARY, 3);
    p->m.u.hello.contact_gen = gen;
    p->m.u.hello.contact_count = 3;
    p->m.u.hello.tx_interval_ms = 1000;
    fake_send(p, HL_HELLO);
}

/* Runs the loop (1 ms steps) until a datagram of `type` from the link reaches the fake
 * (others are passed over); false when none within max_ms. Leaves it in p->m. */
static bool fake_wait(struct fx *f, struct fake *p, enum hl_type type, uint64_t max_ms)
{
    for (uint64_t t = 0; t <= max_ms; t++) {
        uint64_t sent = sent_total(f);
        if (sent != p->sent_seen) { /* the link sent: wait a little for it (run_until) */
            struct pollfd pfd = { .fd = p->s, .events = POLLIN };
            (void)poll(&pfd, 1, SETTLE_MS);
            p->sent_seen = sent;
        }
        for (;;) {
            ssize_t n = recv(p->s, p->buf, sizeof(p->buf), 0);
            if (n < 0)
                break;
            enum hl_err e = hl_decode(&p->auth, &p->rp, p->self, p->peer, p->buf, (size_t)n, &p->m);
            assert_int_equal(e, HL_OK);
            if (p->m.h.type == type)
                return true;
        }
        run_for(f, 1);
    }
    return false;
}

/* The fake asks from after_row and returns the answer's flags: 1 = listed, 2 = too old. */
static int fake_ask(struct fx *f, struct fake *p, uint32_t after_row)
{
    memset(&p->m.u, 0, sizeof(p->m.u));
    p->m.u.creq = (struct hl_creq){ .gen = 1, .after_row = after_row };
    fake_send(p, HL_CONTACT_REQ);
    assert_true(fake_wait(f, p, HL_CONTACT_DATA, 50));
    assert_int_equal(p->m.u.cdata.after_row, after_row);
    if (p->m.u.cdata.too_old) {
        assert_int_equal(p->m.u.cdata.n, 0);
        return 2;
    }
    return 1;
}

/* The answering side's rule, with a scripted puller: below the horizon is "too old"
 * unless the puller asked from row 0 since the horizon last moved (then it is in, or
 * has done, a full pass that began after every forgotten removal). */
static void answer_too_old_rule(void **state)
{
    struct fx *f = *state;
    make_contacts(f, 30);
    f->b.n_rows = 30;
    struct fake *p = fake_new(f, 1, 2);
    fake_open_link(f, p, &f->b);
    f->b.horizon = 20;
    assert_int_equal(fake_ask(f, p, 5), 2);  /* below, no full pass asked yet */
    assert_int_equal(fake_ask(f, p, 20), 1); /* at the horizon */
    assert_int_equal(fake_ask(f, p, 0), 1);  /* a full pass begins */
    uint32_t l1 = p->m.u.cdata.last_row;
    assert_true(l1 < 20 && !p->m.u.cdata.end);
    assert_int_equal(fake_ask(f, p, l1), 1); /* its next request, below the horizon */
    assert_int_equal(fake_ask(f, p, 5), 1);
    f->b.horizon = 22;                        /* a removal forgotten since */
    assert_int_equal(fake_ask(f, p, 5), 2);
    assert_int_equal(fake_ask(f, p, 21), 2);
    assert_int_equal(fake_ask(f, p, 22), 1);
    assert_int_equal(fake_ask(f, p, 0), 1);  /* a new full pass */
    assert_int_equal(fake_ask(f, p, 5), 1);
    struct hl_counters cb;
    hl_get_counters(f->b.l, &cb);
    assert_int_equal(cb.contact_reqs_in, 10);
    fake_free(p);
}

/* The fake answers the request in p->m with rows first..last of the fixture's
 * contacts (last_row = last, the end). */
static void fake_rows(struct fx *f, struct fake *p, uint32_t first, uint32_t last, uint32_t gen)
{
    uint32_t after = p->m.u.creq.after_row;
    memset(&p->m.u, 0, sizeof(p->m.u));
    struct hl_cdata *c = &p->m.u.cdata;
    *c = (struct hl_cdata){ .gen = gen, .after_row = after, .last_row = last, .end = true };
    for (uint32_t r = first; r <= last; r++) { /* as side b would list them */
        struct hl_contact k;
        assert_true(row_content(&f->b, r, &k));
        struct hl_row *w = &c->rows[c->n++];
        *w = (struct hl_row){ .row = r, .expiry_s = k.expiry_s, .q = (int16_t)k.q,
                              .flags = k.flags, .cflags = k.cflags, .methods = k.methods };
        for (int g = 0; g < HL_F_COUNT; g++) {
            w->str[g] = str_or_empty(k.str[g]);
            w->len[g] = (uint16_t)strlen(w->str[g]);
        }
    }
    fake_send(p, HL_CONTACT_DATA);
}

static void fake_too_old(struct fake *p, uint32_t gen)
{
    uint32_t after = p->m.u.creq.after_row;
    memset(&p->m.u, 0, sizeof(p->m.u));
    p->m.u.cdata = (struct hl_cdata){ .gen = gen, .after_row = after, .last_row = after,
                                      .end = true, .too_old = true };
    fake_send(p, HL_CONTACT_DATA);
}

/* The puller, with a scripted primary: after "too old" its position is void. When
 * the full pass that follows is dropped (no answer), the next pass is a full one
 * again, not an incremental one from the old position. */
static void too_old_then_dropped_pass_stays_full(void **state)
{
    struct fx *f = *state;
    make_contacts(f, 10);
    f->b.n_rows = 10; /* the fake answers with side b's rows (b is not opened) */
    f->a.contacts_ok = true;
    struct fake *p = fake_new(f, 2, 1);
    fake_open_link(f, p, &f->a);
    struct ha_peer_state sa = state_of(HA_ROLE_BACKUP, 3);
    hl_set_state(f->a.l, &sa);
    hl_pull_contacts(f->a.l, true);
    fake_hello(p, 5);
    assert_true(fake_wait(f, p, HL_CONTACT_REQ, 100));
    assert_int_equal(p->m.u.creq.after_row, 0);
    fake_rows(f, p, 1, 3, 5);
    f->want_passes = 1;
    assert_true(run_until(f, passes_reached, 100));
    assert_true(f->a.last_full);
    /* a change: incremental from 3, answered "too old"; the full pass follows at once */
    fake_hello(p, 6);
    assert_true(fake_wait(f, p, HL_CONTACT_REQ, 100));
    assert_int_equal(p->m.u.creq.after_row, 3);
    fake_too_old(p, 6);
    assert_true(fake_wait(f, p, HL_CONTACT_REQ, 5));
    assert_int_equal(p->m.u.creq.after_row, 0);
    /* ... and gets no answer: re-sent, then dropped */
    unsigned resends = 0;
    struct hl_counters ca;
    for (int i = 0; i < 300; i++) { /* 3 s at most */
        hl_get_counters(f->a.l, &ca);
        if (ca.passes_dropped)
            break;
        if (fake_wait(f, p, HL_CONTACT_REQ, 10)) {
            assert_int_equal(p->m.u.creq.after_row, 0);
            resends++;
        }
    }
    assert_int_equal(ca.passes_dropped, 1);
    assert_int_equal(resends, HL_REQ_RETRIES);
    assert_int_equal(ca.passes_too_old, 1);
    /* the next pass (the primary said nothing new): a full one, from row 0 */
    assert_true(fake_wait(f, p, HL_CONTACT_REQ, 2 * HL_PASS_MIN_GAP_MS));
    assert_int_equal(p->m.u.creq.after_row, 0);
    fake_rows(f, p, 1, 3, 6);
    f->want_passes = 2;
    assert_true(run_until(f, passes_reached, 100));
    assert_true(f->a.last_full);
    assert_true(f->a.contacts_ok);
    fake_free(p);
}

/* A new primary process (new session, its rows numbered from 1 again, even with the
 * same generation) means a full pass. */
static void peer_restart_forces_full_pass(void **state)
{
    struct fx *f = *state;
    synced_pair(f, 50, 20);
    uint64_t old_session = hl_session(f->b.l);
    hl_close(f->b.l);
    f->session_floor = old_session;
    open_link(f, &f->b, 2, 1, f->port_b, f->port_a, 20);
    f->session_floor = 0;
    assert_true(hl_session(f->b.l) > old_session);
    f->b.n_rows = 30;
    f->b.n_reqs = 0;
    hl_contacts_changed(f->b.l, 30); /* generation 2, as the old process's */
    struct ha_peer_state sb = state_of(HA_ROLE_PRIMARY, 3);
    hl_set_state(f->b.l, &sb);
    f->want_passes = 2;
    assert_true(run_until(f, passes_reached, 3000));
    assert_true(f->a.last_full);
    assert_int_equal(f->a.full_passes, 2);
    assert_int_equal(f->a.last_pass_rows, 30);
    assert_true(f->a.contacts_ok);
    assert_true(f->b.n_reqs >= 1);
    assert_int_equal(f->b.reqs[0], 0);
}

/* Switching the pull off and on forces a full pass; full passes are at most one per
 * HL_PASS_MIN_GAP_MS, and the deferred one starts by itself when the gap ends (no
 * HELLO comes near then: both periods are 2 s). */
static void pull_toggle_full_pass_after_gap(void **state)
{
    struct fx *f = *state;
    synced_pair(f, 20, 2000);
    assert_true(f->b.n_reqs >= 1);
    assert_int_equal(f->b.reqs[0], 0);
    uint64_t t1 = f->b.req_ms[0]; /* the first full pass began (within a ms) */
    size_t r0 = f->b.n_reqs;
    hl_pull_contacts(f->a.l, false);
    hl_pull_contacts(f->a.l, true);
    run_for(f, 100);
    assert_int_equal(f->b.n_reqs, r0);
    /* a word of the primary inside the gap (a state change: its HELLO goes at once) */
    struct ha_peer_state sb = state_of(HA_ROLE_PRIMARY, 4);
    hl_set_state(f->b.l, &sb);
    run_for(f, t1 + HL_PASS_MIN_GAP_MS - 10 - loop_now(f->lp));
    assert_int_equal(f->b.n_reqs, r0); /* not yet */
    assert_int_equal(f->a.passes, 1);
    struct hl_counters c0, c1;
    hl_get_counters(f->a.l, &c0);
    f->want_passes = 2;
    assert_true(run_until(f, passes_reached, 100));
    hl_get_counters(f->a.l, &c1);
    assert_int_equal(c1.hellos_in, c0.hellos_in); /* started by the gap timer */
    assert_int_equal(c1.hellos_out, c0.hellos_out);
    assert_true(f->a.last_full);
    assert_int_equal(f->a.last_pass_rows, 20);
    assert_int_equal(f->b.reqs[r0], 0);
    uint64_t gap = f->b.req_ms[r0] - t1; /* each measured within a ms of its start */
    assert_true(gap + 1 >= HL_PASS_MIN_GAP_MS && gap <= HL_PASS_MIN_GAP_MS + 1);
}

/* Rows with a path too long to travel are skipped and counted; the pass still ends
 * (also when the last row is one), and the next pass asks from beyond them. */
static void long_path_rows_skipped(void **state)
{
    struct fx *f = *state;
    f->b.long_path[0] = 3;
    f->b.long_path[1] = 30;
    f->b.n_long = 2;
    synced_pair(f, 30, 20);
    assert_int_equal(f->a.last_pass_rows, 28);
    assert_int_equal(f->a.n_got, 28);
    for (size_t i = 0; i < f->a.n_got; i++)
        assert_true(f->a.got_row[i] != 3 && f->a.got_row[i] != 30);
    struct hl_counters ca, cb;
    hl_get_counters(f->b.l, &cb);
    assert_int_equal(cb.rows_skipped, 2);
    assert_int_equal(cb.contacts_out, 28);

    /* a change whose new path is too long: skipped, the pass ends all the same */
    size_t r0 = f->b.n_reqs;
    uint32_t r31 = add_extra(&f->b, 4, 50, too_long_path, false);
    hl_contacts_changed(f->b.l, 30);
    f->want_passes = 2;
    assert_true(run_until(f, passes_reached, 1000));
    assert_false(f->a.last_full);
    assert_int_equal(f->a.last_pass_rows, 0);
    assert_int_equal(f->b.reqs[r0], 30);
    hl_get_counters(f->b.l, &cb);
    assert_int_equal(cb.rows_skipped, 3);
    /* the next change: asked from beyond the skipped row */
    r0 = f->b.n_reqs;
    uint32_t r32 = add_extra(&f->b, 6, 60, NULL, false);
    hl_contacts_changed(f->b.l, 30);
    f->a.n_got = 0;
    f->want_passes = 3;
    assert_true(run_until(f, passes_reached, 1000));
    assert_int_equal(f->b.reqs[r0], r31);
    assert_int_equal(f->a.n_got, 1);
    assert_int_equal(f->a.got_row[0], r32);
    assert_true(f->a.contacts_ok);
    hl_get_counters(f->a.l, &ca);
    assert_int_equal(ca.passes_done, 3);
    assert_int_equal(ca.passes_dropped, 0);
}

/* A callback that closes the link: nothing runs after, nothing leaks. */
static void close_self(void *ctx, const struct ha_peer_state *ps)
{
    struct side *s = ctx;
    (void)ps;
    s->states++;
    hl_close(s->l);
    s->l = NULL;
    loop_stop(s->f->lp);
}

static bool b_heard_a_again(struct fx *f)
{
    return f->b.states > 0;
}

/* A restart after the clock was stepped back: without the floor the new session is
 * below the one the peer knows and every datagram is a replay; with the last session
 * as floor the new one is above it and the peer takes it. */
static void session_floor_survives_clock_step_back(void **state)
{
    struct fx *f = *state;
    const uint64_t ahead = 1000000ull * 3600 * 24 * 365; /* a clock a year fast */
    int pa, pb;
    int sa = bound_socket(&pa), sb = bound_socket(&pb);
    close(sa);
    close(sb);
    struct ha_peer_state st = state_of(HA_ROLE_PRIMARY, 3), sbk = state_of(HA_ROLE_BACKUP, 3);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    f->session_floor = (uint64_t)ts.tv_sec * 1000000u + ahead;
    open_link(f, &f->a, 1, 2, pa, pb, 20);
    f->session_floor = 0;
    open_link(f, &f->b, 2, 1, pb, pa, 20);
    uint64_t first = hl_session(f->a.l);
    assert_true(first > (uint64_t)ts.tv_sec * 1000000u + ahead);
    hl_set_state(f->a.l, &st);
    hl_set_state(f->b.l, &sbk);
    assert_true(run_until(f, b_heard_a_again, 1000));

    /* restarted with the (slow, true) clock only: refused as replays */
    hl_close(f->a.l);
    open_link(f, &f->a, 1, 2, pa, pb, 20);
    hl_set_state(f->a.l, &st);
    run_for(f, 100);
    struct hl_counters c;
    hl_get_counters(f->b.l, &c);
    assert_true(c.rejected[HL_E_REPLAY] > 0);

    /* restarted with the last session as floor: taken */
    hl_close(f->a.l);
    f->session_floor = first;
    open_link(f, &f->a, 1, 2, pa, pb, 20);
    assert_int_equal(hl_session(f->a.l), first + 1);
    f->b.states = 0;
    hl_set_state(f->a.l, &st);
    assert_true(run_until(f, b_heard_a_again, 1000));
}

static void close_from_callback(void **state)
{
    struct fx *f = *state;
    struct hl_callbacks c = cbs;
    c.on_state = close_self;
    open_pair_cb(f, 20, &c);
    struct ha_peer_state sa = state_of(HA_ROLE_BACKUP, 3), sb = state_of(HA_ROLE_PRIMARY, 3);
    hl_set_state(f->a.l, &sa);
    hl_set_state(f->b.l, &sb);
    assert_true(run_until(f, NULL, 2000) || f->a.l == NULL);
    assert_null(f->a.l);
    assert_int_equal(f->a.states, 1);
    run_for(f, 60); /* b goes on sending to a closed port: harmless */
    assert_int_equal(f->a.states, 1);
}

static void bad_config_refused(void **state)
{
    struct fx *f = *state;
    char err[256];
    struct hl_link *l = NULL;
    struct hl_config cfg = { .local = "127.0.0.1:0", .peer = "127.0.0.1:9", .key_file = f->key,
                             .self_index = 1, .peer_index = 1 };
    assert_int_equal(hl_open(&l, f->lp, &cfg, NULL, NULL, err, sizeof(err)), -1);
    assert_null(l);
    assert_non_null(strstr(err, "differ"));
    cfg.peer_index = 2;
    cfg.peer = "[::1]:9"; /* another family */
    assert_int_equal(hl_open(&l, f->lp, &cfg, NULL, NULL, err, sizeof(err)), -1);
    cfg.peer = "127.0.0.1";
    assert_int_equal(hl_open(&l, f->lp, &cfg, NULL, NULL, err, sizeof(err)), -1);
    cfg.peer = "127.0.0.1:70000";
    assert_int_equal(hl_open(&l, f->lp, &cfg, NULL, NULL, err, sizeof(err)), -1);
    cfg.peer = "127.0.0.1:9";
    cfg.interval_ms = 5;
    assert_int_equal(hl_open(&l, f->lp, &cfg, NULL, NULL, err, sizeof(err)), -1);
    cfg.interval_ms = 0;
    cfg.key_file = "/nonexistent/key";
    assert_int_equal(hl_open(&l, f->lp, &cfg, NULL, NULL, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "/nonexistent/key"));
    cfg.key_file = f->key;
    cfg.local = "[::1]:0";
    cfg.peer = "[::1]:9";
    if (hl_open(&l, f->lp, &cfg, NULL, NULL, err, sizeof(err)) == 0) /* IPv6 may be off */
        hl_close(l);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(hello_and_hears_peer, setup, teardown),
        cmocka_unit_test_setup_teardown(state_change_sent_at_once, setup, teardown),
        cmocka_unit_test_setup_teardown(unchanged_hellos_not_handed_over, setup, teardown),
        cmocka_unit_test_setup_teardown(backup_speaks_slowly_and_loss_follows_periods, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(busy_loop_reads_queued_hello_before_loss, setup, teardown),
        cmocka_unit_test_setup_teardown(primary_times_out_backup_by_its_period, setup, teardown),
        cmocka_unit_test_setup_teardown(takeover_delivered_once, setup, teardown),
        cmocka_unit_test_setup_teardown(third_socket_rejected, setup, teardown),
        cmocka_unit_test_setup_teardown(contact_full_pass, setup, teardown),
        cmocka_unit_test_setup_teardown(incremental_pass_after_change, setup, teardown),
        cmocka_unit_test_setup_teardown(change_during_pass_in_that_pass, setup, teardown),
        cmocka_unit_test_setup_teardown(too_old_answer_then_full_pass, setup, teardown),
        cmocka_unit_test_setup_teardown(horizon_rising_during_full_pass, setup, teardown),
        cmocka_unit_test_setup_teardown(answer_too_old_rule, setup, teardown),
        cmocka_unit_test_setup_teardown(too_old_then_dropped_pass_stays_full, setup, teardown),
        cmocka_unit_test_setup_teardown(peer_restart_forces_full_pass, setup, teardown),
        cmocka_unit_test_setup_teardown(pull_toggle_full_pass_after_gap, setup, teardown),
        cmocka_unit_test_setup_teardown(long_path_rows_skipped, setup, teardown),
        cmocka_unit_test_setup_teardown(session_floor_survives_clock_step_back, setup, teardown),
        cmocka_unit_test_setup_teardown(close_from_callback, setup, teardown),
        cmocka_unit_test_setup_teardown(bad_config_refused, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
