/* test_halink_cred.c — the HA link credentials file: format, file checks, key
 * derivation (against RFC 3414 A.3.2 and independently computed digests). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "halink_cred.h"

#include <net-snmp/library/transform_oids.h>

#define GOOD "user siphaAdmin\n" \
             "auth-protocol SHA-256\n" \
             "auth-password sipha-admin-auth\n" \
             "priv-protocol AES\n" \
             "priv-password sipha-admin-priv\n"

static char dir[64];

static int setup_dir(void **state)
{
    (void)state;
    snprintf(dir, sizeof(dir), "/tmp/test_halink_cred.XXXXXX");
    return mkdtemp(dir) ? 0 : -1;
}

static int remove_dir(void **state)
{
    char cmd[128];
    (void)state;
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

static const char *write_file(const char *name, const char *text, size_t len, mode_t mode)
{
    static char path[128];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    unlink(path);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, len), (ssize_t)len);
    close(fd);
    assert_int_equal(chmod(path, mode), 0);
    return path;
}

static int parse(const char *text, struct halink_cred *c, char *err, size_t errlen)
{
    return halink_cred_parse(text, strlen(text), "t.cred", c, err, errlen);
}

/* parse must fail and the message must contain `want`. */
static void refused(const char *text, const char *want)
{
    struct halink_cred c;
    char err[512] = "";
    memset(&c, 0x5a, sizeof(c));
    if (parse(text, &c, err, sizeof(err)) != -1)
        fail_msg("accepted: %s", text);
    if (!strstr(err, want))
        fail_msg("error '%s' does not say '%s'", err, want);
    /* nothing left behind */
    static const struct halink_cred zero;
    assert_memory_equal(&c, &zero, sizeof(c));
}

static void hex(const char *s, uint8_t *out, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned v;
        assert_int_equal(sscanf(s + 2 * i, "%2x", &v), 1);
        out[i] = (uint8_t)v;
    }
}

static void test_good_file(void **state)
{
    (void)state;
    struct halink_cred c;
    char err[256];
    assert_int_equal(parse(GOOD, &c, err, sizeof(err)), 0);
    assert_string_equal(c.user, "siphaAdmin");
    assert_int_equal(c.auth_proto_len, OID_LENGTH(usmHMAC192SHA256AuthProtocol));
    assert_memory_equal(c.auth_proto, usmHMAC192SHA256AuthProtocol,
                        sizeof(usmHMAC192SHA256AuthProtocol));
    assert_int_equal(c.priv_proto_len, OID_LENGTH(usmAESPrivProtocol));
    assert_memory_equal(c.priv_proto, usmAESPrivProtocol, sizeof(usmAESPrivProtocol));
    assert_int_equal(c.auth_ku_len, 32); /* SHA-256 digest */
    assert_int_equal(c.priv_ku_len, 32);
    assert_memory_not_equal(c.auth_ku, c.priv_ku, 32);
    halink_cred_wipe(&c);
    static const struct halink_cred zero;
    assert_memory_equal(&c, &zero, sizeof(c));
}

/* RFC 3414 A.3.2: Ku of "maplesyrup" with SHA-1; SHA-256 and SHA-512 computed
 * independently (Python hashlib over the 1 MiB expansion). */
static void test_known_keys(void **state)
{
    (void)state;
    struct {
        const char *proto, *ku;
        size_t len;
    } cases[] = {
        { "SHA", "9fb5cc0381497b3793528939ff788d5d79145211", 20 },
        { "SHA-256", "ab51014d1e077f6017df2b12bee5f5aa72993177e9bb569c4dff5a4ca0b4afac", 32 },
        { "SHA-512", "7e4396de5aadc77be853819b98c9406265b3a9c37cc3176569847a4e4f6fba63"
                     "dd3a73d04924d31a63f95a601f9385af6be4ed1b37f87d040f7c6ed6f8d38a91", 64 },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char text[256], err[256];
        uint8_t want[64];
        struct halink_cred c;
        snprintf(text, sizeof(text), "user u\nauth-protocol %s\nauth-password maplesyrup\n"
                 "priv-protocol AES\npriv-password maplesyrup\n", cases[i].proto);
        assert_int_equal(parse(text, &c, err, sizeof(err)), 0);
        hex(cases[i].ku, want, cases[i].len);
        assert_int_equal(c.auth_ku_len, cases[i].len);
        assert_memory_equal(c.auth_ku, want, cases[i].len);
        assert_memory_equal(c.priv_ku, want, cases[i].len);
    }
}

static void test_protocols(void **state)
{
    (void)state;
    const char *auth[] = { "SHA", "SHA-224", "SHA-256", "SHA-384", "SHA-512", "sha-256" };
    const char *priv[] = { "AES", "AES-128", "AES-192", "AES-256", "aes" };
    for (size_t i = 0; i < sizeof(auth) / sizeof(auth[0]); i++) {
        for (size_t j = 0; j < sizeof(priv) / sizeof(priv[0]); j++) {
            char text[256], err[256];
            struct halink_cred c;
            snprintf(text, sizeof(text), "user u\nauth-protocol %s\nauth-password 12345678\n"
                     "priv-protocol %s\npriv-password 12345678\n", auth[i], priv[j]);
            if (parse(text, &c, err, sizeof(err)) != 0)
                fail_msg("%s/%s refused: %s", auth[i], priv[j], err);
        }
    }
    refused("user u\nauth-protocol MD5\nauth-password 12345678\npriv-protocol AES\n"
            "priv-password 12345678\n", "auth-protocol 'MD5' is not supported");
    refused("user u\nauth-protocol SHA256\nauth-password 12345678\npriv-protocol AES\n"
            "priv-password 12345678\n", "auth-protocol 'SHA256' is not supported");
    refused("user u\nauth-protocol SHA\nauth-password 12345678\npriv-protocol DES\n"
            "priv-password 12345678\n", "priv-protocol 'DES' is not supported");
    refused("user u\nauth-protocol SHA\nauth-password 12345678\npriv-protocol AES-256C\n"
            "priv-password 12345678\n", "priv-protocol is not supported");
    refused("user u\nauth-protocol SHA\nauth-password 12345678\npriv-protocol none\n"
            "priv-password 12345678\n", "priv-protocol 'none'");
}

static void test_comments_and_blanks(void **state)
{
    (void)state;
    struct halink_cred a, b;
    char err[256];
    const char *text = "# HA link user\r\n"
                       "\n"
                       "   # indented comment\n"
                       "\t user   siphaAdmin  \r\n"
                       "auth-protocol\tSHA-256\n"
                       "auth-password sipha-admin-auth   \n"
                       "\n"
                       "priv-protocol AES\n"
                       "priv-password sipha-admin-priv"; /* no final newline */
    assert_int_equal(parse(text, &a, err, sizeof(err)), 0);
    assert_int_equal(parse(GOOD, &b, err, sizeof(err)), 0);
    assert_memory_equal(&a, &b, sizeof(a));

    /* A password keeps inner blanks and '#' ("pass" alone would be too short, so it
     * was not cut off as a comment); only the edges are trimmed. */
    struct halink_cred c, d, e;
    assert_int_equal(parse("user u\nauth-protocol SHA\nauth-password pass #1 word\n"
                           "priv-protocol AES\npriv-password 12345678\n", &c, err, sizeof(err)), 0);
    assert_int_equal(parse("user u\nauth-protocol SHA\nauth-password pass #1 word \t\r\n"
                           "priv-protocol AES\npriv-password 12345678\n", &d, err, sizeof(err)), 0);
    assert_memory_equal(c.auth_ku, d.auth_ku, c.auth_ku_len);
    assert_int_equal(parse("user u\nauth-protocol SHA\nauth-password pass#1word\n"
                           "priv-protocol AES\npriv-password 12345678\n", &e, err, sizeof(err)), 0);
    assert_memory_not_equal(c.auth_ku, e.auth_ku, c.auth_ku_len);
}

static void test_missing_and_duplicates(void **state)
{
    (void)state;
    const char *keys[] = { "user", "auth-protocol", "auth-password", "priv-protocol",
                           "priv-password" };
    for (size_t k = 0; k < 5; k++) {
        /* GOOD without line k */
        char text[512] = "", want[64];
        const char *p = GOOD;
        for (size_t line = 0; *p; line++) {
            const char *nl = strchr(p, '\n');
            if (line != k)
                strncat(text, p, (size_t)(nl - p + 1));
            p = nl + 1;
        }
        snprintf(want, sizeof(want), "%s is missing", keys[k]);
        refused(text, want);
    }
    refused("", "user is missing");
    refused("# only a comment\n", "user is missing");
    refused(GOOD "user other\n", "t.cred:6: user given twice (first on line 1)");
    refused(GOOD "priv-password again-and-again\n", "priv-password given twice");
    refused("user\n", "t.cred:1: user has no value");
    refused("auth-password   \n", "auth-password has no value");
}

static void test_unknown_settings(void **state)
{
    (void)state;
    refused(GOOD "auth-pasword xyz\n", "t.cred:6: unknown setting 'auth-pasword'");
    /* not echoed: it does not look like a key */
    refused("User siphaAdmin\n", "t.cred:1: unknown setting (expected user, auth-protocol");
}

static void test_unknown_setting_not_echoed(void **state)
{
    (void)state;
    struct halink_cred c;
    char err[512];
    /* A bare password on a line of its own must not reach a log. */
    assert_int_equal(parse(GOOD "S3cret-Passw0rd\n", &c, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "t.cred:6: unknown setting"));
    assert_null(strstr(err, "S3cret"));
    /* Nor a password written where a protocol goes. */
    assert_int_equal(parse("user u\nauth-protocol sipha-admin-auth\nauth-password 12345678\n"
                           "priv-protocol AES\npriv-password 12345678\n", &c, err, sizeof(err)), -1);
    assert_null(strstr(err, "sipha-admin-auth"));
}

static void test_user_rules(void **state)
{
    (void)state;
    char text[512];
    struct halink_cred c;
    char err[256];
    char name[40];
    memset(name, 'u', 32);
    name[32] = '\0';
    snprintf(text, sizeof(text), "user %s\nauth-protocol SHA\nauth-password 12345678\n"
             "priv-protocol AES\npriv-password 12345678\n", name);
    assert_int_equal(parse(text, &c, err, sizeof(err)), 0);
    assert_string_equal(c.user, name);
    strcat(name, "u"); /* 33 */
    snprintf(text, sizeof(text), "user %s\nauth-protocol SHA\nauth-password 12345678\n"
             "priv-protocol AES\npriv-password 12345678\n", name);
    refused(text, "user is longer than 32 characters");
    refused("user a b\nauth-protocol SHA\nauth-password 12345678\npriv-protocol AES\n"
            "priv-password 12345678\n", "printable characters without blanks");
    refused("user caf\xc3\xa9\nauth-protocol SHA\nauth-password 12345678\npriv-protocol AES\n"
            "priv-password 12345678\n", "printable characters");
}

static void test_password_lengths(void **state)
{
    (void)state;
    char text[1024], pass[300];
    struct halink_cred c;
    char err[256];
    refused("user u\nauth-protocol SHA\nauth-password 1234567\npriv-protocol AES\n"
            "priv-password 12345678\n", "t.cred:3: auth-password is shorter than 8 characters");
    refused("user u\nauth-protocol SHA\nauth-password 12345678\npriv-protocol AES\n"
            "priv-password 1234567\n", "t.cred:5: priv-password is shorter than 8");
    assert_int_equal(parse("user u\nauth-protocol SHA\nauth-password 12345678\n"
                           "priv-protocol AES\npriv-password 12345678\n", &c, err, sizeof(err)), 0);
    memset(pass, 'p', 255);
    pass[255] = '\0';
    snprintf(text, sizeof(text), "user u\nauth-protocol SHA\nauth-password %s\n"
             "priv-protocol AES\npriv-password 12345678\n", pass);
    assert_int_equal(parse(text, &c, err, sizeof(err)), 0);
    strcat(pass, "p");
    snprintf(text, sizeof(text), "user u\nauth-protocol SHA\nauth-password 12345678\n"
             "priv-protocol AES\npriv-password %s\n", pass);
    refused(text, "priv-password is longer than 255");
}

static void test_nul_byte(void **state)
{
    (void)state;
    struct halink_cred c;
    char err[256];
    static const char text[] = "user u\nauth-protocol SHA\nauth-password 1234\0 5678\n"
                               "priv-protocol AES\npriv-password 12345678\n";
    assert_int_equal(halink_cred_parse(text, sizeof(text) - 1, "t.cred", &c, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "NUL"));
}

static void test_file_modes(void **state)
{
    (void)state;
    struct halink_cred c;
    char err[512];
    assert_int_equal(halink_cred_load(write_file("ok", GOOD, strlen(GOOD), 0600), &c, err,
                                      sizeof(err)), 0);
    assert_string_equal(c.user, "siphaAdmin");
    assert_int_equal(halink_cred_load(write_file("ro", GOOD, strlen(GOOD), 0400), &c, err,
                                      sizeof(err)), 0);
    const mode_t bad[] = { 0644, 0640, 0604, 0660, 0606, 0610, 0601, 0700 | 0020, 0666 };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char want[32];
        memset(&c, 0x5a, sizeof(c));
        assert_int_equal(halink_cred_load(write_file("bad", GOOD, strlen(GOOD), bad[i]), &c, err,
                                          sizeof(err)), -1);
        snprintf(want, sizeof(want), "mode %04o", (unsigned)bad[i]);
        if (!strstr(err, want) || !strstr(err, "group or others"))
            fail_msg("mode %04o: '%s'", (unsigned)bad[i], err);
        assert_int_equal(c.user[0], 0);
    }
}

static void test_not_regular(void **state)
{
    (void)state;
    struct halink_cred c;
    char err[512], path[128];
    assert_int_equal(halink_cred_load(dir, &c, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "not a regular file"));
    /* A FIFO with no writer must not block the agent. */
    snprintf(path, sizeof(path), "%s/fifo", dir);
    assert_int_equal(mkfifo(path, 0600), 0);
    assert_int_equal(halink_cred_load(path, &c, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "not a regular file"));
    snprintf(path, sizeof(path), "%s/absent", dir);
    assert_int_equal(halink_cred_load(path, &c, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "cannot open"));
    assert_non_null(strstr(err, path));
    /* A symlink to a private file is followed: the file's own mode counts. */
    char link[160];
    snprintf(link, sizeof(link), "%s/link", dir);
    const char *target = write_file("target", GOOD, strlen(GOOD), 0600);
    assert_int_equal(symlink(target, link), 0);
    assert_int_equal(halink_cred_load(link, &c, err, sizeof(err)), 0);
}

static void test_size_limit(void **state)
{
    (void)state;
    struct halink_cred c;
    char err[512];
    static char big[HALINK_CRED_FILE_MAX + 64];
    /* exactly at the limit: GOOD padded with comment lines */
    size_t n = strlen(GOOD);
    memcpy(big, GOOD, n);
    while (n < HALINK_CRED_FILE_MAX) {
        size_t chunk = HALINK_CRED_FILE_MAX - n < 40 ? HALINK_CRED_FILE_MAX - n : 40;
        memset(big + n, '#', chunk - 1);
        big[n + chunk - 1] = '\n';
        n += chunk;
    }
    assert_int_equal(halink_cred_load(write_file("max", big, n, 0600), &c, err, sizeof(err)), 0);
    big[n] = '\n';
    assert_int_equal(halink_cred_load(write_file("big", big, n + 1, 0600), &c, err, sizeof(err)),
                     -1);
    assert_non_null(strstr(err, "larger than 4096 bytes"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_good_file),
        cmocka_unit_test(test_known_keys),
        cmocka_unit_test(test_protocols),
        cmocka_unit_test(test_comments_and_blanks),
        cmocka_unit_test(test_missing_and_duplicates),
        cmocka_unit_test(test_unknown_settings),
        cmocka_unit_test(test_unknown_setting_not_echoed),
        cmocka_unit_test(test_user_rules),
        cmocka_unit_test(test_password_lengths),
        cmocka_unit_test(test_nul_byte),
        cmocka_unit_test(test_file_modes),
        cmocka_unit_test(test_not_regular),
        cmocka_unit_test(test_size_limit),
    };
    return cmocka_run_group_tests(tests, setup_dir, remove_dir);
}
