/* ss_json.h — Kamailio's JSON-RPC 2.0 as sipsrv/ speaks it, with no I/O: a streaming
 * parser for the replies of ul.dump and ul.lookup, the parser of one evapi hint event,
 * and the builders of the requests. The formats are those Kamailio 5.6 sends and
 * accepts, captured in tests/data/kamailio/.
 *
 * Replies. ul.dump: result.Domains[].Domain.AoRs[].Info{AoR, Contacts[].Contact{...}};
 * ul.lookup: result{AoR, Contacts[].Contact{...}}. A contact's fields are Address,
 * Expires (seconds left, or "permanent", "expired", "deleted"), Q (a number: -1 unset,
 * 1, 0.500000...), Path, Received, Socket, User-Agent (the string "[not set]" when
 * unset), Flags, CFlags, Methods (unsigned 32-bit numbers); other keys are ignored, in
 * any order. A failed call answers {"error":{"code":N,"message":"..."}} (with an HTTP
 * status of 404 or 500). Strings are not checked for UTF-8: Kamailio copies a
 * User-Agent's bytes as they came. */
#ifndef SIPHA_SS_JSON_H
#define SIPHA_SS_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ss_contact.h"

/* --- the reply parser --- */

#define SS_JSON_DEPTH_DEFAULT 32u            /* a dump nests 9 deep */
#define SS_JSON_DEPTH_HARD_MAX 64u
#define SS_JSON_TOKEN_DEFAULT (64u * 1024u)  /* any string or number, key included */
#define SS_JSON_CONTACTS_DEFAULT 1000000u
#define SS_JSON_PENDING_MAX 64u /* contacts held while their record's AoR comes later */
#define SS_JSON_TEXT_MAX 128u   /* reason, RPC error message (cut to fit), id */

/* Bounds of one reply; a zero field takes its default. A reply that passes one ends
 * with SS_JSON_TOO_DEEP or SS_JSON_TOO_LARGE. A string longer than its contact field
 * but within max_token only makes that contact invalid. */
struct ss_json_limits {
    unsigned max_depth;    /* nesting of objects and arrays, at most SS_JSON_DEPTH_HARD_MAX */
    size_t max_token;      /* bytes of one string or number as sent (escapes included) */
    uint64_t max_contacts; /* contacts handed to the callback */
};

enum ss_json_status {
    SS_JSON_MORE,      /* no verdict yet: feed the rest, then ss_json_finish */
    SS_JSON_OK,        /* a whole reply with a "result" */
    SS_JSON_RPC_ERROR, /* a whole reply with an "error": rpc_code, rpc_message */
    SS_JSON_MALFORMED, /* not JSON, or not a JSON-RPC reply of the shape above */
    SS_JSON_TOO_LARGE, /* more contacts than allowed, or a string or number too long */
    SS_JSON_TOO_DEEP,
    SS_JSON_STOPPED,   /* the contact callback asked to stop */
};

struct ss_json_result {
    enum ss_json_status status;
    uint64_t records;  /* AoR records read (objects with an "AoR" key) */
    uint64_t contacts; /* handed to the callback */
    uint64_t invalid;  /* skipped: a value too long for its field or of the wrong type,
                        * no Address, no AoR in the record... */
    char first_invalid[SS_JSON_TEXT_MAX]; /* why the first one was skipped, for the log */
    long long rpc_code;                   /* SS_JSON_RPC_ERROR */
    char rpc_message[SS_JSON_TEXT_MAX];
    char id[SS_JSON_TEXT_MAX]; /* the reply's id: a number's text or a string's value */
    char reason[SS_JSON_TEXT_MAX]; /* MALFORMED, TOO_*, STOPPED: what, in one line */
    uint64_t offset; /* ... and near which byte: how many bytes of the reply had been
                      * read when it was seen, the offending token included (where yajl
                      * stops may move by a token with the way the reply was cut) */
};

/* Called once per complete valid contact, from inside ss_json_feed or ss_json_finish,
 * with its record's AoR filled in; `c` is valid during the call only. Returns 0 to go
 * on, anything else to stop the parse (SS_JSON_STOPPED). */
typedef int (*ss_json_contact_cb)(void *arg, const struct ss_contact *c);

struct ss_json;

/* A parser for one reply; NULL when out of memory. limits may be NULL (defaults). */
struct ss_json *ss_json_new(const struct ss_json_limits *limits, ss_json_contact_cb cb,
                            void *arg);

/* Parses the next `len` bytes of the reply (any split). Returns SS_JSON_MORE while all
 * is well, else the final status, which stays: later feeds do nothing. */
enum ss_json_status ss_json_feed(struct ss_json *p, const void *buf, size_t len);

/* The reply has ended: returns the final status (never SS_JSON_MORE). A reply cut
 * short is SS_JSON_MALFORMED. */
enum ss_json_status ss_json_finish(struct ss_json *p);

const struct ss_json_result *ss_json_result(const struct ss_json *p);

/* The most memory the parser has held at once, in bytes (itself, yajl's buffers and
 * stack, the pending contacts): it depends on the limits, not on the reply's size. */
size_t ss_json_memory_peak(const struct ss_json *p);

void ss_json_free(struct ss_json *p);

const char *ss_json_status_name(enum ss_json_status st);

/* --- the evapi hint --- */

#define SS_JSON_HINT_MAX 65536u  /* bytes of one hint (the event stream's own limit) */
#define SS_HINT_CONTACTS_MAX 32u /* contacts a hint may carry (kamailio/sipha.cfg) */

/* One event: {"event":"aor","aor":"<aor>"}, optionally with the AOR's contacts right
 * after save(), "contacts":[{"uri":"...","expires":N,"q":N,"flags":N,"cflags":N,
 * "methods":N,"path":"...","received":"...","socket":"..."}, ...]: uri and expires
 * (seconds left, 1..2^31-1) required, q -1..1000 (-1 unset), the flags unsigned 32-bit,
 * strings within their ss_contact fields; other keys ignored, at any level. */
struct ss_hint {
    char aor[SS_AOR_MAX];
    bool has_contacts;       /* contacts[0..n_contacts) is the AOR's whole set */
    bool contacts_invalid;   /* a list was there but not as above: read the AOR instead */
    size_t n_contacts;
    struct ss_contact contacts[SS_HINT_CONTACTS_MAX]; /* each with the hint's AOR */
};

/* Parses one hint into *out. Returns 0 (with has_contacts false when there was no list,
 * a list of more than SS_HINT_CONTACTS_MAX, or an invalid one), or -1 with the reason
 * in err: not JSON, not an object, no or another event, no AoR, an empty or too long
 * one, longer than SS_JSON_HINT_MAX. */
int ss_json_parse_hint(const void *buf, size_t len, struct ss_hint *out, char *err,
                       size_t errlen);

/* --- the requests --- */

/* Each builder writes one NUL-terminated JSON-RPC 2.0 request with `id` into buf and
 * returns its length, or -1 (buf then holds "" when cap > 0) when it does not fit in
 * cap bytes, or a string is NULL or longer than its field (table SS_JSON_TABLE_MAX - 1
 * bytes, aor SS_AOR_MAX - 1, uri SS_URI_MAX - 1). SS_JSON_REQ_MAX always fits
 * (escaping may make one byte six). Strings are escaped as JSON asks; bytes from 0x80
 * go as they are. */
#define SS_JSON_TABLE_MAX 64u /* a usrloc table name, NUL included */
#define SS_JSON_REQ_MAX                                                                   \
    (256u + 6u * (SS_JSON_TABLE_MAX + SS_AOR_MAX + SS_URI_MAX + SS_PATH_MAX +             \
                  SS_RECEIVED_MAX + SS_SOCKET_MAX))

int ss_json_req_dump(char *buf, size_t cap, uint64_t id);
int ss_json_req_lookup(char *buf, size_t cap, uint64_t id, const char *table,
                       const char *aor);
int ss_json_req_rm(char *buf, size_t cap, uint64_t id, const char *table, const char *aor);
int ss_json_req_rm_contact(char *buf, size_t cap, uint64_t id, const char *table,
                           const char *aor, const char *uri);

/* ul.add with Kamailio's 11 positional params: table, AoR, contact, expires, q, path,
 * flags, cflags, methods, received, socket. Numbers go as JSON numbers (Kamailio
 * reads a string there as 0 without a word), unset strings as "." and SS_Q_UNSET as
 * -1; SS_EXPIRES_PERMANENT goes as expires 0 (permanent). Also returns -1, with the
 * reason in err, for a contact Kamailio would store wrongly: no AoR or URI, a field
 * not NUL-terminated, expires_s 0 (it would become permanent) or past INT32_MAX (it
 * overflows), q outside 0..1000, a table name longer than SS_JSON_TABLE_MAX - 1. */
int ss_json_req_add(char *buf, size_t cap, uint64_t id, const char *table,
                    const struct ss_contact *c, char *err, size_t errlen);

#endif
