/* The SigV4 check of seal kms-server; internal to the seal program. */
#ifndef NEK_SEAL_KMS_SRV_AUTH_H
#define NEK_SEAL_KMS_SRV_AUTH_H

#include <time.h>

#include "lib/secrets/sigv4.h"
#include "seal/kms_srv.h"

/* The principal whose secret signed r (headers as received; payload_hash
 * set), or NULL with f: missing/malformed Authorization, wrong service,
 * host or x-amz-date unsigned, a date more than 15 minutes off, an unknown
 * access key, a wrong signature or session token. */
const struct kms_principal *kms_auth_check(const struct kms_principals *ps,
					   const struct sigv4_request *r, time_t now,
					   struct kms_fault *f);

#endif
