/* mon_netlink.c — links and addresses from rtnetlink, on the agent's loop.
 *
 * One non-blocking NETLINK_ROUTE socket carries both the multicast notifications
 * (RTMGRP_LINK, RTMGRP_IPV4_IFADDR, RTMGRP_IPV6_IFADDR) and our dump replies; a
 * reply is told apart by our port id and the dump's sequence number (notifications
 * caused by another process carry that process's port id and sequence).
 *
 * The monitor keeps what it last reported (links and addresses, in small arrays:
 * a host has tens of interfaces, and netlink events are rare, so a scan is cheap) and
 * reports only differences. A dump is mark-and-sweep: every entry seen during the
 * dump gets the dump's generation; at its end, entries of an older generation are
 * gone and reported as such. */
#include <errno.h>
#include <linux/if_addr.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <libmnl/libmnl.h>

#include "array.h"
#include "mon_netlink.h"

#define NL_BUF_SIZE 32768          /* a dump skb is at most 32 KiB */
#define NL_DEFAULT_RCVBUF (1u << 20)
#define NL_READS_PER_WAKEUP 64     /* then give the loop back; poll wakes us again */
#define NL_RETRY_MS 200            /* after a failed dump request */
#define NL_WATCHDOG_MS 5000        /* a dump that has not finished by then is restarted */

enum dump_phase { DUMP_IDLE, DUMP_LINKS, DUMP_ADDRS };

struct nl_link {
    int32_t ifindex;
    char name[IF_NAMESIZE];
    bool up;
    uint32_t gen;
};

struct nl_addr {
    int32_t ifindex;
    struct sipha_addr addr;
    uint8_t prefix_len;
    bool present;
    uint32_t gen;
};

struct mon_netlink {
    struct loop *lp;
    struct mnl_socket *sock;
    int fd;
    unsigned portid;
    mon_emit_fn emit;
    void *ctx;
    bool ipv6;

    enum dump_phase phase;
    uint32_t seq;        /* sequence of the dump request in flight */
    uint32_t gen;        /* generation of the current (or last) dump */
    bool redump;         /* another dump wanted once this one ends */
    bool dump_intr;      /* NLM_F_DUMP_INTR: this dump may be inconsistent */
    uint64_t timer;      /* retry / watchdog timer id, 0 = none */

    struct nl_link *links;
    size_t nlinks, caplinks;
    struct nl_addr *addrs;
    size_t naddrs, capaddrs;

    struct mon_netlink_stats st;
    char buf[NL_BUF_SIZE];
};

static void start_dump(struct mon_netlink *nl);

/* --- reporting --- */

static void emit_link(struct mon_netlink *nl, const struct nl_link *l, bool up)
{
    struct mon_event ev = { .kind = MON_LINK };
    ev.u.link.ifindex = l->ifindex;
    memcpy(ev.u.link.ifname, l->name, sizeof(ev.u.link.ifname));
    ev.u.link.up = up;
    nl->emit(nl->ctx, &ev);
}

static void emit_addr(struct mon_netlink *nl, const struct nl_addr *a, bool present)
{
    struct mon_event ev = { .kind = MON_ADDR };
    ev.u.addr.ifindex = a->ifindex;
    ev.u.addr.addr = a->addr;
    ev.u.addr.prefix_len = a->prefix_len;
    ev.u.addr.present = present;
    nl->emit(nl->ctx, &ev);
}

/* --- the tables of what was reported --- */

static struct nl_link *link_find(struct mon_netlink *nl, int32_t ifindex)
{
    for (size_t i = 0; i < nl->nlinks; i++)
        if (nl->links[i].ifindex == ifindex)
            return &nl->links[i];
    return NULL;
}

static struct nl_addr *addr_find(struct mon_netlink *nl, int32_t ifindex,
                                 const struct sipha_addr *a, uint8_t plen)
{
    for (size_t i = 0; i < nl->naddrs; i++) {
        struct nl_addr *x = &nl->addrs[i];
        if (x->ifindex == ifindex && x->prefix_len == plen && mon_addr_eq(&x->addr, a))
            return x;
    }
    return NULL;
}

/* Removes addrs[i], reporting it gone if it was reported present. */
static void addr_drop(struct mon_netlink *nl, size_t i)
{
    struct nl_addr a = nl->addrs[i];
    nl->addrs[i] = nl->addrs[--nl->naddrs];
    if (a.present)
        emit_addr(nl, &a, false);
}

/* Removes links[i] (reported down) and every address still known on it. */
static void link_drop(struct mon_netlink *nl, size_t i)
{
    struct nl_link l = nl->links[i];
    nl->links[i] = nl->links[--nl->nlinks];
    for (size_t j = nl->naddrs; j-- > 0;)
        if (nl->addrs[j].ifindex == l.ifindex)
            addr_drop(nl, j);
    emit_link(nl, &l, false);
}

static void sweep_links(struct mon_netlink *nl)
{
    for (size_t i = nl->nlinks; i-- > 0;)
        if (nl->links[i].gen != nl->gen)
            link_drop(nl, i);
}

static void sweep_addrs(struct mon_netlink *nl)
{
    for (size_t i = nl->naddrs; i-- > 0;)
        if (nl->addrs[i].gen != nl->gen)
            addr_drop(nl, i);
}

/* --- message handlers --- */

struct attrs {
    const struct nlattr *tb[IFLA_MAX > IFA_MAX ? IFLA_MAX + 1 : IFA_MAX + 1];
    unsigned max;
};

static int attr_cb(const struct nlattr *attr, void *data)
{
    struct attrs *a = data;
    unsigned type = mnl_attr_get_type(attr);
    if (type <= a->max)
        a->tb[type] = attr;
    return MNL_CB_OK;
}

static void on_link(struct mon_netlink *nl, const struct nlmsghdr *nlh)
{
    if (mnl_nlmsg_get_payload_len(nlh) < sizeof(struct ifinfomsg))
        return;
    const struct ifinfomsg *ifi = mnl_nlmsg_get_payload(nlh);
    struct attrs at = { .max = IFLA_MAX };
    if (mnl_attr_parse(nlh, sizeof(*ifi), attr_cb, &at) != MNL_CB_OK)
        return;
    size_t pos = 0;
    struct nl_link *l = link_find(nl, ifi->ifi_index);
    if (l)
        pos = (size_t)(l - nl->links);
    if (nlh->nlmsg_type == RTM_DELLINK) {
        if (l)
            link_drop(nl, pos);
        return;
    }
    struct nl_link cur = { .ifindex = ifi->ifi_index, .gen = nl->gen };
    cur.up = (ifi->ifi_flags & IFF_UP) && (ifi->ifi_flags & IFF_RUNNING);
    if (at.tb[IFLA_IFNAME]) {
        size_t n = mnl_attr_get_payload_len(at.tb[IFLA_IFNAME]);
        if (n >= sizeof(cur.name))
            n = sizeof(cur.name) - 1;
        memcpy(cur.name, mnl_attr_get_payload(at.tb[IFLA_IFNAME]), n);
        cur.name[strnlen(cur.name, n)] = '\0';
    } else if (l) {
        memcpy(cur.name, l->name, sizeof(cur.name));
    }
    if (l) {
        bool changed = l->up != cur.up || strcmp(l->name, cur.name) != 0;
        *l = cur;
        if (changed)
            emit_link(nl, &cur, cur.up);
        return;
    }
    void *items = nl->links;
    if (array_reserve(&items, &nl->caplinks, nl->nlinks + 1, sizeof(*nl->links), 16) < 0) {
        nl->st.errors++;
        return;
    }
    nl->links = items;
    nl->links[nl->nlinks++] = cur;
    emit_link(nl, &cur, cur.up);
}

/* Reads the address of an RTM_*ADDR message: IFA_LOCAL is the local address on
 * point-to-point links (where IFA_ADDRESS is the peer), IFA_ADDRESS otherwise. */
static bool addr_of(const struct ifaddrmsg *ifa, const struct attrs *at, struct sipha_addr *out)
{
    const struct nlattr *a = at->tb[IFA_LOCAL] ? at->tb[IFA_LOCAL] : at->tb[IFA_ADDRESS];
    size_t want = ifa->ifa_family == AF_INET ? 4 : 16;
    if (!a || mnl_attr_get_payload_len(a) != want)
        return false;
    mon_addr_set(out, ifa->ifa_family, mnl_attr_get_payload(a));
    return true;
}

static void on_addr(struct mon_netlink *nl, const struct nlmsghdr *nlh)
{
    if (mnl_nlmsg_get_payload_len(nlh) < sizeof(struct ifaddrmsg))
        return;
    const struct ifaddrmsg *ifa = mnl_nlmsg_get_payload(nlh);
    if (ifa->ifa_family != AF_INET && !(ifa->ifa_family == AF_INET6 && nl->ipv6))
        return;
    struct attrs at = { .max = IFA_MAX };
    struct sipha_addr addr;
    if (mnl_attr_parse(nlh, sizeof(*ifa), attr_cb, &at) != MNL_CB_OK || !addr_of(ifa, &at, &addr))
        return;
    int32_t ifindex = (int32_t)ifa->ifa_index;
    struct nl_addr *x = addr_find(nl, ifindex, &addr, ifa->ifa_prefixlen);
    if (nlh->nlmsg_type == RTM_DELADDR) {
        if (x)
            addr_drop(nl, (size_t)(x - nl->addrs));
        return;
    }
    uint32_t flags = ifa->ifa_flags;
    if (at.tb[IFA_FLAGS] && mnl_attr_get_payload_len(at.tb[IFA_FLAGS]) == 4)
        flags = mnl_attr_get_u32(at.tb[IFA_FLAGS]);
    bool present = !(flags & (IFA_F_TENTATIVE | IFA_F_DADFAILED));
    if (x) {
        x->gen = nl->gen;
        if (x->present != present) {
            x->present = present;
            emit_addr(nl, x, present);
        }
        return;
    }
    void *items = nl->addrs;
    if (array_reserve(&items, &nl->capaddrs, nl->naddrs + 1, sizeof(*nl->addrs), 16) < 0) {
        nl->st.errors++;
        return;
    }
    nl->addrs = items;
    x = &nl->addrs[nl->naddrs++];
    *x = (struct nl_addr){ ifindex, addr, ifa->ifa_prefixlen, present, nl->gen };
    if (present)
        emit_addr(nl, x, true);
}

/* --- dumps --- */

static void timer_fired(void *arg)
{
    struct mon_netlink *nl = arg;
    nl->timer = 0;
    if (nl->phase != DUMP_IDLE)
        nl->st.errors++; /* watchdog: the dump never finished */
    nl->phase = DUMP_IDLE;
    start_dump(nl);
}

static void set_timer(struct mon_netlink *nl, uint64_t ms)
{
    if (nl->timer)
        loop_timer_cancel(nl->lp, nl->timer);
    nl->timer = loop_timer_add(nl->lp, ms, timer_fired, nl);
}

static int send_dump(struct mon_netlink *nl, uint16_t type)
{
    char b[256];
    struct nlmsghdr *h = mnl_nlmsg_put_header(b);
    h->nlmsg_type = type;
    h->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
    h->nlmsg_seq = ++nl->seq;
    if (type == RTM_GETLINK) {
        struct ifinfomsg *ifi = mnl_nlmsg_put_extra_header(h, sizeof(*ifi));
        ifi->ifi_family = AF_UNSPEC;
    } else {
        struct ifaddrmsg *ifa = mnl_nlmsg_put_extra_header(h, sizeof(*ifa));
        ifa->ifa_family = nl->ipv6 ? AF_UNSPEC : AF_INET;
    }
    if (mnl_socket_sendto(nl->sock, h, h->nlmsg_len) < 0) {
        nl->st.errors++;
        nl->phase = DUMP_IDLE;
        set_timer(nl, NL_RETRY_MS);
        return -1;
    }
    return 0;
}

static void start_dump(struct mon_netlink *nl)
{
    nl->gen++;
    nl->redump = false;
    nl->dump_intr = false;
    if (send_dump(nl, RTM_GETLINK) == 0) {
        nl->phase = DUMP_LINKS;
        set_timer(nl, NL_WATCHDOG_MS);
    }
}

static void want_dump(struct mon_netlink *nl)
{
    if (nl->phase != DUMP_IDLE)
        nl->redump = true;
    else
        start_dump(nl);
}

/* NLMSG_DONE of our dump. An interrupted dump (NLM_F_DUMP_INTR) may have missed
 * entries, so nothing is swept from it: it is simply done again. */
static void dump_done(struct mon_netlink *nl)
{
    if (nl->phase == DUMP_LINKS) {
        if (!nl->dump_intr)
            sweep_links(nl);
        if (send_dump(nl, RTM_GETADDR) == 0)
            nl->phase = DUMP_ADDRS;
        return;
    }
    nl->phase = DUMP_IDLE;
    if (nl->timer) {
        loop_timer_cancel(nl->lp, nl->timer);
        nl->timer = 0;
    }
    if (nl->dump_intr) {
        start_dump(nl);
        return;
    }
    sweep_addrs(nl);
    nl->st.dumps++;
    if (nl->redump) {
        start_dump(nl);
        return;
    }
    struct mon_event ev = { .kind = MON_NETLINK_SYNCED };
    nl->emit(nl->ctx, &ev);
}

static void on_message(struct mon_netlink *nl, const struct nlmsghdr *nlh)
{
    bool mine = nl->phase != DUMP_IDLE && nlh->nlmsg_seq == nl->seq && nlh->nlmsg_pid == nl->portid;
    nl->st.messages++;
    if (mine && (nlh->nlmsg_flags & NLM_F_DUMP_INTR))
        nl->dump_intr = true;
    switch (nlh->nlmsg_type) {
    case NLMSG_DONE:
        if (mine)
            dump_done(nl);
        break;
    case NLMSG_ERROR:
        if (mine) { /* the dump request was refused: try again a little later */
            nl->st.errors++;
            nl->phase = DUMP_IDLE;
            set_timer(nl, NL_RETRY_MS);
        }
        break;
    case RTM_NEWLINK:
    case RTM_DELLINK:
        on_link(nl, nlh);
        break;
    case RTM_NEWADDR:
    case RTM_DELADDR:
        on_addr(nl, nlh);
        break;
    default:
        break;
    }
}

static void readable(int fd, unsigned events, void *arg)
{
    struct mon_netlink *nl = arg;
    (void)fd;
    (void)events;
    for (int i = 0; i < NL_READS_PER_WAKEUP; i++) {
        ssize_t n = mnl_socket_recvfrom(nl->sock, nl->buf, sizeof(nl->buf));
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno == ENOBUFS) { /* notifications were lost: state is unknown */
                nl->st.enobufs++;
                want_dump(nl);
                continue;
            }
            if (errno != EAGAIN && errno != EWOULDBLOCK)
                nl->st.errors++;
            return;
        }
        int len = (int)n;
        for (const struct nlmsghdr *h = (const void *)nl->buf; mnl_nlmsg_ok(h, len);
             h = mnl_nlmsg_next(h, &len))
            on_message(nl, h);
    }
}

/* --- open / close --- */

static int fail(struct mon_netlink *nl, char *err, size_t errlen, const char *what)
{
    snprintf(err, errlen, "netlink monitor: %s: %s", what, strerror(errno));
    if (nl->sock)
        mnl_socket_close(nl->sock);
    free(nl);
    return -1;
}

int mon_netlink_open(struct mon_netlink **out, struct loop *lp,
                     const struct mon_netlink_config *cfg, mon_emit_fn emit, void *ctx,
                     char *err, size_t errlen)
{
    struct mon_netlink_config def = { 0 };
    if (!cfg)
        cfg = &def;
    if (!emit) {
        snprintf(err, errlen, "netlink monitor: no emit callback");
        return -1;
    }
    struct mon_netlink *nl = calloc(1, sizeof(*nl));
    if (!nl) {
        snprintf(err, errlen, "netlink monitor: out of memory");
        return -1;
    }
    *nl = (struct mon_netlink){ .lp = lp, .emit = emit, .ctx = ctx, .ipv6 = !cfg->no_ipv6 };
    nl->sock = mnl_socket_open2(NETLINK_ROUTE, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (!nl->sock)
        return fail(nl, err, errlen, "socket");
    nl->fd = mnl_socket_get_fd(nl->sock);
    int rcvbuf = (int)(cfg->rcvbuf ? cfg->rcvbuf : NL_DEFAULT_RCVBUF);
    /* FORCE passes the rmem_max limit when we may; otherwise the capped size is fine. */
    if (setsockopt(nl->fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof(rcvbuf)) < 0)
        (void)setsockopt(nl->fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
    unsigned groups = RTMGRP_LINK | RTMGRP_IPV4_IFADDR | (nl->ipv6 ? RTMGRP_IPV6_IFADDR : 0);
    if (mnl_socket_bind(nl->sock, groups, MNL_SOCKET_AUTOPID) < 0)
        return fail(nl, err, errlen, "bind");
    nl->portid = mnl_socket_get_portid(nl->sock);
    if (loop_watch_fd(lp, nl->fd, LOOP_READ, readable, nl) < 0)
        return fail(nl, err, errlen, "loop_watch_fd");
    start_dump(nl);
    *out = nl;
    return 0;
}

void mon_netlink_close(struct mon_netlink *nl)
{
    if (!nl)
        return;
    if (nl->timer)
        loop_timer_cancel(nl->lp, nl->timer);
    loop_unwatch_fd(nl->lp, nl->fd);
    mnl_socket_close(nl->sock);
    free(nl->links);
    free(nl->addrs);
    free(nl);
}

void mon_netlink_redump(struct mon_netlink *nl)
{
    want_dump(nl);
}

void mon_netlink_get_stats(const struct mon_netlink *nl, struct mon_netlink_stats *st)
{
    *st = nl->st;
}
