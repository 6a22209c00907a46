/* The age payload: a 16-byte nonce, then STREAM of 64 KiB ChaCha20-Poly1305
 * chunks under HKDF(file key, nonce, "payload"), sealed and opened on all
 * cores with the output kept in order. Memory is bounded by the batch. */
#ifndef NEK_SECRETS_AGE_STREAM_H
#define NEK_SECRETS_AGE_STREAM_H

#include <stddef.h>
#include <stdint.h>

#include "lib/secrets/age.h"
#include "lib/secrets/age_io.h"

#define AGE_CHUNK 65536
#define AGE_TAG 16

/* threads 0: one per CPU. Writes the nonce and every chunk to out. */
int age_stream_encrypt(struct age_src *in, struct age_sink *out,
		       const uint8_t fk[AGE_FILE_KEY_LEN], int threads, char *err, size_t errlen);

/* Reads the nonce and the chunks from in, writes the plaintext of every
 * chunk that opened, in order, up to the first that did not. -1 with err
 * naming the chunk ("chunk N: ...", N counted from 0) on a bad one. */
int age_stream_decrypt(struct age_src *in, struct age_sink *out,
		       const uint8_t fk[AGE_FILE_KEY_LEN], int threads, char *err, size_t errlen);

#endif
