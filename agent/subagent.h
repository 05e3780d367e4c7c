/* subagent.h — the AgentX side: connect to the master, register this instance's rows,
 * keep the session alive across master restarts. */
#ifndef SIPHA_SUBAGENT_H
#define SIPHA_SUBAGENT_H

#include "context.h"

/* Configures Net-SNMP as an AgentX subagent and opens the session (a master that is
 * not there yet is retried every ping interval). Returns 0, or -1 with a message. */
int subagent_start(struct agent *a);
/* Registers every table's rows of this instance. */
int subagent_register_tables(struct agent *a);
void subagent_stop(struct agent *a);

#endif
