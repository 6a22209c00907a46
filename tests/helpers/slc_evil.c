/* A hostile slc server for tests: listens on a unix socket, accepts one
 * insecure client, waits for its first request and answers with a crafted
 * stream that tries to escape the client's destination or break its parser.
 *
 *   slc_evil MODE SOCKET [TARGET]
 *
 * MODE: escape  symlink "evil" -> TARGET (absolute), then a directory "evil"
 *               holding a file, then a file written through "evil/.."-free
 *               names only (the parser refuses anything else)
 *       dotdot  an ENTRY named ".."
 *       badlen  a record length of 0xffffffff
 *       digest  a file whose digest does not match
 *       die     half a file, then the connection closes */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "lib/core/wire.h"
#include "slc/digest.h"
#include "slc/proto.h"

static uint8_t rec[65536];
static size_t rlen;
static uint32_t sid = 1;

static int wall(int fd, const void *p, size_t n)
{
	while (n) {
		ssize_t r = write(fd, p, n);

		if (r <= 0)
			return -1;
		p = (const uint8_t *)p + r;
		n -= (size_t)r;
	}
	return 0;
}

static int rall(int fd, void *p, size_t n)
{
	while (n) {
		ssize_t r = read(fd, p, n);

		if (r <= 0)
			return -1;
		p = (uint8_t *)p + r;
		n -= (size_t)r;
	}
	return 0;
}

static void add(uint8_t type, const void *p, size_t n)
{
	slc_frame_hdr(rec + 4 + rlen, type, 0, sid, (uint32_t)n);
	if (n)
		memcpy(rec + 4 + rlen + SLC_FRAME_HDR, p, n);
	rlen += SLC_FRAME_HDR + n;
}

static int flush(int fd)
{
	wire_put32(rec, (uint32_t)rlen);
	if (wall(fd, rec, 4 + rlen) < 0)
		return -1;
	rlen = 0;
	return 0;
}

static void entry(uint8_t kind, const char *name, uint64_t size, const char *target)
{
	struct slc_entry e = { .kind = kind, .mode = kind == SLC_K_DIR ? 0755 : 0644, .size = size };
	uint8_t p[8192];
	long n;

	snprintf(e.name, sizeof(e.name), "%s", name);
	if (target)
		snprintf(e.target, sizeof(e.target), "%s", target);
	n = slc_entry_encode(p, sizeof(p), &e);
	add(SLC_ENTRY, p, (size_t)n);
}

static void file(const char *name, const char *data, int bad_digest)
{
	uint8_t p[4096], dg[SLC_DIGEST_MAX];
	struct slc_digest d;
	size_t n = strlen(data);

	entry(SLC_K_FILE, name, n, NULL);
	wire_put64(p, 0);
	memcpy(p + 8, data, n);
	add(SLC_DATA, p, 8 + n);
	slc_digest_init(&d, SLC_DG_XXH128);
	slc_digest_update(&d, data, n);
	slc_digest_final(&d, dg);
	if (bad_digest)
		dg[0] ^= 1;
	p[0] = SLC_DG_XXH128;
	p[1] = 16;
	memcpy(p + 2, dg, 16);
	add(SLC_FILE_END, p, 18);
}

/* Reads the client hello and the first record (its request). */
static int greet(int fd)
{
	uint8_t hello[SLC_CHELLO_LEN], sh[SLC_SHELLO_MAX], hdr[4];
	struct slc_shello h = { .version = SLC_VERSION, .flags = SLC_HF_INSECURE };
	size_t n;

	if (rall(fd, hello, sizeof(hello)) < 0)
		return -1;
	n = slc_shello_encode(&h, NULL, sh);
	if (wall(fd, sh, n) < 0 || rall(fd, hdr, 4) < 0 || wire_get32(hdr) > sizeof(rec) ||
	    rall(fd, rec, wire_get32(hdr)) < 0)
		return -1;
	sid = wire_get32(rec + 4);
	return 0;
}

int main(int argc, char **argv)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	const char *mode = argc > 2 ? argv[1] : "";
	int l, fd;

	if (argc < 3 || strlen(argv[2]) >= sizeof(sa.sun_path)) {
		fprintf(stderr, "usage: slc_evil MODE SOCKET [TARGET]\n");
		return 2;
	}
	strcpy(sa.sun_path, argv[2]);
	unlink(argv[2]);
	l = socket(AF_UNIX, SOCK_STREAM, 0);
	if (l < 0 || bind(l, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(l, 1) < 0) {
		perror("listen");
		return 1;
	}
	fd = accept(l, NULL, NULL);
	if (fd < 0 || greet(fd) < 0)
		return 1;
	if (!strcmp(mode, "badlen")) {
		wire_put32(rec, 0xffffffffu);
		wall(fd, rec, 4);
	} else if (!strcmp(mode, "dotdot")) {
		/* The encoder does not judge names; the receiver's parser must. */
		entry(SLC_K_DIR, "top", 0, NULL);
		file("..", "owned\n", 0);
		flush(fd);
	} else if (!strcmp(mode, "escape") && argc > 3) {
		entry(SLC_K_DIR, "top", 0, NULL);
		entry(SLC_K_LINK, "evil", 0, argv[3]);
		entry(SLC_K_DIR, "evil", 0, NULL);
		file("pwned", "escaped\n", 0);
		add(SLC_DIR_END, NULL, 0);
		entry(SLC_K_LINK, "evil2", 0, argv[3]);
		file("evil2", "replaced the link\n", 0);
		add(SLC_DIR_END, NULL, 0);
		add(SLC_XFER_END, NULL, 0);
		flush(fd);
	} else if (!strcmp(mode, "digest")) {
		entry(SLC_K_DIR, "top", 0, NULL);
		file("good", "fine\n", 0);
		file("bad", "corrupted\n", 1);
		add(SLC_DIR_END, NULL, 0);
		add(SLC_XFER_END, NULL, 0);
		flush(fd);
	} else if (!strcmp(mode, "die")) {
		uint8_t p[4096] = { 0 };

		entry(SLC_K_FILE, "top", 1 << 20, NULL);
		add(SLC_DATA, p, 8 + 1000);
		flush(fd);
		close(fd);
		return 0;
	} else {
		fprintf(stderr, "slc_evil: unknown mode '%s'\n", mode);
		return 2;
	}
	/* Let the client react, then go. */
	while (read(fd, rec, sizeof(rec)) > 0)
		;
	close(fd);
	close(l);
	unlink(argv[2]);
	return 0;
}
