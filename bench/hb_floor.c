/* hb_floor.c — the least a user-space heartbeat can cost on this machine: a process
 * that only sends one 92-byte UDP datagram every PERIOD ms (tx), or only receives
 * them (rx), with nothing else in its loop. The benchmark runs it on the same
 * namespace topology as the agents, so an agent's idle CPU can be read against what
 * any heartbeat of that period costs here (wakeups, scheduling, the network stack).
 *
 *     hb_floor tx ADDR PORT PERIOD_MS SECONDS
 *     hb_floor rx ADDR PORT SECONDS
 *
 * Prints "cpu_pct=<percent of a core> packets=<n>" from getrusage at the end. The
 * sender stops after SECONDS (bounded: SECONDS * 1000 / PERIOD_MS datagrams at most);
 * the receiver stops after SECONDS, or 2 s without a datagram. */
#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double cpu_s(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
           (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

static int parse_num(const char *s, long lo, long hi, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || *end || v < lo || v > hi)
        return -1;
    *out = v;
    return 0;
}

static int usage(void)
{
    fprintf(stderr, "usage: hb_floor tx ADDR PORT PERIOD_MS SECONDS | rx ADDR PORT SECONDS\n");
    return 2;
}

int main(int argc, char **argv)
{
    long port, period = 0, secs;
    struct sockaddr_in sa = { .sin_family = AF_INET };
    bool tx = argc == 6 && strcmp(argv[1], "tx") == 0;
    bool rx = argc == 5 && strcmp(argv[1], "rx") == 0;
    if ((!tx && !rx) || inet_pton(AF_INET, argv[2], &sa.sin_addr) != 1 ||
        parse_num(argv[3], 1, 65535, &port) != 0 ||
        (tx && parse_num(argv[4], 1, 10000, &period) != 0) ||
        parse_num(argv[tx ? 5 : 4], 1, 3600, &secs) != 0)
        return usage();
    sa.sin_port = htons((uint16_t)port);
    int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (s < 0 || (rx && bind(s, (struct sockaddr *)&sa, sizeof(sa)) != 0)) {
        perror("hb_floor: socket");
        return 1;
    }
    unsigned char buf[92] = { 1 };
    long packets = 0;
    double start = now_s(), cpu0 = cpu_s(), end = start + (double)secs;
    if (tx) {
        long n = secs * 1000 / period;
        for (long i = 0; i < n; i++) {
            poll(NULL, 0, (int)period);
            if (sendto(s, buf, sizeof(buf), 0, (struct sockaddr *)&sa, sizeof(sa)) > 0)
                packets++;
        }
    } else {
        struct pollfd p = { .fd = s, .events = POLLIN };
        while (now_s() < end && poll(&p, 1, 2000) > 0)
            if (recv(s, buf, sizeof(buf), 0) > 0)
                packets++;
    }
    double wall = now_s() - start;
    printf("cpu_pct=%.4f packets=%ld\n", (cpu_s() - cpu0) / wall * 100.0, packets);
    return 0;
}
