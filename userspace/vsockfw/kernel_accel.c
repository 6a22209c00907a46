/* Kernel acceleration found at start-up; see accel.h. */
#include "vsockfw/kernel_accel.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include "lib/accel/accel.h"
#include "lib/accel/accel_origdst.h"
#include "lib/core/errfmt.h"
#include "lib/core/log.h"

static struct {
	char pin[ACCEL_PATH_MAX];
	unsigned loaded; /* ACCEL_* pinned */
	int kmod, sockmap, od_open;
	int sp_iter;		/* splice has its backlog iterator */
	int bypass;		/* listeners join lobypass (see opts.h) */
	int bp_fc;		/* lobypass has its flow control */
	int ports_fd, socks_fd; /* lobypass server ports (when joined) and sockets, or -1 */
	int count_fd;		/* lobypass counters, or -1 */
	struct accel_origdst od;
	/* Ports this process added to the bypass, to take them out again. */
	uint16_t ports[64];
	unsigned nports;
} A = { .ports_fd = -1, .socks_fd = -1, .count_fd = -1 }; /* fw_accel_free may come without init */

static int port_set(uint16_t port, int add, char *err, size_t errlen);

int fw_accel_init(const char *pin, int bypass)
{
	char err[ACCEL_ERR_MAX];

	memset(&A, 0, sizeof(A));
	A.od.cookie = -1;
	A.ports_fd = A.socks_fd = A.count_fd = -1;
	A.kmod = tier_kmod_register() == 0;
	if (!pin || strcmp(pin, "none") == 0)
		return 0;
	snprintf(A.pin, sizeof(A.pin), "%s", pin);
	accel_quiet_libbpf();
	A.loaded = accel_loaded(pin);
	if (A.loaded & ACCEL_BYPASS) {
		A.bp_fc = accel_bypass_has_fc(pin);
		/* Only when asked, even with flow control: a socket in the
		 * sockmap changes what a blocking application sees, since
		 * tcp_bpf_recvmsg answers EAGAIN when what woke it came
		 * through TCP (the FIN, spilled data) rather than the psock
		 * (docs/dataplane.md). vsockfw's own sockets do not mind; an
		 * application's may, and vsockfw is meant to be transparent. */
		A.bypass = bypass > 0;
		if (!A.bp_fc && A.bypass)
			log_warn("loopback bypass loaded without flow control: a slow "
				 "reader can exhaust TCP memory (docs/dataplane.md)");
		if (A.bypass)
			A.ports_fd = accel_pin_open(pin, ACCEL_BYPASS, "map_nek_bp_ports");
		A.socks_fd = accel_pin_open(pin, ACCEL_BYPASS, "map_nek_bp_socks");
		A.count_fd = accel_pin_open(pin, ACCEL_BYPASS, "map_nek_bp_count");
	}
	if (A.loaded & ACCEL_SPLICE) {
		A.sockmap = tier_sockmap_register(pin) == 0;
		A.sp_iter = accel_splice_has_iter(pin);
	}
	if (A.loaded & ACCEL_ORIGDST) {
		if (accel_origdst_open(pin, &A.od, err, sizeof(err)) == 0)
			A.od_open = 1;
		else
			log_warn("%s", err);
	}
	log_info("kernel acceleration: module %s, bpf under %s:%s%s%s%s%s%s", A.kmod ? "yes" : "no",
		 pin, A.loaded ? "" : " none", (A.loaded & ACCEL_BYPASS) ? " lobypass" : "",
		 (A.loaded & ACCEL_BYPASS) ? (A.bypass ? (A.bp_fc ? " (joined, flow control)"
								 : " (joined, no flow control)")
						       : " (not joined)")
					   : "",
		 A.sockmap ? " splice" : "",
		 A.sockmap && !A.sp_iter ? " (no backlog iterator: TCP pairs only)" : "",
		 A.od_open ? " origdst" : "");
	return 0;
}

void fw_accel_free(void)
{
	char err[ACCEL_ERR_MAX];
	unsigned i;

	for (i = 0; i < A.nports; i++)
		port_set(A.ports[i], 0, err, sizeof(err));
	A.nports = 0;
	if (A.ports_fd >= 0)
		close(A.ports_fd);
	if (A.socks_fd >= 0)
		close(A.socks_fd);
	if (A.count_fd >= 0)
		close(A.count_fd);
	A.ports_fd = A.socks_fd = A.count_fd = -1;
	if (A.od_open)
		accel_origdst_close(&A.od);
	A.od_open = 0;
	if (A.sockmap)
		tier_sockmap_unregister();
	if (A.kmod)
		tier_kmod_unregister();
	A.sockmap = A.kmod = 0;
}

/* Through the map opened at start: a forwarder running as --user can no
 * longer open the pin (nor make the bpf() call that would). */
static int port_set(uint16_t port, int add, char *err, size_t errlen)
{
	__u32 k = port, one = 1;
	int r;

	if (A.ports_fd < 0)
		return accel_bypass_port(A.pin, port, add, err, errlen);
	r = add ? bpf_map_update_elem(A.ports_fd, &k, &one, BPF_ANY)
		: bpf_map_delete_elem(A.ports_fd, &k);
	if (r < 0 && !(errno == ENOENT && !add))
		return errfmt(err, errlen, "port %u: %s", port, strerror(errno));
	return 0;
}

static int port_listed(uint32_t port)
{
	uint32_t v;

	return A.ports_fd >= 0 && bpf_map_lookup_elem(A.ports_fd, &port, &v) == 0;
}

void fw_accel_listen(const struct addr *listen, int add)
{
	char err[ACCEL_ERR_MAX];
	uint16_t port;
	unsigned i;

	if (!A.bypass || !(A.loaded & ACCEL_BYPASS) || listen->kind != ADDR_TCP)
		return;
	port = (uint16_t)addr_port(listen);
	if (add) {
		/* A port the loader was given stays when we stop. */
		if (A.nports == sizeof(A.ports) / sizeof(A.ports[0]) || port_listed(port))
			return;
		if (port_set(port, 1, err, sizeof(err)) < 0) {
			log_warn("loopback bypass: %s", err);
			return;
		}
		A.ports[A.nports++] = port;
		return;
	}
	for (i = 0; i < A.nports; i++) {
		if (A.ports[i] != port)
			continue;
		port_set(port, 0, err, sizeof(err));
		A.ports[i] = A.ports[--A.nports];
		return;
	}
}

/* The address as 16 bytes (IPv4 mapped) and its port, host order. */
static int v6_of(const struct sockaddr_storage *ss, struct in6_addr *a, uint16_t *port)
{
	const struct sockaddr_in *s4 = (const void *)ss;
	const struct sockaddr_in6 *s6 = (const void *)ss;

	if (ss->ss_family == AF_INET) {
		memset(a, 0, sizeof(*a));
		a->s6_addr[10] = a->s6_addr[11] = 0xff;
		memcpy(&a->s6_addr[12], &s4->sin_addr, 4);
		*port = ntohs(s4->sin_port);
		return 0;
	}
	if (ss->ss_family != AF_INET6)
		return -1;
	*a = s6->sin6_addr;
	*port = ntohs(s6->sin6_port);
	return 0;
}

/* Exactly what bpf/lobypass.bpf.c's sockops inserted: the socket is
 * looked up in the hash under its own key (a user-space lookup of a
 * SOCKHASH yields the socket's cookie). */
int fw_accel_bypassed(int fd)
{
	struct sockaddr_storage l, r;
	socklen_t ll = sizeof(l), rl = sizeof(r);
	struct nek_sock_key k;
	struct in6_addr la, ra;
	uint16_t lp, rp;
	uint64_t cookie;

	if (A.socks_fd < 0 || getsockname(fd, (struct sockaddr *)&l, &ll) < 0 ||
	    getpeername(fd, (struct sockaddr *)&r, &rl) < 0 || v6_of(&l, &la, &lp) < 0 ||
	    v6_of(&r, &ra, &rp) < 0)
		return 0;
	memset(&k, 0, sizeof(k));
	memcpy(k.lip, &la, sizeof(k.lip));
	memcpy(k.rip, &ra, sizeof(k.rip));
	k.lport = lp;
	k.rport = rp;
	return bpf_map_lookup_elem(A.socks_fd, &k, &cookie) == 0;
}

int fw_accel_origdst(int fd, struct sockaddr_storage *dst)
{
	if (!A.od_open)
		return -ENOENT;
	return accel_origdst_lookup(&A.od, fd, dst, NULL) == 0 ? 0 : -ENOENT;
}

/* The bypass's own counters (all its sockets, not only this process's). */
static uint64_t bp_counter(unsigned idx)
{
	uint64_t v = 0;

	if (A.count_fd < 0 || accel_counter_fd(A.count_fd, idx, &v) < 0)
		return 0;
	return v;
}

static void bypass_json(struct strbuf *sb)
{
	sb_printf(sb, ",\"lobypass_flow_control\":%s,\"lobypass_joined\":%s",
		  A.bp_fc ? "true" : "false", A.bypass ? "true" : "false");
	if (!(A.loaded & ACCEL_BYPASS))
		return;
	sb_printf(sb,
		  ",\"lobypass_counters\":{\"redirected_bytes\":%llu,\"spilled\":%llu,"
		  "\"returned\":%llu,\"spilled_bytes\":%llu,\"state_err\":%llu,"
		  "\"insert_err\":%llu}",
		  (unsigned long long)bp_counter(NEK_BYPASS_BYTES),
		  (unsigned long long)bp_counter(NEK_BYPASS_SPILLED),
		  (unsigned long long)bp_counter(NEK_BYPASS_RETURNED),
		  (unsigned long long)bp_counter(NEK_BYPASS_SPILL_BYTES),
		  (unsigned long long)bp_counter(NEK_BYPASS_STATE_ERR),
		  (unsigned long long)bp_counter(NEK_BYPASS_INSERT_ERR));
}

void fw_accel_report(struct strbuf *sb, int json)
{
	if (json) {
		sb_printf(sb, "{\"kmod\":%s,\"bpf_pin\":", A.kmod ? "true" : "false");
		sb_json_str(sb, A.pin[0] ? A.pin : "none");
		sb_printf(sb, ",\"lobypass\":%s,\"sockmap\":%s,\"sockmap_iter\":%s,\"origdst\":%s",
			  (A.loaded & ACCEL_BYPASS) ? "true" : "false", A.sockmap ? "true" : "false",
			  A.sockmap && A.sp_iter ? "true" : "false", A.od_open ? "true" : "false");
		bypass_json(sb);
		sb_printf(sb, "}");
		return;
	}
	sb_printf(sb, "kernel acceleration: module %s; bpf (%s): lobypass %s, sockmap %s%s, origdst %s\n",
		  A.kmod ? "yes" : "no", A.pin[0] ? A.pin : "none",
		  !(A.loaded & ACCEL_BYPASS) ? "no"
		  : A.bypass		   ? (A.bp_fc ? "yes (flow control)" : "yes (no flow control)")
					   : (A.bp_fc ? "loaded, not joined" : "loaded without flow control, not joined"),
		  A.sockmap ? "yes" : "no",
		  A.sockmap && !A.sp_iter ? " (no backlog iterator: TCP pairs only)" : "",
		  A.od_open ? "yes" : "no");
	if (A.loaded & ACCEL_BYPASS)
		sb_printf(sb, "  lobypass: %llu bytes redirected, %llu directions spilled to TCP "
			      "(%llu back), %llu bytes through TCP\n",
			  (unsigned long long)bp_counter(NEK_BYPASS_BYTES),
			  (unsigned long long)bp_counter(NEK_BYPASS_SPILLED),
			  (unsigned long long)bp_counter(NEK_BYPASS_RETURNED),
			  (unsigned long long)bp_counter(NEK_BYPASS_SPILL_BYTES));
}
