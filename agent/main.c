/* main.c — sipha-agent: the AgentX subagent of one SIP server instance. */
#include <curl/curl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <net-snmp/net-snmp-config.h>
#include <net-snmp/net-snmp-includes.h>

#include "agent_log.h"
#include "agent_run.h"
#include "config.h"
#include "config_files.h"

/* The Makefile defines it from `git describe` or the VERSION file. */
#ifndef SIPHA_VERSION
#define SIPHA_VERSION "unknown"
#endif

static void usage(FILE *out)
{
    fprintf(out,
            "usage: sipha-agent -c CONFIG [-f] [-x AGENTX-SOCKET] [-t]\n"
            "       sipha-agent -V | --version\n"
            "  -c CONFIG  configuration file path or file://, http://, https:// URL\n"
            "  -f         stay in the foreground and log to stderr (default: daemon, syslog)\n"
            "  -x SOCKET  AgentX master socket (overrides <agentx socket=>)\n"
            "  -t         check the configuration and the files it names, and exit\n"
            "  -V         print the version and exit\n");
}

static void version(void)
{
    printf("sipha-agent %s (Net-SNMP %s)\n", SIPHA_VERSION, netsnmp_get_version());
}

static int parse_args(int argc, char **argv, struct agent_options *opt)
{
    static const struct option longopts[] = {
        { "version", no_argument, NULL, 'V' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    int c;
    while ((c = getopt_long(argc, argv, "c:fx:thV", longopts, NULL)) != -1) {
        switch (c) {
        case 'c': opt->config = optarg; break;
        case 'f': opt->foreground = true; break;
        case 'x': opt->agentx_socket = optarg; break;
        case 't': opt->check_only = true; break;
        case 'h': usage(stdout); exit(0);
        case 'V': version(); exit(0);
        default: return -1;
        }
    }
    if (!opt->config || optind != argc)
        return -1;
    return 0;
}

/* -t: the document, then the files it names (before the state directory is read:
 * a problem with it is reported here, one line, not as the first failure of a
 * start), then what a start reads (the state file). */
static int check_only(const struct agent_options *opt)
{
    struct sipha_config cfg;
    char err[CONFIG_ERR_MAX];
    memset(&cfg, 0, sizeof(cfg));
    if (config_load(&cfg, opt->config, config_default_schema(), err, sizeof(err)) != 0) {
        fprintf(stderr, "sipha-agent: %s\n", err);
        return 1;
    }
    if (opt->agentx_socket)
        snprintf(cfg.agentx_socket, sizeof(cfg.agentx_socket), "%s", opt->agentx_socket);
    int problems = config_check_files(&cfg, opt->config, stderr);
    config_free(&cfg);
    if (problems) {
        fprintf(stderr, "sipha-agent: %s: the configuration is valid, but %d problem%s with "
                "the files it names (checked as this user)\n", opt->config, problems,
                problems == 1 ? "" : "s");
        return 1;
    }
    static struct agent a;
    int rc = agent_init(&a, opt);
    if (rc == 0)
        printf("sipha-agent: %s: configuration OK (instance %u \"%s\")\n", opt->config,
               a.cfg.index, a.cfg.name);
    agent_free(&a);
    return rc == 0 ? 0 : 1;
}

int main(int argc, char **argv)
{
    struct agent_options opt = { 0 };
    if (parse_args(argc, argv, &opt) != 0) {
        usage(stderr);
        return 2;
    }
    agent_log_open(opt.foreground || opt.check_only, "sipha-agent");

    /* libcurl, and its global state, come with its first use (agent/curl_lazy.h):
     * an agent with neither an arbiter nor a configuration URL never loads it, and
     * curl_global_cleanup below is then a no-op. */
    if (opt.check_only) {
        int rc = check_only(&opt);
        curl_global_cleanup();
        agent_log_close();
        return rc;
    }
    static struct agent a;
    if (agent_init(&a, &opt) != 0) {
        agent_free(&a);
        curl_global_cleanup();
        agent_log_close();
        return 1;
    }
    if (!opt.foreground && daemon(0, 0) != 0) {
        perror("sipha-agent: daemon");
        agent_free(&a);
        return 1;
    }
    int rc = agent_run(&a);
    agent_free(&a);
    curl_global_cleanup();
    agent_log_close();
    return rc == 0 ? 0 : 1;
}
