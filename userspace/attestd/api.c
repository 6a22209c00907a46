/* The API routes; see api.h and docs/attestd-api.md. */
#include "attestd/api.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <jansson.h>

#include "attestd/apiquery.h"
#include "attestd/api_impl.h"
#include "attestd/db.h"
#include "attestd/metrics.h"
#include "attestd/ratelimit.h"
#include "lib/core/cli.h"
#include "lib/core/errfmt.h"
#include "lib/core/log.h"
#include "lib/core/parse.h"
#include "lib/core/utf8.h"

#define LIST_DEFAULT 100
#define LIST_MAX 1000
#define LEAVES_MAX 4096

struct api_thread *api_thread_new(struct api_shared *s, char *err, size_t errlen)
{
	struct api_thread *t = calloc(1, sizeof(*t));

	if (!t) {
		errfmt(err, errlen, "out of memory");
		return NULL;
	}
	t->s = s;
	t->dbr = dbr_open(s->cfg->db_path, err, errlen);
	if (!t->dbr || api_nsm_open(t, err, errlen) < 0) {
		api_thread_free(t);
		return NULL;
	}
	return t;
}

void api_thread_free(struct api_thread *t)
{
	if (!t)
		return;
	api_nsm_close(t);
	dbr_close(t->dbr);
	free(t);
}

/* ---- replies ---- */

static void count(int code)
{
	atomic_fetch_add(&ad_metrics.http_requests[metrics_code_slot(code)], 1);
}

static void headers(struct evhttp_request *req, const char *type)
{
	struct evkeyvalq *h = evhttp_request_get_output_headers(req);

	evhttp_add_header(h, "Content-Type", type);
	evhttp_add_header(h, "Cache-Control", "no-store");
	evhttp_add_header(h, "X-Content-Type-Options", "nosniff");
}

static const char *reason(int code)
{
	switch (code) {
	case 200: return "OK";
	case 400: return "Bad Request";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 429: return "Too Many Requests";
	case 503: return "Service Unavailable";
	default: return "Internal Server Error";
	}
}

void api_reply_json(struct evhttp_request *req, int code, json_t *o)
{
	struct evbuffer *b = evbuffer_new();
	char *text = o ? json_dumps(o, JSON_COMPACT) : NULL;

	json_decref(o);
	if (!b || !text) {
		free(text);
		if (b)
			evbuffer_free(b);
		count(500);
		evhttp_send_error(req, 500, NULL);
		return;
	}
	evbuffer_add(b, text, strlen(text));
	evbuffer_add(b, "\n", 1);
	free(text);
	headers(req, "application/json");
	count(code);
	evhttp_send_reply(req, code, reason(code), b);
	evbuffer_free(b);
}

static const char *error_name(int code)
{
	switch (code) {
	case 400: return "bad_request";
	case 404: return "not_found";
	case 405: return "method";
	case 429: return "rate";
	case 503: return "unavailable";
	default: return "internal";
	}
}

void api_error(struct evhttp_request *req, int code, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	api_reply_json(req, code,
		       json_pack("{s:s, s:s%}", "error", error_name(code), "message", msg,
				 strnlen(msg, sizeof(msg))));
}

/* ---- JSON pieces ---- */

json_t *api_hex(const uint8_t *p, size_t n)
{
	char *h = malloc(2 * n + 1);
	json_t *j;

	if (!h)
		return NULL;
	format_hex(p, n, h);
	j = json_stringn(h, 2 * n);
	free(h);
	return j;
}

/* Sets key to the path as a JSON string; bytes that are not UTF-8 become
 * U+FFFD, and then key_hex carries the exact bytes. */
void api_set_path(json_t *o, const char *key, const char *key_hex, const char *p, size_t n)
{
	const unsigned char *s = (const unsigned char *)p;
	json_t *j = json_stringn(p, n);
	char *fixed;
	size_t i = 0, o_len = 0, k;

	if (j) {
		json_object_set_new(o, key, j);
		return;
	}
	fixed = malloc(3 * n + 1);
	if (!fixed)
		return;
	while (i < n) {
		k = s[i] ? utf8_seq_len(s + i, n - i) : 0;
		if (k == 0) {
			memcpy(fixed + o_len, "\xef\xbf\xbd", 3);
			o_len += 3;
			i++;
			continue;
		}
		memcpy(fixed + o_len, s + i, k);
		o_len += k;
		i += k;
	}
	json_object_set_new(o, key, json_stringn(fixed, o_len));
	json_object_set_new(o, key_hex, api_hex(s, n));
	free(fixed);
}

json_t *api_version_json(const struct dbr_version *v)
{
	json_t *o = json_object();
	bool present = v->state == AD_PRESENT;

	if (!o)
		return NULL;
	json_object_set_new(o, "seq", json_integer((json_int_t)v->seq));
	api_set_path(o, "path", "path_hex", v->path, v->plen);
	json_object_set_new(o, "state", json_string(present ? "present" : "deleted"));
	json_object_set_new(o, "cause", json_string(v->cause));
	json_object_set_new(o, "scheme", present && v->scheme ? json_string(v->scheme) : json_null());
	json_object_set_new(o, "digest", present ? api_hex(v->digest, v->digest_len) : json_null());
#define NUM(k, x) json_object_set_new(o, k, present ? json_integer((json_int_t)(x)) : json_null())
	NUM("size", v->st.size);
	NUM("mtime_ns", v->st.mtime_ns);
	NUM("ctime_ns", v->st.ctime_ns);
	NUM("ino", v->st.ino);
	NUM("gen", v->st.gen);
	NUM("leaves", v->nleaves);
#undef NUM
	if (v->from_path)
		api_set_path(o, "from_path", "from_path_hex", v->from_path, v->from_len);
	else
		json_object_set_new(o, "from_path", json_null());
	json_object_set_new(o, "time_ms", json_integer(v->time_ms));
	json_object_set_new(o, "document", json_boolean(v->has_doc));
	return o;
}

/* ---- parameters ---- */

/* A numeric parameter in [min, max], or deflt when absent. */
int api_num(struct evhttp_request *req, const struct apiq *q, const char *key, uint64_t min,
	    uint64_t max, uint64_t deflt, uint64_t *out)
{
	const struct apiq_pair *p = apiq_get(q, key);
	char err[PARSE_ERR_MAX];

	*out = deflt;
	if (!p)
		return 0;
	if (parse_u64(p->val, min, max, out, err, sizeof(err)) < 0) {
		api_error(req, 400, "%s: %s", key, err);
		return -1;
	}
	return 0;
}

/* The path parameter: present (if required), clean, under a root. */
const struct apiq_pair *api_path(struct api_thread *t, struct evhttp_request *req,
				 const struct apiq *q, bool required)
{
	const struct apiq_pair *p = apiq_get(q, "path");

	if (!p) {
		if (required)
			api_error(req, 400, "path is required");
		return NULL;
	}
	if (!ad_path_clean(p->val, p->len)) {
		api_error(req, 400, "path must be absolute, without empty, '.' or '..' components");
		return NULL;
	}
	if (!ad_root_of(t->s->cfg, p->val, p->len)) {
		api_error(req, 400, "path is not under a watched root");
		return NULL;
	}
	return p;
}

/* ---- routes without the NSM ---- */

static void route_health(struct api_thread *t, struct evhttp_request *req, const struct apiq *q)
{
	json_t *o = json_object(), *roots = json_array();
	unsigned i;

	(void)q;
	for (i = 0; i < t->s->cfg->nroots; i++)
		json_array_append_new(roots, json_string(t->s->cfg->roots[i].path));
	json_object_set_new(o, "status", json_string("ok"));
	json_object_set_new(o, "version", json_string(nek_version()));
	json_object_set_new(o, "roots", roots);
	json_object_set_new(o, "scanning", json_boolean(atomic_load(&ad_metrics.scanning)));
	json_object_set_new(o, "files", json_integer((json_int_t)atomic_load(&ad_metrics.files)));
	json_object_set_new(o, "dirty", json_integer((json_int_t)atomic_load(&ad_metrics.dirty)));
	json_object_set_new(o, "seq", json_integer((json_int_t)atomic_load(&ad_metrics.seq)));
	json_object_set_new(o, "committed",
			    json_integer((json_int_t)atomic_load(&ad_metrics.committed)));
	json_object_set_new(o, "nsm", json_string(api_nsm_kind(t)));
	api_reply_json(req, 200, o);
}

static int add_version(void *arg, const struct dbr_version *v)
{
	return json_array_append_new(arg, api_version_json(v)) == 0 ? 0 : -1;
}

/* The prefix of /v1/files: a root or a path below one, and never a bare
 * root name that would also match a sibling ("/apps" vs "/apps2"). */
static int list_prefix(struct api_thread *t, struct evhttp_request *req, const struct apiq *q,
		       char *out, size_t *len)
{
	const struct apiq_pair *p = apiq_get(q, "prefix");
	const struct ad_config *cfg = t->s->cfg;
	const struct ad_root *r;

	if (!p) {
		if (cfg->nroots != 1) {
			api_error(req, 400, "prefix is required with more than one root");
			return -1;
		}
		r = &cfg->roots[0];
		*len = (size_t)snprintf(out, AD_PATH_MAX + 2, "%s%s", r->path, r->len > 1 ? "/" : "");
		return 0;
	}
	r = ad_root_of(cfg, p->val, p->len);
	if (p->len > AD_PATH_MAX || !r || strstr(p->val, "/../") || strstr(p->val, "/./") ||
	    strstr(p->val, "//") ||
	    (p->len >= 3 && !strcmp(p->val + p->len - 3, "/..")) ||
	    (p->len >= 2 && !strcmp(p->val + p->len - 2, "/."))) {
		api_error(req, 400, "prefix must be a clean path under a watched root");
		return -1;
	}
	memcpy(out, p->val, p->len);
	*len = p->len;
	if (p->len == r->len && r->len > 1)
		out[(*len)++] = '/';
	out[*len] = '\0';
	return 0;
}

static void route_files(struct api_thread *t, struct evhttp_request *req, const struct apiq *q)
{
	char prefix[AD_PATH_MAX + 2];
	const struct apiq_pair *after = apiq_get(q, "after");
	json_t *arr, *o, *last;
	uint64_t limit;
	size_t plen;
	int n;

	if (list_prefix(t, req, q, prefix, &plen) < 0 ||
	    api_num(req, q, "limit", 1, LIST_MAX, LIST_DEFAULT, &limit) < 0)
		return;
	arr = json_array();
	n = dbr_list(t->dbr, prefix, plen, after ? after->val : NULL, after ? after->len : 0,
		     (unsigned)limit, add_version, arr);
	if (n < 0) {
		json_decref(arr);
		log_error("api: listing: %s", dbr_errmsg(t->dbr));
		api_error(req, 500, "database error");
		return;
	}
	o = json_object();
	last = json_array_size(arr) ? json_array_get(arr, json_array_size(arr) - 1) : NULL;
	/* "next" is the last path, to pass back as "after"; a path that is not
	 * UTF-8 comes with its exact bytes in "next_hex". */
	if ((uint64_t)n == limit && last) {
		json_object_set(o, "next", json_object_get(last, "path"));
		if (json_object_get(last, "path_hex"))
			json_object_set(o, "next_hex", json_object_get(last, "path_hex"));
	} else {
		json_object_set_new(o, "next", json_null());
	}
	json_object_set_new(o, "files", arr);
	api_reply_json(req, 200, o);
}

static void route_file(struct api_thread *t, struct evhttp_request *req, const struct apiq *q)
{
	const struct apiq_pair *p = api_path(t, req, q, true);
	struct dbr_version cur;
	json_t *o, *hist;
	uint64_t limit;
	int rc;

	if (!p || api_num(req, q, "limit", 1, LIST_MAX, LIST_DEFAULT, &limit) < 0)
		return;
	if (dbr_begin(t->dbr) < 0) {
		api_error(req, 500, "database error");
		return;
	}
	rc = dbr_current(t->dbr, p->val, p->len, &cur);
	if (rc <= 0) {
		dbr_end(t->dbr);
		api_error(req, rc == 0 ? 404 : 500, rc == 0 ? "no record for this path"
							   : "database error");
		return;
	}
	o = json_object();
	json_object_set_new(o, "current", api_version_json(&cur));
	hist = json_array();
	rc = dbr_history(t->dbr, p->val, p->len, (unsigned)limit, add_version, hist);
	dbr_end(t->dbr);
	json_object_set_new(o, "history", hist);
	if (rc < 0) {
		json_decref(o);
		api_error(req, 500, "database error");
		return;
	}
	api_reply_json(req, 200, o);
}

/* The version a /v1/leaves request names: seq if given (it must belong to
 * the path), else the current one. 1 found, 0 replied already. */
static int leaves_version(struct api_thread *t, struct evhttp_request *req, const struct apiq *q,
			  const struct apiq_pair *p, struct dbr_version *v)
{
	uint64_t seq;
	int rc;

	if (api_num(req, q, "seq", 1, INT64_MAX, 0, &seq) < 0)
		return 0;
	rc = seq ? dbr_version(t->dbr, seq, v) : dbr_current(t->dbr, p->val, p->len, v);
	if (rc < 0) {
		api_error(req, 500, "database error");
		return 0;
	}
	if (rc == 0 || v->plen != p->len || memcmp(v->path, p->val, p->len) != 0 ||
	    v->state != AD_PRESENT) {
		api_error(req, 404, "no present version of this path%s", seq ? " with this seq" : "");
		return 0;
	}
	return 1;
}

static void route_leaves(struct api_thread *t, struct evhttp_request *req, const struct apiq *q)
{
	const struct apiq_pair *p = api_path(t, req, q, true);
	const uint8_t *blob;
	struct dbr_version v;
	uint64_t from, cnt, i;
	size_t blen;
	json_t *o, *arr;

	if (!p || api_num(req, q, "from", 0, UINT32_MAX, 0, &from) < 0 ||
	    api_num(req, q, "count", 1, LEAVES_MAX, LEAVES_MAX, &cnt) < 0 ||
	    dbr_begin(t->dbr) < 0)
		return;
	if (!leaves_version(t, req, q, p, &v))
		goto out;
	o = json_pack("{s:I, s:s, s:I, s:I, s:I}", "seq", (json_int_t)v.seq, "scheme", v.scheme,
		      "size", (json_int_t)v.st.size, "leaves", (json_int_t)v.nleaves, "from",
		      (json_int_t)from);
	arr = json_array();
	if (v.nleaves == 1) {
		if (from == 0)
			json_array_append_new(arr, api_hex(v.digest, v.digest_len));
	} else if (dbr_leaves(t->dbr, v.seq, &blob, &blen) == 1 && blen == v.nleaves * v.digest_len) {
		for (i = from; i < v.nleaves && i < from + cnt; i++)
			json_array_append_new(arr, api_hex(blob + i * v.digest_len, v.digest_len));
	} else {
		json_decref(arr);
		json_decref(o);
		api_error(req, 500, "leaf list missing");
		goto out;
	}
	json_object_set_new(o, "digests", arr);
	api_reply_json(req, 200, o);
out:
	dbr_end(t->dbr);
}

static void route_document(struct api_thread *t, struct evhttp_request *req, const struct apiq *q)
{
	const uint8_t *doc;
	struct dbr_version v;
	uint64_t seq;
	size_t len;
	int rc;

	if (api_num(req, q, "seq", 1, INT64_MAX, 0, &seq) < 0)
		return;
	if (!seq) {
		api_error(req, 400, "seq is required");
		return;
	}
	/* Only versions of paths under today's roots are served. */
	rc = dbr_version(t->dbr, seq, &v);
	if (rc == 1 && !ad_root_of(t->s->cfg, v.path, v.plen))
		rc = 0;
	if (rc == 1)
		rc = dbr_doc(t->dbr, seq, &doc, &len);
	if (rc != 1) {
		api_error(req, rc == 0 ? 404 : 500, rc == 0 ? "no document for this seq"
							   : "database error");
		return;
	}
	api_reply_json(req, 200, json_pack("{s:I, s:o}", "seq", (json_int_t)seq, "document",
					   api_base64(doc, len)));
}

static void route_metrics(struct api_thread *t, struct evhttp_request *req, const struct apiq *q)
{
	struct evbuffer *b = evbuffer_new();
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	(void)q;
	if (!b || !f) {
		if (f)
			fclose(f);
		free(text);
		if (b)
			evbuffer_free(b);
		api_error(req, 500, "out of memory");
		return;
	}
	metrics_write(f, t->s->db, t->s->pool);
	fclose(f);
	evbuffer_add(b, text, len);
	free(text);
	headers(req, "text/plain; version=0.0.4");
	count(200);
	evhttp_send_reply(req, 200, "OK", b);
	evbuffer_free(b);
}

/* ---- dispatch ---- */

static const char *const k_none[] = { NULL };
static const char *const k_files[] = { "prefix", "after", "limit", NULL };
static const char *const k_file[] = { "path", "limit", NULL };
static const char *const k_leaves[] = { "path", "seq", "from", "count", NULL };
static const char *const k_attest[] = { "path", "nonce", NULL };
static const char *const k_doc[] = { "seq", NULL };

static const struct route {
	const char *path;
	const char *const *keys;
	unsigned cost;
	void (*fn)(struct api_thread *t, struct evhttp_request *req, const struct apiq *q);
} routes[] = {
	{ "/v1/health", k_none, 1, route_health },
	{ "/v1/files", k_files, 1, route_files },
	{ "/v1/file", k_file, 1, route_file },
	{ "/v1/leaves", k_leaves, 1, route_leaves },
	{ "/v1/attestation", k_attest, API_ATTEST_COST, api_route_attestation },
	{ "/v1/document", k_doc, 1, route_document },
	{ "/v1/pcrs", k_none, 1, api_route_pcrs },
	{ "/metrics", k_none, 1, route_metrics },
};

void api_handle(struct api_thread *t, struct evhttp_request *req, const char *peer)
{
	const char *target = evhttp_request_get_uri(req), *query;
	size_t plen, qlen, i;
	struct apiq q;
	char err[256];

	if (!(evhttp_request_get_command(req) & (EVHTTP_REQ_GET | EVHTTP_REQ_HEAD))) {
		evhttp_add_header(evhttp_request_get_output_headers(req), "Allow", "GET, HEAD");
		api_error(req, 405, "only GET and HEAD");
		return;
	}
	if (!target || apiq_split(target, strlen(target), &plen, &query, &qlen, err,
				  sizeof(err)) < 0) {
		api_error(req, 400, "%s", target ? err : "no request target");
		return;
	}
	for (i = 0; i < sizeof(routes) / sizeof(routes[0]); i++)
		if (strlen(routes[i].path) == plen && !memcmp(routes[i].path, target, plen))
			break;
	if (i == sizeof(routes) / sizeof(routes[0])) {
		api_error(req, 404, "no such route");
		return;
	}
	if (!rl_take(t->s->rl, peer, routes[i].cost)) {
		atomic_fetch_add(&ad_metrics.http_rej_rate, 1);
		evhttp_add_header(evhttp_request_get_output_headers(req), "Retry-After", "1");
		api_error(req, 429, "too many requests");
		return;
	}
	if (apiq_parse(query, qlen, routes[i].keys, &q, err, sizeof(err)) < 0) {
		api_error(req, 400, "%s", err);
		return;
	}
	routes[i].fn(t, req, &q);
}
