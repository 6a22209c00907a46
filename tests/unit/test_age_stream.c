/* lib/secrets age_stream and seal encrypt/decrypt: round trips across the
 * batch boundaries at every thread count, the chunk a damaged payload is
 * refused at and the plaintext released before it, and no fd, thread or
 * temporary left behind by a failure. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <stdarg.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "lib/secrets/age.h"
#include "lib/secrets/age_io.h"
#include "lib/secrets/age_stream.h"
#include "seal/seal.h"

#define CT (AGE_CHUNK + AGE_TAG)

static char dir[256];

static void setup(void)
{
	const char *t = getenv("TMPDIR");

	snprintf(dir, sizeof(dir), "%s/age_stream.XXXXXX", t && *t ? t : "/tmp");
	cr_assert(mkdtemp(dir));
}

static void teardown(void)
{
	char cmd[300];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	cr_assert_eq(system(cmd), 0);
}

TestSuite(age_stream, .init = setup, .fini = teardown);

static size_t count_dir(const char *path, const char *prefix)
{
	DIR *d = opendir(path);
	struct dirent *e;
	size_t n = 0;

	cr_assert(d, "%s", path);
	while ((e = readdir(d)))
		if (e->d_name[0] != '.' || (prefix && strncmp(e->d_name, prefix, strlen(prefix)) == 0))
			n++;
	closedir(d);
	return n;
}

static int memfile(const void *data, size_t n)
{
	int fd = memfd_create("age", MFD_CLOEXEC);

	cr_assert(fd >= 0);
	cr_assert_eq(write(fd, data, n), (ssize_t)n);
	cr_assert_eq(lseek(fd, 0, SEEK_SET), 0);
	return fd;
}

/* The whole content of fd, from its start; *n its length. */
static uint8_t *slurp_fd(int fd, size_t *n)
{
	off_t end = lseek(fd, 0, SEEK_END);
	uint8_t *b = malloc((size_t)end + 1);

	cr_assert(end >= 0 && b);
	cr_assert_eq(pread(fd, b, (size_t)end, 0), (ssize_t)end);
	*n = (size_t)end;
	return b;
}

static int run(int enc, int in_fd, int threads, int *out_fd, char *err)
{
	const uint8_t fk[AGE_FILE_KEY_LEN] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16 };
	struct age_src src;
	struct age_sink sink;
	int rc;

	*out_fd = memfd_create("out", MFD_CLOEXEC);
	cr_assert(*out_fd >= 0);
	cr_assert_eq(age_src_init(&src, in_fd, 0), 0);
	cr_assert_eq(age_sink_init(&sink, *out_fd, 0), 0);
	rc = enc ? age_stream_encrypt(&src, &sink, fk, threads, err, 256)
		 : age_stream_decrypt(&src, &sink, fk, threads, err, 256);
	if (age_sink_finish(&sink) < 0)
		rc = -1;
	age_sink_free(&sink);
	age_src_free(&src);
	return rc;
}

/* The ciphertext of n pseudo-random bytes; the plaintext in *pt. */
static uint8_t *sealed(size_t n, int threads, uint8_t **pt, size_t *ctlen)
{
	char err[256] = "";
	uint8_t *p = malloc(n + 1);
	int in, out;

	cr_assert(p);
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(i * 2654435761u >> 13);
	in = memfile(p, n);
	cr_assert_eq(run(1, in, threads, &out, err), 0, "%s", err);
	close(in);
	*pt = p;
	p = slurp_fd(out, ctlen);
	close(out);
	return p;
}

Test(age_stream, round_trip_across_batches_and_threads)
{
	/* Empty, one byte, exactly a chunk, one past it, and past a whole
	 * batch of 64 chunks and into the next (every thread count). */
	const size_t sizes[] = { 0, 1, AGE_CHUNK, AGE_CHUNK + 1, 64 * AGE_CHUNK, 65 * AGE_CHUNK + 17 };
	const int threads[] = { 1, 2, 3, 4 };

	for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++)
		for (size_t t = 0; t < sizeof(threads) / sizeof(threads[0]); t++) {
			uint8_t *pt, *ct, *back;
			size_t ctlen, n, chunks = sizes[s] ? (sizes[s] + AGE_CHUNK - 1) / AGE_CHUNK : 1;
			char err[256] = "";
			int in, out;

			ct = sealed(sizes[s], threads[t], &pt, &ctlen);
			cr_assert_eq(ctlen, AGE_NONCE_LEN + sizes[s] + chunks * AGE_TAG,
				     "size %zu: %zu bytes of ciphertext", sizes[s], ctlen);
			in = memfile(ct, ctlen);
			cr_assert_eq(run(0, in, threads[t], &out, err), 0, "size %zu: %s", sizes[s], err);
			back = slurp_fd(out, &n);
			cr_assert_eq(n, sizes[s]);
			cr_assert(memcmp(back, pt, n) == 0, "size %zu threads %d", sizes[s], threads[t]);
			close(in);
			close(out);
			free(pt);
			free(ct);
			free(back);
		}
}

/* Decrypts ct[0..n), expecting a failure whose message has want and which
 * released exactly released bytes of plaintext before it. */
static void refused(const uint8_t *ct, size_t n, const char *want, size_t released)
{
	char err[256] = "";
	uint8_t *back;
	size_t got;
	int in = memfile(ct, n), out;

	cr_assert_eq(run(0, in, 2, &out, err), -1, "wanted '%s'", want);
	cr_assert(strstr(err, want), "wanted '%s', got '%s'", want, err);
	back = slurp_fd(out, &got);
	cr_assert_eq(got, released, "%s: %zu bytes out, wanted %zu", want, got, released);
	free(back);
	close(in);
	close(out);
}

Test(age_stream, damage_named_by_chunk)
{
	size_t chunks = 70, len = chunks * AGE_CHUNK + 100, ctlen;
	uint8_t *pt, *ct = sealed(len, 2, &pt, &ctlen);
	uint8_t *bad = malloc(ctlen);
	size_t h = AGE_NONCE_LEN;

	cr_assert(bad);
	/* Cut inside chunk 40: the 40 before it come out. */
	refused(ct, h + 40 * CT + 1000, "chunk 40: ", 40 * (size_t)AGE_CHUNK);
	/* Cut right after chunk 66 (a full non-final one): chunk 67 missing. */
	refused(ct, h + 67 * CT, "chunk 67: missing", 67 * (size_t)AGE_CHUNK);
	/* Cut leaving fewer bytes than a tag. */
	refused(ct, h + 5 * CT + 3, "chunk 5: truncated", 5 * (size_t)AGE_CHUNK);
	/* A flipped bit in chunk 65, in the second batch. */
	memcpy(bad, ct, ctlen);
	bad[h + 65 * CT + 7] ^= 0x40;
	refused(bad, ctlen, "chunk 65: authentication failed", 65 * (size_t)AGE_CHUNK);
	/* Chunks 3 and 4 swapped. */
	memcpy(bad, ct, ctlen);
	memcpy(bad + h + 3 * CT, ct + h + 4 * CT, CT);
	memcpy(bad + h + 4 * CT, ct + h + 3 * CT, CT);
	refused(bad, ctlen, "chunk 3: authentication failed", 3 * (size_t)AGE_CHUNK);
	/* Only the nonce: no chunk at all. */
	refused(ct, h, "chunk 0: missing", 0);
	free(bad);
	free(ct);
	free(pt);
}

static int cmd(int (*fn)(int, char **), const char *a0, ...)
{
	char *argv[16];
	int argc = 0;
	va_list ap;

	argv[argc++] = (char *)a0;
	va_start(ap, a0);
	while (argc < 15 && (argv[argc] = va_arg(ap, char *)))
		argc++;
	va_end(ap);
	argv[argc] = NULL;
	optind = 0;
	return fn(argc, argv);
}

static char *path(const char *name)
{
	static char p[8][512];
	static int i;

	i = (i + 1) % 8;
	snprintf(p[i], sizeof(p[i]), "%s/%s", dir, name);
	return p[i];
}

static void put(const char *name, const void *data, size_t n)
{
	int fd = open(path(name), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	cr_assert(fd >= 0);
	cr_assert_eq(write(fd, data, n), (ssize_t)n);
	close(fd);
}

static size_t fds(void)
{
	return count_dir("/proc/self/fd", NULL);
}

static size_t tasks(void)
{
	return count_dir("/proc/self/task", NULL);
}

/* seal decrypt failing in every way, many times in one process: the fds
 * and threads afterwards are those before, and no temporary is left. */
Test(age_stream, seal_failures_leak_nothing)
{
	char rcpt[160] = "", line[256];
	uint8_t *buf;
	size_t n, before_fd, before_task;
	FILE *f;

	cr_assert_eq(cmd(seal_cmd_keygen, "keygen", "-o", path("k"), NULL), 0);
	cr_assert_eq(cmd(seal_cmd_keygen, "keygen", "-o", path("k2"), NULL), 0);
	f = fopen(path("k"), "r");
	cr_assert(f);
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "# public key: %159s", rcpt) == 1)
			break;
	fclose(f);
	cr_assert(rcpt[0]);
	buf = calloc(1, 5 * AGE_CHUNK);
	cr_assert(buf);
	put("p", buf, 5 * AGE_CHUNK);
	cr_assert_eq(cmd(seal_cmd_encrypt, "encrypt", "-r", rcpt, "-o", path("good.age"), path("p"), NULL), 0);
	f = fopen(path("good.age"), "r");
	cr_assert(f);
	n = fread(buf, 1, 5 * AGE_CHUNK, f);
	fclose(f);
	put("trunc.age", buf, n - 100);
	buf[n - 3 * CT] ^= 1;
	put("flip.age", buf, n);
	put("hdr.age", "age-encryption.org/v1\n-> X25519 !!\n--- AAAA\n", 44);
	put("empty.age", "", 0);

	before_fd = fds();
	before_task = tasks();
	for (int i = 0; i < 25; i++) {
		cr_assert_eq(cmd(seal_cmd_decrypt, "decrypt", "-i", path("k"), "-o", path("out"), path("trunc.age"), NULL), 1);
		cr_assert_eq(cmd(seal_cmd_decrypt, "decrypt", "-i", path("k"), "-o", path("out"), path("flip.age"), NULL), 1);
		cr_assert_eq(cmd(seal_cmd_decrypt, "decrypt", "-i", path("k"), "-o", path("out"), path("hdr.age"), NULL), 1);
		cr_assert_eq(cmd(seal_cmd_decrypt, "decrypt", "-i", path("k"), "-o", path("out"), path("empty.age"), NULL), 1);
		cr_assert_eq(cmd(seal_cmd_decrypt, "decrypt", "-i", path("k2"), "-o", path("out"), path("good.age"), NULL), 1);
		cr_assert_eq(cmd(seal_cmd_decrypt, "decrypt", "-i", path("k"), "-o", path("out"), path("nosuch.age"), NULL), 1);
		cr_assert_eq(cmd(seal_cmd_encrypt, "encrypt", "-r", rcpt, "-o", path("nodir/x.age"), path("p"), NULL), 1);
	}
	cr_assert_eq(fds(), before_fd, "fds: %zu before, %zu after", before_fd, fds());
	cr_assert_eq(tasks(), before_task, "threads: %zu before, %zu after", before_task, tasks());
	cr_assert(access(path("out"), F_OK) != 0, "a failed decrypt left its output");
	cr_assert_eq(count_dir(dir, ".seal."), 8, "temporaries left in %s", dir);
	/* And the good file still decrypts in the same process. */
	cr_assert_eq(cmd(seal_cmd_decrypt, "decrypt", "-i", path("k"), "-o", path("out"), path("good.age"), NULL), 0);
	cr_assert_eq(fds(), before_fd);
	free(buf);
}
