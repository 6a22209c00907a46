/* The age recipient type "kms" (docs/age.md): `-> kms KEYID CTX`, the body
 * a KMS CiphertextBlob of the file key under KEYID with EncryptionContext
 * CTX, opened only by KMS Decrypt (attested with a Recipient when the client
 * has an NSM). */
#ifndef NEK_SECRETS_AGE_KMS_H
#define NEK_SECRETS_AGE_KMS_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "lib/secrets/age.h"
#include "lib/secrets/kms_client.h"

#define AGE_KMS_KEYID_MAX 256
#define AGE_KMS_BLOB_MAX 8192
#define AGE_KMS_CTX_PAIRS 64
#define AGE_KMS_CTX_STR_MAX 1024

/* How the type reaches KMS: the client configuration (its creds must live
 * as long as this) and the NSM that makes Recipients ("/dev/nsm",
 * "emu:DIR"), or NULL for calls without one. */
struct age_kms_client {
	struct kms_client_cfg cfg;
	const char *nsm;
};

/* Points a parsed kms recipient at the client its wrap calls. */
int age_kms_recipient_bind(struct age_recipient *r, const struct age_kms_client *c, char *err,
			   size_t errlen);

/* An identity that opens kms stanzas through c (kept by pointer). */
int age_kms_identity(const struct age_kms_client *c, struct age_identity *id, char *err,
		     size_t errlen);

/* A stanza's parts: *keyid points into s; *ctx is a new reference. -1 for a
 * malformed stanza. */
int age_kms_stanza_parse(const struct age_stanza *s, const char **keyid, json_t **ctx, char *err,
			 size_t errlen);

/* A fresh file key from KMS GenerateDataKey (16 bytes, with a Recipient when
 * c has an NSM) and the stanza that opens it. */
int age_kms_generate(const struct age_kms_client *c, const char *keyid, const json_t *ctx,
		     uint8_t fk[AGE_FILE_KEY_LEN], struct age_stanza *out, char *err,
		     size_t errlen);

/* The canonical text of an EncryptionContext (malloc'd), or NULL when ctx is
 * not an object of 1..1024-byte string values with at most 64 pairs. */
char *age_kms_ctx_text(const json_t *ctx);

#endif
