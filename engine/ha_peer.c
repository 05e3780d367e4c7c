/* ha_peer.c — the peer and the arbiter as this instance sees them, and the rules
 * that follow from them: startup, peer loss, quorum, both-primary resolution
 * (split brain, and control-vip-scripts when the arbiter is lost).
 *
 * The peer is up from its first PEER_STATE until PEER_LOST or peer_timeout_ms
 * without a PEER_STATE (the engine times it out itself), unless the adapter
 * reports peer loss (peer_loss_reported: the HA link times the peer out on every
 * datagram and hands over only changed states, so an idle pair does not step the
 * engine per heartbeat). Waits that give a
 * network time to heal (discovery, arbiter settle) are settle_ms: with fast
 * heartbeats peer loss is detected in tens of ms, far quicker than a network
 * settles. */
#include "ha_engine_int.h"

static void set_link(struct ha_engine *e, enum ha_link l)
{
    enum ha_link old = e->st.peer_link;
    if (old == l)
        return;
    e->st.peer_link = l;
    if (l == HA_LINK_UP) {
        ha_notify(e, HA_NOTIF_PEER_FOUND, 0);
        return;
    }
    e->p.ho_active = false;
    e->p.ho_waiting = false;
    e->p.noprim = false;
    if (old == HA_LINK_UP)
        ha_notify(e, HA_NOTIF_PEER_LOST, 0);
}

void ha_peer_state_in(struct ha_engine *e, const struct ha_peer_state *ps)
{
    bool moved = e->p.peer_msgs_known && ps->sip_msgs != e->st.peer.sip_msgs;
    e->st.peer = *ps;
    e->p.peer_msgs_known = true;
    e->st.peer_last_seen = e->p.now;
    e->p.peer_fresh = true;
    if (e->st.peer_link != HA_LINK_UP || ps->hears_peer)
        e->p.peer_deaf_since = ps->hears_peer ? 0 : e->p.now;
    else if (!e->p.peer_deaf_since)
        e->p.peer_deaf_since = e->p.now;
    set_link(e, HA_LINK_UP);
    if (moved)
        ha_traffic_peer_seen(e);
    if (e->p.discovering) {
        e->p.discovering = false;
        ha_peer_eval_start(e);
    }
    /* A backup follows the primary's term number, so its own next term is newer,
     * and the primary's backoff factor: the factor is the pair's, not a side's. */
    if (e->st.role == HA_ROLE_BACKUP && ps->role == HA_ROLE_PRIMARY) {
        if (ps->epoch > e->st.epoch)
            e->st.epoch = ps->epoch;
        ha_traffic_adopt(e, ps->backoff_factor);
    }
}

void ha_peer_lost_in(struct ha_engine *e)
{
    e->p.discovering = false;
    set_link(e, HA_LINK_DOWN);
}

void ha_arbiter_in(struct ha_engine *e, bool reachable)
{
    enum ha_link l = reachable ? HA_LINK_UP : HA_LINK_DOWN;
    bool first = !e->p.arbiter_known;
    e->p.arbiter_known = true;
    if (!first && l == e->st.arbiter)
        return;
    e->st.arbiter = l;
    if (!first)
        ha_peer_hold_split(e);
    if (l == HA_LINK_UP)
        e->p.arbiter_up_since = e->p.now;
    if (l == HA_LINK_DOWN)
        ha_notify(e, HA_NOTIF_ARBITER_LOST, 0);
    else if (!first)
        ha_notify(e, HA_NOTIF_ARBITER_FOUND, 0);
}

/* Discovery ends after settle_ms without a word; the peer then counts as lost. */
void ha_peer_eval_link(struct ha_engine *e)
{
    if (e->p.discovering && e->p.now >= e->p.init_ms + e->p.settle_ms)
        ha_peer_lost_in(e);
    if (e->st.peer_link == HA_LINK_UP && !e->p.peer_loss_reported &&
        e->p.now >= e->st.peer_last_seen + e->p.peer_timeout_ms)
        set_link(e, HA_LINK_DOWN);
}

/* With the peer out of reach, may this instance be primary now? It must be fit and
 * have quorum; a NIC that kept it from leading must have been back for settle_ms
 * (ha_nic.c); when the arbiter answers, it must have answered for settle_ms: a
 * network that heals brings the peer's heartbeat back within that time, and the
 * peer may well have taken over meanwhile. With the arbiter lost, ha_quorum_ok
 * already applied the seed's rule (or none, without control-vip-scripts). */
static uint64_t alone_ok_at(const struct ha_engine *e)
{
    if (!ha_can_be_primary(e))
        return HA_NEVER;
    uint64_t at = e->p.nic_fit_since ? e->p.nic_fit_since + e->p.settle_ms : 0;
    if (!e->p.has_arbiter || e->st.arbiter != HA_LINK_UP)
        return at;
    return ha_max_u64(at, e->p.arbiter_up_since + e->p.settle_ms);
}

static bool may_lead_alone(const struct ha_engine *e)
{
    return e->p.now >= alone_ok_at(e);
}

/* The first role: the configured one, except that a configured primary defers to
 * a peer already primary in a term at least as new as its own, and a configured
 * backup whose peer is absent takes over as any backup would. */
void ha_peer_eval_start(struct ha_engine *e)
{
    if (e->st.role != HA_ROLE_UNKNOWN || e->p.discovering)
        return;
    bool up = ha_peer_up(e);
    bool may = up ? ha_can_be_primary(e) : may_lead_alone(e);
    if (e->p.initial_role == HA_ROLE_PRIMARY) {
        bool defer = up && e->st.peer.role == HA_ROLE_PRIMARY && e->st.peer.epoch >= e->st.epoch;
        if (!defer && may)
            ha_become_primary(e, HA_REASON_STARTUP, ha_next_epoch(e));
        else
            ha_become_backup(e, HA_REASON_STARTUP);
        return;
    }
    if (e->p.has_peer && !up && may)
        ha_become_primary(e, HA_REASON_PEER_LOST, ha_next_epoch(e));
    else
        ha_become_backup(e, HA_REASON_STARTUP);
}

/* Quorum: with an arbiter and control-vip-scripts, a primary that reaches neither
 * peer nor arbiter steps down if it would lose a split brain (the other side, by
 * the same rule, takes over). */
void ha_peer_eval_quorum(struct ha_engine *e)
{
    if (e->st.role == HA_ROLE_PRIMARY && !ha_quorum_ok(e))
        ha_become_backup(e, HA_REASON_QUORUM_LOST);
}

static bool backup_alone(const struct ha_engine *e)
{
    return e->st.role == HA_ROLE_BACKUP && e->p.has_peer && e->st.peer_link != HA_LINK_UP;
}

/* Peer lost: the backup takes over when it may (fit, with quorum, arbiter settled). */
void ha_peer_eval_takeover(struct ha_engine *e)
{
    if (backup_alone(e) && may_lead_alone(e))
        ha_become_primary(e, HA_REASON_PEER_LOST, ha_next_epoch(e));
}

static bool arbiter_lost_cvs(unsigned options, enum ha_link arbiter)
{
    return (options & HA_OPT_CONTROL_VIP_SCRIPTS) && arbiter == HA_LINK_DOWN;
}

/* A peer that does not hear us follows its peer-lost rules: it stays primary
 * unless it is the quorum loser (arbiter lost, control-vip-scripts, loses the
 * tie-break against us). */
static bool peer_yields_alone(const struct ha_engine *e)
{
    const struct ha_peer_state *p = &e->st.peer;
    return arbiter_lost_cvs(p->options, p->arbiter) && !ha_loses_tiebreak(e);
}

/* Which of two primaries steps down. Both sides compute the same answer from the
 * same facts: control-vip-scripts with a lost arbiter on either side decides by
 * priority alone (the seed's rule), otherwise the newer epoch wins first. Ties:
 * higher priority, then lower index, stays. A peer that has not heard us for a
 * whole peer timeout while we hear it (a one-way link; not the first heartbeats of
 * a link that heals, which both say "not hearing yet") can never
 * yield to us, so we yield to it unless its own peer-lost rule makes it step down:
 * otherwise a one-way link would keep two primaries forever. */
static bool peer_deaf(const struct ha_engine *e)
{
    return e->p.peer_deaf_since && e->p.now >= e->p.peer_deaf_since + e->p.peer_timeout_ms;
}

/* A deaf peer that would win by the rule below will step down once it hears us; one
 * that would lose may be deaf for good (a one-way link). We give it DEAF_WINNER_WAIT
 * peer timeouts before we yield to it: a link that heals one way first (the peer's
 * route back 45 ms before ours) otherwise made the winner yield to the deafness just
 * as the loser, hearing it at last, yielded by the rule: no primary at all. */
#define DEAF_WINNER_WAIT 3u

static bool loses_split(const struct ha_engine *e)
{
    const struct ha_peer_state *p = &e->st.peer;
    bool cvs = arbiter_lost_cvs(e->st.options, e->st.arbiter) ||
               arbiter_lost_cvs(p->options, p->arbiter);
    if (!cvs && e->st.epoch != p->epoch)
        return e->st.epoch < p->epoch;
    return ha_loses_tiebreak(e);
}

static uint64_t deaf_winner_at(const struct ha_engine *e)
{
    return e->p.peer_deaf_since + (uint64_t)DEAF_WINNER_WAIT * e->p.peer_timeout_ms;
}

static bool self_yields(const struct ha_engine *e)
{
    if (!peer_deaf(e))
        return loses_split(e);
    if (peer_yields_alone(e))
        return false;
    return loses_split(e) || e->p.now >= deaf_winner_at(e);
}

/* Both sides decide a split brain from the same facts: their own arbiter state and
 * options, and the peer's as its last heartbeat said. Right after ours change, the
 * peer may still decide on the old ones while we decide on the new: both could step
 * down (a healed partition whose arbiter came back on one side first did, once in 8
 * runs of the fault matrix). So we hold our own step-down for one peer timeout, by
 * which the peer has heard the change, or acted on the old state (its heartbeat then
 * says so). */
void ha_peer_hold_split(struct ha_engine *e)
{
    e->p.split_hold_until = e->p.now + e->p.peer_timeout_ms;
}

void ha_peer_eval_split(struct ha_engine *e)
{
    /* right after a handover the peer's last word still says primary: not a split */
    if (!ha_peer_fresh(e))
        return;
    bool both = e->st.role == HA_ROLE_PRIMARY && e->st.peer.role == HA_ROLE_PRIMARY;
    if (both) {
        if (!e->st.split_brain) {
            e->st.split_brain = true;
            ha_alarm_raise(e, &e->st.split_brain_alarm, HA_NOTIF_SPLIT_BRAIN_DETECTED);
        }
        if (self_yields(e) && e->p.now >= e->p.split_hold_until)
            ha_become_backup(e, HA_REASON_SPLIT_BRAIN);
        both = e->st.role == HA_ROLE_PRIMARY;
    }
    if (!both && e->st.split_brain) {
        e->st.split_brain = false;
        ha_notify(e, HA_NOTIF_SPLIT_BRAIN_RESOLVED, 0);
        ha_alarm_clear(e, &e->st.split_brain_alarm, HA_NOTIF_SPLIT_BRAIN_DETECTED);
    }
}

uint64_t ha_peer_deadline(const struct ha_engine *e)
{
    uint64_t d = HA_NEVER;
    if (e->p.discovering)
        d = e->p.init_ms + e->p.settle_ms;
    if (e->st.peer_link == HA_LINK_UP && !e->p.peer_loss_reported)
        d = ha_min_u64(d, e->st.peer_last_seen + e->p.peer_timeout_ms);
    if (e->st.role == HA_ROLE_UNKNOWN && !e->p.discovering)
        d = e->p.now; /* the role is decided on the next step */
    if (backup_alone(e))
        d = ha_min_u64(d, alone_ok_at(e));
    /* two primaries, the peer deaf to us: the one-way rule applies from then on */
    if (e->st.role == HA_ROLE_PRIMARY && e->st.peer.role == HA_ROLE_PRIMARY &&
        e->p.peer_deaf_since) {
        if (!peer_deaf(e))
            d = ha_min_u64(d, e->p.peer_deaf_since + e->p.peer_timeout_ms);
        else if (e->p.now < deaf_winner_at(e))
            d = ha_min_u64(d, deaf_winner_at(e));
    }
    if (e->st.role == HA_ROLE_PRIMARY && e->st.peer.role == HA_ROLE_PRIMARY &&
        e->p.split_hold_until > e->p.now)
        d = ha_min_u64(d, e->p.split_hold_until);
    return d;
}
