/* Roots, relative paths, path hygiene and the ignore check. */
#include <string.h>
#include <time.h>

#include "attestd/attestd.h"
#include "attestd/ignore.h"
#include "lib/core/clock.h"

const struct ad_root *ad_root_of(const struct ad_config *cfg, const char *path, size_t len)
{
	unsigned i;

	for (i = 0; i < cfg->nroots; i++) {
		const struct ad_root *r = &cfg->roots[i];

		if (r->len == 1) /* "/" */
			return path[0] == '/' ? r : NULL;
		if (len >= r->len && memcmp(path, r->path, r->len) == 0 &&
		    (len == r->len || path[r->len] == '/'))
			return r;
	}
	return NULL;
}

const char *ad_relpath(const struct ad_root *r, const char *path)
{
	const char *p = path + (r->len == 1 ? 0 : r->len);

	return *p == '/' ? p + 1 : p;
}

bool ad_path_clean(const char *path, size_t len)
{
	size_t i = 0, start;

	if (len == 0 || len > AD_PATH_MAX || path[0] != '/' || memchr(path, '\0', len))
		return false;
	if (len == 1)
		return true;
	while (i < len) {
		start = ++i; /* past the '/' */
		while (i < len && path[i] != '/')
			i++;
		if (i == start)
			return false; /* empty component or trailing slash */
		if ((i - start == 1 && path[start] == '.') ||
		    (i - start == 2 && path[start] == '.' && path[start + 1] == '.'))
			return false;
	}
	return true;
}

bool ad_ignored(const struct ad_config *cfg, const struct ad_root *r, const char *path,
		bool is_dir)
{
	return cfg->ign && ignore_path(cfg->ign, ad_relpath(r, path), is_dir, NULL);
}

int64_t ad_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static const char *const cause_names[CAUSE_COUNT] = {
	[CAUSE_SCAN] = "scan",	     [CAUSE_CREATE] = "create", [CAUSE_WRITE] = "write",
	[CAUSE_ATTRIB] = "attrib",   [CAUSE_RENAME] = "rename", [CAUSE_DELETE] = "delete",
	[CAUSE_REPLACED] = "replaced", [CAUSE_ENFORCE] = "enforce",
};

const char *ad_cause_name(enum ad_cause c)
{
	return (unsigned)c < CAUSE_COUNT ? cause_names[c] : "unknown";
}
