/* DNS over a vsock stream (docs/vsockfw.md "DNS"): the in-enclave stub
 * (UDP and TCP on one port) and the host end that asks the resolver. */
#ifndef VSOCKFW_DNS_H
#define VSOCKFW_DNS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "vsockfw/fw.h"

#define DNS_HDR_LEN 12
#define DNS_MSG_MAX 65535
#define DNS_STUB_INFLIGHT 1024
#define DNS_HOST_INFLIGHT 256
#define DNS_QUEUE_MAX (1u << 20)

/* Lifecycle, called by fw.c for FW_DNS_STUB and FW_DNS_HOST forwarders. */
int dns_start(struct fw_proxy *p);
void dns_stop(struct fw_proxy *p);
void dns_tick(struct fw_proxy *p, uint64_t now_ms);
/* Drops every query and stream (kill-switch, end of the drain time). */
void dns_reset(struct fw_proxy *p);
/* Queries and streams in flight (for the drain). */
unsigned dns_active(const struct fw_proxy *p);
/* 1 once stopped and nothing of it is armed. */
int dns_idle(const struct fw_proxy *p);
/* After the loop is gone. */
void dns_free(struct fw_proxy *p);

/* The next frame of a stream: its total length (2 + message) with *msglen
 * set, 0 when more bytes are needed, -1 for a frame shorter than a DNS
 * header (the stream is not DNS). Bytes from the other side: fuzzed. */
int dns_frame(const uint8_t *buf, size_t len, size_t *msglen);
/* Message checks, exposed for tests: 0 or -1. A query has QR clear, an
 * answer QR set; both at least a header long. */
int dns_check(const uint8_t *m, size_t len, int answer);
/* The first nameserver of a resolv.conf, port 53; 0 or -1. */
int dns_resolv_conf(const char *path, struct addr *a);

#endif
