/* Ownership without privilege, as umoci --rootless records it: the
 * rootlesscontainers.io protobuf message Resource { uint32 uid = 1;
 * uint32 gid = 2; } in the user.rootlesscontainers attribute. An owner of 0
 * is the unpacking user itself, which the spec writes as NoopID (2^32 - 1,
 * "unchanged"); 0:0 is no attribute at all. Bytes as umoci 0.4 writes them. */
#define NOOP_ID 0xffffffffu
#include <errno.h>
#include <stdint.h>
#include <sys/xattr.h>

#include "eif/oci.h"

static size_t put_varint(uint8_t *out, uint32_t v)
{
	size_t n = 0;

	while (v >= 0x80) {
		out[n++] = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	out[n++] = (uint8_t)v;
	return n;
}

size_t oci_owner_encode(uint32_t uid, uint32_t gid, uint8_t out[16])
{
	size_t n = 0;

	if (!uid && !gid)
		return 0;
	out[n++] = 0x08; /* field 1, varint */
	n += put_varint(out + n, uid ? uid : NOOP_ID);
	out[n++] = 0x10; /* field 2, varint */
	n += put_varint(out + n, gid ? gid : NOOP_ID);
	return n;
}

static int get_varint(const uint8_t *buf, size_t len, size_t *pos, uint64_t *v)
{
	unsigned shift = 0;

	*v = 0;
	while (*pos < len && shift < 64) {
		uint8_t b = buf[(*pos)++];

		*v |= (uint64_t)(b & 0x7f) << shift;
		if (!(b & 0x80))
			return 0;
		shift += 7;
	}
	return -1;
}

int oci_owner_decode(const uint8_t *buf, size_t len, uint32_t *uid, uint32_t *gid)
{
	size_t pos = 0;

	*uid = *gid = 0;
	while (pos < len) {
		uint64_t key, v;

		if (get_varint(buf, len, &pos, &key) < 0 || (key & 7) != 0 ||
		    get_varint(buf, len, &pos, &v) < 0 || v > UINT32_MAX)
			return -1;
		if (v == NOOP_ID)
			v = 0;
		if (key >> 3 == 1)
			*uid = (uint32_t)v;
		else if (key >> 3 == 2)
			*gid = (uint32_t)v;
	}
	return 0;
}

int oci_owner_set(int fd, uint32_t uid, uint32_t gid)
{
	uint8_t buf[16];
	size_t n = oci_owner_encode(uid, gid, buf);

	if (!n)
		return 0;
	return fsetxattr(fd, OCI_OWNER_XATTR, buf, n, 0);
}

void oci_owner_get(const char *path, uint32_t *uid, uint32_t *gid)
{
	uint8_t buf[32];
	ssize_t n = lgetxattr(path, OCI_OWNER_XATTR, buf, sizeof(buf));

	*uid = *gid = 0;
	if (n > 0 && oci_owner_decode(buf, (size_t)n, uid, gid) < 0)
		*uid = *gid = 0;
}
