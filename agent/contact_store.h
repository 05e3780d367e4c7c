/* contact_store.h — the pair's contacts kept in etcd (<arbiter kind="etcd"
 * contacts="true">): the seed's second path of the contacts to the backup, beside the
 * HA link, so that a backup that starts after its primary died still learns every live
 * registration.
 *
 * The primary writes: it follows the change log of its local contacts (contact_log.h)
 * from its own change number, as the peer does over the HA link, and writes the changes
 * in batches (etcd/etcd_contacts.h): one transaction at a time, gathered for
 * CONTACT_STORE_GATHER_MS, retried from the same change number after a failure. It
 * writes everything again (then deletes what it no longer holds) when it becomes
 * primary, when the log's horizon passed what it had written, and when a lease of its
 * own had vanished.
 *
 * Reading: at start, after a demotion and before a promotion's resync, the prefix is
 * read once, page by page, and every live contact that the agent does not hold yet
 * becomes a synced contact, the same row the HA link makes, so the two paths never give
 * one contact twice; the HA link's full copy stays the truth while a primary is there.
 * Read before a promotion, what an unfinished HA-link copy had not brought is learnt
 * instead of swept: a takeover never shrinks the pair's contacts.
 *
 * Failures are logged once per outage and counted in a->inst.contact_store. */
#ifndef SIPHA_CONTACT_STORE_H
#define SIPHA_CONTACT_STORE_H

#include "context.h"

#define CONTACT_STORE_GATHER_MS 50u     /* changes gathered before a batch goes */
#define CONTACT_STORE_RETRY_MS 500u     /* after a failure, doubling ... */
#define CONTACT_STORE_RETRY_MAX_MS 5000u /* ... up to this */
#define CONTACT_STORE_TIMEOUT_MS 2000u  /* one attempt on one member, at least */

/* Opens the store when the configuration asks for it (a no-op otherwise); the first
 * read goes out on the next loop turn. Returns 0, or -1 with a one-line reason. */
int contact_store_start(struct agent *a, char *err, size_t errlen);
/* Closes it; what is on the wire is dropped. NULL a->cstore is allowed. */
void contact_store_stop(struct agent *a);

/* The instance's role changed (PRIMARY: read, then write everything and follow;
 * BACKUP after PRIMARY: read again). */
void contact_store_role_changed(struct agent *a, enum ha_role role);
/* Our local contacts changed (the agent_contacts_changed port). */
void contact_store_changed(struct agent *a);

/* Nothing is due: no read wanted or under way, a primary has written every change and
 * ended its resync, no call is on the wire. (false without a store.) */
bool contact_store_settled(struct agent *a);

/* The pair's prefix in etcd: the parent of the lock's key ("/sipha/pair-1-2/" for
 * "/sipha/pair-1-2/primary"; "" for a key without '/'), into buf. */
void contact_store_prefix(const char *lock_key, char *buf, size_t len);

#endif
