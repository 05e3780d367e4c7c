/* notify_queue.h — notifications waiting for the AgentX master.
 *
 * While the master is unreachable the agent keeps each complete varbind list it
 * could not send in this bounded FIFO and delivers them in order on reconnect.
 *
 * When the queue is full, the OLDEST item is dropped (and counted): after an outage
 * the operator needs the notifications that describe the current state (the last
 * role, the last failure), while the oldest ones are already superseded; every
 * notification is also in the event log table, so a dropped one can still be read
 * there, and siphaInstNotifsDropped tells that some were lost. */
#ifndef SIPHA_NOTIFY_QUEUE_H
#define SIPHA_NOTIFY_QUEUE_H

#include <stddef.h>
#include <stdint.h>

#include <net-snmp/net-snmp-config.h>
#include <net-snmp/net-snmp-includes.h>

/* Largest capacity accepted by nq_init and nq_set_limit. */
#define NQ_LIMIT_MAX 100000u

struct nq {
    netsnmp_variable_list **items; /* ring of `limit` slots */
    size_t limit;
    size_t head;       /* slot of the oldest item */
    size_t count;
    uint32_t dropped;  /* items pushed out by newer ones (Counter32, wraps) */
};

/* Returns 0, or -1 when limit is 0 or above NQ_LIMIT_MAX, or memory runs out (q is
 * then empty and safe to nq_free). */
int nq_init(struct nq *q, size_t limit);
/* Frees every item still queued. */
void nq_free(struct nq *q);

/* Appends `vbs`, which the queue owns from now on, whatever the result (it is freed
 * with snmp_free_varbind when rejected or dropped). Returns 0 when queued, 1 when
 * queued after dropping the oldest item, -1 when rejected (NULL list or queue not
 * initialised). */
int nq_push(struct nq *q, netsnmp_variable_list *vbs);
/* Removes and returns the oldest item (the caller owns it), or NULL when empty. */
netsnmp_variable_list *nq_pop(struct nq *q);
/* The oldest item, still owned by the queue (send it, then nq_pop on success). */
const netsnmp_variable_list *nq_peek(const struct nq *q);

size_t nq_count(const struct nq *q);
uint32_t nq_dropped(const struct nq *q);

/* Changes the capacity, keeping the newest items (the others are dropped and
 * counted). Returns 0, or -1 (queue unchanged) on a bad limit or no memory. */
int nq_set_limit(struct nq *q, size_t limit);

#endif
