/* vip_lifetime.c — finite kernel lifetimes on existing VIP addresses (see the header
 * for the why and the kernel's expiry granularity). */
#include <errno.h>
#include <linux/if_addr.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include <arpa/inet.h>
#include <libmnl/libmnl.h>

#include "errbuf.h"
#include "vip_lifetime.h"

#define VIPLFT_BUF_SIZE 32768   /* a dump skb is at most 32 KiB */
#define VIPLFT_INFINITY 0xFFFFFFFFu
/* The IPv6 flags a replace must repeat: inet6_addr_modify clears these and sets what
 * the request carries (dropping noprefixroute would add a prefix route). */
#define VIPLFT_V6_KEEP (IFA_F_NODAD | IFA_F_HOMEADDRESS | IFA_F_MANAGETEMPADDR | IFA_F_NOPREFIXROUTE)

struct viplft {
    struct mnl_socket *nl;
    int fd;
    unsigned portid;
    uint32_t seq;
    _Alignas(8) char buf[VIPLFT_BUF_SIZE]; /* netlink headers are read in place */
};

/* What a request's reply handler looks for. */
struct lookup {
    int ifindex;
    uint8_t family;
    const uint8_t *want;     /* the address bytes */
    int prefix_len;          /* < 0: any */
    bool found;
    int other_plen;          /* the address exists with this other length, or -1 */
    struct viplft_found f;
};

static size_t addr_len(uint8_t family) { return family == AF_INET ? 4 : 16; }

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* --- open / close --- */

struct viplft *viplft_open(char *err, size_t errlen)
{
    struct viplft *v = calloc(1, sizeof(*v));
    if (!v) {
        errbuf_set(err, errlen, "out of memory");
        return NULL;
    }
    v->nl = mnl_socket_open2(NETLINK_ROUTE, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (!v->nl || mnl_socket_bind(v->nl, 0, MNL_SOCKET_AUTOPID) < 0) {
        errbuf_set(err, errlen, "netlink route socket: %s", strerror(errno));
        viplft_close(v);
        return NULL;
    }
    v->fd = mnl_socket_get_fd(v->nl);
    v->portid = mnl_socket_get_portid(v->nl);
    v->seq = (uint32_t)time(NULL);
    /* the kernel's own words in refusals; a dump filtered to one interface. Both are
     * optional (older kernels): without them the messages are plainer and the dump is
     * filtered here. */
    int one = 1;
    (void)setsockopt(v->fd, SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof(one));
    (void)setsockopt(v->fd, SOL_NETLINK, NETLINK_GET_STRICT_CHK, &one, sizeof(one));
    return v;
}

void viplft_close(struct viplft *v)
{
    if (!v)
        return;
    if (v->nl)
        mnl_socket_close(v->nl);
    free(v);
}

/* --- one request, its replies --- */

/* Called for each data message of our request; returns MNL_CB_OK / MNL_CB_ERROR. */
typedef int (*reply_fn)(const struct nlmsghdr *nlh, void *data);

/* Drops whatever a timed-out earlier request left on the socket. */
static void drain(struct viplft *v)
{
    for (int i = 0; i < 64; i++)
        if (recv(v->fd, v->buf, sizeof(v->buf), MSG_DONTWAIT) < 0)
            return;
}

/* The error of an NLMSG_ERROR (0 = ACK), with the kernel's extended-ack text. */
static int ack_error(const struct nlmsghdr *nlh, char *msg, size_t msglen)
{
    msg[0] = '\0';
    if (mnl_nlmsg_get_payload_len(nlh) < sizeof(struct nlmsgerr))
        return -EPROTO;
    const struct nlmsgerr *e = mnl_nlmsg_get_payload(nlh);
    if (e->error == 0 || !(nlh->nlmsg_flags & NLM_F_ACK_TLVS))
        return e->error;
    /* TLVs follow the echoed request: its header only when NLM_F_CAPPED */
    size_t off = sizeof(*e);
    if (!(nlh->nlmsg_flags & NLM_F_CAPPED))
        off += e->msg.nlmsg_len - sizeof(e->msg);
    const char *p = (const char *)e + off, *end = (const char *)nlh + nlh->nlmsg_len;
    while (p + sizeof(struct nlattr) <= end) {
        const struct nlattr *a = (const struct nlattr *)p;
        if (a->nla_len < sizeof(*a) || p + a->nla_len > end)
            break;
        if ((a->nla_type & NLA_TYPE_MASK) == NLMSGERR_ATTR_MSG) {
            size_t n = a->nla_len - sizeof(*a);
            if (n >= msglen)
                n = msglen - 1;
            memcpy(msg, p + sizeof(*a), n);
            msg[n] = '\0';
            break;
        }
        p += NLA_ALIGN(a->nla_len);
    }
    return e->error;
}

/* Handles one datagram; 1 = request finished (result in *rc), 0 = read on. */
static int handle_datagram(struct viplft *v, size_t n, uint32_t seq, reply_fn fn, void *data,
                           int *rc, char *kmsg, size_t kmsglen)
{
    const struct nlmsghdr *nlh = (const struct nlmsghdr *)v->buf;
    int len = (int)n;
    for (; mnl_nlmsg_ok(nlh, len); nlh = mnl_nlmsg_next(nlh, &len)) {
        if (nlh->nlmsg_seq != seq || nlh->nlmsg_pid != v->portid)
            continue; /* a late reply to an earlier request */
        if (nlh->nlmsg_type == NLMSG_ERROR) {
            *rc = ack_error(nlh, kmsg, kmsglen);
            return 1;
        }
        if (nlh->nlmsg_type == NLMSG_DONE) {
            *rc = 0;
            return 1;
        }
        if (fn && fn(nlh, data) != MNL_CB_OK) {
            *rc = -EPROTO;
            return 1;
        }
    }
    return 0;
}

/* Sends `req` and reads its replies until the ACK / NLMSG_DONE, at most
 * VIPLFT_REPLY_MS. Returns 0 or a negative errno; kmsg gets the kernel's text. */
static int transact(struct viplft *v, struct nlmsghdr *req, reply_fn fn, void *data, char *kmsg,
                    size_t kmsglen)
{
    kmsg[0] = '\0';
    drain(v);
    req->nlmsg_seq = ++v->seq;
    if (mnl_socket_sendto(v->nl, req, req->nlmsg_len) < 0)
        return -errno;
    uint64_t deadline = now_ms() + VIPLFT_REPLY_MS;
    for (;;) {
        ssize_t n = recv(v->fd, v->buf, sizeof(v->buf), MSG_DONTWAIT);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
            return -errno;
        if (n > 0) {
            int rc;
            if (handle_datagram(v, (size_t)n, req->nlmsg_seq, fn, data, &rc, kmsg, kmsglen))
                return rc;
            continue;
        }
        uint64_t now = now_ms();
        if (now >= deadline)
            return -ETIMEDOUT;
        struct pollfd pfd = { .fd = v->fd, .events = POLLIN };
        (void)poll(&pfd, 1, (int)(deadline - now));
    }
}

/* --- look-up --- */

static int attr_cb(const struct nlattr *a, void *data)
{
    const struct nlattr **tb = data;
    unsigned type = mnl_attr_get_type(a);
    if (type <= IFA_MAX)
        tb[type] = a;
    return MNL_CB_OK;
}

static bool attr_addr(const struct nlattr *a, size_t len, uint8_t *out)
{
    if (!a || mnl_attr_get_payload_len(a) != len)
        return false;
    memcpy(out, mnl_attr_get_payload(a), len);
    return true;
}

static int lookup_cb(const struct nlmsghdr *nlh, void *data)
{
    struct lookup *lk = data;
    if (nlh->nlmsg_type != RTM_NEWADDR || mnl_nlmsg_get_payload_len(nlh) < sizeof(struct ifaddrmsg))
        return MNL_CB_OK;
    const struct ifaddrmsg *ifa = mnl_nlmsg_get_payload(nlh);
    if (ifa->ifa_family != lk->family || (int)ifa->ifa_index != lk->ifindex)
        return MNL_CB_OK;
    const struct nlattr *tb[IFA_MAX + 1] = { 0 };
    if (mnl_attr_parse(nlh, sizeof(*ifa), attr_cb, tb) != MNL_CB_OK)
        return MNL_CB_OK;
    size_t alen = addr_len(lk->family);
    struct viplft_found f = { .ifindex = lk->ifindex, .family = lk->family,
                              .prefix_len = ifa->ifa_prefixlen, .scope = ifa->ifa_scope,
                              .flags = ifa->ifa_flags };
    if (!attr_addr(tb[IFA_ADDRESS], alen, f.address))
        return MNL_CB_OK;
    /* IPv4 always reports IFA_LOCAL; IPv6 only for a point-to-point peer */
    if (!attr_addr(tb[IFA_LOCAL], alen, f.local)) {
        if (lk->family == AF_INET)
            return MNL_CB_OK;
        memcpy(f.local, f.address, alen);
    } else if (lk->family == AF_INET6) {
        f.has_peer = memcmp(f.local, f.address, alen) != 0;
    }
    if (memcmp(f.local, lk->want, alen) != 0)
        return MNL_CB_OK;
    if (lk->prefix_len >= 0 && ifa->ifa_prefixlen != lk->prefix_len) {
        lk->other_plen = ifa->ifa_prefixlen;
        return MNL_CB_OK;
    }
    if (tb[IFA_FLAGS] && mnl_attr_get_payload_len(tb[IFA_FLAGS]) == 4)
        f.flags = mnl_attr_get_u32(tb[IFA_FLAGS]);
    if (tb[IFA_RT_PRIORITY] && mnl_attr_get_payload_len(tb[IFA_RT_PRIORITY]) == 4) {
        f.has_metric = 1;
        f.metric = mnl_attr_get_u32(tb[IFA_RT_PRIORITY]);
    }
    if (tb[IFA_PROTO] && mnl_attr_get_payload_len(tb[IFA_PROTO]) == 1) {
        f.has_proto = 1;
        f.proto = mnl_attr_get_u8(tb[IFA_PROTO]);
    }
    f.valid_s = f.preferred_s = VIPLFT_INFINITY;
    if (tb[IFA_CACHEINFO] && mnl_attr_get_payload_len(tb[IFA_CACHEINFO]) >= sizeof(struct ifa_cacheinfo)) {
        const struct ifa_cacheinfo *ci = mnl_attr_get_payload(tb[IFA_CACHEINFO]);
        f.valid_s = ci->ifa_valid;
        f.preferred_s = ci->ifa_prefered;
    }
    if (!lk->found) {
        lk->found = true;
        lk->f = f;
    }
    return MNL_CB_OK;
}

static int check_args(const char *ifname, const struct sipha_addr *addr, int prefix_len,
                      int *ifindex, uint8_t *family, char *err, size_t errlen)
{
    if (!addr || (addr->family != 4 && addr->family != 6)) {
        errbuf_set(err, errlen, "address family must be IPv4 or IPv6");
        return -EINVAL;
    }
    *family = addr->family == 4 ? AF_INET : AF_INET6;
    int maxlen = addr->family == 4 ? 32 : 128;
    if (prefix_len > maxlen) {
        errbuf_set(err, errlen, "prefix length %d is over %d", prefix_len, maxlen);
        return -EINVAL;
    }
    if (!ifname || !ifname[0] || strnlen(ifname, IF_NAMESIZE) >= IF_NAMESIZE) {
        errbuf_set(err, errlen, "interface name missing or longer than %d characters", IF_NAMESIZE - 1);
        return -EINVAL;
    }
    *ifindex = (int)if_nametoindex(ifname);
    if (*ifindex == 0) {
        errbuf_set(err, errlen, "interface %s does not exist", ifname);
        return -ENODEV;
    }
    return 0;
}

static void addr_text(const struct sipha_addr *a, char *out, size_t len)
{
    if (!inet_ntop(a->family == 4 ? AF_INET : AF_INET6, a->bytes, out, (socklen_t)len))
        snprintf(out, len, "?");
}

/* Fills lk from a dump of the family's addresses (the kernel filters to the interface
 * when strict checking is on; lookup_cb filters again either way). */
static int lookup(struct viplft *v, const char *ifname, const struct sipha_addr *addr, int prefix_len,
                  struct lookup *lk, char *err, size_t errlen)
{
    int ifindex;
    uint8_t family;
    int rc = check_args(ifname, addr, prefix_len, &ifindex, &family, err, errlen);
    if (rc < 0)
        return rc;
    *lk = (struct lookup){ .ifindex = ifindex, .family = family, .want = addr->bytes,
                           .prefix_len = prefix_len, .other_plen = -1 };
    uint32_t req[64]; /* aligned for the netlink header */
    struct nlmsghdr *nlh = mnl_nlmsg_put_header(req);
    nlh->nlmsg_type = RTM_GETADDR;
    nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
    struct ifaddrmsg *ifa = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifa));
    ifa->ifa_family = family;
    ifa->ifa_index = (uint32_t)ifindex;
    char kmsg[160], text[INET6_ADDRSTRLEN];
    addr_text(addr, text, sizeof(text));
    rc = transact(v, nlh, lookup_cb, lk, kmsg, sizeof(kmsg));
    if (rc < 0) {
        errbuf_set(err, errlen, "listing the addresses of %s: %s%s%s", ifname, strerror(-rc),
                   kmsg[0] ? ": " : "", kmsg);
        return rc;
    }
    if (!lk->found) {
        if (lk->other_plen >= 0)
            errbuf_set(err, errlen, "%s is on %s with prefix length %d, not %d", text, ifname,
                       lk->other_plen, prefix_len);
        else
            errbuf_set(err, errlen, "%s is not on %s", text, ifname);
        return -ENOENT;
    }
    return 0;
}

/* --- the replace --- */

size_t viplft_build_replace(void *buf, size_t len, uint32_t seq, const struct viplft_found *f,
                            uint32_t lifetime_s)
{
    size_t alen = f->family == AF_INET ? 4 : 16;
    size_t need = MNL_ALIGN(sizeof(struct nlmsghdr)) + MNL_ALIGN(sizeof(struct ifaddrmsg)) +
                  2 * MNL_ALIGN(MNL_ATTR_HDRLEN + 16) + MNL_ALIGN(MNL_ATTR_HDRLEN + sizeof(struct ifa_cacheinfo)) +
                  3 * MNL_ALIGN(MNL_ATTR_HDRLEN + 4);
    if (!buf || len < need || (f->family != AF_INET && f->family != AF_INET6))
        return 0;
    memset(buf, 0, need);
    struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
    nlh->nlmsg_type = RTM_NEWADDR;
    /* REPLACE without CREATE: the look-up made sure the address exists */
    nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_REPLACE | NLM_F_ACK;
    nlh->nlmsg_seq = seq;
    struct ifaddrmsg *ifa = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifa));
    ifa->ifa_family = f->family;
    ifa->ifa_prefixlen = f->prefix_len;
    ifa->ifa_scope = f->scope;
    ifa->ifa_index = (uint32_t)f->ifindex;
    uint32_t flags;
    if (f->family == AF_INET) {
        /* IPv4 matches the existing address on local, prefix length and the
         * IFA_ADDRESS subnet; only metric, protocol and lifetimes are taken over */
        mnl_attr_put(nlh, IFA_LOCAL, alen, f->local);
        mnl_attr_put(nlh, IFA_ADDRESS, alen, f->address);
        flags = f->flags & IFA_F_NOPREFIXROUTE;
    } else {
        if (f->has_peer)
            mnl_attr_put(nlh, IFA_LOCAL, alen, f->local);
        mnl_attr_put(nlh, IFA_ADDRESS, alen, f->has_peer ? f->address : f->local);
        flags = f->flags & VIPLFT_V6_KEEP;
    }
    ifa->ifa_flags = (uint8_t)(flags & 0xffu);
    mnl_attr_put_u32(nlh, IFA_FLAGS, flags);
    struct ifa_cacheinfo ci = { 0 };
    ci.ifa_valid = ci.ifa_prefered = lifetime_s == VIPLFT_FOREVER ? VIPLFT_INFINITY : lifetime_s;
    mnl_attr_put(nlh, IFA_CACHEINFO, sizeof(ci), &ci);
    /* a replace without these resets the prefix route's metric / the protocol */
    if (f->has_metric)
        mnl_attr_put_u32(nlh, IFA_RT_PRIORITY, f->metric);
    if (f->has_proto)
        mnl_attr_put_u8(nlh, IFA_PROTO, f->proto);
    return nlh->nlmsg_len;
}

int viplft_set(struct viplft *v, const char *ifname, const struct sipha_addr *addr, int prefix_len,
               uint32_t lifetime_s, char *err, size_t errlen)
{
    if (!v) {
        errbuf_set(err, errlen, "no netlink socket");
        return -EINVAL;
    }
    if (lifetime_s > VIPLFT_MAX_S) {
        errbuf_set(err, errlen, "lifetime %u s is over the %u s limit", lifetime_s, VIPLFT_MAX_S);
        return -EINVAL;
    }
    struct lookup lk;
    int rc = lookup(v, ifname, addr, prefix_len, &lk, err, errlen);
    if (rc < 0)
        return rc;
    uint32_t req[128]; /* aligned for the netlink header */
    char kmsg[160], text[INET6_ADDRSTRLEN];
    if (viplft_build_replace(req, sizeof(req), 0, &lk.f, lifetime_s) == 0) {
        errbuf_set(err, errlen, "request does not fit");
        return -EINVAL;
    }
    rc = transact(v, (struct nlmsghdr *)req, NULL, NULL, kmsg, sizeof(kmsg));
    if (rc < 0) {
        addr_text(addr, text, sizeof(text));
        errbuf_set(err, errlen, "setting the lifetime of %s/%u on %s: %s%s%s", text, lk.f.prefix_len,
                   ifname, strerror(-rc), kmsg[0] ? ": " : "", kmsg);
    }
    return rc;
}

int viplft_make_permanent(struct viplft *v, const char *ifname, const struct sipha_addr *addr,
                          int prefix_len, char *err, size_t errlen)
{
    return viplft_set(v, ifname, addr, prefix_len, VIPLFT_FOREVER, err, errlen);
}

int viplft_get(struct viplft *v, const char *ifname, const struct sipha_addr *addr,
               struct viplft_info *out, char *err, size_t errlen)
{
    if (!v || !out) {
        errbuf_set(err, errlen, "no netlink socket or no result");
        return -EINVAL;
    }
    struct lookup lk;
    int rc = lookup(v, ifname, addr, -1, &lk, err, errlen);
    if (rc < 0)
        return rc;
    *out = (struct viplft_info){ .prefix_len = lk.f.prefix_len, .flags = lk.f.flags,
                                 .valid_left_s = lk.f.valid_s, .preferred_left_s = lk.f.preferred_s,
                                 .permanent = (lk.f.flags & IFA_F_PERMANENT) != 0 };
    return 0;
}
