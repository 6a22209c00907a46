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
