/* SigV4 streaming payload signing against AWS's published worked example
 * (S3 API reference, "sigv4-streaming", Example: PUT Object): the seed
 * signature of the request, the three chained chunk signatures, the
 * encoded Content-Length, and the chunk header lines. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/secrets/sigv4.h"

/* AWS's documentation example credentials (public, not a secret). */
#define EX_AK "AKIAIOSFODNN7EXAMPLE"
#define EX_SK "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
#define EX_SEED "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9"
#define EX_SIG1 "ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648"
#define EX_SIG2 "0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497"
#define EX_SIG3 "b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9"

static time_t ex_time(void)
{
	struct tm tm = { .tm_year = 113, .tm_mon = 4, .tm_mday = 24 };

	return timegm(&tm);
}

static void seed(struct sigv4_result *res)
{
	const struct sigv4_header h[] = {
		{ "host", "s3.amazonaws.com" },
		{ "x-amz-storage-class", "REDUCED_REDUNDANCY" },
		{ "content-encoding", "aws-chunked" },
		{ "content-length", "66824" },
		{ "x-amz-decoded-content-length", "66560" },
	};
	struct sigv4_request r = { .method = "PUT", .path = "/examplebucket/chunkObject.txt",
				   .headers = h, .nheaders = 5 };
	struct sigv4_creds c = { EX_AK, EX_SK, NULL };
	char err[256] = "";

	strcpy(r.payload_hash, SIGV4_STREAMING_PAYLOAD);
	memset(res, 0, sizeof(*res));
	cr_assert_eq(sigv4_sign(&r, &c, "us-east-1", "s3", ex_time(), SIGV4_SIGN_BODY, res, err,
				sizeof(err)), 0, "%s", err);
}

Test(sigv4_chunk, aws_example_seed)
{
	struct sigv4_result res;

	seed(&res);
	cr_assert_str_eq(res.amz_date, "20130524T000000Z");
	cr_assert_str_eq(res.signature, EX_SEED);
	cr_assert_str_eq(res.signed_headers, "content-encoding;content-length;host;"
			 "x-amz-content-sha256;x-amz-date;x-amz-decoded-content-length;"
			 "x-amz-storage-class");
	sigv4_result_free(&res);
}

Test(sigv4_chunk, aws_example_chunks)
{
	uint8_t key[32];
	char scope[128], s1[65], s2[65], s3[65];
	char *a = malloc(65536);

	cr_assert(a);
	memset(a, 'a', 65536);
	cr_assert_eq(sigv4_signing_key(EX_SK, "20130524", "us-east-1", "s3", key), 0);
	cr_assert_eq(sigv4_scope("20130524", "us-east-1", "s3", scope, sizeof(scope)), 0);
	cr_assert_eq(sigv4_chunk_signature(key, "20130524T000000Z", scope, EX_SEED, a, 65536, s1), 0);
	cr_assert_str_eq(s1, EX_SIG1);
	cr_assert_eq(sigv4_chunk_signature(key, "20130524T000000Z", scope, s1, a, 1024, s2), 0);
	cr_assert_str_eq(s2, EX_SIG2);
	cr_assert_eq(sigv4_chunk_signature(key, "20130524T000000Z", scope, s2, NULL, 0, s3), 0);
	cr_assert_str_eq(s3, EX_SIG3);
	/* The chain: the same chunk after another previous signature differs. */
	cr_assert_eq(sigv4_chunk_signature(key, "20130524T000000Z", scope, EX_SEED, a, 1024, s2), 0);
	cr_assert_str_neq(s2, EX_SIG2);
	free(a);
}

Test(sigv4_chunk, aws_example_length_and_headers)
{
	char line[SIGV4_CHUNK_HEAD_MAX];
	uint64_t len = 0;

	cr_assert_eq(sigv4_chunked_length(66560, 65536, &len), 0);
	cr_assert_eq(len, 66824);
	cr_assert_eq(sigv4_chunk_header(65536, EX_SIG1, line, sizeof(line)), 88);
	cr_assert_str_eq(line, "10000;chunk-signature=" EX_SIG1 "\r\n");
	cr_assert_eq(sigv4_chunk_header(1024, EX_SIG2, line, sizeof(line)), 86);
	cr_assert_str_eq(line, "400;chunk-signature=" EX_SIG2 "\r\n");
	cr_assert_eq(sigv4_chunk_header(0, EX_SIG3, line, sizeof(line)), 84);
	cr_assert_str_eq(line, "0;chunk-signature=" EX_SIG3 "\r\n");
	cr_assert_eq(sigv4_chunk_header(0, EX_SIG3, line, 40), 0);
}

Test(sigv4_chunk, lengths)
{
	uint64_t len = 0;

	/* Empty: only the final chunk "0;chunk-signature=<64>\r\n\r\n". */
	cr_assert_eq(sigv4_chunked_length(0, 65536, &len), 0);
	cr_assert_eq(len, 86);
	cr_assert_eq(sigv4_chunked_length(1, 65536, &len), 0);
	cr_assert_eq(len, 86 + 1 + 86);
	/* A whole number of chunks has no short one. */
	cr_assert_eq(sigv4_chunked_length(131072, 65536, &len), 0);
	cr_assert_eq(len, 2 * (5 + 17 + 64 + 2 + 65536 + 2) + 86);
	cr_assert_eq(sigv4_chunked_length(5, 0, &len), -1);
	cr_assert_eq(sigv4_chunked_length(UINT64_MAX, 65536, &len), -1);
}
