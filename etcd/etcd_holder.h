/* etcd_holder.h — one node's hold on its pair's primary key in etcd.
 *
 * The key (e.g. /sipha/<pair>/primary) names the one node that may be primary. A node
 * takes it with a create-if-absent transaction, bound to a lease of ttl_s seconds that
 * it keeps alive; etcd deletes the key when the lease ends, so a crashed holder's key
 * outlives it by at most its TTL. The value is the caller's (sipha puts the node's name
 * and its HA epoch there).
 *
 * Timing, on the loop's monotonic clock:
 *   - a keepalive every ttl/4, sent before any queued call; each renewal that answers
 *     moves the local deadline to the renewal's send time + the TTL etcd answered
 *     (never later than etcd's own expiry, which counts from the later arrival);
 *   - at deadline - guard_ms the hold is LOST, whatever the network did: the holder
 *     gives up before etcd can hand the key to another node, so the caller drops the
 *     VIP first (etcd_holder_guard_ms says how much earlier);
 *   - every read_ms the key is read: while held, to notice that it vanished or changed
 *     hands (an operator's delete, a revoke); while not held, to report its holder.
 *
 * Events reach the caller through one callback, from loop callbacks only. */
#ifndef SIPHA_ETCD_HOLDER_H
#define SIPHA_ETCD_HOLDER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "etcd_client.h"
#include "etcd_wire.h"

struct loop;
struct etcd_holder;

#define ETCD_HOLDER_TTL_MIN_S 2u  /* etcd 3.4's minimum lease TTL */
#define ETCD_HOLDER_TTL_MAX_S 60u
#define ETCD_HOLDER_READ_DEFAULT_MS 200u

struct etcd_holder_config {
    const char *key;      /* at most ETCD_WIRE_KEY_MAX bytes */
    uint32_t ttl_s;       /* ETCD_HOLDER_TTL_MIN_S ... ETCD_HOLDER_TTL_MAX_S */
    uint32_t read_ms;     /* 0: the default */
    uint32_t guard_ms;    /* 0: a quarter of the TTL */
};

enum etcd_holder_state {
    ETCD_HOLDER_IDLE,      /* not held, nothing asked */
    ETCD_HOLDER_TAKING,    /* a take is under way */
    ETCD_HOLDER_HELD,      /* the key is ours */
    ETCD_HOLDER_RELEASING, /* a release is under way */
};

enum etcd_holder_event {
    ETCD_HOLDER_EV_HELD,     /* a take succeeded (or found the key already ours) */
    ETCD_HOLDER_EV_REFUSED,  /* a take found another holder: `holder` says who */
    ETCD_HOLDER_EV_FAILED,   /* a take or release could not reach etcd: `error` */
    ETCD_HOLDER_EV_LOST,     /* held, and no longer: `error` says why (deadline, lease
                              * gone, key deleted or taken), `loss` which of the two
                              * kinds that is */
    ETCD_HOLDER_EV_RELEASED, /* a release finished: the key is not ours */
    ETCD_HOLDER_EV_SEEN,     /* a read found a holder other than the last one reported
                              * (`holder`; holder->present false: nobody) */
    ETCD_HOLDER_EV_REACHABLE,   /* a call answered after one that reached no member */
    ETCD_HOLDER_EV_UNREACHABLE, /* a call reached no member (once until reachable) */
};

/* Why a hold was LOST: the two call for different answers (a holder whose etcd went
 * quiet may still be the only candidate; one told its key is gone is not). */
enum etcd_holder_loss {
    ETCD_HOLDER_LOSS_NONE,     /* not a LOST event */
    ETCD_HOLDER_LOSS_DEADLINE, /* no renewal answered in time: etcd was not heard */
    ETCD_HOLDER_LOSS_GONE,     /* etcd answered: the lease expired, or the key was
                                * deleted or names another holder */
};

struct etcd_holder_report {
    enum etcd_holder_event ev;
    const struct etcd_kv *holder; /* REFUSED, SEEN */
    const char *error;            /* FAILED, LOST, UNREACHABLE: one line */
    const char *member;           /* the member that answered or was tried last */
    enum etcd_holder_loss loss;   /* LOST: why; NONE otherwise */
};

typedef void (*etcd_holder_cb)(void *arg, const struct etcd_holder_report *r);

struct etcd_holder_stats {
    enum etcd_holder_state state;
    int64_t lease;             /* 0: none */
    uint32_t ttl_s;            /* as granted */
    uint64_t last_renewal_ms;  /* loop time of the last renewal that answered; 0 never */
    uint64_t deadline_ms;      /* while held: when the hold ends unless renewed */
    uint64_t takes, refusals, losses, releases, renewals;
    struct etcd_kv holder;     /* the holder as last read or refused */
    struct etcd_client_stats client;
};

/* A holder on loop lp talking to the cluster of ccfg. Returns NULL with a one-line
 * reason in err. The first read happens on the next loop turn. */
struct etcd_holder *etcd_holder_new(struct loop *lp, const struct etcd_client_config *ccfg,
                                    const struct etcd_holder_config *hcfg, etcd_holder_cb cb,
                                    void *arg, char *err, size_t errlen);

/* Takes the key with `value` (1..ETCD_WIRE_VALUE_MAX bytes). While held, a take with a
 * new value is refused (release first). Returns 0 (HELD, REFUSED or FAILED follows), or
 * -1 when a take or release is already under way or the value is bad. */
int etcd_holder_take(struct etcd_holder *h, const void *value, size_t vlen);

/* Gives the key up: deletes it if it is still on our lease, then revokes the lease.
 * RELEASED follows (FAILED if no member answered; the lease then expires by itself).
 * Returns -1 when not held (nothing to do) or a take/release is under way. */
int etcd_holder_release(struct etcd_holder *h);

enum etcd_holder_state etcd_holder_state(const struct etcd_holder *h);
uint32_t etcd_holder_guard_ms(const struct etcd_holder *h);
void etcd_holder_get_stats(const struct etcd_holder *h, struct etcd_holder_stats *st);
const char *etcd_holder_event_name(enum etcd_holder_event ev);

/* Stops everything, leaving the lease to expire by itself (a clean stop releases first).
 * NULL is allowed; allowed from the callback. */
void etcd_holder_free(struct etcd_holder *h);

#endif
