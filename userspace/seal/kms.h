/* seal kms: the KMS client commands (docs/kms.md). Internal to seal. */
#ifndef NEK_SEAL_KMS_H
#define NEK_SEAL_KMS_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "lib/secrets/kms_recipient.h"

#define KMS_BLOB_MAX (64 * 1024)
#define KMS_POLICY_MAX (32 * 1024)
#define KMS_CTX_MAX 64
#define KMS_ERRLEN 512

/* BLOB argument (base64, or fileb://PATH) as the base64 KMS wants, into body
 * under field. 0, or -1 and err naming the flag. */
int kms_arg_blob(json_t *body, const char *field, const char *flag, const char *arg, char *err);

/* --policy: file://PATH, PATH, or JSON text starting with '{'. */
int kms_arg_policy(json_t *body, const char *arg, char *err);

/* Adds K=V to the EncryptionContext object ctx; a repeated key is an error. */
int kms_arg_context(json_t *ctx, const char *arg, char *err);

/* The response's plaintext handling: with r, CiphertextForRecipient is
 * opened and becomes Plaintext; with plaintext_out the Plaintext goes raw to
 * that file and leaves the JSON. 0, or -1 and err. */
int kms_out_plaintext(json_t *resp, const struct kms_recipient *r, const char *plaintext_out,
		      char *err);

/* Prints resp as the AWS CLI does (4-space indent). 0 or -1. */
int kms_out_print(const json_t *resp);

#endif
