/* Options of every forwarder and of the process, parsed from the command
 * line or from a config line by the same code (docs/vsockfw.md). */
#ifndef VSOCKFW_OPTS_H
#define VSOCKFW_OPTS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "lib/core/addr.h"
#include "lib/core/peercred.h"
#include "lib/core/addr.h"
#include "lib/core/privdrop.h"
#include "vsockfw/policy.h"

enum fw_mode {
	FW_NONE = 0,
	FW_IP2VS,
	FW_VS2IP,
	FW_IP2VS_TP,
	FW_VS2IP_TP,
	FW_TPP2VS,
	FW_DNS_STUB,
	FW_DNS_HOST,
};

#define FW_MAX_PEER_CIDS 16
#define FW_ERR_MAX 320
#define FW_PATH_MAX 256

struct fw_opts {
	enum fw_mode mode;
	struct addr listen, to;
	int tier;	  /* enum relay_tier_id */
	uint64_t connect_timeout_ms, header_timeout_ms, idle_timeout_ms;
	unsigned max_conns, rate;
	size_t vsock_buf;
	int egress, compat, send_source;
	struct policy pol;
	uint32_t peer_cids[FW_MAX_PEER_CIDS];
	unsigned npeer;
	int has_dial_ip;
	struct sockaddr_storage dial_ip;
	uint32_t mark;
	/* tpp2vs: the dialled port is the original one. */
	int to_orig_port;
	char to_unix_template[sizeof(((struct sockaddr_un *)0)->sun_path)];
	uint16_t port_lo, port_hi;
	/* dns */
	struct addr resolver;
	uint64_t query_timeout_ms;
};

struct fw_global {
	struct addr control;
	/* Who besides root may change state through it (killswitch on/off). */
	struct peercred_allow control_allow;
	int backend; /* enum ev_backend */
	char state_dir[FW_PATH_MAX];
	char bpf_pin[FW_PATH_MAX]; /* pinned acceleration objects, or "none" */
	/* Whether listener ports join a loaded loopback bypass: 0 (auto) when
	 * it was loaded with its flow control, 1 (--bypass) even without it,
	 * -1 (--no-bypass) never (docs/dataplane.md "Tier choice and fall-back"). */
	int bypass;
	unsigned buffers;
	size_t buffer_size;
	uint64_t drain_timeout_ms;
	/* --user: drop to it once listening (docs/privileges.md). */
	int has_user, no_seccomp;
	struct privdrop_user user;
};

/* Defaults (docs/vsockfw.md). */
void fw_opts_defaults(struct fw_opts *o, enum fw_mode mode);
void fw_global_defaults(struct fw_global *g);

const char *fw_mode_name(enum fw_mode m);

/* Parses argv[1..] (argv[0] is the command name) into o and g, which hold
 * the defaults on entry. mode FW_NONE parses a `global` line: forwarder
 * options become defaults for later lines. Returns 0, 1 when --help was
 * asked, or -1 with a one-line reason in err. Checks that what the mode
 * needs is there. */
int fw_parse(int argc, char **argv, enum fw_mode mode, struct fw_opts *o, struct fw_global *g,
	     char *err, size_t errlen);

#endif
