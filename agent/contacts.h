/* contacts.h — registration contacts of the instance: local ones (from the
 * configuration, the test/demo source) and those synced from the primary over the
 * HA link. Every new or changed contact gets a new, higher row index, so the backup
 * can pull only the rows after the last index it has seen. */
#ifndef SIPHA_CONTACTS_H
#define SIPHA_CONTACTS_H

#include <stdbool.h>
#include <stdint.h>

#include "context.h"

/* Makes the local contacts those of the configuration (new expiry from now). */
void contacts_apply_config(struct agent *a);
/* A contact of the peer's table: inserted or refreshed as origin synced. */
void contacts_upsert_synced(struct agent *a, const char *aor, const char *uri, uint32_t expiry_s);
/* Removes synced contacts not seen since `mark` (after a full copy). */
void contacts_drop_synced_before(struct agent *a, uint64_t mark);
/* Removes contacts when they expire: one timer at the earliest expiry. */
void contacts_start_expiry(struct agent *a);
void contacts_stop_expiry(struct agent *a);

#endif
