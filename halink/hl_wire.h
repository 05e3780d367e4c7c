/* hl_wire.h — the codec of the HA link datagrams (halink/README.md is the protocol).
 *
 * Pure: no I/O, no clock, no allocation after hl_auth_init. One datagram is
 *
 *   header (24 bytes) | body (body_len bytes) | HMAC-SHA-256 (32 bytes)
 *
 * all integers big-endian, at most HL_MAX_DGRAM bytes. hl_encode builds one,
 * hl_decode checks one in the order of enum hl_err and only then updates the
 * replay state, so a rejected datagram changes nothing. */
#ifndef SIPHA_HL_WIRE_H
#define SIPHA_HL_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ha_engine.h"

#define HL_VERSION 1u
#define HL_MAX_DGRAM 1400u  /* fits any path MTU >= 1428 (IPv4) / 1448 (IPv6) */
#define HL_HDR_LEN 24u
#define HL_MAC_LEN 32u
#define HL_MAX_BODY (HL_MAX_DGRAM - HL_HDR_LEN - HL_MAC_LEN)
#define HL_KEY_MIN 16u
#define HL_KEY_MAX 1024u

#define HL_HELLO_LEN 36u
#define HL_TAKEOVER_LEN 14u
#define HL_RELEASE_LEN 4u
#define HL_CREQ_LEN 8u
#define HL_CDATA_FIXED 15u  /* CONTACT_DATA body before its rows */
#define HL_ROW_FIXED 32u    /* a row with all five strings empty */
/* Rows that fit one datagram when every string is empty: bounds hl_cdata.rows. */
#define HL_MAX_ROWS ((HL_MAX_BODY - HL_CDATA_FIXED) / HL_ROW_FIXED)
#define HL_Q_UNSET (-1)     /* a row's q when the contact has none; else 0..1000 */

/* The strings of a contact row, in wire order, each at most hl_str_max[field] bytes
 * and without a NUL byte. The sum of the maxima fits one datagram, so any row the
 * encoder accepts travels. */
enum hl_field { HL_F_AOR, HL_F_URI, HL_F_PATH, HL_F_RECEIVED, HL_F_SOCKET, HL_F_COUNT };
extern const uint16_t hl_str_max[HL_F_COUNT];
#define HL_STR_MAX 511u     /* the longest of hl_str_max */

enum hl_type {
    HL_HELLO = 1,
    HL_TAKEOVER = 2,
    HL_RELEASE = 3,
    HL_CONTACT_REQ = 4,
    HL_CONTACT_DATA = 5,
};

/* Why a datagram was rejected; 0 = accepted. Values index hl_counters.rejected. */
enum hl_err {
    HL_OK = 0,
    HL_E_TRUNCATED,   /* shorter than header + MAC */
    HL_E_OVERSIZED,   /* longer than HL_MAX_DGRAM */
    HL_E_VERSION,     /* version is not HL_VERSION */
    HL_E_TYPE,        /* unknown message type */
    HL_E_LENGTH,      /* body length disagrees with the datagram size or the type */
    HL_E_INDEX,       /* sender is not the peer, or receiver is not us */
    HL_E_AUTH,        /* HMAC mismatch (wrong key, altered bytes) */
    HL_E_REPLAY,      /* session older, or same session and sequence not newer */
    HL_E_MALFORMED,   /* authentic, but a body field is out of range */
    HL_E_COUNT
};

const char *hl_strerror(enum hl_err e);

/* The HMAC key, kept in a reusable context: no allocation per datagram. */
struct hl_auth {
    void *mac;  /* EVP_MAC_CTX * keyed once */
};

/* 0, or -1 when libcrypto cannot set up HMAC-SHA-256 or the key length is outside
 * HL_KEY_MIN..HL_KEY_MAX. The key bytes are not kept by the caller's buffer. */
int hl_auth_init(struct hl_auth *a, const uint8_t *key, size_t len);
void hl_auth_free(struct hl_auth *a);

struct hl_hdr {
    enum hl_type type;
    uint32_t sender, receiver; /* instance indexes, 1..255 */
    uint64_t session;          /* sender's realtime in µs when its link opened */
    uint64_t seq;              /* +1 per datagram of that session */
};

struct hl_hello {
    struct ha_peer_state ps;   /* index is not carried (the header's sender);
                                  hears_peer = "I heard you lately" */
    uint32_t contact_gen, contact_count;
    uint16_t tx_interval_ms;   /* the sender's HELLO period now, 1..65535: the receiver
                                  times the sender out after miss_count of them */
    bool poll;                 /* the sender's state changed: answer with a HELLO now */
};

struct hl_takeover {
    uint32_t id;               /* message id, de-duplicates the repeats */
    struct ha_peer_msg m;      /* cmd is HA_CMD_PEER_TAKEOVER or _RELEASE */
};

struct hl_creq {
    uint32_t gen;              /* the generation the requester is syncing */
    uint32_t after_row;        /* rows > after_row wanted */
};

/* One contact row. expiry_s 0 says the contact is gone: the receiver removes it
 * (only AOR and URI are meaningful then). */
struct hl_row {
    uint32_t row, expiry_s;
    int16_t q;                 /* 0..1000 or HL_Q_UNSET */
    uint32_t flags, cflags, methods;
    const char *str[HL_F_COUNT];    /* not NUL-terminated: lengths below */
    uint16_t len[HL_F_COUNT];       /* <= hl_str_max[field], no NUL byte inside */
};

struct hl_cdata {
    uint32_t gen;              /* the answering side's current generation */
    uint32_t after_row;        /* echo of the request */
    uint32_t last_row;         /* next request's after_row; >= every row here */
    bool end;                  /* no row > last_row exists */
    bool too_old;              /* after_row is older than the changes the sender still
                                  remembers: no rows; ask again from row 0 */
    size_t n;
    struct hl_row rows[HL_MAX_ROWS]; /* strictly increasing, each > after_row */
};

struct hl_msg {
    struct hl_hdr h;
    union {
        struct hl_hello hello;
        struct hl_takeover msg; /* HL_TAKEOVER and HL_RELEASE (only id read) */
        struct hl_creq creq;
        struct hl_cdata cdata;
    } u;
};

/* Wire size of one CONTACT_DATA row. */
static inline size_t hl_row_len(const struct hl_row *r)
{
    size_t n = HL_ROW_FIXED;
    for (int f = 0; f < HL_F_COUNT; f++)
        n += r->len[f];
    return n;
}

/* Writes m as one authenticated datagram into buf (cap >= HL_MAX_DGRAM is always
 * enough). Returns its length, or 0 when a field is out of the ranges the decoder
 * accepts (the same check: what we send, the peer accepts) or it does not fit. */
size_t hl_encode(const struct hl_auth *a, const struct hl_msg *m, uint8_t *buf, size_t cap);

/* The receiver's memory of the peer's last accepted datagram. */
struct hl_replay {
    bool known;
    uint64_t session, seq;
};

/* Checks buf in this order: size, version, type, length, indexes (sender must be
 * peer_index, receiver self_index), HMAC, replay, body. On HL_OK fills *out
 * (string pointers of CONTACT_DATA rows point into buf) and records the datagram in
 * *rp; any other result leaves *rp untouched and *out unspecified. */
enum hl_err hl_decode(const struct hl_auth *a, struct hl_replay *rp, uint32_t self_index,
                      uint32_t peer_index, const uint8_t *buf, size_t len, struct hl_msg *out);

#endif
