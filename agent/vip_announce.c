/* vip_announce.c — gratuitous ARP / unsolicited NA bursts for a VIP that moved (see the
 * header for what is sent and why). */
#include <errno.h>
#include <fcntl.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <netinet/icmp6.h>
#include <netinet/in.h>
#include <netpacket/packet.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <arpa/inet.h>

#include "vip_announce.h"

#define ARP_OP_REQUEST 1
#define ARP_OP_REPLY 2

struct series {
    struct series *next;
    struct vipann *v;
    struct sipha_addr addr;
    char ifname[IF_NAMESIZE];
    unsigned left;           /* rounds still to send */
    unsigned interval_ms;
    uint64_t timer;          /* 0 = none */
};

struct vipann {
    struct loop *lp;
    vipann_error_fn on_error;
    void *ctx;
    int fd4, fd6;            /* -1 until the first announce of that family */
    struct series *list;
    struct vipann_stats st;
};

/* --- pure packet building --- */

size_t vipann_build_garp(uint8_t *buf, size_t len, int op, const uint8_t mac[6], const uint8_t ip[4])
{
    if (!buf || !mac || !ip || len < VIPANN_ARP_LEN || (op != ARP_OP_REQUEST && op != ARP_OP_REPLY))
        return 0;
    static const uint8_t head[6] = { 0x00, 0x01,    /* hardware: Ethernet */
                                     0x08, 0x00,    /* protocol: IPv4 */
                                     6, 4 };        /* address lengths */
    memcpy(buf, head, sizeof(head));
    buf[6] = 0;
    buf[7] = (uint8_t)op;
    memcpy(buf + 8, mac, 6);                        /* sender MAC */
    memcpy(buf + 14, ip, 4);                        /* sender IP = VIP */
    if (op == ARP_OP_REQUEST)
        memset(buf + 18, 0, 6);                     /* target MAC unknown */
    else
        memcpy(buf + 18, mac, 6);                   /* = sender: a gratuitous reply */
    memcpy(buf + 24, ip, 4);                        /* target IP = VIP */
    return VIPANN_ARP_LEN;
}

size_t vipann_build_na(uint8_t *buf, size_t len, const uint8_t mac[6], const uint8_t target[16])
{
    if (!buf || !mac || !target || len < VIPANN_NA_LEN)
        return 0;
    memset(buf, 0, VIPANN_NA_LEN);
    buf[0] = ND_NEIGHBOR_ADVERT;                    /* 136, code 0, checksum by the kernel */
    buf[4] = 0x20;                                  /* Override; not Router, not Solicited */
    memcpy(buf + 8, target, 16);
    buf[24] = ND_OPT_TARGET_LINKADDR;               /* option 2 */
    buf[25] = 1;                                    /* length in units of 8 bytes */
    memcpy(buf + 26, mac, 6);
    return VIPANN_NA_LEN;
}

/* --- errors --- */

/* Formats into `out` and the last_error; counts one error unless it is a refused
 * argument (nothing was tried). */
__attribute__((format(printf, 5, 6)))
static void report(struct vipann *v, int count, char *out, size_t outlen, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(v->st.last_error, sizeof(v->st.last_error), fmt, ap);
    va_end(ap);
    if (out && outlen)
        snprintf(out, outlen, "%s", v->st.last_error);
    if (count)
        v->st.errors++;
}
#define fail(v, ...) report((v), 1, __VA_ARGS__)
#define refuse(v, ...) report((v), 0, __VA_ARGS__)

static void addr_text(const struct sipha_addr *a, char *out, size_t len)
{
    if (!inet_ntop(a->family == 4 ? AF_INET : AF_INET6, a->bytes, out, (socklen_t)len))
        snprintf(out, len, "?");
}

/* --- sockets --- */

static int open_fd4(struct vipann *v, char *err, size_t errlen)
{
    if (v->fd4 >= 0)
        return 0;
    /* protocol 0: send only, the socket never queues received frames */
    v->fd4 = socket(AF_PACKET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (v->fd4 < 0) {
        fail(v, err, errlen, "packet socket for gratuitous ARP: %s", strerror(errno));
        return -1;
    }
    return 0;
}

static int open_fd6(struct vipann *v, char *err, size_t errlen)
{
    if (v->fd6 >= 0)
        return 0;
    int fd = socket(AF_INET6, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_ICMPV6);
    if (fd < 0) {
        fail(v, err, errlen, "ICMPv6 socket for neighbour advertisements: %s", strerror(errno));
        return -1;
    }
    int hops = 255, off = 0;
    struct icmp6_filter filt;
    ICMP6_FILTER_SETBLOCKALL(&filt); /* send only: nothing is ever queued for us */
    /* receivers drop neighbour discovery with a hop limit other than 255 */
    if (setsockopt(fd, IPPROTO_IPV6, IPV6_MULTICAST_HOPS, &hops, sizeof(hops)) < 0 ||
        setsockopt(fd, IPPROTO_IPV6, IPV6_UNICAST_HOPS, &hops, sizeof(hops)) < 0 ||
        setsockopt(fd, IPPROTO_IPV6, IPV6_MULTICAST_LOOP, &off, sizeof(off)) < 0 ||
        setsockopt(fd, IPPROTO_ICMPV6, ICMP6_FILTER, &filt, sizeof(filt)) < 0) {
        fail(v, err, errlen, "ICMPv6 socket options: %s", strerror(errno));
        close(fd);
        return -1;
    }
    v->fd6 = fd;
    return 0;
}

/* The interface's index and Ethernet MAC, read now (ioctls answer at once). */
static int if_info(struct vipann *v, int fd, const char *ifname, int *ifindex, uint8_t mac[6],
                   char *err, size_t errlen)
{
    struct ifreq ifr;
    memset(&ifr, 0, sizeof(ifr));
    memcpy(ifr.ifr_name, ifname, strlen(ifname) + 1);
    if (ioctl(fd, SIOCGIFINDEX, &ifr) < 0) {
        fail(v, err, errlen, "interface %s: %s", ifname, strerror(errno));
        return -1;
    }
    *ifindex = ifr.ifr_ifindex;
    if (ioctl(fd, SIOCGIFHWADDR, &ifr) < 0) {
        fail(v, err, errlen, "MAC address of %s: %s", ifname, strerror(errno));
        return -1;
    }
    if (ifr.ifr_hwaddr.sa_family != ARPHRD_ETHER) {
        fail(v, err, errlen, "interface %s is not Ethernet (hardware type %u): nothing to announce",
             ifname, (unsigned)ifr.ifr_hwaddr.sa_family);
        return -1;
    }
    memcpy(mac, ifr.ifr_hwaddr.sa_data, 6);
    return 0;
}

/* --- one round --- */

static int round4(struct vipann *v, const struct series *s, char *err, size_t errlen)
{
    int ifindex;
    uint8_t mac[6], pkt[VIPANN_ARP_LEN];
    char text[INET6_ADDRSTRLEN];
    if (if_info(v, v->fd4, s->ifname, &ifindex, mac, err, errlen) < 0)
        return -1;
    struct sockaddr_ll to = { .sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_ARP),
                              .sll_ifindex = ifindex, .sll_halen = 6 };
    memset(to.sll_addr, 0xff, 6);
    int rc = 0;
    for (int op = ARP_OP_REQUEST; op <= ARP_OP_REPLY; op++) {
        size_t n = vipann_build_garp(pkt, sizeof(pkt), op, mac, s->addr.bytes);
        if (sendto(v->fd4, pkt, n, 0, (const struct sockaddr *)&to, sizeof(to)) == (ssize_t)n) {
            v->st.sent++;
            continue;
        }
        addr_text(&s->addr, text, sizeof(text));
        fail(v, err, errlen, "gratuitous ARP %s for %s on %s: %s", op == ARP_OP_REQUEST ? "request" : "reply",
             text, s->ifname, strerror(errno));
        rc = -1;
    }
    return rc;
}

/* sendmsg of the NA with IPV6_PKTINFO: the outgoing interface, and `src` (all zero:
 * the kernel's choice). Returns 0 or an errno. */
static int send_na(int fd, const uint8_t *pkt, size_t n, int ifindex, const uint8_t src[16])
{
    struct sockaddr_in6 to = { .sin6_family = AF_INET6, .sin6_scope_id = (uint32_t)ifindex };
    inet_pton(AF_INET6, "ff02::1", &to.sin6_addr);
    struct iovec iov = { .iov_base = (void *)pkt, .iov_len = n };
    union {
        char buf[CMSG_SPACE(sizeof(struct in6_pktinfo))];
        struct cmsghdr align;
    } cbuf;
    memset(&cbuf, 0, sizeof(cbuf));
    struct msghdr msg = { .msg_name = &to, .msg_namelen = sizeof(to), .msg_iov = &iov, .msg_iovlen = 1,
                          .msg_control = cbuf.buf, .msg_controllen = sizeof(cbuf.buf) };
    struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = IPPROTO_IPV6;
    c->cmsg_type = IPV6_PKTINFO;
    c->cmsg_len = CMSG_LEN(sizeof(struct in6_pktinfo));
    struct in6_pktinfo pi = { .ipi6_ifindex = (unsigned)ifindex };
    memcpy(&pi.ipi6_addr, src, 16);
    memcpy(CMSG_DATA(c), &pi, sizeof(pi));
    return sendmsg(fd, &msg, 0) == (ssize_t)n ? 0 : errno;
}

static int round6(struct vipann *v, const struct series *s, char *err, size_t errlen)
{
    int ifindex;
    uint8_t mac[6], pkt[VIPANN_NA_LEN];
    static const uint8_t any[16];
    char text[INET6_ADDRSTRLEN];
    if (if_info(v, v->fd6, s->ifname, &ifindex, mac, err, errlen) < 0)
        return -1;
    size_t n = vipann_build_na(pkt, sizeof(pkt), mac, s->addr.bytes);
    int e = send_na(v->fd6, pkt, n, ifindex, s->addr.bytes);
    if (e == EINVAL || e == EADDRNOTAVAIL) {
        /* the VIP cannot be a source yet (tentative, DAD running) */
        e = send_na(v->fd6, pkt, n, ifindex, any);
        if (e == 0)
            v->st.fallback_src++;
    }
    if (e == 0) {
        v->st.sent++;
        return 0;
    }
    addr_text(&s->addr, text, sizeof(text));
    fail(v, err, errlen, "neighbour advertisement for %s on %s: %s", text, s->ifname, strerror(e));
    return -1;
}

static int send_round(struct vipann *v, const struct series *s, char *err, size_t errlen)
{
    return s->addr.family == 4 ? round4(v, s, err, errlen) : round6(v, s, err, errlen);
}

/* --- series --- */

static struct series **find_link(struct vipann *v, const struct sipha_addr *addr)
{
    struct series **pp = &v->list;
    for (; *pp; pp = &(*pp)->next)
        if ((*pp)->addr.family == addr->family &&
            memcmp((*pp)->addr.bytes, addr->bytes, addr->family == 4 ? 4 : 16) == 0)
            return pp;
    return pp;
}

static void unlink_free(struct vipann *v, struct series **pp)
{
    struct series *s = *pp;
    if (s->timer)
        loop_timer_cancel(v->lp, s->timer);
    *pp = s->next;
    free(s);
}

static void on_timer(void *arg)
{
    struct series *s = arg;
    struct vipann *v = s->v;
    s->timer = 0;
    char msg[VIPANN_ERR_MAX], ifname[IF_NAMESIZE];
    struct sipha_addr addr = s->addr;
    memcpy(ifname, s->ifname, sizeof(ifname));
    int rc = send_round(v, s, msg, sizeof(msg));
    if (--s->left > 0)
        s->timer = loop_timer_add(v->lp, s->interval_ms, on_timer, s);
    else
        unlink_free(v, find_link(v, &addr));
    /* last: the callback may cancel or replace this very series */
    if (rc < 0 && v->on_error)
        v->on_error(v->ctx, &addr, ifname, msg);
}

static int check_args(struct vipann *v, const char *ifname, const struct sipha_addr *addr, unsigned count,
                      unsigned interval_ms, char *err, size_t errlen)
{
    if (!addr || (addr->family != 4 && addr->family != 6)) {
        refuse(v, err, errlen, "address family must be IPv4 or IPv6");
        return -1;
    }
    if (!ifname || !ifname[0] || strnlen(ifname, IF_NAMESIZE) >= IF_NAMESIZE) {
        refuse(v, err, errlen, "interface name missing or longer than %d characters", IF_NAMESIZE - 1);
        return -1;
    }
    if (count < 1 || count > VIPANN_MAX_COUNT) {
        refuse(v, err, errlen, "count %u is outside 1..%d", count, VIPANN_MAX_COUNT);
        return -1;
    }
    if (count > 1 && (interval_ms < VIPANN_MIN_INTERVAL_MS || interval_ms > VIPANN_MAX_INTERVAL_MS)) {
        refuse(v, err, errlen, "interval %u ms is outside %d..%d", interval_ms, VIPANN_MIN_INTERVAL_MS,
             VIPANN_MAX_INTERVAL_MS);
        return -1;
    }
    return 0;
}

int vipann_announce(struct vipann *v, const char *ifname, const struct sipha_addr *addr, unsigned count,
                    unsigned interval_ms, char *err, size_t errlen)
{
    if (!v)
        return -1;
    if (addr && (addr->family == 4 || addr->family == 6))
        vipann_cancel(v, addr); /* replaced, or (on error below) stopped */
    if (check_args(v, ifname, addr, count, interval_ms, err, errlen) < 0)
        return -1;
    if ((addr->family == 4 ? open_fd4(v, err, errlen) : open_fd6(v, err, errlen)) < 0)
        return -1;
    struct series *s = calloc(1, sizeof(*s));
    if (!s) {
        fail(v, err, errlen, "out of memory");
        return -1;
    }
    *s = (struct series){ .v = v, .addr = *addr, .left = count, .interval_ms = interval_ms };
    memcpy(s->ifname, ifname, strlen(ifname) + 1);
    int rc = send_round(v, s, err, errlen);
    if (--s->left == 0) {
        free(s);
    } else {
        s->timer = loop_timer_add(v->lp, interval_ms, on_timer, s);
        s->next = v->list;
        v->list = s;
    }
    return rc < 0 ? 1 : 0;
}

bool vipann_cancel(struct vipann *v, const struct sipha_addr *addr)
{
    if (!v || !addr)
        return false;
    struct series **pp = find_link(v, addr);
    if (!*pp)
        return false;
    unlink_free(v, pp);
    return true;
}

bool vipann_active(const struct vipann *v, const struct sipha_addr *addr)
{
    if (!v || !addr)
        return false;
    return *find_link((struct vipann *)v, addr) != NULL;
}

const struct vipann_stats *vipann_get_stats(const struct vipann *v)
{
    return v ? &v->st : NULL;
}

/* --- life cycle --- */

struct vipann *vipann_new(struct loop *lp, vipann_error_fn on_error, void *ctx)
{
    struct vipann *v = calloc(1, sizeof(*v));
    if (!v)
        return NULL;
    v->lp = lp;
    v->on_error = on_error;
    v->ctx = ctx;
    v->fd4 = v->fd6 = -1;
    return v;
}

void vipann_free(struct vipann *v)
{
    if (!v)
        return;
    while (v->list)
        unlink_free(v, &v->list);
    if (v->fd4 >= 0)
        close(v->fd4);
    if (v->fd6 >= 0)
        close(v->fd6);
    free(v);
}
