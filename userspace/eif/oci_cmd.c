/* `eif unpack-image`, and the staging of `eif build --image` (docs/oci.md). */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "eif/eif.h"
#include "eif/oci.h"
#include "lib/core/cli.h"
#include "lib/core/errfmt.h"
#include "lib/core/log.h"
#include "lib/core/parse.h"

void oci_opts_init(struct oci_unpack_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->lim.max_size = OCI_DEFAULT_MAX_SIZE;
	o->lim.max_ratio = OCI_DEFAULT_MAX_RATIO;
}

int oci_opt_limit(int c, const char *arg, struct oci_unpack_opts *o)
{
	char err[PARSE_ERR_MAX];

	if (c == OCI_OPT_MAX_SIZE &&
	    parse_size(arg, 1, UINT64_MAX / 2, &o->lim.max_size, err, sizeof(err)) < 0)
		return cli_usage_error("--max-size: %s", err);
	if (c == OCI_OPT_MAX_RATIO &&
	    parse_u64(arg, 1, 1000000, &o->lim.max_ratio, err, sizeof(err)) < 0)
		return cli_usage_error("--max-ratio: %s", err);
	return CLI_OK;
}

int oci_stage(const struct oci_unpack_opts *o, struct oci_stage *st, char *err, size_t errlen)
{
	const char *tmp = getenv("TMPDIR");
	char rootfs[PATH_MAX + 16];

	snprintf(st->work, sizeof(st->work), "%s/eif-build.XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(st->work)) {
		st->work[0] = '\0';
		return errfmt(err, errlen, "work directory: %s", strerror(errno));
	}
	snprintf(st->rd, sizeof(st->rd), "%s/rd", st->work);
	snprintf(rootfs, sizeof(rootfs), "%s/rootfs", st->rd);
	if (mkdir(st->rd, 0755) < 0)
		return errfmt(err, errlen, "%s: %s", st->rd, strerror(errno));
	return oci_unpack(o, rootfs, st->rd, err, errlen);
}

void oci_stage_cleanup(struct oci_stage *st)
{
	char err[OCI_ERR_MAX], *slash;
	int fd;

	if (!st->work[0])
		return;
	slash = strrchr(st->work, '/');
	*slash = '\0';
	fd = open(st->work[0] ? st->work : "/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	*slash = '/';
	if (fd < 0 || oci_rm_rf(fd, slash + 1, err, sizeof(err)) < 0)
		log_warn("removing %s: %s", st->work, fd < 0 ? strerror(errno) : err);
	if (fd >= 0)
		close(fd);
	st->work[0] = '\0';
}

int oci_build(const struct eif_build_opts *o, const struct oci_unpack_opts *img,
	      struct eif_pcrs *pcrs, char *err, size_t errlen)
{
	struct eif_build_opts b = *o;
	struct oci_stage st = { .work = "" };
	int rc;

	if (!img || !img->image)
		return eif_build(o, pcrs, err, errlen);
	if (oci_stage(img, &st, err, errlen) < 0) {
		oci_stage_cleanup(&st);
		return -1;
	}
	b.owners_mask |= 1u << b.nramdisks;
	b.ramdisks[b.nramdisks++] = st.rd;
	rc = eif_build(&b, pcrs, err, errlen);
	oci_stage_cleanup(&st);
	return rc;
}

/* What was unpacked, by digest: {"format", "top", "config", "layers"}. */
static int print_json(const struct oci_unpack_opts *o, const struct oci_digests *dg)
{
	json_t *layers = json_array(), *j;
	size_t i;
	int rc;

	for (i = 0; layers && i < dg->nlayers; i++)
		json_array_append_new(layers, json_sprintf("sha256:%s", dg->layers[i]));
	j = json_pack("{s:s, s:s, s:s, s:s, s:o}", "image", o->image, "format",
		      dg->docker ? "docker" : "oci", dg->docker ? "config" : "manifest",
		      "", "config", "", "layers", layers);
	if (!j)
		return cli_fail("out of memory");
	json_object_set_new(j, dg->docker ? "config" : "manifest", json_sprintf("sha256:%s", dg->top));
	json_object_set_new(j, "config", json_sprintf("sha256:%s", dg->config));
	rc = json_dumpf(j, stdout, JSON_INDENT(2)) == 0 && putchar('\n') != EOF ? CLI_OK : CLI_FAIL;
	json_decref(j);
	return rc;
}

int cmd_unpack_image(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "max-size", required_argument, NULL, OCI_OPT_MAX_SIZE },
		{ "max-ratio", required_argument, NULL, OCI_OPT_MAX_RATIO },
		{ "meta", required_argument, NULL, 'm' },
		{ "cmd", required_argument, NULL, 'c' },
		{ "json", no_argument, NULL, 'j' },
		CLI_COMMON_LONGOPTS,
		{ NULL, 0, NULL, 0 },
	};
	struct oci_unpack_opts o;
	struct oci_digests dg;
	const char *meta = NULL;
	char err[OCI_ERR_MAX];
	int c, json = 0;

	oci_opts_init(&o);
	o.dg = &dg;
	while ((c = getopt_long(argc, argv, "m:c:j" CLI_COMMON_SHORTOPTS, opts, NULL)) != -1) {
		if (c == 'j')
			json = 1;
		else if (c == 'm')
			meta = optarg;
		else if (c == 'c')
			o.cmd = optarg;
		else if (c == OCI_OPT_MAX_SIZE || c == OCI_OPT_MAX_RATIO) {
			if (oci_opt_limit(c, optarg, &o) != CLI_OK)
				return CLI_USAGE;
		} else if (cli_common_opt(c) != CLI_OK)
			return CLI_USAGE;
	}
	if (argc - optind != 2)
		return cli_usage_error("IMAGE[:REF] and DIR are required");
	o.image = argv[optind];
	if (oci_unpack(&o, argv[optind + 1], meta, err, sizeof(err)) < 0)
		return cli_fail("%s", err);
	log_info("unpacked %s into %s", o.image, argv[optind + 1]);
	return json ? print_json(&o, &dg) : CLI_OK;
}
