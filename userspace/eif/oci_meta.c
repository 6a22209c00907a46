/* The config's command, environment, directory and user as the files
 * nek-init reads (docs/oci.md "The command..."; formats in docs/init.md). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "eif/oci.h"
#include "lib/core/errfmt.h"
#include "lib/core/fdio.h"
#include "lib/core/parse.h"

struct lines {
	char *buf;
	size_t len, cap;
};

static int lines_add(struct lines *l, const char *s, const char *what, char *err, size_t errlen)
{
	size_t n = strlen(s);

	if (strchr(s, '\n'))
		return errfmt(err, errlen, "%s: '%.80s' has a newline, which init's files cannot hold",
			    what, s);
	if (l->len + n + 1 > l->cap) {
		size_t cap = (l->len + n + 1) * 2;
		char *b = realloc(l->buf, cap);

		if (!b)
			return errfmt(err, errlen, "out of memory");
		l->buf = b;
		l->cap = cap;
	}
	memcpy(l->buf + l->len, s, n);
	l->buf[l->len + n] = '\n';
	l->len += n + 1;
	return 0;
}

static int write_at(int dirfd, const char *name, const struct lines *l, char *err, size_t errlen)
{
	int fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644);
	int rc = 0;

	if (fd < 0)
		return errfmt(err, errlen, "%s: %s", name, strerror(errno));
	if (fchmod(fd, 0644) < 0 || fd_write_all(fd, l->buf, l->len) < 0)
		rc = errfmt(err, errlen, "%s: %s", name, strerror(errno));
	close(fd);
	return rc;
}

static int build_cmd(const struct oci_config *c, const char *override, struct lines *l,
		     char *err, size_t errlen)
{
	size_t i;

	if (override) {
		char *copy = strdup(override), *save = NULL, *tok;
		int rc = 0;

		if (!copy)
			return errfmt(err, errlen, "out of memory");
		for (tok = strtok_r(copy, " \t\n", &save); tok && rc == 0;
		     tok = strtok_r(NULL, " \t\n", &save))
			rc = lines_add(l, tok, "--cmd", err, errlen);
		free(copy);
		return rc;
	}
	for (i = 0; i < c->entrypoint.n; i++)
		if (lines_add(l, c->entrypoint.v[i], "config Entrypoint", err, errlen) < 0)
			return -1;
	for (i = 0; i < c->cmd.n; i++)
		if (lines_add(l, c->cmd.v[i], "config Cmd", err, errlen) < 0)
			return -1;
	return 0;
}

/* Field f (0-based) of a colon-separated passwd or group line. */
static const char *field(const char *line, int f, size_t *len)
{
	const char *p = line, *q;

	for (; f > 0; f--) {
		p = strchr(p, ':');
		if (!p)
			return NULL;
		p++;
	}
	q = strchrnul(p, ':');
	*len = (size_t)(q - p);
	return p;
}

/* Looks key up by name (field 0) or number (field 2) in the root's
 * etc/passwd or etc/group; sets id (field 2) and, for passwd, gid (3). */
static int lookup(int rootfd, const char *file, const char *key, int by_id, uint32_t *id,
		  uint32_t *gid)
{
	struct oci_src s = { .rootfd = rootfd };
	char err[OCI_ERR_MAX], *buf, *line, *save = NULL;
	size_t len;
	int found = 0;

	if (oci_src_read(&s, file, &buf, &len, err, sizeof(err)) < 0)
		return 0;
	for (line = strtok_r(buf, "\n", &save); line && !found; line = strtok_r(NULL, "\n", &save)) {
		char num[16], name[256];
		size_t n0, n2, n3 = 0;
		const char *f0 = field(line, 0, &n0), *f2 = field(line, 2, &n2);
		const char *f3 = gid ? field(line, 3, &n3) : NULL;
		uint64_t v;

		if (!f0 || !f2 || n0 >= sizeof(name) || n2 >= sizeof(num) || (gid && !f3))
			continue;
		snprintf(name, sizeof(name), "%.*s", (int)n0, f0);
		snprintf(num, sizeof(num), "%.*s", (int)n2, f2);
		if (strcmp(by_id ? num : name, key) != 0 ||
		    parse_u64(num, 0, UINT32_MAX, &v, err, sizeof(err)) < 0)
			continue;
		*id = (uint32_t)v;
		if (gid) {
			snprintf(num, sizeof(num), "%.*s", (int)(n3 < sizeof(num) ? n3 : 0), f3);
			if (parse_u64(num, 0, UINT32_MAX, &v, err, sizeof(err)) < 0)
				continue;
			*gid = (uint32_t)v;
		}
		found = 1;
	}
	free(buf);
	return found;
}

static int is_number(const char *s)
{
	return *s && strspn(s, "0123456789") == strlen(s) && strlen(s) <= 10;
}

/* User as docker reads it: uid or name, then an optional :gid or :group. */
static int resolve_user(int rootfd, const char *user, uint32_t *uid, uint32_t *gid, char *err,
			size_t errlen)
{
	char u[256], *g;
	uint32_t pgid = 0;
	uint64_t v;

	if (snprintf(u, sizeof(u), "%s", user) >= (int)sizeof(u))
		return errfmt(err, errlen, "config User '%.80s...': too long", user);
	g = strchr(u, ':');
	if (g)
		*g++ = '\0';
	if (is_number(u) && parse_u64(u, 0, UINT32_MAX, &v, err, errlen) == 0) {
		*uid = (uint32_t)v;
		if (!lookup(rootfd, "etc/passwd", u, 1, uid, &pgid))
			pgid = 0;
	} else if (!lookup(rootfd, "etc/passwd", u, 0, uid, &pgid)) {
		return errfmt(err, errlen, "config User '%s': no such user in the image's /etc/passwd",
			    user);
	}
	*gid = pgid;
	if (!g || !*g)
		return 0;
	if (is_number(g) && parse_u64(g, 0, UINT32_MAX, &v, err, errlen) == 0) {
		*gid = (uint32_t)v;
		return 0;
	}
	if (!lookup(rootfd, "etc/group", g, 0, gid, NULL))
		return errfmt(err, errlen, "config User '%s': no such group in the image's /etc/group",
			    user);
	return 0;
}

static int write_one(int dirfd, const char *name, const char *value, const char *what,
		     char *err, size_t errlen)
{
	struct lines l = { 0 };
	int rc = lines_add(&l, value, what, err, errlen);

	if (rc == 0)
		rc = write_at(dirfd, name, &l, err, errlen);
	free(l.buf);
	return rc;
}

static int write_user(const struct oci_config *c, int rootfd, int metadirfd, char *err,
		      size_t errlen)
{
	char line[32];
	uint32_t uid, gid;

	if (!c->user || !c->user[0])
		return 0;
	if (resolve_user(rootfd, c->user, &uid, &gid, err, errlen) < 0)
		return -1;
	snprintf(line, sizeof(line), "%u:%u", uid, gid);
	return write_one(metadirfd, "user", line, "config User", err, errlen);
}

int oci_meta_write(const struct oci_config *c, const char *cmd_override, int rootfd,
		   int metadirfd, char *err, size_t errlen)
{
	struct lines cmd = { 0 }, env = { 0 };
	size_t i;
	int rc = build_cmd(c, cmd_override, &cmd, err, errlen);

	for (i = 0; rc == 0 && i < c->env.n; i++)
		rc = lines_add(&env, c->env.v[i], "config Env", err, errlen);
	if (rc == 0 && cmd.len)
		rc = write_at(metadirfd, "cmd", &cmd, err, errlen);
	if (rc == 0 && env.len)
		rc = write_at(metadirfd, "env", &env, err, errlen);
	if (rc == 0 && c->workdir && c->workdir[0]) {
		char cwd[OCI_NAME_MAX + 2];

		/* Docker makes a relative WorkingDir absolute the same way. */
		snprintf(cwd, sizeof(cwd), "%s%s", c->workdir[0] == '/' ? "" : "/", c->workdir);
		rc = write_one(metadirfd, "cwd", cwd, "config WorkingDir", err, errlen);
	}
	if (rc == 0)
		rc = write_user(c, rootfd, metadirfd, err, errlen);
	free(cmd.buf);
	free(env.buf);
	return rc;
}
