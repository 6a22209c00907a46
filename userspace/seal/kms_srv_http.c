/* The HTTPS side of seal kms-server: libevent's evhttp over
 * bufferevent_openssl, one thread (the state directory is then never
 * written by two requests at once). */
#include "seal/kms_srv.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/http.h>
#include <sys/queue.h>
#include <event2/keyvalq_struct.h>
#include <openssl/ssl.h>

#include "lib/core/addr.h"
#include "lib/core/errfmt.h"
#include "lib/core/log.h"
#include "lib/core/sock.h"
#include "lib/secrets/sigv4.h"
#include "seal/kms_srv_auth.h"

#define HEADERS_MAX 16384
#define IDLE_TIMEOUT_S 30

struct http_ctx {
	struct kms_server *s;
	SSL_CTX *ssl;
	struct event_base *base;
};

static struct bufferevent *on_conn(struct event_base *base, void *arg)
{
	struct http_ctx *h = arg;
	SSL *ssl = SSL_new(h->ssl);

	if (!ssl)
		return NULL;
	return bufferevent_openssl_socket_new(base, -1, ssl, BUFFEREVENT_SSL_ACCEPTING,
					      BEV_OPT_CLOSE_ON_FREE);
}

static void reply(struct evhttp_request *req, int code, const char *body)
{
	struct evbuffer *b = evbuffer_new();

	evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
			  "application/x-amz-json-1.1");
	if (b)
		evbuffer_add(b, body, strlen(body));
	evhttp_send_reply(req, code, code == 200 ? "OK" : "Bad Request", b);
	if (b)
		evbuffer_free(b);
}

static void reply_fault(struct evhttp_request *req, const struct kms_fault *f)
{
	json_t *o = json_pack("{s:s, s:s}", "__type", f->type, "message", f->msg);
	char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;

	log_info("%s: %s", f->type, f->msg);
	reply(req, f->http ? f->http : 400, s ? s : "{\"__type\":\"KMSInternalException\"}");
	free(s);
	json_decref(o);
}

/* The request as SigV4 sees it; headers point into libevent's list. */
struct signed_view {
	struct sigv4_header h[SIGV4_MAX_HEADERS];
	struct sigv4_request r;
	char *path;
};

static int view_build(struct evhttp_request *req, const uint8_t *body, size_t len,
		      struct signed_view *v, struct kms_fault *f)
{
	const struct evhttp_uri *u = evhttp_request_get_evhttp_uri(req);
	const char *raw = u ? evhttp_uri_get_path(u) : NULL;
	struct evkeyval *kv;
	size_t n = 0;

	memset(v, 0, sizeof(*v));
	TAILQ_FOREACH(kv, evhttp_request_get_input_headers(req), next) {
		if (n == SIGV4_MAX_HEADERS)
			return kms_fail(f, "ValidationException", "more than %d headers", SIGV4_MAX_HEADERS);
		v->h[n].name = kv->key;
		v->h[n].value = kv->value;
		n++;
	}
	v->path = sigv4_uri_decode(raw && *raw ? raw : "/", raw && *raw ? strlen(raw) : 1);
	if (!v->path)
		return kms_fail(f, "ValidationException", "malformed request path");
	v->r.method = "POST";
	v->r.path = v->path;
	v->r.query = u ? evhttp_uri_get_query(u) : NULL;
	v->r.headers = v->h;
	v->r.nheaders = n;
	v->r.normalize = true;
	sigv4_sha256_hex(body, len, v->r.payload_hash);
	return 0;
}

static int read_body(struct evhttp_request *req, uint8_t **body, size_t *len, struct kms_fault *f)
{
	struct evbuffer *in = evhttp_request_get_input_buffer(req);
	size_t n = evbuffer_get_length(in);

	if (n > KMS_BODY_MAX) {
		kms_fail(f, "ValidationException", "request body over %d bytes", KMS_BODY_MAX);
		f->http = 413;
		return -1;
	}
	*body = malloc(n + 1);
	if (!*body)
		return kms_fail(f, "KMSInternalException", "out of memory");
	if (evbuffer_remove(in, *body, n) != (int)n) {
		free(*body);
		*body = NULL;
		return kms_fail(f, "KMSInternalException", "body read failed");
	}
	*len = n;
	return 0;
}

static int handle(struct http_ctx *h, struct evhttp_request *req, char **ans, struct kms_fault *f)
{
	const struct kms_principal *p;
	struct signed_view v;
	struct kms_req r;
	uint8_t *body = NULL;
	size_t len = 0;
	int rc = -1;

	if (evhttp_request_get_command(req) != EVHTTP_REQ_POST) {
		kms_fail(f, "UnsupportedOperationException", "only POST / is served");
		f->http = 405;
		return -1;
	}
	if (read_body(req, &body, &len, f) != 0)
		return -1;
	if (view_build(req, body, len, &v, f) != 0)
		goto out;
	p = kms_auth_check(&h->s->ps, &v.r, time(NULL), f);
	if (!p)
		goto out;
	rc = kms_req_parse(evhttp_find_header(evhttp_request_get_input_headers(req), "X-Amz-Target"),
			   body, len, &r, f);
	if (rc == 0) {
		rc = kms_ops_run(h->s, p, &r, ans, f);
		log_debug("%s by %s: %s", r.action, p->arn, rc == 0 ? "ok" : f->type);
	}
	kms_req_free(&r);
out:
	free(v.path);
	free(body);
	return rc;
}

static void on_request(struct evhttp_request *req, void *arg)
{
	struct kms_fault f = { 0 };
	char *ans = NULL;

	if (handle(arg, req, &ans, &f) != 0)
		reply_fault(req, &f);
	else
		reply(req, 200, ans);
	free(ans);
}

static void on_signal(evutil_socket_t fd, short what, void *arg)
{
	(void)fd, (void)what;
	event_base_loopbreak(arg);
}

static int write_ready(const char *path, int fd, char *err, size_t errlen)
{
	struct addr a;
	char tmp[4200];
	FILE *fp;

	if (!path)
		return 0;
	if (sock_local_addr(fd, &a) != 0)
		return errfmt(err, errlen, "the bound address: %s", strerror(errno));
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	fp = fopen(tmp, "we");
	if (!fp)
		return errfmt(err, errlen, "%s: %s", tmp, strerror(errno));
	fprintf(fp, "%u\n", addr_port(&a));
	if (fclose(fp) != 0 || rename(tmp, path) != 0)
		return errfmt(err, errlen, "%s: %s", path, strerror(errno));
	return 0;
}

static int serve(struct http_ctx *h, struct evhttp *http, int fd, const char *ready, char *err,
		 size_t errlen)
{
	struct event *sig_int, *sig_term;
	int rc = -1;

	evhttp_set_bevcb(http, on_conn, h);
	evhttp_set_gencb(http, on_request, h);
	evhttp_set_max_body_size(http, KMS_BODY_MAX);
	evhttp_set_max_headers_size(http, HEADERS_MAX);
	evhttp_set_timeout(http, IDLE_TIMEOUT_S);
	if (!evhttp_accept_socket_with_handle(http, fd)) {
		close(fd);
		return errfmt(err, errlen, "evhttp cannot take the listening socket");
	}
	sig_int = evsignal_new(h->base, SIGINT, on_signal, h->base);
	sig_term = evsignal_new(h->base, SIGTERM, on_signal, h->base);
	if (!sig_int || !sig_term || event_add(sig_int, NULL) || event_add(sig_term, NULL)) {
		errfmt(err, errlen, "signal events");
		goto out;
	}
	if (write_ready(ready, fd, err, errlen) != 0)
		goto out;
	rc = event_base_dispatch(h->base) < 0 ? errfmt(err, errlen, "event loop failed") : 0;
out:
	if (sig_int)
		event_free(sig_int);
	if (sig_term)
		event_free(sig_term);
	return rc;
}

int kms_http_run(struct kms_server *s, const char *listen, SSL_CTX *ssl, const char *ready_file,
		 char *err, size_t errlen)
{
	struct http_ctx h = { .s = s, .ssl = ssl };
	struct evhttp *http = NULL;
	struct addr a;
	int fd, rc = -1;

	if (addr_parse(listen, &a, err, errlen) != 0)
		return -1;
	if (a.kind == ADDR_VSOCK)
		return errfmt(err, errlen, "%s: kms-server listens on tcp: or unix: only", listen);
	fd = sock_listen(&a, 128, SOCK_NONBLOCK, err, errlen);
	if (fd < 0)
		return -1;
	/* evhttp writes an answer's head and body as two TLS records: with
	 * Nagle the second waits for the client's delayed ACK, 40 ms a call
	 * on a kept connection (bench/results/seal_kms.md). Accepted sockets
	 * inherit TCP_NODELAY from the listener. */
	if (sock_tune(fd, a.kind, 0) < 0) {
		close(fd);
		return errfmt(err, errlen, "%s: TCP_NODELAY: %s", listen, strerror(errno));
	}
	h.base = event_base_new();
	http = h.base ? evhttp_new(h.base) : NULL;
	if (!http)
		errfmt(err, errlen, "libevent: no event base");
	else
		rc = serve(&h, http, fd, ready_file, err, errlen);
	if (http)
		evhttp_free(http); /* closes fd: it was bound to the evhttp */
	else
		close(fd);
	if (h.base)
		event_base_free(h.base);
	sock_unlink(&a);
	return rc;
}
