/* The S3 client (docs/s3.md): path-style requests signed with our SigV4
 * (service "s3", x-amz-content-sha256 = the body's SHA-256), libcurl as the
 * transport, streaming multipart upload with parts in flight on worker
 * threads, retries with backoff, AbortMultipartUpload on failure, ranged
 * GETs, and S3's XML errors as one line naming the key.
 *
 * This API is stable: other code (seal s3, seal state) calls it; changes are
 * additive only. Every call returns 0 on success, -1 with a one-line error in
 * err ("s3 put b/k: HTTP 403 SignatureDoesNotMatch: ..."), or S3_NOT_FOUND
 * (also with err) where a missing key is an answer rather than a fault. */
#ifndef NEK_SECRETS_S3_CLIENT_H
#define NEK_SECRETS_S3_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#include "lib/secrets/kms_creds.h"
#include "lib/secrets/s3_xml.h"

#define S3_NOT_FOUND (-2)

#define S3_PART_DEFAULT (8u << 20)
#define S3_PART_MIN (4u << 10)        /* real S3 wants 5 MiB but for the last part */
#define S3_PART_MAX (5ull << 30)
#define S3_MAX_PARTS 10000
#define S3_PARALLEL_DEFAULT 4
#define S3_PARALLEL_MAX 32
#define S3_RETRIES_DEFAULT 4
#define S3_RETRIES_MAX 20

/* s3_conf.flags */
#define S3_UNSIGNED_PAYLOAD 1u /* send x-amz-content-sha256: UNSIGNED-PAYLOAD (opt-in only) */
#define S3_MULTIPART 2u        /* put: never the streamed single PUT */

#define S3_SINGLE_MAX (5ull << 30) /* S3's largest single PUT */
#define S3_STREAM_CHUNK (256u << 10) /* aws-chunked chunk of the streamed PUT */

struct s3_conf {
	const char *endpoint;  /* "http://127.0.0.1:9000" or "https://s3.REGION.amazonaws.com";
				  http only for loopback hosts */
	const char *bucket;
	const char *region;    /* NULL: us-east-1 */
	const struct kms_creds *creds; /* as kms_creds_load fills it */
	const char *ca_file;   /* NULL: the system's CAs */
	uint64_t part_size;    /* 0: S3_PART_DEFAULT; S3_PART_MIN..S3_PART_MAX */
	unsigned parallel;     /* parts in flight; 0: S3_PARALLEL_DEFAULT; at most S3_PARALLEL_MAX */
	int retries;           /* more tries per request on 5xx, throttling, transport; <0: default */
	long timeout_ms;       /* per request attempt; 0: none (a 5 GiB part takes a while) */
	unsigned flags;        /* S3_UNSIGNED_PAYLOAD */
	const char *content_type; /* put: Content-Type, NULL: none sent */
	const char *meta_content; /* put: x-amz-meta-nek-content (a hint, e.g. "age"), or NULL */
	/* Called from the calling thread as bytes go out or come in; total 0
	 * when unknown. NULL: none. */
	void (*progress)(void *arg, uint64_t done, uint64_t total);
	void *progress_arg;
	/* put: called once the input reached EOF, before the object is made
	 * visible (the single PUT, or the complete); non-zero (with err) fails
	 * the put and aborts the upload. So a producer of fd (an encrypting
	 * thread) that failed cannot leave a truncated object. NULL: none. */
	int (*input_check)(void *arg, char *err, size_t errlen);
	void *input_arg;
	/* put: the exact number of bytes fd will give when the caller knows it
	 * (a sealed regular file's); length_known 0: a regular file's size is
	 * found from fd, anything else is of unknown length. */
	int length_known;
	uint64_t length;
	uint64_t single_max; /* put: longest streamed single PUT; 0: S3_SINGLE_MAX */
};

/* A byte range of a GET, as HTTP spells it: A-B, A- (to the end), -N (the
 * last N bytes). */
enum s3_range_kind { S3_RANGE_NONE, S3_RANGE_FROM_TO, S3_RANGE_FROM, S3_RANGE_SUFFIX };

struct s3_range {
	enum s3_range_kind kind;
	uint64_t first, last; /* SUFFIX: last is N */
};

/* "A-B", "A-", "-N" into r; 0, or -1 and err naming s. */
int s3_range_parse(const char *s, struct s3_range *r, char *err, size_t errlen);

struct s3_object_info {
	uint64_t size;
	char etag[80];
	char last_modified[64];
	char content_type[128];
	char meta_content[64]; /* x-amz-meta-nek-content, "" when absent */
};

/* Uploads everything read from fd (until EOF) as key. Of a known length
 * (a regular file's, or length_known) up to single_max, and without
 * S3_MULTIPART: one PUT streamed from fd with chunk-signed payload; fd
 * must give exactly that many bytes, and input_check must pass, before
 * the request completes (else it is aborted and nothing is stored).
 * Otherwise an input of at most one part goes in one PUT; anything else
 * (larger, a pipe, a socket) as a multipart upload read in order, one
 * part per buffer, up to parallel parts in flight. On any failure after the upload was started it
 * is aborted; err says whether the abort succeeded and names the upload
 * ID when not. Memory: parallel x part_size. fd is not closed. */
int s3_put_fd(const struct s3_conf *c, const char *key, int fd, char *err, size_t errlen);

/* Writes the object (or range r; NULL or S3_RANGE_NONE: all of it) to fd.
 * info (may be NULL) gets its headers. A range answered with anything but
 * 206 is an error. S3_NOT_FOUND for a missing key. fd is not closed; on
 * failure part of the body may have been written: callers that must not
 * show a part write to an outfile they abort. */
int s3_get_fd(const struct s3_conf *c, const char *key, int fd, const struct s3_range *r,
	      struct s3_object_info *info, char *err, size_t errlen);

/* HEAD: 0 and info, S3_NOT_FOUND, or -1. */
int s3_head(const struct s3_conf *c, const char *key, struct s3_object_info *info, char *err,
	    size_t errlen);

/* DELETE: 0 also for a missing key (S3 answers 204 either way). */
int s3_delete(const struct s3_conf *c, const char *key, char *err, size_t errlen);

/* ListObjectsV2 of prefix (NULL: all), following continuation tokens:
 * entry() for each object in key order; its non-zero return stops the
 * listing and is returned. */
int s3_list(const struct s3_conf *c, const char *prefix,
	    int (*entry)(void *arg, const struct s3_list_entry *e), void *arg, char *err,
	    size_t errlen);

#endif
