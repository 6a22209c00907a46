/* fleetkv: the tests' hand on a bucket, to write what attestd never would
 * (a document that does not match its digest, a foreign enclave's record).
 *
 *   fleetkv URL get BUCKET KEY      the value to stdout
 *   fleetkv URL put BUCKET KEY      stdin becomes the value
 *   fleetkv - key MODULE PCR0 PATH  the record key attestd uses
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nats/nats.h>

#include "lib/fleet/fleet_key.h"

#define VALUE_MAX (1 << 20)

static int fail(const char *what, natsStatus s)
{
	fprintf(stderr, "fleetkv: %s: %s\n", what, natsStatus_GetText(s));
	return 1;
}

static int put(kvStore *kv, const char *key)
{
	char *buf = malloc(VALUE_MAX);
	size_t n;
	natsStatus s;

	if (!buf)
		return 1;
	n = fread(buf, 1, VALUE_MAX, stdin);
	s = kvStore_Put(NULL, kv, key, buf, (int)n);
	free(buf);
	return s == NATS_OK ? 0 : fail("put", s);
}

static int get(kvStore *kv, const char *key)
{
	kvEntry *e = NULL;
	natsStatus s = kvStore_Get(&e, kv, key);

	if (s != NATS_OK)
		return fail("get", s);
	fwrite(kvEntry_Value(e), 1, (size_t)kvEntry_ValueLen(e), stdout);
	kvEntry_Destroy(e);
	return 0;
}

static int record_key(char **argv)
{
	char key[FLEET_KEY_MAX];

	if (fleet_record_key(argv[3], argv[4], argv[5], strlen(argv[5]), key, sizeof(key)) < 0) {
		fprintf(stderr, "fleetkv: no key\n");
		return 1;
	}
	puts(key);
	return 0;
}

int main(int argc, char **argv)
{
	natsConnection *nc = NULL;
	jsCtx *js = NULL;
	kvStore *kv = NULL;
	natsStatus s;
	int rc;

	if (argc == 6 && strcmp(argv[2], "key") == 0)
		return record_key(argv);
	if (argc != 5 || (strcmp(argv[2], "get") && strcmp(argv[2], "put")))
		return fprintf(stderr, "usage: fleetkv URL get|put BUCKET KEY\n"), 2;
	s = natsConnection_ConnectTo(&nc, argv[1]);
	if (s == NATS_OK)
		s = natsConnection_JetStream(&js, nc, NULL);
	if (s == NATS_OK)
		s = js_KeyValue(&kv, js, argv[3]);
	if (s != NATS_OK)
		rc = fail(argv[1], s);
	else
		rc = strcmp(argv[2], "get") == 0 ? get(kv, argv[4]) : put(kv, argv[4]);
	kvStore_Destroy(kv);
	jsCtx_Destroy(js);
	natsConnection_Destroy(nc);
	nats_Close();
	return rc;
}
