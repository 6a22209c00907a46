/* A tiny DNS server and client for the vsockfw DNS tests (no resolver or
 * dig needed on the test machine).
 *
 *   dnstest serve --udp IP:PORT --tcp IP:PORT
 *       Answers A queries: nK.test -> 198.18.K/256.K%256; big.test is
 *       truncated (TC) over UDP and 100 records over TCP; drop.test is never
 *       answered.
 *   dnstest query (--udp|--tcp) IP:PORT NAME [--clients N]
 *       Asks NAME (N clients at once, each from its own socket with the same
 *       query ID, names nK.test when N > 1); checks every answer and prints
 *       "ANSWERS FIRST_ADDRESS" for the first. Exit 0 when all are right.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define ID 0x1234

static int parse_ep(const char *s, struct sockaddr_storage *ss, socklen_t *len)
{
	char host[64];
	const char *colon = strrchr(s, ':');
	struct sockaddr_in *in = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;
	size_t n;

	if (!colon || (n = (size_t)(colon - s)) >= sizeof(host))
		return -1;
	memcpy(host, s, n);
	host[n] = '\0';
	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, host, &in->sin_addr) == 1) {
		in->sin_family = AF_INET;
		in->sin_port = htons((uint16_t)atoi(colon + 1));
		*len = sizeof(*in);
		return 0;
	}
	if (host[0] == '[' && host[n - 1] == ']') {
		host[n - 1] = '\0';
		if (inet_pton(AF_INET6, host + 1, &in6->sin6_addr) == 1) {
			in6->sin6_family = AF_INET6;
			in6->sin6_port = htons((uint16_t)atoi(colon + 1));
			*len = sizeof(*in6);
			return 0;
		}
	}
	return -1;
}

static size_t build_query(uint8_t *b, uint16_t id, const char *name)
{
	size_t off = 12;
	const char *p = name;

	memset(b, 0, 12);
	b[0] = (uint8_t)(id >> 8);
	b[1] = (uint8_t)id;
	b[2] = 0x01; /* RD */
	b[5] = 1;    /* QDCOUNT */
	while (*p) {
		const char *dot = strchr(p, '.');
		size_t l = dot ? (size_t)(dot - p) : strlen(p);

		b[off++] = (uint8_t)l;
		memcpy(b + off, p, l);
		off += l;
		p += l + (dot ? 1 : 0);
	}
	b[off++] = 0;
	b[off++] = 0, b[off++] = 1; /* A */
	b[off++] = 0, b[off++] = 1; /* IN */
	return off;
}

/* The question's name as text and the offset after the question; -1 if bad. */
static int question(const uint8_t *m, size_t len, char *name, size_t nlen)
{
	size_t off = 12, w = 0;

	while (off < len && m[off]) {
		size_t l = m[off++];

		if (l > 63 || off + l > len || w + l + 2 > nlen)
			return -1;
		if (w)
			name[w++] = '.';
		memcpy(name + w, m + off, l);
		w += l;
		off += l;
	}
	name[w] = '\0';
	return off + 5 <= len ? (int)(off + 5) : -1;
}

static uint32_t addr_for(const char *name)
{
	int k = 0;

	if (sscanf(name, "n%d.test", &k) != 1)
		k = 7;
	return 0xc6120000u | (uint32_t)(k & 0xffff); /* 198.18.x.y */
}

static size_t answer(const uint8_t *q, size_t qlen, uint8_t *a, int udp)
{
	char name[256];
	int qend = question(q, qlen, name, sizeof(name)), n, i;
	size_t off;
	uint32_t ip;

	if (qend < 0 || strcmp(name, "drop.test") == 0)
		return 0;
	memcpy(a, q, (size_t)qend);
	a[2] = 0x81, a[3] = 0x80; /* QR RD RA */
	n = strcmp(name, "big.test") == 0 ? (udp ? 0 : 100) : 1;
	if (udp && strcmp(name, "big.test") == 0)
		a[2] |= 0x02; /* TC */
	a[6] = (uint8_t)(n >> 8), a[7] = (uint8_t)n;
	off = (size_t)qend;
	for (i = 0; i < n; i++) {
		static const uint8_t rr[] = { 0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4 };

		memcpy(a + off, rr, sizeof(rr));
		off += sizeof(rr);
		ip = htonl(addr_for(name) + (uint32_t)i);
		memcpy(a + off, &ip, 4);
		off += 4;
	}
	return off;
}

static int read_full(int fd, uint8_t *b, size_t len)
{
	size_t got = 0;

	while (got < len) {
		ssize_t r = read(fd, b + got, len - got);

		if (r <= 0)
			return -1;
		got += (size_t)r;
	}
	return 0;
}

static void serve_tcp_client(int c)
{
	uint8_t q[65536], a[65536 + 2];
	size_t n, alen;

	while (read_full(c, q, 2) == 0) {
		n = (size_t)(q[0] << 8 | q[1]);
		if (n < 12 || read_full(c, q, n) < 0)
			break;
		alen = answer(q, n, a + 2, 0);
		if (!alen)
			continue;
		a[0] = (uint8_t)(alen >> 8), a[1] = (uint8_t)alen;
		if (write(c, a, alen + 2) != (ssize_t)(alen + 2))
			break;
	}
	close(c);
}

static int serve(const char *udp, const char *tcp)
{
	struct sockaddr_storage us, ts, cli;
	socklen_t ul, tl, cl;
	uint8_t q[65536], a[65536];
	struct pollfd p[2];
	int one = 1;
	ssize_t n;
	size_t alen;

	if (parse_ep(udp, &us, &ul) < 0 || parse_ep(tcp, &ts, &tl) < 0)
		return 2;
	p[0].fd = socket(us.ss_family, SOCK_DGRAM, 0);
	p[1].fd = socket(ts.ss_family, SOCK_STREAM, 0);
	setsockopt(p[1].fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(p[0].fd, (struct sockaddr *)&us, ul) < 0 ||
	    bind(p[1].fd, (struct sockaddr *)&ts, tl) < 0 || listen(p[1].fd, 16) < 0) {
		perror("dnstest serve");
		return 1;
	}
	p[0].events = p[1].events = POLLIN;
	for (;;) {
		if (poll(p, 2, -1) < 0)
			return 1;
		if (p[0].revents & POLLIN) {
			cl = sizeof(cli);
			n = recvfrom(p[0].fd, q, sizeof(q), 0, (struct sockaddr *)&cli, &cl);
			if (n >= 12 && (alen = answer(q, (size_t)n, a, 1)) > 0)
				sendto(p[0].fd, a, alen, 0, (struct sockaddr *)&cli, cl);
		}
		if (p[1].revents & POLLIN) {
			int c = accept(p[1].fd, NULL, NULL);

			if (c >= 0)
				serve_tcp_client(c);
		}
	}
}

/* Checks an answer to a query for name; returns the record count or -1. */
static int check(const uint8_t *m, size_t len, const char *name, uint32_t *first)
{
	char got[256];
	int off = question(m, len, got, sizeof(got)), n;

	if (len < 12 || off < 0 || (m[0] << 8 | m[1]) != ID || !(m[2] & 0x80) ||
	    strcmp(got, name) != 0)
		return -1;
	n = m[6] << 8 | m[7];
	if (n == 0) {
		*first = 0;
		return (m[2] & 0x02) ? -2 : 0;
	}
	if ((size_t)off + 16 > len)
		return -1;
	memcpy(first, m + off + 12, 4);
	*first = ntohl(*first);
	return *first == addr_for(name) ? n : -1;
}

static int query_tcp(const struct sockaddr_storage *ss, socklen_t sl, const char *name,
		     uint32_t *first)
{
	uint8_t b[65536 + 2], a[65536];
	int fd = socket(ss->ss_family, SOCK_STREAM, 0), n;
	size_t qlen = build_query(b + 2, ID, name), alen;
	struct timeval tv = { .tv_sec = 5 };

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	b[0] = (uint8_t)(qlen >> 8), b[1] = (uint8_t)qlen;
	if (connect(fd, (const struct sockaddr *)ss, sl) < 0 ||
	    write(fd, b, qlen + 2) != (ssize_t)(qlen + 2) || read_full(fd, a, 2) < 0) {
		close(fd);
		return -1;
	}
	alen = (size_t)(a[0] << 8 | a[1]);
	n = read_full(fd, a, alen) < 0 ? -1 : check(a, alen, name, first);
	close(fd);
	return n;
}

static int query_udp(const struct sockaddr_storage *ss, socklen_t sl, const char *name, int clients,
		     uint32_t *first, int *count)
{
	uint8_t b[512], a[65536];
	char nm[64];
	int fds[256], i, done = 0, bad = 0;
	struct pollfd p[256];

	if (clients > 256)
		return -1;
	for (i = 0; i < clients; i++) {
		fds[i] = socket(ss->ss_family, SOCK_DGRAM, 0);
		snprintf(nm, sizeof(nm), "n%d.test", i);
		size_t ql = build_query(b, ID, clients > 1 ? nm : name);

		if (sendto(fds[i], b, ql, 0, (const struct sockaddr *)ss, sl) < 0)
			return -1;
		p[i].fd = fds[i];
		p[i].events = POLLIN;
	}
	while (done + bad < clients) {
		if (poll(p, (nfds_t)clients, 3000) <= 0)
			break;
		for (i = 0; i < clients; i++) {
			uint32_t f;
			ssize_t n;
			int r;

			if (!(p[i].revents & POLLIN))
				continue;
			n = recv(fds[i], a, sizeof(a), 0);
			snprintf(nm, sizeof(nm), "n%d.test", i);
			r = n > 0 ? check(a, (size_t)n, clients > 1 ? nm : name, &f) : -1;
			if (r == -1)
				bad++;
			else
				done++;
			if (i == 0) {
				*first = f;
				*count = r;
			}
			p[i].fd = -1;
		}
	}
	for (i = 0; i < clients; i++)
		close(fds[i]);
	return done == clients ? 0 : -1;
}

int main(int argc, char **argv)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	uint32_t first = 0;
	int n = 0, clients = 1;

	if (argc == 6 && strcmp(argv[1], "serve") == 0 && strcmp(argv[2], "--udp") == 0 &&
	    strcmp(argv[4], "--tcp") == 0)
		return serve(argv[3], argv[5]);
	if (argc >= 5 && strcmp(argv[1], "query") == 0) {
		if (argc == 7 && strcmp(argv[5], "--clients") == 0)
			clients = atoi(argv[6]);
		if (parse_ep(argv[3], &ss, &sl) < 0 || clients < 1)
			return 2;
		if (strcmp(argv[2], "--tcp") == 0)
			n = query_tcp(&ss, sl, argv[4], &first);
		else if (query_udp(&ss, sl, argv[4], clients, &first, &n) < 0)
			n = -1;
		if (n == -1)
			return 1;
		printf("%d %u.%u.%u.%u\n", n, first >> 24, (first >> 16) & 255, (first >> 8) & 255,
		       first & 255);
		return 0;
	}
	fprintf(stderr, "usage: dnstest serve --udp IP:PORT --tcp IP:PORT\n"
			"       dnstest query --udp|--tcp IP:PORT NAME [--clients N]\n");
	return 2;
}
