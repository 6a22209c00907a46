/* SigV4 against the 38 cases of the aws-c-auth v4 suite in
 * ../shared/vectors/aws-sigv4-test-suite/v4: header signing and query signing,
 * every intermediate compared, and the server's recomputation of each signed
 * request (right secret accepted, wrong secret and tampering refused). */
#include <criterion/criterion.h>
#include <dirent.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/core/parse.h"
#include "lib/secrets/sigv4.h"
#include "vectors.h"

#define SUITE "aws-sigv4-test-suite/v4"
#define NCASES 38

struct req {
	char *method, *path, *query;
	struct sigv4_header h[SIGV4_MAX_HEADERS];
	size_t nh;
	char *body;
	size_t bodylen;
	char *buf;
};

struct ctx {
	char ak[64], sk[64], token[1024];
	int has_token, normalize, sign_body, omit_token;
	time_t at;
	unsigned expires;
	char region[32], service[32];
};

static char *slurp(const char *dir, const char *name, size_t *len)
{
	char path[4096];
	FILE *f;
	char *buf;
	long n;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "rb");
	cr_assert(f, "open %s", path);
	cr_assert_eq(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	cr_assert(n >= 0);
	rewind(f);
	buf = malloc((size_t)n + 1);
	cr_assert(buf);
	cr_assert_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
	buf[n] = '\0';
	fclose(f);
	if (len)
		*len = (size_t)n;
	return buf;
}

/* The request line target split into path and query. */
static void parse_target(struct req *r, char *line)
{
	char *sp = strchr(line, ' '), *end = strstr(line, " HTTP/1.1"), *q;

	cr_assert(sp && end && end > sp);
	*sp = '\0';
	*end = '\0';
	r->method = line;
	r->path = sp + 1;
	q = strchr(r->path, '?');
	r->query = q ? q + 1 : NULL;
	if (q)
		*q = '\0';
}

/* An HTTP/1.1 message as the suite writes it: folded lines (starting with a
 * space) continue the header before, with the line break kept. */
static void parse_http(struct req *r, char *text, size_t len)
{
	char *p = text, *nl;

	memset(r, 0, sizeof(*r));
	nl = strchr(p, '\n');
	cr_assert(nl);
	*nl = '\0';
	parse_target(r, p);
	p = nl + 1;
	while (*p && *p != '\n') {
		char *colon;

		nl = strchr(p, '\n');
		if (nl)
			*nl = '\0';
		if (*p == ' ') {
			cr_assert(r->nh > 0);
			p[-1] = '\n'; /* re-join the folded line */
		} else {
			colon = strchr(p, ':');
			cr_assert(colon);
			*colon = '\0';
			cr_assert(r->nh < SIGV4_MAX_HEADERS);
			r->h[r->nh].name = p;
			r->h[r->nh++].value = colon + 1;
		}
		if (!nl)
			return;
		p = nl + 1;
	}
	r->body = *p == '\n' ? p + 1 : p;
	r->bodylen = len - (size_t)(r->body - text);
}

static void load_req(struct req *r, const char *dir, const char *name)
{
	size_t len;
	char *text = slurp(dir, name, &len);

	parse_http(r, text, len);
	r->buf = text;
}

static void load_ctx(struct ctx *c, const char *dir)
{
	char path[4096];
	json_error_t jerr;
	json_t *j, *cr;
	const char *tok = NULL, *ts;
	struct tm tm;

	snprintf(path, sizeof(path), "%s/context.json", dir);
	j = json_load_file(path, 0, &jerr);
	cr_assert(j, "%s: %s", path, jerr.text);
	cr = json_object_get(j, "credentials");
	snprintf(c->ak, sizeof(c->ak), "%s", json_string_value(json_object_get(cr, "access_key_id")));
	snprintf(c->sk, sizeof(c->sk), "%s",
		 json_string_value(json_object_get(cr, "secret_access_key")));
	tok = json_string_value(json_object_get(cr, "token"));
	c->has_token = tok != NULL;
	snprintf(c->token, sizeof(c->token), "%s", tok ? tok : "");
	snprintf(c->region, sizeof(c->region), "%s", json_string_value(json_object_get(j, "region")));
	snprintf(c->service, sizeof(c->service), "%s",
		 json_string_value(json_object_get(j, "service")));
	c->normalize = json_is_true(json_object_get(j, "normalize"));
	c->sign_body = json_is_true(json_object_get(j, "sign_body"));
	c->omit_token = json_is_true(json_object_get(j, "omit_session_token"));
	c->expires = (unsigned)json_integer_value(json_object_get(j, "expiration_in_seconds"));
	ts = json_string_value(json_object_get(j, "timestamp"));
	memset(&tm, 0, sizeof(tm));
	cr_assert(ts && strptime(ts, "%Y-%m-%dT%H:%M:%SZ", &tm));
	c->at = timegm(&tm);
	json_decref(j);
}

static void to_sigv4(const struct req *in, const struct ctx *c, struct sigv4_request *out)
{
	memset(out, 0, sizeof(*out));
	out->method = in->method;
	out->path = in->path;
	out->query = in->query;
	out->headers = in->h;
	out->nheaders = in->nh;
	out->normalize = c->normalize;
	sigv4_sha256_hex(in->body, in->bodylen, out->payload_hash);
}

static const char *find_header(const struct req *r, const char *name)
{
	for (size_t i = 0; i < r->nh; i++)
		if (strcmp(r->h[i].name, name) == 0)
			return r->h[i].value;
	return NULL;
}

static void expect_file(const char *dir, const char *name, const char *got, const char *tcase)
{
	char *want = slurp(dir, name, NULL);

	cr_expect_str_eq(got, want, "%s/%s", tcase, name);
	free(want);
}

static void header_case(const char *dir, const char *name)
{
	struct req in, signed_req;
	struct ctx c;
	struct sigv4_request r;
	struct sigv4_creds cr;
	struct sigv4_result res;
	char err[256];
	const char *want_auth;

	load_ctx(&c, dir);
	load_req(&in, dir, "request.txt");
	to_sigv4(&in, &c, &r);
	cr = (struct sigv4_creds){ c.ak, c.sk, c.has_token ? c.token : NULL };
	cr_assert_eq(sigv4_sign(&r, &cr, c.region, c.service, c.at,
				(c.sign_body ? SIGV4_SIGN_BODY : 0) |
					(c.omit_token ? SIGV4_OMIT_TOKEN : 0),
				&res, err, sizeof(err)),
		     0, "%s: %s", name, err);
	expect_file(dir, "header-canonical-request.txt", res.canonical_request, name);
	expect_file(dir, "header-string-to-sign.txt", res.string_to_sign, name);
	expect_file(dir, "header-signature.txt", res.signature, name);
	load_req(&signed_req, dir, "header-signed-request.txt");
	want_auth = find_header(&signed_req, "Authorization");
	cr_assert(want_auth, "%s: no Authorization", name);
	cr_expect_str_eq(res.authorization, want_auth, "%s: Authorization", name);
	cr_expect_str_eq(res.amz_date, find_header(&signed_req, "X-Amz-Date"), "%s", name);
	sigv4_result_free(&res);
	free(signed_req.buf);
	free(in.buf);
}

/* The server's side on the suite's signed request. */
static void verify_case(const char *dir, const char *name)
{
	struct req in;
	struct ctx c;
	struct sigv4_request r;
	struct sigv4_auth a;
	char err[256], bad[80];
	const char *auth;

	load_ctx(&c, dir);
	load_req(&in, dir, "header-signed-request.txt");
	to_sigv4(&in, &c, &r);
	auth = find_header(&in, "Authorization");
	cr_assert(auth);
	cr_assert_eq(sigv4_parse_authorization(auth, strlen(auth), &a, err, sizeof(err)), 0, "%s: %s",
		     name, err);
	cr_expect_str_eq(a.access_key, c.ak);
	cr_expect_str_eq(a.region, c.region);
	cr_expect_str_eq(a.service, c.service);
	cr_expect_eq(sigv4_verify(&r, &a, c.sk, err, sizeof(err)), 0, "%s: %s", name, err);
	snprintf(bad, sizeof(bad), "%sX", c.sk);
	cr_expect_eq(sigv4_verify(&r, &a, bad, err, sizeof(err)), -1, "%s: wrong secret passed", name);
	cr_expect(strstr(err, "does not match"), "%s: %s", name, err);
	/* Any change to what was signed must break the signature. */
	r.method = strcmp(r.method, "GET") ? "GET" : "PUT";
	cr_expect_eq(sigv4_verify(&r, &a, c.sk, err, sizeof(err)), -1, "%s: method change", name);
	free(in.buf);
}

static void query_case(const char *dir, const char *name)
{
	struct req in, signed_req;
	struct ctx c;
	struct sigv4_request r;
	struct sigv4_creds cr;
	struct sigv4_result res;
	char err[256];

	load_ctx(&c, dir);
	load_req(&in, dir, "request.txt");
	to_sigv4(&in, &c, &r);
	cr = (struct sigv4_creds){ c.ak, c.sk, c.has_token ? c.token : NULL };
	cr_assert_eq(sigv4_presign(&r, &cr, c.region, c.service, c.at, c.expires,
				   c.omit_token ? SIGV4_OMIT_TOKEN : 0, &res, err, sizeof(err)),
		     0, "%s: %s", name, err);
	expect_file(dir, "query-canonical-request.txt", res.canonical_request, name);
	expect_file(dir, "query-string-to-sign.txt", res.string_to_sign, name);
	expect_file(dir, "query-signature.txt", res.signature, name);
	load_req(&signed_req, dir, "query-signed-request.txt");
	cr_expect_str_eq(res.query, signed_req.query ? signed_req.query : "", "%s: query", name);
	sigv4_result_free(&res);
	free(signed_req.buf);
	free(in.buf);
}

static int each_case(void (*fn)(const char *, const char *))
{
	char root[4096], dir[4096 + 256];
	struct dirent *e;
	DIR *d;
	int n = 0;

	snprintf(root, sizeof(root), "%s/" SUITE, vectors_dir());
	d = opendir(root);
	if (!d)
		cr_skip_test("no %s", root);
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(dir, sizeof(dir), "%s/%s", root, e->d_name);
		fn(dir, e->d_name);
		n++;
	}
	closedir(d);
	return n;
}

Test(sigv4, suite_header_signing)
{
	cr_expect_eq(each_case(header_case), NCASES);
}

Test(sigv4, suite_server_verify)
{
	cr_expect_eq(each_case(verify_case), NCASES);
}

Test(sigv4, suite_query_signing)
{
	cr_expect_eq(each_case(query_case), NCASES);
}

/* The chain of the AWS documentation's example (secret, 20120215,
 * us-east-1, iam), independent of the suite. */
Test(sigv4, signing_key_known_answer)
{
	uint8_t key[32];
	char hex[65];

	cr_assert_eq(sigv4_signing_key("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "20120215",
				       "us-east-1", "iam", key),
		     0);
	format_hex(key, 32, hex);
	cr_expect_str_eq(hex, "f4780e2d9f65fa895f9c67b32ce1baf0b0d8a43505a000a1a9e090d414db404d");
}

static int parse(const char *s, struct sigv4_auth *a, char *err)
{
	return sigv4_parse_authorization(s, strlen(s), a, err, 256);
}

#define GOODSIG "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"

Test(sigv4, authorization_parse_good)
{
	struct sigv4_auth a;
	char err[256];

	cr_assert_eq(parse("AWS4-HMAC-SHA256 Credential=AKID/20150830/us-east-1/kms/aws4_request,"
			   "SignedHeaders=host;x-amz-date,Signature=" GOODSIG,
			   &a, err),
		     0, "%s", err);
	cr_expect_str_eq(a.access_key, "AKID");
	cr_expect_str_eq(a.date, "20150830");
	cr_expect_str_eq(a.region, "us-east-1");
	cr_expect_str_eq(a.service, "kms");
	cr_expect_str_eq(a.signed_headers, "host;x-amz-date");
	cr_expect_str_eq(a.signature, GOODSIG);
}

Test(sigv4, authorization_parse_refusals)
{
	static const char *const bad[] = {
		"AWS4-HMAC-SHA1 Credential=A/20150830/r/s/aws4_request, SignedHeaders=host, Signature=" GOODSIG,
		"AWS4-HMAC-SHA256Credential=A/20150830/r/s/aws4_request, SignedHeaders=host, Signature=" GOODSIG,
		"AWS4-HMAC-SHA256 Credential=A/2015083/r/s/aws4_request, SignedHeaders=host, Signature=" GOODSIG,
		"AWS4-HMAC-SHA256 Credential=A/20150830/r/s/aws4_reques, SignedHeaders=host, Signature=" GOODSIG,
		"AWS4-HMAC-SHA256 Credential=A/20150830/R/s/aws4_request, SignedHeaders=host, Signature=" GOODSIG,
		"AWS4-HMAC-SHA256 Credential=/20150830/r/s/aws4_request, SignedHeaders=host, Signature=" GOODSIG,
		"AWS4-HMAC-SHA256 Credential=A/20150830/r/s/aws4_request, SignedHeaders=x-amz-date;host, Signature=" GOODSIG,
		"AWS4-HMAC-SHA256 Credential=A/20150830/r/s/aws4_request, SignedHeaders=host;host, Signature=" GOODSIG,
		"AWS4-HMAC-SHA256 Credential=A/20150830/r/s/aws4_request, SignedHeaders=Host, Signature=" GOODSIG,
		"AWS4-HMAC-SHA256 Credential=A/20150830/r/s/aws4_request, SignedHeaders=host;, Signature=" GOODSIG,
		"AWS4-HMAC-SHA256 Credential=A/20150830/r/s/aws4_request, SignedHeaders=host, Signature=" GOODSIG "0",
		"AWS4-HMAC-SHA256 Credential=A/20150830/r/s/aws4_request, SignedHeaders=host, Signature=5FA00FA31553B73EBF1942676E86291E8372FF2A2260956D9B8AAE1D763FBF31",
		"AWS4-HMAC-SHA256 Credential=A/20150830/r/s/aws4_request, Signature=" GOODSIG,
		"AWS4-HMAC-SHA256 Credential=A/20150830/r/s/aws4_request SignedHeaders=host, Signature=" GOODSIG,
		"AWS4-HMAC-SHA256 Credential=A/20150830/r/s/aws4_request, SignedHeaders=host, Signature=" GOODSIG " ",
		"",
	};
	struct sigv4_auth a;
	char err[256];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		cr_expect_eq(parse(bad[i], &a, err), -1, "accepted: %s", bad[i]);
		cr_expect(strncmp(err, "Authorization: ", 15) == 0, "%s", err);
	}
}

Test(sigv4, authorization_bounds)
{
	struct sigv4_auth a;
	char err[256], *big = malloc(SIGV4_MAX_AUTH + 100), *p;

	cr_assert(big);
	/* 65 signed header names: one over the bound. */
	p = big + sprintf(big, "AWS4-HMAC-SHA256 Credential=A/20150830/r/s/aws4_request, SignedHeaders=");
	for (int i = 0; i < SIGV4_MAX_HEADERS + 1; i++)
		p += sprintf(p, "%sh%03d", i ? ";" : "", i);
	sprintf(p, ", Signature=%s", GOODSIG);
	cr_expect_eq(parse(big, &a, err), -1);
	cr_expect(strstr(err, "too many"), "%s", err);
	memset(big, 'A', SIGV4_MAX_AUTH + 1);
	big[SIGV4_MAX_AUTH + 1] = '\0';
	cr_expect_eq(parse(big, &a, err), -1);
	cr_expect(strstr(err, "longer than"), "%s", err);
	free(big);
}

Test(sigv4, verify_needs_host_date_and_matching_day)
{
	struct sigv4_header h[] = { { "Host", "kms.local" }, { "X-Amz-Date", "20150830T123600Z" } };
	struct sigv4_request r = { .method = "POST", .path = "/", .headers = h, .nheaders = 2 };
	struct sigv4_auth a;
	char err[256];

	sigv4_sha256_hex("", 0, r.payload_hash);
	cr_assert_eq(parse("AWS4-HMAC-SHA256 Credential=A/20150831/r/kms/aws4_request, "
			   "SignedHeaders=host;x-amz-date, Signature=" GOODSIG, &a, err), 0);
	cr_expect_eq(sigv4_verify(&r, &a, "s", err, sizeof(err)), -1);
	cr_expect(strstr(err, "not the day"), "%s", err);
	cr_assert_eq(parse("AWS4-HMAC-SHA256 Credential=A/20150830/r/kms/aws4_request, "
			   "SignedHeaders=x-amz-date, Signature=" GOODSIG, &a, err), 0);
	cr_expect_eq(sigv4_verify(&r, &a, "s", err, sizeof(err)), -1);
	cr_expect(strstr(err, "host"), "%s", err);
	cr_assert_eq(parse("AWS4-HMAC-SHA256 Credential=A/20150830/r/kms/aws4_request, "
			   "SignedHeaders=content-type;host;x-amz-date, Signature=" GOODSIG, &a, err), 0);
	cr_expect_eq(sigv4_verify(&r, &a, "s", err, sizeof(err)), -1);
	cr_expect(strstr(err, "content-type"), "%s", err);
}

Test(sigv4, canonical_refusals)
{
	char err[256], *s;

	cr_expect_null(sigv4_canonical_query("a=%zz", err, sizeof(err)));
	cr_expect_null(sigv4_canonical_query("a=%00", err, sizeof(err)));
	cr_expect_null(sigv4_canonical_uri("relative", true, err, sizeof(err)));
	s = sigv4_canonical_query("b=2&a=x+y&&c=a/b", err, sizeof(err));
	cr_assert(s, "%s", err);
	cr_expect_str_eq(s, "a=x%2By&b=2&c=a%2Fb");
	free(s);
	s = sigv4_canonical_uri("/a/../../b/./c//", true, err, sizeof(err));
	cr_assert(s, "%s", err);
	cr_expect_str_eq(s, "/b/c/");
	free(s);
}
