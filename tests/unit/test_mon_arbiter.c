/* test_mon_arbiter.c — the arbiter monitor against a real HTTP server on loopback
 * (forked by the test) on a real loop: 200 / 503 / closed gives reachable,
 * unreachable, unreachable with each change reported once; a server that never
 * answers is unreachable after the timeout while the loop keeps running; redirects
 * are not followed; a big body is dropped; bad URLs are refused; close works mid-
 * request and from the callback. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <curl/curl.h>

#include "loop.h"
#include "mon_arbiter.h"

#define BIG_BODY (1024u * 1024u)

/* ---------- a loopback HTTP server in a child process ---------- */

struct server {
    pid_t pid;
    int port;
    int silent_fd;   /* listens, never accepts: requests to it get no answer */
    int silent_port;
    int closed_port; /* nothing listens there: connection refused */
};

static int listen_loopback(int *port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(fd >= 0);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = 0 };
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(listen(fd, 16), 0);
    socklen_t len = sizeof a;
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    *port = ntohs(a.sin_port);
    return fd;
}

static void put(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w <= 0)
            return; /* the client hung up (body cap): fine */
        p += w;
        n -= (size_t)w;
    }
}

static void answer(int c, const char *status, const char *extra, size_t body_len,
                   const char *body)
{
    char head[256];
    int n = snprintf(head, sizeof head,
                     "HTTP/1.1 %s\r\n%sContent-Length: %zu\r\nConnection: close\r\n\r\n",
                     status, extra, body_len);
    put(c, head, (size_t)n);
    put(c, body, body_len);
}

/* Reads one request head; returns its path in `path`, or false. */
static bool read_request(int c, char *path, size_t plen)
{
    char req[2048] = "";
    size_t got = 0;
    while (got < sizeof req - 1 && !strstr(req, "\r\n\r\n")) {
        ssize_t n = recv(c, req + got, sizeof req - 1 - got, 0);
        if (n <= 0)
            return false;
        got += (size_t)n;
        req[got] = '\0';
    }
    char fmt[32];
    snprintf(fmt, sizeof fmt, "GET %%%zus", plen - 1);
    return sscanf(req, fmt, path) == 1;
}

/* /seq answers 200, then 503, then closes without answering; the others always do
 * the same thing. */
static void serve(int c, unsigned *seq, const char *big)
{
    char path[256];
    if (!read_request(c, path, sizeof path))
        return;
    if (!strcmp(path, "/seq")) {
        unsigned k = (*seq)++;
        if (k == 0)
            answer(c, "200 OK", "", 5, "alive");
        else if (k == 1)
            answer(c, "503 Service Unavailable", "", 4, "busy");
    } else if (!strcmp(path, "/ok")) {
        answer(c, "204 No Content", "", 0, "");
    } else if (!strcmp(path, "/redirect")) {
        answer(c, "302 Found", "Location: /ok\r\n", 0, "");
    } else if (!strcmp(path, "/big")) {
        answer(c, "200 OK", "", BIG_BODY, big);
    } else {
        answer(c, "404 Not Found", "", 0, "");
    }
}

static void serve_forever(int lfd)
{
    char *big = malloc(BIG_BODY);
    if (!big)
        _exit(1);
    memset(big, 'b', BIG_BODY);
    unsigned seq = 0;
    alarm(120); /* never outlive a stuck test run */
    for (;;) {
        int c = accept(lfd, NULL, NULL);
        if (c < 0)
            continue;
        serve(c, &seq, big);
        close(c);
    }
}

static int server_setup(void **state)
{
    struct server *s = calloc(1, sizeof(*s));
    assert_non_null(s);
    int lfd = listen_loopback(&s->port);
    s->silent_fd = listen_loopback(&s->silent_port);
    int gone = listen_loopback(&s->closed_port);
    close(gone);
    fflush(NULL);
    s->pid = fork();
    assert_true(s->pid >= 0);
    if (s->pid == 0) {
        signal(SIGPIPE, SIG_IGN);
        serve_forever(lfd);
    }
    close(lfd);
    *state = s;
    return 0;
}

static int server_teardown(void **state)
{
    struct server *s = *state;
    kill(s->pid, SIGKILL);
    waitpid(s->pid, NULL, 0);
    close(s->silent_fd);
    free(s);
    return 0;
}

static void url_at(int port, const char *path, char *buf, size_t len)
{
    snprintf(buf, len, "http://127.0.0.1:%d%s", port, path);
}

/* ---------- recording callbacks, running the loop ---------- */

struct rec {
    struct loop *lp;
    struct mon_arbiter *m;
    int calls;
    bool states[16];
    uint64_t at[16];
    bool close_in_cb;
    uint64_t tick_at;   /* when the side timer fired, 0 = not yet */
};

static void on_state(void *ctx, bool reachable)
{
    struct rec *r = ctx;
    assert_true(r->calls < 16);
    r->states[r->calls] = reachable;
    r->at[r->calls++] = loop_now_ms();
    if (r->close_in_cb) {
        mon_arbiter_close(r->m);
        r->m = NULL;
    }
}

static void on_tick(void *arg)
{
    struct rec *r = arg;
    r->tick_at = loop_now_ms();
}

struct until {
    struct loop *lp;
    bool (*pred)(struct rec *r);
    struct rec *r;
    uint64_t deadline;
    bool ok;
};

static void until_tick(void *arg)
{
    struct until *u = arg;
    if (u->pred(u->r)) {
        u->ok = true;
        loop_stop(u->lp);
    } else if (loop_now_ms() > u->deadline) {
        loop_stop(u->lp);
    } else {
        assert_true(loop_timer_add(u->lp, 5, until_tick, u) > 0);
    }
}

static bool run_until(struct rec *r, bool (*pred)(struct rec *), uint64_t max_ms)
{
    struct until u = { r->lp, pred, r, loop_now_ms() + max_ms, false };
    assert_true(loop_timer_add(r->lp, 0, until_tick, &u) > 0);
    loop_run(r->lp);
    return u.ok;
}

static bool one_call(struct rec *r)
{
    return r->calls >= 1;
}

static bool four_requests(struct rec *r)
{
    struct mon_arbiter_stats st;
    mon_arbiter_get_stats(r->m, &st);
    return st.requests >= 4;
}

static bool five_requests(struct rec *r)
{
    struct mon_arbiter_stats st;
    mon_arbiter_get_stats(r->m, &st);
    return st.requests >= 5;
}

static bool never(struct rec *r)
{
    (void)r;
    return false;
}

static void open_ok(struct rec *r, const char *url, uint32_t interval_ms, uint32_t timeout_ms)
{
    char err[256] = "";
    r->lp = loop_new();
    assert_non_null(r->lp);
    if (mon_arbiter_open(&r->m, r->lp, url, interval_ms, timeout_ms, on_state, r, err,
                         sizeof err) != 0)
        fail_msg("open %s: %s", url, err);
    assert_int_equal(r->calls, 0); /* never from inside open */
    assert_int_equal(mon_arbiter_state(r->m), -1);
}

static void finish(struct rec *r)
{
    mon_arbiter_close(r->m);
    loop_free(r->lp);
}

/* ---------- tests ---------- */

static void test_sequence_reports_changes(void **state)
{
    struct server *s = *state;
    struct rec r = { 0 };
    char url[128];
    url_at(s->port, "/seq", url, sizeof url);
    open_ok(&r, url, 50, 1000);
    uint64_t t0 = loop_now_ms();
    assert_true(run_until(&r, four_requests, 5000));
    /* requests start an interval apart, not back to back: 4 need 3 intervals */
    assert_true(loop_now_ms() - t0 >= 3 * 50);
    /* 200, 503, closed, closed: reachable once, then unreachable once */
    assert_int_equal(r.calls, 2);
    assert_true(r.states[0]);
    assert_false(r.states[1]);
    struct mon_arbiter_stats st;
    mon_arbiter_get_stats(r.m, &st);
    assert_int_equal(st.reachable, 1);
    assert_true(st.unreachable >= 3);
    assert_int_equal(st.requests, st.reachable + st.unreachable);
    assert_int_equal(st.body_bytes, 5 + 4);
    assert_int_equal(mon_arbiter_state(r.m), 0);
    assert_non_null(strcasestr(mon_arbiter_last_error(r.m), "empty reply"));
    finish(&r);
}

static void test_never_answers_times_out(void **state)
{
    struct server *s = *state;
    struct rec r = { 0 };
    char url[128];
    url_at(s->silent_port, "/", url, sizeof url);
    open_ok(&r, url, 1000, 300);
    uint64_t t0 = loop_now_ms();
    loop_timer_add(r.lp, 50, on_tick, &r); /* the loop must go on meanwhile */
    assert_true(run_until(&r, one_call, 5000));
    assert_false(r.states[0]);
    assert_true(r.at[0] - t0 >= 290);
    assert_true(r.at[0] - t0 < 2000);
    assert_true(r.tick_at != 0);
    assert_true(r.tick_at < r.at[0]);
    assert_true(r.tick_at - t0 < 200);
    assert_non_null(strcasestr(mon_arbiter_last_error(r.m), "timed out"));
    finish(&r);
}

static void test_steady_state_reported_once(void **state)
{
    struct server *s = *state;
    struct rec r = { 0 };
    char url[128];
    url_at(s->port, "/ok", url, sizeof url);
    /* a proxy named by the environment is not used: the arbiter itself must answer */
    setenv("http_proxy", "http://127.0.0.1:1", 1);
    open_ok(&r, url, 20, 1000);
    bool done = run_until(&r, five_requests, 5000);
    unsetenv("http_proxy");
    assert_true(done);
    assert_int_equal(r.calls, 1);
    assert_true(r.states[0]);
    assert_int_equal(mon_arbiter_state(r.m), 1);
    assert_string_equal(mon_arbiter_last_error(r.m), "");
    finish(&r);
}

static void test_redirect_not_followed(void **state)
{
    struct server *s = *state;
    struct rec r = { 0 };
    char url[128];
    url_at(s->port, "/redirect", url, sizeof url);
    open_ok(&r, url, 1000, 1000);
    assert_true(run_until(&r, one_call, 5000));
    assert_false(r.states[0]);
    assert_string_equal(mon_arbiter_last_error(r.m), "HTTP status 302");
    finish(&r);

    struct rec n = { 0 };
    url_at(s->port, "/missing", url, sizeof url);
    open_ok(&n, url, 1000, 1000);
    assert_true(run_until(&n, one_call, 5000));
    assert_false(n.states[0]);
    assert_string_equal(mon_arbiter_last_error(n.m), "HTTP status 404");
    finish(&n);
}

static void test_big_body_dropped(void **state)
{
    struct server *s = *state;
    struct rec r = { 0 };
    char url[128];
    url_at(s->port, "/big", url, sizeof url);
    open_ok(&r, url, 1000, 2000);
    assert_true(run_until(&r, one_call, 5000));
    assert_true(r.states[0]); /* 200 came before the body passed the cap */
    struct mon_arbiter_stats st;
    mon_arbiter_get_stats(r.m, &st);
    assert_true(st.body_bytes > MON_ARBITER_BODY_MAX);
    assert_true(st.body_bytes < BIG_BODY);
    finish(&r);
}

static void test_refused(void **state)
{
    struct server *s = *state;
    struct rec r = { 0 };
    char url[128];
    url_at(s->closed_port, "/", url, sizeof url);
    open_ok(&r, url, 1000, 1000);
    assert_true(run_until(&r, one_call, 5000));
    assert_false(r.states[0]);
    assert_true(mon_arbiter_last_error(r.m)[0] != '\0');
    finish(&r);
}

static void expect_refused(struct loop *lp, const char *url, mon_arbiter_cb cb,
                           const char *needle)
{
    struct mon_arbiter *sentinel = (struct mon_arbiter *)&sentinel, *m = sentinel;
    char err[256] = "";
    assert_int_equal(mon_arbiter_open(&m, lp, url, 0, 0, cb, NULL, err, sizeof err), -1);
    assert_ptr_equal(m, sentinel);
    if (!strstr(err, needle))
        fail_msg("expected \"%s\" in \"%s\"", needle, err);
}

static void test_bad_input(void **state)
{
    (void)state;
    struct loop *lp = loop_new();
    char longurl[MON_ARBITER_URL_MAX + 32];
    snprintf(longurl, sizeof longurl, "http://a/%0*d", MON_ARBITER_URL_MAX, 0);
    expect_refused(lp, NULL, on_state, "no URL");
    expect_refused(lp, "", on_state, "no URL");
    expect_refused(lp, "ftp://198.51.100.1/x", on_state, "only http:// and https://");
    expect_refused(lp, "file:///etc/passwd", on_state, "only http:// and https://");
    expect_refused(lp, "198.51.100.1/health", on_state, "only http:// and https://");
    expect_refused(lp, "http://", on_state, "malformed URL");
    expect_refused(lp, "http://exa mple.com/", on_state, "malformed URL");
    expect_refused(lp, "http://198.51.100.1:99999/", on_state, "malformed URL");
    expect_refused(lp, longurl, on_state, "longer than");
    expect_refused(lp, "http://198.51.100.1/", NULL, "no callback");
    mon_arbiter_close(NULL);
    loop_free(lp);
}

static void stop_loop(void *arg)
{
    loop_stop(arg);
}

static void close_mid_request(void *arg)
{
    struct rec *r = arg;
    mon_arbiter_close(r->m);
    r->m = NULL;
}

/* Closed while a request hangs: no callback ever, and the loop runs on. */
static void test_close_in_flight(void **state)
{
    struct server *s = *state;
    struct rec r = { 0 };
    char url[128];
    url_at(s->silent_port, "/", url, sizeof url);
    open_ok(&r, url, 1000, 500);
    loop_timer_add(r.lp, 100, close_mid_request, &r);
    loop_timer_add(r.lp, 800, on_tick, &r);
    loop_timer_add(r.lp, 900, stop_loop, r.lp);
    loop_run(r.lp);
    assert_null(r.m);
    assert_int_equal(r.calls, 0);
    assert_true(r.tick_at != 0);
    loop_free(r.lp);
}

/* The callback closes the monitor: nothing of it may run afterwards. */
static void test_close_from_callback(void **state)
{
    struct server *s = *state;
    struct rec r = { .close_in_cb = true };
    char url[128];
    url_at(s->port, "/ok", url, sizeof url);
    open_ok(&r, url, 10, 1000);
    assert_false(run_until(&r, never, 300));
    assert_int_equal(r.calls, 1);
    assert_null(r.m);
    loop_free(r.lp);
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sequence_reports_changes),
        cmocka_unit_test(test_never_answers_times_out),
        cmocka_unit_test(test_steady_state_reported_once),
        cmocka_unit_test(test_redirect_not_followed),
        cmocka_unit_test(test_big_body_dropped),
        cmocka_unit_test(test_refused),
        cmocka_unit_test(test_bad_input),
        cmocka_unit_test(test_close_in_flight),
        cmocka_unit_test(test_close_from_callback),
    };
    int failed = cmocka_run_group_tests_name("mon_arbiter", tests, server_setup, server_teardown);
    curl_global_cleanup();
    return failed ? 1 : 0;
}
