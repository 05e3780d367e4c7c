/* config.c — loads the sipha-agent XML configuration.
 *
 * Three stages: libxml2 parses the document (no DTD, no entities, no network: the
 * file may come from a server); the RelaxNG schema validates it; a table-driven pass
 * copies every attribute into a temporary sipha_config, checking each value again and
 * what a schema cannot express (addresses, options that need other elements, unique
 * names). The tables repeat the schema's ranges on purpose: libxml2's RelaxNG messages
 * often say only "failed to validate attributes", while this pass names the attribute
 * and the allowed range, so its error is preferred when both fail. */
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <libxml/parser.h>
#include <libxml/relaxng.h>
#include <libxml/tree.h>
#include <libxml/xmlerror.h>

#include "array.h"
#include "curl_loop.h"
#include "errbuf.h"
#include "config.h"
#include "etcd_holder.h"
#include "hl_link.h"
#include "mon_probe.h"
#include "config_fetch.h"
#include "xml_lazy.h"

#if LIBXML_VERSION >= 21200
typedef const xmlError *cfg_xml_error;
#else
typedef xmlErrorPtr cfg_xml_error;
#endif

/* ---------- element and attribute tables ---------- */

enum elem_id {
    E_INSTANCE, E_AGENTX, E_STATE, E_EVENTLOG, E_NOTIFICATIONS, E_OPTIONS, E_SIP,
    E_SCRIPT, E_PEER, E_ARBITER, E_TAKEOVER, E_SIP_SERVER, E_NIC, E_VIP, E_DN, E_CONTACT,
    E_COUNT
};

enum attr_kind {
    A_UINT,   /* decimal in [min, max], stored in a 1-, 2- or 4-byte field */
    A_FLAG,   /* true|false, the option bit `min` of cfg->options */
    A_TEXT,   /* printable text; at most `max` bytes when max > 0 */
    A_PATH,   /* absolute path */
    A_URI,    /* sip: or sips: URI */
    A_URL,    /* http:// or https:// URL */
    A_ADDR,   /* IPv4 or IPv6 address */
    A_CHOICE, /* one word of `choices`, stored in an enum field */
};

struct choice {
    const char *word;
    int value;
};

struct attr_spec {
    const char *name;
    enum attr_kind kind;
    bool required;
    size_t off, size; /* field in the destination struct */
    uint32_t min, max;
    const struct choice *choices;
};

struct pctx;
struct elem_spec {
    const char *name;
    bool repeated;
    bool required;
    const struct attr_spec *attrs; /* ends with a NULL name */
    size_t row_size;               /* repeated: sizeof one row */
    void (*defaults)(void *row);   /* repeated: per-row defaults, may be NULL */
    int (*finish)(struct pctx *p, const xmlNode *n, void *dst); /* may be NULL */
};

#define FIELD_SIZE(type, field) sizeof(((type *)0)->field)
#define ATTR_U(nm, req, type, field, lo, hi) \
    { nm, A_UINT, req, offsetof(type, field), FIELD_SIZE(type, field), lo, hi, NULL }
#define ATTR_S(nm, kind, req, type, field, maxlen) \
    { nm, kind, req, offsetof(type, field), FIELD_SIZE(type, field), 0, maxlen, NULL }
#define ATTR_ADDR(nm, req, type, field) \
    { nm, A_ADDR, req, offsetof(type, field), FIELD_SIZE(type, field), 0, 0, NULL }
#define ATTR_C(nm, req, type, field, list) \
    { nm, A_CHOICE, req, offsetof(type, field), FIELD_SIZE(type, field), 0, 0, list }
#define ATTR_FLAG(nm, bit) \
    { nm, A_FLAG, false, offsetof(struct sipha_config, options), \
      FIELD_SIZE(struct sipha_config, options), bit, 0, NULL }
#define ATTR_END { NULL, A_UINT, false, 0, 0, 0, 0, NULL }

#define CFG struct sipha_config
#define MS_MAX 3600000u
#define IFNAME_MAX 15u /* IFNAMSIZ - 1 */
#define ETCD_READ_MIN_MS 20u    /* a read of the key every 20 ms is plenty for etcd ... */
#define ETCD_READ_MAX_MS 60000u /* ... and a holder seen once a minute is the least */

static const struct choice roles[] = {
    { "primary", HA_ROLE_PRIMARY }, { "backup", HA_ROLE_BACKUP }, { NULL, 0 }
};
static const struct choice purposes[] = {
    { "management", HA_NIC_MANAGEMENT }, { "sip", HA_NIC_SIP }, { NULL, 0 }
};

static const struct attr_spec a_instance[] = {
    ATTR_U("index", true, CFG, index, 1, 255),
    ATTR_S("name", A_TEXT, true, CFG, name, 0),
    ATTR_U("priority", false, CFG, priority, 0, UINT32_MAX),
    ATTR_C("initial-role", false, CFG, initial_role, roles),
    ATTR_END
};
static const struct attr_spec a_agentx[] = {
    ATTR_S("socket", A_TEXT, false, CFG, agentx_socket, 0),
    ATTR_U("ping-interval", false, CFG, agentx_ping_interval, 1, 3600),
    ATTR_U("timeout-ms", false, CFG, agentx_timeout_ms, 1, MS_MAX),
    ATTR_END
};
static const struct attr_spec a_state[] = {
    ATTR_S("dir", A_PATH, true, CFG, state_dir, 0),
    ATTR_END
};
static const struct attr_spec a_eventlog[] = {
    ATTR_U("limit", false, CFG, eventlog_limit, 1, 100000),
    ATTR_U("alarm-autoclear", false, CFG, alarm_autoclear, 0, UINT32_MAX),
    ATTR_END
};
static const struct attr_spec a_notifications[] = {
    ATTR_U("queue-limit", false, CFG, notif_queue_limit, 1, 100000),
    ATTR_END
};
static const struct attr_spec a_options[] = {
    ATTR_FLAG("sip-pass-check", HA_OPT_SIP_PASS_CHECK),
    ATTR_FLAG("control-vip-scripts", HA_OPT_CONTROL_VIP_SCRIPTS),
    ATTR_FLAG("sip-iptakeover-monitoring", HA_OPT_IPTAKEOVER_MONITORING),
    ATTR_FLAG("tlib-nic-monitoring", HA_OPT_TLIB_NIC_MONITORING),
    ATTR_FLAG("sip-nic-monitoring", HA_OPT_SIP_NIC_MONITORING),
    ATTR_ADDR("sip-nic-address", false, CFG, sip_nic_address),
    ATTR_END
};
static const struct attr_spec a_sip[] = {
    ATTR_ADDR("address", true, CFG, sip_addr),
    ATTR_U("port", false, CFG, sip_port, 1, 65535),
    ATTR_END
};
static const struct attr_spec a_script[] = {
    ATTR_U("timeout-ms", false, CFG, script_timeout_ms, 1, MS_MAX),
    ATTR_END
};
static const struct attr_spec a_peer[] = {
    ATTR_S("name", A_TEXT, false, CFG, peer_name, 0),
    ATTR_U("index", true, CFG, peer_index, 1, 255),
    ATTR_S("address", A_TEXT, true, CFG, peer_address, 0),
    ATTR_S("bind", A_TEXT, true, CFG, peer_bind, 0),
    ATTR_S("key-file", A_PATH, true, CFG, peer_key_file, 0),
    ATTR_U("interval-ms", false, CFG, peer_interval_ms, HL_INTERVAL_MIN_MS, HL_INTERVAL_MAX_MS),
    ATTR_U("miss-count", false, CFG, peer_miss_count, HL_MISS_COUNT_MIN, HL_MISS_COUNT_MAX),
    ATTR_U("backup-interval-ms", false, CFG, peer_backup_interval_ms, HL_INTERVAL_MIN_MS,
           HL_INTERVAL_MAX_MS),
    ATTR_U("settle-ms", false, CFG, peer_settle_ms, 100, HA_MAX_TIMER_MS),
    ATTR_END
};
static const struct attr_spec a_takeover[] = {
    ATTR_U("announce-count", false, CFG, announce_count, 0, 100),
    ATTR_U("announce-interval-ms", false, CFG, announce_interval_ms, 10, 60000),
    ATTR_U("vip-lifetime", false, CFG, vip_lifetime_s, 0, 3600),
    ATTR_END
};
static const struct choice arbiter_kinds[] = {
    { "http", ARBITER_HTTP }, { "etcd", ARBITER_ETCD }, { NULL, 0 }
};
static const struct choice booleans[] = { { "true", 1 }, { "false", 0 }, { NULL, 0 } };
/* Which attributes belong to which kind: finish_arbiter. */
static const struct attr_spec a_arbiter[] = {
    ATTR_C("kind", false, CFG, arbiter_kind, arbiter_kinds),
    ATTR_S("url", A_URL, false, CFG, arbiter_url, 0),
    ATTR_U("interval-ms", false, CFG, arbiter_interval_ms, 1, MS_MAX),
    ATTR_U("timeout-ms", false, CFG, arbiter_timeout_ms, 1, MS_MAX),
    ATTR_S("endpoints", A_TEXT, false, CFG, etcd_endpoint_list, 0),
    ATTR_S("key", A_TEXT, false, CFG, etcd_key, 0),
    ATTR_U("ttl-s", false, CFG, etcd_ttl_s, ETCD_HOLDER_TTL_MIN_S, ETCD_HOLDER_TTL_MAX_S),
    ATTR_U("read-ms", false, CFG, etcd_read_ms, ETCD_READ_MIN_MS, ETCD_READ_MAX_MS),
    ATTR_S("ca", A_PATH, false, CFG, etcd_ca, 0),
    ATTR_S("cert", A_PATH, false, CFG, etcd_cert, 0),
    ATTR_S("key-file", A_PATH, false, CFG, etcd_key_file, 0),
    ATTR_C("contacts", false, CFG, etcd_contacts, booleans),
    ATTR_END
};
static const struct choice server_kinds[] = {
    { "generic", SIP_SERVER_GENERIC }, { "kamailio", SIP_SERVER_KAMAILIO }, { NULL, 0 }
};
static const struct attr_spec a_sip_server[] = {
    ATTR_C("kind", true, CFG, sip_server_kind, server_kinds),
    ATTR_S("rpc", A_URL, false, CFG, sip_server_rpc, 0),
    ATTR_S("events", A_TEXT, false, CFG, sip_server_events, 0),
    ATTR_S("table", A_TEXT, false, CFG, sip_server_table, 0),
    ATTR_U("reconcile", false, CFG, sip_server_reconcile_s, 10, 86400),
    ATTR_U("timeout-ms", false, CFG, sip_server_timeout_ms, 1, MS_MAX),
    ATTR_END
};
static const struct attr_spec a_nic[] = {
    ATTR_C("purpose", true, struct config_nic, purpose, purposes),
    ATTR_S("name", A_TEXT, false, struct config_nic, name, IFNAME_MAX),
    ATTR_ADDR("address", false, struct config_nic, addr),
    ATTR_END
};
static const struct attr_spec a_vip[] = {
    ATTR_ADDR("address", true, struct config_vip, addr),
    ATTR_U("prefix-len", false, struct config_vip, prefix_len, 1, 128),
    ATTR_S("interface", A_TEXT, false, struct config_vip, interface, IFNAME_MAX),
    ATTR_S("up-script", A_PATH, false, struct config_vip, up_script, 0),
    ATTR_S("down-script", A_PATH, false, struct config_vip, down_script, 0),
    ATTR_END
};
static const struct attr_spec a_dn[] = {
    ATTR_S("name", A_TEXT, true, struct config_dn, name, 0),
    ATTR_S("uri", A_URI, true, struct config_dn, uri, 0),
    ATTR_U("oos-check", false, struct config_dn, oos_check, 0, 86400),
    ATTR_U("oos-force", false, struct config_dn, oos_force, 0, 86400),
    ATTR_END
};
static const struct attr_spec a_contact[] = {
    ATTR_S("aor", A_URI, true, struct config_contact, aor, 0),
    ATTR_S("uri", A_URI, true, struct config_contact, uri, 0),
    ATTR_U("expires", false, struct config_contact, expires, 0, UINT32_MAX),
    ATTR_END
};

static void contact_defaults(void *row)
{
    ((struct config_contact *)row)->expires = 3600;
}

static int finish_peer(struct pctx *p, const xmlNode *n, void *dst);
static int finish_arbiter(struct pctx *p, const xmlNode *n, void *dst);
static int finish_takeover(struct pctx *p, const xmlNode *n, void *dst);
static int finish_sip_server(struct pctx *p, const xmlNode *n, void *dst);
static int finish_nic(struct pctx *p, const xmlNode *n, void *dst);
static int finish_vip(struct pctx *p, const xmlNode *n, void *dst);

/* Indexed by enum elem_id; singletons are read in this order (instance first, so
 * later checks can compare with its index). */
static const struct elem_spec elems[E_COUNT] = {
    [E_INSTANCE] = { "instance", false, true, a_instance, 0, NULL, NULL },
    [E_AGENTX] = { "agentx", false, false, a_agentx, 0, NULL, NULL },
    [E_STATE] = { "state", false, false, a_state, 0, NULL, NULL },
    [E_EVENTLOG] = { "eventlog", false, false, a_eventlog, 0, NULL, NULL },
    [E_NOTIFICATIONS] = { "notifications", false, false, a_notifications, 0, NULL, NULL },
    [E_OPTIONS] = { "options", false, false, a_options, 0, NULL, NULL },
    [E_SIP] = { "sip", false, true, a_sip, 0, NULL, NULL },
    [E_SCRIPT] = { "script", false, false, a_script, 0, NULL, NULL },
    [E_PEER] = { "peer", false, false, a_peer, 0, NULL, finish_peer },
    [E_ARBITER] = { "arbiter", false, false, a_arbiter, 0, NULL, finish_arbiter },
    [E_TAKEOVER] = { "takeover", false, false, a_takeover, 0, NULL, finish_takeover },
    [E_SIP_SERVER] = { "sip-server", false, false, a_sip_server, 0, NULL, finish_sip_server },
    [E_NIC] = { "nic", true, false, a_nic, sizeof(struct config_nic), NULL, finish_nic },
    [E_VIP] = { "vip", true, false, a_vip, sizeof(struct config_vip), NULL, finish_vip },
    [E_DN] = { "service-dn", true, false, a_dn, sizeof(struct config_dn), NULL, NULL },
    [E_CONTACT] = { "contact", true, false, a_contact, sizeof(struct config_contact),
                    contact_defaults, NULL },
};

/* ---------- one parse ---------- */

struct nodelist {
    const xmlNode **v;
    size_t n, cap;
};

struct pctx {
    const char *origin;
    char *err;
    size_t errlen;
    bool failed;
    struct sipha_config *cfg;          /* the temporary being filled */
    const xmlNode *root;
    const xmlNode *single[E_COUNT];    /* singleton elements found */
    struct nodelist rows[E_COUNT];     /* repeated elements, in document order */
};

static int fail(struct pctx *p, const xmlNode *n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Writes "origin:line: element <name>: message" (first error only); returns -1. */
static int fail(struct pctx *p, const xmlNode *n, const char *fmt, ...)
{
    if (p->failed)
        return -1;
    p->failed = true;
    char msg[CONFIG_ERR_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    errbuf_set(p->err, p->errlen, "%s:%ld: element <%s>: %s", p->origin, xmlGetLineNo(n),
            (const char *)n->name, msg);
    return -1;
}

static const char *xname(const xmlNode *n)
{
    return (const char *)n->name;
}

/* ---------- attribute values ---------- */

/* Plain decimal digits only. Returns 0, -1 not a number, -2 beyond 32 bits. */
static int parse_uint(const char *s, uint32_t *out)
{
    uint64_t v = 0;
    bool big = false;
    if (!*s)
        return -1;
    for (; *s; s++) {
        if (*s < '0' || *s > '9')
            return -1;
        v = v * 10 + (uint64_t)(*s - '0');
        if (v > UINT32_MAX) {
            big = true;
            v = UINT32_MAX;
        }
    }
    *out = (uint32_t)v;
    return big ? -2 : 0;
}

static void store_uint(void *field, size_t size, uint32_t v)
{
    if (size == 1)
        *(uint8_t *)field = (uint8_t)v;
    else if (size == 2)
        *(uint16_t *)field = (uint16_t)v;
    else
        *(uint32_t *)field = v;
}

static bool has_control(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            return true;
    return false;
}

static bool has_space(const char *s)
{
    for (; *s; s++)
        if (*s == ' ')
            return true;
    return false;
}

static int set_uint(struct pctx *p, const xmlNode *n, const struct attr_spec *a, void *field,
                    const char *v)
{
    uint32_t x;
    int rc = parse_uint(v, &x);
    if (rc == -1)
        return fail(p, n, "attribute %s: '%s' is not a whole number", a->name, v);
    if (rc < 0 || x < a->min || x > a->max)
        return fail(p, n, "attribute %s: %s is outside %u..%u", a->name, v, a->min, a->max);
    store_uint(field, a->size, x);
    return 0;
}

static int set_flag(struct pctx *p, const xmlNode *n, const struct attr_spec *a, void *field,
                    const char *v)
{
    unsigned *bits = field;
    if (!strcmp(v, "true"))
        *bits |= a->min;
    else if (!strcmp(v, "false"))
        *bits &= ~a->min;
    else
        return fail(p, n, "attribute %s: '%s' is neither true nor false", a->name, v);
    return 0;
}

/* A_CHOICE fields are enums written as int. */
_Static_assert(sizeof(enum ha_role) == sizeof(int), "enum ha_role is not int-sized");
_Static_assert(sizeof(enum ha_nic_purpose) == sizeof(int), "enum ha_nic_purpose is not int-sized");
_Static_assert(sizeof(enum arbiter_kind) == sizeof(int), "enum arbiter_kind is not int-sized");

static int set_choice(struct pctx *p, const xmlNode *n, const struct attr_spec *a, void *field,
                      const char *v)
{
    char words[128] = "";
    for (const struct choice *c = a->choices; c->word; c++) {
        if (!strcmp(v, c->word)) {
            int value = c->value;
            memcpy(field, &value, sizeof value);
            return 0;
        }
        size_t used = strlen(words);
        snprintf(words + used, sizeof words - used, "%s%s", used ? ", " : "", c->word);
    }
    return fail(p, n, "attribute %s: '%s' is not one of %s", a->name, v, words);
}

/* Text-like kinds: checks the form, then copies into the fixed-size field. */
static int set_text(struct pctx *p, const xmlNode *n, const struct attr_spec *a, void *field,
                    const char *v)
{
    size_t len = strlen(v), max = a->max ? a->max : a->size - 1;
    if (len == 0)
        return fail(p, n, "attribute %s is empty", a->name);
    if (len > max)
        return fail(p, n, "attribute %s is longer than %zu characters", a->name, max);
    if (has_control(v))
        return fail(p, n, "attribute %s contains control characters", a->name);
    if (a->kind == A_PATH && v[0] != '/')
        return fail(p, n, "attribute %s: '%s' is not an absolute path", a->name, v);
    if (a->kind == A_URI && ((strncasecmp(v, "sip:", 4) && strncasecmp(v, "sips:", 5)) ||
                             has_space(v)))
        return fail(p, n, "attribute %s: '%s' is not a sip: or sips: URI", a->name, v);
    if (a->kind == A_URL && ((strncasecmp(v, "http://", 7) && strncasecmp(v, "https://", 8)) ||
                             has_space(v)))
        return fail(p, n, "attribute %s: '%s' is not an http:// or https:// URL", a->name, v);
    memcpy(field, v, len + 1);
    return 0;
}

static int set_addr(struct pctx *p, const xmlNode *n, const struct attr_spec *a, void *field,
                    const char *v)
{
    struct sipha_addr addr;
    memset(&addr, 0, sizeof addr);
    if (sipha_addr_parse(&addr, v) < 0 || (addr.family != 4 && addr.family != 6))
        return fail(p, n, "attribute %s: '%s' is not an IPv4 or IPv6 address", a->name, v);
    memcpy(field, &addr, sizeof addr);
    return 0;
}

static int set_attr(struct pctx *p, const xmlNode *n, const struct attr_spec *a, void *dst,
                    const char *v)
{
    void *field = (char *)dst + a->off;
    switch (a->kind) {
    case A_UINT:
        return set_uint(p, n, a, field, v);
    case A_FLAG:
        return set_flag(p, n, a, field, v);
    case A_CHOICE:
        return set_choice(p, n, a, field, v);
    case A_ADDR:
        return set_addr(p, n, a, field, v);
    case A_TEXT:
    case A_PATH:
    case A_URI:
    case A_URL:
        return set_text(p, n, a, field, v);
    }
    return fail(p, n, "internal error: attribute %s", a->name);
}

static const struct attr_spec *attr_find(const struct attr_spec *a, const char *name)
{
    for (; a->name; a++)
        if (!strcmp(a->name, name))
            return a;
    return NULL;
}

/* The element must carry only known attributes and no content but whitespace and
 * comments. */
static int check_shape(struct pctx *p, const xmlNode *n, const struct attr_spec *a)
{
    for (const xmlAttr *at = n->properties; at; at = at->next) {
        if (at->ns && at->ns->prefix)
            return fail(p, n, "unknown attribute '%s:%s'", (const char *)at->ns->prefix,
                        (const char *)at->name);
        if (at->ns || !attr_find(a, (const char *)at->name))
            return fail(p, n, "unknown attribute '%s'", (const char *)at->name);
    }
    for (const xmlNode *c = n->children; c; c = c->next) {
        if (c->type == XML_ELEMENT_NODE)
            return fail(p, n, "must be empty, found <%s> inside", xname(c));
        if ((c->type == XML_TEXT_NODE || c->type == XML_CDATA_SECTION_NODE) &&
            !xmlIsBlankNode(c))
            return fail(p, n, "must be empty, found text inside");
    }
    return 0;
}

static int read_attrs(struct pctx *p, const xmlNode *n, const struct attr_spec *a, void *dst)
{
    if (check_shape(p, n, a) < 0)
        return -1;
    for (; a->name; a++) {
        xmlChar *v = xmlGetNoNsProp(n, (const xmlChar *)a->name);
        if (!v) {
            if (a->required)
                return fail(p, n, "attribute %s is required", a->name);
            continue;
        }
        int rc = set_attr(p, n, a, dst, (const char *)v);
        xmlFree(v);
        if (rc < 0)
            return -1;
    }
    return 0;
}

/* ---------- per-element checks ---------- */

static uint16_t endpoint_port(const struct sockaddr_storage *ss)
{
    return ntohs(ss->ss_family == AF_INET6 ? ((const struct sockaddr_in6 *)ss)->sin6_port
                                           : ((const struct sockaddr_in *)ss)->sin_port);
}

static int finish_peer(struct pctx *p, const xmlNode *n, void *dst)
{
    struct sipha_config *c = dst;
    if (c->peer_index == c->index)
        return fail(p, n, "peer index %u is this instance's own index", c->peer_index);
    struct sockaddr_storage peer, self;
    socklen_t len;
    if (hl_endpoint_parse(c->peer_address, &peer, &len) != 0 || endpoint_port(&peer) == 0)
        return fail(p, n, "address '%s' is not IPv4:PORT or [IPv6]:PORT", c->peer_address);
    if (hl_endpoint_parse(c->peer_bind, &self, &len) != 0 || endpoint_port(&self) == 0)
        return fail(p, n, "bind '%s' is not IPv4:PORT or [IPv6]:PORT", c->peer_bind);
    if (peer.ss_family != self.ss_family)
        return fail(p, n, "address and bind must be of the same IP version");
    if (!c->peer_backup_interval_ms)
        c->peer_backup_interval_ms = c->peer_interval_ms > HL_DEFAULT_BACKUP_INTERVAL_MS
                                         ? c->peer_interval_ms
                                         : HL_DEFAULT_BACKUP_INTERVAL_MS;
    if (c->peer_backup_interval_ms < c->peer_interval_ms)
        return fail(p, n, "backup-interval-ms %u is shorter than interval-ms %u",
                    c->peer_backup_interval_ms, c->peer_interval_ms);
    c->has_peer = true;
    return 0;
}

/* A lifetime shorter than 2 s would be renewed more often than the kernel checks
 * address lifetimes (about once a second), so the VIP could expire between
 * renewals under load. */
static int finish_takeover(struct pctx *p, const xmlNode *n, void *dst)
{
    const struct sipha_config *c = dst;
    if (c->vip_lifetime_s == 1)
        return fail(p, n, "vip-lifetime must be 0 (permanent) or at least 2 seconds");
    return 0;
}

/* The element carries the attribute `name` (check_shape allowed no namespaced one). */
static bool has_attr(const xmlNode *n, const char *name)
{
    for (const xmlAttr *at = n->properties; at; at = at->next)
        if (!strcmp((const char *)at->name, name))
            return true;
    return false;
}

/* The first attribute of `names` that the element carries, or NULL. */
static const char *any_attr(const xmlNode *n, const char *const *names)
{
    for (; *names; names++)
        if (has_attr(n, *names))
            return *names;
    return NULL;
}

/* One URL of endpoints=, `len` bytes at `s`, checked as the etcd client will check it
 * (libcurl parses it; no path, the client adds the gateway's) and stored. */
static int add_endpoint(struct pctx *p, const xmlNode *n, struct sipha_config *c,
                        const char *s, size_t len)
{
    if (len == 0)
        return fail(p, n, "attribute endpoints: an empty entry (two commas in a row, or "
                          "one at an end)");
    if (c->n_etcd_endpoints == ETCD_CLIENT_ENDPOINTS_MAX)
        return fail(p, n, "attribute endpoints: more than %u URLs", ETCD_CLIENT_ENDPOINTS_MAX);
    if (len > ETCD_CLIENT_URL_MAX)
        return fail(p, n, "attribute endpoints: '%.40s...' is longer than %u characters", s,
                    ETCD_CLIENT_URL_MAX);
    char *url = c->etcd_endpoints[c->n_etcd_endpoints];
    memcpy(url, s, len);
    url[len] = '\0';
    char why[CONFIG_ERR_MAX / 2];
    if (curl_loop_url_check("endpoint", url, ETCD_CLIENT_URL_MAX, true, why, sizeof why) < 0)
        return fail(p, n, "attribute endpoints: %s", why);
    for (size_t i = 0; i < c->n_etcd_endpoints; i++)
        if (!strcasecmp(c->etcd_endpoints[i], url))
            return fail(p, n, "attribute endpoints: %s is given twice", url);
    c->n_etcd_endpoints++;
    return 0;
}

/* endpoints="URL,URL,...", blanks around the commas allowed. */
static int split_endpoints(struct pctx *p, const xmlNode *n, struct sipha_config *c)
{
    const char *s = c->etcd_endpoint_list;
    c->n_etcd_endpoints = 0;
    for (;;) {
        s += strspn(s, " \t");
        size_t len = strcspn(s, ",");
        size_t end = len;
        while (end > 0 && (s[end - 1] == ' ' || s[end - 1] == '\t'))
            end--;
        if (add_endpoint(p, n, c, s, end) < 0)
            return -1;
        if (s[len] != ',')
            return 0;
        s += len + 1;
    }
}

static bool any_https(const struct sipha_config *c)
{
    for (size_t i = 0; i < c->n_etcd_endpoints; i++)
        if (!strncasecmp(c->etcd_endpoints[i], "https://", 8))
            return true;
    return false;
}

/* kind="etcd". Both nodes of a pair must name the same key: by default it is made of
 * the pair's identity, its two instance indexes (as the HA link names the pair). */
static int finish_etcd(struct pctx *p, const xmlNode *n, struct sipha_config *c)
{
    static const char *const http_only[] = { "url", "interval-ms", NULL };
    const char *bad = any_attr(n, http_only);
    if (bad)
        return fail(p, n, "attribute %s is for kind=\"http\" (etcd: endpoints)", bad);
    if (!c->etcd_endpoint_list[0])
        return fail(p, n, "attribute endpoints is required with kind=\"etcd\"");
    if (split_endpoints(p, n, c) < 0)
        return -1;
    if (!has_attr(n, "timeout-ms"))
        c->arbiter_timeout_ms = CONFIG_ETCD_TIMEOUT_DEFAULT_MS;
    /* a member that does not answer must be given up while the lease can still be
     * renewed on the next one (the holder survives TTL/2 without a renewal) */
    if (c->arbiter_timeout_ms >= c->etcd_ttl_s * 1000u / 2u)
        return fail(p, n, "timeout-ms %u must be under half the lease (ttl-s %u: %u ms), or "
                    "one silent member costs the hold", c->arbiter_timeout_ms, c->etcd_ttl_s,
                    c->etcd_ttl_s * 1000u / 2u);
    if (!c->etcd_cert[0] != !c->etcd_key_file[0])
        return fail(p, n, "cert and key-file go together (the client certificate and its key)");
    if ((c->etcd_ca[0] || c->etcd_cert[0]) && !any_https(c))
        return fail(p, n, "ca, cert and key-file are for https:// endpoints, and none is");
    if (!c->etcd_key[0] && c->has_peer) /* without a peer check_all refuses the arbiter */
        snprintf(c->etcd_key, sizeof c->etcd_key, "/sipha/pair-%u-%u/primary",
                 c->index < c->peer_index ? c->index : c->peer_index,
                 c->index < c->peer_index ? c->peer_index : c->index);
    return 0;
}

static int finish_arbiter(struct pctx *p, const xmlNode *n, void *dst)
{
    static const char *const etcd_only[] = { "endpoints", "key", "ttl-s", "read-ms", "ca",
                                             "cert", "key-file", "contacts", NULL };
    struct sipha_config *c = dst;
    c->has_arbiter = true;
    if (c->arbiter_kind == ARBITER_ETCD)
        return finish_etcd(p, n, c);
    const char *bad = any_attr(n, etcd_only);
    if (bad)
        return fail(p, n, "attribute %s is for kind=\"etcd\"", bad);
    if (!c->arbiter_url[0])
        return fail(p, n, "attribute url is required");
    return 0;
}

/* Kamailio is reached through its RPC and pushes hints over evapi: both needed; the
 * events endpoint is an address, never a name to resolve. */
static int finish_sip_server(struct pctx *p, const xmlNode *n, void *dst)
{
    struct sipha_config *c = dst;
    if (c->sip_server_kind != SIP_SERVER_KAMAILIO) {
        if (c->sip_server_rpc[0] || c->sip_server_events[0])
            return fail(p, n, "rpc and events are for kind=\"kamailio\" only");
        return 0;
    }
    if (!c->sip_server_rpc[0] || !c->sip_server_events[0])
        return fail(p, n, "kind=\"kamailio\" needs rpc (its JSON-RPC URL) and events "
                          "(its evapi IP:PORT)");
    struct sockaddr_storage ss;
    socklen_t len;
    if (hl_endpoint_parse(c->sip_server_events, &ss, &len) != 0 || endpoint_port(&ss) == 0)
        return fail(p, n, "events=\"%s\": not IPv4:PORT or [IPv6]:PORT",
                    c->sip_server_events);
    return 0;
}

static int finish_nic(struct pctx *p, const xmlNode *n, void *dst)
{
    const struct config_nic *nic = dst;
    if (!nic->name[0] && !nic->addr.family)
        return fail(p, n, "a NIC needs a name, an address or both");
    return 0;
}

static int finish_vip(struct pctx *p, const xmlNode *n, void *dst)
{
    struct config_vip *v = dst;
    unsigned longest = v->addr.family == 4 ? 32 : 128;
    if (v->prefix_len == 0)
        v->prefix_len = (uint8_t)longest;
    else if (v->prefix_len > longest)
        return fail(p, n, "prefix-len %u is longer than an IPv4 address (at most 32)",
                    v->prefix_len);
    return 0;
}

/* ---------- walking the document ---------- */

static int elem_find(const char *name)
{
    for (int i = 0; i < E_COUNT; i++)
        if (!strcmp(elems[i].name, name))
            return i;
    return -1;
}

static int nodelist_add(struct nodelist *l, const xmlNode *n)
{
    void *items = l->v;
    if (array_reserve(&items, &l->cap, l->n + 1, sizeof(*l->v), 8) < 0)
        return -1;
    l->v = items;
    l->v[l->n++] = n;
    return 0;
}

static int sort_child(struct pctx *p, const xmlNode *c)
{
    int id = elem_find(xname(c));
    if (c->ns)
        id = -1;
    if (id < 0)
        return fail(p, c, "unknown element (sipha takes instance, sip, agentx, state, "
                          "eventlog, notifications, options, script, nic, vip, service-dn, "
                          "contact, peer, arbiter, takeover, sip-server)");
    if (elems[id].repeated)
        return nodelist_add(&p->rows[id], c) < 0 ? fail(p, c, "out of memory") : 0;
    if (p->single[id])
        return fail(p, c, "given twice (first at line %ld)", xmlGetLineNo(p->single[id]));
    p->single[id] = c;
    return 0;
}

/* First pass: files every child of <sipha> by kind, so rows can be allocated at
 * their final size and cross-checks can point at the right line. */
static int sort_children(struct pctx *p)
{
    const xmlNode *root = p->root;
    if (strcmp(xname(root), "sipha") || root->ns)
        return fail(p, root, "the root element must be <sipha>");
    if (root->properties)
        return fail(p, root, "unknown attribute '%s'", (const char *)root->properties->name);
    for (const xmlNode *c = root->children; c; c = c->next) {
        if ((c->type == XML_TEXT_NODE || c->type == XML_CDATA_SECTION_NODE) &&
            !xmlIsBlankNode(c))
            return fail(p, root, "text is not allowed between elements");
        if (c->type == XML_ELEMENT_NODE && sort_child(p, c) < 0)
            return -1;
    }
    for (int id = 0; id < E_COUNT; id++)
        if (elems[id].required && !p->single[id])
            return fail(p, root, "<%s> is required", elems[id].name);
    return 0;
}

/* The row array of a repeated element, set and read through plain assignments. */
static void rows_attach(struct sipha_config *c, int id, void *rows, size_t n)
{
    switch (id) {
    case E_NIC:
        c->nics = rows;
        c->n_nics = n;
        break;
    case E_VIP:
        c->vips = rows;
        c->n_vips = n;
        break;
    case E_DN:
        c->dns = rows;
        c->n_dns = n;
        break;
    default:
        c->contacts = rows;
        c->n_contacts = n;
        break;
    }
}

static const char *rows_get(const struct sipha_config *c, int id, size_t *n)
{
    switch (id) {
    case E_NIC:
        *n = c->n_nics;
        return (const char *)c->nics;
    case E_VIP:
        *n = c->n_vips;
        return (const char *)c->vips;
    case E_DN:
        *n = c->n_dns;
        return (const char *)c->dns;
    default:
        *n = c->n_contacts;
        return (const char *)c->contacts;
    }
}

static int read_rows(struct pctx *p, int id)
{
    const struct elem_spec *e = &elems[id];
    const struct nodelist *l = &p->rows[id];
    if (l->n == 0)
        return 0;
    /* One spare row: sip-nic-address may add a NIC later. */
    char *rows = calloc(l->n + 1, e->row_size);
    if (!rows)
        return fail(p, l->v[0], "out of memory");
    rows_attach(p->cfg, id, rows, 0); /* owned by the temporary from here on */
    for (size_t i = 0; i < l->n; i++) {
        void *row = rows + i * e->row_size;
        if (e->defaults)
            e->defaults(row);
        if (read_attrs(p, l->v[i], e->attrs, row) < 0 ||
            (e->finish && e->finish(p, l->v[i], row) < 0))
            return -1;
    }
    rows_attach(p->cfg, id, rows, l->n);
    return 0;
}

static int read_all(struct pctx *p)
{
    for (int id = 0; id < E_COUNT; id++) {
        const struct elem_spec *e = &elems[id];
        if (e->repeated) {
            if (read_rows(p, id) < 0)
                return -1;
        } else if (p->single[id]) {
            if (read_attrs(p, p->single[id], e->attrs, p->cfg) < 0 ||
                (e->finish && e->finish(p, p->single[id], p->cfg) < 0))
                return -1;
        }
    }
    return 0;
}

/* ---------- cross-element checks ---------- */

struct dupkey {
    const void *key;
    size_t len;
    size_t pos;
};

static int dupkey_cmp(const void *a, const void *b)
{
    const struct dupkey *x = a, *y = b;
    size_t n = x->len < y->len ? x->len : y->len;
    int c = memcmp(x->key, y->key, n);
    if (c)
        return c;
    if (x->len != y->len)
        return x->len < y->len ? -1 : 1;
    return x->pos < y->pos ? -1 : x->pos > y->pos;
}

/* Sorts keys and returns the earliest position whose key repeats an earlier row's
 * (that row's position in *first), or SIZE_MAX. O(n log n): 10,000 DNs stay fast. */
static size_t dup_find(struct dupkey *k, size_t n, size_t *first)
{
    size_t best = SIZE_MAX, group = 0;
    qsort(k, n, sizeof(*k), dupkey_cmp);
    for (size_t i = 1; i < n; i++) {
        if (k[i].len != k[group].len || memcmp(k[i].key, k[group].key, k[i].len)) {
            group = i;
            continue;
        }
        if (k[i].pos < best) {
            best = k[i].pos;
            *first = k[group].pos;
        }
    }
    return best;
}

/* Checks that one field of the rows of element `id` is unique (empty strings and
 * absent addresses excepted). */
static int check_unique(struct pctx *p, int id, size_t field_off, bool is_text,
                        const char *what)
{
    size_t n, used = 0, first = 0, size = elems[id].row_size;
    const char *rows = rows_get(p->cfg, id, &n);
    if (n < 2)
        return 0;
    struct dupkey *k = malloc(n * sizeof(*k));
    if (!k)
        return fail(p, p->root, "out of memory");
    for (size_t i = 0; i < n; i++) {
        const char *f = rows + i * size + field_off;
        size_t len = is_text ? strlen(f) + 1 : sizeof(struct sipha_addr);
        if (is_text ? f[0] == '\0' : ((const struct sipha_addr *)f)->family == 0)
            continue;
        k[used++] = (struct dupkey){ f, len, i };
    }
    size_t dup = dup_find(k, used, &first);
    free(k);
    if (dup == SIZE_MAX)
        return 0;
    return fail(p, p->rows[id].v[dup], "%s is already used by the <%s> at line %ld", what,
                elems[id].name, xmlGetLineNo(p->rows[id].v[first]));
}

static bool addr_equal(const struct sipha_addr *a, const struct sipha_addr *b)
{
    size_t n = a->family == 4 ? 4 : 16;
    return a->family == b->family && !memcmp(a->bytes, b->bytes, n);
}

/* sip-nic-address names the SIP NIC: it fills in the address of a lone sip <nic>
 * that has none, or becomes a NIC of its own (found by address) when none is listed. */
static int merge_sip_nic(struct pctx *p)
{
    struct sipha_config *c = p->cfg;
    struct config_nic *lone = NULL;
    size_t n_sip = 0;
    if (!c->sip_nic_address.family)
        return 0;
    for (size_t i = 0; i < c->n_nics; i++) {
        struct config_nic *nic = &c->nics[i];
        if (nic->purpose != HA_NIC_SIP)
            continue;
        if (addr_equal(&nic->addr, &c->sip_nic_address))
            return 0;
        n_sip++;
        lone = nic->addr.family ? NULL : nic;
    }
    if (n_sip == 1 && lone) {
        lone->addr = c->sip_nic_address;
        return 0;
    }
    if (n_sip > 0)
        return fail(p, p->single[E_OPTIONS], "sip-nic-address matches none of the "
                    "<nic purpose=\"sip\"> elements");
    if (!c->nics && !(c->nics = calloc(1, sizeof(*c->nics))))
        return fail(p, p->root, "out of memory");
    c->nics[c->n_nics++] = (struct config_nic){ .purpose = HA_NIC_SIP,
                                                .addr = c->sip_nic_address };
    return 0;
}

/* With sip-iptakeover-monitoring every VIP needs both scripts: point at the first
 * one lacking them. */
static int check_vip_scripts(struct pctx *p)
{
    const struct sipha_config *c = p->cfg;
    if (!(c->options & HA_OPT_IPTAKEOVER_MONITORING))
        return 0;
    for (size_t i = 0; i < c->n_vips; i++)
        if (!c->vips[i].up_script[0] || !c->vips[i].down_script[0])
            return fail(p, p->rows[E_VIP].v[i], "up-script and down-script are required "
                        "when sip-iptakeover-monitoring is true");
    return 0;
}

const char *config_options_problem(const struct sipha_config *cfg, unsigned options)
{
    bool mgmt = false, sip = false, probed = false, scripts = cfg->n_vips > 0;
    for (size_t i = 0; i < cfg->n_nics; i++) {
        mgmt |= cfg->nics[i].purpose == HA_NIC_MANAGEMENT;
        sip |= cfg->nics[i].purpose == HA_NIC_SIP;
    }
    for (size_t i = 0; i < cfg->n_dns; i++)
        probed |= cfg->dns[i].oos_check > 0;
    for (size_t i = 0; i < cfg->n_vips; i++)
        scripts &= cfg->vips[i].up_script[0] && cfg->vips[i].down_script[0];

    if ((options & HA_OPT_SIP_PASS_CHECK) && !probed)
        return "sip-pass-check=true needs a <service-dn> with oos-check greater than 0";
    if ((options & HA_OPT_CONTROL_VIP_SCRIPTS) && !cfg->has_arbiter)
        return "control-vip-scripts=true needs an <arbiter> to watch";
    if ((options & HA_OPT_IPTAKEOVER_MONITORING) && !scripts)
        return "sip-iptakeover-monitoring=true needs at least one <vip>, each with "
               "up-script and down-script";
    if ((options & HA_OPT_TLIB_NIC_MONITORING) && !mgmt)
        return "tlib-nic-monitoring=true needs a <nic purpose=\"management\">";
    if ((options & HA_OPT_SIP_NIC_MONITORING) && !sip && !cfg->sip_nic_address.family)
        return "sip-nic-monitoring=true needs sip-nic-address or a <nic purpose=\"sip\">";
    return NULL;
}

/* A probed DN must name its target numerically: a DNS lookup would block the
 * agent's loop at every probe. */
static int check_dn_targets(struct pctx *p)
{
    const struct sipha_config *c = p->cfg;
    for (size_t i = 0; i < c->n_dns; i++) {
        struct sipha_addr addr;
        uint16_t port;
        char why[256];
        if (c->dns[i].oos_check == 0)
            continue;
        if (mon_probe_uri_target(c->dns[i].uri, &addr, &port, why, sizeof(why)) != 0)
            return fail(p, p->rows[E_DN].v[i], "uri \"%s\" cannot be probed: %s", c->dns[i].uri,
                        why);
    }
    return 0;
}

static int check_all(struct pctx *p)
{
    const struct sipha_config *c = p->cfg;
    if (check_dn_targets(p) < 0)
        return -1;
    /* The arbiter decides between two instances: alone, there is nothing to decide. */
    if (c->sip_server_kind == SIP_SERVER_KAMAILIO && c->n_contacts)
        return fail(p, p->rows[E_CONTACT].v[0], "<contact> elements are for the generic "
                                                 "SIP server: Kamailio's contacts come from it");
    if (c->has_arbiter && !c->has_peer)
        return fail(p, p->single[E_ARBITER], "an <arbiter> needs a <peer>");
    if (check_unique(p, E_DN, offsetof(struct config_dn, name), true, "service-dn name") < 0 ||
        check_unique(p, E_NIC, offsetof(struct config_nic, name), true, "NIC name") < 0 ||
        check_unique(p, E_VIP, offsetof(struct config_vip, addr), false, "VIP address") < 0 ||
        check_vip_scripts(p) < 0)
        return -1;
    const char *why = config_options_problem(c, c->options);
    if (why)
        return fail(p, p->single[E_OPTIONS], "%s", why);
    return merge_sip_nic(p);
}

/* ---------- libxml2: parsing and schema ---------- */

/* The first libxml2 error of a stage, with the node it was about when known. */
struct xml_fault {
    bool have;
    char msg[256];
    long line;
    const xmlNode *node;
    bool doctype;
};

static void fault_take(struct xml_fault *f, cfg_xml_error e)
{
    if (!f->have && e->message) {
        f->have = true;
        snprintf(f->msg, sizeof f->msg, "%s", e->message);
        size_t n = strlen(f->msg);
        while (n > 0 && (f->msg[n - 1] == '\n' || f->msg[n - 1] == ' '))
            f->msg[--n] = '\0';
        f->line = e->line;
    }
    if (!f->node && e->node)
        f->node = e->node;
}

static void on_parse_error(void *data, cfg_xml_error e)
{
    xmlParserCtxtPtr ctxt = data;
    if (!ctxt->_private)
        return;
    struct xml_fault *f = ctxt->_private;
    if (!f->doctype)
        fault_take(f, e);
}

/* A configuration has no use for a DTD; refusing any DOCTYPE before its subset is
 * read rules out entity expansion (billion laughs) and external entities (XXE),
 * whatever the libxml2 version. */
static void on_doctype(void *data, const xmlChar *name, const xmlChar *ext, const xmlChar *sys)
{
    (void)name;
    (void)ext;
    (void)sys;
    xmlParserCtxtPtr ctxt = data;
    struct xml_fault *f = ctxt->_private;
    if (f && !f->have) {
        f->have = f->doctype = true;
        f->line = ctxt->input ? ctxt->input->line : 0;
        snprintf(f->msg, sizeof f->msg, "DOCTYPE is not allowed (no DTD or entities)");
    }
    xmlStopParser(ctxt);
}

/* Parses a document from memory, or from the file `path` when buf is NULL, with the
 * first error kept in *f instead of printed. */
static xmlDocPtr xml_parse(const char *buf, size_t len, const char *path, struct xml_fault *f)
{
    xmlParserCtxtPtr ctxt = xmlNewParserCtxt();
    if (!ctxt) {
        snprintf(f->msg, sizeof f->msg, "out of memory");
        f->have = true;
        return NULL;
    }
    ctxt->_private = f;
    ctxt->sax->serror = on_parse_error;
    ctxt->sax->internalSubset = on_doctype;
    /* No XML_PARSE_NOENT (entities stay unexpanded), no DTD loading, no network. */
    int opts = XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING | XML_PARSE_BIG_LINES;
#if LIBXML_VERSION >= 21300
    opts |= XML_PARSE_NO_XXE;
#endif
    xmlDocPtr doc = buf ? xmlCtxtReadMemory(ctxt, buf, (int)len, path, NULL, opts)
                        : xmlCtxtReadFile(ctxt, path, NULL, opts);
    if (doc && (!ctxt->wellFormed || f->doctype)) {
        xmlFreeDoc(doc);
        doc = NULL;
    }
    ctxt->_private = NULL;
    xmlFreeParserCtxt(ctxt);
    return doc;
}

static xmlDocPtr xml_read(struct pctx *p, const char *buf, size_t len)
{
    struct xml_fault f = { 0 };
    xmlDocPtr doc = xml_parse(buf, len, p->origin, &f);
    if (!doc)
        errbuf_set(p->err, p->errlen, "%s:%ld: malformed XML: %s", p->origin, f.line,
                f.have ? f.msg : "cannot be parsed");
    return doc;
}

static void on_schema_error(void *data, cfg_xml_error e)
{
    fault_take(data, e);
}

/* Validates doc; returns 0 valid, 1 invalid (fault filled), -1 schema unusable. */
static int schema_validate(const char *schema, xmlDocPtr doc, struct xml_fault *vf, char *err,
                           size_t errlen)
{
    struct xml_fault sf = { 0 };
    if (access(schema, R_OK) < 0) {
        errbuf_set(err, errlen, "%s: cannot read the configuration schema (set SIPHA_SCHEMA)",
                schema);
        return -1;
    }
    xmlDocPtr sdoc = xml_parse(NULL, 0, schema, &sf);
    xmlRelaxNGParserCtxtPtr pc = sdoc ? xmlRelaxNGNewDocParserCtxt(sdoc) : NULL;
    xmlRelaxNGPtr rng = NULL;
    if (pc) {
        xmlRelaxNGSetParserStructuredErrors(pc, on_schema_error, &sf);
        rng = xmlRelaxNGParse(pc);
        xmlRelaxNGFreeParserCtxt(pc);
    }
    xmlFreeDoc(sdoc);
    if (!rng) {
        errbuf_set(err, errlen, "%s:%ld: invalid configuration schema: %s", schema, sf.line,
                sf.have ? sf.msg : "cannot be parsed");
        return -1;
    }
    int rc = -1;
    xmlRelaxNGValidCtxtPtr vc = xmlRelaxNGNewValidCtxt(rng);
    if (vc) {
        xmlRelaxNGSetValidStructuredErrors(vc, on_schema_error, vf);
        rc = xmlRelaxNGValidateDoc(vc, doc) == 0 ? 0 : 1;
        xmlRelaxNGFreeValidCtxt(vc);
    } else {
        errbuf_set(err, errlen, "%s: out of memory", schema);
    }
    xmlRelaxNGFree(rng);
    return rc;
}

static void schema_fault_report(struct pctx *p, const struct xml_fault *vf)
{
    const xmlNode *n = vf->node ? vf->node : p->root;
    long line = vf->node ? xmlGetLineNo(vf->node) : vf->line;
    errbuf_set(p->err, p->errlen, "%s:%ld: element <%s>: %s", p->origin, line, xname(n),
            vf->have ? vf->msg : "does not match the schema");
}

/* ---------- public ---------- */

static void config_defaults(struct sipha_config *c)
{
    memset(c, 0, sizeof(*c));
    c->priority = 100;
    c->initial_role = HA_ROLE_BACKUP;
    c->agentx_ping_interval = 1;
    c->agentx_timeout_ms = 1000;
    snprintf(c->state_dir, sizeof c->state_dir, "%s", CONFIG_DEFAULT_STATE_DIR);
    c->eventlog_limit = EVLOG_DEFAULT_LIMIT;
    c->alarm_autoclear = 0;
    c->notif_queue_limit = 1000;
    c->sip_port = 5060;
    c->script_timeout_ms = 5000;
    c->peer_interval_ms = HL_DEFAULT_INTERVAL_MS;
    c->peer_miss_count = HL_DEFAULT_MISS_COUNT;
    c->peer_settle_ms = HA_DEFAULT_SETTLE_MS;
    c->announce_count = 5;
    c->announce_interval_ms = 200;
    c->vip_lifetime_s = 3;
    c->arbiter_kind = ARBITER_HTTP;
    c->arbiter_interval_ms = 1000;
    c->arbiter_timeout_ms = 1000;
    c->etcd_ttl_s = CONFIG_ETCD_TTL_DEFAULT_S;
    c->etcd_read_ms = ETCD_HOLDER_READ_DEFAULT_MS;
    c->etcd_contacts = 1;
    snprintf(c->sip_server_table, sizeof c->sip_server_table, "location");
    c->sip_server_reconcile_s = 300;
    c->sip_server_timeout_ms = 10000;
}

static void pctx_free(struct pctx *p)
{
    for (int i = 0; i < E_COUNT; i++)
        free(p->rows[i].v);
}

/* Stages 2 and 3 on a parsed document; the table pass's error wins over the
 * schema's because it names the attribute and the allowed values. */
static int check_doc(struct pctx *p, xmlDocPtr doc, const char *schema)
{
    struct xml_fault vf = { 0 };
    p->root = xmlDocGetRootElement(doc);
    if (!p->root) {
        errbuf_set(p->err, p->errlen, "%s:1: malformed XML: no root element", p->origin);
        return -1;
    }
    int valid = schema_validate(schema, doc, &vf, p->err, p->errlen);
    if (valid < 0)
        return -1;
    if (sort_children(p) < 0 || read_all(p) < 0 || check_all(p) < 0)
        return -1;
    if (valid != 0) {
        schema_fault_report(p, &vf);
        return -1;
    }
    return 0;
}

int config_parse_buffer(struct sipha_config *cfg, const char *buf, size_t len,
                        const char *origin, const char *schema_path,
                        char *err, size_t errlen)
{
    struct sipha_config tmp;
    struct pctx p = { .origin = origin ? origin : "(config)", .err = err, .errlen = errlen,
                      .cfg = &tmp };
    if (err && errlen)
        err[0] = '\0';
    if (!buf || len > CFETCH_MAX_BYTES) {
        errbuf_set(err, errlen, "%s: document larger than %u bytes (1 MiB) refused", p.origin,
                CFETCH_MAX_BYTES);
        return -1;
    }
    if (xml_lazy_open() < 0) {
        errbuf_set(err, errlen, "%s: %s", p.origin, xml_lazy_error());
        return -1;
    }
    config_defaults(&tmp);
    xmlInitParser();
    xmlDocPtr doc = xml_read(&p, buf, len);
    int rc = doc ? check_doc(&p, doc, schema_path ? schema_path : config_default_schema())
                 : -1;
    xmlFreeDoc(doc);
    xml_lazy_close(); /* the last libxml2 object is gone: unloads libxml2 */
    pctx_free(&p);
    if (rc < 0) {
        config_free(&tmp);
        return -1;
    }
    config_free(cfg);
    *cfg = tmp;
    return 0;
}

int config_load(struct sipha_config *cfg, const char *location, const char *schema_path,
                char *err, size_t errlen)
{
    char *buf = NULL;
    size_t len = 0;
    if (cfetch_get(location, CFETCH_SYNC_TIMEOUT_MS, &buf, &len, err, errlen) < 0)
        return -1;
    int rc = config_parse_buffer(cfg, buf, len, location, schema_path, err, errlen);
    free(buf);
    return rc;
}

void config_free(struct sipha_config *cfg)
{
    if (!cfg)
        return;
    free(cfg->nics);
    free(cfg->vips);
    free(cfg->dns);
    free(cfg->contacts);
    cfg->nics = NULL;
    cfg->vips = NULL;
    cfg->dns = NULL;
    cfg->contacts = NULL;
    cfg->n_nics = cfg->n_vips = cfg->n_dns = cfg->n_contacts = 0;
}

static bool readable(const char *path)
{
    return access(path, R_OK) == 0;
}

/* dir/../REL when readable: `out` filled and true. */
static bool beside(char *out, size_t len, const char *dir, const char *rel)
{
    snprintf(out, len, "%.*s/../%s", PATH_MAX - 64, dir, rel);
    return readable(out);
}

const char *config_default_schema(void)
{
    /* Static: the answer does not change while the process runs, and callers keep
     * the pointer only for the duration of a load. */
    static char found[PATH_MAX];
    static const char *const fixed[] = {
        "/usr/local/share/sipha/sipha-config.rng",
        "/usr/share/sipha/sipha-config.rng",
    };
    const char *env = getenv("SIPHA_SCHEMA");
    if (env && *env)
        return env;
    /* Next to the executable first, so a build tree or an install under any PREFIX
     * uses its own schema: PREFIX/bin/../share/sipha (installed), build/../agent
     * (build tree), build/tests/../../agent (unit tests). */
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n > 0) {
        exe[n] = '\0';
        char *slash = strrchr(exe, '/');
        if (slash)
            *slash = '\0';
        if (beside(found, sizeof found, exe, "share/sipha/sipha-config.rng") ||
            beside(found, sizeof found, exe, "agent/sipha-config.rng") ||
            beside(found, sizeof found, exe, "../agent/sipha-config.rng"))
            return found;
    }
    for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++)
        if (readable(fixed[i]))
            return fixed[i];
    return "agent/sipha-config.rng";
}
