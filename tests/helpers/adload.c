/* adload: fresh attestations per second, for bench/scenarios/attestd_attest.sh.
 *
 *   adload raw --emu DIR --threads T --seconds S
 *       NSM emulator calls in process (one handle per thread), each with a
 *       random nonce, a 600-byte user_data and a 91-byte public_key: the
 *       baseline, what the NSM side costs with nothing around it.
 *   adload http --url URL --path P --threads T --seconds S
 *       GET /v1/attestation?path=P&nonce=RANDOM from attestd over keep-alive
 *       HTTPS connections, one per thread, one request at a time each.
 *
 * Prints "rate R" (documents per second, wall clock) and "errors E". */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>

#include "lib/attestation/att_doc.h"
#include "lib/attestation/nsm.h"

struct opts {
	const char *mode, *emu, *url, *path;
	unsigned threads;
	double seconds;
};

static atomic_ulong done_ok, done_err;

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void *raw_main(void *arg)
{
	const struct opts *o = arg;
	static uint8_t ud[600], pk[91];
	uint8_t nonce[32], *doc = malloc(ATT_DOC_MAX);
	char spec[4200], err[256];
	struct nsm *n;
	size_t len;
	double end = now() + o->seconds;

	snprintf(spec, sizeof(spec), "emu:%s", o->emu);
	n = nsm_open(spec, err, sizeof(err));
	if (!n || !doc) {
		fprintf(stderr, "adload: %s\n", n ? "out of memory" : err);
		atomic_fetch_add(&done_err, 1);
		free(doc);
		return NULL;
	}
	while (now() < end) {
		struct nsm_attest_in in = { .nonce = { nonce, 32 }, .user_data = { ud, sizeof(ud) },
					    .public_key = { pk, sizeof(pk) } };

		RAND_bytes(nonce, sizeof(nonce));
		if (nsm_attest(n, &in, doc, ATT_DOC_MAX, &len) == 0)
			atomic_fetch_add(&done_ok, 1);
		else
			atomic_fetch_add(&done_err, 1);
	}
	nsm_close(n);
	free(doc);
	return NULL;
}

/* ---- HTTP ---- */

struct client {
	const struct opts *o;
	struct event_base *base;
	struct evhttp_connection *evcon;
	char host[256];
	int port;
	double end;
	char target[8192];
};

static void next_request(struct client *c);

static void on_reply(struct evhttp_request *req, void *arg)
{
	struct client *c = arg;

	if (req && evhttp_request_get_response_code(req) == 200)
		atomic_fetch_add(&done_ok, 1);
	else
		atomic_fetch_add(&done_err, 1);
	if (now() < c->end && req && evhttp_request_get_response_code(req) != 0)
		next_request(c);
	else
		event_base_loopexit(c->base, NULL);
}

static void next_request(struct client *c)
{
	struct evhttp_request *req = evhttp_request_new(on_reply, c);
	uint8_t nonce[32];
	size_t k = (size_t)snprintf(c->target, sizeof(c->target), "/v1/attestation?path=%s&nonce=",
				    c->o->path);
	unsigned i;

	RAND_bytes(nonce, sizeof(nonce));
	for (i = 0; i < 32 && k + 3 < sizeof(c->target); i++)
		k += (size_t)snprintf(c->target + k, 3, "%02x", nonce[i]);
	evhttp_add_header(evhttp_request_get_output_headers(req), "Host", c->host);
	if (evhttp_make_request(c->evcon, req, EVHTTP_REQ_GET, c->target) < 0) {
		atomic_fetch_add(&done_err, 1);
		event_base_loopexit(c->base, NULL);
	}
}

static void *http_main(void *arg)
{
	const struct opts *o = arg;
	struct client c = { .o = o };
	struct evhttp_uri *u = evhttp_uri_parse(o->url);
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	struct bufferevent *bev;
	SSL *ssl;

	if (!u || !ctx || !evhttp_uri_get_host(u)) {
		fprintf(stderr, "adload: bad --url\n");
		atomic_fetch_add(&done_err, 1);
		return NULL;
	}
	snprintf(c.host, sizeof(c.host), "%s", evhttp_uri_get_host(u));
	c.port = evhttp_uri_get_port(u) < 0 ? 443 : evhttp_uri_get_port(u);
	c.base = event_base_new();
	ssl = SSL_new(ctx);
	bev = bufferevent_openssl_socket_new(c.base, -1, ssl, BUFFEREVENT_SSL_CONNECTING,
					     BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
	c.evcon = evhttp_connection_base_bufferevent_new(c.base, NULL, bev, c.host,
							 (ev_uint16_t)c.port);
	evhttp_connection_set_timeout(c.evcon, 10);
	c.end = now() + o->seconds;
	next_request(&c);
	event_base_dispatch(c.base);
	evhttp_connection_free(c.evcon);
	event_base_free(c.base);
	SSL_CTX_free(ctx);
	evhttp_uri_free(u);
	return NULL;
}

static int parse(int argc, char **argv, struct opts *o)
{
	int i;

	*o = (struct opts){ .threads = 1, .seconds = 3 };
	if (argc < 2)
		return -1;
	o->mode = argv[1];
	for (i = 2; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "--emu"))
			o->emu = argv[i + 1];
		else if (!strcmp(argv[i], "--url"))
			o->url = argv[i + 1];
		else if (!strcmp(argv[i], "--path"))
			o->path = argv[i + 1];
		else if (!strcmp(argv[i], "--threads"))
			o->threads = (unsigned)atoi(argv[i + 1]);
		else if (!strcmp(argv[i], "--seconds"))
			o->seconds = atof(argv[i + 1]);
		else
			return -1;
	}
	if (i != argc || o->threads < 1 || o->threads > 64)
		return -1;
	if (!strcmp(o->mode, "raw"))
		return o->emu ? 0 : -1;
	return !strcmp(o->mode, "http") && o->url && o->path ? 0 : -1;
}

int main(int argc, char **argv)
{
	pthread_t t[64];
	struct opts o;
	double t0, el;
	unsigned i;

	if (parse(argc, argv, &o) < 0) {
		fprintf(stderr, "usage: adload raw --emu DIR | http --url URL --path P "
				"[--threads T] [--seconds S]\n");
		return 2;
	}
	t0 = now();
	for (i = 0; i < o.threads; i++)
		pthread_create(&t[i], NULL, !strcmp(o.mode, "raw") ? raw_main : http_main, &o);
	for (i = 0; i < o.threads; i++)
		pthread_join(t[i], NULL);
	el = now() - t0;
	printf("rate %.1f\nerrors %lu\n", (double)atomic_load(&done_ok) / el,
	       (unsigned long)atomic_load(&done_err));
	return atomic_load(&done_ok) ? 0 : 1;
}
