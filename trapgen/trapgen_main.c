/* trapgen_main.c — sipha-trapgen: sends any SIPHA-MIB notification, with the varbinds
 * the agent would send about a realistic sample instance, to a trap sink, so an
 * operator can check that the NMS handles every sipha notification before production.
 *
 * Exit status: 0 all sent (and acknowledged, with --inform), 1 a send failed,
 * 2 bad arguments or unknown notification name. */
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <net-snmp/net-snmp-config.h>
#include <net-snmp/net-snmp-includes.h>

#include "instance.h"
#include "notify_build.h"
#include "notify_defs.h"
#include "sample_instance.h"

#define PROG "sipha-trapgen"
#define EXIT_SEND 1
#define EXIT_USAGE 2
#define ENGINE_ID_MAX 32 /* SnmpEngineID SIZE(5..32) */
#define SAMPLE_INSTANCE_MAX 255 /* siphaInstIndex: Unsigned32 (1..255) */

/* Default authoritative engine ID of v3 traps: format 4 (text) under the documentation
 * enterprise 32473 (RFC 5612), text "sipha-trapgen". The trap receiver needs its
 * users created for this ID (snmptrapd: createUser -e 0x80007ed904...). */
#define DEFAULT_ENGINE_ID "80007ed9047369706861" "2d7472617067656e"

/* engineTime of v3 traps: seconds since this date, so it keeps growing across runs
 * and reboots and the receiver never sees it go back (engineBoots stays 1). */
#define ENGINE_TIME_EPOCH 1704067200 /* 2024-01-01T00:00:00Z */

struct tg_opts {
    bool list, inform;
    long version;
    const char *community;
    const char *user, *auth_proto, *auth_pass, *priv_proto, *priv_pass, *level;
    const char *engine_hex;
    uint32_t instance;
    int timeout_s, retries;
    const char *sink;
    char **names;
    int nnames;
};

static void usage(FILE *f)
{
    fprintf(f,
        "usage: " PROG " --list\n"
        "       " PROG " [-v 2c|3] [-c COMMUNITY]\n"
        "            [-u USER [-l noAuthNoPriv|authNoPriv|authPriv] [-a SHA|SHA-224|SHA-256|SHA-384|SHA-512]\n"
        "             [-A AUTHPASS] [-x AES] [-X PRIVPASS] [-e ENGINEID]]\n"
        "            [-i INSTANCE] [--inform] [-t TIMEOUT] [-r RETRIES] SINK NAME...|all\n"
        "Sends SIPHA-MIB notifications with realistic varbinds to SINK, a Net-SNMP\n"
        "transport address (udp:127.0.0.1:162, udp6:[::1]:162, tcp:host:162; port 162\n"
        "when omitted).\n"
        "  --list          print every notification: name, OID, event id, severity\n"
        "  -v 2c|3         SNMP version (default 2c)\n"
        "  -c COMMUNITY    v2c community (default public)\n"
        "  -u USER         v3 user; -l defaults to authPriv with -X, authNoPriv with -A\n"
        "  -a/-A, -x/-X    v3 authentication (default SHA) and privacy (AES) protocol and\n"
        "                  passphrase (8 characters at least)\n"
        "  -e ENGINEID     v3 trap sender engine ID in hex (default 0x%s);\n"
        "                  not with --inform, where the receiver's ID is discovered\n"
        "  -i INSTANCE     instance index 1..255 of the sample (default 1: sip-a; even: sip-b)\n"
        "  --inform        send informs and wait for each acknowledgement\n"
        "  -t TIMEOUT      seconds to wait for an acknowledgement (default 5, 1..60)\n"
        "  -r RETRIES      retransmissions of an inform (default 1, 0..10)\n"
        "  NAME            a notification name (see --list), or all\n",
        DEFAULT_ENGINE_ID);
}

static int usage_error(const char *msg, const char *arg)
{
    fprintf(stderr, PROG ": %s%s%s\n", msg, arg ? ": " : "", arg ? arg : "");
    usage(stderr);
    return EXIT_USAGE;
}

/* Strict decimal in [min, max]. */
static int parse_ulong(const char *s, unsigned long min, unsigned long max, unsigned long *out)
{
    unsigned long v = 0;
    if (!*s)
        return -1;
    for (; *s; s++) {
        if (*s < '0' || *s > '9')
            return -1;
        unsigned long d = (unsigned long)(*s - '0');
        if (d > max || v > (max - d) / 10)
            return -1;
        v = v * 10 + d;
    }
    if (v < min)
        return -1;
    *out = v;
    return 0;
}

static const char *severity_name(enum notif_severity s)
{
    static const char *const names[] = { "?", "alarm", "standard", "interaction", "trace", "debug" };
    return s >= SEV_ALARM && s <= SEV_DEBUG ? names[s] : "?";
}

static void print_list(void)
{
    for (unsigned id = 1; id <= HA_NOTIF_COUNT; id++) {
        const struct notif_def *d = notif_def_get((enum ha_notif)id);
        oid trap[NOTIFY_OID_MAX];
        size_t len = notify_trap_oid(d, trap);
        char oidtxt[128];
        size_t n = 0;
        for (size_t i = 0; i < len; i++)
            n += (size_t)snprintf(oidtxt + n, sizeof(oidtxt) - n, "%s%lu", i ? "." : "",
                                  (unsigned long)trap[i]);
        printf("%-28s %-26s %s %s\n", d->name, oidtxt, d->event_id, severity_name(d->severity));
    }
}

static void print_valid_names(FILE *f)
{
    fprintf(f, "valid names: all");
    for (unsigned id = 1; id <= HA_NOTIF_COUNT; id++)
        fprintf(f, " %s", notif_def_get((enum ha_notif)id)->name);
    fputc('\n', f);
}

/* ---- arguments --------------------------------------------------------------- */

enum { OPT_LIST = 256, OPT_INFORM, OPT_HELP };

static int parse_option(struct tg_opts *o, int c, const char *arg)
{
    unsigned long v;
    switch (c) {
    case OPT_LIST: o->list = true; return 0;
    case OPT_INFORM: o->inform = true; return 0;
    case 'v':
        if (strcmp(arg, "2c") == 0) o->version = SNMP_VERSION_2c;
        else if (strcmp(arg, "3") == 0) o->version = SNMP_VERSION_3;
        else return usage_error("-v must be 2c or 3", arg);
        return 0;
    case 'c': o->community = arg; return 0;
    case 'u': o->user = arg; return 0;
    case 'a': o->auth_proto = arg; return 0;
    case 'A': o->auth_pass = arg; return 0;
    case 'x': o->priv_proto = arg; return 0;
    case 'X': o->priv_pass = arg; return 0;
    case 'l': o->level = arg; return 0;
    case 'e': o->engine_hex = arg; return 0;
    case 'i':
        if (parse_ulong(arg, 1, SAMPLE_INSTANCE_MAX, &v) < 0)
            return usage_error("-i needs an instance index 1..255", arg);
        o->instance = (uint32_t)v;
        return 0;
    case 't':
        if (parse_ulong(arg, 1, 60, &v) < 0)
            return usage_error("-t needs seconds 1..60", arg);
        o->timeout_s = (int)v;
        return 0;
    case 'r':
        if (parse_ulong(arg, 0, 10, &v) < 0)
            return usage_error("-r needs 0..10 retries", arg);
        o->retries = (int)v;
        return 0;
    default:
        return usage_error("bad option", NULL);
    }
}

static int check_v3_args(const struct tg_opts *o)
{
    if (o->community)
        return usage_error("-c is for -v 2c; SNMPv3 uses -u", NULL);
    if (!o->user || !*o->user)
        return usage_error("-v 3 needs -u USER", NULL);
    if (o->level && strcmp(o->level, "noAuthNoPriv") != 0 && strcmp(o->level, "authNoPriv") != 0
        && strcmp(o->level, "authPriv") != 0)
        return usage_error("-l must be noAuthNoPriv, authNoPriv or authPriv", o->level);
    if (o->engine_hex && o->inform)
        return usage_error("-e is for traps: an inform discovers the receiver's engine ID", NULL);
    return 0;
}

static int check_v2c_args(const struct tg_opts *o)
{
    if (o->user || o->auth_proto || o->auth_pass || o->priv_proto || o->priv_pass || o->level
        || o->engine_hex)
        return usage_error("-u -a -A -x -X -l -e are for -v 3", NULL);
    return 0;
}

static int parse_args(struct tg_opts *o, int argc, char **argv)
{
    static const struct option longopts[] = {
        { "list", no_argument, NULL, OPT_LIST },
        { "inform", no_argument, NULL, OPT_INFORM },
        { "help", no_argument, NULL, OPT_HELP },
        { NULL, 0, NULL, 0 },
    };
    int c, rc;
    opterr = 0; /* our own messages */
    while ((c = getopt_long(argc, argv, "v:c:u:a:A:x:X:l:e:i:t:r:h", longopts, NULL)) != -1) {
        if (c == 'h' || c == OPT_HELP) {
            usage(stdout);
            exit(0);
        }
        if (c == '?' || c == ':')
            return usage_error("bad option or missing argument", argv[optind - 1]);
        if ((rc = parse_option(o, c, optarg)) != 0)
            return rc;
    }
    if (o->list)
        return optind == argc ? 0 : usage_error("--list takes no other argument", argv[optind]);
    if (argc - optind < 2)
        return usage_error("need a SINK and at least one notification NAME (or all)", NULL);
    o->sink = argv[optind];
    o->names = argv + optind + 1;
    o->nnames = argc - optind - 1;
    return o->version == SNMP_VERSION_3 ? check_v3_args(o) : check_v2c_args(o);
}

/* Resolves the NAME arguments into `out` (HA_NOTIF_COUNT * nnames room); "all" expands
 * to every notification. Every name is checked before anything is sent. */
static int resolve_names(const struct tg_opts *o, const struct notif_def **out, size_t *n)
{
    *n = 0;
    for (int i = 0; i < o->nnames; i++) {
        if (strcmp(o->names[i], "all") == 0) {
            for (unsigned id = 1; id <= HA_NOTIF_COUNT; id++)
                out[(*n)++] = notif_def_get((enum ha_notif)id);
            continue;
        }
        const struct notif_def *d = notif_def_by_name(o->names[i]);
        if (!d) {
            fprintf(stderr, PROG ": unknown notification '%s'\n", o->names[i]);
            print_valid_names(stderr);
            return EXIT_USAGE;
        }
        out[(*n)++] = d;
    }
    return 0;
}

/* ---- SNMPv3 security --------------------------------------------------------- */

/* Hex engine ID, optional 0x prefix, an even number of digits, 5 to ENGINE_ID_MAX
 * bytes into buf (ENGINE_ID_MAX bytes). */
static int parse_engine_id(const char *s, u_char *buf, size_t *len)
{
    size_t cap = ENGINE_ID_MAX, n = 0;
    /* No delimiters; without reallocation, more than cap bytes fail. */
    if (!netsnmp_hex_to_binary(&buf, &cap, &n, 0, s, NULL) || n < 5)
        return -1;
    *len = n;
    return 0;
}

struct proto_name {
    const char *name;
    oid *proto;
    size_t len;
};

static int set_auth(netsnmp_session *s, const struct tg_opts *o)
{
    const struct proto_name auth[] = {
        { "SHA", usmHMACSHA1AuthProtocol, OID_LENGTH(usmHMACSHA1AuthProtocol) },
        { "SHA-224", usmHMAC128SHA224AuthProtocol, OID_LENGTH(usmHMAC128SHA224AuthProtocol) },
        { "SHA-256", usmHMAC192SHA256AuthProtocol, OID_LENGTH(usmHMAC192SHA256AuthProtocol) },
        { "SHA-384", usmHMAC256SHA384AuthProtocol, OID_LENGTH(usmHMAC256SHA384AuthProtocol) },
        { "SHA-512", usmHMAC384SHA512AuthProtocol, OID_LENGTH(usmHMAC384SHA512AuthProtocol) },
    };
    const char *want = o->auth_proto ? o->auth_proto : "SHA";
    for (size_t i = 0; i < sizeof(auth) / sizeof(auth[0]); i++) {
        if (strcmp(want, auth[i].name) != 0)
            continue;
        s->securityAuthProto = auth[i].proto;
        s->securityAuthProtoLen = auth[i].len;
        s->securityAuthKeyLen = USM_AUTH_KU_LEN;
        if (generate_Ku(s->securityAuthProto, (u_int)s->securityAuthProtoLen,
                        (const u_char *)o->auth_pass, strlen(o->auth_pass),
                        s->securityAuthKey, &s->securityAuthKeyLen) != SNMPERR_SUCCESS)
            return usage_error("cannot derive the authentication key", NULL);
        return 0;
    }
    return usage_error("-a must be SHA, SHA-224, SHA-256, SHA-384 or SHA-512", want);
}

static int set_priv(netsnmp_session *s, const struct tg_opts *o)
{
    const char *want = o->priv_proto ? o->priv_proto : "AES";
    if (strcmp(want, "AES") != 0 && strcmp(want, "AES-128") != 0)
        return usage_error("-x must be AES", want);
    s->securityPrivProto = usmAESPrivProtocol;
    s->securityPrivProtoLen = OID_LENGTH(usmAESPrivProtocol);
    s->securityPrivKeyLen = USM_PRIV_KU_LEN;
    /* The privacy key is derived with the authentication hash (RFC 3826). */
    if (generate_Ku(s->securityAuthProto, (u_int)s->securityAuthProtoLen,
                    (const u_char *)o->priv_pass, strlen(o->priv_pass),
                    s->securityPrivKey, &s->securityPrivKeyLen) != SNMPERR_SUCCESS)
        return usage_error("cannot derive the privacy key", NULL);
    return 0;
}

static int security_level(const struct tg_opts *o)
{
    if (o->level)
        return strcmp(o->level, "authPriv") == 0 ? SNMP_SEC_LEVEL_AUTHPRIV
             : strcmp(o->level, "authNoPriv") == 0 ? SNMP_SEC_LEVEL_AUTHNOPRIV
             : SNMP_SEC_LEVEL_NOAUTH;
    return o->priv_pass ? SNMP_SEC_LEVEL_AUTHPRIV
         : o->auth_pass ? SNMP_SEC_LEVEL_AUTHNOPRIV : SNMP_SEC_LEVEL_NOAUTH;
}

static int check_pass(const char *pass, const char *opt)
{
    if (!pass)
        return usage_error("this security level needs a passphrase", opt);
    if (strlen(pass) < USM_LENGTH_P_MIN)
        return usage_error("passphrases need 8 characters at least", opt);
    return 0;
}

/* For a trap the sender is the authoritative engine (RFC 3414 1.5.1): its engine ID,
 * boots and time go in the message, and no discovery is needed. */
static int set_trap_engine(netsnmp_session *s, const struct tg_opts *o, u_char *engine)
{
    size_t len;
    const char *hex = o->engine_hex ? o->engine_hex : DEFAULT_ENGINE_ID;
    if (parse_engine_id(hex, engine, &len) < 0)
        return usage_error("-e needs 5 to 32 bytes in hex", hex);
    s->securityEngineID = s->contextEngineID = engine;
    s->securityEngineIDLen = s->contextEngineIDLen = len;
    s->engineBoots = 1;
    time_t now = time(NULL);
    s->engineTime = now > ENGINE_TIME_EPOCH ? (u_int)(now - ENGINE_TIME_EPOCH) : 1;
    return 0;
}

static int set_v3(netsnmp_session *s, const struct tg_opts *o, u_char *engine)
{
    int rc;
    s->securityName = (char *)o->user;
    s->securityNameLen = strlen(o->user);
    s->securityModel = SNMP_SEC_MODEL_USM;
    s->securityLevel = security_level(o);
    if (s->securityLevel >= SNMP_SEC_LEVEL_AUTHNOPRIV
        && ((rc = check_pass(o->auth_pass, "-A")) != 0 || (rc = set_auth(s, o)) != 0))
        return rc;
    if (s->securityLevel == SNMP_SEC_LEVEL_AUTHPRIV
        && ((rc = check_pass(o->priv_pass, "-X")) != 0 || (rc = set_priv(s, o)) != 0))
        return rc;
    return o->inform ? 0 : set_trap_engine(s, o, engine);
}

/* ---- sending ----------------------------------------------------------------- */

static uint64_t monotonic_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* The varbinds the agent would send for `def` about the sample instance. */
static int build(const struct notif_def *def, uint32_t instance, netsnmp_variable_list **vbs)
{
    static struct sample_instance s; /* static: its engine state is 33 KB */
    uint64_t now = monotonic_ms();
    int rc = -1;
    if (sample_instance_fill_at(&s, instance, now) == 0) {
        uint32_t ev = sample_instance_notify(&s, def, now);
        uint32_t row = sample_row_index(&s.in, (enum sipha_table_id)def->row_table);
        if (ev)
            rc = notify_build_varbinds(def, &s.in, row, ev, sample_uptime_base(now), vbs);
    }
    sample_instance_free(&s);
    if (rc != 0)
        fprintf(stderr, PROG ": cannot build the varbinds of %s\n", def->name);
    return rc;
}

static int send_one(void *ss, const struct tg_opts *o, const struct notif_def *def)
{
    netsnmp_variable_list *vbs;
    if (build(def, o->instance, &vbs) != 0)
        return EXIT_SEND;
    netsnmp_pdu *pdu = snmp_pdu_create(o->inform ? SNMP_MSG_INFORM : SNMP_MSG_TRAP2);
    pdu->variables = vbs;
    if (!o->inform) {
        if (snmp_sess_send(ss, pdu) == 0) {
            snmp_sess_perror(PROG ": send", ss);
            snmp_free_pdu(pdu);
            return EXIT_SEND;
        }
        printf("sent %s to %s\n", def->name, o->sink);
        return 0;
    }
    netsnmp_pdu *resp = NULL;
    int st = snmp_sess_synch_response(ss, pdu, &resp); /* frees pdu */
    int ok = st == STAT_SUCCESS && resp && resp->errstat == SNMP_ERR_NOERROR;
    if (ok)
        printf("sent %s to %s: acknowledged\n", def->name, o->sink);
    else if (st == STAT_TIMEOUT)
        fprintf(stderr, PROG ": %s: no acknowledgement from %s (timeout)\n", def->name, o->sink);
    else if (st == STAT_SUCCESS && resp)
        fprintf(stderr, PROG ": %s: %s answered %s\n", def->name, o->sink,
                snmp_errstring((int)resp->errstat));
    else
        snmp_sess_perror(PROG ": inform", ss);
    if (resp)
        snmp_free_pdu(resp);
    return ok ? 0 : EXIT_SEND;
}

static void *open_session(const struct tg_opts *o, int *err)
{
    netsnmp_session s;
    u_char engine[ENGINE_ID_MAX];
    snmp_sess_init(&s);
    s.version = o->version;
    s.peername = (char *)o->sink;
    s.timeout = (long)o->timeout_s * 1000000L;
    s.retries = o->retries;
    if (o->version == SNMP_VERSION_2c) {
        s.community = (u_char *)(o->community ? o->community : "public");
        s.community_len = strlen((const char *)s.community);
    } else if ((*err = set_v3(&s, o, engine)) != 0) {
        return NULL;
    }
    netsnmp_transport *t = netsnmp_transport_open_client(PROG, o->sink);
    if (!t) {
        fprintf(stderr, PROG ": cannot open transport to '%s'\n", o->sink);
        *err = EXIT_USAGE;
        return NULL;
    }
    void *ss = snmp_sess_add(&s, t, NULL, NULL); /* copies s; owns t from here */
    if (!ss) {
        snmp_perror(PROG ": session");
        *err = EXIT_SEND;
    }
    return ss;
}

static void init_client(void)
{
    snmp_enable_stderrlog();
    /* A client tool: leave the user's persistent SNMP state alone. */
    netsnmp_ds_set_boolean(NETSNMP_DS_LIBRARY_ID, NETSNMP_DS_LIB_DONT_PERSIST_STATE, 1);
    netsnmp_ds_set_boolean(NETSNMP_DS_LIBRARY_ID, NETSNMP_DS_LIB_DISABLE_PERSISTENT_LOAD, 1);
    /* Every OID is built numerically: loading MIB modules would only cost time and
     * print warnings about modules Debian does not ship. */
    setenv("MIBS", "", 1);
    init_snmp(PROG);
    /* A SINK without domain or port means UDP port 162, as for snmptrap. */
    netsnmp_register_default_domain(PROG, "udp udp6");
    netsnmp_register_default_target(PROG, "udp", ":162");
    netsnmp_register_default_target(PROG, "udp6", ":162");
}

/* Sends every named notification in order; stops at the first failure (a sink that
 * does not answer one inform will not answer the next). */
static int run(const struct tg_opts *o)
{
    const struct notif_def **defs = calloc((size_t)o->nnames * HA_NOTIF_COUNT, sizeof(*defs));
    size_t n = 0;
    int rc = defs ? resolve_names(o, defs, &n) : EXIT_SEND;
    if (rc == 0) {
        init_client();
        void *ss = open_session(o, &rc);
        for (size_t i = 0; ss && rc == 0 && i < n; i++)
            rc = send_one(ss, o, defs[i]);
        if (ss)
            snmp_sess_close(ss);
        snmp_shutdown(PROG);
    }
    free(defs);
    return rc;
}

int main(int argc, char **argv)
{
    struct tg_opts o = { .version = SNMP_VERSION_2c, .instance = 1, .timeout_s = 5, .retries = 1 };
    int rc = parse_args(&o, argc, argv);
    if (rc != 0)
        return rc;
    if (o.list) {
        print_list();
        return 0;
    }
    return run(&o);
}
