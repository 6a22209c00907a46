/* A whole image into a tree (docs/oci.md): open the layout or take the
 * archive out, pick the image, check the config, apply the layers in order,
 * write the metadata; on any failure the tree is removed again. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "eif/oci.h"
#include "lib/core/errfmt.h"
#include "lib/core/log.h"

/* The layers to apply, however the image names them. */
struct layers {
	size_t n;
	char hex[OCI_LAYERS_MAX][OCI_HEX_LEN + 1];	/* what the blob must hash to */
	uint64_t size[OCI_LAYERS_MAX];			/* UINT64_MAX: not given */
	char *name[OCI_LAYERS_MAX];			/* docker: the file; OCI: NULL */
};

struct job {
	const struct oci_unpack_opts *o;
	char path[PATH_MAX], ref[256];
	int has_ref;
	char work[PATH_MAX];	/* our temporary directory, or "" */
	struct oci_src src;
	struct oci_config cfg;
	struct layers ly;
	struct oci_digests dg;
};

/* PATH[:REF]: the shortest prefix before a ':' that exists is the path
 * (a docker RepoTag has colons of its own: dk.tar:nek/app:1). */
static void split_ref(struct job *j)
{
	const char *img = j->o->image, *colon;
	struct stat st;

	snprintf(j->path, sizeof(j->path), "%s", img);
	if (stat(img, &st) == 0)
		return;
	for (colon = strchr(img, ':'); colon; colon = strchr(colon + 1, ':')) {
		char prefix[PATH_MAX];

		if (colon == img || (size_t)(colon - img) >= sizeof(prefix))
			continue;
		snprintf(prefix, sizeof(prefix), "%.*s", (int)(colon - img), img);
		if (stat(prefix, &st) == 0) {
			snprintf(j->path, sizeof(j->path), "%s", prefix);
			snprintf(j->ref, sizeof(j->ref), "%s", colon + 1);
			j->has_ref = 1;
			return;
		}
	}
}

static int has_file(const struct oci_src *s, const char *name)
{
	char err[OCI_ERR_MAX];
	int fd;

	if (oci_src_open(s, name, &fd, err, sizeof(err)) < 0)
		return 0;
	close(fd);
	return 1;
}

/* The layout directory, or the archive taken out into our work directory. */
static int open_source(struct job *j, char *err, size_t errlen)
{
	const char *tmp = getenv("TMPDIR");
	struct stat st;
	int fd;

	if (stat(j->path, &st) < 0)
		return errfmt(err, errlen, "%s: %s", j->path, strerror(errno));
	if (S_ISDIR(st.st_mode)) {
		j->src.rootfd = open(j->path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		return j->src.rootfd < 0 ? errfmt(err, errlen, "%s: %s", j->path, strerror(errno)) : 0;
	}
	snprintf(j->work, sizeof(j->work), "%s/eif-image.XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(j->work)) {
		j->work[0] = '\0';
		return errfmt(err, errlen, "work directory in %s: %s", tmp ? tmp : "/tmp",
			    strerror(errno));
	}
	fd = open(j->work, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return errfmt(err, errlen, "%s: %s", j->work, strerror(errno));
	j->src.rootfd = fd;
	if (oci_archive_extract(j->path, fd, &j->o->lim, err, errlen) < 0)
		return -1;
	return 0;
}

static int pick_platform(const struct oci_index *ix, const char *what, struct oci_desc *out,
			 char *err, size_t errlen)
{
	size_t i;

	for (i = 0; i < ix->n; i++)
		if (ix->d[i].has_platform && strcmp(ix->d[i].os, "linux") == 0 &&
		    strcmp(ix->d[i].arch, "amd64") == 0) {
			*out = ix->d[i];
			return 0;
		}
	if (ix->n == 1 && !ix->d[0].has_platform) {
		*out = ix->d[0];
		return 0;
	}
	return errfmt(err, errlen, "%s: no linux/amd64 image among its %zu entries", what, ix->n);
}

/* index.json: by REF, else the only image, else the linux/amd64 one. */
static int pick_top(struct job *j, const struct oci_index *ix, struct oci_desc *out, char *err,
		    size_t errlen)
{
	struct oci_index cand = { calloc(ix->n + 1, sizeof(struct oci_desc)), 0 };
	size_t i;
	int rc;

	if (!cand.d)
		return errfmt(err, errlen, "out of memory");
	for (i = 0; i < ix->n; i++)
		if (!j->has_ref || strcmp(ix->d[i].ref, j->ref) == 0)
			cand.d[cand.n++] = ix->d[i];
	if (cand.n == 0)
		rc = errfmt(err, errlen, "index.json: %s", j->has_ref ? "no image of that name" :
			    "no images");
	else if (cand.n == 1)
		*out = cand.d[0], rc = 0;
	else if (pick_platform(&cand, "index.json", out, err, errlen) < 0)
		rc = errfmt(err, errlen, "index.json holds %zu images; name one as IMAGE:REF", cand.n);
	else
		rc = 0;
	if (rc < 0 && j->has_ref)
		errfmt(err, errlen, "index.json: no image named '%s'", j->ref);
	free(cand.d);
	return rc;
}

/* Follows indexes (at most OCI_NEST_MAX deep) down to a manifest. */
static int resolve(struct job *j, struct oci_desc d, struct oci_manifest *m, char *err,
		   size_t errlen)
{
	int depth;

	for (depth = 0; depth <= OCI_NEST_MAX; depth++) {
		char what[96], *buf;
		const char *kind;
		struct oci_index ix;
		size_t len;
		int rc;

		snprintf(what, sizeof(what), "index sha256:%s", d.hex);
		if (oci_blob_json(&j->src, d.hex, d.size, &buf, &len, err, errlen) < 0)
			return -1;
		kind = oci_doc_kind(d.media, buf, len);
		if (!kind) {
			free(buf);
			return errfmt(err, errlen, "blob sha256:%s: media type '%s' is neither an index nor a manifest",
				    d.hex, d.media);
		}
		if (strcmp(kind, "manifest") == 0) {
			memcpy(j->dg.top, d.hex, sizeof(j->dg.top));
			rc = oci_parse_manifest(buf, len, m, err, errlen);
			free(buf);
			return rc;
		}
		rc = oci_parse_index(buf, len, &ix, err, errlen);
		free(buf);
		if (rc == 0)
			rc = pick_platform(&ix, what, &d, err, errlen);
		oci_index_free(&ix);
		if (rc < 0)
			return -1;
	}
	return errfmt(err, errlen, "indexes nested deeper than %d", OCI_NEST_MAX);
}

static int load_config(struct job *j, const char *buf, size_t len, char *err, size_t errlen)
{
	if (oci_parse_config(buf, len, &j->cfg, err, errlen) < 0)
		return -1;
	if (strcmp(j->cfg.os, "linux") != 0 || strcmp(j->cfg.arch, "amd64") != 0)
		return errfmt(err, errlen, "config: an image for %s/%s, not linux/amd64",
			    j->cfg.os[0] ? j->cfg.os : "?", j->cfg.arch[0] ? j->cfg.arch : "?");
	return 0;
}

static int plan_oci(struct job *j, char *err, size_t errlen)
{
	struct oci_manifest *m = calloc(1, sizeof(*m));
	struct oci_index ix;
	struct oci_desc top;
	char *buf = NULL;
	size_t len, i;
	int rc = -1;

	if (!m)
		return errfmt(err, errlen, "out of memory");
	if (oci_src_read(&j->src, "oci-layout", &buf, &len, err, errlen) < 0 ||
	    oci_parse_layout(buf, len, err, errlen) < 0)
		goto out;
	free(buf);
	buf = NULL;
	if (oci_src_read(&j->src, "index.json", &buf, &len, err, errlen) < 0)
		goto out;
	rc = oci_parse_index(buf, len, &ix, err, errlen);
	free(buf);
	buf = NULL;
	if (rc == 0)
		rc = pick_top(j, &ix, &top, err, errlen);
	oci_index_free(&ix);
	if (rc < 0 || (rc = resolve(j, top, m, err, errlen)) < 0)
		goto out;
	rc = -1;
	if (oci_blob_json(&j->src, m->config.hex, m->config.size, &buf, &len, err, errlen) < 0 ||
	    load_config(j, buf, len, err, errlen) < 0)
		goto out;
	if (j->cfg.ndiff != m->nlayers) {
		errfmt(err, errlen, "config sha256:%s lists %zu diff_ids for %zu layers",
		       m->config.hex, j->cfg.ndiff, m->nlayers);
		goto out;
	}
	for (i = 0; i < m->nlayers; i++) {
		if (!oci_layer_media_ok(m->layers[i].media)) {
			errfmt(err, errlen, "layer %zu (sha256:%s): media type '%s' is not a layer eif can apply",
			       i, m->layers[i].hex, m->layers[i].media);
			goto out;
		}
		memcpy(j->ly.hex[i], m->layers[i].hex, sizeof(j->ly.hex[i]));
		j->ly.size[i] = m->layers[i].size;
	}
	j->ly.n = m->nlayers;
	memcpy(j->dg.config, m->config.hex, sizeof(j->dg.config));
	rc = 0;
out:
	free(buf);
	free(m);
	return rc;
}

/* "HEX.json", "blobs/sha256/HEX": the digest a docker save file name gives. */
static int name_hex(const char *name, char hex[OCI_HEX_LEN + 1])
{
	char d[OCI_HEX_LEN + 8], err[OCI_ERR_MAX];
	const char *b = strncmp(name, "blobs/sha256/", 13) == 0 ? name + 13 : name;

	if (strlen(b) < OCI_HEX_LEN || (b[OCI_HEX_LEN] && strcmp(b + OCI_HEX_LEN, ".json") != 0))
		return -1;
	snprintf(d, sizeof(d), "sha256:%.*s", OCI_HEX_LEN, b);
	return oci_digest_parse(d, hex, err, sizeof(err));
}

static int plan_docker(struct job *j, char *err, size_t errlen)
{
	struct oci_docker dk;
	char hex[OCI_HEX_LEN + 1], *buf = NULL;
	size_t len, i;
	int fd, rc = -1;

	if (oci_src_read(&j->src, "manifest.json", &buf, &len, err, errlen) < 0)
		return -1;
	rc = oci_parse_docker(buf, len, j->has_ref ? j->ref : NULL, &dk, err, errlen);
	free(buf);
	buf = NULL;
	if (rc < 0)
		return -1;
	rc = -1;
	if (name_hex(dk.config, hex) < 0) {
		errfmt(err, errlen, "manifest.json: Config '%.200s' is not named by its digest",
		       dk.config);
		goto out;
	}
	if (oci_src_open(&j->src, dk.config, &fd, err, errlen) < 0)
		goto out;
	j->dg.docker = 1;
	memcpy(j->dg.top, hex, sizeof(j->dg.top));
	memcpy(j->dg.config, hex, sizeof(j->dg.config));
	rc = oci_blob_check(fd, hex, UINT64_MAX, dk.config, err, errlen);
	close(fd);
	if (rc < 0 || (rc = oci_src_read(&j->src, dk.config, &buf, &len, err, errlen)) < 0 ||
	    (rc = load_config(j, buf, len, err, errlen)) < 0)
		goto out;
	rc = -1;
	if (j->cfg.ndiff != dk.nlayers) {
		errfmt(err, errlen, "%s lists %zu diff_ids for %zu layers", dk.config, j->cfg.ndiff,
		       dk.nlayers);
		goto out;
	}
	for (i = 0; i < dk.nlayers; i++) {
		/* A layer named by its digest is checked against it; layer.tar
		 * files are the uncompressed tars the diff_ids hash. */
		if (name_hex(dk.layers[i], j->ly.hex[i]) < 0)
			memcpy(j->ly.hex[i], j->cfg.diff_ids[i], sizeof(j->ly.hex[i]));
		j->ly.size[i] = UINT64_MAX;
		j->ly.name[i] = dk.layers[i];
		dk.layers[i] = NULL;
		j->ly.n++;
	}
	rc = 0;
out:
	free(buf);
	oci_docker_free(&dk);
	return rc;
}

static int open_layer(struct job *j, size_t i, int *fd, char *what, size_t wlen, char *err,
		      size_t errlen)
{
	snprintf(what, wlen, "layer %zu (sha256:%.16s...)", i, j->ly.hex[i]);
	if (!j->ly.name[i])
		return oci_blob_open(&j->src, j->ly.hex[i], j->ly.size[i], fd, err, errlen);
	snprintf(what, wlen, "layer %zu (%s)", i, j->ly.name[i]);
	if (oci_src_open(&j->src, j->ly.name[i], fd, err, errlen) < 0)
		return -1;
	if (oci_blob_check(*fd, j->ly.hex[i], UINT64_MAX, what, err, errlen) < 0) {
		close(*fd);
		return -1;
	}
	return 0;
}

static int apply_all(struct job *j, int treefd, char *err, size_t errlen)
{
	struct oci_apply *ap = oci_apply_new(treefd, &j->o->lim);
	size_t i, skipped = 0;
	int rc = 0;

	if (!ap)
		return errfmt(err, errlen, "out of memory");
	for (i = 0; i < j->ly.n && rc == 0; i++) {
		char what[PATH_MAX + 64];
		struct stat st;
		int fd;

		rc = open_layer(j, i, &fd, what, sizeof(what), err, errlen);
		if (rc < 0)
			break;
		rc = fstat(fd, &st) < 0 ? errfmt(err, errlen, "%s: %s", what, strerror(errno)) :
		     oci_apply_layer(ap, fd, (uint64_t)st.st_size, what, err, errlen);
		close(fd);
	}
	if (rc == 0)
		rc = oci_apply_finish(ap, &skipped, err, errlen);
	if (rc == 0 && skipped)
		log_info("%zu device, socket or unknown entries skipped", skipped);
	oci_apply_free(ap);
	return rc;
}

static int unpack_into(struct job *j, const char *dir, const char *metadir, char *err,
		       size_t errlen)
{
	int treefd, metafd, rc;

	treefd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (treefd < 0)
		return errfmt(err, errlen, "%s: %s", dir, strerror(errno));
	rc = apply_all(j, treefd, err, errlen);
	if (rc == 0 && metadir) {
		metafd = open(metadir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (metafd < 0)
			rc = errfmt(err, errlen, "%s: %s", metadir, strerror(errno));
		else {
			rc = oci_meta_write(&j->cfg, j->o->cmd, treefd, metafd, err, errlen);
			close(metafd);
		}
	}
	close(treefd);
	return rc;
}

/* Removes a directory we made, with everything in it. */
static void remove_dir(const char *path)
{
	char copy[PATH_MAX], err[OCI_ERR_MAX], *slash;
	int fd;

	snprintf(copy, sizeof(copy), "%s", path);
	slash = strrchr(copy, '/');
	if (slash && slash != copy) {
		*slash = '\0';
		fd = open(copy, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	} else {
		fd = open(slash ? "/" : ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	}
	if (fd < 0)
		return;
	if (oci_rm_rf(fd, slash ? slash + 1 : copy, err, sizeof(err)) < 0)
		log_warn("removing %s: %s", path, err);
	close(fd);
}

int oci_unpack(const struct oci_unpack_opts *o, const char *dir, const char *metadir,
	       char *err, size_t errlen)
{
	struct job *j = calloc(1, sizeof(*j));
	int rc = -1, made = 0;
	size_t i;

	if (!j)
		return errfmt(err, errlen, "out of memory");
	j->o = o;
	j->src.rootfd = -1;
	split_ref(j);
	if (open_source(j, err, errlen) < 0)
		goto out;
	if (has_file(&j->src, "oci-layout") && has_file(&j->src, "index.json"))
		rc = plan_oci(j, err, errlen);
	else if (has_file(&j->src, "manifest.json"))
		rc = plan_docker(j, err, errlen);
	else
		rc = errfmt(err, errlen, "%s: neither an OCI layout (oci-layout, index.json) nor a docker save (manifest.json)",
			    j->path);
	if (rc < 0)
		goto out;
	if (mkdir(dir, 0755) < 0) {
		rc = errfmt(err, errlen, "%s: %s", dir,
			    errno == EEXIST ? "exists already (give a new directory)" : strerror(errno));
		goto out;
	}
	made = 1;
	if (chmod(dir, 0755) < 0) /* not the umask's idea of it */
		rc = errfmt(err, errlen, "chmod %s: %s", dir, strerror(errno));
	else
		rc = unpack_into(j, dir, metadir, err, errlen);
	if (rc == 0 && o->dg) {
		for (i = 0; i < j->ly.n; i++)
			memcpy(j->dg.layers[i], j->ly.hex[i], sizeof(j->dg.layers[i]));
		j->dg.nlayers = j->ly.n;
		*o->dg = j->dg;
	}
out:
	if (rc < 0 && made)
		remove_dir(dir);
	if (j->src.rootfd >= 0)
		close(j->src.rootfd);
	if (j->work[0])
		remove_dir(j->work);
	for (i = 0; i < j->ly.n; i++)
		free(j->ly.name[i]);
	oci_config_free(&j->cfg);
	free(j);
	return rc;
}
