/* The one shared-credentials reader (lib/secrets/kms_creds): every profile
 * for the KMS server, one for the client; comments, whitespace, the
 * "profile " form, missing and repeated keys, bad lines kept to their
 * profile, file-level errors, sizes; and no error ever shows a value. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/secrets/kms_creds.h"

static const char FILE_TEXT[] = "# a comment\n"
				"; another\n"
				"\n"
				"  [default]  \r\n"
				"aws_access_key_id=AKDEF\n"
				"\taws_secret_access_key \t=\t SKDEF with spaces \t\r\n"
				"region = eu-west-1\n"
				"[profile ops]\n"
				"   # indented comment\n"
				"aws_access_key_id = AKOPS\n"
				"aws_secret_access_key = SKOPS\n"
				"aws_session_token = TOK==\n"
				"principal_arn = arn:aws:iam::111122223333:user/ops\n"
				"[ profile  spaced ]\n"
				"aws_access_key_id = AKSP\n"
				"aws_secret_access_key = =starts=with=equals\n"
				"[nosecret]\n"
				"aws_access_key_id = AKNOSEC\n"
				"[empty]\n"
				"aws_access_key_id =\n"
				"aws_secret_access_key = SKEMPTY\n"
				"aws_session_token =\n"
				"[dup]\n"
				"aws_access_key_id = AKDUP1\n"
				"aws_access_key_id = AKDUP2\n"
				"aws_secret_access_key = SKDUP\n"
				"[noeq]\n"
				"aws_access_key_id = AKNOEQ\n"
				"aws_secret_access_key SKNOEQ\n";

static struct kms_profiles parse_ok(const char *t)
{
	struct kms_profiles ps;
	char err[256];

	cr_assert_eq(kms_profiles_parse(t, strlen(t), "F", &ps, err, sizeof(err)), 0, "%s", err);
	return ps;
}

static char *parse_err(const char *t, size_t len)
{
	static char err[256];
	struct kms_profiles ps;

	err[0] = '\0';
	cr_assert_eq(kms_profiles_parse(t, len, "F", &ps, err, sizeof(err)), -1, "accepted: %s", t);
	cr_expect_null(ps.p);
	cr_expect_eq(ps.n, 0);
	return err;
}

Test(kms_creds, every_profile_in_file_order)
{
	struct kms_profiles ps = parse_ok(FILE_TEXT);

	cr_assert_eq(ps.n, 7);
	cr_expect_str_eq(ps.p[0].name, "default");
	cr_expect_eq(ps.p[0].line, 4);
	cr_expect_str_eq(ps.p[0].access_key, "AKDEF");
	cr_expect_str_eq(ps.p[0].secret_key, "SKDEF with spaces");
	cr_expect_null(ps.p[0].token);
	cr_expect_null(ps.p[0].principal_arn);
	cr_expect_str_eq(ps.p[1].name, "ops");
	cr_expect_str_eq(ps.p[1].token, "TOK==");
	cr_expect_str_eq(ps.p[1].principal_arn, "arn:aws:iam::111122223333:user/ops");
	cr_expect_str_eq(ps.p[2].name, "spaced");
	cr_expect_str_eq(ps.p[2].secret_key, "=starts=with=equals");
	cr_expect_str_eq(ps.p[3].name, "nosecret");
	cr_expect_null(ps.p[3].secret_key);
	cr_expect_str_eq(ps.p[4].access_key, "");
	for (size_t i = 0; i < 5; i++)
		cr_expect_eq(ps.p[i].bad[0], '\0', "[%s] %s", ps.p[i].name, ps.p[i].bad);
	cr_expect_str_eq(ps.p[5].bad, "25: aws_access_key_id given twice");
	cr_expect_str_eq(ps.p[6].bad, "29: a line without '='");
	kms_profiles_free(&ps);
	cr_expect_null(ps.p);
}

Test(kms_creds, usable_profiles_and_why_not)
{
	struct kms_profiles ps = parse_ok(FILE_TEXT);
	char err[256];

	cr_expect_not_null(kms_profiles_get(&ps, "F", "default", err, sizeof(err)), "%s", err);
	cr_expect_not_null(kms_profiles_get(&ps, "F", "spaced", err, sizeof(err)), "%s", err);
	cr_expect_null(kms_profiles_get(&ps, "F", "nosecret", err, sizeof(err)));
	cr_expect_str_eq(err, "F: profile [nosecret] lacks aws_access_key_id or aws_secret_access_key");
	cr_expect_null(kms_profiles_get(&ps, "F", "empty", err, sizeof(err)));
	cr_expect(strstr(err, "lacks"), "%s", err);
	cr_expect_null(kms_profiles_get(&ps, "F", "dup", err, sizeof(err)));
	cr_expect_str_eq(err, "F:25: aws_access_key_id given twice in [dup]");
	cr_expect_null(kms_profiles_get(&ps, "F", "noeq", err, sizeof(err)));
	cr_expect_str_eq(err, "F:29: a line without '=' in [noeq]");
	cr_expect(!strstr(err, "SKNOEQ"), "%s", err);
	cr_expect_null(kms_profiles_get(&ps, "F", "Default", err, sizeof(err)));
	cr_expect_str_eq(err, "F: no profile [Default]");
	kms_profiles_free(&ps);
}

Test(kms_creds, one_profile_for_the_client)
{
	struct kms_creds c;
	char err[256];

	cr_assert_eq(kms_creds_parse(FILE_TEXT, "F", "ops", &c, err, sizeof(err)), 0, "%s", err);
	cr_expect_str_eq(c.access_key, "AKOPS");
	cr_expect_str_eq(c.secret_key, "SKOPS");
	cr_expect_str_eq(c.token, "TOK==");
	cr_expect_str_eq(c.source, "F [ops]");
	kms_creds_free(&c);
	cr_expect_null(c.access_key);
	/* An empty token is no token: no X-Amz-Security-Token header. */
	cr_assert_eq(kms_creds_parse("[e]\naws_access_key_id=A\naws_secret_access_key=S\n"
				     "aws_session_token=\n", "F", "e", &c, err, sizeof(err)), 0, "%s", err);
	cr_expect_null(c.token);
	kms_creds_free(&c);
	cr_expect_eq(kms_creds_parse(FILE_TEXT, "F", "dup", &c, err, sizeof(err)), -1);
	cr_expect(!strstr(err, "AKDUP"), "%s", err);
	cr_expect_null(c.access_key);
}

Test(kms_creds, file_level_errors)
{
	cr_expect_str_eq(parse_err("aws_access_key_id = A\n[p]\n", 26),
			 "F:1: not 'key = value' inside a [profile]");
	cr_expect_str_eq(parse_err("[p]\n[open\n", 10), "F:2: malformed section header");
	cr_expect_str_eq(parse_err("[p] junk\n", 9), "F:1: malformed section header");
	cr_expect_str_eq(parse_err("[]\n", 3), "F:1: profile name of 0 characters (1 to 63)");
	cr_expect_str_eq(parse_err("[   ]\n", 6), "F:1: profile name of 0 characters (1 to 63)");
	cr_expect_str_eq(parse_err("[a]\n#\n[profile a]\n", 18),
			 "F:3: profile [a] given twice (first at line 1)");
	cr_expect_str_eq(parse_err("[a]\nx=1\0[b]\n", 12), "F: contains a NUL byte");
}

Test(kms_creds, sizes)
{
	char name[80], *big, *t;
	size_t n;
	struct kms_profiles ps;
	char err[256];

	/* Names: 63 characters, not 64. */
	memset(name, 'n', sizeof(name));
	snprintf(name, sizeof(name), "[%.*s]\n", KMS_PROFILE_NAME_MAX, "nnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnn");
	ps = parse_ok(name);
	cr_expect_eq(strlen(ps.p[0].name), KMS_PROFILE_NAME_MAX);
	kms_profiles_free(&ps);
	snprintf(name, sizeof(name), "[%.*s]\n", KMS_PROFILE_NAME_MAX + 1, "nnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnn");
	cr_expect(strstr(parse_err(name, strlen(name)), "64 characters"));

	/* Values: KMS_CREDS_VALUE_MAX bytes, not one more (only that profile is bad). */
	big = malloc(KMS_CREDS_VALUE_MAX + 64);
	cr_assert_not_null(big);
	n = (size_t)snprintf(big, 64, "[p]\naws_secret_access_key = ");
	memset(big + n, 'v', KMS_CREDS_VALUE_MAX + 1);
	big[n + KMS_CREDS_VALUE_MAX + 1] = '\0';
	ps = parse_ok(big);
	cr_expect_str_eq(ps.p[0].bad, "2: aws_secret_access_key too long");
	kms_profiles_free(&ps);
	big[n + KMS_CREDS_VALUE_MAX] = '\0';
	ps = parse_ok(big);
	cr_expect_eq(strlen(ps.p[0].secret_key), KMS_CREDS_VALUE_MAX);
	kms_profiles_free(&ps);
	free(big);

	/* Profiles: KMS_PROFILES_MAX, not one more. */
	t = calloc(KMS_PROFILES_MAX + 1, 16);
	cr_assert_not_null(t);
	for (int i = 0; i < KMS_PROFILES_MAX; i++)
		sprintf(t + strlen(t), "[p%d]\n", i);
	ps = parse_ok(t);
	cr_expect_eq(ps.n, KMS_PROFILES_MAX);
	kms_profiles_free(&ps);
	strcat(t, "[last]\n");
	cr_expect_str_eq(parse_err(t, strlen(t)), "F:65: more than 64 profiles");
	free(t);

	/* The file: at most KMS_CREDS_FILE_MAX bytes. */
	big = malloc(KMS_CREDS_FILE_MAX + 1);
	cr_assert_not_null(big);
	memset(big, '\n', KMS_CREDS_FILE_MAX + 1);
	cr_expect_eq(kms_profiles_parse(big, KMS_CREDS_FILE_MAX, "F", &ps, err, sizeof(err)), 0, "%s", err);
	kms_profiles_free(&ps);
	cr_expect(strstr(parse_err(big, KMS_CREDS_FILE_MAX + 1), "larger than"));
	free(big);
}

Test(kms_creds, load_from_a_file)
{
	char path[] = "/tmp/kms-creds-XXXXXX", err[256];
	int fd = mkstemp(path);
	struct kms_profiles ps;
	char *big;

	cr_assert(fd >= 0);
	cr_assert_eq(write(fd, FILE_TEXT, strlen(FILE_TEXT)), (ssize_t)strlen(FILE_TEXT));
	cr_assert_eq(kms_profiles_load(path, &ps, err, sizeof(err)), 0, "%s", err);
	cr_expect_eq(ps.n, 7);
	kms_profiles_free(&ps);
	/* Grown past the limit: refused by size, not read without bound. */
	big = malloc(KMS_CREDS_FILE_MAX);
	cr_assert_not_null(big);
	memset(big, '#', KMS_CREDS_FILE_MAX);
	cr_assert_eq(write(fd, big, KMS_CREDS_FILE_MAX), (ssize_t)KMS_CREDS_FILE_MAX);
	free(big);
	close(fd);
	cr_expect_eq(kms_profiles_load(path, &ps, err, sizeof(err)), -1);
	cr_expect(strstr(err, "larger than 1 MiB"), "%s", err);
	unlink(path);
	cr_expect_eq(kms_profiles_load(path, &ps, err, sizeof(err)), -1);
	cr_expect(strstr(err, "No such file"), "%s", err);
}
