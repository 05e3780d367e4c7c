/* vip_keeper.c — see vip_keeper.h. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include <net-snmp/net-snmp-config.h>
#include <net-snmp/net-snmp-includes.h>

#include "vip_announce.h"
#include "vip_keeper.h"
#include "vip_lifetime.h"

struct vip_keeper {
    struct agent *a;
    struct vipann *ann;
    struct viplft *lft;
    bool *held;              /* per VIP: present on this primary, announced, on lifetime */
    uint64_t renew_timer;
    uint32_t renew_ms;
};

static void log_vip(struct agent *a, int prio, size_t i, const char *what, const char *err)
{
    char buf[64];
    snmp_log(prio, "sipha[%u]: VIP %s: %s: %s\n", a->inst.index,
             sipha_addr_format(&a->cfg.vips[i].addr, buf, sizeof(buf)), what, err);
}

static void set_lifetime(struct vip_keeper *k, size_t i)
{
    const struct config_vip *v = &k->a->cfg.vips[i];
    char err[256];
    int rc = viplft_set(k->lft, v->interface, &v->addr, v->prefix_len,
                        k->a->cfg.vip_lifetime_s, err, sizeof(err));
    /* Absent: the netlink monitor reports it and the engine runs the up script. */
    if (rc != 0 && rc != -ENOENT)
        log_vip(k->a, LOG_WARNING, i, "cannot renew its lifetime", err);
}

static void announce(struct vip_keeper *k, size_t i, unsigned count)
{
    const struct config_vip *v = &k->a->cfg.vips[i];
    char err[256];
    if (count == 0)
        return;
    if (vipann_announce(k->ann, v->interface, &v->addr, count,
                        k->a->cfg.announce_interval_ms, err, sizeof(err)) != 0)
        log_vip(k->a, LOG_WARNING, i, "cannot announce it", err);
}

/* While the peer is not heard, the peer's host may still hold the VIP (a frozen or
 * crashed agent, until the VIP's lifetime ends; a partition) and answer ARP for it,
 * so a client may turn to it: one announcement per tick brings clients back. */
static void on_renew(void *arg)
{
    struct vip_keeper *k = arg;
    struct agent *a = k->a;
    k->renew_timer = loop_timer_add(a->loop, k->renew_ms, on_renew, k);
    bool peer_unheard = a->cfg.has_peer && instance_ha(&a->inst)->peer_link != HA_LINK_UP;
    for (size_t i = 0; i < a->cfg.n_vips; i++) {
        if (!k->held[i])
            continue;
        if (k->lft)
            set_lifetime(k, i);
        if (peer_unheard && a->cfg.announce_count && !vipann_active(k->ann, &a->cfg.vips[i].addr))
            announce(k, i, 1);
    }
}

static void on_announce_error(void *ctx, const struct sipha_addr *addr, const char *ifname,
                              const char *msg)
{
    struct vip_keeper *k = ctx;
    char buf[64];
    snmp_log(LOG_WARNING, "sipha[%u]: VIP %s on %s: announcement failed: %s\n", k->a->inst.index,
             sipha_addr_format(addr, buf, sizeof(buf)), ifname, msg);
}

/* VIPs without an interface are the scripts' business alone: nothing to announce on
 * and no address of ours to renew. */
static bool has_vip_interfaces(const struct sipha_config *c)
{
    for (size_t i = 0; i < c->n_vips; i++)
        if (c->vips[i].interface[0])
            return true;
    return false;
}

int vipkeep_start(struct agent *a)
{
    if (!has_vip_interfaces(&a->cfg))
        return 0;
    struct vip_keeper *k = calloc(1, sizeof(*k));
    char err[256] = "";
    if (!k || !(k->held = calloc(a->cfg.n_vips, sizeof(*k->held))))
        goto fail;
    k->a = a;
    a->vips = k;
    k->ann = vipann_new(a->loop, on_announce_error, k);
    if (!k->ann)
        goto fail;
    /* Renewed three times per lifetime: two renewals may fail (a busy host) before
     * the VIP would expire under a live agent. */
    k->renew_ms = 1000u;
    if (a->cfg.vip_lifetime_s) {
        if (!(k->lft = viplft_open(err, sizeof(err))))
            goto fail;
        k->renew_ms = a->cfg.vip_lifetime_s * 1000u / 3u;
    }
    k->renew_timer = loop_timer_add(a->loop, k->renew_ms, on_renew, k);
    return 0;
fail:
    snmp_log(LOG_ERR, "sipha[%u]: VIP keeper: %s\n", a->inst.index, err[0] ? err : "out of memory");
    vipkeep_stop(a);
    return -1;
}

void vipkeep_stop(struct agent *a)
{
    struct vip_keeper *k = a->vips;
    if (!k)
        return;
    if (k->renew_timer)
        loop_timer_cancel(a->loop, k->renew_timer);
    if (k->ann)
        vipann_free(k->ann);
    if (k->lft)
        viplft_close(k->lft);
    free(k->held);
    free(k);
    a->vips = NULL;
}

void vipkeep_sync(struct agent *a, const struct ha_state *st)
{
    struct vip_keeper *k = a->vips;
    if (!k)
        return;
    for (size_t i = 0; i < a->cfg.n_vips && i < st->n_vips; i++) {
        bool hold = st->role == HA_ROLE_PRIMARY && st->vips[i].actual == HA_VIP_PRESENT &&
                    a->cfg.vips[i].interface[0];
        if (hold && !k->held[i]) {
            if (k->lft)
                set_lifetime(k, i);
            announce(k, i, a->cfg.announce_count);
        } else if (!hold && k->held[i]) {
            vipann_cancel(k->ann, &a->cfg.vips[i].addr);
        }
        k->held[i] = hold;
    }
}

void vipkeep_reannounce(struct agent *a)
{
    struct vip_keeper *k = a->vips;
    if (!k)
        return;
    for (size_t i = 0; i < a->cfg.n_vips; i++)
        if (k->held[i])
            announce(k, i, a->cfg.announce_count);
}
