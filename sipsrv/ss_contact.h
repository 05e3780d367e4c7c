/* ss_contact.h — one registration contact as the SIP server's location service holds
 * it, with what another server needs to reach the UA through it: the record sipsrv/
 * reads from the primary's server and writes into the backup's. Strings are
 * NUL-terminated and empty when unset (Kamailio's "[not set]" becomes ""); a value
 * longer than its field makes the whole contact invalid (never silently cut). */
#ifndef SIPHA_SS_CONTACT_H
#define SIPHA_SS_CONTACT_H

#include <stdint.h>

#define SS_AOR_MAX 256      /* address of record, e.g. "1001@example.com" */
#define SS_URI_MAX 256      /* contact URI */
#define SS_PATH_MAX 512     /* Path header value(s), comma-separated */
#define SS_RECEIVED_MAX 128 /* source the REGISTER came from: "sip:IP:PORT;transport=..." */
#define SS_SOCKET_MAX 96    /* local socket it came in on: "udp:IP:PORT" */
#define SS_UA_MAX 128       /* User-Agent, informational */

#define SS_Q_UNSET (-1)
/* expires_s of a contact that never expires (Kamailio: "Expires":"permanent", made by
 * ul.add with expires 0). */
#define SS_EXPIRES_PERMANENT UINT32_MAX

struct ss_contact {
    char aor[SS_AOR_MAX];
    char uri[SS_URI_MAX];
    uint32_t expires_s; /* seconds left (0: expired or being removed), SS_EXPIRES_PERMANENT */
    int32_t q;          /* 0..1000 (q=1.0 is 1000), SS_Q_UNSET */
    uint32_t flags, cflags, methods; /* usrloc flags, branch flags, allowed methods bitmap */
    char path[SS_PATH_MAX];
    char received[SS_RECEIVED_MAX];
    char socket[SS_SOCKET_MAX];
    char user_agent[SS_UA_MAX];
};

#endif
