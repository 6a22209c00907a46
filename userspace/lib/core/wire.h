/* Big-endian field access for wire formats, and a bounds-checked reader for
 * parsing untrusted payloads: every read past the end sets r->err and yields
 * zeros, so a parser checks r->err once at the end. */
#ifndef NEK_WIRE_H
#define NEK_WIRE_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

static inline void wire_put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static inline void wire_put32(uint8_t *p, uint32_t v)
{
	wire_put16(p, (uint16_t)(v >> 16));
	wire_put16(p + 2, (uint16_t)v);
}

static inline void wire_put64(uint8_t *p, uint64_t v)
{
	wire_put32(p, (uint32_t)(v >> 32));
	wire_put32(p + 4, (uint32_t)v);
}

static inline uint16_t wire_get16(const uint8_t *p)
{
	return (uint16_t)((unsigned)p[0] << 8 | p[1]);
}

static inline uint32_t wire_get32(const uint8_t *p)
{
	return (uint32_t)wire_get16(p) << 16 | wire_get16(p + 2);
}

static inline uint64_t wire_get64(const uint8_t *p)
{
	return (uint64_t)wire_get32(p) << 32 | wire_get32(p + 4);
}

struct wire_rd {
	const uint8_t *p;
	size_t left;
	int err;
};

static inline void wire_rd_init(struct wire_rd *r, const void *p, size_t len)
{
	r->p = p;
	r->left = len;
	r->err = 0;
}

/* Returns a pointer to the next n bytes, or NULL (and sets err) if fewer remain. */
static inline const uint8_t *wire_take(struct wire_rd *r, size_t n)
{
	const uint8_t *q = r->p;

	if (r->err || n > r->left) {
		r->err = 1;
		return NULL;
	}
	r->p += n;
	r->left -= n;
	return q;
}

static inline uint8_t wire_u8(struct wire_rd *r)
{
	const uint8_t *q = wire_take(r, 1);

	return q ? q[0] : 0;
}

static inline uint16_t wire_u16(struct wire_rd *r)
{
	const uint8_t *q = wire_take(r, 2);

	return q ? wire_get16(q) : 0;
}

static inline uint32_t wire_u32(struct wire_rd *r)
{
	const uint8_t *q = wire_take(r, 4);

	return q ? wire_get32(q) : 0;
}

static inline uint64_t wire_u64(struct wire_rd *r)
{
	const uint8_t *q = wire_take(r, 8);

	return q ? wire_get64(q) : 0;
}

/* A writer into a fixed buffer; overflow sets err. */
struct wire_wr {
	uint8_t *p;
	size_t left;
	int err;
};

static inline void wire_wr_init(struct wire_wr *w, void *p, size_t len)
{
	w->p = p;
	w->left = len;
	w->err = 0;
}

static inline uint8_t *wire_room(struct wire_wr *w, size_t n)
{
	uint8_t *q = w->p;

	if (w->err || n > w->left) {
		w->err = 1;
		return NULL;
	}
	w->p += n;
	w->left -= n;
	return q;
}

static inline void wire_w8(struct wire_wr *w, uint8_t v)
{
	uint8_t *q = wire_room(w, 1);

	if (q)
		q[0] = v;
}

static inline void wire_w16(struct wire_wr *w, uint16_t v)
{
	uint8_t *q = wire_room(w, 2);

	if (q)
		wire_put16(q, v);
}

static inline void wire_w32(struct wire_wr *w, uint32_t v)
{
	uint8_t *q = wire_room(w, 4);

	if (q)
		wire_put32(q, v);
}

static inline void wire_w64(struct wire_wr *w, uint64_t v)
{
	uint8_t *q = wire_room(w, 8);

	if (q)
		wire_put64(q, v);
}

static inline void wire_wbytes(struct wire_wr *w, const void *src, size_t n)
{
	uint8_t *q = wire_room(w, n);

	if (q && n)
		memcpy(q, src, n);
}

#endif
