/* errbuf.h — the "char *err, size_t errlen" convention of sipha's functions that can
 * fail: one formatter for all of them. */
#ifndef SIPHA_ERRBUF_H
#define SIPHA_ERRBUF_H

#include <stddef.h>

/* Formats into err (when err is non-NULL and errlen > 0, truncating); returns -1 so
 * that `return errbuf_set(err, errlen, "...")` reports a failure in one line. */
int errbuf_set(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
