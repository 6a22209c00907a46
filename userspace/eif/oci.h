/* Container images in (docs/oci.md): OCI layouts, OCI archives and docker
 * save tarballs, read without a daemon and applied layer by layer into a
 * directory tree that eif packs into a ramdisk.
 *
 *   oci_json.c    index, manifest, config and docker manifest.json parsing
 *                 (pure, on buffers: fuzzed by tests/fuzz/fuzz_oci_manifest.c)
 *   oci_blob.c    opening blobs beneath the image, digest and size checks
 *   oci_archive.c taking an archive's files out into a work directory
 *   oci_path.c    confined names: cleaning, parents without symlinks, removal
 *   oci_owner.c   the user.rootlesscontainers ownership attribute
 *   oci_layer.c   one layer applied with whiteouts, links and limits
 *   oci_meta.c    /cmd, /env, /cwd, /user from the config
 *   oci_image.c   the whole unpack: pick the image, check, apply
 *   oci_cmd.c     `eif unpack-image`, and the --image part of `eif build`
 */
#ifndef NEK_EIF_OCI_H
#define NEK_EIF_OCI_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define OCI_ERR_MAX 768
#define OCI_JSON_MAX (4u << 20)
#define OCI_LAYERS_MAX 128
#define OCI_INDEX_MAX 4096		/* descriptors in one index */
#define OCI_ARGS_MAX 1024		/* Entrypoint + Cmd, Env entries */
#define OCI_ENTRIES_MAX 1000000u
#define OCI_NAME_MAX 4095
#define OCI_NEST_MAX 4
#define OCI_DEFAULT_MAX_SIZE (4ULL << 30)
#define OCI_DEFAULT_MAX_RATIO 200
#define OCI_RATIO_FLOOR (1u << 20)	/* bytes a layer may produce before the ratio counts */
#define OCI_HEX_LEN 64

#define OCI_MT_INDEX "application/vnd.oci.image.index.v1+json"
#define OCI_MT_MANIFEST "application/vnd.oci.image.manifest.v1+json"
#define DOCKER_MT_LIST "application/vnd.docker.distribution.manifest.list.v2+json"
#define DOCKER_MT_MANIFEST "application/vnd.docker.distribution.manifest.v2+json"
#define OCI_REF_ANNOTATION "org.opencontainers.image.ref.name"

/* ---------------------------------------------------------------- JSON */
struct oci_desc {
	char media[128];	/* "" when the descriptor has none */
	char hex[OCI_HEX_LEN + 1];
	uint64_t size;
	char ref[256];		/* the ref.name annotation, or "" */
	int has_platform;
	char os[32], arch[32];
};

struct oci_index {
	struct oci_desc *d;
	size_t n;
};

struct oci_manifest {
	struct oci_desc config;
	struct oci_desc layers[OCI_LAYERS_MAX];
	size_t nlayers;
};

struct oci_strv {
	char **v;
	size_t n;
};

struct oci_config {
	char os[32], arch[32];
	struct oci_strv entrypoint, cmd, env;
	char *workdir, *user;	/* NULL when absent */
	char diff_ids[OCI_LAYERS_MAX][OCI_HEX_LEN + 1];
	size_t ndiff;
};

/* One image of a docker save manifest.json. */
struct oci_docker {
	char *config;
	char *layers[OCI_LAYERS_MAX];
	size_t nlayers;
};

/* "sha256:HEX" with HEX 64 lower-case hex digits into hex; -1 otherwise. */
int oci_digest_parse(const char *s, char hex[OCI_HEX_LEN + 1], char *err, size_t errlen);
/* oci-layout: {"imageLayoutVersion": "1.0.0"}. */
int oci_parse_layout(const char *buf, size_t len, char *err, size_t errlen);
int oci_parse_index(const char *buf, size_t len, struct oci_index *out, char *err,
		    size_t errlen);
void oci_index_free(struct oci_index *ix);
/* "index", "manifest" or NULL: from the media type, else from the document
 * (what a descriptor without a media type points at). */
const char *oci_doc_kind(const char *media, const char *buf, size_t len);
int oci_parse_manifest(const char *buf, size_t len, struct oci_manifest *out, char *err,
		       size_t errlen);
int oci_parse_config(const char *buf, size_t len, struct oci_config *out, char *err,
		     size_t errlen);
void oci_config_free(struct oci_config *c);
/* The image of manifest.json tagged ref (any RepoTags entry), or the only
 * one when ref is NULL. */
int oci_parse_docker(const char *buf, size_t len, const char *ref, struct oci_docker *out,
		     char *err, size_t errlen);
void oci_docker_free(struct oci_docker *d);
/* 1 when a layer of this media type can be applied, 0 when not. */
int oci_layer_media_ok(const char *media);

/* ---------------------------------------------------------------- blobs */
/* An image opened for reading: a directory (the layout, or the work
 * directory an archive was taken out into); names resolve inside it only. */
struct oci_src {
	int rootfd;
	int docker;		/* manifest.json rather than index.json */
};

struct oci_limits {
	uint64_t max_size;	/* blob bytes taken out, and tree bytes written */
	uint64_t max_ratio;
};

/* Opens NAME beneath the image (symlinks resolved inside it). */
int oci_src_open(const struct oci_src *s, const char *name, int *fd, char *err, size_t errlen);
/* Hashes all of fd (from offset 0, left at 0): SHA-256 must be hex and,
 * unless size is UINT64_MAX, the length must be size. what names the blob. */
int oci_blob_check(int fd, const char *hex, uint64_t size, const char *what, char *err,
		   size_t errlen);
/* blobs/sha256/HEX, checked, open and rewound. */
int oci_blob_open(const struct oci_src *s, const char *hex, uint64_t size, int *fd, char *err,
		  size_t errlen);
/* A whole JSON blob (at most OCI_JSON_MAX), checked, NUL-terminated. */
int oci_blob_json(const struct oci_src *s, const char *hex, uint64_t size, char **buf,
		  size_t *len, char *err, size_t errlen);
/* A whole small file of the image (manifest.json), NUL-terminated. */
int oci_src_read(const struct oci_src *s, const char *name, char **buf, size_t *len, char *err,
		 size_t errlen);

/* Takes an archive's files out into the empty directory dirfd (at most
 * lim->max_size bytes); symlinks are kept as they are (they are only
 * resolved beneath dirfd later). */
int oci_archive_extract(const char *path, int dirfd, const struct oci_limits *lim, char *err,
			size_t errlen);

/* ---------------------------------------------------------------- tree */
/* A layer entry's name made relative: "./" and trailing "/" dropped; ".."
 * components, a leading "/" and empty names refused (-1, reason in err).
 * Returns 1 (out = "") for a name of the root itself, such as "./". */
int oci_path_clean(const char *name, char *out, size_t outsz, char *err, size_t errlen);
/* Opens the directory that holds rel (a cleaned name) below rootfd, one
 * component at a time, never through a symlink; missing parents are made
 * 0755 when create is set (ENOENT otherwise). *base points into rel. */
int oci_path_parent(int rootfd, const char *rel, int create, int *dirfd, const char **base,
		    char *err, size_t errlen);
/* Removes name in dirfd and everything below it, following no symlink. A
 * missing name is not an error. */
int oci_rm_rf(int dirfd, const char *name, char *err, size_t errlen);

/* The rootlesscontainers.io Resource message for uid:gid, a 0 written as
 * NoopID as umoci does; returns the length (0 for 0:0: no attribute). */
size_t oci_owner_encode(uint32_t uid, uint32_t gid, uint8_t out[16]);
int oci_owner_decode(const uint8_t *buf, size_t len, uint32_t *uid, uint32_t *gid);
#define OCI_OWNER_XATTR "user.rootlesscontainers"
/* Sets the attribute on fd (nothing for 0:0). */
int oci_owner_set(int fd, uint32_t uid, uint32_t gid);
/* Reads it from path (not followed): 0:0 when absent or unsupported. */
void oci_owner_get(const char *path, uint32_t *uid, uint32_t *gid);

/* ---------------------------------------------------------------- apply */
struct oci_apply;		/* state across the layers of one image */
struct oci_apply *oci_apply_new(int rootfd, const struct oci_limits *lim);
/* Applies the layer blob on fd (already checked); what names it. */
int oci_apply_layer(struct oci_apply *ap, int fd, uint64_t blob_size, const char *what,
		    char *err, size_t errlen);
/* After the last layer: directory modes; returns the skipped-entry count. */
int oci_apply_finish(struct oci_apply *ap, size_t *skipped, char *err, size_t errlen);
void oci_apply_free(struct oci_apply *ap);

/* ---------------------------------------------------------------- image */
/* What an unpack read, by digest (for docs/provenance.md). */
struct oci_digests {
	int docker;				/* docker save rather than OCI */
	char top[OCI_HEX_LEN + 1];		/* the manifest (OCI) or config (docker) */
	char config[OCI_HEX_LEN + 1];
	char layers[OCI_LAYERS_MAX][OCI_HEX_LEN + 1];
	size_t nlayers;
};

struct oci_unpack_opts {
	const char *image;	/* PATH[:REF] */
	struct oci_limits lim;
	const char *cmd;	/* --cmd: whitespace-separated argv, or NULL */
	struct oci_digests *dg;	/* filled on success when not NULL */
};

/* The image's tree into dir (must not exist; removed again on failure) and
 * its /cmd, /env, /cwd, /user into metadir (an existing directory) when not
 * NULL. */
int oci_unpack(const struct oci_unpack_opts *o, const char *dir, const char *metadir,
	       char *err, size_t errlen);

/* Writes cmd, env, cwd, user files into metadirfd; rootfd is the unpacked
 * tree (for user names); cmd_override replaces Entrypoint + Cmd. */
int oci_meta_write(const struct oci_config *c, const char *cmd_override, int rootfd,
		   int metadirfd, char *err, size_t errlen);

/* ---------------------------------------------------------------- commands */
#define OCI_OPT_MAX_SIZE 0x1001		/* long-option values shared with build */
#define OCI_OPT_MAX_RATIO 0x1002
void oci_opts_init(struct oci_unpack_opts *o);
/* --max-size / --max-ratio; CLI_OK or CLI_USAGE (after the message). */
int oci_opt_limit(int c, const char *arg, struct oci_unpack_opts *o);

/* `eif build --image`: the image ramdisk staged in a work directory, as
 * rd/{cmd,env,cwd,user,rootfs/}; removed by oci_stage_cleanup. */
struct oci_stage {
	char work[4096];
	char rd[4096 + 8];
};
int oci_stage(const struct oci_unpack_opts *o, struct oci_stage *st, char *err, size_t errlen);
void oci_stage_cleanup(struct oci_stage *st);

/* eif_build with img->image (when set) staged as one more, last ramdisk,
 * packed with its owners; what `eif build` and `eif rebuild` both run.
 * o->ramdisks must have room for one more; o itself is not changed. */
struct eif_build_opts;
struct eif_pcrs;
int oci_build(const struct eif_build_opts *o, const struct oci_unpack_opts *img,
	      struct eif_pcrs *pcrs, char *err, size_t errlen);

int cmd_unpack_image(int argc, char **argv);

#endif
