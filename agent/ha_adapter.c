/* ha_adapter.c — the engine's inputs and outputs.
 *
 * After every step the engine's state is copied into the instance before the
 * step's notifications are sent, so each notification carries the values the step
 * produced. One loop timer is kept armed at the engine's next deadline. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <net-snmp/net-snmp-config.h>
#include <net-snmp/net-snmp-includes.h>

#include "ha_adapter.h"
#include "ha_link.h"
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
    uint64_t now = loop_now_ms();
    h->timer = loop_timer_add(a->loop, due > now ? due - now : 0, on_timer, a);
    h->timer_due = due;
}

/* --- engine state → instance (what the MIB shows) --- */

static void sync_rows(struct sipha_instance *in, const struct ha_state *st)
{
    for (size_t i = 0; i < st->n_nics; i++) {
        struct sipha_nic *n = rows_find(&in->nics, (uint32_t)i + 1);
        if (!n)
            continue;
        n->oper = (enum oper_state)st->nics[i].oper;
        n->failures = st->nics[i].failures;
        n->last_change = st->nics[i].last_change;
    }
    for (size_t i = 0; i < st->n_vips; i++) {
        struct sipha_vip *v = rows_find(&in->vips, (uint32_t)i + 1);
        if (!v)
            continue;
        v->expected = (enum vip_expect)st->vips[i].expected;
        v->actual = (enum vip_actual)st->vips[i].actual;
        v->status = (enum vip_status)st->vips[i].status;
        v->script_runs = st->vips[i].script_runs;
        v->last_exit = st->vips[i].last_exit;
        v->last_change = st->vips[i].last_change;
    }
}

static void sync_dn(struct sipha_instance *in, const struct ha_state *st, size_t i)
{
    struct sipha_dn *d = rows_find(&in->dns, (uint32_t)i + 1);
    if (d && i < st->n_dns)
        d->state = (enum dn_state)st->dn_state[i];
}

static void sync_state(struct sipha_instance *in, const struct ha_state *st)
{
    in->role = st->role;
    in->status = st->status;
    in->epoch = st->epoch;
    in->options = st->options;
    in->listener_bound = st->listener == HA_LISTENER_BOUND;
    in->traffic = (enum traffic_state)st->traffic;
    in->sip_msgs_in = st->sip_msgs;
    in->last_sip_msg = st->last_sip_msg;
    in->oos_timeout_base = st->oos_base_s;
    in->oos_timeout_eff = st->oos_eff_s;
    in->backoff_factor = st->backoff_factor;
    in->switchovers = st->switchovers;
    in->double_switchovers = st->double_switchovers;
    in->last_switchover = st->last_switchover;
    in->last_reason = st->last_reason;
    in->peer_link = (enum link_state)st->peer_link;
    if (st->peer_last_seen) {
        in->peer_role = st->peer.role;
        in->peer_status = st->peer.status;
    }
    in->peer_last_seen = st->peer_last_seen;
    in->arbiter = (enum link_state)st->arbiter;
    in->admin_result = st->admin_result;
    sync_rows(in, st);
}

/* --- outputs --- */

/* HA_NOTIF_ALARM_CLEARED from the engine names the alarm's notification: every active
 * log row of that alarm is marked cleared and one siphaAlarmCleared is sent. */
static void engine_cleared_alarm(struct agent *a, enum ha_notif alarm)
{
    uint32_t last = 0;
    for (struct evlog_entry *e = evlog_next(&a->inst.events, 0, false); e;
         e = evlog_next(&a->inst.events, e->index, false)) {
        if (e->alarm == ALARM_ACTIVE && (alarm == 0 || e->notif == (unsigned)alarm)) {
            e->alarm = ALARM_CLEARED;
            last = e->index;
        }
    }
    if (last)
        notify_emit(a, HA_NOTIF_ALARM_CLEARED, last, "cleared automatically");
}

static void describe_role(char *buf, size_t len, const struct ha_output *o)
{
    snprintf(buf, len, "now %s, epoch %u (%s)", ha_role_name(o->u.role.role), o->u.role.epoch,
             ha_reason_name(o->u.role.reason));
}

static void apply_output(struct agent *a, const struct ha_output *o, char *role_detail,
                         size_t detail_len)
{
    switch (o->kind) {
    case HA_OUT_ROLE:
        describe_role(role_detail, detail_len, o);
        ha_link_role_changed(a, o->u.role.role);
        agent_request_save(a); /* the epoch persists */
        break;
    case HA_OUT_STATUS:
        break;
    case HA_OUT_RUN_SCRIPT:
        ha_scripts_run(a, o->u.script.idx, o->u.script.up, o->u.script.seq);
        break;
    case HA_OUT_NOTIFY:
        if (o->u.notify.id == HA_NOTIF_SPLIT_BRAIN_RESOLVED || o->u.notify.id == HA_NOTIF_PEER_FOUND)
            vipkeep_reannounce(a);
        if (o->u.notify.id == HA_NOTIF_ALARM_CLEARED)
            engine_cleared_alarm(a, (enum ha_notif)o->u.notify.row);
        else
            notify_emit(a, o->u.notify.id, o->u.notify.row,
                        (o->u.notify.id == HA_NOTIF_ROLE_CHANGE || o->u.notify.id == HA_NOTIF_SWITCHOVER)
                            ? role_detail : NULL);
        break;
    case HA_OUT_PEER_SEND:
        ha_link_send(a, &o->u.peer);
        break;
    case HA_OUT_ADMIN_RESULT:
        a->inst.admin_time = loop_now_ms();
        break;
    }
}

void ha_adapter_input(struct agent *a, const struct ha_input *in)
{
    struct ha_adapter *h = a->ha;
    if (!h || h->stepping)
        return; /* outputs are carried out after the step; no re-entry */
    h->stepping = true;
    size_t n = ha_step(&h->engine, loop_now_ms(), in, h->out, HA_MAX_OUTPUTS);
    const struct ha_state *st = ha_state(&h->engine);
    sync_state(&a->inst, st);
    if (in && in->kind == HA_IN_DN_STATE)
        sync_dn(&a->inst, st, in->u.dn.idx);
    char role_detail[96] = "";
    for (size_t i = 0; i < n; i++)
        apply_output(a, &h->out[i], role_detail, sizeof(role_detail));
    vipkeep_sync(a, st);
    struct ha_peer_state self;
    ha_peer_summary(&h->engine, &self);
    ha_link_publish(a, &self);
    h->stepping = false;
    arm_timer(a);
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
        h->nic_cfg[i] = (enum ha_nic_purpose)cfg->nics[i].purpose;
    *c = (struct ha_config){
        .index = cfg->index, .priority = cfg->priority, .initial_role = cfg->initial_role,
        .initial_epoch = a->inst.epoch, .options = a->inst.options,
        .has_peer = cfg->has_peer, .has_arbiter = cfg->has_arbiter,
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
    if (engine_config(a, &c) != 0)
        return -1;
    const char *why = ha_config_check(&c);
    if (why || ha_init(&a->ha->engine, &c, loop_now_ms()) != 0) {
        snmp_log(LOG_ERR, "sipha[%u]: HA engine refuses the configuration: %s\n",
                 a->inst.index, why ? why : "?");
        return -1;
    }
    sync_state(&a->inst, ha_state(&a->ha->engine));
    for (size_t i = 0; i < a->cfg.n_dns; i++)
        sync_dn(&a->inst, ha_state(&a->ha->engine), i);
    if (ha_scripts_start(a) != 0 || vipkeep_start(a) != 0 || ha_link_start(a) != 0 ||
        ha_monitors_start(a) != 0)
        return -1;
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

void ha_adapter_peer_message(struct agent *a, const struct ha_peer_msg *m)
{
    struct ha_input in = { .kind = HA_IN_ADMIN, .u.admin = *m };
    ha_adapter_input(a, &in);
}

void ha_adapter_options_changed(struct agent *a)
{
    struct ha_input in = { .kind = HA_IN_SET_OPTIONS, .u.options = a->inst.options };
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
