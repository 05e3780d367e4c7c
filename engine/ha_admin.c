/* ha_admin.c — the operator's commands (siphaInstAdminCommand).
 *
 * Whichever side the operator asks, the pair makes one coordinated switchover: the
 * primary releases and sends TAKEOVER; the backup sends RELEASE and the primary,
 * receiving it, does the same. becomePrimary on the primary and becomeBackup on the
 * backup succeed at once and change nothing. With the peer out of reach, a backup's
 * becomePrimary takes the role (an operator override, unless quorum or the
 * management NIC forbid it) and every other switchover is refused. The result is
 * inProgress until the peer (or this side) reports the new role, then success;
 * failed when that does not happen within 2 x settle_ms or the peer is lost. */
#include "ha_engine_int.h"

static void wait_for(struct ha_engine *e, enum ha_admin_wait w, uint32_t epoch)
{
    e->p.admin_wait = w;
    e->p.admin_epoch = epoch;
    e->p.admin_deadline = e->p.now + 2ull * e->p.settle_ms;
    ha_emit_admin_result(e, HA_RESULT_IN_PROGRESS);
}

static void from_primary(struct ha_engine *e)
{
    /* handing the role to a peer that cannot serve would only bounce it back */
    if (!ha_peer_ok(e)) {
        ha_emit_admin_result(e, HA_RESULT_REFUSED);
        return;
    }
    uint32_t epoch = ha_next_epoch(e);
    ha_release(e, HA_REASON_ADMIN);
    wait_for(e, HA_ADMIN_WAIT_PEER, epoch);
}

static void from_backup(struct ha_engine *e, enum ha_admin_cmd cmd)
{
    if (!ha_can_be_primary(e) || e->st.status == HA_STATUS_SERVICE_UNAVAILABLE) {
        ha_emit_admin_result(e, HA_RESULT_REFUSED);
        return;
    }
    if (ha_peer_up(e) && e->st.peer.role == HA_ROLE_PRIMARY) {
        struct ha_output o = { .kind = HA_OUT_PEER_SEND };
        o.u.peer.cmd = HA_CMD_PEER_RELEASE;
        o.u.peer.epoch = e->st.epoch;
        o.u.peer.reason = HA_REASON_ADMIN;
        o.u.peer.factor = e->st.backoff_factor;
        ha_emit(e, &o);
        wait_for(e, HA_ADMIN_WAIT_SELF, 0);
        return;
    }
    /* no primary to coordinate with: switchover needs a peer, becomePrimary does not */
    if (!ha_peer_up(e) && cmd != HA_CMD_BECOME_PRIMARY) {
        ha_emit_admin_result(e, HA_RESULT_REFUSED);
        return;
    }
    ha_become_primary(e, HA_REASON_ADMIN, ha_next_epoch(e));
    ha_emit_admin_result(e, HA_RESULT_SUCCESS);
}

void ha_admin_in(struct ha_engine *e, enum ha_admin_cmd cmd)
{
    enum ha_role r = e->st.role;
    if (cmd == HA_CMD_NONE)
        return;
    if (r == HA_ROLE_UNKNOWN || e->p.admin_wait != HA_ADMIN_IDLE) {
        ha_emit_admin_result(e, HA_RESULT_REFUSED); /* starting, or one already running */
        return;
    }
    if ((cmd == HA_CMD_BECOME_PRIMARY && r == HA_ROLE_PRIMARY) ||
        (cmd == HA_CMD_BECOME_BACKUP && r == HA_ROLE_BACKUP)) {
        ha_emit_admin_result(e, HA_RESULT_SUCCESS);
        return;
    }
    if (r == HA_ROLE_PRIMARY)
        from_primary(e);
    else
        from_backup(e, cmd);
}

void ha_admin_eval(struct ha_engine *e)
{
    const struct ha_peer_state *p = &e->st.peer;
    bool done = false;
    switch (e->p.admin_wait) {
    case HA_ADMIN_IDLE:
        return;
    case HA_ADMIN_WAIT_PEER:
        done = ha_peer_up(e) && p->role == HA_ROLE_PRIMARY && p->epoch >= e->p.admin_epoch;
        break;
    case HA_ADMIN_WAIT_SELF:
        done = e->st.role == HA_ROLE_PRIMARY;
        break;
    }
    if (done) {
        e->p.admin_wait = HA_ADMIN_IDLE;
        ha_emit_admin_result(e, HA_RESULT_SUCCESS);
    } else if (!ha_peer_up(e) || e->p.now >= e->p.admin_deadline) {
        e->p.admin_wait = HA_ADMIN_IDLE;
        ha_emit_admin_result(e, HA_RESULT_FAILED);
    }
}

uint64_t ha_admin_deadline(const struct ha_engine *e)
{
    return e->p.admin_wait == HA_ADMIN_IDLE ? HA_NEVER : e->p.admin_deadline;
}
