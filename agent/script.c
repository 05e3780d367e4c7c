/* script.c — VIP scripts as child processes watched from the agent loop.
 *
 * posix_spawn (glibc runs it as CLONE_VM|CLONE_VFORK: no copy of the agent's page
 * tables, and exec errors come back as its return value) starts each script in a
 * process group of its own, with its descriptors closed from 3 up. Exit is seen
 * through a pidfd per child, or through a SIGCHLD self-pipe when the kernel has no
 * pidfd_open. Before a child is reaped, waitid(WNOWAIT) peeks at it: while it is a
 * zombie its pid, and so its process group id, cannot be reused, which makes the
 * final SIGKILL to the group of a timed-out or cancelled run safe. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <net/if.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "errbuf.h"
#include "loop.h"
#include "script.h"

#if !defined(__GLIBC__) || !__GLIBC_PREREQ(2, 34)
#error "script.c needs glibc >= 2.34 (posix_spawn_file_actions_addclosefrom_np)"
#endif

#define SCRIPT_READ_BUDGET 16     /* reads of one pipe per loop callback: a script that
                                   * writes without pause cannot starve the loop */
#define SCRIPT_DROP_NOTE 80       /* room for the "bytes dropped" line */

struct script_run {
    struct script_run *next;
    struct script_runner *r;
    uint64_t id;
    pid_t pid;          /* > 0 while the child is not reaped; 0 for an exec error */
    int pidfd;          /* -1 in SIGCHLD mode or once closed */
    int out_fd;         /* read end of the output pipe, -1 once closed */
    uint64_t timer;     /* timeout, then the SIGKILL grace; or the exec-error delivery */
    bool timed_out, cancelled;
    int status;
    script_done_cb cb;
    void *ctx;
    size_t len;         /* bytes kept in out */
    size_t dropped;     /* bytes read beyond SCRIPT_OUTPUT_MAX */
    char out[SCRIPT_OUTPUT_MAX + SCRIPT_DROP_NOTE];
};

struct script_runner {
    struct loop *lp;
    uint32_t timeout_ms;
    uint64_t next_id;
    struct script_run *runs;
    bool sigchld_mode;
    int sig_rd;                 /* self-pipe read end, -1 in pidfd mode */
    struct sigaction old_chld;  /* restored at free */
};

/* The self-pipe's write end. A signal handler can reach no state but a global; only
 * one runner at a time may own it. */
static volatile sig_atomic_t sigchld_wr = -1;

static int sys_pidfd_open(pid_t pid)
{
    return (int)syscall(SYS_pidfd_open, pid, 0u);
}

/* Whether the kernel has pidfd_open. Asked once per process: the answer cannot
 * change, and tools that do not know the call (valgrind) warn on every attempt. */
static bool pidfd_supported(void)
{
    static int known = -1;
    if (known < 0) {
        int fd = sys_pidfd_open(getpid());
        known = fd >= 0 || errno != ENOSYS;
        if (fd >= 0)
            close(fd);
    }
    return known == 1;
}

static int decode_status(int st)
{
    if (WIFEXITED(st))
        return WEXITSTATUS(st);
    if (WIFSIGNALED(st))
        return 128 + WTERMSIG(st);
    return -1;
}

/* --- SIGCHLD self-pipe (kernels without pidfd_open) --- */

static void on_sigchld(int sig)
{
    (void)sig;
    int saved = errno;
    int fd = sigchld_wr;
    if (fd >= 0) {
        ssize_t n = write(fd, "c", 1); /* a full pipe already holds a wake-up */
        (void)n;
    }
    errno = saved;
}

static void reap_ready(struct script_runner *r);

static void on_sigpipe_readable(int fd, unsigned events, void *arg)
{
    (void)events;
    char buf[64];
    while (read(fd, buf, sizeof buf) > 0)
        ;
    reap_ready(arg);
}

static int sigchld_setup(struct script_runner *r, char *err, size_t errlen)
{
    if (r->sigchld_mode)
        return 0;
    if (sigchld_wr >= 0) {
        errbuf_set(err, errlen, "script runner: another runner already owns the SIGCHLD self-pipe");
        return -1;
    }
    int p[2];
    if (pipe2(p, O_CLOEXEC | O_NONBLOCK) < 0) {
        errbuf_set(err, errlen, "script runner: pipe: %s", strerror(errno));
        return -1;
    }
    if (loop_watch_fd(r->lp, p[0], LOOP_READ, on_sigpipe_readable, r) < 0) {
        close(p[0]);
        close(p[1]);
        errbuf_set(err, errlen, "script runner: out of memory");
        return -1;
    }
    sigchld_wr = p[1];
    struct sigaction sa = { .sa_handler = on_sigchld, .sa_flags = SA_RESTART | SA_NOCLDSTOP };
    sigemptyset(&sa.sa_mask);
    sigaction(SIGCHLD, &sa, &r->old_chld);
    r->sig_rd = p[0];
    r->sigchld_mode = true;
    return 0;
}

static void sigchld_teardown(struct script_runner *r)
{
    if (!r->sigchld_mode)
        return;
    sigaction(SIGCHLD, &r->old_chld, NULL);
    int wr = sigchld_wr;
    sigchld_wr = -1;
    close(wr);
    loop_unwatch_fd(r->lp, r->sig_rd);
    close(r->sig_rd);
    r->sig_rd = -1;
    r->sigchld_mode = false;
}

/* --- output --- */

static void out_keep(struct script_run *run, const char *p, size_t n)
{
    size_t room = SCRIPT_OUTPUT_MAX - run->len;
    size_t take = n < room ? n : room;
    for (size_t i = 0; i < take; i++)
        run->out[run->len++] = p[i] ? p[i] : '?'; /* the caller gets a C string */
    run->dropped += n - take;
}

static void out_close(struct script_run *run)
{
    if (run->out_fd < 0)
        return;
    loop_unwatch_fd(run->r->lp, run->out_fd);
    close(run->out_fd);
    run->out_fd = -1;
}

/* Reads what the pipe holds now, at most SCRIPT_READ_BUDGET times; closes it at EOF. */
static void out_read(struct script_run *run)
{
    char buf[4096];
    for (int i = 0; i < SCRIPT_READ_BUDGET && run->out_fd >= 0; i++) {
        ssize_t n = read(run->out_fd, buf, sizeof buf);
        if (n > 0)
            out_keep(run, buf, (size_t)n);
        else if (n < 0 && errno == EINTR)
            continue;
        else if (n < 0 && errno == EAGAIN)
            return;
        else
            out_close(run); /* EOF, or an error that will not go away */
    }
}

static void on_output(int fd, unsigned events, void *arg)
{
    (void)fd;
    (void)events;
    out_read(arg);
}

/* What the caller gets: the kept bytes, NUL-terminated, plus a note on drops. */
static const char *out_text(struct script_run *run)
{
    size_t n = run->len;
    if (run->dropped > 0) {
        const char *nl = (n > 0 && run->out[n - 1] != '\n') ? "\n" : "";
        int w = snprintf(run->out + n, sizeof run->out - n,
                         "%s[sipha: %zu more bytes of output dropped]\n", nl, run->dropped);
        if (w > 0)
            n += (size_t)w < sizeof run->out - n ? (size_t)w : sizeof run->out - n - 1;
    }
    run->out[n] = '\0';
    return run->out;
}

/* --- run list --- */

static void run_unlink(struct script_runner *r, struct script_run *run)
{
    for (struct script_run **pp = &r->runs; *pp; pp = &(*pp)->next) {
        if (*pp == run) {
            *pp = run->next;
            return;
        }
    }
}

static struct script_run *run_find(struct script_runner *r, uint64_t id)
{
    for (struct script_run *run = r->runs; run; run = run->next)
        if (run->id == id)
            return run;
    return NULL;
}

/* Releases every loop registration and descriptor of a run (not the process). */
static void run_release(struct script_run *run)
{
    struct loop *lp = run->r->lp;
    if (run->timer) {
        loop_timer_cancel(lp, run->timer);
        run->timer = 0;
    }
    out_close(run);
    if (run->pidfd >= 0) {
        loop_unwatch_fd(lp, run->pidfd);
        close(run->pidfd);
        run->pidfd = -1;
    }
}

/* Ends a run whose child is reaped (or never existed): last output, callback, free.
 * Nothing touches the run or the list after the callback. */
static void run_finish(struct script_run *run)
{
    struct script_runner *r = run->r;
    if (run->out_fd >= 0)
        out_read(run); /* what the script wrote just before it exited */
    run_release(run);
    run_unlink(r, run);
    if (!run->cancelled)
        run->cb(run->ctx, run->id, run->status, run->timed_out, out_text(run));
    free(run);
}

/* Reaps the run's child if it has exited. Returns true when it did. */
static bool run_try_reap(struct script_run *run)
{
    siginfo_t si;
    memset(&si, 0, sizeof si);
    if (waitid(P_PID, (id_t)run->pid, &si, WEXITED | WNOHANG | WNOWAIT) < 0) {
        if (errno == EINTR)
            return false;
        run->status = -1; /* reaped behind our back: the status is lost */
        run->pid = 0;
        return true;
    }
    if (si.si_pid == 0)
        return false;
    /* The zombie still pins the group id: stragglers of a run we gave up on go now. */
    if (run->timed_out || run->cancelled)
        kill(-run->pid, SIGKILL);
    int st = 0;
    pid_t w;
    do
        w = waitpid(run->pid, &st, WNOHANG);
    while (w < 0 && errno == EINTR);
    run->status = w == run->pid ? decode_status(st) : -1;
    run->pid = 0;
    return true;
}

static void on_pidfd(int fd, unsigned events, void *arg)
{
    (void)fd;
    (void)events;
    struct script_run *run = arg;
    if (run_try_reap(run))
        run_finish(run);
}

/* SIGCHLD mode: finishes every run whose child has exited. The list is walked again
 * from the start after each finish, since a callback may add or cancel runs. */
static void reap_ready(struct script_runner *r)
{
    for (;;) {
        struct script_run *run = r->runs;
        while (run && !(run->pid > 0 && run_try_reap(run)))
            run = run->next;
        if (!run)
            return;
        run_finish(run);
    }
}

/* --- timeout --- */

static void on_timeout(void *arg)
{
    struct script_run *run = arg;
    run->timer = 0;
    if (run->pid <= 0)
        return;
    if (run->timed_out) {
        kill(-run->pid, SIGKILL);
        return;
    }
    run->timed_out = true;
    kill(-run->pid, SIGTERM);
    run->timer = loop_timer_add(run->r->lp, SCRIPT_KILL_GRACE_MS, on_timeout, run);
    if (!run->timer)
        kill(-run->pid, SIGKILL); /* no timer, no grace */
}

static void on_exec_error(void *arg)
{
    struct script_run *run = arg;
    run->timer = 0;
    run_finish(run);
}

/* --- starting a run --- */

static int check_job(const struct script_job *job, char *err, size_t errlen)
{
    unsigned char buf[16];
    if (!job || !job->path || job->path[0] != '/' || strlen(job->path) >= PATH_MAX) {
        errbuf_set(err, errlen, "VIP script %s: must be an absolute path",
             job && job->path ? job->path : "(none)");
        return -1;
    }
    if (!job->vip || (inet_pton(AF_INET, job->vip, buf) != 1 &&
                      inet_pton(AF_INET6, job->vip, buf) != 1)) {
        errbuf_set(err, errlen, "VIP script %s: VIP \"%s\" is not an IPv4 or IPv6 address",
             job->path, job->vip ? job->vip : "");
        return -1;
    }
    if (job->prefix_len > 128 || (strchr(job->vip, ':') == NULL && job->prefix_len > 32)) {
        errbuf_set(err, errlen, "VIP script %s: prefix length %u out of range", job->path,
             job->prefix_len);
        return -1;
    }
    /* Empty is allowed: <vip interface=> is optional, the script may find it itself. */
    size_t il = job->interface ? strlen(job->interface) : 0;
    if (il >= IF_NAMESIZE || (il > 0 && strpbrk(job->interface, "/ \t\n"))) {
        errbuf_set(err, errlen, "VIP script %s: bad interface name \"%s\"", job->path,
             job->interface ? job->interface : "");
        return -1;
    }
    return 0;
}

/* Moves fd to a number >= 3 (the child's 0..2 are being rebuilt from it). */
static int fd_above_stdio(int fd)
{
    if (fd >= 3)
        return fd;
    int n = fcntl(fd, F_DUPFD_CLOEXEC, 3);
    close(fd);
    return n;
}

/* Output pipe: read end non-blocking for us, write end blocking for the script. */
static int make_pipe(int *rd, int *wr)
{
    int p[2];
    if (pipe2(p, O_CLOEXEC) < 0)
        return -1;
    p[0] = fd_above_stdio(p[0]);
    p[1] = fd_above_stdio(p[1]);
    if (p[0] < 0 || p[1] < 0 || fcntl(p[0], F_SETFL, O_NONBLOCK) < 0) {
        if (p[0] >= 0)
            close(p[0]);
        if (p[1] >= 0)
            close(p[1]);
        return -1;
    }
    *rd = p[0];
    *wr = p[1];
    return 0;
}

static int spawn_setup(posix_spawnattr_t *at, posix_spawn_file_actions_t *fa, int out_wr)
{
    sigset_t none, all;
    sigemptyset(&none);
    sigfillset(&all);
    int rc = posix_spawnattr_setflags(at, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK |
                                              POSIX_SPAWN_SETSIGDEF);
    rc = rc ? rc : posix_spawnattr_setpgroup(at, 0);
    rc = rc ? rc : posix_spawnattr_setsigmask(at, &none);
    rc = rc ? rc : posix_spawnattr_setsigdefault(at, &all);
    rc = rc ? rc : posix_spawn_file_actions_addopen(fa, 0, "/dev/null", O_RDONLY, 0);
    rc = rc ? rc : posix_spawn_file_actions_adddup2(fa, out_wr, 1);
    rc = rc ? rc : posix_spawn_file_actions_adddup2(fa, out_wr, 2);
    rc = rc ? rc : posix_spawn_file_actions_addclosefrom_np(fa, 3);
    return rc;
}

/* Returns 0 with run->pid set, or the errno of the failure. */
static int spawn_job(struct script_run *run, const struct script_job *job, int out_wr)
{
    char prefix[8], inst[16], e_inst[32], e_act[32], e_vip[80], e_if[48];
    const char *action = job->up ? "up" : "down";
    const char *ifname = job->interface ? job->interface : "";
    snprintf(prefix, sizeof prefix, "%u", job->prefix_len);
    snprintf(inst, sizeof inst, "%u", (unsigned)job->instance);
    snprintf(e_inst, sizeof e_inst, "SIPHA_INSTANCE=%s", inst);
    snprintf(e_act, sizeof e_act, "SIPHA_ACTION=%s", action);
    snprintf(e_vip, sizeof e_vip, "SIPHA_VIP=%s", job->vip);
    snprintf(e_if, sizeof e_if, "SIPHA_INTERFACE=%s", ifname);
    char *argv[] = { (char *)job->path, (char *)action, (char *)job->vip, prefix,
                     (char *)ifname, NULL };
    char *envp[] = { "PATH=/usr/sbin:/usr/bin:/sbin:/bin", e_inst, e_act, e_vip, e_if, NULL };

    posix_spawnattr_t at;
    posix_spawn_file_actions_t fa;
    if (posix_spawnattr_init(&at) != 0)
        return ENOMEM;
    if (posix_spawn_file_actions_init(&fa) != 0) {
        posix_spawnattr_destroy(&at);
        return ENOMEM;
    }
    int rc = spawn_setup(&at, &fa, out_wr);
    if (rc == 0)
        rc = posix_spawn(&run->pid, job->path, &fa, &at, argv, envp);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&at);
    return rc;
}

/* The script could not be executed: its status and reason go out on the next turn. */
static int run_exec_error(struct script_run *run, const char *path, int e)
{
    run->pid = 0;
    run->status = e == ENOENT ? SCRIPT_EXIT_NOT_FOUND : SCRIPT_EXIT_CANNOT_EXEC;
    int w = snprintf(run->out, SCRIPT_OUTPUT_MAX, "cannot execute %s: %s\n", path, strerror(e));
    run->len = w < 0 ? 0 : (size_t)w < SCRIPT_OUTPUT_MAX ? (size_t)w : SCRIPT_OUTPUT_MAX - 1;
    run->timer = loop_timer_add(run->r->lp, 0, on_exec_error, run);
    return run->timer ? 0 : -1;
}

/* Kills and reaps a child we cannot watch (no pidfd, no memory). Blocks only for
 * the kernel to tear a SIGKILLed process down. */
static void kill_and_reap(pid_t pid)
{
    kill(-pid, SIGKILL);
    while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
        ;
}

/* Puts a spawned child on the loop: pidfd (unless in SIGCHLD mode), output, timeout. */
static int run_watch(struct script_run *run)
{
    struct script_runner *r = run->r;
    if (!r->sigchld_mode) {
        run->pidfd = sys_pidfd_open(run->pid);
        if (run->pidfd < 0 || loop_watch_fd(r->lp, run->pidfd, LOOP_READ, on_pidfd, run) < 0)
            return -1;
    }
    if (loop_watch_fd(r->lp, run->out_fd, LOOP_READ, on_output, run) < 0)
        return -1;
    run->timer = loop_timer_add(r->lp, r->timeout_ms, on_timeout, run);
    return run->timer ? 0 : -1;
}

/* The common exec errors, found before spawning: posix_spawn reports them too, but
 * where it runs as a plain fork (valgrind) the child would only exit 127, silently. */
static int exec_precheck(const char *path)
{
    struct stat st;
    if (stat(path, &st) < 0)
        return errno;
    if (!S_ISREG(st.st_mode))
        return EACCES; /* what execve says of a directory */
    if (access(path, X_OK) < 0)
        return errno;
    return 0;
}

static int run_start(struct script_run *run, const struct script_job *job, char *err,
                     size_t errlen)
{
    int e = exec_precheck(job->path);
    if (e != 0) {
        if (run_exec_error(run, job->path, e) == 0)
            return 0;
        errbuf_set(err, errlen, "VIP script %s: out of memory", job->path);
        return -1;
    }
    int out_wr;
    if (make_pipe(&run->out_fd, &out_wr) < 0) {
        errbuf_set(err, errlen, "VIP script %s: pipe: %s", job->path, strerror(errno));
        return -1;
    }
    e = spawn_job(run, job, out_wr);
    close(out_wr);
    if (e != 0) {
        out_close(run);
        if (e == ENOMEM || e == EAGAIN) {
            errbuf_set(err, errlen, "VIP script %s: cannot start: %s", job->path, strerror(e));
            return -1;
        }
        if (run_exec_error(run, job->path, e) == 0)
            return 0;
        errbuf_set(err, errlen, "VIP script %s: out of memory", job->path);
        return -1;
    }
    if (run_watch(run) == 0)
        return 0;
    errbuf_set(err, errlen, "VIP script %s: cannot watch the child: %s", job->path, strerror(errno));
    run_release(run);
    kill_and_reap(run->pid);
    run->pid = 0;
    return -1;
}

uint64_t script_run(struct script_runner *r, const struct script_job *job, script_done_cb cb,
                    void *ctx, char *err, size_t errlen)
{
    if (!r || !cb) {
        errbuf_set(err, errlen, "VIP script: no runner or no callback");
        return 0;
    }
    if (check_job(job, err, errlen) < 0)
        return 0;
    struct script_run *run = calloc(1, sizeof(*run));
    if (!run) {
        errbuf_set(err, errlen, "VIP script %s: out of memory", job->path);
        return 0;
    }
    *run = (struct script_run){ .r = r, .id = r->next_id, .pidfd = -1, .out_fd = -1,
                                .cb = cb, .ctx = ctx };
    if (run_start(run, job, err, errlen) < 0) {
        free(run);
        return 0;
    }
    r->next_id++;
    run->next = r->runs;
    r->runs = run;
    return run->id;
}

void script_cancel(struct script_runner *r, uint64_t id)
{
    struct script_run *run = r ? run_find(r, id) : NULL;
    if (!run || run->cancelled)
        return;
    run->cancelled = true;
    if (run->pid <= 0) { /* an exec error not yet delivered */
        run_release(run);
        run_unlink(r, run);
        free(run);
        return;
    }
    kill(-run->pid, SIGKILL);
    if (run->timer) {
        loop_timer_cancel(r->lp, run->timer);
        run->timer = 0;
    }
    out_close(run); /* the pidfd (or SIGCHLD) still brings the reap */
}

size_t script_running(const struct script_runner *r)
{
    size_t n = 0;
    for (const struct script_run *run = r ? r->runs : NULL; run; run = run->next)
        n++;
    return n;
}

/* --- runner --- */

struct script_runner *script_runner_new(struct loop *lp, uint32_t timeout_ms, char *err,
                                        size_t errlen)
{
    struct script_runner *r = calloc(1, sizeof(*r));
    if (!r) {
        errbuf_set(err, errlen, "script runner: out of memory");
        return NULL;
    }
    r->lp = lp;
    r->timeout_ms = timeout_ms ? timeout_ms : SCRIPT_DEFAULT_TIMEOUT_MS;
    r->next_id = 1;
    r->sig_rd = -1;
    if (!pidfd_supported() && sigchld_setup(r, err, errlen) < 0) {
        free(r);
        return NULL;
    }
    return r;
}

int script_runner_use_sigchld(struct script_runner *r, char *err, size_t errlen)
{
    if (r->runs) {
        errbuf_set(err, errlen, "script runner: runs are going, cannot switch to SIGCHLD");
        return -1;
    }
    return sigchld_setup(r, err, errlen);
}

void script_runner_free(struct script_runner *r)
{
    if (!r)
        return;
    while (r->runs) {
        struct script_run *run = r->runs;
        r->runs = run->next;
        run_release(run);
        if (run->pid > 0)
            kill_and_reap(run->pid);
        free(run);
    }
    sigchld_teardown(r);
    free(r);
}
