/* contacts.c — see contacts.h. Lookups by (AOR, URI) scan the table: contacts are
 * the test/demo source and a few synced rows, not a registrar's database. */
#include <stdio.h>
#include <string.h>

#include "contacts.h"

static uint32_t next_index(struct agent *a)
{
    const struct sipha_rows *r = &a->inst.contacts;
    const struct sipha_contact *last = r->count ? rows_at(r, r->count - 1) : NULL;
    return last ? last->index + 1 : 1;
}

static struct sipha_contact *find(struct agent *a, const char *aor, const char *uri,
                                  enum contact_origin origin)
{
    for (size_t i = 0; i < a->inst.contacts.count; i++) {
        struct sipha_contact *c = rows_at(&a->inst.contacts, i);
        if (c->origin == origin && strcmp(c->aor, aor) == 0 && strcmp(c->uri, uri) == 0)
            return c;
    }
    return NULL;
}

/* (Re)inserts a contact under a fresh index: a change must show up past the last
 * index a puller has seen. */
static void put(struct agent *a, const char *aor, const char *uri, uint64_t expires_at,
                enum contact_origin origin, uint64_t seen)
{
    struct sipha_contact *old = find(a, aor, uri, origin);
    if (old && old->expires_at == expires_at) {
        old->seen = seen;
        return;
    }
    if (old)
        instance_remove_contact(&a->inst, old->index);
    struct sipha_contact c = { .index = next_index(a), .expires_at = expires_at,
                               .origin = origin, .seen = seen };
    snprintf(c.aor, sizeof(c.aor), "%s", aor);
    snprintf(c.uri, sizeof(c.uri), "%s", uri);
    instance_put_contact(&a->inst, &c);
    if (a->loop)
        contacts_start_expiry(a);
    if (origin == CONTACT_LOCAL)
        agent_contacts_changed(a);
}

void contacts_apply_config(struct agent *a)
{
    uint64_t now = loop_now(a->loop), mark = now + 1;
    for (size_t i = 0; i < a->cfg.n_contacts; i++)
        put(a, a->cfg.contacts[i].aor, a->cfg.contacts[i].uri,
            now + (uint64_t)a->cfg.contacts[i].expires * 1000u, CONTACT_LOCAL, mark);
    for (size_t i = a->inst.contacts.count; i-- > 0;) {
        struct sipha_contact *c = rows_at(&a->inst.contacts, i);
        if (c->origin == CONTACT_LOCAL && c->seen != mark)
            instance_remove_contact(&a->inst, c->index);
    }
    agent_contacts_changed(a);
}

void contacts_upsert_synced(struct agent *a, const char *aor, const char *uri, uint32_t expiry_s)
{
    uint64_t now = loop_now(a->loop);
    /* The peer's expiry is seconds left, rounded up: keep the old deadline when it
     * agrees within a second, so a re-pull is not a change. */
    struct sipha_contact *old = find(a, aor, uri, CONTACT_SYNCED);
    uint64_t at = now + (uint64_t)expiry_s * 1000u;
    if (old && old->expires_at + 1000 >= at && old->expires_at <= at + 1000)
        at = old->expires_at;
    put(a, aor, uri, at, CONTACT_SYNCED, now);
}

void contacts_drop_synced_before(struct agent *a, uint64_t mark)
{
    for (size_t i = a->inst.contacts.count; i-- > 0;) {
        struct sipha_contact *c = rows_at(&a->inst.contacts, i);
        if (c->origin == CONTACT_SYNCED && c->seen < mark)
            instance_remove_contact(&a->inst, c->index);
    }
}

static void expiry_tick(void *arg)
{
    struct agent *a = arg;
    a->contact_timer = 0;
    uint64_t now = loop_now(a->loop);
    bool local_gone = false;
    for (size_t i = a->inst.contacts.count; i-- > 0;) {
        struct sipha_contact *c = rows_at(&a->inst.contacts, i);
        if (c->expires_at <= now) {
            local_gone |= c->origin == CONTACT_LOCAL;
            instance_remove_contact(&a->inst, c->index);
        }
    }
    if (local_gone)
        agent_contacts_changed(a);
    contacts_start_expiry(a);
}

/* One timer at the earliest expiry (no periodic wake-up for an idle agent); every
 * change of the table re-arms it through contacts_start_expiry. */
void contacts_start_expiry(struct agent *a)
{
    uint64_t next = UINT64_MAX, now = loop_now(a->loop);
    for (size_t i = 0; i < a->inst.contacts.count; i++) {
        const struct sipha_contact *c = rows_at(&a->inst.contacts, i);
        if (c->expires_at < next)
            next = c->expires_at;
    }
    contacts_stop_expiry(a);
    if (next != UINT64_MAX)
        a->contact_timer = loop_timer_add(a->loop, next > now ? next - now : 0, expiry_tick, a);
}

void contacts_stop_expiry(struct agent *a)
{
    if (a->contact_timer)
        loop_timer_cancel(a->loop, a->contact_timer);
    a->contact_timer = 0;
}
