/* `sipha-agent -t` beyond the document: the files a configuration names. A good set
 * passes silently; each problem (key file missing, readable by others, owned by
 * another user, too short; a VIP script missing, not executable, a directory; a state
 * dir that is a file or cannot be created; an AgentX socket path that is no socket)
 * is one line naming the element, the path and what is wrong. */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cmocka.h>

#include "config_files.h"

struct fx {
    char dir[64];
    struct sipha_config cfg;
    struct config_vip vip;
    char *out;
    size_t out_len;
};

static void path_in(struct fx *f, char *dst, size_t len, const char *name)
{
    snprintf(dst, len, "%s/%s", f->dir, name);
}

static void write_file(const char *path, const char *text, mode_t mode)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    assert_int_equal(chmod(path, mode), 0);
}

/* A configuration whose every file is right. */
static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));
    if (!f)
        return -1;
    snprintf(f->dir, sizeof(f->dir), "/tmp/test_config_files.XXXXXX");
    if (!mkdtemp(f->dir))
        return -1;
    f->cfg.has_peer = true;
    path_in(f, f->cfg.peer_key_file, sizeof(f->cfg.peer_key_file), "halink.key");
    write_file(f->cfg.peer_key_file, "0123456789abcdef0123456789abcdef\n", 0600);
    path_in(f, f->vip.up_script, sizeof(f->vip.up_script), "vip-up");
    path_in(f, f->vip.down_script, sizeof(f->vip.down_script), "vip-down");
    write_file(f->vip.up_script, "#!/bin/sh\n", 0755);
    write_file(f->vip.down_script, "#!/bin/sh\n", 0755);
    sipha_addr_parse(&f->vip.addr, "192.0.2.100");
    f->cfg.vips = &f->vip;
    f->cfg.n_vips = 1;
    path_in(f, f->cfg.state_dir, sizeof(f->cfg.state_dir), "state");
    path_in(f, f->cfg.agentx_socket, sizeof(f->cfg.agentx_socket), "agentx.sock");
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
    assert_int_equal(system(cmd), 0);
    free(f->out);
    free(f);
    return 0;
}

/* Runs the check; f->out holds what it wrote. */
static int check(struct fx *f)
{
    free(f->out);
    f->out = NULL;
    FILE *m = open_memstream(&f->out, &f->out_len);
    assert_non_null(m);
    int n = config_check_files(&f->cfg, "conf.xml", m);
    fclose(m);
    return n;
}

static size_t lines(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        n += *s == '\n';
    return n;
}

static void all_good(void **state)
{
    struct fx *f = *state;
    assert_int_equal(check(f), 0);
    assert_string_equal(f->out, "");
    /* an existing state dir, a network AgentX transport, no peer: still nothing */
    assert_int_equal(mkdir(f->cfg.state_dir, 0700), 0);
    snprintf(f->cfg.agentx_socket, sizeof(f->cfg.agentx_socket), "tcp:127.0.0.1:705");
    f->cfg.has_peer = false;
    f->cfg.peer_key_file[0] = '\0';
    assert_int_equal(check(f), 0);
}

static void key_missing(void **state)
{
    struct fx *f = *state;
    unlink(f->cfg.peer_key_file);
    assert_int_equal(check(f), 1);
    char want[512];
    snprintf(want, sizeof(want), "sipha-agent: conf.xml: <peer key-file>: %s: No such file or directory\n",
             f->cfg.peer_key_file);
    assert_string_equal(f->out, want);
}

static void key_world_readable(void **state)
{
    struct fx *f = *state;
    assert_int_equal(chmod(f->cfg.peer_key_file, 0644), 0);
    assert_int_equal(check(f), 1);
    assert_non_null(strstr(f->out, "<peer key-file>: "));
    assert_non_null(strstr(f->out, f->cfg.peer_key_file));
    assert_non_null(strstr(f->out, ": mode 0644, must not be readable by group or others (chmod 600)\n"));
    assert_null(strstr(f->out, "key file /")); /* the path is named once */
}

static void key_too_short(void **state)
{
    struct fx *f = *state;
    write_file(f->cfg.peer_key_file, "short\n", 0600);
    assert_int_equal(check(f), 1);
    assert_non_null(strstr(f->out, "5 bytes of key"));
}

static void key_of_another_user(void **state)
{
    struct fx *f = *state;
    if (geteuid() != 0) {
        skip(); /* only root can give the file away */
        return;
    }
    assert_int_equal(chown(f->cfg.peer_key_file, 65534, 65534), 0);
    assert_int_equal(check(f), 1);
    assert_non_null(strstr(f->out, "owned by "));
    assert_non_null(strstr(f->out, "must belong to root or to the user running the agent (root)"));
    /* and world-readable too: two lines, one per problem */
    assert_int_equal(chmod(f->cfg.peer_key_file, 0604), 0);
    assert_int_equal(check(f), 2);
    assert_int_equal(lines(f->out), 2);
}

static void key_unreadable(void **state)
{
    struct fx *f = *state;
    if (geteuid() == 0) {
        skip(); /* root reads any file */
        return;
    }
    assert_int_equal(chmod(f->cfg.peer_key_file, 0000), 0);
    assert_int_equal(check(f), 1);
    assert_non_null(strstr(f->out, "Permission denied"));
}

static void scripts(void **state)
{
    struct fx *f = *state;
    assert_int_equal(chmod(f->vip.up_script, 0644), 0);
    unlink(f->vip.down_script);
    assert_int_equal(mkdir(f->vip.down_script, 0755), 0);
    assert_int_equal(check(f), 2);
    assert_int_equal(lines(f->out), 2);
    assert_non_null(strstr(f->out, "<vip 192.0.2.100 up-script>: "));
    assert_non_null(strstr(f->out, ": not executable by this user (mode 0644)\n"));
    assert_non_null(strstr(f->out, "<vip 192.0.2.100 down-script>: "));
    assert_non_null(strstr(f->out, ": not a regular file\n"));
    rmdir(f->vip.down_script);
    assert_int_equal(check(f), 2);
    assert_non_null(strstr(f->out, "down-script>: "));
    assert_non_null(strstr(f->out, "No such file or directory"));
}

static void state_dir(void **state)
{
    struct fx *f = *state;
    write_file(f->cfg.state_dir, "", 0600); /* a file where the directory should be */
    assert_int_equal(check(f), 1);
    assert_non_null(strstr(f->out, "<state dir>: "));
    assert_non_null(strstr(f->out, ": not a directory\n"));
    /* below that file: no such directory can exist */
    assert_true(strlen(f->cfg.state_dir) + 8 < sizeof(f->cfg.state_dir));
    strcat(f->cfg.state_dir, "/sub/dir");
    assert_int_equal(check(f), 1);
    assert_non_null(strstr(f->out, "/sub/dir: Not a directory\n"));
    if (geteuid() != 0) { /* root may create anywhere */
        char closed[128];
        path_in(f, closed, sizeof(closed), "closed");
        assert_int_equal(mkdir(closed, 0500), 0);
        path_in(f, f->cfg.state_dir, sizeof(f->cfg.state_dir), "closed/state");
        assert_int_equal(check(f), 1);
        assert_non_null(strstr(f->out, "does not exist, and this user cannot create it in "));
    }
    /* missing in a writable directory: the agent creates it */
    path_in(f, f->cfg.state_dir, sizeof(f->cfg.state_dir), "new/state");
    assert_int_equal(check(f), 0);
}

static void agentx_socket(void **state)
{
    struct fx *f = *state;
    /* a real listening socket: fine */
    int s = socket(AF_UNIX, SOCK_STREAM, 0);
    assert_true(s >= 0);
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    assert_true(strlen(f->cfg.agentx_socket) < sizeof(sa.sun_path));
    memcpy(sa.sun_path, f->cfg.agentx_socket, strlen(f->cfg.agentx_socket) + 1);
    assert_int_equal(bind(s, (struct sockaddr *)&sa, sizeof(sa)), 0);
    assert_int_equal(check(f), 0);
    close(s);
    unlink(f->cfg.agentx_socket);
    /* a regular file in its place */
    write_file(f->cfg.agentx_socket, "", 0600);
    assert_int_equal(check(f), 1);
    assert_non_null(strstr(f->out, "<agentx socket>: "));
    assert_non_null(strstr(f->out, ": not a socket\n"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(all_good, setup, teardown),
        cmocka_unit_test_setup_teardown(key_missing, setup, teardown),
        cmocka_unit_test_setup_teardown(key_world_readable, setup, teardown),
        cmocka_unit_test_setup_teardown(key_too_short, setup, teardown),
        cmocka_unit_test_setup_teardown(key_of_another_user, setup, teardown),
        cmocka_unit_test_setup_teardown(key_unreadable, setup, teardown),
        cmocka_unit_test_setup_teardown(scripts, setup, teardown),
        cmocka_unit_test_setup_teardown(state_dir, setup, teardown),
        cmocka_unit_test_setup_teardown(agentx_socket, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
