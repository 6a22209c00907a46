/* The age stages of seal s3 (docs/s3.md, "put", "get"): header and STREAM
 * from lib/secrets, run on a thread. */
#include "seal/s3.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "lib/core/errfmt.h"
#include "lib/secrets/age_io.h"
#include "lib/secrets/age_stream.h"

#define ID_FILE_MAX (1u << 20)

int s3_age_add_recipient(struct s3_age *a, const char *s, char *err, size_t errlen)
{
	char e[256];

	if (a->nr == S3_AGE_MAX_KEYS)
		return errfmt(err, errlen, "more than %d recipients", S3_AGE_MAX_KEYS);
	if (age_recipient_parse(s, &a->r[a->nr], e, sizeof(e)) < 0)
		return errfmt(err, errlen, "recipient '%.80s': %s", s, e);
	a->nr++;
	return 0;
}

static char *slurp(const char *path, char *err, size_t errlen)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	char *buf = NULL;
	size_t n = 0;
	ssize_t r = 1;

	if (fd < 0) {
		errfmt(err, errlen, "%s: %s", path, strerror(errno));
		return NULL;
	}
	buf = malloc(ID_FILE_MAX + 1);
	while (buf && n <= ID_FILE_MAX && (r = read(fd, buf + n, ID_FILE_MAX + 1 - n)) != 0)
		if (r > 0)
			n += (size_t)r;
		else if (errno != EINTR)
			break;
	close(fd);
	if (buf && r >= 0 && n <= ID_FILE_MAX && !memchr(buf, 0, n)) {
		buf[n] = '\0';
		return buf;
	}
	errfmt(err, errlen, "%s: %s", path, !buf ? "out of memory" : r < 0 ? strerror(errno)
					     : "not an identity file (too large, or binary)");
	if (buf)
		OPENSSL_cleanse(buf, n);
	free(buf);
	return NULL;
}

int s3_age_add_identity_file(struct s3_age *a, const char *path, char *err, size_t errlen)
{
	char *text = slurp(path, err, errlen), *save = NULL, e[256];
	size_t before = a->nid;
	int rc = 0;

	if (!text)
		return -1;
	for (char *l = strtok_r(text, "\n", &save); l && rc == 0; l = strtok_r(NULL, "\n", &save)) {
		l[strcspn(l, "\r")] = '\0';
		if (!l[0] || l[0] == '#')
			continue;
		if (a->nid == S3_AGE_MAX_KEYS)
			rc = errfmt(err, errlen, "%s: more than %d identities", path, S3_AGE_MAX_KEYS);
		else if (age_identity_parse(l, &a->id[a->nid], e, sizeof(e)) < 0)
			rc = errfmt(err, errlen, "%s: %s", path, e);
		else
			a->nid++;
	}
	if (rc == 0 && a->nid == before)
		rc = errfmt(err, errlen, "%s: no identity in it", path);
	OPENSSL_cleanse(text, strlen(text));
	free(text);
	return rc;
}

/* ---------------------------------------------------------------- encrypt */

int s3_age_prepare(struct s3_age *a, char *err, size_t errlen)
{
	struct age_stanza st[S3_AGE_MAX_KEYS];
	size_t ns = 0;
	int rc = age_random(a->fk, sizeof(a->fk)) < 0 ? errfmt(err, errlen, "no randomness") : 0;

	for (; rc == 0 && ns < a->nr; ns++)
		if (a->r[ns].type->wrap(&a->r[ns], a->fk, &st[ns], err, errlen) < 0) {
			rc = -1;
			break;
		}
	if (rc == 0)
		rc = age_header_encode(st, ns, a->fk, &a->hdr, &a->hlen, err, errlen);
	while (ns--)
		age_stanza_free(&st[ns]);
	if (rc < 0)
		OPENSSL_cleanse(a->fk, sizeof(a->fk));
	a->prepared = rc == 0;
	return rc;
}

uint64_t s3_age_sealed_length(const struct s3_age *a, uint64_t size)
{
	uint64_t chunks = size ? (size + AGE_CHUNK - 1) / AGE_CHUNK : 1;

	/* header, the STREAM nonce, the plaintext, one tag per chunk */
	return a->hlen + 16 + size + chunks * AGE_TAG;
}

static int encrypt_to(struct s3_age *a, struct age_src *src, struct age_sink *sink)
{
	int rc = 0;

	if (!a->prepared)
		rc = s3_age_prepare(a, a->err, sizeof(a->err));
	if (rc == 0 && age_sink_write(sink, a->hdr, a->hlen) < 0)
		rc = errfmt(a->err, sizeof(a->err), "sending the header: %s", strerror(errno));
	if (rc == 0)
		rc = age_stream_encrypt(src, sink, a->fk, 0, a->err, sizeof(a->err));
	if (rc == 0 && age_sink_finish(sink) < 0)
		rc = errfmt(a->err, sizeof(a->err), "sending: %s", strerror(errno));
	OPENSSL_cleanse(a->fk, sizeof(a->fk));
	return rc;
}

/* ---------------------------------------------------------------- decrypt */

/* The header, read a byte at a time so what follows stays in src. */
static int read_header(struct age_src *src, struct age_header *h, char *err, size_t errlen)
{
	uint8_t *buf = malloc(AGE_MAX_HEADER);
	size_t len = 0, used = 0;
	ssize_t got;
	int rc = AGE_MORE;

	if (!buf)
		return errfmt(err, errlen, "out of memory");
	while (rc == AGE_MORE) {
		if (len == AGE_MAX_HEADER) {
			rc = errfmt(err, errlen, "header: longer than %u bytes", AGE_MAX_HEADER);
			break;
		}
		got = age_src_read(src, buf + len, 1, err, errlen);
		if (got <= 0) {
			rc = got < 0 ? -1 : errfmt(err, errlen, "header: truncated");
			break;
		}
		len++;
		/* Only a "---" line can end the header. */
		if (buf[len - 1] == '\n' && len >= 4) {
			size_t i = len - 1;

			while (i > 0 && buf[i - 1] != '\n')
				i--;
			if (len - i >= 4 && memcmp(buf + i, "---", 3) == 0)
				rc = age_header_parse(buf, len, h, &used, err, errlen);
		}
	}
	free(buf);
	return rc;
}

static int decrypt_from(struct s3_age *a, struct age_src *src, struct age_sink *sink)
{
	struct age_header h;
	uint8_t fk[AGE_FILE_KEY_LEN];
	char e[S3_AGE_ERR];
	int rc;

	if (read_header(src, &h, e, sizeof(e)) < 0)
		return errfmt(a->err, sizeof(a->err), "%.400s", e);
	rc = age_unwrap_file_key(&h, a->id, a->nid, fk, e, sizeof(e));
	age_header_free(&h);
	if (rc == AGE_NOMATCH)
		return errfmt(a->err, sizeof(a->err), "no identity matched any of the recipients");
	if (rc < 0)
		return errfmt(a->err, sizeof(a->err), "header: %.400s", e);
	rc = age_stream_decrypt(src, sink, fk, 0, a->err, sizeof(a->err));
	if (rc == 0 && age_sink_finish(sink) < 0)
		rc = errfmt(a->err, sizeof(a->err), "writing: %s", strerror(errno));
	OPENSSL_cleanse(fk, sizeof(fk));
	return rc;
}

/* ---------------------------------------------------------------- the thread */

static void *run(void *arg)
{
	struct s3_age *a = arg;
	struct age_src src;
	struct age_sink sink;
	int decrypt = a->rc; /* start() passes the direction in rc */

	a->rc = -1;
	if (age_src_init(&src, a->in_fd, decrypt ? -1 : 0) < 0) {
		errfmt(a->err, sizeof(a->err), "out of memory");
	} else {
		if (age_sink_init(&sink, a->out_fd, 0) < 0)
			errfmt(a->err, sizeof(a->err), "out of memory");
		else {
			a->rc = decrypt ? decrypt_from(a, &src, &sink) : encrypt_to(a, &src, &sink);
			age_sink_free(&sink);
		}
		age_src_free(&src);
	}
	/* The peer sees EOF now: the end of the stream, or of a failed one
	 * that s3_age_join reports before anything is committed. */
	close(a->out_fd);
	a->out_fd = -1;
	/* A decrypting stage that stopped early must not leave the download
	 * blocked on a full socket: its writes now fail instead. */
	if (decrypt)
		close(a->in_fd);
	return NULL;
}

int s3_age_start(struct s3_age *a, int decrypt, int in_fd, int out_fd, char *err, size_t errlen)
{
	a->in_fd = in_fd;
	a->out_fd = out_fd;
	a->rc = decrypt;
	a->err[0] = '\0';
	if (pthread_create(&a->th, NULL, run, a) != 0) {
		a->out_fd = -1;
		close(out_fd);
		if (decrypt)
			close(in_fd);
		return errfmt(err, errlen, "cannot start the age thread");
	}
	a->running = 1;
	return 0;
}

int s3_age_join(struct s3_age *a)
{
	if (a->running) {
		pthread_join(a->th, NULL);
		a->running = 0;
	}
	return a->rc == 0 ? 0 : -1;
}

void s3_age_free(struct s3_age *a)
{
	s3_age_join(a);
	for (size_t i = 0; i < a->nr; i++)
		age_recipient_clear(&a->r[i]);
	for (size_t i = 0; i < a->nid; i++)
		age_identity_clear(&a->id[i]);
	a->nr = a->nid = 0;
	OPENSSL_cleanse(a->fk, sizeof(a->fk));
	free(a->hdr);
	a->hdr = NULL;
	a->hlen = 0;
	a->prepared = 0;
}
