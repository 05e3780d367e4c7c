/* corpus_main.c — the plain (non-libFuzzer) driver of every tests/fuzz/fuzz_NAME.c:
 * runs LLVMFuzzerTestOneInput once over every file of the directories (or files)
 * named on the command line, then the target's fuzz_cleanup. Linked with each target
 * by `make check-fuzz`; a libFuzzer build brings its own main instead. */
#include <dirent.h>
#include <libgen.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
void fuzz_cleanup(void); /* each target's: frees what it kept between inputs */

/* Runs one file; its bytes are copied to a buffer of exactly their size, so that a
 * read past the end is caught by ASan or valgrind. Returns 1 if run, 0 if skipped. */
static int run_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return 0;
    static uint8_t data[1 << 16];
    size_t n = fread(data, 1, sizeof(data), f);
    fclose(f);
    uint8_t *exact = malloc(n ? n : 1);
    if (!exact)
        return 0;
    memcpy(exact, data, n);
    LLVMFuzzerTestOneInput(exact, n);
    free(exact);
    return 1;
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
    fuzz_cleanup();
    printf("%s: %d passed, 0 failed\n", basename(argv[0]), total);
    return total > 0 ? 0 : 1;
}
