/* Logging to stderr; see log.h. */
#include "lib/core/log.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const char *log_name = "nek";
static enum log_level log_level = LOG_WARN;
static int log_stamp;

static const char *const level_names[] = {
	[LOG_ERROR] = "error",
	[LOG_WARN] = "warning",
	[LOG_INFO] = "info",
	[LOG_DEBUG] = "debug",
	[LOG_TRACE] = "trace",
};

void log_init(const char *prog)
{
	const char *slash = prog ? strrchr(prog, '/') : NULL;

	if (prog)
		log_name = slash ? slash + 1 : prog;
}

const char *log_prog(void)
{
	return log_name;
}

void log_set_level(enum log_level level)
{
	if ((int)level < LOG_ERROR)
		level = LOG_ERROR;
	if (level > LOG_TRACE)
		level = LOG_TRACE;
	log_level = level;
}

enum log_level log_get_level(void)
{
	return log_level;
}

void log_set_timestamps(int on)
{
	log_stamp = on;
}

int log_enabled(enum log_level level)
{
	return level <= log_level;
}

void log_vmsg(enum log_level level, const char *fmt, va_list ap)
{
	char line[2048];
	size_t n = 0;
	int saved = errno;
	int r;

	if (!log_enabled(level))
		return;
	if (log_stamp) {
		struct timespec ts;
		struct tm tm;

		clock_gettime(CLOCK_REALTIME, &ts);
		gmtime_r(&ts.tv_sec, &tm);
		n += strftime(line, sizeof(line), "%Y-%m-%dT%H:%M:%S", &tm);
		r = snprintf(line + n, sizeof(line) - n, ".%03ldZ ", ts.tv_nsec / 1000000);
		n += r > 0 ? (size_t)r : 0;
	}
	r = snprintf(line + n, sizeof(line) - n, "%s: %s: ", log_name, level_names[level]);
	if (r > 0 && (size_t)r < sizeof(line) - n)
		n += (size_t)r;
	r = vsnprintf(line + n, sizeof(line) - n, fmt, ap);
	if (r > 0)
		n += (size_t)r < sizeof(line) - n ? (size_t)r : sizeof(line) - n - 1;
	if (n >= sizeof(line) - 1)
		n = sizeof(line) - 2;
	line[n++] = '\n';
	/* One write per line, so lines from several processes do not interleave. */
	if (write(STDERR_FILENO, line, n) < 0) {
		/* Nowhere left to report it. */
	}
	errno = saved;
}

void log_msg(enum log_level level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vmsg(level, fmt, ap);
	va_end(ap);
}
