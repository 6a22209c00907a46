/* sockprobe ADDR: connects to a tcp: address and prints what the socket
 * sees, for the transparent-proxy tests:
 *   "peer tcp:198.51.100.10:80 local tcp:127.0.0.1:41234"
 * or "connect: Operation not permitted" (exit 1). With --hold it then waits
 * for the peer to close. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "lib/core/addr.h"

int main(int argc, char **argv)
{
	char err[ADDR_ERR_MAX], t1[ADDR_TEXT_MAX], t2[ADDR_TEXT_MAX], c;
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	struct addr a, peer, local;
	int fd, hold = argc > 2 && strcmp(argv[2], "--hold") == 0;

	if (argc < 2 || addr_parse(argv[1], &a, err, sizeof(err)) < 0 || a.kind != ADDR_TCP) {
		fprintf(stderr, "usage: sockprobe tcp:HOST:PORT [--hold]%s%s\n", argc > 1 ? ": " : "",
			argc > 1 ? err : "");
		return 2;
	}
	fd = socket(a.u.sa.sa_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, &a.u.sa, a.len) < 0) {
		printf("connect: %s\n", strerror(errno));
		return 1;
	}
	if (getpeername(fd, (struct sockaddr *)&ss, &len) < 0 ||
	    addr_from_sockaddr((struct sockaddr *)&ss, len, &peer) < 0)
		return 1;
	len = sizeof(ss);
	if (getsockname(fd, (struct sockaddr *)&ss, &len) < 0 ||
	    addr_from_sockaddr((struct sockaddr *)&ss, len, &local) < 0)
		return 1;
	printf("peer %s local %s\n", addr_format(&peer, t1, sizeof(t1)),
	       addr_format(&local, t2, sizeof(t2)));
	fflush(stdout);
	while (hold && read(fd, &c, 1) > 0)
		;
	close(fd);
	return 0;
}
