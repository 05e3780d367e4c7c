/* loop.h — the single event loop of sipha-agent: Net-SNMP's sockets and alarms,
 * the agent's own file descriptors (netlink, packet socket, probes, curl) and timers.
 * Everything runs on this thread; callbacks must not block. */
#ifndef SIPHA_LOOP_H
#define SIPHA_LOOP_H

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
void loop_timer_cancel(struct loop *lp, uint64_t id);

/* CLOCK_MONOTONIC in milliseconds. */
uint64_t loop_now_ms(void);

/* Runs until loop_stop; returns 0. Signals are delivered as flags the caller polls
 * through loop_set_idle (called once per iteration). */
int loop_run(struct loop *lp);
void loop_stop(struct loop *lp);
void loop_set_idle(struct loop *lp, void (*idle)(void *arg), void *arg);

#endif
