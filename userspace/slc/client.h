/* slc client side: connect, handshake, and the run and cp commands. */
#ifndef SLC_CLIENT_H
#define SLC_CLIENT_H

#include <stdint.h>

#include "lib/core/addr.h"
#include "slc/attest.h"

/* Exit status of `slc run` when slc itself failed (like ssh). */
#define SLC_RUN_FAIL 255

struct slc_cli_opts {
	struct addr addr;
	int insecure;
	const char *key_path;
	const char *server_key_path;
	struct slc_policy policy;
	int attest; /* a policy was given: require an attestation document */
	int wait_ms;
	int backend;
	/* run */
	int tty, fwd_stdin, nowait, shell;
	uint32_t timeout_ms;
	char **env;
	unsigned nenv;
	const char *cwd;
	char **argv;
	/* cp */
	int json, sha256;
	int as_is; /* upstream send-dir/recv-dir: DST is the top itself */
	char **srcs;
	unsigned nsrcs;
	const char *dst;
};

int slc_run(const struct slc_cli_opts *o);
int slc_cp(const struct slc_cli_opts *o);

#endif
