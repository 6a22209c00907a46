/* attestd's side of the fleet (docs/fleet.md): the --fleet options and the
 * publisher thread that drains the outbox into JetStream. */
#ifndef NEK_ATTESTD_FLEET_H
#define NEK_ATTESTD_FLEET_H

#include <stddef.h>
#include <stdio.h>

#include "attestd/attestd.h"

struct db;

enum {
	AD_OPT_FLEET = 0x200,
	AD_OPT_FLEET_CREDS,
	AD_OPT_FLEET_CA,
	AD_OPT_FLEET_PREFIX,
	AD_OPT_FLEET_REPLICAS,
	AD_OPT_FLEET_HISTORY,
	AD_OPT_FLEET_TLS_NAME,
	AD_OPT_FLEET_COMPAT, /* the last */
};

/* One --fleet* option (arg may be NULL); CLI_OK or CLI_USAGE. */
int fleet_opt(int c, const char *arg, struct ad_config *cfg);
/* After parsing: --fleet-* without --fleet is a usage error. */
int fleet_opts_check(struct ad_config *cfg);
void fleet_opts_release(struct ad_config *cfg);

struct fleet_pub;

/* Reads the enclave identity from the NSM and turns the outbox on (before
 * db_start). Returns NULL with err. Nothing here touches the network. */
struct fleet_pub *fleet_pub_new(const struct ad_config *cfg, struct db *db, char *err,
				size_t errlen);
/* Starts the publisher thread (after db_start). */
int fleet_pub_start(struct fleet_pub *p, char *err, size_t errlen);
/* New outbox rows are committed: an idle publisher looks now rather than at
 * its next poll (NULL is fine; called from the main loop). */
void fleet_pub_kick(struct fleet_pub *p);
/* Stops the thread, closes the connection and frees p (NULL is fine). */
void fleet_pub_free(struct fleet_pub *p);

/* The fleet's lines of /metrics (nothing when no publisher ever ran). */
void fleet_metrics_write(FILE *f);

#endif
