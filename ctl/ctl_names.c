/* ctl_names.c — see ctl_names.h. */
#include <stddef.h>

#include "ctl_names.h"
#include "ha_engine.h"
#include "ha_types.h"
#include "notify_defs.h"

#define LABEL(table, v) label((table), sizeof(table) / sizeof((table)[0]), (v))

static const char *label(const char *const *table, size_t n, int v)
{
    return v >= 0 && (size_t)v < n && table[v] ? table[v] : "unknown";
}

const char *ctl_role_name(int role) { return ha_role_name((enum ha_role)role); }
const char *ctl_status_name(int status) { return ha_status_name((enum ha_status)status); }
const char *ctl_reason_name(int reason) { return ha_reason_name((enum ha_reason)reason); }

const char *ctl_link_name(int link)
{
    static const char *const names[] = {
        [HA_LINK_NOT_CONFIGURED] = "notConfigured",
        [HA_LINK_UP] = "up",
        [HA_LINK_DOWN] = "down",
    };
    return LABEL(names, link);
}

const char *ctl_admin_result_name(int result)
{
    static const char *const names[] = {
        [HA_RESULT_NONE] = "none",
        [HA_RESULT_IN_PROGRESS] = "inProgress",
        [HA_RESULT_SUCCESS] = "success",
        [HA_RESULT_FAILED] = "failed",
        [HA_RESULT_REFUSED] = "refused",
    };
    return LABEL(names, result);
}

const char *ctl_vip_expected_name(int expected)
{
    static const char *const names[] = {
        [HA_VIP_EXPECT_PRESENT] = "present",
        [HA_VIP_EXPECT_ABSENT] = "absent",
    };
    return LABEL(names, expected);
}

const char *ctl_vip_actual_name(int actual)
{
    static const char *const names[] = {
        [HA_VIP_UNKNOWN] = "unknown",
        [HA_VIP_PRESENT] = "present",
        [HA_VIP_ABSENT] = "absent",
    };
    return LABEL(names, actual);
}

const char *ctl_vip_status_name(int status)
{
    static const char *const names[] = {
        [HA_VIP_OK] = "ok",
        [HA_VIP_MISMATCH] = "mismatch",
        [HA_VIP_FAILED] = "failed",
        [HA_VIP_NOT_MONITORED] = "notMonitored",
    };
    return LABEL(names, status);
}

const char *ctl_severity_name(int severity)
{
    static const char *const names[] = {
        [SEV_ALARM] = "alarm",
        [SEV_STANDARD] = "standard",
        [SEV_INTERACTION] = "interaction",
        [SEV_TRACE] = "trace",
        [SEV_DEBUG] = "debug",
    };
    return LABEL(names, severity);
}
