/* The KMS client of the kms recipient type and of seal state: flags named as
 * seal kms names them, the region and credentials found the same way. */
#include <stdlib.h>
#include <string.h>

#include "lib/core/errfmt.h"
#include "seal/state.h"

static const char *region_of(const char *flag)
{
	const char *r = flag;

	if (!r || !*r)
		r = getenv("AWS_REGION");
	if (!r || !*r)
		r = getenv("AWS_DEFAULT_REGION");
	return r && *r ? r : NULL;
}

int kms_flags_client(const struct kms_flags *f, struct age_kms_client *c, struct kms_creds *creds,
		     char *err, size_t errlen)
{
	memset(c, 0, sizeof(*c));
	memset(creds, 0, sizeof(*creds));
	c->cfg.region = region_of(f->region);
	if (!c->cfg.region)
		return errfmt(err, errlen, "kms: no region (give the region flag or AWS_REGION)");
	if (kms_creds_load(f->profile, creds, err, errlen) < 0)
		return -1;
	c->cfg.endpoint = f->endpoint;
	c->cfg.ca_file = f->ca_file;
	c->cfg.max_attempts = 3;
	c->cfg.timeout_ms = 30000;
	c->cfg.creds = creds;
	c->nsm = f->nsm;
	return 0;
}

int kms_any_recipient(const struct age_recipient *r, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (r[i].type == &age_rtype_kms)
			return 1;
	return 0;
}

int kms_bind_recipients(struct age_recipient *r, size_t n, const struct age_kms_client *c,
			char *err, size_t errlen)
{
	for (size_t i = 0; i < n; i++)
		if (r[i].type == &age_rtype_kms && age_kms_recipient_bind(&r[i], c, err, errlen) < 0)
			return -1;
	return 0;
}
