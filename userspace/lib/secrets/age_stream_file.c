/* STREAM between regular files at offsets: the layout is fixed by the
 * plaintext size, so chunk groups are independent and any worker can take
 * the next one; only the first failure (lowest chunk) is reported. */
#include "lib/secrets/age_stream_file.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "lib/core/errfmt.h"
#include "lib/core/fdio.h"
#include "lib/secrets/age_stream_chunk.h"

#define PT_CHUNK 65536
#define TAG 16
#define CT_CHUNK AGE_CT_CHUNK
#define G AGE_FILE_GROUP
#define MAX_THREADS 64
/* Writeback is started for every this many bytes a worker writes (the
 * streaming sink's step, docs/seal.md "Durability"). */
#define WB_STEP ((off_t)8 << 20)
#define NONE UINT64_MAX

struct job {
	int in, out, enc, hint;
	off_t in0, out0;
	uint64_t n;          /* chunks to work */
	size_t last;         /* input length of chunk n-1 */
	int last_final;      /* chunk n-1 carries the final flag */
	const char *oname;
	uint8_t key[32];
	pthread_mutex_t mu;
	uint64_t next;       /* next group to take */
	uint64_t fail_at;    /* lowest chunk that failed, NONE */
	int fail_alt;        /* it opened under the other flag: released */
	char msg[256];
};

/* Records a failure at chunk at unless a lower one is already known: the
 * streaming path would have stopped at the lowest. */
static void fail(struct job *j, uint64_t at, int alt, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static void fail(struct job *j, uint64_t at, int alt, const char *fmt, ...)
{
	va_list ap;

	pthread_mutex_lock(&j->mu);
	if (at < j->fail_at) {
		j->fail_at = at;
		j->fail_alt = alt;
		va_start(ap, fmt);
		vsnprintf(j->msg, sizeof(j->msg), fmt, ap);
		va_end(ap);
	}
	pthread_mutex_unlock(&j->mu);
}

static size_t in_len(const struct job *j, uint64_t c)
{
	return c + 1 == j->n ? j->last : (j->enc ? PT_CHUNK : CT_CHUNK);
}

/* All of v[0..n) at off, or -1: errno set, or 0 for a file that ended
 * early (it shrank while being read). */
static int xfer(int fd, int wr, struct iovec *v, int n, off_t off)
{
	int i = 0;

	fd_iov_advance(v, &i, n, 0);
	while (i < n) {
		ssize_t r = wr ? pwritev(fd, v + i, n - i, off) : preadv(fd, v + i, n - i, off);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			if (r == 0)
				errno = 0;
			return -1;
		}
		off += r;
		fd_iov_advance(v, &i, n, (size_t)r);
	}
	return 0;
}

static int group_read(struct job *j, uint8_t *buf, uint64_t first, int cnt)
{
	struct iovec v[G];
	off_t off = j->in0 + (off_t)first * (j->enc ? PT_CHUNK : CT_CHUNK);
	int i;

	/* Plaintext lands a chunk's slot apart, leaving each its tag's room;
	 * ciphertext is contiguous in the file and in buf alike. */
	for (i = 0; i < cnt; i++)
		v[i] = (struct iovec){ buf + (size_t)i * CT_CHUNK, in_len(j, first + (uint64_t)i) };
	if (xfer(j->in, 0, v, cnt, off) == 0)
		return 0;
	if (errno)
		fail(j, first, 0, "read: %s", strerror(errno));
	else
		fail(j, first, 0, "read: the input shrank while it was read");
	return -1;
}

/* Starts writeback of [lo, hi) once it is big enough; a hint only. */
static void hint(struct job *j, off_t *lo, off_t *hi, off_t from, off_t to)
{
	if (!__atomic_load_n(&j->hint, __ATOMIC_RELAXED))
		return;
	if (*hi == 0 || from < *lo)
		*lo = from;
	if (to > *hi)
		*hi = to;
	if (*hi - *lo < WB_STEP)
		return;
	if (sync_file_range(j->out, *lo, *hi - *lo, SYNC_FILE_RANGE_WRITE) < 0)
		__atomic_store_n(&j->hint, 0, __ATOMIC_RELAXED);
	*lo = *hi = 0;
}

/* Writes chunks [first, first+cnt) from buf: their output slots follow one
 * another in the file (a ciphertext chunk right after the one before, a
 * plaintext chunk PT_CHUNK after it). */
static int group_write(struct job *j, struct age_chunk *c, int cnt, off_t *lo, off_t *hi)
{
	struct iovec v[G];
	uint64_t first = c[0].ctr;
	off_t off = j->out0 + (off_t)first * (j->enc ? CT_CHUNK : PT_CHUNK), len = 0;
	int i;

	for (i = 0; i < cnt; i++) {
		v[i] = (struct iovec){ c[i].buf, c[i].len };
		len += (off_t)c[i].len;
	}
	if (cnt && xfer(j->out, 1, v, cnt, off) < 0) {
		fail(j, first, 0, "%s: %s", j->oname, errno ? strerror(errno) : "short write");
		return -1;
	}
	hint(j, lo, hi, off, off + len);
	return 0;
}

/* Works chunks [first, first+cnt) in place; the count of those good to
 * write out (up to and with an alt one), a failure recorded past them. */
static int group_work(struct job *j, EVP_CIPHER_CTX *x, uint8_t *buf, struct age_chunk *c,
		      uint64_t first, int cnt)
{
	int i;

	for (i = 0; i < cnt; i++) {
		uint64_t n = first + (uint64_t)i;

		c[i] = (struct age_chunk){ buf + (size_t)i * CT_CHUNK, in_len(j, n), n,
					  n + 1 == j->n && j->last_final, 0, 0 };
		age_chunk_work(x, &c[i], j->enc);
		if (c[i].bad) {
			fail(j, n, 0, j->enc ? "chunk %llu: sealing failed"
				: "chunk %llu: authentication failed (altered, reordered or truncated)",
			     (unsigned long long)n);
			return i;
		}
		if (c[i].alt) {
			if (c[i].final)
				fail(j, n, 1, "chunk %llu: missing (the file is truncated)",
				     (unsigned long long)n + 1);
			else
				fail(j, n, 1, "chunk %llu: data after the final chunk",
				     (unsigned long long)n + 1);
			return i + 1;
		}
	}
	return cnt;
}

static void *worker(void *arg)
{
	struct job *j = arg;
	EVP_CIPHER_CTX *x = age_chunk_ctx(j->key, j->enc);
	uint8_t *buf = malloc((size_t)G * CT_CHUNK);
	struct age_chunk c[G];
	off_t lo = 0, hi = 0;

	if (!x || !buf)
		fail(j, 0, 0, "%s", x ? "out of memory" : "cannot set up ChaCha20-Poly1305");
	while (x && buf) {
		uint64_t g, first;
		int cnt, ok;

		pthread_mutex_lock(&j->mu);
		g = j->next++;
		first = g * G;
		/* Groups are taken in order: every one below a failure is
		 * already being worked, nothing above it is needed. */
		ok = first < j->n && first < j->fail_at;
		pthread_mutex_unlock(&j->mu);
		if (!ok)
			break;
		cnt = j->n - first < G ? (int)(j->n - first) : G;
		if (group_read(j, buf, first, cnt) < 0)
			break;
		ok = group_work(j, x, buf, c, first, cnt);
		if (group_write(j, c, ok, &lo, &hi) < 0 || ok < cnt)
			break;
	}
	EVP_CIPHER_CTX_free(x);
	free(buf);
	return NULL;
}

/* The chunk layout of a payload of len ciphertext bytes; a structural
 * failure of the last piece recorded where the stream would meet it. */
static void layout_open(struct job *j, off_t len)
{
	uint64_t full = (uint64_t)len / CT_CHUNK;
	size_t rest = (size_t)((uint64_t)len % CT_CHUNK);

	j->n = full;
	j->last = CT_CHUNK;
	j->last_final = rest == 0;
	if (len == 0)
		fail(j, 0, 0, "chunk 0: missing (the payload has no chunks)");
	else if (rest && rest < TAG)
		fail(j, full, 0, "chunk %llu: truncated (%zu bytes)", (unsigned long long)full, rest);
	else if (rest == TAG && full > 0)
		fail(j, full, 0, "chunk %llu: an empty final chunk after others",
		     (unsigned long long)full);
	else if (rest) {
		j->n = full + 1;
		j->last = rest;
		j->last_final = 1;
	}
}

static void layout_seal(struct job *j, off_t len)
{
	j->n = len ? ((uint64_t)len + PT_CHUNK - 1) / PT_CHUNK : 1;
	j->last = (size_t)((uint64_t)len - (j->n - 1) * PT_CHUNK);
	j->last_final = 1;
}

static off_t out_size(const struct job *j)
{
	off_t body = (off_t)(j->n - 1) * (j->enc ? CT_CHUNK : PT_CHUNK);

	return body + (off_t)(j->enc ? j->last + TAG : j->last - TAG);
}

static void run(struct job *j, int threads)
{
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	uint64_t groups = (j->n + G - 1) / G;
	pthread_t thr[MAX_THREADS];
	int n = threads > 0 ? threads : (cpus > 0 ? (int)cpus : 1), started = 0;

	if (n > MAX_THREADS)
		n = MAX_THREADS;
	if ((uint64_t)n > groups)
		n = groups ? (int)groups : 1;
	/* This thread is one of the workers; a thread that cannot be
	 * started only means fewer of them. */
	while (started < n - 1 && pthread_create(&thr[started], NULL, worker, j) == 0)
		started++;
	worker(j);
	while (started--)
		pthread_join(thr[started], NULL);
}

/* After a failure the output holds what the stream would have written:
 * the chunks before the failed one (and an alt one), nothing after. */
static int finish_failed(struct job *j, char *err, size_t errlen)
{
	uint64_t kept = j->fail_at + (uint64_t)j->fail_alt;
	off_t end;

	if (kept > j->n)
		kept = j->n;
	end = j->out0 + (kept == j->n && kept ? out_size(j)
			 : (off_t)kept * (j->enc ? CT_CHUNK : PT_CHUNK));
	if (ftruncate(j->out, end) < 0 || lseek(j->out, end, SEEK_SET) < 0)
		return errfmt(err, errlen, "%s; and %s could not be cut back: %s", j->msg, j->oname,
			      strerror(errno));
	return errfmt(err, errlen, "%s", j->msg);
}

static int go(struct job *j, struct age_src *in, struct age_sink *out, off_t end, int threads,
	      char *err, size_t errlen)
{
	struct stat st;
	off_t oend;

	if (j->fail_at == NONE || j->fail_at > 0)
		run(j, threads);
	if (j->fail_at != NONE)
		return finish_failed(j, err, errlen);
	if (fstat(j->in, &st) < 0 || st.st_size != end)
		return errfmt(err, errlen, "read: the input changed size while it was read");
	oend = j->out0 + out_size(j);
	if (age_src_file_done(in, end) < 0 || age_sink_file_done(out, oend) < 0)
		return errfmt(err, errlen, "seek: %s", strerror(errno));
	return 0;
}

int age_stream_file(struct age_src *in, struct age_sink *out, const uint8_t key[32], int enc,
		    int threads, char *err, size_t errlen)
{
	struct job j;
	off_t pos, end;
	int rc = age_src_file(in, &pos, &end, err, errlen);

	if (rc <= 0)
		return rc < 0 ? -1 : 1;
	memset(&j, 0, sizeof(j));
	rc = age_sink_file(out, &j.out0);
	if (rc <= 0)
		return rc < 0 ? errfmt(err, errlen, "%s: %s", out->name ? out->name : "write",
				       strerror(errno)) : 1;
	j.in = in->fd;
	j.out = out->fd;
	j.enc = enc;
	j.hint = out->writeback;
	j.in0 = pos;
	j.oname = out->name ? out->name : "write";
	j.fail_at = NONE;
	memcpy(j.key, key, sizeof(j.key));
	pthread_mutex_init(&j.mu, NULL);
	if (enc)
		layout_seal(&j, end - pos);
	else
		layout_open(&j, end - pos);
	rc = go(&j, in, out, end, threads, err, errlen);
	OPENSSL_cleanse(j.key, sizeof(j.key));
	pthread_mutex_destroy(&j.mu);
	return rc;
}
