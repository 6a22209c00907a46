/* The reproducible newc writer: layout, order, hard links, limits. */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "eif/cpio.h"

struct mem {
	char *buf;
	size_t len;
};

static int mem_sink(void *ctx, const void *buf, size_t len, char *err, size_t errlen)
{
	struct mem *m = ctx;

	(void)err;
	(void)errlen;
	m->buf = realloc(m->buf, m->len + len);
	cr_assert(m->buf);
	memcpy(m->buf + m->len, buf, len);
	m->len += len;
	return 0;
}

static char root[256];

static void mk(const char *rel, const char *content, mode_t mode)
{
	char p[512];
	int fd;

	snprintf(p, sizeof(p), "%s/%s", root, rel);
	fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, mode);
	cr_assert(fd >= 0, "%s", p);
	cr_assert_eq(write(fd, content, strlen(content)), (ssize_t)strlen(content));
	close(fd);
	chmod(p, mode);
}

static void mkd(const char *rel)
{
	char p[512];

	snprintf(p, sizeof(p), "%s/%s", root, rel);
	cr_assert_eq(mkdir(p, 0750), 0, "%s", p);
}

static void setup(void)
{
	snprintf(root, sizeof(root), "%s/cpio-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	cr_assert(mkdtemp(root));
}

static void teardown(void)
{
	char cmd[600];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	cr_assert_eq(system(cmd), 0);
}

TestSuite(cpio, .init = setup, .fini = teardown);

static struct mem pack(const char *spec, uint32_t mtime)
{
	struct cpio_tree *t = cpio_tree_new();
	struct mem m = { 0 };
	char err[CPIO_ERR_MAX];
	uint64_t size;

	cr_assert(t);
	cr_assert_eq(cpio_tree_add_spec(t, spec, err, sizeof(err)), 0, "%s", err);
	size = cpio_tree_size(t);
	cr_assert_eq(cpio_tree_write(t, mtime, mem_sink, &m, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(m.len, size, "predicted %llu, wrote %zu", (unsigned long long)size, m.len);
	cpio_tree_free(t);
	return m;
}

/* Walks an archive: name, field i (0 = ino ... 12 = check) of each entry. */
struct ent {
	char name[256];
	unsigned long f[13];
	const char *data;
};

static int parse(const struct mem *m, struct ent *out, int max)
{
	size_t off = 0;
	int n = 0;

	while (off + CPIO_HDR_LEN <= m->len && n < max) {
		struct ent *e = &out[n];
		char hex[9] = { 0 };
		int i;

		cr_assert_eq(memcmp(m->buf + off, "070701", 6), 0, "magic at %zu", off);
		for (i = 0; i < 13; i++) {
			memcpy(hex, m->buf + off + 6 + 8 * i, 8);
			e->f[i] = strtoul(hex, NULL, 16);
		}
		snprintf(e->name, sizeof(e->name), "%s", m->buf + off + CPIO_HDR_LEN);
		off += CPIO_HDR_LEN + e->f[11];
		off += cpio_pad4(off);
		e->data = m->buf + off;
		off += e->f[6];
		off += cpio_pad4(off);
		n++;
		if (strcmp(e->name, CPIO_TRAILER) == 0)
			break;
	}
	cr_assert_eq(off, m->len, "archive ends at %zu of %zu", off, m->len);
	return n;
}

enum { F_INO, F_MODE, F_UID, F_GID, F_NLINK, F_MTIME, F_SIZE, F_DMAJ, F_DMIN, F_RMAJ, F_RMIN };

Test(cpio, sorted_fixed_metadata_and_renumbered_inodes)
{
	struct ent e[16];
	struct mem m;
	int n;

	mkd("b");
	mkd("b/c");
	mk("b/z", "zz", 0600);
	mk("a", "hello", 04755);
	mk("b-x", "", 0644);
	cr_assert_eq(symlink("a", strcat(strcpy((char[512]){ 0 }, root), "/l")), 0);
	m = pack(root, 1234567);
	n = parse(&m, e, 16);
	cr_assert_eq(n, 7);
	cr_assert_str_eq(e[0].name, "a");
	cr_assert_str_eq(e[1].name, "b");
	cr_assert_str_eq(e[2].name, "b-x");
	cr_assert_str_eq(e[3].name, "b/c");
	cr_assert_str_eq(e[4].name, "b/z");
	cr_assert_str_eq(e[5].name, "l");
	cr_assert_str_eq(e[6].name, CPIO_TRAILER);
	for (int i = 0; i < 6; i++) {
		cr_assert_eq(e[i].f[F_INO], (unsigned long)i + 1);
		cr_assert_eq(e[i].f[F_UID], 0);
		cr_assert_eq(e[i].f[F_GID], 0);
		cr_assert_eq(e[i].f[F_MTIME], 1234567);
		cr_assert_eq(e[i].f[F_DMAJ] + e[i].f[F_DMIN], 0);
	}
	cr_assert_eq(e[0].f[F_MODE], S_IFREG | 04755);
	cr_assert_eq(memcmp(e[0].data, "hello", 5), 0);
	cr_assert_eq(e[1].f[F_MODE], S_IFDIR | 0750);
	cr_assert_eq(e[1].f[F_NLINK], 3, "b has one subdirectory");
	cr_assert_eq(e[5].f[F_MODE] & S_IFMT, S_IFLNK);
	cr_assert_eq(e[5].f[F_SIZE], 1);
	cr_assert_eq(e[5].data[0], 'a');
	cr_assert_eq(e[6].f[F_NLINK], 1);
	free(m.buf);
}

Test(cpio, same_tree_same_bytes_and_mtime_changes_them)
{
	struct mem a, b, c;
	char p[512];

	mkd("d");
	mk("d/f", "data", 0644);
	a = pack(root, 7);
	/* Host mtimes and a re-created file (new host inode) do not matter. */
	snprintf(p, sizeof(p), "%s/d/f", root);
	unlink(p);
	mk("d/f", "data", 0644);
	b = pack(root, 7);
	c = pack(root, 8);
	cr_assert_eq(a.len, b.len);
	cr_assert_eq(memcmp(a.buf, b.buf, a.len), 0);
	cr_assert_eq(a.len, c.len);
	cr_assert_neq(memcmp(a.buf, c.buf, a.len), 0, "the mtime is in the archive");
	free(a.buf);
	free(b.buf);
	free(c.buf);
}

Test(cpio, hard_links_share_an_inode_and_one_copy_of_the_data)
{
	char p[512], q[512];
	struct ent e[8];
	struct mem m;
	int n;

	mk("a", "shared", 0644);
	snprintf(p, sizeof(p), "%s/a", root);
	snprintf(q, sizeof(q), "%s/b", root);
	cr_assert_eq(link(p, q), 0);
	mk("c", "x", 0644);
	m = pack(root, 0);
	n = parse(&m, e, 8);
	cr_assert_eq(n, 4);
	cr_assert_eq(e[0].f[F_INO], e[1].f[F_INO]);
	cr_assert_eq(e[0].f[F_NLINK], 2);
	cr_assert_eq(e[1].f[F_NLINK], 2);
	cr_assert_eq(e[0].f[F_SIZE], 0, "data goes with the last link");
	cr_assert_eq(e[1].f[F_SIZE], 6);
	cr_assert_eq(e[2].f[F_INO], 2, "inode numbers stay dense");
	cr_assert_eq(e[2].f[F_NLINK], 1);
	free(m.buf);
}

Test(cpio, prefix_adds_parents_and_merges_directories)
{
	struct cpio_tree *t = cpio_tree_new();
	char err[CPIO_ERR_MAX], p[512];
	struct mem m = { 0 };
	struct ent e[8];
	int n;

	mk("f", "1", 0644);
	snprintf(p, sizeof(p), "%s/f", root);
	cr_assert_eq(cpio_tree_add(t, "x/y/f", p, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(cpio_tree_add_dir(t, "x", 0700, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(cpio_tree_add_dir(t, "./x/", 0700, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(cpio_tree_write(t, 0, mem_sink, &m, err, sizeof(err)), 0, "%s", err);
	n = parse(&m, e, 8);
	cr_assert_eq(n, 4);
	cr_assert_str_eq(e[0].name, "x");
	cr_assert_eq(e[0].f[F_MODE], S_IFDIR | 0700, "explicit directory wins");
	cr_assert_str_eq(e[1].name, "x/y");
	cr_assert_eq(e[1].f[F_MODE], S_IFDIR | 0755);
	cr_assert_str_eq(e[2].name, "x/y/f");
	cpio_tree_free(t);
	free(m.buf);
}

Test(cpio, rejects_duplicates_dotdot_and_missing)
{
	struct cpio_tree *t = cpio_tree_new();
	char err[CPIO_ERR_MAX], p[512];
	struct mem m = { 0 };

	mk("f", "1", 0644);
	snprintf(p, sizeof(p), "%s/f", root);
	cr_assert_eq(cpio_tree_add(t, "../f", p, err, sizeof(err)), -1);
	cr_assert(strstr(err, ".."), "%s", err);
	cr_assert_eq(cpio_tree_add(t, "g", "/nonexistent/nek", err, sizeof(err)), -1);
	cr_assert(strstr(err, "/nonexistent/nek"), "%s", err);
	cr_assert_eq(cpio_tree_add(t, "g", p, err, sizeof(err)), 0);
	cr_assert_eq(cpio_tree_add(t, "./g", p, err, sizeof(err)), 0);
	cr_assert_eq(cpio_tree_write(t, 0, mem_sink, &m, err, sizeof(err)), -1);
	cr_assert(strstr(err, "'g' is added twice"), "%s", err);
	cpio_tree_free(t);
	free(m.buf);
}

Test(cpio, rejects_files_of_4gib)
{
	struct cpio_tree *t = cpio_tree_new();
	char err[CPIO_ERR_MAX], p[512];
	int fd;

	snprintf(p, sizeof(p), "%s/big", root);
	fd = open(p, O_WRONLY | O_CREAT, 0644);
	cr_assert(fd >= 0);
	cr_assert_eq(ftruncate(fd, 0x100000000LL), 0); /* sparse: no disk used */
	close(fd);
	cr_assert_eq(cpio_tree_add(t, "big", p, err, sizeof(err)), -1);
	cr_assert(strstr(err, "4294967296 bytes") && strstr(err, "4 GiB"), "%s", err);
	cpio_tree_free(t);
}

Test(cpio, file_changed_after_add_is_an_error)
{
	struct cpio_tree *t = cpio_tree_new();
	char err[CPIO_ERR_MAX];
	struct mem m = { 0 };

	mk("f", "1234", 0644);
	cr_assert_eq(cpio_tree_add_spec(t, root, err, sizeof(err)), 0);
	mk("f", "12", 0644);
	cr_assert_eq(cpio_tree_write(t, 0, mem_sink, &m, err, sizeof(err)), -1);
	cr_assert(strstr(err, "shrank"), "%s", err);
	cpio_tree_free(t);
	free(m.buf);
}

Test(cpio, header_format)
{
	struct cpio_hdr h = { .ino = 1, .mode = 0100644, .nlink = 1, .mtime = 0x10, .filesize = 5,
			      .rdevmajor = 5, .rdevminor = 1 };
	char out[CPIO_HDR_LEN + 16];
	size_t n = cpio_format_header(out, &h, "ab");

	cr_assert_eq(n, 116, "110 + 3 name bytes, padded to 4");
	cr_assert_eq(memcmp(out, "070701" "00000001" "000081A4" "00000000" "00000000" "00000001"
				 "00000010" "00000005" "00000000" "00000000" "00000005" "00000001"
				 "00000003" "00000000" "ab",
			    CPIO_HDR_LEN + 2), 0);
	cr_assert_eq(out[CPIO_HDR_LEN + 2], 0);
	cr_assert_eq(n % 4, 0);
}
