/* AWS credentials as the AWS CLI finds them (docs/kms.md, "Credentials"):
 * the environment, else the shared credentials file. Values are secrets:
 * errors name where a value was looked for, never the value, and
 * kms_creds_free / kms_profiles_free wipe them.
 *
 * One reader serves both sides: the client takes one profile
 * (kms_creds_load), the KMS server takes every profile as a principal
 * (kms_profiles_load, docs/kms-server.md "Principals"). */
#ifndef NEK_SECRETS_KMS_CREDS_H
#define NEK_SECRETS_KMS_CREDS_H

#include <stddef.h>

#define KMS_CREDS_FILE_MAX (1u << 20)
#define KMS_CREDS_VALUE_MAX 4096
#define KMS_PROFILES_MAX 64
#define KMS_PROFILE_NAME_MAX 63

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

/* One [NAME] or [profile NAME] section, its values as written (NULL when
 * absent, possibly empty). principal_arn is the KMS server's own key. */
struct kms_profile {
	char name[KMS_PROFILE_NAME_MAX + 1];
	char *access_key, *secret_key, *token, *principal_arn;
	int line;      /* of the section header */
	char bad[128]; /* non-empty: "LINE: why" this profile is unusable */
};

struct kms_profiles {
	struct kms_profile *p; /* n of them, in file order */
	size_t n;
};

/* Every profile of a shared-credentials text of len bytes. A problem inside
 * one profile (a key twice, a line without '=', a value too long) only
 * marks that profile bad, as the client may want another one; a problem of
 * the file (a NUL byte, a key outside any section, a malformed or repeated
 * section header, more than KMS_PROFILES_MAX) fails. 0, or -1 and err
 * naming name and the line. */
int kms_profiles_parse(const char *text, size_t len, const char *name, struct kms_profiles *ps,
		       char *err, size_t errlen);

/* The same from a file (at most KMS_CREDS_FILE_MAX bytes). */
int kms_profiles_load(const char *path, struct kms_profiles *ps, char *err, size_t errlen);

/* The profile called profile when it is usable: not bad, with a non-empty
 * access key id and secret. NULL and err (naming name) otherwise. */
struct kms_profile *kms_profiles_get(const struct kms_profiles *ps, const char *name,
				     const char *profile, char *err, size_t errlen);

/* 0 when p is usable, else -1 and err (naming name). */
int kms_profile_check(const struct kms_profile *p, const char *name, char *err, size_t errlen);

/* Moves p's access key id, secret and token (NULL when absent or empty:
 * an empty token is no token) to the caller, who wipes and frees them. */
void kms_profile_take(struct kms_profile *p, char **access_key, char **secret_key, char **token);

void kms_profiles_free(struct kms_profiles *ps);

#endif
