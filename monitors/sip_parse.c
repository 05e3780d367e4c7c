/* sip_parse.c — strict SIP message parser (RFC 3261 §7, §20, §25 grammar, the parts
 * the monitors need). Every byte is checked against the grammar of the element it
 * belongs to; the scanners never read past `end`, which is what the fuzz target
 * checks. Header values may be folded (CRLF followed by SP/HT), so the value scanners
 * treat CR and LF as linear white space: the line scanner has already made sure a
 * CRLF inside a value is always a fold. */
#include <string.h>

#include "sip_parse.h"

enum hdr_kind { HDR_OTHER, HDR_VIA, HDR_CALL_ID, HDR_CSEQ, HDR_FROM, HDR_TO, HDR_CLEN };

/* --- character classes --- */

static bool is_alpha(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool is_digit(unsigned char c)
{
    return c >= '0' && c <= '9';
}

static bool is_alnum(unsigned char c)
{
    return is_alpha(c) || is_digit(c);
}

/* token = 1*(alphanum / "-" / "." / "!" / "%" / "*" / "_" / "+" / "`" / "'" / "~") */
static bool is_token(unsigned char c)
{
    return is_alnum(c) || (c != 0 && strchr("-.!%*_+`'~", c) != NULL);
}

/* word (Call-ID) = token characters plus ( ) < > : \ " / [ ] ? { } */
static bool is_word(unsigned char c)
{
    return is_token(c) || (c != 0 && strchr("()<>:\\\"/[]?{}", c) != NULL);
}

static bool is_hex(unsigned char c)
{
    return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static bool is_visible(unsigned char c)
{
    return c > 0x20 && c < 0x7f;
}

static bool is_lws(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static const char *skip_lws(const char *p, const char *end)
{
    while (p < end && is_lws((unsigned char)*p))
        p++;
    return p;
}

static const char *skip_token(const char *p, const char *end)
{
    while (p < end && is_token((unsigned char)*p))
        p++;
    return p;
}

static struct sip_str trim(const char *p, const char *end)
{
    while (p < end && is_lws((unsigned char)*p))
        p++;
    while (end > p && is_lws((unsigned char)end[-1]))
        end--;
    return (struct sip_str){ p, (size_t)(end - p) };
}

static bool lit_eq(const char *p, size_t len, const char *lit)
{
    return len == strlen(lit) && memcmp(p, lit, len) == 0;
}

bool sip_str_eq_nocase(struct sip_str s, const char *lit)
{
    size_t n = strlen(lit);
    if (s.len != n)
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char a = (unsigned char)s.p[i], b = (unsigned char)lit[i];
        if (a >= 'A' && a <= 'Z')
            a = (unsigned char)(a - 'A' + 'a');
        if (b >= 'A' && b <= 'Z')
            b = (unsigned char)(b - 'A' + 'a');
        if (a != b)
            return false;
    }
    return true;
}

/* Unsigned decimal of 1..max_digits digits, value <= limit; returns the end or NULL. */
static const char *parse_uint(const char *p, const char *end, unsigned max_digits,
                              uint32_t limit, uint32_t *out)
{
    uint64_t v = 0;
    unsigned n = 0;
    while (p < end && is_digit((unsigned char)*p)) {
        if (++n > max_digits)
            return NULL;
        v = v * 10 + (uint64_t)(*p - '0');
        p++;
    }
    if (n == 0 || v > limit)
        return NULL;
    *out = (uint32_t)v;
    return p;
}

/* quoted-string: DQUOTE *(qdtext / "\" char) DQUOTE; p at the opening quote. */
static const char *skip_quoted(const char *p, const char *end)
{
    for (p++; p < end; p++) {
        unsigned char c = (unsigned char)*p;
        if (c == '"')
            return p + 1;
        if (c == '\\') {
            if (++p == end || (unsigned char)*p == '\r' || (unsigned char)*p == '\n')
                return NULL;
        } else if (c == '\r' || c == '\n') {
            /* a fold inside quotes: CRLF then white space, checked by the line scanner */
        } else if (c < 0x20 && c != '\t') {
            return NULL;
        }
    }
    return NULL;
}

/* --- start line --- */

/* End of the line starting at p: the position of its CR. NULL if the line has no
 * CRLF, or holds a bare CR or LF. */
static const char *line_end(const char *p, const char *end)
{
    for (; p < end; p++) {
        if (*p == '\n')
            return NULL;
        if (*p == '\r')
            return (p + 1 < end && p[1] == '\n') ? p : NULL;
    }
    return NULL;
}

/* Request-URI: scheme ":" 1*visible, scheme = ALPHA *(ALPHA / DIGIT / "+" / "-" / ".") */
static bool valid_uri(const char *p, const char *end)
{
    if (p >= end || !is_alpha((unsigned char)*p))
        return false;
    const char *q = p;
    while (q < end && (is_alnum((unsigned char)*q) || *q == '+' || *q == '-' || *q == '.'))
        q++;
    if (q >= end || *q != ':' || q + 1 >= end)
        return false;
    for (; p < end; p++)
        if (!is_visible((unsigned char)*p))
            return false;
    return true;
}

static int parse_status_line(struct sip_msg *m, const char *p, const char *eol)
{
    static const char version[] = "SIP/2.0 ";
    size_t vlen = sizeof(version) - 1;
    if ((size_t)(eol - p) < vlen || memcmp(p, version, vlen) != 0)
        return SIP_ERR_VERSION;
    p += vlen;
    if (eol - p < 4 || !is_digit((unsigned char)p[0]) || !is_digit((unsigned char)p[1]) ||
        !is_digit((unsigned char)p[2]) || p[3] != ' ')
        return SIP_ERR_STATUS;
    unsigned code = (unsigned)((p[0] - '0') * 100 + (p[1] - '0') * 10 + (p[2] - '0'));
    if (code < 100 || code > 699)
        return SIP_ERR_STATUS;
    for (const char *q = p + 4; q < eol; q++) {
        unsigned char c = (unsigned char)*q;
        if ((c < 0x20 && c != '\t') || c == 0x7f)
            return SIP_ERR_REASON;
    }
    m->is_request = false;
    m->status = code;
    m->reason = (struct sip_str){ p + 4, (size_t)(eol - (p + 4)) };
    return SIP_OK;
}

/* Method SP Request-URI SP SIP-Version */
static int parse_request_line(struct sip_msg *m, const char *p, const char *eol)
{
    const char *q = skip_token(p, eol);
    if (q == p || q >= eol || *q != ' ')
        return SIP_ERR_METHOD;
    const char *uri = q + 1;
    const char *sp = memchr(uri, ' ', (size_t)(eol - uri));
    if (!sp || !valid_uri(uri, sp))
        return SIP_ERR_URI;
    if (!lit_eq(sp + 1, (size_t)(eol - (sp + 1)), "SIP/2.0"))
        return SIP_ERR_VERSION;
    m->is_request = true;
    m->method = (struct sip_str){ p, (size_t)(q - p) };
    m->uri = (struct sip_str){ uri, (size_t)(sp - uri) };
    return SIP_OK;
}

/* Skips leading CRLFs, parses the start line; *next is where the headers begin. */
static int parse_start(struct sip_msg *m, const char *buf, size_t len, const char **next)
{
    const char *p = buf, *end = buf + len;
    while (end - p >= 2 && p[0] == '\r' && p[1] == '\n')
        p += 2;
    if (p == end)
        return SIP_ERR_EMPTY;
    const char *eol = line_end(p, end);
    if (!eol || eol == p)
        return SIP_ERR_START_LINE;
    *next = eol + 2;
    if (eol - p >= 4 && memcmp(p, "SIP/", 4) == 0)
        return parse_status_line(m, p, eol);
    return parse_request_line(m, p, eol);
}

/* --- header lines --- */

/* Reads one header at *pp into name/value. Returns 1 for a header, 0 at the empty line
 * ending the headers (consumed), or a negative sip_err. */
static int next_header(const char **pp, const char *end, struct sip_str *name,
                       struct sip_str *value)
{
    const char *p = *pp;
    if (p == end || (p[0] == '\r' && p + 1 == end))
        return SIP_ERR_TRUNCATED;
    if (p[0] == '\r') {
        if (p[1] != '\n')
            return SIP_ERR_HEADER;
        *pp = p + 2;
        return 0;
    }
    const char *n = skip_token(p, end);
    if (n == p)
        return SIP_ERR_HEADER;
    *name = (struct sip_str){ p, (size_t)(n - p) };
    while (n < end && (*n == ' ' || *n == '\t'))
        n++;
    if (n == end)
        return SIP_ERR_TRUNCATED;
    if (*n != ':')
        return SIP_ERR_HEADER;
    const char *v = n + 1;
    for (const char *q = v; q < end; q++) {
        unsigned char c = (unsigned char)*q;
        if (c == '\r') {
            if (q + 1 == end)
                return SIP_ERR_TRUNCATED;
            if (q[1] != '\n')
                return SIP_ERR_HEADER;
            if (q + 2 < end && (q[2] == ' ' || q[2] == '\t')) {
                q += 2; /* folded: the value goes on */
                continue;
            }
            *value = trim(v, q);
            *pp = q + 2;
            return 1;
        }
        if (c == '\n' || (c < 0x20 && c != '\t') || c == 0x7f)
            return SIP_ERR_HEADER;
    }
    return SIP_ERR_TRUNCATED;
}

/* By length first: most headers of a message are none of ours and are told apart
 * with one comparison. */
static enum hdr_kind header_kind(struct sip_str name)
{
    switch (name.len) {
    case 1:
        switch (name.p[0] | 0x20) {
        case 'v': return HDR_VIA;
        case 'i': return HDR_CALL_ID;
        case 'f': return HDR_FROM;
        case 't': return HDR_TO;
        case 'l': return HDR_CLEN;
        default: return HDR_OTHER;
        }
    case 2:
        return sip_str_eq_nocase(name, "to") ? HDR_TO : HDR_OTHER;
    case 3:
        return sip_str_eq_nocase(name, "via") ? HDR_VIA : HDR_OTHER;
    case 4:
        return sip_str_eq_nocase(name, "from") ? HDR_FROM
             : sip_str_eq_nocase(name, "cseq") ? HDR_CSEQ : HDR_OTHER;
    case 7:
        return sip_str_eq_nocase(name, "call-id") ? HDR_CALL_ID : HDR_OTHER;
    case 14:
        return sip_str_eq_nocase(name, "content-length") ? HDR_CLEN : HDR_OTHER;
    default:
        return HDR_OTHER;
    }
}

/* --- Via --- */

/* Parameter value: token, host characters (received=, maddr= may hold [v6]) or a
 * quoted-string. */
static const char *skip_param_value(const char *p, const char *end)
{
    if (p < end && *p == '"')
        return skip_quoted(p, end);
    const char *q = p;
    while (q < end && (is_token((unsigned char)*q) || *q == ':' || *q == '[' || *q == ']'))
        q++;
    return q == p ? NULL : q;
}

/* *( SEMI name [EQUAL value] ); on return *pp is after the last parameter. If `want`
 * names a parameter, its value is stored in *found. */
static int parse_params(const char **pp, const char *end, const char *want,
                        struct sip_str *found)
{
    const char *p = *pp;
    for (;;) {
        const char *q = skip_lws(p, end);
        if (q == end || *q != ';') {
            *pp = p;
            return 0;
        }
        q = skip_lws(q + 1, end);
        const char *name = q;
        q = skip_token(q, end);
        if (q == name)
            return -1;
        struct sip_str pname = { name, (size_t)(q - name) }, pval = { q, 0 };
        const char *r = skip_lws(q, end);
        if (r < end && *r == '=') {
            r = skip_lws(r + 1, end);
            const char *vend = skip_param_value(r, end);
            if (!vend)
                return -1;
            pval = (struct sip_str){ r, (size_t)(vend - r) };
            q = vend;
        }
        if (want && found && sip_str_eq_nocase(pname, want))
            *found = pval;
        p = q;
    }
}

/* sent-by host: hostname / IPv4address / "[" IPv6 "]" */
static const char *skip_host(const char *p, const char *end)
{
    const char *q = p;
    if (q < end && *q == '[') {
        for (q++; q < end && *q != ']'; q++)
            if (!is_hex((unsigned char)*q) && *q != ':' && *q != '.')
                return NULL;
        if (q == end || q == p + 1)
            return NULL;
        return q + 1;
    }
    if (q == end || !is_alnum((unsigned char)*q))
        return NULL;
    while (q < end && (is_alnum((unsigned char)*q) || *q == '-' || *q == '.'))
        q++;
    return q;
}

/* SWS "/" SWS */
static const char *skip_slash(const char *p, const char *end)
{
    p = skip_lws(p, end);
    if (p == end || *p != '/')
        return NULL;
    return skip_lws(p + 1, end);
}

/* via-parm = sent-protocol LWS sent-by *( SEMI via-params ) */
static const char *parse_via_parm(const char *p, const char *end, struct sip_str *branch)
{
    const char *q = skip_token(p, end);
    if (!sip_str_eq_nocase((struct sip_str){ p, (size_t)(q - p) }, "SIP"))
        return NULL;
    if (!(p = skip_slash(q, end)))
        return NULL;
    q = skip_token(p, end);
    if (!lit_eq(p, (size_t)(q - p), "2.0") || !(p = skip_slash(q, end)))
        return NULL;
    q = skip_token(p, end);
    if (q == p || q == end || !is_lws((unsigned char)*q))
        return NULL;
    p = skip_lws(q, end);
    if (!(p = skip_host(p, end)))
        return NULL;
    if (p < end && *p == ':') {
        uint32_t port;
        if (!(p = parse_uint(p + 1, end, 5, 65535, &port)))
            return NULL;
    }
    *branch = (struct sip_str){ NULL, 0 };
    if (parse_params(&p, end, "branch", branch) < 0)
        return NULL;
    return p;
}

static int parse_via(struct sip_msg *m, struct sip_str v)
{
    const char *p = v.p, *end = v.p + v.len;
    for (;;) {
        struct sip_str branch;
        const char *start = p;
        if (!(p = parse_via_parm(p, end, &branch)))
            return SIP_ERR_VIA;
        if (m->via_count++ == 0) {
            m->via = trim(start, p);
            m->via_branch = branch;
        }
        p = skip_lws(p, end);
        if (p == end)
            return SIP_OK;
        if (*p != ',')
            return SIP_ERR_VIA;
        p = skip_lws(p + 1, end);
    }
}

/* --- Call-ID, CSeq, From/To, Content-Length --- */

/* callid = word [ "@" word ] */
static int parse_call_id(struct sip_msg *m, struct sip_str v)
{
    size_t ats = 0, wlen = 0;
    for (size_t i = 0; i < v.len; i++) {
        unsigned char c = (unsigned char)v.p[i];
        if (c == '@') {
            if (wlen == 0 || ++ats > 1)
                return SIP_ERR_CALL_ID;
            wlen = 0;
        } else if (is_word(c)) {
            wlen++;
        } else {
            return SIP_ERR_CALL_ID;
        }
    }
    if (wlen == 0)
        return SIP_ERR_CALL_ID;
    m->call_id = v;
    return SIP_OK;
}

/* CSeq = 1*DIGIT LWS Method */
static int parse_cseq(struct sip_msg *m, struct sip_str v)
{
    const char *end = v.p + v.len;
    uint32_t n;
    const char *p = parse_uint(v.p, end, 10, 0x7fffffffu, &n);
    if (!p || p == end || !is_lws((unsigned char)*p))
        return SIP_ERR_CSEQ;
    p = skip_lws(p, end);
    const char *q = skip_token(p, end);
    if (q == p || q != end)
        return SIP_ERR_CSEQ;
    m->cseq = n;
    m->cseq_method = (struct sip_str){ p, (size_t)(q - p) };
    return SIP_OK;
}

/* URI inside < >: scheme ":" then visible characters except '>'. */
static const char *skip_angle_uri(const char *p, const char *end)
{
    const char *close = memchr(p, '>', (size_t)(end - p));
    if (!close || !valid_uri(p, close))
        return NULL;
    return close + 1;
}

/* ( name-addr / addr-spec ) *( SEMI param ); display-name is a quoted-string or
 * tokens separated by LWS. */
static int check_name_addr(struct sip_str v)
{
    const char *p = v.p, *end = v.p + v.len;
    if (p == end)
        return SIP_ERR_FROM_TO;
    if (*p == '"') {
        if (!(p = skip_quoted(p, end)))
            return SIP_ERR_FROM_TO;
        p = skip_lws(p, end);
    } else {
        const char *q = p;
        while (q < end && (is_token((unsigned char)*q) || is_lws((unsigned char)*q)))
            q++;
        if (q < end && *q == '<')
            p = q;
    }
    if (p < end && *p == '<') {
        if (!(p = skip_angle_uri(p + 1, end)))
            return SIP_ERR_FROM_TO;
    } else {
        /* addr-spec: its own ';' would be ambiguous, so parameters start at the first */
        const char *q = p;
        while (q < end && *q != ';' && is_visible((unsigned char)*q) && *q != '<' && *q != '>')
            q++;
        if (!valid_uri(p, q))
            return SIP_ERR_FROM_TO;
        p = q;
    }
    if (parse_params(&p, end, NULL, NULL) < 0 || skip_lws(p, end) != end)
        return SIP_ERR_FROM_TO;
    return SIP_OK;
}

static int parse_content_length(struct sip_msg *m, struct sip_str v)
{
    uint32_t n;
    const char *p = parse_uint(v.p, v.p + v.len, 10, 0x7fffffffu, &n);
    if (!p || p != v.p + v.len)
        return SIP_ERR_CONTENT_LENGTH;
    m->has_content_length = true;
    m->content_length = n;
    return SIP_OK;
}

/* Dispatches one header; `seen` holds a bit per single-valued header already met. */
static int take_header(struct sip_msg *m, struct sip_str name, struct sip_str value,
                       unsigned *seen)
{
    enum hdr_kind k = header_kind(name);
    if (k == HDR_OTHER)
        return SIP_OK;
    if (k == HDR_VIA)
        return parse_via(m, value);
    unsigned bit = 1u << k;
    if (*seen & bit)
        return SIP_ERR_DUPLICATE;
    *seen |= bit;
    switch (k) {
    case HDR_CALL_ID:
        return parse_call_id(m, value);
    case HDR_CSEQ:
        return parse_cseq(m, value);
    case HDR_FROM:
        if (check_name_addr(value) != SIP_OK)
            return SIP_ERR_FROM_TO;
        m->from = value;
        return SIP_OK;
    case HDR_TO:
        if (check_name_addr(value) != SIP_OK)
            return SIP_ERR_FROM_TO;
        m->to = value;
        return SIP_OK;
    case HDR_CLEN:
        return parse_content_length(m, value);
    default:
        return SIP_OK;
    }
}

static int parse_headers(struct sip_msg *m, const char **pp, const char *end)
{
    unsigned seen = 0;
    for (;;) {
        struct sip_str name, value;
        int rc = next_header(pp, end, &name, &value);
        if (rc < 0)
            return rc;
        if (rc == 0)
            break;
        if (++m->header_count > SIP_MAX_HEADERS)
            return SIP_ERR_TOO_MANY_HEADERS;
        if ((rc = take_header(m, name, value, &seen)) != SIP_OK)
            return rc;
    }
    unsigned need = (1u << HDR_CALL_ID) | (1u << HDR_CSEQ) | (1u << HDR_FROM) | (1u << HDR_TO);
    if ((seen & need) != need || m->via_count == 0)
        return SIP_ERR_MISSING;
    return SIP_OK;
}

int sip_parse_start_line(struct sip_msg *out, const char *buf, size_t len)
{
    struct sip_msg m;
    const char *next;
    memset(&m, 0, sizeof(m));
    if (!buf)
        return SIP_ERR_EMPTY;
    int rc = parse_start(&m, buf, len, &next);
    if (rc == SIP_OK)
        *out = m;
    return rc;
}

int sip_parse(struct sip_msg *out, const char *buf, size_t len)
{
    struct sip_msg m;
    const char *p, *end = buf + len;
    memset(&m, 0, sizeof(m));
    if (!buf)
        return SIP_ERR_EMPTY;
    int rc = parse_start(&m, buf, len, &p);
    if (rc != SIP_OK)
        return rc;
    if ((rc = parse_headers(&m, &p, end)) != SIP_OK)
        return rc;
    /* RFC 3261 8.2.2 (and 8.1.3.3 for responses we sent): the CSeq method of a
     * request names the request's own method. */
    if (m.is_request && !(m.cseq_method.len == m.method.len &&
                          memcmp(m.cseq_method.p, m.method.p, m.method.len) == 0))
        return SIP_ERR_CSEQ;
    size_t rest = (size_t)(end - p);
    if (m.has_content_length && rest < m.content_length)
        return SIP_ERR_BODY;
    m.body = (struct sip_str){ p, m.has_content_length ? m.content_length : rest };
    *out = m;
    return SIP_OK;
}

const char *sip_strerror(int err)
{
    switch (err) {
    case SIP_OK: return "ok";
    case SIP_ERR_EMPTY: return "empty message (keep-alive)";
    case SIP_ERR_START_LINE: return "missing or malformed start line";
    case SIP_ERR_METHOD: return "malformed request method";
    case SIP_ERR_URI: return "malformed Request-URI";
    case SIP_ERR_VERSION: return "not SIP/2.0";
    case SIP_ERR_STATUS: return "status code not 100..699";
    case SIP_ERR_REASON: return "control character in reason phrase";
    case SIP_ERR_HEADER: return "malformed header line";
    case SIP_ERR_TRUNCATED: return "header section not terminated by an empty line";
    case SIP_ERR_TOO_MANY_HEADERS: return "too many headers";
    case SIP_ERR_DUPLICATE: return "single-valued header repeated";
    case SIP_ERR_MISSING: return "mandatory header missing (Via, Call-ID, CSeq, From, To)";
    case SIP_ERR_VIA: return "malformed Via header";
    case SIP_ERR_CALL_ID: return "malformed Call-ID header";
    case SIP_ERR_CSEQ: return "malformed CSeq header or method mismatch";
    case SIP_ERR_FROM_TO: return "malformed From or To header";
    case SIP_ERR_CONTENT_LENGTH: return "malformed Content-Length header";
    case SIP_ERR_BODY: return "body shorter than Content-Length";
    default: return "unknown SIP parse error";
    }
}
