/* halink_msg.h — the text form of HA link messages (siphaInstHaLinkMessage):
 * "takeover EPOCH REASON FACTOR TRAFFIC" and "release". */
#ifndef SIPHA_HALINK_MSG_H
#define SIPHA_HALINK_MSG_H

#include <stddef.h>

#include "ha_engine.h"

#define HALINK_MSG_MAX 128

/* Writes `m` as text into buf; returns the length, 0 if it does not fit or `m` is
 * not a link message. */
size_t halink_msg_encode(const struct ha_peer_msg *m, char *buf, size_t len);
/* Parses exactly `len` bytes (not NUL-terminated); 0 on success, -1 on anything
 * malformed (then `m` is untouched). */
int halink_msg_decode(const char *text, size_t len, struct ha_peer_msg *m);

#endif
