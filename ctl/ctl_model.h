/* ctl_model.h — what sipha-ctl reads of a node: every SIPHA-MIB instance its SNMP
 * agent shows (role, status, peer, VIPs, last switchover, active alarms), read with
 * the OIDs and columns of mib/sipha_mib.h as an NMS would. Enumerated values keep
 * their MIB numbers (the engine's enums); ctl_names.h turns them into labels. */
#ifndef SIPHA_CTL_MODEL_H
#define SIPHA_CTL_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ctl_snmp.h"
#include "eventlog.h"
#include "ha_types.h"
#include "instance.h"

#define CTL_ADDR_MAX 48 /* an IPv6 address in text */
#define CTL_TIME_MAX 32 /* "2026-01-02T03:04:05Z", or with an offset */

struct ctl_vip {
    uint32_t index;
    char address[CTL_ADDR_MAX];
    char interface[SIPHA_NAME_MAX];
    int expected, actual, status; /* enum ha_vip_expect, ha_vip_actual, ha_vip_status */
};

/* An event-table row whose siphaEventAlarmState is active(2). */
struct ctl_alarm {
    uint32_t index;
    char id[EVLOG_ID_MAX];     /* "00-04200" */
    int severity;              /* enum notif_severity */
    char time[CTL_TIME_MAX];   /* from siphaEventDateAndTime; "" when unknown */
    const char *notification;  /* descriptor of the notification sent, or NULL */
    char text[EVLOG_TEXT_MAX];
};

struct ctl_inst {
    uint32_t index;
    char name[SIPHA_NAME_MAX];
    int role, status;          /* enum ha_role, ha_status */
    uint32_t priority, epoch;
    uint32_t switchovers;
    int last_reason;           /* enum ha_reason */
    /* The newest siphaSwitchover row of the event log, and its time: 0 and "" when
     * there was none or the log no longer holds it. */
    uint32_t last_switchover_event;
    char last_switchover_time[CTL_TIME_MAX];
    char peer_name[SIPHA_NAME_MAX];
    int peer_role, peer_status; /* enum ha_role, ha_status */
    int peer_link;              /* enum ha_link */
    int peer_hears_us;          /* TruthValue: 1 true, 2 false */
    int admin_result;           /* enum ha_admin_result */
    struct ctl_vip *vips;
    size_t nvips, vips_cap;
    struct ctl_alarm *alarms;
    size_t nalarms, alarms_cap;
};

/* One target: ok when it answered and every table was read; otherwise error says
 * why (no answer: unreachable; or authentication, access, ...) and inst is empty. */
struct ctl_node {
    struct ctl_target *target;
    bool ok;
    bool unreachable; /* not ok because nothing answered */
    char error[CTL_ERR_MAX];
    struct ctl_inst *inst;
    size_t ninst, inst_cap;
};

/* Reads everything about the instances `t` shows into n (zeroed first). Returns 0,
 * or -1 with n->ok false and n->error set. */
int ctl_node_read(struct ctl_node *n, struct ctl_target *t);
void ctl_node_free(struct ctl_node *n);

/* What a switchover is watched by: one GET of an instance's role, its view of the
 * peer's role, and siphaInstAdminResult. Returns 0, or -1 with t->error set. */
struct ctl_roles {
    int role, peer_role, admin_result;
};
int ctl_read_roles(struct ctl_target *t, uint32_t instance, struct ctl_roles *r);

/* SETs siphaInstAdminCommand.instance to cmd. Returns 0, or -1 with t->error set
 * and *errstat the agent's error status (0 when it did not answer). */
int ctl_set_admin(struct ctl_target *t, uint32_t instance, enum ha_admin_cmd cmd, long *errstat);

#endif
