/* The HA link codec: every type survives a round trip, and every reject reason is
 * reported for what causes it, without touching the replay state.
 *
 * The MAC of hand-made datagrams is computed here with OpenSSL's one-shot HMAC(), a
 * second path to the same HMAC-SHA-256 than the codec's EVP_MAC context.
 * With SIPHA_WRITE_CORPUS=DIR set, the valid datagrams of round_trip are also
 * written to DIR (the seed corpus of tests/fuzz/fuzz_hl_wire.c). */
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

static struct hl_msg cdata_msg(void)
{
    static const char *const aor[] = { "sip:alice@example.com", "", "sip:carol@example.com" };
    static const char *const uri[] = { "sip:alice@10.0.0.1:5060", "sip:x@y", "" };
    struct hl_msg m = { .h = { HL_CONTACT_DATA, PEER, SELF, 1000, 5 } };
    struct hl_cdata *c = &m.u.cdata;
    c->gen = 3;
    c->after_row = 10;
    c->last_row = 40;
    c->end = true;
    c->n = 3;
    for (size_t i = 0; i < 3; i++)
        c->rows[i] = (struct hl_row){ .row = 11 + 10 * (uint32_t)i, .expiry_s = 3600 + (uint32_t)i,
                                      .aor = aor[i], .uri = uri[i],
                                      .aor_len = (uint16_t)strlen(aor[i]),
                                      .uri_len = (uint16_t)strlen(uri[i]) };
    return m;
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
    assert_int_equal(c->n, 3);
    for (size_t i = 0; i < 3; i++) {
        assert_int_equal(c->rows[i].row, m.u.cdata.rows[i].row);
        assert_int_equal(c->rows[i].expiry_s, m.u.cdata.rows[i].expiry_s);
        assert_int_equal(c->rows[i].aor_len, m.u.cdata.rows[i].aor_len);
        assert_int_equal(c->rows[i].uri_len, m.u.cdata.rows[i].uri_len);
        assert_memory_equal(c->rows[i].aor, m.u.cdata.rows[i].aor, c->rows[i].aor_len);
        assert_memory_equal(c->rows[i].uri, m.u.cdata.rows[i].uri, c->rows[i].uri_len);
    }
}

/* A CONTACT_DATA filled to the limit: the biggest datagram is still <= 1400 bytes. */
static void full_cdata_fits(void **state)
{
    struct fx *f = *state;
    static char s[HL_STR_MAX + 1];
    memset(s, 'a', HL_STR_MAX);
    struct hl_msg m = { .h = { HL_CONTACT_DATA, PEER, SELF, 1, 1 } };
    struct hl_cdata *c = &m.u.cdata;
    size_t room = HL_MAX_BODY - HL_CDATA_FIXED;
    while (room >= hl_row_len(HL_STR_MAX, HL_STR_MAX)) {
        c->rows[c->n] = (struct hl_row){ .row = (uint32_t)c->n + 1, .aor = s, .uri = s,
                                         .aor_len = HL_STR_MAX, .uri_len = HL_STR_MAX };
        c->n++;
        room -= hl_row_len(HL_STR_MAX, HL_STR_MAX);
    }
    c->last_row = (uint32_t)c->n;
    size_t n = enc(f, &m);
    assert_true(n <= HL_MAX_DGRAM);
    assert_int_equal(dec(f, n), HL_OK);
    assert_int_equal(f->out.u.cdata.n, c->n);
    /* one more row does not fit: the encoder refuses rather than overflow */
    c->rows[c->n] = (struct hl_row){ .row = (uint32_t)c->n + 1, .aor = s, .uri = s,
                                     .aor_len = HL_STR_MAX, .uri_len = HL_STR_MAX };
    c->n++;
    c->last_row++;
    assert_int_equal(hl_encode(&f->auth, &m, f->buf, sizeof(f->buf)), 0);
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

/* CONTACT_DATA body offsets: gen 0, after_row 4, last_row 8, n 12, flags 14,
 * rows from 15: row, expiry, aor_len, aor, uri_len, uri. */
static void strings_with_nul(void **state)
{
    struct fx *f = *state;
    struct hl_msg m = cdata_msg();
    assert_int_equal(poke(f, &m, HL_CDATA_FIXED + 10 + 3, 0), HL_E_MALFORMED); /* in aor */
    size_t uri_at = HL_CDATA_FIXED + 10 + m.u.cdata.rows[0].aor_len + 2;
    assert_int_equal(poke(f, &m, uri_at, 0), HL_E_MALFORMED);                   /* in uri */
    static const char nul[] = "sip:a\0b@c";
    m.u.cdata.rows[0].aor = nul;
    m.u.cdata.rows[0].aor_len = sizeof(nul) - 1;
    assert_int_equal(hl_encode(&f->auth, &m, f->buf, sizeof(f->buf)), 0);
}

static void bad_rows(void **state)
{
    struct fx *f = *state;
    struct hl_msg m = cdata_msg();
    size_t len_at = HL_CDATA_FIXED + 8; /* aor_len of row 0 */
    assert_int_equal(poke(f, &m, len_at, 1), HL_E_MALFORMED);   /* aor_len 256+ */
    assert_int_equal(poke(f, &m, 13, 4), HL_E_MALFORMED);       /* n = 4: rows missing */
    assert_int_equal(poke(f, &m, 13, 2), HL_E_MALFORMED);       /* n = 2: bytes left over */
    assert_int_equal(poke(f, &m, 14, 2), HL_E_MALFORMED);       /* unknown flag */
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
        cmocka_unit_test(strerror_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
