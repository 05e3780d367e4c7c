/* persist.h — what SNMP SETs change survives a restart: the option flags of an
 * instance and its event log (alarms cleared by operators included), kept in
 * <state_dir>/instance-<index>.state. Writes are atomic: a crash leaves the old file
 * or the new one, never a mix. */
#ifndef SIPHA_PERSIST_H
#define SIPHA_PERSIST_H

#include <stddef.h>

#include "instance.h"

#define PERSIST_VERSION 1

/* Writes the state of `in` (its index, option flags and epoch now, event log). Creates state_dir
 * (mode 0700) if missing; the file is mode 0600. Returns 0, or -1 with err set. */
int persist_save(const char *state_dir, const struct sipha_instance *in, char *err,
                 size_t errlen);

/* Writes `text` as <state_dir>/<name> the same atomic way (mode 0600). For small
 * state of other modules (the HA link's session number). 0, or -1 with err set. */
int persist_write_text(const char *state_dir, const char *name, const char *text, char *err,
                       size_t errlen);

/* Reads the state saved for in->index into `in` (boot options and epoch, event log). Returns 1
 * loaded, 0 no file (in unchanged), -1 unreadable or malformed: `in` unchanged and
 * err says "file:line: what is wrong". Also removes temporary files a crash during
 * persist_save may have left. */
int persist_load(const char *state_dir, struct sipha_instance *in, char *err, size_t errlen);

#endif
