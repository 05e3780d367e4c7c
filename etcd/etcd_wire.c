/* etcd_wire.c — request bodies and reply parsing for etcd's JSON gateway (see
 * etcd_wire.h). Replies are small and bounded, so they are parsed as a whole tree
 * (yajl_tree); base64 is done here, strictly (no whitespace, padding required). */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yajl/yajl_tree.h>

#include "errbuf.h"
#include "etcd_wire.h"

/* --- names --- */

const char *etcd_op_path(enum etcd_op op)
{
    switch (op) {
    case ETCD_OP_GRANT: return "/v3/lease/grant";
    case ETCD_OP_KEEPALIVE: return "/v3/lease/keepalive";
    case ETCD_OP_REVOKE: return "/v3/lease/revoke";
    case ETCD_OP_TAKE:
    case ETCD_OP_RELEASE:
    case ETCD_OP_BATCH: return "/v3/kv/txn";
    case ETCD_OP_READ:
    case ETCD_OP_RANGE: return "/v3/kv/range";
    }
    return "/";
}

const char *etcd_op_name(enum etcd_op op)
{
    switch (op) {
    case ETCD_OP_GRANT: return "lease grant";
    case ETCD_OP_KEEPALIVE: return "lease keepalive";
    case ETCD_OP_REVOKE: return "lease revoke";
    case ETCD_OP_TAKE: return "take";
    case ETCD_OP_RELEASE: return "release";
    case ETCD_OP_READ: return "read";
    case ETCD_OP_BATCH: return "batch";
    case ETCD_OP_RANGE: return "range";
    }
    return "?";
}

size_t etcd_wire_reply_max(enum etcd_op op)
{
    return op == ETCD_OP_RANGE ? ETCD_WIRE_RANGE_REPLY_MAX : ETCD_WIRE_REPLY_MAX;
}

/* --- base64 --- */

static const char B64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* out needs 4 * ((n + 2) / 3) + 1 bytes */
static size_t b64_encode(const unsigned char *in, size_t n, char *out)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16;
        if (i + 1 < n)
            v |= (uint32_t)in[i + 1] << 8;
        if (i + 2 < n)
            v |= in[i + 2];
        out[o++] = B64[(v >> 18) & 63];
        out[o++] = B64[(v >> 12) & 63];
        out[o++] = i + 1 < n ? B64[(v >> 6) & 63] : '=';
        out[o++] = i + 2 < n ? B64[v & 63] : '=';
    }
    out[o] = '\0';
    return o;
}

static int b64_value(char c)
{
    const char *p = c ? strchr(B64, c) : NULL;
    return p ? (int)(p - B64) : -1;
}

/* Decodes s into out (cap bytes); returns the length, or -1: not base64, or too long. */
static long b64_decode(const char *s, unsigned char *out, size_t cap)
{
    size_t n = strlen(s), o = 0;
    if (n % 4)
        return -1;
    for (size_t i = 0; i < n; i += 4) {
        bool last = i + 4 == n;
        int a = b64_value(s[i]), b = b64_value(s[i + 1]);
        int c = s[i + 2] == '=' && last ? -2 : b64_value(s[i + 2]);
        int d = s[i + 3] == '=' && last ? -2 : b64_value(s[i + 3]);
        if (a < 0 || b < 0 || c == -1 || d == -1 || (c == -2 && d != -2))
            return -1;
        uint32_t v = (uint32_t)a << 18 | (uint32_t)b << 12 |
                     (uint32_t)(c < 0 ? 0 : c) << 6 | (uint32_t)(d < 0 ? 0 : d);
        size_t k = c < 0 ? 1 : d < 0 ? 2 : 3;
        if (o + k > cap)
            return -1;
        out[o++] = (unsigned char)(v >> 16);
        if (k > 1)
            out[o++] = (unsigned char)(v >> 8);
        if (k > 2)
            out[o++] = (unsigned char)v;
    }
    return (long)o;
}

#define B64_LEN(n) (4u * (((n) + 2u) / 3u) + 1u)

/* --- requests --- */

/* snprintf into buf; -1 when it did not fit */
static int fit(int n, size_t cap)
{
    return n < 0 || (size_t)n >= cap ? -1 : n;
}

static bool key_ok(const char *key)
{
    return key && *key && strlen(key) <= ETCD_WIRE_KEY_MAX;
}

int etcd_wire_grant(char *buf, size_t cap, uint32_t ttl_s)
{
    if (!ttl_s)
        return -1;
    return fit(snprintf(buf, cap, "{\"TTL\":\"%" PRIu32 "\"}", ttl_s), cap);
}

int etcd_wire_keepalive(char *buf, size_t cap, int64_t lease)
{
    if (lease <= 0)
        return -1;
    return fit(snprintf(buf, cap, "{\"ID\":\"%" PRId64 "\"}", lease), cap);
}

int etcd_wire_revoke(char *buf, size_t cap, int64_t lease)
{
    return etcd_wire_keepalive(buf, cap, lease); /* the same message: {ID} */
}

int etcd_wire_take(char *buf, size_t cap, const char *key, const void *value, size_t vlen,
                   int64_t lease)
{
    char k[B64_LEN(ETCD_WIRE_KEY_MAX)], v[B64_LEN(ETCD_WIRE_VALUE_MAX)];
    if (!key_ok(key) || !value || !vlen || vlen > ETCD_WIRE_VALUE_MAX || lease <= 0)
        return -1;
    b64_encode((const unsigned char *)key, strlen(key), k);
    b64_encode(value, vlen, v);
    /* create_revision 0 means "absent"; on failure, read who holds it in the same
     * transaction (one round trip, one revision) */
    return fit(snprintf(buf, cap,
                        "{\"compare\":[{\"key\":\"%s\",\"result\":\"EQUAL\",\"target\":\"CREATE\","
                        "\"create_revision\":\"0\"}],"
                        "\"success\":[{\"request_put\":{\"key\":\"%s\",\"value\":\"%s\","
                        "\"lease\":\"%" PRId64 "\"}}],"
                        "\"failure\":[{\"request_range\":{\"key\":\"%s\"}}]}",
                        k, k, v, lease, k), cap);
}

int etcd_wire_release(char *buf, size_t cap, const char *key, int64_t lease)
{
    char k[B64_LEN(ETCD_WIRE_KEY_MAX)];
    if (!key_ok(key) || lease <= 0)
        return -1;
    b64_encode((const unsigned char *)key, strlen(key), k);
    /* only the key on our own lease: a successor's key is never deleted */
    return fit(snprintf(buf, cap,
                        "{\"compare\":[{\"key\":\"%s\",\"result\":\"EQUAL\",\"target\":\"LEASE\","
                        "\"lease\":\"%" PRId64 "\"}],"
                        "\"success\":[{\"request_delete_range\":{\"key\":\"%s\"}}]}",
                        k, lease, k), cap);
}

int etcd_wire_read(char *buf, size_t cap, const char *key)
{
    char k[B64_LEN(ETCD_WIRE_KEY_MAX)];
    if (!key_ok(key))
        return -1;
    b64_encode((const unsigned char *)key, strlen(key), k);
    return fit(snprintf(buf, cap, "{\"key\":\"%s\"}", k), cap);
}

/* --- pages and batches --- */

int etcd_wire_range(char *buf, size_t cap, const void *key, size_t klen, const void *range_end,
                    size_t elen, uint32_t limit, bool keys_only)
{
    char k[B64_LEN(ETCD_WIRE_ITEM_KEY_MAX + 1)], e[B64_LEN(ETCD_WIRE_ITEM_KEY_MAX)];
    if (!key || !klen || klen > ETCD_WIRE_ITEM_KEY_MAX + 1 || !range_end || !elen ||
        elen > ETCD_WIRE_ITEM_KEY_MAX || !limit || limit > ETCD_WIRE_RANGE_LIMIT_MAX)
        return -1;
    b64_encode(key, klen, k);
    b64_encode(range_end, elen, e);
    return fit(snprintf(buf, cap, "{\"key\":\"%s\",\"range_end\":\"%s\",\"limit\":\"%" PRIu32
                        "\"%s}", k, e, limit, keys_only ? ",\"keys_only\":true" : ""), cap);
}

size_t etcd_wire_prefix_end(const void *prefix, size_t len, unsigned char *out)
{
    const unsigned char *p = prefix;
    while (len > 0 && p[len - 1] == 0xff)
        len--;
    if (len == 0)
        return 0;
    memcpy(out, p, len);
    out[len - 1]++;
    return len;
}

/* {"request_put":{"key":"","value":"","lease":"-9223372036854775808"}} and a comma,
 * with room to spare */
#define BATCH_OP_FIXED 96u
#define BATCH_HEAD "{\"success\":["
#define BATCH_TAIL "]}"

size_t etcd_batch_op_bytes(size_t klen, size_t vlen)
{
    return BATCH_OP_FIXED + B64_LEN(klen) + B64_LEN(vlen);
}

int etcd_batch_begin(struct etcd_batch *b, char *buf, size_t cap)
{
    *b = (struct etcd_batch){ .buf = buf, .cap = cap };
    if (!buf || cap < sizeof BATCH_HEAD + sizeof BATCH_TAIL)
        return -1;
    memcpy(buf, BATCH_HEAD, sizeof BATCH_HEAD);
    b->len = sizeof BATCH_HEAD - 1;
    return 0;
}

/* Appends one operation; vlen and lease for a put only. */
static int batch_add(struct etcd_batch *b, bool put, const void *key, size_t klen,
                     const void *value, size_t vlen, int64_t lease)
{
    if (!b->buf || !key || !klen || klen > ETCD_WIRE_ITEM_KEY_MAX ||
        vlen > ETCD_WIRE_ITEM_VALUE_MAX || (vlen && !value) || lease < 0)
        return -1;
    /* room for this operation and the tail, whatever happens after */
    if (b->ops >= ETCD_WIRE_TXN_OPS_MAX ||
        b->len + etcd_batch_op_bytes(klen, vlen) + sizeof BATCH_TAIL > b->cap)
        return ETCD_BATCH_FULL;
    char *o = b->buf + b->len;
    if (b->ops)
        *o++ = ',';
    o += sprintf(o, "{\"%s\":{\"key\":\"", put ? "request_put" : "request_delete_range");
    o += b64_encode(key, klen, o);
    if (put) {
        o += sprintf(o, "\",\"value\":\"");
        o += b64_encode(value, vlen, o);
        if (lease)
            o += sprintf(o, "\",\"lease\":\"%" PRId64, lease);
    }
    o += sprintf(o, "\"}}");
    b->len = (size_t)(o - b->buf);
    b->ops++;
    return 0;
}

int etcd_batch_put(struct etcd_batch *b, const void *key, size_t klen, const void *value,
                   size_t vlen, int64_t lease)
{
    return batch_add(b, true, key, klen, value ? value : "", vlen, lease);
}

int etcd_batch_delete(struct etcd_batch *b, const void *key, size_t klen)
{
    return batch_add(b, false, key, klen, NULL, 0, 0);
}

int etcd_batch_end(struct etcd_batch *b)
{
    if (!b->buf || !b->ops)
        return -1;
    memcpy(b->buf + b->len, BATCH_TAIL, sizeof BATCH_TAIL);
    b->len += sizeof BATCH_TAIL - 1;
    return (int)b->len;
}

/* --- replies --- */

/* An int64 given as a decimal string or a JSON integer; absent is `dflt`. -1 when it is
 * of another type or out of range. */
static int get_i64(yajl_val obj, const char *name, int64_t dflt, int64_t *out)
{
    const char *path[] = { name, NULL };
    yajl_val v = yajl_tree_get(obj, path, yajl_t_any);
    if (!v) {
        *out = dflt;
        return 0;
    }
    if (YAJL_IS_INTEGER(v)) {
        *out = YAJL_GET_INTEGER(v);
        return 0;
    }
    if (!YAJL_IS_STRING(v))
        return -1;
    const char *s = YAJL_GET_STRING(v);
    char *end;
    errno = 0;
    long long x = strtoll(s, &end, 10);
    if (!*s || *end || errno)
        return -1;
    *out = x;
    return 0;
}

static yajl_val get(yajl_val obj, const char *name, yajl_type t)
{
    const char *path[] = { name, NULL };
    return obj ? yajl_tree_get(obj, path, t) : NULL;
}

static void copy_text(char *dst, size_t cap, const char *s)
{
    snprintf(dst, cap, "%s", s ? s : "");
}

/* {"error":"..","message":"..","code":N} (unary) or {"error":{"grpc_code":N,
 * "message":".."}} (a stream); true when root is one of them. */
static bool parse_error(yajl_val root, struct etcd_reply *r)
{
    yajl_val e = get(root, "error", yajl_t_any);
    if (!e)
        return false;
    r->is_error = true;
    int64_t code = 0;
    yajl_val holder = YAJL_IS_OBJECT(e) ? e : root;
    if (get_i64(holder, YAJL_IS_OBJECT(e) ? "grpc_code" : "code", 0, &code) < 0 ||
        code < 0 || code > 1000)
        code = -1;
    r->code = (int)code;
    yajl_val m = get(holder, "message", yajl_t_string);
    copy_text(r->message, sizeof r->message,
              m ? YAJL_GET_STRING(m) : YAJL_IS_STRING(e) ? YAJL_GET_STRING(e) : "no message");
    return true;
}

static int parse_kv(yajl_val kv, struct etcd_kv *out, char *err, size_t errlen)
{
    yajl_val v = get(kv, "value", yajl_t_any);
    if (!YAJL_IS_OBJECT(kv) || (v && !YAJL_IS_STRING(v)))
        return errbuf_set(err, errlen, "a key-value entry is malformed");
    if (get_i64(kv, "create_revision", 0, &out->create_revision) < 0 ||
        get_i64(kv, "mod_revision", 0, &out->mod_revision) < 0 ||
        get_i64(kv, "lease", 0, &out->lease) < 0)
        return errbuf_set(err, errlen, "a key-value entry has a malformed number");
    long n = v ? b64_decode(YAJL_GET_STRING(v), out->value, ETCD_WIRE_VALUE_MAX) : 0;
    if (n < 0)
        return errbuf_set(err, errlen, "a value is not base64 or longer than %u bytes",
                          ETCD_WIRE_VALUE_MAX);
    out->value_len = (size_t)n;
    out->value[n] = '\0';
    out->present = true;
    return 0;
}

/* the first entry of kvs in obj, if any */
static int parse_kvs(yajl_val obj, struct etcd_kv *out, char *err, size_t errlen)
{
    yajl_val kvs = get(obj, "kvs", yajl_t_any);
    if (!kvs)
        return 0;
    if (!YAJL_IS_ARRAY(kvs))
        return errbuf_set(err, errlen, "kvs is not an array");
    if (kvs->u.array.len == 0)
        return 0;
    return parse_kv(kvs->u.array.values[0], out, err, errlen);
}

static int parse_bool(yajl_val obj, const char *name, bool *out, char *err, size_t errlen)
{
    yajl_val v = get(obj, name, yajl_t_any);
    if (v && !YAJL_IS_TRUE(v) && !YAJL_IS_FALSE(v))
        return errbuf_set(err, errlen, "%s is not a boolean", name);
    *out = v && YAJL_IS_TRUE(v);
    return 0;
}

/* TAKE's failure branch: responses[0].response_range */
static int parse_take(yajl_val root, struct etcd_reply *r, char *err, size_t errlen)
{
    if (parse_bool(root, "succeeded", &r->succeeded, err, errlen) < 0)
        return -1;
    if (r->succeeded)
        return 0;
    yajl_val resp = get(root, "responses", yajl_t_any);
    if (!resp || !YAJL_IS_ARRAY(resp) || resp->u.array.len != 1)
        return errbuf_set(err, errlen, "a failed take does not carry one response");
    yajl_val range = get(resp->u.array.values[0], "response_range", yajl_t_object);
    if (!range)
        return errbuf_set(err, errlen, "a failed take does not carry the key's read");
    return parse_kvs(range, &r->kv, err, errlen);
}

void etcd_reply_free(struct etcd_reply *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->n_items; i++)
        free(r->items[i].key); /* the value shares its block */
    free(r->items);
    r->items = NULL;
    r->n_items = 0;
}

/* One key of a page: key (required) and value in one block. */
static int parse_item(yajl_val kv, struct etcd_item *it, char *err, size_t errlen)
{
    yajl_val k = get(kv, "key", yajl_t_any), v = get(kv, "value", yajl_t_any);
    if (!YAJL_IS_OBJECT(kv) || !k || !YAJL_IS_STRING(k) || (v && !YAJL_IS_STRING(v)))
        return errbuf_set(err, errlen, "a key of the page is malformed");
    if (get_i64(kv, "mod_revision", 0, &it->mod_revision) < 0 ||
        get_i64(kv, "lease", 0, &it->lease) < 0)
        return errbuf_set(err, errlen, "a key of the page has a malformed number");
    const char *ks = YAJL_GET_STRING(k), *vs = v ? YAJL_GET_STRING(v) : "";
    size_t kcap = strlen(ks) / 4 * 3, vcap = strlen(vs) / 4 * 3;
    if (kcap > ETCD_WIRE_ITEM_KEY_MAX + 2 || vcap > ETCD_WIRE_ITEM_VALUE_MAX + 2)
        return errbuf_set(err, errlen, "a key of the page is longer than %u bytes or its "
                          "value longer than %u", ETCD_WIRE_ITEM_KEY_MAX,
                          ETCD_WIRE_ITEM_VALUE_MAX);
    unsigned char *block = malloc(kcap + vcap + 2);
    if (!block)
        return errbuf_set(err, errlen, "out of memory");
    long kn = b64_decode(ks, block, ETCD_WIRE_ITEM_KEY_MAX);
    long vn = kn > 0 ? b64_decode(vs, block + kn + 1, ETCD_WIRE_ITEM_VALUE_MAX) : -1;
    if (kn <= 0 || vn < 0) {
        free(block);
        return errbuf_set(err, errlen, "a key of the page is empty, not base64, or longer "
                          "than %u bytes (its value %u)", ETCD_WIRE_ITEM_KEY_MAX,
                          ETCD_WIRE_ITEM_VALUE_MAX);
    }
    block[kn] = '\0';
    block[kn + 1 + vn] = '\0';
    it->key = block;
    it->key_len = (size_t)kn;
    it->value = block + kn + 1;
    it->value_len = (size_t)vn;
    return 0;
}

static int parse_range(yajl_val root, struct etcd_reply *r, char *err, size_t errlen)
{
    if (parse_bool(root, "more", &r->more, err, errlen) < 0)
        return -1;
    if (get_i64(root, "count", 0, &r->count) < 0 || r->count < 0)
        return errbuf_set(err, errlen, "the page's count is malformed");
    yajl_val kvs = get(root, "kvs", yajl_t_any);
    if (!kvs)
        return 0;
    if (!YAJL_IS_ARRAY(kvs))
        return errbuf_set(err, errlen, "kvs is not an array");
    size_t n = kvs->u.array.len;
    if (n > ETCD_WIRE_RANGE_LIMIT_MAX)
        return errbuf_set(err, errlen, "a page of %zu keys, more than %u", n,
                          ETCD_WIRE_RANGE_LIMIT_MAX);
    if (n == 0)
        return 0;
    if (!(r->items = calloc(n, sizeof *r->items)))
        return errbuf_set(err, errlen, "out of memory");
    for (size_t i = 0; i < n; i++) {
        if (parse_item(kvs->u.array.values[i], &r->items[i], err, errlen) < 0) {
            etcd_reply_free(r);
            return -1;
        }
        r->n_items++;
    }
    return 0;
}

static int parse_ok(enum etcd_op op, yajl_val root, struct etcd_reply *r, char *err,
                    size_t errlen)
{
    yajl_val header = get(root, "header", yajl_t_object);
    if (header && get_i64(header, "revision", 0, &r->revision) < 0)
        return errbuf_set(err, errlen, "the header's revision is malformed");
    switch (op) {
    case ETCD_OP_GRANT:
        if (get_i64(root, "ID", 0, &r->lease) < 0 || get_i64(root, "TTL", 0, &r->ttl) < 0)
            return errbuf_set(err, errlen, "the grant's ID or TTL is malformed");
        if (r->lease <= 0 || r->ttl <= 0)
            return errbuf_set(err, errlen, "the grant carries no lease ID or TTL");
        return 0;
    case ETCD_OP_KEEPALIVE: {
        yajl_val res = get(root, "result", yajl_t_object);
        if (!res)
            return errbuf_set(err, errlen, "the keepalive answer has no result");
        if (get_i64(res, "ID", 0, &r->lease) < 0 || get_i64(res, "TTL", 0, &r->ttl) < 0 ||
            r->ttl < 0)
            return errbuf_set(err, errlen, "the keepalive's ID or TTL is malformed");
        yajl_val h = get(res, "header", yajl_t_object);
        if (h && get_i64(h, "revision", 0, &r->revision) < 0)
            return errbuf_set(err, errlen, "the header's revision is malformed");
        return 0;
    }
    case ETCD_OP_TAKE:
        return parse_take(root, r, err, errlen);
    case ETCD_OP_RELEASE:
    case ETCD_OP_BATCH:
        return parse_bool(root, "succeeded", &r->succeeded, err, errlen);
    case ETCD_OP_READ:
        return parse_kvs(root, &r->kv, err, errlen);
    case ETCD_OP_RANGE:
        return parse_range(root, r, err, errlen);
    case ETCD_OP_REVOKE:
        return 0;
    }
    return errbuf_set(err, errlen, "unknown operation");
}

struct etcd_json_shape etcd_json_shape(const char *text)
{
    struct etcd_json_shape sh = { 0, 0 };
    unsigned depth = 0;
    bool in_str = false;
    for (const char *p = text; *p; p++) {
        if (in_str) {
            if (*p == '\\' && p[1])
                p++;
            else if (*p == '"')
                in_str = false;
        } else if (*p == '"') {
            in_str = true;
        } else if (*p == '{' || *p == '[') {
            if (depth++ == 0)
                sh.top_level++;
            if (depth > sh.depth)
                sh.depth = depth;
        } else if ((*p == '}' || *p == ']') && depth) {
            depth--;
        }
    }
    return sh;
}

int etcd_wire_parse(enum etcd_op op, const char *body, size_t len, struct etcd_reply *out,
                    char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    if (len > etcd_wire_reply_max(op))
        return errbuf_set(err, errlen, "reply of %zu bytes, more than %zu", len,
                          etcd_wire_reply_max(op));
    if (memchr(body, '\0', len))
        return errbuf_set(err, errlen, "reply holds a NUL byte");
    char *text = malloc(len + 1);
    if (!text)
        return errbuf_set(err, errlen, "out of memory");
    memcpy(text, body, len);
    text[len] = '\0';
    if (etcd_json_shape(text).depth > ETCD_WIRE_DEPTH_MAX) {
        free(text);
        return errbuf_set(err, errlen, "%s reply nests deeper than %u", etcd_op_name(op),
                          ETCD_WIRE_DEPTH_MAX);
    }
    char perr[128];
    yajl_val root = yajl_tree_parse(text, perr, sizeof perr);
    free(text);
    if (!root || !YAJL_IS_OBJECT(root)) {
        if (root)
            yajl_tree_free(root);
        return errbuf_set(err, errlen, "%s reply is not a JSON object", etcd_op_name(op));
    }
    int rc = parse_error(root, out) ? 0 : parse_ok(op, root, out, err, errlen);
    yajl_tree_free(root);
    return rc;
}
