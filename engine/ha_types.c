/* ha_types.c — printable names for the shared enumerations (logs, tests). */
#include "ha_types.h"

const char *ha_role_name(enum ha_role r)
{
    switch (r) {
    case HA_ROLE_PRIMARY: return "primary";
    case HA_ROLE_BACKUP: return "backup";
    default: return "unknown";
    }
}

const char *ha_status_name(enum ha_status s)
{
    switch (s) {
    case HA_STATUS_STOPPED: return "stopped";
    case HA_STATUS_PENDING: return "pending";
    case HA_STATUS_RUNNING: return "running";
    case HA_STATUS_INITIALIZING: return "initializing";
    case HA_STATUS_SERVICE_UNAVAILABLE: return "serviceUnavailable";
    default: return "unknown";
    }
}

const char *ha_reason_name(enum ha_reason r)
{
    static const char *const names[] = {
        [HA_REASON_NONE] = "none",
        [HA_REASON_ADMIN] = "adminCommand",
        [HA_REASON_SIP_TRAFFIC_LOST] = "sipTrafficLost",
        [HA_REASON_LISTENER_BIND] = "listenerBindFailure",
        [HA_REASON_SPLIT_BRAIN] = "splitBrain",
        [HA_REASON_VIP_FAILURE] = "vipFailure",
        [HA_REASON_NIC_FAILURE] = "nicFailure",
        [HA_REASON_SIP_NIC_FAILURE] = "sipNicFailure",
        [HA_REASON_PEER_LOST] = "peerLost",
        [HA_REASON_QUORUM_LOST] = "quorumLost",
        [HA_REASON_PEER_REQUEST] = "peerRequest",
        [HA_REASON_SERVICE_UNAVAILABLE] = "serviceUnavailable",
        [HA_REASON_STARTUP] = "startup",
        [HA_REASON_SHUTDOWN] = "shutdown",
    };
    if (r < HA_REASON_NONE || r > HA_REASON_SHUTDOWN)
        return "none";
    return names[r];
}
