/* test_mon_probe.c — the probe scheduling core on a fake clock, and the pure helpers
 * (DN URI targets, the OPTIONS request). The "network" is this file: the send hook
 * records each probe (and can say the socket is full), responses are built from the
 * recorded probe and fed back through the real SIP parser. */
#include <arpa/inet.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "mon_probe.h"

#define S 1000000ull /* one second in µs */
#define MAX_SENT 64
#define MAX_EVENTS 256

struct sent {
    size_t pos;
    char call_id[64];
    char branch[80];
    uint32_t cseq;
};

struct fixture {
    struct mon_probe_core *core;
    bool full;                 /* the send hook says "would block" */
    struct sent sent[MAX_SENT];
    size_t nsent;
    uint64_t total_sent;
    struct mon_event ev[MAX_EVENTS];
    size_t nev;
};

static int hook_send(void *ctx, size_t pos, const char *call_id, const char *branch, uint32_t cseq)
{
    struct fixture *f = ctx;
    if (f->full)
        return MON_PROBE_WOULD_BLOCK;
    f->total_sent++;
    if (f->nsent < MAX_SENT) {
        struct sent *s = &f->sent[f->nsent++];
        s->pos = pos;
        snprintf(s->call_id, sizeof(s->call_id), "%s", call_id);
        snprintf(s->branch, sizeof(s->branch), "%s", branch);
        s->cseq = cseq;
    }
    return 0;
}

static void hook_emit(void *ctx, const struct mon_event *ev)
{
    struct fixture *f = ctx;
    if (f->nev < MAX_EVENTS)
        f->ev[f->nev++] = *ev;
}

static struct fixture *fixture_new(const struct mon_probe_core_dn *dns, size_t n, uint64_t now)
{
    struct fixture *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    char err[128];
    f->core = mon_probe_core_new(dns, n, 0x1234abcdu, now, hook_send, f, hook_emit, f,
                                 err, sizeof(err));
    assert_non_null(f->core);
    return f;
}

static void fixture_free(struct fixture *f)
{
    mon_probe_core_free(f->core);
    free(f);
}

static size_t count_kind(const struct fixture *f, enum mon_kind k)
{
    size_t n = 0;
    for (size_t i = 0; i < f->nev; i++)
        n += f->ev[i].kind == k;
    return n;
}

static const struct mon_event *last_kind(const struct fixture *f, enum mon_kind k)
{
    for (size_t i = f->nev; i-- > 0;)
        if (f->ev[i].kind == k)
            return &f->ev[i];
    return NULL;
}

/* A response to a recorded probe, as text, parsed by the real parser. */
static uint32_t respond(struct fixture *f, const struct sent *s, unsigned status,
                        const char *method, uint64_t now)
{
    char text[1024];
    snprintf(text, sizeof(text),
             "SIP/2.0 %u Whatever\r\n"
             "Via: SIP/2.0/UDP 198.51.100.1:5060;branch=%s;rport=5060\r\n"
             "From: <sip:sipha@198.51.100.1>;tag=1\r\n"
             "To: <sip:gw@198.51.100.2>;tag=2\r\n"
             "Call-ID: %s\r\n"
             "CSeq: %u %s\r\n"
             "Content-Length: 0\r\n\r\n",
             status, s->branch, s->call_id, s->cseq, method);
    struct sip_msg m;
    assert_int_equal(sip_parse(&m, text, strlen(text)), SIP_OK);
    return mon_probe_core_response(f->core, &m, now);
}

/* --- scheduling --- */

static void test_probe_cadence_and_timeout(void **state)
{
    (void)state;
    struct mon_probe_core_dn dn = { .index = 7, .oos_check = 2, .oos_force = 10 };
    uint64_t t0 = 1000 * S;
    struct fixture *f = fixture_new(&dn, 1, t0);
    assert_int_equal(mon_probe_core_next_due(f->core), t0);
    assert_int_equal(mon_probe_core_run(f->core, t0, 100), MON_PROBE_RUN_IDLE);
    assert_int_equal(f->nsent, 1);
    assert_int_equal(f->sent[0].cseq, 1);
    assert_int_equal(count_kind(f, MON_PROBE_SENT), 1);
    assert_int_equal(last_kind(f, MON_PROBE_SENT)->u.probe.dn, 7);
    /* the probe times out after min(check, force) = 2 s, when the next one goes */
    assert_int_equal(mon_probe_core_next_due(f->core), t0 + 2 * S);
    mon_probe_core_run(f->core, t0 + 2 * S - 1, 100);
    assert_int_equal(f->nsent, 1);
    assert_int_equal(count_kind(f, MON_PROBE_TIMEOUT), 0);
    mon_probe_core_run(f->core, t0 + 2 * S, 100);
    assert_int_equal(f->nsent, 2);
    assert_int_equal(f->sent[1].cseq, 2);
    assert_string_not_equal(f->sent[0].call_id, f->sent[1].call_id); /* one per probe */
    assert_string_not_equal(f->sent[0].branch, f->sent[1].branch); /* a branch per probe */
    assert_int_equal(count_kind(f, MON_PROBE_TIMEOUT), 1);
    assert_int_equal(mon_probe_core_state(f->core, 0), MON_DN_UNKNOWN);
    fixture_free(f);
}

/* oos_force below 5 counts as 5; out of service 5 s after the first unanswered probe,
 * reported once; any response brings the DN back. */
static void test_out_of_service_and_back(void **state)
{
    (void)state;
    struct mon_probe_core_dn dn = { .index = 3, .oos_check = 1, .oos_force = 2 };
    struct fixture *f = fixture_new(&dn, 1, 0);
    for (uint64_t t = 0; t < 5 * S; t += S / 10)
        mon_probe_core_run(f->core, t, 100);
    assert_int_equal(count_kind(f, MON_DN), 0);
    assert_int_equal(f->nsent, 5);
    mon_probe_core_run(f->core, 5 * S, 100);
    assert_int_equal(count_kind(f, MON_DN), 1);
    const struct mon_event *e = last_kind(f, MON_DN);
    assert_int_equal(e->u.dn.dn, 3);
    assert_false(e->u.dn.in_service);
    assert_int_equal(e->u.dn.status_code, 0);
    assert_int_equal(mon_probe_core_state(f->core, 0), MON_DN_OUT_OF_SERVICE);
    for (uint64_t t = 5 * S; t <= 9 * S; t += S / 10)
        mon_probe_core_run(f->core, t, 100);
    assert_int_equal(count_kind(f, MON_DN), 1); /* not repeated */
    assert_int_equal(count_kind(f, MON_PROBE_TIMEOUT), 9);
    /* a 503 is still an answer: in service */
    struct sent last = f->sent[f->nsent - 1];
    assert_int_equal(respond(f, &last, 503, "OPTIONS", 9 * S + 40000), 3);
    e = last_kind(f, MON_DN);
    assert_true(e->u.dn.in_service);
    assert_int_equal(e->u.dn.status_code, 503);
    assert_int_equal(e->u.dn.rtt_us, 40000);
    assert_int_equal(mon_probe_core_state(f->core, 0), MON_DN_IN_SERVICE);
    fixture_free(f);
}

/* Answers keep a DN in service however long; silence counts from the first
 * unanswered probe, not from the last answer. */
static void test_silence_counts_from_first_unanswered_probe(void **state)
{
    (void)state;
    struct mon_probe_core_dn dn = { .index = 1, .oos_check = 10, .oos_force = 5 };
    struct fixture *f = fixture_new(&dn, 1, 0);
    mon_probe_core_run(f->core, 0, 10);
    respond(f, &f->sent[0], 200, "OPTIONS", 1000);
    assert_int_equal(last_kind(f, MON_DN)->u.dn.rtt_us, 1000);
    /* nothing is due until the next probe at 10 s: no timeout, no transition */
    assert_int_equal(mon_probe_core_next_due(f->core), 10 * S);
    mon_probe_core_run(f->core, 10 * S, 10);
    assert_int_equal(f->nsent, 2);
    mon_probe_core_run(f->core, 15 * S - 1, 10);
    assert_int_equal(mon_probe_core_state(f->core, 0), MON_DN_IN_SERVICE);
    mon_probe_core_run(f->core, 15 * S, 10);
    assert_int_equal(mon_probe_core_state(f->core, 0), MON_DN_OUT_OF_SERVICE);
    assert_int_equal(count_kind(f, MON_PROBE_TIMEOUT), 1);
    fixture_free(f);
}

static void test_response_matching(void **state)
{
    (void)state;
    struct mon_probe_core_dn dns[2] = { { 10, 1, 5 }, { 20, 1, 5 } };
    struct fixture *f = fixture_new(dns, 2, 0);
    mon_probe_core_run(f->core, 0, 10);
    mon_probe_core_run(f->core, S / 2, 10);
    assert_int_equal(f->nsent, 2);
    struct sent a = f->sent[0], b = f->sent[1];
    assert_int_equal(a.pos, 0);
    assert_int_equal(b.pos, 1);
    size_t before = f->nev;

    struct sent wrong = a;
    snprintf(wrong.call_id, sizeof(wrong.call_id), "someone-else@host");
    assert_int_equal(respond(f, &wrong, 200, "OPTIONS", S / 2), 0);
    assert_int_equal(respond(f, &a, 200, "INVITE", S / 2), 0);      /* not our method */
    wrong = a;
    wrong.cseq = 2;                               /* CSeq and Call-ID disagree */
    assert_int_equal(respond(f, &wrong, 200, "OPTIONS", S / 2), 0);
    char *dot = strrchr(wrong.call_id, '.');
    assert_non_null(dot);
    strcpy(dot, ".2@sipha");                      /* a probe never sent */
    assert_int_equal(respond(f, &wrong, 200, "OPTIONS", S / 2), 0);
    snprintf(wrong.call_id, sizeof(wrong.call_id), "ffff.10.1@sipha"); /* unknown DN key */
    wrong.cseq = 1;
    assert_int_equal(respond(f, &wrong, 200, "OPTIONS", S / 2), 0);
    snprintf(wrong.call_id, sizeof(wrong.call_id), "%.*s.1@other", (int)(dot - wrong.call_id),
             a.call_id);
    assert_int_equal(respond(f, &wrong, 200, "OPTIONS", S / 2), 0);
    assert_int_equal(f->nev, before);

    /* a request carrying our Call-ID is not an answer */
    char req[512];
    snprintf(req, sizeof(req), "OPTIONS sip:x@198.51.100.1 SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=%s\r\n"
             "From: <sip:a@b>;tag=1\r\nTo: <sip:c@d>\r\nCall-ID: %s\r\nCSeq: 1 OPTIONS\r\n\r\n",
             a.branch, a.call_id);
    struct sip_msg m;
    assert_int_equal(sip_parse(&m, req, strlen(req)), SIP_OK);
    assert_int_equal(mon_probe_core_response(f->core, &m, S / 2), 0);

    assert_int_equal(respond(f, &b, 200, "OPTIONS", S / 2 + 250), 20);
    assert_int_equal(last_kind(f, MON_DN)->u.dn.rtt_us, 250);
    assert_int_equal(mon_probe_core_state(f->core, 0), MON_DN_UNKNOWN);
    assert_int_equal(mon_probe_core_state(f->core, 1), MON_DN_IN_SERVICE);
    /* a retransmitted 200 keeps the DN in service but is not a new RTT sample */
    assert_int_equal(respond(f, &b, 200, "OPTIONS", S / 2 + 900), 20);
    assert_int_equal(last_kind(f, MON_DN)->u.dn.rtt_us, 250);
    /* a foreign branch with our Call-ID/CSeq: in service, no RTT sample */
    wrong = a;
    snprintf(wrong.branch, sizeof(wrong.branch), "z9hG4bKforeign");
    assert_int_equal(respond(f, &wrong, 200, "OPTIONS", S / 2), 10);
    assert_int_equal(last_kind(f, MON_DN)->u.dn.rtt_us, 0);
    assert_int_equal(mon_probe_core_find(f->core, 20), 1);
    assert_int_equal(mon_probe_core_find(f->core, 10), 0);
    assert_int_equal(mon_probe_core_find(f->core, 15), -1);
    fixture_free(f);
}

/* A late answer to an older probe brings the DN back without an RTT sample. */
static void test_late_answer(void **state)
{
    (void)state;
    struct mon_probe_core_dn dn = { 1, 1, 5 };
    struct fixture *f = fixture_new(&dn, 1, 0);
    for (uint64_t t = 0; t <= 6 * S; t += S)
        mon_probe_core_run(f->core, t, 10);
    assert_int_equal(mon_probe_core_state(f->core, 0), MON_DN_OUT_OF_SERVICE);
    assert_int_equal(respond(f, &f->sent[0], 200, "OPTIONS", 6 * S + 10), 1);
    assert_int_equal(mon_probe_core_state(f->core, 0), MON_DN_IN_SERVICE);
    assert_int_equal(last_kind(f, MON_DN)->u.dn.rtt_us, 0);
    fixture_free(f);
}

/* A probe still unanswered when its successor goes (the loop ran late) counts as a
 * timeout then: each unanswered probe is one timeout, whatever the timing. */
static void test_superseded_probe_times_out(void **state)
{
    (void)state;
    struct mon_probe_core_dn dn = { 1, 1, 5 };
    struct fixture *f = fixture_new(&dn, 1, 0);
    mon_probe_core_run(f->core, 4000, 10);     /* sent 4 ms late: times out at 1.004 s */
    mon_probe_core_run(f->core, S, 10);        /* the next probe is due at 1 s */
    assert_int_equal(f->nsent, 2);
    assert_int_equal(count_kind(f, MON_PROBE_TIMEOUT), 1);
    mon_probe_core_run(f->core, S + 4000, 10); /* the superseded probe's old deadline */
    assert_int_equal(count_kind(f, MON_PROBE_TIMEOUT), 1);
    fixture_free(f);
}

static void test_would_block_and_budget(void **state)
{
    (void)state;
    struct mon_probe_core_dn dns[4] = { { 1, 4, 5 }, { 2, 4, 5 }, { 3, 4, 5 }, { 4, 4, 5 } };
    struct fixture *f = fixture_new(dns, 4, 0);
    /* first probes spread over the first interval: 0, 1, 2, 3 s */
    f->full = true;
    assert_int_equal(mon_probe_core_run(f->core, 10 * S, 100), MON_PROBE_RUN_BLOCKED);
    assert_int_equal(f->nsent, 0);
    assert_int_equal(count_kind(f, MON_PROBE_SENT), 0);
    assert_true(mon_probe_core_next_due(f->core) <= 10 * S); /* still due */
    f->full = false;
    assert_int_equal(mon_probe_core_run(f->core, 10 * S, 2), MON_PROBE_RUN_MORE);
    assert_int_equal(f->nsent, 2);
    assert_int_equal(mon_probe_core_run(f->core, 10 * S, 100), MON_PROBE_RUN_IDLE);
    assert_int_equal(f->nsent, 4);
    /* after a stall the cadence restarts from now: no burst of overdue probes */
    assert_int_equal(mon_probe_core_next_due(f->core), 14 * S);
    fixture_free(f);
}

static void test_spread_and_unprobed(void **state)
{
    (void)state;
    struct mon_probe_core_dn dns[5];
    for (uint32_t i = 0; i < 5; i++)
        dns[i] = (struct mon_probe_core_dn){ i + 1, i == 2 ? 0 : 8, 100 };
    struct fixture *f = fixture_new(dns, 5, 0);
    uint64_t expect[] = { 0, 2 * S, 4 * S, 6 * S };
    for (size_t k = 0; k < 4; k++) {
        assert_int_equal(mon_probe_core_next_due(f->core), expect[k]);
        mon_probe_core_run(f->core, expect[k], 100);
        assert_int_equal(f->nsent, k + 1);
    }
    for (size_t k = 0; k < 4; k++)
        assert_int_not_equal(f->sent[k].pos, 2); /* oos_check 0: never probed */
    fixture_free(f);

    struct mon_probe_core_dn none = { 9, 0, 5 };
    f = fixture_new(&none, 1, 0);
    assert_true(mon_probe_core_next_due(f->core) == UINT64_MAX);
    assert_int_equal(mon_probe_core_run(f->core, 100 * S, 100), MON_PROBE_RUN_IDLE);
    fixture_free(f);
}

static void test_bad_dn_lists(void **state)
{
    (void)state;
    char err[128] = "";
    struct fixture f = { 0 };
    struct mon_probe_core_dn dup[2] = { { 4, 1, 5 }, { 4, 2, 5 } };
    assert_null(mon_probe_core_new(dup, 2, 1, 0, hook_send, &f, hook_emit, &f, err, sizeof(err)));
    assert_string_equal(err, "DN index 4 appears twice");
    struct mon_probe_core_dn zero = { 0, 1, 5 };
    assert_null(mon_probe_core_new(&zero, 1, 1, 0, hook_send, &f, hook_emit, &f, err, sizeof(err)));
    assert_non_null(strstr(err, "index 0"));
    assert_null(mon_probe_core_new(&zero, 1, 1, 0, NULL, &f, hook_emit, &f, err, sizeof(err)));
    struct mon_probe_core *c = mon_probe_core_new(NULL, 0, 1, 0, hook_send, &f, hook_emit, &f,
                                                  err, sizeof(err));
    assert_non_null(c);
    assert_true(mon_probe_core_next_due(c) == UINT64_MAX);
    mon_probe_core_free(c);
}

/* --- scale: 10,000 DNs, one probe a second each, all answering --- */

struct scale {
    struct mon_probe_core *core;
    uint64_t sent, timeouts, oos;
    char buf[2048];
};

/* Each probe is built and parsed as the DN would see it. */
static int scale_send(void *ctx, size_t pos, const char *call_id, const char *branch, uint32_t cseq)
{
    struct scale *s = ctx;
    struct sipha_addr local;
    unsigned char b[4] = { 198, 51, 100, 1 };
    mon_addr_set(&local, AF_INET, b);
    char uri[64];
    snprintf(uri, sizeof(uri), "sip:dn%zu@198.51.100.2:5070", pos);
    int n = mon_probe_build_options(s->buf, sizeof(s->buf), uri, &local, 5060, call_id, branch,
                                    cseq, "tag1");
    assert_true(n > 0);
    struct sip_msg req;
    assert_int_equal(sip_parse(&req, s->buf, (size_t)n), SIP_OK);
    assert_int_equal(req.cseq, cseq);
    assert_int_equal(req.call_id.len, strlen(call_id));
    s->sent++;
    return 0;
}

static void scale_emit(void *ctx, const struct mon_event *ev)
{
    struct scale *s = ctx;
    if (ev->kind == MON_PROBE_TIMEOUT)
        s->timeouts++;
    if (ev->kind == MON_DN && !ev->u.dn.in_service)
        s->oos++;
}

/* 10,000 DNs at one probe a second: every DN probed once per second, on time. */
static void test_ten_thousand_dns(void **state)
{
    (void)state;
    enum { N = 10000 };
    struct mon_probe_core_dn *dns = calloc(N, sizeof(*dns));
    assert_non_null(dns);
    for (uint32_t i = 0; i < N; i++)
        dns[i] = (struct mon_probe_core_dn){ i + 1, 1, 5 };
    struct scale *s = calloc(1, sizeof(*s));
    assert_non_null(s);
    char err[128];
    s->core = mon_probe_core_new(dns, N, 42, 0, scale_send, s, scale_emit, s, err, sizeof(err));
    assert_non_null(s->core);
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    for (uint64_t t = 0; t < 10 * S; t += 5000) /* 5 ms ticks */
        mon_probe_core_run(s->core, t, N);
    mon_probe_core_run(s->core, 10 * S - 1, N); /* the last DN's tenth probe */
    clock_gettime(CLOCK_MONOTONIC, &b);
    double ms = (double)(b.tv_sec - a.tv_sec) * 1e3 + (double)(b.tv_nsec - a.tv_nsec) / 1e6;
    print_message("10,000 DNs x 10 s of probes (each built and parsed): %.1f ms\n", ms);
    assert_int_equal(s->sent, 10 * N);
    /* Nobody answers: one out-of-service transition per DN, and a timeout per probe
     * but the last (not due yet). */
    assert_int_equal(s->oos, N);
    assert_int_equal(s->timeouts, 9 * N);
    mon_probe_core_free(s->core);
    free(s);
    free(dns);
}

/* Responses at scale: every DN answers each probe; all stay in service, no timeout. */
struct echo {
    struct mon_probe_core *core;
    struct sent *queue;
    size_t nq, cap;
    uint64_t timeouts, oos, in;
};

static int echo_send(void *ctx, size_t pos, const char *call_id, const char *branch, uint32_t cseq)
{
    struct echo *e = ctx;
    assert_true(e->nq < e->cap);
    struct sent *s = &e->queue[e->nq++];
    s->pos = pos;
    snprintf(s->call_id, sizeof(s->call_id), "%s", call_id);
    snprintf(s->branch, sizeof(s->branch), "%s", branch);
    s->cseq = cseq;
    return 0;
}

static void echo_emit(void *ctx, const struct mon_event *ev)
{
    struct echo *e = ctx;
    if (ev->kind == MON_PROBE_TIMEOUT)
        e->timeouts++;
    if (ev->kind == MON_DN)
        (*(ev->u.dn.in_service ? &e->in : &e->oos))++;
}

/* Runs the core at t, then answers every probe it sent, 3 ms later. */
static void echo_tick(struct echo *e, uint64_t t)
{
    mon_probe_core_run(e->core, t, e->cap);
    for (size_t i = 0; i < e->nq; i++) {
        char text[512];
        struct sip_msg m;
        snprintf(text, sizeof(text), "SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP h;branch=%s\r\n"
                 "From: <sip:a@b>;tag=1\r\nTo: <sip:c@d>;tag=2\r\nCall-ID: %s\r\n"
                 "CSeq: %u OPTIONS\r\n\r\n", e->queue[i].branch, e->queue[i].call_id,
                 e->queue[i].cseq);
        assert_int_equal(sip_parse(&m, text, strlen(text)), SIP_OK);
        assert_int_equal(mon_probe_core_response(e->core, &m, t + 3000),
                         100000 + e->queue[i].pos * 7);
    }
    e->nq = 0;
}

static void test_ten_thousand_dns_answering(void **state)
{
    (void)state;
    enum { N = 10000 };
    struct mon_probe_core_dn *dns = calloc(N, sizeof(*dns));
    struct echo *e = calloc(1, sizeof(*e));
    assert_non_null(dns);
    assert_non_null(e);
    e->cap = N;
    e->queue = calloc(N, sizeof(*e->queue));
    assert_non_null(e->queue);
    for (uint32_t i = 0; i < N; i++)
        dns[i] = (struct mon_probe_core_dn){ 100000 + i * 7, 1, 5 };
    char err[128];
    e->core = mon_probe_core_new(dns, N, 99, 0, echo_send, e, echo_emit, e, err, sizeof(err));
    assert_non_null(e->core);
    for (uint64_t t = 0; t < 8 * S; t += 10000)
        echo_tick(e, t);
    echo_tick(e, 8 * S - 1);
    assert_int_equal(e->timeouts, 0);
    assert_int_equal(e->oos, 0);
    assert_int_equal(e->in, 8 * N);
    for (size_t i = 0; i < N; i++)
        assert_int_equal(mon_probe_core_state(e->core, i), MON_DN_IN_SERVICE);
    mon_probe_core_free(e->core);
    free(e->queue);
    free(e);
    free(dns);
}

/* --- pure helpers --- */

static void test_uri_target(void **state)
{
    (void)state;
    struct sipha_addr a;
    uint16_t port;
    char err[256];
    assert_int_equal(mon_probe_uri_target("sip:gw1@198.51.100.2", &a, &port, err, sizeof(err)), 0);
    assert_int_equal(a.family, 4);
    assert_int_equal(a.bytes[0], 198);
    assert_int_equal(a.bytes[3], 2);
    assert_int_equal(port, 5060);
    assert_int_equal(mon_probe_uri_target("SIP:198.51.100.3:5071;transport=UDP", &a, &port, err, sizeof(err)), 0);
    assert_int_equal(port, 5071);
    assert_int_equal(a.bytes[3], 3);
    assert_int_equal(mon_probe_uri_target("sip:u;p=1@[2001:db8::5]:6000?h=v", &a, &port, err, sizeof(err)), 0);
    assert_int_equal(a.family, 6);
    assert_int_equal(a.bytes[15], 5);
    assert_int_equal(port, 6000);

    const char *bad[][2] = {
        { "sip:gw@sip.example.com", "numeric" },
        { "sips:gw@198.51.100.2", "TLS" },
        { "tel:+15551234", "not a sip" },
        { "sip:gw@198.51.100.2:0", "port" },
        { "sip:gw@198.51.100.2:65536", "port" },
        { "sip:gw@198.51.100.2:", "port" },
        { "sip:gw@198.51.100.2;transport=tcp", "UDP" },
        { "sip:gw@[2001:db8::5", "IPv6" },
        { "sip:gw@", "host" },
        { "sip:gw @198.51.100.2", "space" },
        { "sip:gw@198.51.100.2x", "numeric" },
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        err[0] = '\0';
        assert_int_equal(mon_probe_uri_target(bad[i][0], &a, &port, err, sizeof(err)), -1);
        assert_non_null(strstr(err, bad[i][1]));
    }
    assert_int_equal(mon_probe_uri_target(NULL, &a, &port, err, sizeof(err)), -1);
}

static void test_build_options(void **state)
{
    (void)state;
    struct sipha_addr local;
    unsigned char v6[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 1 };
    mon_addr_set(&local, AF_INET6, v6);
    char buf[1024];
    int n = mon_probe_build_options(buf, sizeof(buf), "sip:gw@[2001:db8::2]:5070", &local, 40000,
                                    "cid@sipha", "z9hG4bKabc", 12, "t1");
    assert_true(n > 0);
    struct sip_msg m;
    assert_int_equal(sip_parse(&m, buf, (size_t)n), SIP_OK);
    assert_true(m.is_request);
    assert_true(m.method.len == 7 && memcmp(m.method.p, "OPTIONS", 7) == 0);
    assert_int_equal(m.cseq, 12);
    assert_true(m.via_branch.len == 10 && memcmp(m.via_branch.p, "z9hG4bKabc", 10) == 0);
    assert_non_null(strstr(buf, "Via: SIP/2.0/UDP [2001:db8::1]:40000;"));
    assert_int_equal(m.content_length, 0);
    assert_int_equal(mon_probe_build_options(buf, 100, "sip:gw@198.51.100.2", &local, 1, "c", "b", 1, "t"), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_probe_cadence_and_timeout),
        cmocka_unit_test(test_out_of_service_and_back),
        cmocka_unit_test(test_silence_counts_from_first_unanswered_probe),
        cmocka_unit_test(test_response_matching),
        cmocka_unit_test(test_late_answer),
        cmocka_unit_test(test_superseded_probe_times_out),
        cmocka_unit_test(test_would_block_and_budget),
        cmocka_unit_test(test_spread_and_unprobed),
        cmocka_unit_test(test_bad_dn_lists),
        cmocka_unit_test(test_ten_thousand_dns),
        cmocka_unit_test(test_ten_thousand_dns_answering),
        cmocka_unit_test(test_uri_target),
        cmocka_unit_test(test_build_options),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
