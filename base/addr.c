/* addr.c — see addr.h. */
#include <arpa/inet.h>
#include <string.h>
#include <sys/socket.h>

#include "addr.h"

int sipha_addr_parse(struct sipha_addr *a, const char *text)
{
    if (!a || !text)
        return -1;
    struct sipha_addr tmp = { 0 };
    if (inet_pton(AF_INET, text, tmp.bytes) == 1)
        tmp.family = 4;
    else if (inet_pton(AF_INET6, text, tmp.bytes) == 1)
        tmp.family = 6;
    else
        return -1; /* `a` untouched */
    *a = tmp;
    return 0;
}

const char *sipha_addr_format(const struct sipha_addr *a, char *buf, size_t len)
{
    if (!buf || len == 0)
        return "";
    buf[0] = '\0';
    if (!a)
        return buf;
    int af = a->family == 4 ? AF_INET : a->family == 6 ? AF_INET6 : -1;
    socklen_t sl = len > INET6_ADDRSTRLEN ? INET6_ADDRSTRLEN : (socklen_t)len;
    if (af < 0 || !inet_ntop(af, a->bytes, buf, sl))
        buf[0] = '\0'; /* none, or buf too small: empty rather than a partial address */
    return buf;
}
