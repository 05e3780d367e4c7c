/* agent_log.c — the log sink and its collapsing of repeated lines (agent_log.h). */
#include <stdio.h>
#include <string.h>
#include <syslog.h>

#include <net-snmp/net-snmp-config.h>
#include <net-snmp/net-snmp-includes.h>

#include "agent_log.h"

/* --- the collapsing: pure --- */

void log_collapse_init(struct log_collapse *c)
{
    memset(c, 0, sizeof(*c));
}

static bool whole_line(const char *text)
{
    size_t n = strlen(text);
    return n > 0 && text[n - 1] == '\n';
}

void log_collapse_flush(struct log_collapse *c, log_emit_fn emit, void *ctx)
{
    if (c->repeats == 1) {
        emit(ctx, c->last_priority, c->last); /* one more is clearer as itself */
    } else if (c->repeats > 1) {
        char line[LOG_COLLAPSE_LINE_MAX + 48];
        size_t n = strlen(c->last);
        if (n > 0 && c->last[n - 1] == '\n')
            n--;
        snprintf(line, sizeof(line), "%.*s (repeated %u more times)\n", (int)n, c->last,
                 c->repeats);
        emit(ctx, c->last_priority, line);
    }
    /* A run ends here: the same line later starts a new one, written in full (a line
     * logged once per loop iteration stays readable). */
    c->repeats = 0;
    c->last[0] = '\0';
}

void log_collapse_feed(struct log_collapse *c, int priority, const char *text,
                       log_emit_fn emit, void *ctx)
{
    if (!text || !*text)
        return;
    bool whole = whole_line(text);
    if (whole && !c->partial && c->last[0] && priority == c->last_priority &&
        strcmp(text, c->last) == 0) {
        c->repeats++;
        return;
    }
    log_collapse_flush(c, emit, ctx);
    emit(ctx, priority, text);
    /* Only a whole line that fits is remembered: a piece, the rest of a line, or a
     * line too long to keep is never taken for a repeat. */
    if (whole && !c->partial && strlen(text) < sizeof(c->last)) {
        memcpy(c->last, text, strlen(text) + 1);
        c->last_priority = priority;
    }
    c->partial = !whole;
}

/* --- the sink: Net-SNMP's log handler --- */

static struct {
    bool open;
    bool to_stderr;
    struct log_collapse collapse;
} sink;

static void write_line(void *ctx, int priority, const char *text)
{
    (void)ctx;
    if (sink.to_stderr)
        fputs(text, stderr);
    else
        syslog(priority, "%s", text);
}

static int on_log(netsnmp_log_handler *h, int priority, const char *text)
{
    (void)h;
    log_collapse_feed(&sink.collapse, priority, text, write_line, NULL);
    return 1;
}

void agent_log_open(bool to_stderr, const char *ident)
{
    if (sink.open)
        return;
    log_collapse_init(&sink.collapse);
    sink.to_stderr = to_stderr;
    if (!to_stderr)
        openlog(ident, LOG_CONS | LOG_PID, LOG_DAEMON);
    /* A handler of the callback type with our function in place of the callback
     * dispatch: it does not depend on Net-SNMP's callback lists, which init and
     * shutdown clear. */
    netsnmp_log_handler *h = netsnmp_register_loghandler(NETSNMP_LOGHANDLER_CALLBACK, LOG_DEBUG);
    if (!h) {
        if (to_stderr)
            snmp_enable_stderrlog();
        else
            snmp_enable_syslog_ident(ident, LOG_DAEMON);
        return;
    }
    h->handler = on_log;
    sink.open = true;
}

void agent_log_flush(void)
{
    if (sink.open)
        log_collapse_flush(&sink.collapse, write_line, NULL);
}

void agent_log_close(void)
{
    /* The handler itself belongs to Net-SNMP (snmp_shutdown frees it). */
    agent_log_flush();
}
