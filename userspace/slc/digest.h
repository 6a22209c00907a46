/* Per-file digests: XXH3-128 by default (fast enough not to limit a
 * transfer: the AEAD already authenticates every byte in secure mode, the
 * digest checks what was read against what was written), SHA-256 on request. */
#ifndef SLC_DIGEST_H
#define SLC_DIGEST_H

#include <stddef.h>
#include <stdint.h>

#include "slc/proto.h"

struct slc_digest {
	int alg;
	void *state;
	uint64_t run_off, run_end; /* the run of file data being hashed */
};

int slc_digest_init(struct slc_digest *d, int alg);
/* Raw bytes (not a file's: those go through slc_digest_data). */
void slc_digest_update(struct slc_digest *d, const void *p, size_t len);
/* A file's digest (docs/slc-protocol.md §7.3) covers its data at the
 * offsets it was sent at (increasing) and its size, never the holes
 * between: what it costs is bounded by the bytes that exist. */
void slc_digest_data(struct slc_digest *d, uint64_t off, const void *p, size_t len);
/* Ends a file of the given size: writes its digest, returns the length. */
size_t slc_digest_end(struct slc_digest *d, uint64_t size, uint8_t out[SLC_DIGEST_MAX]);
/* Feeds len bytes of file fd from off as file data, read with pread into a scratch
 * buffer (bytes that leave by sendfile, never passing through a record).
 * Returns 0, or -errno (a short file is -ENODATA). */
int slc_digest_file(struct slc_digest *d, int fd, uint64_t off, uint64_t len);
/* Writes the digest and returns its length; the state is freed. */
size_t slc_digest_final(struct slc_digest *d, uint8_t out[SLC_DIGEST_MAX]);
void slc_digest_free(struct slc_digest *d);
const char *slc_digest_name(int alg);

#endif
