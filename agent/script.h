/* script.h — runs VIP up/down scripts on the agent loop without ever blocking it.
 *
 * A script is executed directly (no shell) with a fixed argument vector:
 *     argv = { path, "up" | "down", VIP address text, prefix length text, interface }
 * e.g.   /usr/local/libexec/sipha/vip-up up 192.0.2.100 24 eth1
 * and a cleared environment holding exactly these five variables:
 *     PATH=/usr/sbin:/usr/bin:/sbin:/bin
 *     SIPHA_INSTANCE=<instance index>   SIPHA_ACTION=up|down
 *     SIPHA_VIP=<address text>          SIPHA_INTERFACE=<interface name>
 * stdin is /dev/null; stdout and stderr share one pipe whose first SCRIPT_OUTPUT_MAX
 * bytes are kept (the rest is read and dropped, so a chatty script never stalls on a
 * full pipe); every other descriptor of the agent (netlink, packet, SNMP sockets...) is
 * closed in the child; signal dispositions and mask are reset to the defaults. The
 * script leads a process group of its own.
 *
 * Outcome, always reported through the callback from a loop callback (never from
 * inside script_run):
 *   - exit status: the script's exit code, or 128+N when killed by signal N (-1 if
 *     something else in the process reaped the child and the status is lost);
 *   - timed out: the script was still running after the runner's timeout: the whole
 *     process group got SIGTERM, and SIGKILL 1 s later if the script was still there.
 *     When the script then exits, anything left in its group is SIGKILLed too, so a
 *     background child cannot outlive a timed-out run. (A script that exits normally
 *     may leave background children running: they are its business.)
 *   - a script that cannot be executed (missing: 127; not executable, bad format or
 *     any other exec error: 126, as shells do) is reported the same way, with the
 *     reason as its output, on the next loop turn.
 * Child exit is seen through pidfd_open(2) (Linux >= 5.3); where that system call is
 * missing (ENOSYS), through a SIGCHLD handler writing to a self-pipe. Either way only
 * our own children are reaped (waitpid on their pid), and SIGCHLD must not be set to
 * SIG_IGN by the process (children would be reaped by the kernel). */
#ifndef SIPHA_SCRIPT_H
#define SIPHA_SCRIPT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct loop;

#define SCRIPT_OUTPUT_MAX 4096u          /* bytes of stdout+stderr kept per run */
#define SCRIPT_DEFAULT_TIMEOUT_MS 5000u  /* <script timeout-ms> left out */
#define SCRIPT_KILL_GRACE_MS 1000u       /* SIGTERM -> SIGKILL */
#define SCRIPT_EXIT_NOT_FOUND 127
#define SCRIPT_EXIT_CANNOT_EXEC 126

struct script_job {
    const char *path;       /* absolute path of the executable */
    bool up;                /* "up" (take the VIP) or "down" (release it) */
    const char *vip;        /* address text, e.g. "192.0.2.100" or "2001:db8::1" */
    unsigned prefix_len;    /* 0..128 */
    const char *interface;  /* interface name, up to 15 characters; NULL or "" (the
                             * config's interface is optional) is passed as "" */
    uint32_t instance;      /* SIPHA_INSTANCE */
};

/* Called once per run that was not cancelled. `output` is the captured text, always
 * NUL-terminated (NUL bytes from the script are shown as '?'), at most
 * SCRIPT_OUTPUT_MAX bytes plus a final "[sipha: N more bytes of output dropped]" line
 * when the script wrote more. It is valid only during the call; the caller logs it
 * line by line. The callback may start and cancel runs, but must not free the runner. */
typedef void (*script_done_cb)(void *ctx, uint64_t id, int exit_status, bool timed_out,
                               const char *output);

struct script_runner;

/* timeout_ms 0 means SCRIPT_DEFAULT_TIMEOUT_MS. Returns NULL when out of memory or
 * when neither pidfd_open nor the SIGCHLD self-pipe can be set up (err says why). */
struct script_runner *script_runner_new(struct loop *lp, uint32_t timeout_ms, char *err,
                                        size_t errlen);

/* Kills (SIGKILL to the group) and reaps every run still going, without calling their
 * callbacks. Waits only for the kernel to tear the killed processes down. NULL is
 * allowed. Must not be called from a script_done_cb. */
void script_runner_free(struct script_runner *r);

/* Starts `job`. Returns the run id (> 0). Returns 0 with a reason in err, and no
 * callback, when the job itself is invalid (relative path, bad prefix, VIP not an
 * address, interface name too long or with '/' or blanks) or resources ran out (pipe, fork, memory). Several runs may go at once. */
uint64_t script_run(struct script_runner *r, const struct script_job *job, script_done_cb cb,
                    void *ctx, char *err, size_t errlen);

/* Stops run `id`: SIGKILL to its whole process group; its callback will not be called.
 * The process is still reaped from the loop. Unknown or finished ids are ignored. */
void script_cancel(struct script_runner *r, uint64_t id);

/* Runs not yet reported or reaped (cancelled ones count until reaped). */
size_t script_running(const struct script_runner *r);

/* For tests: watch children through the SIGCHLD self-pipe even when pidfd_open works.
 * Only one runner per process may use the self-pipe. Returns 0, or -1 with err. Call
 * before the first script_run. */
int script_runner_use_sigchld(struct script_runner *r, char *err, size_t errlen);

#endif
