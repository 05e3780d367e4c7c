/* agent_log.h — where the agent's and Net-SNMP's log lines go (stderr with -f, else
 * syslog), with runs of identical lines collapsed: the first is written at once, the
 * rest are counted and reported by one line, "<line> (repeated N more times)", when a
 * different line comes or the loop's iteration ends (agent_log_flush).
 *
 * The collapsing itself (struct log_collapse) is pure: lines in, lines out through a
 * callback, so it is unit-tested without Net-SNMP. */
#ifndef SIPHA_AGENT_LOG_H
#define SIPHA_AGENT_LOG_H

#include <stdbool.h>
#include <stddef.h>

#define LOG_COLLAPSE_LINE_MAX 1024

typedef void (*log_emit_fn)(void *ctx, int priority, const char *text);

struct log_collapse {
    char last[LOG_COLLAPSE_LINE_MAX]; /* the last whole line written ("" = none) */
    int last_priority;
    unsigned repeats;                 /* identical lines since, not yet reported */
    bool partial;                     /* the last text written did not end a line */
};

void log_collapse_init(struct log_collapse *c);
/* One message as Net-SNMP's snmp_log hands it over: a whole line ending in '\n', or
 * a piece of one. A whole line equal (text and priority) to the last one written is
 * only counted; anything else first reports the count, then is written. */
void log_collapse_feed(struct log_collapse *c, int priority, const char *text,
                       log_emit_fn emit, void *ctx);
/* Reports the lines counted and not yet reported, if any: one line. */
void log_collapse_flush(struct log_collapse *c, log_emit_fn emit, void *ctx);

/* Sends every snmp_log line (ours and the library's) through the collapsing, to
 * stderr (to_stderr) or to syslog as `ident`, facility daemon. Call before anything
 * logs; agent_log_close (also at exit) reports what is counted. */
void agent_log_open(bool to_stderr, const char *ident);
void agent_log_flush(void);
void agent_log_close(void);

#endif
