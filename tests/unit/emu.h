/* A throwaway NSM emulator directory for unit tests (each test makes its
 * own CA: no key is ever committed). */
#ifndef NEK_TEST_EMU_H
#define NEK_TEST_EMU_H

#define _XOPEN_SOURCE_EXTENDED 1
#include <criterion/criterion.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "lib/attestation/nsm.h"
#include "lib/attestation/nsm_emu.h"

static inline char *emu_make(const struct nsm_emu_config *cfg)
{
	static const struct nsm_emu_config none;
	const char *tmp = getenv("TMPDIR");
	char *dir = malloc(4096), err[512];

	cr_assert(dir);
	snprintf(dir, 4096, "%s/emu.XXXXXX", tmp && *tmp ? tmp : "/tmp");
	cr_assert(mkdtemp(dir), "mkdtemp %s", dir);
	cr_assert_eq(nsm_emu_init(dir, cfg ? cfg : &none, err, sizeof(err)), 0, "%s", err);
	return dir;
}

static inline int emu_rm_one(const char *p, const struct stat *st, int flag, struct FTW *f)
{
	(void)st;
	(void)flag;
	(void)f;
	return remove(p);
}

static inline void emu_remove(char *dir)
{
	nftw(dir, emu_rm_one, 8, FTW_DEPTH | FTW_PHYS);
	free(dir);
}

static inline struct nsm *emu_open(const char *dir)
{
	char spec[4200], err[512];
	struct nsm *h;

	snprintf(spec, sizeof(spec), "emu:%s", dir);
	h = nsm_open(spec, err, sizeof(err));
	cr_assert(h, "%s", err);
	return h;
}

#endif
