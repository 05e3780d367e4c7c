/* config_files.h — what `sipha-agent -t` checks beyond the document itself: the files
 * a valid configuration names, as the user running the check sees them (run it as
 * the agent's user to check what the agent will meet). */
#ifndef SIPHA_CONFIG_FILES_H
#define SIPHA_CONFIG_FILES_H

#include <stdio.h>

#include "config.h"

/* Checks
 *   <peer key-file>      exists, is read as the agent reads it (a regular file, no
 *                        symbolic link, mode 0600 or stricter, a key of the right
 *                        length), and belongs to root or to the running user;
 *   <vip up-script>,
 *   <vip down-script>    exist, regular files, executable by the running user;
 *   <arbiter ca>, <arbiter cert>,
 *   <arbiter key-file>   (kind etcd) exist, regular files, readable by the running
 *                        user;
 *   <state dir>          a directory the running user can write, or, when missing,
 *                        one it can create (the agent creates it);
 *   <agentx socket>      when it is a unix socket that exists: reachable and
 *                        writable (a missing one is not a problem: snmpd may not
 *                        run yet).
 * Writes one line per problem to `out`, "sipha-agent: ORIGIN: <element attr>: PATH:
 * what is wrong", and returns how many there were (0: all good). */
int config_check_files(const struct sipha_config *cfg, const char *origin, FILE *out);

#endif
