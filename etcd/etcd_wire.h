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
 * Every reply is bounded (ETCD_WIRE_REPLY_MAX) and parsed whole: they are small. */
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

/* The calls, each with its gateway path. */
enum etcd_op {
    ETCD_OP_GRANT,     /* /v3/lease/grant: a lease of ttl seconds */
    ETCD_OP_KEEPALIVE, /* /v3/lease/keepalive: renew the lease */
    ETCD_OP_REVOKE,    /* /v3/lease/revoke: end the lease (and delete its keys) */
    ETCD_OP_TAKE,      /* /v3/kv/txn: put key=value on the lease if the key is absent,
                        * else read it */
    ETCD_OP_RELEASE,   /* /v3/kv/txn: delete the key if it is on this lease */
    ETCD_OP_READ,      /* /v3/kv/range: read the key */
};

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

/* The key as stored: present when kv.present. */
struct etcd_kv {
    bool present;
    int64_t create_revision, mod_revision, lease; /* lease 0: none */
    size_t value_len;
    unsigned char value[ETCD_WIRE_VALUE_MAX + 1]; /* NUL-terminated for the log */
};

/* What a reply says, as far as its operation needs.
 *   GRANT      lease, ttl (seconds granted)
 *   KEEPALIVE  ttl: seconds left after the renewal; 0 when the lease is gone
 *   TAKE       succeeded: the key was put; else kv: who holds it (kv.present false
 *              when it vanished between the compare and the read: take again)
 *   RELEASE    succeeded: the key was ours and is deleted
 *   READ       kv
 *   REVOKE     nothing beyond the header
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
};

/* Parses the reply body of `op` (not NUL-terminated; len bytes). Returns 0 with *out
 * filled, or -1 with a one-line reason in err: not JSON, too large, a field of the
 * wrong type, a value or key too long, bad base64, a missing field the operation needs.
 * An error answer parses (0, out->is_error). */
int etcd_wire_parse(enum etcd_op op, const char *body, size_t len, struct etcd_reply *out,
                    char *err, size_t errlen);

#endif
