/* The HA link codec: every type survives a round trip, and every reject reason is
 * reported for what causes it, without touching the replay state.
 *
 * The MAC of hand-made datagrams is computed here with OpenSSL's one-shot HMAC(), a
 * second path to the same HMAC-SHA-256 than the codec's EVP_MAC context.
 * With SIPHA_WRITE_CORPUS=DIR set, the valid datagrams of round_trip and
 * cdata_seeds are also written to DIR (the seed corpus of tests/fuzz/fuzz_hl_wire.c).
 *
 * CONTACT_DATA body offsets: gen 0, after_row 4, last_row 8, n 12, flags 14, rows
 * from 15. A row: row +0, expiry +4, q +8 (u16), flags +10, cflags +14, methods +18,
 * then AOR, URI, path, received, socket, each a u16 length + bytes (the AOR's length
 * at +22): HL_ROW_FIXED (32) bytes when every string is empty. */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "hl_wire.h"

#define SELF 2u
#define PEER 1u
static const char key_text[] = "fuzz-key-0123456789abcdef"; /* shared with fuzz_hl_wire.c */

struct fx {
    struct hl_auth auth, other;
    struct hl_replay rp;
    struct hl_msg out;
    uint8_t buf[HL_MAX_DGRAM + 16];
};

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));
    if (!f || hl_auth_init(&f->auth, (const uint8_t *)key_text, strlen(key_text)) != 0 ||
        hl_auth_init(&f->other, (const uint8_t *)"another-key-0123456789", 22) != 0)
        return -1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    hl_auth_free(&f->auth);
    hl_auth_free(&f->other);
    free(f);
    return 0;
}

static struct hl_msg hello_msg(void)
{
    struct hl_msg m = { .h = { HL_HELLO, PEER, SELF, 1000, 1 } };
    m.u.hello.ps = (struct ha_peer_state){
        .role = HA_ROLE_PRIMARY, .status = HA_STATUS_RUNNING, .epoch = 7, .priority = 100,
        .sip_msgs = 0x123456789abcull, .listener = HA_LISTENER_BOUND, .unavailable = true,
        .options = HA_OPT_SIP_PASS_CHECK | HA_OPT_SIP_NIC_MONITORING,
        .arbiter = HA_LINK_UP, .backoff_factor = 2, .hears_peer = true };
    m.u.hello.contact_gen = 42;
    m.u.hello.contact_count = 10000;
    m.u.hello.tx_interval_ms = 256;
    m.u.hello.poll = true;
    return m;
}

static struct hl_msg takeover_msg(void)
{
    struct hl_msg m = { .h = { HL_TAKEOVER, PEER, SELF, 1000, 2 } };
    m.u.msg = (struct hl_takeover){ .id = 9, .m = { .cmd = HA_CMD_PEER_TAKEOVER, .epoch = 8,
                                    .reason = HA_REASON_SHUTDOWN, .factor = 4,
                                    .traffic_seen = true } };
    return m;
}

static void set_str(struct hl_row *r, enum hl_field f, const char *s)
{
    r->str[f] = s;
    r->len[f] = (uint16_t)strlen(s);
}

/* A row with every string given (NULL = empty). */
static struct hl_row make_row(uint32_t row, uint32_t expiry_s, int16_t q, uint32_t flags,
                              uint32_t cflags, uint32_t methods, const char *const str[HL_F_COUNT])
{
    struct hl_row r = { .row = row, .expiry_s = expiry_s, .q = q, .flags = flags,
                        .cflags = cflags, .methods = methods };
    for (int f = 0; f < HL_F_COUNT; f++)
        set_str(&r, (enum hl_field)f, str[f] ? str[f] : "");
    return r;
}

/* Three rows: every string set; only AOR and URI; some attributes at their extremes. */
static struct hl_msg cdata_msg(void)
{
    static const char *const s0[HL_F_COUNT] = {
        "sip:alice@example.com", "sip:alice@10.0.0.1:5060;transport=udp",
        "<sip:edge1.example.com;lr>,<sip:core.example.com;lr>", "sip:192.0.2.10:40000",
        "udp:10.0.0.1:5060" };
    static const char *const s1[HL_F_COUNT] = { "sip:bob@example.com", "sip:x@y" };
    static const char *const s2[HL_F_COUNT] = {
        "sip:carol@example.com", "sip:carol@[2001:db8::1]:5061;transport=tls", NULL,
        "sip:198.51.100.7:5062", NULL };
    struct hl_msg m = { .h = { HL_CONTACT_DATA, PEER, SELF, 1000, 5 } };
    struct hl_cdata *c = &m.u.cdata;
    c->gen = 3;
    c->after_row = 10;
    c->last_row = 40;
    c->end = true;
    c->n = 3;
    c->rows[0] = make_row(11, 3600, 1000, 0x1, 0x20, 0x1fff, s0);
    c->rows[1] = make_row(21, 3601, HL_Q_UNSET, 0, 0, 0, s1);
    c->rows[2] = make_row(31, 3602, 0, 0xffffffffu, 0x80000000u, 0xffffffffu, s2);
    return m;
}

/* Every field of a decoded row equals the one encoded. */
static void assert_row_equal(const struct hl_row *got, const struct hl_row *want)
{
    assert_int_equal(got->row, want->row);
    assert_int_equal(got->expiry_s, want->expiry_s);
    assert_int_equal(got->q, want->q);
    assert_int_equal(got->flags, want->flags);
    assert_int_equal(got->cflags, want->cflags);
    assert_int_equal(got->methods, want->methods);
    for (int f = 0; f < HL_F_COUNT; f++) {
        assert_int_equal(got->len[f], want->len[f]);
        if (want->len[f])
            assert_memory_equal(got->str[f], want->str[f], want->len[f]);
    }
}

static size_t enc(struct fx *f, const struct hl_msg *m)
{
    size_t n = hl_encode(&f->auth, m, f->buf, sizeof(f->buf));
    assert_true(n > 0);
    return n;
}

static enum hl_err dec(struct fx *f, size_t len)
{
    return hl_decode(&f->auth, &f->rp, SELF, PEER, f->buf, len, &f->out);
}

/* Recomputes the MAC of a datagram of `len` bytes (header and body as they are). */
static void resign(struct fx *f, size_t len)
{
    unsigned int ml = 0;
    HMAC(EVP_sha256(), key_text, (int)strlen(key_text), f->buf, len - HL_MAC_LEN,
         f->buf + len - HL_MAC_LEN, &ml);
    assert_int_equal(ml, HL_MAC_LEN);
}

/* Sets the body length field to blen and re-signs (header + blen body bytes). */
static size_t set_body_len(struct fx *f, size_t blen)
{
    f->buf[2] = (uint8_t)(blen >> 8);
    f->buf[3] = (uint8_t)blen;
    size_t len = HL_HDR_LEN + blen + HL_MAC_LEN;
    resign(f, len);
    return len;
}

static enum hl_err poke(struct fx *f, const struct hl_msg *m, size_t off, uint8_t v);

static void write_seed(const char *name, const uint8_t *buf, size_t len)
{
    const char *dir = getenv("SIPHA_WRITE_CORPUS");
    char path[512];
    if (!dir)
        return;
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    FILE *fp = fopen(path, "wb");
    assert_non_null(fp);
    assert_int_equal(fwrite(buf, 1, len, fp), len);
    fclose(fp);
}

/* ---- round trips ---- */

static void round_trip(void **state)
{
    struct fx *f = *state;
    struct hl_msg m = hello_msg();
    size_t n = enc(f, &m);
    assert_int_equal(n, HL_HDR_LEN + HL_HELLO_LEN + HL_MAC_LEN);
    write_seed("hello.bin", f->buf, n);
    assert_int_equal(dec(f, n), HL_OK);
    assert_int_equal(f->out.h.type, HL_HELLO);
    assert_int_equal(f->out.h.sender, PEER);
    assert_int_equal(f->out.h.session, 1000);
    assert_int_equal(f->out.h.seq, 1);
    m.u.hello.ps.index = 0; /* not carried */
    assert_memory_equal(&f->out.u.hello.ps, &m.u.hello.ps, sizeof(m.u.hello.ps));
    assert_int_equal(f->out.u.hello.contact_gen, 42);
    assert_int_equal(f->out.u.hello.contact_count, 10000);
    assert_int_equal(f->out.u.hello.tx_interval_ms, 256);
    assert_true(f->out.u.hello.poll);

    m = takeover_msg();
    n = enc(f, &m);
    write_seed("takeover.bin", f->buf, n);
    assert_int_equal(dec(f, n), HL_OK);
    assert_int_equal(f->out.u.msg.id, 9);
    assert_memory_equal(&f->out.u.msg.m, &m.u.msg.m, sizeof(m.u.msg.m));

    m = (struct hl_msg){ .h = { HL_RELEASE, PEER, SELF, 1000, 3 }, .u.msg.id = 10 };
    n = enc(f, &m);
    write_seed("release.bin", f->buf, n);
    assert_int_equal(dec(f, n), HL_OK);
    assert_int_equal(f->out.u.msg.id, 10);
    assert_int_equal(f->out.u.msg.m.cmd, HA_CMD_PEER_RELEASE);

    m = (struct hl_msg){ .h = { HL_CONTACT_REQ, PEER, SELF, 1000, 4 },
                         .u.creq = { .gen = 77, .after_row = 1234 } };
    n = enc(f, &m);
    write_seed("contact_req.bin", f->buf, n);
    assert_int_equal(dec(f, n), HL_OK);
    assert_int_equal(f->out.u.creq.gen, 77);
    assert_int_equal(f->out.u.creq.after_row, 1234);

    m = cdata_msg();
    n = enc(f, &m);
    write_seed("contact_data.bin", f->buf, n);
    assert_int_equal(dec(f, n), HL_OK);
    const struct hl_cdata *c = &f->out.u.cdata;
    assert_int_equal(c->gen, 3);
    assert_int_equal(c->after_row, 10);
    assert_int_equal(c->last_row, 40);
    assert_true(c->end);
    assert_false(c->too_old);
    assert_int_equal(c->n, 3);
    for (size_t i = 0; i < 3; i++)
        assert_row_equal(&c->rows[i], &m.u.cdata.rows[i]);
}

static char long_text[HL_STR_MAX + 2]; /* 'a' * (HL_STR_MAX + 1), set by longest_row */

/* A row with every string at its maximum. */
static struct hl_row longest_row(uint32_t row)
{
    memset(long_text, 'a', sizeof(long_text) - 1);
    struct hl_row r = { .row = row, .expiry_s = UINT32_MAX, .q = 1000, .flags = UINT32_MAX,
                        .cflags = UINT32_MAX, .methods = UINT32_MAX };
    for (int f = 0; f < HL_F_COUNT; f++) {
        r.str[f] = long_text;
        r.len[f] = hl_str_max[f];
    }
    return r;
}

/* A CONTACT_DATA filled to the limit: the biggest datagram is still <= 1400 bytes. */
static void full_cdata_fits(void **state)
{
    struct fx *f = *state;
    struct hl_msg m = { .h = { HL_CONTACT_DATA, PEER, SELF, 1, 1 } };
    struct hl_cdata *c = &m.u.cdata;
    size_t room = HL_MAX_BODY - HL_CDATA_FIXED;
    struct hl_row big = longest_row(1);
    assert_int_equal(hl_row_len(&big), 1275);
    while (room >= hl_row_len(&big)) {
        c->rows[c->n] = longest_row((uint32_t)c->n + 1);
        c->n++;
        room -= hl_row_len(&big);
    }
    assert_int_equal(c->n, 1); /* the longest row travels, alone */
    c->last_row = (uint32_t)c->n;
    size_t n = enc(f, &m);
    assert_true(n <= HL_MAX_DGRAM);
    assert_int_equal(dec(f, n), HL_OK);
    assert_int_equal(f->out.u.cdata.n, c->n);
    assert_row_equal(&f->out.u.cdata.rows[0], &c->rows[0]);
    /* one more row does not fit: the encoder refuses rather than overflow */
    c->rows[c->n] = longest_row((uint32_t)c->n + 1);
    c->n++;
    c->last_row++;
    assert_int_equal(hl_encode(&f->auth, &m, f->buf, sizeof(f->buf)), 0);

    /* A row that fills the rest to the last byte: a datagram of exactly 1400 bytes;
     * one byte more is refused. */
    c->n = 1;
    c->last_row = 2;
    c->rows[1] = (struct hl_row){ .row = 2, .expiry_s = 1 };
    set_str(&c->rows[1], HL_F_AOR, "a");
    set_str(&c->rows[1], HL_F_URI, "u");
    c->rows[1].str[HL_F_PATH] = long_text;
    c->rows[1].len[HL_F_PATH] = (uint16_t)(room - HL_ROW_FIXED - 2);
    c->n = 2;
    assert_int_equal(enc(f, &m), HL_MAX_DGRAM);
    f->rp = (struct hl_replay){ 0 };
    assert_int_equal(dec(f, HL_MAX_DGRAM), HL_OK);
    assert_int_equal(f->out.u.cdata.n, 2);
    assert_row_equal(&f->out.u.cdata.rows[1], &c->rows[1]);
    c->rows[1].len[HL_F_PATH]++;
    assert_int_equal(hl_encode(&f->auth, &m, f->buf, sizeof(f->buf)), 0);
}

/* The shortest rows (one-byte AOR and URI): as many as the body holds, one more is
 * refused; a row count above HL_MAX_ROWS is malformed whatever follows. */
static void most_rows_fit(void **state)
{
    struct fx *f = *state;
    struct hl_msg m = { .h = { HL_CONTACT_DATA, PEER, SELF, 1, 1 } };
    struct hl_cdata *c = &m.u.cdata;
    size_t fit = (HL_MAX_BODY - HL_CDATA_FIXED) / (HL_ROW_FIXED + 2);
    assert_true(fit < HL_MAX_ROWS);
    for (c->n = 0; c->n < fit + 1; c->n++) {
        c->rows[c->n] = (struct hl_row){ .row = (uint32_t)c->n + 1, .q = HL_Q_UNSET };
        set_str(&c->rows[c->n], HL_F_AOR, "a");
        set_str(&c->rows[c->n], HL_F_URI, "u");
    }
    c->last_row = (uint32_t)(fit + 1);
    assert_int_equal(hl_encode(&f->auth, &m, f->buf, sizeof(f->buf)), 0);
    c->n = fit;
    c->last_row = (uint32_t)fit;
    c->end = true;
    size_t n = enc(f, &m);
    write_seed("contact_data_many.bin", f->buf, n);
    assert_int_equal(dec(f, n), HL_OK);
    assert_int_equal(f->out.u.cdata.n, fit);
    for (size_t i = 0; i < fit; i++)
        assert_row_equal(&f->out.u.cdata.rows[i], &c->rows[i]);
    m = cdata_msg();
    assert_int_equal(poke(f, &m, 12, 0x01), HL_E_MALFORMED); /* n = 0x103 */
    assert_int_equal(poke(f, &m, 13, HL_MAX_ROWS + 1), HL_E_MALFORMED);
}

/* ---- header rejects ---- */

static void truncated_at_every_length(void **state)
{
    struct fx *f = *state;
    struct hl_msg m = cdata_msg();
    size_t n = enc(f, &m);
    for (size_t len = 0; len < n; len++) {
        enum hl_err e = dec(f, len);
        assert_int_equal(e, len < HL_HDR_LEN + HL_MAC_LEN ? HL_E_TRUNCATED : HL_E_LENGTH);
    }
    assert_false(f->rp.known);
    assert_int_equal(dec(f, n), HL_OK);
}

static void oversized(void **state)
{
    struct fx *f = *state;
    memset(f->buf, 0, sizeof(f->buf));
    assert_int_equal(dec(f, HL_MAX_DGRAM + 1), HL_E_OVERSIZED);
}

static void bad_version(void **state)
{
    struct fx *f = *state;
    struct hl_msg m = hello_msg();
    size_t n = enc(f, &m);
    f->buf[0] = 2;
    resign(f, n);
    assert_int_equal(dec(f, n), HL_E_VERSION);
    f->buf[0] = 0;
    assert_int_equal(dec(f, n), HL_E_VERSION);
}

static void bad_type(void **state)
{
    struct fx *f = *state;
    struct hl_msg m = hello_msg();
    size_t n = enc(f, &m);
    f->buf[1] = 0;
    assert_int_equal(dec(f, n), HL_E_TYPE);
    f->buf[1] = HL_CONTACT_DATA + 1;
    assert_int_equal(dec(f, n), HL_E_TYPE);
    m.h.type = (enum hl_type)99; /* the encoder refuses it too */
    assert_int_equal(hl_encode(&f->auth, &m, f->buf, sizeof(f->buf)), 0);
}

static void bad_length(void **state)
{
    struct fx *f = *state;
    struct hl_msg m = hello_msg();
    size_t n = enc(f, &m);
    /* trailing bytes after the MAC */
    assert_int_equal(dec(f, n + 1), HL_E_LENGTH);
    /* a HELLO one byte longer, consistently signed: the type fixes the length */
    f->buf[HL_HDR_LEN + HL_HELLO_LEN] = 0;
    assert_int_equal(dec(f, set_body_len(f, HL_HELLO_LEN + 1)), HL_E_LENGTH);
    /* CONTACT_DATA shorter than its fixed part */
    m = cdata_msg();
    enc(f, &m);
    assert_int_equal(dec(f, set_body_len(f, HL_CDATA_FIXED - 1)), HL_E_LENGTH);
    assert_false(f->rp.known);
}

static void wrong_index(void **state)
{
    struct fx *f = *state;
    struct hl_msg m = hello_msg();
    m.h.sender = 3; /* not the configured peer */
    assert_int_equal(dec(f, enc(f, &m)), HL_E_INDEX);
    m = hello_msg();
    m.h.receiver = 3; /* meant for another instance */
    assert_int_equal(dec(f, enc(f, &m)), HL_E_INDEX);
    m = hello_msg();
    m.h.sender = SELF; /* our own datagram reflected back */
    m.h.receiver = PEER;
    assert_int_equal(dec(f, enc(f, &m)), HL_E_INDEX);
    m.h.sender = 0; /* out of range: refused by the encoder */
    assert_int_equal(hl_encode(&f->auth, &m, f->buf, sizeof(f->buf)), 0);
    assert_false(f->rp.known);
}

/* ---- authentication and replay ---- */

static void auth_flipped_mac_bit(void **state)
{
    struct fx *f = *state;
    struct hl_msg m = hello_msg();
    size_t n = enc(f, &m);
    f->buf[n - 1] ^= 0x01;
    assert_int_equal(dec(f, n), HL_E_AUTH);
    f->buf[n - 1] ^= 0x01;
    f->buf[HL_HDR_LEN + 8] ^= 0x80; /* a body bit (the epoch) */
    assert_int_equal(dec(f, n), HL_E_AUTH);
    f->buf[HL_HDR_LEN + 8] ^= 0x80;
    f->buf[23] ^= 0x01; /* a header bit (the sequence number) */
    assert_int_equal(dec(f, n), HL_E_AUTH);
    assert_false(f->rp.known);
}

static void auth_wrong_key(void **state)
{
    struct fx *f = *state;
    struct hl_msg m = hello_msg();
    size_t n = hl_encode(&f->other, &m, f->buf, sizeof(f->buf));
    assert_true(n > 0);
    assert_int_equal(dec(f, n), HL_E_AUTH);
    assert_false(f->rp.known);
    struct hl_auth tmp;
    assert_int_equal(hl_auth_init(&tmp, (const uint8_t *)"short", 5), -1); /* < 16 bytes */
}

static void replayed_seq(void **state)
{
    struct fx *f = *state;
    struct hl_msg m = hello_msg();
    m.h.seq = 5;
    size_t n = enc(f, &m);
    assert_int_equal(dec(f, n), HL_OK);
    assert_int_equal(dec(f, n), HL_E_REPLAY); /* the same datagram again */
    m.h.seq = 4;
    assert_int_equal(dec(f, enc(f, &m)), HL_E_REPLAY); /* an older one */
    m.h.seq = 6;
    assert_int_equal(dec(f, enc(f, &m)), HL_OK);
    assert_int_equal(f->rp.seq, 6);
}

static void old_session(void **state)
{
    struct fx *f = *state;
    struct hl_msg m = hello_msg();
    m.h.session = 2000;
    m.h.seq = 100;
    assert_int_equal(dec(f, enc(f, &m)), HL_OK);
    m.h.session = 1999; /* the peer's previous process */
    m.h.seq = 1000;
    assert_int_equal(dec(f, enc(f, &m)), HL_E_REPLAY);
    m.h.session = 2001; /* a new process: its sequence starts again */
    m.h.seq = 1;
    assert_int_equal(dec(f, enc(f, &m)), HL_OK);
    assert_int_equal(f->rp.session, 2001);
    assert_int_equal(f->rp.seq, 1);
}

/* Rejected datagrams leave the replay state alone, whatever their seq. */
static void reject_changes_nothing(void **state)
{
    struct fx *f = *state;
    struct hl_msg m = hello_msg();
    m.h.seq = 10;
    assert_int_equal(dec(f, enc(f, &m)), HL_OK);
    struct hl_replay before = f->rp;
    m.h.seq = 1000;
    size_t n = enc(f, &m);
    f->buf[n - 5] ^= 1;
    assert_int_equal(dec(f, n), HL_E_AUTH);
    f->buf[n - 5] ^= 1;
    f->buf[HL_HDR_LEN] = 9; /* role 9, re-signed: authentic but malformed */
    resign(f, n);
    assert_int_equal(dec(f, n), HL_E_MALFORMED);
    assert_memory_equal(&f->rp, &before, sizeof(before));
    m.h.seq = 11;
    assert_int_equal(dec(f, enc(f, &m)), HL_OK);
}

/* ---- malformed bodies ---- */

/* Encodes m, sets body byte `off` to v, re-signs, decodes (fresh replay state). */
static enum hl_err poke(struct fx *f, const struct hl_msg *m, size_t off, uint8_t v)
{
    size_t n = enc(f, m);
    f->buf[HL_HDR_LEN + off] = v;
    resign(f, n);
    f->rp = (struct hl_replay){ 0 };
    return dec(f, n);
}

static void bad_enums_hello(void **state)
{
    struct fx *f = *state;
    struct hl_msg m = hello_msg();
    assert_int_equal(poke(f, &m, 0, 0), HL_E_MALFORMED);  /* role */
    assert_int_equal(poke(f, &m, 0, 4), HL_E_MALFORMED);
    assert_int_equal(poke(f, &m, 0, HA_ROLE_UNKNOWN), HL_OK);
    assert_int_equal(poke(f, &m, 1, 0), HL_E_MALFORMED);  /* status */
    assert_int_equal(poke(f, &m, 1, 7), HL_E_MALFORMED);
    assert_int_equal(poke(f, &m, 2, 0), HL_E_MALFORMED);  /* listener */
    assert_int_equal(poke(f, &m, 2, 4), HL_E_MALFORMED);
    assert_int_equal(poke(f, &m, 3, 0), HL_E_MALFORMED);  /* arbiter */
    assert_int_equal(poke(f, &m, 3, 4), HL_E_MALFORMED);
    assert_int_equal(poke(f, &m, 4, 0x20), HL_E_MALFORMED); /* unknown option bit */
    assert_int_equal(poke(f, &m, 5, 0x08), HL_E_MALFORMED); /* unknown flag bit */
    assert_int_equal(poke(f, &m, 33, 0xff), HL_OK);       /* period 0x01ff: fine */
    assert_int_equal(poke(f, &m, 32, 0), HL_E_MALFORMED); /* period 0x0100 -> 0: none */
    assert_int_equal(poke(f, &m, 35, 1), HL_E_MALFORMED); /* reserved bytes not zero */
    assert_int_equal(poke(f, &m, 7, 3), HL_E_MALFORMED);  /* backoff factor 3 */
    assert_int_equal(poke(f, &m, 6, 1), HL_E_MALFORMED);  /* backoff factor 0x102 */
    assert_int_equal(poke(f, &m, 7, 0), HL_OK);           /* 0 = not reported */
    m.u.hello.ps.status = (enum ha_status)0; /* the encoder refuses what the decoder would */
    assert_int_equal(hl_encode(&f->auth, &m, f->buf, sizeof(f->buf)), 0);
}

static void bad_enums_takeover(void **state)
{
    struct fx *f = *state;
    struct hl_msg m = takeover_msg();
    assert_int_equal(poke(f, &m, 12, 0), HL_E_MALFORMED);  /* reason */
    assert_int_equal(poke(f, &m, 12, HA_REASON_SHUTDOWN + 1), HL_E_MALFORMED);
    assert_int_equal(poke(f, &m, 11, 0), HL_E_MALFORMED);  /* factor 0 */
    assert_int_equal(poke(f, &m, 11, 3), HL_E_MALFORMED);  /* factor 3 */
    assert_int_equal(poke(f, &m, 13, 2), HL_E_MALFORMED);  /* unknown flag */
    assert_int_equal(poke(f, &m, 3, 0), HL_E_MALFORMED);   /* message id 0 */
    m = (struct hl_msg){ .h = { HL_RELEASE, PEER, SELF, 1, 1 }, .u.msg.id = 1 };
    assert_int_equal(poke(f, &m, 3, 0), HL_E_MALFORMED);   /* release id 0 */
    m.u.msg.id = 0;
    assert_int_equal(hl_encode(&f->auth, &m, f->buf, sizeof(f->buf)), 0);
}

/* Body offset of the length of string `field` of row 0 of m. */
static size_t str_len_at(const struct hl_msg *m, enum hl_field field)
{
    size_t off = HL_CDATA_FIXED + 22;
    for (int g = 0; g < (int)field; g++)
        off += 2 + m->u.cdata.rows[0].len[g];
    return off;
}

static void strings_with_nul(void **state)
{
    struct fx *f = *state;
    struct hl_msg m = cdata_msg();
    static const char nul[] = "sip:a\0b@c";
    assert_int_equal(str_len_at(&m, HL_F_AOR), HL_CDATA_FIXED + 22);
    for (int g = 0; g < HL_F_COUNT; g++) {
        assert_true(m.u.cdata.rows[0].len[g] > 3);
        size_t at = str_len_at(&m, (enum hl_field)g) + 2 + 3; /* the 4th byte of the string */
        assert_int_equal(poke(f, &m, at, 0), HL_E_MALFORMED);
        assert_int_equal(poke(f, &m, at, 'x'), HL_OK);
        struct hl_msg bad = m;
        bad.u.cdata.rows[0].str[g] = nul;
        bad.u.cdata.rows[0].len[g] = sizeof(nul) - 1;
        assert_int_equal(hl_encode(&f->auth, &bad, f->buf, sizeof(f->buf)), 0);
    }
}

static void bad_rows(void **state)
{
    struct fx *f = *state;
    struct hl_msg m = cdata_msg();
    size_t len_at = HL_CDATA_FIXED + 22; /* the AOR length of row 0 */
    assert_int_equal(poke(f, &m, len_at, 1), HL_E_MALFORMED);   /* AOR length 256+ */
    /* the path's length 512+ (its high byte 2) */
    assert_int_equal(poke(f, &m, str_len_at(&m, HL_F_PATH), 2), HL_E_MALFORMED);
    assert_int_equal(poke(f, &m, 13, 4), HL_E_MALFORMED);       /* n = 4: rows missing */
    assert_int_equal(poke(f, &m, 13, 2), HL_E_MALFORMED);       /* n = 2: bytes left over */
    assert_int_equal(poke(f, &m, 14, 4), HL_E_MALFORMED);       /* unknown flag */
    assert_int_equal(poke(f, &m, 14, 3), HL_E_MALFORMED);       /* too old, with rows */
    assert_int_equal(poke(f, &m, 11, 30), HL_E_MALFORMED);      /* last_row < a row */
    assert_int_equal(poke(f, &m, 7, 11), HL_E_MALFORMED);       /* row <= after_row */
    assert_int_equal(poke(f, &m, HL_CDATA_FIXED + 3, 40), HL_E_MALFORMED); /* not increasing */
    /* not the end and no progress */
    m = (struct hl_msg){ .h = { HL_CONTACT_DATA, PEER, SELF, 1, 1 },
                         .u.cdata = { .after_row = 5, .last_row = 5, .end = true } };
    assert_int_equal(poke(f, &m, 14, 1), HL_OK);
    assert_int_equal(poke(f, &m, 14, 0), HL_E_MALFORMED);
    m.u.cdata.end = false;
    assert_int_equal(hl_encode(&f->auth, &m, f->buf, sizeof(f->buf)), 0);
}

static void trailing_bytes(void **state)
{
    struct fx *f = *state;
    struct hl_msg m = cdata_msg();
    size_t n = enc(f, &m);
    size_t blen = n - HL_HDR_LEN - HL_MAC_LEN;
    f->buf[HL_HDR_LEN + blen] = 'x'; /* one byte after the last row, inside the body */
    f->rp = (struct hl_replay){ 0 };
    assert_int_equal(dec(f, set_body_len(f, blen + 1)), HL_E_MALFORMED);
    m = (struct hl_msg){ .h = { HL_CONTACT_REQ, PEER, SELF, 1, 1 } };
    enc(f, &m);
    assert_int_equal(dec(f, set_body_len(f, HL_CREQ_LEN + 1)), HL_E_LENGTH);
}

/* Builds a CONTACT_DATA of one row (after_row 0, last_row 1, end) whose strings have
 * the lengths given, by hand (the encoder would refuse what this may hold), signed. */
static size_t raw_one_row(struct fx *f, const size_t len[HL_F_COUNT], uint16_t q)
{
    uint8_t *b = f->buf + HL_HDR_LEN;
    size_t off = HL_CDATA_FIXED;
    memset(f->buf, 0, HL_HDR_LEN + HL_CDATA_FIXED + HL_ROW_FIXED);
    f->buf[0] = HL_VERSION;
    f->buf[1] = HL_CONTACT_DATA;
    f->buf[5] = PEER;
    f->buf[7] = SELF;
    f->buf[15] = 1; /* session 1 */
    f->buf[23] = 1; /* sequence 1 */
    b[11] = 1;      /* last_row 1 */
    b[13] = 1;      /* one row */
    b[14] = 1;      /* end */
    b[off + 3] = 1; /* row 1 */
    b[off + 7] = 60;
    b[off + 8] = (uint8_t)(q >> 8);
    b[off + 9] = (uint8_t)q;
    off += 22;
    for (int g = 0; g < HL_F_COUNT; g++) {
        assert_true(off + 2 + len[g] <= HL_MAX_BODY);
        b[off] = (uint8_t)(len[g] >> 8);
        b[off + 1] = (uint8_t)len[g];
        memset(b + off + 2, 'a' + g, len[g]);
        off += 2 + len[g];
    }
    f->rp = (struct hl_replay){ 0 };
    return set_body_len(f, off);
}

/* Each string at its maximum travels; one byte more is refused by the encoder and by
 * the decoder. AOR and URI must not be empty. */
static void string_limits(void **state)
{
    struct fx *f = *state;
    struct hl_msg m = { .h = { HL_CONTACT_DATA, PEER, SELF, 1, 1 },
                        .u.cdata = { .last_row = 1, .end = true, .n = 1 } };
    assert_int_equal(hl_str_max[HL_F_AOR], 255);
    assert_int_equal(hl_str_max[HL_F_URI], 255);
    assert_int_equal(hl_str_max[HL_F_PATH], 511);
    assert_int_equal(hl_str_max[HL_F_RECEIVED], 127);
    assert_int_equal(hl_str_max[HL_F_SOCKET], 95);
    for (int g = 0; g < HL_F_COUNT; g++) {
        size_t len[HL_F_COUNT] = { 1, 1, 0, 0, 0 };
        /* encoder: max travels, max + 1 does not */
        (void)longest_row(1); /* fills long_text */
        struct hl_row r = { .row = 1, .expiry_s = 60, .q = HL_Q_UNSET };
        set_str(&r, HL_F_AOR, "a");
        set_str(&r, HL_F_URI, "u");
        r.str[g] = long_text;
        r.len[g] = hl_str_max[g];
        m.u.cdata.rows[0] = r;
        f->rp = (struct hl_replay){ 0 };
        assert_int_equal(dec(f, enc(f, &m)), HL_OK);
        assert_row_equal(&f->out.u.cdata.rows[0], &r);
        m.u.cdata.rows[0].len[g]++;
        assert_int_equal(hl_encode(&f->auth, &m, f->buf, sizeof(f->buf)), 0);
        /* decoder, by hand */
        len[g] = hl_str_max[g];
        assert_int_equal(dec(f, raw_one_row(f, len, 0xffff)), HL_OK);
        assert_int_equal(f->out.u.cdata.rows[0].len[g], hl_str_max[g]);
        len[g]++;
        assert_int_equal(dec(f, raw_one_row(f, len, 0xffff)), HL_E_MALFORMED);
    }
    /* an empty AOR or URI: refused both ways */
    size_t no_aor[HL_F_COUNT] = { 0, 1, 0, 0, 0 }, no_uri[HL_F_COUNT] = { 1, 0, 0, 0, 0 };
    size_t both[HL_F_COUNT] = { 1, 1, 0, 0, 0 };
    assert_int_equal(dec(f, raw_one_row(f, both, 0xffff)), HL_OK);
    assert_int_equal(dec(f, raw_one_row(f, no_aor, 0xffff)), HL_E_MALFORMED);
    assert_int_equal(dec(f, raw_one_row(f, no_uri, 0xffff)), HL_E_MALFORMED);
    m.u.cdata.rows[0] = (struct hl_row){ .row = 1, .expiry_s = 60 };
    set_str(&m.u.cdata.rows[0], HL_F_URI, "u");
    assert_int_equal(hl_encode(&f->auth, &m, f->buf, sizeof(f->buf)), 0);
    m.u.cdata.rows[0] = (struct hl_row){ .row = 1, .expiry_s = 60 };
    set_str(&m.u.cdata.rows[0], HL_F_AOR, "a");
    assert_int_equal(hl_encode(&f->auth, &m, f->buf, sizeof(f->buf)), 0);
}

/* q, flags, cflags, methods and expiry survive at their extremes; q outside -1..1000 is
 * refused both ways. */
static void every_field_round_trips(void **state)
{
    struct fx *f = *state;
    static const int16_t qs[] = { HL_Q_UNSET, 0, 1, 500, 999, 1000 };
    static const uint32_t words[] = { 0, 1, 0x80000000u, 0x7fffffffu, UINT32_MAX };
    static const char *const strs[HL_F_COUNT] = { "sip:q@example.com", "sip:q@10.0.0.9" };
    struct hl_msg m = { .h = { HL_CONTACT_DATA, PEER, SELF, 1, 1 },
                        .u.cdata = { .gen = UINT32_MAX, .after_row = 0, .end = false } };
    struct hl_cdata *c = &m.u.cdata;
    for (size_t i = 0; i < sizeof(qs) / sizeof(qs[0]); i++)
        for (size_t w = 0; w < sizeof(words) / sizeof(words[0]); w++) {
            size_t nw = sizeof(words) / sizeof(words[0]);
            uint32_t x = words[w], y = words[(w + 1) % nw], z = words[(w + 2) % nw];
            c->rows[0] = make_row(100 + (uint32_t)w, x, qs[i], x, y, z, strs);
            c->n = 1;
            c->last_row = c->rows[0].row;
            f->rp = (struct hl_replay){ 0 };
            assert_int_equal(dec(f, enc(f, &m)), HL_OK);
            assert_int_equal(f->out.u.cdata.gen, UINT32_MAX);
            assert_false(f->out.u.cdata.end);
            assert_row_equal(&f->out.u.cdata.rows[0], &c->rows[0]);
        }
    /* every string at its maximum, in one row */
    c->rows[0] = longest_row(UINT32_MAX);
    c->last_row = UINT32_MAX;
    c->end = true;
    f->rp = (struct hl_replay){ 0 };
    size_t n = enc(f, &m);
    write_seed("contact_data_longest.bin", f->buf, n);
    assert_int_equal(dec(f, n), HL_OK);
    assert_row_equal(&f->out.u.cdata.rows[0], &c->rows[0]);

    /* q out of range */
    c->rows[0] = make_row(1, 60, -2, 0, 0, 0, strs);
    c->last_row = 1;
    assert_int_equal(hl_encode(&f->auth, &m, f->buf, sizeof(f->buf)), 0);
    c->rows[0].q = 1001;
    assert_int_equal(hl_encode(&f->auth, &m, f->buf, sizeof(f->buf)), 0);
    c->rows[0].q = INT16_MIN;
    assert_int_equal(hl_encode(&f->auth, &m, f->buf, sizeof(f->buf)), 0);
    size_t len[HL_F_COUNT] = { 1, 1, 0, 0, 0 };
    assert_int_equal(dec(f, raw_one_row(f, len, 0xffff)), HL_OK);  /* -1 */
    assert_int_equal(f->out.u.cdata.rows[0].q, HL_Q_UNSET);
    assert_int_equal(dec(f, raw_one_row(f, len, 1000)), HL_OK);
    assert_int_equal(f->out.u.cdata.rows[0].q, 1000);
    assert_int_equal(dec(f, raw_one_row(f, len, 0)), HL_OK);
    assert_int_equal(dec(f, raw_one_row(f, len, 0xfffe)), HL_E_MALFORMED); /* -2 */
    assert_int_equal(dec(f, raw_one_row(f, len, 1001)), HL_E_MALFORMED);
    assert_int_equal(dec(f, raw_one_row(f, len, 0x8000)), HL_E_MALFORMED);
    assert_int_equal(dec(f, raw_one_row(f, len, 0x7fff)), HL_E_MALFORMED);
    /* the same through poke on a signed message: q of row 0 at body offset 15 + 8 */
    m = cdata_msg();
    assert_int_equal(poke(f, &m, HL_CDATA_FIXED + 8, 0x04), HL_E_MALFORMED); /* 0x04e8 */
    assert_int_equal(poke(f, &m, HL_CDATA_FIXED + 9, 0xe9), HL_E_MALFORMED); /* 1001 */
    assert_int_equal(poke(f, &m, HL_CDATA_FIXED + 9, 0xe7), HL_OK);          /* 999 */
}

/* A removal (expiry 0, AOR and URI only) travels like any row. */
static void removal_row(void **state)
{
    struct fx *f = *state;
    static const char *const strs[HL_F_COUNT] = { "sip:gone@example.com", "sip:gone@10.0.0.7" };
    struct hl_msg m = { .h = { HL_CONTACT_DATA, PEER, SELF, 1, 1 },
                        .u.cdata = { .gen = 9, .after_row = 40, .last_row = 42, .n = 2,
                                     .end = true } };
    m.u.cdata.rows[0] = make_row(41, 0, HL_Q_UNSET, 0, 0, 0, strs);
    m.u.cdata.rows[1] = make_row(42, 30, 700, 2, 0, 0x1f, strs);
    size_t n = enc(f, &m);
    write_seed("contact_data_removal.bin", f->buf, n);
    assert_int_equal(dec(f, n), HL_OK);
    assert_int_equal(f->out.u.cdata.n, 2);
    assert_int_equal(f->out.u.cdata.rows[0].expiry_s, 0);
    assert_row_equal(&f->out.u.cdata.rows[0], &m.u.cdata.rows[0]);
    assert_row_equal(&f->out.u.cdata.rows[1], &m.u.cdata.rows[1]);
}

/* "too old": only with no rows, the end flag and last_row == after_row. */
static void too_old_flag(void **state)
{
    struct fx *f = *state;
    struct hl_msg m = { .h = { HL_CONTACT_DATA, PEER, SELF, 1, 1 },
                        .u.cdata = { .gen = 12, .after_row = 7, .last_row = 7, .end = true,
                                     .too_old = true } };
    size_t n = enc(f, &m);
    assert_int_equal(n, HL_HDR_LEN + HL_CDATA_FIXED + HL_MAC_LEN);
    write_seed("contact_data_too_old.bin", f->buf, n);
    assert_int_equal(dec(f, n), HL_OK);
    assert_true(f->out.u.cdata.too_old);
    assert_true(f->out.u.cdata.end);
    assert_int_equal(f->out.u.cdata.n, 0);
    assert_int_equal(f->out.u.cdata.after_row, 7);
    assert_int_equal(f->out.u.cdata.last_row, 7);
    assert_int_equal(f->out.u.cdata.gen, 12);
    assert_int_equal(poke(f, &m, 14, 0x02), HL_E_MALFORMED); /* too old, not the end */
    assert_int_equal(poke(f, &m, 14, 0x01), HL_OK);          /* a plain empty end */
    assert_false(f->out.u.cdata.too_old);
    assert_int_equal(poke(f, &m, 14, 0x07), HL_E_MALFORMED); /* an unknown bit besides */
    assert_int_equal(poke(f, &m, 14, 0x83), HL_E_MALFORMED);

    /* too old with a row */
    struct hl_msg r = cdata_msg();
    r.u.cdata.too_old = true;
    assert_int_equal(hl_encode(&f->auth, &r, f->buf, sizeof(f->buf)), 0);
    r.u.cdata.too_old = false;
    assert_int_equal(poke(f, &r, 14, 0x03), HL_E_MALFORMED);
    /* too old, no rows, the end, but last_row past after_row */
    m.u.cdata.last_row = 9;
    assert_int_equal(hl_encode(&f->auth, &m, f->buf, sizeof(f->buf)), 0);
    m.u.cdata.too_old = false;
    assert_int_equal(poke(f, &m, 14, 0x01), HL_OK); /* rows skipped: fine without the flag */
    assert_int_equal(poke(f, &m, 14, 0x03), HL_E_MALFORMED);
    /* too old, no rows, not the end, last_row past after_row */
    m.u.cdata.end = false;
    m.u.cdata.too_old = true;
    assert_int_equal(hl_encode(&f->auth, &m, f->buf, sizeof(f->buf)), 0);
    m.u.cdata.too_old = false;
    assert_int_equal(poke(f, &m, 14, 0x00), HL_OK);
    assert_int_equal(poke(f, &m, 14, 0x02), HL_E_MALFORMED);
    /* not the end and no progress, too old or not */
    m.u.cdata.last_row = 7;
    assert_int_equal(hl_encode(&f->auth, &m, f->buf, sizeof(f->buf)), 0);
    m.u.cdata.too_old = true;
    assert_int_equal(hl_encode(&f->auth, &m, f->buf, sizeof(f->buf)), 0);
}

/* Flag bits other than end and too old are malformed, alone or with the known ones. */
static void unknown_cdata_flags(void **state)
{
    struct fx *f = *state;
    struct hl_msg m = cdata_msg();
    for (unsigned bit = 2; bit < 8; bit++) {
        assert_int_equal(poke(f, &m, 14, (uint8_t)(1u << bit)), HL_E_MALFORMED);
        assert_int_equal(poke(f, &m, 14, (uint8_t)((1u << bit) | 1u)), HL_E_MALFORMED);
    }
    assert_int_equal(poke(f, &m, 14, 0x01), HL_OK);
}

/* A body cut anywhere inside its rows (length field consistent, re-signed) is
 * malformed, never read past. */
static void cut_rows_at_every_byte(void **state)
{
    struct fx *f = *state;
    struct hl_msg m = cdata_msg();
    size_t n = enc(f, &m);
    size_t blen = n - HL_HDR_LEN - HL_MAC_LEN;
    uint8_t body[HL_MAX_BODY];
    memcpy(body, f->buf + HL_HDR_LEN, blen);
    for (size_t cut = HL_CDATA_FIXED; cut < blen; cut++) {
        memcpy(f->buf + HL_HDR_LEN, body, blen);
        f->rp = (struct hl_replay){ 0 };
        assert_int_equal(dec(f, set_body_len(f, cut)), HL_E_MALFORMED);
    }
    memcpy(f->buf + HL_HDR_LEN, body, blen);
    f->rp = (struct hl_replay){ 0 };
    assert_int_equal(dec(f, set_body_len(f, blen)), HL_OK);
}

/* Every seed of the fuzzer's corpus is a valid datagram of today's layout (a seed
 * the decoder refuses would start the fuzzer from the reject paths only). The tree
 * is $SIPHA_SRC (tests/run-unit.sh sets it), else the current directory. */
static void corpus_seeds_decode(void **state)
{
    struct fx *f = *state;
    const char *src = getenv("SIPHA_SRC");
    char dir[512], path[1024];
    snprintf(dir, sizeof(dir), "%s/tests/fuzz/corpus-hl_wire", src ? src : ".");
    DIR *d = opendir(dir);
    if (!d)
        skip();
    int seeds = 0, cdata = 0;
    for (struct dirent *e; (e = readdir(d));) {
        if (e->d_name[0] == '.')
            continue;
        snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        FILE *fp = fopen(path, "rb");
        assert_non_null(fp);
        size_t n = fread(f->buf, 1, sizeof(f->buf), fp);
        fclose(fp);
        f->rp = (struct hl_replay){ 0 };
        enum hl_err err = dec(f, n);
        if (err != HL_OK)
            fail_msg("seed %s: %s", e->d_name, hl_strerror(err));
        seeds++;
        cdata += f->out.h.type == HL_CONTACT_DATA && (f->out.u.cdata.n > 0 || f->out.u.cdata.too_old);
    }
    closedir(d);
    assert_true(seeds >= 5);
    assert_true(cdata >= 2);
}

static void strerror_names(void **state)
{
    (void)state;
    for (int e = 0; e < HL_E_COUNT; e++)
        assert_non_null(hl_strerror((enum hl_err)e));
    assert_string_equal(hl_strerror(HL_E_REPLAY), "replay");
    assert_string_equal(hl_strerror(HL_E_COUNT), "unknown");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(full_cdata_fits, setup, teardown),
        cmocka_unit_test_setup_teardown(most_rows_fit, setup, teardown),
        cmocka_unit_test_setup_teardown(string_limits, setup, teardown),
        cmocka_unit_test_setup_teardown(every_field_round_trips, setup, teardown),
        cmocka_unit_test_setup_teardown(removal_row, setup, teardown),
        cmocka_unit_test_setup_teardown(too_old_flag, setup, teardown),
        cmocka_unit_test_setup_teardown(unknown_cdata_flags, setup, teardown),
        cmocka_unit_test_setup_teardown(cut_rows_at_every_byte, setup, teardown),
        cmocka_unit_test_setup_teardown(truncated_at_every_length, setup, teardown),
        cmocka_unit_test_setup_teardown(oversized, setup, teardown),
        cmocka_unit_test_setup_teardown(bad_version, setup, teardown),
        cmocka_unit_test_setup_teardown(bad_type, setup, teardown),
        cmocka_unit_test_setup_teardown(bad_length, setup, teardown),
        cmocka_unit_test_setup_teardown(wrong_index, setup, teardown),
        cmocka_unit_test_setup_teardown(auth_flipped_mac_bit, setup, teardown),
        cmocka_unit_test_setup_teardown(auth_wrong_key, setup, teardown),
        cmocka_unit_test_setup_teardown(replayed_seq, setup, teardown),
        cmocka_unit_test_setup_teardown(old_session, setup, teardown),
        cmocka_unit_test_setup_teardown(reject_changes_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(bad_enums_hello, setup, teardown),
        cmocka_unit_test_setup_teardown(bad_enums_takeover, setup, teardown),
        cmocka_unit_test_setup_teardown(strings_with_nul, setup, teardown),
        cmocka_unit_test_setup_teardown(bad_rows, setup, teardown),
        cmocka_unit_test_setup_teardown(trailing_bytes, setup, teardown),
        cmocka_unit_test_setup_teardown(corpus_seeds_decode, setup, teardown),
        cmocka_unit_test(strerror_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
