/* test_config.c — the configuration loader: valid files and their defaults, every
 * invalid case of tests/data/config/bad-*.xml (each names the error it must give on
 * its second line), size limits, file:// URLs, http:// from a loopback server both
 * blocking (config_load) and on the loop (cfetch). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <curl/curl.h>
#include <libxml/parser.h>

#include "config.h"
#include "config_fetch.h"
#include "loop.h"

#define BIG_BYTES (2u * 1024u * 1024u)

/* ---------- helpers ---------- */

static const char *src_dir(void)
{
    const char *s = getenv("SIPHA_SRC");
    return s && *s ? s : ".";
}

static void src_path(char *buf, size_t len, const char *rel)
{
    snprintf(buf, len, "%s/%s", src_dir(), rel);
}

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    assert_int_equal(fseek(f, 0, SEEK_END), 0);
    long n = ftell(f);
    assert_true(n >= 0);
    rewind(f);
    char *buf = malloc((size_t)n + 1);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
    buf[n] = '\0';
    fclose(f);
    if (len)
        *len = (size_t)n;
    return buf;
}

static int load_src(struct sipha_config *cfg, const char *rel, char *err, size_t errlen)
{
    char path[1024];
    src_path(path, sizeof path, rel);
    return config_load(cfg, path, NULL, err, errlen);
}

static void assert_contains(const char *haystack, const char *needle)
{
    if (!strstr(haystack, needle))
        fail_msg("expected \"%s\" in \"%s\"", needle, haystack);
}

static void make_tmpdir(char *dir, size_t len)
{
    snprintf(dir, len, "/tmp/sipha-test-config-XXXXXX");
    assert_non_null(mkdtemp(dir));
}

static void write_file(const char *path, const char *text, size_t len)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(text, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
}

/* A deep copy of a config, to show a failed load changed nothing. */
struct snapshot {
    struct sipha_config top;
    void *nics, *vips, *dns, *contacts;
};

static void *dup_mem(const void *p, size_t n)
{
    if (!p || n == 0)
        return NULL;
    void *d = malloc(n);
    assert_non_null(d);
    memcpy(d, p, n);
    return d;
}

static void snap_take(struct snapshot *s, const struct sipha_config *c)
{
    s->top = *c;
    s->nics = dup_mem(c->nics, c->n_nics * sizeof(*c->nics));
    s->vips = dup_mem(c->vips, c->n_vips * sizeof(*c->vips));
    s->dns = dup_mem(c->dns, c->n_dns * sizeof(*c->dns));
    s->contacts = dup_mem(c->contacts, c->n_contacts * sizeof(*c->contacts));
}

static void snap_check(const struct snapshot *s, const struct sipha_config *c)
{
    assert_memory_equal(&s->top, c, sizeof(*c));
    if (c->n_nics)
        assert_memory_equal(s->nics, c->nics, c->n_nics * sizeof(*c->nics));
    if (c->n_vips)
        assert_memory_equal(s->vips, c->vips, c->n_vips * sizeof(*c->vips));
    if (c->n_dns)
        assert_memory_equal(s->dns, c->dns, c->n_dns * sizeof(*c->dns));
    if (c->n_contacts)
        assert_memory_equal(s->contacts, c->contacts, c->n_contacts * sizeof(*c->contacts));
}

static void snap_free(struct snapshot *s)
{
    free(s->nics);
    free(s->vips);
    free(s->dns);
    free(s->contacts);
}

static void assert_addr(const struct sipha_addr *a, const char *text)
{
    struct sipha_addr want;
    memset(&want, 0, sizeof want);
    assert_int_equal(sipha_addr_parse(&want, text), 0);
    assert_int_equal(a->family, want.family);
    assert_memory_equal(a->bytes, want.bytes, a->family == 4 ? 4 : 16);
}

/* ---------- valid files ---------- */

static void test_example_loads(void **state)
{
    (void)state;
    struct sipha_config c = { 0 };
    char err[CONFIG_ERR_MAX] = "";
    int rc = load_src(&c, "agent/sipha.example.xml", err, sizeof err);
    if (rc != 0)
        fail_msg("example refused: %s", err);
    assert_int_equal(c.index, 1);
    assert_string_equal(c.name, "sip-a");
    assert_int_equal(c.priority, 100);
    assert_int_equal(c.initial_role, HA_ROLE_PRIMARY);
    assert_string_equal(c.agentx_socket, "/var/agentx/master");
    assert_int_equal(c.agentx_ping_interval, 1);
    assert_int_equal(c.agentx_timeout_ms, 1000);
    assert_string_equal(c.state_dir, "/var/lib/sipha");
    assert_int_equal(c.eventlog_limit, 500);
    assert_int_equal(c.notif_queue_limit, 1000);
    assert_int_equal(c.options, HA_OPT_SIP_PASS_CHECK | HA_OPT_CONTROL_VIP_SCRIPTS |
                                    HA_OPT_IPTAKEOVER_MONITORING | HA_OPT_TLIB_NIC_MONITORING |
                                    HA_OPT_SIP_NIC_MONITORING);
    assert_addr(&c.sip_nic_address, "192.0.2.10");
    assert_addr(&c.sip_addr, "192.0.2.10");
    assert_int_equal(c.sip_port, 5060);
    assert_int_equal(c.script_timeout_ms, 5000);

    assert_int_equal(c.n_nics, 2);
    assert_int_equal(c.nics[0].purpose, HA_NIC_MANAGEMENT);
    assert_string_equal(c.nics[0].name, "eth0");
    assert_addr(&c.nics[0].addr, "198.51.100.10");
    assert_int_equal(c.nics[1].purpose, HA_NIC_SIP);
    assert_string_equal(c.nics[1].name, "eth1");

    assert_int_equal(c.n_vips, 1);
    assert_addr(&c.vips[0].addr, "192.0.2.100");
    assert_int_equal(c.vips[0].prefix_len, 24);
    assert_string_equal(c.vips[0].interface, "eth1");
    assert_string_equal(c.vips[0].up_script, "/usr/local/libexec/sipha/vip-up");
    assert_string_equal(c.vips[0].down_script, "/usr/local/libexec/sipha/vip-down");

    assert_int_equal(c.n_dns, 2);
    assert_string_equal(c.dns[1].name, "gw2");
    assert_string_equal(c.dns[1].uri, "sip:gw2@192.0.2.51:5060");
    assert_int_equal(c.dns[1].oos_check, 10);
    assert_int_equal(c.dns[1].oos_force, 10);

    assert_int_equal(c.n_contacts, 1);
    assert_string_equal(c.contacts[0].aor, "sip:1001@example.com");
    assert_int_equal(c.contacts[0].expires, 3600);

    assert_true(c.has_peer);
    assert_string_equal(c.peer_name, "sip-b");
    assert_int_equal(c.peer_index, 2);
    assert_string_equal(c.peer_address, "192.0.2.11:7400");
    assert_string_equal(c.peer_bind, "192.0.2.10:7400");
    assert_string_equal(c.peer_key_file, "/etc/sipha/halink.key");
    assert_int_equal(c.peer_interval_ms, 15);
    assert_int_equal(c.peer_backup_interval_ms, 500);
    assert_int_equal(c.peer_miss_count, 3);
    assert_int_equal(c.peer_settle_ms, 1500);
    assert_int_equal(c.announce_count, 5);
    assert_int_equal(c.announce_interval_ms, 200);
    assert_int_equal(c.vip_lifetime_s, 3);

    assert_true(c.has_arbiter);
    assert_string_equal(c.arbiter_url, "http://198.51.100.1:8080/sipha/health");
    assert_int_equal(c.arbiter_interval_ms, 1000);
    assert_int_equal(c.arbiter_timeout_ms, 1000);
    config_free(&c);
    assert_null(c.nics);
    assert_int_equal(c.n_dns, 0);
}

static void test_minimal_defaults(void **state)
{
    (void)state;
    struct sipha_config c = { 0 };
    char err[CONFIG_ERR_MAX] = "";
    if (load_src(&c, "tests/data/config/valid-minimal.xml", err, sizeof err) != 0)
        fail_msg("minimal refused: %s", err);
    assert_int_equal(c.index, 7);
    assert_string_equal(c.name, "minimal");
    assert_int_equal(c.priority, 100);
    assert_int_equal(c.initial_role, HA_ROLE_BACKUP);
    assert_string_equal(c.agentx_socket, "");
    assert_int_equal(c.agentx_ping_interval, 1);
    assert_int_equal(c.agentx_timeout_ms, 1000);
    assert_string_equal(c.state_dir, CONFIG_DEFAULT_STATE_DIR);
    assert_int_equal(c.eventlog_limit, 500);
    assert_int_equal(c.alarm_autoclear, 0);
    assert_int_equal(c.notif_queue_limit, 1000);
    assert_int_equal(c.options, 0);
    assert_int_equal(c.sip_nic_address.family, 0);
    assert_addr(&c.sip_addr, "127.0.0.1");
    assert_int_equal(c.sip_port, 5060);
    assert_int_equal(c.script_timeout_ms, 5000);
    assert_false(c.has_peer);
    assert_int_equal(c.peer_interval_ms, 15);
    assert_int_equal(c.peer_miss_count, 3);
    assert_int_equal(c.peer_settle_ms, 1500);
    assert_int_equal(c.announce_count, 5);
    assert_int_equal(c.announce_interval_ms, 200);
    assert_int_equal(c.vip_lifetime_s, 3);
    assert_false(c.has_arbiter);
    assert_int_equal(c.arbiter_kind, ARBITER_HTTP);
    assert_int_equal(c.arbiter_interval_ms, 1000);
    assert_int_equal(c.arbiter_timeout_ms, 1000);
    assert_int_equal(c.n_nics + c.n_vips + c.n_dns + c.n_contacts, 0);
    assert_null(c.nics);
    config_free(&c);
}

/* A pair node's file with `arbiter` as its <arbiter> element. */
static int parse_pair(struct sipha_config *c, unsigned index, unsigned peer,
                      const char *arbiter, char *err, size_t errlen)
{
    char doc[2048];
    snprintf(doc, sizeof doc,
             "<?xml version=\"1.0\"?>\n<sipha>\n"
             "  <instance index=\"%u\" name=\"node-%u\"/>\n"
             "  <sip address=\"127.0.0.1\"/>\n"
             "  <peer index=\"%u\" address=\"127.0.0.1:7402\" bind=\"127.0.0.1:7401\" "
             "key-file=\"/etc/sipha/halink.key\"/>\n"
             "  %s\n</sipha>\n", index, index, peer, arbiter);
    return config_parse_buffer(c, doc, strlen(doc), "pair.xml", NULL, err, errlen);
}

/* kind="etcd": its defaults, the endpoints split, and the same key on both nodes. */
static void test_etcd_arbiter(void **state)
{
    (void)state;
    struct sipha_config c = { 0 };
    char err[CONFIG_ERR_MAX] = "";
    const char *etcd = "<arbiter kind=\"etcd\" endpoints=\" http://10.0.0.1:2379 ,"
                       "https://[2001:db8::2]:2379/,http://10.0.0.3:2379\"/>";
    if (parse_pair(&c, 4, 9, etcd, err, sizeof err) != 0)
        fail_msg("etcd arbiter refused: %s", err);
    assert_true(c.has_arbiter);
    assert_int_equal(c.arbiter_kind, ARBITER_ETCD);
    assert_int_equal(c.n_etcd_endpoints, 3);
    assert_string_equal(c.etcd_endpoints[0], "http://10.0.0.1:2379");
    assert_string_equal(c.etcd_endpoints[1], "https://[2001:db8::2]:2379/");
    assert_string_equal(c.etcd_endpoints[2], "http://10.0.0.3:2379");
    assert_string_equal(c.etcd_key, "/sipha/pair-4-9/primary");
    assert_int_equal(c.etcd_ttl_s, 3);
    assert_int_equal(c.etcd_read_ms, 200);
    assert_int_equal(c.arbiter_timeout_ms, 500);
    assert_string_equal(c.etcd_ca, "");
    assert_string_equal(c.etcd_cert, "");
    assert_int_equal(c.etcd_contacts, 1); /* the pair's contacts kept in etcd too */
    /* the peer's file derives the same key */
    assert_int_equal(parse_pair(&c, 9, 4, etcd, err, sizeof err), 0);
    assert_string_equal(c.etcd_key, "/sipha/pair-4-9/primary");
    /* every attribute given */
    const char *full = "<arbiter kind=\"etcd\" endpoints=\"https://etcd1:2379\" "
                       "key=\"/site-x/sip/primary\" ttl-s=\"10\" read-ms=\"500\" "
                       "timeout-ms=\"2000\" ca=\"/etc/sipha/ca.pem\" "
                       "cert=\"/etc/sipha/etcd.crt\" key-file=\"/etc/sipha/etcd.key\" "
                       "contacts=\"false\"/>";
    if (parse_pair(&c, 1, 2, full, err, sizeof err) != 0)
        fail_msg("full etcd arbiter refused: %s", err);
    assert_int_equal(c.n_etcd_endpoints, 1);
    assert_string_equal(c.etcd_key, "/site-x/sip/primary");
    assert_int_equal(c.etcd_ttl_s, 10);
    assert_int_equal(c.etcd_read_ms, 500);
    assert_int_equal(c.arbiter_timeout_ms, 2000);
    assert_string_equal(c.etcd_ca, "/etc/sipha/ca.pem");
    assert_string_equal(c.etcd_cert, "/etc/sipha/etcd.crt");
    assert_string_equal(c.etcd_key_file, "/etc/sipha/etcd.key");
    assert_int_equal(c.etcd_contacts, 0);
    /* kind="http" spelled out is today's arbiter */
    assert_int_equal(parse_pair(&c, 1, 2, "<arbiter kind=\"http\" url=\"http://10.0.0.9/\"/>",
                                err, sizeof err), 0);
    assert_int_equal(c.arbiter_kind, ARBITER_HTTP);
    assert_int_equal(c.arbiter_timeout_ms, 1000);
    assert_int_equal(c.n_etcd_endpoints, 0);
    config_free(&c);
}

static void test_row_defaults(void **state)
{
    (void)state;
    struct sipha_config c = { 0 };
    char err[CONFIG_ERR_MAX] = "";
    if (load_src(&c, "tests/data/config/valid-rows.xml", err, sizeof err) != 0)
        fail_msg("rows refused: %s", err);
    assert_int_equal(c.index, 255);
    assert_string_equal(c.name, "rows test");
    assert_int_equal(c.priority, 0);
    assert_addr(&c.sip_addr, "2001:db8::5");
    assert_int_equal(c.sip_port, 5070);
    assert_int_equal(c.options, HA_OPT_SIP_NIC_MONITORING);
    /* the lone SIP NIC took sip-nic-address */
    assert_int_equal(c.n_nics, 1);
    assert_string_equal(c.nics[0].name, "eth1");
    assert_addr(&c.nics[0].addr, "2001:db8::5");
    assert_int_equal(c.n_vips, 2);
    assert_int_equal(c.vips[0].prefix_len, 128);
    assert_int_equal(c.vips[1].prefix_len, 32);
    assert_string_equal(c.vips[1].interface, "eth1");
    assert_string_equal(c.vips[0].up_script, "");
    assert_int_equal(c.n_contacts, 2);
    assert_int_equal(c.contacts[0].expires, 3600);
    assert_string_equal(c.contacts[0].uri, "sips:1001@[2001:db8::77]:5061");
    assert_int_equal(c.contacts[1].expires, 0);
    assert_int_equal(c.n_dns, 1);
    assert_int_equal(c.dns[0].oos_check, 0);
    assert_int_equal(c.dns[0].oos_force, 0);
    config_free(&c);
}

static void test_sip_nic_address_adds_nic(void **state)
{
    (void)state;
    struct sipha_config c = { 0 };
    char err[CONFIG_ERR_MAX] = "";
    if (load_src(&c, "tests/data/config/valid-sip-nic-address.xml", err, sizeof err) != 0)
        fail_msg("refused: %s", err);
    assert_int_equal(c.n_nics, 2);
    assert_int_equal(c.nics[0].purpose, HA_NIC_MANAGEMENT);
    assert_int_equal(c.nics[1].purpose, HA_NIC_SIP);
    assert_string_equal(c.nics[1].name, "");
    assert_addr(&c.nics[1].addr, "192.0.2.11");
    config_free(&c);
}

static void test_reload_replaces(void **state)
{
    (void)state;
    struct sipha_config c = { 0 };
    char err[CONFIG_ERR_MAX] = "";
    assert_int_equal(load_src(&c, "agent/sipha.example.xml", err, sizeof err), 0);
    assert_int_equal(load_src(&c, "tests/data/config/valid-minimal.xml", err, sizeof err), 0);
    assert_int_equal(c.index, 7);
    assert_int_equal(c.n_dns, 0);
    assert_null(c.dns);
    config_free(&c);
}

/* ---------- invalid files ---------- */

/* The expected error, from the file's "<!-- expect: ... -->" line. */
static void expected_error(const char *text, char *out, size_t len)
{
    const char *p = strstr(text, "<!-- expect: ");
    assert_non_null(p);
    p += strlen("<!-- expect: ");
    const char *end = strstr(p, " -->");
    assert_non_null(end);
    snprintf(out, len, "%.*s", (int)(end - p), p);
}

static int one_bad_file(struct sipha_config *c, const char *dir, const char *name)
{
    char path[1300], want[1024], err[CONFIG_ERR_MAX] = "";
    snprintf(path, sizeof path, "%s/%s", dir, name);
    char *text = slurp(path, NULL);
    expected_error(text, want, sizeof want);
    free(text);

    struct snapshot before;
    snap_take(&before, c);
    int rc = config_load(c, path, NULL, err, sizeof err);
    print_message("  %-34s -> %s\n", name, err);
    if (rc != -1)
        fail_msg("%s was accepted", name);
    char prefix[2400];
    snprintf(prefix, sizeof prefix, "%s:%s", path, want);
    if (strncmp(err, prefix, strlen(prefix)))
        fail_msg("%s: got \"%s\", want \"%s...\"", name, err, prefix);
    snap_check(&before, c);
    snap_free(&before);
    return 1;
}

static void test_invalid_files(void **state)
{
    (void)state;
    struct sipha_config c = { 0 };
    char dir[1024], err[CONFIG_ERR_MAX];
    assert_int_equal(load_src(&c, "agent/sipha.example.xml", err, sizeof err), 0);
    src_path(dir, sizeof dir, "tests/data/config");
    DIR *d = opendir(dir);
    assert_non_null(d);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        if (!strncmp(e->d_name, "bad-", 4))
            n += one_bad_file(&c, dir, e->d_name);
    closedir(d);
    assert_true(n >= 40);
    assert_int_equal(c.index, 1); /* still the example */
    config_free(&c);
}

static void test_buffer_errors(void **state)
{
    (void)state;
    struct sipha_config c = { 0 }, zero = { 0 };
    char err[CONFIG_ERR_MAX];
    assert_int_equal(config_parse_buffer(&c, "", 0, "mem", NULL, err, sizeof err), -1);
    assert_contains(err, "mem:");
    assert_contains(err, "malformed XML");
    const char *junk = "\x01\x02 not xml at all";
    assert_int_equal(config_parse_buffer(&c, junk, strlen(junk), "junk", NULL, err, sizeof err),
                     -1);
    assert_contains(err, "junk:1: malformed XML");
    const char *nul = "<sipha>\0</sipha>";
    assert_int_equal(config_parse_buffer(&c, nul, 16, "nul", NULL, err, sizeof err), -1);
    assert_memory_equal(&c, &zero, sizeof c);
    /* error text is cut to the buffer, never overflows */
    char tiny[8];
    assert_int_equal(config_parse_buffer(&c, "<x/>", 4, "some-long-origin", NULL, tiny,
                                         sizeof tiny), -1);
    assert_int_equal(strlen(tiny), sizeof tiny - 1);
}

/* A file that RelaxNG refuses and the C pass accepts reports the schema's message. */
static void test_schema_error_format(void **state)
{
    (void)state;
    char dir[64], rng[128], err[CONFIG_ERR_MAX];
    make_tmpdir(dir, sizeof dir);
    snprintf(rng, sizeof rng, "%s/strict.rng", dir);
    const char *schema =
        "<element name=\"sipha\" xmlns=\"http://relaxng.org/ns/structure/1.0\">\n"
        "  <element name=\"instance\"><attribute name=\"index\"><value>9</value></attribute>\n"
        "    <attribute name=\"name\"/></element>\n"
        "  <element name=\"sip\"><attribute name=\"address\"/></element>\n"
        "</element>\n";
    write_file(rng, schema, strlen(schema));
    const char *doc = "<?xml version=\"1.0\"?>\n<sipha>\n"
                      "  <instance index=\"1\" name=\"a\"/>\n"
                      "  <sip address=\"127.0.0.1\"/>\n</sipha>\n";
    struct sipha_config c = { 0 };
    assert_int_equal(config_parse_buffer(&c, doc, strlen(doc), "strict.xml", rng, err,
                                         sizeof err), -1);
    print_message("  %s\n", err);
    assert_contains(err, "strict.xml:3: element <instance>: ");

    char missing[160];
    snprintf(missing, sizeof missing, "%s/none.rng", dir);
    assert_int_equal(config_parse_buffer(&c, doc, strlen(doc), "x.xml", missing, err,
                                         sizeof err), -1);
    assert_contains(err, "none.rng: cannot read the configuration schema");

    write_file(rng, "<grammar", 8);
    assert_int_equal(config_parse_buffer(&c, doc, strlen(doc), "x.xml", rng, err,
                                         sizeof err), -1);
    assert_contains(err, "invalid configuration schema");
    assert_null(c.nics);
    unlink(rng);
    rmdir(dir);
}

static void test_too_big(void **state)
{
    (void)state;
    char dir[64], path[128], err[CONFIG_ERR_MAX];
    make_tmpdir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/big.xml", dir);
    /* a valid document padded with a comment to 2 MiB */
    char *big = malloc(BIG_BYTES);
    assert_non_null(big);
    const char *head = "<sipha><instance index=\"1\" name=\"a\"/><sip address=\"127.0.0.1\"/><!--";
    const char *tail = "--></sipha>";
    memset(big, 'x', BIG_BYTES);
    memcpy(big, head, strlen(head));
    memcpy(big + BIG_BYTES - strlen(tail), tail, strlen(tail));
    write_file(path, big, BIG_BYTES);

    struct sipha_config c = { 0 };
    assert_int_equal(config_load(&c, path, NULL, err, sizeof err), -1);
    assert_contains(err, path);
    assert_contains(err, "larger than 1048576 bytes");
    assert_int_equal(config_parse_buffer(&c, big, BIG_BYTES, "mem", NULL, err, sizeof err), -1);
    assert_contains(err, "mem: document larger than");
    /* the same document under the limit is fine */
    size_t small = 4096;
    memcpy(big + small - strlen(tail), tail, strlen(tail));
    assert_int_equal(config_parse_buffer(&c, big, small, "mem", NULL, err, sizeof err), 0);
    config_free(&c);
    free(big);
    unlink(path);
    rmdir(dir);
}

static void test_file_url(void **state)
{
    (void)state;
    char real[PATH_MAX], rel[1024], url[PATH_MAX + 32], err[CONFIG_ERR_MAX];
    struct sipha_config c = { 0 };
    src_path(rel, sizeof rel, "tests/data/config/valid-minimal.xml");
    assert_non_null(realpath(rel, real));

    snprintf(url, sizeof url, "file://%s", real);
    if (config_load(&c, url, NULL, err, sizeof err) != 0)
        fail_msg("%s", err);
    assert_int_equal(c.index, 7);
    config_free(&c);

    snprintf(url, sizeof url, "FILE://localhost%s", real);
    assert_int_equal(config_load(&c, url, NULL, err, sizeof err), 0);
    config_free(&c);

    /* percent-escapes: a copy whose name has a space */
    char dir[64], spaced[128];
    make_tmpdir(dir, sizeof dir);
    snprintf(spaced, sizeof spaced, "%s/my config.xml", dir);
    size_t len;
    char *text = slurp(real, &len);
    write_file(spaced, text, len);
    free(text);
    snprintf(url, sizeof url, "file://%s/my%%20config.xml", dir);
    assert_int_equal(config_load(&c, url, NULL, err, sizeof err), 0);
    config_free(&c);
    /* hex digits in either case: "%63%6F" is "co" */
    snprintf(url, sizeof url, "file://%s/my%%20%%63%%6Fnfig.xml", dir);
    if (config_load(&c, url, NULL, err, sizeof err) != 0)
        fail_msg("%s", err);
    config_free(&c);

    snprintf(url, sizeof url, "file://%s/absent.xml", dir);
    assert_int_equal(config_load(&c, url, NULL, err, sizeof err), -1);
    assert_contains(err, "absent.xml: cannot open: No such file");
    assert_int_equal(config_load(&c, "file://otherhost/etc/x.xml", NULL, err, sizeof err), -1);
    assert_contains(err, "absolute path on this host");
    /* bad escapes: truncated, not hex, a NUL byte, a "0x" prefix, a space */
    static const char *const bad_escapes[] = {
        "file:///a%2", "file:///a%", "file:///a%g1", "file:///a%1g", "file:///a%00",
        "file:///a%0x41", "file:///a% 1", "file:///a%%41",
    };
    for (size_t i = 0; i < sizeof bad_escapes / sizeof bad_escapes[0]; i++) {
        if (config_load(&c, bad_escapes[i], NULL, err, sizeof err) != -1)
            fail_msg("accepted %s", bad_escapes[i]);
        assert_contains(err, "bad percent-escape");
    }
    assert_int_equal(config_load(&c, "ftp://example.com/x.xml", NULL, err, sizeof err), -1);
    assert_contains(err, "unsupported URL scheme");
    assert_int_equal(config_load(&c, dir, NULL, err, sizeof err), -1);
    assert_contains(err, "not a regular file");
    assert_int_equal(config_load(&c, "", NULL, err, sizeof err), -1);
    assert_null(c.nics);
    unlink(spaced);
    rmdir(dir);
}

static void test_options_problem(void **state)
{
    (void)state;
    struct sipha_config c = { 0 };
    char err[CONFIG_ERR_MAX];
    assert_int_equal(load_src(&c, "tests/data/config/valid-minimal.xml", err, sizeof err), 0);
    assert_null(config_options_problem(&c, 0));
    assert_non_null(config_options_problem(&c, HA_OPT_SIP_PASS_CHECK));
    assert_non_null(config_options_problem(&c, HA_OPT_CONTROL_VIP_SCRIPTS));
    assert_non_null(config_options_problem(&c, HA_OPT_IPTAKEOVER_MONITORING));
    assert_non_null(config_options_problem(&c, HA_OPT_TLIB_NIC_MONITORING));
    assert_non_null(config_options_problem(&c, HA_OPT_SIP_NIC_MONITORING));
    config_free(&c);
    assert_int_equal(load_src(&c, "agent/sipha.example.xml", err, sizeof err), 0);
    assert_null(config_options_problem(&c, c.options));
    config_free(&c);
}

static void test_default_schema(void **state)
{
    (void)state;
    const char *saved = getenv("SIPHA_SCHEMA");
    char *copy = saved ? strdup(saved) : NULL;
    setenv("SIPHA_SCHEMA", "/some/where.rng", 1);
    assert_string_equal(config_default_schema(), "/some/where.rng");
    unsetenv("SIPHA_SCHEMA");
    const char *p = config_default_schema();
    size_t n = strlen(p);
    assert_true(n > 16);
    assert_string_equal(p + n - 16, "sipha-config.rng");
    if (copy)
        setenv("SIPHA_SCHEMA", copy, 1);
    free(copy);
}

/* ---------- a loopback HTTP server ---------- */

struct server {
    pid_t pid;
    int port;
    int silent_fd;   /* listens, never accepts: requests to it hang */
    int silent_port;
    char base[64];
};

static int listen_loopback(int *port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(fd >= 0);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = 0 };
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(listen(fd, 16), 0);
    socklen_t sl = sizeof a;
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &sl), 0);
    *port = ntohs(a.sin_port);
    return fd;
}

static void send_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w <= 0)
            return; /* the client gave up (size limit): fine */
        p += w;
        n -= (size_t)w;
    }
}

/* Content-Length is sent unless `sized` is false: then the body ends at close. */
static void respond(int c, const char *status, const char *extra, const char *body, size_t len,
                    bool sized)
{
    char head[512], clen[64] = "";
    if (sized)
        snprintf(clen, sizeof clen, "Content-Length: %zu\r\n", len);
    int n = snprintf(head, sizeof head, "HTTP/1.1 %s\r\n%s%sConnection: close\r\n\r\n",
                     status, extra, clen);
    send_all(c, head, (size_t)n);
    send_all(c, body, len);
}

static void serve_one(int c, const char *ok_body, const char *big)
{
    char req[4096] = "";
    size_t got = 0;
    while (got < sizeof req - 1 && !strstr(req, "\r\n\r\n")) {
        ssize_t n = recv(c, req + got, sizeof req - 1 - got, 0);
        if (n <= 0)
            return;
        got += (size_t)n;
        req[got] = '\0';
    }
    char path[256] = "";
    if (sscanf(req, "GET %255s", path) != 1)
        return;
    const char *bad = "<?xml version=\"1.0\"?>\n<sipha>\n  <instance index=\"1\" name=\"a\"/>\n"
                      "  <sip address=\"127.0.0.1\" port=\"99999\"/>\n</sipha>\n";
    if (!strcmp(path, "/ok.xml"))
        respond(c, "200 OK", "", ok_body, strlen(ok_body), true);
    else if (!strcmp(path, "/invalid.xml"))
        respond(c, "200 OK", "", bad, strlen(bad), true);
    else if (!strcmp(path, "/redirect"))
        respond(c, "302 Found", "Location: /ok.xml\r\n", "", 0, true);
    else if (!strcmp(path, "/big.xml"))
        respond(c, "200 OK", "", big, BIG_BYTES, true);
    else if (!strcmp(path, "/big-unsized.xml"))
        respond(c, "200 OK", "", big, BIG_BYTES, false);
    else if (!strcmp(path, "/error"))
        respond(c, "500 Internal Server Error", "", "oops", 4, true);
    else
        respond(c, "404 Not Found", "", "not here", 8, true);
}

static void serve_forever(int lfd, const char *ok_body)
{
    char *big = malloc(BIG_BYTES + 1);
    if (!big)
        _exit(1);
    memset(big, 'x', BIG_BYTES);
    big[BIG_BYTES] = '\0';
    alarm(120); /* never outlive a stuck test run */
    for (;;) {
        int c = accept(lfd, NULL, NULL);
        if (c < 0)
            continue;
        serve_one(c, ok_body, big);
        shutdown(c, SHUT_WR);
        close(c);
    }
}

static int server_setup(void **state)
{
    struct server *s = calloc(1, sizeof(*s));
    assert_non_null(s);
    char path[1024];
    src_path(path, sizeof path, "tests/data/config/valid-minimal.xml");
    char *ok = slurp(path, NULL);
    int lfd = listen_loopback(&s->port);
    s->silent_fd = listen_loopback(&s->silent_port);
    fflush(NULL);
    s->pid = fork();
    assert_true(s->pid >= 0);
    if (s->pid == 0) {
        signal(SIGPIPE, SIG_IGN);
        serve_forever(lfd, ok);
    }
    free(ok);
    close(lfd);
    snprintf(s->base, sizeof s->base, "http://127.0.0.1:%d", s->port);
    *state = s;
    return 0;
}

static int server_teardown(void **state)
{
    struct server *s = *state;
    kill(s->pid, SIGKILL);
    waitpid(s->pid, NULL, 0);
    close(s->silent_fd);
    free(s);
    return 0;
}

static void url_of(const struct server *s, const char *path, char *buf, size_t len)
{
    snprintf(buf, len, "%s%s", s->base, path);
}

/* ---------- blocking http ---------- */

static void test_http_sync(void **state)
{
    struct server *s = *state;
    struct sipha_config c = { 0 };
    char url[128], err[CONFIG_ERR_MAX], want[256];

    url_of(s, "/ok.xml", url, sizeof url);
    if (config_load(&c, url, NULL, err, sizeof err) != 0)
        fail_msg("%s", err);
    assert_int_equal(c.index, 7);

    url_of(s, "/redirect", url, sizeof url);
    assert_int_equal(config_load(&c, url, NULL, err, sizeof err), 0);

    struct snapshot before;
    snap_take(&before, &c);
    url_of(s, "/missing.xml", url, sizeof url);
    assert_int_equal(config_load(&c, url, NULL, err, sizeof err), -1);
    snprintf(want, sizeof want, "%s: HTTP status 404", url);
    assert_contains(err, want);

    url_of(s, "/error", url, sizeof url);
    assert_int_equal(config_load(&c, url, NULL, err, sizeof err), -1);
    assert_contains(err, "HTTP status 500");

    url_of(s, "/invalid.xml", url, sizeof url);
    assert_int_equal(config_load(&c, url, NULL, err, sizeof err), -1);
    snprintf(want, sizeof want, "%s:4: element <sip>: attribute port: 99999", url);
    assert_contains(err, want);

    url_of(s, "/big.xml", url, sizeof url);
    assert_int_equal(config_load(&c, url, NULL, err, sizeof err), -1);
    assert_contains(err, "larger than 1048576 bytes");
    url_of(s, "/big-unsized.xml", url, sizeof url);
    assert_int_equal(config_load(&c, url, NULL, err, sizeof err), -1);
    assert_contains(err, "larger than 1048576 bytes");

    char dead[64];
    snprintf(dead, sizeof dead, "http://127.0.0.1:%d/x.xml", s->silent_port);
    uint64_t t0 = loop_now_ms();
    char *buf = NULL;
    size_t len = 0;
    assert_int_equal(cfetch_get(dead, 300, &buf, &len, err, sizeof err), -1);
    assert_null(buf);
    assert_true(loop_now_ms() - t0 < 5000);
    assert_non_null(strcasestr(err, "timed out"));

    snap_check(&before, &c);
    snap_free(&before);
    config_free(&c);
}

/* ---------- on the loop ---------- */

struct fetch_result {
    struct loop *lp;
    int calls;
    int ok;
    char *buf;
    size_t len;
    char err[CFETCH_ERR_MAX];
    bool guard_fired;
};

static void on_done(void *arg, int ok, const char *buf, size_t len, const char *err)
{
    struct fetch_result *r = arg;
    r->calls++;
    r->ok = ok;
    if (ok) {
        assert_non_null(buf);
        assert_int_equal(buf[len], '\0');
        r->buf = dup_mem(buf, len + 1);
        r->len = len;
        assert_null(err);
    } else {
        assert_null(buf);
        assert_non_null(err);
        snprintf(r->err, sizeof r->err, "%s", err);
    }
    loop_stop(r->lp);
}

static void on_guard(void *arg)
{
    struct fetch_result *r = arg;
    r->guard_fired = true;
    loop_stop(r->lp);
}

static void run_fetch(const char *location, uint32_t timeout_ms, struct fetch_result *r)
{
    memset(r, 0, sizeof(*r));
    r->lp = loop_new();
    assert_non_null(r->lp);
    struct cfetch *f = NULL;
    assert_int_equal(cfetch_start(&f, r->lp, location, timeout_ms, on_done, r), 0);
    assert_non_null(f);
    assert_int_equal(r->calls, 0); /* never from inside cfetch_start */
    uint64_t g = loop_timer_add(r->lp, 15000, on_guard, r);
    loop_run(r->lp);
    loop_timer_cancel(r->lp, g);
    loop_free(r->lp);
    assert_false(r->guard_fired);
    assert_int_equal(r->calls, 1);
}

static void test_async_http(void **state)
{
    struct server *s = *state;
    struct fetch_result r;
    char url[128], err[CONFIG_ERR_MAX];

    url_of(s, "/ok.xml", url, sizeof url);
    run_fetch(url, 5000, &r);
    if (!r.ok)
        fail_msg("%s", r.err);
    struct sipha_config c = { 0 };
    assert_int_equal(config_parse_buffer(&c, r.buf, r.len, url, NULL, err, sizeof err), 0);
    assert_int_equal(c.index, 7);
    config_free(&c);
    free(r.buf);

    url_of(s, "/missing.xml", url, sizeof url);
    run_fetch(url, 5000, &r);
    assert_false(r.ok);
    assert_contains(r.err, "HTTP status 404");
    assert_contains(r.err, url);

    url_of(s, "/big-unsized.xml", url, sizeof url);
    run_fetch(url, 5000, &r);
    assert_false(r.ok);
    assert_contains(r.err, "larger than 1048576 bytes");

    url_of(s, "/redirect", url, sizeof url);
    run_fetch(url, 5000, &r);
    assert_true(r.ok);
    free(r.buf);

    char dead[64];
    snprintf(dead, sizeof dead, "http://127.0.0.1:%d/x.xml", s->silent_port);
    run_fetch(dead, 300, &r);
    assert_false(r.ok);
    assert_non_null(strcasestr(r.err, "timed out"));
}

static void test_async_local(void **state)
{
    (void)state;
    struct fetch_result r;
    char path[1024];
    src_path(path, sizeof path, "tests/data/config/valid-minimal.xml");
    size_t len;
    char *want = slurp(path, &len);
    run_fetch(path, 0, &r);
    assert_true(r.ok);
    assert_int_equal(r.len, len);
    assert_memory_equal(r.buf, want, len);
    free(r.buf);
    free(want);

    run_fetch("/nonexistent/sipha.xml", 0, &r);
    assert_false(r.ok);
    assert_contains(r.err, "/nonexistent/sipha.xml: cannot open");
    run_fetch("gopher://x/", 0, &r);
    assert_false(r.ok);
    assert_contains(r.err, "unsupported URL scheme");
}

struct cancel_ctx {
    struct loop *lp;
    struct cfetch *f;
    int stage;
};

static void cancel_step(void *arg)
{
    struct cancel_ctx *k = arg;
    if (k->stage++ == 0) {
        cfetch_cancel(k->f); /* mid-transfer: connected, waiting for an answer */
        k->f = NULL;
        loop_timer_add(k->lp, 200, cancel_step, k); /* let the loop run on after it */
    } else {
        loop_stop(k->lp);
    }
}

static void test_async_cancel(void **state)
{
    struct server *s = *state;
    struct fetch_result r;
    memset(&r, 0, sizeof r);
    char dead[64];
    snprintf(dead, sizeof dead, "http://127.0.0.1:%d/x.xml", s->silent_port);
    struct cancel_ctx k = { .lp = loop_new() };
    assert_non_null(k.lp);
    r.lp = k.lp;
    assert_int_equal(cfetch_start(&k.f, k.lp, dead, 10000, on_done, &r), 0);
    loop_timer_add(k.lp, 200, cancel_step, &k);
    uint64_t g = loop_timer_add(k.lp, 15000, on_guard, &r);
    loop_run(k.lp);
    loop_timer_cancel(k.lp, g);
    assert_int_equal(k.stage, 2);
    assert_int_equal(r.calls, 0);
    assert_false(r.guard_fired);

    /* a local fetch cancelled before its result is delivered */
    struct cfetch *f = NULL;
    assert_int_equal(cfetch_start(&f, k.lp, "/etc/hostname", 0, on_done, &r), 0);
    cfetch_cancel(f);
    cfetch_cancel(NULL);
    k.stage = 1;
    loop_timer_add(k.lp, 50, cancel_step, &k);
    loop_run(k.lp);
    assert_int_equal(r.calls, 0);
    loop_free(k.lp);
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest local[] = {
        cmocka_unit_test(test_example_loads),
        cmocka_unit_test(test_minimal_defaults),
        cmocka_unit_test(test_row_defaults),
        cmocka_unit_test(test_etcd_arbiter),
        cmocka_unit_test(test_sip_nic_address_adds_nic),
        cmocka_unit_test(test_reload_replaces),
        cmocka_unit_test(test_invalid_files),
        cmocka_unit_test(test_buffer_errors),
        cmocka_unit_test(test_schema_error_format),
        cmocka_unit_test(test_too_big),
        cmocka_unit_test(test_file_url),
        cmocka_unit_test(test_options_problem),
        cmocka_unit_test(test_default_schema),
        cmocka_unit_test(test_async_local),
    };
    const struct CMUnitTest http[] = {
        cmocka_unit_test(test_http_sync),
        cmocka_unit_test(test_async_http),
        cmocka_unit_test(test_async_cancel),
    };
    int failed = cmocka_run_group_tests_name("config", local, NULL, NULL);
    failed += cmocka_run_group_tests_name("config_http", http, server_setup, server_teardown);
    xmlCleanupParser();
    curl_global_cleanup();
    return failed ? 1 : 0;
}
