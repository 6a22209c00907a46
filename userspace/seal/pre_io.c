/* seal pre: the files that hold umbral-pre's bytes (docs/seal.md, "pre"). */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "lib/core/errfmt.h"
#include "lib/core/fdio.h"
#include "lib/core/outfile.h"
#include "lib/secrets/age_umbral.h"
#include "seal/pre.h"

int pre_read(const char *path, size_t max, uint8_t **out, size_t *len, char *err)
{
	int fd = strcmp(path, "-") == 0 ? 0 : open(path, O_RDONLY | O_CLOEXEC);
	size_t cap = 4096, n = 0;
	uint8_t *buf = NULL, *nb;
	ssize_t r = 1;

	if (fd < 0)
		return errfmt(err, PRE_ERRLEN, "%s: %s", path, strerror(errno));
	while (r > 0 && n <= max) {
		if (!buf || n == cap) {
			cap = buf ? cap * 2 : cap;
			nb = realloc(buf, cap);
			if (!nb)
				break;
			buf = nb;
		}
		r = read(fd, buf + n, cap - n);
		if (r > 0)
			n += (size_t)r;
		else if (r < 0 && errno == EINTR)
			r = 1;
	}
	if (fd)
		close(fd);
	if (!buf || r < 0 || n > max) {
		int e = errno;
		free(buf);
		if (n > max)
			return errfmt(err, PRE_ERRLEN, "%s: larger than %zu bytes", path, max);
		return errfmt(err, PRE_ERRLEN, "%s: %s", path, r < 0 ? strerror(e) : "out of memory");
	}
	*out = buf;
	*len = n;
	return 0;
}

int pre_write(const char *path, const uint8_t *b, size_t n, char *err)
{
	struct outfile o;

	if (outfile_open(&o, path ? path : "-", 0, err, PRE_ERRLEN))
		return -1;
	if (fd_write_all(o.fd, b, n)) {
		errfmt(err, PRE_ERRLEN, "%s: %s", path ? path : "stdout", strerror(errno));
		outfile_abort(&o);
		return -1;
	}
	return outfile_commit(&o, err, PRE_ERRLEN);
}

/* Secret material: mode 0600 from creation, never over an existing file
 * unless asked. */
int pre_write_secret(const char *path, const uint8_t *b, size_t n, bool force, char *err)
{
	int flags = O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW | (force ? O_TRUNC : O_EXCL);
	int fd = open(path, flags, 0600);
	int rc = 0;

	if (fd < 0)
		return errfmt(err, PRE_ERRLEN, "%s: %s%s", path, strerror(errno),
			      errno == EEXIST ? " (use --force)" : "");
	if (fchmod(fd, 0600) || fd_write_all(fd, b, n))
		rc = errfmt(err, PRE_ERRLEN, "%s: %s", path, strerror(errno));
	if (close(fd) && !rc)
		rc = errfmt(err, PRE_ERRLEN, "%s: %s", path, strerror(errno));
	return rc;
}

/* Reads a small object file and hands it to its parser; err names the file. */
static int load(const char *path, size_t max, char *err,
		int (*parse)(const uint8_t *, size_t, void *, char *, size_t), void *obj)
{
	uint8_t *b;
	size_t n;
	char e[PRE_ERRLEN];
	int rc;

	if (pre_read(path, max, &b, &n, err))
		return -1;
	rc = parse(b, n, obj, e, sizeof(e));
	OPENSSL_cleanse(b, n);
	free(b);
	if (rc)
		return errfmt(err, PRE_ERRLEN, "%s: %s", path, e);
	return 0;
}

static int p_sk(const uint8_t *b, size_t n, void *o, char *e, size_t el)
{
	return umb_sk_parse(b, n, o, e, el);
}
static int p_pk(const uint8_t *b, size_t n, void *o, char *e, size_t el)
{
	return umb_pk_parse(b, n, o, e, el);
}
static int p_capsule(const uint8_t *b, size_t n, void *o, char *e, size_t el)
{
	return umb_capsule_parse(b, n, o, e, el);
}
static int p_kfrag(const uint8_t *b, size_t n, void *o, char *e, size_t el)
{
	return umb_kfrag_parse(b, n, o, e, el);
}
static int p_cfrag(const uint8_t *b, size_t n, void *o, char *e, size_t el)
{
	return umb_cfrag_parse(b, n, o, e, el);
}

#define OBJ_MAX 1024 /* every object is under 400 bytes; one more block reads the excess */

int pre_load_sk(const char *path, struct umb_sk *sk, char *err)
{
	return load(path, OBJ_MAX, err, p_sk, sk);
}
int pre_load_pk(const char *path, struct umb_pk *pk, char *err)
{
	return load(path, OBJ_MAX, err, p_pk, pk);
}
int pre_load_capsule(const char *path, struct umb_capsule *c, char *err)
{
	return load(path, OBJ_MAX, err, p_capsule, c);
}
int pre_load_kfrag(const char *path, struct umb_kfrag *k, char *err)
{
	return load(path, OBJ_MAX, err, p_kfrag, k);
}
int pre_load_cfrag(const char *path, struct umb_cfrag *c, char *err)
{
	return load(path, OBJ_MAX, err, p_cfrag, c);
}

/* ---------------------------------------------------------------- directories */
int pre_load_dir(const char *dir, size_t max, const char *what,
		 int (*one)(const char *path, size_t i, void *ctx, char *err), void *ctx,
		 size_t *n, char *err)
{
	char path[4096];
	struct dirent *de;
	struct stat st;
	DIR *d = opendir(dir);
	int rc = 0;

	*n = 0;
	if (!d)
		return errfmt(err, PRE_ERRLEN, "%s: %s", dir, strerror(errno));
	while (rc == 0 && (de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		if (snprintf(path, sizeof(path), "%s/%s", dir, de->d_name) >= (int)sizeof(path))
			rc = errfmt(err, PRE_ERRLEN, "%s: name too long", dir);
		else if (stat(path, &st) || !S_ISREG(st.st_mode))
			continue;
		else if (*n == max)
			rc = errfmt(err, PRE_ERRLEN, "%s: more than %zu %s", dir, max, what);
		else if ((rc = one(path, *n, ctx, err)) == 0)
			(*n)++;
	}
	closedir(d);
	if (rc == 0 && *n == 0)
		rc = errfmt(err, PRE_ERRLEN, "%s: no %s", dir, what);
	return rc;
}

/* ---------------------------------------------------------------- umbral age identities */
static int one_cfrag(const char *path, size_t i, void *cf, char *err)
{
	return pre_load_cfrag(path, (struct umb_cfrag *)cf + i, err);
}

static int receiver_identity(const struct umb_sk *sk, const char *dir, const char *vk,
			     struct age_identity *id, char *e, char *err)
{
	struct umb_cfrag *cf = calloc(UMB_MAX_SHARES, sizeof(*cf));
	struct umb_pk pk_s;
	size_t n = 0;
	int rc = -1;

	if (!cf)
		return errfmt(err, PRE_ERRLEN, "out of memory");
	if (pre_load_pk(vk, &pk_s, err) == 0 &&
	    pre_load_dir(dir, UMB_MAX_SHARES, "cfrags", one_cfrag, cf, &n, err) == 0 &&
	    age_umbral_identity_receiver(sk, &pk_s, cf, n, id, e, PRE_ERRLEN) == 0)
		rc = 0;
	OPENSSL_cleanse(cf, UMB_MAX_SHARES * sizeof(*cf));
	free(cf);
	return rc;
}

int pre_umbral_identity(const char *skp, const char *dir, const char *vk,
			struct age_identity *id, char *err)
{
	char e[PRE_ERRLEN] = "";
	struct umb_sk sk;
	int rc;

	if (pre_load_sk(skp, &sk, err))
		return -1;
	if (dir)
		rc = receiver_identity(&sk, dir, vk, id, e, err);
	else
		rc = age_umbral_identity_owner(&sk, id, e, sizeof(e));
	umb_sk_clear(&sk);
	if (rc && e[0])
		errfmt(err, PRE_ERRLEN, "%s: %s", skp, e);
	return rc;
}
