/* ss_events.c — the evapi client (behaviour in ss_events.h): a netstring decoder, and
 * the connection that feeds it on the loop.
 *
 * Re-entrancy: every entry from the loop (the socket, the timers) runs between enter()
 * and leave(). A callback may call ss_events_close: the client is then marked dead, its
 * fd and timers go at once, nothing else is touched after the callback returns, and
 * leave() frees the memory when the outermost entry unwinds. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "errbuf.h"
#include "ss_events.h"

/* One largest frame, "65536:" + payload + ",", with room to spare: the decoder refuses
 * a length above the cap by its 6th digit, so a pending frame always fits. */
#define BUF_SIZE (SS_EVENTS_MAX_PAYLOAD + 16u)

struct ss_events {
    struct loop *lp;
    struct ss_events_callbacks cb;
    void *ctx;
    struct sockaddr_storage sa;
    socklen_t salen;
    int fd;                    /* -1: none (waiting for a retry) */
    uint64_t retry_timer, connect_timer;
    uint32_t next_delay_ms;    /* delay of the next retry */
    uint64_t up_since;         /* loop time of the last up */
    int depth;
    bool dead;
    struct ss_events_counters cnt;
    size_t rlen;               /* bytes of an incomplete frame at rbuf[0] */
    char rbuf[BUF_SIZE];
};

/* ---- netstring frames --------------------------------------------------------------- */

enum ss_events_frame_rc ss_events_frame(const char *buf, size_t len, size_t max, size_t *off,
                                        size_t *plen)
{
    size_t i, v = 0;
    for (i = 0; i < len && buf[i] != ':'; i++) {
        if (buf[i] < '0' || buf[i] > '9')
            return SS_EVENTS_FRAME_MALFORMED;
        if (i == 1 && buf[0] == '0')
            return SS_EVENTS_FRAME_MALFORMED; /* a leading zero: "0:" is the only one */
        v = v * 10 + (size_t)(buf[i] - '0');
        if (v > max)
            return SS_EVENTS_FRAME_OVERSIZE;  /* v <= max before: no overflow */
    }
    if (i == len)
        return SS_EVENTS_FRAME_MORE;
    if (i == 0)
        return SS_EVENTS_FRAME_MALFORMED;     /* ":" without a length */
    if (len - i - 1 < v + 1)
        return SS_EVENTS_FRAME_MORE;
    if (buf[i + 1 + v] != ',')
        return SS_EVENTS_FRAME_MALFORMED;
    *off = i + 1;
    *plen = v;
    return SS_EVENTS_FRAME_WHOLE;
}

/* ---- entry / exit ------------------------------------------------------------------- */

static void enter(struct ss_events *ev)
{
    ev->depth++;
}

/* Closes the socket and stops the timers; the state stays for the counters. */
static void quiesce(struct ss_events *ev)
{
    if (ev->fd >= 0) {
        loop_unwatch_fd(ev->lp, ev->fd);
        close(ev->fd);
        ev->fd = -1;
    }
    if (ev->connect_timer)
        loop_timer_cancel(ev->lp, ev->connect_timer);
    if (ev->retry_timer)
        loop_timer_cancel(ev->lp, ev->retry_timer);
    ev->connect_timer = ev->retry_timer = 0;
    ev->rlen = 0;
}

/* false when the client was closed meanwhile (then freed once no entry runs). */
static bool leave(struct ss_events *ev)
{
    if (--ev->depth == 0 && ev->dead) {
        free(ev);
        return false;
    }
    return !ev->dead;
}

static void notify(struct ss_events *ev, bool up, enum ss_events_reason r)
{
    if (!ev->dead && ev->cb.on_state)
        ev->cb.on_state(ev->ctx, up, r);
}

/* ---- connecting ----------------------------------------------------------------------- */

static void start_connect(struct ss_events *ev);

static void retry_fired(void *arg)
{
    struct ss_events *ev = arg;
    enter(ev);
    ev->retry_timer = 0;
    start_connect(ev);
    leave(ev);
}

/* Without the socket until the next attempt; the delay doubles up to the cap. */
static void schedule_retry(struct ss_events *ev)
{
    uint32_t delay = ev->next_delay_ms;
    ev->next_delay_ms = delay >= SS_EVENTS_RETRY_MAX_MS / 2 ? SS_EVENTS_RETRY_MAX_MS : delay * 2;
    ev->cnt.retry_delay_ms = delay;
    quiesce(ev);
    ev->retry_timer = loop_timer_add(ev->lp, delay, retry_fired, ev);
}

static void connect_failed(struct ss_events *ev, int err)
{
    ev->cnt.connect_failures++;
    ev->cnt.last_errno = err;
    schedule_retry(ev);
}

static void connect_timeout(void *arg)
{
    struct ss_events *ev = arg;
    enter(ev);
    ev->connect_timer = 0;
    connect_failed(ev, ETIMEDOUT);
    leave(ev);
}

static void on_readable(int fd, unsigned events, void *arg);

static void go_up(struct ss_events *ev)
{
    if (loop_watch_fd(ev->lp, ev->fd, LOOP_READ, on_readable, ev) < 0) {
        connect_failed(ev, ENOMEM);
        return;
    }
    loop_timer_cancel(ev->lp, ev->connect_timer);
    ev->connect_timer = 0;
    ev->cnt.connects++;
    ev->cnt.up = true;
    ev->up_since = loop_now(ev->lp);
    notify(ev, true, SS_EVENTS_CONNECTED);
}

/* Writable (or failed): SO_ERROR tells which. */
static void on_connect_ready(int fd, unsigned events, void *arg)
{
    struct ss_events *ev = arg;
    int soerr = 0;
    socklen_t sl = sizeof(soerr);
    (void)events;
    enter(ev);
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) < 0)
        soerr = errno;
    if (soerr)
        connect_failed(ev, soerr);
    else
        go_up(ev);
    leave(ev);
}

/* Best effort: without keepalive a vanished host is only found by the next connect
 * after something else closes the socket, so a failure here is not worth refusing
 * the connection for. */
static void set_keepalive(int fd)
{
    int on = 1, idle = SS_EVENTS_KEEPALIVE_IDLE_S, intvl = SS_EVENTS_KEEPALIVE_INTVL_S,
        count = SS_EVENTS_KEEPALIVE_COUNT;
    (void)setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &on, sizeof(on));
    (void)setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof(idle));
    (void)setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &intvl, sizeof(intvl));
    (void)setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &count, sizeof(count));
}

/* Never calls back: a failure only schedules the next attempt. */
static void start_connect(struct ss_events *ev)
{
    ev->cnt.attempts++;
    ev->fd = socket(ev->sa.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (ev->fd < 0) {
        connect_failed(ev, errno);
        return;
    }
    set_keepalive(ev->fd);
    /* 0 (possible on loopback) is handled like EINPROGRESS: a connected socket is
     * writable at once, and the callback then runs from the loop, as it must. */
    if (connect(ev->fd, (struct sockaddr *)&ev->sa, ev->salen) < 0 && errno != EINPROGRESS) {
        connect_failed(ev, errno);
        return;
    }
    if (loop_watch_fd(ev->lp, ev->fd, LOOP_WRITE, on_connect_ready, ev) < 0) {
        connect_failed(ev, ENOMEM);
        return;
    }
    ev->connect_timer = loop_timer_add(ev->lp, SS_EVENTS_CONNECT_TIMEOUT_MS, connect_timeout, ev);
}

/* ---- connected -------------------------------------------------------------------------- */

static void go_down(struct ss_events *ev, enum ss_events_reason r, int err)
{
    ev->cnt.disconnects[r]++;
    if (r == SS_EVENTS_MALFORMED || r == SS_EVENTS_OVERSIZE)
        ev->cnt.framing_errors++;
    if (err)
        ev->cnt.last_errno = err;
    ev->cnt.up = false;
    if (loop_now(ev->lp) - ev->up_since >= SS_EVENTS_STABLE_MS)
        ev->next_delay_ms = SS_EVENTS_RETRY_MIN_MS;
    schedule_retry(ev);
    notify(ev, false, r);
}

/* Hands over every whole frame in rbuf and keeps the incomplete rest at its start.
 * false when the connection went down (framing error) or the client was closed. */
static bool deliver(struct ss_events *ev)
{
    size_t pos = 0, off = 0, plen = 0;
    for (;;) {
        enum ss_events_frame_rc rc =
            ss_events_frame(ev->rbuf + pos, ev->rlen - pos, SS_EVENTS_MAX_PAYLOAD, &off, &plen);
        if (rc == SS_EVENTS_FRAME_MORE)
            break;
        if (rc != SS_EVENTS_FRAME_WHOLE) {
            go_down(ev, rc == SS_EVENTS_FRAME_OVERSIZE ? SS_EVENTS_OVERSIZE : SS_EVENTS_MALFORMED, 0);
            return false;
        }
        char *p = ev->rbuf + pos + off;
        p[plen] = '\0'; /* the comma, already checked */
        pos += off + plen + 1;
        ev->cnt.payloads++;
        ev->cnt.payload_bytes += plen;
        ev->cb.on_payload(ev->ctx, p, plen);
        if (ev->dead)
            return false;
    }
    ev->rlen -= pos;
    if (pos && ev->rlen)
        memmove(ev->rbuf, ev->rbuf + pos, ev->rlen);
    return true;
}

static void on_readable(int fd, unsigned events, void *arg)
{
    struct ss_events *ev = arg;
    (void)events;
    enter(ev);
    for (unsigned i = 0; i < SS_EVENTS_READS_PER_WAKEUP; i++) {
        /* A frame the decoder accepted fits in rbuf whole, so room is never 0; were
         * it, read() would return 0 and be taken for the end of the stream. */
        size_t room = sizeof(ev->rbuf) - ev->rlen;
        ssize_t n = read(fd, ev->rbuf + ev->rlen, room);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            break;
        if (n <= 0) {
            /* an incomplete frame at the end is dropped: the next up reconciles */
            go_down(ev, n == 0 ? SS_EVENTS_EOF : SS_EVENTS_SOCK_ERROR, n == 0 ? 0 : errno);
            break;
        }
        ev->cnt.bytes_in += (uint64_t)n;
        ev->rlen += (size_t)n;
        if (!deliver(ev) || (size_t)n < room)
            break; /* down, closed, or drained (poll says when there is more) */
    }
    leave(ev);
}

/* ---- open / close ------------------------------------------------------------------------ */

/* The port of an endpoint: 1..65535 in plain digits, or 0 when it is not. */
static uint16_t parse_port(const char *p)
{
    unsigned long v = 0;
    if (!*p || strlen(p) > 5)
        return 0;
    for (; *p; p++) {
        if (*p < '0' || *p > '9')
            return 0;
        v = v * 10 + (unsigned long)(*p - '0');
    }
    return v <= 65535 ? (uint16_t)v : 0;
}

/* "IP:PORT" or "[IPv6]:PORT", numeric (no DNS on the loop). */
static int parse_endpoint(const char *s, struct sockaddr_storage *ss, socklen_t *len)
{
    char host[INET6_ADDRSTRLEN];
    bool v6 = s[0] == '[';
    const char *start = v6 ? s + 1 : s;
    const char *end = v6 ? strchr(s, ']') : strchr(s, ':');
    if (!end || (v6 && end[1] != ':') || (!v6 && strchr(end + 1, ':')))
        return -1;
    size_t hl = (size_t)(end - start);
    uint16_t port = parse_port(end + (v6 ? 2 : 1));
    if (hl == 0 || hl >= sizeof(host) || port == 0)
        return -1;
    memcpy(host, start, hl);
    host[hl] = '\0';
    memset(ss, 0, sizeof(*ss));
    if (v6) {
        struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
        if (inet_pton(AF_INET6, host, &s6->sin6_addr) != 1)
            return -1;
        s6->sin6_family = AF_INET6;
        s6->sin6_port = htons(port);
        *len = sizeof(*s6);
    } else {
        struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
        if (inet_pton(AF_INET, host, &s4->sin_addr) != 1)
            return -1;
        s4->sin_family = AF_INET;
        s4->sin_port = htons(port);
        *len = sizeof(*s4);
    }
    return 0;
}

int ss_events_open(struct ss_events **out, struct loop *lp, const char *endpoint,
                   const struct ss_events_callbacks *cb, void *ctx, char *err, size_t errlen)
{
    if (!lp || !endpoint || !cb || !cb->on_payload)
        return errbuf_set(err, errlen, "evapi: no loop, endpoint or on_payload callback");
    struct ss_events *ev = calloc(1, sizeof(*ev));
    if (!ev)
        return errbuf_set(err, errlen, "evapi: out of memory");
    if (parse_endpoint(endpoint, &ev->sa, &ev->salen) < 0) {
        free(ev);
        return errbuf_set(err, errlen, "evapi: endpoint \"%s\" is not IP:PORT or [IPv6]:PORT",
                          endpoint);
    }
    ev->lp = lp;
    ev->cb = *cb;
    ev->ctx = ctx;
    ev->fd = -1;
    ev->next_delay_ms = SS_EVENTS_RETRY_MIN_MS;
    start_connect(ev);
    *out = ev;
    return 0;
}

void ss_events_close(struct ss_events *ev)
{
    if (!ev || ev->dead)
        return;
    ev->dead = true;
    quiesce(ev);
    if (ev->depth == 0)
        free(ev);
}

void ss_events_get_counters(const struct ss_events *ev, struct ss_events_counters *c)
{
    *c = ev->cnt;
}

bool ss_events_is_up(const struct ss_events *ev)
{
    return ev->cnt.up;
}

const char *ss_events_reason_name(enum ss_events_reason r)
{
    switch (r) {
    case SS_EVENTS_CONNECTED: return "connected";
    case SS_EVENTS_EOF: return "closed by the server";
    case SS_EVENTS_SOCK_ERROR: return "socket error";
    case SS_EVENTS_MALFORMED: return "malformed netstring";
    case SS_EVENTS_OVERSIZE: return "payload too large";
    }
    return "?";
}
