/* Reading a document: file or stdin, raw CBOR, hex or base64; see att_input.h. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "lib/attestation/att_input.h"
#include "lib/core/parse.h"

static bool is_text(const uint8_t *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!(isprint(p[i]) || isspace(p[i])))
			return false;
	return true;
}

static bool all_hex(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!isxdigit((unsigned char)s[i]))
			return false;
	return n > 0 && n % 2 == 0;
}

/* Canonicalises base64 in place (URL-safe to standard alphabet, padding
 * restored) and decodes it. '=' may only end the text. */
static int from_base64(char *s, size_t n, uint8_t *out, size_t *out_len)
{
	size_t i, pad = 0, body;
	int len;

	while (n > 0 && s[n - 1] == '=') {
		n--;
		pad++;
	}
	if (pad > 2 || n == 0)
		return -1;
	for (i = 0; i < n; i++) {
		if (s[i] == '-')
			s[i] = '+';
		else if (s[i] == '_')
			s[i] = '/';
		else if (!isalnum((unsigned char)s[i]) && s[i] != '+' && s[i] != '/')
			return -1;
	}
	body = n;
	if (body % 4 == 1)
		return -1;
	pad = (4 - body % 4) % 4;
	for (i = 0; i < pad; i++)
		s[n + i] = '=';
	n += pad;
	len = EVP_DecodeBlock(out, (const unsigned char *)s, (int)n);
	if (len < 0)
		return -1;
	*out_len = (size_t)len - pad;
	return 0;
}

int att_decode_input(const uint8_t *in, size_t len, uint8_t **out, size_t *out_len, char *err,
		      size_t errlen)
{
	char *text;
	size_t i, n = 0;
	int rc = 0;

	if (len == 0) {
		snprintf(err, errlen, "empty input");
		return -1;
	}
	/* Raw CBOR: anything that is not plain text (a COSE_Sign1 starts 0x84,
	 * or 0xd2 with tag 18), handed to the parser as is. */
	if (in[0] == 0x84 || in[0] == 0xd2 || !is_text(in, len)) {
		*out = malloc(len);
		if (!*out) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
		memcpy(*out, in, len);
		*out_len = len;
		return 0;
	}
	/* +3: room for restored base64 padding; decoding never grows the data
	 * by more than that. */
	text = malloc(len + 4);
	*out = malloc(len + 4);
	if (!text || !*out) {
		free(text);
		free(*out);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	for (i = 0; i < len; i++)
		if (!isspace(in[i]))
			text[n++] = (char)in[i];
	text[n] = 0;
	if ((n > 2 && text[0] == '0' && (text[1] == 'x' || text[1] == 'X') &&
	     all_hex(text + 2, n - 2)) ||
	    all_hex(text, n)) {
		rc = parse_hex(text, *out, len, out_len, err, errlen);
	} else if (from_base64(text, n, *out, out_len) < 0) {
		snprintf(err, errlen, "not CBOR, hex or base64");
		rc = -1;
	}
	free(text);
	if (rc < 0) {
		free(*out);
		*out = NULL;
	}
	return rc;
}

/* Reads at most ATT_INPUT_MAX bytes; one more means the input is too big. */
static int read_all(int fd, uint8_t *buf, size_t cap, size_t *len)
{
	size_t n = 0;
	ssize_t r;

	while (n < cap) {
		r = read(fd, buf + n, cap - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -1;
		if (r == 0)
			break;
		n += (size_t)r;
	}
	*len = n;
	return 0;
}

int att_read_input(const char *path, uint8_t **out, size_t *out_len, char *err, size_t errlen)
{
	int fd = strcmp(path, "-") == 0 ? STDIN_FILENO : open(path, O_RDONLY | O_CLOEXEC);
	uint8_t *buf;
	size_t len;
	int rc;

	if (fd < 0) {
		snprintf(err, errlen, "'%s': %s", path, strerror(errno));
		return -1;
	}
	buf = malloc(ATT_INPUT_MAX + 1);
	if (!buf) {
		snprintf(err, errlen, "out of memory");
		rc = -1;
	} else if (read_all(fd, buf, ATT_INPUT_MAX + 1, &len) < 0) {
		snprintf(err, errlen, "'%s': %s", path, strerror(errno));
		rc = -1;
	} else if (len > ATT_INPUT_MAX) {
		snprintf(err, errlen, "'%s': larger than %u bytes", path, ATT_INPUT_MAX);
		rc = -1;
	} else {
		rc = att_decode_input(buf, len, out, out_len, err, errlen);
		if (rc < 0) {
			/* Prefix the name without losing the reason. */
			char why[128];

			snprintf(why, sizeof(why), "%s", err);
			snprintf(err, errlen, "'%s': %s", path, why);
		}
	}
	free(buf);
	if (fd != STDIN_FILENO)
		close(fd);
	return rc;
}
