/* Writing an EIF v4 in one pass: sections are streamed to the output while
 * the CRC and PCRs are computed, then the section headers and the file
 * header are written in place. Memory does not depend on the image size. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "eif/eif.h"
#include "eif/cpio.h"
#include "lib/core/errfmt.h"
#include "lib/core/fdio.h"
#include "lib/core/outfile.h"

#define CHUNK (1u << 20)

enum { H_PCR0 = 1, H_PCR2 = 2 };

/* Chunks at least this big are split between two threads: the caller writes
 * and extends PCR0, a helper computes the CRC and PCR2 of the same bytes at
 * the same time (later ramdisks are hashed twice: PCR0 and PCR2). */
#define PAR_MIN (64u << 10)

struct helper {
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t work, done;
	int running, busy, quit, failed;
	const void *buf;
	size_t len;
	uint32_t *crc;
	struct pcr_hash *pcr2;	/* NULL: CRC only */
};

struct writer {
	int fd;
	uint64_t off;			/* next byte to write */
	uint32_t crc_secs;		/* CRC of everything after the header */
	uint64_t secs_len;
	struct eif_header hdr;
	/* the open section */
	uint64_t sec_off, sec_len;
	uint16_t sec_type;
	uint32_t sec_crc;
	int hash_mask;
	struct pcr_hash *pcr0, *pcr1, *pcr2;
	struct helper helper;
};

static void *helper_main(void *arg)
{
	struct helper *h = arg;

	pthread_mutex_lock(&h->lock);
	for (;;) {
		while (!h->busy && !h->quit)
			pthread_cond_wait(&h->work, &h->lock);
		if (!h->busy)
			break;
		pthread_mutex_unlock(&h->lock);
		*h->crc = (uint32_t)crc32_z(*h->crc, h->buf, h->len);
		if (h->pcr2 && pcr_hash_update(h->pcr2, h->buf, h->len) < 0)
			h->failed = 1;
		pthread_mutex_lock(&h->lock);
		h->busy = 0;
		pthread_cond_signal(&h->done);
	}
	pthread_mutex_unlock(&h->lock);
	return NULL;
}

static void helper_start(struct helper *h)
{
	pthread_mutex_init(&h->lock, NULL);
	pthread_cond_init(&h->work, NULL);
	pthread_cond_init(&h->done, NULL);
	/* Without the thread everything runs inline, only slower. */
	h->running = pthread_create(&h->thread, NULL, helper_main, h) == 0;
}

static void helper_stop(struct helper *h)
{
	if (h->running) {
		pthread_mutex_lock(&h->lock);
		h->quit = 1;
		pthread_cond_signal(&h->work);
		pthread_mutex_unlock(&h->lock);
		pthread_join(h->thread, NULL);
	}
	pthread_cond_destroy(&h->done);
	pthread_cond_destroy(&h->work);
	pthread_mutex_destroy(&h->lock);
}

static void helper_post(struct helper *h, const void *buf, size_t len, uint32_t *crc,
			struct pcr_hash *pcr2)
{
	pthread_mutex_lock(&h->lock);
	h->buf = buf;
	h->len = len;
	h->crc = crc;
	h->pcr2 = pcr2;
	h->busy = 1;
	pthread_cond_signal(&h->work);
	pthread_mutex_unlock(&h->lock);
}

static int helper_wait(struct helper *h)
{
	pthread_mutex_lock(&h->lock);
	while (h->busy)
		pthread_cond_wait(&h->done, &h->lock);
	pthread_mutex_unlock(&h->lock);
	return h->failed ? -1 : 0;
}

static int write_all(int fd, const void *buf, size_t len, char *err, size_t errlen)
{
	if (fd_write_all(fd, buf, len) < 0)
		return errfmt(err, errlen, "write: %s", strerror(errno));
	return 0;
}

/* The sink every section's data goes through. */
static int put(void *ctx, const void *buf, size_t len, char *err, size_t errlen)
{
	struct writer *w = ctx;
	struct pcr_hash *pcr2 = w->hash_mask & H_PCR2 ? w->pcr2 : NULL;
	int par = w->helper.running && len >= PAR_MIN, rc;

	if (par)
		helper_post(&w->helper, buf, len, &w->sec_crc, pcr2);
	rc = write_all(w->fd, buf, len, err, errlen);
	if (rc == 0 && (w->hash_mask & H_PCR0) && pcr_hash_update(w->pcr0, buf, len) < 0)
		rc = errfmt(err, errlen, "SHA-384 failed");
	if (par) {
		/* Always wait: the caller reuses buf as soon as we return. */
		if (helper_wait(&w->helper) < 0 && rc == 0)
			rc = errfmt(err, errlen, "SHA-384 failed");
	} else if (rc == 0) {
		w->sec_crc = (uint32_t)crc32_z(w->sec_crc, buf, len);
		if (pcr2 && pcr_hash_update(pcr2, buf, len) < 0)
			rc = errfmt(err, errlen, "SHA-384 failed");
	}
	if (rc < 0)
		return -1;
	w->sec_len += len;
	w->off += len;
	return 0;
}

static int sec_begin(struct writer *w, uint16_t type, int hash_mask, char *err, size_t errlen)
{
	static const uint8_t zero[EIF_SEC_HDR_LEN];

	if (w->hdr.num_sections >= EIF_MAX_SECTIONS)
		return errfmt(err, errlen, "more than %d sections", EIF_MAX_SECTIONS);
	w->sec_off = w->off;
	w->sec_type = type;
	w->sec_len = 0;
	w->sec_crc = 0;
	w->hash_mask = hash_mask;
	if (write_all(w->fd, zero, sizeof(zero), err, errlen) < 0)
		return -1;
	w->off += EIF_SEC_HDR_LEN;
	return 0;
}

static int sec_end(struct writer *w, char *err, size_t errlen)
{
	uint8_t sh[EIF_SEC_HDR_LEN];
	unsigned i = w->hdr.num_sections++;

	eif_sec_header_encode(w->sec_type, w->sec_len, sh);
	if (pwrite(w->fd, sh, sizeof(sh), (off_t)w->sec_off) != (ssize_t)sizeof(sh))
		return errfmt(err, errlen, "write: %s", strerror(errno));
	w->crc_secs = (uint32_t)crc32_combine(w->crc_secs, (uLong)crc32(0, sh, sizeof(sh)),
					      sizeof(sh));
	w->crc_secs = (uint32_t)crc32_combine(w->crc_secs, w->sec_crc, (z_off_t)w->sec_len);
	w->secs_len += EIF_SEC_HDR_LEN + w->sec_len;
	w->hdr.offsets[i] = w->sec_off;
	w->hdr.sizes[i] = w->sec_len;
	w->hash_mask = 0;
	return 0;
}

static int put_buffer_section(struct writer *w, uint16_t type, int mask, const void *buf,
			      size_t len, char *err, size_t errlen)
{
	if (sec_begin(w, type, mask, err, errlen) < 0 || (len && put(w, buf, len, err, errlen) < 0))
		return -1;
	return sec_end(w, err, errlen);
}

static int copy_file(struct writer *w, const char *path, char *err, size_t errlen)
{
	uint8_t *buf = malloc(CHUNK);
	int fd = open(path, O_RDONLY | O_CLOEXEC), rc = -1;

	if (fd < 0 || !buf) {
		errfmt(err, errlen, "%s: %s", path, fd < 0 ? strerror(errno) : "out of memory");
		goto out;
	}
	posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
	for (;;) {
		ssize_t r = read(fd, buf, CHUNK);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			errfmt(err, errlen, "%s: %s", path, strerror(errno));
			goto out;
		}
		if (r == 0)
			break;
		if (put(w, buf, (size_t)r, err, errlen) < 0)
			goto out;
	}
	rc = 0;
out:
	if (fd >= 0)
		close(fd);
	free(buf);
	return rc;
}

/* A ramdisk is a cpio file used as is, or a directory packed on the fly. */
static int put_ramdisk(struct writer *w, const char *path, uint32_t mtime, int owners,
		       char *err, size_t errlen)
{
	struct cpio_tree *t;
	struct stat st;
	int rc;

	if (stat(path, &st) < 0)
		return errfmt(err, errlen, "%s: %s", path, strerror(errno));
	if (!S_ISDIR(st.st_mode)) {
		rc = copy_file(w, path, err, errlen);
		if (rc == 0 && w->sec_len == 0)
			rc = errfmt(err, errlen, "%s: empty ramdisk", path);
		return rc;
	}
	t = cpio_tree_new();
	if (!t)
		return errfmt(err, errlen, "out of memory");
	cpio_tree_owners_xattr(t, owners);
	rc = cpio_tree_add(t, "", path, err, errlen);
	if (rc == 0)
		rc = cpio_tree_write(t, mtime, put, w, err, errlen);
	cpio_tree_free(t);
	return rc;
}

static int put_ramdisks(struct writer *w, const struct eif_build_opts *o, char *err,
			size_t errlen)
{
	unsigned i;

	for (i = 0; i < o->nramdisks; i++) {
		/* PCR1 = kernel, cmdline, ramdisk 0; PCR2 = the later ramdisks. */
		if (sec_begin(w, EIF_SEC_RAMDISK, i == 0 ? H_PCR0 : H_PCR0 | H_PCR2, err,
			      errlen) < 0 ||
		    put_ramdisk(w, o->ramdisks[i], o->mtime, (o->owners_mask >> i) & 1, err,
				errlen) < 0 ||
		    sec_end(w, err, errlen) < 0)
			return -1;
		if (i == 0) {
			w->pcr1 = pcr_hash_dup(w->pcr0);
			if (!w->pcr1)
				return errfmt(err, errlen, "out of memory");
		}
	}
	return 0;
}

static int put_signature(struct writer *w, const struct eif_build_opts *o,
			 struct eif_pcrs *pcrs, char *err, size_t errlen)
{
	uint8_t *sig = NULL;
	size_t len;
	int rc;

	if (!o->sign_cert)
		return 0;
	if (eif_sig_build(o->sign_cert, o->sign_key, pcrs->pcr0, &sig, &len, pcrs->pcr8, err,
			  errlen) < 0)
		return -1;
	pcrs->has_pcr8 = 1;
	rc = put_buffer_section(w, EIF_SEC_SIGNATURE, 0, sig, len, err, errlen);
	free(sig);
	return rc;
}

static int put_header(struct writer *w, char *err, size_t errlen)
{
	uint8_t raw[EIF_HDR_LEN];
	uint32_t crc;

	eif_header_encode(&w->hdr, raw);
	crc = (uint32_t)crc32(0, raw, EIF_CRC_OFF);
	w->hdr.crc = (uint32_t)crc32_combine(crc, w->crc_secs, (z_off_t)w->secs_len);
	eif_header_encode(&w->hdr, raw);
	if (pwrite(w->fd, raw, sizeof(raw), 0) != (ssize_t)sizeof(raw))
		return errfmt(err, errlen, "write: %s", strerror(errno));
	return 0;
}

static int finish_pcrs(struct writer *w, struct eif_pcrs *pcrs, char *err, size_t errlen)
{
	int rc = pcr_hash_final(w->pcr0, pcrs->pcr0) | pcr_hash_final(w->pcr1, pcrs->pcr1) |
		 pcr_hash_final(w->pcr2, pcrs->pcr2);

	w->pcr0 = w->pcr1 = w->pcr2 = NULL;
	return rc ? errfmt(err, errlen, "SHA-384 failed") : 0;
}

static int write_image(struct writer *w, const struct eif_build_opts *o, struct eif_pcrs *pcrs,
		       char *err, size_t errlen)
{
	static const uint8_t zero_hdr[EIF_HDR_LEN];
	size_t meta_len = 0;
	char *meta = eif_meta_json(&o->meta, &meta_len);
	int rc = -1;

	if (!meta)
		return errfmt(err, errlen, "out of memory");
	if (write_all(w->fd, zero_hdr, sizeof(zero_hdr), err, errlen) < 0)
		goto out;
	w->off = EIF_HDR_LEN;
	if (sec_begin(w, EIF_SEC_KERNEL, H_PCR0, err, errlen) < 0 ||
	    copy_file(w, o->kernel, err, errlen) < 0 || sec_end(w, err, errlen) < 0)
		goto out;
	if (w->hdr.sizes[0] == 0) {
		errfmt(err, errlen, "%s: empty kernel", o->kernel);
		goto out;
	}
	if (put_buffer_section(w, EIF_SEC_CMDLINE, H_PCR0, o->cmdline, strlen(o->cmdline), err,
			       errlen) < 0 ||
	    put_buffer_section(w, EIF_SEC_METADATA, 0, meta, meta_len, err, errlen) < 0 ||
	    put_ramdisks(w, o, err, errlen) < 0 || finish_pcrs(w, pcrs, err, errlen) < 0 ||
	    put_signature(w, o, pcrs, err, errlen) < 0 || put_header(w, err, errlen) < 0)
		goto out;
	rc = 0;
out:
	free(meta);
	return rc;
}

int eif_build(const struct eif_build_opts *o, struct eif_pcrs *pcrs, char *err, size_t errlen)
{
	struct writer w = {
		.hdr = { .version = EIF_VERSION, .flags = o->flags,
			 .default_mem = EIF_DEFAULT_MEM, .default_cpus = EIF_DEFAULT_CPUS },
	};
	struct outfile out;
	int rc = -1;

	memset(pcrs, 0, sizeof(*pcrs));
	if (o->nramdisks < 1 || o->nramdisks > EIF_MAX_SECTIONS - 4)
		return errfmt(err, errlen, "%u ramdisks (1 to %d allowed)", o->nramdisks,
			    EIF_MAX_SECTIONS - 4);
	if (strlen(o->cmdline) > EIF_CMDLINE_MAX)
		return errfmt(err, errlen, "the command line is longer than %u bytes",
			    EIF_CMDLINE_MAX);
	/* Section and file headers are patched in place: a seekable file. */
	if (outfile_open(&out, o->output, OUTFILE_SEEKABLE, err, errlen) < 0)
		return -1;
	w.fd = out.fd;
	w.pcr0 = pcr_hash_new();
	w.pcr2 = pcr_hash_new();
	helper_start(&w.helper);
	if (!w.pcr0 || !w.pcr2) {
		errfmt(err, errlen, "out of memory");
		goto out;
	}
	if (write_image(&w, o, pcrs, err, errlen) < 0)
		goto out;
	rc = outfile_commit(&out, err, errlen);
out:
	if (rc < 0)
		outfile_abort(&out);
	helper_stop(&w.helper);
	pcr_hash_free(w.pcr0);
	pcr_hash_free(w.pcr1);
	pcr_hash_free(w.pcr2);
	return rc;
}
