/* loop.c — the poll(2) loop: sipha's own fds and timers, and one foreign loop (the
 * agent bridges Net-SNMP's in agent/snmp_loop.c) whose descriptors are asked for
 * afresh before every poll, so nothing about them is cached between iterations. */
#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "array.h"
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
    bool urgent; /* overdue after a wake-up, it runs before any fd is read */
};

struct loop {
    struct loop_fd *fds;
    size_t nfds, capfds;
    struct loop_timer *timers; /* binary min-heap on `due` */
    size_t nurgent;            /* of them, urgent ones */
    size_t ntimers, captimers;
    uint64_t next_timer_id;
    uint64_t turns; /* iterations so far (loop_turn) */
    bool stop;
    void (*idle)(void *arg);
    void *idle_arg;
    struct pollfd *pfds;
    size_t cappfds;
    struct loop_source source; /* prepare == NULL: none */
    loop_clock_fn clock;       /* NULL: loop_now_ms */
    void *clock_arg;
};

uint64_t loop_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

void loop_set_clock(struct loop *lp, loop_clock_fn now, void *arg)
{
    lp->clock = now;
    lp->clock_arg = now ? arg : NULL;
}

uint64_t loop_now(const struct loop *lp)
{
    return lp->clock ? lp->clock(lp->clock_arg) : loop_now_ms();
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
        void *items = lp->fds;
        if (array_reserve(&items, &lp->capfds, lp->nfds + 1, sizeof(*lp->fds), 8) < 0)
            return -1;
        lp->fds = items;
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
    lp->nurgent -= lp->timers[i].urgent;
    lp->timers[i] = lp->timers[--lp->ntimers];
    if (i < lp->ntimers) {
        heap_down(lp->timers, lp->ntimers, i);
        heap_up(lp->timers, i);
    }
}

static uint64_t timer_add(struct loop *lp, uint64_t delay_ms, loop_timer_cb cb, void *arg,
                          bool urgent)
{
    void *items = lp->timers;
    if (array_reserve(&items, &lp->captimers, lp->ntimers + 1, sizeof(*lp->timers), 16) < 0)
        return 0;
    lp->timers = items;
    uint64_t id = lp->next_timer_id++;
    lp->timers[lp->ntimers] = (struct loop_timer){ id, loop_now(lp) + delay_ms, cb, arg, urgent };
    heap_up(lp->timers, lp->ntimers++);
    lp->nurgent += urgent;
    return id;
}

uint64_t loop_timer_add(struct loop *lp, uint64_t delay_ms, loop_timer_cb cb, void *arg)
{
    return timer_add(lp, delay_ms, cb, arg, false);
}

uint64_t loop_timer_add_urgent(struct loop *lp, uint64_t delay_ms, loop_timer_cb cb, void *arg)
{
    return timer_add(lp, delay_ms, cb, arg, true);
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

uint64_t loop_next_due(const struct loop *lp)
{
    return lp->ntimers > 0 ? lp->timers[0].due : UINT64_MAX;
}

void loop_run_due(struct loop *lp)
{
    uint64_t now = loop_now(lp);
    while (lp->ntimers > 0 && lp->timers[0].due <= now) {
        struct loop_timer t = lp->timers[0];
        heap_remove_at(lp, 0);
        t.cb(t.arg); /* may add or cancel timers */
    }
}

/* The urgent timers already due, in no particular order (a safety deadline each, and
 * few: a scan is cheaper than a second heap). */
static void run_due_urgent(struct loop *lp)
{
    uint64_t now = loop_now(lp);
    for (size_t i = 0; lp->nurgent > 0 && i < lp->ntimers;) {
        if (!lp->timers[i].urgent || lp->timers[i].due > now) {
            i++;
            continue;
        }
        struct loop_timer t = lp->timers[i];
        heap_remove_at(lp, i);
        t.cb(t.arg); /* may add or cancel timers: scan again from the start */
        i = 0;
    }
}

/* --- the loop --- */

static int ensure_pfds(struct loop *lp, size_t n)
{
    void *items = lp->pfds;
    if (array_reserve(&items, &lp->cappfds, n, sizeof(*lp->pfds), 16) < 0)
        return -1;
    lp->pfds = items;
    return 0;
}

/* Fills pfds with the foreign source's fds first (readable only), then ours; returns
 * the poll timeout in ms (>= 0), or -1 when memory is short. */
static int build_poll_set(struct loop *lp, int cap_ms, size_t *n_src, size_t *n_total)
{
    const int *src_fds = NULL;
    size_t n = 0, n_src_fds = 0;
    int64_t timeout = -1;
    if (lp->source.prepare) {
        int t = -1;
        lp->source.prepare(lp->source.arg, &src_fds, &n_src_fds, &t);
        timeout = t;
    }
    if (ensure_pfds(lp, n_src_fds + lp->nfds + 1) < 0)
        return -1;
    for (size_t i = 0; i < n_src_fds; i++)
        lp->pfds[n++] = (struct pollfd){ .fd = src_fds[i], .events = POLLIN };
    *n_src = n;
    for (size_t i = 0; i < lp->nfds; i++) {
        short ev = 0;
        if (lp->fds[i].events & LOOP_READ)
            ev |= POLLIN;
        if (lp->fds[i].events & LOOP_WRITE)
            ev |= POLLOUT;
        lp->pfds[n++] = (struct pollfd){ .fd = ev ? lp->fds[i].fd : -1, .events = ev };
    }
    *n_total = n;

    if (lp->ntimers > 0) {
        uint64_t now = loop_now(lp);
        int64_t t = lp->timers[0].due > now ? (int64_t)(lp->timers[0].due - now) : 0;
        if (timeout < 0 || t < timeout)
            timeout = t;
    }
    /* Signals interrupt poll (EINTR) and their flags are then seen at once; the cap
     * only bounds the delay of one arriving between the idle check and poll. */
    if (timeout < 0 || timeout > 5000)
        timeout = 5000;
    if (cap_ms >= 0 && timeout > cap_ms)
        timeout = cap_ms;
    return (int)timeout;
}

/* The source's readable fds, compacted to the front of its part of pfds. */
static void dispatch_source(struct loop *lp, size_t n_src)
{
    if (!lp->source.dispatch)
        return;
    int ready[64];
    size_t n = 0;
    for (size_t i = 0; i < n_src; i++) {
        if (!(lp->pfds[i].revents & (POLLIN | POLLHUP | POLLERR)))
            continue;
        if (n == sizeof ready / sizeof ready[0]) { /* more next iteration */
            break;
        }
        ready[n++] = lp->pfds[i].fd;
    }
    lp->source.dispatch(lp->source.arg, ready, n);
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

/* One iteration; the poll waits at most cap_ms (-1: as long as the timers allow). */
uint64_t loop_turn(const struct loop *lp)
{
    return lp->turns;
}

static int iterate(struct loop *lp, int cap_ms)
{
    size_t n_src = 0, n_total = 0;
    lp->turns++;
    int timeout = build_poll_set(lp, cap_ms, &n_src, &n_total);
    if (timeout < 0)
        return -1;
    int rc = poll(lp->pfds, n_total, timeout);
    if (rc < 0 && errno != EINTR)
        return -1;
    /* A deadline that passed while we slept (a freeze, a paused VM) comes before the
     * news queued meanwhile: an etcd hold that ended must not be acted on by reading
     * and answering as its holder first. Only urgent timers: the others (the HA
     * engine's peer timeout) must see the queued news before they judge it. */
    if (lp->nurgent > 0)
        run_due_urgent(lp);
    if (rc > 0) {
        /* Our fds first (the HA link, the monitors), then the foreign loop's (SNMP):
         * what a manager reads must come after the news that changes it. After a
         * freeze (SIGSTOP, a paused VM) the queued SNMP requests would otherwise be
         * answered with the state from before it: a primary that had been replaced. */
        dispatch_own(lp, n_src, n_total);
        dispatch_source(lp, n_src);
    } else if (lp->source.dispatch) {
        lp->source.dispatch(lp->source.arg, NULL, 0);
    }
    if (lp->source.after)
        lp->source.after(lp->source.arg);
    loop_run_due(lp);
    if (lp->idle)
        lp->idle(lp->idle_arg);
    return 0;
}

int loop_run(struct loop *lp)
{
    lp->stop = false;
    while (!lp->stop)
        if (iterate(lp, -1) < 0)
            return -1;
    return 0;
}

int loop_run_once(struct loop *lp, int timeout_ms)
{
    return iterate(lp, timeout_ms < 0 ? 0 : timeout_ms);
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

void loop_set_source(struct loop *lp, const struct loop_source *src)
{
    if (src)
        lp->source = *src;
    else
        memset(&lp->source, 0, sizeof lp->source);
}
