/* lib/outfile: which way each kind of target is written, what a failure
 * leaves behind, and the fd count after every path. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "lib/core/outfile.h"

static char dir[256];

static void setup(void)
{
	const char *t = getenv("TMPDIR");

	snprintf(dir, sizeof(dir), "%s/outfile.XXXXXX", t && *t ? t : "/tmp");
	cr_assert(mkdtemp(dir));
}

static void teardown(void)
{
	char cmd[300];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	cr_assert_eq(system(cmd), 0);
}

TestSuite(outfile, .init = setup, .fini = teardown);

static const char *in(const char *name)
{
	static char p[4][512];
	static int i;

	i = (i + 1) % 4;
	snprintf(p[i], sizeof(p[i]), "%s/%s", dir, name);
	return p[i];
}

static int nfds(void)
{
	DIR *d = opendir("/proc/self/fd");
	int n = 0;

	cr_assert(d);
	while (readdir(d))
		n++;
	closedir(d);
	return n;
}

static int nentries(void)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	cr_assert(d);
	while ((e = readdir(d)))
		n += e->d_name[0] != '.';
	closedir(d);
	return n;
}

static void put(const char *path, const char *s)
{
	FILE *f = fopen(path, "w");

	cr_assert(f);
	fputs(s, f);
	cr_assert_eq(fclose(f), 0);
}

static void expect(const char *path, const char *s)
{
	char buf[64] = { 0 };
	FILE *f = fopen(path, "r");

	cr_assert(f, "%s", path);
	cr_assert(fread(buf, 1, sizeof(buf) - 1, f) <= sizeof(buf) - 1);
	fclose(f);
	cr_assert_str_eq(buf, s);
}

static void write_and_commit(const char *path, int flags, const char *s)
{
	char err[256];
	struct outfile o;

	cr_assert_eq(outfile_open(&o, path, flags, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(write(o.fd, s, strlen(s)), (ssize_t)strlen(s));
	cr_assert_eq(outfile_commit(&o, err, sizeof(err)), 0, "%s", err);
}

Test(outfile, new_file_then_replaced_by_rename)
{
	mode_t mask = umask(027);
	struct stat a, b;
	int fds = nfds();

	write_and_commit(in("x"), 0, "one");
	umask(mask);
	expect(in("x"), "one");
	cr_assert_eq(stat(in("x"), &a), 0);
	cr_assert_eq(a.st_mode & 07777, 0640, "0644 under umask 027, not mkstemp's 0600");
	write_and_commit(in("x"), OUTFILE_SEEKABLE, "two");
	expect(in("x"), "two");
	cr_assert_eq(stat(in("x"), &b), 0);
	cr_assert_neq(a.st_ino, b.st_ino, "a new inode: renamed over, not rewritten");
	cr_assert_eq(nentries(), 1, "no temporary left");
	cr_assert_eq(nfds(), fds);
}

Test(outfile, abort_leaves_the_old_file)
{
	char err[256];
	struct outfile o;
	int fds;

	put(in("x"), "old");
	fds = nfds();
	cr_assert_eq(outfile_open(&o, in("x"), 0, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(write(o.fd, "new", 3), 3);
	outfile_abort(&o);
	expect(in("x"), "old");
	cr_assert_eq(nentries(), 1);
	cr_assert_eq(nfds(), fds);
}

Test(outfile, symlink_to_a_file_keeps_the_link)
{
	struct stat st;

	put(in("target"), "old");
	cr_assert_eq(symlink("target", in("link")), 0);
	write_and_commit(in("link"), 0, "new");
	cr_assert_eq(lstat(in("link"), &st), 0);
	cr_assert(S_ISLNK(st.st_mode));
	expect(in("target"), "new");
	cr_assert_eq(nentries(), 2);
}

Test(outfile, fifo_written_through)
{
	char buf[16] = { 0 };
	struct stat st;
	int rd, fds = nfds();

	cr_assert_eq(mkfifo(in("ff"), 0600), 0);
	/* A reader first, so opening for writing does not block. */
	rd = open(in("ff"), O_RDONLY | O_NONBLOCK);
	cr_assert(rd >= 0);
	write_and_commit(in("ff"), OUTFILE_SEEKABLE, "through");
	cr_assert_eq(read(rd, buf, sizeof(buf) - 1), 7);
	cr_assert_str_eq(buf, "through");
	close(rd);
	cr_assert_eq(lstat(in("ff"), &st), 0);
	cr_assert(S_ISFIFO(st.st_mode), "still a fifo");
	cr_assert_eq(nfds(), fds);
}

Test(outfile, dash_is_stdout)
{
	int p[2], saved = dup(1);
	char buf[16] = { 0 };

	cr_assert(saved >= 0);
	cr_assert_eq(pipe(p), 0);
	cr_assert_eq(dup2(p[1], 1), 1);
	close(p[1]);
	cr_assert_eq(chdir(dir), 0);
	write_and_commit("-", OUTFILE_SEEKABLE, "to stdout");
	cr_assert_eq(dup2(saved, 1), 1);
	close(saved);
	cr_assert_eq(read(p[0], buf, sizeof(buf) - 1), 9);
	close(p[0]);
	cr_assert_str_eq(buf, "to stdout");
	cr_assert_eq(nentries(), 0, "no file named -");
}

Test(outfile, directory_and_socket_refused)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char err[256];
	struct outfile o;
	int s, fds;

	cr_assert_eq(mkdir(in("d"), 0700), 0);
	s = socket(AF_UNIX, SOCK_STREAM, 0);
	cr_assert(s >= 0);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", in("s"));
	cr_assert_eq(bind(s, (struct sockaddr *)&sa, sizeof(sa)), 0);
	fds = nfds();
	cr_assert_eq(outfile_open(&o, in("d"), 0, err, sizeof(err)), -1);
	cr_assert(strstr(err, "is a directory"), "%s", err);
	cr_assert_eq(outfile_open(&o, in("s"), 0, err, sizeof(err)), -1);
	cr_assert(strstr(err, "is a socket"), "%s", err);
	cr_assert(strstr(err, in("s")), "names the path: %s", err);
	cr_assert_eq(nfds(), fds);
	close(s);
}

Test(outfile, planted_temporary_link_not_followed)
{
	put(in("victim"), "victim");
	cr_assert_eq(symlink("victim", in("x.tmp")), 0);
	write_and_commit(in("x"), 0, "image");
	expect(in("victim"), "victim");
	expect(in("x"), "image");
}
