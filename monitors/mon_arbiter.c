/* mon_arbiter.c — periodic HTTP(S) reachability check of the arbiter on the agent loop.
 *
 * One curl multi handle and one easy handle live as long as the monitor; each probe
 * adds the easy handle to the multi, and removes it when curl reports it done. curl
 * drives its sockets and its single timeout through CURLMOPT_SOCKETFUNCTION and
 * CURLMOPT_TIMERFUNCTION, mapped onto loop_watch_fd and loop_timer_add (the same
 * scheme as agent/config_fetch.c's non-blocking fetch). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#include "loop.h"
#include "mon_arbiter.h"

#define ARB_MAX_SOCKS 8 /* one request uses one or two (happy eyeballs) */

struct mon_arbiter {
    struct loop *lp;
    char *url;
    uint32_t interval_ms, timeout_ms;
    mon_arbiter_cb cb;
    void *ctx;
    CURLM *multi;
    CURL *easy;
    bool in_flight;
    bool closing;            /* tearing down: curl callbacks must not re-arm */
    uint64_t curl_timer;     /* the timeout curl asked for */
    uint64_t probe_timer;    /* the next request */
    uint64_t started_ms;     /* when the current (or last) request started */
    int socks[ARB_MAX_SOCKS]; /* fds registered with the loop for curl */
    size_t nsocks;
    size_t body_bytes;       /* of the current request */
    bool body_over;          /* the current request passed MON_ARBITER_BODY_MAX */
    int state;               /* -1 unknown, 0, 1 */
    struct mon_arbiter_stats st;
    char errbuf[CURL_ERROR_SIZE];
    char last_error[CURL_ERROR_SIZE + 32];
};

static void errf(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void errf(char *err, size_t errlen, const char *fmt, ...)
{
    if (!err || errlen == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

/* --- URL check --- */

/* Accepts only a well-formed http:// or https:// URL, parsed by curl itself. */
static int url_check(const char *url, char *err, size_t errlen)
{
    if (!url || !*url) {
        errf(err, errlen, "arbiter: no URL given");
        return -1;
    }
    if (strlen(url) > MON_ARBITER_URL_MAX) {
        errf(err, errlen, "arbiter: URL longer than %u characters", MON_ARBITER_URL_MAX);
        return -1;
    }
    if (strncasecmp(url, "http://", 7) != 0 && strncasecmp(url, "https://", 8) != 0) {
        errf(err, errlen, "arbiter %s: only http:// and https:// URLs are supported", url);
        return -1;
    }
    CURLU *u = curl_url();
    if (!u) {
        errf(err, errlen, "arbiter %s: out of memory", url);
        return -1;
    }
    CURLUcode rc = curl_url_set(u, CURLUPART_URL, url, 0);
    char *host = NULL;
    if (rc == CURLUE_OK)
        rc = curl_url_get(u, CURLUPART_HOST, &host, 0);
    curl_free(host);
    curl_url_cleanup(u);
    if (rc != CURLUE_OK) {
        errf(err, errlen, "arbiter %s: malformed URL (%s)", url, curl_url_strerror(rc));
        return -1;
    }
    return 0;
}

/* --- curl glue: sockets and timer on the loop --- */

static void sock_forget(struct mon_arbiter *m, int fd)
{
    for (size_t i = 0; i < m->nsocks; i++) {
        if (m->socks[i] == fd) {
            m->socks[i] = m->socks[--m->nsocks];
            return;
        }
    }
}

static int sock_remember(struct mon_arbiter *m, int fd)
{
    for (size_t i = 0; i < m->nsocks; i++)
        if (m->socks[i] == fd)
            return 0;
    if (m->nsocks == ARB_MAX_SOCKS)
        return -1;
    m->socks[m->nsocks++] = fd;
    return 0;
}

static void check_done(struct mon_arbiter *m);

static void on_fd(int fd, unsigned events, void *arg)
{
    struct mon_arbiter *m = arg;
    int running = 0;
    int mask = ((events & LOOP_READ) ? CURL_CSELECT_IN : 0) |
               ((events & LOOP_WRITE) ? CURL_CSELECT_OUT : 0);
    curl_multi_socket_action(m->multi, fd, mask, &running);
    check_done(m); /* may call the callback, which may close m: nothing after it */
}

static void on_curl_timeout(void *arg)
{
    struct mon_arbiter *m = arg;
    int running = 0;
    m->curl_timer = 0;
    curl_multi_socket_action(m->multi, CURL_SOCKET_TIMEOUT, 0, &running);
    check_done(m);
}

static int on_curl_socket(CURL *easy, curl_socket_t s, int what, void *userp, void *sockp)
{
    (void)easy;
    (void)sockp;
    struct mon_arbiter *m = userp;
    if (what == CURL_POLL_REMOVE) {
        loop_unwatch_fd(m->lp, s);
        sock_forget(m, s);
        return 0;
    }
    if (m->closing)
        return 0;
    unsigned ev = ((what & CURL_POLL_IN) ? LOOP_READ : 0) |
                  ((what & CURL_POLL_OUT) ? LOOP_WRITE : 0);
    if (sock_remember(m, s) < 0 || loop_watch_fd(m->lp, s, ev, on_fd, m) < 0)
        return -1;
    return 0;
}

/* curl must not be re-entered from here, so even a zero timeout goes through the loop. */
static int on_curl_timer(CURLM *multi, long timeout_ms, void *userp)
{
    (void)multi;
    struct mon_arbiter *m = userp;
    if (m->curl_timer) {
        loop_timer_cancel(m->lp, m->curl_timer);
        m->curl_timer = 0;
    }
    if (timeout_ms < 0 || m->closing)
        return 0;
    m->curl_timer = loop_timer_add(m->lp, (uint64_t)timeout_ms, on_curl_timeout, m);
    return m->curl_timer ? 0 : -1;
}

/* The body is not wanted: counted, dropped, and cut short past the cap. */
static size_t body_drop(char *ptr, size_t size, size_t nmemb, void *userdata)
{
    (void)ptr;
    struct mon_arbiter *m = userdata;
    size_t n = size * nmemb;
    m->st.body_bytes += n;
    if (n > MON_ARBITER_BODY_MAX - m->body_bytes) {
        m->body_over = true;
        return 0; /* CURLE_WRITE_ERROR ends the transfer */
    }
    m->body_bytes += n;
    return n;
}

/* --- probes --- */

static void probe_start(void *arg);

static void schedule_next(struct mon_arbiter *m)
{
    uint64_t since = loop_now_ms() - m->started_ms;
    uint64_t delay = since < m->interval_ms ? m->interval_ms - since : 0;
    m->probe_timer = loop_timer_add(m->lp, delay, probe_start, m);
}

/* Records one request's outcome, plans the next, and reports a change. The callback
 * is the last thing done: it may close the monitor. */
static void probe_finish(struct mon_arbiter *m, bool reachable)
{
    m->in_flight = false;
    m->st.requests++;
    if (reachable) {
        m->st.reachable++;
        m->last_error[0] = '\0';
    } else {
        m->st.unreachable++;
    }
    schedule_next(m);
    if (m->state == (int)reachable)
        return;
    m->state = reachable;
    m->cb(m->ctx, reachable);
}

static bool outcome(struct mon_arbiter *m, CURLcode rc)
{
    long code = 0;
    curl_easy_getinfo(m->easy, CURLINFO_RESPONSE_CODE, &code);
    bool answered = rc == CURLE_OK || (rc == CURLE_WRITE_ERROR && m->body_over);
    if (answered && code >= 200 && code <= 299)
        return true;
    if (answered)
        snprintf(m->last_error, sizeof m->last_error, "HTTP status %ld", code);
    else
        snprintf(m->last_error, sizeof m->last_error, "%s",
                 m->errbuf[0] ? m->errbuf : curl_easy_strerror(rc));
    return false;
}

static void check_done(struct mon_arbiter *m)
{
    int left;
    CURLMsg *msg;
    while ((msg = curl_multi_info_read(m->multi, &left)) != NULL) {
        if (msg->msg != CURLMSG_DONE)
            continue;
        bool reachable = outcome(m, msg->data.result);
        curl_multi_remove_handle(m->multi, m->easy);
        probe_finish(m, reachable);
        return; /* one request at a time; and m may be gone */
    }
}

static void probe_start(void *arg)
{
    struct mon_arbiter *m = arg;
    m->probe_timer = 0;
    m->started_ms = loop_now_ms();
    m->body_bytes = 0;
    m->body_over = false;
    m->errbuf[0] = '\0';
    if (curl_multi_add_handle(m->multi, m->easy) != CURLM_OK) {
        snprintf(m->last_error, sizeof m->last_error, "cannot start a request");
        probe_finish(m, false);
        return;
    }
    m->in_flight = true;
}

/* --- set-up --- */

static CURL *easy_new(struct mon_arbiter *m)
{
    CURL *h = curl_easy_init();
    if (!h)
        return NULL;
    bool bad = curl_easy_setopt(h, CURLOPT_URL, m->url) != CURLE_OK;
#if LIBCURL_VERSION_NUM >= 0x075500
    bad |= curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https") != CURLE_OK;
    bad |= curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, "http,https") != CURLE_OK;
#else
    long web = CURLPROTO_HTTP | CURLPROTO_HTTPS;
    bad |= curl_easy_setopt(h, CURLOPT_PROTOCOLS, web) != CURLE_OK;
    bad |= curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS, web) != CURLE_OK;
#endif
    bad |= curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L) != CURLE_OK;
    bad |= curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)m->timeout_ms) != CURLE_OK;
    bad |= curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, (long)m->timeout_ms) != CURLE_OK;
    bad |= curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L) != CURLE_OK;
    bad |= curl_easy_setopt(h, CURLOPT_FORBID_REUSE, 1L) != CURLE_OK;
    bad |= curl_easy_setopt(h, CURLOPT_PROXY, "") != CURLE_OK;
    bad |= curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, body_drop) != CURLE_OK;
    bad |= curl_easy_setopt(h, CURLOPT_WRITEDATA, m) != CURLE_OK;
    bad |= curl_easy_setopt(h, CURLOPT_ERRORBUFFER, m->errbuf) != CURLE_OK;
    bad |= curl_easy_setopt(h, CURLOPT_USERAGENT, "sipha-agent") != CURLE_OK;
    if (bad) {
        curl_easy_cleanup(h);
        return NULL;
    }
    return h;
}

static int multi_setup(struct mon_arbiter *m)
{
    m->multi = curl_multi_init();
    if (!m->multi)
        return -1;
    bool bad = curl_multi_setopt(m->multi, CURLMOPT_SOCKETFUNCTION, on_curl_socket) != CURLM_OK;
    bad |= curl_multi_setopt(m->multi, CURLMOPT_SOCKETDATA, m) != CURLM_OK;
    bad |= curl_multi_setopt(m->multi, CURLMOPT_TIMERFUNCTION, on_curl_timer) != CURLM_OK;
    bad |= curl_multi_setopt(m->multi, CURLMOPT_TIMERDATA, m) != CURLM_OK;
    return bad ? -1 : 0;
}

static void arbiter_free(struct mon_arbiter *m)
{
    m->closing = true;
    if (m->probe_timer)
        loop_timer_cancel(m->lp, m->probe_timer);
    if (m->in_flight)
        curl_multi_remove_handle(m->multi, m->easy);
    if (m->easy)
        curl_easy_cleanup(m->easy);
    if (m->multi)
        curl_multi_cleanup(m->multi);
    if (m->curl_timer)
        loop_timer_cancel(m->lp, m->curl_timer);
    /* curl normally reports each socket it drops; whatever is left is unwatched here so
     * the loop never calls back into freed memory. */
    while (m->nsocks > 0)
        loop_unwatch_fd(m->lp, m->socks[--m->nsocks]);
    free(m->url);
    free(m);
}

int mon_arbiter_open(struct mon_arbiter **out, struct loop *lp, const char *url,
                     uint32_t interval_ms, uint32_t timeout_ms, mon_arbiter_cb cb, void *ctx,
                     char *err, size_t errlen)
{
    if (!out || !lp || !cb) {
        errf(err, errlen, "arbiter: no loop or no callback");
        return -1;
    }
    if (url_check(url, err, errlen) < 0)
        return -1;
    struct mon_arbiter *m = calloc(1, sizeof(*m));
    if (!m || !(m->url = strdup(url))) {
        free(m);
        errf(err, errlen, "arbiter %s: out of memory", url);
        return -1;
    }
    m->lp = lp;
    m->cb = cb;
    m->ctx = ctx;
    m->state = -1;
    m->interval_ms = interval_ms ? interval_ms : MON_ARBITER_DEFAULT_INTERVAL_MS;
    m->timeout_ms = timeout_ms ? timeout_ms : MON_ARBITER_DEFAULT_TIMEOUT_MS;
    m->easy = easy_new(m);
    if (!m->easy || multi_setup(m) < 0 ||
        !(m->probe_timer = loop_timer_add(lp, 0, probe_start, m))) {
        errf(err, errlen, "arbiter %s: cannot set up libcurl", url);
        arbiter_free(m);
        return -1;
    }
    *out = m;
    return 0;
}

void mon_arbiter_close(struct mon_arbiter *m)
{
    if (m)
        arbiter_free(m);
}

int mon_arbiter_state(const struct mon_arbiter *m)
{
    return m->state;
}

const char *mon_arbiter_last_error(const struct mon_arbiter *m)
{
    return m->last_error;
}

void mon_arbiter_get_stats(const struct mon_arbiter *m, struct mon_arbiter_stats *st)
{
    *st = m->st;
}
