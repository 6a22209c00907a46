/* The Enclave Image File (EIF) v4 format, PCRs and signatures; the byte
 * layout is in docs/eif.md. Everything read from an EIF is untrusted: the
 * reader bounds every offset, size and count and is fuzzed
 * (tests/fuzz/fuzz_eif.c).
 */
#ifndef NEK_EIF_H
#define NEK_EIF_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define EIF_ERR_MAX 512
#define EIF_MAGIC "\x2e\x65\x69\x66" /* ".eif" */
#define EIF_VERSION 4
#define EIF_HDR_LEN 548
#define EIF_CRC_OFF 0x220
#define EIF_SEC_HDR_LEN 12
#define EIF_MAX_SECTIONS 32
#define EIF_SIG_MAX 32768		/* upstream SIGNATURE_MAX_SIZE */
#define EIF_META_MAX (1u << 20)		/* our bound; upstream has none */
#define EIF_CMDLINE_MAX (1u << 16)	/* our bound; x86 takes 2048 anyway */
#define EIF_DEFAULT_MEM (1ULL << 30)
#define EIF_DEFAULT_CPUS 2
#define EIF_FLAG_AARCH64 1u

enum eif_sec_type {
	EIF_SEC_INVALID = 0,
	EIF_SEC_KERNEL = 1,
	EIF_SEC_CMDLINE = 2,
	EIF_SEC_RAMDISK = 3,
	EIF_SEC_SIGNATURE = 4,
	EIF_SEC_METADATA = 5,
};

struct eif_header {
	uint16_t version, flags;
	uint64_t default_mem, default_cpus;
	uint16_t reserved, num_sections;
	uint64_t offsets[EIF_MAX_SECTIONS], sizes[EIF_MAX_SECTIONS];
	uint32_t unused, crc;
};

void eif_header_encode(const struct eif_header *h, uint8_t out[EIF_HDR_LEN]);
void eif_header_decode(const uint8_t in[EIF_HDR_LEN], struct eif_header *h);
void eif_sec_header_encode(uint16_t type, uint64_t size, uint8_t out[EIF_SEC_HDR_LEN]);
const char *eif_sec_name(unsigned type);

/* ---------------------------------------------------------------- PCRs */
#define PCR_LEN 48
/* PCR = SHA384(48 zero bytes || SHA384(content)), the NSM extend of a zero
 * register. A pcr_hash streams the content. */
struct pcr_hash;
struct pcr_hash *pcr_hash_new(void);
struct pcr_hash *pcr_hash_dup(const struct pcr_hash *h);
int pcr_hash_update(struct pcr_hash *h, const void *buf, size_t len);
/* Finishes into out (the PCR value, not the content digest) and frees h. */
int pcr_hash_final(struct pcr_hash *h, uint8_t out[PCR_LEN]);
void pcr_hash_free(struct pcr_hash *h);
int pcr_of_buffer(const void *buf, size_t len, uint8_t out[PCR_LEN]);

/* The PCR registers an image measures. */
struct eif_pcrs {
	uint8_t pcr0[PCR_LEN], pcr1[PCR_LEN], pcr2[PCR_LEN], pcr8[PCR_LEN];
	int has_pcr8;
};

/* ---------------------------------------------------------------- reading */
/* Random access to an untrusted image: a file or a buffer. */
struct eif_src {
	/* Reads exactly len bytes at off; -1 with a message on error or EOF. */
	int (*read_at)(void *ctx, void *buf, size_t len, uint64_t off, char *err, size_t errlen);
	void *ctx;
	uint64_t size;
};

struct eif_sec {
	uint16_t type, flags;
	uint64_t off;		/* of the 12-byte section header */
	uint64_t size;		/* of the data */
};

struct eif_image {
	struct eif_header hdr;
	struct eif_sec sec[EIF_MAX_SECTIONS];
	unsigned nsec;
	int kernel, cmdline, metadata, signature; /* section index or -1 */
	unsigned nramdisks;
};

/* Checks the header and section table (magic, version 2..4, counts, bounds,
 * section headers agreeing with the table, one kernel and one cmdline, at
 * least one ramdisk, metadata in v4, at most one signature, size limits). */
int eif_open(const struct eif_src *src, struct eif_image *img, char *err, size_t errlen);

/* Streams every section: CRC of the file as the header's CRC is defined
 * (header without the CRC field, then each section header and data in
 * table order) and PCR0/1/2. PCR8 is not set here (see eif_sig_*). */
int eif_measure(const struct eif_src *src, const struct eif_image *img, uint32_t *crc,
		struct eif_pcrs *pcrs, char *err, size_t errlen);

/* A whole small section (cmdline, metadata, signature) into a malloc'ed
 * buffer with a NUL after the data. */
int eif_read_section(const struct eif_src *src, const struct eif_image *img, int idx,
		     size_t max, uint8_t **out, size_t *len, char *err, size_t errlen);

/* Sources over a file descriptor and over a buffer (fuzzing, tests). */
void eif_src_fd(struct eif_src *src, int *fd, uint64_t size);
void eif_src_mem(struct eif_src *src, const uint8_t **buf, size_t size);
/* Copies section data to a sink in chunks. */
int eif_copy_section(const struct eif_src *src, const struct eif_sec *s, int fd, char *err,
		     size_t errlen);

/* ---------------------------------------------------------------- metadata */
struct eif_meta {
	const char *name, *version, *build_time, *build_tool, *build_tool_version;
	const char *os, *kernel_version;
};
/* The JSON exactly as upstream's serde_json writes it (compact, key order of
 * the struct). Returns a malloc'ed string or NULL. */
char *eif_meta_json(const struct eif_meta *m, size_t *len);

/* ---------------------------------------------------------------- signature */
/* Builds the Signature section for pcr0 signed with the key (PEM files).
 * Returns a malloc'ed CBOR buffer. The cert's PCR8 goes to pcr8. */
int eif_sig_build(const char *cert_path, const char *key_path, const uint8_t pcr0[PCR_LEN],
		  uint8_t **out, size_t *len, uint8_t pcr8[PCR_LEN], char *err, size_t errlen);

struct eif_sig_info {
	uint8_t pcr8[PCR_LEN];
	int cose_alg;			/* -7, -35, -36 */
	uint32_t register_index;
	uint8_t register_value[PCR_LEN];
	int sig_ok;			/* COSE signature verified with the cert's key */
	char *cert_pem;			/* malloc'ed, NUL-terminated */
};
/* Parses a Signature section (strictly) and verifies its COSE_Sign1 with
 * the embedded certificate. -1 only for malformed input; a bad signature is
 * sig_ok = 0. */
int eif_sig_parse(const uint8_t *buf, size_t len, struct eif_sig_info *info, char *err,
		  size_t errlen);
void eif_sig_info_free(struct eif_sig_info *info);
/* PCR8 of a PEM certificate file. */
int eif_pcr8_of_pem_file(const char *path, uint8_t out[PCR_LEN], char *err, size_t errlen);

/* ---------------------------------------------------------------- describe */
/* Parses, measures and prints an image like `nitro-cli describe-eif`
 * (json) or as text; returns 0 when the image is consistent (CRC, signature),
 * 1 when a check failed, -1 when it could not be read. */
struct eif_report {
	struct eif_image img;
	struct eif_pcrs pcrs;
	uint32_t crc;
	int crc_ok;
	int is_signed, sig_ok, sig_pcr0_ok;
	struct eif_sig_info sig;
	char *meta_json;		/* the Metadata section, NUL-terminated */
	size_t meta_len;
};
int eif_report_load(const struct eif_src *src, struct eif_report *r, char *err, size_t errlen);
void eif_report_free(struct eif_report *r);
void eif_report_print(const struct eif_report *r, FILE *out, int json);
/* nitro-cli's JSON for measurements ({"HashAlgorithm":...,"PCR0":...}). */
void eif_print_measurements(const struct eif_pcrs *p, FILE *out, int indent);

/* ---------------------------------------------------------------- building */
struct eif_build_opts {
	const char *kernel;
	const char *cmdline;
	const char **ramdisks;		/* files (used verbatim) or directories (packed) */
	unsigned nramdisks;
	struct eif_meta meta;
	const char *sign_cert, *sign_key;
	const char *output;
	uint32_t mtime;			/* of cpio entries from directories */
	uint32_t owners_mask;		/* bit i: directory ramdisk i takes uid/gid
					 * from user.rootlesscontainers (--image) */
	uint16_t flags;
};
/* Refuses a kernel file that is not a bzImage (x86_64: the boot protocol's
 * 0xAA55 boot flag, "HdrS", version 2.00 or later, loaded high, a kernel
 * after setup_sects) or an arm64 Image (flags & EIF_FLAG_AARCH64: "ARM\x64"
 * at 0x38): a wrong file would only fail once the enclave does not boot. */
int eif_kernel_check(const char *path, uint16_t flags, char *err, size_t errlen);
/* Writes o->output by lib/outfile.h's rule: "-" is standard output, a
 * device or fifo is written through, a regular file replaced atomically. */
int eif_build(const struct eif_build_opts *o, struct eif_pcrs *pcrs, char *err, size_t errlen);

#endif
