/* eif: build, inspect, measure, verify and unpack Enclave Image Files; see
 * docs/eif.md. */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "eif/cmd.h"
#include "lib/core/cli.h"
#include "eif/cpio.h"
#include "eif/oci.h"
#include "eif/prov.h"
#include "lib/core/log.h"
#include "lib/core/outfile.h"
#include "lib/core/parse.h"
#include "lib/core/utf8.h"

static const struct option build_opts[] = {
	{ "kernel", required_argument, NULL, 'k' },
	{ "cmdline", required_argument, NULL, 'c' },
	{ "ramdisk", required_argument, NULL, 'r' },
	{ "name", required_argument, NULL, 'n' },
	{ "version", required_argument, NULL, 'V' },
	{ "build-time", required_argument, NULL, 't' },
	{ "build-tool", required_argument, NULL, 'T' },
	{ "build-tool-version", required_argument, NULL, 'U' },
	{ "os", required_argument, NULL, 'O' },
	{ "kernel-version", required_argument, NULL, 'K' },
	{ "arch", required_argument, NULL, 'a' },
	{ "sign-cert", required_argument, NULL, 'C' },
	{ "sign-key", required_argument, NULL, 'S' },
	{ "output", required_argument, NULL, 'o' },
	{ "json", no_argument, NULL, 'j' },
	{ "any-kernel", no_argument, NULL, 'A' },
	{ "image", required_argument, NULL, 'I' },
	{ "cmd", required_argument, NULL, 'M' },
	{ "max-size", required_argument, NULL, OCI_OPT_MAX_SIZE },
	{ "max-ratio", required_argument, NULL, OCI_OPT_MAX_RATIO },
	{ "provenance", required_argument, NULL, 'P' },
	{ "provenance-input", required_argument, NULL, 'Q' },
	{ "provenance-package", required_argument, NULL, 'D' },
	CLI_COMMON_LONGOPTS,
	{ NULL, 0, NULL, 0 },
};

/* --provenance FILE and the extra inputs it names. */
struct prov_opts {
	const char *file;
	struct prov_input in[PROV_INPUTS_MAX], pkg[PROV_INPUTS_MAX];
	size_t n, npkg;
};

static int prov_opt(int c, struct prov_opts *p)
{
	if (c == 'P') {
		p->file = optarg;
		return CLI_OK;
	}
	if (c == 'D') {
		if (p->npkg >= PROV_INPUTS_MAX || prov_input_parse(optarg, &p->pkg[p->npkg]) < 0 ||
		    strpbrk(optarg, "/?@#") || strpbrk(p->pkg[p->npkg].path, "/?@#"))
			return cli_usage_error("--provenance-package '%s': NAME=VERSION", optarg);
		p->npkg++;
		return CLI_OK;
	}
	if (p->n >= PROV_INPUTS_MAX)
		return cli_usage_error("at most %d --provenance-input", PROV_INPUTS_MAX);
	if (prov_input_parse(optarg, &p->in[p->n]) < 0)
		return cli_usage_error("--provenance-input '%s': NAME=PATH", optarg);
	p->n++;
	return CLI_OK;
}

static int build_opt(int c, struct eif_build_opts *o, struct oci_unpack_opts *img,
		     struct prov_opts *prov, int *json, int *any_kernel)
{
	switch (c) {
	case 'P':
	case 'Q':
	case 'D': return prov_opt(c, prov);
	case 'I': img->image = optarg; break;
	case 'M': img->cmd = optarg; break;
	case OCI_OPT_MAX_SIZE:
	case OCI_OPT_MAX_RATIO: return oci_opt_limit(c, optarg, img);
	case 'k': o->kernel = optarg; break;
	case 'c': o->cmdline = optarg; break;
	case 'r':
		if (o->nramdisks >= EIF_MAX_SECTIONS - 4)
			return cli_usage_error("at most %d --ramdisk", EIF_MAX_SECTIONS - 4);
		o->ramdisks[o->nramdisks++] = optarg;
		break;
	case 'n': o->meta.name = optarg; break;
	case 'V': o->meta.version = optarg; break;
	case 't': o->meta.build_time = optarg; break;
	case 'T': o->meta.build_tool = optarg; break;
	case 'U': o->meta.build_tool_version = optarg; break;
	case 'O': o->meta.os = optarg; break;
	case 'K': o->meta.kernel_version = optarg; break;
	case 'a':
		if (strcmp(optarg, "x86_64") == 0)
			o->flags = 0;
		else if (strcmp(optarg, "aarch64") == 0)
			o->flags = EIF_FLAG_AARCH64;
		else
			return cli_usage_error("--arch: '%s' (x86_64 or aarch64)", optarg);
		break;
	case 'C': o->sign_cert = optarg; break;
	case 'S': o->sign_key = optarg; break;
	case 'o': o->output = optarg; break;
	case 'j': *json = 1; break;
	case 'A': *any_kernel = 1; break;
	default: return cli_common_opt(c);
	}
	return CLI_OK;
}

static int build_check(const struct eif_build_opts *o, const struct oci_unpack_opts *img,
		       const struct prov_opts *prov, int json)
{
	if (!o->kernel || !o->cmdline || (!o->nramdisks && !img->image) || !o->output)
		return cli_usage_error("--kernel, --cmdline, --ramdisk (or --image) and -o are required");
	if (img->cmd && !img->image)
		return cli_usage_error("--cmd goes with --image");
	if (prov->file && (strcmp(o->output, "-") == 0 || o->sign_cert))
		return cli_usage_error("--provenance needs -o FILE and an unsigned image (docs/provenance.md)");
	if ((prov->n || prov->npkg) && !prov->file)
		return cli_usage_error("--provenance-input and -package go with --provenance");
	if (json && strcmp(o->output, "-") == 0)
		return cli_usage_error("-o - and --json both write to standard output");
	if (!o->sign_cert != !o->sign_key)
		return cli_usage_error("--sign-cert and --sign-key go together");
	if (!utf8_valid(o->cmdline) || !utf8_valid(o->meta.name) ||
	    !utf8_valid(o->meta.version) || !utf8_valid(o->meta.build_time) ||
	    !utf8_valid(o->meta.os) || !utf8_valid(o->meta.kernel_version) ||
	    !utf8_valid(o->meta.build_tool) || !utf8_valid(o->meta.build_tool_version))
		return cli_usage_error("the command line and metadata must be UTF-8");
	return CLI_OK;
}

static int write_provenance(const struct eif_build_opts *o, const struct oci_unpack_opts *img,
			    const struct prov_opts *prov, int any_kernel, uint64_t epoch,
			    const struct eif_pcrs *pcrs)
{
	struct prov_sections sec;
	struct prov_build b = {
		.o = o, .any_kernel = any_kernel, .epoch = epoch,
		.img = img->image ? img : NULL, .dg = img->dg,
		.inputs = prov->in, .ninputs = prov->n, .pcrs = pcrs, .sec = &sec,
		.packages = prov->pkg, .npackages = prov->npkg,
	};
	char err[OCI_ERR_MAX];

	if (prov_sections_of(o->output, &sec, err, sizeof(err)) < 0 ||
	    prov_write(prov->file, &b, err, sizeof(err)) < 0) {
		cli_fail("provenance: %s", err);
		return -1;
	}
	log_info("wrote %s", prov->file);
	return 0;
}

static int cmd_build(int argc, char **argv)
{
	const char *ramdisks[EIF_MAX_SECTIONS];
	struct eif_build_opts o = { .ramdisks = ramdisks };
	struct oci_unpack_opts img;
	struct oci_digests dg;
	static struct prov_opts prov;
	char err[OCI_ERR_MAX], when[64], kbase[256];
	struct eif_pcrs pcrs;
	uint64_t epoch;
	int c, json = 0, any_kernel = 0, rc;

	oci_opts_init(&img);
	while ((c = getopt_long(argc, argv, "k:c:r:n:o:j" CLI_COMMON_SHORTOPTS, build_opts,
				NULL)) != -1)
		if (build_opt(c, &o, &img, &prov, &json, &any_kernel) != CLI_OK)
			return CLI_USAGE;
	if (optind < argc)
		return cli_usage_error("unexpected argument '%s'", argv[optind]);
	if (eif_source_date_epoch(&epoch, err, sizeof(err)) < 0)
		return cli_usage_error("%s", err);
	o.mtime = (uint32_t)epoch;
	eif_rfc3339(epoch, when, sizeof(when));
	if (o.kernel) {
		const char *s = strrchr(o.kernel, '/');

		snprintf(kbase, sizeof(kbase), "%s", s ? s + 1 : o.kernel);
	}
	/* The defaults of upstream's eif_build, except the build time, which
	 * is SOURCE_DATE_EPOCH (or 0) rather than the clock. */
	o.meta.name = o.meta.name ? o.meta.name : kbase;
	o.meta.version = o.meta.version ? o.meta.version : "1.0";
	o.meta.build_time = o.meta.build_time ? o.meta.build_time : when;
	o.meta.build_tool = o.meta.build_tool ? o.meta.build_tool : "nek-eif";
	o.meta.build_tool_version = o.meta.build_tool_version ? o.meta.build_tool_version : "1";
	o.meta.os = o.meta.os ? o.meta.os : "OS";
	o.meta.kernel_version = o.meta.kernel_version ? o.meta.kernel_version : "kernel";
	if (build_check(&o, &img, &prov, json) != CLI_OK)
		return CLI_USAGE;
	/* Not a kernel: unusable input (2), refused before any output exists. */
	if (!any_kernel && eif_kernel_check(o.kernel, o.flags, err, sizeof(err)) < 0) {
		cli_fail("%s; --any-kernel takes it as it is", err);
		return CLI_USAGE;
	}
	img.dg = &dg;
	rc = oci_build(&o, &img, &pcrs, err, sizeof(err));
	if (rc < 0)
		return cli_fail("%s", err);
	log_info("wrote %s", o.output);
	if (prov.file && write_provenance(&o, &img, &prov, any_kernel, epoch, &pcrs) < 0)
		return CLI_FAIL;
	if (json)
		eif_print_measurements(&pcrs, stdout, 2);
	else if (log_enabled(LOG_INFO))
		eif_print_pcrs_text(&pcrs, strcmp(o.output, "-") == 0 ? stderr : stdout);
	return CLI_OK;
}

/* ---------------------------------------------------------------- cpio */
static int cmd_cpio(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "output", required_argument, NULL, 'o' },
		{ "owners-xattr", no_argument, NULL, 'X' },
		CLI_COMMON_LONGOPTS,
		{ NULL, 0, NULL, 0 },
	};
	char err[CPIO_ERR_MAX];
	int owners = 0;
	const char *out = NULL;
	struct cpio_tree *t;
	struct outfile of;
	uint64_t epoch;
	int c, rc = CLI_FAIL;

	while ((c = getopt_long(argc, argv, "o:" CLI_COMMON_SHORTOPTS, opts, NULL)) != -1) {
		if (c == 'o')
			out = optarg;
		else if (c == 'X')
			owners = 1;
		else if (cli_common_opt(c) != CLI_OK)
			return CLI_USAGE;
	}
	if (!out || optind >= argc)
		return cli_usage_error("-o OUT and at least one SOURCE are required");
	if (eif_source_date_epoch(&epoch, err, sizeof(err)) < 0)
		return cli_usage_error("%s", err);
	t = cpio_tree_new();
	if (!t)
		return cli_fail("out of memory");
	cpio_tree_owners_xattr(t, owners);
	for (; optind < argc; optind++)
		if (cpio_tree_add_spec(t, argv[optind], err, sizeof(err)) < 0) {
			cpio_tree_free(t);
			return cli_fail("%s", err);
		}
	if (outfile_open(&of, out, 0, err, sizeof(err)) < 0) {
		cpio_tree_free(t);
		return cli_fail("%s", err);
	}
	if (cpio_tree_write(t, (uint32_t)epoch, cpio_sink_fd, &of.fd, err, sizeof(err)) < 0) {
		outfile_abort(&of);
		cli_fail("%s", err);
	} else if (outfile_commit(&of, err, sizeof(err)) < 0) {
		cli_fail("%s", err);
	} else {
		rc = CLI_OK;
		log_info("%s: %zu entries", out, cpio_tree_count(t));
	}
	cpio_tree_free(t);
	return rc;
}

static const struct cli_cmd cmds[] = {
	{ "build", cmd_build, "write an EIF v4 from a kernel, a command line and ramdisks",
	  "build --kernel FILE --cmdline STR --ramdisk FILE|DIR... -o OUT [OPTIONS]\n\n"
	  "Writes a reproducible EIF v4: kernel, cmdline, metadata, the ramdisks in order\n"
	  "(a file is used as it is; a directory is packed as a newc cpio), then the\n"
	  "signature when signing. PCR1 covers kernel, cmdline and ramdisk 0; PCR2 the\n"
	  "other ramdisks. Metadata BuildTime and cpio mtimes come from SOURCE_DATE_EPOCH\n"
	  "(0 when unset), never from the clock.\n\n"
	  "  -k, --kernel FILE        bzImage (x86_64) or Image (aarch64)\n"
	  "  -c, --cmdline STR        kernel command line (stored without a NUL)\n"
	  "  -r, --ramdisk FILE|DIR   repeat for each ramdisk (at least one)\n"
	  "  -o, --output FILE        the EIF to write: a file is replaced atomically, a\n"
	  "                           device or fifo written through, - is standard output\n"
	  "  -n, --name N             ImageName (default: the kernel file's name)\n"
	  "      --version V          ImageVersion (default 1.0)\n"
	  "      --build-time T       BuildTime (default: SOURCE_DATE_EPOCH as RFC 3339)\n"
	  "      --build-tool N, --build-tool-version V  (default nek-eif, 1)\n"
	  "      --os S, --kernel-version S              (default OS, kernel)\n"
	  "      --arch x86_64|aarch64                   header flag (default x86_64)\n"
	  "      --sign-cert PEM --sign-key PEM          add a signature (PCR8)\n"
	  "  -j, --json               print the measurements as nitro-cli does\n"
	  "      --any-kernel         take --kernel as it is: no check that it is a bzImage\n"
	  "                           (or, with --arch aarch64, an arm64 Image)\n"
	  "      --image PATH[:REF]   an OCI layout, OCI archive or docker save tarball:\n"
	  "                           its tree (as unpack-image lays it out) goes to /rootfs\n"
	  "                           of one more, last ramdisk with /cmd, /env, /cwd, /user\n"
	  "                           from its config (docs/oci.md); --ramdisk optional\n"
	  "      --cmd ARGV           replaces Entrypoint + Cmd (split on whitespace)\n"
	  "      --max-size N         image bytes and tree bytes each at most N (default 4G)\n"
	  "      --max-ratio R        a layer unpacks to at most R times its size (200)\n"
	  "      --provenance FILE    write every input by digest and the PCRs, as an in-toto\n"
	  "                           SLSA v1 statement (docs/provenance.md); eif rebuild\n"
	  "                           checks it\n"
	  "      --provenance-input NAME=PATH   one more input to record (repeat)\n"
	  "      --provenance-package NAME=VERSION   a Debian package the build used (repeat;\n"
	  "                           recorded as a purl with its snapshot.debian.org page)\n" },
	{ "rebuild", cmd_rebuild, "build again from a provenance record and compare",
	  "rebuild [--input NAME=PATH]... [-o OUT] [--json] PROVENANCE\n\n"
	  "Checks every input the record names against its digest (first difference\n"
	  "named, exit 1), builds the image again from the recorded parameters, fetching\n"
	  "nothing, and prints 'identical: sha256 HEX' or the first section or PCR that\n"
	  "differs. Paths are the recorded ones (relative to where the build ran) unless\n"
	  "--input NAME=PATH (NAME as in the record: kernel, ramdisk0, image, ...) says.\n"
	  "  -o, --output FILE        keep the rebuilt EIF (default: a temporary, removed)\n"
	  "  -j, --json               {\"identical\":..,\"sha256\":..,\"first_difference\":..}\n" },
	{ "unpack-image", cmd_unpack_image, "lay out a container image's tree as build --image does",
	  "unpack-image [--meta DIR2] [--cmd ARGV] [--max-size N] [--max-ratio R] [--json]\n"
	  "             IMAGE[:REF] DIR\n\n"
	  "IMAGE: an OCI layout directory, an OCI archive or a docker save tarball; REF\n"
	  "picks an image by its ref.name annotation (or a docker RepoTag). The layers\n"
	  "are applied in order into DIR, which must not exist (created; removed again on\n"
	  "failure): whiteouts, opaque directories, hard links, symlinks kept; devices\n"
	  "skipped; names with '..', absolute names and writes through symlinks refused;\n"
	  "owners other than 0:0 recorded in user.rootlesscontainers as umoci --rootless\n"
	  "does. Every blob is checked against its digest and size first.\n"
	  "  -m, --meta DIR2          also write cmd, env, cwd, user (init's files) there\n"
	  "  -c, --cmd ARGV           replaces Entrypoint + Cmd in DIR2/cmd\n"
	  "  -j, --json               print the format and the manifest, config and layer\n"
	  "                           digests that were applied\n"
	  "      --max-size N, --max-ratio R   as for build (default 4G, 200)\n" },
	{ "describe", cmd_describe, "print an EIF's header, sections, PCRs and metadata",
	  "describe [--json] EIF\n\n"
	  "--json prints the fields of `nitro-cli describe-eif`. Exit 1 when the CRC or\n"
	  "the signature does not check out, 2 when the file is not a well-formed EIF.\n" },
	{ "pcr", cmd_pcr, "compute PCRs of an EIF, a file, or a signing certificate",
	  "pcr [--json] EIF | --input FILE | --cert PEM\n\n"
	  "EIF: PCR0, PCR1, PCR2 (and PCR8 if signed). --input: SHA384(0^48 || SHA384(FILE)),\n"
	  "as `nitro-cli pcr --input`. --cert: PCR8 of a signing certificate.\n" },
	{ "verify", cmd_verify, "check an EIF's structure, CRC, PCRs and signature",
	  "verify [--pcrs FILE] [--require-signature] EIF\n\n"
	  "Checks the structure and CRC, recomputes the PCRs and, if signed, the COSE\n"
	  "signature, that it signs this PCR0, and the certificate's validity dates.\n"
	  "--pcrs FILE compares with expected measurements ({\"Measurements\":{...}} as\n"
	  "written by `eif build --json`). Exit 0 when everything holds, 1 otherwise.\n" },
	{ "extract", cmd_extract, "write an EIF's sections to files in a directory",
	  "extract EIF DIR\n\n"
	  "Writes kernel, cmdline, metadata.json, ramdisk0.cpio... and signature.cbor into\n"
	  "DIR (created if missing). Existing files are not overwritten.\n" },
	{ "cpio", cmd_cpio, "write a reproducible newc cpio archive",
	  "cpio [--owners-xattr] -o OUT SOURCE...\n\n"
	  "OUT is written as for build: a file replaced atomically, a device or fifo\n"
	  "written through, - for standard output.\n"
	  "SOURCE is HOST (a directory's contents go to the archive root, a file keeps its\n"
	  "name) or ARCH=HOST (put HOST at ARCH, e.g. rootfs=/srv/root). Entries are\n"
	  "sorted, uid/gid 0, mtime SOURCE_DATE_EPOCH (0 when unset), inodes renumbered;\n"
	  "files of 4 GiB or more are refused (newc's limit). --owners-xattr takes uid/gid\n"
	  "from each file's user.rootlesscontainers attribute (unpack-image's trees).\n" },
	{ NULL, NULL, NULL, NULL },
};

static const struct cli_prog prog = {
	"eif",
	"Reproducible Enclave Image Files (EIF v4) for AWS Nitro Enclaves: build from a\n"
	"kernel and ramdisks, describe, compute and verify PCRs and signatures, extract.",
	cmds,
};

int main(int argc, char **argv)
{
	return cli_main(&prog, argc, argv);
}
