/* seal state save|restore: a directory tree sealed to the enclaves a KMS key
 * policy admits, with its name and version bound in the EncryptionContext
 * (docs/state.md). */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <getopt.h>
#include <inttypes.h>
#include <libgen.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/crypto.h>

#include "lib/core/cli.h"
#include "lib/core/errfmt.h"
#include "lib/core/fdio.h"
#include "lib/core/outfile.h"
#include "lib/core/parse.h"
#include "lib/secrets/age_stream.h"
#include "seal/seal.h"
#include "seal/state.h"

#define CTX_NAME "nek-state"
#define CTX_VERSION "nek-state-version"
#define NAME_MAX_LEN 256
#define VERSION_MAX INT64_MAX

struct sopts {
	const char *dir, *file, *key, *name, *vfile;
	struct kms_flags kms;
	struct s3_flags s3;
	struct state_s3 obj;
	int is_s3;
	uint64_t version, expect, min;
	int have_version, have_expect, have_min, any, replace, json, threads;
};

enum {
	O_KEY = 256, O_TO, O_FROM, O_NAME, O_VERSION, O_VFILE, O_EXPECT, O_MIN, O_ANY, O_REPLACE,
	O_NSM, O_ENDPOINT, O_REGION, O_PROFILE, O_CA, O_JSON, O_THREADS, O_S3_ENDPOINT,
	O_S3_REGION, O_S3_CA,
};

static const struct option longopts[] = {
	{ "kms-key", required_argument, NULL, O_KEY },
	{ "to", required_argument, NULL, O_TO },
	{ "from", required_argument, NULL, O_FROM },
	{ "name", required_argument, NULL, O_NAME },
	{ "version", required_argument, NULL, O_VERSION },
	{ "version-file", required_argument, NULL, O_VFILE },
	{ "expect-version", required_argument, NULL, O_EXPECT },
	{ "min-version", required_argument, NULL, O_MIN },
	{ "any-version", no_argument, NULL, O_ANY },
	{ "replace", no_argument, NULL, O_REPLACE },
	{ "nsm", required_argument, NULL, O_NSM },
	{ "endpoint", required_argument, NULL, O_ENDPOINT },
	{ "endpoint-url", required_argument, NULL, O_ENDPOINT },
	{ "region", required_argument, NULL, O_REGION },
	{ "profile", required_argument, NULL, O_PROFILE },
	{ "ca-file", required_argument, NULL, O_CA },
	{ "json", no_argument, NULL, O_JSON },
	{ "threads", required_argument, NULL, O_THREADS },
	{ "s3-endpoint", required_argument, NULL, O_S3_ENDPOINT },
	{ "s3-region", required_argument, NULL, O_S3_REGION },
	{ "s3-ca-file", required_argument, NULL, O_S3_CA },
	CLI_COMMON_LONGOPTS,
	{ 0 }
};

/* ---------------------------------------------------------------- options */
static int number(const char *flag, uint64_t min, uint64_t *out, int *have)
{
	char perr[PARSE_ERR_MAX];

	if (parse_u64(optarg, min, VERSION_MAX, out, perr, sizeof(perr)) < 0)
		return cli_usage_error("--%s: %s", flag, perr);
	if (have)
		*have = 1;
	return CLI_OK;
}

static int one_opt(int c, struct sopts *o)
{
	uint64_t t;

	switch (c) {
	case O_KEY: o->key = optarg; return CLI_OK;
	case O_TO: case O_FROM: o->file = optarg; return CLI_OK;
	case O_NAME: o->name = optarg; return CLI_OK;
	case O_VFILE: o->vfile = optarg; return CLI_OK;
	case O_VERSION: return number("version", 1, &o->version, &o->have_version);
	case O_EXPECT: return number("expect-version", 1, &o->expect, &o->have_expect);
	case O_MIN: return number("min-version", 1, &o->min, &o->have_min);
	case O_ANY: o->any = 1; return CLI_OK;
	case O_REPLACE: o->replace = 1; return CLI_OK;
	case O_NSM: o->kms.nsm = optarg; return CLI_OK;
	case O_ENDPOINT: o->kms.endpoint = optarg; return CLI_OK;
	case O_REGION: o->kms.region = optarg; return CLI_OK;
	case O_PROFILE: o->kms.profile = optarg; return CLI_OK;
	case O_CA: o->kms.ca_file = optarg; return CLI_OK;
	case O_JSON: o->json = 1; return CLI_OK;
	case O_S3_ENDPOINT: o->s3.endpoint = optarg; return CLI_OK;
	case O_S3_REGION: o->s3.region = optarg; return CLI_OK;
	case O_S3_CA: o->s3.ca_file = optarg; return CLI_OK;
	case O_THREADS:
		if (number("threads", 1, &t, NULL) != CLI_OK || t > 256)
			return cli_usage_error("--threads: 1..256");
		o->threads = (int)t;
		return CLI_OK;
	default: return cli_common_opt(c);
	}
}

static int parse_opts(const char *verb, int argc, char **argv, struct sopts *o)
{
	int c, rc;

	memset(o, 0, sizeof(*o));
	optind = 0;
	while ((c = getopt_long(argc, argv, CLI_COMMON_SHORTOPTS, longopts, NULL)) != -1)
		if ((rc = one_opt(c, o)) != CLI_OK)
			return rc;
	if (argc - optind != 1)
		return cli_usage_error("%s: want exactly one DIR", verb);
	o->dir = argv[optind];
	if (!o->file)
		return cli_usage_error("%s: needs %s FILE", verb,
				       strcmp(verb, "save") == 0 ? "--to" : "--from");
	if (strncmp(o->file, "s3://", 5) == 0) {
		char err[STATE_ERRLEN];
		if (state_s3_parse(o->file, &o->obj, err, sizeof(err)) < 0)
			return cli_usage_error("%s: %s", verb, err);
		if (!o->s3.endpoint)
			return cli_usage_error("%s: s3:// needs --s3-endpoint URL", verb);
		o->is_s3 = 1;
	} else if (o->s3.endpoint || o->s3.region || o->s3.ca_file) {
		return cli_usage_error("%s: the --s3-* flags go with s3:// objects", verb);
	}
	if (o->name && (strlen(o->name) == 0 || strlen(o->name) > NAME_MAX_LEN))
		return cli_usage_error("--name: 1..%d characters", NAME_MAX_LEN);
	return CLI_OK;
}

/* The object's name: --name, else BUCKET/KEY of an s3:// object or the
 * file's basename. */
static int object_name(const struct sopts *o, char *out, size_t cap)
{
	char *dup = strdup(o->is_s3 ? o->file + 5 : o->file);
	const char *b = o->name ? o->name : dup && o->is_s3 ? dup : dup ? basename(dup) : NULL;
	int ok = b && strlen(b) > 0 && strlen(b) < cap && strlen(b) <= NAME_MAX_LEN;

	for (const char *p = b; ok && *p; p++)
		if ((unsigned char)*p < 0x21 || (unsigned char)*p > 0x7e)
			ok = 0;
	if (ok)
		strcpy(out, b);
	free(dup);
	return ok ? 0 : -1;
}

/* ---------------------------------------------------------------- version file */
/* The number in F; 0 when F does not exist. */
static int vfile_read(const char *path, uint64_t *v, char *err)
{
	char buf[32], perr[PARSE_ERR_MAX];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	*v = 0;
	if (fd < 0 && errno == ENOENT)
		return 0;
	if (fd < 0)
		return errfmt(err, STATE_ERRLEN, "--version-file %s: %s", path, strerror(errno));
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n < 0)
		return errfmt(err, STATE_ERRLEN, "--version-file %s: %s", path, strerror(errno));
	buf[n] = '\0';
	if (n > 0 && buf[n - 1] == '\n')
		buf[--n] = '\0';
	if (parse_u64(buf, 0, VERSION_MAX, v, perr, sizeof(perr)) < 0)
		return errfmt(err, STATE_ERRLEN, "--version-file %s: %s", path, perr);
	return 0;
}

static int vfile_write(const char *path, uint64_t v, char *err)
{
	struct outfile o;
	char buf[32];
	int n = snprintf(buf, sizeof(buf), "%" PRIu64 "\n", v);

	if (outfile_open(&o, path, 0, err, STATE_ERRLEN) < 0)
		return -1;
	if (fd_write_all(o.fd, buf, (size_t)n) < 0) {
		outfile_abort(&o);
		return errfmt(err, STATE_ERRLEN, "--version-file %s: %s", path, strerror(errno));
	}
	return outfile_commit(&o, err, STATE_ERRLEN);
}

static json_t *state_ctx(const char *name, uint64_t version)
{
	char v[32];

	snprintf(v, sizeof(v), "%" PRIu64, version);
	return json_pack("{s:s, s:s}", CTX_NAME, name, CTX_VERSION, v);
}

static int report(const struct sopts *o, const char *verb, const char *name, uint64_t version,
		  const char *keyid)
{
	json_t *j;
	char *s;

	if (!o->json)
		return CLI_OK;
	j = json_pack("{s:s, s:s, s:s, s:s, s:I, s:s}", "action", verb, "dir", o->dir, "object",
		      o->file, "name", name, "version", (json_int_t)version, "key_id", keyid);
	s = j ? json_dumps(j, JSON_INDENT(4)) : NULL;
	json_decref(j);
	if (!s)
		return cli_fail("out of memory");
	printf("%s\n", s);
	free(s);
	return fflush(stdout) == 0 ? CLI_OK : cli_fail("stdout: write failed");
}

/* ---------------------------------------------------------------- save */
struct pump {
	int fd, dirfd, rc;
	char err[STATE_ERRLEN];
};

/* A 1 MiB pipe: 16 chunks in flight between the archive thread and the
 * ciphers, instead of a wake-up every 64 KiB (a hint: the limit may be
 * lower). */
static void big_pipe(int fd)
{
	(void)fcntl(fd, F_SETPIPE_SZ, 1 << 20);
}

static void *tar_thread(void *arg)
{
	struct pump *p = arg;

	p->rc = state_tar_write(p->dirfd, p->fd, p->err, sizeof(p->err));
	close(p->fd);
	return NULL;
}

/* Header, then the tree through a pipe into STREAM, into out. */
static int seal_tree(const struct sopts *o, int dirfd, const uint8_t *hdr, size_t hlen,
		     const uint8_t fk[AGE_FILE_KEY_LEN], int outfd, char *err)
{
	struct pump p = { .dirfd = dirfd };
	struct age_src src;
	struct age_sink sink;
	pthread_t th;
	int fds[2], rc = -1;

	if (pipe2(fds, O_CLOEXEC) < 0)
		return errfmt(err, STATE_ERRLEN, "pipe: %s", strerror(errno));
	big_pipe(fds[1]);
	p.fd = fds[1];
	if (pthread_create(&th, NULL, tar_thread, &p) != 0) {
		close(fds[0]);
		close(fds[1]);
		return errfmt(err, STATE_ERRLEN, "cannot start a thread");
	}
	if (age_src_init(&src, fds[0], 0) < 0) {
		errfmt(err, STATE_ERRLEN, "out of memory");
	} else if (age_sink_init(&sink, outfd, 0) < 0) {
		errfmt(err, STATE_ERRLEN, "out of memory");
		age_src_free(&src);
	} else {
		sink.name = o->file;
		age_sink_writeback(&sink);
		if (age_sink_write(&sink, hdr, hlen) < 0)
			errfmt(err, STATE_ERRLEN, "%s: %s", o->file, strerror(errno));
		else if (age_stream_encrypt(&src, &sink, fk, o->threads, err, STATE_ERRLEN) < 0)
			; /* err names the chunk or the write */
		else if (age_sink_finish(&sink) < 0)
			errfmt(err, STATE_ERRLEN, "%s: %s", o->file, strerror(errno));
		else
			rc = 0;
		age_sink_free(&sink);
		age_src_free(&src);
	}
	/* A writer that stopped early: the tar thread then meets EPIPE. */
	close(fds[0]);
	pthread_join(th, NULL);
	if (rc == 0 && p.rc < 0) {
		memcpy(err, p.err, STATE_ERRLEN);
		rc = -1;
	}
	return rc;
}

static int save_version(const struct sopts *o, uint64_t *v, char *err)
{
	if (o->have_version == !!o->vfile)
		return errfmt(err, STATE_ERRLEN, "save: give --version N or --version-file F");
	if (o->have_version) {
		*v = o->version;
		return 0;
	}
	if (vfile_read(o->vfile, v, err) < 0)
		return -1;
	if (*v >= VERSION_MAX)
		return errfmt(err, STATE_ERRLEN, "--version-file %s: at its maximum", o->vfile);
	(*v)++;
	return 0;
}

/* Sealed whole into a temporary first: S3 sees the object only complete. */
static int save_s3(const struct sopts *o, int dirfd, const uint8_t *hdr, size_t hlen,
		   const uint8_t *fk, const struct kms_creds *creds, char *err)
{
	int fd = state_spool(err, STATE_ERRLEN), rc;

	if (fd < 0)
		return -1;
	rc = seal_tree(o, dirfd, hdr, hlen, fk, fd, err);
	if (rc == 0)
		rc = state_s3_put(&o->obj, &o->s3, creds, fd, err, STATE_ERRLEN);
	close(fd);
	return rc;
}

static int save_main(const struct sopts *o, int dirfd, const char *name, uint64_t version)
{
	struct age_kms_client kc;
	struct kms_creds creds = { 0 };
	struct age_stanza st;
	struct outfile out;
	uint8_t fk[AGE_FILE_KEY_LEN], *hdr = NULL;
	char err[STATE_ERRLEN] = "";
	size_t hlen;
	json_t *ctx = state_ctx(name, version);
	int rc = -1, have_st = 0;

	if (!ctx)
		errfmt(err, sizeof(err), "out of memory");
	else if (kms_flags_client(&o->kms, &kc, &creds, err, sizeof(err)) == 0 &&
		 age_kms_generate(&kc, o->key, ctx, fk, &st, err, sizeof(err)) == 0) {
		have_st = 1;
		if (age_header_encode(&st, 1, fk, &hdr, &hlen, err, sizeof(err)) < 0)
			;
		else if (o->is_s3)
			rc = save_s3(o, dirfd, hdr, hlen, fk, &creds, err);
		else if (outfile_open(&out, o->file, 0, err, sizeof(err)) == 0) {
			if (seal_tree(o, dirfd, hdr, hlen, fk, out.fd, err) < 0)
				outfile_abort(&out);
			else if (outfile_commit(&out, err, sizeof(err)) == 0)
				rc = 0;
		}
	}
	OPENSSL_cleanse(fk, sizeof(fk));
	if (have_st)
		age_stanza_free(&st);
	free(hdr);
	json_decref(ctx);
	kms_creds_free(&creds);
	if (rc == 0 && o->vfile && vfile_write(o->vfile, version, err) < 0)
		rc = -1;
	if (rc < 0)
		return cli_fail("state save %s: %s", o->dir, err);
	return report(o, "save", name, version, o->key);
}

static int cmd_save(int argc, char **argv)
{
	struct sopts o;
	char name[NAME_MAX_LEN + 1], err[STATE_ERRLEN];
	uint64_t version;
	int rc = parse_opts("save", argc, argv, &o), dirfd;

	if (rc != CLI_OK)
		return rc;
	if (!o.key)
		return cli_usage_error("save: needs --kms-key ID");
	if (o.have_expect || o.have_min || o.any || o.replace)
		return cli_usage_error("save: the version checks and --replace are restore's");
	if (object_name(&o, name, sizeof(name)) < 0)
		return cli_usage_error("save: no object name (--name: 1..%d visible characters)",
				       NAME_MAX_LEN);
	if (save_version(&o, &version, err) < 0)
		return strstr(err, "give --") ? cli_usage_error("%s", err) : cli_fail("%s", err);
	dirfd = open(o.dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0)
		return cli_fail("state save %s: %s", o.dir, strerror(errno));
	signal(SIGPIPE, SIG_IGN);
	rc = save_main(&o, dirfd, name, version);
	close(dirfd);
	return rc;
}

/* ---------------------------------------------------------------- restore */
static int check_version(const struct sopts *o, const char *vs, uint64_t *v, char *err)
{
	char perr[PARSE_ERR_MAX];
	uint64_t anchor = 0;

	if (parse_u64(vs, 1, VERSION_MAX, v, perr, sizeof(perr)) < 0 ||
	    (vs[0] == '0') || strspn(vs, "0123456789") != strlen(vs))
		return errfmt(err, STATE_ERRLEN, "the version '%.40s' is not a counter", vs);
	if (o->have_expect && *v != o->expect)
		return errfmt(err, STATE_ERRLEN, "version %" PRIu64 ", want exactly %" PRIu64 "%s",
			      *v, o->expect, *v < o->expect ? " (a replayed object?)" : "");
	if (o->have_min)
		anchor = o->min;
	else if (o->vfile && vfile_read(o->vfile, &anchor, err) < 0)
		return -1;
	if (*v < anchor)
		return errfmt(err, STATE_ERRLEN, "version %" PRIu64 " is older than %" PRIu64
						 " (a replayed object?)", *v, anchor);
	return 0;
}

/* The one kms stanza, its context bound to this name and an admitted
 * version: checked before KMS is asked, authenticated by KMS after. */
static int check_header(const struct sopts *o, const struct age_header *h, const char *name,
			uint64_t *version, char keyid_out[AGE_KMS_KEYID_MAX + 1], char *err)
{
	const char *keyid, *n, *v;
	json_t *ctx;
	int rc;

	if (h->n != 1 || strcmp(h->st[0].args[0], "kms") != 0)
		return errfmt(err, STATE_ERRLEN, "not a state object (want exactly one kms stanza)");
	if (age_kms_stanza_parse(&h->st[0], &keyid, &ctx, err, STATE_ERRLEN) < 0)
		return -1;
	n = json_string_value(json_object_get(ctx, CTX_NAME));
	v = json_string_value(json_object_get(ctx, CTX_VERSION));
	if (json_object_size(ctx) != 2 || !n || !v)
		rc = errfmt(err, STATE_ERRLEN, "not a state object (its context is not {%s, %s})",
			    CTX_NAME, CTX_VERSION);
	else if (strcmp(n, name) != 0)
		rc = errfmt(err, STATE_ERRLEN, "made for name '%.200s', not '%s'", n, name);
	else if (o->key && strcmp(keyid, o->key) != 0)
		rc = errfmt(err, STATE_ERRLEN, "sealed under key '%.200s', not --kms-key %s", keyid,
			    o->key);
	else
		rc = check_version(o, v, version, err);
	if (rc == 0)
		strcpy(keyid_out, keyid);
	json_decref(ctx);
	return rc;
}

static int rm_tree(const char *path);

static void *untar_thread(void *arg)
{
	struct pump *p = arg;

	p->rc = state_tar_extract(p->fd, p->dirfd, p->err, sizeof(p->err));
	close(p->fd);
	return NULL;
}

/* The payload through a pipe into the extractor writing below tmpfd. */
static int open_tree(const struct sopts *o, struct age_src *src, const uint8_t *fk, int tmpfd,
		     char *err)
{
	struct pump p = { .dirfd = tmpfd };
	struct age_sink sink;
	pthread_t th;
	int fds[2], rc;

	if (pipe2(fds, O_CLOEXEC) < 0)
		return errfmt(err, STATE_ERRLEN, "pipe: %s", strerror(errno));
	big_pipe(fds[1]);
	p.fd = fds[0];
	if (pthread_create(&th, NULL, untar_thread, &p) != 0) {
		close(fds[0]);
		close(fds[1]);
		return errfmt(err, STATE_ERRLEN, "cannot start a thread");
	}
	rc = age_sink_init(&sink, fds[1], 0);
	if (rc < 0) {
		errfmt(err, STATE_ERRLEN, "out of memory");
	} else {
		sink.name = "the archive";
		rc = age_stream_decrypt(src, &sink, fk, o->threads, err, STATE_ERRLEN);
		if (rc == 0 && age_sink_finish(&sink) < 0)
			rc = errfmt(err, STATE_ERRLEN, "the archive: %s", strerror(errno));
		age_sink_free(&sink);
	}
	close(fds[1]);
	pthread_join(th, NULL);
	if (rc == 0 && p.rc < 0) {
		memcpy(err, p.err, STATE_ERRLEN);
		rc = -1;
	}
	return rc;
}

/* The restored tree into place: DIR new, or swapped with the old one. */
static int land(const struct sopts *o, const char *tmp, int tmpfd, char *err)
{
	/* No sync: in an enclave the tree lives in memory, and the object is
	 * the durable copy (docs/state.md, "Atomicity"). */
	(void)tmpfd;
	if (!o->replace) {
		if (rename(tmp, o->dir) < 0)
			return errfmt(err, STATE_ERRLEN, "rename to %s: %s", o->dir, strerror(errno));
		return 0;
	}
	if (renameat2(AT_FDCWD, tmp, AT_FDCWD, o->dir, RENAME_EXCHANGE) < 0)
		return errfmt(err, STATE_ERRLEN, "swap with %s: %s", o->dir, strerror(errno));
	/* tmp now holds the old tree */
	if (rm_tree(tmp) < 0)
		fprintf(stderr, "seal: state restore: the old tree is left at %s\n", tmp);
	return 0;
}

static int restore_body(const struct sopts *o, struct age_src *src, const char *name,
			uint64_t *version, char *keyid, char *err)
{
	struct age_kms_client kc;
	struct kms_creds creds = { 0 };
	struct age_identity id;
	struct age_header h;
	uint8_t fk[AGE_FILE_KEY_LEN];
	char *tmp = NULL;
	int rc = -1, tmpfd = -1;

	memset(&id, 0, sizeof(id));
	if (seal_read_header(src, &h, err, STATE_ERRLEN) < 0)
		return -1;
	if (check_header(o, &h, name, version, keyid, err) < 0 ||
	    kms_flags_client(&o->kms, &kc, &creds, err, STATE_ERRLEN) < 0) {
		age_header_free(&h);
		return -1;
	}
	if (age_kms_identity(&kc, &id, err, STATE_ERRLEN) == 0) {
		rc = age_unwrap_file_key(&h, &id, 1, fk, err, STATE_ERRLEN);
		if (rc == AGE_NOMATCH)
			rc = errfmt(err, STATE_ERRLEN, "no kms stanza opened");
	}
	age_header_free(&h);
	age_identity_clear(&id);
	kms_creds_free(&creds);
	if (rc < 0)
		return -1;
	if (asprintf(&tmp, "%s.restore-XXXXXX", o->dir) < 0 || !mkdtemp(tmp) ||
	    (tmpfd = open(tmp, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
		rc = errfmt(err, STATE_ERRLEN, "a temporary beside %s: %s", o->dir, strerror(errno));
		if (tmp && tmpfd < 0)
			rmdir(tmp);
	} else {
		rc = open_tree(o, src, fk, tmpfd, err);
		if (rc == 0)
			rc = land(o, tmp, tmpfd, err);
		if (rc < 0)
			rm_tree(tmp);
	}
	OPENSSL_cleanse(fk, sizeof(fk));
	if (tmpfd >= 0)
		close(tmpfd);
	free(tmp);
	return rc;
}

/* The whole object into a temporary before anything reads it. */
static int fetch_s3(const struct sopts *o, char *err)
{
	struct kms_creds creds = { 0 };
	int fd = state_spool(err, STATE_ERRLEN);

	if (fd < 0)
		return -1;
	if (kms_creds_load(o->kms.profile, &creds, err, STATE_ERRLEN) < 0 ||
	    state_s3_get(&o->obj, &o->s3, &creds, fd, err, STATE_ERRLEN) < 0) {
		close(fd);
		fd = -1;
	}
	kms_creds_free(&creds);
	return fd;
}

static int cmd_restore(int argc, char **argv)
{
	struct sopts o;
	char name[NAME_MAX_LEN + 1], err[STATE_ERRLEN] = "", keyid[AGE_KMS_KEYID_MAX + 1] = "";
	char dir[4096];
	struct age_src src;
	struct stat st;
	uint64_t version = 0;
	int rc = parse_opts("restore", argc, argv, &o), fd;

	if (rc != CLI_OK)
		return rc;
	if (o.have_version)
		return cli_usage_error("restore: --version is save's (see --expect-version)");
	if (strlen(o.dir) >= sizeof(dir))
		return cli_usage_error("restore: DIR longer than %zu bytes", sizeof(dir) - 1);
	/* DIR/ would put the temporary inside DIR: it goes beside it. */
	strcpy(dir, o.dir);
	for (size_t n = strlen(dir); n > 1 && dir[n - 1] == '/'; n--)
		dir[n - 1] = '\0';
	if (strcmp(dir, "/") == 0 || strcmp(dir, ".") == 0 || strcmp(dir, "..") == 0)
		return cli_usage_error("restore: DIR '%s' cannot be replaced", dir);
	o.dir = dir;
	if (o.have_expect + o.have_min + !!o.vfile + o.any != 1)
		return cli_usage_error("restore: give one of --expect-version, --min-version, "
				       "--version-file, --any-version");
	if (object_name(&o, name, sizeof(name)) < 0)
		return cli_usage_error("restore: no object name (--name)");
	if (lstat(o.dir, &st) == 0 && !o.replace)
		return cli_fail("state restore: %s exists (--replace swaps it)", o.dir);
	if (o.replace && lstat(o.dir, &st) == 0 && !S_ISDIR(st.st_mode))
		return cli_fail("state restore: %s is not a directory", o.dir);
	fd = o.is_s3 ? fetch_s3(&o, err) : open(o.file, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return cli_fail("state object %s: %s", o.file, o.is_s3 ? err : strerror(errno));
	if (o.replace && lstat(o.dir, &st) < 0)
		o.replace = 0;
	signal(SIGPIPE, SIG_IGN);
	if (age_src_init(&src, fd, -1) < 0) {
		close(fd);
		return cli_fail("out of memory");
	}
	rc = restore_body(&o, &src, name, &version, keyid, err);
	age_src_free(&src);
	close(fd);
	if (rc == 0 && o.vfile && vfile_write(o.vfile, version, err) < 0)
		rc = -1;
	if (rc < 0)
		return cli_fail("state object %s: %s", o.file, err);
	return report(&o, "restore", name, version, keyid);
}

/* ---------------------------------------------------------------- removal */
static int open_up(const char *p, const struct stat *st, int flag, struct FTW *f)
{
	(void)f;
	/* A restored directory may be read-only; its entries must still go. */
	if (flag == FTW_D)
		chmod(p, (st->st_mode & 07777) | S_IRWXU);
	return 0;
}

static int remove_one(const char *p, const struct stat *st, int flag, struct FTW *f)
{
	(void)st, (void)flag, (void)f;
	return remove(p) < 0 ? -1 : 0;
}

static int rm_tree(const char *path)
{
	if (nftw(path, open_up, 32, FTW_PHYS) < 0)
		return -1;
	return nftw(path, remove_one, 32, FTW_PHYS | FTW_DEPTH);
}

int seal_cmd_state(int argc, char **argv)
{
	static const struct cli_verb table[] = {
		{ "save", cmd_save },
		{ "restore", cmd_restore },
	};

	return cli_verb_run(table, sizeof(table) / sizeof(table[0]), argc, argv);
}
