/* The fleet key codec (lib/fleet/fleet_key.h, docs/fleet.md section 2):
 * round trips of hostile paths, every output a key NATS accepts, one
 * spelling per input, hashed keys for paths too long to escape. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "lib/fleet/fleet_key.h"
#include "lib/fleet/fleet_value.h"

static void round_trip(const void *in, size_t len)
{
	char tok[FLEET_TOKEN_MAX + 1];
	uint8_t back[FLEET_IN_MAX];
	int n, m;

	n = fleet_key_encode(in, len, tok, sizeof(tok));
	cr_assert_gt(n, 0, "encode of %zu bytes", len);
	cr_assert_eq((size_t)n, strlen(tok));
	cr_assert(fleet_key_valid(tok, (size_t)n), "'%s' is a valid NATS key", tok);
	cr_assert_null(memchr(tok, '.', (size_t)n), "no dot in '%s'", tok);
	m = fleet_key_decode(tok, (size_t)n, back, sizeof(back));
	cr_assert_eq(m, (int)len, "decode of '%s'", tok);
	cr_assert_eq(memcmp(back, in, len), 0);
}

Test(fleet_key, hostile_paths_round_trip)
{
	static const char *const paths[] = {
		"/apps/model.bin", "/a b/c", "..", ".", "/.hidden.", "a..b", "=41", "==",
		"\\x\\", "*", ">", "$KV.x.>", "/tmp/naïve", "tab\there", "new\nline",
		"%2F", "+~@#!", "/", "//", "A", "-_/",
	};
	unsigned i;

	for (i = 0; i < sizeof(paths) / sizeof(paths[0]); i++)
		round_trip(paths[i], strlen(paths[i]));
}

Test(fleet_key, every_byte_value)
{
	uint8_t all[256];
	unsigned i;

	for (i = 0; i < 256; i++)
		all[i] = (uint8_t)i;
	round_trip(all, sizeof(all)); /* includes NUL and 0xff */
	for (i = 0; i < 256; i++)
		round_trip(&all[i], 1);
}

Test(fleet_key, random_bytes)
{
	uint8_t buf[300];
	unsigned i, j;

	srand(18);
	for (i = 0; i < 2000; i++) {
		size_t len = 1 + (size_t)rand() % sizeof(buf);

		for (j = 0; j < len; j++)
			buf[j] = (uint8_t)rand();
		round_trip(buf, len);
	}
}

Test(fleet_key, exact_spelling)
{
	char tok[FLEET_TOKEN_MAX + 1];

	cr_assert_eq(fleet_key_encode("/a.b c=", 7, tok, sizeof(tok)), 13);
	cr_assert_str_eq(tok, "/a=2Eb=20c=3D");
}

Test(fleet_key, one_spelling_per_input)
{
	uint8_t out[64];
	static const char *const bad[] = {
		"=41",	   /* 'A' escaped: a second spelling */
		"=2e",	   /* lower-case hex */
		"=2",	   /* short escape */
		"=",	   /* lone escape */
		"a.b",	   /* a dot is never written */
		"a b",	   /* nor a space */
		"a\\b",	   /* nor a backslash */
		"=ZZ",	   /* not hex */
		"=2F",	   /* '/' stands for itself */
		"",	   /* nothing encodes to the empty token */
	};
	unsigned i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_assert_eq(fleet_key_decode(bad[i], strlen(bad[i]), out, sizeof(out)), -1,
			     "'%s' is refused", bad[i]);
}

Test(fleet_key, long_paths_are_hashed)
{
	char tok[FLEET_TOKEN_MAX + 1], tok2[FLEET_TOKEN_MAX + 1];
	uint8_t path[FLEET_IN_MAX], out[16];
	int n;

	/* 342 escaped bytes make 1026 characters: one over the limit. */
	memset(path, ' ', sizeof(path));
	n = fleet_key_encode(path, 342, tok, sizeof(tok));
	cr_assert_eq(n, 66);
	cr_assert_eq(strncmp(tok, "=H", 2), 0);
	cr_assert(fleet_key_valid(tok, (size_t)n));
	cr_assert_eq(fleet_key_decode(tok, (size_t)n, out, sizeof(out)), -2);
	path[0] = '!';
	cr_assert_eq(fleet_key_encode(path, 342, tok2, sizeof(tok2)), 66);
	cr_assert_str_neq(tok, tok2, "different paths, different hashes");
	/* 341 escapes fit (1023 characters) and stay reversible. */
	round_trip(path, 341);
	memset(path, 'a', sizeof(path));
	round_trip(path, 1024);
	cr_assert_eq(fleet_key_encode(path, 1025, tok, sizeof(tok)), 66);
	cr_assert_eq(fleet_key_encode(path, FLEET_IN_MAX + 1, tok, sizeof(tok)), -1);
	cr_assert_eq(fleet_key_encode(path, 0, tok, sizeof(tok)), -1);
	cr_assert_eq(fleet_key_encode("abc", 3, tok, 3), -1, "small buffer");
}

Test(fleet_key, nats_validity)
{
	cr_assert(fleet_key_valid("/apps/model.bin", 15));
	cr_assert_not(fleet_key_valid(".a", 2));
	cr_assert_not(fleet_key_valid("a.", 2));
	cr_assert_not(fleet_key_valid("a..b", 4));
	cr_assert_not(fleet_key_valid("a b", 3));
	cr_assert_not(fleet_key_valid("", 0));
	cr_assert(fleet_key_valid("a=b\\c", 5));
}

Test(fleet_key, record_keys)
{
	char key[FLEET_KEY_MAX], pcr0[97];
	struct fleet_key_parts kp;
	uint8_t back[64];
	int n;

	memset(pcr0, 'a', 96);
	pcr0[96] = '\0';
	n = fleet_record_key("i-01-enc02", pcr0, "/x/y.txt", 8, key, sizeof(key));
	cr_assert_gt(n, 0);
	cr_assert(fleet_key_valid(key, (size_t)n));
	cr_assert_eq(fleet_record_key_split(key, (size_t)n, &kp), 0);
	cr_assert_eq(kp.enclave_len, 10);
	cr_assert_eq(kp.image_len, 96);
	cr_assert_eq(fleet_key_decode(kp.path, kp.path_len, back, sizeof(back)), 8);
	cr_assert_eq(memcmp(back, "/x/y.txt", 8), 0);
	cr_assert_eq(fleet_record_key("m", "ABC", "/x", 2, key, sizeof(key)), -1,
		     "PCR0 must be lower-case hex");
	cr_assert_eq(fleet_record_key_split("a.b", 3, &kp), -1);
	cr_assert_eq(fleet_record_key_split("a.b.c.d", 7, &kp), -1);
	cr_assert_eq(fleet_record_key_split("a..c", 4, &kp), -1);
}

Test(fleet_value, seq_read_back)
{
	static const uint8_t dig[4] = { 1, 2, 3, 0xff };
	struct fleet_record r = { .module_id = "m", .pcr0_hex = "00", .seq = 77, .path = "/p\377",
				  .plen = 3, .present = true, .cause = "write",
				  .scheme = "sha256-t20", .digest = dig, .dlen = 4, .time_ms = 5 };
	uint64_t seq = 0;
	size_t len;
	char *j = fleet_version_json(&r, &len);

	cr_assert(j);
	cr_assert_eq(fleet_value_seq(j, len, &seq), 0, "%s", j);
	cr_assert_eq(seq, 77);
	cr_assert(strstr(j, "\"path_hex\":\"2f70ff\""), "%s", j);
	cr_assert(strstr(j, "\"digest\":\"010203ff\""), "%s", j);
	free(j);
	cr_assert_eq(fleet_value_seq("{\"seq\":-1}", 10, &seq), -1);
	cr_assert_eq(fleet_value_seq("\x40\x41", 2, &seq), -1, "raw digest bytes (compat)");
}
