/* Listen/connect helpers over unix and tcp (never vsock on the host). */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/core/sock.h"

static char dir[64];

static void mkdir_tmp(void)
{
	snprintf(dir, sizeof(dir), "/tmp/nek-sock-XXXXXX");
	cr_assert(mkdtemp(dir));
}

static void rm_tmp(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	cr_assert_eq(system(cmd), 0);
}

TestSuite(sock, .init = mkdir_tmp, .fini = rm_tmp);

static struct addr unix_addr(const char *name)
{
	char text[128], err[ADDR_ERR_MAX];
	struct addr a;

	snprintf(text, sizeof(text), "unix:%s/%s", dir, name);
	cr_assert_eq(addr_parse(text, &a, err, sizeof(err)), 0, "%s", err);
	return a;
}

static void exchange(int lfd, const struct addr *a)
{
	char err[SOCK_ERR_MAX], buf[8];
	int c = sock_connect(a, 1000, 0, err, sizeof(err)), s;

	cr_assert_geq(c, 0, "%s", err);
	s = sock_accept(lfd, NULL, 0);
	cr_assert_geq(s, 0);
	cr_assert(fcntl(c, F_GETFD) & FD_CLOEXEC);
	cr_assert(fcntl(s, F_GETFD) & FD_CLOEXEC);
	cr_assert(!(fcntl(c, F_GETFL) & O_NONBLOCK), "connected fd is blocking by default");
	cr_assert_eq(write(c, "ping", 4), 4);
	cr_assert_eq(read(s, buf, sizeof(buf)), 4);
	cr_assert_eq(memcmp(buf, "ping", 4), 0);
	close(c);
	close(s);
}

Test(sock, unix_listen_connect)
{
	struct addr a = unix_addr("s.sock");
	char err[SOCK_ERR_MAX];
	int l = sock_listen(&a, 8, 0, err, sizeof(err));

	cr_assert_geq(l, 0, "%s", err);
	exchange(l, &a);
	close(l);
	sock_unlink(&a);
	cr_assert_neq(access(a.u.un.sun_path, F_OK), 0);
}

Test(sock, unix_stale_socket_is_replaced_live_one_is_not)
{
	struct addr a = unix_addr("stale.sock");
	char err[SOCK_ERR_MAX];
	int l1 = sock_listen(&a, 8, 0, err, sizeof(err)), l2;

	cr_assert_geq(l1, 0, "%s", err);
	l2 = sock_listen(&a, 8, 0, err, sizeof(err));
	cr_assert_eq(l2, -1, "a live listener must not be replaced");
	cr_assert_eq(errno, EADDRINUSE);
	cr_assert(strstr(err, "bind unix:"), "%s", err);
	close(l1); /* the file stays: now it is stale */
	l2 = sock_listen(&a, 8, 0, err, sizeof(err));
	cr_assert_geq(l2, 0, "stale socket not replaced: %s", err);
	exchange(l2, &a);
	close(l2);
}

Test(sock, unix_regular_file_is_not_removed)
{
	struct addr a = unix_addr("file");
	char err[SOCK_ERR_MAX];
	int fd = open(a.u.un.sun_path, O_CREAT | O_WRONLY, 0600);

	cr_assert_geq(fd, 0);
	close(fd);
	cr_assert_eq(sock_listen(&a, 8, 0, err, sizeof(err)), -1);
	cr_assert_eq(access(a.u.un.sun_path, F_OK), 0, "a regular file must survive");
}

Test(sock, unix_abstract)
{
	char err[SOCK_ERR_MAX], text[64];
	struct addr a;
	int l;

	snprintf(text, sizeof(text), "unix:@nek-test-%d", getpid());
	cr_assert_eq(addr_parse(text, &a, err, sizeof(err)), 0);
	l = sock_listen(&a, 8, 0, err, sizeof(err));
	cr_assert_geq(l, 0, "%s", err);
	exchange(l, &a);
	close(l);
}

Test(sock, tcp_ephemeral_port_and_nodelay)
{
	char err[SOCK_ERR_MAX];
	struct addr a, bound;
	int l, c, nd = 0;
	socklen_t sl = sizeof(nd);

	cr_assert_eq(addr_parse("tcp:127.0.0.1:0", &a, err, sizeof(err)), 0);
	l = sock_listen(&a, 8, 0, err, sizeof(err));
	cr_assert_geq(l, 0, "%s", err);
	cr_assert_eq(sock_local_addr(l, &bound), 0);
	cr_assert_neq(addr_port(&bound), 0);
	exchange(l, &bound);
	c = sock_connect(&bound, 1000, 0, err, sizeof(err));
	cr_assert_geq(c, 0);
	cr_assert_eq(sock_tune(c, ADDR_TCP, 0), 0);
	getsockopt(c, IPPROTO_TCP, TCP_NODELAY, &nd, &sl);
	cr_assert_eq(nd, 1);
	close(c);
	close(l);
}

Test(sock, tcp_v6_loopback)
{
	char err[SOCK_ERR_MAX];
	struct addr a, bound;
	int l;

	cr_assert_eq(addr_parse("tcp:[::1]:0", &a, err, sizeof(err)), 0);
	l = sock_listen(&a, 8, 0, err, sizeof(err));
	if (l < 0 && errno == EADDRNOTAVAIL)
		cr_skip_test("no IPv6 loopback here");
	cr_assert_geq(l, 0, "%s", err);
	cr_assert_eq(sock_local_addr(l, &bound), 0);
	exchange(l, &bound);
	close(l);
}

Test(sock, connect_refused_names_the_address)
{
	struct addr a = unix_addr("nobody.sock");
	char err[SOCK_ERR_MAX];

	cr_assert_eq(sock_connect(&a, 500, 0, err, sizeof(err)), -1);
	cr_assert_eq(errno, ENOENT);
	cr_assert(strstr(err, "connect unix:"), "%s", err);
	cr_assert(strstr(err, "No such file or directory"), "%s", err);
}

Test(sock, connect_wait_for_late_server)
{
	struct addr a = unix_addr("late.sock");
	char err[SOCK_ERR_MAX];
	pid_t pid = fork();
	int c, st;

	cr_assert_geq(pid, 0);
	if (pid == 0) {
		int l, s;

		usleep(200000);
		l = sock_listen(&a, 8, 0, err, sizeof(err));
		s = l >= 0 ? sock_accept(l, NULL, 0) : -1;
		_exit(s >= 0 && write(s, "x", 1) == 1 ? 0 : 1);
	}
	c = sock_connect_wait(&a, 5000, 0, err, sizeof(err));
	cr_assert_geq(c, 0, "%s", err);
	cr_assert_eq(read(c, err, 1), 1);
	close(c);
	waitpid(pid, &st, 0);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

Test(sock, connect_wait_gives_up)
{
	struct addr a = unix_addr("never.sock");
	char err[SOCK_ERR_MAX];

	cr_assert_eq(sock_connect_wait(&a, 200, 0, err, sizeof(err)), -1);
	cr_assert_eq(errno, ENOENT);
}

/* Only the policy is tested: a broken guard must not be able to open a
 * vsock socket from a host test. */
Test(sock, vsock_policy)
{
	char err[SOCK_ERR_MAX], path[128];
	int fd;

	cr_assert_eq(sock_vsock_policy(NULL, "/nonexistent/nek/deny", err, sizeof(err)), 0);
	cr_assert_eq(sock_vsock_policy("allow", "/nonexistent/nek/deny", err, sizeof(err)), 0);
	cr_assert_eq(sock_vsock_policy("deny", "/nonexistent/nek/deny", err, sizeof(err)), -1);
	cr_assert(strstr(err, "NEK_VSOCK=deny"), "%s", err);
	cr_assert_eq(sock_vsock_policy("0", NULL, err, sizeof(err)), -1);
	snprintf(path, sizeof(path), "%s/vsock.deny", dir);
	fd = open(path, O_CREAT | O_WRONLY, 0600);
	cr_assert_geq(fd, 0);
	close(fd);
	cr_assert_eq(sock_vsock_policy(NULL, path, err, sizeof(err)), -1);
	cr_assert(strstr(err, path), "%s", err);
}

Test(sock, host_tests_run_with_vsock_denied)
{
	char err[SOCK_ERR_MAX];

	/* tests/run.sh sets this; the check is the same one open_socket makes. */
	cr_assert_eq(sock_vsock_policy(getenv("NEK_VSOCK"), SOCK_VSOCK_DENY_FILE, err,
				       sizeof(err)),
		     -1, "host tests must run with AF_VSOCK denied (NEK_VSOCK=deny)");
}

Test(sock, socket_for_address_obeys_the_vsock_rule)
{
	char err[SOCK_ERR_MAX], aerr[ADDR_ERR_MAX];
	struct addr a;
	int fd;

	cr_assert_eq(addr_parse("tcp:127.0.0.1:1", &a, aerr, sizeof(aerr)), 0);
	fd = sock_socket(&a, SOCK_NONBLOCK, err, sizeof(err));
	cr_assert_geq(fd, 0, "%s", err);
	cr_assert(fcntl(fd, F_GETFL) & O_NONBLOCK);
	cr_assert(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	close(fd);
	if (!getenv("NEK_VSOCK"))
		cr_skip_test("NEK_VSOCK is not set: not creating a vsock socket");
	cr_assert_eq(addr_parse("vsock:16:5000", &a, aerr, sizeof(aerr)), 0);
	errno = 0;
	cr_assert_eq(sock_socket(&a, 0, err, sizeof(err)), -1);
	cr_assert_eq(errno, EPERM);
	cr_assert(strstr(err, "AF_VSOCK is disabled"), "%s", err);
}
