/* tperf: transport throughput and integrity probe; see docs/tperf.md. */
#ifndef TPERF_H
#define TPERF_H

#include <stddef.h>
#include <stdint.h>

#include "lib/core/addr.h"
#include "lib/core/evloop.h"
#include "tperf/proto.h"

/* EV_AUTO/EV_URING/EV_EPOLL, or this for blocking read/write. */
#define TPERF_RW 100

struct tperf_opts {
	struct addr addr;
	int backend;
	size_t bufsize;
	size_t vsock_buf;
	/* server */
	unsigned max_conns;
	/* client */
	enum tperf_mode mode;
	uint64_t bytes;
	int verify;
	int json;
	unsigned count;
	size_t size;
};

int tperf_serve(const struct tperf_opts *o);
int tperf_client(const struct tperf_opts *o);
int tperf_ping(const struct tperf_opts *o);

#endif
