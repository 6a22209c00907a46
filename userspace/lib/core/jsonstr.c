/* JSON string literals; see jsonstr.h. */
#include "lib/core/jsonstr.h"

#include <stdlib.h>
#include <string.h>

#include "lib/core/utf8.h"

static const char *short_escape(unsigned char c)
{
	switch (c) {
	case '"': return "\\\"";
	case '\\': return "\\\\";
	case '\b': return "\\b";
	case '\f': return "\\f";
	case '\n': return "\\n";
	case '\r': return "\\r";
	case '\t': return "\\t";
	default: return NULL;
	}
}

void json_str_write(FILE *f, const char *str, size_t len)
{
	const unsigned char *s = (const unsigned char *)str;
	const char *e;
	size_t i = 0, n;

	fputc('"', f);
	while (i < len) {
		if ((e = short_escape(s[i])) != NULL) {
			fputs(e, f);
			i++;
		} else if (s[i] < 0x20) {
			fprintf(f, "\\u%04x", s[i++]);
		} else if ((n = utf8_seq_len(s + i, len - i)) == 0) {
			fputs("\\ufffd", f);
			i++;
		} else {
			fwrite(s + i, 1, n, f);
			i += n;
		}
	}
	fputc('"', f);
}

void json_str_put(FILE *f, const char *s)
{
	if (!s)
		fputs("null", f);
	else
		json_str_write(f, s, strlen(s));
}

char *json_str_dup(const char *s)
{
	char *buf = NULL;
	size_t n = 0;
	FILE *f = open_memstream(&buf, &n);

	if (!f)
		return NULL;
	json_str_put(f, s);
	if (fclose(f) != 0) {
		free(buf);
		return NULL;
	}
	return buf;
}
