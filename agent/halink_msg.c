/* halink_msg.c — strict codec: the peer's text goes through a SET, so every field is
 * checked (decimal only, no sign, ranges, single spaces, nothing after). */
#include <stdio.h>
#include <string.h>

#include "halink_msg.h"

size_t halink_msg_encode(const struct ha_peer_msg *m, char *buf, size_t len)
{
    int n;
    if (m->cmd == HA_CMD_PEER_RELEASE)
        n = snprintf(buf, len, "release");
    else if (m->cmd == HA_CMD_PEER_TAKEOVER)
        n = snprintf(buf, len, "takeover %u %u %u %u", m->epoch, (unsigned)m->reason, m->factor,
                     m->traffic_seen ? 1u : 0u);
    else
        return 0;
    return (n > 0 && (size_t)n < len) ? (size_t)n : 0;
}

/* Reads one decimal field up to the next space or the end; advances *p. */
static int read_u32(const char **p, const char *end, uint32_t *out)
{
    const char *s = *p;
    uint64_t v = 0;
    if (s >= end || *s < '0' || *s > '9')
        return -1;
    while (s < end && *s >= '0' && *s <= '9') {
        v = v * 10 + (uint64_t)(*s - '0');
        if (v > UINT32_MAX)
            return -1;
        s++;
    }
    if (s < end) {
        if (*s != ' ')
            return -1;
        s++;
        if (s == end)
            return -1; /* trailing space */
    }
    *p = s;
    *out = (uint32_t)v;
    return 0;
}

static int decode_takeover(const char *s, const char *end, struct ha_peer_msg *m)
{
    uint32_t epoch, reason, factor, traffic;
    if (read_u32(&s, end, &epoch) || read_u32(&s, end, &reason) || read_u32(&s, end, &factor) ||
        read_u32(&s, end, &traffic) || s != end)
        return -1;
    if (epoch == 0 || reason < HA_REASON_NONE || reason > HA_REASON_STARTUP ||
        (factor != 1 && factor != 2 && factor != 4) || traffic > 1)
        return -1;
    *m = (struct ha_peer_msg){ .cmd = HA_CMD_PEER_TAKEOVER, .epoch = epoch,
                               .reason = (enum ha_reason)reason, .factor = factor,
                               .traffic_seen = traffic == 1 };
    return 0;
}

int halink_msg_decode(const char *text, size_t len, struct ha_peer_msg *m)
{
    static const char take[] = "takeover ", rel[] = "release";
    if (!text || len == 0 || len > HALINK_MSG_MAX)
        return -1;
    if (len == sizeof(rel) - 1 && memcmp(text, rel, len) == 0) {
        *m = (struct ha_peer_msg){ .cmd = HA_CMD_PEER_RELEASE };
        return 0;
    }
    if (len > sizeof(take) - 1 && memcmp(text, take, sizeof(take) - 1) == 0)
        return decode_takeover(text + sizeof(take) - 1, text + len, m);
    return -1;
}
