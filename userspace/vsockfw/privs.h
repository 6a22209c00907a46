/* vsockfw's privilege drop after set-up (--user; docs/privileges.md). */
#ifndef VSOCKFW_PRIVS_H
#define VSOCKFW_PRIVS_H

struct fw;

/* With --user: becomes that user keeping only what the running forwarders
 * need, then installs the seccomp allow-list (unless --no-seccomp). Without
 * --user: nothing. Returns 0, or -1 after logging why (the daemon must not
 * run on). */
int fw_drop_privs(struct fw *fw);

#endif
