/* The HTTPS server threads; see http.h. */
#include "attestd/http.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <linux/vm_sockets.h>

#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/listener.h>

#include "attestd/metrics.h"
#include "attestd/privs.h"
#include "attestd/ratelimit.h"
#include "lib/core/errfmt.h"
#include "lib/core/log.h"
#include "lib/core/sock.h"

#define HTTP_THREADS_MAX 16

struct hthread;

/* One connection, hung on its SSL object: SSL_free (when libevent frees
 * the connection, however it ends) frees this too, through ex_data. */
struct conn {
	struct hthread *t;
	struct bufferevent *bev;
	struct event *deadline;
	bool tuned;
	char key[RL_KEY_MAX]; /* the rate-limit bucket: who the client is (client_key) */
};

struct hthread {
	struct http_srv *srv;
	pthread_t thr;
	bool started;
	struct event_base *base;
	struct evhttp *http;
	struct evconnlistener *listener;
	struct event *stop_ev;
	int stop_fd;
	unsigned conns, cap;
	bool paused;
	struct api_thread *api;
};

struct http_srv {
	struct api_shared *s;
	int lfd;
	struct addr addr;
	unsigned n;
	struct hthread t[HTTP_THREADS_MAX];
	struct timeval deadline;
};

static int conn_idx = -1;

static void conn_free(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx, long argl,
		      void *argp)
{
	struct conn *c = ptr;
	struct hthread *t;

	(void)parent, (void)ad, (void)idx, (void)argl, (void)argp;
	if (!c)
		return;
	t = c->t;
	event_free(c->deadline);
	free(c);
	t->conns--;
	atomic_fetch_sub(&ad_metrics.http_conns, 1);
	if (t->paused && t->conns < t->cap) {
		evconnlistener_enable(t->listener);
		t->paused = false;
	}
}

static pthread_once_t idx_once = PTHREAD_ONCE_INIT;

static void make_idx(void)
{
	conn_idx = SSL_get_ex_new_index(0, NULL, NULL, NULL, conn_free);
}

/* Past the deadline: the connection has not delivered a whole request in
 * time. Shutting the socket makes libevent see the end and free it all. */
static void on_deadline(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;
	evutil_socket_t s = bufferevent_getfd(c->bev);

	(void)fd, (void)what;
	atomic_fetch_add(&ad_metrics.http_rej_deadline, 1);
	if (s >= 0)
		shutdown(s, SHUT_RDWR);
}

static void arm_deadline(struct conn *c)
{
	evtimer_add(c->deadline, &c->t->srv->deadline);
}

/* A new connection: evhttp asks for its bufferevent. We never return NULL:
 * evhttp would then speak plain HTTP. */
static struct bufferevent *on_new_conn(struct event_base *base, void *arg)
{
	struct hthread *t = arg;
	struct conn *c = calloc(1, sizeof(*c));
	SSL *ssl = SSL_new(t->srv->s->tls.ctx);

	if (!c || !ssl) {
		log_error("api: out of memory for a connection");
		abort();
	}
	c->t = t;
	c->deadline = evtimer_new(base, on_deadline, c);
	c->bev = bufferevent_openssl_socket_new(base, -1, ssl, BUFFEREVENT_SSL_ACCEPTING,
						BEV_OPT_CLOSE_ON_FREE);
	if (!c->deadline || !c->bev || !SSL_set_ex_data(ssl, conn_idx, c)) {
		log_error("api: cannot set up a connection");
		abort();
	}
	t->conns++;
	atomic_fetch_add(&ad_metrics.http_conns, 1);
	arm_deadline(c);
	if (t->conns >= t->cap && !t->paused) {
		/* Full: new clients wait in the kernel's backlog until one ends. */
		evconnlistener_disable(t->listener);
		t->paused = true;
		atomic_fetch_add(&ad_metrics.http_rej_conns, 1);
	}
	return c->bev;
}

static struct conn *conn_of(struct evhttp_request *req)
{
	struct evhttp_connection *evcon = evhttp_request_get_connection(req);
	struct bufferevent *bev = evcon ? evhttp_connection_get_bufferevent(evcon) : NULL;
	SSL *ssl = bev ? bufferevent_openssl_get_ssl(bev) : NULL;

	return ssl ? SSL_get_ex_data(ssl, conn_idx) : NULL;
}

/* The reply went out: the next request has a new deadline. */
static void on_complete(struct evhttp_request *req, void *arg)
{
	(void)req;
	arm_deadline(arg);
}

/* Who the client is, as far as the transport can tell, for its rate-limit
 * bucket: TCP its address (no port: one host is one client), vsock its CID
 * (one enclave or the parent), unix the peer's uid from SO_PEERCRED (what
 * the kernel vouches for; a pid would be a new bucket per fork). Behind a
 * proxy every client has the proxy's identity (docs/attestd-api.md). A peer
 * that cannot be told apart lands in one bucket per transport, never in
 * another client's. */
static void client_key(struct conn *c, struct evhttp_request *req, enum addr_kind kind, int fd)
{
	struct evhttp_connection *evcon = evhttp_request_get_connection(req);
	struct sockaddr_vm vm;
	struct ucred cred;
	socklen_t len;
	char *peer = NULL;
	ev_uint16_t port = 0;

	if (kind == ADDR_UNIX) {
		len = sizeof(cred);
		if (fd >= 0 && getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0)
			snprintf(c->key, sizeof(c->key), "unix:uid=%u", (unsigned)cred.uid);
		else
			snprintf(c->key, sizeof(c->key), "unix:unknown");
		return;
	}
	if (kind == ADDR_VSOCK) {
		len = sizeof(vm);
		if (fd >= 0 && getpeername(fd, (struct sockaddr *)&vm, &len) == 0 &&
		    vm.svm_family == AF_VSOCK)
			snprintf(c->key, sizeof(c->key), "vsock:cid=%u", (unsigned)vm.svm_cid);
		else
			snprintf(c->key, sizeof(c->key), "vsock:unknown");
		return;
	}
	if (evcon)
		evhttp_connection_get_peer(evcon, &peer, &port);
	snprintf(c->key, sizeof(c->key), "tcp:%s", peer && *peer ? peer : "unknown");
}

/* Once per connection, at its first request (the socket is set by then). */
static void tune(struct conn *c, struct hthread *t, struct evhttp_request *req)
{
	evutil_socket_t s = bufferevent_getfd(c->bev);
	int one = 1;

	c->tuned = true;
	/* Without it, Nagle and delayed ACK hold each reply back ~40 ms (two
	 * TLS records per reply): 1k instead of 12k requests/s. */
	if (s >= 0 && t->srv->addr.kind == ADDR_TCP)
		setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	client_key(c, req, t->srv->addr.kind, s);
}

static void on_request(struct evhttp_request *req, void *arg)
{
	struct hthread *t = arg;
	struct conn *c = conn_of(req);

	if (!c) {
		/* Every connection gets a conn in on_new_conn; without one the
		 * client is unknown and shares the bucket of all such. */
		api_handle(t->api, req, "unknown");
		return;
	}
	evtimer_del(c->deadline);
	if (!c->tuned)
		tune(c, t, req);
	evhttp_request_set_on_complete_cb(req, on_complete, c);
	api_handle(t->api, req, c->key);
}

static void on_stop(evutil_socket_t fd, short what, void *arg)
{
	struct hthread *t = arg;

	(void)fd, (void)what;
	event_base_loopbreak(t->base);
}

static void *thread_main(void *arg)
{
	struct hthread *t = arg;

	/* Before the first byte from a client. */
	ad_thread_role(AD_ROLE_NONE, "api");
	ad_api_sandbox(t->srv->s->cfg);
	event_base_dispatch(t->base);
	return NULL;
}

static int setup_thread(struct http_srv *srv, struct hthread *t, char *err, size_t errlen)
{
	const struct ad_config *cfg = srv->s->cfg;
	struct evhttp_bound_socket *bound;
	struct timeval idle = { (time_t)(cfg->idle_ms / 1000), (suseconds_t)(cfg->idle_ms % 1000) * 1000 };
	int fd;

	t->srv = srv;
	t->stop_fd = -1;
	t->cap = cfg->max_conns / srv->n ? cfg->max_conns / srv->n : 1;
	if (!(t->api = api_thread_new(srv->s, err, errlen)))
		return -1;
	if (!(t->base = event_base_new()) || !(t->http = evhttp_new(t->base)))
		return errfmt(err, errlen, "libevent: cannot make an event base");
	evhttp_set_max_headers_size(t->http, HTTP_HEADERS_MAX);
	evhttp_set_max_body_size(t->http, 0);
	evhttp_set_timeout_tv(t->http, &idle);
	/* Every method reaches the handler, which answers 405 in JSON. */
	evhttp_set_allowed_methods(t->http, EVHTTP_REQ_GET | EVHTTP_REQ_HEAD | EVHTTP_REQ_POST |
					    EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE |
					    EVHTTP_REQ_OPTIONS | EVHTTP_REQ_TRACE |
					    EVHTTP_REQ_CONNECT | EVHTTP_REQ_PATCH);
	evhttp_set_bevcb(t->http, on_new_conn, t);
	evhttp_set_gencb(t->http, on_request, t);
	/* Each thread listens on its own copy, so freeing one closes only it. */
	fd = fcntl(srv->lfd, F_DUPFD_CLOEXEC, 0);
	if (fd < 0 || !(bound = evhttp_accept_socket_with_handle(t->http, fd))) {
		if (fd >= 0)
			close(fd);
		return errfmt(err, errlen, "libevent: cannot accept on the API socket");
	}
	t->listener = evhttp_bound_socket_get_listener(bound);
	t->stop_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (t->stop_fd < 0 ||
	    !(t->stop_ev = event_new(t->base, t->stop_fd, EV_READ, on_stop, t)) ||
	    event_add(t->stop_ev, NULL) < 0)
		return errfmt(err, errlen, "libevent: cannot set up a stop event");
	return 0;
}

struct http_srv *http_open(struct api_shared *shared, char *err, size_t errlen)
{
	const struct ad_config *cfg = shared->cfg;
	struct http_srv *srv = calloc(1, sizeof(*srv));
	unsigned i;
	int one = 1;

	if (!srv) {
		errfmt(err, errlen, "out of memory");
		return NULL;
	}
	pthread_once(&idx_once, make_idx);
	srv->s = shared;
	srv->addr = cfg->listen;
	srv->n = cfg->http_threads < 1 ? 1 : cfg->http_threads > HTTP_THREADS_MAX ?
		 HTTP_THREADS_MAX : cfg->http_threads;
	srv->deadline.tv_sec = (time_t)(cfg->deadline_ms / 1000);
	srv->deadline.tv_usec = (suseconds_t)(cfg->deadline_ms % 1000) * 1000;
	srv->lfd = sock_listen(&cfg->listen, 512, SOCK_NONBLOCK, err, errlen);
	if (srv->lfd < 0 || conn_idx < 0) {
		free(srv);
		return NULL;
	}
	if (cfg->listen.kind == ADDR_TCP)
		setsockopt(srv->lfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	for (i = 0; i < srv->n; i++) {
		if (setup_thread(srv, &srv->t[i], err, errlen) < 0) {
			http_stop(srv);
			return NULL;
		}
	}
	return srv;
}

int http_run(struct http_srv *srv, char *err, size_t errlen)
{
	unsigned i;

	for (i = 0; i < srv->n; i++) {
		if (pthread_create(&srv->t[i].thr, NULL, thread_main, &srv->t[i]) != 0)
			return errfmt(err, errlen, "cannot start an API thread");
		srv->t[i].started = true;
	}
	return 0;
}

void http_stop(struct http_srv *srv)
{
	uint64_t one = 1;
	unsigned i;

	if (!srv)
		return;
	for (i = 0; i < srv->n; i++)
		if (srv->t[i].started && write(srv->t[i].stop_fd, &one, sizeof(one)) < 0)
			log_warn("api: cannot stop a thread: %s", strerror(errno));
	for (i = 0; i < srv->n; i++) {
		struct hthread *t = &srv->t[i];

		if (t->started)
			pthread_join(t->thr, NULL);
		/* evhttp_free frees the listener first, then every connection (and
		 * with it the SSL and the conn): nothing may re-enable it then. */
		t->listener = NULL;
		t->paused = false;
		t->cap = UINT32_MAX;
		if (t->http)
			evhttp_free(t->http);
		if (t->stop_ev)
			event_free(t->stop_ev);
		if (t->base)
			event_base_free(t->base);
		if (t->stop_fd >= 0)
			close(t->stop_fd);
		api_thread_free(t->api);
	}
	if (srv->lfd >= 0)
		close(srv->lfd);
	sock_unlink(&srv->addr);
	free(srv);
}
