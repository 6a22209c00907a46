/* seal pre serve: the re-encryption proxy (docs/umbral-proxy.md). Two
 * threads per connection (a reader that checks, a worker that re-encrypts),
 * at most --max-conns connections. */
#include <errno.h>
#include <poll.h>
#include <assert.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "lib/attestation/att_verify.h"
#include "lib/core/addr.h"
#include "lib/core/cli.h"
#include "lib/core/errfmt.h"
#include "lib/core/parse.h"
#include "lib/core/sigfd.h"
#include "lib/core/sock.h"
#include "seal/pre.h"
#include "seal/pre_proto.h"

#define IDLE_MS 10000
#define MAX_ALLOW 4096

struct srv {
	struct umb_kfrag kf[PRE_MAX_CFRAGS];
	size_t nkf;
	struct umb_pk *allow;
	size_t nallow;
	bool allow_any;
	struct att_verifier *att; /* --allow-attested: documents checked with this */
	struct att_policy pol;
	unsigned max_conns;
	uint64_t max_skew;
	atomic_ulong connections, requests, cfrags, refused, bad, busy, attestations;
	atomic_uint active;
};

/* The last document this connection had verified, for PK_R, in second
 * `at`: att_verify is a function of (document, key, second, policy), so the
 * same three again get the same answer without the signature checks. */
struct doc_memo {
	uint8_t doc[PRE_DOC_MAX];
	size_t len;
	uint8_t pk[UMB_POINT_LEN];
	int64_t at;
};

/* A connection is two threads: its reader parses each request, applies
 * the policy and checks the capsules; its worker re-encrypts and writes the
 * answers, in request order. A pipelining client so keeps two cores busy,
 * the checks of one request beside the re-encryption of the one before. */
#define QUEUE 8

enum job_kind { JOB_ANSWER, JOB_CAPSULES, JOB_END };

struct job {
	enum job_kind kind;
	bool batch;
	unsigned ncaps;
	struct umb_capsule caps[PRE_BATCH_MAX]; /* JOB_CAPSULES: checked already */
	size_t len;
	uint8_t body[512]; /* JOB_ANSWER: a status answer or the stats */
};

struct conn {
	struct srv *s;
	int fd;
	struct pre_rbuf rb;
	struct doc_memo memo;
	char err[PRE_ERRLEN];
	/* the queue from reader to worker: jobs[head .. head + n) */
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct job jobs[QUEUE];
	unsigned head, n;
	/* the worker's */
	struct pre_wbuf wb;
	bool dead; /* a write failed: the rest is dropped */
	char werr[PRE_ERRLEN];
};

/* ---------------------------------------------------------------- loading */
static int one_kfrag(const char *path, size_t i, void *s, char *err)
{
	return pre_load_kfrag(path, &((struct srv *)s)->kf[i], err);
}

static int load_kfrags(struct srv *s, const char *dir, char *err)
{
	return pre_load_dir(dir, PRE_MAX_CFRAGS, "kfrags", one_kfrag, s, &s->nkf, err);
}

static int allow_line(struct srv *s, const char *path, unsigned lineno, char *line, char *err)
{
	uint8_t b[UMB_POINT_LEN];
	char e[PRE_ERRLEN];
	size_t n;

	line[strcspn(line, "\r\n")] = '\0';
	if (!line[0] || line[0] == '#')
		return 0;
	if (s->nallow == MAX_ALLOW)
		return errfmt(err, PRE_ERRLEN, "%s: more than %d keys", path, MAX_ALLOW);
	if (parse_hex(line, b, sizeof(b), &n, e, sizeof(e)) ||
	    umb_pk_parse(b, n, &s->allow[s->nallow], e, sizeof(e)))
		return errfmt(err, PRE_ERRLEN, "%s:%u: %s", path, lineno, e);
	s->nallow++;
	return 0;
}

static int load_allow(struct srv *s, const char *path, char *err)
{
	FILE *f = fopen(path, "re");
	char line[256];
	unsigned no = 0;
	int rc = 0;

	if (!f)
		return errfmt(err, PRE_ERRLEN, "%s: %s", path, strerror(errno));
	s->allow = calloc(MAX_ALLOW, sizeof(*s->allow));
	if (!s->allow)
		rc = errfmt(err, PRE_ERRLEN, "out of memory");
	while (rc == 0 && fgets(line, sizeof(line), f))
		rc = allow_line(s, path, ++no, line, err);
	fclose(f);
	return rc;
}

/* ---------------------------------------------------------------- serving */
static size_t status_body(uint8_t *b, size_t room, uint8_t status, const char *msg)
{
	size_t n = strlen(msg) < room - 1 ? strlen(msg) : room - 1;

	b[0] = status;
	memcpy(b + 1, msg, n);
	return n + 1;
}

/* ---------------------------------------------------------------- the queue */
/* The reader's next slot, once the worker has room. */
static struct job *q_slot(struct conn *c)
{
	struct job *j;

	pthread_mutex_lock(&c->mu);
	while (c->n == QUEUE)
		pthread_cond_wait(&c->cv, &c->mu);
	j = &c->jobs[(c->head + c->n) % QUEUE];
	pthread_mutex_unlock(&c->mu);
	return j;
}

static void q_push(struct conn *c)
{
	pthread_mutex_lock(&c->mu);
	c->n++;
	pthread_cond_broadcast(&c->cv);
	pthread_mutex_unlock(&c->mu);
}

/* The worker's next job; what it has answered goes out before it waits. */
static struct job *q_next(struct conn *c)
{
	struct job *j;

	pthread_mutex_lock(&c->mu);
	if (c->n == 0) {
		pthread_mutex_unlock(&c->mu);
		if (!c->dead && pre_wbuf_flush(c->fd, &c->wb, c->werr, sizeof(c->werr))) {
			c->dead = true;
			/* The reader may sit in read(): end it. */
			shutdown(c->fd, SHUT_RDWR);
		}
		pthread_mutex_lock(&c->mu);
		while (c->n == 0)
			pthread_cond_wait(&c->cv, &c->mu);
	}
	j = &c->jobs[c->head];
	pthread_mutex_unlock(&c->mu);
	return j;
}

static void q_done(struct conn *c)
{
	pthread_mutex_lock(&c->mu);
	c->head = (c->head + 1) % QUEUE;
	c->n--;
	pthread_cond_broadcast(&c->cv);
	pthread_mutex_unlock(&c->mu);
}

/* An answer queued behind the others of the connection. */
static void respond(struct conn *c, uint8_t status, const char *msg)
{
	struct job *j = q_slot(c);

	j->kind = JOB_ANSWER;
	j->len = status_body(j->body, sizeof(j->body), status, msg);
	q_push(c);
}

static bool allowed(const struct srv *s, const struct umb_pk *pk)
{
	if (s->allow_any)
		return true;
	for (size_t i = 0; i < s->nallow; i++)
		if (umb_pk_equal(&s->allow[i], pk))
			return true;
	return false;
}

static bool memo_hit(const struct doc_memo *m, const struct pre_req *r, const uint8_t *pk,
		     int64_t now)
{
	return m->len && m->len == r->doc_len && m->at == now &&
	       memcmp(m->pk, pk, UMB_POINT_LEN) == 0 && memcmp(m->doc, r->doc, m->len) == 0;
}

/* The document binds PK_R to an enclave the PCR policy admits. */
static const char *attested(struct conn *c, const struct pre_req *r, char *why, size_t whylen)
{
	struct srv *s = c->s;
	struct att_policy pol = s->pol;
	uint8_t pk[UMB_POINT_LEN];
	int64_t now = (int64_t)time(NULL);
	struct att_err ae;

	if (!r->doc)
		return "requester not allowed (an attestation document is required)";
	umb_pk_bytes(&r->pk, pk);
	if (memo_hit(&c->memo, r, pk, now))
		return NULL;
	pol.public_key = (struct att_bytes){ pk, sizeof(pk) };
	atomic_fetch_add(&s->attestations, 1);
	if (att_verify(s->att, r->doc, r->doc_len, now, &pol, NULL, &ae)) {
		snprintf(why, whylen, "attestation: %s", ae.msg);
		return why;
	}
	memcpy(c->memo.doc, r->doc, r->doc_len);
	c->memo.len = r->doc_len;
	memcpy(c->memo.pk, pk, sizeof(pk));
	c->memo.at = now;
	return NULL;
}

static const char *policy(struct conn *c, const struct pre_req *r, char *why, size_t whylen)
{
	const struct srv *s = c->s;
	uint64_t now = (uint64_t)time(NULL);
	const char *a;

	if (s->att && (a = attested(c, r, why, whylen)) != NULL)
		return a;
	if (!s->att && !allowed(s, &r->pk))
		return "requester not allowed";
	if (s->att && s->nallow && !allowed(s, &r->pk))
		return "requester not allowed";
	if (r->time + s->max_skew < now || r->time > now + s->max_skew)
		return "request time outside the allowed clock skew";
	if (!pre_req_verify(r))
		return "request signature does not verify";
	return NULL;
}

/* ---------------------------------------------------------------- the worker */
/* The cfrags of every capsule, each with every kfrag, after the header. */
static int reencrypt_all(const struct srv *s, const struct job *j, uint8_t *b, size_t *o,
			 char *e)
{
	struct umb_cfrag cf;

	for (unsigned k = 0; k < j->ncaps; k++)
		for (size_t i = 0; i < s->nkf; i++) {
			if (umb_reencrypt(&j->caps[k], &s->kf[i], &cf, e, PRE_ERRLEN))
				return -1;
			*o += umb_cfrag_bytes(&cf, false, b + *o);
		}
	return 0;
}

static int answer_capsules(struct conn *c, const struct job *j)
{
	static_assert(3 + PRE_BATCH_CFRAGS * UMB_CFRAG_LEN <= PRE_FRAME_MAX, "answers fit a frame");
	uint8_t b[3 + PRE_BATCH_CFRAGS * UMB_CFRAG_LEN];
	struct srv *s = c->s;
	size_t o = j->batch ? 3 : 2;
	char e[PRE_ERRLEN];

	if (reencrypt_all(s, j, b, &o, e)) {
		o = status_body(b, sizeof(b), PRE_INTERNAL, e);
	} else {
		b[0] = PRE_OK;
		b[1] = (uint8_t)(j->batch ? j->ncaps : s->nkf);
		if (j->batch)
			b[2] = (uint8_t)s->nkf;
		atomic_fetch_add(&s->cfrags, j->ncaps * s->nkf);
	}
	return pre_wbuf_frame(c->fd, &c->wb, b, o, c->werr, sizeof(c->werr));
}

static void *worker_main(void *arg)
{
	struct conn *c = arg;
	struct job *j;
	int rc;

	while ((j = q_next(c))->kind != JOB_END) {
		if (c->dead)
			rc = 0;
		else if (j->kind == JOB_ANSWER)
			rc = pre_wbuf_frame(c->fd, &c->wb, j->body, j->len, c->werr, sizeof(c->werr));
		else
			rc = answer_capsules(c, j);
		if (rc) {
			c->dead = true;
			shutdown(c->fd, SHUT_RDWR);
		}
		q_done(c);
	}
	/* The last answers (a refusal's reason) go out on a best-effort basis:
	 * the connection closes either way. */
	if (!c->dead)
		(void)pre_wbuf_flush(c->fd, &c->wb, c->werr, sizeof(c->werr));
	q_done(c);
	return NULL;
}

/* ---------------------------------------------------------------- the reader */
/* The capsules of an admitted request, checked, for the worker; 1 to close
 * after a capsule that does not parse. */
static int queue_capsules(struct conn *c, const struct pre_req *r, bool batch)
{
	struct job *j = q_slot(c);
	char e[PRE_ERRLEN];

	for (unsigned k = 0; k < r->ncaps; k++)
		if (pre_req_capsule(r, k, &j->caps[k], e, sizeof(e))) {
			atomic_fetch_add(&c->s->bad, 1);
			respond(c, PRE_BAD, e);
			return 1;
		}
	j->kind = JOB_CAPSULES;
	j->batch = batch;
	j->ncaps = r->ncaps;
	q_push(c);
	return 0;
}

/* 0 to go on, 1 to close after a bad request. */
static int serve_reencrypt(struct conn *c, const struct pre_req *r)
{
	struct srv *s = c->s;
	bool batch = r->op == PRE_OP_BATCH || r->op == PRE_OP_BATCH_ATTESTED;
	char w[PRE_ERRLEN];
	const char *why;

	if (r->ncaps * s->nkf > PRE_BATCH_CFRAGS) {
		atomic_fetch_add(&s->bad, 1);
		snprintf(w, sizeof(w), "batch of %u capsules: this proxy answers at most %zu",
			 r->ncaps, PRE_BATCH_CFRAGS / s->nkf);
		respond(c, PRE_BAD, w);
		return 1;
	}
	if ((why = policy(c, r, w, sizeof(w))) != NULL) {
		atomic_fetch_add(&s->refused, 1);
		respond(c, PRE_REFUSED, why);
		return 0;
	}
	return queue_capsules(c, r, batch);
}

static uint64_t cpu_ms(void)
{
	struct rusage ru;

	if (getrusage(RUSAGE_SELF, &ru))
		return 0;
	return (uint64_t)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000 +
	       (uint64_t)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1000;
}

static void serve_stats(struct conn *c)
{
	struct srv *s = c->s;
	struct job *j = q_slot(c);
	int n = snprintf((char *)j->body + 1, sizeof(j->body) - 1,
			 "{\"connections\": %lu, \"requests\": %lu, \"cfrags\": %lu, \"refused\": "
			 "%lu, \"bad\": %lu, \"busy\": %lu, \"active\": %u, \"kfrags\": %zu, "
			 "\"attestations\": %lu, \"cpu_ms\": %llu}",
			 atomic_load(&s->connections), atomic_load(&s->requests),
			 atomic_load(&s->cfrags), atomic_load(&s->refused), atomic_load(&s->bad),
			 atomic_load(&s->busy), atomic_load(&s->active), s->nkf,
			 atomic_load(&s->attestations), (unsigned long long)cpu_ms());

	j->kind = JOB_ANSWER;
	j->body[0] = PRE_OK;
	j->len = n > 0 && (size_t)n < sizeof(j->body) - 1 ? (size_t)n + 1 : 1;
	q_push(c);
}

/* One request: 0 to go on, 1 to close. */
static int serve_one(struct conn *c, const uint8_t *body, size_t n)
{
	char e[PRE_ERRLEN];
	struct pre_req r;

	atomic_fetch_add(&c->s->requests, 1);
	if (pre_req_parse(body, n, &r, e, sizeof(e))) {
		atomic_fetch_add(&c->s->bad, 1);
		respond(c, PRE_BAD, e);
		return 1;
	}
	if (r.op != PRE_OP_STATS)
		return serve_reencrypt(c, &r);
	serve_stats(c);
	return 0;
}

static void conn_free(struct conn *c)
{
	close(c->fd);
	pthread_cond_destroy(&c->cv);
	pthread_mutex_destroy(&c->mu);
	atomic_fetch_sub(&c->s->active, 1);
	free(c);
}

static void *conn_main(void *arg)
{
	struct conn *c = arg;
	const uint8_t *body;
	pthread_t w;
	size_t n;
	int rc = 0;

	pre_fd_timeouts(c->fd, IDLE_MS);
	if (pthread_create(&w, NULL, worker_main, c)) {
		atomic_fetch_add(&c->s->busy, 1);
		conn_free(c);
		return NULL;
	}
	while (rc == 0) {
		rc = pre_frame_next(c->fd, &c->rb, &body, &n, c->err, sizeof(c->err));
		if (rc == 0)
			rc = serve_one(c, body, n);
	}
	if (rc == -2) {
		atomic_fetch_add(&c->s->bad, 1);
		respond(c, PRE_BAD, c->err);
	}
	q_slot(c)->kind = JOB_END;
	q_push(c);
	pthread_join(w, NULL);
	conn_free(c);
	return NULL;
}

static void accept_one(struct srv *s, int lfd)
{
	pthread_attr_t at;
	pthread_t t;
	struct conn *c;
	int fd = sock_accept(lfd, NULL, 0);

	if (fd < 0)
		return;
	atomic_fetch_add(&s->connections, 1);
	if (atomic_load(&s->active) >= s->max_conns || !(c = malloc(sizeof(*c)))) {
		uint8_t b[64];
		char e[64];
		atomic_fetch_add(&s->busy, 1);
		pre_fd_timeouts(fd, 100);
		/* Refused either way: a peer that does not read misses the reason. */
		(void)pre_frame_write(fd, b, status_body(b, sizeof(b), PRE_BUSY, "busy: connection "
							 "limit reached"), e, sizeof(e));
		close(fd);
		return;
	}
	c->s = s;
	c->fd = fd;
	c->rb.off = c->rb.len = 0;
	c->wb.len = 0;
	c->memo.len = 0;
	c->head = c->n = 0;
	c->dead = false;
	pthread_mutex_init(&c->mu, NULL);
	pthread_cond_init(&c->cv, NULL);
	atomic_fetch_add(&s->active, 1);
	pthread_attr_init(&at);
	pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
	if (pthread_create(&t, &at, conn_main, c))
		conn_free(c);
	pthread_attr_destroy(&at);
}

static int serve_loop(struct srv *s, const struct addr *a, char *err)
{
	struct pollfd p[2];
	int sfd = sigfd_open(0, SIGINT, SIGTERM, 0);
	int lfd;

	if (sfd < 0)
		return errfmt(err, PRE_ERRLEN, "signalfd: %s", strerror(errno));
	signal(SIGPIPE, SIG_IGN);
	lfd = sock_listen(a, 128, 0, err, PRE_ERRLEN);
	if (lfd < 0) {
		close(sfd);
		return -1;
	}
	p[0] = (struct pollfd){ .fd = lfd, .events = POLLIN };
	p[1] = (struct pollfd){ .fd = sfd, .events = POLLIN };
	while (!(p[1].revents & POLLIN)) {
		if (poll(p, 2, -1) < 0 && errno != EINTR)
			break;
		if (p[0].revents & POLLIN)
			accept_one(s, lfd);
	}
	close(lfd);
	close(sfd);
	sock_unlink(a);
	return 0;
}

struct serve_args {
	const char *listen, *dir, *allow, *root;
	bool any, attested, debug, any_image;
	struct att_policy pol;
	unsigned max_conns;
	uint64_t skew;
};

static int attest_setup(struct srv *s, const struct serve_args *a, char *err)
{
	struct att_err ae;

	if (!a->attested)
		return 0;
	s->pol = a->pol;
	s->pol.allow_debug = a->debug;
	s->pol.max_age_ms = s->max_skew * 1000;
	if (!a->any_image && !att_policy_pins_image(&s->pol))
		return errfmt(err, PRE_ERRLEN, "--allow-attested: no --pcr pins the image (PCR 0, 1, "
					       "2 or 8); say --any-image to admit any enclave");
	s->att = a->root ? att_verifier_new_file(a->root, 64, &ae) : att_verifier_new(NULL, 0, 64, &ae);
	return s->att ? 0 : errfmt(err, PRE_ERRLEN, "%s: %s", a->root ? a->root : "AWS root", ae.msg);
}

/* --pcr N=HEX */
static int opt_pcr(const char *arg, struct att_policy *pol)
{
	char num[8], perr[PARSE_ERR_MAX];
	const char *eq = strchr(arg, '=');
	uint64_t idx;
	size_t len;

	if (!eq || eq == arg || (size_t)(eq - arg) >= sizeof(num))
		return cli_usage_error("--pcr '%s': expected N=HEX", arg);
	memcpy(num, arg, (size_t)(eq - arg));
	num[eq - arg] = '\0';
	if (parse_u64(num, 0, ATT_PCR_COUNT - 1, &idx, perr, sizeof(perr)))
		return cli_usage_error("--pcr '%s': index %s", arg, perr);
	if (parse_hex(eq + 1, pol->pcr[idx], ATT_PCR_LEN, &len, perr, sizeof(perr)) ||
	    len != ATT_PCR_LEN)
		return cli_usage_error("--pcr %s: not %d bytes of hex", num, ATT_PCR_LEN);
	pol->pcr_mask |= 1u << idx;
	return CLI_OK;
}

static int serve_run(const struct serve_args *a, char *err)
{
	struct srv *s = calloc(1, sizeof(*s));
	struct addr ad;
	int rc = -1;

	if (!s)
		return errfmt(err, PRE_ERRLEN, "out of memory");
	s->allow_any = a->any;
	s->max_conns = a->max_conns;
	s->max_skew = a->skew;
	if (addr_parse(a->listen, &ad, err, PRE_ERRLEN) == 0 && load_kfrags(s, a->dir, err) == 0 &&
	    (!a->allow || load_allow(s, a->allow, err) == 0) && attest_setup(s, a, err) == 0)
		rc = serve_loop(s, &ad, err);
	att_verifier_free(s->att);
	OPENSSL_cleanse(s->kf, sizeof(s->kf));
	free(s->allow);
	free(s);
	return rc;
}

int pre_cmd_serve(int argc, char **argv)
{
	static const struct option lo[] = { { "listen", required_argument, NULL, 'l' },
					     { "kfrags", required_argument, NULL, 'k' },
					     { "allow", required_argument, NULL, 'a' },
					     { "allow-any", no_argument, NULL, 'A' },
					     { "max-conns", required_argument, NULL, 'c' },
					     { "max-skew", required_argument, NULL, 's' },
					     { "allow-attested", no_argument, NULL, 'T' },
					     { "trust-root", required_argument, NULL, 'r' },
					     { "pcr", required_argument, NULL, 'p' },
					     { "allow-debug", no_argument, NULL, 'D' },
					     { "any-image", no_argument, NULL, 'I' },
					     CLI_COMMON_LONGOPTS,
					     { 0 } };
	struct serve_args a = { .max_conns = 64, .skew = 300 };
	const struct pre_opt t[] = { { 'l', &a.listen }, { 'k', &a.dir }, { 'a', &a.allow },
				     { 'r', &a.root }, { 'A', NULL, &a.any, true },
				     { 'T', NULL, &a.attested, true }, { 'D', NULL, &a.debug, true },
				     { 'I', NULL, &a.any_image, true }, { 0 } };
	char err[PRE_ERRLEN], perr[PARSE_ERR_MAX];
	uint64_t v;
	int c;

	while ((c = getopt_long(argc, argv, CLI_COMMON_SHORTOPTS, lo, NULL)) != -1) {
		if (pre_opt_take(c, t))
			continue;
		if (c == 'p') {
			if (opt_pcr(optarg, &a.pol) != CLI_OK)
				return CLI_USAGE;
		}
		else if (c == 'c' || c == 's') {
			if (parse_u64(optarg, 1, c == 'c' ? 4096 : 86400, &v, perr, sizeof(perr)))
				return cli_usage_error("--%s: %s", c == 'c' ? "max-conns" : "max-skew",
						       perr);
			if (c == 'c')
				a.max_conns = (unsigned)v;
			else
				a.skew = v;
		} else if (cli_common_opt(c) != CLI_OK)
			return CLI_USAGE;
	}
	if (optind != argc)
		return cli_usage_error("unexpected argument '%s'", argv[optind]);
	if (!a.listen || !a.dir)
		return cli_usage_error("serve needs --listen ADDR and --kfrags DIR");
	if (a.any ? (a.allow || a.attested) : !(a.allow || a.attested))
		return cli_usage_error("serve needs --allow FILE and/or --allow-attested, or "
				       "--allow-any");
	if (!a.attested && (a.root || a.pol.pcr_mask || a.debug || a.any_image))
		return cli_usage_error("--trust-root, --pcr, --allow-debug and --any-image go "
				       "with --allow-attested");
	return serve_run(&a, err) ? cli_fail("%s", err) : CLI_OK;
}
