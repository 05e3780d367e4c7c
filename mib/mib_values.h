/* mib_values.h — the value of any SIPHA-MIB column of an instance, as a varbind.
 * Used by the table handlers (GET/GETNEXT), by the notification builder and by
 * sipha-trapgen, so a column is encoded in one place. */
#ifndef SIPHA_MIB_VALUES_H
#define SIPHA_MIB_VALUES_H

#include <stdbool.h>
#include <stdint.h>

#include <net-snmp/net-snmp-config.h>
#include <net-snmp/net-snmp-includes.h>

#include "instance.h"
#include "sipha_mib.h"

/* Sets vb's type and value from column `col` of `table` for instance `in` and row
 * `row_index` (ignored for SIPHA_T_INSTANCE). TimeStamp columns are converted with
 * `uptime_base`: the monotonic ms at which the agent's sysUpTime was 0.
 * Returns 0, or -1 when the row does not exist or the column is not readable. */
int mibval_get(const struct sipha_instance *in, enum sipha_table_id table, unsigned col,
               uint32_t row_index, uint64_t uptime_base, netsnmp_variable_list *vb);

/* Last column number of `table` (first readable is 2: column 1 is the index). */
unsigned mibval_last_column(enum sipha_table_id table);

/* Monotonic ms → TimeStamp (centiseconds since uptime_base; 0 for "never"). */
uint32_t mibval_timestamp(uint64_t ms, uint64_t uptime_base);

#endif
