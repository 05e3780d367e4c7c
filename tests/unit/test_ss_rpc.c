/* test_ss_rpc.c — the JSON-RPC client on a real loop against a real HTTP/1.1 server on
 * loopback, forked by the test (one process per connection, keep-alive): a captured
 * Kamailio reply replayed byte for byte and parsed by ss_json as it streams in; an RPC
 * error under HTTP 500; the request as sent (body, Content-Type, no Expect); 1,000
 * sequential calls on one connection; parallel calls on at most SS_RPC_INFLIGHT_MAX;
 * connection refused; a server that never answers (timeout, the loop runs on); replies
 * past the cap, announced or streamed; broken HTTP; the sink stopping a call; queue
 * limits; free with calls queued and on the wire, and from inside done. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <curl/curl.h>

#include "loop.h"
#include "ss_json.h"
#include "ss_rpc.h"

#define BIG_STREAM (2u * 1024u * 1024u)
#define SMALL_CAP (1024u * 1024u)
#define REQ_BUF (128u * 1024u)

/* ---------- a loopback HTTP/1.1 server in a child process ---------- */

struct server {
    pid_t pid; /* leads a process group: its connection children die with it */
    int port;
    int silent_fd; /* listens, never accepts: requests to it get no answer */
    int silent_port;
    int closed_port; /* nothing listens there: connection refused */
};

/* The server's state is static, not on the heap: its children exit without freeing,
 * and valgrind would report their inherited blocks as leaks. */
static struct server server;
static char captured[1 << 16]; /* ul_lookup_1aor_2contacts.http: Kamailio's bytes */
static size_t captured_len;
static char captured_error[1 << 16]; /* ul_lookup_unknown_aor.json */
static size_t captured_error_len;
static char conn_buf[REQ_BUF];

static void slurp(const char *rel, char *buf, size_t cap, size_t *len)
{
    const char *src = getenv("SIPHA_SRC");
    char path[1024];
    snprintf(path, sizeof path, "%s/tests/data/kamailio/%s", src && *src ? src : ".", rel);
    FILE *f = fopen(path, "rb");
    if (!f)
        fail_msg("cannot open %s", path);
    *len = fread(buf, 1, cap, f);
    fclose(f);
}

static int listen_loopback(int *port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(fd >= 0);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = 0 };
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(listen(fd, 64), 0);
    socklen_t len = sizeof a;
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    *port = ntohs(a.sin_port);
    return fd;
}

static bool put(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w <= 0)
            return false; /* the client hung up (reply cap): fine */
        p += w;
        n -= (size_t)w;
    }
    return true;
}

/* Answers like Kamailio's xhttp: the stray Sia header, JSON, a length; in one write
 * (two small ones would meet Nagle and the delayed ACK: 40 ms a call). */
static void answer(int c, const char *status, const char *body, size_t len)
{
    static char out[REQ_BUF + 512];
    int n = snprintf(out, sizeof out,
                     "HTTP/1.1 %s\r\nSia: SIP/2.0/TCP 127.0.0.1:40894\r\nContent-Type: "
                     "application/json\r\nServer: test\r\nContent-Length: %zu\r\n\r\n",
                     status, len);
    if (len > sizeof out - (size_t)n)
        _exit(1);
    memcpy(out + n, body, len);
    put(c, out, (size_t)n + len);
}

struct req {
    char path[64];
    size_t head_len, body_len;
    bool json, expect;
    const char *body;
};

/* Reads one request into buf (which may hold the start of it already); false at EOF. */
static bool read_request(int c, char *buf, size_t *have, struct req *q)
{
    char *end;
    for (;;) {
        buf[*have] = '\0';
        if ((end = strstr(buf, "\r\n\r\n")) != NULL)
            break;
        ssize_t n = recv(c, buf + *have, REQ_BUF - 1 - *have, 0);
        if (n <= 0)
            return false;
        *have += (size_t)n;
    }
    *end = '\0'; /* the head as one string, for the searches below */
    q->head_len = (size_t)(end - buf) + 4;
    const char *cl = strcasestr(buf, "\r\nContent-Length:");
    q->body_len = cl ? strtoul(cl + 17, NULL, 10) : 0;
    q->json = strcasestr(buf, "\r\nContent-Type: application/json") != NULL;
    q->expect = strcasestr(buf, "\r\nExpect:") != NULL;
    if (sscanf(buf, "POST %63s HTTP/1.1", q->path) != 1)
        q->path[0] = '\0';
    *end = '\r';
    if (q->head_len + q->body_len >= REQ_BUF)
        return false;
    while (*have < q->head_len + q->body_len) {
        ssize_t n = recv(c, buf + *have, REQ_BUF - 1 - *have, 0);
        if (n <= 0)
            return false;
        *have += (size_t)n;
    }
    q->body = buf + q->head_len;
    return true;
}

/* Answers one request; false closes the connection. */
static bool serve_one(int c, const struct req *q, unsigned conn, unsigned nreq)
{
    char body[256];
    if (!q->json) {
        answer(c, "415 Unsupported Media Type", "{}", 2);
    } else if (q->expect) {
        answer(c, "417 Expectation Failed", "{}", 2);
    } else if (!strcmp(q->path, "/rpc")) {
        int n = snprintf(body, sizeof body, "{\"jsonrpc\":\"2.0\",\"result\":{\"conn\":%u,"
                         "\"req\":%u,\"len\":%zu},\"id\":1}", conn, nreq, q->body_len);
        answer(c, "200 OK", body, (size_t)n);
    } else if (!strcmp(q->path, "/echo")) {
        answer(c, "200 OK", q->body, q->body_len);
    } else if (!strcmp(q->path, "/lookup")) {
        put(c, captured, captured_len);
    } else if (!strcmp(q->path, "/error")) {
        answer(c, "500 AOR not found in location table", captured_error, captured_error_len);
    } else if (!strcmp(q->path, "/garbage")) {
        put(c, "NOT HTTP AT ALL\r\n\r\n", 19);
        return false;
    } else if (!strcmp(q->path, "/close")) {
        return false;
    } else if (!strcmp(q->path, "/cut")) {
        const char *h = "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n{\"result\":";
        put(c, h, strlen(h));
        return false;
    } else if (!strcmp(q->path, "/announce-big")) {
        const char *h = "HTTP/1.1 200 OK\r\nContent-Length: 100000000\r\n\r\n";
        put(c, h, strlen(h));
        return false;
    } else if (!strcmp(q->path, "/big")) {
        const char *h = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                        "Connection: close\r\n\r\n";
        static char chunk[64 * 1024];
        memset(chunk, ' ', sizeof chunk);
        put(c, h, strlen(h));
        for (size_t sent = 0; sent < BIG_STREAM && put(c, chunk, sizeof chunk);)
            sent += sizeof chunk;
        return false;
    } else {
        answer(c, "404 Not Found", "{}", 2);
    }
    return true;
}

static void serve_conn(int c, unsigned conn)
{
    char *buf = conn_buf;
    size_t have = 0;
    struct req q;
    for (unsigned nreq = 1; read_request(c, buf, &have, &q); nreq++) {
        if (!serve_one(c, &q, conn, nreq))
            break;
        size_t used = q.head_len + q.body_len;
        memmove(buf, buf + used, have - used);
        have -= used;
    }
    _exit(0);
}

static void serve_forever(int lfd)
{
    signal(SIGCHLD, SIG_IGN); /* connection children reap themselves */
    alarm(300);               /* never outlive a stuck test run */
    for (unsigned conn = 1;; conn++) {
        int c = accept(lfd, NULL, NULL);
        if (c < 0)
            continue;
        int one = 1;
        setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        pid_t pid = fork();
        if (pid == 0) {
            prctl(PR_SET_PDEATHSIG, SIGKILL);
            close(lfd);
            serve_conn(c, conn);
        }
        close(c);
    }
}

static int server_setup(void **state)
{
    struct server *s = &server;
    slurp("ul_lookup_1aor_2contacts.http", captured, sizeof captured, &captured_len);
    slurp("ul_lookup_unknown_aor.json", captured_error, sizeof captured_error,
          &captured_error_len);
    int lfd = listen_loopback(&s->port);
    s->silent_fd = listen_loopback(&s->silent_port);
    int gone = listen_loopback(&s->closed_port);
    close(gone);
    fflush(NULL);
    s->pid = fork();
    assert_true(s->pid >= 0);
    if (s->pid == 0) {
        /* dies with the test even when the test dies before its teardown */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() == 1)
            _exit(0);
        setpgid(0, 0);
        close(s->silent_fd);
        signal(SIGPIPE, SIG_IGN);
        serve_forever(lfd);
    }
    setpgid(s->pid, s->pid); /* also here: no race with the kill below */
    close(lfd);
    *state = s;
    return 0;
}

static int server_teardown(void **state)
{
    struct server *s = *state;
    kill(-s->pid, SIGKILL);
    waitpid(s->pid, NULL, 0);
    close(s->silent_fd);
    return 0;
}

static void url_at(int port, const char *path, char *buf, size_t len)
{
    snprintf(buf, len, "http://127.0.0.1:%d%s", port, path);
}

/* ---------- calls and what they saw ---------- */

struct call {
    unsigned *done_count; /* shared by the calls of one test */
    bool done;
    struct ss_rpc_result res;
    char error[CURL_ERROR_SIZE + 64];
    char body[8192]; /* the reply's start */
    size_t body_len;
    uint64_t sink_bytes;
    uint64_t turn_bytes, max_turn_bytes; /* body bytes within one loop turn */
    unsigned turn;
    bool sink_stop;
    struct ss_json *parser; /* when set, the body goes through it too */
    struct ss_rpc **free_in_done;
};

static unsigned loop_turns; /* run_until's loop_run_once calls so far */

static int sink(void *arg, const char *buf, size_t len)
{
    struct call *c = arg;
    if (c->turn != loop_turns) {
        c->turn = loop_turns;
        c->turn_bytes = 0;
    }
    c->turn_bytes += len;
    if (c->turn_bytes > c->max_turn_bytes)
        c->max_turn_bytes = c->turn_bytes;
    size_t room = sizeof c->body - 1 - c->body_len;
    size_t n = len < room ? len : room;
    memcpy(c->body + c->body_len, buf, n);
    c->body_len += n;
    c->body[c->body_len] = '\0';
    c->sink_bytes += len;
    if (c->parser)
        ss_json_feed(c->parser, buf, len);
    return c->sink_stop;
}

static void on_done(void *arg, const struct ss_rpc_result *r)
{
    struct call *c = arg;
    assert_false(c->done); /* once */
    c->done = true;
    c->res = *r;
    snprintf(c->error, sizeof c->error, "%s", r->error);
    c->res.error = c->error;
    if (c->done_count)
        (*c->done_count)++;
    if (c->free_in_done) {
        ss_rpc_free(*c->free_in_done);
        *c->free_in_done = NULL;
    }
}

/* Runs the loop until fn(arg) holds, at most max_ms; returns whether it held. */
static bool run_until(struct loop *lp, bool (*fn)(const void *), const void *arg,
                      uint64_t max_ms)
{
    uint64_t end = loop_now_ms() + max_ms;
    while (!fn(arg)) {
        if (loop_now_ms() > end)
            return false;
        loop_turns++;
        assert_int_equal(loop_run_once(lp, 20), 0);
    }
    return true;
}

static bool call_done(const void *arg)
{
    return ((const struct call *)arg)->done;
}

static struct ss_rpc *rpc_new(struct loop *lp, int port, const char *path, uint32_t timeout_ms)
{
    char url[128], err[256] = "";
    url_at(port, path, url, sizeof url);
    struct ss_rpc *rpc = ss_rpc_new(lp, url, timeout_ms, err, sizeof err);
    if (!rpc)
        fail_msg("%s: %s", url, err);
    return rpc;
}

/* One call on a fresh client, run to its end. */
static void one_call(int port, const char *path, uint32_t timeout_ms, uint64_t cap,
                     struct call *c, struct ss_rpc_stats *st)
{
    struct loop *lp = loop_new();
    struct ss_rpc *rpc = rpc_new(lp, port, path, timeout_ms);
    if (cap)
        ss_rpc_set_reply_max(rpc, cap);
    const char *body = "{\"jsonrpc\":\"2.0\",\"method\":\"core.version\",\"id\":1}";
    assert_int_equal(ss_rpc_call(rpc, body, strlen(body), sink, on_done, c), 0);
    assert_false(c->done); /* never from inside ss_rpc_call */
    assert_true(run_until(lp, call_done, c, 10000));
    if (st)
        ss_rpc_get_stats(rpc, st);
    ss_rpc_free(rpc);
    loop_free(lp);
}

/* ---------- tests ---------- */

/* Kamailio's own bytes (Sia header included), parsed as they stream in. */
static void test_real_reply_parsed(void **state)
{
    struct server *s = *state;
    struct call c = { .parser = ss_json_new(NULL, NULL, NULL) };
    struct ss_rpc_stats st;
    one_call(s->port, "/lookup", 5000, 0, &c, &st);
    assert_int_equal(c.res.outcome, SS_RPC_ANSWERED);
    assert_int_equal(c.res.http_status, 200);
    assert_string_equal(c.res.error, "");
    assert_int_equal(c.res.reply_bytes, 1529);
    assert_int_equal(c.sink_bytes, 1529);
    assert_int_equal(ss_json_finish(c.parser), SS_JSON_OK);
    assert_int_equal(ss_json_result(c.parser)->contacts, 2);
    ss_json_free(c.parser);
    assert_int_equal(st.calls, 1);
    assert_int_equal(st.answered, 1);
    assert_int_equal(st.http_errors, 0);
    assert_int_equal(st.bytes_received, 1529);
    assert_int_equal(st.connects, 1);
    assert_int_equal(st.queued + st.in_flight, 0);
}

/* A JSON-RPC error comes under HTTP 500: answered, its body read all the same. */
static void test_rpc_error_under_500(void **state)
{
    struct server *s = *state;
    struct call c = { .parser = ss_json_new(NULL, NULL, NULL) };
    struct ss_rpc_stats st;
    one_call(s->port, "/error", 5000, 0, &c, &st);
    assert_int_equal(c.res.outcome, SS_RPC_ANSWERED);
    assert_int_equal(c.res.http_status, 500);
    assert_int_equal(ss_json_finish(c.parser), SS_JSON_RPC_ERROR);
    assert_int_equal(ss_json_result(c.parser)->rpc_code, 500);
    ss_json_free(c.parser);
    assert_int_equal(st.answered, 1);
    assert_int_equal(st.http_errors, 1);
}

/* The body arrives whole, as JSON, with no Expect (the server answers 415 or 417). */
static void test_request_as_sent(void **state)
{
    struct server *s = *state;
    struct loop *lp = loop_new();
    struct ss_rpc *rpc = rpc_new(lp, s->port, "/echo", 5000);
    char *body = malloc(SS_RPC_BODY_MAX);
    for (size_t i = 0; i < SS_RPC_BODY_MAX; i++)
        body[i] = (char)('a' + i % 26);
    struct call big = { 0 }, empty = { 0 };
    assert_int_equal(ss_rpc_call(rpc, body, SS_RPC_BODY_MAX, sink, on_done, &big), 0);
    assert_int_equal(ss_rpc_call(rpc, "", 0, sink, on_done, &empty), 0);
    assert_int_equal(ss_rpc_call(rpc, body, SS_RPC_BODY_MAX + 1, sink, on_done, &big), -1);
    assert_int_equal(ss_rpc_call(rpc, body, 1, sink, NULL, NULL), -1);
    memset(body, 'z', SS_RPC_BODY_MAX); /* the call keeps its own copy */
    assert_true(run_until(lp, call_done, &big, 10000));
    assert_true(run_until(lp, call_done, &empty, 10000));
    assert_int_equal(big.res.http_status, 200);
    assert_int_equal(big.sink_bytes, SS_RPC_BODY_MAX);
    for (size_t i = 0; i < sizeof big.body - 1; i++)
        assert_int_equal(big.body[i], (char)('a' + i % 26));
    assert_int_equal(empty.res.http_status, 200);
    assert_int_equal(empty.sink_bytes, 0);
    struct ss_rpc_stats st;
    ss_rpc_get_stats(rpc, &st);
    assert_int_equal(st.calls, 2);
    assert_int_equal(st.refused, 2);
    assert_int_equal(st.bytes_sent, SS_RPC_BODY_MAX);
    ss_rpc_free(rpc);
    loop_free(lp);
    free(body);
}

/* 1,000 calls, each made from the done of the one before: one connection for all. */
struct chain {
    struct ss_rpc *rpc;
    unsigned left, answered, conn_changes, max_req;
    int first_conn;
    bool broken;
    struct call c;
};

static bool chain_over(const void *arg)
{
    const struct chain *ch = arg;
    return ch->broken || (ch->left == 0 && ch->c.done);
}

static void chain_next(struct chain *ch);

static int chain_sink(void *arg, const char *buf, size_t len)
{
    struct chain *ch = arg;
    return sink(&ch->c, buf, len);
}

static void chain_done(void *arg, const struct ss_rpc_result *r)
{
    struct chain *ch = arg;
    int conn = -1;
    unsigned req = 0;
    if (r->outcome != SS_RPC_ANSWERED || r->http_status != 200 ||
        sscanf(ch->c.body, "{\"jsonrpc\":\"2.0\",\"result\":{\"conn\":%d,\"req\":%u", &conn,
               &req) != 2) {
        ch->broken = true;
        return;
    }
    ch->answered++;
    if (ch->first_conn < 0)
        ch->first_conn = conn;
    ch->conn_changes += conn != ch->first_conn;
    ch->max_req = req > ch->max_req ? req : ch->max_req;
    ch->c.done = true;
    if (ch->left > 0)
        chain_next(ch);
}

static void chain_next(struct chain *ch)
{
    char body[256];
    int n = ss_json_req_lookup(body, sizeof body, ch->left, "location", "1001@example.com");
    ch->left--;
    ch->c.done = false;
    ch->c.body_len = 0;
    assert_int_equal(ss_rpc_call(ch->rpc, body, (size_t)n, chain_sink, chain_done, ch), 0);
}

static void test_keepalive_reuse(void **state)
{
    struct server *s = *state;
    struct loop *lp = loop_new();
    struct chain ch = { .rpc = rpc_new(lp, s->port, "/rpc", 5000), .left = 1000,
                        .first_conn = -1 };
    chain_next(&ch);
    assert_true(run_until(lp, chain_over, &ch, 120000));
    assert_false(ch.broken);
    assert_int_equal(ch.answered, 1000);
    assert_int_equal(ch.conn_changes, 0); /* the server saw one connection */
    assert_int_equal(ch.max_req, 1000);   /* ... carrying 1,000 requests */
    struct ss_rpc_stats st;
    ss_rpc_get_stats(ch.rpc, &st);
    assert_int_equal(st.connects, 1);
    assert_int_equal(st.answered, 1000);
    assert_int_equal(st.calls, 1000);
    ss_rpc_free(ch.rpc);
    loop_free(lp);
}

/* Many calls at once: all answered, on at most SS_RPC_INFLIGHT_MAX connections. */
#define PARALLEL 12

static bool all_done(const void *arg)
{
    return *(const unsigned *)arg == PARALLEL;
}

static void test_parallel_calls(void **state)
{
    struct server *s = *state;
    struct loop *lp = loop_new();
    struct ss_rpc *rpc = rpc_new(lp, s->port, "/rpc", 5000);
    static struct call c[PARALLEL];
    unsigned done = 0;
    for (unsigned i = 0; i < PARALLEL; i++) {
        c[i] = (struct call){ .done_count = &done };
        assert_int_equal(ss_rpc_call(rpc, "{}", 2, sink, on_done, &c[i]), 0);
    }
    assert_int_equal(ss_rpc_room(rpc), SS_RPC_QUEUE_MAX - PARALLEL);
    assert_true(run_until(lp, all_done, &done, 20000));
    bool seen[64] = { false };
    unsigned conns = 0;
    for (unsigned i = 0; i < PARALLEL; i++) {
        unsigned conn = 0;
        assert_int_equal(c[i].res.http_status, 200);
        assert_int_equal(sscanf(c[i].body, "{\"jsonrpc\":\"2.0\",\"result\":{\"conn\":%u", &conn), 1);
        assert_true(conn < 64);
        conns += !seen[conn];
        seen[conn] = true;
    }
    struct ss_rpc_stats st;
    ss_rpc_get_stats(rpc, &st);
    assert_true(conns >= 1 && conns <= SS_RPC_INFLIGHT_MAX);
    assert_int_equal(st.connects, conns);
    assert_int_equal(ss_rpc_room(rpc), SS_RPC_QUEUE_MAX);
    ss_rpc_free(rpc);
    loop_free(lp);
}

static void test_connection_refused(void **state)
{
    struct server *s = *state;
    struct call c = { 0 };
    struct ss_rpc_stats st;
    one_call(s->closed_port, "/", 5000, 0, &c, &st);
    assert_int_equal(c.res.outcome, SS_RPC_CONNECT);
    assert_int_equal(c.res.http_status, 0);
    assert_true(c.res.error[0] != '\0');
    assert_int_equal(st.connect_failures, 1);
    assert_int_equal(st.answered, 0);
}

static void on_tick(void *arg)
{
    *(uint64_t *)arg = loop_now_ms();
}

/* A server that never answers: the call ends at its timeout, the loop runs meanwhile. */
static void test_timeout(void **state)
{
    struct server *s = *state;
    struct loop *lp = loop_new();
    struct ss_rpc *rpc = rpc_new(lp, s->silent_port, "/", 300);
    struct call c = { 0 };
    uint64_t tick = 0, t0 = loop_now_ms();
    assert_int_equal(ss_rpc_call(rpc, "{}", 2, sink, on_done, &c), 0);
    loop_timer_add(lp, 50, on_tick, &tick);
    assert_true(run_until(lp, call_done, &c, 10000));
    uint64_t took = loop_now_ms() - t0;
    assert_int_equal(c.res.outcome, SS_RPC_TIMEOUT);
    assert_true(took >= 290 && took < 5000);
    assert_true(c.res.elapsed_ms >= 290);
    assert_true(tick != 0 && tick - t0 < 250);
    assert_non_null(strcasestr(c.res.error, "timed out"));
    struct ss_rpc_stats st;
    ss_rpc_get_stats(rpc, &st);
    assert_int_equal(st.timeouts, 1);
    ss_rpc_free(rpc);
    loop_free(lp);
}

static void test_reply_cap(void **state)
{
    struct server *s = *state;
    /* streamed without a length: cut once past the cap */
    struct call c = { 0 };
    struct ss_rpc_stats st;
    one_call(s->port, "/big", 10000, SMALL_CAP, &c, &st);
    assert_int_equal(c.res.outcome, SS_RPC_TOO_LARGE);
    assert_true(c.res.reply_bytes <= SMALL_CAP);
    assert_true(c.sink_bytes <= SMALL_CAP);
    assert_non_null(strstr(c.res.error, "reply larger than 1048576 bytes"));
    assert_int_equal(st.too_large, 1);
    /* a length past the default cap is refused before any byte of the body */
    struct call a = { 0 };
    one_call(s->port, "/announce-big", 10000, 0, &a, NULL);
    assert_int_equal(a.res.outcome, SS_RPC_TOO_LARGE);
    assert_int_equal(a.sink_bytes, 0);
}

/* A fast 2 MB reply reaches the sink whole, but never more than a burst (and the
 * chunk that crossed it) within one loop turn: the loop gets control in between. */
static void test_big_reply_in_bursts(void **state)
{
    struct server *s = *state;
    struct call c = { 0 };
    one_call(s->port, "/big", 10000, 0, &c, NULL);
    assert_int_equal(c.res.outcome, SS_RPC_ANSWERED);
    assert_int_equal(c.sink_bytes, BIG_STREAM);
    assert_int_equal(c.res.reply_bytes, BIG_STREAM);
    print_message("largest piece in one loop turn: %llu bytes\n",
                  (unsigned long long)c.max_turn_bytes);
    assert_true(c.max_turn_bytes <= SS_RPC_BURST_BYTES + CURL_MAX_WRITE_SIZE);
}

static void test_broken_http(void **state)
{
    struct server *s = *state;
    static const char *const paths[] = { "/garbage", "/close", "/cut" };
    for (size_t i = 0; i < 3; i++) {
        struct call c = { 0 };
        struct ss_rpc_stats st;
        one_call(s->port, paths[i], 5000, 0, &c, &st);
        if (c.res.outcome != SS_RPC_PROTOCOL)
            fail_msg("%s: %s (%s)", paths[i], ss_rpc_outcome_name(c.res.outcome), c.res.error);
        assert_true(c.res.error[0] != '\0');
        assert_int_equal(st.protocol_errors, 1);
    }
}

static void test_sink_stops(void **state)
{
    struct server *s = *state;
    struct call c = { .sink_stop = true };
    struct ss_rpc_stats st;
    one_call(s->port, "/lookup", 5000, 0, &c, &st);
    assert_int_equal(c.res.outcome, SS_RPC_SINK);
    assert_int_equal(st.sink_stops, 1);
    assert_true(c.sink_bytes > 0);
}

static bool some_done(const void *arg)
{
    return *(const unsigned *)arg > 0;
}

/* Runs the loop for about ms, whatever happens. */
static void run_for(struct loop *lp, uint64_t ms)
{
    uint64_t tick = 0;
    loop_timer_add(lp, ms, on_tick, &tick);
    for (int i = 0; i < 1000 && !tick; i++)
        assert_int_equal(loop_run_once(lp, 20), 0);
    assert_true(tick != 0);
}

static bool four_in_flight(const void *arg)
{
    struct ss_rpc_stats st;
    ss_rpc_get_stats(arg, &st);
    return st.in_flight == SS_RPC_INFLIGHT_MAX;
}

/* The queue holds SS_RPC_QUEUE_MAX; at most SS_RPC_INFLIGHT_MAX go on the wire; free
 * cancels them all, queued or on the wire, and no done follows. */
static void test_queue_limits_and_free(void **state)
{
    struct server *s = *state;
    struct loop *lp = loop_new();
    struct ss_rpc *rpc = rpc_new(lp, s->silent_port, "/", 60000);
    static struct call c[SS_RPC_QUEUE_MAX + SS_RPC_INFLIGHT_MAX];
    unsigned done = 0;
    for (unsigned i = 0; i < SS_RPC_QUEUE_MAX; i++) {
        c[i] = (struct call){ .done_count = &done };
        assert_int_equal(ss_rpc_call(rpc, "{}", 2, sink, on_done, &c[i]), 0);
    }
    assert_int_equal(ss_rpc_room(rpc), 0);
    struct call extra = { .done_count = &done };
    assert_int_equal(ss_rpc_call(rpc, "{}", 2, sink, on_done, &extra), -1);
    /* the first ones go on the wire, making room */
    assert_true(run_until(lp, four_in_flight, rpc, 10000));
    struct ss_rpc_stats st;
    ss_rpc_get_stats(rpc, &st);
    assert_int_equal(st.in_flight, SS_RPC_INFLIGHT_MAX);
    assert_int_equal(st.queued, SS_RPC_QUEUE_MAX - SS_RPC_INFLIGHT_MAX);
    assert_int_equal(ss_rpc_room(rpc), SS_RPC_INFLIGHT_MAX);
    for (unsigned i = SS_RPC_QUEUE_MAX; i < SS_RPC_QUEUE_MAX + SS_RPC_INFLIGHT_MAX; i++) {
        c[i] = (struct call){ .done_count = &done };
        assert_int_equal(ss_rpc_call(rpc, "{}", 2, sink, on_done, &c[i]), 0);
    }
    assert_int_equal(ss_rpc_call(rpc, "{}", 2, sink, on_done, &extra), -1);
    ss_rpc_get_stats(rpc, &st);
    assert_int_equal(st.refused, 2);
    assert_int_equal(st.calls, SS_RPC_QUEUE_MAX + SS_RPC_INFLIGHT_MAX);
    ss_rpc_free(rpc);
    run_for(lp, 50); /* the loop goes on with nothing of the client left in it */
    assert_int_equal(done, 0);
    loop_free(lp);
    ss_rpc_free(NULL);
}

/* The first done frees the client: the other calls end silently. */
static void test_free_from_done(void **state)
{
    struct server *s = *state;
    struct loop *lp = loop_new();
    struct ss_rpc *rpc = rpc_new(lp, s->port, "/rpc", 5000);
    struct call c[8];
    unsigned done = 0;
    for (unsigned i = 0; i < 8; i++) {
        c[i] = (struct call){ .done_count = &done, .free_in_done = &rpc };
        assert_int_equal(ss_rpc_call(rpc, "{}", 2, sink, on_done, &c[i]), 0);
    }
    assert_true(run_until(lp, some_done, &done, 10000));
    run_for(lp, 100);
    assert_int_equal(done, 1);
    assert_null(rpc);
    loop_free(lp);
}

static void test_bad_urls(void **state)
{
    (void)state;
    struct loop *lp = loop_new();
    static const struct { const char *url, *why; } bad[] = {
        { NULL, "no URL" }, { "", "no URL" },
        { "ftp://127.0.0.1/RPC", "only http:// and https://" },
        { "127.0.0.1:15380/RPC", "only http:// and https://" },
        { "http://", "malformed URL" }, { "http://127.0.0.1:99999/", "malformed URL" },
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char err[256] = "";
        assert_null(ss_rpc_new(lp, bad[i].url, 0, err, sizeof err));
        if (!strstr(err, bad[i].why))
            fail_msg("%s: \"%s\", wanted \"%s\"", bad[i].url ? bad[i].url : "NULL", err,
                     bad[i].why);
    }
    char longurl[SS_RPC_URL_MAX + 32], err[256] = "";
    snprintf(longurl, sizeof longurl, "http://a/%0*d", SS_RPC_URL_MAX, 0);
    assert_null(ss_rpc_new(lp, longurl, 0, err, sizeof err));
    assert_non_null(strstr(err, "longer than"));
    assert_null(ss_rpc_new(NULL, "http://127.0.0.1/", 0, err, sizeof err));
    assert_string_equal(ss_rpc_outcome_name(SS_RPC_TIMEOUT), "timed out");
    loop_free(lp);
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_real_reply_parsed),
        cmocka_unit_test(test_rpc_error_under_500),
        cmocka_unit_test(test_request_as_sent),
        cmocka_unit_test(test_keepalive_reuse),
        cmocka_unit_test(test_parallel_calls),
        cmocka_unit_test(test_connection_refused),
        cmocka_unit_test(test_timeout),
        cmocka_unit_test(test_reply_cap),
        cmocka_unit_test(test_big_reply_in_bursts),
        cmocka_unit_test(test_broken_http),
        cmocka_unit_test(test_sink_stops),
        cmocka_unit_test(test_queue_limits_and_free),
        cmocka_unit_test(test_free_from_done),
        cmocka_unit_test(test_bad_urls),
    };
    int failed = cmocka_run_group_tests_name("ss_rpc", tests, server_setup, server_teardown);
    curl_global_cleanup();
    return failed ? 1 : 0;
}
