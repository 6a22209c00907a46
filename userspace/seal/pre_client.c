/* The client side of nek-pre/1 (docs/umbral-proxy.md): asking proxies for
 * cfrags, and seal pre stats. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "lib/core/addr.h"
#include "lib/core/cli.h"
#include "lib/core/errfmt.h"
#include "lib/core/parse.h"
#include "lib/core/sock.h"
#include "lib/secrets/age_umbral.h"
#include "seal/pre.h"
#include "seal/pre_proto.h"

/* One request/response on a new connection; the body in buf. */
static int exchange(const char *proxy, int timeout_ms, const uint8_t *req, size_t reqlen,
		    uint8_t *buf, size_t *n, char *err)
{
	struct addr a;
	int fd, rc;

	if (addr_parse(proxy, &a, err, PRE_ERRLEN))
		return -1;
	fd = sock_connect(&a, timeout_ms, 0, err, PRE_ERRLEN);
	if (fd < 0)
		return -1;
	pre_fd_timeouts(fd, timeout_ms);
	rc = pre_frame_write(fd, req, reqlen, err, PRE_ERRLEN) ||
	     pre_frame_read(fd, buf, n, err, PRE_ERRLEN) ? -1 : 0;
	close(fd);
	return rc;
}

/* The cfrags of one response appended to out; -1 with err for a refusal or
 * a malformed answer. */
static int take_cfrags(const uint8_t *b, size_t n, struct umb_cfrag *out, size_t room,
		       size_t *got, char *err)
{
	char e[PRE_ERRLEN];
	size_t k;

	if (b[0] != PRE_OK)
		return errfmt(err, PRE_ERRLEN, "status %u: %.*s", b[0], (int)(n - 1 < 200 ? n - 1 : 200),
			      (const char *)b + 1);
	if (n < 2 || n != 2 + (size_t)b[1] * UMB_CFRAG_LEN)
		return errfmt(err, PRE_ERRLEN, "malformed answer (%zu bytes)", n);
	k = b[1] < room ? b[1] : room;
	for (size_t i = 0; i < k; i++)
		if (umb_cfrag_parse(b + 2 + i * UMB_CFRAG_LEN, UMB_CFRAG_LEN, &out[i], e, sizeof(e)))
			return errfmt(err, PRE_ERRLEN, "%s", e);
	*got = k;
	return 0;
}

/* A request for c, with the document when there is one. */
static int request(const struct umb_sk *sk, const struct umb_capsule *c, const uint8_t *doc,
		   size_t doc_len, uint8_t *req, size_t *n, char *err)
{
	*n = PRE_REQ_LEN;
	if (doc)
		return pre_req_build_attested(sk, (uint64_t)time(NULL), c, doc, doc_len, req, n, err,
					      PRE_ERRLEN);
	return pre_req_build(sk, (uint64_t)time(NULL), c, req, err, PRE_ERRLEN);
}

static size_t ask_all(const struct umb_sk *sk, const struct umb_capsule *c, const uint8_t *doc,
		      size_t doc_len, const char *const *proxies, size_t np, int timeout_ms,
		      struct umb_cfrag *cf)
{
	static uint8_t req[PRE_REQ_LEN + 2 + PRE_DOC_MAX], buf[PRE_FRAME_MAX];
	char err[PRE_ERRLEN];
	size_t n, rn, total = 0, got;

	for (size_t i = 0; i < np; i++) {
		got = 0;
		if (request(sk, c, doc, doc_len, req, &rn, err) ||
		    exchange(proxies[i], timeout_ms, req, rn, buf, &n, err) ||
		    take_cfrags(buf, n, cf + total, UMB_MAX_SHARES - total, &got, err))
			fprintf(stderr, "seal decrypt: proxy %s: %s (skipped)\n", proxies[i], err);
		total += got;
	}
	return total;
}

static int identity_proxies(const char *skp, const char *vk, const char *const *proxies,
			    size_t np, int timeout_ms, const uint8_t *doc, size_t doc_len,
			    const char *in, struct age_identity *id, char *err)
{
	struct umb_cfrag *cf = calloc(UMB_MAX_SHARES, sizeof(*cf));
	struct umb_capsule c;
	struct umb_pk pk_a, pk_s;
	struct umb_sk sk;
	char e[PRE_ERRLEN];
	size_t n;
	int rc = -1;

	if (!cf)
		return errfmt(err, PRE_ERRLEN, "out of memory");
	memset(&sk, 0, sizeof(sk));
	if (pre_load_sk(skp, &sk, err) == 0 && pre_load_pk(vk, &pk_s, err) == 0 &&
	    pre_file_capsule(in, &c, &pk_a, err) == 0) {
		n = ask_all(&sk, &c, doc, doc_len, proxies, np, timeout_ms, cf);
		if (n == 0)
			errfmt(err, PRE_ERRLEN, "no proxy gave a cfrag (of %zu asked)", np);
		else if (age_umbral_identity_receiver(&sk, &pk_s, cf, n, id, e, sizeof(e)))
			errfmt(err, PRE_ERRLEN, "%s: %s", skp, e);
		else
			rc = 0;
	}
	umb_sk_clear(&sk);
	OPENSSL_cleanse(cf, UMB_MAX_SHARES * sizeof(*cf));
	free(cf);
	return rc;
}

int pre_umbral_identity_proxies(const char *skp, const char *vk, const char *const *proxies,
				size_t np, int timeout_ms, const char *docp, const char *in,
				struct age_identity *id, char *err)
{
	uint8_t *doc = NULL;
	size_t doc_len = 0;
	int rc;

	if (docp && pre_read(docp, PRE_DOC_MAX, &doc, &doc_len, err))
		return -1;
	rc = identity_proxies(skp, vk, proxies, np, timeout_ms, doc, doc_len, in, id, err);
	free(doc);
	return rc;
}

int pre_cmd_stats(int argc, char **argv)
{
	static const struct option lo[] = { CLI_COMMON_LONGOPTS, { 0 } };
	uint8_t req[2] = { PRE_VERSION, PRE_OP_STATS }, buf[PRE_FRAME_MAX];
	char err[PRE_ERRLEN];
	size_t n;
	int c;

	while ((c = getopt_long(argc, argv, CLI_COMMON_SHORTOPTS, lo, NULL)) != -1)
		if (cli_common_opt(c) != CLI_OK)
			return CLI_USAGE;
	if (argc - optind != 1)
		return cli_usage_error("stats needs one ADDR");
	if (exchange(argv[optind], 2000, req, sizeof(req), buf, &n, err))
		return cli_fail("%s: %s", argv[optind], err);
	if (buf[0] != PRE_OK)
		return cli_fail("%s: status %u", argv[optind], buf[0]);
	printf("%.*s\n", (int)(n - 1), (const char *)buf + 1);
	return CLI_OK;
}
