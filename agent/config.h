/* config.h — the sipha-agent configuration: one XML file (or file://, http://,
 * https:// URL) validated against agent/sipha-config.rng. */
#ifndef SIPHA_CONFIG_H
#define SIPHA_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "etcd_client.h"
#include "etcd_wire.h"
#include "instance.h"

#define CONFIG_ERR_MAX 512
#define CONFIG_DEFAULT_STATE_DIR "/var/lib/sipha" /* <state dir=> left out */

struct config_nic {
    enum ha_nic_purpose purpose;
    char name[SIPHA_NAME_MAX];     /* interface name, may be empty for SIP NIC found by address */
    struct sipha_addr addr;        /* sip-nic-address for the SIP NIC; optional otherwise */
};

struct config_vip {
    struct sipha_addr addr;
    uint8_t prefix_len;            /* default 32 / 128 */
    char interface[SIPHA_NAME_MAX];
    char up_script[SIPHA_PATH_MAX];   /* absolute path, run without a shell */
    char down_script[SIPHA_PATH_MAX];
};

struct config_dn {
    char name[SIPHA_NAME_MAX];
    char uri[SIPHA_URI_MAX];
    uint32_t oos_check;            /* seconds, 0 = not probed */
    uint32_t oos_force;            /* seconds */
};

struct config_contact {
    char aor[SIPHA_URI_MAX];
    char uri[SIPHA_URI_MAX];
    uint32_t expires;              /* seconds from load */
};

/* The arbiter: an HTTP URL that says "reachable" (the seed's SCS), or an etcd cluster
 * whose key names the one instance of the pair that may be primary (a lock). */
enum arbiter_kind { ARBITER_HTTP = 0, ARBITER_ETCD = 1 };
#define CONFIG_ETCD_TTL_DEFAULT_S 3u      /* see agent/sipha.example.xml */
#define CONFIG_ETCD_TIMEOUT_DEFAULT_MS ETCD_CLIENT_TIMEOUT_DEFAULT_MS
#define CONFIG_ETCD_LIST_MAX 2048u        /* endpoints= text, with its terminator */

/* The SIP server beside the agent: generic (contacts from <contact> elements only)
 * or Kamailio (registrations read from and written to its usrloc). */
enum sip_server_kind { SIP_SERVER_GENERIC = 0, SIP_SERVER_KAMAILIO = 1 };

struct sipha_config {
    /* <instance index= name= priority= initial-role=> */
    uint32_t index;                /* 1..255 */
    char name[SIPHA_NAME_MAX];
    uint32_t priority;             /* default 100; higher wins */
    enum ha_role initial_role;     /* primary|backup, default backup */

    /* <agentx socket= ping-interval= timeout-ms=> */
    char agentx_socket[SIPHA_PATH_MAX]; /* empty = Net-SNMP default */
    uint32_t agentx_ping_interval;      /* seconds, default 1 */
    uint32_t agentx_timeout_ms;         /* default 1000 */

    /* <state dir=> where SET values and the event log persist */
    char state_dir[SIPHA_PATH_MAX];

    /* <eventlog limit= alarm-autoclear=> */
    uint32_t eventlog_limit;            /* default 500 */
    uint32_t alarm_autoclear;           /* seconds, 0 = operator clears */

    /* <notifications queue-limit=> */
    uint32_t notif_queue_limit;         /* default 1000 */

    /* <options sip-pass-check= control-vip-scripts= sip-iptakeover-monitoring=
     *          tlib-nic-monitoring= sip-nic-monitoring= sip-nic-address=> */
    unsigned options;                   /* enum ha_option bits */
    struct sipha_addr sip_nic_address;

    /* <sip address= port=> */
    struct sipha_addr sip_addr;
    uint16_t sip_port;                  /* default 5060 */

    /* <script timeout-ms=> for VIP scripts */
    uint32_t script_timeout_ms;         /* default 5000 */

    /* <peer name= index= address= bind= key-file= interval-ms= miss-count= settle-ms=>
     * (optional): the HA link, the agents' own UDP datagrams with HMAC-SHA-256 */
    bool has_peer;
    char peer_name[SIPHA_NAME_MAX];
    uint32_t peer_index;
    char peer_address[SIPHA_NAME_MAX];  /* the peer agent: IPv4:PORT or [IPv6]:PORT */
    char peer_bind[SIPHA_NAME_MAX];     /* this agent's end of the link, same form */
    char peer_key_file[SIPHA_PATH_MAX]; /* pre-shared key, mode 0600 */
    uint32_t peer_interval_ms;          /* heartbeat period, default 15 */
    uint32_t peer_miss_count;           /* heartbeats missed = peer lost, default 3 */
    uint32_t peer_backup_interval_ms;   /* heartbeat period of a backup that hears its
                                           primary; default max(500, interval) */
    uint32_t peer_settle_ms;            /* start-up discovery, election, re-sends; 1500 */

    /* <takeover announce-count= announce-interval-ms= vip-lifetime=> */
    uint32_t announce_count;            /* gratuitous ARP / NA per VIP, default 5 */
    uint32_t announce_interval_ms;      /* between them, default 200 */
    uint32_t vip_lifetime_s;            /* VIP address lifetime renewed by the live
                                           agent, default 3; 0 = permanent */

    /* <arbiter kind= ...> (optional): kind http, <arbiter url= interval-ms= timeout-ms=>;
     * kind etcd, <arbiter endpoints= key= ttl-s= read-ms= timeout-ms= ca= cert= key-file=
     * contacts=> */
    bool has_arbiter;
    enum arbiter_kind arbiter_kind;     /* default ARBITER_HTTP */
    char arbiter_url[SIPHA_URI_MAX];    /* http */
    uint32_t arbiter_interval_ms;       /* http: default 1000 */
    uint32_t arbiter_timeout_ms;        /* http: one request, default 1000; etcd: one
                                           attempt on one member, default 500 */
    char etcd_endpoint_list[CONFIG_ETCD_LIST_MAX]; /* endpoints= as written */
    char etcd_endpoints[ETCD_CLIENT_ENDPOINTS_MAX][ETCD_CLIENT_URL_MAX + 1];
    size_t n_etcd_endpoints;            /* ... split, in order: 1..7 */
    char etcd_key[ETCD_WIRE_KEY_MAX + 1]; /* default /sipha/pair-LOW-HIGH/primary, the
                                           pair's two instance indexes */
    uint32_t etcd_ttl_s;                /* lease TTL, 2..60, default 3 */
    uint32_t etcd_read_ms;              /* key read period, default 200 */
    char etcd_ca[SIPHA_PATH_MAX];       /* TLS: CA bundle ("": the system's) */
    char etcd_cert[SIPHA_PATH_MAX];     /* TLS: client certificate and ... */
    char etcd_key_file[SIPHA_PATH_MAX]; /* ... its key (both or neither) */
    int etcd_contacts;                  /* contacts=: the pair's contacts kept under
                                           the key's parent too (1, the default) */

    /* <sip-server kind= rpc= events= table= reconcile= timeout-ms=> (optional) */
    enum sip_server_kind sip_server_kind;   /* default SIP_SERVER_GENERIC */
    char sip_server_rpc[SIPHA_URI_MAX];     /* kamailio: JSON-RPC over HTTP URL */
    char sip_server_events[SIPHA_NAME_MAX]; /* kamailio: evapi IP:PORT */
    char sip_server_table[SIPHA_NAME_MAX];  /* usrloc table, default "location" */
    uint32_t sip_server_reconcile_s;        /* full reads of the table, default 300 */
    uint32_t sip_server_timeout_ms;         /* per RPC call, default 10000 (a 10,000-contact ul.dump takes ~1 s of Kamailio time) */

    struct config_nic *nics; size_t n_nics;
    struct config_vip *vips; size_t n_vips;
    struct config_dn *dns; size_t n_dns;
    struct config_contact *contacts; size_t n_contacts;
};

/* Parses and validates an XML document held in memory (at most 1 MiB). `origin`
 * names it in errors (file path or URL); schema_path NULL = config_default_schema().
 * `cfg` must be zeroed or hold a loaded configuration: on success its previous
 * content is freed and replaced. On error returns -1, leaves `cfg` untouched and
 * writes "origin:line: element <x>: what is wrong" into err. */
int config_parse_buffer(struct sipha_config *cfg, const char *buf, size_t len,
                        const char *origin, const char *schema_path,
                        char *err, size_t errlen);
/* Reads a path or file:// URL from disk, or fetches http(s):// with libcurl
 * (blocking, bounded by a timeout: used at start only), then parses. */
int config_load(struct sipha_config *cfg, const char *location, const char *schema_path,
                char *err, size_t errlen);
void config_free(struct sipha_config *cfg);
/* NULL when the option bits `options` (enum ha_option) have what they need in `cfg`
 * (e.g. sip-nic-monitoring needs a SIP NIC), else why not. The loader applies it to
 * <options>; a SET of the option columns can use it too (inconsistentValue). */
const char *config_options_problem(const struct sipha_config *cfg, unsigned options);
/* The schema path: $SIPHA_SCHEMA, else the installed one, else the source tree's. */
const char *config_default_schema(void);

#endif
