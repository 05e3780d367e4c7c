/* OID parsing and row ordering behind GETNEXT: every table walks its rows in index
 * order, GETNEXT from any point lands on the right row, bad OIDs are rejected. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "mib_table.h"

static void build_and_parse_round_trip(void **state)
{
    (void)state;
    oid name[MAX_OID_LEN];
    size_t len = mib_oid_build(name, SIPHA_T_DN, DN_COL_URI, 7, 42, true);
    assert_int_equal(len, MIB_COLUMN_PREFIX_LEN + 1);
    struct mib_pos pos;
    bool has_row, extra;
    assert_int_equal(mib_oid_parse(name, len, &pos, &has_row, &extra), 0);
    assert_int_equal(pos.table, SIPHA_T_DN);
    assert_int_equal(pos.column, DN_COL_URI);
    assert_int_equal(pos.instance, 7);
    assert_int_equal(pos.row, 42);
    assert_true(has_row);
    assert_false(extra);
    name[len] = 5; /* deeper than a row */
    assert_int_equal(mib_oid_parse(name, len + 1, &pos, &has_row, &extra), 0);
    assert_true(extra);
}

static void parse_rejects_bad_oids(void **state)
{
    (void)state;
    oid name[MAX_OID_LEN];
    struct mib_pos pos;
    bool has_row, extra;
    size_t len = mib_oid_build(name, SIPHA_T_INSTANCE, INST_COL_NAME, 1, 0, false);
    assert_int_equal(mib_oid_parse(name, len - 1, &pos, &has_row, &extra), -1); /* too short */
    name[len - 2] = 1; /* index column: not readable */
    assert_int_equal(mib_oid_parse(name, len, &pos, &has_row, &extra), -1);
    name[len - 2] = INST_COL_LAST + 1;
    assert_int_equal(mib_oid_parse(name, len, &pos, &has_row, &extra), -1);
    name[len - 2] = INST_COL_NAME;
    name[len - 1] = (oid)UINT32_MAX + 1; /* instance beyond Unsigned32 */
    assert_int_equal(mib_oid_parse(name, len, &pos, &has_row, &extra), -1);
    len = mib_oid_build(name, 7, 2, 1, 0, false); /* no table 7 */
    assert_int_equal(mib_oid_parse(name, len, &pos, &has_row, &extra), -1);
    len = mib_oid_build(name, SIPHA_T_NIC, 2, 1, 0, false);
    name[len - 3] = 2; /* entry must be .1 */
    assert_int_equal(mib_oid_parse(name, len, &pos, &has_row, &extra), -1);
}

static void next_row_in_index_order(void **state)
{
    (void)state;
    struct sipha_instance in;
    instance_init(&in);
    const uint32_t order[] = { 30, 10, 20, 5, 40 };
    for (size_t i = 0; i < 5; i++) {
        struct sipha_dn d = { .index = order[i] };
        rows_insert(&in.dns, &d);
    }
    uint32_t r = 0, walked[5], n = 0;
    while ((r = mib_next_row(&in, SIPHA_T_DN, r, false)) != 0 && n < 6)
        walked[n++] = r;
    assert_int_equal(n, 5);
    const uint32_t sorted[] = { 5, 10, 20, 30, 40 };
    assert_memory_equal(walked, sorted, sizeof(sorted));
    assert_int_equal(mib_next_row(&in, SIPHA_T_DN, 20, true), 20);
    assert_int_equal(mib_next_row(&in, SIPHA_T_DN, 21, true), 30);
    assert_int_equal(mib_next_row(&in, SIPHA_T_DN, 40, false), 0);
    assert_int_equal(mib_next_row(&in, SIPHA_T_NIC, 0, false), 0); /* empty table */
    assert_int_equal(mib_next_row(&in, SIPHA_T_INSTANCE, 0, false), 0);
    instance_free(&in);
}

static void next_event_across_wrap(void **state)
{
    (void)state;
    struct sipha_instance in;
    instance_init(&in);
    evlog_set_limit(&in.events, 4);
    in.events.next_index = UINT32_MAX - 1;
    struct evlog_entry e = { .alarm = ALARM_NONE };
    for (int i = 0; i < 4; i++)
        evlog_append(&in.events, &e); /* UINT32_MAX-1, UINT32_MAX, 1, 2 */
    assert_int_equal(mib_next_row(&in, SIPHA_T_EVENT, 0, false), 1);
    assert_int_equal(mib_next_row(&in, SIPHA_T_EVENT, 2, false), UINT32_MAX - 1);
    assert_int_equal(mib_next_row(&in, SIPHA_T_EVENT, UINT32_MAX - 1, false), UINT32_MAX);
    assert_int_equal(mib_next_row(&in, SIPHA_T_EVENT, UINT32_MAX, false), 0);
    instance_free(&in);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(build_and_parse_round_trip),
        cmocka_unit_test(parse_rejects_bad_oids),
        cmocka_unit_test(next_row_in_index_order),
        cmocka_unit_test(next_event_across_wrap),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
