/* lib/peercred: who may change state through a control socket (audit 4). */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <grp.h>
#include <netinet/in.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/core/peercred.h"

#define NOBODY 65534u

/* An abstract listener (no file mode can help there, as with unix:@name). */
static int listener(struct sockaddr_un *sa, socklen_t *len)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	cr_assert_geq(fd, 0);
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	snprintf(sa->sun_path + 1, sizeof(sa->sun_path) - 1, "nek-peercred-%d", getpid());
	*len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + strlen(sa->sun_path + 1));
	cr_assert_eq(bind(fd, (struct sockaddr *)sa, *len), 0, "%s", strerror(errno));
	cr_assert_eq(listen(fd, 4), 0);
	return fd;
}

/* Accepts one connection from a child running as uid/gid (no groups, or
 * the one supplementary group sup when not 0). */
static int peer_as(unsigned uid, unsigned gid, unsigned sup)
{
	struct sockaddr_un sa;
	socklen_t len;
	int lfd = listener(&sa, &len), fd;
	pid_t pid = fork();

	cr_assert_geq(pid, 0);
	if (pid == 0) {
		gid_t g = (gid_t)sup;
		int c;

		if (setgroups(sup ? 1 : 0, &g) < 0 || setresgid(gid, gid, gid) < 0 ||
		    setresuid(uid, uid, uid) < 0)
			_exit(3);
		c = socket(AF_UNIX, SOCK_STREAM, 0);
		if (c < 0 || connect(c, (struct sockaddr *)&sa, len) < 0)
			_exit(4);
		pause(); /* killed by the parent */
		_exit(0);
	}
	fd = accept(lfd, NULL, NULL);
	close(lfd);
	cr_assert_geq(fd, 0);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	return fd;
}

Test(peercred, nobody_is_refused_root_is_accepted)
{
	struct peercred_allow none = { 0 };
	uid_t uid = 0;
	int fd;

	if (geteuid() != 0)
		cr_skip_test("needs root to become nobody");
	fd = peer_as(NOBODY, NOBODY, 0);
	cr_assert_eq(peercred_check(fd, &none, &uid), 0, "nobody may not change state");
	cr_assert_eq(uid, NOBODY);
	close(fd);
	fd = peer_as(0, 0, 0);
	cr_assert_eq(peercred_check(fd, &none, &uid), 1, "root may");
	cr_assert_eq(uid, 0);
	close(fd);
}

Test(peercred, named_user_and_group)
{
	struct peercred_allow by_uid = { .uid = NOBODY, .has_uid = 1 };
	struct peercred_allow by_gid = { .gid = 4242, .has_gid = 1 };
	struct peercred_allow other = { .uid = 1234, .has_uid = 1, .gid = 4343, .has_gid = 1 };
	int fd;

	if (geteuid() != 0)
		cr_skip_test("needs root to change uid");
	fd = peer_as(NOBODY, NOBODY, 0);
	cr_assert_eq(peercred_check(fd, &by_uid, NULL), 1, "--control-user nobody");
	cr_assert_eq(peercred_check(fd, &other, NULL), 0);
	close(fd);
	fd = peer_as(NOBODY, 4242, 0);
	cr_assert_eq(peercred_check(fd, &by_gid, NULL), 1, "primary group");
	close(fd);
	fd = peer_as(NOBODY, NOBODY, 4242);
	cr_assert_eq(peercred_check(fd, &by_gid, NULL), 1, "supplementary group");
	cr_assert_eq(peercred_check(fd, &other, NULL), 0);
	close(fd);
}

Test(peercred, sockets_without_credentials_are_refused)
{
	struct peercred_allow none = { 0 };
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(sa);
	int l = socket(AF_INET, SOCK_STREAM, 0), c = socket(AF_INET, SOCK_STREAM, 0), a;

	cr_assert(l >= 0 && c >= 0);
	cr_assert_eq(bind(l, (struct sockaddr *)&sa, sizeof(sa)), 0);
	cr_assert_eq(listen(l, 1), 0);
	cr_assert_eq(getsockname(l, (struct sockaddr *)&sa, &len), 0);
	cr_assert_eq(connect(c, (struct sockaddr *)&sa, sizeof(sa)), 0);
	a = accept(l, NULL, NULL);
	cr_assert_geq(a, 0);
	cr_assert_eq(peercred_check(a, &none, NULL), 0, "a root TCP peer is still not trusted");
	close(a);
	close(c);
	close(l);
}

Test(peercred, parse_names_and_numbers)
{
	struct peercred_allow a = { 0 };
	char err[128];

	cr_assert_eq(peercred_allow_parse(&a, "nobody", "0", err, sizeof(err)), 0, "%s", err);
	cr_assert(a.has_uid && a.has_gid);
	cr_assert_eq(a.uid, NOBODY);
	cr_assert_eq(a.gid, 0);
	cr_assert_eq(peercred_allow_parse(&a, "no-such-user-xyz", NULL, err, sizeof(err)), -1);
	cr_assert(strstr(err, "no-such-user-xyz"), "%s", err);
	cr_assert_eq(peercred_allow_parse(&a, NULL, "no-such-group-xyz", err, sizeof(err)), -1);
	cr_assert(strstr(err, "group 'no-such-group-xyz'"), "%s", err);
}
