/* fuzz_sip_parse.c — fuzz target for the SIP parser.
 *
 * libFuzzer:   clang -g -O1 -fsanitize=fuzzer,address,undefined -DSIPHA_LIBFUZZER \
 *                  -Imonitors -Iagent -Iengine -Itrapgen \
 *                  tests/fuzz/fuzz_sip_parse.c monitors/sip_parse.c -o fuzz_sip_parse
 *              ./fuzz_sip_parse -max_total_time=60 tests/fuzz/corpus
 * Plain build: gcc (or clang) without -DSIPHA_LIBFUZZER gives a program that runs
 *              every file of the directories (or files) named on its command line once:
 *              ./fuzz_sip_parse tests/fuzz/corpus
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

#ifndef SIPHA_LIBFUZZER
#include <dirent.h>
#include <sys/stat.h>

/* Runs one file; its bytes are copied to a buffer of exactly their size, so that a
 * read past the end is caught by ASan or valgrind. Returns 1 if run, 0 if skipped. */
static int run_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return 0;
    size_t cap = 1 << 16, n = 0;
    uint8_t *data = malloc(cap);
    size_t got;
    while (data && (got = fread(data + n, 1, cap - n, f)) > 0) {
        n += got;
        if (n == cap) {
            uint8_t *bigger = realloc(data, cap * 2);
            if (!bigger) {
                free(data);
                data = NULL;
                break;
            }
            data = bigger;
            cap *= 2;
        }
    }
    fclose(f);
    if (!data)
        return 0;
    uint8_t *exact = malloc(n ? n : 1);
    if (exact) {
        memcpy(exact, data, n);
        LLVMFuzzerTestOneInput(exact, n);
    }
    free(exact);
    free(data);
    return exact != NULL;
}

static int run_path(const char *path)
{
    struct stat st;
    if (stat(path, &st) < 0)
        return -1;
    if (!S_ISDIR(st.st_mode))
        return run_file(path);
    DIR *d = opendir(path);
    if (!d)
        return -1;
    int count = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        char p[4096];
        if (e->d_name[0] == '.')
            continue;
        snprintf(p, sizeof(p), "%s/%s", path, e->d_name);
        if (stat(p, &st) == 0 && S_ISREG(st.st_mode))
            count += run_file(p);
    }
    closedir(d);
    return count;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s DIR-OR-FILE...\n", argv[0]);
        return 2;
    }
    int total = 0;
    for (int i = 1; i < argc; i++) {
        int n = run_path(argv[i]);
        if (n < 0) {
            fprintf(stderr, "%s: cannot read %s\n", argv[0], argv[i]);
            return 2;
        }
        total += n;
    }
    printf("fuzz_sip_parse: %d passed, 0 failed\n", total);
    return total > 0 ? 0 : 1;
}
#endif
