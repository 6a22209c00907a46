/* slc crypto: the record layer, the key schedule, identities, and path
 * confinement. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>
#include <unistd.h>

#include "slc/confine.h"
#include "slc/crypto.h"
#include "slc/digest.h"

Test(slc_crypto, aead_roundtrip_and_tamper)
{
	uint8_t key[32] = { 1 }, iv[12] = { 2 }, buf[1000 + 16], orig[1000];
	struct slc_aead tx, rx;

	memset(orig, 0x5a, sizeof(orig));
	cr_assert_eq(slc_aead_init(&tx, key, iv, 1), 0);
	cr_assert_eq(slc_aead_init(&rx, key, iv, 0), 0);
	memcpy(buf, orig, sizeof(orig));
	cr_assert_eq(slc_aead_seal(&tx, buf, sizeof(orig)), 0);
	cr_assert_neq(memcmp(buf, orig, sizeof(orig)), 0);
	cr_assert_eq(slc_aead_open(&rx, buf, sizeof(buf)), (long)sizeof(orig));
	cr_assert_eq(memcmp(buf, orig, sizeof(orig)), 0);
	/* The next record uses the next nonce: a replay of record 0 fails. */
	memcpy(buf, orig, sizeof(orig));
	slc_aead_seal(&tx, buf, sizeof(orig));
	buf[10] ^= 1;
	cr_assert_eq(slc_aead_open(&rx, buf, sizeof(buf)), -1, "tampered record accepted");
	slc_aead_free(&tx);
	slc_aead_free(&rx);
}

Test(slc_crypto, key_schedule_agrees)
{
	struct slc_kx a, b;
	struct slc_keys ka, kb;
	uint8_t th[32] = { 9 }, zero[32] = { 0 };

	cr_assert_eq(slc_kx_new(&a), 0);
	cr_assert_eq(slc_kx_new(&b), 0);
	cr_assert_eq(slc_kx_derive(&a, b.pub, th, 1, &ka), 0);
	cr_assert_eq(slc_kx_derive(&b, a.pub, th, 0, &kb), 0);
	cr_assert_eq(memcmp(ka.tx_key, kb.rx_key, 32), 0);
	cr_assert_eq(memcmp(ka.rx_iv, kb.tx_iv, 12), 0);
	cr_assert_neq(memcmp(ka.tx_key, ka.rx_key, 32), 0);
	/* A low-order (all-zero) peer key gives a zero secret: refused. */
	cr_assert_eq(slc_kx_derive(&a, zero, th, 1, &ka), -1);
	slc_kx_free(&a);
	slc_kx_free(&b);
}

Test(slc_crypto, identities)
{
	char dir[] = "/tmp/slc-unit-XXXXXX", path[128], pubpath[140], err[256], line[128];
	uint8_t pub[32], pub2[32], th[32] = { 3 }, sig[64];
	struct slc_authkeys ak;
	EVP_PKEY *k;
	FILE *f;
	struct stat st;

	cr_assert_not_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/id", dir);
	snprintf(pubpath, sizeof(pubpath), "%s/id.pub", dir);
	cr_assert_eq(slc_keygen(path, "me@here", 0, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(slc_keygen(path, "me@here", 0, err, sizeof(err)), -1, "overwrote a key");
	cr_assert_eq(stat(path, &st), 0);
	cr_assert_eq(st.st_mode & 0777, 0600);
	k = slc_key_load(path, err, sizeof(err));
	cr_assert_not_null(k, "%s", err);
	cr_assert_eq(slc_key_pub(k, pub), 0);
	cr_assert_eq(slc_pub_load(pubpath, pub2, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(memcmp(pub, pub2, 32), 0);
	cr_assert_eq(slc_key_sign(k, "slc1 client auth", th, sig), 0);
	cr_assert_eq(slc_sig_verify(pub, "slc1 client auth", th, sig), 0);
	cr_assert_eq(slc_sig_verify(pub, "slc1 server auth", th, sig), -1, "label ignored");
	th[0] ^= 1;
	cr_assert_eq(slc_sig_verify(pub, "slc1 client auth", th, sig), -1, "transcript ignored");
	/* authorized_keys: comments, blank lines, then a bad line. */
	snprintf(line, sizeof(line), "%s/ak", dir);
	f = fopen(line, "w");
	slc_pub_format(pub, err, sizeof(err));
	fprintf(f, "# comment\n\n%s me\n", err);
	fclose(f);
	cr_assert_eq(slc_authkeys_load(line, &ak, err, sizeof(err)), 0, "%s", err);
	cr_assert(slc_authkeys_has(&ak, pub));
	pub2[0] ^= 1;
	cr_assert(!slc_authkeys_has(&ak, pub2));
	slc_authkeys_free(&ak);
	f = fopen(line, "a");
	fprintf(f, "ssh-ed25519 AAAA x\n");
	fclose(f);
	cr_assert_eq(slc_authkeys_load(line, &ak, err, sizeof(err)), -1);
	cr_assert(strstr(err, "line 4"), "%s", err);
	cr_assert_eq(slc_pub_parse("slc-ed25519 AAAA", pub2), -1);
	EVP_PKEY_free(k);
	unlink(path);
	unlink(pubpath);
	unlink(line);
	rmdir(dir);
}

static size_t file_digest(uint8_t out[32], uint64_t size, unsigned n, const uint64_t *offs,
			  const char *const *data)
{
	struct slc_digest d;
	unsigned i;

	cr_assert_eq(slc_digest_init(&d, SLC_DG_XXH128), 0);
	for (i = 0; i < n; i++)
		slc_digest_data(&d, offs[i], data[i], strlen(data[i]));
	return slc_digest_end(&d, size, out);
}

Test(slc_crypto, digests)
{
	static const char *const one[] = { "abcdef" }, *const two[] = { "abc", "def" };
	uint8_t da[32], db[32];
	struct timespec t0, t1;
	struct slc_digest d_sha;

	/* How the data was cut into frames does not matter... */
	cr_assert_eq(file_digest(da, 10, 1, (uint64_t[]){ 2 }, one), 16);
	file_digest(db, 10, 2, (uint64_t[]){ 2, 5 }, two);
	cr_assert_eq(memcmp(da, db, 16), 0, "contiguous pieces are one run");
	/* ...where it sits, and the size, do. */
	file_digest(db, 10, 2, (uint64_t[]){ 2, 6 }, two);
	cr_assert_neq(memcmp(da, db, 16), 0, "a hole inside the data changes the digest");
	file_digest(db, 10, 1, (uint64_t[]){ 3 }, one);
	cr_assert_neq(memcmp(da, db, 16), 0, "data at another offset");
	file_digest(db, 11, 1, (uint64_t[]){ 2 }, one);
	cr_assert_neq(memcmp(da, db, 16), 0, "another size");
	/* A peer's size claim costs nothing: a 2^62-byte hole (audit: hashed
	 * zeros for years). */
	clock_gettime(CLOCK_MONOTONIC, &t0);
	file_digest(da, 1ull << 62, 1, (uint64_t[]){ (1ull << 62) - 6 }, one);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	cr_assert_lt(t1.tv_sec - t0.tv_sec, 2, "holes are not hashed");
	cr_assert_eq(slc_digest_init(&d_sha, SLC_DG_SHA256), 0);
	slc_digest_update(&d_sha, "abc", 3);
	cr_assert_eq(slc_digest_final(&d_sha, da), 32);
	cr_assert_eq(da[0], 0xba); /* SHA-256("abc") = ba7816bf... */
	cr_assert_eq(da[31], 0xad);
}

Test(slc_crypto, confinement)
{
	char dir[] = "/tmp/slc-conf-XXXXXX", p[256];
	int root, fd;

	cr_assert_not_null(mkdtemp(dir));
	snprintf(p, sizeof(p), "%s/in", dir);
	mkdir(p, 0755);
	snprintf(p, sizeof(p), "%s/in/up", dir);
	cr_assert_eq(symlink("..", p), 0);
	snprintf(p, sizeof(p), "%s/in/abs", dir);
	cr_assert_eq(symlink("/etc", p), 0);
	snprintf(p, sizeof(p), "%s/in", dir);
	root = open(p, O_PATH | O_DIRECTORY);
	cr_assert_geq(root, 0);
	/* BENEATH: nothing resolves outside. */
	cr_assert_eq(confine_open(root, "../in", O_PATH, 0), -EXDEV);
	cr_assert_eq(confine_open(root, "up/in", O_PATH, 0), -EXDEV);
	cr_assert_eq(confine_open(root, "abs/passwd", O_RDONLY, 0), -EXDEV);
	cr_assert_eq(confine_open(root, "/etc/passwd", O_RDONLY, 0), -EXDEV);
	/* IN_ROOT: absolute names and symlinks resolve as if root were "/". */
	cr_assert_eq(confine_open(root, "/abs/passwd", O_RDONLY, 1), -ENOENT);
	fd = confine_open(root, "/../../", O_PATH | O_DIRECTORY, 1);
	cr_assert_geq(fd, 0);
	close(fd);
	/* mkdirs creates below the root only. */
	fd = confine_mkdirs(root, "/x/y/z", 1);
	cr_assert_geq(fd, 0, "%s", strerror(-fd));
	close(fd);
	snprintf(p, sizeof(p), "%s/in/x/y/z", dir);
	cr_assert_eq(access(p, F_OK), 0);
	fd = confine_mkdirs(root, "abs/new", 1);
	cr_assert_lt(fd, 0, "created through a symlink to /etc");
	cr_assert_neq(access("/etc/new", F_OK), 0);
	close(root);
	snprintf(p, sizeof(p), "rm -rf '%s'", dir);
	cr_assert_eq(system(p), 0);
}

/* The attestation binding: a document made for one handshake verifies for
 * it and for nothing else (another key, another client hello). */
#include "lib/attestation/nsm_emu.h"
#include "slc/attest.h"

Test(slc_crypto, attestation_binding)
{
	char dir[] = "/tmp/slc-emu-XXXXXX", err[512], root[128], cmd[160];
	struct nsm_emu_config cfg = { .force = true };
	struct slc_policy pol = { 0 };
	uint8_t key[SLC_KEY_LEN] = { 1 }, other[SLC_KEY_LEN] = { 2 };
	uint8_t ch[SLC_CHELLO_LEN] = { 'S', 'L', 'C', 'c' }, ch2[SLC_CHELLO_LEN];
	static uint8_t doc[SLC_DOC_MAX];
	size_t len = 0;
	void *a = NULL;

	cr_assert_not_null(mkdtemp(dir));
	cr_assert_eq(nsm_emu_init(dir, &cfg, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(slc_attest_open(&a, NULL, dir, err, sizeof(err)), 0, "%s", err);
	memset(ch + 40, 0x33, SLC_NONCE_LEN);
	cr_assert_eq(slc_attest_doc(a, key, ch, doc, &len), 0);
	snprintf(root, sizeof(root), "%s/root.pem", dir);
	pol.trust_root = root;
	cr_assert_eq(slc_attest_verify(&pol, doc, len, key, ch, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(slc_attest_verify(&pol, doc, len, other, ch, err, sizeof(err)), -1,
		     "another key accepted");
	cr_assert(strstr(err, "public_key"), "%s", err);
	memcpy(ch2, ch, sizeof(ch));
	ch2[41] ^= 1;
	cr_assert_eq(slc_attest_verify(&pol, doc, len, key, ch2, err, sizeof(err)), -1,
		     "a replay to another client hello accepted");
	ch2[41] ^= 1;
	ch2[7] ^= 1; /* same nonce, other hello: user_data differs */
	cr_assert_eq(slc_attest_verify(&pol, doc, len, key, ch2, err, sizeof(err)), -1);
	cr_assert(strstr(err, "user_data"), "%s", err);
	pol.trust_root = NULL; /* the AWS root: the emulator is refused */
	cr_assert_eq(slc_attest_verify(&pol, doc, len, key, ch, err, sizeof(err)), -1);
	cr_assert(strstr(err, "root"), "%s", err);
	slc_attest_close(a);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	cr_assert_eq(system(cmd), 0);
}
