/* test_ss_json.c — the Kamailio JSON-RPC codec: every reply captured from a real
 * Kamailio 5.6.3 (tests/data/kamailio/) read whole, fed at every split point and byte by
 * byte with the same outcome, and cut short; escapes, "[not set]", the value types of a
 * contact, values too long for their field (that contact skipped, the rest read), tokens
 * too long, nesting too deep, keys in another order, JSON-RPC errors, the contact bound,
 * the callback stopping the parse, a 10,000-contact dump read with bounded memory; the
 * evapi hint; the request builders (exact text, escaping, refusals, buffer bounds). */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <yajl/yajl_tree.h>

#include "ss_json.h"

/* ---------- helpers ---------- */

static char *slurp(const char *rel, size_t *len)
{
    const char *src = getenv("SIPHA_SRC");
    char path[1024];
    snprintf(path, sizeof path, "%s/tests/data/kamailio/%s", src && *src ? src : ".", rel);
    FILE *f = fopen(path, "rb");
    if (!f)
        fail_msg("cannot open %s", path);
    char *buf = malloc(1 << 20);
    assert_non_null(buf);
    *len = fread(buf, 1, 1 << 20, f);
    fclose(f);
    return buf;
}

#define MAX_KEPT 16

/* What the callback saw: the first contacts kept whole, all of them hashed. */
struct seen {
    unsigned n;
    struct ss_contact kept[MAX_KEPT];
    uint64_t hash;
    unsigned stop_after; /* 0: never stop */
};

static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++)
        h = (h ^ b[i]) * 1099511628211ull;
    return h;
}

static uint64_t hash_contact(uint64_t h, const struct ss_contact *c)
{
    const char *strs[] = { c->aor, c->uri, c->path, c->received, c->socket, c->user_agent };
    for (size_t i = 0; i < 6; i++)
        h = fnv(h, strs[i], strlen(strs[i]) + 1);
    uint32_t nums[] = { c->expires_s, (uint32_t)c->q, c->flags, c->cflags, c->methods };
    return fnv(h, nums, sizeof nums);
}

static int on_contact(void *arg, const struct ss_contact *c)
{
    struct seen *s = arg;
    /* every string is terminated inside its field */
    assert_non_null(memchr(c->aor, 0, sizeof c->aor));
    assert_non_null(memchr(c->uri, 0, sizeof c->uri));
    assert_non_null(memchr(c->path, 0, sizeof c->path));
    assert_non_null(memchr(c->received, 0, sizeof c->received));
    assert_non_null(memchr(c->socket, 0, sizeof c->socket));
    assert_non_null(memchr(c->user_agent, 0, sizeof c->user_agent));
    assert_true(c->aor[0] && c->uri[0]);
    assert_true(c->q == SS_Q_UNSET || (c->q >= 0 && c->q <= 1000));
    if (s->n < MAX_KEPT)
        s->kept[s->n] = *c;
    s->n++;
    s->hash = hash_contact(s->hash, c);
    return s->stop_after && s->n >= s->stop_after;
}

/* Parses text fed in pieces of `step` bytes (0: whole), the first one `first` bytes. */
static struct ss_json_result parse_split(const char *text, size_t len, size_t first,
                                         size_t step, const struct ss_json_limits *lim,
                                         struct seen *s)
{
    memset(s, 0, sizeof *s);
    s->hash = 1469598103934665603ull;
    struct ss_json *p = ss_json_new(lim, on_contact, s);
    assert_non_null(p);
    size_t at = first < len ? first : len;
    ss_json_feed(p, text, at);
    while (at < len) {
        size_t n = step && step < len - at ? step : len - at;
        ss_json_feed(p, text + at, n);
        at += n;
    }
    ss_json_finish(p);
    struct ss_json_result r = *ss_json_result(p);
    ss_json_free(p);
    return r;
}

static struct ss_json_result parse(const char *text, struct seen *s)
{
    return parse_split(text, strlen(text), SIZE_MAX, 0, NULL, s);
}

static void same_result(const struct ss_json_result *a, const struct ss_json_result *b)
{
    assert_int_equal(a->status, b->status);
    assert_int_equal(a->records, b->records);
    assert_int_equal(a->contacts, b->contacts);
    assert_int_equal(a->invalid, b->invalid);
    assert_int_equal(a->rpc_code, b->rpc_code);
    assert_string_equal(a->rpc_message, b->rpc_message);
    assert_string_equal(a->id, b->id);
    assert_string_equal(a->reason, b->reason);
    assert_string_equal(a->first_invalid, b->first_invalid);
}

/* ---------- the captured replies ---------- */

struct capture {
    const char *file;
    enum ss_json_status status;
    unsigned records, contacts;
    long long code;
    const char *message, *id;
};

static const struct capture captures[] = {
    { "ul_dump_empty.json", SS_JSON_OK, 0, 0, 0, "", "1" },
    { "ul_dump_1aor_2contacts.json", SS_JSON_OK, 1, 2, 0, "", "5" },
    { "ul_lookup_1aor_2contacts.json", SS_JSON_OK, 1, 2, 0, "", "4" },
    { "ul_dump_mixed.json", SS_JSON_OK, 5, 6, 0, "", "12" },
    { "ul_dump_brief.json", SS_JSON_OK, 0, 0, 0, "", "brief-11" },
    { "ul_lookup_latin1_ua.json", SS_JSON_OK, 1, 1, 0, "", "13" },
    { "ul_add_ok.json", SS_JSON_OK, 0, 0, 0, "", "2" },
    { "ul_lookup_unknown_aor.json", SS_JSON_RPC_ERROR, 0, 0, 500,
      "AOR not found in location table", "6" },
    { "ul_rm_contact_unknown.json", SS_JSON_RPC_ERROR, 0, 0, 404, "Contact not found", "9" },
    { "ul_rm_unknown_table.json", SS_JSON_RPC_ERROR, 0, 0, 500, "Domain table not found", "10" },
    { "error_method_not_found.json", SS_JSON_RPC_ERROR, 0, 0, 500, "Method Not Found", "7" },
    { "error_ul_add_missing_params.json", SS_JSON_RPC_ERROR, 0, 0, 500,
      "Not enough parameters or wrong format", "8" },
};
#define NCAPTURES (sizeof captures / sizeof captures[0])

static void test_captured_replies(void **state)
{
    (void)state;
    for (size_t i = 0; i < NCAPTURES; i++) {
        const struct capture *c = &captures[i];
        size_t len;
        char *text = slurp(c->file, &len);
        struct seen s;
        struct ss_json_result r = parse_split(text, len, SIZE_MAX, 0, NULL, &s);
        if (r.status != c->status)
            fail_msg("%s: %s (%s)", c->file, ss_json_status_name(r.status), r.reason);
        assert_int_equal(r.records, c->records);
        assert_int_equal(r.contacts, c->contacts);
        assert_int_equal(s.n, c->contacts);
        assert_int_equal(r.invalid, 0);
        assert_int_equal(r.rpc_code, c->code);
        assert_string_equal(r.rpc_message, c->message);
        assert_string_equal(r.id, c->id);
        assert_int_equal(r.offset, len);
        free(text);
    }
}

static void expect_1001(const struct ss_contact *k)
{
    /* Kamailio lists the newer contact first */
    assert_string_equal(k[0].aor, "1001@example.com");
    assert_string_equal(k[0].uri, "sip:1001@192.0.2.11:5062;transport=tcp;ob");
    assert_int_equal(k[0].expires_s, 1800);
    assert_int_equal(k[0].q, 1000); /* "Q": 1 */
    assert_string_equal(k[0].path, "<sip:edge1@127.0.0.1:5070;lr>");
    assert_string_equal(k[0].received, "sip:198.51.100.8:50000;transport=tcp");
    assert_string_equal(k[0].socket, "tcp:127.0.0.1:15310");
    assert_string_equal(k[0].user_agent, "kamailio SIP Router - RPC Server");
    assert_int_equal(k[0].methods, 8191);
    assert_string_equal(k[1].aor, "1001@example.com");
    assert_string_equal(k[1].uri, "sip:1001@192.0.2.10:5060;transport=udp");
    assert_int_equal(k[1].expires_s, 3600);
    assert_int_equal(k[1].q, 500); /* "Q": 0.500000 */
    assert_string_equal(k[1].path, "<sip:edge1@127.0.0.1:5070;lr>,<sip:edge2@127.0.0.1:5071;lr>");
    assert_string_equal(k[1].received, "sip:198.51.100.7:40123");
    assert_string_equal(k[1].socket, "udp:127.0.0.1:15310");
    assert_int_equal(k[1].flags, 0);
    assert_int_equal(k[1].cflags, 64);
    assert_int_equal(k[1].methods, 4294967295u);
}

static void test_captured_contacts(void **state)
{
    (void)state;
    size_t len;
    struct seen s;
    char *text = slurp("ul_dump_1aor_2contacts.json", &len);
    parse_split(text, len, SIZE_MAX, 0, NULL, &s);
    expect_1001(s.kept);
    free(text);
    text = slurp("ul_lookup_1aor_2contacts.json", &len);
    parse_split(text, len, SIZE_MAX, 0, NULL, &s);
    expect_1001(s.kept);
    free(text);

    text = slurp("ul_dump_mixed.json", &len);
    parse_split(text, len, SIZE_MAX, 0, NULL, &s);
    assert_int_equal(s.n, 6);
    /* escapes decoded: \" \\ in the AoR, \t and \u0001 in the URI; é as UTF-8 */
    assert_string_equal(s.kept[2].aor, "q\"uote\\back\xc3\xa9@example.com");
    assert_string_equal(s.kept[2].uri, "sip:odd@192.0.2.22;x=a\tb\x01" "c/d");
    assert_int_equal(s.kept[2].q, 123);
    assert_string_equal(s.kept[2].path, ""); /* "[not set]" */
    assert_string_equal(s.kept[2].received, "");
    assert_string_equal(s.kept[2].socket, "");
    /* a REGISTER: Allow gave methods 527, User-Agent with quotes and a backslash */
    assert_string_equal(s.kept[3].aor, "2002@example.com");
    assert_string_equal(s.kept[3].user_agent, "Ph\xc3\xb6ne \"X\" \\ 1.0");
    assert_int_equal(s.kept[3].methods, 527);
    assert_int_equal(s.kept[3].q, 250);
    assert_string_equal(s.kept[4].aor, "perm@example.com");
    assert_int_equal(s.kept[4].expires_s, SS_EXPIRES_PERMANENT); /* "permanent" */
    assert_int_equal(s.kept[4].q, SS_Q_UNSET);                   /* "Q": -1 */
    assert_string_equal(s.kept[5].aor, "short@example.com");
    assert_int_equal(s.kept[5].expires_s, 0); /* "expired" */
    assert_int_equal(s.kept[5].q, 0);
    free(text);

    /* Kamailio copies a Latin-1 User-Agent as it came: read, not refused */
    text = slurp("ul_lookup_latin1_ua.json", &len);
    parse_split(text, len, SIZE_MAX, 0, NULL, &s);
    assert_int_equal(s.n, 1);
    assert_string_equal(s.kept[0].user_agent, "Ph\xf6ne \"X\" \\ 1.0");
    free(text);
}

/* Every split point, byte by byte, and every prefix cut short. */
static void test_captured_split_everywhere(void **state)
{
    (void)state;
    for (size_t i = 0; i < NCAPTURES; i++) {
        size_t len;
        char *text = slurp(captures[i].file, &len);
        struct seen whole, part;
        struct ss_json_result w = parse_split(text, len, SIZE_MAX, 0, NULL, &whole);
        for (size_t k = 0; k <= len; k++) {
            struct ss_json_result r = parse_split(text, len, k, 0, NULL, &part);
            same_result(&w, &r);
            assert_int_equal(part.hash, whole.hash);
        }
        struct ss_json_result r = parse_split(text, len, 1, 1, NULL, &part);
        same_result(&w, &r);
        assert_int_equal(part.hash, whole.hash);
        for (size_t k = 0; k < len; k++) {
            struct ss_json_result t = parse_split(text, k, SIZE_MAX, 0, NULL, &part);
            assert_int_equal(t.status, SS_JSON_MALFORMED);
            assert_true(part.n <= whole.n);
            assert_true(t.offset <= k);
        }
        free(text);
    }
}

/* ---------- shapes and values ---------- */

#define HEAD "{\"jsonrpc\":\"2.0\",\"result\":{\"AoR\":\"a@b\",\"Contacts\":["
#define TAIL "]},\"id\":1}"
#define C(fields) "{\"Contact\":{" fields "}}"

static void expect_one(const char *text, const struct ss_contact **out, struct seen *s)
{
    struct ss_json_result r = parse(text, s);
    if (r.status != SS_JSON_OK || s->n != 1 || r.invalid != 0)
        fail_msg("%s: %s %u contacts, %llu invalid (%s %s)", text, ss_json_status_name(r.status),
                 s->n, (unsigned long long)r.invalid, r.reason, r.first_invalid);
    *out = &s->kept[0];
}

static void expect_invalid(const char *text, const char *why)
{
    struct seen s;
    struct ss_json_result r = parse(text, &s);
    if (r.status != SS_JSON_OK || s.n != 0 || r.invalid != 1 || !strstr(r.first_invalid, why))
        fail_msg("%s: %s, %u contacts, %llu invalid (%s), wanted \"%s\"", text,
                 ss_json_status_name(r.status), s.n, (unsigned long long)r.invalid,
                 r.first_invalid, why);
}

static void test_contact_values(void **state)
{
    (void)state;
    struct seen s;
    const struct ss_contact *c;
    /* keys in any order, unknown ones (nested too) ignored, escapes decoded */
    expect_one(HEAD C("\"Methods\":7,\"X\":{\"Y\":[1,{\"Address\":\"no\"}]},\"Q\":0.5,"
                      "\"Socket\":\"udp:[::1]:5060\",\"Address\":\"sip:\\u0041\\/\\\"\\\\\","
                      "\"Expires\":60,\"Flags\":4294967295,\"CFlags\":0,\"Path\":\"[not set]\","
                      "\"Received\":\"[not set]x\"") TAIL, &c, &s);
    assert_string_equal(c->uri, "sip:A/\"\\");
    assert_string_equal(c->aor, "a@b");
    assert_int_equal(c->q, 500);
    assert_int_equal(c->expires_s, 60);
    assert_int_equal(c->flags, 4294967295u);
    assert_int_equal(c->methods, 7);
    assert_string_equal(c->socket, "udp:[::1]:5060");
    assert_string_equal(c->path, "");
    assert_string_equal(c->received, "[not set]x");
    /* the defaults, and null as unset */
    expect_one(HEAD C("\"Address\":\"sip:x\",\"Q\":null,\"Path\":null,\"Flags\":null") TAIL, &c, &s);
    assert_int_equal(c->q, SS_Q_UNSET);
    assert_int_equal(c->expires_s, 0);
    assert_string_equal(c->path, "");
    /* Q: integers, doubles, exponents; Expires: the three words */
    expect_one(HEAD C("\"Address\":\"sip:x\",\"Q\":1") TAIL, &c, &s);
    assert_int_equal(c->q, 1000);
    expect_one(HEAD C("\"Address\":\"sip:x\",\"Q\":0") TAIL, &c, &s);
    assert_int_equal(c->q, 0);
    expect_one(HEAD C("\"Address\":\"sip:x\",\"Q\":1e-1") TAIL, &c, &s);
    assert_int_equal(c->q, 100);
    expect_one(HEAD C("\"Address\":\"sip:x\",\"Q\":0.0005") TAIL, &c, &s);
    assert_int_equal(c->q, 1);
    expect_one(HEAD C("\"Address\":\"sip:x\",\"Expires\":\"deleted\"") TAIL, &c, &s);
    assert_int_equal(c->expires_s, 0);
    expect_one(HEAD C("\"Address\":\"sip:x\",\"Expires\":\"permanent\"") TAIL, &c, &s);
    assert_int_equal(c->expires_s, SS_EXPIRES_PERMANENT);
    expect_one(HEAD C("\"Address\":\"sip:x\",\"Expires\":4294967295") TAIL, &c, &s);
    assert_int_equal(c->expires_s, SS_EXPIRES_PERMANENT - 1); /* never taken for permanent */

    expect_invalid(HEAD C("\"Q\":0.5") TAIL, "without Address");
    expect_invalid(HEAD C("\"Address\":\"\"") TAIL, "empty Address");
    expect_invalid(HEAD C("\"Address\":\"[not set]\"") TAIL, "empty Address");
    expect_invalid(HEAD C("\"Address\":null") TAIL, "Address is not a string");
    expect_invalid(HEAD C("\"Address\":[\"sip:x\"]") TAIL, "Address is not a scalar");
    expect_invalid(HEAD C("\"Address\":\"sip:\\u0000x\"") TAIL, "NUL");
    expect_invalid(HEAD C("\"Address\":\"sip:x\",\"Q\":2") TAIL, "outside 0..1");
    expect_invalid(HEAD C("\"Address\":\"sip:x\",\"Q\":-0.5") TAIL, "outside 0..1");
    expect_invalid(HEAD C("\"Address\":\"sip:x\",\"Q\":\"0.5\"") TAIL, "Q is not a number");
    expect_invalid(HEAD C("\"Address\":\"sip:x\",\"Expires\":-5") TAIL, "Expires");
    expect_invalid(HEAD C("\"Address\":\"sip:x\",\"Expires\":1.5") TAIL, "Expires");
    expect_invalid(HEAD C("\"Address\":\"sip:x\",\"Expires\":\"soon\"") TAIL, "Expires");
    expect_invalid(HEAD C("\"Address\":\"sip:x\",\"Flags\":4294967296") TAIL, "Flags");
    expect_invalid(HEAD C("\"Address\":\"sip:x\",\"CFlags\":-1") TAIL, "CFlags");
    expect_invalid(HEAD C("\"Address\":\"sip:x\",\"Methods\":\"527\"") TAIL, "Methods is not a number");
    expect_invalid(HEAD C("\"Address\":\"sip:x\",\"Path\":5") TAIL, "Path is not a string");
    expect_invalid(HEAD C("\"Address\":\"sip:x\",\"Socket\":true") TAIL, "Socket is not a string");
}

/* A string as long as `n` bytes of `ch`. */
static char *filled(size_t n, char ch)
{
    char *s = malloc(n + 1);
    assert_non_null(s);
    memset(s, ch, n);
    s[n] = '\0';
    return s;
}

/* A value one byte longer than its field skips that contact only; one that fits is read. */
static void test_overlong_values(void **state)
{
    (void)state;
    static const struct { const char *key; size_t cap; } fields[] = {
        { "Address", SS_URI_MAX }, { "Path", SS_PATH_MAX }, { "Received", SS_RECEIVED_MAX },
        { "Socket", SS_SOCKET_MAX }, { "User-Agent", SS_UA_MAX },
    };
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
        for (size_t len = fields[i].cap - 1; len <= fields[i].cap; len++) {
            char *v = filled(len, 'v');
            size_t tlen = 2 * len + 512;
            char *text = malloc(tlen);
            assert_non_null(text);
            snprintf(text, tlen,
                     HEAD C("\"Address\":\"sip:first\"") "," C("\"Address\":\"sip:x\",\"%s\":\"%s\"")
                     "," C("\"Address\":\"sip:last\"") TAIL, fields[i].key, v);
            struct seen s;
            struct ss_json_result r = parse(text, &s);
            assert_int_equal(r.status, SS_JSON_OK);
            bool fits = len < fields[i].cap;
            assert_int_equal(s.n, fits ? 3 : 2);
            assert_int_equal(r.invalid, fits ? 0 : 1);
            assert_string_equal(s.kept[fits ? 2 : 1].uri, "sip:last");
            if (!fits) {
                assert_non_null(strstr(r.first_invalid, fields[i].key));
                assert_non_null(strstr(r.first_invalid, "longer than"));
            } else if (strcmp(fields[i].key, "Address") == 0) {
                assert_string_equal(s.kept[1].uri, v);
            }
            free(text);
            free(v);
        }
    }
    /* an AoR too long skips its record's contacts; the next record is read */
    char *aor = filled(SS_AOR_MAX, 'a');
    char text[2048];
    snprintf(text, sizeof text,
             "{\"jsonrpc\":\"2.0\",\"result\":{\"Domains\":[{\"Domain\":{\"AoRs\":["
             "{\"Info\":{\"AoR\":\"%s\",\"Contacts\":[" C("\"Address\":\"sip:1\"") ","
             C("\"Address\":\"sip:2\"") "]}},{\"Info\":{\"AoR\":\"ok\",\"Contacts\":["
             C("\"Address\":\"sip:3\"") "]}}]}}]},\"id\":1}", aor);
    struct seen s;
    struct ss_json_result r = parse(text, &s);
    assert_int_equal(r.status, SS_JSON_OK);
    assert_int_equal(r.records, 2);
    assert_int_equal(r.invalid, 2);
    assert_non_null(strstr(r.first_invalid, "AoR longer than"));
    assert_int_equal(s.n, 1);
    assert_string_equal(s.kept[0].aor, "ok");
    free(aor);
}

/* The AoR may come after the contacts: they are held, then handed over with it. */
static void test_key_order(void **state)
{
    (void)state;
    struct seen s;
    struct ss_json_result r = parse(
        "{\"id\":\"x\",\"result\":{\"Contacts\":[" C("\"Address\":\"sip:1\"") ","
        C("\"Address\":\"sip:2\"") "],\"AoR\":\"late@b\"},\"jsonrpc\":\"2.0\"}", &s);
    assert_int_equal(r.status, SS_JSON_OK);
    assert_int_equal(s.n, 2);
    assert_string_equal(s.kept[0].aor, "late@b");
    assert_string_equal(s.kept[0].uri, "sip:1");
    assert_string_equal(s.kept[1].uri, "sip:2");
    assert_string_equal(r.id, "x");

    /* in a dump, record by record; a record without AoR loses its contacts */
    r = parse("{\"result\":{\"Domains\":[{\"Domain\":{\"AoRs\":["
              "{\"Info\":{\"Contacts\":[" C("\"Address\":\"sip:1\"") "],\"AoR\":\"one\"}},"
              "{\"Info\":{\"Contacts\":[" C("\"Address\":\"sip:2\"") "]}},"
              "{\"Info\":{\"AoR\":\"three\",\"Contacts\":[" C("\"Address\":\"sip:3\"") "]}}"
              "]}}]},\"jsonrpc\":\"2.0\",\"id\":1}", &s);
    assert_int_equal(r.status, SS_JSON_OK);
    assert_int_equal(s.n, 2);
    assert_string_equal(s.kept[0].aor, "one");
    assert_string_equal(s.kept[1].aor, "three");
    assert_int_equal(r.invalid, 1);
    assert_string_equal(r.first_invalid, "a record without AoR");

    /* at most SS_JSON_PENDING_MAX are held */
    size_t cap = (SS_JSON_PENDING_MAX + 3) * 40 + 256;
    char *text = malloc(cap);
    assert_non_null(text);
    size_t n = (size_t)snprintf(text, cap, "{\"result\":{\"Contacts\":[");
    for (unsigned i = 0; i < SS_JSON_PENDING_MAX + 3; i++)
        n += (size_t)snprintf(text + n, cap - n, "%s" C("\"Address\":\"sip:%u\""), i ? "," : "", i);
    snprintf(text + n, cap - n, "],\"AoR\":\"many\"},\"id\":1}");
    r = parse(text, &s);
    assert_int_equal(r.status, SS_JSON_OK);
    assert_int_equal(s.n, SS_JSON_PENDING_MAX);
    assert_int_equal(r.invalid, 3);
    assert_non_null(strstr(r.first_invalid, "too many contacts"));
    free(text);
}

static void expect_status(const char *text, enum ss_json_status st, const char *why)
{
    struct seen s;
    struct ss_json_result r = parse(text, &s);
    if (r.status != st || !strstr(r.reason, why))
        fail_msg("%s: %s (%s), wanted %s (%s)", text, ss_json_status_name(r.status), r.reason,
                 ss_json_status_name(st), why);
}

static void test_malformed(void **state)
{
    (void)state;
    expect_status("", SS_JSON_MALFORMED, "premature EOF");
    expect_status("   ", SS_JSON_MALFORMED, "premature EOF");
    expect_status("garbage", SS_JSON_MALFORMED, "");
    expect_status("[]", SS_JSON_MALFORMED, "not a JSON object");
    expect_status("5", SS_JSON_MALFORMED, "not a JSON object");
    expect_status("\"x\"", SS_JSON_MALFORMED, "not a JSON object");
    expect_status("{}", SS_JSON_MALFORMED, "neither result nor error");
    expect_status("{\"id\":1}", SS_JSON_MALFORMED, "neither result nor error");
    expect_status("{\"result\":{},\"error\":{\"code\":1}}", SS_JSON_MALFORMED, "both");
    expect_status("{\"error\":{\"message\":\"x\"}}", SS_JSON_MALFORMED, "without code");
    expect_status("{\"error\":{\"code\":\"500\"}}", SS_JSON_MALFORMED, "code is not a number");
    expect_status("{\"error\":{\"code\":1.5}}", SS_JSON_MALFORMED, "not a whole number");
    expect_status("{\"error\":\"bad\"}", SS_JSON_MALFORMED, "error is not an object");
    expect_status("{\"result\":{}} x", SS_JSON_MALFORMED, "trailing garbage");
    expect_status("{\"result\":{}}{\"result\":{}}", SS_JSON_MALFORMED, "trailing garbage");
    expect_status("{\"result\":{\"Contacts\":\"none\"}}", SS_JSON_MALFORMED, "Contacts");
    expect_status("{\"result\":{\"Contacts\":{}}}", SS_JSON_MALFORMED, "Contacts is not an array");
    expect_status("{\"result\":{\"Contacts\":[1]}}", SS_JSON_MALFORMED, "scalar");
    expect_status("{\"result\":{\"Contacts\":[[]]}}", SS_JSON_MALFORMED, "not an object");
    expect_status("{\"result\":{\"Domains\":[{\"Domain\":[]}]}}", SS_JSON_MALFORMED, "Domain");
    expect_status("{\"result\":{\"Domains\":[{\"Domain\":{\"AoRs\":{}}}]}}", SS_JSON_MALFORMED,
                  "AoRs");
    expect_status("{\"result\":{\"Contacts\":[{\"Contact\":5}]}}", SS_JSON_MALFORMED, "Contact");
    expect_status("{\"result\":{\"Contacts\":[{\"Contact\":{\"Address\":\"x\"}}}", SS_JSON_MALFORMED,
                  "");
    expect_status("{\"result\":1,}", SS_JSON_MALFORMED, "");
    /* and what is fine: result of any kind, error with data, id as null */
    struct seen s;
    assert_int_equal(parse("{\"result\":\"text\",\"id\":null}", &s).status, SS_JSON_OK);
    assert_int_equal(parse("{\"result\":[1,2]}", &s).status, SS_JSON_OK);
    assert_int_equal(parse("{\"result\":null}", &s).status, SS_JSON_OK);
    struct ss_json_result r =
        parse(" {\"error\":{\"data\":[{}],\"code\":-32700,\"message\":\"Parse error\"},\"id\":null}\n", &s);
    assert_int_equal(r.status, SS_JSON_RPC_ERROR);
    assert_int_equal(r.rpc_code, -32700);
    assert_string_equal(r.rpc_message, "Parse error");
    assert_string_equal(r.id, "");
    /* a long message is cut to fit: it is for the log */
    char *m = filled(1000, 'm');
    char text[1200];
    snprintf(text, sizeof text, "{\"error\":{\"code\":1,\"message\":\"%s\"}}", m);
    r = parse(text, &s);
    assert_int_equal(r.status, SS_JSON_RPC_ERROR);
    assert_int_equal(strlen(r.rpc_message), SS_JSON_TEXT_MAX - 1);
    free(m);
}

static void test_bounds(void **state)
{
    (void)state;
    struct seen s;
    /* depth: the limit itself is fine, one more is not */
    struct ss_json_limits lim = { .max_depth = 8 };
    const char *ok8 = "{\"result\":{\"x\":[[[[[[]]]]]]}}";
    const char *deep9 = "{\"result\":{\"x\":[[[[[[[]]]]]]]}}";
    assert_int_equal(parse_split(ok8, strlen(ok8), SIZE_MAX, 0, &lim, &s).status, SS_JSON_OK);
    struct ss_json_result r = parse_split(deep9, strlen(deep9), SIZE_MAX, 0, &lim, &s);
    assert_int_equal(r.status, SS_JSON_TOO_DEEP);
    assert_int_equal(r.offset, 22); /* up to the 9th opening bracket */
    /* the default: 10,000 brackets stop at the 33rd container */
    char *deep = filled(10000, '[');
    memcpy(deep, "{\"r\":", 5);
    r = parse(deep, &s);
    assert_int_equal(r.status, SS_JSON_TOO_DEEP);
    assert_int_equal(r.offset, 5 + SS_JSON_DEPTH_DEFAULT);
    free(deep);

    /* token: a string or number past max_token, wherever the feeds cut it */
    lim = (struct ss_json_limits){ .max_token = 100 };
    char text[600];
    char *v = filled(100, 'x');
    snprintf(text, sizeof text, "{\"result\":{\"k\":\"%s\"}}", v);
    assert_int_equal(parse_split(text, strlen(text), SIZE_MAX, 0, &lim, &s).status, SS_JSON_OK);
    free(v);
    v = filled(101, 'x');
    snprintf(text, sizeof text, "{\"result\":{\"k\":\"%s\"}}", v);
    for (size_t step = 1; step < 40; step += 7) {
        r = parse_split(text, strlen(text), 3, step, &lim, &s);
        assert_int_equal(r.status, SS_JSON_TOO_LARGE);
        assert_int_equal(r.offset, 16 + 101); /* up to the 101st byte of the string */
    }
    snprintf(text, sizeof text, "{\"%s\":1}", v); /* a key */
    assert_int_equal(parse_split(text, strlen(text), SIZE_MAX, 0, &lim, &s).status,
                     SS_JSON_TOO_LARGE);
    free(v);
    v = filled(101, '7');
    snprintf(text, sizeof text, "{\"result\":%s}", v); /* a number */
    assert_int_equal(parse_split(text, strlen(text), SIZE_MAX, 0, &lim, &s).status,
                     SS_JSON_TOO_LARGE);
    free(v);
    v = filled(98, 'e');
    snprintf(text, sizeof text, "{\"result\":\"\\\"\\\\%s\"}", v); /* escapes count as sent */
    assert_int_equal(parse_split(text, strlen(text), SIZE_MAX, 0, &lim, &s).status,
                     SS_JSON_TOO_LARGE);
    free(v);

    /* contacts */
    size_t len;
    char *dump = slurp("ul_dump_mixed.json", &len);
    lim = (struct ss_json_limits){ .max_contacts = 3 };
    r = parse_split(dump, len, SIZE_MAX, 0, &lim, &s);
    assert_int_equal(r.status, SS_JSON_TOO_LARGE);
    assert_int_equal(s.n, 3);
    assert_int_equal(r.contacts, 3);
    assert_non_null(strstr(r.reason, "more than 3 contacts"));
    assert_true(r.offset > 0 && r.offset < len);
    lim.max_contacts = 6;
    assert_int_equal(parse_split(dump, len, SIZE_MAX, 0, &lim, &s).status, SS_JSON_OK);

    /* the callback stops: no call after that, and the status stays */
    memset(&s, 0, sizeof s);
    s.stop_after = 2;
    struct ss_json *p = ss_json_new(NULL, on_contact, &s);
    assert_int_equal(ss_json_feed(p, dump, len), SS_JSON_STOPPED);
    assert_int_equal(ss_json_feed(p, "{}", 2), SS_JSON_STOPPED);
    assert_int_equal(ss_json_finish(p), SS_JSON_STOPPED);
    assert_int_equal(s.n, 2);
    ss_json_free(p);

    /* no callback: only the verdict */
    p = ss_json_new(NULL, NULL, NULL);
    ss_json_feed(p, dump, len);
    assert_int_equal(ss_json_finish(p), SS_JSON_OK);
    assert_int_equal(ss_json_result(p)->contacts, 6);
    assert_int_equal(ss_json_finish(p), SS_JSON_OK);
    ss_json_free(p);
    ss_json_free(NULL);
    free(dump);
}

/* ---------- a 10,000-contact dump, made as it is read ---------- */

#define BIG_AORS 5000u /* two contacts each */

/* One contact laid out as Kamailio prints it (tab-indented, ~1 KB). */
static size_t gen_contact(char *buf, size_t cap, unsigned a, unsigned k)
{
    static const char *const f[] = {
        "Address\":\t\"sip:u%05u@198.51.100.%u:%u;transport=udp\",",
        "Expires\":\t%u,", "Q\":\t%s,", "Call-ID\":\t\"%u-%u@test\",", "CSeq\":\t1,",
        "User-Agent\":\t\"sipha-test-phone\",", "Received\":\t\"sip:203.0.113.%u:%u\",",
        "Path\":\t\"<sip:edge@127.0.0.1:5070;lr>\",", "State\":\t\"CS_NEW\",",
        "Flags\":\t0,", "CFlags\":\t64,", "Socket\":\t\"udp:127.0.0.2:15060\",",
        "Methods\":\t527,", "Ruid\":\t\"uloc-6b1618aa-3b2e-%u\",",
        "Instance\":\t\"[not set]\",", "Reg-Id\":\t0,", "Server-Id\":\t0,",
        "Tcpconn-Id\":\t-1,", "Keepalive\":\t0,", "Last-Keepalive\":\t1796610223,",
        "KA-Roundtrip\":\t0,", "Last-Modified\":\t1796610223",
    };
    const char *ind = "\n\t\t\t\t\t\t\t\t\t\t\t\"";
    size_t n = (size_t)snprintf(buf, cap, "%s{\n\t\t\t\t\t\t\t\t\t\t\"Contact\":\t{",
                                k ? ", " : "");
    n += (size_t)snprintf(buf + n, cap - n, "%s", ind);
    n += (size_t)snprintf(buf + n, cap - n, f[0], a, a % 250, 5060 + k);
    n += (size_t)snprintf(buf + n, cap - n, "%s", ind);
    n += (size_t)snprintf(buf + n, cap - n, f[1], 60 + a % 3600);
    n += (size_t)snprintf(buf + n, cap - n, "%s", ind);
    n += (size_t)snprintf(buf + n, cap - n, f[2], k ? "0.500000" : "-1");
    n += (size_t)snprintf(buf + n, cap - n, "%s", ind);
    n += (size_t)snprintf(buf + n, cap - n, f[3], a, k);
    for (size_t i = 4; i < sizeof f / sizeof f[0]; i++) {
        n += (size_t)snprintf(buf + n, cap - n, "%s", ind);
        if (i == 6)
            n += (size_t)snprintf(buf + n, cap - n, f[i], a % 250, 40000 + k);
        else if (i == 13)
            n += (size_t)snprintf(buf + n, cap - n, f[i], 2 * a + k);
        else
            n += (size_t)snprintf(buf + n, cap - n, "%s", f[i]);
    }
    n += (size_t)snprintf(buf + n, cap - n, "\n\t\t\t\t\t\t\t\t\t\t}\n\t\t\t\t\t\t\t\t\t}");
    return n;
}

struct gen {
    unsigned aor;  /* the next record to write */
    bool head, tail;
};

/* The next piece of a dump shaped as Kamailio's, at most cap bytes (> 4 KB). */
static size_t gen_next(struct gen *g, char *buf, size_t cap)
{
    size_t n = 0;
    if (!g->head) {
        g->head = true;
        n += (size_t)snprintf(buf, cap, "{\n\t\"jsonrpc\":\t\"2.0\",\n\t\"result\":\t{\n\t\t\"Domains\":"
                              "\t[{\n\t\t\t\t\"Domain\":\t{\n\t\t\t\t\t\"Domain\":\t\"location\",\n"
                              "\t\t\t\t\t\"Size\":\t1024,\n\t\t\t\t\t\"AoRs\":\t[");
    }
    while (g->aor < BIG_AORS && cap - n > 4096) {
        unsigned a = g->aor++;
        n += (size_t)snprintf(buf + n, cap - n, "%s{\n\t\t\t\t\t\t\t\"Info\":\t{\n\t\t\t\t"
                              "\t\t\t\t\"AoR\":\t\"u%05u@example.com\",\n\t\t\t\t\t\t\t\t"
                              "\"HashID\":\t%u,\n\t\t\t\t\t\t\t\t\"Contacts\":\t[",
                              a ? ", " : "", a, a * 7919u);
        for (unsigned k = 0; k < 2; k++)
            n += gen_contact(buf + n, cap - n, a, k);
        n += (size_t)snprintf(buf + n, cap - n, "]\n\t\t\t\t\t\t\t}\n\t\t\t\t\t\t}");
    }
    if (g->aor == BIG_AORS && !g->tail && cap - n > 256) {
        g->tail = true;
        n += (size_t)snprintf(buf + n, cap - n, "],\n\t\t\t\t\t\"Stats\":\t{\"Records\":%u,"
                              "\"Max-Slots\":1}}}]},\n\t\"id\":\t1\n}", BIG_AORS);
    }
    return n;
}

struct big {
    unsigned n, bad;
};

static int on_big(void *arg, const struct ss_contact *c)
{
    struct big *b = arg;
    unsigned a = b->n / 2, k = b->n % 2;
    char want[64];
    snprintf(want, sizeof want, "u%05u@example.com", a);
    b->bad += strcmp(c->aor, want) != 0;
    b->bad += c->expires_s != 60 + a % 3600;
    b->bad += c->q != (k ? 500 : SS_Q_UNSET);
    b->bad += c->cflags != 64 || c->methods != 527;
    b->bad += strcmp(c->path, "<sip:edge@127.0.0.1:5070;lr>") != 0;
    b->n++;
    return 0;
}

static void test_big_dump_bounded_memory(void **state)
{
    (void)state;
    struct big b = { 0 };
    struct ss_json *p = ss_json_new(NULL, on_big, &b);
    assert_non_null(p);
    struct gen g = { 0 };
    char *buf = malloc(64 * 1024);
    assert_non_null(buf);
    size_t n, total = 0;
    /* pieces of odd sizes, so that tokens are cut everywhere */
    while ((n = gen_next(&g, buf, 64 * 1024 - (total % 4099))) > 0) {
        for (size_t at = 0; at < n;) {
            size_t k = n - at < 1000 + total % 997 ? n - at : 1000 + total % 997;
            assert_int_equal(ss_json_feed(p, buf + at, k), SS_JSON_MORE);
            at += k;
            total += k;
        }
    }
    assert_int_equal(ss_json_finish(p), SS_JSON_OK);
    assert_true(total > 8500000); /* as big as Kamailio's: ~9 MB */
    assert_int_equal(b.n, 2 * BIG_AORS);
    assert_int_equal(b.bad, 0);
    assert_int_equal(ss_json_result(p)->records, BIG_AORS);
    /* the parser, yajl's buffers and stack: a few KB, whatever the size of the dump */
    size_t peak = ss_json_memory_peak(p);
    print_message("10,000 contacts, %zu bytes, parser memory peak %zu bytes\n", total, peak);
    assert_true(peak < 32 * 1024);
    ss_json_free(p);
    free(buf);
}

/* ---------- the evapi hint ---------- */

static struct ss_hint hint_out;

static const struct ss_hint *hint_ok(const char *text, const char *want)
{
    char err[160] = "";
    if (ss_json_parse_hint(text, strlen(text), &hint_out, err, sizeof err) != 0)
        fail_msg("%s: %s", text, err);
    assert_string_equal(hint_out.aor, want);
    return &hint_out;
}

static void hint_bad(const char *text, size_t len, const char *why)
{
    char err[160] = "";
    assert_int_equal(ss_json_parse_hint(text, len, &hint_out, err, sizeof err), -1);
    assert_string_equal(hint_out.aor, "");
    assert_false(hint_out.has_contacts);
    if (!strstr(err, why))
        fail_msg("%.*s: \"%s\", wanted \"%s\"", (int)len, text, err, why);
}

#define HINT_BAD(text, why) hint_bad(text, strlen(text), why)

static void test_hint(void **state)
{
    (void)state;
    hint_ok("{\"event\":\"aor\",\"aor\":\"u000\"}", "u000");
    hint_ok(" {\"aor\":\"u1@example.com\", \"event\":\"aor\"}\n", "u1@example.com");
    hint_ok("{\"event\":\"aor\",\"aor\":\"o'b\\\"r\\\\i\\ttab%22\"}", "o'b\"r\\i\ttab%22");
    hint_ok("{\"event\":\"aor\",\"aor\":\"x\",\"at\":1796610223,\"more\":{\"a\":[1,{}]}}", "x");
    char *big = filled(SS_AOR_MAX - 1, 'a');
    char text[SS_JSON_HINT_MAX + 64];
    snprintf(text, sizeof text, "{\"event\":\"aor\",\"aor\":\"%s\"}", big);
    hint_ok(text, big);
    free(big);
    big = filled(SS_AOR_MAX, 'a');
    snprintf(text, sizeof text, "{\"event\":\"aor\",\"aor\":\"%s\"}", big);
    HINT_BAD(text, "longer than 255");
    free(big);

    HINT_BAD("", "not JSON");
    HINT_BAD("{\"event\":\"aor\",\"aor\":\"x\"", "not JSON");
    HINT_BAD("{\"event\":\"aor\",\"aor\":\"x\"} {}", "not JSON");
    HINT_BAD("[\"aor\"]", "not a JSON object");
    HINT_BAD("\"aor\"", "not a JSON object");
    HINT_BAD("{}", "no event");
    HINT_BAD("{\"aor\":\"x\"}", "no event");
    HINT_BAD("{\"event\":\"aor\"}", "no aor");
    HINT_BAD("{\"event\":\"contact\",\"aor\":\"x\"}", "event \"contact\" is not \"aor\"");
    HINT_BAD("{\"event\":7,\"aor\":\"x\"}", "event is not a string");
    HINT_BAD("{\"event\":\"aor\",\"aor\":[\"x\"]}", "aor is not a string");
    HINT_BAD("{\"event\":\"aor\",\"aor\":null}", "aor is not a string");
    HINT_BAD("{\"event\":\"aor\",\"aor\":\"\"}", "empty AoR");
    HINT_BAD("{\"event\":\"aor\",\"aor\":\"a\\u0000b\"}", "NUL");
    HINT_BAD("{\"event\":\"aor\",\"aor\":\"x\",\"aor\":\"y\"}", "two AoRs");
    HINT_BAD("{\"event\":\"aor\",\"aor\":\"x\",\"n\":[[[[[[[[[]]]]]]]]]}", "nested deeper");
    memset(text, ' ', sizeof text);
    memcpy(text, "{\"event\":\"aor\",\"aor\":\"x\"}", 26);
    hint_bad(text, SS_JSON_HINT_MAX, "");
    hint_ok("{\"event\":\"aor\",\"aor\":\"x\"}                                            ", "x");
    hint_bad(text, SS_JSON_HINT_MAX + 1, "longer than 65536");
}

/* What kamailio/sipha.cfg sends after save() (captured from Kamailio 5.6). */
#define KAM_HINT_2                                                                         \
    "{\"event\":\"aor\",\"aor\":\"alice\",\"contacts\":[{\"uri\":\"sip:alice@127.0.0.1:20001;"   \
    "transport=UDP\",\"expires\":3600,\"q\":-1,\"flags\":0,\"cflags\":0,\"methods\":4294967295,"  \
    "\"path\":\"\",\"received\":\"\",\"socket\":\"udp:127.0.0.1:5160\"},{\"uri\":\"sip:alice@"      \
    "127.0.0.1:20002;transport=UDP\",\"expires\":1800,\"q\":500,\"flags\":3,\"cflags\":64,"         \
    "\"methods\":8191,\"path\":\"<sip:edge1@127.0.0.1:5070;lr>\",\"received\":"                     \
    "\"sip:198.51.100.7:40123\",\"socket\":\"udp:127.0.0.1:5160\"}]}"

/* contacts list: text with "%s" where one contact's fields go */
static const struct ss_hint *hint_list(const char *fields)
{
    static char text[1024];
    snprintf(text, sizeof text, "{\"event\":\"aor\",\"aor\":\"a\",\"contacts\":[{%s}]}", fields);
    return hint_ok(text, "a");
}

static void test_hint_contacts(void **state)
{
    (void)state;
    const struct ss_hint *h = hint_ok(KAM_HINT_2, "alice");
    assert_true(h->has_contacts);
    assert_false(h->contacts_invalid);
    assert_int_equal(h->n_contacts, 2);
    const struct ss_contact *c = &h->contacts[0];
    assert_string_equal(c->aor, "alice");
    assert_string_equal(c->uri, "sip:alice@127.0.0.1:20001;transport=UDP");
    assert_int_equal(c->expires_s, 3600);
    assert_int_equal(c->q, SS_Q_UNSET);
    assert_int_equal(c->methods, 4294967295u);
    assert_string_equal(c->path, "");
    assert_string_equal(c->socket, "udp:127.0.0.1:5160");
    c = &h->contacts[1];
    assert_string_equal(c->aor, "alice");
    assert_int_equal(c->expires_s, 1800);
    assert_int_equal(c->q, 500);
    assert_int_equal(c->flags, 3);
    assert_int_equal(c->cflags, 64);
    assert_string_equal(c->path, "<sip:edge1@127.0.0.1:5070;lr>");
    assert_string_equal(c->received, "sip:198.51.100.7:40123");

    /* no list, an empty one, unknown keys at every level */
    h = hint_ok("{\"event\":\"aor\",\"aor\":\"a\"}", "a");
    assert_false(h->has_contacts);
    assert_false(h->contacts_invalid);
    h = hint_ok("{\"event\":\"aor\",\"aor\":\"a\",\"contacts\":[]}", "a");
    assert_true(h->has_contacts);
    assert_int_equal(h->n_contacts, 0);
    h = hint_list("\"uri\":\"sip:x\",\"x\":{\"y\":[1,{}]},\"expires\":5,\"ua\":null");
    assert_true(h->has_contacts);
    assert_int_equal(h->n_contacts, 1);
    assert_int_equal(h->contacts[0].q, SS_Q_UNSET);
    h = hint_list("\"uri\":\"sip:x\",\"expires\":2147483647,\"q\":1000,\"flags\":4294967295");
    assert_true(h->has_contacts);

    /* an unusable list: the AOR still counts, to be read instead */
    static const char *const bad[] = {
        "\"expires\":5",                                  /* no uri */
        "\"uri\":\"sip:x\"",                              /* no expires */
        "\"uri\":\"\",\"expires\":5",                     /* empty uri */
        "\"uri\":7,\"expires\":5",
        "\"uri\":\"sip:x\",\"expires\":0",                 /* permanent or gone */
        "\"uri\":\"sip:x\",\"expires\":-5",
        "\"uri\":\"sip:x\",\"expires\":2147483648",
        "\"uri\":\"sip:x\",\"expires\":1.5",
        "\"uri\":\"sip:x\",\"expires\":\"5\"",
        "\"uri\":\"sip:x\",\"expires\":5,\"q\":1001",
        "\"uri\":\"sip:x\",\"expires\":5,\"q\":-2",
        "\"uri\":\"sip:x\",\"expires\":5,\"flags\":4294967296",
        "\"uri\":\"sip:x\",\"expires\":5,\"methods\":-1",
        "\"uri\":\"sip:x\",\"expires\":5,\"path\":[\"p\"]",
        "\"uri\":\"sip:x\",\"expires\":5,\"socket\":null",
        "\"uri\":\"a\\u0000b\",\"expires\":5",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        h = hint_list(bad[i]);
        if (h->has_contacts || !h->contacts_invalid)
            fail_msg("accepted: %s", bad[i]);
        assert_int_equal(h->n_contacts, 0);
    }
    static const char *const bad_lists[] = {
        "{\"event\":\"aor\",\"aor\":\"a\",\"contacts\":{}}",
        "{\"event\":\"aor\",\"aor\":\"a\",\"contacts\":\"x\"}",
        "{\"event\":\"aor\",\"aor\":\"a\",\"contacts\":[1]}",
        "{\"event\":\"aor\",\"aor\":\"a\",\"contacts\":[[]]}",
        "{\"event\":\"aor\",\"aor\":\"a\",\"contacts\":[],\"contacts\":[]}",
    };
    for (size_t i = 0; i < sizeof bad_lists / sizeof bad_lists[0]; i++) {
        h = hint_ok(bad_lists[i], "a");
        if (h->has_contacts || !h->contacts_invalid)
            fail_msg("accepted: %s", bad_lists[i]);
    }
    /* a long string: at its field's size it is refused */
    char *big = filled(SS_PATH_MAX - 1, 'p'), fields[SS_PATH_MAX + 64];
    snprintf(fields, sizeof fields, "\"uri\":\"sip:x\",\"expires\":5,\"path\":\"%s\"", big);
    assert_true(hint_list(fields)->has_contacts);
    free(big);
    big = filled(SS_PATH_MAX, 'p');
    snprintf(fields, sizeof fields, "\"uri\":\"sip:x\",\"expires\":5,\"path\":\"%s\"", big);
    assert_true(hint_list(fields)->contacts_invalid);
    free(big);

    /* more than SS_HINT_CONTACTS_MAX: no list (read instead), not invalid */
    static char text[SS_JSON_HINT_MAX];
    for (unsigned n = SS_HINT_CONTACTS_MAX; n <= SS_HINT_CONTACTS_MAX + 1; n++) {
        int off = snprintf(text, sizeof text, "{\"event\":\"aor\",\"aor\":\"a\",\"contacts\":[");
        for (unsigned i = 0; i < n; i++)
            off += snprintf(text + off, sizeof text - (size_t)off, "%s{\"uri\":\"sip:%u\",\"expires\":9}",
                            i ? "," : "", i);
        snprintf(text + off, sizeof text - (size_t)off, "]}");
        h = hint_ok(text, "a");
        assert_int_equal(h->has_contacts, n == SS_HINT_CONTACTS_MAX);
        assert_false(h->contacts_invalid);
        assert_int_equal(h->n_contacts, n == SS_HINT_CONTACTS_MAX ? n : 0);
    }
    /* a broken hint after a good one leaves nothing of it behind */
    hint_ok(KAM_HINT_2, "alice");
    HINT_BAD("{\"event\":\"aor\",\"contacts\":[]}", "no aor");
    assert_int_equal(hint_out.n_contacts, 0);
}

/* ---------- the requests ---------- */

static void test_requests_text(void **state)
{
    (void)state;
    char buf[SS_JSON_REQ_MAX];
    int n = ss_json_req_dump(buf, sizeof buf, 7);
    assert_string_equal(buf, "{\"jsonrpc\":\"2.0\",\"method\":\"ul.dump\",\"id\":7}");
    assert_int_equal(n, (int)strlen(buf));
    ss_json_req_lookup(buf, sizeof buf, 8, "location", "1001@example.com");
    assert_string_equal(buf, "{\"jsonrpc\":\"2.0\",\"method\":\"ul.lookup\","
                             "\"params\":[\"location\",\"1001@example.com\"],\"id\":8}");
    ss_json_req_rm(buf, sizeof buf, UINT64_MAX, "location", "a\"b");
    assert_string_equal(buf, "{\"jsonrpc\":\"2.0\",\"method\":\"ul.rm\","
                             "\"params\":[\"location\",\"a\\\"b\"],\"id\":18446744073709551615}");
    ss_json_req_rm_contact(buf, sizeof buf, 9, "location", "1001@example.com", "sip:x\\y");
    assert_string_equal(buf, "{\"jsonrpc\":\"2.0\",\"method\":\"ul.rm_contact\",\"params\":"
                             "[\"location\",\"1001@example.com\",\"sip:x\\\\y\"],\"id\":9}");

    /* ul.add as Kamailio takes it: numbers as numbers, unset strings as "." */
    struct ss_contact c = { .aor = "1001@example.com", .uri = "sip:1001@192.0.2.10:5060",
                            .expires_s = 3600, .q = 500, .flags = 0, .cflags = 64,
                            .methods = 4294967295u, .path = "<sip:edge1@127.0.0.1:5070;lr>",
                            .received = "sip:198.51.100.7:40123",
                            .socket = "udp:127.0.0.1:15310", .user_agent = "not sent" };
    char err[128] = "";
    n = ss_json_req_add(buf, sizeof buf, 10, "location", &c, err, sizeof err);
    assert_string_equal(buf, "{\"jsonrpc\":\"2.0\",\"method\":\"ul.add\",\"params\":[\"location\","
                             "\"1001@example.com\",\"sip:1001@192.0.2.10:5060\",3600,0.500,"
                             "\"<sip:edge1@127.0.0.1:5070;lr>\",0,64,4294967295,"
                             "\"sip:198.51.100.7:40123\",\"udp:127.0.0.1:15310\"],\"id\":10}");
    assert_int_equal(n, (int)strlen(buf));
    c = (struct ss_contact){ .aor = "a", .uri = "sip:b", .expires_s = SS_EXPIRES_PERMANENT,
                             .q = SS_Q_UNSET };
    ss_json_req_add(buf, sizeof buf, 11, "location", &c, err, sizeof err);
    assert_string_equal(buf, "{\"jsonrpc\":\"2.0\",\"method\":\"ul.add\",\"params\":[\"location\","
                             "\"a\",\"sip:b\",0,-1,\".\",0,0,0,\".\",\".\"],\"id\":11}");
    c.q = 1000;
    c.expires_s = 1;
    ss_json_req_add(buf, sizeof buf, 12, "location", &c, err, sizeof err);
    assert_non_null(strstr(buf, ",1,1.000,"));
    c.q = 0;
    c.expires_s = INT32_MAX;
    ss_json_req_add(buf, sizeof buf, 12, "location", &c, err, sizeof err);
    assert_non_null(strstr(buf, ",2147483647,0.000,"));
    c.q = 7;
    ss_json_req_add(buf, sizeof buf, 12, "location", &c, err, sizeof err);
    assert_non_null(strstr(buf, ",0.007,"));
}

static void add_refused(const struct ss_contact *c, const char *table, const char *why)
{
    char buf[SS_JSON_REQ_MAX] = "x", err[128] = "";
    assert_int_equal(ss_json_req_add(buf, sizeof buf, 1, table, c, err, sizeof err), -1);
    assert_string_equal(buf, "");
    if (!strstr(err, why))
        fail_msg("\"%s\", wanted \"%s\"", err, why);
}

static void test_requests_refused(void **state)
{
    (void)state;
    struct ss_contact ok = { .aor = "a", .uri = "sip:b", .expires_s = 60, .q = SS_Q_UNSET };
    struct ss_contact c = ok;
    c.expires_s = 0;
    add_refused(&c, "location", "permanent");
    c.expires_s = (uint32_t)INT32_MAX + 1;
    add_refused(&c, "location", "2^31");
    c = ok;
    c.q = 1001;
    add_refused(&c, "location", "q outside");
    c.q = -2;
    add_refused(&c, "location", "q outside");
    c = ok;
    c.aor[0] = '\0';
    add_refused(&c, "location", "no AoR");
    c = ok;
    c.uri[0] = '\0';
    add_refused(&c, "location", "no contact URI");
    c = ok;
    memset(c.path, 'p', sizeof c.path);
    add_refused(&c, "location", "not NUL-terminated");
    char *table = filled(SS_JSON_TABLE_MAX, 't');
    add_refused(&ok, table, "table");
    add_refused(&ok, NULL, "table");
    char buf[64] = "x";
    assert_int_equal(ss_json_req_lookup(buf, sizeof buf, 1, table, "a"), -1);
    assert_string_equal(buf, "");
    free(table);
    char *aor = filled(SS_AOR_MAX, 'a');
    assert_int_equal(ss_json_req_rm(buf, sizeof buf, 1, "location", aor), -1);
    assert_int_equal(ss_json_req_rm(buf, sizeof buf, 1, "location", NULL), -1);
    free(aor);
    char *uri = filled(SS_URI_MAX, 'u');
    assert_int_equal(ss_json_req_rm_contact(buf, sizeof buf, 1, "location", "a", uri), -1);
    free(uri);
    assert_int_equal(ss_json_req_dump(NULL, 0, 1), -1);
}

/* Every capacity short of the length fails and leaves ""; the length + 1 fits. */
static void test_requests_buffer_bounds(void **state)
{
    (void)state;
    struct ss_contact c = { .aor = "a@b", .uri = "sip:\"q\"", .expires_s = 5, .q = 250,
                            .path = "<sip:p;lr>", .received = "r", .socket = "udp:1.2.3.4:5" };
    char full[SS_JSON_REQ_MAX], buf[SS_JSON_REQ_MAX];
    char err[128];
    int want = ss_json_req_add(full, sizeof full, 3, "location", &c, err, sizeof err);
    assert_true(want > 0);
    for (size_t cap = 1; cap <= (size_t)want; cap++) {
        memset(buf, 'z', sizeof buf);
        assert_int_equal(ss_json_req_add(buf, cap, 3, "location", &c, err, sizeof err), -1);
        assert_string_equal(buf, "");
        assert_int_equal(buf[cap], 'z'); /* nothing written past cap */
        assert_non_null(strstr(err, "request longer than"));
    }
    assert_int_equal(ss_json_req_add(buf, (size_t)want + 1, 3, "location", &c, err, sizeof err),
                     want);
    assert_string_equal(buf, full);
    want = ss_json_req_rm_contact(full, sizeof full, 4, "location", "a", "b");
    for (size_t cap = 1; cap <= (size_t)want; cap++)
        assert_int_equal(ss_json_req_rm_contact(buf, cap, 4, "location", "a", "b"), -1);
    want = ss_json_req_dump(full, sizeof full, 4);
    for (size_t cap = 0; cap <= (size_t)want; cap++)
        assert_int_equal(ss_json_req_dump(buf, cap, 4), -1);
    assert_int_equal(ss_json_req_dump(buf, (size_t)want + 1, 4), want);
}

/* The worst strings (every byte a control character, 6 bytes escaped) fit in
 * SS_JSON_REQ_MAX, and any string comes back from a JSON parser as it went. */
static void test_requests_escaping(void **state)
{
    (void)state;
    struct ss_contact c = { .expires_s = 1, .q = SS_Q_UNSET };
    memset(c.aor, 0x01, sizeof c.aor - 1);
    memset(c.uri, 0x1f, sizeof c.uri - 1);
    memset(c.path, 0x02, sizeof c.path - 1);
    memset(c.received, 0x03, sizeof c.received - 1);
    memset(c.socket, 0x04, sizeof c.socket - 1);
    char *table = filled(SS_JSON_TABLE_MAX - 1, 0x05);
    static char buf[SS_JSON_REQ_MAX];
    char err[128] = "";
    int n = ss_json_req_add(buf, sizeof buf, UINT64_MAX, table, &c, err, sizeof err);
    if (n < 0)
        fail_msg("%s", err);
    free(table);

    /* every ASCII byte in one string, through yajl's tree parser and back */
    char all[128];
    for (int i = 1; i < 128; i++)
        all[i - 1] = (char)i;
    all[127] = '\0';
    snprintf(c.uri, sizeof c.uri, "%s", all);
    snprintf(c.aor, sizeof c.aor, "%s", "tab\there \"quoted\" back\\slash /");
    snprintf(c.path, sizeof c.path, "%s", "caf\xc3\xa9 \xe2\x82\xac"); /* UTF-8 as it is */
    c.received[0] = c.socket[0] = '\0';
    n = ss_json_req_add(buf, sizeof buf, 1, "location", &c, err, sizeof err);
    assert_true(n > 0);
    assert_non_null(strstr(buf, "caf\xc3\xa9 \xe2\x82\xac"));
    char perr[256];
    yajl_val tree = yajl_tree_parse(buf, perr, sizeof perr);
    if (!tree)
        fail_msg("%s: %s", buf, perr);
    const char *ppath[] = { "params", NULL };
    yajl_val params = yajl_tree_get(tree, ppath, yajl_t_array);
    assert_non_null(params);
    assert_int_equal(YAJL_GET_ARRAY(params)->len, 11);
    yajl_val *v = YAJL_GET_ARRAY(params)->values;
    assert_string_equal(YAJL_GET_STRING(v[1]), c.aor);
    assert_string_equal(YAJL_GET_STRING(v[2]), all);
    assert_string_equal(YAJL_GET_STRING(v[5]), c.path);
    assert_string_equal(YAJL_GET_STRING(v[9]), ".");
    assert_true(YAJL_IS_INTEGER(v[3]) && YAJL_IS_INTEGER(v[6]) && YAJL_IS_INTEGER(v[8]));
    assert_true(YAJL_IS_NUMBER(v[4]));
    assert_int_equal(YAJL_GET_INTEGER(v[4]), -1);
    yajl_tree_free(tree);

    /* a byte from 0x80 goes as it is, even when it is no UTF-8 */
    snprintf(c.aor, sizeof c.aor, "Ph\xf6ne");
    ss_json_req_lookup(buf, sizeof buf, 1, "location", c.aor);
    assert_non_null(strstr(buf, "\"Ph\xf6ne\""));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_captured_replies),
        cmocka_unit_test(test_captured_contacts),
        cmocka_unit_test(test_captured_split_everywhere),
        cmocka_unit_test(test_contact_values),
        cmocka_unit_test(test_overlong_values),
        cmocka_unit_test(test_key_order),
        cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_bounds),
        cmocka_unit_test(test_big_dump_bounded_memory),
        cmocka_unit_test(test_hint),
        cmocka_unit_test(test_hint_contacts),
        cmocka_unit_test(test_requests_text),
        cmocka_unit_test(test_requests_refused),
        cmocka_unit_test(test_requests_buffer_bounds),
        cmocka_unit_test(test_requests_escaping),
    };
    return cmocka_run_group_tests_name("ss_json", tests, NULL, NULL);
}
