/* etcd_contact_codec.c — a contact's key and value in etcd (see etcd_contact_codec.h).
 * The value is written with yajl_gen (escaping, UTF-8 checked) and read with yajl_tree,
 * after a check that it is one flat object (yajl_tree recurses: no nesting reaches it). */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <yajl/yajl_gen.h>
#include <yajl/yajl_tree.h>

#include "errbuf.h"
#include "etcd_contact_codec.h"
#include "etcd_wire.h"

/* --- the key --- */

static bool has_control(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            return true;
    return false;
}

int etcd_contact_key(char *buf, size_t cap, const char *dir, const char *aor, const char *uri)
{
    if (!dir || !aor || !*aor || !uri || !*uri || strchr(aor, ' ') || has_control(aor) ||
        has_control(uri))
        return -1;
    int n = snprintf(buf, cap, "%s%s %s", dir, aor, uri);
    if (n < 0 || (size_t)n >= cap || (size_t)n > ETCD_WIRE_ITEM_KEY_MAX)
        return -1;
    return n;
}

/* --- the value --- */

static bool gen_key(yajl_gen g, const char *k)
{
    return yajl_gen_string(g, (const unsigned char *)k, strlen(k)) == yajl_gen_status_ok;
}

static bool gen_int(yajl_gen g, const char *k, long long v)
{
    return gen_key(g, k) && yajl_gen_integer(g, v) == yajl_gen_status_ok;
}

static bool gen_str(yajl_gen g, const char *k, const char *v)
{
    if (!v || !*v)
        return true;
    return gen_key(g, k) &&
           yajl_gen_string(g, (const unsigned char *)v, strlen(v)) == yajl_gen_status_ok;
}

int etcd_contact_value(char *buf, size_t cap, const struct etcd_contact *c)
{
    if (!c || c->expires <= 0 || c->q < -1 || c->q > 1000)
        return -1;
    yajl_gen g = yajl_gen_alloc(NULL);
    if (!g)
        return -1;
    yajl_gen_config(g, yajl_gen_validate_utf8, 1);
    bool ok = yajl_gen_map_open(g) == yajl_gen_status_ok && gen_int(g, "expires", c->expires);
    if (ok && c->q >= 0)
        ok = gen_int(g, "q", c->q);
    if (ok && c->flags)
        ok = gen_int(g, "flags", c->flags);
    if (ok && c->cflags)
        ok = gen_int(g, "cflags", c->cflags);
    if (ok && c->methods)
        ok = gen_int(g, "methods", c->methods);
    ok = ok && gen_str(g, "path", c->path) && gen_str(g, "received", c->received) &&
         gen_str(g, "socket", c->socket) && yajl_gen_map_close(g) == yajl_gen_status_ok;
    const unsigned char *out = NULL;
    size_t n = 0;
    ok = ok && yajl_gen_get_buf(g, &out, &n) == yajl_gen_status_ok &&
         n <= ETCD_WIRE_ITEM_VALUE_MAX && n < cap;
    if (ok) {
        memcpy(buf, out, n);
        buf[n] = '\0';
    }
    yajl_gen_free(g);
    return ok ? (int)n : -1;
}

/* --- reading back --- */

/* One object, nothing nested in it (strings skipped). */
static bool flat_object(const char *text)
{
    struct etcd_json_shape sh = etcd_json_shape(text);
    return sh.depth == 1 && sh.top_level == 1;
}

static yajl_val field(yajl_val obj, const char *name)
{
    const char *path[] = { name, NULL };
    return yajl_tree_get(obj, path, yajl_t_any);
}

/* An integer field in [lo, hi]; absent: dflt. -1 when of another type or out of range. */
static int get_int(yajl_val obj, const char *name, long long lo, long long hi, long long dflt,
                   long long *out)
{
    yajl_val v = field(obj, name);
    if (!v) {
        *out = dflt;
        return 0;
    }
    if (!YAJL_IS_INTEGER(v) || YAJL_GET_INTEGER(v) < lo || YAJL_GET_INTEGER(v) > hi)
        return -1;
    *out = YAJL_GET_INTEGER(v);
    return 0;
}

/* A string field copied into *room (NULL when absent); -1 when not a string or no room. */
static int get_str(yajl_val obj, const char *name, char **room, const char *end,
                   const char **out)
{
    yajl_val v = field(obj, name);
    *out = NULL;
    if (!v)
        return 0;
    if (!YAJL_IS_STRING(v))
        return -1;
    const char *s = YAJL_GET_STRING(v);
    size_t n = strlen(s);
    if (n >= (size_t)(end - *room))
        return -1;
    memcpy(*room, s, n + 1);
    *out = *room;
    *room += n + 1;
    return 0;
}

static int decode_key(const char *dir, const unsigned char *key, size_t klen,
                      struct etcd_contact_rec *out, char *err, size_t errlen)
{
    size_t dlen = strlen(dir);
    if (klen < dlen || memcmp(key, dir, dlen) != 0)
        return errbuf_set(err, errlen, "the key is not under %s", dir);
    size_t n = klen - dlen;
    if (n >= sizeof out->key || memchr(key + dlen, '\0', n))
        return errbuf_set(err, errlen, "the key is too long or holds a NUL byte");
    memcpy(out->key, key + dlen, n);
    out->key[n] = '\0';
    char *blank = strchr(out->key, ' ');
    if (!blank || blank == out->key || !blank[1])
        return errbuf_set(err, errlen, "the key is not '<aor> <uri>'");
    *blank = '\0';
    out->c.aor = out->key;
    out->c.uri = blank + 1;
    return 0;
}

static int decode_value(const unsigned char *value, size_t vlen, struct etcd_contact_rec *out,
                        char *err, size_t errlen)
{
    char text[ETCD_WIRE_ITEM_VALUE_MAX + 1], perr[80];
    if (vlen > ETCD_WIRE_ITEM_VALUE_MAX || memchr(value, '\0', vlen))
        return errbuf_set(err, errlen, "the value is longer than %u bytes or holds a NUL "
                          "byte", ETCD_WIRE_ITEM_VALUE_MAX);
    memcpy(text, value, vlen);
    text[vlen] = '\0';
    if (!flat_object(text))
        return errbuf_set(err, errlen, "the value is not one flat JSON object");
    yajl_val root = yajl_tree_parse(text, perr, sizeof perr);
    if (!root || !YAJL_IS_OBJECT(root)) {
        if (root)
            yajl_tree_free(root);
        return errbuf_set(err, errlen, "the value is not a JSON object");
    }
    long long expires = 0, q = -1, flags = 0, cflags = 0, methods = 0;
    char *room = out->strs;
    const char *end = out->strs + sizeof out->strs;
    int rc = 0;
    if (get_int(root, "expires", 1, INT64_MAX, 0, &expires) < 0 || expires == 0)
        rc = errbuf_set(err, errlen, "the value has no positive integer expires");
    else if (get_int(root, "q", -1, 1000, -1, &q) < 0 ||
             get_int(root, "flags", 0, UINT32_MAX, 0, &flags) < 0 ||
             get_int(root, "cflags", 0, UINT32_MAX, 0, &cflags) < 0 ||
             get_int(root, "methods", 0, UINT32_MAX, 0, &methods) < 0)
        rc = errbuf_set(err, errlen, "the value's q, flags, cflags or methods is malformed");
    else if (get_str(root, "path", &room, end, &out->c.path) < 0 ||
             get_str(root, "received", &room, end, &out->c.received) < 0 ||
             get_str(root, "socket", &room, end, &out->c.socket) < 0)
        rc = errbuf_set(err, errlen, "the value's path, received or socket is not a string");
    if (rc == 0) {
        out->c.expires = expires;
        out->c.q = (int32_t)q;
        out->c.flags = (uint32_t)flags;
        out->c.cflags = (uint32_t)cflags;
        out->c.methods = (uint32_t)methods;
    }
    yajl_tree_free(root);
    return rc;
}

int etcd_contact_decode(const char *dir, const unsigned char *key, size_t klen,
                        const unsigned char *value, size_t vlen, struct etcd_contact_rec *out,
                        char *err, size_t errlen)
{
    out->c = (struct etcd_contact){ .q = -1 };
    if (!dir || !key)
        return errbuf_set(err, errlen, "no key");
    if (decode_key(dir, key, klen, out, err, errlen) < 0)
        return -1;
    if (!value)
        return 0;
    return decode_value(value, vlen, out, err, errlen);
}
