/* sample_instance.c — the made-up but consistent instance of sample_instance.h. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "sample_instance.h"

static bool is_a(uint32_t index)
{
    return index % 2 == 1;
}

/* `ago` ms before now, never "never" (0) nor before the sample's start. */
static sipha_ms before(uint64_t now_ms, uint64_t ago)
{
    uint64_t base = sample_uptime_base(now_ms);
    return now_ms - base > ago ? now_ms - ago : base + 1;
}

static int64_t wall_ms_ago(uint64_t ago)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000 - (int64_t)ago;
}

uint64_t sample_uptime_base(uint64_t now_ms)
{
    return now_ms > SAMPLE_UPTIME_MS ? now_ms - SAMPLE_UPTIME_MS : 0;
}

static void fill_identity(struct sipha_instance *in, struct ha_state *st, uint32_t index,
                          uint64_t now)
{
    bool a = is_a(index);
    in->index = index;
    snprintf(in->name, sizeof(in->name), "%s", a ? "sip-a" : "sip-b");
    in->priority = a ? 1 : 2;
    sipha_addr_parse(&in->sip_addr, a ? "192.0.2.10" : "192.0.2.11");
    in->sip_port = 5060;
    st->options = HA_OPT_SIP_PASS_CHECK | HA_OPT_CONTROL_VIP_SCRIPTS |
                  HA_OPT_IPTAKEOVER_MONITORING | HA_OPT_TLIB_NIC_MONITORING |
                  HA_OPT_SIP_NIC_MONITORING;
    st->role = a ? HA_ROLE_PRIMARY : HA_ROLE_BACKUP;
    st->status = HA_STATUS_RUNNING;
    st->epoch = 7;
    st->listener = HA_LISTENER_BOUND;
    st->traffic = a ? HA_TRAFFIC_FLOWING : HA_TRAFFIC_NOT_MONITORED;
    st->sip_msgs = a ? 1234567 : 0;
    st->last_sip_msg = a ? before(now, 2000) : 0;
    /* T = max over the DNs of oos-check + max(oos-force, 5): DN 2 gives 60 + 5. */
    st->oos_base_s = 65;
    st->oos_eff_s = 65;
    st->backoff_factor = 1;
    st->switchovers = 3;
    st->last_switchover = before(now, 600000);
    st->last_reason = HA_REASON_ADMIN;
}

static void fill_peer(struct sipha_instance *in, struct ha_state *st, uint64_t now)
{
    bool a = is_a(in->index);
    snprintf(in->peer_name, sizeof(in->peer_name), "%s", a ? "sip-b" : "sip-a");
    st->peer.role = a ? HA_ROLE_BACKUP : HA_ROLE_PRIMARY;
    st->peer.status = HA_STATUS_RUNNING;
    st->peer.hears_peer = true;
    st->peer_link = HA_LINK_UP;
    st->peer_last_seen = before(now, 1000);
    st->arbiter = HA_LINK_UP;
    in->arbiter_kind = ARBITER_MIB_HTTP; /* the URL names the arbiter in its notifications */
    snprintf(in->arbiter_url, sizeof(in->arbiter_url), "http://192.0.2.50:8080/health");
    in->admin_cmd = HA_CMD_NONE;
    st->admin_result = HA_RESULT_SUCCESS;
    in->admin_time = st->last_switchover;
}

static int add_nics(struct sipha_instance *in, struct ha_state *st, uint64_t now)
{
    bool a = is_a(in->index);
    struct sipha_nic mgmt = {
        .index = SAMPLE_NIC_MGMT, .purpose = HA_NIC_MANAGEMENT, .ifindex = 2, .name = "eth0",
    };
    struct sipha_nic sip = {
        .index = SAMPLE_NIC_SIP, .purpose = HA_NIC_SIP, .ifindex = 3, .name = "eth1",
    };
    st->n_nics = 2;
    st->nics[SAMPLE_NIC_MGMT - 1] = (struct ha_nic_state){
        .purpose = HA_NIC_MANAGEMENT, .oper = HA_OPER_UP, .last_change = before(now, 3000000),
    };
    st->nics[SAMPLE_NIC_SIP - 1] = (struct ha_nic_state){
        .purpose = HA_NIC_SIP, .oper = HA_OPER_UP, .last_change = before(now, 1200000),
        .failures = 1,
    };
    sipha_addr_parse(&mgmt.addr, a ? "198.51.100.10" : "198.51.100.11");
    sip.addr = in->sip_addr;
    return instance_put_nic(in, &mgmt) && instance_put_nic(in, &sip) ? 0 : -1;
}

static int add_vip(struct sipha_instance *in, struct ha_state *st)
{
    bool a = is_a(in->index);
    struct sipha_vip vip = {
        .index = SAMPLE_VIP, .prefix_len = 24, .interface = "eth1",
        .up_script = "/etc/sipha/vip-up.sh", .down_script = "/etc/sipha/vip-down.sh",
    };
    st->n_vips = 1;
    st->vips[SAMPLE_VIP - 1] = (struct ha_vip_state){
        .expected = a ? HA_VIP_EXPECT_PRESENT : HA_VIP_EXPECT_ABSENT,
        .actual = a ? HA_VIP_PRESENT : HA_VIP_ABSENT,
        .status = HA_VIP_OK, .script_runs = 2, .last_exit = 0,
        .last_change = st->last_switchover,
    };
    sipha_addr_parse(&vip.addr, "192.0.2.100");
    return instance_put_vip(in, &vip) ? 0 : -1;
}

static int add_dns(struct sipha_instance *in, struct ha_state *st, uint64_t now)
{
    st->n_dns = 2;
    st->dn_state[SAMPLE_DN - 1] = st->dn_state[SAMPLE_DN] = HA_DN_IN_SERVICE;
    struct sipha_dn gw = {
        .index = SAMPLE_DN, .name = "gw-1", .uri = "sip:gw-1@192.0.2.50:5060",
        .oos_check = 30, .oos_force = 10,
        .last_response = before(now, 5000), .last_status = 200, .rtt_us = 850,
        .probes = 120, .timeouts = 0,
    };
    struct sipha_dn media = {
        .index = SAMPLE_DN + 1, .name = "media-1", .uri = "sip:media-1@192.0.2.51:5060",
        .oos_check = 60, .oos_force = 5,
        .last_response = before(now, 20000), .last_status = 200, .rtt_us = 1320,
        .probes = 60, .timeouts = 1,
    };
    return instance_put_dn(in, &gw) && instance_put_dn(in, &media) ? 0 : -1;
}

static int add_contact(struct sipha_instance *in, uint64_t now)
{
    struct sipha_contact c = {
        .index = SAMPLE_CONTACT, .aor = "sip:1001@example.com",
        .uri = "sip:1001@192.0.2.60:5062;transport=udp", .expires_at = now + 1800000,
        .origin = is_a(in->index) ? CONTACT_LOCAL : CONTACT_SYNCED,
    };
    return instance_put_contact(in, &c) ? 0 : -1;
}

/* Logs `def` the way the agent does; `ago` ms before now. Returns the index or 0. */
static uint32_t log_event(struct sipha_instance *in, const struct notif_def *def,
                          uint32_t row, uint64_t now, uint64_t ago)
{
    struct evlog_entry e;
    memset(&e, 0, sizeof(e));
    snprintf(e.id, sizeof(e.id), "%s", def->event_id);
    e.code = def->code;
    e.severity = def->severity;
    e.mono_ms = before(now, ago);
    e.wall_ms = wall_ms_ago(ago);
    if (row)
        snprintf(e.text, sizeof(e.text), "%s (row %u)", def->text, (unsigned)row);
    else
        snprintf(e.text, sizeof(e.text), "%s", def->text);
    e.notif = def->id;
    e.alarm = def->is_alarm ? ALARM_ACTIVE : ALARM_NONE;
    const struct evlog_entry *stored = evlog_append(&in->events, &e);
    return stored ? stored->index : 0;
}

/* An alarm raised half an hour ago and cleared since: what siphaAlarmCleared
 * speaks of. */
static int add_cleared_alarm(struct sipha_instance *in, uint64_t now)
{
    const struct notif_def *def = notif_def_get(HA_NOTIF_LISTENER_BIND_FAILURE);
    uint32_t ev = log_event(in, def, 0, now, 1800000);
    struct evlog_entry *e = ev ? evlog_find(&in->events, ev) : NULL;
    if (!e)
        return -1;
    e->alarm = ALARM_CLEARED;
    return 0;
}

int sample_instance_fill_at(struct sample_instance *s, uint32_t index, uint64_t now_ms)
{
    struct sipha_instance *in = &s->in;
    struct ha_state *st = &s->ha;
    instance_init(in);
    memset(st, 0, sizeof *st);
    in->ha = st;
    in->state_dir = STATE_DIR_OK;
    /* A Kamailio beside each instance, reached; the backup (sip-b) has written the
     * primary's contacts into its own. */
    in->sip_server_kind = SIP_SERVER_MIB_KAMAILIO;
    in->contact_source = CONTACT_SOURCE_UP;
    in->contact_source_failures = 2;
    in->contacts_written = is_a(index) ? 0 : 42;
    if (index == 0)
        return -1;
    fill_identity(in, st, index, now_ms);
    fill_peer(in, st, now_ms);
    if (add_nics(in, st, now_ms) < 0 || add_vip(in, st) < 0 || add_dns(in, st, now_ms) < 0 ||
        add_contact(in, now_ms) < 0 || add_cleared_alarm(in, now_ms) < 0)
        return -1;
    return 0;
}

void sample_instance_free(struct sample_instance *s)
{
    instance_free(&s->in);
}

int sample_instance_fill(struct sample_instance *s, uint32_t index)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    uint64_t now = (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
    return sample_instance_fill_at(s, index, now);
}

uint32_t sample_row_index(const struct sipha_instance *in, enum sipha_table_id table)
{
    switch (table) {
    case SIPHA_T_NIC: return SAMPLE_NIC_SIP;
    case SIPHA_T_VIP: return SAMPLE_VIP;
    case SIPHA_T_DN: return SAMPLE_DN;
    case SIPHA_T_CONTACT: return SAMPLE_CONTACT;
    case SIPHA_T_EVENT: {
        const struct evlog_entry *e = evlog_next(&in->events, 0, false);
        return e ? e->index : 0;
    }
    default: return 0;
    }
}

/* State changes of the HA notifications (instance-wide). */
static void apply_ha(struct ha_state *st, enum ha_notif id, uint64_t now)
{
    switch (id) {
    case HA_NOTIF_ROLE_CHANGE: st->epoch++; break;
    case HA_NOTIF_SWITCHOVER: st->switchovers++; st->epoch++; st->last_switchover = now; break;
    case HA_NOTIF_SIP_TRAFFIC_LOST:
        st->traffic = HA_TRAFFIC_LOST;
        st->last_sip_msg = before(now, (uint64_t)st->oos_eff_s * 1000);
        break;
    case HA_NOTIF_SIP_TRAFFIC_RESTORED: st->traffic = HA_TRAFFIC_FLOWING; st->last_sip_msg = now; break;
    case HA_NOTIF_DOUBLE_SWITCHOVER:
        st->double_switchovers++;
        st->backoff_factor = 2;
        st->oos_eff_s = st->oos_base_s * 2;
        break;
    case HA_NOTIF_LISTENER_BIND_FAILURE: st->listener = HA_LISTENER_FAILED; break;
    case HA_NOTIF_LISTENER_BOUND: st->listener = HA_LISTENER_BOUND; break;
    case HA_NOTIF_PEER_LOST: st->peer_link = HA_LINK_DOWN; break;
    case HA_NOTIF_PEER_FOUND: st->peer_link = HA_LINK_UP; st->peer_last_seen = now; break;
    case HA_NOTIF_ARBITER_LOST: st->arbiter = HA_LINK_DOWN; break;
    case HA_NOTIF_ARBITER_FOUND: st->arbiter = HA_LINK_UP; break;
    case HA_NOTIF_SPLIT_BRAIN_DETECTED: st->role = st->peer.role = HA_ROLE_PRIMARY; break;
    case HA_NOTIF_SPLIT_BRAIN_RESOLVED: st->peer.role = HA_ROLE_BACKUP; break;
    default: break;
    }
}

/* State changes of the notifications about a row. */
static void apply_rows(struct sipha_instance *in, struct ha_state *st, enum ha_notif id,
                       uint64_t now)
{
    struct ha_nic_state *nic = &st->nics[SAMPLE_NIC_SIP - 1];
    struct ha_vip_state *vip = &st->vips[SAMPLE_VIP - 1];
    uint8_t *dn_state = &st->dn_state[SAMPLE_DN - 1];
    struct sipha_dn *dn = rows_find(&in->dns, SAMPLE_DN);
    if (!dn)
        return;
    switch (id) {
    case HA_NOTIF_DN_OUT_OF_SERVICE: *dn_state = HA_DN_OUT_OF_SERVICE; dn->timeouts++; break;
    case HA_NOTIF_DN_IN_SERVICE: *dn_state = HA_DN_IN_SERVICE; dn->last_status = 200; break;
    case HA_NOTIF_NIC_FAILURE: nic->oper = HA_OPER_DOWN; nic->failures++; nic->last_change = now; break;
    case HA_NOTIF_NIC_RECOVERY: nic->oper = HA_OPER_UP; nic->last_change = now; break;
    case HA_NOTIF_VIP_FAILURE:
        vip->actual = vip->expected == HA_VIP_EXPECT_PRESENT ? HA_VIP_ABSENT : HA_VIP_PRESENT;
        vip->status = HA_VIP_FAILED;
        vip->script_runs++;
        vip->last_exit = 1;
        vip->last_change = now;
        break;
    case HA_NOTIF_VIP_SUCCESS:
        vip->actual = vip->expected == HA_VIP_EXPECT_PRESENT ? HA_VIP_PRESENT : HA_VIP_ABSENT;
        vip->status = HA_VIP_OK;
        vip->last_change = now;
        break;
    default: break;
    }
}

uint32_t sample_instance_notify(struct sample_instance *s, const struct notif_def *def,
                                uint64_t now_ms)
{
    struct sipha_instance *in = &s->in;
    if (!def)
        return 0;
    apply_ha(&s->ha, def->id, now_ms);
    if (def->id == HA_NOTIF_STATE_DIR_FAILURE)
        in->state_dir = STATE_DIR_FAILED;
    if (def->id == HA_NOTIF_CONTACT_SOURCE_LOST) {
        in->contact_source = CONTACT_SOURCE_DOWN;
        in->contact_source_failures++;
    }
    apply_rows(in, &s->ha, def->id, now_ms);
    uint32_t row = sample_row_index(in, (enum sipha_table_id)def->row_table);
    uint32_t ev = log_event(in, def, row, now_ms, 0);
    if (def->row_table == SIPHA_T_EVENT)
        return row; /* the cleared alarm, not the clearing event */
    return ev;
}
