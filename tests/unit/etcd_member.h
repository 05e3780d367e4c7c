/* etcd_member.h — one etcd member on loopback for the unit tests that need a real one
 * (Debian's etcd-server): started by the group setup with its own data directory and
 * free ports, ready once a read answers, stopped and removed by the group teardown.
 * `etcd.url` is its client URL, `etcd.dead_url` one where nothing listens, `etcd.pid`
 * its process (for SIGSTOP and SIGCONT). Included by test_etcd_holder.c and
 * test_arbiter_lock.c only. */
#ifndef TEST_ETCD_MEMBER_H
#define TEST_ETCD_MEMBER_H

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "etcd_client.h"
#include "loop.h"

static struct {
    pid_t pid;
    char dir[64];
    char url[64];       /* client URL */
    char dead_url[64];  /* nothing listens there */
} etcd;

static int free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = 0 };
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) != 0 ||
        getsockname(fd, (struct sockaddr *)&a, &len) != 0)
        return -1;
    close(fd);
    return ntohs(a.sin_port);
}

static bool port_open(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bool ok = fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof a) == 0;
    if (fd >= 0)
        close(fd);
    return ok;
}

static void on_ready(void *arg, const struct etcd_result *r)
{
    *(int *)arg = r->outcome == ETCD_ANSWERED && !r->reply->is_error ? 1 : -1;
}

/* The port opens before the member has elected itself: wait until a read answers. */
static bool etcd_serves(void)
{
    struct loop *lp = loop_new();
    struct etcd_client_config cc = { .endpoints = { etcd.url }, .n_endpoints = 1,
                                     .timeout_ms = 1000 };
    char err[256], body[ETCD_WIRE_BODY_MAX];
    struct etcd_client *c = lp ? etcd_client_new(lp, &cc, err, sizeof err) : NULL;
    int len = etcd_wire_read(body, sizeof body, "/sipha/ready");
    bool ok = false;
    uint64_t end = loop_now_ms() + 15000;
    while (c && !ok && loop_now_ms() < end) {
        int state = 0;
        if (etcd_client_call(c, ETCD_OP_READ, body, (size_t)len, on_ready, &state) < 0)
            break;
        while (!state && loop_run_once(lp, 20) == 0)
            ;
        ok = state == 1;
        if (!ok)
            usleep(100 * 1000);
    }
    etcd_client_free(c);
    loop_free(lp);
    return ok;
}

static int etcd_setup(void **state)
{
    (void)state;
    int cport = free_port(), pport = free_port(), dport = free_port();
    if (cport < 0 || pport < 0 || dport < 0)
        return -1;
    snprintf(etcd.dir, sizeof etcd.dir, "/tmp/sipha-etcd-test.XXXXXX");
    if (!mkdtemp(etcd.dir))
        return -1;
    snprintf(etcd.url, sizeof etcd.url, "http://127.0.0.1:%d", cport);
    snprintf(etcd.dead_url, sizeof etcd.dead_url, "http://127.0.0.1:%d", dport);
    char peer[64], data[96], cluster[96];
    snprintf(peer, sizeof peer, "http://127.0.0.1:%d", pport);
    snprintf(data, sizeof data, "%s/data", etcd.dir);
    snprintf(cluster, sizeof cluster, "t=%s", peer);
    etcd.pid = fork();
    if (etcd.pid < 0)
        return -1;
    if (etcd.pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        char log[96];
        snprintf(log, sizeof log, "%s/etcd.log", etcd.dir);
        if (!freopen(log, "w", stdout) || !freopen(log, "a", stderr))
            _exit(126);
        execlp("etcd", "etcd", "--name", "t", "--data-dir", data, "--listen-client-urls",
               etcd.url, "--advertise-client-urls", etcd.url, "--listen-peer-urls", peer,
               "--initial-advertise-peer-urls", peer, "--initial-cluster", cluster,
               "--log-level", "warn", (char *)NULL);
        _exit(127);
    }
    for (int i = 0; i < 200 && !port_open(cport); i++)
        usleep(50 * 1000);
    if (!port_open(cport) || !etcd_serves()) {
        fprintf(stderr, "etcd did not start (is etcd-server installed? see %s/etcd.log)\n",
                etcd.dir);
        return -1;
    }
    return 0;
}

static int etcd_teardown(void **state)
{
    (void)state;
    if (etcd.pid > 0) {
        kill(etcd.pid, SIGCONT);
        kill(etcd.pid, SIGTERM);
        waitpid(etcd.pid, NULL, 0);
    }
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", etcd.dir);
    return system(cmd) == 0 ? 0 : -1;
}

#endif
