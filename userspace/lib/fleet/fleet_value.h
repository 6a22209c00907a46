/* The values of the record buckets (docs/fleet.md section 3) as JSON text,
 * and reading a value's seq back. */
#ifndef NEK_FLEET_VALUE_H
#define NEK_FLEET_VALUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* One version or one stored document of one enclave. */
struct fleet_record {
	const char *module_id, *pcr0_hex;
	uint64_t seq;
	const char *path;
	size_t plen;
	const char *from; /* NULL unless a rename */
	size_t flen;
	bool present;
	const char *cause, *scheme; /* scheme NULL when deleted */
	const uint8_t *digest;
	size_t dlen;
	uint64_t size;
	int64_t mtime_ns, time_ms;
	const uint8_t *doc; /* documents only */
	size_t doc_len;
};

/* The version value / document value as new NUL-terminated text (free()
 * it), or NULL when memory runs out. */
char *fleet_version_json(const struct fleet_record *r, size_t *len);
char *fleet_doc_json(const struct fleet_record *r, size_t *len);
/* The compat view's fs_att_docs value. */
char *fleet_compat_doc_json(const struct fleet_record *r, size_t *len);

/* The "seq" member of a value: 0 and *seq set, or -1 when the value is not a
 * JSON object with an unsigned integer seq. */
int fleet_value_seq(const void *val, size_t len, uint64_t *seq);

#endif
