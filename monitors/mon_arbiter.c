/* mon_arbiter.c — periodic HTTP(S) reachability check of the arbiter on the agent loop.
 *
 * One curl_loop (a curl multi handle on the agent loop, agent/curl_loop.h) and one
 * easy handle live as long as the monitor; each probe adds the easy handle to the
 * curl_loop, which takes it off again when curl reports it done. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#include "errbuf.h"
#include "curl_loop.h"
#include "curl_lazy.h"
#include "loop.h"
#include "mon_arbiter.h"

struct mon_arbiter {
    struct loop *lp;
    char *url;
    uint32_t interval_ms, timeout_ms;
    mon_arbiter_cb cb;
    void *ctx;
    struct curl_loop *cl;
    CURL *easy;
    bool in_flight;
    uint64_t probe_timer;    /* the next request */
    uint64_t started_ms;     /* when the current (or last) request started */
    size_t body_bytes;       /* of the current request */
    bool body_over;          /* the current request passed MON_ARBITER_BODY_MAX */
    int state;               /* -1 unknown, 0, 1 */
    struct mon_arbiter_stats st;
    char errbuf[CURL_ERROR_SIZE];
    char last_error[CURL_ERROR_SIZE + 32];
};

/* --- the response body --- */

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
    uint64_t since = loop_now(m->lp) - m->started_ms;
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

/* The request ended; curl_loop has already taken the easy handle off, so the next
 * probe can add it again. */
static void probe_done(void *arg, CURL *easy, CURLcode result)
{
    (void)easy; /* always m->easy: one request at a time */
    struct mon_arbiter *m = arg;
    probe_finish(m, outcome(m, result)); /* m may be gone */
}

static void probe_start(void *arg)
{
    struct mon_arbiter *m = arg;
    m->probe_timer = 0;
    m->started_ms = loop_now(m->lp);
    m->body_bytes = 0;
    m->body_over = false;
    m->errbuf[0] = '\0';
    if (curl_loop_add(m->cl, m->easy) < 0) {
        snprintf(m->last_error, sizeof m->last_error, "cannot start a request");
        probe_finish(m, false);
        return;
    }
    m->in_flight = true;
}

/* --- set-up --- */

static CURL *easy_new(struct mon_arbiter *m)
{
    CURL *h = curl_loop_easy_web(m->url, m->timeout_ms, body_drop, m, m->errbuf);
    if (!h)
        return NULL;
    bool bad = curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L) != CURLE_OK;
    bad |= curl_easy_setopt(h, CURLOPT_FORBID_REUSE, 1L) != CURLE_OK;
    bad |= curl_easy_setopt(h, CURLOPT_PROXY, "") != CURLE_OK;
    if (bad) {
        curl_easy_cleanup(h);
        return NULL;
    }
    return h;
}

static void arbiter_free(struct mon_arbiter *m)
{
    if (m->probe_timer)
        loop_timer_cancel(m->lp, m->probe_timer);
    if (m->in_flight)
        curl_loop_remove(m->cl, m->easy);
    if (m->easy)
        curl_easy_cleanup(m->easy);
    curl_loop_free(m->cl);
    free(m->url);
    free(m);
}

int mon_arbiter_open(struct mon_arbiter **out, struct loop *lp, const char *url,
                     uint32_t interval_ms, uint32_t timeout_ms, mon_arbiter_cb cb, void *ctx,
                     char *err, size_t errlen)
{
    if (!out || !lp || !cb) {
        errbuf_set(err, errlen, "arbiter: no loop or no callback");
        return -1;
    }
    if (curl_loop_url_check("arbiter", url, MON_ARBITER_URL_MAX, false, err, errlen) < 0)
        return -1;
    struct mon_arbiter *m = calloc(1, sizeof(*m));
    if (!m || !(m->url = strdup(url))) {
        free(m);
        errbuf_set(err, errlen, "arbiter %s: out of memory", url);
        return -1;
    }
    m->lp = lp;
    m->cb = cb;
    m->ctx = ctx;
    m->state = -1;
    m->interval_ms = interval_ms ? interval_ms : MON_ARBITER_DEFAULT_INTERVAL_MS;
    m->timeout_ms = timeout_ms ? timeout_ms : MON_ARBITER_DEFAULT_TIMEOUT_MS;
    m->easy = easy_new(m);
    if (!m->easy || !(m->cl = curl_loop_new(lp, probe_done, m)) ||
        !(m->probe_timer = loop_timer_add(lp, 0, probe_start, m))) {
        errbuf_set(err, errlen, "arbiter %s: cannot set up libcurl", url);
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
