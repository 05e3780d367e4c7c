/* ss_rpc.c — JSON-RPC calls over HTTP on the agent loop (see ss_rpc.h).
 *
 * One curl_loop (a multi handle on the agent loop) and SS_RPC_INFLIGHT_MAX slots, each
 * with an easy handle configured once and reused; the multi keeps the connections
 * alive between calls. A call waits in a ring until a slot is free; slots are filled
 * from a loop callback (a zero-delay timer after ss_rpc_call, or the end of a call), so
 * done is never called from inside ss_rpc_call. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#include "curl_lazy.h"
#include "curl_loop.h"
#include "errbuf.h"
#include "loop.h"
#include "ss_rpc.h"

struct call {
    char *body; /* our copy: curl reads it in place while the call runs */
    size_t len;
    ss_rpc_sink sink;
    ss_rpc_done done;
    void *arg;
};

struct slot {
    struct ss_rpc *rpc;
    CURL *easy;
    bool busy;
    struct call call;
    uint64_t started_ms;
    uint64_t bytes; /* reply body so far */
    uint64_t cap;   /* the reply cap when the call started */
    bool over;      /* the reply passed the cap */
    bool sink_stop; /* the sink asked to stop */
    uint64_t burst;        /* bytes handed to the sink since the loop last had control */
    uint64_t resume_timer; /* paused after a burst: resumed on the next loop turn */
    uint64_t paused_turn;  /* loop_turn when it paused */
    char errbuf[CURL_ERROR_SIZE];
};

struct ss_rpc {
    struct loop *lp;
    struct curl_loop *cl;
    char *url;
    uint32_t timeout_ms;
    uint64_t reply_max;
    struct curl_slist *headers;
    struct slot slots[SS_RPC_INFLIGHT_MAX];
    struct call queue[SS_RPC_QUEUE_MAX]; /* a ring */
    size_t qhead, qlen;
    uint64_t kick; /* the timer that starts queued calls */
    bool *freed;   /* while a done callback runs: set when it frees the client */
    struct ss_rpc_stats st;
};

/* --- the reply body --- */

static void on_resume(void *arg)
{
    struct slot *s = arg;
    s->resume_timer = 0;
    if (loop_turn(s->rpc->lp) == s->paused_turn) { /* not polled since: wait a turn */
        s->resume_timer = loop_timer_add(s->rpc->lp, 1, on_resume, s);
        if (s->resume_timer)
            return;
    }
    s->burst = 0;
    curl_easy_pause(s->easy, CURLPAUSE_CONT); /* may hand the held data over at once */
}

/* Counted, capped, and handed to the sink; returning less than n makes curl end the
 * transfer with CURLE_WRITE_ERROR, which the flags below explain. After
 * SS_RPC_BURST_BYTES in one go the transfer pauses (curl keeps the data) until the
 * loop's next turn: libcurl reads a fast socket dry in one socket action, and a 9 MB
 * reply parsed in one piece would hold the loop (and the HA link's heartbeats) for
 * hundreds of milliseconds on a loaded machine. */
static size_t on_body(char *ptr, size_t size, size_t nmemb, void *userdata)
{
    struct slot *s = userdata;
    struct ss_rpc *r = s->rpc;
    size_t n = size * nmemb;
    if (s->burst >= SS_RPC_BURST_BYTES) {
        if (!s->resume_timer) {
            s->paused_turn = loop_turn(r->lp);
            s->resume_timer = loop_timer_add(r->lp, 1, on_resume, s);
        }
        if (s->resume_timer)
            return CURL_WRITEFUNC_PAUSE;
    }
    if (n > s->cap - s->bytes) {
        s->over = true;
        return 0;
    }
    s->bytes += n;
    s->burst += n;
    r->st.bytes_received += n;
    if (s->call.sink && s->call.sink(s->call.arg, ptr, n) != 0) {
        s->sink_stop = true;
        return 0;
    }
    return n;
}

/* --- ending a call --- */

/* Calls the owner's done; true when it freed the client (then nothing of it remains). */
static bool deliver(struct ss_rpc *r, const struct call *c, const struct ss_rpc_result *res)
{
    bool freed = false;
    r->freed = &freed;
    c->done(c->arg, res);
    if (!freed)
        r->freed = NULL;
    return freed;
}

static enum ss_rpc_outcome classify(const struct slot *s, CURLcode rc)
{
    switch (rc) {
    case CURLE_OK:
        return SS_RPC_ANSWERED;
    case CURLE_FILESIZE_EXCEEDED:
        return SS_RPC_TOO_LARGE;
    case CURLE_WRITE_ERROR:
        return s->over ? SS_RPC_TOO_LARGE : s->sink_stop ? SS_RPC_SINK : SS_RPC_FAILED;
    case CURLE_OPERATION_TIMEDOUT:
        return SS_RPC_TIMEOUT;
    case CURLE_COULDNT_CONNECT:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
        return SS_RPC_CONNECT;
    case CURLE_GOT_NOTHING:
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR:
    case CURLE_PARTIAL_FILE:
    case CURLE_WEIRD_SERVER_REPLY:
    case CURLE_BAD_CONTENT_ENCODING:
    case CURLE_UNSUPPORTED_PROTOCOL:
        return SS_RPC_PROTOCOL;
    default:
        return SS_RPC_FAILED;
    }
}

static void count(struct ss_rpc *r, const struct ss_rpc_result *res)
{
    switch (res->outcome) {
    case SS_RPC_ANSWERED:
        r->st.answered++;
        if (res->http_status < 200 || res->http_status > 299)
            r->st.http_errors++;
        break;
    case SS_RPC_CONNECT: r->st.connect_failures++; break;
    case SS_RPC_TIMEOUT: r->st.timeouts++; break;
    case SS_RPC_TOO_LARGE: r->st.too_large++; break;
    case SS_RPC_SINK: r->st.sink_stops++; break;
    case SS_RPC_PROTOCOL: r->st.protocol_errors++; break;
    case SS_RPC_FAILED: r->st.other_failures++; break;
    }
}

static void describe(const struct slot *s, CURLcode rc,
                     enum ss_rpc_outcome o, char *msg, size_t len)
{
    if (o == SS_RPC_ANSWERED)
        msg[0] = '\0';
    else if (o == SS_RPC_TOO_LARGE)
        snprintf(msg, len, "reply larger than %llu bytes", (unsigned long long)s->cap);
    else if (o == SS_RPC_SINK)
        snprintf(msg, len, "stopped by the reply's reader");
    else
        snprintf(msg, len, "%s", s->errbuf[0] ? s->errbuf : curl_easy_strerror(rc));
}

static struct slot *slot_of(struct ss_rpc *r, CURL *easy)
{
    for (size_t i = 0; i < SS_RPC_INFLIGHT_MAX; i++)
        if (r->slots[i].busy && r->slots[i].easy == easy)
            return &r->slots[i];
    return NULL;
}

static void pump(struct ss_rpc *r);

/* curl_loop's callback: the easy handle is already off the multi. */
static void on_done(void *arg, CURL *easy, CURLcode rc)
{
    struct ss_rpc *r = arg;
    struct slot *s = slot_of(r, easy);
    if (!s)
        return;
    long status = 0, connects = 0;
    curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_getinfo(easy, CURLINFO_NUM_CONNECTS, &connects);
    r->st.connects += (uint64_t)(connects > 0 ? connects : 0);
    char msg[CURL_ERROR_SIZE + 64];
    struct ss_rpc_result res = {
        .outcome = classify(s, rc), .http_status = status, .reply_bytes = s->bytes,
        .elapsed_ms = loop_now(r->lp) - s->started_ms, .error = msg,
    };
    describe(s, rc, res.outcome, msg, sizeof msg);
    count(r, &res);
    struct call c = s->call;
    s->busy = false;
    if (s->resume_timer)
        loop_timer_cancel(r->lp, s->resume_timer);
    s->resume_timer = 0;
    free(c.body);
    if (!deliver(r, &c, &res))
        pump(r);
}

/* --- starting calls --- */

static int slot_start(struct ss_rpc *r, struct slot *s, const struct call *c)
{
    s->call = *c;
    s->bytes = 0;
    s->cap = r->reply_max;
    s->over = s->sink_stop = false;
    s->burst = 0;
    s->errbuf[0] = '\0';
    s->started_ms = loop_now(r->lp);
    bool bad = curl_easy_setopt(s->easy, CURLOPT_POSTFIELDS, c->body) != CURLE_OK;
    bad |= curl_easy_setopt(s->easy, CURLOPT_POSTFIELDSIZE, (long)c->len) != CURLE_OK;
    bad |= curl_easy_setopt(s->easy, CURLOPT_MAXFILESIZE_LARGE,
                            (curl_off_t)s->cap) != CURLE_OK;
    if (bad || curl_loop_add(r->cl, s->easy) < 0)
        return -1;
    s->busy = true;
    r->st.bytes_sent += c->len;
    return 0;
}

static struct slot *free_slot(struct ss_rpc *r)
{
    for (size_t i = 0; i < SS_RPC_INFLIGHT_MAX; i++)
        if (!r->slots[i].busy)
            return &r->slots[i];
    return NULL;
}

/* Fills the free slots from the queue; from a loop callback only. A call curl refuses
 * ends at once (its done may free the client). */
static void pump(struct ss_rpc *r)
{
    struct slot *s;
    while (r->qlen > 0 && (s = free_slot(r)) != NULL) {
        struct call c = r->queue[r->qhead];
        r->qhead = (r->qhead + 1) % SS_RPC_QUEUE_MAX;
        r->qlen--;
        if (slot_start(r, s, &c) == 0)
            continue;
        free(c.body);
        struct ss_rpc_result res = { .outcome = SS_RPC_FAILED,
                                     .error = "curl refused to start the request" };
        count(r, &res);
        if (deliver(r, &c, &res))
            return;
    }
}

static void on_kick(void *arg)
{
    struct ss_rpc *r = arg;
    r->kick = 0;
    pump(r);
}

int ss_rpc_call(struct ss_rpc *r, const void *body, size_t len, ss_rpc_sink sink,
                ss_rpc_done done, void *arg)
{
    char *copy = NULL;
    if (!done || len > SS_RPC_BODY_MAX || r->qlen == SS_RPC_QUEUE_MAX ||
        !(copy = malloc(len ? len : 1))) {
        r->st.refused++;
        return -1;
    }
    if (!r->kick && !(r->kick = loop_timer_add(r->lp, 0, on_kick, r))) {
        free(copy);
        r->st.refused++;
        return -1;
    }
    if (len)
        memcpy(copy, body, len);
    r->queue[(r->qhead + r->qlen) % SS_RPC_QUEUE_MAX] =
        (struct call){ .body = copy, .len = len, .sink = sink, .done = done, .arg = arg };
    r->qlen++;
    r->st.calls++;
    return 0;
}

size_t ss_rpc_room(const struct ss_rpc *r)
{
    return SS_RPC_QUEUE_MAX - r->qlen;
}

/* --- set-up --- */

static CURL *easy_new(struct ss_rpc *r, struct slot *s)
{
    CURL *h = curl_loop_easy_web(r->url, r->timeout_ms, on_body, s, s->errbuf);
    if (!h)
        return NULL;
    bool bad = curl_easy_setopt(h, CURLOPT_HTTPHEADER, r->headers) != CURLE_OK;
    bad |= curl_easy_setopt(h, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1) != CURLE_OK;
    bad |= curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L) != CURLE_OK;
    bad |= curl_easy_setopt(h, CURLOPT_PROXY, "") != CURLE_OK;
    if (bad) {
        curl_easy_cleanup(h);
        return NULL;
    }
    return h;
}

/* Content-Type: jsonrpcs answers only JSON. "Expect:" keeps curl from waiting for a
 * 100 Continue (which Kamailio's xhttp never sends) before a body past 1 KB. */
static struct curl_slist *headers_new(void)
{
    struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
    struct curl_slist *h2 = h ? curl_slist_append(h, "Expect:") : NULL;
    if (!h2)
        curl_slist_free_all(h);
    return h2;
}

struct ss_rpc *ss_rpc_new(struct loop *lp, const char *url, uint32_t timeout_ms, char *err,
                          size_t errlen)
{
    if (!lp) {
        errbuf_set(err, errlen, "SIP server RPC: no loop");
        return NULL;
    }
    if (curl_loop_url_check("SIP server RPC", url, SS_RPC_URL_MAX, false, err, errlen) < 0)
        return NULL;
    struct ss_rpc *r = calloc(1, sizeof *r);
    if (!r || !(r->url = strdup(url))) {
        free(r);
        errbuf_set(err, errlen, "SIP server RPC %s: out of memory", url);
        return NULL;
    }
    r->lp = lp;
    r->timeout_ms = timeout_ms ? timeout_ms : SS_RPC_TIMEOUT_DEFAULT_MS;
    r->reply_max = SS_RPC_REPLY_MAX_DEFAULT;
    bool bad = !(r->headers = headers_new()) || !(r->cl = curl_loop_new(lp, on_done, r));
    for (size_t i = 0; i < SS_RPC_INFLIGHT_MAX && !bad; i++) {
        r->slots[i].rpc = r;
        bad = !(r->slots[i].easy = easy_new(r, &r->slots[i]));
    }
    if (bad) {
        ss_rpc_free(r);
        errbuf_set(err, errlen, "SIP server RPC %s: cannot set up libcurl", url);
        return NULL;
    }
    return r;
}

void ss_rpc_set_reply_max(struct ss_rpc *r, uint64_t bytes)
{
    /* curl takes the cap as a signed 64-bit size */
    r->reply_max = !bytes ? SS_RPC_REPLY_MAX_DEFAULT : bytes > INT64_MAX ? INT64_MAX : bytes;
}

void ss_rpc_get_stats(const struct ss_rpc *r, struct ss_rpc_stats *st)
{
    *st = r->st;
    st->queued = (uint32_t)r->qlen;
    st->in_flight = 0;
    for (size_t i = 0; i < SS_RPC_INFLIGHT_MAX; i++)
        st->in_flight += r->slots[i].busy;
}

void ss_rpc_free(struct ss_rpc *r)
{
    if (!r)
        return;
    if (r->freed)
        *r->freed = true;
    if (r->kick)
        loop_timer_cancel(r->lp, r->kick);
    /* libcurl asks for the easy handles to leave the multi before it is cleaned up. */
    for (size_t i = 0; i < SS_RPC_INFLIGHT_MAX; i++) {
        struct slot *s = &r->slots[i];
        if (s->busy) {
            curl_loop_remove(r->cl, s->easy);
            free(s->call.body);
        }
        if (s->resume_timer)
            loop_timer_cancel(r->lp, s->resume_timer);
        if (s->easy)
            curl_easy_cleanup(s->easy);
    }
    curl_loop_free(r->cl);
    for (size_t i = 0; i < r->qlen; i++)
        free(r->queue[(r->qhead + i) % SS_RPC_QUEUE_MAX].body);
    curl_slist_free_all(r->headers);
    free(r->url);
    free(r);
}

const char *ss_rpc_outcome_name(enum ss_rpc_outcome o)
{
    switch (o) {
    case SS_RPC_ANSWERED: return "answered";
    case SS_RPC_CONNECT: return "cannot connect";
    case SS_RPC_TIMEOUT: return "timed out";
    case SS_RPC_TOO_LARGE: return "reply too large";
    case SS_RPC_SINK: return "stopped by the reader";
    case SS_RPC_PROTOCOL: return "broken HTTP answer";
    case SS_RPC_FAILED: return "failed";
    }
    return "?";
}
