/* The NATS side of the fleet (docs/fleet.md sections 1, 3 and 6): options
 * loaded once at start (so a privilege drop later loses nothing), a
 * JetStream connection that reconnects on its own, and buckets bound or
 * created. libnats does the protocol; this file only sets it up. */
#ifndef NEK_FLEET_CONN_H
#define NEK_FLEET_CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <nats/nats.h>

#define FLEET_URLS_MAX 8
#define FLEET_PREFIX_MAX 32
#define FLEET_BUCKET_MAX (FLEET_PREFIX_MAX + 16)
#define FLEET_TLS_NAME_MAX 253

struct fleet_opts {
	char *urls[FLEET_URLS_MAX];
	unsigned nurls;
	char *creds_file;	/* a NATS .creds file (JWT + seed), or NULL */
	char *user, *password, *token; /* from a USER:PASSWORD or token file */
	char *ca_pem;		/* CA certificates, PEM text, or NULL */
	char *tls_name;		/* the name the server's certificate must hold, or NULL */
	char prefix[FLEET_PREFIX_MAX + 1];
	bool prefix_set;
	unsigned replicas, history;
	bool compat;
	unsigned js_wait_ms; /* a JetStream request's answer, default 2000 */
};

/* Defaults (prefix "nek_", replicas 3, history 64). */
void fleet_opts_init(struct fleet_opts *o);
/* Parses URL[,URL...]: nats:// or tls://, at most FLEET_URLS_MAX. */
int fleet_opts_urls(struct fleet_opts *o, const char *list, char *err, size_t errlen);
/* Reads --fleet-creds FILE / --fleet-tls-ca PEM now. */
int fleet_opts_creds(struct fleet_opts *o, const char *path, char *err, size_t errlen);
int fleet_opts_ca(struct fleet_opts *o, const char *path, char *err, size_t errlen);
int fleet_opts_prefix(struct fleet_opts *o, const char *prefix, char *err, size_t errlen);
/* --fleet-tls-name NAME: a DNS name or an IP address, at most 253 bytes. */
int fleet_opts_tls_name(struct fleet_opts *o, const char *name, char *err, size_t errlen);
/* The name a server's certificate is checked against: --fleet-tls-name, else
 * the one host every URL names. URLs with different hosts and no name are
 * an error (libnats checks one name for the whole pool). */
int fleet_tls_name(const struct fleet_opts *o, char *out, size_t cap, char *err, size_t errlen);
void fleet_opts_free(struct fleet_opts *o);

/* url without its user information (the user part becomes three stars), for logs. */
void fleet_url_redact(const char *url, char *out, size_t cap);

struct fleet_conn {
	natsConnection *nc;
	jsCtx *js;
};

/* Connects (one attempt over every URL) and opens JetStream. On failure
 * err names the first server (redacted) and libnats's reason. */
int fleet_connect(const struct fleet_opts *o, struct fleet_conn *c, char *err, size_t errlen);
void fleet_disconnect(struct fleet_conn *c);
bool fleet_connected(const struct fleet_conn *c);

/* Bucket PREFIX+suffix: bound, or created with the options' history and
 * replicas when create is set and it does not exist. */
int fleet_bucket(struct fleet_conn *c, const struct fleet_opts *o, const char *suffix,
		 bool create, kvStore **kv, char *err, size_t errlen);
/* The bucket name PREFIX+suffix (for compat: the bare suffix unless a
 * prefix was given). */
int fleet_bucket_name(const struct fleet_opts *o, const char *suffix, bool compat, char *out,
		      size_t cap);

/* Releases libnats's threads and globals (after the last connection is
 * destroyed), leaving OpenSSL able to clean up at exit. */
void fleet_lib_close(int64_t timeout_ms);

/* libnats's status and its thread's last error text, as one line. */
void fleet_nats_err(natsStatus s, char *err, size_t errlen, const char *what);
/* True for the errors that mean "the cluster is not reachable now". */
bool fleet_transient(natsStatus s);

#endif
