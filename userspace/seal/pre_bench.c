/* seal pre bench: per-operation rates of the scheme on the calling thread,
 * the operations and sizes bench/scenarios/pre.sh measures on umbral-pre:
 * encrypt (100 bytes), kfrags 2-of-3, reencrypt, verify a cfrag, decrypt
 * with 2 cfrags. */
#include <pthread.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>

#include "lib/core/cli.h"
#include "lib/core/clock.h"
#include "lib/core/parse.h"
#include "lib/core/sock.h"
#include "seal/pre_proto.h"
#include "seal/pre.h"

#define PT_LEN 100

struct bench {
	struct umb_sk a, b, s;
	struct umb_pk pa, pb, ps;
	struct umb_capsule cap;
	struct umb_kfrag kf[3];
	struct umb_cfrag cf[3];
	uint8_t pt[PT_LEN], ct[PT_LEN + UMB_DEM_OVERHEAD], out[PT_LEN];
	char err[PRE_ERRLEN];
};

static int op_encrypt(struct bench *b)
{
	uint8_t ct[PT_LEN + UMB_DEM_OVERHEAD];
	struct umb_capsule c;

	return umb_encrypt(&b->pa, b->pt, PT_LEN, &c, ct, b->err, sizeof(b->err));
}

static int op_kfrags(struct bench *b)
{
	struct umb_kfrag kf[3];

	return umb_kfrags(&b->a, &b->pb, &b->s, 2, 3, true, true, kf, b->err, sizeof(b->err));
}

static int op_reencrypt(struct bench *b)
{
	struct umb_cfrag cf;

	return umb_reencrypt(&b->cap, &b->kf[0], &cf, b->err, sizeof(b->err));
}

static int op_verify(struct bench *b)
{
	return umb_cfrag_verify(&b->cf[0], &b->cap, &b->ps, &b->pa, &b->pb, b->err,
				sizeof(b->err));
}

static int op_decrypt(struct bench *b)
{
	return umb_decrypt_reencrypted(&b->b, &b->pa, &b->cap, b->cf, 2, b->ct, sizeof(b->ct),
				       b->out, b->err, sizeof(b->err));
}

static int setup(struct bench *b)
{
	char *e = b->err;
	size_t el = sizeof(b->err);

	memset(b->pt, 'x', PT_LEN);
	if (umb_sk_generate(&b->a, e, el) || umb_sk_generate(&b->b, e, el) ||
	    umb_sk_generate(&b->s, e, el) || umb_sk_public(&b->a, &b->pa, e, el) ||
	    umb_sk_public(&b->b, &b->pb, e, el) || umb_sk_public(&b->s, &b->ps, e, el) ||
	    umb_encrypt(&b->pa, b->pt, PT_LEN, &b->cap, b->ct, e, el) ||
	    umb_kfrags(&b->a, &b->pb, &b->s, 2, 3, true, true, b->kf, e, el))
		return -1;
	for (int i = 0; i < 3; i++)
		if (umb_reencrypt(&b->cap, &b->kf[i], &b->cf[i], e, el))
			return -1;
	return 0;
}

/* Runs op for about `secs` seconds; the rate in operations per second. */
static double rate(struct bench *b, int (*op)(struct bench *), double secs)
{
	uint64_t t0 = mono_ns(), end = t0 + (uint64_t)(secs * 1e9), now = t0;
	unsigned long n = 0;

	while (now < end) {
		for (int i = 0; i < 16; i++, n++)
			if (op(b))
				return -1;
		now = mono_ns();
	}
	return (double)n / ((double)(now - t0) / 1e9);
}

/* ---------------------------------------------------------------- --proxy */
struct pclient {
	struct addr a;
	const uint8_t *req;
	double secs;
	unsigned long done;
	char err[PRE_ERRLEN];
};

/* One connection sending the same signed request back to back: the proxy's
 * cost per cfrag (parse, policy, signature, re-encryption) plus a loopback
 * round trip. */
static void *pclient_main(void *arg)
{
	struct pclient *c = arg;
	uint8_t buf[PRE_FRAME_MAX];
	uint64_t end = mono_ns() + (uint64_t)(c->secs * 1e9);
	size_t n;
	int fd = sock_connect(&c->a, 2000, 0, c->err, sizeof(c->err));

	if (fd < 0)
		return NULL;
	pre_fd_timeouts(fd, 5000);
	while (mono_ns() < end) {
		if (pre_frame_write(fd, c->req, PRE_REQ_LEN, c->err, sizeof(c->err)) ||
		    pre_frame_read(fd, buf, &n, c->err, sizeof(c->err)))
			break;
		if (buf[0] != PRE_OK) {
			snprintf(c->err, sizeof(c->err), "proxy answered status %u", buf[0]);
			break;
		}
		c->done += buf[1];
	}
	close(fd);
	return NULL;
}

static int proxy_bench(const char *proxy, unsigned conns, double secs, bool json)
{
	struct pclient c[16];
	pthread_t t[16];
	uint8_t req[PRE_REQ_LEN], ct[1 + UMB_DEM_OVERHEAD], pt = 1;
	struct umb_capsule cap;
	struct umb_sk sk;
	struct umb_pk pk;
	char err[PRE_ERRLEN];
	unsigned long total = 0;
	uint64_t t0;
	struct addr a;

	if (addr_parse(proxy, &a, err, sizeof(err)) || umb_sk_generate(&sk, err, sizeof(err)) ||
	    umb_sk_public(&sk, &pk, err, sizeof(err)) ||
	    umb_encrypt(&pk, &pt, 1, &cap, ct, err, sizeof(err)) ||
	    pre_req_build(&sk, (uint64_t)time(NULL), &cap, req, err, sizeof(err)))
		return cli_fail("bench --proxy: %s", err);
	t0 = mono_ns();
	for (unsigned i = 0; i < conns; i++) {
		c[i] = (struct pclient){ .a = a, .req = req, .secs = secs };
		if (pthread_create(&t[i], NULL, pclient_main, &c[i]))
			return cli_fail("bench --proxy: no thread");
	}
	for (unsigned i = 0; i < conns; i++) {
		pthread_join(t[i], NULL);
		if (c[i].err[0])
			return cli_fail("bench --proxy %s: %s", proxy, c[i].err);
		total += c[i].done;
	}
	printf(json ? "{\"proxy_cfrags_per_s\": %.0f}\n" : "proxy_cfrags_per_s %.0f\n",
	       (double)total / ((double)(mono_ns() - t0) / 1e9));
	return CLI_OK;
}

int pre_cmd_bench(int argc, char **argv)
{
	static const struct option lo[] = { { "json", no_argument, NULL, 'j' },
					     { "seconds", required_argument, NULL, 's' },
					     { "proxy", required_argument, NULL, 'p' },
					     { "conns", required_argument, NULL, 'c' },
					     CLI_COMMON_LONGOPTS,
					     { 0 } };
	static const struct {
		const char *key;
		int (*op)(struct bench *);
	} ops[] = {
		{ "encrypt_per_s", op_encrypt },     { "kfrags_per_s", op_kfrags },
		{ "reencrypt_per_s", op_reencrypt }, { "verify_cfrag_per_s", op_verify },
		{ "decrypt_reencrypted_per_s", op_decrypt },
	};
	struct bench *b;
	double secs = 1.0, r[5];
	const char *proxy = NULL;
	unsigned conns = 1;
	bool json = false;
	char *end;
	int c;

	while ((c = getopt_long(argc, argv, CLI_COMMON_SHORTOPTS, lo, NULL)) != -1) {
		if (c == 'j')
			json = true;
		else if (c == 's') {
			secs = strtod(optarg, &end);
			if (*end || end == optarg || !(secs > 0 && secs <= 60))
				return cli_usage_error("--seconds: '%s' is not 0..60", optarg);
		} else if (c == 'p') {
			proxy = optarg;
		} else if (c == 'c') {
			conns = (unsigned)strtoul(optarg, &end, 10);
			if (*end || conns < 1 || conns > 16)
				return cli_usage_error("--conns: '%s' is not 1..16", optarg);
		} else if (cli_common_opt(c) != CLI_OK)
			return CLI_USAGE;
	}
	if (optind != argc)
		return cli_usage_error("unexpected argument '%s'", argv[optind]);
	if (proxy)
		return proxy_bench(proxy, conns, secs, json);
	b = calloc(1, sizeof(*b));
	if (!b)
		return cli_fail("out of memory");
	if (setup(b)) {
		c = cli_fail("bench setup: %s", b->err);
		free(b);
		return c;
	}
	for (size_t i = 0; i < 5; i++)
		if ((r[i] = rate(b, ops[i].op, secs)) < 0) {
			c = cli_fail("bench %s: %s", ops[i].key, b->err);
			free(b);
			return c;
		}
	for (size_t i = 0; i < 5; i++)
		printf(json ? "%s\"%s\": %.0f%s" : "%s%s %.0f%s", json && !i ? "{" : "", ops[i].key,
		       r[i], json ? (i == 4 ? "}\n" : ", ") : "\n");
	free(b);
	return CLI_OK;
}
