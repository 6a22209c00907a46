/* libFuzzer target: KMS's CiphertextForRecipient as an untrusted host may
 * rewrite it. The bounded walk must refuse or accept without reading out of
 * bounds, and whatever it accepts OpenSSL's CMS parser must then take without
 * a crash (a refusal there is fine). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/cms.h>
#include <openssl/evp.h>

#include "lib/secrets/kms_cms.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static EVP_PKEY *key;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct kms_cms_info info;
	uint8_t out[KMS_CMS_PLAINTEXT_MAX];
	size_t n;
	char err[256];
	CMS_ContentInfo *cms;
	BIO *bio;

	if (!key && !(key = EVP_RSA_gen(2048)))
		abort();
	if (kms_cms_check(data, size, &info, err, sizeof(err)) < 0) {
		if (!memchr(err, '\0', sizeof(err)) || err[0] == '\0')
			abort();
		return 0;
	}
	if (info.content_len == 0 || info.content_len % 16)
		abort();
	/* The rid is never our fresh key's, so open must refuse; OpenSSL's
	 * parser then gets what the walk let through. */
	if (kms_cms_open(data, size, key, out, sizeof(out), &n, err, sizeof(err)) == 0)
		abort();
	bio = BIO_new_mem_buf(data, (int)size);
	if (bio && (cms = d2i_CMS_bio(bio, NULL)))
		CMS_ContentInfo_free(cms);
	BIO_free(bio);
	return 0;
}
