/* ss_json_hint.c — one evapi hint event, {"event":"aor","aor":"<aor>"}, read with
 * yajl's event parser (see ss_json.h). */
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <yajl/yajl_parse.h>

#include "errbuf.h"
#include "ss_json.h"

enum kind { V_NULL, V_BOOL, V_NUMBER, V_STRING };

#define HINT_DEPTH_MAX 8u

struct hint {
    unsigned depth;
    enum { H_OTHER, H_EVENT, H_AOR } key;
    bool event, got_aor;
    char aor[SS_AOR_MAX];
    char why[SS_JSON_TEXT_MAX];
};

__attribute__((format(printf, 2, 3)))
static int hint_no(struct hint *h, const char *fmt, ...)
{
    if (!h->why[0]) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(h->why, sizeof h->why, fmt, ap);
        va_end(ap);
    }
    return 0;
}

static int hint_value(void *ctx, enum kind kind, const unsigned char *s, size_t len)
{
    struct hint *h = ctx;
    if (h->depth == 0)
        return hint_no(h, "not a JSON object");
    if (h->depth > 1 || h->key == H_OTHER)
        return 1;
    if (kind != V_STRING)
        return hint_no(h, "%s is not a string", h->key == H_EVENT ? "event" : "aor");
    if (h->key == H_EVENT) {
        if (len != 3 || memcmp(s, "aor", 3) != 0)
            return hint_no(h, "event \"%.*s\" is not \"aor\"", (int)(len < 32 ? len : 32), s);
        h->event = true;
        return 1;
    }
    if (h->got_aor)
        return hint_no(h, "two AoRs");
    if (len == 0)
        return hint_no(h, "an empty AoR");
    if (len >= SS_AOR_MAX)
        return hint_no(h, "AoR longer than %u bytes", SS_AOR_MAX - 1);
    if (memchr(s, '\0', len))
        return hint_no(h, "AoR holds a NUL byte");
    memcpy(h->aor, s, len);
    h->aor[len] = '\0';
    h->got_aor = true;
    return 1;
}

static int hint_start(void *ctx, bool is_map)
{
    struct hint *h = ctx;
    if (h->depth == 0 && !is_map)
        return hint_no(h, "not a JSON object");
    if (h->depth == 1 && h->key != H_OTHER)
        return hint_no(h, "%s is not a string", h->key == H_EVENT ? "event" : "aor");
    if (++h->depth > HINT_DEPTH_MAX)
        return hint_no(h, "nested deeper than %u", HINT_DEPTH_MAX);
    return 1;
}

static int hint_null(void *ctx) { return hint_value(ctx, V_NULL, NULL, 0); }
static int hint_bool(void *ctx, int b) { (void)b; return hint_value(ctx, V_BOOL, NULL, 0); }
static int hint_number(void *ctx, const char *s, size_t len)
{
    return hint_value(ctx, V_NUMBER, (const unsigned char *)s, len);
}
static int hint_string(void *ctx, const unsigned char *s, size_t len)
{
    return hint_value(ctx, V_STRING, s, len);
}
static int hint_key(void *ctx, const unsigned char *s, size_t len)
{
    struct hint *h = ctx;
    if (h->depth == 1)
        h->key = len == 5 && !memcmp(s, "event", 5) ? H_EVENT
               : len == 3 && !memcmp(s, "aor", 3)   ? H_AOR
                                                    : H_OTHER;
    return 1;
}
static int hint_start_map(void *ctx) { return hint_start(ctx, true); }
static int hint_start_array(void *ctx) { return hint_start(ctx, false); }
static int hint_end(void *ctx) { ((struct hint *)ctx)->depth--; return 1; }

static const yajl_callbacks hint_callbacks = {
    .yajl_null = hint_null, .yajl_boolean = hint_bool, .yajl_number = hint_number,
    .yajl_string = hint_string, .yajl_start_map = hint_start_map, .yajl_map_key = hint_key,
    .yajl_end_map = hint_end, .yajl_start_array = hint_start_array, .yajl_end_array = hint_end,
};

int ss_json_parse_hint(const void *buf, size_t len, char aor[SS_AOR_MAX], char *err,
                       size_t errlen)
{
    if (len > SS_JSON_HINT_MAX)
        return errbuf_set(err, errlen, "hint: longer than %u bytes", SS_JSON_HINT_MAX);
    struct hint h = { 0 };
    yajl_handle y = yajl_alloc(&hint_callbacks, NULL, &h);
    if (!y)
        return errbuf_set(err, errlen, "hint: out of memory");
    yajl_config(y, yajl_dont_validate_strings, 1);
    yajl_status st = yajl_parse(y, buf, len);
    if (st == yajl_status_ok)
        st = yajl_complete_parse(y);
    if (st != yajl_status_ok && !h.why[0]) {
        unsigned char *e = yajl_get_error(y, 0, NULL, 0);
        size_t n = e ? strcspn((const char *)e, "\n") : 0;
        hint_no(&h, "not JSON: %.*s", (int)n, e ? (const char *)e : "");
        if (e)
            yajl_free_error(y, e);
    }
    yajl_free(y);
    if (!h.why[0] && !h.event)
        hint_no(&h, "no event");
    if (!h.why[0] && !h.got_aor)
        hint_no(&h, "no aor");
    if (h.why[0])
        return errbuf_set(err, errlen, "hint: %s", h.why);
    memcpy(aor, h.aor, SS_AOR_MAX);
    return 0;
}
