/* libFuzzer target: what seal state restore reads before and after KMS has
 * vouched for it. The kms stanza parser (a header from the host): any
 * input ends in a clean error or a context whose canonical text is exactly
 * the stanza's bytes. The archive reader (the decrypted payload): entries
 * outside the three types or names with '..' or a leading '/' end in an
 * error, and nothing is ever written outside the target directory. */
#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <fcntl.h>
#include <unistd.h>

#include "lib/secrets/age.h"
#include "lib/secrets/age_kms.h"
#include "lib/secrets/b64.h"
#include "seal/state.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_stanzas(const uint8_t *data, size_t size)
{
	struct age_header h;
	char err[256];
	size_t used;

	if (age_header_parse(data, size, &h, &used, err, sizeof(err)) != 0)
		return;
	for (size_t i = 0; i < h.n; i++) {
		const char *keyid;
		json_t *ctx;
		char *text, *b;
		if (strcmp(h.st[i].args[0], "kms") != 0 ||
		    age_kms_stanza_parse(&h.st[i], &keyid, &ctx, err, sizeof(err)) < 0)
			continue;
		text = age_kms_ctx_text(ctx);
		b = text ? malloc(b64_raw_len(strlen(text)) + 1) : NULL;
		if (!b)
			abort();
		b64_raw_encode((const uint8_t *)text, strlen(text), b);
		if (strcmp(b, h.st[i].args[2]) != 0)
			abort();
		free(b);
		free(text);
		json_decref(ctx);
	}
	age_header_free(&h);
}

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *f)
{
	(void)st, (void)f;
	/* Directories only, as nftw reached them (FTW_PHYS): chmod follows a
	 * symlink, and the fuzzer's archives hold links to /etc and the like.
	 * An earlier version chmodded every entry and so set the machine's
	 * /etc to 0700. */
	if (flag == FTW_DP)
		chmod(p, 0700);
	(void)remove(p);
	return 0;
}

static void check_archive(const uint8_t *data, size_t size)
{
	static char base[] = "/tmp/fuzz_state.XXXXXX";
	static int ready;
	char err[512], dest[64];
	int fd = memfd_create("archive", MFD_CLOEXEC), dfd;
	struct stat st;

	if (!ready && !mkdtemp(base))
		abort();
	ready = 1;
	snprintf(dest, sizeof(dest), "%s/t", base);
	if (fd < 0 || write(fd, data, size) != (ssize_t)size || lseek(fd, 0, SEEK_SET) != 0 ||
	    mkdir(dest, 0700) < 0 || (dfd = open(dest, O_RDONLY | O_DIRECTORY)) < 0)
		abort();
	(void)state_tar_extract(fd, dfd, err, sizeof(err));
	close(dfd);
	close(fd);
	nftw(dest, rm_one, 16, FTW_PHYS | FTW_DEPTH);
	/* Only t/ may ever have held anything. */
	if (lstat(dest, &st) == 0 || rmdir(base) < 0 || mkdir(base, 0700) < 0)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	check_stanzas(data, size);
	check_archive(data, size);
	return 0;
}
