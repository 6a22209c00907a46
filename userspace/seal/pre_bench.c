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

#include <jansson.h>

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

static double thread_cpu_s(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts))
		return 0;
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Runs op for about `secs` seconds; the rate in operations per second, and
 * per CPU-second of this thread in *cpu when asked: on a shared machine the
 * two differ by the time the thread waited for a core. */
static double rate(struct bench *b, int (*op)(struct bench *), double secs, double *cpu)
{
	uint64_t t0 = mono_ns(), end = t0 + (uint64_t)(secs * 1e9), now = t0;
	double c0 = thread_cpu_s();
	unsigned long n = 0;

	while (now < end) {
		for (int i = 0; i < 16; i++, n++)
			if (op(b))
				return -1;
		now = mono_ns();
	}
	if (cpu) {
		double used = thread_cpu_s() - c0;
		*cpu = used > 0 ? (double)n / used : 0;
	}
	return (double)n / ((double)(now - t0) / 1e9);
}

/* ---------------------------------------------------------------- --proxy */
#define RING 8 /* distinct requests per connection, made before the clock starts */

struct pconf {
	struct addr a;
	unsigned conns, batch, window;
	double secs;
};

struct pclient {
	const struct pconf *pc;
	uint8_t *req[RING];
	size_t len[RING];
	unsigned long done;
	struct pre_rbuf rb;
	struct pre_wbuf wb;
	char err[PRE_ERRLEN];
};

/* RING signed requests, each of pc->batch fresh capsules (op 1 for one),
 * so no answer is a repeat of another. */
static int pclient_make(struct pclient *c, const struct umb_sk *sk, const struct umb_pk *pk)
{
	struct umb_capsule cap[PRE_BATCH_MAX];
	uint8_t ct[1 + UMB_DEM_OVERHEAD], pt = 1;
	uint64_t now = (uint64_t)time(NULL);

	for (unsigned i = 0; i < RING; i++) {
		if (!(c->req[i] = malloc(PRE_REQ_MAX)))
			return snprintf(c->err, sizeof(c->err), "out of memory"), -1;
		for (unsigned k = 0; k < c->pc->batch; k++)
			if (umb_encrypt(pk, &pt, 1, &cap[k], ct, c->err, sizeof(c->err)))
				return -1;
		if (c->pc->batch == 1 ?
			    pre_req_build(sk, now, cap, c->req[i], c->err, sizeof(c->err)) :
			    pre_req_build_batch(sk, now, cap, c->pc->batch, NULL, 0, c->req[i],
						&c->len[i], c->err, sizeof(c->err)))
			return -1;
		if (c->pc->batch == 1)
			c->len[i] = PRE_REQ_LEN;
	}
	return 0;
}

/* The cfrags of one answer; -1 for a refusal or a malformed answer. */
static long answer_cfrags(const struct pclient *c, const uint8_t *b, size_t n)
{
	size_t cf = c->pc->batch == 1 ? (n >= 2 ? b[1] : 0) : (n >= 3 ? (size_t)b[1] * b[2] : 0);

	if (n < 1 || b[0] != PRE_OK)
		return -1;
	return n == (c->pc->batch == 1 ? 2 : 3) + cf * UMB_CFRAG_LEN ? (long)cf : -1;
}

/* One connection keeping `window` requests in flight until the time is up,
 * then taking the answers still due. */
static void pclient_run(struct pclient *c, int fd)
{
	uint64_t end = mono_ns() + (uint64_t)(c->pc->secs * 1e9);
	unsigned long sent = 0, got = 0;
	const uint8_t *b;
	size_t n;
	long k;

	for (; sent < c->pc->window; sent++)
		if (pre_wbuf_frame(fd, &c->wb, c->req[sent % RING], c->len[sent % RING], c->err,
				   sizeof(c->err)))
			return;
	while (got < sent) {
		if (!pre_rbuf_ready(&c->rb) && pre_wbuf_flush(fd, &c->wb, c->err, sizeof(c->err)))
			return;
		if (pre_frame_next(fd, &c->rb, &b, &n, c->err, sizeof(c->err)))
			return;
		if ((k = answer_cfrags(c, b, n)) < 0) {
			snprintf(c->err, sizeof(c->err), "proxy answered status %u (%zu bytes)",
				 n ? b[0] : 0, n);
			return;
		}
		got++;
		c->done += (unsigned long)k;
		if (mono_ns() >= end)
			continue;
		if (pre_wbuf_frame(fd, &c->wb, c->req[sent % RING], c->len[sent % RING], c->err,
				   sizeof(c->err)))
			return;
		sent++;
	}
}

static void *pclient_main(void *arg)
{
	struct pclient *c = arg;
	int fd = sock_connect(&c->pc->a, 2000, 0, c->err, sizeof(c->err));

	if (fd < 0)
		return NULL;
	pre_fd_timeouts(fd, 5000);
	pclient_run(c, fd);
	close(fd);
	return NULL;
}

/* The proxy's CPU time so far, from its stats; -1 when it gives none. */
static long long proxy_cpu_ms(const struct addr *a)
{
	static const uint8_t req[2] = { PRE_VERSION, PRE_OP_STATS };
	uint8_t buf[PRE_FRAME_MAX];
	char err[PRE_ERRLEN], js[PRE_FRAME_MAX];
	long long v = -1;
	json_t *j, *cpu;
	size_t n;
	int fd = sock_connect(a, 2000, 0, err, sizeof(err));

	if (fd < 0)
		return -1;
	pre_fd_timeouts(fd, 2000);
	if (pre_frame_write(fd, req, sizeof(req), err, sizeof(err)) == 0 &&
	    pre_frame_read(fd, buf, &n, err, sizeof(err)) == 0 && buf[0] == PRE_OK) {
		memcpy(js, buf + 1, n - 1);
		js[n - 1] = '\0';
		if ((j = json_loads(js, 0, NULL))) {
			cpu = json_object_get(j, "cpu_ms");
			v = json_is_integer(cpu) ? json_integer_value(cpu) : -1;
			json_decref(j);
		}
	}
	close(fd);
	return v;
}

static void pclients_free(struct pclient *c, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		for (unsigned r = 0; r < RING; r++)
			free(c[i].req[r]);
	free(c);
}

/* Starts the clients, waits for them; the cfrags they got, or -1. */
static long long pclients_run(struct pclient *c, const struct pconf *pc, char *err)
{
	pthread_t t[16];
	unsigned long long total = 0;
	unsigned started = 0;

	while (started < pc->conns && pthread_create(&t[started], NULL, pclient_main, &c[started]) == 0)
		started++;
	for (unsigned i = 0; i < started; i++)
		pthread_join(t[i], NULL);
	if (started < pc->conns)
		return snprintf(err, PRE_ERRLEN, "no thread"), -1;
	for (unsigned i = 0; i < pc->conns; i++) {
		if (c[i].err[0])
			return snprintf(err, PRE_ERRLEN, "%s", c[i].err), -1;
		total += c[i].done;
	}
	return (long long)total;
}

static int proxy_report(const char *proxy, const struct pconf *pc, struct pclient *c, bool json)
{
	char err[PRE_ERRLEN];
	long long cpu0 = proxy_cpu_ms(&pc->a), cpu1, total;
	uint64_t t0 = mono_ns();
	double secs, per_cpu;

	total = pclients_run(c, pc, err);
	secs = (double)(mono_ns() - t0) / 1e9;
	cpu1 = proxy_cpu_ms(&pc->a);
	if (total < 0)
		return cli_fail("bench --proxy %s: %s", proxy, err);
	/* Older proxies give no cpu_ms: then the rate per CPU-second is 0. */
	per_cpu = cpu0 >= 0 && cpu1 > cpu0 ? (double)total / ((double)(cpu1 - cpu0) / 1e3) : 0;
	printf(json ? "{\"proxy_cfrags_per_s\": %.0f, \"proxy_cfrags_per_cpu_s\": %.0f}\n" :
		      "proxy_cfrags_per_s %.0f\nproxy_cfrags_per_cpu_s %.0f\n",
	       (double)total / secs, per_cpu);
	return CLI_OK;
}

static int proxy_bench(const char *proxy, struct pconf *pc, bool json)
{
	struct pclient *c = calloc(pc->conns, sizeof(*c));
	char err[PRE_ERRLEN];
	struct umb_sk sk;
	struct umb_pk pk;
	int rc;

	if (!c)
		return cli_fail("out of memory");
	if (addr_parse(proxy, &pc->a, err, sizeof(err)) || umb_sk_generate(&sk, err, sizeof(err)) ||
	    umb_sk_public(&sk, &pk, err, sizeof(err))) {
		umb_sk_clear(&sk);
		pclients_free(c, pc->conns);
		return cli_fail("bench --proxy: %s", err);
	}
	for (unsigned i = 0; i < pc->conns; i++) {
		c[i].pc = pc;
		if (pclient_make(&c[i], &sk, &pk)) {
			rc = cli_fail("bench --proxy: %s", c[i].err);
			umb_sk_clear(&sk);
			pclients_free(c, pc->conns);
			return rc;
		}
	}
	rc = proxy_report(proxy, pc, c, json);
	umb_sk_clear(&sk);
	pclients_free(c, pc->conns);
	return rc;
}

/* --conns, --batch, --window: a count in lo..hi. */
static int opt_count(const char *name, unsigned lo, unsigned hi, unsigned *v)
{
	char perr[PARSE_ERR_MAX];
	uint64_t x;

	if (parse_u64(optarg, lo, hi, &x, perr, sizeof(perr)))
		return cli_usage_error("--%s: %s", name, perr);
	*v = (unsigned)x;
	return CLI_OK;
}

static const struct {
	const char *key;
	int (*op)(struct bench *);
} OPS[] = {
	{ "encrypt_per_s", op_encrypt },     { "kfrags_per_s", op_kfrags },
	{ "reencrypt_per_s", op_reencrypt }, { "verify_cfrag_per_s", op_verify },
	{ "decrypt_reencrypted_per_s", op_decrypt },
};
#define NOPS (sizeof(OPS) / sizeof(OPS[0]))
#define REENCRYPT 2 /* OPS[2]: also given per CPU-second, beside the proxy's */

static int local_bench(double secs, bool json)
{
	struct bench *b = calloc(1, sizeof(*b));
	double r[NOPS], cpu = 0;
	int rc = CLI_OK;

	if (!b)
		return cli_fail("out of memory");
	if (setup(b)) {
		rc = cli_fail("bench setup: %s", b->err);
		free(b);
		return rc;
	}
	for (size_t i = 0; i < NOPS && rc == CLI_OK; i++)
		if ((r[i] = rate(b, OPS[i].op, secs, i == REENCRYPT ? &cpu : NULL)) < 0)
			rc = cli_fail("bench %s: %s", OPS[i].key, b->err);
	free(b);
	if (rc != CLI_OK)
		return rc;
	for (size_t i = 0; i < NOPS; i++)
		printf(json ? "%s\"%s\": %.0f, " : "%s%s %.0f\n", json && !i ? "{" : "", OPS[i].key,
		       r[i]);
	printf(json ? "\"reencrypt_per_cpu_s\": %.0f}\n" : "reencrypt_per_cpu_s %.0f\n", cpu);
	return CLI_OK;
}

int pre_cmd_bench(int argc, char **argv)
{
	static const struct option lo[] = { { "json", no_argument, NULL, 'j' },
					     { "seconds", required_argument, NULL, 's' },
					     { "proxy", required_argument, NULL, 'p' },
					     { "conns", required_argument, NULL, 'c' },
					     { "batch", required_argument, NULL, 'b' },
					     { "window", required_argument, NULL, 'w' },
					     CLI_COMMON_LONGOPTS,
					     { 0 } };
	struct pconf pc = { .conns = 1, .batch = 1, .window = 1 };
	const char *proxy = NULL;
	double secs = 1.0;
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
		} else if (c == 'c' || c == 'b' || c == 'w') {
			if (opt_count(c == 'c' ? "conns" : c == 'b' ? "batch" : "window", 1,
				      c == 'c' ? 16 : c == 'b' ? PRE_BATCH_MAX : 64,
				      c == 'c' ? &pc.conns : c == 'b' ? &pc.batch : &pc.window) != CLI_OK)
				return CLI_USAGE;
		} else if (cli_common_opt(c) != CLI_OK)
			return CLI_USAGE;
	}
	if (optind != argc)
		return cli_usage_error("unexpected argument '%s'", argv[optind]);
	if (!proxy && (pc.conns != 1 || pc.batch != 1 || pc.window != 1))
		return cli_usage_error("--conns, --batch and --window go with --proxy");
	pc.secs = secs;
	return proxy ? proxy_bench(proxy, &pc, json) : local_bench(secs, json);
}
