/* vsockfw destination policy and forwarder options (docs/vsockfw.md). */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "lib/accel/accel.h"
#include "vsockfw/opts.h"
#include "vsockfw/policy.h"
#include "vsockfw/relay.h"

static struct sockaddr_storage ep(const char *ip, uint16_t port)
{
	struct sockaddr_storage ss;
	struct sockaddr_in *in = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;

	memset(&ss, 0, sizeof(ss));
	if (inet_pton(AF_INET, ip, &in->sin_addr) == 1) {
		in->sin_family = AF_INET;
		in->sin_port = htons(port);
	} else {
		cr_assert_eq(inet_pton(AF_INET6, ip, &in6->sin6_addr), 1, "%s", ip);
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons(port);
	}
	return ss;
}

static void add(struct policy *p, int allow, const char *spec)
{
	struct pol_entry e;
	char err[256];

	cr_assert_eq(pol_parse_entry(spec, &e, err, sizeof(err)), 0, "%s: %s", spec, err);
	cr_assert_eq(pol_add(p, allow, &e, err, sizeof(err)), 0, "%s", err);
}

static int check(const struct policy *p, const char *ip, uint16_t port)
{
	struct sockaddr_storage d = ep(ip, port);

	return pol_check(p, &d);
}

Test(policy, parse_forms)
{
	struct pol_entry e;
	char err[256], buf[POL_TEXT_MAX];

	cr_assert_eq(pol_parse_entry("10.1.2.3/8", &e, err, sizeof(err)), 0);
	cr_assert_str_eq(pol_format_cidr(&e, buf, sizeof(buf)), "10.0.0.0/8", "host bits cleared");
	cr_assert_eq(e.port_lo, 0);
	cr_assert_eq(e.port_hi, 65535);
	cr_assert_eq(pol_parse_entry("203.0.113.7:443", &e, err, sizeof(err)), 0);
	cr_assert_eq(e.prefix, 32);
	cr_assert_eq(e.port_lo, 443);
	cr_assert_eq(e.port_hi, 443);
	cr_assert_eq(pol_parse_entry("[2001:db8::/32]:80-89", &e, err, sizeof(err)), 0);
	cr_assert_eq(e.family, 6);
	cr_assert_eq(e.port_lo, 80);
	cr_assert_eq(e.port_hi, 89);
	cr_assert_eq(pol_parse_entry("2001:db8::1", &e, err, sizeof(err)), 0);
	cr_assert_eq(e.prefix, 128);
	cr_assert_eq(pol_parse_entry("0.0.0.0/0", &e, err, sizeof(err)), 0);
	cr_assert_eq(e.prefix, 0);
}

Test(policy, parse_errors_name_the_input)
{
	static const char *bad[] = { "10.0.0.0/33", "10.0.0.0:0", "10.0.0.0:99999",
				     "10.0.0.0:90-80", "host.example:80", "[2001:db8::1",
				     "[::1]x", "", "1.2.3.4/" };
	struct pol_entry e;
	char err[256];
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cr_assert_eq(pol_parse_entry(bad[i], &e, err, sizeof(err)), -1, "'%s' accepted",
			     bad[i]);
		cr_assert(strlen(err) > 0);
	}
}

Test(policy, empty_allows_everything_but_protected_when_asked)
{
	struct policy p = { 0 };

	cr_assert_eq(check(&p, "198.51.100.2", 80), 0);
	cr_assert_eq(check(&p, "127.0.0.1", 80), 0);
	p.protect = POL_ALL_PROTECTED;
	cr_assert_eq(check(&p, "198.51.100.2", 80), 0);
	cr_assert_eq(check(&p, "127.0.0.1", 80), -EACCES);
	cr_assert_eq(check(&p, "127.5.6.7", 80), -EACCES, "all of 127/8, not only .1");
	cr_assert_eq(check(&p, "169.254.169.254", 80), -EACCES, "IMDS");
	cr_assert_eq(check(&p, "10.0.0.2", 443), -EACCES);
	cr_assert_eq(check(&p, "172.31.0.1", 443), -EACCES);
	cr_assert_eq(check(&p, "172.32.0.1", 443), 0);
	cr_assert_eq(check(&p, "192.168.1.1", 443), -EACCES);
	cr_assert_eq(check(&p, "100.64.0.1", 443), -EACCES);
	cr_assert_eq(check(&p, "::1", 80), -EACCES);
	cr_assert_eq(check(&p, "fe80::1", 80), -EACCES);
	cr_assert_eq(check(&p, "fd00:ec2::254", 80), -EACCES, "IMDS over IPv6");
	cr_assert_eq(check(&p, "2001:db8::1", 80), 0);
}

Test(policy, mapped_ipv6_is_judged_as_ipv4)
{
	struct policy p = { .protect = POL_ALL_PROTECTED };

	cr_assert_eq(check(&p, "::ffff:169.254.169.254", 80), -EACCES);
	cr_assert_eq(check(&p, "::ffff:127.0.0.1", 80), -EACCES);
	add(&p, 0, "198.51.100.0/24");
	cr_assert_eq(check(&p, "::ffff:198.51.100.9", 80), -EACCES);
	cr_assert_eq(check(&p, "::ffff:203.0.113.9", 80), 0);
}

Test(policy, class_switches_and_allow_inside_a_range)
{
	struct policy p = { .protect = POL_ALL_PROTECTED };

	p.protect &= ~(unsigned)POL_LOOPBACK;
	cr_assert_eq(check(&p, "127.0.0.1", 80), 0);
	cr_assert_eq(check(&p, "10.0.0.1", 80), -EACCES);
	add(&p, 1, "10.1.0.0/16:5432");
	cr_assert_eq(check(&p, "10.1.2.3", 5432), 0, "allow entry inside 10/8 opens it");
	cr_assert_eq(check(&p, "10.1.2.3", 5433), -EACCES, "only on its ports");
	cr_assert_eq(check(&p, "10.2.0.1", 5432), -EACCES, "only its block");
	add(&p, 1, "0.0.0.0/0:443");
	cr_assert_eq(check(&p, "203.0.113.1", 443), 0);
	cr_assert_eq(check(&p, "169.254.169.254", 443), -EACCES, "0/0 opens no protected range");
	cr_assert_eq(check(&p, "203.0.113.1", 80), -EACCES, "outside a non-empty allow set");
}

Test(policy, deny_wins)
{
	struct policy p = { 0 };

	add(&p, 1, "0.0.0.0/0");
	add(&p, 1, "[::/0]");
	add(&p, 0, "203.0.113.0/24:25");
	add(&p, 0, "[2001:db8:bad::/48]");
	cr_assert_eq(check(&p, "203.0.113.5", 25), -EACCES);
	cr_assert_eq(check(&p, "203.0.113.5", 26), 0);
	cr_assert_eq(check(&p, "2001:db8:bad::1", 443), -EACCES);
	cr_assert_eq(check(&p, "2001:db8:900d::1", 443), 0);
}

Test(policy, set_is_bounded)
{
	struct policy p = { 0 };
	struct pol_entry e;
	char err[256];
	unsigned i;

	cr_assert_eq(pol_parse_entry("10.0.0.0/8", &e, err, sizeof(err)), 0);
	for (i = 0; i < POL_MAX; i++)
		cr_assert_eq(pol_add(&p, 0, &e, err, sizeof(err)), 0);
	cr_assert_eq(pol_add(&p, 0, &e, err, sizeof(err)), -1);
	cr_assert(strstr(err, "too many"));
}

/* Audit 3: every spelling of an address is judged as the address it
 * reaches, before any check. */
Test(policy, never_dialable_in_every_form)
{
	static const char *never[] = { "0.0.0.0", "0.1.2.3", "255.255.255.255", "224.0.0.1",
				       "::", "ff02::1", "::ffff:0.0.0.0", "::ffff:0.0.0.1",
				       "::0.0.0.0", "64:ff9b::0.0.0.0", "64:ff9b::e000:1",
				       "::ffff:0:0.0.0.0", "2002:0000:0001::1" };
	struct policy p = { 0 };
	size_t i;

	/* Even a policy that opens everything. */
	add(&p, 1, "0.0.0.0/0");
	add(&p, 1, "[::/0]");
	for (i = 0; i < sizeof(never) / sizeof(never[0]); i++) {
		struct sockaddr_storage d = ep(never[i], 80);

		cr_assert_eq(check(&p, never[i], 80), -EACCES, "%s allowed", never[i]);
		cr_assert_eq(pol_dialable(&d), 0, "%s dialable", never[i]);
	}
	p.protect = POL_PRIVATE | POL_LINKLOCAL; /* --allow-loopback, as in the audit */
	cr_assert_eq(check(&p, "::ffff:0.0.0.0", 80), -EACCES, "reached 127.0.0.1 services");
	cr_assert_eq(check(&p, "198.51.100.1", 80), 0);
}

Test(policy, embedded_ipv4_takes_its_class)
{
	struct policy p = { .protect = POL_ALL_PROTECTED };

	cr_assert_eq(check(&p, "64:ff9b::127.0.0.1", 80), -EACCES, "NAT64 of loopback");
	cr_assert_eq(check(&p, "64:ff9b::10.0.0.1", 80), -EACCES, "NAT64 of private");
	cr_assert_eq(check(&p, "64:ff9b::169.254.169.254", 80), -EACCES, "NAT64 of IMDS");
	cr_assert_eq(check(&p, "64:ff9b::198.51.100.7", 80), 0, "NAT64 of a public address");
	cr_assert_eq(check(&p, "64:ff9b:1::a00:1", 80), -EACCES, "local-use NAT64 is private");
	cr_assert_eq(check(&p, "::127.0.0.1", 80), -EACCES, "IPv4-compatible");
	cr_assert_eq(check(&p, "::ffff:0:10.0.0.1", 80), -EACCES, "SIIT");
	cr_assert_eq(check(&p, "2002:a00:1::1", 80), -EACCES, "6to4 of 10.0.0.1");
	cr_assert_eq(check(&p, "2002:c633:6407::1", 80), 0, "6to4 of 198.51.100.7");
	cr_assert_eq(check(&p, "::1", 80), -EACCES, "::1 is loopback, not 0.0.0.1");
	p.protect &= ~(unsigned)POL_LOOPBACK;
	cr_assert_eq(check(&p, "::1", 80), 0, "... and opens with loopback");
	/* Deny entries reach the embedded form too. */
	p.protect = 0;
	add(&p, 0, "198.51.100.0/24");
	cr_assert_eq(check(&p, "64:ff9b::198.51.100.7", 80), -EACCES);
	cr_assert_eq(check(&p, "2002:c633:6407::1", 80), -EACCES);
	cr_assert_eq(check(&p, "64:ff9b::203.0.113.1", 80), 0);
}

Test(policy, mapped_entries_match)
{
	struct policy p = { 0 };
	struct pol_entry e;
	char err[256], buf[POL_TEXT_MAX];

	cr_assert_eq(pol_parse_entry("[::ffff:198.51.100.0/120]:443", &e, err, sizeof(err)), 0);
	cr_assert_eq(e.family, 4);
	cr_assert_str_eq(pol_format_cidr(&e, buf, sizeof(buf)), "198.51.100.0/24");
	cr_assert_eq(e.port_lo, 443);
	add(&p, 0, "[::ffff:198.51.100.0/120]");
	add(&p, 0, "::ffff:203.0.113.9");
	cr_assert_eq(check(&p, "198.51.100.7", 80), -EACCES, "mapped /120 deny, IPv4 destination");
	cr_assert_eq(check(&p, "::ffff:198.51.100.7", 80), -EACCES, "... mapped destination");
	cr_assert_eq(check(&p, "203.0.113.9", 80), -EACCES, "bare mapped address");
	cr_assert_eq(check(&p, "203.0.113.10", 80), 0);
}

Test(policy, imds_only_when_named)
{
	struct policy p = { .protect = POL_ALL_PROTECTED };

	p.protect &= ~(unsigned)(POL_PRIVATE | POL_LINKLOCAL);
	cr_assert_eq(check(&p, "169.254.1.1", 80), 0, "--allow-link-local opens link-local");
	cr_assert_eq(check(&p, "fd00:1::1", 80), 0, "--allow-private opens fc00::/7");
	cr_assert_eq(check(&p, "169.254.169.254", 80), -EACCES, "... but not IMDS");
	cr_assert_eq(check(&p, "fd00:ec2::254", 80), -EACCES, "... nor IPv6 IMDS");
	cr_assert_eq(check(&p, "::ffff:169.254.169.254", 80), -EACCES);
	p.protect = 0;
	cr_assert_eq(check(&p, "169.254.169.254", 80), -EACCES, "not even without protection");
	add(&p, 1, "169.254.0.0/16");
	cr_assert_eq(check(&p, "169.254.169.254", 80), -EACCES, "a block around it is not naming it");
	add(&p, 1, "169.254.169.254:80");
	add(&p, 1, "[fd00:ec2::254]:80");
	cr_assert_eq(check(&p, "169.254.169.254", 80), 0, "named: allowed");
	cr_assert_eq(check(&p, "169.254.169.254", 81), -EACCES, "on its ports only");
	cr_assert_eq(check(&p, "fd00:ec2::254", 80), 0);
}

/* A fake host: owns 198.51.100.1 and 2001:db8::1; 192.0.2.1 cannot be
 * looked up. */
static int fake_local(void *ctx, int fam, const uint8_t *a)
{
	static const uint8_t v4[4] = { 198, 51, 100, 1 }, bad[4] = { 192, 0, 2, 1 };
	static const uint8_t v6[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 1 };

	(*(int *)ctx)++;
	if (fam == 4 && memcmp(a, bad, 4) == 0)
		return -ETIMEDOUT;
	return fam == 4 ? memcmp(a, v4, 4) == 0 : memcmp(a, v6, 16) == 0;
}

Test(policy, host_owned_addresses)
{
	struct policy p = { .protect = POL_ALL_PROTECTED, .is_local = fake_local };
	int calls = 0;

	p.local_ctx = &calls;
	cr_assert_eq(check(&p, "198.51.100.1", 80), -EACCES, "the host's public IPv4");
	cr_assert_eq(check(&p, "2001:db8::1", 80), -EACCES, "the host's GUA");
	cr_assert_eq(check(&p, "::ffff:198.51.100.1", 80), -EACCES);
	cr_assert_eq(check(&p, "64:ff9b::198.51.100.1", 80), -EACCES, "embedded form");
	cr_assert_eq(check(&p, "198.51.100.2", 80), 0, "a neighbour");
	cr_assert_eq(check(&p, "192.0.2.1", 80), -EACCES, "cannot tell: refused");
	cr_assert_gt(calls, 0);
	add(&p, 1, "0.0.0.0/0");
	add(&p, 1, "198.51.100.0/24");
	cr_assert_eq(check(&p, "198.51.100.1", 80), -EACCES, "a block is not naming it");
	add(&p, 1, "198.51.100.1:80");
	cr_assert_eq(check(&p, "198.51.100.1", 80), 0, "named: allowed");
	p.nallow = 0;
	p.protect &= ~(unsigned)POL_LOCAL;
	cr_assert_eq(check(&p, "2001:db8::1", 80), 0, "--allow-loopback opens it");
	p.protect = 0;
	cr_assert_eq(check(&p, "198.51.100.1", 80), 0, "the enclave side does not ask");
}

static int parse(enum fw_mode m, struct fw_opts *o, struct fw_global *g, char *err,
		 size_t errlen, int argc, char **argv)
{
	fw_global_defaults(g);
	fw_opts_defaults(o, m);
	return fw_parse(argc, argv, m, o, g, err, errlen);
}

Test(opts, upstream_flags_read_bare_forms)
{
	char *argv[] = { "ip2vs", "-i", "127.0.0.1:8080", "-v", "16:8080", NULL };
	struct fw_global g;
	struct fw_opts o;
	char err[FW_ERR_MAX];

	cr_assert_eq(parse(FW_IP2VS, &o, &g, err, sizeof(err), 5, argv), 0, "%s", err);
	cr_assert_eq(o.listen.kind, ADDR_TCP);
	cr_assert_eq(o.to.kind, ADDR_VSOCK);
	cr_assert_eq(o.to.u.vm.svm_cid, 16);
	cr_assert_eq(o.to.u.vm.svm_port, 8080);
}

Test(opts, vs2ip_swaps_the_roles)
{
	char *argv[] = { "vs2ip", "-v", "ANY:8080", "-i", "127.0.0.1:80", NULL };
	struct fw_global g;
	struct fw_opts o;
	char err[FW_ERR_MAX];

	cr_assert_eq(parse(FW_VS2IP, &o, &g, err, sizeof(err), 5, argv), 0, "%s", err);
	cr_assert_eq(o.listen.kind, ADDR_VSOCK);
	cr_assert_eq(o.to.kind, ADDR_TCP);
}

Test(opts, tpp2vs_takes_a_cid)
{
	char *argv[] = { "tpp2vs", "-i", "127.0.0.1:10001", "--vsock", "127", NULL };
	char *argv2[] = { "tpp2vs", "--listen", "tcp:127.0.0.1:10001", "--to", "unix:/tmp/x-%p.sock",
			  NULL };
	char *argv3[] = { "tpp2vs", "--listen", "tcp:127.0.0.1:10001", "--to", "unix:/tmp/x.sock",
			  NULL };
	struct fw_global g;
	struct fw_opts o;
	char err[FW_ERR_MAX];

	cr_assert_eq(parse(FW_TPP2VS, &o, &g, err, sizeof(err), 5, argv), 0, "%s", err);
	cr_assert_eq(o.to.u.vm.svm_cid, 127);
	cr_assert(o.to_orig_port);
	cr_assert_eq(parse(FW_TPP2VS, &o, &g, err, sizeof(err), 5, argv2), 0, "%s", err);
	cr_assert_str_eq(o.to_unix_template, "/tmp/x-%p.sock");
	cr_assert_eq(parse(FW_TPP2VS, &o, &g, err, sizeof(err), 5, argv3), -1);
	cr_assert(strstr(err, "%p"), "%s", err);
}

Test(opts, host_side_protects_by_default)
{
	char *argv[] = { "vs2ip-tp", "--listen", "unix:/tmp/x", "--allow-loopback", NULL };
	struct fw_global g;
	struct fw_opts o;
	char err[FW_ERR_MAX];

	cr_assert_eq(parse(FW_VS2IP_TP, &o, &g, err, sizeof(err), 4, argv), 0, "%s", err);
	cr_assert_eq(o.pol.protect, POL_LINKLOCAL | POL_PRIVATE);
}

Test(opts, errors)
{
	char *a1[] = { "ip2vs", "--listen", "tcp:127.0.0.1:1", NULL };
	char *a2[] = { "ip2vs", "--lisen", "x", NULL };
	char *a3[] = { "ip2vs", "--listen", "tcp:1.2.3.4:70000", "--to", "unix:/x", NULL };
	char *a4[] = { "ip2vs", "--listen", "tcp:127.0.0.1:1", "--to", "unix:/x", "--dial-ip",
		       "1.2.3.4", NULL };
	char *a5[] = { "ip2vs", "--listen", "tcp:127.0.0.1:1", "--to", "unix:/x", "--tier", "warp",
		       NULL };
	char *a6[] = { "ip2vs", "--listen", "tcp:127.0.0.1:1", "--to", NULL };
	char *a7[] = { "ip2vs", "--listen", "tcp:127.0.0.1:1", "--to", "unix:/x", "--buffers", "100",
		       NULL };
	struct fw_global g;
	struct fw_opts o;
	char err[FW_ERR_MAX];

	cr_assert_eq(parse(FW_IP2VS, &o, &g, err, sizeof(err), 3, a1), -1);
	cr_assert(strstr(err, "destination is required"), "%s", err);
	cr_assert(strncmp(err, "ip2vs", 5) != 0, "the command line prefixes the mode: %s", err);
	cr_assert_eq(parse(FW_IP2VS, &o, &g, err, sizeof(err), 3, a2), -1);
	cr_assert(strstr(err, "--lisen"), "%s", err);
	cr_assert_eq(parse(FW_IP2VS, &o, &g, err, sizeof(err), 5, a3), -1);
	cr_assert(strstr(err, "70000"), "%s", err);
	cr_assert_eq(parse(FW_IP2VS, &o, &g, err, sizeof(err), 7, a4), -1);
	cr_assert(strstr(err, "does not apply"), "%s", err);
	cr_assert_eq(parse(FW_IP2VS, &o, &g, err, sizeof(err), 7, a5), -1);
	cr_assert(strstr(err, "warp"), "%s", err);
	cr_assert_eq(parse(FW_IP2VS, &o, &g, err, sizeof(err), 4, a6), -1);
	cr_assert(strstr(err, "needs a value"), "%s", err);
	cr_assert_eq(parse(FW_IP2VS, &o, &g, err, sizeof(err), 7, a7), -1);
	cr_assert(strstr(err, "power of two"), "%s", err);
}

Test(opts, tiers)
{
	cr_assert_eq(relay_tier_parse("auto"), RELAY_AUTO);
	cr_assert_eq(relay_tier_parse("splice"), RELAY_SPLICE);
	cr_assert_eq(relay_tier_parse("sockmap"), RELAY_SOCKMAP);
	cr_assert_eq(relay_tier_parse("nope"), -1);
	cr_assert_str_eq(relay_tier_name(RELAY_COPY), "copy");
}

Test(opts, bpf_pin)
{
	char *a1[] = { "ip2vs", "--listen", "tcp:127.0.0.1:1", "--to", "unix:/x", "--bpf-pin",
		       "/run/x", NULL };
	char *a2[] = { "ip2vs", "--listen", "tcp:127.0.0.1:1", "--to", "unix:/x", "--bpf-pin",
		       "none", NULL };
	char *a3[] = { "ip2vs", "--listen", "tcp:127.0.0.1:1", "--to", "unix:/x", "--bpf-pin",
		       "rel/x", NULL };
	struct fw_global g;
	struct fw_opts o;
	char err[FW_ERR_MAX];

	cr_assert_eq(parse(FW_IP2VS, &o, &g, err, sizeof(err), 5, a1), 0, "%s", err);
	cr_assert_str_eq(g.bpf_pin, ACCEL_PIN_DEFAULT, "the default");
	cr_assert_eq(parse(FW_IP2VS, &o, &g, err, sizeof(err), 7, a1), 0, "%s", err);
	cr_assert_str_eq(g.bpf_pin, "/run/x");
	cr_assert_eq(parse(FW_IP2VS, &o, &g, err, sizeof(err), 7, a2), 0, "%s", err);
	cr_assert_str_eq(g.bpf_pin, "none");
	cr_assert_eq(parse(FW_IP2VS, &o, &g, err, sizeof(err), 7, a3), -1);
	cr_assert(strstr(err, "absolute"), "%s", err);
}

static const struct relay_tier_ops fake_ops = { .name = "fake" };

Test(opts, tier_effective)
{
	cr_assert_eq(relay_tier_effective(RELAY_AUTO), RELAY_SPLICE, "no kernel tier: splice");
	cr_assert_eq(relay_tier_effective(RELAY_COPY), RELAY_COPY, "forced stays forced");
	cr_assert_eq(relay_tier_register(RELAY_SOCKMAP, &fake_ops), 0);
	cr_assert_eq(relay_tier_effective(RELAY_AUTO), RELAY_SOCKMAP);
	cr_assert(relay_tier_available(RELAY_SOCKMAP));
	cr_assert_eq(relay_tier_register(RELAY_KMOD, &fake_ops), 0);
	cr_assert_eq(relay_tier_effective(RELAY_AUTO), RELAY_KMOD, "the highest first");
	relay_tier_register(RELAY_KMOD, NULL);
	relay_tier_register(RELAY_SOCKMAP, NULL);
	cr_assert(!relay_tier_available(RELAY_KMOD));
	cr_assert_eq(relay_tier_effective(RELAY_AUTO), RELAY_SPLICE);
}
