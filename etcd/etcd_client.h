/* etcd_client.h — calls to an etcd v3 cluster through its JSON gateway, on the agent
 * loop through libcurl's multi interface (base/curl_loop.h). Nothing blocks.
 *
 * Members. The client knows the cluster's client URLs (http:// or https://, up to
 * ETCD_CLIENT_ENDPOINTS_MAX) and talks to one at a time, the member in use, on one
 * HTTP/1.1 connection kept alive between calls. A call that cannot reach the member in
 * use (no connection, no whole answer within the attempt timeout, an HTTP 5xx or a
 * gRPC "unavailable") moves to the next member and is tried there, each member at
 * most once per call; the member that answered stays in use for the next calls.
 * Every operation sipha sends is safe to send twice (a take that did land is seen as
 * our own key on the retry; keepalive, release, read and revoke are idempotent; a
 * duplicate grant leaves a lease that expires by itself).
 *
 * Order. One call is on the wire at a time and calls run in the order given, so a
 * release always reaches etcd before the take that follows it. Calls wait in a bounded
 * queue; `done` is called once per accepted call, from a loop callback.
 *
 * TLS: with a CA file the member's certificate is verified against it (else against
 * the system's CAs), with a certificate and key file the client authenticates. */
#ifndef SIPHA_ETCD_CLIENT_H
#define SIPHA_ETCD_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "etcd_wire.h"

struct loop;
struct etcd_client;

#define ETCD_CLIENT_ENDPOINTS_MAX 7u
#define ETCD_CLIENT_URL_MAX 256u
#define ETCD_CLIENT_QUEUE_MAX 16u
#define ETCD_CLIENT_TIMEOUT_DEFAULT_MS 500u
#define ETCD_CLIENT_BODY_MAX ETCD_WIRE_TXN_BODY_MAX /* a request body */

struct etcd_client_config {
    const char *endpoints[ETCD_CLIENT_ENDPOINTS_MAX]; /* client URLs, e.g. http://10.0.0.1:2379 */
    size_t n_endpoints;
    uint32_t timeout_ms;   /* one attempt on one member; 0: the default */
    const char *ca_file;   /* optional: PEM CA bundle for https members */
    const char *cert_file; /* optional: PEM client certificate ... */
    const char *key_file;  /* ... and its key (both or neither) */
};

enum etcd_outcome {
    ETCD_ANSWERED,    /* a reply parsed: reply says what (it may be an error answer) */
    ETCD_UNREACHABLE, /* no member answered (each tried once) */
    ETCD_BAD_REPLY,   /* a member answered something that is not a reply of this call */
    ETCD_FAILED,      /* local failure: out of memory, curl refused the request */
};

struct etcd_result {
    enum etcd_outcome outcome;
    enum etcd_op op;
    const struct etcd_reply *reply; /* ETCD_ANSWERED only; valid during done */
    size_t member;                  /* the member that answered, or the last one tried */
    unsigned attempts;              /* members tried */
    uint64_t elapsed_ms;            /* from the first attempt's start */
    const char *error;              /* one line for the log; "" when answered */
};

/* Once per accepted call, from a loop callback (never from inside etcd_client_call).
 * It may call etcd_client_call or etcd_client_free. */
typedef void (*etcd_done)(void *arg, const struct etcd_result *r);

struct etcd_client_stats {
    uint64_t calls;         /* accepted */
    uint64_t refused;       /* refused by etcd_client_call: queue full, bad body */
    uint64_t answered;      /* ended ETCD_ANSWERED */
    uint64_t error_answers; /* ... with an error answer */
    uint64_t unreachable;   /* ended ETCD_UNREACHABLE */
    uint64_t bad_replies;   /* ended ETCD_BAD_REPLY */
    uint64_t failovers;     /* moves to another member */
    uint64_t attempts;      /* requests put on the wire */
};

/* A client on loop lp. Returns NULL with a one-line reason in err: no or too many
 * endpoints, a URL malformed, too long or not http(s), a cert without key (or the
 * reverse), libcurl unusable, out of memory. No connection is made before a call. */
struct etcd_client *etcd_client_new(struct loop *lp, const struct etcd_client_config *cfg,
                                    char *err, size_t errlen);

/* Queues `op` with `body` (built by etcd_wire_*, at most ETCD_CLIENT_BODY_MAX bytes; one
 * past ETCD_WIRE_BODY_MAX is copied to the heap). A reply may have etcd_wire_reply_max(op)
 * bytes (the buffer grows to that for a range page). Returns 0, or -1 when the queue is
 * full or the body empty or too long (then done is not called). */
int etcd_client_call(struct etcd_client *c, enum etcd_op op, const char *body, size_t len,
                     etcd_done done, void *arg);

/* As etcd_client_call, but the call goes before every queued one (after the one on
 * the wire): for a lease renewal, which must not wait behind reads while a member is
 * failing. Its order against take and release does not matter. */
int etcd_client_call_first(struct etcd_client *c, enum etcd_op op, const char *body,
                           size_t len, etcd_done done, void *arg);

/* Drops every queued call and the one on the wire; their done callbacks are not
 * called. For a holder that starts over. */
void etcd_client_cancel_all(struct etcd_client *c);

/* A call is on the wire. */
bool etcd_client_busy(const struct etcd_client *c);

/* The member in use (index into the endpoints, and its URL). */
size_t etcd_client_member(const struct etcd_client *c);
const char *etcd_client_member_url(const struct etcd_client *c);

void etcd_client_get_stats(const struct etcd_client *c, struct etcd_client_stats *st);

/* Stops everything (no callback afterwards). NULL is allowed; allowed from done. */
void etcd_client_free(struct etcd_client *c);

const char *etcd_outcome_name(enum etcd_outcome o);

#endif
