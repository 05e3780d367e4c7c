/* mon_sip.c — counts SIP messages to address:port from a packet socket.
 *
 * The socket is SOCK_DGRAM (cooked: the packet starts at the IP header) on all
 * protocols, created with protocol 0 so that it receives nothing until the BPF filter
 * is attached and it is bound: no unfiltered packet is ever queued. The filter keeps
 * incoming IPv4/IPv6 UDP datagrams (first fragments only) to the port and address;
 * everything is checked again here, since the filter is only there to spare wakeups. */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/filter.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "mon_sip.h"
#include "sip_parse.h"

#define MS_BUF_SIZE 65536
#define MS_PACKETS_PER_WAKEUP 256
#define MS_RCVBUF (4u << 20)
#define MS_BPF_MAX 64
#define MS_ADDRS_MAX (1u + MON_SIP_ALSO_MAX)

struct mon_sip {
    struct loop *lp;
    int fd;
    mon_emit_fn emit;
    void *ctx;
    struct sipha_addr addrs[MS_ADDRS_MAX]; /* the destinations counted; none: any */
    size_t n_addrs;
    uint16_t port;
    int32_t ifindex;
    struct mon_sip_stats st;
    unsigned char buf[MS_BUF_SIZE];
};

/* --- the BPF filter, assembled with symbolic jump targets --- */

enum bpf_label { L_NEXT, L_V4, L_V6, L_PORT4, L_ACCEPT, L_DROP, L_COUNT };

/* The destinations of one family, for the filter. */
struct dests {
    const struct sipha_addr *v[MS_ADDRS_MAX];
    size_t n;
};

static struct dests dests_of(const struct sipha_addr *addrs, size_t n, uint8_t family)
{
    struct dests d = { .n = 0 };
    for (size_t i = 0; i < n; i++)
        if (addrs[i].family == family)
            d.v[d.n++] = &addrs[i];
    return d;
}

struct bpf_asm {
    struct sock_filter ins[MS_BPF_MAX];
    uint8_t jt[MS_BPF_MAX], jf[MS_BPF_MAX]; /* enum bpf_label of each jump */
    int at[L_COUNT];                        /* instruction index of each label */
    size_t n;
};

static void op(struct bpf_asm *a, uint16_t code, uint32_t k, enum bpf_label jt, enum bpf_label jf)
{
    a->ins[a->n] = (struct sock_filter){ code, 0, 0, k };
    a->jt[a->n] = (uint8_t)jt;
    a->jf[a->n] = (uint8_t)jf;
    a->n++;
}

static void label(struct bpf_asm *a, enum bpf_label l)
{
    a->at[l] = (int)a->n;
}

/* Turns labels into the forward offsets classic BPF wants (0 = next instruction). */
static int resolve(struct bpf_asm *a)
{
    for (size_t i = 0; i < a->n; i++) {
        uint8_t *off[2] = { &a->ins[i].jt, &a->ins[i].jf };
        uint8_t lab[2] = { a->jt[i], a->jf[i] };
        for (int j = 0; j < 2; j++) {
            if (lab[j] == L_NEXT)
                continue;
            int d = a->at[lab[j]] - (int)i - 1;
            if (d < 0 || d > 255)
                return -1;
            *off[j] = (uint8_t)d;
        }
    }
    return 0;
}

static uint32_t be32_at(const uint8_t *b)
{
    return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}

/* d.n 0: any destination */
static void bpf_ipv4(struct bpf_asm *a, const struct dests *d, uint16_t port)
{
    label(a, L_V4);
    op(a, BPF_LD | BPF_B | BPF_ABS, 9, L_NEXT, L_NEXT);              /* protocol */
    op(a, BPF_JMP | BPF_JEQ | BPF_K, IPPROTO_UDP, L_NEXT, L_DROP);
    op(a, BPF_LD | BPF_H | BPF_ABS, 6, L_NEXT, L_NEXT);              /* flags+offset */
    op(a, BPF_JMP | BPF_JSET | BPF_K, 0x1fff, L_DROP, L_NEXT);       /* not first fragment */
    if (d->n)
        op(a, BPF_LD | BPF_W | BPF_ABS, 16, L_NEXT, L_NEXT);         /* destination */
    for (size_t i = 0; i < d->n; i++) /* one of ours: on to the port; none: drop */
        op(a, BPF_JMP | BPF_JEQ | BPF_K, be32_at(d->v[i]->bytes), L_PORT4,
           i + 1 < d->n ? L_NEXT : L_DROP);
    label(a, L_PORT4);
    op(a, BPF_LDX | BPF_B | BPF_MSH, 0, L_NEXT, L_NEXT);             /* X = header length */
    op(a, BPF_LD | BPF_H | BPF_IND, 2, L_NEXT, L_NEXT);              /* UDP dest port */
    op(a, BPF_JMP | BPF_JEQ | BPF_K, port, L_ACCEPT, L_DROP);
}

/* The address is compared here for a single IPv6 destination only; with more, the
 * port alone lets a datagram through, and locate_payload compares. */
static void bpf_ipv6(struct bpf_asm *a, const struct dests *d, uint16_t port)
{
    label(a, L_V6);
    op(a, BPF_LD | BPF_B | BPF_ABS, 6, L_NEXT, L_NEXT);              /* next header */
    op(a, BPF_JMP | BPF_JEQ | BPF_K, IPPROTO_UDP, L_NEXT, L_DROP);
    for (uint32_t w = 0; d->n == 1 && w < 4; w++) {
        op(a, BPF_LD | BPF_W | BPF_ABS, 24 + 4 * w, L_NEXT, L_NEXT);
        op(a, BPF_JMP | BPF_JEQ | BPF_K, be32_at(d->v[0]->bytes + 4 * w), L_NEXT, L_DROP);
    }
    op(a, BPF_LD | BPF_H | BPF_ABS, 40 + 2, L_NEXT, L_NEXT);
    op(a, BPF_JMP | BPF_JEQ | BPF_K, port, L_ACCEPT, L_DROP);
}

/* n 0: any destination address */
static int build_filter(struct bpf_asm *a, const struct sipha_addr *addrs, size_t n, uint16_t port)
{
    memset(a, 0, sizeof(*a));
    struct dests d4 = dests_of(addrs, n, 4), d6 = dests_of(addrs, n, 6);
    bool v4 = !n || d4.n, v6 = !n || d6.n;
    op(a, BPF_LD | BPF_W | BPF_ABS, (uint32_t)(SKF_AD_OFF + SKF_AD_PKTTYPE), L_NEXT, L_NEXT);
    op(a, BPF_JMP | BPF_JEQ | BPF_K, PACKET_OUTGOING, L_DROP, L_NEXT);
    op(a, BPF_LD | BPF_W | BPF_ABS, (uint32_t)(SKF_AD_OFF + SKF_AD_PROTOCOL), L_NEXT, L_NEXT);
    op(a, BPF_JMP | BPF_JEQ | BPF_K, ETH_P_IP, v4 ? L_V4 : L_DROP, L_NEXT);
    op(a, BPF_JMP | BPF_JEQ | BPF_K, ETH_P_IPV6, v6 ? L_V6 : L_DROP, L_DROP);
    if (v4)
        bpf_ipv4(a, &d4, port);
    if (v6)
        bpf_ipv6(a, &d6, port);
    label(a, L_ACCEPT);
    op(a, BPF_RET | BPF_K, 0xffffffffu, L_NEXT, L_NEXT);
    label(a, L_DROP);
    op(a, BPF_RET | BPF_K, 0, L_NEXT, L_NEXT);
    return resolve(a);
}

/* --- one packet --- */

enum verdict { V_FOREIGN, V_MESSAGE, V_FRAGMENT, V_MALFORMED, V_KEEPALIVE };

struct udp_payload {
    const unsigned char *p;
    size_t len;
    bool partial; /* first fragment, or cut by the buffer: the rest is not here */
};

static bool udp_to_us(const struct mon_sip *ms, const unsigned char *udp, size_t avail,
                      struct udp_payload *out)
{
    if (avail < 8 || (uint16_t)(udp[2] << 8 | udp[3]) != ms->port)
        return false;
    size_t ulen = (size_t)(udp[4] << 8 | udp[5]);
    if (ulen < 8)
        return false;
    out->p = udp + 8;
    out->len = (ulen <= avail ? ulen : avail) - 8;
    out->partial = out->partial || ulen > avail;
    return true;
}

/* Whether dst (len 4 or 16) is one of ours; any when we have none. */
static bool ours(const struct mon_sip *ms, const unsigned char *dst, size_t len)
{
    if (!ms->n_addrs)
        return true;
    uint8_t family = len == 4 ? 4 : 6;
    for (size_t i = 0; i < ms->n_addrs; i++)
        if (ms->addrs[i].family == family && memcmp(dst, ms->addrs[i].bytes, len) == 0)
            return true;
    return false;
}

/* Finds the UDP payload of an IP packet to our address and port. */
static bool locate_payload(const struct mon_sip *ms, const unsigned char *b, size_t n,
                           uint16_t proto, struct udp_payload *out)
{
    out->partial = false;
    if (proto == ETH_P_IP) {
        if (n < 20 || (b[0] >> 4) != 4 || b[9] != IPPROTO_UDP)
            return false;
        size_t ihl = (size_t)(b[0] & 0x0f) * 4, tot = (size_t)(b[2] << 8 | b[3]);
        if (ihl < 20 || tot < ihl || n < ihl || (b[6] & 0x1f) || b[7])
            return false; /* fragment offset != 0 */
        if (!ours(ms, b + 16, 4))
            return false;
        out->partial = (b[6] & 0x20) != 0; /* more fragments */
        return udp_to_us(ms, b + ihl, (tot < n ? tot : n) - ihl, out);
    }
    if (proto == ETH_P_IPV6) {
        if (n < 40 || (b[0] >> 4) != 6 || b[6] != IPPROTO_UDP)
            return false;
        if (!ours(ms, b + 24, 16))
            return false;
        size_t plen = (size_t)(b[4] << 8 | b[5]);
        return udp_to_us(ms, b + 40, (plen < n - 40 ? plen : n - 40), out);
    }
    return false;
}

static bool only_crlf(const unsigned char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] != '\r' && p[i] != '\n')
            return false;
    return true;
}

static enum verdict classify(const struct mon_sip *ms, const unsigned char *b, size_t n,
                             uint16_t proto)
{
    struct udp_payload pl;
    if (!locate_payload(ms, b, n, proto, &pl))
        return V_FOREIGN;
    if (only_crlf(pl.p, pl.len))
        return V_KEEPALIVE;
    struct sip_msg m;
    if (pl.partial)
        return sip_parse_start_line(&m, (const char *)pl.p, pl.len) == SIP_OK ? V_FRAGMENT
                                                                            : V_MALFORMED;
    return sip_parse(&m, (const char *)pl.p, pl.len) == SIP_OK ? V_MESSAGE : V_MALFORMED;
}

/* --- the socket --- */

static void count(struct mon_sip *ms, enum verdict v, uint32_t *good, uint32_t *bad)
{
    switch (v) {
    case V_FRAGMENT:
        ms->st.fragments++;
        /* fall through */
    case V_MESSAGE:
        ms->st.messages++;
        (*good)++;
        break;
    case V_MALFORMED:
        ms->st.malformed++;
        (*bad)++;
        break;
    case V_KEEPALIVE:
        ms->st.keepalives++;
        break;
    case V_FOREIGN:
        ms->st.foreign++;
        break;
    }
}

static void emit_counts(struct mon_sip *ms, uint32_t good, uint32_t bad)
{
    if (good) {
        struct mon_event ev = { .kind = MON_SIP_MESSAGE };
        ev.u.sip.count = good;
        ms->emit(ms->ctx, &ev);
    }
    if (bad) {
        struct mon_event ev = { .kind = MON_SIP_MALFORMED };
        ev.u.sip.count = bad;
        ms->emit(ms->ctx, &ev);
    }
}

static void readable(int fd, unsigned events, void *arg)
{
    struct mon_sip *ms = arg;
    uint32_t good = 0, bad = 0;
    (void)events;
    for (int i = 0; i < MS_PACKETS_PER_WAKEUP; i++) {
        struct sockaddr_ll sll;
        socklen_t sl = sizeof(sll);
        ssize_t n = recvfrom(fd, ms->buf, sizeof(ms->buf), MSG_DONTWAIT, (struct sockaddr *)&sll, &sl);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            break; /* EAGAIN, or an error poll will report again */
        }
        if (sll.sll_pkttype == PACKET_OUTGOING ||
            (ms->ifindex && sll.sll_ifindex != ms->ifindex)) {
            ms->st.foreign++;
            continue;
        }
        count(ms, classify(ms, ms->buf, (size_t)n, ntohs(sll.sll_protocol)), &good, &bad);
    }
    emit_counts(ms, good, bad);
}

static int open_socket(const struct mon_sip *ms, const struct mon_sip_config *cfg, char *err,
                       size_t errlen)
{
    int fd = socket(AF_PACKET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        if (errno == EPERM || errno == EACCES)
            snprintf(err, errlen, "SIP traffic monitor: packet socket refused (%s): "
                     "sipha-agent needs CAP_NET_RAW (run as root, or setcap cap_net_raw+ep)",
                     strerror(errno));
        else
            snprintf(err, errlen, "SIP traffic monitor: packet socket: %s", strerror(errno));
        return -1;
    }
    struct bpf_asm a;
    struct sock_fprog prog;
    int rcvbuf = MS_RCVBUF;
    struct sockaddr_ll sll = { .sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_ALL),
                               .sll_ifindex = cfg->ifindex };
    const char *what = "BPF filter does not assemble";
    if (build_filter(&a, ms->addrs, ms->n_addrs, cfg->port) == 0) {
        prog = (struct sock_fprog){ .len = (unsigned short)a.n, .filter = a.ins };
        what = "SO_ATTACH_FILTER";
        if (setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof(prog)) == 0) {
            if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof(rcvbuf)) < 0)
                (void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
            what = "bind";
            if (bind(fd, (struct sockaddr *)&sll, sizeof(sll)) == 0)
                return fd;
        }
        snprintf(err, errlen, "SIP traffic monitor: %s: %s", what, strerror(errno));
    } else {
        snprintf(err, errlen, "SIP traffic monitor: %s", what);
    }
    close(fd);
    return -1;
}

int mon_sip_open(struct mon_sip **out, struct loop *lp, const struct mon_sip_config *cfg,
                 mon_emit_fn emit, void *ctx, char *err, size_t errlen)
{
    bool ok = cfg && cfg->port && cfg->ifindex >= 0 && emit && cfg->n_also <= MON_SIP_ALSO_MAX;
    for (size_t i = 0; ok && i <= cfg->n_also; i++) {
        uint8_t f = i ? cfg->also[i - 1].family : cfg->addr.family;
        ok = f == 4 || f == 6 || (f == 0 && i == 0);
    }
    if (!ok) {
        snprintf(err, errlen, "SIP traffic monitor: bad configuration (port 1..65535, "
                 "address family 0/4/6, at most %u more addresses of family 4/6, ifindex >= 0, "
                 "emit callback)", MON_SIP_ALSO_MAX);
        return -1;
    }
    struct mon_sip *ms = calloc(1, sizeof(*ms));
    if (!ms) {
        snprintf(err, errlen, "SIP traffic monitor: out of memory");
        return -1;
    }
    if (cfg->addr.family) { /* "any" makes the others moot */
        ms->addrs[ms->n_addrs++] = cfg->addr;
        for (size_t i = 0; i < cfg->n_also; i++)
            ms->addrs[ms->n_addrs++] = cfg->also[i];
    }
    ms->fd = open_socket(ms, cfg, err, errlen);
    if (ms->fd < 0) {
        free(ms);
        return -1;
    }
    ms->lp = lp;
    ms->emit = emit;
    ms->ctx = ctx;
    ms->port = cfg->port;
    ms->ifindex = cfg->ifindex;
    if (loop_watch_fd(lp, ms->fd, LOOP_READ, readable, ms) < 0) {
        snprintf(err, errlen, "SIP traffic monitor: loop_watch_fd failed");
        close(ms->fd);
        free(ms);
        return -1;
    }
    *out = ms;
    return 0;
}

void mon_sip_close(struct mon_sip *ms)
{
    if (!ms)
        return;
    loop_unwatch_fd(ms->lp, ms->fd);
    close(ms->fd);
    free(ms);
}

void mon_sip_get_stats(struct mon_sip *ms, struct mon_sip_stats *st)
{
    /* PACKET_STATISTICS resets the kernel's counters on each read: add them up. */
    struct tpacket_stats ks;
    socklen_t l = sizeof(ks);
    if (getsockopt(ms->fd, SOL_PACKET, PACKET_STATISTICS, &ks, &l) == 0)
        ms->st.drops += ks.tp_drops;
    *st = ms->st;
}
