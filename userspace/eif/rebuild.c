/* `eif rebuild PROVENANCE` (docs/provenance.md): the record read back
 * strictly, every input checked against its digest, the image built again
 * from the recorded parameters, and the first difference named. */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "eif/prov.h"
#include "lib/core/cli.h"
#include "lib/core/errfmt.h"
#include "lib/core/log.h"
#include "lib/core/parse.h"

struct rebuild {
	json_t *root, *params, *deps, *byp;
	const char *subject;
	struct prov_input over[PROV_INPUTS_MAX];
	size_t nover;
	char diff[OCI_ERR_MAX];		/* the first difference, "" while none */
};

static const char *str_at(json_t *o, const char *path)
{
	char key[64];
	const char *dot;

	while ((dot = strchr(path, '.')) != NULL) {
		snprintf(key, sizeof(key), "%.*s", (int)(dot - path), path);
		o = json_object_get(o, key);
		path = dot + 1;
	}
	return json_string_value(json_object_get(o, path));
}

static int load(struct rebuild *r, const char *path, char *err, size_t errlen)
{
	json_error_t je;
	json_t *sub;

	r->root = json_load_file(path, JSON_REJECT_DUPLICATES, &je);
	if (!r->root)
		return errfmt(err, errlen, "%s: %s (line %d)", path, je.text, je.line);
	if (!str_at(r->root, "_type") || strcmp(str_at(r->root, "_type"), PROV_STATEMENT) != 0 ||
	    !str_at(r->root, "predicateType") ||
	    strcmp(str_at(r->root, "predicateType"), PROV_PREDICATE) != 0 ||
	    !str_at(r->root, "predicate.buildDefinition.buildType") ||
	    strcmp(str_at(r->root, "predicate.buildDefinition.buildType"), PROV_BUILD_TYPE) != 0)
		return errfmt(err, errlen, "%s: not an eif build provenance (%s, %s, %s)", path,
			    PROV_STATEMENT, PROV_PREDICATE, PROV_BUILD_TYPE);
	sub = json_array_get(json_object_get(r->root, "subject"), 0);
	r->subject = str_at(sub, "digest.sha256");
	r->params = json_object_get(json_object_get(json_object_get(r->root, "predicate"),
						    "buildDefinition"), "externalParameters");
	r->deps = json_object_get(json_object_get(json_object_get(r->root, "predicate"),
						  "buildDefinition"), "resolvedDependencies");
	r->byp = json_object_get(json_object_get(json_object_get(r->root, "predicate"),
						 "runDetails"), "byproducts");
	if (!r->subject || !json_is_object(r->params) || !json_is_array(r->deps) ||
	    !json_is_array(r->byp))
		return errfmt(err, errlen, "%s: subject, externalParameters, resolvedDependencies or byproducts missing",
			    path);
	return 0;
}

static int load_checked(struct rebuild *r, const char *path, char *err, size_t errlen)
{
	struct stat st;

	if (stat(path, &st) < 0)
		return errfmt(err, errlen, "%s: %s", path, strerror(errno));
	if (!S_ISREG(st.st_mode) || (uint64_t)st.st_size > PROV_MAX)
		return errfmt(err, errlen, "%s: not a regular file of at most %u bytes", path, PROV_MAX);
	return load(r, path, err, errlen);
}

static const char *override(const struct rebuild *r, const char *name)
{
	size_t i;

	for (i = 0; i < r->nover; i++)
		if (strcmp(r->over[i].name, name) == 0)
			return r->over[i].path;
	return NULL;
}

/* The path of a file: input, the override first. */
static const char *input_path(const struct rebuild *r, json_t *dep)
{
	const char *name = str_at(dep, "name"), *uri = str_at(dep, "uri"), *o;

	if (!name)
		return NULL;
	o = override(r, name);
	if (o)
		return o;
	return uri && strncmp(uri, "file:", 5) == 0 ? uri + 5 : NULL;
}

static json_t *dep_named(json_t *arr, const char *name)
{
	size_t i;

	for (i = 0; i < json_array_size(arr); i++)
		if (str_at(json_array_get(arr, i), "name") &&
		    strcmp(str_at(json_array_get(arr, i), "name"), name) == 0)
			return json_array_get(arr, i);
	return NULL;
}

static void differs(struct rebuild *r, const char *what, const char *got, const char *want)
{
	if (!r->diff[0])
		snprintf(r->diff, sizeof(r->diff), "%.600s differs: %.16s..., the provenance says %.16s...",
			 what, got, want ? want : "nothing");
}

/* Step 1: every file input that is a file, by digest, before building. */
static int check_files(struct rebuild *r, char *err, size_t errlen)
{
	size_t i;

	for (i = 0; i < json_array_size(r->deps) && !r->diff[0]; i++) {
		json_t *d = json_array_get(r->deps, i);
		const char *path = input_path(r, d), *want = str_at(d, "digest.sha256");
		char hex[OCI_HEX_LEN + 1], what[PATH_MAX + 64];
		struct stat st;

		if (!path)
			continue;
		if (!want)
			return errfmt(err, errlen, "input %s: no sha256", str_at(d, "name"));
		if (stat(path, &st) < 0)
			return errfmt(err, errlen, "input %s (%s): %s", str_at(d, "name"), path,
				    strerror(errno));
		if (S_ISDIR(st.st_mode))
			continue; /* a directory ramdisk: compared as its section */
		if (prov_sha256_file(path, hex, err, errlen) < 0)
			return -1;
		snprintf(what, sizeof(what), "input %s (%s)", str_at(d, "name"), path);
		if (strcmp(hex, want) != 0)
			differs(r, what, hex, want);
	}
	return 0;
}

static int get_u64(json_t *p, const char *key, uint64_t *v)
{
	json_t *j = json_object_get(p, key);

	if (!json_is_integer(j) || json_integer_value(j) < 0)
		return -1;
	*v = (uint64_t)json_integer_value(j);
	return 0;
}

/* The recorded parameters as build options; strings stay owned by r->root. */
static int params_to_opts(struct rebuild *r, struct eif_build_opts *o, struct oci_unpack_opts *img,
			  char *err, size_t errlen)
{
	json_t *p = r->params, *rd = json_object_get(p, "ramdisks"), *image;
	uint64_t epoch;
	size_t i;

	o->kernel = input_path(r, dep_named(r->deps, "kernel"));
	o->cmdline = str_at(p, "cmdline");
	o->meta.name = str_at(p, "name");
	o->meta.version = str_at(p, "version");
	o->meta.build_time = str_at(p, "build_time");
	o->meta.build_tool = str_at(p, "build_tool");
	o->meta.build_tool_version = str_at(p, "build_tool_version");
	o->meta.os = str_at(p, "os");
	o->meta.kernel_version = str_at(p, "kernel_version");
	if (!o->kernel || !o->cmdline || !o->meta.name || !o->meta.version || !o->meta.build_time ||
	    !o->meta.build_tool || !o->meta.build_tool_version || !o->meta.os ||
	    !o->meta.kernel_version || !json_is_array(rd) ||
	    json_array_size(rd) > EIF_MAX_SECTIONS - 5 || get_u64(p, "source_date_epoch", &epoch) < 0 ||
	    epoch > UINT32_MAX || !str_at(p, "arch"))
		return errfmt(err, errlen, "the provenance's externalParameters are incomplete");
	o->flags = strcmp(str_at(p, "arch"), "aarch64") == 0 ? EIF_FLAG_AARCH64 : 0;
	o->mtime = (uint32_t)epoch;
	for (i = 0; i < json_array_size(rd); i++) {
		char name[32];

		snprintf(name, sizeof(name), "ramdisk%zu", i);
		o->ramdisks[i] = input_path(r, dep_named(r->deps, name));
		if (!o->ramdisks[i])
			return errfmt(err, errlen, "the provenance has no input %s", name);
	}
	o->nramdisks = (unsigned)i;
	image = json_object_get(p, "image");
	if (json_is_string(image)) {
		img->image = override(r, "image") ? override(r, "image") : json_string_value(image);
		img->cmd = json_string_value(json_object_get(p, "cmd"));
		if (get_u64(p, "max_size", &img->lim.max_size) < 0 ||
		    get_u64(p, "max_ratio", &img->lim.max_ratio) < 0)
			return errfmt(err, errlen, "the provenance's image limits are missing");
	}
	return 0;
}

/* Step 2: the image's digests as the unpack found them. */
static void check_image(struct rebuild *r, const struct oci_digests *dg)
{
	json_t *d = dep_named(r->deps, "image");
	size_t i;

	if (!d)
		return;
	if (strcmp(dg->top, str_at(d, "digest.sha256") ? str_at(d, "digest.sha256") : "") != 0)
		differs(r, dg->docker ? "input image (its config)" : "input image (its manifest)",
			dg->top, str_at(d, "digest.sha256"));
	d = dep_named(r->deps, "image config");
	if (!d || strcmp(dg->config, str_at(d, "digest.sha256") ? str_at(d, "digest.sha256") : "") != 0)
		differs(r, "input image config", dg->config, d ? str_at(d, "digest.sha256") : NULL);
	for (i = 0; i < dg->nlayers; i++) {
		char name[48];

		snprintf(name, sizeof(name), "image layer %zu", i);
		d = dep_named(r->deps, name);
		if (!d || strcmp(dg->layers[i], str_at(d, "digest.sha256") ? str_at(d, "digest.sha256") : "") != 0) {
			char what[64];

			snprintf(what, sizeof(what), "input %s", name);
			differs(r, what, dg->layers[i], d ? str_at(d, "digest.sha256") : NULL);
		}
	}
}

/* A PCR byproduct: compared when sections is 0. */
static void check_one(struct rebuild *r, json_t *b, int sections, const struct prov_sections *s,
		      const uint8_t *const pcr[3])
{
	const char *name = str_at(b, "name");
	char hex[2 * PCR_LEN + 1] = "";
	unsigned k;

	if (!name)
		return;
	if (strncmp(name, "PCR", 3) == 0 && name[3] >= '0' && name[3] <= '2' && !name[4]) {
		if (sections)
			return;
		format_hex(pcr[name[3] - '0'], PCR_LEN, hex);
		if (!str_at(b, "digest.sha384") || strcmp(hex, str_at(b, "digest.sha384")) != 0)
			differs(r, name, hex, str_at(b, "digest.sha384"));
		return;
	}
	if (!sections)
		return;
	for (k = 0; k < s->n; k++)
		if (strncmp(name, "section ", 8) == 0 && strcmp(name + 8, s->name[k]) == 0)
			snprintf(hex, sizeof(hex), "%s", s->hex[k]);
	if (!str_at(b, "digest.sha256") || strcmp(hex, str_at(b, "digest.sha256")) != 0)
		differs(r, name, hex[0] ? hex : "(absent)", str_at(b, "digest.sha256"));
}

/* Step 3: the sections first (they say where), then the PCRs. */
static void check_outputs(struct rebuild *r, const struct prov_sections *s,
			  const struct eif_pcrs *pcrs)
{
	const uint8_t *const pcr[3] = { pcrs->pcr0, pcrs->pcr1, pcrs->pcr2 };
	int pass;
	size_t i;

	for (pass = 1; pass >= 0; pass--)
		for (i = 0; i < json_array_size(r->byp) && !r->diff[0]; i++)
			check_one(r, json_array_get(r->byp, i), pass, s, pcr);
	if (strcmp(s->file, r->subject) != 0)
		differs(r, "the EIF", s->file, r->subject);
}

static void report(const struct rebuild *r, const struct prov_sections *s, int json)
{
	if (json)
		printf("{\"identical\":%s,\"sha256\":\"%s\",\"first_difference\":%s%s%s}\n",
		       r->diff[0] ? "false" : "true", s->file, r->diff[0] ? "\"" : "",
		       r->diff[0] ? r->diff : "null", r->diff[0] ? "\"" : "");
	else if (r->diff[0])
		printf("%s\n", r->diff);
	else
		printf("identical: sha256 %s\n", s->file);
}

/* Builds into out (or a temporary directory's file) and compares. */
static int rebuild_and_compare(struct rebuild *r, struct eif_build_opts *o,
			       struct oci_unpack_opts *img, const char *out, int json, char *err,
			       size_t errlen)
{
	const char *tmp = getenv("TMPDIR");
	char dir[PATH_MAX], path[PATH_MAX + 16];
	struct prov_sections sec;
	struct oci_digests dg;
	struct eif_pcrs pcrs;
	int rc = -1;

	dir[0] = '\0';
	if (!out) {
		snprintf(dir, sizeof(dir), "%s/eif-rebuild.XXXXXX", tmp && *tmp ? tmp : "/tmp");
		if (!mkdtemp(dir))
			return errfmt(err, errlen, "temporary directory: %s", strerror(errno));
		snprintf(path, sizeof(path), "%s/rebuilt.eif", dir);
		out = path;
	}
	o->output = out;
	img->dg = &dg;
	memset(&dg, 0, sizeof(dg));
	if (oci_build(o, img, &pcrs, err, errlen) == 0 &&
	    prov_sections_of(out, &sec, err, errlen) == 0) {
		if (img->image)
			check_image(r, &dg);
		check_outputs(r, &sec, &pcrs);
		report(r, &sec, json);
		rc = r->diff[0] ? 1 : 0;
	}
	if (dir[0]) {
		unlink(path);
		rmdir(dir);
	}
	return rc;
}

int cmd_rebuild(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "input", required_argument, NULL, 'i' },
		{ "output", required_argument, NULL, 'o' },
		{ "json", no_argument, NULL, 'j' },
		CLI_COMMON_LONGOPTS,
		{ NULL, 0, NULL, 0 },
	};
	static struct rebuild r;
	const char *ramdisks[EIF_MAX_SECTIONS], *out = NULL, *ver;
	struct eif_build_opts o = { .ramdisks = ramdisks };
	struct oci_unpack_opts img;
	char err[OCI_ERR_MAX];
	int c, json = 0, rc;

	oci_opts_init(&img);
	while ((c = getopt_long(argc, argv, "i:o:j" CLI_COMMON_SHORTOPTS, opts, NULL)) != -1) {
		if (c == 'i') {
			if (r.nover >= PROV_INPUTS_MAX || prov_input_parse(optarg, &r.over[r.nover]) < 0)
				return cli_usage_error("--input '%s': NAME=PATH", optarg);
			r.nover++;
		} else if (c == 'o') {
			out = optarg;
		} else if (c == 'j') {
			json = 1;
		} else if (cli_common_opt(c) != CLI_OK) {
			return CLI_USAGE;
		}
	}
	if (argc - optind != 1)
		return cli_usage_error("PROVENANCE is required");
	if (load_checked(&r, argv[optind], err, sizeof(err)) < 0 ||
	    params_to_opts(&r, &o, &img, err, sizeof(err)) < 0) {
		json_decref(r.root);
		cli_fail("%s", err);
		return CLI_USAGE;
	}
	ver = str_at(r.root, "predicate.runDetails.builder.version.nek");
	if (ver && strcmp(ver, nek_version()) != 0)
		log_warn("the record was written by nek %s, this is %s", ver, nek_version());
	rc = check_files(&r, err, sizeof(err));
	if (rc == 0 && r.diff[0]) {
		struct prov_sections none = { .file = "" };

		report(&r, &none, json);
		rc = 1;
	} else if (rc == 0) {
		rc = rebuild_and_compare(&r, &o, &img, out, json, err, sizeof(err));
	}
	json_decref(r.root);
	if (rc < 0)
		return cli_fail("%s", err);
	return rc ? CLI_FAIL : CLI_OK;
}
