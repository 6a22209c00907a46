/* Reading an attestation document given by a user or a peer: a file or
 * stdin holding raw CBOR, hex or base64, detected from the bytes. */
#ifndef NEK_ATT_INPUT_H
#define NEK_ATT_INPUT_H

#include <stddef.h>
#include <stdint.h>

#define ATT_INPUT_MAX (1u << 20)

/* Raw CBOR (anything that is not printable text, or starts with 0x84 or
 * 0xd2) is kept as is; text is decoded as hex when it is only hex digits
 * (optional 0x), else as base64 (standard or URL-safe, padding optional);
 * whitespace is ignored. *out is malloc'd. Returns 0, or -1 with a one-line
 * reason in err. */
int att_decode_input(const uint8_t *in, size_t len, uint8_t **out, size_t *out_len, char *err,
		     size_t errlen);
/* Reads path ("-" for stdin; at most ATT_INPUT_MAX bytes) and decodes it. */
int att_read_input(const char *path, uint8_t **out, size_t *out_len, char *err, size_t errlen);

#endif
