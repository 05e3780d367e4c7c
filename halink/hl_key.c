/* hl_key.c — the key file loader (rules in hl_key.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hl_key.h"

void hl_key_wipe(struct hl_key *k)
{
    explicit_bzero(k, sizeof(*k));
}

/* fstat checks of the open file: 0, or -1 with a message. */
static int check_file(int fd, const char *path, char *err, size_t errlen)
{
    struct stat st;
    if (fstat(fd, &st) != 0) {
        snprintf(err, errlen, "key file %s: %s", path, strerror(errno));
        return -1;
    }
    if (!S_ISREG(st.st_mode)) {
        snprintf(err, errlen, "key file %s: not a regular file", path);
        return -1;
    }
    if (st.st_mode & 077) {
        snprintf(err, errlen,
                 "key file %s: mode %04o, must not be readable by group or others (chmod 600)",
                 path, (unsigned)(st.st_mode & 07777));
        return -1;
    }
    if (st.st_size > (off_t)HL_KEY_FILE_MAX) {
        snprintf(err, errlen, "key file %s: %lld bytes, at most %u allowed", path,
                 (long long)st.st_size, HL_KEY_FILE_MAX);
        return -1;
    }
    return 0;
}

/* Reads at most cap bytes (a regular file: read returns what is there). */
static ssize_t read_all(int fd, uint8_t *buf, size_t cap)
{
    size_t n = 0;
    while (n < cap) {
        ssize_t r = read(fd, buf + n, cap - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return -1;
        if (r == 0)
            break;
        n += (size_t)r;
    }
    return (ssize_t)n;
}

static int take_secret(const uint8_t *buf, size_t n, const char *path, struct hl_key *k,
                       char *err, size_t errlen)
{
    while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r' || buf[n - 1] == ' ' ||
                     buf[n - 1] == '\t'))
        n--;
    if (n < HL_KEY_MIN || n > HL_KEY_MAX) {
        snprintf(err, errlen, "key file %s: %zu bytes of key, %u..%u needed", path, n,
                 HL_KEY_MIN, HL_KEY_MAX);
        return -1;
    }
    memcpy(k->bytes, buf, n);
    k->len = n;
    return 0;
}

int hl_key_load(const char *path, struct hl_key *k, char *err, size_t errlen)
{
    hl_key_wipe(k);
    if (!path || !*path) {
        snprintf(err, errlen, "no key file given");
        return -1;
    }
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
        snprintf(err, errlen, "key file %s: %s", path,
                 errno == ELOOP ? "is a symbolic link (not allowed)" : strerror(errno));
        return -1;
    }
    if (check_file(fd, path, err, errlen) != 0) {
        close(fd);
        return -1;
    }
    uint8_t buf[HL_KEY_FILE_MAX + 1]; /* +1: a file that grew since fstat is seen */
    ssize_t n = read_all(fd, buf, sizeof(buf));
    int saved = errno;
    close(fd);
    int rc = -1;
    if (n < 0)
        snprintf(err, errlen, "key file %s: %s", path, strerror(saved));
    else if ((size_t)n > HL_KEY_FILE_MAX)
        snprintf(err, errlen, "key file %s: more than %u bytes", path, HL_KEY_FILE_MAX);
    else
        rc = take_secret(buf, (size_t)n, path, k, err, errlen);
    explicit_bzero(buf, sizeof(buf));
    return rc;
}
