/* Dropping root once a daemon is set up (docs/privileges.md).
 *
 * A daemon binds, opens and loads what it needs as root, then calls
 * privdrop_apply: afterwards it runs as an unprivileged user with no
 * supplementary groups, only the capabilities it named, an emptied bounding
 * set and PR_SET_NO_NEW_PRIVS, and the drop has been checked (it could not
 * take root back). Everything fails closed: an error leaves the caller to
 * exit, never to run on with more than it asked for.
 *
 * Credentials are per thread in the kernel: call it while the process has
 * one thread (it refuses otherwise), so that every later thread inherits the
 * dropped set. */
#ifndef NEK_PRIVDROP_H
#define NEK_PRIVDROP_H

#include <stddef.h>
#include <sys/types.h>

#include <sys/capability.h>

#define PRIVDROP_ERR_MAX 256
#define PRIVDROP_MAX_KEEP 8

struct privdrop_user {
	char name[64];
	uid_t uid;
	gid_t gid; /* the user's primary group, from the password database */
};

/* Looks USER (a name or a numeric uid) up in the password database. Refuses
 * a user that does not exist and uid 0 (that would drop nothing).
 * Returns 0, or -1 with a one-line reason in err. */
int privdrop_lookup(const char *user, struct privdrop_user *u, char *err, size_t errlen);

/* Becomes u: supplementary groups cleared, real/effective/saved gid and uid
 * set, capabilities reduced to keep[0..nkeep) (effective and permitted; the
 * bounding, inheritable and ambient sets emptied), no new privileges, then
 * privdrop_verify. Returns 0, or -1 with a one-line reason in err. */
int privdrop_apply(const struct privdrop_user *u, const cap_value_t *keep, unsigned nkeep,
		   char *err, size_t errlen);

/* Checks the calling thread is exactly u with exactly keep[0..nkeep) and
 * no_new_privs, and that neither setuid(0) nor setgid(0) succeeds. Returns 0,
 * or -1 with the first difference in err. */
int privdrop_verify(const struct privdrop_user *u, const cap_value_t *keep, unsigned nkeep,
		    char *err, size_t errlen);

/* For a process that privdrop_apply left with capabilities its threads do
 * not all need: reduces the calling thread's effective and permitted sets to
 * keep[0..nkeep) (nkeep 0: none), which it can never raise again, and checks
 * it. Threads made afterwards by this thread inherit the reduced sets; the
 * other threads keep theirs (capabilities are per thread). Returns 0, or -1
 * with a one-line reason in err. */
int privdrop_thread_keep(const cap_value_t *keep, unsigned nkeep, char *err, size_t errlen);

/* The capability names of keep[0..nkeep) as "cap_a,cap_b" ("none" when
 * empty), for logs. */
void privdrop_caps_text(const cap_value_t *keep, unsigned nkeep, char *buf, size_t len);

#endif
