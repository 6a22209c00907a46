/* The NSM emulator's certificate authority and its files; internal to
 * nsm_emu.c. Layout and names: docs/attestation.md section 4. */
#ifndef NEK_NSM_EMU_CA_H
#define NEK_NSM_EMU_CA_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#define EMU_REGION "emu-region-1"
#define EMU_LEAF_LIFETIME (3 * 3600)
/* Issue a new leaf when less than this is left. */
#define EMU_LEAF_MARGIN 300

/* Creates root, regional, zonal and instance certificates (fresh P-384
 * keys) and writes DIR/root.pem, DIR/cabundle.pem and DIR/instance.key;
 * instance_id ("i-" and 17 hex digits) names the instance certificate.
 * Returns 0, or -1 with a reason in err. */
int emu_ca_create(const char *dir, const char *instance_id, char *err, size_t errlen);

/* A new enclave leaf for module_id, valid from now - 60 s for
 * EMU_LEAF_LIFETIME, signed by the instance CA; written to DIR/leaf.pem and
 * DIR/leaf.key. Returns 0 or -1. */
int emu_ca_issue_leaf(const char *dir, X509 *instance, EVP_PKEY *instance_key,
		      const char *module_id, int64_t now, char *err, size_t errlen);

/* Writes len bytes to DIR/name through a temporary file and rename, so
 * readers see the old or the new content, never a mix. */
int emu_write_file(const char *dir, const char *name, const void *data, size_t len, int mode);

/* n random bytes as lower-case hex (2n + 1 bytes into out). */
int emu_random_hex(char *out, size_t n);

#endif
