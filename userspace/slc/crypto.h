/* SLC cryptography on OpenSSL: the AES-256-GCM record layer, the X25519 +
 * HKDF key schedule, and the Ed25519 identities of clients and servers
 * (docs/slc-protocol.md §3, §5). */
#ifndef SLC_CRYPTO_H
#define SLC_CRYPTO_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "slc/proto.h"

#define SLC_AEAD_KEY 32
#define SLC_AEAD_IV 12
#define SLC_ED_SIG 64

struct slc_aead {
	EVP_CIPHER_CTX *ctx;
	uint8_t iv[SLC_AEAD_IV];
	uint64_t seq;
};

int slc_aead_init(struct slc_aead *a, const uint8_t key[SLC_AEAD_KEY],
		  const uint8_t iv[SLC_AEAD_IV], int encrypt);
void slc_aead_free(struct slc_aead *a);
/* Encrypts buf[0..len) in place and writes the tag at buf + len. */
int slc_aead_seal(struct slc_aead *a, uint8_t *buf, size_t len);
/* Decrypts in place; len includes the tag. Returns the plaintext length, or
 * -1 when the record does not authenticate. */
long slc_aead_open(struct slc_aead *a, uint8_t *buf, size_t len);

struct slc_keys {
	uint8_t tx_key[SLC_AEAD_KEY], tx_iv[SLC_AEAD_IV];
	uint8_t rx_key[SLC_AEAD_KEY], rx_iv[SLC_AEAD_IV];
};

/* An ephemeral X25519 key pair. */
struct slc_kx {
	EVP_PKEY *priv;
	uint8_t pub[SLC_KEY_LEN];
};
int slc_kx_new(struct slc_kx *k);
void slc_kx_free(struct slc_kx *k);
/* ECDH with the peer's key, then HKDF with salt th (the transcript hash). */
int slc_kx_derive(struct slc_kx *k, const uint8_t peer[SLC_KEY_LEN], const uint8_t th[32],
		  int client, struct slc_keys *out);

void slc_sha256(const void *a, size_t alen, const void *b, size_t blen, uint8_t out[32]);
int slc_random(void *buf, size_t len);

/* Ed25519 identities. Private keys are PEM files; public keys are one line,
 * "slc-ed25519 BASE64 COMMENT". */
EVP_PKEY *slc_key_load(const char *path, char *err, size_t errlen);
int slc_key_pub(EVP_PKEY *k, uint8_t pub[SLC_KEY_LEN]);
int slc_key_sign(EVP_PKEY *k, const char *label, const uint8_t th[32], uint8_t sig[SLC_ED_SIG]);
int slc_sig_verify(const uint8_t pub[SLC_KEY_LEN], const char *label, const uint8_t th[32],
		   const uint8_t sig[SLC_ED_SIG]);
/* Writes PATH (0600) and PATH.pub; refuses to overwrite unless force. */
int slc_keygen(const char *path, const char *comment, int force, char *err, size_t errlen);
/* Parses one public-key line; 0 or -1. */
int slc_pub_parse(const char *line, uint8_t pub[SLC_KEY_LEN]);
int slc_pub_load(const char *path, uint8_t pub[SLC_KEY_LEN], char *err, size_t errlen);
void slc_pub_format(const uint8_t pub[SLC_KEY_LEN], char *out, size_t len);

struct slc_authkeys {
	size_t n;
	uint8_t (*keys)[SLC_KEY_LEN];
};
int slc_authkeys_load(const char *path, struct slc_authkeys *ak, char *err, size_t errlen);
int slc_authkeys_has(const struct slc_authkeys *ak, const uint8_t pub[SLC_KEY_LEN]);
void slc_authkeys_free(struct slc_authkeys *ak);

#endif
