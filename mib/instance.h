/* instance.h — everything one SIP server instance shows through SIPHA-MIB.
 *
 * Plain data: the MIB handlers read it, SETs and the HA engine's decisions write it,
 * monitors feed it through the engine. Rows of every sub-table are kept in arrays
 * sorted by their index (base/rows.h), so a lookup is a binary search. */
#ifndef SIPHA_INSTANCE_H
#define SIPHA_INSTANCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "addr.h"
#include "eventlog.h"
#include "ha_engine.h"
#include "monitor.h"
#include "rows.h"

struct hl_link; /* halink/hl_link.h */
struct nq;      /* mib/notify_queue.h */

#define SIPHA_NAME_MAX 64
#define SIPHA_URI_MAX 256
#define SIPHA_PATH_MAX 256

/* The HA facts of an instance (role, status, NIC, VIP and DN states, counters) are
 * the engine's (engine/ha_engine.h, struct ha_state) and are read from it, never
 * copied here; their enums are the engine's too. */
enum contact_origin { CONTACT_LOCAL = 1, CONTACT_SYNCED = 2 };
/* siphaInstStateDirStatus */
enum state_dir_status { STATE_DIR_OK = 1, STATE_DIR_FAILED = 2, STATE_DIR_NOT_CONFIGURED = 3 };
/* siphaInstSipServerKind */
enum sip_server_mib_kind { SIP_SERVER_MIB_GENERIC = 1, SIP_SERVER_MIB_KAMAILIO = 2 };
/* siphaInstContactSourceState */
enum contact_source_state {
    CONTACT_SOURCE_NOT_CONFIGURED = 1,
    CONTACT_SOURCE_UP = 2,
    CONTACT_SOURCE_DOWN = 3,
};

/* Times are milliseconds of CLOCK_MONOTONIC (0 = never); the SNMP adapter turns
 * them into TimeStamp values. */
typedef uint64_t sipha_ms;

/* The arbiter's kind (for a siphaInstArbiterKind column to come) */
enum arbiter_mib_kind { ARBITER_MIB_NONE = 1, ARBITER_MIB_HTTP = 2, ARBITER_MIB_ETCD = 3 };

#define SIPHA_LOCK_HOLDER_MAX 128 /* the key's value shown, cut to fit */

/* The arbiter as a lock (kind etcd): this instance's hold on the pair's key, plain
 * values for the MIB (whose objects are still to come), filled on demand by
 * instance_lock. The engine's view of the lock is its state's `lock`. */
struct sipha_lock_view {
    enum arbiter_mib_kind kind;
    bool reachable;                 /* a member answered the last call */
    char endpoint[SIPHA_URI_MAX];   /* the member in use ("" before the first call) */
    int64_t lease;                  /* the lease kept alive (0: none) */
    uint32_t ttl_s;                 /* its TTL as etcd granted it */
    sipha_ms last_renewal;          /* the last renewal etcd answered (0: never) */
    bool held;                      /* the key is ours */
    bool holder_present;            /* the key exists, as last read or refused */
    char holder[SIPHA_LOCK_HOLDER_MAX]; /* its value, "name epoch" for sipha */
    uint64_t takes, refusals, losses, releases, renewals;
    uint64_t failures;              /* takes and releases that reached no member */
    uint64_t unreachable;           /* times no member answered (once per outage) */
};

/* The pair's contacts kept in etcd (<arbiter kind="etcd" contacts="true">,
 * agent/contact_store.c): what was written and read, for MIB objects to come. */
struct sipha_contact_store {
    bool enabled;
    uint64_t puts, deletes;     /* contacts written, keys deleted (removals, sweeps) */
    uint64_t batches;           /* transactions etcd applied */
    uint64_t grants;            /* leases granted (one per bucket of expiries) */
    uint64_t failures;          /* writes and page reads that failed */
    uint64_t outages;           /* runs of failures (each logged once) */
    uint64_t resyncs;           /* everything written again (promotion, horizon passed) */
    uint64_t skipped;           /* local contacts that cannot be stored (too long) */
    uint64_t read, read_known, read_expired, read_bad; /* contacts read back: learnt
                                   (synced), already held, expired, not decoded */
    uint32_t written_change;    /* the change log written up to */
};

struct sipha_nic {
    uint32_t index;
    enum ha_nic_purpose purpose;
    int32_t ifindex;
    char name[SIPHA_NAME_MAX];
    struct sipha_addr addr;
    /* state, last change and failures: the engine's nics[index - 1] */
};

struct sipha_vip {
    uint32_t index;
    struct sipha_addr addr;
    uint8_t prefix_len;
    char interface[SIPHA_NAME_MAX];
    char up_script[SIPHA_PATH_MAX];
    char down_script[SIPHA_PATH_MAX];
    /* expected, actual, status, script runs, last exit, last change: the engine's
     * vips[index - 1] */
};

struct sipha_dn {
    uint32_t index;
    char name[SIPHA_NAME_MAX];
    char uri[SIPHA_URI_MAX];
    uint32_t oos_check; /* seconds between OPTIONS probes; 0 = not probed */
    uint32_t oos_force; /* seconds without answer before out of service */
    /* state: the engine's dn_state[index - 1]; the probe's counters below */
    sipha_ms last_response;
    uint32_t last_status;
    uint32_t rtt_us;
    uint32_t probes;
    uint32_t timeouts;
};

/* A registration contact. Its row index stays while the contact lives (a refresh
 * updates the row in place); `change` orders its changes for the HA link. */
struct sipha_contact {
    uint32_t index;
    char aor[SIPHA_URI_MAX];
    char uri[SIPHA_URI_MAX];
    sipha_ms expires_at; /* monotonic deadline */
    enum contact_origin origin;
    uint64_t seen;       /* last time a source confirmed it (sync bookkeeping) */
    uint32_t change;     /* number of its last change (agent/contacts.c) */
    /* What a SIP server needs to reach the UA (from its location service) */
    int32_t q;           /* 0..1000 (q=1.0 is 1000), -1 unset */
    uint32_t flags, cflags, methods;
    char *path, *received, *socket; /* owned by the row; NULL = unset */
};

struct sipha_instance {
    /* identity and configuration */
    uint32_t index;
    char name[SIPHA_NAME_MAX];
    uint32_t priority;
    struct sipha_addr sip_addr;
    uint16_t sip_port;

    /* HA state: the engine's while it runs (points into it, read only); NULL before
     * it starts, when the MIB shows the state an engine starts in. */
    const struct ha_state *ha;
    /* What the engine starts from: the configuration, then the state file (SETs of
     * options and the epoch survive a restart). */
    unsigned boot_options; /* enum ha_option bits */
    uint32_t boot_epoch;

    /* the peer as configured, and the HA link to it (NULL: none, or not open yet):
     * its counters and last datagram are read from the link itself */
    char peer_name[SIPHA_NAME_MAX];
    const struct hl_link *link;

    /* admin command (its result is the engine's admin_result) */
    enum ha_admin_cmd admin_cmd;
    sipha_ms admin_time;

    /* whether the persistent state can be saved (agent/state_save.c) */
    enum state_dir_status state_dir;

    /* the SIP server beside the agent and its contact source (its location service):
     * whether it is reached, RPC replies refused and event-stream losses, and the
     * contacts written into it as backup (each add or removal counts one) */
    enum sip_server_mib_kind sip_server_kind;
    enum contact_source_state contact_source;
    uint32_t contact_source_failures, contacts_written;

    /* the pair's contacts in etcd (agent/contact_store.c) */
    struct sipha_contact_store contact_store;

    /* notifications waiting for the master (NULL: none kept) */
    const struct nq *queue;

    /* the arbiter's kind, and, for etcd, where the hold on the key is read: the holder
     * fills the view (agent/arbiter_lock.c; NULL while none runs), so the MIB reads
     * it without knowing etcd and live (a renewal has no event of its own) */
    enum arbiter_mib_kind arbiter_kind;
    char arbiter_url[SIPHA_URI_MAX];    /* kind http: its URL (siphaInstArbiterEndpoint) */
    void (*lock_view)(const void *ctx, struct sipha_lock_view *out);
    const void *lock_ctx;

    struct sipha_rows nics;     /* struct sipha_nic */
    struct sipha_rows vips;     /* struct sipha_vip */
    struct sipha_rows dns;      /* struct sipha_dn */
    struct sipha_rows contacts; /* struct sipha_contact */
    struct evlog events;
};

/* Initialises `in` with defaults (unknown role, initializing status, empty tables). */
void instance_init(struct sipha_instance *in);
void instance_free(struct sipha_instance *in);

/* Rows are written here only (the model owns its tables): each put copies `row` in
 * place by its index, replacing a row of the same index, and returns the stored row
 * (NULL: index 0 or no memory, nothing changed). A contact row owns its path,
 * received and socket strings (malloc'ed): the put takes them over (and frees those
 * of the row it replaces, when they differ; on failure it frees the new ones), the
 * removal frees them. */
struct sipha_nic *instance_put_nic(struct sipha_instance *in, const struct sipha_nic *row);
struct sipha_vip *instance_put_vip(struct sipha_instance *in, const struct sipha_vip *row);
struct sipha_dn *instance_put_dn(struct sipha_instance *in, const struct sipha_dn *row);
struct sipha_contact *instance_put_contact(struct sipha_instance *in,
                                           const struct sipha_contact *row);
bool instance_remove_contact(struct sipha_instance *in, uint32_t index);

/* The arbiter's lock as held now (kind etcd); zeros but `kind` otherwise. */
void instance_lock(const struct sipha_instance *in, struct sipha_lock_view *out);

/* The HA state to show: in->ha, or the state of an engine not started yet. */
const struct ha_state *instance_ha(const struct sipha_instance *in);
/* Option flags and epoch now: the engine's once it runs, else the boot values. */
unsigned instance_options(const struct sipha_instance *in);
uint32_t instance_epoch(const struct sipha_instance *in);
/* The peer's role and status as last heard (unknown until it was heard once). */
enum ha_role instance_peer_role(const struct sipha_instance *in);
enum ha_status instance_peer_status(const struct sipha_instance *in);
/* The HA link's view: when a datagram of the peer last arrived (0 = never), and
 * whether the peer says it hears us (false while the peer is lost). */
sipha_ms instance_peer_last_seen(const struct sipha_instance *in);
bool instance_peer_hears_us(const struct sipha_instance *in);

#endif
