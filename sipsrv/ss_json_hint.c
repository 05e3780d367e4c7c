/* ss_json_hint.c — one evapi hint event, {"event":"aor","aor":"<aor>"} with the AOR's
 * contacts optionally, read with yajl's event parser (see ss_json.h).
 *
 * Depths: 1 is the event object; inside "contacts", 2 is the array and 3 a contact
 * object. A contact that is not exactly what ss_json.h says drops the list (the
 * caller reads the AOR instead) but not the hint: its AOR is still good news. */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yajl/yajl_parse.h>

#include "errbuf.h"
#include "ss_json.h"

enum kind { V_NULL, V_BOOL, V_NUMBER, V_STRING };

#define HINT_DEPTH_MAX 8u

enum top_key { H_OTHER, H_EVENT, H_AOR, H_CONTACTS };
enum contact_key { C_OTHER, C_URI, C_EXPIRES, C_Q, C_FLAGS, C_CFLAGS, C_METHODS, C_PATH,
                   C_RECEIVED, C_SOCKET };

struct hint {
    unsigned depth;
    enum top_key key;          /* the key at depth 1 whose value comes next */
    enum contact_key ckey;     /* the key at depth 3, inside a contact */
    bool event, got_aor;
    bool in_list;              /* inside the "contacts" array */
    bool list_seen, list_bad, list_long;
    bool got_uri, got_expires; /* of the contact being read */
    struct ss_hint *out;
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

/* ---- inside "contacts" ---------------------------------------------------------------- */

static struct ss_contact *cur(struct hint *h)
{
    return &h->out->contacts[h->out->n_contacts];
}

static bool str_field(char *dst, size_t cap, const unsigned char *s, size_t len, bool empty_ok)
{
    if (len >= cap || (!empty_ok && len == 0) || memchr(s, '\0', len))
        return false;
    memcpy(dst, s, len);
    dst[len] = '\0';
    return true;
}

static bool int_field(const unsigned char *s, size_t len, long long lo, long long hi,
                      long long *v)
{
    char buf[32];
    if (len == 0 || len >= sizeof buf)
        return false;
    memcpy(buf, s, len);
    buf[len] = '\0';
    char *end;
    errno = 0;
    long long x = strtoll(buf, &end, 10);
    if (errno || *end || x < lo || x > hi)
        return false;
    *v = x;
    return true;
}

/* One value of the contact being read; false: the list is not usable. */
static bool contact_value(struct hint *h, enum kind kind, const unsigned char *s, size_t len)
{
    struct ss_contact *c = cur(h);
    long long v;
    bool str = kind == V_STRING, num = kind == V_NUMBER;
    switch (h->ckey) {
    case C_OTHER: return true;
    case C_URI: return str && (h->got_uri = str_field(c->uri, sizeof c->uri, s, len, false));
    case C_PATH: return str && str_field(c->path, sizeof c->path, s, len, true);
    case C_RECEIVED: return str && str_field(c->received, sizeof c->received, s, len, true);
    case C_SOCKET: return str && str_field(c->socket, sizeof c->socket, s, len, true);
    case C_EXPIRES: /* seconds left; a permanent contact is never hinted with its list */
        if (!num || !int_field(s, len, 1, INT32_MAX, &v))
            return false;
        c->expires_s = (uint32_t)v;
        h->got_expires = true;
        return true;
    case C_Q:
        if (!num || !int_field(s, len, -1, 1000, &v))
            return false;
        c->q = (int32_t)v;
        return true;
    case C_FLAGS:
    case C_CFLAGS:
    case C_METHODS:
        if (!num || !int_field(s, len, 0, UINT32_MAX, &v))
            return false;
        *(h->ckey == C_FLAGS ? &c->flags : h->ckey == C_CFLAGS ? &c->cflags : &c->methods) =
            (uint32_t)v;
        return true;
    }
    return false;
}

static void contact_begin(struct hint *h)
{
    if (h->out->n_contacts == SS_HINT_CONTACTS_MAX) {
        h->list_long = true;
        return;
    }
    *cur(h) = (struct ss_contact){ .q = SS_Q_UNSET };
    h->got_uri = h->got_expires = false;
    h->ckey = C_OTHER;
}

static void contact_end(struct hint *h)
{
    if (h->list_long || h->list_bad)
        return;
    if (!h->got_uri || !h->got_expires) {
        h->list_bad = true;
        return;
    }
    h->out->n_contacts++;
}

static enum contact_key contact_key_of(const unsigned char *s, size_t len)
{
    static const char *const names[] = { [C_URI] = "uri", [C_EXPIRES] = "expires", [C_Q] = "q",
        [C_FLAGS] = "flags", [C_CFLAGS] = "cflags", [C_METHODS] = "methods", [C_PATH] = "path",
        [C_RECEIVED] = "received", [C_SOCKET] = "socket" };
    for (size_t k = 1; k < sizeof names / sizeof names[0]; k++)
        if (strlen(names[k]) == len && memcmp(names[k], s, len) == 0)
            return (enum contact_key)k;
    return C_OTHER;
}

/* ---- the event ------------------------------------------------------------------------- */

static int hint_value(void *ctx, enum kind kind, const unsigned char *s, size_t len)
{
    struct hint *h = ctx;
    if (h->depth == 0)
        return hint_no(h, "not a JSON object");
    if (h->in_list) {
        if (h->depth == 2 || (h->depth == 3 && !h->list_long && !contact_value(h, kind, s, len)))
            h->list_bad = true;
        return 1;
    }
    if (h->depth > 1 || h->key == H_OTHER)
        return 1;
    if (h->key == H_CONTACTS) {
        h->list_seen = h->list_bad = true;
        return 1;
    }
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
    memcpy(h->out->aor, s, len);
    h->out->aor[len] = '\0';
    h->got_aor = true;
    return 1;
}

static int hint_start(void *ctx, bool is_map)
{
    struct hint *h = ctx;
    if (h->depth == 0 && !is_map)
        return hint_no(h, "not a JSON object");
    if (h->depth == 1 && (h->key == H_EVENT || h->key == H_AOR))
        return hint_no(h, "%s is not a string", h->key == H_EVENT ? "event" : "aor");
    if (++h->depth > HINT_DEPTH_MAX)
        return hint_no(h, "nested deeper than %u", HINT_DEPTH_MAX);
    if (h->depth == 2 && h->key == H_CONTACTS) {
        if (h->list_seen || is_map)
            h->list_bad = true;
        h->list_seen = true;
        h->in_list = !is_map;
    } else if (h->in_list && h->depth == 3) {
        if (is_map)
            contact_begin(h);
        else
            h->list_bad = true;
    } else if (h->in_list && h->depth == 4 && h->ckey != C_OTHER) {
        h->list_bad = true; /* a known field holds an object or array */
    }
    return 1;
}

static int hint_end(void *ctx)
{
    struct hint *h = ctx;
    if (h->in_list && h->depth == 3)
        contact_end(h);
    if (h->in_list && h->depth == 2)
        h->in_list = false;
    h->depth--;
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
        h->key = len == 5 && !memcmp(s, "event", 5)    ? H_EVENT
               : len == 3 && !memcmp(s, "aor", 3)      ? H_AOR
               : len == 8 && !memcmp(s, "contacts", 8) ? H_CONTACTS
                                                       : H_OTHER;
    else if (h->in_list && h->depth == 3)
        h->ckey = contact_key_of(s, len);
    return 1;
}
static int hint_start_map(void *ctx) { return hint_start(ctx, true); }
static int hint_start_array(void *ctx) { return hint_start(ctx, false); }

static const yajl_callbacks hint_callbacks = {
    .yajl_null = hint_null, .yajl_boolean = hint_bool, .yajl_number = hint_number,
    .yajl_string = hint_string, .yajl_start_map = hint_start_map, .yajl_map_key = hint_key,
    .yajl_end_map = hint_end, .yajl_start_array = hint_start_array, .yajl_end_array = hint_end,
};

int ss_json_parse_hint(const void *buf, size_t len, struct ss_hint *out, char *err, size_t errlen)
{
    out->aor[0] = '\0';
    out->n_contacts = 0;
    out->has_contacts = out->contacts_invalid = false;
    if (len > SS_JSON_HINT_MAX)
        return errbuf_set(err, errlen, "hint: longer than %u bytes", SS_JSON_HINT_MAX);
    struct hint h = { .out = out };
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
    if (h.why[0]) {
        out->aor[0] = '\0';
        out->n_contacts = 0;
        return errbuf_set(err, errlen, "hint: %s", h.why);
    }
    out->contacts_invalid = h.list_bad;
    out->has_contacts = h.list_seen && !h.list_bad && !h.list_long;
    if (!out->has_contacts)
        out->n_contacts = 0;
    for (size_t i = 0; i < out->n_contacts; i++)
        memcpy(out->contacts[i].aor, out->aor, sizeof out->aor);
    return 0;
}
