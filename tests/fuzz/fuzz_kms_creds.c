/* libFuzzer target: the shared-credentials reader the KMS client and server
 * share. Any input ends in an error or in profiles that hold to the rules:
 * names 1 to 63 characters and unique, at most KMS_PROFILES_MAX, values at
 * most KMS_CREDS_VALUE_MAX bytes; a usable profile has both keys; and no
 * error message ever carries a secret value. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/secrets/kms_creds.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_value(const char *v)
{
	if (v && strlen(v) > KMS_CREDS_VALUE_MAX)
		abort();
}

static void check_profile(const struct kms_profiles *ps, size_t i)
{
	const struct kms_profile *p = &ps->p[i];
	char err[256] = "";
	size_t n = strlen(p->name);

	if (n == 0 || n > KMS_PROFILE_NAME_MAX)
		abort();
	for (size_t j = 0; j < i; j++)
		if (strcmp(ps->p[j].name, p->name) == 0)
			abort();
	if (kms_profile_check(p, "F", err, sizeof(err)) == 0 &&
	    (!p->access_key || !*p->access_key || !p->secret_key || !*p->secret_key || p->bad[0]))
		abort();
	check_value(p->secret_key);
	check_value(p->token);
	check_value(p->access_key);
	/* Messages are fixed words, line numbers and the profile's name, none
	 * with a '|': one in err came from a value. */
	if (!strchr(p->name, '|') && strchr(err, '|'))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct kms_profiles ps;
	char err[256] = "";

	if (kms_profiles_parse((const char *)data, size, "F", &ps, err, sizeof(err)) != 0) {
		if (err[0] == '\0' || ps.p || ps.n)
			abort();
		return 0;
	}
	if (ps.n > KMS_PROFILES_MAX)
		abort();
	for (size_t i = 0; i < ps.n; i++)
		check_profile(&ps, i);
	kms_profiles_free(&ps);
	return 0;
}
