/* A bounded pool of hashing threads that read files through io_uring and
 * digest them as chunk trees (fdigest.h); see docs/file-digest.md "Engine".
 *
 * Callers submit tasks; a task's run() executes on a worker and may call
 * hpool_digest() to digest an open file. A file of more than one leaf is
 * shared: idle workers hash its leaves too, so one large file uses every
 * worker. Memory is fixed per worker (two read buffers), plus the leaf list
 * of each file being digested (32 or 48 bytes per MiB).
 *
 * Without io_uring (disabled by sysctl or seccomp) workers read with pread.
 */
#ifndef NEK_HASHPOOL_H
#define NEK_HASHPOOL_H

#include <stdbool.h>
#include <stdint.h>

#include "lib/digest/fdigest.h"

#define HPOOL_MAX_WORKERS 256
#define HPOOL_SEG (256u << 10) /* bytes per read */

struct hpool;
struct hpool_worker;

struct hpool_task {
	void (*run)(struct hpool_worker *w, struct hpool_task *t);
	struct hpool_task *next; /* private */
};

struct hpool_stats {
	uint64_t files;	       /* hpool_digest calls that succeeded */
	uint64_t bytes;	       /* bytes hashed */
	uint64_t shared_leaves; /* leaves hashed by a worker helping another */
};

/* workers 0: one per online CPU. use_uring false: pread only. Returns 0 or
 * -errno. */
int hpool_new(struct hpool **out, unsigned workers, bool use_uring);
/* Stops the workers once the tasks they are running return; tasks still
 * queued are not run (their owner frees them). */
void hpool_free(struct hpool *p);
unsigned hpool_workers(const struct hpool *p);
/* True when the workers read through io_uring. */
bool hpool_uses_uring(const struct hpool *p);

/* Queues a task (FIFO), or at the front when urgent. */
void hpool_submit(struct hpool *p, struct hpool_task *t, bool urgent);
/* Queues n tasks in order under one lock, waking as many workers. */
void hpool_submit_many(struct hpool *p, struct hpool_task **t, unsigned n, bool urgent);

/* From a task's run(): digests the first size bytes of fd, which must not
 * end earlier (-EAGAIN: the file shrank while it was read). On success
 * returns 0 with the digest, and for files of more than one leaf a malloc'd
 * leaf list in *leaves (NULL otherwise; leaves may be NULL if unwanted) and
 * their count in *nleaves. Other errors: -errno. */
int hpool_digest(struct hpool_worker *w, int fd, uint64_t size, enum fdig_alg alg,
		 uint8_t *digest, uint8_t **leaves, uint64_t *nleaves);

unsigned hpool_worker_index(const struct hpool_worker *w);
void hpool_get_stats(struct hpool *p, struct hpool_stats *st);

#endif
