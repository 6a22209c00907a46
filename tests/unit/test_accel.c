/* The acceleration library's checks that need no BPF: rule encoding, pin
 * paths, the refusals of accel_load before it touches the kernel, status
 * of nothing, and the module wrapper without the module. */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "lib/accel/accel.h"
#include "lib/accel/accel_origdst.h"
#include "lib/accel/accel_splice.h"
#include "lib/accel/krelay.h"

Test(accel, rule_v4)
{
	struct nek_rule r;
	uint8_t a[4] = { 10, 1, 2, 0 };

	cr_assert_eq(accel_rule_make(&r, AF_INET, a, 24, 80, 89, NEK_RULE_DENY), 0);
	cr_assert_eq(r.plen, 120);
	cr_assert_eq(r.ip[0], 0);
	cr_assert_eq(r.ip[1], 0);
	cr_assert_eq(r.ip[2], htonl(0xffff));
	cr_assert_eq(memcmp(&r.ip[3], a, 4), 0);
	cr_assert_eq(r.port_lo, 80);
	cr_assert_eq(r.port_hi, 89);
	cr_assert_eq(r.action, NEK_RULE_DENY);
}

Test(accel, rule_v6_and_bad)
{
	struct nek_rule r;
	uint8_t a6[16] = { 0x20, 0x01, 0x0d, 0xb8 };
	uint8_t a4[4] = { 0 };

	cr_assert_eq(accel_rule_make(&r, AF_INET6, a6, 32, 0, 65535, NEK_RULE_ALLOW), 0);
	cr_assert_eq(r.plen, 32);
	cr_assert_eq(memcmp(r.ip, a6, 16), 0);
	cr_assert_eq(accel_rule_make(&r, AF_INET, a4, 33, 0, 1, NEK_RULE_ALLOW), -1);
	cr_assert_eq(errno, EINVAL);
	cr_assert_eq(accel_rule_make(&r, AF_INET6, a6, 129, 0, 1, NEK_RULE_ALLOW), -1);
	cr_assert_eq(accel_rule_make(&r, AF_INET, a4, 8, 90, 80, NEK_RULE_ALLOW), -1);
	cr_assert_eq(accel_rule_make(&r, AF_INET, a4, 8, 0, 1, 7), -1);
	cr_assert_eq(accel_rule_make(&r, AF_UNIX, a4, 8, 0, 1, NEK_RULE_DENY), -1);
}

Test(accel, pin_paths)
{
	char buf[64], longpin[600];

	cr_assert_eq(accel_pin_path(buf, sizeof(buf), "/p", ACCEL_SPLICE, "map_x"), 0);
	cr_assert_str_eq(buf, "/p/splice/map_x");
	cr_assert_eq(accel_pin_path(buf, sizeof(buf), NULL, ACCEL_BYPASS, NULL), 0);
	cr_assert_str_eq(buf, ACCEL_PIN_DEFAULT "/lobypass");
	memset(longpin, 'a', sizeof(longpin) - 1);
	longpin[sizeof(longpin) - 1] = '\0';
	cr_assert_eq(accel_pin_path(buf, sizeof(buf), longpin, ACCEL_ORIGDST, "x"), -1);
	cr_assert_eq(errno, ENAMETOOLONG);
	cr_assert_str_eq(accel_obj_name(ACCEL_ORIGDST), "origdst");
	cr_assert_str_eq(accel_obj_name(64), "?");
}

static char *tmpdir(void)
{
	char *d = strdup("/tmp/nek-accel-unit.XXXXXX");

	cr_assert(d && mkdtemp(d));
	return d;
}

Test(accel, load_refusals)
{
	struct accel_load_opts o = { 0 };
	char err[ACCEL_ERR_MAX], pin[256];
	char *d = tmpdir();

	snprintf(pin, sizeof(pin), "%s/pin", d);
	o.pin = pin;
	cr_assert_eq(accel_load(&o, err, sizeof(err)), -1);
	cr_assert_str_eq(err, "nothing to load");
	o.objs = ACCEL_BYPASS;
	cr_assert_eq(accel_load(&o, err, sizeof(err)), -1);
	cr_assert(strstr(err, "cgroup2 directory is needed"), "%s", err);
	o.cgroup = "/nonexistent/cg";
	cr_assert_eq(accel_load(&o, err, sizeof(err)), -1);
	cr_assert(strstr(err, "'/nonexistent/cg': No such file"), "%s", err);
	o.cgroup = d;
	cr_assert_eq(accel_load(&o, err, sizeof(err)), -1);
	cr_assert(strstr(err, "not a cgroup2 directory"), "%s", err);
	/* Refused before anything was made. */
	cr_assert_eq(access(pin, F_OK), -1);
	rmdir(d);
	free(d);
}

Test(accel, nothing_loaded)
{
	char err[ACCEL_ERR_MAX], *buf = NULL;
	size_t len = 0;
	char *d = tmpdir();
	struct accel_splice sp;
	struct accel_origdst od;
	FILE *f;

	cr_assert_eq(accel_loaded(d), 0);
	f = open_memstream(&buf, &len);
	cr_assert_eq(accel_status(d, f, 0), 0);
	fclose(f);
	cr_assert(strstr(buf, "nothing loaded under"), "%s", buf);
	free(buf);
	cr_assert_eq(accel_unload(d, err, sizeof(err)), -1);
	cr_assert_eq(errno, ENOENT);
	cr_assert(strstr(err, "not a bpf filesystem"), "%s", err);
	cr_assert_eq(accel_splice_open(d, &sp, err, sizeof(err)), -1);
	cr_assert(strstr(err, "splice is not loaded"), "%s", err);
	cr_assert_eq(accel_origdst_open(d, &od, err, sizeof(err)), -1);
	cr_assert(strstr(err, "origdst is not loaded"), "%s", err);
	cr_assert_eq(accel_bypass_port(d, 80, 1, err, sizeof(err)), -1);
	rmdir(d);
	free(d);
}

Test(accel, cookies)
{
	int p[2], s = socket(AF_INET, SOCK_STREAM, 0), t = socket(AF_INET, SOCK_STREAM, 0);

	cr_assert(s >= 0 && t >= 0 && pipe(p) == 0);
	cr_assert_neq(accel_sock_cookie(s), 0);
	cr_assert_neq(accel_sock_cookie(s), accel_sock_cookie(t));
	cr_assert_eq(accel_sock_cookie(s), accel_sock_cookie(s));
	cr_assert_eq(accel_sock_cookie(p[0]), 0);
	close(s);
	close(t);
	close(p[0]);
	close(p[1]);
}

Test(krelay, without_module)
{
	if (krelay_available())
		cr_skip_test("the nek_relay module is loaded here");
	cr_assert_eq(krelay_open(), -1);
	cr_assert_eq(errno, ENOENT);
	cr_assert_str_eq(krelay_state_name(NEK_RELAY_DONE), "done");
	cr_assert_str_eq(krelay_state_name(NEK_RELAY_ABORTED), "aborted");
	cr_assert_str_eq(krelay_state_name(9), "?");
	cr_assert_eq(sizeof(struct nek_relay_start), 40);
	cr_assert_eq(sizeof(struct nek_relay_report), 40);
}
