/* ha_scripts.c — one slot per VIP. A VIP without a script for the action (allowed
 * when sip-iptakeover-monitoring is off: the address is managed elsewhere) completes
 * at once with exit 0, from a timer so the engine is never re-entered. */
#include <stdlib.h>
#include <string.h>

#include <net-snmp/net-snmp-config.h>
#include <net-snmp/net-snmp-includes.h>

#include "ha_scripts.h"
#include "script.h"

struct vip_slot {
    struct agent *a;
    uint32_t idx, seq;
    uint64_t run_id;   /* running script, 0 = none */
    uint64_t timer;    /* pending immediate completion */
    int pending_exit;  /* its exit status: 0 nothing to run, 126 could not start */
};

struct ha_scripts {
    struct script_runner *runner;
    struct vip_slot *slots;
};

static void finish(struct vip_slot *s, int exit_status)
{
    struct ha_input in = { .kind = HA_IN_SCRIPT_DONE,
                           .u.script = { s->idx, s->seq, exit_status } };
    agent_ha_input(s->a, &in);
}

static void log_output(struct agent *a, uint32_t idx, const char *output)
{
    char line[512];
    const char *p = output;
    while (p && *p) {
        const char *nl = strchr(p, '\n');
        size_t n = nl ? (size_t)(nl - p) : strlen(p);
        snprintf(line, sizeof(line), "%.*s", (int)(n < sizeof(line) - 1 ? n : sizeof(line) - 1), p);
        snmp_log(LOG_INFO, "sipha[%u]: vip %u script: %s\n", a->inst.index, idx + 1, line);
        p = nl ? nl + 1 : NULL;
    }
}

static void on_done(void *ctx, uint64_t id, int exit_status, bool timed_out, const char *output)
{
    struct vip_slot *s = ctx;
    if (s->run_id != id)
        return;
    s->run_id = 0;
    log_output(s->a, s->idx, output);
    if (timed_out || exit_status != 0)
        snmp_log(LOG_WARNING, "sipha[%u]: vip %u script %s (exit %d)\n", s->a->inst.index,
                 s->idx + 1, timed_out ? "timed out and was killed" : "failed", exit_status);
    finish(s, exit_status);
}

static void on_immediate(void *arg)
{
    struct vip_slot *s = arg;
    s->timer = 0;
    finish(s, s->pending_exit);
}

static void complete_later(struct agent *a, struct vip_slot *s, int exit_status)
{
    s->pending_exit = exit_status;
    s->timer = loop_timer_add(a->loop, 0, on_immediate, s);
}

int ha_scripts_start(struct agent *a)
{
    char err[256];
    struct ha_scripts *h = calloc(1, sizeof(*h));
    a->scripts = h;
    if (!h)
        return -1;
    h->slots = calloc(a->cfg.n_vips ? a->cfg.n_vips : 1, sizeof(*h->slots));
    h->runner = script_runner_new(a->loop, a->cfg.script_timeout_ms, err, sizeof(err));
    if (!h->slots || !h->runner) {
        snmp_log(LOG_ERR, "sipha[%u]: cannot start the script runner: %s\n", a->inst.index, err);
        return -1;
    }
    for (size_t i = 0; i < a->cfg.n_vips; i++)
        h->slots[i] = (struct vip_slot){ .a = a, .idx = (uint32_t)i };
    return 0;
}

static void stop_slot(struct agent *a, struct vip_slot *s)
{
    if (s->run_id)
        script_cancel(a->scripts->runner, s->run_id);
    if (s->timer)
        loop_timer_cancel(a->loop, s->timer);
    s->run_id = s->timer = 0;
}

void ha_scripts_stop(struct agent *a)
{
    struct ha_scripts *h = a->scripts;
    if (!h)
        return;
    for (size_t i = 0; h->slots && i < a->cfg.n_vips; i++)
        stop_slot(a, &h->slots[i]);
    if (h->runner)
        script_runner_free(h->runner);
    free(h->slots);
    free(h);
    a->scripts = NULL;
}

void ha_scripts_run(struct agent *a, uint32_t idx, bool up, uint32_t seq)
{
    struct ha_scripts *h = a->scripts;
    if (!h || idx >= a->cfg.n_vips)
        return;
    struct vip_slot *s = &h->slots[idx];
    const struct config_vip *v = &a->cfg.vips[idx];
    stop_slot(a, s);
    s->seq = seq;
    const char *path = up ? v->up_script : v->down_script;
    if (!path[0]) {
        complete_later(a, s, 0);
        return;
    }
    char addr[64], err[256];
    struct script_job job = { .path = path, .up = up,
                              .vip = sipha_addr_format(&v->addr, addr, sizeof(addr)),
                              .prefix_len = v->prefix_len, .interface = v->interface,
                              .instance = a->inst.index };
    s->run_id = script_run(h->runner, &job, on_done, s, err, sizeof(err));
    if (!s->run_id) {
        snmp_log(LOG_ERR, "sipha[%u]: vip %u: %s\n", a->inst.index, idx + 1, err);
        complete_later(a, s, SCRIPT_EXIT_CANNOT_EXEC);
    }
}
