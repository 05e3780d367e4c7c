/* fuzz_etcd_wire.c — fuzz target for the etcd gateway reply parser (etcd/etcd_wire.c).
 *
 * libFuzzer:   clang -g -O1 -fsanitize=fuzzer,address,undefined -Ietcd -Ibase \
 *                  tests/fuzz/fuzz_etcd_wire.c etcd/etcd_wire.c base/errbuf.c -lyajl \
 *                  -o fuzz_etcd_wire
 *              ./fuzz_etcd_wire -max_total_time=60 tests/fuzz/corpus-etcd_wire
 * Plain build: linked with tests/fuzz/corpus_main.c (what `make check-fuzz` does).
 *
 * The first byte picks the operation whose reply the rest is parsed as. Whatever
 * parses must hold to the reply's bounds: a NUL-terminated message within its size, a
 * value within ETCD_WIRE_VALUE_MAX and NUL-terminated, no value without a present key.
 * The seeds are etcd 3.4.23's replies (one per operation, error answers included). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "etcd_wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
void fuzz_cleanup(void);

void fuzz_cleanup(void)
{
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    enum etcd_op op = (enum etcd_op)(data[0] % (ETCD_OP_READ + 1));
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
    return 0;
}
