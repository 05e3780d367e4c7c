/* halink_driver.c — runs the HA link (agent/halink.c) on the agent's loop against a
 * peer and prints every callback as one line, "<monotonic ms> KIND key=value...",
 * for tests/agent/test_halink.sh.
 *
 *   halink_driver --peer ADDR --index N --cred FILE [--interval MS] [--timeout MS]
 *                 [--tick MS] [--send TEXT] [--pull]
 *
 * --send TEXT    sends the link message TEXT ("release", "takeover 5 2 1 0") on every
 *                SIGUSR2
 * --pull         pulls the peer's contacts
 * --tick MS      prints "TICK" every MS ms (a stalled loop shows as a gap)
 *
 * HALINK_DRIVER_DEBUG=TOKEN,... in the environment turns on Net-SNMP debug output.
 *
 * Prints "READY" once the link is open, "OPEN_FAILED <message>" and exits 2 when it
 * cannot open, a "STATS" line on SIGUSR1 and at exit. Runs until SIGTERM or SIGINT. */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <net-snmp/net-snmp-config.h>
#include <net-snmp/net-snmp-includes.h>

#include "halink.h"
#include "halink_msg.h"
#include "loop.h"

struct driver {
    struct loop *lp;
    struct halink *link;
    uint32_t tick_ms;
    const char *send_text;
    struct ha_peer_msg send_msg;
};

static volatile sig_atomic_t stop_flag, stats_flag, send_flag;

static void on_signal(int sig)
{
    if (sig == SIGUSR1)
        stats_flag = 1;
    else if (sig == SIGUSR2)
        send_flag = 1;
    else
        stop_flag = 1;
}

static void stamp(const char *kind)
{
    printf("%llu %s", (unsigned long long)loop_now_ms(), kind);
}

static void send_message(struct driver *d)
{
    int rc = halink_send(d->link, &d->send_msg);
    stamp("SEND");
    printf(" msg=%s queued=%d\n", d->send_text, rc == 0);
}

static void on_state(void *ctx, const struct ha_peer_state *ps)
{
    (void)ctx;
    stamp("STATE");
    printf(" index=%u role=%d status=%d priority=%u epoch=%u msgs=%llu listener=%d "
           "unavailable=%d options=%u arbiter=%d\n", ps->index, ps->role, ps->status,
           ps->priority, ps->epoch, (unsigned long long)ps->sip_msgs, ps->listener,
           ps->unavailable, ps->options, ps->arbiter);
}

static void on_lost(void *ctx, const char *why)
{
    (void)ctx;
    stamp("LOST");
    printf(" why=%s\n", why);
}

static void on_sent(void *ctx, const struct ha_peer_msg *m, bool ok)
{
    char text[HALINK_MSG_MAX + 1];
    (void)ctx;
    size_t n = halink_msg_encode(m, text, sizeof(text));
    stamp("SENT");
    printf(" ok=%d msg=%.*s\n", ok, (int)n, text);
}

static void on_contact(void *ctx, const char *aor, const char *uri, uint32_t expiry,
                       uint32_t row)
{
    (void)ctx;
    stamp("CONTACT");
    printf(" row=%u aor=%s uri=%s expiry=%u\n", row, aor, uri, expiry);
}

static void on_contacts_done(void *ctx, bool full)
{
    (void)ctx;
    stamp("CONTACTS_DONE");
    printf(" full=%d\n", full);
}

static void on_log(void *ctx, const char *text)
{
    (void)ctx;
    stamp("LOG");
    printf(" %s\n", text);
}

static void print_stats(const struct driver *d)
{
    struct halink_counters c;
    halink_get_counters(d->link, &c);
    stamp("STATS");
    printf(" connected=%d discoveries=%llu disc_sent=%llu resets=%llu hb_sent=%llu "
           "hb_answered=%llu hb_timeouts=%llu hb_skipped=%llu hb_not_registered=%llu "
           "hb_bad=%llu msgs_sent=%llu msgs_ok=%llu msgs_failed=%llu msgs_refused=%llu "
           "bulk_sent=%llu contacts=%llu full_copies=%llu bad_rows=%llu auth_errors=%llu\n",
           halink_connected(d->link), (unsigned long long)c.discoveries,
           (unsigned long long)c.disc_sent, (unsigned long long)c.resets,
           (unsigned long long)c.hb_sent, (unsigned long long)c.hb_answered,
           (unsigned long long)c.hb_timeouts, (unsigned long long)c.hb_skipped,
           (unsigned long long)c.hb_not_registered, (unsigned long long)c.hb_bad,
           (unsigned long long)c.msgs_sent, (unsigned long long)c.msgs_ok,
           (unsigned long long)c.msgs_failed, (unsigned long long)c.msgs_refused,
           (unsigned long long)c.bulk_sent, (unsigned long long)c.contacts,
           (unsigned long long)c.full_copies, (unsigned long long)c.bad_rows,
           (unsigned long long)c.auth_errors);
}

static void on_tick(void *arg)
{
    struct driver *d = arg;
    loop_timer_add(d->lp, d->tick_ms, on_tick, d);
    stamp("TICK\n");
}

static void on_idle(void *arg)
{
    struct driver *d = arg;
    if (stats_flag) {
        stats_flag = 0;
        print_stats(d);
    }
    if (send_flag) {
        send_flag = 0;
        if (d->send_text)
            send_message(d);
    }
    if (stop_flag)
        loop_stop(d->lp);
}

static void init_netsnmp(void)
{
    /* A client only: no config files, no MIB files, no persistent state anywhere. */
    setenv("MIBS", "", 1);
    setenv("MIBDIRS", "", 1);
    netsnmp_ds_set_boolean(NETSNMP_DS_LIBRARY_ID, NETSNMP_DS_LIB_DONT_READ_CONFIGS, 1);
    netsnmp_ds_set_boolean(NETSNMP_DS_LIBRARY_ID, NETSNMP_DS_LIB_DONT_PERSIST_STATE, 1);
    netsnmp_ds_set_boolean(NETSNMP_DS_LIBRARY_ID, NETSNMP_DS_LIB_DISABLE_PERSISTENT_LOAD, 1);
    netsnmp_ds_set_boolean(NETSNMP_DS_LIBRARY_ID, NETSNMP_DS_LIB_DISABLE_PERSISTENT_SAVE, 1);
    netsnmp_ds_set_boolean(NETSNMP_DS_LIBRARY_ID, NETSNMP_DS_LIB_ALARM_DONT_USE_SIG, 1);
    /* HALINK_DRIVER_DEBUG=token,token turns on Net-SNMP's debug output on stderr. */
    const char *dbg = getenv("HALINK_DRIVER_DEBUG");
    if (dbg && *dbg) {
        char tokens[256];
        snprintf(tokens, sizeof(tokens), "%s", dbg);
        debug_register_tokens(tokens);
        snmp_set_do_debugging(1);
        snmp_enable_stderrlog();
    }
    init_snmp("halink-driver");
}

static void usage(void)
{
    fprintf(stderr, "usage: halink_driver --peer ADDR --index N --cred FILE [--interval MS] "
                    "[--timeout MS] [--tick MS] [--send TEXT] [--pull]\n");
    exit(64);
}

static uint32_t num(const char *s)
{
    char *end;
    unsigned long v = strtoul(s, &end, 10);
    if (!*s || *end || v > UINT32_MAX)
        usage();
    return (uint32_t)v;
}

static void parse_args(int argc, char **argv, struct halink_config *cfg, struct driver *d,
                       bool *pull)
{
    static const struct option opts[] = {
        { "peer", required_argument, NULL, 'p' },   { "index", required_argument, NULL, 'i' },
        { "cred", required_argument, NULL, 'c' },   { "interval", required_argument, NULL, 'v' },
        { "timeout", required_argument, NULL, 't' }, { "tick", required_argument, NULL, 'k' },
        { "send", required_argument, NULL, 's' },   { "pull", no_argument, NULL, 'l' },
        { NULL, 0, NULL, 0 },
    };
    int c;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'p': cfg->address = optarg; break;
        case 'i': cfg->peer_index = num(optarg); break;
        case 'c': cfg->credentials = optarg; break;
        case 'v': cfg->interval_ms = num(optarg); break;
        case 't': cfg->timeout_ms = num(optarg); break;
        case 'k': d->tick_ms = num(optarg); break;
        case 's': d->send_text = optarg; break;
        case 'l': *pull = true; break;
        default: usage();
        }
    }
    if (optind != argc || !cfg->address || !cfg->credentials || !cfg->peer_index)
        usage();
    if (d->send_text &&
        halink_msg_decode(d->send_text, strlen(d->send_text), &d->send_msg) != 0) {
        fprintf(stderr, "halink_driver: '%s' is not a link message\n", d->send_text);
        exit(64);
    }
}

int main(int argc, char **argv)
{
    struct halink_config cfg = { 0 };
    struct driver d = { 0 };
    bool pull = false;
    char err[512];
    parse_args(argc, argv, &cfg, &d, &pull);
    setvbuf(stdout, NULL, _IOLBF, 0);
    signal(SIGTERM, on_signal);
    signal(SIGINT, on_signal);
    signal(SIGUSR1, on_signal);
    signal(SIGUSR2, on_signal);
    init_netsnmp();
    d.lp = loop_new();
    const struct halink_callbacks cb = {
        .on_state = on_state, .on_lost = on_lost, .on_sent = on_sent, .on_contact = on_contact,
        .on_contacts_done = on_contacts_done, .on_log = on_log,
    };
    if (!d.lp || halink_open(&d.link, d.lp, &cfg, &cb, &d, err, sizeof(err)) != 0) {
        stamp("OPEN_FAILED");
        printf(" %s\n", d.lp ? err : "no loop");
        loop_free(d.lp);
        snmp_shutdown("halink-driver");
        return 2;
    }
    halink_pull_contacts(d.link, pull);
    if (d.tick_ms)
        loop_timer_add(d.lp, d.tick_ms, on_tick, &d);
    loop_set_idle(d.lp, on_idle, &d);
    stamp("READY\n");
    int rc = loop_run(d.lp);
    print_stats(&d);
    halink_close(d.link);
    loop_free(d.lp);
    snmp_shutdown("halink-driver");
    return rc == 0 ? 0 : 1;
}
