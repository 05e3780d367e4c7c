/* hl_link.h — the HA link: the two agents of a pair exchange authenticated UDP
 * datagrams (hl_wire.h; protocol in halink/README.md) on the agent's loop.
 *
 *  - Heartbeat: a HELLO every interval_ms (every backup_interval_ms from a backup
 *    that hears its primary) carrying hl_set_state's state, our view "I hear you",
 *    our contact generation and our period; at once, asking for an answer, when
 *    role, status, epoch or unavailable change. Any accepted datagram keeps the
 *    peer alive for miss_count of its periods, then on_lost. Only news goes to
 *    on_state (a changed state, or the answer to our change), so an idle pair costs
 *    the engine nothing per heartbeat.
 *  - Messages: hl_send_msg sends TAKEOVER/RELEASE at once and twice more, one
 *    interval apart; the receiver delivers each message id once (on_msg).
 *  - Contacts: the side with hl_pull_contacts(l, true) copies the peer's local
 *    contacts (CONTACT_REQ / CONTACT_DATA) whenever the peer's generation (or
 *    process) differs from the last one synced: first in a full pass, then in
 *    incremental passes from where the last one ended (changes and removals only);
 *    the other side answers from contacts_after.
 *  - Bad datagrams change nothing; they are counted per reason and logged at most
 *    once per reason per 10 s. Send errors are counted and logged the same way.
 *
 * Nothing blocks; nothing is allocated per datagram. Callbacks are optional and run
 * from the loop only, never from inside hl_open, hl_set_state, hl_send_msg,
 * hl_contacts_changed or hl_pull_contacts (so the engine is never re-entered from its
 * own output). hl_close may be called anywhere, also from a callback: no callback
 * follows it, and the memory is released before control returns to the loop. */
#ifndef SIPHA_HL_LINK_H
#define SIPHA_HL_LINK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "ha_engine.h"
#include "hl_wire.h"
#include "loop.h"

#define HL_DEFAULT_INTERVAL_MS 15u
#define HL_DEFAULT_MISS_COUNT 3u
#define HL_DEFAULT_BACKUP_INTERVAL_MS 500u /* or interval_ms when that is longer */
#define HL_INTERVAL_MIN_MS 10u    /* range of interval_ms; backup_interval_ms runs */
#define HL_INTERVAL_MAX_MS 10000u /* from interval_ms to HL_INTERVAL_MAX_MS */
#define HL_MISS_COUNT_MIN 2u      /* range of miss_count */
#define HL_MISS_COUNT_MAX 100u
#define HL_MSG_REPEATS 2u        /* repeats after the first send of a message */
#define HL_PASS_MIN_GAP_MS 1000u /* full contact passes start at most this often */
#define HL_REQ_TIMEOUT_MIN_MS 100u
#define HL_REQ_RETRIES 5u        /* re-sends of one CONTACT_REQ before the pass is dropped */
#define HL_LOG_GAP_MS 10000u     /* one log line per reason per this long */
#define HL_RX_BURST 64u          /* datagrams read per wakeup at most */

struct hl_config {
    const char *local;       /* "IP:PORT" or "[IPv6]:PORT" to bind (port 0 = any) */
    const char *peer;        /* "IP:PORT" or "[IPv6]:PORT" of the peer, same family */
    const char *key_file;    /* hl_key.h */
    uint32_t self_index, peer_index; /* 1..255, different */
    uint32_t interval_ms;    /* heartbeat period, 10..10000, 0 = 15 */
    uint32_t miss_count;     /* 2..100, 0 = 3: HELLO periods of the peer without a datagram
                                before the peer is lost */
    uint32_t backup_interval_ms; /* HELLO period of a backup that hears its primary,
                                interval_ms..10000, 0 = 500 (interval_ms when longer) */
    uint64_t session_floor;  /* the last session this instance used, 0 = unknown: the new
                                session is above it even after the clock stepped back */
};

/* One contact row: ours (origin local) for the peer, or the peer's for us. Strings
 * are NUL-terminated, NULL or "" when unset (AOR and URI never are); each at most
 * hl_str_max[field] bytes, or the row is skipped. expiry_s 0: the contact is gone
 * (a removal; only AOR and URI count). Our strings must stay valid until control
 * returns to the loop (the link encodes them right after contacts_after returns and
 * keeps no pointer); the peer's are valid during on_contact only. */
struct hl_contact {
    uint32_t row;            /* > 0, strictly increasing in one answer */
    uint32_t expiry_s;       /* seconds left, 0 = removed */
    int32_t q;               /* 0..1000, HL_Q_UNSET */
    uint32_t flags, cflags, methods;
    const char *str[HL_F_COUNT]; /* enum hl_field: AOR, URI, path, received, socket */
};

struct hl_callbacks {
    /* The peer's state when it is news: the first HELLO, one that differs from the
     * last handed over, the first after the peer was lost, and the first after our
     * own state changed (the peer answers that change at once). ps->index =
     * peer_index, ps->hears_peer = the peer hears us. */
    void (*on_state)(void *ctx, const struct ha_peer_state *ps);
    /* No datagram from the peer for miss_count of its HELLO periods. */
    void (*on_lost)(void *ctx);
    /* TAKEOVER or RELEASE, each message id once. */
    void (*on_msg)(void *ctx, const struct ha_peer_msg *m);
    /* The answering side: up to max of our changes with row > after_row, in row
     * order — contacts of origin local as they are now, and removals (expiry_s 0) —
     * returns how many it wrote. Every change gets a row above all earlier ones. */
    size_t (*contacts_after)(void *ctx, uint32_t after_row, struct hl_contact *out, size_t max);
    /* The answering side: the highest row whose removal it no longer lists. A puller
     * whose last pass ended below it is told to start over at row 0. NULL = 0. */
    uint32_t (*contacts_horizon)(void *ctx);
    /* The pulling side: a full pass begins (also one that replaces an unfinished
     * pass): what it does not deliver is gone on the peer when it ends. */
    void (*on_full_pass_start)(void *ctx);
    /* The pulling side: one contact of the peer (expiry_s 0: remove it). */
    void (*on_contact)(void *ctx, const struct hl_contact *c);
    /* A pass ended. full: it began at row 0, so every contact the peer held when it
     * began (and still holds) was delivered since; drop synced contacts not delivered.
     * Otherwise it delivered the changes since the last pass, removals included. */
    void (*on_contacts_done)(void *ctx, bool full);
    /* A log line (priority LOG_*); never on the normal path of a datagram. */
    void (*on_log)(void *ctx, int priority, const char *text);
};

struct hl_counters {
    uint64_t dgrams_in, dgrams_out;       /* accepted / sent */
    uint64_t hellos_in, hellos_out;
    uint64_t msgs_in, msgs_out;           /* delivered once / datagrams incl. repeats */
    uint64_t msgs_dup;                    /* repeats of a delivered message id */
    uint64_t contacts_in, contacts_out;   /* rows delivered / rows sent */
    uint64_t contact_reqs_in, contact_reqs_out, contact_resends;
    uint64_t passes_done, passes_dropped; /* passes ended / abandoned */
    uint64_t passes_too_old;              /* incremental passes turned into full ones */
    uint64_t rows_skipped;                /* our rows too long to send */
    uint64_t stale;                       /* authentic but out of context (late answer) */
    uint64_t send_errors;                 /* sendto failed (EAGAIN, ENETUNREACH, ...) */
    uint64_t encode_errors;               /* a state/message value out of range: not sent */
    uint64_t rejected[HL_E_COUNT];        /* per enum hl_err; [HL_OK] unused */
    uint32_t peer_contact_gen, peer_contact_count; /* as in the peer's last HELLO */
    uint64_t last_rx_ms;                  /* loop_now_ms() of the last accepted datagram */
    bool peer_alive;                      /* heard within miss_count of its periods */
    uint64_t hello_period_ms;             /* ours now */
};

struct hl_link;

/* Loads the key, binds the socket and starts the heartbeat timer (HELLOs go out
 * once hl_set_state was called). Returns 0, or -1 with a message in err. */
int hl_open(struct hl_link **out, struct loop *lp, const struct hl_config *cfg,
            const struct hl_callbacks *cb, void *ctx, char *err, size_t errlen);
void hl_close(struct hl_link *l);

/* What our HELLOs carry (index and hears_peer are ignored: the link fills them). A
 * change of role, status, epoch or unavailable sends a HELLO at once. */
void hl_set_state(struct hl_link *l, const struct ha_peer_state *self);

/* HA_CMD_PEER_TAKEOVER or HA_CMD_PEER_RELEASE: 0 when sent (or at least queued for
 * its repeats), -1 for any other command or a field out of range. */
int hl_send_msg(struct hl_link *l, const struct ha_peer_msg *m);

/* Our contacts changed: bump the generation our HELLOs carry, with the new count. */
void hl_contacts_changed(struct hl_link *l, uint32_t count);

/* Enable on the backup: passes whenever the peer's generation or process differs
 * from the last synced. Disabling drops a pass in progress; enabling again forces a
 * new full pass. */
void hl_pull_contacts(struct hl_link *l, bool enable);

void hl_get_counters(const struct hl_link *l, struct hl_counters *c);

/* "IP:PORT" or "[IPv6]:PORT" (port 0..65535) into *ss: 0, or -1 when malformed. The
 * configuration checks <peer address= bind=> with it, so what loads also opens. */
int hl_endpoint_parse(const char *s, struct sockaddr_storage *ss, socklen_t *len);

/* Our session number (the wall clock in µs at open, or session_floor + 1 if that is
 * not above it): the caller keeps it for the next start's session_floor. */
uint64_t hl_session(const struct hl_link *l);

/* The bound local port (useful with port 0), or -1. */
int hl_local_port(const struct hl_link *l);

#endif
