/* EIF v4: the synthetic vector byte for byte, PCR math, the strict reader,
 * signatures. */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "eif/cmd.h"
#include "eif/eif.h"
#include "lib/core/parse.h"
#include "lib/core/utf8.h"

/* Public: PCR2 of every single-ramdisk EIF (SHA384(0^48 || SHA384(""))),
 * published by several projects; see docs/eif.md. */
#define EMPTY_PCR "21b9efbc184807662e966d34f390821309eeac6802309798826296bf3e8bec7c10edb30948c90ba67310f7b964fc500a"

static char dir[256];

static void setup(void)
{
	snprintf(dir, sizeof(dir), "%s/eif-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	cr_assert(mkdtemp(dir));
}

static void teardown(void)
{
	char cmd[400];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	cr_assert_eq(system(cmd), 0);
}

TestSuite(eif, .init = setup, .fini = teardown);

static char *path_in(const char *name)
{
	static char p[16][512];
	static int i;

	i = (i + 1) % 16;
	snprintf(p[i], sizeof(p[i]), "%s/%s", dir, name);
	return p[i];
}

static void put_file(const char *path, const void *buf, size_t len)
{
	FILE *f = fopen(path, "wb");

	cr_assert(f, "%s", path);
	cr_assert_eq(fwrite(buf, 1, len, f), len);
	fclose(f);
}

static uint8_t *get_file(const char *path, size_t *len)
{
	struct stat st;
	uint8_t *b;
	FILE *f = fopen(path, "rb");

	cr_assert(f, "%s", path);
	cr_assert_eq(fstat(fileno(f), &st), 0);
	b = malloc((size_t)st.st_size + 1);
	cr_assert_eq(fread(b, 1, (size_t)st.st_size, f), (size_t)st.st_size);
	fclose(f);
	*len = (size_t)st.st_size;
	return b;
}

static void hexeq(const uint8_t v[PCR_LEN], const char *want, const char *what)
{
	char s[2 * PCR_LEN + 1];

	format_hex(v, PCR_LEN, s);
	cr_assert_str_eq(s, want, "%s", what);
}

static struct eif_meta vector_meta = {
	.name = "kernel", .version = "1.0", .build_time = "1970-01-01T00:00:00+00:00",
	.build_tool = "eif_build", .build_tool_version = "0.3.1", .os = "OS",
	.kernel_version = "kernel",
};

/* kernel 'kernel\n', cmdline console=ttyS0, ramdisks 'ramdisk-N\n'. */
static const char *build_small(unsigned nramdisks, const char *cert, const char *key)
{
	const char *rds[2] = { path_in("rd0"), path_in("rd1") };
	struct eif_build_opts o = {
		.kernel = path_in("kernel"), .cmdline = "console=ttyS0", .ramdisks = rds,
		.nramdisks = nramdisks, .meta = vector_meta, .output = path_in("out.eif"),
		.sign_cert = cert, .sign_key = key,
	};
	char err[EIF_ERR_MAX];
	struct eif_pcrs p;

	put_file(o.kernel, "kernel\n", 7);
	put_file(rds[0], "ramdisk-0\n", 10);
	put_file(rds[1], "ramdisk-1\n", 10);
	cr_assert_eq(eif_build(&o, &p, err, sizeof(err)), 0, "%s", err);
	return o.output;
}

Test(eif, synthetic_vector_byte_for_byte)
{
	const char *vec = getenv("NEK_VECTORS");
	char p[512], s[2 * PCR_LEN + 1];
	uint8_t *mine, *theirs;
	size_t a, b;
	json_t *exp;
	struct eif_report r;
	struct eif_src src;
	int fd;

	if (!vec)
		cr_skip_test("NEK_VECTORS not set: ../shared/vectors is absent");
	snprintf(p, sizeof(p), "%s/eif-synthetic/expected.json", vec);
	exp = json_load_file(p, 0, NULL);
	cr_assert(exp, "%s", p);
	mine = get_file(build_small(2, NULL, NULL), &a);
	snprintf(p, sizeof(p), "%s/eif-synthetic/synthetic-v4.eif", vec);
	theirs = get_file(p, &b);
	cr_assert_eq(a, (size_t)json_integer_value(json_object_get(exp, "file_size")));
	cr_assert_eq(a, b);
	cr_assert_eq(memcmp(mine, theirs, a), 0, "our EIF differs from the vector");

	/* And the reader agrees with expected.json on the vector's own file. */
	fd = open(p, O_RDONLY);
	cr_assert(fd >= 0);
	eif_src_fd(&src, &fd, b);
	cr_assert_eq(eif_report_load(&src, &r, p, sizeof(p)), 0, "%s", p);
	close(fd);
	cr_assert(r.crc_ok);
	snprintf(s, sizeof(s), "0x%08x", r.crc);
	cr_assert_str_eq(s, json_string_value(json_object_get(exp, "eif_crc32")));
	hexeq(r.pcrs.pcr0, json_string_value(json_object_get(exp, "PCR0")), "PCR0");
	hexeq(r.pcrs.pcr1, json_string_value(json_object_get(exp, "PCR1")), "PCR1");
	hexeq(r.pcrs.pcr2, json_string_value(json_object_get(exp, "PCR2")), "PCR2");
	for (unsigned i = 0; i < r.img.nsec; i++) {
		json_t *off = json_array_get(json_object_get(exp, "section_offsets"), i);
		json_t *sz = json_array_get(json_object_get(exp, "section_sizes"), i);

		cr_assert_eq(r.img.sec[i].off, (uint64_t)json_integer_value(off));
		cr_assert_eq(r.img.sec[i].size, (uint64_t)json_integer_value(sz));
	}
	eif_report_free(&r);
	json_decref(exp);
	free(mine);
	free(theirs);
}

Test(eif, pcr_of_empty_content_is_the_public_value)
{
	uint8_t v[PCR_LEN];
	struct pcr_hash *h = pcr_hash_new();

	cr_assert_eq(pcr_of_buffer("", 0, v), 0);
	hexeq(v, EMPTY_PCR, "buffer");
	cr_assert_eq(pcr_hash_final(h, v), 0);
	hexeq(v, EMPTY_PCR, "stream");
}

static void load_path(const char *path, struct eif_report *r)
{
	char err[EIF_ERR_MAX];
	struct eif_src src;
	struct stat st;
	int fd = open(path, O_RDONLY);

	cr_assert(fd >= 0);
	cr_assert_eq(fstat(fd, &st), 0);
	eif_src_fd(&src, &fd, (uint64_t)st.st_size);
	cr_assert_eq(eif_report_load(&src, r, err, sizeof(err)), 0, "%s", err);
	close(fd);
}

Test(eif, one_ramdisk_gives_pcr0_eq_pcr1_and_the_empty_pcr2)
{
	struct eif_report r;

	load_path(build_small(1, NULL, NULL), &r);
	cr_assert(r.crc_ok);
	cr_assert_eq(memcmp(r.pcrs.pcr0, r.pcrs.pcr1, PCR_LEN), 0);
	hexeq(r.pcrs.pcr2, EMPTY_PCR, "PCR2");
	eif_report_free(&r);
}

Test(eif, header_roundtrip)
{
	struct eif_header h = { .version = 4, .flags = 1, .default_mem = 1ULL << 33,
				.default_cpus = 7, .num_sections = 2, .crc = 0xdeadbeef };
	uint8_t raw[EIF_HDR_LEN];
	struct eif_header g;

	h.offsets[0] = 548;
	h.sizes[1] = 0x0102030405060708ULL;
	eif_header_encode(&h, raw);
	cr_assert_eq(memcmp(raw, ".eif\0\4\0\1", 8), 0);
	cr_assert_eq(raw[EIF_CRC_OFF], 0xde);
	eif_header_decode(raw, &g);
	cr_assert_eq(memcmp(&g, &h, sizeof(h)), 0);
}

/* ---------------------------------------------------------------- reader */
static uint8_t *img;
static size_t img_len;

static int open_mem(char *err)
{
	struct eif_image im;
	struct eif_src src;
	const uint8_t *p = img;

	eif_src_mem(&src, &p, img_len);
	return eif_open(&src, &im, err, EIF_ERR_MAX);
}

static void load_img(void)
{
	img = get_file(build_small(2, NULL, NULL), &img_len);
}

static void set_hdr(void (*f)(struct eif_header *h))
{
	struct eif_header h;

	eif_header_decode(img, &h);
	f(&h);
	eif_header_encode(&h, img);
}

static void bad_version(struct eif_header *h) { h->version = 5; }
static void no_sections(struct eif_header *h) { h->num_sections = 0; }
static void many_sections(struct eif_header *h) { h->num_sections = 33; }
static void past_end(struct eif_header *h) { h->offsets[4] = 1ULL << 62; }
static void size_mismatch(struct eif_header *h) { h->sizes[3] = 9; }
static void huge_size(struct eif_header *h) { h->sizes[4] = UINT64_MAX; }
static void overlap(struct eif_header *h) { h->offsets[4] = h->offsets[3]; }
static void stray_slot(struct eif_header *h) { h->sizes[31] = 1; }
static void drop_metadata(struct eif_header *h) { h->version = 3; }
static void drop_ramdisks(struct eif_header *h)
{
	h->num_sections = 3;
	h->offsets[3] = h->offsets[4] = h->sizes[3] = h->sizes[4] = 0;
}

Test(eif, reader_rejects_malformed_headers)
{
	static const struct {
		void (*f)(struct eif_header *h);
		const char *msg;
	} cases[] = {
		{ bad_version, "unsupported EIF version 5" },
		{ no_sections, "0 sections" },
		{ many_sections, "33 sections" },
		{ past_end, "past the end" },
		{ size_mismatch, "header says 10 bytes, table says 9" },
		{ huge_size, "past the end" },
		{ overlap, "overlaps" },
		{ stray_slot, "unused section slot 31" },
		{ drop_metadata, "metadata section in a version 3 image" },
		{ drop_ramdisks, "no ramdisk" },
	};
	char err[EIF_ERR_MAX];
	size_t i;

	load_img();
	cr_assert_eq(open_mem(err), 0, "%s", err);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint8_t save[EIF_HDR_LEN];

		memcpy(save, img, sizeof(save));
		set_hdr(cases[i].f);
		cr_assert_eq(open_mem(err), -1, "case %zu accepted", i);
		cr_assert(strstr(err, cases[i].msg), "case %zu: '%s'", i, err);
		memcpy(img, save, sizeof(save));
	}
	memcpy(img, "EIF!", 4);
	cr_assert_eq(open_mem(err), -1);
	cr_assert(strstr(err, "bad magic"), "%s", err);
	cr_assert_eq(eif_open(&(struct eif_src){ .size = 100 }, &(struct eif_image){ 0 }, err,
			      sizeof(err)), -1);
	free(img);
}

Test(eif, reader_rejects_bad_section_headers)
{
	char err[EIF_ERR_MAX];
	size_t sec1;

	load_img();
	sec1 = 548 + 12 + 7; /* the cmdline's section header */
	img[sec1 + 1] = 9;
	cr_assert_eq(open_mem(err), -1);
	cr_assert(strstr(err, "unknown type 9"), "%s", err);
	img[sec1 + 1] = 1; /* a second kernel */
	cr_assert_eq(open_mem(err), -1);
	cr_assert(strstr(err, "2 kernel sections"), "%s", err);
	img[sec1 + 1] = 2;
	img[sec1 + 3] = 1;
	cr_assert_eq(open_mem(err), -1);
	cr_assert(strstr(err, "flags 0x1"), "%s", err);
	free(img);
}

Test(eif, crc_catches_a_flipped_byte_and_pcrs_follow_the_data)
{
	struct eif_pcrs before, after;
	char err[EIF_ERR_MAX];
	struct eif_image im;
	struct eif_src src;
	const uint8_t *p;
	uint32_t crc;
	struct eif_header h;

	load_img();
	p = img;
	eif_src_mem(&src, &p, img_len);
	cr_assert_eq(eif_open(&src, &im, err, sizeof(err)), 0);
	cr_assert_eq(eif_measure(&src, &im, &crc, &before, err, sizeof(err)), 0);
	eif_header_decode(img, &h);
	cr_assert_eq(crc, h.crc);
	img[img_len - 2] ^= 1; /* in ramdisk 1 */
	cr_assert_eq(eif_measure(&src, &im, &crc, &after, err, sizeof(err)), 0);
	cr_assert_neq(crc, h.crc);
	cr_assert_neq(memcmp(before.pcr0, after.pcr0, PCR_LEN), 0);
	cr_assert_eq(memcmp(before.pcr1, after.pcr1, PCR_LEN), 0, "PCR1 excludes ramdisk 1");
	cr_assert_neq(memcmp(before.pcr2, after.pcr2, PCR_LEN), 0);
	/* Metadata is not measured. */
	img[img_len - 2] ^= 1;
	img[548 + 12 + 7 + 12 + 13 + 12 + 20] ^= 1;
	cr_assert_eq(eif_measure(&src, &im, &crc, &after, err, sizeof(err)), 0);
	cr_assert_eq(memcmp(before.pcr0, after.pcr0, PCR_LEN), 0);
	cr_assert_neq(crc, h.crc);
	free(img);
}

/* ---------------------------------------------------------------- signing */
static void make_cert(const char *curve, const char *cert, const char *key, long days)
{
	EVP_PKEY *k = EVP_EC_gen(curve);
	X509 *x = X509_new();
	X509_NAME *n;
	FILE *f;

	cr_assert(k && x);
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
	X509_gmtime_adj(X509_getm_notBefore(x), -3600);
	X509_gmtime_adj(X509_getm_notAfter(x), days * 86400);
	X509_set_pubkey(x, k);
	n = X509_get_subject_name(x);
	X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)"nek test", -1,
				   -1, 0);
	X509_set_issuer_name(x, n);
	cr_assert(X509_sign(x, k, EVP_sha384()) > 0);
	f = fopen(cert, "w");
	PEM_write_X509(f, x);
	fclose(f);
	f = fopen(key, "w");
	PEM_write_PrivateKey(f, k, NULL, NULL, 0, NULL, NULL);
	fclose(f);
	X509_free(x);
	EVP_PKEY_free(k);
}

Test(eif, signed_image_verifies_and_pcr8_is_the_certs)
{
	const char *curves[] = { "P-256", "P-384", "P-521" };
	const int algs[] = { -7, -35, -36 };
	char err[EIF_ERR_MAX];
	uint8_t pcr8[PCR_LEN];

	for (int i = 0; i < 3; i++) {
		struct eif_report r;

		make_cert(curves[i], path_in("c.pem"), path_in("k.pem"), 1);
		load_path(build_small(2, path_in("c.pem"), path_in("k.pem")), &r);
		cr_assert(r.is_signed && r.sig_ok && r.sig_pcr0_ok && r.crc_ok, "%s", curves[i]);
		cr_assert_eq(r.sig.cose_alg, algs[i]);
		cr_assert_eq(eif_pcr8_of_pem_file(path_in("c.pem"), pcr8, err, sizeof(err)), 0);
		cr_assert_eq(memcmp(pcr8, r.pcrs.pcr8, PCR_LEN), 0);
		eif_report_free(&r);
	}
}

Test(eif, tampered_signature_or_foreign_key_fail)
{
	char err[EIF_ERR_MAX];
	struct eif_report r;
	struct eif_sig_info info;
	uint8_t *b, *sig;
	size_t len, siglen;
	const char *out;
	struct eif_header h;

	make_cert("P-384", path_in("c.pem"), path_in("k.pem"), 1);
	out = build_small(2, path_in("c.pem"), path_in("k.pem"));
	b = get_file(out, &len);
	eif_header_decode(b, &h);
	sig = b + h.offsets[5] + EIF_SEC_HDR_LEN;
	siglen = h.sizes[5];
	/* The last CBOR item is the last byte of the raw ECDSA s value, a uint
	 * in its head (< 24) or after 0x18 (>= 24). Flipping bit 0 keeps either
	 * form canonical (the reader refuses 0x18 with a value below 24), so
	 * only the signature check can catch it. */
	sig[siglen - 1] ^= 1;
	cr_assert_eq(eif_sig_parse(sig, siglen, &info, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(info.sig_ok, 0);
	eif_sig_info_free(&info);
	free(b);

	/* A key that is not the certificate's is refused at build time. */
	make_cert("P-384", path_in("c2.pem"), path_in("k2.pem"), 1);
	{
		const char *rds[1] = { path_in("rd0") };
		struct eif_build_opts o = { .kernel = path_in("kernel"), .cmdline = "x",
					    .ramdisks = rds, .nramdisks = 1, .meta = vector_meta,
					    .output = path_in("bad.eif"),
					    .sign_cert = path_in("c.pem"),
					    .sign_key = path_in("k2.pem") };
		struct eif_pcrs p;

		cr_assert_eq(eif_build(&o, &p, err, sizeof(err)), -1);
		cr_assert(strstr(err, "does not belong"), "%s", err);
		cr_assert_eq(access(o.output, F_OK), -1, "no output left behind");
	}
	load_path(out, &r);
	cr_assert(r.sig_ok);
	eif_report_free(&r);
}

Test(eif, signature_parser_rejects_garbage)
{
	static const uint8_t cases[][8] = {
		{ 0x80 },				/* [] */
		{ 0x81, 0xa0 },				/* [{}] */
		{ 0x81, 0xa2, 0x61, 'a', 0x00, 0x61, 'b', 0x00 },
		{ 0xff },
		{ 0x81, 0xba, 0xff, 0xff, 0xff, 0xff },	/* [map of 2^32-1 pairs] */
		{ 0xd8, 0x12, 0x80 },			/* tag 18 */
		{ 0x9f, 0xff },				/* indefinite array */
		{ 0x81, 0x81, 0x81, 0x81, 0x81, 0x81, 0x81, 0x81 }, /* too deep, unfinished */
		{ 0x80, 0x80 },				/* trailing bytes */
	};
	static const size_t lens[] = { 1, 2, 8, 1, 6, 3, 2, 8, 2 };
	struct eif_sig_info info;
	char err[EIF_ERR_MAX];

	for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++)
		cr_assert_eq(eif_sig_parse(cases[i], lens[i], &info, err, sizeof(err)), -1,
			     "case %zu", i);
}

Test(eif, metadata_json_and_helpers)
{
	struct eif_meta m = vector_meta;
	char when[64];
	size_t len;
	char *j;

	m.name = "a\"b\\c\n\x01/é";
	j = eif_meta_json(&m, &len);
	cr_assert(strstr(j, "\"ImageName\":\"a\\\"b\\\\c\\n\\u0001/é\""), "%s", j);
	cr_assert_eq(len, strlen(j));
	free(j);
	eif_rfc3339(1700000000, when, sizeof(when));
	cr_assert_str_eq(when, "2023-11-14T22:13:20+00:00");
	cr_assert(utf8_valid("plain é ✓ 😀"));
	cr_assert(!utf8_valid("\xc0\xaf"));
	cr_assert(!utf8_valid("\xed\xa0\x80"));
	cr_assert(!utf8_valid("\xff"));
	cr_assert(!utf8_valid("\xe2\x82"));
}

Test(eif, source_date_epoch_parsing)
{
	char err[128];
	uint64_t v;

	setenv("SOURCE_DATE_EPOCH", "1700000000", 1);
	cr_assert_eq(eif_source_date_epoch(&v, err, sizeof(err)), 0);
	cr_assert_eq(v, 1700000000);
	setenv("SOURCE_DATE_EPOCH", "yesterday", 1);
	cr_assert_eq(eif_source_date_epoch(&v, err, sizeof(err)), -1);
	cr_assert(strstr(err, "SOURCE_DATE_EPOCH"), "%s", err);
	setenv("SOURCE_DATE_EPOCH", "4294967296", 1);
	cr_assert_eq(eif_source_date_epoch(&v, err, sizeof(err)), -1);
	unsetenv("SOURCE_DATE_EPOCH");
	cr_assert_eq(eif_source_date_epoch(&v, err, sizeof(err)), 0);
	cr_assert_eq(v, 0);
}
