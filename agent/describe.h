/* describe.h — words for what the logs report: option flags, the causes of
 * serviceUnavailable, the reason of a status change. Pure functions (no I/O). */
#ifndef SIPHA_DESCRIBE_H
#define SIPHA_DESCRIBE_H

#include <stddef.h>

#include "ha_types.h"

/* The five options by their configuration names, in the order of <options>, each
 * "on" or "off": "sip-pass-check on, control-vip-scripts off, ...". Bits outside the
 * five are named "other bits 0x..". Returns buf (always terminated, cut if short). */
const char *describe_options(char *buf, size_t len, unsigned options);

/* The causes of serviceUnavailable (enum ha_cause bits) joined by " and ": "SIP
 * traffic lost", "VIP failed", "SIP NIC down"; "" for none. Returns buf. */
const char *describe_causes(char *buf, size_t len, unsigned causes);

/* Why the status went from `from` to `to`: "graceful stop", "role not decided yet",
 * the causes held now (`causes`) for serviceUnavailable, "cleared: " and those of
 * `old_causes` (the causes before) no longer held when back to running, or "role
 * decided" when running follows initializing. Returns buf. */
const char *describe_status_reason(char *buf, size_t len, enum ha_status from,
                                   enum ha_status to, unsigned causes, unsigned old_causes);

#endif
