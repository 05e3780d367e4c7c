/* hl_wire.c — encode and decode HA link datagrams (layout in halink/README.md).
 *
 * The encoder runs the same field checks as the decoder, so a datagram we send is
 * one the peer accepts; a bad value from the caller is refused here, not on the
 * other host. */
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "hl_wire.h"

/* Header offsets. */
enum { H_VERSION = 0, H_TYPE = 1, H_BODY_LEN = 2, H_SENDER = 4, H_RECEIVER = 6,
       H_SESSION = 8, H_SEQ = 16 };

#define HELLO_UNAVAILABLE 0x01u
#define HELLO_HEARS_PEER 0x02u
#define HELLO_POLL 0x04u
#define TAKEOVER_TRAFFIC 0x01u
#define CDATA_END 0x01u
#define CDATA_TOO_OLD 0x02u

/* Any row the encoder accepts fits one datagram (22 fixed bytes, 5 length prefixes). */
_Static_assert(22 + 2 * HL_F_COUNT + 255 + 255 + 511 + 127 + 95 <= HL_MAX_BODY - HL_CDATA_FIXED,
               "a longest row must fit one CONTACT_DATA");

const uint16_t hl_str_max[HL_F_COUNT] = {
    [HL_F_AOR] = 255, [HL_F_URI] = 255, [HL_F_PATH] = 511, [HL_F_RECEIVED] = 127,
    [HL_F_SOCKET] = 95,
};

const char *hl_strerror(enum hl_err e)
{
    static const char *const text[HL_E_COUNT] = {
        [HL_OK] = "ok",
        [HL_E_TRUNCATED] = "truncated",
        [HL_E_OVERSIZED] = "oversized",
        [HL_E_VERSION] = "bad version",
        [HL_E_TYPE] = "bad type",
        [HL_E_LENGTH] = "bad length",
        [HL_E_INDEX] = "wrong instance index",
        [HL_E_AUTH] = "authentication failure",
        [HL_E_REPLAY] = "replay",
        [HL_E_MALFORMED] = "malformed body",
    };
    return (unsigned)e < HL_E_COUNT ? text[e] : "unknown";
}

/* ---- authentication ------------------------------------------------------------- */

int hl_auth_init(struct hl_auth *a, const uint8_t *key, size_t len)
{
    a->mac = NULL;
    if (len < HL_KEY_MIN || len > HL_KEY_MAX)
        return -1;
    EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
    EVP_MAC_CTX *ctx = mac ? EVP_MAC_CTX_new(mac) : NULL;
    EVP_MAC_free(mac); /* the context holds its own reference */
    if (!ctx)
        return -1;
    char digest[] = "SHA256";
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
        OSSL_PARAM_construct_end(),
    };
    if (EVP_MAC_init(ctx, key, len, params) != 1) {
        EVP_MAC_CTX_free(ctx);
        return -1;
    }
    a->mac = ctx;
    return 0;
}

void hl_auth_free(struct hl_auth *a)
{
    EVP_MAC_CTX_free(a->mac); /* cleanses the key schedule */
    a->mac = NULL;
}

/* HMAC of buf[0..len) into out. Re-initialising with a NULL key keeps the key set
 * once in hl_auth_init: nothing is allocated or re-derived per datagram. */
static int compute_mac(const struct hl_auth *a, const uint8_t *buf, size_t len,
                       uint8_t out[HL_MAC_LEN])
{
    size_t outl = 0;
    EVP_MAC_CTX *ctx = a->mac;
    if (!ctx || EVP_MAC_init(ctx, NULL, 0, NULL) != 1 || EVP_MAC_update(ctx, buf, len) != 1 ||
        EVP_MAC_final(ctx, out, &outl, HL_MAC_LEN) != 1 || outl != HL_MAC_LEN)
        return -1;
    return 0;
}

/* ---- big-endian helpers ----------------------------------------------------------- */

static void put16(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (24 - 8 * i));
}

static void put64(uint8_t *p, uint64_t v)
{
    put32(p, (uint32_t)(v >> 32));
    put32(p + 4, (uint32_t)v);
}

static uint32_t get16(const uint8_t *p)
{
    return (uint32_t)p[0] << 8 | p[1];
}

static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint64_t get64(const uint8_t *p)
{
    return (uint64_t)get32(p) << 32 | get32(p + 4);
}

/* ---- field checks, shared by both directions ------------------------------------- */

static bool in_range(unsigned v, unsigned lo, unsigned hi)
{
    return v >= lo && v <= hi;
}

static bool index_ok(uint32_t i)
{
    return i >= 1 && i <= 255;
}

/* backoff_factor 0 = not reported (older engine); the engine's values are 1, 2, 4. */
static bool factor_ok(uint32_t f, bool zero_ok)
{
    return (zero_ok && f == 0) || f == 1 || f == 2 || f == 4;
}

static bool hello_ok(const struct hl_hello *h)
{
    const struct ha_peer_state *ps = &h->ps;
    return in_range(ps->role, HA_ROLE_UNKNOWN, HA_ROLE_BACKUP) &&
           in_range(ps->status, HA_STATUS_UNKNOWN, HA_STATUS_SERVICE_UNAVAILABLE) &&
           in_range(ps->listener, HA_LISTENER_UNKNOWN, HA_LISTENER_FAILED) &&
           in_range(ps->arbiter, HA_LINK_NOT_CONFIGURED, HA_LINK_DOWN) &&
           !(ps->options & ~(unsigned)HA_OPT_ALL) && factor_ok(ps->backoff_factor, true) &&
           h->tx_interval_ms > 0;
}

static bool takeover_ok(const struct hl_takeover *t)
{
    return t->id != 0 && in_range(t->m.reason, HA_REASON_NONE, HA_REASON_SHUTDOWN) &&
           factor_ok(t->m.factor, false);
}

static bool str_ok(const char *s, size_t len, enum hl_field f)
{
    return len <= hl_str_max[f] && (len == 0 || (s && !memchr(s, '\0', len)));
}

static bool row_ok(const struct hl_row *r)
{
    if (r->q < HL_Q_UNSET || r->q > 1000 || r->len[HL_F_AOR] == 0 || r->len[HL_F_URI] == 0)
        return false;
    for (int f = 0; f < HL_F_COUNT; f++)
        if (!str_ok(r->str[f], r->len[f], (enum hl_field)f))
            return false;
    return true;
}

/* Row order and bounds of a CONTACT_DATA (strings checked per row). A "too old"
 * answer carries no row and ends where it began. */
static bool cdata_ok(const struct hl_cdata *c)
{
    if (c->n > HL_MAX_ROWS || c->last_row < c->after_row || (!c->end && c->last_row == c->after_row))
        return false;
    if (c->too_old && (c->n || !c->end || c->last_row != c->after_row))
        return false;
    uint32_t prev = c->after_row;
    for (size_t i = 0; i < c->n; i++) {
        const struct hl_row *r = &c->rows[i];
        if (r->row <= prev || r->row > c->last_row || !row_ok(r))
            return false;
        prev = r->row;
    }
    return true;
}

/* ---- encoder ------------------------------------------------------------------------ */

static size_t body_hello(const struct hl_hello *h, uint8_t *b)
{
    const struct ha_peer_state *ps = &h->ps;
    if (!hello_ok(h))
        return 0;
    b[0] = (uint8_t)ps->role;
    b[1] = (uint8_t)ps->status;
    b[2] = (uint8_t)ps->listener;
    b[3] = (uint8_t)ps->arbiter;
    b[4] = (uint8_t)ps->options;
    b[5] = (uint8_t)((ps->unavailable ? HELLO_UNAVAILABLE : 0) |
                     (ps->hears_peer ? HELLO_HEARS_PEER : 0) | (h->poll ? HELLO_POLL : 0));
    put16(b + 6, ps->backoff_factor);
    put32(b + 8, ps->epoch);
    put32(b + 12, ps->priority);
    put64(b + 16, ps->sip_msgs);
    put32(b + 24, h->contact_gen);
    put32(b + 28, h->contact_count);
    put16(b + 32, h->tx_interval_ms);
    put16(b + 34, 0); /* reserved */
    return HL_HELLO_LEN;
}

static size_t body_takeover(const struct hl_takeover *t, uint8_t *b)
{
    if (!takeover_ok(t))
        return 0;
    put32(b, t->id);
    put32(b + 4, t->m.epoch);
    put32(b + 8, t->m.factor);
    b[12] = (uint8_t)t->m.reason;
    b[13] = t->m.traffic_seen ? TAKEOVER_TRAFFIC : 0;
    return HL_TAKEOVER_LEN;
}

static size_t body_cdata(const struct hl_cdata *c, uint8_t *b, size_t cap)
{
    if (!cdata_ok(c))
        return 0;
    put32(b, c->gen);
    put32(b + 4, c->after_row);
    put32(b + 8, c->last_row);
    put16(b + 12, (uint32_t)c->n);
    b[14] = (uint8_t)((c->end ? CDATA_END : 0) | (c->too_old ? CDATA_TOO_OLD : 0));
    size_t off = HL_CDATA_FIXED;
    for (size_t i = 0; i < c->n; i++) {
        const struct hl_row *r = &c->rows[i];
        if (off + hl_row_len(r) > cap)
            return 0;
        put32(b + off, r->row);
        put32(b + off + 4, r->expiry_s);
        put16(b + off + 8, (uint16_t)r->q);
        put32(b + off + 10, r->flags);
        put32(b + off + 14, r->cflags);
        put32(b + off + 18, r->methods);
        off += 22;
        for (int f = 0; f < HL_F_COUNT; f++) {
            put16(b + off, r->len[f]);
            if (r->len[f])
                memcpy(b + off + 2, r->str[f], r->len[f]);
            off += 2 + r->len[f];
        }
    }
    return off;
}

/* The body of m at b (room for HL_MAX_BODY); its length, 0 when refused. */
static size_t encode_body(const struct hl_msg *m, uint8_t *b)
{
    switch (m->h.type) {
    case HL_HELLO:
        return body_hello(&m->u.hello, b);
    case HL_TAKEOVER:
        return body_takeover(&m->u.msg, b);
    case HL_RELEASE:
        if (m->u.msg.id == 0)
            return 0;
        put32(b, m->u.msg.id);
        return HL_RELEASE_LEN;
    case HL_CONTACT_REQ:
        put32(b, m->u.creq.gen);
        put32(b + 4, m->u.creq.after_row);
        return HL_CREQ_LEN;
    case HL_CONTACT_DATA:
        return body_cdata(&m->u.cdata, b, HL_MAX_BODY);
    }
    return 0;
}

size_t hl_encode(const struct hl_auth *a, const struct hl_msg *m, uint8_t *buf, size_t cap)
{
    if (cap < HL_MAX_DGRAM || !index_ok(m->h.sender) || !index_ok(m->h.receiver))
        return 0;
    size_t blen = encode_body(m, buf + HL_HDR_LEN);
    if (blen == 0)
        return 0;
    buf[H_VERSION] = HL_VERSION;
    buf[H_TYPE] = (uint8_t)m->h.type;
    put16(buf + H_BODY_LEN, (uint32_t)blen);
    put16(buf + H_SENDER, m->h.sender);
    put16(buf + H_RECEIVER, m->h.receiver);
    put64(buf + H_SESSION, m->h.session);
    put64(buf + H_SEQ, m->h.seq);
    size_t len = HL_HDR_LEN + blen;
    if (compute_mac(a, buf, len, buf + len) != 0)
        return 0;
    return len + HL_MAC_LEN;
}

/* ---- decoder -------------------------------------------------------------------------- */

static enum hl_err dec_hello(const uint8_t *b, struct hl_hello *h)
{
    struct ha_peer_state *ps = &h->ps;
    memset(h, 0, sizeof(*h));
    if ((b[5] & ~(HELLO_UNAVAILABLE | HELLO_HEARS_PEER | HELLO_POLL)) || get16(b + 34) != 0)
        return HL_E_MALFORMED;
    ps->role = (enum ha_role)b[0];
    ps->status = (enum ha_status)b[1];
    ps->listener = (enum ha_listener)b[2];
    ps->arbiter = (enum ha_link)b[3];
    ps->options = b[4];
    ps->unavailable = b[5] & HELLO_UNAVAILABLE;
    ps->hears_peer = b[5] & HELLO_HEARS_PEER;
    ps->backoff_factor = get16(b + 6);
    ps->epoch = get32(b + 8);
    ps->priority = get32(b + 12);
    ps->sip_msgs = get64(b + 16);
    h->contact_gen = get32(b + 24);
    h->contact_count = get32(b + 28);
    h->tx_interval_ms = get16(b + 32);
    h->poll = b[5] & HELLO_POLL;
    return hello_ok(h) ? HL_OK : HL_E_MALFORMED;
}

static enum hl_err dec_takeover(const uint8_t *b, struct hl_takeover *t)
{
    memset(t, 0, sizeof(*t));
    if (b[13] & ~TAKEOVER_TRAFFIC)
        return HL_E_MALFORMED;
    t->id = get32(b);
    t->m.cmd = HA_CMD_PEER_TAKEOVER;
    t->m.epoch = get32(b + 4);
    t->m.factor = get32(b + 8);
    t->m.reason = (enum ha_reason)b[12];
    t->m.traffic_seen = b[13] & TAKEOVER_TRAFFIC;
    return takeover_ok(t) ? HL_OK : HL_E_MALFORMED;
}

/* One length-prefixed string at b[*off], inside len. */
static bool dec_str(const uint8_t *b, size_t len, size_t *off, enum hl_field f,
                    const char **s, uint16_t *slen)
{
    if (len - *off < 2)
        return false;
    size_t n = get16(b + *off);
    if (n > hl_str_max[f] || len - *off - 2 < n)
        return false;
    *s = (const char *)b + *off + 2;
    *slen = (uint16_t)n;
    *off += 2 + n;
    return true;
}

static enum hl_err dec_cdata(const uint8_t *b, size_t len, struct hl_cdata *c)
{
    c->gen = get32(b);
    c->after_row = get32(b + 4);
    c->last_row = get32(b + 8);
    c->n = get16(b + 12);
    c->end = b[14] & CDATA_END;
    c->too_old = b[14] & CDATA_TOO_OLD;
    if ((b[14] & ~(CDATA_END | CDATA_TOO_OLD)) || c->n > HL_MAX_ROWS)
        return HL_E_MALFORMED;
    size_t off = HL_CDATA_FIXED;
    for (size_t i = 0; i < c->n; i++) {
        struct hl_row *r = &c->rows[i];
        if (len - off < 22)
            return HL_E_MALFORMED;
        r->row = get32(b + off);
        r->expiry_s = get32(b + off + 4);
        r->q = (int16_t)get16(b + off + 8);
        r->flags = get32(b + off + 10);
        r->cflags = get32(b + off + 14);
        r->methods = get32(b + off + 18);
        off += 22;
        for (int f = 0; f < HL_F_COUNT; f++)
            if (!dec_str(b, len, &off, (enum hl_field)f, &r->str[f], &r->len[f]))
                return HL_E_MALFORMED;
    }
    if (off != len) /* trailing bytes after the last row */
        return HL_E_MALFORMED;
    return cdata_ok(c) ? HL_OK : HL_E_MALFORMED;
}

/* Fixed body length of a type; 0 = variable (CONTACT_DATA). */
static size_t fixed_len(enum hl_type t)
{
    switch (t) {
    case HL_HELLO: return HL_HELLO_LEN;
    case HL_TAKEOVER: return HL_TAKEOVER_LEN;
    case HL_RELEASE: return HL_RELEASE_LEN;
    case HL_CONTACT_REQ: return HL_CREQ_LEN;
    case HL_CONTACT_DATA: return 0;
    }
    return 0;
}

static enum hl_err dec_body(enum hl_type t, const uint8_t *b, size_t len, struct hl_msg *m)
{
    switch (t) {
    case HL_HELLO:
        return dec_hello(b, &m->u.hello);
    case HL_TAKEOVER:
        return dec_takeover(b, &m->u.msg);
    case HL_RELEASE:
        memset(&m->u.msg, 0, sizeof(m->u.msg));
        m->u.msg.id = get32(b);
        m->u.msg.m.cmd = HA_CMD_PEER_RELEASE;
        return m->u.msg.id ? HL_OK : HL_E_MALFORMED;
    case HL_CONTACT_REQ:
        m->u.creq.gen = get32(b);
        m->u.creq.after_row = get32(b + 4);
        return HL_OK;
    case HL_CONTACT_DATA:
        return dec_cdata(b, len, &m->u.cdata);
    }
    return HL_E_TYPE;
}

/* Everything that can be checked without the key. */
static enum hl_err check_header(const uint8_t *buf, size_t len, uint32_t self_index,
                                uint32_t peer_index, size_t *blen)
{
    if (len < HL_HDR_LEN + HL_MAC_LEN)
        return HL_E_TRUNCATED;
    if (len > HL_MAX_DGRAM)
        return HL_E_OVERSIZED;
    if (buf[H_VERSION] != HL_VERSION)
        return HL_E_VERSION;
    unsigned type = buf[H_TYPE];
    if (type < HL_HELLO || type > HL_CONTACT_DATA)
        return HL_E_TYPE;
    *blen = get16(buf + H_BODY_LEN);
    size_t want = fixed_len((enum hl_type)type);
    if (HL_HDR_LEN + *blen + HL_MAC_LEN != len || (want && *blen != want) ||
        (!want && *blen < HL_CDATA_FIXED))
        return HL_E_LENGTH;
    if (get16(buf + H_SENDER) != peer_index || get16(buf + H_RECEIVER) != self_index)
        return HL_E_INDEX;
    return HL_OK;
}

enum hl_err hl_decode(const struct hl_auth *a, struct hl_replay *rp, uint32_t self_index,
                      uint32_t peer_index, const uint8_t *buf, size_t len, struct hl_msg *out)
{
    size_t blen = 0;
    enum hl_err e = check_header(buf, len, self_index, peer_index, &blen);
    if (e != HL_OK)
        return e;
    uint8_t mac[HL_MAC_LEN];
    size_t signed_len = HL_HDR_LEN + blen;
    if (compute_mac(a, buf, signed_len, mac) != 0 ||
        CRYPTO_memcmp(mac, buf + signed_len, HL_MAC_LEN) != 0)
        return HL_E_AUTH;
    uint64_t session = get64(buf + H_SESSION), seq = get64(buf + H_SEQ);
    if (rp->known && (session < rp->session || (session == rp->session && seq <= rp->seq)))
        return HL_E_REPLAY;
    out->h = (struct hl_hdr){ .type = (enum hl_type)buf[H_TYPE], .sender = peer_index,
                              .receiver = self_index, .session = session, .seq = seq };
    e = dec_body(out->h.type, buf + HL_HDR_LEN, blen, out);
    if (e != HL_OK)
        return e;
    *rp = (struct hl_replay){ .known = true, .session = session, .seq = seq };
    return HL_OK;
}
