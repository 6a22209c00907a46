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
/* The capsule of the header's last umbral stanza, the tip of a hop chain
 * (for a proxy to re-encrypt), with its public key. */
int age_umbral_capsule(const struct age_header *h, struct umb_capsule *c, struct umb_pk *pk_a,
		       char *err, size_t errlen);

/* One umbral stanza's key and capsule; -1 for a malformed stanza. */
int age_umbral_stanza(const struct age_stanza *s, struct umb_pk *pk, struct umb_capsule *c,
		      char *err, size_t errlen);

/* ---------------------------------------------------------------- hops (docs/umbral-hops.md) */
#define AGE_UMBRAL_HOP_MAX 64
#define AGE_UMBRAL_HOP_LEN (4 + 2 * UMB_POINT_LEN + UMB_SIG_LEN)

struct age_umbral_hop {
	unsigned n;
	struct umb_pk from, to;
	uint8_t sig[UMB_SIG_LEN];
};

/* The chain check. keys (may be NULL) gets up to max keys from A to the
 * tip, *n their count (0: no umbral stanza). -1 with "umbral hop chain: ..."
 * for a chain that does not verify. */
int age_umbral_chain(const struct age_header *h, struct umb_pk *keys, size_t max, size_t *n,
		     char *err, size_t errlen);
/* The next hop's record for this header, signed by the tip's key. */
int age_umbral_hop_sign(const struct age_header *h, const struct umb_sk *from,
			const struct umb_pk *to, struct age_umbral_hop *out, char *err,
			size_t errlen);
/* 0 when hop is the valid next hop of h. */
int age_umbral_hop_check(const struct age_header *h, const struct age_umbral_hop *hop,
			 char *err, size_t errlen);
int age_umbral_hop_stanza(const struct age_umbral_hop *hop, struct age_stanza *out, char *err,
			  size_t errlen);
/* The record as a file: u32be N || PK_FROM || PK_TO || SIG. */
size_t age_umbral_hop_bytes(const struct age_umbral_hop *hop, uint8_t out[AGE_UMBRAL_HOP_LEN]);
int age_umbral_hop_parse(const uint8_t *b, size_t n, struct age_umbral_hop *hop, char *err,
			 size_t errlen);

#endif
