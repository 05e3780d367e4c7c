/* notify.c — every notification is first an event log entry (the NMS can read what it
 * missed), then a log line carrying the event id, then a trap. The varbinds are built
 * when the event happens, so a notification queued during a master outage reports the
 * values of its moment, not of the moment it is finally sent. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <net-snmp/net-snmp-config.h>
#include <net-snmp/net-snmp-includes.h>
#include <net-snmp/agent/net-snmp-agent-includes.h>

#include "notify.h"
#include "notify_build.h"
#include "sipha_mib.h"

static int syslog_priority(enum notif_severity s)
{
    switch (s) {
    case SEV_ALARM: return LOG_ERR;
    case SEV_STANDARD: return LOG_NOTICE;
    default: return LOG_INFO;
    }
}

static int64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The seed gives 00-52027/00-52028 to the SIP NIC only; a management NIC's failure
 * and recovery are logged under sipha's own ids, so an alarm condition set on the
 * seed's ids fires for the SIP NIC alone. */
#define MGMT_NIC_FAILURE_CODE 52109u
#define MGMT_NIC_RECOVERY_CODE 52110u

static unsigned event_code(const struct agent *a, const struct notif_def *d, uint32_t row)
{
    if (d->id != HA_NOTIF_NIC_FAILURE && d->id != HA_NOTIF_NIC_RECOVERY)
        return d->code;
    const struct sipha_nic *n = rows_find(&a->inst.nics, row);
    if (!n || n->purpose == HA_NIC_SIP)
        return d->code;
    return d->id == HA_NOTIF_NIC_FAILURE ? MGMT_NIC_FAILURE_CODE : MGMT_NIC_RECOVERY_CODE;
}

static uint32_t log_event(struct agent *a, const struct notif_def *d, uint32_t row,
                          const char *detail)
{
    struct evlog_entry e;
    memset(&e, 0, sizeof(e));
    e.code = event_code(a, d, row);
    snprintf(e.id, sizeof(e.id), "00-%05u", e.code);
    e.severity = d->severity;
    e.mono_ms = loop_now(a->loop);
    e.wall_ms = wall_ms();
    if (detail && *detail)
        snprintf(e.text, sizeof(e.text), "%s: %s", d->text, detail);
    else if (row)
        snprintf(e.text, sizeof(e.text), "%s (row %u)", d->text, row);
    else
        snprintf(e.text, sizeof(e.text), "%s", d->text);
    e.notif = d->id;
    e.alarm = d->is_alarm ? ALARM_ACTIVE : ALARM_NONE;
    const struct evlog_entry *stored = evlog_append(&a->inst.events, &e);
    snmp_log(syslog_priority(d->severity), "sipha[%u] %s %s %s\n", a->inst.index, e.id,
             d->name, e.text);
    return stored ? stored->index : 0;
}

/* A storm (10,000 DNs failing at once) must not fill the AgentX socket: its sends
 * block, and the loop with them. Notifications go at NOTIFY_RATE per second after a
 * burst of NOTIFY_BURST; the rest wait in the queue (bounded, oldest dropped and
 * counted; every one of them is in the event log anyway). */
#define NOTIFY_BURST 100u
#define NOTIFY_RATE 500u       /* per second */
#define NOTIFY_DRAIN_MS 10u

static void refill(struct agent *a)
{
    uint64_t now = loop_now(a->loop);
    uint64_t add = (now - a->notify_tokens_at) * NOTIFY_RATE / 1000u;
    if (add == 0)
        return;
    a->notify_tokens = (uint32_t)(a->notify_tokens + add > NOTIFY_BURST ? NOTIFY_BURST
                                                                        : a->notify_tokens + add);
    a->notify_tokens_at = now;
}

static void send_one(struct agent *a, netsnmp_variable_list *vbs)
{
    send_v2trap(vbs);
    snmp_free_varbind(vbs);
    a->notify_tokens--;
}

static void drain(void *arg)
{
    struct agent *a = arg;
    a->notify_timer = 0;
    notify_flush(a);
}

static void queue_or_send(struct agent *a, netsnmp_variable_list *vbs)
{
    refill(a);
    if (a->master_connected && nq_count(&a->queue) == 0 && a->notify_tokens > 0) {
        send_one(a, vbs);
        return;
    }
    nq_push(&a->queue, vbs);
    if (a->master_connected && !a->notify_timer)
        a->notify_timer = loop_timer_add(a->loop, NOTIFY_DRAIN_MS, drain, a);
}

uint32_t notify_emit(struct agent *a, enum ha_notif id, uint32_t row, const char *detail)
{
    const struct notif_def *d = notif_def_get(id);
    if (!d)
        return 0;
    uint32_t ev = log_event(a, d, row, detail);
    netsnmp_variable_list *vbs = NULL;
    /* For alarm-cleared, the event columns speak of the cleared row itself. */
    uint32_t event_ref = d->row_table == SIPHA_T_EVENT ? row : ev;
    if (notify_build_varbinds(d, &a->inst, row, event_ref, a->uptime_base, &vbs) == 0)
        queue_or_send(a, vbs);
    agent_request_save(a);
    return ev;
}

void notify_flush(struct agent *a)
{
    netsnmp_variable_list *vbs;
    refill(a);
    while (a->master_connected && a->notify_tokens > 0 && (vbs = nq_pop(&a->queue)) != NULL)
        send_one(a, vbs);
    if (a->master_connected && nq_count(&a->queue) > 0 && !a->notify_timer)
        a->notify_timer = loop_timer_add(a->loop, NOTIFY_DRAIN_MS, drain, a);
}

void notify_init(struct agent *a)
{
    a->notify_tokens = NOTIFY_BURST;
    a->notify_tokens_at = loop_now(a->loop);
}

void notify_stop(struct agent *a)
{
    if (a->notify_timer)
        loop_timer_cancel(a->loop, a->notify_timer);
    a->notify_timer = 0;
}

void notify_clear_alarm(struct agent *a, enum ha_notif alarm, const char *detail)
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
        notify_emit(a, HA_NOTIF_ALARM_CLEARED, last, detail);
}
