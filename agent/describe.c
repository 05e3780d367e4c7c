/* describe.c — words for the logs (describe.h). */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "describe.h"
#include "ha_engine.h"

/* Appends to buf at *used, never past len; the text is cut when short. */
static void append(char *buf, size_t len, size_t *used, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void append(char *buf, size_t len, size_t *used, const char *fmt, ...)
{
    if (*used >= len)
        return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf + *used, len - *used, fmt, ap);
    va_end(ap);
    if (n > 0)
        *used = *used + (size_t)n < len ? *used + (size_t)n : len;
}

static const struct {
    unsigned bit;
    const char *name;
} option_names[] = {
    { HA_OPT_SIP_PASS_CHECK, "sip-pass-check" },
    { HA_OPT_CONTROL_VIP_SCRIPTS, "control-vip-scripts" },
    { HA_OPT_IPTAKEOVER_MONITORING, "sip-iptakeover-monitoring" },
    { HA_OPT_TLIB_NIC_MONITORING, "tlib-nic-monitoring" },
    { HA_OPT_SIP_NIC_MONITORING, "sip-nic-monitoring" },
};

const char *describe_options(char *buf, size_t len, unsigned options)
{
    size_t used = 0;
    if (!buf || len == 0)
        return "";
    buf[0] = '\0';
    unsigned known = 0;
    for (size_t i = 0; i < sizeof(option_names) / sizeof(option_names[0]); i++) {
        known |= option_names[i].bit;
        append(buf, len, &used, "%s%s %s", i ? ", " : "", option_names[i].name,
               (options & option_names[i].bit) ? "on" : "off");
    }
    if (options & ~known)
        append(buf, len, &used, ", other bits 0x%x", options & ~known);
    return buf;
}

static const struct {
    unsigned bit;
    const char *name;
} cause_names[] = {
    { HA_CAUSE_TRAFFIC_LOST, "SIP traffic lost" },
    { HA_CAUSE_VIP_FAILED, "VIP failed" },
    { HA_CAUSE_SIP_NIC_DOWN, "SIP NIC down" },
};

const char *describe_causes(char *buf, size_t len, unsigned causes)
{
    size_t used = 0;
    if (!buf || len == 0)
        return "";
    buf[0] = '\0';
    unsigned known = 0;
    for (size_t i = 0; i < sizeof(cause_names) / sizeof(cause_names[0]); i++) {
        known |= cause_names[i].bit;
        if (causes & cause_names[i].bit)
            append(buf, len, &used, "%s%s", used ? " and " : "", cause_names[i].name);
    }
    if (causes & ~known)
        append(buf, len, &used, "%scause bits 0x%x", used ? " and " : "", causes & ~known);
    return buf;
}

const char *describe_status_reason(char *buf, size_t len, enum ha_status from,
                                   enum ha_status to, unsigned causes, unsigned old_causes)
{
    char what[128];
    if (!buf || len == 0)
        return "";
    switch (to) {
    case HA_STATUS_STOPPED:
        snprintf(buf, len, "graceful stop");
        break;
    case HA_STATUS_INITIALIZING:
        snprintf(buf, len, "role not decided yet");
        break;
    case HA_STATUS_SERVICE_UNAVAILABLE:
        if (causes)
            snprintf(buf, len, "%s", describe_causes(what, sizeof(what), causes));
        else /* held during the step, cleared again before its end */
            snprintf(buf, len, "a fault that has cleared since");
        break;
    case HA_STATUS_RUNNING:
        if (from == HA_STATUS_SERVICE_UNAVAILABLE && (old_causes & ~causes))
            snprintf(buf, len, "cleared: %s",
                     describe_causes(what, sizeof(what), old_causes & ~causes));
        else if (from == HA_STATUS_SERVICE_UNAVAILABLE)
            snprintf(buf, len, "no fault left");
        else
            snprintf(buf, len, "role decided");
        break;
    default:
        snprintf(buf, len, "%s", ha_status_name(to));
        break;
    }
    return buf;
}
