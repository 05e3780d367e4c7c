/* state_save.c — a SET is only acknowledged if what it changes can be kept: the
 * table handler calls state_save_now before accepting a persistent column (in the
 * RESERVE2 phase, so a refusal changes nothing), and the loop saves after each change.
 * A write that fails is not only logged: the MIB says so and an alarm goes out. */
#include <stdio.h>

#include <net-snmp/net-snmp-config.h>
#include <net-snmp/net-snmp-includes.h>

#include "notify.h"
#include "persist.h"
#include "state_save.h"

void state_save_init(struct agent *a)
{
    a->inst.state_dir = a->cfg.state_dir[0] ? STATE_DIR_OK : STATE_DIR_NOT_CONFIGURED;
}

static void retry(void *arg)
{
    struct agent *a = arg;
    a->state_retry_timer = 0;
    state_save_now(a);
}

static void went_bad(struct agent *a, const char *why)
{
    if (!a->state_retry_timer)
        a->state_retry_timer = loop_timer_add(a->loop, STATE_SAVE_RETRY_MS, retry, a);
    if (a->inst.state_dir == STATE_DIR_FAILED)
        return; /* already raised: one alarm per episode */
    a->inst.state_dir = STATE_DIR_FAILED;
    notify_emit(a, HA_NOTIF_STATE_DIR_FAILURE, 0, why);
}

static void went_good(struct agent *a)
{
    if (a->state_retry_timer) {
        loop_timer_cancel(a->loop, a->state_retry_timer);
        a->state_retry_timer = 0;
    }
    if (a->inst.state_dir != STATE_DIR_FAILED)
        return;
    a->inst.state_dir = STATE_DIR_OK;
    snmp_log(LOG_NOTICE, "sipha[%u]: state directory %s: writable again\n", a->inst.index,
             a->cfg.state_dir);
    notify_clear_alarm(a, HA_NOTIF_STATE_DIR_FAILURE, "state saved");
    /* the alarm's clearing is state too: written by the next iteration's save */
    agent_request_save(a);
}

int state_save_now(struct agent *a)
{
    char err[CONFIG_ERR_MAX];
    a->save_pending = false;
    if (!a->cfg.state_dir[0])
        return 0;
    if (persist_save(a->cfg.state_dir, &a->inst, err, sizeof(err)) != 0) {
        snmp_log(LOG_ERR, "sipha[%u]: cannot save state: %s\n", a->inst.index, err);
        went_bad(a, err);
        return -1;
    }
    went_good(a);
    return 0;
}

void state_save_stop(struct agent *a)
{
    if (a->state_retry_timer)
        loop_timer_cancel(a->loop, a->state_retry_timer);
    a->state_retry_timer = 0;
}
