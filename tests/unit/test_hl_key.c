/* The HA link key file: a good file loads without its trailing newline; anything
 * an attacker or a slip could make of it (readable by others, a symlink, a FIFO, a
 * directory, too short, missing) is refused with a message naming the file, and
 * nothing hangs. */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "hl_key.h"

struct fx {
    char dir[64];
    char path[128];
    char err[256];
    struct hl_key key;
};

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));
    if (!f)
        return -1;
    snprintf(f->dir, sizeof(f->dir), "/tmp/test_hl_key.XXXXXX");
    if (!mkdtemp(f->dir))
        return -1;
    snprintf(f->path, sizeof(f->path), "%s/key", f->dir);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    char p[160];
    unlink(f->path);
    rmdir(f->path); /* when a test made a directory of it */
    snprintf(p, sizeof(p), "%s/target", f->dir);
    unlink(p);
    rmdir(f->dir);
    free(f);
    return 0;
}

static void write_file(const char *path, const char *text, mode_t mode)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    assert_int_equal(chmod(path, mode), 0);
}

static int load(struct fx *f)
{
    f->err[0] = '\0';
    return hl_key_load(f->path, &f->key, f->err, sizeof(f->err));
}

static void good_file(void **state)
{
    struct fx *f = *state;
    write_file(f->path, "0123456789abcdef0123\n \n", 0600);
    assert_int_equal(load(f), 0);
    assert_int_equal(f->key.len, 20);
    assert_memory_equal(f->key.bytes, "0123456789abcdef0123", 20);
    hl_key_wipe(&f->key);
    assert_int_equal(f->key.len, 0);
    write_file(f->path, "0123456789abcdef", 0400); /* exactly 16, read-only */
    assert_int_equal(load(f), 0);
    assert_int_equal(f->key.len, 16);
}

static void mode_0644_refused(void **state)
{
    struct fx *f = *state;
    write_file(f->path, "0123456789abcdef0123", 0644);
    assert_int_equal(load(f), -1);
    assert_non_null(strstr(f->err, f->path));
    assert_non_null(strstr(f->err, "mode 0644"));
    assert_non_null(strstr(f->err, "chmod 600"));
    assert_int_equal(f->key.len, 0);
}

static void group_readable_refused(void **state)
{
    struct fx *f = *state;
    write_file(f->path, "0123456789abcdef0123", 0640);
    assert_int_equal(load(f), -1);
    assert_non_null(strstr(f->err, "mode 0640"));
    write_file(f->path, "0123456789abcdef0123", 0601); /* others execute: refused too */
    assert_int_equal(load(f), -1);
}

static void too_short(void **state)
{
    struct fx *f = *state;
    write_file(f->path, "0123456789abcde\n", 0600); /* 15 bytes once stripped */
    assert_int_equal(load(f), -1);
    assert_non_null(strstr(f->err, f->path));
    assert_non_null(strstr(f->err, "15 bytes"));
    write_file(f->path, "", 0600);
    assert_int_equal(load(f), -1);
}

static void too_long(void **state)
{
    struct fx *f = *state;
    char *big = malloc(HL_KEY_FILE_MAX + 2);
    assert_non_null(big);
    memset(big, 'k', HL_KEY_FILE_MAX + 1);
    big[HL_KEY_FILE_MAX + 1] = '\0';
    write_file(f->path, big, 0600);
    assert_int_equal(load(f), -1); /* file larger than 4096 */
    big[HL_KEY_MAX + 1] = '\0';
    write_file(f->path, big, 0600);
    assert_int_equal(load(f), -1); /* 1025 bytes of key */
    assert_non_null(strstr(f->err, "1025 bytes"));
    free(big);
}

static void symlink_refused(void **state)
{
    struct fx *f = *state;
    char target[160];
    snprintf(target, sizeof(target), "%s/target", f->dir);
    write_file(target, "0123456789abcdef0123", 0600);
    assert_int_equal(symlink(target, f->path), 0);
    assert_int_equal(load(f), -1);
    assert_non_null(strstr(f->err, "symbolic link"));
}

static void directory_refused(void **state)
{
    struct fx *f = *state;
    assert_int_equal(mkdir(f->path, 0700), 0);
    assert_int_equal(load(f), -1);
    assert_non_null(strstr(f->err, "not a regular file"));
}

/* A FIFO with no writer would block a plain open(2) for ever. */
static void fifo_refused_without_hang(void **state)
{
    struct fx *f = *state;
    assert_int_equal(mkfifo(f->path, 0600), 0);
    alarm(5); /* a hang fails the test instead of stalling the suite */
    assert_int_equal(load(f), -1);
    alarm(0);
    assert_non_null(strstr(f->err, "not a regular file"));
}

static void missing_file(void **state)
{
    struct fx *f = *state;
    assert_int_equal(load(f), -1);
    assert_non_null(strstr(f->err, f->path));
    assert_non_null(strstr(f->err, "No such file"));
    assert_int_equal(hl_key_load("", &f->key, f->err, sizeof(f->err)), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(good_file, setup, teardown),
        cmocka_unit_test_setup_teardown(mode_0644_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(group_readable_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(too_short, setup, teardown),
        cmocka_unit_test_setup_teardown(too_long, setup, teardown),
        cmocka_unit_test_setup_teardown(symlink_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(directory_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(fifo_refused_without_hang, setup, teardown),
        cmocka_unit_test_setup_teardown(missing_file, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
