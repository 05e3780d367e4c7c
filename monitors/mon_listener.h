/* mon_listener.h — is the SIP server's listener open on address:port?
 *
 * Every interval the monitor asks the kernel (NETLINK_SOCK_DIAG, inet_diag) for the
 * UDP sockets bound to the port (and, when asked, TCP sockets listening on it), and
 * reports MON_LISTENER with the first answer and then on every change. A socket
 * counts when bound to the address itself or to the wildcard (0.0.0.0, or :: without
 * IPV6_V6ONLY for an IPv4 address). Sockets of this network namespace only; no
 * capability needed. Each poll is one send plus non-blocking reads on the loop. */
#ifndef SIPHA_MON_LISTENER_H
#define SIPHA_MON_LISTENER_H

#include <stddef.h>
#include <stdint.h>

#include "loop.h"
#include "monitor.h"

struct mon_listener_config {
    struct sipha_addr addr;  /* family 0: any address */
    uint16_t port;           /* 1..65535 */
    bool tcp;                /* bound = a UDP socket AND a TCP listener */
    uint32_t interval_ms;    /* 0 = 1000 */
};

struct mon_listener_stats {
    uint64_t polls;          /* completed polls */
    uint64_t errors;         /* polls that failed (state kept as it was) */
    int last_errno;          /* of the last failure, 0 = none */
};

struct mon_listener;

int mon_listener_open(struct mon_listener **out, struct loop *lp,
                      const struct mon_listener_config *cfg, mon_emit_fn emit, void *ctx,
                      char *err, size_t errlen);
void mon_listener_close(struct mon_listener *ml);

/* A socket of this process that must not count as the listener (e.g. the probe
 * socket, when it holds the SIP port): its inode (fstat st_ino); 0 = none. */
void mon_listener_ignore_inode(struct mon_listener *ml, uint64_t inode);

void mon_listener_get_stats(const struct mon_listener *ml, struct mon_listener_stats *st);

#endif
