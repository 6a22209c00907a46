/* The main thread of attestd: owns the index, reads fanotify events, runs
 * scans, hands dirty paths to the workers, turns their results into
 * versions, and answers the control socket and permission events. */
#ifndef NEK_ATTESTD_ENGINE_H
#define NEK_ATTESTD_ENGINE_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "attestd/attestd.h"
#include "lib/core/evloop.h"

struct engine;
struct rec;

/* Runs attestd until SIGTERM/SIGINT; returns the exit code. */
int engine_main(struct ad_config *cfg);

/* For ctl.c and enforce.c (main thread only). */
/* Reads every queued fanotify event now. */
void engine_drain_events(struct engine *e);
/* Nothing dirty, settling, in flight, scanning or uncommitted. */
bool engine_idle(const struct engine *e);
bool engine_scanning(const struct engine *e);
/* Whether path is one attestd records (under a root, not ignored, not its
 * own database). Uses only what is fixed at start: any thread may ask. */
bool engine_recordable(const struct engine *e, const char *path, size_t len);
/* The rec of path, NULL if none. */
struct rec *engine_rec(struct engine *e, const char *path, size_t len);
/* Whether rec's newest version is committed and no look is pending. */
bool engine_rec_settled(const struct engine *e, const struct rec *r);
/* Makes path dirty at the front of the queue (an open waits for it).
 * Returns its rec, or NULL when the path is not one attestd records. */
struct rec *engine_urgent(struct engine *e, const char *path, size_t len);
/* The rec may be freed once nothing refers to it. */
void engine_release(struct engine *e, struct rec *r);
void engine_status(struct engine *e, char *buf, size_t len);
void engine_metrics(struct engine *e, FILE *f);
struct ev_loop *engine_loop(struct engine *e);

#endif
