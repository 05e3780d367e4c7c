/* eventlog.h — the per-instance event log behind siphaEventTable, modelled on
 * NOTIFICATION-LOG-MIB (RFC 3014): a bounded ring, oldest entries dropped (and
 * counted) when full, indexes 1..2^32-1 that wrap back to 1. */
#ifndef SIPHA_EVENTLOG_H
#define SIPHA_EVENTLOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "notify_defs.h"

#define EVLOG_ID_MAX 16
#define EVLOG_TEXT_MAX 256
#define EVLOG_DEFAULT_LIMIT 500

enum alarm_state { ALARM_NONE = 1, ALARM_ACTIVE = 2, ALARM_CLEARED = 3 };

struct evlog_entry {
    uint32_t index;
    char id[EVLOG_ID_MAX];        /* "00-52027" */
    unsigned code;                /* 52027 */
    enum notif_severity severity;
    uint64_t mono_ms;             /* CLOCK_MONOTONIC ms at logging */
    int64_t wall_ms;              /* CLOCK_REALTIME ms since the epoch (DateAndTime) */
    char text[EVLOG_TEXT_MAX];
    unsigned notif;               /* enum ha_notif sent for this event, 0 = none */
    enum alarm_state alarm;
};

struct evlog {
    struct evlog_entry *ring;
    size_t limit;      /* capacity */
    size_t count;
    size_t head;       /* position of the oldest entry */
    uint32_t next_index;
    uint32_t dropped;  /* entries pushed out by newer ones */
};

int evlog_init(struct evlog *log, size_t limit);
void evlog_free(struct evlog *log);
/* Appends a copy of `e` (its index is assigned here), dropping the oldest entry when
 * full. Returns the stored entry. */
struct evlog_entry *evlog_append(struct evlog *log, const struct evlog_entry *e);
/* Exact lookup, and the entry with the smallest index > `index` (>= if inclusive),
 * in index order (which after a wrap differs from age order). O(log n). */
struct evlog_entry *evlog_find(const struct evlog *log, uint32_t index);
struct evlog_entry *evlog_next(const struct evlog *log, uint32_t index, bool inclusive);
/* Changes the capacity, keeping the newest entries (older ones count as dropped). */
int evlog_set_limit(struct evlog *log, size_t limit);
/* Text serialisation for persistence: one entry per line; load replaces the content
 * and returns 0, or -1 (content unchanged) on a malformed file. */
int evlog_save(const struct evlog *log, FILE *out);
int evlog_load(struct evlog *log, FILE *in);

#endif
