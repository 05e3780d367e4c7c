/* persist.c — the state file of one instance, a versioned text file:
 *
 *     sipha-state 1
 *     instance 3
 *     options 19
 *     epoch 7
 *     eventlog
 *     ...lines written by evlog_save...
 *     end
 *
 * The final "end" line shows the file is whole. It is written to a temporary file in
 * the same directory, synced, renamed over the old one and the directory synced, so a
 * crash at any point leaves either the old state or the new. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "errbuf.h"
#include "persist.h"

#define PERSIST_MAX_BYTES (64u << 20) /* 100,000 events of a few hundred bytes */
#define OPTION_MASK (HA_OPT_SIP_PASS_CHECK | HA_OPT_CONTROL_VIP_SCRIPTS | \
                     HA_OPT_IPTAKEOVER_MONITORING | HA_OPT_TLIB_NIC_MONITORING | \
                     HA_OPT_SIP_NIC_MONITORING)

/* mkdir -p with mode 0700 for what it creates. */
static int ensure_dir(const char *dir, char *err, size_t errlen)
{
    char path[PATH_MAX];
    struct stat st;
    if (snprintf(path, sizeof path, "%s", dir) >= (int)sizeof path || !path[0]) {
        errbuf_set(err, errlen, "%s: bad state directory", dir);
        return -1;
    }
    for (char *s = path + 1;; s++) {
        if (*s != '/' && *s != '\0')
            continue;
        char c = *s;
        *s = '\0';
        if (mkdir(path, 0700) < 0 && errno != EEXIST) {
            errbuf_set(err, errlen, "%s: cannot create: %s", path, strerror(errno));
            return -1;
        }
        *s = c;
        if (c == '\0')
            break;
    }
    if (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode)) {
        errbuf_set(err, errlen, "%s: not a directory", dir);
        return -1;
    }
    return 0;
}

#define STATE_NAME "instance-%u.state"

static int state_path(char *buf, size_t cap, const char *dir, uint32_t index)
{
    return snprintf(buf, cap, "%s/" STATE_NAME, dir, index) < (int)cap ? 0 : -1;
}

static int write_state(FILE *f, const struct sipha_instance *in)
{
    fprintf(f, "sipha-state %d\ninstance %u\noptions %u\nepoch %u\neventlog\n", PERSIST_VERSION,
            in->index, instance_options(in) & OPTION_MASK, instance_epoch(in));
    if (evlog_save(&in->events, f) < 0)
        return -1;
    fputs("end\n", f);
    return ferror(f) ? -1 : 0;
}

static int sync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    int rc = fsync(fd);
    close(fd);
    return rc;
}

/* Writes dir/name atomically (a temporary file in dir, mode 0600, synced, renamed over
 * the old one, the directory synced); `write` fills the stream, 0 or -1. */
static int write_atomic(const char *dir, const char *name, int (*write)(FILE *, const void *),
                        const void *arg, char *err, size_t errlen)
{
    char final[PATH_MAX], tmp[PATH_MAX];
    if (ensure_dir(dir, err, errlen) < 0)
        return -1;
    if (snprintf(final, sizeof final, "%s/%s", dir, name) >= (int)sizeof final ||
        snprintf(tmp, sizeof tmp, "%s/.%s.XXXXXX", dir, name) >= (int)sizeof tmp) {
        errbuf_set(err, errlen, "%s: path too long", dir);
        return -1;
    }
    int fd = mkostemp(tmp, O_CLOEXEC); /* mode 0600 */
    if (fd < 0) {
        errbuf_set(err, errlen, "%s: cannot create a temporary file: %s", dir, strerror(errno));
        return -1;
    }
    FILE *f = fdopen(fd, "w");
    if (!f) {
        close(fd);
        unlink(tmp);
        errbuf_set(err, errlen, "%s: %s", tmp, strerror(errno));
        return -1;
    }
    int bad = fchmod(fd, 0600) < 0 || write(f, arg) < 0 || fflush(f) != 0 || fsync(fd) < 0;
    int saved = errno;
    bad |= fclose(f) != 0;
    if (bad || rename(tmp, final) < 0) {
        if (!bad)
            saved = errno;
        unlink(tmp);
        errbuf_set(err, errlen, "%s: cannot write: %s", final, strerror(saved));
        return -1;
    }
    if (sync_dir(dir) < 0) {
        errbuf_set(err, errlen, "%s: cannot sync the directory: %s", dir, strerror(errno));
        return -1;
    }
    return 0;
}

static int write_state_cb(FILE *f, const void *in)
{
    return write_state(f, in);
}

int persist_save(const char *state_dir, const struct sipha_instance *in, char *err,
                 size_t errlen)
{
    char name[64];
    snprintf(name, sizeof name, STATE_NAME, in->index);
    return write_atomic(state_dir, name, write_state_cb, in, err, errlen);
}

static int write_text_cb(FILE *f, const void *text)
{
    return fputs(text, f) < 0 ? -1 : 0;
}

int persist_write_text(const char *state_dir, const char *name, const char *text, char *err,
                       size_t errlen)
{
    return write_atomic(state_dir, name, write_text_cb, text, err, errlen);
}

/* Temporary files of this instance were left by a crash inside persist_save; one
 * process per instance means none of them can be in use now. */
static void remove_stale_temps(const char *dir, uint32_t index)
{
    char prefix[64];
    snprintf(prefix, sizeof prefix, "." STATE_NAME ".", index);
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        if (!strncmp(e->d_name, prefix, strlen(prefix)))
            unlinkat(dirfd(d), e->d_name, 0);
    closedir(d);
}

/* Reads the whole file; 0 ok, 1 absent, -1 error. */
static int read_whole(const char *path, char **buf, size_t *len, char *err, size_t errlen)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0 && errno == ENOENT)
        return 1;
    struct stat st;
    const char *why = NULL;
    if (fd < 0 || fstat(fd, &st) < 0)
        why = strerror(errno);
    else if (!S_ISREG(st.st_mode))
        why = "not a regular file";
    else if (st.st_size > (off_t)PERSIST_MAX_BYTES)
        why = "larger than 64 MiB";
    if (why) {
        errbuf_set(err, errlen, "%s: cannot read: %s", path, why);
        if (fd >= 0)
            close(fd);
        return -1;
    }
    *buf = malloc((size_t)st.st_size + 1);
    size_t got = 0;
    while (*buf && got < (size_t)st.st_size) {
        ssize_t n = read(fd, *buf + got, (size_t)st.st_size - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    close(fd);
    if (!*buf || got != (size_t)st.st_size) {
        errbuf_set(err, errlen, "%s: cannot read the whole file", path);
        free(*buf);
        *buf = NULL;
        return -1;
    }
    (*buf)[got] = '\0';
    *len = got;
    return 0;
}

/* Header line `lineno` must be "<key> <number>"; returns the number or -1. */
static long header_number(char **cur, const char *key)
{
    char *nl = strchr(*cur, '\n');
    size_t klen = strlen(key);
    if (!nl || strncmp(*cur, key, klen) || (*cur)[klen] != ' ')
        return -1;
    char *p = *cur + klen + 1, *end;
    if (*p < '0' || *p > '9')
        return -1;
    errno = 0;
    unsigned long v = strtoul(p, &end, 10);
    if (end != nl || errno || v > UINT32_MAX)
        return -1;
    *cur = nl + 1;
    return (long)v;
}

struct state_text {
    unsigned options;
    uint32_t epoch;    /* of the last primary term: a restarted primary must not reuse it */
    char *events;      /* the eventlog section, inside the buffer */
    size_t events_len;
};

static int parse_state(char *buf, size_t len, const struct sipha_instance *in,
                       const char *path, struct state_text *st, char *err, size_t errlen)
{
    char *cur = buf;
    long v = header_number(&cur, "sipha-state");
    if (v != PERSIST_VERSION) {
        errbuf_set(err, errlen, "%s:1: expected 'sipha-state %d' (unknown format or version)", path,
             PERSIST_VERSION);
        return -1;
    }
    if ((v = header_number(&cur, "instance")) != (long)in->index) {
        errbuf_set(err, errlen, "%s:2: expected 'instance %u'", path, in->index);
        return -1;
    }
    v = header_number(&cur, "options");
    if (v < 0 || ((unsigned long)v & ~(unsigned long)OPTION_MASK)) {
        errbuf_set(err, errlen, "%s:3: expected 'options N' with N a set of option bits (0..%u)",
             path, OPTION_MASK);
        return -1;
    }
    st->options = (unsigned)v;
    if ((v = header_number(&cur, "epoch")) < 0) {
        errbuf_set(err, errlen, "%s:4: expected 'epoch N'", path);
        return -1;
    }
    st->epoch = (uint32_t)v;
    if (strncmp(cur, "eventlog\n", 9)) {
        errbuf_set(err, errlen, "%s:5: expected 'eventlog'", path);
        return -1;
    }
    cur += 9;
    size_t rest = len - (size_t)(cur - buf);
    /* The section runs to the final "end" line; without it the file is cut short. */
    if (rest < 4 || memcmp(buf + len - 4, "end\n", 4) ||
        (len - 4 > (size_t)(cur - buf) && buf[len - 5] != '\n')) {
        unsigned lines = 0;
        for (size_t i = 0; i < len; i++)
            lines += buf[i] == '\n';
        errbuf_set(err, errlen, "%s:%u: missing final 'end' line (file cut short?)", path, lines + 1);
        return -1;
    }
    st->events = cur;
    st->events_len = rest - 4;
    return 0;
}

static int load_events(struct evlog *log, const struct state_text *st)
{
    FILE *f = fmemopen(st->events, st->events_len, "r");
    if (!f)
        return -1;
    int rc = evlog_load(log, f);
    fclose(f);
    return rc;
}

/* Monotonic times of an earlier process (or boot) mean nothing now: the entries keep
 * their wall-clock time (DateAndTime) and read as TimeStamp 0, "before this start". */
static void forget_monotonic_times(struct evlog *log)
{
    for (struct evlog_entry *e = evlog_next(log, 0, false); e; e = evlog_next(log, e->index, false))
        e->mono_ms = 0;
}

int persist_load(const char *state_dir, struct sipha_instance *in, char *err, size_t errlen)
{
    char path[PATH_MAX], *buf = NULL;
    size_t len = 0;
    struct state_text st = { 0 };
    if (state_path(path, sizeof path, state_dir, in->index) < 0) {
        errbuf_set(err, errlen, "%s: path too long", state_dir);
        return -1;
    }
    remove_stale_temps(state_dir, in->index);
    int rc = read_whole(path, &buf, &len, err, errlen);
    if (rc != 0)
        return rc > 0 ? 0 : -1;
    rc = parse_state(buf, len, in, path, &st, err, errlen);
    /* The event log is the only part that can fail after being applied, so it goes
     * first (evlog_load changes nothing on error) and the options follow. */
    if (rc == 0 && load_events(&in->events, &st) < 0) {
        errbuf_set(err, errlen, "%s:6: malformed event log section", path);
        rc = -1;
    }
    if (rc == 0) {
        in->boot_options = (in->boot_options & ~(unsigned)OPTION_MASK) | st.options;
        in->boot_epoch = st.epoch;
        forget_monotonic_times(&in->events);
    }
    free(buf);
    return rc < 0 ? -1 : 1;
}
