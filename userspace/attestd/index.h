/* The main thread's index of records: path -> struct rec, a crit-bit tree so
 * that everything under a directory can be found in O(subtree) when the
 * directory is deleted or renamed, and iteration is in byte order. */
#ifndef NEK_ATTESTD_INDEX_H
#define NEK_ATTESTD_INDEX_H

#include <stddef.h>
#include <stdint.h>

#include "attestd/attestd.h"

/* One path the daemon knows: its current record (state, seq, identity,
 * digest) and its place in the work queues. */
struct rec {
	char *path; /* NUL-terminated, immutable while the rec lives */
	size_t plen;

	enum ad_state state; /* of the newest version assigned (committed or not) */
	uint64_t seq;
	struct ad_stat st;
	enum fdig_alg alg;
	uint8_t digest[FDIG_DIGEST_MAX];

	/* work state (engine.c) */
	uint8_t queued;	  /* on the dirty FIFO */
	uint8_t inflight; /* a worker is looking at it */
	uint8_t again;	  /* dirtied while in flight: look again after */
	uint8_t in_dlist; /* on the settle list */
	uint8_t settle;	  /* the settle entry is still wanted */
	uint8_t urgent;	  /* an open waits for it (enforcement) */
	uint8_t tries;	  /* consecutive unstable/error results */
	uint8_t cause;	  /* enum ad_cause of the pending look */
	char *from_path;  /* rename source for the pending look */
	uint32_t scan_epoch;
	uint32_t holds;	  /* permission events waiting for it */
	uint64_t due_ns;
	uint64_t t_event_ns;
	struct rec *qnext, *dnext;
};

struct index;

struct index *index_new(void);
/* Frees the tree; free_rec is called for every rec still in it. */
void index_free(struct index *ix, void (*free_rec)(struct rec *));
size_t index_count(const struct index *ix);
struct rec *index_get(const struct index *ix, const char *path, size_t len);
/* Inserts r (keyed by r->path); -1 if the path is there already or out of
 * memory. */
int index_put(struct index *ix, struct rec *r);
void index_del(struct index *ix, struct rec *r);
/* Calls fn for every rec whose path starts with the len bytes of prefix,
 * in byte order. fn must not insert or delete. Returns 0 or -1 (ENOMEM). */
int index_walk(struct index *ix, const char *prefix, size_t len,
	       void (*fn)(struct rec *r, void *arg), void *arg);

#endif
