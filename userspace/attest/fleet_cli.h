/* attest fleet: the shared options and the bucket walk (docs/fleet.md
 * section 7). */
#ifndef NEK_ATTEST_FLEET_CLI_H
#define NEK_ATTEST_FLEET_CLI_H

#include <jansson.h>
#include <stdbool.h>

#include "lib/attestation/att_verify.h"
#include "lib/fleet/fleet_conn.h"

#define FLEET_ROOTS_MAX 8

struct fleet_cli {
	struct fleet_opts o;
	const char *enclave; /* --enclave: a module id */
	const char *path;    /* --path */
	bool json;
	unsigned count;	     /* watch: stop after this many changes (0: never) */
	uint64_t timeout_ms; /* watch: stop after this long without one (0: never) */
	/* verify */
	const char *roots[FLEET_ROOTS_MAX];
	unsigned nroots;
	struct att_policy pol;
	struct fleet_conn c;
};

/* Calls cb for every current value (history: every revision) of the keys
 * matching pattern, in stream order; cb returns 0 to go on. The value is
 * parsed JSON (NULL when it is not). Returns 0 or -1 (error printed). */
typedef int (*fleet_walk_cb)(void *arg, const char *key, uint64_t rev, json_t *val);
int fleet_walk(kvStore *kv, const char *pattern, bool history, fleet_walk_cb cb, void *arg);
/* The key pattern of --enclave / --path ("*" tokens for what is not given). */
int fleet_pattern(const struct fleet_cli *f, char *out, size_t cap);
/* A bucket of the cluster (never created here). */
int fleet_cli_bucket(struct fleet_cli *f, const char *suffix, kvStore **kv);

int fleet_cmd_verify(struct fleet_cli *f);

#endif
