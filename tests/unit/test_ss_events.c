/* The evapi client against a TCP server inside the test, on 127.0.0.1 port 0: the
 * netstring decoder on its own; several payloads in one write and 10,000 across many
 * reads; a payload split byte by byte; the empty payload; the largest payload and one
 * byte more; malformed lengths, leading zeros, a missing comma and bare (non-netstring)
 * JSON; the server closing, refusing and listening again; the backoff series on the
 * loop's virtual clock, its reset after a long connection, and the connect timeout;
 * ss_events_close from inside each callback.
 *
 * Deterministic: the loop runs on a virtual clock, so every timer fires only when the
 * test moves the clock; sockets are waited for with loop_run_once, whose poll returns
 * as soon as one is ready (a bound, never a sleep). A server that must refuse is a
 * socket bound without listen(), which holds its port, so no other process can take it
 * between two steps; the same port listens again through SO_REUSEPORT. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "loop.h"
#include "ss_events.h"

#define MAX_KEPT 64         /* payloads recorded in full */
#define KEEP_LEN 128
#define STEP_MS 500         /* one poll waits at most this long (real time) */
#define STEPS 40            /* polls at most per wait: 20 s before a test gives up */

struct fx {
    struct loop *lp;
    uint64_t now;                /* the loop's virtual clock, ms */
    struct ss_events *ev;
    int family;
    int lsn;                     /* the server's listening (or only bound) socket */
    int conn;                    /* its end of the accepted connection */
    uint16_t port;
    char endpoint[64];
    int ups, downs;
    enum ss_events_reason last_down;
    size_t n_payloads;
    char kept[MAX_KEPT][KEEP_LEN];
    size_t kept_len[MAX_KEPT];
    size_t last_len;
    bool pattern_ok;             /* the last payload was the pattern of big_payload() */
    unsigned seq_next;           /* for "seq:N" payloads: the next N expected */
    bool seq_ok;
    bool close_on_payload, close_on_up, close_on_down;
};

/* ---- callbacks ---- */

static void on_payload(void *ctx, const char *buf, size_t len)
{
    struct fx *f = ctx;
    assert_int_equal(buf[len], '\0');
    if (f->n_payloads < MAX_KEPT && len < KEEP_LEN) {
        memcpy(f->kept[f->n_payloads], buf, len + 1);
        f->kept_len[f->n_payloads] = len;
    }
    f->last_len = len;
    f->pattern_ok = true;
    for (size_t i = 0; i < len; i++)
        if (buf[i] != (char)('a' + i % 26))
            f->pattern_ok = false;
    unsigned n;
    if (sscanf(buf, "seq:%u", &n) == 1) {
        f->seq_ok = f->seq_ok && n == f->seq_next;
        f->seq_next = n + 1;
    }
    f->n_payloads++;
    if (f->close_on_payload) {
        ss_events_close(f->ev);
        f->ev = NULL;
    }
}

static void on_state(void *ctx, bool up, enum ss_events_reason r)
{
    struct fx *f = ctx;
    if (up) {
        assert_int_equal(r, SS_EVENTS_CONNECTED);
        f->ups++;
    } else {
        assert_int_not_equal(r, SS_EVENTS_CONNECTED);
        f->downs++;
        f->last_down = r;
    }
    if ((up && f->close_on_up) || (!up && f->close_on_down)) {
        ss_events_close(f->ev);
        f->ev = NULL;
    }
}

static const struct ss_events_callbacks cbs = { .on_payload = on_payload, .on_state = on_state };

/* ---- fixture ---- */

static uint64_t fx_now(void *arg)
{
    return ((struct fx *)arg)->now;
}

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));
    if (!f || !(f->lp = loop_new()))
        return -1;
    f->now = 1000000;
    loop_set_clock(f->lp, fx_now, f);
    f->lsn = f->conn = -1;
    f->family = AF_INET;
    f->seq_ok = true;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    ss_events_close(f->ev);
    if (f->conn >= 0)
        close(f->conn);
    if (f->lsn >= 0)
        close(f->lsn);
    loop_free(f->lp);
    free(f);
    return 0;
}

/* A server socket on 127.0.0.1 (or ::1) at f->port (0: any, then kept in f->port),
 * listening or only bound. SO_REUSEPORT lets a second one hold the port while the
 * first still exists. */
static int server_socket(struct fx *f, bool listening)
{
    struct sockaddr_storage ss;
    socklen_t len;
    memset(&ss, 0, sizeof(ss));
    if (f->family == AF_INET6) {
        struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
        s6->sin6_family = AF_INET6;
        s6->sin6_addr = in6addr_loopback;
        s6->sin6_port = htons(f->port);
        len = sizeof(*s6);
    } else {
        struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
        s4->sin_family = AF_INET;
        s4->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        s4->sin_port = htons(f->port);
        len = sizeof(*s4);
    }
    int s = socket(f->family, SOCK_STREAM | SOCK_CLOEXEC, 0), on = 1;
    if (s < 0)
        return -1;
    setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
    setsockopt(s, SOL_SOCKET, SO_REUSEPORT, &on, sizeof(on));
    if (bind(s, (struct sockaddr *)&ss, len) < 0 || (listening && listen(s, 4) < 0) ||
        getsockname(s, (struct sockaddr *)&ss, &len) < 0) {
        close(s);
        return -1;
    }
    f->port = ntohs(f->family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                          : ((struct sockaddr_in *)&ss)->sin_port);
    snprintf(f->endpoint, sizeof(f->endpoint), f->family == AF_INET6 ? "[::1]:%u" : "127.0.0.1:%u",
             f->port);
    return s;
}

static void open_client(struct fx *f)
{
    char err[256];
    if (ss_events_open(&f->ev, f->lp, f->endpoint, &cbs, f, err, sizeof(err)) != 0)
        fail_msg("ss_events_open: %s", err);
}

static struct ss_events_counters counters(struct fx *f)
{
    struct ss_events_counters c;
    ss_events_get_counters(f->ev, &c);
    return c;
}

/* Polls the loop until done(f) or STEPS polls passed; true when done. Timers run only
 * when due on the virtual clock, which this does not move. */
static bool pump_until(struct fx *f, bool (*done)(struct fx *))
{
    for (int i = 0; i < STEPS && !done(f); i++)
        assert_int_equal(loop_run_once(f->lp, STEP_MS), 0);
    return done(f);
}

static bool is_up(struct fx *f) { return f->ev && ss_events_is_up(f->ev); }

static uint64_t want_bytes, want_failures;
static bool got_bytes(struct fx *f) { return counters(f).bytes_in >= want_bytes; }
static bool got_failures(struct fx *f) { return counters(f).connect_failures >= want_failures; }

/* The client connects (its attempt already started), the server accepts. */
static void accept_client(struct fx *f)
{
    f->conn = accept4(f->lsn, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
    assert_true(f->conn >= 0);
    assert_true(pump_until(f, is_up));
}

static void serve_and_connect(struct fx *f)
{
    f->lsn = server_socket(f, true);
    assert_true(f->lsn >= 0);
    open_client(f);
    accept_client(f);
    assert_int_equal(f->ups, 1);
}

/* Writes everything; when the socket is full, lets the client read. */
static void send_all(struct fx *f, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(f->conn, p, n);
        if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            assert_int_equal(loop_run_once(f->lp, STEP_MS), 0);
            continue;
        }
        assert_true(w > 0);
        p += w;
        n -= (size_t)w;
    }
}

/* Sends and waits until the client has read it all (or went down). */
static void send_and_wait(struct fx *f, const char *p, size_t n)
{
    want_bytes = counters(f).bytes_in + n;
    send_all(f, p, n);
    pump_until(f, got_bytes);
}

/* The server's end sees the client's close (EOF, or a reset when data was unread). */
static void assert_server_sees_close(struct fx *f)
{
    char b[256];
    ssize_t n;
    int fl = fcntl(f->conn, F_GETFL);
    fcntl(f->conn, F_SETFL, fl & ~O_NONBLOCK);
    while ((n = read(f->conn, b, sizeof(b))) > 0)
        ;
    assert_true(n == 0 || (n < 0 && errno == ECONNRESET));
    close(f->conn);
    f->conn = -1;
}

/* Moves the virtual clock to the pending retry, which starts the next connect. */
static void run_retry(struct fx *f)
{
    uint64_t due = loop_next_due(f->lp);
    assert_true(due != UINT64_MAX);
    f->now = due;
    loop_run_due(f->lp);
}

static uint64_t retry_in(struct fx *f)
{
    return loop_next_due(f->lp) - f->now;
}

/* ---- the decoder ---- */

static void frame_decoder(void **state)
{
    (void)state;
    static const struct {
        const char *in;
        enum ss_events_frame_rc rc;
        size_t off, plen;
    } cases[] = {
        { "", SS_EVENTS_FRAME_MORE, 0, 0 },
        { "1", SS_EVENTS_FRAME_MORE, 0, 0 },
        { "12", SS_EVENTS_FRAME_MORE, 0, 0 },
        { "3:ab", SS_EVENTS_FRAME_MORE, 0, 0 },
        { "3:abc", SS_EVENTS_FRAME_MORE, 0, 0 },
        { "0:,", SS_EVENTS_FRAME_WHOLE, 2, 0 },
        { "3:abc,", SS_EVENTS_FRAME_WHOLE, 2, 3 },
        { "3:abc,5:", SS_EVENTS_FRAME_WHOLE, 2, 3 },
        { "10:0123456789,", SS_EVENTS_FRAME_WHOLE, 3, 10 },
        { "3:a,c,", SS_EVENTS_FRAME_WHOLE, 2, 3 },  /* a comma inside is payload */
        { "65536:", SS_EVENTS_FRAME_MORE, 0, 0 },   /* the cap itself */
        { "65537", SS_EVENTS_FRAME_OVERSIZE, 0, 0 },
        { "99999999999999999999999:", SS_EVENTS_FRAME_OVERSIZE, 0, 0 },
        { ":", SS_EVENTS_FRAME_MALFORMED, 0, 0 },
        { "x", SS_EVENTS_FRAME_MALFORMED, 0, 0 },
        { "{\"event\":\"aor\"}", SS_EVENTS_FRAME_MALFORMED, 0, 0 },
        { "-1:", SS_EVENTS_FRAME_MALFORMED, 0, 0 },
        { "+1:", SS_EVENTS_FRAME_MALFORMED, 0, 0 },
        { " 1:", SS_EVENTS_FRAME_MALFORMED, 0, 0 },
        { "1 :", SS_EVENTS_FRAME_MALFORMED, 0, 0 },
        { "00", SS_EVENTS_FRAME_MALFORMED, 0, 0 },
        { "01:a,", SS_EVENTS_FRAME_MALFORMED, 0, 0 },
        { "3:abcd", SS_EVENTS_FRAME_MALFORMED, 0, 0 },
        { "0:x", SS_EVENTS_FRAME_MALFORMED, 0, 0 },
        { "3:abc;", SS_EVENTS_FRAME_MALFORMED, 0, 0 },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        size_t off = 99, plen = 99, len = strlen(cases[i].in);
        enum ss_events_frame_rc rc =
            ss_events_frame(cases[i].in, len, SS_EVENTS_MAX_PAYLOAD, &off, &plen);
        if (rc != cases[i].rc)
            fail_msg("\"%s\": %d, expected %d", cases[i].in, rc, cases[i].rc);
        if (rc == SS_EVENTS_FRAME_WHOLE) {
            assert_int_equal(off, cases[i].off);
            assert_int_equal(plen, cases[i].plen);
        }
    }
    /* A short cap: the length is refused at the digit that passes it. */
    size_t off, plen;
    assert_int_equal(ss_events_frame("17", 2, 16, &off, &plen), SS_EVENTS_FRAME_OVERSIZE);
    assert_int_equal(ss_events_frame("16:", 3, 16, &off, &plen), SS_EVENTS_FRAME_MORE);
    /* No byte past len is looked at: "3:abc" followed by a comma not given. */
    assert_int_equal(ss_events_frame("3:abc,", 5, 16, &off, &plen), SS_EVENTS_FRAME_MORE);
}

static void bad_endpoints_refused(void **state)
{
    struct fx *f = *state;
    static const char *bad[] = {
        "", "127.0.0.1", "127.0.0.1:", "127.0.0.1:0", "127.0.0.1:65536", "127.0.0.1:80x",
        "127.0.0.1:-1", "127.0.0.1:+80", "::1:80", "[::1]80", "[::1]:", "[127.0.0.1]:80",
        "[]:80", ":80", "example.com:80", "1.2.3:80", "127.0.0.1:123456",
    };
    char err[256];
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct ss_events *ev = NULL;
        err[0] = '\0';
        if (ss_events_open(&ev, f->lp, bad[i], &cbs, f, err, sizeof(err)) != -1)
            fail_msg("\"%s\" accepted", bad[i]);
        assert_null(ev);
        assert_non_null(strstr(err, "endpoint"));
    }
    struct ss_events_callbacks none = { 0 };
    struct ss_events *ev = NULL;
    assert_int_equal(ss_events_open(&ev, f->lp, "127.0.0.1:9", &none, f, err, sizeof(err)), -1);
    assert_null(ev);
    /* Good ones open (nothing listens on ::1 port 9 or 127.0.0.1 port 9: they retry). */
    assert_int_equal(ss_events_open(&ev, f->lp, "[::1]:9", &cbs, f, err, sizeof(err)), 0);
    ss_events_close(ev);
    assert_int_equal(ss_events_open(&ev, f->lp, "127.0.0.1:65535", &cbs, f, err, sizeof(err)), 0);
    ss_events_close(ev);
    assert_true(loop_next_due(f->lp) == UINT64_MAX); /* close took its timers */
}

/* ---- payloads ---- */

static void payloads_in_one_write(void **state)
{
    struct fx *f = *state;
    serve_and_connect(f);
    static const char wire[] = "3:abc,0:,5:hello,1:x,28:{\"event\":\"aor\",\"aor\":\"1001\"},";
    send_and_wait(f, wire, sizeof(wire) - 1);
    assert_int_equal(f->n_payloads, 5);
    assert_string_equal(f->kept[0], "abc");
    assert_int_equal(f->kept_len[1], 0);
    assert_string_equal(f->kept[1], "");
    assert_string_equal(f->kept[2], "hello");
    assert_string_equal(f->kept[3], "x");
    assert_string_equal(f->kept[4], "{\"event\":\"aor\",\"aor\":\"1001\"}");
    struct ss_events_counters c = counters(f);
    assert_int_equal(c.payloads, 5);
    assert_int_equal(c.payload_bytes, 3 + 0 + 5 + 1 + 28);
    assert_int_equal(c.bytes_in, sizeof(wire) - 1);
    assert_int_equal(c.attempts, 1);
    assert_int_equal(c.connects, 1);
    assert_int_equal(c.framing_errors, 0);
    assert_true(c.up);
    assert_int_equal(f->downs, 0);
}

/* 10,000 frames (~110 KB) in one go: more than the client's buffer, so frames straddle
 * its reads; every one arrives, in order. */
static void many_payloads_across_reads(void **state)
{
    struct fx *f = *state;
    serve_and_connect(f);
    size_t cap = 10000 * 32, n = 0;
    char *wire = malloc(cap);
    assert_non_null(wire);
    for (unsigned i = 0; i < 10000; i++) {
        char p[24];
        int pl = snprintf(p, sizeof(p), "seq:%u", i);
        n += (size_t)snprintf(wire + n, cap - n, "%d:%s,", pl, p);
    }
    send_and_wait(f, wire, n);
    free(wire);
    assert_int_equal(f->n_payloads, 10000);
    assert_true(f->seq_ok);
    assert_int_equal(f->seq_next, 10000);
    assert_true(counters(f).bytes_in > 65536);
    assert_int_equal(f->downs, 0);
}

static void payload_split_byte_by_byte(void **state)
{
    struct fx *f = *state;
    serve_and_connect(f);
    static const char wire[] = "11:hello world,0:,2:ok,";
    for (size_t i = 0; i < sizeof(wire) - 1; i++) {
        send_and_wait(f, &wire[i], 1);
        assert_int_equal(counters(f).bytes_in, i + 1);
        /* each payload exactly when its comma arrives */
        size_t want = i < 14 ? 0 : i < 17 ? 1 : i < 22 ? 2 : 3;
        if (f->n_payloads != want)
            fail_msg("after byte %zu: %zu payloads, expected %zu", i, f->n_payloads, want);
    }
    assert_string_equal(f->kept[0], "hello world");
    assert_string_equal(f->kept[1], "");
    assert_string_equal(f->kept[2], "ok");
    assert_int_equal(f->downs, 0);
}

static char *big_payload(size_t plen, size_t *n)
{
    char *wire = malloc(plen + 16);
    assert_non_null(wire);
    size_t h = (size_t)snprintf(wire, 16, "%zu:", plen);
    for (size_t i = 0; i < plen; i++)
        wire[h + i] = (char)('a' + i % 26);
    wire[h + plen] = ',';
    *n = h + plen + 1;
    return wire;
}

static bool is_down_now(struct fx *f) { return f->downs > 0; }

/* The largest payload passes whole; one byte more drops the connection as soon as the
 * length is read, without waiting for the payload. */
static void largest_payload_then_oversize(void **state)
{
    struct fx *f = *state;
    serve_and_connect(f);
    size_t n;
    char *wire = big_payload(SS_EVENTS_MAX_PAYLOAD, &n);
    send_and_wait(f, wire, n);
    free(wire);
    assert_int_equal(f->n_payloads, 1);
    assert_int_equal(f->last_len, SS_EVENTS_MAX_PAYLOAD);
    assert_true(f->pattern_ok);
    send_all(f, "65537:", 6);
    assert_true(pump_until(f, is_down_now));
    assert_int_equal(f->last_down, SS_EVENTS_OVERSIZE);
    struct ss_events_counters c = counters(f);
    assert_int_equal(c.disconnects[SS_EVENTS_OVERSIZE], 1);
    assert_int_equal(c.framing_errors, 1);
    assert_false(c.up);
    assert_int_equal(f->n_payloads, 1);
    assert_server_sees_close(f);
    /* It reconnects after the backoff and works again. */
    assert_int_equal(retry_in(f), SS_EVENTS_RETRY_MIN_MS);
    run_retry(f);
    accept_client(f);
    send_and_wait(f, "2:ok,", 5);
    assert_int_equal(f->n_payloads, 2);
    assert_string_equal(f->kept[1], "ok");
}

/* Each bad stream drops the connection with MALFORMED; the frames before it in the
 * same stream were delivered; the client reconnects every time. */
static void malformed_streams(void **state)
{
    struct fx *f = *state;
    static const struct {
        const char *wire;
        size_t payloads; /* delivered before the error */
    } bad[] = {
        { "x:", 0 },
        { ":", 0 },
        { "01:a,", 0 },
        { "00:,", 0 },
        { "-1:", 0 },
        { "3:abcX", 0 },                 /* missing comma */
        { "1:a,1:bX", 1 },               /* the first frame passes */
        { "2:ok,\n", 1 },                /* nothing between frames, not even a newline */
        { "{\"event\":\"aor\",\"aor\":\"1001\"}", 0 }, /* netstring_format 0 */
    };
    serve_and_connect(f);
    size_t before = 0;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int downs = f->downs;
        send_all(f, bad[i].wire, strlen(bad[i].wire));
        for (int s = 0; s < STEPS && f->downs == downs; s++)
            assert_int_equal(loop_run_once(f->lp, STEP_MS), 0);
        if (f->downs != downs + 1 || f->last_down != SS_EVENTS_MALFORMED)
            fail_msg("\"%s\": downs %d, reason %d", bad[i].wire, f->downs - downs, f->last_down);
        assert_int_equal(f->n_payloads - before, bad[i].payloads);
        before = f->n_payloads;
        assert_server_sees_close(f);
        run_retry(f);
        accept_client(f);
    }
    struct ss_events_counters c = counters(f);
    size_t nbad = sizeof(bad) / sizeof(bad[0]);
    assert_int_equal(c.disconnects[SS_EVENTS_MALFORMED], nbad);
    assert_int_equal(c.framing_errors, nbad);
    assert_int_equal(c.connects, nbad + 1);
    assert_int_equal(f->ups, (int)nbad + 1);
}

static void eof_drops_incomplete_frame(void **state)
{
    struct fx *f = *state;
    serve_and_connect(f);
    send_all(f, "2:ok,5:ab", 9);
    close(f->conn);
    f->conn = -1;
    assert_true(pump_until(f, is_down_now));
    assert_int_equal(f->last_down, SS_EVENTS_EOF);
    assert_int_equal(f->n_payloads, 1);
    assert_int_equal(counters(f).disconnects[SS_EVENTS_EOF], 1);
    assert_int_equal(counters(f).framing_errors, 0);
}

/* ---- connection life ---- */

/* The server goes away (connection and listener); the client goes down, is refused,
 * and comes up again once the port listens again. */
static void server_close_and_relisten(void **state)
{
    struct fx *f = *state;
    serve_and_connect(f);
    int again = server_socket(f, false); /* holds the port: refuses for now */
    assert_true(again >= 0);
    close(f->conn);
    f->conn = -1;
    close(f->lsn);
    f->lsn = again;
    assert_true(pump_until(f, is_down_now));
    assert_int_equal(f->last_down, SS_EVENTS_EOF);
    assert_false(ss_events_is_up(f->ev));
    assert_int_equal(retry_in(f), 100); /* it lived 0 ms: no reset, but the first retry */
    run_retry(f);
    want_failures = 1;
    assert_true(pump_until(f, got_failures));
    assert_int_equal(counters(f).last_errno, ECONNREFUSED);
    assert_int_equal(retry_in(f), 200);
    assert_int_equal(f->downs, 1); /* a refused attempt is no state change */
    assert_int_equal(listen(f->lsn, 4), 0);
    run_retry(f);
    accept_client(f);
    assert_int_equal(f->ups, 2);
    send_and_wait(f, "5:again,", 9);
    assert_string_equal(f->kept[0], "again");
    struct ss_events_counters c = counters(f);
    assert_int_equal(c.attempts, 3);
    assert_int_equal(c.connects, 2);
    assert_int_equal(c.connect_failures, 1);
    assert_int_equal(c.disconnects[SS_EVENTS_EOF], 1);
}

/* Nothing listens at start: retries at 100, 200, 400 ... 5000, 5000 ms on the virtual
 * clock. A connection that ends at once goes on with the series; one that lived
 * SS_EVENTS_STABLE_MS starts it again. */
static void refused_at_start_backoff(void **state)
{
    struct fx *f = *state;
    f->lsn = server_socket(f, false);
    assert_true(f->lsn >= 0);
    open_client(f);
    static const uint64_t series[] = { 100, 200, 400, 800, 1600, 3200, 5000, 5000, 5000 };
    for (size_t i = 0; i < sizeof(series) / sizeof(series[0]); i++) {
        want_failures = i + 1;
        assert_true(pump_until(f, got_failures));
        assert_int_equal(counters(f).connect_failures, i + 1);
        assert_int_equal(retry_in(f), series[i]);
        assert_int_equal(counters(f).retry_delay_ms, series[i]);
        run_retry(f);
    }
    want_failures = 10;
    assert_true(pump_until(f, got_failures));
    assert_int_equal(f->ups + f->downs, 0);
    /* The server appears: up at the next retry, which is still 5 s away. */
    assert_int_equal(retry_in(f), 5000);
    assert_int_equal(listen(f->lsn, 4), 0);
    run_retry(f);
    accept_client(f);
    assert_int_equal(f->ups, 1);
    /* Closed at once (as evapi does above max_clients): no reset, 5000 again. */
    close(f->conn);
    f->conn = -1;
    assert_true(pump_until(f, is_down_now));
    assert_int_equal(retry_in(f), 5000);
    run_retry(f);
    accept_client(f);
    /* This one lives SS_EVENTS_STABLE_MS: the series starts again. */
    f->now += SS_EVENTS_STABLE_MS;
    close(f->conn);
    f->conn = -1;
    int downs = f->downs;
    for (int s = 0; s < STEPS && f->downs == downs; s++)
        assert_int_equal(loop_run_once(f->lp, STEP_MS), 0);
    assert_int_equal(f->downs, downs + 1);
    assert_int_equal(retry_in(f), SS_EVENTS_RETRY_MIN_MS);
    struct ss_events_counters c = counters(f);
    assert_int_equal(c.attempts, 12);
    assert_int_equal(c.connects, 2);
    assert_int_equal(c.connect_failures, 10);
    assert_int_equal(c.disconnects[SS_EVENTS_EOF], 2);
}

/* A listener whose accept queue is full drops the SYN: the connect hangs, and the
 * client gives it up after SS_EVENTS_CONNECT_TIMEOUT_MS of the virtual clock. */
static void connect_timeout(void **state)
{
    struct fx *f = *state;
    f->lsn = server_socket(f, false);
    assert_true(f->lsn >= 0);
    assert_int_equal(listen(f->lsn, 0), 0); /* room for one queued connection */
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(f->port),
                              .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    int filler = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_int_equal(connect(filler, (struct sockaddr *)&sa, sizeof(sa)), 0);
    open_client(f);
    assert_int_equal(loop_run_once(f->lp, 50), 0); /* nothing happens... */
    assert_int_equal(counters(f).connect_failures, 0);
    assert_int_equal(retry_in(f), SS_EVENTS_CONNECT_TIMEOUT_MS);
    run_retry(f);                                   /* ...until the timeout */
    struct ss_events_counters c = counters(f);
    assert_int_equal(c.connect_failures, 1);
    assert_int_equal(c.last_errno, ETIMEDOUT);
    assert_int_equal(retry_in(f), SS_EVENTS_RETRY_MIN_MS);
    assert_int_equal(f->ups + f->downs, 0);
    close(filler);
}

static void ipv6_endpoint(void **state)
{
    struct fx *f = *state;
    f->family = AF_INET6;
    f->lsn = server_socket(f, true);
    if (f->lsn < 0)
        skip(); /* no ::1 here */
    open_client(f);
    accept_client(f);
    send_and_wait(f, "4:six!,", 7);
    assert_string_equal(f->kept[0], "six!");
}

/* ---- closing from callbacks ---- */

static void close_in_payload(void **state)
{
    struct fx *f = *state;
    serve_and_connect(f);
    f->close_on_payload = true;
    send_all(f, "1:a,1:b,1:c,", 12);
    for (int s = 0; s < STEPS && f->n_payloads == 0; s++)
        assert_int_equal(loop_run_once(f->lp, STEP_MS), 0);
    assert_null(f->ev);
    assert_int_equal(f->n_payloads, 1);  /* nothing after the close */
    assert_int_equal(f->downs, 0);
    assert_true(loop_next_due(f->lp) == UINT64_MAX);
    assert_server_sees_close(f);
    assert_int_equal(loop_run_once(f->lp, 0), 0);
}

static void close_in_state_down(void **state)
{
    struct fx *f = *state;
    serve_and_connect(f);
    f->close_on_down = true;
    close(f->conn);
    f->conn = -1;
    assert_true(pump_until(f, is_down_now));
    assert_null(f->ev);
    assert_true(loop_next_due(f->lp) == UINT64_MAX); /* no retry left behind */
    assert_int_equal(loop_run_once(f->lp, 0), 0);
}

static void close_in_state_up(void **state)
{
    struct fx *f = *state;
    f->close_on_up = true;
    f->lsn = server_socket(f, true);
    assert_true(f->lsn >= 0);
    open_client(f);
    f->conn = accept4(f->lsn, NULL, NULL, SOCK_CLOEXEC);
    assert_true(f->conn >= 0);
    for (int s = 0; s < STEPS && f->ups == 0; s++)
        assert_int_equal(loop_run_once(f->lp, STEP_MS), 0);
    assert_int_equal(f->ups, 1);
    assert_null(f->ev);
    assert_true(loop_next_due(f->lp) == UINT64_MAX);
    assert_server_sees_close(f);
}

static void close_while_connecting(void **state)
{
    struct fx *f = *state;
    f->lsn = server_socket(f, true);
    assert_true(f->lsn >= 0);
    open_client(f);
    ss_events_close(f->ev); /* no loop turn yet: no callback, nothing left */
    f->ev = NULL;
    assert_true(loop_next_due(f->lp) == UINT64_MAX);
    assert_int_equal(loop_run_once(f->lp, 0), 0);
    assert_int_equal(f->ups + f->downs, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(frame_decoder),
        cmocka_unit_test_setup_teardown(bad_endpoints_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(payloads_in_one_write, setup, teardown),
        cmocka_unit_test_setup_teardown(many_payloads_across_reads, setup, teardown),
        cmocka_unit_test_setup_teardown(payload_split_byte_by_byte, setup, teardown),
        cmocka_unit_test_setup_teardown(largest_payload_then_oversize, setup, teardown),
        cmocka_unit_test_setup_teardown(malformed_streams, setup, teardown),
        cmocka_unit_test_setup_teardown(eof_drops_incomplete_frame, setup, teardown),
        cmocka_unit_test_setup_teardown(server_close_and_relisten, setup, teardown),
        cmocka_unit_test_setup_teardown(refused_at_start_backoff, setup, teardown),
        cmocka_unit_test_setup_teardown(connect_timeout, setup, teardown),
        cmocka_unit_test_setup_teardown(ipv6_endpoint, setup, teardown),
        cmocka_unit_test_setup_teardown(close_in_payload, setup, teardown),
        cmocka_unit_test_setup_teardown(close_in_state_down, setup, teardown),
        cmocka_unit_test_setup_teardown(close_in_state_up, setup, teardown),
        cmocka_unit_test_setup_teardown(close_while_connecting, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
