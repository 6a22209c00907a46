/* seal s3 put|get|ls|rm|head: objects in and out of S3, sealed with age
 * before they leave (docs/s3.md). */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "lib/core/cli.h"
#include "lib/core/errfmt.h"
#include "lib/core/jsonstr.h"
#include "lib/core/log.h"
#include "lib/core/outfile.h"
#include "lib/core/parse.h"
#include "lib/secrets/kms_creds.h"
#include "lib/secrets/s3_client.h"
#include "seal/s3.h"
#include "seal/seal.h"

#define ERRLEN 1024

struct s3_opts {
	struct s3_conf c;
	const char *profile, *out;
	struct s3_range range;
	int json, decrypt, unsigned_payload;
	struct s3_age age;
	struct kms_creds creds;
};

/* Progress on a terminal, at most twice a second. */
struct progress {
	struct timespec last;
	int shown;
};

static void show_progress(void *arg, uint64_t done, uint64_t total)
{
	struct progress *p = arg;
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	if (p->shown && (now.tv_sec - p->last.tv_sec) * 1000 +
				(now.tv_nsec - p->last.tv_nsec) / 1000000 < 500 &&
	    done != total)
		return;
	p->last = now;
	p->shown = 1;
	if (total)
		fprintf(stderr, "\r%" PRIu64 " / %" PRIu64 " MiB (%u%%)", done >> 20, total >> 20,
			(unsigned)(done * 100 / total));
	else
		fprintf(stderr, "\r%" PRIu64 " MiB", done >> 20);
}

static void end_progress(const struct progress *p)
{
	if (p->shown)
		fputc('\n', stderr);
}

enum {
	O_ENDPOINT = 256, O_BUCKET, O_REGION, O_PROFILE, O_CA, O_PART, O_PARALLEL, O_RETRIES,
	O_TIMEOUT, O_UNSIGNED, O_CTYPE, O_ENCRYPT, O_DECRYPT, O_RANGE, O_JSON, O_MULTIPART,
	O_SINGLE_MAX
};

static const struct option longopts[] = {
	{ "endpoint", required_argument, NULL, O_ENDPOINT },
	{ "endpoint-url", required_argument, NULL, O_ENDPOINT },
	{ "bucket", required_argument, NULL, O_BUCKET },
	{ "region", required_argument, NULL, O_REGION },
	{ "profile", required_argument, NULL, O_PROFILE },
	{ "ca-file", required_argument, NULL, O_CA },
	{ "part-size", required_argument, NULL, O_PART },
	{ "parallel", required_argument, NULL, O_PARALLEL },
	{ "multipart", no_argument, NULL, O_MULTIPART },
	{ "single-max", required_argument, NULL, O_SINGLE_MAX },
	{ "retries", required_argument, NULL, O_RETRIES },
	{ "timeout", required_argument, NULL, O_TIMEOUT },
	{ "unsigned-payload", no_argument, NULL, O_UNSIGNED },
	{ "content-type", required_argument, NULL, O_CTYPE },
	{ "encrypt-to", required_argument, NULL, O_ENCRYPT },
	{ "decrypt", no_argument, NULL, O_DECRYPT },
	{ "identity", required_argument, NULL, 'i' },
	{ "output", required_argument, NULL, 'o' },
	{ "range", required_argument, NULL, O_RANGE },
	{ "json", no_argument, NULL, O_JSON },
	CLI_COMMON_LONGOPTS,
	{ NULL, 0, NULL, 0 },
};

/* Which verbs take which option: the usage error names the misplaced one. */
static int allowed(const char *verb, int c)
{
	int put = strcmp(verb, "put") == 0, get = strcmp(verb, "get") == 0;

	switch (c) {
	case O_PART: case O_PARALLEL: case O_UNSIGNED: case O_CTYPE: case O_ENCRYPT:
	case O_MULTIPART: case O_SINGLE_MAX:
		return put;
	case O_DECRYPT: case 'i': case 'o': case O_RANGE:
		return get;
	case O_JSON:
		return strcmp(verb, "ls") == 0 || strcmp(verb, "head") == 0;
	default:
		return 1;
	}
}

static int num_opt(int c, const char *v, struct s3_opts *o)
{
	char e[PARSE_ERR_MAX];
	uint64_t n;

	if (c == O_PART && parse_size(v, S3_PART_MIN, S3_PART_MAX, &o->c.part_size, e, sizeof(e)) == 0)
		return 0;
	if (c == O_SINGLE_MAX &&
	    parse_size(v, 0, S3_SINGLE_MAX, &o->c.single_max, e, sizeof(e)) == 0) {
		/* 0 means "never streamed", not the library's "default". */
		if (o->c.single_max == 0)
			o->c.flags |= S3_MULTIPART;
		return 0;
	}
	if (c == O_PARALLEL && parse_u64(v, 1, S3_PARALLEL_MAX, &n, e, sizeof(e)) == 0) {
		o->c.parallel = (unsigned)n;
		return 0;
	}
	if (c == O_RETRIES && parse_u64(v, 0, S3_RETRIES_MAX, &n, e, sizeof(e)) == 0) {
		o->c.retries = (int)n;
		return 0;
	}
	if (c == O_TIMEOUT && parse_duration_ms(v, 1, 86400000, &n, e, sizeof(e)) == 0) {
		o->c.timeout_ms = (long)n;
		return 0;
	}
	return cli_usage_error("--%s: %s", c == O_PART ? "part-size" : c == O_SINGLE_MAX ? "single-max"
					   : c == O_PARALLEL ? "parallel"
					   : c == O_RETRIES ? "retries" : "timeout", e);
}

static int one_opt(const char *verb, int c, const char *v, struct s3_opts *o)
{
	char e[ERRLEN];

	if (c != 'h' && c != 'v' && c != 'q' && !allowed(verb, c))
		return cli_usage_error("%s does not take that option", verb);
	switch (c) {
	case O_ENDPOINT: o->c.endpoint = v; return 0;
	case O_BUCKET: o->c.bucket = v; return 0;
	case O_REGION: o->c.region = v; return 0;
	case O_PROFILE: o->profile = v; return 0;
	case O_CA: o->c.ca_file = v; return 0;
	case O_UNSIGNED: o->c.flags |= S3_UNSIGNED_PAYLOAD; return 0;
	case O_CTYPE: o->c.content_type = v; return 0;
	case O_DECRYPT: o->decrypt = 1; return 0;
	case O_JSON: o->json = 1; return 0;
	case 'o': o->out = v; return 0;
	case O_MULTIPART: o->c.flags |= S3_MULTIPART; return 0;
	case O_PART: case O_PARALLEL: case O_RETRIES: case O_TIMEOUT: case O_SINGLE_MAX:
		return num_opt(c, v, o) == 0 ? 0 : -1;
	case O_ENCRYPT:
		return s3_age_add_recipient(&o->age, v, e, sizeof(e)) == 0 ? 0
			: cli_usage_error("--encrypt-to: %s", e);
	case 'i':
		return s3_age_add_identity_file(&o->age, v, e, sizeof(e)) == 0 ? 0
			: cli_usage_error("-i: %s", e);
	case O_RANGE:
		return s3_range_parse(v, &o->range, e, sizeof(e)) == 0 ? 0
			: cli_usage_error("--range: %s", e);
	default:
		return cli_common_opt(c) == CLI_OK ? 0 : -1;
	}
}

static const char *region_of(const char *r)
{
	if (!r || !*r)
		r = getenv("AWS_REGION");
	if (!r || !*r)
		r = getenv("AWS_DEFAULT_REGION");
	return r && *r ? r : "us-east-1";
}

/* Options, then the checks every verb shares. CLI_OK, or the exit code. */
static int parse(int argc, char **argv, struct s3_opts *o)
{
	char e[ERRLEN];
	int c;

	memset(o, 0, sizeof(*o));
	o->c.retries = -1;
	while ((c = getopt_long(argc, argv, "i:o:" CLI_COMMON_SHORTOPTS, longopts, NULL)) != -1)
		if (one_opt(argv[0], c, optarg, o) != 0)
			return CLI_USAGE;
	if (!o->c.endpoint || !o->c.bucket)
		return cli_usage_error("%s: --endpoint URL and --bucket B are required", argv[0]);
	if (o->decrypt && o->range.kind != S3_RANGE_NONE)
		return cli_usage_error("get: --range and --decrypt together: an age range needs its header");
	if (o->decrypt != (o->age.nid > 0))
		return cli_usage_error("get: --decrypt and -i IDENTITY go together");
	o->c.region = region_of(o->c.region);
	if (kms_creds_load(o->profile, &o->creds, e, sizeof(e)) < 0)
		return cli_fail("s3 %s: %s", argv[0], e);
	o->c.creds = &o->creds;
	return CLI_OK;
}

static void opts_free(struct s3_opts *o)
{
	s3_age_free(&o->age);
	kms_creds_free(&o->creds);
}

/* ---------------------------------------------------------------- put */

static int enc_check(void *arg, char *err, size_t errlen)
{
	struct s3_age *a = arg;

	if (s3_age_join(a) == 0)
		return 0;
	snprintf(err, errlen, "encrypting: %s", a->err);
	return -1;
}

/* A socket pair with room for a few age chunks each way, so the stage and
 * the transfer do not wake each other every 200 KiB. */
static int stage_pair(int sv[2], char *err)
{
	int sz = 4 << 20;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return errfmt(err, ERRLEN, "socketpair: %s", strerror(errno));
	/* Best effort: the kernel caps it at net.core.wmem_max. */
	for (int i = 0; i < 2; i++) {
		(void)setsockopt(sv[i], SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
		(void)setsockopt(sv[i], SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
	}
	return 0;
}

/* A regular file's sealed length is exact once the header is drawn: the
 * upload can then be one streamed PUT, and checks it got every byte. */
static int sealed_length(struct s3_opts *o, int fd, char *err)
{
	struct stat st;
	off_t at;
	char e[S3_AGE_ERR];

	if ((o->c.flags & S3_MULTIPART) || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) ||
	    (at = lseek(fd, 0, SEEK_CUR)) < 0 || at > st.st_size)
		return 0;
	if (s3_age_prepare(&o->age, e, sizeof(e)) < 0)
		return errfmt(err, ERRLEN, "s3 put: encrypting: %s", e);
	o->c.length = s3_age_sealed_length(&o->age, (uint64_t)(st.st_size - at));
	o->c.length_known = 1;
	return 0;
}

/* The upload of fd, through the age stage when there are recipients. */
static int put_fd(struct s3_opts *o, const char *key, int fd, char *err)
{
	int sv[2], rc;

	if (o->age.nr == 0)
		return s3_put_fd(&o->c, key, fd, err, ERRLEN);
	if (sealed_length(o, fd, err) < 0)
		return -1;
	if (stage_pair(sv, err) < 0)
		return -1;
	if (s3_age_start(&o->age, 0, fd, sv[1], err, ERRLEN) < 0) {
		close(sv[0]);
		return -1;
	}
	o->c.meta_content = "age";
	o->c.input_check = enc_check;
	o->c.input_arg = &o->age;
	rc = s3_put_fd(&o->c, key, sv[0], err, ERRLEN);
	/* A failed upload stops reading; closing makes the stage's writes fail. */
	close(sv[0]);
	if (s3_age_join(&o->age) < 0 && rc == 0)
		rc = errfmt(err, ERRLEN, "s3 put: encrypting: %s", o->age.err);
	return rc;
}

static int cmd_put(int argc, char **argv)
{
	struct s3_opts o;
	struct progress pr = { 0 };
	char err[ERRLEN] = "";
	const char *file;
	int rc, fd;

	if ((rc = parse(argc, argv, &o)) != CLI_OK)
		return opts_free(&o), rc;
	if (argc - optind < 1 || argc - optind > 2) {
		opts_free(&o);
		return cli_usage_error("put: KEY [FILE]");
	}
	file = argc - optind == 2 ? argv[optind + 1] : "-";
	fd = strcmp(file, "-") == 0 ? 0 : open(file, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		opts_free(&o);
		return cli_fail("s3 put: %s: %s", file, strerror(errno));
	}
	if (isatty(2) && log_get_level() >= LOG_INFO) {
		o.c.progress = show_progress;
		o.c.progress_arg = &pr;
	}
	rc = put_fd(&o, argv[optind], fd, err);
	end_progress(&pr);
	if (fd)
		close(fd);
	opts_free(&o);
	return rc == 0 ? CLI_OK : cli_fail("%s", err);
}

/* ---------------------------------------------------------------- get */

static int get_decrypt(struct s3_opts *o, const char *key, int out_fd, char *err)
{
	int sv[2], rc;

	if (stage_pair(sv, err) < 0)
		return -1;
	/* The stage closes what it writes to; out_fd is the caller's, so a dup. */
	int wfd = dup(out_fd);

	if (wfd < 0) {
		close(sv[0]);
		close(sv[1]);
		return errfmt(err, ERRLEN, "dup: %s", strerror(errno));
	}
	if (s3_age_start(&o->age, 1, sv[0], wfd, err, ERRLEN) < 0) {
		close(sv[1]);
		return -1;
	}
	rc = s3_get_fd(&o->c, key, sv[1], NULL, NULL, err, ERRLEN);
	close(sv[1]);
	/* The stage's verdict wins: a bad chunk is why the body stopped flowing. */
	if (s3_age_join(&o->age) < 0 && (rc == 0 || strstr(err, "writing the body")))
		rc = errfmt(err, ERRLEN, "s3 get %s/%.300s: decrypting: %s", o->c.bucket, key,
			      o->age.err);
	return rc;
}

static int cmd_get(int argc, char **argv)
{
	struct s3_opts o;
	struct outfile out;
	struct progress pr = { 0 };
	char err[ERRLEN] = "";
	int rc;

	if ((rc = parse(argc, argv, &o)) != CLI_OK)
		return opts_free(&o), rc;
	if (argc - optind == 2 && !o.out)
		o.out = argv[optind + 1];
	else if (argc - optind != 1) {
		opts_free(&o);
		return cli_usage_error("get: KEY [-o OUT]");
	}
	if (outfile_open(&out, o.out ? o.out : "-", 0, err, ERRLEN) < 0) {
		opts_free(&o);
		return cli_fail("s3 get: %s", err);
	}
	if (isatty(2) && log_get_level() >= LOG_INFO && o.out && strcmp(o.out, "-")) {
		o.c.progress = show_progress;
		o.c.progress_arg = &pr;
	}
	if (o.decrypt)
		rc = get_decrypt(&o, argv[optind], out.fd, err);
	else
		rc = s3_get_fd(&o.c, argv[optind], out.fd, &o.range, NULL, err, ERRLEN);
	end_progress(&pr);
	if (rc == 0)
		rc = outfile_commit(&out, err, ERRLEN);
	else
		outfile_abort(&out);
	opts_free(&o);
	return rc == 0 ? CLI_OK : cli_fail("%s", err);
}

/* ---------------------------------------------------------------- head, rm, ls */

static void kv_json(const char *k, const char *v, int comma)
{
	printf("%s", comma ? ", " : "");
	json_str_put(stdout, k);
	printf(": ");
	json_str_put(stdout, v);
}

static int cmd_head(int argc, char **argv)
{
	struct s3_opts o;
	struct s3_object_info in;
	char err[ERRLEN] = "";
	int rc;

	if ((rc = parse(argc, argv, &o)) != CLI_OK)
		return opts_free(&o), rc;
	if (argc - optind != 1) {
		opts_free(&o);
		return cli_usage_error("head: KEY");
	}
	rc = s3_head(&o.c, argv[optind], &in, err, ERRLEN);
	if (rc == 0 && o.json) {
		printf("{\"key\": ");
		json_str_put(stdout, argv[optind]);
		printf(", \"size\": %" PRIu64, in.size);
		kv_json("etag", in.etag, 1);
		kv_json("last_modified", in.last_modified, 1);
		kv_json("content_type", in.content_type, 1);
		kv_json("nek_content", in.meta_content, 1);
		printf("}\n");
	} else if (rc == 0)
		printf("size %" PRIu64 "\netag %s\nlast-modified %s\ncontent-type %s\n%s%s%s",
		       in.size, in.etag, in.last_modified, in.content_type,
		       in.meta_content[0] ? "nek-content " : "", in.meta_content,
		       in.meta_content[0] ? "\n" : "");
	opts_free(&o);
	return rc == 0 ? CLI_OK : cli_fail("%s", err);
}

static int cmd_rm(int argc, char **argv)
{
	struct s3_opts o;
	char err[ERRLEN] = "";
	int rc;

	if ((rc = parse(argc, argv, &o)) != CLI_OK)
		return opts_free(&o), rc;
	if (argc - optind != 1) {
		opts_free(&o);
		return cli_usage_error("rm: KEY");
	}
	rc = s3_delete(&o.c, argv[optind], err, ERRLEN);
	opts_free(&o);
	return rc == 0 ? CLI_OK : cli_fail("%s", err);
}

struct ls_st {
	int json;
	size_t n;
};

static int ls_entry(void *arg, const struct s3_list_entry *e)
{
	struct ls_st *st = arg;

	if (!st->json) {
		printf("%" PRIu64 " %s\n", e->size, e->key);
		return 0;
	}
	printf("%s{\"key\": ", st->n++ ? ",\n " : "");
	json_str_put(stdout, e->key);
	printf(", \"size\": %" PRIu64, e->size);
	kv_json("etag", e->etag, 1);
	kv_json("last_modified", e->modified, 1);
	printf("}");
	return 0;
}

static int cmd_ls(int argc, char **argv)
{
	struct s3_opts o;
	struct ls_st st = { 0 };
	char err[ERRLEN] = "";
	int rc;

	if ((rc = parse(argc, argv, &o)) != CLI_OK)
		return opts_free(&o), rc;
	if (argc - optind > 1) {
		opts_free(&o);
		return cli_usage_error("ls: [PREFIX]");
	}
	st.json = o.json;
	if (st.json)
		printf("[");
	rc = s3_list(&o.c, argc - optind ? argv[optind] : NULL, ls_entry, &st, err, ERRLEN);
	if (st.json)
		printf("]\n");
	opts_free(&o);
	return rc == 0 ? CLI_OK : cli_fail("%s", err);
}

int seal_cmd_s3(int argc, char **argv)
{
	static const struct cli_verb verbs[] = {
		{ "put", cmd_put }, { "get", cmd_get }, { "head", cmd_head },
		{ "ls", cmd_ls },   { "rm", cmd_rm },
	};

	/* A reader that went away (a failed stage) is an error return, not a kill. */
	signal(SIGPIPE, SIG_IGN);
	return cli_verb_run(verbs, sizeof(verbs) / sizeof(verbs[0]), argc, argv);
}
