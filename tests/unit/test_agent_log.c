/* The log's collapsing of repeated lines: the first of a run is written at once, the
 * rest counted and reported by one line when the run ends (another line, or the
 * flush at the end of a loop iteration); pieces of lines, other priorities and lines
 * too long to keep are never taken for repeats. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>

#include <cmocka.h>

#include "agent_log.h"

#define MAX_OUT 32

struct sink {
    size_t n;
    int prio[MAX_OUT];
    char text[MAX_OUT][LOG_COLLAPSE_LINE_MAX + 64];
};

static void emit(void *ctx, int priority, const char *text)
{
    struct sink *s = ctx;
    assert_true(s->n < MAX_OUT);
    s->prio[s->n] = priority;
    snprintf(s->text[s->n], sizeof(s->text[0]), "%s", text);
    s->n++;
}

struct fx {
    struct log_collapse c;
    struct sink out;
};

static struct fx fx;

static int setup(void **state)
{
    memset(&fx, 0, sizeof(fx));
    log_collapse_init(&fx.c);
    *state = &fx;
    return 0;
}

static void feed(struct fx *f, int prio, const char *text)
{
    log_collapse_feed(&f->c, prio, text, emit, &f->out);
}

static void flush(struct fx *f)
{
    log_collapse_flush(&f->c, emit, &f->out);
}

/* What a master restart used to produce: 72 identical lines in one iteration. */
static void run_collapsed_into_one_count(void **state)
{
    struct fx *f = *state;
    for (int i = 0; i < 72; i++)
        feed(f, LOG_ERR, "registering pdu failed: 263!\n");
    assert_int_equal(f->out.n, 1); /* the first, at once */
    assert_string_equal(f->out.text[0], "registering pdu failed: 263!\n");
    flush(f);
    assert_int_equal(f->out.n, 2);
    assert_string_equal(f->out.text[1], "registering pdu failed: 263! (repeated 71 more times)\n");
    assert_int_equal(f->out.prio[1], LOG_ERR);
    flush(f); /* nothing more to report */
    assert_int_equal(f->out.n, 2);
}

static void different_line_ends_the_run(void **state)
{
    struct fx *f = *state;
    feed(f, LOG_ERR, "a\n");
    feed(f, LOG_ERR, "a\n");
    feed(f, LOG_ERR, "a\n");
    feed(f, LOG_INFO, "b\n");
    assert_int_equal(f->out.n, 3);
    assert_string_equal(f->out.text[0], "a\n");
    assert_string_equal(f->out.text[1], "a (repeated 2 more times)\n");
    assert_string_equal(f->out.text[2], "b\n");
    assert_int_equal(f->out.prio[2], LOG_INFO);
}

/* A single repeat is written as itself, not as "repeated 1 more times". */
static void one_repeat_written_as_is(void **state)
{
    struct fx *f = *state;
    feed(f, LOG_NOTICE, "x\n");
    feed(f, LOG_NOTICE, "x\n");
    flush(f);
    assert_int_equal(f->out.n, 2);
    assert_string_equal(f->out.text[1], "x\n");
}

/* After a flush the same line starts a new run: a line logged once per iteration
 * is written every time, readable. */
static void flush_ends_the_run(void **state)
{
    struct fx *f = *state;
    feed(f, LOG_WARNING, "peer lost\n");
    flush(f);
    feed(f, LOG_WARNING, "peer lost\n");
    flush(f);
    assert_int_equal(f->out.n, 2);
    assert_string_equal(f->out.text[1], "peer lost\n");
}

static void other_priority_is_not_a_repeat(void **state)
{
    struct fx *f = *state;
    feed(f, LOG_ERR, "same text\n");
    feed(f, LOG_WARNING, "same text\n");
    flush(f);
    assert_int_equal(f->out.n, 2);
    assert_int_equal(f->out.prio[1], LOG_WARNING);
}

/* snmp_log may hand a line over in pieces: they pass through unchanged, and the rest
 * of a line is not a line of its own to compare with the next. */
static void pieces_pass_through(void **state)
{
    struct fx *f = *state;
    feed(f, LOG_INFO, "part one, ");
    feed(f, LOG_INFO, "part one, ");
    feed(f, LOG_INFO, "end\n"); /* the rest of the line */
    feed(f, LOG_INFO, "end\n"); /* a whole line: written, remembered */
    feed(f, LOG_INFO, "end\n"); /* its repeat: counted */
    assert_int_equal(f->out.n, 4);
    flush(f);
    assert_int_equal(f->out.n, 5);
    assert_string_equal(f->out.text[0], "part one, ");
    assert_string_equal(f->out.text[1], "part one, ");
    assert_string_equal(f->out.text[2], "end\n");
    assert_string_equal(f->out.text[3], "end\n");
    assert_string_equal(f->out.text[4], "end\n"); /* one repeat: written as itself */
}

static void long_lines_never_collapsed(void **state)
{
    struct fx *f = *state;
    static char big[LOG_COLLAPSE_LINE_MAX + 10];
    memset(big, 'y', sizeof(big) - 2);
    big[sizeof(big) - 2] = '\n';
    big[sizeof(big) - 1] = '\0';
    feed(f, LOG_ERR, big);
    feed(f, LOG_ERR, big);
    flush(f);
    assert_int_equal(f->out.n, 2);
    feed(f, LOG_ERR, "");
    feed(f, LOG_ERR, NULL);
    assert_int_equal(f->out.n, 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(run_collapsed_into_one_count, setup),
        cmocka_unit_test_setup(different_line_ends_the_run, setup),
        cmocka_unit_test_setup(one_repeat_written_as_is, setup),
        cmocka_unit_test_setup(flush_ends_the_run, setup),
        cmocka_unit_test_setup(other_priority_is_not_a_repeat, setup),
        cmocka_unit_test_setup(pieces_pass_through, setup),
        cmocka_unit_test_setup(long_lines_never_collapsed, setup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
