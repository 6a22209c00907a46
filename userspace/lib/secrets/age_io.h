/* Buffered reading and writing of age files on descriptors, with the ASCII
 * armor decoded and encoded on the way (docs/age.md, "Armor"). */
#ifndef NEK_SECRETS_AGE_IO_H
#define NEK_SECRETS_AGE_IO_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

#define AGE_IO_BUF 65536
/* The most buffers age_src_readv and age_sink_writev take at once. */
#define AGE_IOV_MAX 64

struct age_src {
	int fd;
	int armor;       /* -1 not yet known, 0 binary, 1 armored */
	int state;       /* armor: where in the armor */
	int eof;         /* the descriptor returned 0 */
	int short_line;  /* armor: a short (or padded) line was seen */
	uint8_t *raw;    /* armor: undecoded input */
	size_t rpos, rlen;
	uint8_t *dec;    /* decoded bytes not yet handed out */
	size_t dpos, dlen;
	char err[160];   /* the armor error, once one happened */
};

/* armor: 1 armored, 0 binary, -1 decide from the first bytes (armored
 * unless it starts with "age-encryption.org/"). */
int age_src_init(struct age_src *s, int fd, int armor);
void age_src_free(struct age_src *s);
/* Up to n bytes; fewer only at the end. Returns the count or -1 (err set:
 * a read error, or "armor: ..."). */
ssize_t age_src_read(struct age_src *s, void *buf, size_t n, char *err, size_t errlen);
/* Fills the n buffers in order, as age_src_read would one after the other,
 * but binary input goes straight from the descriptor into them with readv:
 * one system call for a whole batch of chunks, no copy through dec[]. */
ssize_t age_src_readv(struct age_src *s, const struct iovec *iov, int n, char *err,
		      size_t errlen);
/* 1 at the end of the (decoded) input, 0 if more follows, -1 on error. */
int age_src_at_end(struct age_src *s, char *err, size_t errlen);
/* For reading at offsets (pread): 1 when s is binary input from a regular
 * file that holds the size it states, *pos then the file offset of the next
 * byte s would hand out and *end the file's size; 0 when it is not (armor,
 * a pipe, a tty, a /proc or sysfs file); -1 on error. age_src_file_done(s, end) marks it read up to end. */
int age_src_file(struct age_src *s, off_t *pos, off_t *end, char *err, size_t errlen);
int age_src_file_done(struct age_src *s, off_t end);

struct age_sink {
	int fd;
	int armor;
	uint8_t *buf;
	size_t len;
	uint8_t rem[3];  /* armor: bytes short of a base64 group */
	size_t nrem;
	size_t col;      /* armor: columns in the current line */
	const char *name; /* for errors: what fd is (set after init; NULL "write") */
	int writeback;   /* start writeback of what was written (see below) */
	off_t wb_from;   /* written bytes not yet handed to writeback */
	off_t wb_off;    /* bytes written to fd so far */
};

int age_sink_init(struct age_sink *k, int fd, int armor);
int age_sink_write(struct age_sink *k, const void *buf, size_t n);
/* The n buffers in order; binary output in one writev per call. */
int age_sink_writev(struct age_sink *k, const struct iovec *iov, int n);
/* For a regular file that will be fsynced before it is used: start the
 * disk writes of every few MiB as they are written, so the final fsync
 * waits for the tail only, not for the whole file. */
void age_sink_writeback(struct age_sink *k);
/* For writing at offsets (pwrite): 1 when k is binary output to a regular
 * file not opened O_APPEND (where pwrite would append), after writing out
 * what k buffered; *pos is then where the next byte goes. 0 when it is not,
 * -1 on a write error. age_sink_file_done(k, end): bytes up to end were
 * written at offsets; the descriptor's offset moves there. */
int age_sink_file(struct age_sink *k, off_t *pos);
int age_sink_file_done(struct age_sink *k, off_t end);
/* Writes what is buffered and the armor's end line. */
int age_sink_finish(struct age_sink *k);
void age_sink_free(struct age_sink *k);

#endif
