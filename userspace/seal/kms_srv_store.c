/* The server's state directory: master key, key files, atomic writes. */
#include "seal/kms_srv.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "lib/core/errfmt.h"
#include "lib/core/fdio.h"
#include "lib/secrets/b64.h"

#define KEYFILE_MAX (KMS_POLICY_MAX_TEXT * 2 + 65536)
#define KMS_POLICY_MAX_TEXT 32768
#define MATERIAL_AAD "nek-kms-key-v1:"
#define SEALED_LEN (KMS_BLOB_IV + KMS_KEY_LEN + KMS_BLOB_TAG)

/* The rename is durable only once the directory holding name is. */
static int sync_parent(struct kms_store *st, const char *name, char *err, size_t errlen)
{
	int fd = st->dirfd, rc;

	if (strchr(name, '/')) {
		fd = openat(st->dirfd, "keys", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (fd < 0)
			return errfmt(err, errlen, "%s/keys: %s", st->dir, strerror(errno));
	}
	rc = fsync(fd);
	if (fd != st->dirfd)
		close(fd);
	return rc == 0 ? 0 : errfmt(err, errlen, "%s: fsync: %s", st->dir, strerror(errno));
}

int kms_store_write(struct kms_store *st, const char *name, const void *data, size_t len,
		    int mode, char *err, size_t errlen)
{
	char tmp[256];
	int fd;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp.%d", name, (int)getpid()) >= (int)sizeof(tmp))
		return errfmt(err, errlen, "%s: name too long", name);
	fd = openat(st->dirfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode);
	if (fd < 0)
		return errfmt(err, errlen, "%s/%s: %s", st->dir, tmp, strerror(errno));
	if (fd_write_all(fd, data, len) != 0 || fsync(fd) != 0) {
		int e = errno;

		close(fd);
		unlinkat(st->dirfd, tmp, 0);
		return errfmt(err, errlen, "%s/%s: %s", st->dir, tmp, strerror(e));
	}
	if (close(fd) != 0 || renameat(st->dirfd, tmp, st->dirfd, name) != 0) {
		int e = errno;

		unlinkat(st->dirfd, tmp, 0);
		return errfmt(err, errlen, "%s/%s: %s", st->dir, name, strerror(e));
	}
	return sync_parent(st, name, err, errlen);
}

static int read_small(int dirfd, const char *name, size_t max, char **out, size_t *len)
{
	int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	struct stat sb;
	int rc = -1;

	if (fd < 0)
		return errno == ENOENT ? 1 : -1;
	if (fstat(fd, &sb) == 0 && S_ISREG(sb.st_mode) && (size_t)sb.st_size <= max) {
		*out = malloc((size_t)sb.st_size + 1);
		if (*out && fd_read_full(fd, *out, (size_t)sb.st_size) == 0) {
			(*out)[sb.st_size] = 0;
			*len = (size_t)sb.st_size;
			rc = 0;
		} else {
			free(*out);
			*out = NULL;
		}
	}
	close(fd);
	return rc;
}

/* A writer killed between create and rename leaves NAME.tmp.PID behind. */
static void remove_tmp(int dirfd)
{
	int fd = dup(dirfd);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	struct dirent *e;

	if (!d) {
		if (fd >= 0)
			close(fd);
		return;
	}
	while ((e = readdir(d)))
		if (strstr(e->d_name, ".tmp."))
			unlinkat(dirfd, e->d_name, 0);
	closedir(d);
}

static int load_master(struct kms_store *st, char *err, size_t errlen)
{
	char *buf = NULL;
	size_t len = 0;
	int rc = read_small(st->dirfd, "master.key", 64, &buf, &len);

	if (rc == 1) {
		if (RAND_bytes(st->master, KMS_KEY_LEN) != 1)
			return errfmt(err, errlen, "no random bytes for the master key");
		return kms_store_write(st, "master.key", st->master, KMS_KEY_LEN, 0600, err, errlen);
	}
	if (rc != 0 || len != KMS_KEY_LEN) {
		free(buf);
		return errfmt(err, errlen, "%s/master.key: unreadable or not %d bytes", st->dir,
			      KMS_KEY_LEN);
	}
	memcpy(st->master, buf, KMS_KEY_LEN);
	OPENSSL_cleanse(buf, len);
	free(buf);
	return 0;
}

int kms_store_open(struct kms_store *st, const char *dir, char *err, size_t errlen)
{
	memset(st, 0, sizeof(*st));
	st->dirfd = -1;
	if (strlen(dir) >= sizeof(st->dir) - 16)
		return errfmt(err, errlen, "%s: path too long", dir);
	snprintf(st->dir, sizeof(st->dir), "%s", dir);
	if (mkdir(dir, 0700) != 0 && errno != EEXIST)
		return errfmt(err, errlen, "%s: %s", dir, strerror(errno));
	st->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (st->dirfd < 0)
		return errfmt(err, errlen, "%s: %s", dir, strerror(errno));
	if (mkdirat(st->dirfd, "keys", 0700) != 0 && errno != EEXIST) {
		errfmt(err, errlen, "%s/keys: %s", dir, strerror(errno));
		goto bad;
	}
	remove_tmp(st->dirfd);
	if (load_master(st, err, errlen) != 0)
		goto bad;
	return 0;
bad:
	kms_store_close(st);
	return -1;
}

void kms_store_close(struct kms_store *st)
{
	if (st->dirfd >= 0)
		close(st->dirfd);
	st->dirfd = -1;
	OPENSSL_cleanse(st->master, sizeof(st->master));
}

void kms_key_clear(struct kms_key *k)
{
	free(k->description);
	free(k->policy);
	OPENSSL_cleanse(k, sizeof(*k));
}

static bool id_ok(const char *id)
{
	size_t n = strlen(id);

	if (n == 0 || n > KMS_KEYID_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((id[i] >= '0' && id[i] <= '9') || (id[i] >= 'a' && id[i] <= 'f') || id[i] == '-'))
			return false;
	return true;
}

static void material_aad(const char *id, char *aad, size_t cap)
{
	snprintf(aad, cap, MATERIAL_AAD "%s", id);
}

static int key_from_json(struct kms_store *st, json_t *o, const char *id, struct kms_key *k,
			 char *err, size_t errlen)
{
	const char *arn = json_string_value(json_object_get(o, "Arn"));
	const char *pol = json_string_value(json_object_get(o, "Policy"));
	const char *desc = json_string_value(json_object_get(o, "Description"));
	const char *mat = json_string_value(json_object_get(o, "Material"));
	uint8_t sealed[SEALED_LEN + 3];
	char aad[128];

	if (!arn || !pol || !desc || !mat || strlen(arn) >= sizeof(k->arn) ||
	    !json_is_integer(json_object_get(o, "CreationDate")))
		return errfmt(err, errlen, "keys/%s.json: a member is missing", id);
	if (b64_pad_decode(mat, strlen(mat), sealed, sizeof(sealed)) != SEALED_LEN)
		return errfmt(err, errlen, "keys/%s.json: Material is not a sealed key", id);
	material_aad(id, aad, sizeof(aad));
	if (kms_gcm_open(st->master, (const uint8_t *)aad, strlen(aad), sealed, SEALED_LEN,
			 k->material) != 0)
		return errfmt(err, errlen, "keys/%s.json: Material does not open under master.key", id);
	snprintf(k->id, sizeof(k->id), "%s", id);
	snprintf(k->arn, sizeof(k->arn), "%s", arn);
	k->created = json_integer_value(json_object_get(o, "CreationDate"));
	k->policy = strdup(pol);
	k->description = strdup(desc);
	if (!k->policy || !k->description)
		return errfmt(err, errlen, "out of memory");
	return 0;
}

int kms_store_load(struct kms_store *st, const char *id, struct kms_key *k, char *err,
		   size_t errlen)
{
	char name[KMS_KEYID_MAX + 16], *text = NULL;
	size_t len = 0;
	json_t *o;
	int rc;

	memset(k, 0, sizeof(*k));
	if (!id_ok(id))
		return 1;
	snprintf(name, sizeof(name), "keys/%s.json", id);
	rc = read_small(st->dirfd, name, KEYFILE_MAX, &text, &len);
	if (rc == 1)
		return 1;
	if (rc != 0)
		return errfmt(err, errlen, "%s/%s: unreadable", st->dir, name);
	o = json_loadb(text, len, 0, NULL);
	free(text);
	if (!json_is_object(o)) {
		json_decref(o);
		return errfmt(err, errlen, "%s/%s: not a key file", st->dir, name);
	}
	rc = key_from_json(st, o, id, k, err, errlen);
	json_decref(o);
	if (rc != 0)
		kms_key_clear(k);
	return rc;
}

int kms_store_save(struct kms_store *st, const struct kms_key *k, char *err, size_t errlen)
{
	uint8_t sealed[SEALED_LEN];
	char aad[128], mat[b64_pad_len(SEALED_LEN) + 1], name[KMS_KEYID_MAX + 16], *text;
	json_t *o;
	int rc;

	material_aad(k->id, aad, sizeof(aad));
	if (kms_gcm_seal(st->master, (const uint8_t *)aad, strlen(aad), k->material, KMS_KEY_LEN,
			 sealed) != 0)
		return errfmt(err, errlen, "sealing key material failed");
	b64_pad_encode(sealed, SEALED_LEN, mat);
	o = json_pack("{s:s, s:s, s:I, s:s, s:s, s:s, s:b, s:s, s:s}", "KeyId", k->id, "Arn", k->arn,
		      "CreationDate", (json_int_t)k->created, "Description",
		      k->description ? k->description : "", "KeyUsage", "ENCRYPT_DECRYPT", "KeySpec",
		      "SYMMETRIC_DEFAULT", "Enabled", 1, "Policy", k->policy, "Material", mat);
	text = o ? json_dumps(o, JSON_SORT_KEYS | JSON_INDENT(1)) : NULL;
	json_decref(o);
	if (!text)
		return errfmt(err, errlen, "out of memory");
	snprintf(name, sizeof(name), "keys/%s.json", k->id);
	rc = kms_store_write(st, name, text, strlen(text), 0600, err, errlen);
	free(text);
	return rc;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int list_push(char ***ids, size_t *n, size_t *cap, const char *name, size_t len)
{
	if (*n == *cap) {
		size_t nc = *cap ? *cap * 2 : 16;
		char **p = realloc(*ids, nc * sizeof(*p));

		if (!p)
			return -1;
		*ids = p;
		*cap = nc;
	}
	(*ids)[*n] = strndup(name, len);
	if (!(*ids)[*n])
		return -1;
	(*n)++;
	return 0;
}

int kms_store_list(struct kms_store *st, char ***ids, size_t *n, char *err, size_t errlen)
{
	int fd = openat(st->dirfd, "keys", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	struct dirent *e;
	size_t cap = 0;
	int rc = 0;

	*ids = NULL;
	*n = 0;
	if (!d) {
		if (fd >= 0)
			close(fd);
		return errfmt(err, errlen, "%s/keys: %s", st->dir, strerror(errno));
	}
	while (rc == 0 && (e = readdir(d))) {
		size_t l = strlen(e->d_name);

		if (l > 5 && l - 5 <= KMS_KEYID_MAX && strcmp(e->d_name + l - 5, ".json") == 0 &&
		    !strstr(e->d_name, ".tmp."))
			rc = list_push(ids, n, &cap, e->d_name, l - 5);
	}
	closedir(d);
	if (rc != 0) {
		for (size_t i = 0; i < *n; i++)
			free((*ids)[i]);
		free(*ids);
		*ids = NULL;
		*n = 0;
		return errfmt(err, errlen, "out of memory");
	}
	qsort(*ids, *n, sizeof(**ids), cmp_str);
	return 0;
}
