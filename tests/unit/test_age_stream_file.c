/* lib/secrets age_stream_file (chunks read and written at offsets by every
 * worker) against the streaming path and against a reference STREAM
 * written here with OpenSSL directly: the same bytes at every size around
 * a chunk, a worker group and the worker count; the same refusals, naming
 * the same chunk, with the same plaintext released before them. */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "lib/secrets/age.h"
#include "lib/secrets/age_io.h"
#include "lib/secrets/age_stream.h"
#include "lib/secrets/age_stream_file.h"

#define CT (AGE_CHUNK + AGE_TAG)
#define G AGE_FILE_GROUP

static const uint8_t fk[AGE_FILE_KEY_LEN] = { 9, 8, 7, 6, 5, 4, 3, 2, 1, 0, 1, 2, 3, 4, 5, 6 };

/* A memfd holding data, at offset 0; append: opened O_APPEND, which the
 * positional path must refuse (pwrite would append), so it streams. */
static int memfile(const void *data, size_t n, int append)
{
	int fd = memfd_create("age", MFD_CLOEXEC);

	cr_assert(fd >= 0);
	cr_assert_eq(write(fd, data, n), (ssize_t)n);
	cr_assert_eq(lseek(fd, 0, SEEK_SET), 0);
	if (append)
		cr_assert_eq(fcntl(fd, F_SETFL, O_APPEND), 0);
	return fd;
}

static uint8_t *slurp(int fd, size_t *n)
{
	off_t end = lseek(fd, 0, SEEK_END);
	uint8_t *b = malloc((size_t)end + 1);

	cr_assert(end >= 0 && b);
	cr_assert_eq(pread(fd, b, (size_t)end, 0), (ssize_t)end);
	*n = (size_t)end;
	return b;
}

/* Encrypts (enc) or decrypts in[0..n) to a new memfd; stream: through the
 * streaming path (the output opened O_APPEND). Returns the output's bytes
 * and the result in *rc. */
static uint8_t *pass(int enc, const uint8_t *in, size_t n, int threads, int stream, int *rc,
		     char *err, size_t *outlen)
{
	struct age_src src;
	struct age_sink sink;
	int ifd = memfile(in, n, 0), ofd = memfile("", 0, stream);
	uint8_t *out;

	cr_assert_eq(age_src_init(&src, ifd, 0), 0);
	cr_assert_eq(age_sink_init(&sink, ofd, 0), 0);
	*rc = enc ? age_stream_encrypt(&src, &sink, fk, threads, err, 256)
		  : age_stream_decrypt(&src, &sink, fk, threads, err, 256);
	if (age_sink_finish(&sink) < 0)
		*rc = -1;
	age_sink_free(&sink);
	age_src_free(&src);
	out = slurp(ofd, outlen);
	close(ifd);
	close(ofd);
	return out;
}

static uint8_t *plain(size_t n)
{
	uint8_t *p = malloc(n + 1);

	cr_assert(p);
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)((i * 2654435761u) >> 11);
	return p;
}

/* STREAM as docs/age.md writes it, chunk by chunk with OpenSSL, under the
 * nonce ct starts with: what both paths must have produced. */
static void check_reference(const uint8_t *pt, size_t n, const uint8_t *ct, size_t ctlen)
{
	size_t chunks = n ? (n + AGE_CHUNK - 1) / AGE_CHUNK : 1, off = AGE_NONCE_LEN;
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	uint8_t key[32], buf[CT];

	cr_assert(c);
	cr_assert_eq(ctlen, AGE_NONCE_LEN + n + chunks * AGE_TAG, "size %zu: %zu bytes", n, ctlen);
	cr_assert_eq(age_hkdf(fk, sizeof(fk), ct, AGE_NONCE_LEN, "payload", key, 32), 0);
	for (size_t i = 0; i < chunks; i++) {
		size_t len = i + 1 < chunks ? AGE_CHUNK : n - i * AGE_CHUNK;
		uint8_t nonce[12] = { 0 };
		int l = 0, f = 0;

		for (int b = 0; b < 8; b++)
			nonce[10 - b] = (uint8_t)((uint64_t)i >> (8 * b));
		nonce[11] = i + 1 == chunks;
		cr_assert_eq(EVP_EncryptInit_ex(c, EVP_chacha20_poly1305(), NULL, key, nonce), 1);
		cr_assert_eq(EVP_EncryptUpdate(c, buf, &l, pt + i * AGE_CHUNK, (int)len), 1);
		cr_assert_eq(EVP_EncryptFinal_ex(c, buf + l, &f), 1);
		cr_assert_eq(EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_GET_TAG, AGE_TAG, buf + len), 1);
		cr_assert(memcmp(ct + off, buf, len + AGE_TAG) == 0, "size %zu: chunk %zu differs", n, i);
		off += len + AGE_TAG;
	}
	EVP_CIPHER_CTX_free(c);
}

Test(age_stream_file, both_paths_write_the_reference_stream)
{
	/* Around a chunk, a worker's group, the group count reaching the
	 * worker count (threads x G chunks), and the streaming batch (64). */
	const size_t sizes[] = { 0, 1, AGE_CHUNK - 1, AGE_CHUNK, AGE_CHUNK + 1, 3 * AGE_CHUNK + 777,
				 G * AGE_CHUNK, G * AGE_CHUNK + 1, 2 * G * AGE_CHUNK - 1,
				 3 * G * AGE_CHUNK, 3 * G * AGE_CHUNK + 1, 64 * AGE_CHUNK + 5,
				 70 * AGE_CHUNK + 12345 };
	const int threads[] = { 1, 2, 3 };

	for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++)
		for (size_t t = 0; t < sizeof(threads) / sizeof(threads[0]); t++) {
			size_t n = sizes[s], l1, l2, b1, b2, b3, b4;
			uint8_t *pt = plain(n), *c1, *c2, *p1, *p2, *p3, *p4;
			char err[256] = "";
			int rc;

			c1 = pass(1, pt, n, threads[t], 0, &rc, err, &l1);
			cr_assert_eq(rc, 0, "%s", err);
			c2 = pass(1, pt, n, threads[t], 1, &rc, err, &l2);
			cr_assert_eq(rc, 0, "%s", err);
			check_reference(pt, n, c1, l1);
			check_reference(pt, n, c2, l2);
			/* Each path opens what either wrote. */
			p1 = pass(0, c1, l1, threads[t], 0, &rc, err, &b1);
			cr_assert_eq(rc, 0, "size %zu: %s", n, err);
			p2 = pass(0, c1, l1, threads[t], 1, &rc, err, &b2);
			cr_assert_eq(rc, 0, "size %zu: %s", n, err);
			p3 = pass(0, c2, l2, threads[t], 0, &rc, err, &b3);
			cr_assert_eq(rc, 0, "size %zu: %s", n, err);
			p4 = pass(0, c2, l2, threads[t], 1, &rc, err, &b4);
			cr_assert_eq(rc, 0, "size %zu: %s", n, err);
			cr_assert(b1 == n && b2 == n && b3 == n && b4 == n, "size %zu", n);
			cr_assert(!memcmp(p1, pt, n) && !memcmp(p2, pt, n) && !memcmp(p3, pt, n) &&
				  !memcmp(p4, pt, n), "size %zu threads %d", n, threads[t]);
			free(pt);
			free(c1);
			free(c2);
			free(p1);
			free(p2);
			free(p3);
			free(p4);
		}
}

/* Decrypting ct[0..n) fails the same way on both paths: want in the
 * message, released bytes of plaintext written before it. */
static void refused(const uint8_t *ct, size_t n, const char *want, size_t released)
{
	for (int stream = 0; stream < 2; stream++)
		for (int threads = 1; threads <= 3; threads++) {
			char err[256] = "";
			size_t got;
			int rc;
			uint8_t *out = pass(0, ct, n, threads, stream, &rc, err, &got);

			cr_assert_eq(rc, -1, "%s path: wanted '%s'", stream ? "stream" : "file", want);
			cr_assert(strstr(err, want), "%s path, %d threads: wanted '%s', got '%s'",
				  stream ? "stream" : "file", threads, want, err);
			cr_assert_eq(got, released, "%s path: %s: %zu bytes out, wanted %zu",
				     stream ? "stream" : "file", want, got, released);
			free(out);
		}
}

Test(age_stream_file, damage_refused_alike_on_both_paths)
{
	size_t chunks = 30, len = chunks * AGE_CHUNK + 100, ctlen, full, h = AGE_NONCE_LEN;
	int rc;
	char err[256];
	uint8_t *pt = plain(len), *ct = pass(1, pt, len, 2, 0, &rc, err, &ctlen);
	uint8_t *bad = malloc(ctlen + CT);
	uint8_t *whole = plain(8 * AGE_CHUNK), *wct;

	cr_assert(bad && rc == 0);
	refused(ct, h + 17 * CT + 1000, "chunk 17: ", 17 * (size_t)AGE_CHUNK);
	refused(ct, h + 22 * CT, "chunk 22: missing (the file is truncated)", 22 * (size_t)AGE_CHUNK);
	refused(ct, h + 5 * CT + 3, "chunk 5: truncated (3 bytes)", 5 * (size_t)AGE_CHUNK);
	refused(ct, h + 5 * CT + AGE_TAG, "chunk 5: an empty final chunk after others",
		5 * (size_t)AGE_CHUNK);
	refused(ct, h, "chunk 0: missing (the payload has no chunks)", 0);
	/* A flipped byte in the last chunk and in one inside a later group:
	 * the lowest is named, whichever worker met it first. */
	memcpy(bad, ct, ctlen);
	bad[ctlen - 5] ^= 1;
	refused(bad, ctlen, "chunk 30: authentication failed", 30 * (size_t)AGE_CHUNK);
	bad[h + 9 * CT + 100] ^= 0x80;
	refused(bad, ctlen, "chunk 9: authentication failed", 9 * (size_t)AGE_CHUNK);
	memcpy(bad, ct, ctlen);
	memcpy(bad + h + 2 * CT, ct + h + 6 * CT, CT);
	refused(bad, ctlen, "chunk 2: authentication failed", 2 * (size_t)AGE_CHUNK);
	/* A file of whole chunks with a copy of its last one appended: the
	 * final chunk has data after it, and its plaintext still goes out. */
	wct = pass(1, whole, 8 * AGE_CHUNK, 2, 0, &rc, err, &full);
	cr_assert_eq(rc, 0);
	memcpy(bad, wct, full);
	memcpy(bad + full, wct + full - CT, CT);
	refused(bad, full + CT, "chunk 8: data after the final chunk", 8 * (size_t)AGE_CHUNK);
	free(wct);
	free(whole);
	free(bad);
	free(ct);
	free(pt);
}

/* What takes the positional path: regular binary files both ways, at any
 * starting offset; a pipe, an O_APPEND output or armor stream instead. */
Test(age_stream_file, taken_only_between_regular_files)
{
	uint8_t key[32] = { 1 }, *pt = plain(5 * AGE_CHUNK + 3), *out;
	struct age_src src;
	struct age_sink sink;
	char err[256] = "";
	size_t n;
	int p[2], in = memfile(pt, 5 * AGE_CHUNK + 3, 0), o = memfile("", 0, 0);

	cr_assert_eq(pipe(p), 0);
	cr_assert_eq(age_src_init(&src, p[0], 0), 0);
	cr_assert_eq(age_sink_init(&sink, o, 0), 0);
	cr_assert_eq(age_stream_file(&src, &sink, key, 1, 2, err, sizeof(err)), 1);
	age_src_free(&src);
	cr_assert_eq(age_src_init(&src, in, 1), 0);
	cr_assert_eq(age_stream_file(&src, &sink, key, 1, 2, err, sizeof(err)), 1, "armored input");
	age_src_free(&src);
	age_sink_free(&sink);
	cr_assert_eq(age_sink_init(&sink, o, 1), 0);
	cr_assert_eq(age_src_init(&src, in, 0), 0);
	cr_assert_eq(age_stream_file(&src, &sink, key, 1, 2, err, sizeof(err)), 1, "armored output");
	age_sink_free(&sink);
	/* From offset 3 of the input to after 7 buffered bytes of output. */
	cr_assert_eq(lseek(in, 3, SEEK_SET), 3);
	cr_assert_eq(age_sink_init(&sink, o, 0), 0);
	cr_assert_eq(age_sink_write(&sink, "prefix:", 7), 0);
	cr_assert_eq(age_stream_file(&src, &sink, key, 1, 2, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(lseek(o, 0, SEEK_CUR), 7 + 5 * CT, "the output's offset is after what was written");
	cr_assert_eq(lseek(in, 0, SEEK_CUR), 5 * AGE_CHUNK + 3, "the input is read to its end");
	out = slurp(o, &n);
	cr_assert_eq(n, 7 + 5 * CT);
	cr_assert(memcmp(out, "prefix:", 7) == 0);
	age_sink_free(&sink);
	age_src_free(&src);
	free(out);
	free(pt);
	close(p[0]);
	close(p[1]);
	close(in);
	close(o);
}
