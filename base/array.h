/* array.h — the growth rule every growable array of sipha shares.
 *
 * One place decides how an array grows (doubling from a first capacity), and checks
 * the multiplication against overflow, instead of each owner writing it out. */
#ifndef SIPHA_ARRAY_H
#define SIPHA_ARRAY_H

#include <stddef.h>

/* Makes room for at least `need` elements of `elem_size` bytes in *items (capacity
 * *cap, first allocation `first_cap` elements). Returns 0, or -1 with *items and *cap
 * unchanged when memory is short or the size would overflow. */
int array_reserve(void **items, size_t *cap, size_t need, size_t elem_size, size_t first_cap);

#endif
