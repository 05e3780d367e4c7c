/* array.c — see array.h. */
#include <stdint.h>
#include <stdlib.h>

#include "array.h"

int array_reserve(void **items, size_t *cap, size_t need, size_t elem_size, size_t first_cap)
{
    if (need <= *cap)
        return 0;
    size_t ncap = *cap ? *cap : (first_cap ? first_cap : 1);
    while (ncap < need) {
        if (ncap > SIZE_MAX / 2)
            return -1;
        ncap *= 2;
    }
    if (elem_size && ncap > SIZE_MAX / elem_size)
        return -1;
    void *n = realloc(*items, ncap * elem_size);
    if (!n)
        return -1;
    *items = n;
    *cap = ncap;
    return 0;
}
