/* slc wire format: frames, hellos and payloads, especially what must be
 * refused (docs/slc-protocol.md). */
#include <criterion/criterion.h>
#include <string.h>

#include "lib/core/wire.h"
#include "slc/proto.h"

static size_t put_frame(uint8_t *out, uint8_t type, uint32_t stream, const void *p, size_t len)
{
	slc_frame_hdr(out, type, 0, stream, (uint32_t)len);
	if (len)
		memcpy(out + SLC_FRAME_HDR, p, len);
	return SLC_FRAME_HDR + len;
}

Test(slc_proto, frames_in_a_record)
{
	uint8_t rec[256], b4[4] = { 0, 0, 0, 7 };
	size_t n = 0, off = 0;
	struct slc_frame f;
	char err[128];

	n += put_frame(rec + n, SLC_STARTED, 3, b4, 4);
	n += put_frame(rec + n, SLC_STDOUT, 3, "hello", 5);
	n += put_frame(rec + n, SLC_DIR_END, 9, NULL, 0);
	cr_assert_eq(slc_frame_next(rec, n, &off, &f, err, sizeof(err)), 1);
	cr_assert_eq(f.type, SLC_STARTED);
	cr_assert_eq(f.stream, 3);
	cr_assert_eq(slc_frame_check(&f, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(slc_frame_next(rec, n, &off, &f, err, sizeof(err)), 1);
	cr_assert_eq(f.len, 5);
	cr_assert_eq(memcmp(f.p, "hello", 5), 0);
	cr_assert_eq(slc_frame_next(rec, n, &off, &f, err, sizeof(err)), 1);
	cr_assert_eq(f.type, SLC_DIR_END);
	cr_assert_eq(slc_frame_next(rec, n, &off, &f, err, sizeof(err)), 0);
}

Test(slc_proto, frame_lengths_bounded)
{
	uint8_t rec[64];
	size_t off = 0;
	struct slc_frame f;
	char err[128];

	put_frame(rec, SLC_STDOUT, 1, "abc", 3);
	/* Claims more than the record holds. */
	wire_put32(rec + 8, 4);
	cr_assert_eq(slc_frame_next(rec, SLC_FRAME_HDR + 3, &off, &f, err, sizeof(err)), -1);
	wire_put32(rec + 8, 0xffffffffu);
	off = 0;
	cr_assert_eq(slc_frame_next(rec, sizeof(rec), &off, &f, err, sizeof(err)), -1);
	/* A truncated header. */
	off = 0;
	cr_assert_eq(slc_frame_next(rec, 7, &off, &f, err, sizeof(err)), -1);
	/* Reserved bits. */
	put_frame(rec, SLC_STDOUT, 1, "abc", 3);
	rec[2] = 1;
	off = 0;
	cr_assert_eq(slc_frame_next(rec, SLC_FRAME_HDR + 3, &off, &f, err, sizeof(err)), -1);
}

static int check(uint8_t type, uint32_t stream, const void *p, size_t len)
{
	struct slc_frame f = { .type = type, .stream = stream, .len = (uint32_t)len, .p = p };
	char err[128];

	return slc_frame_check(&f, err, sizeof(err));
}

Test(slc_proto, frame_checks)
{
	uint8_t b[64] = { 0 };

	cr_assert_eq(check(0x7f, 1, b, 0), -1, "unknown type accepted");
	cr_assert_eq(check(SLC_STARTED, 1, b, 3), -1, "short STARTED accepted");
	cr_assert_eq(check(SLC_STARTED, 0, b, 4), -1, "STARTED on stream 0 accepted");
	cr_assert_eq(check(SLC_AUTH, 1, b, 96), -1, "AUTH on a stream accepted");
	cr_assert_eq(check(SLC_AUTH, 0, b, 96), 0);
	wire_put32(b, 0);
	cr_assert_eq(check(SLC_SIGNAL, 1, b, 4), -1, "signal 0 accepted");
	wire_put32(b, 65);
	cr_assert_eq(check(SLC_SIGNAL, 1, b, 4), -1, "signal 65 accepted");
	wire_put32(b, 2);
	cr_assert_eq(check(SLC_SIGNAL, 1, b, 4), 0);
	memset(b, 0, sizeof(b));
	wire_put16(b + 4, 3);
	cr_assert_eq(check(SLC_ERROR, 0, b, 9), 0);
	cr_assert_eq(check(SLC_ERROR, 0, b, 10), -1, "ERROR with a wrong length accepted");
	b[0] = SLC_DG_XXH128;
	b[1] = 16;
	cr_assert_eq(check(SLC_FILE_END, 1, b, 18), 0);
	b[1] = 40;
	cr_assert_eq(check(SLC_FILE_END, 1, b, 42), -1, "oversized digest accepted");
	b[0] = 9;
	b[1] = 16;
	cr_assert_eq(check(SLC_FILE_END, 1, b, 18), -1, "unknown digest accepted");
	b[0] = 3;
	cr_assert_eq(check(SLC_EXIT, 1, b, 8), -1, "EXIT how=3 accepted");
}

Test(slc_proto, hellos)
{
	struct slc_chello c = { .version = SLC_VERSION, .flags = SLC_HF_INSECURE }, c2;
	struct slc_shello s = { .version = SLC_VERSION, .flags = SLC_HF_ATTESTED }, s2;
	uint8_t b[SLC_CHELLO_LEN], sb[SLC_SHELLO_MAX], doc[100];
	char err[128];
	size_t n;

	memset(c.nonce, 7, sizeof(c.nonce));
	slc_chello_encode(&c, b);
	cr_assert_eq(slc_chello_decode(b, &c2, err, sizeof(err)), 0);
	cr_assert_eq(c2.flags, SLC_HF_INSECURE);
	cr_assert_eq(c2.nonce[31], 7);
	b[5] = SLC_VERSION + 1;
	cr_assert_eq(slc_chello_decode(b, &c2, err, sizeof(err)), -1, "a newer version accepted");
	cr_assert(strstr(err, "version"));
	b[5] = SLC_VERSION;
	b[0] = 'X';
	cr_assert_eq(slc_chello_decode(b, &c2, err, sizeof(err)), -1);

	memset(doc, 0xab, sizeof(doc));
	s.doc = doc;
	s.doc_len = sizeof(doc);
	n = slc_shello_encode(&s, NULL, sb);
	cr_assert_eq(n, SLC_SHELLO_HDR + sizeof(doc));
	cr_assert_eq(slc_shello_len(sb), (long)n);
	cr_assert_eq(slc_shello_decode(sb, n, &s2, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(s2.doc_len, sizeof(doc));
	cr_assert_eq(s2.doc[99], 0xab);
	cr_assert_eq(slc_shello_decode(sb, n - 1, &s2, err, sizeof(err)), -1, "short hello");
	/* ATTESTED without a document is inconsistent. */
	wire_put16(sb + 44, 0);
	cr_assert_eq(slc_shello_decode(sb, SLC_SHELLO_HDR, &s2, err, sizeof(err)), -1);
	/* An error status carries a printable message. */
	s.flags = 0;
	s.doc_len = 0;
	s.status = 1;
	n = slc_shello_encode(&s, "no\x01way", sb);
	cr_assert_eq(slc_shello_decode(sb, n, &s2, err, sizeof(err)), 0);
	cr_assert_str_eq(s2.msg, "no?way");
	/* Document lengths are bounded. */
	wire_put16(sb + 44, SLC_DOC_MAX + 1);
	cr_assert_eq(slc_shello_len(sb), -1);
}

Test(slc_proto, exec_roundtrip)
{
	char *argv[] = { "ls", "-l", "/tmp dir", NULL }, *envp[] = { "A=1", "B=x=y", NULL };
	uint8_t b[1024];
	struct slc_exec_req x;
	char err[128];
	long n;

	n = slc_exec_encode(b, sizeof(b), SLC_EX_TTY, 5000, 24, 80, "/srv", argv, envp);
	cr_assert_gt(n, 0);
	cr_assert_eq(slc_exec_decode(b, (size_t)n, &x, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(x.argc, 3);
	cr_assert_str_eq(x.argv[2], "/tmp dir");
	cr_assert_null(x.argv[3]);
	cr_assert_str_eq(x.envp[1], "B=x=y");
	cr_assert_str_eq(x.cwd, "/srv");
	cr_assert_eq(x.timeout_ms, 5000);
	cr_assert_eq(x.cols, 80);
	slc_exec_free(&x);
	cr_assert_eq(slc_exec_decode(b, (size_t)n - 1, &x, err, sizeof(err)), -1, "truncated");
	cr_assert_eq(slc_exec_decode(b, (size_t)n + 1, &x, err, sizeof(err)), -1, "trailing");
	/* A NUL inside a string. */
	b[n - 2] = 0;
	cr_assert_eq(slc_exec_decode(b, (size_t)n, &x, err, sizeof(err)), -1, "NUL accepted");
	/* argc 0 and unknown flags. */
	n = slc_exec_encode(b, sizeof(b), 0, 0, 0, 0, "", argv, NULL);
	wire_put16(b + 12, 0);
	cr_assert_eq(slc_exec_decode(b, (size_t)n, &x, err, sizeof(err)), -1);
	n = slc_exec_encode(b, sizeof(b), 0x80, 0, 0, 0, "", argv, NULL);
	cr_assert_eq(slc_exec_decode(b, (size_t)n, &x, err, sizeof(err)), -1);
	/* Environment entries must be K=V. */
	envp[0] = "NOEQUALS";
	n = slc_exec_encode(b, sizeof(b), 0, 0, 0, 0, "", argv, envp);
	cr_assert_eq(slc_exec_decode(b, (size_t)n, &x, err, sizeof(err)), -1);
}

Test(slc_proto, entries_and_names)
{
	struct slc_entry e = { .kind = SLC_K_LINK, .mode = 0777, .mtime_s = -5, .mtime_ns = 9 }, g;
	uint8_t b[8192];
	char err[128];
	long n;

	strcpy(e.name, "link");
	strcpy(e.target, "../../etc/passwd"); /* stored as sent, never followed */
	n = slc_entry_encode(b, sizeof(b), &e);
	cr_assert_eq(slc_entry_decode(b, (size_t)n, &g, err, sizeof(err)), 0, "%s", err);
	cr_assert_str_eq(g.target, "../../etc/passwd");
	cr_assert_eq(g.mtime_s, -5);
	const char *bad[] = { "..", ".", "a/b", "/abs", "" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		e.kind = SLC_K_FILE;
		strcpy(e.name, bad[i]);
		n = slc_entry_encode(b, sizeof(b), &e);
		cr_assert_eq(slc_entry_decode(b, (size_t)n, &g, err, sizeof(err)), -1,
			     "name '%s' accepted", bad[i]);
	}
	cr_assert(slc_name_ok("a b", 3));
	cr_assert(!slc_name_ok("a\0b", 3));
	strcpy(e.name, "f");
	e.mode = 010000;
	n = slc_entry_encode(b, sizeof(b), &e);
	cr_assert_eq(slc_entry_decode(b, (size_t)n, &g, err, sizeof(err)), -1, "bad mode");
	e.mode = 0644;
	e.kind = SLC_K_DIR;
	e.size = 5;
	n = slc_entry_encode(b, sizeof(b), &e);
	cr_assert_eq(slc_entry_decode(b, (size_t)n, &g, err, sizeof(err)), -1, "dir size");
}

Test(slc_proto, xfer_request_and_errors)
{
	struct slc_xfer_req r;
	struct slc_error e;
	struct slc_frame f = { .type = SLC_FILE_ERR };
	uint8_t b[2048];
	char err[128];
	long n;

	n = slc_xfer_req_encode(b, sizeof(b), SLC_XF_INTO, "/a/b");
	cr_assert_eq(slc_xfer_req_decode(b, (size_t)n, &r, err, sizeof(err)), 0);
	cr_assert_str_eq(r.path, "/a/b");
	cr_assert_eq(r.flags, SLC_XF_INTO);
	n = slc_xfer_req_encode(b, sizeof(b), 0, "");
	cr_assert_eq(slc_xfer_req_decode(b, (size_t)n, &r, err, sizeof(err)), -1, "empty path");
	n = slc_file_err_encode(b, sizeof(b), 28, "f.bin", "no space\n");
	f.p = b;
	f.len = (uint32_t)n;
	cr_assert_eq(slc_frame_check(&f, err, sizeof(err)), -1, "FILE_ERR on stream 0");
	f.stream = 1;
	cr_assert_eq(slc_frame_check(&f, err, sizeof(err)), 0);
	slc_error_decode(&f, &e);
	cr_assert_eq(e.err, 28);
	cr_assert_str_eq(e.name, "f.bin");
	cr_assert_str_eq(e.msg, "no space?");
}
