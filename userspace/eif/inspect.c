/* eif describe, pcr, verify, extract: the commands that read an image. */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "eif/cmd.h"
#include "lib/core/cli.h"
#include "lib/core/log.h"
#include "lib/core/parse.h"

static const struct option json_opts[] = {
	{ "json", no_argument, NULL, 'j' },
	{ "input", required_argument, NULL, 'i' },
	{ "cert", required_argument, NULL, 'C' },
	{ "pcrs", required_argument, NULL, 'p' },
	{ "require-signature", no_argument, NULL, 'R' },
	CLI_COMMON_LONGOPTS,
	{ NULL, 0, NULL, 0 },
};

struct args {
	int json, require_sig;
	const char *input, *cert, *pcrs;
};

static int parse_args(int argc, char **argv, struct args *a, const char *allowed)
{
	int c;

	memset(a, 0, sizeof(*a));
	while ((c = getopt_long(argc, argv, "j" CLI_COMMON_SHORTOPTS, json_opts, NULL)) != -1) {
		if (c != 'h' && c != 'v' && c != 'q' && c != '?' && !strchr(allowed, c))
			return cli_usage_error("option not valid for this command");
		switch (c) {
		case 'j': a->json = 1; break;
		case 'i': a->input = optarg; break;
		case 'C': a->cert = optarg; break;
		case 'p': a->pcrs = optarg; break;
		case 'R': a->require_sig = 1; break;
		default:
			if (cli_common_opt(c) != CLI_OK)
				return CLI_USAGE;
		}
	}
	return CLI_OK;
}

/* Opens an image file; *fd is the source's context. */
static int open_image(const char *path, int *fd, struct eif_src *src)
{
	struct stat st;

	*fd = open(path, O_RDONLY | O_CLOEXEC);
	if (*fd < 0)
		return cli_fail("%s: %s", path, strerror(errno));
	if (fstat(*fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(*fd);
		return cli_fail("%s: not a regular file", path);
	}
	eif_src_fd(src, fd, (uint64_t)st.st_size);
	return CLI_OK;
}

static int load(const char *path, struct eif_report *r)
{
	char err[EIF_ERR_MAX];
	struct eif_src src;
	int fd, rc;

	if (open_image(path, &fd, &src) != CLI_OK)
		return CLI_USAGE;
	rc = eif_report_load(&src, r, err, sizeof(err));
	close(fd);
	if (rc < 0) {
		eif_report_free(r);
		cli_fail("%s: %s", path, err);
		return CLI_USAGE;
	}
	return CLI_OK;
}

static int one_path(int argc)
{
	if (optind != argc - 1)
		return cli_usage_error(optind >= argc ? "an EIF is required" : "one EIF only");
	return CLI_OK;
}

int cmd_describe(int argc, char **argv)
{
	struct eif_report r;
	struct args a;
	int rc;

	if (parse_args(argc, argv, &a, "j") != CLI_OK || one_path(argc) != CLI_OK)
		return CLI_USAGE;
	rc = load(argv[optind], &r);
	if (rc != CLI_OK)
		return rc;
	eif_report_print(&r, stdout, a.json);
	rc = r.crc_ok && (!r.is_signed || (r.sig_ok && r.sig_pcr0_ok)) ? CLI_OK : CLI_FAIL;
	eif_report_free(&r);
	return rc;
}

static void print_one(const char *key, const uint8_t v[PCR_LEN], int json)
{
	char s[2 * PCR_LEN + 1];

	format_hex(v, PCR_LEN, s);
	if (json)
		printf("{\n  \"%s\": \"%s\"\n}\n", key, s);
	else
		printf("%s\n", s);
}

static int pcr_of_file(const char *path, uint8_t out[PCR_LEN])
{
	struct pcr_hash *h = pcr_hash_new();
	char buf[1 << 16];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n = 0;

	if (fd < 0 || !h) {
		pcr_hash_free(h);
		if (fd >= 0)
			close(fd);
		return cli_fail("%s: %s", path, strerror(errno));
	}
	while ((n = read(fd, buf, sizeof(buf))) > 0 || (n < 0 && errno == EINTR))
		if (n > 0 && pcr_hash_update(h, buf, (size_t)n) < 0)
			break;
	close(fd);
	if (n != 0) {
		pcr_hash_free(h);
		return cli_fail("%s: %s", path, n < 0 ? strerror(errno) : "hash failed");
	}
	return pcr_hash_final(h, out) < 0 ? cli_fail("hash failed") : CLI_OK;
}

int cmd_pcr(int argc, char **argv)
{
	char err[EIF_ERR_MAX];
	uint8_t v[PCR_LEN];
	struct eif_report r;
	struct args a;
	int rc;

	if (parse_args(argc, argv, &a, "jiC") != CLI_OK)
		return CLI_USAGE;
	if (!!a.input + !!a.cert + (optind < argc) != 1 || optind < argc - 1)
		return cli_usage_error("give one of EIF, --input FILE, --cert PEM");
	if (a.input) {
		if (pcr_of_file(a.input, v) != CLI_OK)
			return CLI_USAGE;
		print_one("PCR", v, a.json);
		return CLI_OK;
	}
	if (a.cert) {
		if (eif_pcr8_of_pem_file(a.cert, v, err, sizeof(err)) < 0) {
			cli_fail("%s", err);
			return CLI_USAGE;
		}
		print_one("PCR8", v, a.json);
		return CLI_OK;
	}
	rc = load(argv[optind], &r);
	if (rc != CLI_OK)
		return rc;
	if (a.json)
		eif_print_measurements(&r.pcrs, stdout, 2);
	else
		eif_print_pcrs_text(&r.pcrs, stdout);
	eif_report_free(&r);
	return CLI_OK;
}

/* ---------------------------------------------------------------- verify */
static int cert_dates_ok(const char *pem, const char *path)
{
	BIO *b = BIO_new_mem_buf(pem, -1);
	X509 *x = b ? PEM_read_bio_X509(b, NULL, NULL, NULL) : NULL;
	int ok = 0;

	BIO_free(b);
	if (x)
		ok = X509_cmp_current_time(X509_get0_notBefore(x)) < 0 &&
		     X509_cmp_current_time(X509_get0_notAfter(x)) > 0;
	X509_free(x);
	if (!ok)
		cli_fail("%s: the signing certificate is not valid now", path);
	return ok;
}

static int check_pcr(json_t *m, const char *key, const uint8_t have[PCR_LEN], const char *path)
{
	const char *want = json_string_value(json_object_get(m, key));
	char s[2 * PCR_LEN + 1];

	format_hex(have, PCR_LEN, s);
	if (want && strcasecmp(want, s) == 0)
		return 1;
	cli_fail("%s: %s is %s, expected %s", path, key, s, want ? want : "(missing)");
	return 0;
}

static int expected_ok(const char *file, const struct eif_pcrs *p, const char *path)
{
	json_error_t jerr;
	json_t *top = json_load_file(file, JSON_REJECT_DUPLICATES, &jerr), *m;
	int ok;

	if (!top)
		return cli_fail("%s: %s (line %d)", file, jerr.text, jerr.line), 0;
	m = json_object_get(top, "Measurements");
	if (!json_is_object(m))
		m = top;
	ok = check_pcr(m, "PCR0", p->pcr0, path) & check_pcr(m, "PCR1", p->pcr1, path) &
	     check_pcr(m, "PCR2", p->pcr2, path);
	if (json_object_get(m, "PCR8"))
		ok &= p->has_pcr8 ? check_pcr(m, "PCR8", p->pcr8, path) :
				    (cli_fail("%s: not signed, PCR8 expected", path), 0);
	json_decref(top);
	return ok;
}

int cmd_verify(int argc, char **argv)
{
	struct eif_report r;
	const char *path;
	struct args a;
	int ok = 1, rc;

	if (parse_args(argc, argv, &a, "pR") != CLI_OK || one_path(argc) != CLI_OK)
		return CLI_USAGE;
	path = argv[optind];
	rc = load(path, &r);
	if (rc != CLI_OK)
		return CLI_FAIL;
	if (!r.crc_ok)
		ok = 0, cli_fail("%s: CRC 0x%08x in the header, 0x%08x computed", path, r.img.hdr.crc,
				 r.crc);
	if (r.is_signed) {
		if (!r.sig_ok)
			ok = 0, cli_fail("%s: the signature does not verify with its certificate",
					 path);
		if (!r.sig_pcr0_ok)
			ok = 0, cli_fail("%s: the signature is over another PCR0", path);
		if (!cert_dates_ok(r.sig.cert_pem, path))
			ok = 0;
	} else if (a.require_sig) {
		ok = 0, cli_fail("%s: not signed", path);
	}
	if (a.pcrs && !expected_ok(a.pcrs, &r.pcrs, path))
		ok = 0;
	if (ok)
		printf("%s: OK\n", path);
	eif_report_free(&r);
	return ok ? CLI_OK : CLI_FAIL;
}

/* ---------------------------------------------------------------- extract */
static int extract_one(const struct eif_src *src, const struct eif_sec *s, int dfd,
		       const char *name, const char *dir)
{
	char err[EIF_ERR_MAX];
	int fd = openat(dfd, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
	int rc;

	if (fd < 0)
		return cli_fail("%s/%s: %s", dir, name, strerror(errno));
	rc = eif_copy_section(src, s, fd, err, sizeof(err));
	if (close(fd) < 0 && rc == 0)
		return cli_fail("%s/%s: %s", dir, name, strerror(errno));
	if (rc < 0)
		return cli_fail("%s/%s: %s", dir, name, err);
	return CLI_OK;
}

static int extract_all(const struct eif_src *src, const struct eif_image *img, int dfd,
		       const char *dir)
{
	unsigned i, rd = 0;

	for (i = 0; i < img->nsec; i++) {
		const struct eif_sec *s = &img->sec[i];
		char name[32];

		switch (s->type) {
		case EIF_SEC_KERNEL: snprintf(name, sizeof(name), "kernel"); break;
		case EIF_SEC_CMDLINE: snprintf(name, sizeof(name), "cmdline"); break;
		case EIF_SEC_METADATA: snprintf(name, sizeof(name), "metadata.json"); break;
		case EIF_SEC_SIGNATURE: snprintf(name, sizeof(name), "signature.cbor"); break;
		default: snprintf(name, sizeof(name), "ramdisk%u.cpio", rd++); break;
		}
		if (extract_one(src, s, dfd, name, dir) != CLI_OK)
			return CLI_FAIL;
	}
	return CLI_OK;
}

int cmd_extract(int argc, char **argv)
{
	char err[EIF_ERR_MAX];
	struct eif_image img;
	struct eif_src src;
	struct args a;
	int fd, dfd, rc;

	if (parse_args(argc, argv, &a, "") != CLI_OK)
		return CLI_USAGE;
	if (argc - optind != 2)
		return cli_usage_error("EIF and DIR are required");
	if (open_image(argv[optind], &fd, &src) != CLI_OK)
		return CLI_USAGE;
	if (eif_open(&src, &img, err, sizeof(err)) < 0) {
		close(fd);
		cli_fail("%s: %s", argv[optind], err);
		return CLI_USAGE;
	}
	if (mkdir(argv[optind + 1], 0755) < 0 && errno != EEXIST) {
		close(fd);
		return cli_fail("%s: %s", argv[optind + 1], strerror(errno));
	}
	dfd = open(argv[optind + 1], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0) {
		close(fd);
		return cli_fail("%s: %s", argv[optind + 1], strerror(errno));
	}
	rc = extract_all(&src, &img, dfd, argv[optind + 1]);
	close(dfd);
	close(fd);
	return rc;
}
