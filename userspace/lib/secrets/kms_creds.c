/* Credential lookup: environment, then the shared credentials file. */
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

/* One "key = value" line of the wanted section. */
static int take(struct kms_creds *c, char *line, const char *name, char *err, size_t errlen)
{
	char *eq = strchr(line, '='), *key, *val, **slot = NULL;

	if (!eq)
		return errfmt(err, errlen, "%s: a line of the profile has no '='", name);
	*eq = '\0';
	key = trim(line);
	val = trim(eq + 1);
	if (strcmp(key, "aws_access_key_id") == 0)
		slot = &c->access_key;
	else if (strcmp(key, "aws_secret_access_key") == 0)
		slot = &c->secret_key;
	else if (strcmp(key, "aws_session_token") == 0)
		slot = &c->token;
	if (!slot)
		return 0; /* region, output, ...: not ours */
	if (*slot)
		return errfmt(err, errlen, "%s: %s given twice in the profile", name, key);
	if (strlen(val) > KMS_CREDS_VALUE_MAX || !(*slot = strdup(val)))
		return errfmt(err, errlen, "%s: %s too long", name, key);
	return 0;
}

/* Whether line is "[profile]" (also "[profile NAME]", the config file's form). */
static int section_is(const char *line, const char *profile)
{
	size_t n = strlen(line), p = strlen(profile);

	if (n < 2 || line[0] != '[' || line[n - 1] != ']')
		return -1;
	if (n - 2 == p && memcmp(line + 1, profile, p) == 0)
		return 1;
	return n - 2 == p + 8 && memcmp(line + 1, "profile ", 8) == 0 &&
	       memcmp(line + 9, profile, p) == 0;
}

static int scan(char *text, const char *name, const char *profile, struct kms_creds *c,
		int *found, char *err, size_t errlen)
{
	char *save = NULL, *line;
	int in = 0;

	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *l = trim(line);
		int s;

		if (*l == '\0' || *l == '#' || *l == ';')
			continue;
		if ((s = section_is(l, profile)) >= 0) {
			in = s;
			*found |= s;
			continue;
		}
		if (in && take(c, l, name, err, errlen) < 0)
			return -1;
	}
	return 0;
}

int kms_creds_parse(const char *text, const char *name, const char *profile, struct kms_creds *c,
		    char *err, size_t errlen)
{
	char *copy = strdup(text);
	int found = 0, rc;

	memset(c, 0, sizeof(*c));
	if (!copy)
		return errfmt(err, errlen, "out of memory");
	rc = scan(copy, name, profile, c, &found, err, errlen);
	OPENSSL_cleanse(copy, strlen(text));
	free(copy);
	if (rc == 0 && !found)
		rc = errfmt(err, errlen, "%s: no profile [%s]", name, profile);
	else if (rc == 0 && (!c->access_key || !c->secret_key || !*c->access_key || !*c->secret_key))
		rc = errfmt(err, errlen, "%s: profile [%s] lacks aws_access_key_id or "
			    "aws_secret_access_key", name, profile);
	if (rc < 0) {
		kms_creds_free(c);
		return -1;
	}
	snprintf(c->source, sizeof(c->source), "%.256s [%.48s]", name, profile);
	return 0;
}

static char *read_small(const char *path, char *err, size_t errlen)
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
		free(buf);
		return NULL;
	}
	buf[len] = '\0';
	return buf;
}

int kms_creds_load(const char *profile, struct kms_creds *c, char *err, size_t errlen)
{
	const char *file = getenv("AWS_SHARED_CREDENTIALS_FILE"), *home = getenv("HOME");
	char path[4096], *text;
	size_t n;
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
	text = read_small(path, err, errlen);
	if (!text)
		return errfmt(err, errlen, "no credentials: AWS_ACCESS_KEY_ID unset, %s unreadable",
			      path);
	rc = kms_creds_parse(text, path, profile, c, err, errlen);
	n = strlen(text);
	OPENSSL_cleanse(text, n);
	free(text);
	return rc;
}
