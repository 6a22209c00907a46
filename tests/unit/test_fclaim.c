/* The user_data claim (lib/fclaim.h): round trips, the size bound for
 * every path length, and strict decoding. */
#include <criterion/criterion.h>
#include <string.h>

#include <openssl/evp.h>

#include "lib/core/cbor_io.h"
#include "lib/attestation/fclaim.h"

static struct fclaim file_claim(const char *path)
{
	struct fclaim c = { .kind = FCLAIM_FILE, .path = (const uint8_t *)path,
			    .path_len = strlen(path), .present = true, .alg = FDIG_SHA256,
			    .size = 4096, .mtime_ns = 1732000000123456789, .ino = 77, .gen = 9,
			    .seq = 42, .time_ms = 1732000000200 };

	memset(c.digest, 0xab, 32);
	return c;
}

Test(fclaim, file_round_trip)
{
	struct fclaim c = file_claim("/apps/model.bin"), d;
	uint8_t buf[FCLAIM_MAX];
	char err[256];
	size_t len;

	cr_assert_eq(fclaim_encode(&c, buf, sizeof(buf), &len), 0);
	cr_assert_eq(fclaim_decode(buf, len, &d, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(d.kind, FCLAIM_FILE);
	cr_assert(d.present);
	cr_assert_eq(d.path_len, 15);
	cr_assert_eq(memcmp(d.path, "/apps/model.bin", 15), 0);
	cr_assert_eq(d.alg, FDIG_SHA256);
	cr_assert_eq(memcmp(d.digest, c.digest, 32), 0);
	cr_assert_eq(d.size, 4096);
	cr_assert_eq(d.mtime_ns, c.mtime_ns);
	cr_assert_eq(d.ino, 77);
	cr_assert_eq(d.gen, 9);
	cr_assert_eq(d.seq, 42);
	cr_assert_eq(d.time_ms, c.time_ms);
	cr_assert(fclaim_names_path(&d, "/apps/model.bin", 15));
	cr_assert_not(fclaim_names_path(&d, "/apps/model.bi", 14));
}

Test(fclaim, deleted_and_negative_mtime)
{
	struct fclaim c = file_claim("/a"), d;
	uint8_t buf[FCLAIM_MAX];
	char err[256];
	size_t len;

	c.mtime_ns = -5;
	cr_assert_eq(fclaim_encode(&c, buf, sizeof(buf), &len), 0);
	cr_assert_eq(fclaim_decode(buf, len, &d, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(d.mtime_ns, -5);
	c.present = false;
	cr_assert_eq(fclaim_encode(&c, buf, sizeof(buf), &len), 0);
	cr_assert_eq(fclaim_decode(buf, len, &d, err, sizeof(err)), 0, "%s", err);
	cr_assert_not(d.present);
	cr_assert_eq(d.size, 0);
	cr_assert_eq(d.seq, 42);
}

Test(fclaim, every_path_length_fits)
{
	static char path[4097];
	struct fclaim c, d;
	uint8_t buf[FCLAIM_MAX], h[32];
	unsigned int hl;
	char err[256];
	size_t len, n;

	memset(path, 'x', sizeof(path) - 1);
	path[0] = '/';
	/* Every length up to 600, then every 97th, then the longest. */
	for (n = 1; n <= 4096; n = n < 600 ? n + 1 : n < 4096 && n + 97 > 4096 ? 4096 : n + 97) {
		path[n] = '\0';
		c = file_claim(path);
		c.alg = FDIG_SHA384;
		c.size = c.ino = c.seq = c.time_ms = UINT64_MAX;
		c.gen = UINT32_MAX;
		c.mtime_ns = INT64_MIN;
		cr_assert_eq(fclaim_encode(&c, buf, sizeof(buf), &len), 0, "path of %zu", n);
		cr_assert_leq(len, 1024);
		cr_assert_eq(fclaim_decode(buf, len, &d, err, sizeof(err)), 0, "%zu: %s", n, err);
		cr_assert_eq(d.path_hashed, n > FCLAIM_PATH_INLINE_MAX);
		cr_assert(fclaim_names_path(&d, path, n), "%zu", n);
		path[n] = 'x';
	}
	path[4096] = '\0';
	cr_assert_eq(fclaim_encode(&c, buf, sizeof(buf), &len), 0);
	cr_assert_eq(fclaim_decode(buf, len, &d, err, sizeof(err)), 0, "%s", err);
	EVP_Digest(path, 4096, h, &hl, EVP_sha256(), NULL);
	cr_assert_eq(memcmp(d.path_sha256, h, 32), 0);
}

Test(fclaim, server)
{
	struct fclaim c = { .kind = FCLAIM_SERVER, .time_ms = 5 }, d;
	uint8_t buf[64];
	char err[256];
	size_t len;

	cr_assert_eq(fclaim_encode(&c, buf, sizeof(buf), &len), 0);
	cr_assert_eq(fclaim_decode(buf, len, &d, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(d.kind, FCLAIM_SERVER);
	cr_assert_eq(d.time_ms, 5);
	cr_assert_not(fclaim_names_path(&d, "/a", 2));
}

/* A map written by hand, to reach what the encoder never produces. */
static size_t hand(uint8_t *buf, size_t cap, int variant)
{
	struct cbor_wr w;
	uint8_t dig[32] = { 0 };
	size_t len;

	cbor_wr_init(&w, buf, cap);
	cbor_wr_map(&w, variant == 1 ? 13 : 12);
	cbor_wr_text(&w, "v");
	cbor_wr_uint(&w, variant == 2 ? 2 : 1);
	cbor_wr_text(&w, "kind");
	cbor_wr_text(&w, "file");
	cbor_wr_text(&w, variant == 3 ? "name" : "path");
	cbor_wr_bytes(&w, "/a", 2);
	cbor_wr_text(&w, "state");
	cbor_wr_text(&w, variant == 4 ? "deleted" : "present");
	cbor_wr_text(&w, "scheme");
	cbor_wr_text(&w, variant == 5 ? "sha3-512-t20" : "sha256-t20");
	cbor_wr_text(&w, "digest");
	cbor_wr_bytes(&w, dig, variant == 6 ? 31 : 32);
	cbor_wr_text(&w, "size");
	if (variant == 7)
		cbor_wr_int(&w, -1);
	else
		cbor_wr_uint(&w, 1);
	cbor_wr_text(&w, "mtime_ns");
	cbor_wr_uint(&w, 1);
	cbor_wr_text(&w, "ino");
	cbor_wr_uint(&w, 1);
	cbor_wr_text(&w, variant == 8 ? "seq" : "gen");
	cbor_wr_uint(&w, 1);
	cbor_wr_text(&w, variant == 8 ? "gen" : "seq");
	cbor_wr_uint(&w, 1);
	cbor_wr_text(&w, "time_ms");
	cbor_wr_uint(&w, 1);
	if (variant == 1 || variant == 9) {
		cbor_wr_text(&w, "extra");
		cbor_wr_uint(&w, 1);
	}
	cr_assert_eq(cbor_wr_finish(&w, &len), 0);
	return len;
}

Test(fclaim, strict)
{
	uint8_t buf[256];
	struct fclaim d;
	char err[256];
	int v;

	cr_assert_eq(fclaim_decode(buf, hand(buf, sizeof(buf), 0), &d, err, sizeof(err)), 0,
		     "%s", err);
	for (v = 1; v <= 9; v++)
		cr_assert_eq(fclaim_decode(buf, hand(buf, sizeof(buf), v), &d, err, sizeof(err)), -1,
			     "variant %d accepted", v);
	cr_assert_eq(fclaim_decode(buf, 0, &d, err, sizeof(err)), -1);
	cr_assert_eq(fclaim_decode((const uint8_t *)"\xa0", 1, &d, err, sizeof(err)), -1);
}
