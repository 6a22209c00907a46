/* The NSM client against the emulator: every call, errors, persistence,
 * concurrent processes, and the device path's ioctl on a non-NSM file. */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>

#include <openssl/evp.h>

#include "emu.h"
#include "lib/attestation/att_verify.h"
#include "lib/attestation/nsm_proto.h"

static void sha384_extend(uint8_t pcr[48], const void *data, size_t len)
{
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	unsigned n;

	cr_assert(c);
	cr_assert(EVP_DigestInit_ex(c, EVP_sha384(), NULL) == 1 &&
		  EVP_DigestUpdate(c, pcr, 48) == 1 && EVP_DigestUpdate(c, data, len) == 1 &&
		  EVP_DigestFinal_ex(c, pcr, &n) == 1);
	EVP_MD_CTX_free(c);
}

static struct att_verifier *emu_verifier(const char *dir)
{
	char path[4200];
	struct att_err err;
	struct att_verifier *v;

	snprintf(path, sizeof(path), "%s/root.pem", dir);
	v = att_verifier_new_file(path, 0, &err);
	cr_assert(v, "%s", err.msg);
	return v;
}

Test(nsm, describe_and_pcrs)
{
	char *dir = emu_make(NULL);
	struct nsm *h = emu_open(dir);
	struct nsm_description d;
	uint8_t v[NSM_PCR_MAX_LEN], zero[48] = { 0 };
	size_t n;
	bool locked;

	cr_assert(nsm_is_emulated(h));
	cr_assert_eq(nsm_describe(h, &d), 0);
	cr_expect_eq(d.max_pcrs, 32);
	cr_expect_eq(d.locked_mask, 0xffff);
	cr_expect_str_eq(d.digest, "SHA384");
	cr_expect(strncmp(d.module_id, "i-", 2) == 0 && strstr(d.module_id, "-enc"), "%s",
		  d.module_id);
	cr_assert_eq(nsm_pcr_read(h, 0, v, &n, &locked), 0);
	cr_expect(n == 48 && locked && memcmp(v, zero, 48) != 0, "PCR0 measured and locked");
	cr_assert_eq(nsm_pcr_read(h, 16, v, &n, &locked), 0);
	cr_expect(n == 48 && !locked && memcmp(v, zero, 48) == 0, "PCR16 open and zero");
	cr_expect_eq(nsm_pcr_read(h, 32, v, &n, &locked), nsm_err(NSM_E_INVALID_INDEX));
	nsm_close(h);
	emu_remove(dir);
}

Test(nsm, extend_and_lock)
{
	char *dir = emu_make(NULL);
	struct nsm *h = emu_open(dir), *h2;
	uint8_t v[NSM_PCR_MAX_LEN], want[48] = { 0 };
	size_t n;
	bool locked;

	sha384_extend(want, "abc", 3);
	cr_assert_eq(nsm_pcr_extend(h, 16, "abc", 3, v, &n), 0);
	cr_expect(n == 48 && memcmp(v, want, 48) == 0, "PCR16 = SHA384(0^48 || abc)");
	sha384_extend(want, "", 0);
	cr_assert_eq(nsm_pcr_extend(h, 16, "", 0, v, &n), 0);
	cr_expect(memcmp(v, want, 48) == 0);
	cr_expect_eq(nsm_pcr_extend(h, 3, "x", 1, v, &n), nsm_err(NSM_E_READ_ONLY_INDEX));
	cr_expect_eq(nsm_pcr_extend(h, 40, "x", 1, v, &n), nsm_err(NSM_E_INVALID_INDEX));
	cr_expect_str_eq(nsm_strerror(nsm_err(NSM_E_READ_ONLY_INDEX)), "ReadOnlyIndex");

	/* The state is in the directory: another handle sees it. */
	h2 = emu_open(dir);
	cr_assert_eq(nsm_pcr_read(h2, 16, v, &n, &locked), 0);
	cr_expect(memcmp(v, want, 48) == 0 && !locked);
	cr_assert_eq(nsm_pcr_lock(h2, 16), 0);
	cr_expect_eq(nsm_pcr_extend(h, 16, "x", 1, v, &n), nsm_err(NSM_E_READ_ONLY_INDEX));
	cr_assert_eq(nsm_pcr_lock_range(h, 20), 0);
	cr_assert_eq(nsm_pcr_read(h, 19, v, &n, &locked), 0);
	cr_expect(locked);
	cr_assert_eq(nsm_pcr_read(h, 20, v, &n, &locked), 0);
	cr_expect(!locked);
	cr_expect_eq(nsm_pcr_lock_range(h, 33), nsm_err(NSM_E_INVALID_INDEX));
	nsm_close(h);
	nsm_close(h2);
	emu_remove(dir);
}

Test(nsm, random)
{
	char *dir = emu_make(NULL);
	struct nsm *h = emu_open(dir);
	uint8_t a[1000], b[1000], zero[1000] = { 0 };

	cr_assert_eq(nsm_random(h, a, sizeof(a)), 0);
	cr_assert_eq(nsm_random(h, b, sizeof(b)), 0);
	cr_expect(memcmp(a, b, sizeof(a)) != 0 && memcmp(a, zero, sizeof(a)) != 0);
	nsm_close(h);
	emu_remove(dir);
}

/* A document binds the caller's fields, carries the locked PCRs, and
 * verifies only under the emulator's own root. */
Test(nsm, attestation_verifies_under_emulator_root)
{
	char *dir = emu_make(NULL);
	struct nsm *h = emu_open(dir);
	struct att_verifier *v = emu_verifier(dir), *aws;
	static uint8_t doc[ATT_DOC_MAX], big[ATT_FIELD_MAX + 1];
	struct nsm_attest_in in = { 0 };
	struct att_policy pol = { 0 };
	struct att_doc d;
	struct att_err err;
	uint8_t pcr16[NSM_PCR_MAX_LEN];
	size_t n, pn;
	int64_t now = (int64_t)time(NULL);

	memset(big, 0xab, sizeof(big));
	in.nonce = (struct att_bytes){ big, ATT_FIELD_MAX };
	in.user_data = (struct att_bytes){ (const uint8_t *)"hello", 5 };
	in.public_key = (struct att_bytes){ big, 1 };
	cr_assert_eq(nsm_pcr_extend(h, 16, "m", 1, pcr16, &pn), 0);
	cr_assert_eq(nsm_pcr_lock(h, 16), 0);
	cr_assert_eq(nsm_attest(h, &in, doc, sizeof(doc), &n), 0);
	pol.nonce = in.nonce;
	pol.user_data = in.user_data;
	pol.public_key = in.public_key;
	pol.max_age_ms = 60000;
	cr_assert_eq(att_verify(v, doc, n, now, &pol, &d, &err), 0, "%s", err.msg);
	cr_expect_eq(d.pcr_mask, 0x1ffff, "PCR0-15 and the locked PCR16");
	cr_expect_eq(memcmp(d.pcr[16], pcr16, 48), 0);
	cr_expect(!att_doc_is_debug(&d));
	cr_expect(!d.cose.tagged);
	/* Three hours later the leaf has expired. */
	cr_expect_eq(att_verify(v, doc, n, now + 4 * 3600, &pol, NULL, &err), -1);
	cr_expect_eq(err.check, ATT_CHK_VALIDITY, "%s", err.msg);
	/* The AWS root does not accept it. */
	aws = att_verifier_new(NULL, 0, 0, &err);
	cr_assert(aws);
	cr_expect_eq(att_verify(aws, doc, n, now, &pol, NULL, &err), -1);
	cr_expect_eq(err.check, ATT_CHK_ROOT, "%s", err.msg);
	/* Too large for the NSM, and too small a buffer. */
	in.nonce.len = ATT_FIELD_MAX + 1;
	cr_expect_eq(nsm_attest(h, &in, doc, sizeof(doc), &n), nsm_err(NSM_E_INPUT_TOO_LARGE));
	in.nonce.len = 1;
	cr_expect_eq(nsm_attest(h, &in, doc, 100, &n), -ENOBUFS);
	cr_expect_eq(nsm_attest(h, NULL, doc, sizeof(doc), &n), 0);
	cr_assert_eq(att_doc_parse(doc, n, &d, &err), 0);
	cr_expect(!d.nonce.ptr && !d.user_data.ptr && !d.public_key.ptr);
	att_verifier_free(aws);
	att_verifier_free(v);
	nsm_close(h);
	emu_remove(dir);
}

Test(nsm, debug_emulator)
{
	struct nsm_emu_config cfg = { .debug = true, .module_id = "i-0123456789abcdef0-enc0" };
	char *dir = emu_make(&cfg);
	struct nsm *h = emu_open(dir);
	struct att_verifier *v = emu_verifier(dir);
	struct att_policy pol = { 0 };
	static uint8_t doc[ATT_DOC_MAX];
	struct att_doc d;
	struct att_err err;
	size_t n;

	cr_assert_eq(nsm_attest(h, NULL, doc, sizeof(doc), &n), 0);
	cr_expect_eq(att_verify(v, doc, n, time(NULL), &pol, &d, &err), -1);
	cr_expect_eq(err.check, ATT_CHK_DEBUG);
	pol.allow_debug = true;
	cr_expect_eq(att_verify(v, doc, n, time(NULL), &pol, &d, &err), 0, "%s", err.msg);
	cr_expect_str_eq(d.module_id, "i-0123456789abcdef0-enc0");
	att_verifier_free(v);
	nsm_close(h);
	emu_remove(dir);
}

Test(nsm, init_refuses_to_clobber)
{
	char *dir = emu_make(NULL), err[512];
	struct nsm_emu_config cfg = { 0 };

	cr_expect_eq(nsm_emu_init(dir, &cfg, err, sizeof(err)), -1);
	cr_expect(strstr(err, "--force"), "%s", err);
	cfg.force = true;
	cfg.module_id = "bad id\n";
	cr_expect_eq(nsm_emu_init(dir, &cfg, err, sizeof(err)), -1);
	cfg.module_id = NULL;
	cr_expect_eq(nsm_emu_init(dir, &cfg, err, sizeof(err)), 0, "%s", err);
	emu_remove(dir);
}

/* Processes sharing one emulator directory lose no update: each extends
 * PCR16 with the same bytes, so the result is the count of extensions. */
Test(nsm, concurrent_processes)
{
	char *dir = emu_make(NULL);
	uint8_t want[48] = { 0 }, v[NSM_PCR_MAX_LEN];
	int i, k, st;
	size_t n;
	bool locked;
	struct nsm *h;

	for (i = 0; i < 4; i++) {
		pid_t p = fork();

		cr_assert(p >= 0);
		if (p == 0) {
			struct nsm *c = emu_open(dir);
			int bad = 0;

			for (k = 0; k < 25; k++)
				bad |= nsm_pcr_extend(c, 16, "z", 1, v, &n) != 0;
			nsm_close(c);
			_exit(bad);
		}
	}
	for (i = 0; i < 4; i++) {
		cr_assert(wait(&st) > 0);
		cr_expect(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	}
	for (i = 0; i < 100; i++)
		sha384_extend(want, "z", 1);
	h = emu_open(dir);
	cr_assert_eq(nsm_pcr_read(h, 16, v, &n, &locked), 0);
	cr_expect_eq(memcmp(v, want, 48), 0);
	nsm_close(h);
	emu_remove(dir);
}

/* The device path: open, ioctl, errno. /dev/null is not an NSM. */
Test(nsm, device_path)
{
	char err[256];
	struct nsm *h = nsm_open("/nonexistent/nsm", err, sizeof(err));
	struct nsm_description d;

	cr_expect(!h);
	cr_expect(strstr(err, "/nonexistent/nsm"), "%s", err);
	h = nsm_open("/dev/null", err, sizeof(err));
	cr_assert(h, "%s", err);
	cr_expect(!nsm_is_emulated(h));
	cr_expect_eq(nsm_describe(h, &d), -ENOTTY);
	nsm_close(h);
	h = nsm_open("emu:/nonexistent", err, sizeof(err));
	cr_expect(!h);
	cr_expect(strstr(err, "emu init"), "%s", err);
}

/* Requests and responses survive a round trip through the codec. */
Test(nsm_proto, round_trip)
{
	uint8_t buf[2048];
	struct nsm_req q = { .op = NSM_OP_EXTEND_PCR, .index = 17,
			     .data = { (const uint8_t *)"data", 4 } }, q2;
	struct nsm_resp r = { .op = NSM_OP_DESCRIBE_NSM }, r2;
	size_t n;
	int op;

	for (op = 0; op < NSM_OP_COUNT; op++) {
		q.op = op;
		q.att.nonce = (struct att_bytes){ (const uint8_t *)"n", 1 };
		cr_assert_eq(nsm_req_encode(&q, buf, sizeof(buf), &n), 0);
		cr_assert_eq(nsm_req_decode(buf, n, &q2), 0, "op %d", op);
		cr_expect_eq(q2.op, q.op);
		if (op == NSM_OP_EXTEND_PCR)
			cr_expect(q2.index == 17 && q2.data.len == 4 && !memcmp(q2.data.ptr, "data", 4));
		if (op == NSM_OP_ATTESTATION)
			cr_expect(q2.att.nonce.len == 1 && !q2.att.user_data.ptr);
	}
	r.desc = (struct nsm_description){ 1, 2, 3, "mod", 32, 0x80000005, "SHA384" };
	cr_assert_eq(nsm_resp_encode(&r, buf, sizeof(buf), &n), 0);
	cr_assert_eq(nsm_resp_decode(buf, n, NSM_OP_DESCRIBE_NSM, &r2), 0);
	cr_expect(r2.desc.version_patch == 3 && r2.desc.locked_mask == 0x80000005 &&
		  !strcmp(r2.desc.module_id, "mod"));
	/* A response to another request is refused. */
	cr_expect_eq(nsm_resp_decode(buf, n, NSM_OP_GET_RANDOM, &r2), -1);
	r = (struct nsm_resp){ .op = NSM_OP_GET_RANDOM, .error = NSM_E_INPUT_TOO_LARGE };
	cr_assert_eq(nsm_resp_encode(&r, buf, sizeof(buf), &n), 0);
	cr_assert_eq(nsm_resp_decode(buf, n, NSM_OP_ATTESTATION, &r2), 0);
	cr_expect_eq(r2.error, NSM_E_INPUT_TOO_LARGE);
	r = (struct nsm_resp){ .op = NSM_OP_LOCK_PCRS };
	cr_assert_eq(nsm_resp_encode(&r, buf, sizeof(buf), &n), 0);
	cr_expect_eq(n, 9); /* "LockPCRs" */
	cr_expect_eq(nsm_resp_decode(buf, n, NSM_OP_LOCK_PCRS, &r2), 0);
	cr_expect_eq(nsm_resp_decode(buf, n, NSM_OP_LOCK_PCR, &r2), -1);
	cr_expect_eq(nsm_req_encode(&q, buf, 3, &n), -1);
}

/* Byte-exact messages (serde's layout, as in docs/attestation.md). */
Test(nsm_proto, wire_format)
{
	static const uint8_t describe[] = { 0x6b, 'D', 'e', 's', 'c', 'r', 'i', 'b', 'e', 'N', 'S', 'M' };
	static const uint8_t lock3[] = { 0xa1, 0x67, 'L', 'o', 'c', 'k', 'P', 'C', 'R',
					 0xa1, 0x65, 'i', 'n', 'd', 'e', 'x', 0x03 };
	/* {"DescribePCR": {"data": h'01', "lock": true, "future": [1, {}]}} */
	static const uint8_t pcr_resp[] = { 0xa1, 0x6b, 'D', 'e', 's', 'c', 'r', 'i', 'b', 'e', 'P', 'C', 'R',
					    0xa3, 0x64, 'd', 'a', 't', 'a', 0x41, 0x01,
					    0x64, 'l', 'o', 'c', 'k', 0xf5,
					    0x66, 'f', 'u', 't', 'u', 'r', 'e', 0x82, 0x01, 0xa0 };
	struct nsm_req q = { .op = NSM_OP_DESCRIBE_NSM };
	struct nsm_resp r;
	uint8_t buf[64];
	size_t n;

	cr_assert_eq(nsm_req_encode(&q, buf, sizeof(buf), &n), 0);
	cr_expect(n == sizeof(describe) && !memcmp(buf, describe, n));
	q = (struct nsm_req){ .op = NSM_OP_LOCK_PCR, .index = 3 };
	cr_assert_eq(nsm_req_encode(&q, buf, sizeof(buf), &n), 0);
	cr_expect(n == sizeof(lock3) && !memcmp(buf, lock3, n));
	cr_assert_eq(nsm_resp_decode(pcr_resp, sizeof(pcr_resp), NSM_OP_DESCRIBE_PCR, &r), 0);
	cr_expect(r.lock && r.data.len == 1 && r.data.ptr[0] == 1, "unknown field skipped");
	cr_expect_eq(nsm_resp_decode(pcr_resp, sizeof(pcr_resp) - 1, NSM_OP_DESCRIBE_PCR, &r), -1);
}
