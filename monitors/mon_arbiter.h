/* mon_arbiter.h — is the arbiter (the seed's SCS) reachable?
 *
 * Every interval_ms an HTTP(S) GET of the arbiter URL, through libcurl's multi
 * interface on the agent loop (never blocking it). Reachable means a 2xx answer
 * within timeout_ms; anything else (other status, refused, reset, closed without an
 * answer, timeout, TLS failure) is unreachable. The callback gets the first state,
 * then each change only.
 *
 * One request at a time: the next one starts interval_ms after the previous one
 * started, or at once when it took longer than that. Each request opens a fresh
 * connection (no keep-alive), so every probe checks the whole path to the arbiter.
 * Limits: http and https only; redirects are not followed (a 3xx is unreachable);
 * no proxy, even if the environment names one (the arbiter itself must answer);
 * the body is discarded, and a transfer is cut once it passes MON_ARBITER_BODY_MAX
 * bytes (a 2xx status already received still counts as reachable); CURLOPT_NOSIGNAL.
 * The process should call curl_global_init once at start (curl_easy_init would do it
 * implicitly otherwise). */
#ifndef SIPHA_MON_ARBITER_H
#define SIPHA_MON_ARBITER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct loop;

#define MON_ARBITER_DEFAULT_INTERVAL_MS 1000u  /* <arbiter interval-ms> left out */
#define MON_ARBITER_DEFAULT_TIMEOUT_MS 1000u   /* <arbiter timeout-ms> left out */
#define MON_ARBITER_BODY_MAX (64u * 1024u)
#define MON_ARBITER_URL_MAX 1024u

/* Called from a loop callback, never from inside mon_arbiter_open. It may close the
 * monitor. */
typedef void (*mon_arbiter_cb)(void *ctx, bool reachable);

struct mon_arbiter_stats {
    uint64_t requests;      /* finished requests */
    uint64_t reachable;     /* ... of which answered 2xx */
    uint64_t unreachable;   /* ... of which did not */
    uint64_t body_bytes;    /* body bytes received and dropped */
};

struct mon_arbiter;

/* interval_ms or timeout_ms 0 means the default. Returns 0 with the monitor in *out
 * (first request on the next loop turn), or -1 with a one-line reason in err and *out
 * untouched: URL missing, malformed, too long or not http(s); no callback; curl
 * unusable. */
int mon_arbiter_open(struct mon_arbiter **out, struct loop *lp, const char *url,
                     uint32_t interval_ms, uint32_t timeout_ms, mon_arbiter_cb cb, void *ctx,
                     char *err, size_t errlen);

/* Stops the monitor, a request in flight included; the callback is not called again.
 * NULL is allowed. */
void mon_arbiter_close(struct mon_arbiter *m);

/* -1 before the first answer, else 0 (unreachable) or 1 (reachable). */
int mon_arbiter_state(const struct mon_arbiter *m);

/* Why the last request was unreachable ("HTTP status 503", curl's error text), for
 * the log; "" when it was reachable or nothing finished yet. */
const char *mon_arbiter_last_error(const struct mon_arbiter *m);

void mon_arbiter_get_stats(const struct mon_arbiter *m, struct mon_arbiter_stats *st);

#endif
