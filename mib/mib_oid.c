/* mib_oid.c — see mib_oid.h. */
#include <string.h>

#include "mib_oid.h"

static const oid objects_oid[] = { SIPHA_OBJECTS };
#define OBJECTS_LEN (SIPHA_MIB_ARC_LEN + 1)

size_t mib_oid_build(oid *out, enum sipha_table_id table, unsigned column, uint32_t instance,
                     uint32_t row, bool with_row)
{
    memcpy(out, objects_oid, sizeof(objects_oid));
    size_t n = OBJECTS_LEN;
    out[n++] = table;
    out[n++] = 1;
    out[n++] = column;
    out[n++] = instance;
    if (with_row)
        out[n++] = row;
    return n;
}
