/* monitor.h — what every monitor reports, and how.
 *
 * A monitor is an event source on a kernel interface (rtnetlink, sock_diag, a packet
 * socket, a UDP probe socket) that runs on the agent's single event loop. It is
 * opened with an `emit` callback and a context; each observation becomes one
 * struct mon_event handed to emit(ctx, ev) from a loop callback (never from inside
 * xxx_open). The event is only valid during the call: copy what you keep.
 *
 * Every monitor follows the same shape:
 *   int  mon_xxx_open(struct mon_xxx **out, struct loop *lp, const struct mon_xxx_config *cfg,
 *                     mon_emit_fn emit, void *ctx, char *err, size_t errlen);
 *   void mon_xxx_close(struct mon_xxx *m);
 * open returns 0, or -1 with a one-line reason in err (and *out untouched).
 * emit must not close the monitor that is calling it (close it from a timer or the
 * loop's idle hook instead): the monitor goes on using its state after emit returns. */
#ifndef SIPHA_MONITOR_H
#define SIPHA_MONITOR_H

#include <net/if.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>

#include "addr.h"

enum mon_kind {
    MON_LINK = 1,         /* mon_netlink: an interface's state (first sight, or a change) */
    MON_ADDR,             /* mon_netlink: an address appeared on / left an interface */
    MON_NETLINK_SYNCED,   /* mon_netlink: a full dump has been delivered (no payload);
                           * links and addresses not reported by then do not exist */
    MON_LISTENER,         /* mon_listener: first state, then every change */
    MON_SIP_MESSAGE,      /* mon_sip, mon_probe: valid SIP messages arrived */
    MON_SIP_MALFORMED,    /* mon_sip: datagrams to the SIP port that are not SIP */
    MON_DN,               /* mon_probe: a DN answered, or went out of service */
    MON_PROBE_SENT,       /* mon_probe: one OPTIONS sent to a DN (for its counter) */
    MON_PROBE_TIMEOUT,    /* mon_probe: one OPTIONS unanswered in time (for its counter) */
};

struct mon_event {
    enum mon_kind kind;
    union {
        struct {
            int32_t ifindex;
            char ifname[IF_NAMESIZE];
            bool up;          /* administratively up and operationally running */
        } link;
        struct {
            int32_t ifindex;
            struct sipha_addr addr;
            uint8_t prefix_len;
            bool present;     /* false: removed (or not usable: IPv6 DAD tentative/failed) */
        } addr;
        struct {
            bool bound;
        } listener;
        struct {
            uint32_t count;   /* messages since the previous event (>= 1) */
            uint32_t from_dn; /* DN index when they are probe responses from that DN, else 0 */
        } sip;
        struct {
            uint32_t dn;      /* DN index (struct sipha_dn.index) */
            bool in_service;
            uint32_t status_code; /* the response's status; 0 when out of service */
            uint32_t rtt_us;  /* last measured round-trip time; 0 = never measured */
        } dn;
        struct {
            uint32_t dn;
        } probe;              /* MON_PROBE_SENT, MON_PROBE_TIMEOUT */
    } u;
};

typedef void (*mon_emit_fn)(void *ctx, const struct mon_event *ev);

/* --- address conversions shared by the monitors --- */

/* struct sipha_addr from raw bytes of an AF_INET (4) or AF_INET6 (16) address. */
static inline void mon_addr_set(struct sipha_addr *a, int af, const void *bytes)
{
    memset(a, 0, sizeof(*a));
    if (af == AF_INET) {
        a->family = 4;
        memcpy(a->bytes, bytes, 4);
    } else if (af == AF_INET6) {
        a->family = 6;
        memcpy(a->bytes, bytes, 16);
    }
}

static inline int mon_addr_af(const struct sipha_addr *a)
{
    return a->family == 4 ? AF_INET : a->family == 6 ? AF_INET6 : AF_UNSPEC;
}

/* sockaddr for a:port; family 0 gives the IPv4 wildcard. Returns the length. */
static inline socklen_t mon_addr_sockaddr(const struct sipha_addr *a, uint16_t port,
                                          struct sockaddr_storage *ss)
{
    memset(ss, 0, sizeof(*ss));
    if (a->family == 6) {
        struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
        s6->sin6_family = AF_INET6;
        s6->sin6_port = htons(port);
        memcpy(&s6->sin6_addr, a->bytes, 16);
        return sizeof(*s6);
    }
    struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
    s4->sin_family = AF_INET;
    s4->sin_port = htons(port);
    if (a->family == 4)
        memcpy(&s4->sin_addr, a->bytes, 4);
    return sizeof(*s4);
}

static inline bool mon_addr_eq(const struct sipha_addr *a, const struct sipha_addr *b)
{
    size_t n = a->family == 4 ? 4 : 16;
    return a->family == b->family && (a->family == 0 || memcmp(a->bytes, b->bytes, n) == 0);
}

#endif
