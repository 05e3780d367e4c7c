/* mon_sip.h — SIP traffic counter on an AF_PACKET socket.
 *
 * Counts the UDP datagrams arriving at the instance's SIP address (and its VIPs) and
 * port that hold
 * a well-formed SIP message (request or response; see sip_parse.h), without being the
 * socket that receives them: the SIP server keeps its port. A kernel BPF filter lets
 * only UDP to that port (and address) through, so other traffic never wakes the agent;
 * outgoing copies (PACKET_OUTGOING: on `lo` every packet is seen twice) are dropped.
 * Reports MON_SIP_MESSAGE {count, from_dn 0} and MON_SIP_MALFORMED {count} once per
 * burst of packets read. Needs CAP_NET_RAW. */
#ifndef SIPHA_MON_SIP_H
#define SIPHA_MON_SIP_H

#include <stddef.h>
#include <stdint.h>

#include "loop.h"
#include "monitor.h"

#define MON_SIP_ALSO_MAX 8u

struct mon_sip_config {
    struct sipha_addr addr;   /* destination address to count; family 0 = any */
    /* more destination addresses to count (the VIPs, where phones send), either
     * family; ignored when addr is "any" */
    struct sipha_addr also[MON_SIP_ALSO_MAX];
    size_t n_also;
    uint16_t port;            /* destination UDP port, 1..65535 */
    int32_t ifindex;          /* only this interface; 0 = all */
};

struct mon_sip_stats {
    uint64_t messages;        /* valid SIP messages counted */
    uint64_t malformed;       /* datagrams to the port that are not SIP */
    uint64_t keepalives;      /* CRLF-only datagrams (RFC 5626 keep-alives), ignored */
    uint64_t fragments;       /* first fragments, counted by their start line alone */
    uint64_t foreign;         /* packets the filter let through that do not match */
    uint64_t drops;           /* packets the kernel dropped for a full socket buffer */
};

struct mon_sip;

/* Fails with "... needs CAP_NET_RAW ..." when the packet socket is refused. */
int mon_sip_open(struct mon_sip **out, struct loop *lp, const struct mon_sip_config *cfg,
                 mon_emit_fn emit, void *ctx, char *err, size_t errlen);
void mon_sip_close(struct mon_sip *ms);
void mon_sip_get_stats(struct mon_sip *ms, struct mon_sip_stats *st);

#endif
