/* mon_probe.c — SIP OPTIONS probing of service DNs: a pure scheduling core (heap of
 * deadlines, Call-ID hash, per-DN state machine, caller's clock) and a thin socket
 * layer that runs it on the agent's loop. See mon_probe.h for the rules. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "mon_probe.h"

#define US_PER_S 1000000ull
#define NONE UINT64_MAX
#define CALL_ID_MAX 48
#define BRANCH_MAX 64
#define CSEQ_MAX 0x7ffffffeu      /* CSeq numbers stay below 2^31 (RFC 3261 8.1.1.5) */

/* A bounded string builder: the per-probe texts are built with it rather than
 * snprintf, which at 10,000 probes a second is a visible part of the CPU cost. */
struct sbuf {
    char *p;
    size_t len, cap; /* cap includes the terminating NUL */
    bool over;
};

static void sb_mem(struct sbuf *b, const char *s, size_t n)
{
    if (b->over || b->len + n >= b->cap) {
        b->over = true;
        return;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void sb_str(struct sbuf *b, const char *s)
{
    sb_mem(b, s, strlen(s));
}

static void sb_uint(struct sbuf *b, uint32_t v)
{
    char t[10];
    size_t n = sizeof(t);
    do {
        t[--n] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    sb_mem(b, t + n, sizeof(t) - n);
}

/* ================================================================ the core === */

struct core_dn {
    uint32_t index;
    bool probed;
    uint64_t check_us, force_us, timeout_us;
    uint64_t next_probe;      /* when the next probe is due */
    bool silent;              /* a probe is unanswered since the last response */
    uint64_t silent_since;    /* time of the first such probe */
    bool pending;             /* the last probe awaits its answer... */
    uint64_t pending_until;   /* ...until then, when it counts as a timeout */
    uint64_t last_sent;
    uint32_t seq;             /* CSeq of the last probe (0 = none yet) */
    bool last_answered;
    enum mon_dn_state state;
    uint32_t rtt_us;
    size_t heap_pos;          /* its entry in the heap */
    char key[CALL_ID_MAX];    /* "token.index": the DN's part of its probes' Call-IDs */
    size_t key_len;
};

struct heap_ent {
    uint64_t due;             /* min of the DN's deadlines */
    uint32_t pos;
};

struct index_pos {
    uint32_t index;
    uint32_t pos;
};

struct mon_probe_core {
    struct core_dn *dns;
    size_t n;
    struct heap_ent *heap;    /* probed DNs, min-heap on their earliest deadline */
    size_t heap_n;
    uint32_t *hash;           /* Call-ID key → pos + 1 (0 = empty), open addressing */
    size_t hash_mask;
    struct index_pos *by_index; /* sorted by index */
    uint64_t token;
    mon_probe_send_fn send;
    void *send_ctx;
    mon_emit_fn emit;
    void *emit_ctx;
};

/* --- heap ---
 * Entries carry their key, so sifting reads one contiguous array instead of chasing
 * every comparison into the (much larger) DN records. */

static void heap_put(struct mon_probe_core *c, size_t i, struct heap_ent e)
{
    c->heap[i] = e;
    c->dns[e.pos].heap_pos = i;
}

static void heap_up(struct mon_probe_core *c, size_t i)
{
    struct heap_ent e = c->heap[i];
    while (i > 0 && e.due < c->heap[(i - 1) / 2].due) {
        heap_put(c, i, c->heap[(i - 1) / 2]);
        i = (i - 1) / 2;
    }
    heap_put(c, i, e);
}

static void heap_down(struct mon_probe_core *c, size_t i)
{
    struct heap_ent e = c->heap[i];
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = l;
        if (l >= c->heap_n)
            break;
        if (r < c->heap_n && c->heap[r].due < c->heap[l].due)
            m = r;
        if (c->heap[m].due >= e.due)
            break;
        heap_put(c, i, c->heap[m]);
        i = m;
    }
    heap_put(c, i, e);
}

/* Recomputes a DN's earliest deadline and restores the heap order around it. */
static void reschedule(struct mon_probe_core *c, struct core_dn *d)
{
    uint64_t due = d->next_probe;
    if (d->pending && d->pending_until < due)
        due = d->pending_until;
    if (d->silent && d->state != MON_DN_OUT_OF_SERVICE && d->silent_since + d->force_us < due)
        due = d->silent_since + d->force_us;
    size_t i = d->heap_pos;
    c->heap[i].due = due;
    heap_up(c, i);
    heap_down(c, d->heap_pos);
}

/* --- Call-ID hash --- */

static uint64_t fnv1a(const char *p, size_t n)
{
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)p[i];
        h *= 1099511628211ull;
    }
    return h;
}

static void hash_insert(struct mon_probe_core *c, uint32_t pos)
{
    const struct core_dn *d = &c->dns[pos];
    size_t i = (size_t)fnv1a(d->key, d->key_len) & c->hash_mask;
    while (c->hash[i])
        i = (i + 1) & c->hash_mask;
    c->hash[i] = pos + 1;
}

static struct core_dn *hash_find(const struct mon_probe_core *c, const char *key, size_t len)
{
    for (size_t i = (size_t)fnv1a(key, len) & c->hash_mask; c->hash[i];
         i = (i + 1) & c->hash_mask) {
        struct core_dn *d = &c->dns[c->hash[i] - 1];
        if (d->key_len == len && memcmp(d->key, key, len) == 0)
            return d;
    }
    return NULL;
}

/* --- identifiers ---
 * Each probe is a new request outside any dialog, so it gets a Call-ID of its own
 * (RFC 3261 8.1.1.4): "<token>.<dn index>.<cseq>@sipha". The part before the last
 * dot is the DN's key in the hash, so any answer, even to an older probe, finds its
 * DN in O(1). The branch is "z9hG4bK<token>.<dn index>.<cseq>". */

#define CALL_ID_HOST "@sipha"

static void make_call_id(const struct core_dn *d, uint32_t seq, char *buf, size_t len)
{
    struct sbuf b = { buf, 0, len, false };
    sb_mem(&b, d->key, d->key_len);
    sb_mem(&b, ".", 1);
    sb_uint(&b, seq);
    sb_str(&b, CALL_ID_HOST);
}

#define BRANCH_MAGIC "z9hG4bK" /* RFC 3261 branches start with it */

/* Splits one of our Call-IDs into the DN's key and the CSeq; false if not ours. */
static bool parse_call_id(struct sip_str id, struct sip_str *key, uint32_t *seq)
{
    size_t hl = sizeof(CALL_ID_HOST) - 1;
    if (id.len <= hl || memcmp(id.p + id.len - hl, CALL_ID_HOST, hl) != 0)
        return false;
    size_t end = id.len - hl, dot = end;
    while (dot > 0 && id.p[dot - 1] != '.')
        dot--;
    if (dot < 2 || dot == end || end - dot > 10)
        return false;
    uint64_t v = 0;
    for (size_t i = dot; i < end; i++) {
        if (id.p[i] < '0' || id.p[i] > '9')
            return false;
        v = v * 10 + (uint64_t)(id.p[i] - '0');
    }
    if (v == 0 || v > CSEQ_MAX)
        return false;
    *key = (struct sip_str){ id.p, dot - 1 };
    *seq = (uint32_t)v;
    return true;
}

static void make_branch(const struct core_dn *d, uint32_t seq, char *buf, size_t len)
{
    struct sbuf b = { buf, 0, len, false };
    sb_str(&b, BRANCH_MAGIC);
    sb_mem(&b, d->key, d->key_len);
    sb_mem(&b, ".", 1);
    sb_uint(&b, seq);
}

/* The CSeq a branch of ours names, or 0 when the branch is not one of ours for d. */
static uint32_t branch_seq(const struct core_dn *d, struct sip_str branch)
{
    size_t ml = sizeof(BRANCH_MAGIC) - 1, n = ml + d->key_len + 1;
    if (branch.len <= n || branch.len > n + 10 || memcmp(branch.p, BRANCH_MAGIC, ml) != 0 ||
        memcmp(branch.p + ml, d->key, d->key_len) != 0 || branch.p[n - 1] != '.')
        return 0;
    uint64_t v = 0;
    for (size_t i = n; i < branch.len; i++) {
        if (branch.p[i] < '0' || branch.p[i] > '9')
            return 0;
        v = v * 10 + (uint64_t)(branch.p[i] - '0');
    }
    return v > CSEQ_MAX ? 0 : (uint32_t)v;
}

/* --- events --- */

static void emit_dn(struct mon_probe_core *c, const struct core_dn *d, uint32_t status)
{
    struct mon_event ev = { .kind = MON_DN };
    ev.u.dn.dn = d->index;
    ev.u.dn.in_service = d->state == MON_DN_IN_SERVICE;
    ev.u.dn.status_code = status;
    ev.u.dn.rtt_us = d->rtt_us;
    c->emit(c->emit_ctx, &ev);
}

static void emit_probe(struct mon_probe_core *c, enum mon_kind kind, const struct core_dn *d)
{
    struct mon_event ev = { .kind = kind };
    ev.u.probe.dn = d->index;
    c->emit(c->emit_ctx, &ev);
}

/* --- construction --- */

static int cmp_index(const void *a, const void *b)
{
    uint32_t x = ((const struct index_pos *)a)->index, y = ((const struct index_pos *)b)->index;
    return x < y ? -1 : x > y;
}

static void init_dn(struct mon_probe_core *c, size_t pos, const struct mon_probe_core_dn *cfg)
{
    struct core_dn *d = &c->dns[pos];
    uint32_t force = cfg->oos_force < MON_PROBE_MIN_FORCE ? MON_PROBE_MIN_FORCE : cfg->oos_force;
    d->index = cfg->index;
    d->probed = cfg->oos_check > 0;
    d->check_us = (uint64_t)cfg->oos_check * US_PER_S;
    d->force_us = (uint64_t)force * US_PER_S;
    d->timeout_us = d->check_us < d->force_us ? d->check_us : d->force_us;
    d->state = MON_DN_UNKNOWN;
    d->next_probe = NONE;
    int n = snprintf(d->key, sizeof(d->key), "%016llx.%u", (unsigned long long)c->token, d->index);
    d->key_len = n > 0 ? (size_t)n : 0;
}

/* Schedules first probes: the k-th of m probed DNs at now + check * k / m. */
static void schedule_first(struct mon_probe_core *c, uint64_t now_us)
{
    size_t m = 0, k = 0;
    for (size_t i = 0; i < c->n; i++)
        m += c->dns[i].probed;
    for (size_t i = 0; i < c->n; i++) {
        struct core_dn *d = &c->dns[i];
        if (!d->probed)
            continue;
        d->next_probe = now_us + d->check_us / m * k++;
        c->heap[c->heap_n] = (struct heap_ent){ d->next_probe, (uint32_t)i };
        heap_up(c, c->heap_n++);
    }
}

static int check_indexes(struct mon_probe_core *c, char *err, size_t errlen)
{
    for (size_t i = 0; i < c->n; i++) {
        if (c->dns[i].index == 0) {
            snprintf(err, errlen, "DN at position %zu has index 0", i);
            return -1;
        }
        c->by_index[i] = (struct index_pos){ c->dns[i].index, (uint32_t)i };
    }
    qsort(c->by_index, c->n, sizeof(*c->by_index), cmp_index);
    for (size_t i = 1; i < c->n; i++) {
        if (c->by_index[i].index == c->by_index[i - 1].index) {
            snprintf(err, errlen, "DN index %u appears twice", c->by_index[i].index);
            return -1;
        }
    }
    return 0;
}

struct mon_probe_core *mon_probe_core_new(const struct mon_probe_core_dn *dns, size_t n,
                                          uint64_t token, uint64_t now_us,
                                          mon_probe_send_fn send, void *send_ctx,
                                          mon_emit_fn emit, void *emit_ctx,
                                          char *err, size_t errlen)
{
    if (n > UINT32_MAX / 4 || !send || !emit || (n && !dns)) {
        snprintf(err, errlen, "bad probe core arguments");
        return NULL;
    }
    size_t hsize = 16;
    while (hsize < 2 * n)
        hsize *= 2;
    struct mon_probe_core *c = calloc(1, sizeof(*c));
    if (c) {
        c->dns = calloc(n ? n : 1, sizeof(*c->dns));
        c->heap = calloc(n ? n : 1, sizeof(*c->heap));
        c->by_index = calloc(n ? n : 1, sizeof(*c->by_index));
        c->hash = calloc(hsize, sizeof(*c->hash));
    }
    if (!c || !c->dns || !c->heap || !c->by_index || !c->hash) {
        snprintf(err, errlen, "out of memory for %zu DNs", n);
        mon_probe_core_free(c);
        return NULL;
    }
    *c = (struct mon_probe_core){ .dns = c->dns, .n = n, .heap = c->heap, .hash = c->hash,
                                  .hash_mask = hsize - 1, .by_index = c->by_index,
                                  .token = token, .send = send, .send_ctx = send_ctx,
                                  .emit = emit, .emit_ctx = emit_ctx };
    for (size_t i = 0; i < n; i++)
        init_dn(c, i, &dns[i]);
    if (check_indexes(c, err, errlen) < 0) {
        mon_probe_core_free(c);
        return NULL;
    }
    for (size_t i = 0; i < n; i++)
        hash_insert(c, (uint32_t)i);
    schedule_first(c, now_us);
    return c;
}

void mon_probe_core_free(struct mon_probe_core *c)
{
    if (!c)
        return;
    free(c->dns);
    free(c->heap);
    free(c->hash);
    free(c->by_index);
    free(c);
}

/* --- running --- */

uint64_t mon_probe_core_next_due(const struct mon_probe_core *c)
{
    return c->heap_n ? c->heap[0].due : NONE;
}

/* Deadlines that need no I/O: the last probe's timeout, then out of service. */
static void expire(struct mon_probe_core *c, struct core_dn *d, uint64_t now)
{
    if (d->pending && d->pending_until <= now) {
        d->pending = false;
        emit_probe(c, MON_PROBE_TIMEOUT, d);
    }
    if (d->silent && d->state != MON_DN_OUT_OF_SERVICE && d->silent_since + d->force_us <= now) {
        d->state = MON_DN_OUT_OF_SERVICE;
        emit_dn(c, d, 0);
    }
}

/* Sends d's probe; false when the socket would block. */
static bool probe(struct mon_probe_core *c, struct core_dn *d, uint64_t now)
{
    char branch[BRANCH_MAX], call_id[2 * CALL_ID_MAX];
    uint32_t seq = d->seq >= CSEQ_MAX ? 1 : d->seq + 1;
    make_branch(d, seq, branch, sizeof(branch));
    make_call_id(d, seq, call_id, sizeof(call_id));
    if (c->send(c->send_ctx, (size_t)(d - c->dns), call_id, branch, seq) == MON_PROBE_WOULD_BLOCK)
        return false;
    if (d->pending) { /* the previous probe is unanswered as its successor goes */
        d->pending = false;
        emit_probe(c, MON_PROBE_TIMEOUT, d);
    }
    d->seq = seq;
    d->last_sent = now;
    d->last_answered = false;
    d->pending = true;
    d->pending_until = now + d->timeout_us;
    if (!d->silent) {
        d->silent = true;
        d->silent_since = now;
    }
    /* Keep the cadence; after a stall (loop blocked, clock jump) restart it from now
     * rather than firing a burst of overdue probes. */
    d->next_probe += d->check_us;
    if (d->next_probe <= now)
        d->next_probe = now + d->check_us;
    emit_probe(c, MON_PROBE_SENT, d);
    return true;
}

enum mon_probe_run mon_probe_core_run(struct mon_probe_core *c, uint64_t now_us, size_t budget)
{
    while (c->heap_n > 0) {
        if (c->heap[0].due > now_us)
            return MON_PROBE_RUN_IDLE;
        struct core_dn *d = &c->dns[c->heap[0].pos];
        if (budget-- == 0)
            return MON_PROBE_RUN_MORE;
        expire(c, d, now_us);
        bool blocked = d->next_probe <= now_us && !probe(c, d, now_us);
        reschedule(c, d);
        if (blocked)
            return MON_PROBE_RUN_BLOCKED;
    }
    return MON_PROBE_RUN_IDLE;
}

uint32_t mon_probe_core_response(struct mon_probe_core *c, const struct sip_msg *m,
                                 uint64_t now_us)
{
    struct sip_str key;
    uint32_t seq;
    if (m->is_request || !sip_str_eq_nocase(m->cseq_method, "OPTIONS") ||
        !parse_call_id(m->call_id, &key, &seq) || seq != m->cseq)
        return 0;
    struct core_dn *d = hash_find(c, key.p, key.len);
    if (!d || !d->probed || m->cseq > d->seq)
        return 0; /* not a probe we sent */
    bool ours = branch_seq(d, m->via_branch) == m->cseq;
    if (m->cseq == d->seq) {
        d->pending = false;
        if (ours && !d->last_answered) {
            uint64_t rtt = now_us > d->last_sent ? now_us - d->last_sent : 0;
            d->rtt_us = rtt > UINT32_MAX ? UINT32_MAX : (uint32_t)rtt;
        }
        d->last_answered = true;
    }
    d->silent = false;
    d->state = MON_DN_IN_SERVICE;
    reschedule(c, d);
    emit_dn(c, d, m->status);
    return d->index;
}

enum mon_dn_state mon_probe_core_state(const struct mon_probe_core *c, size_t pos)
{
    return pos < c->n ? c->dns[pos].state : MON_DN_UNKNOWN;
}

long mon_probe_core_find(const struct mon_probe_core *c, uint32_t index)
{
    size_t lo = 0, hi = c->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (c->by_index[mid].index < index)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < c->n && c->by_index[lo].index == index ? (long)c->by_index[lo].pos : -1;
}

/* ======================================================== pure helpers === */

static int uri_fail(char *err, size_t errlen, const char *uri, const char *why)
{
    snprintf(err, errlen, "URI '%.*s': %s", 200, uri, why);
    return -1;
}

/* ;transport=X among the URI parameters (before any '?'), if not udp. */
static bool transport_is_udp(const char *params)
{
    const char *p = params;
    while ((p = strchr(p, ';')) != NULL) {
        p++;
        if (strncasecmp(p, "transport=", 10) == 0)
            return strncasecmp(p + 10, "udp", 3) == 0 && (p[13] == '\0' || p[13] == ';' || p[13] == '?');
    }
    return true;
}

static int parse_port(const char *p, const char *end, uint16_t *port)
{
    uint32_t v = 0;
    if (p == end || end - p > 5)
        return -1;
    for (; p < end; p++) {
        if (*p < '0' || *p > '9')
            return -1;
        v = v * 10 + (uint32_t)(*p - '0');
    }
    if (v == 0 || v > 65535)
        return -1;
    *port = (uint16_t)v;
    return 0;
}

int mon_probe_uri_target(const char *uri, struct sipha_addr *addr, uint16_t *port,
                         char *err, size_t errlen)
{
    if (!uri)
        return uri_fail(err, errlen, "", "missing");
    for (const char *q = uri; *q; q++)
        if ((unsigned char)*q <= 0x20 || (unsigned char)*q >= 0x7f)
            return uri_fail(err, errlen, uri, "holds a space or a non-printable character");
    if (strncasecmp(uri, "sips:", 5) == 0)
        return uri_fail(err, errlen, uri, "sips: needs TLS; probes are sent over UDP");
    if (strncasecmp(uri, "sip:", 4) != 0)
        return uri_fail(err, errlen, uri, "not a sip: URI");
    /* the user part may hold ';' (user parameters) but not '@' */
    const char *hp = uri + 4;
    const char *at = memrchr(hp, '@', strcspn(hp, "?"));
    if (at)
        hp = at + 1;
    const char *stop = hp + strcspn(hp, ";?");
    char host[64];
    const char *hend, *pstart;
    int af = AF_INET;
    if (*hp == '[') {
        hend = memchr(hp, ']', (size_t)(stop - hp));
        if (!hend)
            return uri_fail(err, errlen, uri, "unterminated [IPv6] host");
        af = AF_INET6;
        hp++;
        pstart = hend + 1;
    } else {
        hend = memchr(hp, ':', (size_t)(stop - hp));
        if (!hend)
            hend = stop;
        pstart = hend;
    }
    if (hend == hp || (size_t)(hend - hp) >= sizeof(host))
        return uri_fail(err, errlen, uri, "missing or over-long host");
    memcpy(host, hp, (size_t)(hend - hp));
    host[hend - hp] = '\0';
    unsigned char bytes[16];
    if (inet_pton(af, host, bytes) != 1)
        return uri_fail(err, errlen, uri, "host is not a numeric IP address (no DNS lookups "
                                          "on the event loop)");
    *port = 5060;
    if (pstart < stop && (*pstart != ':' || parse_port(pstart + 1, stop, port) < 0))
        return uri_fail(err, errlen, uri, "bad port");
    if (!transport_is_udp(stop))
        return uri_fail(err, errlen, uri, "transport is not UDP");
    mon_addr_set(addr, af, bytes);
    return 0;
}

/* "192.0.2.1" or "[2001:db8::1]" */
static void host_text(const struct sipha_addr *a, char *buf, size_t len)
{
    char t[INET6_ADDRSTRLEN] = "0.0.0.0";
    inet_ntop(mon_addr_af(a) == AF_INET6 ? AF_INET6 : AF_INET, a->bytes, t, sizeof(t));
    snprintf(buf, len, a->family == 6 ? "[%s]" : "%s", t);
}

/* host:port of the local end, as Via, From and Contact name it */
static void sb_local(struct sbuf *b, const char *host, uint16_t port)
{
    sb_str(b, host);
    sb_mem(b, ":", 1);
    sb_uint(b, port);
}

/* The OPTIONS request with the local host already in text. */
static int options_text(char *buf, size_t len, const char *uri, const char *host, uint16_t port,
                        const char *call_id, const char *branch, uint32_t cseq, const char *tag)
{
    struct sbuf b = { buf, 0, len, len == 0 };
    sb_str(&b, "OPTIONS ");
    sb_str(&b, uri);
    sb_str(&b, " SIP/2.0\r\nVia: SIP/2.0/UDP ");
    sb_local(&b, host, port);
    sb_str(&b, ";branch=");
    sb_str(&b, branch);
    sb_str(&b, ";rport\r\nMax-Forwards: 70\r\nFrom: <sip:sipha@");
    sb_local(&b, host, port);
    sb_str(&b, ">;tag=");
    sb_str(&b, tag);
    sb_str(&b, "\r\nTo: <");
    sb_str(&b, uri);
    sb_str(&b, ">\r\nCall-ID: ");
    sb_str(&b, call_id);
    sb_str(&b, "\r\nCSeq: ");
    sb_uint(&b, cseq);
    sb_str(&b, " OPTIONS\r\nContact: <sip:sipha@");
    sb_local(&b, host, port);
    sb_str(&b, ">\r\nAccept: application/sdp\r\nUser-Agent: sipha-agent\r\n"
               "Content-Length: 0\r\n\r\n");
    return b.over ? -1 : (int)b.len;
}

int mon_probe_build_options(char *buf, size_t len, const char *uri,
                            const struct sipha_addr *local, uint16_t local_port,
                            const char *call_id, const char *branch, uint32_t cseq,
                            const char *from_tag)
{
    char host[INET6_ADDRSTRLEN + 2];
    host_text(local, host, sizeof(host));
    return options_text(buf, len, uri, host, local_port, call_id, branch, cseq, from_tag);
}

/* ================================================================ socket layer === */

/* Probes are queued by the core's send hook and leave in batches (sendmmsg), answers
 * are read in batches (recvmmsg): at 10,000 DNs a second that is a few hundred system
 * calls a second instead of 20,000. The timer is coalesced (deadlines are met within
 * MP_SLACK_MS), which is what makes the batches. */
#define MP_BATCH 64               /* probes per sendmmsg */
#define MP_SLOT 1536              /* one OPTIONS: two URIs of <= 256 bytes and headers */
#define MP_RBATCH 16              /* datagrams per recvmmsg */
#define MP_RSLOT 65536            /* a whole UDP datagram: no answer is ever cut */
#define MP_BUDGET 4096            /* DNs handled per timer callback before yielding */
#define MP_SLACK_MS 10
#define MP_READ_BATCHES 16        /* recvmmsg calls per wakeup */
#define MP_SNDBUF (1u << 20)

struct mp_target {
    struct sockaddr_storage sa;
    socklen_t salen;
    char *uri;
};

struct mon_probe {
    struct loop *lp;
    int fd;
    mon_emit_fn emit;
    void *ctx;
    struct mon_probe_core *core;
    struct mp_target *targets;    /* by DN position */
    size_t n;
    struct sipha_addr local;
    uint16_t local_port, sip_port;
    char host[INET6_ADDRSTRLEN + 2]; /* the local address as the requests write it */
    uint64_t inode;
    uint64_t timer;
    bool want_write;
    char tag[24];
    struct mon_probe_stats st;

    /* the send queue: out[head..n) built, not yet accepted by the kernel */
    size_t out_head, out_n;
    struct mmsghdr out[MP_BATCH];
    struct iovec out_iov[MP_BATCH];
    char out_buf[MP_BATCH][MP_SLOT];

    struct mmsghdr in[MP_RBATCH];
    struct iovec in_iov[MP_RBATCH];
    char *in_buf;                 /* MP_RBATCH * MP_RSLOT; pages used only as written */
};

static uint64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * US_PER_S + (uint64_t)ts.tv_nsec / 1000u;
}

/* The core's events pass through here to be counted, then to the agent. */
static void core_emit(void *arg, const struct mon_event *ev)
{
    struct mon_probe *mp = arg;
    if (ev->kind == MON_PROBE_SENT)
        mp->st.sent++;
    else if (ev->kind == MON_PROBE_TIMEOUT)
        mp->st.timeouts++;
    mp->emit(mp->ctx, ev);
}

/* Queues one probe; a full queue is "would block" for the core, which stops its run
 * until the queue is flushed. */
static int core_send(void *arg, size_t pos, const char *call_id, const char *branch, uint32_t cseq)
{
    struct mon_probe *mp = arg;
    if (mp->out_n == MP_BATCH)
        return MON_PROBE_WOULD_BLOCK;
    struct mp_target *t = &mp->targets[pos];
    char *buf = mp->out_buf[mp->out_n];
    int n = options_text(buf, MP_SLOT, t->uri, mp->host, mp->local_port, call_id, branch, cseq,
                         mp->tag);
    if (n < 0) {
        mp->st.send_errors++; /* cannot happen with URIs of SIPHA_URI_MAX */
        return 0;
    }
    mp->out_iov[mp->out_n] = (struct iovec){ buf, (size_t)n };
    mp->out[mp->out_n].msg_hdr = (struct msghdr){ .msg_name = &t->sa, .msg_namelen = t->salen,
                                                  .msg_iov = &mp->out_iov[mp->out_n],
                                                  .msg_iovlen = 1 };
    mp->out_n++;
    return 0;
}

/* Hands the queue to the kernel. False when the socket buffer is full: the rest waits
 * for the socket to become writable. A message the kernel refuses for good
 * (unreachable network...) is dropped: its probe will time out. */
static bool flush(struct mon_probe *mp)
{
    while (mp->out_head < mp->out_n) {
        int r = sendmmsg(mp->fd, &mp->out[mp->out_head], (unsigned)(mp->out_n - mp->out_head),
                         MSG_DONTWAIT | MSG_NOSIGNAL);
        if (r > 0) {
            mp->out_head += (size_t)r;
        } else if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            mp->st.blocked++;
            return false;
        } else if (r < 0 && errno != EINTR) {
            mp->st.send_errors++;
            mp->out_head++;
        }
    }
    mp->out_head = mp->out_n = 0;
    return true;
}

static void run(struct mon_probe *mp);

static void timer_fired(void *arg)
{
    struct mon_probe *mp = arg;
    mp->timer = 0;
    run(mp);
}

static void arm(struct mon_probe *mp, uint64_t delay_ms)
{
    if (mp->timer)
        loop_timer_cancel(mp->lp, mp->timer);
    mp->timer = loop_timer_add(mp->lp, delay_ms, timer_fired, mp);
}

static void readable(int fd, unsigned events, void *arg);

static void watch(struct mon_probe *mp, bool want_write)
{
    if (mp->want_write == want_write)
        return;
    mp->want_write = want_write;
    loop_watch_fd(mp->lp, mp->fd, LOOP_READ | (want_write ? LOOP_WRITE : 0u), readable, mp);
}

static void run(struct mon_probe *mp)
{
    uint64_t now = now_us();
    enum mon_probe_run r;
    /* rounds of one batch each (a full queue stops the core), MP_BUDGET DNs at most */
    for (size_t done = 0;; done += MP_BATCH) {
        r = mon_probe_core_run(mp->core, now, MP_BATCH);
        if (!flush(mp)) {
            watch(mp, true); /* readable() flushes and runs again once writable */
            return;
        }
        if (r == MON_PROBE_RUN_IDLE || done + MP_BATCH >= MP_BUDGET)
            break;
    }
    if (r != MON_PROBE_RUN_IDLE) {
        arm(mp, 0); /* more is due: let the loop serve SNMP first */
        return;
    }
    uint64_t due = mon_probe_core_next_due(mp->core);
    if (due == NONE)
        return;
    uint64_t wait_us = due > now ? due - now : 0;
    arm(mp, (wait_us + 999) / 1000 + MP_SLACK_MS);
}

static void on_datagram(struct mon_probe *mp, const char *buf, size_t n)
{
    struct sip_msg m;
    if (sip_parse(&m, buf, n) != SIP_OK) {
        mp->st.malformed++;
        return;
    }
    uint32_t dn = mon_probe_core_response(mp->core, &m, now_us());
    if (!dn) {
        mp->st.unmatched++;
        return;
    }
    mp->st.responses++;
    if (mp->local_port != mp->sip_port) {
        struct mon_event ev = { .kind = MON_SIP_MESSAGE };
        ev.u.sip.count = 1;
        ev.u.sip.from_dn = dn;
        mp->emit(mp->ctx, &ev);
    }
}

static void readable(int fd, unsigned events, void *arg)
{
    struct mon_probe *mp = arg;
    if ((events & LOOP_WRITE) && flush(mp)) {
        watch(mp, false);
        run(mp);
    }
    if (!(events & LOOP_READ))
        return;
    for (int b = 0; b < MP_READ_BATCHES; b++) {
        int n = recvmmsg(fd, mp->in, MP_RBATCH, MSG_DONTWAIT, NULL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return; /* EAGAIN, or an ICMP error on the socket: nothing to read */
        for (int i = 0; i < n; i++) {
            if (mp->in[i].msg_hdr.msg_flags & MSG_TRUNC)
                mp->st.malformed++;
            else
                on_datagram(mp, mp->in_buf + (size_t)i * MP_RSLOT, mp->in[i].msg_len);
        }
        if (n < MP_RBATCH)
            return;
    }
}

/* --- open / close --- */

static int open_socket(struct mon_probe *mp, const struct mon_probe_config *cfg,
                       char *err, size_t errlen)
{
    struct sockaddr_storage ss;
    socklen_t sl = mon_addr_sockaddr(&cfg->local, cfg->use_sip_port ? cfg->sip_port : 0, &ss);
    mp->fd = socket(ss.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (mp->fd < 0) {
        snprintf(err, errlen, "probe socket: %s", strerror(errno));
        return -1;
    }
    int sndbuf = MP_SNDBUF;
    (void)setsockopt(mp->fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf));
    (void)setsockopt(mp->fd, SOL_SOCKET, SO_RCVBUF, &sndbuf, sizeof(sndbuf));
    int rc = bind(mp->fd, (struct sockaddr *)&ss, sl);
    if (rc < 0 && errno == EADDRINUSE && cfg->use_sip_port) {
        sl = mon_addr_sockaddr(&cfg->local, 0, &ss); /* the SIP server has it: any port */
        rc = bind(mp->fd, (struct sockaddr *)&ss, sl);
    }
    struct stat stt;
    sl = sizeof(ss);
    if (rc < 0 || getsockname(mp->fd, (struct sockaddr *)&ss, &sl) < 0 || fstat(mp->fd, &stt) < 0) {
        snprintf(err, errlen, "probe socket: bind to the SIP address: %s", strerror(errno));
        return -1;
    }
    mp->local_port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                                    : ((struct sockaddr_in *)&ss)->sin_port);
    mp->inode = (uint64_t)stt.st_ino;
    host_text(&cfg->local, mp->host, sizeof(mp->host));
    return 0;
}

/* Resolves every probed DN's URI into a target; fills the core's DN list. */
static int prepare_targets(struct mon_probe *mp, const struct mon_probe_config *cfg,
                           struct mon_probe_core_dn *cdns, char *err, size_t errlen)
{
    for (size_t i = 0; i < cfg->n_dns; i++) {
        const struct mon_probe_dn *d = &cfg->dns[i];
        cdns[i] = (struct mon_probe_core_dn){ d->index, d->oos_check, d->oos_force };
        if (d->oos_check == 0)
            continue;
        struct sipha_addr a;
        uint16_t port;
        char why[300];
        if (mon_probe_uri_target(d->uri, &a, &port, why, sizeof(why)) < 0) {
            snprintf(err, errlen, "service DN %u: %s", d->index, why);
            return -1;
        }
        if (a.family != cfg->local.family) {
            snprintf(err, errlen, "service DN %u: %s is not of the SIP address's family "
                     "(IPv%u)", d->index, d->uri, cfg->local.family);
            return -1;
        }
        mp->targets[i].salen = mon_addr_sockaddr(&a, port, &mp->targets[i].sa);
        if (!(mp->targets[i].uri = strdup(d->uri))) {
            snprintf(err, errlen, "out of memory");
            return -1;
        }
    }
    return 0;
}

static uint64_t random_token(void)
{
    uint64_t t;
    if (getrandom(&t, sizeof(t), GRND_NONBLOCK) == (ssize_t)sizeof(t))
        return t;
    return now_us() ^ ((uint64_t)getpid() << 32); /* unique enough per run */
}

static int setup(struct mon_probe *mp, const struct mon_probe_config *cfg, char *err, size_t errlen)
{
    if (cfg->local.family != 4 && cfg->local.family != 6) {
        snprintf(err, errlen, "probe: the SIP address must be IPv4 or IPv6");
        return -1;
    }
    if (cfg->n_dns && !cfg->dns) {
        snprintf(err, errlen, "probe: no DN array");
        return -1;
    }
    struct mon_probe_core_dn *cdns = calloc(cfg->n_dns ? cfg->n_dns : 1, sizeof(*cdns));
    mp->targets = calloc(cfg->n_dns ? cfg->n_dns : 1, sizeof(*mp->targets));
    mp->n = cfg->n_dns;
    mp->in_buf = malloc((size_t)MP_RBATCH * MP_RSLOT);
    for (size_t i = 0; mp->in_buf && i < MP_RBATCH; i++) {
        mp->in_iov[i] = (struct iovec){ mp->in_buf + i * MP_RSLOT, MP_RSLOT };
        mp->in[i].msg_hdr = (struct msghdr){ .msg_iov = &mp->in_iov[i], .msg_iovlen = 1 };
    }
    int rc = -1;
    if (!cdns || !mp->targets || !mp->in_buf) {
        snprintf(err, errlen, "probe: out of memory");
    } else if (prepare_targets(mp, cfg, cdns, err, errlen) == 0 &&
               open_socket(mp, cfg, err, errlen) == 0) {
        uint64_t token = random_token();
        snprintf(mp->tag, sizeof(mp->tag), "%08llx", (unsigned long long)(token >> 32));
        mp->core = mon_probe_core_new(cdns, cfg->n_dns, token, now_us(), core_send, mp,
                                      core_emit, mp, err, errlen);
        rc = mp->core ? 0 : -1;
    }
    free(cdns);
    return rc;
}

void mon_probe_close(struct mon_probe *mp)
{
    if (!mp)
        return;
    if (mp->timer)
        loop_timer_cancel(mp->lp, mp->timer);
    if (mp->fd >= 0) {
        loop_unwatch_fd(mp->lp, mp->fd);
        close(mp->fd);
    }
    mon_probe_core_free(mp->core);
    for (size_t i = 0; mp->targets && i < mp->n; i++)
        free(mp->targets[i].uri);
    free(mp->targets);
    free(mp->in_buf);
    free(mp);
}

int mon_probe_open(struct mon_probe **out, struct loop *lp, const struct mon_probe_config *cfg,
                   mon_emit_fn emit, void *ctx, char *err, size_t errlen)
{
    if (!cfg || !emit) {
        snprintf(err, errlen, "probe: no configuration or emit callback");
        return -1;
    }
    struct mon_probe *mp = calloc(1, sizeof(*mp));
    if (!mp) {
        snprintf(err, errlen, "probe: out of memory");
        return -1;
    }
    mp->fd = -1;
    mp->lp = lp;
    mp->emit = emit;
    mp->ctx = ctx;
    mp->local = cfg->local;
    mp->sip_port = cfg->sip_port;
    if (setup(mp, cfg, err, errlen) < 0) {
        mon_probe_close(mp);
        return -1;
    }
    if (loop_watch_fd(lp, mp->fd, LOOP_READ, readable, mp) < 0) {
        snprintf(err, errlen, "probe: loop_watch_fd failed");
        mon_probe_close(mp);
        return -1;
    }
    mp->timer = loop_timer_add(lp, 0, timer_fired, mp);
    *out = mp;
    return 0;
}

uint16_t mon_probe_local_port(const struct mon_probe *mp)
{
    return mp->local_port;
}

uint64_t mon_probe_inode(const struct mon_probe *mp)
{
    return mp->inode;
}

enum mon_dn_state mon_probe_state(const struct mon_probe *mp, uint32_t dn_index)
{
    long pos = mon_probe_core_find(mp->core, dn_index);
    return pos < 0 ? MON_DN_UNKNOWN : mon_probe_core_state(mp->core, (size_t)pos);
}

void mon_probe_get_stats(const struct mon_probe *mp, struct mon_probe_stats *st)
{
    *st = mp->st;
}
