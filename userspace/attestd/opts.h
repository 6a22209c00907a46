/* The options of `attestd run` (docs/attestd.md section 1). */
#ifndef NEK_ATTESTD_OPTS_H
#define NEK_ATTESTD_OPTS_H

#include <getopt.h>

#include "attestd/attestd.h"

#define AD_RUN_USAGE                                                                       \
	"run --root DIR [--root DIR]... --db FILE [OPTIONS]\n"                             \
	"\n"                                                                               \
	"Watches every DIR (fanotify filesystem marks), digests each regular file in\n"    \
	"them, records every version in the SQLite database FILE, and serves the API.\n"   \
	"  --root DIR            a tree to attest (up to 8, not nested)\n"                 \
	"  --db FILE             the database (created if missing)\n"                      \
	"  --ignore FILE         ignore patterns in gitignore syntax; repeatable\n"        \
	"  --alg A               sha256 (default) or sha384\n"                             \
	"  --workers N           hashing threads (default: one per CPU)\n"                 \
	"  --no-uring            read files with pread instead of io_uring\n"              \
	"  --control ADDR        control socket, e.g. unix:/run/attestd.sock\n"            \
	"  --control-uid U, --control-gid G\n"                                              \
	"                        besides root, this user or group may send sync and wait\n" \
	"  --settle D            hash a file modified but not closed after D (default 1s)\n" \
	"  --rescan-interval D   also rescan every D (default: only at start and overflow)\n" \
	"  --listen ADDR         serve the HTTPS API (tcp:HOST:PORT, vsock:CID:PORT, unix:PATH)\n" \
	"  --http-threads N      API threads (default: CPUs, at most 4)\n"                 \
	"  --nsm SPEC            /dev/nsm (default, if present) or emu:DIR (the emulator)\n" \
	"  --no-docs             no stored document per version (fresh ones still served)\n" \
	"  --max-conns N         API connections at once (default 256)\n"                 \
	"  --rate N, --burst N   requests per second per client (50) and burst (100)\n"    \
	"  --deadline D          a request must arrive within D (default 10s)\n"          \
	"  --idle D              idle connections close after D (default 30s)\n"          \
	"  --enforce             refuse open/exec of files without a current record\n"     \
	"  --enforce-timeout D   how long such an open may wait for it (default 2s)\n"     \
	"  --user USER           once set up, run as USER: the API threads with no\n"      \
	"                        capability, the monitor with CAP_DAC_READ_SEARCH only\n"  \
	"                        (docs/privileges.md); the API threads also run under a\n" \
	"                        seccomp allow-list\n"                                    \
	"  --no-seccomp          with --user: no seccomp filter on the API threads\n"     \
	"  --fleet URL[,URL]...  also publish every version to NATS JetStream (docs/fleet.md)\n" \
	"  --fleet-creds FILE    NATS .creds file, or a USER:PASSWORD or token line\n"     \
	"  --fleet-tls-ca PEM    TLS to the cluster, verified against these CAs\n"         \
	"  --fleet-tls-name N    the name the servers' certificates must hold (default:\n" \
	"                        the URLs' one host)\n"                                    \
	"  --fleet-prefix P      bucket name prefix (default nek_)\n"                      \
	"  --fleet-replicas N, --fleet-history N\n"                                        \
	"                        of buckets attestd creates (default 3 and 64)\n"          \
	"  --fleet-compat        also write upstream's fs_hashes and fs_att_docs\n"        \
	"\n"                                                                               \
	"SIGTERM/SIGINT finish work in flight and exit 0. Exit status 1: the database,\n"  \
	"a root or fanotify is unusable; 2: usage error.\n"

extern const struct option ad_run_longopts[];

void ad_config_defaults(struct ad_config *cfg);
/* One option other than --root; returns CLI_OK or CLI_USAGE. */
int ad_run_opt(int c, struct ad_config *cfg);

#endif
