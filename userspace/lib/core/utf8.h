/* UTF-8 validation for text that must go out as JSON strings (paths,
 * names) where invalid bytes are replaced rather than passed through. */
#ifndef NEK_UTF8_H
#define NEK_UTF8_H

#include <stdbool.h>
#include <stddef.h>

/* Length of the valid UTF-8 sequence at s (at most n bytes, n >= 1): 1-4,
 * or 0 when it is not one (bad lead or continuation byte, overlong form,
 * surrogate, beyond U+10FFFF, cut short). */
size_t utf8_seq_len(const unsigned char *s, size_t n);

/* Whether the NUL-terminated s is valid UTF-8 throughout (NULL is: nothing
 * to refuse). */
bool utf8_valid(const char *s);

#endif
