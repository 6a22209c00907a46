/* Provenance of an EIF (docs/provenance.md): what `eif build --provenance`
 * writes and `eif rebuild` checks.
 *
 *   provenance.c  digests of an EIF's sections, the record written as JSON
 *   rebuild.c     `eif rebuild`: the record read back, inputs checked,
 *                 the image built again and compared
 */
#ifndef NEK_EIF_PROV_H
#define NEK_EIF_PROV_H

#include <stddef.h>
#include <stdint.h>

#include "eif/eif.h"
#include "eif/oci.h"

#define PROV_MAX (1u << 20)		/* bytes of a record eif rebuild reads */
#define PROV_INPUTS_MAX 256
#define PROV_BUILD_TYPE "urn:nek:eif-build:v1"
#define PROV_BUILDER "urn:nek:eif"
#define PROV_STATEMENT "https://in-toto.io/Statement/v1"
#define PROV_PREDICATE "https://slsa.dev/provenance/v1"

struct prov_input {
	const char *name, *path;
};

/* The digests of a built image: the file, and each section's data. */
struct prov_sections {
	char file[OCI_HEX_LEN + 1];
	unsigned n;
	char name[EIF_MAX_SECTIONS][24];	/* "kernel", "ramdisk0", ... */
	char hex[EIF_MAX_SECTIONS][OCI_HEX_LEN + 1];
};
int prov_sections_of(const char *eif_path, struct prov_sections *s, char *err, size_t errlen);
/* SHA-256 of a whole file, lower-case hex. */
int prov_sha256_file(const char *path, char hex[OCI_HEX_LEN + 1], char *err, size_t errlen);

/* Everything one build used and produced. */
struct prov_build {
	const struct eif_build_opts *o;	/* o->nramdisks counts the user's only */
	int any_kernel;
	uint64_t epoch;
	const struct oci_unpack_opts *img;	/* image NULL: none */
	const struct oci_digests *dg;
	const struct prov_input *inputs;
	size_t ninputs;
	const struct prov_input *packages;	/* Debian NAME=VERSION, informational */
	size_t npackages;
	const struct eif_pcrs *pcrs;
	const struct prov_sections *sec;
};
/* Writes the record to path (replaced atomically). */
int prov_write(const char *path, const struct prov_build *b, char *err, size_t errlen);

/* "NAME=PATH" into in; -1 when malformed. */
int prov_input_parse(char *arg, struct prov_input *in);

int cmd_rebuild(int argc, char **argv);

#endif
