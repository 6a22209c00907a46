/* The streamed single PUT: the body is read from fd as curl asks for it,
 * each 256 KiB chunk signed on the way (docs/s3.md, "put"; docs/sigv4.md,
 * "Streaming"), and the end of the input checked before the request can
 * complete. */
#include "lib/secrets/s3_stream.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "lib/core/errfmt.h"

#define HEAD_ROOM SIGV4_CHUNK_HEAD_MAX

struct sput {
	const struct s3_conf *c;
	int fd, seekable, chunked;
	off_t base;             /* where a seekable input starts */
	uint64_t length, consumed;
	char *buf;              /* HEAD_ROOM + chunk + "\r\n" */
	size_t out, end;        /* what is still to hand to curl: buf[out..end) */
	int final_sent, checked, key_ok;
	uint8_t skey[32];
	char amz_date[17], scope[128], prev[65];
	char err[S3_ERR_MAX];   /* why the reader aborted */
};

__attribute__((format(printf, 2, 3))) static int fail(struct sput *p, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(p->err, sizeof(p->err), fmt, ap);
	va_end(ap);
	return -1;
}

/* Up to n bytes at the input's position consumed (+ off); fewer only at EOF. */
static int read_at(struct sput *p, char *dst, size_t n, uint64_t off, size_t *got)
{
	ssize_t r;

	*got = 0;
	while (*got < n) {
		if (p->seekable)
			r = pread(p->fd, dst + *got, n - *got, p->base + (off_t)(off + *got));
		else
			r = read(p->fd, dst + *got, n - *got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return fail(p, "reading the input: %s", strerror(errno));
		if (r == 0)
			break;
		*got += (size_t)r;
	}
	return 0;
}

/* All declared bytes read: the input must end here, and its producer must
 * have succeeded, before the last bytes can complete the request. */
static int at_end(struct sput *p)
{
	char extra;
	size_t got;

	p->checked = 1;
	if (read_at(p, &extra, 1, p->length, &got) < 0)
		return -1;
	if (got)
		return fail(p, "the input is longer than its %" PRIu64 " bytes", p->length);
	if (p->c->input_check && p->c->input_check(p->c->input_arg, p->err, sizeof(p->err)) != 0) {
		if (!p->err[0])
			snprintf(p->err, sizeof(p->err), "the input failed");
		return -1;
	}
	return 0;
}

static int frame(struct sput *p, size_t n)
{
	char *data = p->buf + HEAD_ROOM, sig[65], head[SIGV4_CHUNK_HEAD_MAX];
	size_t hl;

	if (!p->key_ok)
		return fail(p, "no signing key");
	if (sigv4_chunk_signature(p->skey, p->amz_date, p->scope, p->prev, data, n, sig) < 0 ||
	    !(hl = sigv4_chunk_header(n, sig, head, sizeof(head))))
		return fail(p, "signing the chunk at %" PRIu64, p->consumed);
	memcpy(data - hl, head, hl);
	data[n] = '\r';
	data[n + 1] = '\n';
	p->out = HEAD_ROOM - hl;
	p->end = HEAD_ROOM + n + 2;
	memcpy(p->prev, sig, sizeof(sig));
	return 0;
}

/* The next chunk into buf[out..end). 0, or -1 with p->err. */
static int fill(struct sput *p)
{
	uint64_t left = p->length - p->consumed;
	size_t want = left < S3_STREAM_CHUNK ? (size_t)left : S3_STREAM_CHUNK, got = 0;

	if (want && read_at(p, p->buf + HEAD_ROOM, want, p->consumed, &got) < 0)
		return -1;
	if (got < want)
		return fail(p, "the input ended after %" PRIu64 " of its %" PRIu64 " bytes",
			    p->consumed + got, p->length);
	p->consumed += want;
	if (p->consumed == p->length && !p->checked && at_end(p) < 0)
		return -1;
	if (p->c->progress)
		p->c->progress(p->c->progress_arg, p->consumed, p->length);
	if (want == 0)
		p->final_sent = 1;
	if (p->chunked)
		return frame(p, want);
	p->out = HEAD_ROOM;
	p->end = HEAD_ROOM + want;
	return 0;
}

static size_t reader(char *dst, size_t n, void *arg)
{
	struct sput *p = arg;
	size_t m;

	while (p->out == p->end) {
		if (p->final_sent || (!p->chunked && p->consumed == p->length && p->checked))
			return 0;
		if (fill(p) < 0)
			return CURL_READFUNC_ABORT;
	}
	m = p->end - p->out < n ? p->end - p->out : n;
	memcpy(dst, p->buf + p->out, m);
	p->out += m;
	return m;
}

/* A file is read again from its start; a stream only if none of it went. */
static int rewind_body(void *arg)
{
	struct sput *p = arg;

	if (!p->seekable && (p->consumed || p->checked))
		return -1;
	p->consumed = 0;
	p->out = p->end = 0;
	p->final_sent = p->checked = 0;
	p->err[0] = '\0';
	return 0;
}

static void on_signed(void *arg, const char *amz_date, const char *signature)
{
	struct sput *p = arg;
	char date[9];

	snprintf(p->amz_date, sizeof(p->amz_date), "%s", amz_date);
	snprintf(p->prev, sizeof(p->prev), "%s", signature);
	snprintf(date, sizeof(date), "%.8s", amz_date);
	p->key_ok = sigv4_scope(date, p->c->region ? p->c->region : "us-east-1", "s3", p->scope,
				sizeof(p->scope)) == 0 &&
		    sigv4_signing_key(p->c->creds->secret_key, date,
				      p->c->region ? p->c->region : "us-east-1", "s3", p->skey) == 0;
}

static int sput_init(struct sput *p, const struct s3_conf *c, int fd, uint64_t length)
{
	struct stat st;

	memset(p, 0, sizeof(*p));
	p->c = c;
	p->fd = fd;
	p->length = length;
	p->chunked = !(c->flags & S3_UNSIGNED_PAYLOAD);
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && (p->base = lseek(fd, 0, SEEK_CUR)) >= 0)
		p->seekable = 1;
	else
		p->base = 0;
	p->buf = malloc(HEAD_ROOM + S3_STREAM_CHUNK + 2);
	return p->buf ? 0 : -1;
}

int s3_put_streamed(const struct s3_conf *c, const struct s3_ep *ep, const char *key, int fd,
		    uint64_t length, char *err, size_t errlen)
{
	struct s3_call k = { .op = "put", .method = "PUT", .key = key, .put_meta = 1, .out_fd = -1,
			     .reader = reader, .rewind = rewind_body, .on_signed = on_signed,
			     .upload_len = length };
	struct sigv4_header ex[3];
	char dlen[24], clen[24];
	struct sput p;
	uint64_t enc = length;
	int rc;

	if (sput_init(&p, c, fd, length) < 0)
		return errfmt(err, errlen, "out of memory");
	k.reader_arg = &p;
	if (p.chunked) {
		if (sigv4_chunked_length(length, S3_STREAM_CHUNK, &enc) < 0) {
			free(p.buf);
			return errfmt(err, errlen, "s3 put %s/%.300s: %" PRIu64 " bytes: too long",
				      c->bucket, key, length);
		}
		snprintf(dlen, sizeof(dlen), "%" PRIu64, length);
		snprintf(clen, sizeof(clen), "%" PRIu64, enc);
		ex[0] = (struct sigv4_header){ "content-encoding", "aws-chunked" };
		ex[1] = (struct sigv4_header){ "content-length", clen };
		ex[2] = (struct sigv4_header){ "x-amz-decoded-content-length", dlen };
		k.extra = ex;
		k.nextra = 3;
		k.payload_hash = SIGV4_STREAMING_PAYLOAD;
		k.upload_len = enc;
	}
	rc = s3_call_run(c, ep, NULL, &k, err, errlen);
	/* The reader's reason, not curl's "aborted by callback". */
	if (rc < 0 && p.err[0])
		errfmt(err, errlen, "s3 put %s/%.300s: %s", c->bucket, key, p.err);
	s3_call_done(&k);
	OPENSSL_cleanse(p.skey, sizeof(p.skey));
	free(p.buf);
	if (rc == 0 && c->progress)
		c->progress(c->progress_arg, length, length);
	return rc;
}
