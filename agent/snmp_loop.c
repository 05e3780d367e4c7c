/* snmp_loop.c — Net-SNMP's descriptor set is re-read with snmp_select_info2() before
 * every poll: its sockets change when the AgentX session reconnects, and a closed fd
 * number may be reused by the new session, so nothing about them is kept between
 * iterations. */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <net-snmp/net-snmp-config.h>
#include <net-snmp/net-snmp-includes.h>
#include <net-snmp/agent/net-snmp-agent-includes.h>
#include <net-snmp/library/large_fd_set.h>

#include "array.h"
#include "snmp_loop.h"

static void sl_prepare(void *arg, const int **fds, size_t *n, int *timeout_ms)
{
    struct snmp_loop *sl = arg;
    netsnmp_large_fd_set rset;
    int maxfd = 0, block = 1;
    struct timeval tv = { 0, 0 };

    netsnmp_large_fd_set_init(&rset, FD_SETSIZE);
    snmp_select_info2(&maxfd, &rset, &tv, &block);
    sl->nfds = 0;
    void *items = sl->fds;
    if (array_reserve(&items, &sl->cap, (size_t)maxfd + 1, sizeof(int), 8) == 0) {
        sl->fds = items;
        for (int fd = 0; fd < maxfd; fd++)
            if (NETSNMP_LARGE_FD_ISSET(fd, &rset))
                sl->fds[sl->nfds++] = fd;
    } /* else: short of memory, Net-SNMP's sockets wait for the next iteration */
    netsnmp_large_fd_set_cleanup(&rset);
    *fds = sl->fds;
    *n = sl->nfds;
    *timeout_ms = block ? -1 : (int)(tv.tv_sec * 1000 + (tv.tv_usec + 999) / 1000);
}

static void sl_dispatch(void *arg, const int *ready, size_t n)
{
    (void)arg;
    if (n == 0) {
        snmp_timeout();
        return;
    }
    netsnmp_large_fd_set rset;
    netsnmp_large_fd_set_init(&rset, FD_SETSIZE);
    for (size_t i = 0; i < n; i++)
        NETSNMP_LARGE_FD_SET(ready[i], &rset);
    snmp_read2(&rset);
    netsnmp_large_fd_set_cleanup(&rset);
}

/* Alarms (AgentX pings, reconnects) and delegated requests, once per iteration. */
static void sl_after(void *arg)
{
    (void)arg;
    run_alarms();
    netsnmp_check_outstanding_agent_requests();
}

void snmp_loop_attach(struct snmp_loop *sl, struct loop *lp)
{
    struct loop_source src = { sl_prepare, sl_dispatch, sl_after, sl };
    loop_set_source(lp, &src);
}

void snmp_loop_free(struct snmp_loop *sl)
{
    free(sl->fds);
    memset(sl, 0, sizeof *sl);
}
