/* Provided-buffer ring setup missing from liburing 2.3; see uring_bufring.h. */
#include "lib/core/uring_bufring.h"

#include <errno.h>
#include <sys/mman.h>

struct io_uring_buf_ring *uring_setup_buf_ring(struct io_uring *ring, unsigned nentries,
					       int bgid, int *err)
{
	size_t len = nentries * sizeof(struct io_uring_buf);
	struct io_uring_buf_reg reg = { 0 };
	struct io_uring_buf_ring *br;
	int r;

	/* The kernel wants the ring page-aligned: mmap gives that. */
	br = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
	if (br == MAP_FAILED) {
		*err = -errno;
		return NULL;
	}
	reg.ring_addr = (unsigned long)br;
	reg.ring_entries = nentries;
	reg.bgid = (unsigned short)bgid;
	r = io_uring_register_buf_ring(ring, &reg, 0);
	if (r < 0) {
		munmap(br, len);
		*err = r;
		return NULL;
	}
	io_uring_buf_ring_init(br);
	return br;
}

int uring_free_buf_ring(struct io_uring *ring, struct io_uring_buf_ring *br,
			unsigned nentries, int bgid)
{
	int r = io_uring_unregister_buf_ring(ring, bgid);

	munmap(br, nentries * sizeof(struct io_uring_buf));
	return r;
}
