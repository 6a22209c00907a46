/* attest digest: the chunk-tree digest of local files, the same value attestd
 * records (docs/file-digest.md), computed by the parallel hash pool. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "attest/attest.h"
#include "lib/attestation/att_json.h"
#include "lib/core/cli.h"
#include "lib/core/jsonstr.h"
#include "lib/digest/hashpool.h"
#include "lib/core/parse.h"

#define DIGEST_RETRIES 4

struct dctx;

struct dtask {
	struct hpool_task t;
	struct dctx *ctx;
	char *path;
	int rc; /* 0, -errno, or -EAGAIN: kept changing */
	bool done;
	uint64_t size, nleaves;
	uint8_t digest[FDIG_DIGEST_MAX];
	uint8_t *leaves;
};

struct dctx {
	pthread_mutex_t mu;
	pthread_cond_t cond;
	struct dtask *waiting; /* the task the printer waits for */
	enum fdig_alg alg;
	bool want_leaves, json;
};

static bool same_file(const struct stat *a, const struct stat *b)
{
	return a->st_ino == b->st_ino && a->st_size == b->st_size &&
	       a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec &&
	       a->st_ctim.tv_sec == b->st_ctim.tv_sec && a->st_ctim.tv_nsec == b->st_ctim.tv_nsec;
}

/* Digests an open file, again while it changes under us. */
static int digest_fd(struct hpool_worker *w, struct dtask *d, int fd)
{
	struct stat before, after;
	int tries, rc = -EAGAIN;

	for (tries = 0; tries < DIGEST_RETRIES && rc == -EAGAIN; tries++) {
		free(d->leaves);
		d->leaves = NULL;
		if (fstat(fd, &before) < 0)
			return -errno;
		if (!S_ISREG(before.st_mode))
			return -EINVAL;
		d->size = (uint64_t)before.st_size;
		rc = hpool_digest(w, fd, d->size, d->ctx->alg, d->digest,
				  d->ctx->want_leaves ? &d->leaves : NULL, &d->nleaves);
		if (rc == 0 && fstat(fd, &after) == 0 && !same_file(&before, &after))
			rc = -EAGAIN;
	}
	return rc;
}

static void digest_run(struct hpool_worker *w, struct hpool_task *t)
{
	struct dtask *d = (struct dtask *)t;
	int fd = open(d->path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	int rc = fd < 0 ? -errno : digest_fd(w, d, fd);

	if (fd >= 0)
		close(fd);
	pthread_mutex_lock(&d->ctx->mu);
	d->rc = rc;
	d->done = true;
	/* Only the task printed next wakes the printer: one switch per
	 * wait, not per file. */
	if (d->ctx->waiting == d)
		pthread_cond_signal(&d->ctx->cond);
	pthread_mutex_unlock(&d->ctx->mu);
}

static void print_hex(FILE *f, const uint8_t *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		fprintf(f, "%02x", p[i]);
}

/* The leaf list: the digest itself for a one-leaf file. */
static const uint8_t *leaf_list(const struct dtask *d)
{
	return d->nleaves > 1 ? d->leaves : d->digest;
}

static void print_json(const struct dctx *c, const struct dtask *d)
{
	size_t dl = fdig_alg_len(c->alg);
	uint64_t i;

	fputs("{\"path\":", stdout);
	json_str_write(stdout, d->path, strlen(d->path));
	printf(",\"scheme\":\"%s\",\"digest\":\"", fdig_scheme_name(c->alg));
	print_hex(stdout, d->digest, dl);
	printf("\",\"size\":%llu,\"leaves\":%llu", (unsigned long long)d->size,
	       (unsigned long long)d->nleaves);
	if (c->want_leaves) {
		fputs(",\"leaf_digests\":[", stdout);
		for (i = 0; i < d->nleaves; i++) {
			fputs(i ? ",\"" : "\"", stdout);
			print_hex(stdout, leaf_list(d) + i * dl, dl);
			fputc('"', stdout);
		}
		fputc(']', stdout);
	}
	fputs("}\n", stdout);
}

/* Prints one finished task; returns CLI_OK or CLI_FAIL. */
static int report(const struct dctx *c, const struct dtask *d)
{
	size_t dl = fdig_alg_len(c->alg);
	uint64_t i;

	if (d->rc == -EAGAIN)
		return cli_fail("'%s': kept changing while it was read", d->path);
	if (d->rc == -EINVAL)
		return cli_fail("'%s': not a regular file", d->path);
	if (d->rc < 0)
		return cli_fail("'%s': %s", d->path, strerror(-d->rc));
	if (c->json) {
		print_json(c, d);
		return CLI_OK;
	}
	printf("%s ", fdig_scheme_name(c->alg));
	print_hex(stdout, d->digest, dl);
	printf("  %s\n", d->path);
	for (i = 0; c->want_leaves && i < d->nleaves; i++) {
		printf("  leaf %llu ", (unsigned long long)i);
		print_hex(stdout, leaf_list(d) + i * dl, dl);
		putchar('\n');
	}
	return CLI_OK;
}

/* The next path: from argv, or one per line from the --files-from stream. */
static char *next_path(FILE *list, char **argv, int argc, int *ai)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;

	if (!list)
		return *ai < argc ? strdup(argv[(*ai)++]) : NULL;
	while ((n = getline(&line, &cap, list)) >= 0) {
		if (n > 0 && line[n - 1] == '\n')
			line[--n] = '\0';
		if (n > 0)
			return line;
	}
	free(line);
	return NULL;
}

/* Keeps a window of tasks in flight and prints results in input order. */
static int digest_all(struct hpool *pool, struct dctx *c, FILE *list, char **argv, int argc)
{
	/* Wide enough that workers never wait for the printer on small files. */
	unsigned win = 64 * hpool_workers(pool), head = 0, used = 0, i;
	struct dtask *ring = calloc(win, sizeof(*ring));
	int ai = optind, rc = CLI_OK;
	bool eof = false;

	if (!ring)
		return cli_fail("out of memory");
	while (!eof || used > 0) {
		while (!eof && used < win) {
			struct dtask *d = &ring[(head + used) % win];
			char *path = next_path(list, argv, argc, &ai);

			if (!path) {
				eof = true;
				break;
			}
			memset(d, 0, sizeof(*d));
			d->t.run = digest_run;
			d->ctx = c;
			d->path = path;
			hpool_submit(pool, &d->t, false);
			used++;
		}
		if (used == 0)
			break;
		i = head;
		pthread_mutex_lock(&c->mu);
		c->waiting = &ring[i];
		while (!ring[i].done)
			pthread_cond_wait(&c->cond, &c->mu);
		c->waiting = NULL;
		pthread_mutex_unlock(&c->mu);
		if (report(c, &ring[i]) != CLI_OK)
			rc = CLI_FAIL;
		free(ring[i].path);
		free(ring[i].leaves);
		head = (head + 1) % win;
		used--;
	}
	free(ring);
	return rc;
}

static const struct option digest_longopts[] = {
	{ "alg", required_argument, NULL, 'a' },
	{ "leaves", no_argument, NULL, 'l' },
	{ "json", no_argument, NULL, 'j' },
	{ "threads", required_argument, NULL, 't' },
	{ "files-from", required_argument, NULL, 'f' },
	{ "no-uring", no_argument, NULL, 'U' },
	CLI_COMMON_LONGOPTS,
	{ NULL, 0, NULL, 0 },
};

struct digest_opts {
	struct dctx *c;
	unsigned threads;
	const char *files_from;
	bool uring;
};

static int digest_opt(int c, struct digest_opts *o)
{
	char err[PARSE_ERR_MAX];
	uint64_t v;

	switch (c) {
	case 'a':
		if (fdig_alg_parse(optarg, &o->c->alg) < 0)
			return cli_usage_error("--alg '%s': sha256 or sha384", optarg);
		return CLI_OK;
	case 'l':
		o->c->want_leaves = true;
		return CLI_OK;
	case 'j':
		o->c->json = true;
		return CLI_OK;
	case 't':
		if (parse_u64(optarg, 1, HPOOL_MAX_WORKERS, &v, err, sizeof(err)) < 0)
			return cli_usage_error("--threads: %s", err);
		o->threads = (unsigned)v;
		return CLI_OK;
	case 'f':
		o->files_from = optarg;
		return CLI_OK;
	case 'U':
		o->uring = false;
		return CLI_OK;
	default:
		return cli_common_opt(c);
	}
}

int attest_cmd_digest(int argc, char **argv)
{
	struct dctx c = { .alg = FDIG_SHA256 };
	struct digest_opts o = { .c = &c, .uring = true };
	struct hpool *pool = NULL;
	FILE *list = NULL;
	int ch, rc;

	while ((ch = getopt_long(argc, argv, "j" CLI_COMMON_SHORTOPTS, digest_longopts, NULL)) != -1)
		if (digest_opt(ch, &o) != CLI_OK)
			return CLI_USAGE;
	if ((optind >= argc) == !o.files_from)
		return cli_usage_error(o.files_from ? "FILE operands and --files-from exclude each other"
						    : "FILE is required");
	if (o.files_from) {
		list = strcmp(o.files_from, "-") == 0 ? stdin : fopen(o.files_from, "re");
		if (!list) {
			cli_fail("--files-from '%s': %s", o.files_from, strerror(errno));
			return CLI_USAGE;
		}
	}
	rc = hpool_new(&pool, o.threads, o.uring);
	if (rc < 0) {
		if (list && list != stdin)
			fclose(list);
		return cli_fail("hash pool: %s", strerror(-rc));
	}
	pthread_mutex_init(&c.mu, NULL);
	pthread_cond_init(&c.cond, NULL);
	rc = digest_all(pool, &c, list, argv, argc);
	hpool_free(pool);
	pthread_mutex_destroy(&c.mu);
	pthread_cond_destroy(&c.cond);
	if (list && list != stdin)
		fclose(list);
	return rc;
}

int attest_digest_path(const char *path, enum fdig_alg alg, uint8_t *digest, uint64_t *size,
		       char *err, size_t errlen)
{
	struct dctx c = { .alg = alg };
	struct dtask d = { .t.run = digest_run, .ctx = &c, .path = (char *)path };
	struct hpool *pool;
	int rc = hpool_new(&pool, 0, true);

	if (rc < 0) {
		snprintf(err, errlen, "hash pool: %s", strerror(-rc));
		return -1;
	}
	pthread_mutex_init(&c.mu, NULL);
	pthread_cond_init(&c.cond, NULL);
	hpool_submit(pool, &d.t, false);
	pthread_mutex_lock(&c.mu);
	c.waiting = &d;
	while (!d.done)
		pthread_cond_wait(&c.cond, &c.mu);
	pthread_mutex_unlock(&c.mu);
	hpool_free(pool);
	pthread_mutex_destroy(&c.mu);
	pthread_cond_destroy(&c.cond);
	if (d.rc < 0) {
		snprintf(err, errlen, "'%s': %s", path,
			 d.rc == -EAGAIN ? "kept changing while it was read" :
			 d.rc == -EINVAL ? "not a regular file" : strerror(-d.rc));
		return -1;
	}
	memcpy(digest, d.digest, fdig_alg_len(alg));
	*size = d.size;
	return 0;
}
