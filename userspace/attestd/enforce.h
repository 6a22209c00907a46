/* --enforce (docs/attestd.md section 7): a second fanotify group, in fd mode
 * because permission events cannot be FID-mode, with FAN_OPEN_PERM and
 * FAN_OPEN_EXEC_PERM on the roots' file systems. A thread reads the events
 * and answers at once what needs no record (our own opens, paths outside
 * the roots or ignored, non-regular or empty files); the rest goes to the
 * main thread, which owns the records: it allows an open whose file matches
 * its committed current record, and otherwise makes the path urgent and
 * holds the open until the record is current or the timeout passes. */
#ifndef NEK_ATTESTD_ENFORCE_H
#define NEK_ATTESTD_ENFORCE_H

#include <stddef.h>
#include <stdint.h>

struct engine;
struct ad_config;
struct enforcer;

/* Opens the permission-class group and marks the roots (needs
 * CAP_SYS_ADMIN: before the drop); starts no thread. */
struct enforcer *enforce_start(struct engine *e, const struct ad_config *cfg, char *err,
			       size_t errlen);
/* Starts the thread that reads the permission events. */
int enforce_run(struct enforcer *en, char *err, size_t errlen);
/* Allows every held open, stops the thread, closes the group. */
void enforce_stop(struct enforcer *en);
/* Main thread: readable when opens wait to be decided. */
int enforce_fd(const struct enforcer *en);
/* Main thread: takes the queued opens and decides or holds them. */
void enforce_take(struct enforcer *en);
/* Main thread: re-decides held opens (after results, commits, time). */
void enforce_tick(struct enforcer *en);
/* Milliseconds until the next held open times out (1000 if none). */
uint64_t enforce_next_ms(const struct enforcer *en);

#endif
