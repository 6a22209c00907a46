/* Umbral's DEM (internal): HKDF-SHA256 of the 33-byte seed point, then
 * XChaCha20-Poly1305, ct = nonce || ciphertext || tag (docs/umbral.md). */
#ifndef NEK_UMBRAL_DEM_H
#define NEK_UMBRAL_DEM_H

#include "lib/secrets/umbral.h"

/* ct receives ptlen + UMB_DEM_OVERHEAD bytes. */
int umb_dem_encrypt(const uint8_t seed[UMB_POINT_LEN], const uint8_t *aad, size_t aadlen,
		    const uint8_t *pt, size_t ptlen, uint8_t *ct);
/* pt receives ctlen - UMB_DEM_OVERHEAD bytes. */
int umb_dem_decrypt(const uint8_t seed[UMB_POINT_LEN], const uint8_t *aad, size_t aadlen,
		    const uint8_t *ct, size_t ctlen, uint8_t *pt, char *err, size_t errlen);

#endif
