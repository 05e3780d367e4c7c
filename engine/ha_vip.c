/* ha_vip.c — VIP scripts and sip-iptakeover-monitoring.
 *
 * Every role change runs each VIP's script (up on becoming primary, down on
 * becoming backup), monitored or not. With monitoring on, the primary expects each
 * VIP present and the backup absent. A known mismatch runs the matching script;
 * vip_recheck_ms after the script ends the VIP is checked again and the script
 * re-run, at most vip_retry_max runs per mismatch; then the VIP has failed
 * (00-52029) and the instance is serviceUnavailable until the VIP is right again
 * (00-52030). A failed VIP is still tried: one more run vip_recheck_ms x 2^k after
 * each failed try (k = 0, 1, ...; at most HA_VIP_RETRY_CAP_MS apart), so a fault
 * that heals (an address conflict gone, a NIC back) ends without an operator, while
 * a lasting one costs a script run every 30 s at most. RUN_SCRIPT carries a sequence number so that the end of a script
 * superseded by a later one (role changed meanwhile) starts no recheck. */
#include "ha_engine_int.h"

static bool monitoring(const struct ha_engine *e)
{
    return ha_opt(e, HA_OPT_IPTAKEOVER_MONITORING) && e->st.role != HA_ROLE_UNKNOWN;
}

static enum ha_vip_actual wanted(const struct ha_engine *e)
{
    return e->st.role == HA_ROLE_PRIMARY ? HA_VIP_PRESENT : HA_VIP_ABSENT;
}

static bool matches(const struct ha_engine *e, const struct ha_vip_state *v)
{
    return v->actual == wanted(e);
}

static bool known_mismatch(const struct ha_engine *e, const struct ha_vip_state *v)
{
    return v->actual != HA_VIP_UNKNOWN && v->actual != wanted(e);
}

static void refresh_cause(struct ha_engine *e)
{
    bool any = false;
    for (size_t i = 0; i < e->st.n_vips; i++)
        any = any || e->st.vips[i].failed;
    ha_set_cause(e, HA_CAUSE_VIP_FAILED, any && monitoring(e));
}

static void run(struct ha_engine *e, uint32_t idx)
{
    struct ha_vip_state *v = &e->st.vips[idx];
    v->seq++;
    v->script_runs++;
    v->running = true;
    v->recheck = false;
    if (monitoring(e))
        v->runs++;
    struct ha_output o = { .kind = HA_OUT_RUN_SCRIPT };
    o.u.script.idx = idx;
    o.u.script.up = e->st.role == HA_ROLE_PRIMARY;
    o.u.script.seq = v->seq;
    ha_emit(e, &o);
}

static void stop_retry(struct ha_vip_state *v)
{
    v->retry = false;
    v->retry_delay = 0;
}

static void ok(struct ha_engine *e, uint32_t idx)
{
    struct ha_vip_state *v = &e->st.vips[idx];
    v->runs = 0;
    stop_retry(v);
    if (!v->failed)
        return;
    v->failed = false;
    ha_notify(e, HA_NOTIF_VIP_SUCCESS, idx + 1);
    refresh_cause(e);
}

/* The next try of a failed VIP: vip_recheck_ms, then twice the last delay. */
static void schedule_retry(struct ha_engine *e, struct ha_vip_state *v)
{
    uint64_t cap = ha_max_u64(HA_VIP_RETRY_CAP_MS, e->p.vip_recheck_ms);
    uint64_t d = v->retry_delay ? 2ull * v->retry_delay : e->p.vip_recheck_ms;
    v->retry_delay = (uint32_t)ha_min_u64(d, cap);
    v->retry = true;
    v->retry_at = e->p.now + v->retry_delay;
}

static void fail(struct ha_engine *e, uint32_t idx)
{
    struct ha_vip_state *v = &e->st.vips[idx];
    if (!v->failed) {
        v->failed = true;
        ha_notify(e, HA_NOTIF_VIP_FAILURE, idx + 1);
    }
    schedule_retry(e, v);
    refresh_cause(e);
}

void ha_vip_on_role(struct ha_engine *e)
{
    for (uint32_t i = 0; i < e->st.n_vips; i++) {
        struct ha_vip_state *v = &e->st.vips[i];
        v->expected = e->st.role == HA_ROLE_PRIMARY ? HA_VIP_EXPECT_PRESENT : HA_VIP_EXPECT_ABSENT;
        v->runs = 0; /* a new expectation starts a new episode */
        stop_retry(v);
        run(e, i);
    }
}

void ha_vip_state_in(struct ha_engine *e, uint32_t idx, bool present)
{
    struct ha_vip_state *v = &e->st.vips[idx];
    enum ha_vip_actual a = present ? HA_VIP_PRESENT : HA_VIP_ABSENT;
    if (a != v->actual) {
        v->actual = a;
        v->last_change = e->p.now;
    }
    if (!monitoring(e) || !matches(e, v))
        return; /* a mismatch is acted on by ha_vip_eval */
    if (!v->running)
        v->recheck = false;
    ok(e, idx);
}

void ha_vip_script_done(struct ha_engine *e, uint32_t idx, uint32_t seq, int32_t status)
{
    struct ha_vip_state *v = &e->st.vips[idx];
    v->last_exit = status;
    if (seq != v->seq || !v->running)
        return;
    v->running = false;
    if (!monitoring(e))
        return;
    v->recheck = true;
    v->recheck_at = e->p.now + e->p.vip_recheck_ms;
}

void ha_vip_options(struct ha_engine *e, unsigned old_opts)
{
    if (ha_opt(e, HA_OPT_IPTAKEOVER_MONITORING) || !(old_opts & HA_OPT_IPTAKEOVER_MONITORING))
        return; /* turned on: ha_vip_eval starts on the mismatches it finds */
    for (size_t i = 0; i < e->st.n_vips; i++) {
        struct ha_vip_state *v = &e->st.vips[i];
        v->runs = 0;
        v->recheck = false;
        v->failed = false;
        stop_retry(v);
    }
    refresh_cause(e);
}

static void eval_one(struct ha_engine *e, uint32_t idx)
{
    struct ha_vip_state *v = &e->st.vips[idx];
    if (v->recheck) {
        if (e->p.now < v->recheck_at)
            return;
        v->recheck = false;
        if (matches(e, v))
            ok(e, idx);
        else if (v->runs < e->p.vip_retry_max)
            run(e, idx);
        else
            fail(e, idx);
        return;
    }
    if (v->retry && !v->running && e->p.now >= v->retry_at) {
        v->retry = false; /* the run's recheck succeeds, or fails and reschedules */
        if (matches(e, v))
            ok(e, idx);
        else
            run(e, idx);
        return;
    }
    if (!v->running && !v->failed && known_mismatch(e, v) && v->runs < e->p.vip_retry_max)
        run(e, idx);
}

void ha_vip_eval(struct ha_engine *e)
{
    if (!monitoring(e))
        return;
    for (uint32_t i = 0; i < e->st.n_vips; i++)
        eval_one(e, i);
}

uint64_t ha_vip_deadline(const struct ha_engine *e)
{
    uint64_t d = HA_NEVER;
    if (!monitoring(e))
        return d;
    for (size_t i = 0; i < e->st.n_vips; i++) {
        const struct ha_vip_state *v = &e->st.vips[i];
        if (v->recheck)
            d = ha_min_u64(d, v->recheck_at);
        if (v->retry && !v->running)
            d = ha_min_u64(d, v->retry_at);
    }
    return d;
}

bool ha_vip_any_running(const struct ha_engine *e)
{
    for (size_t i = 0; i < e->st.n_vips; i++)
        if (e->st.vips[i].running)
            return true;
    return false;
}

void ha_vip_refresh(struct ha_engine *e)
{
    for (size_t i = 0; i < e->st.n_vips; i++) {
        struct ha_vip_state *v = &e->st.vips[i];
        if (!monitoring(e))
            v->status = HA_VIP_NOT_MONITORED;
        else if (v->failed)
            v->status = HA_VIP_FAILED;
        else
            v->status = matches(e, v) ? HA_VIP_OK : HA_VIP_MISMATCH;
    }
}
