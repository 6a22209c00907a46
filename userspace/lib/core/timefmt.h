/* Points in time on the command line and in messages: Unix seconds or
 * RFC 3339 in, RFC 3339 UTC out. */
#ifndef NEK_TIMEFMT_H
#define NEK_TIMEFMT_H

#include <stddef.h>
#include <stdint.h>

#define TIME_STR_MAX 32

/* "1723012800", "2024-08-07T06:40:00Z", "2024-08-07T08:40:00.5+02:00" (the
 * fraction is dropped). Returns 0, or -1 with a one-line reason in err. */
int time_parse(const char *s, int64_t *out, char *err, size_t errlen);
/* "2024-08-07T06:40:00Z" into out (TIME_STR_MAX bytes). */
void time_format(int64_t t, char *out);
/* Milliseconds since the epoch (an attestation timestamp) as
 * "2024-08-07T06:40:00.123Z" into out (TIME_STR_MAX bytes). */
void time_format_ms(uint64_t ms, char *out);

#endif
