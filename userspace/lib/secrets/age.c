/* The age v1 header: parse, encode, MAC; the recipient-type table. */
#include "lib/secrets/age.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/kdf.h>
#include <openssl/rand.h>

#include "lib/core/errfmt.h"
#include "lib/secrets/b64.h"
#include "lib/secrets/bech32.h"

static const char VERSION_LINE[] = "age-encryption.org/v1";

/* ---------------------------------------------------------------- primitives */
int age_random(void *buf, size_t n)
{
	return RAND_bytes(buf, (int)n) == 1 ? 0 : -1;
}

int age_hkdf(const uint8_t *ikm, size_t ikm_len, const uint8_t *salt, size_t salt_len,
	     const char *info, uint8_t *out, size_t out_len)
{
	EVP_KDF *kdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
	EVP_KDF_CTX *ctx = kdf ? EVP_KDF_CTX_new(kdf) : NULL;
	OSSL_PARAM p[5], *q = p;
	int rc = -1;

	*q++ = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, "SHA256", 0);
	*q++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, (void *)ikm, ikm_len);
	/* No salt means HashLen zero bytes (RFC 5869), which is what HMAC
	 * makes of an empty key anyway. */
	if (salt_len)
		*q++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, (void *)salt,
							 salt_len);
	*q++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, (void *)info, strlen(info));
	*q = OSSL_PARAM_construct_end();
	if (ctx && EVP_KDF_derive(ctx, out, out_len, p) == 1)
		rc = 0;
	EVP_KDF_CTX_free(ctx);
	EVP_KDF_free(kdf);
	return rc;
}

static int aead_zero_nonce(const uint8_t key[32], const uint8_t *in, size_t n, uint8_t *out,
			   int enc)
{
	static const uint8_t nonce[12];
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	int len = 0, fin = 0, ok;

	if (!c)
		return -1;
	ok = EVP_CipherInit_ex(c, EVP_chacha20_poly1305(), NULL, key, nonce, enc) == 1;
	if (ok && !enc)
		ok = EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_SET_TAG, 16, (void *)(in + n)) == 1;
	ok = ok && EVP_CipherUpdate(c, out, &len, in, (int)n) == 1;
	ok = ok && EVP_CipherFinal_ex(c, out + len, &fin) == 1;
	if (ok && enc)
		ok = EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_GET_TAG, 16, out + n) == 1;
	EVP_CIPHER_CTX_free(c);
	return ok ? 0 : -1;
}

int age_aead_seal_key(const uint8_t key[32], const uint8_t fk[AGE_FILE_KEY_LEN], uint8_t out[32])
{
	return aead_zero_nonce(key, fk, AGE_FILE_KEY_LEN, out, 1);
}

int age_aead_open_key(const uint8_t key[32], const uint8_t in[32], uint8_t fk[AGE_FILE_KEY_LEN])
{
	return aead_zero_nonce(key, in, AGE_FILE_KEY_LEN, fk, 0);
}

/* ---------------------------------------------------------------- stanzas */
void age_stanza_free(struct age_stanza *s)
{
	if (!s)
		return;
	free(s->args[0]);
	free(s->body);
	memset(s, 0, sizeof(*s));
}

int age_stanza_set(struct age_stanza *s, const char *const *args, size_t nargs,
		   const uint8_t *body, size_t body_len)
{
	size_t total = 0, i;
	char *blk, *p;

	memset(s, 0, sizeof(*s));
	if (nargs < 1 || nargs > AGE_MAX_ARGS || body_len > AGE_MAX_BODY)
		return -1;
	for (i = 0; i < nargs; i++)
		total += strlen(args[i]) + 1;
	blk = malloc(total);
	s->body = malloc(body_len ? body_len : 1);
	if (!blk || !s->body) {
		free(blk);
		free(s->body);
		s->body = NULL;
		return -1;
	}
	for (p = blk, i = 0; i < nargs; i++) {
		size_t l = strlen(args[i]) + 1;
		memcpy(p, args[i], l);
		s->args[i] = p;
		p += l;
	}
	s->nargs = nargs;
	if (body_len)
		memcpy(s->body, body, body_len);
	s->body_len = body_len;
	return 0;
}

/* ---------------------------------------------------------------- parsing */
struct lines {
	const uint8_t *in;
	size_t len, pos;
};

/* The next line without its '\n'; AGE_MORE when none is complete yet. */
static int next_line(struct lines *l, const char **line, size_t *n)
{
	const uint8_t *nl;

	if (l->pos >= l->len)
		return AGE_MORE;
	nl = memchr(l->in + l->pos, '\n', l->len - l->pos);
	if (!nl)
		return AGE_MORE;
	*line = (const char *)l->in + l->pos;
	*n = (size_t)(nl - (l->in + l->pos));
	l->pos += *n + 1;
	return 0;
}

static int is_vchar(char c)
{
	return c >= 33 && c <= 126;
}

/* "-> a b c": arguments of visible ASCII, single spaces between. */
static int parse_args(const char *line, size_t n, struct age_stanza *s, char *err,
		      size_t errlen)
{
	char *blk = malloc(n + 1);
	size_t i, start = 0;

	if (!blk)
		return errfmt(err, errlen, "out of memory");
	memcpy(blk, line, n);
	blk[n] = '\0';
	s->args[0] = blk;
	s->nargs = 0;
	for (i = 0; i <= n; i++) {
		if (i < n && is_vchar(blk[i]))
			continue;
		if (i < n && blk[i] != ' ')
			return errfmt(err, errlen, "stanza argument with a character outside 0x21-0x7e");
		if (i == start)
			return errfmt(err, errlen, "empty stanza argument");
		if (s->nargs == AGE_MAX_ARGS)
			return errfmt(err, errlen, "more than %d stanza arguments", AGE_MAX_ARGS);
		s->args[s->nargs++] = blk + start;
		blk[i] = '\0';
		start = i + 1;
	}
	return 0;
}

/* Body lines: 64 columns each but the last, which is shorter (maybe empty). */
static int parse_body(struct lines *l, struct age_stanza *s, char *err, size_t errlen)
{
	uint8_t *body = malloc(AGE_MAX_BODY);
	size_t used = 0;

	if (!body)
		return errfmt(err, errlen, "out of memory");
	s->body = body;
	for (;;) {
		const char *line;
		size_t n;
		long got;
		int rc = next_line(l, &line, &n);

		if (rc)
			return rc;
		if (n > 64)
			return errfmt(err, errlen, "stanza body line longer than 64 columns");
		if (n >= 3 && (memcmp(line, "-> ", 3) == 0 || memcmp(line, "---", 3) == 0) &&
		    n < 64)
			return errfmt(err, errlen, "stanza without its final short body line");
		if (used + 48 > AGE_MAX_BODY)
			return errfmt(err, errlen, "stanza body over %d bytes", AGE_MAX_BODY);
		got = b64_raw_decode(line, n, body + used, AGE_MAX_BODY - used);
		if (got < 0)
			return errfmt(err, errlen, "stanza body is not canonical unpadded base64");
		used += (size_t)got;
		if (n < 64) {
			s->body_len = used;
			return 0;
		}
	}
}

void age_header_free(struct age_header *h)
{
	size_t i;

	if (!h)
		return;
	for (i = 0; i < h->n; i++)
		age_stanza_free(&h->st[i]);
	free(h->st);
	free(h->raw);
	memset(h, 0, sizeof(*h));
}

static int parse_mac_line(const char *line, size_t n, struct age_header *h, char *err,
			  size_t errlen)
{
	uint8_t mac[AGE_MAC_LEN + 3];

	if (n < 4 || line[3] != ' ')
		return errfmt(err, errlen, "header MAC line is not '--- MAC'");
	if (b64_raw_decode(line + 4, n - 4, mac, sizeof(mac)) != AGE_MAC_LEN)
		return errfmt(err, errlen, "header MAC is not 32 bytes of canonical base64");
	memcpy(h->mac, mac, AGE_MAC_LEN);
	return 0;
}

static int parse_stanzas(struct lines *l, struct age_header *h, char *err, size_t errlen)
{
	for (;;) {
		const char *line;
		size_t n;
		int rc = next_line(l, &line, &n);

		if (rc)
			return rc;
		if (n >= 3 && memcmp(line, "---", 3) == 0) {
			h->raw_len = l->pos - n - 1 + 3;
			return parse_mac_line(line, n, h, err, errlen);
		}
		if (n < 3 || memcmp(line, "-> ", 3) != 0)
			return errfmt(err, errlen, "header line is neither a stanza ('-> ') nor the MAC ('--- ')");
		if (h->n == AGE_MAX_STANZAS)
			return errfmt(err, errlen, "more than %d stanzas", AGE_MAX_STANZAS);
		struct age_stanza *s = &h->st[h->n++];
		memset(s, 0, sizeof(*s));
		if (parse_args(line + 3, n - 3, s, err, errlen) < 0)
			return -1;
		rc = parse_body(l, s, err, errlen);
		if (rc)
			return rc;
	}
}

int age_header_parse(const uint8_t *in, size_t len, struct age_header *h, size_t *used,
		     char *err, size_t errlen)
{
	struct lines l = { in, len > AGE_MAX_HEADER ? AGE_MAX_HEADER : len, 0 };
	const char *line;
	size_t n;
	int rc;

	memset(h, 0, sizeof(*h));
	rc = next_line(&l, &line, &n);
	if (rc == 0 && (n != strlen(VERSION_LINE) || memcmp(line, VERSION_LINE, n) != 0)) {
		if (n >= 19 && memcmp(line, "age-encryption.org/", 19) == 0)
			return errfmt(err, errlen, "unsupported age version '%.*s'",
				      (int)(n > 40 ? 40 : n), line);
		return errfmt(err, errlen, "not an age file (no 'age-encryption.org/v1' line)");
	}
	h->st = rc ? NULL : calloc(AGE_MAX_STANZAS, sizeof(*h->st));
	if (!rc && !h->st)
		return errfmt(err, errlen, "out of memory");
	if (!rc)
		rc = parse_stanzas(&l, h, err, errlen);
	if (rc == AGE_MORE && len >= AGE_MAX_HEADER)
		rc = errfmt(err, errlen, "header longer than %u bytes", AGE_MAX_HEADER);
	if (rc == 0 && !(h->raw = malloc(h->raw_len)))
		rc = errfmt(err, errlen, "out of memory");
	if (rc) {
		age_header_free(h);
		return rc;
	}
	memcpy(h->raw, in, h->raw_len);
	*used = l.pos;
	return 0;
}

/* ---------------------------------------------------------------- encoding, MAC */
static int header_mac(const uint8_t *raw, size_t n, const uint8_t fk[AGE_FILE_KEY_LEN],
		      uint8_t mac[AGE_MAC_LEN])
{
	uint8_t key[32];
	unsigned int ml = 0;

	if (age_hkdf(fk, AGE_FILE_KEY_LEN, NULL, 0, "header", key, sizeof(key)) < 0)
		return -1;
	if (!HMAC(EVP_sha256(), key, sizeof(key), raw, n, mac, &ml) || ml != AGE_MAC_LEN)
		return -1;
	OPENSSL_cleanse(key, sizeof(key));
	return 0;
}

int age_header_check_mac(const struct age_header *h, const uint8_t file_key[AGE_FILE_KEY_LEN],
			 char *err, size_t errlen)
{
	uint8_t mac[AGE_MAC_LEN];

	if (header_mac(h->raw, h->raw_len, file_key, mac) < 0)
		return errfmt(err, errlen, "HMAC computation failed");
	if (CRYPTO_memcmp(mac, h->mac, AGE_MAC_LEN) != 0)
		return errfmt(err, errlen, "header MAC mismatch (the header was altered)");
	return 0;
}

static size_t stanza_enc_len(const struct age_stanza *s)
{
	size_t n = 3, i, b = b64_raw_len(s->body_len);

	for (i = 0; i < s->nargs; i++)
		n += strlen(s->args[i]) + 1;
	return n + b + b / 64 + 1;
}

static size_t stanza_encode(const struct age_stanza *s, char *out)
{
	size_t o = 0, i, off;
	char *b64 = out; /* encoded at the end first, then spread in lines */

	memcpy(out, "->", 2);
	o = 2;
	for (i = 0; i < s->nargs; i++) {
		size_t l = strlen(s->args[i]);
		out[o++] = ' ';
		memcpy(out + o, s->args[i], l);
		o += l;
	}
	out[o++] = '\n';
	/* 48-byte groups are 64 columns; the last line is always short. */
	for (off = 0;; off += 48) {
		size_t take = s->body_len - off < 48 ? s->body_len - off : 48;
		b64 = out + o;
		o += b64_raw_encode(s->body + off, take, b64);
		out[o++] = '\n';
		if (take < 48)
			break;
	}
	return o;
}

int age_header_encode(const struct age_stanza *st, size_t n,
		      const uint8_t file_key[AGE_FILE_KEY_LEN], uint8_t **out, size_t *outlen,
		      char *err, size_t errlen)
{
	size_t cap = sizeof(VERSION_LINE) + 4 + 44 + 1, o, i;
	uint8_t mac[AGE_MAC_LEN];
	char *buf;

	for (i = 0; i < n; i++)
		cap += stanza_enc_len(&st[i]) + 2;
	if (cap > AGE_MAX_HEADER)
		return errfmt(err, errlen, "header would exceed %u bytes", AGE_MAX_HEADER);
	buf = malloc(cap);
	if (!buf)
		return errfmt(err, errlen, "out of memory");
	o = (size_t)snprintf(buf, cap, "%s\n", VERSION_LINE);
	for (i = 0; i < n; i++)
		o += stanza_encode(&st[i], buf + o);
	memcpy(buf + o, "---", 3);
	o += 3;
	if (header_mac((uint8_t *)buf, o, file_key, mac) < 0) {
		free(buf);
		return errfmt(err, errlen, "HMAC computation failed");
	}
	buf[o++] = ' ';
	o += b64_raw_encode(mac, AGE_MAC_LEN, buf + o);
	buf[o++] = '\n';
	*out = (uint8_t *)buf;
	*outlen = o;
	return 0;
}

/* ---------------------------------------------------------------- recipient types */
static const struct age_rtype *const RTYPES[] = { &age_rtype_x25519, &age_rtype_scrypt,
						  &age_rtype_umbral, &age_rtype_kms };
#define NRTYPES (sizeof(RTYPES) / sizeof(RTYPES[0]))

/* Recipient and identity strings we know of but do not implement: refused
 * by name rather than as garbage. */
static const char *const UNSUPPORTED[] = { "age1pq1", "AGE-SECRET-KEY-PQ-1", "ssh-",
					   "AGE-PLUGIN-", "age1tag1" };

static int unsupported(const char *s, const char *what, char *err, size_t errlen)
{
	size_t i;

	for (i = 0; i < sizeof(UNSUPPORTED) / sizeof(UNSUPPORTED[0]); i++)
		if (strncasecmp(s, UNSUPPORTED[i], strlen(UNSUPPORTED[i])) == 0)
			return errfmt(err, errlen, "unsupported %s type '%s...'", what,
				      UNSUPPORTED[i]);
	return 0;
}

static int parse_keystr(const char *s, int identity, const struct age_rtype **type,
			uint8_t *data, long *n, char *err, size_t errlen)
{
	char hrp[64];
	size_t i;
	const char *what = identity ? "identity" : "recipient";

	if (unsupported(s, what, err, errlen) < 0)
		return -1;
	*n = bech32_decode(s, hrp, sizeof(hrp), data, AGE_KEY_MAX);
	if (*n < 0)
		return errfmt(err, errlen, "malformed %s (bad Bech32)", what);
	for (i = 0; i < NRTYPES; i++) {
		const char *want = identity ? RTYPES[i]->id_hrp : RTYPES[i]->rcpt_hrp;
		if (want && strcmp(want, hrp) == 0) {
			*type = RTYPES[i];
			return 0;
		}
	}
	return errfmt(err, errlen, "unsupported %s type '%s'", what, hrp);
}

/* "TYPE:REST" for a row named TYPE that parses recipients (Bech32 strings
 * have no ':'). */
static int prefixed(const char *s, const struct age_rtype **type)
{
	const char *colon = strchr(s, ':');

	for (size_t i = 0; colon && i < NRTYPES; i++)
		if (RTYPES[i]->rcpt_parse && !RTYPES[i]->rcpt_hrp &&
		    strlen(RTYPES[i]->name) == (size_t)(colon - s) &&
		    strncmp(s, RTYPES[i]->name, (size_t)(colon - s)) == 0) {
			*type = RTYPES[i];
			return 1;
		}
	return 0;
}

int age_recipient_parse(const char *s, struct age_recipient *r, char *err, size_t errlen)
{
	uint8_t data[AGE_KEY_MAX];
	const struct age_rtype *t;
	long n;

	memset(r, 0, sizeof(*r));
	if (prefixed(s, &t)) {
		r->type = t;
		return t->rcpt_parse((const uint8_t *)strchr(s, ':') + 1, strlen(strchr(s, ':') + 1),
				     r, err, errlen);
	}
	if (parse_keystr(s, 0, &t, data, &n, err, errlen) < 0)
		return -1;
	r->type = t;
	return t->rcpt_parse(data, (size_t)n, r, err, errlen);
}

int age_identity_parse(const char *s, struct age_identity *id, char *err, size_t errlen)
{
	uint8_t data[AGE_KEY_MAX];
	const struct age_rtype *t;
	long n;
	int rc;

	memset(id, 0, sizeof(*id));
	/* Identities are written upper-case; Bech32 allows either. */
	if (parse_keystr(s, 1, &t, data, &n, err, errlen) < 0)
		return -1;
	id->type = t;
	rc = t->id_parse(data, (size_t)n, id, err, errlen);
	OPENSSL_cleanse(data, sizeof(data));
	return rc;
}

void age_recipient_clear(struct age_recipient *r)
{
	if (r->ext) {
		OPENSSL_cleanse(r->ext, r->ext_len);
		free(r->ext);
	}
	if (r->pass) {
		OPENSSL_cleanse(r->pass, strlen(r->pass));
		free(r->pass);
	}
	OPENSSL_cleanse(r, sizeof(*r));
}

void age_identity_clear(struct age_identity *id)
{
	if (id->ext) {
		OPENSSL_cleanse(id->ext, id->ext_len);
		free(id->ext);
	}
	if (id->pass) {
		OPENSSL_cleanse(id->pass, strlen(id->pass));
		free(id->pass);
	}
	OPENSSL_cleanse(id, sizeof(*id));
}

int age_recipient_passphrase(const char *pass, int logn, struct age_recipient *r)
{
	memset(r, 0, sizeof(*r));
	r->type = &age_rtype_scrypt;
	r->logn = logn;
	r->pass = strdup(pass);
	return r->pass ? 0 : -1;
}

int age_identity_passphrase(const char *pass, int max_logn, struct age_identity *id)
{
	memset(id, 0, sizeof(*id));
	id->type = &age_rtype_scrypt;
	id->max_logn = max_logn;
	id->pass = strdup(pass);
	return id->pass ? 0 : -1;
}

static int check_alone(const struct age_header *h, char *err, size_t errlen)
{
	size_t i, j;

	for (i = 0; i < h->n; i++)
		for (j = 0; j < NRTYPES; j++)
			if (RTYPES[j]->alone && strcmp(h->st[i].args[0], RTYPES[j]->name) == 0 &&
			    h->n != 1)
				return errfmt(err, errlen, "a %s stanza must be the only one in the header",
					      RTYPES[j]->name);
	return 0;
}

int age_unwrap_file_key(const struct age_header *h, const struct age_identity *ids, size_t nids,
			uint8_t fk[AGE_FILE_KEY_LEN], char *err, size_t errlen)
{
	size_t i, j;

	if (check_alone(h, err, errlen) < 0)
		return -1;
	for (i = 0; i < nids; i++) {
		for (j = 0; j < h->n; j++) {
			const struct age_stanza *s = &h->st[j];
			int rc;

			if (strcmp(s->args[0], ids[i].type->name) != 0)
				continue;
			rc = ids[i].type->unwrap(&ids[i], s, fk, err, errlen);
			if (rc == AGE_NOMATCH)
				continue;
			if (rc < 0)
				return -1;
			return age_header_check_mac(h, fk, err, errlen);
		}
	}
	return AGE_NOMATCH;
}
