/* attestd: the attested file system; see docs/attestd.md.
 *
 * Threads: the main thread owns the index of records and every decision
 * (engine.c: fanotify events, scans, the dirty queue, the control socket);
 * hash workers look at files and digest them (work.c on lib/hashpool); one
 * database thread commits versions in batches (db.c); the attester makes
 * stored documents in the background (attester.c); HTTP threads serve the
 * API from their own read-only database connections (http.c, api.c); with
 * --enforce a thread reads permission events (enforce.c).
 */
#ifndef NEK_ATTESTD_H
#define NEK_ATTESTD_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "lib/core/addr.h"
#include "lib/core/privdrop.h"
#include "lib/digest/fdigest.h"

#define AD_MAX_ROOTS 8
#define AD_PATH_MAX 4096

struct ignore;
struct fleet_opts;

struct ad_root {
	char *path; /* canonical, no trailing slash (except "/") */
	size_t len;
	int fd;	    /* O_PATH|O_DIRECTORY */
	dev_t dev;
	bool tmpfs; /* the inode generation is read from the file handle */
};

/* Who besides root may send the control socket's requests that act on the
 * daemon (sync, wait): --control-uid, --control-gid. */
struct ad_ctl_allow {
	bool have_uid, have_gid;
	uid_t uid;
	gid_t gid;
};

/* Options of `attestd run`. */
struct ad_config {
	struct ad_root roots[AD_MAX_ROOTS];
	unsigned nroots;
	const char *db_path;
	struct ignore *ign;
	enum fdig_alg alg;
	unsigned workers;
	bool uring;
	bool have_listen, have_control;
	struct addr listen, control;
	struct ad_ctl_allow ctl_allow;
	unsigned http_threads;
	const char *nsm_spec; /* NULL: /dev/nsm if it exists */
	bool have_nsm;	      /* decided at start: an NSM is used */
	bool docs;
	bool enforce;
	uint64_t enforce_timeout_ms;
	uint64_t settle_ms;
	uint64_t rescan_ms;
	/* HTTP limits */
	unsigned max_conns;
	unsigned rate, burst;
	uint64_t deadline_ms, idle_ms;
	/* --user: dropped to once set up (attestd/privs.h) */
	bool has_user;
	struct privdrop_user user;
	bool no_seccomp; /* --no-seccomp: no filter on the API threads */
	struct fleet_opts *fleet; /* --fleet (docs/fleet.md), NULL when off */
};

/* What a version says about the file (one row of `versions`). */
enum ad_state {
	AD_NONE = 0, /* never recorded (or only deleted) */
	AD_PRESENT = 1,
	AD_DELETED = 2,
};

/* Why a path was looked at; becomes the version's cause. */
enum ad_cause {
	CAUSE_SCAN = 0,
	CAUSE_CREATE,
	CAUSE_WRITE,
	CAUSE_ATTRIB,
	CAUSE_RENAME,
	CAUSE_DELETE,
	CAUSE_REPLACED,
	CAUSE_ENFORCE,
	CAUSE_COUNT,
};
const char *ad_cause_name(enum ad_cause c);

/* The identity that decides whether a file changed. */
struct ad_stat {
	uint64_t ino, size;
	int64_t mtime_ns, ctime_ns;
	uint32_t gen;
};

/* A version as written to the database. */
struct ad_version {
	uint64_t seq;
	char *path;	 /* owned */
	char *from_path; /* owned, NULL unless a rename */
	enum ad_state state;
	enum ad_cause cause;
	enum fdig_alg alg;
	uint8_t digest[FDIG_DIGEST_MAX];
	struct ad_stat st;
	int64_t time_ms;
	uint8_t *leaves; /* owned, NULL for one leaf */
	uint64_t nleaves;
	uint64_t t_event_ns; /* when the event that led here was read (latency) */
};

/* Root helpers (paths.c). */
/* The root that path lies under (or is), or NULL. */
const struct ad_root *ad_root_of(const struct ad_config *cfg, const char *path, size_t len);
/* The path relative to its root ("" for the root itself). */
const char *ad_relpath(const struct ad_root *r, const char *path);
/* A well-formed absolute path: no empty, "." or ".." component, no
 * trailing slash, no NUL, at most AD_PATH_MAX bytes. */
bool ad_path_clean(const char *path, size_t len);
/* True when path (under root r) is ignored, checking each parent directory
 * first as git does. is_dir: the path itself is a directory. */
bool ad_ignored(const struct ad_config *cfg, const struct ad_root *r, const char *path,
		bool is_dir);

int64_t ad_now_ms(void);

#endif
