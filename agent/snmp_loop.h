/* snmp_loop.h — Net-SNMP's sockets and alarms as the foreign source of the agent's
 * event loop (base/loop.h): the one place where the two loops meet. */
#ifndef SIPHA_SNMP_LOOP_H
#define SIPHA_SNMP_LOOP_H

#include "loop.h"

struct snmp_loop {
    int *fds; /* Net-SNMP's descriptors for the poll under way */
    size_t nfds, cap;
};

/* Makes `sl` the source of `lp`; sl must outlive the loop's run. */
void snmp_loop_attach(struct snmp_loop *sl, struct loop *lp);
void snmp_loop_free(struct snmp_loop *sl);

#endif
