/* rows.c — see rows.h. */
#include <stdlib.h>
#include <string.h>

#include "array.h"
#include "rows.h"

/* Row types all start with `uint32_t index`; memcpy avoids type-punning the void array. */
static uint32_t row_index_at(const struct sipha_rows *r, size_t pos)
{
    uint32_t idx;
    memcpy(&idx, (const char *)r->items + pos * r->size, sizeof idx);
    return idx;
}

static void *row_ptr(const struct sipha_rows *r, size_t pos)
{
    return (char *)r->items + pos * r->size;
}

/* Position of the first row whose index is >= `index` (count when none). */
static size_t rows_lower_bound(const struct sipha_rows *r, uint32_t index)
{
    size_t lo = 0, hi = r->count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (row_index_at(r, mid) < index)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static bool rows_usable(const struct sipha_rows *r)
{
    return r && r->size >= sizeof(uint32_t);
}

void rows_init(struct sipha_rows *r, size_t row_size)
{
    if (!r)
        return;
    r->items = NULL;
    r->count = r->cap = 0;
    r->size = row_size;
}

void rows_free(struct sipha_rows *r)
{
    if (!r)
        return;
    free(r->items);
    r->items = NULL;
    r->count = r->cap = 0; /* size kept: the array can be reused */
}

/* Makes room for one more row; false (nothing changed) when memory is short. */
static bool rows_reserve_one(struct sipha_rows *r)
{
    return array_reserve(&r->items, &r->cap, r->count + 1, r->size, 16) == 0;
}

void *rows_insert(struct sipha_rows *r, const void *row)
{
    if (!rows_usable(r) || !row)
        return NULL;
    uint32_t index;
    memcpy(&index, row, sizeof index);
    if (index == 0)
        return NULL;
    size_t pos = rows_lower_bound(r, index);
    if (pos < r->count && row_index_at(r, pos) == index) {
        memmove(row_ptr(r, pos), row, r->size); /* row may be the slot itself */
        return row_ptr(r, pos);
    }
    /* Not found, so `row` is not one of our slots: realloc cannot move it under us. */
    if (!rows_reserve_one(r))
        return NULL;
    void *slot = row_ptr(r, pos);
    memmove((char *)slot + r->size, slot, (r->count - pos) * r->size);
    memcpy(slot, row, r->size);
    r->count++;
    return slot;
}

bool rows_remove(struct sipha_rows *r, uint32_t index)
{
    if (!rows_usable(r) || index == 0)
        return false;
    size_t pos = rows_lower_bound(r, index);
    if (pos >= r->count || row_index_at(r, pos) != index)
        return false;
    memmove(row_ptr(r, pos), row_ptr(r, pos + 1), (r->count - pos - 1) * r->size);
    r->count--;
    return true;
}

void *rows_find(const struct sipha_rows *r, uint32_t index)
{
    if (!rows_usable(r) || index == 0)
        return NULL;
    size_t pos = rows_lower_bound(r, index);
    if (pos < r->count && row_index_at(r, pos) == index)
        return row_ptr(r, pos);
    return NULL;
}

void *rows_next(const struct sipha_rows *r, uint32_t index, bool inclusive)
{
    if (!rows_usable(r))
        return NULL;
    if (!inclusive) {
        if (index == UINT32_MAX)
            return NULL;
        index++; /* first > index is first >= index + 1 */
    }
    size_t pos = rows_lower_bound(r, index);
    return pos < r->count ? row_ptr(r, pos) : NULL;
}

void *rows_at(const struct sipha_rows *r, size_t pos)
{
    if (!rows_usable(r) || pos >= r->count)
        return NULL;
    return row_ptr(r, pos);
}
