/* etcd_contacts.c — a pair's contacts in etcd (see etcd_contacts.h). One call at a time:
 * a write is its grants, one by one, then its transaction; a sweep page is its range,
 * then the transaction of its deletes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "errbuf.h"
#include "etcd_contacts.h"
#include "loop.h"

#define BUCKET_MAX_S 86400u

enum phase { P_IDLE, P_GRANT, P_BATCH, P_PAGE, P_SWEEP_PAGE };

struct op {
    char *key;         /* with its value in one block */
    size_t klen;
    char *value;       /* NULL: a delete */
    size_t vlen;
    int64_t bucket;    /* a put: its expiry's bucket */
};

struct lease {
    int64_t bucket, id;
    int64_t ends;      /* unix seconds: when sent + the TTL granted */
};

struct etcd_contacts {
    struct loop *lp;
    struct etcd_client *cli;
    char dir[ETCD_CONTACTS_PREFIX_MAX + sizeof ETCD_CONTACT_DIR];
    unsigned char end[ETCD_CONTACTS_PREFIX_MAX + sizeof ETCD_CONTACT_DIR];
    size_t end_len;
    uint32_t bucket_s, page;

    struct op ops[ETCD_WIRE_TXN_OPS_MAX];
    size_t n_ops, bytes; /* the body they make, at most */
    struct lease leases[ETCD_CONTACTS_LEASES_MAX];
    size_t n_leases;

    enum phase phase;
    etcd_contacts_done done;
    etcd_contacts_each each;
    etcd_contacts_keep keep;
    void *arg;
    bool lease_retry;        /* the batch was sent again with new leases */
    int64_t grant_bucket, grant_sent;
    /* a page: where it starts; the next one, once it is done */
    unsigned char cursor[ETCD_WIRE_ITEM_KEY_MAX + 1];
    size_t cursor_len;       /* 0: at the first key */
    unsigned char next[ETCD_WIRE_ITEM_KEY_MAX + 1];
    size_t next_len;
    bool next_more;
    size_t page_contacts, page_bad;
    struct etcd_contact_rec rec;
    char error[512];
    struct etcd_contacts_stats st;
};

static int64_t wall_now(void)
{
    return (int64_t)time(NULL);
}

/* --- the batch --- */

static void clear_ops(struct etcd_contacts *s)
{
    for (size_t i = 0; i < s->n_ops; i++)
        free(s->ops[i].key);
    s->n_ops = 0;
    s->bytes = 0;
}

void etcd_contacts_clear(struct etcd_contacts *s)
{
    if (s->phase == P_IDLE)
        clear_ops(s);
}

size_t etcd_contacts_batched(const struct etcd_contacts *s)
{
    return s->n_ops;
}

static bool in_batch(const struct etcd_contacts *s, const char *key, size_t klen)
{
    for (size_t i = 0; i < s->n_ops; i++)
        if (s->ops[i].klen == klen && !memcmp(s->ops[i].key, key, klen))
            return true;
    return false;
}

/* the batch's body would hold n more bytes */
static bool room_for(const struct etcd_contacts *s, size_t n)
{
    return s->n_ops < ETCD_WIRE_TXN_OPS_MAX &&
           64u + s->bytes + n <= ETCD_WIRE_TXN_BODY_MAX; /* 64: its head and tail */
}

static enum etcd_contacts_add add_op(struct etcd_contacts *s, const char *key, size_t klen,
                                     const char *value, size_t vlen, int64_t bucket)
{
    size_t bytes = etcd_batch_op_bytes(klen, vlen);
    if (!room_for(s, bytes) || in_batch(s, key, klen))
        return ETCD_CONTACTS_FULL;
    char *block = malloc(klen + 1 + (value ? vlen + 1 : 0));
    if (!block)
        return ETCD_CONTACTS_REFUSED;
    struct op *o = &s->ops[s->n_ops++];
    memcpy(block, key, klen);
    block[klen] = '\0';
    *o = (struct op){ .key = block, .klen = klen, .bucket = bucket };
    if (value) {
        o->value = block + klen + 1;
        memcpy(o->value, value, vlen);
        o->value[vlen] = '\0';
        o->vlen = vlen;
    }
    s->bytes += bytes;
    return ETCD_CONTACTS_ADDED;
}

static int64_t bucket_of(const struct etcd_contacts *s, int64_t expires)
{
    return (expires + s->bucket_s - 1) / s->bucket_s; /* it ends at bucket * bucket_s */
}

enum etcd_contacts_add etcd_contacts_put(struct etcd_contacts *s, const struct etcd_contact *c,
                                         int64_t now)
{
    char key[ETCD_WIRE_ITEM_KEY_MAX + 1], value[ETCD_WIRE_ITEM_VALUE_MAX + 1];
    if (s->phase != P_IDLE || !c || c->expires <= now)
        return ETCD_CONTACTS_REFUSED;
    int klen = etcd_contact_key(key, sizeof key, s->dir, c->aor, c->uri);
    int vlen = klen > 0 ? etcd_contact_value(value, sizeof value, c) : -1;
    if (vlen < 0)
        return ETCD_CONTACTS_REFUSED;
    return add_op(s, key, (size_t)klen, value, (size_t)vlen, bucket_of(s, c->expires));
}

enum etcd_contacts_add etcd_contacts_delete(struct etcd_contacts *s, const char *aor,
                                            const char *uri)
{
    char key[ETCD_WIRE_ITEM_KEY_MAX + 1];
    if (s->phase != P_IDLE)
        return ETCD_CONTACTS_REFUSED;
    int klen = etcd_contact_key(key, sizeof key, s->dir, aor, uri);
    if (klen < 0)
        return ETCD_CONTACTS_REFUSED;
    return add_op(s, key, (size_t)klen, NULL, 0, 0);
}

/* --- leases --- */

static struct lease *lease_of(struct etcd_contacts *s, int64_t bucket)
{
    for (size_t i = 0; i < s->n_leases; i++)
        if (s->leases[i].bucket == bucket)
            return &s->leases[i];
    return NULL;
}

/* Forgets the leases that end within a second (etcd drops them and their keys). */
static void prune_leases(struct etcd_contacts *s, int64_t now)
{
    size_t w = 0;
    for (size_t i = 0; i < s->n_leases; i++)
        if (s->leases[i].ends > now + 1)
            s->leases[w++] = s->leases[i];
    s->n_leases = w;
}

static void remember_lease(struct etcd_contacts *s, int64_t bucket, int64_t id, int64_t ends)
{
    struct lease *l = lease_of(s, bucket);
    if (!l && s->n_leases == ETCD_CONTACTS_LEASES_MAX) { /* forget the one ending first */
        size_t first = 0;
        for (size_t i = 1; i < s->n_leases; i++)
            if (s->leases[i].ends < s->leases[first].ends)
                first = i;
        l = &s->leases[first];
    } else if (!l) {
        l = &s->leases[s->n_leases++];
    }
    *l = (struct lease){ .bucket = bucket, .id = id, .ends = ends };
}

/* --- the calls --- */

static void finish(struct etcd_contacts *s, struct etcd_contacts_result *res)
{
    etcd_contacts_done done = s->done;
    void *arg = s->arg;
    if (!res->ok) {
        s->st.failures++;
        if (s->phase != P_PAGE) /* a write's or a sweep's batch: gathered again */
            clear_ops(s);
    }
    s->phase = P_IDLE;
    s->done = NULL;
    done(arg, res); /* the last thing: it may free the store */
}

static void fail(struct etcd_contacts *s, const struct etcd_result *r, const char *what)
{
    bool answered = r && r->outcome == ETCD_ANSWERED;
    snprintf(s->error, sizeof s->error, "%s: %s", what,
             !r ? "cannot queue the call" : answered ? r->reply->message : r->error);
    struct etcd_contacts_result res = { .unreachable = r && r->outcome == ETCD_UNREACHABLE,
                                        .error = s->error };
    finish(s, &res);
}

static int next_grant(struct etcd_contacts *s);

static void on_grant(void *arg, const struct etcd_result *r)
{
    struct etcd_contacts *s = arg;
    if (r->outcome != ETCD_ANSWERED || r->reply->is_error)
        return fail(s, r, "lease grant");
    s->st.grants++;
    remember_lease(s, s->grant_bucket, r->reply->lease, s->grant_sent + r->reply->ttl);
    if (next_grant(s) < 0)
        fail(s, NULL, "batch");
}

static void on_batch(void *arg, const struct etcd_result *r)
{
    struct etcd_contacts *s = arg;
    if (r->outcome == ETCD_ANSWERED && r->reply->is_error &&
        r->reply->code == ETCD_GRPC_NOT_FOUND && !s->lease_retry) {
        s->lease_retry = true; /* a lease we use is gone: new ones, once */
        s->n_leases = 0;
        if (next_grant(s) < 0)
            fail(s, NULL, "batch");
        return;
    }
    if (r->outcome != ETCD_ANSWERED || r->reply->is_error || !r->reply->succeeded)
        return fail(s, r, "batch");
    struct etcd_contacts_result res = { .ok = true, .lease_lost = s->lease_retry &&
                                                                   s->phase != P_SWEEP_PAGE };
    for (size_t i = 0; i < s->n_ops; i++) {
        res.puts += s->ops[i].value != NULL;
        res.deletes += s->ops[i].value == NULL;
    }
    s->st.batches++;
    s->st.puts += res.puts;
    s->st.deletes += res.deletes;
    clear_ops(s);
    if (s->phase == P_SWEEP_PAGE) { /* the page's deletes are done: the page is */
        memcpy(s->cursor, s->next, s->next_len);
        s->cursor_len = s->next_len;
        res.more = s->next_more;
        res.contacts = s->page_contacts;
        res.bad = s->page_bad;
    }
    finish(s, &res);
}

/* 0, or -1 when it cannot be queued */
static int send_batch(struct etcd_contacts *s)
{
    struct etcd_batch b;
    char *body = malloc(ETCD_WIRE_TXN_BODY_MAX);
    bool bad = !body || etcd_batch_begin(&b, body, ETCD_WIRE_TXN_BODY_MAX) < 0;
    for (size_t i = 0; i < s->n_ops && !bad; i++) {
        const struct op *o = &s->ops[i];
        const struct lease *l = o->value ? lease_of(s, o->bucket) : NULL;
        bad = o->value ? !l || etcd_batch_put(&b, o->key, o->klen, o->value, o->vlen, l->id) != 0
                       : etcd_batch_delete(&b, o->key, o->klen) != 0;
    }
    int len = bad ? -1 : etcd_batch_end(&b);
    int rc = len > 0 ? etcd_client_call(s->cli, ETCD_OP_BATCH, body, (size_t)len, on_batch, s)
                     : -1;
    free(body);
    return rc;
}

/* The first put whose bucket has no live lease gets one; with none left, the batch
 * goes. 0, or -1 when the call cannot be queued. */
static int next_grant(struct etcd_contacts *s)
{
    s->phase = P_GRANT;
    int64_t now = wall_now();
    for (size_t i = 0; i < s->n_ops; i++) {
        const struct op *o = &s->ops[i];
        if (!o->value || lease_of(s, o->bucket))
            continue;
        /* it ends `margin` after its bucket; etcd counts from the grant's arrival,
         * later than now */
        int64_t ttl = o->bucket * (int64_t)s->bucket_s - now + ETCD_CONTACTS_MARGIN_S;
        char body[ETCD_WIRE_BODY_MAX];
        int len = etcd_wire_grant(body, sizeof body,
                                  ttl > UINT32_MAX ? UINT32_MAX : ttl < 1 ? 1 : (uint32_t)ttl);
        s->grant_bucket = o->bucket;
        s->grant_sent = now;
        if (len < 0)
            return -1;
        return etcd_client_call(s->cli, ETCD_OP_GRANT, body, (size_t)len, on_grant, s);
    }
    s->phase = P_BATCH;
    return send_batch(s);
}

int etcd_contacts_write(struct etcd_contacts *s, etcd_contacts_done done, void *arg)
{
    if (s->phase != P_IDLE || !s->n_ops || !done)
        return -1;
    s->done = done;
    s->arg = arg;
    s->lease_retry = false;
    prune_leases(s, wall_now());
    if (next_grant(s) < 0) {
        s->phase = P_IDLE;
        s->done = NULL;
        return -1;
    }
    return 0;
}

/* --- pages --- */

/* Where the page after r starts: its last key + "\0" */
static void note_next(struct etcd_contacts *s, const struct etcd_reply *rep)
{
    s->next_more = rep->more && rep->n_items > 0;
    s->next_len = 0;
    if (!s->next_more)
        return;
    const struct etcd_item *last = &rep->items[rep->n_items - 1];
    memcpy(s->next, last->key, last->key_len);
    s->next[last->key_len] = '\0';
    s->next_len = last->key_len + 1;
}

static void on_page(void *arg, const struct etcd_result *r)
{
    struct etcd_contacts *s = arg;
    if (r->outcome != ETCD_ANSWERED || r->reply->is_error)
        return fail(s, r, "page");
    const struct etcd_reply *rep = r->reply;
    bool sweep = s->phase == P_SWEEP_PAGE;
    char err[160];
    s->st.pages++;
    s->page_contacts = s->page_bad = 0;
    note_next(s, rep);
    for (size_t i = 0; i < rep->n_items; i++) {
        const struct etcd_item *it = &rep->items[i];
        bool ok = etcd_contact_decode(s->dir, it->key, it->key_len, sweep ? NULL : it->value,
                                      it->value_len, &s->rec, err, sizeof err) == 0;
        s->page_bad += !ok;
        s->page_contacts += ok;
        if (!sweep) {
            if (ok)
                s->each(s->arg, &s->rec.c);
            continue;
        }
        if (ok && s->keep(s->arg, s->rec.c.aor, s->rec.c.uri))
            continue;
        if (add_op(s, (const char *)it->key, it->key_len, NULL, 0, 0) != ETCD_CONTACTS_ADDED)
            return fail(s, NULL, "sweep"); /* cannot happen: a page fits one batch */
    }
    s->st.bad += s->page_bad;
    if (sweep && s->n_ops) {
        s->lease_retry = true; /* deletes only: no lease */
        if (send_batch(s) < 0)
            fail(s, NULL, "sweep");
        return;
    }
    memcpy(s->cursor, s->next, s->next_len);
    s->cursor_len = s->next_len;
    struct etcd_contacts_result res = { .ok = true, .more = s->next_more,
                                        .contacts = s->page_contacts, .bad = s->page_bad };
    finish(s, &res);
}

static int page(struct etcd_contacts *s, enum phase ph, void *arg)
{
    if (s->phase != P_IDLE || (ph == P_SWEEP_PAGE && s->n_ops))
        return -1;
    char body[ETCD_WIRE_RANGE_BODY_MAX];
    const void *from = s->cursor_len ? (const void *)s->cursor : (const void *)s->dir;
    size_t flen = s->cursor_len ? s->cursor_len : strlen(s->dir);
    int len = etcd_wire_range(body, sizeof body, from, flen, s->end, s->end_len, s->page,
                              ph == P_SWEEP_PAGE);
    if (len < 0 || etcd_client_call(s->cli, ETCD_OP_RANGE, body, (size_t)len, on_page, s) < 0)
        return -1;
    s->phase = ph;
    s->arg = arg;
    return 0;
}

int etcd_contacts_read_next(struct etcd_contacts *s, etcd_contacts_each each,
                            etcd_contacts_done done, void *arg)
{
    if (!each || !done || page(s, P_PAGE, arg) < 0)
        return -1;
    s->each = each;
    s->done = done;
    return 0;
}

int etcd_contacts_sweep_next(struct etcd_contacts *s, etcd_contacts_keep keep,
                             etcd_contacts_done done, void *arg)
{
    if (!keep || !done || page(s, P_SWEEP_PAGE, arg) < 0)
        return -1;
    s->keep = keep;
    s->done = done;
    return 0;
}

void etcd_contacts_rewind(struct etcd_contacts *s)
{
    s->cursor_len = 0;
}

/* --- set-up --- */

struct etcd_contacts *etcd_contacts_new(struct loop *lp, const struct etcd_client_config *cc,
                                        const struct etcd_contacts_config *cfg, char *err,
                                        size_t errlen)
{
    if (!lp || !cfg || !cfg->prefix) {
        errbuf_set(err, errlen, "etcd contacts: no loop, configuration or prefix");
        return NULL;
    }
    if (strlen(cfg->prefix) > ETCD_CONTACTS_PREFIX_MAX || cfg->bucket_s > BUCKET_MAX_S ||
        cfg->page > ETCD_WIRE_RANGE_LIMIT_MAX) {
        errbuf_set(err, errlen, "etcd contacts: a prefix longer than %u bytes, a bucket "
                   "longer than %u s or a page of more than %u keys",
                   ETCD_CONTACTS_PREFIX_MAX, BUCKET_MAX_S, ETCD_WIRE_RANGE_LIMIT_MAX);
        return NULL;
    }
    struct etcd_contacts *s = calloc(1, sizeof *s);
    if (!s) {
        errbuf_set(err, errlen, "etcd contacts: out of memory");
        return NULL;
    }
    s->lp = lp;
    snprintf(s->dir, sizeof s->dir, "%s%s", cfg->prefix, ETCD_CONTACT_DIR);
    s->end_len = etcd_wire_prefix_end(s->dir, strlen(s->dir), s->end);
    s->bucket_s = cfg->bucket_s ? cfg->bucket_s : ETCD_CONTACTS_BUCKET_DEFAULT_S;
    s->page = cfg->page ? cfg->page : ETCD_WIRE_RANGE_LIMIT_MAX;
    if (!(s->cli = etcd_client_new(lp, cc, err, errlen))) {
        free(s);
        return NULL;
    }
    return s;
}

bool etcd_contacts_busy(const struct etcd_contacts *s)
{
    return s->phase != P_IDLE;
}

const char *etcd_contacts_dir(const struct etcd_contacts *s)
{
    return s->dir;
}

const char *etcd_contacts_member_url(const struct etcd_contacts *s)
{
    return etcd_client_member_url(s->cli);
}

void etcd_contacts_get_stats(const struct etcd_contacts *s, struct etcd_contacts_stats *st)
{
    *st = s->st;
    st->leases = s->n_leases;
    etcd_client_get_stats(s->cli, &st->client);
}

void etcd_contacts_free(struct etcd_contacts *s)
{
    if (!s)
        return;
    etcd_client_free(s->cli); /* no callback after this */
    clear_ops(s);
    free(s);
}
