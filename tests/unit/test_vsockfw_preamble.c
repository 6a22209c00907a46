/* vsockfw preamble v2 and upstream's 7/19-byte form (docs/proxy-protocol.md). */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "vsockfw/preamble.h"

static void set4(struct sockaddr_storage *ss, const char *ip, uint16_t port)
{
	struct sockaddr_in *in = (struct sockaddr_in *)ss;

	memset(ss, 0, sizeof(*ss));
	in->sin_family = AF_INET;
	in->sin_port = htons(port);
	cr_assert_eq(inet_pton(AF_INET, ip, &in->sin_addr), 1);
}

static void set6(struct sockaddr_storage *ss, const char *ip, uint16_t port)
{
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	in6->sin6_family = AF_INET6;
	in6->sin6_port = htons(port);
	cr_assert_eq(inet_pton(AF_INET6, ip, &in6->sin6_addr), 1);
}

Test(preamble, ipv4_exact_bytes)
{
	static const uint8_t want[] = { 'N', 'K', 'P', 'X', 2, 0, 4, 6, 93, 184, 216, 34, 0, 80 };
	struct px_req r = { 0 }, g;
	uint8_t b[PX_MAX_LEN];
	size_t need = 0;

	set4(&r.dst, "93.184.216.34", 80);
	cr_assert_eq(px_encode(&r, b), (int)sizeof(want));
	cr_assert_eq(memcmp(b, want, sizeof(want)), 0);
	cr_assert_eq(px_parse(b, sizeof(want), &g, &need), (int)sizeof(want));
	cr_assert_eq(need, sizeof(want));
	cr_assert_eq(g.has_src, 0);
	cr_assert_eq(memcmp(&g.dst, &r.dst, sizeof(struct sockaddr_in)), 0);
}

Test(preamble, ipv6_with_source)
{
	struct px_req r = { 0 }, g;
	uint8_t b[PX_MAX_LEN];
	size_t i, need;

	set6(&r.dst, "2001:db8::1", 443);
	set6(&r.src, "2001:db8::99", 40000);
	r.has_src = 1;
	cr_assert_eq(px_encode(&r, b), 44);
	cr_assert_eq(b[5], PX_F_SRC);
	cr_assert_eq(b[6], 6);
	cr_assert_eq(b[24], 0x01);
	cr_assert_eq(b[25], 0xbb);
	/* Every prefix asks for more, and says how much is known to be needed. */
	for (i = 0; i < 44; i++) {
		need = 0;
		cr_assert_eq(px_parse(b, i, &g, &need), 0, "prefix %zu", i);
		cr_assert_eq(need, i < PX_FIXED_LEN ? (size_t)PX_FIXED_LEN : 44u, "prefix %zu", i);
	}
	cr_assert_eq(px_parse(b, 44, &g, NULL), 44);
	cr_assert_eq(g.has_src, 1);
	cr_assert_eq(memcmp(&g.dst, &r.dst, sizeof(struct sockaddr_in6)), 0);
	cr_assert_eq(memcmp(&g.src, &r.src, sizeof(struct sockaddr_in6)), 0);
}

Test(preamble, trailing_payload_is_not_consumed)
{
	struct px_req r = { 0 }, g;
	uint8_t b[PX_MAX_LEN + 8];
	int n;

	set4(&r.dst, "198.51.100.2", 8080);
	n = px_encode(&r, b);
	memcpy(b + n, "GET /\r\n", 7);
	cr_assert_eq(px_parse(b, (size_t)n + 7, &g, NULL), n);
}

Test(preamble, garbage_refused_at_first_byte)
{
	struct px_req g;

	cr_assert_eq(px_parse((const uint8_t *)"G", 1, &g, NULL), -EPROTO);
	cr_assert_eq(px_parse((const uint8_t *)"NKPY", 4, &g, NULL), -EPROTO);
	cr_assert_eq(px_parse((const uint8_t *)"GET / HTTP/1.1\r\n", 16, &g, NULL), -EPROTO);
}

Test(preamble, field_checks)
{
	struct px_req r = { 0 }, g;
	uint8_t b[PX_MAX_LEN], c[PX_MAX_LEN];
	int n;

	set4(&r.dst, "198.51.100.2", 80);
	n = px_encode(&r, b);
	memcpy(c, b, (size_t)n);
	c[4] = 3;
	cr_assert_eq(px_parse(c, (size_t)n, &g, NULL), -EPROTONOSUPPORT);
	memcpy(c, b, (size_t)n);
	c[5] = 0x02;
	cr_assert_eq(px_parse(c, (size_t)n, &g, NULL), -EPROTO, "reserved flag bit");
	memcpy(c, b, (size_t)n);
	c[6] = 5;
	cr_assert_eq(px_parse(c, (size_t)n, &g, NULL), -EAFNOSUPPORT);
	memcpy(c, b, (size_t)n);
	c[7] = 17;
	cr_assert_eq(px_parse(c, (size_t)n, &g, NULL), -EPROTO, "UDP is not in v2");
	memcpy(c, b, (size_t)n);
	c[12] = c[13] = 0;
	cr_assert_eq(px_parse(c, (size_t)n, &g, NULL), -EPROTO, "port 0");
}

Test(preamble, undialable_destinations)
{
	static const char *bad4[] = { "0.0.0.0", "255.255.255.255", "224.0.0.1", "239.1.2.3" };
	struct px_req r = { 0 }, g;
	uint8_t b[PX_MAX_LEN];
	size_t i;
	int n;

	for (i = 0; i < sizeof(bad4) / sizeof(bad4[0]); i++) {
		set4(&r.dst, bad4[i], 80);
		n = px_encode(&r, b);
		cr_assert_eq(px_parse(b, (size_t)n, &g, NULL), -EPROTO, "%s", bad4[i]);
	}
	set6(&r.dst, "::", 80);
	n = px_encode(&r, b);
	cr_assert_eq(px_parse(b, (size_t)n, &g, NULL), -EPROTO);
	set6(&r.dst, "ff02::1", 80);
	n = px_encode(&r, b);
	cr_assert_eq(px_parse(b, (size_t)n, &g, NULL), -EPROTO);
}

/* Audit 3: judged after normalising, so no IPv6 spelling of 0.0.0.0 gets
 * through, in either preamble form. */
Test(preamble, undialable_in_ipv6_spellings)
{
	static const char *bad6[] = { "::ffff:0.0.0.0", "::ffff:0.0.0.1", "::ffff:224.0.0.1",
				      "::ffff:255.255.255.255", "64:ff9b::0.0.0.0", "::0.0.0.2" };
	struct px_req r = { 0 }, g;
	struct sockaddr_storage d;
	uint8_t b[PX_MAX_LEN];
	size_t i;
	int n;

	for (i = 0; i < sizeof(bad6) / sizeof(bad6[0]); i++) {
		set6(&r.dst, bad6[i], 80);
		n = px_encode(&r, b);
		cr_assert_eq(px_parse(b, (size_t)n, &g, NULL), -EPROTO, "%s", bad6[i]);
		set6(&d, bad6[i], 80);
		n = px_compat_encode(&d, b);
		cr_assert_eq(px_compat_parse(b, (size_t)n, &d, NULL), -EPROTO, "compat %s", bad6[i]);
	}
	set6(&r.dst, "::ffff:198.51.100.7", 80);
	n = px_encode(&r, b);
	cr_assert_eq(px_parse(b, (size_t)n, &g, NULL), n, "a public mapped address parses");
}

Test(preamble, encode_rejects_mixed_families)
{
	struct px_req r = { 0 };
	uint8_t b[PX_MAX_LEN];

	set4(&r.dst, "198.51.100.2", 80);
	set6(&r.src, "2001:db8::1", 1);
	r.has_src = 1;
	cr_assert_eq(px_encode(&r, b), -EAFNOSUPPORT);
	r.dst.ss_family = AF_UNIX;
	cr_assert_eq(px_encode(&r, b), -EAFNOSUPPORT);
}

Test(preamble, reply)
{
	uint8_t b[PX_REPLY_LEN];
	int st = -1;

	px_reply_encode(0, b);
	cr_assert_eq(memcmp(b, "NKPR\x02\x00\x00\x00", 8), 0);
	cr_assert_eq(px_reply_parse(b, 8, &st), 8);
	cr_assert_eq(st, 0);
	px_reply_encode(-ECONNREFUSED, b);
	cr_assert_eq(b[6], 0);
	cr_assert_eq(b[7], ECONNREFUSED);
	cr_assert_eq(px_reply_parse(b, 7, &st), 0);
	cr_assert_eq(px_reply_parse(b, 8, &st), 8);
	cr_assert_eq(st, ECONNREFUSED);
	cr_assert_eq(px_reply_parse((const uint8_t *)"HTTP/1.1", 8, &st), -EPROTO);
	b[5] = 1;
	cr_assert_eq(px_reply_parse(b, 8, &st), -EPROTO);
}

Test(preamble, compat_worked_example)
{
	static const uint8_t want[] = { 0x04, 0x22, 0xd8, 0xb8, 0x5d, 0x50, 0x00 };
	struct sockaddr_storage d, g;
	uint8_t b[PX_COMPAT_MAX_LEN];
	size_t need = 0;

	set4(&d, "93.184.216.34", 80);
	cr_assert_eq(px_compat_encode(&d, b), 7);
	cr_assert_eq(memcmp(b, want, 7), 0);
	cr_assert_eq(px_compat_parse(b, 6, &g, &need), 0);
	cr_assert_eq(need, 7);
	cr_assert_eq(px_compat_parse(b, 7, &g, NULL), 7);
	cr_assert_eq(memcmp(&g, &d, sizeof(struct sockaddr_in)), 0);
	cr_assert(px_is_compat(b[0]));
	cr_assert(!px_is_compat('N'));
}

Test(preamble, compat_ipv6)
{
	struct sockaddr_storage d, g;
	uint8_t b[PX_COMPAT_MAX_LEN];

	set6(&d, "2001:db8::7", 0x1234);
	cr_assert_eq(px_compat_encode(&d, b), 19);
	cr_assert_eq(b[0], 6);
	cr_assert_eq(b[1], 0x07, "u128 little-endian: last octet first");
	cr_assert_eq(b[16], 0x20);
	cr_assert_eq(b[17], 0x34);
	cr_assert_eq(b[18], 0x12);
	cr_assert_eq(px_compat_parse(b, 19, &g, NULL), 19);
	cr_assert_eq(memcmp(&g, &d, sizeof(struct sockaddr_in6)), 0);
	b[0] = 5;
	cr_assert_eq(px_compat_parse(b, 19, &g, NULL), -EPROTO);
}
