/* The API's TLS identity (docs/attestd.md section 6): a P-256 key made in
 * memory at start, never written anywhere, a self-signed certificate that
 * carries no trust, and the key's SubjectPublicKeyInfo, which every
 * document attestd serves carries in public_key. */
#ifndef NEK_ATTESTD_TLS_H
#define NEK_ATTESTD_TLS_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/ssl.h>

#define TLS_SPKI_MAX 128

struct tls_id {
	SSL_CTX *ctx;
	uint8_t spki[TLS_SPKI_MAX];
	size_t spki_len;
};

/* Makes the key, the certificate and a server SSL_CTX (TLS 1.2+). Returns
 * 0, or -1 with a one-line reason in err. */
int tls_id_new(struct tls_id *id, char *err, size_t errlen);
void tls_id_free(struct tls_id *id);

#endif
