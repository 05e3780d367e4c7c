/* test_etcd_wire.c — etcd's JSON gateway codec: request bodies read back (base64
 * decoded, every field checked) and refused when a key, value or lease is bad or the
 * buffer too small; replies as etcd 3.4.23 sent them (grant, keepalive of a live and of
 * an unknown lease, take won and lost, release, read of a present and an absent key,
 * unary and stream errors); and replies that must be refused: not JSON, wrong types,
 * bad base64, a value past the limit, nesting too deep, a NUL byte, too large.
 * The contact store's calls: batches (their bounds: operations, bytes, keys and values),
 * range pages and the prefix's range end, their replies as etcd 3.4.23 sent them (a page
 * with more to come, a keys-only page, an empty one, a batch applied, refused for an
 * unknown lease, a duplicate key, too many operations) and pages that must be refused;
 * and a contact's key and value (etcd_contact_codec), both ways. */
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

#include "etcd_contact_codec.h"
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


/* ---------- the contact store's calls ---------- */

static const char *b64of(const char *s, char *out)
{
    static const char t[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t n = strlen(s), o = 0;
    const unsigned char *u = (const unsigned char *)s;
    for (size_t i = 0; i < n; i += 3) {
        unsigned v = (unsigned)u[i] << 16 | (i + 1 < n ? (unsigned)u[i + 1] << 8 : 0) |
                     (i + 2 < n ? u[i + 2] : 0);
        out[o++] = t[v >> 18 & 63];
        out[o++] = t[v >> 12 & 63];
        out[o++] = i + 1 < n ? t[v >> 6 & 63] : '=';
        out[o++] = i + 2 < n ? t[v & 63] : '=';
    }
    out[o] = '\0';
    return out;
}

static void test_batch_bodies(void **state)
{
    (void)state;
    char buf[4096], k[64];
    struct etcd_batch b;
    assert_int_equal(etcd_batch_begin(&b, buf, sizeof buf), 0);
    assert_int_equal(etcd_batch_end(&b), -1); /* nothing in it */
    assert_int_equal(etcd_batch_put(&b, "/p/a", 4, "{\"expires\":5}", 13, 77), 0);
    assert_int_equal(etcd_batch_put(&b, "/p/b", 4, NULL, 0, 0), 0); /* empty, no lease */
    assert_int_equal(etcd_batch_delete(&b, "/p/c", 4), 0);
    int n = etcd_batch_end(&b);
    assert_int_equal(n, (int)strlen(buf));
    yajl_val t = tree(buf);
    const char *sp[] = { "success", NULL };
    yajl_val ops = yajl_tree_get(t, sp, yajl_t_array);
    assert_non_null(ops);
    assert_int_equal(ops->u.array.len, 3);
    const char *pk[] = { "request_put", "key", NULL }, *pv[] = { "request_put", "value", NULL };
    const char *pl[] = { "request_put", "lease", NULL };
    const char *dk[] = { "request_delete_range", "key", NULL };
    assert_string_equal(field(ops->u.array.values[0], pk), b64of("/p/a", k));
    assert_string_equal(field(ops->u.array.values[0], pv), b64of("{\"expires\":5}", k));
    assert_string_equal(field(ops->u.array.values[0], pl), "77");
    assert_string_equal(field(ops->u.array.values[1], pv), "");
    assert_null(field(ops->u.array.values[1], pl));
    assert_string_equal(field(ops->u.array.values[2], dk), b64of("/p/c", k));
    const char *cp[] = { "compare", NULL };
    assert_null(yajl_tree_get(t, cp, yajl_t_any)); /* no compare: always applied */
    yajl_tree_free(t);

    /* refused: a key empty or too long, a value too long, a negative lease */
    static char big[ETCD_WIRE_ITEM_VALUE_MAX + 2];
    memset(big, 'x', sizeof big);
    assert_int_equal(etcd_batch_begin(&b, buf, sizeof buf), 0);
    assert_int_equal(etcd_batch_put(&b, "", 0, "v", 1, 0), -1);
    assert_int_equal(etcd_batch_put(&b, big, ETCD_WIRE_ITEM_KEY_MAX + 1, "v", 1, 0), -1);
    assert_int_equal(etcd_batch_put(&b, "k", 1, big, ETCD_WIRE_ITEM_VALUE_MAX + 1, 0), -1);
    assert_int_equal(etcd_batch_put(&b, "k", 1, "v", 1, -1), -1);
    assert_int_equal(etcd_batch_delete(&b, NULL, 3), -1);
    assert_int_equal(b.ops, 0);
    /* no room: what fits stays whole */
    assert_int_equal(etcd_batch_put(&b, "k", 1, big, 2000, 1), 0);
    assert_int_equal(etcd_batch_put(&b, "l", 1, big, 2000, 1), ETCD_BATCH_FULL);
    assert_int_equal(etcd_batch_delete(&b, "m", 1), 0);
    n = etcd_batch_end(&b);
    assert_true(n > 0 && (size_t)n < sizeof buf);
    t = tree(buf);
    ops = yajl_tree_get(t, sp, yajl_t_array);
    assert_int_equal(ops->u.array.len, 2);
    yajl_tree_free(t);
    char tiny[8];
    assert_int_equal(etcd_batch_begin(&b, tiny, sizeof tiny), -1);

    /* etcd's limit of operations; the longest key and value fit the body bound */
    char *body = malloc(ETCD_WIRE_TXN_BODY_MAX);
    assert_non_null(body);
    assert_int_equal(etcd_batch_begin(&b, body, ETCD_WIRE_TXN_BODY_MAX), 0);
    for (unsigned i = 0; i < ETCD_WIRE_TXN_OPS_MAX; i++) {
        snprintf(k, sizeof k, "/p/%u", i);
        assert_int_equal(etcd_batch_put(&b, k, strlen(k), "v", 1, 1), 0);
    }
    assert_int_equal(etcd_batch_delete(&b, "/p/x", 4), ETCD_BATCH_FULL);
    assert_true(etcd_batch_end(&b) > 0);
    assert_int_equal(etcd_batch_begin(&b, body, ETCD_WIRE_TXN_BODY_MAX), 0);
    unsigned fitted = 0;
    while (etcd_batch_put(&b, big, ETCD_WIRE_ITEM_KEY_MAX, big, ETCD_WIRE_ITEM_VALUE_MAX,
                          INT64_MAX) == 0)
        fitted++;
    assert_true(fitted >= 30); /* 256 KB of ~7 KB operations */
    n = etcd_batch_end(&b);
    assert_true(n > 0 && (size_t)n < ETCD_WIRE_TXN_BODY_MAX);
    assert_true((size_t)n + etcd_batch_op_bytes(ETCD_WIRE_ITEM_KEY_MAX,
                                                ETCD_WIRE_ITEM_VALUE_MAX) > ETCD_WIRE_TXN_BODY_MAX - 3);
    t = tree(body);
    yajl_tree_free(t);
    free(body);
}

static void test_range_bodies(void **state)
{
    (void)state;
    char b[ETCD_WIRE_RANGE_BODY_MAX], k[64];
    unsigned char end[32];
    const char *dir = "/sipha/pair-1-2/contacts/";
    size_t en = etcd_wire_prefix_end(dir, strlen(dir), end);
    assert_int_equal(en, strlen(dir));
    assert_memory_equal(end, "/sipha/pair-1-2/contacts0", en);
    assert_int_equal(etcd_wire_prefix_end("a\xff\xff", 3, end), 1);
    assert_int_equal(end[0], 'b');
    assert_int_equal(etcd_wire_prefix_end("\xff\xff", 2, end), 0);
    assert_int_equal(etcd_wire_prefix_end("", 0, end), 0);

    int n = etcd_wire_range(b, sizeof b, dir, strlen(dir), end, 1, 128, true);
    assert_int_equal(n, (int)strlen(b));
    yajl_val t = tree(b);
    const char *kp[] = { "key", NULL }, *ep[] = { "range_end", NULL }, *lp[] = { "limit", NULL };
    const char *ko[] = { "keys_only", NULL };
    assert_string_equal(field(t, kp), b64of(dir, k));
    assert_string_equal(field(t, ep), "Yg=="); /* "b" */
    assert_string_equal(field(t, lp), "128");
    assert_true(YAJL_IS_TRUE(yajl_tree_get(t, ko, yajl_t_any)));
    yajl_tree_free(t);
    /* the next page: the last key and a NUL byte; values wanted */
    assert_true(etcd_wire_range(b, sizeof b, "k\0", 2, "l", 1, 1, false) > 0);
    assert_string_equal(b, "{\"key\":\"awA=\",\"range_end\":\"bA==\",\"limit\":\"1\"}");
    /* bounds */
    static char big[ETCD_WIRE_ITEM_KEY_MAX + 2];
    memset(big, 'k', sizeof big);
    assert_true(etcd_wire_range(b, sizeof b, big, ETCD_WIRE_ITEM_KEY_MAX + 1, big,
                                ETCD_WIRE_ITEM_KEY_MAX, ETCD_WIRE_RANGE_LIMIT_MAX, true) > 0);
    assert_int_equal(etcd_wire_range(b, sizeof b, big, ETCD_WIRE_ITEM_KEY_MAX + 2, "l", 1, 1,
                                     true), -1);
    assert_int_equal(etcd_wire_range(b, sizeof b, "k", 1, big, ETCD_WIRE_ITEM_KEY_MAX + 1, 1,
                                     true), -1);
    assert_int_equal(etcd_wire_range(b, sizeof b, "", 0, "l", 1, 1, true), -1);
    assert_int_equal(etcd_wire_range(b, sizeof b, "k", 1, "", 0, 1, true), -1);
    assert_int_equal(etcd_wire_range(b, sizeof b, "k", 1, "l", 1, 0, true), -1);
    assert_int_equal(etcd_wire_range(b, sizeof b, "k", 1, "l", 1,
                                     ETCD_WIRE_RANGE_LIMIT_MAX + 1, true), -1);
    assert_int_equal(etcd_wire_range(b, 20, "k", 1, "l", 1, 1, true), -1);
    assert_string_equal(etcd_op_path(ETCD_OP_BATCH), "/v3/kv/txn");
    assert_string_equal(etcd_op_path(ETCD_OP_RANGE), "/v3/kv/range");
    assert_int_equal(etcd_wire_reply_max(ETCD_OP_RANGE), ETCD_WIRE_RANGE_REPLY_MAX);
    assert_int_equal(etcd_wire_reply_max(ETCD_OP_READ), ETCD_WIRE_REPLY_MAX);
}

#define HDR3 "\"header\":{\"cluster_id\":\"15118495548433857066\",\"member_id\":" \
             "\"13668033151171901709\",\"revision\":\"2\",\"raft_term\":\"2\"}"
#define K1 "L3NpcGhhL3BhaXItMS0yL2NvbnRhY3RzL3NpcDoxMDAxQGV4YW1wbGUuY29tIHNpcDoxMDAxQDEwLjAuMC41OjUwNjA="
#define K2 "L3NpcGhhL3BhaXItMS0yL2NvbnRhY3RzL3NpcDoxMDAyQGV4YW1wbGUuY29tIHNpcDoxMDAyQDEwLjAuMC42OjUwNjA="

static void test_store_replies(void **state)
{
    (void)state;
    struct etcd_reply r;
    char err[200];
    /* a batch applied; refused (unknown lease, duplicate key, too many operations) */
    assert_int_equal(parse(ETCD_OP_BATCH, "{" HDR3 ",\"succeeded\":true,\"responses\":[{"
                           "\"response_put\":{\"header\":{\"revision\":\"2\"}}},{"
                           "\"response_delete_range\":{\"header\":{\"revision\":\"2\"}}}]}",
                           &r, err), 0);
    assert_true(r.succeeded);
    assert_int_equal(r.revision, 2);
    const char *refused[] = { "requested lease not found", "duplicate key given in txn request",
                              "too many operations in txn request" };
    int codes[] = { 5, 3, 3 };
    for (int i = 0; i < 3; i++) {
        char j[256];
        snprintf(j, sizeof j, "{\"error\":\"etcdserver: %s\",\"message\":\"etcdserver: %s\","
                 "\"code\":%d}", refused[i], refused[i], codes[i]);
        assert_int_equal(parse(ETCD_OP_BATCH, j, &r, err), 0);
        assert_true(r.is_error);
        assert_int_equal(r.code, codes[i]);
    }
    /* a page with more to come */
    assert_int_equal(parse(ETCD_OP_RANGE, "{" HDR3 ",\"kvs\":[{\"key\":\"" K1 "\","
                           "\"create_revision\":\"2\",\"mod_revision\":\"2\",\"version\":\"1\","
                           "\"value\":\"eyJleHBpcmVzIjoxOTAwMDAwMDAwLCJxIjoxMDAwLCJwYXRoIjoiPHNp"
                           "cDoxMC4wLjAuOTtscj4ifQ==\",\"lease\":\"4111120504572291077\"}],"
                           "\"more\":true,\"count\":\"2\"}", &r, err), 0);
    assert_int_equal(r.n_items, 1);
    assert_true(r.more);
    assert_int_equal(r.count, 2);
    assert_string_equal((char *)r.items[0].key,
                        "/sipha/pair-1-2/contacts/sip:1001@example.com sip:1001@10.0.0.5:5060");
    assert_string_equal((char *)r.items[0].value,
                        "{\"expires\":1900000000,\"q\":1000,\"path\":\"<sip:10.0.0.9;lr>\"}");
    assert_int_equal(r.items[0].lease, 4111120504572291077ll);
    assert_int_equal(r.items[0].mod_revision, 2);
    etcd_reply_free(&r);
    assert_null(r.items);
    /* keys only, the end of the range */
    assert_int_equal(parse(ETCD_OP_RANGE, "{" HDR3 ",\"kvs\":[{\"key\":\"" K1 "\",\"lease\":\"4\"},"
                           "{\"key\":\"" K2 "\",\"lease\":\"4\"}],\"count\":\"2\"}", &r, err), 0);
    assert_int_equal(r.n_items, 2);
    assert_false(r.more);
    assert_int_equal(r.items[1].value_len, 0);
    assert_string_equal((char *)r.items[1].value, "");
    etcd_reply_free(&r);
    /* an empty range */
    assert_int_equal(parse(ETCD_OP_RANGE, "{" HDR3 "}", &r, err), 0);
    assert_int_equal(r.n_items, 0);
    etcd_reply_free(&r);

    /* refused pages */
    const char *bad[] = {
        "{\"kvs\":{}}", "{\"kvs\":[7]}", "{\"kvs\":[{\"value\":\"YQ==\"}]}", /* no key */
        "{\"kvs\":[{\"key\":\"\"}]}", "{\"kvs\":[{\"key\":\"a$==\"}]}",
        "{\"kvs\":[{\"key\":\"YQ==\",\"value\":5}]}", "{\"kvs\":[{\"key\":\"YQ==\",\"lease\":[]}]}",
        "{\"more\":\"yes\"}", "{\"count\":\"-1\"}", "{\"count\":\"x\"}",
        "{\"kvs\":[{\"key\":\"YQ==\"},{\"key\":\"YQ\"}]}", /* the second is bad: none kept */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        err[0] = '\0';
        if (parse(ETCD_OP_RANGE, bad[i], &r, err) != -1)
            fail_msg("accepted: %s", bad[i]);
        assert_true(err[0] != '\0');
    }
    /* more keys than a page asks, a key or value past its bound */
    size_t cap = 64 + (ETCD_WIRE_RANGE_LIMIT_MAX + 1) * 16 + 2 * ETCD_WIRE_ITEM_VALUE_MAX;
    char *j = malloc(cap);
    assert_non_null(j);
    int o = sprintf(j, "{\"kvs\":[");
    for (unsigned i = 0; i <= ETCD_WIRE_RANGE_LIMIT_MAX; i++)
        o += sprintf(j + o, "%s{\"key\":\"YQ==\"}", i ? "," : "");
    sprintf(j + o, "]}");
    assert_int_equal(parse(ETCD_OP_RANGE, j, &r, err), -1);
    size_t nk = ETCD_WIRE_ITEM_KEY_MAX + 3; /* a multiple of 3 past the key bound */
    o = sprintf(j, "{\"kvs\":[{\"key\":\"");
    for (size_t i = 0; i < nk / 3; i++)
        o += sprintf(j + o, "YWJj");
    sprintf(j + o, "\"}]}");
    assert_int_equal(parse(ETCD_OP_RANGE, j, &r, err), -1);
    size_t nv = ETCD_WIRE_ITEM_VALUE_MAX + 3;
    o = sprintf(j, "{\"kvs\":[{\"key\":\"YQ==\",\"value\":\"");
    for (size_t i = 0; i < nv / 3; i++)
        o += sprintf(j + o, "YWJj");
    sprintf(j + o, "\"}]}");
    assert_int_equal(parse(ETCD_OP_RANGE, j, &r, err), -1);
    free(j);
    /* a page may be larger than any other reply, to its own bound */
    size_t big = ETCD_WIRE_REPLY_MAX + 100;
    char *h = malloc(ETCD_WIRE_RANGE_REPLY_MAX + 2);
    assert_non_null(h);
    memset(h, ' ', ETCD_WIRE_RANGE_REPLY_MAX + 1);
    h[0] = '{';
    h[big - 1] = '}';
    assert_int_equal(etcd_wire_parse(ETCD_OP_RANGE, h, big, &r, err, sizeof err), 0);
    etcd_reply_free(&r);
    assert_int_equal(etcd_wire_parse(ETCD_OP_READ, h, big, &r, err, sizeof err), -1);
    h[ETCD_WIRE_RANGE_REPLY_MAX] = '}';
    assert_int_equal(etcd_wire_parse(ETCD_OP_RANGE, h, ETCD_WIRE_RANGE_REPLY_MAX + 1, &r, err,
                                     sizeof err), -1);
    free(h);
}

/* ---------- a contact in etcd ---------- */

#define CDIR "/sipha/pair-1-2/contacts/"

static int decode(const char *key, const char *value, struct etcd_contact_rec *rec)
{
    char err[160];
    return etcd_contact_decode(CDIR, (const unsigned char *)key, strlen(key),
                               (const unsigned char *)value, value ? strlen(value) : 0, rec, err,
                               sizeof err);
}

/* The scan both parsers run before yajl_tree: strings (escaped quotes included) do not
 * count, nor do closers without an opener. */
static void test_json_shape(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        unsigned depth, top_level;
    } cases[] = {
        { "", 0, 0 },
        { "\"{[\"", 0, 0 },
        { "{}", 1, 1 },
        { "{\"a\":\"{\\\"[\"}", 1, 1 },
        { "{\"a\":[1,{\"b\":[]}]}", 4, 1 },
        { "{}{}[]", 1, 3 },
        { "]}{}", 1, 1 },
        { "[[[[", 4, 1 },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct etcd_json_shape sh = etcd_json_shape(cases[i].text);
        assert_int_equal(sh.depth, cases[i].depth);
        assert_int_equal(sh.top_level, cases[i].top_level);
    }
}

static void test_contact_codec(void **state)
{
    (void)state;
    static struct etcd_contact_rec rec;
    char k[ETCD_WIRE_ITEM_KEY_MAX + 1], v[ETCD_WIRE_ITEM_VALUE_MAX + 1];
    assert_true(etcd_contact_key(k, sizeof k, CDIR, "sip:1001@example.com",
                                 "sip:1001@10.0.0.5:5060;transport=tcp") > 0);
    assert_string_equal(k, CDIR "sip:1001@example.com sip:1001@10.0.0.5:5060;transport=tcp");
    /* the least: expires only */
    struct etcd_contact c = { .aor = "a", .uri = "u", .expires = 1900000000, .q = -1 };
    assert_true(etcd_contact_value(v, sizeof v, &c) > 0);
    assert_string_equal(v, "{\"expires\":1900000000}");
    /* everything, with what JSON must escape */
    c = (struct etcd_contact){ .aor = "a", .uri = "u", .expires = 1900000000, .q = 0,
                               .flags = 1, .cflags = 64, .methods = 8191,
                               .path = "<sip:p1;lr>,\"quoted\"\\\x01",
                               .received = "sip:198.51.100.7:5060", .socket = "udp:10.0.0.1:5060" };
    int n = etcd_contact_value(v, sizeof v, &c);
    assert_int_equal(n, (int)strlen(v));
    assert_string_equal(v, "{\"expires\":1900000000,\"q\":0,\"flags\":1,\"cflags\":64,"
                           "\"methods\":8191,\"path\":\"<sip:p1;lr>,\\\"quoted\\\"\\\\\\u0001\","
                           "\"received\":\"sip:198.51.100.7:5060\",\"socket\":\"udp:10.0.0.1:5060\"}");
    assert_int_equal(decode(CDIR "sip:a@x sip:a@10.0.0.1", v, &rec), 0);
    assert_string_equal(rec.c.aor, "sip:a@x");
    assert_string_equal(rec.c.uri, "sip:a@10.0.0.1");
    assert_int_equal(rec.c.expires, 1900000000);
    assert_int_equal(rec.c.q, 0);
    assert_int_equal(rec.c.flags, 1);
    assert_int_equal(rec.c.cflags, 64);
    assert_int_equal(rec.c.methods, 8191);
    assert_string_equal(rec.c.path, c.path);
    assert_string_equal(rec.c.received, c.received);
    assert_string_equal(rec.c.socket, c.socket);
    /* unset ones, an unknown field, the key only; a URI with a blank in it */
    assert_int_equal(decode(CDIR "a u v", "{\"expires\":5,\"later\":[1,2]}", &rec), -1);
    assert_int_equal(decode(CDIR "a u v", "{\"expires\":5,\"later\":\"x\"}", &rec), 0);
    assert_string_equal(rec.c.uri, "u v");
    assert_int_equal(rec.c.q, -1);
    assert_null(rec.c.path);
    assert_int_equal(decode(CDIR "a u", NULL, &rec), 0);
    assert_int_equal(rec.c.expires, 0);

    /* keys and values refused when written */
    assert_int_equal(etcd_contact_key(k, sizeof k, CDIR, "a b", "u"), -1);
    assert_int_equal(etcd_contact_key(k, sizeof k, CDIR, "", "u"), -1);
    assert_int_equal(etcd_contact_key(k, sizeof k, CDIR, "a", ""), -1);
    assert_int_equal(etcd_contact_key(k, sizeof k, CDIR, "a\n", "u"), -1);
    assert_int_equal(etcd_contact_key(k, sizeof k, CDIR, "a", "u\r"), -1);
    assert_int_equal(etcd_contact_key(k, 10, CDIR, "a", "u"), -1);
    static char long_uri[ETCD_WIRE_ITEM_KEY_MAX];
    memset(long_uri, 'u', sizeof long_uri - 1);
    assert_int_equal(etcd_contact_key(k, sizeof k, CDIR, "a", long_uri), -1);
    c = (struct etcd_contact){ .aor = "a", .uri = "u", .expires = 0, .q = -1 };
    assert_int_equal(etcd_contact_value(v, sizeof v, &c), -1);
    c.expires = 5;
    c.q = 1001;
    assert_int_equal(etcd_contact_value(v, sizeof v, &c), -1);
    c.q = -1;
    c.path = "\xff\xfe"; /* not UTF-8 */
    assert_int_equal(etcd_contact_value(v, sizeof v, &c), -1);
    static char long_path[ETCD_WIRE_ITEM_VALUE_MAX];
    memset(long_path, 'p', sizeof long_path - 1);
    c.path = long_path;
    assert_int_equal(etcd_contact_value(v, sizeof v, &c), -1);
    c.path = "p";
    assert_int_equal(etcd_contact_value(v, 8, &c), -1);

    /* keys and values refused when read */
    const char *bad_keys[] = { "/other/contacts/a u", CDIR "nospace", CDIR " u", CDIR "a ", CDIR };
    for (size_t i = 0; i < sizeof bad_keys / sizeof bad_keys[0]; i++)
        assert_int_equal(decode(bad_keys[i], "{\"expires\":5}", &rec), -1);
    char err[160];
    assert_int_equal(etcd_contact_decode(CDIR, (const unsigned char *)CDIR "a\0b u", sizeof CDIR + 4,
                                         NULL, 0, &rec, err, sizeof err), -1);
    const char *bad_values[] = {
        "", "junk", "[]", "{}", "{\"expires\":0}", "{\"expires\":-5}", "{\"expires\":\"5\"}",
        "{\"expires\":5.5}", "{\"expires\":5,\"q\":1001}", "{\"expires\":5,\"q\":-2}",
        "{\"expires\":5,\"flags\":-1}", "{\"expires\":5,\"methods\":4294967296}",
        "{\"expires\":5,\"path\":5}", "{\"expires\":5,\"socket\":null}",
        "{\"expires\":5,\"x\":{}}", "{\"expires\":5}{}", "{\"expires\":5,\"path\":\"\xff\"}",
    };
    for (size_t i = 0; i < sizeof bad_values / sizeof bad_values[0]; i++)
        if (decode(CDIR "a u", bad_values[i], &rec) != -1)
            fail_msg("accepted: %s", bad_values[i]);
    assert_int_equal(etcd_contact_decode(CDIR, (const unsigned char *)CDIR "a u", strlen(CDIR) + 3,
                                         (const unsigned char *)"{\"expires\":5}\0", 14, &rec, err,
                                         sizeof err), -1); /* a NUL byte */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_request_bodies),
        cmocka_unit_test(test_requests_refused),
        cmocka_unit_test(test_replies),
        cmocka_unit_test(test_error_answers),
        cmocka_unit_test(test_bad_replies),
        cmocka_unit_test(test_batch_bodies),
        cmocka_unit_test(test_range_bodies),
        cmocka_unit_test(test_store_replies),
        cmocka_unit_test(test_json_shape),
        cmocka_unit_test(test_contact_codec),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
