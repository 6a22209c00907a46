/* The attestation step of the handshake. The attestation library (branch
 * attest) is not on main yet: until it is, attestation is refused with a
 * clear message and servers prove themselves with --key. */
#include "slc/attest.h"

#include <errno.h>
#include <stdio.h>

int slc_attest_open(void **out, const char *nsm_dev, const char *emu_dir, char *err,
		    size_t errlen)
{
	(void)nsm_dev;
	(void)emu_dir;
	*out = NULL;
	snprintf(err, errlen, "attestation (--nsm, --emu) is not available in this build; "
			      "use --key");
	return -1;
}

void slc_attest_close(void *a)
{
	(void)a;
}

int slc_attest_doc(void *a, const uint8_t key[SLC_KEY_LEN],
		   const uint8_t chello[SLC_CHELLO_LEN], uint8_t *doc, size_t *len)
{
	(void)a;
	(void)key;
	(void)chello;
	(void)doc;
	*len = 0;
	return -ENOSYS;
}

int slc_attest_verify(const struct slc_policy *p, const uint8_t *doc, size_t len,
		      const uint8_t key[SLC_KEY_LEN], const uint8_t chello[SLC_CHELLO_LEN],
		      char *err, size_t errlen)
{
	(void)p;
	(void)doc;
	(void)len;
	(void)key;
	(void)chello;
	snprintf(err, errlen, "cannot verify attestation documents in this build");
	return -1;
}
