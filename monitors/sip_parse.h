/* sip_parse.h — a small strict parser for one SIP message held in a buffer (a UDP
 * datagram): start line, the headers the monitors need (Via, Call-ID, CSeq, From,
 * To, Content-Length, long or compact names) and the body.
 *
 * Nothing is allocated or copied: every string is a pointer into the caller's buffer,
 * valid while that buffer is. Malformed input returns a negative sip_err and leaves
 * the output untouched. */
#ifndef SIPHA_SIP_PARSE_H
#define SIPHA_SIP_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum sip_err {
    SIP_OK = 0,
    SIP_ERR_EMPTY = -1,            /* nothing but CRLF (a keep-alive), or no bytes */
    SIP_ERR_START_LINE = -2,       /* start line missing, unterminated or of bad shape */
    SIP_ERR_METHOD = -3,           /* request method is not a token */
    SIP_ERR_URI = -4,              /* Request-URI is not scheme ":" visible characters */
    SIP_ERR_VERSION = -5,          /* not SIP/2.0 */
    SIP_ERR_STATUS = -6,           /* status code is not 100..699 */
    SIP_ERR_REASON = -7,           /* reason phrase holds control characters */
    SIP_ERR_HEADER = -8,           /* header line without name or colon, bad character */
    SIP_ERR_TRUNCATED = -9,        /* no empty line ends the header section */
    SIP_ERR_TOO_MANY_HEADERS = -10,
    SIP_ERR_DUPLICATE = -11,       /* a single-valued header appears twice */
    SIP_ERR_MISSING = -12,         /* Via, Call-ID, CSeq, From or To absent */
    SIP_ERR_VIA = -13,
    SIP_ERR_CALL_ID = -14,
    SIP_ERR_CSEQ = -15,            /* bad CSeq, or its method differs from the request's */
    SIP_ERR_FROM_TO = -16,
    SIP_ERR_CONTENT_LENGTH = -17,
    SIP_ERR_BODY = -18,            /* body shorter than Content-Length */
};

/* Headers beyond this many make the message malformed (a bound on work per packet). */
#define SIP_MAX_HEADERS 128

struct sip_str {
    const char *p;
    size_t len;
};

struct sip_msg {
    bool is_request;
    struct sip_str method;      /* request: method token */
    struct sip_str uri;         /* request: Request-URI */
    unsigned status;            /* response: 100..699 */
    struct sip_str reason;      /* response: reason phrase (may be empty) */

    struct sip_str via;         /* the first via-parm, trimmed */
    struct sip_str via_branch;  /* its branch parameter value (len 0 when absent) */
    unsigned via_count;         /* via-parms over all Via headers */
    struct sip_str call_id;
    uint32_t cseq;
    struct sip_str cseq_method;
    struct sip_str from, to;    /* header values, trimmed */
    bool has_content_length;
    uint32_t content_length;
    struct sip_str body;        /* Content-Length bytes, or the rest of the datagram */
    unsigned header_count;
};

/* Parses one whole message. Leading CRLFs are skipped (RFC 3261 7.5). Bytes after
 * Content-Length are ignored (RFC 3261 18.3). Returns SIP_OK or a negative sip_err. */
int sip_parse(struct sip_msg *out, const char *buf, size_t len);

/* Parses only the start line (for the first fragment of a fragmented datagram, whose
 * headers are cut off): fills is_request, method/uri or status/reason. */
int sip_parse_start_line(struct sip_msg *out, const char *buf, size_t len);

/* A short English text for a sip_err value ("malformed Via header"...). */
const char *sip_strerror(int err);

/* Case-insensitive comparison of a parsed string with a C string. */
bool sip_str_eq_nocase(struct sip_str s, const char *lit);

#endif
