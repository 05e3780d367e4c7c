/* mib_table.h — one Net-SNMP handler for all six SIPHA-MIB tables, registered per
 * table at entry.FIRSTCOLUMN.INSTANCE with a column range, so this process answers
 * only for its own instance's rows and several agents share one table under one
 * master (their rows interleave in lexicographic order). */
#ifndef SIPHA_MIB_TABLE_H
#define SIPHA_MIB_TABLE_H

#include <stdbool.h>
#include <stdint.h>

#include <net-snmp/net-snmp-config.h>
#include <net-snmp/net-snmp-includes.h>

#include "context.h"
#include "mib_oid.h"
#include "sipha_mib.h"

/* Where an OID lies in the tables: table, column, instance, row (0 = none). */
struct mib_pos {
    enum sipha_table_id table;
    unsigned column;
    uint32_t instance;
    uint32_t row;
};


int mib_table_register_all(struct agent *a);

/* Answers an AgentX Get or GetNext request `pdu` received on the master session `s`
 * when every varbind lies in this instance's columns and the context is the default
 * one: the Response is sent here and 0 returned. -1: not handled, nothing sent (the
 * caller passes the PDU to Net-SNMP's own subagent path). */
int mib_table_answer_agentx(struct agent *a, netsnmp_session *s, netsnmp_pdu *pdu);


/* Parses an OID of one of our columns: 0 on success, -1 if it is not one (wrong
 * prefix, column out of range, sub-ids too large). `*extra` is set when the OID goes
 * on past the row index (only valid for GETNEXT). */
int mib_oid_parse(const oid *name, size_t len, struct mib_pos *pos, bool *has_row, bool *extra);

/* The row index of `table` after `row` (> row, or >= when inclusive) in `in`; 0 when
 * none. For SIPHA_T_INSTANCE the only row is 0 and this returns 0. */
uint32_t mib_next_row(const struct sipha_instance *in, enum sipha_table_id table, uint32_t row,
                      bool inclusive);

#endif
