/* context.h — struct agent, the state of the sipha-agent process (one instance, its
 * configuration, the event loop, the SNMP side), passed explicitly to every agent
 * module; and the ports through which those modules report up. Its lifecycle
 * (agent_init, agent_run, agent_free) is agent.c's, declared in agent_run.h. */
#ifndef SIPHA_CONTEXT_H
#define SIPHA_CONTEXT_H

#include <stdbool.h>
#include <stdint.h>

#include "config.h"
#include "contact_log.h"
#include "ha_engine.h"
#include "instance.h"
#include "loop.h"
#include "notify_queue.h"
#include "snmp_loop.h"

struct agent {
    struct loop *loop;
    struct snmp_loop snmp_loop; /* Net-SNMP run inside `loop` */
    char config_location[SIPHA_URI_MAX + SIPHA_PATH_MAX];
    const char *schema;
    struct sipha_config cfg;
    struct sipha_instance inst;
    uint64_t uptime_base;       /* monotonic ms of the master's sysUpTime 0 (set at each connect; our start until then) */

    bool master_connected;      /* AgentX session open */
    bool flush_pending;         /* queued notifications to send after reconnect */
    struct nq queue;            /* notifications waiting for the master (or their turn) */
    uint32_t notify_tokens;     /* token bucket: notifications that may go now */
    uint64_t notify_tokens_at;  /* when the bucket was last refilled */
    uint64_t notify_timer;      /* drains the queue at the allowed rate */

    bool save_pending;          /* state file to rewrite at the end of this iteration */
    uint64_t state_retry_timer; /* the state directory failed: try again (state_save.c) */
    uint64_t contact_timer;     /* expiry sweep, armed for contact_timer_at */
    uint64_t contact_timer_at;
    struct contact_log clog;    /* changes of our local contacts, for the peer (contacts.c) */
    struct cfetch *reload;      /* SIGHUP reload in progress */

    bool stopping;              /* SIGTERM: handing over, then exiting */
    uint64_t stop_deadline, stop_done_at, stop_timer;

    struct ha_adapter *ha;      /* the HA engine and its glue (ha_adapter.c) */
    struct ha_mon *mon;         /* kernel monitors (ha_monitors.c) */
    struct arbiter_lock *lock;  /* the etcd arbiter's key, the engine's lock
                                   (arbiter_lock.c; opened by ha_monitors.c), NULL:
                                   no etcd arbiter */
    struct contact_store *cstore; /* the pair's contacts in etcd (contact_store.c),
                                   NULL: not kept there */
    struct ha_peer_link *link;       /* the HA link to the peer (ha_link.c) */
    struct ha_scripts *scripts; /* VIP scripts (ha_scripts.c) */
    struct vip_keeper *vips;    /* VIP announcements and lifetime (vip_keeper.c) */
    struct kam_sync *kam;       /* the Kamailio beside us (kam_sync.c), NULL = generic */

    /* Wiring set by agent.c, so that the modules below it call up through these
     * instead of depending on the modules above them (no file circle in agent/). */
    void (*ha_input)(struct agent *a, const struct ha_input *in); /* the engine's inputs */
    void (*contacts_changed)(struct agent *a); /* our local contacts changed */
    /* a contact of the peer (origin synced) was inserted, changed or removed */
    void (*synced_changed)(struct agent *a, const char *aor, const char *uri);
    void (*synced_pass_done)(struct agent *a, bool full); /* a copy from the peer ended */
};

/* Hands one input to the HA engine (ha_adapter.c): monitors, the HA link and the VIP
 * scripts report through this. */
static inline void agent_ha_input(struct agent *a, const struct ha_input *in)
{
    if (a->ha_input)
        a->ha_input(a, in);
}

/* Tells whoever listens (the HA link: the peer pulls) that our contacts changed. */
static inline void agent_contacts_changed(struct agent *a)
{
    if (a->contacts_changed)
        a->contacts_changed(a);
}

/* Tells the SIP server's writer (kam_sync.c) that a synced contact changed, and
 * that a pass of the copy from the peer ended. */
static inline void agent_synced_changed(struct agent *a, const char *aor, const char *uri)
{
    if (a->synced_changed)
        a->synced_changed(a, aor, uri);
}

static inline void agent_synced_pass_done(struct agent *a, bool full)
{
    if (a->synced_pass_done)
        a->synced_pass_done(a, full);
}

/* Rewrites the state file at the end of the current loop iteration (coalesces the
 * writes of a multi-varbind SET or a burst of events). */
static inline void agent_request_save(struct agent *a)
{
    a->save_pending = true;
}

#endif
