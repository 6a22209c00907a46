/* The pure parts of the S3 client: ranges, part planning, the complete
 * body, and the endpoint and bucket checks made before any request. */
#include <criterion/criterion.h>
#include <string.h>

#include "lib/secrets/s3_http.h"
#include "lib/secrets/s3_part.h"

Test(s3_client, ranges)
{
	struct s3_range r;
	char err[256];

	cr_assert_eq(s3_range_parse("0-99", &r, err, sizeof(err)), 0, "%s", err);
	cr_assert(r.kind == S3_RANGE_FROM_TO && r.first == 0 && r.last == 99);
	cr_assert_eq(s3_range_parse("7-7", &r, err, sizeof(err)), 0);
	cr_assert(r.kind == S3_RANGE_FROM_TO && r.first == 7 && r.last == 7);
	cr_assert_eq(s3_range_parse("100-", &r, err, sizeof(err)), 0);
	cr_assert(r.kind == S3_RANGE_FROM && r.first == 100);
	cr_assert_eq(s3_range_parse("-10", &r, err, sizeof(err)), 0);
	cr_assert(r.kind == S3_RANGE_SUFFIX && r.last == 10);
	cr_assert_eq(s3_range_parse("18446744073709551615-", &r, err, sizeof(err)), 0);
	cr_assert_eq(r.first, UINT64_MAX);
	static const char *bad[] = { "", "-", "9-3", "-0", "a-b", "1-2-3", "1 -2", "+1-2", "0x1-2",
				     "18446744073709551616-", "1", " 1-2" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cr_assert_eq(s3_range_parse(bad[i], &r, err, sizeof(err)), -1, "'%s'", bad[i]);
		cr_assert(strstr(err, "range '"), "%s", err);
	}
}

Test(s3_client, plan)
{
	struct s3_conf c = { 0 };
	struct s3_plan p;
	char err[256];

	cr_assert_eq(s3_plan_init(&c, &p, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(p.part_size, S3_PART_DEFAULT);
	cr_assert_eq(p.parallel, S3_PARALLEL_DEFAULT);
	cr_assert_eq(p.slots, S3_PARALLEL_DEFAULT + 1);
	c.part_size = S3_PART_MIN - 1;
	cr_assert_eq(s3_plan_init(&c, &p, err, sizeof(err)), -1);
	cr_assert(strstr(err, "part size"), "%s", err);
	c.part_size = S3_PART_MAX + 1;
	cr_assert_eq(s3_plan_init(&c, &p, err, sizeof(err)), -1);
	c.part_size = 1u << 20;
	c.parallel = S3_PARALLEL_MAX + 1;
	cr_assert_eq(s3_plan_init(&c, &p, err, sizeof(err)), -1);
	cr_assert(strstr(err, "parallel"), "%s", err);
	c.parallel = 1;
	cr_assert_eq(s3_plan_init(&c, &p, err, sizeof(err)), 0);
	cr_assert_eq(p.slots, 2);
	/* 10,000 parts of 1 MiB is the most; one byte more needs a bigger part. */
	cr_assert_eq(s3_plan_too_many(&p, 10000ull << 20), 0);
	cr_assert_eq(s3_plan_too_many(&p, (10000ull << 20) + 1), 1);
	cr_assert_eq(s3_plan_too_many(&p, 0), 0);
	c.part_size = S3_PART_MAX;
	c.parallel = S3_PARALLEL_MAX;
	cr_assert_eq(s3_plan_init(&c, &p, err, sizeof(err)), -1, "33 x 5 GiB of buffers");
}

Test(s3_client, complete_body)
{
	char etags[3][80] = { "\"a1\"", "\"b2\"", "\"c3\"" };
	size_t len;
	char *x = s3_complete_xml(etags, 3, &len);

	cr_assert_not_null(x);
	cr_assert_eq(len, strlen(x));
	cr_assert_str_eq(x, "<CompleteMultipartUpload>"
			    "<Part><PartNumber>1</PartNumber><ETag>\"a1\"</ETag></Part>"
			    "<Part><PartNumber>2</PartNumber><ETag>\"b2\"</ETag></Part>"
			    "<Part><PartNumber>3</PartNumber><ETag>\"c3\"</ETag></Part>"
			    "</CompleteMultipartUpload>");
	free(x);
	strcpy(etags[1], "\"</ETag><Part>\"");
	cr_assert_null(s3_complete_xml(etags, 3, &len), "an ETag that would inject XML");
	etags[1][0] = '\0';
	cr_assert_null(s3_complete_xml(etags, 3, &len), "a missing ETag");
}

Test(s3_client, endpoint_checks)
{
	struct kms_creds cr = { .access_key = "AKID", .secret_key = "s" };
	struct s3_conf c = { .endpoint = "http://127.0.0.1:9000", .bucket = "bkt", .creds = &cr,
			     .retries = -1 };
	struct s3_ep ep;
	char err[512];

	cr_assert_eq(s3_ep_init(&c, &ep, err, sizeof(err)), 0, "%s", err);
	cr_assert_str_eq(ep.base, "http://127.0.0.1:9000");
	cr_assert_str_eq(ep.host, "127.0.0.1:9000");
	cr_assert_str_eq(ep.region, "us-east-1");
	cr_assert_eq(ep.retries, S3_RETRIES_DEFAULT);
	c.endpoint = "https://s3.eu-west-1.amazonaws.com/";
	c.region = "eu-west-1";
	cr_assert_eq(s3_ep_init(&c, &ep, err, sizeof(err)), 0, "%s", err);
	cr_assert_str_eq(ep.base, "https://s3.eu-west-1.amazonaws.com");
	static const char *bad_ep[] = { "http://s3.example.com", "https://h/prefix", "https://h/?x=1",
					"ftp://127.0.0.1/", "not a url" };
	for (size_t i = 0; i < sizeof(bad_ep) / sizeof(bad_ep[0]); i++) {
		c.endpoint = bad_ep[i];
		cr_assert_eq(s3_ep_init(&c, &ep, err, sizeof(err)), -1, "%s", bad_ep[i]);
		cr_assert(strstr(err, "endpoint"), "%s", err);
	}
	c.endpoint = "http://localhost:1";
	static const char *bad_b[] = { "", "ab", "Bkt", "a/b", "-ab", ".ab", "a_b",
				       "a234567890123456789012345678901234567890123456789012345678901234" };
	for (size_t i = 0; i < sizeof(bad_b) / sizeof(bad_b[0]); i++) {
		c.bucket = bad_b[i];
		cr_assert_eq(s3_ep_init(&c, &ep, err, sizeof(err)), -1, "'%s'", bad_b[i]);
		cr_assert(strstr(err, "bucket"), "%s", err);
	}
	c.bucket = "bkt";
	c.region = "EU west";
	cr_assert_eq(s3_ep_init(&c, &ep, err, sizeof(err)), -1);
	c.region = NULL;
	c.creds = NULL;
	cr_assert_eq(s3_ep_init(&c, &ep, err, sizeof(err)), -1);
	cr_assert(strstr(err, "credentials"), "%s", err);
	c.creds = &cr;
	c.retries = S3_RETRIES_MAX + 1;
	cr_assert_eq(s3_ep_init(&c, &ep, err, sizeof(err)), -1);
}

Test(s3_client, key_bounds)
{
	struct s3_conf c = { .bucket = "bkt" };
	char key[S3_MAX_KEY + 2], err[256];

	memset(key, 'k', sizeof(key) - 1);
	key[sizeof(key) - 1] = '\0';
	cr_assert_eq(s3_check_key("put", &c, key, err, sizeof(err)), -1);
	key[S3_MAX_KEY] = '\0';
	cr_assert_eq(s3_check_key("put", &c, key, err, sizeof(err)), 0);
	cr_assert_eq(s3_check_key("put", &c, "", err, sizeof(err)), -1);
	cr_assert_eq(s3_check_key("put", &c, NULL, err, sizeof(err)), -1);
}
