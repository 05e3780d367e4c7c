/* instance.h — everything one SIP server instance shows through SIPHA-MIB.
 *
 * Plain data: the MIB handlers read it, SETs and the HA engine's decisions write it,
 * monitors feed it through the engine. Rows of every sub-table are kept in arrays
 * sorted by their index (base/rows.h), so a lookup is a binary search. */
#ifndef SIPHA_INSTANCE_H
#define SIPHA_INSTANCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "addr.h"
#include "eventlog.h"
#include "ha_types.h"
#include "monitor.h"
#include "rows.h"

#define SIPHA_NAME_MAX 64
#define SIPHA_URI_MAX 256
#define SIPHA_PATH_MAX 256

enum nic_purpose { NIC_PURPOSE_MANAGEMENT = 1, NIC_PURPOSE_SIP = 2 };
enum oper_state { OPER_UNKNOWN = 1, OPER_UP = 2, OPER_DOWN = 3 };
enum traffic_state { TRAFFIC_UNKNOWN = 1, TRAFFIC_FLOWING = 2, TRAFFIC_LOST = 3, TRAFFIC_NOT_MONITORED = 4 };
enum link_state { LINK_NOT_CONFIGURED = 1, LINK_UP = 2, LINK_DOWN = 3 };
enum vip_expect { VIP_EXPECT_PRESENT = 1, VIP_EXPECT_ABSENT = 2 };
enum vip_actual { VIP_ACTUAL_UNKNOWN = 1, VIP_ACTUAL_PRESENT = 2, VIP_ACTUAL_ABSENT = 3 };
enum vip_status { VIP_STATUS_OK = 1, VIP_STATUS_MISMATCH = 2, VIP_STATUS_FAILED = 3, VIP_STATUS_NOT_MONITORED = 4 };
enum contact_origin { CONTACT_LOCAL = 1, CONTACT_SYNCED = 2 };

/* Times are milliseconds of CLOCK_MONOTONIC (0 = never); the SNMP adapter turns
 * them into TimeStamp values. */
typedef uint64_t sipha_ms;

struct sipha_nic {
    uint32_t index;
    enum nic_purpose purpose;
    int32_t ifindex;
    char name[SIPHA_NAME_MAX];
    struct sipha_addr addr;
    enum oper_state oper;
    sipha_ms last_change;
    uint32_t failures;
};

struct sipha_vip {
    uint32_t index;
    struct sipha_addr addr;
    uint8_t prefix_len;
    char interface[SIPHA_NAME_MAX];
    char up_script[SIPHA_PATH_MAX];
    char down_script[SIPHA_PATH_MAX];
    enum vip_expect expected;
    enum vip_actual actual;
    enum vip_status status;
    uint32_t script_runs;
    int32_t last_exit; /* -1 = never ran */
    sipha_ms last_change;
};

struct sipha_dn {
    uint32_t index;
    char name[SIPHA_NAME_MAX];
    char uri[SIPHA_URI_MAX];
    uint32_t oos_check; /* seconds between OPTIONS probes; 0 = not probed */
    uint32_t oos_force; /* seconds without answer before out of service */
    enum dn_state state;
    sipha_ms last_response;
    uint32_t last_status;
    uint32_t rtt_us;
    uint32_t probes;
    uint32_t timeouts;
};

struct sipha_contact {
    uint32_t index;
    char aor[SIPHA_URI_MAX];
    char uri[SIPHA_URI_MAX];
    sipha_ms expires_at; /* monotonic deadline */
    enum contact_origin origin;
    uint64_t seen;       /* last time a source confirmed it (sync bookkeeping) */
};

struct sipha_instance {
    /* identity and configuration */
    uint32_t index;
    char name[SIPHA_NAME_MAX];
    uint32_t priority;
    struct sipha_addr sip_addr;
    uint16_t sip_port;
    unsigned options; /* enum ha_option bits */

    /* HA state */
    enum ha_role role;
    enum ha_status status;
    uint32_t epoch;
    bool listener_bound;
    enum traffic_state traffic;
    uint64_t sip_msgs_in;
    sipha_ms last_sip_msg;
    uint32_t oos_timeout_base, oos_timeout_eff, backoff_factor;
    uint32_t switchovers, double_switchovers;
    sipha_ms last_switchover;
    enum ha_reason last_reason;

    /* peer and arbiter, as last heard */
    char peer_name[SIPHA_NAME_MAX];
    enum ha_role peer_role;
    enum ha_status peer_status;
    enum link_state peer_link;
    sipha_ms peer_last_seen;
    enum link_state arbiter;

    /* admin command */
    enum ha_admin_cmd admin_cmd;
    enum ha_admin_result admin_result;
    sipha_ms admin_time;

    /* HA link counters (siphaInstHaLinkIn..siphaInstPeerHearsUs) */
    uint64_t halink_in, halink_out;
    uint32_t halink_auth_failures, halink_bad;
    bool peer_hears_us;

    /* notifications waiting for the master, and those lost to a full queue */
    uint32_t notifs_queued, notifs_dropped;

    struct sipha_rows nics;     /* struct sipha_nic */
    struct sipha_rows vips;     /* struct sipha_vip */
    struct sipha_rows dns;      /* struct sipha_dn */
    struct sipha_rows contacts; /* struct sipha_contact */
    struct evlog events;
};

/* Initialises `in` with defaults (unknown role, initializing status, empty tables). */
void instance_init(struct sipha_instance *in);
void instance_free(struct sipha_instance *in);

#endif
