/* Walking directory trees under the roots, a bounded number of entries per
 * call so the main loop keeps reading events during a scan. Directories are
 * opened beneath their root without following symlinks and without
 * crossing into other mounts. */
#ifndef NEK_ATTESTD_SCAN_H
#define NEK_ATTESTD_SCAN_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>

#include "attestd/attestd.h"

#define SCAN_DEPTH_MAX 1024

struct scanner;

struct scan_ops {
	/* A regular file (path is absolute). */
	void (*file)(void *arg, const struct ad_root *r, const char *path, size_t len,
		     const struct stat *st, const char *from);
	/* Whether to skip path (ignore patterns). */
	bool (*skip)(void *arg, const struct ad_root *r, const char *path, bool is_dir);
	/* A job finished (full: it was part of a full scan). */
	void (*done)(void *arg, bool full);
	void *arg;
};

struct scanner *scan_new(const struct scan_ops *ops);
void scan_free(struct scanner *sc);
/* Queues a walk of path (a directory under root r). from: for a directory
 * that was renamed, its old path (files get from + their relative path as
 * their rename source). full marks walks that belong to a full scan. */
int scan_queue(struct scanner *sc, const struct ad_root *r, const char *path, size_t len,
	       const char *from, bool full);
/* Drops every queued and running walk (a full rescan replaces them). */
void scan_cancel(struct scanner *sc);
/* Handles up to budget entries; returns true while work remains. */
bool scan_step(struct scanner *sc, unsigned budget);
bool scan_busy(const struct scanner *sc);
unsigned long scan_files_seen(const struct scanner *sc);

#endif
