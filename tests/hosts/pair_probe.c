/* pair_probe.c — samples an HA pair (two hosts = network namespaces) every period
 * (10 ms) for a bounded time, with a SIP client in a third namespace, and writes one
 * line per sample. The instrument of the fault matrix (tests/hosts/) and of the
 * failover benchmarks (bench/).
 *
 * Build:
 *   cc -std=c11 -D_GNU_SOURCE -O2 -Wall -Wextra -Werror tests/hosts/pair_probe.c \
 *      -o build/pair_probe -lnetsnmp -lmnl
 *
 * Usage (root, from the root namespace):
 *   pair_probe -a NS_A -b NS_B -c NS_C -v VIP -i IFNAME [-t VIP:PORT]
 *              [-k COMMUNITY] [-A ROLE-OID-A] [-B ROLE-OID-B]
 *              [-d SECONDS] [-p PERIOD-MS] [-o OUTFILE]
 *
 *   -a/-b/-c   namespace names under /run/netns (hosts a and b, client c)
 *   -v -i      the VIP (IPv4 or IPv6) and its interface on the hosts
 *   -t         the SIP target of the client (default VIP:5060; IPv6 as [ADDR]:PORT)
 *   -k -A -B   SNMP v2c community (default "public") and the numeric OID of the role
 *              (e.g. siphaInstRole.1 via snmptranslate -On) on a and b; without -A/-B
 *              no SNMP is done for that host and its role prints "-"
 *   -d         duration, 1..120 s (default 10); -p period 1..1000 ms (default 10)
 *   -o         output file (default stdout)
 *
 * Why it is built this way:
 *  - Sockets keep the namespace they were created in: each host's rtnetlink socket and
 *    SNMP session (snmp_sess_open opens its socket at once) and the client's UDP and
 *    rtnetlink sockets are made after setns() into that namespace; the original
 *    namespace is restored right after. One thread, so setns() affects nothing else.
 *  - VIP presence and link state come from rtnetlink notifications (one dump at the
 *    start, then RTMGRP_LINK / IPV4_IFADDR / IPV6_IFADDR events), stamped when read:
 *    exact, where polling `ip addr` would be late by up to a period plus its start-up.
 *  - Both role GETs are sent before waiting for either (async API, one select loop),
 *    timeout 8 ms (or period - 2 ms), 0 retries: a sample costs about a millisecond.
 *  - Only 127.0.0.1:161 inside the host namespaces and the target inside the client
 *    namespace are ever sent to; one request per host and one OPTIONS per period, for at
 *    most 120 s.
 *
 * Output (line-buffered):
 *   # header lines (arguments, start times, column names)
 *   T_MS RT_MS ROLE_A ROLE_B VIP_A VIP_B ANS MARK LINK_A LINK_B       one per sample
 *   @ T_MS RT_MS KIND ...                                             events
 *   # footer: counters, MAC of each host's VIP interface, the client's neighbour entry
 * T_MS: ms since the start (CLOCK_MONOTONIC) of the sample; RT_MS: the same moment on
 * CLOCK_REALTIME in ms since the epoch (to match a script's $EPOCHREALTIME). ROLE:
 * primary/backup/unknown/int:N (the GET's integer), none (no such row: the agent is
 * gone), ? (no answer within the timeout), err (an error status), - (not asked). VIP: 1
 * when the VIP is on the interface (whatever the link state), else 0. ANS: the Server:
 * header of the answer to this sample's OPTIONS (sip_responder -n NAME), "-" when none
 * came within the period. MARK: F when SIGUSR1 arrived during this sample, else "-".
 * LINK: U when the interface is up and running, D otherwise, ? unknown.
 * Events: "@ T RT vip HOST add|del", "@ T RT link HOST up|down",
 * "@ T RT answer NAME SEQ" (an answer from a different host than the previous answer,
 * stamped at its arrival), "@ T RT mark" (SIGUSR1).
 * SIGINT/SIGTERM end it early (the footer is still written). */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <libmnl/libmnl.h>
#include <linux/if_addr.h>
#include <linux/neighbour.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <net-snmp/net-snmp-config.h>
#include <net-snmp/net-snmp-includes.h>

#define PP_MAX_DURATION_S 120
#define PP_NAME_LEN 32
#define PP_NLBUF 65536

struct pp_opts {
    const char *ns[3];          /* a, b, c */
    const char *vip, *ifname, *target, *community, *outfile;
    const char *role_oid[2];
    int duration_s, period_ms;
};

struct pp_addr {
    int family;                 /* AF_INET / AF_INET6 */
    unsigned char bytes[16];
};

struct pp_host {
    char label;                 /* 'a' / 'b' */
    struct mnl_socket *nl;
    unsigned ifindex;
    bool vip, link_up, link_known;
    char mac[3 * 32];
    void *snmp;                 /* Net-SNMP single session, NULL when not asked */
    oid role_oid[MAX_OID_LEN];
    size_t role_oid_len;
    int reqid;                  /* the current sample's request */
    char role[PP_NAME_LEN];     /* the current sample's answer */
};

struct pp_sample {
    double t_ms, rt_ms;
    char role[2][PP_NAME_LEN];
    bool vip[2], link_up[2], link_known[2];
    unsigned seq;
    char ans[PP_NAME_LEN];
    bool mark;
};

struct pp_client {
    int fd;
    struct mnl_socket *nl;      /* for the neighbour entry at the end */
    struct sockaddr_storage dst;
    socklen_t dstlen;
    char local[INET6_ADDRSTRLEN + 8], uri_host[INET6_ADDRSTRLEN + 8];
    unsigned next_seq;
    char last_answerer[PP_NAME_LEN];
    unsigned long long sent, answered, late, foreign;
};

struct pp_state {
    struct pp_opts o;
    struct pp_addr vip;
    struct pp_host host[2];
    struct pp_client cli;
    struct pp_sample cur;
    bool have_cur;
    FILE *out;
    bool live;                  /* sampling started: changes are events from now on */
    double t0_mono;
    unsigned long long samples, skipped;
};

static volatile sig_atomic_t pp_stop, pp_mark;

static void pp_on_stop(int sig) { (void)sig; pp_stop = 1; }
static void pp_on_mark(int sig) { (void)sig; pp_mark = 1; }

static double pp_clock_ms(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

static void pp_usage(void)
{
    fprintf(stderr,
            "usage: pair_probe -a NS_A -b NS_B -c NS_C -v VIP -i IFNAME [-t VIP:PORT]\n"
            "                  [-k COMMUNITY] [-A ROLE-OID-A] [-B ROLE-OID-B]\n"
            "                  [-d SECONDS (1..%d)] [-p PERIOD-MS (1..1000)] [-o OUTFILE]\n",
            PP_MAX_DURATION_S);
}

static bool pp_int_arg(const char *s, int lo, int hi, int *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi)
        return false;
    *out = (int)v;
    return true;
}

static bool pp_ns_name_ok(const char *n)
{
    return n && *n && strlen(n) < 200 && !strchr(n, '/') && strcmp(n, ".") && strcmp(n, "..");
}

static int pp_parse_opts(int argc, char **argv, struct pp_opts *o)
{
    *o = (struct pp_opts){ .community = "public", .duration_s = 10, .period_ms = 10 };
    int c;
    while ((c = getopt(argc, argv, "a:b:c:v:i:t:k:A:B:d:p:o:h")) != -1) {
        switch (c) {
        case 'a': o->ns[0] = optarg; break;
        case 'b': o->ns[1] = optarg; break;
        case 'c': o->ns[2] = optarg; break;
        case 'v': o->vip = optarg; break;
        case 'i': o->ifname = optarg; break;
        case 't': o->target = optarg; break;
        case 'k': o->community = optarg; break;
        case 'A': o->role_oid[0] = optarg; break;
        case 'B': o->role_oid[1] = optarg; break;
        case 'o': o->outfile = optarg; break;
        case 'd':
            if (!pp_int_arg(optarg, 1, PP_MAX_DURATION_S, &o->duration_s)) {
                fprintf(stderr, "pair_probe: -d %s: expected 1..%d seconds\n", optarg, PP_MAX_DURATION_S);
                return -1;
            }
            break;
        case 'p':
            if (!pp_int_arg(optarg, 1, 1000, &o->period_ms)) {
                fprintf(stderr, "pair_probe: -p %s: expected 1..1000 ms\n", optarg);
                return -1;
            }
            break;
        default:
            pp_usage();
            return -1;
        }
    }
    if (optind != argc || !o->vip || !o->ifname) {
        pp_usage();
        return -1;
    }
    for (int i = 0; i < 3; i++) {
        if (!pp_ns_name_ok(o->ns[i])) {
            fprintf(stderr, "pair_probe: -%c: a namespace name under /run/netns is required\n", "abc"[i]);
            return -1;
        }
    }
    if (strlen(o->ifname) >= IFNAMSIZ) {
        fprintf(stderr, "pair_probe: -i %s: interface name too long\n", o->ifname);
        return -1;
    }
    return 0;
}

static int pp_parse_addr(const char *s, struct pp_addr *a)
{
    if (inet_pton(AF_INET, s, a->bytes) == 1) {
        a->family = AF_INET;
        return 0;
    }
    if (inet_pton(AF_INET6, s, a->bytes) == 1) {
        a->family = AF_INET6;
        return 0;
    }
    return -1;
}

static size_t pp_addr_len(int family) { return family == AF_INET ? 4 : 16; }

/* "ADDR:PORT" or "[ADDR6]:PORT" into a sockaddr; the URI host form (brackets kept). */
static int pp_parse_target(const char *spec, struct pp_client *c)
{
    char host[INET6_ADDRSTRLEN + 2];
    const char *colon = strrchr(spec, ':');
    int port;
    if (!colon || !pp_int_arg(colon + 1, 1, 65535, &port))
        return -1;
    size_t hl = (size_t)(colon - spec);
    if (spec[0] == '[') {
        if (hl < 3 || spec[hl - 1] != ']')
            return -1;
        spec++;
        hl -= 2;
    }
    if (hl == 0 || hl >= sizeof(host))
        return -1;
    memcpy(host, spec, hl);
    host[hl] = '\0';
    struct pp_addr a;
    if (pp_parse_addr(host, &a) < 0)
        return -1;
    memset(&c->dst, 0, sizeof(c->dst));
    if (a.family == AF_INET) {
        struct sockaddr_in *s4 = (struct sockaddr_in *)&c->dst;
        s4->sin_family = AF_INET;
        s4->sin_port = htons((uint16_t)port);
        memcpy(&s4->sin_addr, a.bytes, 4);
        c->dstlen = sizeof(*s4);
        snprintf(c->uri_host, sizeof(c->uri_host), "%s:%d", host, port);
    } else {
        struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&c->dst;
        s6->sin6_family = AF_INET6;
        s6->sin6_port = htons((uint16_t)port);
        memcpy(&s6->sin6_addr, a.bytes, 16);
        c->dstlen = sizeof(*s6);
        snprintf(c->uri_host, sizeof(c->uri_host), "[%s]:%d", host, port);
    }
    return 0;
}

static int pp_parse_oid(const char *s, oid *out, size_t *len)
{
    size_t n = 0;
    const char *p = s;
    if (*p == '.')
        p++;
    while (*p) {
        char *end;
        errno = 0;
        unsigned long v = strtoul(p, &end, 10);
        if (errno || end == p || n >= MAX_OID_LEN || v > 0xffffffffUL || (*end && *end != '.'))
            return -1;
        out[n++] = (oid)v;
        p = *end ? end + 1 : end;
    }
    if (n < 2)
        return -1;
    *len = n;
    return 0;
}

/* ------------------------------------------------------------------ namespaces */

static int pp_ns_enter(const char *name)
{
    char path[256];
    snprintf(path, sizeof(path), "/run/netns/%s", name);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        fprintf(stderr, "pair_probe: %s: %s\n", path, strerror(errno));
        return -1;
    }
    int rc = setns(fd, CLONE_NEWNET);
    if (rc < 0)
        fprintf(stderr, "pair_probe: setns %s: %s\n", path, strerror(errno));
    close(fd);
    return rc;
}

static int pp_ns_restore(int saved)
{
    if (setns(saved, CLONE_NEWNET) < 0) {
        fprintf(stderr, "pair_probe: cannot return to the original namespace: %s\n", strerror(errno));
        return -1;
    }
    return 0;
}

/* ------------------------------------------------------------------ output */

static void pp_event(struct pp_state *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void pp_event(struct pp_state *s, const char *fmt, ...)
{
    va_list ap;
    fprintf(s->out, "@ %.3f %.3f ", pp_clock_ms(CLOCK_MONOTONIC) - s->t0_mono, pp_clock_ms(CLOCK_REALTIME));
    va_start(ap, fmt);
    vfprintf(s->out, fmt, ap);
    va_end(ap);
    fputc('\n', s->out);
}

static char pp_link_char(bool known, bool up) { return !known ? '?' : up ? 'U' : 'D'; }

static void pp_emit_sample(struct pp_state *s, const struct pp_sample *x)
{
    fprintf(s->out, "%.3f %.3f %s %s %d %d %s %c %c %c\n", x->t_ms, x->rt_ms, x->role[0], x->role[1],
            x->vip[0], x->vip[1], x->ans[0] ? x->ans : "-", x->mark ? 'F' : '-',
            pp_link_char(x->link_known[0], x->link_up[0]), pp_link_char(x->link_known[1], x->link_up[1]));
}

/* ------------------------------------------------------------------ rtnetlink */

static void pp_mac_text(const unsigned char *m, size_t n, char *out, size_t room)
{
    size_t w = 0;
    out[0] = '\0';
    for (size_t i = 0; i < n && w + 4 < room; i++)
        w += (size_t)snprintf(out + w, room - w, "%s%02x", i ? ":" : "", m[i]);
}

struct pp_nl_ctx {
    struct pp_state *s;
    struct pp_host *h;
};

static bool pp_ifa_is_vip(const struct nlmsghdr *nlh, const struct pp_addr *vip)
{
    const struct ifaddrmsg *ifa = mnl_nlmsg_get_payload(nlh);
    const struct nlattr *local = NULL, *addr = NULL, *attr;
    if (ifa->ifa_family != vip->family)
        return false;
    mnl_attr_for_each(attr, nlh, sizeof(*ifa)) {
        if (mnl_attr_get_type(attr) == IFA_LOCAL)
            local = attr;
        else if (mnl_attr_get_type(attr) == IFA_ADDRESS)
            addr = attr;
    }
    /* IPv4 names the host's own address in IFA_LOCAL (IFA_ADDRESS is the peer on a
     * point-to-point link); IPv6 only in IFA_ADDRESS */
    const struct nlattr *a = local ? local : addr;
    size_t n = pp_addr_len(vip->family);
    return a && mnl_attr_get_payload_len(a) == n && memcmp(mnl_attr_get_payload(a), vip->bytes, n) == 0;
}

static void pp_on_addr(struct pp_nl_ctx *c, const struct nlmsghdr *nlh)
{
    const struct ifaddrmsg *ifa = mnl_nlmsg_get_payload(nlh);
    if (ifa->ifa_index != c->h->ifindex || !pp_ifa_is_vip(nlh, &c->s->vip))
        return;
    bool now = nlh->nlmsg_type == RTM_NEWADDR;
    if (now != c->h->vip && c->s->live)
        pp_event(c->s, "vip %c %s", c->h->label, now ? "add" : "del");
    c->h->vip = now;
}

static void pp_on_link(struct pp_nl_ctx *c, const struct nlmsghdr *nlh)
{
    const struct ifinfomsg *ifi = mnl_nlmsg_get_payload(nlh);
    const struct nlattr *attr;
    if ((unsigned)ifi->ifi_index != c->h->ifindex)
        return;
    bool up = nlh->nlmsg_type == RTM_NEWLINK && (ifi->ifi_flags & IFF_UP) && (ifi->ifi_flags & IFF_RUNNING);
    if (c->s->live && c->h->link_known && up != c->h->link_up)
        pp_event(c->s, "link %c %s", c->h->label, up ? "up" : "down");
    c->h->link_up = up;
    c->h->link_known = true;
    mnl_attr_for_each(attr, nlh, sizeof(*ifi)) {
        if (mnl_attr_get_type(attr) == IFLA_ADDRESS)
            pp_mac_text(mnl_attr_get_payload(attr), mnl_attr_get_payload_len(attr), c->h->mac, sizeof(c->h->mac));
    }
}

static int pp_nl_cb(const struct nlmsghdr *nlh, void *data)
{
    struct pp_nl_ctx *c = data;
    switch (nlh->nlmsg_type) {
    case RTM_NEWADDR:
    case RTM_DELADDR:
        if (mnl_nlmsg_get_payload_len(nlh) >= sizeof(struct ifaddrmsg))
            pp_on_addr(c, nlh);
        break;
    case RTM_NEWLINK:
    case RTM_DELLINK:
        if (mnl_nlmsg_get_payload_len(nlh) >= sizeof(struct ifinfomsg))
            pp_on_link(c, nlh);
        break;
    default:
        break;
    }
    return MNL_CB_OK;
}

static int pp_nl_request(struct mnl_socket *nl, uint16_t type, uint16_t flags, int family, unsigned ifindex)
{
    char buf[256];
    memset(buf, 0, sizeof(buf));
    struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
    nlh->nlmsg_type = type;
    nlh->nlmsg_flags = NLM_F_REQUEST | flags;
    nlh->nlmsg_seq = (uint32_t)time(NULL);
    if (type == RTM_GETADDR) {
        struct ifaddrmsg *ifa = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifa));
        ifa->ifa_family = (unsigned char)family;
    } else if (type == RTM_GETLINK) {
        struct ifinfomsg *ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
        ifi->ifi_family = AF_UNSPEC;
        ifi->ifi_index = (int)ifindex;
    } else {
        struct ndmsg *nd = mnl_nlmsg_put_extra_header(nlh, sizeof(*nd));
        nd->ndm_family = (unsigned char)family;
    }
    return mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0 ? -1 : 0;
}

/* Reads what is queued on a host's socket (non-blocking); every message, answer or
 * notification, updates the same state, so their interleaving does not matter.
 * Returns 1 when a dump's end (or an error answer) was seen, 0 otherwise, -1 on error. */
static int pp_nl_drain(struct pp_state *s, struct pp_host *h, mnl_cb_t cb, void *data)
{
    static char buf[PP_NLBUF];
    int done = 0;
    struct pp_nl_ctx ctx = { s, h };
    for (;;) {
        ssize_t n = mnl_socket_recvfrom(h ? h->nl : s->cli.nl, buf, sizeof(buf));
        if (n < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                return done;
            if (errno == ENOBUFS && h) {
                /* notifications were lost: the state is re-read with a fresh dump */
                pp_event(s, "warn %c netlink-overrun", h->label);
                pp_nl_request(h->nl, RTM_GETADDR, NLM_F_DUMP, s->vip.family, 0);
                continue;
            }
            if (errno == EINTR)
                continue;
            return -1;
        }
        int rc = mnl_cb_run(buf, (size_t)n, 0, 0, cb ? cb : pp_nl_cb, cb ? data : &ctx);
        if (rc <= MNL_CB_STOP)
            done = 1;
    }
}

/* Waits (at most 1 s) for the end of the request just sent. */
static int pp_nl_wait_done(struct pp_state *s, struct pp_host *h, mnl_cb_t cb, void *data)
{
    int fd = mnl_socket_get_fd(h ? h->nl : s->cli.nl);
    double end = pp_clock_ms(CLOCK_MONOTONIC) + 1000;
    while (pp_clock_ms(CLOCK_MONOTONIC) < end) {
        fd_set r;
        FD_ZERO(&r);
        FD_SET(fd, &r);
        struct timeval tv = { 0, 50000 };
        if (select(fd + 1, &r, NULL, NULL, &tv) < 0 && errno != EINTR)
            return -1;
        int rc = pp_nl_drain(s, h, cb, data);
        if (rc != 0)
            return rc;
    }
    return -1;
}

static struct mnl_socket *pp_nl_open(unsigned groups)
{
    struct mnl_socket *nl = mnl_socket_open(NETLINK_ROUTE);
    if (!nl)
        return NULL;
    int big = 1 << 20;
    setsockopt(mnl_socket_get_fd(nl), SOL_SOCKET, SO_RCVBUF, &big, sizeof(big));
    if (mnl_socket_bind(nl, groups, MNL_SOCKET_AUTOPID) < 0) {
        mnl_socket_close(nl);
        return NULL;
    }
    int fd = mnl_socket_get_fd(nl);
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    return nl;
}

/* ------------------------------------------------------------------ SNMP */

static int pp_snmp_cb(int op, netsnmp_session *sess, int reqid, netsnmp_pdu *pdu, void *magic)
{
    struct pp_host *h = magic;
    (void)sess;
    if (reqid != h->reqid)
        return 1; /* an answer to an earlier sample, too late to count */
    if (op != NETSNMP_CALLBACK_OP_RECEIVED_MESSAGE || !pdu) {
        snprintf(h->role, sizeof(h->role), "?");
        return 1;
    }
    netsnmp_variable_list *v = pdu->variables;
    if (pdu->errstat != SNMP_ERR_NOERROR || !v)
        snprintf(h->role, sizeof(h->role), "err");
    else if (v->type == SNMP_NOSUCHOBJECT || v->type == SNMP_NOSUCHINSTANCE || v->type == SNMP_ENDOFMIBVIEW)
        snprintf(h->role, sizeof(h->role), "none");
    else if (v->type == ASN_INTEGER && v->val.integer) {
        long r = *v->val.integer;
        snprintf(h->role, sizeof(h->role), "%s",
                 r == 1 ? "unknown" : r == 2 ? "primary" : r == 3 ? "backup" : "");
        if (!h->role[0])
            snprintf(h->role, sizeof(h->role), "int:%ld", r);
    } else
        snprintf(h->role, sizeof(h->role), "err");
    return 1;
}

static void *pp_snmp_open(const struct pp_opts *o, int period_ms)
{
    netsnmp_session sess;
    snmp_sess_init(&sess);
    sess.version = SNMP_VERSION_2c;
    sess.peername = (char *)"udp:127.0.0.1:161";
    sess.community = (u_char *)o->community;
    sess.community_len = strlen(o->community);
    /* shorter than the period, so a sample's request is settled before the next */
    long t = period_ms > 4 ? (period_ms - 2) * 1000L : 2000L;
    sess.timeout = t > 8000 ? 8000 : t;
    sess.retries = 0;
    return snmp_sess_open(&sess);
}

static void pp_snmp_send(struct pp_host *h)
{
    if (!h->snmp) {
        snprintf(h->role, sizeof(h->role), "-");
        return;
    }
    snprintf(h->role, sizeof(h->role), "?");
    netsnmp_pdu *pdu = snmp_pdu_create(SNMP_MSG_GET);
    snmp_add_null_var(pdu, h->role_oid, h->role_oid_len);
    h->reqid = pdu->reqid;
    if (snmp_sess_async_send(h->snmp, pdu, pp_snmp_cb, h) == 0) {
        snmp_free_pdu(pdu);
        h->reqid = -1;
        snprintf(h->role, sizeof(h->role), "err");
    }
}

/* ------------------------------------------------------------------ SIP client */

static int pp_client_open(struct pp_client *c)
{
    c->fd = socket(c->dst.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c->fd < 0 || connect(c->fd, (struct sockaddr *)&c->dst, c->dstlen) < 0) {
        fprintf(stderr, "pair_probe: client socket: %s\n", strerror(errno));
        return -1;
    }
    struct sockaddr_storage me;
    socklen_t ml = sizeof(me);
    char ip[INET6_ADDRSTRLEN];
    if (getsockname(c->fd, (struct sockaddr *)&me, &ml) < 0)
        return -1;
    if (me.ss_family == AF_INET) {
        struct sockaddr_in *s4 = (struct sockaddr_in *)&me;
        inet_ntop(AF_INET, &s4->sin_addr, ip, sizeof(ip));
        snprintf(c->local, sizeof(c->local), "%s:%u", ip, ntohs(s4->sin_port));
    } else {
        struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&me;
        inet_ntop(AF_INET6, &s6->sin6_addr, ip, sizeof(ip));
        snprintf(c->local, sizeof(c->local), "[%s]:%u", ip, ntohs(s6->sin6_port));
    }
    return 0;
}

static void pp_client_send(struct pp_client *c, unsigned seq)
{
    char msg[1024];
    unsigned pid = (unsigned)getpid();
    int n = snprintf(msg, sizeof(msg),
                     "OPTIONS sip:%s SIP/2.0\r\n"
                     "Via: SIP/2.0/UDP %s;branch=z9hG4bK-pp%u-%u\r\n"
                     "Max-Forwards: 70\r\n"
                     "From: <sip:pair_probe@%s>;tag=pp%u\r\n"
                     "To: <sip:%s>\r\n"
                     "Call-ID: pp%u-%u@pair_probe\r\n"
                     "CSeq: %u OPTIONS\r\n"
                     "Content-Length: 0\r\n\r\n",
                     c->uri_host, c->local, pid, seq, c->local, pid, c->uri_host, pid, seq, seq);
    /* a refused send (ICMP from an earlier request, no route yet) is an unanswered request */
    if (n > 0 && send(c->fd, msg, (size_t)n, 0) == n)
        c->sent++;
}

/* The value of header `name` (or its compact form) in a SIP message, trimmed. */
static bool pp_sip_header(const char *m, size_t len, const char *name, const char *compact,
                          char *out, size_t room)
{
    for (size_t i = 0; i < len; i++) {
        if (i && m[i - 1] != '\n')
            continue;
        size_t nl = 0;
        if (len - i > strlen(name) && strncasecmp(m + i, name, strlen(name)) == 0)
            nl = strlen(name);
        else if (compact && len - i > strlen(compact) && strncasecmp(m + i, compact, strlen(compact)) == 0)
            nl = strlen(compact);
        size_t j = i + nl;
        while (nl && j < len && (m[j] == ' ' || m[j] == '\t'))
            j++;
        if (!nl || j >= len || m[j] != ':')
            continue;
        j++;
        while (j < len && (m[j] == ' ' || m[j] == '\t'))
            j++;
        size_t w = 0;
        while (j < len && m[j] != '\r' && m[j] != '\n' && w + 1 < room)
            out[w++] = m[j++];
        while (w && (out[w - 1] == ' ' || out[w - 1] == '\t'))
            w--;
        out[w] = '\0';
        return true;
    }
    return false;
}

/* Reads every queued answer; the first answer to the current sample's request names
 * the sample's ANS; a change of answering host is an event. */
static void pp_client_read(struct pp_state *s)
{
    struct pp_client *c = &s->cli;
    char buf[4096], val[128], name[PP_NAME_LEN];
    for (int k = 0; k < 64; k++) {
        ssize_t n = recv(c->fd, buf, sizeof(buf) - 1, 0);
        if (n < 0)
            return; /* EAGAIN, or an ICMP error for an earlier request */
        buf[n] = '\0';
        unsigned pid, seq;
        if (n < 12 || strncmp(buf, "SIP/2.0 200", 11) != 0 ||
            !pp_sip_header(buf, (size_t)n, "Call-ID", "i", val, sizeof(val)) ||
            sscanf(val, "pp%u-%u@", &pid, &seq) != 2 || pid != (unsigned)getpid()) {
            c->foreign++;
            continue;
        }
        if (!pp_sip_header(buf, (size_t)n, "Server", NULL, val, sizeof(val)) || !val[0])
            snprintf(val, sizeof(val), "?");
        size_t w = 0;
        while (val[w] && val[w] != ' ' && w + 1 < sizeof(name)) {
            name[w] = val[w];
            w++;
        }
        name[w] = '\0';
        if (strcmp(name, c->last_answerer) != 0) {
            pp_event(s, "answer %s %u", name, seq);
            snprintf(c->last_answerer, sizeof(c->last_answerer), "%s", name);
        }
        if (s->have_cur && seq == s->cur.seq && !s->cur.ans[0]) {
            snprintf(s->cur.ans, sizeof(s->cur.ans), "%s", name);
            c->answered++;
        } else
            c->late++;
    }
}

/* ------------------------------------------------------------------ setup */

static int pp_host_setup(struct pp_state *s, int idx, int saved)
{
    struct pp_host *h = &s->host[idx];
    h->label = (char)('a' + idx);
    if (pp_ns_enter(s->o.ns[idx]) < 0)
        return -1;
    int rc = -1;
    h->ifindex = if_nametoindex(s->o.ifname);
    if (!h->ifindex)
        fprintf(stderr, "pair_probe: no interface %s in %s\n", s->o.ifname, s->o.ns[idx]);
    else if (!(h->nl = pp_nl_open(RTMGRP_LINK | RTMGRP_IPV4_IFADDR | RTMGRP_IPV6_IFADDR)))
        fprintf(stderr, "pair_probe: rtnetlink in %s: %s\n", s->o.ns[idx], strerror(errno));
    else if (s->o.role_oid[idx] && !(h->snmp = pp_snmp_open(&s->o, s->o.period_ms)))
        fprintf(stderr, "pair_probe: cannot open an SNMP session in %s\n", s->o.ns[idx]);
    else
        rc = 0;
    if (pp_ns_restore(saved) < 0)
        return -1;
    if (rc < 0)
        return -1;
    if (s->o.role_oid[idx] && pp_parse_oid(s->o.role_oid[idx], h->role_oid, &h->role_oid_len) < 0) {
        fprintf(stderr, "pair_probe: -%c %s: expected a numeric OID\n", "AB"[idx], s->o.role_oid[idx]);
        return -1;
    }
    if (pp_nl_request(h->nl, RTM_GETLINK, NLM_F_ACK, AF_UNSPEC, h->ifindex) < 0 || pp_nl_wait_done(s, h, NULL, NULL) < 0 ||
        pp_nl_request(h->nl, RTM_GETADDR, NLM_F_DUMP, s->vip.family, 0) < 0 || pp_nl_wait_done(s, h, NULL, NULL) < 0) {
        fprintf(stderr, "pair_probe: rtnetlink dump in %s failed\n", s->o.ns[idx]);
        return -1;
    }
    return 0;
}

static int pp_client_setup(struct pp_state *s, int saved)
{
    if (pp_ns_enter(s->o.ns[2]) < 0)
        return -1;
    int rc = pp_client_open(&s->cli);
    if (rc == 0 && !(s->cli.nl = pp_nl_open(0))) {
        fprintf(stderr, "pair_probe: rtnetlink in %s: %s\n", s->o.ns[2], strerror(errno));
        rc = -1;
    }
    if (pp_ns_restore(saved) < 0)
        return -1;
    return rc;
}

static void pp_snmp_init(void)
{
    /* the probe reads no snmp.conf, no MIB, keeps no persistent state */
    setenv("MIBS", "", 1);
    netsnmp_ds_set_boolean(NETSNMP_DS_LIBRARY_ID, NETSNMP_DS_LIB_DONT_READ_CONFIGS, 1);
    netsnmp_ds_set_boolean(NETSNMP_DS_LIBRARY_ID, NETSNMP_DS_LIB_DONT_PERSIST_STATE, 1);
    netsnmp_ds_set_boolean(NETSNMP_DS_LIBRARY_ID, NETSNMP_DS_LIB_DISABLE_PERSISTENT_LOAD, 1);
    netsnmp_ds_set_boolean(NETSNMP_DS_LIBRARY_ID, NETSNMP_DS_LIB_DISABLE_PERSISTENT_SAVE, 1);
    netsnmp_ds_set_boolean(NETSNMP_DS_LIBRARY_ID, NETSNMP_DS_LIB_DONT_LOAD_HOST_FILES, 1);
    init_snmp("pair_probe");
}

/* ------------------------------------------------------------------ the footer */

struct pp_neigh_ctx {
    struct pp_state *s;
    bool found;
};

static const char *pp_nud_name(unsigned st)
{
    static const struct { unsigned v; const char *n; } t[] = {
        { NUD_INCOMPLETE, "INCOMPLETE" }, { NUD_REACHABLE, "REACHABLE" }, { NUD_STALE, "STALE" },
        { NUD_DELAY, "DELAY" }, { NUD_PROBE, "PROBE" }, { NUD_FAILED, "FAILED" },
        { NUD_NOARP, "NOARP" }, { NUD_PERMANENT, "PERMANENT" }, { NUD_NONE, "NONE" },
    };
    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
        if (st == t[i].v)
            return t[i].n;
    return "OTHER";
}

static int pp_neigh_cb(const struct nlmsghdr *nlh, void *data)
{
    struct pp_neigh_ctx *c = data;
    if (nlh->nlmsg_type != RTM_NEWNEIGH || mnl_nlmsg_get_payload_len(nlh) < sizeof(struct ndmsg))
        return MNL_CB_OK;
    const struct ndmsg *nd = mnl_nlmsg_get_payload(nlh);
    const struct nlattr *attr, *dst = NULL, *ll = NULL;
    mnl_attr_for_each(attr, nlh, sizeof(*nd)) {
        if (mnl_attr_get_type(attr) == NDA_DST)
            dst = attr;
        else if (mnl_attr_get_type(attr) == NDA_LLADDR)
            ll = attr;
    }
    size_t n = pp_addr_len(c->s->vip.family);
    if (!dst || mnl_attr_get_payload_len(dst) != n || memcmp(mnl_attr_get_payload(dst), c->s->vip.bytes, n))
        return MNL_CB_OK;
    char mac[96] = "-";
    if (ll)
        pp_mac_text(mnl_attr_get_payload(ll), mnl_attr_get_payload_len(ll), mac, sizeof(mac));
    fprintf(c->s->out, "# neigh c %s lladdr %s state %s ifindex %d\n", c->s->o.vip, mac,
            pp_nud_name(nd->ndm_state), nd->ndm_ifindex);
    c->found = true;
    return MNL_CB_OK;
}

static void pp_footer(struct pp_state *s)
{
    fprintf(s->out, "# end t_ms=%.3f samples=%llu skipped=%llu sent=%llu answered=%llu late=%llu foreign=%llu\n",
            pp_clock_ms(CLOCK_MONOTONIC) - s->t0_mono, s->samples, s->skipped, s->cli.sent, s->cli.answered,
            s->cli.late, s->cli.foreign);
    for (int i = 0; i < 2; i++) {
        struct pp_host *h = &s->host[i];
        pp_nl_request(h->nl, RTM_GETLINK, NLM_F_ACK, AF_UNSPEC, h->ifindex);
        pp_nl_wait_done(s, h, NULL, NULL);
        fprintf(s->out, "# mac %c %s %s vip=%d link=%c\n", h->label, h->mac[0] ? h->mac : "-", s->o.ifname,
                h->vip, pp_link_char(h->link_known, h->link_up));
    }
    struct pp_neigh_ctx nc = { s, false };
    if (pp_nl_request(s->cli.nl, RTM_GETNEIGH, NLM_F_DUMP, s->vip.family, 0) == 0)
        pp_nl_wait_done(s, NULL, pp_neigh_cb, &nc);
    if (!nc.found)
        fprintf(s->out, "# neigh c %s lladdr - state ABSENT ifindex 0\n", s->o.vip);
}

/* ------------------------------------------------------------------ the loop */

/* the answers (or "?") of the sample's GETs, as they stand when the sample closes */
static void pp_copy_roles(struct pp_state *s)
{
    for (int i = 0; i < 2; i++)
        memcpy(s->cur.role[i], s->host[i].role, sizeof(s->cur.role[i]));
}

static void pp_sample_start(struct pp_state *s, double mono)
{
    if (s->have_cur) {
        pp_copy_roles(s);
        pp_emit_sample(s, &s->cur);
    }
    struct pp_sample *x = &s->cur;
    memset(x, 0, sizeof(*x));
    x->t_ms = mono - s->t0_mono;
    x->rt_ms = pp_clock_ms(CLOCK_REALTIME);
    for (int i = 0; i < 2; i++) {
        x->vip[i] = s->host[i].vip;
        x->link_up[i] = s->host[i].link_up;
        x->link_known[i] = s->host[i].link_known;
    }
    if (pp_mark) {
        pp_mark = 0;
        x->mark = true;
        pp_event(s, "mark");
    }
    /* both GETs leave before either answer is awaited */
    pp_snmp_send(&s->host[0]);
    pp_snmp_send(&s->host[1]);
    x->seq = ++s->cli.next_seq;
    pp_client_send(&s->cli, x->seq);
    s->have_cur = true;
    s->samples++;
}

static void pp_loop(struct pp_state *s, const sigset_t *waitmask)
{
    double period = s->o.period_ms, end = s->t0_mono + s->o.duration_s * 1000.0, next = s->t0_mono;
    while (!pp_stop) {
        double now = pp_clock_ms(CLOCK_MONOTONIC);
        if (now >= end)
            break;
        if (now >= next) {
            pp_sample_start(s, now);
            next += period;
            while (next <= now) { /* a stall: skip the samples it swallowed, no burst */
                next += period;
                s->skipped++;
            }
        }
        fd_set fds;
        FD_ZERO(&fds);
        int maxfd = s->cli.fd;
        FD_SET(s->cli.fd, &fds);
        double wait = (next < end ? next : end) - now;
        for (int i = 0; i < 2; i++) {
            int nfd = mnl_socket_get_fd(s->host[i].nl);
            FD_SET(nfd, &fds);
            maxfd = nfd > maxfd ? nfd : maxfd;
            if (s->host[i].snmp) {
                int numfds = 0, block = 1;
                struct timeval tv = { 0, 0 };
                snmp_sess_select_info(s->host[i].snmp, &numfds, &fds, &tv, &block);
                maxfd = numfds - 1 > maxfd ? numfds - 1 : maxfd;
                double t = (double)tv.tv_sec * 1000.0 + (double)tv.tv_usec / 1000.0;
                if (!block && t < wait)
                    wait = t;
            }
        }
        if (wait < 0)
            wait = 0;
        struct timespec ts = { (time_t)(wait / 1000.0), (long)((wait - (double)(long)(wait / 1000.0) * 1000.0) * 1e6) };
        int n = pselect(maxfd + 1, &fds, NULL, NULL, &ts, waitmask);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            fprintf(stderr, "pair_probe: select: %s\n", strerror(errno));
            break;
        }
        for (int i = 0; i < 2; i++) {
            if (FD_ISSET(mnl_socket_get_fd(s->host[i].nl), &fds))
                pp_nl_drain(s, &s->host[i], NULL, NULL);
            if (s->host[i].snmp) {
                if (n > 0)
                    snmp_sess_read(s->host[i].snmp, &fds);
                snmp_sess_timeout(s->host[i].snmp);
            }
        }
        if (FD_ISSET(s->cli.fd, &fds))
            pp_client_read(s);
    }
    if (s->have_cur) {
        pp_copy_roles(s);
        pp_emit_sample(s, &s->cur);
    }
}

static void pp_close(struct pp_state *s)
{
    for (int i = 0; i < 2; i++) {
        if (s->host[i].snmp)
            snmp_sess_close(s->host[i].snmp);
        if (s->host[i].nl)
            mnl_socket_close(s->host[i].nl);
    }
    if (s->cli.nl)
        mnl_socket_close(s->cli.nl);
    if (s->cli.fd >= 0)
        close(s->cli.fd);
    if (s->out && s->out != stdout)
        fclose(s->out);
}

int main(int argc, char **argv)
{
    static struct pp_state s;
    s.cli.fd = -1;
    if (pp_parse_opts(argc, argv, &s.o) < 0)
        return 2;
    if (pp_parse_addr(s.o.vip, &s.vip) < 0) {
        fprintf(stderr, "pair_probe: -v %s: not an IPv4 or IPv6 address\n", s.o.vip);
        return 2;
    }
    char deftarget[INET6_ADDRSTRLEN + 10];
    if (!s.o.target) {
        snprintf(deftarget, sizeof(deftarget), s.vip.family == AF_INET6 ? "[%s]:5060" : "%s:5060", s.o.vip);
        s.o.target = deftarget;
    }
    if (pp_parse_target(s.o.target, &s.cli) < 0) {
        fprintf(stderr, "pair_probe: -t %s: expected ADDR:PORT or [ADDR6]:PORT\n", s.o.target);
        return 2;
    }
    int saved = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
    if (saved < 0) {
        fprintf(stderr, "pair_probe: /proc/self/ns/net: %s\n", strerror(errno));
        return 1;
    }
    s.out = stdout;
    if (s.o.outfile && !(s.out = fopen(s.o.outfile, "w"))) {
        fprintf(stderr, "pair_probe: %s: %s\n", s.o.outfile, strerror(errno));
        return 1;
    }
    setvbuf(s.out, NULL, _IOLBF, 0);
    /* signals are taken only inside pselect, so none is lost between check and wait */
    sigset_t block, orig;
    sigemptyset(&block);
    sigaddset(&block, SIGINT);
    sigaddset(&block, SIGTERM);
    sigaddset(&block, SIGUSR1);
    sigprocmask(SIG_BLOCK, &block, &orig);
    struct sigaction sa = { .sa_handler = pp_on_stop };
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sa.sa_handler = pp_on_mark;
    sigaction(SIGUSR1, &sa, NULL);
    sigdelset(&orig, SIGINT);
    sigdelset(&orig, SIGTERM);
    sigdelset(&orig, SIGUSR1);

    pp_snmp_init();
    s.t0_mono = pp_clock_ms(CLOCK_MONOTONIC);
    fprintf(s.out, "# pair_probe a=%s b=%s c=%s vip=%s if=%s target=%s period_ms=%d duration_s=%d role_a=%s role_b=%s\n",
            s.o.ns[0], s.o.ns[1], s.o.ns[2], s.o.vip, s.o.ifname, s.o.target, s.o.period_ms, s.o.duration_s,
            s.o.role_oid[0] ? s.o.role_oid[0] : "-", s.o.role_oid[1] ? s.o.role_oid[1] : "-");
    int rc = 1;
    if (pp_host_setup(&s, 0, saved) == 0 && pp_host_setup(&s, 1, saved) == 0 && pp_client_setup(&s, saved) == 0) {
        fprintf(s.out, "# initial a vip=%d link=%c mac=%s; b vip=%d link=%c mac=%s; client %s\n", s.host[0].vip,
                pp_link_char(s.host[0].link_known, s.host[0].link_up), s.host[0].mac, s.host[1].vip,
                pp_link_char(s.host[1].link_known, s.host[1].link_up), s.host[1].mac, s.cli.local);
        s.t0_mono = pp_clock_ms(CLOCK_MONOTONIC);
        fprintf(s.out, "# start mono_ms=%.3f rt_ms=%.3f\n", s.t0_mono, pp_clock_ms(CLOCK_REALTIME));
        fprintf(s.out, "# columns: t_ms rt_ms role_a role_b vip_a vip_b ans mark link_a link_b\n");
        s.live = true;
        pp_loop(&s, &orig);
        pp_footer(&s);
        rc = 0;
    }
    close(saved);
    pp_close(&s);
    return rc;
}
