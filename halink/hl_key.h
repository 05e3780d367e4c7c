/* hl_key.h — loads the HA link's pre-shared key from a file.
 *
 * The file's whole content is the secret; trailing whitespace (a newline left by an
 * editor or `echo`) is not part of it. It must be a regular file (no symlink, no
 * FIFO or device: opened O_NOFOLLOW|O_NONBLOCK, so nothing can make the agent
 * hang), unreadable by group and others (mode & 077 == 0), at most 4096 bytes,
 * and hold HL_KEY_MIN..HL_KEY_MAX bytes of secret. Generate one with e.g.
 *   umask 077; openssl rand -hex 32 > /etc/sipha/halink.key */
#ifndef SIPHA_HL_KEY_H
#define SIPHA_HL_KEY_H

#include <stddef.h>
#include <stdint.h>

#include "hl_wire.h"

#define HL_KEY_FILE_MAX 4096u

struct hl_key {
    uint8_t bytes[HL_KEY_MAX];
    size_t len;
};

/* Reads `path` into *k. Returns 0, or -1 with a message naming the file in err
 * (*k then holds nothing). Every temporary copy is wiped. */
int hl_key_load(const char *path, struct hl_key *k, char *err, size_t errlen);

/* Wipes the key (explicit_bzero: not optimised away). */
void hl_key_wipe(struct hl_key *k);

#endif
