/* The event loop's timers fire in due order, cancelled ones never, and fd callbacks
 * run for readable fds only. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(timers_fire_in_order_and_cancel),
        cmocka_unit_test(fd_callbacks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
