/* Who is on the other end of a unix stream socket, and may they change
 * state? For control sockets: an abstract socket (unix:@name) has no file
 * mode, so the peer's credentials (SO_PEERCRED, SO_PEERGROUPS) are the only
 * thing that tells root from any local process. */
#ifndef LIB_PEERCRED_H
#define LIB_PEERCRED_H

#include <stddef.h>
#include <sys/types.h>

/* Who may: root always, plus the uid and/or the gid (primary or
 * supplementary group of the peer) when set. */
struct peercred_allow {
	uid_t uid;
	gid_t gid;
	unsigned char has_uid, has_gid;
};

/* Fills a from a user (name or number) and a group (name or number);
 * either may be NULL. -1 with a message naming the bad input. */
int peercred_allow_parse(struct peercred_allow *a, const char *user, const char *group, char *err,
			 size_t errlen);

/* 1 when the peer of fd (a connected AF_UNIX socket) is allowed, 0 when not
 * (also for any other kind of socket), -errno when it cannot be told. The
 * peer's uid goes to *uid when uid is not NULL. */
int peercred_check(int fd, const struct peercred_allow *a, uid_t *uid);

#endif
