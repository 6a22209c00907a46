/* PCR values: SHA384(48 zero bytes || SHA384(content)). See docs/eif.md. */
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

#include "eif/eif.h"

struct pcr_hash {
	EVP_MD_CTX *ctx;
};

struct pcr_hash *pcr_hash_new(void)
{
	struct pcr_hash *h = calloc(1, sizeof(*h));

	if (!h)
		return NULL;
	h->ctx = EVP_MD_CTX_new();
	if (!h->ctx || EVP_DigestInit_ex(h->ctx, EVP_sha384(), NULL) != 1) {
		pcr_hash_free(h);
		return NULL;
	}
	return h;
}

struct pcr_hash *pcr_hash_dup(const struct pcr_hash *src)
{
	struct pcr_hash *h = calloc(1, sizeof(*h));

	if (!h)
		return NULL;
	h->ctx = EVP_MD_CTX_new();
	if (!h->ctx || EVP_MD_CTX_copy_ex(h->ctx, src->ctx) != 1) {
		pcr_hash_free(h);
		return NULL;
	}
	return h;
}

int pcr_hash_update(struct pcr_hash *h, const void *buf, size_t len)
{
	return EVP_DigestUpdate(h->ctx, buf, len) == 1 ? 0 : -1;
}

void pcr_hash_free(struct pcr_hash *h)
{
	if (!h)
		return;
	EVP_MD_CTX_free(h->ctx);
	free(h);
}

/* The extend of a zero register: one SHA-384 over 96 bytes. */
static int extend_zero(const uint8_t digest[PCR_LEN], uint8_t out[PCR_LEN])
{
	uint8_t reg[2 * PCR_LEN];
	unsigned int n = 0;

	memset(reg, 0, PCR_LEN);
	memcpy(reg + PCR_LEN, digest, PCR_LEN);
	if (EVP_Digest(reg, sizeof(reg), out, &n, EVP_sha384(), NULL) != 1 || n != PCR_LEN)
		return -1;
	return 0;
}

int pcr_hash_final(struct pcr_hash *h, uint8_t out[PCR_LEN])
{
	uint8_t d[PCR_LEN];
	unsigned int n = 0;
	int rc = -1;

	if (EVP_DigestFinal_ex(h->ctx, d, &n) == 1 && n == PCR_LEN)
		rc = extend_zero(d, out);
	pcr_hash_free(h);
	return rc;
}

int pcr_of_buffer(const void *buf, size_t len, uint8_t out[PCR_LEN])
{
	uint8_t d[PCR_LEN];
	unsigned int n = 0;

	if (EVP_Digest(buf, len, d, &n, EVP_sha384(), NULL) != 1 || n != PCR_LEN)
		return -1;
	return extend_zero(d, out);
}
