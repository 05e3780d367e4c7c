/* test_ha_rig.h — a virtual world for HA engine tests: one or two engines, a
 * virtual clock, an HA link that carries heartbeats (PEER_STATE, with hears_peer
 * filled in as the real link does) and PEER_SEND messages between them, either
 * direction of which can be cut (`mute`), or a scripted fake peer for a lone
 * engine, and optional VIP scripts that succeed at once. With `one_primary` set,
 * two live primaries at any instant fail the test. Every step is checked against the engine's
 * invariants (one HA_NOTIF_ROLE_CHANGE per ROLE output, valid roles, outputs within
 * HA_MAX_OUTPUTS, a next deadline in the future). Included by test_ha_*.c only. */
#ifndef TEST_HA_RIG_H
#define TEST_HA_RIG_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ha_engine.h"

#define RIG_LOG 65536
#define RIG_QUEUE 256
#define RIG_MAX_DNS 4
#define RIG_MAX_NICS 2

struct rig_event {
    uint64_t t;
    int who;
    struct ha_output o;
};

struct rig_node {
    struct ha_engine e;
    struct ha_config cfg;
    struct ha_dn_cfg dns[RIG_MAX_DNS];
    enum ha_nic_purpose nics[RIG_MAX_NICS];
    bool alive;               /* a dead node takes no input and sends nothing */
    bool arbiter_ok;          /* what the world says (the engine is told on change) */
};

struct rig_item {
    int to;
    struct ha_input in;
};

struct rig {
    struct rig_node n[2];
    int nodes;                /* 1 or 2 */
    bool link;                /* node 0 <-> node 1 (or fake peer -> node 0) up */
    bool mute[2];             /* what node i sends is lost (a one-way link) */
    bool one_primary;         /* assert: never two live primaries at once */
    bool fake_peer;           /* node 0 hears `peer` every hb_ms */
    struct ha_peer_state peer;
    bool auto_vip;            /* RUN_SCRIPT succeeds: SCRIPT_DONE 0 and VIP_STATE follow */
    uint64_t hb_ms, next_hb, now;
    struct rig_event log[RIG_LOG];
    size_t nlog;
    struct rig_item q[RIG_QUEUE];
    size_t qhead, qtail;
    size_t max_step_outputs;
    enum ha_role last_role[2]; /* replayed from ROLE outputs */
    /* a world beside the link (e.g. a lock service), all optional: every output is
     * shown to on_output; at_time runs at each instant the clock reaches, and
     * next_time says when it next wants to (UINT64_MAX: never) */
    void (*on_output)(struct rig *r, int who, const struct ha_output *o);
    void (*at_time)(struct rig *r);
    uint64_t (*next_time)(struct rig *r);
    void *world;
};

/* Default config: index i+1, priority 100, T = 15 s from one probed DN, one
 * management and one SIP NIC, no VIP, every option off. */
static inline void rig_default_cfg(struct rig_node *nd, int i)
{
    memset(&nd->cfg, 0, sizeof(nd->cfg));
    nd->dns[0] = (struct ha_dn_cfg){ .oos_check = 10, .oos_force = 3 };
    nd->nics[0] = HA_NIC_MANAGEMENT;
    nd->nics[1] = HA_NIC_SIP;
    nd->cfg.index = (uint32_t)i + 1;
    nd->cfg.priority = 100;
    nd->cfg.initial_role = i == 0 ? HA_ROLE_PRIMARY : HA_ROLE_BACKUP;
    nd->cfg.dns = nd->dns;
    nd->cfg.n_dns = 1;
    nd->cfg.nics = nd->nics;
    nd->cfg.n_nics = 2;
}

static inline struct rig *rig_new(int nodes, bool with_peer)
{
    struct rig *r = calloc(1, sizeof(*r));
    assert_non_null(r);
    r->nodes = nodes;
    r->hb_ms = 250;
    r->link = true;
    r->now = 1000;
    for (int i = 0; i < 2; i++) {
        rig_default_cfg(&r->n[i], i);
        r->n[i].cfg.has_peer = with_peer || nodes == 2;
        r->n[i].alive = i < nodes;
        r->n[i].arbiter_ok = true;
    }
    r->fake_peer = nodes == 1 && with_peer;
    r->peer = (struct ha_peer_state){ .role = HA_ROLE_BACKUP, .status = HA_STATUS_RUNNING,
                                      .epoch = 0, .priority = 100, .index = 2,
                                      .listener = HA_LISTENER_BOUND,
                                      .arbiter = HA_LINK_NOT_CONFIGURED,
                                      .backoff_factor = 1, .hears_peer = true };
    return r;
}

static inline void rig_free(struct rig *r)
{
    free(r);
}

static inline struct ha_engine *E(struct rig *r, int i)
{
    return &r->n[i].e;
}

static inline const struct ha_state *S(struct rig *r, int i)
{
    return ha_state(&r->n[i].e);
}

static inline void rig_push(struct rig *r, int to, const struct ha_input *in)
{
    assert_true(r->qtail - r->qhead < RIG_QUEUE);
    r->q[r->qtail % RIG_QUEUE] = (struct rig_item){ .to = to, .in = *in };
    r->qtail++;
}

static inline void rig_check_step(struct rig *r, int who, const struct ha_output *o, size_t n)
{
    const struct ha_state *s = S(r, who);
    size_t roles = 0, role_notifs = 0;
    for (size_t k = 0; k < n; k++) {
        if (o[k].kind == HA_OUT_ROLE) {
            roles++;
            assert_true(o[k].u.role.role == HA_ROLE_PRIMARY || o[k].u.role.role == HA_ROLE_BACKUP);
        }
        if (o[k].kind == HA_OUT_NOTIFY && o[k].u.notify.id == HA_NOTIF_ROLE_CHANGE)
            role_notifs++;
    }
    assert_int_equal(roles, role_notifs);
    assert_true(s->role >= HA_ROLE_UNKNOWN && s->role <= HA_ROLE_BACKUP);
    assert_true(s->status >= HA_STATUS_UNKNOWN && s->status <= HA_STATUS_SERVICE_UNAVAILABLE);
    assert_true(s->backoff_factor == 1 || s->backoff_factor == 2 || s->backoff_factor == 4);
    assert_int_equal(s->oos_eff_s, s->oos_base_s * s->backoff_factor);
    assert_int_equal(s->outputs_dropped, 0);
    /* I1: with a peer to lead instead, a node whose SIP NIC is down never leads; a
     * stopping node never leads */
    if (r->n[who].cfg.has_peer && (s->causes & HA_CAUSE_SIP_NIC_DOWN))
        assert_int_not_equal(s->role, HA_ROLE_PRIMARY);
    if (s->status == HA_STATUS_STOPPED)
        assert_int_not_equal(s->role, HA_ROLE_PRIMARY);
    assert_true(n <= HA_MAX_OUTPUTS);
    assert_true(ha_next_deadline(E(r, who)) > r->now);
    if (n > r->max_step_outputs)
        r->max_step_outputs = n;
}

/* Where the outputs of a step go: the log, and the link for PEER_SEND. */
static inline void rig_route(struct rig *r, int who, const struct ha_output *o)
{
    assert_true(r->nlog < RIG_LOG);
    r->log[r->nlog++] = (struct rig_event){ .t = r->now, .who = who, .o = *o };
    if (o->kind == HA_OUT_ROLE) {
        assert_int_not_equal(o->u.role.role, r->last_role[who]); /* a real change */
        r->last_role[who] = o->u.role.role;
    }
    /* the side giving the role up has dropped it (VIP down) before TAKEOVER leaves:
     * its down scripts have ended, or the release wait ran out */
    if (o->kind == HA_OUT_PEER_SEND && o->u.peer.cmd == HA_CMD_PEER_TAKEOVER) {
        assert_int_equal(r->last_role[who], HA_ROLE_BACKUP);
        for (size_t v = 0; v < S(r, who)->n_vips; v++)
            assert_true(!S(r, who)->vips[v].running || r->now >= E(r, who)->p.ho_wait_until);
    }
    if (o->kind == HA_OUT_PEER_SEND && r->nodes == 2 && r->link && !r->mute[who] &&
        r->n[1 - who].alive) {
        struct ha_input in = { .kind = HA_IN_ADMIN };
        in.u.admin = o->u.peer;
        rig_push(r, 1 - who, &in);
    }
    if (r->on_output)
        r->on_output(r, who, o);
    if (o->kind == HA_OUT_RUN_SCRIPT && r->auto_vip) {
        struct ha_input done = { .kind = HA_IN_SCRIPT_DONE };
        done.u.script.idx = o->u.script.idx;
        done.u.script.seq = o->u.script.seq;
        done.u.script.exit_status = 0;
        rig_push(r, who, &done);
        struct ha_input vip = { .kind = HA_IN_VIP_STATE };
        vip.u.vip.idx = o->u.script.idx;
        vip.u.vip.present = o->u.script.up;
        rig_push(r, who, &vip);
    }
}

/* One ha_step at the current time; returns its output count. */
static inline size_t rig_step1(struct rig *r, int who, const struct ha_input *in)
{
    static struct ha_output out[HA_MAX_OUTPUTS];
    if (!r->n[who].alive)
        return 0;
    size_t n = ha_step(E(r, who), r->now, in, out, HA_MAX_OUTPUTS);
    rig_check_step(r, who, out, n);
    for (size_t k = 0; k < n; k++)
        rig_route(r, who, &out[k]);
    assert_int_equal(r->last_role[who], S(r, who)->role);
    if (r->one_primary && r->nodes == 2 && r->n[0].alive && r->n[1].alive)
        assert_false(S(r, 0)->role == HA_ROLE_PRIMARY && S(r, 1)->role == HA_ROLE_PRIMARY);
    return n;
}

static inline void rig_flush(struct rig *r)
{
    for (int guard = 0; r->qhead != r->qtail; guard++) {
        assert_true(guard < 100000);
        struct rig_item it = r->q[r->qhead % RIG_QUEUE];
        r->qhead++;
        rig_step1(r, it.to, &it.in);
    }
}

/* Feeds one input to node `who` now, then everything it caused. */
static inline void rig_in(struct rig *r, int who, struct ha_input in)
{
    rig_step1(r, who, &in);
    rig_flush(r);
}

static inline void rig_heartbeat(struct rig *r)
{
    if (!r->link)
        return;
    if (r->fake_peer) {
        struct ha_input in = { .kind = HA_IN_PEER_STATE };
        in.u.peer = r->peer;
        rig_in(r, 0, in);
        return;
    }
    if (r->nodes != 2)
        return;
    for (int i = 0; i < 2; i++) {
        if (!r->n[i].alive || !r->n[1 - i].alive || r->mute[i])
            continue;
        struct ha_input in = { .kind = HA_IN_PEER_STATE };
        ha_peer_summary(E(r, i), &in.u.peer);
        in.u.peer.hears_peer = !r->mute[1 - i]; /* what the link would say */
        rig_in(r, 1 - i, in);
    }
}

static inline uint64_t rig_next(struct rig *r)
{
    uint64_t d = UINT64_MAX;
    for (int i = 0; i < r->nodes; i++)
        if (r->n[i].alive) {
            uint64_t x = ha_next_deadline(E(r, i));
            d = x < d ? x : d;
        }
    bool hb = r->link && (r->fake_peer || r->nodes == 2);
    if (hb && r->next_hb < d)
        d = r->next_hb;
    if (r->next_time) {
        uint64_t x = r->next_time(r);
        d = x < d ? x : d;
    }
    return d;
}

/* Moves the clock to `t`, firing every deadline and heartbeat on the way at its
 * exact time. */
static inline void rig_advance(struct rig *r, uint64_t t)
{
    for (int guard = 0;; guard++) {
        assert_true(guard < 1000000);
        uint64_t d = rig_next(r);
        if (d > t)
            break;
        if (d > r->now)
            r->now = d;
        if (r->at_time)
            r->at_time(r);
        for (int i = 0; i < r->nodes; i++)
            if (r->n[i].alive && ha_next_deadline(E(r, i)) <= r->now)
                rig_in(r, i, (struct ha_input){ .kind = HA_IN_TICK });
        if (r->next_hb <= r->now) {
            rig_heartbeat(r);
            r->next_hb = r->now + r->hb_ms;
        }
    }
    if (t > r->now)
        r->now = t;
}

/* Restarts node i (as after a crash) with `epoch` as its persisted epoch. */
static inline void rig_restart(struct rig *r, int i, uint32_t epoch)
{
    r->n[i].cfg.initial_epoch = epoch;
    assert_int_equal(ha_init(E(r, i), &r->n[i].cfg, r->now), 0);
    r->n[i].alive = true;
    r->last_role[i] = HA_ROLE_UNKNOWN;
    if (r->n[i].cfg.has_arbiter)
        rig_in(r, i, (struct ha_input){ .kind = HA_IN_ARBITER, .u.flag = r->n[i].arbiter_ok });
    else
        rig_in(r, i, (struct ha_input){ .kind = HA_IN_TICK });
}

/* Initialises the engines with their configs at the current time and runs the
 * first step (which decides a peerless role at once). */
static inline void rig_start(struct rig *r)
{
    for (int i = 0; i < r->nodes; i++)
        rig_restart(r, i, r->n[i].cfg.initial_epoch);
    r->next_hb = r->now;
    rig_advance(r, r->now);
}

/* ---- log queries ------------------------------------------------------------- */

static inline size_t rig_mark(const struct rig *r)
{
    return r->nlog;
}

static inline int rig_count(const struct rig *r, size_t from, int who, enum ha_out_kind k)
{
    int c = 0;
    for (size_t i = from; i < r->nlog; i++)
        if ((who < 0 || r->log[i].who == who) && r->log[i].o.kind == k)
            c++;
    return c;
}

static inline int rig_notifs(const struct rig *r, size_t from, int who, enum ha_notif id)
{
    int c = 0;
    for (size_t i = from; i < r->nlog; i++)
        if ((who < 0 || r->log[i].who == who) && r->log[i].o.kind == HA_OUT_NOTIFY &&
            r->log[i].o.u.notify.id == id)
            c++;
    return c;
}

/* The k-th (0-based) output of kind `kind` of node `who` since `from`, or NULL. */
static inline const struct rig_event *rig_find(const struct rig *r, size_t from, int who,
                                               enum ha_out_kind kind, int k)
{
    for (size_t i = from; i < r->nlog; i++)
        if ((who < 0 || r->log[i].who == who) && r->log[i].o.kind == kind && k-- == 0)
            return &r->log[i];
    return NULL;
}

static inline struct ha_input in_dn(uint32_t idx, bool in_service)
{
    struct ha_input in = { .kind = HA_IN_DN_STATE };
    in.u.dn.idx = idx;
    in.u.dn.in_service = in_service;
    return in;
}

static inline struct ha_input in_sip(uint32_t count)
{
    struct ha_input in = { .kind = HA_IN_SIP_MESSAGE };
    in.u.sip.count = count;
    return in;
}

static inline struct ha_input in_nic(uint32_t idx, bool up)
{
    struct ha_input in = { .kind = HA_IN_NIC_STATE };
    in.u.nic.idx = idx;
    in.u.nic.up = up;
    return in;
}

static inline struct ha_input in_vip(uint32_t idx, bool present)
{
    struct ha_input in = { .kind = HA_IN_VIP_STATE };
    in.u.vip.idx = idx;
    in.u.vip.present = present;
    return in;
}

static inline struct ha_input in_flag(enum ha_in_kind k, bool flag)
{
    struct ha_input in = { .kind = k };
    in.u.flag = flag;
    return in;
}

static inline struct ha_input in_admin(enum ha_admin_cmd cmd)
{
    struct ha_input in = { .kind = HA_IN_ADMIN };
    in.u.admin.cmd = cmd;
    return in;
}

static inline struct ha_input in_options(unsigned opts)
{
    struct ha_input in = { .kind = HA_IN_SET_OPTIONS };
    in.u.options = opts;
    return in;
}

#endif
