/* mib_oid.c — see mib_oid.h. */
#include <string.h>

#include "mib_oid.h"

const oid mib_objects_oid[MIB_OBJECTS_LEN] = { SIPHA_OBJECTS };

size_t mib_oid_build(oid *out, enum sipha_table_id table, unsigned column, uint32_t instance,
                     uint32_t row, bool with_row)
{
    memcpy(out, mib_objects_oid, sizeof(mib_objects_oid));
    size_t n = MIB_OBJECTS_LEN;
    out[n++] = table;
    out[n++] = 1;
    out[n++] = column;
    out[n++] = instance;
    if (with_row)
        out[n++] = row;
    return n;
}
