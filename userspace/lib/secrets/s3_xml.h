/* A small strict reader of the XML S3 answers with (docs/s3.md, "The XML
 * reader"): bounded in size, depth and text; no DTD, CDATA or processing
 * instructions. And the four answers nek reads, on top of it. */
#ifndef NEK_SECRETS_S3_XML_H
#define NEK_SECRETS_S3_XML_H

#include <stddef.h>
#include <stdint.h>

#define S3_XML_MAX (1u << 20)
#define S3_XML_MAX_DEPTH 8
#define S3_XML_MAX_TEXT 4096
#define S3_XML_MAX_NAME 64
#define S3_XML_MAX_ELEMENTS 100000

/* Called for each leaf element with its path from the root
 * ("ListBucketResult/Contents/Key") and its decoded text (NUL-terminated),
 * and at the end of each element with children with text NULL. A non-zero
 * return stops the parse with that value. */
typedef int (*s3_xml_cb)(void *arg, const char *path, const char *text, size_t len);

/* 0, the callback's non-zero value, or -1 with err on malformed input. */
int s3_xml_parse(const char *buf, size_t len, s3_xml_cb cb, void *arg, char *err, size_t errlen);

struct s3_xml_error {
	char code[64];
	char message[256];
};

/* 1 when buf is an <Error> document (code and message filled, "" when
 * absent), 0 when it is well-formed but another document, -1 when it is
 * not XML we read. */
int s3_xml_error(const char *buf, size_t len, struct s3_xml_error *e);

/* InitiateMultipartUploadResult/UploadId into id (cap bytes). */
int s3_xml_upload_id(const char *buf, size_t len, char *id, size_t cap, char *err, size_t errlen);

/* 0 when buf is a CompleteMultipartUploadResult. */
int s3_xml_complete_ok(const char *buf, size_t len, char *err, size_t errlen);

#define S3_MAX_KEY 1024

struct s3_list_entry {
	char key[S3_MAX_KEY + 1];
	uint64_t size;
	char etag[80];
	char modified[40];
};

struct s3_list_page {
	int truncated;
	char next[S3_MAX_KEY + 1];
	size_t count;
};

/* A ListObjectsV2 page: entry() for each Contents (in order; a non-zero
 * return stops), the truncation flag and the next token in page. */
int s3_xml_list(const char *buf, size_t len,
		int (*entry)(void *arg, const struct s3_list_entry *e), void *arg,
		struct s3_list_page *page, char *err, size_t errlen);

#endif
