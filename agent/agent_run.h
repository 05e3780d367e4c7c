/* agent_run.h — what main() calls. */
#ifndef SIPHA_AGENT_RUN_H
#define SIPHA_AGENT_RUN_H

#include <stdbool.h>

#include "context.h"

struct agent_options {
    const char *config;        /* -c: path or URL */
    const char *agentx_socket; /* -x: overrides <agentx socket> */
    bool foreground;           /* -f */
    bool check_only;           /* -t: validate the configuration and exit */
};

int agent_init(struct agent *a, const struct agent_options *opt);
int agent_run(struct agent *a);
void agent_free(struct agent *a);

#endif
