/* ha_engine_int.h — shared between the engine's files, not part of its API.
 *
 * The engine is split by concern: ha_engine.c (API, input checks, rule order),
 * ha_core.c (outputs, role changes, status, alarms), ha_traffic.c (sip-pass-check and
 * backoff), ha_vip.c (VIP scripts and monitoring), ha_nic.c (NIC monitoring),
 * ha_listener.c (listener bind failure), ha_peer.c (peer, arbiter, startup, quorum,
 * split brain), ha_handover.c (handing the role over), ha_admin.c (operator
 * commands), ha_shutdown.c (graceful stop), ha_lock.c (the arbiter as a lock). Each
 * rule file offers `_eval` (apply the rule now) and `_deadline` (when it next needs a
 * TICK, UINT64_MAX for never). */
#ifndef SIPHA_HA_ENGINE_INT_H
#define SIPHA_HA_ENGINE_INT_H

#include "ha_engine.h"

#define HA_NEVER UINT64_MAX

/* ha_core.c */
void ha_emit(struct ha_engine *e, const struct ha_output *o);
void ha_notify(struct ha_engine *e, enum ha_notif id, uint32_t row);
void ha_emit_admin_result(struct ha_engine *e, enum ha_admin_result r);
void ha_update_status(struct ha_engine *e);
void ha_set_cause(struct ha_engine *e, unsigned cause, bool on);
uint32_t ha_next_epoch(const struct ha_engine *e);
void ha_become_primary(struct ha_engine *e, enum ha_reason reason, uint32_t epoch);
void ha_become_backup(struct ha_engine *e, enum ha_reason reason);
bool ha_opt(const struct ha_engine *e, unsigned opt);
bool ha_quorum_ok(const struct ha_engine *e);
bool ha_can_be_primary(const struct ha_engine *e);
bool ha_peer_up(const struct ha_engine *e);
bool ha_peer_fresh(const struct ha_engine *e);
bool ha_peer_ok(const struct ha_engine *e);
bool ha_self_unavailable(const struct ha_engine *e);
bool ha_loses_tiebreak(const struct ha_engine *e);
uint64_t ha_backoff_hold_until(const struct ha_engine *e);
void ha_alarm_raise(struct ha_engine *e, struct ha_alarm *a, enum ha_notif id);
void ha_alarm_clear(struct ha_engine *e, struct ha_alarm *a, enum ha_notif id);
void ha_alarm_eval(struct ha_engine *e);
uint64_t ha_alarm_deadline(const struct ha_engine *e);

/* ha_traffic.c */
void ha_traffic_init(struct ha_engine *e, const struct ha_config *cfg);
void ha_traffic_sip(struct ha_engine *e, uint32_t count);
void ha_traffic_dn(struct ha_engine *e, uint32_t idx, bool in_service);
void ha_traffic_peer_seen(struct ha_engine *e);
void ha_traffic_on_role(struct ha_engine *e);
void ha_traffic_takeover(struct ha_engine *e, const struct ha_peer_msg *m);
void ha_traffic_options(struct ha_engine *e, unsigned old_opts);
void ha_traffic_eval(struct ha_engine *e);
uint64_t ha_traffic_deadline(const struct ha_engine *e);
void ha_traffic_refresh(struct ha_engine *e);
void ha_traffic_adopt(struct ha_engine *e, uint32_t factor);

/* ha_vip.c */
void ha_vip_on_role(struct ha_engine *e);
void ha_vip_state_in(struct ha_engine *e, uint32_t idx, bool present);
void ha_vip_script_done(struct ha_engine *e, uint32_t idx, uint32_t seq, int32_t status);
void ha_vip_options(struct ha_engine *e, unsigned old_opts);
void ha_vip_eval(struct ha_engine *e);
uint64_t ha_vip_deadline(const struct ha_engine *e);
void ha_vip_refresh(struct ha_engine *e);
bool ha_vip_any_running(const struct ha_engine *e);

/* ha_nic.c */
void ha_nic_state_in(struct ha_engine *e, uint32_t idx, bool up);
void ha_nic_options(struct ha_engine *e, unsigned old_opts);
bool ha_nic_mgmt_down(const struct ha_engine *e);
void ha_nic_eval(struct ha_engine *e);

/* ha_listener.c */
void ha_listener_in(struct ha_engine *e, bool bound);
void ha_listener_eval(struct ha_engine *e);
uint64_t ha_listener_deadline(const struct ha_engine *e);

/* ha_peer.c */
void ha_peer_state_in(struct ha_engine *e, const struct ha_peer_state *ps);
void ha_peer_lost_in(struct ha_engine *e);
void ha_arbiter_in(struct ha_engine *e, bool reachable);
void ha_peer_eval_link(struct ha_engine *e);
void ha_peer_eval_start(struct ha_engine *e);
void ha_peer_eval_quorum(struct ha_engine *e);
void ha_peer_eval_split(struct ha_engine *e);
/* Our arbiter state or split-relevant options changed: see ha_peer.c. */
void ha_peer_hold_split(struct ha_engine *e);
void ha_peer_eval_takeover(struct ha_engine *e);
uint64_t ha_peer_deadline(const struct ha_engine *e);

/* ha_handover.c */
void ha_release(struct ha_engine *e, enum ha_reason reason);
void ha_handover_takeover_in(struct ha_engine *e, const struct ha_peer_msg *m);
void ha_handover_release_in(struct ha_engine *e);
void ha_handover_eval(struct ha_engine *e);
void ha_handover_eval_noprimary(struct ha_engine *e);
uint64_t ha_handover_deadline(const struct ha_engine *e);
void ha_handover_flush(struct ha_engine *e);

/* ha_admin.c */
void ha_admin_in(struct ha_engine *e, enum ha_admin_cmd cmd);
void ha_admin_eval(struct ha_engine *e);
uint64_t ha_admin_deadline(const struct ha_engine *e);

/* ha_lock.c */
bool ha_lock_gate(struct ha_engine *e, enum ha_reason reason, uint32_t epoch);
void ha_lock_on_backup(struct ha_engine *e);
bool ha_lock_busy(const struct ha_engine *e);
void ha_lock_in(struct ha_engine *e, enum ha_lock_event ev);
void ha_lock_eval(struct ha_engine *e);
uint64_t ha_lock_deadline(const struct ha_engine *e);

/* ha_shutdown.c */
void ha_shutdown_in(struct ha_engine *e);
void ha_shutdown_eval(struct ha_engine *e);
uint64_t ha_shutdown_deadline(const struct ha_engine *e);

static inline uint64_t ha_min_u64(uint64_t a, uint64_t b)
{
    return a < b ? a : b;
}

static inline uint64_t ha_max_u64(uint64_t a, uint64_t b)
{
    return a > b ? a : b;
}

#endif
