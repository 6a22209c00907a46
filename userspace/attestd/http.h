/* The HTTPS server: libevent evhttp over bufferevent_openssl, one event
 * base per thread, all accepting on one listening socket, with the
 * hardening of ../shared/notes/http-library.md: TCP_NODELAY, header and
 * body limits, an idle timeout, a per-connection deadline against clients
 * that dribble bytes, and a connection cap (the listener pauses when full). */
#ifndef NEK_ATTESTD_HTTP_H
#define NEK_ATTESTD_HTTP_H

#include <stddef.h>

#include "attestd/api.h"

#define HTTP_HEADERS_MAX 8192

struct http_srv;

/* Listens on cfg->listen and starts cfg->http_threads threads. Returns NULL
 * with a one-line reason in err. */
/* Binds the API socket and makes every thread's state (database reader,
 * NSM handle, event base), starting no thread: done before the drop. */
struct http_srv *http_open(struct api_shared *shared, char *err, size_t errlen);
/* Starts the API threads. */
int http_run(struct http_srv *srv, char *err, size_t errlen);
/* Stops every thread and closes every connection. */
void http_stop(struct http_srv *srv);

#endif
