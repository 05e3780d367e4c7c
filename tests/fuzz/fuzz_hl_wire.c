/* fuzz_hl_wire.c — fuzz target for the HA link codec (halink/hl_wire.c).
 *
 * libFuzzer:   clang -g -O1 -fsanitize=fuzzer,address,undefined \
 *                  -Ihalink -Iengine -Itrapgen tests/fuzz/fuzz_hl_wire.c halink/hl_wire.c \
 *                  -lcrypto -o fuzz_hl_wire
 *              ./fuzz_hl_wire -max_total_time=60 tests/fuzz/corpus-hl_wire
 * Plain build: linked with tests/fuzz/corpus_main.c (what `make check-fuzz` does), a
 *              program that runs every file of the directories (or files) named on its
 *              command line once.
 *
 * A mutated datagram almost never carries a valid HMAC, so each input is decoded
 * twice: as it is (the checks before and at the MAC), and re-signed with the test
 * key (the body parser, reached as by an authentic peer). Whatever decodes must
 * re-encode to the same bytes, and decode again to the same result. The seed corpus
 * (valid datagrams of every type, signed with the key below, sender 1, receiver 2;
 * CONTACT_DATA with rows of every field, the longest row, the most rows, a removal and a
 * "too old" answer) is written by SIPHA_WRITE_CORPUS=DIR build/tests/test_hl_wire. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "hl_wire.h"

#define SELF 2u
#define PEER 1u
static const char key_text[] = "fuzz-key-0123456789abcdef"; /* as in test_hl_wire.c */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct hl_auth *auth(void)
{
    static struct hl_auth a;
    static int ready;
    if (!ready) {
        if (hl_auth_init(&a, (const uint8_t *)key_text, strlen(key_text)) != 0)
            abort();
        ready = 1;
    }
    return &a;
}

/* What the decoder accepted keeps the promises of hl_wire.h. Every byte of every string
 * is read here, so ASan reports a string that points past the datagram. */
static void check_cdata(const struct hl_cdata *c, const uint8_t *buf, size_t len)
{
    if (c->n > HL_MAX_ROWS || c->last_row < c->after_row)
        abort();
    if (c->too_old && (c->n || !c->end || c->last_row != c->after_row))
        abort();
    uint32_t prev = c->after_row;
    for (size_t i = 0; i < c->n; i++) {
        const struct hl_row *r = &c->rows[i];
        if (r->row <= prev || r->row > c->last_row || r->q < HL_Q_UNSET || r->q > 1000 ||
            r->len[HL_F_AOR] == 0 || r->len[HL_F_URI] == 0)
            abort();
        prev = r->row;
        for (int f = 0; f < HL_F_COUNT; f++) {
            const uint8_t *s = (const uint8_t *)r->str[f];
            if (r->len[f] > hl_str_max[f])
                abort();
            if (r->len[f] == 0)
                continue;
            if (!s || s < buf + HL_HDR_LEN || s + r->len[f] > buf + len - HL_MAC_LEN)
                abort();
            for (size_t k = 0; k < r->len[f]; k++) /* every byte read */
                if (s[k] == 0)
                    abort();
        }
    }
}

/* Every decoded message re-encodes to the very bytes it came from. */
static void check_round_trip(const struct hl_msg *m, const uint8_t *buf, size_t len)
{
    static uint8_t again[HL_MAX_DGRAM];
    static struct hl_msg m2;
    size_t n = hl_encode(auth(), m, again, sizeof(again));
    if (n != len || memcmp(again, buf, len) != 0)
        abort();
    struct hl_replay rp = { 0 };
    if (hl_decode(auth(), &rp, SELF, PEER, again, n, &m2) != HL_OK || m2.h.type != m->h.type ||
        m2.h.seq != m->h.seq || m2.h.session != m->h.session)
        abort();
    if (m->h.type == HL_CONTACT_DATA)
        check_cdata(&m->u.cdata, buf, len);
}

static void decode_one(const uint8_t *buf, size_t len)
{
    static struct hl_msg m;
    struct hl_replay rp = { 0 };
    enum hl_err e = hl_decode(auth(), &rp, SELF, PEER, buf, len, &m);
    if ((unsigned)e >= HL_E_COUNT || !hl_strerror(e))
        abort();
    if (e == HL_OK) {
        if (!rp.known || rp.seq != m.h.seq)
            abort();
        check_round_trip(&m, buf, len);
    } else if (rp.known) { /* a rejected datagram changed the replay state */
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    decode_one(data, size);
    if (size < HL_HDR_LEN + HL_MAC_LEN || size > HL_MAX_DGRAM)
        return 0;
    uint8_t *copy = malloc(size);
    if (!copy)
        return 0;
    memcpy(copy, data, size);
    unsigned int ml = 0;
    HMAC(EVP_sha256(), key_text, (int)strlen(key_text), copy, size - HL_MAC_LEN,
         copy + size - HL_MAC_LEN, &ml);
    decode_one(copy, size);
    free(copy);
    return 0;
}

/* For tests/fuzz/corpus_main.c, the plain driver. */
void fuzz_cleanup(void);
void fuzz_cleanup(void)
{
    hl_auth_free(auth());
}
