/* fuzz_etcd_wire.c — fuzz target for the etcd gateway reply parser (etcd/etcd_wire.c)
 * and the contact records kept in etcd (etcd/etcd_contact_codec.c).
 *
 * libFuzzer:   clang -g -O1 -fsanitize=fuzzer,address,undefined -Ietcd -Ibase \
 *                  tests/fuzz/fuzz_etcd_wire.c etcd/etcd_wire.c etcd/etcd_contact_codec.c \
 *                  base/errbuf.c -lyajl -o fuzz_etcd_wire
 *              ./fuzz_etcd_wire -max_total_time=60 tests/fuzz/corpus-etcd_wire
 * Plain build: linked with tests/fuzz/corpus_main.c (what `make check-fuzz` does).
 *
 * The first byte picks what the rest is: the reply of an operation (enum etcd_op), or,
 * one past the last operation, a contact record: its key, then (after a NUL byte, if
 * any) its value. Whatever parses must hold to the bounds: a NUL-terminated message
 * within its size, a value within ETCD_WIRE_VALUE_MAX and NUL-terminated, no value
 * without a present key; a range page of at most ETCD_WIRE_RANGE_LIMIT_MAX keys, each
 * within its bounds and NUL-terminated; a contact with an AOR and URI, no blank in the
 * AOR, a positive expiry and q in -1..1000, and written again and read back the same.
 * The seeds are etcd 3.4.23's replies (one per operation, error answers included) and
 * records as sipha writes them. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "etcd_contact_codec.h"
#include "etcd_wire.h"

#define DIR "/sipha/pair-1-2/contacts/"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
void fuzz_cleanup(void);

void fuzz_cleanup(void)
{
}

static bool same(const char *a, const char *b)
{
    return (!a || !*a) ? (!b || !*b) : (b && !strcmp(a, b));
}

static void check_range(const struct etcd_reply *r)
{
    if (r->n_items > ETCD_WIRE_RANGE_LIMIT_MAX || (r->n_items && !r->items) || r->count < 0)
        abort();
    for (size_t i = 0; i < r->n_items; i++) {
        const struct etcd_item *it = &r->items[i];
        if (!it->key_len || it->key_len > ETCD_WIRE_ITEM_KEY_MAX || it->key[it->key_len] ||
            it->value_len > ETCD_WIRE_ITEM_VALUE_MAX || it->value[it->value_len])
            abort();
    }
}

static struct etcd_contact_rec rec, again;

static void check_contact(const uint8_t *data, size_t size)
{
    const uint8_t *nul = memchr(data, '\0', size);
    size_t klen = nul ? (size_t)(nul - data) : size;
    const unsigned char *value = nul ? nul + 1 : NULL;
    size_t vlen = nul ? size - klen - 1 : 0;
    char err[160];
    if (etcd_contact_decode(DIR, data, klen, value, vlen, &rec, err, sizeof err) != 0) {
        if (!memchr(err, '\0', sizeof err) || !err[0])
            abort();
        return;
    }
    const struct etcd_contact *c = &rec.c;
    if (!c->aor || !*c->aor || !c->uri || !*c->uri || strchr(c->aor, ' ') ||
        (value && c->expires <= 0) || c->q < -1 || c->q > 1000)
        abort();
    /* the key written again is the one read (when it is one sipha writes) */
    char key[ETCD_WIRE_ITEM_KEY_MAX + 1], val[ETCD_WIRE_ITEM_VALUE_MAX + 1];
    int kn = etcd_contact_key(key, sizeof key, DIR, c->aor, c->uri);
    if (kn >= 0 && ((size_t)kn != klen || memcmp(key, data, klen)))
        abort();
    if (!value)
        return;
    /* the value written again reads back the same */
    int vn = etcd_contact_value(val, sizeof val, c);
    if (vn < 0)
        return; /* longer once written (escapes), or not UTF-8 */
    if (etcd_contact_decode(DIR, data, klen, (const unsigned char *)val, (size_t)vn, &again,
                            err, sizeof err) != 0)
        abort();
    const struct etcd_contact *d = &again.c;
    if (d->expires != c->expires || d->q != c->q || d->flags != c->flags ||
        d->cflags != c->cflags || d->methods != c->methods || !same(d->path, c->path) ||
        !same(d->received, c->received) || !same(d->socket, c->socket))
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    unsigned pick = data[0] % (ETCD_OP_LAST + 2);
    if (pick == ETCD_OP_LAST + 1) {
        check_contact(data + 1, size - 1);
        return 0;
    }
    enum etcd_op op = (enum etcd_op)pick;
    struct etcd_reply r;
    char err[160];
    if (etcd_wire_parse(op, (const char *)data + 1, size - 1, &r, err, sizeof err) != 0) {
        if (!memchr(err, '\0', sizeof err) || !err[0])
            abort();
        return 0;
    }
    if (!memchr(r.message, '\0', sizeof r.message))
        abort();
    if (r.kv.value_len > ETCD_WIRE_VALUE_MAX || r.kv.value[r.kv.value_len] != '\0')
        abort();
    if (!r.kv.present && r.kv.value_len)
        abort();
    if (op != ETCD_OP_RANGE && r.n_items)
        abort();
    check_range(&r);
    etcd_reply_free(&r);
    return 0;
}
