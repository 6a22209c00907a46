/* Filling a caller's error buffer: every parser here reports failures as one
 * line of text in (err, errlen), and returns -1. */
#ifndef NEK_ERRFMT_H
#define NEK_ERRFMT_H

#include <stddef.h>

/* Formats into err (when err != NULL and errlen > 0) and returns -1. */
int errfmt(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif
