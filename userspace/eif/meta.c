/* The Metadata section: JSON byte-compatible with upstream's serde_json
 * output (compact, fixed key order, serde's string escapes). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eif/eif.h"

/* serde_json escapes '"', '\\', \b \f \n \r \t by name and every other
 * control character as \u00xx (lower-case hex); nothing else. */
static void put_str(FILE *f, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	fputc('"', f);
	for (; *p; p++) {
		switch (*p) {
		case '"': fputs("\\\"", f); break;
		case '\\': fputs("\\\\", f); break;
		case '\b': fputs("\\b", f); break;
		case '\f': fputs("\\f", f); break;
		case '\n': fputs("\\n", f); break;
		case '\r': fputs("\\r", f); break;
		case '\t': fputs("\\t", f); break;
		default:
			if (*p < 0x20)
				fprintf(f, "\\u%04x", *p);
			else
				fputc(*p, f);
		}
	}
	fputc('"', f);
}

char *eif_meta_json(const struct eif_meta *m, size_t *len)
{
	char *buf = NULL;
	size_t n = 0;
	FILE *f = open_memstream(&buf, &n);

	if (!f)
		return NULL;
	fputs("{\"ImageName\":", f);
	put_str(f, m->name);
	fputs(",\"ImageVersion\":", f);
	put_str(f, m->version);
	fputs(",\"BuildMetadata\":{\"BuildTime\":", f);
	put_str(f, m->build_time);
	fputs(",\"BuildTool\":", f);
	put_str(f, m->build_tool);
	fputs(",\"BuildToolVersion\":", f);
	put_str(f, m->build_tool_version);
	fputs(",\"OperatingSystem\":", f);
	put_str(f, m->os);
	fputs(",\"KernelVersion\":", f);
	put_str(f, m->kernel_version);
	fputs("},\"DockerInfo\":null,\"CustomMetadata\":null}", f);
	if (fclose(f) != 0) {
		free(buf);
		return NULL;
	}
	*len = n;
	return buf;
}
