/* SigV4 canonical forms: URI, query, headers, request (docs/sigv4.md 1-4).
 * The server runs this on what it received, so every input is bounded and
 * a malformed one is refused rather than canonicalised "somehow": two
 * readings of one request would be two signatures. */
#include "lib/secrets/sigv4.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/core/errfmt.h"
#include "lib/secrets/sigv4_buf.h"

/* The canonical request is bounded by the sum of its bounded parts. */
#define CREQ_MAX                                                                   \
	(64 + 3 * SIGV4_MAX_PATH + 3 * SIGV4_MAX_QUERY +                           \
	 SIGV4_MAX_HEADERS * (2 * SIGV4_MAX_NAME + SIGV4_MAX_VALUE + 4) + 128)

static int unreserved(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '-' || c == '.' || c == '_' || c == '~';
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Percent-encodes s[0..n) into b; '/' passes when keep_slash. */
static int encode(struct sv4buf *b, const char *s, size_t n, int keep_slash)
{
	static const char hex[] = "0123456789ABCDEF";

	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		char esc[3] = { '%', hex[c >> 4], hex[c & 15] };

		if (unreserved(c) || (keep_slash && c == '/'))
			sv4buf_chr(b, (char)c);
		else
			sv4buf_put(b, esc, 3);
	}
	return b->failed ? -1 : 0;
}

char *sigv4_uri_encode(const char *s, size_t n, bool keep_slash)
{
	struct sv4buf b;

	if (n > SIGV4_MAX_QUERY)
		return NULL;
	sv4buf_init(&b, 3 * SIGV4_MAX_QUERY + 1);
	encode(&b, s, n, keep_slash);
	return sv4buf_take(&b);
}

char *sigv4_uri_decode(const char *s, size_t n)
{
	char *out = malloc(n + 1);
	size_t o = 0;

	if (!out)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		int hi, lo;

		if (s[i] != '%') {
			if (s[i] == '\0')
				goto bad;
			out[o++] = s[i];
			continue;
		}
		if (n - i < 3 || (hi = hexval(s[i + 1])) < 0 || (lo = hexval(s[i + 2])) < 0 ||
		    (hi | lo) == 0)
			goto bad;
		out[o++] = (char)(hi << 4 | lo);
		i += 2;
	}
	out[o] = '\0';
	return out;
bad:
	free(out);
	return NULL;
}

/* RFC 3986 dot-segment removal plus empty-segment removal, as AWS does for
 * every service but S3; a trailing '/' stays. */
static char *normalize_path(const char *path)
{
	size_t n = strlen(path);
	char *out = malloc(n + 2);
	size_t o = 0;
	const char *p = path;

	if (!out)
		return NULL;
	while (*p) {
		const char *seg;
		size_t len;

		while (*p == '/')
			p++;
		seg = p;
		while (*p && *p != '/')
			p++;
		len = (size_t)(p - seg);
		if (len == 0 || (len == 1 && seg[0] == '.'))
			continue;
		if (len == 2 && seg[0] == '.' && seg[1] == '.') {
			while (o > 0 && out[o - 1] != '/')
				o--;
			if (o > 0)
				o--;
			continue;
		}
		out[o++] = '/';
		memcpy(out + o, seg, len);
		o += len;
	}
	if (o == 0 || (n > 0 && path[n - 1] == '/'))
		out[o++] = '/';
	out[o] = '\0';
	return out;
}

char *sigv4_canonical_uri(const char *path, bool normalize, char *err, size_t errlen)
{
	struct sv4buf b;
	char *norm;
	size_t n;

	if (!path || !*path)
		path = "/";
	n = strlen(path);
	if (n > SIGV4_MAX_PATH || path[0] != '/') {
		errfmt(err, errlen, "path: %s", n > SIGV4_MAX_PATH ? "too long" : "must start with /");
		return NULL;
	}
	norm = normalize ? normalize_path(path) : strdup(path);
	if (!norm) {
		errfmt(err, errlen, "path: out of memory");
		return NULL;
	}
	sv4buf_init(&b, 3 * SIGV4_MAX_PATH + 1);
	encode(&b, norm, strlen(norm), 1);
	free(norm);
	norm = sv4buf_take(&b);
	if (!norm)
		errfmt(err, errlen, "path: out of memory");
	return norm;
}

struct qpair {
	char *k, *v;
};

static int qpair_cmp(const void *a, const void *b)
{
	const struct qpair *x = a, *y = b;
	int c = strcmp(x->k, y->k);

	return c ? c : strcmp(x->v, y->v);
}

/* Decodes then strictly re-encodes one key or value. */
static char *requote(const char *s, size_t n)
{
	char *dec = sigv4_uri_decode(s, n);
	struct sv4buf b;

	if (!dec)
		return NULL;
	sv4buf_init(&b, 3 * SIGV4_MAX_QUERY + 1);
	encode(&b, dec, strlen(dec), 0);
	free(dec);
	return sv4buf_take(&b);
}

static int split_query(const char *q, struct qpair *pairs, size_t *np)
{
	size_t n = 0;

	while (*q) {
		const char *end = strchr(q, '&'), *eq;
		size_t len;

		if (!end)
			end = q + strlen(q);
		len = (size_t)(end - q);
		if (len) {
			eq = memchr(q, '=', len);
			pairs[n].k = requote(q, eq ? (size_t)(eq - q) : len);
			pairs[n].v = eq ? requote(eq + 1, (size_t)(end - eq - 1)) : strdup("");
			n++;
			if (!pairs[n - 1].k || !pairs[n - 1].v) {
				*np = n;
				return -1;
			}
		}
		q = *end ? end + 1 : end;
	}
	*np = n;
	return 0;
}

static char *join_query(struct qpair *pairs, size_t n)
{
	struct sv4buf b;

	sv4buf_init(&b, 3 * SIGV4_MAX_QUERY + 1);
	for (size_t i = 0; i < n; i++) {
		if (i)
			sv4buf_chr(&b, '&');
		sv4buf_str(&b, pairs[i].k);
		sv4buf_chr(&b, '=');
		sv4buf_str(&b, pairs[i].v);
	}
	return sv4buf_take(&b);
}

char *sigv4_canonical_query(const char *query, char *err, size_t errlen)
{
	size_t qlen = query ? strlen(query) : 0, cap = 1, n = 0;
	struct qpair *pairs;
	char *out = NULL;

	if (qlen > SIGV4_MAX_QUERY) {
		errfmt(err, errlen, "query: longer than %d bytes", SIGV4_MAX_QUERY);
		return NULL;
	}
	for (size_t i = 0; i < qlen; i++)
		cap += query[i] == '&';
	pairs = calloc(cap, sizeof(*pairs));
	if (!pairs) {
		errfmt(err, errlen, "query: out of memory");
		return NULL;
	}
	if (split_query(qlen ? query : "", pairs, &n) < 0) {
		errfmt(err, errlen, "query: bad percent-escape");
	} else {
		qsort(pairs, n, sizeof(*pairs), qpair_cmp);
		out = join_query(pairs, n);
		if (!out)
			errfmt(err, errlen, "query: out of memory");
	}
	for (size_t i = 0; i < n; i++) {
		free(pairs[i].k);
		free(pairs[i].v);
	}
	free(pairs);
	return out;
}

struct hdr {
	char name[SIGV4_MAX_NAME + 1];
	const char *value;
	size_t idx;
};

static int hdr_cmp(const void *a, const void *b)
{
	const struct hdr *x = a, *y = b;
	int c = strcmp(x->name, y->name);

	/* The index keeps same-name headers in arrival order: qsort is not stable. */
	if (c)
		return c;
	return x->idx < y->idx ? -1 : x->idx > y->idx;
}

static int tchar(unsigned char c)
{
	return c > 0x20 && c < 0x7f && c != ':' && c != '(' && c != ')' && c != ',' &&
	       c != ';' && c != '"' && c != '/' && c != '[' && c != ']' && c != '{' &&
	       c != '}' && c != '=' && c != '?' && c != '@' && c != '\\' && c != '<' && c != '>';
}

static int lower_name(const char *name, char out[SIGV4_MAX_NAME + 1])
{
	size_t n = strlen(name);

	if (n == 0 || n > SIGV4_MAX_NAME)
		return -1;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)name[i];

		if (!tchar(c))
			return -1;
		out[i] = (char)(c >= 'A' && c <= 'Z' ? c + 32 : c);
	}
	out[n] = '\0';
	return 0;
}

/* Whether name is one of the ';' list (NULL list: every name is). */
static int listed(const char *list, const char *name)
{
	size_t n = strlen(name);

	if (!list)
		return 1;
	for (const char *p = list; *p;) {
		const char *e = strchr(p, ';');
		size_t len = e ? (size_t)(e - p) : strlen(p);

		if (len == n && memcmp(p, name, n) == 0)
			return 1;
		p += len + (e ? 1 : 0);
	}
	return 0;
}

static int space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* The value trimmed, inner whitespace runs (folded lines too) as one space. */
static void put_value(struct sv4buf *b, const char *v)
{
	int pending = 0;

	while (space(*v))
		v++;
	for (; *v; v++) {
		if (space(*v)) {
			pending = 1;
			continue;
		}
		if (pending)
			sv4buf_chr(b, ' ');
		pending = 0;
		sv4buf_chr(b, *v);
	}
}

static int collect(const struct sigv4_request *r, const char *list, struct hdr *h, size_t *nh,
		   char *err, size_t errlen)
{
	size_t n = 0;

	for (size_t i = 0; i < r->nheaders; i++) {
		if (n == SIGV4_MAX_HEADERS)
			return errfmt(err, errlen, "headers: more than %d to sign", SIGV4_MAX_HEADERS);
		/* A server checks only what was signed: an odd unsigned header
		 * (a long cookie, a proxy's addition) is none of its business. */
		if (lower_name(r->headers[i].name, h[n].name) < 0) {
			if (list)
				continue;
			return errfmt(err, errlen, "header name '%.64s': invalid", r->headers[i].name);
		}
		if (!listed(list, h[n].name))
			continue;
		if (strlen(r->headers[i].value) > SIGV4_MAX_VALUE)
			return errfmt(err, errlen, "header %s: value longer than %d", h[n].name,
				      SIGV4_MAX_VALUE);
		h[n].value = r->headers[i].value;
		h[n].idx = i;
		n++;
	}
	qsort(h, n, sizeof(*h), hdr_cmp);
	*nh = n;
	return 0;
}

/* Every name of the signed list must be among the headers received. */
static int check_present(const char *list, const struct hdr *h, size_t nh, char *err,
			 size_t errlen)
{
	for (const char *p = list; p && *p;) {
		const char *e = strchr(p, ';');
		size_t len = e ? (size_t)(e - p) : strlen(p);
		int found = 0;

		for (size_t i = 0; i < nh && !found; i++)
			found = strlen(h[i].name) == len && memcmp(h[i].name, p, len) == 0;
		if (!found)
			return errfmt(err, errlen, "signed header '%.*s' is not in the request",
				      (int)(len > 64 ? 64 : len), p);
		p += len + (e ? 1 : 0);
	}
	return 0;
}

static void put_headers(struct sv4buf *b, struct sv4buf *names, const struct hdr *h, size_t nh)
{
	for (size_t i = 0; i < nh; i++) {
		int first = i == 0 || strcmp(h[i].name, h[i - 1].name) != 0;
		int last = i + 1 == nh || strcmp(h[i].name, h[i + 1].name) != 0;

		if (first) {
			if (names->len)
				sv4buf_chr(names, ';');
			sv4buf_str(names, h[i].name);
			sv4buf_str(b, h[i].name);
			sv4buf_chr(b, ':');
		} else {
			sv4buf_chr(b, ',');
		}
		put_value(b, h[i].value);
		if (last)
			sv4buf_chr(b, '\n');
	}
}

static int valid_method(const char *m)
{
	size_t n = m ? strlen(m) : 0;

	if (n == 0 || n > 16)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (m[i] < 'A' || m[i] > 'Z')
			return 0;
	return 1;
}

static int valid_hash(const char *h)
{
	/* S3's literal for a body that is not hashed (docs/s3.md, opt-in). */
	if (strcmp(h, "UNSIGNED-PAYLOAD") == 0)
		return 1;
	/* The body is signed chunk by chunk instead (docs/sigv4.md, "Streaming"). */
	if (strcmp(h, SIGV4_STREAMING_PAYLOAD) == 0)
		return 1;
	for (int i = 0; i < 64; i++)
		if (!((h[i] >= '0' && h[i] <= '9') || (h[i] >= 'a' && h[i] <= 'f')))
			return 0;
	return h[64] == '\0';
}

static char *assemble(const struct sigv4_request *r, const char *uri, const char *query,
		      const struct hdr *h, size_t nh, char **signed_out)
{
	struct sv4buf b, names;
	char *list;

	sv4buf_init(&b, CREQ_MAX);
	sv4buf_init(&names, SIGV4_MAX_HEADERS * (SIGV4_MAX_NAME + 1));
	sv4buf_str(&b, r->method);
	sv4buf_chr(&b, '\n');
	sv4buf_str(&b, uri);
	sv4buf_chr(&b, '\n');
	sv4buf_str(&b, query);
	sv4buf_chr(&b, '\n');
	put_headers(&b, &names, h, nh);
	sv4buf_chr(&b, '\n');
	list = sv4buf_take(&names);
	if (list)
		sv4buf_str(&b, list);
	sv4buf_chr(&b, '\n');
	sv4buf_put(&b, r->payload_hash, 64);
	if (list && signed_out && !b.failed)
		*signed_out = list;
	else
		free(list);
	if (!list)
		b.failed = 1;
	return sv4buf_take(&b);
}

char *sigv4_canonical_request(const struct sigv4_request *r, const char *signed_headers,
			      char **signed_out, char *err, size_t errlen)
{
	struct hdr *h;
	char *uri = NULL, *query = NULL, *creq = NULL;
	size_t nh = 0;

	if (signed_out)
		*signed_out = NULL;
	if (!valid_method(r->method) || !valid_hash(r->payload_hash)) {
		errfmt(err, errlen, "%s", valid_method(r->method) ? "payload hash: not 64 hex digits"
								 : "method: invalid");
		return NULL;
	}
	h = calloc(SIGV4_MAX_HEADERS, sizeof(*h));
	if (!h) {
		errfmt(err, errlen, "out of memory");
		return NULL;
	}
	if (collect(r, signed_headers, h, &nh, err, errlen) < 0 ||
	    check_present(signed_headers, h, nh, err, errlen) < 0)
		goto out;
	uri = sigv4_canonical_uri(r->path, r->normalize, err, errlen);
	query = uri ? sigv4_canonical_query(r->query, err, errlen) : NULL;
	if (!query)
		goto out;
	creq = assemble(r, uri, query, h, nh, signed_out);
	if (!creq)
		errfmt(err, errlen, "canonical request: too long or out of memory");
out:
	free(uri);
	free(query);
	free(h);
	return creq;
}
