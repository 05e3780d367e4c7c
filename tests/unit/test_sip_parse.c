/* test_sip_parse.c — the strict SIP parser: what it accepts, what each malformation
 * returns, and that a rejected message leaves the output untouched. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "sip_parse.h"

#define CRLF "\r\n"

static const char options_req[] =
    "OPTIONS sip:gw1@198.51.100.2:5070 SIP/2.0" CRLF
    "Via: SIP/2.0/UDP 198.51.100.1:5060;branch=z9hG4bK776asdhds;rport" CRLF
    "Max-Forwards: 70" CRLF
    "From: \"Probe\" <sip:sipha@198.51.100.1>;tag=1928301774" CRLF
    "To: <sip:gw1@198.51.100.2:5070>" CRLF
    "Call-ID: a84b4c76e66710@pc33.example.com" CRLF
    "CSeq: 314159 OPTIONS" CRLF
    "Content-Length: 0" CRLF
    CRLF;

static int parse(struct sip_msg *m, const char *text)
{
    return sip_parse(m, text, strlen(text));
}

static bool str_is(struct sip_str s, const char *lit)
{
    return s.len == strlen(lit) && memcmp(s.p, lit, s.len) == 0;
}

/* A message made of a start line, headers and body, with one header replaced. */
static void build(char *buf, size_t len, const char *start, const char *via, const char *from,
                  const char *to, const char *call_id, const char *cseq, const char *extra)
{
    snprintf(buf, len, "%s" CRLF "%s%s%s%s%s%s" CRLF,
             start, via, from, to, call_id, cseq, extra);
}

#define VIA "Via: SIP/2.0/UDP 198.51.100.1;branch=z9hG4bK1" CRLF
#define FROM "From: <sip:a@example.com>;tag=1" CRLF
#define TO "To: <sip:b@example.com>" CRLF
#define CID "Call-ID: abc@host" CRLF
#define CSEQ "CSeq: 1 OPTIONS" CRLF
#define REQ "OPTIONS sip:b@example.com SIP/2.0"
#define RESP "SIP/2.0 200 OK"

static int parse_built(const char *start, const char *via, const char *from, const char *to,
                       const char *call_id, const char *cseq, const char *extra)
{
    char buf[2048];
    struct sip_msg m;
    build(buf, sizeof(buf), start, via, from, to, call_id, cseq, extra);
    return parse(&m, buf);
}

static void test_request(void **state)
{
    (void)state;
    struct sip_msg m;
    assert_int_equal(parse(&m, options_req), SIP_OK);
    assert_true(m.is_request);
    assert_true(str_is(m.method, "OPTIONS"));
    assert_true(str_is(m.uri, "sip:gw1@198.51.100.2:5070"));
    assert_true(str_is(m.call_id, "a84b4c76e66710@pc33.example.com"));
    assert_int_equal(m.cseq, 314159);
    assert_true(str_is(m.cseq_method, "OPTIONS"));
    assert_true(str_is(m.via_branch, "z9hG4bK776asdhds"));
    assert_true(str_is(m.via, "SIP/2.0/UDP 198.51.100.1:5060;branch=z9hG4bK776asdhds;rport"));
    assert_int_equal(m.via_count, 1);
    assert_true(str_is(m.from, "\"Probe\" <sip:sipha@198.51.100.1>;tag=1928301774"));
    assert_true(str_is(m.to, "<sip:gw1@198.51.100.2:5070>"));
    assert_true(m.has_content_length);
    assert_int_equal(m.content_length, 0);
    assert_int_equal(m.body.len, 0);
    assert_int_equal(m.header_count, 7);
}

static void test_response_compact_forms(void **state)
{
    (void)state;
    static const char text[] =
        "SIP/2.0 486 Busy Here" CRLF
        "v: SIP/2.0/UDP [2001:db8::1]:5060;branch=z9hG4bKa, SIP/2.0/TCP h.example.com;branch=b2" CRLF
        "V : SIP / 2.0 / UDP 10.0.0.1" CRLF
        "f: Alice <sip:alice@example.com>;tag=x" CRLF
        "t: sip:bob@example.com;tag=y" CRLF
        "i: 12345" CRLF
        "CSEQ: 7 INVITE" CRLF
        "l: 5" CRLF
        CRLF
        "hello";
    struct sip_msg m;
    assert_int_equal(parse(&m, text), SIP_OK);
    assert_false(m.is_request);
    assert_int_equal(m.status, 486);
    assert_true(str_is(m.reason, "Busy Here"));
    assert_int_equal(m.via_count, 3);
    assert_true(str_is(m.via_branch, "z9hG4bKa"));
    assert_true(str_is(m.call_id, "12345"));
    assert_int_equal(m.cseq, 7);
    assert_true(str_is(m.cseq_method, "INVITE")); /* a response's CSeq names the request */
    assert_true(str_is(m.body, "hello"));
}

static void test_folding_and_leading_crlf(void **state)
{
    (void)state;
    static const char text[] =
        CRLF CRLF
        "SIP/2.0 200 OK" CRLF
        "Via: SIP/2.0/UDP 198.51.100.1" CRLF
        "  ;branch=z9hG4bKfold" CRLF
        "From: <sip:a@example.com>" CRLF
        "\t;tag=1" CRLF
        "To: <sip:b@example.com>" CRLF
        "Call-ID:abc" CRLF
        "CSeq: 2" CRLF " OPTIONS" CRLF
        CRLF;
    struct sip_msg m;
    assert_int_equal(parse(&m, text), SIP_OK);
    assert_true(str_is(m.via_branch, "z9hG4bKfold"));
    assert_int_equal(m.cseq, 2);
    assert_true(str_is(m.cseq_method, "OPTIONS"));
    assert_false(m.has_content_length);
}

static void test_body_rules(void **state)
{
    (void)state;
    /* no Content-Length over UDP: the body is the rest of the datagram */
    assert_int_equal(parse_built(RESP, VIA, FROM, TO, CID, CSEQ, ""), SIP_OK);
    char buf[1024];
    struct sip_msg m;
    build(buf, sizeof(buf), RESP, VIA, FROM, TO, CID, CSEQ, "Content-Length: 3" CRLF);
    strcat(buf, "abcdef"); /* bytes past Content-Length are dropped (RFC 3261 18.3) */
    assert_int_equal(parse(&m, buf), SIP_OK);
    assert_true(str_is(m.body, "abc"));
    build(buf, sizeof(buf), RESP, VIA, FROM, TO, CID, CSEQ, "Content-Length: 10" CRLF);
    strcat(buf, "abc");
    assert_int_equal(parse(&m, buf), SIP_ERR_BODY);
    assert_int_equal(parse_built(RESP, VIA, FROM, TO, CID, CSEQ, "Content-Length: x" CRLF),
                     SIP_ERR_CONTENT_LENGTH);
    assert_int_equal(parse_built(RESP, VIA, FROM, TO, CID, CSEQ, "l: 99999999999" CRLF),
                     SIP_ERR_CONTENT_LENGTH);
    assert_int_equal(parse_built(RESP, VIA, FROM, TO, CID, CSEQ, "l: 1" CRLF "l: 1" CRLF),
                     SIP_ERR_DUPLICATE);
}

static void test_start_line_errors(void **state)
{
    (void)state;
    struct sip_msg m;
    assert_int_equal(parse(&m, ""), SIP_ERR_EMPTY);
    assert_int_equal(parse(&m, CRLF CRLF), SIP_ERR_EMPTY);
    assert_int_equal(sip_parse(&m, NULL, 0), SIP_ERR_EMPTY);
    assert_int_equal(parse(&m, "OPTIONS sip:a@b SIP/2.0"), SIP_ERR_START_LINE); /* no CRLF */
    assert_int_equal(parse(&m, "OPTIONS sip:a@b SIP/2.0\n"), SIP_ERR_START_LINE);
    assert_int_equal(parse_built("OPT(ONS sip:a@b SIP/2.0", VIA, FROM, TO, CID, CSEQ, ""), SIP_ERR_METHOD);
    assert_int_equal(parse_built("OPTIONS  sip:a@b SIP/2.0", VIA, FROM, TO, CID, CSEQ, ""), SIP_ERR_URI);
    assert_int_equal(parse_built("OPTIONS nocolon SIP/2.0", VIA, FROM, TO, CID, CSEQ, ""), SIP_ERR_URI);
    assert_int_equal(parse_built("OPTIONS 1sip:a SIP/2.0", VIA, FROM, TO, CID, CSEQ, ""), SIP_ERR_URI);
    assert_int_equal(parse_built("OPTIONS sip:a@b SIP/2.1", VIA, FROM, TO, CID, CSEQ, ""), SIP_ERR_VERSION);
    assert_int_equal(parse_built("OPTIONS sip:a@b", VIA, FROM, TO, CID, CSEQ, ""), SIP_ERR_URI);
    assert_int_equal(parse_built("SIP/3.0 200 OK", VIA, FROM, TO, CID, CSEQ, ""), SIP_ERR_VERSION);
    assert_int_equal(parse_built("SIP/2.0 099 Low", VIA, FROM, TO, CID, CSEQ, ""), SIP_ERR_STATUS);
    assert_int_equal(parse_built("SIP/2.0 700 High", VIA, FROM, TO, CID, CSEQ, ""), SIP_ERR_STATUS);
    assert_int_equal(parse_built("SIP/2.0 200", VIA, FROM, TO, CID, CSEQ, ""), SIP_ERR_STATUS);
    assert_int_equal(parse_built("SIP/2.0 20x OK", VIA, FROM, TO, CID, CSEQ, ""), SIP_ERR_STATUS);
    assert_int_equal(parse_built("SIP/2.0 200 O\x01K", VIA, FROM, TO, CID, CSEQ, ""), SIP_ERR_REASON);
    assert_int_equal(parse_built("SIP/2.0 200 ", VIA, FROM, TO, CID, CSEQ, ""), SIP_OK);
    assert_int_equal(parse_built("SIP/2.0 200 D\xc3\xa9j\xc3\xa0", VIA, FROM, TO, CID, CSEQ, ""), SIP_OK);
}

static void test_header_errors(void **state)
{
    (void)state;
    struct sip_msg m;
    char buf[1024];
    assert_int_equal(parse_built(RESP, VIA, FROM, TO, CID, CSEQ, "NoColon" CRLF), SIP_ERR_HEADER);
    assert_int_equal(parse_built(RESP, VIA, FROM, TO, CID, CSEQ, ": novalue" CRLF), SIP_ERR_HEADER);
    assert_int_equal(parse_built(RESP, VIA, FROM, TO, CID, CSEQ, "X-A: b\nX-B: c" CRLF), SIP_ERR_HEADER);
    assert_int_equal(parse_built(RESP, VIA, FROM, TO, CID, CSEQ, "X-A: b\rX" CRLF), SIP_ERR_HEADER);
    assert_int_equal(parse_built(RESP " " CRLF " folded-start-line", VIA, FROM, TO, CID, CSEQ, ""),
                     SIP_ERR_HEADER);
    /* header section never ends */
    snprintf(buf, sizeof(buf), RESP CRLF VIA FROM TO CID CSEQ);
    assert_int_equal(parse(&m, buf), SIP_ERR_TRUNCATED);
    snprintf(buf, sizeof(buf), RESP CRLF VIA FROM "To: <sip:b@example.com>\r");
    assert_int_equal(parse(&m, buf), SIP_ERR_TRUNCATED);
    /* a NUL inside a header value */
    static const char nul[] = RESP CRLF VIA FROM TO "Call-ID: a\0b" CRLF CSEQ CRLF;
    assert_int_equal(sip_parse(&m, nul, sizeof(nul) - 1), SIP_ERR_HEADER);
    /* mandatory headers */
    assert_int_equal(parse_built(RESP, "", FROM, TO, CID, CSEQ, ""), SIP_ERR_MISSING);
    assert_int_equal(parse_built(RESP, VIA, "", TO, CID, CSEQ, ""), SIP_ERR_MISSING);
    assert_int_equal(parse_built(RESP, VIA, FROM, "", CID, CSEQ, ""), SIP_ERR_MISSING);
    assert_int_equal(parse_built(RESP, VIA, FROM, TO, "", CSEQ, ""), SIP_ERR_MISSING);
    assert_int_equal(parse_built(RESP, VIA, FROM, TO, CID, "", ""), SIP_ERR_MISSING);
    assert_int_equal(parse_built(RESP, VIA, FROM, TO, CID, CSEQ, "i: other" CRLF), SIP_ERR_DUPLICATE);
    assert_int_equal(parse_built(RESP, VIA, FROM, TO, CID, CSEQ, "f: <sip:x@y>" CRLF), SIP_ERR_DUPLICATE);
}

static void test_too_many_headers(void **state)
{
    (void)state;
    static char buf[16384];
    struct sip_msg m;
    size_t n = (size_t)snprintf(buf, sizeof(buf), RESP CRLF VIA FROM TO CID CSEQ);
    for (int i = 0; i < SIP_MAX_HEADERS - 5; i++)
        n += (size_t)snprintf(buf + n, sizeof(buf) - n, "X-%d: y" CRLF, i);
    strcpy(buf + n, CRLF);
    assert_int_equal(parse(&m, buf), SIP_OK);
    assert_int_equal(m.header_count, SIP_MAX_HEADERS);
    strcpy(buf + n, "X-Last: z" CRLF CRLF);
    assert_int_equal(parse(&m, buf), SIP_ERR_TOO_MANY_HEADERS);
}

static void test_via(void **state)
{
    (void)state;
    const char *bad[] = {
        "Via: SIP/2.0/UDP" CRLF,                      /* no sent-by */
        "Via: SIP/2.0 198.51.100.1" CRLF,             /* no transport */
        "Via: HTTP/2.0/UDP host" CRLF,
        "Via: SIP/1.0/UDP host" CRLF,
        "Via: SIP/2.0/UDP host:99999" CRLF,
        "Via: SIP/2.0/UDP host:" CRLF,
        "Via: SIP/2.0/UDP [2001:db8::1" CRLF,
        "Via: SIP/2.0/UDP []" CRLF,
        "Via: SIP/2.0/UDP -host" CRLF,
        "Via: SIP/2.0/UDP host;branch=" CRLF,
        "Via: SIP/2.0/UDP host;=x" CRLF,
        "Via: SIP/2.0/UDP host, " CRLF,
        "Via: SIP/2.0/UDP host junk" CRLF,
        "Via: SIP/2.0/UDP host;x=\"unterminated" CRLF,
        "Via:" CRLF,
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(parse_built(RESP, bad[i], FROM, TO, CID, CSEQ, ""), SIP_ERR_VIA);
    assert_int_equal(parse_built(RESP, "Via: SIP/2.0/UDP h;received=[2001:db8::2];x=\"a b\";lr" CRLF,
                                 FROM, TO, CID, CSEQ, ""), SIP_OK);
    struct sip_msg m;
    char buf[1024];
    build(buf, sizeof(buf), RESP, "Via: sip/2.0/udp host;BRANCH=z9hG4bKup" CRLF "Via: SIP/2.0/UDP b;branch=2" CRLF,
          FROM, TO, CID, CSEQ, "");
    assert_int_equal(parse(&m, buf), SIP_OK);
    assert_int_equal(m.via_count, 2);
    assert_true(str_is(m.via_branch, "z9hG4bKup"));
}

static void test_call_id_cseq_from_to(void **state)
{
    (void)state;
    assert_int_equal(parse_built(RESP, VIA, FROM, TO, "Call-ID: a b" CRLF, CSEQ, ""), SIP_ERR_CALL_ID);
    assert_int_equal(parse_built(RESP, VIA, FROM, TO, "Call-ID: a@b@c" CRLF, CSEQ, ""), SIP_ERR_CALL_ID);
    assert_int_equal(parse_built(RESP, VIA, FROM, TO, "Call-ID: @b" CRLF, CSEQ, ""), SIP_ERR_CALL_ID);
    assert_int_equal(parse_built(RESP, VIA, FROM, TO, "Call-ID: a@" CRLF, CSEQ, ""), SIP_ERR_CALL_ID);
    assert_int_equal(parse_built(RESP, VIA, FROM, TO, "Call-ID: a;b" CRLF, CSEQ, ""), SIP_ERR_CALL_ID);
    assert_int_equal(parse_built(RESP, VIA, FROM, TO, "Call-ID: " CRLF, CSEQ, ""), SIP_ERR_CALL_ID);
    assert_int_equal(parse_built(RESP, VIA, FROM, TO, "Call-ID: {x}<y>/[z]?@h.example" CRLF, CSEQ, ""), SIP_OK);

    assert_int_equal(parse_built(RESP, VIA, FROM, TO, CID, "CSeq: OPTIONS" CRLF, ""), SIP_ERR_CSEQ);
    assert_int_equal(parse_built(RESP, VIA, FROM, TO, CID, "CSeq: 1OPTIONS" CRLF, ""), SIP_ERR_CSEQ);
    assert_int_equal(parse_built(RESP, VIA, FROM, TO, CID, "CSeq: 1" CRLF, ""), SIP_ERR_CSEQ);
    assert_int_equal(parse_built(RESP, VIA, FROM, TO, CID, "CSeq: 2147483648 OPTIONS" CRLF, ""), SIP_ERR_CSEQ);
    assert_int_equal(parse_built(RESP, VIA, FROM, TO, CID, "CSeq: 1 OPTIONS x" CRLF, ""), SIP_ERR_CSEQ);
    assert_int_equal(parse_built(RESP, VIA, FROM, TO, CID, "CSeq: 2147483647 OPTIONS" CRLF, ""), SIP_OK);
    /* a request's CSeq method is its own */
    assert_int_equal(parse_built(REQ, VIA, FROM, TO, CID, "CSeq: 1 INVITE" CRLF, ""), SIP_ERR_CSEQ);

    const char *bad[] = {
        "From: " CRLF, "From: <sip:a@b" CRLF, "From: <>" CRLF, "From: \"unterminated <sip:a@b>" CRLF,
        "From: <sip:a@b>;" CRLF, "From: <sip:a@b> junk" CRLF, "From: noscheme" CRLF,
        "From: Name (x) <sip:a@b>" CRLF,
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(parse_built(RESP, VIA, bad[i], TO, CID, CSEQ, ""), SIP_ERR_FROM_TO);
    assert_int_equal(parse_built(RESP, VIA, "From: \"A \\\"q\\\" B\" <sip:a@b>;tag=1" CRLF, TO, CID, CSEQ, ""),
                     SIP_OK);
    assert_int_equal(parse_built(RESP, VIA, "From: Alice Smith <sip:a@b>" CRLF, TO, CID, CSEQ, ""), SIP_OK);
    assert_int_equal(parse_built(RESP, VIA, FROM, "To: tel:+15551234;tag=9" CRLF, CID, CSEQ, ""), SIP_OK);
}

/* A rejected message must leave the caller's struct as it was. */
static void test_output_untouched_on_error(void **state)
{
    (void)state;
    struct sip_msg m, before;
    memset(&m, 0x5a, sizeof(m));
    before = m;
    assert_int_equal(parse_built(RESP, VIA, FROM, TO, CID, "CSeq: x" CRLF, ""), SIP_ERR_CSEQ);
    assert_int_equal(parse(&m, "SIP/2.0 200 OK" CRLF "Via: SIP/2.0/UDP h" CRLF CRLF), SIP_ERR_MISSING);
    assert_memory_equal(&m, &before, sizeof(m));
    assert_int_equal(sip_parse_start_line(&m, "garbage", 7), SIP_ERR_START_LINE);
    assert_memory_equal(&m, &before, sizeof(m));
}

static void test_start_line_only(void **state)
{
    (void)state;
    struct sip_msg m;
    static const char cut[] = "INVITE sip:bob@example.com SIP/2.0" CRLF "Via: SIP/2.0/UDP h;bra";
    assert_int_equal(sip_parse_start_line(&m, cut, sizeof(cut) - 1), SIP_OK);
    assert_true(m.is_request);
    assert_true(str_is(m.method, "INVITE"));
    assert_int_equal(sip_parse(&m, cut, sizeof(cut) - 1), SIP_ERR_TRUNCATED);
    assert_int_equal(sip_parse_start_line(&m, "SIP/2.0 180 Ringing" CRLF, 21), SIP_OK);
    assert_int_equal(m.status, 180);
    assert_int_equal(sip_parse_start_line(&m, "SIP/2.0 180 Ringing", 19), SIP_ERR_START_LINE);
}

static void test_strerror(void **state)
{
    (void)state;
    for (int e = SIP_OK; e >= SIP_ERR_BODY; e--) {
        const char *s = sip_strerror(e);
        assert_non_null(s);
        assert_true(strlen(s) > 1);
        for (int f = e - 1; f >= SIP_ERR_BODY; f--)
            assert_string_not_equal(s, sip_strerror(f));
    }
    assert_string_equal(sip_strerror(-999), "unknown SIP parse error");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_request),
        cmocka_unit_test(test_response_compact_forms),
        cmocka_unit_test(test_folding_and_leading_crlf),
        cmocka_unit_test(test_body_rules),
        cmocka_unit_test(test_start_line_errors),
        cmocka_unit_test(test_header_errors),
        cmocka_unit_test(test_too_many_headers),
        cmocka_unit_test(test_via),
        cmocka_unit_test(test_call_id_cseq_from_to),
        cmocka_unit_test(test_output_untouched_on_error),
        cmocka_unit_test(test_start_line_only),
        cmocka_unit_test(test_strerror),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
