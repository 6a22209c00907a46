/* The KMS client without a network: the signed request is checked with the
 * server-side SigV4 code exactly as the headers would go out; endpoints,
 * error bodies, retry classes and credential lookup. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/secrets/kms_client.h"
#include "lib/secrets/kms_creds.h"

#define AK "AKIDTEST"
#define SK "secret/Key+for+tests"
#define T0 1765100000 /* 2025-12-07 */

static struct kms_creds creds(const char *token)
{
	struct kms_creds c = { 0 };

	c.access_key = strdup(AK);
	c.secret_key = strdup(SK);
	c.token = token ? strdup(token) : NULL;
	return c;
}

/* The request as a server receives it: the header lines split back. */
struct received {
	struct sigv4_header h[16];
	char store[16][4300];
	size_t n;
	const char *auth, *sha;
};

static void receive(const struct kms_request *req, struct received *rx)
{
	struct curl_slist *l = kms_request_headers(req), *it;

	cr_assert(l);
	memset(rx, 0, sizeof(*rx));
	for (it = l; it; it = it->next) {
		char *colon;

		cr_assert(rx->n < 16);
		snprintf(rx->store[rx->n], sizeof(rx->store[0]), "%s", it->data);
		colon = strchr(rx->store[rx->n], ':');
		cr_assert(colon, "%s", it->data);
		*colon = '\0';
		if (strcmp(rx->store[rx->n], "Expect") == 0)
			continue; /* curl drops an empty header */
		rx->h[rx->n].name = rx->store[rx->n];
		rx->h[rx->n].value = colon + 2;
		if (strcmp(rx->store[rx->n], "Authorization") == 0)
			rx->auth = colon + 2;
		if (strcmp(rx->store[rx->n], "X-Amz-Content-Sha256") == 0)
			rx->sha = colon + 2;
		rx->n++;
	}
	curl_slist_free_all(l);
}

static int server_verify(const struct received *rx, const char *body, const char *secret,
			 struct sigv4_auth *a, char *err)
{
	struct sigv4_request r = { .method = "POST", .path = "/", .headers = rx->h,
				   .nheaders = rx->n, .normalize = true };

	sigv4_sha256_hex(body, strlen(body), r.payload_hash);
	cr_assert(rx->auth);
	cr_assert_eq(sigv4_parse_authorization(rx->auth, strlen(rx->auth), a, err, 256), 0, "%s", err);
	return sigv4_verify(&r, a, secret, err, 256);
}

Test(kms_client, request_verifies_on_the_server_side)
{
	struct kms_creds c = creds("session/token==");
	struct kms_client_cfg cfg = { .endpoint = "https://127.0.0.1:8443/", .region = "us-east-1",
				      .creds = &c };
	struct kms_request req;
	struct received rx;
	struct sigv4_auth a;
	const char *body = "{\"KeyId\":\"k\"}";
	char err[256], sha[65];

	cr_assert_eq(kms_request_build(&cfg, "Decrypt", body, strlen(body), T0, &req, err,
				       sizeof(err)),
		     0, "%s", err);
	cr_expect_str_eq(req.host, "127.0.0.1:8443");
	cr_expect_str_eq(req.target, "TrentService.Decrypt");
	receive(&req, &rx);
	sigv4_sha256_hex(body, strlen(body), sha);
	cr_expect_str_eq(rx.sha, sha);
	cr_expect_eq(server_verify(&rx, body, SK, &a, err), 0, "%s", err);
	cr_expect_str_eq(a.signed_headers, "content-type;host;x-amz-content-sha256;x-amz-date;"
					   "x-amz-security-token;x-amz-target");
	cr_expect_str_eq(a.service, "kms");
	cr_expect_str_eq(a.region, "us-east-1");
	cr_expect_eq(server_verify(&rx, body, "wrong", &a, err), -1);
	cr_expect_eq(server_verify(&rx, "{\"KeyId\":\"other\"}", SK, &a, err), -1,
		     "a changed body still verified");
	kms_request_free(&req);
	kms_creds_free(&c);
}

Test(kms_client, no_token_no_token_header)
{
	struct kms_creds c = creds(NULL);
	struct kms_client_cfg cfg = { .region = "eu-west-1", .creds = &c };
	struct kms_request req;
	struct received rx;
	struct sigv4_auth a;
	char err[256];

	cr_assert_eq(kms_request_build(&cfg, "GenerateRandom", "{}", 2, T0, &req, err, sizeof(err)),
		     0, "%s", err);
	cr_expect_str_eq(req.url, "https://kms.eu-west-1.amazonaws.com/");
	cr_expect_str_eq(req.host, "kms.eu-west-1.amazonaws.com");
	receive(&req, &rx);
	for (size_t i = 0; i < rx.n; i++)
		cr_expect_neq(strcmp(rx.h[i].name, "X-Amz-Security-Token"), 0);
	cr_expect_eq(server_verify(&rx, "{}", SK, &a, err), 0, "%s", err);
	cr_expect_str_eq(a.signed_headers,
			 "content-type;host;x-amz-content-sha256;x-amz-date;x-amz-target");
	kms_request_free(&req);
	kms_creds_free(&c);
}

static int build(const char *endpoint, const char *region, char *err)
{
	struct kms_creds c = creds(NULL);
	struct kms_client_cfg cfg = { .endpoint = endpoint, .region = region, .creds = &c };
	struct kms_request req;
	int rc = kms_request_build(&cfg, "Decrypt", "{}", 2, T0, &req, err, 256);

	if (rc == 0)
		kms_request_free(&req);
	kms_creds_free(&c);
	return rc;
}

Test(kms_client, endpoints)
{
	char err[256];

	cr_expect_eq(build("http://127.0.0.1:4000/", "us-east-1", err), 0, "%s", err);
	cr_expect_eq(build("http://localhost:4000", "us-east-1", err), 0, "%s", err);
	cr_expect_eq(build("https://[::1]:4000/", "us-east-1", err), 0, "%s", err);
	cr_expect_eq(build("http://kms.example.com/", "us-east-1", err), -1);
	cr_expect(strstr(err, "https only"), "%s", err);
	cr_expect_eq(build("https://127.0.0.1/?a=b", "us-east-1", err), -1);
	cr_expect(strstr(err, "query"), "%s", err);
	cr_expect_eq(build("ftp://127.0.0.1/", "us-east-1", err), -1);
	cr_expect_eq(build("not a url", "us-east-1", err), -1);
	cr_expect_eq(build(NULL, "US-EAST-1", err), -1);
	cr_expect(strstr(err, "region"), "%s", err);
	cr_expect_eq(build(NULL, "us-east-1/../x", err), -1);
}

Test(kms_client, error_bodies_and_retry_classes)
{
	struct kms_error e;
	static const char b1[] = "{\"__type\":\"com.amazonaws.kms#NotFoundException\","
				 "\"message\":\"Key 'x' does not exist\"}";
	static const char b3[] = "{\"__type\":\"AccessDeniedException\",\"message\":\"no\"}";
	static const char b2[] = "{\"__type\":\"ThrottlingException\",\"Message\":\"slow\\u0007\"}";

	kms_error_parse(b1, strlen(b1), 400, &e);
	cr_expect_str_eq(e.type, "NotFoundException");
	cr_expect_str_eq(e.message, "Key 'x' does not exist");
	cr_expect_not(kms_error_retryable(&e));
	kms_error_parse(b2, strlen(b2), 400, &e);
	cr_expect_str_eq(e.type, "ThrottlingException");
	cr_expect_str_eq(e.message, "slow?"); /* a control character never reaches the terminal */
	cr_expect(kms_error_retryable(&e));
	kms_error_parse("<html>", 6, 503, &e);
	cr_expect_str_eq(e.type, "");
	cr_expect(strstr(e.message, "HTTP 503"), "%s", e.message);
	cr_expect(kms_error_retryable(&e));
	kms_error_parse(b3, strlen(b3), 400, &e);
	cr_expect_str_eq(e.type, "AccessDeniedException");
	cr_expect_not(kms_error_retryable(&e));
}

static const char CREDS[] = "# test file\n"
			    "[default]\n"
			    "aws_access_key_id = AKDEF\n"
			    "aws_secret_access_key=SKDEF\n"
			    "region = us-east-1\n"
			    "\n"
			    "[profile ops]\n"
			    "; comment\n"
			    "aws_access_key_id\t=  AKOPS  \r\n"
			    "aws_secret_access_key = SKOPS\n"
			    "aws_session_token = TOK\n"
			    "[half]\n"
			    "aws_access_key_id = AKHALF\n"
			    "[twice]\n"
			    "aws_access_key_id = A\n"
			    "aws_access_key_id = B\n"
			    "aws_secret_access_key = S\n";

Test(kms_client, shared_credentials_parse)
{
	struct kms_creds c;
	char err[256];

	cr_assert_eq(kms_creds_parse(CREDS, "F", "default", &c, err, sizeof(err)), 0, "%s", err);
	cr_expect_str_eq(c.access_key, "AKDEF");
	cr_expect_str_eq(c.secret_key, "SKDEF");
	cr_expect_null(c.token);
	kms_creds_free(&c);
	cr_assert_eq(kms_creds_parse(CREDS, "F", "ops", &c, err, sizeof(err)), 0, "%s", err);
	cr_expect_str_eq(c.access_key, "AKOPS");
	cr_expect_str_eq(c.token, "TOK");
	kms_creds_free(&c);
	cr_expect_eq(kms_creds_parse(CREDS, "F", "half", &c, err, sizeof(err)), -1);
	cr_expect(strstr(err, "lacks") && !strstr(err, "AKHALF"), "%s", err);
	cr_expect_eq(kms_creds_parse(CREDS, "F", "twice", &c, err, sizeof(err)), -1);
	cr_expect(strstr(err, "twice") && !strstr(err, "= A"), "%s", err);
	cr_expect_eq(kms_creds_parse(CREDS, "F", "none", &c, err, sizeof(err)), -1);
	cr_expect(strstr(err, "no profile [none]"), "%s", err);
}

Test(kms_client, lookup_order)
{
	char path[] = "/tmp/kms-creds-XXXXXX", err[256];
	int fd = mkstemp(path);
	struct kms_creds c;

	cr_assert(fd >= 0);
	cr_assert_eq(write(fd, CREDS, strlen(CREDS)), (ssize_t)strlen(CREDS));
	close(fd);
	setenv("AWS_SHARED_CREDENTIALS_FILE", path, 1);
	unsetenv("AWS_PROFILE");
	setenv("AWS_ACCESS_KEY_ID", "AKENV", 1);
	setenv("AWS_SECRET_ACCESS_KEY", "SKENV", 1);
	cr_assert_eq(kms_creds_load(NULL, &c, err, sizeof(err)), 0, "%s", err);
	cr_expect_str_eq(c.access_key, "AKENV");
	kms_creds_free(&c);
	/* An explicit profile reads the file, as the AWS CLI does. */
	cr_assert_eq(kms_creds_load("ops", &c, err, sizeof(err)), 0, "%s", err);
	cr_expect_str_eq(c.access_key, "AKOPS");
	kms_creds_free(&c);
	unsetenv("AWS_SECRET_ACCESS_KEY");
	cr_expect_eq(kms_creds_load(NULL, &c, err, sizeof(err)), -1);
	cr_expect(strstr(err, "AWS_SECRET_ACCESS_KEY") && !strstr(err, "AKENV"), "%s", err);
	unsetenv("AWS_ACCESS_KEY_ID");
	setenv("AWS_PROFILE", "ops", 1);
	cr_assert_eq(kms_creds_load(NULL, &c, err, sizeof(err)), 0, "%s", err);
	cr_expect_str_eq(c.secret_key, "SKOPS");
	kms_creds_free(&c);
	unlink(path);
}
