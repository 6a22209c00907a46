/* The attestation step of the handshake (docs/slc-protocol.md §5.3): the
 * server asks the NSM (or its emulator) for a document binding its ephemeral
 * key to the client's hello; the client verifies it with lib/att_verify. */
#include "slc/attest.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "lib/attestation/att_verify.h"
#include "lib/core/log.h"
#include "lib/attestation/nsm.h"
#include "slc/crypto.h"

static void binding(const uint8_t chello[SLC_CHELLO_LEN], uint8_t ud[4 + 32]);

int slc_attest_open(void **out, const char *nsm_dev, const char *emu_dir, char *err,
		    size_t errlen)
{
	char spec[4200];

	if (emu_dir)
		snprintf(spec, sizeof(spec), "emu:%s", emu_dir);
	else
		snprintf(spec, sizeof(spec), "%s", nsm_dev ? nsm_dev : NSM_DEV_DEFAULT);
	*out = nsm_open(spec, err, errlen);
	if (*out && emu_dir)
		log_warn("attesting with the NSM emulator in '%s': clients must trust its root "
			 "(--trust-root %s/root.pem)", emu_dir, emu_dir);
	return *out ? 0 : -1;
}

void slc_attest_close(void *a)
{
	if (a)
		nsm_close(a);
}

int slc_attest_doc(void *a, const uint8_t key[SLC_KEY_LEN],
		   const uint8_t chello[SLC_CHELLO_LEN], uint8_t *doc, size_t *len)
{
	uint8_t ud[36];
	struct nsm_attest_in in;
	int r;

	binding(chello, ud);
	in.nonce = (struct att_bytes){ chello + 40, SLC_NONCE_LEN };
	in.user_data = (struct att_bytes){ ud, sizeof(ud) };
	in.public_key = (struct att_bytes){ key, SLC_KEY_LEN };
	r = nsm_attest(a, &in, doc, SLC_DOC_MAX, len);
	if (r < 0)
		log_error("attestation document: %s", nsm_strerror(r));
	return r < 0 ? -1 : 0;
}

/* user_data = "slc1" || SHA-256(client hello) */
static void binding(const uint8_t chello[SLC_CHELLO_LEN], uint8_t ud[4 + 32])
{
	memcpy(ud, "slc1", 4);
	slc_sha256(chello, SLC_CHELLO_LEN, NULL, 0, ud + 4);
}

/* The PCRs of p into pol; entries that are not Nitro PCRs are left out, and
 * the first of them is returned (-1: none). */
static int put_pcrs(const struct slc_policy *p, struct att_policy *pol)
{
	int bad = -1;
	unsigned i;

	for (i = 0; i < p->npcr; i++) {
		if (p->pcr[i].idx >= ATT_PCR_COUNT || p->pcr[i].len != ATT_PCR_LEN) {
			if (bad < 0)
				bad = (int)i;
			continue;
		}
		pol->pcr_mask |= 1u << p->pcr[i].idx;
		memcpy(pol->pcr[p->pcr[i].idx], p->pcr[i].val, ATT_PCR_LEN);
	}
	return bad;
}

bool slc_policy_pins_image(const struct slc_policy *p)
{
	struct att_policy pol = { 0 };

	put_pcrs(p, &pol);
	return att_policy_pins_image(&pol);
}

int slc_attest_verify(const struct slc_policy *p, const uint8_t *doc, size_t len,
		      const uint8_t key[SLC_KEY_LEN], const uint8_t chello[SLC_CHELLO_LEN],
		      char *err, size_t errlen)
{
	struct att_policy pol = { .allow_debug = p->allow_debug };
	struct att_verifier *v;
	struct att_err ae = { 0 };
	uint8_t ud[36];
	int r, bad;

	v = p->trust_root ? att_verifier_new_file(p->trust_root, 0, &ae)
			  : att_verifier_new(NULL, 0, 0, &ae);
	if (!v) {
		snprintf(err, errlen, "attestation root: %s", ae.msg);
		return -1;
	}
	bad = put_pcrs(p, &pol);
	if (bad >= 0) {
		snprintf(err, errlen, "--pcr %u: Nitro PCRs are %d bytes", p->pcr[bad].idx,
			 ATT_PCR_LEN);
		att_verifier_free(v);
		return -1;
	}
	binding(chello, ud);
	pol.nonce = (struct att_bytes){ chello + 40, SLC_NONCE_LEN };
	pol.user_data = (struct att_bytes){ ud, sizeof(ud) };
	pol.public_key = (struct att_bytes){ key, SLC_KEY_LEN };
	r = att_verify(v, doc, len, (int64_t)time(NULL), &pol, NULL, &ae);
	if (r < 0)
		snprintf(err, errlen, "server attestation refused: %s", ae.msg);
	att_verifier_free(v);
	return r < 0 ? -1 : 0;
}
