/* fsburst: a burst of file-system activity for the attestd tests and
 * benchmarks. Several writer threads each create files (random content),
 * rename some, delete some, and optionally keep rewriting a few; the final
 * fate of every path goes to a manifest.
 *
 *   fsburst DIR [--mode all|create|mutate] [--writers W] [--files N]
 *           [--size BYTES] [--rename-every K] [--delete-every K]
 *           [--rewrite-every K] [--manifest FILE] [--seed S] [--latency FILE]
 *
 * Files are DIR/wW/dD/fI (1000 per directory). Modes:
 *   create  only create the files
 *   mutate  on files a create run made: rewrite every K-th, rename every K-th
 *           to fI.r, delete every K-th (a renamed one is deleted under its
 *           new name); missing files are skipped
 *   all     create each file, then at once rename/delete it as above
 * The manifest holds "present PATH" and "deleted PATH" lines. With
 * --latency, each writer records the CLOCK_MONOTONIC nanoseconds at which it
 * closed each file that survives under its name ("NS PATH" lines), for
 * close-to-record latency.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

enum mode { M_ALL, M_CREATE, M_MUTATE };

struct opts {
	const char *dir, *manifest, *latency;
	enum mode mode;
	unsigned writers, files, rename_every, delete_every, rewrite_every;
	size_t size;
	uint64_t seed;
};

struct writer {
	const struct opts *o;
	unsigned id;
	FILE *man, *lat; /* per-writer temporary files, merged at the end */
	int err;
	pthread_t thr;
};

static uint64_t rnd(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int write_file(const char *path, uint8_t *buf, size_t size, uint64_t *seed)
{
	size_t i;
	int fd;

	for (i = 0; i + 8 <= size; i += 8) {
		uint64_t v = rnd(seed);

		memcpy(buf + i, &v, 8);
	}
	for (; i < size; i++)
		buf[i] = (uint8_t)rnd(seed);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return -1;
	if (write(fd, buf, size) != (ssize_t)size) {
		close(fd);
		return -1;
	}
	return close(fd);
}

/* Renames and deletions for file i at path (updated on rename). */
static int fate(struct writer *w, unsigned i, char *path, size_t cap, bool created_now)
{
	const struct opts *o = w->o;
	char to[4300];
	size_t n = strlen(path);

	if (o->rename_every && i % o->rename_every == 1) {
		if (n + 3 > cap)
			return -1;
		snprintf(to, sizeof(to), "%s.r", path);
		if (rename(path, to) < 0)
			return -1;
		fprintf(w->man, "deleted %s\n", path);
		memcpy(path, to, strlen(to) + 1);
		created_now = false;
	}
	if (o->delete_every && i % o->delete_every == 2) {
		if (unlink(path) < 0)
			return -1;
		fprintf(w->man, "deleted %s\n", path);
		return 0;
	}
	fprintf(w->man, "present %s\n", path);
	return created_now;
}

static int one_file(struct writer *w, unsigned i, uint8_t *buf, uint64_t *seed)
{
	const struct opts *o = w->o;
	char dir[4096], path[4200];
	uint64_t t;
	int rc;

	snprintf(dir, sizeof(dir), "%s/w%u/d%u", o->dir, w->id, i / 1000);
	snprintf(path, sizeof(path), "%s/f%u", dir, i);
	if (o->mode == M_MUTATE) {
		if (access(path, F_OK) < 0)
			return 0;
		if (o->rewrite_every && i % o->rewrite_every == 3 &&
		    write_file(path, buf, o->size, seed) < 0)
			return -1;
		return fate(w, i, path, sizeof(path), false) < 0 ? -1 : 0;
	}
	if (i % 1000 == 0 && mkdir(dir, 0755) < 0 && errno != EEXIST)
		return -1;
	if (write_file(path, buf, o->size, seed) < 0)
		return -1;
	t = now_ns();
	if (o->mode == M_CREATE) {
		fprintf(w->man, "present %s\n", path);
		rc = 1;
	} else {
		rc = fate(w, i, path, sizeof(path), true);
	}
	if (rc > 0 && w->lat)
		fprintf(w->lat, "%llu %s\n", (unsigned long long)t, path);
	return rc < 0 ? -1 : 0;
}

static void *writer_main(void *arg)
{
	struct writer *w = arg;
	const struct opts *o = w->o;
	unsigned per = o->files / o->writers + (w->id < o->files % o->writers), i;
	uint64_t seed = o->seed * 1000003u + w->id + 1;
	uint8_t *buf = malloc(o->size ? o->size : 1);
	char dir[4096];

	snprintf(dir, sizeof(dir), "%s/w%u", o->dir, w->id);
	if (!buf || (o->mode != M_MUTATE && mkdir(dir, 0755) < 0 && errno != EEXIST)) {
		w->err = errno;
		free(buf);
		return NULL;
	}
	for (i = 0; i < per; i++) {
		if (one_file(w, i, buf, &seed) < 0) {
			w->err = errno;
			break;
		}
	}
	free(buf);
	return NULL;
}

static int merge(struct writer *ws, unsigned n, const char *path, int lat)
{
	FILE *out = fopen(path, "w");
	char line[8192];
	unsigned i;

	if (!out)
		return -1;
	for (i = 0; i < n; i++) {
		FILE *f = lat ? ws[i].lat : ws[i].man;

		rewind(f);
		while (fgets(line, sizeof(line), f))
			fputs(line, out);
	}
	return fclose(out);
}

static int parse(int argc, char **argv, struct opts *o)
{
	int i;

	*o = (struct opts){ .writers = 4, .files = 1000, .size = 512, .seed = 1 };
	for (i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (a[0] != '-') {
			o->dir = a;
			continue;
		}
		if (!v)
			return -1;
		i++;
		if (!strcmp(a, "--writers"))
			o->writers = (unsigned)strtoul(v, NULL, 10);
		else if (!strcmp(a, "--files"))
			o->files = (unsigned)strtoul(v, NULL, 10);
		else if (!strcmp(a, "--size"))
			o->size = strtoul(v, NULL, 10);
		else if (!strcmp(a, "--rename-every"))
			o->rename_every = (unsigned)strtoul(v, NULL, 10);
		else if (!strcmp(a, "--rewrite-every"))
			o->rewrite_every = (unsigned)strtoul(v, NULL, 10);
		else if (!strcmp(a, "--mode"))
			o->mode = !strcmp(v, "create") ? M_CREATE : !strcmp(v, "mutate") ? M_MUTATE
											 : M_ALL;
		else if (!strcmp(a, "--delete-every"))
			o->delete_every = (unsigned)strtoul(v, NULL, 10);
		else if (!strcmp(a, "--manifest"))
			o->manifest = v;
		else if (!strcmp(a, "--latency"))
			o->latency = v;
		else if (!strcmp(a, "--seed"))
			o->seed = strtoull(v, NULL, 10);
		else
			return -1;
	}
	return o->dir && o->writers > 0 && o->writers <= 64 ? 0 : -1;
}

int main(int argc, char **argv)
{
	struct writer ws[64];
	struct opts o;
	unsigned i;
	int rc = 0;

	if (parse(argc, argv, &o) < 0) {
		fprintf(stderr, "usage: fsburst DIR [--mode all|create|mutate] [--writers W] [--files N] [--size B] "
				"[--rename-every K] [--delete-every K] [--rewrite-every K] [--manifest F] "
				"[--latency F] "
				"[--seed S]\n");
		return 2;
	}
	for (i = 0; i < o.writers; i++) {
		ws[i] = (struct writer){ .o = &o, .id = i, .man = tmpfile(),
					 .lat = o.latency ? tmpfile() : NULL };
		if (!ws[i].man || (o.latency && !ws[i].lat) ||
		    pthread_create(&ws[i].thr, NULL, writer_main, &ws[i])) {
			fprintf(stderr, "fsburst: cannot start writer %u\n", i);
			return 1;
		}
	}
	for (i = 0; i < o.writers; i++) {
		pthread_join(ws[i].thr, NULL);
		if (ws[i].err) {
			fprintf(stderr, "fsburst: writer %u: %s\n", i, strerror(ws[i].err));
			rc = 1;
		}
	}
	if (o.manifest && merge(ws, o.writers, o.manifest, 0) < 0)
		rc = 1;
	if (o.latency && merge(ws, o.writers, o.latency, 1) < 0)
		rc = 1;
	for (i = 0; i < o.writers; i++) {
		fclose(ws[i].man);
		if (ws[i].lat)
			fclose(ws[i].lat);
	}
	return rc;
}
