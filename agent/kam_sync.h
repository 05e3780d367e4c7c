/* kam_sync.h — the registrations of the Kamailio beside the agent, kept in step with
 * the contact table (<sip-server kind="kamailio">).
 *
 *  - As primary (the source): Kamailio's routing script pushes a hint naming the AOR
 *    after each change (evapi, sipsrv/ss_events.h); the AOR is then read with
 *    ul.lookup and its local contacts made equal to the answer. A full read of the
 *    table (ul.dump) reconciles at every connection of the event stream, when the
 *    role is taken, and every `reconcile` seconds, since a hint can be lost.
 *  - As backup (the writer): every contact synced from the primary is written into
 *    the local Kamailio (ul.add with the time left, q, path, received, socket, flags)
 *    and every removal removed (ul.rm_contact). After each full copy from the primary,
 *    at each connection of the event stream and every `reconcile` seconds, Kamailio's
 *    table is read and made equal to the synced contacts.
 *
 * The source is "up" while the event stream is connected and the last RPC call
 * succeeded; its loss raises siphaContactSourceLost once, its return clears it.
 * Nothing blocks: RPC runs on libcurl multi, the stream on the loop. */
#ifndef SIPHA_KAM_SYNC_H
#define SIPHA_KAM_SYNC_H

#include <stdbool.h>

#include "context.h"

/* Starts the integration when the configuration names a Kamailio; 0 otherwise too.
 * -1 with a message on the log when it cannot start (bad endpoint, no memory). */
int kam_sync_start(struct agent *a);
void kam_sync_stop(struct agent *a);
/* The HA role changed: source on the primary, writer on the backup. */
void kam_sync_role_changed(struct agent *a, enum ha_role role);
/* Ports called by contacts.c and ha_link.c (wired by agent.c): a synced contact was
 * inserted, changed or removed; a pass of the HA link's copy ended. */
void kam_sync_synced_changed(struct agent *a, const char *aor, const char *uri);
void kam_sync_pass_done(struct agent *a, bool full);

#endif
