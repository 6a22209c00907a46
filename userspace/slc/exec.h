/* Commands run for clients (docs/slc-protocol.md §6): the server side of
 * EXEC streams, in exec.c. */
#ifndef SLC_EXEC_H
#define SLC_EXEC_H

#include "slc/server.h"

int sx_exec_start(struct srv *s, struct stream *st, const struct slc_frame *f);
/* STDIN, WINSIZE, SIGNAL. 0 or -1 (the connection was failed). */
int sx_exec_frame(struct sx_exec *e, const struct slc_frame *f);
/* The stream is gone (reset or connection closed): kill a waited-for
 * command's process group with SIGHUP and reap it later. */
void sx_exec_detach(struct sx_exec *e);
/* Server shutdown: forget every exec (their processes are not waited for). */
void sx_exec_forget_all(struct srv *s);

#endif
