/* The HA link on loopback: two links in one loop exchange HELLOs (hears_peer set
 * once both talk), a state change goes out at once, TAKEOVER/RELEASE arrive once
 * despite their repeats, forged / replayed / misaddressed datagrams from a third
 * socket are rejected and counted, and a 10,000-contact full pass completes and is
 * run again when the peer's generation changes.
 *
 * Ports: two ephemeral ports are reserved by binding port 0 and released just before
 * the links bind them, so parallel runs do not collide. Every wait is bounded by a
 * loop timer that stops the loop. */
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
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

struct side {
    struct fx *f;
    struct hl_link *l;
    int states, lost;
    struct ha_peer_state last;
    int msgs;
    struct ha_peer_msg last_msg;
    int logs;
    char last_log[320];
    /* pulling side */
    uint32_t contacts;
    bool contacts_ok;
    int passes;
    uint64_t pass_done_ms;
    /* answering side */
    uint32_t n_rows;
};

struct fx {
    struct loop *lp;
    uint64_t now;           /* the loop's virtual clock, ms */
    uint64_t session_floor; /* for the links opened next */
    char dir[64], key[128];
    struct side a, b;
    bool timed_out;
    bool (*done)(struct fx *f);
    char (*aor)[40], (*uri)[64];
};

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

static size_t contacts_after(void *ctx, uint32_t after_row, struct hl_contact *out, size_t max)
{
    struct side *s = ctx;
    size_t n = 0;
    for (uint32_t r = after_row + 1; r <= s->n_rows && n < max; r++, n++)
        out[n] = (struct hl_contact){ .row = r, .aor = s->f->aor[r - 1],
                                      .uri = s->f->uri[r - 1], .expiry_s = r };
    return n;
}

static void on_contact(void *ctx, const char *aor, const char *uri, uint32_t expiry_s)
{
    struct side *s = ctx;
    /* rows come in order, each once: expiry_s = row = contacts delivered so far + 1 */
    if (expiry_s != s->contacts + 1 || strcmp(aor, s->f->aor[expiry_s - 1]) != 0 ||
        strcmp(uri, s->f->uri[expiry_s - 1]) != 0)
        s->contacts_ok = false;
    s->contacts++;
}

static void on_contacts_done(void *ctx)
{
    struct side *s = ctx;
    s->passes++;
    s->pass_done_ms = loop_now(s->f->lp);
    check_done(s->f);
}

static const struct hl_callbacks cbs = {
    .on_state = on_state, .on_lost = on_lost, .on_msg = on_msg, .contacts_after = contacts_after,
    .on_contact = on_contact, .on_contacts_done = on_contacts_done, .on_log = on_log,
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

/* Runs the loop on its virtual clock until f->done says so (checked in callbacks and
 * after every step) or max_ms of virtual time pass; true when done. At each instant the
 * loop runs a few rounds (datagrams on loopback arrive at once), then the clock
 * moves on by 1 ms. */
static bool run_until(struct fx *f, bool (*done)(struct fx *), uint64_t max_ms)
{
    f->done = done;
    f->timed_out = false;
    uint64_t deadline = f->now + max_ms;
    bool ok = false;
    for (;;) {
        for (int i = 0; i < 4; i++)
            loop_run_once(f->lp, 0);
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

    /* one more contact and a new generation: a new full pass delivers all of them */
    f->b.n_rows = N_CONTACTS + 1;
    hl_contacts_changed(f->b.l, N_CONTACTS + 1);
    f->a.contacts = 0;
    assert_true(run_until(f, second_pass_done, 20000));
    assert_int_equal(f->a.contacts, N_CONTACTS + 1);
    assert_true(f->a.contacts_ok);
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
        cmocka_unit_test_setup_teardown(primary_times_out_backup_by_its_period, setup, teardown),
        cmocka_unit_test_setup_teardown(takeover_delivered_once, setup, teardown),
        cmocka_unit_test_setup_teardown(third_socket_rejected, setup, teardown),
        cmocka_unit_test_setup_teardown(contact_full_pass, setup, teardown),
        cmocka_unit_test_setup_teardown(session_floor_survives_clock_step_back, setup, teardown),
        cmocka_unit_test_setup_teardown(close_from_callback, setup, teardown),
        cmocka_unit_test_setup_teardown(bad_config_refused, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
