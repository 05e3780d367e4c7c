/* ss_events.h — the client of Kamailio's evapi module: registration hints pushed by
 * the SIP server's routing script, delivered as they arrive.
 *
 * evapi listens on TCP (modparam "bind_addr") and relays every evapi_relay() of the
 * script to each connected client. We connect to it, stay connected, and hand each
 * event's payload to on_payload as bytes: what the payload means (JSON) is the
 * owner's business, not this module's.
 *
 * Framing: only netstrings, evapi's default (netstring_format = 1): "<len>:<payload>,"
 * with len in decimal, no sign, no leading zero ("0:," is the empty payload), at most
 * SS_EVENTS_MAX_PAYLOAD. With netstring_format = 0 evapi writes bare payloads back to
 * back on the stream, which nothing can split again (two events in one TCP segment look
 * like one), so that mode is refused: its first byte is a framing error.
 *
 * Hints are not a log: evapi keeps nothing for an absent client, and a hint is lost
 * while we are disconnected. The owner must therefore treat every on_state(up) as
 * "reconcile everything now" (and not rely on hints alone between two ups).
 *
 * Connection: a non-blocking connect (SS_EVENTS_CONNECT_TIMEOUT_MS at most), then
 * reads only (we never write: evapi's client messages run script routes we do not
 * need). A lost or failed connection is retried after SS_EVENTS_RETRY_MIN_MS, doubling
 * up to SS_EVENTS_RETRY_MAX_MS; a connection that lived SS_EVENTS_STABLE_MS or more
 * starts that series again. An up that ends at once (evapi accepts and closes the
 * clients above its max_clients within milliseconds) thus does not make us reconnect
 * in a tight loop, while a Kamailio restarted after a real session is found again
 * within a few hundred ms of listening.
 *
 * Dead peers: TCP keepalive, not an idle timer. evapi sends no heartbeat, and its
 * stream is legitimately silent for hours when nobody registers, so silence proves
 * nothing; a keepalive probe is answered by the peer's kernel, so it finds a vanished
 * host or a cut path (SS_EVENTS_KEEPALIVE_*: about 25 s) without asking anything of the
 * routing script. A Kamailio that dies on a live host closes its socket (FIN or RST)
 * and is seen at once. A Kamailio that hangs is not seen by either method: that is the
 * SIP probes' job, and reconciliation does not depend on hints.
 *
 * Reading: evapi writes each event with a blocking write() from its one dispatcher
 * process, whose stall would in turn block the SIP workers that queue events to it.
 * So we drain the socket at once, up to SS_EVENTS_READS_PER_WAKEUP reads per wakeup
 * (the loop calls us again while data remains), into one fixed buffer that holds one
 * largest frame. A frame that breaks the rules above, or a length above the cap, is a
 * framing error: the connection is dropped (reason MALFORMED or OVERSIZE) and made
 * again after the backoff; frames before it in the stream were delivered.
 *
 * Callbacks run from the loop only, never from inside ss_events_open. Any callback
 * may call ss_events_close: no callback follows it, and the memory is released before
 * control returns to the loop. */
#ifndef SIPHA_SS_EVENTS_H
#define SIPHA_SS_EVENTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "loop.h"

#define SS_EVENTS_MAX_PAYLOAD 65536u      /* bytes; a larger announced length: OVERSIZE */
#define SS_EVENTS_CONNECT_TIMEOUT_MS 3000u
#define SS_EVENTS_RETRY_MIN_MS 100u
#define SS_EVENTS_RETRY_MAX_MS 5000u
#define SS_EVENTS_STABLE_MS 2000u         /* an up this long resets the backoff */
#define SS_EVENTS_KEEPALIVE_IDLE_S 10     /* silence before the first probe */
#define SS_EVENTS_KEEPALIVE_INTVL_S 5     /* between probes */
#define SS_EVENTS_KEEPALIVE_COUNT 3       /* unanswered probes: the peer is gone */
#define SS_EVENTS_READS_PER_WAKEUP 16u

/* Why the connection came up or went down (and the index of its counter). */
enum ss_events_reason {
    SS_EVENTS_CONNECTED = 0,  /* up: TCP connected */
    SS_EVENTS_EOF = 1,        /* down: the server closed the connection */
    SS_EVENTS_SOCK_ERROR = 2, /* down: a read failed (reset; ETIMEDOUT is keepalive) */
    SS_EVENTS_MALFORMED = 3,  /* down: not a netstring (length, leading zero, comma) */
    SS_EVENTS_OVERSIZE = 4,   /* down: a length above SS_EVENTS_MAX_PAYLOAD */
};
#define SS_EVENTS_REASON_COUNT 5

struct ss_events_callbacks {
    /* One complete payload; buf[len] is '\0' (the comma's place), and buf is valid
     * only during the call. */
    void (*on_payload)(void *ctx, const char *buf, size_t len);
    /* up (reason SS_EVENTS_CONNECTED) after each connect; down with the reason after
     * each loss of an up connection. Failed attempts change nothing (we start down)
     * and are only counted. Every up is a point to reconcile fully. May be NULL. */
    void (*on_state)(void *ctx, bool up, enum ss_events_reason reason);
};

struct ss_events_counters {
    uint64_t attempts;         /* connects started */
    uint64_t connects;         /* of them, established (ups) */
    uint64_t connect_failures; /* refused, unreachable, timed out */
    uint64_t disconnects[SS_EVENTS_REASON_COUNT]; /* downs by reason ([CONNECTED] is 0) */
    uint64_t framing_errors;   /* MALFORMED + OVERSIZE */
    uint64_t payloads;         /* payloads delivered */
    uint64_t payload_bytes;    /* their bytes */
    uint64_t bytes_in;         /* bytes read from the socket, framing included */
    int last_errno;            /* of the last failed connect or read, 0 = none */
    uint32_t retry_delay_ms;   /* the last retry delay scheduled */
    bool up;
};

struct ss_events;

/* endpoint: "IP:PORT" or "[IPv6]:PORT", numeric (no DNS on the loop). Starts the first
 * connect at once. Fails only on a bad endpoint, a missing on_payload, or memory;
 * an absent server is not a failure (it is retried). */
int ss_events_open(struct ss_events **out, struct loop *lp, const char *endpoint,
                   const struct ss_events_callbacks *cb, void *ctx, char *err, size_t errlen);
void ss_events_close(struct ss_events *ev);
void ss_events_get_counters(const struct ss_events *ev, struct ss_events_counters *c);
bool ss_events_is_up(const struct ss_events *ev);
const char *ss_events_reason_name(enum ss_events_reason r);

/* ------------------------------------------------------- pure helper (tested) */

enum ss_events_frame_rc {
    SS_EVENTS_FRAME_MORE = 0,      /* valid so far, incomplete */
    SS_EVENTS_FRAME_WHOLE = 1,     /* one whole frame */
    SS_EVENTS_FRAME_MALFORMED = 2,
    SS_EVENTS_FRAME_OVERSIZE = 3,
};

/* Looks at the netstring at the start of buf[0..len). WHOLE: the payload is
 * buf[*off .. *off + *plen) and the frame is *off + *plen + 1 bytes. Errors are
 * reported from the first byte that proves them, so a bad stream is never waited on;
 * reading stops at the digit that takes the length past max (< SIZE_MAX / 10), so no
 * length can overflow. */
enum ss_events_frame_rc ss_events_frame(const char *buf, size_t len, size_t max, size_t *off,
                                        size_t *plen);

#endif
