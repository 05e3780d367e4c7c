/* The event loop's timers fire in due order, cancelled ones never, and fd callbacks
 * run for readable fds only. On a virtual clock (loop_set_clock) timers are due on
 * that clock: loop_run_due runs exactly those due, loop_next_due tells the next, and
 * loop_run_once is one iteration that polls at most as long as asked. */
#include <setjmp.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "loop.h"

struct record {
    struct loop *lp;
    int fired[8];
    int n;
};

struct tick {
    struct record *r;
    int id;
};

static void on_tick(void *arg)
{
    struct tick *t = arg;
    t->r->fired[t->r->n++] = t->id;
    if (t->id == 3)
        loop_stop(t->r->lp);
}

static void timers_fire_in_order_and_cancel(void **state)
{
    (void)state;
    struct record r = { .lp = loop_new() };
    struct tick t[4] = { { &r, 0 }, { &r, 1 }, { &r, 2 }, { &r, 3 } };
    /* Read before arming: the 40 ms are counted from the last timer's arming, and
     * under valgrind arming alone takes milliseconds. */
    uint64_t start = loop_now_ms();
    loop_timer_add(r.lp, 30, on_tick, &t[2]);
    uint64_t cancelled = loop_timer_add(r.lp, 10, on_tick, &t[0]);
    loop_timer_add(r.lp, 20, on_tick, &t[1]);
    loop_timer_add(r.lp, 40, on_tick, &t[3]);
    loop_timer_cancel(r.lp, cancelled);
    assert_int_equal(loop_run(r.lp), 0);
    assert_true(loop_now_ms() - start >= 40);
    assert_int_equal(r.n, 3);
    assert_int_equal(r.fired[0], 1);
    assert_int_equal(r.fired[1], 2);
    assert_int_equal(r.fired[2], 3);
    loop_free(r.lp);
}

struct fdrec {
    struct loop *lp;
    int reads;
    char got;
};

static void on_read(int fd, unsigned ev, void *arg)
{
    struct fdrec *f = arg;
    assert_true(ev & LOOP_READ);
    assert_int_equal(read(fd, &f->got, 1), 1);
    f->reads++;
    loop_unwatch_fd(f->lp, fd);
    loop_stop(f->lp);
}

static void never(int fd, unsigned ev, void *arg)
{
    (void)fd;
    (void)ev;
    (void)arg;
    fail_msg("idle fd reported");
}

static void fd_callbacks(void **state)
{
    (void)state;
    int p[2], q[2];
    assert_int_equal(pipe(p), 0);
    assert_int_equal(pipe(q), 0);
    struct fdrec f = { .lp = loop_new() };
    loop_watch_fd(f.lp, p[0], LOOP_READ, on_read, &f);
    loop_watch_fd(f.lp, q[0], LOOP_READ, never, NULL);
    assert_int_equal(write(p[1], "x", 1), 1);
    loop_run(f.lp);
    assert_int_equal(f.reads, 1);
    assert_int_equal(f.got, 'x');
    loop_free(f.lp);
    close(p[0]); close(p[1]); close(q[0]); close(q[1]);
}

/* ---- virtual clock ---- */

static uint64_t vclock(void *arg)
{
    return *(const uint64_t *)arg;
}

struct vrec {
    struct loop *lp;
    uint64_t at[8];
    int id[8];
    int n;
};

struct vtick {
    struct vrec *r;
    int id;
    bool again;        /* re-arms itself once, again_ms later */
    uint64_t again_ms;
};

static void on_vtick(void *arg)
{
    struct vtick *t = arg;
    t->r->at[t->r->n] = loop_now(t->r->lp);
    t->r->id[t->r->n++] = t->id;
    if (t->again) {
        t->again = false;
        loop_timer_add(t->r->lp, t->again_ms, on_vtick, t);
    }
}

static void virtual_clock_timers(void **state)
{
    (void)state;
    uint64_t now = 5000;
    struct vrec r = { .lp = loop_new() };
    assert_non_null(r.lp);
    loop_set_clock(r.lp, vclock, &now);
    assert_int_equal(loop_now(r.lp), 5000);
    assert_true(loop_next_due(r.lp) == UINT64_MAX);
    struct vtick a = { &r, 1, false, 0 }, b = { &r, 2, false, 0 }, c = { &r, 3, false, 0 },
                 z = { &r, 4, false, 0 };
    loop_timer_add(r.lp, 30, on_vtick, &c);
    loop_timer_add(r.lp, 10, on_vtick, &a);
    uint64_t gone = loop_timer_add(r.lp, 20, on_vtick, &z);
    loop_timer_add(r.lp, 20, on_vtick, &b);
    loop_timer_cancel(r.lp, gone);
    assert_int_equal(loop_next_due(r.lp), 5010);
    loop_run_due(r.lp);            /* nothing due yet */
    assert_int_equal(r.n, 0);
    now = 5009;
    loop_run_due(r.lp);
    assert_int_equal(r.n, 0);
    now = 5020;                    /* a and b due, c not */
    loop_run_due(r.lp);
    assert_int_equal(r.n, 2);
    assert_int_equal(r.id[0], 1);
    assert_int_equal(r.id[1], 2);
    assert_int_equal(r.at[0], 5020);
    assert_int_equal(loop_next_due(r.lp), 5030);
    now = 6000;
    loop_run_due(r.lp);
    assert_int_equal(r.n, 3);
    assert_int_equal(r.id[2], 3);
    assert_true(loop_next_due(r.lp) == UINT64_MAX);
    loop_free(r.lp);
}

/* A timer added by a callback for "now" runs in the same loop_run_due; one added for
 * later waits for its time on the virtual clock, not the real one. */
static void virtual_clock_rearm(void **state)
{
    (void)state;
    uint64_t now = 100;
    struct vrec r = { .lp = loop_new() };
    loop_set_clock(r.lp, vclock, &now);
    struct vtick zero = { &r, 1, true, 0 }, later = { &r, 2, true, 50 };
    loop_timer_add(r.lp, 0, on_vtick, &zero); /* fires, re-arms for now, fires again */
    loop_run_due(r.lp);
    assert_int_equal(r.n, 2);
    assert_int_equal(r.id[1], 1);
    loop_timer_add(r.lp, 0, on_vtick, &later); /* fires now, re-arms for 150 */
    loop_run_due(r.lp);
    assert_int_equal(r.n, 3);
    assert_int_equal(loop_next_due(r.lp), 150);
    /* loop_run_once does not wait for a timer that is not due on the virtual clock:
     * its poll returns after the 0 ms asked, and the timer stays. */
    assert_int_equal(loop_run_once(r.lp, 0), 0);
    assert_int_equal(r.n, 3);
    now = 150;
    assert_int_equal(loop_run_once(r.lp, 1000), 0); /* due: no wait, runs it */
    assert_int_equal(r.n, 4);
    assert_int_equal(r.at[3], 150);
    /* Back on the real clock. */
    loop_set_clock(r.lp, NULL, NULL);
    uint64_t real = loop_now_ms();
    assert_true(loop_now(r.lp) >= real);
    loop_free(r.lp);
}

struct once {
    int reads;
};

static void on_once_read(int fd, unsigned ev, void *arg)
{
    struct once *o = arg;
    char c;
    assert_true(ev & LOOP_READ);
    assert_int_equal(read(fd, &c, 1), 1);
    o->reads++;
}

static void idle_count(void *arg)
{
    (*(int *)arg)++;
}

/* One iteration: a readable fd is dispatched, idle runs once, nothing else waits. */
static void run_once_dispatches_fds(void **state)
{
    (void)state;
    int p[2];
    assert_int_equal(pipe(p), 0);
    uint64_t now = 1;
    struct loop *lp = loop_new();
    loop_set_clock(lp, vclock, &now);
    struct once o = { 0 };
    int idles = 0;
    loop_watch_fd(lp, p[0], LOOP_READ, on_once_read, &o);
    loop_set_idle(lp, idle_count, &idles);
    assert_int_equal(loop_run_once(lp, 0), 0);
    assert_int_equal(o.reads, 0);
    assert_int_equal(idles, 1);
    assert_int_equal(write(p[1], "x", 1), 1);
    assert_int_equal(loop_run_once(lp, 5000), 0); /* readable: returns at once */
    assert_int_equal(o.reads, 1);
    assert_int_equal(idles, 2);
    loop_free(lp);
    close(p[0]);
    close(p[1]);
}

/* What ran, in order: 'u' an urgent timer, 't' a plain one, 'r' the fd's callback. */
struct order {
    char seq[8];
    int n;
    int fd;
};

static void order_urgent(void *arg)
{
    struct order *o = arg;
    o->seq[o->n++] = 'u';
}

static void order_timer(void *arg)
{
    struct order *o = arg;
    o->seq[o->n++] = 't';
}

static void order_read(int fd, unsigned ev, void *arg)
{
    struct order *o = arg;
    char c;
    (void)ev;
    assert_int_equal(read(fd, &c, 1), 1);
    o->seq[o->n++] = 'r';
}

/* After a wake-up that finds both an fd ready and timers overdue (a freeze), an
 * urgent timer (a safety deadline) runs before the fd is read, a plain one after
 * (it must judge the news the fd brings). A cancelled urgent timer never runs. */
static void urgent_timers_run_before_fds(void **state)
{
    (void)state;
    int p[2];
    assert_int_equal(pipe(p), 0);
    uint64_t now = 100;
    struct loop *lp = loop_new();
    loop_set_clock(lp, vclock, &now);
    struct order o = { .fd = p[0] };
    loop_watch_fd(lp, p[0], LOOP_READ, order_read, &o);
    loop_timer_add(lp, 10, order_timer, &o);
    loop_timer_add_urgent(lp, 20, order_urgent, &o);
    uint64_t gone = loop_timer_add_urgent(lp, 15, order_urgent, &o);
    loop_timer_cancel(lp, gone);
    now = 5000; /* the freeze ends: everything overdue, the fd readable */
    assert_int_equal(write(p[1], "x", 1), 1);
    assert_int_equal(loop_run_once(lp, 0), 0);
    assert_int_equal(o.n, 3);
    assert_memory_equal(o.seq, "urt", 3);
    /* not due: an urgent timer waits like any other */
    loop_timer_add_urgent(lp, 50, order_urgent, &o);
    assert_int_equal(write(p[1], "y", 1), 1);
    assert_int_equal(loop_run_once(lp, 0), 0);
    assert_int_equal(o.n, 4);
    assert_int_equal(o.seq[3], 'r');
    now = 5050;
    assert_int_equal(loop_run_once(lp, 0), 0);
    assert_int_equal(o.n, 5);
    assert_int_equal(o.seq[4], 'u');
    assert_true(loop_next_due(lp) == UINT64_MAX);
    loop_free(lp);
    close(p[0]);
    close(p[1]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(timers_fire_in_order_and_cancel),
        cmocka_unit_test(fd_callbacks),
        cmocka_unit_test(virtual_clock_timers),
        cmocka_unit_test(virtual_clock_rearm),
        cmocka_unit_test(run_once_dispatches_fds),
        cmocka_unit_test(urgent_timers_run_before_fds),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
