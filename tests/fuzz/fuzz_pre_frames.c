/* libFuzzer target: a nek-pre/1 connection's byte stream as seal pre serve
 * reads it (docs/umbral-proxy.md): the buffered frame splitter that lets
 * clients pipeline, then each frame's request parser and its capsules. Any
 * stream ends in a clean error; no frame is longer than the limit or runs
 * past what was sent. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "lib/core/fdio.h"
#include "seal/pre_proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void requests(int fd, size_t size)
{
	static struct pre_rbuf rb;
	struct umb_capsule c;
	struct pre_req r;
	const uint8_t *body;
	char err[256];
	size_t n, seen = 0;

	rb.off = rb.len = 0;
	while (pre_frame_next(fd, &rb, &body, &n, err, sizeof(err)) == 0) {
		seen += 4 + n;
		if (n < 1 || n > PRE_FRAME_MAX || seen > size)
			abort();
		if (pre_req_parse(body, n, &r, err, sizeof(err)) || r.op == PRE_OP_STATS)
			continue;
		for (unsigned i = 0; i < r.ncaps; i++)
			(void)pre_req_capsule(&r, i, &c, err, sizeof(err));
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int sv[2];

	/* The whole input must fit the socket's buffer: the writer does not
	 * wait for the reader. */
	if (size > 65536 || socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv))
		return 0;
	if (fd_write_all(sv[0], data, size) == 0 && shutdown(sv[0], SHUT_WR) == 0)
		requests(sv[1], size);
	close(sv[0]);
	close(sv[1]);
	return 0;
}
