/* vip_net_driver.c — runs agent/vip_lifetime.c and agent/vip_announce.c for
 * tests/hosts/test_vip_net.sh (built there with cc; run inside a test namespace).
 *
 *   vip_net_driver lifetime  IF ADDR SECONDS [PLEN]   set the lifetime (0 = permanent)
 *   vip_net_driver get       IF ADDR                  print prefix length and lifetimes
 *   vip_net_driver expire    IF ADDR SECONDS          set it, then time the address's
 *                                                     disappearance (polled every 5 ms,
 *                                                     given up 10 s after the lifetime)
 *   vip_net_driver renew     IF ADDR SECONDS PERIOD_MS DURATION_MS
 *                                                     renew on the loop's timers
 *   vip_net_driver announce  IF ADDR COUNT INTERVAL_MS  a burst on the loop
 *
 * One result line "key=value ..."; exit 0 on success, 3 for -ENOENT, 4 for -ENODEV,
 * 1 for anything else, 2 for usage. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "loop.h"
#include "vip_announce.h"
#include "vip_lifetime.h"

#define EXPIRE_GIVE_UP_MS 10000u

struct renew {
    struct loop *lp;
    struct viplft *v;
    const char *ifname;
    struct sipha_addr addr;
    unsigned seconds, period_ms;
    uint64_t end_ms;
    unsigned ok, failed;
    char err[256];
};

struct burst {
    struct loop *lp;
    struct vipann *v;
    struct sipha_addr addr;
    uint64_t end_ms;
    unsigned late_errors;
};

static int exit_code(int rc)
{
    return rc == 0 ? 0 : rc == -ENOENT ? 3 : rc == -ENODEV ? 4 : 1;
}

static int parse_addr(const char *s, struct sipha_addr *a)
{
    memset(a, 0, sizeof(*a));
    if (inet_pton(AF_INET, s, a->bytes) == 1)
        a->family = 4;
    else if (inet_pton(AF_INET6, s, a->bytes) == 1)
        a->family = 6;
    return a->family ? 0 : -1;
}

static unsigned num(const char *s)
{
    char *end;
    unsigned long n = strtoul(s, &end, 10);
    if (*s == '\0' || *end != '\0' || n > 10000000ul) {
        fprintf(stderr, "bad number: %s\n", s);
        exit(2);
    }
    return (unsigned)n;
}

static void sleep_ms(unsigned ms)
{
    struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L };
    nanosleep(&ts, NULL);
}

static int cmd_get(struct viplft *v, const char *ifname, const struct sipha_addr *a)
{
    struct viplft_info in;
    char err[256] = "";
    int rc = viplft_get(v, ifname, a, &in, err, sizeof(err));
    if (rc == 0)
        printf("rc=0 plen=%u valid=%u preferred=%u permanent=%d flags=0x%x\n", in.prefix_len,
               in.valid_left_s, in.preferred_left_s, in.permanent, in.flags);
    else
        printf("rc=%d err=%s\n", rc, err);
    return exit_code(rc);
}

static int cmd_expire(struct viplft *v, const char *ifname, const struct sipha_addr *a, unsigned seconds)
{
    char err[256] = "";
    int rc = viplft_set(v, ifname, a, -1, seconds, err, sizeof(err));
    uint64_t t0 = loop_now_ms();
    if (rc != 0) {
        printf("rc=%d err=%s\n", rc, err);
        return exit_code(rc);
    }
    /* Far past any bound a caller checks: the caller judges the lateness, this only
     * stops waiting for an address the kernel never removes. */
    uint64_t bound = t0 + seconds * 1000u + EXPIRE_GIVE_UP_MS;
    struct viplft_info in;
    while (loop_now_ms() < bound) {
        rc = viplft_get(v, ifname, a, &in, err, sizeof(err));
        if (rc == -ENOENT) {
            long long ms = (long long)(loop_now_ms() - t0);
            printf("rc=0 expired_ms=%lld late_ms=%lld\n", ms, ms - (long long)seconds * 1000);
            return 0;
        }
        if (rc != 0) {
            printf("rc=%d err=%s\n", rc, err);
            return 1;
        }
        sleep_ms(5);
    }
    printf("rc=-1 err=still there %u ms after the lifetime\n", EXPIRE_GIVE_UP_MS);
    return 1;
}

static void renew_tick(void *arg)
{
    struct renew *r = arg;
    if (viplft_set(r->v, r->ifname, &r->addr, -1, r->seconds, r->err, sizeof(r->err)) == 0)
        r->ok++;
    else
        r->failed++;
    if (loop_now_ms() + r->period_ms <= r->end_ms)
        loop_timer_add(r->lp, r->period_ms, renew_tick, r);
    else
        loop_stop(r->lp);
}

static int cmd_renew(struct viplft *v, const char *ifname, const struct sipha_addr *a, unsigned seconds,
                     unsigned period_ms, unsigned duration_ms)
{
    struct renew r = { .lp = loop_new(), .v = v, .ifname = ifname, .addr = *a, .seconds = seconds,
                       .period_ms = period_ms ? period_ms : 1 };
    if (!r.lp)
        return 1;
    r.end_ms = loop_now_ms() + duration_ms;
    renew_tick(&r);
    if (r.ok + r.failed == 1 && loop_now_ms() + r.period_ms <= r.end_ms)
        loop_run(r.lp);
    loop_free(r.lp);
    printf("rc=%d renewals=%u failed=%u%s%s\n", r.failed ? -1 : 0, r.ok, r.failed, r.failed ? " err=" : "",
           r.failed ? r.err : "");
    return r.failed ? 1 : 0;
}

static void burst_error(void *ctx, const struct sipha_addr *addr, const char *ifname, const char *msg)
{
    struct burst *b = ctx;
    (void)addr;
    b->late_errors++;
    fprintf(stderr, "round on %s failed: %s\n", ifname, msg);
}

static void burst_idle(void *arg)
{
    struct burst *b = arg;
    if (!vipann_active(b->v, &b->addr) || loop_now_ms() > b->end_ms)
        loop_stop(b->lp);
}

static void burst_poll(void *arg)
{
    struct burst *b = arg;
    burst_idle(b);
    loop_timer_add(b->lp, 20, burst_poll, b); /* wakes the loop to look again */
}

static int cmd_announce(const char *ifname, const struct sipha_addr *a, unsigned count, unsigned interval_ms)
{
    struct burst b = { .lp = loop_new(), .addr = *a };
    if (!b.lp)
        return 1;
    b.v = vipann_new(b.lp, burst_error, &b);
    if (!b.v) {
        loop_free(b.lp);
        return 1;
    }
    b.end_ms = loop_now_ms() + (uint64_t)count * interval_ms + 2000u;
    char err[VIPANN_ERR_MAX] = "";
    int rc = vipann_announce(b.v, ifname, a, count, interval_ms, err, sizeof(err));
    if (rc >= 0 && vipann_active(b.v, a)) {
        loop_set_idle(b.lp, burst_idle, &b);
        loop_timer_add(b.lp, 20, burst_poll, &b);
        loop_run(b.lp);
    }
    const struct vipann_stats *st = vipann_get_stats(b.v);
    printf("rc=%d sent=%llu errors=%llu fallback_src=%llu late_errors=%u%s%s\n", rc,
           (unsigned long long)st->sent, (unsigned long long)st->errors,
           (unsigned long long)st->fallback_src, b.late_errors, st->last_error[0] ? " last_error=" : "",
           st->last_error);
    int ok = rc == 0 && st->errors == 0;
    vipann_free(b.v);
    loop_free(b.lp);
    return ok ? 0 : 1;
}

static int usage(void)
{
    fprintf(stderr, "usage: vip_net_driver lifetime|get|expire|renew|announce IF ADDR ...\n");
    return 2;
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (argc < 4)
        return usage();
    const char *cmd = argv[1], *ifname = argv[2];
    struct sipha_addr a;
    if (parse_addr(argv[3], &a) < 0) {
        fprintf(stderr, "bad address: %s\n", argv[3]);
        return 2;
    }
    if (strcmp(cmd, "announce") == 0)
        return argc == 6 ? cmd_announce(ifname, &a, num(argv[4]), num(argv[5])) : usage();
    char err[256] = "";
    struct viplft *v = viplft_open(err, sizeof(err));
    if (!v) {
        printf("rc=-1 err=%s\n", err);
        return 1;
    }
    int code;
    if (strcmp(cmd, "lifetime") == 0 && (argc == 5 || argc == 6)) {
        int rc = viplft_set(v, ifname, &a, argc == 6 ? (int)num(argv[5]) : -1, num(argv[4]), err, sizeof(err));
        printf("rc=%d%s%s\n", rc, rc ? " err=" : "", rc ? err : "");
        code = exit_code(rc);
    } else if (strcmp(cmd, "get") == 0 && argc == 4) {
        code = cmd_get(v, ifname, &a);
    } else if (strcmp(cmd, "expire") == 0 && argc == 5) {
        code = cmd_expire(v, ifname, &a, num(argv[4]));
    } else if (strcmp(cmd, "renew") == 0 && argc == 7) {
        code = cmd_renew(v, ifname, &a, num(argv[4]), num(argv[5]), num(argv[6]));
    } else {
        code = usage();
    }
    viplft_close(v);
    return code;
}
