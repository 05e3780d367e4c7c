/* rows.h — a growable array of rows kept sorted by a uint32 index.
 *
 * Every row type starts with `uint32_t index` (0 is not a valid index). The rows sit
 * in one contiguous array, so GET and GETNEXT on a table are binary searches; inserts
 * and removals shift the tail, which is cheap next to the SNMP traffic they serve. */
#ifndef SIPHA_ROWS_H
#define SIPHA_ROWS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct sipha_rows {
    void *items;
    size_t count, cap, size; /* size = sizeof one row */
};

/* `rows_init` sets the row size; `rows_insert` copies `row` in place by its index
 * (replacing a row of the same index); `rows_find` returns the row of exactly
 * `index`, `rows_next` the first row whose index is > index (or >= when `inclusive`);
 * both NULL when none. */
void rows_init(struct sipha_rows *r, size_t row_size);
void rows_free(struct sipha_rows *r);
void *rows_insert(struct sipha_rows *r, const void *row);
bool rows_remove(struct sipha_rows *r, uint32_t index);
void *rows_find(const struct sipha_rows *r, uint32_t index);
void *rows_next(const struct sipha_rows *r, uint32_t index, bool inclusive);
void *rows_at(const struct sipha_rows *r, size_t pos);

#endif
