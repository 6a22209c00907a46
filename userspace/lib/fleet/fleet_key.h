/* Paths and names as NATS key tokens: the reversible codec of docs/fleet.md
 * section 2, and the key of a record. */
#ifndef NEK_FLEET_KEY_H
#define NEK_FLEET_KEY_H

#include <stdbool.h>
#include <stddef.h>

#define FLEET_IN_MAX 4096   /* longest input the codec takes */
#define FLEET_ENC_MAX 1024  /* longest escaped token; longer ones are hashed */
#define FLEET_TOKEN_MAX 1024 /* longest token ENC writes (hashed: 66) */
/* A record key: module id token, PCR0 hex, path token, two dots. */
#define FLEET_KEY_MAX (2 * FLEET_TOKEN_MAX + 128 + 3)

/* Encodes in (1..FLEET_IN_MAX bytes) into out (cap >= FLEET_TOKEN_MAX + 1,
 * NUL-terminated). Returns the token length, or -1 for an empty or too long
 * input or a small buffer. */
int fleet_key_encode(const void *in, size_t len, char *out, size_t cap);

/* Decodes a token into out (cap bytes, not NUL-terminated). Returns the
 * length, -2 for a hashed token (not reversible: read the path from the
 * value), -1 for a token that ENC does not produce. */
int fleet_key_decode(const char *tok, size_t len, void *out, size_t cap);

/* True when s is a key NATS accepts as it is (its validKey rule). */
bool fleet_key_valid(const char *s, size_t len);

/* The record key ENC(module_id).pcr0hex.ENC(path) into out (cap >=
 * FLEET_KEY_MAX). Returns its length or -1. */
int fleet_record_key(const char *module_id, const char *pcr0_hex, const void *path, size_t plen,
		     char *out, size_t cap);

/* Splits a record key into its three tokens; returns 0 or -1 when it does
 * not have three non-empty ones. */
struct fleet_key_parts {
	const char *enclave, *image, *path;
	size_t enclave_len, image_len, path_len;
};
int fleet_record_key_split(const char *key, size_t len, struct fleet_key_parts *out);

#endif
