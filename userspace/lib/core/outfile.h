/* Writing a program's output file (-o PATH) by one rule:
 *
 *   "-"                       standard output
 *   a missing path, or a      a temporary beside it, renamed over it on
 *   regular file (also one     success: readers see the old file or the
 *   reached by a symlink)      whole new one, never a part; the symlink stays
 *   a char device, a fifo,    written through (opened and truncated), never
 *   a symlink to one           replaced: -o /dev/stdout, -o /dev/null and
 *                              -o FIFO do what they say
 *   a directory, a socket     refused
 *
 * A writer that seeks back (eif build patches headers) asks for a seekable
 * fd; when the target is not a regular file the data then goes to an
 * anonymous temporary in $TMPDIR and is copied to the target at commit. */
#ifndef NEK_OUTFILE_H
#define NEK_OUTFILE_H

#include <stddef.h>

enum { OUTFILE_SEEKABLE = 1 };

struct outfile {
	int fd;		 /* write here */
	int target_fd;	 /* write-through target, or -1 */
	int close_target;
	char *tmp;	 /* rename mode: the temporary's path */
	char *dest;	 /* rename mode: the path it replaces */
	char *name;	 /* the path as given, for messages */
};

/* Opens path for writing by the rule above. 0, or -1 with a one-line error
 * naming path in err. */
int outfile_open(struct outfile *o, const char *path, int flags, char *err, size_t errlen);
/* Lands the output (rename, or copy to the target) and closes everything.
 * -1 with a message on failure, after which the target is unchanged in
 * rename mode. o is reset either way. */
int outfile_commit(struct outfile *o, char *err, size_t errlen);
/* Drops the output: the temporary is removed, the target left alone. */
void outfile_abort(struct outfile *o);

#endif
