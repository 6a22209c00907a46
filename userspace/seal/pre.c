/* seal pre keygen|encrypt|decrypt|kfrags|reencrypt|capsule|bench (docs/seal.md, "pre"). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "lib/core/cli.h"
#include "lib/core/errfmt.h"
#include "lib/core/parse.h"
#include "lib/secrets/age_umbral.h"
#include "seal/pre.h"
#include "seal/seal.h"

#define MAX_CFRAGS UMB_MAX_SHARES
#define PATH_LEN 4096

static int failed(const char *err)
{
	return cli_fail("%s", err);
}

/* ---------------------------------------------------------------- keygen */
static int keygen_from_seed(const char *seedfile, const char *label, struct umb_sk *sk,
			    char *err)
{
	uint8_t *seed;
	size_t n;
	int rc;

	if (pre_read(seedfile, UMB_SEED_LEN + 1, &seed, &n, err))
		return -1;
	if (n != UMB_SEED_LEN)
		rc = errfmt(err, PRE_ERRLEN, "%s: %zu bytes, a seed is %d", seedfile, n,
			    UMB_SEED_LEN);
	else
		rc = umb_sk_from_seed(seed, label, sk, err, PRE_ERRLEN);
	OPENSSL_cleanse(seed, n);
	free(seed);
	return rc;
}

static int keygen_write(const char *name, const struct umb_sk *sk, bool force, char *err)
{
	char path[PATH_LEN];
	uint8_t pkb[UMB_POINT_LEN];
	struct umb_pk pk;

	if (umb_sk_public(sk, &pk, err, PRE_ERRLEN))
		return -1;
	umb_pk_bytes(&pk, pkb);
	if (snprintf(path, sizeof(path), "%s.sk", name) >= (int)sizeof(path))
		return errfmt(err, PRE_ERRLEN, "%s: name too long", name);
	if (pre_write_secret(path, sk->s.b, UMB_SCALAR_LEN, force, err))
		return -1;
	snprintf(path, sizeof(path), "%s.pk", name);
	return pre_write(path, pkb, sizeof(pkb), err);
}

static int pre_keygen(int argc, char **argv)
{
	static const struct option lo[] = { { "output", required_argument, NULL, 'o' },
					     { "force", no_argument, NULL, 'f' },
					     { "seed", required_argument, NULL, 's' },
					     { "label", required_argument, NULL, 'l' },
					     CLI_COMMON_LONGOPTS,
					     { 0 } };
	const char *name = NULL, *seed = NULL, *label = NULL;
	char err[PRE_ERRLEN];
	struct umb_sk sk;
	bool force = false;
	const struct pre_opt t[] = { { 'o', &name }, { 's', &seed }, { 'l', &label },
				     { 'f', NULL, &force, true }, { 0 } };
	int c, rc;

	while ((c = getopt_long(argc, argv, "o:" CLI_COMMON_SHORTOPTS, lo, NULL)) != -1)
		if (!pre_opt_take(c, t) && cli_common_opt(c) != CLI_OK)
			return CLI_USAGE;
	if (optind != argc)
		return cli_usage_error("unexpected argument '%s'", argv[optind]);
	if (!name)
		return cli_usage_error("keygen needs -o NAME");
	if (!seed != !label)
		return cli_usage_error("--seed and --label go together");
	rc = seed ? keygen_from_seed(seed, label, &sk, err) : umb_sk_generate(&sk, err, sizeof(err));
	if (!rc)
		rc = keygen_write(name, &sk, force, err);
	umb_sk_clear(&sk);
	return rc ? failed(err) : CLI_OK;
}

/* ---------------------------------------------------------------- encrypt */
static int pre_encrypt(int argc, char **argv)
{
	static const struct option lo[] = { { "to", required_argument, NULL, 't' },
					     { "capsule-out", required_argument, NULL, 'c' },
					     { "output", required_argument, NULL, 'o' },
					     { "simple", no_argument, NULL, 's' },
					     CLI_COMMON_LONGOPTS,
					     { 0 } };
	const char *to = NULL, *cout = NULL, *out = NULL, *in;
	uint8_t *pt = NULL, *ct = NULL, cb[UMB_CAPSULE_LEN];
	char err[PRE_ERRLEN];
	struct umb_capsule cap;
	struct umb_pk pk;
	bool simple = false;
	const struct pre_opt t[] = { { 't', &to }, { 'c', &cout }, { 'o', &out },
				     { 's', NULL, &simple, true }, { 0 } };
	size_t n = 0;
	int c, rc = -1;

	while ((c = getopt_long(argc, argv, "o:" CLI_COMMON_SHORTOPTS, lo, NULL)) != -1)
		if (!pre_opt_take(c, t) && cli_common_opt(c) != CLI_OK)
			return CLI_USAGE;
	if (pre_opt_input(argc, argv, &in) != CLI_OK)
		return CLI_USAGE;
	if (!to || !cout)
		return cli_usage_error("encrypt needs --to PK and --capsule-out FILE");
	if (pre_load_pk(to, &pk, err) || pre_read(in, PRE_MAX_DATA, &pt, &n, err))
		return failed(err);
	ct = malloc(n + UMB_DEM_OVERHEAD);
	if (!ct)
		errfmt(err, sizeof(err), "%s: out of memory", in);
	else if (umb_encrypt(&pk, pt, n, &cap, ct, err, sizeof(err)) == 0 &&
		 pre_write(cout, cb, umb_capsule_bytes(&cap, simple, cb), err) == 0)
		rc = pre_write(out, ct, n + UMB_DEM_OVERHEAD, err);
	OPENSSL_cleanse(pt, n);
	free(pt);
	free(ct);
	return rc ? failed(err) : CLI_OK;
}

/* ---------------------------------------------------------------- decrypt */
struct dec_args {
	const char *sk, *capsule, *from, *vk, *out, *in;
	const char *cfrags[MAX_CFRAGS];
	size_t ncfrags;
};

/* Loads and verifies every cfrag: a lying proxy or a foreign cfrag is named. */
static int load_cfrags(const struct dec_args *a, const struct umb_capsule *cap,
		       const struct umb_pk *pk_a, const struct umb_pk *pk_s,
		       const struct umb_pk *pk_b, struct umb_cfrag *cf, char *err)
{
	char e[PRE_ERRLEN];

	for (size_t i = 0; i < a->ncfrags; i++) {
		if (pre_load_cfrag(a->cfrags[i], &cf[i], err))
			return -1;
		if (umb_cfrag_verify(&cf[i], cap, pk_s, pk_a, pk_b, e, sizeof(e)))
			return errfmt(err, PRE_ERRLEN, "%s: %s", a->cfrags[i], e);
	}
	return 0;
}

static int decrypt_run(const struct dec_args *a, char *err)
{
	struct umb_capsule cap;
	struct umb_sk sk;
	struct umb_pk pk_a, pk_s, pk_b;
	struct umb_cfrag *cf = NULL;
	uint8_t *ct = NULL, *pt = NULL;
	size_t n = 0;
	int rc = -1;

	if (pre_load_sk(a->sk, &sk, err))
		return -1;
	if (pre_load_capsule(a->capsule, &cap, err) || pre_read(a->in, PRE_MAX_DATA + UMB_DEM_OVERHEAD,
								 &ct, &n, err))
		goto out;
	pt = malloc(n > UMB_DEM_OVERHEAD ? n - UMB_DEM_OVERHEAD : 1);
	cf = calloc(a->ncfrags ? a->ncfrags : 1, sizeof(*cf));
	if (!pt || !cf) {
		errfmt(err, PRE_ERRLEN, "out of memory");
		goto out;
	}
	if (!a->ncfrags) {
		rc = umb_decrypt_original(&sk, &cap, ct, n, pt, err, PRE_ERRLEN);
	} else if (pre_load_pk(a->from, &pk_a, err) == 0 && pre_load_pk(a->vk, &pk_s, err) == 0 &&
		   umb_sk_public(&sk, &pk_b, err, PRE_ERRLEN) == 0 &&
		   load_cfrags(a, &cap, &pk_a, &pk_s, &pk_b, cf, err) == 0) {
		rc = umb_decrypt_reencrypted(&sk, &pk_a, &cap, cf, a->ncfrags, ct, n, pt, err,
					     PRE_ERRLEN);
	}
	if (rc == 0)
		rc = pre_write(a->out, pt, n - UMB_DEM_OVERHEAD, err);
out:
	umb_sk_clear(&sk);
	if (pt && n > UMB_DEM_OVERHEAD)
		OPENSSL_cleanse(pt, n - UMB_DEM_OVERHEAD);
	free(pt);
	free(ct);
	free(cf);
	return rc;
}

static int pre_decrypt(int argc, char **argv)
{
	static const struct option lo[] = { { "sk", required_argument, NULL, 'k' },
					     { "capsule", required_argument, NULL, 'c' },
					     { "from", required_argument, NULL, 'f' },
					     { "verifying-key", required_argument, NULL, 'V' },
					     { "cfrag", required_argument, NULL, 'F' },
					     { "output", required_argument, NULL, 'o' },
					     CLI_COMMON_LONGOPTS,
					     { 0 } };
	struct dec_args a = { 0 };
	const struct pre_opt t[] = { { 'k', &a.sk }, { 'c', &a.capsule }, { 'f', &a.from },
				     { 'V', &a.vk }, { 'o', &a.out }, { 0 } };
	char err[PRE_ERRLEN];
	int c;

	while ((c = getopt_long(argc, argv, "o:" CLI_COMMON_SHORTOPTS, lo, NULL)) != -1) {
		if (pre_opt_take(c, t))
			continue;
		if (c == 'F' && a.ncfrags == MAX_CFRAGS)
			return cli_usage_error("more than %d --cfrag", MAX_CFRAGS);
		if (c == 'F')
			a.cfrags[a.ncfrags++] = optarg;
		else if (cli_common_opt(c) != CLI_OK)
			return CLI_USAGE;
	}
	if (pre_opt_input(argc, argv, &a.in) != CLI_OK)
		return CLI_USAGE;
	if (!a.sk || !a.capsule)
		return cli_usage_error("decrypt needs --sk SK and --capsule C");
	if (a.ncfrags && (!a.from || !a.vk))
		return cli_usage_error("--cfrag needs --from PK_A and --verifying-key PK_S");
	if (!a.ncfrags && (a.from || a.vk))
		return cli_usage_error("--from and --verifying-key go with --cfrag");
	return decrypt_run(&a, err) ? failed(err) : CLI_OK;
}

/* ---------------------------------------------------------------- kfrags */
struct kf_args {
	const char *from, *to, *signer, *dir;
	unsigned m, n;
	bool sign_dk, sign_rk, force;
};

static int kfrags_write(const struct kf_args *a, const struct umb_kfrag *kf, char *err)
{
	char path[PATH_LEN];
	uint8_t b[UMB_KFRAG_LEN];
	int rc = 0;

	if (mkdir(a->dir, 0700) && errno != EEXIST)
		return errfmt(err, PRE_ERRLEN, "%s: %s", a->dir, strerror(errno));
	for (unsigned i = 0; i < a->n && !rc; i++) {
		if (snprintf(path, sizeof(path), "%s/kfrag-%u", a->dir, i + 1) >= (int)sizeof(path))
			return errfmt(err, PRE_ERRLEN, "%s: name too long", a->dir);
		umb_kfrag_bytes(&kf[i], b);
		rc = pre_write_secret(path, b, sizeof(b), a->force, err);
	}
	OPENSSL_cleanse(b, sizeof(b));
	return rc;
}

static int kfrags_run(const struct kf_args *a, char *err)
{
	struct umb_sk sk_a, signer;
	struct umb_pk pk_b;
	struct umb_kfrag *kf = calloc(a->n, sizeof(*kf));
	int rc = -1;

	memset(&sk_a, 0, sizeof(sk_a));
	memset(&signer, 0, sizeof(signer));
	if (!kf)
		return errfmt(err, PRE_ERRLEN, "out of memory");
	if (pre_load_sk(a->from, &sk_a, err) == 0 && pre_load_pk(a->to, &pk_b, err) == 0 &&
	    pre_load_sk(a->signer, &signer, err) == 0 &&
	    umb_kfrags(&sk_a, &pk_b, &signer, a->m, a->n, a->sign_dk, a->sign_rk, kf, err,
		       PRE_ERRLEN) == 0)
		rc = kfrags_write(a, kf, err);
	umb_sk_clear(&sk_a);
	umb_sk_clear(&signer);
	OPENSSL_cleanse(kf, a->n * sizeof(*kf));
	free(kf);
	return rc;
}

static int count_arg(const char *opt, const char *s, unsigned *out)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || end == s || *end || s[0] == '-' || v < 1 || v > UMB_MAX_SHARES)
		return cli_usage_error("%s: '%s' is not a count from 1 to %d", opt, s,
				       UMB_MAX_SHARES);
	*out = (unsigned)v;
	return CLI_OK;
}

static int pre_kfrags(int argc, char **argv)
{
	static const struct option lo[] = { { "from", required_argument, NULL, 'f' },
					     { "to", required_argument, NULL, 't' },
					     { "signer", required_argument, NULL, 's' },
					     { "output", required_argument, NULL, 'o' },
					     { "no-sign-delegating", no_argument, NULL, 'D' },
					     { "no-sign-receiving", no_argument, NULL, 'R' },
					     { "force", no_argument, NULL, 'F' },
					     CLI_COMMON_LONGOPTS,
					     { 0 } };
	struct kf_args a = { .sign_dk = true, .sign_rk = true };
	const struct pre_opt t[] = { { 'f', &a.from }, { 't', &a.to }, { 's', &a.signer },
				     { 'o', &a.dir }, { 'D', NULL, &a.sign_dk, false },
				     { 'R', NULL, &a.sign_rk, false }, { 'F', NULL, &a.force, true },
				     { 0 } };
	char err[PRE_ERRLEN];
	int c;

	while ((c = getopt_long(argc, argv, "m:n:o:" CLI_COMMON_SHORTOPTS, lo, NULL)) != -1) {
		if (pre_opt_take(c, t))
			continue;
		if (c == 'm' || c == 'n') {
			if (count_arg(c == 'm' ? "-m" : "-n", optarg, c == 'm' ? &a.m : &a.n))
				return CLI_USAGE;
		} else if (cli_common_opt(c) != CLI_OK)
			return CLI_USAGE;
	}
	if (optind != argc)
		return cli_usage_error("unexpected argument '%s'", argv[optind]);
	if (!a.from || !a.to || !a.signer || !a.dir || !a.m || !a.n)
		return cli_usage_error("kfrags needs --from SK --to PK --signer SK -m M -n N -o DIR");
	if (a.m > a.n)
		return cli_usage_error("-m %u is more than -n %u", a.m, a.n);
	return kfrags_run(&a, err) ? failed(err) : CLI_OK;
}

/* ---------------------------------------------------------------- reencrypt */
struct re_args {
	const char *kfrag, *capsule, *vk, *from, *to, *out;
	bool simple;
};

static int reencrypt_run(const struct re_args *a, char *err)
{
	struct umb_kfrag kf;
	struct umb_capsule cap;
	struct umb_cfrag cf;
	struct umb_pk pk_s, pk_a, pk_b;
	uint8_t b[UMB_CFRAG_LEN];
	char e[PRE_ERRLEN];
	int rc = -1;

	if (pre_load_kfrag(a->kfrag, &kf, err) || pre_load_capsule(a->capsule, &cap, err))
		goto out;
	if (a->vk) {
		if (pre_load_pk(a->vk, &pk_s, err) || (a->from && pre_load_pk(a->from, &pk_a, err)) ||
		    (a->to && pre_load_pk(a->to, &pk_b, err)))
			goto out;
		if (umb_kfrag_verify(&kf, &pk_s, a->from ? &pk_a : NULL, a->to ? &pk_b : NULL, e,
				     sizeof(e))) {
			errfmt(err, PRE_ERRLEN, "%s: %s", a->kfrag, e);
			goto out;
		}
	}
	if (umb_reencrypt(&cap, &kf, &cf, err, PRE_ERRLEN) == 0)
		rc = pre_write(a->out, b, umb_cfrag_bytes(&cf, a->simple, b), err);
out:
	OPENSSL_cleanse(&kf, sizeof(kf));
	return rc;
}

static int pre_reencrypt(int argc, char **argv)
{
	static const struct option lo[] = { { "kfrag", required_argument, NULL, 'k' },
					     { "capsule", required_argument, NULL, 'c' },
					     { "verifying-key", required_argument, NULL, 'V' },
					     { "from", required_argument, NULL, 'f' },
					     { "to", required_argument, NULL, 't' },
					     { "output", required_argument, NULL, 'o' },
					     { "simple", no_argument, NULL, 's' },
					     CLI_COMMON_LONGOPTS,
					     { 0 } };
	struct re_args a = { 0 };
	const struct pre_opt t[] = { { 'k', &a.kfrag }, { 'c', &a.capsule }, { 'V', &a.vk },
				     { 'f', &a.from }, { 't', &a.to }, { 'o', &a.out },
				     { 's', NULL, &a.simple, true }, { 0 } };
	char err[PRE_ERRLEN];
	int c;

	while ((c = getopt_long(argc, argv, "o:" CLI_COMMON_SHORTOPTS, lo, NULL)) != -1)
		if (!pre_opt_take(c, t) && cli_common_opt(c) != CLI_OK)
			return CLI_USAGE;
	if (optind != argc)
		return cli_usage_error("unexpected argument '%s'", argv[optind]);
	if (!a.kfrag || !a.capsule || !a.out)
		return cli_usage_error("reencrypt needs --kfrag KF --capsule C -o CF");
	if ((a.from || a.to) && !a.vk)
		return cli_usage_error("--from and --to go with --verifying-key");
	return reencrypt_run(&a, err) ? failed(err) : CLI_OK;
}

/* ---------------------------------------------------------------- capsule */
/* The first AGE_MAX_HEADER bytes of an age file, enough for any header. */
static int read_head(const char *path, uint8_t *buf, size_t *len, char *err)
{
	int fd = strcmp(path, "-") == 0 ? 0 : open(path, O_RDONLY | O_CLOEXEC);
	ssize_t r = 1;

	*len = 0;
	if (fd < 0)
		return errfmt(err, PRE_ERRLEN, "%s: %s", path, strerror(errno));
	while (*len < AGE_MAX_HEADER && (r = read(fd, buf + *len, AGE_MAX_HEADER - *len)) != 0) {
		if (r < 0 && errno != EINTR)
			break;
		if (r > 0)
			*len += (size_t)r;
	}
	if (fd)
		close(fd);
	return r < 0 ? errfmt(err, PRE_ERRLEN, "%s: %s", path, strerror(errno)) : 0;
}

int pre_read_header(const char *in, struct age_header *h, size_t *used, char *err)
{
	uint8_t *buf = malloc(AGE_MAX_HEADER);
	char e[PRE_ERRLEN];
	size_t len;
	int rc = -1;

	if (!buf)
		return errfmt(err, PRE_ERRLEN, "out of memory");
	if (read_head(in, buf, &len, err) == 0) {
		rc = age_header_parse(buf, len, h, used, e, sizeof(e));
		if (rc == AGE_MORE)
			errfmt(e, sizeof(e), "truncated header");
		if (rc)
			rc = errfmt(err, PRE_ERRLEN, "%s: header: %s", in, e);
	}
	free(buf);
	return rc;
}

int pre_file_capsule(const char *in, struct umb_capsule *c, struct umb_pk *pk_a, char *err)
{
	struct age_header h;
	char e[PRE_ERRLEN];
	size_t used;
	int rc;

	if (pre_read_header(in, &h, &used, err))
		return -1;
	rc = age_umbral_chain(&h, NULL, 0, &used, e, sizeof(e)) ||
	     age_umbral_capsule(&h, c, pk_a, e, sizeof(e));
	age_header_free(&h);
	return rc ? errfmt(err, PRE_ERRLEN, "%s: %s", in, e) : 0;
}

static int capsule_run(const char *in, const char *out, bool simple, char *err)
{
	uint8_t cb[UMB_CAPSULE_LEN];
	struct umb_capsule c;
	struct umb_pk pk_a;

	if (pre_file_capsule(in, &c, &pk_a, err))
		return -1;
	return pre_write(out, cb, umb_capsule_bytes(&c, simple, cb), err);
}

static int pre_capsule(int argc, char **argv)
{
	static const struct option lo[] = { { "output", required_argument, NULL, 'o' },
					     { "simple", no_argument, NULL, 's' },
					     CLI_COMMON_LONGOPTS,
					     { 0 } };
	const char *out = NULL, *in;
	char err[PRE_ERRLEN];
	bool simple = false;
	const struct pre_opt t[] = { { 'o', &out }, { 's', NULL, &simple, true }, { 0 } };
	int c;

	while ((c = getopt_long(argc, argv, "o:" CLI_COMMON_SHORTOPTS, lo, NULL)) != -1)
		if (!pre_opt_take(c, t) && cli_common_opt(c) != CLI_OK)
			return CLI_USAGE;
	if (pre_opt_input(argc, argv, &in) != CLI_OK)
		return CLI_USAGE;
	return capsule_run(in, out, simple, err) ? failed(err) : CLI_OK;
}

int seal_cmd_pre(int argc, char **argv)
{
	static const struct cli_verb verbs[] = {
		{ "keygen", pre_keygen },     { "encrypt", pre_encrypt },
		{ "decrypt", pre_decrypt },   { "kfrags", pre_kfrags },
		{ "reencrypt", pre_reencrypt }, { "capsule", pre_capsule },
		{ "bench", pre_cmd_bench },     { "serve", pre_cmd_serve },
		{ "stats", pre_cmd_stats },     { "hop", pre_cmd_hop },
		{ "forward", pre_cmd_forward }, { "chain", pre_cmd_chain },
	};

	return cli_verb_run(verbs, sizeof(verbs) / sizeof(verbs[0]), argc, argv);
}
