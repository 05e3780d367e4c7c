/* halink_cred.c — loads the HA link's SNMPv3 credentials (format in halink_cred.h).
 *
 * The file holds secrets, so it is opened without following the usual "just read it"
 * path: O_NONBLOCK (a FIFO must not block the agent at startup), then fstat on the
 * open descriptor (no window between the check and the read), then the mode check.
 * Every buffer that held a password is wiped before it is released. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "errbuf.h"
#include "halink_cred.h" /* Net-SNMP's base headers first: keytools.h needs them */

#include <net-snmp/library/keytools.h>
#include <net-snmp/library/transform_oids.h>

struct proto_name {
    const char *name;
    const oid *proto;
    size_t len;
};

static const struct proto_name auth_protos[] = {
    { "SHA", usmHMACSHA1AuthProtocol, OID_LENGTH(usmHMACSHA1AuthProtocol) },
    { "SHA-224", usmHMAC128SHA224AuthProtocol, OID_LENGTH(usmHMAC128SHA224AuthProtocol) },
    { "SHA-256", usmHMAC192SHA256AuthProtocol, OID_LENGTH(usmHMAC192SHA256AuthProtocol) },
    { "SHA-384", usmHMAC256SHA384AuthProtocol, OID_LENGTH(usmHMAC256SHA384AuthProtocol) },
    { "SHA-512", usmHMAC384SHA512AuthProtocol, OID_LENGTH(usmHMAC384SHA512AuthProtocol) },
};

static const struct proto_name priv_protos[] = {
    { "AES", usmAESPrivProtocol, OID_LENGTH(usmAESPrivProtocol) },
    { "AES-128", usmAESPrivProtocol, OID_LENGTH(usmAESPrivProtocol) },
#ifdef NETSNMP_DRAFT_BLUMENTHAL_AES_04
    { "AES-192", usmAES192PrivProtocol, OID_LENGTH(usmAES192PrivProtocol) },
    { "AES-256", usmAES256PrivProtocol, OID_LENGTH(usmAES256PrivProtocol) },
#endif
};

enum cred_key { K_USER, K_AUTH_PROTO, K_AUTH_PASS, K_PRIV_PROTO, K_PRIV_PASS, K_COUNT };
static const char *const key_names[K_COUNT] = {
    "user", "auth-protocol", "auth-password", "priv-protocol", "priv-password",
};

/* What the parser collected: pointers into the caller's text plus lengths. */
struct cred_fields {
    const char *val[K_COUNT];
    size_t len[K_COUNT];
    unsigned line[K_COUNT];
};

static bool is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\r';
}

static const struct proto_name *find_proto(const struct proto_name *t, size_t n, const char *s,
                                           size_t len)
{
    for (size_t i = 0; i < n; i++)
        if (strlen(t[i].name) == len && strncasecmp(t[i].name, s, len) == 0)
            return &t[i];
    return NULL;
}

/* Splits one line (without its '\n') into key and value and stores the value. */
static int parse_line(const char *s, size_t len, unsigned lineno, const char *name,
                      struct cred_fields *f, char *err, size_t errlen)
{
    while (len > 0 && is_blank(s[len - 1]))
        len--;
    size_t i = 0;
    while (i < len && is_blank(s[i]))
        i++;
    if (i == len || s[i] == '#')
        return 0;
    size_t kstart = i;
    while (i < len && !is_blank(s[i]))
        i++;
    size_t klen = i - kstart;
    while (i < len && is_blank(s[i]))
        i++;
    for (int k = 0; k < K_COUNT; k++) {
        if (strlen(key_names[k]) != klen || memcmp(key_names[k], s + kstart, klen) != 0)
            continue;
        if (f->val[k])
            return errbuf_set(err, errlen, "%s:%u: %s given twice (first on line %u)", name, lineno,
                        key_names[k], f->line[k]);
        if (i == len)
            return errbuf_set(err, errlen, "%s:%u: %s has no value", name, lineno, key_names[k]);
        f->val[k] = s + i;
        f->len[k] = len - i;
        f->line[k] = lineno;
        return 0;
    }
    /* The word is echoed only when it looks like a key: a line holding a bare
     * password must not end up in a log. */
    bool keylike = klen <= 20;
    for (size_t j = 0; keylike && j < klen; j++)
        keylike = (s[kstart + j] >= 'a' && s[kstart + j] <= 'z') || s[kstart + j] == '-';
    return errbuf_set(err, errlen, "%s:%u: unknown setting%s%.*s%s (expected user, auth-protocol, "
                "auth-password, priv-protocol, priv-password)", name, lineno,
                keylike ? " '" : "", keylike ? (int)klen : 0, s + kstart, keylike ? "'" : "");
}

static int split_lines(const char *text, size_t len, const char *name, struct cred_fields *f,
                       char *err, size_t errlen)
{
    if (memchr(text, '\0', len))
        return errbuf_set(err, errlen, "%s: contains a NUL byte", name);
    unsigned lineno = 1;
    size_t start = 0;
    for (size_t i = 0; i <= len; i++) {
        if (i < len && text[i] != '\n')
            continue;
        if (parse_line(text + start, i - start, lineno, name, f, err, errlen) != 0)
            return -1;
        lineno++;
        start = i + 1;
    }
    for (int k = 0; k < K_COUNT; k++)
        if (!f->val[k])
            return errbuf_set(err, errlen, "%s: %s is missing", name, key_names[k]);
    return 0;
}

static int check_user(const struct cred_fields *f, const char *name, char *err, size_t errlen)
{
    if (f->len[K_USER] > HALINK_CRED_USER_MAX)
        return errbuf_set(err, errlen, "%s:%u: user is longer than %d characters", name,
                    f->line[K_USER], HALINK_CRED_USER_MAX);
    for (size_t i = 0; i < f->len[K_USER]; i++) {
        unsigned char c = (unsigned char)f->val[K_USER][i];
        if (c <= ' ' || c >= 0x7f)
            return errbuf_set(err, errlen, "%s:%u: user may hold only printable characters without "
                        "blanks", name, f->line[K_USER]);
    }
    return 0;
}

static int check_password(const struct cred_fields *f, enum cred_key k, const char *name,
                          char *err, size_t errlen)
{
    if (f->len[k] < HALINK_CRED_PASS_MIN)
        return errbuf_set(err, errlen, "%s:%u: %s is shorter than %d characters (RFC 3414)", name,
                    f->line[k], key_names[k], HALINK_CRED_PASS_MIN);
    if (f->len[k] > HALINK_CRED_PASS_MAX)
        return errbuf_set(err, errlen, "%s:%u: %s is longer than %d characters", name, f->line[k],
                    key_names[k], HALINK_CRED_PASS_MAX);
    return 0;
}

static const struct proto_name *lookup_proto(const struct cred_fields *f, enum cred_key k,
                                             const char *name, char *err, size_t errlen)
{
    bool auth = k == K_AUTH_PROTO;
    const struct proto_name *p =
        auth ? find_proto(auth_protos, sizeof(auth_protos) / sizeof(auth_protos[0]), f->val[k],
                          f->len[k])
             : find_proto(priv_protos, sizeof(priv_protos) / sizeof(priv_protos[0]), f->val[k],
                          f->len[k]);
    /* Echoed only when shorter than any valid password (swapped lines happen). */
    int shown = f->len[k] < HALINK_CRED_PASS_MIN ? (int)f->len[k] : 0;
    if (!p)
        errbuf_set(err, errlen, "%s:%u: %s%s%.*s%s is not supported (use %s)", name, f->line[k],
             key_names[k], shown ? " '" : "", shown, f->val[k], shown ? "'" : "",
             auth ? "SHA, SHA-224, SHA-256, SHA-384 or SHA-512"
                  : "AES (= AES-128), AES-128, AES-192 or AES-256");
    return p;
}

/* Ku from a password, hashed with the auth protocol for both keys (as Net-SNMP's
 * tools do); snmp_open localizes and, for AES-192/256, extends them. */
static int derive(const struct proto_name *auth, const char *pass, size_t len, u_char *ku,
                  size_t *ku_len, const char *name, const char *what, char *err, size_t errlen)
{
    *ku_len = USM_AUTH_KU_LEN;
    if (generate_Ku(auth->proto, (u_int)auth->len, (const u_char *)pass, len, ku, ku_len) !=
        SNMPERR_SUCCESS)
        return errbuf_set(err, errlen, "%s: cannot derive the %s key", name, what);
    return 0;
}

static int build(const struct cred_fields *f, const char *name, struct halink_cred *out,
                 char *err, size_t errlen)
{
    if (check_user(f, name, err, errlen) || check_password(f, K_AUTH_PASS, name, err, errlen) ||
        check_password(f, K_PRIV_PASS, name, err, errlen))
        return -1;
    const struct proto_name *auth = lookup_proto(f, K_AUTH_PROTO, name, err, errlen);
    const struct proto_name *priv = auth ? lookup_proto(f, K_PRIV_PROTO, name, err, errlen) : NULL;
    if (!auth || !priv)
        return -1;
    memcpy(out->user, f->val[K_USER], f->len[K_USER]);
    out->user[f->len[K_USER]] = '\0';
    memcpy(out->auth_proto, auth->proto, auth->len * sizeof(oid));
    out->auth_proto_len = auth->len;
    memcpy(out->priv_proto, priv->proto, priv->len * sizeof(oid));
    out->priv_proto_len = priv->len;
    if (derive(auth, f->val[K_AUTH_PASS], f->len[K_AUTH_PASS], out->auth_ku, &out->auth_ku_len,
               name, "authentication", err, errlen) ||
        derive(auth, f->val[K_PRIV_PASS], f->len[K_PRIV_PASS], out->priv_ku, &out->priv_ku_len,
               name, "privacy", err, errlen))
        return -1;
    return 0;
}

int halink_cred_parse(const char *text, size_t len, const char *name, struct halink_cred *out,
                      char *err, size_t errlen)
{
    struct cred_fields f;
    memset(&f, 0, sizeof(f));
    memset(out, 0, sizeof(*out));
    if (!name)
        name = "credentials";
    int rc = split_lines(text, len, name, &f, err, errlen);
    if (rc == 0)
        rc = build(&f, name, out, err, errlen);
    if (rc != 0)
        halink_cred_wipe(out);
    return rc;
}

/* Reads the whole file into buf; refuses what is not a private regular file. */
static int read_private(const char *path, char *buf, size_t cap, size_t *len, char *err,
                        size_t errlen)
{
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
    if (fd < 0)
        return errbuf_set(err, errlen, "%s: cannot open: %s", path, strerror(errno));
    struct stat st;
    int rc = -1;
    if (fstat(fd, &st) != 0)
        errbuf_set(err, errlen, "%s: cannot stat: %s", path, strerror(errno));
    else if (!S_ISREG(st.st_mode))
        errbuf_set(err, errlen, "%s: not a regular file", path);
    else if (st.st_mode & 077)
        errbuf_set(err, errlen, "%s: mode %04o lets group or others at the credentials (chmod 600 it)",
             path, (unsigned)(st.st_mode & 07777));
    else if (st.st_size >= (off_t)cap)
        errbuf_set(err, errlen, "%s: larger than %zu bytes", path, cap - 1);
    else
        rc = 0;
    *len = 0;
    while (rc == 0) {
        ssize_t n = read(fd, buf + *len, cap - *len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            rc = errbuf_set(err, errlen, "%s: cannot read: %s", path, strerror(errno));
        else if (n == 0)
            break;
        else if ((*len += (size_t)n) == cap)
            rc = errbuf_set(err, errlen, "%s: larger than %zu bytes", path, cap - 1);
    }
    close(fd);
    return rc;
}

int halink_cred_load(const char *path, struct halink_cred *out, char *err, size_t errlen)
{
    /* One byte more than the limit, so a file that grew after fstat is still caught. */
    char buf[HALINK_CRED_FILE_MAX + 1];
    size_t len = 0;
    memset(out, 0, sizeof(*out));
    int rc = read_private(path, buf, sizeof(buf), &len, err, errlen);
    if (rc == 0)
        rc = halink_cred_parse(buf, len, path, out, err, errlen);
    explicit_bzero(buf, sizeof(buf));
    return rc;
}

void halink_cred_wipe(struct halink_cred *c)
{
    if (c)
        explicit_bzero(c, sizeof(*c));
}
