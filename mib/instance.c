/* instance.c — an instance's defaults and its release. */
#include <stdlib.h>
#include <string.h>

#include "instance.h"

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

