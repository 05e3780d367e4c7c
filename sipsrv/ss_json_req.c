/* ss_json_req.c — the JSON-RPC 2.0 requests sipsrv/ sends Kamailio, written into the
 * caller's buffer with JSON string escaping (see ss_json.h). */
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "errbuf.h"
#include "ss_json.h"

struct jw {
    char *buf;
    size_t cap, len;
    bool over;
};

static void jw_put(struct jw *w, const char *s, size_t n)
{
    if (w->over || w->cap == 0 || n >= w->cap - w->len) {
        w->over = true;
        return;
    }
    memcpy(w->buf + w->len, s, n);
    w->len += n;
}

__attribute__((format(printf, 2, 3)))
static void jw_fmt(struct jw *w, const char *fmt, ...)
{
    char t[96];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(t, sizeof t, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof t)
        w->over = true; /* never with the short formats of this file */
    else
        jw_put(w, t, (size_t)n);
}

/* A JSON string: '"', '\\' and the control characters escaped, the rest as it is. */
static void jw_str(struct jw *w, const char *s)
{
    static const char hex[] = "0123456789abcdef";
    jw_put(w, "\"", 1);
    for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
        char e[6] = { '\\', 0 };
        size_t n = 2;
        switch (*c) {
        case '"': e[1] = '"'; break;
        case '\\': e[1] = '\\'; break;
        case '\n': e[1] = 'n'; break;
        case '\r': e[1] = 'r'; break;
        case '\t': e[1] = 't'; break;
        case '\b': e[1] = 'b'; break;
        case '\f': e[1] = 'f'; break;
        default:
            if (*c >= 0x20) {
                jw_put(w, (const char *)c, 1);
                continue;
            }
            memcpy(e, "\\u00", 4);
            e[4] = hex[*c >> 4];
            e[5] = hex[*c & 15];
            n = 6;
        }
        jw_put(w, e, n);
    }
    jw_put(w, "\"", 1);
}

/* A string parameter, "." when unset (Kamailio's ul.add reads "." and "0" so). */
static void jw_str_or_dot(struct jw *w, const char *s)
{
    jw_str(w, s[0] ? s : ".");
}

static void req_begin(struct jw *w, char *buf, size_t cap, const char *method)
{
    *w = (struct jw){ .buf = buf, .cap = cap };
    jw_fmt(w, "{\"jsonrpc\":\"2.0\",\"method\":\"%s\",\"params\":[", method);
}

static int req_end(struct jw *w, uint64_t id)
{
    jw_fmt(w, "],\"id\":%llu}", (unsigned long long)id);
    if (w->cap > 0)
        w->buf[w->over ? 0 : w->len] = '\0';
    return w->over ? -1 : (int)w->len;
}

static bool str_fits(const char *s, size_t cap)
{
    return s && strnlen(s, cap) < cap;
}

static int req_refused(char *buf, size_t cap)
{
    if (cap > 0)
        buf[0] = '\0';
    return -1;
}

int ss_json_req_dump(char *buf, size_t cap, uint64_t id)
{
    struct jw w = { .buf = buf, .cap = cap };
    jw_fmt(&w, "{\"jsonrpc\":\"2.0\",\"method\":\"ul.dump\",\"id\":%llu}", (unsigned long long)id);
    if (cap > 0)
        buf[w.over ? 0 : w.len] = '\0';
    return w.over ? -1 : (int)w.len;
}

/* ul.lookup and ul.rm: table, AoR. */
static int req_table_aor(char *buf, size_t cap, uint64_t id, const char *method,
                         const char *table, const char *aor)
{
    if (!str_fits(table, SS_JSON_TABLE_MAX) || !str_fits(aor, SS_AOR_MAX))
        return req_refused(buf, cap);
    struct jw w;
    req_begin(&w, buf, cap, method);
    jw_str(&w, table);
    jw_put(&w, ",", 1);
    jw_str(&w, aor);
    return req_end(&w, id);
}

int ss_json_req_lookup(char *buf, size_t cap, uint64_t id, const char *table, const char *aor)
{
    return req_table_aor(buf, cap, id, "ul.lookup", table, aor);
}

int ss_json_req_rm(char *buf, size_t cap, uint64_t id, const char *table, const char *aor)
{
    return req_table_aor(buf, cap, id, "ul.rm", table, aor);
}

int ss_json_req_rm_contact(char *buf, size_t cap, uint64_t id, const char *table,
                           const char *aor, const char *uri)
{
    if (!str_fits(table, SS_JSON_TABLE_MAX) || !str_fits(aor, SS_AOR_MAX) ||
        !str_fits(uri, SS_URI_MAX))
        return req_refused(buf, cap);
    struct jw w;
    req_begin(&w, buf, cap, "ul.rm_contact");
    jw_str(&w, table);
    jw_put(&w, ",", 1);
    jw_str(&w, aor);
    jw_put(&w, ",", 1);
    jw_str(&w, uri);
    return req_end(&w, id);
}

/* What Kamailio would take wrongly or not at all; NULL when the contact can go. */
static const char *add_refusal(const char *table, const struct ss_contact *c)
{
    if (!str_fits(table, SS_JSON_TABLE_MAX))
        return "no table name, or one too long";
    if (!memchr(c->aor, 0, sizeof c->aor) || !memchr(c->uri, 0, sizeof c->uri) ||
        !memchr(c->path, 0, sizeof c->path) || !memchr(c->received, 0, sizeof c->received) ||
        !memchr(c->socket, 0, sizeof c->socket))
        return "a field is not NUL-terminated";
    if (!c->aor[0])
        return "no AoR";
    if (!c->uri[0])
        return "no contact URI";
    if (c->expires_s == 0)
        return "expires 0 (ul.add would make the contact permanent)";
    if (c->expires_s != SS_EXPIRES_PERMANENT && c->expires_s > INT32_MAX)
        return "expires past 2^31 - 1 seconds";
    if (c->q != SS_Q_UNSET && (c->q < 0 || c->q > 1000))
        return "q outside 0..1000";
    return NULL;
}

int ss_json_req_add(char *buf, size_t cap, uint64_t id, const char *table,
                    const struct ss_contact *c, char *err, size_t errlen)
{
    const char *no = add_refusal(table, c);
    if (no) {
        req_refused(buf, cap);
        return errbuf_set(err, errlen, "ul.add: %s", no);
    }
    struct jw w;
    req_begin(&w, buf, cap, "ul.add");
    jw_str(&w, table);
    jw_put(&w, ",", 1);
    jw_str(&w, c->aor);
    jw_put(&w, ",", 1);
    jw_str(&w, c->uri);
    jw_fmt(&w, ",%lu,", c->expires_s == SS_EXPIRES_PERMANENT ? 0ul : (unsigned long)c->expires_s);
    if (c->q == SS_Q_UNSET)
        jw_put(&w, "-1", 2);
    else
        jw_fmt(&w, "%d.%03d", (int)(c->q / 1000), (int)(c->q % 1000));
    jw_put(&w, ",", 1);
    jw_str_or_dot(&w, c->path);
    jw_fmt(&w, ",%lu,%lu,%lu,", (unsigned long)c->flags, (unsigned long)c->cflags,
           (unsigned long)c->methods);
    jw_str_or_dot(&w, c->received);
    jw_put(&w, ",", 1);
    jw_str_or_dot(&w, c->socket);
    int n = req_end(&w, id);
    if (n < 0)
        return errbuf_set(err, errlen, "ul.add: request longer than %zu bytes", cap);
    return n;
}
