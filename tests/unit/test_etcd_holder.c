/* test_etcd_holder.c — the primary key held in a real etcd (Debian's etcd-server, one
 * member on loopback, started by the test with its own data directory): take, refuse,
 * release and take over between two holders; twenty simultaneous takes with exactly one
 * winner each; a hold kept past twice its TTL; the lease revoked and the key deleted
 * behind the holder's back (lost, then a new lease); a dead first member (fail-over)
 * and no member at all (unreachable, the take fails); etcd frozen (SIGSTOP) while held:
 * the hold is given up before the lease can expire in etcd, and etcd is back after
 * SIGCONT; etcd cut off for most of the time a hold survives (a gate in front of it
 * refusing connections, as a killed leader's port does): the renewals that fail are
 * tried again soon enough to keep the hold. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <curl/curl.h>

#include "etcd_client.h"
#include "etcd_holder.h"
#include "etcd_member.h"
#include "loop.h"

#define TTL_S 2u
#define READ_MS 100u

/* ---------- holders and what they reported ---------- */

#define EVENTS_MAX 64

struct watcher {
    struct etcd_holder *h;
    enum etcd_holder_event ev[EVENTS_MAX];
    uint64_t at[EVENTS_MAX]; /* loop time of each */
    char holder[EVENTS_MAX][64]; /* REFUSED, SEEN: the holder's value ("" nobody) */
    char error[EVENTS_MAX][160];
    enum etcd_holder_loss loss[EVENTS_MAX];
    unsigned n;
    struct loop *lp;
};

static void on_event(void *arg, const struct etcd_holder_report *r)
{
    struct watcher *w = arg;
    if (w->n == EVENTS_MAX)
        return;
    w->ev[w->n] = r->ev;
    w->at[w->n] = loop_now(w->lp);
    snprintf(w->holder[w->n], sizeof w->holder[0], "%.63s",
             r->holder && r->holder->present ? (const char *)r->holder->value : "");
    snprintf(w->error[w->n], sizeof w->error[0], "%s", r->error ? r->error : "");
    w->loss[w->n] = r->loss;
    /* only a LOST says why it happened */
    assert_int_equal(r->loss != ETCD_HOLDER_LOSS_NONE, r->ev == ETCD_HOLDER_EV_LOST);
    w->n++;
}

static void open_holder_with(struct watcher *w, struct loop *lp,
                             const struct etcd_client_config *cc,
                             const struct etcd_holder_config *hc)
{
    memset(w, 0, sizeof *w);
    w->lp = lp;
    char err[256];
    w->h = etcd_holder_new(lp, cc, hc, on_event, w, err, sizeof err);
    if (!w->h)
        fail_msg("etcd_holder_new: %s", err);
}

static void open_holder(struct watcher *w, struct loop *lp, const char **urls, size_t n,
                        const char *key)
{
    struct etcd_client_config cc = { .n_endpoints = n, .timeout_ms = 300 };
    for (size_t i = 0; i < n; i++)
        cc.endpoints[i] = urls[i];
    struct etcd_holder_config hc = { .key = key, .ttl_s = TTL_S, .read_ms = READ_MS };
    open_holder_with(w, lp, &cc, &hc);
}

/* the index of the first event ev at or after `from`, or -1 */
static int find(const struct watcher *w, enum etcd_holder_event ev, unsigned from)
{
    for (unsigned i = from; i < w->n; i++)
        if (w->ev[i] == ev)
            return (int)i;
    return -1;
}

struct wait_for {
    const struct watcher *w;
    enum etcd_holder_event ev;
    unsigned from;
};

static bool has_event(const void *arg)
{
    const struct wait_for *q = arg;
    return find(q->w, q->ev, q->from) >= 0;
}

static bool run_until(struct loop *lp, bool (*fn)(const void *), const void *arg,
                      uint64_t max_ms)
{
    uint64_t end = loop_now_ms() + max_ms;
    while (!fn(arg)) {
        if (loop_now_ms() >= end)
            return false;
        assert_int_equal(loop_run_once(lp, 20), 0);
    }
    return true;
}

static void run_for(struct loop *lp, uint64_t ms)
{
    uint64_t end = loop_now_ms() + ms;
    while (loop_now_ms() < end)
        assert_int_equal(loop_run_once(lp, 20), 0);
}

/* waits for ev after event index `from` (10 s at most); its index */
static int wait_event(struct watcher *w, enum etcd_holder_event ev, unsigned from)
{
    struct wait_for q = { w, ev, from };
    if (!run_until(w->lp, has_event, &q, 10000)) {
        for (unsigned i = 0; i < w->n; i++)
            fprintf(stderr, "  event %u: %s %s %s\n", i, etcd_holder_event_name(w->ev[i]),
                    w->holder[i], w->error[i]);
        fail_msg("no '%s' event after #%u", etcd_holder_event_name(ev), from);
    }
    return find(w, ev, from);
}

static void take(struct watcher *w, const char *value)
{
    assert_int_equal(etcd_holder_take(w->h, value, strlen(value)), 0);
}

/* a call made by the test itself, as an operator's tool would */
struct direct {
    bool done;
    enum etcd_outcome outcome;
    bool succeeded;
};

static void on_direct(void *arg, const struct etcd_result *r)
{
    struct direct *d = arg;
    d->done = true;
    d->outcome = r->outcome;
    d->succeeded = r->outcome == ETCD_ANSWERED && r->reply->succeeded;
}

static bool direct_done(const void *arg)
{
    return ((const struct direct *)arg)->done;
}

static struct direct direct_call(struct loop *lp, enum etcd_op op, const char *body, int len)
{
    struct etcd_client_config cc = { .endpoints = { etcd.url }, .n_endpoints = 1 };
    char err[256];
    struct etcd_client *c = etcd_client_new(lp, &cc, err, sizeof err);
    assert_non_null(c);
    struct direct d = { 0 };
    assert_true(len > 0);
    assert_int_equal(etcd_client_call(c, op, body, (size_t)len, on_direct, &d), 0);
    assert_true(run_until(lp, direct_done, &d, 5000));
    etcd_client_free(c);
    return d;
}

/* ---------- the cases ---------- */

static void test_take_refuse_release(void **state)
{
    (void)state;
    struct loop *lp = loop_new();
    const char *urls[] = { etcd.url };
    struct watcher a, b;
    open_holder(&a, lp, urls, 1, "/sipha/t1/primary");
    open_holder(&b, lp, urls, 1, "/sipha/t1/primary");
    take(&a, "sip-a 1");
    wait_event(&a, ETCD_HOLDER_EV_HELD, 0);
    assert_int_equal(etcd_holder_state(a.h), ETCD_HOLDER_HELD);
    /* b sees a as the holder, and its take is refused naming a */
    int s = wait_event(&b, ETCD_HOLDER_EV_SEEN, 0);
    while (strcmp(b.holder[s], "sip-a 1") != 0)
        s = wait_event(&b, ETCD_HOLDER_EV_SEEN, (unsigned)s + 1);
    take(&b, "sip-b 2");
    int r = wait_event(&b, ETCD_HOLDER_EV_REFUSED, 0);
    assert_string_equal(b.holder[r], "sip-a 1");
    assert_int_equal(etcd_holder_state(b.h), ETCD_HOLDER_IDLE);
    assert_int_equal(etcd_holder_take(a.h, "x", 1), -1); /* held: no second take */
    /* a gives it up, b takes it, a sees b */
    assert_int_equal(etcd_holder_release(a.h), 0);
    assert_int_equal(etcd_holder_release(a.h), -1); /* already under way */
    wait_event(&a, ETCD_HOLDER_EV_RELEASED, 0);
    take(&b, "sip-b 2");
    wait_event(&b, ETCD_HOLDER_EV_HELD, 0);
    s = wait_event(&a, ETCD_HOLDER_EV_SEEN, 0);
    while (strcmp(a.holder[s], "sip-b 2") != 0)
        s = wait_event(&a, ETCD_HOLDER_EV_SEEN, (unsigned)s + 1);
    assert_int_equal(find(&a, ETCD_HOLDER_EV_LOST, 0), -1);
    assert_int_equal(find(&b, ETCD_HOLDER_EV_LOST, 0), -1);
    assert_int_equal(etcd_holder_release(b.h), 0);
    wait_event(&b, ETCD_HOLDER_EV_RELEASED, 0);
    etcd_holder_free(a.h);
    etcd_holder_free(b.h);
    loop_free(lp);
}

static bool both_settled(const void *arg)
{
    const struct watcher *w = arg;
    return etcd_holder_state(w[0].h) != ETCD_HOLDER_TAKING &&
           etcd_holder_state(w[1].h) != ETCD_HOLDER_TAKING;
}

static void test_simultaneous_takes(void **state)
{
    (void)state;
    struct loop *lp = loop_new();
    const char *urls[] = { etcd.url };
    struct watcher w[2];
    open_holder(&w[0], lp, urls, 1, "/sipha/t2/primary");
    open_holder(&w[1], lp, urls, 1, "/sipha/t2/primary");
    for (int round = 0; round < 20; round++) {
        take(&w[0], "a");
        take(&w[1], "b");
        assert_true(run_until(lp, both_settled, w, 10000));
        int held = (etcd_holder_state(w[0].h) == ETCD_HOLDER_HELD) +
                   (etcd_holder_state(w[1].h) == ETCD_HOLDER_HELD);
        assert_int_equal(held, 1);
        struct watcher *winner = etcd_holder_state(w[0].h) == ETCD_HOLDER_HELD ? &w[0] : &w[1];
        unsigned from = winner->n;
        assert_int_equal(etcd_holder_release(winner->h), 0);
        wait_event(winner, ETCD_HOLDER_EV_RELEASED, from);
    }
    etcd_holder_free(w[0].h);
    etcd_holder_free(w[1].h);
    loop_free(lp);
}

static void test_hold_past_ttl(void **state)
{
    (void)state;
    struct loop *lp = loop_new();
    const char *urls[] = { etcd.url };
    struct watcher a;
    open_holder(&a, lp, urls, 1, "/sipha/t3/primary");
    take(&a, "sip-a 3");
    wait_event(&a, ETCD_HOLDER_EV_HELD, 0);
    run_for(lp, 2 * TTL_S * 1000u + 500u);
    assert_int_equal(etcd_holder_state(a.h), ETCD_HOLDER_HELD);
    assert_int_equal(find(&a, ETCD_HOLDER_EV_LOST, 0), -1);
    struct etcd_holder_stats st;
    etcd_holder_get_stats(a.h, &st);
    assert_true(st.renewals >= 4);
    assert_true(st.deadline_ms > loop_now(lp) + etcd_holder_guard_ms(a.h));
    etcd_holder_free(a.h); /* no release: the lease expires by itself */
    loop_free(lp);
}

static void test_lease_revoked_behind_its_back(void **state)
{
    (void)state;
    struct loop *lp = loop_new();
    const char *urls[] = { etcd.url };
    struct watcher a;
    open_holder(&a, lp, urls, 1, "/sipha/t4/primary");
    take(&a, "sip-a 4");
    wait_event(&a, ETCD_HOLDER_EV_HELD, 0);
    struct etcd_holder_stats st;
    etcd_holder_get_stats(a.h, &st);
    int64_t old = st.lease;
    char body[ETCD_WIRE_BODY_MAX];
    uint64_t t0 = loop_now(lp);
    struct direct d = direct_call(lp, ETCD_OP_REVOKE, body, etcd_wire_revoke(body, sizeof body, old));
    assert_int_equal(d.outcome, ETCD_ANSWERED);
    int l = wait_event(&a, ETCD_HOLDER_EV_LOST, 0);
    assert_true(a.at[l] - t0 < 2000); /* the next read or keepalive notices */
    assert_int_equal(a.loss[l], ETCD_HOLDER_LOSS_GONE); /* etcd said so */
    /* a new lease, and the key can be taken again */
    take(&a, "sip-a 4");
    wait_event(&a, ETCD_HOLDER_EV_HELD, (unsigned)l);
    etcd_holder_get_stats(a.h, &st);
    assert_true(st.lease != old && st.lease > 0);
    etcd_holder_free(a.h);
    loop_free(lp);
}

static void test_key_deleted_behind_its_back(void **state)
{
    (void)state;
    struct loop *lp = loop_new();
    const char *urls[] = { etcd.url };
    struct watcher a;
    open_holder(&a, lp, urls, 1, "/sipha/t5/primary");
    take(&a, "sip-a 5");
    wait_event(&a, ETCD_HOLDER_EV_HELD, 0);
    struct etcd_holder_stats st;
    etcd_holder_get_stats(a.h, &st);
    char body[ETCD_WIRE_BODY_MAX];
    struct direct d = direct_call(lp, ETCD_OP_RELEASE, body,
                                  etcd_wire_release(body, sizeof body, "/sipha/t5/primary",
                                                    st.lease));
    assert_true(d.succeeded);
    int l = wait_event(&a, ETCD_HOLDER_EV_LOST, 0);
    assert_non_null(strstr(a.error[l], "deleted"));
    assert_int_equal(a.loss[l], ETCD_HOLDER_LOSS_GONE);
    assert_int_equal(etcd_holder_state(a.h), ETCD_HOLDER_IDLE);
    etcd_holder_free(a.h);
    loop_free(lp);
}

static void test_failover_to_live_member(void **state)
{
    (void)state;
    struct loop *lp = loop_new();
    const char *urls[] = { etcd.dead_url, etcd.url };
    struct watcher a;
    open_holder(&a, lp, urls, 2, "/sipha/t6/primary");
    take(&a, "sip-a 6");
    wait_event(&a, ETCD_HOLDER_EV_HELD, 0);
    struct etcd_holder_stats st;
    etcd_holder_get_stats(a.h, &st);
    assert_true(st.client.failovers >= 1);
    assert_int_equal(st.client.unreachable, 0);
    assert_int_equal(find(&a, ETCD_HOLDER_EV_UNREACHABLE, 0), -1);
    assert_int_equal(etcd_holder_release(a.h), 0);
    wait_event(&a, ETCD_HOLDER_EV_RELEASED, 0);
    etcd_holder_free(a.h);
    loop_free(lp);
}

static void test_no_member_reachable(void **state)
{
    (void)state;
    struct loop *lp = loop_new();
    const char *urls[] = { etcd.dead_url };
    struct watcher a;
    open_holder(&a, lp, urls, 1, "/sipha/t7/primary");
    take(&a, "sip-a 7");
    wait_event(&a, ETCD_HOLDER_EV_FAILED, 0);
    assert_int_equal(etcd_holder_state(a.h), ETCD_HOLDER_IDLE);
    wait_event(&a, ETCD_HOLDER_EV_UNREACHABLE, 0);
    assert_int_equal(find(&a, ETCD_HOLDER_EV_HELD, 0), -1);
    etcd_holder_free(a.h);
    loop_free(lp);
}

static void test_frozen_etcd_gives_up_first(void **state)
{
    (void)state;
    struct loop *lp = loop_new();
    const char *urls[] = { etcd.url };
    struct watcher a;
    open_holder(&a, lp, urls, 1, "/sipha/t8/primary");
    take(&a, "sip-a 8");
    wait_event(&a, ETCD_HOLDER_EV_HELD, 0);
    run_for(lp, 300);
    assert_int_equal(kill(etcd.pid, SIGSTOP), 0);
    int l = wait_event(&a, ETCD_HOLDER_EV_LOST, 0);
    struct etcd_holder_stats st;
    etcd_holder_get_stats(a.h, &st);
    assert_int_equal(kill(etcd.pid, SIGCONT), 0);
    /* given up a guard (TTL / 4) before the last renewal's send time + TTL, which is
     * before etcd's own expiry (it counts from the renewal's arrival); the answer came
     * after the send, so its time + TTL - guard bounds the loss from above, with room
     * for a late timer on a loaded machine (still a quarter of the guard before) */
    uint32_t guard = etcd_holder_guard_ms(a.h);
    assert_true(a.at[l] <= st.last_renewal_ms + TTL_S * 1000u - guard / 4u);
    assert_non_null(strstr(a.error[l], "not renewed"));
    assert_int_equal(a.loss[l], ETCD_HOLDER_LOSS_DEADLINE); /* etcd was not heard */
    /* etcd is back: the holder takes again */
    take(&a, "sip-a 8");
    wait_event(&a, ETCD_HOLDER_EV_HELD, (unsigned)l);
    etcd_holder_free(a.h);
    loop_free(lp);
}

/* ---------- etcd cut off: a gate in front of it ---------- */

/* A child process forwarding TCP from its own port to etcd's. SIGUSR1 cuts it off for
 * GATE_CUT_MS: every connection closed and the port closed, so calls fail at once with
 * "connection refused" (as a killed member's port does), then it listens again. */
#define GATE_CUT_MS 2400u
#define GATE_PAIRS 32

static volatile sig_atomic_t gate_cut;

static void gate_on_usr1(int sig)
{
    (void)sig;
    gate_cut = 1;
}

static int gate_listen(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
        bind(fd, (struct sockaddr *)&a, sizeof a) != 0 || listen(fd, 16) != 0)
        _exit(3);
    return fd;
}

static int gate_connect(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        close(fd);
        fd = -1;
    }
    return fd;
}

/* copies what fd `from` has to `to`; false when the pair is done */
static bool gate_copy(int from, int to)
{
    char buf[65536];
    ssize_t n = read(from, buf, sizeof buf);
    for (ssize_t off = 0; n > 0 && off < n;) {
        ssize_t w = write(to, buf + off, (size_t)(n - off));
        if (w <= 0)
            return false;
        off += w;
    }
    return n > 0;
}

static void gate_run(int port, int etcd_port)
{
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    struct sigaction sa = { .sa_handler = gate_on_usr1 }; /* no SA_RESTART: poll returns */
    sigaction(SIGUSR1, &sa, NULL);
    int lfd = gate_listen(port), fds[2 * GATE_PAIRS], n = 0;
    for (;;) {
        if (gate_cut) {
            for (int i = 0; i < n; i++)
                close(fds[i]);
            close(lfd);
            n = 0;
            gate_cut = 0;
            usleep(GATE_CUT_MS * 1000u);
            lfd = gate_listen(port);
        }
        struct pollfd p[1 + 2 * GATE_PAIRS];
        p[0] = (struct pollfd){ .fd = lfd, .events = POLLIN };
        for (int i = 0; i < n; i++)
            p[1 + i] = (struct pollfd){ .fd = fds[i], .events = POLLIN };
        if (poll(p, (nfds_t)(1 + n), 100) <= 0)
            continue;
        for (int i = n - 2; i >= 0; i -= 2) { /* pairs: client, etcd */
            bool ok = true;
            if (p[1 + i].revents)
                ok = gate_copy(fds[i], fds[i + 1]);
            if (ok && p[2 + i].revents)
                ok = gate_copy(fds[i + 1], fds[i]);
            if (!ok) {
                close(fds[i]);
                close(fds[i + 1]);
                memmove(&fds[i], &fds[i + 2], (size_t)(n - i - 2) * sizeof fds[0]);
                n -= 2;
            }
        }
        if (p[0].revents & POLLIN) {
            int c = accept(lfd, NULL, NULL), e = c >= 0 ? gate_connect(etcd_port) : -1;
            if (c >= 0 && e >= 0 && n < 2 * GATE_PAIRS) {
                fds[n++] = c;
                fds[n++] = e;
            } else {
                if (c >= 0)
                    close(c);
                if (e >= 0)
                    close(e);
            }
        }
    }
}

static bool holder_renewed_since(const void *arg)
{
    const struct watcher *w = ((const void *const *)arg)[0];
    const uint64_t *before = ((const void *const *)arg)[1];
    struct etcd_holder_stats st;
    etcd_holder_get_stats(w->h, &st);
    return st.renewals > *before;
}

/* TTL 4 s: a renewal every 1 s, the hold given up 3 s after the last one was sent
 * unless renewed. The gate is cut for 2.4 s just after a renewal answered: renewals at
 * the quarter-TTL pace alone (1 s and 2 s after it) both fall in the cut, and the next
 * would come as the guard ends the hold; tried again 250 ms after each failure, one
 * goes between the cut's end and the guard. */
static void test_failed_renewal_tried_again_soon(void **state)
{
    (void)state;
    int port = free_port(), etcd_port = atoi(strrchr(etcd.url, ':') + 1);
    assert_true(port > 0);
    pid_t gate = fork();
    assert_true(gate >= 0);
    if (gate == 0)
        gate_run(port, etcd_port);
    for (int i = 0; i < 100 && !port_open(port); i++)
        usleep(20 * 1000);
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%d", port);

    struct loop *lp = loop_new();
    struct watcher a;
    struct etcd_client_config cc = { .endpoints = { url }, .n_endpoints = 1, .timeout_ms = 300 };
    struct etcd_holder_config hc = { .key = "/sipha/t9/primary", .ttl_s = 4, .read_ms = 500 };
    open_holder_with(&a, lp, &cc, &hc);
    take(&a, "sip-a 9");
    wait_event(&a, ETCD_HOLDER_EV_HELD, 0);

    struct etcd_holder_stats st;
    etcd_holder_get_stats(a.h, &st);
    uint64_t before = st.renewals;
    const void *arg[] = { &a, &before };
    assert_true(run_until(lp, holder_renewed_since, arg, 3000));
    assert_int_equal(kill(gate, SIGUSR1), 0);
    run_for(lp, GATE_CUT_MS + 1500u);

    etcd_holder_get_stats(a.h, &st);
    if (find(&a, ETCD_HOLDER_EV_LOST, 0) >= 0)
        fail_msg("the hold was lost during a %u ms cut (%" PRIu64 " unreachable calls)",
                 GATE_CUT_MS, st.client.unreachable);
    assert_true(st.client.unreachable >= 2); /* the cut was felt */
    assert_int_equal(etcd_holder_state(a.h), ETCD_HOLDER_HELD);
    assert_int_equal(etcd_holder_release(a.h), 0);
    wait_event(&a, ETCD_HOLDER_EV_RELEASED, 0);
    etcd_holder_free(a.h);
    loop_free(lp);
    kill(gate, SIGKILL);
    waitpid(gate, NULL, 0);
}

/* ---------- the client's order ---------- */

struct order {
    int seen[8];
    int n;
};

struct order_call {
    struct order *o;
    int id;
};

static void on_order(void *arg, const struct etcd_result *r)
{
    struct order_call *c = arg;
    (void)r; /* the silent member answers nothing: each call times out, in turn */
    c->o->seen[c->o->n++] = c->id;
}

static bool order_done(const void *arg)
{
    return ((const struct order *)arg)->n == 3;
}

/* Calls run in the order given, and a call_first goes before every queued one: before
 * all when nothing is on the wire, right after the one on the wire otherwise. The one
 * member accepts connections and never answers, so each call stays on the wire for
 * its whole timeout and the order cannot depend on the machine's speed. */
static void test_client_order(void **state)
{
    (void)state;
    int lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = 0 };
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t alen = sizeof a;
    assert_true(lfd >= 0);
    assert_int_equal(bind(lfd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(listen(lfd, 16), 0); /* the kernel completes connections; no accept */
    assert_int_equal(getsockname(lfd, (struct sockaddr *)&a, &alen), 0);
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%d", ntohs(a.sin_port));
    struct loop *lp = loop_new();
    struct etcd_client_config cc = { .endpoints = { url }, .n_endpoints = 1, .timeout_ms = 150 };
    char err[256], body[ETCD_WIRE_BODY_MAX];
    struct etcd_client *c = etcd_client_new(lp, &cc, err, sizeof err);
    assert_non_null(c);
    int len = etcd_wire_read(body, sizeof body, "/sipha/order");
    struct order o = { 0 };
    struct order_call k[3] = { { &o, 1 }, { &o, 2 }, { &o, 3 } };
    assert_int_equal(etcd_client_call(c, ETCD_OP_READ, body, (size_t)len, on_order, &k[0]), 0);
    assert_int_equal(etcd_client_call(c, ETCD_OP_READ, body, (size_t)len, on_order, &k[1]), 0);
    assert_int_equal(etcd_client_call_first(c, ETCD_OP_READ, body, (size_t)len, on_order, &k[2]), 0);
    assert_true(run_until(lp, order_done, &o, 10000));
    assert_int_equal(o.seen[0], 3);
    assert_int_equal(o.seen[1], 1);
    assert_int_equal(o.seen[2], 2);
    /* now with the first call on the wire */
    o.n = 0;
    assert_int_equal(etcd_client_call(c, ETCD_OP_READ, body, (size_t)len, on_order, &k[0]), 0);
    for (int i = 0; i < 100 && !etcd_client_busy(c); i++)
        assert_int_equal(loop_run_once(lp, 1), 0);
    assert_true(etcd_client_busy(c));
    assert_int_equal(etcd_client_call(c, ETCD_OP_READ, body, (size_t)len, on_order, &k[1]), 0);
    assert_int_equal(etcd_client_call_first(c, ETCD_OP_READ, body, (size_t)len, on_order, &k[2]), 0);
    assert_true(run_until(lp, order_done, &o, 10000));
    assert_int_equal(o.seen[0], 1);
    assert_int_equal(o.seen[1], 3);
    assert_int_equal(o.seen[2], 2);
    etcd_client_free(c);
    loop_free(lp);
    close(lfd);
}

static void expect_refused(struct loop *lp, const struct etcd_client_config *cc,
                           const struct etcd_holder_config *hc, const char *why)
{
    char err[256] = "";
    struct watcher w = { 0 };
    struct etcd_holder *h = etcd_holder_new(lp, cc, hc, on_event, &w, err, sizeof err);
    if (h)
        fail_msg("accepted, expected '%s'", why);
    if (!strstr(err, why))
        fail_msg("refused with '%s', expected '%s'", err, why);
}

static void test_bad_configurations(void **state)
{
    (void)state;
    struct loop *lp = loop_new();
    struct etcd_client_config cc = { .endpoints = { etcd.url }, .n_endpoints = 1 };
    struct etcd_holder_config hc = { .key = "/sipha/t9/primary", .ttl_s = TTL_S };
    struct etcd_client_config c2 = cc;
    c2.n_endpoints = 0;
    expect_refused(lp, &c2, &hc, "no endpoint");
    c2.n_endpoints = ETCD_CLIENT_ENDPOINTS_MAX + 1;
    expect_refused(lp, &c2, &hc, "at most");
    c2 = cc;
    c2.endpoints[0] = "ftp://127.0.0.1:2379";
    expect_refused(lp, &c2, &hc, "only http:// and https://");
    c2.endpoints[0] = "http://127.0.0.1:2379/v3";
    expect_refused(lp, &c2, &hc, "without a path");
    c2.endpoints[0] = "http://127.0.0.1:99999";
    expect_refused(lp, &c2, &hc, "malformed URL");
    c2.endpoints[0] = "";
    expect_refused(lp, &c2, &hc, "no URL given");
    c2 = cc;
    c2.cert_file = "/nonexistent/cert.pem";
    expect_refused(lp, &c2, &hc, "needs its key");
    struct etcd_holder_config h2 = hc;
    h2.ttl_s = 1;
    expect_refused(lp, &cc, &h2, "outside 2..60");
    h2.ttl_s = 61;
    expect_refused(lp, &cc, &h2, "outside 2..60");
    h2 = hc;
    h2.guard_ms = 1000;
    expect_refused(lp, &cc, &h2, "under half the TTL");
    h2 = hc;
    h2.key = "";
    expect_refused(lp, &cc, &h2, "key is empty");
    /* a trailing slash is accepted, and a value too long or empty is refused */
    c2 = cc;
    char url[80];
    snprintf(url, sizeof url, "%s/", etcd.url);
    c2.endpoints[0] = url;
    struct watcher w;
    open_holder(&w, lp, c2.endpoints, 1, "/sipha/t9/primary");
    char big[ETCD_WIRE_VALUE_MAX + 1];
    memset(big, 'v', sizeof big);
    assert_int_equal(etcd_holder_take(w.h, big, sizeof big), -1);
    assert_int_equal(etcd_holder_take(w.h, "v", 0), -1);
    assert_int_equal(etcd_holder_release(w.h), -1); /* not held */
    take(&w, "sip-a 9");
    wait_event(&w, ETCD_HOLDER_EV_HELD, 0);
    etcd_holder_free(w.h);
    loop_free(lp);
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bad_configurations),
        cmocka_unit_test(test_client_order),
        cmocka_unit_test(test_take_refuse_release),
        cmocka_unit_test(test_simultaneous_takes),
        cmocka_unit_test(test_hold_past_ttl),
        cmocka_unit_test(test_lease_revoked_behind_its_back),
        cmocka_unit_test(test_key_deleted_behind_its_back),
        cmocka_unit_test(test_failover_to_live_member),
        cmocka_unit_test(test_no_member_reachable),
        cmocka_unit_test(test_frozen_etcd_gives_up_first),
        cmocka_unit_test(test_failed_renewal_tried_again_soon),
    };
    int failed = cmocka_run_group_tests_name("etcd_holder", tests, etcd_setup, etcd_teardown);
    curl_global_cleanup();
    return failed;
}
