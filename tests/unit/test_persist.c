/* test_persist.c — the per-instance state file: round trip of the option flags and
 * the event log, atomic replacement (no temporary left, a crash's leftover ignored
 * and cleaned), mode 0600 in a 0700 directory, and malformed files refused with the
 * instance unchanged. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "persist.h"

#define ERR_MAX 512

struct fixture {
    char root[64];     /* a fresh temporary directory */
    char dir[128];     /* state dir inside it, not created yet */
    char file[192];    /* dir/instance-3.state */
};

static int fx_setup(void **state)
{
    struct fixture *fx = calloc(1, sizeof(*fx));
    if (!fx)
        return -1;
    snprintf(fx->root, sizeof fx->root, "/tmp/sipha-test-persist-XXXXXX");
    if (!mkdtemp(fx->root))
        return -1;
    snprintf(fx->dir, sizeof fx->dir, "%s/var/state", fx->root);
    snprintf(fx->file, sizeof fx->file, "%s/instance-3.state", fx->dir);
    *state = fx;
    return 0;
}

/* Removes everything the tests may have made (two levels of directories). */
static void rm_tree(const char *path)
{
    DIR *d = opendir(path);
    if (d) {
        struct dirent *e;
        while ((e = readdir(d)) != NULL) {
            if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
                continue;
            char sub[512];
            snprintf(sub, sizeof sub, "%s/%s", path, e->d_name);
            rm_tree(sub);
        }
        closedir(d);
        rmdir(path);
    } else {
        unlink(path);
    }
}

static int fx_teardown(void **state)
{
    struct fixture *fx = *state;
    rm_tree(fx->root);
    free(fx);
    return 0;
}

static void inst_init(struct sipha_instance *in, uint32_t index)
{
    memset(in, 0, sizeof(*in));
    in->index = index;
    assert_int_equal(evlog_init(&in->events, 100), 0);
}

static void add_event(struct sipha_instance *in, const char *id, unsigned code,
                      enum alarm_state alarm, const char *text)
{
    struct evlog_entry e;
    memset(&e, 0, sizeof e);
    snprintf(e.id, sizeof e.id, "%s", id);
    e.code = code;
    e.severity = alarm == ALARM_NONE ? SEV_STANDARD : SEV_ALARM;
    e.mono_ms = 1000 + code;
    e.wall_ms = 1700000000000LL + code;
    snprintf(e.text, sizeof e.text, "%s", text);
    e.alarm = alarm;
    assert_non_null(evlog_append(&in->events, &e));
}

/* An instance with options and three events, one alarm active and one cleared. */
static void sample(struct sipha_instance *in)
{
    inst_init(in, 3);
    in->boot_options = HA_OPT_SIP_PASS_CHECK | HA_OPT_SIP_NIC_MONITORING;
    add_event(in, "00-04200", 4200, ALARM_ACTIVE, "SIP listener bind failed on 192.0.2.10:5060");
    add_event(in, "00-52027", 52027, ALARM_CLEARED, "SIP NIC eth1 down");
    add_event(in, "00-52028", 52028, ALARM_NONE, "SIP NIC eth1 up");
}

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    assert_int_equal(fclose(f), 0);
}

static char *read_text(const char *path)
{
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    static char buf[65536];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

static int count_entries(const char *dir)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
            n++;
    closedir(d);
    return n;
}

static void assert_same_events(const struct evlog *a, const struct evlog *b)
{
    assert_int_equal(a->count, b->count);
    assert_int_equal(a->next_index, b->next_index);
    for (uint32_t i = 1; i < a->next_index; i++) {
        const struct evlog_entry *x = evlog_find(a, i), *y = evlog_find(b, i);
        assert_non_null(x);
        assert_non_null(y);
        assert_string_equal(x->id, y->id);
        assert_int_equal(x->code, y->code);
        assert_int_equal(x->severity, y->severity);
        assert_string_equal(x->text, y->text);
        assert_int_equal(x->alarm, y->alarm);
    }
}

static void test_round_trip(void **state)
{
    struct fixture *fx = *state;
    struct sipha_instance a, b;
    char err[ERR_MAX] = "";
    sample(&a);
    if (persist_save(fx->dir, &a, err, sizeof err) != 0)
        fail_msg("%s", err);

    inst_init(&b, 3);
    b.boot_options = HA_OPT_TLIB_NIC_MONITORING;
    assert_int_equal(persist_load(fx->dir, &b, err, sizeof err), 1);
    assert_int_equal(b.boot_options, a.boot_options);
    assert_same_events(&a.events, &b.events);
    assert_int_equal(evlog_find(&b.events, 1)->alarm, ALARM_ACTIVE);
    assert_int_equal(evlog_find(&b.events, 2)->alarm, ALARM_CLEARED);

    /* a later save replaces the earlier one */
    a.boot_options = 0;
    evlog_find(&a.events, 1)->alarm = ALARM_CLEARED;
    assert_int_equal(persist_save(fx->dir, &a, err, sizeof err), 0);
    assert_int_equal(persist_load(fx->dir, &b, err, sizeof err), 1);
    assert_int_equal(b.boot_options, 0);
    assert_int_equal(evlog_find(&b.events, 1)->alarm, ALARM_CLEARED);
    assert_same_events(&a.events, &b.events);
    evlog_free(&a.events);
    evlog_free(&b.events);
}

static void test_no_file(void **state)
{
    struct fixture *fx = *state;
    struct sipha_instance in;
    char err[ERR_MAX] = "";
    inst_init(&in, 3);
    in.boot_options = HA_OPT_CONTROL_VIP_SCRIPTS;
    assert_int_equal(persist_load(fx->dir, &in, err, sizeof err), 0);
    assert_int_equal(in.boot_options, HA_OPT_CONTROL_VIP_SCRIPTS);
    assert_int_equal(in.events.count, 0);
    evlog_free(&in.events);
}

static void test_modes_and_no_temp(void **state)
{
    struct fixture *fx = *state;
    struct sipha_instance in;
    char err[ERR_MAX] = "";
    struct stat st;
    sample(&in);
    mode_t old = umask(0); /* the modes must not depend on the caller's umask */
    int rc = persist_save(fx->dir, &in, err, sizeof err);
    umask(old);
    assert_int_equal(rc, 0);
    assert_int_equal(stat(fx->dir, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0700);
    assert_int_equal(stat(fx->file, &st), 0);
    assert_true(S_ISREG(st.st_mode));
    assert_int_equal(st.st_mode & 07777, 0600);
    assert_int_equal(count_entries(fx->dir), 1); /* no temporary left behind */

    const char *text = read_text(fx->file);
    assert_int_equal(strncmp(text, "sipha-state 1\ninstance 3\noptions 17\nepoch 0\neventlog\n", 53), 0);
    size_t n = strlen(text);
    assert_true(n > 4);
    assert_string_equal(text + n - 4, "end\n");

    /* a second instance shares the directory without touching the first */
    in.index = 4;
    assert_int_equal(persist_save(fx->dir, &in, err, sizeof err), 0);
    assert_int_equal(count_entries(fx->dir), 2);
    evlog_free(&in.events);
}

static void test_leftover_temp(void **state)
{
    struct fixture *fx = *state;
    struct sipha_instance a, b;
    char err[ERR_MAX] = "", tmp[256], other[256];
    sample(&a);
    assert_int_equal(persist_save(fx->dir, &a, err, sizeof err), 0);

    /* a crash in the middle of a later save left a half-written temporary */
    snprintf(tmp, sizeof tmp, "%s/.instance-3.state.Ab12Cd", fx->dir);
    write_text(tmp, "sipha-state 1\ninstance 3\noptions 31\nepoch 2\neventlog\nsipha-ev");
    /* another instance's temporary is not ours to remove */
    snprintf(other, sizeof other, "%s/.instance-30.state.Xy98Zw", fx->dir);
    write_text(other, "x");

    inst_init(&b, 3);
    assert_int_equal(persist_load(fx->dir, &b, err, sizeof err), 1);
    assert_int_equal(b.boot_options, a.boot_options); /* the last complete save, not the temp */
    assert_same_events(&a.events, &b.events);
    assert_int_equal(access(tmp, F_OK), -1);
    assert_int_equal(access(other, F_OK), 0);
    evlog_free(&b.events);

    /* a crash before the very first rename: only the temporary exists */
    unlink(fx->file);
    write_text(tmp, "sipha-state 1\ninstance 3\n");
    inst_init(&b, 3);
    assert_int_equal(persist_load(fx->dir, &b, err, sizeof err), 0);
    assert_int_equal(b.boot_options, 0);
    assert_int_equal(access(tmp, F_OK), -1);
    evlog_free(&a.events);
    evlog_free(&b.events);
}

struct bad_case {
    const char *text;
    const char *want; /* expected after "file:" in the error */
};

static void test_malformed(void **state)
{
    struct fixture *fx = *state;
    struct sipha_instance good, in;
    char err[ERR_MAX];
    sample(&good);
    assert_int_equal(persist_save(fx->dir, &good, err, sizeof err), 0);
    char saved[65536];
    snprintf(saved, sizeof saved, "%s", read_text(fx->file));

    char cut[65536], junk[65536], cut_want[64];
    /* the whole file but its last line: the error points just past the end */
    snprintf(cut, sizeof cut, "%.*s", (int)(strlen(saved) - 4), saved);
    int lines = 0;
    for (const char *c = cut; *c; c++)
        lines += *c == '\n';
    snprintf(cut_want, sizeof cut_want, ":%d: missing final 'end' line", lines + 1);
    snprintf(junk, sizeof junk, "sipha-state 1\ninstance 3\noptions 1\nepoch 0\neventlog\n"
                                "this is not an event log\nend\n");
    const struct bad_case cases[] = {
        { "", ":1: expected 'sipha-state 1'" },
        { "\x7f" "ELF\x01\x02\x03\n", ":1: expected 'sipha-state 1'" },
        { "sipha-state 2\ninstance 3\noptions 0\nepoch 0\neventlog\nend\n", ":1: expected 'sipha-state 1'" },
        { "sipha-state 1x\n", ":1: expected 'sipha-state 1'" },
        { "sipha-state 1\ninstance 4\noptions 0\nepoch 0\neventlog\nend\n", ":2: expected 'instance 3'" },
        { "sipha-state 1\ninstance 3\noptions 64\nepoch 0\neventlog\nend\n", ":3: expected 'options N'" },
        { "sipha-state 1\ninstance 3\noptions -1\nepoch 0\neventlog\nend\n", ":3: expected 'options N'" },
        { "sipha-state 1\ninstance 3\noptions 99999999999\n", ":3: expected 'options N'" },
        { "sipha-state 1\ninstance 3\noptions 1\neventlog\nend\n", ":4: expected 'epoch N'" },
        { "sipha-state 1\ninstance 3\noptions 1\nepoch x\neventlog\nend\n", ":4: expected 'epoch N'" },
        { "sipha-state 1\ninstance 3\noptions 1\nepoch 1\nevents\nend\n", ":5: expected 'eventlog'" },
        { "sipha-state 1\ninstance 3\noptions 1\nepoch 1\neventlog\n", ":6: missing final 'end' line" },
        { cut, cut_want },
        { junk, ":6: malformed event log section" },
        { "sipha-state 1\ninstance 3\noptions 1\nepoch 1\neventlog\nend\n",
          ":6: malformed event log section" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        write_text(fx->file, cases[i].text);
        inst_init(&in, 3);
        add_event(&in, "00-52100", 52100, ALARM_NONE, "before");
        in.boot_options = HA_OPT_TLIB_NIC_MONITORING;
        err[0] = '\0';
        int rc = persist_load(fx->dir, &in, err, sizeof err);
        print_message("  case %zu -> %s\n", i, err);
        assert_int_equal(rc, -1);
        char want[512];
        snprintf(want, sizeof want, "%s%s", fx->file, cases[i].want);
        if (!strstr(err, want))
            fail_msg("case %zu: got \"%s\", want \"%s\"", i, err, want);
        /* unchanged */
        assert_int_equal(in.boot_options, HA_OPT_TLIB_NIC_MONITORING);
        assert_int_equal(in.events.count, 1);
        assert_string_equal(evlog_find(&in.events, 1)->text, "before");
        evlog_free(&in.events);
    }
    /* and the good content still loads */
    write_text(fx->file, saved);
    inst_init(&in, 3);
    assert_int_equal(persist_load(fx->dir, &in, err, sizeof err), 1);
    assert_same_events(&good.events, &in.events);
    evlog_free(&in.events);
    evlog_free(&good.events);
}

static void test_save_errors(void **state)
{
    struct fixture *fx = *state;
    struct sipha_instance in;
    char err[ERR_MAX] = "", path[256];
    sample(&in);
    /* the state "directory" is a file */
    snprintf(path, sizeof path, "%s/plainfile", fx->root);
    write_text(path, "x");
    assert_int_equal(persist_save(path, &in, err, sizeof err), -1);
    assert_non_null(strstr(err, path));
    /* a directory under a file cannot be made either */
    snprintf(path, sizeof path, "%s/plainfile/sub", fx->root);
    assert_int_equal(persist_save(path, &in, err, sizeof err), -1);
    assert_non_null(strstr(err, "cannot create"));
    /* the state file path is a directory: load reports it, nothing changes */
    char parent[160];
    snprintf(parent, sizeof parent, "%s/var", fx->root);
    assert_int_equal(mkdir(parent, 0700), 0);
    assert_int_equal(mkdir(fx->dir, 0700), 0);
    assert_int_equal(mkdir(fx->file, 0700), 0);
    in.boot_options = 0;
    assert_int_equal(persist_load(fx->dir, &in, err, sizeof err), -1);
    assert_non_null(strstr(err, "not a regular file"));
    assert_int_equal(in.boot_options, 0);
    assert_int_equal(persist_save(fx->dir, &in, err, sizeof err), -1);
    assert_int_equal(count_entries(fx->dir), 1); /* the temporary was removed */
    rmdir(fx->file);
    evlog_free(&in.events);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_round_trip, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_no_file, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_modes_and_no_temp, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_leftover_temp, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_malformed, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_save_errors, fx_setup, fx_teardown),
    };
    return cmocka_run_group_tests_name("persist", tests, NULL, NULL);
}
