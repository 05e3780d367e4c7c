/* loop.c — poll(2) loop that merges Net-SNMP's sockets and alarms with sipha's own
 * fds and timers.
 *
 * Net-SNMP's descriptor set is re-read with snmp_select_info2() on every iteration:
 * its sockets change when the AgentX session reconnects, and a closed fd number may be
 * reused by the new session, so nothing about them is cached between iterations. */
#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <net-snmp/net-snmp-config.h>
#include <net-snmp/net-snmp-includes.h>
#include <net-snmp/agent/net-snmp-agent-includes.h>
#include <net-snmp/library/large_fd_set.h>

#include "loop.h"

struct loop_fd {
    int fd;
    unsigned events;
    loop_fd_cb cb;
    void *arg;
};

struct loop_timer {
    uint64_t id, due;
    loop_timer_cb cb;
    void *arg;
};

struct loop {
    struct loop_fd *fds;
    size_t nfds, capfds;
    struct loop_timer *timers; /* binary min-heap on `due` */
    size_t ntimers, captimers;
    uint64_t next_timer_id;
    bool stop;
    void (*idle)(void *arg);
    void *idle_arg;
    struct pollfd *pfds;
    size_t cappfds;
};

uint64_t loop_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

struct loop *loop_new(void)
{
    struct loop *lp = calloc(1, sizeof(*lp));
    if (lp)
        lp->next_timer_id = 1;
    return lp;
}

void loop_free(struct loop *lp)
{
    if (!lp)
        return;
    free(lp->fds);
    free(lp->timers);
    free(lp->pfds);
    free(lp);
}

static struct loop_fd *fd_slot(struct loop *lp, int fd)
{
    for (size_t i = 0; i < lp->nfds; i++)
        if (lp->fds[i].fd == fd)
            return &lp->fds[i];
    return NULL;
}

int loop_watch_fd(struct loop *lp, int fd, unsigned events, loop_fd_cb cb, void *arg)
{
    struct loop_fd *s = fd_slot(lp, fd);
    if (!s) {
        if (lp->nfds == lp->capfds) {
            size_t cap = lp->capfds ? lp->capfds * 2 : 8;
            struct loop_fd *n = realloc(lp->fds, cap * sizeof(*n));
            if (!n)
                return -1;
            lp->fds = n;
            lp->capfds = cap;
        }
        s = &lp->fds[lp->nfds++];
    }
    *s = (struct loop_fd){ .fd = fd, .events = events, .cb = cb, .arg = arg };
    return 0;
}

void loop_unwatch_fd(struct loop *lp, int fd)
{
    for (size_t i = 0; i < lp->nfds; i++) {
        if (lp->fds[i].fd == fd) {
            lp->fds[i] = lp->fds[--lp->nfds];
            return;
        }
    }
}

/* --- timers: a binary heap keyed on due time --- */

static void heap_swap(struct loop_timer *a, struct loop_timer *b)
{
    struct loop_timer t = *a;
    *a = *b;
    *b = t;
}

static void heap_up(struct loop_timer *h, size_t i)
{
    while (i > 0 && h[(i - 1) / 2].due > h[i].due) {
        heap_swap(&h[(i - 1) / 2], &h[i]);
        i = (i - 1) / 2;
    }
}

static void heap_down(struct loop_timer *h, size_t n, size_t i)
{
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < n && h[l].due < h[m].due)
            m = l;
        if (r < n && h[r].due < h[m].due)
            m = r;
        if (m == i)
            return;
        heap_swap(&h[m], &h[i]);
        i = m;
    }
}

static void heap_remove_at(struct loop *lp, size_t i)
{
    lp->timers[i] = lp->timers[--lp->ntimers];
    if (i < lp->ntimers) {
        heap_down(lp->timers, lp->ntimers, i);
        heap_up(lp->timers, i);
    }
}

uint64_t loop_timer_add(struct loop *lp, uint64_t delay_ms, loop_timer_cb cb, void *arg)
{
    if (lp->ntimers == lp->captimers) {
        size_t cap = lp->captimers ? lp->captimers * 2 : 16;
        struct loop_timer *n = realloc(lp->timers, cap * sizeof(*n));
        if (!n)
            return 0;
        lp->timers = n;
        lp->captimers = cap;
    }
    uint64_t id = lp->next_timer_id++;
    lp->timers[lp->ntimers] = (struct loop_timer){ id, loop_now_ms() + delay_ms, cb, arg };
    heap_up(lp->timers, lp->ntimers++);
    return id;
}

void loop_timer_cancel(struct loop *lp, uint64_t id)
{
    for (size_t i = 0; i < lp->ntimers; i++) {
        if (lp->timers[i].id == id) {
            heap_remove_at(lp, i);
            return;
        }
    }
}

static void run_due_timers(struct loop *lp)
{
    uint64_t now = loop_now_ms();
    while (lp->ntimers > 0 && lp->timers[0].due <= now) {
        struct loop_timer t = lp->timers[0];
        heap_remove_at(lp, 0);
        t.cb(t.arg); /* may add or cancel timers */
    }
}

/* --- the loop --- */

static int ensure_pfds(struct loop *lp, size_t n)
{
    if (n <= lp->cappfds)
        return 0;
    struct pollfd *p = realloc(lp->pfds, n * sizeof(*p));
    if (!p)
        return -1;
    lp->pfds = p;
    lp->cappfds = n;
    return 0;
}

/* Fills pfds with Net-SNMP's fds first (readable only), then ours; returns the count
 * of Net-SNMP entries through *n_snmp and the poll timeout in ms. */
static int build_poll_set(struct loop *lp, size_t *n_snmp, size_t *n_total)
{
    netsnmp_large_fd_set rset;
    int maxfd = 0, block = 1;
    struct timeval tv = { 0, 0 };

    netsnmp_large_fd_set_init(&rset, FD_SETSIZE);
    snmp_select_info2(&maxfd, &rset, &tv, &block);

    size_t n = 0;
    if (ensure_pfds(lp, (size_t)maxfd + lp->nfds + 1) < 0) {
        netsnmp_large_fd_set_cleanup(&rset);
        return -1;
    }
    for (int fd = 0; fd < maxfd; fd++)
        if (NETSNMP_LARGE_FD_ISSET(fd, &rset))
            lp->pfds[n++] = (struct pollfd){ .fd = fd, .events = POLLIN };
    netsnmp_large_fd_set_cleanup(&rset);
    *n_snmp = n;
    for (size_t i = 0; i < lp->nfds; i++) {
        short ev = 0;
        if (lp->fds[i].events & LOOP_READ)
            ev |= POLLIN;
        if (lp->fds[i].events & LOOP_WRITE)
            ev |= POLLOUT;
        lp->pfds[n++] = (struct pollfd){ .fd = ev ? lp->fds[i].fd : -1, .events = ev };
    }
    *n_total = n;

    int64_t timeout = block ? -1 : (int64_t)tv.tv_sec * 1000 + (tv.tv_usec + 999) / 1000;
    if (lp->ntimers > 0) {
        uint64_t now = loop_now_ms();
        int64_t t = lp->timers[0].due > now ? (int64_t)(lp->timers[0].due - now) : 0;
        if (timeout < 0 || t < timeout)
            timeout = t;
    }
    /* Signals interrupt poll (EINTR) and their flags are then seen at once; the cap
     * only bounds the delay of one arriving between the idle check and poll. */
    if (timeout < 0 || timeout > 5000)
        timeout = 5000;
    return (int)timeout;
}

static void dispatch_snmp(struct loop *lp, size_t n_snmp)
{
    netsnmp_large_fd_set rset;
    netsnmp_large_fd_set_init(&rset, FD_SETSIZE);
    bool any = false;
    for (size_t i = 0; i < n_snmp; i++) {
        if (lp->pfds[i].revents & (POLLIN | POLLHUP | POLLERR)) {
            NETSNMP_LARGE_FD_SET(lp->pfds[i].fd, &rset);
            any = true;
        }
    }
    if (any)
        snmp_read2(&rset);
    else
        snmp_timeout();
    netsnmp_large_fd_set_cleanup(&rset);
}

/* Our fds: callbacks may unwatch fds, so each is looked up again before its call. */
static void dispatch_own(struct loop *lp, size_t from, size_t to)
{
    for (size_t i = from; i < to; i++) {
        struct pollfd p = lp->pfds[i];
        if (p.fd < 0 || !p.revents)
            continue;
        struct loop_fd *s = fd_slot(lp, p.fd);
        if (!s)
            continue;
        unsigned ev = 0;
        if (p.revents & (POLLIN | POLLHUP | POLLERR))
            ev |= LOOP_READ;
        if (p.revents & POLLOUT)
            ev |= LOOP_WRITE;
        s->cb(p.fd, ev, s->arg);
    }
}

int loop_run(struct loop *lp)
{
    lp->stop = false;
    while (!lp->stop) {
        size_t n_snmp = 0, n_total = 0;
        int timeout = build_poll_set(lp, &n_snmp, &n_total);
        if (timeout < -1)
            return -1;
        int rc = poll(lp->pfds, n_total, timeout);
        if (rc < 0 && errno != EINTR)
            return -1;
        if (rc > 0) {
            dispatch_snmp(lp, n_snmp);
            dispatch_own(lp, n_snmp, n_total);
        } else {
            snmp_timeout();
        }
        run_alarms();
        netsnmp_check_outstanding_agent_requests();
        run_due_timers(lp);
        if (lp->idle)
            lp->idle(lp->idle_arg);
    }
    return 0;
}

void loop_stop(struct loop *lp)
{
    lp->stop = true;
}

void loop_set_idle(struct loop *lp, void (*idle)(void *arg), void *arg)
{
    lp->idle = idle;
    lp->idle_arg = arg;
}
