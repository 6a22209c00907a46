/* One STREAM chunk of the age payload (docs/age.md, "Payload"), sealed or
 * opened in place: the piece both the streaming and the positional paths
 * share, so the two cannot differ in what they accept. */
#ifndef NEK_SECRETS_AGE_STREAM_CHUNK_H
#define NEK_SECRETS_AGE_STREAM_CHUNK_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#define AGE_CT_CHUNK (65536 + 16)

struct age_chunk {
	uint8_t *buf;   /* AGE_CT_CHUNK bytes, worked in place */
	size_t len;     /* in: input length; out: output length */
	uint64_t ctr;   /* chunk number, from 0 */
	int final;      /* the flag its position gives */
	int bad;        /* out: did not open (or seal) */
	int alt;        /* out: opened only under the other flag */
};

/* A ChaCha20-Poly1305 context keyed once with the payload key, for one
 * thread's chunks; NULL when OpenSSL fails. Free with EVP_CIPHER_CTX_free. */
EVP_CIPHER_CTX *age_chunk_ctx(const uint8_t key[32], int enc);
/* Seals (enc) or opens c in place, setting len, bad and alt. */
void age_chunk_work(EVP_CIPHER_CTX *ctx, struct age_chunk *c, int enc);

#endif
