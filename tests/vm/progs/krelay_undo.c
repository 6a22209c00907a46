/* krelay_undo MODE [ITERATIONS]: starts of a nek_relay that fail after the
 * module has taken the first socket, over and over, while a sender keeps
 * writing into that socket and a reader drains it. MODE says why they fail:
 *   busy    the second socket is already in another relay (EBUSY)
 *   emfile  RLIMIT_NOFILE leaves no descriptor for the relay handle (EMFILE)
 *   enfile  fs.file-max leaves no file for it (ENFILE: the handle's
 *           anon_inode_getfile; CAP_SYS_ADMIN is dropped from this thread)
 * Afterwards the first socket's stream must be whole and in order (a failed
 * start moved none of its bytes), the second socket's peer must have got
 * nothing, the other relay must be untouched, and both sockets must relay
 * again. A freed relay whose work still ran would break one of these, or
 * leave an oops in dmesg (the guest suite checks that).
 * Prints TAP; exit 0 all passed, 1 a check failed, 2 usage. Guest only:
 * enfile lowers fs.file-max for the whole machine while it runs. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <linux/capability.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>

#include "vmguard.h"
#include "../../../kmod/nek_relay.h"

#define FILE_MAX "/proc/sys/fs/file-max"
#define DRAIN_MS 20000
#define PAT(pos) ((unsigned char)((pos) % 251))

static int fails;

static void check(int ok, const char *fmt, ...)
{
	va_list ap;

	printf("%s - ", ok ? "ok" : "not ok");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
	fails += !ok;
}

static void die(const char *what)
{
	printf("not ok - %s: %s\n", what, strerror(errno));
	exit(1);
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A connected TCP pair over 127.0.0.1: *a is the client end. */
static void tcp_pair(int *a, int *b)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	socklen_t len = sizeof(sin);
	int one = 1, l;

	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (l < 0 || bind(l, (struct sockaddr *)&sin, sizeof(sin)) < 0 || listen(l, 1) < 0 ||
	    getsockname(l, (struct sockaddr *)&sin, &len) < 0)
		die("listen on loopback");
	*a = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (*a < 0 || connect(*a, (struct sockaddr *)&sin, sizeof(sin)) < 0)
		die("connect on loopback");
	*b = accept4(l, NULL, NULL, SOCK_CLOEXEC);
	if (*b < 0)
		die("accept on loopback");
	close(l);
	/* Small segments, each one a wakeup of the receiving socket. */
	if (setsockopt(*a, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) < 0 ||
	    setsockopt(*b, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) < 0)
		die("TCP_NODELAY");
}

static int start(int dev, int a, int b, unsigned flags)
{
	struct nek_relay_start s;

	memset(&s, 0, sizeof(s));
	s.version = NEK_RELAY_VERSION;
	s.flags = flags | NEK_RELAY_F_CLOEXEC;
	s.fd[0] = a;
	s.fd[1] = b;
	return ioctl(dev, NEK_RELAY_IOC_START, &s);
}

/* ------------------------------------------------------------ the stream */

/* A pattern stream tx -> rx, written and checked by two threads. */
struct flow {
	int tx, rx;
	atomic_int stop;		/* the sender stops at the next write */
	atomic_int sender_done;
	atomic_ullong sent;		/* final once sender_done */
	atomic_ullong got;		/* arrived at rx */
	long long bad_at;		/* first wrong byte, -1 if none */
	pthread_t st, rt;
};

static int wait_fd(int fd, short ev, int ms)
{
	struct pollfd p = { .fd = fd, .events = ev };

	return poll(&p, 1, ms);
}

static void *sender(void *arg)
{
	struct flow *f = arg;
	unsigned char buf[1024];
	unsigned long long pos = 0;
	size_t n, i;
	ssize_t w;

	while (!atomic_load(&f->stop)) {
		/* 1..1024 bytes: many small segments, now and then a large one. */
		n = 1 + (pos * 7919) % sizeof(buf);
		for (i = 0; i < n; i++)
			buf[i] = PAT(pos + i);
		if (wait_fd(f->tx, POLLOUT, 100) <= 0)
			continue;
		w = send(f->tx, buf, n, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (w < 0 && errno != EAGAIN && errno != EINTR)
			break;
		if (w > 0)
			pos += (unsigned long long)w;
	}
	atomic_store(&f->sent, pos);
	atomic_store(&f->sender_done, 1);
	return NULL;
}

static void *reader(void *arg)
{
	struct flow *f = arg;
	unsigned char buf[65536];
	unsigned long long got = 0;
	long long deadline = -1;
	ssize_t r, i;

	for (;;) {
		if (atomic_load(&f->sender_done)) {
			if (got >= atomic_load(&f->sent))
				break;
			if (deadline < 0)
				deadline = now_ms() + DRAIN_MS;
			else if (now_ms() > deadline)
				break;
		}
		if (wait_fd(f->rx, POLLIN, 100) <= 0)
			continue;
		r = recv(f->rx, buf, sizeof(buf), MSG_DONTWAIT);
		if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR))
			break;
		for (i = 0; i < r; i++)
			if (f->bad_at < 0 && buf[i] != PAT(got + (unsigned long long)i))
				f->bad_at = (long long)(got + (unsigned long long)i);
		if (r > 0) {
			got += (unsigned long long)r;
			atomic_store(&f->got, got);
		}
	}
	return NULL;
}

static void flow_start(struct flow *f, int tx, int rx)
{
	memset(f, 0, sizeof(*f));
	f->tx = tx;
	f->rx = rx;
	f->bad_at = -1;
	if (pthread_create(&f->st, NULL, sender, f) || pthread_create(&f->rt, NULL, reader, f))
		die("pthread_create");
}

static void flow_stop(struct flow *f, const char *name)
{
	unsigned long long sent;

	atomic_store(&f->stop, 1);
	pthread_join(f->st, NULL);
	pthread_join(f->rt, NULL);
	sent = atomic_load(&f->sent);
	check(sent > 0, "%s: the sender wrote while the starts failed (%llu bytes)", name, sent);
	check(atomic_load(&f->got) == sent,
	      "%s: every byte arrived at the first socket (%llu of %llu)", name,
	      (unsigned long long)atomic_load(&f->got), sent);
	check(f->bad_at < 0, "%s: in order, none missing (first wrong byte at %lld)", name,
	      f->bad_at);
}

/* At least n pattern bytes into `in`, all read back at `out` and compared. */
static int through(int in, int out, unsigned long long n)
{
	long long deadline = now_ms() + DRAIN_MS;
	struct flow f;

	flow_start(&f, in, out);
	while (atomic_load(&f.got) < n && now_ms() < deadline)
		usleep(1000);
	atomic_store(&f.stop, 1);
	pthread_join(f.st, NULL);
	pthread_join(f.rt, NULL);
	return atomic_load(&f.got) == atomic_load(&f.sent) && atomic_load(&f.got) >= n &&
	       f.bad_at < 0;
}

/*
 * A start of a and b, retried while EBUSY: a relay that was just closed
 * gives its sockets back from its release work, a moment later.
 */
static int start_again(int dev, int a, int b)
{
	int i, h = -1;

	for (i = 0; i < 250; i++) {
		h = start(dev, a, b, NEK_RELAY_F_NONBLOCK);
		if (h >= 0 || errno != EBUSY)
			break;
		usleep(20000);
	}
	return h;
}

/* Nothing may have arrived at fd: a failed start wrote no byte into it. */
static int silent(int fd)
{
	char c;

	return recv(fd, &c, 1, MSG_DONTWAIT) < 0 && errno == EAGAIN;
}

/* ------------------------------------------------------------ the limits */

static struct rlimit nofile;

/* The limit at the lowest free descriptor: every one below is in use. */

static void fds_exhaust(int on)
{
	struct rlimit lim;
	int fd;

	if (!on) {
		if (setrlimit(RLIMIT_NOFILE, &nofile) < 0)
			die("restore RLIMIT_NOFILE");
		return;
	}
	if (getrlimit(RLIMIT_NOFILE, &nofile) < 0)
		die("getrlimit");
	fd = dup(0);
	if (fd < 0)
		die("dup");
	close(fd);
	lim = nofile;
	lim.rlim_cur = (rlim_t)fd;
	if (setrlimit(RLIMIT_NOFILE, &lim) < 0)
		die("setrlimit");
}

static char file_max[64];

static void write_file_max(const char *v)
{
	FILE *f = fopen(FILE_MAX, "w");

	if (!f || fputs(v, f) < 0 || fclose(f) != 0)
		die("write " FILE_MAX);
}

/* CAP_SYS_ADMIN in this thread's effective set (it passes fs.file-max). */
static void sys_admin(int on)
{
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct d[2];
	unsigned bit = 1u << (CAP_SYS_ADMIN % 32);

	if (syscall(SYS_capget, &h, d) < 0)
		die("capget");
	if (on)
		d[CAP_SYS_ADMIN / 32].effective |= bit;
	else
		d[CAP_SYS_ADMIN / 32].effective &= ~bit;
	if (syscall(SYS_capset, &h, d) < 0)
		die("capset");
}

/*
 * The kernel's first test of fs.file-max reads the approximate per-CPU
 * counter of open files. With frees folded into it and allocations still
 * in the CPUs' deltas it can read 0, below a limit of 1, and one start
 * then got its file (a CI run saw "0 of 50000 starts failed"). So files
 * are opened here, and kept, until an open itself fails with ENFILE: the
 * folded count is then at the limit, and holding them keeps it there.
 */
#define PRIME_MAX 900
static int prime_fd[PRIME_MAX];
static int primed;

static void files_prime(void)
{
	int fd;

	for (primed = 0; primed < PRIME_MAX; primed++) {
		fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
		if (fd < 0) {
			if (errno == ENFILE)
				return;
			die("open /dev/null to reach fs.file-max");
		}
		prime_fd[primed] = fd;
	}
	printf("not ok - fs.file-max of 1 refused none of %d opens\n", PRIME_MAX);
	exit(1);
}

static void files_exhaust(int on)
{
	FILE *f;

	if (!on) {
		sys_admin(1);
		write_file_max(file_max);
		while (primed > 0)
			close(prime_fd[--primed]);
		return;
	}
	f = fopen(FILE_MAX, "r");
	if (!f || !fgets(file_max, sizeof(file_max), f))
		die("read " FILE_MAX);
	fclose(f);
	/* The per-thread capability set: the sender and reader keep theirs. */
	sys_admin(0);
	write_file_max("1\n");
	files_prime();
}

/* ------------------------------------------------------------ main */

struct mode {
	const char *name;
	int want;			/* errno of every failed start */
	void (*limit)(int on);		/* what makes them fail, or none */
};

static const struct mode modes[] = {
	{ "busy", EBUSY, NULL },
	{ "emfile", EMFILE, fds_exhaust },
	{ "enfile", ENFILE, files_exhaust },
};

static int usage(FILE *out, int rc)
{
	fprintf(out, "usage: krelay_undo busy|emfile|enfile [ITERATIONS]\n"
		     "  nek_relay starts that fail after taking the first socket, while data\n"
		     "  flows into it (test VM only); prints TAP, exits 1 if a check failed\n");
	return rc;
}

/* The failed starts, with the limit in force; returns how many failed right. */
static long fail_starts(int dev, int a, int b, const struct mode *m, long iters)
{
	long i, right = 0, wrong = 0;
	int rc, last = 0;

	if (m->limit)
		m->limit(1);
	for (i = 0; i < iters; i++) {
		rc = start(dev, a, b, 0);
		if (rc >= 0) {
			close(rc);
			break;
		}
		if (errno == m->want) {
			right++;
		} else {
			last = errno;
			wrong++;
		}
	}
	if (m->limit)
		m->limit(0);
	if (wrong)
		printf("# %ld starts failed with %s instead\n", wrong, strerror(last));
	return right;
}

int main(int argc, char **argv)
{
	int a_peer, a, b, b_peer, c = -1, c_peer = -1, dev, other = -1, h, rc;
	const struct mode *m = NULL;
	struct nek_relay_report rep;
	long iters = 20000, right;
	struct flow fa;
	unsigned int i;
	char *end;

	vm_guard();
	if (argc == 2 && !strcmp(argv[1], "--help"))
		return usage(stdout, 0);
	if (argc < 2 || argc > 3)
		return usage(stderr, 2);
	for (i = 0; i < sizeof(modes) / sizeof(modes[0]); i++)
		if (!strcmp(argv[1], modes[i].name))
			m = &modes[i];
	if (!m) {
		fprintf(stderr, "krelay_undo: unknown mode '%s'\n", argv[1]);
		return 2;
	}
	if (argc == 3) {
		errno = 0;
		iters = strtol(argv[2], &end, 10);
		if (errno || *end || iters < 1 || iters > 100000000) {
			fprintf(stderr, "krelay_undo: bad iteration count '%s'\n", argv[2]);
			return 2;
		}
	}
	dev = open("/dev/" NEK_RELAY_DEVNAME, O_RDWR | O_CLOEXEC);
	if (dev < 0)
		die("open /dev/" NEK_RELAY_DEVNAME);
	tcp_pair(&a_peer, &a);
	tcp_pair(&b, &b_peer);
	if (m->want == EBUSY) {
		tcp_pair(&c, &c_peer);
		other = start(dev, b, c, NEK_RELAY_F_NONBLOCK);
		check(other >= 0, "%s: the second socket is in another relay", m->name);
		if (other < 0)
			return 1;
	}

	flow_start(&fa, a_peer, a);
	right = fail_starts(dev, a, b, m, iters);
	flow_stop(&fa, m->name);
	check(right == iters, "%s: %ld of %ld starts failed with %s", m->name, right, iters,
	      strerror(m->want));
	check(silent(b_peer), "%s: the second socket's peer got no byte", m->name);

	if (other >= 0) {
		/* Apart from the call, so the message shows what it returned. */
		memset(&rep, 0, sizeof(rep));
		rc = ioctl(other, NEK_RELAY_IOC_STAT, &rep);
		check(rc == 0 && rep.state == NEK_RELAY_RUNNING && rep.bytes[0] == 0 &&
			      rep.bytes[1] == 0,
		      "%s: the other relay still runs and moved nothing (%llu, %llu)", m->name,
		      (unsigned long long)rep.bytes[0], (unsigned long long)rep.bytes[1]);
		check(through(b_peer, c_peer, 1 << 20) && through(c_peer, b_peer, 1 << 20),
		      "%s: the other relay moves 1 MiB each way, verified", m->name);
		close(other); /* aborts it: the second socket is free again */
	}
	/* Both sockets were given back whole: a relay of the two works. */
	h = start_again(dev, a, b);
	check(h >= 0, "%s: the first and second socket start a relay again", m->name);
	if (h >= 0) {
		check(through(a_peer, b_peer, 1 << 20) && through(b_peer, a_peer, 1 << 20),
		      "%s: ...which moves 1 MiB each way, verified", m->name);
		close(h);
	}
	close(a_peer);
	close(a);
	close(b);
	close(b_peer);
	if (c >= 0) {
		close(c);
		close(c_peer);
	}
	close(dev);
	return fails ? 1 : 0;
}
