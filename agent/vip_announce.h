/* vip_announce.h — tells the segment at once that a VIP moved: gratuitous ARP for an
 * IPv4 VIP, unsolicited neighbour advertisements for an IPv6 VIP, in a short burst.
 *
 * Why: clients, routers and switches keep the old primary's MAC for the VIP in their
 * ARP / neighbour caches and forwarding tables for minutes; until they re-resolve,
 * traffic to the VIP goes to the old host (or nowhere after a split brain, when the
 * survivor never re-announced). A burst at takeover moves them at once; repeating it
 * covers a lost first packet and a switch port that was still coming up.
 *
 * What goes on the wire (from the interface's own MAC, read at every round, so a MAC
 * or ifindex change between rounds is followed):
 *   IPv4: two ARP packets per round, broadcast (ff:ff:ff:ff:ff:ff), over an AF_PACKET
 *     socket: a gratuitous request (sender = target = VIP, target MAC 00:00:00:00:00:00)
 *     and a gratuitous reply (sender = target = VIP, target MAC = our MAC — Linux
 *     counts a reply as gratuitous only when both MACs are equal). A Linux receiver
 *     updates an existing entry for the VIP from either, whatever its arp_accept.
 *   IPv6: one neighbour advertisement per round to ff02::1, hop limit 255, flags
 *     Override=1 Solicited=0 Router=0, target = VIP, with the target link-layer
 *     address option (our MAC). Source: the VIP itself; when the kernel refuses it
 *     (EINVAL: the VIP is still tentative during DAD; add it with `nodad` to avoid
 *     that), the round is sent again with the source left to the kernel (the
 *     interface's link-local address) and counted in `fallback_src`: receivers key the
 *     update on the target, not the source, and Linux applies an unsolicited NA with
 *     Override to an existing entry. Multicast loop is off, so our own host never
 *     sees its NA (a looped NA for a tentative address is harmless anyway).
 *     Existing entries are updated; creating new ones is up to the receivers'
 *     arp_accept / accept_untracked_na.
 *
 * Sockets: one per family, opened at the first announce of that family (CAP_NET_RAW),
 * so an IPv4-only site never opens an ICMPv6 socket; both are send-only (the packet
 * socket has protocol 0, the ICMPv6 socket filters every type), non-blocking: a full
 * queue is a counted error, never a wait. Nothing here blocks the loop.
 *
 * A series is keyed by the address: announcing an address again (any interface)
 * replaces its series in progress. */
#ifndef SIPHA_VIP_ANNOUNCE_H
#define SIPHA_VIP_ANNOUNCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "instance.h"
#include "loop.h"

#define VIPANN_MAX_COUNT 100            /* rounds per series */
#define VIPANN_MIN_INTERVAL_MS 10
#define VIPANN_MAX_INTERVAL_MS 60000
#define VIPANN_ERR_MAX 192

#define VIPANN_ARP_LEN 28               /* ARP body for Ethernet/IPv4 */
#define VIPANN_NA_LEN 32                /* ICMPv6 NA + target link-layer option */

struct vipann;

struct vipann_stats {
    uint64_t sent;          /* packets the kernel accepted */
    uint64_t errors;        /* packets (or rounds) that failed */
    uint64_t fallback_src;  /* IPv6 rounds sent from the kernel's source, not the VIP */
    char last_error[VIPANN_ERR_MAX];
};

/* Called (from a loop timer) for a failed later round of a series; the first round's
 * failure is returned by vipann_announce instead. May call any vipann function. */
typedef void (*vipann_error_fn)(void *ctx, const struct sipha_addr *addr, const char *ifname,
                                const char *msg);

/* on_error may be NULL. Opens no socket yet. NULL only when out of memory. */
struct vipann *vipann_new(struct loop *lp, vipann_error_fn on_error, void *ctx);
/* Cancels every series, closes the sockets. */
void vipann_free(struct vipann *v);

/* Announces `addr` on `ifname`: the first round at once, then count-1 more every
 * interval_ms on loop timers (interval_ms is ignored when count is 1). Replaces a
 * series of the same address in progress. Returns
 *    0  first round sent, the rest (if any) scheduled;
 *    1  first round failed (err says why, counted), the rest still scheduled — a link
 *       still coming up often accepts the later ones;
 *   -1  nothing sent or scheduled, any earlier series of that address cancelled: bad
 *       argument (family, interface name, count 1..VIPANN_MAX_COUNT, interval
 *       VIPANN_MIN..MAX_INTERVAL_MS when count > 1), or the socket cannot be opened
 *       (EPERM without CAP_NET_RAW). */
int vipann_announce(struct vipann *v, const char *ifname, const struct sipha_addr *addr,
                    unsigned count, unsigned interval_ms, char *err, size_t errlen);

/* Stops the series of `addr`; true when one was running. */
bool vipann_cancel(struct vipann *v, const struct sipha_addr *addr);
/* True while a series of `addr` has rounds left. */
bool vipann_active(const struct vipann *v, const struct sipha_addr *addr);
const struct vipann_stats *vipann_get_stats(const struct vipann *v);

/* --- pure parts, exposed for the unit tests --- */

/* The ARP body (no Ethernet header): op 1 = gratuitous request, 2 = gratuitous reply.
 * Returns VIPANN_ARP_LEN, or 0 on a bad argument / short buffer. */
size_t vipann_build_garp(uint8_t *buf, size_t len, int op, const uint8_t mac[6], const uint8_t ip[4]);
/* The ICMPv6 NA (checksum 0: the kernel fills it on ICMPv6 raw sockets). Returns
 * VIPANN_NA_LEN, or 0 on a bad argument / short buffer. */
size_t vipann_build_na(uint8_t *buf, size_t len, const uint8_t mac[6], const uint8_t target[16]);

#endif
