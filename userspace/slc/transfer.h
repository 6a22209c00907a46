/* Tree transfers (docs/slc-protocol.md §7), the same code on both sides: the
 * sender walks a tree and streams ENTRY/DATA/FILE_END/DIR_END frames; the
 * receiver lands them below a directory, each file atomically after its
 * digest checks. */
#ifndef SLC_XFER_H
#define SLC_XFER_H

#include <dirent.h>
#include <stdint.h>
#include <sys/stat.h>

#include "slc/conn.h"
#include "slc/digest.h"

struct slc_xsend;
struct slc_xrecv;

struct slc_xsend {
	struct slc_conn *c;
	uint32_t stream;
	int alg;
	struct slc_waiter w;
	/* Called once XFER_END is queued (err 0) or the walk failed (-errno,
	 * after an ERROR was sent). */
	void (*ended)(struct slc_xsend *x, int err);
	void *owner;

	DIR *dirs[SLC_DEPTH_MAX];
	int depth;
	int top_fd;	/* the top, until its ENTRY is sent */
	char top_name[SLC_NAME_MAX + 1];
	int fd;		/* the file being sent, or -1 */
	char name[SLC_NAME_MAX + 1];
	uint64_t size, off;
	int sparse;
	uint64_t data_end; /* end of the current data extent (sparse files) */
	struct slc_digest dg;
	int finished;
	struct slc_done st;
	void (*progress)(void *owner, uint64_t bytes);
};

/* Starts sending the tree rooted at fd (a file or directory opened for
 * reading; the sender owns it) under the given name. */
int slc_xsend_start(struct slc_xsend *x, struct slc_conn *c, uint32_t stream, int fd,
		    const char *name, int alg);
/* Stops (the stream was reset or the connection is gone); frees everything. */
void slc_xsend_abort(struct slc_xsend *x);

struct slc_xrecv {
	struct slc_conn *c;
	uint32_t stream;
	int strip_suid;
	int alg;
	int dirs[SLC_DEPTH_MAX + 1]; /* dirs[0]: where the top lands */
	uint32_t dmode[SLC_DEPTH_MAX + 1];
	uint8_t dkept[SLC_DEPTH_MAX + 1]; /* existed before: mode and mtime stay */
	struct timespec dtime[SLC_DEPTH_MAX + 1];
	int depth;
	unsigned skip;	   /* depth of a directory subtree being skipped */
	/* The name the top entry lands under, whatever the sender calls it;
	 * "" = the sender's (only where the sender may name things: a server
	 * receiving an upload into a directory). */
	char top_name[SLC_NAME_MAX + 1];
	int got_top;
	int fd;		   /* the file being written, or -1 */
	int file_failed;   /* the current file is being discarded */
	char name[SLC_NAME_MAX + 1];
	char tmp[32];
	uint64_t tmp_seed;
	uint32_t tmp_count;
	uint32_t umask;
	struct slc_entry cur;
	uint64_t end;
	struct slc_digest dg;
	struct slc_done st;
	int ended;
	void (*progress)(void *owner, uint64_t bytes);
	void *owner;
};

/* Lands below dirfd (owned by the receiver). top_name NULL or "" keeps the
 * sender's name for the top entry: a client always names it, so a server
 * never chooses what lands in the client's directory. */
int slc_xrecv_init(struct slc_xrecv *x, struct slc_conn *c, uint32_t stream, int dirfd,
		   const char *top_name, int alg);
/* One sender frame. Returns 0 to go on, 1 when the transfer is complete (DONE
 * queued), -1 when it failed (ERROR queued; call slc_xrecv_abort). */
int slc_xrecv_frame(struct slc_xrecv *x, const struct slc_frame *f);
/* Removes the partial file, closes everything. */
void slc_xrecv_abort(struct slc_xrecv *x);

/* Errors after which no later file can land either. */
int slc_xfer_fatal(int err);

#endif
