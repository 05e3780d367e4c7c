/* contacts.h — registration contacts of the instance: local ones (from the SIP
 * server's location service, or from the configuration as a test/demo source) and
 * those synced from the primary over the HA link. A contact keeps its row index while
 * it lives; each change of a local contact is numbered in the change log
 * (contact_log.h), from which the backup pulls only what changed. */
#ifndef SIPHA_CONTACTS_H
#define SIPHA_CONTACTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "context.h"

/* What a SIP server needs, beyond AOR and URI, to reach the UA behind a contact. */
struct contact_attrs {
    int32_t q;                   /* 0..1000, -1 unset */
    uint32_t flags, cflags, methods;
    const char *path, *received, *socket; /* NULL or "" = unset */
};

/* Makes the local contacts those of the configuration (new expiry from now). */
void contacts_apply_config(struct agent *a);

/* Local contacts from the SIP server: inserted, or changed when anything differs
 * (an expiry that moved by a second or less is no change). attrs NULL = none.
 * Returns 0, or -1 when out of memory (nothing changed). */
int contacts_put_local(struct agent *a, const char *aor, const char *uri, uint32_t expiry_s,
                       const struct contact_attrs *attrs);
void contacts_remove_local(struct agent *a, const char *aor, const char *uri);
/* Calls fn for each local contact of `aor` (e.g. to remove those its server no
 * longer lists); fn may remove the contact it is given. */
void contacts_each_local_of(struct agent *a, const char *aor,
                            void (*fn)(struct agent *a, const struct sipha_contact *c, void *arg),
                            void *arg);

/* Removes local contacts not confirmed since `mark` (after a full read of the
 * server's table; UINT64_MAX: all of them). */
void contacts_drop_local_before(struct agent *a, uint64_t mark);
/* Removes the local contact (aor, uri) without numbering a removal: it did not go
 * away, the peer holds it now (a demoted primary hands its contacts over), and the
 * peer must not remove it from its SIP server. */
void contacts_forget_local(struct agent *a, const char *aor, const char *uri);
/* The row of (aor, uri) of that origin, or NULL. */
const struct sipha_contact *contacts_find(struct agent *a, const char *aor, const char *uri,
                                          enum contact_origin origin);

/* A contact of the peer (origin synced): inserted or refreshed; removed. */
void contacts_upsert_synced(struct agent *a, const char *aor, const char *uri, uint32_t expiry_s,
                            const struct contact_attrs *attrs);
void contacts_remove_synced(struct agent *a, const char *aor, const char *uri);
/* Removes synced contacts not seen since `mark` (after a full copy). */
void contacts_drop_synced_before(struct agent *a, uint64_t mark);

/* One change of a local contact for the peer: the contact as it is now, or (c NULL)
 * its removal. */
struct contact_view {
    uint32_t change;
    const struct sipha_contact *c;
    const char *aor, *uri;
};
/* Up to max changes numbered above `after`, in order; the contact_view pointers stay
 * valid until the table changes. */
size_t contacts_changes_after(struct agent *a, uint32_t after, struct contact_view *out, size_t max);
/* The highest change number of a removal no longer listed (contact_log.h). */
uint32_t contacts_horizon(const struct agent *a);
size_t contacts_local_count(const struct agent *a);

/* Removes contacts when they expire: one timer at the earliest expiry. */
void contacts_start_expiry(struct agent *a);
void contacts_stop_expiry(struct agent *a);
/* Releases the change log (the rows belong to the instance). */
void contacts_free(struct agent *a);

#endif
