/* curl_loop.c — a libcurl multi handle on the agent loop: curl's socket and timer
 * requests become loop registrations, loop events become curl_multi_socket_action,
 * and finished transfers are handed to the owner one by one. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "curl_lazy.h"
#include "curl_loop.h"
#include "errbuf.h"
#include "loop.h"

#define CURL_LOOP_MAX_SOCKS 8 /* one transfer uses one or two (happy eyeballs) */

struct curl_loop {
    struct loop *lp;
    CURLM *multi;
    curl_loop_done_cb done;
    void *arg;
    uint64_t timer;                 /* the timeout curl asked for */
    int socks[CURL_LOOP_MAX_SOCKS]; /* fds registered with the loop */
    size_t nsocks;
    bool closing;                   /* tearing down: curl callbacks must not re-arm */
    bool *freed;                    /* while delivering: set when the callback frees us */
};

static void sock_forget(struct curl_loop *cl, int fd)
{
    for (size_t i = 0; i < cl->nsocks; i++) {
        if (cl->socks[i] == fd) {
            cl->socks[i] = cl->socks[--cl->nsocks];
            return;
        }
    }
}

static int sock_remember(struct curl_loop *cl, int fd)
{
    for (size_t i = 0; i < cl->nsocks; i++)
        if (cl->socks[i] == fd)
            return 0;
    if (cl->nsocks == CURL_LOOP_MAX_SOCKS)
        return -1;
    cl->socks[cl->nsocks++] = fd;
    return 0;
}

/* Hands each finished transfer to the owner. The message is copied out first: the
 * removal invalidates it. The callback may free cl, so `freed` is checked before
 * touching cl again. */
static void deliver_done(struct curl_loop *cl)
{
    bool freed = false;
    int left;
    CURLMsg *m;
    cl->freed = &freed;
    while ((m = curl_multi_info_read(cl->multi, &left)) != NULL) {
        if (m->msg != CURLMSG_DONE)
            continue;
        CURL *easy = m->easy_handle;
        CURLcode result = m->data.result;
        curl_multi_remove_handle(cl->multi, easy);
        cl->done(cl->arg, easy, result);
        if (freed)
            return;
    }
    cl->freed = NULL;
}

static void on_fd(int fd, unsigned events, void *arg)
{
    struct curl_loop *cl = arg;
    int running = 0;
    int mask = ((events & LOOP_READ) ? CURL_CSELECT_IN : 0) |
               ((events & LOOP_WRITE) ? CURL_CSELECT_OUT : 0);
    curl_multi_socket_action(cl->multi, fd, mask, &running);
    deliver_done(cl);
}

static void on_timeout(void *arg)
{
    struct curl_loop *cl = arg;
    int running = 0;
    cl->timer = 0;
    curl_multi_socket_action(cl->multi, CURL_SOCKET_TIMEOUT, 0, &running);
    deliver_done(cl);
}

static int on_curl_socket(CURL *easy, curl_socket_t s, int what, void *userp, void *sockp)
{
    (void)easy;
    (void)sockp;
    struct curl_loop *cl = userp;
    if (what == CURL_POLL_REMOVE) {
        loop_unwatch_fd(cl->lp, s);
        sock_forget(cl, s);
        return 0;
    }
    if (cl->closing)
        return 0;
    unsigned ev = ((what & CURL_POLL_IN) ? LOOP_READ : 0) |
                  ((what & CURL_POLL_OUT) ? LOOP_WRITE : 0);
    if (sock_remember(cl, s) < 0 || loop_watch_fd(cl->lp, s, ev, on_fd, cl) < 0)
        return -1;
    return 0;
}

/* curl asks for one timer; socket_action must not be called from here, so even a
 * zero timeout goes through the loop. */
static int on_curl_timer(CURLM *multi, long timeout_ms, void *userp)
{
    (void)multi;
    struct curl_loop *cl = userp;
    if (cl->timer) {
        loop_timer_cancel(cl->lp, cl->timer);
        cl->timer = 0;
    }
    if (timeout_ms < 0 || cl->closing)
        return 0;
    cl->timer = loop_timer_add(cl->lp, (uint64_t)timeout_ms, on_timeout, cl);
    return cl->timer ? 0 : -1;
}

struct curl_loop *curl_loop_new(struct loop *lp, curl_loop_done_cb done, void *arg)
{
    struct curl_loop *cl = calloc(1, sizeof(*cl));
    if (!cl)
        return NULL;
    *cl = (struct curl_loop){ .lp = lp, .done = done, .arg = arg };
    cl->multi = curl_multi_init();
    if (!cl->multi) {
        free(cl);
        return NULL;
    }
    bool bad = curl_multi_setopt(cl->multi, CURLMOPT_SOCKETFUNCTION, on_curl_socket) != CURLM_OK;
    bad |= curl_multi_setopt(cl->multi, CURLMOPT_SOCKETDATA, cl) != CURLM_OK;
    bad |= curl_multi_setopt(cl->multi, CURLMOPT_TIMERFUNCTION, on_curl_timer) != CURLM_OK;
    bad |= curl_multi_setopt(cl->multi, CURLMOPT_TIMERDATA, cl) != CURLM_OK;
    if (bad) {
        curl_loop_free(cl);
        return NULL;
    }
    return cl;
}

int curl_loop_add(struct curl_loop *cl, CURL *easy)
{
    return curl_multi_add_handle(cl->multi, easy) == CURLM_OK ? 0 : -1;
}

void curl_loop_remove(struct curl_loop *cl, CURL *easy)
{
    /* curl answers CURLM_OK for a handle that is in no multi, so this is idempotent. */
    if (cl && easy)
        curl_multi_remove_handle(cl->multi, easy);
}

void curl_loop_free(struct curl_loop *cl)
{
    if (!cl)
        return;
    cl->closing = true;
    if (cl->freed)
        *cl->freed = true;
    curl_multi_cleanup(cl->multi);
    if (cl->timer)
        loop_timer_cancel(cl->lp, cl->timer);
    /* curl normally reports every socket it drops; anything left is unwatched here so
     * the loop never calls back into freed memory. */
    while (cl->nsocks > 0)
        loop_unwatch_fd(cl->lp, cl->socks[--cl->nsocks]);
    free(cl);
}

CURL *curl_loop_easy_web(const char *url, uint32_t timeout_ms, curl_write_callback write,
                         void *data, char *errbuf)
{
    CURL *h = curl_easy_init();
    if (!h)
        return NULL;
    errbuf[0] = '\0';
    bool bad = curl_easy_setopt(h, CURLOPT_URL, url) != CURLE_OK;
#if LIBCURL_VERSION_NUM >= 0x075500
    bad |= curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https") != CURLE_OK;
    bad |= curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, "http,https") != CURLE_OK;
#else
    long web = CURLPROTO_HTTP | CURLPROTO_HTTPS;
    bad |= curl_easy_setopt(h, CURLOPT_PROTOCOLS, web) != CURLE_OK;
    bad |= curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS, web) != CURLE_OK;
#endif
    bad |= curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)timeout_ms) != CURLE_OK;
    bad |= curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, (long)timeout_ms) != CURLE_OK;
    bad |= curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L) != CURLE_OK;
    bad |= curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, write) != CURLE_OK;
    bad |= curl_easy_setopt(h, CURLOPT_WRITEDATA, data) != CURLE_OK;
    bad |= curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf) != CURLE_OK;
    bad |= curl_easy_setopt(h, CURLOPT_USERAGENT, "sipha-agent") != CURLE_OK;
    if (bad) {
        curl_easy_cleanup(h);
        return NULL;
    }
    return h;
}

int curl_loop_url_check(const char *what, const char *url, size_t max, bool rooted,
                        char *err, size_t errlen)
{
    if (!url || !*url)
        return errbuf_set(err, errlen, "%s: no URL given", what);
    if (strlen(url) > max)
        return errbuf_set(err, errlen, "%s: URL longer than %zu characters", what, max);
    if (strncasecmp(url, "http://", 7) != 0 && strncasecmp(url, "https://", 8) != 0)
        return errbuf_set(err, errlen, "%s %s: only http:// and https:// URLs are supported",
                          what, url);
    CURLU *u = curl_url(); /* the first call into libcurl loads it */
    if (!u)
        return errbuf_set(err, errlen, "%s %s: %s", what, url,
                          curl_lazy_error() ? curl_lazy_error() : "out of memory");
    char *host = NULL, *path = NULL;
    CURLUcode rc = curl_url_set(u, CURLUPART_URL, url, 0);
    if (rc == CURLUE_OK)
        rc = curl_url_get(u, CURLUPART_HOST, &host, 0);
    if (rc == CURLUE_OK && rooted && curl_url_get(u, CURLUPART_PATH, &path, 0) != CURLUE_OK)
        path = NULL;
    bool has_path = path && *path && strcmp(path, "/") != 0;
    curl_free(host);
    curl_free(path);
    curl_url_cleanup(u);
    if (rc != CURLUE_OK)
        return errbuf_set(err, errlen, "%s %s: malformed URL (%s)", what, url,
                          curl_url_strerror(rc));
    if (has_path)
        return errbuf_set(err, errlen, "%s %s: give the URL without a path", what, url);
    return 0;
}
