/* fuzz_ss_json.c — fuzz target for the Kamailio JSON-RPC codec (sipsrv/ss_json*.c).
 *
 * libFuzzer:   clang -g -O1 -fsanitize=fuzzer,address,undefined -Isipsrv -Ibase \
 *                  tests/fuzz/fuzz_ss_json.c sipsrv/ss_json*.c base/errbuf.c -lyajl \
 *                  -o fuzz_ss_json
 *              ./fuzz_ss_json -max_total_time=60 tests/fuzz/corpus-ss_json
 * Plain build: linked with tests/fuzz/corpus_main.c (what `make check-fuzz` does).
 *
 * Beyond "does not crash": the input read whole, cut in two at a point taken from the
 * input, and byte by byte gives the same verdict and the same contacts (the offset of a
 * fault may move by a token: where yajl stops depends on the cut); every contact
 * has its strings terminated inside their fields and its values in range, and turns into
 * an ul.add request that is well-formed JSON; tight limits end in a verdict too; the
 * same bytes read as an evapi hint give an AoR that fits or a reason. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <yajl/yajl_parse.h>

#include "ss_json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct seen {
    uint64_t n, hash;
};

static uint64_t mix(uint64_t h, const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++)
        h = (h ^ b[i]) * 1099511628211ull;
    return h;
}

static void check_str(const char *s, size_t cap)
{
    if (!memchr(s, '\0', cap))
        abort();
}

/* A request must be one whole JSON text. */
static void check_request(const char *req, int len)
{
    if (len <= 0 || (size_t)len != strlen(req))
        abort();
    yajl_handle y = yajl_alloc(NULL, NULL, NULL);
    if (!y)
        return;
    yajl_config(y, yajl_dont_validate_strings, 1);
    if (yajl_parse(y, (const unsigned char *)req, (size_t)len) != yajl_status_ok ||
        yajl_complete_parse(y) != yajl_status_ok)
        abort();
    yajl_free(y);
}

static int on_contact(void *arg, const struct ss_contact *c)
{
    struct seen *s = arg;
    check_str(c->aor, sizeof c->aor);
    check_str(c->uri, sizeof c->uri);
    check_str(c->path, sizeof c->path);
    check_str(c->received, sizeof c->received);
    check_str(c->socket, sizeof c->socket);
    check_str(c->user_agent, sizeof c->user_agent);
    if (!c->aor[0] || !c->uri[0] || (c->q != SS_Q_UNSET && (c->q < 0 || c->q > 1000)))
        abort();
    s->n++;
    const char *strs[] = { c->aor, c->uri, c->path, c->received, c->socket, c->user_agent };
    for (size_t i = 0; i < sizeof strs / sizeof strs[0]; i++)
        s->hash = mix(s->hash, strs[i], strlen(strs[i]) + 1);
    uint32_t nums[] = { c->expires_s, (uint32_t)c->q, c->flags, c->cflags, c->methods };
    s->hash = mix(s->hash, nums, sizeof nums);

    struct ss_contact a = *c;
    if (a.expires_s == 0 || (a.expires_s > INT32_MAX && a.expires_s != SS_EXPIRES_PERMANENT))
        a.expires_s = 1;
    static char req[SS_JSON_REQ_MAX];
    char err[128];
    check_request(req, ss_json_req_add(req, sizeof req, s->n, "location", &a, err, sizeof err));
    check_request(req, ss_json_req_rm_contact(req, sizeof req, s->n, "location", a.aor, a.uri));
    return 0;
}

/* Feeds data in pieces: the first `first` bytes, then `step` at a time (0: the rest). */
static struct ss_json_result run(const uint8_t *data, size_t size, size_t first, size_t step,
                                 const struct ss_json_limits *lim, struct seen *s)
{
    *s = (struct seen){ 0, 1469598103934665603ull };
    struct ss_json *p = ss_json_new(lim, on_contact, s);
    if (!p)
        abort();
    size_t at = first < size ? first : size;
    ss_json_feed(p, data, at);
    while (at < size) {
        size_t n = step && step < size - at ? step : size - at;
        ss_json_feed(p, data + at, n);
        at += n;
    }
    enum ss_json_status st = ss_json_finish(p);
    struct ss_json_result r = *ss_json_result(p);
    if (st != r.status || st == SS_JSON_MORE || r.contacts != s->n || r.offset > size ||
        ss_json_finish(p) != st)
        abort();
    if (st != SS_JSON_OK && st != SS_JSON_RPC_ERROR && !r.reason[0])
        abort();
    check_str(r.reason, sizeof r.reason);
    check_str(r.rpc_message, sizeof r.rpc_message);
    check_str(r.id, sizeof r.id);
    check_str(r.first_invalid, sizeof r.first_invalid);
    ss_json_free(p);
    return r;
}

static void same(const struct ss_json_result *a, const struct seen *sa,
                 const struct ss_json_result *b, const struct seen *sb)
{
    if (a->status != b->status || a->contacts != b->contacts || a->invalid != b->invalid ||
        a->records != b->records || a->rpc_code != b->rpc_code ||
        strcmp(a->reason, b->reason) != 0 || strcmp(a->id, b->id) != 0 ||
        strcmp(a->rpc_message, b->rpc_message) != 0 || sa->hash != sb->hash)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct seen sw, sp;
    struct ss_json_result whole = run(data, size, SIZE_MAX, 0, NULL, &sw);
    size_t cut = size ? (size_t)(mix(7, data, size) % (size + 1)) : 0;
    struct ss_json_result part = run(data, size, cut, 0, NULL, &sp);
    same(&whole, &sw, &part, &sp);
    if (size <= 8192) {
        part = run(data, size, 1, 1, NULL, &sp);
        same(&whole, &sw, &part, &sp);
    }
    struct ss_json_limits tight = { .max_depth = 4, .max_token = 40, .max_contacts = 2 };
    run(data, size, cut, 3, &tight, &sp);

    static struct ss_hint hint;
    char err[160];
    if (ss_json_parse_hint(data, size, &hint, err, sizeof err) == 0) {
        if (!hint.aor[0] || !memchr(hint.aor, '\0', sizeof hint.aor))
            abort();
        if (hint.n_contacts > SS_HINT_CONTACTS_MAX || (!hint.has_contacts && hint.n_contacts))
            abort();
        static char req[SS_JSON_REQ_MAX];
        check_request(req, ss_json_req_lookup(req, sizeof req, 1, "location", hint.aor));
        for (size_t i = 0; i < hint.n_contacts; i++) {
            const struct ss_contact *c = &hint.contacts[i];
            if (!c->uri[0] || !c->expires_s || c->expires_s > INT32_MAX || c->q < -1 || c->q > 1000 ||
                strcmp(c->aor, hint.aor) != 0)
                abort();
            check_request(req, ss_json_req_add(req, sizeof req, 1, "location", c, err, sizeof err));
        }
    } else if (!err[0]) {
        abort();
    }
    return 0;
}

/* For tests/fuzz/corpus_main.c, the plain driver. */
void fuzz_cleanup(void);
void fuzz_cleanup(void)
{
}
