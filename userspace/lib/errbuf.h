/* One-line error messages into a caller's buffer, for functions that
 * report "why" next to a -1. */
#ifndef NEK_ERRBUF_H
#define NEK_ERRBUF_H

#include <stddef.h>

/* Formats into err (if err and errlen are set); returns -1. */
int errbuf_set(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif
