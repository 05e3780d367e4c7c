/* loop.h — the single event loop of sipha-agent: its file descriptors (netlink,
 * packet socket, probes, HA link, curl), its timers, and one foreign loop bridged in
 * (Net-SNMP's: agent/snmp_loop.c). Everything runs on this thread; callbacks must
 * not block. */
#ifndef SIPHA_LOOP_H
#define SIPHA_LOOP_H

#include <stddef.h>
#include <stdint.h>

#define LOOP_READ 1u
#define LOOP_WRITE 2u

struct loop;
typedef void (*loop_fd_cb)(int fd, unsigned events, void *arg);
typedef void (*loop_timer_cb)(void *arg);

struct loop *loop_new(void);
void loop_free(struct loop *lp);

/* Watches `fd` for `events` (LOOP_READ|LOOP_WRITE). Adding a watched fd again
 * replaces its events and callback; events 0 keeps it registered but idle. */
int loop_watch_fd(struct loop *lp, int fd, unsigned events, loop_fd_cb cb, void *arg);
void loop_unwatch_fd(struct loop *lp, int fd);

/* One-shot timer after `delay_ms`; returns an id > 0 for loop_timer_cancel. */
uint64_t loop_timer_add(struct loop *lp, uint64_t delay_ms, loop_timer_cb cb, void *arg);
/* The same for a safety deadline: when it is overdue at a wake-up (after a freeze),
 * it runs before any fd is dispatched, not after as the others. */
uint64_t loop_timer_add_urgent(struct loop *lp, uint64_t delay_ms, loop_timer_cb cb, void *arg);
void loop_timer_cancel(struct loop *lp, uint64_t id);

/* CLOCK_MONOTONIC in milliseconds. */
uint64_t loop_now_ms(void);

/* The loop's clock, on which its timers are due: loop_now_ms() unless set. The HA
 * adapter and its monitors read the time through loop_now(lp), so a test can run
 * them on a virtual clock: it sets one here (NULL restores the default), advances
 * it, and runs the timers now due with loop_run_due (or loop_run_once). Set it
 * before the first timer is added: due times already in the heap are not moved. */
typedef uint64_t (*loop_clock_fn)(void *arg);
void loop_set_clock(struct loop *lp, loop_clock_fn now, void *arg);
uint64_t loop_now(const struct loop *lp);
/* Due time of the earliest timer on the loop's clock; UINT64_MAX when none. */
uint64_t loop_next_due(const struct loop *lp);
/* Runs every timer due at loop_now(lp), in due order (and those they add due by
 * then); fds are not looked at. */
void loop_run_due(struct loop *lp);

/* Runs until loop_stop; returns 0. Signals are delivered as flags the caller polls
 * through loop_set_idle (called once per iteration). */
int loop_run(struct loop *lp);
/* One iteration of loop_run whose poll waits at most timeout_ms (0: only looks):
 * ready fds, the source's dispatch and after, due timers, then idle. Returns 0, or -1
 * when poll fails. */
int loop_run_once(struct loop *lp, int timeout_ms);
void loop_stop(struct loop *lp);
void loop_set_idle(struct loop *lp, void (*idle)(void *arg), void *arg);
/* How many iterations (poll, fds, timers) the loop has begun: work spread over turns
 * (a burst per turn) can tell whether the fds were polled since its last burst. */
uint64_t loop_turn(const struct loop *lp);

/* A foreign event loop run inside this one (a library that owns its sockets and
 * alarms). Before each poll, `prepare` hands over the descriptors it wants read
 * (storage its own, valid until dispatch) and may set *timeout_ms (-1 = no deadline)
 * to its next deadline; after the poll, `dispatch` gets those that became readable
 * (n = 0 when the poll timed out), before the loop's own fds; `after` (may be NULL)
 * runs once per iteration after every fd callback, before the loop's timers. */
struct loop_source {
    void (*prepare)(void *arg, const int **fds, size_t *n, int *timeout_ms);
    void (*dispatch)(void *arg, const int *ready, size_t n);
    void (*after)(void *arg);
    void *arg;
};
/* Sets the one foreign source (copied), or removes it with NULL. */
void loop_set_source(struct loop *lp, const struct loop_source *src);

#endif
