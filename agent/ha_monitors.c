/* ha_monitors.c — which kernel observation means what for the instance.
 *
 * NICs are matched by name (link events), or, for a SIP NIC given only by
 * sip-nic-address, by the interface that holds that address: such a NIC is up while
 * its interface is up AND the address is on it. VIPs are present when their address
 * is on any interface of the host. */
#include <stdlib.h>
#include <string.h>

#include <net-snmp/net-snmp-config.h>
#include <net-snmp/net-snmp-includes.h>

#include "arbiter_lock.h"
#include "array.h"
#include "ha_monitors.h"
#include "mon_arbiter.h"
#include "mon_listener.h"
#include "mon_netlink.h"
#include "mon_probe.h"
#include "mon_sip.h"

struct link_seen {
    int32_t ifindex;
    bool up;
};

struct nic_track {
    int32_t ifindex;   /* 0 = not found yet */
    bool link_up, addr_present, by_addr;
    bool reported, last_up;
};

struct ha_mon {
    struct mon_netlink *netlink;
    struct mon_listener *listener;
    struct mon_sip *sip;
    struct mon_probe *probe;
    struct mon_arbiter *arbiter;
    struct nic_track *nics;
    bool *vip_present, *vip_reported, *vip_last;
    uint8_t *dn_reported;      /* enum ha_dn_state last fed to the engine, per DN */
    uint32_t sip_pending;      /* SIP messages not yet fed (batched per loop pass) */
    uint64_t sip_timer;
    struct link_seen *links;
    size_t n_links, cap_links;
    bool synced;
    /* the listener: the port as the kernel has it, and whether the SIP server that
     * should hold it runs (kam_sync: its event stream); 00-04200 unless both */
    bool port_seen, port_bound, server_dead;
};

static void feed(struct agent *a, const struct ha_input *in)
{
    agent_ha_input(a, in);
}

static struct link_seen *link_slot(struct ha_mon *m, int32_t ifindex, bool create)
{
    for (size_t i = 0; i < m->n_links; i++)
        if (m->links[i].ifindex == ifindex)
            return &m->links[i];
    if (!create)
        return NULL;
    void *items = m->links;
    if (array_reserve(&items, &m->cap_links, m->n_links + 1, sizeof(*m->links), 8) < 0)
        return NULL;
    m->links = items;
    m->links[m->n_links] = (struct link_seen){ ifindex, false };
    return &m->links[m->n_links++];
}

/* Reports each NIC whose effective state changed (all of them once synced). */
static void report_nics(struct agent *a)
{
    struct ha_mon *m = a->mon;
    if (!m->synced)
        return;
    for (size_t i = 0; i < a->cfg.n_nics; i++) {
        struct nic_track *t = &m->nics[i];
        bool up = t->ifindex != 0 && t->link_up && (!t->by_addr || t->addr_present);
        if (t->reported && t->last_up == up)
            continue;
        t->reported = true;
        t->last_up = up;
        struct sipha_nic *row = rows_find(&a->inst.nics, (uint32_t)i + 1);
        if (row)
            row->ifindex = t->ifindex;
        struct ha_input in = { .kind = HA_IN_NIC_STATE, .u.nic = { (uint32_t)i, up } };
        feed(a, &in);
    }
}

static void report_vips(struct agent *a)
{
    struct ha_mon *m = a->mon;
    if (!m->synced)
        return;
    for (size_t i = 0; i < a->cfg.n_vips; i++) {
        if (m->vip_reported[i] && m->vip_last[i] == m->vip_present[i])
            continue;
        m->vip_reported[i] = true;
        m->vip_last[i] = m->vip_present[i];
        struct ha_input in = { .kind = HA_IN_VIP_STATE, .u.vip = { (uint32_t)i, m->vip_present[i] } };
        feed(a, &in);
    }
}

static void report_listener(struct agent *a)
{
    struct ha_mon *m = a->mon;
    if (!m->port_seen)
        return;
    struct ha_input in = { .kind = HA_IN_LISTENER, .u.flag = m->port_bound && !m->server_dead };
    feed(a, &in);
}

void ha_monitors_server_alive(struct agent *a, bool alive)
{
    if (!a->mon || a->mon->server_dead == !alive)
        return;
    a->mon->server_dead = !alive;
    report_listener(a);
}

static void on_link(struct agent *a, const struct mon_event *ev)
{
    struct ha_mon *m = a->mon;
    struct link_seen *l = link_slot(m, ev->u.link.ifindex, true);
    if (l)
        l->up = ev->u.link.up;
    for (size_t i = 0; i < a->cfg.n_nics; i++) {
        struct nic_track *t = &m->nics[i];
        bool named = a->cfg.nics[i].name[0] && strcmp(a->cfg.nics[i].name, ev->u.link.ifname) == 0;
        if (named)
            t->ifindex = ev->u.link.ifindex;
        if (named || (t->by_addr && t->ifindex == ev->u.link.ifindex))
            t->link_up = ev->u.link.up;
    }
    report_nics(a);
}

static void on_addr(struct agent *a, const struct mon_event *ev)
{
    struct ha_mon *m = a->mon;
    for (size_t i = 0; i < a->cfg.n_nics; i++) {
        struct nic_track *t = &m->nics[i];
        if (!t->by_addr || !mon_addr_eq(&a->cfg.nics[i].addr, &ev->u.addr.addr))
            continue;
        t->addr_present = ev->u.addr.present;
        if (ev->u.addr.present && !a->cfg.nics[i].name[0]) {
            t->ifindex = ev->u.addr.ifindex;
            struct link_seen *l = link_slot(m, t->ifindex, false);
            t->link_up = l ? l->up : false;
        }
    }
    for (size_t i = 0; i < a->cfg.n_vips; i++)
        if (mon_addr_eq(&a->cfg.vips[i].addr, &ev->u.addr.addr))
            m->vip_present[i] = ev->u.addr.present;
    report_nics(a);
    report_vips(a);
}

/* Every probe answer updates the row; only a change of state reaches the engine
 * (at 10,000 DNs answers arrive by the thousand each second). */
static void on_dn(struct agent *a, const struct mon_event *ev)
{
    uint32_t idx = ev->u.dn.dn - 1;
    struct sipha_dn *d = rows_find(&a->inst.dns, ev->u.dn.dn);
    if (!d || idx >= a->cfg.n_dns)
        return;
    if (ev->u.dn.in_service) {
        d->last_response = loop_now(a->loop);
        d->last_status = ev->u.dn.status_code;
        d->rtt_us = ev->u.dn.rtt_us;
    }
    uint8_t st = ev->u.dn.in_service ? HA_DN_IN_SERVICE : HA_DN_OUT_OF_SERVICE;
    if (a->mon->dn_reported[idx] == st)
        return;
    a->mon->dn_reported[idx] = st;
    struct ha_input in = { .kind = HA_IN_DN_STATE, .u.dn = { idx, ev->u.dn.in_service } };
    feed(a, &in);
}

static void flush_sip(void *arg)
{
    struct agent *a = arg;
    struct ha_mon *m = a->mon;
    m->sip_timer = 0;
    struct ha_input in = { .kind = HA_IN_SIP_MESSAGE, .u.sip = { m->sip_pending } };
    m->sip_pending = 0;
    if (in.u.sip.count)
        feed(a, &in);
}

/* SIP messages are fed once per loop pass, however many arrived in it. */
static void on_sip(struct agent *a, uint32_t count)
{
    struct ha_mon *m = a->mon;
    m->sip_pending += count;
    if (!m->sip_timer)
        m->sip_timer = loop_timer_add(a->loop, 0, flush_sip, a);
}

static bool no_sources; /* ha_monitors_test_no_sources */

void ha_monitors_test_no_sources(bool on)
{
    no_sources = on;
}

void ha_monitors_event(struct agent *a, const struct mon_event *ev)
{
    struct sipha_dn *d;
    if (!a->mon)
        return;
    switch (ev->kind) {
    case MON_LINK: on_link(a, ev); break;
    case MON_ADDR: on_addr(a, ev); break;
    case MON_NETLINK_SYNCED:
        a->mon->synced = true;
        report_nics(a);
        report_vips(a);
        break;
    case MON_LISTENER:
        a->mon->port_seen = true;
        a->mon->port_bound = ev->u.listener.bound;
        report_listener(a);
        break;
    case MON_SIP_MESSAGE: on_sip(a, ev->u.sip.count); break;
    case MON_SIP_MALFORMED: break;
    case MON_DN: on_dn(a, ev); break;
    case MON_PROBE_SENT:
        if ((d = rows_find(&a->inst.dns, ev->u.probe.dn)))
            d->probes++;
        break;
    case MON_PROBE_TIMEOUT:
        if ((d = rows_find(&a->inst.dns, ev->u.probe.dn)))
            d->timeouts++;
        break;
    }
}

static void on_event(void *ctx, const struct mon_event *ev)
{
    ha_monitors_event(ctx, ev);
}

void ha_monitors_arbiter(struct agent *a, bool reachable)
{
    struct ha_input in = { .kind = HA_IN_ARBITER, .u.flag = reachable };
    feed(a, &in);
}

static void on_arbiter(void *ctx, bool reachable)
{
    ha_monitors_arbiter(ctx, reachable);
}

static int open_probe(struct agent *a, struct ha_mon *m, char *err, size_t errlen)
{
    size_t n = a->cfg.n_dns;
    if (n == 0)
        return 0;
    struct mon_probe_dn *dns = calloc(n, sizeof(*dns));
    if (!dns)
        return -1;
    for (size_t i = 0; i < n; i++)
        dns[i] = (struct mon_probe_dn){ (uint32_t)i + 1, a->cfg.dns[i].uri, a->cfg.dns[i].oos_check,
                                        a->cfg.dns[i].oos_force };
    struct mon_probe_config pc = { .local = a->cfg.sip_addr, .sip_port = a->cfg.sip_port,
                                   .use_sip_port = false, .dns = dns, .n_dns = n };
    int rc = mon_probe_open(&m->probe, a->loop, &pc, on_event, a, err, errlen);
    free(dns);
    if (rc == 0 && m->listener)
        mon_listener_ignore_inode(m->listener, mon_probe_inode(m->probe));
    return rc;
}

/* The packet socket needs CAP_NET_RAW; without it only probe answers count as SIP
 * traffic, which the log says loudly since sip-pass-check then judges on less. SIP
 * traffic is what arrives at the SIP address or at a VIP (the phones' address). */
static void open_sip(struct agent *a, struct ha_mon *m)
{
    char err[256];
    struct mon_sip_config sc = { .addr = a->cfg.sip_addr, .port = a->cfg.sip_port };
    for (size_t i = 0; i < a->cfg.n_vips; i++) { /* where the phones send */
        if (sc.n_also == MON_SIP_ALSO_MAX) {
            snmp_log(LOG_WARNING, "sipha[%u]: SIP traffic to VIPs beyond the first %u is not "
                     "counted\n", a->inst.index, MON_SIP_ALSO_MAX);
            break;
        }
        sc.also[sc.n_also++] = a->cfg.vips[i].addr;
    }
    if (mon_sip_open(&m->sip, a->loop, &sc, on_event, a, err, sizeof(err)) != 0)
        snmp_log(LOG_WARNING, "sipha[%u]: SIP traffic counting disabled: %s\n", a->inst.index, err);
}

static int alloc_tracking(struct agent *a, struct ha_mon *m)
{
    size_t nn = a->cfg.n_nics ? a->cfg.n_nics : 1, nv = a->cfg.n_vips ? a->cfg.n_vips : 1;
    m->nics = calloc(nn, sizeof(*m->nics));
    m->vip_present = calloc(nv, sizeof(bool));
    m->vip_reported = calloc(nv, sizeof(bool));
    m->vip_last = calloc(nv, sizeof(bool));
    m->dn_reported = calloc(a->cfg.n_dns ? a->cfg.n_dns : 1, 1);
    if (!m->nics || !m->vip_present || !m->vip_reported || !m->vip_last || !m->dn_reported)
        return -1;
    for (size_t i = 0; i < a->cfg.n_nics; i++)
        m->nics[i].by_addr = a->cfg.nics[i].addr.family != 0;
    return 0;
}

/* The arbiter: an HTTP probe, or etcd's key as the engine's lock (arbiter_lock.c
 * feeds the engine itself: reachability and the lock). */
static int open_arbiter(struct agent *a, struct ha_mon *m, char *err, size_t errlen)
{
    if (!a->cfg.has_arbiter)
        return 0;
    if (a->cfg.arbiter_kind == ARBITER_ETCD)
        return arbiter_lock_start(a, err, errlen);
    return mon_arbiter_open(&m->arbiter, a->loop, a->cfg.arbiter_url, a->cfg.arbiter_interval_ms,
                            a->cfg.arbiter_timeout_ms, on_arbiter, a, err, errlen);
}

int ha_monitors_start(struct agent *a)
{
    char err[256] = "";
    struct ha_mon *m = calloc(1, sizeof(*m));
    a->mon = m;
    if (!m || alloc_tracking(a, m) != 0)
        return -1;
    if (no_sources)
        return 0;
    struct mon_netlink_config nc = { 0 };
    /* Polled twice a second so that a SIP server that dies raises 00-04200 within a
     * second (one sock_diag query each time: negligible). */
    struct mon_listener_config lc = { .addr = a->cfg.sip_addr, .port = a->cfg.sip_port,
                                      .interval_ms = 500 };
    if (mon_netlink_open(&m->netlink, a->loop, &nc, on_event, a, err, sizeof(err)) != 0 ||
        mon_listener_open(&m->listener, a->loop, &lc, on_event, a, err, sizeof(err)) != 0 ||
        open_probe(a, m, err, sizeof(err)) != 0 || open_arbiter(a, m, err, sizeof(err)) != 0) {
        snmp_log(LOG_ERR, "sipha[%u]: cannot start monitors: %s\n", a->inst.index, err);
        return -1;
    }
    open_sip(a, m);
    return 0;
}

void ha_monitors_stop(struct agent *a)
{
    struct ha_mon *m = a->mon;
    if (!m)
        return;
    if (m->sip_timer)
        loop_timer_cancel(a->loop, m->sip_timer);
    if (m->arbiter)
        mon_arbiter_close(m->arbiter);
    arbiter_lock_stop(a);
    if (m->probe)
        mon_probe_close(m->probe);
    if (m->sip)
        mon_sip_close(m->sip);
    if (m->listener)
        mon_listener_close(m->listener);
    if (m->netlink)
        mon_netlink_close(m->netlink);
    free(m->nics);
    free(m->vip_present);
    free(m->vip_reported);
    free(m->vip_last);
    free(m->dn_reported);
    free(m->links);
    free(m);
    a->mon = NULL;
}
