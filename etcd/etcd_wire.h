/* etcd_wire.h — etcd v3's JSON gateway as sipha speaks it, with no I/O: the request
 * bodies of the calls the arbiter makes and one parser for their replies.
 *
 * The gateway (etcd 3.4: POST http(s)://member/v3/<service>/<method>) maps the gRPC
 * messages to JSON: keys and values are byte strings, sent and received in base64;
 * 64-bit integers come back as decimal strings ("revision":"12") and are accepted as
 * such; fields at their zero value are left out of replies. A refused call answers
 * {"error":"...","message":"...","code":N} (gRPC status code) with an HTTP error
 * status. LeaseKeepAlive is a stream: one request in, {"result":{...}} out, and a lease
 * that no longer exists answers a result without TTL.
 *
 * Every reply is bounded and parsed whole: ETCD_WIRE_REPLY_MAX, except a page of a
 * prefix range (ETCD_WIRE_RANGE_REPLY_MAX: at most ETCD_WIRE_RANGE_LIMIT_MAX keys of
 * ETCD_WIRE_ITEM_KEY_MAX and values of ETCD_WIRE_ITEM_VALUE_MAX bytes fit in it).
 *
 * Besides the arbiter's calls, a store of many keys under one prefix (etcd_contacts.h)
 * writes batches (one transaction of puts and deletes, each put on its own lease) and
 * reads the prefix page by page. */
#ifndef SIPHA_ETCD_WIRE_H
#define SIPHA_ETCD_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ETCD_WIRE_KEY_MAX 256u     /* bytes of a key, before base64 */
#define ETCD_WIRE_VALUE_MAX 512u   /* bytes of a value, before base64 */
#define ETCD_WIRE_BODY_MAX 2048u   /* any request body built here */
#define ETCD_WIRE_REPLY_MAX 65536u /* any reply the parser takes */
#define ETCD_WIRE_TEXT_MAX 160u    /* an error message, cut to fit */
#define ETCD_WIRE_DEPTH_MAX 16u    /* nesting of a reply (etcd's go 6 deep) */

/* gRPC status codes an error reply carries in "code" */
#define ETCD_GRPC_NOT_FOUND 5    /* "etcdserver: requested lease not found" */
#define ETCD_GRPC_UNAVAILABLE 14 /* no leader, or the member is stopping */

/* Batches and pages (etcd_contacts.h) */
#define ETCD_WIRE_TXN_OPS_MAX 128u              /* etcd's default --max-txn-ops */
#define ETCD_WIRE_TXN_BODY_MAX (256u * 1024u)   /* a batch's body (etcd takes 1.5 MiB) */
#define ETCD_WIRE_ITEM_KEY_MAX 1024u            /* a key of a batch or a page */
#define ETCD_WIRE_ITEM_VALUE_MAX 4096u          /* a value of a batch or a page */
#define ETCD_WIRE_RANGE_LIMIT_MAX 128u          /* keys asked in one page */
#define ETCD_WIRE_RANGE_BODY_MAX 4096u          /* a page's request (two keys in base64) */
#define ETCD_WIRE_RANGE_REPLY_MAX (1024u * 1024u) /* a page's reply: 128 keys and values at
                                                 * their limits are ~900 KB in base64 */

/* The calls, each with its gateway path. */
enum etcd_op {
    ETCD_OP_GRANT,     /* /v3/lease/grant: a lease of ttl seconds */
    ETCD_OP_KEEPALIVE, /* /v3/lease/keepalive: renew the lease */
    ETCD_OP_REVOKE,    /* /v3/lease/revoke: end the lease (and delete its keys) */
    ETCD_OP_TAKE,      /* /v3/kv/txn: put key=value on the lease if the key is absent,
                        * else read it */
    ETCD_OP_RELEASE,   /* /v3/kv/txn: delete the key if it is on this lease */
    ETCD_OP_READ,      /* /v3/kv/range: read the key */
    ETCD_OP_BATCH,     /* /v3/kv/txn: puts and deletes, no compare (etcd_batch_*) */
    ETCD_OP_RANGE,     /* /v3/kv/range: a page of keys in [key, range_end) */
};
#define ETCD_OP_LAST ETCD_OP_RANGE

const char *etcd_op_path(enum etcd_op op);
const char *etcd_op_name(enum etcd_op op);

/* Request bodies, NUL-terminated in buf (ETCD_WIRE_BODY_MAX is always enough within the
 * key and value limits). Each returns the body's length, or -1 when a key or value is
 * empty or too long, the lease is not positive, or cap is too small. */
int etcd_wire_grant(char *buf, size_t cap, uint32_t ttl_s);
int etcd_wire_keepalive(char *buf, size_t cap, int64_t lease);
int etcd_wire_revoke(char *buf, size_t cap, int64_t lease);
int etcd_wire_take(char *buf, size_t cap, const char *key, const void *value, size_t vlen,
                   int64_t lease);
int etcd_wire_release(char *buf, size_t cap, const char *key, int64_t lease);
int etcd_wire_read(char *buf, size_t cap, const char *key);

/* A page of the keys in [key, range_end), in key order, at most `limit`
 * (1..ETCD_WIRE_RANGE_LIMIT_MAX) of them, with their values unless keys_only. The next
 * page starts at the last key + "\0" (a key one byte longer than ETCD_WIRE_ITEM_KEY_MAX
 * is allowed for that). Returns the length, or -1: a key empty or too long, a range_end
 * empty or too long, limit out of bounds, cap too small (ETCD_WIRE_RANGE_BODY_MAX is
 * enough). */
int etcd_wire_range(char *buf, size_t cap, const void *key, size_t klen, const void *range_end,
                    size_t elen, uint32_t limit, bool keys_only);

/* The range_end that covers every key beginning with `prefix`: the prefix with its last
 * byte below 0xff incremented and the 0xff bytes after it dropped, into out (len bytes
 * at least). Returns its length; 0 when the prefix is empty or all 0xff. */
size_t etcd_wire_prefix_end(const void *prefix, size_t len, unsigned char *out);

/* A batch: one transaction of puts and deletes with no compare, applied at one revision
 * or not at all. At most ETCD_WIRE_TXN_OPS_MAX operations, and a key must not appear
 * twice (etcd refuses the whole transaction: "duplicate key given in txn request").
 * Built in place in buf:
 *     etcd_batch_begin, then etcd_batch_put / etcd_batch_delete, then etcd_batch_end.
 * put and delete return 0 (added), ETCD_BATCH_FULL (no room for it: operations or bytes;
 * nothing written, the batch stays whole) or -1 (a key empty or longer than
 * ETCD_WIRE_ITEM_KEY_MAX, a value longer than ETCD_WIRE_ITEM_VALUE_MAX, a negative
 * lease). lease 0: none. */
#define ETCD_BATCH_FULL 1
struct etcd_batch {
    char *buf;
    size_t cap, len;
    unsigned ops;
};
/* -1 when cap is too small for an empty batch */
int etcd_batch_begin(struct etcd_batch *b, char *buf, size_t cap);
int etcd_batch_put(struct etcd_batch *b, const void *key, size_t klen, const void *value,
                   size_t vlen, int64_t lease);
int etcd_batch_delete(struct etcd_batch *b, const void *key, size_t klen);
/* The body's length (NUL-terminated in buf); -1 with no operation in it. */
int etcd_batch_end(struct etcd_batch *b);
/* The bytes a put of klen and vlen bytes (vlen 0: a delete) adds at most. */
size_t etcd_batch_op_bytes(size_t klen, size_t vlen);

/* The key as stored: present when kv.present. */
struct etcd_kv {
    bool present;
    int64_t create_revision, mod_revision, lease; /* lease 0: none */
    size_t value_len;
    unsigned char value[ETCD_WIRE_VALUE_MAX + 1]; /* NUL-terminated for the log */
};

/* One key of a RANGE page: key and value NUL-terminated (value "" with keys_only). */
struct etcd_item {
    unsigned char *key, *value;
    size_t key_len, value_len;
    int64_t lease, mod_revision;
};

/* What a reply says, as far as its operation needs.
 *   GRANT      lease, ttl (seconds granted)
 *   KEEPALIVE  ttl: seconds left after the renewal; 0 when the lease is gone
 *   TAKE       succeeded: the key was put; else kv: who holds it (kv.present false
 *              when it vanished between the compare and the read: take again)
 *   RELEASE    succeeded: the key was ours and is deleted
 *   READ       kv
 *   REVOKE     nothing beyond the header
 *   BATCH      succeeded (always true when etcd applied it)
 *   RANGE      items (n_items, in key order), more: keys past the page; count: keys in
 *              the whole range. The items are the reply's: etcd_reply_free.
 * revision is the store's revision in the reply header (0 if absent).
 * An error answer ({"error"...}) sets is_error, code and message. */
struct etcd_reply {
    bool is_error;
    int code;
    char message[ETCD_WIRE_TEXT_MAX];
    int64_t revision;
    int64_t lease;
    int64_t ttl;
    bool succeeded;
    struct etcd_kv kv;
    struct etcd_item *items;
    size_t n_items;
    bool more;
    int64_t count;
};

/* The shape of a JSON text, strings skipped: the deepest nesting of objects and arrays,
 * and how many open at the top level. yajl_tree builds and frees its tree recursively,
 * so text is checked with this before it is parsed. */
struct etcd_json_shape {
    unsigned depth;
    unsigned top_level;
};
struct etcd_json_shape etcd_json_shape(const char *text);

/* The bytes a reply of `op` may have (ETCD_WIRE_REPLY_MAX, or the range page's). */
size_t etcd_wire_reply_max(enum etcd_op op);

/* Parses the reply body of `op` (not NUL-terminated; len bytes). Returns 0 with *out
 * filled, or -1 with a one-line reason in err: not JSON, too large, a field of the
 * wrong type, a value or key too long, bad base64, a missing field the operation needs.
 * An error answer parses (0, out->is_error). After 0, etcd_reply_free releases the
 * items of a RANGE page (a no-op for the other operations); after -1 nothing is held. */
int etcd_wire_parse(enum etcd_op op, const char *body, size_t len, struct etcd_reply *out,
                    char *err, size_t errlen);
void etcd_reply_free(struct etcd_reply *r);

#endif
