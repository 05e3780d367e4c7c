/* ha_link.c — callbacks of the HA link: the peer's heartbeats and messages go to the
 * engine, its contacts to the contact table (the MIB reads its counters itself). */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <net-snmp/net-snmp-config.h>
#include <net-snmp/net-snmp-includes.h>

#include "contacts.h"
#include "ha_link.h"
#include "hl_link.h"
#include "persist.h"

struct ha_peer_link {
    struct agent *a;
    struct hl_link *link;
    uint64_t pass_started;   /* when the full pass in progress began, 0 = none */
    enum ha_role role;
};

static void on_state(void *ctx, const struct ha_peer_state *ps)
{
    struct ha_peer_link *l = ctx;
    struct ha_input in = { .kind = HA_IN_PEER_STATE, .u.peer = *ps };
    agent_ha_input(l->a, &in);
}

static void on_lost(void *ctx)
{
    struct ha_peer_link *l = ctx;
    struct ha_input in = { .kind = HA_IN_PEER_LOST };
    agent_ha_input(l->a, &in);
}

static void on_msg(void *ctx, const struct ha_peer_msg *m)
{
    struct ha_peer_link *l = ctx;
    struct ha_input in = { .kind = HA_IN_ADMIN, .u.admin = *m };
    agent_ha_input(l->a, &in);
}

static uint32_t expiry_left(const struct sipha_contact *c, uint64_t now)
{
    uint64_t left_ms = c->expires_at > now ? c->expires_at - now : 0;
    uint64_t s = (left_ms + 999) / 1000;
    return s > UINT32_MAX ? UINT32_MAX : (uint32_t)s;
}

static size_t contacts_after(void *ctx, uint32_t after_row, struct hl_contact *out, size_t max)
{
    struct ha_peer_link *l = ctx;
    struct contact_view v[HL_MAX_ROWS];
    if (max > HL_MAX_ROWS)
        max = HL_MAX_ROWS;
    size_t n = contacts_changes_after(l->a, after_row, v, max);
    uint64_t now = loop_now(l->a->loop);
    for (size_t i = 0; i < n; i++) {
        const struct sipha_contact *c = v[i].c;
        out[i] = (struct hl_contact){ .row = v[i].change, .q = HL_Q_UNSET };
        out[i].str[HL_F_AOR] = v[i].aor;
        out[i].str[HL_F_URI] = v[i].uri;
        if (!c)
            continue; /* a removal: expiry 0 */
        out[i].expiry_s = expiry_left(c, now);
        out[i].q = c->q;
        out[i].flags = c->flags;
        out[i].cflags = c->cflags;
        out[i].methods = c->methods;
        out[i].str[HL_F_PATH] = c->path;
        out[i].str[HL_F_RECEIVED] = c->received;
        out[i].str[HL_F_SOCKET] = c->socket;
    }
    return n;
}

static uint32_t contacts_horizon_cb(void *ctx)
{
    struct ha_peer_link *l = ctx;
    return contacts_horizon(l->a);
}

static void on_full_pass_start(void *ctx)
{
    struct ha_peer_link *l = ctx;
    l->pass_started = loop_now(l->a->loop);
}

static void on_contact(void *ctx, const struct hl_contact *k)
{
    struct ha_peer_link *l = ctx;
    const char *aor = k->str[HL_F_AOR], *uri = k->str[HL_F_URI];
    if (l->role == HA_ROLE_PRIMARY) {
        /* what the backup hands over (ha_link_role_changed): what we lack is added,
         * nothing of ours is removed or replaced */
        if (k->expiry_s == 0 || contacts_find(l->a, aor, uri, CONTACT_LOCAL))
            return;
    } else if (k->expiry_s == 0) {
        contacts_remove_synced(l->a, aor, uri);
        return;
    }
    struct contact_attrs at = { .q = k->q, .flags = k->flags, .cflags = k->cflags,
                                .methods = k->methods, .path = k->str[HL_F_PATH],
                                .received = k->str[HL_F_RECEIVED], .socket = k->str[HL_F_SOCKET] };
    contacts_upsert_synced(l->a, aor, uri, k->expiry_s, &at);
}

/* A full pass delivered every contact the peer holds since it began: a synced contact
 * not refreshed since then is gone on the peer (also one delivered by an earlier,
 * unfinished pass). An incremental pass brought removals itself. */
static void on_contacts_done(void *ctx, bool full)
{
    struct ha_peer_link *l = ctx;
    if (l->role == HA_ROLE_PRIMARY) { /* a hand-over: nothing of ours is dropped */
        l->pass_started = 0;
        return;
    }
    if (full)
        contacts_drop_synced_before(l->a, l->pass_started ? l->pass_started : loop_now(l->a->loop) + 1);
    l->pass_started = 0;
    agent_synced_pass_done(l->a, full);
}

static void on_log(void *ctx, int priority, const char *text)
{
    struct ha_peer_link *l = ctx;
    snmp_log(priority, "sipha[%u]: HA link: %s\n", l->a->inst.index, text);
}

/* The link's session number survives restarts in <state dir>/halink-<index>.session,
 * so the next one is above it even if the clock was stepped back meanwhile (the
 * peer would refuse a smaller one as a replay). Without a state dir: the clock only. */
static int session_path(const struct agent *a, char *buf, size_t len)
{
    int n = snprintf(buf, len, "%s/halink-%u.session", a->cfg.state_dir, a->inst.index);
    return a->cfg.state_dir[0] && n > 0 && (size_t)n < len ? 0 : -1;
}

static uint64_t session_read(const struct agent *a)
{
    char path[PATH_MAX], text[32] = "";
    if (session_path(a, path, sizeof(path)) != 0)
        return 0;
    FILE *f = fopen(path, "re");
    if (!f)
        return 0;
    size_t n = fread(text, 1, sizeof(text) - 1, f);
    fclose(f);
    text[n] = '\0';
    char *end;
    errno = 0;
    unsigned long long v = strtoull(text, &end, 10);
    if (errno || end == text || (*end && *end != '\n')) {
        snmp_log(LOG_WARNING, "sipha[%u]: %s: not a session number; ignored\n", a->inst.index,
                 path);
        return 0;
    }
    return (uint64_t)v;
}

static void session_write(const struct agent *a, uint64_t session)
{
    char name[32], text[32], err[PATH_MAX + 64];
    if (!a->cfg.state_dir[0])
        return;
    snprintf(name, sizeof(name), "halink-%u.session", a->inst.index);
    snprintf(text, sizeof(text), "%llu\n", (unsigned long long)session);
    if (persist_write_text(a->cfg.state_dir, name, text, err, sizeof(err)) != 0)
        snmp_log(LOG_WARNING, "sipha[%u]: cannot keep the HA link session: %s\n",
                 a->inst.index, err);
}

int ha_link_start(struct agent *a)
{
    if (!a->cfg.has_peer)
        return 0;
    struct ha_peer_link *l = calloc(1, sizeof(*l));
    if (!l)
        return -1;
    l->a = a;
    l->role = HA_ROLE_UNKNOWN;
    static const struct hl_callbacks cb = {
        .on_state = on_state, .on_lost = on_lost, .on_msg = on_msg, .contacts_after = contacts_after,
        .on_contact = on_contact, .on_contacts_done = on_contacts_done,
        .contacts_horizon = contacts_horizon_cb, .on_full_pass_start = on_full_pass_start, .on_log = on_log,
    };
    const struct sipha_config *c = &a->cfg;
    struct hl_config hc = { .local = c->peer_bind, .peer = c->peer_address,
                            .key_file = c->peer_key_file, .self_index = c->index,
                            .peer_index = c->peer_index, .interval_ms = c->peer_interval_ms,
                            .miss_count = c->peer_miss_count,
                            .backup_interval_ms = c->peer_backup_interval_ms,
                            .session_floor = session_read(a) };
    char err[256];
    if (hl_open(&l->link, a->loop, &hc, &cb, l, err, sizeof(err)) != 0) {
        snmp_log(LOG_ERR, "sipha[%u]: HA link: %s\n", a->inst.index, err);
        free(l);
        return -1;
    }
    a->link = l;
    a->inst.link = l->link; /* the MIB reads its counters */
    session_write(a, hl_session(l->link));
    ha_link_contacts_changed(a);
    return 0;
}

void ha_link_stop(struct agent *a)
{
    struct ha_peer_link *l = a->link;
    if (!l)
        return;
    a->inst.link = NULL;
    hl_close(l->link);
    free(l);
    a->link = NULL;
}

void ha_link_send(struct agent *a, const struct ha_peer_msg *m)
{
    /* The engine re-sends a TAKEOVER that is not confirmed, so a refused or lost
     * message is not lost for good. */
    if (a->link && hl_send_msg(a->link->link, m) != 0)
        snmp_log(LOG_WARNING, "sipha[%u]: HA link: message %s refused (out of range)\n",
                 a->inst.index, m->cmd == HA_CMD_PEER_TAKEOVER ? "takeover" : "release");
}

void ha_link_publish(struct agent *a, const struct ha_peer_state *self)
{
    if (a->link)
        hl_set_state(a->link->link, self);
}

/* The backup copies the primary's contacts. A primary whose contacts live in a SIP
 * server also copies what its backup holds as its own, which is what the backup's
 * server has and the primary lacks: a demoted primary's registrations (it was alive
 * after all: a freeze, a cut link, and we took over before our copy was complete), or
 * those found in the backup's server at its start (kam_sync.c). The backup keeps them
 * until we hold them, so a takeover never shrinks the pair's set of registrations.
 * A backup normally holds none: its generation does not move, and this costs one
 * empty pass per peer process. */
void ha_link_role_changed(struct agent *a, enum ha_role role)
{
    struct ha_peer_link *l = a->link;
    if (!l)
        return;
    bool hand_over = role == HA_ROLE_PRIMARY && a->cfg.sip_server_kind == SIP_SERVER_KAMAILIO;
    bool changed = l->role != role;
    l->role = role;
    /* A new role begins with a full pass: a primary skips rows it holds itself and
     * drops nothing, a backup copies all and drops the rest, so the old bookkeeping
     * does not carry over. */
    if (changed)
        hl_pull_contacts(l->link, false);
    hl_pull_contacts(l->link, role == HA_ROLE_BACKUP || hand_over);
}

void ha_link_contacts_changed(struct agent *a)
{
    if (a->link)
        hl_contacts_changed(a->link->link, (uint32_t)contacts_local_count(a));
}
