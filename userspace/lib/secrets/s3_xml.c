/* The strict S3 XML reader: recursive descent over a bounded buffer, one
 * path buffer for the element stack, one text buffer per leaf. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/core/errfmt.h"
#include "lib/secrets/s3_xml.h"

struct xr {
	const char *start, *p, *end;
	s3_xml_cb cb;
	void *arg;
	char path[S3_XML_MAX_DEPTH * (S3_XML_MAX_NAME + 1) + 1];
	size_t path_len;
	unsigned elements;
	char *err;
	size_t errlen;
};

static int fail(struct xr *x, const char *what)
{
	return errfmt(x->err, x->errlen, "XML: %s at byte %zu", what, (size_t)(x->p - x->start));
}

static int is_ws(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static int starts(struct xr *x, const char *s)
{
	size_t n = strlen(s);

	return (size_t)(x->end - x->p) >= n && memcmp(x->p, s, n) == 0;
}

static void skip_ws(struct xr *x)
{
	while (x->p < x->end && is_ws(*x->p))
		x->p++;
}

/* Skips past the next occurrence of s; -1 if there is none. */
static int skip_past(struct xr *x, const char *s)
{
	size_t n = strlen(s);

	for (; (size_t)(x->end - x->p) >= n; x->p++)
		if (memcmp(x->p, s, n) == 0) {
			x->p += n;
			return 0;
		}
	return -1;
}

static int comment(struct xr *x)
{
	x->p += 4;
	for (; x->end - x->p >= 2; x->p++)
		if (x->p[0] == '-' && x->p[1] == '-') {
			if (x->end - x->p < 3 || x->p[2] != '>')
				return fail(x, "'--' inside a comment");
			x->p += 3;
			return 0;
		}
	return fail(x, "unterminated comment");
}

/* White space and comments between elements. */
static int misc(struct xr *x)
{
	for (;;) {
		skip_ws(x);
		if (!starts(x, "<!--"))
			return 0;
		if (comment(x) < 0)
			return -1;
	}
}

static int name_start(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_';
}

static int name_char(char c)
{
	return name_start(c) || (c >= '0' && c <= '9') || c == '.' || c == ':' || c == '-';
}

static int read_name(struct xr *x, const char **name, size_t *n)
{
	const char *s = x->p;

	if (x->p >= x->end || !name_start(*x->p))
		return fail(x, "bad name");
	while (x->p < x->end && name_char(*x->p))
		x->p++;
	*name = s;
	*n = (size_t)(x->p - s);
	return *n > S3_XML_MAX_NAME ? fail(x, "name too long") : 0;
}

static int put_utf8(char *out, size_t *len, unsigned long cp)
{
	char b[4];
	size_t n;

	if (cp == 0 || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return -1;
	if (cp < 0x80) {
		b[0] = (char)cp;
		n = 1;
	} else if (cp < 0x800) {
		b[0] = (char)(0xc0 | cp >> 6);
		b[1] = (char)(0x80 | (cp & 0x3f));
		n = 2;
	} else if (cp < 0x10000) {
		b[0] = (char)(0xe0 | cp >> 12);
		b[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		b[2] = (char)(0x80 | (cp & 0x3f));
		n = 3;
	} else {
		b[0] = (char)(0xf0 | cp >> 18);
		b[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
		b[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
		b[3] = (char)(0x80 | (cp & 0x3f));
		n = 4;
	}
	if (*len + n > S3_XML_MAX_TEXT)
		return -1;
	memcpy(out + *len, b, n);
	*len += n;
	return 0;
}

static int char_ref(const char *s, size_t n, unsigned long *cp)
{
	int base = 10;
	char tmp[12], *end;

	if (n >= 1 && s[0] == 'x') {
		base = 16;
		s++;
		n--;
	}
	if (n == 0 || n >= sizeof(tmp))
		return -1;
	for (size_t i = 0; i < n; i++)
		if (!(base == 16 ? strchr("0123456789abcdefABCDEF", s[i]) : strchr("0123456789", s[i])) ||
		    s[i] == '\0')
			return -1;
	memcpy(tmp, s, n);
	tmp[n] = '\0';
	*cp = strtoul(tmp, &end, base);
	return *end ? -1 : 0;
}

/* One entity after '&', appended to out. */
static int entity(struct xr *x, char *out, size_t *len)
{
	static const struct { const char *name; char c; } ents[] = {
		{ "amp", '&' }, { "lt", '<' }, { "gt", '>' }, { "quot", '"' }, { "apos", '\'' },
	};
	const char *s = ++x->p, *semi = memchr(s, ';', (size_t)(x->end - s) < 12 ? (size_t)(x->end - s) : 12);
	size_t n;
	unsigned long cp = 0;

	if (!semi)
		return fail(x, "bad entity");
	n = (size_t)(semi - s);
	x->p = semi + 1;
	if (n > 1 && s[0] == '#') {
		if (char_ref(s + 1, n - 1, &cp) < 0 || put_utf8(out, len, cp) < 0)
			return fail(x, "bad character reference");
		return 0;
	}
	for (size_t i = 0; i < sizeof(ents) / sizeof(ents[0]); i++)
		if (strlen(ents[i].name) == n && memcmp(ents[i].name, s, n) == 0)
			return put_utf8(out, len, (unsigned char)ents[i].c) < 0 ? fail(x, "text too long") : 0;
	return fail(x, "unknown entity");
}

static int attr_value(struct xr *x)
{
	char q, tmp[S3_XML_MAX_TEXT];
	size_t len = 0;

	if (x->p >= x->end || (*x->p != '"' && *x->p != '\''))
		return fail(x, "attribute value not quoted");
	q = *x->p++;
	while (x->p < x->end && *x->p != q) {
		if (*x->p == '<')
			return fail(x, "'<' in an attribute");
		if (*x->p == '&') {
			if (entity(x, tmp, &len) < 0)
				return -1;
			continue;
		}
		if (++len > S3_XML_MAX_TEXT)
			return fail(x, "attribute too long");
		x->p++;
	}
	if (x->p >= x->end)
		return fail(x, "unterminated attribute");
	x->p++;
	return 0;
}

/* The attributes of a start tag, up to '>' or '/>'; *empty for the latter. */
static int attrs(struct xr *x, int *empty)
{
	const char *name;
	size_t n;

	for (;;) {
		int had_ws = x->p < x->end && is_ws(*x->p);
		skip_ws(x);
		if (starts(x, "/>")) {
			x->p += 2;
			*empty = 1;
			return 0;
		}
		if (starts(x, ">")) {
			x->p++;
			*empty = 0;
			return 0;
		}
		if (!had_ws || read_name(x, &name, &n) < 0)
			return fail(x, "bad start tag");
		skip_ws(x);
		if (!starts(x, "="))
			return fail(x, "attribute without '='");
		x->p++;
		skip_ws(x);
		if (attr_value(x) < 0)
			return -1;
	}
}

static int element(struct xr *x, int depth);

static int end_tag(struct xr *x, const char *name, size_t n)
{
	const char *got;
	size_t gn;

	x->p += 2;
	if (read_name(x, &got, &gn) < 0 || gn != n || memcmp(got, name, n) != 0)
		return fail(x, "end tag does not match");
	skip_ws(x);
	if (!starts(x, ">"))
		return fail(x, "bad end tag");
	x->p++;
	return 0;
}

/* Content up to the end tag: text (kept for a leaf), comments, children. */
static int content(struct xr *x, int depth, const char *name, size_t n, char *text,
		   size_t *tlen, int *children, int *nonws)
{
	for (;;) {
		if (x->p >= x->end)
			return fail(x, "unterminated element");
		if (starts(x, "</"))
			return end_tag(x, name, n);
		if (starts(x, "<!--")) {
			if (comment(x) < 0)
				return -1;
		} else if (starts(x, "<")) {
			*children = 1;
			if (element(x, depth + 1) < 0)
				return -1;
		} else if (*x->p == '&') {
			*nonws = 1;
			if (entity(x, text, tlen) < 0)
				return -1;
		} else {
			if (!is_ws(*x->p))
				*nonws = 1;
			if (*tlen >= S3_XML_MAX_TEXT)
				return fail(x, "text too long");
			if (*x->p == '\0')
				return fail(x, "NUL in text");
			text[(*tlen)++] = *x->p++;
		}
	}
}

static int push(struct xr *x, const char *name, size_t n)
{
	if (x->path_len)
		x->path[x->path_len++] = '/';
	memcpy(x->path + x->path_len, name, n);
	x->path_len += n;
	x->path[x->path_len] = '\0';
	return 0;
}

static void pop(struct xr *x, size_t n)
{
	x->path_len -= n;
	if (x->path_len)
		x->path_len--;
	x->path[x->path_len] = '\0';
}

static int element(struct xr *x, int depth)
{
	char text[S3_XML_MAX_TEXT + 1];
	size_t n, tlen = 0;
	const char *name;
	int empty = 0, children = 0, nonws = 0, rc;

	if (depth > S3_XML_MAX_DEPTH)
		return fail(x, "nested too deep");
	if (++x->elements > S3_XML_MAX_ELEMENTS)
		return fail(x, "too many elements");
	x->p++;
	if (read_name(x, &name, &n) < 0 || attrs(x, &empty) < 0)
		return -1;
	push(x, name, n);
	if (!empty && content(x, depth, name, n, text, &tlen, &children, &nonws) < 0)
		return -1;
	if (children && nonws)
		return fail(x, "text beside child elements");
	text[tlen] = '\0';
	rc = x->cb(x->arg, x->path, children ? NULL : text, children ? 0 : tlen);
	if (rc)
		return rc;
	pop(x, n);
	return 0;
}

int s3_xml_parse(const char *buf, size_t len, s3_xml_cb cb, void *arg, char *err, size_t errlen)
{
	struct xr x = { .start = buf, .p = buf, .end = buf + len, .cb = cb, .arg = arg, .err = err,
			.errlen = errlen };
	int rc;

	if (len > S3_XML_MAX)
		return errfmt(err, errlen, "XML: larger than %u bytes", S3_XML_MAX);
	if (starts(&x, "<?xml") && (x.p += 5, 1) && (x.p >= x.end || !is_ws(*x.p) ||
						      skip_past(&x, "?>") < 0))
		return fail(&x, "bad XML declaration");
	if (misc(&x) < 0)
		return -1;
	if (starts(&x, "<!") || starts(&x, "<?"))
		return fail(&x, "DOCTYPE, CDATA and processing instructions are not read");
	if (!starts(&x, "<"))
		return fail(&x, "no root element");
	rc = element(&x, 1);
	if (rc)
		return rc;
	if (misc(&x) < 0)
		return -1;
	return x.p == x.end ? 0 : fail(&x, "content after the root element");
}

/* ---------------------------------------------------------------- the answers */
static void copy_text(char *dst, size_t cap, const char *text, size_t len)
{
	size_t n = len < cap - 1 ? len : cap - 1;

	memcpy(dst, text, n);
	dst[n] = '\0';
}

struct err_st {
	struct s3_xml_error *e;
	int is_error;
};

static int err_cb(void *arg, const char *path, const char *text, size_t len)
{
	struct err_st *st = arg;

	if (strncmp(path, "Error", 5) == 0 && (path[5] == '\0' || path[5] == '/'))
		st->is_error = 1;
	if (!text)
		return 0;
	if (strcmp(path, "Error/Code") == 0)
		copy_text(st->e->code, sizeof(st->e->code), text, len);
	else if (strcmp(path, "Error/Message") == 0)
		copy_text(st->e->message, sizeof(st->e->message), text, len);
	return 0;
}

int s3_xml_error(const char *buf, size_t len, struct s3_xml_error *e)
{
	struct err_st st = { e, 0 };
	char err[128];

	memset(e, 0, sizeof(*e));
	if (s3_xml_parse(buf, len, err_cb, &st, err, sizeof(err)) != 0)
		return -1;
	return st.is_error;
}

struct one_st {
	const char *want;
	char *out;
	size_t cap;
	int found, too_long;
	const char *root;
	int root_ok;
};

static int one_cb(void *arg, const char *path, const char *text, size_t len)
{
	struct one_st *st = arg;
	size_t rl = strlen(st->root);

	if (strncmp(path, st->root, rl) == 0 && (path[rl] == '\0' || path[rl] == '/'))
		st->root_ok = 1;
	if (text && st->want && strcmp(path, st->want) == 0) {
		st->found++;
		st->too_long = len >= st->cap;
		copy_text(st->out, st->cap, text, len);
	}
	return 0;
}

/* The error of a body that should have been root, naming an <Error> in it. */
static int wrong_doc(const char *buf, size_t len, const char *root, char *err, size_t errlen)
{
	struct s3_xml_error e;

	if (s3_xml_error(buf, len, &e) == 1)
		return errfmt(err, errlen, "%s: %s", e.code[0] ? e.code : "Error", e.message);
	return errfmt(err, errlen, "the answer is not a %s", root);
}

int s3_xml_upload_id(const char *buf, size_t len, char *id, size_t cap, char *err, size_t errlen)
{
	struct one_st st = { .want = "InitiateMultipartUploadResult/UploadId", .out = id, .cap = cap,
			     .root = "InitiateMultipartUploadResult" };
	int rc = s3_xml_parse(buf, len, one_cb, &st, err, errlen);

	if (rc)
		return -1;
	if (!st.root_ok)
		return wrong_doc(buf, len, st.root, err, errlen);
	if (st.found != 1 || st.too_long || id[0] == '\0')
		return errfmt(err, errlen, "InitiateMultipartUploadResult: no single UploadId");
	for (const char *c = id; *c; c++)
		if (*c <= ' ' || *c == '&' || *c == '%' || *c == '\x7f')
			return errfmt(err, errlen, "InitiateMultipartUploadResult: UploadId has odd bytes");
	return 0;
}

int s3_xml_complete_ok(const char *buf, size_t len, char *err, size_t errlen)
{
	struct one_st st = { .root = "CompleteMultipartUploadResult" };

	if (s3_xml_parse(buf, len, one_cb, &st, err, errlen) != 0)
		return -1;
	return st.root_ok ? 0 : wrong_doc(buf, len, st.root, err, errlen);
}

struct list_st {
	int (*entry)(void *arg, const struct s3_list_entry *e);
	void *arg;
	struct s3_list_page *page;
	struct s3_list_entry cur;
	int has_key, bad, root_ok;
	char *err;
	size_t errlen;
};

static int parse_size(const char *t, uint64_t *v)
{
	char *end;

	if (*t < '0' || *t > '9' || strlen(t) > 19)
		return -1;
	*v = strtoull(t, &end, 10);
	return *end ? -1 : 0;
}

static int list_leaf(struct list_st *st, const char *path, const char *text, size_t len)
{
	if (strcmp(path, "ListBucketResult/IsTruncated") == 0) {
		if (strcmp(text, "true") && strcmp(text, "false"))
			return errfmt(st->err, st->errlen, "ListBucketResult: IsTruncated '%.16s'", text);
		st->page->truncated = text[0] == 't';
	} else if (strcmp(path, "ListBucketResult/NextContinuationToken") == 0) {
		if (len > S3_MAX_KEY)
			return errfmt(st->err, st->errlen, "ListBucketResult: token too long");
		copy_text(st->page->next, sizeof(st->page->next), text, len);
	} else if (strcmp(path, "ListBucketResult/Contents/Key") == 0) {
		if (len > S3_MAX_KEY || st->has_key)
			return errfmt(st->err, st->errlen, "ListBucketResult: bad Key");
		copy_text(st->cur.key, sizeof(st->cur.key), text, len);
		st->has_key = 1;
	} else if (strcmp(path, "ListBucketResult/Contents/Size") == 0) {
		if (parse_size(text, &st->cur.size) < 0)
			return errfmt(st->err, st->errlen, "ListBucketResult: Size '%.24s'", text);
	} else if (strcmp(path, "ListBucketResult/Contents/ETag") == 0) {
		copy_text(st->cur.etag, sizeof(st->cur.etag), text, len);
	} else if (strcmp(path, "ListBucketResult/Contents/LastModified") == 0) {
		copy_text(st->cur.modified, sizeof(st->cur.modified), text, len);
	}
	return 0;
}

static int list_cb(void *arg, const char *path, const char *text, size_t len)
{
	struct list_st *st = arg;
	int rc;

	if (strncmp(path, "ListBucketResult", 16) == 0 && (path[16] == '\0' || path[16] == '/'))
		st->root_ok = 1;
	if (text)
		return list_leaf(st, path, text, len) < 0 ? -1 : 0;
	if (strcmp(path, "ListBucketResult/Contents") != 0)
		return 0;
	if (!st->has_key)
		return errfmt(st->err, st->errlen, "ListBucketResult: Contents without a Key");
	st->page->count++;
	rc = st->entry ? st->entry(st->arg, &st->cur) : 0;
	memset(&st->cur, 0, sizeof(st->cur));
	st->has_key = 0;
	return rc;
}

int s3_xml_list(const char *buf, size_t len,
		int (*entry)(void *arg, const struct s3_list_entry *e), void *arg,
		struct s3_list_page *page, char *err, size_t errlen)
{
	struct list_st st = { .entry = entry, .arg = arg, .page = page, .err = err, .errlen = errlen };
	int rc;

	memset(page, 0, sizeof(*page));
	rc = s3_xml_parse(buf, len, list_cb, &st, err, errlen);
	if (rc)
		return rc < 0 ? -1 : rc;
	if (!st.root_ok)
		return wrong_doc(buf, len, "ListBucketResult", err, errlen);
	if (page->truncated && !page->next[0])
		return errfmt(err, errlen, "ListBucketResult: truncated without a NextContinuationToken");
	return 0;
}
