/* hex.c — see hex.h. */
#include <net-snmp/net-snmp-config.h>
#include <net-snmp/net-snmp-includes.h>

#include "hex.h"

int hex_pair_byte(const char *s)
{
    char pair[3] = { s[0], s[0] ? s[1] : '\0', '\0' };
    u_char byte = 0, *out = &byte;
    size_t cap = 1, n = 0;
    if (!netsnmp_hex_to_binary(&out, &cap, &n, 0, pair, NULL) || n != 1)
        return -1;
    return byte;
}
