/* config_fetch.c — reads a configuration location into memory: local files directly,
 * http(s) through libcurl, either blocking (easy) or on the agent loop (curl_loop, so
 * nothing waits on a configuration server). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <curl/curl.h>

#include "errbuf.h"
#include "config_fetch.h"
#include "hex.h"
#include "curl_lazy.h"
#include "curl_loop.h"
#include "loop.h"

enum loc_kind { LOC_BAD, LOC_FILE, LOC_HTTP };

/* A response body or file content, always NUL-terminated when data != NULL. */
struct body {
    char *data;
    size_t len, cap;
    bool too_big;
};

/* --- locations --- */

/* Percent-decodes a file:// URL path; refuses bad escapes and %00. */
static int url_path_decode(const char *in, char *out, size_t cap)
{
    size_t o = 0;
    for (const char *p = in; *p; p++) {
        int c = (unsigned char)*p;
        if (c == '%') {
            c = hex_pair_byte(p + 1);
            if (c <= 0) /* a bad escape, or %00 */
                return -1;
            p += 2;
        }
        if (o + 1 >= cap)
            return -1;
        out[o++] = (char)c;
    }
    out[o] = '\0';
    return 0;
}

/* Says what `loc` is; for local files writes the path to read into `path`. */
static enum loc_kind loc_classify(const char *loc, char *path, size_t cap, char *err,
                                  size_t errlen)
{
    if (!loc || !*loc) {
        errbuf_set(err, errlen, "(empty location): no configuration file or URL given");
        return LOC_BAD;
    }
    if (!strncasecmp(loc, "http://", 7) || !strncasecmp(loc, "https://", 8))
        return LOC_HTTP;
    if (!strncasecmp(loc, "file://", 7)) {
        const char *rest = loc + 7;
        if (!strncasecmp(rest, "localhost/", 10))
            rest += 9;
        if (*rest != '/') {
            errbuf_set(err, errlen, "%s: file:// URL must name an absolute path on this host", loc);
            return LOC_BAD;
        }
        if (url_path_decode(rest, path, cap) < 0) {
            errbuf_set(err, errlen, "%s: bad percent-escape or path too long in file:// URL", loc);
            return LOC_BAD;
        }
        return LOC_FILE;
    }
    if (strstr(loc, "://")) {
        errbuf_set(err, errlen, "%s: unsupported URL scheme (use a path, file://, http:// or https://)",
             loc);
        return LOC_BAD;
    }
    if (strlen(loc) >= cap) {
        errbuf_set(err, errlen, "%s: path too long", loc);
        return LOC_BAD;
    }
    strcpy(path, loc);
    return LOC_FILE;
}

/* --- local files --- */

static int read_fd(int fd, const char *loc, struct body *b, char *err, size_t errlen)
{
    b->cap = CFETCH_MAX_BYTES + 2;
    b->data = malloc(b->cap);
    if (!b->data) {
        errbuf_set(err, errlen, "%s: out of memory", loc);
        return -1;
    }
    /* Read one byte past the limit so a file that grew since fstat is still caught. */
    for (;;) {
        ssize_t n = read(fd, b->data + b->len, b->cap - 1 - b->len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            errbuf_set(err, errlen, "%s: read: %s", loc, strerror(errno));
            return -1;
        }
        if (n == 0)
            break;
        b->len += (size_t)n;
        if (b->len > CFETCH_MAX_BYTES) {
            errbuf_set(err, errlen, "%s: document larger than %u bytes (1 MiB) refused", loc,
                 CFETCH_MAX_BYTES);
            return -1;
        }
    }
    b->data[b->len] = '\0';
    char *shrunk = realloc(b->data, b->len + 1);
    if (shrunk)
        b->data = shrunk;
    return 0;
}

static int read_file(const char *loc, const char *path, struct body *b, char *err,
                     size_t errlen)
{
    /* O_NONBLOCK: opening a FIFO by mistake must not hang start-up. */
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd < 0) {
        errbuf_set(err, errlen, "%s: cannot open: %s", loc, strerror(errno));
        return -1;
    }
    struct stat st;
    int rc = -1;
    if (fstat(fd, &st) < 0)
        errbuf_set(err, errlen, "%s: stat: %s", loc, strerror(errno));
    else if (!S_ISREG(st.st_mode))
        errbuf_set(err, errlen, "%s: not a regular file", loc);
    else if (st.st_size > (off_t)CFETCH_MAX_BYTES)
        errbuf_set(err, errlen, "%s: document larger than %u bytes (1 MiB) refused", loc,
             CFETCH_MAX_BYTES);
    else
        rc = read_fd(fd, loc, b, err, errlen);
    close(fd);
    if (rc < 0) {
        free(b->data);
        *b = (struct body){ 0 };
    }
    return rc;
}

/* --- libcurl, shared by both forms --- */

static size_t body_write(char *ptr, size_t size, size_t nmemb, void *userdata)
{
    struct body *b = userdata;
    size_t add = size * nmemb;
    if (add > CFETCH_MAX_BYTES - b->len) {
        b->too_big = true;
        return 0; /* makes curl abort the transfer with CURLE_WRITE_ERROR */
    }
    if (b->len + add + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->len + add + 1)
            cap *= 2;
        if (cap > CFETCH_MAX_BYTES + 1)
            cap = CFETCH_MAX_BYTES + 1;
        char *n = realloc(b->data, cap);
        if (!n)
            return 0;
        b->data = n;
        b->cap = cap;
    }
    memcpy(b->data + b->len, ptr, add);
    b->len += add;
    b->data[b->len] = '\0';
    return add;
}

/* One easy handle set up the same way for both forms: http(s) only, also across
 * redirects, bounded in time and size. */
static CURL *easy_new(const char *url, uint32_t timeout_ms, struct body *b, char *errbuf)
{
    CURL *h = curl_loop_easy_web(url, timeout_ms, body_write, b, errbuf);
    if (!h)
        return NULL;
    bool bad = curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 1L) != CURLE_OK;
    bad |= curl_easy_setopt(h, CURLOPT_MAXREDIRS, 5L) != CURLE_OK;
    bad |= curl_easy_setopt(h, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)CFETCH_MAX_BYTES) != CURLE_OK;
    if (bad) {
        curl_easy_cleanup(h);
        return NULL;
    }
    return h;
}

/* Turns a finished transfer into 0 or -1 with "location: reason". */
static int easy_outcome(CURL *h, CURLcode rc, const struct body *b, const char *loc,
                        const char *errbuf, char *err, size_t errlen)
{
    if (b->too_big || rc == CURLE_FILESIZE_EXCEEDED) {
        errbuf_set(err, errlen, "%s: document larger than %u bytes (1 MiB) refused", loc,
             CFETCH_MAX_BYTES);
        return -1;
    }
    if (rc != CURLE_OK) {
        errbuf_set(err, errlen, "%s: %s", loc, errbuf[0] ? errbuf : curl_easy_strerror(rc));
        return -1;
    }
    long code = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
    if (code < 200 || code > 299) {
        errbuf_set(err, errlen, "%s: HTTP status %ld from the server, no configuration read", loc,
             code);
        return -1;
    }
    return 0;
}

static int http_get(const char *loc, uint32_t timeout_ms, struct body *b, char *err,
                    size_t errlen)
{
    char errbuf[CURL_ERROR_SIZE];
    CURL *h = easy_new(loc, timeout_ms, b, errbuf);
    if (!h) {
        errbuf_set(err, errlen, "%s: %s", loc,
                   curl_lazy_error() ? curl_lazy_error() : "cannot set up libcurl");
        return -1;
    }
    CURLcode rc = curl_easy_perform(h);
    int ok = easy_outcome(h, rc, b, loc, errbuf, err, errlen);
    curl_easy_cleanup(h);
    if (ok < 0) {
        free(b->data);
        *b = (struct body){ 0 };
    }
    return ok;
}

/* Gives the caller a NUL-terminated buffer even for an empty body. */
static int body_hand_over(struct body *b, char **buf, size_t *len, const char *loc,
                          char *err, size_t errlen)
{
    if (!b->data && !(b->data = calloc(1, 1))) {
        errbuf_set(err, errlen, "%s: out of memory", loc);
        return -1;
    }
    *buf = b->data;
    *len = b->len;
    return 0;
}

int cfetch_get(const char *location, uint32_t timeout_ms, char **buf, size_t *len,
               char *err, size_t errlen)
{
    char path[PATH_MAX];
    struct body b = { 0 };
    int rc = -1;

    *buf = NULL;
    *len = 0;
    if (timeout_ms == 0)
        timeout_ms = CFETCH_SYNC_TIMEOUT_MS;
    switch (loc_classify(location, path, sizeof path, err, errlen)) {
    case LOC_FILE:
        rc = read_file(location, path, &b, err, errlen);
        break;
    case LOC_HTTP:
        rc = http_get(location, timeout_ms, &b, err, errlen);
        break;
    case LOC_BAD:
        break;
    }
    return rc < 0 ? -1 : body_hand_over(&b, buf, len, location, err, errlen);
}

/* --- non-blocking form on the agent loop --- */

struct cfetch {
    struct loop *lp;
    cfetch_done_cb done;
    void *arg;
    char *location;
    struct curl_loop *cl;
    CURL *easy;
    struct body body;
    uint64_t timer;             /* the delivery of a local result */
    bool ok;                    /* local result, delivered by deliver_local */
    char errbuf[CURL_ERROR_SIZE];
    char err[CFETCH_ERR_MAX];
};

/* Releases curl and every loop registration; keeps body and err for `done`. */
static void fetch_teardown(struct cfetch *f)
{
    if (f->timer) {
        loop_timer_cancel(f->lp, f->timer);
        f->timer = 0;
    }
    curl_loop_remove(f->cl, f->easy);
    if (f->easy)
        curl_easy_cleanup(f->easy);
    curl_loop_free(f->cl);
    f->easy = NULL;
    f->cl = NULL;
}

static void fetch_free(struct cfetch *f)
{
    free(f->body.data);
    free(f->location);
    free(f);
}

static void fetch_finish(struct cfetch *f, bool ok)
{
    fetch_teardown(f);
    if (ok && !f->body.data && !(f->body.data = calloc(1, 1))) {
        ok = false;
        errbuf_set(f->err, sizeof f->err, "%s: out of memory", f->location);
    }
    f->done(f->arg, ok, ok ? f->body.data : NULL, ok ? f->body.len : 0, ok ? NULL : f->err);
    fetch_free(f);
}

/* The one transfer ended; curl_loop has already taken it off the multi. */
static void http_done(void *arg, CURL *easy, CURLcode result)
{
    struct cfetch *f = arg;
    int rc = easy_outcome(easy, result, &f->body, f->location, f->errbuf, f->err,
                          sizeof f->err);
    fetch_finish(f, rc == 0); /* frees f and its curl_loop */
}

static int http_start(struct cfetch *f, uint32_t timeout_ms)
{
    f->easy = easy_new(f->location, timeout_ms, &f->body, f->errbuf);
    f->cl = f->easy ? curl_loop_new(f->lp, http_done, f) : NULL;
    return f->cl ? curl_loop_add(f->cl, f->easy) : -1;
}

static void deliver_local(void *arg)
{
    struct cfetch *f = arg;
    f->timer = 0;
    fetch_finish(f, f->ok);
}

/* Local files and bad locations are settled now, reported on the next loop turn. */
static int local_start(struct cfetch *f, enum loc_kind kind, const char *path)
{
    if (kind == LOC_FILE)
        f->ok = read_file(f->location, path, &f->body, f->err, sizeof f->err) == 0;
    f->timer = loop_timer_add(f->lp, 0, deliver_local, f);
    return f->timer ? 0 : -1;
}

int cfetch_start(struct cfetch **out, struct loop *lp, const char *location,
                 uint32_t timeout_ms, cfetch_done_cb done, void *arg)
{
    char path[PATH_MAX];
    struct cfetch *f = calloc(1, sizeof(*f));

    *out = NULL;
    if (!f)
        return -1;
    *f = (struct cfetch){ .lp = lp, .done = done, .arg = arg };
    f->location = strdup(location ? location : "");
    if (!f->location) {
        free(f);
        return -1;
    }
    if (timeout_ms == 0)
        timeout_ms = CFETCH_SYNC_TIMEOUT_MS;
    enum loc_kind kind = loc_classify(location, path, sizeof path, f->err, sizeof f->err);
    if (kind == LOC_HTTP && curl_lazy_load() < 0) { /* reported through `done` too */
        errbuf_set(f->err, sizeof f->err, "%s: %s", f->location, curl_lazy_error());
        kind = LOC_BAD;
    }
    int rc = kind == LOC_HTTP ? http_start(f, timeout_ms) : local_start(f, kind, path);
    if (rc < 0) {
        fetch_teardown(f);
        fetch_free(f);
        return -1;
    }
    *out = f;
    return 0;
}

void cfetch_cancel(struct cfetch *f)
{
    if (!f)
        return;
    fetch_teardown(f);
    fetch_free(f);
}
