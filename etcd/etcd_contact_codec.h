/* etcd_contact_codec.h — a registration contact as sipha keeps it in etcd, both ways,
 * with no I/O (etcd_contacts.h stores and reads them).
 *
 * Key:   <prefix>contacts/<aor> <uri>
 *        e.g. /sipha/pair-1-2/contacts/sip:1001@example.com sip:1001@10.0.0.5:5060
 *        The AOR holds no blank (a SIP URI has none), so the first blank splits them.
 * Value: compact JSON, the absolute expiry and what a SIP server needs to reach the UA;
 *        fields at their unset value are left out:
 *        {"expires":1735689600,"q":1000,"flags":1,"cflags":64,"methods":8191,
 *         "path":"<sip:10.0.0.9;lr>","received":"sip:198.51.100.7:5060",
 *         "socket":"udp:10.0.0.1:5060"}
 *        expires is unix seconds; q 0..1000 (1000 is q=1.0). The object is flat (no
 *        nesting is read); unknown fields are ignored, so a later version may add some. */
#ifndef SIPHA_ETCD_CONTACT_CODEC_H
#define SIPHA_ETCD_CONTACT_CODEC_H

#include <stddef.h>
#include <stdint.h>

#include "etcd_wire.h"

#define ETCD_CONTACT_DIR "contacts/" /* under the pair's prefix */

struct etcd_contact {
    const char *aor, *uri;
    int64_t expires;                      /* unix seconds, > 0 */
    int32_t q;                            /* 0..1000, -1 unset */
    uint32_t flags, cflags, methods;
    const char *path, *received, *socket; /* NULL or "": unset */
};

/* The key of (aor, uri) under `dir` (the prefix and ETCD_CONTACT_DIR), into buf.
 * Returns its length, or -1: aor empty or holding a blank or a control character, uri
 * empty or holding a control character, the key longer than ETCD_WIRE_ITEM_KEY_MAX or
 * cap. */
int etcd_contact_key(char *buf, size_t cap, const char *dir, const char *aor, const char *uri);

/* The value of c, into buf. Returns its length, or -1: expires not positive, q outside
 * -1..1000, a string not UTF-8, longer than ETCD_WIRE_ITEM_VALUE_MAX or cap. */
int etcd_contact_value(char *buf, size_t cap, const struct etcd_contact *c);

/* A contact read back, its strings held here. */
struct etcd_contact_rec {
    struct etcd_contact c;
    char key[ETCD_WIRE_ITEM_KEY_MAX + 1];    /* "<aor>\0<uri>" */
    char strs[ETCD_WIRE_ITEM_VALUE_MAX + 3]; /* path, received, socket */
};

/* Reads a key of `dir` and its value (value NULL: the key only; c.expires is then 0).
 * Returns 0, or -1 with a one-line reason: the key is not under dir or has no blank, an
 * empty AOR or URI, the value is not a flat JSON object, expires is missing or not a
 * positive integer, a field has the wrong type or is out of range. */
int etcd_contact_decode(const char *dir, const unsigned char *key, size_t klen,
                        const unsigned char *value, size_t vlen, struct etcd_contact_rec *out,
                        char *err, size_t errlen);

#endif
