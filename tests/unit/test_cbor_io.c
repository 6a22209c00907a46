/* The strict CBOR reader and bounded writer. */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "lib/core/cbor_io.h"

static int tok(const char *bytes, size_t n, struct cbor_tok *t)
{
	struct cbor_rd rd;

	cbor_rd_init(&rd, bytes, n);
	return cbor_rd_next(&rd, t);
}

Test(cbor_io, tokens)
{
	struct cbor_tok t;

	cr_assert_eq(tok("\x18\x2a", 2, &t), 0);
	cr_expect(t.type == CT_UINT && t.val == 42);
	cr_assert_eq(tok("\x1b\xff\xff\xff\xff\xff\xff\xff\xff", 9, &t), 0);
	cr_expect(t.type == CT_UINT && t.val == UINT64_MAX);
	cr_assert_eq(tok("\x38\x22", 2, &t), 0);
	cr_expect(t.type == CT_NEGINT && t.val == 34, "-35");
	cr_assert_eq(tok("\x43" "abc", 4, &t), 0);
	cr_expect(t.type == CT_BYTES && t.len == 3 && !memcmp(t.data, "abc", 3));
	cr_assert_eq(tok("\x62hi", 3, &t), 0);
	cr_expect(t.type == CT_TEXT && t.len == 2);
	cr_assert_eq(tok("\x84", 1, &t), 0);
	cr_expect(t.type == CT_ARRAY && t.val == 4);
	cr_assert_eq(tok("\xa0", 1, &t), 0);
	cr_expect(t.type == CT_MAP && t.val == 0);
	cr_assert_eq(tok("\xf6", 1, &t), 0);
	cr_expect(t.type == CT_NULL);
	cr_assert_eq(tok("\xf5", 1, &t), 0);
	cr_expect(t.type == CT_BOOL && t.val == 1);
	/* Tags: 18 (COSE_Sign1, which libcbor 0.8 refuses), 6, 24+. */
	cr_assert_eq(tok("\xd2", 1, &t), 0);
	cr_expect(t.type == CT_TAG && t.val == 18);
	cr_assert_eq(tok("\xc6", 1, &t), 0);
	cr_expect(t.type == CT_TAG && t.val == 6);
	cr_assert_eq(tok("\xd8\x62", 2, &t), 0);
	cr_expect(t.type == CT_TAG && t.val == 98);
}

Test(cbor_io, refused)
{
	struct cbor_tok t;

	/* Truncated heads and contents. */
	cr_expect_eq(tok("", 0, &t), -1);
	cr_expect_eq(tok("\x18", 1, &t), -1);
	cr_expect_eq(tok("\x44" "abc", 4, &t), -1);
	cr_expect_eq(tok("\x5b\x00\x00\x00\x01\x00\x00\x00\x00", 9, &t), -1);
	/* Floats, undefined, reserved: CT_OTHER or -1. */
	cr_expect(tok("\xfa\x3f\x80\x00\x00", 5, &t) < 0 || t.type == CT_OTHER);
	cr_expect(tok("\xf7", 1, &t) < 0 || t.type == CT_OTHER);
	cr_expect(tok("\x1c", 1, &t) < 0 || t.type == CT_OTHER);
}

static enum cbor_rd_fault fault(const char *bytes, size_t n)
{
	struct cbor_rd rd;
	struct cbor_tok t;

	cbor_rd_init(&rd, bytes, n);
	if (cbor_rd_next(&rd, &t) == 0)
		return CBOR_RD_OK;
	cr_expect_eq(rd.off, 0, "a refused head consumes nothing");
	return rd.fault;
}

/* One encoding per value: every head longer than its value needs, in every
 * major type, and every indefinite length, is refused by its own fault;
 * the shortest forms at each boundary are read. */
Test(cbor_io, canonical_only)
{
	static const struct {
		const char *b;
		size_t n;
		enum cbor_rd_fault want;
	} cases[] = {
		{ "\x18\x17", 2, CBOR_RD_NONMINIMAL },  /* 23 in 2 bytes */
		{ "\x18\x18", 2, CBOR_RD_OK },
		{ "\x19\x00\xff", 3, CBOR_RD_NONMINIMAL },
		{ "\x19\x01\x00", 3, CBOR_RD_OK },
		{ "\x1a\x00\x00\xff\xff", 5, CBOR_RD_NONMINIMAL },
		{ "\x1a\x00\x01\x00\x00", 5, CBOR_RD_OK },
		{ "\x1b\x00\x00\x00\x00\xff\xff\xff\xff", 9, CBOR_RD_NONMINIMAL },
		{ "\x1b\x00\x00\x00\x01\x00\x00\x00\x00", 9, CBOR_RD_OK },
		{ "\x38\x00", 2, CBOR_RD_NONMINIMAL },  /* -1 in 2 bytes */
		{ "\x39\x00\x22", 3, CBOR_RD_NONMINIMAL }, /* -35 in 3 */
		{ "\x58\x01\x00", 3, CBOR_RD_NONMINIMAL }, /* bstr of 1 */
		{ "\x59\x00\x00", 3, CBOR_RD_NONMINIMAL },
		{ "\x78\x00", 2, CBOR_RD_NONMINIMAL },  /* empty text */
		{ "\x98\x04", 2, CBOR_RD_NONMINIMAL },  /* array of 4 */
		{ "\xb8\x00", 2, CBOR_RD_NONMINIMAL },  /* empty map */
		{ "\xba\x00\x00\x00\x01", 5, CBOR_RD_NONMINIMAL },
		{ "\xd8\x12", 2, CBOR_RD_NONMINIMAL },  /* tag 18 */
		{ "\xd9\x00\x12", 3, CBOR_RD_NONMINIMAL },
		{ "\xd8\x18", 2, CBOR_RD_OK },          /* tag 24 */
		{ "\xf8\x14", 2, CBOR_RD_MALFORMED },   /* false in 2 bytes */
		{ "\x5f", 1, CBOR_RD_INDEFINITE },
		{ "\x7f", 1, CBOR_RD_INDEFINITE },
		{ "\x9f", 1, CBOR_RD_INDEFINITE },
		{ "\xbf", 1, CBOR_RD_INDEFINITE },
		{ "\xff", 1, CBOR_RD_INDEFINITE },       /* break */
		{ "\x1f", 1, CBOR_RD_MALFORMED },
		{ "\xdf", 1, CBOR_RD_MALFORMED },
		{ "\x1c", 1, CBOR_RD_MALFORMED },
		{ "\x19\x01", 2, CBOR_RD_TRUNCATED },
		{ "\x42\x00", 2, CBOR_RD_TRUNCATED },
		{ "", 0, CBOR_RD_TRUNCATED },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		cr_expect_eq(fault(cases[i].b, cases[i].n), cases[i].want, "case %zu: fault %d, want %d",
			     i, fault(cases[i].b, cases[i].n), cases[i].want);
	cr_expect(cbor_rd_fault_canonical(CBOR_RD_NONMINIMAL));
	cr_expect(cbor_rd_fault_canonical(CBOR_RD_INDEFINITE));
	cr_expect(!cbor_rd_fault_canonical(CBOR_RD_TRUNCATED));
	cr_expect(strstr(cbor_rd_fault_str(CBOR_RD_NONMINIMAL), "canonical CBOR required"));
	/* A skip meets the same reader: a long head deep inside is refused. */
	struct cbor_rd rd;

	cbor_rd_init(&rd, "\x82\x01\x81\x18\x05", 5);
	cr_expect_eq(cbor_rd_skip(&rd, 8), -1);
	cr_expect_eq(rd.fault, CBOR_RD_NONMINIMAL);
}

Test(cbor_io, expect_and_skip)
{
	/* [1, {"a": [h'00', null]}, tag 24(2)] then 7 */
	static const char b[] = "\x83\x01\xa1\x61" "a" "\x82\x41\x00\xf6\xd8\x18\x02\x07";
	struct cbor_rd rd;
	struct cbor_tok t;

	cbor_rd_init(&rd, b, sizeof(b) - 1);
	cr_expect_eq(cbor_rd_expect(&rd, CT_MAP, &t), -1);
	cr_expect_eq(rd.off, 0, "a failed expect consumes nothing");
	cr_assert_eq(cbor_rd_skip(&rd, 8), 0);
	cr_assert_eq(cbor_rd_expect(&rd, CT_UINT, &t), 0);
	cr_expect_eq(t.val, 7);
	cr_expect(cbor_rd_done(&rd));
	cbor_rd_init(&rd, b, sizeof(b) - 1);
	cr_expect_eq(cbor_rd_skip(&rd, 2), -1, "three levels deep");
	/* A count larger than the bytes left is refused before any loop. */
	cbor_rd_init(&rd, "\x9b\x00\x00\x00\x01\x00\x00\x00\x00\x01", 10);
	cr_expect_eq(cbor_rd_skip(&rd, 8), -1);
	cbor_rd_init(&rd, "\xbb\x7f\xff\xff\xff\xff\xff\xff\xff\x01", 10);
	cr_expect_eq(cbor_rd_skip(&rd, 8), -1);
}

Test(cbor_io, writer)
{
	uint8_t buf[16];
	struct cbor_wr w;
	size_t n;

	cbor_wr_init(&w, buf, sizeof(buf));
	cbor_wr_array(&w, 3);
	cbor_wr_int(&w, -35);
	cbor_wr_bytes_or_null(&w, NULL, 0);
	cbor_wr_text(&w, "ok");
	cr_assert_eq(cbor_wr_finish(&w, &n), 0);
	cr_expect(n == 7 && !memcmp(buf, "\x83\x38\x22\xf6\x62ok", 7));
	cbor_wr_init(&w, buf, sizeof(buf));
	cbor_wr_bytes(&w, "0123456789abcdef", 16);
	cbor_wr_uint(&w, 1);
	errno = 0;
	cr_expect_eq(cbor_wr_finish(&w, &n), -1);
	cr_expect_eq(errno, ENOBUFS);
	cbor_wr_init(&w, buf, 2);
	cbor_wr_tag(&w, 18);
	cbor_wr_bool(&w, true);
	cbor_wr_map(&w, 0);
	cr_expect_eq(cbor_wr_finish(&w, &n), -1, "sticky overflow");
}
