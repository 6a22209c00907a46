/* Looking at one path on a hash worker (docs/attestd.md section 2, "Looking
 * at a file"): open it beneath its root without following symlinks, stat
 * it, and digest it unless it is unchanged; read it again if it changed
 * while it was read. */
#ifndef NEK_ATTESTD_WORK_H
#define NEK_ATTESTD_WORK_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>

#include "attestd/attestd.h"
#include "lib/digest/hashpool.h"

#define WORK_RETRIES 8

enum work_result {
	W_GONE,	    /* missing, or a symlink or other mount on the way */
	W_DIR,	    /* a directory */
	W_OTHER,    /* a symlink, fifo, socket or device */
	W_SAME,	    /* unchanged since the record */
	W_HASHED,   /* digested */
	W_UNSTABLE, /* kept changing while it was read */
	W_ERROR,    /* could not be read (err) */
};

struct rec;

struct work {
	struct hpool_task t;
	struct rec *rec;
	const char *path; /* rec->path: immutable while in flight */
	const struct ad_root *root;
	/* in */
	bool have_old, force;
	struct ad_stat old;
	enum fdig_alg alg;
	enum ad_cause cause; /* for the engine: why it was looked at */
	char *from;	     /* owned: rename source */
	/* out */
	enum work_result res;
	int err;
	struct ad_stat st;
	uint8_t digest[FDIG_DIGEST_MAX];
	uint8_t *leaves;
	uint64_t nleaves;
	unsigned rereads;
	/* completion */
	void (*done)(struct work *w, void *arg);
	void *done_arg;
	struct work *next;
};

/* The hpool task body. */
void work_run(struct hpool_worker *hw, struct hpool_task *t);

bool ad_stat_equal(const struct ad_stat *a, const struct ad_stat *b);
/* The identity of a stat result (gen is not in struct stat: 0). */
void ad_stat_from(struct ad_stat *out, const struct stat *st);

#endif
