/* Parsing `attestd run` options; see opts.h. */
#include "attestd/opts.h"

#include <grp.h>
#include <pwd.h>
#include <string.h>
#include <unistd.h>

#include "attestd/fleet.h"
#include "attestd/ignore.h"
#include "lib/core/cli.h"
#include "lib/core/parse.h"

const struct option ad_run_longopts[] = {
	{ "root", required_argument, NULL, 'r' },
	{ "db", required_argument, NULL, 'D' },
	{ "ignore", required_argument, NULL, 'i' },
	{ "alg", required_argument, NULL, 'a' },
	{ "workers", required_argument, NULL, 'w' },
	{ "no-uring", no_argument, NULL, 'U' },
	{ "control", required_argument, NULL, 'c' },
	{ "control-uid", required_argument, NULL, 'u' },
	{ "control-gid", required_argument, NULL, 'g' },
	{ "settle", required_argument, NULL, 's' },
	{ "rescan-interval", required_argument, NULL, 'R' },
	{ "listen", required_argument, NULL, 'l' },
	{ "http-threads", required_argument, NULL, 'T' },
	{ "nsm", required_argument, NULL, 'n' },
	{ "no-docs", no_argument, NULL, 'N' },
	{ "max-conns", required_argument, NULL, 'm' },
	{ "rate", required_argument, NULL, 'q' },
	{ "burst", required_argument, NULL, 'b' },
	{ "deadline", required_argument, NULL, 'd' },
	{ "idle", required_argument, NULL, 'I' },
	{ "enforce", no_argument, NULL, 'E' },
	{ "enforce-timeout", required_argument, NULL, 'e' },
	{ "user", required_argument, NULL, 'P' },
	{ "no-seccomp", no_argument, NULL, 'Z' },
	{ "fleet", required_argument, NULL, AD_OPT_FLEET },
	{ "fleet-creds", required_argument, NULL, AD_OPT_FLEET_CREDS },
	{ "fleet-tls-ca", required_argument, NULL, AD_OPT_FLEET_CA },
	{ "fleet-tls-name", required_argument, NULL, AD_OPT_FLEET_TLS_NAME },
	{ "fleet-prefix", required_argument, NULL, AD_OPT_FLEET_PREFIX },
	{ "fleet-replicas", required_argument, NULL, AD_OPT_FLEET_REPLICAS },
	{ "fleet-history", required_argument, NULL, AD_OPT_FLEET_HISTORY },
	{ "fleet-compat", no_argument, NULL, AD_OPT_FLEET_COMPAT },
	CLI_COMMON_LONGOPTS,
	{ NULL, 0, NULL, 0 },
};

void ad_config_defaults(struct ad_config *cfg)
{
	long online = sysconf(_SC_NPROCESSORS_ONLN);

	memset(cfg, 0, sizeof(*cfg));
	cfg->alg = FDIG_SHA256;
	cfg->uring = true;
	cfg->settle_ms = 1000;
	cfg->docs = true;
	cfg->http_threads = online < 1 ? 1 : online > 4 ? 4 : (unsigned)online;
	cfg->max_conns = 256;
	cfg->rate = 50;
	cfg->burst = 100;
	cfg->deadline_ms = 10000;
	cfg->idle_ms = 30000;
	cfg->enforce_timeout_ms = 2000;
}

static int opt_duration(const char *name, uint64_t min, uint64_t *out)
{
	char err[PARSE_ERR_MAX];

	if (parse_duration_ms(optarg, min, 86400000, out, err, sizeof(err)) < 0)
		return cli_usage_error("--%s: %s", name, err);
	return CLI_OK;
}

static int opt_count(const char *name, uint64_t min, uint64_t max, unsigned *out)
{
	char err[PARSE_ERR_MAX];
	uint64_t v;

	if (parse_u64(optarg, min, max, &v, err, sizeof(err)) < 0)
		return cli_usage_error("--%s: %s", name, err);
	*out = (unsigned)v;
	return CLI_OK;
}

static int opt_listen(struct ad_config *cfg)
{
	char err[ADDR_ERR_MAX];

	if (addr_parse(optarg, &cfg->listen, err, sizeof(err)) < 0)
		return cli_usage_error("--listen: %s", err);
	cfg->have_listen = true;
	return CLI_OK;
}

/* A user or group by name, or a number (which need not exist here). */
static int opt_id(const char *name, bool group, uint32_t *out)
{
	char err[PARSE_ERR_MAX];
	uint64_t v;

	if (parse_u64(optarg, 0, UINT32_MAX - 1, &v, err, sizeof(err)) == 0) {
		*out = (uint32_t)v;
		return CLI_OK;
	}
	if (group) {
		struct group *g = getgrnam(optarg);

		if (g) {
			*out = g->gr_gid;
			return CLI_OK;
		}
	} else {
		struct passwd *pw = getpwnam(optarg);

		if (pw) {
			*out = pw->pw_uid;
			return CLI_OK;
		}
	}
	return cli_usage_error("--%s '%s': no such %s and not a number", name, optarg,
			       group ? "group" : "user");
}

static int opt_user(struct ad_config *cfg)
{
	char err[PRIVDROP_ERR_MAX];

	if (privdrop_lookup(optarg, &cfg->user, err, sizeof(err)) < 0)
		return cli_usage_error("%s", err);
	cfg->has_user = true;
	return CLI_OK;
}

static int opt_ignore(struct ad_config *cfg)
{
	char err[512];

	if (!cfg->ign && !(cfg->ign = ignore_new()))
		return cli_fail("out of memory");
	if (ignore_load(cfg->ign, optarg, err, sizeof(err)) < 0) {
		cli_fail("--ignore %s", err);
		return CLI_USAGE;
	}
	return CLI_OK;
}

int ad_run_opt(int c, struct ad_config *cfg)
{
	char err[PARSE_ERR_MAX > ADDR_ERR_MAX ? PARSE_ERR_MAX : ADDR_ERR_MAX];
	uint32_t id;
	uint64_t v;

	switch (c) {
	case 'D':
		cfg->db_path = optarg;
		return CLI_OK;
	case 'i':
		return opt_ignore(cfg);
	case 'a':
		if (fdig_alg_parse(optarg, &cfg->alg) < 0)
			return cli_usage_error("--alg '%s': sha256 or sha384", optarg);
		return CLI_OK;
	case 'w':
		if (parse_u64(optarg, 1, 256, &v, err, sizeof(err)) < 0)
			return cli_usage_error("--workers: %s", err);
		cfg->workers = (unsigned)v;
		return CLI_OK;
	case 'U':
		cfg->uring = false;
		return CLI_OK;
	case 'c':
		if (addr_parse_as(optarg, ADDR_UNIX, &cfg->control, err, sizeof(err)) < 0)
			return cli_usage_error("--control: %s", err);
		cfg->have_control = true;
		return CLI_OK;
	case 'u':
		if (opt_id("control-uid", false, &id) != CLI_OK)
			return CLI_USAGE;
		cfg->ctl_allow.have_uid = true;
		cfg->ctl_allow.uid = (uid_t)id;
		return CLI_OK;
	case 'g':
		if (opt_id("control-gid", true, &id) != CLI_OK)
			return CLI_USAGE;
		cfg->ctl_allow.have_gid = true;
		cfg->ctl_allow.gid = (gid_t)id;
		return CLI_OK;
	case 's':
		return opt_duration("settle", 10, &cfg->settle_ms);
	case 'R':
		return opt_duration("rescan-interval", 1000, &cfg->rescan_ms);
	case 'l':
		return opt_listen(cfg);
	case 'T':
		return opt_count("http-threads", 1, 16, &cfg->http_threads);
	case 'n':
		cfg->nsm_spec = optarg;
		return CLI_OK;
	case 'N':
		cfg->docs = false;
		return CLI_OK;
	case 'm':
		return opt_count("max-conns", 1, 65536, &cfg->max_conns);
	case 'q':
		return opt_count("rate", 1, 1000000, &cfg->rate);
	case 'b':
		return opt_count("burst", 1, 1000000, &cfg->burst);
	case 'd':
		return opt_duration("deadline", 100, &cfg->deadline_ms);
	case 'I':
		return opt_duration("idle", 100, &cfg->idle_ms);
	case 'E':
		cfg->enforce = true;
		return CLI_OK;
	case 'e':
		return opt_duration("enforce-timeout", 1, &cfg->enforce_timeout_ms);
	case 'P':
		return opt_user(cfg);
	case 'Z':
		cfg->no_seccomp = true;
		return CLI_OK;
	default:
		if (c >= AD_OPT_FLEET && c <= AD_OPT_FLEET_COMPAT)
			return fleet_opt(c, optarg, cfg);
		return cli_common_opt(c);
	}
}
