/* The event log ring: indexes, dropping the oldest, limit changes, lookups in index
 * order across the UINT32_MAX → 1 wrap, and persistence that round-trips any text
 * and refuses every malformed file without touching the log. */
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "eventlog.h"

static struct evlog_entry entry(const char *text)
{
    struct evlog_entry e;
    memset(&e, 0, sizeof(e));
    snprintf(e.id, sizeof(e.id), "00-52027");
    e.code = 52027;
    e.severity = SEV_STANDARD;
    e.mono_ms = 1234;
    e.wall_ms = 1700000000000;
    snprintf(e.text, sizeof(e.text), "%s", text);
    e.notif = HA_NOTIF_NIC_FAILURE;
    e.alarm = ALARM_NONE;
    return e;
}

static uint32_t append(struct evlog *log, const char *text)
{
    struct evlog_entry e = entry(text);
    struct evlog_entry *s = evlog_append(log, &e);
    assert_non_null(s);
    return s->index;
}

/* The indexes in index order, as GETNEXT walks them. */
static size_t walk(const struct evlog *log, uint32_t *out, size_t max)
{
    size_t n = 0;
    for (const struct evlog_entry *e = evlog_next(log, 0, false); e && n < max;
         e = evlog_next(log, e->index, false))
        out[n++] = e->index;
    return n;
}

static char *save_string(const struct evlog *log)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    assert_non_null(f);
    assert_int_equal(evlog_save(log, f), 0);
    fclose(f);
    return buf;
}

static int load_bytes(struct evlog *log, const char *data, size_t len)
{
    FILE *f = fmemopen((void *)data, len, "r");
    assert_non_null(f);
    int rc = evlog_load(log, f);
    fclose(f);
    return rc;
}

static int load_string(struct evlog *log, const char *data)
{
    return load_bytes(log, data, strlen(data));
}

static void init_rejects_bad_limits(void **state)
{
    (void)state;
    struct evlog log;
    assert_int_equal(evlog_init(&log, 0), -1);
    assert_int_equal(evlog_init(&log, 100001), -1);
    assert_int_equal(evlog_init(&log, 3), 0);
    assert_int_equal(log.count, 0);
    assert_int_equal(log.next_index, 1);
    assert_null(evlog_find(&log, 1));
    assert_null(evlog_next(&log, 0, true));
    evlog_free(&log);
    evlog_free(&log); /* twice is harmless */
}

static void append_assigns_indexes_and_copies(void **state)
{
    (void)state;
    struct evlog log;
    assert_int_equal(evlog_init(&log, 4), 0);
    struct evlog_entry e = entry("first");
    e.index = 999; /* ignored: the log assigns */
    memset(e.id, 'X', sizeof(e.id)); /* not terminated */
    struct evlog_entry *s = evlog_append(&log, &e);
    assert_non_null(s);
    assert_int_equal(s->index, 1);
    assert_int_equal(strlen(s->id), EVLOG_ID_MAX - 1);
    assert_int_equal(append(&log, "second"), 2);
    assert_int_equal(append(&log, "third"), 3);
    assert_string_equal(evlog_find(&log, 2)->text, "second");
    assert_null(evlog_find(&log, 0));
    assert_null(evlog_find(&log, 4));
    assert_int_equal(evlog_next(&log, 1, false)->index, 2);
    assert_int_equal(evlog_next(&log, 2, true)->index, 2);
    assert_null(evlog_next(&log, 3, false));
    assert_null(evlog_next(&log, UINT32_MAX, false));
    evlog_free(&log);
}

static void full_ring_drops_oldest(void **state)
{
    (void)state;
    struct evlog log;
    assert_int_equal(evlog_init(&log, 3), 0);
    for (int i = 0; i < 5; i++)
        append(&log, "x");
    assert_int_equal(log.count, 3);
    assert_int_equal(log.dropped, 2);
    assert_null(evlog_find(&log, 1));
    assert_null(evlog_find(&log, 2));
    uint32_t idx[8];
    assert_int_equal(walk(&log, idx, 8), 3);
    assert_int_equal(idx[0], 3);
    assert_int_equal(idx[2], 5);
    assert_int_equal(evlog_next(&log, 0, false)->index, 3);
    evlog_free(&log);
}

static void set_limit_keeps_newest(void **state)
{
    (void)state;
    struct evlog log;
    assert_int_equal(evlog_init(&log, 5), 0);
    for (int i = 0; i < 7; i++) /* ring wrapped in memory: head is not 0 */
        append(&log, "x");
    assert_int_equal(log.dropped, 2);
    assert_int_equal(evlog_set_limit(&log, 0), -1);
    assert_int_equal(evlog_set_limit(&log, 100001), -1);
    assert_int_equal(log.limit, 5);
    assert_int_equal(evlog_set_limit(&log, 2), 0);
    assert_int_equal(log.count, 2);
    assert_int_equal(log.dropped, 5);
    assert_int_equal(evlog_next(&log, 0, false)->index, 6);
    assert_int_equal(evlog_find(&log, 7)->index, 7);
    assert_int_equal(evlog_set_limit(&log, 10), 0); /* growing keeps everything */
    assert_int_equal(log.count, 2);
    assert_int_equal(append(&log, "y"), 8);
    uint32_t idx[8];
    assert_int_equal(walk(&log, idx, 8), 3);
    assert_int_equal(idx[0], 6);
    assert_int_equal(idx[2], 8);
    evlog_free(&log);
}

static void wrap_skips_zero_and_lookups_follow_index_order(void **state)
{
    (void)state;
    struct evlog log;
    const uint32_t M = UINT32_MAX;
    assert_int_equal(evlog_init(&log, 6), 0);
    log.next_index = M - 2;
    uint32_t got[6];
    for (int i = 0; i < 6; i++)
        got[i] = append(&log, "w");
    assert_int_equal(got[2], M);
    assert_int_equal(got[3], 1); /* never 0 */
    assert_int_equal(got[5], 3);
    uint32_t idx[8];
    assert_int_equal(walk(&log, idx, 8), 6);
    const uint32_t want[6] = { 1, 2, 3, M - 2, M - 1, M };
    for (int i = 0; i < 6; i++)
        assert_int_equal(idx[i], want[i]);
    assert_int_equal(evlog_find(&log, M)->index, M);
    assert_null(evlog_find(&log, 4));
    assert_null(evlog_find(&log, M - 3));
    assert_int_equal(evlog_next(&log, 3, false)->index, M - 2);
    assert_int_equal(evlog_next(&log, 4, true)->index, M - 2);
    assert_int_equal(evlog_next(&log, 3, true)->index, 3);
    assert_null(evlog_next(&log, M, false));
    evlog_free(&log);
}

/* Reference: smallest index >= target by a scan of every entry. */
static uint32_t scan_at_least(const struct evlog *log, uint64_t target)
{
    uint64_t best = UINT64_MAX;
    for (size_t k = 0; k < log->count; k++) {
        uint32_t i = log->ring[(log->head + k) % log->limit].index;
        if (i >= target && i < best)
            best = i;
    }
    return best == UINT64_MAX ? 0 : (uint32_t)best;
}

/* Every placement of the wrap and of the ring head, probed against a scan. */
static void lookups_match_scan_for_every_wrap_position(void **state)
{
    (void)state;
    const uint32_t M = UINT32_MAX;
    for (size_t limit = 1; limit <= 7; limit++) {
        for (uint32_t before = 0; before <= 9; before++) {
            struct evlog log;
            assert_int_equal(evlog_init(&log, limit), 0);
            log.next_index = M - before;
            for (int i = 0; i < 12; i++) {
                append(&log, "p");
                const uint32_t probes[] = { 0, 1, 2, 3, 4, 5, 8, 12, M - 10, M - 5, M - 3,
                                            M - 2, M - 1, M };
                for (size_t p = 0; p < sizeof(probes) / sizeof(probes[0]); p++) {
                    uint32_t t = probes[p];
                    const struct evlog_entry *inc = evlog_next(&log, t, true);
                    const struct evlog_entry *exc = evlog_next(&log, t, false);
                    assert_int_equal(inc ? inc->index : 0, scan_at_least(&log, t));
                    assert_int_equal(exc ? exc->index : 0, scan_at_least(&log, (uint64_t)t + 1));
                    const struct evlog_entry *f = evlog_find(&log, t);
                    assert_int_equal(f != NULL, t != 0 && scan_at_least(&log, t) == t);
                }
            }
            evlog_free(&log);
        }
    }
}

static void assert_same_entries(const struct evlog *a, const struct evlog *b)
{
    assert_int_equal(a->count, b->count);
    assert_int_equal(a->next_index, b->next_index);
    assert_int_equal(a->dropped, b->dropped);
    for (size_t k = 0; k < a->count; k++) {
        const struct evlog_entry *x = &a->ring[(a->head + k) % a->limit];
        const struct evlog_entry *y = &b->ring[(b->head + k) % b->limit];
        assert_int_equal(x->index, y->index);
        assert_string_equal(x->id, y->id);
        assert_int_equal(x->code, y->code);
        assert_int_equal(x->severity, y->severity);
        assert_true(x->mono_ms == y->mono_ms);
        assert_true(x->wall_ms == y->wall_ms);
        assert_string_equal(x->text, y->text);
        assert_int_equal(x->notif, y->notif);
        assert_int_equal(x->alarm, y->alarm);
    }
}

static void save_load_round_trips_nasty_text(void **state)
{
    (void)state;
    static const char *const texts[] = {
        "line one\nline two\r\nend",
        "tab\there\\t not a tab, backslash at end \\",
        "\\x41 literal escape text, \\\\ double",
        "control \x01\x02\x1f\x7f bytes",
        "UTF-8: caf\xc3\xa9 \xe2\x80\x94 \xe6\x97\xa5\xe6\x9c\xac, raw 0xff: \xff\xfe",
        "",
    };
    struct evlog a, b;
    assert_int_equal(evlog_init(&a, 8), 0);
    a.next_index = UINT32_MAX - 2; /* the saved ring crosses the wrap */
    for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
        struct evlog_entry e = entry(texts[i]);
        snprintf(e.id, sizeof(e.id), "id\t%zu\n\\", i);
        e.severity = (enum notif_severity)(1 + i % 5);
        e.alarm = (enum alarm_state)(1 + i % 3);
        e.notif = (unsigned)(i * 4);
        e.code = i == 0 ? UINT_MAX : (unsigned)i;
        e.mono_ms = i == 1 ? UINT64_MAX : i;
        e.wall_ms = i == 2 ? INT64_MIN : i == 3 ? INT64_MAX : -(int64_t)i;
        assert_non_null(evlog_append(&a, &e));
    }
    char max_text[EVLOG_TEXT_MAX];
    memset(max_text, '\n', sizeof(max_text) - 1); /* longest text, all escaped */
    max_text[sizeof(max_text) - 1] = '\0';
    append(&a, max_text);
    a.dropped = 4000000000u;
    char *saved = save_string(&a);
    assert_int_equal(evlog_init(&b, 8), 0);
    append(&b, "replaced by the load");
    assert_int_equal(load_string(&b, saved), 0);
    assert_same_entries(&a, &b);
    assert_int_equal(evlog_next(&b, 0, false)->index, 1);
    assert_int_equal(append(&b, "after load"), a.next_index); /* numbering continues */
    free(saved);
    evlog_free(&a);
    evlog_free(&b);
}

static void load_into_smaller_limit_keeps_newest(void **state)
{
    (void)state;
    struct evlog a, b;
    assert_int_equal(evlog_init(&a, 10), 0);
    for (int i = 0; i < 6; i++)
        append(&a, "e");
    char *saved = save_string(&a);
    assert_int_equal(evlog_init(&b, 4), 0);
    assert_int_equal(load_string(&b, saved), 0);
    assert_int_equal(b.count, 4);
    assert_int_equal(b.dropped, 2);
    assert_int_equal(b.limit, 4);
    assert_int_equal(evlog_next(&b, 0, false)->index, 3);
    assert_int_equal(b.next_index, 7);
    free(saved);
    evlog_free(&a);
    evlog_free(&b);
}

static void load_empty_log(void **state)
{
    (void)state;
    struct evlog log;
    assert_int_equal(evlog_init(&log, 4), 0);
    append(&log, "gone");
    assert_int_equal(load_string(&log, "sipha-evlog\t1\t77\t5\t0\n"), 0);
    assert_int_equal(log.count, 0);
    assert_int_equal(log.next_index, 77);
    assert_int_equal(log.dropped, 5);
    assert_int_equal(append(&log, "new"), 77);
    evlog_free(&log);
}

#define HDR "sipha-evlog\t1\t3\t0\t2\n"
#define E1 "1\t00-52027\t52027\t2\t10\t-5\t11\t1\tone\n"
#define E2 "2\t00-52028\t52028\t2\t20\t6\t12\t1\ttwo\n"

static const char *const malformed[] = {
    "",                                              /* empty */
    "\n",
    "sipha-evlog\t1\t3\t0\t2",                       /* header without newline */
    "sipha-evlog\t2\t3\t0\t2\n" E1 E2,               /* unknown version */
    "sipha-evlogX\t1\t3\t0\t2\n" E1 E2,              /* bad magic */
    "sipha-evlog\t1\t3\t0\n" E1 E2,                  /* header field missing */
    "sipha-evlog\t1\t3\t0\t2\t9\n" E1 E2,            /* header field extra */
    "sipha-evlog\t1\t0\t0\t0\n",                     /* next_index 0 */
    "sipha-evlog\t1\t3\t4294967296\t2\n" E1 E2,      /* dropped overflows */
    "sipha-evlog\t1\t+3\t0\t2\n" E1 E2,              /* signs are not numbers */
    "sipha-evlog\t1\t 3\t0\t2\n" E1 E2,
    "sipha-evlog\t1\t3\t0\t3\n" E1 E2,               /* count says more lines */
    HDR E1,                                          /* missing entry */
    HDR E1 E2 E2,                                    /* trailing line */
    HDR E1 E2 "\n",                                  /* trailing empty line */
    HDR E1 "2\t00-52028\t52028\t2\t20\t6\t12\t1\ttwo", /* last line unterminated */
    "sipha-evlog\t1\t4\t0\t2\n" E1 E2,               /* next_index not after the last */
    "sipha-evlog\t1\t4\t0\t2\n" E1 "3\tx\t1\t2\t1\t1\t0\t1\tgap\n", /* gap */
    "sipha-evlog\t1\t2\t0\t2\n" E2 E1,               /* descending */
    "sipha-evlog\t1\t2\t0\t2\n" E1 "1\tx\t1\t2\t1\t1\t0\t1\tdup\n", /* duplicate */
    "sipha-evlog\t1\t1\t0\t1\n0\tx\t1\t2\t1\t1\t0\t1\tzero\n", /* index 0 */
    "sipha-evlog\t1\t2\t0\t1\n" "1\tx\t1\t0\t1\t1\t0\t1\tsev0\n",
    "sipha-evlog\t1\t2\t0\t1\n" "1\tx\t1\t6\t1\t1\t0\t1\tsev6\n",
    "sipha-evlog\t1\t2\t0\t1\n" "1\tx\t1\t2\t1\t1\t0\t0\talarm0\n",
    "sipha-evlog\t1\t2\t0\t1\n" "1\tx\t1\t2\t1\t1\t0\t4\talarm4\n",
    "sipha-evlog\t1\t2\t0\t1\n" "1\tx\t1\t2\t1\t1\t24\t1\tnotif24\n",
    "sipha-evlog\t1\t2\t0\t1\n" "1\tx\t4294967296\t2\t1\t1\t0\t1\tcode\n",
    "sipha-evlog\t1\t2\t0\t1\n" "1\tx\t1\t2\t18446744073709551616\t1\t0\t1\tmono\n",
    "sipha-evlog\t1\t2\t0\t1\n" "1\tx\t1\t2\t1\t-9223372036854775809\t0\t1\twall\n",
    "sipha-evlog\t1\t2\t0\t1\n" "1\tx\t1\t2\t1\t--1\t0\t1\twall\n",
    "sipha-evlog\t1\t2\t0\t1\n" "1\tx\t1\t2\t1\t-\t0\t1\twall\n",
    "sipha-evlog\t1\t2\t0\t1\n" "1\tx\t1a\t2\t1\t1\t0\t1\tjunk\n",
    "sipha-evlog\t1\t2\t0\t1\n" "1\tx\t\t2\t1\t1\t0\t1\tempty\n",
    "sipha-evlog\t1\t2\t0\t1\n" "1\tx\t1\t2\t1\t1\t0\t1\n",          /* field missing */
    "sipha-evlog\t1\t2\t0\t1\n" "1\tx\t1\t2\t1\t1\t0\t1\ta\tb\n",     /* raw tab in text */
    "sipha-evlog\t1\t2\t0\t1\n" "1\tx\t1\t2\t1\t1\t0\t1\tbad \\q escape\n",
    "sipha-evlog\t1\t2\t0\t1\n" "1\tx\t1\t2\t1\t1\t0\t1\ttruncated \\x4\n",
    "sipha-evlog\t1\t2\t0\t1\n" "1\tx\t1\t2\t1\t1\t0\t1\tnot hex \\xg1\n",
    "sipha-evlog\t1\t2\t0\t1\n" "1\tx\t1\t2\t1\t1\t0\t1\tescaped nul \\x00\n",
    "sipha-evlog\t1\t2\t0\t1\n" "1\tx\t1\t2\t1\t1\t0\t1\tnot hex \\x1g\n",
    "sipha-evlog\t1\t2\t0\t1\n" "1\tx\t1\t2\t1\t1\t0\t1\tprefix \\x0x41\n",
    "sipha-evlog\t1\t2\t0\t1\n" "1\tx\t1\t2\t1\t1\t0\t1\tspace \\x 1\n",
    "sipha-evlog\t1\t2\t0\t1\n" "1\tx\t1\t2\t1\t1\t0\t1\tends in \\x\n",
    "sipha-evlog\t1\t2\t0\t1\n" "1\tx\\x\t1\t2\t1\t1\t0\t1\tid ends in \\x\n",
    "sipha-evlog\t1\t2\t0\t1\n" "1\tx\t1\t2\t1\t1\t0\t1\tends in \\\n",
    "sipha-evlog\t1\t2\t0\t1\n" "1\tx\t1\t2\t1\t1\t0\t1\traw \x01 control\n",
    "sipha-evlog\t1\t2\t0\t1\n" "1\tx\t1\t2\t1\t1\t0\t1\traw CR\r\n",
    "sipha-evlog\t1\t2\t0\t1\n" "1\t0123456789abcdef\t1\t2\t1\t1\t0\t1\tid too long\n",
};

static void assert_rejected_untouched(const char *data, size_t len)
{
    struct evlog log;
    assert_int_equal(evlog_init(&log, 5), 0);
    for (int i = 0; i < 7; i++)
        append(&log, "keep me");
    char *before = save_string(&log);
    struct evlog_entry *ring = log.ring;
    if (load_bytes(&log, data, len) != -1)
        fail_msg("accepted malformed input: %.*s", (int)len, data);
    assert_ptr_equal(log.ring, ring);
    assert_int_equal(log.count, 5);
    char *after = save_string(&log);
    assert_string_equal(before, after);
    free(before);
    free(after);
    evlog_free(&log);
}

static void malformed_loads_leave_log_untouched(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(malformed) / sizeof(malformed[0]); i++)
        assert_rejected_untouched(malformed[i], strlen(malformed[i]));
}

static void malformed_lengths_and_bytes(void **state)
{
    (void)state;
    /* Text one byte too long once decoded. */
    char line[2 * EVLOG_TEXT_MAX + 128];
    int n = snprintf(line, sizeof(line), "sipha-evlog\t1\t2\t0\t1\n1\tx\t1\t2\t1\t1\t0\t1\t");
    memset(line + n, 'a', EVLOG_TEXT_MAX);
    strcpy(line + n + EVLOG_TEXT_MAX, "\n");
    assert_rejected_untouched(line, strlen(line));
    /* The longest valid text is accepted (the limit is not off by one). */
    line[n + EVLOG_TEXT_MAX - 1] = '\n';
    line[n + EVLOG_TEXT_MAX] = '\0';
    struct evlog log;
    assert_int_equal(evlog_init(&log, 2), 0);
    assert_int_equal(load_string(&log, line), 0);
    assert_int_equal(strlen(evlog_find(&log, 1)->text), EVLOG_TEXT_MAX - 1);
    evlog_free(&log);
    /* A NUL byte inside a line. */
    static const char nul[] = "sipha-evlog\t1\t2\t0\t1\n1\tx\t1\t2\t1\t1\t0\t1\tnul\0here\n";
    assert_rejected_untouched(nul, sizeof(nul) - 1);
    /* A huge line. */
    size_t big = 1 << 16;
    char *huge = malloc(big + 64);
    assert_non_null(huge);
    n = snprintf(huge, 64, "sipha-evlog\t1\t2\t0\t1\n1\tx\t1\t2\t1\t1\t0\t1\t");
    memset(huge + n, 'b', big);
    huge[n + big] = '\n';
    assert_rejected_untouched(huge, (size_t)n + big + 1);
    free(huge);
}

static void load_decodes_hex_escapes(void **state)
{
    (void)state;
    struct evlog log;
    assert_int_equal(evlog_init(&log, 2), 0);
    /* Either case, a digit pair followed by more hex digits, the highest control
     * byte, in the id and in the text. */
    assert_int_equal(load_string(&log, "sipha-evlog\t1\t2\t0\t1\n"
                                       "1\ti\\x09d\t1\t2\t1\t1\t0\t1\t"
                                       "a\\x01b\\x1Fc\\x1fd\\x7Fe\\x7f41\n"),
                     0);
    const struct evlog_entry *e = evlog_find(&log, 1);
    assert_non_null(e);
    assert_string_equal(e->id, "i\td");
    assert_string_equal(e->text, "a\x01" "b\x1f" "c\x1f" "d\x7f" "e\x7f" "41");
    evlog_free(&log);
}

static void load_and_save_refuse_bad_handles(void **state)
{
    (void)state;
    struct evlog log;
    memset(&log, 0, sizeof(log)); /* never initialised */
    assert_int_equal(load_string(&log, "sipha-evlog\t1\t1\t0\t0\n"), -1);
    assert_null(evlog_append(&log, NULL));
    assert_int_equal(evlog_init(&log, 2), 0);
    assert_int_equal(evlog_load(&log, NULL), -1);
    assert_int_equal(evlog_save(&log, NULL), -1);
    evlog_free(&log);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(init_rejects_bad_limits),
        cmocka_unit_test(append_assigns_indexes_and_copies),
        cmocka_unit_test(full_ring_drops_oldest),
        cmocka_unit_test(set_limit_keeps_newest),
        cmocka_unit_test(wrap_skips_zero_and_lookups_follow_index_order),
        cmocka_unit_test(lookups_match_scan_for_every_wrap_position),
        cmocka_unit_test(save_load_round_trips_nasty_text),
        cmocka_unit_test(load_into_smaller_limit_keeps_newest),
        cmocka_unit_test(load_empty_log),
        cmocka_unit_test(malformed_loads_leave_log_untouched),
        cmocka_unit_test(malformed_lengths_and_bytes),
        cmocka_unit_test(load_decodes_hex_escapes),
        cmocka_unit_test(load_and_save_refuse_bad_handles),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
