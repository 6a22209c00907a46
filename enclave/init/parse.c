/* Parsing what init reads: /env, /cmd, /services, the kernel command line.
 * All of it comes from the measured ramdisks, but it is still bounded. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "init.h"
#include "lib/core/errfmt.h"

void strv_free(struct strv *s)
{
	size_t i;

	for (i = 0; i < s->n; i++)
		free(s->v[i]);
	free(s->v);
	s->v = NULL;
	s->n = 0;
}

int strv_push(struct strv *s, const char *str, size_t len)
{
	char **v = realloc(s->v, (s->n + 2) * sizeof(*v));

	if (!v)
		return -1;
	s->v = v;
	v[s->n] = strndup(str, len);
	if (!v[s->n])
		return -1;
	v[++s->n] = NULL;
	return 0;
}

int init_parse_lines(const char *buf, size_t len, size_t max, struct strv *out, char *err,
		     size_t errlen)
{
	const char *p = buf, *end = buf + len;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t l = nl ? (size_t)(nl - p) : (size_t)(end - p);

		if (memchr(p, '\0', l))
			return errfmt(err, errlen, "line %zu contains a NUL byte", out->n + 1);
		if (out->n >= max)
			return errfmt(err, errlen, "more than %zu lines", max);
		if (strv_push(out, p, l) < 0)
			return errfmt(err, errlen, "out of memory");
		p += l + (nl ? 1 : 0);
	}
	return 0;
}

/* The one line of a one-line file: the trailing newline removed, no other. */
static int one_line(const char *buf, size_t len, size_t *l, const char *what, char *err,
		    size_t errlen)
{
	*l = len && buf[len - 1] == '\n' ? len - 1 : len;
	if (memchr(buf, '\n', *l) || memchr(buf, '\0', *l) || *l == 0)
		return errfmt(err, errlen, "%s: not one non-empty line", what);
	return 0;
}

int init_parse_cwd(const char *buf, size_t len, char *out, size_t outlen, char *err,
		   size_t errlen)
{
	size_t l;

	if (one_line(buf, len, &l, "/cwd", err, errlen) < 0)
		return -1;
	if (buf[0] != '/' || l >= outlen)
		return errfmt(err, errlen, "/cwd: not an absolute path under %zu bytes", outlen);
	memcpy(out, buf, l);
	out[l] = '\0';
	return 0;
}

static int parse_id(const char *s, size_t len, unsigned long *v)
{
	size_t i;

	*v = 0;
	if (len == 0 || len > 10)
		return -1;
	for (i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		*v = *v * 10 + (unsigned long)(s[i] - '0');
	}
	/* (uid_t)-1 means "unchanged" to setuid(2): never an identity. */
	return *v >= 0xffffffffUL ? -1 : 0;
}

int init_parse_user(const char *buf, size_t len, uid_t *uid, gid_t *gid, char *err,
		    size_t errlen)
{
	unsigned long u, g;
	const char *colon;
	size_t l;

	if (one_line(buf, len, &l, "/user", err, errlen) < 0)
		return -1;
	colon = memchr(buf, ':', l);
	if (!colon || parse_id(buf, (size_t)(colon - buf), &u) < 0 ||
	    parse_id(colon + 1, l - (size_t)(colon - buf) - 1, &g) < 0)
		return errfmt(err, errlen, "/user: not UID:GID in decimal");
	*uid = (uid_t)u;
	*gid = (gid_t)g;
	return 0;
}

int init_parse_env(const char *buf, size_t len, struct strv *out, size_t *skipped, char *err,
		   size_t errlen)
{
	struct strv lines = { 0 };
	size_t i;

	*skipped = 0;
	if (init_parse_lines(buf, len, INIT_ARGS_MAX, &lines, err, errlen) < 0) {
		strv_free(&lines);
		return -1;
	}
	for (i = 0; i < lines.n; i++) {
		const char *eq = strchr(lines.v[i], '=');

		if (!eq || eq == lines.v[i]) {
			(*skipped)++;
			continue;
		}
		if (strv_push(out, lines.v[i], strlen(lines.v[i])) < 0) {
			strv_free(&lines);
			return errfmt(err, errlen, "out of memory");
		}
	}
	strv_free(&lines);
	return 0;
}

static int parse_flags(const char *s, unsigned *flags)
{
	char buf[64], *tok, *save = NULL;

	*flags = 0;
	if (strcmp(s, "-") == 0)
		return 0;
	if (strlen(s) >= sizeof(buf))
		return -1;
	strcpy(buf, s);
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		if (strcmp(tok, "wait") == 0)
			*flags |= SVC_WAIT;
		else if (strcmp(tok, "restart") == 0)
			*flags |= SVC_RESTART;
		else if (strcmp(tok, "optional") == 0)
			*flags |= SVC_OPTIONAL;
		else
			return -1;
	}
	return (*flags & SVC_WAIT) && (*flags & SVC_RESTART) ? -1 : 0;
}

static int valid_name(const char *s)
{
	size_t i, n = strlen(s);

	if (n == 0 || n >= sizeof(((struct service *)0)->name))
		return 0;
	for (i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '-' && s[i] != '_')
			return 0;
	return 1;
}

/* One non-empty, non-comment line: NAME FLAGS ARGV... */
static int parse_service(char *line, unsigned lineno, struct services *out, char *err,
			 size_t errlen)
{
	struct service *s = &out->s[out->n];
	char *save = NULL, *name, *flags, *arg;
	size_t i;

	name = strtok_r(line, " \t", &save);
	flags = strtok_r(NULL, " \t", &save);
	if (!name || !flags)
		return errfmt(err, errlen, "line %u: NAME FLAGS ARGV... expected", lineno);
	if (!valid_name(name))
		return errfmt(err, errlen, "line %u: bad service name '%.40s'", lineno, name);
	for (i = 0; i < out->n; i++)
		if (strcmp(out->s[i].name, name) == 0)
			return errfmt(err, errlen, "line %u: service '%s' listed twice", lineno, name);
	if (out->n >= INIT_SVC_MAX)
		return errfmt(err, errlen, "line %u: more than %d services", lineno, INIT_SVC_MAX);
	memset(s, 0, sizeof(*s));
	snprintf(s->name, sizeof(s->name), "%s", name);
	if (parse_flags(flags, &s->flags) < 0)
		return errfmt(err, errlen, "line %u: bad flags '%.40s' (- or wait|restart,optional)",
			    lineno, flags);
	out->n++;
	while ((arg = strtok_r(NULL, " \t", &save))) {
		if (s->argv.n >= INIT_SVC_ARGS_MAX)
			return errfmt(err, errlen, "line %u: more than %d arguments", lineno,
				    INIT_SVC_ARGS_MAX);
		if (strv_push(&s->argv, arg, strlen(arg)) < 0)
			return errfmt(err, errlen, "out of memory");
	}
	if (!s->argv.n)
		return errfmt(err, errlen, "line %u: service '%s' has no command", lineno, name);
	if (s->argv.v[0][0] != '/')
		return errfmt(err, errlen, "line %u: '%s' must be an absolute path", lineno,
			    s->argv.v[0]);
	return 0;
}

int init_parse_services(const char *buf, size_t len, struct services *out, char *err,
			size_t errlen)
{
	struct strv lines = { 0 };
	size_t i;
	int rc = 0;

	memset(out, 0, sizeof(*out));
	if (len > INIT_CONF_MAX)
		return errfmt(err, errlen, "larger than %u bytes", INIT_CONF_MAX);
	if (init_parse_lines(buf, len, INIT_ARGS_MAX, &lines, err, errlen) < 0) {
		strv_free(&lines);
		return -1;
	}
	for (i = 0; i < lines.n && rc == 0; i++) {
		char *l = lines.v[i];

		while (*l == ' ' || *l == '\t')
			l++;
		if (*l == '\0' || *l == '#')
			continue;
		rc = parse_service(l, (unsigned)i + 1, out, err, errlen);
	}
	strv_free(&lines);
	if (rc < 0)
		init_services_free(out);
	return rc;
}

void init_services_free(struct services *s)
{
	size_t i;

	for (i = 0; i < s->n; i++)
		strv_free(&s->s[i].argv);
	s->n = 0;
}

int init_cmdline_get(const char *cmdline, const char *key, char *out, size_t outlen)
{
	size_t klen = strlen(key);
	const char *p = cmdline;

	while (*p) {
		size_t n;

		while (*p == ' ' || *p == '\t' || *p == '\n')
			p++;
		n = strcspn(p, " \t\n");
		if (n >= klen && strncmp(p, key, klen) == 0 && (n == klen || p[klen] == '=')) {
			const char *v = n == klen ? p + n : p + klen + 1;
			size_t vl = (size_t)(p + n - v);

			if (vl >= outlen)
				vl = outlen ? outlen - 1 : 0;
			if (outlen) {
				memcpy(out, v, vl);
				out[vl] = '\0';
			}
			return 0;
		}
		p += n;
	}
	return -1;
}
