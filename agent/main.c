/* main.c — sipha-agent: the AgentX subagent of one SIP server instance. */
#include <curl/curl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <net-snmp/net-snmp-config.h>
#include <net-snmp/net-snmp-includes.h>

#include "agent_run.h"

static void usage(FILE *out)
{
    fprintf(out,
            "usage: sipha-agent -c CONFIG [-f] [-x AGENTX-SOCKET] [-t]\n"
            "  -c CONFIG  configuration file path or file://, http://, https:// URL\n"
            "  -f         stay in the foreground and log to stderr (default: daemon, syslog)\n"
            "  -x SOCKET  AgentX master socket (overrides <agentx socket=>)\n"
            "  -t         check the configuration and exit\n");
}

static int parse_args(int argc, char **argv, struct agent_options *opt)
{
    int c;
    while ((c = getopt(argc, argv, "c:fx:th")) != -1) {
        switch (c) {
        case 'c': opt->config = optarg; break;
        case 'f': opt->foreground = true; break;
        case 'x': opt->agentx_socket = optarg; break;
        case 't': opt->check_only = true; break;
        case 'h': usage(stdout); exit(0);
        default: return -1;
        }
    }
    if (!opt->config || optind != argc)
        return -1;
    return 0;
}

int main(int argc, char **argv)
{
    struct agent_options opt = { 0 };
    if (parse_args(argc, argv, &opt) != 0) {
        usage(stderr);
        return 2;
    }
    if (opt.foreground || opt.check_only)
        snmp_enable_stderrlog();
    else
        snmp_enable_syslog_ident("sipha-agent", LOG_DAEMON);

    /* libcurl, and its global state, come with its first use (agent/curl_lazy.h):
     * an agent with neither an arbiter nor a configuration URL never loads it, and
     * curl_global_cleanup below is then a no-op. */
    static struct agent a;
    if (agent_init(&a, &opt) != 0) {
        agent_free(&a);
        curl_global_cleanup();
        return 1;
    }
    if (opt.check_only) {
        printf("sipha-agent: %s: configuration OK (instance %u \"%s\")\n", opt.config,
               a.cfg.index, a.cfg.name);
        agent_free(&a);
        return 0;
    }
    if (!opt.foreground && daemon(0, 0) != 0) {
        perror("sipha-agent: daemon");
        agent_free(&a);
        return 1;
    }
    int rc = agent_run(&a);
    agent_free(&a);
    curl_global_cleanup();
    return rc == 0 ? 0 : 1;
}
