/* notify_build.h — the varbind list of a SIPHA-MIB notification, as the agent sends
 * it and sipha-trapgen imitates it: sysUpTime.0, snmpTrapOID.0, then every varbind of
 * the notification's definition with its current value. */
#ifndef SIPHA_NOTIFY_BUILD_H
#define SIPHA_NOTIFY_BUILD_H

#include <stddef.h>
#include <stdint.h>

#include <net-snmp/net-snmp-config.h>
#include <net-snmp/net-snmp-includes.h>

#include "instance.h"
#include "notify_defs.h"

/* Longest OID built here: siphaObjects(9) . table . 1 . column . instance . row */
#define NOTIFY_OID_MAX 16

/* Writes the notification's OID (siphaNotifications.N) into buf (NOTIFY_OID_MAX
 * sub-ids) and returns its length. */
size_t notify_trap_oid(const struct notif_def *def, oid *buf);

/* Writes the OID of varbind `vb` of `def` (siphaObjects.table.1.column.instance, then
 * the row index for a column of def->row_table or the event index for a
 * siphaEventTable column) into buf and returns its length, or 0 when the varbind
 * names a sub-table the notification has no row of. */
size_t notify_varbind_oid(const struct notif_def *def, const struct notif_varbind *vb,
                          uint32_t inst_index, uint32_t row_index, uint32_t event_index,
                          oid *buf);

/* Builds the whole list into *out (the caller owns it: snmp_free_varbind).
 * sysUpTime.0 is now minus `uptime_base` (CLOCK_MONOTONIC ms at which sysUpTime was
 * 0); values come from mibval_get. Returns 0, or -1 (nothing allocated, *out NULL)
 * when a row is missing, a column unreadable or memory runs out. */
int notify_build_varbinds(const struct notif_def *def, const struct sipha_instance *in,
                          uint32_t row_index, uint32_t event_index, uint64_t uptime_base,
                          netsnmp_variable_list **out);

#endif
