/* mon_driver.c — runs the monitors on the agent's loop and prints every event as one
 * line, "<monotonic ms> KIND key=value...", for tests/agent/test_monitors.sh.
 *
 *   mon_driver [--netlink] [--nl-rcvbuf BYTES]
 *              [--listener ADDR PORT] [--listener-tcp] [--listener-interval MS]
 *              [--sip ADDR PORT] [--probe ADDR PORT] [--probe-sip-port]
 *              [--dn INDEX URI OOS-CHECK OOS-FORCE]...
 *
 * Prints "READY" once every monitor is open, "PROBE_PORT port=N" for the probe socket,
 * and on SIGUSR1 one STATS line per monitor. Runs until SIGTERM or SIGINT. */
#include <arpa/inet.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "loop.h"
#include "mon_listener.h"
#include "mon_netlink.h"
#include "mon_probe.h"
#include "mon_sip.h"

#define MAX_DNS 64

struct driver {
    struct loop *lp;
    bool netlink;
    struct mon_netlink_config nl_cfg;
    bool listener;
    struct mon_listener_config ls_cfg;
    bool sip;
    struct mon_sip_config sip_cfg;
    bool probe;
    struct mon_probe_config pr_cfg;
    struct mon_probe_dn dns[MAX_DNS];
    struct mon_netlink *nl;
    struct mon_listener *ls;
    struct mon_sip *ms;
    struct mon_probe *mp;
};

static volatile sig_atomic_t stop_flag, stats_flag;

static void on_signal(int sig)
{
    if (sig == SIGUSR1)
        stats_flag = 1;
    else
        stop_flag = 1;
}

static const char *addr_text(const struct sipha_addr *a, char *buf, size_t len)
{
    if (!inet_ntop(mon_addr_af(a), a->bytes, buf, (socklen_t)len))
        snprintf(buf, len, "?");
    return buf;
}

static void emit(void *ctx, const struct mon_event *ev)
{
    char a[INET6_ADDRSTRLEN];
    (void)ctx;
    printf("%llu ", (unsigned long long)loop_now_ms());
    switch (ev->kind) {
    case MON_LINK:
        printf("LINK ifindex=%d name=%s up=%d\n", ev->u.link.ifindex, ev->u.link.ifname, ev->u.link.up);
        break;
    case MON_ADDR:
        printf("ADDR ifindex=%d addr=%s/%u present=%d\n", ev->u.addr.ifindex,
               addr_text(&ev->u.addr.addr, a, sizeof(a)), ev->u.addr.prefix_len, ev->u.addr.present);
        break;
    case MON_NETLINK_SYNCED:
        printf("SYNCED\n");
        break;
    case MON_LISTENER:
        printf("LISTENER bound=%d\n", ev->u.listener.bound);
        break;
    case MON_SIP_MESSAGE:
        printf("SIP count=%u from_dn=%u\n", ev->u.sip.count, ev->u.sip.from_dn);
        break;
    case MON_SIP_MALFORMED:
        printf("MALFORMED count=%u\n", ev->u.sip.count);
        break;
    case MON_DN:
        printf("DN dn=%u in_service=%d status=%u rtt_us=%u\n", ev->u.dn.dn, ev->u.dn.in_service,
               ev->u.dn.status_code, ev->u.dn.rtt_us);
        break;
    case MON_PROBE_SENT:
        printf("PROBE_SENT dn=%u\n", ev->u.probe.dn);
        break;
    case MON_PROBE_TIMEOUT:
        printf("PROBE_TIMEOUT dn=%u\n", ev->u.probe.dn);
        break;
    }
}

static void print_stats(struct driver *d)
{
    if (d->nl) {
        struct mon_netlink_stats s;
        mon_netlink_get_stats(d->nl, &s);
        printf("STATS netlink messages=%llu dumps=%llu enobufs=%llu errors=%llu\n",
               (unsigned long long)s.messages, (unsigned long long)s.dumps,
               (unsigned long long)s.enobufs, (unsigned long long)s.errors);
    }
    if (d->ms) {
        struct mon_sip_stats s;
        mon_sip_get_stats(d->ms, &s);
        printf("STATS sip messages=%llu malformed=%llu keepalives=%llu foreign=%llu drops=%llu\n",
               (unsigned long long)s.messages, (unsigned long long)s.malformed,
               (unsigned long long)s.keepalives, (unsigned long long)s.foreign,
               (unsigned long long)s.drops);
    }
    if (d->mp) {
        struct mon_probe_stats s;
        mon_probe_get_stats(d->mp, &s);
        printf("STATS probe sent=%llu responses=%llu timeouts=%llu unmatched=%llu malformed=%llu "
               "send_errors=%llu\n", (unsigned long long)s.sent, (unsigned long long)s.responses,
               (unsigned long long)s.timeouts, (unsigned long long)s.unmatched,
               (unsigned long long)s.malformed, (unsigned long long)s.send_errors);
    }
}

static void idle(void *arg)
{
    struct driver *d = arg;
    if (stats_flag) {
        stats_flag = 0;
        print_stats(d);
    }
    if (stop_flag)
        loop_stop(d->lp);
}

static int parse_addr(const char *text, struct sipha_addr *a)
{
    unsigned char b[16];
    if (inet_pton(AF_INET, text, b) == 1)
        mon_addr_set(a, AF_INET, b);
    else if (inet_pton(AF_INET6, text, b) == 1)
        mon_addr_set(a, AF_INET6, b);
    else
        return -1;
    return 0;
}

static int usage(const char *why)
{
    fprintf(stderr, "mon_driver: %s\n", why);
    return -1;
}

/* Parses one option at argv[*i]; returns -1 on error. */
static int parse_opt(struct driver *d, int argc, char **argv, int *i)
{
    const char *o = argv[*i];
    int left = argc - *i - 1;
    if (!strcmp(o, "--netlink")) {
        d->netlink = true;
    } else if (!strcmp(o, "--nl-rcvbuf") && left >= 1) {
        d->nl_cfg.rcvbuf = (uint32_t)strtoul(argv[++*i], NULL, 10);
    } else if (!strcmp(o, "--listener") && left >= 2) {
        d->listener = true;
        if (parse_addr(argv[*i + 1], &d->ls_cfg.addr) < 0)
            return usage("bad listener address");
        d->ls_cfg.port = (uint16_t)atoi(argv[*i + 2]);
        *i += 2;
    } else if (!strcmp(o, "--listener-tcp")) {
        d->ls_cfg.tcp = true;
    } else if (!strcmp(o, "--listener-interval") && left >= 1) {
        d->ls_cfg.interval_ms = (uint32_t)strtoul(argv[++*i], NULL, 10);
    } else if (!strcmp(o, "--sip") && left >= 2) {
        d->sip = true;
        if (parse_addr(argv[*i + 1], &d->sip_cfg.addr) < 0)
            return usage("bad SIP address");
        d->sip_cfg.port = (uint16_t)atoi(argv[*i + 2]);
        *i += 2;
    } else if (!strcmp(o, "--sip-also") && left >= 1) {
        if (d->sip_cfg.n_also == MON_SIP_ALSO_MAX ||
            parse_addr(argv[*i + 1], &d->sip_cfg.also[d->sip_cfg.n_also]) < 0)
            return usage("bad --sip-also address");
        d->sip_cfg.n_also++;
        *i += 1;
    } else if (!strcmp(o, "--probe") && left >= 2) {
        d->probe = true;
        if (parse_addr(argv[*i + 1], &d->pr_cfg.local) < 0)
            return usage("bad probe address");
        d->pr_cfg.sip_port = (uint16_t)atoi(argv[*i + 2]);
        *i += 2;
    } else if (!strcmp(o, "--probe-sip-port")) {
        d->pr_cfg.use_sip_port = true;
    } else if (!strcmp(o, "--dn") && left >= 4 && d->pr_cfg.n_dns < MAX_DNS) {
        d->dns[d->pr_cfg.n_dns++] = (struct mon_probe_dn){
            (uint32_t)atoi(argv[*i + 1]), argv[*i + 2], (uint32_t)atoi(argv[*i + 3]),
            (uint32_t)atoi(argv[*i + 4]) };
        *i += 4;
    } else {
        return usage(o);
    }
    return 0;
}

static int open_all(struct driver *d)
{
    char err[512] = "";
    if (d->netlink && mon_netlink_open(&d->nl, d->lp, &d->nl_cfg, emit, d, err, sizeof(err)) < 0)
        goto fail;
    if (d->listener && mon_listener_open(&d->ls, d->lp, &d->ls_cfg, emit, d, err, sizeof(err)) < 0)
        goto fail;
    if (d->sip && mon_sip_open(&d->ms, d->lp, &d->sip_cfg, emit, d, err, sizeof(err)) < 0)
        goto fail;
    d->pr_cfg.dns = d->dns;
    if (d->probe && mon_probe_open(&d->mp, d->lp, &d->pr_cfg, emit, d, err, sizeof(err)) < 0)
        goto fail;
    if (d->mp) {
        printf("%llu PROBE_PORT port=%u\n", (unsigned long long)loop_now_ms(),
               mon_probe_local_port(d->mp));
        if (d->ls)
            mon_listener_ignore_inode(d->ls, mon_probe_inode(d->mp));
    }
    return 0;
fail:
    fprintf(stderr, "ERROR %s\n", err);
    return -1;
}

static void close_all(struct driver *d)
{
    mon_probe_close(d->mp);
    mon_sip_close(d->ms);
    mon_listener_close(d->ls);
    mon_netlink_close(d->nl);
}

int main(int argc, char **argv)
{
    static struct driver d;
    for (int i = 1; i < argc; i++)
        if (parse_opt(&d, argc, argv, &i) < 0)
            return 2;
    setvbuf(stdout, NULL, _IOLBF, 0);
    struct sigaction sa = { .sa_handler = on_signal };
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGUSR1, &sa, NULL);
    d.lp = loop_new();
    if (!d.lp)
        return 1;
    int rc = 1;
    if (open_all(&d) == 0) {
        printf("%llu READY\n", (unsigned long long)loop_now_ms());
        loop_set_idle(d.lp, idle, &d);
        rc = loop_run(d.lp) == 0 ? 0 : 1;
        print_stats(&d);
    }
    close_all(&d);
    loop_free(d.lp);
    return rc;
}
