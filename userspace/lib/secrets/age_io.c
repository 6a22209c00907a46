/* age input and output: binary passed through, armor decoded and encoded. */
#include "lib/secrets/age_io.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/core/errfmt.h"
#include "lib/core/fdio.h"
#include "lib/secrets/b64.h"

static const char BEGIN[] = "-----BEGIN AGE ENCRYPTED FILE-----";
static const char END[] = "-----END AGE ENCRYPTED FILE-----";
static const char MAGIC[] = "age-encryption.org/";
#define COLS 64
/* Writeback is started for every this many bytes written: large enough
 * that the disk gets long sequential writes, small enough that the final
 * fsync has little left to wait for. */
#define WB_STEP (8 << 20)

enum { A_BEGIN, A_BODY, A_AFTER };

int age_src_init(struct age_src *s, int fd, int armor)
{
	memset(s, 0, sizeof(*s));
	s->fd = fd;
	s->armor = armor;
	s->raw = malloc(AGE_IO_BUF);
	s->dec = malloc(AGE_IO_BUF);
	if (!s->raw || !s->dec) {
		age_src_free(s);
		return -1;
	}
	return 0;
}

void age_src_free(struct age_src *s)
{
	free(s->raw);
	free(s->dec);
	s->raw = s->dec = NULL;
}

static ssize_t rd(int fd, void *buf, size_t n)
{
	ssize_t r;

	do
		r = read(fd, buf, n);
	while (r < 0 && errno == EINTR);
	return r;
}

/* More raw bytes at the end of raw[]; 0 at EOF. */
static ssize_t raw_fill(struct age_src *s)
{
	ssize_t r;

	if (s->rpos) {
		memmove(s->raw, s->raw + s->rpos, s->rlen - s->rpos);
		s->rlen -= s->rpos;
		s->rpos = 0;
	}
	if (s->eof || s->rlen == AGE_IO_BUF)
		return 0;
	r = rd(s->fd, s->raw + s->rlen, AGE_IO_BUF - s->rlen);
	if (r == 0)
		s->eof = 1;
	if (r > 0)
		s->rlen += (size_t)r;
	return r;
}

static int is_ws(uint8_t c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Decides armor or binary from the first bytes, leaving them in raw[]. */
static int detect(struct age_src *s, char *err, size_t errlen)
{
	while (s->rlen < sizeof(MAGIC) - 1 && !s->eof)
		if (raw_fill(s) < 0)
			return errfmt(err, errlen, "read: %s", strerror(errno));
	s->armor = !(memcmp(s->raw, MAGIC, s->rlen < sizeof(MAGIC) - 1 ? s->rlen
								  : sizeof(MAGIC) - 1) == 0);
	if (!s->armor) {
		memcpy(s->dec, s->raw, s->rlen);
		s->dlen = s->rlen;
		s->rlen = 0;
	}
	return 0;
}

static int aerr(struct age_src *s, char *err, size_t errlen, const char *msg)
{
	snprintf(s->err, sizeof(s->err), "armor: %s", msg);
	return errfmt(err, errlen, "%s", s->err);
}

/* One complete line from raw[] (without '\n' and a '\r' before it): 1, 0
 * when none is complete, and at EOF the rest as the last line. */
static int take_line(struct age_src *s, const char **line, size_t *n)
{
	uint8_t *p = s->raw + s->rpos, *nl = memchr(p, '\n', s->rlen - s->rpos);
	size_t len;

	if (!nl && !s->eof)
		return 0;
	len = nl ? (size_t)(nl - p) : s->rlen - s->rpos;
	if (!nl && len == 0)
		return 0;
	s->rpos += len + (nl ? 1 : 0);
	if (len && p[len - 1] == '\r')
		len--;
	*line = (const char *)p;
	*n = len;
	return 1;
}

static int armor_line(struct age_src *s, const char *line, size_t n, char *err, size_t errlen)
{
	long got;

	if (s->state == A_BEGIN) {
		if (n != sizeof(BEGIN) - 1 || memcmp(line, BEGIN, n) != 0)
			return aerr(s, err, errlen, "the first line is not '-----BEGIN AGE ENCRYPTED FILE-----'");
		s->state = A_BODY;
		return 0;
	}
	if (n == sizeof(END) - 1 && memcmp(line, END, n) == 0) {
		s->state = A_AFTER;
		return 0;
	}
	if (n == 0)
		return aerr(s, err, errlen, "empty line");
	if (n > COLS)
		return aerr(s, err, errlen, "line longer than 64 columns");
	if (s->short_line)
		return aerr(s, err, errlen, "a line shorter than 64 columns before the last");
	got = b64_pad_decode(line, n, s->dec + s->dlen, AGE_IO_BUF - s->dlen);
	if (got < 0)
		return aerr(s, err, errlen, "not canonical padded base64");
	s->dlen += (size_t)got;
	s->short_line = n < COLS || line[n - 1] == '=';
	return 0;
}

/* Decodes armor lines into dec[] until it holds some bytes and no complete
 * line is left, or it is nearly full, or the armor ended. */
static int armor_fill(struct age_src *s, char *err, size_t errlen)
{
	const char *line;
	size_t n;

	if (s->err[0])
		return errfmt(err, errlen, "%s", s->err);
	for (;;) {
		if (s->dlen + 48 > AGE_IO_BUF)
			return 0;
		if (s->state != A_BODY) {
			/* Whitespace is allowed around the armor, nothing else. */
			while (s->rpos < s->rlen && is_ws(s->raw[s->rpos]))
				s->rpos++;
			if (s->state == A_AFTER && s->rpos < s->rlen)
				return aerr(s, err, errlen, "data after the END line");
		}
		if (take_line(s, &line, &n)) {
			if (armor_line(s, line, n, err, errlen) < 0)
				return -1;
			continue;
		}
		if (s->eof) {
			if (s->state == A_AFTER)
				return 0;
			return aerr(s, err, errlen, s->state == A_BEGIN ? "no BEGIN line" : "no END line");
		}
		if (s->dlen)
			return 0;
		if (s->rlen - s->rpos >= 128)
			return aerr(s, err, errlen, "line longer than 64 columns");
		if (raw_fill(s) < 0)
			return errfmt(err, errlen, "read: %s", strerror(errno));
	}
}

static int fill(struct age_src *s, char *err, size_t errlen)
{
	ssize_t r;

	s->dpos = s->dlen = 0;
	if (s->armor)
		return armor_fill(s, err, errlen);
	if (s->eof)
		return 0;
	r = rd(s->fd, s->dec, AGE_IO_BUF);
	if (r < 0)
		return errfmt(err, errlen, "read: %s", strerror(errno));
	if (r == 0)
		s->eof = 1;
	s->dlen = (size_t)r;
	return 0;
}

ssize_t age_src_read(struct age_src *s, void *buf, size_t n, char *err, size_t errlen)
{
	size_t got = 0;

	if (s->armor < 0 && detect(s, err, errlen) < 0)
		return -1;
	while (got < n) {
		if (s->dpos == s->dlen) {
			/* Large binary reads skip the copy through dec[]. */
			if (!s->armor && !s->eof && n - got >= AGE_IO_BUF) {
				ssize_t r = rd(s->fd, (uint8_t *)buf + got, n - got);
				if (r < 0)
					return errfmt(err, errlen, "read: %s", strerror(errno));
				if (r == 0)
					s->eof = 1;
				got += (size_t)r;
				if (r == 0)
					break;
				continue;
			}
			if (fill(s, err, errlen) < 0)
				return -1;
			if (s->dlen == 0)
				break;
		}
		size_t take = s->dlen - s->dpos < n - got ? s->dlen - s->dpos : n - got;
		memcpy((uint8_t *)buf + got, s->dec + s->dpos, take);
		s->dpos += take;
		got += take;
	}
	return (ssize_t)got;
}

static ssize_t readv_binary(struct age_src *s, struct iovec *v, int n, char *err, size_t errlen)
{
	size_t total = 0;
	int i = 0;

	fd_iov_advance(v, &i, n, 0);
	/* The bytes already buffered (the rest of the header's block) first. */
	while (i < n && s->dpos < s->dlen) {
		size_t take = s->dlen - s->dpos < v[i].iov_len ? s->dlen - s->dpos : v[i].iov_len;
		memcpy(v[i].iov_base, s->dec + s->dpos, take);
		s->dpos += take;
		total += take;
		fd_iov_advance(v, &i, n, take);
	}
	while (i < n && !s->eof) {
		ssize_t r = readv(s->fd, v + i, n - i);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return errfmt(err, errlen, "read: %s", strerror(errno));
		if (r == 0)
			s->eof = 1;
		total += (size_t)r;
		fd_iov_advance(v, &i, n, (size_t)r);
	}
	return (ssize_t)total;
}

ssize_t age_src_readv(struct age_src *s, const struct iovec *iov, int n, char *err,
		      size_t errlen)
{
	struct iovec v[AGE_IOV_MAX];
	size_t total = 0;

	if (n < 0 || n > AGE_IOV_MAX)
		return errfmt(err, errlen, "read: %d buffers, at most %d", n, AGE_IOV_MAX);
	if (s->armor < 0 && detect(s, err, errlen) < 0)
		return -1;
	if (!s->armor) {
		memcpy(v, iov, (size_t)n * sizeof(*v));
		return readv_binary(s, v, n, err, errlen);
	}
	for (int i = 0; i < n; i++) {
		ssize_t r = age_src_read(s, iov[i].iov_base, iov[i].iov_len, err, errlen);
		if (r < 0)
			return -1;
		total += (size_t)r;
		if ((size_t)r < iov[i].iov_len)
			break;
	}
	return (ssize_t)total;
}

int age_src_at_end(struct age_src *s, char *err, size_t errlen)
{
	if (s->armor < 0 && detect(s, err, errlen) < 0)
		return -1;
	if (s->dpos < s->dlen)
		return 0;
	if (fill(s, err, errlen) < 0)
		return -1;
	return s->dlen == 0;
}

static int regular(int fd)
{
	struct stat st;

	return fstat(fd, &st) == 0 && S_ISREG(st.st_mode);
}

/* Whether the file holds exactly end bytes: /proc says 0 and sysfs 4096
 * whatever their files hold, and only reading tells. */
static int size_true(int fd, off_t end)
{
	char c;

	if (end > 0 && pread(fd, &c, 1, end - 1) != 1)
		return 0;
	return pread(fd, &c, 1, end) == 0;
}

int age_src_file(struct age_src *s, off_t *pos, off_t *end, char *err, size_t errlen)
{
	struct stat st;
	off_t cur;

	if (s->armor < 0 && detect(s, err, errlen) < 0)
		return -1;
	if (s->armor || fstat(s->fd, &st) < 0 || !S_ISREG(st.st_mode))
		return 0;
	cur = lseek(s->fd, 0, SEEK_CUR);
	if (cur < 0)
		return 0;
	/* What was read ahead into dec[] but not handed out is still ours. */
	*pos = cur - (off_t)(s->dlen - s->dpos);
	*end = st.st_size;
	return *pos >= 0 && *pos <= *end && size_true(s->fd, *end);
}

int age_src_file_done(struct age_src *s, off_t end)
{
	s->dpos = s->dlen = 0;
	s->eof = 1;
	return lseek(s->fd, end, SEEK_SET) < 0 ? -1 : 0;
}

/* ---------------------------------------------------------------- sink */
int age_sink_init(struct age_sink *k, int fd, int armor)
{
	memset(k, 0, sizeof(*k));
	k->fd = fd;
	k->armor = armor;
	k->buf = malloc(AGE_IO_BUF + 128);
	if (!k->buf)
		return -1;
	if (armor) {
		memcpy(k->buf, BEGIN, sizeof(BEGIN) - 1);
		k->len = sizeof(BEGIN) - 1;
		k->buf[k->len++] = '\n';
	}
	return 0;
}

void age_sink_free(struct age_sink *k)
{
	free(k->buf);
	k->buf = NULL;
}

void age_sink_writeback(struct age_sink *k)
{
	k->writeback = 1;
}

/* Hands what was written since the last call to the disk, without waiting:
 * only a hint, so a file system without it just turns it off. */
static void wrote(struct age_sink *k, size_t n)
{
	k->wb_off += (off_t)n;
	if (!k->writeback || k->wb_off - k->wb_from < WB_STEP)
		return;
	if (sync_file_range(k->fd, k->wb_from, k->wb_off - k->wb_from, SYNC_FILE_RANGE_WRITE) < 0)
		k->writeback = 0;
	k->wb_from = k->wb_off;
}

static int flush(struct age_sink *k)
{
	if (k->len && fd_write_all(k->fd, k->buf, k->len) < 0)
		return -1;
	wrote(k, k->len);
	k->len = 0;
	return 0;
}

/* writev until all of v[0..n) is out; a signal or a pipe that takes less
 * only makes it loop. */
static int writev_all(struct age_sink *k, struct iovec *v, int n)
{
	int i = 0;

	fd_iov_advance(v, &i, n, 0);
	while (i < n) {
		ssize_t r = writev(k->fd, v + i, n - i);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -1;
		wrote(k, (size_t)r);
		fd_iov_advance(v, &i, n, (size_t)r);
	}
	return 0;
}

int age_sink_writev(struct age_sink *k, const struct iovec *iov, int n)
{
	struct iovec v[AGE_IOV_MAX];

	if (n < 0 || n > AGE_IOV_MAX) {
		errno = EINVAL;
		return -1;
	}
	if (k->armor) {
		for (int i = 0; i < n; i++)
			if (age_sink_write(k, iov[i].iov_base, iov[i].iov_len) < 0)
				return -1;
		return 0;
	}
	if (flush(k) < 0)
		return -1;
	memcpy(v, iov, (size_t)n * sizeof(*v));
	return writev_all(k, v, n);
}

int age_sink_file(struct age_sink *k, off_t *pos)
{
	int fl;

	if (k->armor || !regular(k->fd))
		return 0;
	fl = fcntl(k->fd, F_GETFL);
	if (fl < 0 || (fl & O_APPEND))
		return 0;
	if (flush(k) < 0)
		return -1;
	*pos = lseek(k->fd, 0, SEEK_CUR);
	return *pos < 0 ? 0 : 1;
}

int age_sink_file_done(struct age_sink *k, off_t end)
{
	/* Writeback of what was written at offsets was started by the
	 * writers themselves (age_stream_file.c). */
	k->wb_off = k->wb_from = end;
	return lseek(k->fd, end, SEEK_SET) < 0 ? -1 : 0;
}

/* One group of 3 bytes (or the short last one) as base64, wrapping lines. */
static int armor_group(struct age_sink *k, const uint8_t *g, size_t n)
{
	if (k->len + 8 > AGE_IO_BUF && flush(k) < 0)
		return -1;
	k->len += b64_pad_encode(g, n, (char *)k->buf + k->len);
	k->col += 4;
	if (k->col == COLS) {
		k->buf[k->len++] = '\n';
		k->col = 0;
	}
	return 0;
}

int age_sink_write(struct age_sink *k, const void *buf, size_t n)
{
	const uint8_t *p = buf;

	if (!k->armor) {
		if (n >= AGE_IO_BUF) {
			struct iovec v = { (void *)buf, n };
			return flush(k) < 0 ? -1 : writev_all(k, &v, 1);
		}
		if (k->len + n > AGE_IO_BUF && flush(k) < 0)
			return -1;
		memcpy(k->buf + k->len, buf, n);
		k->len += n;
		return 0;
	}
	while (n) {
		k->rem[k->nrem++] = *p++;
		n--;
		if (k->nrem == 3) {
			if (armor_group(k, k->rem, 3) < 0)
				return -1;
			k->nrem = 0;
		}
	}
	return 0;
}

int age_sink_finish(struct age_sink *k)
{
	if (k->armor) {
		if (k->nrem && armor_group(k, k->rem, k->nrem) < 0)
			return -1;
		if (flush(k) < 0)
			return -1;
		if (k->col)
			k->buf[k->len++] = '\n';
		memcpy(k->buf + k->len, END, sizeof(END) - 1);
		k->len += sizeof(END) - 1;
		k->buf[k->len++] = '\n';
	}
	return flush(k);
}
