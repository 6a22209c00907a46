/* The streamed single PUT (internal to s3_put*.c; docs/s3.md, "put"). */
#ifndef NEK_SECRETS_S3_STREAM_H
#define NEK_SECRETS_S3_STREAM_H

#include <stddef.h>
#include <stdint.h>

#include "lib/secrets/s3_http.h"

/* PUTs exactly length bytes of fd as key in one request: aws-chunked with
 * chained chunk signatures (plain with S3_UNSIGNED_PAYLOAD). The last
 * bytes go only once fd is at EOF and c->input_check passed; otherwise
 * the transfer is aborted. 0, or -1 and err. */
int s3_put_streamed(const struct s3_conf *c, const struct s3_ep *ep, const char *key, int fd,
		    uint64_t length, char *err, size_t errlen);

#endif
