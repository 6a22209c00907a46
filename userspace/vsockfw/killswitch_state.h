/* The kill-switch state file of this network namespace,
 * STATE_DIR/killswitch.net-COOKIE (docs/vsockfw.md "Kill-switch"): absent
 * means off; otherwise one line
 *   on latched=0|1 since=UNIX_SECONDS
 * The state directory is on tmpfs (/run), so a latch lasts until reboot. */
#ifndef VSOCKFW_KSSTATE_H
#define VSOCKFW_KSSTATE_H

struct ks_state {
	int on, latched;
	long long since;
};

/* 0 (a missing file reads as off), or -errno (-EBADMSG: unreadable content). */
int ks_read(const char *dir, struct ks_state *st);
/* Writes atomically (temporary file + rename), creating dir (0700). */
int ks_write(const char *dir, const struct ks_state *st);
int ks_clear(const char *dir);

#endif
