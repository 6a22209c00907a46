/* Part planning of a multipart upload (internal to s3_put*.c): pure, so
 * the unit tests check it without a server. */
#ifndef NEK_SECRETS_S3_PART_H
#define NEK_SECRETS_S3_PART_H

#include <stddef.h>
#include <stdint.h>

#include "lib/secrets/s3_client.h"

struct s3_plan {
	uint64_t part_size;
	unsigned parallel;
	unsigned slots; /* part buffers: parallel + 1, so reading overlaps sending */
};

/* The conf's part size and parallelism, defaults applied and bounds
 * checked. 0, or -1 and err naming the value. */
int s3_plan_init(const struct s3_conf *c, struct s3_plan *p, char *err, size_t errlen);

/* Whether an input of size bytes (a regular file's) needs more than
 * S3_MAX_PARTS parts of p; 0 when it fits. */
int s3_plan_too_many(const struct s3_plan *p, uint64_t size);

/* The CompleteMultipartUpload body for n parts with these ETags (1-based
 * part numbers in order); malloc'd, *len set; NULL on no memory or an ETag
 * with a character that has no place in XML text. */
char *s3_complete_xml(char (*etags)[80], unsigned n, size_t *len);

#endif
