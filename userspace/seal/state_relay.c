/* seal state save: the archive stream is read ahead, into at most
 * RELAY_BLOCKS x RELAY_BLOCK bytes of memory, while the attested KMS call
 * that yields the file key is still under way; once the key is there
 * (state_relay_go) the buffer and then the rest of the stream flow on to the
 * ciphers. So walking the tree and the KMS round trip overlap. */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/core/errfmt.h"
#include "lib/core/fdio.h"
#include "seal/state.h"

#define RELAY_BLOCK (1u << 20)
#define RELAY_BLOCKS 32

struct relay {
	pthread_t th;
	pthread_mutex_t m;
	pthread_cond_t c;
	int in, out, go, stop, rc;
	uint8_t *blk[RELAY_BLOCKS];
	size_t len[RELAY_BLOCKS], n;
	char err[STATE_ERRLEN];
};

static int wait_turn(struct relay *r)
{
	int go;

	pthread_mutex_lock(&r->m);
	while (!r->go && !r->stop)
		pthread_cond_wait(&r->c, &r->m);
	go = r->go && !r->stop;
	pthread_mutex_unlock(&r->m);
	return go;
}

static int started(struct relay *r)
{
	int go;

	pthread_mutex_lock(&r->m);
	go = r->go || r->stop;
	pthread_mutex_unlock(&r->m);
	return go;
}

/* Reads ahead until the key is there, the buffer is full or the stream
 * ends. 1 at the end of the stream, 0 otherwise, -1 on a read error. */
static int read_ahead(struct relay *r)
{
	while (r->n < RELAY_BLOCKS && !started(r)) {
		size_t i = r->n;
		ssize_t got;

		if (!r->blk[i] && !(r->blk[i] = malloc(RELAY_BLOCK)))
			return errfmt(r->err, sizeof(r->err), "out of memory");
		got = read(r->in, r->blk[i] + r->len[i], RELAY_BLOCK - r->len[i]);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0)
			return errfmt(r->err, sizeof(r->err), "the archive stream: %s", strerror(errno));
		if (got == 0)
			return 1;
		r->len[i] += (size_t)got;
		if (r->len[i] == RELAY_BLOCK)
			r->n++;
	}
	return 0;
}

static int flush_rest(struct relay *r, int at_end)
{
	uint8_t *buf;
	ssize_t got;

	for (size_t i = 0; i <= r->n && i < RELAY_BLOCKS; i++)
		if (r->len[i] && fd_write_all(r->out, r->blk[i], r->len[i]) < 0)
			return errfmt(r->err, sizeof(r->err), "to the ciphers: %s", strerror(errno));
	if (at_end)
		return 0;
	buf = r->blk[0] ? r->blk[0] : malloc(RELAY_BLOCK);
	r->blk[0] = buf;
	if (!buf)
		return errfmt(r->err, sizeof(r->err), "out of memory");
	while ((got = read(r->in, buf, RELAY_BLOCK)) != 0) {
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0)
			return errfmt(r->err, sizeof(r->err), "the archive stream: %s", strerror(errno));
		if (fd_write_all(r->out, buf, (size_t)got) < 0)
			return errfmt(r->err, sizeof(r->err), "to the ciphers: %s", strerror(errno));
	}
	return 0;
}

static void *state_relay_main(void *arg)
{
	struct relay *r = arg;
	int end = read_ahead(r);

	if (end < 0)
		r->rc = -1;
	else if (wait_turn(r))
		r->rc = flush_rest(r, end);
	/* Closing both ends wakes both neighbours: the archive thread with
	 * EPIPE when we stopped early, the ciphers with the end of input. */
	close(r->in);
	close(r->out);
	return NULL;
}

struct relay *state_relay_start(int in, int out, char *err, size_t errlen)
{
	struct relay *r = calloc(1, sizeof(*r));

	if (!r) {
		errfmt(err, errlen, "out of memory");
		return NULL;
	}
	r->in = in;
	r->out = out;
	pthread_mutex_init(&r->m, NULL);
	pthread_cond_init(&r->c, NULL);
	if (pthread_create(&r->th, NULL, state_relay_main, r) != 0) {
		pthread_mutex_destroy(&r->m);
		pthread_cond_destroy(&r->c);
		free(r);
		errfmt(err, errlen, "cannot start a thread");
		return NULL;
	}
	return r;
}

static void signal_relay(struct relay *r, int go)
{
	pthread_mutex_lock(&r->m);
	if (go)
		r->go = 1;
	else
		r->stop = 1;
	pthread_cond_signal(&r->c);
	pthread_mutex_unlock(&r->m);
}

void state_relay_go(struct relay *r)
{
	signal_relay(r, 1);
}

int state_relay_join(struct relay *r, int stop, char *err, size_t errlen)
{
	int rc;

	if (stop)
		signal_relay(r, 0);
	pthread_join(r->th, NULL);
	rc = r->rc;
	if (rc < 0)
		errfmt(err, errlen, "%s", r->err);
	for (size_t i = 0; i < RELAY_BLOCKS; i++)
		free(r->blk[i]);
	pthread_mutex_destroy(&r->m);
	pthread_cond_destroy(&r->c);
	free(r);
	return rc;
}
