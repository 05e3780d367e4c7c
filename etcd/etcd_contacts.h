/* etcd_contacts.h — a pair's registration contacts under one prefix in etcd, so that a
 * node starting after its peer died still learns them: written in batches, each contact
 * on a lease that ends after its expiry, and read back page by page. On the agent loop
 * through a client of its own (etcd_client.h: another connection than the arbiter's, so
 * that a batch never delays a lease renewal); one call at a time, nothing blocks.
 *
 * It knows nothing of the agent: agent/contact_store.c decides what to write and when,
 * and what a contact read back becomes. Keys and values: etcd_contact_codec.h.
 *
 * Writing. Puts and deletes are gathered (etcd_contacts_put, _delete), then sent as one
 * transaction (etcd_contacts_write): at most ETCD_WIRE_TXN_OPS_MAX operations and
 * ETCD_WIRE_TXN_BODY_MAX bytes, no key twice (a put or delete that would break one of
 * these is answered FULL: send, then gather again). A failed write drops the batch: the
 * caller gathers it again from its own record of what changed.
 *
 * Leases. Contacts whose expiry falls in one bucket of bucket_s seconds share a lease,
 * granted when the first of them is written with TTL = bucket end - now + margin, and
 * reused while it lives: etcd deletes a contact by itself once its bucket has ended,
 * even when no node is left to do it. A reader still drops a contact whose expiry has
 * passed (a lease may outlive its bucket by the margin, or longer across an etcd leader
 * change). A batch that etcd refuses for a lease it no longer knows (revoked, or etcd's
 * data lost) is sent again once with new leases.
 *
 * Reading. etcd_contacts_read_next reads one page of the prefix (range_end = prefix + 1,
 * `limit`, the next page from the last key + "\0") and hands each contact to `each`; a
 * key or value that does not decode is skipped and counted. etcd_contacts_sweep_next
 * reads one page of keys only and deletes, in one transaction, those `keep` refuses (and
 * those that do not decode): after writing all the contacts a node holds, a sweep to the
 * end removes the ones it no longer holds. Pages are not one snapshot: a key written or
 * deleted meanwhile may or may not be seen. */
#ifndef SIPHA_ETCD_CONTACTS_H
#define SIPHA_ETCD_CONTACTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "etcd_client.h"
#include "etcd_contact_codec.h"

struct loop;
struct etcd_contacts;

#define ETCD_CONTACTS_BUCKET_DEFAULT_S 60u /* expiries sharing one lease */
#define ETCD_CONTACTS_MARGIN_S 10u         /* a lease outlives its bucket by this much */
#define ETCD_CONTACTS_LEASES_MAX 512u      /* leases remembered for reuse */
#define ETCD_CONTACTS_PREFIX_MAX 256u      /* bytes of the prefix */

struct etcd_contacts_config {
    const char *prefix; /* the pair's namespace, e.g. "/sipha/pair-1-2/" ("" allowed): the
                         * contacts go under <prefix>contacts/ */
    uint32_t bucket_s;  /* 0: ETCD_CONTACTS_BUCKET_DEFAULT_S; at most 86400 */
    uint32_t page;      /* keys per page, 1..ETCD_WIRE_RANGE_LIMIT_MAX; 0: the most */
};

enum etcd_contacts_add {
    ETCD_CONTACTS_ADDED,   /* in the batch */
    ETCD_CONTACTS_FULL,    /* no room (operations, bytes, or its key is in it already):
                            * write the batch first */
    ETCD_CONTACTS_REFUSED, /* never fits: a key or value too long or malformed, an
                            * expiry passed; or a call is under way */
};

struct etcd_contacts_result {
    bool ok;
    bool unreachable;     /* !ok: no member answered (else etcd refused, or answered
                           * something else than the call's reply) */
    const char *error;    /* !ok: one line */
    size_t puts, deletes; /* written by this call */
    size_t contacts, bad; /* a page: contacts handed over (read) or looked at (sweep);
                           * keys or values that did not decode */
    bool more;            /* a page: more follow; false: the end (the next page is the
                           * first again) */
    bool lease_lost;      /* a write: etcd no longer knew a lease of ours (revoked, or
                           * its data lost), so the keys on it are gone too: write them
                           * again */
};

/* Called once per accepted write or page, from a loop callback. It may call any
 * function of the store, etcd_contacts_free included. */
typedef void (*etcd_contacts_done)(void *arg, const struct etcd_contacts_result *r);
/* Each contact of a page; its strings live until it returns. */
typedef void (*etcd_contacts_each)(void *arg, const struct etcd_contact *c);
/* Whether the key of (aor, uri) stays. */
typedef bool (*etcd_contacts_keep)(void *arg, const char *aor, const char *uri);

struct etcd_contacts_stats {
    uint64_t batches, puts, deletes; /* written */
    uint64_t grants;                 /* leases granted */
    size_t leases;                   /* remembered now */
    uint64_t pages, bad;             /* pages read; keys or values that did not decode */
    uint64_t failures;               /* writes and pages that failed */
    struct etcd_client_stats client;
};

/* A store on loop lp talking to the cluster of cc. Returns NULL with a one-line reason
 * in err (a bad configuration, the client's reasons). No call before the first write or
 * page. */
struct etcd_contacts *etcd_contacts_new(struct loop *lp, const struct etcd_client_config *cc,
                                        const struct etcd_contacts_config *cfg, char *err,
                                        size_t errlen);

/* Adds a put of c (expiry in the future, unix seconds `now`) or a delete of (aor, uri)
 * to the batch. */
enum etcd_contacts_add etcd_contacts_put(struct etcd_contacts *s, const struct etcd_contact *c,
                                         int64_t now);
enum etcd_contacts_add etcd_contacts_delete(struct etcd_contacts *s, const char *aor,
                                            const char *uri);
size_t etcd_contacts_batched(const struct etcd_contacts *s);
/* Drops the batch (not while a call is under way). */
void etcd_contacts_clear(struct etcd_contacts *s);

/* Sends the batch: leases first for buckets that have none alive, then the
 * transaction; `done` follows, and the batch is empty again. Returns 0, or -1 when a
 * call is under way, the batch is empty, or the call could not be queued (no done). */
int etcd_contacts_write(struct etcd_contacts *s, etcd_contacts_done done, void *arg);

/* The next page: read_next hands each contact to `each`; sweep_next deletes the keys
 * that `keep` refuses (the batch must be empty). A failed page is read again by the next
 * call. Returns 0 (done follows), or -1 as etcd_contacts_write. */
int etcd_contacts_read_next(struct etcd_contacts *s, etcd_contacts_each each,
                            etcd_contacts_done done, void *arg);
int etcd_contacts_sweep_next(struct etcd_contacts *s, etcd_contacts_keep keep,
                             etcd_contacts_done done, void *arg);
/* The next page is the first. */
void etcd_contacts_rewind(struct etcd_contacts *s);

/* A write or page is under way. */
bool etcd_contacts_busy(const struct etcd_contacts *s);
/* "<prefix>contacts/" */
const char *etcd_contacts_dir(const struct etcd_contacts *s);
const char *etcd_contacts_member_url(const struct etcd_contacts *s);
void etcd_contacts_get_stats(const struct etcd_contacts *s, struct etcd_contacts_stats *st);

/* Stops everything (no callback afterwards); the leases live on in etcd until they end.
 * NULL is allowed. */
void etcd_contacts_free(struct etcd_contacts *s);

#endif
