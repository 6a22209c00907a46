/* A nek-pre/1 batch client for tests (docs/umbral-proxy.md, op 4): signs one
 * batch of the given capsules with SK, sends it twice in one write (a
 * pipelined client), reads both answers, and writes the first answer's
 * cfrags as DIR/cf-I-J (capsule I, kfrag J, from 1) for seal decrypt
 * --cfrags to check end to end.
 *
 *   pre_batch MODE ADDR SK DIR CAPSULE...
 *
 * PRE_BATCH_DOC=FILE makes it op 5 with that attestation document;
 * PRE_BATCH_REPEAT=N sends the request N times (default 2, at most 16), all
 * answers read, the first kept.
 * MODE: ok      as above; prints "answers 2 capsules K cfrags N"
 *       forged  the signature's last bit flipped; prints the answer's status
 *               and message
 * Exit 0 when the proxy answered (whatever it answered), 1 otherwise. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lib/core/addr.h"
#include "lib/core/sock.h"
#include "seal/pre.h"
#include "seal/pre_proto.h"

static int write_cfrags(const char *dir, const uint8_t *b, size_t n)
{
	char path[4096], err[PRE_ERRLEN];
	size_t k = n >= 3 ? b[1] : 0, nk = n >= 3 ? b[2] : 0, o = 3;

	if (n < 3 || n != 3 + k * nk * UMB_CFRAG_LEN)
		return fprintf(stderr, "pre_batch: answer of %zu bytes for %zu x %zu\n", n, k, nk), -1;
	for (size_t i = 0; i < k; i++)
		for (size_t j = 0; j < nk; j++, o += UMB_CFRAG_LEN) {
			snprintf(path, sizeof(path), "%s/cf-%zu-%zu", dir, i + 1, j + 1);
			if (pre_write(path, b + o, UMB_CFRAG_LEN, err))
				return fprintf(stderr, "pre_batch: %s\n", err), -1;
		}
	printf("answers capsules %zu cfrags %zu\n", k, nk);
	return 0;
}

/* The answers of `times` pipelined copies; the first is kept in first/fn,
 * the others must have its status. */
static int answers(int fd, struct pre_rbuf *rb, unsigned times, uint8_t *first, size_t *fn,
		   char *err)
{
	const uint8_t *b;
	size_t bn;

	if (pre_frame_next(fd, rb, &b, &bn, err, PRE_ERRLEN))
		return -1;
	memcpy(first, b, bn);
	*fn = bn;
	for (unsigned i = 1; i < times && first[0] == PRE_OK; i++) {
		if (pre_frame_next(fd, rb, &b, &bn, err, PRE_ERRLEN))
			return -1;
		if (b[0] != first[0])
			return snprintf(err, PRE_ERRLEN, "answer %u: status %u", i + 1, b[0]), -1;
	}
	return 0;
}

static int exchange(int fd, const uint8_t *req, size_t n, unsigned times, uint8_t *first,
		    size_t *fn)
{
	struct pre_rbuf *rb = calloc(1, sizeof(*rb));
	struct pre_wbuf *wb = calloc(1, sizeof(*wb));
	char err[PRE_ERRLEN] = "out of memory";
	int rc = rb && wb ? 0 : -1;

	for (unsigned i = 0; rc == 0 && i < times; i++)
		rc = pre_wbuf_frame(fd, wb, req, n, err, sizeof(err));
	if (rc == 0)
		rc = pre_wbuf_flush(fd, wb, err, sizeof(err)) || answers(fd, rb, times, first, fn, err);
	if (rc)
		fprintf(stderr, "pre_batch: %s\n", err);
	free(rb);
	free(wb);
	return rc ? -1 : 0;
}

int main(int argc, char **argv)
{
	static struct umb_capsule caps[PRE_BATCH_MAX];
	static uint8_t req[PRE_REQ_MAX], ans[PRE_FRAME_MAX];
	const char *docp = getenv("PRE_BATCH_DOC"), *rep = getenv("PRE_BATCH_REPEAT");
	unsigned times = rep ? (unsigned)atoi(rep) : 2;
	uint8_t *doc = NULL;
	size_t doc_len = 0;
	char err[PRE_ERRLEN];
	unsigned k = (unsigned)(argc - 5);
	struct umb_sk sk;
	struct addr a;
	size_t n, an;
	int fd, rc;

	if (argc < 6 || k > PRE_BATCH_MAX || (strcmp(argv[1], "ok") && strcmp(argv[1], "forged")))
		return fprintf(stderr, "usage: pre_batch ok|forged ADDR SK DIR CAPSULE...\n"), 2;
	if (times < 1 || times > 16)
		return fprintf(stderr, "pre_batch: PRE_BATCH_REPEAT is 1..16\n"), 2;
	if (pre_load_sk(argv[3], &sk, err) || addr_parse(argv[2], &a, err, sizeof(err)) ||
	    (docp && pre_read(docp, PRE_DOC_MAX, &doc, &doc_len, err)))
		return fprintf(stderr, "pre_batch: %s\n", err), 1;
	for (unsigned i = 0; i < k; i++)
		if (pre_load_capsule(argv[5 + i], &caps[i], err))
			return fprintf(stderr, "pre_batch: %s\n", err), 1;
	rc = pre_req_build_batch(&sk, (uint64_t)time(NULL), caps, k, doc, doc_len, req, &n, err,
				 sizeof(err));
	free(doc);
	if (rc)
		return fprintf(stderr, "pre_batch: %s\n", err), 1;
	umb_sk_clear(&sk);
	if (strcmp(argv[1], "forged") == 0)
		req[n - 1] ^= 1;
	if ((fd = sock_connect(&a, 2000, 0, err, sizeof(err))) < 0)
		return fprintf(stderr, "pre_batch: %s\n", err), 1;
	pre_fd_timeouts(fd, 5000);
	rc = exchange(fd, req, n, times, ans, &an);
	close(fd);
	if (rc)
		return 1;
	if (ans[0] != PRE_OK)
		return printf("status %u: %.*s\n", ans[0], (int)(an - 1), (const char *)ans + 1), 0;
	return write_cfrags(argv[4], ans, an) ? 1 : 0;
}
