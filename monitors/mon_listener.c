/* mon_listener.c — SIP listener presence through sock_diag (inet_diag), polled.
 *
 * A poll is a short sequence of dumps on one non-blocking NETLINK_SOCK_DIAG socket:
 * UDP (and TCP when configured) for AF_INET and/or AF_INET6, one after the other, each
 * filtered in the kernel by a bytecode "local port == P" so that a host with many
 * sockets sends us only the few that matter. The address is checked here, because
 * the wildcard and dual-stack cases need the V6ONLY flag of each socket. */
#include <errno.h>
#include <linux/inet_diag.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <libmnl/libmnl.h>

#include "mon_listener.h"

#define ML_BUF_SIZE 32768
#define ML_DEFAULT_INTERVAL_MS 1000
#define ML_STALE_POLLS 3          /* a poll unanswered for this many intervals is dropped */
#define ML_READS_PER_WAKEUP 32
#define ML_MAX_STEPS 4

/* Socket states as the kernel numbers them (include/net/tcp_states.h). */
#define ML_STATE_CLOSE 7          /* an unconnected UDP socket */
#define ML_STATE_LISTEN 10

struct ml_step {
    uint8_t family;
    uint8_t protocol;
};

struct mon_listener {
    struct loop *lp;
    struct mnl_socket *sock;
    int fd;
    unsigned portid;
    mon_emit_fn emit;
    void *ctx;
    struct sipha_addr addr;
    uint16_t port;
    bool tcp;
    uint32_t interval_ms;
    uint64_t ignore_inode;

    struct ml_step steps[ML_MAX_STEPS];
    size_t nsteps;

    /* the poll in progress */
    bool busy;
    size_t step;
    uint32_t seq;
    uint64_t started_ms;
    bool found_udp, found_tcp;

    bool known, bound;            /* what was last reported */
    uint64_t timer;
    struct mon_listener_stats st;
    char buf[ML_BUF_SIZE];
};

/* --- matching one socket --- */

static bool is_zero(const uint8_t *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (b[i])
            return false;
    return true;
}

static bool v4_mapped(const uint8_t *b, const uint8_t *v4)
{
    static const uint8_t prefix[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
    return memcmp(b, prefix, 12) == 0 && memcmp(b + 12, v4, 4) == 0;
}

static bool addr_matches(const struct mon_listener *ml, uint8_t family, const uint8_t *src,
                         bool v6only)
{
    const struct sipha_addr *a = &ml->addr;
    if (a->family == 0)
        return true;
    if (family == AF_INET)
        return a->family == 4 && (is_zero(src, 4) || memcmp(src, a->bytes, 4) == 0);
    if (a->family == 6)
        return is_zero(src, 16) || memcmp(src, a->bytes, 16) == 0;
    return (is_zero(src, 16) && !v6only) || v4_mapped(src, a->bytes);
}

struct v6only_scan {
    bool v6only;
};

static int attr_cb(const struct nlattr *attr, void *data)
{
    struct v6only_scan *s = data;
    if (mnl_attr_get_type(attr) == INET_DIAG_SKV6ONLY && mnl_attr_get_payload_len(attr) >= 1)
        s->v6only = mnl_attr_get_u8(attr) != 0;
    return MNL_CB_OK;
}

static void on_socket(struct mon_listener *ml, const struct nlmsghdr *nlh)
{
    if (mnl_nlmsg_get_payload_len(nlh) < sizeof(struct inet_diag_msg))
        return;
    const struct inet_diag_msg *m = mnl_nlmsg_get_payload(nlh);
    if (ntohs(m->id.idiag_sport) != ml->port)
        return;
    if (ml->ignore_inode && m->idiag_inode == ml->ignore_inode)
        return;
    struct v6only_scan s = { false };
    (void)mnl_attr_parse(nlh, sizeof(*m), attr_cb, &s);
    const struct ml_step *st = &ml->steps[ml->step];
    bool want_state = st->protocol == IPPROTO_UDP ? m->idiag_state == ML_STATE_CLOSE
                                                  : m->idiag_state == ML_STATE_LISTEN;
    if (!want_state || !addr_matches(ml, m->idiag_family, (const uint8_t *)m->id.idiag_src, s.v6only))
        return;
    if (st->protocol == IPPROTO_UDP)
        ml->found_udp = true;
    else
        ml->found_tcp = true;
}

/* --- one poll --- */

/* Bytecode "sport >= P && sport <= P". Each port test is two ops (the second holds the
 * port in `no`); a test that fails jumps 4 bytes past the end, which rejects. */
static void put_port_filter(struct nlmsghdr *h, uint16_t port)
{
    struct inet_diag_bc_op ops[4] = {
        { INET_DIAG_BC_S_GE, 8, 20 }, { 0, 0, port },
        { INET_DIAG_BC_S_LE, 8, 12 }, { 0, 0, port },
    };
    mnl_attr_put(h, INET_DIAG_REQ_BYTECODE, sizeof(ops), ops);
}

static int send_step(struct mon_listener *ml)
{
    char b[256];
    const struct ml_step *st = &ml->steps[ml->step];
    struct nlmsghdr *h = mnl_nlmsg_put_header(b);
    h->nlmsg_type = SOCK_DIAG_BY_FAMILY;
    h->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
    h->nlmsg_seq = ++ml->seq;
    struct inet_diag_req_v2 *r = mnl_nlmsg_put_extra_header(h, sizeof(*r));
    r->sdiag_family = st->family;
    r->sdiag_protocol = st->protocol;
    r->idiag_states = 1u << (st->protocol == IPPROTO_UDP ? ML_STATE_CLOSE : ML_STATE_LISTEN);
    put_port_filter(h, ml->port);
    return mnl_socket_sendto(ml->sock, h, h->nlmsg_len) < 0 ? -1 : 0;
}

static void poll_failed(struct mon_listener *ml, int e)
{
    ml->busy = false;
    ml->st.errors++;
    ml->st.last_errno = e;
}

static void poll_done(struct mon_listener *ml)
{
    ml->busy = false;
    ml->st.polls++;
    bool bound = ml->found_udp && (!ml->tcp || ml->found_tcp);
    if (ml->known && bound == ml->bound)
        return;
    ml->known = true;
    ml->bound = bound;
    struct mon_event ev = { .kind = MON_LISTENER };
    ev.u.listener.bound = bound;
    ml->emit(ml->ctx, &ev);
}

static void step_done(struct mon_listener *ml)
{
    if (++ml->step == ml->nsteps) {
        poll_done(ml);
        return;
    }
    if (send_step(ml) < 0)
        poll_failed(ml, errno);
}

static void start_poll(struct mon_listener *ml)
{
    ml->busy = true;
    ml->step = 0;
    ml->found_udp = ml->found_tcp = false;
    ml->started_ms = loop_now(ml->lp);
    if (send_step(ml) < 0)
        poll_failed(ml, errno);
}

static void tick(void *arg)
{
    struct mon_listener *ml = arg;
    ml->timer = loop_timer_add(ml->lp, ml->interval_ms, tick, ml);
    if (ml->busy) {
        if (loop_now(ml->lp) - ml->started_ms < (uint64_t)ml->interval_ms * ML_STALE_POLLS)
            return;
        poll_failed(ml, ETIMEDOUT); /* answers lost: start afresh (new sequence number) */
    }
    start_poll(ml);
}

static void on_message(struct mon_listener *ml, const struct nlmsghdr *nlh)
{
    if (!ml->busy || nlh->nlmsg_seq != ml->seq || nlh->nlmsg_pid != ml->portid)
        return; /* a late answer of an abandoned poll */
    if (nlh->nlmsg_type == NLMSG_DONE) {
        step_done(ml);
    } else if (nlh->nlmsg_type == NLMSG_ERROR) {
        const struct nlmsgerr *e = mnl_nlmsg_get_payload(nlh);
        if (mnl_nlmsg_get_payload_len(nlh) >= sizeof(*e) && e->error != 0)
            poll_failed(ml, -e->error);
    } else if (nlh->nlmsg_type == SOCK_DIAG_BY_FAMILY) {
        on_socket(ml, nlh);
    }
}

static void readable(int fd, unsigned events, void *arg)
{
    struct mon_listener *ml = arg;
    (void)fd;
    (void)events;
    for (int i = 0; i < ML_READS_PER_WAKEUP; i++) {
        ssize_t n = mnl_socket_recvfrom(ml->sock, ml->buf, sizeof(ml->buf));
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno != EAGAIN && errno != EWOULDBLOCK && ml->busy)
                poll_failed(ml, errno);
            return;
        }
        int len = (int)n;
        for (const struct nlmsghdr *h = (const void *)ml->buf; mnl_nlmsg_ok(h, len);
             h = mnl_nlmsg_next(h, &len))
            on_message(ml, h);
    }
}

/* --- open / close --- */

static void plan_steps(struct mon_listener *ml)
{
    uint8_t fams[2];
    size_t nf = 0;
    if (ml->addr.family != 6)
        fams[nf++] = AF_INET;
    fams[nf++] = AF_INET6; /* also for IPv4: a dual-stack [::] socket serves it */
    for (size_t i = 0; i < nf; i++)
        ml->steps[ml->nsteps++] = (struct ml_step){ fams[i], IPPROTO_UDP };
    for (size_t i = 0; ml->tcp && i < nf; i++)
        ml->steps[ml->nsteps++] = (struct ml_step){ fams[i], IPPROTO_TCP };
}

static int check_config(const struct mon_listener_config *cfg, char *err, size_t errlen)
{
    if (!cfg || cfg->port == 0) {
        snprintf(err, errlen, "listener monitor: port must be 1..65535");
        return -1;
    }
    if (cfg->addr.family != 0 && cfg->addr.family != 4 && cfg->addr.family != 6) {
        snprintf(err, errlen, "listener monitor: bad address family %u", cfg->addr.family);
        return -1;
    }
    return 0;
}

int mon_listener_open(struct mon_listener **out, struct loop *lp,
                      const struct mon_listener_config *cfg, mon_emit_fn emit, void *ctx,
                      char *err, size_t errlen)
{
    if (check_config(cfg, err, errlen) < 0)
        return -1;
    if (!emit) {
        snprintf(err, errlen, "listener monitor: no emit callback");
        return -1;
    }
    struct mon_listener *ml = calloc(1, sizeof(*ml));
    if (!ml) {
        snprintf(err, errlen, "listener monitor: out of memory");
        return -1;
    }
    *ml = (struct mon_listener){ .lp = lp, .emit = emit, .ctx = ctx, .addr = cfg->addr,
                                 .port = cfg->port, .tcp = cfg->tcp,
                                 .interval_ms = cfg->interval_ms ? cfg->interval_ms
                                                                 : ML_DEFAULT_INTERVAL_MS };
    plan_steps(ml);
    const char *what = "socket(NETLINK_SOCK_DIAG)";
    ml->sock = mnl_socket_open2(NETLINK_SOCK_DIAG, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (ml->sock) {
        what = "bind";
        if (mnl_socket_bind(ml->sock, 0, MNL_SOCKET_AUTOPID) == 0) {
            ml->fd = mnl_socket_get_fd(ml->sock);
            ml->portid = mnl_socket_get_portid(ml->sock);
            what = "loop_watch_fd";
            if (loop_watch_fd(lp, ml->fd, LOOP_READ, readable, ml) == 0) {
                ml->timer = loop_timer_add(lp, 0, tick, ml); /* first poll at once */
                *out = ml;
                return 0;
            }
        }
        snprintf(err, errlen, "listener monitor: %s: %s", what, strerror(errno));
        mnl_socket_close(ml->sock);
    } else {
        snprintf(err, errlen, "listener monitor: %s: %s", what, strerror(errno));
    }
    free(ml);
    return -1;
}

void mon_listener_close(struct mon_listener *ml)
{
    if (!ml)
        return;
    if (ml->timer)
        loop_timer_cancel(ml->lp, ml->timer);
    loop_unwatch_fd(ml->lp, ml->fd);
    mnl_socket_close(ml->sock);
    free(ml);
}

void mon_listener_ignore_inode(struct mon_listener *ml, uint64_t inode)
{
    ml->ignore_inode = inode;
}

void mon_listener_get_stats(const struct mon_listener *ml, struct mon_listener_stats *st)
{
    *st = ml->st;
}
