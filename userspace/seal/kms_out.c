/* seal kms: what a response becomes on stdout and in --plaintext-out. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/crypto.h>

#include "lib/core/errfmt.h"
#include "lib/core/fdio.h"
#include "lib/core/outfile.h"
#include "lib/secrets/b64.h"
#include "lib/secrets/kms_cms.h"
#include "seal/kms.h"

/* A key file is a secret: 0600 whatever the umask. */
static int write_secret(const char *path, const uint8_t *p, size_t n, char *err)
{
	struct outfile o;

	if (outfile_open(&o, path, 0, err, KMS_ERRLEN) < 0)
		return -1;
	if ((o.tmp && fchmod(o.fd, 0600) < 0) || fd_write_all(o.fd, p, n) < 0) {
		outfile_abort(&o);
		return errfmt(err, KMS_ERRLEN, "--plaintext-out %s: write failed", path);
	}
	return outfile_commit(&o, err, KMS_ERRLEN);
}

/* The field as a string, or NULL; a field of another type is an error. */
static int get_str(const json_t *resp, const char *field, const char **out, char *err)
{
	const json_t *v = json_object_get(resp, field);

	*out = NULL;
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_string(v))
		return errfmt(err, KMS_ERRLEN, "KMS response: %s is not a string", field);
	*out = json_string_value(v);
	return 0;
}

static int decode_plaintext(const char *b64, uint8_t *out, size_t *n, char *err)
{
	size_t len = strlen(b64);
	long got;

	if (len > b64_pad_len(KMS_CMS_PLAINTEXT_MAX))
		return errfmt(err, KMS_ERRLEN, "KMS response: Plaintext over %d bytes",
			      KMS_CMS_PLAINTEXT_MAX);
	got = b64_pad_decode(b64, len, out, KMS_CMS_PLAINTEXT_MAX);
	if (got < 0)
		return errfmt(err, KMS_ERRLEN, "KMS response: Plaintext is not base64");
	*n = (size_t)got;
	return 0;
}

/* The plaintext an attested response carries only for us. */
static int open_recipient(json_t *resp, const struct kms_recipient *r, uint8_t *out, size_t *n,
			  char *err)
{
	const char *cfr, *pt;
	char why[256];

	if (get_str(resp, "CiphertextForRecipient", &cfr, err) < 0 ||
	    get_str(resp, "Plaintext", &pt, err) < 0)
		return -1;
	if (pt && *pt)
		return errfmt(err, KMS_ERRLEN, "KMS response: Plaintext in the clear although a "
			      "Recipient was sent; refused");
	if (!cfr)
		return errfmt(err, KMS_ERRLEN, "KMS response: no CiphertextForRecipient");
	if (kms_recipient_open(r, cfr, out, KMS_CMS_PLAINTEXT_MAX, n, why, sizeof(why)) < 0)
		return errfmt(err, KMS_ERRLEN, "CiphertextForRecipient: %s", why);
	json_object_del(resp, "CiphertextForRecipient");
	return 1;
}

static int have_plaintext(json_t *resp, const struct kms_recipient *r, uint8_t *out, size_t *n,
			  char *err)
{
	const char *pt;

	if (r)
		return open_recipient(resp, r, out, n, err);
	if (get_str(resp, "Plaintext", &pt, err) < 0)
		return -1;
	if (!pt)
		return 0;
	return decode_plaintext(pt, out, n, err) < 0 ? -1 : 1;
}

static int set_plaintext(json_t *resp, const uint8_t *p, size_t n, char *err)
{
	char *b = malloc(b64_pad_len(n) + 1);
	int rc = -1;

	if (b) {
		b64_pad_encode(p, n, b);
		rc = json_object_set_new(resp, "Plaintext", json_string(b));
		OPENSSL_cleanse(b, strlen(b));
	}
	free(b);
	return rc < 0 ? errfmt(err, KMS_ERRLEN, "out of memory") : 0;
}

int kms_out_plaintext(json_t *resp, const struct kms_recipient *r, const char *plaintext_out,
		      char *err)
{
	uint8_t *pt = malloc(KMS_CMS_PLAINTEXT_MAX);
	size_t n = 0;
	int rc;

	if (!pt)
		return errfmt(err, KMS_ERRLEN, "out of memory");
	rc = have_plaintext(resp, r, pt, &n, err);
	if (rc == 0 && plaintext_out)
		rc = errfmt(err, KMS_ERRLEN, "--plaintext-out: the response has no Plaintext");
	else if (rc > 0 && plaintext_out) {
		rc = write_secret(plaintext_out, pt, n, err);
		json_object_del(resp, "Plaintext");
	} else if (rc > 0) {
		rc = set_plaintext(resp, pt, n, err);
	}
	OPENSSL_cleanse(pt, KMS_CMS_PLAINTEXT_MAX);
	free(pt);
	return rc < 0 ? -1 : 0;
}

int kms_out_print(const json_t *resp)
{
	char *s = json_dumps(resp, JSON_INDENT(4));
	int rc;

	if (!s)
		return -1;
	rc = printf("%s\n", s) < 0 || fflush(stdout) != 0 ? -1 : 0;
	OPENSSL_cleanse(s, strlen(s));
	free(s);
	return rc;
}
