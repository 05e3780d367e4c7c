/* test_script.c — VIP scripts run as real processes on a real loop: exit codes and
 * captured output, the exact argv and environment, no descriptor leaking into the
 * child, timeouts that kill the whole process group (SIGTERM, then SIGKILL), exec
 * errors reported from the loop, cancel, several runs at once, runner teardown.
 * Every test runs twice: with pidfd_open and with the SIGCHLD self-pipe. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "loop.h"
#include "script.h"

#define MAX_RESULTS 8

/* Per test: a temp dir for scripts, and the loop and runner, freed by the teardown
 * even when an assertion ends the test early. */
struct fixture {
    char dir[64];
    bool sigchld;
    struct loop *lp;
    struct script_runner *r;
};

struct result {
    uint64_t id;
    int status;
    bool timed_out;
    char out[SCRIPT_OUTPUT_MAX + 128];
    uint64_t at_ms;
};

struct rec {
    int calls;
    struct result res[MAX_RESULTS];
};

/* ---------- helpers ---------- */

static void on_done(void *ctx, uint64_t id, int status, bool timed_out, const char *output)
{
    struct rec *r = ctx;
    assert_non_null(output);
    assert_true(r->calls < MAX_RESULTS);
    struct result *x = &r->res[r->calls++];
    x->id = id;
    x->status = status;
    x->timed_out = timed_out;
    x->at_ms = loop_now_ms();
    assert_true(strlen(output) < sizeof x->out);
    strcpy(x->out, output);
}

static const struct result *result_of(const struct rec *r, uint64_t id)
{
    for (int i = 0; i < r->calls; i++)
        if (r->res[i].id == id)
            return &r->res[i];
    fail_msg("no result for run %llu", (unsigned long long)id);
    return NULL;
}

struct waiter {
    struct loop *lp;
    bool (*pred)(void *arg);
    void *arg;
    uint64_t deadline;
    bool ok;
};

static void wait_tick(void *a)
{
    struct waiter *w = a;
    if (w->pred(w->arg)) {
        w->ok = true;
        loop_stop(w->lp);
    } else if (loop_now_ms() > w->deadline) {
        loop_stop(w->lp);
    } else {
        assert_true(loop_timer_add(w->lp, 5, wait_tick, w) > 0);
    }
}

/* Runs the loop until pred(arg) holds (true) or max_ms pass (false). */
static bool run_until(struct loop *lp, bool (*pred)(void *), void *arg, uint64_t max_ms)
{
    struct waiter w = { lp, pred, arg, loop_now_ms() + max_ms, false };
    assert_true(loop_timer_add(lp, 0, wait_tick, &w) > 0);
    loop_run(lp);
    return w.ok;
}

struct calls_at_least {
    struct rec *r;
    int n;
};

static bool pred_calls(void *arg)
{
    struct calls_at_least *c = arg;
    return c->r->calls >= c->n;
}

static void wait_calls(struct loop *lp, struct rec *r, int n, uint64_t max_ms)
{
    struct calls_at_least c = { r, n };
    if (!run_until(lp, pred_calls, &c, max_ms))
        fail_msg("only %d of %d script results after %llu ms", r->calls, n,
                 (unsigned long long)max_ms);
}

static bool pred_idle(void *arg)
{
    return script_running(arg) == 0;
}

static bool pred_file(void *arg)
{
    struct stat st;
    return stat(arg, &st) == 0 && st.st_size > 0;
}

static void path_in(const struct fixture *fx, const char *name, char *buf, size_t len)
{
    snprintf(buf, len, "%s/%s", fx->dir, name);
}

/* Writes an executable /bin/sh script; `body` may use %1$s for the temp dir. */
static void make_script(const struct fixture *fx, const char *name, mode_t mode,
                        const char *body, char *path, size_t len)
{
    path_in(fx, name, path, len);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fprintf(f, "#!/bin/sh\n");
    fprintf(f, body, fx->dir);
    assert_int_equal(fclose(f), 0);
    assert_int_equal(chmod(path, mode), 0);
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        fail_msg("cannot read %s: %s", path, strerror(errno));
    static char buf[8192];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

static pid_t read_pid(const char *path)
{
    long v = strtol(slurp(path), NULL, 10);
    assert_true(v > 1);
    return (pid_t)v;
}

/* Gone = no such process, or a zombie waiting for init: either way not running. */
static bool process_gone(pid_t pid)
{
    char p[64], st[512];
    snprintf(p, sizeof p, "/proc/%d/stat", (int)pid);
    FILE *f = fopen(p, "r");
    if (!f)
        return true;
    size_t n = fread(st, 1, sizeof st - 1, f);
    fclose(f);
    st[n] = '\0';
    const char *close_paren = strrchr(st, ')');
    return close_paren && close_paren[1] == ' ' && close_paren[2] == 'Z';
}

static void assert_gone_soon(pid_t pid)
{
    uint64_t end = loop_now_ms() + 3000;
    while (!process_gone(pid)) {
        if (loop_now_ms() > end)
            fail_msg("process %d still running", (int)pid);
        usleep(10000);
    }
}

/* valgrind runs posix_spawn's vfork-like clone as a plain fork and execs with its own
 * signal mask: two things the tests can only check without it. */
static bool under_valgrind(void)
{
    const char *pre = getenv("LD_PRELOAD");
    return pre && strstr(pre, "vgpreload");
}

static struct script_runner *new_runner(struct fixture *fx, uint32_t timeout_ms)
{
    char err[256] = "";
    fx->lp = loop_new();
    assert_non_null(fx->lp);
    fx->r = script_runner_new(fx->lp, timeout_ms, err, sizeof err);
    if (!fx->r)
        fail_msg("runner: %s", err);
    if (fx->sigchld && script_runner_use_sigchld(fx->r, err, sizeof err) != 0)
        fail_msg("sigchld: %s", err);
    return fx->r;
}

static struct script_job job_for(const char *path)
{
    return (struct script_job){ .path = path, .up = true, .vip = "192.0.2.100",
                                .prefix_len = 24, .interface = "eth1", .instance = 1 };
}

static uint64_t start(struct script_runner *r, const struct script_job *job, struct rec *rec)
{
    char err[256] = "";
    uint64_t id = script_run(r, job, on_done, rec, err, sizeof err);
    if (id == 0)
        fail_msg("script_run: %s", err);
    return id;
}

static int fixture_setup(void **state, bool sigchld)
{
    struct fixture *fx = calloc(1, sizeof(*fx));
    assert_non_null(fx);
    snprintf(fx->dir, sizeof fx->dir, "/tmp/sipha-test-script-XXXXXX");
    assert_non_null(mkdtemp(fx->dir));
    fx->sigchld = sigchld;
    *state = fx;
    return 0;
}

static int setup_pidfd(void **state)
{
    return fixture_setup(state, false);
}

static int setup_sigchld(void **state)
{
    return fixture_setup(state, true);
}

static int fixture_teardown(void **state)
{
    struct fixture *fx = *state;
    script_runner_free(fx->r);
    loop_free(fx->lp);
    DIR *d = opendir(fx->dir);
    if (d) {
        struct dirent *e;
        char p[512];
        while ((e = readdir(d)) != NULL) {
            if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
                continue;
            snprintf(p, sizeof p, "%s/%s", fx->dir, e->d_name);
            if (unlink(p) != 0)
                rmdir(p);
        }
        closedir(d);
    }
    rmdir(fx->dir);
    free(fx);
    return 0;
}

/* ---------- tests ---------- */

static void test_success_output(void **state)
{
    struct fixture *fx = *state;
    char path[256];
    make_script(fx, "ok", 0755, "echo 'hello out'\necho 'hello err' >&2\nprintf 'a\\000b\\n'\n"
                "exit 0\n", path, sizeof path);
    struct script_runner *r = new_runner(fx, 5000);
    struct loop *lp = fx->lp;
    struct rec rec = { 0 };
    struct script_job job = job_for(path);
    uint64_t id = start(r, &job, &rec);
    assert_true(id > 0);
    assert_int_equal(rec.calls, 0); /* never from inside script_run */
    assert_int_equal(script_running(r), 1);
    wait_calls(lp, &rec, 1, 5000);
    assert_int_equal(rec.res[0].id, id);
    assert_int_equal(rec.res[0].status, 0);
    assert_false(rec.res[0].timed_out);
    assert_string_equal(rec.res[0].out, "hello out\nhello err\na?b\n");
    assert_int_equal(script_running(r), 0);
}

static void test_exit_codes(void **state)
{
    struct fixture *fx = *state;
    char p3[256], psig[256], pquiet[256];
    make_script(fx, "exit3", 0755, "echo failing\nexit 3\n", p3, sizeof p3);
    make_script(fx, "selfkill", 0755, "kill -USR1 $$\nsleep 5\n", psig, sizeof psig);
    make_script(fx, "quiet", 0755, "exit 0\n", pquiet, sizeof pquiet);
    struct script_runner *r = new_runner(fx, 5000);
    struct loop *lp = fx->lp;
    struct rec rec = { 0 };
    struct script_job j3 = job_for(p3), jsig = job_for(psig), jq = job_for(pquiet);
    uint64_t id3 = start(r, &j3, &rec);
    uint64_t idsig = start(r, &jsig, &rec);
    uint64_t idq = start(r, &jq, &rec);
    assert_true(id3 != idsig && idsig != idq && id3 != idq);
    wait_calls(lp, &rec, 3, 5000);
    assert_int_equal(result_of(&rec, id3)->status, 3);
    assert_string_equal(result_of(&rec, id3)->out, "failing\n");
    assert_int_equal(result_of(&rec, idsig)->status, 128 + SIGUSR1);
    assert_false(result_of(&rec, idsig)->timed_out);
    assert_int_equal(result_of(&rec, idq)->status, 0);
    assert_string_equal(result_of(&rec, idq)->out, "");
}

/* The script and a background child both sleep; SIGTERM to the group ends both. */
static void test_timeout_kills_group(void **state)
{
    struct fixture *fx = *state;
    char path[256], bg[256];
    make_script(fx, "slow", 0755,
                "sleep 30 &\necho $! > %1$s/bg.tmp\nmv %1$s/bg.tmp %1$s/bg.pid\necho started\n"
                "sleep 30\necho never\n", path, sizeof path);
    path_in(fx, "bg.pid", bg, sizeof bg);
    struct script_runner *r = new_runner(fx, 300);
    struct loop *lp = fx->lp;
    struct rec rec = { 0 };
    struct script_job job = job_for(path);
    uint64_t t0 = loop_now_ms();
    start(r, &job, &rec);
    wait_calls(lp, &rec, 1, 5000);
    uint64_t took = rec.res[0].at_ms - t0;
    assert_true(took >= 300);
    assert_true(took < 1000); /* SIGTERM was enough: no SIGKILL grace */
    assert_true(rec.res[0].timed_out);
    assert_int_equal(rec.res[0].status, 128 + SIGTERM);
    assert_string_equal(rec.res[0].out, "started\n");
    assert_gone_soon(read_pid(bg));
}

/* TERM ignored by the script and its child: SIGKILL after the 1 s grace. */
static void test_timeout_sigkill(void **state)
{
    struct fixture *fx = *state;
    char path[256], bg[256];
    make_script(fx, "stubborn", 0755,
                "trap '' TERM\nsleep 30 &\necho $! > %1$s/bg2.tmp\nmv %1$s/bg2.tmp %1$s/bg2.pid\n"
                "sleep 30\n", path, sizeof path);
    path_in(fx, "bg2.pid", bg, sizeof bg);
    struct script_runner *r = new_runner(fx, 200);
    struct loop *lp = fx->lp;
    struct rec rec = { 0 };
    struct script_job job = job_for(path);
    uint64_t t0 = loop_now_ms();
    start(r, &job, &rec);
    wait_calls(lp, &rec, 1, 6000);
    uint64_t took = rec.res[0].at_ms - t0;
    assert_true(took >= 200 + SCRIPT_KILL_GRACE_MS);
    assert_true(took < 200 + SCRIPT_KILL_GRACE_MS + 1500);
    assert_true(rec.res[0].timed_out);
    assert_int_equal(rec.res[0].status, 128 + SIGKILL);
    assert_gone_soon(read_pid(bg));
}

/* The script dies on SIGTERM but its child ignores it: when the script is reaped,
 * what is left of its group gets SIGKILL at once (no wait for the grace period). */
static void test_timeout_straggler(void **state)
{
    struct fixture *fx = *state;
    char path[256], bg[256];
    make_script(fx, "straggler", 0755,
                "(trap '' TERM; exec sleep 30) &\necho $! > %1$s/bg3.tmp\n"
                "mv %1$s/bg3.tmp %1$s/bg3.pid\nsleep 30\n", path, sizeof path);
    path_in(fx, "bg3.pid", bg, sizeof bg);
    struct script_runner *r = new_runner(fx, 300);
    struct rec rec = { 0 };
    struct script_job job = job_for(path);
    uint64_t t0 = loop_now_ms();
    start(r, &job, &rec);
    wait_calls(fx->lp, &rec, 1, 5000);
    assert_true(rec.res[0].at_ms - t0 < 300 + SCRIPT_KILL_GRACE_MS);
    assert_true(rec.res[0].timed_out);
    assert_int_equal(rec.res[0].status, 128 + SIGTERM);
    pid_t pid = read_pid(bg);
    uint64_t t1 = loop_now_ms();
    assert_gone_soon(pid);
    assert_true(loop_now_ms() - t1 < 500);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Splits text into lines (in place), sorts them, joins them with '|'. */
static void sorted_lines(char *text, char *out, size_t len)
{
    char *lines[32];
    size_t n = 0;
    for (char *s = strtok(text, "\n"); s && n < 32; s = strtok(NULL, "\n"))
        lines[n++] = s;
    qsort(lines, n, sizeof lines[0], cmp_str);
    out[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        strncat(out, lines[i], len - strlen(out) - 1);
        if (i + 1 < n)
            strncat(out, "|", len - strlen(out) - 1);
    }
}

static void check_args_env(const struct fixture *fx, const char *script, const char *action,
                           const char *vip, const char *prefix, const char *ifname,
                           const char *inst)
{
    char p[256], want[1024], got[1024];
    snprintf(p, sizeof p, "%s/args.%s", fx->dir, action);
    snprintf(want, sizeof want, "%s\n%s\n%s\n%s\n%s\n", script, action, vip, prefix, ifname);
    assert_string_equal(slurp(p), want);
    snprintf(p, sizeof p, "%s/env.%s", fx->dir, action);
    sorted_lines(slurp(p), got, sizeof got);
    snprintf(want, sizeof want,
             "PATH=/usr/sbin:/usr/bin:/sbin:/bin|SIPHA_ACTION=%s|SIPHA_INSTANCE=%s|"
             "SIPHA_INTERFACE=%s|SIPHA_VIP=%s", action, inst, ifname, vip);
    assert_string_equal(got, want);
}

static void test_argv_and_env(void **state)
{
    struct fixture *fx = *state;
    char path[256];
    /* /proc/$$/environ is the environment execve gave the shell, untouched by it. */
    make_script(fx, "show", 0755,
                "printf '%%s\\n' \"$0\" \"$@\" > %1$s/args.$1\n"
                "tr '\\000' '\\n' < /proc/$$/environ > %1$s/env.$1\n", path, sizeof path);
    setenv("SIPHA_TEST_SHOULD_NOT_LEAK", "1", 1);
    struct script_runner *r = new_runner(fx, 5000);
    struct loop *lp = fx->lp;
    struct rec rec = { 0 };
    struct script_job up = job_for(path);
    up.instance = 7;
    struct script_job down = { .path = path, .up = false, .vip = "2001:db8::5",
                               .prefix_len = 64, .interface = "veth-b2", .instance = 255 };
    start(r, &up, &rec);
    start(r, &down, &rec);
    wait_calls(lp, &rec, 2, 5000);
    assert_int_equal(rec.res[0].status, 0);
    assert_int_equal(rec.res[1].status, 0);
    check_args_env(fx, path, "up", "192.0.2.100", "24", "eth1", "7");
    check_args_env(fx, path, "down", "2001:db8::5", "64", "veth-b2", "255");
    unsetenv("SIPHA_TEST_SHOULD_NOT_LEAK");
}

/* The agent ignores SIGPIPE and may block signals; the script gets neither. The
 * "script" is an awk program: dash would clear an inherited mask itself. glibc's
 * posix_spawn leaves its two internal signals (32, 33: below SIGRTMIN, used by no
 * program) ignored; every other signal must be in its default state. */
static void test_signal_state(void **state)
{
    struct fixture *fx = *state;
    char path[256];
    path_in(fx, "sig.awk", path, sizeof path);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("#!/usr/bin/awk -f\nBEGIN { while ((getline l < \"/proc/self/status\") > 0)\n"
          "  if (l ~ /^Sig(Blk|Ign):/) print l; exit 0 }\n", f);
    assert_int_equal(fclose(f), 0);
    assert_int_equal(chmod(path, 0755), 0);
    struct script_runner *r = new_runner(fx, 5000);
    struct rec rec = { 0 };
    struct script_job job = job_for(path);
    sigset_t usr2, old;
    sigemptyset(&usr2);
    sigaddset(&usr2, SIGUSR2);
    assert_int_equal(sigprocmask(SIG_BLOCK, &usr2, &old), 0);
    void (*was)(int) = signal(SIGPIPE, SIG_IGN);
    uint64_t id = script_run(r, &job, on_done, &rec, NULL, 0);
    sigprocmask(SIG_SETMASK, &old, NULL);
    signal(SIGPIPE, was);
    assert_true(id > 0);
    wait_calls(fx->lp, &rec, 1, 5000);
    assert_int_equal(rec.res[0].status, 0);
    unsigned long long blk = 1, ign = 1;
    if (sscanf(rec.res[0].out, "SigBlk: %llx SigIgn: %llx", &blk, &ign) != 2)
        fail_msg("unexpected output: %s", rec.res[0].out);
    if (blk != 0 && !under_valgrind()) /* valgrind execs with a mask of its own */
        fail_msg("signals blocked in the script: %llx", blk);
    if ((ign & ~0x180000000ull) != 0)
        fail_msg("signals ignored in the script: %llx", ign);
}

/* The parent holds a socket and a file without close-on-exec; the script lists the
 * descriptors of its shell (ls is a child: the shell holds no pipe of its own then). */
static void check_fd_line(const char *line, const char *script, char *pipe1, char *pipe2,
                          size_t plen)
{
    const char *arrow = strstr(line, " -> ");
    if (!arrow)
        return; /* "total 0" */
    const char *num = arrow;
    while (num > line && num[-1] != ' ')
        num--;
    int fd = atoi(num);
    const char *target = arrow + 4;
    if (strstr(target, "socket:") || strstr(target, "secret") || fd == 77)
        fail_msg("descriptor of the parent leaked: %s", line);
    if (fd == 0)
        assert_string_equal(target, "/dev/null");
    else if (fd == 1)
        snprintf(pipe1, plen, "%s", target);
    else if (fd == 2)
        snprintf(pipe2, plen, "%s", target);
    else if (strcmp(target, script) != 0 && strcmp(target, "/dev/null") != 0)
        fail_msg("unexpected descriptor in the child: %s", line); /* the shell's own
                                                                 * copies are allowed */
}

static void test_no_fd_leak(void **state)
{
    struct fixture *fx = *state;
    char path[256], secret[256];
    make_script(fx, "fds", 0755, "ls -l /proc/$$/fd\n", path, sizeof path);
    path_in(fx, "secret", secret, sizeof secret);
    int sock = socket(AF_INET, SOCK_DGRAM, 0);
    assert_true(sock >= 0);
    int file = open(secret, O_WRONLY | O_CREAT, 0600);
    assert_true(file >= 0);
    assert_int_equal(dup2(file, 77), 77);
    struct script_runner *r = new_runner(fx, 5000);
    struct loop *lp = fx->lp;
    struct rec rec = { 0 };
    struct script_job job = job_for(path);
    start(r, &job, &rec);
    wait_calls(lp, &rec, 1, 5000);
    close(77);
    close(file);
    close(sock);
    assert_int_equal(rec.res[0].status, 0);
    char pipe1[64] = "", pipe2[64] = "";
    int lines = 0;
    for (char *line = strtok(rec.res[0].out, "\n"); line; line = strtok(NULL, "\n"), lines++)
        check_fd_line(line, path, pipe1, pipe2, sizeof pipe1);
    assert_true(lines >= 4);
    assert_true(strncmp(pipe1, "pipe:", 5) == 0);
    assert_string_equal(pipe1, pipe2);
}

static void test_exec_errors(void **state)
{
    struct fixture *fx = *state;
    char missing[256], noexec[256], want[300];
    path_in(fx, "nonexistent", missing, sizeof missing);
    make_script(fx, "noexec", 0644, "exit 0\n", noexec, sizeof noexec);
    struct script_runner *r = new_runner(fx, 5000);
    struct loop *lp = fx->lp;
    struct rec rec = { 0 };
    struct script_job jm = job_for(missing), jn = job_for(noexec), jd = job_for(fx->dir);
    uint64_t idm = start(r, &jm, &rec);
    uint64_t idn = start(r, &jn, &rec);
    uint64_t idd = start(r, &jd, &rec);
    assert_int_equal(rec.calls, 0); /* reported from the loop, not from script_run */
    wait_calls(lp, &rec, 3, 2000);
    const struct result *m = result_of(&rec, idm);
    assert_int_equal(m->status, SCRIPT_EXIT_NOT_FOUND);
    assert_false(m->timed_out);
    snprintf(want, sizeof want, "cannot execute %s: No such file or directory\n", missing);
    assert_string_equal(m->out, want);
    assert_int_equal(result_of(&rec, idn)->status, SCRIPT_EXIT_CANNOT_EXEC);
    assert_non_null(strstr(result_of(&rec, idn)->out, noexec));
    assert_int_equal(result_of(&rec, idd)->status, SCRIPT_EXIT_CANNOT_EXEC);
    assert_int_equal(script_running(r), 0);

    /* executable but not a program: only execve itself (posix_spawn) can tell */
    char garbage[256];
    path_in(fx, "garbage", garbage, sizeof garbage);
    FILE *f = fopen(garbage, "w");
    assert_non_null(f);
    fputs("\x7f\x01\x02 not a program\n", f);
    fclose(f);
    assert_int_equal(chmod(garbage, 0755), 0);
    struct script_job jg = job_for(garbage);
    uint64_t idg = start(r, &jg, &rec);
    wait_calls(lp, &rec, 4, 2000);
    const struct result *g = result_of(&rec, idg);
    if (under_valgrind()) /* valgrind runs posix_spawn as a fork */
        assert_true(g->status == SCRIPT_EXIT_CANNOT_EXEC || g->status == SCRIPT_EXIT_NOT_FOUND);
    else
        assert_non_null(strstr(g->out, "Exec format error"));
    assert_false(g->timed_out);

    /* an exec error cancelled before delivery is never reported */
    uint64_t idc = start(r, &jm, &rec);
    script_cancel(r, idc);
    assert_int_equal(script_running(r), 0);
    assert_true(run_until(lp, pred_idle, r, 100));
    usleep(20000);
    run_until(lp, pred_idle, r, 50);
    assert_int_equal(rec.calls, 4);
}

static void expect_refused(struct script_runner *r, const struct script_job *job,
                           const char *needle)
{
    struct rec rec = { 0 };
    char err[256] = "";
    assert_int_equal(script_run(r, job, on_done, &rec, err, sizeof err), 0);
    if (!strstr(err, needle))
        fail_msg("expected \"%s\" in \"%s\"", needle, err);
    assert_int_equal(rec.calls, 0);
}

static void test_bad_jobs(void **state)
{
    struct fixture *fx = *state;
    struct script_runner *r = new_runner(fx, 0);
    struct script_job j = job_for("bin/vip-up");
    expect_refused(r, &j, "absolute path");
    j = job_for("/bin/true");
    j.vip = "192.0.2.300";
    expect_refused(r, &j, "not an IPv4 or IPv6 address");
    j.vip = NULL;
    expect_refused(r, &j, "not an IPv4 or IPv6 address");
    j = job_for("/bin/true");
    j.prefix_len = 33;
    expect_refused(r, &j, "prefix length 33");
    j.vip = "2001:db8::1";
    j.prefix_len = 129;
    expect_refused(r, &j, "prefix length 129");
    j = job_for("/bin/true");
    j.interface = "a-very-long-interface-name";
    expect_refused(r, &j, "bad interface name");
    j.interface = "eth0 ; rm";
    expect_refused(r, &j, "bad interface name");
    char err[64];
    j = job_for("/bin/true");
    assert_int_equal(script_run(r, &j, NULL, NULL, err, sizeof err), 0);
    assert_int_equal(script_running(r), 0);
}

/* <vip interface=> is optional: an empty or missing name goes to the script as "". */
static void test_no_interface(void **state)
{
    struct fixture *fx = *state;
    char path[256];
    make_script(fx, "noif", 0755, "printf '[%%s][%%s]' \"$4\" \"$SIPHA_INTERFACE\"\n"
                "[ $# -eq 4 ] || exit 1\n", path, sizeof path);
    struct script_runner *r = new_runner(fx, 5000);
    struct rec rec = { 0 };
    struct script_job j = job_for(path), k = job_for(path);
    j.interface = "";
    k.interface = NULL;
    start(r, &j, &rec);
    start(r, &k, &rec);
    wait_calls(fx->lp, &rec, 2, 5000);
    for (int i = 0; i < 2; i++) {
        assert_int_equal(rec.res[i].status, 0);
        assert_string_equal(rec.res[i].out, "[][]");
    }
}

struct cancel_files {
    char leader[256], bg[256];
};

static bool pred_both_files(void *arg)
{
    struct cancel_files *c = arg;
    return pred_file(c->leader) && pred_file(c->bg);
}

static void test_cancel(void **state)
{
    struct fixture *fx = *state;
    char path[256], quick[256];
    make_script(fx, "cancelme", 0755,
                "echo $$ > %1$s/leader.tmp\nmv %1$s/leader.tmp %1$s/leader.pid\n"
                "sleep 30 &\necho $! > %1$s/cbg.tmp\nmv %1$s/cbg.tmp %1$s/cbg.pid\nsleep 30\n",
                path, sizeof path);
    make_script(fx, "quick", 0755, "sleep 0.2\necho done\n", quick, sizeof quick);
    struct cancel_files cf;
    path_in(fx, "leader.pid", cf.leader, sizeof cf.leader);
    path_in(fx, "cbg.pid", cf.bg, sizeof cf.bg);
    struct script_runner *r = new_runner(fx, 5000);
    struct loop *lp = fx->lp;
    struct rec rec = { 0 };
    struct script_job job = job_for(path), jq = job_for(quick);
    uint64_t id = start(r, &job, &rec);
    assert_true(run_until(lp, pred_both_files, &cf, 5000));
    pid_t leader = read_pid(cf.leader), bg = read_pid(cf.bg);

    script_cancel(r, id);
    script_cancel(r, id);      /* twice: ignored */
    script_cancel(r, id + 99); /* unknown: ignored */
    uint64_t idq = start(r, &jq, &rec);
    wait_calls(lp, &rec, 1, 5000);
    assert_true(run_until(lp, pred_idle, r, 3000));
    assert_int_equal(rec.calls, 1); /* only the quick one */
    assert_int_equal(rec.res[0].id, idq);
    assert_string_equal(rec.res[0].out, "done\n");
    /* reaped by the runner: not even a zombie is left of our child */
    assert_int_equal(kill(leader, 0), -1);
    assert_int_equal(errno, ESRCH);
    assert_gone_soon(bg);
}

static void test_output_cap(void **state)
{
    struct fixture *fx = *state;
    char path[256];
    make_script(fx, "chatty", 0755,
                "head -c 100000 /dev/zero | tr '\\000' 'a'\necho\necho tail >&2\nexit 4\n",
                path, sizeof path);
    struct script_runner *r = new_runner(fx, 5000);
    struct loop *lp = fx->lp;
    struct rec rec = { 0 };
    struct script_job job = job_for(path);
    start(r, &job, &rec);
    wait_calls(lp, &rec, 1, 5000);
    const char *out = rec.res[0].out;
    assert_int_equal(rec.res[0].status, 4);
    for (size_t i = 0; i < SCRIPT_OUTPUT_MAX; i++)
        if (out[i] != 'a')
            fail_msg("byte %zu is %d", i, out[i]);
    /* 100000 'a', "\n", "tail\n": 100006 bytes, 4096 kept */
    assert_string_equal(out + SCRIPT_OUTPUT_MAX,
                        "\n[sipha: 95910 more bytes of output dropped]\n");
}

/* Freeing the runner with runs going kills and reaps them, no callback. */
static void test_free_kills(void **state)
{
    struct fixture *fx = *state;
    char path[256], pidf[256];
    make_script(fx, "forever", 0755,
                "echo $$ > %1$s/f.tmp\nmv %1$s/f.tmp %1$s/f.pid\nexec sleep 30\n", path,
                sizeof path);
    path_in(fx, "f.pid", pidf, sizeof pidf);
    struct script_runner *r = new_runner(fx, 5000);
    struct loop *lp = fx->lp;
    struct rec rec = { 0 };
    struct script_job job = job_for(path);
    start(r, &job, &rec);
    start(r, &job, &rec);
    assert_true(run_until(lp, pred_file, pidf, 5000));
    pid_t pid = read_pid(pidf);
    assert_int_equal(script_running(r), 2);
    script_runner_free(r);
    fx->r = NULL;
    assert_int_equal(kill(pid, 0), -1);
    assert_int_equal(errno, ESRCH);
    assert_int_equal(rec.calls, 0);
    script_runner_free(NULL);
}

/* timeout 0 = the default; not waited for: only that a short job is unaffected. */
static void test_default_timeout(void **state)
{
    struct fixture *fx = *state;
    char path[256];
    make_script(fx, "short", 0755, "exit 9\n", path, sizeof path);
    struct script_runner *r = new_runner(fx, 0);
    struct loop *lp = fx->lp;
    struct rec rec = { 0 };
    struct script_job job = job_for(path);
    start(r, &job, &rec);
    wait_calls(lp, &rec, 1, 5000);
    assert_int_equal(rec.res[0].status, 9);
    assert_false(rec.res[0].timed_out);
}

#define SCRIPT_TESTS(S)                                                          \
    cmocka_unit_test_setup_teardown(test_success_output, S, fixture_teardown),   \
    cmocka_unit_test_setup_teardown(test_exit_codes, S, fixture_teardown),       \
    cmocka_unit_test_setup_teardown(test_timeout_kills_group, S, fixture_teardown), \
    cmocka_unit_test_setup_teardown(test_timeout_sigkill, S, fixture_teardown),  \
    cmocka_unit_test_setup_teardown(test_timeout_straggler, S, fixture_teardown), \
    cmocka_unit_test_setup_teardown(test_argv_and_env, S, fixture_teardown),     \
    cmocka_unit_test_setup_teardown(test_signal_state, S, fixture_teardown),     \
    cmocka_unit_test_setup_teardown(test_no_fd_leak, S, fixture_teardown),       \
    cmocka_unit_test_setup_teardown(test_exec_errors, S, fixture_teardown),      \
    cmocka_unit_test_setup_teardown(test_bad_jobs, S, fixture_teardown),         \
    cmocka_unit_test_setup_teardown(test_no_interface, S, fixture_teardown),     \
    cmocka_unit_test_setup_teardown(test_cancel, S, fixture_teardown),           \
    cmocka_unit_test_setup_teardown(test_output_cap, S, fixture_teardown),       \
    cmocka_unit_test_setup_teardown(test_free_kills, S, fixture_teardown),       \
    cmocka_unit_test_setup_teardown(test_default_timeout, S, fixture_teardown)

int main(void)
{
    const struct CMUnitTest pidfd[] = { SCRIPT_TESTS(setup_pidfd) };
    const struct CMUnitTest sigchld[] = { SCRIPT_TESTS(setup_sigchld) };
    int failed = cmocka_run_group_tests_name("script_pidfd", pidfd, NULL, NULL);
    failed += cmocka_run_group_tests_name("script_sigchld", sigchld, NULL, NULL);
    return failed ? 1 : 0;
}
