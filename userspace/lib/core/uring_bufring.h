/* Provided-buffer rings for liburing 2.3, which has io_uring_register_buf_ring
 * but not the setup/free helpers that came in 2.4. Same semantics as those:
 * the ring memory is ours (mmap), registered with the kernel under bgid. */
#ifndef NEK_URING_BUFRING_H
#define NEK_URING_BUFRING_H

#include <liburing.h>

/* Returns the ring, or NULL with *err = -errno. All entries start empty. */
struct io_uring_buf_ring *uring_setup_buf_ring(struct io_uring *ring, unsigned nentries,
					       int bgid, int *err);
int uring_free_buf_ring(struct io_uring *ring, struct io_uring_buf_ring *br,
			unsigned nentries, int bgid);

#endif
