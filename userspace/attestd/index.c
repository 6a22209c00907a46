/* A crit-bit tree of records keyed by path (after D. J. Bernstein's
 * description); see index.h. Leaves are struct rec pointers; internal nodes
 * are tagged with the low pointer bit. */
#include "attestd/index.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct node {
	void *child[2];
	size_t byte;
	uint8_t otherbits;
};

struct index {
	void *root;
	size_t count;
};

static inline int is_node(const void *p)
{
	return (uintptr_t)p & 1;
}

static inline struct node *as_node(void *p)
{
	return (struct node *)((uintptr_t)p - 1);
}

static inline void *tag_node(struct node *n)
{
	return (void *)((uintptr_t)n + 1);
}

static inline int direction(const struct node *q, const uint8_t *key, size_t len)
{
	uint8_t c = q->byte < len ? key[q->byte] : 0;

	return (1 + (q->otherbits | c)) >> 8;
}

struct index *index_new(void)
{
	return calloc(1, sizeof(struct index));
}

size_t index_count(const struct index *ix)
{
	return ix->count;
}

/* The leaf the key leads to (its best match), or NULL for an empty tree. */
static struct rec *best_leaf(const struct index *ix, const uint8_t *key, size_t len)
{
	void *p = ix->root;

	if (!p)
		return NULL;
	while (is_node(p))
		p = as_node(p)->child[direction(as_node(p), key, len)];
	return p;
}

struct rec *index_get(const struct index *ix, const char *path, size_t len)
{
	struct rec *r = best_leaf(ix, (const uint8_t *)path, len);

	return r && r->plen == len && memcmp(r->path, path, len) == 0 ? r : NULL;
}

int index_put(struct index *ix, struct rec *r)
{
	const uint8_t *u = (const uint8_t *)r->path, *pk;
	size_t ulen = r->plen, nb;
	unsigned ob;
	struct rec *best = best_leaf(ix, u, ulen);
	struct node *n;
	void **where;
	int dir;

	if (!best) {
		ix->root = r;
		ix->count++;
		return 0;
	}
	pk = (const uint8_t *)best->path;
	/* Both keys are NUL-terminated, so reading index ulen is safe. */
	for (nb = 0; nb <= ulen; nb++)
		if (pk[nb] != u[nb])
			break;
	if (nb > ulen)
		return -1;
	ob = pk[nb] ^ u[nb];
	ob |= ob >> 1;
	ob |= ob >> 2;
	ob |= ob >> 4;
	ob = (ob & ~(ob >> 1)) ^ 255;
	dir = (1 + (ob | pk[nb])) >> 8;
	n = malloc(sizeof(*n));
	if (!n)
		return -1;
	n->byte = nb;
	n->otherbits = (uint8_t)ob;
	n->child[1 - dir] = r;
	for (where = &ix->root; is_node(*where); ) {
		struct node *q = as_node(*where);

		if (q->byte > nb || (q->byte == nb && q->otherbits > ob))
			break;
		where = &q->child[direction(q, u, ulen)];
	}
	n->child[dir] = *where;
	*where = tag_node(n);
	ix->count++;
	return 0;
}

void index_del(struct index *ix, struct rec *r)
{
	const uint8_t *u = (const uint8_t *)r->path;
	void **where = &ix->root, **whereq = NULL;
	struct node *q = NULL;
	int dir = 0;

	if (!ix->root)
		return;
	while (is_node(*where)) {
		whereq = where;
		q = as_node(*where);
		dir = direction(q, u, r->plen);
		where = &q->child[dir];
	}
	if (*where != r)
		return;
	ix->count--;
	if (!whereq) {
		ix->root = NULL;
		return;
	}
	*whereq = q->child[1 - dir];
	free(q);
}

/* In-order traversal with an explicit stack: names are chosen by whoever
 * creates files, so the tree's depth is not ours to bound. */
static int walk_from(void *top, void (*fn)(struct rec *, void *), void *arg)
{
	size_t cap = 64, n = 0;
	void **stack = malloc(cap * sizeof(*stack)), **ns;
	void *p;

	if (!stack)
		return -1;
	stack[n++] = top;
	while (n > 0) {
		p = stack[--n];
		if (!is_node(p)) {
			fn(p, arg);
			continue;
		}
		if (n + 2 > cap) {
			ns = realloc(stack, 2 * cap * sizeof(*stack));
			if (!ns) {
				free(stack);
				errno = ENOMEM;
				return -1;
			}
			stack = ns;
			cap *= 2;
		}
		stack[n++] = as_node(p)->child[1];
		stack[n++] = as_node(p)->child[0];
	}
	free(stack);
	return 0;
}

int index_walk(struct index *ix, const char *prefix, size_t len,
	       void (*fn)(struct rec *, void *), void *arg)
{
	const uint8_t *u = (const uint8_t *)prefix;
	void *p = ix->root, *top = p;
	struct rec *leaf;

	if (!p)
		return 0;
	while (is_node(p)) {
		struct node *q = as_node(p);

		p = q->child[direction(q, u, len)];
		if (q->byte < len)
			top = p;
	}
	leaf = p;
	if (leaf->plen < len || memcmp(leaf->path, prefix, len) != 0)
		return 0;
	return walk_from(top, fn, arg);
}

static void free_nodes(void *p, void (*free_rec)(struct rec *))
{
	size_t cap = 64, n = 0;
	void **stack = malloc(cap * sizeof(*stack)), **ns;

	if (!stack)
		return;
	if (p)
		stack[n++] = p;
	while (n > 0) {
		p = stack[--n];
		if (!is_node(p)) {
			if (free_rec)
				free_rec(p);
			continue;
		}
		if (n + 2 > cap) {
			ns = realloc(stack, 2 * cap * sizeof(*stack));
			if (!ns)
				break; /* leaks the rest rather than crash at exit */
			stack = ns;
			cap *= 2;
		}
		stack[n++] = as_node(p)->child[0];
		stack[n++] = as_node(p)->child[1];
		free(as_node(p));
	}
	free(stack);
}

void index_free(struct index *ix, void (*free_rec)(struct rec *))
{
	if (!ix)
		return;
	free_nodes(ix->root, free_rec);
	free(ix);
}
