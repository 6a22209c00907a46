/* Credential lookup (environment, then the shared credentials file) and the
 * one reader of shared-credentials files, for the client and the server. */
#include "lib/secrets/kms_creds.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "lib/core/errfmt.h"

static void wipe(char **s)
{
	if (*s) {
		OPENSSL_cleanse(*s, strlen(*s));
		free(*s);
		*s = NULL;
	}
}

void kms_creds_free(struct kms_creds *c)
{
	wipe(&c->access_key);
	wipe(&c->secret_key);
	wipe(&c->token);
}

void kms_profiles_free(struct kms_profiles *ps)
{
	for (size_t i = 0; ps->p && i < ps->n; i++) {
		wipe(&ps->p[i].access_key);
		wipe(&ps->p[i].secret_key);
		wipe(&ps->p[i].token);
		wipe(&ps->p[i].principal_arn);
	}
	free(ps->p);
	ps->p = NULL;
	ps->n = 0;
}

static char *trim(char *s)
{
	char *e;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
		*--e = '\0';
	return s;
}

/* Marks p unusable, keeping the first reason. */
static void mark_bad(struct kms_profile *p, int line, const char *why, const char *key)
{
	if (!p->bad[0])
		snprintf(p->bad, sizeof(p->bad), "%d: %s%s", line, key ? key : "", why);
}

static char **slot_of(struct kms_profile *p, const char *key)
{
	if (strcmp(key, "aws_access_key_id") == 0)
		return &p->access_key;
	if (strcmp(key, "aws_secret_access_key") == 0)
		return &p->secret_key;
	if (strcmp(key, "aws_session_token") == 0)
		return &p->token;
	if (strcmp(key, "principal_arn") == 0)
		return &p->principal_arn;
	return NULL; /* region, output, ...: not ours */
}

/* One line inside a section: "key = value". Only running out of memory fails. */
static int take(struct kms_profile *p, char *l, int line, char *err, size_t errlen)
{
	char *eq = strchr(l, '='), *key, *val, **slot;

	if (!eq) {
		mark_bad(p, line, "a line without '='", NULL);
		return 0;
	}
	*eq = '\0';
	key = trim(l);
	val = trim(eq + 1);
	if (!(slot = slot_of(p, key)))
		return 0;
	if (*slot) {
		mark_bad(p, line, " given twice", key);
		return 0;
	}
	if (strlen(val) > KMS_CREDS_VALUE_MAX) {
		mark_bad(p, line, " too long", key);
		return 0;
	}
	*slot = strdup(val);
	return *slot ? 0 : errfmt(err, errlen, "out of memory");
}

/* "[NAME]" or "[profile NAME]" (the config file's form) opens profile n. */
static int open_section(struct kms_profiles *ps, char *l, const char *name, int line, char *err,
			size_t errlen)
{
	char *end = strchr(l, ']'), *prof;
	size_t n;

	if (!end || trim(end + 1)[0])
		return errfmt(err, errlen, "%s:%d: malformed section header", name, line);
	*end = '\0';
	prof = trim(l + 1);
	if (strncmp(prof, "profile ", 8) == 0)
		prof = trim(prof + 8);
	n = strlen(prof);
	if (n == 0 || n > KMS_PROFILE_NAME_MAX)
		return errfmt(err, errlen, "%s:%d: profile name of %zu characters (1 to %d)", name,
			      line, n, KMS_PROFILE_NAME_MAX);
	for (size_t i = 0; i < ps->n; i++)
		if (strcmp(ps->p[i].name, prof) == 0)
			return errfmt(err, errlen, "%s:%d: profile [%s] given twice (first at line %d)",
				      name, line, prof, ps->p[i].line);
	if (ps->n == KMS_PROFILES_MAX)
		return errfmt(err, errlen, "%s:%d: more than %d profiles", name, line,
			      KMS_PROFILES_MAX);
	memcpy(ps->p[ps->n].name, prof, n + 1);
	ps->p[ps->n].line = line;
	ps->n++;
	return 0;
}

static int scan(char *buf, size_t len, const char *name, struct kms_profiles *ps, char *err,
		size_t errlen)
{
	char *l, *next, *end = buf + len;
	int line = 0, rc = 0;

	for (l = buf; rc == 0 && l; l = next) {
		next = memchr(l, '\n', (size_t)(end - l));
		if (next)
			*next++ = '\0';
		line++;
		l = trim(l);
		if (!*l || *l == '#' || *l == ';')
			continue;
		if (*l == '[')
			rc = open_section(ps, l, name, line, err, errlen);
		else if (ps->n == 0)
			rc = errfmt(err, errlen, "%s:%d: not 'key = value' inside a [profile]", name,
				    line);
		else
			rc = take(&ps->p[ps->n - 1], l, line, err, errlen);
	}
	return rc;
}

int kms_profiles_parse(const char *text, size_t len, const char *name, struct kms_profiles *ps,
		       char *err, size_t errlen)
{
	char *buf;
	int rc;

	memset(ps, 0, sizeof(*ps));
	if (len > KMS_CREDS_FILE_MAX)
		return errfmt(err, errlen, "%s: larger than %u bytes", name, KMS_CREDS_FILE_MAX);
	if (memchr(text, '\0', len))
		return errfmt(err, errlen, "%s: contains a NUL byte", name);
	buf = malloc(len + 1);
	ps->p = calloc(KMS_PROFILES_MAX, sizeof(*ps->p));
	if (!buf || !ps->p) {
		free(buf);
		kms_profiles_free(ps);
		return errfmt(err, errlen, "out of memory");
	}
	memcpy(buf, text, len);
	buf[len] = '\0';
	rc = scan(buf, len, name, ps, err, errlen);
	OPENSSL_cleanse(buf, len);
	free(buf);
	if (rc != 0)
		kms_profiles_free(ps);
	return rc;
}

int kms_profile_check(const struct kms_profile *p, const char *name, char *err, size_t errlen)
{
	if (p->bad[0])
		return errfmt(err, errlen, "%s:%s in [%s]", name, p->bad, p->name);
	if (!p->access_key || !p->secret_key || !*p->access_key || !*p->secret_key)
		return errfmt(err, errlen, "%s: profile [%s] lacks aws_access_key_id or "
			      "aws_secret_access_key", name, p->name);
	return 0;
}

struct kms_profile *kms_profiles_get(const struct kms_profiles *ps, const char *name,
				     const char *profile, char *err, size_t errlen)
{
	for (size_t i = 0; i < ps->n; i++)
		if (strcmp(ps->p[i].name, profile) == 0)
			return kms_profile_check(&ps->p[i], name, err, errlen) == 0 ? &ps->p[i] : NULL;
	errfmt(err, errlen, "%s: no profile [%s]", name, profile);
	return NULL;
}

/* Reads at most KMS_CREDS_FILE_MAX bytes; a pipe (AWS_SHARED_CREDENTIALS_FILE
 * may be a process substitution) works as well as a file. */
static char *read_small(const char *path, size_t *lenp, char *err, size_t errlen)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	char *buf;
	size_t len = 0;
	ssize_t r = 0;

	if (fd < 0) {
		errfmt(err, errlen, "%s: %s", path, strerror(errno));
		return NULL;
	}
	buf = malloc(KMS_CREDS_FILE_MAX + 1);
	while (buf && len <= KMS_CREDS_FILE_MAX &&
	       (r = read(fd, buf + len, KMS_CREDS_FILE_MAX + 1 - len)) > 0)
		len += (size_t)r;
	close(fd);
	if (!buf || r < 0 || len > KMS_CREDS_FILE_MAX) {
		errfmt(err, errlen, "%s: %s", path, !buf ? "out of memory"
						  : r < 0 ? "read error" : "larger than 1 MiB");
		if (buf)
			OPENSSL_cleanse(buf, len);
		free(buf);
		return NULL;
	}
	*lenp = len;
	return buf;
}

/* Parses text (len bytes, malloc'd) and wipes and frees it. */
static int load_text(char *text, size_t len, const char *path, struct kms_profiles *ps,
		     char *err, size_t errlen)
{
	int rc = kms_profiles_parse(text, len, path, ps, err, errlen);

	OPENSSL_cleanse(text, len);
	free(text);
	return rc;
}

int kms_profiles_load(const char *path, struct kms_profiles *ps, char *err, size_t errlen)
{
	size_t len;
	char *text = read_small(path, &len, err, errlen);

	memset(ps, 0, sizeof(*ps));
	return text ? load_text(text, len, path, ps, err, errlen) : -1;
}

void kms_profile_take(struct kms_profile *p, char **access_key, char **secret_key, char **token)
{
	*access_key = p->access_key;
	*secret_key = p->secret_key;
	*token = NULL;
	p->access_key = p->secret_key = NULL;
	if (p->token && *p->token) {
		*token = p->token;
		p->token = NULL;
	}
}

/* Moves the wanted profile's values into c. */
static int creds_from(struct kms_profiles *ps, const char *name, const char *profile,
		      struct kms_creds *c, char *err, size_t errlen)
{
	struct kms_profile *p = kms_profiles_get(ps, name, profile, err, errlen);

	if (!p)
		return -1;
	kms_profile_take(p, &c->access_key, &c->secret_key, &c->token);
	snprintf(c->source, sizeof(c->source), "%.256s [%.48s]", name, profile);
	return 0;
}

int kms_creds_parse(const char *text, const char *name, const char *profile, struct kms_creds *c,
		    char *err, size_t errlen)
{
	struct kms_profiles ps;
	int rc;

	memset(c, 0, sizeof(*c));
	if (kms_profiles_parse(text, strlen(text), name, &ps, err, errlen) != 0)
		return -1;
	rc = creds_from(&ps, name, profile, c, err, errlen);
	kms_profiles_free(&ps);
	return rc;
}

static int from_env(struct kms_creds *c, char *err, size_t errlen)
{
	const char *ak = getenv("AWS_ACCESS_KEY_ID"), *sk = getenv("AWS_SECRET_ACCESS_KEY");
	const char *tok = getenv("AWS_SESSION_TOKEN");

	if ((ak && *ak) != (sk && *sk))
		return errfmt(err, errlen, "%s is set without %s",
			      ak && *ak ? "AWS_ACCESS_KEY_ID" : "AWS_SECRET_ACCESS_KEY",
			      ak && *ak ? "AWS_SECRET_ACCESS_KEY" : "AWS_ACCESS_KEY_ID");
	if (!ak || !*ak)
		return 1;
	if (strlen(ak) > KMS_CREDS_VALUE_MAX || strlen(sk) > KMS_CREDS_VALUE_MAX ||
	    (tok && strlen(tok) > KMS_CREDS_VALUE_MAX))
		return errfmt(err, errlen, "AWS_* credential variable longer than %d bytes",
			      KMS_CREDS_VALUE_MAX);
	c->access_key = strdup(ak);
	c->secret_key = strdup(sk);
	c->token = tok && *tok ? strdup(tok) : NULL;
	snprintf(c->source, sizeof(c->source), "environment");
	if (!c->access_key || !c->secret_key || (tok && *tok && !c->token)) {
		kms_creds_free(c);
		return errfmt(err, errlen, "out of memory");
	}
	return 0;
}

int kms_creds_load(const char *profile, struct kms_creds *c, char *err, size_t errlen)
{
	const char *file = getenv("AWS_SHARED_CREDENTIALS_FILE"), *home = getenv("HOME");
	struct kms_profiles ps;
	char path[4096], why[4200], *text;
	size_t len;
	int rc;

	memset(c, 0, sizeof(*c));
	if (!profile && (rc = from_env(c, err, errlen)) <= 0)
		return rc;
	if (!profile)
		profile = getenv("AWS_PROFILE") && *getenv("AWS_PROFILE") ? getenv("AWS_PROFILE")
									   : "default";
	if (file && *file)
		snprintf(path, sizeof(path), "%s", file);
	else if (home && *home)
		snprintf(path, sizeof(path), "%s/.aws/credentials", home);
	else
		return errfmt(err, errlen, "no credentials: AWS_ACCESS_KEY_ID unset and no HOME");
	text = read_small(path, &len, why, sizeof(why));
	if (!text)
		return errfmt(err, errlen, "no credentials: AWS_ACCESS_KEY_ID unset, %s", why);
	if (load_text(text, len, path, &ps, err, errlen) != 0)
		return -1;
	rc = creds_from(&ps, path, profile, c, err, errlen);
	kms_profiles_free(&ps);
	return rc;
}
