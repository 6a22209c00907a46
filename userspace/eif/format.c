/* EIF header encoding and the strict reader; see docs/eif.md. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "eif/eif.h"
#include "lib/core/errfmt.h"
#include "lib/core/fdio.h"
#include "lib/core/wire.h"

#define CHUNK (1u << 20)

void eif_header_encode(const struct eif_header *h, uint8_t out[EIF_HDR_LEN])
{
	unsigned i;

	memcpy(out, EIF_MAGIC, 4);
	wire_put16(out + 0x04, h->version);
	wire_put16(out + 0x06, h->flags);
	wire_put64(out + 0x08, h->default_mem);
	wire_put64(out + 0x10, h->default_cpus);
	wire_put16(out + 0x18, h->reserved);
	wire_put16(out + 0x1a, h->num_sections);
	for (i = 0; i < EIF_MAX_SECTIONS; i++) {
		wire_put64(out + 0x1c + 8 * i, h->offsets[i]);
		wire_put64(out + 0x11c + 8 * i, h->sizes[i]);
	}
	wire_put32(out + 0x21c, h->unused);
	wire_put32(out + EIF_CRC_OFF, h->crc);
}

void eif_header_decode(const uint8_t in[EIF_HDR_LEN], struct eif_header *h)
{
	unsigned i;

	h->version = wire_get16(in + 0x04);
	h->flags = wire_get16(in + 0x06);
	h->default_mem = wire_get64(in + 0x08);
	h->default_cpus = wire_get64(in + 0x10);
	h->reserved = wire_get16(in + 0x18);
	h->num_sections = wire_get16(in + 0x1a);
	for (i = 0; i < EIF_MAX_SECTIONS; i++) {
		h->offsets[i] = wire_get64(in + 0x1c + 8 * i);
		h->sizes[i] = wire_get64(in + 0x11c + 8 * i);
	}
	h->unused = wire_get32(in + 0x21c);
	h->crc = wire_get32(in + EIF_CRC_OFF);
}

void eif_sec_header_encode(uint16_t type, uint64_t size, uint8_t out[EIF_SEC_HDR_LEN])
{
	wire_put16(out, type);
	wire_put16(out + 2, 0);
	wire_put64(out + 4, size);
}

const char *eif_sec_name(unsigned type)
{
	static const char *const names[] = { "invalid", "kernel", "cmdline", "ramdisk",
					     "signature", "metadata" };

	return type < sizeof(names) / sizeof(names[0]) ? names[type] : "unknown";
}

/* ---------------------------------------------------------------- sources */
static int fd_read_at(void *ctx, void *buf, size_t len, uint64_t off, char *err, size_t errlen)
{
	int fd = *(int *)ctx;

	while (len) {
		ssize_t r = pread(fd, buf, len, (off_t)off);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return errfmt(err, errlen, "read at %llu: %s", (unsigned long long)off,
				    strerror(errno));
		if (r == 0)
			return errfmt(err, errlen, "unexpected end of file at %llu",
				    (unsigned long long)off);
		buf = (char *)buf + r;
		len -= (size_t)r;
		off += (uint64_t)r;
	}
	return 0;
}

static int mem_read_at(void *ctx, void *buf, size_t len, uint64_t off, char *err, size_t errlen)
{
	const uint8_t **b = ctx;

	/* read_at() has checked the range against the eif_src's size. */
	memcpy(buf, *b + off, len);
	(void)err;
	(void)errlen;
	return 0;
}

void eif_src_fd(struct eif_src *src, int *fd, uint64_t size)
{
	src->read_at = fd_read_at;
	src->ctx = fd;
	src->size = size;
}

void eif_src_mem(struct eif_src *src, const uint8_t **buf, size_t size)
{
	src->read_at = mem_read_at;
	src->ctx = buf;
	src->size = size;
}

/* Every read goes through here so a source never sees an out-of-range
 * request, whatever the image claims. */
static int read_at(const struct eif_src *src, void *buf, size_t len, uint64_t off, char *err,
		   size_t errlen)
{
	if (off > src->size || len > src->size - off)
		return errfmt(err, errlen, "read of %zu bytes at %llu is past the end (%llu bytes)",
			    len, (unsigned long long)off, (unsigned long long)src->size);
	return src->read_at(src->ctx, buf, len, off, err, errlen);
}

/* ---------------------------------------------------------------- reader */
static int check_counts(const struct eif_image *img, unsigned counts[6], char *err,
			size_t errlen)
{
	unsigned v = img->hdr.version;

	if (counts[EIF_SEC_KERNEL] != 1)
		return errfmt(err, errlen, "%u kernel sections (exactly 1 wanted)",
			    counts[EIF_SEC_KERNEL]);
	if (counts[EIF_SEC_CMDLINE] != 1)
		return errfmt(err, errlen, "%u cmdline sections (exactly 1 wanted)",
			    counts[EIF_SEC_CMDLINE]);
	if (counts[EIF_SEC_RAMDISK] < 1)
		return errfmt(err, errlen, "no ramdisk section");
	if (counts[EIF_SEC_SIGNATURE] > (v >= 3 ? 1u : 0u))
		return errfmt(err, errlen, "%u signature sections in a version %u image",
			    counts[EIF_SEC_SIGNATURE], v);
	if (counts[EIF_SEC_METADATA] != (v >= 4 ? 1u : 0u))
		return errfmt(err, errlen, "%u metadata sections in a version %u image",
			    counts[EIF_SEC_METADATA], v);
	return 0;
}

static int check_size(const struct eif_sec *s, unsigned i, char *err, size_t errlen)
{
	uint64_t max = UINT64_MAX;

	if (s->type == EIF_SEC_CMDLINE)
		max = EIF_CMDLINE_MAX;
	else if (s->type == EIF_SEC_METADATA)
		max = EIF_META_MAX;
	else if (s->type == EIF_SEC_SIGNATURE)
		max = EIF_SIG_MAX;
	if (s->size > max)
		return errfmt(err, errlen, "section %u (%s): %llu bytes, more than the %llu allowed", i,
			    eif_sec_name(s->type), (unsigned long long)s->size,
			    (unsigned long long)max);
	return 0;
}

static int read_sec(const struct eif_src *src, struct eif_image *img, unsigned i,
		    uint64_t prev_end, char *err, size_t errlen)
{
	const struct eif_header *h = &img->hdr;
	struct eif_sec *s = &img->sec[i];
	uint8_t sh[EIF_SEC_HDR_LEN];
	uint64_t off = h->offsets[i], size = h->sizes[i];

	if (off < prev_end)
		return errfmt(err, errlen, "section %u at %llu overlaps what precedes it (ends at %llu)",
			    i, (unsigned long long)off, (unsigned long long)prev_end);
	if (off > src->size || src->size - off < EIF_SEC_HDR_LEN ||
	    size > src->size - off - EIF_SEC_HDR_LEN)
		return errfmt(err, errlen, "section %u (%llu bytes at %llu) is past the end of the file",
			    i, (unsigned long long)size, (unsigned long long)off);
	if (read_at(src, sh, sizeof(sh), off, err, errlen) < 0)
		return -1;
	s->type = wire_get16(sh);
	s->flags = wire_get16(sh + 2);
	s->size = wire_get64(sh + 4);
	s->off = off;
	if (s->size != size)
		return errfmt(err, errlen, "section %u: header says %llu bytes, table says %llu", i,
			    (unsigned long long)s->size, (unsigned long long)size);
	if (s->type == EIF_SEC_INVALID || s->type > EIF_SEC_METADATA)
		return errfmt(err, errlen, "section %u: unknown type %u", i, s->type);
	if ((s->type == EIF_SEC_SIGNATURE && h->version < 3) ||
	    (s->type == EIF_SEC_METADATA && h->version < 4))
		return errfmt(err, errlen, "section %u: %s section in a version %u image", i,
			    eif_sec_name(s->type), h->version);
	if (s->flags)
		return errfmt(err, errlen, "section %u: flags 0x%x (must be 0)", i, s->flags);
	return check_size(s, i, err, errlen);
}

static int check_header(const struct eif_src *src, struct eif_image *img, uint8_t *raw,
			char *err, size_t errlen)
{
	const struct eif_header *h = &img->hdr;
	unsigned i;

	if (src->size < EIF_HDR_LEN)
		return errfmt(err, errlen, "%llu bytes: too short for an EIF header (%d)",
			    (unsigned long long)src->size, EIF_HDR_LEN);
	if (read_at(src, raw, EIF_HDR_LEN, 0, err, errlen) < 0)
		return -1;
	if (memcmp(raw, EIF_MAGIC, 4) != 0)
		return errfmt(err, errlen, "not an EIF (bad magic)");
	eif_header_decode(raw, &img->hdr);
	if (h->version < 2 || h->version > EIF_VERSION)
		return errfmt(err, errlen, "unsupported EIF version %u (2 to %d are known)",
			    h->version, EIF_VERSION);
	if (h->num_sections < 1 || h->num_sections > EIF_MAX_SECTIONS)
		return errfmt(err, errlen, "%u sections (1 to %d allowed)", h->num_sections,
			    EIF_MAX_SECTIONS);
	for (i = h->num_sections; i < EIF_MAX_SECTIONS; i++)
		if (h->offsets[i] || h->sizes[i])
			return errfmt(err, errlen, "unused section slot %u is not zero", i);
	return 0;
}

int eif_open(const struct eif_src *src, struct eif_image *img, char *err, size_t errlen)
{
	uint8_t raw[EIF_HDR_LEN];
	unsigned counts[6] = { 0 }, i;
	uint64_t end = EIF_HDR_LEN, kernel_off = 0;

	memset(img, 0, sizeof(*img));
	img->kernel = img->cmdline = img->metadata = img->signature = -1;
	if (check_header(src, img, raw, err, errlen) < 0)
		return -1;
	img->nsec = img->hdr.num_sections;
	for (i = 0; i < img->nsec; i++) {
		struct eif_sec *s = &img->sec[i];

		if (read_sec(src, img, i, end, err, errlen) < 0)
			return -1;
		end = s->off + EIF_SEC_HDR_LEN + s->size;
		counts[s->type]++;
		if (s->type == EIF_SEC_KERNEL) {
			img->kernel = (int)i;
			kernel_off = s->off;
		} else if (s->type == EIF_SEC_CMDLINE) {
			img->cmdline = (int)i;
		} else if (s->type == EIF_SEC_METADATA) {
			img->metadata = (int)i;
		} else if (s->type == EIF_SEC_SIGNATURE) {
			img->signature = (int)i;
		} else if (s->type == EIF_SEC_RAMDISK) {
			if (img->kernel < 0 || s->off < kernel_off)
				return errfmt(err, errlen, "ramdisk section %u precedes the kernel", i);
			img->nramdisks++;
		}
	}
	return check_counts(img, counts, err, errlen);
}

/* ---------------------------------------------------------------- measuring */
struct meas {
	struct pcr_hash *h[3];
	uint32_t crc;
	uint8_t *buf;
};

/* Which of PCR0/1/2 (bits 0/1/2) a section extends. */
static int pcr_mask(const struct eif_sec *s, unsigned ramdisk_idx)
{
	if (s->type == EIF_SEC_KERNEL || s->type == EIF_SEC_CMDLINE)
		return 1 | 2;
	if (s->type == EIF_SEC_RAMDISK)
		return ramdisk_idx == 0 ? 1 | 2 : 1 | 4;
	return 0;
}

static int measure_sec(const struct eif_src *src, struct meas *m, const struct eif_sec *s,
		       unsigned ramdisk_idx, char *err, size_t errlen)
{
	uint8_t sh[EIF_SEC_HDR_LEN];
	uint64_t left = s->size, off = s->off + EIF_SEC_HDR_LEN;
	int mask = pcr_mask(s, ramdisk_idx), k;

	if (read_at(src, sh, sizeof(sh), s->off, err, errlen) < 0)
		return -1;
	m->crc = (uint32_t)crc32(m->crc, sh, sizeof(sh));
	while (left) {
		size_t n = left < CHUNK ? (size_t)left : CHUNK;

		if (read_at(src, m->buf, n, off, err, errlen) < 0)
			return -1;
		m->crc = (uint32_t)crc32_z(m->crc, m->buf, n);
		for (k = 0; k < 3; k++)
			if ((mask & (1 << k)) && pcr_hash_update(m->h[k], m->buf, n) < 0)
				return errfmt(err, errlen, "SHA-384 failed");
		left -= n;
		off += n;
	}
	return 0;
}

int eif_measure(const struct eif_src *src, const struct eif_image *img, uint32_t *crc,
		struct eif_pcrs *pcrs, char *err, size_t errlen)
{
	uint8_t raw[EIF_HDR_LEN];
	struct meas m = { .crc = 0 };
	unsigned i, rd = 0;
	int rc = -1, k;

	memset(pcrs, 0, sizeof(*pcrs));
	m.buf = malloc(CHUNK);
	for (k = 0; k < 3; k++)
		m.h[k] = pcr_hash_new();
	if (!m.buf || !m.h[0] || !m.h[1] || !m.h[2]) {
		errfmt(err, errlen, "out of memory");
		goto out;
	}
	if (read_at(src, raw, sizeof(raw), 0, err, errlen) < 0)
		goto out;
	m.crc = (uint32_t)crc32(0, raw, EIF_CRC_OFF);
	for (i = 0; i < img->nsec; i++) {
		if (measure_sec(src, &m, &img->sec[i], rd, err, errlen) < 0)
			goto out;
		if (img->sec[i].type == EIF_SEC_RAMDISK)
			rd++;
	}
	rc = pcr_hash_final(m.h[0], pcrs->pcr0) | pcr_hash_final(m.h[1], pcrs->pcr1) |
	     pcr_hash_final(m.h[2], pcrs->pcr2);
	m.h[0] = m.h[1] = m.h[2] = NULL;
	if (rc)
		errfmt(err, errlen, "SHA-384 failed");
	*crc = m.crc;
out:
	for (k = 0; k < 3; k++)
		pcr_hash_free(m.h[k]);
	free(m.buf);
	return rc;
}

int eif_read_section(const struct eif_src *src, const struct eif_image *img, int idx,
		     size_t max, uint8_t **out, size_t *len, char *err, size_t errlen)
{
	const struct eif_sec *s;
	uint8_t *b;

	if (idx < 0 || (unsigned)idx >= img->nsec)
		return errfmt(err, errlen, "no such section");
	s = &img->sec[idx];
	if (s->size > max)
		return errfmt(err, errlen, "%s section: %llu bytes, more than %zu", eif_sec_name(s->type),
			    (unsigned long long)s->size, max);
	b = malloc((size_t)s->size + 1);
	if (!b)
		return errfmt(err, errlen, "out of memory");
	if (read_at(src, b, (size_t)s->size, s->off + EIF_SEC_HDR_LEN, err, errlen) < 0) {
		free(b);
		return -1;
	}
	b[s->size] = '\0';
	*out = b;
	*len = (size_t)s->size;
	return 0;
}

int eif_copy_section(const struct eif_src *src, const struct eif_sec *s, int fd, char *err,
		     size_t errlen)
{
	uint64_t left = s->size, off = s->off + EIF_SEC_HDR_LEN;
	uint8_t *buf = malloc(CHUNK);
	int rc = -1;

	if (!buf)
		return errfmt(err, errlen, "out of memory");
	while (left) {
		size_t n = left < CHUNK ? (size_t)left : CHUNK;

		if (read_at(src, buf, n, off, err, errlen) < 0)
			goto out;
		if (fd_write_all(fd, buf, n) < 0) {
			errfmt(err, errlen, "write: %s", strerror(errno));
			goto out;
		}
		left -= n;
		off += n;
	}
	rc = 0;
out:
	free(buf);
	return rc;
}
