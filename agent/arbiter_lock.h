/* arbiter_lock.h — the etcd arbiter (<arbiter kind="etcd">) as the HA engine's lock.
 *
 * One etcd_holder holds the pair's key for this instance. Its events become engine
 * inputs: whether etcd answers becomes HA_IN_ARBITER (reachable or not), what
 * happened to the key becomes HA_IN_LOCK (held, refused, failed, lost, released).
 * The engine's HA_OUT_LOCK becomes a take (value "<instance name> <epoch>") or a
 * release. The hold is shown to the MIB through struct sipha_lock_view
 * (instance_lock). */
#ifndef SIPHA_ARBITER_LOCK_H
#define SIPHA_ARBITER_LOCK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "context.h"

/* Opens the holder for a->cfg (kind etcd) into a->lock; its first read goes out on
 * the next loop turn. Returns 0, or -1 with a one-line reason in err. */
int arbiter_lock_start(struct agent *a, char *err, size_t errlen);

/* Closes the holder without a release (a primary's graceful stop has released the
 * key through the engine by then; otherwise its lease expires by itself). NULL
 * a->lock is allowed. */
void arbiter_lock_stop(struct agent *a);

/* The engine's HA_OUT_LOCK: take the key for `epoch`, or release it. It is carried out
 * on the next loop turn, never inside the engine's step. While a take or release is
 * under way the latest wish waits for that call's event; every wish ends in exactly
 * one HA_IN_LOCK input, so the engine is never left waiting. */
void arbiter_lock_want(struct agent *a, bool take, uint32_t epoch);

#endif
