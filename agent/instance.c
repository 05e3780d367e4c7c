/* instance.c — defaults of an instance, its sorted row arrays, and address helpers.
 *
 * Rows are kept in one contiguous array sorted by index so that GET and GETNEXT are
 * binary searches; inserts and removals shift the tail (memmove), which is cheap next
 * to the SNMP traffic they serve and keeps lookups cache-friendly. */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "instance.h"

/* ---- sorted rows ---------------------------------------------------------------- */

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
    if (r->count < r->cap)
        return true;
    size_t ncap = r->cap ? r->cap * 2 : 16;
    if (ncap < r->cap || ncap > SIZE_MAX / r->size)
        return false;
    void *n = realloc(r->items, ncap * r->size);
    if (!n)
        return false;
    r->items = n;
    r->cap = ncap;
    return true;
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

/* ---- instance ------------------------------------------------------------------- */

void instance_init(struct sipha_instance *in)
{
    if (!in)
        return;
    memset(in, 0, sizeof *in);
    in->role = HA_ROLE_UNKNOWN;
    in->status = HA_STATUS_INITIALIZING;
    in->traffic = TRAFFIC_UNKNOWN;
    in->backoff_factor = 1;
    in->last_reason = HA_REASON_NONE;
    in->peer_role = HA_ROLE_UNKNOWN;
    in->peer_status = HA_STATUS_UNKNOWN;
    in->peer_link = LINK_NOT_CONFIGURED;
    in->arbiter = LINK_NOT_CONFIGURED;
    in->admin_cmd = HA_CMD_NONE;
    in->admin_result = HA_RESULT_NONE;
    rows_init(&in->nics, sizeof(struct sipha_nic));
    rows_init(&in->vips, sizeof(struct sipha_vip));
    rows_init(&in->dns, sizeof(struct sipha_dn));
    rows_init(&in->contacts, sizeof(struct sipha_contact));
    /* On allocation failure the log stays zeroed: an empty log of capacity 0. */
    if (evlog_init(&in->events, EVLOG_DEFAULT_LIMIT) != 0)
        memset(&in->events, 0, sizeof in->events);
}

void instance_free(struct sipha_instance *in)
{
    if (!in)
        return;
    rows_free(&in->nics);
    rows_free(&in->vips);
    rows_free(&in->dns);
    rows_free(&in->contacts);
    evlog_free(&in->events);
}

/* ---- addresses ------------------------------------------------------------------ */

int sipha_addr_parse(struct sipha_addr *a, const char *text)
{
    if (!a || !text)
        return -1;
    struct sipha_addr tmp = { 0 };
    if (inet_pton(AF_INET, text, tmp.bytes) == 1)
        tmp.family = 4;
    else if (inet_pton(AF_INET6, text, tmp.bytes) == 1)
        tmp.family = 6;
    else
        return -1; /* `a` untouched */
    *a = tmp;
    return 0;
}

const char *sipha_addr_format(const struct sipha_addr *a, char *buf, size_t len)
{
    if (!buf || len == 0)
        return "";
    buf[0] = '\0';
    if (!a)
        return buf;
    int af = a->family == 4 ? AF_INET : a->family == 6 ? AF_INET6 : -1;
    socklen_t sl = len > INET6_ADDRSTRLEN ? INET6_ADDRSTRLEN : (socklen_t)len;
    if (af < 0 || !inet_ntop(af, a->bytes, buf, sl))
        buf[0] = '\0'; /* none, or buf too small: empty rather than a partial address */
    return buf;
}

