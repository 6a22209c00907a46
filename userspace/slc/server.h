/* slc listen: the enclave side. One event loop serves every connection;
 * each connection carries many streams (execs and transfers). */
#ifndef SLC_SERVER_H
#define SLC_SERVER_H

#include <signal.h>
#include <stdint.h>
#include <sys/signalfd.h>

#include "lib/core/addr.h"
#include "lib/core/evloop.h"
#include "lib/core/privdrop.h"
#include "slc/conn.h"
#include "slc/crypto.h"
#include "slc/transfer.h"

struct slc_srv_opts {
	struct addr listen;
	const char *root;
	const char *key_path;
	const char *authkeys_path;
	const char *nsm_dev;
	const char *emu_dir;
	int insecure;
	unsigned max_conns, max_execs, max_xfers;
	unsigned max_pending; /* connections that have not sent their hello */
	uint64_t handshake_ms;
	int backend;
	int has_user; /* --user: dropped to after binding and loading */
	struct privdrop_user user;
};

struct sx_exec;
struct sess;

enum stream_kind { ST_EXEC = 1, ST_RECV, ST_SEND };

struct stream {
	uint32_t id;
	enum stream_kind kind;
	struct sess *se;
	struct stream *next;
	struct sx_exec *exec;
	int counted; /* holds one of the server's transfer slots */
	union {
		struct slc_xrecv rx;
		struct slc_xsend tx;
	} u;
};

struct srv {
	const struct slc_srv_opts *o;
	struct ev_loop *l;
	int lfd, sigfd, rootfd;
	struct ev_op accept_op, sig_op, stop_op, retry_op;
	struct signalfd_siginfo si;
	EVP_PKEY *key;
	struct slc_authkeys ak;
	void *attest; /* attestation source, when --nsm or --emu */
	unsigned nconns, nexecs, nxfers, npending;
	unsigned max_pending; /* --max-pending, within what RLIMIT_NOFILE allows */
	int accept_paused;	  /* out of fds: accept again after a backoff */
	unsigned backoff_ms;
	uint64_t log_at_ms;	  /* rate limit of the accept warnings */
	unsigned log_dropped;
	struct sess *sessions;
	struct sx_exec *execs;
	int stopping;
};

struct sess {
	struct srv *s;
	struct slc_conn *c;
	struct sess *next, *prev;
	int state;
	int pending; /* counted in srv.npending: no hello yet */
	uint64_t born_ms; /* accepted at (CLOCK_MONOTONIC) */
	uint8_t chello[SLC_CHELLO_LEN];
	uint8_t *shello;
	size_t shello_len;
	uint8_t th[32];
	struct slc_kx kx;
	uint32_t last_stream;
	struct stream *streams;
	unsigned nstreams;
};

int slc_serve(const struct slc_srv_opts *o);

/* Ends a stream: unlinks and frees it (server.c). */
void sx_stream_end(struct stream *st);

#endif
