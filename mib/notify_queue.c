/* notify_queue.c — the bounded FIFO of notify_queue.h (a ring of varbind lists). */
#include <stdlib.h>
#include <string.h>

#include "notify_queue.h"

static size_t slot_of(const struct nq *q, size_t k)
{
    return (q->head + k) % q->limit;
}

int nq_init(struct nq *q, size_t limit)
{
    memset(q, 0, sizeof(*q));
    if (limit == 0 || limit > NQ_LIMIT_MAX)
        return -1;
    q->items = calloc(limit, sizeof(*q->items));
    if (!q->items)
        return -1;
    q->limit = limit;
    return 0;
}

void nq_free(struct nq *q)
{
    netsnmp_variable_list *vbs;
    while ((vbs = nq_pop(q)) != NULL)
        snmp_free_varbind(vbs);
    free(q->items);
    memset(q, 0, sizeof(*q));
}

int nq_push(struct nq *q, netsnmp_variable_list *vbs)
{
    if (!vbs)
        return -1;
    if (!q->items) {
        snmp_free_varbind(vbs);
        return -1;
    }
    int rc = 0;
    if (q->count == q->limit) {
        snmp_free_varbind(nq_pop(q));
        q->dropped++;
        rc = 1;
    }
    q->items[slot_of(q, q->count)] = vbs;
    q->count++;
    return rc;
}

netsnmp_variable_list *nq_pop(struct nq *q)
{
    if (q->count == 0)
        return NULL;
    netsnmp_variable_list *vbs = q->items[q->head];
    q->items[q->head] = NULL;
    q->head = (q->head + 1) % q->limit;
    q->count--;
    return vbs;
}

const netsnmp_variable_list *nq_peek(const struct nq *q)
{
    return q->count ? q->items[q->head] : NULL;
}

size_t nq_count(const struct nq *q)
{
    return q->count;
}

uint32_t nq_dropped(const struct nq *q)
{
    return q->dropped;
}

int nq_set_limit(struct nq *q, size_t limit)
{
    if (!q->items || limit == 0 || limit > NQ_LIMIT_MAX)
        return -1;
    netsnmp_variable_list **items = calloc(limit, sizeof(*items));
    if (!items)
        return -1;
    while (q->count > limit) {
        snmp_free_varbind(nq_pop(q));
        q->dropped++;
    }
    for (size_t k = 0; k < q->count; k++)
        items[k] = q->items[slot_of(q, k)];
    free(q->items);
    q->items = items;
    q->limit = limit;
    q->head = 0;
    return 0;
}
