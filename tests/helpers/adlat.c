/* adlat: close-to-record latency, for bench/scenarios/attestd_burst.sh.
 *
 *   adlat --control SOCK --dir DIR [--count N] [--size BYTES]
 *
 * Writes N small files one at a time. After closing each, it asks attestd's
 * control socket either "wait PATH" (answered once the file's version is
 * committed: close-to-record) or, for every other file, "status" (answered
 * at once: the floor a control-socket round trip sets). Prints the p50 and
 * p99 of each in microseconds: "record p50 P p99 Q" and "floor p50 P p99 Q".
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

static double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static int ask(const char *sock, const char *req)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	char buf[256];
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ssize_t n;

	snprintf(a.sun_path, sizeof(a.sun_path), "%s", sock);
	if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0 ||
	    write(fd, req, strlen(req)) != (ssize_t)strlen(req)) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	return n > 0 && (!strncmp(buf, "ok", 2) || !strncmp(buf, "files", 5)) ? 0 : -1;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static void report(const char *name, double *v, unsigned n)
{
	if (n == 0)
		return;
	qsort(v, n, sizeof(*v), cmp);
	printf("%s p50 %.1f p99 %.1f\n", name, v[n / 2], v[(n * 99) / 100 < n ? (n * 99) / 100 : n - 1]);
}

int main(int argc, char **argv)
{
	const char *sock = NULL, *dir = NULL;
	unsigned count = 400, size = 4096, i, nr = 0, nf = 0;
	char path[4096], req[4200], *buf;
	double *rec, *flo, t0;
	int fd, k;

	for (k = 1; k + 1 < argc; k += 2) {
		if (!strcmp(argv[k], "--control"))
			sock = argv[k + 1];
		else if (!strcmp(argv[k], "--dir"))
			dir = argv[k + 1];
		else if (!strcmp(argv[k], "--count"))
			count = (unsigned)atoi(argv[k + 1]);
		else if (!strcmp(argv[k], "--size"))
			size = (unsigned)atoi(argv[k + 1]);
	}
	if (!sock || !dir || k != argc || count == 0) {
		fprintf(stderr, "usage: adlat --control SOCK --dir DIR [--count N] [--size B]\n");
		return 2;
	}
	buf = malloc(size);
	rec = calloc(count, sizeof(*rec));
	flo = calloc(count, sizeof(*flo));
	if (!buf || !rec || !flo)
		return 1;
	for (i = 0; i < count; i++) {
		memset(buf, (int)i, size);
		snprintf(path, sizeof(path), "%s/lat.%u", dir, i);
		fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (fd < 0 || write(fd, buf, size) != (ssize_t)size)
			return 1;
		close(fd);
		t0 = now_us();
		if (i & 1) {
			if (ask(sock, "status\n") < 0)
				return 1;
			flo[nf++] = now_us() - t0;
		} else {
			snprintf(req, sizeof(req), "wait %s 10000\n", path);
			if (ask(sock, req) < 0)
				return 1;
			rec[nr++] = now_us() - t0;
		}
	}
	report("record", rec, nr);
	report("floor", flo, nf);
	free(buf);
	free(rec);
	free(flo);
	return 0;
}
