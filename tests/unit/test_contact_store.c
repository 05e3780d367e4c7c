/* test_contact_store.c — the pair's contacts in etcd (agent/contact_store.c over
 * etcd/etcd_contacts.c) against a real etcd member (etcd_member.h): bare agents with
 * the real contact table (agent/contacts.c) on the real clock, no engine (the role is
 * given by hand). Each case uses a pair prefix of its own.
 *
 *   - a primary writes 2,000 local contacts in batches (a few transactions and one
 *     lease per minute of expiries, not one per contact), follows changes and removals,
 *     and a reader gets exactly the live set back as synced rows, attributes and expiry
 *     included;
 *   - a primary whose change log's horizon passed what it wrote writes everything again
 *     and deletes the keys it no longer holds;
 *   - the reader skips expired values, undecodable keys and values, and contacts it
 *     holds; a promotion reads again (learning what the table lost), then sweeps every
 *     key the table lacks and keeps those of the synced rows (the old primary's);
 *   - a lease revoked behind the writer's back: the batch goes again on a new lease, and
 *     the keys that went with the old one are written again;
 *   - a switchover and back: the new primary reads first (the old one's contacts it
 *     lacked become synced rows), writes its own and keeps the rest; the demoted one
 *     reads the new primary's contacts as synced rows;
 *   - etcd frozen: writes fail (one outage), and once it is back the writer goes on from
 *     the same change number; no member at all: failures, still one outage. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>

#include "contact_store.h"
#include "contacts.h"
#include "etcd_contacts.h"
#include "etcd_member.h"
#include "etcd_wire.h"
#include "loop.h"

static struct loop *lp;
static struct agent A, B;

/* ---------- agents with nothing but contacts and the store ---------- */

/* pair N: key /sipha/pair-N/primary, contacts under /sipha/pair-N/contacts/ */
static void start(struct agent *a, unsigned pair, const char *url)
{
    memset(a, 0, sizeof *a);
    a->loop = lp;
    instance_init(&a->inst);
    a->inst.index = 1;
    a->contacts_changed = contact_store_changed;
    struct sipha_config *c = &a->cfg;
    c->index = 1;
    c->has_arbiter = true;
    c->arbiter_kind = ARBITER_ETCD;
    c->arbiter_timeout_ms = 300;
    c->etcd_contacts = 1;
    c->n_etcd_endpoints = 1;
    snprintf(c->etcd_endpoints[0], sizeof c->etcd_endpoints[0], "%s", url);
    snprintf(c->etcd_key, sizeof c->etcd_key, "/sipha/pair-%u/primary", pair);
    char err[256];
    if (contact_store_start(a, err, sizeof err) != 0)
        fail_msg("contact_store_start: %s", err);
    assert_non_null(a->cstore);
}

static void stop(struct agent *a)
{
    contact_store_stop(a);
    contacts_stop_expiry(a);
    contacts_free(a);
    instance_free(&a->inst);
}

static void run_for(uint64_t ms)
{
    uint64_t end = loop_now_ms() + ms;
    while (loop_now_ms() < end)
        assert_int_equal(loop_run_once(lp, 10), 0);
}

/* runs the loop until a's store has nothing left to do, 30 s at most */
static void settle(struct agent *a)
{
    uint64_t end = loop_now_ms() + 30000;
    run_for(60); /* past a gather delay armed just now */
    while (!contact_store_settled(a)) {
        if (loop_now_ms() >= end)
            fail_msg("the store did not settle within 30 s");
        assert_int_equal(loop_run_once(lp, 10), 0);
    }
}

static const struct sipha_contact_store *st(const struct agent *a)
{
    return &a->inst.contact_store;
}

/* ---------- etcd as the test sees it ---------- */

#define SEEN_MAX 4096
static struct {
    size_t n;
    char key[SEEN_MAX][2 * SIPHA_URI_MAX + 2];
} seen;

static void collect(void *arg, const struct etcd_contact *c)
{
    (void)arg;
    assert_true(seen.n < SEEN_MAX);
    snprintf(seen.key[seen.n++], sizeof seen.key[0], "%s %s", c->aor, c->uri);
}

static int page_state;
static void on_page_done(void *arg, const struct etcd_contacts_result *r)
{
    (void)arg;
    page_state = !r->ok ? -1 : r->more ? 2 : 1;
}

static struct etcd_contacts *test_store(unsigned pair)
{
    struct etcd_client_config cc = { .endpoints = { etcd.url }, .n_endpoints = 1,
                                     .timeout_ms = 2000 };
    char prefix[64], err[256];
    snprintf(prefix, sizeof prefix, "/sipha/pair-%u/", pair);
    struct etcd_contacts_config sc = { .prefix = prefix, .page = 50 };
    struct etcd_contacts *s = etcd_contacts_new(lp, &cc, &sc, err, sizeof err);
    if (!s)
        fail_msg("etcd_contacts_new: %s", err);
    return s;
}

/* the decodable contact keys of pair N, in seen (and their number) */
static size_t etcd_keys(unsigned pair)
{
    struct etcd_contacts *s = test_store(pair);
    seen.n = 0;
    do {
        page_state = 0;
        assert_int_equal(etcd_contacts_read_next(s, collect, on_page_done, NULL), 0);
        while (!page_state)
            assert_int_equal(loop_run_once(lp, 10), 0);
        assert_true(page_state > 0);
    } while (page_state == 2);
    etcd_contacts_free(s);
    return seen.n;
}

static bool seen_has(const char *aor, const char *uri)
{
    char k[2 * SIPHA_URI_MAX + 2];
    snprintf(k, sizeof k, "%s %s", aor, uri);
    for (size_t i = 0; i < seen.n; i++)
        if (!strcmp(seen.key[i], k))
            return true;
    return false;
}

/* etcd's keys of pair N are exactly a's local contacts (and `synced` synced ones) */
static void etcd_is_table(struct agent *a, unsigned pair, size_t synced)
{
    size_t n = etcd_keys(pair), locals = 0;
    for (size_t i = 0; i < a->inst.contacts.count; i++) {
        const struct sipha_contact *c = rows_at(&a->inst.contacts, i);
        locals += c->origin == CONTACT_LOCAL;
        if (!seen_has(c->aor, c->uri))
            fail_msg("%s %s of the table is not in etcd", c->aor, c->uri);
    }
    assert_int_equal(n, locals + synced);
    assert_int_equal(a->inst.contacts.count, locals + synced);
}

/* a call of the test's own, as an operator's tool would make it; the reply's scalars */
static struct etcd_reply got;
static int got_state;

static void on_direct(void *arg, const struct etcd_result *r)
{
    (void)arg;
    got_state = r->outcome == ETCD_ANSWERED && !r->reply->is_error ? 1 : -1;
    if (got_state == 1) {
        got = *r->reply;
        got.items = NULL; /* the client frees them */
        got.n_items = 0;
    }
}

static void direct(enum etcd_op op, const char *body, int len)
{
    struct etcd_client_config cc = { .endpoints = { etcd.url }, .n_endpoints = 1 };
    char err[256];
    struct etcd_client *c = etcd_client_new(lp, &cc, err, sizeof err);
    assert_non_null(c);
    assert_true(len > 0);
    got_state = 0;
    assert_int_equal(etcd_client_call(c, op, body, (size_t)len, on_direct, NULL), 0);
    while (!got_state)
        assert_int_equal(loop_run_once(lp, 10), 0);
    assert_int_equal(got_state, 1);
    etcd_client_free(c);
}

/* ---------- contacts ---------- */

static void aor_of(char *buf, size_t len, const char *kind, unsigned i)
{
    snprintf(buf, len, "sip:%s%04u@example.com", kind, i);
}

static void uri_of(char *buf, size_t len, const char *kind, unsigned i)
{
    snprintf(buf, len, "sip:%s%04u@10.0.%u.%u:5060", kind, i, i / 250, i % 250 + 1);
}

/* contact i of `kind`: expiries spread over an hour; every 7th with attributes */
static void put(struct agent *a, const char *kind, unsigned i, uint32_t expiry_s)
{
    char aor[64], uri[64];
    aor_of(aor, sizeof aor, kind, i);
    uri_of(uri, sizeof uri, kind, i);
    struct contact_attrs at = { .q = -1 };
    if (i % 7 == 0)
        at = (struct contact_attrs){ .q = (int32_t)(i % 1001), .flags = i, .cflags = 64,
                                     .methods = 8191, .path = "<sip:10.0.0.9;lr>,<sip:p2;lr>",
                                     .received = "sip:198.51.100.7:5060;transport=tcp",
                                     .socket = "udp:10.0.0.1:5060" };
    assert_int_equal(contacts_put_local(a, aor, uri, expiry_s, &at), 0);
}

static void drop(struct agent *a, const char *kind, unsigned i)
{
    char aor[64], uri[64];
    aor_of(aor, sizeof aor, kind, i);
    uri_of(uri, sizeof uri, kind, i);
    contacts_remove_local(a, aor, uri);
}

static bool same_str(const char *x, const char *y)
{
    return (!x || !*x) ? (!y || !*y) : (y && !strcmp(x, y));
}

/* ---------- cases ---------- */

#define N_BIG 2000u

static void test_write_follow_read(void **state)
{
    (void)state;
    start(&A, 1, etcd.url);
    contact_store_role_changed(&A, HA_ROLE_PRIMARY);
    for (unsigned i = 0; i < N_BIG; i++)
        put(&A, "u", i, 600 + i * 3000 / N_BIG); /* 600 .. 3600 s */
    settle(&A);
    etcd_is_table(&A, 1, 0);
    /* batched: a handful of transactions, a lease per minute of expiries */
    assert_true(st(&A)->puts >= N_BIG);
    assert_true(st(&A)->batches <= N_BIG / ETCD_WIRE_TXN_OPS_MAX + 4);
    assert_true(st(&A)->grants >= 3000 / 60 && st(&A)->grants <= 3000 / 60 + 3);
    assert_int_equal(st(&A)->resyncs, 1); /* the promotion */
    assert_int_equal(st(&A)->failures, 0);
    uint64_t batches = st(&A)->batches;

    /* changes: 100 with new attributes and expiry, 300 removed, 50 new */
    for (unsigned i = 0; i < 100; i++)
        put(&A, "u", i * 7, 3000);
    for (unsigned i = 0; i < 300; i++)
        drop(&A, "u", 1000 + i);
    for (unsigned i = 0; i < 50; i++)
        put(&A, "n", i, 1200);
    settle(&A);
    etcd_is_table(&A, 1, 0);
    assert_int_equal(st(&A)->deletes, 300);
    assert_true(st(&A)->batches - batches <= 6);
    assert_int_equal(st(&A)->written_change, A.clog.last_change);

    /* a reader (no role yet, as at its start) gets the live set back as synced rows */
    start(&B, 1, etcd.url);
    settle(&B);
    assert_int_equal(st(&B)->read, N_BIG - 300 + 50);
    assert_int_equal(B.inst.contacts.count, N_BIG - 300 + 50);
    for (size_t i = 0; i < A.inst.contacts.count; i++) {
        const struct sipha_contact *c = rows_at(&A.inst.contacts, i);
        const struct sipha_contact *s = contacts_find(&B, c->aor, c->uri, CONTACT_SYNCED);
        if (!s)
            fail_msg("%s %s not read back", c->aor, c->uri);
        /* unix seconds on the wire: within a second or two of the writer's deadline */
        assert_true(s->expires_at + 2000 >= c->expires_at && s->expires_at <= c->expires_at + 2000);
        assert_int_equal(s->q, c->q);
        assert_int_equal(s->flags, c->flags);
        assert_int_equal(s->cflags, c->cflags);
        assert_int_equal(s->methods, c->methods);
        assert_true(same_str(s->path, c->path));
        assert_true(same_str(s->received, c->received));
        assert_true(same_str(s->socket, c->socket));
    }
    assert_int_equal(contacts_local_count(&B), 0);
    /* the reader writes nothing */
    assert_int_equal(st(&B)->puts + st(&B)->deletes, 0);
    stop(&B);
    stop(&A);
}

static void test_horizon_resync(void **state)
{
    (void)state;
    start(&A, 2, etcd.url);
    contact_store_role_changed(&A, HA_ROLE_PRIMARY);
    for (unsigned i = 0; i < 500; i++)
        put(&A, "h", i, 3600);
    settle(&A);
    etcd_is_table(&A, 2, 0);
    /* without a loop turn in between: 250 removed, 4,500 come and go (more removals
     * than the log keeps), 20 new */
    for (unsigned i = 0; i < 250; i++)
        drop(&A, "h", i);
    for (unsigned i = 0; i < 4500; i++) {
        put(&A, "tmp", i, 3600);
        drop(&A, "tmp", i);
    }
    for (unsigned i = 0; i < 20; i++)
        put(&A, "late", i, 3600);
    assert_true(contacts_horizon(&A) > st(&A)->written_change);
    settle(&A);
    assert_int_equal(st(&A)->resyncs, 2);
    etcd_is_table(&A, 2, 0);
    assert_int_equal(etcd_keys(2), 270);
    stop(&A);
}

static void test_read_skips_then_sweep(void **state)
{
    (void)state;
    const unsigned pair = 3;
    int64_t now = (int64_t)time(NULL);
    /* what an earlier primary left: 5 live contacts, 3 whose expiry passed (their lease
     * lives on), a key that is not '<aor> <uri>', a value that is not JSON */
    struct etcd_contacts *s = test_store(pair);
    char aor[64], uri[64];
    for (unsigned i = 0; i < 5; i++) {
        aor_of(aor, sizeof aor, "old", i);
        uri_of(uri, sizeof uri, "old", i);
        struct etcd_contact c = { .aor = aor, .uri = uri, .expires = now + 900, .q = 100 };
        assert_int_equal(etcd_contacts_put(s, &c, now), ETCD_CONTACTS_ADDED);
    }
    page_state = 0;
    assert_int_equal(etcd_contacts_write(s, on_page_done, NULL), 0);
    while (!page_state)
        assert_int_equal(loop_run_once(lp, 10), 0);
    assert_int_equal(page_state, 1);
    etcd_contacts_free(s);
    char body[8192], key[256], value[256];
    struct etcd_batch b;
    assert_int_equal(etcd_batch_begin(&b, body, sizeof body), 0);
    for (unsigned i = 0; i < 3; i++) {
        int kn = snprintf(key, sizeof key, "/sipha/pair-%u/contacts/sip:gone%u@example.com "
                          "sip:gone%u@10.0.0.1", pair, i, i);
        int vn = snprintf(value, sizeof value, "{\"expires\":%lld}", (long long)(now - 100));
        assert_int_equal(etcd_batch_put(&b, key, (size_t)kn, value, (size_t)vn, 0), 0);
    }
    int kn = snprintf(key, sizeof key, "/sipha/pair-%u/contacts/no-blank-here", pair);
    assert_int_equal(etcd_batch_put(&b, key, (size_t)kn, "{\"expires\":9999999999}", 22, 0), 0);
    kn = snprintf(key, sizeof key, "/sipha/pair-%u/contacts/sip:junk@example.com sip:j", pair);
    assert_int_equal(etcd_batch_put(&b, key, (size_t)kn, "junk", 4, 0), 0);
    direct(ETCD_OP_BATCH, body, etcd_batch_end(&b));
    assert_true(got.succeeded);

    /* the reader holds old0 itself */
    memset(&A, 0, sizeof A); /* (start zeroes it again; the contact goes in after) */
    start(&A, pair, etcd.url);
    put(&A, "old", 0, 600);
    settle(&A);
    assert_int_equal(st(&A)->read, 4);
    assert_int_equal(st(&A)->read_known, 1);
    assert_int_equal(st(&A)->read_expired, 3);
    assert_int_equal(st(&A)->read_bad, 2);
    aor_of(aor, sizeof aor, "old", 3);
    uri_of(uri, sizeof uri, "old", 3);
    const struct sipha_contact *c = contacts_find(&A, aor, uri, CONTACT_SYNCED);
    assert_non_null(c);
    assert_int_equal(c->q, 100);
    /* old4 leaves the table (an HA-link copy drops it); the promotion reads first and
     * learns it again from etcd (a takeover never shrinks the pair's contacts), writes
     * ours and sweeps the rest */
    aor_of(aor, sizeof aor, "old", 4);
    uri_of(uri, sizeof uri, "old", 4);
    contacts_remove_synced(&A, aor, uri);
    put(&A, "mine", 0, 600);
    contact_store_role_changed(&A, HA_ROLE_PRIMARY);
    settle(&A);
    assert_int_equal(st(&A)->read, 5);
    assert_non_null(contacts_find(&A, aor, uri, CONTACT_SYNCED));
    assert_int_equal(st(&A)->deletes, 5); /* 3 expired, 2 unreadable */
    etcd_is_table(&A, pair, 4);           /* old1..old4 stay: synced rows */
    /* nothing undecodable is left either: a raw count of the prefix */
    char rb[ETCD_WIRE_RANGE_BODY_MAX], dir[64];
    unsigned char end[64];
    int dn = snprintf(dir, sizeof dir, "/sipha/pair-%u/contacts/", pair);
    size_t en = etcd_wire_prefix_end(dir, (size_t)dn, end);
    direct(ETCD_OP_RANGE, rb, etcd_wire_range(rb, sizeof rb, dir, (size_t)dn, end, en, 100, true));
    assert_int_equal(got.count, 6);
    stop(&A);
}

static void test_lease_revoked(void **state)
{
    (void)state;
    const unsigned pair = 4;
    start(&A, pair, etcd.url);
    contact_store_role_changed(&A, HA_ROLE_PRIMARY);
    for (unsigned i = 0; i < 300; i++)
        put(&A, "r", i, 3600);
    settle(&A);
    etcd_is_table(&A, pair, 0);
    /* an operator revokes the lease of r0000: its key goes, with every one on it */
    char body[ETCD_WIRE_BODY_MAX], aor[64], uri[64], key[160];
    aor_of(aor, sizeof aor, "r", 0);
    uri_of(uri, sizeof uri, "r", 0);
    snprintf(key, sizeof key, "/sipha/pair-%u/contacts/%s %s", pair, aor, uri);
    direct(ETCD_OP_READ, body, etcd_wire_read(body, sizeof body, key));
    assert_true(got.kv.present);
    assert_true(got.kv.lease > 0);
    direct(ETCD_OP_REVOKE, body, etcd_wire_revoke(body, sizeof body, got.kv.lease));
    assert_true(etcd_keys(pair) < 300);
    /* a change of r0000 (same expiry, new attributes): its batch meets the lost lease */
    struct contact_attrs at = { .q = 700 };
    assert_int_equal(contacts_put_local(&A, aor, uri, 3600, &at), 0);
    settle(&A);
    assert_int_equal(st(&A)->resyncs, 2);
    assert_int_equal(st(&A)->failures, 0);
    etcd_is_table(&A, pair, 0);
    stop(&A);
}

static void test_demoted_reads_again(void **state)
{
    (void)state;
    const unsigned pair = 7;
    start(&A, pair, etcd.url);
    start(&B, pair, etcd.url);
    settle(&A); /* both read the empty prefix at start */
    settle(&B);
    contact_store_role_changed(&A, HA_ROLE_PRIMARY);
    contact_store_role_changed(&B, HA_ROLE_BACKUP);
    for (unsigned i = 0; i < 10; i++)
        put(&A, "a", i, 3600);
    settle(&A);
    settle(&B);
    /* a switchover: B leads with contacts of its own. No HA link here, and its first
     * read came before A wrote: its promotion reads again and learns A's 10 (synced),
     * writes its 5 and keeps A's; A steps down and reads the new primary's */
    assert_int_equal(st(&B)->read, 0);
    for (unsigned i = 0; i < 5; i++)
        put(&B, "b", i, 3600);
    contact_store_role_changed(&B, HA_ROLE_PRIMARY);
    settle(&B);
    assert_int_equal(st(&B)->read, 10);
    assert_int_equal(st(&B)->puts, 5);
    assert_int_equal(st(&B)->deletes, 0);
    etcd_is_table(&B, pair, 10);
    contact_store_role_changed(&A, HA_ROLE_BACKUP);
    settle(&A);
    assert_int_equal(st(&A)->read, 5);
    assert_int_equal(st(&A)->read_known, 10); /* its own, still local */
    char aor[64], uri[64];
    aor_of(aor, sizeof aor, "b", 4);
    uri_of(uri, sizeof uri, "b", 4);
    assert_non_null(contacts_find(&A, aor, uri, CONTACT_SYNCED));
    assert_int_equal(contacts_local_count(&A), 10); /* its own stay local */
    assert_int_equal(st(&A)->puts, 10);             /* written as primary only */
    /* and back: A leads again, writes its 10, keeps B's 5 (synced rows) */
    contact_store_role_changed(&B, HA_ROLE_BACKUP);
    contact_store_role_changed(&A, HA_ROLE_PRIMARY);
    settle(&A);
    settle(&B);
    assert_int_equal(st(&A)->resyncs, 2);
    etcd_is_table(&A, pair, 5);
    stop(&B);
    stop(&A);
}

static void test_frozen_then_back(void **state)
{
    (void)state;
    const unsigned pair = 5;
    start(&A, pair, etcd.url);
    contact_store_role_changed(&A, HA_ROLE_PRIMARY);
    for (unsigned i = 0; i < 50; i++)
        put(&A, "f", i, 3600);
    settle(&A);
    uint32_t written = st(&A)->written_change;
    kill(etcd.pid, SIGSTOP);
    for (unsigned i = 50; i < 70; i++)
        put(&A, "f", i, 3600);
    drop(&A, "f", 0);
    run_for(CONTACT_STORE_TIMEOUT_MS + 1500);
    kill(etcd.pid, SIGCONT);
    assert_true(st(&A)->failures >= 1);
    assert_int_equal(st(&A)->outages, 1);
    assert_int_equal(st(&A)->written_change, written); /* nothing past it */
    settle(&A);
    assert_int_equal(st(&A)->outages, 1);
    assert_int_equal(st(&A)->written_change, A.clog.last_change);
    etcd_is_table(&A, pair, 0);
    assert_int_equal(etcd_keys(pair), 69);
    stop(&A);
}

static void test_no_member(void **state)
{
    (void)state;
    start(&A, 6, etcd.dead_url);
    contact_store_role_changed(&A, HA_ROLE_PRIMARY);
    put(&A, "d", 0, 3600);
    run_for(2500);
    assert_true(st(&A)->failures >= 2);
    assert_int_equal(st(&A)->outages, 1);
    assert_int_equal(st(&A)->batches, 0);
    assert_false(contact_store_settled(&A));
    stop(&A);
    assert_int_equal(etcd_keys(6), 0);
}

static int group_setup(void **state)
{
    if (etcd_setup(state) != 0)
        return -1;
    lp = loop_new();
    return lp ? 0 : -1;
}

static int group_teardown(void **state)
{
    loop_free(lp);
    return etcd_teardown(state);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_write_follow_read),
        cmocka_unit_test(test_horizon_resync),
        cmocka_unit_test(test_read_skips_then_sweep),
        cmocka_unit_test(test_lease_revoked),
        cmocka_unit_test(test_demoted_reads_again),
        cmocka_unit_test(test_frozen_then_back),
        cmocka_unit_test(test_no_member),
    };
    curl_global_init(CURL_GLOBAL_DEFAULT);
    int failed = cmocka_run_group_tests_name("contact_store", tests, group_setup,
                                             group_teardown);
    curl_global_cleanup();
    return failed;
}
