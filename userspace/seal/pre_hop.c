/* seal pre hop | forward | chain: multi-hop sharing (docs/umbral-hops.md). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "lib/core/cli.h"
#include "lib/core/errfmt.h"
#include "lib/core/fdio.h"
#include "lib/core/outfile.h"
#include "lib/core/parse.h"
#include "lib/secrets/age_umbral.h"
#include "seal/pre.h"

/* ---------------------------------------------------------------- hop */
static int hop_run(const char *from, const char *to, const char *out, const char *in, char *err)
{
	struct age_umbral_hop hop;
	struct age_header h;
	struct umb_sk sk;
	struct umb_pk pk;
	uint8_t b[AGE_UMBRAL_HOP_LEN];
	char e[PRE_ERRLEN];
	size_t used;
	int rc = -1;

	if (pre_load_sk(from, &sk, err))
		return -1;
	if (pre_load_pk(to, &pk, err) == 0 && pre_read_header(in, &h, &used, err) == 0) {
		if (age_umbral_hop_sign(&h, &sk, &pk, &hop, e, sizeof(e)))
			errfmt(err, PRE_ERRLEN, "%s: %s", in, e);
		else
			rc = pre_write(out, b, age_umbral_hop_bytes(&hop, b), err);
		age_header_free(&h);
	}
	umb_sk_clear(&sk);
	return rc;
}

int pre_cmd_hop(int argc, char **argv)
{
	static const struct option lo[] = { { "from", required_argument, NULL, 'f' },
					     { "to", required_argument, NULL, 't' },
					     { "output", required_argument, NULL, 'o' },
					     CLI_COMMON_LONGOPTS,
					     { 0 } };
	const char *from = NULL, *to = NULL, *out = NULL;
	const struct pre_opt t[] = { { 'f', &from }, { 't', &to }, { 'o', &out }, { 0 } };
	char err[PRE_ERRLEN];
	int c;

	while ((c = getopt_long(argc, argv, "o:" CLI_COMMON_SHORTOPTS, lo, NULL)) != -1)
		if (!pre_opt_take(c, t) && cli_common_opt(c) != CLI_OK)
			return CLI_USAGE;
	if (argc - optind != 1 || !from || !to || !out)
		return cli_usage_error("hop needs --from SK --to PK -o HOP FILE.age");
	return hop_run(from, to, out, argv[optind], err) ? cli_fail("%s", err) : CLI_OK;
}

/* ---------------------------------------------------------------- forward */
struct fwd {
	const char *sk, *cfrags, *vk, *hop, *out, *in;
};

/* The header with two stanzas more (the new tip, the hop), MAC'd under fk. */
static int new_header(const struct age_header *h, const struct umb_pk *to,
		      const struct age_umbral_hop *hop, const uint8_t fk[AGE_FILE_KEY_LEN],
		      uint8_t **hdr, size_t *hlen, char *err)
{
	struct age_stanza *st = calloc(h->n + 2, sizeof(*st));
	struct age_recipient r = { .type = &age_rtype_umbral };
	char e[PRE_ERRLEN];
	int rc = -1;

	if (!st)
		return errfmt(err, PRE_ERRLEN, "out of memory");
	memcpy(st, h->st, h->n * sizeof(*st));
	umb_pk_bytes(to, r.key);
	if (age_rtype_umbral.wrap(&r, fk, &st[h->n], e, sizeof(e)) ||
	    age_umbral_hop_stanza(hop, &st[h->n + 1], e, sizeof(e)) ||
	    age_header_encode(st, h->n + 2, fk, hdr, hlen, e, sizeof(e)))
		errfmt(err, PRE_ERRLEN, "new header: %s", e);
	else
		rc = 0;
	age_stanza_free(&st[h->n]);
	age_stanza_free(&st[h->n + 1]);
	free(st);
	return rc;
}

/* The payload, byte for byte: everything of in after its header. */
static int copy_payload(const char *in, size_t off, int out, char *err)
{
	uint8_t buf[65536];
	int fd = open(in, O_RDONLY | O_CLOEXEC);
	ssize_t r = 0;

	if (fd < 0 || lseek(fd, (off_t)off, SEEK_SET) < 0) {
		errfmt(err, PRE_ERRLEN, "%s: %s", in, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	while ((r = read(fd, buf, sizeof(buf))) > 0 || (r < 0 && errno == EINTR))
		if (r > 0 && fd_write_all(out, buf, (size_t)r))
			break;
	close(fd);
	return r != 0 ? errfmt(err, PRE_ERRLEN, "%s: %s", in, strerror(errno)) : 0;
}

static int write_forwarded(const struct fwd *a, const uint8_t *hdr, size_t hlen, size_t used,
			   char *err)
{
	struct outfile o;

	if (outfile_open(&o, a->out, 0, err, PRE_ERRLEN))
		return -1;
	if (fd_write_all(o.fd, hdr, hlen)) {
		errfmt(err, PRE_ERRLEN, "%s: %s", a->out, strerror(errno));
		outfile_abort(&o);
		return -1;
	}
	if (copy_payload(a->in, used, o.fd, err)) {
		outfile_abort(&o);
		return -1;
	}
	return outfile_commit(&o, err, PRE_ERRLEN);
}

/* The file key, from the tip with the cfrags, after the hop is checked. */
static int open_tip(const struct fwd *a, const struct age_header *h,
		    const struct age_umbral_hop *hop, uint8_t fk[AGE_FILE_KEY_LEN], char *err)
{
	struct age_identity id;
	struct umb_sk sk;
	struct umb_pk pk;
	char e[PRE_ERRLEN];
	int rc;

	if (age_umbral_hop_check(h, hop, e, sizeof(e)))
		return errfmt(err, PRE_ERRLEN, "%s: %s", a->hop, e);
	if (pre_load_sk(a->sk, &sk, err))
		return -1;
	rc = umb_sk_public(&sk, &pk, e, sizeof(e));
	umb_sk_clear(&sk);
	if (rc || !umb_pk_equal(&pk, &hop->to))
		return errfmt(err, PRE_ERRLEN, "%s: the hop is not to %s's key", a->hop, a->sk);
	if (pre_umbral_identity(a->sk, a->cfrags, a->vk, &id, err))
		return -1;
	rc = age_unwrap_file_key(h, &id, 1, fk, e, sizeof(e));
	age_identity_clear(&id);
	if (rc == AGE_NOMATCH)
		return errfmt(err, PRE_ERRLEN, "%s: no cfrag in %s verifies for its tip", a->in,
			      a->cfrags);
	return rc ? errfmt(err, PRE_ERRLEN, "%s: %s", a->in, e) : 0;
}

static int forward_run(const struct fwd *a, char *err)
{
	struct age_umbral_hop hop;
	struct age_header h;
	uint8_t *b = NULL, *hdr = NULL, fk[AGE_FILE_KEY_LEN];
	size_t n = 0, used, hlen = 0;
	char e[PRE_ERRLEN];
	int rc = -1;

	if (pre_read(a->hop, 1024, &b, &n, err))
		return -1;
	rc = age_umbral_hop_parse(b, n, &hop, e, sizeof(e));
	free(b);
	if (rc)
		return errfmt(err, PRE_ERRLEN, "%s: %s", a->hop, e);
	if (pre_read_header(a->in, &h, &used, err))
		return -1;
	rc = open_tip(a, &h, &hop, fk, err) || new_header(&h, &hop.to, &hop, fk, &hdr, &hlen, err) ||
	     write_forwarded(a, hdr, hlen, used, err) ? -1 : 0;
	OPENSSL_cleanse(fk, sizeof(fk));
	free(hdr);
	age_header_free(&h);
	return rc;
}

int pre_cmd_forward(int argc, char **argv)
{
	static const struct option lo[] = { { "umbral-key", required_argument, NULL, 'k' },
					     { "cfrags", required_argument, NULL, 'C' },
					     { "verifying-key", required_argument, NULL, 'V' },
					     { "hop", required_argument, NULL, 'H' },
					     { "output", required_argument, NULL, 'o' },
					     CLI_COMMON_LONGOPTS,
					     { 0 } };
	struct fwd a = { 0 };
	const struct pre_opt t[] = { { 'k', &a.sk }, { 'C', &a.cfrags }, { 'V', &a.vk },
				     { 'H', &a.hop }, { 'o', &a.out }, { 0 } };
	char err[PRE_ERRLEN];
	int c;

	while ((c = getopt_long(argc, argv, "o:" CLI_COMMON_SHORTOPTS, lo, NULL)) != -1)
		if (!pre_opt_take(c, t) && cli_common_opt(c) != CLI_OK)
			return CLI_USAGE;
	if (argc - optind != 1 || !a.sk || !a.cfrags || !a.vk || !a.hop || !a.out)
		return cli_usage_error("forward needs --umbral-key SK --cfrags DIR --verifying-key PK "
				       "--hop HOP -o OUT FILE.age");
	a.in = argv[optind];
	if (strcmp(a.in, "-") == 0)
		return cli_usage_error("forward reads FILE.age twice: give a file");
	return forward_run(&a, err) ? cli_fail("%s", err) : CLI_OK;
}

/* ---------------------------------------------------------------- chain */
int pre_cmd_chain(int argc, char **argv)
{
	static const struct option lo[] = { CLI_COMMON_LONGOPTS, { 0 } };
	struct umb_pk keys[AGE_UMBRAL_HOP_MAX + 1];
	struct age_header h;
	uint8_t b[UMB_POINT_LEN];
	char err[PRE_ERRLEN], e[PRE_ERRLEN], hex[2 * UMB_POINT_LEN + 1];
	size_t used, n = 0;
	int c, rc;

	while ((c = getopt_long(argc, argv, CLI_COMMON_SHORTOPTS, lo, NULL)) != -1)
		if (cli_common_opt(c) != CLI_OK)
			return CLI_USAGE;
	if (argc - optind != 1)
		return cli_usage_error("chain needs FILE.age");
	if (pre_read_header(argv[optind], &h, &used, err))
		return cli_fail("%s", err);
	rc = age_umbral_chain(&h, keys, AGE_UMBRAL_HOP_MAX + 1, &n, e, sizeof(e));
	age_header_free(&h);
	if (rc)
		return cli_fail("%s: %s", argv[optind], e);
	if (n == 0)
		return cli_fail("%s: no umbral stanza", argv[optind]);
	for (size_t i = 0; i < n; i++) {
		umb_pk_bytes(&keys[i], b);
		format_hex(b, sizeof(b), hex);
		printf("%s\n", hex);
	}
	return CLI_OK;
}
