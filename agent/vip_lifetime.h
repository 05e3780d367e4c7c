/* vip_lifetime.h — a VIP that dies with its agent: a finite kernel address lifetime on
 * an address that already exists, renewed by the live agent.
 *
 * Why: the VIP is added by an operator script and would stay on the host forever if
 * the agent is killed (kill -9, crash) — the peer then takes it over and the segment
 * has the address twice. With valid_lft = preferred_lft = L seconds, the kernel
 * itself removes the address L seconds after the last renewal, so a dead agent keeps
 * its VIP at most L + the expiry granularity below; the live agent renews well before
 * that (e.g. every L/4).
 *
 * viplft_set never creates an address. The kernel would: RTM_NEWADDR without
 * NLM_F_CREATE still adds a missing address (IPv4 and IPv6 alike, for old userspace's
 * sake), so the function first looks the address up (RTM_GETADDR dump of that family,
 * filtered to the interface) and only then sends RTM_NEWADDR with NLM_F_REPLACE and the
 * address's own prefix length, flags (nodad, noprefixroute...), route metric and
 * protocol, which a replace would otherwise reset. An address removed by another
 * process in the microseconds between the look-up and the replace would be re-created;
 * with a finite lifetime it then dies by itself, and in sipha the agent is the one
 * that adds and removes its VIPs, so it never races with itself.
 *
 * Expiry granularity (Linux: devinet.c check_lifetime for IPv4, addrconf.c
 * addrconf_verify_rtnl for IPv6; both work the same way): lifetimes are whole seconds
 * counted from the last set (the replace restarts the count, so a renewal really
 * renews). An address is deleted by a periodic worker once
 *     (now - set_time + HZ/50) / HZ >= valid_lft,
 * i.e. at the earliest 20 ms before the lifetime ends. The worker is re-armed for the
 * next expiry, rounded up to a whole second when that costs less than HZ/4, and never
 * sooner than ADDRCONF_TIMER_FUZZ_MAX after its previous run (HZ = 1 s on current
 * kernels, HZ/2 on older ones). So the address disappears between about 20 ms before
 * and 250 ms after valid_lft reaches 0 in the common case, and at most about 1 s after
 * when the worker ran (for any address of that namespace, or of any namespace for
 * IPv4) shortly before. The worker also takes the rtnl lock, so on a busy host it can
 * run later still. bench/b_vip_expiry.sh measures it (a 6.18 kernel: medians 264 ms
 * IPv4 and 11 ms IPv6 over 12 runs each, the worst 1.77 s); one make check run saw
 * 1.62 s. A dead agent's VIP lasts lifetime + up to 1 s, now and then up to 2 s.
 *
 * Caveats for whoever configures the VIP (found while testing):
 *   - IPv6: a lifetime on an address WITHOUT `noprefixroute` also puts an expiry on its
 *     prefix route, and that route is shared with the host's own address of the same
 *     prefix (e.g. fd00::1/64 and the VIP fd00::100/64): after the VIP expired the
 *     route kept a stale expiry. Add an IPv6 VIP with `noprefixroute` (the host's own
 *     address provides the route) or as a /128. viplft_set keeps the flags it finds.
 *   - IPv4: a VIP that is the interface's PRIMARY address of its subnet takes the
 *     secondaries of that subnet with it when it expires (unless the sysctl
 *     promote_secondaries is on); a VIP is normally a secondary (the host's own
 *     address comes first), as in the host tests.
 *
 * A blocking-free design: the NETLINK_ROUTE socket is the module's own, non-blocking;
 * the kernel answers RTM_GETADDR/RTM_NEWADDR synchronously inside sendmsg, so replies
 * are read at once, with a short bound (VIPLFT_REPLY_MS) for safety — never a hang.
 * Late replies of an earlier timed-out request are drained before each request. */
#ifndef SIPHA_VIP_LIFETIME_H
#define SIPHA_VIP_LIFETIME_H

#include <stddef.h>
#include <stdint.h>

#include "instance.h"

#define VIPLFT_REPLY_MS 200              /* bound on waiting for one request's reply */
#define VIPLFT_FOREVER 0u                /* lifetime_s meaning "permanent" */
#define VIPLFT_MAX_S (7u * 24u * 3600u)  /* a longer finite lifetime is refused */

struct viplft;

/* What the kernel has for an address (viplft_get). Lifetimes are the seconds left,
 * UINT32_MAX when permanent. */
struct viplft_info {
    uint8_t prefix_len;
    uint32_t flags;          /* IFA_F_* */
    uint32_t valid_left_s;
    uint32_t preferred_left_s;
    int permanent;           /* 1 when the address has no lifetime */
};

/* Opens the module's netlink socket. NULL with a message on failure. Needs no
 * capability; viplft_set needs CAP_NET_ADMIN in the address's namespace. */
struct viplft *viplft_open(char *err, size_t errlen);
void viplft_close(struct viplft *v);

/* Sets valid_lft = preferred_lft = lifetime_s (VIPLFT_FOREVER: permanent again) on the
 * EXISTING address `addr` of interface `ifname`. prefix_len < 0: whatever length the
 * address has; otherwise the address must have that length. Returns 0, or a negative
 * errno with a message in err:
 *   -EINVAL  bad argument (family, name, prefix length, lifetime > VIPLFT_MAX_S);
 *   -ENODEV  no interface of that name;
 *   -ENOENT  the address is not on the interface (or not with that prefix length);
 *            nothing is created;
 *   -ETIMEDOUT no reply within VIPLFT_REPLY_MS;
 *   other    the kernel's refusal (e.g. -EPERM without CAP_NET_ADMIN), with its text. */
int viplft_set(struct viplft *v, const char *ifname, const struct sipha_addr *addr,
               int prefix_len, uint32_t lifetime_s, char *err, size_t errlen);

/* viplft_set(..., VIPLFT_FOREVER, ...): for when the feature is switched off. */
int viplft_make_permanent(struct viplft *v, const char *ifname, const struct sipha_addr *addr,
                          int prefix_len, char *err, size_t errlen);

/* Looks the address up; 0 and *out filled, or the codes of viplft_set. */
int viplft_get(struct viplft *v, const char *ifname, const struct sipha_addr *addr,
               struct viplft_info *out, char *err, size_t errlen);

/* --- pure parts, exposed for the unit tests --- */

/* An address as found on the interface: what a replace must repeat. */
struct viplft_found {
    int ifindex;
    uint8_t family;          /* AF_INET or AF_INET6 */
    uint8_t prefix_len, scope;
    uint32_t flags;          /* IFA_F_*, from IFA_FLAGS or the header */
    uint8_t local[16];       /* the VIP itself */
    uint8_t address[16];     /* IFA_ADDRESS: = local, or the peer of a point-to-point */
    int has_peer;            /* IPv6: IFA_LOCAL and IFA_ADDRESS differ */
    int has_metric, has_proto;
    uint32_t metric;         /* IFA_RT_PRIORITY */
    uint8_t proto;           /* IFA_PROTO */
    uint32_t valid_s, preferred_s;  /* IFA_CACHEINFO, seconds left */
};

/* Builds the RTM_NEWADDR NLM_F_REPLACE|NLM_F_ACK request (never NLM_F_CREATE) that sets
 * the lifetime of `f`; returns its length, or 0 when buf is too small. */
size_t viplft_build_replace(void *buf, size_t len, uint32_t seq, const struct viplft_found *f,
                            uint32_t lifetime_s);

#endif
