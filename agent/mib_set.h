/* mib_set.h — SNMP SET on SIPHA-MIB: validation (pure, in RESERVE1) and application
 * (in COMMIT, after every varbind of the PDU passed validation). */
#ifndef SIPHA_MIB_SET_H
#define SIPHA_MIB_SET_H

#include <stdint.h>

#include <net-snmp/net-snmp-config.h>
#include <net-snmp/net-snmp-includes.h>

#include "config.h"
#include "instance.h"
#include "sipha_mib.h"

struct agent;

/* Returns SNMP_ERR_NOERROR or the error a SET of `vb` to column `col` of `table`
 * (row `row`) must get: notWritable, wrongType, wrongLength, wrongValue,
 * inconsistentValue, noCreation. Changes nothing. */
int mibset_check(const struct sipha_instance *in, const struct sipha_config *cfg,
                 enum sipha_table_id table, unsigned col, uint32_t row,
                 const netsnmp_variable_list *vb);

/* Applies a value mibset_check accepted, through control.h (alarm clear, option
 * flags, admin command). */
void mibset_apply(struct agent *a, enum sipha_table_id table, unsigned col, uint32_t row,
                  const netsnmp_variable_list *vb);

/* The option bit a column stands for, or 0 when it is not an option column. */
unsigned mibset_option_bit(unsigned col);

/* Whether a SET of this column changes what the state file keeps (option flags, an
 * alarm's state): such a SET is accepted only if the state can be saved. */
bool mibset_is_persistent(enum sipha_table_id table, unsigned col);

#endif
