/* seal state's s3://BUCKET/KEY objects (docs/state.md, "S3"): spooled
 * through an anonymous temporary, so an object appears in S3 only whole and
 * only after it was sealed completely, and a restore reads a whole object
 * before it looks at it. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/core/errfmt.h"
#include "lib/secrets/s3_client.h"
#include "seal/state.h"

int state_s3_parse(const char *url, struct state_s3 *o, char *err, size_t errlen)
{
	const char *b = url + 5, *slash;
	size_t bl, kl;

	if (strncmp(url, "s3://", 5) != 0 || !(slash = strchr(b, '/')))
		return errfmt(err, errlen, "'%.200s': want s3://BUCKET/KEY", url);
	bl = (size_t)(slash - b);
	kl = strlen(slash + 1);
	if (bl == 0 || bl >= sizeof(o->bucket) || kl == 0 || kl >= sizeof(o->key))
		return errfmt(err, errlen, "'%.200s': bucket 1..%zu, key 1..%zu bytes", url,
			      sizeof(o->bucket) - 1, sizeof(o->key) - 1);
	memcpy(o->bucket, b, bl);
	o->bucket[bl] = '\0';
	strcpy(o->key, slash + 1);
	return 0;
}

int state_spool(char *err, size_t errlen)
{
	const char *t = getenv("TMPDIR");
	int fd = open(t && *t ? t : "/tmp", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);

	if (fd < 0)
		return errfmt(err, errlen, "a temporary in %s: %s", t && *t ? t : "/tmp",
			      strerror(errno));
	return fd;
}

static int conf(const struct state_s3 *o, const struct s3_flags *f, const struct kms_creds *creds,
		struct s3_conf *c, char *err, size_t errlen)
{
	memset(c, 0, sizeof(*c));
	if (!f->endpoint)
		return errfmt(err, errlen, "s3://%s: no --s3-endpoint URL", o->bucket);
	c->endpoint = f->endpoint;
	c->bucket = o->bucket;
	c->region = f->region;
	c->ca_file = f->ca_file;
	c->creds = creds;
	c->retries = -1;
	c->meta_content = "age";
	return 0;
}

int state_s3_put(const struct state_s3 *o, const struct s3_flags *f, const struct kms_creds *creds,
		 int fd, char *err, size_t errlen)
{
	struct s3_conf c;

	if (conf(o, f, creds, &c, err, errlen) < 0)
		return -1;
	if (lseek(fd, 0, SEEK_SET) != 0)
		return errfmt(err, errlen, "the temporary: %s", strerror(errno));
	return s3_put_fd(&c, o->key, fd, err, errlen) == 0 ? 0 : -1;
}

int state_s3_get(const struct state_s3 *o, const struct s3_flags *f, const struct kms_creds *creds,
		 int fd, char *err, size_t errlen)
{
	struct s3_conf c;
	int rc;

	if (conf(o, f, creds, &c, err, errlen) < 0)
		return -1;
	rc = s3_get_fd(&c, o->key, fd, NULL, NULL, err, errlen);
	if (rc != 0)
		return -1;
	if (lseek(fd, 0, SEEK_SET) != 0)
		return errfmt(err, errlen, "the temporary: %s", strerror(errno));
	return 0;
}
