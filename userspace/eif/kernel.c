/* Is the --kernel file a kernel? The x86 boot protocol's real-mode header
 * (Documentation/arch/x86/boot.rst) and the arm64 Image header
 * (Documentation/arch/arm64/booting.rst), read from the file's first bytes. */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "eif/eif.h"
#include "lib/core/errfmt.h"

#define HDR_READ 0x300		/* past every field checked here */
#define X86_SETUP_SECTS 0x1f1
#define X86_BOOT_FLAG 0x1fe
#define X86_HDRS 0x202
#define X86_VERSION 0x206
#define X86_LOADFLAGS 0x211
#define X86_LOADED_HIGH 0x01
#define ARM64_MAGIC_OFF 0x38
#define ARM64_HDR_LEN 64

static unsigned le16(const uint8_t *p)
{
	return (unsigned)p[0] | (unsigned)p[1] << 8;
}

static int check_bzimage(const char *path, const uint8_t *h, size_t n, off_t size, char *err,
			 size_t errlen)
{
	unsigned sects, version;

	if (n < X86_LOADFLAGS + 1)
		return errfmt(err, errlen, "%s: not a bzImage (%zu bytes, shorter than the x86 "
			      "boot header)", path, n);
	if (le16(h + X86_BOOT_FLAG) != 0xaa55)
		return errfmt(err, errlen, "%s: not a bzImage (no 0xAA55 boot flag at 0x1FE)",
			      path);
	if (memcmp(h + X86_HDRS, "HdrS", 4) != 0)
		return errfmt(err, errlen, "%s: not a bzImage (no \"HdrS\" at 0x202)", path);
	version = le16(h + X86_VERSION);
	if (version < 0x0200)
		return errfmt(err, errlen, "%s: not a bzImage (boot protocol %u.%02u, 2.00 or "
			      "later needed)", path, version >> 8, version & 0xff);
	if (!(h[X86_LOADFLAGS] & X86_LOADED_HIGH))
		return errfmt(err, errlen, "%s: a zImage, not a bzImage (not loaded high)", path);
	/* setup_sects 0 means 4 (boot.rst); the protected-mode kernel follows. */
	sects = h[X86_SETUP_SECTS] ? h[X86_SETUP_SECTS] : 4;
	if (size <= (off_t)(sects + 1) * 512)
		return errfmt(err, errlen, "%s: not a bzImage (%lld bytes: no kernel after "
			      "%u setup sectors)", path, (long long)size, sects);
	return 0;
}

static int check_arm64(const char *path, const uint8_t *h, size_t n, char *err, size_t errlen)
{
	if (n < ARM64_HDR_LEN || memcmp(h + ARM64_MAGIC_OFF, "ARM\x64", 4) != 0)
		return errfmt(err, errlen, "%s: not an arm64 Image (no \"ARM\\x64\" magic at "
			      "0x38)", path);
	return 0;
}

int eif_kernel_check(const char *path, uint16_t flags, char *err, size_t errlen)
{
	uint8_t h[HDR_READ];
	struct stat st;
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC), rc;

	if (fd < 0)
		return errfmt(err, errlen, "%s: %s", path, strerror(errno));
	if (fstat(fd, &st) < 0) {
		rc = errfmt(err, errlen, "%s: %s", path, strerror(errno));
		close(fd);
		return rc;
	}
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		return errfmt(err, errlen, "%s: not a regular file", path);
	}
	do
		n = pread(fd, h, sizeof(h), 0);
	while (n < 0 && errno == EINTR);
	rc = n < 0 ? errfmt(err, errlen, "%s: %s", path, strerror(errno)) : 0;
	close(fd);
	if (rc < 0)
		return rc;
	if (flags & EIF_FLAG_AARCH64)
		return check_arm64(path, h, (size_t)n, err, errlen);
	return check_bzimage(path, h, (size_t)n, st.st_size, err, errlen);
}
