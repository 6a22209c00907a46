/* SLC wire format: encoders and the strict decoders for everything a peer
 * sends (docs/slc-protocol.md). */
#include "slc/proto.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/core/errfmt.h"
#include "lib/core/wire.h"


/* ---------------------------------------------------------------- hellos */

void slc_chello_encode(const struct slc_chello *h, uint8_t out[SLC_CHELLO_LEN])
{
	memcpy(out, "SLCc", 4);
	wire_put16(out + 4, h->version);
	wire_put16(out + 6, h->flags);
	memcpy(out + 8, h->key, SLC_KEY_LEN);
	memcpy(out + 40, h->nonce, SLC_NONCE_LEN);
}

int slc_chello_decode(const uint8_t in[SLC_CHELLO_LEN], struct slc_chello *h, char *err,
		      size_t errlen)
{
	if (memcmp(in, "SLCc", 4) != 0)
		return errfmt(err, errlen, "not an slc client (bad magic)");
	h->version = wire_get16(in + 4);
	h->flags = wire_get16(in + 6);
	memcpy(h->key, in + 8, SLC_KEY_LEN);
	memcpy(h->nonce, in + 40, SLC_NONCE_LEN);
	if (h->version != SLC_VERSION)
		return errfmt(err, errlen, "unsupported protocol version %u (this server speaks %u)",
			    h->version, SLC_VERSION);
	if (h->flags & ~SLC_HF_INSECURE)
		return errfmt(err, errlen, "unknown hello flags 0x%x", h->flags);
	return 0;
}

long slc_shello_len(const uint8_t hdr[SLC_SHELLO_HDR])
{
	size_t doc = wire_get16(hdr + 44), sig = hdr[46], msg = hdr[47];

	if (memcmp(hdr, "SLCs", 4) != 0 || doc > SLC_DOC_MAX || (sig != 0 && sig != SLC_SIG_LEN))
		return -1;
	return (long)(SLC_SHELLO_HDR + doc + sig + msg);
}

size_t slc_shello_encode(const struct slc_shello *h, const char *msg, uint8_t *out)
{
	size_t mlen = msg ? strnlen(msg, 255) : 0, off = SLC_SHELLO_HDR;

	memcpy(out, "SLCs", 4);
	wire_put16(out + 4, h->version);
	wire_put16(out + 6, h->flags);
	wire_put32(out + 8, h->status);
	memcpy(out + 12, h->key, SLC_KEY_LEN);
	wire_put16(out + 44, (uint16_t)h->doc_len);
	out[46] = (uint8_t)h->sig_len;
	out[47] = (uint8_t)mlen;
	if (h->doc_len)
		memcpy(out + off, h->doc, h->doc_len);
	off += h->doc_len;
	if (h->sig_len)
		memcpy(out + off, h->sig, h->sig_len);
	off += h->sig_len;
	if (mlen)
		memcpy(out + off, msg, mlen);
	return off + mlen;
}

int slc_shello_decode(const uint8_t *in, size_t len, struct slc_shello *h, char *err,
		      size_t errlen)
{
	long need;
	size_t mlen, off = SLC_SHELLO_HDR, i;

	memset(h, 0, sizeof(*h));
	if (len < SLC_SHELLO_HDR)
		return errfmt(err, errlen, "short server hello");
	need = slc_shello_len(in);
	if (need < 0)
		return errfmt(err, errlen, "not an slc server (bad hello)");
	if ((size_t)need > len)
		return errfmt(err, errlen, "short server hello");
	h->version = wire_get16(in + 4);
	h->flags = wire_get16(in + 6);
	h->status = wire_get32(in + 8);
	memcpy(h->key, in + 12, SLC_KEY_LEN);
	h->doc_len = wire_get16(in + 44);
	h->sig_len = in[46];
	mlen = in[47];
	h->total = (size_t)need;
	if (h->version != SLC_VERSION)
		return errfmt(err, errlen, "server speaks protocol version %u, not %u", h->version,
			    SLC_VERSION);
	if (h->flags & ~(SLC_HF_INSECURE | SLC_HF_ATTESTED | SLC_HF_SIGNED))
		return errfmt(err, errlen, "unknown server hello flags 0x%x", h->flags);
	if (!!(h->flags & SLC_HF_ATTESTED) != (h->doc_len > 0) ||
	    !!(h->flags & SLC_HF_SIGNED) != (h->sig_len > 0))
		return errfmt(err, errlen, "inconsistent server hello");
	h->doc = h->doc_len ? in + off : NULL;
	off += h->doc_len;
	h->sig = h->sig_len ? in + off : NULL;
	off += h->sig_len;
	for (i = 0; i < mlen; i++)
		h->msg[i] = in[off + i] >= 0x20 && in[off + i] != 0x7f ? (char)in[off + i] : '?';
	h->msg[mlen] = 0;
	return 0;
}

/* ---------------------------------------------------------------- frames */

static const char *const type_names[] = {
	[SLC_AUTH] = "AUTH",	     [SLC_AUTH_OK] = "AUTH_OK",	  [SLC_ERROR] = "ERROR",
	[SLC_EXEC] = "EXEC",	     [SLC_STARTED] = "STARTED",	  [SLC_STDIN] = "STDIN",
	[SLC_STDOUT] = "STDOUT",     [SLC_STDERR] = "STDERR",	  [SLC_EXIT] = "EXIT",
	[SLC_WINSIZE] = "WINSIZE",   [SLC_SIGNAL] = "SIGNAL",	  [SLC_WINDOW] = "WINDOW",
	[SLC_PUT] = "PUT",	     [SLC_GET] = "GET",		  [SLC_ENTRY] = "ENTRY",
	[SLC_DATA] = "DATA",	     [SLC_FILE_END] = "FILE_END", [SLC_DIR_END] = "DIR_END",
	[SLC_XFER_END] = "XFER_END", [SLC_FILE_ERR] = "FILE_ERR", [SLC_DONE] = "DONE",
};

const char *slc_type_name(uint8_t type)
{
	if (type < sizeof(type_names) / sizeof(type_names[0]) && type_names[type])
		return type_names[type];
	return "unknown";
}

void slc_frame_hdr(uint8_t out[SLC_FRAME_HDR], uint8_t type, uint8_t flags, uint32_t stream,
		   uint32_t len)
{
	out[0] = type;
	out[1] = flags;
	out[2] = out[3] = 0;
	wire_put32(out + 4, stream);
	wire_put32(out + 8, len);
}

int slc_frame_next(const uint8_t *rec, size_t len, size_t *off, struct slc_frame *f,
		   char *err, size_t errlen)
{
	size_t o = *off;

	if (o >= len)
		return 0;
	if (len - o < SLC_FRAME_HDR)
		return errfmt(err, errlen, "truncated frame header (%zu bytes)", len - o);
	f->type = rec[o];
	f->flags = rec[o + 1];
	f->stream = wire_get32(rec + o + 4);
	f->len = wire_get32(rec + o + 8);
	if (rec[o + 2] || rec[o + 3])
		return errfmt(err, errlen, "reserved frame bits set");
	if (f->len > SLC_FRAME_MAX || f->len > len - o - SLC_FRAME_HDR)
		return errfmt(err, errlen, "%s frame length %u exceeds its record",
			    slc_type_name(f->type), f->len);
	f->p = rec + o + SLC_FRAME_HDR;
	*off = o + SLC_FRAME_HDR + f->len;
	return 1;
}

/* Fixed payload sizes; -1 = variable (checked by the type's decoder). */
static long fixed_len(uint8_t type)
{
	switch (type) {
	case SLC_AUTH:
		return SLC_KEY_LEN + 64;
	case SLC_AUTH_OK:
	case SLC_DIR_END:
	case SLC_XFER_END:
		return 0;
	case SLC_STARTED:
	case SLC_SIGNAL:
	case SLC_WINDOW:
	case SLC_WINSIZE:
		return 4;
	case SLC_EXIT:
		return 8;
	case SLC_DONE:
		return SLC_DONE_LEN;
	default:
		return -1;
	}
}

static int known_type(uint8_t t)
{
	return t < sizeof(type_names) / sizeof(type_names[0]) && type_names[t];
}

int slc_frame_check(const struct slc_frame *f, char *err, size_t errlen)
{
	long fl;

	if (!known_type(f->type))
		return errfmt(err, errlen, "unknown frame type 0x%02x", f->type);
	if (f->flags)
		return errfmt(err, errlen, "%s: unknown flags 0x%x", slc_type_name(f->type), f->flags);
	fl = fixed_len(f->type);
	if (fl >= 0 && f->len != (uint32_t)fl)
		return errfmt(err, errlen, "%s: payload is %u bytes, expected %ld",
			    slc_type_name(f->type), f->len, fl);
	switch (f->type) {
	case SLC_AUTH:
	case SLC_AUTH_OK:
	case SLC_ERROR:
		break;
	default:
		if (f->stream == 0)
			return errfmt(err, errlen, "%s on stream 0", slc_type_name(f->type));
	}
	switch (f->type) {
	case SLC_AUTH:
	case SLC_AUTH_OK:
		if (f->stream != 0)
			return errfmt(err, errlen, "%s on a request stream", slc_type_name(f->type));
		break;
	case SLC_ERROR:
		if (f->len < 6 || wire_get16(f->p + 4) != f->len - 6 || f->len - 6 > SLC_ERRMSG_MAX)
			return errfmt(err, errlen, "ERROR: bad message length");
		break;
	case SLC_FILE_ERR: {
		size_t nl, ml;

		if (f->len < 8)
			return errfmt(err, errlen, "FILE_ERR: too short");
		nl = wire_get16(f->p + 4);
		ml = wire_get16(f->p + 6);
		if (nl > SLC_NAME_MAX || ml > SLC_ERRMSG_MAX || 8 + nl + ml != f->len)
			return errfmt(err, errlen, "FILE_ERR: bad lengths");
		break;
	}
	case SLC_EXIT:
		if (f->p[0] > SLC_TIMEDOUT || f->p[1] || f->p[2] || f->p[3])
			return errfmt(err, errlen, "EXIT: bad fields");
		break;
	case SLC_SIGNAL:
		if (wire_get32(f->p) < 1 || wire_get32(f->p) > 64)
			return errfmt(err, errlen, "SIGNAL: bad signal number %u", wire_get32(f->p));
		break;
	case SLC_DATA:
		if (f->len < 8)
			return errfmt(err, errlen, "DATA: too short");
		if (wire_get64(f->p) > (1ULL << 62))
			return errfmt(err, errlen, "DATA: offset out of range");
		break;
	case SLC_FILE_END:
		if (f->len < 2 || f->p[1] != f->len - 2 || f->p[1] > SLC_DIGEST_MAX ||
		    (f->p[0] != SLC_DG_XXH128 && f->p[0] != SLC_DG_SHA256))
			return errfmt(err, errlen, "FILE_END: bad digest");
		break;
	}
	return 0;
}

/* ---------------------------------------------------------------- strings */

/* A length-prefixed string without NUL bytes, at most max bytes. */
static const uint8_t *rd_str(struct wire_rd *r, size_t max, size_t *len)
{
	size_t n = wire_u16(r);
	const uint8_t *p;

	if (n > max) {
		r->err = 1;
		return NULL;
	}
	p = wire_take(r, n);
	if (p && memchr(p, 0, n)) {
		r->err = 1;
		return NULL;
	}
	*len = n;
	return p;
}

static void wr_str(struct wire_wr *w, const char *s)
{
	size_t n = strlen(s);

	if (n > 0xffff) {
		w->err = 1;
		return;
	}
	wire_w16(w, (uint16_t)n);
	wire_wbytes(w, s, n);
}

int slc_name_ok(const char *s, size_t len)
{
	if (len == 0 || len > SLC_NAME_MAX || memchr(s, '/', len) || memchr(s, 0, len))
		return 0;
	if ((len == 1 && s[0] == '.') || (len == 2 && s[0] == '.' && s[1] == '.'))
		return 0;
	return 1;
}

/* ---------------------------------------------------------------- EXEC */

long slc_exec_encode(uint8_t *out, size_t cap, uint32_t flags, uint32_t timeout_ms,
		     uint16_t rows, uint16_t cols, const char *cwd, char *const argv[],
		     char *const envp[])
{
	struct wire_wr w;
	size_t argc = 0, envc = 0, i;

	while (argv[argc])
		argc++;
	while (envp && envp[envc])
		envc++;
	if (argc < 1 || argc > SLC_ARG_MAX || envc > SLC_ARG_MAX)
		return -1;
	wire_wr_init(&w, out, cap);
	wire_w32(&w, flags);
	wire_w32(&w, timeout_ms);
	wire_w16(&w, rows);
	wire_w16(&w, cols);
	wire_w16(&w, (uint16_t)argc);
	wire_w16(&w, (uint16_t)envc);
	wr_str(&w, cwd ? cwd : "");
	for (i = 0; i < argc; i++)
		wr_str(&w, argv[i]);
	for (i = 0; i < envc; i++)
		wr_str(&w, envp[i]);
	return w.err ? -1 : (long)(cap - w.left);
}

int slc_exec_decode(const uint8_t *p, size_t len, struct slc_exec_req *x, char *err,
		    size_t errlen)
{
	struct wire_rd r;
	size_t n, i, slen;
	const uint8_t *s;
	char *strs;

	memset(x, 0, sizeof(*x));
	wire_rd_init(&r, p, len);
	x->flags = wire_u32(&r);
	x->timeout_ms = wire_u32(&r);
	x->rows = wire_u16(&r);
	x->cols = wire_u16(&r);
	x->argc = wire_u16(&r);
	x->envc = wire_u16(&r);
	if (r.err)
		return errfmt(err, errlen, "EXEC: too short");
	if (x->flags & ~(SLC_EX_TTY | SLC_EX_STDIN | SLC_EX_NOWAIT | SLC_EX_SHELL))
		return errfmt(err, errlen, "EXEC: unknown flags 0x%x", x->flags);
	if (x->argc < 1 || x->argc > SLC_ARG_MAX || x->envc > SLC_ARG_MAX)
		return errfmt(err, errlen, "EXEC: %u arguments, %u variables (1..%u, 0..%u)", x->argc,
			    x->envc, SLC_ARG_MAX, SLC_ARG_MAX);
	if ((x->flags & SLC_EX_SHELL) && x->argc != 1)
		return errfmt(err, errlen, "EXEC: a shell command is one string");
	/* One block: pointer arrays, then the strings (each at most len bytes). */
	n = (x->argc + 1 + x->envc + 1) * sizeof(char *);
	x->mem = malloc(n + len + 1 + x->argc + x->envc);
	if (!x->mem)
		return errfmt(err, errlen, "EXEC: out of memory");
	x->argv = x->mem;
	x->envp = x->argv + x->argc + 1;
	strs = (char *)x->mem + n;
	for (i = 0; i < 1 + x->argc + x->envc; i++) {
		s = rd_str(&r, r.left, &slen);
		if (r.err)
			break;
		memcpy(strs, s, slen);
		strs[slen] = 0;
		if (i == 0)
			x->cwd = strs;
		else if (i <= x->argc)
			x->argv[i - 1] = strs;
		else
			x->envp[i - 1 - x->argc] = strs;
		strs += slen + 1;
	}
	if (r.err || r.left) {
		slc_exec_free(x);
		return errfmt(err, errlen, "EXEC: malformed strings");
	}
	for (i = 0; i < x->envc; i++)
		if (!strchr(x->envp[i], '=') || x->envp[i][0] == '=') {
			slc_exec_free(x);
			return errfmt(err, errlen, "EXEC: environment entry is not K=V");
		}
	if (x->argv[0][0] == 0) {
		slc_exec_free(x);
		return errfmt(err, errlen, "EXEC: empty command");
	}
	x->argv[x->argc] = NULL;
	x->envp[x->envc] = NULL;
	return 0;
}

void slc_exec_free(struct slc_exec_req *x)
{
	free(x->mem);
	memset(x, 0, sizeof(*x));
}

/* ---------------------------------------------------------------- ENTRY */

long slc_entry_encode(uint8_t *out, size_t cap, const struct slc_entry *e)
{
	struct wire_wr w;
	size_t nl = strlen(e->name), tl = e->kind == SLC_K_LINK ? strlen(e->target) : 0;

	wire_wr_init(&w, out, cap);
	wire_w8(&w, e->kind);
	wire_w8(&w, 0);
	wire_w16(&w, (uint16_t)nl);
	wire_w32(&w, e->mode);
	wire_w64(&w, e->size);
	wire_w64(&w, (uint64_t)e->mtime_s);
	wire_w32(&w, e->mtime_ns);
	wire_wbytes(&w, e->name, nl);
	wire_wbytes(&w, e->target, tl);
	return w.err ? -1 : (long)(cap - w.left);
}

int slc_entry_decode(const uint8_t *p, size_t len, struct slc_entry *e, char *err,
		     size_t errlen)
{
	struct wire_rd r;
	size_t nl, tl;
	const uint8_t *name, *tgt;

	wire_rd_init(&r, p, len);
	e->kind = wire_u8(&r);
	if (wire_u8(&r) != 0)
		r.err = 1;
	nl = wire_u16(&r);
	e->mode = wire_u32(&r);
	e->size = wire_u64(&r);
	e->mtime_s = (int64_t)wire_u64(&r);
	e->mtime_ns = wire_u32(&r);
	name = wire_take(&r, nl);
	if (r.err)
		return errfmt(err, errlen, "ENTRY: malformed");
	if (e->kind < SLC_K_FILE || e->kind > SLC_K_LINK)
		return errfmt(err, errlen, "ENTRY: unknown kind %u", e->kind);
	if (e->mode & ~07777u || e->mtime_ns >= 1000000000u)
		return errfmt(err, errlen, "ENTRY: bad mode or time");
	if (!slc_name_ok((const char *)name, nl))
		return errfmt(err, errlen, "ENTRY: bad name");
	memcpy(e->name, name, nl);
	e->name[nl] = 0;
	tl = r.left;
	tgt = wire_take(&r, tl);
	e->target[0] = 0;
	if (e->kind == SLC_K_LINK) {
		if (tl == 0 || tl > SLC_PATH_MAX || memchr(tgt, 0, tl))
			return errfmt(err, errlen, "ENTRY: bad symlink target");
		memcpy(e->target, tgt, tl);
		e->target[tl] = 0;
	} else if (tl) {
		return errfmt(err, errlen, "ENTRY: trailing bytes");
	}
	if (e->kind != SLC_K_FILE && e->size)
		return errfmt(err, errlen, "ENTRY: size on a non-file");
	if (e->size > (1ULL << 62))
		return errfmt(err, errlen, "ENTRY: size out of range");
	return 0;
}

/* ---------------------------------------------------------------- PUT/GET */

long slc_xfer_req_encode(uint8_t *out, size_t cap, uint32_t flags, const char *path)
{
	struct wire_wr w;

	if (strlen(path) > SLC_PATH_MAX)
		return -1;
	wire_wr_init(&w, out, cap);
	wire_w32(&w, flags);
	wr_str(&w, path);
	return w.err ? -1 : (long)(cap - w.left);
}

int slc_xfer_req_decode(const uint8_t *p, size_t len, struct slc_xfer_req *x, char *err,
			size_t errlen)
{
	struct wire_rd r;
	const uint8_t *s;
	size_t n;

	wire_rd_init(&r, p, len);
	x->flags = wire_u32(&r);
	s = rd_str(&r, SLC_PATH_MAX, &n);
	if (r.err || r.left)
		return errfmt(err, errlen, "PUT/GET: malformed path");
	if (x->flags & ~(SLC_XF_SHA256 | SLC_XF_INTO | SLC_XF_AS))
		return errfmt(err, errlen, "PUT/GET: unknown flags 0x%x", x->flags);
	if (n == 0)
		return errfmt(err, errlen, "PUT/GET: empty path");
	memcpy(x->path, s, n);
	x->path[n] = 0;
	return 0;
}

/* ---------------------------------------------------------------- errors */

static void copy_text(char *dst, const uint8_t *src, size_t n)
{
	size_t i;

	/* The peer's text is shown to a user: no control characters. */
	for (i = 0; i < n; i++)
		dst[i] = src[i] >= 0x20 && src[i] != 0x7f ? (char)src[i] : '?';
	dst[n] = 0;
}

int slc_error_decode(const struct slc_frame *f, struct slc_error *e)
{
	size_t nl = 0, ml;

	e->err = wire_get32(f->p);
	e->name[0] = 0;
	if (f->type == SLC_FILE_ERR) {
		nl = wire_get16(f->p + 4);
		ml = wire_get16(f->p + 6);
		copy_text(e->name, f->p + 8, nl);
		copy_text(e->msg, f->p + 8 + nl, ml);
	} else {
		ml = wire_get16(f->p + 4);
		copy_text(e->msg, f->p + 6, ml);
	}
	return 0;
}

long slc_error_encode(uint8_t *out, size_t cap, uint32_t err, const char *msg)
{
	struct wire_wr w;
	size_t n = strnlen(msg, SLC_ERRMSG_MAX);

	wire_wr_init(&w, out, cap);
	wire_w32(&w, err);
	wire_w16(&w, (uint16_t)n);
	wire_wbytes(&w, msg, n);
	return w.err ? -1 : (long)(cap - w.left);
}

long slc_file_err_encode(uint8_t *out, size_t cap, uint32_t err, const char *name,
			 const char *msg)
{
	struct wire_wr w;
	size_t nl = strnlen(name, SLC_NAME_MAX), ml = strnlen(msg, SLC_ERRMSG_MAX);

	wire_wr_init(&w, out, cap);
	wire_w32(&w, err);
	wire_w16(&w, (uint16_t)nl);
	wire_w16(&w, (uint16_t)ml);
	wire_wbytes(&w, name, nl);
	wire_wbytes(&w, msg, ml);
	return w.err ? -1 : (long)(cap - w.left);
}

void slc_done_encode(uint8_t out[SLC_DONE_LEN], const struct slc_done *d)
{
	wire_put64(out, d->files);
	wire_put64(out + 8, d->dirs);
	wire_put64(out + 16, d->links);
	wire_put64(out + 24, d->bytes);
	wire_put64(out + 32, d->errors);
}

void slc_done_decode(const uint8_t *p, struct slc_done *d)
{
	d->files = wire_get64(p);
	d->dirs = wire_get64(p + 8);
	d->links = wire_get64(p + 16);
	d->bytes = wire_get64(p + 24);
	d->errors = wire_get64(p + 32);
}
