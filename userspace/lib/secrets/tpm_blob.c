/* The seal tpm blob: framing, the sealed object's shape, the payload AEAD. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <tss2/tss2_mu.h>

#include "lib/core/errfmt.h"
#include "lib/core/wire.h"
#include "lib/secrets/tpm_blob.h"

#define MAGIC_LEN 8

static int pcr_num(const char *s, char **end, unsigned *out)
{
	unsigned long v;

	if (*s < '0' || *s > '9')
		return -1;
	v = strtoul(s, end, 10);
	if (v >= TPM_PCR_COUNT)
		return -1;
	*out = (unsigned)v;
	return 0;
}

int tpm_pcr_parse(const char *s, uint32_t *mask, char *err, size_t errlen)
{
	const char *p = s;
	char *end;
	unsigned a, b;

	*mask = 0;
	if (strncmp(p, "sha256:", 7) == 0)
		p += 7;
	for (;;) {
		if (pcr_num(p, &end, &a) < 0)
			return errfmt(err, errlen, "--pcr '%s': want PCR numbers 0..23 as 0,7 or 0-7", s);
		b = a;
		if (*end == '-' && (pcr_num(end + 1, &end, &b) < 0 || b < a))
			return errfmt(err, errlen, "--pcr '%s': bad range", s);
		for (unsigned i = a; i <= b; i++)
			*mask |= 1u << i;
		if (*end == '\0')
			return 0;
		if (*end != ',')
			return errfmt(err, errlen, "--pcr '%s': unexpected '%c'", s, *end);
		p = end + 1;
	}
}

/* Only the object seal tpm makes is accepted: anything else in the public
 * part means the blob was not written by us (or was altered). */
static int check_public(const uint8_t *p, size_t len, char *err, size_t errlen)
{
	TPM2B_PUBLIC pub;
	size_t off = 0;
	const TPMA_OBJECT want = TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT;

	memset(&pub, 0, sizeof(pub));
	if (Tss2_MU_TPM2B_PUBLIC_Unmarshal(p, len, &off, &pub) != TSS2_RC_SUCCESS || off != len)
		return errfmt(err, errlen, "the public part does not unmarshal to its length");
	if (pub.publicArea.type != TPM2_ALG_KEYEDHASH || pub.publicArea.nameAlg != TPM2_ALG_SHA256)
		return errfmt(err, errlen, "the object is not a SHA-256 sealed-data object");
	if (pub.publicArea.objectAttributes != want)
		return errfmt(err, errlen, "the object attributes are not fixedTPM|fixedParent");
	if (pub.publicArea.authPolicy.size != 32)
		return errfmt(err, errlen, "the object has no SHA-256 policy");
	if (pub.publicArea.parameters.keyedHashDetail.scheme.scheme != TPM2_ALG_NULL)
		return errfmt(err, errlen, "the object has a signing scheme");
	return 0;
}

static int check_private(const uint8_t *p, size_t len, char *err, size_t errlen)
{
	TPM2B_PRIVATE priv;
	size_t off = 0;

	if (Tss2_MU_TPM2B_PRIVATE_Unmarshal(p, len, &off, &priv) != TSS2_RC_SUCCESS || off != len)
		return errfmt(err, errlen, "the private part does not unmarshal to its length");
	return 0;
}

static int parse_frame(struct wire_rd *r, struct tpm_blob *b, char *err, size_t errlen)
{
	const uint8_t *magic = wire_take(r, MAGIC_LEN);

	if (!magic || memcmp(magic, TPM_BLOB_MAGIC, MAGIC_LEN) != 0)
		return errfmt(err, errlen, "no NEKTPM1 magic");
	if (wire_u8(r) != TPM_BLOB_VERSION)
		return errfmt(err, errlen, "unknown version");
	if (wire_u16(r) != TPM2_ALG_SHA256)
		return errfmt(err, errlen, "the PCR bank is not SHA-256");
	b->pcr_mask = wire_u32(r);
	if (b->pcr_mask == 0 || b->pcr_mask >> TPM_PCR_COUNT)
		return errfmt(err, errlen, "bad PCR mask");
	b->pub_len = wire_u16(r);
	b->pub = wire_take(r, b->pub_len);
	b->priv_len = wire_u16(r);
	b->priv = wire_take(r, b->priv_len);
	b->nonce = wire_take(r, TPM_BLOB_NONCE);
	b->ct_len = wire_u32(r);
	if (r->err)
		return errfmt(err, errlen, "truncated");
	if (b->ct_len > TPM_BLOB_MAX_DATA)
		return errfmt(err, errlen, "payload length %zu over the %u limit", b->ct_len,
			      TPM_BLOB_MAX_DATA);
	return 0;
}

int tpm_blob_parse(const uint8_t *buf, size_t len, struct tpm_blob *b, char *err, size_t errlen)
{
	struct wire_rd r;

	memset(b, 0, sizeof(*b));
	if (len > TPM_BLOB_MAX)
		return errfmt(err, errlen, "not a seal tpm blob: larger than %u bytes", TPM_BLOB_MAX);
	wire_rd_init(&r, buf, len);
	if (parse_frame(&r, b, err, errlen) < 0)
		goto bad;
	b->aad_len = len - r.left;
	b->ct = wire_take(&r, b->ct_len);
	b->tag = wire_take(&r, TPM_BLOB_TAG);
	if (r.err) {
		errfmt(err, errlen, "truncated payload");
		goto bad;
	}
	if (r.left) {
		errfmt(err, errlen, "%zu bytes after the tag", r.left);
		goto bad;
	}
	if (check_public(b->pub, b->pub_len, err, errlen) < 0 ||
	    check_private(b->priv, b->priv_len, err, errlen) < 0)
		goto bad;
	return 0;
bad:
	{
		char why[200];
		snprintf(why, sizeof(why), "%s", err);
		return errfmt(err, errlen, "not a seal tpm blob: %s", why);
	}
}

int tpm_blob_header(uint32_t pcr_mask, const uint8_t *pub, size_t pub_len,
		    const uint8_t *priv, size_t priv_len, const uint8_t nonce[TPM_BLOB_NONCE],
		    size_t ct_len, uint8_t **out, size_t *hdr_len, char *err, size_t errlen)
{
	size_t n = MAGIC_LEN + 1 + 2 + 4 + 2 + pub_len + 2 + priv_len + TPM_BLOB_NONCE + 4;
	uint8_t *p;

	if (pub_len > 0xffff || priv_len > 0xffff || ct_len > TPM_BLOB_MAX_DATA)
		return errfmt(err, errlen, "blob part too large");
	p = malloc(n + ct_len + TPM_BLOB_TAG);
	if (!p)
		return errfmt(err, errlen, "out of memory");
	*out = p;
	*hdr_len = n;
	memcpy(p, TPM_BLOB_MAGIC, MAGIC_LEN);
	p += MAGIC_LEN;
	*p++ = TPM_BLOB_VERSION;
	wire_put16(p, TPM2_ALG_SHA256);
	wire_put32(p + 2, pcr_mask);
	wire_put16(p + 6, (uint16_t)pub_len);
	memcpy(p + 8, pub, pub_len);
	p += 8 + pub_len;
	wire_put16(p, (uint16_t)priv_len);
	memcpy(p + 2, priv, priv_len);
	p += 2 + priv_len;
	memcpy(p, nonce, TPM_BLOB_NONCE);
	wire_put32(p + TPM_BLOB_NONCE, (uint32_t)ct_len);
	return 0;
}

static EVP_CIPHER_CTX *gcm_init(const uint8_t *key, const uint8_t *nonce, const uint8_t *aad,
				size_t aad_len, int enc)
{
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	int n;

	if (c && EVP_CipherInit_ex(c, EVP_aes_256_gcm(), NULL, NULL, NULL, enc) == 1 &&
	    EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_IVLEN, TPM_BLOB_NONCE, NULL) == 1 &&
	    EVP_CipherInit_ex(c, NULL, NULL, key, nonce, enc) == 1 && aad_len <= INT32_MAX &&
	    EVP_CipherUpdate(c, NULL, &n, aad, (int)aad_len) == 1)
		return c;
	EVP_CIPHER_CTX_free(c);
	return NULL;
}

int tpm_gcm_seal(const uint8_t key[TPM_BLOB_KEY], const uint8_t nonce[TPM_BLOB_NONCE],
		 const uint8_t *aad, size_t aad_len, const uint8_t *in, size_t len,
		 uint8_t *out, uint8_t tag[TPM_BLOB_TAG])
{
	EVP_CIPHER_CTX *c = gcm_init(key, nonce, aad, aad_len, 1);
	int n, ok;

	if (!c || len > TPM_BLOB_MAX_DATA) {
		EVP_CIPHER_CTX_free(c);
		return -1;
	}
	ok = (len == 0 || EVP_CipherUpdate(c, out, &n, in, (int)len) == 1) &&
	     EVP_CipherFinal_ex(c, out + len, &n) == 1 &&
	     EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, TPM_BLOB_TAG, tag) == 1;
	EVP_CIPHER_CTX_free(c);
	return ok ? 0 : -1;
}

int tpm_gcm_open(const uint8_t key[TPM_BLOB_KEY], const uint8_t nonce[TPM_BLOB_NONCE],
		 const uint8_t *aad, size_t aad_len, const uint8_t *in, size_t len,
		 const uint8_t tag[TPM_BLOB_TAG], uint8_t *out)
{
	EVP_CIPHER_CTX *c = gcm_init(key, nonce, aad, aad_len, 0);
	int n, ok;

	if (!c || len > TPM_BLOB_MAX_DATA) {
		EVP_CIPHER_CTX_free(c);
		return -1;
	}
	ok = (len == 0 || EVP_CipherUpdate(c, out, &n, in, (int)len) == 1) &&
	     EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, TPM_BLOB_TAG, (void *)tag) == 1 &&
	     EVP_CipherFinal_ex(c, out + len, &n) == 1;
	EVP_CIPHER_CTX_free(c);
	return ok ? 0 : -1;
}
