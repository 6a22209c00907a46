/* The single-request verbs: GET (whole or ranged), HEAD, DELETE and the
 * ListObjectsV2 walk (docs/s3.md, "get, head, ls, rm"). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/core/errfmt.h"
#include "lib/secrets/s3_http.h"

int s3_check_key(const char *op, const struct s3_conf *c, const char *key, char *err,
		 size_t errlen)
{
	size_t n = key ? strlen(key) : 0;

	if (n == 0 || n > S3_MAX_KEY)
		return errfmt(err, errlen, "s3 %s %.64s: key must be 1..%u bytes", op,
			      c->bucket ? c->bucket : "", S3_MAX_KEY);
	return 0;
}

static int range_header(const struct s3_range *r, char *out, size_t cap)
{
	if (!r || r->kind == S3_RANGE_NONE)
		return 0;
	if (r->kind == S3_RANGE_SUFFIX)
		snprintf(out, cap, "bytes=-%" PRIu64, r->last);
	else if (r->kind == S3_RANGE_FROM)
		snprintf(out, cap, "bytes=%" PRIu64 "-", r->first);
	else
		snprintf(out, cap, "bytes=%" PRIu64 "-%" PRIu64, r->first, r->last);
	return 1;
}

static int run(const struct s3_conf *c, struct s3_call *k, char *err, size_t errlen)
{
	struct s3_ep ep;
	int rc;

	if (s3_ep_init(c, &ep, err, errlen) < 0)
		return -1;
	rc = s3_call_run(c, &ep, NULL, k, err, errlen);
	if (rc < 0 && k->status == 404)
		rc = S3_NOT_FOUND;
	return rc;
}

int s3_get_fd(const struct s3_conf *c, const char *key, int fd, const struct s3_range *r,
	      struct s3_object_info *info, char *err, size_t errlen)
{
	char range[64];
	struct s3_call k = { .op = "get", .method = "GET", .key = key, .out_fd = fd };
	int rc;

	if (s3_check_key("get", c, key, err, errlen) < 0)
		return -1;
	if (range_header(r, range, sizeof(range)))
		k.range = range;
	rc = run(c, &k, err, errlen);
	if (rc == 0 && k.range && k.status != 206)
		rc = errfmt(err, errlen, "s3 get %s/%.300s: asked for %s, got HTTP %ld (not 206)",
			    c->bucket, key, range, k.status);
	if (rc == 0 && info)
		*info = k.info;
	s3_call_done(&k);
	return rc;
}

int s3_head(const struct s3_conf *c, const char *key, struct s3_object_info *info, char *err,
	    size_t errlen)
{
	struct s3_call k = { .op = "head", .method = "HEAD", .key = key, .out_fd = -1 };
	int rc;

	if (s3_check_key("head", c, key, err, errlen) < 0)
		return -1;
	rc = run(c, &k, err, errlen);
	if (rc == 0 && info)
		*info = k.info;
	s3_call_done(&k);
	return rc;
}

int s3_delete(const struct s3_conf *c, const char *key, char *err, size_t errlen)
{
	struct s3_call k = { .op = "rm", .method = "DELETE", .key = key, .out_fd = -1 };
	int rc;

	if (s3_check_key("rm", c, key, err, errlen) < 0)
		return -1;
	rc = run(c, &k, err, errlen);
	s3_call_done(&k);
	return rc == S3_NOT_FOUND ? 0 : rc;
}

/* list-type=2 [&continuation-token=T] [&prefix=P], in sorted order. */
static char *list_query(const char *prefix, const char *token)
{
	char *p = prefix ? s3_qenc(prefix) : NULL, *t = token[0] ? s3_qenc(token) : NULL, *q;
	size_t n = (p ? strlen(p) : 0) + (t ? strlen(t) : 0) + 64;

	q = ((prefix && !p) || (token[0] && !t)) ? NULL : malloc(n);
	if (q)
		snprintf(q, n, "%s%s%slist-type=2%s%s", t ? "continuation-token=" : "", t ? t : "",
			 t ? "&" : "", p ? "&prefix=" : "", p ? p : "");
	free(p);
	free(t);
	return q;
}

static int list_page(const struct s3_conf *c, const struct s3_ep *ep, const char *prefix,
		     struct s3_list_page *page, int (*entry)(void *, const struct s3_list_entry *),
		     void *arg, char *err, size_t errlen)
{
	struct s3_call k = { .op = "ls", .method = "GET", .out_fd = -1 };
	char *q = list_query(prefix, page->next), xe[256];
	int rc;

	if (!q)
		return errfmt(err, errlen, "s3 ls %s: out of memory", c->bucket);
	k.query = q;
	rc = s3_call_run(c, ep, NULL, &k, err, errlen);
	if (rc == 0) {
		rc = s3_xml_list(k.resp.p ? k.resp.p : "", k.resp.len, entry, arg, page, xe,
				 sizeof(xe));
		if (rc < 0)
			errfmt(err, errlen, "s3 ls %s: the answer: %s", c->bucket, xe);
	}
	s3_call_done(&k);
	free(q);
	return rc;
}

int s3_list(const struct s3_conf *c, const char *prefix,
	    int (*entry)(void *arg, const struct s3_list_entry *e), void *arg, char *err,
	    size_t errlen)
{
	struct s3_list_page page;
	struct s3_ep ep;
	int rc;

	if (s3_ep_init(c, &ep, err, errlen) < 0)
		return -1;
	if (prefix && strlen(prefix) > S3_MAX_KEY)
		return errfmt(err, errlen, "s3 ls %s: prefix over %u bytes", c->bucket, S3_MAX_KEY);
	memset(&page, 0, sizeof(page));
	for (unsigned pages = 0;; pages++) {
		rc = list_page(c, &ep, prefix, &page, entry, arg, err, errlen);
		if (rc != 0 || !page.truncated)
			return rc;
		if (!page.next[0] || pages > 1000000)
			return errfmt(err, errlen, "s3 ls %s: truncated page without a usable token",
				      c->bucket);
	}
}
