/* config_fetch.h — getting the bytes of a configuration location: a path or file://
 * URL read from disk, an http:// or https:// URL fetched with libcurl. Two forms:
 * blocking (start-up only) and non-blocking on the agent's loop (SIGHUP reload, so a
 * slow configuration server never delays an SNMP answer). Both refuse documents over
 * CFETCH_MAX_BYTES and treat any HTTP status other than 2xx as an error. */
#ifndef SIPHA_CONFIG_FETCH_H
#define SIPHA_CONFIG_FETCH_H

#include <stddef.h>
#include <stdint.h>

struct loop;

#define CFETCH_MAX_BYTES (1024u * 1024u)
#define CFETCH_SYNC_TIMEOUT_MS 10000u
#define CFETCH_ERR_MAX 512

/* Blocking. On success returns 0 with *buf malloc'ed (NUL-terminated, `*len` bytes
 * before the NUL; the caller frees it). On error returns -1 and writes
 * "location: what went wrong" into err; *buf is left NULL. */
int cfetch_get(const char *location, uint32_t timeout_ms, char **buf, size_t *len,
               char *err, size_t errlen);

/* Called once from the loop when a started fetch ends. ok = 1: `buf` holds `len`
 * bytes (NUL-terminated) and err is NULL. ok = 0: buf is NULL and err says
 * "location: what went wrong". `buf` and `err` are valid only during the call, and
 * the fetch handle is already gone: the callback must not cancel it. */
typedef void (*cfetch_done_cb)(void *arg, int ok, const char *buf, size_t len,
                               const char *err);

struct cfetch;

/* Starts fetching `location` on loop `lp`, giving up after timeout_ms. Every outcome,
 * errors included (bad scheme, missing file), reaches `done` later from the loop, never
 * from inside this call. Returns 0 and the handle in *out, or -1 (out of memory,
 * curl unusable) with `done` never called. */
int cfetch_start(struct cfetch **out, struct loop *lp, const char *location,
                 uint32_t timeout_ms, cfetch_done_cb done, void *arg);

/* Stops a fetch whose `done` has not run yet; `done` will not run. NULL is allowed. */
void cfetch_cancel(struct cfetch *f);

#endif
