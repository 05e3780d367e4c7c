/* contact_log.h — the order in which our local contacts changed, for the peer; and
 * the lookup of a contact by its AOR and URI.
 *
 * Every change of a local contact (new, refreshed, changed, removed) gets a change
 * number above all earlier ones, and an entry here. The backup asks for the changes
 * after the last number it has seen (the HA link's "after row"), so after its first
 * full copy it fetches only what changed, removals included. An entry for a contact
 * that changed again later is superseded (skipped, then compacted away). Removals are
 * kept up to a bound; the highest number of one dropped is the horizon: a backup
 * whose last copy is older must copy everything again. Owned by agent/contacts.c. */
#ifndef SIPHA_CONTACT_LOG_H
#define SIPHA_CONTACT_LOG_H

#include <stddef.h>
#include <stdint.h>

struct contact_change {
    uint32_t change;  /* its change number */
    uint32_t index;   /* the contact's row; 0 = a removal, AOR and URI below */
    char *aor, *uri;  /* removals only (owned) */
};

struct contact_log {
    struct contact_change *v; /* in change order */
    size_t n, cap;
    size_t removals;          /* entries with index 0 */
    uint32_t last_change;     /* the highest number given */
    uint32_t horizon;         /* the highest number of a removal no longer listed */
    uint32_t next_index;      /* row index of the last new contact (monotonic) */
    size_t locals;            /* contacts of origin local in the table */
    /* Lookup of a row by (origin, AOR, URI): open addressing, linear probing, slots
     * hold row indexes (0 = empty), at most half full. */
    uint32_t *slots;
    size_t nslots, used;
};

#endif
