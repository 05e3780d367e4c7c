/* halink_discover.c — non-blocking RFC 3414 engine discovery (see halink_discover.h).
 *
 * The codec is a small BER writer and a strict BER reader of our own: every TLV is
 * read from a bounded window, its length checked against what is left of its
 * container, and each container must be consumed exactly. Lengths of more than two
 * octets and the indefinite form are refused (a Report is ~100 bytes). */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "errbuf.h"
#include "halink_discover.h"

#define TAG_INT 0x02
#define TAG_OCTETS 0x04
#define TAG_OID 0x06
#define TAG_SEQ 0x30
#define TAG_COUNTER32 0x41
#define TAG_GET 0xa0
#define TAG_REPORT 0xa8

#define SNMP_V3 3
#define USM_MODEL 3
#define FLAG_REPORTABLE 0x04
#define MAX_MSG_SIZE 65507   /* msgMaxSize we announce: the largest UDP payload */
#define MIN_MSG_SIZE 484     /* RFC 3412: msgMaxSize (484..2147483647) */
#define INT31_MAX 2147483647

/* usmStatsUnknownEngineIDs.0 = 1.3.6.1.6.3.15.1.1.4.0, content octets of the OID */
static const uint8_t unknown_engine_ids_oid[] = { 0x2b, 6, 1, 6, 3, 15, 1, 1, 4, 0 };

/* ---- address ------------------------------------------------------------------ */

static int parse_port(const char *s, uint16_t *port)
{
    unsigned v = 0;
    size_t n = 0;
    for (; s[n]; n++) {
        if (s[n] < '0' || s[n] > '9' || n >= 5)
            return -1;
        v = v * 10 + (unsigned)(s[n] - '0');
    }
    if (n == 0 || v == 0 || v > 65535)
        return -1;
    *port = (uint16_t)v;
    return 0;
}

static int parse_v4(const char *s, struct halink_addr *out, char *err, size_t errlen)
{
    char host[INET_ADDRSTRLEN];
    const char *colon = strchr(s, ':');
    size_t hlen = colon ? (size_t)(colon - s) : strlen(s);
    uint16_t port = 161;
    struct sockaddr_in *sin = (struct sockaddr_in *)&out->sa;
    if (hlen == 0 || hlen >= sizeof(host))
        return errbuf_set(err, errlen, "'%s': not a numeric IPv4 address (names are not resolved; "
                    "IPv6 is udp6:[ADDR]:PORT)", s);
    memcpy(host, s, hlen);
    host[hlen] = '\0';
    if (inet_pton(AF_INET, host, &sin->sin_addr) != 1)
        return errbuf_set(err, errlen, "'%s': not a numeric IPv4 address (names are not resolved; "
                    "IPv6 is udp6:[ADDR]:PORT)", host);
    if (colon && parse_port(colon + 1, &port) != 0)
        return errbuf_set(err, errlen, "'%s': port must be 1..65535", colon + 1);
    sin->sin_family = AF_INET;
    sin->sin_port = htons(port);
    out->len = sizeof(*sin);
    snprintf(out->peername, sizeof(out->peername), "udp:%s:%u", host, (unsigned)port);
    return 0;
}

static int parse_v6(const char *s, struct halink_addr *out, char *err, size_t errlen)
{
    char host[INET6_ADDRSTRLEN];
    const char *close = s[0] == '[' ? strchr(s, ']') : NULL;
    uint16_t port = 161;
    struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&out->sa;
    if (!close)
        return errbuf_set(err, errlen, "'%s': an IPv6 address goes in brackets, udp6:[ADDR]:PORT", s);
    size_t hlen = (size_t)(close - s - 1);
    if (hlen == 0 || hlen >= sizeof(host))
        return errbuf_set(err, errlen, "'%s': not a numeric IPv6 address", s);
    memcpy(host, s + 1, hlen);
    host[hlen] = '\0';
    if (inet_pton(AF_INET6, host, &sin6->sin6_addr) != 1)
        return errbuf_set(err, errlen, "'%s': not a numeric IPv6 address (names and scope ids are "
                    "not accepted)", host);
    if (close[1] != '\0' && (close[1] != ':' || parse_port(close + 2, &port) != 0))
        return errbuf_set(err, errlen, "'%s': expected ]:PORT with PORT 1..65535", close);
    sin6->sin6_family = AF_INET6;
    sin6->sin6_port = htons(port);
    out->len = sizeof(*sin6);
    inet_ntop(AF_INET6, &sin6->sin6_addr, host, sizeof(host));
    snprintf(out->peername, sizeof(out->peername), "udp6:[%s]:%u", host, (unsigned)port);
    return 0;
}

int halink_addr_parse(const char *text, struct halink_addr *out, char *err, size_t errlen)
{
    struct halink_addr a;
    memset(&a, 0, sizeof(a));
    if (!text || !*text)
        return errbuf_set(err, errlen, "empty peer address");
    int rc;
    if (strncmp(text, "udp6:", 5) == 0)
        rc = parse_v6(text + 5, &a, err, errlen);
    else if (strncmp(text, "udp:", 4) == 0)
        rc = text[4] == '[' ? errbuf_set(err, errlen, "'%s': IPv6 needs the udp6: prefix", text)
                            : parse_v4(text + 4, &a, err, errlen);
    else if (text[0] == '[')
        rc = parse_v6(text, &a, err, errlen);
    else if (strchr(text, ':') && strchr(text, ':') != strrchr(text, ':'))
        rc = errbuf_set(err, errlen, "'%s': unsupported transport or unbracketed IPv6 address "
                  "(use udp:IPv4:PORT or udp6:[IPv6]:PORT)", text);
    else
        rc = parse_v4(text, &a, err, errlen);
    if (rc == 0)
        *out = a;
    return rc;
}

/* ---- BER writer ----------------------------------------------------------------- */

struct bw {
    uint8_t *p;
    size_t cap, n;
    bool bad;
};

static void bw_bytes(struct bw *w, const void *src, size_t len)
{
    if (w->bad || w->cap - w->n < len) {
        w->bad = true;
        return;
    }
    memcpy(w->p + w->n, src, len);
    w->n += len;
}

/* Tag and length (short form: everything built here is under 128 bytes). */
static void bw_header(struct bw *w, uint8_t tag, size_t len)
{
    uint8_t h[2] = { tag, (uint8_t)len };
    if (len >= 0x80)
        w->bad = true;
    bw_bytes(w, h, sizeof(h));
}

static void bw_tlv(struct bw *w, uint8_t tag, const struct bw *content)
{
    if (content->bad)
        w->bad = true;
    bw_header(w, tag, content->n);
    bw_bytes(w, content->p, content->n);
}

static void bw_int(struct bw *w, int32_t v)
{
    uint8_t c[5];
    size_t n = 0;
    uint32_t u = (uint32_t)v;
    for (int shift = 24; shift >= 0; shift -= 8) {
        uint8_t b = (uint8_t)(u >> shift);
        /* skip leading octets that only repeat the sign */
        if (n == 0 && shift > 0) {
            uint8_t next = (uint8_t)(u >> (shift - 8));
            if ((b == 0x00 && !(next & 0x80)) || (b == 0xff && (next & 0x80)))
                continue;
        }
        c[n++] = b;
    }
    bw_header(w, TAG_INT, n);
    bw_bytes(w, c, n);
}

#define BW(name, size) uint8_t name##_buf[size]; struct bw name = { name##_buf, size, 0, false }

size_t halink_disc_build(uint8_t *buf, size_t len, int32_t msg_id, int32_t req_id)
{
    static const uint8_t empty_octets[] = { TAG_OCTETS, 0 };
    static const uint8_t flags[] = { TAG_OCTETS, 1, FLAG_REPORTABLE };
    if (msg_id < 0 || req_id < 0)
        return 0;
    BW(pdu, 32);       /* request-id, error-status 0, error-index 0, no varbinds */
    bw_int(&pdu, req_id);
    bw_int(&pdu, 0);
    bw_int(&pdu, 0);
    bw_header(&pdu, TAG_SEQ, 0);
    BW(scoped, 48);    /* contextEngineID "", contextName "", GetRequest */
    bw_bytes(&scoped, empty_octets, 2);
    bw_bytes(&scoped, empty_octets, 2);
    bw_tlv(&scoped, TAG_GET, &pdu);
    BW(usm, 24);       /* engine "", boots 0, time 0, user "", auth "", priv "" */
    bw_bytes(&usm, empty_octets, 2);
    bw_int(&usm, 0);
    bw_int(&usm, 0);
    for (int i = 0; i < 3; i++)
        bw_bytes(&usm, empty_octets, 2);
    BW(secparams, 32);
    bw_tlv(&secparams, TAG_SEQ, &usm);
    BW(global, 32);    /* msgID, msgMaxSize, msgFlags (reportable), msgSecurityModel */
    bw_int(&global, msg_id);
    bw_int(&global, MAX_MSG_SIZE);
    bw_bytes(&global, flags, sizeof(flags));
    bw_int(&global, USM_MODEL);
    BW(msg, 120);
    bw_int(&msg, SNMP_V3);
    bw_tlv(&msg, TAG_SEQ, &global);
    bw_tlv(&msg, TAG_OCTETS, &secparams);
    bw_tlv(&msg, TAG_SEQ, &scoped);
    struct bw out = { buf, len, 0, false };
    bw_tlv(&out, TAG_SEQ, &msg);
    return out.bad ? 0 : out.n;
}

/* ---- BER reader ----------------------------------------------------------------- */

struct br {
    const uint8_t *p;
    size_t n; /* bytes left */
};

/* Takes one TLV with tag `tag` from r; its content becomes *v. */
static int br_take(struct br *r, uint8_t tag, struct br *v)
{
    if (r->n < 2 || r->p[0] != tag)
        return -1;
    size_t i = 2, len = r->p[1];
    if (len & 0x80) {
        size_t nb = len & 0x7f;
        if (nb == 0 || nb > 2 || r->n - 2 < nb)
            return -1;
        len = 0;
        for (size_t k = 0; k < nb; k++)
            len = (len << 8) | r->p[i++];
    }
    if (r->n - i < len)
        return -1;
    v->p = r->p + i;
    v->n = len;
    r->p += i + len;
    r->n -= i + len;
    return 0;
}

/* An INTEGER of 1..5 content octets (enough for any Integer32/Unsigned32) within
 * [min, max]. */
static int br_int(struct br *r, int64_t min, int64_t max, int64_t *out)
{
    struct br v;
    if (br_take(r, TAG_INT, &v) != 0 || v.n < 1 || v.n > 5)
        return -1;
    int64_t x = (v.p[0] & 0x80) ? -1 : 0;
    for (size_t i = 0; i < v.n; i++)
        x = (int64_t)((uint64_t)x << 8) | v.p[i];
    if (x < min || x > max)
        return -1;
    *out = x;
    return 0;
}

static int br_octets(struct br *r, size_t min, size_t max, struct br *v)
{
    return br_take(r, TAG_OCTETS, v) == 0 && v->n >= min && v->n <= max ? 0 : -1;
}

/* msgGlobalData: our msgID, a sane msgMaxSize, no auth/priv/reportable flag, USM. */
static int parse_global(struct br *msg, int32_t msg_id)
{
    struct br g, flags;
    int64_t id, max_size, model;
    if (br_take(msg, TAG_SEQ, &g) != 0 || br_int(&g, 0, INT31_MAX, &id) != 0 || id != msg_id ||
        br_int(&g, MIN_MSG_SIZE, INT31_MAX, &max_size) != 0 || br_octets(&g, 1, 1, &flags) != 0 ||
        flags.p[0] != 0 || br_int(&g, 1, INT31_MAX, &model) != 0 || model != USM_MODEL || g.n)
        return -1;
    return 0;
}

/* msgSecurityParameters: an OCTET STRING wrapping UsmSecurityParameters. */
static int parse_usm(struct br *msg, struct halink_engine *eng)
{
    struct br wrap, usm, engine_id, skip;
    int64_t boots, time;
    if (br_take(msg, TAG_OCTETS, &wrap) != 0 || br_take(&wrap, TAG_SEQ, &usm) != 0 || wrap.n ||
        br_octets(&usm, HALINK_ENGINE_ID_MIN, HALINK_ENGINE_ID_MAX, &engine_id) != 0 ||
        br_int(&usm, 0, INT31_MAX, &boots) != 0 || br_int(&usm, 0, INT31_MAX, &time) != 0 ||
        br_octets(&usm, 0, 32, &skip) != 0 ||  /* msgUserName */
        br_octets(&usm, 0, 64, &skip) != 0 ||  /* msgAuthenticationParameters */
        br_octets(&usm, 0, 64, &skip) != 0 ||  /* msgPrivacyParameters */
        usm.n)
        return -1;
    memcpy(eng->id, engine_id.p, engine_id.n);
    eng->id_len = engine_id.n;
    eng->boots = (uint32_t)boots;
    eng->time = (uint32_t)time;
    return 0;
}

/* The one varbind of the Report: usmStatsUnknownEngineIDs.0 = Counter32. */
static int parse_varbinds(struct br *pdu)
{
    struct br list, vb, name, value;
    if (br_take(pdu, TAG_SEQ, &list) != 0 || br_take(&list, TAG_SEQ, &vb) != 0 || list.n ||
        br_take(&vb, TAG_OID, &name) != 0 || name.n != sizeof(unknown_engine_ids_oid) ||
        memcmp(name.p, unknown_engine_ids_oid, name.n) != 0 ||
        br_take(&vb, TAG_COUNTER32, &value) != 0 || value.n < 1 || value.n > 5 || vb.n)
        return -1;
    return 0;
}

/* ScopedPDU in plaintext: contextEngineID, contextName, Report-PDU. */
static int parse_scoped(struct br *msg)
{
    struct br scoped, skip, pdu;
    int64_t v;
    if (br_take(msg, TAG_SEQ, &scoped) != 0 || br_octets(&scoped, 0, HALINK_ENGINE_ID_MAX, &skip) ||
        br_octets(&scoped, 0, 255, &skip) != 0 || br_take(&scoped, TAG_REPORT, &pdu) != 0 ||
        scoped.n || br_int(&pdu, INT32_MIN, INT32_MAX, &v) != 0 || /* request-id */
        br_int(&pdu, 0, INT31_MAX, &v) != 0 || br_int(&pdu, 0, INT31_MAX, &v) != 0 ||
        parse_varbinds(&pdu) != 0 || pdu.n)
        return -1;
    return 0;
}

int halink_disc_parse(const uint8_t *pkt, size_t len, int32_t msg_id, struct halink_engine *out)
{
    struct br all = { pkt, len }, msg;
    struct halink_engine eng;
    int64_t version;
    if (!pkt || len > HALINK_DISC_MAX_PKT || br_take(&all, TAG_SEQ, &msg) != 0 || all.n ||
        br_int(&msg, 0, INT31_MAX, &version) != 0 || version != SNMP_V3 ||
        parse_global(&msg, msg_id) != 0 || parse_usm(&msg, &eng) != 0 ||
        parse_scoped(&msg) != 0 || msg.n)
        return -1;
    *out = eng;
    return 0;
}

/* ---- the discovery on the loop ------------------------------------------------------ */

struct halink_disc {
    struct loop *lp;
    struct halink_addr peer;
    uint32_t interval_ms;
    halink_disc_found_cb found;
    void *arg;
    int fd;
    uint64_t timer;
    int32_t msg_id, prev_msg_id; /* a late answer to the previous request still counts */
    uint32_t id_seq;
    struct halink_disc_counters cnt;
};

/* A fresh positive id: unpredictable when the kernel can say so (an off-path sender
 * must not feed us an engine ID easily), else a counter. */
static int32_t next_id(struct halink_disc *d)
{
    uint32_t v;
    if (getrandom(&v, sizeof(v), GRND_NONBLOCK) != (ssize_t)sizeof(v))
        v = (uint32_t)loop_now_ms() * 2654435761u + ++d->id_seq;
    v &= 0x7fffffffu;
    return (int32_t)(v ? v : 1);
}

static void send_request(struct halink_disc *d)
{
    uint8_t pkt[128];
    d->prev_msg_id = d->msg_id;
    d->msg_id = next_id(d);
    size_t n = halink_disc_build(pkt, sizeof(pkt), d->msg_id, next_id(d));
    if (n == 0 || send(d->fd, pkt, n, MSG_DONTWAIT | MSG_NOSIGNAL) != (ssize_t)n)
        d->cnt.send_errors++;
    else
        d->cnt.sent++;
}

static void on_timer(void *arg)
{
    struct halink_disc *d = arg;
    d->timer = loop_timer_add(d->lp, d->interval_ms, on_timer, d);
    send_request(d);
}

static void stop(struct halink_disc *d)
{
    if (d->timer)
        loop_timer_cancel(d->lp, d->timer);
    d->timer = 0;
    if (d->fd >= 0) {
        loop_unwatch_fd(d->lp, d->fd);
        close(d->fd);
    }
    d->fd = -1;
}

static void on_readable(int fd, unsigned events, void *arg)
{
    struct halink_disc *d = arg;
    uint8_t pkt[HALINK_DISC_MAX_PKT + 1];
    (void)events;
    /* Bounded: a flood of junk must not keep the loop here. */
    for (int i = 0; i < 16; i++) {
        ssize_t n = recv(fd, pkt, sizeof(pkt), MSG_DONTWAIT);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno == ECONNREFUSED) /* ICMP port unreachable for an earlier request */
                d->cnt.send_errors++;
            return;
        }
        struct halink_engine eng;
        if (halink_disc_parse(pkt, (size_t)n, d->msg_id, &eng) != 0 &&
            (d->prev_msg_id == 0 || halink_disc_parse(pkt, (size_t)n, d->prev_msg_id, &eng) != 0)) {
            d->cnt.bad++;
            continue;
        }
        stop(d);
        d->found(d->arg, &eng); /* last: may free d */
        return;
    }
}

struct halink_disc *halink_disc_start(struct loop *lp, const struct halink_addr *peer,
                                      uint32_t interval_ms, halink_disc_found_cb found,
                                      void *arg, char *err, size_t errlen)
{
    struct halink_disc *d = calloc(1, sizeof(*d));
    if (!d) {
        errbuf_set(err, errlen, "out of memory");
        return NULL;
    }
    *d = (struct halink_disc){ .lp = lp, .peer = *peer, .interval_ms = interval_ms ? interval_ms : 1,
                               .found = found, .arg = arg, .fd = -1 };
    d->fd = socket(peer->sa.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    /* connect: only the peer's datagrams reach us, and ICMP errors are reported */
    if (d->fd < 0 || connect(d->fd, (const struct sockaddr *)&peer->sa, peer->len) != 0 ||
        loop_watch_fd(lp, d->fd, LOOP_READ, on_readable, d) != 0) {
        errbuf_set(err, errlen, "%s: cannot open the discovery socket: %s", peer->peername,
             strerror(errno));
        if (d->fd >= 0)
            close(d->fd);
        free(d);
        return NULL;
    }
    d->timer = loop_timer_add(lp, d->interval_ms, on_timer, d);
    send_request(d);
    return d;
}

void halink_disc_free(struct halink_disc *d)
{
    if (!d)
        return;
    stop(d);
    free(d);
}

void halink_disc_counters(const struct halink_disc *d, struct halink_disc_counters *out)
{
    *out = d->cnt;
}
