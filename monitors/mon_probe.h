/* mon_probe.h — active out-of-service detection of service DNs with SIP OPTIONS.
 *
 * Every oos_check seconds each probed DN gets an OPTIONS request over UDP, all from
 * one non-blocking socket bound to the instance's SIP address. A DN that answers
 * nothing for oos_force seconds (5 at least), counted from its first unanswered probe,
 * is out of service; any SIP response (whatever its status) brings it back.
 *
 * Events: MON_PROBE_SENT and MON_PROBE_TIMEOUT {dn} for the DN's counters (a probe
 * times out after min(oos_check, oos_force), or when the next probe goes);
 * MON_DN {dn, in_service, status, rtt} on every response (in service) and when a DN
 * goes out of service; MON_SIP_MESSAGE {1, dn} for every response matched to a DN
 * when the probe socket is not on the SIP port (on the SIP port, mon_sip's packet
 * socket already counts it).
 *
 * The module has two layers. The scheduling core (mon_probe_core_*) is pure: no
 * socket, no clock — the caller passes the time — so tests drive it with a fake
 * clock. It keeps a binary min-heap of DNs on their next deadline (probe, probe
 * timeout, out-of-service) and a hash table from Call-ID to DN (keyed on the DN's
 * part of it: each probe has a Call-ID of its own), so a tick costs O(log n) per due
 * DN and a response O(1): 10,000 DNs at one probe a second is 10,000 heap operations
 * a second, not 10,000 scans. The socket layer (mon_probe_*) puts it on the loop,
 * sending and receiving in batches (sendmmsg/recvmmsg). */
#ifndef SIPHA_MON_PROBE_H
#define SIPHA_MON_PROBE_H

#include <stddef.h>
#include <stdint.h>

#include "loop.h"
#include "monitor.h"
#include "sip_parse.h"

/* The probe's own verdict on a DN (it reports changes as MON_DN events; the engine
 * decides what the MIB shows, with its enum ha_dn_state). */
enum mon_dn_state { MON_DN_UNKNOWN = 1, MON_DN_IN_SERVICE = 2, MON_DN_OUT_OF_SERVICE = 3 };

#define MON_PROBE_MIN_FORCE 5 /* seconds: the seed's floor for oos-force */

/* ------------------------------------------------------------------ socket layer */

struct mon_probe_dn {
    uint32_t index;       /* DN index (> 0, unique) */
    const char *uri;      /* sip:[user@]host[:port][;params] — host numeric (no DNS on the
                           * loop), transport UDP; copied at open */
    uint32_t oos_check;   /* seconds between probes; 0 = not probed */
    uint32_t oos_force;   /* seconds without an answer before out of service */
};

struct mon_probe_config {
    struct sipha_addr local;   /* the instance's SIP address (IPv4 or IPv6) */
    uint16_t sip_port;
    bool use_sip_port;         /* bind sip_port when it is free (responses are then SIP
                                * traffic on the SIP port); port 0 when false or taken.
                                * Beware: held by us, the port is then unavailable to a
                                * SIP server started later. */
    const struct mon_probe_dn *dns;
    size_t n_dns;
};

struct mon_probe_stats {
    uint64_t sent;         /* OPTIONS sent */
    uint64_t responses;    /* responses matched to a DN */
    uint64_t timeouts;     /* probes unanswered in time */
    uint64_t unmatched;    /* valid SIP messages that are not a response to our probes */
    uint64_t malformed;    /* datagrams that are not SIP */
    uint64_t send_errors;  /* sendto failures other than a full buffer */
    uint64_t blocked;      /* times the socket buffer was full (sending resumed later) */
};

struct mon_probe;

/* Fails with a clear error on a bad DN (naming its index), a duplicate index, an
 * address family mismatch, or a socket error. */
int mon_probe_open(struct mon_probe **out, struct loop *lp, const struct mon_probe_config *cfg,
                   mon_emit_fn emit, void *ctx, char *err, size_t errlen);
void mon_probe_close(struct mon_probe *mp);
uint16_t mon_probe_local_port(const struct mon_probe *mp);
/* The socket's inode, for mon_listener_ignore_inode. */
uint64_t mon_probe_inode(const struct mon_probe *mp);
enum mon_dn_state mon_probe_state(const struct mon_probe *mp, uint32_t dn_index);
void mon_probe_get_stats(const struct mon_probe *mp, struct mon_probe_stats *st);

/* ------------------------------------------------------- pure helpers (tested) */

/* Where to send a DN's probes: the numeric host and port of a sip: URI (default port
 * 5060). Returns 0, or -1 with the reason in err. */
int mon_probe_uri_target(const char *uri, struct sipha_addr *addr, uint16_t *port,
                         char *err, size_t errlen);

/* Writes an OPTIONS request for `uri` into buf. Returns its length, or -1 if it does
 * not fit. */
int mon_probe_build_options(char *buf, size_t len, const char *uri,
                            const struct sipha_addr *local, uint16_t local_port,
                            const char *call_id, const char *branch, uint32_t cseq,
                            const char *from_tag);

/* ------------------------------------------------------------ scheduling core */

struct mon_probe_core_dn {
    uint32_t index;
    uint32_t oos_check;   /* seconds; 0 = not probed */
    uint32_t oos_force;   /* seconds; raised to MON_PROBE_MIN_FORCE */
};

/* Sends one probe for the DN at position `pos` (of the array given to _new).
 * Returns 0 when sent (or failed for good: it will time out), MON_PROBE_WOULD_BLOCK
 * when the socket is full (the core keeps the probe due and stops the run). */
#define MON_PROBE_WOULD_BLOCK 1
typedef int (*mon_probe_send_fn)(void *ctx, size_t pos, const char *call_id,
                                 const char *branch, uint32_t cseq);

enum mon_probe_run { MON_PROBE_RUN_IDLE = 0, MON_PROBE_RUN_MORE = 1, MON_PROBE_RUN_BLOCKED = 2 };

struct mon_probe_core;

/* First probes are spread evenly over each DN's first oos_check interval from now_us,
 * so that 10,000 DNs do not all fire in one tick. `token` makes Call-IDs and branches
 * unique to this run (random in production, fixed in tests). Returns NULL with err on
 * a duplicate or zero index, or on memory exhaustion. */
struct mon_probe_core *mon_probe_core_new(const struct mon_probe_core_dn *dns, size_t n,
                                          uint64_t token, uint64_t now_us,
                                          mon_probe_send_fn send, void *send_ctx,
                                          mon_emit_fn emit, void *emit_ctx,
                                          char *err, size_t errlen);
void mon_probe_core_free(struct mon_probe_core *c);

/* Time (µs) of the earliest deadline, UINT64_MAX when nothing is probed. */
uint64_t mon_probe_core_next_due(const struct mon_probe_core *c);

/* Handles every deadline <= now_us, at most `budget` DNs: timeouts, out-of-service
 * transitions, probes to send. IDLE: nothing more is due; MORE: budget used up, call
 * again soon; BLOCKED: send said would-block, call again when writable. */
enum mon_probe_run mon_probe_core_run(struct mon_probe_core *c, uint64_t now_us, size_t budget);

/* A parsed message received on the probe socket. Returns the DN index it answers
 * (> 0), or 0 when it is not a response to one of our probes. */
uint32_t mon_probe_core_response(struct mon_probe_core *c, const struct sip_msg *m,
                                 uint64_t now_us);

enum mon_dn_state mon_probe_core_state(const struct mon_probe_core *c, size_t pos);
/* Position of a DN index, or -1. */
long mon_probe_core_find(const struct mon_probe_core *c, uint32_t index);

#endif
