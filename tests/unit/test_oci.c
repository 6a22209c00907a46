/* The container-image readers of userspace/eif/oci_*.c on their own:
 * digests, descriptors, the index/manifest/config/manifest.json parsers,
 * layer-name cleaning, parents that refuse symlinks, and the ownership
 * attribute (checked against the bytes umoci 0.4.7 writes). */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "eif/oci.h"

#define H64 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

Test(oci, digests)
{
	char hex[OCI_HEX_LEN + 1], err[OCI_ERR_MAX];

	cr_assert_eq(oci_digest_parse("sha256:" H64, hex, err, sizeof(err)), 0);
	cr_assert_str_eq(hex, H64);
	cr_assert_eq(oci_digest_parse("sha256:" H64 "0", hex, err, sizeof(err)), -1);
	cr_assert_eq(oci_digest_parse("sha256:../../../../etc/passwd", hex, err, sizeof(err)), -1);
	cr_assert_eq(oci_digest_parse("sha256:0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef",
				      hex, err, sizeof(err)), -1, "upper case is not canonical");
	cr_assert_eq(oci_digest_parse("sha512:" H64, hex, err, sizeof(err)), -1);
	cr_assert(strstr(err, "sha512 is not supported"), "%s", err);
}

Test(oci, index_and_manifest)
{
	const char *ix = "{\"manifests\":[{\"mediaType\":\"" OCI_MT_MANIFEST "\",\"digest\":\"sha256:" H64
			 "\",\"size\":12,\"annotations\":{\"" OCI_REF_ANNOTATION "\":\"t\"},"
			 "\"platform\":{\"os\":\"linux\",\"architecture\":\"amd64\"}}]}";
	const char *man = "{\"config\":{\"digest\":\"sha256:" H64 "\",\"size\":3},\"layers\":["
			  "{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar+zstd\",\"digest\":\"sha256:" H64
			  "\",\"size\":99}]}";
	char err[OCI_ERR_MAX];
	struct oci_manifest m;
	struct oci_index x;

	cr_assert_eq(oci_parse_index(ix, strlen(ix), &x, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(x.n, 1);
	cr_assert_str_eq(x.d[0].ref, "t");
	cr_assert_eq(x.d[0].size, 12);
	cr_assert_str_eq(x.d[0].arch, "amd64");
	oci_index_free(&x);
	cr_assert_eq(oci_parse_manifest(man, strlen(man), &m, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(m.nlayers, 1);
	cr_assert_eq(m.layers[0].size, 99);
	cr_assert(oci_layer_media_ok(m.layers[0].media));
	cr_assert_not(oci_layer_media_ok("application/vnd.oci.image.layer.v1.tar+bzip2"));
	cr_assert_str_eq(oci_doc_kind("", man, strlen(man)), "manifest");
	cr_assert_str_eq(oci_doc_kind("", ix, strlen(ix)), "index");
	cr_assert_eq(oci_parse_index("{\"manifests\":[{\"digest\":\"sha256:" H64 "\",\"size\":-1}]}",
				     strlen("{\"manifests\":[{\"digest\":\"sha256:" H64 "\",\"size\":-1}]}"),
				     &x, err, sizeof(err)), -1, "a negative size");
	cr_assert_eq(oci_parse_index("{\"manifests\":{}}", 16, &x, err, sizeof(err)), -1);
	cr_assert_eq(oci_parse_index("{\"manifests\":[],\"manifests\":[]}", 32, &x, err, sizeof(err)), -1,
		     "duplicate keys are refused, not resolved one way or the other");
}

Test(oci, config_fields)
{
	const char *cfg = "{\"os\":\"linux\",\"architecture\":\"amd64\",\"config\":{\"Entrypoint\":[\"/a\"],"
			  "\"Cmd\":[\"b\",\"c d\"],\"Env\":[\"X=1\"],\"WorkingDir\":\"/w\",\"User\":\"u:g\"},"
			  "\"rootfs\":{\"diff_ids\":[\"sha256:" H64 "\"]}}";
	char err[OCI_ERR_MAX];
	struct oci_config c;

	cr_assert_eq(oci_parse_config(cfg, strlen(cfg), &c, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(c.entrypoint.n, 1);
	cr_assert_str_eq(c.cmd.v[1], "c d");
	cr_assert_str_eq(c.workdir, "/w");
	cr_assert_str_eq(c.user, "u:g");
	cr_assert_eq(c.ndiff, 1);
	oci_config_free(&c);
	cr_assert_eq(oci_parse_config("{\"config\":{\"Cmd\":[1]}}", 21, &c, err, sizeof(err)), -1);
	cr_assert_eq(oci_parse_config("{\"config\":{\"Cmd\":[\"a\\u0000b\"]}}", 29, &c, err, sizeof(err)),
		     -1, "a NUL inside an argument");
}

Test(oci, docker_manifest)
{
	const char *j = "[{\"Config\":\"c.json\",\"RepoTags\":[\"a:1\"],\"Layers\":[\"x/layer.tar\"]},"
			"{\"Config\":\"d.json\",\"RepoTags\":[\"b:2\"],\"Layers\":[]}]";
	char err[OCI_ERR_MAX];
	struct oci_docker d;

	cr_assert_eq(oci_parse_docker(j, strlen(j), NULL, &d, err, sizeof(err)), -1, "two images, no tag");
	cr_assert_eq(oci_parse_docker(j, strlen(j), "b:2", &d, err, sizeof(err)), 0, "%s", err);
	cr_assert_str_eq(d.config, "d.json");
	oci_docker_free(&d);
	cr_assert_eq(oci_parse_docker(j, strlen(j), "a:1", &d, err, sizeof(err)), 0);
	cr_assert_str_eq(d.layers[0], "x/layer.tar");
	oci_docker_free(&d);
	cr_assert_eq(oci_parse_docker(j, strlen(j), "c:3", &d, err, sizeof(err)), -1);
}

Test(oci, names)
{
	char out[OCI_NAME_MAX + 2], err[OCI_ERR_MAX];

	cr_assert_eq(oci_path_clean("./a//b/./c/", out, sizeof(out), err, sizeof(err)), 0);
	cr_assert_str_eq(out, "a/b/c");
	cr_assert_eq(oci_path_clean("./", out, sizeof(out), err, sizeof(err)), 1, "the root");
	cr_assert_eq(oci_path_clean("a/../b", out, sizeof(out), err, sizeof(err)), -1);
	cr_assert_eq(oci_path_clean("..", out, sizeof(out), err, sizeof(err)), -1);
	cr_assert_eq(oci_path_clean("/etc/x", out, sizeof(out), err, sizeof(err)), -1);
	cr_assert_eq(oci_path_clean("", out, sizeof(out), err, sizeof(err)), -1);
	cr_assert_eq(oci_path_clean("a/..b", out, sizeof(out), err, sizeof(err)), 0, "'..b' is a name");
}

Test(oci, parents_never_through_a_symlink)
{
	char dir[] = "/tmp/test_oci.XXXXXX", err[OCI_ERR_MAX], p[64];
	const char *base;
	int root, fd;

	cr_assert(mkdtemp(dir));
	root = open(dir, O_RDONLY | O_DIRECTORY);
	cr_assert(root >= 0);
	cr_assert_eq(symlinkat("/", root, "up"), 0);
	cr_assert_eq(oci_path_parent(root, "up/etc/x", 1, &fd, &base, err, sizeof(err)), -1);
	cr_assert(strstr(err, "a symlink where a directory must be"), "%s", err);
	cr_assert_eq(oci_path_parent(root, "a/b/c", 1, &fd, &base, err, sizeof(err)), 0, "%s", err);
	cr_assert_str_eq(base, "c");
	close(fd);
	snprintf(p, sizeof(p), "%s/a/b", dir);
	struct stat st;
	cr_assert_eq(stat(p, &st), 0);
	cr_assert_eq(st.st_mode & 07777, 0755, "missing parents are exactly 0755");
	cr_assert_eq(oci_rm_rf(root, "a", err, sizeof(err)), 0);
	cr_assert_eq(oci_rm_rf(root, "up", err, sizeof(err)), 0, "a symlink is removed, not followed");
	cr_assert_eq(access("/etc", F_OK), 0);
	close(root);
	cr_assert_eq(rmdir(dir), 0, "everything below was removed");
}

Test(oci, owner_attribute_bytes)
{
	uint8_t b[16];
	uint32_t u, g;
	size_t n;

	cr_assert_eq(oci_owner_encode(0, 0, b), 0, "root:root is no attribute");
	n = oci_owner_encode(1000, 1001, b);
	cr_assert_eq(n, 6);
	cr_assert_eq(memcmp(b, "\x08\xe8\x07\x10\xe9\x07", 6), 0, "as umoci writes 1000:1001");
	n = oci_owner_encode(0, 7, b);
	cr_assert_eq(memcmp(b, "\x08\xff\xff\xff\xff\x0f\x10\x07", 8), 0, "0 is NoopID, as umoci");
	cr_assert_eq(n, 8);
	cr_assert_eq(oci_owner_decode(b, n, &u, &g), 0);
	cr_assert_eq(u, 0);
	cr_assert_eq(g, 7);
	cr_assert_eq(oci_owner_decode((const uint8_t *)"\x08\x80", 2, &u, &g), -1, "cut varint");
	cr_assert_eq(oci_owner_decode((const uint8_t *)"\x0a\x01", 2, &u, &g), -1, "not a varint field");
}
