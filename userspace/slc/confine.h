/* Path confinement: every path that comes from a request or from the peer
 * resolves below a directory we chose, with openat2(2). RESOLVE_IN_ROOT for
 * the server's --root (absolute names and symlinks resolve as if it were /),
 * RESOLVE_BENEATH elsewhere; magic links are never followed. */
#ifndef SLC_CONFINE_H
#define SLC_CONFINE_H

/* openat2 below dirfd; in_root chooses RESOLVE_IN_ROOT over RESOLVE_BENEATH.
 * Returns an fd or -errno. */
int confine_open(int dirfd, const char *path, int flags, int in_root);
/* Opens the directory at path below dirfd, creating it and its missing
 * parents (mode 0755). Returns an fd or -errno. */
int confine_mkdirs(int dirfd, const char *path, int in_root);
/* Splits path into its parent (written to parent, "." if none) and last
 * component (pointer into path, after trailing slashes are cut). Returns
 * -EINVAL for "", "/", "." or "..". */
int confine_split(char *path, char *parent, unsigned long parentlen, const char **last);

#endif
