/* test_halink_discover.c — RFC 3414 engine discovery: the request's exact bytes, the
 * strict parser of the Report (a real snmpd 5.9.3 answer, then every kind of damage),
 * the peer address syntax, and the discovery running on the loop against a fake peer
 * that drops, garbles and finally answers. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "halink_discover.h"
#include "loop.h"

#define MSG_ID 0x01234567
#define REQ_ID 0x07654321

/* Net-SNMP 5.9.3 snmpd's answer to halink_disc_build(MSG_ID, REQ_ID), captured on
 * loopback: Report, usmStatsUnknownEngineIDs.0 = 4, engine 80001f88 80 0678e657715a076b
 * 00000000, boots 1, time 7. */
static const uint8_t real_report[] = {
    0x30, 0x71, 0x02, 0x01, 0x03, 0x30, 0x11, 0x02, 0x04, 0x01, 0x23, 0x45, 0x67, 0x02, 0x03,
    0x00, 0xff, 0xe3, 0x04, 0x01, 0x00, 0x02, 0x01, 0x03, 0x04, 0x21, 0x30, 0x1f, 0x04, 0x11,
    0x80, 0x00, 0x1f, 0x88, 0x80, 0x06, 0x78, 0xe6, 0x57, 0x71, 0x5a, 0x07, 0x6b, 0x00, 0x00,
    0x00, 0x00, 0x02, 0x01, 0x01, 0x02, 0x01, 0x07, 0x04, 0x00, 0x04, 0x00, 0x04, 0x00, 0x30,
    0x36, 0x04, 0x11, 0x80, 0x00, 0x1f, 0x88, 0x80, 0x06, 0x78, 0xe6, 0x57, 0x71, 0x5a, 0x07,
    0x6b, 0x00, 0x00, 0x00, 0x00, 0x04, 0x00, 0xa8, 0x1f, 0x02, 0x04, 0x07, 0x65, 0x43, 0x21,
    0x02, 0x01, 0x00, 0x02, 0x01, 0x00, 0x30, 0x11, 0x30, 0x0f, 0x06, 0x0a, 0x2b, 0x06, 0x01,
    0x06, 0x03, 0x0f, 0x01, 0x01, 0x04, 0x00, 0x41, 0x01, 0x04,
};
static const uint8_t real_engine[] = { 0x80, 0x00, 0x1f, 0x88, 0x80, 0x06, 0x78, 0xe6, 0x57,
                                       0x71, 0x5a, 0x07, 0x6b, 0x00, 0x00, 0x00, 0x00 };
/* Offsets of every tag octet in real_report (its lengths all follow in one octet). */
static const size_t tag_pos[] = { 0, 2, 5, 7, 13, 18, 21, 24, 26, 28, 47, 50, 53,
                                  55, 57, 59, 61, 80, 82, 84, 90, 93, 96, 98, 100, 112 };
static const uint8_t oid_unknown_engine[] = { 0x2b, 6, 1, 6, 3, 15, 1, 1, 4, 0 };
static const uint8_t oid_unknown_user[] = { 0x2b, 6, 1, 6, 3, 15, 1, 1, 3, 0 };

/* ---- a BER writer for test packets (independent of the one under test) ---- */

struct w {
    uint8_t b[2048];
    size_t n;
};

static void put(struct w *w, const void *p, size_t n)
{
    assert_true(w->n + n <= sizeof(w->b));
    memcpy(w->b + w->n, p, n);
    w->n += n;
}

/* TLV with the length in minimal form, or in `lenform` octets of long form (>0). */
static void tlv_form(struct w *w, uint8_t tag, const struct w *c, int lenform)
{
    uint8_t h[6] = { tag };
    size_t hn = 1;
    if (lenform == 0 && c->n < 0x80) {
        h[hn++] = (uint8_t)c->n;
    } else {
        int nb = lenform ? lenform : (c->n < 0x100 ? 1 : 2);
        h[hn++] = (uint8_t)(0x80 | nb);
        for (int i = nb - 1; i >= 0; i--)
            h[hn++] = (uint8_t)(c->n >> (8 * i));
    }
    put(w, h, hn);
    put(w, c->b, c->n);
}

static void tlv(struct w *w, uint8_t tag, const struct w *c)
{
    tlv_form(w, tag, c, 0);
}

static void raw(struct w *w, uint8_t tag, const void *p, size_t n)
{
    struct w c = { .n = 0 };
    put(&c, p, n);
    tlv(w, tag, &c);
}

static void integer(struct w *w, int64_t v)
{
    uint8_t c[9];
    size_t n = 0;
    int i = 7;
    while (i > 0) { /* drop octets that only repeat the sign */
        uint8_t b = (uint8_t)(v >> (8 * i)), next = (uint8_t)(v >> (8 * (i - 1)));
        if (!((b == 0 && !(next & 0x80)) || (b == 0xff && (next & 0x80))))
            break;
        i--;
    }
    for (; i >= 0; i--)
        c[n++] = (uint8_t)(v >> (8 * i));
    raw(w, 0x02, c, n);
}

struct rep {
    int64_t version, msg_id, max_size, model, boots, time, req_id;
    uint8_t flags, pdu_tag, value_tag;
    const uint8_t *engine;
    size_t engine_len;
    const uint8_t *oid;
    size_t oid_len;
    int outer_lenform;   /* long-form length octets of the outer SEQUENCE, 0 = minimal */
    bool two_varbinds, extra_in_usm, extra_in_pdu;
};

static struct rep good(void)
{
    return (struct rep){ .version = 3, .msg_id = MSG_ID, .max_size = 65507, .model = 3,
                         .boots = 1, .time = 7, .req_id = REQ_ID, .flags = 0,
                         .pdu_tag = 0xa8, .value_tag = 0x41, .engine = real_engine,
                         .engine_len = sizeof(real_engine), .oid = oid_unknown_engine,
                         .oid_len = sizeof(oid_unknown_engine) };
}

static size_t build_report(const struct rep *r, uint8_t *out, size_t cap)
{
    struct w global = { .n = 0 }, usm = { .n = 0 }, usmwrap = { .n = 0 }, vb = { .n = 0 },
             vbl = { .n = 0 }, pdu = { .n = 0 }, scoped = { .n = 0 }, msg = { .n = 0 },
             all = { .n = 0 };
    integer(&global, r->msg_id);
    integer(&global, r->max_size);
    raw(&global, 0x04, &r->flags, 1);
    integer(&global, r->model);
    raw(&usm, 0x04, r->engine, r->engine_len);
    integer(&usm, r->boots);
    integer(&usm, r->time);
    for (int i = 0; i < 3; i++)
        raw(&usm, 0x04, "", 0);
    if (r->extra_in_usm)
        integer(&usm, 0);
    tlv(&usmwrap, 0x30, &usm);
    raw(&vb, 0x06, r->oid, r->oid_len);
    raw(&vb, r->value_tag, "\x04", 1);
    tlv(&vbl, 0x30, &vb);
    if (r->two_varbinds)
        tlv(&vbl, 0x30, &vb);
    integer(&pdu, r->req_id);
    integer(&pdu, 0);
    integer(&pdu, 0);
    tlv(&pdu, 0x30, &vbl);
    if (r->extra_in_pdu)
        integer(&pdu, 0);
    raw(&scoped, 0x04, r->engine, r->engine_len);
    raw(&scoped, 0x04, "", 0);
    tlv(&scoped, r->pdu_tag, &pdu);
    integer(&msg, r->version);
    tlv(&msg, 0x30, &global);
    tlv(&msg, 0x04, &usmwrap);
    tlv(&msg, 0x30, &scoped);
    tlv_form(&all, 0x30, &msg, r->outer_lenform);
    assert_true(all.n <= cap);
    memcpy(out, all.b, all.n);
    return all.n;
}

static int parse_rep(const struct rep *r, struct halink_engine *e)
{
    uint8_t pkt[2048];
    size_t n = build_report(r, pkt, sizeof(pkt));
    return halink_disc_parse(pkt, n, MSG_ID, e);
}

/* ---- request ---------------------------------------------------------------------- */

static void test_request_bytes(void **state)
{
    (void)state;
    static const uint8_t want[] = {
        0x30, 0x3e, 0x02, 0x01, 0x03,                                   /* v3 */
        0x30, 0x11, 0x02, 0x04, 0x01, 0x23, 0x45, 0x67,                 /* msgID */
        0x02, 0x03, 0x00, 0xff, 0xe3,                                   /* msgMaxSize 65507 */
        0x04, 0x01, 0x04,                                               /* reportable */
        0x02, 0x01, 0x03,                                               /* USM */
        0x04, 0x10, 0x30, 0x0e, 0x04, 0x00, 0x02, 0x01, 0x00, 0x02, 0x01, 0x00,
        0x04, 0x00, 0x04, 0x00, 0x04, 0x00,                             /* empty USM params */
        0x30, 0x14, 0x04, 0x00, 0x04, 0x00,                             /* no context */
        0xa0, 0x0e, 0x02, 0x04, 0x07, 0x65, 0x43, 0x21, 0x02, 0x01, 0x00, 0x02, 0x01, 0x00,
        0x30, 0x00,                                                     /* GET, no varbinds */
    };
    uint8_t buf[256];
    size_t n = halink_disc_build(buf, sizeof(buf), MSG_ID, REQ_ID);
    assert_int_equal(n, sizeof(want));
    assert_memory_equal(buf, want, n);
    /* exactly big enough works, one byte less does not */
    assert_int_equal(halink_disc_build(buf, sizeof(want), MSG_ID, REQ_ID), sizeof(want));
    assert_int_equal(halink_disc_build(buf, sizeof(want) - 1, MSG_ID, REQ_ID), 0);
    assert_int_equal(halink_disc_build(buf, 0, MSG_ID, REQ_ID), 0);
    assert_int_equal(halink_disc_build(buf, sizeof(buf), -1, REQ_ID), 0);
    assert_int_equal(halink_disc_build(buf, sizeof(buf), MSG_ID, -5), 0);
}

/* msgID encodings at the edges: minimal two's complement, never negative. */
static void test_request_ids(void **state)
{
    (void)state;
    struct {
        int32_t id;
        uint8_t enc[6];
        size_t len;
    } cases[] = {
        { 0, { 0x02, 0x01, 0x00 }, 3 },
        { 127, { 0x02, 0x01, 0x7f }, 3 },
        { 128, { 0x02, 0x02, 0x00, 0x80 }, 4 },
        { 0x7fff, { 0x02, 0x02, 0x7f, 0xff }, 4 },
        { 0x8000, { 0x02, 0x03, 0x00, 0x80, 0x00 }, 5 },
        { INT32_MAX, { 0x02, 0x04, 0x7f, 0xff, 0xff, 0xff }, 6 },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        uint8_t buf[256];
        size_t n = halink_disc_build(buf, sizeof(buf), cases[i].id, cases[i].id);
        assert_true(n > 0);
        /* msgID is the first element of msgGlobalData: 30 LL 02 01 03 30 LL <msgID> */
        assert_int_equal(buf[0], 0x30);
        assert_int_equal(buf[1], n - 2);
        assert_memory_equal(buf + 7, cases[i].enc, cases[i].len);
    }
}

/* ---- Report parser ------------------------------------------------------------------ */

static void test_real_report(void **state)
{
    (void)state;
    struct halink_engine e;
    memset(&e, 0, sizeof(e));
    assert_int_equal(halink_disc_parse(real_report, sizeof(real_report), MSG_ID, &e), 0);
    assert_int_equal(e.id_len, sizeof(real_engine));
    assert_memory_equal(e.id, real_engine, sizeof(real_engine));
    assert_int_equal(e.boots, 1);
    assert_int_equal(e.time, 7);
    /* the test writer reproduces it byte for byte: the mutations below are faithful */
    uint8_t pkt[512];
    struct rep r = good();
    assert_int_equal(build_report(&r, pkt, sizeof(pkt)), sizeof(real_report));
    assert_memory_equal(pkt, real_report, sizeof(real_report));
}

static void test_other_msg_id(void **state)
{
    (void)state;
    struct halink_engine e;
    assert_int_equal(halink_disc_parse(real_report, sizeof(real_report), MSG_ID + 1, &e), -1);
    assert_int_equal(halink_disc_parse(real_report, sizeof(real_report), 0, &e), -1);
}

static void test_truncated(void **state)
{
    (void)state;
    struct halink_engine e;
    for (size_t n = 0; n < sizeof(real_report); n++)
        if (halink_disc_parse(real_report, n, MSG_ID, &e) != -1)
            fail_msg("accepted the first %zu bytes", n);
    assert_int_equal(halink_disc_parse(NULL, 10, MSG_ID, &e), -1);
}

static void test_trailing(void **state)
{
    (void)state;
    struct halink_engine e;
    uint8_t pkt[sizeof(real_report) + 1];
    memcpy(pkt, real_report, sizeof(real_report));
    pkt[sizeof(real_report)] = 0;
    assert_int_equal(halink_disc_parse(pkt, sizeof(pkt), MSG_ID, &e), -1);
}

/* Inner lengths that claim more (or less) than their container holds. */
static void test_bad_lengths(void **state)
{
    (void)state;
    struct halink_engine e;
    uint8_t pkt[sizeof(real_report)];
    /* every length octet of the real packet: the one after each tag */
    size_t len_pos[sizeof(tag_pos) / sizeof(tag_pos[0])];
    for (size_t i = 0; i < sizeof(tag_pos) / sizeof(tag_pos[0]); i++)
        len_pos[i] = tag_pos[i] + 1;
    for (size_t i = 0; i < sizeof(len_pos) / sizeof(len_pos[0]); i++) {
        for (int delta = -2; delta <= 2; delta++) {
            if (delta == 0)
                continue;
            memcpy(pkt, real_report, sizeof(pkt));
            pkt[len_pos[i]] = (uint8_t)(pkt[len_pos[i]] + delta);
            if (halink_disc_parse(pkt, sizeof(pkt), MSG_ID, &e) != -1)
                fail_msg("length at %zu changed by %d accepted", len_pos[i], delta);
        }
        memcpy(pkt, real_report, sizeof(pkt));
        pkt[len_pos[i]] = 0x7f; /* far past the end */
        assert_int_equal(halink_disc_parse(pkt, sizeof(pkt), MSG_ID, &e), -1);
        pkt[len_pos[i]] = 0x80; /* indefinite form */
        assert_int_equal(halink_disc_parse(pkt, sizeof(pkt), MSG_ID, &e), -1);
        pkt[len_pos[i]] = 0x84; /* four length octets */
        assert_int_equal(halink_disc_parse(pkt, sizeof(pkt), MSG_ID, &e), -1);
        pkt[len_pos[i]] = 0xff;
        assert_int_equal(halink_disc_parse(pkt, sizeof(pkt), MSG_ID, &e), -1);
    }
}

/* BER allows a long-form length where a short one would do: accepted; three or more
 * length octets are refused. */
static void test_long_form_lengths(void **state)
{
    (void)state;
    struct halink_engine e;
    struct rep r = good();
    r.outer_lenform = 1;
    assert_int_equal(parse_rep(&r, &e), 0);
    r.outer_lenform = 2;
    assert_int_equal(parse_rep(&r, &e), 0);
    r.outer_lenform = 3;
    assert_int_equal(parse_rep(&r, &e), -1);
}

static void test_engine_id_sizes(void **state)
{
    (void)state;
    struct halink_engine e;
    uint8_t id[40];
    for (size_t i = 0; i < sizeof(id); i++)
        id[i] = (uint8_t)(0xa0 + i);
    struct rep r = good();
    r.engine = id;
    for (size_t len = 0; len <= sizeof(id); len++) {
        r.engine_len = len;
        int rc = parse_rep(&r, &e);
        if (len >= 5 && len <= 32) {
            assert_int_equal(rc, 0);
            assert_int_equal(e.id_len, len);
            assert_memory_equal(e.id, id, len);
        } else {
            assert_int_equal(rc, -1);
        }
    }
}

static void test_boots_and_time(void **state)
{
    (void)state;
    struct halink_engine e;
    struct rep r = good();
    r.boots = 2147483647;
    r.time = 2147483647;
    assert_int_equal(parse_rep(&r, &e), 0);
    assert_int_equal(e.boots, 2147483647u);
    assert_int_equal(e.time, 2147483647u);
    r = good();
    r.boots = 0;
    r.time = 0;
    assert_int_equal(parse_rep(&r, &e), 0);
    assert_int_equal(e.boots, 0);
    const int64_t bad[] = { -1, 2147483648LL, 4294967295LL, 4294967296LL };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        r = good();
        r.boots = bad[i];
        assert_int_equal(parse_rep(&r, &e), -1);
        r = good();
        r.time = bad[i];
        assert_int_equal(parse_rep(&r, &e), -1);
    }
}

/* Each header field wrong on its own. */
static void test_wrong_fields(void **state)
{
    (void)state;
    struct halink_engine e;
    struct rep r;
#define REFUSED(field, value)                                  \
    do {                                                       \
        r = good();                                            \
        r.field = value;                                       \
        if (parse_rep(&r, &e) != -1)                           \
            fail_msg(#field " = " #value " accepted");         \
    } while (0)
    REFUSED(version, 1);
    REFUSED(version, 0);
    REFUSED(version, 4);
    REFUSED(model, 2);
    REFUSED(model, 0);
    REFUSED(max_size, 483);
    REFUSED(max_size, -1);
    REFUSED(flags, 0x01);         /* auth */
    REFUSED(flags, 0x03);         /* authPriv */
    REFUSED(flags, 0x04);         /* reportable: a Report never is */
    REFUSED(pdu_tag, 0xa2);       /* Response */
    REFUSED(pdu_tag, 0xa0);
    REFUSED(pdu_tag, 0x30);
    REFUSED(value_tag, 0x02);     /* INTEGER instead of Counter32 */
    REFUSED(oid, oid_unknown_user);
    REFUSED(oid_len, sizeof(oid_unknown_engine) - 1);
    REFUSED(two_varbinds, true);
    REFUSED(extra_in_usm, true);
    REFUSED(extra_in_pdu, true);
#undef REFUSED
    /* the request-id of a Report is not ours to check (0x7fffffff = undetermined) */
    r = good();
    r.req_id = 0x7fffffff;
    assert_int_equal(parse_rep(&r, &e), 0);
    r.req_id = -1;
    assert_int_equal(parse_rep(&r, &e), 0);
}

static void test_oversize(void **state)
{
    (void)state;
    struct halink_engine e;
    static uint8_t big[HALINK_DISC_MAX_PKT + 1];
    memcpy(big, real_report, sizeof(real_report));
    assert_int_equal(halink_disc_parse(big, sizeof(big), MSG_ID, &e), -1);
}

/* Content octets of real_report whose change leaves a well-formed Report: msgMaxSize,
 * engine ID, boots, time, contextEngineID, request-id, error-status/index, counter. */
static bool value_octet(size_t i)
{
    return (i >= 15 && i < 18) || (i >= 30 && i < 47) || i == 49 || i == 52 ||
           (i >= 63 && i < 80) || (i >= 86 && i < 90) || i == 92 || i == 95 || i == 114;
}

/* Every single-byte change: no crash (ASan/valgrind watch); only value octets may
 * change unnoticed, and what is accepted is still a well-formed answer. */
static void test_every_byte_mutated(void **state)
{
    (void)state;
    uint8_t pkt[sizeof(real_report)];
    static const uint8_t values[] = { 0x00, 0x01, 0x02, 0x04, 0x06, 0x30, 0x41, 0x7f,
                                      0x80, 0x81, 0x82, 0xa8, 0xff };
    size_t accepted = 0, tried = 0;
    for (size_t i = 0; i < sizeof(pkt); i++) {
        for (size_t v = 0; v < sizeof(values); v++) {
            if (values[v] == real_report[i])
                continue;
            memcpy(pkt, real_report, sizeof(pkt));
            pkt[i] = values[v];
            struct halink_engine e;
            memset(&e, 0xee, sizeof(e));
            tried++;
            if (halink_disc_parse(pkt, sizeof(pkt), MSG_ID, &e) == 0) {
                accepted++;
                if (!value_octet(i))
                    fail_msg("octet %zu = 0x%02x accepted", i, values[v]);
                assert_true(e.id_len == sizeof(real_engine));
                assert_true(e.boots <= 2147483647u && e.time <= 2147483647u);
            }
        }
    }
    assert_true(accepted > 0 && accepted < tried);
    /* Each tag octet is checked. */
    for (size_t i = 0; i < sizeof(tag_pos) / sizeof(tag_pos[0]); i++) {
        for (size_t v = 0; v < sizeof(values); v++) {
            if (values[v] == real_report[tag_pos[i]])
                continue;
            memcpy(pkt, real_report, sizeof(pkt));
            pkt[tag_pos[i]] = values[v];
            struct halink_engine e;
            if (halink_disc_parse(pkt, sizeof(pkt), MSG_ID, &e) != -1)
                fail_msg("tag at %zu = 0x%02x accepted", tag_pos[i], values[v]);
        }
    }
}

/* Random bytes, and random bytes behind a valid-looking start: never accepted. */
static void test_garbage(void **state)
{
    (void)state;
    uint32_t seed = 12345;
    uint8_t pkt[HALINK_DISC_MAX_PKT];
    for (int round = 0; round < 20000; round++) {
        size_t n = 0;
        seed = seed * 1103515245u + 12345u;
        size_t len = (seed >> 8) % sizeof(pkt);
        if (round % 2) { /* keep a plausible header */
            n = len < 12 ? len : 12;
            memcpy(pkt, real_report, n);
        }
        for (size_t i = n; i < len; i++) {
            seed = seed * 1103515245u + 12345u;
            pkt[i] = (uint8_t)(seed >> 16);
        }
        struct halink_engine e;
        assert_int_equal(halink_disc_parse(pkt, len, MSG_ID, &e), -1);
    }
}

/* ---- addresses ------------------------------------------------------------------------ */

static void test_addresses_good(void **state)
{
    (void)state;
    struct {
        const char *in, *peername;
        int family;
        uint16_t port;
    } cases[] = {
        { "udp:127.0.0.1:1161", "udp:127.0.0.1:1161", AF_INET, 1161 },
        { "127.0.0.1:1161", "udp:127.0.0.1:1161", AF_INET, 1161 },
        { "192.0.2.11", "udp:192.0.2.11:161", AF_INET, 161 },
        { "udp:10.1.2.3:65535", "udp:10.1.2.3:65535", AF_INET, 65535 },
        { "udp6:[::1]:1161", "udp6:[::1]:1161", AF_INET6, 1161 },
        { "[::1]:161", "udp6:[::1]:161", AF_INET6, 161 },
        { "udp6:[2001:DB8:0:0::1]", "udp6:[2001:db8::1]:161", AF_INET6, 161 },
        { "udp6:[::ffff:192.0.2.1]:1", "udp6:[::ffff:192.0.2.1]:1", AF_INET6, 1 },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct halink_addr a;
        char err[256];
        if (halink_addr_parse(cases[i].in, &a, err, sizeof(err)) != 0)
            fail_msg("%s refused: %s", cases[i].in, err);
        assert_string_equal(a.peername, cases[i].peername);
        assert_int_equal(a.sa.ss_family, cases[i].family);
        if (cases[i].family == AF_INET) {
            assert_int_equal(a.len, sizeof(struct sockaddr_in));
            assert_int_equal(ntohs(((struct sockaddr_in *)&a.sa)->sin_port), cases[i].port);
        } else {
            assert_int_equal(a.len, sizeof(struct sockaddr_in6));
            assert_int_equal(ntohs(((struct sockaddr_in6 *)&a.sa)->sin6_port), cases[i].port);
        }
    }
}

static void test_addresses_bad(void **state)
{
    (void)state;
    struct {
        const char *in, *says;
    } cases[] = {
        { "", "empty" },
        { "localhost:161", "not a numeric IPv4 address (names are not resolved" },
        { "udp:peer.example.net:161", "names are not resolved" },
        { "udp:127.0.0.1:0", "port must be 1..65535" },
        { "udp:127.0.0.1:65536", "port must be 1..65535" },
        { "udp:127.0.0.1:", "port must be 1..65535" },
        { "udp:127.0.0.1:+161", "port must be 1..65535" },
        { "udp:127.0.0.1:16a", "port must be 1..65535" },
        { "udp:127.0.0.1:0161 ", "port must be 1..65535" },
        { "udp:127.0.0.1:161:1", "port must be 1..65535" },
        { "udp:127.1:161", "not a numeric IPv4" },
        { "udp:256.0.0.1:161", "not a numeric IPv4" },
        { "udp:", "not a numeric IPv4" },
        { "tcp:127.0.0.1:161", "unsupported transport" },
        { "unix:/var/agentx/master", "not a numeric IPv4" },
        { "udp6:::1:161", "brackets" },
        { "::1", "unsupported transport or unbracketed IPv6" },
        { "udp6:[::1", "brackets" },
        { "udp6:[]:161", "not a numeric IPv6" },
        { "udp6:[::1]161", "expected ]:PORT" },
        { "udp6:[::1]:70000", "expected ]:PORT" },
        { "udp6:[fe80::1%eth0]:161", "scope ids" },
        { "udp6:[127.0.0.1]:161", "not a numeric IPv6" },
        { "udp:[::1]:161", "needs the udp6: prefix" },
        { "udp6:127.0.0.1:161", "brackets" },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct halink_addr a;
        char err[256] = "";
        memset(&a, 0x5a, sizeof(a));
        struct halink_addr before = a;
        if (halink_addr_parse(cases[i].in, &a, err, sizeof(err)) != -1)
            fail_msg("'%s' accepted", cases[i].in);
        if (!strstr(err, cases[i].says))
            fail_msg("'%s': '%s' does not say '%s'", cases[i].in, err, cases[i].says);
        assert_memory_equal(&a, &before, sizeof(a)); /* untouched */
    }
    struct halink_addr a;
    char err[64];
    assert_int_equal(halink_addr_parse(NULL, &a, err, sizeof(err)), -1);
}

/* ---- discovery on the loop against a fake peer --------------------------------------- */

struct fake {
    struct loop *lp;
    int fd;
    int requests;
    struct halink_disc *d;
    bool found;
    struct halink_engine eng;
    bool timed_out;
};

/* msgID of a request from halink_disc_build: 30 LL 02 01 03 30 LL 02 NN <msgID> */
static int64_t request_msg_id(const uint8_t *p, size_t n)
{
    if (n < 10 || p[7] != 0x02 || p[8] < 1 || p[8] > 4 || n < 9u + p[8])
        return -1;
    int64_t v = 0;
    for (size_t i = 0; i < p[8]; i++)
        v = (v << 8) | p[9 + i];
    return v;
}

/* Drops the first request, answers the second with junk, the third with a Report for
 * another msgID, the fourth properly. */
static void fake_readable(int fd, unsigned ev, void *arg)
{
    struct fake *f = arg;
    uint8_t req[512], out[512];
    struct sockaddr_storage from;
    socklen_t fl = sizeof(from);
    (void)ev;
    ssize_t n = recvfrom(fd, req, sizeof(req), 0, (struct sockaddr *)&from, &fl);
    if (n <= 0)
        return;
    int64_t id = request_msg_id(req, (size_t)n);
    assert_true(id >= 0);
    f->requests++;
    struct rep r = good();
    r.msg_id = id;
    r.boots = 42;
    r.time = 4242;
    size_t len = 0;
    if (f->requests == 2) {
        memcpy(out, "\x30\x03\x02\x01\x03garbage", 12);
        len = 12;
    } else if (f->requests == 3) {
        r.msg_id = (id + 1) & 0x7fffffff;
        len = build_report(&r, out, sizeof(out));
    } else if (f->requests >= 4) {
        len = build_report(&r, out, sizeof(out));
    }
    if (len)
        sendto(fd, out, len, 0, (struct sockaddr *)&from, fl);
}

static void on_found(void *arg, const struct halink_engine *eng)
{
    struct fake *f = arg;
    f->found = true;
    f->eng = *eng;
    halink_disc_free(f->d); /* allowed from within the callback */
    f->d = NULL;
    loop_stop(f->lp);
}

static void on_guard(void *arg)
{
    struct fake *f = arg;
    f->timed_out = true;
    loop_stop(f->lp);
}

static int fake_open(struct halink_addr *a)
{
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
    struct sockaddr_in sin = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t sl = sizeof(sin);
    assert_true(fd >= 0);
    assert_int_equal(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&sin, &sl), 0);
    char text[64], err[128];
    snprintf(text, sizeof(text), "udp:127.0.0.1:%u", (unsigned)ntohs(sin.sin_port));
    assert_int_equal(halink_addr_parse(text, a, err, sizeof(err)), 0);
    return fd;
}

static void test_discovery_on_loop(void **state)
{
    (void)state;
    struct fake f = { .lp = loop_new() };
    struct halink_addr a;
    char err[256];
    f.fd = fake_open(&a);
    assert_int_equal(loop_watch_fd(f.lp, f.fd, LOOP_READ, fake_readable, &f), 0);
    uint64_t t0 = loop_now_ms();
    f.d = halink_disc_start(f.lp, &a, 20, on_found, &f, err, sizeof(err));
    assert_non_null(f.d);
    uint64_t guard = loop_timer_add(f.lp, 3000, on_guard, &f);
    loop_run(f.lp);
    loop_timer_cancel(f.lp, guard);
    assert_false(f.timed_out);
    assert_true(f.found);
    assert_int_equal(f.requests, 4); /* retried every interval until a good answer */
    assert_true(loop_now_ms() - t0 >= 3 * 20 - 5);
    assert_int_equal(f.eng.boots, 42);
    assert_int_equal(f.eng.time, 4242);
    assert_int_equal(f.eng.id_len, sizeof(real_engine));
    assert_memory_equal(f.eng.id, real_engine, sizeof(real_engine));
    loop_unwatch_fd(f.lp, f.fd);
    close(f.fd);
    loop_free(f.lp);
}

/* Nothing listens: requests go on, ICMP errors are counted, nothing is found. */
static void test_discovery_nobody(void **state)
{
    (void)state;
    struct fake f = { .lp = loop_new() };
    struct halink_addr a;
    char err[256];
    f.fd = fake_open(&a);
    close(f.fd); /* the port is now closed */
    f.d = halink_disc_start(f.lp, &a, 10, on_found, &f, err, sizeof(err));
    assert_non_null(f.d);
    loop_timer_add(f.lp, 200, on_guard, &f);
    loop_run(f.lp);
    assert_false(f.found);
    struct halink_disc_counters c;
    halink_disc_counters(f.d, &c);
    assert_true(c.sent + c.send_errors >= 10);
    assert_true(c.send_errors >= 1);
    halink_disc_free(f.d);
    loop_free(f.lp);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_request_bytes),
        cmocka_unit_test(test_request_ids),
        cmocka_unit_test(test_real_report),
        cmocka_unit_test(test_other_msg_id),
        cmocka_unit_test(test_truncated),
        cmocka_unit_test(test_trailing),
        cmocka_unit_test(test_bad_lengths),
        cmocka_unit_test(test_long_form_lengths),
        cmocka_unit_test(test_engine_id_sizes),
        cmocka_unit_test(test_boots_and_time),
        cmocka_unit_test(test_wrong_fields),
        cmocka_unit_test(test_oversize),
        cmocka_unit_test(test_every_byte_mutated),
        cmocka_unit_test(test_garbage),
        cmocka_unit_test(test_addresses_good),
        cmocka_unit_test(test_addresses_bad),
        cmocka_unit_test(test_discovery_on_loop),
        cmocka_unit_test(test_discovery_nobody),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
