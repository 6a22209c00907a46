/* Per-file digests; see digest.h. */
#include "slc/digest.h"

#include <errno.h>
#include <stdlib.h>
#include <unistd.h>
#include <string.h>

#include <openssl/evp.h>
#include <xxhash.h>

#include "lib/core/wire.h"

int slc_digest_init(struct slc_digest *d, int alg)
{
	d->alg = alg;
	d->run_off = d->run_end = 0;
	if (alg == SLC_DG_SHA256) {
		d->state = EVP_MD_CTX_new();
		if (d->state && EVP_DigestInit_ex(d->state, EVP_sha256(), NULL) == 1)
			return 0;
	} else if (alg == SLC_DG_XXH128) {
		d->state = XXH3_createState();
		if (d->state && XXH3_128bits_reset(d->state) == XXH_OK)
			return 0;
	}
	slc_digest_free(d);
	return -1;
}

void slc_digest_update(struct slc_digest *d, const void *p, size_t len)
{
	if (!len)
		return;
	if (d->alg == SLC_DG_SHA256)
		EVP_DigestUpdate(d->state, p, len);
	else
		XXH3_128bits_update(d->state, p, len);
}

int slc_digest_file(struct slc_digest *d, int fd, uint64_t off, uint64_t len)
{
	/* One scratch buffer for the process: the loop is single-threaded and
	 * the bytes are hashed before it is reused. 256 KiB: a record's worth,
	 * still in the cache when hashed. */
	static uint8_t buf[SLC_REC_MAX];
	ssize_t r;

	while (len) {
		r = pread(fd, buf, len < sizeof(buf) ? (size_t)len : sizeof(buf), (off_t)off);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return r < 0 ? -errno : -ENODATA;
		slc_digest_data(d, off, buf, (size_t)r);
		off += (uint64_t)r;
		len -= (uint64_t)r;
	}
	return 0;
}

/* Ends the current run of contiguous data with its place in the file: the
 * digest input (each run's bytes, then its offset and length; at the end the
 * file's size) decodes from the end in one way only, so a hole cannot pass
 * for data, and a hole is never hashed: no size claim costs any work. */
static void close_run(struct slc_digest *d)
{
	uint8_t t[16];

	if (d->run_end == d->run_off)
		return;
	wire_put64(t, d->run_off);
	wire_put64(t + 8, d->run_end - d->run_off);
	slc_digest_update(d, t, sizeof(t));
}

void slc_digest_data(struct slc_digest *d, uint64_t off, const void *p, size_t len)
{
	if (!len)
		return;
	if (off != d->run_end) {
		close_run(d);
		d->run_off = off;
	}
	slc_digest_update(d, p, len);
	d->run_end = off + len;
}

size_t slc_digest_end(struct slc_digest *d, uint64_t size, uint8_t out[SLC_DIGEST_MAX])
{
	uint8_t t[8];

	close_run(d);
	wire_put64(t, size);
	slc_digest_update(d, t, sizeof(t));
	return slc_digest_final(d, out);
}

size_t slc_digest_final(struct slc_digest *d, uint8_t out[SLC_DIGEST_MAX])
{
	size_t n = 0;

	if (d->alg == SLC_DG_SHA256) {
		unsigned len = 0;

		if (EVP_DigestFinal_ex(d->state, out, &len) == 1)
			n = len;
	} else if (d->state) {
		XXH128_canonical_t c;

		XXH128_canonicalFromHash(&c, XXH3_128bits_digest(d->state));
		memcpy(out, c.digest, sizeof(c.digest));
		n = sizeof(c.digest);
	}
	slc_digest_free(d);
	return n;
}

void slc_digest_free(struct slc_digest *d)
{
	if (!d->state)
		return;
	if (d->alg == SLC_DG_SHA256)
		EVP_MD_CTX_free(d->state);
	else
		XXH3_freeState(d->state);
	d->state = NULL;
}

const char *slc_digest_name(int alg)
{
	return alg == SLC_DG_SHA256 ? "sha256" : "xxh3-128";
}
