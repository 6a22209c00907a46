/* The server's principals: every profile of a shared-credentials file, read
 * by the client's reader (lib/secrets/kms_creds), then held to the server's
 * rules: every profile complete, access key ids unique, principal_arn an
 * IAM ARN or made from the account and the profile name. */
#include "seal/kms_srv.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "lib/core/errfmt.h"
#include "lib/secrets/kms_creds.h"
#include "lib/secrets/kms_policy.h"

static void wipe(char **s)
{
	if (*s) {
		OPENSSL_cleanse(*s, strlen(*s));
		free(*s);
		*s = NULL;
	}
}

void kms_principals_free(struct kms_principals *ps)
{
	for (size_t i = 0; i < ps->n; i++) {
		wipe(&ps->p[i].access_key);
		wipe(&ps->p[i].secret_key);
		wipe(&ps->p[i].token);
	}
	ps->n = 0;
}

static int set_arn(struct kms_principal *p, const struct kms_profile *f, const char *name,
		   const char *account, char *err, size_t errlen)
{
	char acct[13];

	if (!f->principal_arn) {
		snprintf(p->arn, sizeof(p->arn), "arn:aws:iam::%s:user/%s", account, f->name);
		return 0;
	}
	if (strlen(f->principal_arn) >= sizeof(p->arn) || kms_arn_account(f->principal_arn, acct) != 0)
		return errfmt(err, errlen, "%s: [%s] principal_arn is not arn:aws:iam::ACCOUNT:...",
			      name, f->name);
	snprintf(p->arn, sizeof(p->arn), "%s", f->principal_arn);
	return 0;
}

/* Moves profile f into principal n of ps. */
static int take(struct kms_principals *ps, struct kms_profile *f, const char *name,
		const char *account, char *err, size_t errlen)
{
	struct kms_principal *p = &ps->p[ps->n];

	if (kms_profile_check(f, name, err, errlen) != 0)
		return -1;
	for (size_t j = 0; j < ps->n; j++)
		if (strcmp(ps->p[j].access_key, f->access_key) == 0)
			return errfmt(err, errlen, "%s: [%s] and [%s] share an access key id", name,
				      ps->p[j].profile, f->name);
	if (set_arn(p, f, name, account, err, errlen) != 0)
		return -1;
	snprintf(p->profile, sizeof(p->profile), "%s", f->name);
	kms_profile_take(f, &p->access_key, &p->secret_key, &p->token);
	ps->n++;
	return 0;
}

static int from_profiles(struct kms_profiles *fs, const char *name, const char *account,
			 struct kms_principals *ps, char *err, size_t errlen)
{
	int rc = 0;

	memset(ps, 0, sizeof(*ps));
	if (fs->n == 0)
		rc = errfmt(err, errlen, "%s: no profile", name);
	for (size_t i = 0; rc == 0 && i < fs->n; i++)
		rc = take(ps, &fs->p[i], name, account, err, errlen);
	kms_profiles_free(fs);
	if (rc != 0)
		kms_principals_free(ps);
	return rc;
}

int kms_principals_parse(const char *text, size_t len, const char *name, const char *account,
			 struct kms_principals *ps, char *err, size_t errlen)
{
	struct kms_profiles fs;

	memset(ps, 0, sizeof(*ps));
	if (kms_profiles_parse(text, len, name, &fs, err, errlen) != 0)
		return -1;
	return from_profiles(&fs, name, account, ps, err, errlen);
}

int kms_principals_load(const char *path, const char *account, struct kms_principals *ps,
			char *err, size_t errlen)
{
	struct kms_profiles fs;

	memset(ps, 0, sizeof(*ps));
	if (kms_profiles_load(path, &fs, err, errlen) != 0)
		return -1;
	return from_profiles(&fs, path, account, ps, err, errlen);
}

const struct kms_principal *kms_principal_find(const struct kms_principals *ps,
					       const char *access_key)
{
	for (size_t i = 0; i < ps->n; i++)
		if (strcmp(ps->p[i].access_key, access_key) == 0)
			return &ps->p[i];
	return NULL;
}
