/* ha_link.c — the HA link of this instance wired to the engine and to the contact
 * table (being moved onto halink/, the agents' own datagrams). */
#include <net-snmp/net-snmp-config.h>
#include <net-snmp/net-snmp-includes.h>

#include "ha_link.h"

int ha_link_start(struct agent *a)
{
    (void)a;
    return 0;
}

void ha_link_stop(struct agent *a)
{
    (void)a;
}

void ha_link_send(struct agent *a, const struct ha_peer_msg *m)
{
    (void)a;
    (void)m;
}

void ha_link_role_changed(struct agent *a, enum ha_role role)
{
    (void)a;
    (void)role;
}
