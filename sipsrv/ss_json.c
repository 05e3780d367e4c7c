/* ss_json.c — Kamailio JSON-RPC replies parsed as they arrive (see ss_json.h for the
 * formats; the evapi hint is read in ss_json_hint.c, requests written in ss_json_req.c).
 *
 * The reply parser rides yajl's events and keeps no tree: a stack of frames says what
 * each open object or array is (its role: the reply, "result", a record, a contact...),
 * the current record's AoR and the contact being read are the only data held, and each
 * contact is handed over when its object closes. */
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yajl/yajl_parse.h>

#include "ss_json.h"

/* --- roles of containers, names of keys --- */

enum role {
    R_SKIP,         /* not ours: read past, and everything inside it */
    R_ROOT,         /* the reply object */
    R_RESULT,       /* "result": a ul.lookup record, or the holder of "Domains" */
    R_ERROR,        /* "error" */
    R_DOMAINS,      /* "Domains": [ {"Domain": {...}} ] */
    R_DOMAIN_WRAP,
    R_DOMAIN,       /* {"Domain": "location", "AoRs": [...]} */
    R_AORS,         /* "AoRs": [ {"Info": {...}} ] */
    R_AOR_WRAP,
    R_RECORD,       /* "Info": {"AoR": ..., "Contacts": [...]} */
    R_CONTACTS,     /* "Contacts": [ {"Contact": {...}} ] */
    R_CONTACT_WRAP,
    R_CONTACT,      /* a contact's fields */
};

enum key {
    K_OTHER, K_RESULT, K_ERROR, K_ID, K_CODE, K_MESSAGE, K_DOMAINS, K_DOMAIN, K_AORS,
    K_INFO, K_AOR, K_CONTACTS, K_CONTACT, K_ADDRESS, K_EXPIRES, K_Q, K_PATH, K_RECEIVED,
    K_SOCKET, K_USER_AGENT, K_FLAGS, K_CFLAGS, K_METHODS,
};

static const char *const key_names[] = {
    [K_OTHER] = "", [K_RESULT] = "result", [K_ERROR] = "error", [K_ID] = "id",
    [K_CODE] = "code", [K_MESSAGE] = "message", [K_DOMAINS] = "Domains",
    [K_DOMAIN] = "Domain", [K_AORS] = "AoRs", [K_INFO] = "Info", [K_AOR] = "AoR",
    [K_CONTACTS] = "Contacts", [K_CONTACT] = "Contact", [K_ADDRESS] = "Address",
    [K_EXPIRES] = "Expires", [K_Q] = "Q", [K_PATH] = "Path", [K_RECEIVED] = "Received",
    [K_SOCKET] = "Socket", [K_USER_AGENT] = "User-Agent", [K_FLAGS] = "Flags",
    [K_CFLAGS] = "CFlags", [K_METHODS] = "Methods",
};

enum kind { V_NULL, V_BOOL, V_NUMBER, V_STRING };

#define NOT_SET "[not set]" /* Kamailio's unset string */
#define NUM_MAX 64          /* longest number text read as one */

static enum key key_of(const unsigned char *s, size_t len)
{
    for (size_t k = 1; k < sizeof key_names / sizeof key_names[0]; k++)
        if (strlen(key_names[k]) == len && memcmp(key_names[k], s, len) == 0)
            return (enum key)k;
    return K_OTHER;
}

/* The role of a container opened in `parent` (under key k when parent is an object),
 * R_SKIP when it is not ours; *bad when it is ours but an array stands where an object
 * belongs or the reverse. */
static enum role child_role(enum role parent, enum key k, bool is_map, bool *bad)
{
    enum role r = R_SKIP;
    bool map = true;
    switch (parent) {
    case R_ROOT:
        if (k == K_RESULT && is_map) /* other methods may answer an array */
            r = R_RESULT;
        else if (k == K_ERROR)
            r = R_ERROR;
        break;
    case R_RESULT:
    case R_RECORD:
        if (k == K_CONTACTS)
            r = R_CONTACTS, map = false;
        else if (parent == R_RESULT && k == K_DOMAINS)
            r = R_DOMAINS, map = false;
        break;
    case R_DOMAINS: r = R_DOMAIN_WRAP; break;
    case R_DOMAIN_WRAP: r = k == K_DOMAIN ? R_DOMAIN : R_SKIP; break;
    case R_DOMAIN:
        if (k == K_AORS)
            r = R_AORS, map = false;
        break;
    case R_AORS: r = R_AOR_WRAP; break;
    case R_AOR_WRAP: r = k == K_INFO ? R_RECORD : R_SKIP; break;
    case R_CONTACTS: r = R_CONTACT_WRAP; break;
    case R_CONTACT_WRAP: r = k == K_CONTACT ? R_CONTACT : R_SKIP; break;
    default: break;
    }
    *bad = r != R_SKIP && map != is_map;
    return r;
}

static bool is_array_role(enum role r)
{
    return r == R_DOMAINS || r == R_AORS || r == R_CONTACTS;
}

/* --- the parser --- */

struct frame {
    uint8_t role; /* enum role */
    bool is_map;
};

enum aor_state { AOR_NONE, AOR_SET, AOR_BAD };

struct ss_json {
    yajl_handle y;
    struct ss_json_limits lim;
    ss_json_contact_cb cb;
    void *arg;
    struct frame stack[SS_JSON_DEPTH_HARD_MAX];
    unsigned depth;
    enum key key; /* the last key read in the innermost object */
    bool has_result, has_error, has_code;
    /* the record being read */
    enum aor_state aor_state;
    char aor[SS_AOR_MAX];
    char aor_why[SS_JSON_TEXT_MAX];
    struct ss_contact *pending; /* contacts read before their AoR */
    unsigned npending;
    /* the contact being read */
    struct ss_contact cur;
    bool cur_bad, cur_address;
    char cur_why[SS_JSON_TEXT_MAX];
    /* the token bound, ahead of yajl */
    bool in_str, esc;
    size_t tok;
    uint64_t fed;
    size_t mem, mem_peak;
    struct ss_json_result res;
};

/* --- memory, counted so that tests can hold the bound --- */

union mem_hdr {
    size_t n;
    max_align_t align;
};

static void mem_add(struct ss_json *p, size_t n)
{
    p->mem += n;
    if (p->mem > p->mem_peak)
        p->mem_peak = p->mem;
}

static void *mem_malloc(void *ctx, size_t n)
{
    if (n > SIZE_MAX - sizeof(union mem_hdr))
        return NULL;
    union mem_hdr *h = malloc(sizeof *h + n);
    if (!h)
        return NULL;
    h->n = n;
    mem_add(ctx, n);
    return h + 1;
}

static void mem_free(void *ctx, void *ptr)
{
    if (!ptr)
        return;
    union mem_hdr *h = (union mem_hdr *)ptr - 1;
    ((struct ss_json *)ctx)->mem -= h->n;
    free(h);
}

static void *mem_realloc(void *ctx, void *ptr, size_t n)
{
    if (!ptr)
        return mem_malloc(ctx, n);
    if (n > SIZE_MAX - sizeof(union mem_hdr))
        return NULL;
    union mem_hdr *h = (union mem_hdr *)ptr - 1;
    size_t old = h->n;
    union mem_hdr *g = realloc(h, sizeof *g + n);
    if (!g)
        return NULL;
    g->n = n;
    ((struct ss_json *)ctx)->mem -= old;
    mem_add(ctx, n);
    return g + 1;
}

/* --- verdicts --- */

/* Ends the parse with `st`; returns 0, which tells yajl to stop. */
__attribute__((format(printf, 3, 4)))
static int fail(struct ss_json *p, enum ss_json_status st, const char *fmt, ...)
{
    if (p->res.status != SS_JSON_MORE)
        return 0;
    p->res.status = st;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p->res.reason, sizeof p->res.reason, fmt, ap);
    va_end(ap);
    return 0;
}

/* The contact being read will be skipped; the first reason is kept. */
__attribute__((format(printf, 2, 3)))
static void contact_bad(struct ss_json *p, const char *fmt, ...)
{
    if (p->cur_bad)
        return;
    p->cur_bad = true;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p->cur_why, sizeof p->cur_why, fmt, ap);
    va_end(ap);
}

static void count_invalid(struct ss_json *p, const char *why)
{
    p->res.invalid++;
    if (!p->res.first_invalid[0])
        snprintf(p->res.first_invalid, sizeof p->res.first_invalid, "%s", why);
}

/* --- records and contacts --- */

static int emit(struct ss_json *p, struct ss_contact *c)
{
    if (p->res.contacts >= p->lim.max_contacts)
        return fail(p, SS_JSON_TOO_LARGE, "more than %llu contacts",
                    (unsigned long long)p->lim.max_contacts);
    memcpy(c->aor, p->aor, sizeof c->aor);
    p->res.contacts++;
    if (p->cb && p->cb(p->arg, c) != 0)
        return fail(p, SS_JSON_STOPPED, "stopped by the contact callback");
    return 1;
}

static void record_begin(struct ss_json *p)
{
    p->aor_state = AOR_NONE;
    p->aor[0] = '\0';
    p->npending = 0;
}

/* Contacts held for want of an AoR go out once it is known, in their order. */
static int flush_pending(struct ss_json *p)
{
    unsigned n = p->npending;
    p->npending = 0;
    for (unsigned i = 0; i < n; i++) {
        if (p->aor_state != AOR_SET)
            count_invalid(p, p->aor_state == AOR_BAD ? p->aor_why : "a record without AoR");
        else if (!emit(p, &p->pending[i]))
            return 0;
    }
    return 1;
}

static int record_aor(struct ss_json *p, enum kind kind, const unsigned char *s, size_t len)
{
    p->res.records++;
    p->aor_state = AOR_BAD;
    if (kind != V_STRING)
        snprintf(p->aor_why, sizeof p->aor_why, "an AoR that is not a string");
    else if (len == 0)
        snprintf(p->aor_why, sizeof p->aor_why, "an empty AoR");
    else if (len >= SS_AOR_MAX)
        snprintf(p->aor_why, sizeof p->aor_why, "AoR longer than %u bytes", SS_AOR_MAX - 1);
    else if (memchr(s, '\0', len))
        snprintf(p->aor_why, sizeof p->aor_why, "AoR holds a NUL byte");
    else
        p->aor_state = AOR_SET;
    if (p->aor_state == AOR_SET) {
        memcpy(p->aor, s, len);
        p->aor[len] = '\0';
    }
    return p->npending ? flush_pending(p) : 1;
}

static void contact_begin(struct ss_json *p)
{
    memset(&p->cur, 0, sizeof p->cur);
    p->cur.q = SS_Q_UNSET;
    p->cur_bad = false;
    p->cur_address = false;
}

static int contact_end(struct ss_json *p)
{
    if (!p->cur_bad && !p->cur_address)
        contact_bad(p, "a contact without Address");
    if (p->cur_bad) {
        count_invalid(p, p->cur_why);
        return 1;
    }
    if (p->aor_state == AOR_SET)
        return emit(p, &p->cur);
    if (p->aor_state == AOR_BAD) {
        count_invalid(p, p->aor_why);
        return 1;
    }
    if (p->npending == SS_JSON_PENDING_MAX) {
        count_invalid(p, "too many contacts before their record's AoR");
        return 1;
    }
    if (!p->pending) {
        p->pending = mem_malloc(p, SS_JSON_PENDING_MAX * sizeof *p->pending);
        if (!p->pending)
            return fail(p, SS_JSON_TOO_LARGE, "out of memory");
    }
    p->pending[p->npending++] = p->cur;
    return 1;
}

/* --- contact fields --- */

static void set_str(struct ss_json *p, char *dst, size_t cap, enum key k,
                    const unsigned char *s, size_t len)
{
    if (len == sizeof NOT_SET - 1 && memcmp(s, NOT_SET, len) == 0) {
        dst[0] = '\0';
    } else if (len >= cap) {
        contact_bad(p, "%s longer than %zu bytes", key_names[k], cap - 1);
    } else if (memchr(s, '\0', len)) {
        contact_bad(p, "%s holds a NUL byte", key_names[k]);
    } else {
        memcpy(dst, s, len);
        dst[len] = '\0';
    }
}

/* A JSON number's text as a NUL-terminated string; false when too long to be ours. */
static bool num_text(char out[NUM_MAX], const unsigned char *s, size_t len)
{
    if (len == 0 || len >= NUM_MAX)
        return false;
    memcpy(out, s, len);
    out[len] = '\0';
    return true;
}

/* A whole number in 0..UINT32_MAX (Kamailio prints its flags unsigned). */
static bool parse_u32(const unsigned char *s, size_t len, uint32_t *out)
{
    uint64_t v = 0;
    if (len == 0 || len > 10)
        return false;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        v = v * 10 + (uint64_t)(s[i] - '0');
    }
    if (v > UINT32_MAX)
        return false;
    *out = (uint32_t)v;
    return true;
}

static void set_expires(struct ss_json *p, enum kind kind, const unsigned char *s, size_t len)
{
    uint32_t v;
    if (kind == V_STRING && len == 9 && memcmp(s, "permanent", 9) == 0)
        p->cur.expires_s = SS_EXPIRES_PERMANENT;
    else if (kind == V_STRING && ((len == 7 && memcmp(s, "expired", 7) == 0) ||
                                  (len == 7 && memcmp(s, "deleted", 7) == 0)))
        p->cur.expires_s = 0;
    else if (kind == V_NUMBER && parse_u32(s, len, &v))
        p->cur.expires_s = v == SS_EXPIRES_PERMANENT ? v - 1 : v;
    else
        contact_bad(p, "Expires is neither seconds left nor permanent/expired/deleted");
}

/* Q is a double (-1 unset, 0..1); 0.5 becomes 500. */
static void set_q(struct ss_json *p, const unsigned char *s, size_t len)
{
    char t[NUM_MAX];
    char *end;
    double q = 0;
    if (num_text(t, s, len))
        q = strtod(t, &end);
    if (!num_text(t, s, len) || *end != '\0')
        contact_bad(p, "Q is not a number");
    else if (q == -1.0)
        p->cur.q = SS_Q_UNSET;
    else if (q >= 0.0 && q <= 1.0)
        p->cur.q = (int32_t)(q * 1000.0 + 0.5);
    else
        contact_bad(p, "Q %s is outside 0..1", t);
}

static void set_u32(struct ss_json *p, uint32_t *dst, enum key k, const unsigned char *s,
                    size_t len)
{
    if (!parse_u32(s, len, dst))
        contact_bad(p, "%s is not a number in 0..4294967295", key_names[k]);
}

static void contact_value(struct ss_json *p, enum kind kind, const unsigned char *s, size_t len)
{
    struct ss_contact *c = &p->cur;
    enum key k = p->key;
    bool str = kind == V_STRING, num = kind == V_NUMBER;
    if (kind == V_NULL && k != K_ADDRESS)
        return; /* unset: the default stays */
    switch (k) {
    case K_ADDRESS:
        p->cur_address = true;
        if (!str) {
            contact_bad(p, "Address is not a string");
            return;
        }
        set_str(p, c->uri, sizeof c->uri, k, s, len);
        if (!c->uri[0])
            contact_bad(p, "an empty Address");
        return;
    case K_PATH: if (str) set_str(p, c->path, sizeof c->path, k, s, len); break;
    case K_RECEIVED: if (str) set_str(p, c->received, sizeof c->received, k, s, len); break;
    case K_SOCKET: if (str) set_str(p, c->socket, sizeof c->socket, k, s, len); break;
    case K_USER_AGENT: if (str) set_str(p, c->user_agent, sizeof c->user_agent, k, s, len); break;
    case K_EXPIRES: set_expires(p, kind, s, len); return;
    case K_Q: if (num) set_q(p, s, len); break;
    case K_FLAGS: if (num) set_u32(p, &c->flags, k, s, len); break;
    case K_CFLAGS: if (num) set_u32(p, &c->cflags, k, s, len); break;
    case K_METHODS: if (num) set_u32(p, &c->methods, k, s, len); break;
    default: return;
    }
    bool want_str = k == K_PATH || k == K_RECEIVED || k == K_SOCKET || k == K_USER_AGENT;
    if (want_str ? !str : !num)
        contact_bad(p, "%s is not a %s", key_names[k], want_str ? "string" : "number");
}

/* --- the reply object and its error --- */

static void copy_text(char *dst, size_t cap, const unsigned char *s, size_t len)
{
    size_t n = len < cap - 1 ? len : cap - 1;
    memcpy(dst, s, n);
    dst[n] = '\0';
}

static int root_value(struct ss_json *p, enum kind kind, const unsigned char *s, size_t len)
{
    if (p->key == K_RESULT)
        p->has_result = true;
    else if (p->key == K_ERROR)
        return fail(p, SS_JSON_MALFORMED, "error is not an object");
    else if (p->key == K_ID && (kind == V_NUMBER || kind == V_STRING))
        copy_text(p->res.id, sizeof p->res.id, s, len);
    return 1;
}

static int error_value(struct ss_json *p, enum kind kind, const unsigned char *s, size_t len)
{
    char t[NUM_MAX], *end;
    if (p->key == K_MESSAGE && kind == V_STRING) {
        copy_text(p->res.rpc_message, sizeof p->res.rpc_message, s, len);
    } else if (p->key == K_CODE) {
        if (kind != V_NUMBER || !num_text(t, s, len))
            return fail(p, SS_JSON_MALFORMED, "error code is not a number");
        p->res.rpc_code = strtoll(t, &end, 10);
        if (*end != '\0')
            return fail(p, SS_JSON_MALFORMED, "error code %s is not a whole number", t);
        p->has_code = true;
    }
    return 1;
}

/* --- yajl's events --- */

static int on_value(struct ss_json *p, enum kind kind, const unsigned char *s, size_t len)
{
    if (p->depth == 0)
        return fail(p, SS_JSON_MALFORMED, "the reply is not a JSON object");
    const struct frame *top = &p->stack[p->depth - 1];
    enum role r = (enum role)top->role;
    bool bad;
    if (!top->is_map)
        return is_array_role(r) ? fail(p, SS_JSON_MALFORMED, "an array of objects holds a "
                                       "scalar") : 1;
    switch (r) {
    case R_ROOT: return root_value(p, kind, s, len);
    case R_ERROR: return error_value(p, kind, s, len);
    case R_CONTACT: contact_value(p, kind, s, len); return 1;
    case R_RESULT:
    case R_RECORD:
        if (p->key == K_AOR)
            return record_aor(p, kind, s, len);
        break;
    default: break;
    }
    if (child_role(r, p->key, true, &bad) != R_SKIP || child_role(r, p->key, false, &bad) != R_SKIP)
        return fail(p, SS_JSON_MALFORMED, "%s is not an object or array", key_names[p->key]);
    return 1;
}

static int on_start(struct ss_json *p, bool is_map)
{
    if (p->depth >= p->lim.max_depth)
        return fail(p, SS_JSON_TOO_DEEP, "nested deeper than %u", p->lim.max_depth);
    enum role r = R_ROOT;
    if (p->depth == 0 && !is_map)
        return fail(p, SS_JSON_MALFORMED, "the reply is not a JSON object");
    if (p->depth > 0) {
        const struct frame *top = &p->stack[p->depth - 1];
        enum key k = top->is_map ? p->key : K_OTHER;
        bool bad;
        r = child_role((enum role)top->role, k, is_map, &bad);
        if (bad)
            return fail(p, SS_JSON_MALFORMED, "%s%s is not an %s", key_names[k],
                        k ? "" : "an element", is_map ? "array" : "object");
        if (top->role == R_CONTACT && k != K_OTHER)
            contact_bad(p, "%s is not a scalar", key_names[k]);
        if (top->role == R_ROOT && k == K_RESULT)
            p->has_result = true;
        if (top->role == R_ROOT && k == K_ERROR)
            p->has_error = true;
    }
    p->stack[p->depth++] = (struct frame){ .role = (uint8_t)r, .is_map = is_map };
    if (r == R_RESULT || r == R_RECORD)
        record_begin(p);
    else if (r == R_CONTACT)
        contact_begin(p);
    return 1;
}

static int on_end(struct ss_json *p)
{
    enum role r = (enum role)p->stack[--p->depth].role;
    if (r == R_CONTACT)
        return contact_end(p);
    if (r == R_RESULT || r == R_RECORD) {
        int ok = flush_pending(p);
        record_begin(p);
        return ok;
    }
    return 1;
}

static int y_null(void *ctx) { return on_value(ctx, V_NULL, NULL, 0); }
static int y_bool(void *ctx, int b) { (void)b; return on_value(ctx, V_BOOL, NULL, 0); }
static int y_number(void *ctx, const char *s, size_t len)
{
    return on_value(ctx, V_NUMBER, (const unsigned char *)s, len);
}
static int y_string(void *ctx, const unsigned char *s, size_t len)
{
    return on_value(ctx, V_STRING, s, len);
}
static int y_key(void *ctx, const unsigned char *s, size_t len)
{
    ((struct ss_json *)ctx)->key = key_of(s, len);
    return 1;
}
static int y_start_map(void *ctx) { return on_start(ctx, true); }
static int y_start_array(void *ctx) { return on_start(ctx, false); }
static int y_end(void *ctx) { return on_end(ctx); }

static const yajl_callbacks reply_callbacks = {
    .yajl_null = y_null, .yajl_boolean = y_bool, .yajl_number = y_number,
    .yajl_string = y_string, .yajl_start_map = y_start_map, .yajl_map_key = y_key,
    .yajl_end_map = y_end, .yajl_start_array = y_start_array, .yajl_end_array = y_end,
};

/* --- feeding --- */

static bool is_word(unsigned char ch)
{
    return (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
           ch == '-' || ch == '+' || ch == '.';
}

/* yajl keeps a token cut between two feeds in a buffer of its own until the token
 * ends, so every string and number is measured here, before yajl sees the bytes.
 * Returns the index of the byte that passes the bound, or len. */
static size_t prescan(struct ss_json *p, const unsigned char *s, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = s[i];
        if (p->in_str) {
            if (p->esc) {
                p->esc = false;
            } else if (ch == '\\') {
                p->esc = true;
            } else if (ch == '"') {
                p->in_str = false;
                p->tok = 0;
                continue;
            }
            if (++p->tok > p->lim.max_token)
                return i;
        } else if (ch == '"') {
            p->in_str = true;
            p->tok = 0;
        } else if (is_word(ch)) {
            if (++p->tok > p->lim.max_token)
                return i;
        } else {
            p->tok = 0;
        }
    }
    return len;
}

/* yajl stopped: either one of our callbacks gave the verdict, or the text is not JSON. */
static void yajl_failed(struct ss_json *p, uint64_t at)
{
    p->res.offset = at;
    if (p->res.status != SS_JSON_MORE)
        return;
    unsigned char *e = yajl_get_error(p->y, 0, NULL, 0);
    size_t n = e ? strcspn((const char *)e, "\n") : 0;
    fail(p, SS_JSON_MALFORMED, "%.*s", (int)n, e ? (const char *)e : "");
    if (e)
        yajl_free_error(p->y, e);
}

enum ss_json_status ss_json_feed(struct ss_json *p, const void *buf, size_t len)
{
    if (p->res.status != SS_JSON_MORE || len == 0)
        return p->res.status;
    size_t bad = prescan(p, buf, len);
    if (bad < len) {
        fail(p, SS_JSON_TOO_LARGE, "a string or number longer than %zu bytes",
             p->lim.max_token);
        p->res.offset = p->fed + bad + 1;
        return p->res.status;
    }
    if (yajl_parse(p->y, buf, len) != yajl_status_ok)
        yajl_failed(p, p->fed + yajl_get_bytes_consumed(p->y));
    p->fed += len;
    return p->res.status;
}

enum ss_json_status ss_json_finish(struct ss_json *p)
{
    if (p->res.status != SS_JSON_MORE)
        return p->res.status;
    if (yajl_complete_parse(p->y) != yajl_status_ok) {
        yajl_failed(p, p->fed);
        return p->res.status;
    }
    p->res.offset = p->fed;
    if (p->has_result && p->has_error)
        fail(p, SS_JSON_MALFORMED, "both result and error");
    else if (p->has_error && !p->has_code)
        fail(p, SS_JSON_MALFORMED, "an error without code");
    else if (p->has_error)
        p->res.status = SS_JSON_RPC_ERROR;
    else if (p->has_result)
        p->res.status = SS_JSON_OK;
    else
        fail(p, SS_JSON_MALFORMED, "neither result nor error");
    return p->res.status;
}

/* --- life --- */

struct ss_json *ss_json_new(const struct ss_json_limits *limits, ss_json_contact_cb cb,
                            void *arg)
{
    struct ss_json *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    p->cb = cb;
    p->arg = arg;
    if (limits)
        p->lim = *limits;
    if (p->lim.max_depth == 0 || p->lim.max_depth > SS_JSON_DEPTH_HARD_MAX)
        p->lim.max_depth = p->lim.max_depth ? SS_JSON_DEPTH_HARD_MAX : SS_JSON_DEPTH_DEFAULT;
    if (p->lim.max_token == 0)
        p->lim.max_token = SS_JSON_TOKEN_DEFAULT;
    if (p->lim.max_contacts == 0)
        p->lim.max_contacts = SS_JSON_CONTACTS_DEFAULT;
    mem_add(p, sizeof *p);
    yajl_alloc_funcs af = { mem_malloc, mem_realloc, mem_free, p };
    p->y = yajl_alloc(&reply_callbacks, &af, p);
    if (!p->y) {
        free(p);
        return NULL;
    }
    /* Kamailio copies a User-Agent's bytes as they came, UTF-8 or not: one odd phone
     * must not make the whole dump unreadable. */
    yajl_config(p->y, yajl_dont_validate_strings, 1);
    return p;
}

const struct ss_json_result *ss_json_result(const struct ss_json *p)
{
    return &p->res;
}

size_t ss_json_memory_peak(const struct ss_json *p)
{
    return p->mem_peak;
}

void ss_json_free(struct ss_json *p)
{
    if (!p)
        return;
    yajl_free(p->y);
    mem_free(p, p->pending);
    free(p);
}

const char *ss_json_status_name(enum ss_json_status st)
{
    switch (st) {
    case SS_JSON_MORE: return "incomplete";
    case SS_JSON_OK: return "ok";
    case SS_JSON_RPC_ERROR: return "JSON-RPC error";
    case SS_JSON_MALFORMED: return "malformed";
    case SS_JSON_TOO_LARGE: return "too large";
    case SS_JSON_TOO_DEEP: return "too deep";
    case SS_JSON_STOPPED: return "stopped";
    }
    return "?";
}
