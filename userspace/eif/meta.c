/* The Metadata section: JSON byte-compatible with upstream's serde_json
 * output (compact, fixed key order, serde's string escapes). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eif/eif.h"
#include "lib/core/jsonstr.h"

char *eif_meta_json(const struct eif_meta *m, size_t *len)
{
	char *buf = NULL;
	size_t n = 0;
	FILE *f = open_memstream(&buf, &n);

	if (!f)
		return NULL;
	fputs("{\"ImageName\":", f);
	json_str_put(f, m->name);
	fputs(",\"ImageVersion\":", f);
	json_str_put(f, m->version);
	fputs(",\"BuildMetadata\":{\"BuildTime\":", f);
	json_str_put(f, m->build_time);
	fputs(",\"BuildTool\":", f);
	json_str_put(f, m->build_tool);
	fputs(",\"BuildToolVersion\":", f);
	json_str_put(f, m->build_tool_version);
	fputs(",\"OperatingSystem\":", f);
	json_str_put(f, m->os);
	fputs(",\"KernelVersion\":", f);
	json_str_put(f, m->kernel_version);
	fputs("},\"DockerInfo\":null,\"CustomMetadata\":null}", f);
	if (fclose(f) != 0) {
		free(buf);
		return NULL;
	}
	*len = n;
	return buf;
}
