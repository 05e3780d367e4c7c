/* ha_adapter.c — the engine's inputs and outputs.
 *
 * The MIB reads the engine's state in place (a->inst.ha), so a notification sent
 * for an output of a step carries the values that step produced. One loop timer is
 * kept armed at the engine's next deadline. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <net-snmp/net-snmp-config.h>
#include <net-snmp/net-snmp-includes.h>

#include "arbiter_lock.h"
#include "contact_store.h"
#include "describe.h"
#include "ha_adapter.h"
#include "ha_link.h"
#include "kam_sync.h"
#include "ha_monitors.h"
#include "ha_scripts.h"
#include "notify.h"
#include "vip_keeper.h"

struct ha_adapter {
    struct ha_engine engine;
    struct ha_output out[HA_MAX_OUTPUTS];
    struct ha_dn_cfg *dn_cfg;
    enum ha_nic_purpose *nic_cfg;
    uint64_t timer, timer_due;
    bool stepping;
    /* Inputs that arrive while a step's outputs are carried out (none of the agent's
     * modules reports from inside an output today: scripts and the HA link report
     * from the loop; this keeps the engine from being re-entered should one do so):
     * fed after the step, in order. More than fit in a pass are counted and logged,
     * never dropped quietly. */
    struct ha_input pending[HA_ADAPTER_PENDING_MAX];
    size_t n_pending;
    uint32_t dropped_pass;    /* in the pass in progress */
    uint32_t inputs_dropped;  /* since the start */
    /* What the last outputs said, for "from X to Y" in the logs: the engine's outputs
     * carry only the new role and status. causes_seen: at the end of the last step. */
    enum ha_role role_seen;
    enum ha_status status_seen;
    unsigned causes_seen;
};

static void arm_timer(struct agent *a);

static void on_timer(void *arg)
{
    struct agent *a = arg;
    a->ha->timer = 0;
    struct ha_input tick = { .kind = HA_IN_TICK };
    ha_adapter_input(a, &tick);
}

static void arm_timer(struct agent *a)
{
    struct ha_adapter *h = a->ha;
    uint64_t due = ha_next_deadline(&h->engine);
    if (h->timer && h->timer_due == due)
        return;
    if (h->timer)
        loop_timer_cancel(a->loop, h->timer);
    h->timer = 0;
    if (due == UINT64_MAX)
        return;
    uint64_t now = loop_now(a->loop);
    h->timer = loop_timer_add(a->loop, due > now ? due - now : 0, on_timer, a);
    h->timer_due = due;
}

/* --- outputs --- */

#define DETAIL_MAX 192

/* The text the role change and switchover notifications log. */
static void describe_role(struct ha_adapter *h, char *buf, size_t len,
                          const struct ha_output *o)
{
    snprintf(buf, len, "from %s to %s, epoch %u, reason: %s", ha_role_name(h->role_seen),
             ha_role_name(o->u.role.role), o->u.role.epoch, ha_reason_name(o->u.role.reason));
    h->role_seen = o->u.role.role;
}

/* The text the status change notification logs. */
static void describe_status(struct ha_adapter *h, char *buf, size_t len,
                            const struct ha_output *o)
{
    const struct ha_state *st = ha_state(&h->engine);
    char why[DETAIL_MAX - 64];
    describe_status_reason(why, sizeof(why), h->status_seen, o->u.status, st->causes,
                           h->causes_seen);
    snprintf(buf, len, "from %s to %s (role %s), reason: %s", ha_status_name(h->status_seen),
             ha_status_name(o->u.status), ha_role_name(st->role), why);
    h->status_seen = o->u.status;
}

struct step_text {
    char role[DETAIL_MAX];   /* of the last HA_OUT_ROLE */
    char status[DETAIL_MAX]; /* of the last HA_OUT_STATUS */
};

static const char *notify_detail(const struct step_text *t, enum ha_notif id)
{
    if (id == HA_NOTIF_ROLE_CHANGE || id == HA_NOTIF_SWITCHOVER)
        return t->role;
    if (id == HA_NOTIF_STATUS_CHANGE)
        return t->status;
    return NULL;
}

static void apply_output(struct agent *a, const struct ha_output *o, struct step_text *t)
{
    switch (o->kind) {
    case HA_OUT_ROLE:
        describe_role(a->ha, t->role, sizeof(t->role), o);
        ha_link_role_changed(a, o->u.role.role);
        kam_sync_role_changed(a, o->u.role.role);
        contact_store_role_changed(a, o->u.role.role);
        agent_request_save(a); /* the epoch persists */
        break;
    case HA_OUT_STATUS:
        describe_status(a->ha, t->status, sizeof(t->status), o);
        break;
    case HA_OUT_RUN_SCRIPT:
        ha_scripts_run(a, o->u.script.idx, o->u.script.up, o->u.script.seq);
        break;
    case HA_OUT_NOTIFY:
        if (o->u.notify.id == HA_NOTIF_SPLIT_BRAIN_RESOLVED || o->u.notify.id == HA_NOTIF_PEER_FOUND)
            vipkeep_reannounce(a);
        if (o->u.notify.id == HA_NOTIF_ALARM_CLEARED) /* row: the alarm's kind */
            notify_clear_alarm(a, (enum ha_notif)o->u.notify.row, "cleared automatically");
        else
            notify_emit(a, o->u.notify.id, o->u.notify.row, notify_detail(t, o->u.notify.id));
        break;
    case HA_OUT_PEER_SEND:
        ha_link_send(a, &o->u.peer);
        break;
    case HA_OUT_ADMIN_RESULT:
        a->inst.admin_time = loop_now(a->loop);
        break;
    case HA_OUT_LOCK: /* the answer comes back as HA_IN_LOCK, from a later loop turn */
        arbiter_lock_want(a, o->u.lock.take, o->u.lock.epoch);
        break;
    }
}

/* One engine step on `in` (NULL: just the timers) and its outputs. */
static void step(struct agent *a, const struct ha_input *in)
{
    struct ha_adapter *h = a->ha;
    size_t n = ha_step(&h->engine, loop_now(a->loop), in, h->out, HA_MAX_OUTPUTS);
    const struct ha_state *st = ha_state(&h->engine);
    struct step_text text = { "", "" };
    for (size_t i = 0; i < n; i++)
        apply_output(a, &h->out[i], &text);
    h->causes_seen = st->causes;
    vipkeep_sync(a, st);
    struct ha_peer_state self;
    ha_peer_summary(&h->engine, &self);
    ha_link_publish(a, &self);
}

void ha_adapter_input(struct agent *a, const struct ha_input *in)
{
    struct ha_adapter *h = a->ha;
    if (!h)
        return;
    if (h->stepping) { /* called back from an output: after this step */
        if (!in)
            return; /* the step in progress runs the timers */
        if (h->n_pending < HA_ADAPTER_PENDING_MAX)
            h->pending[h->n_pending++] = *in;
        else
            h->dropped_pass++;
        return;
    }
    h->stepping = true;
    step(a, in);
    /* Each pending input is its own step, as if it had come from the loop; the
     * ones those steps raise queue up behind it. */
    for (size_t i = 0; i < h->n_pending; i++) {
        struct ha_input next = h->pending[i];
        step(a, &next);
    }
    h->n_pending = 0;
    h->stepping = false;
    if (h->dropped_pass) {
        h->inputs_dropped += h->dropped_pass;
        snmp_log(LOG_ERR, "sipha[%u]: HA engine: %u inputs raised while carrying out one "
                 "input were dropped (at most %d wait for their step)\n", a->inst.index,
                 h->dropped_pass, HA_ADAPTER_PENDING_MAX);
        h->dropped_pass = 0;
    }
    arm_timer(a);
}

uint32_t ha_adapter_inputs_dropped(const struct agent *a)
{
    return a->ha ? a->ha->inputs_dropped : 0;
}

/* --- configuration → engine --- */

static int engine_config(struct agent *a, struct ha_config *c)
{
    struct ha_adapter *h = a->ha;
    const struct sipha_config *cfg = &a->cfg;
    h->dn_cfg = calloc(cfg->n_dns ? cfg->n_dns : 1, sizeof(*h->dn_cfg));
    h->nic_cfg = calloc(cfg->n_nics ? cfg->n_nics : 1, sizeof(*h->nic_cfg));
    if (!h->dn_cfg || !h->nic_cfg)
        return -1;
    for (size_t i = 0; i < cfg->n_dns; i++)
        h->dn_cfg[i] = (struct ha_dn_cfg){ cfg->dns[i].oos_check, cfg->dns[i].oos_force };
    for (size_t i = 0; i < cfg->n_nics; i++)
        h->nic_cfg[i] = cfg->nics[i].purpose;
    *c = (struct ha_config){
        .index = cfg->index, .priority = cfg->priority, .initial_role = cfg->initial_role,
        .initial_epoch = a->inst.boot_epoch, .options = a->inst.boot_options,
        .has_peer = cfg->has_peer, .has_arbiter = cfg->has_arbiter,
        /* etcd's key says who may lead: the engine waits for it to take the role */
        .has_lock = cfg->has_arbiter && cfg->arbiter_kind == ARBITER_ETCD,
        .peer_timeout_ms = cfg->peer_interval_ms * cfg->peer_miss_count,
        .peer_loss_reported = true, /* the HA link times the peer out (ha_link.c) */
        .settle_ms = cfg->peer_settle_ms, .dns = h->dn_cfg, .n_dns = cfg->n_dns,
        .nics = h->nic_cfg, .n_nics = cfg->n_nics, .n_vips = cfg->n_vips,
        .alarm_autoclear_ms = cfg->alarm_autoclear * 1000u,
    };
    return 0;
}

int ha_adapter_start(struct agent *a)
{
    a->ha = calloc(1, sizeof(*a->ha));
    if (!a->ha)
        return -1;
    struct ha_config c;
    if (engine_config(a, &c) != 0) {
        ha_adapter_stop(a);
        return -1;
    }
    const char *why = ha_config_check(&c);
    if (why || ha_init(&a->ha->engine, &c, loop_now(a->loop)) != 0) {
        snmp_log(LOG_ERR, "sipha[%u]: HA engine refuses the configuration: %s\n",
                 a->inst.index, why ? why : "?");
        ha_adapter_stop(a);
        return -1;
    }
    a->inst.ha = ha_state(&a->ha->engine); /* the MIB reads the engine's state */
    a->ha->role_seen = a->inst.ha->role;
    a->ha->status_seen = a->inst.ha->status;
    a->ha->causes_seen = a->inst.ha->causes;
    if (ha_scripts_start(a) != 0 || vipkeep_start(a) != 0 || ha_link_start(a) != 0 ||
        ha_monitors_start(a) != 0) {
        ha_adapter_stop(a); /* whatever started stops; a->ha is NULL again */
        return -1;
    }
    ha_adapter_input(a, NULL); /* first step: decides the role when there is no peer */
    return 0;
}

void ha_adapter_stop(struct agent *a)
{
    struct ha_adapter *h = a->ha;
    if (!h)
        return;
    ha_monitors_stop(a);
    ha_link_stop(a);
    vipkeep_stop(a);
    ha_scripts_stop(a);
    if (h->timer)
        loop_timer_cancel(a->loop, h->timer);
    /* What the state file keeps, and the MIB shows until the engine runs again. */
    if (a->inst.ha) {
        a->inst.boot_options = a->inst.ha->options;
        a->inst.boot_epoch = a->inst.ha->epoch;
        a->inst.ha = NULL;
    }
    free(h->dn_cfg);
    free(h->nic_cfg);
    free(h);
    a->ha = NULL;
}

void ha_adapter_shutdown(struct agent *a)
{
    struct ha_input in = { .kind = HA_IN_SHUTDOWN };
    ha_adapter_input(a, &in);
}

bool ha_adapter_shutdown_done(struct agent *a)
{
    return !a->ha || ha_shutdown_done(&a->ha->engine);
}

void ha_adapter_admin(struct agent *a, enum ha_admin_cmd cmd)
{
    struct ha_input in = { .kind = HA_IN_ADMIN, .u.admin = { .cmd = cmd } };
    ha_adapter_input(a, &in);
}

void ha_adapter_set_options(struct agent *a, unsigned options)
{
    if (!a->ha) {
        a->inst.boot_options = options;
        return;
    }
    struct ha_input in = { .kind = HA_IN_SET_OPTIONS, .u.options = options };
    ha_adapter_input(a, &in);
}

void ha_adapter_alarm_cleared(struct agent *a, unsigned code)
{
    enum ha_notif id = 0;
    for (unsigned n = 1; n <= HA_NOTIF_COUNT; n++) {
        const struct notif_def *d = notif_def_get((enum ha_notif)n);
        if (d->is_alarm && d->code == code)
            id = d->id;
    }
    if (!id)
        return;
    struct ha_input in = { .kind = HA_IN_ALARM_CLEAR, .u.alarm = id };
    ha_adapter_input(a, &in);
}
