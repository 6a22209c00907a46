/* SLC cryptography: everything goes through OpenSSL 3. */
#include "slc/crypto.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/core_names.h>
#include <openssl/kdf.h>
#include <openssl/pem.h>
#include <openssl/rand.h>

#include "lib/core/wire.h"

int slc_aead_init(struct slc_aead *a, const uint8_t key[SLC_AEAD_KEY],
		  const uint8_t iv[SLC_AEAD_IV], int encrypt)
{
	memset(a, 0, sizeof(*a));
	a->ctx = EVP_CIPHER_CTX_new();
	if (!a->ctx)
		return -1;
	memcpy(a->iv, iv, SLC_AEAD_IV);
	if (EVP_CipherInit_ex(a->ctx, EVP_aes_256_gcm(), NULL, key, NULL, encrypt) != 1) {
		slc_aead_free(a);
		return -1;
	}
	return 0;
}

void slc_aead_free(struct slc_aead *a)
{
	EVP_CIPHER_CTX_free(a->ctx);
	a->ctx = NULL;
}

static void nonce(struct slc_aead *a, uint8_t out[SLC_AEAD_IV])
{
	uint64_t s = a->seq++;
	int i;

	memcpy(out, a->iv, SLC_AEAD_IV);
	for (i = 0; i < 8; i++)
		out[SLC_AEAD_IV - 1 - i] ^= (uint8_t)(s >> (8 * i));
}

int slc_aead_seal(struct slc_aead *a, uint8_t *buf, size_t len)
{
	uint8_t n[SLC_AEAD_IV];
	int outl = 0, fl = 0;

	if (a->seq == UINT64_MAX || len > SLC_REC_MAX)
		return -1;
	nonce(a, n);
	if (EVP_EncryptInit_ex(a->ctx, NULL, NULL, NULL, n) != 1 ||
	    EVP_EncryptUpdate(a->ctx, buf, &outl, buf, (int)len) != 1 ||
	    EVP_EncryptFinal_ex(a->ctx, buf + outl, &fl) != 1 ||
	    EVP_CIPHER_CTX_ctrl(a->ctx, EVP_CTRL_GCM_GET_TAG, SLC_TAG_LEN, buf + len) != 1)
		return -1;
	return 0;
}

long slc_aead_open(struct slc_aead *a, uint8_t *buf, size_t len)
{
	uint8_t n[SLC_AEAD_IV];
	int outl = 0, fl = 0;
	size_t pl;

	if (len < SLC_TAG_LEN || len - SLC_TAG_LEN > SLC_REC_MAX || a->seq == UINT64_MAX)
		return -1;
	pl = len - SLC_TAG_LEN;
	nonce(a, n);
	if (EVP_DecryptInit_ex(a->ctx, NULL, NULL, NULL, n) != 1 ||
	    EVP_CIPHER_CTX_ctrl(a->ctx, EVP_CTRL_GCM_SET_TAG, SLC_TAG_LEN, buf + pl) != 1 ||
	    EVP_DecryptUpdate(a->ctx, buf, &outl, buf, (int)pl) != 1 ||
	    EVP_DecryptFinal_ex(a->ctx, buf + outl, &fl) != 1)
		return -1;
	return (long)pl;
}

/* ---------------------------------------------------------------- X25519 */

int slc_kx_new(struct slc_kx *k)
{
	size_t len = SLC_KEY_LEN;

	k->priv = EVP_PKEY_Q_keygen(NULL, NULL, "X25519");
	if (!k->priv)
		return -1;
	if (EVP_PKEY_get_raw_public_key(k->priv, k->pub, &len) != 1 || len != SLC_KEY_LEN) {
		slc_kx_free(k);
		return -1;
	}
	return 0;
}

void slc_kx_free(struct slc_kx *k)
{
	EVP_PKEY_free(k->priv);
	k->priv = NULL;
}

static int hkdf(const uint8_t *ikm, size_t ikmlen, const uint8_t salt[32], const char *info,
		uint8_t *out, size_t outlen)
{
	EVP_KDF *kdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
	EVP_KDF_CTX *ctx = kdf ? EVP_KDF_CTX_new(kdf) : NULL;
	OSSL_PARAM params[5], *p = params;
	int r = -1;

	if (!ctx)
		goto out;
	*p++ = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, (char *)"SHA256", 0);
	*p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, (void *)ikm, ikmlen);
	*p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, (void *)salt, 32);
	*p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, (void *)info, strlen(info));
	*p = OSSL_PARAM_construct_end();
	if (EVP_KDF_derive(ctx, out, outlen, params) == 1)
		r = 0;
out:
	EVP_KDF_CTX_free(ctx);
	EVP_KDF_free(kdf);
	return r;
}

int slc_kx_derive(struct slc_kx *k, const uint8_t peer[SLC_KEY_LEN], const uint8_t th[32],
		  int client, struct slc_keys *out)
{
	EVP_PKEY *pp = EVP_PKEY_new_raw_public_key(EVP_PKEY_X25519, NULL, peer, SLC_KEY_LEN);
	EVP_PKEY_CTX *ctx = pp ? EVP_PKEY_CTX_new(k->priv, NULL) : NULL;
	uint8_t secret[SLC_KEY_LEN], c2s[44], s2c[44], zero[SLC_KEY_LEN] = { 0 };
	size_t slen = sizeof(secret);
	int r = -1;

	if (!ctx || EVP_PKEY_derive_init(ctx) != 1 || EVP_PKEY_derive_set_peer(ctx, pp) != 1 ||
	    EVP_PKEY_derive(ctx, secret, &slen) != 1 || slen != SLC_KEY_LEN)
		goto out;
	/* A low-order peer key gives an all-zero secret: refuse it. */
	if (CRYPTO_memcmp(secret, zero, sizeof(zero)) == 0)
		goto out;
	if (hkdf(secret, slen, th, "slc1 c2s", c2s, sizeof(c2s)) < 0 ||
	    hkdf(secret, slen, th, "slc1 s2c", s2c, sizeof(s2c)) < 0)
		goto out;
	memcpy(out->tx_key, client ? c2s : s2c, SLC_AEAD_KEY);
	memcpy(out->tx_iv, (client ? c2s : s2c) + SLC_AEAD_KEY, SLC_AEAD_IV);
	memcpy(out->rx_key, client ? s2c : c2s, SLC_AEAD_KEY);
	memcpy(out->rx_iv, (client ? s2c : c2s) + SLC_AEAD_KEY, SLC_AEAD_IV);
	r = 0;
out:
	OPENSSL_cleanse(secret, sizeof(secret));
	OPENSSL_cleanse(c2s, sizeof(c2s));
	OPENSSL_cleanse(s2c, sizeof(s2c));
	EVP_PKEY_CTX_free(ctx);
	EVP_PKEY_free(pp);
	return r;
}

void slc_sha256(const void *a, size_t alen, const void *b, size_t blen, uint8_t out[32])
{
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	unsigned n = 32;

	if (!c || EVP_DigestInit_ex(c, EVP_sha256(), NULL) != 1 ||
	    EVP_DigestUpdate(c, a, alen) != 1 || (blen && EVP_DigestUpdate(c, b, blen) != 1) ||
	    EVP_DigestFinal_ex(c, out, &n) != 1)
		memset(out, 0, 32); /* only on allocation failure; hashes then never match */
	EVP_MD_CTX_free(c);
}

int slc_random(void *buf, size_t len)
{
	return RAND_bytes(buf, (int)len) == 1 ? 0 : -1;
}

/* ---------------------------------------------------------------- Ed25519 */

EVP_PKEY *slc_key_load(const char *path, char *err, size_t errlen)
{
	FILE *f = fopen(path, "r");
	EVP_PKEY *k;

	if (!f) {
		snprintf(err, errlen, "'%s': %s", path, strerror(errno));
		return NULL;
	}
	k = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	fclose(f);
	if (!k || EVP_PKEY_get_id(k) != EVP_PKEY_ED25519) {
		snprintf(err, errlen, "'%s': not an Ed25519 private key (make one with slc keygen)",
			 path);
		EVP_PKEY_free(k);
		return NULL;
	}
	return k;
}

int slc_key_pub(EVP_PKEY *k, uint8_t pub[SLC_KEY_LEN])
{
	size_t len = SLC_KEY_LEN;

	return EVP_PKEY_get_raw_public_key(k, pub, &len) == 1 && len == SLC_KEY_LEN ? 0 : -1;
}

static size_t signed_msg(const char *label, const uint8_t th[32], uint8_t *out)
{
	size_t n = strlen(label);

	memcpy(out, label, n);
	memcpy(out + n, th, 32);
	return n + 32;
}

int slc_key_sign(EVP_PKEY *k, const char *label, const uint8_t th[32], uint8_t sig[SLC_ED_SIG])
{
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	uint8_t msg[96];
	size_t mlen = signed_msg(label, th, msg), slen = SLC_ED_SIG;
	int r = -1;

	if (c && EVP_DigestSignInit(c, NULL, NULL, NULL, k) == 1 &&
	    EVP_DigestSign(c, sig, &slen, msg, mlen) == 1 && slen == SLC_ED_SIG)
		r = 0;
	EVP_MD_CTX_free(c);
	return r;
}

int slc_sig_verify(const uint8_t pub[SLC_KEY_LEN], const char *label, const uint8_t th[32],
		   const uint8_t sig[SLC_ED_SIG])
{
	EVP_PKEY *k = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, pub, SLC_KEY_LEN);
	EVP_MD_CTX *c = k ? EVP_MD_CTX_new() : NULL;
	uint8_t msg[96];
	size_t mlen = signed_msg(label, th, msg);
	int r = -1;

	if (c && EVP_DigestVerifyInit(c, NULL, NULL, NULL, k) == 1 &&
	    EVP_DigestVerify(c, sig, SLC_ED_SIG, msg, mlen) == 1)
		r = 0;
	EVP_MD_CTX_free(c);
	EVP_PKEY_free(k);
	return r;
}

void slc_pub_format(const uint8_t pub[SLC_KEY_LEN], char *out, size_t len)
{
	char b64[64];

	EVP_EncodeBlock((unsigned char *)b64, pub, SLC_KEY_LEN);
	snprintf(out, len, "slc-ed25519 %s", b64);
}

int slc_pub_parse(const char *line, uint8_t pub[SLC_KEY_LEN])
{
	uint8_t raw[48];
	char b64[64];
	size_t n;

	if (strncmp(line, "slc-ed25519 ", 12) != 0)
		return -1;
	line += 12;
	n = strcspn(line, " \t\r\n");
	/* 32 bytes are 44 base64 characters with one '=' of padding. */
	if (n != 44 || line[43] != '=' || line[42] == '=')
		return -1;
	memcpy(b64, line, n);
	b64[n] = 0;
	if (EVP_DecodeBlock(raw, (unsigned char *)b64, (int)n) != 33)
		return -1;
	memcpy(pub, raw, SLC_KEY_LEN);
	return 0;
}

int slc_pub_load(const char *path, uint8_t pub[SLC_KEY_LEN], char *err, size_t errlen)
{
	FILE *f = fopen(path, "r");
	char line[512];
	int r = -1;

	if (!f) {
		snprintf(err, errlen, "'%s': %s", path, strerror(errno));
		return -1;
	}
	if (fgets(line, sizeof(line), f) && slc_pub_parse(line, pub) == 0)
		r = 0;
	else
		snprintf(err, errlen, "'%s': not an slc public key", path);
	fclose(f);
	return r;
}

/* Creates a key file, never through a symlink or over a file: O_EXCL and
 * O_NOFOLLOW; with force the old name is unlinked first, so a symlink
 * there is replaced, never written through. Returns an fd or -1. */
static int create_key_file(const char *path, int force, mode_t mode, char *err, size_t errlen)
{
	int fd;

	if (force && unlink(path) < 0 && errno != ENOENT) {
		snprintf(err, errlen, "'%s': %s", path, strerror(errno));
		return -1;
	}
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
	if (fd < 0 || fchmod(fd, mode) < 0) {
		snprintf(err, errlen, "'%s': %s%s", path, strerror(errno),
			 errno == EEXIST ? " (--force replaces it)" : "");
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

static int write_pub(int fd, const char *path, EVP_PKEY *k, const char *comment, char *err,
		     size_t errlen)
{
	uint8_t pub[SLC_KEY_LEN];
	char line[128];
	FILE *f = fdopen(fd, "w");

	if (!f) {
		close(fd);
		snprintf(err, errlen, "'%s': %s", path, strerror(errno));
		return -1;
	}
	if (slc_key_pub(k, pub) < 0) {
		fclose(f);
		snprintf(err, errlen, "'%s': no public key", path);
		return -1;
	}
	slc_pub_format(pub, line, sizeof(line));
	if (fprintf(f, "%s %s\n", line, comment) < 0 || fclose(f) != 0) {
		snprintf(err, errlen, "'%s': %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

static int write_priv(int fd, const char *path, EVP_PKEY *k, char *err, size_t errlen)
{
	FILE *f = fdopen(fd, "w");

	if (!f) {
		close(fd);
		snprintf(err, errlen, "'%s': %s", path, strerror(errno));
		return -1;
	}
	if (PEM_write_PrivateKey(f, k, NULL, NULL, 0, NULL, NULL) != 1 || fclose(f) != 0) {
		snprintf(err, errlen, "'%s': write failed", path);
		return -1;
	}
	return 0;
}

int slc_keygen(const char *path, const char *comment, int force, char *err, size_t errlen)
{
	EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	char pubpath[4200];
	int fd = -1, pfd = -1, r = -1;

	if (!k) {
		snprintf(err, errlen, "key generation failed");
		return -1;
	}
	if (snprintf(pubpath, sizeof(pubpath), "%s.pub", path) >= (int)sizeof(pubpath)) {
		snprintf(err, errlen, "'%.200s': name too long", path);
		goto out;
	}
	/* Both names are taken before either is written: no half pair. */
	fd = create_key_file(path, force, 0600, err, errlen);
	if (fd < 0)
		goto out;
	pfd = create_key_file(pubpath, force, 0644, err, errlen);
	if (pfd < 0) {
		close(fd);
		unlink(path);
		goto out;
	}
	if (write_priv(fd, path, k, err, errlen) < 0) {
		close(pfd);
		goto out;
	}
	r = write_pub(pfd, pubpath, k, comment, err, errlen);
out:
	EVP_PKEY_free(k);
	return r;
}

int slc_authkeys_load(const char *path, struct slc_authkeys *ak, char *err, size_t errlen)
{
	FILE *f = fopen(path, "r");
	char line[1024];
	unsigned lineno = 0;
	void *nk;

	memset(ak, 0, sizeof(*ak));
	if (!f) {
		snprintf(err, errlen, "'%s': %s", path, strerror(errno));
		return -1;
	}
	while (fgets(line, sizeof(line), f)) {
		char *s = line + strspn(line, " \t");

		lineno++;
		if (*s == '#' || *s == '\n' || *s == '\r' || *s == 0)
			continue;
		if (ak->n >= 100000 || !(nk = realloc(ak->keys, (ak->n + 1) * SLC_KEY_LEN)))
			goto bad;
		ak->keys = nk;
		if (slc_pub_parse(s, ak->keys[ak->n]) < 0)
			goto bad;
		ak->n++;
	}
	fclose(f);
	return 0;
bad:
	snprintf(err, errlen, "'%s' line %u: not an slc public key", path, lineno);
	fclose(f);
	slc_authkeys_free(ak);
	return -1;
}

int slc_authkeys_has(const struct slc_authkeys *ak, const uint8_t pub[SLC_KEY_LEN])
{
	size_t i;

	for (i = 0; i < ak->n; i++)
		if (CRYPTO_memcmp(ak->keys[i], pub, SLC_KEY_LEN) == 0)
			return 1;
	return 0;
}

void slc_authkeys_free(struct slc_authkeys *ak)
{
	free(ak->keys);
	memset(ak, 0, sizeof(*ak));
}
