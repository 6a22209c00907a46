/* Transport addresses, parsed in one place; grammar in docs/addresses.md.
 *
 *   unix:PATH            unix:@NAME (abstract)
 *   tcp:HOST:PORT        tcp:[V6]:PORT        tcp:*:PORT (any IPv4)
 *   vsock:CID:PORT       CID or PORT may be ANY; CID may be LOCAL, HOST, PARENT
 */
#ifndef NEK_ADDR_H
#define NEK_ADDR_H

#include <stddef.h>
#include <stdint.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <linux/vm_sockets.h>

enum addr_kind {
	ADDR_NONE = 0,
	ADDR_UNIX,
	ADDR_TCP,
	ADDR_VSOCK,
};

/* Longest text addr_format() produces, including the NUL. */
#define ADDR_TEXT_MAX 128
#define ADDR_ERR_MAX 192

/* Well-known vsock CIDs. The Nitro parent instance is always CID 3. */
#define ADDR_VSOCK_CID_PARENT 3U

struct addr {
	enum addr_kind kind;
	socklen_t len;
	union {
		struct sockaddr sa;
		struct sockaddr_un un;
		struct sockaddr_in in;
		struct sockaddr_in6 in6;
		struct sockaddr_vm vm;
		struct sockaddr_storage ss;
	} u;
};

/* Parses text; on failure returns -1 and writes a reason that quotes the
 * input into err. TCP host names are resolved here (first address). */
int addr_parse(const char *text, struct addr *a, char *err, size_t errlen);

/* As addr_parse, but text without a "kind:" prefix is read as `deflt`
 * (the upstream flags take bare IP:PORT and CID:PORT). */
int addr_parse_as(const char *text, enum addr_kind deflt, struct addr *a, char *err,
		  size_t errlen);

/* Canonical text (the form addr_parse accepts); returns buf. */
const char *addr_format(const struct addr *a, char *buf, size_t len);

/* Builds an addr from a kernel sockaddr (accept, getsockname). */
int addr_from_sockaddr(const struct sockaddr *sa, socklen_t len, struct addr *a);

/* The port of a TCP or vsock address, 0 for unix. */
uint32_t addr_port(const struct addr *a);

const char *addr_kind_name(enum addr_kind k);

#endif
