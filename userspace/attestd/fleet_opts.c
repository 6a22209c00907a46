/* The --fleet options of `attestd run`; see fleet.h. */
#include <stdlib.h>

#include "attestd/fleet.h"
#include "lib/core/cli.h"
#include "lib/core/parse.h"
#include "lib/fleet/fleet_conn.h"

static struct fleet_opts *opts_of(struct ad_config *cfg)
{
	if (!cfg->fleet && (cfg->fleet = malloc(sizeof(*cfg->fleet))))
		fleet_opts_init(cfg->fleet);
	return cfg->fleet;
}

static int count(const char *name, const char *arg, uint64_t max, unsigned *out)
{
	char err[PARSE_ERR_MAX];
	uint64_t v;

	if (parse_u64(arg, 1, max, &v, err, sizeof(err)) < 0)
		return cli_usage_error("--%s: %s", name, err);
	*out = (unsigned)v;
	return CLI_OK;
}

int fleet_opt(int c, const char *arg, struct ad_config *cfg)
{
	struct fleet_opts *o = opts_of(cfg);
	char err[512];
	int rc = 0;

	if (!o)
		return cli_fail("out of memory");
	switch (c) {
	case AD_OPT_FLEET:
		if ((rc = fleet_opts_urls(o, arg, err, sizeof(err))) < 0)
			return cli_usage_error("--fleet: %s", err);
		return CLI_OK;
	case AD_OPT_FLEET_CREDS:
		rc = fleet_opts_creds(o, arg, err, sizeof(err));
		break;
	case AD_OPT_FLEET_CA:
		rc = fleet_opts_ca(o, arg, err, sizeof(err));
		break;
	case AD_OPT_FLEET_PREFIX:
		if (fleet_opts_prefix(o, arg, err, sizeof(err)) < 0)
			return cli_usage_error("--fleet-prefix %s", err);
		return CLI_OK;
	case AD_OPT_FLEET_TLS_NAME:
		if (fleet_opts_tls_name(o, arg, err, sizeof(err)) < 0)
			return cli_usage_error("--fleet-tls-name %s", err);
		return CLI_OK;
	case AD_OPT_FLEET_REPLICAS:
		return count("fleet-replicas", arg, 5, &o->replicas);
	case AD_OPT_FLEET_HISTORY:
		return count("fleet-history", arg, 64, &o->history);
	case AD_OPT_FLEET_COMPAT:
		o->compat = true;
		return CLI_OK;
	default:
		return cli_usage_error("unknown fleet option");
	}
	if (rc < 0) {
		cli_fail("--%s %s", c == AD_OPT_FLEET_CREDS ? "fleet-creds" : "fleet-tls-ca", err);
		return CLI_USAGE;
	}
	return CLI_OK;
}

int fleet_opts_check(struct ad_config *cfg)
{
	char name[FLEET_TLS_NAME_MAX + 1], err[600];

	if (cfg->fleet && cfg->fleet->nurls == 0)
		return cli_usage_error("--fleet-* options need --fleet URL");
	if (cfg->fleet && cfg->fleet->tls_name && !cfg->fleet->ca_pem)
		return cli_usage_error("--fleet-tls-name needs --fleet-tls-ca");
	if (cfg->fleet && cfg->fleet->ca_pem &&
	    fleet_tls_name(cfg->fleet, name, sizeof(name), err, sizeof(err)) < 0)
		return cli_usage_error("--fleet-tls-ca: %s", err);
	return CLI_OK;
}

void fleet_opts_release(struct ad_config *cfg)
{
	if (!cfg->fleet)
		return;
	fleet_opts_free(cfg->fleet);
	free(cfg->fleet);
	cfg->fleet = NULL;
}
