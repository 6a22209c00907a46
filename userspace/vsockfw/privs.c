/* vsockfw's privilege drop; see privs.h and docs/privileges.md. */
#include "vsockfw/privs.h"

#include <errno.h>
#include <string.h>

#include "lib/core/log.h"
#include "lib/core/privdrop.h"
#include "lib/accel/krelay.h"
#include "lib/core/sandbox.h"
#include "vsockfw/fw.h"
#include "vsockfw/killswitch_state.h"

/* SO_MARK on dialled sockets (--mark) is the one thing a running forwarder
 * does that needs a capability; CAP_NET_RAW allows it (Linux >= 5.17) without
 * the power over nftables that CAP_NET_ADMIN would keep. */
static unsigned needed_caps(const struct fw *fw, cap_value_t *keep)
{
	unsigned i;

	for (i = 0; i < fw->npx; i++)
		if (fw->px[i].o.mark) {
			keep[0] = CAP_NET_RAW;
			return 1;
		}
	return 0;
}

static unsigned syscall_sets(const struct fw *fw)
{
	unsigned sets = SB_NET | SB_EPOLL;

	if (ev_loop_backend(fw->l) == EV_URING)
		sets |= SB_URING;
	if (strcmp(fw->g.bpf_pin, "none") != 0)
		sets |= SB_BPF_MAPS;
	return sets;
}

int fw_drop_privs(struct fw *fw)
{
	char err[PRIVDROP_ERR_MAX], caps[128];
	cap_value_t keep[1];
	unsigned nkeep;
	struct ks_state st;
	int e;

	if (!fw->g.has_user)
		return 0;
	nkeep = needed_caps(fw, keep);
	if (privdrop_apply(&fw->g.user, keep, nkeep, err, sizeof(err)) < 0) {
		log_error("%s", err);
		return -1;
	}
	/* The kill-switch reaches this process through its state file: a
	 * user that cannot read it would miss the switch. */
	e = ks_read(fw->g.state_dir, &st);
	if (e == -EACCES || e == -EPERM) {
		log_error("--user %s cannot read the kill-switch state in %s (%s): make the "
			  "directory 0755 and its file 0644",
			  fw->g.user.name, fw->g.state_dir, strerror(-e));
		return -1;
	}
	/* The module tier's ioctls, when the module is there. */
	static const unsigned long krelay_ioctls[] = { NEK_RELAY_IOC_START, NEK_RELAY_IOC_STAT,
						       NEK_RELAY_IOC_ABORT };
	if (!fw->g.no_seccomp &&
	    sandbox_apply_ioctls(syscall_sets(fw), krelay_ioctls,
				 relay_tier_available(RELAY_KMOD) ? 3 : 0, err, sizeof(err)) < 0) {
		log_error("%s", err);
		return -1;
	}
	privdrop_caps_text(keep, nkeep, caps, sizeof(caps));
	log_info("running as %s (uid %u, gid %u), capabilities: %s, seccomp: %s",
		 fw->g.user.name, (unsigned)fw->g.user.uid, (unsigned)fw->g.user.gid, caps,
		 fw->g.no_seccomp ? "off" : "on");
	return 0;
}
