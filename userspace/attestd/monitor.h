/* The fanotify monitor: one FID-mode group with a filesystem mark per
 * filesystem holding a root; events are decoded into paths (docs/attestd.md
 * section 2). */
#ifndef NEK_ATTESTD_MONITOR_H
#define NEK_ATTESTD_MONITOR_H

#include <stddef.h>
#include <stdint.h>

#include "attestd/attestd.h"

/* The 6.1 uapi headers lack these (values from the kernel's fanotify.h). */
#ifndef FAN_RENAME
#define FAN_RENAME 0x10000000
#endif
#ifndef FAN_EVENT_INFO_TYPE_OLD_DFID_NAME
#define FAN_EVENT_INFO_TYPE_OLD_DFID_NAME 10
#define FAN_EVENT_INFO_TYPE_NEW_DFID_NAME 12
#endif
#ifndef FAN_REPORT_TARGET_FID
#define FAN_REPORT_TARGET_FID 0x00001000
#endif

struct monitor;

/* One decoded event. path is absolute (the object; for a rename the old
 * name), path2 the new name of a rename (else NULL). Either may lie outside
 * the roots; the engine filters. */
struct mon_event {
	uint64_t mask;
	const char *path, *path2;
	size_t len, len2;
};

struct mon_stats {
	uint64_t events, overflows, unresolved, cache_hits, cache_misses;
};

/* Initialises the group and marks the filesystem of every root. */
struct monitor *mon_open(const struct ad_config *cfg, char *err, size_t errlen);
void mon_close(struct monitor *m);
int mon_fd(const struct monitor *m);
/* Reads what is queued (at most max_events) and calls cb for each event; a
 * queue overflow is passed as mask FAN_Q_OVERFLOW with NULL paths. Returns
 * the number of events, 0 when none was queued, or -errno. */
int mon_read(struct monitor *m, unsigned max_events,
	     void (*cb)(void *arg, const struct mon_event *ev), void *arg);
/* Forgets every cached directory path (a directory moved or went away). */
void mon_forget_dirs(struct monitor *m);
void mon_get_stats(const struct monitor *m, struct mon_stats *st);

#endif
