/* test_etcd_wire.c — etcd's JSON gateway codec: request bodies read back (base64
 * decoded, every field checked) and refused when a key, value or lease is bad or the
 * buffer too small; replies as etcd 3.4.23 sent them (grant, keepalive of a live and of
 * an unknown lease, take won and lost, release, read of a present and an absent key,
 * unary and stream errors); and replies that must be refused: not JSON, wrong types,
 * bad base64, a value past the limit, nesting too deep, a NUL byte, too large. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <yajl/yajl_tree.h>

#include "etcd_wire.h"

/* ---------- helpers ---------- */

static int parse(enum etcd_op op, const char *json, struct etcd_reply *r, char *err)
{
    return etcd_wire_parse(op, json, strlen(json), r, err, 200);
}

/* the value at path (strings) in body, as text */
static const char *field(yajl_val root, const char **path)
{
    yajl_val v = yajl_tree_get(root, path, yajl_t_string);
    return v ? YAJL_GET_STRING(v) : NULL;
}

static yajl_val tree(const char *body)
{
    char e[128];
    yajl_val v = yajl_tree_parse(body, e, sizeof e);
    if (!v)
        fail_msg("not JSON (%s): %s", e, body);
    return v;
}

static yajl_val first(yajl_val root, const char *name)
{
    const char *p[] = { name, NULL };
    yajl_val a = yajl_tree_get(root, p, yajl_t_array);
    assert_non_null(a);
    assert_int_equal(a->u.array.len, 1);
    return a->u.array.values[0];
}

/* ---------- requests ---------- */

static void test_request_bodies(void **state)
{
    (void)state;
    char b[ETCD_WIRE_BODY_MAX];
    int n = etcd_wire_grant(b, sizeof b, 2);
    assert_int_equal(n, (int)strlen(b));
    assert_string_equal(b, "{\"TTL\":\"2\"}");
    assert_true(etcd_wire_keepalive(b, sizeof b, 7587880000000000001ll) > 0);
    assert_string_equal(b, "{\"ID\":\"7587880000000000001\"}");
    assert_true(etcd_wire_revoke(b, sizeof b, 42) > 0);
    assert_string_equal(b, "{\"ID\":\"42\"}");
    assert_true(etcd_wire_read(b, sizeof b, "/sipha/p1/primary") > 0);
    assert_string_equal(b, "{\"key\":\"L3NpcGhhL3AxL3ByaW1hcnk=\"}");

    /* take: compare CREATE == 0, put with the lease, else read; all one key */
    assert_true(etcd_wire_take(b, sizeof b, "/sipha/p1/primary", "sip-a 7", 7, 99) > 0);
    yajl_val t = tree(b);
    yajl_val cmp = first(t, "compare"), put, rng;
    const char *key[] = { "key", NULL }, *res[] = { "result", NULL }, *tgt[] = { "target", NULL };
    const char *crev[] = { "create_revision", NULL };
    assert_string_equal(field(cmp, key), "L3NpcGhhL3AxL3ByaW1hcnk=");
    assert_string_equal(field(cmp, res), "EQUAL");
    assert_string_equal(field(cmp, tgt), "CREATE");
    assert_string_equal(field(cmp, crev), "0");
    const char *pk[] = { "request_put", "key", NULL }, *pv[] = { "request_put", "value", NULL };
    const char *pl[] = { "request_put", "lease", NULL }, *rk[] = { "request_range", "key", NULL };
    put = first(t, "success");
    assert_string_equal(field(put, pk), "L3NpcGhhL3AxL3ByaW1hcnk=");
    assert_string_equal(field(put, pv), "c2lwLWEgNw=="); /* "sip-a 7" */
    assert_string_equal(field(put, pl), "99");
    rng = first(t, "failure");
    assert_string_equal(field(rng, rk), "L3NpcGhhL3AxL3ByaW1hcnk=");
    yajl_tree_free(t);

    /* release: compare LEASE == ours, then delete */
    assert_true(etcd_wire_release(b, sizeof b, "k", 5) > 0);
    t = tree(b);
    cmp = first(t, "compare");
    const char *cl[] = { "lease", NULL }, *dk[] = { "request_delete_range", "key", NULL };
    assert_string_equal(field(cmp, tgt), "LEASE");
    assert_string_equal(field(cmp, cl), "5");
    assert_string_equal(field(first(t, "success"), dk), "aw==");
    yajl_tree_free(t);

    /* every value length pads right (1, 2, 3 bytes) and binary bytes survive */
    assert_true(etcd_wire_take(b, sizeof b, "k", "\x00\xff", 2, 1) > 0);
    assert_non_null(strstr(b, "\"value\":\"AP8=\""));
    assert_true(etcd_wire_take(b, sizeof b, "k", "abc", 3, 1) > 0);
    assert_non_null(strstr(b, "\"value\":\"YWJj\""));
}

static void test_requests_refused(void **state)
{
    (void)state;
    char b[ETCD_WIRE_BODY_MAX], big[ETCD_WIRE_VALUE_MAX + 2];
    memset(big, 'k', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    assert_int_equal(etcd_wire_grant(b, sizeof b, 0), -1);
    assert_int_equal(etcd_wire_keepalive(b, sizeof b, 0), -1);
    assert_int_equal(etcd_wire_keepalive(b, sizeof b, -3), -1);
    assert_int_equal(etcd_wire_read(b, sizeof b, ""), -1);
    assert_int_equal(etcd_wire_read(b, sizeof b, NULL), -1);
    big[ETCD_WIRE_KEY_MAX + 1] = '\0'; /* a key one byte too long */
    assert_int_equal(etcd_wire_read(b, sizeof b, big), -1);
    big[ETCD_WIRE_KEY_MAX] = '\0';     /* the longest key */
    assert_true(etcd_wire_read(b, sizeof b, big) > 0);
    memset(big, 'v', sizeof big - 1);
    assert_int_equal(etcd_wire_take(b, sizeof b, "k", big, ETCD_WIRE_VALUE_MAX + 1, 1), -1);
    assert_int_equal(etcd_wire_take(b, sizeof b, "k", "v", 0, 1), -1);
    assert_int_equal(etcd_wire_take(b, sizeof b, "k", "v", 1, 0), -1);
    assert_int_equal(etcd_wire_release(b, sizeof b, "k", 0), -1);
    /* the longest key and value fit the body bound */
    char key[ETCD_WIRE_KEY_MAX + 1];
    memset(key, 'k', ETCD_WIRE_KEY_MAX);
    key[ETCD_WIRE_KEY_MAX] = '\0';
    assert_true(etcd_wire_take(b, sizeof b, key, big, ETCD_WIRE_VALUE_MAX, INT64_MAX) > 0);
    /* a buffer too small is refused, never overrun */
    char small[16];
    memset(small, 'x', sizeof small);
    assert_int_equal(etcd_wire_read(small, 10, "/sipha/p1/primary"), -1);
    assert_int_equal(small[10], 'x');
}

/* ---------- replies, as etcd 3.4.23 sent them ---------- */

#define HDR "\"header\":{\"cluster_id\":\"324952591200643719\",\"member_id\":" \
            "\"3319814642761637952\",\"revision\":\"2\",\"raft_term\":\"2\"}"

static void test_replies(void **state)
{
    (void)state;
    struct etcd_reply r;
    char err[200];
    assert_int_equal(parse(ETCD_OP_GRANT, "{" HDR ",\"ID\":\"2324035874151462405\",\"TTL\":\"2\"}",
                           &r, err), 0);
    assert_false(r.is_error);
    assert_true(r.lease == 2324035874151462405ll);
    assert_int_equal(r.ttl, 2);
    assert_int_equal(r.revision, 2);

    assert_int_equal(parse(ETCD_OP_KEEPALIVE, "{\"result\":{" HDR ",\"ID\":\"7\",\"TTL\":\"2\"}}",
                           &r, err), 0);
    assert_int_equal(r.lease, 7);
    assert_int_equal(r.ttl, 2);
    /* an unknown lease: a result without TTL */
    assert_int_equal(parse(ETCD_OP_KEEPALIVE, "{\"result\":{" HDR ",\"ID\":\"123\"}}", &r, err), 0);
    assert_false(r.is_error);
    assert_int_equal(r.ttl, 0);

    assert_int_equal(parse(ETCD_OP_TAKE, "{" HDR ",\"succeeded\":true,\"responses\":[{"
                           "\"response_put\":{\"header\":{\"revision\":\"2\"}}}]}", &r, err), 0);
    assert_true(r.succeeded);
    assert_false(r.kv.present);

    assert_int_equal(parse(ETCD_OP_TAKE, "{" HDR ",\"responses\":[{\"response_range\":{\"header\":"
                           "{\"revision\":\"2\"},\"kvs\":[{\"key\":\"L3NpcGhhL3AxL3ByaW1hcnk=\","
                           "\"create_revision\":\"2\",\"mod_revision\":\"3\",\"version\":\"1\","
                           "\"value\":\"YSA3\",\"lease\":\"2324035874151462407\"}],"
                           "\"count\":\"1\"}}]}", &r, err), 0);
    assert_false(r.succeeded);
    assert_true(r.kv.present);
    assert_string_equal((const char *)r.kv.value, "a 7");
    assert_int_equal(r.kv.value_len, 3);
    assert_true(r.kv.lease == 2324035874151462407ll);
    assert_int_equal(r.kv.create_revision, 2);
    assert_int_equal(r.kv.mod_revision, 3);
    /* lost, and the key gone before the read: no kvs */
    assert_int_equal(parse(ETCD_OP_TAKE, "{" HDR ",\"responses\":[{\"response_range\":{\"header\":"
                           "{\"revision\":\"2\"}}}]}", &r, err), 0);
    assert_false(r.succeeded);
    assert_false(r.kv.present);

    assert_int_equal(parse(ETCD_OP_RELEASE, "{" HDR ",\"succeeded\":true,\"responses\":[{"
                           "\"response_delete_range\":{\"header\":{\"revision\":\"3\"},"
                           "\"deleted\":\"1\"}}]}", &r, err), 0);
    assert_true(r.succeeded);
    assert_int_equal(parse(ETCD_OP_RELEASE, "{" HDR "}", &r, err), 0);
    assert_false(r.succeeded);

    assert_int_equal(parse(ETCD_OP_READ, "{" HDR "}", &r, err), 0);
    assert_false(r.kv.present);
    assert_int_equal(parse(ETCD_OP_READ, "{" HDR ",\"kvs\":[{\"key\":\"aw==\",\"create_revision\":"
                           "\"5\",\"mod_revision\":\"5\",\"version\":\"1\",\"value\":\"YiA5\"}],"
                           "\"count\":\"1\"}", &r, err), 0);
    assert_true(r.kv.present);
    assert_int_equal(r.kv.lease, 0);
    assert_string_equal((const char *)r.kv.value, "b 9");
    /* a present key with an empty value: no "value" field at all */
    assert_int_equal(parse(ETCD_OP_READ, "{\"kvs\":[{\"key\":\"aw==\",\"create_revision\":\"5\"}]}",
                           &r, err), 0);
    assert_true(r.kv.present);
    assert_int_equal(r.kv.value_len, 0);

    assert_int_equal(parse(ETCD_OP_REVOKE, "{" HDR "}", &r, err), 0);
    /* numbers also as JSON integers */
    assert_int_equal(parse(ETCD_OP_GRANT, "{\"ID\":77,\"TTL\":3}", &r, err), 0);
    assert_int_equal(r.lease, 77);
}

static void test_error_answers(void **state)
{
    (void)state;
    struct etcd_reply r;
    char err[200];
    assert_int_equal(parse(ETCD_OP_READ, "{\"error\":\"illegal base64 data at input byte 3\","
                           "\"message\":\"illegal base64 data at input byte 3\",\"code\":3}",
                           &r, err), 0);
    assert_true(r.is_error);
    assert_int_equal(r.code, 3);
    assert_string_equal(r.message, "illegal base64 data at input byte 3");
    assert_int_equal(parse(ETCD_OP_TAKE, "{\"error\":\"etcdserver: requested lease not found\","
                           "\"message\":\"etcdserver: requested lease not found\",\"code\":5}",
                           &r, err), 0);
    assert_int_equal(r.code, 5);
    /* a stream's error object */
    assert_int_equal(parse(ETCD_OP_KEEPALIVE, "{\"error\":{\"grpc_code\":14,\"http_code\":503,"
                           "\"message\":\"etcdserver: no leader\",\"http_status\":"
                           "\"Service Unavailable\"}}", &r, err), 0);
    assert_true(r.is_error);
    assert_int_equal(r.code, 14);
    assert_string_equal(r.message, "etcdserver: no leader");
    /* a long message is cut to fit */
    char long_msg[600];
    snprintf(long_msg, sizeof long_msg, "{\"error\":\"x\",\"message\":\"%0500d\",\"code\":2}", 0);
    assert_int_equal(parse(ETCD_OP_READ, long_msg, &r, err), 0);
    assert_int_equal(strlen(r.message), ETCD_WIRE_TEXT_MAX - 1);
}

static void test_bad_replies(void **state)
{
    (void)state;
    struct etcd_reply r;
    char err[200];
    const char *bad[] = {
        "", "null", "[]", "{", "not json", "\"text\"",
        "{\"ID\":\"x\",\"TTL\":\"2\"}",               /* grant: ID not a number */
        "{\"ID\":\"5\"}",                             /* grant: no TTL */
        "{\"ID\":\"99999999999999999999\",\"TTL\":\"2\"}", /* out of range */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        err[0] = '\0';
        assert_int_equal(parse(ETCD_OP_GRANT, bad[i], &r, err), -1);
        assert_true(err[0] != '\0');
    }
    assert_int_equal(parse(ETCD_OP_KEEPALIVE, "{\"ID\":\"5\",\"TTL\":\"2\"}", &r, err), -1);
    assert_int_equal(parse(ETCD_OP_KEEPALIVE, "{\"result\":{\"TTL\":\"-1\"}}", &r, err), -1);
    assert_int_equal(parse(ETCD_OP_TAKE, "{\"succeeded\":\"yes\"}", &r, err), -1);
    assert_int_equal(parse(ETCD_OP_TAKE, "{\"responses\":[]}", &r, err), -1);
    assert_int_equal(parse(ETCD_OP_TAKE, "{\"responses\":[{\"response_put\":{}}]}", &r, err), -1);
    assert_int_equal(parse(ETCD_OP_READ, "{\"kvs\":{}}", &r, err), -1);
    assert_int_equal(parse(ETCD_OP_READ, "{\"kvs\":[7]}", &r, err), -1);
    assert_int_equal(parse(ETCD_OP_READ, "{\"kvs\":[{\"value\":5}]}", &r, err), -1);
    assert_int_equal(parse(ETCD_OP_READ, "{\"header\":{\"revision\":[]}}", &r, err), -1);
    /* base64: bad letters, bad length, padding in the middle, whitespace */
    const char *b64[] = { "a$==", "abc", "ab=c", "YQ==YQ==", " YQ==", "Y===" };
    for (size_t i = 0; i < sizeof b64 / sizeof b64[0]; i++) {
        char j[128];
        snprintf(j, sizeof j, "{\"kvs\":[{\"key\":\"aw==\",\"value\":\"%s\"}]}", b64[i]);
        assert_int_equal(parse(ETCD_OP_READ, j, &r, err), -1);
    }
    /* a value one byte past the limit */
    size_t n = ETCD_WIRE_VALUE_MAX + 3; /* a multiple of 3 past the limit */
    char *j = malloc(n * 2 + 64);
    assert_non_null(j);
    int o = sprintf(j, "{\"kvs\":[{\"value\":\"");
    for (size_t i = 0; i < n / 3; i++)
        o += sprintf(j + o, "YWJj");
    sprintf(j + o, "\"}]}");
    assert_int_equal(parse(ETCD_OP_READ, j, &r, err), -1);
    free(j);
    /* nesting past the bound, inside and outside strings */
    char deep[200] = "{\"kvs\":";
    for (int i = 0; i < 20; i++)
        strcat(deep, "[");
    for (int i = 0; i < 20; i++)
        strcat(deep, "]");
    strcat(deep, "}");
    assert_int_equal(parse(ETCD_OP_READ, deep, &r, err), -1);
    assert_non_null(strstr(err, "nests"));
    assert_int_equal(parse(ETCD_OP_READ, "{\"x\":\"[[[[[[[[[[[[[[[[[[[[[[\\\"[[[[[[[\"}", &r, err), 0);
    /* a NUL byte, and a reply past the size bound */
    assert_int_equal(etcd_wire_parse(ETCD_OP_READ, "{}\0{}", 5, &r, err, sizeof err), -1);
    char *huge = calloc(1, ETCD_WIRE_REPLY_MAX + 2);
    assert_non_null(huge);
    memset(huge, ' ', ETCD_WIRE_REPLY_MAX + 1);
    huge[0] = '{';
    huge[ETCD_WIRE_REPLY_MAX] = '}';
    assert_int_equal(etcd_wire_parse(ETCD_OP_READ, huge, ETCD_WIRE_REPLY_MAX + 1, &r, err,
                                     sizeof err), -1);
    assert_int_equal(etcd_wire_parse(ETCD_OP_READ, huge + 1, ETCD_WIRE_REPLY_MAX - 1, &r, err,
                                     sizeof err), -1); /* not an object */
    free(huge);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_request_bodies),
        cmocka_unit_test(test_requests_refused),
        cmocka_unit_test(test_replies),
        cmocka_unit_test(test_error_answers),
        cmocka_unit_test(test_bad_replies),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
