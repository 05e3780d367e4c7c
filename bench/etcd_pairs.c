/* etcd_pairs.c — the etcd arbiter's lease mechanics measured against a real cluster,
 * with sipha's own holder (etcd/etcd_holder.c) on one loop, as bench/b_etcd.sh runs it.
 *
 *   etcd_pairs crash -e URL[,URL...] [-n RUNS] [-t TTL_S] [-r READ_MS]
 *       RUNS times: node a takes its pair's key, node b stands by; a "crashes" (its
 *       holder is dropped with no release, so its lease lives on until etcd expires
 *       it); b, which lost its peer at that instant, takes every READ_MS until held.
 *       Prints "crash_ms=<ms>" per run: crash -> b holds the key.
 *   etcd_pairs load -e URL[,URL...] [-p PAIRS] [-t TTL_S] [-r READ_MS] [-d SECONDS]
 *       PAIRS pairs (two holders each, one holding): runs SECONDS, then prints the
 *       calls made, holds lost, the longest time from a loss to the key held again
 *       (a holder that lost its hold takes again at once, as a primary that still
 *       hears its peer would), holders that ended without their key, and the longest
 *       time any holder could reach no member ("max_stall_ms"): killing a member
 *       meanwhile (b_etcd.sh kills the leader) shows what a member loss costs.
 *
 * The agent's engine is not in this loop: these are the lease's own figures, which
 * bound what the engine can do with them. */
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>

#include "etcd_holder.h"
#include "loop.h"

struct node {
    struct etcd_holder *h;
    bool held, lost;
    uint64_t held_at;
    uint64_t lost_at, max_regain_ms; /* load: a lost hold is taken again at once */
    uint64_t stall_since, max_stall_ms; /* no member answered, since; longest such */
};

static struct etcd_client_config ccfg;
static uint32_t ttl_s = 2, read_ms = 100;
static bool verbose;

static void on_event(void *arg, const struct etcd_holder_report *r)
{
    struct node *n = arg;
    if (r->ev == ETCD_HOLDER_EV_HELD) {
        n->held = true;
        n->held_at = loop_now_ms();
        if (n->lost_at) {
            uint64_t d = n->held_at - n->lost_at;
            n->max_regain_ms = d > n->max_regain_ms ? d : n->max_regain_ms;
            n->lost_at = 0;
        }
    } else if (r->ev == ETCD_HOLDER_EV_LOST) {
        n->held = false;
        n->lost = true;
        n->lost_at = loop_now_ms();
        if (verbose)
            fprintf(stderr, "etcd_pairs: %llu lost: %s (%s)\n",
                    (unsigned long long)loop_now_ms(), r->error, r->member);
    } else if (r->ev == ETCD_HOLDER_EV_UNREACHABLE) {
        n->stall_since = loop_now_ms();
    } else if (r->ev == ETCD_HOLDER_EV_REACHABLE && n->stall_since) {
        uint64_t d = loop_now_ms() - n->stall_since;
        n->max_stall_ms = d > n->max_stall_ms ? d : n->max_stall_ms;
        n->stall_since = 0;
    }
}

static struct etcd_holder *holder(struct loop *lp, const char *key, struct node *n)
{
    struct etcd_holder_config hc = { .key = key, .ttl_s = ttl_s, .read_ms = read_ms };
    char err[256];
    struct etcd_holder *h = etcd_holder_new(lp, &ccfg, &hc, on_event, n, err, sizeof err);
    if (!h) {
        fprintf(stderr, "etcd_pairs: %s\n", err);
        exit(2);
    }
    return h;
}

static void run_ms(struct loop *lp, uint64_t ms)
{
    uint64_t end = loop_now_ms() + ms;
    while (loop_now_ms() < end)
        loop_run_once(lp, 5);
}

/* runs until *flag or timeout; false on timeout */
static bool run_until(struct loop *lp, const bool *flag, uint64_t ms)
{
    uint64_t end = loop_now_ms() + ms;
    while (!*flag && loop_now_ms() < end)
        loop_run_once(lp, 2);
    return *flag;
}

static int crash(struct loop *lp, int runs)
{
    for (int i = 0; i < runs; i++) {
        char key[64];
        snprintf(key, sizeof key, "/sipha-bench/crash/%d/%d", (int)getpid(), i);
        struct node a = { 0 }, b = { 0 };
        a.h = holder(lp, key, &a);
        b.h = holder(lp, key, &b);
        etcd_holder_take(a.h, "a 1", 3);
        if (!run_until(lp, &a.held, 10000)) {
            fprintf(stderr, "etcd_pairs: run %d: a never held the key\n", i);
            return 1;
        }
        /* a random point of a's keepalive cycle */
        run_ms(lp, 200 + (uint64_t)(rand() % (int)(ttl_s * 1000u / 3u)));
        etcd_holder_free(a.h); /* the crash: no release, the lease lives on */
        uint64_t t0 = loop_now_ms(), next = t0;
        while (!b.held && loop_now_ms() < t0 + 3u * ttl_s * 1000u + 5000u) {
            if (loop_now_ms() >= next && etcd_holder_state(b.h) == ETCD_HOLDER_IDLE) {
                etcd_holder_take(b.h, "b 2", 3);
                next = loop_now_ms() + read_ms;
            }
            loop_run_once(lp, 2);
        }
        if (!b.held) {
            fprintf(stderr, "etcd_pairs: run %d: b never took the key\n", i);
            return 1;
        }
        printf("crash_ms=%llu\n", (unsigned long long)(b.held_at - t0));
        fflush(stdout);
        etcd_holder_release(b.h);
        run_ms(lp, 50);
        etcd_holder_free(b.h);
    }
    return 0;
}

static volatile sig_atomic_t mark;
static void on_usr1(int sig)
{
    (void)sig;
    mark = 1;
}

static int load(struct loop *lp, int pairs, int seconds)
{
    struct node *n = calloc((size_t)pairs * 2, sizeof *n);
    if (!n)
        return 2;
    for (int p = 0; p < pairs; p++) {
        char key[64];
        snprintf(key, sizeof key, "/sipha-bench/load/%d/%d", (int)getpid(), p);
        n[2 * p].h = holder(lp, key, &n[2 * p]);
        n[2 * p + 1].h = holder(lp, key, &n[2 * p + 1]);
        etcd_holder_take(n[2 * p].h, "a 1", 3);
    }
    uint64_t end = loop_now_ms() + (uint64_t)seconds * 1000u;
    while (loop_now_ms() < end) {
        loop_run_once(lp, 5);
        for (int p = 0; p < pairs; p++) /* a lost hold is taken again */
            if (n[2 * p].lost_at && etcd_holder_state(n[2 * p].h) == ETCD_HOLDER_IDLE)
                etcd_holder_take(n[2 * p].h, "a 1", 3);
        if (mark) {
            mark = 0;
            printf("mark_ms=%llu\n", (unsigned long long)loop_now_ms());
        }
    }
    uint64_t calls = 0, attempts = 0, failovers = 0, unreachable = 0, losses = 0, stall = 0,
             regain = 0;
    int without = 0, pairs_lost = 0;
    for (int i = 0; i < pairs * 2; i++) {
        struct etcd_holder_stats st;
        etcd_holder_get_stats(n[i].h, &st);
        calls += st.client.calls;
        attempts += st.client.attempts;
        failovers += st.client.failovers;
        unreachable += st.client.unreachable;
        losses += st.losses;
        if (n[i].stall_since) /* still cut off at the end */
            n[i].max_stall_ms = loop_now_ms() - n[i].stall_since;
        stall = n[i].max_stall_ms > stall ? n[i].max_stall_ms : stall;
        if (n[i].lost_at) /* never regained */
            n[i].max_regain_ms = loop_now_ms() - n[i].lost_at;
        regain = n[i].max_regain_ms > regain ? n[i].max_regain_ms : regain;
        if (i % 2 == 0 && st.state != ETCD_HOLDER_HELD)
            without++;
        pairs_lost += i % 2 == 0 && n[i].lost;
        etcd_holder_free(n[i].h);
    }
    printf("pairs=%d seconds=%d calls=%llu attempts=%llu failovers=%llu unreachable=%llu "
           "losses=%llu pairs_lost=%d holders_without_key=%d calls_per_s=%.1f max_stall_ms=%llu "
           "max_regain_ms=%llu\n",
           pairs, seconds, (unsigned long long)calls, (unsigned long long)attempts,
           (unsigned long long)failovers, (unsigned long long)unreachable,
           (unsigned long long)losses, pairs_lost, without, (double)calls / seconds,
           (unsigned long long)stall, (unsigned long long)regain);
    free(n);
    return 0;
}

static void endpoints(char *list)
{
    for (char *s = strtok(list, ","); s && ccfg.n_endpoints < ETCD_CLIENT_ENDPOINTS_MAX;
         s = strtok(NULL, ","))
        ccfg.endpoints[ccfg.n_endpoints++] = s;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: etcd_pairs crash|load -e URLS [-n RUNS] [-p PAIRS] [-t TTL] "
                        "[-r READ_MS] [-d SECONDS]\n");
        return 2;
    }
    const char *mode = argv[1];
    int runs = 20, pairs = 100, seconds = 20, c;
    optind = 2;
    while ((c = getopt(argc, argv, "e:n:p:t:r:d:v")) != -1) {
        switch (c) {
        case 'e': endpoints(optarg); break;
        case 'n': runs = atoi(optarg); break;
        case 'p': pairs = atoi(optarg); break;
        case 't': ttl_s = (uint32_t)atoi(optarg); break;
        case 'r': read_ms = (uint32_t)atoi(optarg); break;
        case 'd': seconds = atoi(optarg); break;
        case 'v': verbose = true; break;
        default: return 2;
        }
    }
    ccfg.timeout_ms = 500;
    signal(SIGUSR1, on_usr1);
    srand((unsigned)getpid());
    curl_global_init(CURL_GLOBAL_DEFAULT);
    struct loop *lp = loop_new();
    int rc = !strcmp(mode, "crash") ? crash(lp, runs) : !strcmp(mode, "load")
             ? load(lp, pairs, seconds) : 2;
    loop_free(lp);
    curl_global_cleanup();
    return rc;
}
