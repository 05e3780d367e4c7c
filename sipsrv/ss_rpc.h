/* ss_rpc.h — JSON-RPC over HTTP to the SIP server's control port (Kamailio: jsonrpcs
 * over xhttp), on the agent loop through libcurl's multi interface (base/curl_loop.h).
 *
 * A call POSTs one request body (Content-Type: application/json) to the URL and streams
 * the reply body to the caller's sink as it arrives, so that a 9 MB ul.dump is parsed
 * on its way in (sipsrv/ss_json.h); then `done` tells how the call ended. Calls wait in
 * a bounded queue, at most SS_RPC_INFLIGHT_MAX run at once, on HTTP/1.1 connections
 * kept alive between calls (sequential calls reuse one). Each call is bounded by
 * timeout_ms (connection, request and whole reply, from its start on the wire) and by
 * the reply cap. Redirects are not followed and no proxy is used, whatever the
 * environment says. Nothing blocks. */
#ifndef SIPHA_SS_RPC_H
#define SIPHA_SS_RPC_H

#include <stddef.h>
#include <stdint.h>

struct loop;
struct ss_rpc;

#define SS_RPC_INFLIGHT_MAX 4u
#define SS_RPC_QUEUE_MAX 256u                 /* calls waiting for a free slot */
#define SS_RPC_BODY_MAX (64u * 1024u)         /* one request body */
#define SS_RPC_REPLY_MAX_DEFAULT (64u * 1024u * 1024u)
#define SS_RPC_TIMEOUT_DEFAULT_MS 10000u
#define SS_RPC_URL_MAX 1024u
#define SS_RPC_BURST_BYTES (256u * 1024u) /* reply bytes per loop turn, then a pause */

enum ss_rpc_outcome {
    SS_RPC_ANSWERED,  /* a whole HTTP answer; http_status says which (Kamailio sends a
                       * JSON-RPC error with 404 or 500 and its JSON body) */
    SS_RPC_CONNECT,   /* no connection: refused, unreachable, name unknown */
    SS_RPC_TIMEOUT,   /* no whole answer within timeout_ms */
    SS_RPC_TOO_LARGE, /* the reply passed the cap (or announced it would): cut */
    SS_RPC_SINK,      /* the sink asked to stop */
    SS_RPC_PROTOCOL,  /* closed without (a whole) answer, or not HTTP */
    SS_RPC_FAILED,    /* anything else: out of memory, curl refused the request */
};

struct ss_rpc_result {
    enum ss_rpc_outcome outcome;
    long http_status;     /* 0 when no status line came */
    uint64_t reply_bytes; /* body bytes handed to the sink */
    uint64_t elapsed_ms;  /* from the call's start on the wire (its wait in the queue
                           * not counted) */
    const char *error;    /* one line for the log; "" when answered; valid during done */
};

/* Each piece of the reply body, in order, whatever the HTTP status. Returns 0 to go
 * on, anything else to cut the call (SS_RPC_SINK). Runs inside libcurl: it may call
 * ss_rpc_call but never ss_rpc_free. */
typedef int (*ss_rpc_sink)(void *arg, const char *buf, size_t len);

/* Once per accepted call, from a loop callback (never from inside ss_rpc_call). It may
 * call ss_rpc_call or ss_rpc_free. */
typedef void (*ss_rpc_done)(void *arg, const struct ss_rpc_result *r);

struct ss_rpc_stats {
    uint64_t calls;            /* accepted by ss_rpc_call */
    uint64_t refused;          /* refused by it: queue full, body too big, no memory */
    uint64_t answered;         /* ended with a whole HTTP answer */
    uint64_t http_errors;      /* ... whose status was not 2xx */
    uint64_t connect_failures; /* ended SS_RPC_CONNECT */
    uint64_t timeouts;         /* SS_RPC_TIMEOUT */
    uint64_t too_large;        /* SS_RPC_TOO_LARGE */
    uint64_t sink_stops;       /* SS_RPC_SINK */
    uint64_t protocol_errors;  /* SS_RPC_PROTOCOL */
    uint64_t other_failures;   /* SS_RPC_FAILED */
    uint64_t bytes_sent;       /* request bodies */
    uint64_t bytes_received;   /* reply bodies */
    uint64_t connects;         /* connections opened (kept alive: one for many calls) */
    uint32_t queued;           /* now waiting */
    uint32_t in_flight;        /* now on the wire */
};

/* A client of `url` (http:// or https://) on loop lp; timeout_ms 0 is the default.
 * Returns NULL with a one-line reason in err: no, malformed, too long or non-http URL,
 * libcurl unusable, out of memory. No connection is made until the first call. */
struct ss_rpc *ss_rpc_new(struct loop *lp, const char *url, uint32_t timeout_ms, char *err,
                          size_t errlen);

/* The reply cap for calls started from now on; 0 is the default. */
void ss_rpc_set_reply_max(struct ss_rpc *rpc, uint64_t bytes);

/* Queues one call with a copy of body; sink may be NULL (the body is counted, then
 * dropped). Returns 0, and done will be called exactly once unless the client is freed
 * first; or -1 (refused, counted): no done, body longer than SS_RPC_BODY_MAX, queue
 * full (SS_RPC_QUEUE_MAX waiting), out of memory. */
int ss_rpc_call(struct ss_rpc *rpc, const void *body, size_t len, ss_rpc_sink sink,
                ss_rpc_done done, void *arg);

/* How many calls ss_rpc_call accepts now. */
size_t ss_rpc_room(const struct ss_rpc *rpc);

void ss_rpc_get_stats(const struct ss_rpc *rpc, struct ss_rpc_stats *st);

/* Cancels every call, queued or on the wire, without calling their done or sink, and
 * closes the connections. Allowed from inside a done callback. NULL is allowed. */
void ss_rpc_free(struct ss_rpc *rpc);

const char *ss_rpc_outcome_name(enum ss_rpc_outcome o);

#endif
