/* The server's principals: every profile of a shared-credentials file. */
#include "seal/kms_srv.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "lib/core/errfmt.h"
#include "lib/core/fdio.h"
#include "lib/secrets/kms_creds.h"
#include "lib/secrets/kms_policy.h"

static void wipe(char **s)
{
	if (*s) {
		OPENSSL_cleanse(*s, strlen(*s));
		free(*s);
		*s = NULL;
	}
}

void kms_principals_free(struct kms_principals *ps)
{
	for (size_t i = 0; i < ps->n; i++) {
		wipe(&ps->p[i].access_key);
		wipe(&ps->p[i].secret_key);
		wipe(&ps->p[i].token);
	}
	ps->n = 0;
}

static char *trim(char *s)
{
	char *e;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
		*--e = 0;
	return s;
}

static int set_value(struct kms_principal *p, const char *key, const char *val, const char *name,
		     int line, char *err, size_t errlen)
{
	char **slot = NULL;
	char acct[13];

	if (strcmp(key, "aws_access_key_id") == 0)
		slot = &p->access_key;
	else if (strcmp(key, "aws_secret_access_key") == 0)
		slot = &p->secret_key;
	else if (strcmp(key, "aws_session_token") == 0)
		slot = &p->token;
	else if (strcmp(key, "principal_arn") == 0) {
		if (strlen(val) >= sizeof(p->arn) || kms_arn_account(val, acct) != 0)
			return errfmt(err, errlen, "%s:%d: principal_arn is not arn:aws:iam::ACCOUNT:...",
				      name, line);
		snprintf(p->arn, sizeof(p->arn), "%s", val);
		return 0;
	} else
		return 0; /* region, output, ...: not ours */
	if (*slot)
		return errfmt(err, errlen, "%s:%d: %s given twice in [%s]", name, line, key,
			      p->profile);
	if (!*val || strlen(val) > KMS_CREDS_VALUE_MAX)
		return errfmt(err, errlen, "%s:%d: %s is empty or too long", name, line, key);
	*slot = strdup(val);
	return *slot ? 0 : errfmt(err, errlen, "out of memory");
}

static int open_section(struct kms_principals *ps, char *l, const char *name, int line,
			char *err, size_t errlen)
{
	char *end = strchr(l, ']'), *prof;
	size_t n;

	if (!end || trim(end + 1)[0])
		return errfmt(err, errlen, "%s:%d: malformed section header", name, line);
	*end = 0;
	prof = trim(l + 1);
	if (strncmp(prof, "profile ", 8) == 0)
		prof = trim(prof + 8);
	n = strlen(prof);
	if (n == 0 || n >= sizeof(ps->p[0].profile))
		return errfmt(err, errlen, "%s:%d: profile name of %zu characters", name, line, n);
	if (ps->n == KMS_PRINCIPALS_MAX)
		return errfmt(err, errlen, "%s: more than %d profiles", name, KMS_PRINCIPALS_MAX);
	memcpy(ps->p[ps->n].profile, prof, n + 1);
	ps->n++;
	return 0;
}

static int finish(struct kms_principals *ps, const char *name, const char *account, char *err,
		  size_t errlen)
{
	for (size_t i = 0; i < ps->n; i++) {
		struct kms_principal *p = &ps->p[i];

		if (!p->access_key || !p->secret_key)
			return errfmt(err, errlen, "%s: [%s] lacks aws_access_key_id or aws_secret_access_key",
				      name, p->profile);
		for (size_t j = 0; j < i; j++)
			if (strcmp(ps->p[j].access_key, p->access_key) == 0)
				return errfmt(err, errlen, "%s: [%s] and [%s] share an access key id",
					      name, ps->p[j].profile, p->profile);
		if (!p->arn[0])
			snprintf(p->arn, sizeof(p->arn), "arn:aws:iam::%s:user/%s", account,
				 p->profile);
	}
	if (ps->n == 0)
		return errfmt(err, errlen, "%s: no profile", name);
	return 0;
}

int kms_principals_parse(const char *text, size_t len, const char *name, const char *account,
			 struct kms_principals *ps, char *err, size_t errlen)
{
	char *buf = malloc(len + 1), *l, *next;
	int line = 0, rc = 0;

	memset(ps, 0, sizeof(*ps));
	if (!buf)
		return errfmt(err, errlen, "out of memory");
	memcpy(buf, text, len);
	buf[len] = 0;
	if (memchr(text, 0, len)) {
		free(buf);
		return errfmt(err, errlen, "%s: contains a NUL byte", name);
	}
	for (l = buf; rc == 0 && l; l = next) {
		char *eq;

		next = strchr(l, '\n');
		if (next)
			*next++ = 0;
		line++;
		l = trim(l);
		if (!*l || *l == '#' || *l == ';')
			continue;
		if (*l == '[') {
			rc = open_section(ps, l, name, line, err, errlen);
			continue;
		}
		eq = strchr(l, '=');
		if (!eq || ps->n == 0) {
			rc = errfmt(err, errlen, "%s:%d: not 'key = value' inside a [profile]", name, line);
			continue;
		}
		*eq = 0;
		rc = set_value(&ps->p[ps->n - 1], trim(l), trim(eq + 1), name, line, err, errlen);
	}
	OPENSSL_cleanse(buf, len);
	free(buf);
	if (rc == 0)
		rc = finish(ps, name, account, err, errlen);
	if (rc != 0)
		kms_principals_free(ps);
	return rc;
}

int kms_principals_load(const char *path, const char *account, struct kms_principals *ps,
			char *err, size_t errlen)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC), rc;
	struct stat sb;
	char *text;

	if (fd < 0)
		return errfmt(err, errlen, "%s: %s", path, strerror(errno));
	if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode) || sb.st_size > KMS_CREDS_FILE_MAX) {
		close(fd);
		return errfmt(err, errlen, "%s: not a regular file of at most %u bytes", path,
			      KMS_CREDS_FILE_MAX);
	}
	text = malloc((size_t)sb.st_size + 1);
	if (!text) {
		close(fd);
		return errfmt(err, errlen, "out of memory");
	}
	rc = fd_read_full(fd, text, (size_t)sb.st_size);
	close(fd);
	if (rc != 0) {
		free(text);
		return errfmt(err, errlen, "%s: read failed", path);
	}
	rc = kms_principals_parse(text, (size_t)sb.st_size, path, account, ps, err, errlen);
	OPENSSL_cleanse(text, (size_t)sb.st_size);
	free(text);
	return rc;
}

const struct kms_principal *kms_principal_find(const struct kms_principals *ps,
					       const char *access_key)
{
	for (size_t i = 0; i < ps->n; i++)
		if (strcmp(ps->p[i].access_key, access_key) == 0)
			return &ps->p[i];
	return NULL;
}
