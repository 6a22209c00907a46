/* The age recipient type "umbral" (docs/age.md): the file key in an Umbral
 * capsule to the delegating key, opened by its owner or, through proxies'
 * cfrags, by a receiver. */
#ifndef NEK_SECRETS_AGE_UMBRAL_H
#define NEK_SECRETS_AGE_UMBRAL_H

#include "lib/secrets/age.h"
#include "lib/secrets/umbral.h"

#define AGE_UMBRAL_BODY_LEN (UMB_CAPSULE_LEN + AGE_FILE_KEY_LEN + UMB_DEM_OVERHEAD)

/* The owner's identity: opens stanzas whose PK_A is sk's public key. */
int age_umbral_identity_owner(const struct umb_sk *sk, struct age_identity *id, char *err,
			      size_t errlen);
/* A receiver's identity: sk_b, the kfrag signer's key, and candidate cfrags
 * (those that do not verify for a stanza are ignored for it). */
int age_umbral_identity_receiver(const struct umb_sk *sk_b, const struct umb_pk *pk_s,
				 const struct umb_cfrag *cf, size_t n, struct age_identity *id,
				 char *err, size_t errlen);
/* The capsule of the header's first umbral stanza (for a proxy to
 * re-encrypt), with its PK_A. */
int age_umbral_capsule(const struct age_header *h, struct umb_capsule *c, struct umb_pk *pk_a,
		       char *err, size_t errlen);

#endif
