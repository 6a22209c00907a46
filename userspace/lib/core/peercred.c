/* Peer credential checks; see peercred.h. */
#include "lib/core/peercred.h"

#include <errno.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "lib/core/parse.h"

static int id_of(const char *s, int group, unsigned *out, char *err, size_t errlen)
{
	char perr[PARSE_ERR_MAX];
	uint64_t v;

	if (parse_u64(s, 0, 0xfffffffeu, &v, perr, sizeof(perr)) == 0) {
		*out = (unsigned)v;
		return 0;
	}
	if (group) {
		struct group *g = getgrnam(s);

		if (g) {
			*out = g->gr_gid;
			return 0;
		}
	} else {
		struct passwd *p = getpwnam(s);

		if (p) {
			*out = p->pw_uid;
			return 0;
		}
	}
	snprintf(err, errlen, "no such %s '%s'", group ? "group" : "user", s);
	return -1;
}

int peercred_allow_parse(struct peercred_allow *a, const char *user, const char *group, char *err,
			 size_t errlen)
{
	unsigned id;

	if (user) {
		if (id_of(user, 0, &id, err, errlen) < 0)
			return -1;
		a->uid = (uid_t)id;
		a->has_uid = 1;
	}
	if (group) {
		if (id_of(group, 1, &id, err, errlen) < 0)
			return -1;
		a->gid = (gid_t)id;
		a->has_gid = 1;
	}
	return 0;
}

/* 1 when gid is one of the peer's supplementary groups. */
static int in_groups(int fd, gid_t gid)
{
	gid_t small[64], *g = small;
	socklen_t len = sizeof(small);
	size_t i, n;
	int r = 0;

	if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, g, &len) < 0) {
		if (errno != ERANGE || len > NGROUPS_MAX * sizeof(gid_t))
			return -errno;
		g = malloc(len);
		if (!g)
			return -ENOMEM;
		if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, g, &len) < 0) {
			r = -errno;
			free(g);
			return r;
		}
	}
	n = len / sizeof(gid_t);
	for (i = 0; i < n && !r; i++)
		r = g[i] == gid;
	if (g != small)
		free(g);
	return r;
}

int peercred_check(int fd, const struct peercred_allow *a, uid_t *uid)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	struct ucred uc;
	socklen_t ul = sizeof(uc);

	/* TCP and vsock peers carry no credentials: never trusted. */
	if (getsockname(fd, (struct sockaddr *)&ss, &sl) < 0)
		return -errno;
	if (ss.ss_family != AF_UNIX)
		return 0;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &uc, &ul) < 0)
		return -errno;
	if (ul != sizeof(uc))
		return -EPROTO;
	if (uid)
		*uid = uc.uid;
	if (uc.uid == 0 || (a->has_uid && uc.uid == a->uid) || (a->has_gid && uc.gid == a->gid))
		return 1;
	return a->has_gid ? in_groups(fd, a->gid) : 0;
}
