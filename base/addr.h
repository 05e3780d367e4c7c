/* addr.h — an IP address as InetAddressType/InetAddress want it, shared by the
 * monitors (what the kernel reports), the configuration and the MIB model. */
#ifndef SIPHA_ADDR_H
#define SIPHA_ADDR_H

#include <stddef.h>
#include <stdint.h>

struct sipha_addr {
    uint8_t family; /* 0 = none, 4 = ipv4(1), 6 = ipv6(2) */
    uint8_t bytes[16];
};

/* Parses "192.0.2.1" / "2001:db8::1": 0, or -1 (and *a untouched) on error. */
int sipha_addr_parse(struct sipha_addr *a, const char *text);
/* Formats into buf; returns buf ("" for no address). */
const char *sipha_addr_format(const struct sipha_addr *a, char *buf, size_t len);

#endif
