/* The queue of notifications waiting for the master: FIFO order, the oldest dropped
 * and counted when full, ownership (nothing leaks under ASan/valgrind), limits. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "notify_queue.h"

/* A one-varbind list whose value tells which notification it is. */
static netsnmp_variable_list *item(long tag)
{
    static const oid name[] = { 1, 3, 6, 1, 4, 1, 32473, 1, 0, 1 };
    netsnmp_variable_list *l = NULL;
    assert_non_null(snmp_varlist_add_variable(&l, name, OID_LENGTH(name), ASN_INTEGER, &tag,
                                              sizeof(tag)));
    return l;
}

static long tag_of(const netsnmp_variable_list *l)
{
    assert_non_null(l);
    return *l->val.integer;
}

/* Pops one item and checks its tag. */
static void pop_expect(struct nq *q, long tag)
{
    netsnmp_variable_list *l = nq_pop(q);
    assert_int_equal(tag_of(l), tag);
    snmp_free_varbind(l);
}

static void init_rejects_bad_limits(void **state)
{
    (void)state;
    struct nq q;
    assert_int_equal(nq_init(&q, 0), -1);
    assert_int_equal(nq_init(&q, NQ_LIMIT_MAX + 1), -1);
    nq_free(&q); /* safe after a failed init */
    assert_int_equal(nq_init(&q, NQ_LIMIT_MAX), 0);
    assert_int_equal(nq_count(&q), 0);
    assert_null(nq_pop(&q));
    assert_null(nq_peek(&q));
    nq_free(&q);
}

static void fifo_order(void **state)
{
    (void)state;
    struct nq q;
    assert_int_equal(nq_init(&q, 4), 0);
    for (long i = 1; i <= 3; i++)
        assert_int_equal(nq_push(&q, item(i)), 0);
    assert_int_equal(nq_count(&q), 3);
    assert_int_equal(tag_of(nq_peek(&q)), 1);
    assert_int_equal(nq_count(&q), 3); /* peek keeps it */
    pop_expect(&q, 1);
    pop_expect(&q, 2);
    pop_expect(&q, 3);
    assert_null(nq_pop(&q));
    assert_int_equal(nq_dropped(&q), 0);
    nq_free(&q);
}

static void full_queue_drops_oldest(void **state)
{
    (void)state;
    struct nq q;
    assert_int_equal(nq_init(&q, 3), 0);
    for (long i = 1; i <= 3; i++)
        assert_int_equal(nq_push(&q, item(i)), 0);
    assert_int_equal(nq_push(&q, item(4)), 1);
    assert_int_equal(nq_push(&q, item(5)), 1);
    assert_int_equal(nq_count(&q), 3);
    assert_int_equal(nq_dropped(&q), 2);
    pop_expect(&q, 3);
    pop_expect(&q, 4);
    pop_expect(&q, 5);
    assert_int_equal(nq_dropped(&q), 2); /* popping is not dropping */
    nq_free(&q);
}

/* Interleaved pushes and pops move the ring's head all around it. */
static void order_survives_ring_wrap(void **state)
{
    (void)state;
    struct nq q;
    assert_int_equal(nq_init(&q, 5), 0);
    long next_in = 1, next_out = 1;
    for (int round = 0; round < 40; round++) {
        for (int k = 0; k < 3; k++)
            assert_int_equal(nq_push(&q, item(next_in++)), 0);
        for (int k = 0; k < 3; k++)
            pop_expect(&q, next_out++);
    }
    assert_int_equal(nq_count(&q), 0);
    nq_free(&q);
}

static void push_rejects_and_frees(void **state)
{
    (void)state;
    struct nq q;
    assert_int_equal(nq_init(&q, 2), 0);
    assert_int_equal(nq_push(&q, NULL), -1);
    assert_int_equal(nq_count(&q), 0);
    nq_free(&q);
    /* Not initialised: rejected, and the list is freed (ASan/valgrind check it). */
    assert_int_equal(nq_push(&q, item(9)), -1);
    assert_int_equal(nq_count(&q), 0);
}

static void set_limit_keeps_newest(void **state)
{
    (void)state;
    struct nq q;
    assert_int_equal(nq_init(&q, 4), 0);
    for (long i = 1; i <= 6; i++) /* head has moved: ring wrapped in memory */
        nq_push(&q, item(i));
    assert_int_equal(nq_dropped(&q), 2);
    assert_int_equal(nq_set_limit(&q, 0), -1);
    assert_int_equal(nq_set_limit(&q, NQ_LIMIT_MAX + 1), -1);
    assert_int_equal(nq_count(&q), 4);
    assert_int_equal(nq_set_limit(&q, 2), 0);
    assert_int_equal(nq_count(&q), 2);
    assert_int_equal(nq_dropped(&q), 4);
    assert_int_equal(nq_set_limit(&q, 8), 0);
    assert_int_equal(nq_push(&q, item(7)), 0);
    pop_expect(&q, 5);
    pop_expect(&q, 6);
    pop_expect(&q, 7);
    nq_free(&q);
}

static void free_releases_queued_items(void **state)
{
    (void)state;
    struct nq q;
    assert_int_equal(nq_init(&q, 3), 0);
    for (long i = 1; i <= 5; i++)
        nq_push(&q, item(i));
    nq_free(&q); /* leak checkers fail the test if anything stays allocated */
    assert_int_equal(nq_count(&q), 0);
    assert_null(nq_pop(&q));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(init_rejects_bad_limits),
        cmocka_unit_test(fifo_order),
        cmocka_unit_test(full_queue_drops_oldest),
        cmocka_unit_test(order_survives_ring_wrap),
        cmocka_unit_test(push_rejects_and_frees),
        cmocka_unit_test(set_limit_keeps_newest),
        cmocka_unit_test(free_releases_queued_items),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
