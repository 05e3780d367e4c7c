/* curl_loop.h — one libcurl multi handle driven by the agent loop (base/loop.h).
 *
 * curl reports the sockets it wants watched and the one timeout it wants through
 * CURLMOPT_SOCKETFUNCTION and CURLMOPT_TIMERFUNCTION; this module maps them onto
 * loop_watch_fd and loop_timer_add, feeds readiness and expiry back into
 * curl_multi_socket_action, and hands every finished transfer to the owner's callback.
 * The owner keeps its easy handles (creates, configures and cleans them up); this
 * module only adds them to and removes them from its multi. Nothing here blocks. */
#ifndef SIPHA_CURL_LOOP_H
#define SIPHA_CURL_LOOP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <curl/curl.h>

struct loop;
struct curl_loop;

/* Called from a loop callback, once per finished transfer, with curl's result.
 * `easy` has already been removed from the multi: the callback may read its info,
 * add it again, clean it up, or free the whole curl_loop. */
typedef void (*curl_loop_done_cb)(void *arg, CURL *easy, CURLcode result);

/* A multi handle on loop `lp`; NULL when out of memory or curl is unusable. */
struct curl_loop *curl_loop_new(struct loop *lp, curl_loop_done_cb done, void *arg);

/* Starts `easy`; curl begins work on the next loop turn, never inside this call.
 * Returns 0, or -1 (curl refused it, e.g. it is already added). */
int curl_loop_add(struct curl_loop *cl, CURL *easy);

/* Stops `easy` if it is in flight; harmless when it is not. NULL cl is allowed. */
void curl_loop_remove(struct curl_loop *cl, CURL *easy);

/* Releases the multi and every loop registration; no callback runs afterwards.
 * Remove (and clean up) the easy handles first, as libcurl asks. Allowed from inside
 * the done callback. NULL is allowed. */
void curl_loop_free(struct curl_loop *cl);

/* A new easy handle for `url`, limited to http and https (redirects too), bounded by
 * timeout_ms for the connection and the whole transfer, with no signals, sipha's
 * user agent, the body going to write(data) and curl's message to errbuf
 * (CURL_ERROR_SIZE bytes). The caller adds its own options. NULL on failure. */
CURL *curl_loop_easy_web(const char *url, uint32_t timeout_ms, curl_write_callback write,
                         void *data, char *errbuf);

/* Checks a web URL as curl will read it: given, at most max characters, http:// or
 * https://, parsed by curl with a host; with rooted, also without a path beyond "/".
 * Returns 0, or -1 with one line in err naming it by `what` ("arbiter", "etcd
 * endpoint"...): "no URL given", "URL longer than N characters", "only http:// and
 * https:// URLs are supported", "malformed URL (...)", "... without a path". The first
 * check that needs libcurl loads it (curl_lazy.h). */
int curl_loop_url_check(const char *what, const char *url, size_t max, bool rooted,
                        char *err, size_t errlen);

#endif
