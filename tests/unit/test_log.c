/* Logging: format, levels, -v/-q behaviour. */
#include <criterion/criterion.h>
#include <string.h>
#include <unistd.h>

#include "capture.h"
#include "lib/core/log.h"

Test(log, format_and_default_level)
{
	struct capture c;
	char *out;

	log_init("/usr/bin/slc");
	capture_start(&c, STDERR_FILENO);
	log_error("connect %s: %s", "unix:/x", "refused");
	log_warn("w%d", 1);
	log_info("hidden by default");
	log_debug("hidden too");
	out = capture_end(&c);
	cr_assert_str_eq(out, "slc: error: connect unix:/x: refused\nslc: warning: w1\n");
	free(out);
}

Test(log, levels)
{
	struct capture c;
	char *out;

	log_init("t");
	log_set_level(LOG_DEBUG);
	cr_assert(log_enabled(LOG_DEBUG));
	cr_assert(!log_enabled(LOG_TRACE));
	capture_start(&c, STDERR_FILENO);
	log_debug("d");
	log_trace("t");
	log_set_level(LOG_ERROR);
	log_warn("w");
	log_error("e");
	out = capture_end(&c);
	cr_assert_str_eq(out, "t: debug: d\nt: error: e\n");
	free(out);
	log_set_level((enum log_level)99);
	cr_assert_eq(log_get_level(), LOG_TRACE, "levels clamp");
}

Test(log, long_lines_are_cut_not_overflowed)
{
	char big[5000];
	struct capture c;
	char *out;

	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	log_init("t");
	capture_start(&c, STDERR_FILENO);
	log_error("%s", big);
	out = capture_end(&c);
	cr_assert_lt(strlen(out), 2100);
	cr_assert_eq(out[strlen(out) - 1], '\n');
	free(out);
}

Test(log, timestamps)
{
	struct capture c;
	char *out;

	log_init("d");
	log_set_timestamps(1);
	capture_start(&c, STDERR_FILENO);
	log_error("x");
	out = capture_end(&c);
	log_set_timestamps(0);
	/* 2026-11-24T10:00:00.123Z d: error: x */
	cr_assert_eq(strlen(out), 25 + strlen("d: error: x\n"), "%s", out);
	cr_assert_eq(out[10], 'T');
	cr_assert_eq(out[23], 'Z');
	free(out);
}
