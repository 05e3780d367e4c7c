/* test_rows.c — the sorted row arrays of instance.h (the order GETNEXT walks) and
 * the defaults of instance_init. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "instance.h"

/* A row type of the same shape as the real ones: the index first, then payload. */
struct test_row {
    uint32_t index;
    uint32_t value;
    char tag[12];
};

static struct test_row mkrow(uint32_t index, uint32_t value)
{
    struct test_row r;
    memset(&r, 0, sizeof r);
    r.index = index;
    r.value = value;
    snprintf(r.tag, sizeof r.tag, "r%u", (unsigned)(index % 100000));
    return r;
}

static uint32_t idx_of(const void *row)
{
    assert_non_null(row);
    return ((const struct test_row *)row)->index;
}

/* Deterministic shuffle (xorshift) so a failure reproduces. */
static void shuffle(uint32_t *v, size_t n, uint32_t seed)
{
    uint32_t x = seed ? seed : 1;
    for (size_t i = n - 1; i > 0; i--) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        size_t j = x % (i + 1);
        uint32_t t = v[i];
        v[i] = v[j];
        v[j] = t;
    }
}

static void assert_sorted(const struct sipha_rows *r)
{
    for (size_t i = 1; i < r->count; i++)
        assert_true(idx_of(rows_at(r, i - 1)) < idx_of(rows_at(r, i)));
}

static int setup_rows(void **state)
{
    struct sipha_rows *r = calloc(1, sizeof *r);
    if (!r)
        return -1;
    rows_init(r, sizeof(struct test_row));
    *state = r;
    return 0;
}

static int teardown_rows(void **state)
{
    rows_free(*state);
    free(*state);
    return 0;
}

static void test_random_order_inserts_sorted(void **state)
{
    struct sipha_rows *r = *state;
    uint32_t idx[] = { 42, 7, 1000, 3, 99, 4294967295u, 1, 500, 8, 77 };
    size_t n = sizeof idx / sizeof idx[0];
    for (size_t i = 0; i < n; i++) {
        struct test_row row = mkrow(idx[i], idx[i] * 2);
        struct test_row *stored = rows_insert(r, &row);
        assert_non_null(stored);
        assert_int_equal(stored->index, idx[i]);
        assert_int_equal(stored->value, idx[i] * 2);
    }
    assert_int_equal(r->count, n);
    assert_sorted(r);
    assert_int_equal(idx_of(rows_at(r, 0)), 1);
    assert_int_equal(idx_of(rows_at(r, n - 1)), 4294967295u);
    assert_null(rows_at(r, n));
    for (size_t i = 0; i < n; i++) {
        struct test_row *f = rows_find(r, idx[i]);
        assert_non_null(f);
        assert_int_equal(f->value, idx[i] * 2);
        assert_string_equal(f->tag, mkrow(idx[i], 0).tag);
    }
    assert_null(rows_find(r, 2));
    assert_null(rows_find(r, 4294967294u));
}

static void test_insert_replaces_same_index(void **state)
{
    struct sipha_rows *r = *state;
    for (uint32_t i = 1; i <= 5; i++) {
        struct test_row row = mkrow(i * 10, i);
        assert_non_null(rows_insert(r, &row));
    }
    struct test_row again = mkrow(30, 12345);
    struct test_row *stored = rows_insert(r, &again);
    assert_non_null(stored);
    assert_int_equal(r->count, 5);
    assert_ptr_equal(stored, rows_find(r, 30));
    assert_int_equal(stored->value, 12345);
    assert_int_equal(((struct test_row *)rows_find(r, 20))->value, 2);
    assert_int_equal(((struct test_row *)rows_find(r, 40))->value, 4);
    /* Re-inserting a stored row onto itself is a no-op replacement. */
    assert_ptr_equal(rows_insert(r, stored), stored);
    assert_int_equal(r->count, 5);
    assert_int_equal(stored->value, 12345);
    assert_sorted(r);
}

static void test_remove(void **state)
{
    struct sipha_rows *r = *state;
    for (uint32_t i = 1; i <= 6; i++) {
        struct test_row row = mkrow(i, i + 100);
        assert_non_null(rows_insert(r, &row));
    }
    assert_true(rows_remove(r, 1));   /* first */
    assert_true(rows_remove(r, 6));   /* last */
    assert_true(rows_remove(r, 3));   /* middle */
    assert_false(rows_remove(r, 3));  /* already gone */
    assert_false(rows_remove(r, 77)); /* never there */
    assert_false(rows_remove(r, 0));
    assert_int_equal(r->count, 3);
    assert_int_equal(idx_of(rows_at(r, 0)), 2);
    assert_int_equal(idx_of(rows_at(r, 1)), 4);
    assert_int_equal(idx_of(rows_at(r, 2)), 5);
    assert_int_equal(((struct test_row *)rows_find(r, 4))->value, 104);
    assert_null(rows_find(r, 1));
    assert_null(rows_find(r, 3));
    assert_null(rows_find(r, 6));
    /* A removed index can come back. */
    struct test_row back = mkrow(3, 9);
    assert_non_null(rows_insert(r, &back));
    assert_int_equal(idx_of(rows_at(r, 1)), 3);
    assert_sorted(r);
}

static void test_next_edges(void **state)
{
    struct sipha_rows *r = *state;
    uint32_t idx[] = { 20, 10, 30 };
    for (size_t i = 0; i < 3; i++) {
        struct test_row row = mkrow(idx[i], 0);
        assert_non_null(rows_insert(r, &row));
    }
    assert_int_equal(idx_of(rows_next(r, 0, true)), 10);
    assert_int_equal(idx_of(rows_next(r, 0, false)), 10);
    assert_int_equal(idx_of(rows_next(r, 9, false)), 10);
    assert_int_equal(idx_of(rows_next(r, 10, true)), 10);
    assert_int_equal(idx_of(rows_next(r, 10, false)), 20);
    assert_int_equal(idx_of(rows_next(r, 11, true)), 20);
    assert_int_equal(idx_of(rows_next(r, 29, false)), 30);
    assert_int_equal(idx_of(rows_next(r, 30, true)), 30);
    assert_null(rows_next(r, 30, false));
    assert_null(rows_next(r, 31, true));
    assert_null(rows_next(r, UINT32_MAX, true));
    assert_null(rows_next(r, UINT32_MAX, false));

    /* The largest index: exclusive next of it must not wrap around to the first row. */
    struct test_row top = mkrow(UINT32_MAX, 1);
    assert_non_null(rows_insert(r, &top));
    assert_int_equal(idx_of(rows_next(r, 30, false)), UINT32_MAX);
    assert_int_equal(idx_of(rows_next(r, UINT32_MAX - 1, false)), UINT32_MAX);
    assert_int_equal(idx_of(rows_next(r, UINT32_MAX, true)), UINT32_MAX);
    assert_null(rows_next(r, UINT32_MAX, false));
}

static void test_empty_table(void **state)
{
    struct sipha_rows *r = *state;
    assert_int_equal(r->count, 0);
    assert_null(rows_find(r, 1));
    assert_null(rows_find(r, 0));
    assert_null(rows_next(r, 0, true));
    assert_null(rows_next(r, 0, false));
    assert_null(rows_next(r, UINT32_MAX, false));
    assert_null(rows_at(r, 0));
    assert_false(rows_remove(r, 1));
    /* Freed then reused: rows_free keeps the row size. */
    struct test_row row = mkrow(5, 5);
    assert_non_null(rows_insert(r, &row));
    rows_free(r);
    assert_int_equal(r->count, 0);
    assert_null(rows_find(r, 5));
    assert_non_null(rows_insert(r, &row));
    assert_int_equal(r->count, 1);
}

static void test_index_zero_rejected(void **state)
{
    struct sipha_rows *r = *state;
    struct test_row ok = mkrow(1, 1);
    assert_non_null(rows_insert(r, &ok));
    struct test_row zero = mkrow(0, 99);
    assert_null(rows_insert(r, &zero));
    assert_int_equal(r->count, 1);
    assert_null(rows_find(r, 0));
    assert_int_equal(idx_of(rows_next(r, 0, true)), 1);
    assert_null(rows_insert(r, NULL));
    assert_int_equal(r->count, 1);
}

static void test_uninitialised_or_null_rows(void **state)
{
    (void)state;
    struct sipha_rows bad = { 0 }; /* row size 0: not set up with rows_init */
    struct test_row row = mkrow(1, 1);
    assert_null(rows_insert(&bad, &row));
    assert_null(rows_find(&bad, 1));
    assert_null(rows_next(&bad, 0, true));
    assert_false(rows_remove(&bad, 1));
    assert_null(rows_insert(NULL, &row));
    assert_null(rows_find(NULL, 1));
    assert_null(rows_next(NULL, 0, true));
    assert_null(rows_at(NULL, 0));
    assert_false(rows_remove(NULL, 1));
    rows_free(NULL);
    rows_init(NULL, 8);
}

#define MANY 10000u

static void test_ten_thousand_rows(void **state)
{
    struct sipha_rows *r = *state;
    uint32_t *idx = malloc(MANY * sizeof *idx);
    assert_non_null(idx);
    for (uint32_t i = 0; i < MANY; i++)
        idx[i] = (i + 1) * 3; /* gaps, so exclusive/inclusive next differ */
    shuffle(idx, MANY, 12345);
    for (uint32_t i = 0; i < MANY; i++) {
        struct test_row row = mkrow(idx[i], idx[i] + 1);
        assert_non_null(rows_insert(r, &row));
    }
    assert_int_equal(r->count, MANY);
    assert_sorted(r);

    /* A GETNEXT walk visits every row once, in order. */
    uint32_t prev = 0, seen = 0;
    for (const struct test_row *p = rows_next(r, 0, false); p; p = rows_next(r, p->index, false)) {
        assert_true(p->index > prev);
        assert_int_equal(p->value, p->index + 1);
        prev = p->index;
        seen++;
    }
    assert_int_equal(seen, MANY);
    assert_int_equal(prev, MANY * 3);

    for (uint32_t i = 1; i <= MANY; i++) {
        assert_non_null(rows_find(r, i * 3));
        assert_null(rows_find(r, i * 3 - 1));
        assert_int_equal(idx_of(rows_next(r, i * 3 - 2, true)), i * 3);
    }

    /* Remove every other row in shuffled order; the rest stays sorted and findable. */
    for (uint32_t i = 0; i < MANY; i++)
        if (idx[i] % 2 == 0)
            assert_true(rows_remove(r, idx[i]));
    assert_int_equal(r->count, MANY / 2);
    assert_sorted(r);
    for (uint32_t i = 1; i <= MANY; i++) {
        if ((i * 3) % 2 == 0)
            assert_null(rows_find(r, i * 3));
        else
            assert_int_equal(((struct test_row *)rows_find(r, i * 3))->value, i * 3 + 1);
    }
    free(idx);
}

/* instance_init: the defaults the MIB shows before the engine has decided anything. */
static void test_instance_defaults(void **state)
{
    (void)state;
    struct sipha_instance in;
    memset(&in, 0x5a, sizeof in); /* garbage must not survive */
    instance_init(&in);
    /* No engine yet: the state an engine starts in, and the boot options. */
    assert_null(in.ha);
    const struct ha_state *st = instance_ha(&in);
    assert_int_equal(st->role, HA_ROLE_UNKNOWN);
    assert_int_equal(st->status, HA_STATUS_INITIALIZING);
    assert_int_equal(st->traffic, HA_TRAFFIC_UNKNOWN);
    assert_int_equal(st->peer_link, HA_LINK_NOT_CONFIGURED);
    assert_int_equal(st->arbiter, HA_LINK_NOT_CONFIGURED);
    assert_int_equal(in.admin_cmd, HA_CMD_NONE);
    assert_int_equal(st->admin_result, HA_RESULT_NONE);
    assert_int_equal(st->last_reason, HA_REASON_NONE);
    assert_int_equal(st->backoff_factor, 1);
    assert_int_equal(instance_options(&in), 0);
    assert_int_equal(instance_epoch(&in), 0);
    assert_int_equal(st->switchovers, 0);
    assert_int_equal(st->sip_msgs, 0);
    assert_int_equal(instance_peer_role(&in), HA_ROLE_UNKNOWN);
    assert_false(instance_peer_hears_us(&in));
    assert_null(in.link);
    assert_null(in.queue);
    /* With an engine, its state is what the instance shows. */
    static struct ha_state engine_state;
    engine_state.options = HA_OPT_SIP_PASS_CHECK;
    engine_state.epoch = 9;
    in.boot_options = HA_OPT_TLIB_NIC_MONITORING;
    in.ha = &engine_state;
    assert_int_equal(instance_options(&in), HA_OPT_SIP_PASS_CHECK);
    assert_int_equal(instance_epoch(&in), 9);
    assert_int_equal(instance_peer_role(&in), HA_ROLE_UNKNOWN); /* never heard */
    in.ha = NULL;
    assert_int_equal(instance_options(&in), HA_OPT_TLIB_NIC_MONITORING);
    assert_int_equal(in.name[0], '\0');
    assert_int_equal(in.sip_addr.family, 0);
    assert_int_equal(in.events.limit, EVLOG_DEFAULT_LIMIT);
    assert_int_equal(in.events.count, 0);
    assert_int_equal(in.nics.size, sizeof(struct sipha_nic));
    assert_int_equal(in.vips.size, sizeof(struct sipha_vip));
    assert_int_equal(in.dns.size, sizeof(struct sipha_dn));
    assert_int_equal(in.contacts.size, sizeof(struct sipha_contact));
    assert_int_equal(in.nics.count + in.vips.count + in.dns.count + in.contacts.count, 0);

    /* The tables work, and instance_free releases them (valgrind/ASan check leaks). */
    struct sipha_dn dn = { .index = 2, .oos_check = 10 };
    assert_non_null(rows_insert(&in.dns, &dn));
    struct sipha_contact c = { .index = 1, .origin = CONTACT_SYNCED };
    assert_non_null(rows_insert(&in.contacts, &c));
    assert_int_equal(((struct sipha_dn *)rows_find(&in.dns, 2))->oos_check, 10);
    instance_free(&in);
    assert_int_equal(in.dns.count, 0);
    assert_null(in.dns.items);
    instance_free(NULL);
    instance_init(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_random_order_inserts_sorted, setup_rows, teardown_rows),
        cmocka_unit_test_setup_teardown(test_insert_replaces_same_index, setup_rows, teardown_rows),
        cmocka_unit_test_setup_teardown(test_remove, setup_rows, teardown_rows),
        cmocka_unit_test_setup_teardown(test_next_edges, setup_rows, teardown_rows),
        cmocka_unit_test_setup_teardown(test_empty_table, setup_rows, teardown_rows),
        cmocka_unit_test_setup_teardown(test_index_zero_rejected, setup_rows, teardown_rows),
        cmocka_unit_test(test_uninitialised_or_null_rows),
        cmocka_unit_test_setup_teardown(test_ten_thousand_rows, setup_rows, teardown_rows),
        cmocka_unit_test(test_instance_defaults),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
