/* hex.h — one escaped byte written as two hex digits ("%41" in a URL path, "\x41" in
 * the event log's file), read with Net-SNMP's converter. */
#ifndef SIPHA_HEX_H
#define SIPHA_HEX_H

/* The byte of the two hex digits at `s`, or -1 when they are not two hex digits.
 * The pair is cut out first: Net-SNMP's converter reads to the end of the string and
 * accepts a "0x" prefix. */
int hex_pair_byte(const char *s);

#endif
