/* ctl_main.c — sipha-ctl: an HA pair through SNMP, as an NMS sees it.
 *
 *   sipha-ctl status [--json] [SNMP-OPTIONS] TARGET [TARGET]
 *   sipha-ctl switchover [--wait SECONDS] [--instance N] [SNMP-OPTIONS] TARGET [TARGET]
 *
 * The SNMP options are Net-SNMP's own (snmp_parse_args), so snmp.conf defaults and
 * every option of snmpget/snmpset work as there. Exit status: see usage(). */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <net-snmp/net-snmp-config.h>
#include <net-snmp/net-snmp-includes.h>

#include "ctl_model.h"
#include "ctl_names.h"
#include "ctl_output.h"
#include "ctl_snmp.h"

#define PROG "sipha-ctl"
#define APP "snmpapp" /* Net-SNMP's configuration type of its command-line tools */

#define EXIT_OK 0
#define EXIT_SNMP 1     /* a target did not answer, or answered an error */
#define EXIT_USAGE 2    /* bad usage or input, switchover without SNMPv3 authPriv */
#define EXIT_REFUSED 3  /* switchover not done: no single primary, SET or command refused */
#define EXIT_TIMEOUT 4  /* switchover asked, roles not moved within --wait */

#define MAX_TARGETS 2
#define WAIT_DEFAULT_S 10
#define WAIT_MAX_S 3600
#define POLL_MS 100
#define INSTANCE_MAX 255 /* siphaInstIndex: Unsigned32 (1..255) */

/* Net-SNMP's options that take an argument (snmp_parse_args, 5.9): when one of
 * them ends a word, the next word is its argument, not ours to look at. */
static const char SNMP_ARG_OPTS[] = "YmMOIPDvrtcZeEnulxXaApT3Ls";

enum command { CMD_STATUS, CMD_SWITCHOVER };

struct ctl_opts {
    enum command cmd;
    bool json;
    unsigned wait_s;
    unsigned instance; /* 0 = any */
};

static void usage(FILE *f)
{
    fprintf(f,
        "usage: " PROG " status [--json] [SNMP-OPTIONS] TARGET [TARGET]\n"
        "       " PROG " switchover [--wait SECONDS] [--instance N] [SNMP-OPTIONS] TARGET [TARGET]\n"
        "       " PROG " --help\n"
        "Shows and switches over a sipha HA pair through SNMP, as an NMS reads it.\n"
        "TARGET is the snmpd of a node, as a Net-SNMP address (udp:10.0.1.1:161,\n"
        "udp6:[2001:db8::1]:161, tcp:host:161; UDP port 161 when omitted): give the snmpd\n"
        "of each host of the pair, or the one snmpd that serves both instances.\n"
        "\n"
        "  status          every instance each TARGET serves: role, status, priority and\n"
        "                  epoch, peer (role, status, HA link), VIPs, last switchover and\n"
        "                  its reason, the last admin command's result, active alarms\n"
        "    --json        one JSON object: {\"nodes\": [...], \"primary\": NAME|null}\n"
        "  switchover      finds the primary by reading every TARGET, SETs its\n"
        "                  siphaInstAdminCommand to switchover(2), and waits until its peer\n"
        "                  is primary and it is backup\n"
        "    --wait SECONDS  how long to wait for that (default %d, 0..%d; 0 = do not wait)\n"
        "    --instance N  the primary to switch over when several are read (several pairs\n"
        "                  under one snmpd)\n"
        "\n"
        "SNMP-OPTIONS are those of the Net-SNMP tools (snmpget, snmpset): -v 1|2c|3,\n"
        "-c COMMUNITY, -u USER, -l noAuthNoPriv|authNoPriv|authPriv, -a PROTO, -A PASS,\n"
        "-x PROTO, -X PASS, -n CONTEXT, -t SECONDS, -r RETRIES, --TOKEN=VALUE, ... What\n"
        "they leave out comes from snmp.conf (/etc/snmp/snmp.conf, ~/.snmp/snmp.conf:\n"
        "defVersion, defSecurityName, defSecurityLevel, defAuthType, defAuthPassphrase,\n"
        "defPrivType, defPrivPassphrase, defCommunity, timeout, retries), so no secret\n"
        "has to be on the command line.\n"
        "switchover needs SNMPv3 with authPriv, as a user the snmpd lets write\n"
        "siphaInstAdminCommand (the siphaAdmin group of snmpd.conf.d/sipha.conf).\n"
        "\n"
        "Exit status:\n"
        "  0  status: every TARGET answered and serves an instance;\n"
        "     switchover: the roles moved (or, with --wait 0, the SET was accepted)\n"
        "  1  a TARGET did not answer, answered an error or serves no instance (status\n"
        "     still prints what it read); switchover: the SET failed or got no answer\n"
        "  2  bad usage: command, option, target; switchover without SNMPv3 authPriv\n"
        "  3  switchover not done: no single primary, the SET refused, or\n"
        "     siphaInstAdminResult refused or failed\n"
        "  4  switchover asked, but the roles did not move within --wait\n",
        WAIT_DEFAULT_S, WAIT_MAX_S);
}

static int usage_error(const char *msg, const char *arg)
{
    fprintf(stderr, PROG ": %s%s%s\n", msg, arg ? ": " : "", arg ? arg : "");
    fprintf(stderr, "Try '" PROG " --help'.\n");
    return EXIT_USAGE;
}

/* Strict decimal in [min, max]. */
static int parse_uint(const char *s, unsigned min, unsigned max, unsigned *out)
{
    unsigned long v = 0;
    if (!s || !*s)
        return -1;
    for (; *s; s++) {
        if (*s < '0' || *s > '9')
            return -1;
        v = v * 10 + (unsigned long)(*s - '0');
        if (v > max)
            return -1;
    }
    if (v < min)
        return -1;
    *out = (unsigned)v;
    return 0;
}

/* ---- arguments --------------------------------------------------------------- */

/* `--NAME VALUE` or `--NAME=VALUE` at argv[*i]: the value, or NULL when argv[*i]
 * is not that option. *i moves past a separate value; *missing when there is none. */
static const char *long_value(char **argv, int argc, int *i, const char *name, bool *missing)
{
    const char *a = argv[*i] + 2;
    size_t n = strlen(name);
    if (strncmp(a, name, n) != 0)
        return NULL;
    if (a[n] == '=')
        return a + n + 1;
    if (a[n] != '\0')
        return NULL;
    if (*i + 1 >= argc) {
        *missing = true;
        return "";
    }
    return argv[++*i];
}

/* Does the word of short options `w` ("-v3", "-l", "-Cc") end with an option that
 * takes the next word as its argument? */
static bool takes_next_word(const char *w)
{
    for (const char *p = w + 1; *p; p++)
        if (strchr(SNMP_ARG_OPTS, *p))
            return p[1] == '\0';
    return false;
}

static int our_long_option(struct ctl_opts *o, char **argv, int argc, int *i, bool *ours)
{
    bool missing = false;
    const char *v;
    *ours = true;
    if (strcmp(argv[*i], "--json") == 0) {
        if (o->cmd != CMD_STATUS)
            return usage_error("--json is an option of status", NULL);
        o->json = true;
    } else if ((v = long_value(argv, argc, i, "wait", &missing))) {
        if (o->cmd != CMD_SWITCHOVER)
            return usage_error("--wait is an option of switchover", NULL);
        if (missing || parse_uint(v, 0, WAIT_MAX_S, &o->wait_s) != 0)
            return usage_error("--wait needs whole seconds 0..3600", missing ? NULL : v);
    } else if ((v = long_value(argv, argc, i, "instance", &missing))) {
        if (o->cmd != CMD_SWITCHOVER)
            return usage_error("--instance is an option of switchover", NULL);
        if (missing || parse_uint(v, 1, INSTANCE_MAX, &o->instance) != 0)
            return usage_error("--instance needs an instance index 1..255", missing ? NULL : v);
    } else if (strcmp(argv[*i], "--version") == 0 || strchr(argv[*i], '=')) {
        *ours = false; /* Net-SNMP's: its version, or a configuration token=value */
    } else {
        return usage_error("unknown option", argv[*i]);
    }
    return 0;
}

/* Takes our own options out of argv and leaves Net-SNMP's (with their arguments)
 * and the targets in snmp_argv, argv[0] first. */
static int split_args(struct ctl_opts *o, int argc, char **argv, char **snmp_argv, int *snmp_argc)
{
    int n = 0;
    snmp_argv[n++] = argv[0];
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout);
            exit(EXIT_OK);
        }
        if (strcmp(a, "--") == 0) { /* the rest are targets */
            while (i < argc)
                snmp_argv[n++] = argv[i++];
            break;
        }
        if (a[0] == '-' && a[1] == '-') {
            bool ours;
            int rc = our_long_option(o, argv, argc, &i, &ours);
            if (rc != 0)
                return rc;
            if (!ours)
                snmp_argv[n++] = argv[i];
            continue;
        }
        snmp_argv[n++] = argv[i];
        if (a[0] == '-' && a[1] && takes_next_word(a) && i + 1 < argc)
            snmp_argv[n++] = argv[++i];
    }
    snmp_argv[n] = NULL;
    *snmp_argc = n;
    return 0;
}

static void no_local_option(int argc, char *const *argv, int opt)
{
    (void)argc;
    (void)argv;
    (void)opt;
}

/* snmp_parse_args fills `tmpl` from the options and snmp.conf; the first target is
 * tmpl->peername, the second (if any) follows. */
static int parse_args(struct ctl_opts *o, int argc, char **argv, netsnmp_session *tmpl,
                      const char **targets, size_t *ntargets)
{
    if (argc < 2)
        return usage_error("a command is needed: status or switchover", NULL);
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0
        || strcmp(argv[1], "help") == 0) {
        usage(stdout);
        exit(EXIT_OK);
    }
    if (strcmp(argv[1], "status") == 0)
        o->cmd = CMD_STATUS;
    else if (strcmp(argv[1], "switchover") == 0)
        o->cmd = CMD_SWITCHOVER;
    else
        return usage_error("unknown command (status or switchover)", argv[1]);

    char **snmp_argv = calloc((size_t)argc + 1, sizeof(*snmp_argv));
    int snmp_argc = 0, rc;
    if (!snmp_argv)
        return EXIT_SNMP;
    if ((rc = split_args(o, argc, argv, snmp_argv, &snmp_argc)) != 0) {
        free(snmp_argv);
        return rc;
    }
    int first = snmp_parse_args(snmp_argc, snmp_argv, tmpl, NULL, no_local_option);
    if (first == NETSNMP_PARSE_ARGS_SUCCESS_EXIT) {
        free(snmp_argv);
        exit(EXIT_OK);
    }
    if (first < 0) {
        free(snmp_argv);
        return usage_error("bad SNMP options or no TARGET", NULL);
    }
    *ntargets = 0;
    targets[(*ntargets)++] = tmpl->peername;
    for (int i = first; i < snmp_argc; i++) {
        if (*ntargets == MAX_TARGETS) {
            rc = usage_error("at most two targets (the two nodes of a pair)", snmp_argv[i]);
            free(snmp_argv);
            return rc;
        }
        targets[(*ntargets)++] = snmp_argv[i];
    }
    free(snmp_argv);
    for (size_t i = 0; i < *ntargets; i++)
        if (!targets[i][0])
            return usage_error("empty TARGET", NULL);
    return 0;
}

/* ---- status ------------------------------------------------------------------ */

static int read_nodes(struct ctl_target *t, struct ctl_node *nodes, size_t n)
{
    int rc = EXIT_OK;
    for (size_t i = 0; i < n; i++)
        if (ctl_node_read(&nodes[i], &t[i]) != 0 || nodes[i].ninst == 0)
            rc = EXIT_SNMP;
    return rc;
}

static int cmd_status(const struct ctl_opts *o, struct ctl_target *t, size_t n)
{
    struct ctl_node nodes[MAX_TARGETS];
    int rc = read_nodes(t, nodes, n);
    if (o->json)
        ctl_print_json(stdout, nodes, n);
    else
        ctl_print_text(stdout, nodes, n);
    for (size_t i = 0; i < n; i++)
        ctl_node_free(&nodes[i]);
    return rc;
}

/* ---- switchover -------------------------------------------------------------- */

struct where {
    struct ctl_node *node;
    struct ctl_inst *inst;
};

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void sleep_ms(unsigned ms)
{
    struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L };
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

static const char *level_name(int level)
{
    switch (level) {
    case SNMP_SEC_LEVEL_AUTHPRIV: return "authPriv";
    case SNMP_SEC_LEVEL_AUTHNOPRIV: return "authNoPriv";
    default: return "noAuthNoPriv";
    }
}

static int check_authpriv(const struct ctl_target *t)
{
    long version;
    int level;
    ctl_target_security(t, &version, &level);
    if (version == SNMP_VERSION_3 && level == SNMP_SEC_LEVEL_AUTHPRIV)
        return 0;
    fprintf(stderr, PROG ": switchover needs SNMPv3 with authPriv; this session is %s%s\n",
            version == SNMP_VERSION_3 ? "SNMPv3 " : version == SNMP_VERSION_1 ? "SNMPv1" : "SNMPv2c",
            version == SNMP_VERSION_3 ? level_name(level) : "");
    fprintf(stderr, PROG ": give -v 3 -l authPriv -u USER -a PROTO -A PASS -x PROTO -X PASS, or set\n"
                    "  defVersion 3, defSecurityLevel authPriv and the user's secrets in snmp.conf\n");
    return EXIT_USAGE;
}

static void describe(FILE *f, const struct where *w)
{
    fprintf(f, "%s (instance %u at %s)", w->inst->name[0] ? w->inst->name : "?",
            (unsigned)w->inst->index, w->node->target->peer);
}

static bool same_instance(const struct ctl_inst *a, const struct ctl_inst *b)
{
    return a->index == b->index && strcmp(a->name, b->name) == 0;
}

/* The primary to switch over: the only one read (or instance o->instance). One
 * instance read through both targets (the same snmpd twice) counts once. */
static int find_primary(const struct ctl_opts *o, struct ctl_node *nodes, size_t n, struct where *p)
{
    size_t count = 0;
    for (size_t i = 0; i < n; i++)
        for (size_t k = 0; k < nodes[i].ninst; k++) {
            struct ctl_inst *in = &nodes[i].inst[k];
            if (in->role != HA_ROLE_PRIMARY || (o->instance && in->index != o->instance)
                || (count && same_instance(in, p->inst)))
                continue;
            if (count++ == 0) {
                p->node = &nodes[i];
                p->inst = in;
            }
        }
    if (count == 1)
        return 0;
    if (count == 0) {
        const char *sep = " ";
        fprintf(stderr, PROG ": no primary%s among the instances read:", o->instance ? " with that index" : "");
        for (size_t i = 0; i < n; i++) {
            if (!nodes[i].ok) {
                fprintf(stderr, "%s%s: %s", sep, nodes[i].target->peer, nodes[i].error);
                sep = ", ";
            }
            for (size_t k = 0; k < nodes[i].ninst; k++, sep = ", ")
                fprintf(stderr, "%s%s %s", sep, nodes[i].inst[k].name, ctl_role_name(nodes[i].inst[k].role));
        }
        fputc('\n', stderr);
        return EXIT_REFUSED;
    }
    fprintf(stderr, PROG ": %zu primaries among the instances read (a split brain, or several pairs:"
                    " name one with --instance N):", count);
    for (size_t i = 0; i < n; i++)
        for (size_t k = 0; k < nodes[i].ninst; k++)
            if (nodes[i].inst[k].role == HA_ROLE_PRIMARY)
                fprintf(stderr, " %s (instance %u at %s)", nodes[i].inst[k].name,
                        (unsigned)nodes[i].inst[k].index, nodes[i].target->peer);
    fputc('\n', stderr);
    return EXIT_REFUSED;
}

/* The primary's peer among the instances read (by siphaInstPeerName), if there. */
static bool find_peer(struct ctl_node *nodes, size_t n, const struct where *p, struct where *peer)
{
    if (!p->inst->peer_name[0])
        return false;
    for (size_t i = 0; i < n; i++)
        for (size_t k = 0; k < nodes[i].ninst; k++) {
            struct ctl_inst *in = &nodes[i].inst[k];
            if (!same_instance(in, p->inst) && strcmp(in->name, p->inst->peer_name) == 0) {
                peer->node = &nodes[i];
                peer->inst = in;
                return true;
            }
        }
    return false;
}

static int set_error(const struct where *p, long errstat)
{
    if (errstat == 0) {
        fprintf(stderr, PROG ": the switchover SET to %s failed: %s%s\n", p->node->target->peer,
                p->node->target->error,
                p->node->target->no_answer ? " (it may have been done all the same: see " PROG " status)" : "");
        return EXIT_SNMP;
    }
    fprintf(stderr, PROG ": switchover refused by ");
    describe(stderr, p);
    switch (errstat) {
    case SNMP_ERR_INCONSISTENTVALUE:
        fprintf(stderr, ": inconsistentValue (a command is already in progress, or the instance is starting)\n");
        break;
    case SNMP_ERR_NOACCESS:
    case SNMP_ERR_NOTWRITABLE:
    case SNMP_ERR_READONLY:
    case SNMP_ERR_AUTHORIZATIONERROR:
        fprintf(stderr, ": %s (this user may not write siphaInstAdminCommand: the snmpd's siphaAdmin"
                        " group, authPriv)\n", snmp_errstring((int)errstat));
        break;
    default:
        fprintf(stderr, ": %s\n", snmp_errstring((int)errstat));
        break;
    }
    return EXIT_REFUSED;
}

/* Why the agent likely refused, from what was read before the SET. */
static const char *refusal_hint(const struct ctl_inst *in)
{
    static char buf[96];
    if (in->peer_link != HA_LINK_UP)
        return "its HA link to the peer is not up";
    if (in->peer_status != HA_STATUS_RUNNING) {
        snprintf(buf, sizeof(buf), "its peer is %s", ctl_status_name(in->peer_status));
        return buf;
    }
    return "see its event table (siphaEventTable) and log";
}

/* Polls until the roles moved, the command is refused or failed, or the deadline. */
static int wait_roles(const struct ctl_opts *o, const struct where *p, const struct where *peer,
                      uint64_t start)
{
    uint64_t deadline = start + (uint64_t)o->wait_s * 1000u;
    struct ctl_roles pr = { 0 }, qr = { 0 };
    const char *last_error = NULL;
    for (;;) {
        sleep_ms(POLL_MS);
        bool p_ok = ctl_read_roles(p->node->target, p->inst->index, &pr) == 0;
        bool q_ok = !peer || ctl_read_roles(peer->node->target, peer->inst->index, &qr) == 0;
        last_error = !p_ok ? p->node->target->error : !q_ok ? peer->node->target->error : NULL;
        if (p_ok && (pr.admin_result == HA_RESULT_REFUSED || pr.admin_result == HA_RESULT_FAILED)) {
            fprintf(stderr, PROG ": switchover not done: ");
            describe(stderr, p);
            fprintf(stderr, " says siphaInstAdminResult %s (%s); it is %s\n",
                    ctl_admin_result_name(pr.admin_result), refusal_hint(p->inst),
                    ctl_role_name(pr.role));
            return EXIT_REFUSED;
        }
        bool moved = p_ok && q_ok && pr.role == HA_ROLE_BACKUP
                  && (peer ? qr.role == HA_ROLE_PRIMARY : pr.peer_role == HA_ROLE_PRIMARY);
        uint64_t now = now_ms();
        if (moved) {
            printf("switchover done in %llu ms: ", (unsigned long long)(now - start));
            if (peer)
                describe(stdout, peer);
            else
                printf("%s (its peer)", p->inst->peer_name[0] ? p->inst->peer_name : "?");
            printf(" is primary, ");
            describe(stdout, p);
            printf(" is backup\n");
            return EXIT_OK;
        }
        if (now >= deadline)
            break;
    }
    fprintf(stderr, PROG ": switchover asked, but the roles did not move within %u s: ", o->wait_s);
    describe(stderr, p);
    if (last_error)
        fprintf(stderr, " cannot be read (%s)\n", last_error);
    else
        fprintf(stderr, " is %s, its peer %s; siphaInstAdminResult %s\n", ctl_role_name(pr.role),
                ctl_role_name(peer ? qr.role : pr.peer_role), ctl_admin_result_name(pr.admin_result));
    return EXIT_TIMEOUT;
}

static int cmd_switchover(const struct ctl_opts *o, struct ctl_target *t, size_t n)
{
    int rc = check_authpriv(&t[0]);
    if (rc != 0)
        return rc;
    struct ctl_node nodes[MAX_TARGETS];
    read_nodes(t, nodes, n);
    bool any = false;
    for (size_t i = 0; i < n; i++) {
        if (nodes[i].ok)
            any = true;
        else
            fprintf(stderr, PROG ": %s %s: %s\n", t[i].peer,
                    nodes[i].unreachable ? "unreachable" : "cannot be read", nodes[i].error);
    }
    struct where p = { 0 }, peer = { 0 };
    if (!any) {
        rc = EXIT_SNMP;
    } else if ((rc = find_primary(o, nodes, n, &p)) == 0) {
        bool have_peer = find_peer(nodes, n, &p, &peer);
        printf("switching over ");
        describe(stdout, &p);
        printf(" to its peer %s\n", p.inst->peer_name[0] ? p.inst->peer_name : "(none named)");
        fflush(stdout);
        long errstat = 0;
        uint64_t start = now_ms();
        if (ctl_set_admin(p.node->target, p.inst->index, HA_CMD_SWITCHOVER, &errstat) != 0)
            rc = set_error(&p, errstat);
        else if (o->wait_s == 0)
            printf("switchover asked (SET accepted); not waiting for the new roles\n");
        else
            rc = wait_roles(o, &p, have_peer ? &peer : NULL, start);
    }
    for (size_t i = 0; i < n; i++)
        ctl_node_free(&nodes[i]);
    return rc;
}

/* ---- main -------------------------------------------------------------------- */

static netsnmp_session session_template; /* static: what snmp_parse_args allocates stays reachable */

int main(int argc, char **argv)
{
    struct ctl_opts o = { .wait_s = WAIT_DEFAULT_S };
    const char *targets[MAX_TARGETS];
    size_t ntargets = 0;
    /* Every object is addressed numerically: no MIB files to load or warn about. */
    setenv("MIBS", "", 1);
    int rc = parse_args(&o, argc, argv, &session_template, targets, &ntargets);
    /* A client tool leaves the user's persistent SNMP state alone. Set only now:
     * before init_snmp (in snmp_parse_args) it would also stop snmp.conf from being
     * read, and with it the defaults (defSecurityName, ...) an operator keeps there. */
    netsnmp_ds_set_boolean(NETSNMP_DS_LIBRARY_ID, NETSNMP_DS_LIB_DONT_PERSIST_STATE, 1);
    if (rc != 0) {
        snmp_shutdown(APP);
        return rc;
    }
    struct ctl_target t[MAX_TARGETS];
    size_t opened = 0;
    for (; opened < ntargets; opened++)
        if (ctl_target_open(&t[opened], &session_template, targets[opened]) != 0) {
            fprintf(stderr, PROG ": %s\n", t[opened].error);
            rc = EXIT_USAGE;
            break;
        }
    long version;
    int level;
    if (rc == 0 && (ctl_target_security(&t[0], &version, &level), version == SNMP_VERSION_3)
        && !*ctl_target_user(&t[0]))
        rc = usage_error("SNMPv3 needs a user: -u USER, or defSecurityName in snmp.conf", NULL);
    if (rc == 0)
        rc = o.cmd == CMD_STATUS ? cmd_status(&o, t, ntargets) : cmd_switchover(&o, t, ntargets);
    for (size_t i = 0; i < opened; i++)
        ctl_target_close(&t[i]);
    snmp_shutdown(APP);
    return rc;
}
