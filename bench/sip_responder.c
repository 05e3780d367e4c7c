/* sip_responder.c — a minimal SIP UDP peer for the benchmarks: it holds one or
 * more UDP ports (so a sipha-agent sees its SIP listener bound) and answers every
 * OPTIONS request with "200 OK", copying Via, From, To, Call-ID and CSeq (what a
 * probe's response is matched on). Anything else is counted and ignored.
 *
 *   sip_responder [-s STATSFILE] [-n NAME] ADDR:PORT [ADDR:PORT...]     (IPv4 only)
 *
 * -n NAME adds "Server: NAME" to every 200 OK, so that a client (tests/hosts/
 * pair_probe) can tell which host of a pair answered. Every socket is bound with
 * IP_FREEBIND: a host's responder can hold VIP:PORT before the VIP is on the host
 * (it answers as soon as the address arrives, as a SIP server bound to the VIP would).
 *
 * SIGUSR1 writes "requests answered ignored" to STATSFILE (or stderr); SIGTERM and
 * SIGINT end it. Batched with recvmmsg/sendmmsg so that 10,000 probes a second cost
 * it little of the machine the agent is measured on. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAX_SOCKS 16
#define BATCH 64
#define PKT 2048

struct counters {
    unsigned long long requests, answered, ignored;
};

static volatile sig_atomic_t stop_flag, dump_flag;

static void on_stop(int sig) { (void)sig; stop_flag = 1; }
static void on_dump(int sig) { (void)sig; dump_flag = 1; }

/* Copies the header line starting with `name` (long form, case-insensitive) from
 * the request into out; returns bytes written, 0 when absent or too long. */
static size_t copy_header(const char *req, size_t len, const char *name, char *out, size_t room)
{
    size_t nl = strlen(name);
    for (size_t i = 0; i + nl < len; i++) {
        if ((i == 0 || req[i - 1] == '\n') && strncasecmp(req + i, name, nl) == 0 &&
            req[i + nl] == ':') {
            const char *end = memchr(req + i, '\n', len - i);
            if (!end)
                return 0;
            size_t n = (size_t)(end - (req + i)) + 1;
            if (n + 1 > room)
                return 0;
            memcpy(out, req + i, n);
            if (n < 2 || out[n - 2] != '\r') { /* normalise a bare LF to CRLF */
                out[n - 1] = '\r';
                out[n++] = '\n';
            }
            return n;
        }
    }
    return 0;
}

/* Builds the 200 OK for an OPTIONS request; returns its length, 0 = do not answer.
 * server: the Server header line ("Server: NAME\r\n") or "". */
static size_t build_answer(const char *req, size_t len, const char *server, char *out, size_t room)
{
    static const char *hdrs[] = { "Via", "From", "To", "Call-ID", "CSeq" };
    static const char head[] = "SIP/2.0 200 OK\r\n";
    static const char tail[] = "Allow: INVITE, ACK, BYE, CANCEL, OPTIONS\r\nContent-Length: 0\r\n\r\n";
    if (len < 8 || memcmp(req, "OPTIONS ", 8) != 0)
        return 0;
    size_t n = sizeof(head) - 1;
    memcpy(out, head, n);
    for (size_t h = 0; h < sizeof(hdrs) / sizeof(hdrs[0]); h++) {
        size_t c = copy_header(req, len, hdrs[h], out + n, room - n);
        if (c == 0)
            return 0;
        n += c;
    }
    size_t sl = strlen(server);
    if (n + sl + sizeof(tail) > room)
        return 0;
    memcpy(out + n, server, sl);
    n += sl;
    memcpy(out + n, tail, sizeof(tail) - 1);
    return n + sizeof(tail) - 1;
}

/* A Server name goes into a header line: printable, no spaces or line breaks. */
static int valid_name(const char *n)
{
    size_t l = strlen(n);
    if (l == 0 || l > 64)
        return 0;
    for (size_t i = 0; i < l; i++)
        if (n[i] <= ' ' || n[i] > '~')
            return 0;
    return 1;
}

static int open_sock(const char *spec)
{
    char host[64];
    const char *colon = strrchr(spec, ':');
    if (!colon || (size_t)(colon - spec) >= sizeof(host)) {
        fprintf(stderr, "sip_responder: %s: expected ADDR:PORT\n", spec);
        return -1;
    }
    memcpy(host, spec, (size_t)(colon - spec));
    host[colon - spec] = '\0';
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(colon + 1)) };
    if (inet_pton(AF_INET, host, &sa.sin_addr) != 1) {
        fprintf(stderr, "sip_responder: %s: not an IPv4 address\n", host);
        return -1;
    }
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
    int big = 4 << 20;
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &big, sizeof(big));
    setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &big, sizeof(big));
    int one = 1; /* bind the VIP before it is on the host */
    setsockopt(fd, IPPROTO_IP, IP_FREEBIND, &one, sizeof(one));
    if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        fprintf(stderr, "sip_responder: bind %s: %s\n", spec, strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    return fd;
}

/* One batch: receive up to BATCH datagrams, answer the OPTIONS among them. */
static void serve_batch(int fd, const char *server, struct counters *c)
{
    static char in[BATCH][PKT], out[BATCH][PKT];
    static struct sockaddr_in from[BATCH];
    struct mmsghdr rm[BATCH], sm[BATCH];
    struct iovec riov[BATCH], siov[BATCH];
    memset(rm, 0, sizeof(rm));
    for (int i = 0; i < BATCH; i++) {
        riov[i] = (struct iovec){ in[i], PKT - 1 };
        rm[i].msg_hdr = (struct msghdr){ .msg_name = &from[i], .msg_namelen = sizeof(from[i]),
                                          .msg_iov = &riov[i], .msg_iovlen = 1 };
    }
    int n = recvmmsg(fd, rm, BATCH, MSG_DONTWAIT, NULL);
    if (n <= 0)
        return;
    int k = 0;
    for (int i = 0; i < n; i++) {
        c->requests++;
        size_t len = build_answer(in[i], rm[i].msg_len, server, out[k], PKT);
        if (len == 0) {
            c->ignored++;
            continue;
        }
        siov[k] = (struct iovec){ out[k], len };
        sm[k].msg_hdr = (struct msghdr){ .msg_name = &from[i], .msg_namelen = rm[i].msg_hdr.msg_namelen,
                                          .msg_iov = &siov[k], .msg_iovlen = 1 };
        sm[k].msg_len = 0;
        k++;
    }
    for (int done = 0; done < k;) {
        int s = sendmmsg(fd, sm + done, (unsigned)(k - done), 0);
        if (s <= 0)
            break; /* a full buffer drops the rest: the probe then times out, as it would */
        done += s;
        c->answered += (unsigned long long)s;
    }
}

static void dump(const char *path, const struct counters *c)
{
    FILE *f = path ? fopen(path, "w") : stderr;
    if (!f)
        return;
    fprintf(f, "%llu %llu %llu\n", c->requests, c->answered, c->ignored);
    if (path)
        fclose(f);
}

int main(int argc, char **argv)
{
    const char *stats = NULL;
    char server[96] = "";
    int opt;
    while ((opt = getopt(argc, argv, "s:n:")) != -1) {
        if (opt == 's') {
            stats = optarg;
        } else if (opt == 'n' && valid_name(optarg)) {
            snprintf(server, sizeof(server), "Server: %s\r\n", optarg);
        } else {
            if (opt == 'n')
                fprintf(stderr, "sip_responder: -n: 1 to 64 printable characters, no spaces\n");
            fprintf(stderr, "usage: sip_responder [-s STATSFILE] [-n NAME] ADDR:PORT...\n");
            return 2;
        }
    }
    struct pollfd pfd[MAX_SOCKS];
    int nfd = 0;
    for (int i = optind; i < argc && nfd < MAX_SOCKS; i++) {
        int fd = open_sock(argv[i]);
        if (fd < 0)
            return 1;
        pfd[nfd++] = (struct pollfd){ .fd = fd, .events = POLLIN };
    }
    if (nfd == 0) {
        fprintf(stderr, "usage: sip_responder [-s STATSFILE] [-n NAME] ADDR:PORT...\n");
        return 2;
    }
    struct sigaction sa = { .sa_handler = on_stop };
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sa.sa_handler = on_dump;
    sigaction(SIGUSR1, &sa, NULL);
    struct counters c = { 0 };
    while (!stop_flag) {
        if (dump_flag) {
            dump_flag = 0;
            dump(stats, &c);
        }
        if (poll(pfd, (nfds_t)nfd, 1000) <= 0)
            continue;
        for (int i = 0; i < nfd; i++)
            if (pfd[i].revents & POLLIN)
                serve_batch(pfd[i].fd, server, &c);
    }
    dump(stats, &c);
    return 0;
}
