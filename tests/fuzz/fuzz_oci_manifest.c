/* libFuzzer target: what eif reads from a container image before any blob
 * is trusted (userspace/eif/oci_json.c): index.json and image indexes,
 * manifests, image configs (and the /cmd, /env, /cwd lines made from them),
 * docker save's manifest.json, oci-layout, digests; plus the layer-name
 * cleaner and the ownership attribute decoder. The first byte picks the
 * parser, the rest is its input. */
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "eif/oci.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char meta_dir[] = "/tmp/fuzz_oci.XXXXXX";
static const char *const meta_files[] = { "cmd", "env", "cwd", "user" };

/* The scratch directory goes when the fuzzer exits. */
static void meta_cleanup(void)
{
	for (size_t i = 0; i < sizeof(meta_files) / sizeof(meta_files[0]); i++) {
		char p[64];

		snprintf(p, sizeof(p), "%s/%s", meta_dir, meta_files[i]);
		unlink(p);
	}
	rmdir(meta_dir);
}

static void config(const char *buf, size_t len)
{
	static int meta = -2;
	struct oci_config c;
	char err[OCI_ERR_MAX];

	if (oci_parse_config(buf, len, &c, err, sizeof(err)) < 0)
		return;
	/* The metadata writer on the parsed config: a scratch directory, no
	 * tree (so users resolve as numbers only). */
	if (meta == -2) {
		meta = mkdtemp(meta_dir) ? open(meta_dir, O_RDONLY | O_DIRECTORY) : -1;
		if (meta >= 0)
			atexit(meta_cleanup);
	}
	if (meta >= 0)
		oci_meta_write(&c, NULL, -1, meta, err, sizeof(err));
	oci_config_free(&c);
}

static void one(uint8_t which, const char *buf, size_t len)
{
	char err[OCI_ERR_MAX], out[OCI_NAME_MAX + 2], hex[OCI_HEX_LEN + 1];
	struct oci_manifest *m;
	struct oci_docker dk;
	struct oci_index ix;
	uint32_t uid, gid;

	switch (which % 8) {
	case 0:
		if (oci_parse_index(buf, len, &ix, err, sizeof(err)) == 0)
			oci_index_free(&ix);
		break;
	case 1:
		m = malloc(sizeof(*m));
		if (m && oci_parse_manifest(buf, len, m, err, sizeof(err)) == 0)
			for (size_t i = 0; i < m->nlayers; i++)
				oci_layer_media_ok(m->layers[i].media);
		free(m);
		break;
	case 2: config(buf, len); break;
	case 3:
		if (oci_parse_docker(buf, len, which & 8 ? "a:b" : NULL, &dk, err, sizeof(err)) == 0)
			oci_docker_free(&dk);
		break;
	case 4:
		oci_parse_layout(buf, len, err, sizeof(err));
		oci_doc_kind("", buf, len);
		break;
	case 5: oci_digest_parse(buf, hex, err, sizeof(err)); break;
	case 6: oci_path_clean(buf, out, sizeof(out), err, sizeof(err)); break;
	case 7: oci_owner_decode((const uint8_t *)buf, len, &uid, &gid); break;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf;

	if (size < 1 || size > OCI_JSON_MAX)
		return 0;
	/* The parsers see what oci_blob_json hands them: NUL-terminated. */
	buf = malloc(size);
	if (!buf)
		return 0;
	memcpy(buf, data + 1, size - 1);
	buf[size - 1] = '\0';
	one(data[0], buf, size - 1);
	free(buf);
	return 0;
}
