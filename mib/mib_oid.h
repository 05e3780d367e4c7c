/* mib_oid.h — OIDs of SIPHA-MIB columns, for the table handlers and the HA link. */
#ifndef SIPHA_MIB_OID_H
#define SIPHA_MIB_OID_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <net-snmp/net-snmp-config.h>
#include <net-snmp/net-snmp-includes.h>

#include "sipha_mib.h"

/* siphaObjects, the arc every column sits under. */
#define MIB_OBJECTS_LEN (SIPHA_MIB_ARC_LEN + 1)
extern const oid mib_objects_oid[MIB_OBJECTS_LEN];

/* Length of siphaObjects.T.1.C.INST (the registered prefix of a column). */
#define MIB_COLUMN_PREFIX_LEN (MIB_OBJECTS_LEN + 4)

/* Builds siphaObjects.table.1.column.instance[.row] into out (at least
 * MIB_COLUMN_PREFIX_LEN + 1 entries); returns the length. */
size_t mib_oid_build(oid *out, enum sipha_table_id table, unsigned column, uint32_t instance,
                     uint32_t row, bool with_row);

#endif
