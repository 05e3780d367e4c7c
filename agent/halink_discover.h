/* halink_discover.h — RFC 3414 §4 engine discovery of the peer's snmpd, done without
 * blocking, and the peer address syntax of the HA link.
 *
 * Net-SNMP discovers an unknown engine ID with a synchronous probe that stalls the
 * caller for the whole request timeout when the peer is silent. The HA link must
 * never stall the agent's loop, so it discovers the engine itself: a non-blocking
 * UDP socket on the loop sends a noAuthNoPriv, reportable GET with empty user and
 * engine ID every interval, and the Report that answers it gives the authoritative
 * engine ID, boots and time. Only then is a Net-SNMP session opened for that engine.
 *
 * Peer address (numeric only, no name is ever resolved):
 *     udp:IPv4:PORT   IPv4:PORT   udp6:[IPv6]:PORT   [IPv6]:PORT
 * PORT is 1..65535; ":PORT" may be left out for 161 (as Net-SNMP does). IPv6 scope
 * ids ("%eth0") are not accepted. */
#ifndef SIPHA_HALINK_DISCOVER_H
#define SIPHA_HALINK_DISCOVER_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "loop.h"

#define HALINK_ENGINE_ID_MIN 5   /* SnmpEngineID SIZE(5..32), RFC 3411 */
#define HALINK_ENGINE_ID_MAX 32
#define HALINK_DISC_MAX_PKT 1500 /* a Report is ~100 bytes; more is not an answer */
#define HALINK_PEERNAME_MAX 64

struct halink_addr {
    struct sockaddr_storage sa;
    socklen_t len;
    char peername[HALINK_PEERNAME_MAX]; /* canonical Net-SNMP form: udp:.. or udp6:[..] */
};

struct halink_engine {
    uint8_t id[HALINK_ENGINE_ID_MAX];
    size_t id_len;
    uint32_t boots, time; /* snmpEngineBoots, snmpEngineTime (0..2147483647) */
};

/* Parses a peer address; 0, or -1 with a message in err. */
int halink_addr_parse(const char *text, struct halink_addr *out, char *err, size_t errlen);

/* ---- codec (pure) ---- */

/* Writes a discovery request with msgID `msg_id` and request-id `req_id` (both
 * 0..2147483647) into buf; returns its length, 0 if buf is too small or an id is out
 * of range. */
size_t halink_disc_build(uint8_t *buf, size_t len, int32_t msg_id, int32_t req_id);

/* Parses the peer's answer: an SNMPv3 message with msgID `msg_id`, unauthenticated,
 * USM, whose scoped PDU is a Report carrying usmStatsUnknownEngineIDs.0, and whose
 * security parameters hold an engine ID of 5..32 bytes. Every length is checked
 * against its container, nothing may follow the message. 0 and *out filled, or -1
 * (then *out is untouched) on anything else. */
int halink_disc_parse(const uint8_t *pkt, size_t len, int32_t msg_id, struct halink_engine *out);

/* ---- the discovery on the loop ---- */

struct halink_disc;
typedef void (*halink_disc_found_cb)(void *arg, const struct halink_engine *eng);

struct halink_disc_counters {
    uint64_t sent;       /* requests sent */
    uint64_t send_errors;/* sendto failed (e.g. ICMP unreachable reported back) */
    uint64_t bad;        /* datagrams that were not a matching Report */
};

/* Starts discovering the engine at `peer`: the first request goes out at once, then
 * one every interval_ms until an answer arrives. `found` is called once, as the last
 * thing done for that answer, after which the discovery is idle (its socket closed):
 * it may be freed from within `found`. NULL with a message in err on failure. */
struct halink_disc *halink_disc_start(struct loop *lp, const struct halink_addr *peer,
                                      uint32_t interval_ms, halink_disc_found_cb found,
                                      void *arg, char *err, size_t errlen);
void halink_disc_free(struct halink_disc *d);
void halink_disc_counters(const struct halink_disc *d, struct halink_disc_counters *out);

#endif
