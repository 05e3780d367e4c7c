/* mon_netlink.h — interface and address monitor on rtnetlink (libmnl).
 *
 * Reports MON_LINK (an interface seen for the first time, or its name or up/running
 * state changed; deleted interfaces are reported down), MON_ADDR (an address added or
 * removed; IPv6 addresses count as present once DAD is over) and MON_NETLINK_SYNCED
 * after each complete dump. No capability is needed.
 *
 * At open, and whenever the kernel reports ENOBUFS (notifications were lost because
 * the socket's buffer overflowed), the monitor dumps every link and address and
 * reports what differs from what it last reported, including what disappeared. */
#ifndef SIPHA_MON_NETLINK_H
#define SIPHA_MON_NETLINK_H

#include <stddef.h>
#include <stdint.h>

#include "loop.h"
#include "monitor.h"

struct mon_netlink_config {
    uint32_t rcvbuf;   /* socket receive buffer in bytes; 0 = 1 MiB */
    bool no_ipv6;      /* ignore IPv6 addresses */
};

struct mon_netlink_stats {
    uint64_t messages; /* netlink messages handled */
    uint64_t dumps;    /* dumps completed */
    uint64_t enobufs;  /* overflows seen (each forces a new dump) */
    uint64_t errors;   /* receive or dump errors */
};

struct mon_netlink;

/* cfg may be NULL for defaults. Sends the first dump request at once; its events
 * arrive from the loop. */
int mon_netlink_open(struct mon_netlink **out, struct loop *lp,
                     const struct mon_netlink_config *cfg, mon_emit_fn emit, void *ctx,
                     char *err, size_t errlen);
void mon_netlink_close(struct mon_netlink *nl);

/* Asks for a fresh dump (e.g. after a configuration reload); changes are reported,
 * then MON_NETLINK_SYNCED. */
void mon_netlink_redump(struct mon_netlink *nl);

void mon_netlink_get_stats(const struct mon_netlink *nl, struct mon_netlink_stats *st);

#endif
