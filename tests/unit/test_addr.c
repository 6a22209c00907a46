/* Transport address parsing: every accepted form and every rejected one. */
#include <criterion/criterion.h>
#include <arpa/inet.h>
#include <string.h>

#include "lib/core/addr.h"

static struct addr parse_ok(const char *text)
{
	char err[ADDR_ERR_MAX] = "";
	struct addr a;

	cr_assert_eq(addr_parse(text, &a, err, sizeof(err)), 0, "'%s' rejected: %s", text, err);
	return a;
}

static void parse_bad(const char *text, const char *why)
{
	char err[ADDR_ERR_MAX] = "";
	struct addr a;

	cr_assert_eq(addr_parse(text, &a, err, sizeof(err)), -1, "'%s' accepted", text);
	cr_assert(strstr(err, why), "error for '%s' is '%s', wanted '%s'", text, err, why);
}

static void roundtrip(const char *text, const char *canonical)
{
	char buf[ADDR_TEXT_MAX];
	struct addr a = parse_ok(text);

	cr_assert_str_eq(addr_format(&a, buf, sizeof(buf)), canonical);
}

Test(addr, unix_path)
{
	struct addr a = parse_ok("unix:/run/slc.sock");

	cr_assert_eq(a.kind, ADDR_UNIX);
	cr_assert_eq(a.u.un.sun_family, AF_UNIX);
	cr_assert_str_eq(a.u.un.sun_path, "/run/slc.sock");
	roundtrip("unix:relative/x.sock", "unix:relative/x.sock");
}

Test(addr, unix_abstract)
{
	struct addr a = parse_ok("unix:@nek-test");

	cr_assert_eq(a.u.un.sun_path[0], '\0');
	cr_assert_eq(memcmp(a.u.un.sun_path + 1, "nek-test", 8), 0);
	cr_assert_eq(a.len, offsetof(struct sockaddr_un, sun_path) + 9);
	roundtrip("unix:@nek-test", "unix:@nek-test");
}

Test(addr, unix_limits)
{
	char longp[200];

	parse_bad("unix:", "empty unix socket path");
	parse_bad("unix:@", "empty unix socket path");
	memset(longp, 'a', sizeof(longp));
	memcpy(longp, "unix:/", 6);
	longp[5 + 107] = '\0'; /* a 107-byte path fits */
	parse_ok(longp);
	longp[5 + 107] = 'a';
	longp[5 + 108] = '\0';
	parse_bad(longp, "longer than 107 bytes");
}

Test(addr, tcp_v4)
{
	struct addr a = parse_ok("tcp:127.0.0.1:8080");

	cr_assert_eq(a.kind, ADDR_TCP);
	cr_assert_eq(a.u.in.sin_family, AF_INET);
	cr_assert_eq(ntohs(a.u.in.sin_port), 8080);
	cr_assert_eq(a.u.in.sin_addr.s_addr, htonl(INADDR_LOOPBACK));
	cr_assert_eq(addr_port(&a), 8080);
	roundtrip("tcp:10.0.0.1:0", "tcp:10.0.0.1:0");
	roundtrip("tcp:*:443", "tcp:0.0.0.0:443");
	roundtrip("tcp:1.2.3.4:65535", "tcp:1.2.3.4:65535");
}

Test(addr, tcp_v6)
{
	struct addr a = parse_ok("tcp:[::1]:53000");

	cr_assert_eq(a.u.in6.sin6_family, AF_INET6);
	cr_assert_eq(ntohs(a.u.in6.sin6_port), 53000);
	roundtrip("tcp:[::]:80", "tcp:[::]:80");
	roundtrip("tcp:[fe80::1:2]:7", "tcp:[fe80::1:2]:7");
}

Test(addr, tcp_hostname)
{
	struct addr a = parse_ok("tcp:localhost:22");

	cr_assert_eq(a.kind, ADDR_TCP);
	cr_assert_eq(addr_port(&a), 22);
}

Test(addr, tcp_bad)
{
	parse_bad("tcp:1.2.3.4", "missing ':PORT'");
	parse_bad("tcp:1.2.3.4:", "missing port");
	parse_bad("tcp::80", "missing host");
	parse_bad("tcp:1.2.3.4:65536", "out of range");
	parse_bad("tcp:1.2.3.4:-1", "not a number");
	parse_bad("tcp:1.2.3.4:80x", "not a number");
	parse_bad("tcp:1.2.3.4: 80", "not a number");
	parse_bad("tcp:::1:80", "must be in brackets");
	parse_bad("tcp:[::1:80", "missing ']'");
	parse_bad("tcp:[::1]80", "missing ':PORT' after ']'");
	parse_bad("tcp:[1.2.3.4]:80", "bad IPv6 address");
	parse_bad("tcp:[zz::1]:80", "bad IPv6 address");
	parse_bad("tcp:no-such-host.invalid:80", "cannot resolve");
}

Test(addr, vsock)
{
	struct addr a = parse_ok("vsock:16:53000");

	cr_assert_eq(a.kind, ADDR_VSOCK);
	cr_assert_eq(a.u.vm.svm_family, AF_VSOCK);
	cr_assert_eq(a.u.vm.svm_cid, 16);
	cr_assert_eq(a.u.vm.svm_port, 53000);
	a = parse_ok("vsock:ANY:53000");
	cr_assert_eq(a.u.vm.svm_cid, VMADDR_CID_ANY);
	a = parse_ok("vsock:any:any");
	cr_assert_eq(a.u.vm.svm_port, VMADDR_PORT_ANY);
	cr_assert_eq(parse_ok("vsock:LOCAL:1").u.vm.svm_cid, 1);
	cr_assert_eq(parse_ok("vsock:host:1").u.vm.svm_cid, VMADDR_CID_HOST);
	cr_assert_eq(parse_ok("vsock:parent:9000").u.vm.svm_cid, 3);
	roundtrip("vsock:any:5", "vsock:ANY:5");
	roundtrip("vsock:4294967294:4294967294", "vsock:4294967294:4294967294");
}

Test(addr, vsock_bad)
{
	parse_bad("vsock:16", "missing ':PORT'");
	parse_bad("vsock::80", "missing CID");
	parse_bad("vsock:16:", "missing port");
	parse_bad("vsock:4294967295:80", "out of range");
	parse_bad("vsock:16:4294967295", "out of range");
	parse_bad("vsock:abc:80", "bad CID");
	parse_bad("vsock:16:80:1", "not a number");
	parse_bad("vsock:99999999999999999999999:1", "bad CID");
}

Test(addr, unknown)
{
	parse_bad("", "empty address");
	parse_bad("udp:1.2.3.4:5", "unknown transport in 'udp:1.2.3.4:5'");
	parse_bad("/run/x.sock", "is not an address");
	parse_bad("TCP:1.2.3.4:5", "unknown transport");
}

Test(addr, parse_as_default_kind)
{
	char err[ADDR_ERR_MAX];
	struct addr a;

	cr_assert_eq(addr_parse_as("127.0.0.1:8000", ADDR_TCP, &a, err, sizeof(err)), 0);
	cr_assert_eq(a.kind, ADDR_TCP);
	cr_assert_eq(addr_parse_as("3:8000", ADDR_VSOCK, &a, err, sizeof(err)), 0);
	cr_assert_eq(a.u.vm.svm_cid, 3);
	cr_assert_eq(addr_parse_as("unix:/x", ADDR_TCP, &a, err, sizeof(err)), 0);
	cr_assert_eq(a.kind, ADDR_UNIX, "an explicit kind wins over the default");
	cr_assert_eq(addr_parse_as("3:", ADDR_VSOCK, &a, err, sizeof(err)), -1);
}

Test(addr, from_sockaddr)
{
	struct sockaddr_in in = { .sin_family = AF_INET, .sin_port = htons(9) };
	struct sockaddr_un unnamed = { .sun_family = AF_UNIX };
	char buf[ADDR_TEXT_MAX];
	struct addr a;

	cr_assert_eq(addr_from_sockaddr((struct sockaddr *)&in, sizeof(in), &a), 0);
	cr_assert_str_eq(addr_format(&a, buf, sizeof(buf)), "tcp:0.0.0.0:9");
	cr_assert_eq(addr_from_sockaddr((struct sockaddr *)&unnamed, sizeof(sa_family_t), &a), 0);
	cr_assert_str_eq(addr_format(&a, buf, sizeof(buf)), "unix:");
	in.sin_family = AF_PACKET;
	cr_assert_eq(addr_from_sockaddr((struct sockaddr *)&in, sizeof(in), &a), -1);
}
