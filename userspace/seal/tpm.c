/* seal tpm seal|unseal: the parent's own credentials sealed to the host
 * TPM (docs/tpm.md). */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "lib/core/cli.h"
#include "lib/core/errfmt.h"
#include "lib/core/fdio.h"
#include "lib/core/outfile.h"
#include "lib/secrets/tpm.h"
#include "lib/secrets/tpm_blob.h"
#include "seal/seal.h"

#define ERRLEN 512

/* A whole file ('-' or NULL: stdin) of at most max bytes. */
static int read_bounded(const char *path, size_t max, uint8_t **out, size_t *len, char *err)
{
	int fd = !path || strcmp(path, "-") == 0 ? 0 : open(path, O_RDONLY | O_CLOEXEC);
	const char *name = fd == 0 ? "stdin" : path;
	uint8_t *buf;
	size_t n = 0;
	ssize_t r = 0;

	if (fd < 0)
		return errfmt(err, ERRLEN, "%s: %s", path, strerror(errno));
	buf = malloc(max + 1);
	while (buf && n <= max && (r = read(fd, buf + n, max + 1 - n)) != 0) {
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			break;
		n += (size_t)r;
	}
	if (fd)
		close(fd);
	if (!buf || r < 0 || n > max) {
		if (buf)
			OPENSSL_cleanse(buf, n < max + 1 ? n : max + 1);
		free(buf);
		if (r < 0)
			return errfmt(err, ERRLEN, "%s: %s", name, strerror(errno));
		return errfmt(err, ERRLEN, "%s: larger than %zu bytes", name, max);
	}
	*out = buf;
	*len = n;
	return 0;
}

static int write_out(const char *path, const uint8_t *buf, size_t len, char *err)
{
	struct outfile o;

	if (outfile_open(&o, path, 0, err, ERRLEN) < 0)
		return -1;
	if (fd_write_all(o.fd, buf, len) < 0) {
		errfmt(err, ERRLEN, "%s: %s", path, strerror(errno));
		outfile_abort(&o);
		return -1;
	}
	return outfile_commit(&o, err, ERRLEN);
}

struct tpm_opts {
	const char *tcti;
	const char *pcr;
	const char *out;
};

static int parse_opts(int argc, char **argv, struct tpm_opts *o, int want_pcr)
{
	static const struct option opts[] = {
		{ "tcti", required_argument, NULL, 'T' },
		{ "pcr", required_argument, NULL, 'p' },
		{ "output", required_argument, NULL, 'o' },
		CLI_COMMON_LONGOPTS,
		{ NULL, 0, NULL, 0 },
	};
	int c;

	memset(o, 0, sizeof(*o));
	o->tcti = getenv("NEK_TPM_TCTI") ? getenv("NEK_TPM_TCTI") : TPM_DEFAULT_TCTI;
	while ((c = getopt_long(argc, argv, "T:o:" CLI_COMMON_SHORTOPTS, opts, NULL)) != -1) {
		if (c == 'T')
			o->tcti = optarg;
		else if (c == 'p' && want_pcr)
			o->pcr = optarg;
		else if (c == 'o')
			o->out = optarg;
		else if (cli_common_opt(c) != CLI_OK)
			return CLI_USAGE;
	}
	return CLI_OK;
}

static int tpm_seal_cmd(int argc, char **argv)
{
	struct tpm_opts o;
	char err[ERRLEN];
	uint8_t *in = NULL, *blob = NULL;
	size_t in_len, blob_len;
	uint32_t mask;
	int rc;

	if (parse_opts(argc, argv, &o, 1) != CLI_OK)
		return CLI_USAGE;
	if (!o.pcr)
		return cli_usage_error("seal: --pcr LIST is required");
	if (!o.out)
		return cli_usage_error("seal: -o BLOB is required");
	if (argc - optind > 1)
		return cli_usage_error("seal: one input at most");
	if (tpm_pcr_parse(o.pcr, &mask, err, sizeof(err)) < 0)
		return cli_usage_error("%s", err);
	if (read_bounded(argv[optind], TPM_BLOB_MAX_DATA, &in, &in_len, err) < 0)
		return cli_fail("%s", err);
	rc = tpm_seal(o.tcti, mask, in, in_len, &blob, &blob_len, err, sizeof(err));
	OPENSSL_cleanse(in, in_len);
	free(in);
	if (rc < 0)
		return cli_fail("seal: %s", err);
	rc = write_out(o.out, blob, blob_len, err);
	free(blob);
	return rc < 0 ? cli_fail("%s", err) : CLI_OK;
}

static int tpm_unseal_cmd(int argc, char **argv)
{
	struct tpm_opts o;
	char err[ERRLEN];
	uint8_t *blob = NULL, *plain = NULL;
	size_t blob_len, plain_len;
	int rc;

	if (parse_opts(argc, argv, &o, 0) != CLI_OK)
		return CLI_USAGE;
	if (argc - optind != 1)
		return cli_usage_error("unseal: one BLOB is required");
	if (read_bounded(argv[optind], TPM_BLOB_MAX, &blob, &blob_len, err) < 0)
		return cli_fail("%s", err);
	rc = tpm_unseal(o.tcti, argv[optind], blob, blob_len, &plain, &plain_len, err, sizeof(err));
	free(blob);
	if (rc < 0)
		return cli_fail("unseal: %s", err);
	rc = write_out(o.out ? o.out : "-", plain, plain_len, err);
	OPENSSL_cleanse(plain, plain_len);
	free(plain);
	return rc < 0 ? cli_fail("%s", err) : CLI_OK;
}

int seal_cmd_tpm(int argc, char **argv)
{
	static const struct cli_verb verbs[] = {
		{ "seal", tpm_seal_cmd },
		{ "unseal", tpm_unseal_cmd },
	};

	return cli_verb_run(verbs, sizeof(verbs) / sizeof(verbs[0]), argc, argv);
}
