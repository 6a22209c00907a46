/* The user_data claim of attestd documents; see fclaim.h. */
#include "lib/attestation/fclaim.h"

#include <errno.h>
#include <string.h>

#include <openssl/evp.h>

#include "lib/core/cbor_io.h"
#include "lib/core/errfmt.h"

static void key(struct cbor_wr *w, const char *k)
{
	cbor_wr_text(w, k);
}

static int sha256(const void *p, size_t n, uint8_t out[32])
{
	unsigned int len;

	return EVP_Digest(p, n, out, &len, EVP_sha256(), NULL) ? 0 : -1;
}

static void encode_file(struct cbor_wr *w, const struct fclaim *c, const uint8_t *ph)
{
	cbor_wr_map(w, 12);
	key(w, "v");
	cbor_wr_uint(w, FCLAIM_VERSION);
	key(w, "kind");
	cbor_wr_text(w, "file");
	if (ph) {
		key(w, "path_sha256");
		cbor_wr_bytes(w, ph, 32);
	} else {
		key(w, "path");
		cbor_wr_bytes(w, c->path, c->path_len);
	}
	key(w, "state");
	cbor_wr_text(w, c->present ? "present" : "deleted");
	key(w, "scheme");
	cbor_wr_text(w, c->present ? fdig_scheme_name(c->alg) : "");
	key(w, "digest");
	cbor_wr_bytes_or_null(w, c->present ? c->digest : NULL, fdig_alg_len(c->alg));
	key(w, "size");
	cbor_wr_uint(w, c->present ? c->size : 0);
	key(w, "mtime_ns");
	cbor_wr_int(w, c->present ? c->mtime_ns : 0);
	key(w, "ino");
	cbor_wr_uint(w, c->present ? c->ino : 0);
	key(w, "gen");
	cbor_wr_uint(w, c->present ? c->gen : 0);
	key(w, "seq");
	cbor_wr_uint(w, c->seq);
	key(w, "time_ms");
	cbor_wr_uint(w, c->time_ms);
}

int fclaim_encode(const struct fclaim *c, uint8_t *out, size_t cap, size_t *len)
{
	uint8_t ph[32];
	struct cbor_wr w;
	bool hashed;

	cbor_wr_init(&w, out, cap);
	if (c->kind == FCLAIM_SERVER) {
		cbor_wr_map(&w, 3);
		key(&w, "v");
		cbor_wr_uint(&w, FCLAIM_VERSION);
		key(&w, "kind");
		cbor_wr_text(&w, "server");
		key(&w, "time_ms");
		cbor_wr_uint(&w, c->time_ms);
		return cbor_wr_finish(&w, len);
	}
	if (c->kind != FCLAIM_FILE || !c->path || c->path_len == 0) {
		errno = EINVAL;
		return -1;
	}
	hashed = c->path_len > FCLAIM_PATH_INLINE_MAX;
	if (hashed && sha256(c->path, c->path_len, ph) < 0) {
		errno = EINVAL;
		return -1;
	}
	encode_file(&w, c, hashed ? ph : NULL);
	if (cbor_wr_finish(&w, len) < 0)
		return -1;
	if (*len > FCLAIM_MAX) {
		errno = ENOBUFS;
		return -1;
	}
	return 0;
}

/* ---- decoding ---- */

struct dec {
	struct cbor_rd rd;
	char *err;
	size_t errlen;
};

static int fail(struct dec *d, const char *what)
{
	return errfmt(d->err, d->errlen, "claim: %s", what);
}

static int want_key(struct dec *d, const char *k)
{
	struct cbor_tok t;

	if (cbor_rd_expect(&d->rd, CT_TEXT, &t) < 0 || t.len != strlen(k) ||
	    memcmp(t.data, k, t.len) != 0)
		return errfmt(d->err, d->errlen, "claim: expected key \"%s\"", k);
	return 0;
}

static int get_uint(struct dec *d, const char *k, uint64_t *v)
{
	struct cbor_tok t;

	if (want_key(d, k) < 0)
		return -1;
	if (cbor_rd_expect(&d->rd, CT_UINT, &t) < 0)
		return errfmt(d->err, d->errlen, "claim: \"%s\" is not an unsigned integer", k);
	*v = t.val;
	return 0;
}

static int get_text(struct dec *d, const char *k, struct cbor_tok *t)
{
	if (want_key(d, k) < 0)
		return -1;
	if (cbor_rd_expect(&d->rd, CT_TEXT, t) < 0)
		return errfmt(d->err, d->errlen, "claim: \"%s\" is not text", k);
	return 0;
}

static bool tok_is(const struct cbor_tok *t, const char *s)
{
	return t->len == strlen(s) && memcmp(t->data, s, t->len) == 0;
}

static int get_mtime(struct dec *d, int64_t *v)
{
	struct cbor_tok t;

	if (want_key(d, "mtime_ns") < 0 || cbor_rd_next(&d->rd, &t) < 0)
		return fail(d, "\"mtime_ns\" missing");
	if (t.type == CT_UINT && t.val <= INT64_MAX)
		*v = (int64_t)t.val;
	else if (t.type == CT_NEGINT && t.val <= INT64_MAX)
		*v = -1 - (int64_t)t.val;
	else
		return fail(d, "\"mtime_ns\" is not a 64-bit integer");
	return 0;
}

static int get_path(struct dec *d, struct fclaim *c)
{
	struct cbor_tok t;

	if (cbor_rd_expect(&d->rd, CT_TEXT, &t) < 0)
		return fail(d, "expected key \"path\" or \"path_sha256\"");
	if (tok_is(&t, "path")) {
		if (cbor_rd_expect(&d->rd, CT_BYTES, &t) < 0 || t.len == 0 ||
		    t.len > FCLAIM_PATH_INLINE_MAX)
			return fail(d, "\"path\" is not a byte string of 1-512 bytes");
		c->path = t.data;
		c->path_len = t.len;
		return 0;
	}
	if (!tok_is(&t, "path_sha256"))
		return fail(d, "expected key \"path\" or \"path_sha256\"");
	if (cbor_rd_expect(&d->rd, CT_BYTES, &t) < 0 || t.len != 32)
		return fail(d, "\"path_sha256\" is not 32 bytes");
	c->path_hashed = true;
	memcpy(c->path_sha256, t.data, 32);
	return 0;
}

static int get_state_scheme_digest(struct dec *d, struct fclaim *c)
{
	struct cbor_tok t;

	if (get_text(d, "state", &t) < 0)
		return -1;
	if (tok_is(&t, "present"))
		c->present = true;
	else if (!tok_is(&t, "deleted"))
		return fail(d, "\"state\" is neither present nor deleted");
	if (get_text(d, "scheme", &t) < 0)
		return -1;
	if (c->present) {
		char s[FDIG_SCHEME_MAX];

		if (t.len >= sizeof(s))
			return fail(d, "unknown scheme");
		memcpy(s, t.data, t.len);
		s[t.len] = '\0';
		if (fdig_alg_parse(s, &c->alg) < 0 || strcmp(s, fdig_scheme_name(c->alg)) != 0)
			return fail(d, "unknown scheme");
	} else if (t.len != 0) {
		return fail(d, "a deleted file has a scheme");
	}
	if (want_key(d, "digest") < 0 || cbor_rd_next(&d->rd, &t) < 0)
		return fail(d, "\"digest\" missing");
	if (!c->present)
		return t.type == CT_NULL ? 0 : fail(d, "a deleted file has a digest");
	if (t.type != CT_BYTES || t.len != fdig_alg_len(c->alg))
		return fail(d, "\"digest\" does not fit the scheme");
	memcpy(c->digest, t.data, t.len);
	return 0;
}

static int decode_file(struct dec *d, struct fclaim *c)
{
	if (get_path(d, c) < 0 || get_state_scheme_digest(d, c) < 0 ||
	    get_uint(d, "size", &c->size) < 0 || get_mtime(d, &c->mtime_ns) < 0 ||
	    get_uint(d, "ino", &c->ino) < 0 || get_uint(d, "gen", &c->gen) < 0 ||
	    get_uint(d, "seq", &c->seq) < 0 || get_uint(d, "time_ms", &c->time_ms) < 0)
		return -1;
	if (c->gen > UINT32_MAX)
		return fail(d, "\"gen\" is larger than 32 bits");
	return 0;
}

int fclaim_decode(const uint8_t *buf, size_t len, struct fclaim *c, char *err, size_t errlen)
{
	struct dec d = { .err = err, .errlen = errlen };
	struct cbor_tok t, kind;
	uint64_t v;

	memset(c, 0, sizeof(*c));
	if (len > FCLAIM_MAX)
		return errfmt(err, errlen, "claim: longer than %d bytes", FCLAIM_MAX);
	cbor_rd_init(&d.rd, buf, len);
	if (cbor_rd_expect(&d.rd, CT_MAP, &t) < 0)
		return fail(&d, "not a CBOR map");
	if (get_uint(&d, "v", &v) < 0)
		return -1;
	if (v != FCLAIM_VERSION)
		return errfmt(err, errlen, "claim: version %llu, expected %d",
			      (unsigned long long)v, FCLAIM_VERSION);
	if (get_text(&d, "kind", &kind) < 0)
		return -1;
	if (tok_is(&kind, "server") && t.val == 3) {
		c->kind = FCLAIM_SERVER;
		if (get_uint(&d, "time_ms", &c->time_ms) < 0)
			return -1;
	} else if (tok_is(&kind, "file") && t.val == 12) {
		c->kind = FCLAIM_FILE;
		if (decode_file(&d, c) < 0)
			return -1;
	} else {
		return fail(&d, "unknown kind or wrong number of keys");
	}
	if (!cbor_rd_done(&d.rd))
		return fail(&d, "bytes after the map");
	return 0;
}

bool fclaim_names_path(const struct fclaim *c, const char *path, size_t len)
{
	uint8_t h[32];

	if (c->kind != FCLAIM_FILE)
		return false;
	if (!c->path_hashed)
		return c->path_len == len && memcmp(c->path, path, len) == 0;
	return len > FCLAIM_PATH_INLINE_MAX && sha256(path, len, h) == 0 &&
	       memcmp(h, c->path_sha256, 32) == 0;
}
