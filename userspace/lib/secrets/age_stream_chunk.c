/* Sealing and opening one 64 KiB STREAM chunk, with age's retry under the
 * other final flag. */
#include "lib/secrets/age_stream_chunk.h"

#include <string.h>

#define TAG 16

static void nonce_for(uint64_t ctr, int final, uint8_t n[12])
{
	int i;

	memset(n, 0, 12);
	for (i = 0; i < 8; i++)
		n[10 - i] = (uint8_t)(ctr >> (8 * i));
	n[11] = final ? 1 : 0;
}

EVP_CIPHER_CTX *age_chunk_ctx(const uint8_t key[32], int enc)
{
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();

	if (c && EVP_CipherInit_ex(c, EVP_chacha20_poly1305(), NULL, key, NULL, enc) != 1) {
		EVP_CIPHER_CTX_free(c);
		c = NULL;
	}
	return c;
}

/* The context was keyed once (age_chunk_ctx); each chunk only sets its
 * nonce: with a NULL cipher and key OpenSSL keeps the key schedule and
 * resets the Poly1305 state, which costs far less than a full init. */
static int crypt_once(EVP_CIPHER_CTX *x, struct age_chunk *c, int final, int enc, size_t pt,
		      int get_tag)
{
	uint8_t nonce[12];
	int len = 0, fin = 0, ok;

	nonce_for(c->ctr, final, nonce);
	ok = EVP_CipherInit_ex(x, NULL, NULL, NULL, nonce, enc) == 1;
	if (ok && !enc)
		ok = EVP_CIPHER_CTX_ctrl(x, EVP_CTRL_AEAD_SET_TAG, TAG, c->buf + pt) == 1;
	ok = ok && EVP_CipherUpdate(x, c->buf, &len, c->buf, (int)pt) == 1;
	ok = ok && EVP_CipherFinal_ex(x, c->buf + len, &fin) == 1;
	if (ok && get_tag)
		ok = EVP_CIPHER_CTX_ctrl(x, EVP_CTRL_AEAD_GET_TAG, TAG, c->buf + pt) == 1;
	return ok;
}

/* A full chunk whose tag fails under the flag its position gives is tried
 * under the other one, as age does: a final chunk with data after it, or a
 * non-final one at the end, still releases its plaintext before the error
 * (c->alt), which is what the test kit's payload hashes expect. */
void age_chunk_work(EVP_CIPHER_CTX *x, struct age_chunk *c, int enc)
{
	size_t pt = enc ? c->len : c->len - TAG;
	int ok = crypt_once(x, c, c->final, enc, pt, enc);

	c->alt = 0;
	if (!ok && !enc && c->len == AGE_CT_CHUNK) {
		/* The failed open left keystream-XORed bytes in place: XOR
		 * them back (same nonce), then try the other flag. */
		crypt_once(x, c, c->final, 1, pt, 0);
		ok = crypt_once(x, c, !c->final, 0, pt, 0);
		c->alt = ok;
	}
	c->bad = !ok;
	c->len = enc ? pt + TAG : pt;
}
