/* The API routes that ask the NSM: fresh documents and PCRs; and the claim
 * a version becomes. */
#include <errno.h>
#include <string.h>

#include <event2/http.h>
#include <openssl/evp.h>

#include "attestd/api_impl.h"
#include "attestd/metrics.h"
#include "lib/core/log.h"
#include "lib/attestation/nsm.h"
#include "lib/core/parse.h"

#define NONCE_MAX 64

int api_nsm_open(struct api_thread *t, char *err, size_t errlen)
{
	/* Without an NSM the API still serves records; fresh documents and
	 * PCRs answer 503. */
	if (!t->s->cfg->have_nsm)
		return 0;
	t->nsm = nsm_open(t->s->cfg->nsm_spec, err, errlen);
	return t->nsm ? 0 : -1;
}

void api_nsm_close(struct api_thread *t)
{
	nsm_close(t->nsm);
	t->nsm = NULL;
}

const char *api_nsm_kind(const struct api_thread *t)
{
	if (!t->nsm)
		return "none";
	return nsm_is_emulated(t->nsm) ? "emulator" : "device";
}

json_t *api_base64(const uint8_t *p, size_t n)
{
	char *b = malloc(4 * ((n + 2) / 3) + 1);
	json_t *j;
	int len;

	if (!b)
		return NULL;
	len = EVP_EncodeBlock((unsigned char *)b, p, (int)n);
	j = len >= 0 ? json_stringn(b, (size_t)len) : NULL;
	free(b);
	return j;
}

void api_claim_of(const struct dbr_version *v, struct fclaim *c)
{
	memset(c, 0, sizeof(*c));
	c->kind = FCLAIM_FILE;
	c->path = (const uint8_t *)v->path;
	c->path_len = v->plen;
	c->present = v->state == AD_PRESENT && v->scheme &&
		     fdig_alg_parse(v->scheme, &c->alg) == 0 && v->digest_len == fdig_alg_len(c->alg);
	if (c->present) {
		memcpy(c->digest, v->digest, v->digest_len);
		c->size = v->st.size;
		c->mtime_ns = v->st.mtime_ns;
		c->ino = v->st.ino;
		c->gen = v->st.gen;
	}
	c->seq = v->seq;
	c->time_ms = (uint64_t)v->time_ms;
}

json_t *api_claim_json(const struct fclaim *c)
{
	json_t *o;

	if (c->kind == FCLAIM_SERVER)
		return json_pack("{s:i, s:s, s:I}", "v", FCLAIM_VERSION, "kind", "server", "time_ms",
				 (json_int_t)c->time_ms);
	o = json_pack("{s:i, s:s, s:s, s:I, s:I}", "v", FCLAIM_VERSION, "kind", "file", "state",
		      c->present ? "present" : "deleted", "seq", (json_int_t)c->seq, "time_ms",
		      (json_int_t)c->time_ms);
	if (!o)
		return NULL;
	if (c->path_hashed || c->path_len > FCLAIM_PATH_INLINE_MAX) {
		uint8_t h[32];
		unsigned int hl;

		EVP_Digest(c->path, c->path_len, h, &hl, EVP_sha256(), NULL);
		json_object_set_new(o, "path_sha256", api_hex(h, 32));
	} else {
		api_set_path(o, "path", "path_hex", (const char *)c->path, c->path_len);
	}
	if (!c->present)
		return o;
	json_object_set_new(o, "scheme", json_string(fdig_scheme_name(c->alg)));
	json_object_set_new(o, "digest", api_hex(c->digest, fdig_alg_len(c->alg)));
	json_object_set_new(o, "size", json_integer((json_int_t)c->size));
	json_object_set_new(o, "mtime_ns", json_integer(c->mtime_ns));
	json_object_set_new(o, "ino", json_integer((json_int_t)c->ino));
	json_object_set_new(o, "gen", json_integer((json_int_t)c->gen));
	return o;
}

/* The record part: the claim of the path's current version (FILE), or a
 * server claim without one. 0, or -1 after replying. */
static int claim_for(struct api_thread *t, struct evhttp_request *req, const struct apiq *q,
		     struct fclaim *c, json_t **record)
{
	const struct apiq_pair *p = apiq_get(q, "path");
	struct dbr_version v;
	int rc;

	*record = NULL;
	if (!p) {
		memset(c, 0, sizeof(*c));
		c->kind = FCLAIM_SERVER;
		c->time_ms = (uint64_t)ad_now_ms();
		return 0;
	}
	if (!(p = api_path(t, req, q, true)))
		return -1;
	rc = dbr_current(t->dbr, p->val, p->len, &v);
	if (rc <= 0) {
		api_error(req, rc == 0 ? 404 : 500, rc == 0 ? "no record for this path"
							   : "database error");
		return -1;
	}
	api_claim_of(&v, c);
	/* The claim points into the row, which the next query reuses: copy. */
	*record = api_version_json(&v);
	c->path = (const uint8_t *)p->val;
	return 0;
}

void api_route_attestation(struct api_thread *t, struct evhttp_request *req, const struct apiq *q)
{
	const struct apiq_pair *np = apiq_get(q, "nonce");
	uint8_t nonce[NONCE_MAX], ud[FCLAIM_MAX];
	char err[PARSE_ERR_MAX];
	struct nsm_attest_in in;
	struct fclaim c;
	json_t *record;
	size_t nlen, udlen, dlen;
	int rc;

	if (!t->nsm) {
		api_error(req, 503, "no NSM configured: fresh documents are unavailable");
		return;
	}
	if (!np || parse_hex(np->val, nonce, sizeof(nonce), &nlen, err, sizeof(err)) < 0 ||
	    nlen == 0) {
		api_error(req, 400, "nonce: 1 to %d bytes in hex are required%s%s", NONCE_MAX,
			  np ? ": " : "", np ? err : "");
		return;
	}
	if (claim_for(t, req, q, &c, &record) < 0)
		return;
	if (fclaim_encode(&c, ud, sizeof(ud), &udlen) < 0) {
		json_decref(record);
		api_error(req, 500, "claim does not encode");
		return;
	}
	in = (struct nsm_attest_in){ .nonce = { nonce, nlen }, .user_data = { ud, udlen },
				     .public_key = { t->s->tls.spki, t->s->tls.spki_len } };
	rc = nsm_attest(t->nsm, &in, t->doc, sizeof(t->doc), &dlen);
	if (rc < 0) {
		json_decref(record);
		atomic_fetch_add(&ad_metrics.nsm_errors, 1);
		log_error("api: NSM attestation: %s", nsm_strerror(rc));
		api_error(req, 500, "NSM error");
		return;
	}
	atomic_fetch_add(&ad_metrics.attestations, 1);
	api_reply_json(req, 200, json_pack("{s:o, s:o, s:o}", "document", api_base64(t->doc, dlen),
					   "claim", api_claim_json(&c), "record",
					   record ? record : json_null()));
}

void api_route_pcrs(struct api_thread *t, struct evhttp_request *req, const struct apiq *q)
{
	struct nsm_description d;
	uint8_t val[NSM_PCR_MAX_LEN];
	json_t *pcrs, *locked;
	char idx[8];
	size_t len;
	bool lk;
	unsigned i;
	int rc;

	(void)q;
	if (!t->nsm) {
		api_error(req, 503, "no NSM configured");
		return;
	}
	if ((rc = nsm_describe(t->nsm, &d)) < 0) {
		atomic_fetch_add(&ad_metrics.nsm_errors, 1);
		api_error(req, 500, "NSM error: %s", nsm_strerror(rc));
		return;
	}
	pcrs = json_object();
	locked = json_array();
	for (i = 0; i < d.max_pcrs && i < 32; i++) {
		if ((rc = nsm_pcr_read(t->nsm, i, val, &len, &lk)) < 0) {
			json_decref(pcrs);
			json_decref(locked);
			atomic_fetch_add(&ad_metrics.nsm_errors, 1);
			api_error(req, 500, "NSM error: %s", nsm_strerror(rc));
			return;
		}
		snprintf(idx, sizeof(idx), "%u", i);
		json_object_set_new(pcrs, idx, api_hex(val, len));
		if (lk)
			json_array_append_new(locked, json_integer(i));
	}
	api_reply_json(req, 200, json_pack("{s:o, s:o, s:s}", "pcrs", pcrs, "locked", locked,
					   "module_id", d.module_id));
}
