/* Loading, attaching, pinning and inspecting the kernel-acceleration BPF
 * objects (bpf/lobypass.bpf.c, bpf/splice.bpf.c, bpf/origdst.bpf.c). The
 * layout under the pin directory and the fallbacks are in docs/bpf.md.
 *
 * Functions return 0 (or a count) on success and -1 with errno set and a
 * one-line reason in err on failure.
 */
#ifndef NEK_ACCEL_H_LIB
#define NEK_ACCEL_H_LIB

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "../../../bpf/nek_accel.h"

enum accel_obj {
	ACCEL_BYPASS = 1u << 0,	 /* lobypass: sockops + sk_msg */
	ACCEL_SPLICE = 1u << 1,	 /* splice: sk_skb verdict + iterator */
	ACCEL_ORIGDST = 1u << 2, /* origdst: cgroup connect/getpeername + sockops */
	ACCEL_ALL = 7u,
};

#define ACCEL_PIN_DEFAULT "/sys/fs/bpf/nek"
#define ACCEL_ERR_MAX 256
#define ACCEL_PATH_MAX 512

struct accel_load_opts {
	const char *pin;    /* bpffs directory; NULL = ACCEL_PIN_DEFAULT */
	const char *cgroup; /* cgroup2 directory for bypass and origdst */
	unsigned objs;	    /* ACCEL_* to load */
	int allow_root;	    /* permit the root of the cgroup2 hierarchy */
	/* bypass: server ports of the local proxies (none: every local port) */
	const uint16_t *ports;
	unsigned nports;
	/* origdst: the proxy to send connects to, and the egress rules */
	struct nek_origdst_config od;
	const struct nek_rule *rules;
	unsigned nrules;
	/* Load every object of objs the kernel takes, and list the others with
	 * their reasons in skipped ("name: reason; ..."); without it, the
	 * first failure fails the whole load. */
	int best_effort;
	/* bypass: receiver backlog above which a direction moves to TCP
	 * (0: NEK_BYPASS_QUEUE_MAX); see docs/dataplane.md */
	uint32_t bypass_qmax;
	char *skipped;
	size_t skippedlen;
};

/* Loads, pins and attaches the objects in o->objs. The pin directory is
 * mounted as a private bpffs when it is not on one already. Nothing stays
 * behind on failure. */
int accel_load(const struct accel_load_opts *o, char *err, size_t errlen);

/* Detaches and unpins every object under pin (and unmounts the bpffs if
 * accel_load mounted it). Sockets that are already in a sockmap keep their
 * program until they close (docs/bpf.md). */
int accel_unload(const char *pin, char *err, size_t errlen);

/* 1 when splice was loaded with its backlog iterator (iter/sockmap), 0
 * when the kernel refused it (accel_splice_flushed then uses a fallback). */
int accel_splice_has_iter(const char *pin);

/* The ACCEL_* objects pinned under pin (0 when none). */
unsigned accel_loaded(const char *pin);

/* Programs, links, maps and counters of what is pinned under pin, as text
 * or JSON. Returns the ACCEL_* mask printed (0: nothing loaded). */
int accel_status(const char *pin, FILE *out, int json);

/* Sum over CPUs of counter idx of object obj (one ACCEL_* bit). */
int accel_counter(const char *pin, unsigned obj, unsigned idx, uint64_t *val);

/* The same through a counter map opened before (accel_pin_open), for a
 * process that can no longer open the pin. */
int accel_counter_fd(int map_fd, unsigned idx, uint64_t *val);

/* Name of object bit obj ("lobypass", "splice", "origdst"). */
const char *accel_obj_name(unsigned obj);

/* Path of a pinned entry: PIN/OBJ/NAME. */
int accel_pin_path(char *buf, size_t len, const char *pin, unsigned obj, const char *name);

/* Opens a pinned entry of obj (bpf_obj_get); -1 with errno. */
int accel_pin_open(const char *pin, unsigned obj, const char *name);

/* The routines' libbpf messages go to the log at debug level. */
void accel_quiet_libbpf(void);

/* 1 when the bypass was loaded with its flow control (the sk_msg program
 * that bounds the receiver's backlog), 0 without it or when not loaded. */
int accel_bypass_has_fc(const char *pin);

/* Bypass: add or remove a server port at run time (0 = every port). */
int accel_bypass_port(const char *pin, uint16_t port, int add, char *err, size_t errlen);

#endif
