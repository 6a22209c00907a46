/* Dropping root after set-up; see privdrop.h and docs/privileges.md. */
#include "lib/core/privdrop.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "lib/core/errfmt.h"
#include "lib/core/parse.h"

int privdrop_lookup(const char *user, struct privdrop_user *u, char *err, size_t errlen)
{
	char buf[4096], perr[PARSE_ERR_MAX];
	struct passwd pw, *res = NULL;
	uint64_t id;
	int e;

	memset(u, 0, sizeof(*u));
	if (!*user || strlen(user) >= sizeof(u->name))
		return errfmt(err, errlen, "--user '%.64s': not a user name", user);
	if (user[strspn(user, "0123456789")] == '\0') {
		if (parse_u64(user, 0, 0xfffffffeu, &id, perr, sizeof(perr)) < 0)
			return errfmt(err, errlen, "--user '%s': %s", user, perr);
		e = getpwuid_r((uid_t)id, &pw, buf, sizeof(buf), &res);
	} else {
		e = getpwnam_r(user, &pw, buf, sizeof(buf), &res);
	}
	if (e)
		return errfmt(err, errlen, "--user '%s': %s", user, strerror(e));
	if (!res)
		return errfmt(err, errlen, "--user '%s': no such user", user);
	if (pw.pw_uid == 0 || pw.pw_gid == 0)
		return errfmt(err, errlen, "--user '%s': uid or gid 0 would drop nothing", user);
	snprintf(u->name, sizeof(u->name), "%s", pw.pw_name);
	u->uid = pw.pw_uid;
	u->gid = pw.pw_gid;
	return 0;
}

static int kept(cap_value_t c, const cap_value_t *keep, unsigned nkeep)
{
	unsigned i;

	for (i = 0; i < nkeep; i++)
		if (keep[i] == c)
			return 1;
	return 0;
}

/* The thread count from /proc/self/status; -1 when it cannot be read. */
static int thread_count(void)
{
	char line[256];
	FILE *f = fopen("/proc/self/status", "re");
	int n = -1;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "Threads: %d", &n) == 1)
			break;
	fclose(f);
	return n;
}

/* A kept set that could undo the drop is refused: verification could not
 * tell the drop held. */
static int check_keep(const cap_value_t *keep, unsigned nkeep, char *err, size_t errlen)
{
	unsigned i;

	if (nkeep > PRIVDROP_MAX_KEEP)
		return errfmt(err, errlen, "privilege drop: at most %d capabilities kept",
			      PRIVDROP_MAX_KEEP);
	for (i = 0; i < nkeep; i++) {
		if (!CAP_IS_SUPPORTED(keep[i]))
			return errfmt(err, errlen, "privilege drop: capability %d unknown to this kernel",
				      (int)keep[i]);
		if (keep[i] == CAP_SETUID || keep[i] == CAP_SETGID || keep[i] == CAP_SETPCAP ||
		    keep[i] == CAP_SETFCAP)
			return errfmt(err, errlen, "privilege drop: will not keep capability %d",
				      (int)keep[i]);
	}
	return 0;
}

/* Needs CAP_SETPCAP, so it runs before the uid changes. */
static int drop_bounding(const cap_value_t *keep, unsigned nkeep, char *err, size_t errlen)
{
	cap_value_t c;

	for (c = 0; c < (cap_value_t)cap_max_bits(); c++) {
		if (kept(c, keep, nkeep))
			continue;
		if (cap_drop_bound(c) < 0)
			return errfmt(err, errlen, "privilege drop: bounding set: %s", strerror(errno));
	}
	if (cap_reset_ambient() < 0)
		return errfmt(err, errlen, "privilege drop: ambient set: %s", strerror(errno));
	return 0;
}

static int set_ids(const struct privdrop_user *u, char *err, size_t errlen)
{
	/* Groups first: once the uid is gone, so is the right to change them. */
	if (setgroups(0, NULL) < 0)
		return errfmt(err, errlen, "privilege drop: setgroups: %s", strerror(errno));
	if (setresgid(u->gid, u->gid, u->gid) < 0)
		return errfmt(err, errlen, "privilege drop: setresgid %u: %s", (unsigned)u->gid,
			      strerror(errno));
	if (setresuid(u->uid, u->uid, u->uid) < 0)
		return errfmt(err, errlen, "privilege drop: setresuid %u: %s", (unsigned)u->uid,
			      strerror(errno));
	return 0;
}

static int set_caps(const cap_value_t *keep, unsigned nkeep, char *err, size_t errlen)
{
	cap_t c = cap_init();
	int r = 0;

	if (!c)
		return errfmt(err, errlen, "privilege drop: %s", strerror(errno));
	if (nkeep && (cap_set_flag(c, CAP_PERMITTED, (int)nkeep, keep, CAP_SET) < 0 ||
		      cap_set_flag(c, CAP_EFFECTIVE, (int)nkeep, keep, CAP_SET) < 0))
		r = errfmt(err, errlen, "privilege drop: %s", strerror(errno));
	if (!r && cap_set_proc(c) < 0)
		r = errfmt(err, errlen, "privilege drop: capabilities: %s", strerror(errno));
	cap_free(c);
	return r;
}

int privdrop_apply(const struct privdrop_user *u, const cap_value_t *keep, unsigned nkeep,
		   char *err, size_t errlen)
{
	int n;

	if (check_keep(keep, nkeep, err, errlen) < 0)
		return -1;
	if (geteuid() != 0)
		return errfmt(err, errlen, "--user %s: must start as root to drop to it", u->name);
	n = thread_count();
	if (n != 1)
		return errfmt(err, errlen, "privilege drop: %s threads (must be 1)",
			      n < 0 ? "unknown number of" : n > 1 ? "several" : "no");
	if (drop_bounding(keep, nkeep, err, errlen) < 0)
		return -1;
	/* Keep the permitted set across setuid only when something is kept. */
	if (nkeep && prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0)
		return errfmt(err, errlen, "privilege drop: keepcaps: %s", strerror(errno));
	if (set_ids(u, err, errlen) < 0)
		return -1;
	if (prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) < 0)
		return errfmt(err, errlen, "privilege drop: keepcaps: %s", strerror(errno));
	if (set_caps(keep, nkeep, err, errlen) < 0)
		return -1;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return errfmt(err, errlen, "privilege drop: no_new_privs: %s", strerror(errno));
	return privdrop_verify(u, keep, nkeep, err, errlen);
}

static int verify_ids(const struct privdrop_user *u, char *err, size_t errlen)
{
	uid_t r, e, s;
	gid_t rg, eg, sg;
	int ng;

	if (getresuid(&r, &e, &s) < 0 || getresgid(&rg, &eg, &sg) < 0)
		return errfmt(err, errlen, "privilege drop: getresuid: %s", strerror(errno));
	if (r != u->uid || e != u->uid || s != u->uid)
		return errfmt(err, errlen, "privilege drop: uids are %u/%u/%u, not %u", (unsigned)r,
			      (unsigned)e, (unsigned)s, (unsigned)u->uid);
	if (rg != u->gid || eg != u->gid || sg != u->gid)
		return errfmt(err, errlen, "privilege drop: gids are %u/%u/%u, not %u",
			      (unsigned)rg, (unsigned)eg, (unsigned)sg, (unsigned)u->gid);
	ng = getgroups(0, NULL);
	if (ng != 0)
		return errfmt(err, errlen, "privilege drop: %d supplementary groups remain", ng);
	return 0;
}

static int verify_caps(const cap_value_t *keep, unsigned nkeep, char *err, size_t errlen)
{
	cap_t c = cap_get_proc();
	cap_flag_value_t ef, pf, inf;
	cap_value_t v;
	int r = 0;

	if (!c)
		return errfmt(err, errlen, "privilege drop: %s", strerror(errno));
	for (v = 0; v < (cap_value_t)cap_max_bits() && !r; v++) {
		int want = kept(v, keep, nkeep);

		if (cap_get_flag(c, v, CAP_EFFECTIVE, &ef) < 0 ||
		    cap_get_flag(c, v, CAP_PERMITTED, &pf) < 0 ||
		    cap_get_flag(c, v, CAP_INHERITABLE, &inf) < 0)
			r = errfmt(err, errlen, "privilege drop: %s", strerror(errno));
		else if ((ef == CAP_SET) != want || (pf == CAP_SET) != want || inf == CAP_SET ||
			 (cap_get_bound(v) == 1) != want || cap_get_ambient(v) == 1)
			r = errfmt(err, errlen, "privilege drop: capability %d is %s", (int)v,
				   want ? "missing" : "still held");
	}
	cap_free(c);
	return r;
}

int privdrop_verify(const struct privdrop_user *u, const cap_value_t *keep, unsigned nkeep,
		    char *err, size_t errlen)
{
	if (verify_ids(u, err, errlen) < 0 || verify_caps(keep, nkeep, err, errlen) < 0)
		return -1;
	if (prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) != 1)
		return errfmt(err, errlen, "privilege drop: no_new_privs is not set");
	/* The proof: root cannot be taken back. Raw syscalls so only this
	 * thread is asked (glibc would broadcast to every thread). */
	if (syscall(SYS_setresuid, -1, 0, -1) == 0 || syscall(SYS_setresgid, -1, 0, -1) == 0)
		return errfmt(err, errlen, "privilege drop: uid or gid 0 could be taken back");
	return 0;
}

/* Per thread by construction: libcap's cap_set_proc is capset(2) on the
 * calling thread only. */
int privdrop_thread_keep(const cap_value_t *keep, unsigned nkeep, char *err, size_t errlen)
{
	cap_flag_value_t ef, pf;
	cap_value_t v;
	cap_t c;
	int r = 0;

	if (nkeep > PRIVDROP_MAX_KEEP)
		return errfmt(err, errlen, "thread capabilities: at most %d kept", PRIVDROP_MAX_KEEP);
	if (set_caps(keep, nkeep, err, errlen) < 0)
		return -1;
	c = cap_get_proc();
	if (!c)
		return errfmt(err, errlen, "thread capabilities: %s", strerror(errno));
	for (v = 0; v < (cap_value_t)cap_max_bits() && !r; v++) {
		if (cap_get_flag(c, v, CAP_EFFECTIVE, &ef) < 0 ||
		    cap_get_flag(c, v, CAP_PERMITTED, &pf) < 0)
			r = errfmt(err, errlen, "thread capabilities: %s", strerror(errno));
		else if ((ef == CAP_SET || pf == CAP_SET) != kept(v, keep, nkeep))
			r = errfmt(err, errlen, "thread capabilities: capability %d is %s", (int)v,
				   ef == CAP_SET || pf == CAP_SET ? "still held" : "missing");
	}
	cap_free(c);
	return r;
}

void privdrop_caps_text(const cap_value_t *keep, unsigned nkeep, char *buf, size_t len)
{
	size_t off = 0;
	unsigned i;

	snprintf(buf, len, "none");
	for (i = 0; i < nkeep && off < len; i++) {
		char *name = cap_to_name(keep[i]);
		int n = snprintf(buf + off, len - off, "%s%s", i ? "," : "", name ? name : "?");

		cap_free(name);
		if (n < 0)
			break;
		off += (size_t)n;
	}
}
