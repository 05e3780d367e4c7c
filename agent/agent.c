/* agent.c — the life of a sipha-agent process: configuration to instance, start,
 * signals, reload, state saving, stop. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <net-snmp/net-snmp-config.h>
#include <net-snmp/net-snmp-includes.h>

#include "agent_log.h"
#include "agent_run.h"
#include "config_fetch.h"
#include "contact_store.h"
#include "contacts.h"
#include "kam_sync.h"
#include "control.h"
#include "describe.h"
#include "ha_adapter.h"
#include "ha_link.h"
#include "notify.h"
#include "persist.h"
#include "state_save.h"
#include "subagent.h"

static volatile sig_atomic_t got_hup, got_term;

static void on_signal(int sig)
{
    if (sig == SIGHUP)
        got_hup = 1;
    else
        got_term = 1;
}

static void install_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGHUP, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
}

/* --- configuration into the instance --- */

static void add_rows_from_config(struct sipha_instance *in, const struct sipha_config *c)
{
    for (size_t i = 0; i < c->n_nics; i++) {
        struct sipha_nic n = { .index = (uint32_t)i + 1, .purpose = c->nics[i].purpose,
                               .addr = c->nics[i].addr };
        snprintf(n.name, sizeof(n.name), "%s", c->nics[i].name);
        instance_put_nic(in, &n);
    }
    for (size_t i = 0; i < c->n_vips; i++) {
        struct sipha_vip v = { .index = (uint32_t)i + 1, .addr = c->vips[i].addr,
                               .prefix_len = c->vips[i].prefix_len };
        snprintf(v.interface, sizeof(v.interface), "%s", c->vips[i].interface);
        snprintf(v.up_script, sizeof(v.up_script), "%s", c->vips[i].up_script);
        snprintf(v.down_script, sizeof(v.down_script), "%s", c->vips[i].down_script);
        instance_put_vip(in, &v);
    }
    for (size_t i = 0; i < c->n_dns; i++) {
        struct sipha_dn d = { .index = (uint32_t)i + 1, .oos_check = c->dns[i].oos_check,
                              .oos_force = c->dns[i].oos_force };
        snprintf(d.name, sizeof(d.name), "%s", c->dns[i].name);
        snprintf(d.uri, sizeof(d.uri), "%s", c->dns[i].uri);
        instance_put_dn(in, &d);
    }
}

static void apply_identity(struct sipha_instance *in, const struct sipha_config *c)
{
    in->index = c->index;
    snprintf(in->name, sizeof(in->name), "%s", c->name);
    in->priority = c->priority;
    in->sip_addr = c->sip_addr;
    in->sip_port = c->sip_port;
    in->boot_options = c->options;
    if (c->has_peer)
        snprintf(in->peer_name, sizeof(in->peer_name), "%s", c->peer_name);
    in->arbiter_kind = !c->has_arbiter ? ARBITER_MIB_NONE
                       : c->arbiter_kind == ARBITER_ETCD ? ARBITER_MIB_ETCD : ARBITER_MIB_HTTP;
    if (c->has_arbiter && c->arbiter_kind != ARBITER_ETCD)
        snprintf(in->arbiter_url, sizeof(in->arbiter_url), "%s", c->arbiter_url);
}

static int instance_from_config(struct agent *a)
{
    struct sipha_instance *in = &a->inst;
    instance_init(in);
    apply_identity(in, &a->cfg);
    if (evlog_set_limit(&in->events, a->cfg.eventlog_limit) != 0)
        return -1;
    add_rows_from_config(in, &a->cfg);
    contacts_apply_config(a);
    char err[CONFIG_ERR_MAX];
    int rc = a->cfg.state_dir[0] ? persist_load(a->cfg.state_dir, in, err, sizeof(err)) : 0;
    if (rc < 0) {
        fprintf(stderr, "sipha-agent: %s\n", err);
        return -1;
    }
    if (rc > 0 && in->boot_options != a->cfg.options) {
        char set[200], file[200];
        snmp_log(LOG_INFO, "sipha[%u]: options set by SNMP (%s) override the file's (%s)\n",
                 in->index, describe_options(set, sizeof(set), in->boot_options),
                 describe_options(file, sizeof(file), a->cfg.options));
    }
    return 0;
}

/* --- reload on SIGHUP --- */

/* The arbiter's settings differ (kind, where, how): the monitor or lock holder
 * opened at start keeps the old ones. */
static bool arbiter_changed(const struct sipha_config *n, const struct sipha_config *o)
{
    return n->has_arbiter != o->has_arbiter || n->arbiter_kind != o->arbiter_kind ||
           strcmp(n->arbiter_url, o->arbiter_url) != 0 ||
           n->arbiter_interval_ms != o->arbiter_interval_ms ||
           n->arbiter_timeout_ms != o->arbiter_timeout_ms ||
           strcmp(n->etcd_endpoint_list, o->etcd_endpoint_list) != 0 ||
           strcmp(n->etcd_key, o->etcd_key) != 0 || n->etcd_ttl_s != o->etcd_ttl_s ||
           n->etcd_read_ms != o->etcd_read_ms || strcmp(n->etcd_ca, o->etcd_ca) != 0 ||
           strcmp(n->etcd_cert, o->etcd_cert) != 0 ||
           strcmp(n->etcd_key_file, o->etcd_key_file) != 0 ||
           n->etcd_contacts != o->etcd_contacts;
}

/* Only what can change without re-registering or re-binding is applied; the rest
 * needs a restart and is reported. */
static void apply_reload(struct agent *a, struct sipha_config *n)
{
    struct sipha_config *o = &a->cfg;
    if (n->index != o->index) {
        /* Another instance's file (a wrong path, a copied unit): applying its name,
         * priority or options to this instance would mix two instances. */
        snmp_log(LOG_ERR, "sipha[%u]: reload refused, old configuration kept: %s describes "
                 "instance %u, this agent runs instance %u\n", a->inst.index,
                 a->config_location, n->index, o->index);
        return;
    }
    if (strcmp(n->agentx_socket, o->agentx_socket) != 0 ||
        strcmp(n->state_dir, o->state_dir) != 0 || n->alarm_autoclear != o->alarm_autoclear ||
        n->n_dns != o->n_dns || n->n_nics != o->n_nics || n->n_vips != o->n_vips ||
        n->has_peer != o->has_peer || arbiter_changed(n, o) ||
        n->sip_server_kind != o->sip_server_kind ||
        strcmp(n->sip_server_rpc, o->sip_server_rpc) != 0 ||
        strcmp(n->sip_server_events, o->sip_server_events) != 0)
        snmp_log(LOG_WARNING, "sipha[%u]: reload: changes to the AgentX socket, state "
                 "dir, alarm auto-clear, NICs, VIPs, service DNs, peer, arbiter or SIP "
                 "server need a restart; the running ones are kept\n", a->inst.index);
    a->inst.priority = n->priority;
    snprintf(a->inst.name, sizeof(a->inst.name), "%s", n->name);
    evlog_set_limit(&a->inst.events, n->eventlog_limit);
    o->priority = n->priority;
    snprintf(o->name, sizeof(o->name), "%s", n->name);
    o->eventlog_limit = n->eventlog_limit;
    o->notif_queue_limit = n->notif_queue_limit;
    nq_set_limit(&a->queue, n->notif_queue_limit);
    /* The new file's contacts replace the local ones (the test/demo source). */
    free(o->contacts);
    o->contacts = n->contacts;
    o->n_contacts = n->n_contacts;
    n->contacts = NULL;
    n->n_contacts = 0;
    contacts_apply_config(a);
    /* Options edited in the file win over earlier SETs: the operator just chose them. */
    if (n->options != o->options) {
        o->options = n->options;
        control_set_options(a, n->options);
    }
    agent_request_save(a);
    snmp_log(LOG_NOTICE, "sipha[%u]: configuration reloaded from %s\n", a->inst.index,
             a->config_location);
}

static void reload_done(void *arg, int ok, const char *buf, size_t len, const char *err)
{
    struct agent *a = arg;
    a->reload = NULL;
    if (!ok) {
        snmp_log(LOG_ERR, "sipha[%u]: reload failed, old configuration kept: %s\n",
                 a->inst.index, err);
        return;
    }
    struct sipha_config n;
    char perr[CONFIG_ERR_MAX];
    memset(&n, 0, sizeof(n));
    if (config_parse_buffer(&n, buf, len, a->config_location, a->schema, perr, sizeof(perr)) != 0) {
        snmp_log(LOG_ERR, "sipha[%u]: reload failed, old configuration kept: %s\n",
                 a->inst.index, perr);
        return;
    }
    apply_reload(a, &n);
    config_free(&n);
}

static void start_reload(struct agent *a)
{
    if (a->reload)
        return; /* one at a time */
    if (cfetch_start(&a->reload, a->loop, a->config_location, 10000, reload_done, a) != 0)
        snmp_log(LOG_ERR, "sipha[%u]: reload: cannot start fetching %s\n", a->inst.index,
                 a->config_location);
}

/* --- the loop's end-of-iteration work --- */

/* --- graceful stop: the primary hands over before the process ends --- */

#define STOP_POLL_MS 5u
#define STOP_LIMIT_MS 4000u /* release wait (2 s) + script timeouts to spare */

static void stop_poll(void *arg)
{
    struct agent *a = arg;
    uint64_t now = loop_now(a->loop);
    if (!a->stop_done_at && ha_adapter_shutdown_done(a))
        a->stop_done_at = now;
    /* The handover message goes out at once and is repeated twice, one heartbeat
     * apart: stay for the repeats, so one lost datagram does not cost the peer its
     * peer-loss timeout. */
    uint64_t linger = a->cfg.has_peer ? 2u * a->cfg.peer_interval_ms + STOP_POLL_MS : 0;
    if ((a->stop_done_at && now >= a->stop_done_at + linger) || now >= a->stop_deadline) {
        if (!a->stop_done_at)
            snmp_log(LOG_WARNING, "sipha[%u]: stop: handover not finished after %u ms\n",
                     a->inst.index, STOP_LIMIT_MS);
        loop_stop(a->loop);
        return;
    }
    a->stop_timer = loop_timer_add(a->loop, STOP_POLL_MS, stop_poll, a);
}

static void begin_stop(struct agent *a)
{
    if (a->stopping)
        return;
    a->stopping = true;
    a->stop_deadline = loop_now(a->loop) + STOP_LIMIT_MS;
    snmp_log(LOG_NOTICE, "sipha[%u]: stop requested as %s: %s\n", a->inst.index,
             ha_role_name(instance_ha(&a->inst)->role),
             instance_ha(&a->inst)->role == HA_ROLE_PRIMARY ? "handing the role over first" : "nothing to hand over");
    ha_adapter_shutdown(a);
    stop_poll(a);
}

static void on_idle(void *arg)
{
    struct agent *a = arg;
    if (got_term) {
        begin_stop(a);
        return;
    }
    if (got_hup) {
        got_hup = 0;
        start_reload(a);
    }
    if (a->flush_pending && a->master_connected) {
        a->flush_pending = false;
        notify_flush(a);
    }
    if (a->save_pending)
        state_save_now(a);
    agent_log_flush(); /* a run of identical lines ends with the iteration */
}

/* Our local contacts changed: the peer pulls them over the HA link, and the primary
 * writes them into etcd. */
static void contacts_changed(struct agent *a)
{
    ha_link_contacts_changed(a);
    contact_store_changed(a);
}

int agent_init(struct agent *a, const struct agent_options *opt)
{
    char err[CONFIG_ERR_MAX];
    memset(a, 0, sizeof(*a));
    a->ha_input = ha_adapter_input;
    a->contacts_changed = contacts_changed;
    a->synced_changed = kam_sync_synced_changed;
    a->synced_pass_done = kam_sync_pass_done;
    snprintf(a->config_location, sizeof(a->config_location), "%s", opt->config);
    a->schema = config_default_schema();
    if (config_load(&a->cfg, opt->config, a->schema, err, sizeof(err)) != 0) {
        fprintf(stderr, "sipha-agent: %s\n", err);
        return -1;
    }
    if (opt->agentx_socket)
        snprintf(a->cfg.agentx_socket, sizeof(a->cfg.agentx_socket), "%s", opt->agentx_socket);
    a->loop = loop_new();
    if (!a->loop || nq_init(&a->queue, a->cfg.notif_queue_limit) != 0)
        return -1;
    snmp_loop_attach(&a->snmp_loop, a->loop);
    a->uptime_base = loop_now(a->loop);
    notify_init(a);
    if (instance_from_config(a) != 0)
        return -1;
    a->inst.queue = &a->queue; /* the MIB reads the queue's counters */
    state_save_init(a);
    return 0;
}

/* What the instance is once started: its role, or that the role waits for the peer
 * (the first step decides it only for an instance without one), and its options. */
static void log_started(const struct agent *a)
{
    const struct ha_state *st = instance_ha(&a->inst);
    char opts[200], role[160];
    if (st->role != HA_ROLE_UNKNOWN)
        snprintf(role, sizeof(role), "started as %s, status %s", ha_role_name(st->role),
                 ha_status_name(st->status));
    else if (a->cfg.has_peer)
        snprintf(role, sizeof(role), "started, role not decided yet (discovering the peer %s "
                 "for up to %u ms)", a->cfg.peer_name, a->cfg.peer_settle_ms);
    else
        snprintf(role, sizeof(role), "started, role not decided yet");
    snmp_log(LOG_NOTICE, "sipha[%u]: %s %s; options: %s\n", a->inst.index, a->inst.name, role,
             describe_options(opts, sizeof(opts), st->options));
}

int agent_run(struct agent *a)
{
    install_signals();
    if (subagent_start(a) != 0)
        return -1;
    if (ha_adapter_start(a) != 0)
        return -1;
    if (kam_sync_start(a) != 0)
        return -1;
    kam_sync_role_changed(a, instance_ha(&a->inst)->role);
    char err[256];
    if (contact_store_start(a, err, sizeof err) != 0) {
        snmp_log(LOG_ERR, "sipha[%u]: %s\n", a->inst.index, err);
        return -1;
    }
    contact_store_role_changed(a, instance_ha(&a->inst)->role);
    contacts_start_expiry(a);
    loop_set_idle(a->loop, on_idle, a);
    log_started(a);
    loop_run(a->loop);
    snmp_log(LOG_NOTICE, "sipha[%u]: stopping\n", a->inst.index);
    if (a->stop_timer)
        loop_timer_cancel(a->loop, a->stop_timer);
    ha_adapter_stop(a);
    contact_store_stop(a);
    kam_sync_stop(a);
    contacts_stop_expiry(a);
    notify_stop(a);
    state_save_now(a);
    state_save_stop(a);
    subagent_stop(a);
    return 0;
}

void agent_free(struct agent *a)
{
    if (a->reload)
        cfetch_cancel(a->reload);
    nq_free(&a->queue);
    contacts_free(a);
    instance_free(&a->inst);
    config_free(&a->cfg);
    loop_free(a->loop);
    snmp_loop_free(&a->snmp_loop);
}
