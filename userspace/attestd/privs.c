/* attestd's privilege drop; see privs.h and docs/privileges.md. */
#include "attestd/privs.h"

#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "lib/attestation/nsm.h"
#include "lib/core/log.h"
#include "lib/core/privdrop.h"
#include "lib/core/sandbox.h"

/* Written once before any other thread exists; threads read it after
 * pthread_create, which orders the write before them. */
static bool dropped, filtered;

/* After set-up the fanotify marks are in place and no new one is ever
 * added, so CAP_SYS_ADMIN is not kept at all: what remains is reading past
 * file modes in the watched trees (open_by_handle_at, scans, hashing, the
 * permission events' descriptors, opened with the reader's credentials). */
static const cap_value_t monitor_caps[] = { CAP_DAC_READ_SEARCH };

int ad_drop_privs(const struct ad_config *cfg, char *err, size_t errlen)
{
	char caps[64];

	if (!cfg->has_user)
		return 0;
	if (privdrop_apply(&cfg->user, monitor_caps, 1, err, errlen) < 0)
		return -1;
	dropped = true;
	filtered = !cfg->no_seccomp;
	privdrop_caps_text(monitor_caps, 1, caps, sizeof(caps));
	log_info("running as %s (uid %u, gid %u), capabilities: %s in the monitor threads, "
		 "none in the API threads, seccomp: %s",
		 cfg->user.name, (unsigned)cfg->user.uid, (unsigned)cfg->user.gid, caps,
		 filtered ? "on in the API threads" : "off");
	return 0;
}

void ad_thread_role(enum ad_role role, const char *name)
{
	char err[PRIVDROP_ERR_MAX], comm[16];
	int r;

	snprintf(comm, sizeof(comm), "attestd-%s", name);
	if (prctl(PR_SET_NAME, comm, 0, 0, 0) < 0)
		log_debug("thread name %s: %m", comm);
	if (!dropped)
		return;
	r = role == AD_ROLE_MONITOR ? privdrop_thread_keep(monitor_caps, 1, err, sizeof(err))
				    : privdrop_thread_keep(NULL, 0, err, sizeof(err));
	if (r < 0) {
		log_error("%s", err);
		_exit(1);
	}
}

void ad_api_sandbox(const struct ad_config *cfg)
{
	bool emulated = cfg->nsm_spec && strncmp(cfg->nsm_spec, "emu:", 4) == 0;
	const unsigned long nsm_req = nsm_ioctl_request();
	char err[SANDBOX_ERR_MAX];
	unsigned sets = SB_NET | SB_EPOLL;

	if (!dropped || !filtered)
		return;
	if (emulated)
		sets |= SB_WRITE_FILES;
	if (sandbox_apply_ioctls(sets, &nsm_req, emulated ? 0 : 1, err, sizeof(err)) < 0) {
		log_error("api thread: %s", err);
		_exit(1);
	}
}
