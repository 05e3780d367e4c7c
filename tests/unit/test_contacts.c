/* test_contacts.c — the contact table and its change log (agent/contacts.c).
 *
 * A bare struct agent (no configuration, no SNMP): its instance, a loop on a virtual
 * clock (loop_set_clock) for the expiry timer, and a contacts_changed hook that counts.
 * What the HA link gets from contacts_changes_after is checked the way a backup uses
 * it: pages of HL_MAX_ROWS-like size, applied in order to a copy that must equal the
 * table — after a full copy from 0, and after copies from the last change seen.
 * Run under valgrind, the attribute strings show no leak. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "contacts.h"
#include "context.h"

#define T0 1000000u /* the virtual clock at the start of every test, ms */
#define PAGE 41     /* rows per answer, as HL_MAX_ROWS */
#define MAX_VIEWS 20000

struct fx {
    struct agent a; /* first member: the hook casts back */
    uint64_t now;
    int changed;    /* agent_contacts_changed calls */
    struct contact_view v[MAX_VIEWS];
};

static uint64_t vclock(void *arg)
{
    return ((const struct fx *)arg)->now;
}

static void count_changed(struct agent *a)
{
    ((struct fx *)a)->changed++;
}

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));
    if (!f)
        return -1;
    f->now = T0;
    f->a.loop = loop_new();
    if (!f->a.loop)
        return -1;
    loop_set_clock(f->a.loop, vclock, f);
    instance_init(&f->a.inst);
    f->a.contacts_changed = count_changed;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    contacts_stop_expiry(&f->a);
    contacts_free(&f->a);
    instance_free(&f->a.inst); /* frees the rows' attribute strings */
    loop_free(f->a.loop);
    free(f);
    return 0;
}

/* Moves the virtual clock on by ms, running every timer at its due time. */
static void advance(struct fx *f, uint64_t ms)
{
    uint64_t end = f->now + ms;
    for (;;) {
        uint64_t due = loop_next_due(f->a.loop);
        if (due > end)
            break;
        if (due > f->now)
            f->now = due;
        loop_run_due(f->a.loop);
    }
    f->now = end;
    loop_run_due(f->a.loop);
}

static const struct sipha_contact *row_of(struct fx *f, enum contact_origin origin,
                                          const char *aor, const char *uri)
{
    for (size_t i = 0; i < f->a.inst.contacts.count; i++) {
        const struct sipha_contact *c = rows_at(&f->a.inst.contacts, i);
        if (c->origin == origin && strcmp(c->aor, aor) == 0 && strcmp(c->uri, uri) == 0)
            return c;
    }
    return NULL;
}

static const struct sipha_contact *local(struct fx *f, const char *aor, const char *uri)
{
    return row_of(f, CONTACT_LOCAL, aor, uri);
}

static const struct sipha_contact *synced(struct fx *f, const char *aor, const char *uri)
{
    return row_of(f, CONTACT_SYNCED, aor, uri);
}

static size_t changes(struct fx *f, uint32_t after)
{
    return contacts_changes_after(&f->a, after, f->v, MAX_VIEWS);
}

/* ---- local contacts ------------------------------------------------------------------ */

#define A_AOR "sip:alice@example.com"
#define A_URI "sip:alice@10.0.0.1:5060"
#define B_AOR "sip:bob@example.com"
#define B_URI "sip:bob@10.0.0.2:5060"
#define C_AOR "sip:carol@example.com"
#define C_URI "sip:carol@10.0.0.3:5060"

static void local_put_refresh_change_remove(void **state)
{
    struct fx *f = *state;
    assert_int_equal(contacts_put_local(&f->a, A_AOR, A_URI, 3600, NULL), 0);
    const struct sipha_contact *c = local(f, A_AOR, A_URI);
    assert_non_null(c);
    assert_int_equal(c->index, 1);
    assert_int_equal(c->change, 1);
    assert_int_equal(c->expires_at, T0 + 3600000u);
    assert_int_equal(c->q, -1);
    assert_null(c->path);
    assert_int_equal(f->changed, 1);
    assert_int_equal(contacts_local_count(&f->a), 1);
    assert_int_equal(contacts_horizon(&f->a), 0);
    assert_int_equal(changes(f, 0), 1);
    assert_int_equal(f->v[0].change, 1);
    assert_ptr_equal(f->v[0].c, c);
    assert_string_equal(f->v[0].aor, A_AOR);
    assert_string_equal(f->v[0].uri, A_URI);

    /* the same again: no change */
    assert_int_equal(contacts_put_local(&f->a, A_AOR, A_URI, 3600, NULL), 0);
    assert_int_equal(f->changed, 1);
    assert_int_equal(local(f, A_AOR, A_URI)->change, 1);
    /* read again half a second later: the expiry agrees within a second */
    advance(f, 500);
    assert_int_equal(contacts_put_local(&f->a, A_AOR, A_URI, 3600, NULL), 0);
    assert_int_equal(f->changed, 1);
    assert_int_equal(local(f, A_AOR, A_URI)->expires_at, T0 + 3600000u);

    /* a refresh: a new deadline, a new change number, the same row */
    advance(f, 1000);
    assert_int_equal(contacts_put_local(&f->a, A_AOR, A_URI, 3600, NULL), 0);
    c = local(f, A_AOR, A_URI);
    assert_int_equal(c->index, 1);
    assert_int_equal(c->change, 2);
    assert_int_equal(c->expires_at, T0 + 1500u + 3600000u);
    assert_int_equal(f->changed, 2);
    assert_int_equal(changes(f, 0), 1); /* change 1 is superseded */
    assert_int_equal(f->v[0].change, 2);
    assert_int_equal(changes(f, 1), 1);
    assert_int_equal(f->v[0].change, 2);
    assert_int_equal(changes(f, 2), 0);

    /* a changed attribute */
    struct contact_attrs at = { .q = 500 };
    assert_int_equal(contacts_put_local(&f->a, A_AOR, A_URI, 3600, &at), 0);
    c = local(f, A_AOR, A_URI);
    assert_int_equal(c->index, 1);
    assert_int_equal(c->change, 3);
    assert_int_equal(c->q, 500);
    assert_int_equal(f->changed, 3);
    assert_int_equal(contacts_local_count(&f->a), 1);

    /* the removal: listed with AOR and URI */
    contacts_remove_local(&f->a, A_AOR, A_URI);
    assert_null(local(f, A_AOR, A_URI));
    assert_int_equal(f->changed, 4);
    assert_int_equal(contacts_local_count(&f->a), 0);
    assert_int_equal(changes(f, 3), 1);
    assert_int_equal(f->v[0].change, 4);
    assert_null(f->v[0].c);
    assert_string_equal(f->v[0].aor, A_AOR);
    assert_string_equal(f->v[0].uri, A_URI);
    assert_int_equal(changes(f, 0), 1); /* only the removal is left */
    assert_int_equal(f->v[0].change, 4);

    /* removing what is not there changes nothing; expiry 0 removes */
    contacts_remove_local(&f->a, A_AOR, A_URI);
    assert_int_equal(contacts_put_local(&f->a, B_AOR, B_URI, 0, NULL), 0);
    assert_int_equal(f->changed, 4);
    assert_int_equal(contacts_put_local(&f->a, B_AOR, B_URI, 60, NULL), 0);
    c = local(f, B_AOR, B_URI);
    assert_int_equal(c->index, 2); /* a new contact: a new row index, never reused */
    assert_int_equal(c->change, 5);
    assert_int_equal(contacts_put_local(&f->a, B_AOR, B_URI, 0, NULL), 0);
    assert_null(local(f, B_AOR, B_URI));
    assert_int_equal(changes(f, 5), 1);
    assert_null(f->v[0].c);
    assert_int_equal(f->changed, 6);
}

static void changes_in_order_superseded_skipped(void **state)
{
    struct fx *f = *state;
    contacts_put_local(&f->a, A_AOR, A_URI, 60, NULL); /* 1 */
    contacts_put_local(&f->a, B_AOR, B_URI, 60, NULL); /* 2 */
    contacts_put_local(&f->a, C_AOR, C_URI, 60, NULL); /* 3 */
    advance(f, 2000);
    contacts_put_local(&f->a, A_AOR, A_URI, 60, NULL); /* 4: refresh */
    contacts_remove_local(&f->a, B_AOR, B_URI);        /* 5 */
    assert_int_equal(local(f, A_AOR, A_URI)->index, 1);
    assert_int_equal(local(f, C_AOR, C_URI)->index, 3);
    assert_int_equal(changes(f, 0), 3);
    assert_int_equal(f->v[0].change, 3);
    assert_string_equal(f->v[0].aor, C_AOR);
    assert_int_equal(f->v[1].change, 4);
    assert_string_equal(f->v[1].aor, A_AOR);
    assert_non_null(f->v[1].c);
    assert_int_equal(f->v[2].change, 5);
    assert_null(f->v[2].c);
    assert_string_equal(f->v[2].aor, B_AOR);
    assert_string_equal(f->v[2].uri, B_URI);
    assert_int_equal(changes(f, 3), 2);
    assert_int_equal(f->v[0].change, 4);
    assert_int_equal(changes(f, 5), 0);
    assert_int_equal(changes(f, 1000), 0);
    /* paged one at a time, from each page's last change */
    static const uint32_t want[] = { 3, 4, 5 };
    uint32_t after = 0;
    for (size_t i = 0; i < 3; i++) {
        assert_int_equal(contacts_changes_after(&f->a, after, f->v, 1), 1);
        assert_int_equal(f->v[0].change, want[i]);
        after = f->v[0].change;
    }
    assert_int_equal(contacts_changes_after(&f->a, after, f->v, 1), 0);
    assert_int_equal(contacts_changes_after(&f->a, 0, f->v, 2), 2);
    assert_int_equal(f->v[1].change, 4);
    /* B again: a new row, a change after its removal */
    contacts_put_local(&f->a, B_AOR, B_URI, 60, NULL);
    assert_int_equal(local(f, B_AOR, B_URI)->index, 4);
    assert_int_equal(changes(f, 4), 2);
    assert_null(f->v[0].c);
    assert_non_null(f->v[1].c);
    assert_int_equal(f->v[1].change, 6);
}

/* Attributes: copied into the row (strings owned, freed on change and removal), and
 * compared: the same content is no change, "" and NULL are both unset. */
static void attributes_stored_compared_freed(void **state)
{
    struct fx *f = *state;
    char path[64] = "<sip:p1.example.com;lr>", rcv[64] = "sip:192.0.2.1:40000",
         sock[64] = "udp:10.0.0.1:5060";
    struct contact_attrs at = { .q = 500, .flags = 1, .cflags = 0x10, .methods = 0x1fff,
                                .path = path, .received = rcv, .socket = sock };
    assert_int_equal(contacts_put_local(&f->a, A_AOR, A_URI, 60, &at), 0);
    const struct sipha_contact *c = local(f, A_AOR, A_URI);
    assert_int_equal(c->q, 500);
    assert_int_equal(c->flags, 1);
    assert_int_equal(c->cflags, 0x10);
    assert_int_equal(c->methods, 0x1fff);
    assert_true(c->path != path && c->received != rcv && c->socket != sock);
    assert_string_equal(c->path, path);
    assert_string_equal(c->received, rcv);
    assert_string_equal(c->socket, sock);
    path[5] = 'X'; /* the row holds its own copy */
    assert_string_equal(c->path, "<sip:p1.example.com;lr>");
    path[5] = 'p';
    /* the same content from other buffers: no change */
    char path2[64], rcv2[64], sock2[64];
    strcpy(path2, path);
    strcpy(rcv2, rcv);
    strcpy(sock2, sock);
    struct contact_attrs same = at;
    same.path = path2;
    same.received = rcv2;
    same.socket = sock2;
    assert_int_equal(contacts_put_local(&f->a, A_AOR, A_URI, 60, &same), 0);
    assert_int_equal(f->changed, 1);
    assert_int_equal(local(f, A_AOR, A_URI)->change, 1);

    /* each attribute alone is a change */
    uint32_t change = 1;
    struct contact_attrs b = at;
    b.q = 1000;
    assert_int_equal(contacts_put_local(&f->a, A_AOR, A_URI, 60, &b), 0);
    assert_int_equal(local(f, A_AOR, A_URI)->change, ++change);
    b.flags = 2;
    assert_int_equal(contacts_put_local(&f->a, A_AOR, A_URI, 60, &b), 0);
    assert_int_equal(local(f, A_AOR, A_URI)->change, ++change);
    b.cflags = 0;
    assert_int_equal(contacts_put_local(&f->a, A_AOR, A_URI, 60, &b), 0);
    assert_int_equal(local(f, A_AOR, A_URI)->change, ++change);
    b.methods = 0xffffffffu;
    assert_int_equal(contacts_put_local(&f->a, A_AOR, A_URI, 60, &b), 0);
    assert_int_equal(local(f, A_AOR, A_URI)->change, ++change);
    b.path = "<sip:p2.example.com;lr>";
    assert_int_equal(contacts_put_local(&f->a, A_AOR, A_URI, 60, &b), 0);
    assert_int_equal(local(f, A_AOR, A_URI)->change, ++change);
    assert_string_equal(local(f, A_AOR, A_URI)->path, "<sip:p2.example.com;lr>");
    b.received = "sip:192.0.2.2:40000";
    assert_int_equal(contacts_put_local(&f->a, A_AOR, A_URI, 60, &b), 0);
    assert_int_equal(local(f, A_AOR, A_URI)->change, ++change);
    b.socket = "tcp:10.0.0.1:5060";
    assert_int_equal(contacts_put_local(&f->a, A_AOR, A_URI, 60, &b), 0);
    assert_int_equal(local(f, A_AOR, A_URI)->change, ++change);
    c = local(f, A_AOR, A_URI);
    assert_int_equal(c->q, 1000);
    assert_int_equal(c->flags, 2);
    assert_int_equal(c->cflags, 0);
    assert_int_equal(c->methods, 0xffffffffu);
    assert_string_equal(c->received, "sip:192.0.2.2:40000");
    assert_string_equal(c->socket, "tcp:10.0.0.1:5060");

    /* unset: NULL and "" are the same */
    b.path = NULL;
    assert_int_equal(contacts_put_local(&f->a, A_AOR, A_URI, 60, &b), 0);
    assert_int_equal(local(f, A_AOR, A_URI)->change, ++change);
    assert_null(local(f, A_AOR, A_URI)->path);
    b.path = "";
    assert_int_equal(contacts_put_local(&f->a, A_AOR, A_URI, 60, &b), 0);
    assert_int_equal(local(f, A_AOR, A_URI)->change, change);
    /* no attributes at all (NULL) is q -1 and nothing else */
    assert_int_equal(contacts_put_local(&f->a, A_AOR, A_URI, 60, NULL), 0);
    assert_int_equal(local(f, A_AOR, A_URI)->change, ++change);
    c = local(f, A_AOR, A_URI);
    assert_int_equal(c->q, -1);
    assert_true(!c->path && !c->received && !c->socket && !c->flags && !c->cflags && !c->methods);
    struct contact_attrs none = { .q = -1, .path = "", .received = NULL, .socket = "" };
    assert_int_equal(contacts_put_local(&f->a, A_AOR, A_URI, 60, &none), 0);
    assert_int_equal(local(f, A_AOR, A_URI)->change, change);

    /* set again and removed: the strings go with the row (valgrind: no leak) */
    assert_int_equal(contacts_put_local(&f->a, A_AOR, A_URI, 60, &at), 0);
    assert_int_equal(contacts_put_local(&f->a, B_AOR, B_URI, 60, &at), 0);
    contacts_remove_local(&f->a, A_AOR, A_URI);
    assert_null(local(f, A_AOR, A_URI));
    /* B stays with its strings until teardown (instance_free) */
    assert_string_equal(local(f, B_AOR, B_URI)->path, path);
    assert_int_equal(f->changed, (int)change + 3);
}

/* The source's expiry is whole seconds left: within a second of the deadline it has
 * is no change; beyond, it is. */
static void expiry_within_a_second_is_no_change(void **state)
{
    struct fx *f = *state;
    contacts_put_local(&f->a, A_AOR, A_URI, 3600, NULL);
    const uint64_t at = T0 + 3600000u;
    contacts_put_local(&f->a, A_AOR, A_URI, 3601, NULL);
    contacts_put_local(&f->a, A_AOR, A_URI, 3599, NULL);
    assert_int_equal(local(f, A_AOR, A_URI)->expires_at, at);
    assert_int_equal(f->changed, 1);
    advance(f, 999);
    contacts_put_local(&f->a, A_AOR, A_URI, 3600, NULL); /* 999 ms later */
    contacts_put_local(&f->a, A_AOR, A_URI, 3599, NULL); /* 1 ms earlier */
    assert_int_equal(local(f, A_AOR, A_URI)->expires_at, at);
    assert_int_equal(f->changed, 1);
    contacts_put_local(&f->a, A_AOR, A_URI, 3601, NULL); /* 1999 ms later */
    assert_int_equal(local(f, A_AOR, A_URI)->expires_at, T0 + 999u + 3601000u);
    assert_int_equal(f->changed, 2);
    contacts_put_local(&f->a, A_AOR, A_URI, 3598, NULL); /* 3 s earlier */
    assert_int_equal(local(f, A_AOR, A_URI)->expires_at, T0 + 999u + 3598000u);
    assert_int_equal(f->changed, 3);
    assert_int_equal(local(f, A_AOR, A_URI)->index, 1);
}

/* ---- synced contacts ------------------------------------------------------------------ */

static void synced_upsert_remove_drop(void **state)
{
    struct fx *f = *state;
    struct contact_attrs at = { .q = 100, .path = "<sip:p@x;lr>", .socket = "udp:1.2.3.4:5060" };
    contacts_upsert_synced(&f->a, A_AOR, A_URI, 60, &at);
    const struct sipha_contact *c = synced(f, A_AOR, A_URI);
    assert_non_null(c);
    uint32_t ia = c->index;
    assert_int_equal(c->q, 100);
    assert_string_equal(c->path, "<sip:p@x;lr>");
    assert_int_equal(c->seen, T0);
    /* not ours: no change number, nothing for the peer, no generation bump */
    assert_int_equal(f->changed, 0);
    assert_int_equal(changes(f, 0), 0);
    assert_int_equal(contacts_local_count(&f->a), 0);
    /* the same again later: only "seen" moves */
    advance(f, 10);
    contacts_upsert_synced(&f->a, A_AOR, A_URI, 60, &at);
    c = synced(f, A_AOR, A_URI);
    assert_int_equal(c->seen, T0 + 10);
    assert_int_equal(c->expires_at, T0 + 60000u);
    /* changed: updated in place */
    at.path = NULL;
    at.q = 7;
    contacts_upsert_synced(&f->a, A_AOR, A_URI, 30, &at);
    c = synced(f, A_AOR, A_URI);
    assert_int_equal(c->index, ia);
    assert_int_equal(c->q, 7);
    assert_null(c->path);
    assert_int_equal(c->expires_at, T0 + 10 + 30000u);
    assert_int_equal(f->a.inst.contacts.count, 1);

    /* a local contact of the same AOR and URI is another row, untouched by the sync */
    contacts_put_local(&f->a, A_AOR, A_URI, 60, NULL);
    assert_non_null(local(f, A_AOR, A_URI));
    assert_true(local(f, A_AOR, A_URI)->index != ia);
    contacts_remove_synced(&f->a, A_AOR, A_URI);
    assert_null(synced(f, A_AOR, A_URI));
    assert_non_null(local(f, A_AOR, A_URI));
    contacts_remove_synced(&f->a, A_AOR, A_URI); /* not there: nothing */
    assert_int_equal(changes(f, 0), 1);
    assert_non_null(f->v[0].c);

    /* drop what a full copy did not see since its mark */
    advance(f, 10);
    contacts_upsert_synced(&f->a, B_AOR, B_URI, 60, NULL);
    advance(f, 10);
    uint64_t mark = f->now;
    contacts_upsert_synced(&f->a, C_AOR, C_URI, 60, NULL);
    contacts_drop_synced_before(&f->a, mark);
    assert_null(synced(f, B_AOR, B_URI));
    assert_non_null(synced(f, C_AOR, C_URI));
    assert_non_null(local(f, A_AOR, A_URI));
    contacts_drop_synced_before(&f->a, f->now + 1);
    assert_null(synced(f, C_AOR, C_URI));
    assert_non_null(local(f, A_AOR, A_URI));
    /* expiry 0 from the peer: a removal */
    contacts_upsert_synced(&f->a, B_AOR, B_URI, 60, &at);
    contacts_upsert_synced(&f->a, B_AOR, B_URI, 0, NULL);
    assert_null(synced(f, B_AOR, B_URI));
    assert_int_equal(f->changed, 1); /* the local put only */
}

/* A demoted primary hands a contact over: forgotten once the new primary has it, with
 * no removal for the peer (it did not go away), the synced twin and others untouched. */
static void forget_local_numbers_no_removal(void **state)
{
    struct fx *f = *state;
    contacts_put_local(&f->a, A_AOR, A_URI, 60, NULL);
    contacts_put_local(&f->a, B_AOR, B_URI, 60, NULL);
    contacts_upsert_synced(&f->a, A_AOR, A_URI, 60, NULL);
    int changed = f->changed;
    assert_int_equal(changes(f, 0), 2);
    uint32_t last = f->v[1].change;
    contacts_forget_local(&f->a, A_AOR, A_URI);
    assert_null(local(f, A_AOR, A_URI));
    assert_non_null(synced(f, A_AOR, A_URI));
    assert_non_null(local(f, B_AOR, B_URI));
    assert_int_equal(contacts_local_count(&f->a), 1);
    assert_int_equal(f->changed, changed + 1); /* the generation moves: the count did */
    /* the peer sees B only, and no removal of A */
    assert_int_equal(changes(f, 0), 1);
    assert_string_equal(f->v[0].aor, B_AOR);
    assert_non_null(f->v[0].c);
    assert_int_equal(changes(f, last), 0);
    contacts_forget_local(&f->a, A_AOR, A_URI); /* not there: nothing */
    assert_int_equal(f->changed, changed + 1);
}

/* ---- the horizon ----------------------------------------------------------------------- */

/* Pages through every change after `after` (PAGE at a time, as the HA link asks);
 * returns how many views were written to f->v. */
static size_t all_changes(struct fx *f, uint32_t after)
{
    size_t n = 0;
    for (;;) {
        assert_true(n + PAGE <= MAX_VIEWS);
        size_t got = contacts_changes_after(&f->a, after, f->v + n, PAGE);
        for (size_t i = 0; i < got; i++) {
            assert_true(f->v[n + i].change > after);
            after = f->v[n + i].change;
        }
        n += got;
        if (got < PAGE)
            return n;
    }
}

static void name(char *aor, char *uri, size_t len, unsigned k)
{
    snprintf(aor, len, "sip:user%u@example.com", k);
    snprintf(uri, len, "sip:user%u@10.2.%u.%u:5060", k, (k >> 8) & 255, k & 255);
}

/* Removals are kept up to 4096; then the oldest go and the horizon is the number of
 * the last forgotten. The listing stays right: every removal above the horizon, none
 * at or below it, the live contact once. */
static void horizon_rises_after_4096_removals(void **state)
{
    struct fx *f = *state;
    char aor[64], uri[64];
    contacts_put_local(&f->a, A_AOR, A_URI, 3600, NULL); /* change 1, lives on */
    /* cycle i: the put of user i is change 2i + 2, its removal 2i + 3 */
    for (unsigned i = 0; i < 4096; i++) {
        name(aor, uri, sizeof(aor), i);
        assert_int_equal(contacts_put_local(&f->a, aor, uri, 3600, NULL), 0);
        contacts_remove_local(&f->a, aor, uri);
    }
    contacts_put_local(&f->a, B_AOR, B_URI, 3600, NULL);
    assert_int_equal(contacts_horizon(&f->a), 0); /* all 4096 kept */
    size_t n = all_changes(f, 0);
    assert_int_equal(n, 4096 + 2);
    assert_int_equal(f->v[0].change, 1);
    for (unsigned i = 0; i < 4096; i++) {
        assert_int_equal(f->v[1 + i].change, 2 * i + 3);
        assert_null(f->v[1 + i].c);
    }
    contacts_remove_local(&f->a, B_AOR, B_URI);

    const unsigned cycles = 5000;
    for (unsigned i = 4096; i < cycles; i++) {
        name(aor, uri, sizeof(aor), i);
        assert_int_equal(contacts_put_local(&f->a, aor, uri, 3600, NULL), 0);
        contacts_remove_local(&f->a, aor, uri);
    }
    uint32_t h = contacts_horizon(&f->a);
    assert_true(h > 3);
    n = all_changes(f, 0);
    size_t removals = 0, live = 0;
    bool listed[5000] = { false };
    for (size_t i = 0; i < n; i++) {
        if (f->v[i].c) {
            assert_string_equal(f->v[i].aor, A_AOR); /* the only live contact */
            assert_int_equal(f->v[i].change, 1);     /* far below the horizon */
            live++;
            continue;
        }
        removals++;
        assert_true(f->v[i].change > h);
        unsigned k;
        if (sscanf(f->v[i].aor, "sip:user%u@", &k) == 1) {
            assert_true(k < cycles);
            assert_int_equal(f->v[i].change, 2 * k + 3 + 2 * (k >= 4096)); /* B came between */
            listed[k] = true;
        }
    }
    assert_int_equal(live, 1);
    assert_true(removals >= 4096);
    /* the newest 4096 removals are all there; every one at or below the horizon gone */
    for (unsigned k = 0; k < cycles; k++) {
        uint32_t num = 2 * k + 3 + 2 * (k >= 4096);
        assert_int_equal(listed[k], num > h);
        if (k >= cycles - 4095)
            assert_true(listed[k]);
    }
}

/* A small LCG: the same sequence on every run. */
static uint32_t rnd(uint32_t *s)
{
    *s = *s * 1103515245u + 12345u;
    return (*s >> 8) & 0xffffff;
}

#define POOL 300

struct copy {
    bool present[POOL];
    int32_t q[POOL];
};

static unsigned user_of(const char *aor)
{
    unsigned k = POOL;
    assert_int_equal(sscanf(aor, "sip:user%u@", &k), 1);
    assert_true(k < POOL);
    return k;
}

/* Applies the changes after `after` to the copy; returns the last change seen. */
static uint32_t apply(struct fx *f, struct copy *cp, uint32_t after)
{
    size_t n = all_changes(f, after);
    for (size_t i = 0; i < n; i++) {
        unsigned k = user_of(f->v[i].aor);
        cp->present[k] = f->v[i].c != NULL;
        if (f->v[i].c)
            cp->q[k] = f->v[i].c->q;
        after = f->v[i].change;
    }
    return after;
}

/* The copy equals the table's local contacts. */
static void assert_copy_equal(struct fx *f, const struct copy *cp, const bool *live)
{
    char aor[64], uri[64];
    size_t n = 0;
    for (unsigned k = 0; k < POOL; k++) {
        name(aor, uri, sizeof(aor), k);
        const struct sipha_contact *c = local(f, aor, uri);
        assert_int_equal(c != NULL, live[k]);
        assert_int_equal(cp->present[k], live[k]);
        if (c) {
            assert_int_equal(cp->q[k], c->q);
            n++;
        }
    }
    assert_int_equal(contacts_local_count(&f->a), n);
}

/* 10,000 changes (new, changed, removed) over 300 contacts: a full copy from 0 lists
 * every live contact exactly once, and copies kept up to date from the last change
 * seen (or from 0 when that is below the horizon) equal the table all along. */
static void ten_thousand_changes(void **state)
{
    struct fx *f = *state;
    static bool live[POOL];
    memset(live, 0, sizeof(live));
    struct copy *full = calloc(1, sizeof(*full)), *inc = calloc(1, sizeof(*inc));
    assert_non_null(full);
    assert_non_null(inc);
    char aor[64], uri[64];
    uint32_t seed = 12345, inc_after = 0;
    unsigned removals = 0, too_old = 0, catch_ups = 0;
    for (unsigned op = 1; op <= 10000; op++) {
        unsigned k = rnd(&seed) % POOL;
        name(aor, uri, sizeof(aor), k);
        if (live[k] && rnd(&seed) % 8 != 0) {
            contacts_remove_local(&f->a, aor, uri);
            live[k] = false;
            removals++;
        } else {
            struct contact_attrs at = { .q = (int32_t)(rnd(&seed) % 1001),
                                        .path = k % 3 ? "<sip:edge.example.com;lr>" : NULL,
                                        .received = k % 5 ? NULL : "sip:192.0.2.9:4000" };
            assert_int_equal(contacts_put_local(&f->a, aor, uri, 3600, &at), 0);
            live[k] = true;
        }
        advance(f, 1);
        if (op % 250 == 0) { /* the backup catches up */
            catch_ups++;
            if (inc_after < contacts_horizon(&f->a)) {
                too_old++;
                memset(inc, 0, sizeof(*inc));
                inc_after = 0;
            }
            inc_after = apply(f, inc, inc_after);
            assert_copy_equal(f, inc, live);
        }
    }
    assert_true(removals > 4096);
    assert_true(contacts_horizon(&f->a) > 0);
    assert_true(too_old < catch_ups); /* mostly incremental */

    /* a full copy: every live contact exactly once, under its current change number */
    size_t n = all_changes(f, 0);
    unsigned seen[POOL] = { 0 };
    for (size_t i = 0; i < n; i++) {
        if (f->v[i].c) {
            unsigned k = user_of(f->v[i].c->aor);
            seen[k]++;
            assert_int_equal(f->v[i].change, f->v[i].c->change);
            assert_int_equal(f->v[i].c->origin, CONTACT_LOCAL);
        } else {
            assert_true(f->v[i].change > contacts_horizon(&f->a));
        }
    }
    for (unsigned k = 0; k < POOL; k++)
        assert_int_equal(seen[k], live[k] ? 1 : 0);
    apply(f, full, 0);
    assert_copy_equal(f, full, live);
    free(full);
    free(inc);
}

/* ---- expiry ---------------------------------------------------------------------------- */

static void expiry_removes_and_numbers(void **state)
{
    struct fx *f = *state;
    contacts_put_local(&f->a, A_AOR, A_URI, 10, NULL);   /* 1 */
    contacts_put_local(&f->a, B_AOR, B_URI, 20, NULL);   /* 2 */
    contacts_upsert_synced(&f->a, C_AOR, C_URI, 15, NULL);
    assert_int_equal(loop_next_due(f->a.loop), T0 + 10000u); /* one timer, the earliest */
    advance(f, 9999);
    assert_non_null(local(f, A_AOR, A_URI));
    /* its deadline passed, the sweep not run yet: no longer listed */
    f->now = T0 + 10000u;
    assert_int_equal(changes(f, 0), 1);
    assert_string_equal(f->v[0].aor, B_AOR);
    loop_run_due(f->a.loop);
    assert_null(local(f, A_AOR, A_URI));
    assert_int_equal(f->changed, 3);
    assert_int_equal(changes(f, 2), 1); /* its removal, numbered */
    assert_int_equal(f->v[0].change, 3);
    assert_null(f->v[0].c);
    assert_string_equal(f->v[0].aor, A_AOR);
    assert_int_equal(loop_next_due(f->a.loop), T0 + 15000u);
    advance(f, 5000);
    assert_null(synced(f, C_AOR, C_URI)); /* a synced one: gone, not numbered */
    assert_int_equal(f->changed, 3);
    assert_int_equal(changes(f, 3), 0);
    advance(f, 5000);
    assert_null(local(f, B_AOR, B_URI));
    assert_int_equal(changes(f, 3), 1);
    assert_int_equal(f->v[0].change, 4);
    assert_int_equal(contacts_local_count(&f->a), 0);
    assert_int_equal(loop_next_due(f->a.loop), UINT64_MAX);

    /* a refresh moves the deadline: the early sweep finds nothing and re-arms */
    contacts_put_local(&f->a, A_AOR, A_URI, 10, NULL);
    uint64_t t = f->now;
    advance(f, 5000);
    contacts_put_local(&f->a, A_AOR, A_URI, 3600, NULL);
    advance(f, 6000);
    assert_non_null(local(f, A_AOR, A_URI));
    assert_int_equal(loop_next_due(f->a.loop), t + 5000u + 3600000u);
    advance(f, 3600000u);
    assert_null(local(f, A_AOR, A_URI));
    /* start/stop: one timer at the earliest of what is there */
    contacts_put_local(&f->a, B_AOR, B_URI, 50, NULL);
    contacts_upsert_synced(&f->a, C_AOR, C_URI, 40, NULL);
    contacts_stop_expiry(&f->a);
    assert_int_equal(loop_next_due(f->a.loop), UINT64_MAX);
    contacts_start_expiry(&f->a);
    assert_int_equal(loop_next_due(f->a.loop), f->now + 40000u);
}

/* ---- configuration, per-AOR walk, lookup ------------------------------------------------ */

static void config_contacts_applied(void **state)
{
    struct fx *f = *state;
    struct config_contact cc[3] = { { A_AOR, A_URI, 60 }, { B_AOR, B_URI, 120 }, { C_AOR, C_URI, 30 } };
    f->a.cfg.contacts = cc;
    f->a.cfg.n_contacts = 2;
    contacts_apply_config(&f->a);
    assert_int_equal(contacts_local_count(&f->a), 2);
    assert_int_equal(local(f, B_AOR, B_URI)->expires_at, T0 + 120000u);
    uint32_t ia = local(f, A_AOR, A_URI)->index;
    /* reloaded later: A kept (same row), B gone (its removal numbered), C new */
    advance(f, 5000);
    cc[1] = cc[2];
    contacts_apply_config(&f->a);
    assert_int_equal(contacts_local_count(&f->a), 2);
    assert_int_equal(local(f, A_AOR, A_URI)->index, ia);
    assert_int_equal(local(f, A_AOR, A_URI)->expires_at, T0 + 5000u + 60000u);
    assert_null(local(f, B_AOR, B_URI));
    assert_non_null(local(f, C_AOR, C_URI));
    size_t n = changes(f, 2);
    size_t rm = 0;
    for (size_t i = 0; i < n; i++)
        if (!f->v[i].c) {
            rm++;
            assert_string_equal(f->v[i].aor, B_AOR);
        }
    assert_int_equal(rm, 1);
    f->a.cfg.contacts = NULL;
    f->a.cfg.n_contacts = 0;
}

static void remove_given(struct agent *a, const struct sipha_contact *c, void *arg)
{
    (*(int *)arg)++;
    contacts_remove_local(a, c->aor, c->uri);
}

static void each_local_of_may_remove(void **state)
{
    struct fx *f = *state;
    contacts_put_local(&f->a, A_AOR, "sip:alice@10.0.0.1", 60, NULL);
    contacts_put_local(&f->a, B_AOR, B_URI, 60, NULL);
    contacts_put_local(&f->a, A_AOR, "sip:alice@10.0.0.2", 60, NULL);
    contacts_put_local(&f->a, A_AOR, "sip:alice@10.0.0.3", 60, NULL);
    contacts_upsert_synced(&f->a, A_AOR, "sip:alice@10.0.0.4", 60, NULL);
    int calls = 0;
    contacts_each_local_of(&f->a, A_AOR, remove_given, &calls);
    assert_int_equal(calls, 3);
    assert_int_equal(contacts_local_count(&f->a), 1);
    assert_non_null(local(f, B_AOR, B_URI));
    assert_non_null(synced(f, A_AOR, "sip:alice@10.0.0.4"));
    assert_int_equal(changes(f, 4), 3);
    for (size_t i = 0; i < 3; i++) {
        assert_null(f->v[i].c);
        assert_string_equal(f->v[i].aor, A_AOR);
    }
}

static void remove_odd(struct agent *a, const struct sipha_contact *c, void *arg)
{
    unsigned k = (unsigned)strtoul(strrchr(c->uri, '.') + 1, NULL, 10);
    (*(int *)arg)++;
    if (k % 2)
        contacts_remove_local(a, c->aor, c->uri);
}

/* An AOR's contacts are found by their own probe run, however many (more than the
 * stack buffer holds) and however the runs of other AORs interleave with them; a
 * removal inside the walk neither skips nor repeats a contact. */
static void each_local_of_many_per_aor(void **state)
{
    struct fx *f = *state;
    char aor[64], uri[96];
    const unsigned naor = 60, per = 40;
    for (unsigned k = 0; k < per; k++)
        for (unsigned j = 0; j < naor; j++) {
            snprintf(aor, sizeof aor, "sip:u%u@example.com", j);
            snprintf(uri, sizeof uri, "sip:u%u@10.0.0.%u", j, k);
            assert_int_equal(contacts_put_local(&f->a, aor, uri, 600, NULL), 0);
            if (k % 5 == 0)
                contacts_upsert_synced(&f->a, aor, uri, 600, NULL);
        }
    for (unsigned j = 0; j < naor; j += 2) {
        int calls = 0;
        snprintf(aor, sizeof aor, "sip:u%u@example.com", j);
        contacts_each_local_of(&f->a, aor, remove_odd, &calls);
        assert_int_equal(calls, (int)per);
    }
    for (unsigned j = 0; j < naor; j++) {
        int calls = 0;
        snprintf(aor, sizeof aor, "sip:u%u@example.com", j);
        contacts_each_local_of(&f->a, aor, remove_given, &calls);
        assert_int_equal(calls, (int)(j % 2 ? per : per / 2));
        for (unsigned k = 0; k < per; k += 5) {
            snprintf(uri, sizeof uri, "sip:u%u@10.0.0.%u", j, k);
            assert_non_null(synced(f, aor, uri));
        }
    }
    assert_int_equal(contacts_local_count(&f->a), 0);
    assert_int_equal(f->a.inst.contacts.count, naor * (per / 5));
}

/* Many contacts, removed in a scattered order: every one left is still found (a put
 * of the same is no change, not a second row); every one removed is not. */
static void lookup_survives_removals(void **state)
{
    struct fx *f = *state;
    char aor[64], uri[64];
    const unsigned n = 2000;
    for (unsigned k = 0; k < n; k++) {
        name(aor, uri, sizeof(aor), k);
        assert_int_equal(contacts_put_local(&f->a, aor, uri, 600, NULL), 0);
        contacts_upsert_synced(&f->a, aor, uri, 600, NULL); /* same key, other origin */
    }
    assert_int_equal(f->a.inst.contacts.count, 2 * n);
    for (unsigned k = 0; k < n; k++)
        if (k % 3 == 0 || k % 7 == 0) {
            name(aor, uri, sizeof(aor), k);
            contacts_remove_local(&f->a, aor, uri);
        }
    int changed = f->changed;
    size_t left = 0;
    for (unsigned k = 0; k < n; k++) {
        name(aor, uri, sizeof(aor), k);
        bool gone = k % 3 == 0 || k % 7 == 0;
        assert_int_equal(local(f, aor, uri) == NULL, gone);
        assert_non_null(synced(f, aor, uri));
        if (!gone) {
            assert_int_equal(contacts_put_local(&f->a, aor, uri, 600, NULL), 0);
            left++;
        }
    }
    assert_int_equal(f->changed, changed); /* all found: no change */
    assert_int_equal(f->a.inst.contacts.count, n + left);
    assert_int_equal(contacts_local_count(&f->a), left);
    for (unsigned k = 0; k < n; k += 3) { /* back again: new rows */
        name(aor, uri, sizeof(aor), k);
        assert_int_equal(contacts_put_local(&f->a, aor, uri, 600, NULL), 0);
    }
    assert_int_equal(contacts_local_count(&f->a), left + (n + 2) / 3);
    for (unsigned k = 0; k < n; k++) {
        name(aor, uri, sizeof(aor), k);
        contacts_remove_synced(&f->a, aor, uri);
        assert_null(synced(f, aor, uri));
    }
    assert_int_equal(f->a.inst.contacts.count, contacts_local_count(&f->a));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(local_put_refresh_change_remove, setup, teardown),
        cmocka_unit_test_setup_teardown(changes_in_order_superseded_skipped, setup, teardown),
        cmocka_unit_test_setup_teardown(attributes_stored_compared_freed, setup, teardown),
        cmocka_unit_test_setup_teardown(expiry_within_a_second_is_no_change, setup, teardown),
        cmocka_unit_test_setup_teardown(synced_upsert_remove_drop, setup, teardown),
        cmocka_unit_test_setup_teardown(forget_local_numbers_no_removal, setup, teardown),
        cmocka_unit_test_setup_teardown(horizon_rises_after_4096_removals, setup, teardown),
        cmocka_unit_test_setup_teardown(ten_thousand_changes, setup, teardown),
        cmocka_unit_test_setup_teardown(expiry_removes_and_numbers, setup, teardown),
        cmocka_unit_test_setup_teardown(config_contacts_applied, setup, teardown),
        cmocka_unit_test_setup_teardown(each_local_of_may_remove, setup, teardown),
        cmocka_unit_test_setup_teardown(lookup_survives_removals, setup, teardown),
        cmocka_unit_test_setup_teardown(each_local_of_many_per_aor, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
