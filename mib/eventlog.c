/* eventlog.c — the bounded event ring of eventlog.h.
 *
 * Entries sit in `ring` in age order starting at `head`. Indexes are assigned
 * consecutively (1..UINT32_MAX, then 1 again), so in age order the ring holds at most
 * two increasing runs: before a wrap one run, after it the old large indexes followed
 * by the new small ones. Index-order lookups (what GETNEXT needs) binary-search the
 * run boundary and then each run: O(log n), no scan per request. */
#include <limits.h>
#include <stdlib.h>
#include <string.h>


#include "hex.h"
#include "eventlog.h"

/* Upper bound on the ring's capacity: an entry is ~300 bytes, so this keeps one
 * instance's log under ~30 MB whatever an operator SETs. */
#define EVLOG_LIMIT_MAX 100000u

/* Persistence format: a header line, then one line per entry, oldest first. */
#define EVLOG_MAGIC "sipha-evlog"
#define EVLOG_VERSION 1
/* An escaped byte takes at most 4 characters; the numeric fields fit in 200. */
#define EVLOG_LINE_MAX (4 * (EVLOG_ID_MAX + EVLOG_TEXT_MAX) + 200)
#define EVLOG_FIELDS 9

static uint32_t index_succ(uint32_t index)
{
    return index == UINT32_MAX ? 1 : index + 1;
}

/* The k-th oldest entry (k < count). */
static struct evlog_entry *entry_at(const struct evlog *log, size_t k)
{
    return &log->ring[(log->head + k) % log->limit];
}

int evlog_init(struct evlog *log, size_t limit)
{
    memset(log, 0, sizeof(*log));
    if (limit == 0 || limit > EVLOG_LIMIT_MAX)
        return -1;
    log->ring = calloc(limit, sizeof(*log->ring));
    if (!log->ring)
        return -1;
    log->limit = limit;
    log->next_index = 1;
    return 0;
}

void evlog_free(struct evlog *log)
{
    free(log->ring);
    memset(log, 0, sizeof(*log));
}

/* Bounded copy that always terminates `dst`, whatever `src` holds. */
static void copy_text(char *dst, const char *src, size_t size)
{
    size_t n = strnlen(src, size - 1);
    memmove(dst, src, n); /* src may be dst: appending an entry of the ring */
    dst[n] = '\0';
}

struct evlog_entry *evlog_append(struct evlog *log, const struct evlog_entry *e)
{
    if (!log->ring || !e)
        return NULL;
    struct evlog_entry *slot;
    if (log->count == log->limit) {
        slot = entry_at(log, 0); /* the oldest makes room */
        log->head = (log->head + 1) % log->limit;
        log->dropped++;          /* Counter32: wraps by design */
    } else {
        slot = entry_at(log, log->count);
        log->count++;
    }
    *slot = *e;
    copy_text(slot->id, e->id, sizeof(slot->id));
    copy_text(slot->text, e->text, sizeof(slot->text));
    if (log->next_index == 0) /* a zeroed struct: indexes start at 1 */
        log->next_index = 1;
    slot->index = log->next_index;
    log->next_index = index_succ(log->next_index);
    return slot;
}

/* Age position where the second run (indexes that wrapped) starts; `count` when
 * there is no wrap. Entries of the second run are all smaller than the oldest. */
static size_t wrap_point(const struct evlog *log)
{
    uint32_t first = entry_at(log, 0)->index;
    size_t lo = 1, hi = log->count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (entry_at(log, mid)->index < first)
            hi = mid;
        else
            lo = mid + 1;
    }
    return lo;
}

/* First age position in [lo, hi) whose index is >= `target` (hi when none); the
 * range must be one increasing run. */
static size_t lower_bound(const struct evlog *log, size_t lo, size_t hi, uint32_t target)
{
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (entry_at(log, mid)->index < target)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* Entry with the smallest index >= target, in index order. */
static struct evlog_entry *first_at_least(const struct evlog *log, uint32_t target)
{
    if (!log->ring || log->count == 0)
        return NULL;
    size_t w = wrap_point(log);
    /* The wrapped run holds the smallest indexes: search it first. */
    size_t pos = lower_bound(log, w, log->count, target);
    if (pos < log->count)
        return entry_at(log, pos);
    pos = lower_bound(log, 0, w, target);
    return pos < w ? entry_at(log, pos) : NULL;
}

struct evlog_entry *evlog_find(const struct evlog *log, uint32_t index)
{
    if (index == 0)
        return NULL;
    struct evlog_entry *e = first_at_least(log, index);
    return e && e->index == index ? e : NULL;
}

struct evlog_entry *evlog_next(const struct evlog *log, uint32_t index, bool inclusive)
{
    if (!inclusive) {
        if (index == UINT32_MAX)
            return NULL;
        index++;
    }
    return first_at_least(log, index);
}

int evlog_set_limit(struct evlog *log, size_t limit)
{
    if (!log->ring || limit == 0 || limit > EVLOG_LIMIT_MAX)
        return -1;
    if (limit == log->limit)
        return 0;
    struct evlog_entry *ring = calloc(limit, sizeof(*ring));
    if (!ring)
        return -1;
    size_t keep = log->count < limit ? log->count : limit;
    size_t skip = log->count - keep;
    for (size_t k = 0; k < keep; k++)
        ring[k] = *entry_at(log, skip + k);
    free(log->ring);
    log->ring = ring;
    log->limit = limit;
    log->head = 0;
    log->count = keep;
    log->dropped += (uint32_t)skip;
    return 0;
}

/* ---- persistence ------------------------------------------------------------- */

/* Writes `s` so that it holds no tab, newline or other control byte: backslash,
 * tab, LF and CR get C escapes, other control bytes \xHH. Bytes >= 0x80 are written
 * as they are, so UTF-8 text stays readable in the file. */
static int put_escaped(FILE *out, const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        int rc;
        switch (*p) {
        case '\\': rc = fputs("\\\\", out); break;
        case '\t': rc = fputs("\\t", out); break;
        case '\n': rc = fputs("\\n", out); break;
        case '\r': rc = fputs("\\r", out); break;
        default:
            if (*p < 0x20 || *p == 0x7f)
                rc = fprintf(out, "\\x%02x", *p);
            else
                rc = fputc(*p, out);
        }
        if (rc < 0)
            return -1;
    }
    return 0;
}

static int save_entry(FILE *out, const struct evlog_entry *e)
{
    if (fprintf(out, "%u\t", (unsigned)e->index) < 0 || put_escaped(out, e->id) < 0)
        return -1;
    if (fprintf(out, "\t%u\t%d\t%llu\t%lld\t%u\t%d\t", e->code, (int)e->severity,
                (unsigned long long)e->mono_ms, (long long)e->wall_ms, e->notif,
                (int)e->alarm) < 0)
        return -1;
    if (put_escaped(out, e->text) < 0 || fputc('\n', out) == EOF)
        return -1;
    return 0;
}

int evlog_save(const struct evlog *log, FILE *out)
{
    if (!out)
        return -1;
    size_t count = log->ring ? log->count : 0;
    if (fprintf(out, "%s\t%d\t%u\t%u\t%zu\n", EVLOG_MAGIC, EVLOG_VERSION,
                (unsigned)(log->next_index ? log->next_index : 1), (unsigned)log->dropped,
                count) < 0)
        return -1;
    for (size_t k = 0; k < count; k++)
        if (save_entry(out, entry_at(log, k)) < 0)
            return -1;
    return fflush(out) == 0 && !ferror(out) ? 0 : -1;
}

/* Reads one '\n'-terminated line into buf (without the '\n'). Returns its length,
 * -1 at a clean end of file, -2 on a malformed line (too long, NUL byte, missing
 * final newline, read error). */
static long read_line(FILE *in, char *buf, size_t size)
{
    size_t n = 0;
    int c;
    while ((c = getc(in)) != EOF) {
        if (c == '\n') {
            buf[n] = '\0';
            return (long)n;
        }
        if (c == '\0' || n + 1 >= size)
            return -2;
        buf[n++] = (char)c;
    }
    if (ferror(in))
        return -2;
    return n == 0 ? -1 : -2;
}

/* Splits `line` at tabs into exactly `want` fields (in place). */
static int split_fields(char *line, char **fields, int want)
{
    int n = 0;
    char *p = line;
    for (;;) {
        if (n == want)
            return -1;
        fields[n++] = p;
        char *tab = strchr(p, '\t');
        if (!tab)
            break;
        *tab = '\0';
        p = tab + 1;
    }
    return n == want ? 0 : -1;
}

/* Strict decimal: digits only (no sign, space or '+'), no overflow past `max`. */
static int parse_u64(const char *s, uint64_t max, uint64_t *out)
{
    uint64_t v = 0;
    if (*s == '\0')
        return -1;
    for (; *s; s++) {
        if (*s < '0' || *s > '9')
            return -1;
        unsigned d = (unsigned)(*s - '0');
        if (d > max || v > (max - d) / 10)
            return -1;
        v = v * 10 + d;
    }
    *out = v;
    return 0;
}

static int parse_i64(const char *s, int64_t *out)
{
    uint64_t mag;
    if (*s == '-') {
        if (parse_u64(s + 1, (uint64_t)INT64_MAX + 1, &mag) < 0)
            return -1;
        *out = mag == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)mag;
        return 0;
    }
    if (parse_u64(s, INT64_MAX, &mag) < 0)
        return -1;
    *out = (int64_t)mag;
    return 0;
}

static int parse_u32(const char *s, uint32_t min, uint32_t max, uint32_t *out)
{
    uint64_t v;
    if (parse_u64(s, max, &v) < 0 || v < min)
        return -1;
    *out = (uint32_t)v;
    return 0;
}

/* Reverses put_escaped into dst (size bytes, NUL included). Rejects unknown or
 * truncated escapes, raw control bytes, an escaped NUL and text too long. */
static int unescape(const char *s, char *dst, size_t size)
{
    size_t n = 0;
    while (*s) {
        unsigned char c = (unsigned char)*s++;
        if (c < 0x20 || c == 0x7f)
            return -1;
        if (c == '\\') {
            char k = *s++;
            if (k == '\\') c = '\\';
            else if (k == 't') c = '\t';
            else if (k == 'n') c = '\n';
            else if (k == 'r') c = '\r';
            else if (k == 'x') {
                int b = hex_pair_byte(s);
                if (b <= 0) /* not hex, or an escaped NUL */
                    return -1;
                c = (unsigned char)b;
                s += 2;
            } else
                return -1;
        }
        if (n + 1 >= size)
            return -1;
        dst[n++] = (char)c;
    }
    dst[n] = '\0';
    return 0;
}

static int parse_entry(char *line, struct evlog_entry *e)
{
    char *f[EVLOG_FIELDS];
    uint32_t sev, notif, alarm;
    uint64_t mono;
    if (split_fields(line, f, EVLOG_FIELDS) < 0)
        return -1;
    memset(e, 0, sizeof(*e));
    uint32_t code;
    if (parse_u32(f[0], 1, UINT32_MAX, &e->index) < 0
        || unescape(f[1], e->id, sizeof(e->id)) < 0
        || parse_u32(f[2], 0, UINT_MAX, &code) < 0
        || parse_u32(f[3], SEV_ALARM, SEV_DEBUG, &sev) < 0
        || parse_u64(f[4], UINT64_MAX, &mono) < 0
        || parse_i64(f[5], &e->wall_ms) < 0
        || parse_u32(f[6], 0, HA_NOTIF_COUNT, &notif) < 0
        || parse_u32(f[7], ALARM_NONE, ALARM_CLEARED, &alarm) < 0
        || unescape(f[8], e->text, sizeof(e->text)) < 0)
        return -1;
    e->code = code;
    e->severity = (enum notif_severity)sev;
    e->mono_ms = mono;
    e->notif = notif;
    e->alarm = (enum alarm_state)alarm;
    return 0;
}

struct evlog_header {
    uint32_t next_index, dropped;
    uint64_t count;
};

static int parse_header(char *line, struct evlog_header *h)
{
    char *f[5];
    uint32_t version;
    if (split_fields(line, f, 5) < 0 || strcmp(f[0], EVLOG_MAGIC) != 0
        || parse_u32(f[1], EVLOG_VERSION, EVLOG_VERSION, &version) < 0
        || parse_u32(f[2], 1, UINT32_MAX, &h->next_index) < 0
        || parse_u32(f[3], 0, UINT32_MAX, &h->dropped) < 0
        || parse_u64(f[4], UINT32_MAX, &h->count) < 0)
        return -1;
    return 0;
}

/* Reads the entries into `tmp` (capacity log->limit): when the file holds more than
 * the current limit, the newest are kept and the others count as dropped, so a limit
 * lowered in the configuration applies to a saved log too. */
static int load_entries(FILE *in, struct evlog *tmp, const struct evlog_header *h, char *buf)
{
    uint32_t prev = 0;
    for (uint64_t k = 0; k < h->count; k++) {
        struct evlog_entry e;
        if (read_line(in, buf, EVLOG_LINE_MAX) < 0 || parse_entry(buf, &e) < 0)
            return -1;
        /* Indexes are consecutive in age order (wrapping past UINT32_MAX to 1),
         * exactly as evlog_append assigns them. */
        if (k > 0 && e.index != index_succ(prev))
            return -1;
        prev = e.index;
        evlog_append(tmp, &e)->index = e.index; /* keep the saved index */
    }
    if (h->count > 0 && h->next_index != index_succ(prev))
        return -1;
    return read_line(in, buf, EVLOG_LINE_MAX) == -1 ? 0 : -1; /* nothing after */
}

int evlog_load(struct evlog *log, FILE *in)
{
    if (!log->ring || !in)
        return -1;
    char *buf = malloc(EVLOG_LINE_MAX);
    if (!buf)
        return -1;
    struct evlog_header h;
    struct evlog tmp;
    int rc = -1;
    if (read_line(in, buf, EVLOG_LINE_MAX) >= 0 && parse_header(buf, &h) == 0
        && evlog_init(&tmp, log->limit) == 0) {
        if (load_entries(in, &tmp, &h, buf) == 0) {
            tmp.next_index = h.next_index;
            tmp.dropped += h.dropped;
            evlog_free(log);
            *log = tmp;
            rc = 0;
        } else {
            evlog_free(&tmp);
        }
    }
    free(buf);
    return rc;
}
