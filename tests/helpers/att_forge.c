/* att_forge EMU_DIR MUTATION: a document from the emulator in EMU_DIR,
 * changed as named and signed again with the emulator's leaf key, so only
 * the change can make it fail. Raw CBOR on stdout. For
 * tests/host/attest_hostile.sh.
 *
 *   swap     cabundle[1] and cabundle[2] exchanged
 *   noroot   cabundle without cabundle[0]
 *   dupe     the instance certificate twice at the end of cabundle
 *   leafca   the instance certificate as the signing certificate
 *   tagged   the same document with CBOR tag 18
 *   old      timestamp 6 hours before the leaf's validity
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/pem.h>

#include "lib/attestation/att_doc.h"
#include "lib/attestation/nsm.h"

static uint8_t doc[ATT_DOC_MAX], payload[ATT_DOC_MAX], out[ATT_DOC_MAX];

static int die(const char *msg)
{
	fprintf(stderr, "att_forge: %s\n", msg);
	return 2;
}

static int mutate(struct att_doc *d, const char *m, bool *tagged)
{
	struct att_bytes t;

	if (strcmp(m, "swap") == 0) {
		t = d->cabundle[1];
		d->cabundle[1] = d->cabundle[2];
		d->cabundle[2] = t;
	} else if (strcmp(m, "noroot") == 0) {
		memmove(&d->cabundle[0], &d->cabundle[1], (d->n_cabundle - 1) * sizeof(t));
		d->n_cabundle--;
	} else if (strcmp(m, "dupe") == 0) {
		d->cabundle[d->n_cabundle] = d->cabundle[d->n_cabundle - 1];
		d->n_cabundle++;
	} else if (strcmp(m, "leafca") == 0) {
		d->certificate = d->cabundle[d->n_cabundle - 1];
		d->n_cabundle--;
	} else if (strcmp(m, "tagged") == 0) {
		*tagged = true;
	} else if (strcmp(m, "old") == 0) {
		d->timestamp_ms -= 6 * 3600 * 1000ULL;
	} else {
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	char spec[4200], err[512], path[4200];
	struct att_doc d;
	struct att_err aerr;
	struct nsm *h;
	EVP_PKEY *key;
	FILE *kf;
	size_t n, pn;
	bool tagged = false;

	if (argc != 3)
		return die("usage: att_forge EMU_DIR swap|noroot|dupe|leafca|tagged|old");
	snprintf(spec, sizeof(spec), "emu:%s", argv[1]);
	h = nsm_open(spec, err, sizeof(err));
	if (!h)
		return die(err);
	if (nsm_attest(h, NULL, doc, sizeof(doc), &n) < 0 || att_doc_parse(doc, n, &d, &aerr) < 0)
		return die("no document from the emulator");
	nsm_close(h);
	snprintf(path, sizeof(path), "%s/leaf.key", argv[1]);
	kf = fopen(path, "r");
	key = kf ? PEM_read_PrivateKey(kf, NULL, NULL, NULL) : NULL;
	if (kf)
		fclose(kf);
	if (!key)
		return die("cannot read the leaf key");
	if (mutate(&d, argv[2], &tagged) < 0)
		return die("unknown mutation");
	if (att_doc_encode_payload(&d, payload, sizeof(payload), &pn) < 0 ||
	    cose_es384_sign(key, payload, pn, tagged, out, sizeof(out), &n) < 0)
		return die("cannot sign");
	EVP_PKEY_free(key);
	return fwrite(out, 1, n, stdout) == n ? 0 : 1;
}
