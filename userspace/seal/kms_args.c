/* seal kms: the AWS CLI's argument forms (docs/kms.md, "Arguments"). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "lib/core/errfmt.h"
#include "lib/secrets/b64.h"
#include "seal/kms.h"

/* A whole file of at most max bytes; malloc'd (with a NUL after), or NULL. */
static uint8_t *read_max(const char *path, size_t max, size_t *len, char *err)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	uint8_t *buf;
	ssize_t r = 0;

	*len = 0;
	if (fd < 0) {
		errfmt(err, KMS_ERRLEN, "%s: %s", path, strerror(errno));
		return NULL;
	}
	buf = malloc(max + 2);
	while (buf && *len <= max && (r = read(fd, buf + *len, max + 1 - *len)) > 0)
		*len += (size_t)r;
	close(fd);
	if (!buf || r < 0 || *len > max) {
		errfmt(err, KMS_ERRLEN, "%s: %s", path,
		       !buf ? "out of memory" : r < 0 ? "read error" : "too large");
		if (buf)
			OPENSSL_cleanse(buf, *len);
		free(buf);
		return NULL;
	}
	buf[*len] = '\0';
	return buf;
}

static int put_b64(json_t *body, const char *field, const uint8_t *raw, size_t n, char *err)
{
	char *b = malloc(b64_pad_len(n) + 1);
	int rc = -1;

	if (b) {
		b64_pad_encode(raw, n, b);
		rc = json_object_set_new(body, field, json_string(b));
		OPENSSL_cleanse(b, strlen(b));
	}
	free(b);
	return rc < 0 ? errfmt(err, KMS_ERRLEN, "%s: out of memory", field) : 0;
}

int kms_arg_blob(json_t *body, const char *field, const char *flag, const char *arg, char *err)
{
	size_t n = strlen(arg);
	uint8_t *raw;
	long len;
	int rc;

	if (strncmp(arg, "fileb://", 8) == 0) {
		size_t got;

		raw = read_max(arg + 8, KMS_BLOB_MAX, &got, err);
		if (!raw)
			return errfmt(err, KMS_ERRLEN, "%s %.300s: unreadable or over %d bytes", flag,
				      arg, KMS_BLOB_MAX);
		len = (long)got;
	} else {
		if (n > b64_pad_len(KMS_BLOB_MAX) || !(raw = malloc(n / 4 * 3 + 3)))
			return errfmt(err, KMS_ERRLEN, "%s: over %d bytes", flag, KMS_BLOB_MAX);
		len = b64_pad_decode(arg, n, raw, n / 4 * 3 + 3);
		if (len < 0) {
			free(raw);
			return errfmt(err, KMS_ERRLEN, "%s: not base64 (use fileb://PATH for raw bytes)",
				      flag);
		}
	}
	rc = len == 0 ? errfmt(err, KMS_ERRLEN, "%s: empty", flag)
		      : put_b64(body, field, raw, (size_t)len, err);
	OPENSSL_cleanse(raw, (size_t)len);
	free(raw);
	return rc;
}

int kms_arg_policy(json_t *body, const char *arg, char *err)
{
	const char *path = strncmp(arg, "file://", 7) == 0 ? arg + 7 : arg;
	char *text = NULL;
	size_t n;
	json_t *check;
	int rc;

	if (arg[0] == '{') {
		text = strdup(arg);
		n = strlen(arg);
	} else {
		text = (char *)read_max(path, KMS_POLICY_MAX, &n, err);
	}
	if (!text || n > KMS_POLICY_MAX)
		return errfmt(err, KMS_ERRLEN, "--policy %.300s: unreadable or over %d bytes", path,
			      KMS_POLICY_MAX);
	/* The server judges the policy; refusing non-JSON here saves a round trip
	 * and names the file. */
	check = json_loadb(text, n, 0, NULL);
	rc = json_is_object(check) ? json_object_set_new(body, "Policy", json_stringn(text, n)) : -2;
	json_decref(check);
	free(text);
	if (rc == -2)
		return errfmt(err, KMS_ERRLEN, "--policy %.300s: not a JSON object", path);
	return rc < 0 ? errfmt(err, KMS_ERRLEN, "--policy: not UTF-8 text") : 0;
}

int kms_arg_context(json_t *ctx, const char *arg, char *err)
{
	const char *eq = strchr(arg, '=');
	char key[256];
	size_t kl = eq ? (size_t)(eq - arg) : 0;

	if (!eq || kl == 0 || kl >= sizeof(key))
		return errfmt(err, KMS_ERRLEN, "--encryption-context '%.100s': want KEY=VALUE", arg);
	memcpy(key, arg, kl);
	key[kl] = '\0';
	if (json_object_get(ctx, key))
		return errfmt(err, KMS_ERRLEN, "--encryption-context: key '%s' given twice", key);
	if (json_object_size(ctx) >= KMS_CTX_MAX)
		return errfmt(err, KMS_ERRLEN, "--encryption-context: more than %d pairs", KMS_CTX_MAX);
	if (json_object_set_new(ctx, key, json_string(eq + 1)) < 0)
		return errfmt(err, KMS_ERRLEN, "--encryption-context '%s': not UTF-8", key);
	return 0;
}
