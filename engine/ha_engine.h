/* ha_engine.h — the HA engine: every HA rule of the seed as pure logic.
 *
 * One engine per SIP server instance. It sees its peer only through inputs (the
 * peer's periodic state and the messages of the HA link), does no I/O, reads no
 * clock and allocates nothing: the caller passes the time (monotonic ms) with every
 * call, feeds inputs and carries out the outputs. After a step the caller arms one
 * timer for ha_next_deadline() and, when it fires, calls ha_step with a TICK.
 *
 * Indexes in inputs and in the state (NIC, VIP, DN) are 0-based positions in the
 * configured lists; notifications carry the 1-based MIB row index (position + 1).
 * engine/README.md describes every rule, input, output and timer. */
#ifndef SIPHA_HA_ENGINE_H
#define SIPHA_HA_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ha_types.h"

/* Bounds of the fixed arrays (a config beyond them is refused by ha_config_check). */
#define HA_MAX_NICS 8
#define HA_MAX_VIPS 64
#define HA_MAX_DNS 16384
#define HA_MAX_OOS_SECONDS 86400u /* per oos-check / oos-force value */

/* One step never writes more outputs than this; ha_step refuses a smaller array.
 * A role change writes at most 12 + n_vips outputs, VIP rechecks at most 2 per VIP,
 * the rest a dozen. Sized for 6 role changes in one step (the rules run at most 3
 * times before the input and 3 after); randomized tests never see more than 2.
 * Were it ever too small, outputs would be counted in st.outputs_dropped, never
 * written past the array. */
#define HA_MAX_OUTPUTS (128 + 8 * HA_MAX_VIPS)

/* Defaults applied by ha_init when a config value is 0. */
#define HA_DEFAULT_PEER_TIMEOUT_MS 1500u
#define HA_DEFAULT_SETTLE_MS 1500u
#define HA_MAX_TIMER_MS 600000u /* peer_timeout_ms and settle_ms at most this */
#define HA_DEFAULT_VIP_RETRY_MAX 3u
#define HA_DEFAULT_VIP_RECHECK_MS 1000u
#define HA_DEFAULT_LISTENER_HANDOVER_MS 5000u
#define HA_HANDOVER_RESENDS 3u /* TAKEOVER re-sent at most this often when unanswered */
#define HA_RESEND_MIN_MS 50u   /* TAKEOVER re-send interval: max(peer_timeout_ms, this),
                                  at most settle_ms (README, timers) */
#define HA_VIP_RETRY_CAP_MS 30000u /* a failed VIP is retried every vip_recheck_ms x 2^k,
                                      at most this often apart */
#define HA_DEFAULT_RELEASE_WAIT_MS 2000u /* longest wait for VIP down scripts before TAKEOVER */
#define HA_BACKOFF_MAX 4u      /* the effective OOS timeout is at most 4 x T */

/* The numeric values below equal those of agent/instance.h and of SIPHA-MIB, so the
 * adapter copies them without a table (tests/unit/test_ha_engine.c checks it). */
enum ha_nic_purpose { HA_NIC_MANAGEMENT = 1, HA_NIC_SIP = 2 };
enum ha_oper { HA_OPER_UNKNOWN = 1, HA_OPER_UP = 2, HA_OPER_DOWN = 3 };
enum ha_traffic { HA_TRAFFIC_UNKNOWN = 1, HA_TRAFFIC_FLOWING = 2, HA_TRAFFIC_LOST = 3,
                  HA_TRAFFIC_NOT_MONITORED = 4 };
enum ha_link { HA_LINK_NOT_CONFIGURED = 1, HA_LINK_UP = 2, HA_LINK_DOWN = 3 };
enum ha_vip_expect { HA_VIP_EXPECT_PRESENT = 1, HA_VIP_EXPECT_ABSENT = 2 };
enum ha_vip_actual { HA_VIP_UNKNOWN = 1, HA_VIP_PRESENT = 2, HA_VIP_ABSENT = 3 };
enum ha_vip_status { HA_VIP_OK = 1, HA_VIP_MISMATCH = 2, HA_VIP_FAILED = 3,
                     HA_VIP_NOT_MONITORED = 4 };
enum ha_dn_state { HA_DN_UNKNOWN = 1, HA_DN_IN_SERVICE = 2, HA_DN_OUT_OF_SERVICE = 3 };
enum ha_listener { HA_LISTENER_UNKNOWN = 1, HA_LISTENER_BOUND = 2, HA_LISTENER_FAILED = 3 };

/* The arbiter's lock as this instance holds it (has_lock). */
enum ha_lock_state { HA_LOCK_NOT_CONFIGURED = 1, HA_LOCK_FREE = 2, HA_LOCK_TAKING = 3,
                     HA_LOCK_HELD = 4, HA_LOCK_RELEASING = 5 };

/* What the lock service reports (HA_IN_LOCK). */
enum ha_lock_event {
    HA_LOCK_EV_HELD = 1,     /* the take succeeded: the lock is ours */
    HA_LOCK_EV_REFUSED,      /* the take found another holder */
    HA_LOCK_EV_FAILED,       /* a take or release reached no lock service member */
    HA_LOCK_EV_LOST_UNREACHABLE, /* held, not renewed in time (the service is away) */
    HA_LOCK_EV_LOST_TAKEN,   /* held, and the service says it is not ours any more */
    HA_LOCK_EV_RELEASED,     /* the release finished */
};

/* Why the instance is serviceUnavailable (bit set; status is running when empty). */
enum ha_cause {
    HA_CAUSE_TRAFFIC_LOST = 1u << 0, /* sip-pass-check fired (primary only) */
    HA_CAUSE_VIP_FAILED = 1u << 1,   /* a VIP stayed wrong after vip_retry_max runs */
    HA_CAUSE_SIP_NIC_DOWN = 1u << 2, /* sip-nic-monitoring: a SIP NIC is down */
};

#define HA_OPT_ALL (HA_OPT_SIP_PASS_CHECK | HA_OPT_CONTROL_VIP_SCRIPTS | \
                    HA_OPT_IPTAKEOVER_MONITORING | HA_OPT_TLIB_NIC_MONITORING | \
                    HA_OPT_SIP_NIC_MONITORING)

/* ---- configuration ------------------------------------------------------------ */

struct ha_dn_cfg {
    uint32_t oos_check; /* seconds between probes; 0 = not probed (does not count) */
    uint32_t oos_force; /* seconds; values below 5 count as 5 */
};

struct ha_config {
    uint32_t index;              /* 1..255, differs from the peer's */
    uint32_t priority;           /* higher wins */
    enum ha_role initial_role;   /* HA_ROLE_PRIMARY or HA_ROLE_BACKUP */
    uint32_t initial_epoch;      /* last epoch persisted by the adapter, 0 = none */
    unsigned options;            /* enum ha_option bits */
    bool has_peer, has_arbiter;
    bool has_lock;               /* the arbiter is a lock (etcd): only its holder may be
                                    primary (LOCK inputs and outputs; needs has_arbiter) */
    uint32_t peer_timeout_ms;    /* 0 = 1500: no PEER_STATE for this long = peer lost */
    bool peer_loss_reported;     /* the adapter says PEER_LOST itself and sends PEER_STATE
                                    only when the peer's state changes (or when asked to
                                    refresh it): the engine then never times the peer
                                    out; peer_timeout_ms still times the one-way rule */
    const struct ha_dn_cfg *dns; /* read during ha_init only */
    size_t n_dns;
    const enum ha_nic_purpose *nics; /* read during ha_init only */
    size_t n_nics;
    size_t n_vips;
    uint32_t vip_retry_max;      /* 0 = 3 script runs per mismatch before failure */
    uint32_t vip_recheck_ms;     /* 0 = 1000: check the VIP this long after a script */
    uint32_t listener_handover_ms; /* 0 = 5000: T_listener, see README */
    uint32_t alarm_autoclear_ms; /* 0 = alarms stay until ALARM_CLEAR */
    uint32_t release_wait_ms;    /* 0 = 2000: TAKEOVER waits for the VIP down scripts at
                                    most this long (the VIP must leave before it comes) */
    uint32_t settle_ms;          /* 0 = 1500: discovery at start, two-backup election,
                                    arbiter settle, cap of the TAKEOVER re-send; operator
                                    commands time out after 2 x settle_ms. Peer loss
                                    itself is peer_timeout_ms (interval x misses). */
};

/* ---- messages between the two engines ---------------------------------------- */

/* What an instance tells its peer about itself, periodically (the heartbeat).
 * ha_peer_summary() fills it; the adapter carries it to the other side as a
 * HA_IN_PEER_STATE input. Every field is also a SIPHA-MIB column of the instance. */
struct ha_peer_state {
    enum ha_role role;
    enum ha_status status;
    uint32_t epoch;
    uint32_t priority;
    uint32_t index;
    uint64_t sip_msgs;       /* SIP messages counted so far: any change = traffic seen */
    enum ha_listener listener;
    bool unavailable;        /* must not be primary now (serviceUnavailable, or
                                management NIC down under tlib-nic-monitoring) */
    unsigned options;        /* enum ha_option bits */
    enum ha_link arbiter;    /* its view of the arbiter */
    uint32_t backoff_factor; /* its double-switchover factor (1, 2, 4): pair state;
                                0 = not told (an older peer): ignored */
    bool hears_peer;         /* filled by the HA link, not the engine: the sender hears
                                its own peer (false = the link works one way only) */
};

/* A message over the HA link (PEER_SEND output, ADMIN input). For the operator's
 * commands (SWITCHOVER, BECOME_PRIMARY, BECOME_BACKUP) only `cmd` is read. */
struct ha_peer_msg {
    enum ha_admin_cmd cmd;   /* HA_CMD_PEER_TAKEOVER or HA_CMD_PEER_RELEASE on the link */
    uint32_t epoch;          /* TAKEOVER: epoch of the new primary term */
    enum ha_reason reason;   /* TAKEOVER: why the sender released the role */
    uint32_t factor;         /* TAKEOVER: the sender's backoff factor (1, 2, 4) */
    bool traffic_seen;       /* TAKEOVER: the sender saw SIP traffic in its term */
};

/* ---- inputs -------------------------------------------------------------------- */

enum ha_in_kind {
    HA_IN_TICK = 1,      /* a timer fired (or nothing happened) */
    HA_IN_NIC_STATE,     /* u.nic */
    HA_IN_VIP_STATE,     /* u.vip */
    HA_IN_SIP_MESSAGE,   /* u.sip: any SIP message, requests and responses alike */
    HA_IN_DN_STATE,      /* u.dn */
    HA_IN_LISTENER,      /* u.flag: SIP listener bound (true) or failed to bind */
    HA_IN_ARBITER,       /* u.flag: arbiter reachable */
    HA_IN_PEER_STATE,    /* u.peer: the peer's heartbeat */
    HA_IN_PEER_LOST,     /* the adapter knows the peer is gone (no payload) */
    HA_IN_ADMIN,         /* u.admin: operator command, or a message from the peer */
    HA_IN_SCRIPT_DONE,   /* u.script */
    HA_IN_SET_OPTIONS,   /* u.options */
    HA_IN_ALARM_CLEAR,   /* u.alarm: the alarm's notification id, 0 = every alarm */
    HA_IN_SHUTDOWN,      /* graceful stop (no payload): release, then never lead again */
    HA_IN_LOCK,          /* u.lock: the lock service's answer (has_lock) */
};

struct ha_input {
    enum ha_in_kind kind;
    union {
        struct { uint32_t idx; bool up; } nic;
        struct { uint32_t idx; bool present; } vip;
        struct { uint32_t count; } sip;
        struct { uint32_t idx; bool in_service; } dn;
        bool flag;
        struct ha_peer_state peer;
        struct ha_peer_msg admin;
        struct { uint32_t idx; uint32_t seq; int32_t exit_status; } script;
        unsigned options;
        enum ha_notif alarm;
        enum ha_lock_event lock;
    } u;
};

/* ---- outputs ------------------------------------------------------------------- */

enum ha_out_kind {
    HA_OUT_ROLE = 1,     /* u.role: the role changed (state already updated) */
    HA_OUT_STATUS,       /* u.status */
    HA_OUT_RUN_SCRIPT,   /* u.script: run the VIP's up or down script; a later
                            RUN_SCRIPT for the same VIP supersedes a running one */
    HA_OUT_NOTIFY,       /* u.notify: send and log this notification */
    HA_OUT_PEER_SEND,    /* u.peer: deliver to the peer as its HA_IN_ADMIN input */
    HA_OUT_ADMIN_RESULT, /* u.admin: result of the operator's last command */
    HA_OUT_LOCK,         /* u.lock: take the lock for this epoch, or release it */
};

struct ha_output {
    enum ha_out_kind kind;
    union {
        struct { enum ha_role role; enum ha_reason reason; uint32_t epoch; } role;
        enum ha_status status;
        struct { uint32_t idx; bool up; uint32_t seq; } script; /* seq: echo in SCRIPT_DONE */
        struct { enum ha_notif id; uint32_t row; } notify; /* row: 1-based row, 0 = none;
                         HA_NOTIF_ALARM_CLEARED: the ha_notif of the alarm that cleared */
        struct ha_peer_msg peer;
        enum ha_admin_result admin;
        struct { bool take; uint32_t epoch; } lock;
    } u;
};

/* ---- state (read by the adapter; written only by the engine) ------------------ */

struct ha_nic_state {
    enum ha_nic_purpose purpose;
    enum ha_oper oper;
    uint32_t failures;       /* transitions to down */
    uint64_t last_change;    /* ms, 0 = never */
};

struct ha_vip_state {
    enum ha_vip_expect expected;
    enum ha_vip_actual actual;
    enum ha_vip_status status;
    uint32_t script_runs;
    int32_t last_exit;       /* -1 = never ran */
    uint64_t last_change;    /* ms of the last change of `actual` */
    /* private to the engine */
    uint32_t seq;            /* of the last RUN_SCRIPT */
    uint32_t runs;           /* runs in the current mismatch episode */
    bool running, recheck, failed;
    uint64_t recheck_at;
    bool retry;              /* failed: the script is tried again at retry_at */
    uint64_t retry_at;
    uint32_t retry_delay;    /* ms, doubles per failed retry up to HA_VIP_RETRY_CAP_MS */
};

struct ha_alarm {
    bool active;
    uint64_t since;
};

struct ha_state {
    enum ha_role role;
    enum ha_status status;
    uint32_t epoch;
    unsigned options;
    unsigned causes;             /* enum ha_cause bits */
    enum ha_listener listener;
    enum ha_traffic traffic;
    uint64_t sip_msgs;
    uint64_t last_sip_msg;       /* ms, 0 = never */
    uint32_t oos_base_s;         /* T in seconds, 0 = no probed service DN */
    uint32_t oos_eff_s;          /* T x backoff_factor */
    uint32_t backoff_factor;     /* 1, 2 or 4 */
    uint32_t switchovers, double_switchovers;
    uint64_t last_switchover;    /* ms, 0 = never */
    enum ha_reason last_reason;
    /* the peer as last heard, and the arbiter */
    enum ha_link peer_link;
    struct ha_peer_state peer;   /* valid once peer_last_seen != 0 */
    uint64_t peer_last_seen;
    enum ha_link arbiter;
    enum ha_lock_state lock;
    enum ha_admin_result admin_result;
    struct ha_alarm listener_alarm, split_brain_alarm;
    bool split_brain;            /* both primary, seen and not yet resolved */
    uint32_t inputs_rejected;    /* malformed inputs ignored */
    uint32_t outputs_dropped;    /* never > 0 unless HA_MAX_OUTPUTS is wrong */
    size_t n_nics, n_vips, n_dns;
    size_t n_probed, n_probed_oos; /* service DNs with oos_check, and those out */
    struct ha_nic_state nics[HA_MAX_NICS];
    struct ha_vip_state vips[HA_MAX_VIPS];
    uint8_t dn_state[HA_MAX_DNS];  /* enum ha_dn_state */
    uint8_t dn_probed[HA_MAX_DNS]; /* oos_check > 0 */
};

/* An operator command waiting for the peer. */
enum ha_admin_wait { HA_ADMIN_IDLE = 0, HA_ADMIN_WAIT_PEER, HA_ADMIN_WAIT_SELF };

/* Engine internals: timers and bookkeeping of the rules (see README). */
struct ha_priv {
    uint64_t now;
    uint64_t t_ms;               /* T in ms */
    uint32_t peer_timeout_ms, settle_ms, vip_retry_max, vip_recheck_ms, listener_ms,
             autoclear_ms;
    uint32_t priority, index;
    enum ha_role initial_role;
    bool has_peer, has_arbiter, peer_loss_reported;
    bool discovering;            /* has a peer, role not decided yet */
    uint64_t init_ms;
    bool arbiter_known;
    bool peer_fresh;             /* a PEER_STATE arrived since our last role change */
    uint64_t arbiter_up_since;   /* taking over without the peer waits settle_ms after
                                    the arbiter came back, as for the peer */
    uint64_t split_hold_until;   /* our arbiter state or options just changed: until the
                                    peer has surely heard it, we do not step down in a
                                    split brain (it may still decide on our old state) */
    uint64_t peer_deaf_since;    /* the peer's heartbeats say it does not hear us, since
                                    (0 = it hears us): a one-way link only after
                                    peer_timeout_ms of it, since both sides of a healing
                                    link say so for their first heartbeats */
    uint64_t nic_fit_since;      /* a NIC that made it unfit came back (0 = never): the
                                    link on it gets settle_ms to bring the peer back */
    /* sip-pass-check and backoff */
    uint64_t traffic_ref;        /* monitoring period starts here */
    uint64_t primary_since;
    bool traffic_in_term;        /* SIP traffic seen in the current primary term */
    bool released;               /* this instance gave the primary role away before */
    enum ha_reason release_reason;
    uint32_t release_factor;     /* the backoff factor when it released */
    bool traffic_since_release;
    bool peer_msgs_known;
    /* listener */
    uint64_t listener_fail_since;
    /* handover: TAKEOVER sent and not yet confirmed */
    bool ho_active;
    bool ho_waiting;             /* TAKEOVER held until the VIP down scripts end */
    uint64_t ho_wait_until;
    uint32_t release_wait_ms;
    struct ha_peer_msg ho_msg;
    uint64_t ho_sent_at;
    uint32_t ho_resends;
    /* both backup for a while */
    bool noprim;
    uint64_t noprim_since;
    /* operator command in progress */
    enum ha_admin_wait admin_wait; /* WAIT_PEER: peer to report primary; WAIT_SELF: us */
    uint64_t admin_deadline;
    uint32_t admin_epoch;
    /* the arbiter's lock (has_lock): the role waits for it */
    bool has_lock;
    bool lock_want;              /* a role change to primary waits for the lock */
    enum ha_reason lock_reason;  /* ... for this reason and epoch */
    uint32_t lock_epoch;
    bool lock_keep;              /* primary whose hold lapsed while etcd was away and its
                                    peer heard: it keeps the role and takes again */
    uint64_t lock_retry_at;      /* no take before this (after a refusal or failure) */
    /* graceful stop (HA_IN_SHUTDOWN) */
    bool stopping;
    uint64_t stop_until;         /* down scripts waited for at most until then */
    /* output buffer of the step in progress */
    struct ha_output *out;
    size_t n_out, max_out;
    bool role_changed;
};

struct ha_engine {
    struct ha_state st;
    struct ha_priv p;
};

/* ---- API ------------------------------------------------------------------------ */

/* NULL when `cfg` is usable, otherwise a static message naming the bad field. */
const char *ha_config_check(const struct ha_config *cfg);

/* Sets up `e` at time now_ms: role unknown and status initializing until the first
 * step decides the role (at once without a peer; with a peer on its first
 * PEER_STATE or after peer_timeout_ms). Returns 0, or -1 leaving `e` untouched
 * when ha_config_check refuses the config. */
int ha_init(struct ha_engine *e, const struct ha_config *cfg, uint64_t now_ms);

/* Feeds one input (NULL = TICK) at now_ms (an earlier time than the last step's
 * counts as the same time): fires the timers due, applies the input, applies every
 * rule, and writes the decisions to out[] in order. Returns how many. Needs
 * max_out >= HA_MAX_OUTPUTS; a malformed input or a short array changes nothing
 * but st.inputs_rejected and returns 0. */
size_t ha_step(struct ha_engine *e, uint64_t now_ms, const struct ha_input *in,
               struct ha_output *out, size_t max_out);

/* When the next timer is due (ms), UINT64_MAX when none. Always later than the
 * last step's time once that step has run. */
uint64_t ha_next_deadline(const struct ha_engine *e);

/* Read-only view of everything the MIB shows. */
const struct ha_state *ha_state(const struct ha_engine *e);

/* The heartbeat this instance sends to its peer (hears_peer is left false: the HA
 * link fills it in). */
void ha_peer_summary(const struct ha_engine *e, struct ha_peer_state *ps);

/* After HA_IN_SHUTDOWN: true once this instance holds no role, its VIP down scripts
 * have ended (or release_wait_ms passed) and the TAKEOVER, if one was due, has been
 * output. The adapter exits then. False before any SHUTDOWN. */
bool ha_shutdown_done(const struct ha_engine *e);

#endif
