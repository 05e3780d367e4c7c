/* halink_cred.h — the SNMPv3 user the HA link speaks as, read from the file named
 * by <peer credentials=>.
 *
 * File format: one setting per line, "KEY VALUE" (the value is the rest of the line
 * after the blanks that follow KEY, trailing blanks removed, so a password may hold
 * inner spaces and '#'). Blank lines and lines whose first non-blank character is
 * '#' are ignored. Every key is required exactly once:
 *
 *     user           NAME                 1..32 printable characters, no blanks
 *     auth-protocol  SHA | SHA-224 | SHA-256 | SHA-384 | SHA-512   (SHA = SHA-1)
 *     auth-password  8..255 characters
 *     priv-protocol  AES | AES-128 | AES-192 | AES-256             (AES = AES-128;
 *                    192/256 are Net-SNMP's "AES-192"/"AES-256", draft-blumenthal)
 *     priv-password  8..255 characters
 *
 * The file must be a regular file of at most 4096 bytes that neither group nor
 * others may read or write (mode & 077 == 0); anything else is refused with a
 * message naming the file (and the line). The passwords never outlive the load:
 * only the keys derived from them (Ku, RFC 3414 A.2) are kept, and the text is wiped
 * with explicit_bzero. */
#ifndef SIPHA_HALINK_CRED_H
#define SIPHA_HALINK_CRED_H

#include <stddef.h>

#include <net-snmp/net-snmp-config.h>
#include <net-snmp/net-snmp-includes.h>

#define HALINK_CRED_USER_MAX 32   /* SnmpAdminString for USM user names (RFC 3414) */
#define HALINK_CRED_PASS_MIN 8    /* RFC 3414 11.2: shorter passwords are refused */
#define HALINK_CRED_PASS_MAX 255
#define HALINK_CRED_FILE_MAX 4096
#define HALINK_CRED_PROTO_MAX 10  /* sub-ids of the longest protocol OID */

struct halink_cred {
    char user[HALINK_CRED_USER_MAX + 1];
    oid auth_proto[HALINK_CRED_PROTO_MAX];
    size_t auth_proto_len;
    oid priv_proto[HALINK_CRED_PROTO_MAX];
    size_t priv_proto_len;
    u_char auth_ku[USM_AUTH_KU_LEN];
    size_t auth_ku_len;
    u_char priv_ku[USM_PRIV_KU_LEN];
    size_t priv_ku_len;
};

/* Reads and checks `path`, derives the keys into *out. Returns 0, or -1 with a
 * message in err (then *out is zeroed). */
int halink_cred_load(const char *path, struct halink_cred *out, char *err, size_t errlen);

/* The same for text already in memory (`len` bytes, NUL bytes refused); `name`
 * only labels error messages. The text is not modified: the caller wipes it. */
int halink_cred_parse(const char *text, size_t len, const char *name, struct halink_cred *out,
                      char *err, size_t errlen);

/* Wipes the keys. */
void halink_cred_wipe(struct halink_cred *c);

#endif
