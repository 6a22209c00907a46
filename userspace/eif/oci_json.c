/* The image's JSON documents (docs/oci.md "What is read"): every field
 * taken is type-checked and bounded; anything else is ignored. */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "eif/oci.h"
#include "lib/core/errfmt.h"

static json_t *load(const char *buf, size_t len, const char *what, char *err, size_t errlen)
{
	json_error_t je;
	json_t *j;

	if (len > OCI_JSON_MAX) {
		errfmt(err, errlen, "%s: %zu bytes of JSON, more than %u", what, len, OCI_JSON_MAX);
		return NULL;
	}
	j = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &je);
	if (!j)
		errfmt(err, errlen, "%s: not JSON: %s (line %d)", what, je.text, je.line);
	return j;
}

/* Copies an optional string field; -1 when present but not a string or too long. */
static int get_str(json_t *o, const char *key, char *out, size_t outsz, const char *what,
		   char *err, size_t errlen)
{
	json_t *v = json_object_get(o, key);

	out[0] = '\0';
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_string(v) || json_string_length(v) >= outsz ||
	    strlen(json_string_value(v)) != json_string_length(v))
		return errfmt(err, errlen, "%s: \"%s\" is not a string of at most %zu bytes", what,
			    key, outsz - 1);
	memcpy(out, json_string_value(v), json_string_length(v) + 1);
	return 0;
}

int oci_digest_parse(const char *s, char hex[OCI_HEX_LEN + 1], char *err, size_t errlen)
{
	size_t i;

	if (strncmp(s, "sha256:", 7) != 0) {
		const char *colon = strchr(s, ':');

		return errfmt(err, errlen, "digest '%.80s': algorithm %.*s is not supported (sha256 only)",
			    s, colon ? (int)(colon - s) : 0, s);
	}
	s += 7;
	for (i = 0; i < OCI_HEX_LEN; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			break;
	if (i != OCI_HEX_LEN || s[i])
		return errfmt(err, errlen, "digest 'sha256:%.80s' is not 64 lower-case hex digits", s);
	memcpy(hex, s, OCI_HEX_LEN + 1);
	return 0;
}

static int parse_desc(json_t *o, struct oci_desc *d, const char *what, char *err, size_t errlen)
{
	json_t *size = json_object_get(o, "size"), *ann, *plat;
	char digest[160];

	memset(d, 0, sizeof(*d));
	if (!json_is_object(o))
		return errfmt(err, errlen, "%s: a descriptor is not an object", what);
	if (get_str(o, "mediaType", d->media, sizeof(d->media), what, err, errlen) < 0 ||
	    get_str(o, "digest", digest, sizeof(digest), what, err, errlen) < 0)
		return -1;
	if (!digest[0])
		return errfmt(err, errlen, "%s: a descriptor has no digest", what);
	if (oci_digest_parse(digest, d->hex, err, errlen) < 0)
		return -1;
	if (!json_is_integer(size) || json_integer_value(size) < 0)
		return errfmt(err, errlen, "%s: descriptor %.19s has no valid size", what, d->hex);
	d->size = (uint64_t)json_integer_value(size);
	ann = json_object_get(o, "annotations");
	if (ann && json_is_object(ann) &&
	    get_str(ann, OCI_REF_ANNOTATION, d->ref, sizeof(d->ref), what, err, errlen) < 0)
		return -1;
	plat = json_object_get(o, "platform");
	if (plat && json_is_object(plat)) {
		d->has_platform = 1;
		if (get_str(plat, "os", d->os, sizeof(d->os), what, err, errlen) < 0 ||
		    get_str(plat, "architecture", d->arch, sizeof(d->arch), what, err, errlen) < 0)
			return -1;
	}
	return 0;
}

int oci_parse_index(const char *buf, size_t len, struct oci_index *out, char *err,
		    size_t errlen)
{
	json_t *j = load(buf, len, "index", err, errlen), *m;
	size_t i;
	int rc = -1;

	memset(out, 0, sizeof(*out));
	if (!j)
		return -1;
	m = json_object_get(j, "manifests");
	if (!json_is_object(j) || !json_is_array(m)) {
		errfmt(err, errlen, "index: no \"manifests\" array");
		goto out;
	}
	if (json_array_size(m) > OCI_INDEX_MAX) {
		errfmt(err, errlen, "index: %zu manifests, more than %d", json_array_size(m),
		       OCI_INDEX_MAX);
		goto out;
	}
	out->d = calloc(json_array_size(m) + 1, sizeof(*out->d));
	if (!out->d) {
		errfmt(err, errlen, "out of memory");
		goto out;
	}
	for (i = 0; i < json_array_size(m); i++, out->n++)
		if (parse_desc(json_array_get(m, i), &out->d[i], "index", err, errlen) < 0)
			goto out;
	rc = 0;
out:
	if (rc < 0)
		oci_index_free(out);
	json_decref(j);
	return rc;
}

void oci_index_free(struct oci_index *ix)
{
	free(ix->d);
	ix->d = NULL;
	ix->n = 0;
}

const char *oci_doc_kind(const char *media, const char *buf, size_t len)
{
	const char *kind = NULL;
	json_t *j;

	if (strcmp(media, OCI_MT_INDEX) == 0 || strcmp(media, DOCKER_MT_LIST) == 0)
		return "index";
	if (strcmp(media, OCI_MT_MANIFEST) == 0 || strcmp(media, DOCKER_MT_MANIFEST) == 0)
		return "manifest";
	if (media[0] || len > OCI_JSON_MAX)
		return NULL;
	/* No media type in the descriptor: the document says what it is. */
	j = json_loadb(buf, len, 0, NULL);
	if (json_is_array(json_object_get(j, "manifests")))
		kind = "index";
	else if (json_is_array(json_object_get(j, "layers")))
		kind = "manifest";
	json_decref(j);
	return kind;
}

int oci_parse_manifest(const char *buf, size_t len, struct oci_manifest *out, char *err,
		       size_t errlen)
{
	json_t *j = load(buf, len, "manifest", err, errlen), *layers;
	size_t i;
	int rc = -1;

	memset(out, 0, sizeof(*out));
	if (!j)
		return -1;
	layers = json_object_get(j, "layers");
	if (!json_is_object(j) || !json_is_array(layers) ||
	    !json_is_object(json_object_get(j, "config"))) {
		errfmt(err, errlen, "manifest: no \"config\" object or \"layers\" array");
		goto out;
	}
	if (json_array_size(layers) > OCI_LAYERS_MAX) {
		errfmt(err, errlen, "manifest: %zu layers, more than %d", json_array_size(layers),
		       OCI_LAYERS_MAX);
		goto out;
	}
	if (parse_desc(json_object_get(j, "config"), &out->config, "manifest config", err,
		       errlen) < 0)
		goto out;
	for (i = 0; i < json_array_size(layers); i++, out->nlayers++)
		if (parse_desc(json_array_get(layers, i), &out->layers[i], "manifest layer", err,
			       errlen) < 0)
			goto out;
	rc = 0;
out:
	json_decref(j);
	return rc;
}

static void strv_free(struct oci_strv *s)
{
	size_t i;

	for (i = 0; i < s->n; i++)
		free(s->v[i]);
	free(s->v);
	s->v = NULL;
	s->n = 0;
}

/* An optional array of strings (null = absent). NUL inside is refused:
 * nothing downstream could carry it. */
static int get_strv(json_t *o, const char *key, struct oci_strv *out, char *err, size_t errlen)
{
	json_t *a = json_object_get(o, key);
	size_t i;

	memset(out, 0, sizeof(*out));
	if (!a || json_is_null(a))
		return 0;
	if (!json_is_array(a) || json_array_size(a) > OCI_ARGS_MAX)
		return errfmt(err, errlen, "config: \"%s\" is not an array of at most %d strings",
			    key, OCI_ARGS_MAX);
	out->v = calloc(json_array_size(a) + 1, sizeof(char *));
	if (!out->v)
		return errfmt(err, errlen, "out of memory");
	for (i = 0; i < json_array_size(a); i++) {
		json_t *s = json_array_get(a, i);

		if (!json_is_string(s) || strlen(json_string_value(s)) != json_string_length(s))
			return errfmt(err, errlen, "config: \"%s\"[%zu] is not a string without NUL",
				    key, i);
		out->v[i] = strdup(json_string_value(s));
		if (!out->v[i])
			return errfmt(err, errlen, "out of memory");
		out->n++;
	}
	return 0;
}

static int get_dup(json_t *o, const char *key, char **out, char *err, size_t errlen)
{
	json_t *v = json_object_get(o, key);

	*out = NULL;
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_string(v) || strlen(json_string_value(v)) != json_string_length(v) ||
	    json_string_length(v) > OCI_NAME_MAX)
		return errfmt(err, errlen, "config: \"%s\" is not a string without NUL", key);
	*out = strdup(json_string_value(v));
	return *out ? 0 : errfmt(err, errlen, "out of memory");
}

static int parse_diff_ids(json_t *j, struct oci_config *c, char *err, size_t errlen)
{
	json_t *ids = json_object_get(json_object_get(j, "rootfs"), "diff_ids");
	size_t i;

	if (!ids)
		return 0;
	if (!json_is_array(ids) || json_array_size(ids) > OCI_LAYERS_MAX)
		return errfmt(err, errlen, "config: rootfs.diff_ids is not an array of at most %d",
			    OCI_LAYERS_MAX);
	for (i = 0; i < json_array_size(ids); i++, c->ndiff++) {
		json_t *s = json_array_get(ids, i);

		if (!json_is_string(s))
			return errfmt(err, errlen, "config: rootfs.diff_ids[%zu] is not a string", i);
		if (oci_digest_parse(json_string_value(s), c->diff_ids[i], err, errlen) < 0)
			return -1;
	}
	return 0;
}

int oci_parse_config(const char *buf, size_t len, struct oci_config *c, char *err,
		     size_t errlen)
{
	json_t *j = load(buf, len, "config", err, errlen), *cfg;
	int rc = -1;

	memset(c, 0, sizeof(*c));
	if (!j)
		return -1;
	if (!json_is_object(j)) {
		errfmt(err, errlen, "config: not an object");
		goto out;
	}
	if (get_str(j, "os", c->os, sizeof(c->os), "config", err, errlen) < 0 ||
	    get_str(j, "architecture", c->arch, sizeof(c->arch), "config", err, errlen) < 0 ||
	    parse_diff_ids(j, c, err, errlen) < 0)
		goto out;
	cfg = json_object_get(j, "config");
	if (cfg && !json_is_null(cfg)) {
		if (!json_is_object(cfg)) {
			errfmt(err, errlen, "config: \"config\" is not an object");
			goto out;
		}
		if (get_strv(cfg, "Entrypoint", &c->entrypoint, err, errlen) < 0 ||
		    get_strv(cfg, "Cmd", &c->cmd, err, errlen) < 0 ||
		    get_strv(cfg, "Env", &c->env, err, errlen) < 0 ||
		    get_dup(cfg, "WorkingDir", &c->workdir, err, errlen) < 0 ||
		    get_dup(cfg, "User", &c->user, err, errlen) < 0)
			goto out;
	}
	rc = 0;
out:
	if (rc < 0)
		oci_config_free(c);
	json_decref(j);
	return rc;
}

void oci_config_free(struct oci_config *c)
{
	strv_free(&c->entrypoint);
	strv_free(&c->cmd);
	strv_free(&c->env);
	free(c->workdir);
	free(c->user);
	c->workdir = c->user = NULL;
}

static int docker_has_tag(json_t *img, const char *ref)
{
	json_t *tags = json_object_get(img, "RepoTags");
	size_t i;

	for (i = 0; json_is_array(tags) && i < json_array_size(tags); i++) {
		const char *t = json_string_value(json_array_get(tags, i));

		if (t && strcmp(t, ref) == 0)
			return 1;
	}
	return 0;
}

static int docker_pick(json_t *j, const char *ref, json_t **img, char *err, size_t errlen)
{
	size_t i;

	*img = NULL;
	if (!json_is_array(j) || json_array_size(j) == 0)
		return errfmt(err, errlen, "manifest.json: not a non-empty array");
	if (!ref) {
		if (json_array_size(j) != 1)
			return errfmt(err, errlen,
				    "manifest.json: %zu images; name one as IMAGE:REPO:TAG",
				    json_array_size(j));
		*img = json_array_get(j, 0);
		return 0;
	}
	for (i = 0; i < json_array_size(j) && !*img; i++)
		if (docker_has_tag(json_array_get(j, i), ref))
			*img = json_array_get(j, i);
	return *img ? 0 : errfmt(err, errlen, "manifest.json: no image tagged '%.200s'", ref);
}

static int dup_name(json_t *s, char **out, const char *what, char *err, size_t errlen)
{
	if (!json_is_string(s) || json_string_length(s) == 0 ||
	    json_string_length(s) > OCI_NAME_MAX ||
	    strlen(json_string_value(s)) != json_string_length(s))
		return errfmt(err, errlen, "manifest.json: %s is not a file name", what);
	*out = strdup(json_string_value(s));
	return *out ? 0 : errfmt(err, errlen, "out of memory");
}

int oci_parse_docker(const char *buf, size_t len, const char *ref, struct oci_docker *out,
		     char *err, size_t errlen)
{
	json_t *j = load(buf, len, "manifest.json", err, errlen), *img, *layers;
	size_t i;
	int rc = -1;

	memset(out, 0, sizeof(*out));
	if (!j)
		return -1;
	if (docker_pick(j, ref, &img, err, errlen) < 0)
		goto out;
	layers = json_object_get(img, "Layers");
	if (!json_is_object(img) || !json_is_array(layers) ||
	    json_array_size(layers) > OCI_LAYERS_MAX) {
		errfmt(err, errlen, "manifest.json: no \"Layers\" array of at most %d",
		       OCI_LAYERS_MAX);
		goto out;
	}
	if (dup_name(json_object_get(img, "Config"), &out->config, "Config", err, errlen) < 0)
		goto out;
	for (i = 0; i < json_array_size(layers); i++, out->nlayers++)
		if (dup_name(json_array_get(layers, i), &out->layers[i], "a layer", err, errlen) < 0)
			goto out;
	rc = 0;
out:
	if (rc < 0)
		oci_docker_free(out);
	json_decref(j);
	return rc;
}

void oci_docker_free(struct oci_docker *d)
{
	size_t i;

	free(d->config);
	for (i = 0; i < d->nlayers; i++)
		free(d->layers[i]);
	memset(d, 0, sizeof(*d));
}

int oci_layer_media_ok(const char *m)
{
	static const char *const ok[] = {
		"application/vnd.oci.image.layer.v1.tar",
		"application/vnd.oci.image.layer.v1.tar+gzip",
		"application/vnd.oci.image.layer.v1.tar+zstd",
		"application/vnd.oci.image.layer.nondistributable.v1.tar",
		"application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
		"application/vnd.oci.image.layer.nondistributable.v1.tar+zstd",
		"application/vnd.docker.image.rootfs.diff.tar.gzip",
		"application/vnd.docker.image.rootfs.foreign.diff.tar.gzip",
	};
	size_t i;

	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
		if (strcmp(m, ok[i]) == 0)
			return 1;
	return 0;
}

int oci_parse_layout(const char *buf, size_t len, char *err, size_t errlen)
{
	json_t *j = load(buf, len, "oci-layout", err, errlen);
	const char *v;
	int rc;

	if (!j)
		return -1;
	v = json_string_value(json_object_get(j, "imageLayoutVersion"));
	rc = v && strcmp(v, "1.0.0") == 0 ? 0 :
	     errfmt(err, errlen, "oci-layout: imageLayoutVersion is not \"1.0.0\"");
	json_decref(j);
	return rc;
}
