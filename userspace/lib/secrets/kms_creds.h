/* AWS credentials as the AWS CLI finds them (docs/kms.md, "Credentials"):
 * the environment, else the shared credentials file. Values are secrets:
 * errors name where a value was looked for, never the value, and
 * kms_creds_free wipes them. */
#ifndef NEK_SECRETS_KMS_CREDS_H
#define NEK_SECRETS_KMS_CREDS_H

#include <stddef.h>

#define KMS_CREDS_FILE_MAX (1u << 20)
#define KMS_CREDS_VALUE_MAX 4096

struct kms_creds {
	char *access_key, *secret_key, *token; /* token NULL when none */
	char source[320];                      /* "environment", "FILE [profile]" */
};

/* profile NULL: AWS_PROFILE, else "default". 0, or -1 and err. */
int kms_creds_load(const char *profile, struct kms_creds *c, char *err, size_t errlen);

/* The [profile] section of a shared-credentials text (name names the file in
 * errors). 0, or -1 and err (also when the profile or a key is missing). */
int kms_creds_parse(const char *text, const char *name, const char *profile, struct kms_creds *c,
		    char *err, size_t errlen);

void kms_creds_free(struct kms_creds *c);

#endif
