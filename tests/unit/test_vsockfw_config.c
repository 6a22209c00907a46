/* vsockfw config files (docs/vsockfw.md "Configuration file") and the nft
 * text of the rules. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vsockfw/config.h"
#include "vsockfw/rules.h"

static char path[64];

static void write_cfg(const char *text)
{
	FILE *f;

	snprintf(path, sizeof(path), "/tmp/nek-vfwcfg-%d", (int)getpid());
	f = fopen(path, "w");
	cr_assert(f);
	fputs(text, f);
	fclose(f);
}

static void rm_cfg(void)
{
	unlink(path);
}

TestSuite(config, .fini = rm_cfg);

Test(config, split_words_quotes_comments)
{
	char line[] = "  ip2vs --listen \"tcp:127.0.0.1:80\"  --to unix:/a\\ b \"x \\\"y\\\" \\\\z\" # c";
	char *tok[16], err[128];
	int n = config_split(line, tok, 16, err, sizeof(err));

	cr_assert_eq(n, 7, "%d", n);
	cr_assert_str_eq(tok[0], "ip2vs");
	cr_assert_str_eq(tok[2], "tcp:127.0.0.1:80");
	cr_assert_str_eq(tok[4], "unix:/a\\", "a backslash outside quotes is literal");
	cr_assert_str_eq(tok[5], "b");
	cr_assert_str_eq(tok[6], "x \"y\" \\z");
}

Test(config, split_quoted_spaces_and_escapes)
{
	char line[] = "a \"x \\\"y\\\" \\\\z\"b";
	char *tok[4], err[128];

	cr_assert_eq(config_split(line, tok, 4, err, sizeof(err)), 2);
	cr_assert_str_eq(tok[1], "x \"y\" \\zb");
}

Test(config, split_errors)
{
	char l1[] = "a \"unterminated", l2[] = "a b c d e";
	char *tok[4], err[128];

	cr_assert_eq(config_split(l1, tok, 4, err, sizeof(err)), -1);
	cr_assert(strstr(err, "quote"));
	cr_assert_eq(config_split(l2, tok, 4, err, sizeof(err)), -1);
}

Test(config, whole_file)
{
	struct config c;
	char err[512];

	write_cfg("# enclave\n"
		  "global --control unix:/tmp/x.sock --idle-timeout 10m --backend epoll\n"
		  "\n"
		  "rules --redirect-port 8888 --deny 169.254.0.0/16\n"
		  "ip2vs-tp --listen tcp:[::]:8888 --to vsock:3:8888 \\\n"
		  "    --allow 0.0.0.0/0:443\n"
		  "vs2ip -v ANY:8443 -i 127.0.0.1:8443 --idle-timeout 1h\n"
		  "dns stub --listen 127.0.0.1:53 --to vsock:3:8053\n");
	cr_assert_eq(config_load(path, &c, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(c.nfw, 3);
	cr_assert_eq(c.g.backend, 2);
	cr_assert_eq(c.g.control.kind, ADDR_UNIX);
	cr_assert_eq(c.fw[0].mode, FW_IP2VS_TP);
	cr_assert_eq(c.fw[0].idle_timeout_ms, 600000, "global default applies");
	cr_assert_eq(c.fw[0].pol.nallow, 1, "continued line");
	cr_assert_eq(c.fw[1].mode, FW_VS2IP);
	cr_assert_eq(c.fw[1].idle_timeout_ms, 3600000, "line overrides the default");
	cr_assert_eq(c.fw[2].mode, FW_DNS_STUB);
	cr_assert(c.has_rules);
	cr_assert_eq(c.rules.redirect_port, 8888);
	cr_assert_eq(c.rules.egress.ndeny, 1);
	config_free(&c);
}

static void expect_error(const char *text, const char *want)
{
	struct config c;
	char err[512];

	write_cfg(text);
	cr_assert_eq(config_load(path, &c, err, sizeof(err)), -1, "accepted: %s", text);
	cr_assert(strstr(err, want), "'%s' not in '%s'", want, err);
	cr_assert(strstr(err, path), "the file is named: %s", err);
}

Test(config, errors_name_file_and_line)
{
	expect_error("ip2vs --listen tcp:127.0.0.1:1 --to unix:/x\nip2vs --lisen x\n", ":2: ip2vs: unknown option '--lisen'");
	expect_error("frobnicate\n", ":1: unknown command 'frobnicate'");
	expect_error("vs2ip --listen unix:/a --to tcp:127.0.0.1:1 --control unix:/c\n",
		     "'global' line");
	expect_error("# nothing\n", "no forwarder");
	expect_error("rules --redirect-port 1\nrules --redirect-port 2\nip2vs -i 127.0.0.1:1 -v 3:1\n",
		     ":2: a second 'rules' line");
	expect_error("dns resolve\n", "unknown command 'dns'");
	expect_error("ip2vs --listen \"tcp:127.0.0.1:1\n", "unterminated quote");
}

Test(config, rules_only)
{
	struct rules_cfg r;
	struct fw_global g;
	char err[512];

	write_cfg("global --state-dir /run/x\nrules --table t1 --inbound 9000-9999:10001\n"
		  "ip2vs -i 127.0.0.1:1 -v 3:1\n");
	cr_assert_eq(config_rules(path, &r, &g, err, sizeof(err)), 0, "%s", err);
	cr_assert_str_eq(r.table, "t1");
	cr_assert_eq(r.ninbound, 1);
	cr_assert_str_eq(g.state_dir, "/run/x");
}

Test(rules, render)
{
	char *argv[] = { "apply", "--redirect-port", "8888", "--exclude", "10.0.0.0/8",
			 "--deny", "[2001:db8::/32]:25", "--allow", "0.0.0.0/0:443", "--mark", "16",
			 NULL };
	struct rules_cfg c;
	struct strbuf sb = { 0 };
	char err[256];

	rules_defaults(&c);
	cr_assert_eq(rules_parse(11, argv, &c, err, sizeof(err)), 0, "%s", err);
	rules_render(&c, 1, &sb);
	cr_assert(sb.s);
	cr_assert(strstr(sb.s, "table inet vsockfw\ndelete table inet vsockfw\ntable inet vsockfw {\n") == sb.s,
		  "replaced in one transaction");
	cr_assert(strstr(sb.s, "chain killswitch"));
	cr_assert(strstr(sb.s, "elements = { 0.0.0.0/0 . 443-443 }"));
	cr_assert(strstr(sb.s, "elements = { 2001:db8::/32 . 25-25 }"));
	cr_assert(strstr(sb.s, "fib daddr type local return"));
	cr_assert(strstr(sb.s, "ip daddr { 10.0.0.0/8 } return"));
	cr_assert(strstr(sb.s, "meta mark 0x10 return"));
	cr_assert(strstr(sb.s, "redirect to :8888"));
	cr_assert(!strstr(sb.s, "flush ruleset"));
	sb_free(&sb);
}

Test(rules, option_errors)
{
	char *a1[] = { "apply", "--inbound", "9000-9999:9500", NULL };
	char *a2[] = { "apply", "--table", "bad name;", NULL };
	char *a3[] = { "apply", "--redirect-port", "0", NULL };
	struct rules_cfg c;
	char err[256];

	rules_defaults(&c);
	cr_assert_eq(rules_parse(3, a1, &c, err, sizeof(err)), -1);
	cr_assert(strstr(err, "inside its own range"), "%s", err);
	cr_assert_eq(rules_parse(3, a2, &c, err, sizeof(err)), -1);
	cr_assert_eq(rules_parse(3, a3, &c, err, sizeof(err)), -1);
}

/* One prefix per context: the config error names file, line and mode once
 * (the mode used to come twice, and twice on the command line too). */
Test(config, forwarder_errors_name_the_mode_once)
{
	struct config c;
	char err[512];

	write_cfg("ip2vs --listen tcp:127.0.0.1:1\n");
	cr_assert_eq(config_load(path, &c, err, sizeof(err)), -1);
	cr_assert(strstr(err, ":1: ip2vs: a destination is required"), "%s", err);
	cr_assert_null(strstr(err, "ip2vs: ip2vs"), "%s", err);
	write_cfg("dns stub --listen unix:/x --to unix:/y\n");
	cr_assert_eq(config_load(path, &c, err, sizeof(err)), -1);
	cr_assert(strstr(err, ":1: dns stub: --listen must be"), "%s", err);
	cr_assert_null(strstr(err, "dns stub: dns stub"), "%s", err);
}
