/* The strict reader of a received Authorization header (docs/sigv4.md, "The
 * server side"). It runs before any authentication, on bytes anyone can send,
 * so each field has a fixed shape and bound. */
#include "lib/secrets/sigv4.h"

#include <string.h>

#include "lib/core/errfmt.h"

struct cur {
	const char *p, *end;
};

static int lit(struct cur *c, const char *s)
{
	size_t n = strlen(s);

	if ((size_t)(c->end - c->p) < n || memcmp(c->p, s, n) != 0)
		return 0;
	c->p += n;
	return 1;
}

static size_t skip_spaces(struct cur *c)
{
	size_t n = 0;

	while (c->p < c->end && *c->p == ' ') {
		c->p++;
		n++;
	}
	return n;
}

/* Copies the run of accepted characters up to stop (not consumed) into out
 * (cap includes the NUL); 1..cap-1 characters or -1. */
static int field(struct cur *c, int (*ok)(char), char stop, char *out, size_t cap)
{
	size_t n = 0;

	while (c->p < c->end && *c->p != stop && ok(*c->p)) {
		if (n + 1 >= cap)
			return -1;
		out[n++] = *c->p++;
	}
	out[n] = '\0';
	return n ? 0 : -1;
}

static int keyid_char(char ch)
{
	return (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9');
}

static int scope_char(char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '-';
}

static int digit(char ch)
{
	return ch >= '0' && ch <= '9';
}

static int name_char(char ch)
{
	return scope_char(ch) || ch == '_' || ch == '.';
}

static int hex_char(char ch)
{
	return digit(ch) || (ch >= 'a' && ch <= 'f');
}

static int credential(struct cur *c, struct sigv4_auth *a, char *err, size_t errlen)
{
	if (!lit(c, "Credential="))
		return errfmt(err, errlen, "Authorization: Credential= expected");
	if (field(c, keyid_char, '/', a->access_key, sizeof(a->access_key)) < 0 || !lit(c, "/"))
		return errfmt(err, errlen, "Authorization: bad access key id in Credential");
	if (field(c, digit, '/', a->date, sizeof(a->date)) < 0 || strlen(a->date) != 8 ||
	    !lit(c, "/"))
		return errfmt(err, errlen, "Authorization: Credential date is not YYYYMMDD");
	if (field(c, scope_char, '/', a->region, sizeof(a->region)) < 0 || !lit(c, "/"))
		return errfmt(err, errlen, "Authorization: bad region in Credential");
	if (field(c, scope_char, '/', a->service, sizeof(a->service)) < 0 || !lit(c, "/"))
		return errfmt(err, errlen, "Authorization: bad service in Credential");
	if (!lit(c, "aws4_request"))
		return errfmt(err, errlen, "Authorization: Credential must end in /aws4_request");
	return 0;
}

/* ';'-separated names, each valid, strictly ascending (so no duplicates). */
static int signed_headers(struct cur *c, struct sigv4_auth *a, char *err, size_t errlen)
{
	char prev[SIGV4_MAX_NAME + 1] = "", name[SIGV4_MAX_NAME + 1];
	size_t len = 0, count = 0;

	if (!lit(c, "SignedHeaders="))
		return errfmt(err, errlen, "Authorization: SignedHeaders= expected");
	do {
		size_t n;

		if (field(c, name_char, ';', name, sizeof(name)) < 0)
			return errfmt(err, errlen, "Authorization: bad name in SignedHeaders");
		if (++count > SIGV4_MAX_HEADERS || (count > 1 && strcmp(prev, name) >= 0))
			return errfmt(err, errlen, "Authorization: SignedHeaders %s",
				      count > SIGV4_MAX_HEADERS ? "has too many names"
								: "not sorted or repeated");
		n = strlen(name);
		if (len)
			a->signed_headers[len++] = ';';
		memcpy(a->signed_headers + len, name, n + 1);
		len += n;
		memcpy(prev, name, n + 1);
	} while (lit(c, ";"));
	return 0;
}

static int separator(struct cur *c)
{
	skip_spaces(c);
	if (!lit(c, ","))
		return 0;
	skip_spaces(c);
	return 1;
}

int sigv4_parse_authorization(const char *value, size_t len, struct sigv4_auth *a, char *err,
			      size_t errlen)
{
	struct cur c = { value, value + len };

	memset(a, 0, sizeof(*a));
	if (len > SIGV4_MAX_AUTH)
		return errfmt(err, errlen, "Authorization: longer than %d bytes", SIGV4_MAX_AUTH);
	if (!lit(&c, SIGV4_ALGORITHM) || skip_spaces(&c) == 0)
		return errfmt(err, errlen, "Authorization: not %s", SIGV4_ALGORITHM);
	if (credential(&c, a, err, errlen) < 0)
		return -1;
	if (!separator(&c))
		return errfmt(err, errlen, "Authorization: ',' expected after Credential");
	if (signed_headers(&c, a, err, errlen) < 0)
		return -1;
	if (!separator(&c) || !lit(&c, "Signature="))
		return errfmt(err, errlen, "Authorization: Signature= expected after SignedHeaders");
	if (field(&c, hex_char, ',', a->signature, sizeof(a->signature)) < 0 ||
	    strlen(a->signature) != 64 || c.p != c.end)
		return errfmt(err, errlen, "Authorization: Signature is not 64 lower-case hex digits");
	return 0;
}
