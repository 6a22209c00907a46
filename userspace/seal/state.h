/* seal state and the kms recipient type's client flags (docs/state.md,
 * docs/age.md "kms"). Internal to seal. */
#ifndef NEK_SEAL_STATE_H
#define NEK_SEAL_STATE_H

#include <stddef.h>

#include "lib/secrets/age.h"
#include "lib/secrets/age_io.h"
#include "lib/secrets/age_kms.h"
#include "lib/secrets/kms_creds.h"

#define STATE_ERRLEN 512

/* The KMS client flags as given (NULL: not given). */
struct kms_flags {
	const char *endpoint, *region, *profile, *ca_file, *nsm;
};

/* A client from flags, the environment and the credentials (kept in creds,
 * which must outlive c; kms_creds_free it). 0, or -1 and err. */
int kms_flags_client(const struct kms_flags *f, struct age_kms_client *c, struct kms_creds *creds,
		     char *err, size_t errlen);

/* Whether any of the n recipients is of type kms. */
int kms_any_recipient(const struct age_recipient *r, size_t n);

/* seal encrypt/decrypt: binds every kms recipient to c. */
int kms_bind_recipients(struct age_recipient *r, size_t n, const struct age_kms_client *c,
			char *err, size_t errlen);

/* s3://BUCKET/KEY objects (state_s3.c). */
struct s3_flags {
	const char *endpoint, *region, *ca_file;
};

struct state_s3 {
	char bucket[64];
	char key[1024];
};

int state_s3_parse(const char *url, struct state_s3 *o, char *err, size_t errlen);
/* An anonymous temporary (O_TMPFILE in $TMPDIR): a descriptor, or -1/err. */
int state_spool(char *err, size_t errlen);
/* The whole of fd (from its start) as the object; the object into fd and
 * fd back to its start. */
int state_s3_put(const struct state_s3 *o, const struct s3_flags *f, const struct kms_creds *creds,
		 int fd, char *err, size_t errlen);
int state_s3_get(const struct state_s3 *o, const struct s3_flags *f, const struct kms_creds *creds,
		 int fd, char *err, size_t errlen);

/* seal decrypt's header reader (cmd.c): reads and parses the header from
 * src, leaving the payload in src. */
int seal_read_header(struct age_src *src, struct age_header *h, char *err, size_t errlen);

/* The tree below dirfd as a pax stream into fd (docs/state.md). */
int state_tar_write(int dirfd, int fd, char *err, size_t errlen);
/* A pax stream from fd extracted below destfd (read to its end, even on an
 * error). Changes the working directory meanwhile, so the caller's other
 * threads must not use relative paths. */
int state_tar_extract(int fd, int destfd, char *err, size_t errlen);

#endif
