/* Value formats; see fleet_value.h. Written by hand through the one JSON
 * string escaper, since a path need not be UTF-8 (jansson would refuse
 * it); read back with jansson. */
#include "lib/fleet/fleet_value.h"

#include <inttypes.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>

#include "lib/core/jsonstr.h"

static void put_hex(FILE *f, const void *p, size_t len)
{
	const uint8_t *b = p;
	size_t i;

	fputc('"', f);
	for (i = 0; i < len; i++)
		fprintf(f, "%02x", b[i]);
	fputc('"', f);
}

static int put_b64(FILE *f, const uint8_t *p, size_t len)
{
	/* EVP_EncodeBlock writes 4 bytes per 3 and a NUL. */
	size_t cap = 4 * ((len + 2) / 3) + 1;
	unsigned char *b;

	if (len > INT32_MAX / 2 || !(b = malloc(cap)))
		return -1;
	EVP_EncodeBlock(b, p, (int)len);
	fprintf(f, "\"%s\"", (char *)b);
	free(b);
	return 0;
}

static void put_head(FILE *f, const struct fleet_record *r)
{
	fputs("{\"v\":1,\"enclave\":", f);
	json_str_put(f, r->module_id);
	fputs(",\"pcr0\":", f);
	json_str_put(f, r->pcr0_hex);
	fprintf(f, ",\"seq\":%" PRIu64 ",\"path\":", r->seq);
	json_str_write(f, r->path, r->plen);
	fputs(",\"path_hex\":", f);
	put_hex(f, r->path, r->plen);
}

static char *finish(FILE *f, char **buf, int rc)
{
	if (fclose(f) != 0 || rc < 0) {
		free(*buf);
		return NULL;
	}
	return *buf;
}

char *fleet_version_json(const struct fleet_record *r, size_t *len)
{
	char *buf = NULL;
	FILE *f = open_memstream(&buf, len);

	if (!f)
		return NULL;
	put_head(f, r);
	fprintf(f, ",\"state\":\"%s\",\"cause\":", r->present ? "present" : "deleted");
	json_str_put(f, r->cause);
	if (r->present) {
		fputs(",\"scheme\":", f);
		json_str_put(f, r->scheme);
		fputs(",\"digest\":", f);
		put_hex(f, r->digest, r->dlen);
		fprintf(f, ",\"size\":%" PRIu64 ",\"mtime_ns\":%" PRId64, r->size, r->mtime_ns);
	}
	if (r->from) {
		fputs(",\"from\":", f);
		json_str_write(f, r->from, r->flen);
		fputs(",\"from_hex\":", f);
		put_hex(f, r->from, r->flen);
	}
	fprintf(f, ",\"time_ms\":%" PRId64 "}", r->time_ms);
	return finish(f, &buf, 0);
}

char *fleet_doc_json(const struct fleet_record *r, size_t *len)
{
	char *buf = NULL;
	FILE *f = open_memstream(&buf, len);
	int rc;

	if (!f)
		return NULL;
	put_head(f, r);
	fputs(",\"scheme\":", f);
	json_str_put(f, r->scheme);
	fputs(",\"digest\":", f);
	put_hex(f, r->digest, r->dlen);
	fputs(",\"doc\":", f);
	rc = put_b64(f, r->doc, r->doc_len);
	fputc('}', f);
	return finish(f, &buf, rc);
}

char *fleet_compat_doc_json(const struct fleet_record *r, size_t *len)
{
	char *buf = NULL;
	FILE *f = open_memstream(&buf, len);
	int rc;

	if (!f)
		return NULL;
	fputs("{\"file_path\":", f);
	json_str_write(f, r->path, r->plen);
	fputs(",\"sha3_hash\":", f);
	put_hex(f, r->digest, r->dlen);
	fputs(",\"scheme\":", f);
	json_str_put(f, r->scheme);
	fprintf(f, ",\"seq\":%" PRIu64 ",\"att_doc\":", r->seq);
	rc = put_b64(f, r->doc, r->doc_len);
	fputc('}', f);
	return finish(f, &buf, rc);
}

int fleet_value_seq(const void *val, size_t len, uint64_t *seq)
{
	json_t *j = json_loadb(val, len, 0, NULL), *s;
	int rc = -1;

	s = json_object_get(j, "seq");
	if (json_is_integer(s) && json_integer_value(s) >= 0) {
		*seq = (uint64_t)json_integer_value(s);
		rc = 0;
	}
	json_decref(j);
	return rc;
}
