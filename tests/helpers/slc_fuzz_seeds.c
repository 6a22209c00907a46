/* Writes the seed corpus of fuzz_slc_frame into DIR: one file per frame type
 * made with the real encoders, a few records of several frames, and hellos.
 * Usage: slc_fuzz_seeds DIR */
#include <stdio.h>
#include <string.h>

#include "lib/core/wire.h"
#include "slc/proto.h"

static int put(const char *dir, const char *name, const uint8_t *p, size_t n)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "wb");
	if (!f || fwrite(p, 1, n, f) != n || fclose(f) != 0) {
		perror(path);
		return -1;
	}
	return 0;
}

static size_t frame(uint8_t *out, uint8_t type, uint32_t stream, const uint8_t *p, size_t n)
{
	slc_frame_hdr(out, type, 0, stream, (uint32_t)n);
	memcpy(out + SLC_FRAME_HDR, p, n);
	return SLC_FRAME_HDR + n;
}

int main(int argc, char **argv)
{
	static uint8_t rec[65536], pl[8192];
	char *av[] = { "sh", "-c", "echo hi", NULL }, *env[] = { "A=1", NULL };
	struct slc_entry e = { .kind = SLC_K_DIR, .mode = 0755, .mtime_s = 1700000000 };
	struct slc_chello ch = { .version = SLC_VERSION };
	struct slc_shello sh = { .version = SLC_VERSION, .flags = SLC_HF_SIGNED };
	struct slc_done d = { 3, 2, 1, 4096, 0 };
	size_t n;
	long m;
	int rc = 0;

	if (argc != 2) {
		fprintf(stderr, "usage: slc_fuzz_seeds DIR\n");
		return 2;
	}
	/* An exec session. */
	rec[0] = 0;
	n = 1;
	m = slc_exec_encode(pl, sizeof(pl), SLC_EX_STDIN, 1000, 24, 80, "/tmp", av, env);
	n += frame(rec + n, SLC_EXEC, 1, pl, (size_t)m);
	n += frame(rec + n, SLC_STDIN, 1, (const uint8_t *)"input", 5);
	wire_put16(pl, 30);
	wire_put16(pl + 2, 100);
	n += frame(rec + n, SLC_WINSIZE, 1, pl, 4);
	wire_put32(pl, 2);
	n += frame(rec + n, SLC_SIGNAL, 1, pl, 4);
	rc |= put(argv[1], "exec", rec, n);
	/* A tree: dir, file with data, symlink, ends. */
	n = 1;
	m = slc_xfer_req_encode(pl, sizeof(pl), SLC_XF_INTO, "/srv/dst");
	n += frame(rec + n, SLC_PUT, 5, pl, (size_t)m);
	strcpy(e.name, "top");
	m = slc_entry_encode(pl, sizeof(pl), &e);
	n += frame(rec + n, SLC_ENTRY, 5, pl, (size_t)m);
	e.kind = SLC_K_FILE;
	e.size = 6;
	strcpy(e.name, "f.txt");
	m = slc_entry_encode(pl, sizeof(pl), &e);
	n += frame(rec + n, SLC_ENTRY, 5, pl, (size_t)m);
	wire_put64(pl, 0);
	memcpy(pl + 8, "hello\n", 6);
	n += frame(rec + n, SLC_DATA, 5, pl, 14);
	pl[0] = SLC_DG_XXH128;
	pl[1] = 16;
	memset(pl + 2, 0x11, 16);
	n += frame(rec + n, SLC_FILE_END, 5, pl, 18);
	e.kind = SLC_K_LINK;
	e.size = 0;
	strcpy(e.name, "ln");
	strcpy(e.target, "f.txt");
	m = slc_entry_encode(pl, sizeof(pl), &e);
	n += frame(rec + n, SLC_ENTRY, 5, pl, (size_t)m);
	n += frame(rec + n, SLC_DIR_END, 5, pl, 0);
	n += frame(rec + n, SLC_XFER_END, 5, pl, 0);
	rc |= put(argv[1], "tree", rec, n);
	/* Replies. */
	n = 1;
	m = slc_error_encode(pl, sizeof(pl), 2, "no such file");
	n += frame(rec + n, SLC_ERROR, 7, pl, (size_t)m);
	m = slc_file_err_encode(pl, sizeof(pl), 13, "secret", "open: Permission denied");
	n += frame(rec + n, SLC_FILE_ERR, 5, pl, (size_t)m);
	slc_done_encode(pl, &d);
	n += frame(rec + n, SLC_DONE, 5, pl, SLC_DONE_LEN);
	memset(pl, 0, 8);
	wire_put32(pl + 4, 3);
	n += frame(rec + n, SLC_EXIT, 1, pl, 8);
	n += frame(rec + n, SLC_AUTH_OK, 0, pl, 0);
	rc |= put(argv[1], "replies", rec, n);
	/* Hellos. */
	rec[0] = 1;
	slc_chello_encode(&ch, rec + 1);
	rc |= put(argv[1], "chello", rec, 1 + SLC_CHELLO_LEN);
	rec[0] = 2;
	memset(pl, 0x42, SLC_SIG_LEN);
	sh.sig = pl;
	sh.sig_len = SLC_SIG_LEN;
	n = slc_shello_encode(&sh, NULL, rec + 1);
	rc |= put(argv[1], "shello", rec, 1 + n);
	sh.flags = 0;
	sh.sig_len = 0;
	sh.status = 1;
	n = slc_shello_encode(&sh, "refused", rec + 1);
	rc |= put(argv[1], "shello_err", rec, 1 + n);
	return rc ? 1 : 0;
}
