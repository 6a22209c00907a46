/* The fleet's options (lib/fleet/fleet_conn.h): URLs checked and redacted,
 * credential files read into memory at start, prefixes and bucket names. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/fleet/fleet_conn.h"

static char *write_tmp(const char *text)
{
	static char path[64];
	int fd;

	snprintf(path, sizeof(path), "/tmp/nek-fleet-creds.XXXXXX");
	fd = mkstemp(path);
	cr_assert_geq(fd, 0);
	cr_assert_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	return path;
}

Test(fleet_conn, urls)
{
	struct fleet_opts o;
	char err[256];

	fleet_opts_init(&o);
	cr_assert_eq(fleet_opts_urls(&o, "nats://127.0.0.1:4222,tls://h:1", err, sizeof(err)), 0);
	cr_assert_eq(o.nurls, 2);
	cr_assert_str_eq(o.urls[1], "tls://h:1");
	cr_assert_eq(fleet_opts_urls(&o, "http://a:b@h:1", err, sizeof(err)), -1);
	cr_assert(strstr(err, "http://***@h:1"), "the error hides the password: %s", err);
	cr_assert_null(strstr(err, "a:b"));
	fleet_opts_free(&o);
	fleet_opts_init(&o);
	cr_assert_eq(fleet_opts_urls(&o, "nats://a,nats://a,nats://a,nats://a,nats://a,nats://a,"
					 "nats://a,nats://a,nats://a", err, sizeof(err)), -1);
	cr_assert(strstr(err, "at most 8"), "%s", err);
	fleet_opts_free(&o);
	fleet_opts_init(&o);
	cr_assert_eq(fleet_opts_urls(&o, ",", err, sizeof(err)), -1);
	fleet_opts_free(&o);
}

Test(fleet_conn, redact)
{
	char out[128];

	fleet_url_redact("nats://user:secret@127.0.0.1:4222", out, sizeof(out));
	cr_assert_str_eq(out, "nats://***@127.0.0.1:4222");
	fleet_url_redact("nats://127.0.0.1:4222", out, sizeof(out));
	cr_assert_str_eq(out, "nats://127.0.0.1:4222");
}

Test(fleet_conn, creds)
{
	struct fleet_opts o;
	char err[256], *p;

	fleet_opts_init(&o);
	p = write_tmp("nek:pa:ss\nignored\n");
	cr_assert_eq(fleet_opts_creds(&o, p, err, sizeof(err)), 0, "%s", err);
	cr_assert_str_eq(o.user, "nek");
	cr_assert_str_eq(o.password, "pa:ss", "the password may hold a colon");
	unlink(p);
	fleet_opts_free(&o);
	fleet_opts_init(&o);
	p = write_tmp("s3cr3t-token\r\n");
	cr_assert_eq(fleet_opts_creds(&o, p, err, sizeof(err)), 0, "%s", err);
	cr_assert_str_eq(o.token, "s3cr3t-token");
	unlink(p);
	fleet_opts_free(&o);
	fleet_opts_init(&o);
	p = write_tmp("-----BEGIN NATS USER JWT-----\neyJ...\n------END NATS USER JWT------\n");
	cr_assert_eq(fleet_opts_creds(&o, p, err, sizeof(err)), 0, "%s", err);
	cr_assert_str_eq(o.creds_file, p, "a .creds file is handed to libnats by name");
	unlink(p);
	fleet_opts_free(&o);
	fleet_opts_init(&o);
	p = write_tmp("");
	cr_assert_eq(fleet_opts_creds(&o, p, err, sizeof(err)), -1);
	cr_assert(strstr(err, "empty"), "%s", err);
	unlink(p);
	cr_assert_eq(fleet_opts_creds(&o, "/nonexistent/creds", err, sizeof(err)), -1);
	p = write_tmp("no certificate here\n");
	cr_assert_eq(fleet_opts_ca(&o, p, err, sizeof(err)), -1);
	unlink(p);
	fleet_opts_free(&o);
}

Test(fleet_conn, prefix_and_names)
{
	struct fleet_opts o;
	char err[256], name[FLEET_BUCKET_MAX];

	fleet_opts_init(&o);
	cr_assert_eq(fleet_bucket_name(&o, "records", false, name, sizeof(name)), 0);
	cr_assert_str_eq(name, "nek_records");
	cr_assert_eq(fleet_bucket_name(&o, "fs_hashes", true, name, sizeof(name)), 0);
	cr_assert_str_eq(name, "fs_hashes", "compat names are upstream's by default");
	cr_assert_eq(fleet_opts_prefix(&o, "prod-1_", err, sizeof(err)), 0);
	cr_assert_eq(fleet_bucket_name(&o, "fs_hashes", true, name, sizeof(name)), 0);
	cr_assert_str_eq(name, "prod-1_fs_hashes");
	cr_assert_eq(fleet_opts_prefix(&o, "a.b", err, sizeof(err)), -1);
	cr_assert_eq(fleet_opts_prefix(&o, "0123456789012345678901234567890123", err, sizeof(err)),
		     -1);
	cr_assert_eq(fleet_opts_prefix(&o, "", err, sizeof(err)), 0);
	cr_assert_eq(fleet_bucket_name(&o, "docs", false, name, sizeof(name)), 0);
	cr_assert_str_eq(name, "docs");
	fleet_opts_free(&o);
}

Test(fleet_conn, tls_name)
{
	struct fleet_opts o;
	char name[FLEET_TLS_NAME_MAX + 1], err[256];

	fleet_opts_init(&o);
	cr_assert_eq(fleet_opts_urls(&o, "tls://u:p@nats-1.example:4222,nats://nats-1.example", err,
				     sizeof(err)), 0);
	cr_assert_eq(fleet_tls_name(&o, name, sizeof(name), err, sizeof(err)), 0, "%s", err);
	cr_assert_str_eq(name, "nats-1.example", "the user information is not the host");
	fleet_opts_free(&o);

	fleet_opts_init(&o);
	cr_assert_eq(fleet_opts_urls(&o, "tls://[::1]:4222", err, sizeof(err)), 0);
	cr_assert_eq(fleet_tls_name(&o, name, sizeof(name), err, sizeof(err)), 0, "%s", err);
	cr_assert_str_eq(name, "::1");
	fleet_opts_free(&o);

	fleet_opts_init(&o);
	cr_assert_eq(fleet_opts_urls(&o, "tls://a.example:1,tls://b.example:1", err, sizeof(err)), 0);
	cr_assert_eq(fleet_tls_name(&o, name, sizeof(name), err, sizeof(err)), -1);
	cr_assert(strstr(err, "different hosts (a.example, b.example)"), "%s", err);
	cr_assert_eq(fleet_opts_tls_name(&o, "nats.example", err, sizeof(err)), 0);
	cr_assert_eq(fleet_tls_name(&o, name, sizeof(name), err, sizeof(err)), 0);
	cr_assert_str_eq(name, "nats.example", "an explicit name wins");
	cr_assert_eq(fleet_opts_tls_name(&o, "bad name", err, sizeof(err)), -1);
	cr_assert_eq(fleet_opts_tls_name(&o, "", err, sizeof(err)), -1);
	fleet_opts_free(&o);
}
