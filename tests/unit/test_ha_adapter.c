/* test_ha_adapter.c — the HA engine's adapter (agent/ha_adapter.c) with its modules
 * (ha_monitors.c, ha_scripts.c, ha_link.c, vip_keeper.c) on a virtual clock.
 *
 * A real struct agent is built by agent_init from a configuration written into a
 * temporary directory; no AgentX master is connected (notifications queue), and
 * ha_adapter_start is called directly. The loop runs on a virtual clock
 * (loop_set_clock): time moves only when a test advances it, and the adapter's
 * engine timer, the scripts' timeouts and the HA link's heartbeats are due on it.
 *
 *  - monitors: no kernel monitor is opened (ha_monitors_test_no_sources); their
 *    events go through ha_monitors_event / ha_monitors_arbiter, exactly as the
 *    monitors hand them over, and every input the agent feeds the engine is recorded
 *    through the agent's ha_input hook;
 *  - VIP scripts: a small shell script in the temporary directory appends its
 *    arguments to a file; the runner reports its end through its pidfd, so a test
 *    polls the loop's fds (without moving the clock) until it has;
 *  - HA link: the peer is a second hl_link on 127.0.0.1 in the same loop;
 *  - re-entrancy: a Net-SNMP log callback (notify_emit logs every notification while
 *    the adapter carries out the step's outputs) feeds inputs from inside a step.
 *
 * Waiting for I/O (a script's exit, a datagram on loopback) is bounded by a count of
 * short polls; nothing depends on how fast it arrives. */
#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include <net-snmp/net-snmp-config.h>
#include <net-snmp/net-snmp-includes.h>

#include "context.h"
#include "agent_run.h"
#include "ha_adapter.h"
#include "ha_monitors.h"
#include "hl_link.h"
#include "notify.h"

#define T0 1000000u     /* the virtual clock at the start of every test */
#define MAX_INPUTS 512
#define MAX_LOGS 256
#define PEER_KEY "adapter-test-key-0123456789abcdef"

enum variant {
    V_PLAIN,          /* alone, configured primary, scripts that work */
    V_MISSING_SCRIPT, /* the VIP's scripts do not exist */
    V_NO_SCRIPTS,     /* the VIP has no scripts (iptakeover monitoring off) */
    V_PEER,           /* with a peer on 127.0.0.1 */
};

struct peer_side {
    struct hl_link *link;
    int port;
    int states, msgs, lost;
    struct ha_peer_state last;
    struct ha_peer_msg last_msg;
};

struct fx {
    struct agent a;
    uint64_t now;
    enum variant variant;
    char dir[64];
    char runs[128];        /* the scripts' record: one line per run */
    /* every input the agent's modules fed the engine (through a->ha_input) */
    struct ha_input in[MAX_INPUTS];
    size_t n_in;
    /* Net-SNMP's log lines */
    char log[MAX_LOGS][320];
    size_t n_log;
    /* the re-entrancy hook: when a log line contains hook_on, feed hook_inputs */
    const char *hook_on;
    const struct ha_input *hook_inputs;
    size_t hook_n;
    bool hook_fired;
    uint8_t hook_dn_after;           /* the engine's view right after feeding them */
    uint64_t hook_sip_after;
    /* the peer */
    struct peer_side peer;
    int agent_port;
};

/* ---------- clock, loop ---------- */

static uint64_t vclock(void *arg)
{
    return ((const struct fx *)arg)->now;
}

/* Moves the virtual clock on by ms, running every timer at its due time. */
static void advance(struct fx *f, uint64_t ms)
{
    uint64_t end = f->now + ms;
    for (;;) {
        uint64_t due = loop_next_due(f->a.loop);
        if (due > end)
            break;
        if (due > f->now)
            f->now = due;
        loop_run_due(f->a.loop);
    }
    f->now = end;
    loop_run_due(f->a.loop);
}

/* Polls the loop's fds (the clock stands still) until pred holds; each pass waits at
 * most 10 ms, 2000 passes at most. */
static bool pump_until(struct fx *f, bool (*pred)(struct fx *))
{
    for (int i = 0; i < 2000; i++) {
        if (pred(f))
            return true;
        assert_int_equal(loop_run_once(f->a.loop, 10), 0);
    }
    return pred(f);
}

static const struct ha_state *st(struct fx *f)
{
    assert_non_null(f->a.inst.ha);
    return f->a.inst.ha;
}

/* ---------- what the engine was fed ---------- */

static void record_input(struct agent *a, const struct ha_input *in)
{
    struct fx *f = (struct fx *)a; /* a is the first member */
    if (in && f->n_in < MAX_INPUTS)
        f->in[f->n_in++] = *in;
    ha_adapter_input(a, in);
}

static size_t count_inputs(const struct fx *f, enum ha_in_kind kind, size_t from)
{
    size_t n = 0;
    for (size_t i = from; i < f->n_in; i++)
        n += f->in[i].kind == kind;
    return n;
}

static const struct ha_input *last_input(const struct fx *f, enum ha_in_kind kind)
{
    for (size_t i = f->n_in; i-- > 0;)
        if (f->in[i].kind == kind)
            return &f->in[i];
    return NULL;
}

/* ---------- the event log ---------- */

static size_t evcount(struct fx *f)
{
    return f->a.inst.events.count;
}

/* The newest entry of notification `id`, NULL when none. */
static struct evlog_entry *ev_last(struct fx *f, enum ha_notif id)
{
    struct evlog_entry *found = NULL;
    for (struct evlog_entry *e = evlog_next(&f->a.inst.events, 0, false); e;
         e = evlog_next(&f->a.inst.events, e->index, false))
        if (e->notif == (unsigned)id)
            found = e;
    return found;
}

/* The notifications logged after event index `after`, in order. */
static size_t ev_since(struct fx *f, uint32_t after, unsigned *ids, size_t max)
{
    size_t n = 0;
    for (struct evlog_entry *e = evlog_next(&f->a.inst.events, after, false); e && n < max;
         e = evlog_next(&f->a.inst.events, e->index, false))
        ids[n++] = e->notif;
    return n;
}

static uint32_t ev_newest(struct fx *f)
{
    uint32_t last = 0;
    for (struct evlog_entry *e = evlog_next(&f->a.inst.events, 0, false); e;
         e = evlog_next(&f->a.inst.events, e->index, false))
        last = e->index;
    return last;
}

/* ---------- Net-SNMP's log, and the re-entrancy hook ---------- */

static int on_log(int major, int minor, void *serverarg, void *clientarg)
{
    (void)major;
    (void)minor;
    struct fx *f = clientarg;
    const struct snmp_log_message *m = serverarg;
    if (f->n_log < MAX_LOGS)
        snprintf(f->log[f->n_log++], sizeof(f->log[0]), "%s", m->msg ? m->msg : "");
    if (f->hook_on && !f->hook_fired && m->msg && strstr(m->msg, f->hook_on)) {
        f->hook_fired = true;
        ha_adapter_input(&f->a, NULL); /* timers only: the step runs them anyway */
        for (size_t i = 0; i < f->hook_n; i++)
            ha_adapter_input(&f->a, &f->hook_inputs[i]); /* from inside an output */
        f->hook_dn_after = st(f)->dn_state[0];
        f->hook_sip_after = st(f)->sip_msgs;
    }
    return 0;
}

static bool logged(const struct fx *f, const char *text)
{
    for (size_t i = 0; i < f->n_log; i++)
        if (strstr(f->log[i], text))
            return true;
    return false;
}

/* ---------- files ---------- */

static void write_file(const char *path, const char *text, mode_t mode)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    assert_int_equal(close(fd), 0);
    assert_int_equal(chmod(path, mode), 0);
}

/* The lines the scripts wrote, one per run ("up 192.0.2.100 24"). */
static int script_runs(struct fx *f, const char *action)
{
    FILE *fp = fopen(f->runs, "re");
    if (!fp)
        return 0;
    char line[256];
    int n = 0;
    while (fgets(line, sizeof(line), fp))
        if (!action || strncmp(line, action, strlen(action)) == 0)
            n++;
    fclose(fp);
    return n;
}

static void remove_dir(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *e;
    char path[512];
    while ((e = readdir(d))) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        unlink(path);
    }
    closedir(d);
    rmdir(dir);
}

static int free_port(void)
{
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t len = sizeof(sa);
    int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    assert_true(s >= 0);
    assert_int_equal(bind(s, (struct sockaddr *)&sa, sizeof(sa)), 0);
    assert_int_equal(getsockname(s, (struct sockaddr *)&sa, &len), 0);
    close(s);
    return ntohs(sa.sin_port);
}

static void write_config(struct fx *f, const char *path)
{
    char scripts[512] = "", options[256], peer[512] = "";
    bool monitoring = f->variant != V_NO_SCRIPTS;
    if (f->variant == V_MISSING_SCRIPT)
        snprintf(scripts, sizeof(scripts), " up-script=\"%s/missing-up\" down-script=\"%s/missing-down\"",
                 f->dir, f->dir);
    else if (f->variant != V_NO_SCRIPTS)
        snprintf(scripts, sizeof(scripts), " up-script=\"%s/vip.sh\" down-script=\"%s/vip.sh\"",
                 f->dir, f->dir);
    snprintf(options, sizeof(options),
             "<options sip-pass-check=\"false\" control-vip-scripts=\"false\" "
             "sip-iptakeover-monitoring=\"%s\" tlib-nic-monitoring=\"true\" "
             "sip-nic-monitoring=\"true\"/>", monitoring ? "true" : "false");
    if (f->variant == V_PEER) {
        char key[128];
        snprintf(key, sizeof(key), "%s/key", f->dir);
        write_file(key, PEER_KEY "\n", 0600);
        f->agent_port = free_port();
        f->peer.port = free_port();
        snprintf(peer, sizeof(peer),
                 "<peer name=\"peer\" index=\"2\" address=\"127.0.0.1:%d\" bind=\"127.0.0.1:%d\" "
                 "key-file=\"%s\" interval-ms=\"100\" miss-count=\"3\" settle-ms=\"1500\"/>\n"
                 "<arbiter url=\"http://127.0.0.1:9/health\"/>",
                 f->peer.port, f->agent_port, key);
    }
    char xml[4096];
    snprintf(xml, sizeof(xml),
             "<sipha>\n"
             "<instance index=\"1\" name=\"adapter-test\" priority=\"100\" initial-role=\"primary\"/>\n"
             "<state dir=\"%s\"/>\n"
             "<eventlog limit=\"500\" alarm-autoclear=\"2\"/>\n"
             "%s\n"
             "<sip address=\"127.0.0.1\" port=\"5060\"/>\n"
             "<nic purpose=\"management\" name=\"tstmgmt0\"/>\n"
             "<nic purpose=\"sip\" name=\"tstsip0\" address=\"127.0.0.2\"/>\n"
             "<nic purpose=\"sip\" address=\"127.0.0.3\"/>\n"
             "<vip address=\"192.0.2.100\" prefix-len=\"24\"%s/>\n"
             "<service-dn name=\"gw1\" uri=\"sip:gw1@127.0.0.1:5999\" oos-check=\"5\" oos-force=\"5\"/>\n"
             "<service-dn name=\"gw2\" uri=\"sip:gw2@127.0.0.1:5998\" oos-check=\"0\"/>\n"
             "%s\n"
             "</sipha>\n",
             f->dir, options, scripts, peer);
    write_file(path, xml, 0644);
}

/* ---------- fixture ---------- */

static int setup_variant(void **state, enum variant v)
{
    struct fx *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    f->variant = v;
    snprintf(f->dir, sizeof(f->dir), "/tmp/sipha-test-adapter-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    snprintf(f->runs, sizeof(f->runs), "%s/runs", f->dir);
    char script[256], body[512], config[128];
    snprintf(script, sizeof(script), "%s/vip.sh", f->dir);
    snprintf(body, sizeof(body), "#!/bin/sh\necho \"$1 $2 $3\" >> '%s'\n", f->runs);
    write_file(script, body, 0755);
    snprintf(config, sizeof(config), "%s/sipha.xml", f->dir);
    write_config(f, config);

    snmp_register_callback(SNMP_CALLBACK_LIBRARY, SNMP_CALLBACK_LOGGING, on_log, f);
    struct agent_options opt = { .config = config };
    if (agent_init(&f->a, &opt) != 0) { /* teardown does not run after a failed setup */
        snmp_unregister_callback(SNMP_CALLBACK_LIBRARY, SNMP_CALLBACK_LOGGING, on_log, f, 1);
        agent_free(&f->a);
        remove_dir(f->dir);
        free(f);
        return -1;
    }
    f->now = T0;
    loop_set_clock(f->a.loop, vclock, f);
    f->a.uptime_base = T0;
    f->a.ha_input = record_input;
    *state = f;
    return 0;
}

static int setup(void **state)
{
    return setup_variant(state, V_PLAIN);
}

static int setup_missing_script(void **state)
{
    return setup_variant(state, V_MISSING_SCRIPT);
}

static int setup_no_scripts(void **state)
{
    return setup_variant(state, V_NO_SCRIPTS);
}

static int setup_peer(void **state)
{
    return setup_variant(state, V_PEER);
}

static int teardown(void **state)
{
    struct fx *f = *state;
    if (f->peer.link)
        hl_close(f->peer.link);
    ha_adapter_stop(&f->a);
    notify_stop(&f->a);
    agent_free(&f->a);
    snmp_unregister_callback(SNMP_CALLBACK_LIBRARY, SNMP_CALLBACK_LOGGING, on_log, f, 1);
    remove_dir(f->dir);
    free(f);
    return 0;
}

static bool vip_script_done(struct fx *f)
{
    return f->a.inst.ha && !f->a.inst.ha->vips[0].running;
}

/* Starts the adapter and waits for the VIP up script that becoming primary runs. */
static void start(struct fx *f)
{
    assert_int_equal(ha_adapter_start(&f->a), 0);
    assert_true(pump_until(f, vip_script_done));
}

/* ---------- start, outputs, stop ---------- */

/* The first step decides the role of a peerless primary; its outputs re-arm nothing
 * yet, mark the state to save, log and queue every notification, and run the VIP
 * up script through the runner, whose end comes back as SCRIPT_DONE. The MIB reads
 * the engine's state in place until stop leaves the boot values behind. */
static void start_outputs_and_stop(void **state)
{
    struct fx *f = *state;
    assert_null(f->a.inst.ha);
    unsigned opts = HA_OPT_IPTAKEOVER_MONITORING | HA_OPT_TLIB_NIC_MONITORING;
    ha_adapter_set_options(&f->a, opts); /* before the engine runs: its boot options */
    assert_int_equal(f->a.inst.boot_options, opts);
    f->a.save_pending = false;

    assert_int_equal(ha_adapter_start(&f->a), 0);
    const struct ha_state *s = st(f);
    assert_int_equal(s->role, HA_ROLE_PRIMARY);
    assert_int_equal(s->status, HA_STATUS_RUNNING);
    assert_int_equal(s->options, opts);
    assert_true(s->epoch >= 1);
    assert_true(f->a.save_pending);
    /* ROLE output: role change (and switchover text) logged with its detail */
    struct evlog_entry *rc = ev_last(f, HA_NOTIF_ROLE_CHANGE);
    assert_non_null(rc);
    assert_non_null(strstr(rc->text, "from unknown to primary, epoch "));
    assert_non_null(strstr(rc->text, ", reason: startup"));
    /* STATUS output: the status change logged from and to, with its reason */
    struct evlog_entry *sc = ev_last(f, HA_NOTIF_STATUS_CHANGE);
    assert_non_null(sc);
    assert_string_equal(sc->text, "status changed: from initializing to running (role primary), "
                                  "reason: role decided");
    /* no master: every notification logged is waiting in the queue */
    assert_int_equal(nq_count(&f->a.queue), evcount(f));
    assert_false(f->a.master_connected);
    /* RUN_SCRIPT reached the runner; its end is a SCRIPT_DONE, never nested */
    assert_true(s->vips[0].running);
    assert_int_equal(count_inputs(f, HA_IN_SCRIPT_DONE, 0), 0);
    assert_true(pump_until(f, vip_script_done));
    assert_int_equal(count_inputs(f, HA_IN_SCRIPT_DONE, 0), 1);
    assert_int_equal(last_input(f, HA_IN_SCRIPT_DONE)->u.script.exit_status, 0);
    assert_int_equal(last_input(f, HA_IN_SCRIPT_DONE)->u.script.seq, s->vips[0].seq);
    assert_int_equal(script_runs(f, "up 192.0.2.100 24"), 1);
    assert_int_equal(s->vips[0].last_exit, 0);
    assert_int_equal(s->vips[0].script_runs, 1);

    uint32_t epoch = s->epoch;
    ha_adapter_set_options(&f->a, opts | HA_OPT_SIP_NIC_MONITORING);
    ha_adapter_stop(&f->a);
    assert_null(f->a.ha);
    assert_null(f->a.inst.ha);
    assert_null(f->a.mon);
    assert_null(f->a.scripts);
    assert_int_equal(f->a.inst.boot_epoch, epoch);
    assert_int_equal(f->a.inst.boot_options, opts | HA_OPT_SIP_NIC_MONITORING);
    assert_int_equal(instance_ha(&f->a.inst)->role, HA_ROLE_UNKNOWN);
    /* without an engine: inputs go nowhere, shutdown is done, options are kept */
    struct ha_input tick = { .kind = HA_IN_TICK };
    ha_adapter_input(&f->a, &tick);
    ha_adapter_admin(&f->a, HA_CMD_SWITCHOVER);
    ha_adapter_alarm_cleared(&f->a, 4200);
    assert_true(ha_adapter_shutdown_done(&f->a));
    ha_adapter_set_options(&f->a, opts);
    assert_int_equal(f->a.inst.boot_options, opts);
    assert_int_equal(ha_adapter_inputs_dropped(&f->a), 0);

    /* A second start begins from the kept epoch. */
    assert_int_equal(ha_adapter_start(&f->a), 0);
    assert_true(st(f)->epoch >= epoch);
    assert_int_equal(st(f)->options, opts);
}

/* ---------- monitor events ---------- */

static struct mon_event link_ev(int32_t ifindex, const char *name, bool up)
{
    struct mon_event ev = { .kind = MON_LINK, .u.link = { .ifindex = ifindex, .up = up } };
    snprintf(ev.u.link.ifname, sizeof(ev.u.link.ifname), "%s", name);
    return ev;
}

static struct mon_event addr_ev(int32_t ifindex, const char *ip, bool present)
{
    struct mon_event ev = { .kind = MON_ADDR, .u.addr = { .ifindex = ifindex, .present = present } };
    assert_int_equal(sipha_addr_parse(&ev.u.addr.addr, ip), 0);
    return ev;
}

static void feed_ev(struct fx *f, struct mon_event ev)
{
    ha_monitors_event(&f->a, &ev);
}

/* The netlink dump: every NIC up, the VIP as given. */
static void sync_nics_up(struct fx *f, bool vip_present)
{
    feed_ev(f, link_ev(10, "tstmgmt0", true));
    feed_ev(f, link_ev(11, "tstsip0", true));
    feed_ev(f, addr_ev(11, "127.0.0.2", true));
    feed_ev(f, link_ev(12, "other0", true));
    feed_ev(f, addr_ev(12, "127.0.0.3", true));
    if (vip_present)
        feed_ev(f, addr_ev(12, "192.0.2.100", true));
    feed_ev(f, (struct mon_event){ .kind = MON_NETLINK_SYNCED });
}

/* A start that fails (the engine refuses its configuration; the HA link cannot bind)
 * leaves nothing started behind, and a later start works. */
static void start_failures_leave_nothing(void **state)
{
    struct fx *f = *state;
    unsigned opts = f->a.inst.boot_options;
    f->a.inst.boot_options = 1u << 12; /* not an option: ha_config_check refuses */
    assert_int_equal(ha_adapter_start(&f->a), -1);
    assert_null(f->a.ha);
    assert_null(f->a.inst.ha);
    assert_true(logged(f, "HA engine refuses the configuration: unknown option bits"));
    f->a.inst.boot_options = opts;

    /* the HA link's port is taken: scripts and the engine were already up */
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)f->agent_port),
                              .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    assert_true(s >= 0);
    assert_int_equal(bind(s, (struct sockaddr *)&sa, sizeof(sa)), 0);
    assert_int_equal(ha_adapter_start(&f->a), -1);
    assert_true(logged(f, "sipha[1]: HA link: "));
    assert_null(f->a.ha);
    assert_null(f->a.inst.ha);
    assert_null(f->a.scripts);
    assert_null(f->a.link);
    assert_null(f->a.inst.link);
    assert_null(f->a.mon);
    assert_true(loop_next_due(f->a.loop) == UINT64_MAX); /* no timer left armed */
    close(s);

    assert_int_equal(ha_adapter_start(&f->a), 0);
    assert_non_null(f->a.inst.ha);
    assert_non_null(f->a.inst.link);
}

/* ---------- timer ticks ---------- */

/* After the script, the engine re-checks the VIP vip_recheck_ms later: the adapter's
 * one timer is due then, and a VIP still absent gets its script again. The listener
 * alarm clears itself after alarm-autoclear (2 s) through the same timer. */
static void timer_ticks(void **state)
{
    struct fx *f = *state;
    start(f);
    uint64_t done_at = f->now;
    assert_int_equal(script_runs(f, "up"), 1);
    /* the VIP is known absent: a mismatch on the primary */
    sync_nics_up(f, false);
    assert_int_equal(st(f)->vips[0].actual, HA_VIP_ABSENT);
    assert_int_equal(st(f)->role, HA_ROLE_PRIMARY);
    uint64_t due = loop_next_due(f->a.loop);
    assert_int_equal(due, done_at + 1000);
    advance(f, 999);
    assert_false(st(f)->vips[0].running);
    advance(f, 1);
    assert_true(st(f)->vips[0].running); /* TICK → RUN_SCRIPT */
    assert_true(pump_until(f, vip_script_done));
    assert_int_equal(script_runs(f, "up"), 2);
    assert_int_equal(st(f)->vips[0].script_runs, 2);

    /* the VIP appears: the recheck finds it right, no more runs */
    feed_ev(f, addr_ev(7, "192.0.2.100", true));
    advance(f, 5000);
    assert_int_equal(script_runs(f, "up"), 2);
    assert_int_equal(st(f)->vips[0].status, HA_VIP_OK);

    /* listener alarm, cleared by the timer after 2 s */
    feed_ev(f, (struct mon_event){ .kind = MON_LISTENER, .u.listener = { .bound = false } });
    struct evlog_entry *alarm = ev_last(f, HA_NOTIF_LISTENER_BIND_FAILURE);
    assert_non_null(alarm);
    assert_int_equal(alarm->alarm, ALARM_ACTIVE);
    uint32_t alarm_index = alarm->index;
    assert_int_equal(loop_next_due(f->a.loop), f->now + 2000);
    advance(f, 1999);
    assert_int_equal(evlog_find(&f->a.inst.events, alarm_index)->alarm, ALARM_ACTIVE);
    assert_null(ev_last(f, HA_NOTIF_ALARM_CLEARED));
    advance(f, 1);
    assert_int_equal(evlog_find(&f->a.inst.events, alarm_index)->alarm, ALARM_CLEARED);
    struct evlog_entry *cleared = ev_last(f, HA_NOTIF_ALARM_CLEARED);
    assert_non_null(cleared);
    assert_true(cleared->index > alarm_index);
    assert_int_equal(nq_count(&f->a.queue), evcount(f));
}

/* ---------- operator inputs ---------- */

/* Options SET, admin commands (with their result time), and an operator's clearing
 * of an alarm by its event code. */
static void operator_inputs(void **state)
{
    struct fx *f = *state;
    start(f);
    ha_adapter_set_options(&f->a, HA_OPT_ALL & ~HA_OPT_CONTROL_VIP_SCRIPTS);
    assert_int_equal(st(f)->options, HA_OPT_ALL & ~HA_OPT_CONTROL_VIP_SCRIPTS);
    ha_adapter_set_options(&f->a, 0);
    assert_int_equal(st(f)->options, 0);

    advance(f, 10);
    ha_adapter_admin(&f->a, HA_CMD_BECOME_PRIMARY); /* already primary: at once */
    assert_int_equal(st(f)->admin_result, HA_RESULT_SUCCESS);
    assert_int_equal(f->a.inst.admin_time, f->now);
    advance(f, 10);
    ha_adapter_admin(&f->a, HA_CMD_SWITCHOVER); /* nobody to hand over to */
    assert_int_equal(st(f)->admin_result, HA_RESULT_REFUSED);
    assert_int_equal(f->a.inst.admin_time, f->now);
    assert_int_equal(st(f)->role, HA_ROLE_PRIMARY);

    struct ha_input fail = { .kind = HA_IN_LISTENER, .u.flag = false };
    ha_adapter_input(&f->a, &fail);
    struct evlog_entry *alarm = ev_last(f, HA_NOTIF_LISTENER_BIND_FAILURE);
    assert_non_null(alarm);
    assert_int_equal(alarm->alarm, ALARM_ACTIVE);
    size_t n = evcount(f);
    ha_adapter_alarm_cleared(&f->a, 1234); /* no alarm has that code: nothing */
    assert_int_equal(evcount(f), n);
    assert_int_equal(alarm->alarm, ALARM_ACTIVE);
    ha_adapter_alarm_cleared(&f->a, 4200);
    assert_int_equal(alarm->alarm, ALARM_CLEARED);
    assert_int_equal(evcount(f), n + 1);
    assert_non_null(ev_last(f, HA_NOTIF_ALARM_CLEARED));
    assert_false(st(f)->listener_alarm.active);
}

/* ---------- shutdown ---------- */

/* A peerless primary stops: role backup (shutdown), VIP down script, status stopped;
 * done only once the script has ended. Inputs after that take no role. */
static void shutdown_runs_down_scripts(void **state)
{
    struct fx *f = *state;
    start(f);
    assert_false(ha_adapter_shutdown_done(&f->a));
    ha_adapter_shutdown(&f->a);
    assert_int_equal(st(f)->role, HA_ROLE_BACKUP);
    assert_int_equal(st(f)->status, HA_STATUS_STOPPED);
    assert_int_equal(st(f)->last_reason, HA_REASON_SHUTDOWN);
    assert_true(st(f)->vips[0].running);
    assert_false(ha_adapter_shutdown_done(&f->a));
    assert_true(pump_until(f, vip_script_done));
    assert_int_equal(script_runs(f, "down 192.0.2.100 24"), 1);
    assert_true(ha_adapter_shutdown_done(&f->a));
    ha_adapter_admin(&f->a, HA_CMD_BECOME_PRIMARY);
    assert_int_equal(st(f)->role, HA_ROLE_BACKUP);
}

/* ---------- scripts that do not run ---------- */

static bool got_script_done(struct fx *f)
{
    return count_inputs(f, HA_IN_SCRIPT_DONE, 0) > 0;
}

/* A missing script is reported as exit 127 from the loop, after the step that asked
 * for it; the engine records the failed run. */
static void missing_script_reports_from_loop(void **state)
{
    struct fx *f = *state;
    assert_int_equal(ha_adapter_start(&f->a), 0);
    assert_true(st(f)->vips[0].running);
    assert_int_equal(count_inputs(f, HA_IN_SCRIPT_DONE, 0), 0);
    assert_true(pump_until(f, got_script_done));
    assert_int_equal(last_input(f, HA_IN_SCRIPT_DONE)->u.script.exit_status, 127);
    assert_int_equal(st(f)->vips[0].last_exit, 127);
    assert_false(st(f)->vips[0].running);
    assert_true(logged(f, "vip 1 script failed (exit 127)"));
}

/* A VIP without scripts completes at once with exit 0, from a timer (never inside
 * the step that asked): the clock need not move. */
static void vip_without_scripts_completes_from_timer(void **state)
{
    struct fx *f = *state;
    assert_int_equal(ha_adapter_start(&f->a), 0);
    assert_true(st(f)->vips[0].running);
    assert_int_equal(count_inputs(f, HA_IN_SCRIPT_DONE, 0), 0);
    assert_int_equal(loop_next_due(f->a.loop), f->now);
    loop_run_due(f->a.loop);
    assert_int_equal(count_inputs(f, HA_IN_SCRIPT_DONE, 0), 1);
    assert_int_equal(last_input(f, HA_IN_SCRIPT_DONE)->u.script.exit_status, 0);
    assert_false(st(f)->vips[0].running);
    assert_int_equal(st(f)->vips[0].last_exit, 0);
    assert_int_equal(script_runs(f, NULL), 0);
}

/* ---------- re-entrancy ---------- */

/* Inputs raised from inside an output (here: while notify_emit logs the listener
 * failure) are not stepped in the middle of the step: each gets its own step after
 * it, in the order raised, and every one is applied. */
static void inputs_from_outputs_get_their_own_step(void **state)
{
    struct fx *f = *state;
    start(f);
    uint8_t dn_before = st(f)->dn_state[0];
    assert_int_equal(dn_before, HA_DN_UNKNOWN);
    const struct ha_input raised[] = {
        { .kind = HA_IN_DN_STATE, .u.dn = { 0, false } },
        { .kind = HA_IN_LISTENER, .u.flag = true },
        { .kind = HA_IN_SIP_MESSAGE, .u.sip = { 3 } },
    };
    f->hook_on = "siphaListenerBindFailure";
    f->hook_inputs = raised;
    f->hook_n = sizeof(raised) / sizeof(raised[0]);
    uint32_t before = ev_newest(f);
    struct ha_input fail = { .kind = HA_IN_LISTENER, .u.flag = false };
    ha_adapter_input(&f->a, &fail);
    assert_true(f->hook_fired);
    /* not applied while the step was in progress */
    assert_int_equal(f->hook_dn_after, dn_before);
    assert_int_equal(f->hook_sip_after, 0);
    /* applied right after it, each one */
    assert_int_equal(st(f)->dn_state[0], HA_DN_OUT_OF_SERVICE);
    assert_int_equal(st(f)->listener, HA_LISTENER_BOUND);
    assert_int_equal(st(f)->sip_msgs, 3);
    unsigned ids[16];
    size_t n = ev_since(f, before, ids, 16);
    assert_int_equal(n, 3);
    assert_int_equal(ids[0], HA_NOTIF_LISTENER_BIND_FAILURE);
    assert_int_equal(ids[1], HA_NOTIF_DN_OUT_OF_SERVICE);
    assert_int_equal(ids[2], HA_NOTIF_LISTENER_BOUND);
    assert_int_equal(ha_adapter_inputs_dropped(&f->a), 0);
    assert_int_equal(nq_count(&f->a.queue), evcount(f));
}

/* More than HA_ADAPTER_PENDING_MAX inputs raised in one pass: the first ones are
 * stepped, the excess is counted and logged with its number, each time it happens. */
static void pending_overflow_counted_and_logged(void **state)
{
    struct fx *f = *state;
    start(f);
    enum { N = HA_ADAPTER_PENDING_MAX + 5 };
    struct ha_input raised[N];
    for (size_t i = 0; i < N; i++)
        raised[i] = (struct ha_input){ .kind = HA_IN_SIP_MESSAGE, .u.sip = { 1 } };
    f->hook_on = "siphaListenerBindFailure";
    f->hook_inputs = raised;
    f->hook_n = N;
    struct ha_input fail = { .kind = HA_IN_LISTENER, .u.flag = false };
    ha_adapter_input(&f->a, &fail);
    assert_true(f->hook_fired);
    assert_int_equal(f->hook_sip_after, 0);
    assert_int_equal(st(f)->sip_msgs, HA_ADAPTER_PENDING_MAX);
    assert_int_equal(ha_adapter_inputs_dropped(&f->a), 5);
    assert_true(logged(f, "5 inputs raised while carrying out one input were dropped"));

    /* again: counted again and logged again */
    f->n_log = 0;
    f->hook_fired = false;
    f->hook_on = "siphaListenerBound";
    struct ha_input bound = { .kind = HA_IN_LISTENER, .u.flag = true };
    ha_adapter_input(&f->a, &bound);
    assert_true(f->hook_fired);
    assert_int_equal(st(f)->sip_msgs, 2 * HA_ADAPTER_PENDING_MAX);
    assert_int_equal(ha_adapter_inputs_dropped(&f->a), 10);
    assert_true(logged(f, "5 inputs raised while carrying out one input were dropped"));
    /* and the queue is empty again: a later input is stepped at once */
    struct ha_input sip = { .kind = HA_IN_SIP_MESSAGE, .u.sip = { 1 } };
    ha_adapter_input(&f->a, &sip);
    assert_int_equal(st(f)->sip_msgs, 2 * HA_ADAPTER_PENDING_MAX + 1);
}

/* ---------- monitors → engine inputs ---------- */

static void assert_nic_input(const struct ha_input *in, uint32_t idx, bool up)
{
    assert_int_equal(in->kind, HA_IN_NIC_STATE);
    assert_int_equal(in->u.nic.idx, idx);
    assert_int_equal(in->u.nic.up, up);
}

static const struct sipha_nic *nic_row(struct fx *f, uint32_t row)
{
    return rows_find(&f->a.inst.nics, row);
}

/* NICs by name (management, SIP), by name and address, by address only; nothing
 * before the netlink dump is complete, then every NIC once, then changes only. */
static void monitor_nics(void **state)
{
    struct fx *f = *state;
    start(f);
    size_t mark = f->n_in;
    feed_ev(f, link_ev(10, "tstmgmt0", true));
    feed_ev(f, link_ev(11, "tstsip0", true));
    feed_ev(f, addr_ev(11, "127.0.0.2", true));
    feed_ev(f, link_ev(12, "other0", true));
    feed_ev(f, addr_ev(12, "127.0.0.3", true));
    feed_ev(f, link_ev(13, "unrelated0", true));
    assert_int_equal(f->n_in, mark); /* not synced yet */
    feed_ev(f, (struct mon_event){ .kind = MON_NETLINK_SYNCED });
    assert_int_equal(f->n_in, mark + 4); /* 3 NICs, 1 VIP */
    assert_nic_input(&f->in[mark], 0, true);
    assert_nic_input(&f->in[mark + 1], 1, true);
    assert_nic_input(&f->in[mark + 2], 2, true);
    assert_int_equal(f->in[mark + 3].kind, HA_IN_VIP_STATE);
    assert_false(f->in[mark + 3].u.vip.present);
    for (int i = 0; i < 3; i++)
        assert_int_equal(st(f)->nics[i].oper, HA_OPER_UP);
    assert_int_equal(nic_row(f, 1)->ifindex, 10);
    assert_int_equal(nic_row(f, 2)->ifindex, 11);
    assert_int_equal(nic_row(f, 3)->ifindex, 12);

    /* management NIC down: NIC_STATE, failure logged under the management id */
    mark = f->n_in;
    feed_ev(f, link_ev(10, "tstmgmt0", false));
    assert_int_equal(f->n_in, mark + 1);
    assert_nic_input(&f->in[mark], 0, false);
    assert_int_equal(st(f)->nics[0].oper, HA_OPER_DOWN);
    struct evlog_entry *e = ev_last(f, HA_NOTIF_NIC_FAILURE);
    assert_non_null(e);
    assert_int_equal(e->code, 52109);
    feed_ev(f, link_ev(10, "tstmgmt0", false)); /* no change: nothing fed */
    feed_ev(f, link_ev(13, "unrelated0", false));
    assert_int_equal(f->n_in, mark + 1);
    feed_ev(f, link_ev(10, "tstmgmt0", true));
    assert_nic_input(&f->in[mark + 1], 0, true);
    assert_int_equal(ev_last(f, HA_NOTIF_NIC_RECOVERY)->code, 52110);

    /* SIP NIC by name and address: up only with its address on it */
    mark = f->n_in;
    feed_ev(f, addr_ev(11, "127.0.0.2", false));
    assert_int_equal(f->n_in, mark + 1);
    assert_nic_input(&f->in[mark], 1, false);
    assert_int_equal(st(f)->nics[1].oper, HA_OPER_DOWN);
    assert_int_equal(ev_last(f, HA_NOTIF_NIC_FAILURE)->code, 52027);
    assert_true(st(f)->causes & HA_CAUSE_SIP_NIC_DOWN);
    /* the status change says from what, to what and why */
    const char *down = ev_last(f, HA_NOTIF_STATUS_CHANGE)->text;
    assert_non_null(strstr(down, "status changed: from running to serviceUnavailable (role "));
    assert_non_null(strstr(down, "), reason: SIP NIC down"));
    feed_ev(f, addr_ev(11, "127.0.0.2", true));
    assert_nic_input(&f->in[mark + 1], 1, true);
    assert_int_equal(ev_last(f, HA_NOTIF_NIC_RECOVERY)->code, 52028);
    const char *up = ev_last(f, HA_NOTIF_STATUS_CHANGE)->text;
    assert_non_null(strstr(up, "status changed: from serviceUnavailable to running (role "));
    assert_non_null(strstr(up, "), reason: cleared: SIP NIC down"));

    /* SIP NIC by address only: follows the link of the interface holding it, and
     * moves with the address */
    mark = f->n_in;
    feed_ev(f, link_ev(12, "other0", false));
    assert_int_equal(f->n_in, mark + 1);
    assert_nic_input(&f->in[mark], 2, false);
    feed_ev(f, addr_ev(12, "127.0.0.3", false));
    assert_int_equal(f->n_in, mark + 1); /* still down */
    feed_ev(f, addr_ev(13, "127.0.0.3", true)); /* now on an interface that is down */
    assert_int_equal(f->n_in, mark + 1);
    assert_int_equal(nic_row(f, 3)->ifindex, 12); /* rows change with a report only */
    feed_ev(f, link_ev(13, "unrelated0", true));
    assert_int_equal(f->n_in, mark + 2);
    assert_nic_input(&f->in[mark + 1], 2, true);
    assert_int_equal(nic_row(f, 3)->ifindex, 13);
    assert_int_equal(st(f)->nics[2].oper, HA_OPER_UP);
}

/* VIP present / absent on any interface of the host. */
static void monitor_vip(void **state)
{
    struct fx *f = *state;
    start(f);
    size_t mark = f->n_in;
    feed_ev(f, addr_ev(5, "192.0.2.100", true)); /* before sync: kept, not fed */
    assert_int_equal(count_inputs(f, HA_IN_VIP_STATE, mark), 0);
    feed_ev(f, (struct mon_event){ .kind = MON_NETLINK_SYNCED });
    assert_int_equal(count_inputs(f, HA_IN_VIP_STATE, mark), 1);
    assert_true(last_input(f, HA_IN_VIP_STATE)->u.vip.present);
    assert_int_equal(last_input(f, HA_IN_VIP_STATE)->u.vip.idx, 0);
    assert_int_equal(st(f)->vips[0].actual, HA_VIP_PRESENT);
    feed_ev(f, addr_ev(6, "192.0.2.101", false)); /* another address: nothing */
    assert_int_equal(count_inputs(f, HA_IN_VIP_STATE, mark), 1);
    feed_ev(f, addr_ev(5, "192.0.2.100", false));
    assert_int_equal(count_inputs(f, HA_IN_VIP_STATE, mark), 2);
    assert_false(last_input(f, HA_IN_VIP_STATE)->u.vip.present);
    assert_int_equal(st(f)->vips[0].actual, HA_VIP_ABSENT);
}

/* Listener bound / failed, SIP messages (batched per loop pass), malformed SIP
 * (nothing), DN answers and losses (rows updated on every answer, the engine told
 * on changes only), probe counters, the arbiter. */
static void monitor_other_events(void **state)
{
    struct fx *f = *state;
    start(f);
    size_t mark = f->n_in;
    feed_ev(f, (struct mon_event){ .kind = MON_LISTENER, .u.listener = { .bound = true } });
    assert_int_equal(count_inputs(f, HA_IN_LISTENER, mark), 1);
    assert_true(last_input(f, HA_IN_LISTENER)->u.flag);
    assert_int_equal(st(f)->listener, HA_LISTENER_BOUND);
    assert_non_null(ev_last(f, HA_NOTIF_LISTENER_BOUND));
    feed_ev(f, (struct mon_event){ .kind = MON_LISTENER, .u.listener = { .bound = false } });
    assert_int_equal(count_inputs(f, HA_IN_LISTENER, mark), 2);
    assert_int_equal(st(f)->listener, HA_LISTENER_FAILED);
    assert_int_equal(ev_last(f, HA_NOTIF_LISTENER_BIND_FAILURE)->code, 4200);

    /* SIP: three events in one pass are one input */
    mark = f->n_in;
    feed_ev(f, (struct mon_event){ .kind = MON_SIP_MESSAGE, .u.sip = { 2, 0 } });
    feed_ev(f, (struct mon_event){ .kind = MON_SIP_MALFORMED });
    feed_ev(f, (struct mon_event){ .kind = MON_SIP_MESSAGE, .u.sip = { 3, 0 } });
    feed_ev(f, (struct mon_event){ .kind = MON_SIP_MESSAGE, .u.sip = { 1, 1 } });
    assert_int_equal(f->n_in, mark);
    loop_run_due(f->a.loop); /* the pass ends: the clock need not move */
    assert_int_equal(f->n_in, mark + 1);
    assert_int_equal(f->in[mark].kind, HA_IN_SIP_MESSAGE);
    assert_int_equal(f->in[mark].u.sip.count, 6);
    assert_int_equal(st(f)->sip_msgs, 6);
    assert_int_equal(st(f)->last_sip_msg, f->now);
    loop_run_due(f->a.loop);
    assert_int_equal(f->n_in, mark + 1);

    /* DNs */
    const struct sipha_dn *d1 = rows_find(&f->a.inst.dns, 1);
    assert_non_null(d1);
    advance(f, 50);
    mark = f->n_in;
    feed_ev(f, (struct mon_event){ .kind = MON_PROBE_SENT, .u.probe = { 1 } });
    feed_ev(f, (struct mon_event){ .kind = MON_PROBE_SENT, .u.probe = { 1 } });
    feed_ev(f, (struct mon_event){ .kind = MON_PROBE_TIMEOUT, .u.probe = { 1 } });
    feed_ev(f, (struct mon_event){ .kind = MON_PROBE_SENT, .u.probe = { 99 } }); /* no row */
    assert_int_equal(d1->probes, 2);
    assert_int_equal(d1->timeouts, 1);
    feed_ev(f, (struct mon_event){ .kind = MON_DN, .u.dn = { 1, true, 200, 1500 } });
    assert_int_equal(f->n_in, mark + 1);
    assert_int_equal(f->in[mark].kind, HA_IN_DN_STATE);
    assert_int_equal(f->in[mark].u.dn.idx, 0);
    assert_true(f->in[mark].u.dn.in_service);
    assert_int_equal(st(f)->dn_state[0], HA_DN_IN_SERVICE);
    assert_int_equal(d1->last_response, f->now);
    assert_int_equal(d1->last_status, 200);
    assert_int_equal(d1->rtt_us, 1500);
    advance(f, 50);
    feed_ev(f, (struct mon_event){ .kind = MON_DN, .u.dn = { 1, true, 404, 900 } });
    assert_int_equal(f->n_in, mark + 1); /* same state: the row only */
    assert_int_equal(d1->last_response, f->now);
    assert_int_equal(d1->last_status, 404);
    assert_int_equal(d1->rtt_us, 900);
    feed_ev(f, (struct mon_event){ .kind = MON_DN, .u.dn = { 1, false, 0, 0 } });
    assert_int_equal(f->n_in, mark + 2);
    assert_false(f->in[mark + 1].u.dn.in_service);
    assert_int_equal(st(f)->dn_state[0], HA_DN_OUT_OF_SERVICE);
    assert_int_equal(d1->last_status, 404); /* kept from the last answer */
    assert_non_null(ev_last(f, HA_NOTIF_DN_OUT_OF_SERVICE));
    feed_ev(f, (struct mon_event){ .kind = MON_DN, .u.dn = { 2, false, 0, 0 } });
    assert_int_equal(f->n_in, mark + 3);
    assert_int_equal(f->in[mark + 2].u.dn.idx, 1);
    feed_ev(f, (struct mon_event){ .kind = MON_DN, .u.dn = { 0, true, 200, 1 } });
    feed_ev(f, (struct mon_event){ .kind = MON_DN, .u.dn = { 3, true, 200, 1 } });
    assert_int_equal(f->n_in, mark + 3); /* no such DN */

}

/* ---------- the HA link ---------- */

static void peer_on_state(void *ctx, const struct ha_peer_state *ps)
{
    struct fx *f = ctx;
    f->peer.states++;
    f->peer.last = *ps;
}

static void peer_on_lost(void *ctx)
{
    struct fx *f = ctx;
    f->peer.lost++;
}

static void peer_on_msg(void *ctx, const struct ha_peer_msg *m)
{
    struct fx *f = ctx;
    f->peer.msgs++;
    f->peer.last_msg = *m;
}

static const struct hl_callbacks peer_cbs = {
    .on_state = peer_on_state, .on_lost = peer_on_lost, .on_msg = peer_on_msg,
};

static void open_peer(struct fx *f)
{
    char local[32], remote[32], key[128], err[256];
    snprintf(local, sizeof(local), "127.0.0.1:%d", f->peer.port);
    snprintf(remote, sizeof(remote), "127.0.0.1:%d", f->agent_port);
    snprintf(key, sizeof(key), "%s/key", f->dir);
    struct hl_config cfg = { .local = local, .peer = remote, .key_file = key, .self_index = 2,
                             .peer_index = 1, .interval_ms = 100, .miss_count = 3 };
    if (hl_open(&f->peer.link, f->a.loop, &cfg, &peer_cbs, f, err, sizeof(err)) != 0)
        fail_msg("hl_open: %s", err);
}

static struct ha_peer_state peer_state(enum ha_role role, uint32_t epoch)
{
    return (struct ha_peer_state){ .role = role, .status = HA_STATUS_RUNNING, .epoch = epoch,
                                   .priority = 50, .index = 2, .listener = HA_LISTENER_BOUND,
                                   .arbiter = HA_LINK_NOT_CONFIGURED, .backoff_factor = 1 };
}

static bool agent_primary_hearing_peer(struct fx *f)
{
    return st(f)->role == HA_ROLE_PRIMARY && st(f)->peer_link == HA_LINK_UP &&
           count_inputs(f, HA_IN_PEER_STATE, 0) >= 2;
}

static bool peer_got_takeover(struct fx *f)
{
    return f->peer.msgs > 0 && f->peer.last_msg.cmd == HA_CMD_PEER_TAKEOVER;
}

static bool agent_sees_peer_primary(struct fx *f)
{
    return st(f)->peer.role == HA_ROLE_PRIMARY && vip_script_done(f);
}

static bool agent_took_over(struct fx *f)
{
    return st(f)->role == HA_ROLE_PRIMARY && vip_script_done(f);
}

/* The peer's heartbeats (PEER_STATE), its RELEASE (we hand over: PEER_SEND of a
 * TAKEOVER reaches it), its TAKEOVER (we take the role with its epoch), and its
 * silence (PEER_LOST once the virtual clock passes the miss count). */
static void ha_link_inputs(void **state)
{
    struct fx *f = *state;
    open_peer(f);
    assert_int_equal(ha_adapter_start(&f->a), 0);
    assert_int_equal(st(f)->role, HA_ROLE_UNKNOWN); /* discovering: waits for the peer */
    assert_non_null(f->a.inst.link);
    struct ha_peer_state ps = peer_state(HA_ROLE_BACKUP, 0);
    hl_set_state(f->peer.link, &ps);
    assert_true(pump_until(f, agent_primary_hearing_peer));
    const struct ha_input *in = last_input(f, HA_IN_PEER_STATE);
    assert_int_equal(in->u.peer.index, 2);
    assert_int_equal(in->u.peer.role, HA_ROLE_BACKUP);
    assert_int_equal(st(f)->peer.priority, 50);
    assert_true(pump_until(f, vip_script_done));

    /* RELEASE: the primary steps down, then tells the peer to take over */
    struct ha_peer_msg release = { .cmd = HA_CMD_PEER_RELEASE };
    assert_int_equal(hl_send_msg(f->peer.link, &release), 0);
    assert_true(pump_until(f, peer_got_takeover));
    assert_int_equal(st(f)->role, HA_ROLE_BACKUP);
    assert_int_equal(count_inputs(f, HA_IN_ADMIN, 0), 1);
    assert_int_equal(last_input(f, HA_IN_ADMIN)->u.admin.cmd, HA_CMD_PEER_RELEASE);
    uint32_t epoch = f->peer.last_msg.epoch;
    assert_true(epoch > 0);
    assert_int_equal(script_runs(f, "down"), 1);

    /* the peer is primary now, then hands the role back with TAKEOVER */
    ps = peer_state(HA_ROLE_PRIMARY, epoch);
    hl_set_state(f->peer.link, &ps);
    assert_true(pump_until(f, agent_sees_peer_primary));
    ps = peer_state(HA_ROLE_BACKUP, epoch);
    hl_set_state(f->peer.link, &ps);
    struct ha_peer_msg takeover = { .cmd = HA_CMD_PEER_TAKEOVER, .epoch = epoch + 1,
                                    .reason = HA_REASON_ADMIN, .factor = 1 };
    assert_int_equal(hl_send_msg(f->peer.link, &takeover), 0);
    assert_true(pump_until(f, agent_took_over));
    assert_int_equal(st(f)->epoch, epoch + 1);
    assert_int_equal(last_input(f, HA_IN_ADMIN)->u.admin.cmd, HA_CMD_PEER_TAKEOVER);
    assert_int_equal(script_runs(f, "up"), 2);

    /* the peer goes silent: lost after its miss count on the virtual clock */
    hl_close(f->peer.link);
    f->peer.link = NULL;
    size_t lost_before = count_inputs(f, HA_IN_PEER_LOST, 0);
    assert_int_equal(lost_before, 0);
    advance(f, 100);
    assert_int_equal(st(f)->peer_link, HA_LINK_UP);
    advance(f, 5000);
    assert_int_equal(count_inputs(f, HA_IN_PEER_LOST, 0), 1);
    assert_int_equal(st(f)->peer_link, HA_LINK_DOWN);
    assert_non_null(ev_last(f, HA_NOTIF_PEER_LOST));
    assert_int_equal(st(f)->role, HA_ROLE_PRIMARY);
}

/* The arbiter's verdicts (a configuration with a peer: an arbiter needs one). */
static void monitor_arbiter(void **state)
{
    struct fx *f = *state;
    assert_int_equal(ha_adapter_start(&f->a), 0);
    size_t mark = f->n_in;
    ha_monitors_arbiter(&f->a, true);
    assert_int_equal(f->n_in, mark + 1);
    assert_int_equal(f->in[mark].kind, HA_IN_ARBITER);
    assert_true(f->in[mark].u.flag);
    assert_int_equal(st(f)->arbiter, HA_LINK_UP);
    ha_monitors_arbiter(&f->a, false);
    assert_false(f->in[mark + 1].u.flag);
    assert_int_equal(st(f)->arbiter, HA_LINK_DOWN);
    assert_non_null(ev_last(f, HA_NOTIF_ARBITER_LOST));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(start_outputs_and_stop, setup, teardown),
        cmocka_unit_test_setup_teardown(start_failures_leave_nothing, setup_peer, teardown),
        cmocka_unit_test_setup_teardown(timer_ticks, setup, teardown),
        cmocka_unit_test_setup_teardown(operator_inputs, setup, teardown),
        cmocka_unit_test_setup_teardown(shutdown_runs_down_scripts, setup, teardown),
        cmocka_unit_test_setup_teardown(missing_script_reports_from_loop, setup_missing_script,
                                        teardown),
        cmocka_unit_test_setup_teardown(vip_without_scripts_completes_from_timer,
                                        setup_no_scripts, teardown),
        cmocka_unit_test_setup_teardown(inputs_from_outputs_get_their_own_step, setup, teardown),
        cmocka_unit_test_setup_teardown(pending_overflow_counted_and_logged, setup, teardown),
        cmocka_unit_test_setup_teardown(monitor_nics, setup, teardown),
        cmocka_unit_test_setup_teardown(monitor_vip, setup, teardown),
        cmocka_unit_test_setup_teardown(monitor_other_events, setup, teardown),
        cmocka_unit_test_setup_teardown(monitor_arbiter, setup_peer, teardown),
        cmocka_unit_test_setup_teardown(ha_link_inputs, setup_peer, teardown),
    };
    ha_monitors_test_no_sources(true);
    netsnmp_log_handler *lh = netsnmp_register_loghandler(NETSNMP_LOGHANDLER_CALLBACK, LOG_DEBUG);
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    if (lh)
        netsnmp_remove_loghandler(lh);
    return rc;
}
