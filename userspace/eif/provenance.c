/* The record of docs/provenance.md, written: an in-toto Statement with a
 * SLSA v1 predicate naming every input by digest. */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "eif/prov.h"
#include "lib/core/cli.h"
#include "lib/core/errfmt.h"
#include "lib/core/fdio.h"
#include "lib/core/outfile.h"
#include "lib/core/parse.h"

#define CHUNK (1u << 20)

/* SHA-256 of len bytes of src at off. */
static int hash_range(const struct eif_src *src, uint64_t off, uint64_t len,
		      char hex[OCI_HEX_LEN + 1], char *err, size_t errlen)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	unsigned char md[32];
	char *buf = malloc(CHUNK);
	int rc = -1;

	if (!ctx || !buf || !EVP_DigestInit_ex(ctx, EVP_sha256(), NULL)) {
		errfmt(err, errlen, "out of memory");
		goto out;
	}
	while (len) {
		size_t n = len < CHUNK ? (size_t)len : CHUNK;

		if (src->read_at(src->ctx, buf, n, off, err, errlen) < 0 ||
		    !EVP_DigestUpdate(ctx, buf, n))
			goto out;
		off += n;
		len -= n;
	}
	if (!EVP_DigestFinal_ex(ctx, md, NULL))
		goto out;
	format_hex(md, sizeof(md), hex);
	rc = 0;
out:
	free(buf);
	EVP_MD_CTX_free(ctx);
	return rc;
}

int prov_sha256_file(const char *path, char hex[OCI_HEX_LEN + 1], char *err, size_t errlen)
{
	struct eif_src src;
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC), rc;

	if (fd < 0)
		return errfmt(err, errlen, "%s: %s", path, strerror(errno));
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return errfmt(err, errlen, "%s: not a regular file", path);
	}
	eif_src_fd(&src, &fd, (uint64_t)st.st_size);
	rc = hash_range(&src, 0, (uint64_t)st.st_size, hex, err, errlen);
	close(fd);
	return rc;
}

int prov_sections_of(const char *eif_path, struct prov_sections *s, char *err, size_t errlen)
{
	struct eif_image img;
	struct eif_src src;
	struct stat st;
	unsigned i, nrd = 0;
	int fd, rc = -1;

	memset(s, 0, sizeof(*s));
	if (prov_sha256_file(eif_path, s->file, err, errlen) < 0)
		return -1;
	fd = open(eif_path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0) {
		errfmt(err, errlen, "%s: %s", eif_path, strerror(errno));
		goto out;
	}
	eif_src_fd(&src, &fd, (uint64_t)st.st_size);
	if (eif_open(&src, &img, err, errlen) < 0)
		goto out;
	for (i = 0; i < img.nsec; i++) {
		const struct eif_sec *sec = &img.sec[i];

		if (sec->type == EIF_SEC_RAMDISK)
			snprintf(s->name[i], sizeof(s->name[i]), "ramdisk%u", nrd++);
		else
			snprintf(s->name[i], sizeof(s->name[i]), "%s", eif_sec_name(sec->type));
		if (hash_range(&src, sec->off + EIF_SEC_HDR_LEN, sec->size, s->hex[i], err,
			       errlen) < 0)
			goto out;
	}
	s->n = img.nsec;
	rc = 0;
out:
	if (fd >= 0)
		close(fd);
	return rc;
}

int prov_input_parse(char *arg, struct prov_input *in)
{
	char *eq = strchr(arg, '=');

	if (!eq || eq == arg || !eq[1])
		return -1;
	*eq = '\0';
	in->name = arg;
	in->path = eq + 1;
	return 0;
}

static json_t *dep(const char *name, const char *uri, const char *alg, const char *hex)
{
	json_t *d = json_pack("{s:s}", "name", name);

	if (d && uri)
		json_object_set_new(d, "uri", json_string(uri));
	if (d)
		json_object_set_new(d, "digest", json_pack("{s:s}", alg, hex));
	return d;
}

static const char *section_hex(const struct prov_sections *s, const char *name)
{
	unsigned i;

	for (i = 0; i < s->n; i++)
		if (strcmp(s->name[i], name) == 0)
			return s->hex[i];
	return "";
}

static int add_file_dep(json_t *deps, const char *name, const char *path, const char *hex)
{
	char uri[4200];

	snprintf(uri, sizeof(uri), "file:%s", path);
	return json_array_append_new(deps, dep(name, uri, "sha256", hex));
}

static int image_deps(json_t *deps, const struct prov_build *b)
{
	char uri[4200];
	size_t i;
	int rc;

	snprintf(uri, sizeof(uri), "%s:%s", b->dg->docker ? "docker" : "oci", b->img->image);
	rc = json_array_append_new(deps, dep("image", uri, "sha256", b->dg->top));
	rc |= json_array_append_new(deps, dep("image config", NULL, "sha256", b->dg->config));
	for (i = 0; i < b->dg->nlayers; i++) {
		char name[48];

		snprintf(name, sizeof(name), "image layer %zu", i);
		rc |= json_array_append_new(deps, dep(name, NULL, "sha256", b->dg->layers[i]));
	}
	return rc;
}

/* A Debian package by name and version: a purl, and the snapshot archive
 * page that keeps every version ever published (the mirror keeps one). */
static json_t *package_dep(const struct prov_input *p)
{
	char name[300], uri[600], snap[400];

	snprintf(name, sizeof(name), "debian:%s", p->name);
	snprintf(uri, sizeof(uri), "pkg:deb/debian/%s@%s?arch=amd64", p->name, p->path);
	snprintf(snap, sizeof(snap), "https://snapshot.debian.org/binary/%s/", p->name);
	return json_pack("{s:s, s:s, s:{s:s}}", "name", name, "uri", uri, "annotations",
			 "snapshot", snap);
}

static json_t *resolved(const struct prov_build *b, char *err, size_t errlen)
{
	json_t *deps = json_array();
	unsigned i;
	int rc;

	if (!deps)
		return NULL;
	/* The kernel's and the ramdisks' bytes are their sections' bytes. */
	rc = add_file_dep(deps, "kernel", b->o->kernel, section_hex(b->sec, "kernel"));
	for (i = 0; i < b->o->nramdisks; i++) {
		char name[24];

		snprintf(name, sizeof(name), "ramdisk%u", i);
		rc |= add_file_dep(deps, name, b->o->ramdisks[i], section_hex(b->sec, name));
	}
	if (b->img)
		rc |= image_deps(deps, b);
	for (i = 0; i < b->ninputs && rc == 0; i++) {
		char hex[OCI_HEX_LEN + 1];

		if (prov_sha256_file(b->inputs[i].path, hex, err, errlen) < 0) {
			json_decref(deps);
			return NULL;
		}
		rc = add_file_dep(deps, b->inputs[i].name, b->inputs[i].path, hex);
	}
	for (i = 0; i < b->npackages && rc == 0; i++)
		rc = json_array_append_new(deps, package_dep(&b->packages[i]));
	if (rc) {
		json_decref(deps);
		errfmt(err, errlen, "out of memory");
		return NULL;
	}
	return deps;
}

static json_t *params(const struct prov_build *b)
{
	const struct eif_build_opts *o = b->o;
	json_t *rd = json_array(), *p;
	unsigned i;

	for (i = 0; rd && i < o->nramdisks; i++)
		json_array_append_new(rd, json_string(o->ramdisks[i]));
	p = json_pack("{s:s, s:s, s:I, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:b, s:o}",
		      "cmdline", o->cmdline, "arch", o->flags & EIF_FLAG_AARCH64 ? "aarch64" : "x86_64",
		      "source_date_epoch", (json_int_t)b->epoch, "name", o->meta.name,
		      "version", o->meta.version, "build_time", o->meta.build_time,
		      "build_tool", o->meta.build_tool, "build_tool_version", o->meta.build_tool_version,
		      "os", o->meta.os, "kernel_version", o->meta.kernel_version,
		      "any_kernel", b->any_kernel, "ramdisks", rd);
	if (!p)
		return NULL;
	json_object_set_new(p, "image", b->img ? json_string(b->img->image) : json_null());
	json_object_set_new(p, "cmd", b->img && b->img->cmd ? json_string(b->img->cmd) : json_null());
	json_object_set_new(p, "max_size", json_integer((json_int_t)(b->img ? b->img->lim.max_size : 0)));
	json_object_set_new(p, "max_ratio", json_integer((json_int_t)(b->img ? b->img->lim.max_ratio : 0)));
	return p;
}

static json_t *byproducts(const struct prov_build *b)
{
	const uint8_t *pcr[3] = { b->pcrs->pcr0, b->pcrs->pcr1, b->pcrs->pcr2 };
	json_t *a = json_array();
	unsigned i;

	for (i = 0; a && i < 3; i++) {
		char name[8], hex[2 * PCR_LEN + 1];

		snprintf(name, sizeof(name), "PCR%u", i);
		format_hex(pcr[i], PCR_LEN, hex);
		json_array_append_new(a, dep(name, NULL, "sha384", hex));
	}
	for (i = 0; a && i < b->sec->n; i++) {
		char name[40];

		snprintf(name, sizeof(name), "section %s", b->sec->name[i]);
		json_array_append_new(a, dep(name, NULL, "sha256", b->sec->hex[i]));
	}
	return a;
}

static json_t *statement(const struct prov_build *b, char *err, size_t errlen)
{
	const char *base = strrchr(b->o->output, '/');
	json_t *deps = resolved(b, err, errlen), *st;

	if (!deps)
		return NULL;
	st = json_pack("{s:s, s:[{s:s, s:{s:s}}], s:s, s:{s:{s:s, s:o, s:o}, s:{s:{s:s, s:{s:s}}, s:o}}}",
		       "_type", PROV_STATEMENT,
		       "subject", "name", base ? base + 1 : b->o->output, "digest", "sha256", b->sec->file,
		       "predicateType", PROV_PREDICATE,
		       "predicate", "buildDefinition", "buildType", PROV_BUILD_TYPE,
		       "externalParameters", params(b), "resolvedDependencies", deps,
		       "runDetails", "builder", "id", PROV_BUILDER, "version", "nek", nek_version(),
		       "byproducts", byproducts(b));
	if (!st)
		errfmt(err, errlen, "out of memory");
	return st;
}

int prov_write(const char *path, const struct prov_build *b, char *err, size_t errlen)
{
	json_t *st = statement(b, err, errlen);
	struct outfile of;
	char *text;
	int rc = -1;

	if (!st)
		return -1;
	text = json_dumps(st, JSON_COMPACT);
	json_decref(st);
	if (!text)
		return errfmt(err, errlen, "out of memory");
	if (outfile_open(&of, path, 0, err, errlen) == 0) {
		if (fd_write_all(of.fd, text, strlen(text)) < 0 || fd_write_all(of.fd, "\n", 1) < 0) {
			errfmt(err, errlen, "%s: %s", path, strerror(errno));
			outfile_abort(&of);
		} else {
			rc = outfile_commit(&of, err, errlen);
		}
	}
	free(text);
	return rc;
}
