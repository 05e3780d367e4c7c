/* ha_link.c — callbacks of the HA link: the peer's heartbeat and loss go to the
 * engine, its contacts to the contact table. */
#include <stdlib.h>

#include <net-snmp/net-snmp-config.h>
#include <net-snmp/net-snmp-includes.h>

#include "contacts.h"
#include "ha_adapter.h"
#include "ha_link.h"
#include "halink.h"
#include "halink_msg.h"

struct ha_peer_link {
    struct agent *a;
    struct halink *link;
    uint64_t last_pass_done; /* contacts seen before this were not in the last pass */
};

static void on_state(void *ctx, const struct ha_peer_state *ps)
{
    struct ha_peer_link *l = ctx;
    struct ha_input in = { .kind = HA_IN_PEER_STATE, .u.peer = *ps };
    ha_adapter_input(l->a, &in);
}

static void on_lost(void *ctx, const char *why)
{
    struct ha_peer_link *l = ctx;
    if (l->a->inst.peer_link == LINK_UP)
        snmp_log(LOG_WARNING, "sipha[%u]: peer lost: %s\n", l->a->inst.index, why);
    struct ha_input in = { .kind = HA_IN_PEER_LOST };
    ha_adapter_input(l->a, &in);
}

static void on_sent(void *ctx, const struct ha_peer_msg *m, bool ok)
{
    struct ha_peer_link *l = ctx;
    char text[HALINK_MSG_MAX + 1];
    if (!ok && halink_msg_encode(m, text, sizeof(text)))
        snmp_log(LOG_WARNING, "sipha[%u]: HA link: message '%s' not delivered\n",
                 l->a->inst.index, text);
}

static void on_contact(void *ctx, const char *aor, const char *uri, uint32_t expiry_s,
                       uint32_t peer_row)
{
    struct ha_peer_link *l = ctx;
    (void)peer_row;
    contacts_upsert_synced(l->a, aor, uri, expiry_s);
}

static void on_contacts_done(void *ctx, bool full)
{
    struct ha_peer_link *l = ctx;
    if (full && l->last_pass_done)
        contacts_drop_synced_before(l->a, l->last_pass_done);
    l->last_pass_done = loop_now_ms();
}

static void on_log(void *ctx, const char *text)
{
    struct ha_peer_link *l = ctx;
    snmp_log(LOG_NOTICE, "sipha[%u]: HA link: %s\n", l->a->inst.index, text);
}

int ha_link_start(struct agent *a)
{
    if (!a->cfg.has_peer)
        return 0;
    struct ha_peer_link *l = calloc(1, sizeof(*l));
    if (!l)
        return -1;
    l->a = a;
    a->link = l;
    static const struct halink_callbacks cb = {
        .on_state = on_state, .on_lost = on_lost, .on_sent = on_sent, .on_contact = on_contact,
        .on_contacts_done = on_contacts_done, .on_log = on_log,
    };
    struct halink_config hc = { .address = a->cfg.peer_address, .peer_index = a->cfg.peer_index,
                                .credentials = a->cfg.peer_key_file,
                                .interval_ms = a->cfg.peer_interval_ms,
                                .timeout_ms = a->cfg.peer_settle_ms };
    char err[256];
    if (halink_open(&l->link, a->loop, &hc, &cb, l, err, sizeof(err)) != 0) {
        snmp_log(LOG_ERR, "sipha[%u]: HA link: %s\n", a->inst.index, err);
        return -1;
    }
    return 0;
}

void ha_link_stop(struct agent *a)
{
    struct ha_peer_link *l = a->link;
    if (!l)
        return;
    halink_close(l->link);
    free(l);
    a->link = NULL;
}

void ha_link_send(struct agent *a, const struct ha_peer_msg *m)
{
    /* Refused when the link is down or its queue is full; the engine re-sends a
     * TAKEOVER that is not confirmed, so a lost message is not lost for good. */
    if (a->link && halink_send(a->link->link, m) != 0)
        snmp_log(LOG_WARNING, "sipha[%u]: HA link: message not sent (link down or queue full)\n",
                 a->inst.index);
}

void ha_link_role_changed(struct agent *a, enum ha_role role)
{
    if (a->link)
        halink_pull_contacts(a->link->link, role == HA_ROLE_BACKUP);
}
