/* The attestation document verifier; see att_verify.h and
 * docs/attestation.md section 2 for the checks and their order. */
#include "lib/attestation/att_verify.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/pem.h>

#include "lib/attestation/att_cache.h"
#include "lib/attestation/att_x509.h"
#include "lib/core/parse.h"
#include "lib/core/timefmt.h"

struct att_verifier {
	struct att_cert *root;
	uint8_t *root_der;
	size_t root_len;
	uint8_t root_hash[32];
	int64_t root_nb, root_na;
	struct att_cache *cache; /* NULL: no cache */
};

/* One certificate of the chain while it is being walked. */
struct link {
	const uint8_t *der;
	size_t len;
	uint8_t hash[32];
	struct att_cert *c; /* decoded lazily: a cache hit needs none */
	bool borrowed;      /* c is the verifier's root, not ours to free */
	EVP_PKEY *key;      /* our reference */
	int64_t nb, na;
};

static void link_clear(struct link *l)
{
	if (!l->borrowed)
		att_cert_free(l->c);
	EVP_PKEY_free(l->key);
	memset(l, 0, sizeof(*l));
}

void att_verifier_free(struct att_verifier *v)
{
	if (!v)
		return;
	att_cert_free(v->root);
	free(v->root_der);
	att_cache_free(v->cache);
	free(v);
}

static int sha256(const uint8_t *p, size_t n, uint8_t out[32])
{
	return EVP_Digest(p, n, out, NULL, EVP_sha256(), NULL) == 1 ? 0 : -1;
}

struct att_verifier *att_verifier_new(const uint8_t *root_der, size_t root_len,
				      unsigned cache_entries, struct att_err *err)
{
	struct att_verifier *v;

	if (!root_der) {
		root_der = att_aws_root_der(&root_len);
		if (!root_der) {
			att_fail(err, ATT_CHK_INTERNAL, "the embedded AWS root does not hash to %s",
				 ATT_AWS_ROOT_SHA256);
			return NULL;
		}
	}
	v = calloc(1, sizeof(*v));
	if (!v || !(v->root_der = malloc(root_len))) {
		free(v);
		att_fail(err, ATT_CHK_INTERNAL, "out of memory");
		return NULL;
	}
	memcpy(v->root_der, root_der, root_len);
	v->root_len = root_len;
	/* The root's DER must stay put: the decoded certificate points into it. */
	v->root = att_cert_parse(v->root_der, root_len, "the trusted root", err);
	if (!v->root || att_cert_check_root(v->root, err) < 0) {
		if (err)
			err->check = ATT_CHK_ROOT;
		goto fail;
	}
	att_cert_times(v->root, &v->root_nb, &v->root_na);
	if (sha256(root_der, root_len, v->root_hash) < 0) {
		att_fail(err, ATT_CHK_INTERNAL, "SHA-256 failed");
		goto fail;
	}
	if (cache_entries && !(v->cache = att_cache_new(cache_entries))) {
		att_fail(err, ATT_CHK_INTERNAL, "out of memory");
		goto fail;
	}
	return v;
fail:
	att_verifier_free(v);
	return NULL;
}

struct att_verifier *att_verifier_new_file(const char *path, unsigned cache_entries,
					   struct att_err *err)
{
	BIO *bio = BIO_new_file(path, "rb");
	X509 *x = NULL;
	unsigned char *der = NULL;
	struct att_verifier *v = NULL;
	int n;

	if (!bio) {
		att_fail(err, ATT_CHK_ROOT, "cannot open '%s'", path);
		return NULL;
	}
	x = PEM_read_bio_X509(bio, NULL, NULL, NULL);
	if (!x) {
		(void)BIO_reset(bio);
		x = d2i_X509_bio(bio, NULL);
	}
	BIO_free(bio);
	if (!x) {
		att_fail(err, ATT_CHK_ROOT, "'%s' holds no PEM or DER certificate", path);
		return NULL;
	}
	n = i2d_X509(x, &der);
	X509_free(x);
	if (n <= 0) {
		att_fail(err, ATT_CHK_INTERNAL, "cannot encode the root in '%s'", path);
		return NULL;
	}
	v = att_verifier_new(der, (size_t)n, cache_entries, err);
	OPENSSL_free(der);
	return v;
}

void att_verifier_stats(struct att_verifier *v, struct att_cache_stats *st)
{
	memset(st, 0, sizeof(*st));
	if (v->cache)
		att_cache_counts(v->cache, &st->hits, &st->misses, &st->entries);
}

static int check_validity(int64_t nb, int64_t na, int64_t at, const char *name,
			  struct att_err *err)
{
	char t1[TIME_STR_MAX], t2[TIME_STR_MAX];

	if (at < nb) {
		time_format(nb, t1);
		time_format(at, t2);
		return att_fail(err, ATT_CHK_VALIDITY, "%s is not valid before %s (time %s)", name,
				t1, t2);
	}
	if (at > na) {
		time_format(na, t1);
		time_format(at, t2);
		return att_fail(err, ATT_CHK_VALIDITY, "%s expired at %s (time %s)", name, t1, t2);
	}
	return 0;
}

static int check_root(struct att_verifier *v, const struct att_doc *doc, int64_t at,
		      struct att_err *err)
{
	const struct att_bytes *r = &doc->cabundle[0];
	uint8_t h[32];
	char got[17], want[17];

	if (r->len != v->root_len || memcmp(r->ptr, v->root_der, v->root_len) != 0) {
		if (sha256(r->ptr, r->len, h) < 0)
			return att_fail(err, ATT_CHK_INTERNAL, "SHA-256 failed");
		format_hex(h, 8, got);
		format_hex(v->root_hash, 8, want);
		return att_fail(err, ATT_CHK_ROOT,
				"cabundle[0] (SHA-256 %s...) is not the trusted root (%s...)", got,
				want);
	}
	return check_validity(v->root_nb, v->root_na, at, "the root certificate", err);
}

/* Full checks of one certificate against its issuer, then into the cache. */
static int link_verify(struct att_verifier *v, struct link *prev, struct link *cur, bool leaf,
		       unsigned cas_below, const char *name, const struct att_cache_key *k,
		       struct att_err *err)
{
	cur->c = att_cert_parse(cur->der, cur->len, name, err);
	if (!cur->c)
		return -1;
	/* The issuer came from the cache: decode it now for its name and key id. */
	if (!prev->c && !(prev->c = att_cert_parse(prev->der, prev->len, "issuer", err)))
		return -1;
	if (att_cert_check(cur->c, prev->c, prev->key, leaf, cas_below, name, err) < 0)
		return -1;
	cur->key = att_cert_key(cur->c);
	if (EVP_PKEY_up_ref(cur->key) != 1) {
		cur->key = NULL;
		return att_fail(err, ATT_CHK_INTERNAL, "EVP_PKEY_up_ref failed");
	}
	att_cert_times(cur->c, &cur->nb, &cur->na);
	if (v->cache)
		att_cache_put(v->cache, k, cur->key, cur->nb, cur->na);
	return 0;
}

static int link_step(struct att_verifier *v, struct link *prev, struct link *cur, bool leaf,
		     unsigned cas_below, const char *name, struct att_err *err)
{
	struct att_cache_key k = { .cas_below = (uint8_t)cas_below, .leaf = leaf };

	/* Without a cache the hashes (its keys) are not needed. */
	if (!v->cache)
		return link_verify(v, prev, cur, leaf, cas_below, name, &k, err);
	if (sha256(cur->der, cur->len, cur->hash) < 0)
		return att_fail(err, ATT_CHK_INTERNAL, "SHA-256 failed");
	memcpy(k.cert, cur->hash, 32);
	memcpy(k.issuer, prev->hash, 32);
	if (att_cache_get(v->cache, &k, &cur->key, &cur->nb, &cur->na))
		return 0;
	return link_verify(v, prev, cur, leaf, cas_below, name, &k, err);
}

/* Walks root -> cabundle[1..] -> certificate; on success *leaf holds the
 * signing certificate (key and validity). */
static int check_chain(struct att_verifier *v, const struct att_doc *doc, int64_t at,
		       struct link *leaf, struct att_err *err)
{
	struct link prev = { 0 }, cur;
	unsigned i, n = doc->n_cabundle;
	char name[32];

	prev.der = v->root_der;
	prev.len = v->root_len;
	prev.c = v->root;
	prev.borrowed = true;
	memcpy(prev.hash, v->root_hash, 32);
	prev.key = att_cert_key(v->root);
	if (EVP_PKEY_up_ref(prev.key) != 1)
		return att_fail(err, ATT_CHK_INTERNAL, "EVP_PKEY_up_ref failed");
	for (i = 1; i <= n; i++) {
		bool is_leaf = i == n;

		memset(&cur, 0, sizeof(cur));
		cur.der = is_leaf ? doc->certificate.ptr : doc->cabundle[i].ptr;
		cur.len = is_leaf ? doc->certificate.len : doc->cabundle[i].len;
		if (is_leaf)
			snprintf(name, sizeof(name), "certificate");
		else
			snprintf(name, sizeof(name), "cabundle[%u]", i);
		if (link_step(v, &prev, &cur, is_leaf, is_leaf ? 0 : n - 1 - i, name, err) < 0 ||
		    check_validity(cur.nb, cur.na, at, name, err) < 0) {
			link_clear(&cur);
			link_clear(&prev);
			return -1;
		}
		link_clear(&prev);
		prev = cur;
	}
	*leaf = prev;
	return 0;
}

static int check_timestamp(const struct att_doc *doc, const struct link *leaf, int64_t at,
			   const struct att_policy *pol, struct att_err *err)
{
	uint64_t ts = doc->timestamp_ms, now_ms = (uint64_t)at * 1000, age;
	char t1[TIME_STR_MAX], t2[TIME_STR_MAX];

	/* Certificates have whole seconds; the timestamp has milliseconds. */
	if (leaf->nb < 0 || ts / 1000 < (uint64_t)leaf->nb || ts / 1000 > (uint64_t)leaf->na) {
		time_format((int64_t)(ts / 1000), t1);
		return att_fail(err, ATT_CHK_TIMESTAMP,
				"document time %s is outside its certificate's validity", t1);
	}
	if (pol && pol->max_age_ms) {
		age = ts > now_ms ? ts - now_ms : now_ms - ts;
		if (age > pol->max_age_ms) {
			time_format((int64_t)(ts / 1000), t1);
			time_format(at, t2);
			return att_fail(err, ATT_CHK_TIMESTAMP,
					"document time %s is more than %llu ms from %s", t1,
					(unsigned long long)pol->max_age_ms, t2);
		}
	}
	return 0;
}

static int check_field(const struct att_bytes *want, const struct att_bytes *got,
		       enum att_check check, struct att_err *err)
{
	if (!want->ptr)
		return 0;
	if (!got->ptr)
		return att_fail(err, check, "the document has none, the policy expects %zu bytes",
				want->len);
	if (got->len != want->len || memcmp(got->ptr, want->ptr, want->len) != 0)
		return att_fail(err, check, "the document's %zu bytes differ from the expected %zu",
				got->len, want->len);
	return 0;
}

static int check_policy(const struct att_doc *doc, const struct att_policy *pol,
			struct att_err *err)
{
	char got[2 * ATT_PCR_LEN + 1], want[2 * ATT_PCR_LEN + 1];
	unsigned i;

	if (att_doc_is_debug(doc) && !(pol && pol->allow_debug))
		return att_fail(err, ATT_CHK_DEBUG,
				"PCR0 is all zero: the enclave runs in debug mode (not allowed)");
	if (!pol)
		return 0;
	for (i = 0; i < ATT_PCR_COUNT; i++) {
		if (!(pol->pcr_mask & (1u << i)))
			continue;
		if (!(doc->pcr_mask & (1u << i)))
			return att_fail(err, ATT_CHK_PCR, "PCR%u is not in the document", i);
		if (memcmp(doc->pcr[i], pol->pcr[i], ATT_PCR_LEN) != 0) {
			format_hex(doc->pcr[i], ATT_PCR_LEN, got);
			format_hex(pol->pcr[i], ATT_PCR_LEN, want);
			return att_fail(err, ATT_CHK_PCR, "PCR%u is %s, expected %s", i, got, want);
		}
	}
	if (check_field(&pol->nonce, &doc->nonce, ATT_CHK_NONCE, err) < 0 ||
	    check_field(&pol->user_data, &doc->user_data, ATT_CHK_USER_DATA, err) < 0 ||
	    check_field(&pol->public_key, &doc->public_key, ATT_CHK_PUBLIC_KEY, err) < 0)
		return -1;
	return 0;
}

bool att_policy_pins_image(const struct att_policy *pol)
{
	static const uint8_t zero[ATT_PCR_LEN];
	unsigned i;

	if (!pol)
		return false;
	for (i = 0; i < ATT_PCR_COUNT; i++)
		if ((ATT_IMAGE_PCRS & pol->pcr_mask & (1u << i)) &&
		    memcmp(pol->pcr[i], zero, ATT_PCR_LEN) != 0)
			return true;
	return false;
}

int att_verify(struct att_verifier *v, const uint8_t *buf, size_t len, int64_t at,
	       const struct att_policy *policy, struct att_doc *out, struct att_err *err)
{
	struct att_doc local, *doc = out ? out : &local;
	struct link leaf = { 0 };
	char why[ATT_ERR_MAX];
	int rc;

	if (att_doc_parse(buf, len, doc, err) < 0 || check_root(v, doc, at, err) < 0 ||
	    check_chain(v, doc, at, &leaf, err) < 0)
		return -1;
	rc = cose_es384_verify(&doc->cose, leaf.key, why, sizeof(why));
	if (rc != 1)
		att_fail(err, rc < 0 ? ATT_CHK_INTERNAL : ATT_CHK_SIGNATURE, "%s", why);
	else
		rc = check_timestamp(doc, &leaf, at, policy, err) < 0 ? 0 : 1;
	link_clear(&leaf);
	if (rc != 1)
		return -1;
	if (check_policy(doc, policy, err) < 0)
		return -1;
	if (err) {
		err->check = ATT_OK;
		err->msg[0] = 0;
	}
	return 0;
}
