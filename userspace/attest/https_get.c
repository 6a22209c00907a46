/* One HTTPS GET; see https_get.h. */
#include "attest/https_get.h"

#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "lib/core/errfmt.h"

struct get {
	struct event_base *base;
	SSL *ssl;
	struct https_resp *out;
	size_t max_body;
	int done, failed;
	char *err;
	size_t errlen;
};

/* The server's key, taken when the handshake completes (by the time the
 * answer is in, libevent may have closed the connection). */
static void on_info(const SSL *ssl, int where, int ret)
{
	struct get *g = SSL_get_app_data(ssl);
	X509 *cert;
	EVP_PKEY *key;
	uint8_t *p;
	int n;

	(void)ret;
	if (!(where & SSL_CB_HANDSHAKE_DONE) || !g || g->out->spki_len)
		return;
	cert = SSL_get0_peer_certificate(ssl);
	key = cert ? X509_get0_pubkey(cert) : NULL;
	n = key ? i2d_PUBKEY(key, NULL) : -1;
	p = g->out->spki;
	if (n > 0 && n <= HTTPS_SPKI_MAX && i2d_PUBKEY(key, &p) == n)
		g->out->spki_len = (size_t)n;
}

static void on_done(struct evhttp_request *req, void *arg)
{
	struct get *g = arg;
	struct evbuffer *in;
	size_t n;

	g->done = 1;
	event_base_loopexit(g->base, NULL);
	if (!req || evhttp_request_get_response_code(req) == 0) {
		g->failed = 1;
		errfmt(g->err, g->errlen, "no answer (connection refused, TLS failure or timeout)");
		return;
	}
	g->out->status = evhttp_request_get_response_code(req);
	in = evhttp_request_get_input_buffer(req);
	n = evbuffer_get_length(in);
	if (n > g->max_body) {
		g->failed = 1;
		errfmt(g->err, g->errlen, "answer larger than %zu bytes", g->max_body);
		return;
	}
	g->out->body = malloc(n + 1);
	if (!g->out->body) {
		g->failed = 1;
		errfmt(g->err, g->errlen, "out of memory");
		return;
	}
	evbuffer_remove(in, g->out->body, n);
	g->out->body[n] = '\0';
	g->out->len = n;
}

struct conn {
	struct evhttp_uri *uri;
	SSL_CTX *ctx;
	struct evhttp_connection *evcon;
	char hostport[300];
};

static int connect_to(struct conn *c, struct get *g, const char *url, unsigned timeout_ms)
{
	struct bufferevent *bev;
	const char *host;
	int port;

	c->uri = evhttp_uri_parse(url);
	host = c->uri ? evhttp_uri_get_host(c->uri) : NULL;
	if (!host || !evhttp_uri_get_scheme(c->uri) ||
	    strcmp(evhttp_uri_get_scheme(c->uri), "https") != 0)
		return errfmt(g->err, g->errlen, "'%s': expected https://HOST[:PORT]", url);
	port = evhttp_uri_get_port(c->uri);
	port = port < 0 ? 443 : port;
	snprintf(c->hostport, sizeof(c->hostport), "%s:%d", host, port);
	c->ctx = SSL_CTX_new(TLS_client_method());
	if (!c->ctx || !SSL_CTX_set_min_proto_version(c->ctx, TLS1_2_VERSION) ||
	    !(g->ssl = SSL_new(c->ctx)))
		return errfmt(g->err, g->errlen, "TLS setup failed");
	/* No certificate check here: see https_get.h. */
	SSL_set_verify(g->ssl, SSL_VERIFY_NONE, NULL);
	SSL_set_tlsext_host_name(g->ssl, host);
	SSL_set_app_data(g->ssl, g);
	SSL_set_info_callback(g->ssl, on_info);
	bev = bufferevent_openssl_socket_new(g->base, -1, g->ssl, BUFFEREVENT_SSL_CONNECTING,
					     BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
	if (!bev) {
		SSL_free(g->ssl);
		return errfmt(g->err, g->errlen, "TLS setup failed");
	}
	c->evcon = evhttp_connection_base_bufferevent_new(g->base, NULL, bev, host,
							  (ev_uint16_t)port);
	if (!c->evcon)
		return errfmt(g->err, g->errlen, "cannot make a connection to %s", c->hostport);
	evhttp_connection_set_timeout(c->evcon, (int)((timeout_ms + 999) / 1000));
	evhttp_connection_set_max_body_size(c->evcon, (ev_ssize_t)g->max_body);
	evhttp_connection_set_retries(c->evcon, 0);
	return 0;
}

int https_get(const char *url, const char *target, unsigned timeout_ms, size_t max_body,
	      struct https_resp *out, char *err, size_t errlen)
{
	struct get g = { .out = out, .max_body = max_body, .err = err, .errlen = errlen };
	struct conn c = { 0 };
	struct evhttp_request *req;
	struct timeval tv = { timeout_ms / 1000, (timeout_ms % 1000) * 1000 };
	int rc = -1;

	memset(out, 0, sizeof(*out));
	g.base = event_base_new();
	if (!g.base)
		return errfmt(err, errlen, "cannot make an event base");
	if (connect_to(&c, &g, url, timeout_ms) < 0)
		goto out;
	req = evhttp_request_new(on_done, &g);
	if (!req || evhttp_add_header(evhttp_request_get_output_headers(req), "Host", c.hostport) ||
	    evhttp_add_header(evhttp_request_get_output_headers(req), "Connection", "close") ||
	    evhttp_make_request(c.evcon, req, EVHTTP_REQ_GET, target) < 0) {
		errfmt(err, errlen, "cannot send the request");
		goto out;
	}
	/* The whole exchange, however slowly the server answers. */
	event_base_loopexit(g.base, &tv);
	event_base_dispatch(g.base);
	if (!g.done)
		errfmt(err, errlen, "%s: no answer within %u ms", c.hostport, timeout_ms);
	else if (!g.failed)
		rc = 0;
out:
	if (c.evcon)
		evhttp_connection_free(c.evcon);
	SSL_CTX_free(c.ctx);
	if (c.uri)
		evhttp_uri_free(c.uri);
	event_base_free(g.base);
	if (rc < 0)
		https_resp_free(out);
	return rc;
}

void https_resp_free(struct https_resp *r)
{
	free(r->body);
	r->body = NULL;
	r->len = 0;
}
