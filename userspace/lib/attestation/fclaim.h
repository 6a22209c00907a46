/* The claim attestd puts in an attestation document's user_data
 * (docs/attestd.md section 5): a CBOR map with fixed keys in a fixed order,
 * at most ATT_FIELD_MAX (1024) bytes by construction.
 *
 *   FileClaim   {"v": 1, "kind": "file", "path": bstr (<= 512) |
 *                "path_sha256": bstr 32, "state": "present"|"deleted",
 *                "scheme": tstr, "digest": bstr|null, "size": uint,
 *                "mtime_ns": int, "ino": uint, "gen": uint, "seq": uint,
 *                "time_ms": uint}
 *   ServerClaim {"v": 1, "kind": "server", "time_ms": uint}
 *
 * The decoder is strict (every key, in order, with its type; nothing after
 * the map): the client trusts these bytes only after the document's
 * signature checked out, and then must read exactly what was signed.
 */
#ifndef NEK_FCLAIM_H
#define NEK_FCLAIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/digest/fdigest.h"

#define FCLAIM_VERSION 1
#define FCLAIM_PATH_INLINE_MAX 512 /* longer paths are bound by SHA-256 */
#define FCLAIM_MAX 1024

enum fclaim_kind {
	FCLAIM_FILE = 1,
	FCLAIM_SERVER = 2,
};

struct fclaim {
	enum fclaim_kind kind;
	/* FILE: the path (pointing into the caller's or the decoded buffer),
	 * or only its SHA-256 when path_hashed. */
	const uint8_t *path;
	size_t path_len;
	bool path_hashed;
	uint8_t path_sha256[32];
	bool present;
	enum fdig_alg alg;	      /* present only */
	uint8_t digest[FDIG_DIGEST_MAX]; /* present only */
	uint64_t size, ino, gen, seq;
	int64_t mtime_ns;
	uint64_t time_ms;
};

/* Encodes c; a path longer than FCLAIM_PATH_INLINE_MAX is replaced by its
 * SHA-256. Returns 0 and the length, or -1 (EINVAL, ENOBUFS). */
int fclaim_encode(const struct fclaim *c, uint8_t *out, size_t cap, size_t *len);
/* Decodes buf strictly; c->path points into buf. Returns 0, or -1 with a
 * one-line reason in err. */
int fclaim_decode(const uint8_t *buf, size_t len, struct fclaim *c, char *err, size_t errlen);
/* Whether the claim names this path (directly or by its SHA-256). */
bool fclaim_names_path(const struct fclaim *c, const char *path, size_t len);

#endif
