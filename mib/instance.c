/* instance.c — an instance's defaults and its release. */
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "hl_link.h"
#include "instance.h"

void instance_init(struct sipha_instance *in)
{
    if (!in)
        return;
    memset(in, 0, sizeof *in);
    in->admin_cmd = HA_CMD_NONE;
    in->state_dir = STATE_DIR_NOT_CONFIGURED;
    in->sip_server_kind = SIP_SERVER_MIB_GENERIC;
    in->arbiter_kind = ARBITER_MIB_NONE;
    in->contact_source = CONTACT_SOURCE_NOT_CONFIGURED;
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
    while (in->contacts.count)
        instance_remove_contact(in, ((struct sipha_contact *)rows_at(&in->contacts,
                                                                in->contacts.count - 1))->index);
    rows_free(&in->contacts);
    evlog_free(&in->events);
}

void instance_lock(const struct sipha_instance *in, struct sipha_lock_view *out)
{
    memset(out, 0, sizeof *out);
    if (in->lock_view)
        in->lock_view(in->lock_ctx, out);
    else if (in->arbiter_kind == ARBITER_MIB_HTTP)
        snprintf(out->endpoint, sizeof out->endpoint, "%s", in->arbiter_url);
    out->kind = in->arbiter_kind;
}

struct sipha_nic *instance_put_nic(struct sipha_instance *in, const struct sipha_nic *row)
{
    return rows_insert(&in->nics, row);
}

struct sipha_vip *instance_put_vip(struct sipha_instance *in, const struct sipha_vip *row)
{
    return rows_insert(&in->vips, row);
}

struct sipha_dn *instance_put_dn(struct sipha_instance *in, const struct sipha_dn *row)
{
    return rows_insert(&in->dns, row);
}

static void free_contact_strings(struct sipha_contact *c, const struct sipha_contact *keep)
{
    if (c->path != keep->path)
        free(c->path);
    if (c->received != keep->received)
        free(c->received);
    if (c->socket != keep->socket)
        free(c->socket);
}

struct sipha_contact *instance_put_contact(struct sipha_instance *in,
                                           const struct sipha_contact *row)
{
    static const struct sipha_contact none;
    struct sipha_contact *old = rows_find(&in->contacts, row->index);
    if (old)
        free_contact_strings(old, row);
    struct sipha_contact *c = rows_insert(&in->contacts, row);
    if (!c && !old)
        free_contact_strings((struct sipha_contact *)row, &none);
    return c;
}

bool instance_remove_contact(struct sipha_instance *in, uint32_t index)
{
    static const struct sipha_contact none;
    struct sipha_contact *c = rows_find(&in->contacts, index);
    if (!c)
        return false;
    free_contact_strings(c, &none);
    return rows_remove(&in->contacts, index);
}

/* What an engine shows before its first step (tables empty: rows read as unknown). */
static const struct ha_state not_started = {
    .role = HA_ROLE_UNKNOWN,
    .status = HA_STATUS_INITIALIZING,
    .listener = HA_LISTENER_UNKNOWN,
    .traffic = HA_TRAFFIC_UNKNOWN,
    .backoff_factor = 1,
    .last_reason = HA_REASON_NONE,
    .peer_link = HA_LINK_NOT_CONFIGURED,
    .arbiter = HA_LINK_NOT_CONFIGURED,
    .admin_result = HA_RESULT_NONE,
};

const struct ha_state *instance_ha(const struct sipha_instance *in)
{
    return in->ha ? in->ha : &not_started;
}

unsigned instance_options(const struct sipha_instance *in)
{
    return in->ha ? in->ha->options : in->boot_options;
}

uint32_t instance_epoch(const struct sipha_instance *in)
{
    return in->ha ? in->ha->epoch : in->boot_epoch;
}

enum ha_role instance_peer_role(const struct sipha_instance *in)
{
    return in->ha && in->ha->peer_last_seen ? in->ha->peer.role : HA_ROLE_UNKNOWN;
}

enum ha_status instance_peer_status(const struct sipha_instance *in)
{
    return in->ha && in->ha->peer_last_seen ? in->ha->peer.status : HA_STATUS_UNKNOWN;
}

sipha_ms instance_peer_last_seen(const struct sipha_instance *in)
{
    if (!in->link)
        return instance_ha(in)->peer_last_seen;
    struct hl_counters c;
    hl_get_counters(in->link, &c);
    return c.last_rx_ms;
}

bool instance_peer_hears_us(const struct sipha_instance *in)
{
    const struct ha_state *st = instance_ha(in);
    return st->peer_link == HA_LINK_UP && st->peer_last_seen && st->peer.hears_peer;
}
