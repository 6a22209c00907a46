/* seal s3 (docs/s3.md): the age stages that run beside a transfer, on a
 * thread joined by a socket pair, so content is sealed before it leaves
 * and written out only once every chunk opened. */
#ifndef NEK_SEAL_S3_H
#define NEK_SEAL_S3_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/secrets/age.h"

#define S3_AGE_MAX_KEYS 64
#define S3_AGE_ERR 512

struct s3_age {
	struct age_recipient r[S3_AGE_MAX_KEYS];
	struct age_identity id[S3_AGE_MAX_KEYS];
	size_t nr, nid;
	int in_fd, out_fd; /* the stage reads in_fd, writes out_fd */
	pthread_t th;
	int running;
	int rc;
	char err[S3_AGE_ERR];
	/* The header and its file key, drawn before the stage starts when the
	 * upload needs the sealed length up front (s3_age_prepare). */
	uint8_t fk[AGE_FILE_KEY_LEN];
	uint8_t *hdr;
	size_t hlen;
	int prepared;
};

/* An age1... recipient; an identity file (one per line, '#' comments). 0,
 * or -1 and err naming the input. */
int s3_age_add_recipient(struct s3_age *a, const char *s, char *err, size_t errlen);
int s3_age_add_identity_file(struct s3_age *a, const char *path, char *err, size_t errlen);

/* Draws the file key and builds the header now (the stage then writes
 * that header), so the sealed length is known before anything is sent.
 * 0, or -1 and err. */
int s3_age_prepare(struct s3_age *a, char *err, size_t errlen);
/* The exact length of the age file of size plaintext bytes under the
 * prepared header: header + 16-byte nonce + size + 16 per 64 KiB chunk
 * (one chunk for an empty input). */
uint64_t s3_age_sealed_length(const struct s3_age *a, uint64_t size);

/* Starts encrypting in_fd to out_fd, or decrypting. The stage closes
 * out_fd when done, and in_fd too when decrypting (also when the start
 * fails). 0 or -1 (err). */
int s3_age_start(struct s3_age *a, int decrypt, int in_fd, int out_fd, char *err, size_t errlen);
/* Waits for the stage: 0 when it finished cleanly, -1 with a->err. */
int s3_age_join(struct s3_age *a);
void s3_age_free(struct s3_age *a);

#endif
