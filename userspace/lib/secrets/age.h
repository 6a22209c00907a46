/* The age v1 file format (docs/age.md): header and stanzas, the recipient
 * types, the header MAC. The payload (STREAM) is in age_stream.h, the
 * armor and buffered I/O in age_io.h.
 *
 * Every function that can fail on outside input writes one line into
 * err[errlen] and returns -1 (or AGE_NOMATCH where said). */
#ifndef NEK_SECRETS_AGE_H
#define NEK_SECRETS_AGE_H

#include <stddef.h>
#include <stdint.h>

#define AGE_FILE_KEY_LEN 16
#define AGE_MAC_LEN 32
#define AGE_NONCE_LEN 16

/* Our limits (docs/age.md): a header beyond them is refused, not read on. */
#define AGE_MAX_HEADER (1u << 20)
#define AGE_MAX_STANZAS 1024
#define AGE_MAX_ARGS 16
#define AGE_MAX_BODY 16384
/* scrypt work factor: age's own default ceiling (2^22 = 4 GiB of memory). */
#define AGE_SCRYPT_MAX_LOGN 22
#define AGE_SCRYPT_DEFAULT_LOGN 18

/* Returned by an unwrap that found the stanza is not for this identity. */
#define AGE_NOMATCH 1
/* Returned by age_header_parse when the header is incomplete. */
#define AGE_MORE 2

struct age_stanza {
	char *args[AGE_MAX_ARGS]; /* args[0] is the type; owned (one block) */
	size_t nargs;
	uint8_t *body;            /* owned */
	size_t body_len;
};

struct age_header {
	struct age_stanza *st;
	size_t n;
	uint8_t mac[AGE_MAC_LEN];
	uint8_t *raw;    /* the header bytes as read, through "---" (MAC input) */
	size_t raw_len;
};

/* Parses the header at in[0..len). On success fills h and sets *used to the
 * bytes consumed (through the newline after the MAC). Returns AGE_MORE when
 * in ends inside the header and len < AGE_MAX_HEADER (read more, call again),
 * -1 on a malformed header. */
int age_header_parse(const uint8_t *in, size_t len, struct age_header *h, size_t *used,
		     char *err, size_t errlen);
void age_header_free(struct age_header *h);

/* Encodes stanzas and their MAC under file_key into a malloc'd buffer. */
int age_header_encode(const struct age_stanza *st, size_t n,
		      const uint8_t file_key[AGE_FILE_KEY_LEN], uint8_t **out, size_t *outlen,
		      char *err, size_t errlen);

/* 0 when h's MAC is the one file_key gives, -1 (with err) otherwise. */
int age_header_check_mac(const struct age_header *h, const uint8_t file_key[AGE_FILE_KEY_LEN],
			 char *err, size_t errlen);

/* Sets s to an owned stanza (args copied, body copied). */
int age_stanza_set(struct age_stanza *s, const char *const *args, size_t nargs,
		   const uint8_t *body, size_t body_len);
void age_stanza_free(struct age_stanza *s);

/* ---------------------------------------------------------------- recipient types
 * The extension point: a recipient type is a row of age_rtypes[] that knows
 * its string forms and how to wrap and unwrap the file key. A new type (kms,
 * umbral) adds a row; the CLI and the decrypt loop need no change. */

#define AGE_KEY_MAX 64

struct age_rtype;

struct age_recipient {
	const struct age_rtype *type;
	uint8_t key[AGE_KEY_MAX]; /* X25519: the public key */
	char *pass;               /* scrypt: the passphrase (owned) */
	int logn;                 /* scrypt: work factor */
	void *ext;      /* a type's own state (kms: key id, context), owned, */
	size_t ext_len; /* wiped and freed by age_recipient_clear */
};

struct age_identity {
	const struct age_rtype *type;
	uint8_t key[AGE_KEY_MAX]; /* X25519: the secret scalar */
	char *pass;
	int max_logn;
	void *ext;      /* a type's own state (umbral: cfrags and keys), owned, */
	size_t ext_len; /* wiped and freed by age_identity_clear */
};

struct age_rtype {
	const char *name;        /* the stanza type ("X25519", "scrypt") */
	const char *rcpt_hrp;    /* bech32 hrp of its recipients, or NULL */
	const char *id_hrp;      /* bech32 hrp of its identities, or NULL */
	/* An stanza of this type must be the only one in the header. */
	int alone;
	int (*rcpt_parse)(const uint8_t *data, size_t n, struct age_recipient *r, char *err,
			  size_t errlen);
	int (*id_parse)(const uint8_t *data, size_t n, struct age_identity *id, char *err,
			size_t errlen);
	int (*wrap)(const struct age_recipient *r, const uint8_t fk[AGE_FILE_KEY_LEN],
		    struct age_stanza *out, char *err, size_t errlen);
	/* 0 and fk set; AGE_NOMATCH; or -1 for a malformed stanza of this type. */
	int (*unwrap)(const struct age_identity *id, const struct age_stanza *s,
		      uint8_t fk[AGE_FILE_KEY_LEN], char *err, size_t errlen);
};

extern const struct age_rtype age_rtype_x25519;
extern const struct age_rtype age_rtype_scrypt;
extern const struct age_rtype age_rtype_umbral; /* age_umbral.h */
extern const struct age_rtype age_rtype_kms;    /* age_kms.h */

/* "age1..." (or another type's recipient string: Bech32 by its hrp, or
 * "TYPE:REST" with REST given to the row named TYPE) into r. */
int age_recipient_parse(const char *s, struct age_recipient *r, char *err, size_t errlen);
/* "AGE-SECRET-KEY-1..." into id. */
int age_identity_parse(const char *s, struct age_identity *id, char *err, size_t errlen);
int age_recipient_passphrase(const char *pass, int logn, struct age_recipient *r);
int age_identity_passphrase(const char *pass, int max_logn, struct age_identity *id);
void age_recipient_clear(struct age_recipient *r);
void age_identity_clear(struct age_identity *id);

/* A fresh X25519 identity. */
int age_x25519_generate(struct age_identity *id, char *err, size_t errlen);
/* Its strings: "AGE-SECRET-KEY-1..." and "age1..." (cap >= 128). */
int age_identity_string(const struct age_identity *id, char *out, size_t cap);
int age_identity_recipient(const struct age_identity *id, char *out, size_t cap);

/* The file key from the header and identities: 0; AGE_NOMATCH when no
 * identity opens any stanza; -1 on a malformed stanza or a MAC mismatch
 * (err says which: "header MAC mismatch" for the latter). */
int age_unwrap_file_key(const struct age_header *h, const struct age_identity *ids, size_t nids,
			uint8_t fk[AGE_FILE_KEY_LEN], char *err, size_t errlen);

/* ---------------------------------------------------------------- primitives */
int age_random(void *buf, size_t n);
int age_hkdf(const uint8_t *ikm, size_t ikm_len, const uint8_t *salt, size_t salt_len,
	     const char *info, uint8_t *out, size_t out_len);
/* ChaCha20-Poly1305 with a zero nonce, for stanza bodies: 16 bytes in,
 * 32 out (seal) and back (open; -1 on a bad tag). */
int age_aead_seal_key(const uint8_t key[32], const uint8_t fk[AGE_FILE_KEY_LEN], uint8_t out[32]);
int age_aead_open_key(const uint8_t key[32], const uint8_t in[32], uint8_t fk[AGE_FILE_KEY_LEN]);

#endif
