/* config_files.c — the files a configuration names, checked for `sipha-agent -t`
 * (config_files.h). */
#include <errno.h>
#include <limits.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdbool.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <net-snmp/net-snmp-config.h>

#include "addr.h"
#include "config_files.h"
#include "hl_key.h"

#ifndef NETSNMP_AGENTX_SOCKET
#define NETSNMP_AGENTX_SOCKET "/var/agentx/master"
#endif

struct check {
    const char *origin;
    FILE *out;
    int problems;
};

static void problem(struct check *c, const char *what, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void problem(struct check *c, const char *what, const char *path, const char *fmt, ...)
{
    char why[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof(why), fmt, ap);
    va_end(ap);
    fprintf(c->out, "sipha-agent: %s: %s: %s: %s\n", c->origin, what, path, why);
    c->problems++;
}

static const char *user_name(uid_t uid, char *buf, size_t len)
{
    const struct passwd *pw = getpwuid(uid);
    if (pw)
        snprintf(buf, len, "%s", pw->pw_name);
    else
        snprintf(buf, len, "uid %u", (unsigned)uid);
    return buf;
}

/* --- <peer key-file> --- */

static void check_key(struct check *c, const char *path)
{
    const char *what = "<peer key-file>";
    struct stat st;
    if (lstat(path, &st) != 0) {
        problem(c, what, path, "%s", strerror(errno));
        return;
    }
    /* Read as the agent reads it: the same rules, the same words. */
    struct hl_key key;
    char err[512];
    if (hl_key_load(path, &key, err, sizeof(err)) != 0) {
        /* hl_key_load says "key file PATH: why"; the line names the file already. */
        const char *why = err;
        size_t n = strlen("key file ");
        if (strncmp(err, "key file ", n) == 0 && strncmp(err + n, path, strlen(path)) == 0 &&
            strncmp(err + n + strlen(path), ": ", 2) == 0)
            why = err + n + strlen(path) + 2;
        problem(c, what, path, "%s", why);
    }
    hl_key_wipe(&key);
    uid_t me = geteuid();
    if (st.st_uid != 0 && st.st_uid != me) {
        char owner[64], runner[64];
        problem(c, what, path, "owned by %s, must belong to root or to the user running "
                "the agent (%s): its owner could change the key", user_name(st.st_uid, owner,
                sizeof(owner)), user_name(me, runner, sizeof(runner)));
    }
}

/* --- <vip up-script>/<vip down-script> --- */

static void check_script(struct check *c, const struct config_vip *v, const char *attr,
                         const char *path)
{
    if (!path[0])
        return;
    char addr[64], what[96];
    sipha_addr_format(&v->addr, addr, sizeof(addr));
    snprintf(what, sizeof(what), "<vip %s %s>", addr, attr);
    struct stat st;
    if (stat(path, &st) != 0)
        problem(c, what, path, "%s", strerror(errno));
    else if (!S_ISREG(st.st_mode))
        problem(c, what, path, "not a regular file");
    else if (access(path, X_OK) != 0)
        problem(c, what, path, "not executable by this user (mode %04o)",
                (unsigned)(st.st_mode & 07777));
}

/* --- <arbiter ca>, <arbiter cert>, <arbiter key-file> (kind etcd) --- */

/* libcurl reads them at each new connection to a member: a file it cannot read then
 * shows only as an unreachable etcd. */
static void check_tls_file(struct check *c, const char *attr, const char *path)
{
    if (!path[0])
        return;
    char what[64];
    snprintf(what, sizeof(what), "<arbiter %s>", attr);
    struct stat st;
    if (stat(path, &st) != 0)
        problem(c, what, path, "%s", strerror(errno));
    else if (!S_ISREG(st.st_mode))
        problem(c, what, path, "not a regular file");
    else if (access(path, R_OK) != 0)
        problem(c, what, path, "not readable by this user (mode %04o)",
                (unsigned)(st.st_mode & 07777));
}

/* --- <state dir> --- */

/* The longest existing ancestor of `path` into `out` ("/" at worst). */
static void existing_ancestor(const char *path, char *out, size_t len)
{
    snprintf(out, len, "%s", path);
    for (;;) {
        char *slash = strrchr(out, '/');
        if (!slash)
            break;
        if (slash == out) {
            out[1] = '\0';
            return;
        }
        *slash = '\0';
        struct stat st;
        if (stat(out, &st) == 0)
            return;
    }
    snprintf(out, len, ".");
}

static void check_state_dir(struct check *c, const char *path)
{
    const char *what = "<state dir>";
    struct stat st;
    if (stat(path, &st) == 0) {
        if (!S_ISDIR(st.st_mode))
            problem(c, what, path, "not a directory");
        else if (access(path, W_OK | X_OK) != 0)
            problem(c, what, path, "not writable by this user (mode %04o)",
                    (unsigned)(st.st_mode & 07777));
        return;
    }
    if (errno != ENOENT) {
        problem(c, what, path, "%s", strerror(errno));
        return;
    }
    char parent[PATH_MAX];
    existing_ancestor(path, parent, sizeof(parent));
    if (stat(parent, &st) != 0 || !S_ISDIR(st.st_mode) || access(parent, W_OK | X_OK) != 0)
        problem(c, what, path, "does not exist, and this user cannot create it in %s", parent);
}

/* --- <agentx socket> --- */

static void check_agentx(struct check *c, const char *socket)
{
    const char *what = "<agentx socket>";
    const char *path = socket[0] ? socket : NETSNMP_AGENTX_SOCKET;
    if (strncmp(path, "unix:", 5) == 0)
        path += 5;
    if (path[0] != '/')
        return; /* a network transport (tcp:host:705): nothing on disk */
    struct stat st;
    if (stat(path, &st) != 0) {
        if (errno != ENOENT) /* typically EACCES: a directory on the way is closed */
            problem(c, what, path, "%s: the agent's user must be able to search every "
                    "directory on the way (agentXPerms' DIRPERMS, the directory's group)",
                    strerror(errno));
        return; /* missing: the master may not run yet */
    }
    if (!S_ISSOCK(st.st_mode))
        problem(c, what, path, "not a socket");
    else if (access(path, W_OK) != 0)
        problem(c, what, path, "this user may not connect (mode %04o): agentXPerms must give "
                "the socket to a group of the agent's user", (unsigned)(st.st_mode & 07777));
}

int config_check_files(const struct sipha_config *cfg, const char *origin, FILE *out)
{
    struct check c = { .origin = origin, .out = out, .problems = 0 };
    if (cfg->has_peer)
        check_key(&c, cfg->peer_key_file);
    for (size_t i = 0; i < cfg->n_vips; i++) {
        check_script(&c, &cfg->vips[i], "up-script", cfg->vips[i].up_script);
        check_script(&c, &cfg->vips[i], "down-script", cfg->vips[i].down_script);
    }
    if (cfg->has_arbiter && cfg->arbiter_kind == ARBITER_ETCD) {
        check_tls_file(&c, "ca", cfg->etcd_ca);
        check_tls_file(&c, "cert", cfg->etcd_cert);
        check_tls_file(&c, "key-file", cfg->etcd_key_file);
    }
    if (cfg->state_dir[0])
        check_state_dir(&c, cfg->state_dir);
    check_agentx(&c, cfg->agentx_socket);
    return c.problems;
}
