/* etcd_client.c — ordered calls to an etcd cluster with fail-over between members (see
 * etcd_client.h). One easy handle, configured once; each attempt points it at the
 * member in use. The multi keeps the connection to that member alive. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "curl_loop.h"
#include "errbuf.h"
#include "etcd_client.h"
#include "loop.h"

/* gRPC's UNAVAILABLE: the member cannot serve (no leader, shutting down) */

struct call {
    enum etcd_op op;
    char body[ETCD_WIRE_BODY_MAX]; /* a body that fits here (the arbiter's) ... */
    char *big;                     /* ... else a copy on the heap (a batch, a page) */
    size_t len;
    etcd_done done;
    void *arg;
};

struct etcd_client {
    struct loop *lp;
    struct curl_loop *cl;
    CURL *easy;
    struct curl_slist *headers;
    char *urls[ETCD_CLIENT_ENDPOINTS_MAX];
    size_t n_urls, member;
    uint32_t timeout_ms;
    struct call queue[ETCD_CLIENT_QUEUE_MAX]; /* a ring; the head is the call on the wire */
    size_t qhead, qlen;
    bool busy;           /* the head is on the wire */
    unsigned attempts;   /* of the head */
    uint64_t started_ms; /* of the head's first attempt */
    uint64_t kick;       /* the timer that starts the head */
    char *reply;         /* grown up to the head's etcd_wire_reply_max */
    size_t reply_len, reply_cap;
    bool reply_over;
    char errbuf[CURL_ERROR_SIZE];
    bool *freed; /* while a done callback runs: set when it frees the client */
    struct etcd_client_stats st;
};

/* --- the reply body --- */

static size_t on_body(char *ptr, size_t size, size_t nmemb, void *userdata)
{
    struct etcd_client *c = userdata;
    size_t n = size * nmemb, max = etcd_wire_reply_max(c->queue[c->qhead].op);
    if (n > max - c->reply_len) {
        c->reply_over = true;
        return 0; /* curl ends the transfer: CURLE_WRITE_ERROR */
    }
    if (c->reply_len + n > c->reply_cap) {
        size_t cap = c->reply_cap ? c->reply_cap : 16384;
        while (cap < c->reply_len + n)
            cap *= 2;
        if (cap > max)
            cap = max;
        char *r = realloc(c->reply, cap);
        if (!r)
            return 0; /* CURLE_WRITE_ERROR: this member's attempt fails */
        c->reply = r;
        c->reply_cap = cap;
    }
    memcpy(c->reply + c->reply_len, ptr, n);
    c->reply_len += n;
    return n;
}

/* --- attempts --- */

static int attempt_start(struct etcd_client *c)
{
    const struct call *k = &c->queue[c->qhead];
    char url[ETCD_CLIENT_URL_MAX + 32];
    snprintf(url, sizeof url, "%s%s", c->urls[c->member], etcd_op_path(k->op));
    c->reply_len = 0;
    c->reply_over = false;
    c->errbuf[0] = '\0';
    bool bad = curl_easy_setopt(c->easy, CURLOPT_URL, url) != CURLE_OK;
    bad |= curl_easy_setopt(c->easy, CURLOPT_POSTFIELDS, k->big ? k->big : k->body) != CURLE_OK;
    bad |= curl_easy_setopt(c->easy, CURLOPT_POSTFIELDSIZE, (long)k->len) != CURLE_OK;
    if (bad || curl_loop_add(c->cl, c->easy) < 0)
        return -1;
    c->attempts++;
    c->st.attempts++;
    return 0;
}

static void pump(struct etcd_client *c);

/* Hands the head's result to its owner and moves on; false when done freed us. */
static bool finish(struct etcd_client *c, struct etcd_result *res)
{
    struct call k = c->queue[c->qhead];
    free(k.big);
    c->qhead = (c->qhead + 1) % ETCD_CLIENT_QUEUE_MAX;
    c->qlen--;
    c->busy = false;
    res->op = k.op;
    res->member = c->member;
    res->attempts = c->attempts;
    res->elapsed_ms = loop_now(c->lp) - c->started_ms;
    switch (res->outcome) {
    case ETCD_ANSWERED:
        c->st.answered++;
        c->st.error_answers += res->reply->is_error;
        break;
    case ETCD_UNREACHABLE: c->st.unreachable++; break;
    case ETCD_BAD_REPLY: c->st.bad_replies++; break;
    case ETCD_FAILED: break;
    }
    bool freed = false;
    c->freed = &freed;
    k.done(k.arg, res);
    if (freed)
        return false;
    c->freed = NULL;
    return true;
}

/* An attempt that says nothing about etcd's answer: another member may do better. */
static bool member_failed(CURLcode rc, long status, const struct etcd_reply *rep, bool parsed)
{
    if (rc != CURLE_OK)
        return true;
    if (status >= 500 && !(parsed && rep->is_error && rep->code != ETCD_GRPC_UNAVAILABLE))
        return true;
    return parsed && rep->is_error && rep->code == ETCD_GRPC_UNAVAILABLE;
}

static void describe_failure(struct etcd_client *c, CURLcode rc, long status,
                             const struct etcd_reply *rep, bool parsed, char *msg, size_t len)
{
    const char *url = c->urls[c->member];
    if (rc != CURLE_OK)
        snprintf(msg, len, "%s: %s", url, c->errbuf[0] ? c->errbuf : curl_easy_strerror(rc));
    else if (parsed && rep->is_error)
        snprintf(msg, len, "%s: HTTP %ld, %s", url, status, rep->message);
    else
        snprintf(msg, len, "%s: HTTP %ld", url, status);
}

static void on_done(void *arg, CURL *easy, CURLcode rc)
{
    struct etcd_client *c = arg;
    (void)easy;
    long status = 0;
    curl_easy_getinfo(c->easy, CURLINFO_RESPONSE_CODE, &status);
    const struct call *k = &c->queue[c->qhead];
    struct etcd_reply rep;
    char perr[160] = "", msg[CURL_ERROR_SIZE + ETCD_CLIENT_URL_MAX + 200];
    bool parsed = rc == CURLE_OK &&
                  etcd_wire_parse(k->op, c->reply ? c->reply : "", c->reply_len, &rep, perr,
                                  sizeof perr) == 0;
    struct etcd_result res = { .error = "" };
    if (rc == CURLE_WRITE_ERROR && c->reply_over) {
        snprintf(msg, sizeof msg, "%s: reply larger than %zu bytes", c->urls[c->member],
                 etcd_wire_reply_max(k->op));
        res.outcome = ETCD_BAD_REPLY;
    } else if (member_failed(rc, status, &rep, parsed)) {
        describe_failure(c, rc, status, &rep, parsed, msg, sizeof msg);
        if (parsed)
            etcd_reply_free(&rep);
        parsed = false;
        if (c->attempts < c->n_urls) { /* the next member, each once per call */
            c->member = (c->member + 1) % c->n_urls;
            c->st.failovers++;
            if (attempt_start(c) == 0)
                return;
        }
        res.outcome = ETCD_UNREACHABLE;
    } else if (!parsed) {
        snprintf(msg, sizeof msg, "%s: HTTP %ld, %s", c->urls[c->member], status, perr);
        res.outcome = ETCD_BAD_REPLY;
    } else {
        msg[0] = '\0';
        res.outcome = ETCD_ANSWERED;
        res.reply = &rep;
    }
    res.error = msg;
    bool alive = finish(c, &res);
    if (parsed)
        etcd_reply_free(&rep); /* the items of a page: the callback is done with them */
    if (alive)
        pump(c);
}

/* Starts the head if nothing is on the wire; from a loop callback only. */
static void pump(struct etcd_client *c)
{
    while (!c->busy && c->qlen > 0) {
        c->attempts = 0;
        c->started_ms = loop_now(c->lp);
        if (attempt_start(c) == 0) {
            c->busy = true;
            return;
        }
        struct etcd_result res = { .outcome = ETCD_FAILED,
                                   .error = "curl refused to start the request" };
        if (!finish(c, &res))
            return;
    }
}

static void on_kick(void *arg)
{
    struct etcd_client *c = arg;
    c->kick = 0;
    pump(c);
}

/* Queues a call at position `at` of the queue (0: the head; the head is on the wire
 * while busy, so the first free position is then 1). */
static int enqueue(struct etcd_client *c, size_t at, enum etcd_op op, const char *body,
                   size_t len, etcd_done done, void *arg)
{
    char *big = NULL;
    if (!done || !body || !len || len > ETCD_CLIENT_BODY_MAX || c->qlen == ETCD_CLIENT_QUEUE_MAX ||
        (len >= ETCD_WIRE_BODY_MAX && !(big = malloc(len + 1))) ||
        (!c->kick && !c->busy && !(c->kick = loop_timer_add(c->lp, 0, on_kick, c)))) {
        free(big);
        c->st.refused++;
        return -1;
    }
    for (size_t i = c->qlen; i > at; i--) /* make room: the calls from `at` on move back */
        c->queue[(c->qhead + i) % ETCD_CLIENT_QUEUE_MAX] =
            c->queue[(c->qhead + i - 1) % ETCD_CLIENT_QUEUE_MAX];
    struct call *k = &c->queue[(c->qhead + at) % ETCD_CLIENT_QUEUE_MAX];
    k->op = op;
    k->big = big;
    memcpy(big ? big : k->body, body, len);
    (big ? big : k->body)[len] = '\0';
    k->len = len;
    k->done = done;
    k->arg = arg;
    c->qlen++;
    c->st.calls++;
    return 0;
}

int etcd_client_call(struct etcd_client *c, enum etcd_op op, const char *body, size_t len,
                     etcd_done done, void *arg)
{
    return enqueue(c, c->qlen, op, body, len, done, arg);
}

int etcd_client_call_first(struct etcd_client *c, enum etcd_op op, const char *body,
                           size_t len, etcd_done done, void *arg)
{
    return enqueue(c, c->busy ? 1 : 0, op, body, len, done, arg);
}

void etcd_client_cancel_all(struct etcd_client *c)
{
    if (c->busy)
        curl_loop_remove(c->cl, c->easy);
    c->busy = false;
    for (size_t i = 0; i < c->qlen; i++) {
        struct call *k = &c->queue[(c->qhead + i) % ETCD_CLIENT_QUEUE_MAX];
        free(k->big);
        k->big = NULL;
    }
    c->qlen = 0;
    if (c->kick)
        loop_timer_cancel(c->lp, c->kick);
    c->kick = 0;
}

/* --- set-up --- */

static int config_check(const struct etcd_client_config *cfg, char *err, size_t errlen)
{
    if (!cfg->n_endpoints)
        return errbuf_set(err, errlen, "etcd: no endpoint given");
    if (cfg->n_endpoints > ETCD_CLIENT_ENDPOINTS_MAX)
        return errbuf_set(err, errlen, "etcd: %zu endpoints, at most %u", cfg->n_endpoints,
                          ETCD_CLIENT_ENDPOINTS_MAX);
    if (!cfg->cert_file != !cfg->key_file)
        return errbuf_set(err, errlen, "etcd: a client certificate needs its key, and a key "
                          "its certificate");
    for (size_t i = 0; i < cfg->n_endpoints; i++)
        if (curl_loop_url_check("etcd endpoint", cfg->endpoints[i], ETCD_CLIENT_URL_MAX, true,
                                err, errlen) < 0)
            return -1;
    return 0;
}

static int easy_setup(struct etcd_client *c, const struct etcd_client_config *cfg)
{
    /* the URL is set per attempt; curl_loop_easy_web wants one to start with */
    c->easy = curl_loop_easy_web(c->urls[0], c->timeout_ms, on_body, c, c->errbuf);
    if (!c->easy)
        return -1;
    CURL *h = c->easy;
    bool bad = curl_easy_setopt(h, CURLOPT_HTTPHEADER, c->headers) != CURLE_OK;
    bad |= curl_easy_setopt(h, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1) != CURLE_OK;
    bad |= curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L) != CURLE_OK;
    bad |= curl_easy_setopt(h, CURLOPT_PROXY, "") != CURLE_OK;
    if (cfg->ca_file)
        bad |= curl_easy_setopt(h, CURLOPT_CAINFO, cfg->ca_file) != CURLE_OK;
    if (cfg->cert_file) {
        bad |= curl_easy_setopt(h, CURLOPT_SSLCERT, cfg->cert_file) != CURLE_OK;
        bad |= curl_easy_setopt(h, CURLOPT_SSLKEY, cfg->key_file) != CURLE_OK;
    }
    return bad ? -1 : 0;
}

struct etcd_client *etcd_client_new(struct loop *lp, const struct etcd_client_config *cfg,
                                    char *err, size_t errlen)
{
    if (!lp || !cfg) {
        errbuf_set(err, errlen, "etcd: no loop or configuration");
        return NULL;
    }
    if (config_check(cfg, err, errlen) < 0)
        return NULL;
    struct etcd_client *c = calloc(1, sizeof *c);
    if (!c) {
        errbuf_set(err, errlen, "etcd: out of memory");
        return NULL;
    }
    c->lp = lp;
    c->timeout_ms = cfg->timeout_ms ? cfg->timeout_ms : ETCD_CLIENT_TIMEOUT_DEFAULT_MS;
    bool bad = false;
    for (size_t i = 0; i < cfg->n_endpoints && !bad; i++) {
        size_t n = strlen(cfg->endpoints[i]);
        bad = !(c->urls[i] = strdup(cfg->endpoints[i]));
        if (!bad && n > 0 && c->urls[i][n - 1] == '/')
            c->urls[i][n - 1] = '\0'; /* the paths start with "/" */
        c->n_urls += !bad;
    }
    /* "Expect:" keeps curl from waiting for a 100 Continue before a body past 1 KB */
    struct curl_slist *h = bad ? NULL : curl_slist_append(NULL, "Content-Type: application/json");
    c->headers = h ? curl_slist_append(h, "Expect:") : NULL;
    if (!c->headers)
        curl_slist_free_all(h);
    bad = bad || !c->headers || !(c->cl = curl_loop_new(lp, on_done, c)) ||
          easy_setup(c, cfg) < 0;
    if (bad) {
        etcd_client_free(c);
        errbuf_set(err, errlen, "etcd: cannot set up libcurl");
        return NULL;
    }
    return c;
}

bool etcd_client_busy(const struct etcd_client *c)
{
    return c->busy;
}

size_t etcd_client_member(const struct etcd_client *c)
{
    return c->member;
}

const char *etcd_client_member_url(const struct etcd_client *c)
{
    return c->urls[c->member];
}

void etcd_client_get_stats(const struct etcd_client *c, struct etcd_client_stats *st)
{
    *st = c->st;
}

void etcd_client_free(struct etcd_client *c)
{
    if (!c)
        return;
    if (c->freed)
        *c->freed = true;
    if (c->cl && c->easy)
        etcd_client_cancel_all(c);
    else if (c->kick)
        loop_timer_cancel(c->lp, c->kick);
    if (c->easy)
        curl_easy_cleanup(c->easy);
    curl_loop_free(c->cl);
    curl_slist_free_all(c->headers);
    for (size_t i = 0; i < c->n_urls; i++)
        free(c->urls[i]);
    free(c->reply);
    free(c);
}

const char *etcd_outcome_name(enum etcd_outcome o)
{
    switch (o) {
    case ETCD_ANSWERED: return "answered";
    case ETCD_UNREACHABLE: return "no member reachable";
    case ETCD_BAD_REPLY: return "bad reply";
    case ETCD_FAILED: return "failed";
    }
    return "?";
}
