/* Logging to stderr with levels; see docs/conventions.md.
 *
 * Programs are quiet by default: warnings and errors only. Each -v raises the
 * level by one, -q lowers it to errors only. Messages look like
 *   slc: error: connect unix:/run/x.sock: No such file or directory
 * so they read like the rest of the system's tools.
 */
#ifndef NEK_LOG_H
#define NEK_LOG_H

#include <stdarg.h>

enum log_level {
	LOG_ERROR = 0,
	LOG_WARN,
	LOG_INFO,
	LOG_DEBUG,
	LOG_TRACE,
};

/* Name printed before every message (normally the program name). */
void log_init(const char *prog);
const char *log_prog(void);
void log_set_level(enum log_level level);
enum log_level log_get_level(void);
/* Prefix every line with a UTC RFC 3339 timestamp (daemons). */
void log_set_timestamps(int on);
int log_enabled(enum log_level level);

void log_msg(enum log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void log_vmsg(enum log_level level, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));

#define log_error(...) log_msg(LOG_ERROR, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_WARN, __VA_ARGS__)
#define log_info(...)                                                          \
	do {                                                                   \
		if (log_enabled(LOG_INFO))                                     \
			log_msg(LOG_INFO, __VA_ARGS__);                        \
	} while (0)
#define log_debug(...)                                                         \
	do {                                                                   \
		if (log_enabled(LOG_DEBUG))                                    \
			log_msg(LOG_DEBUG, __VA_ARGS__);                       \
	} while (0)
#define log_trace(...)                                                         \
	do {                                                                   \
		if (log_enabled(LOG_TRACE))                                    \
			log_msg(LOG_TRACE, __VA_ARGS__);                       \
	} while (0)

#endif
