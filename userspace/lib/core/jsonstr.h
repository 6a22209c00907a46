/* JSON string literals for output we write by hand (status lines, reports,
 * metadata): the one escaper. Not jansson's: its strings must be valid
 * UTF-8 and a path or name from a file system or a peer need not be, so
 * here an invalid byte becomes U+FFFD instead of failing the whole output.
 * Escapes exactly what serde_json does ('"', '\\', control characters; \b \f
 * \n \r \t by name, the others as \u00xx in lower-case hex), so eif's
 * metadata stays byte-compatible with upstream's. */
#ifndef NEK_JSONSTR_H
#define NEK_JSONSTR_H

#include <stddef.h>
#include <stdio.h>

/* Writes s (len bytes) to f as a quoted JSON string. */
void json_str_write(FILE *f, const char *s, size_t len);

/* The same for a NUL-terminated s (NULL writes null). */
void json_str_put(FILE *f, const char *s);

/* The quoted JSON string of s as a new NUL-terminated buffer (free() it),
 * or NULL when memory runs out. */
char *json_str_dup(const char *s);

#endif
