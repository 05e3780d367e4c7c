/* fuzz_sip_parse.c — fuzz target for the SIP parser.
 *
 * libFuzzer:   clang -g -O1 -fsanitize=fuzzer,address,undefined \
 *                  -Imonitors -Iagent -Iengine -Itrapgen \
 *                  tests/fuzz/fuzz_sip_parse.c monitors/sip_parse.c -o fuzz_sip_parse
 *              ./fuzz_sip_parse -max_total_time=60 tests/fuzz/corpus
 * Plain build: linked with tests/fuzz/corpus_main.c (what `make check-fuzz` does), a
 *              program that runs every file of the directories (or files) named on its
 *              command line once: ./fuzz_sip_parse tests/fuzz/corpus
 *
 * Beyond "does not crash", every successful parse is checked for what callers rely
 * on: each string lies inside the input, the values are in their ranges. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sip_parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_str(struct sip_str s, const char *buf, size_t size)
{
    if (s.len == 0)
        return;
    if (!s.p || s.p < buf || s.p + s.len > buf + size)
        abort();
}

static void check_msg(const struct sip_msg *m, const char *buf, size_t size)
{
    check_str(m->method, buf, size);
    check_str(m->uri, buf, size);
    check_str(m->reason, buf, size);
    check_str(m->via, buf, size);
    check_str(m->via_branch, buf, size);
    check_str(m->call_id, buf, size);
    check_str(m->cseq_method, buf, size);
    check_str(m->from, buf, size);
    check_str(m->to, buf, size);
    check_str(m->body, buf, size);
    if (m->is_request ? (m->method.len == 0 || m->uri.len == 0)
                      : (m->status < 100 || m->status > 699))
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *buf = (const char *)data;
    struct sip_msg m;
    int rc = sip_parse(&m, buf, size);
    if (rc == SIP_OK) {
        check_msg(&m, buf, size);
        if (m.via_count == 0 || m.call_id.len == 0 || m.cseq > 0x7fffffffu ||
            m.header_count > SIP_MAX_HEADERS ||
            (m.has_content_length && m.body.len != m.content_length))
            abort();
    } else if (rc > 0 || sip_strerror(rc) == NULL) {
        abort();
    }
    if (sip_parse_start_line(&m, buf, size) == SIP_OK)
        check_msg(&m, buf, size);
    return 0;
}

/* For tests/fuzz/corpus_main.c, the plain driver. */
void fuzz_cleanup(void);
void fuzz_cleanup(void)
{
}
