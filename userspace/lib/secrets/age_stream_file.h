/* The age payload between two regular files, at offsets: every worker
 * reads its own chunks with pread, seals or opens them in its own small
 * buffer and writes them with pwrite where they belong (chunk N of the
 * ciphertext at N * (64 KiB + 16)), so the copies to and from the page
 * cache run on all cores too, and the data stays in each core's cache.
 * Same output, same refusals and the same plaintext released before a bad
 * chunk as the streaming path (age_stream.c), which takes everything else. */
#ifndef NEK_SECRETS_AGE_STREAM_FILE_H
#define NEK_SECRETS_AGE_STREAM_FILE_H

#include <stddef.h>
#include <stdint.h>

#include "lib/secrets/age_io.h"

/* Chunks a worker takes at a time: 4 x 64 KiB in and out of one buffer
 * that fits in a core's L2 cache. */
#define AGE_FILE_GROUP 4

/* 1: in and out are not both regular binary files, nothing done, use the
 * streaming path. 0: done. -1: failed, err naming the chunk as
 * age_stream_decrypt does, out holding exactly the plaintext of the chunks
 * before it. key is the payload key; in is at the first chunk. */
int age_stream_file(struct age_src *in, struct age_sink *out, const uint8_t key[32], int enc,
		    int threads, char *err, size_t errlen);

#endif
