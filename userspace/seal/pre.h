/* seal pre: Umbral proxy re-encryption from files of umbral-pre's bytes
 * (docs/seal.md "pre", docs/umbral.md). */
#ifndef NEK_SEAL_PRE_H
#define NEK_SEAL_PRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/secrets/age.h"
#include "lib/secrets/umbral.h"

#define PRE_ERRLEN 320
#define PRE_MAX_DATA (256u << 20) /* the DEM is one-shot: the whole input in memory */

/* A whole file ('-': stdin) of at most max bytes; malloc'd. */
int pre_read(const char *path, size_t max, uint8_t **out, size_t *len, char *err);
/* -o by the outfile rule (NULL or '-': stdout). */
int pre_write(const char *path, const uint8_t *b, size_t n, char *err);
/* A new file of mode 0600; an existing one only with force. */
int pre_write_secret(const char *path, const uint8_t *b, size_t n, bool force, char *err);

int pre_load_sk(const char *path, struct umb_sk *sk, char *err);
int pre_load_pk(const char *path, struct umb_pk *pk, char *err);
int pre_load_capsule(const char *path, struct umb_capsule *c, char *err);
int pre_load_kfrag(const char *path, struct umb_kfrag *k, char *err);
int pre_load_cfrag(const char *path, struct umb_cfrag *c, char *err);

/* seal decrypt --umbral-key SK [--cfrags DIR --verifying-key PK]: the
 * owner's identity (no dir) or a receiver's with the cfrags in dir. */
int pre_umbral_identity(const char *sk, const char *dir, const char *vk,
			struct age_identity *id, char *err);

/* The capsule and PK_A of an age file's umbral stanza (the file's first
 * AGE_MAX_HEADER bytes are read). */
int pre_file_capsule(const char *in, struct umb_capsule *c, struct umb_pk *pk_a, char *err);
/* seal decrypt --umbral-key SK --proxy ADDR... --verifying-key PK IN: a
 * receiver's identity with the cfrags the proxies gave for IN's capsule
 * (docs/umbral-proxy.md), with the attestation document in file doc when
 * not NULL. Proxies that fail are reported and skipped. */
int pre_umbral_identity_proxies(const char *sk, const char *vk, const char *const *proxies,
				size_t np, int timeout_ms, const char *doc, const char *in,
				struct age_identity *id, char *err);

/* Each file of dir that is not hidden and is a regular file, handed to one
 * (with its index); more than max of them, or none, is an error naming
 * what (the objects' name, plural). *n gets the count. */
int pre_load_dir(const char *dir, size_t max, const char *what,
		 int (*one)(const char *path, size_t i, void *ctx, char *err), void *ctx,
		 size_t *n, char *err);

/* An option of a command's table: one that takes an argument stores optarg
 * in *arg; one that does not sets *flag to value. */
struct pre_opt {
	int c;
	const char **arg;
	bool *flag;
	bool value;
};
/* true when c is in t (zero-terminated), its slot set. */
bool pre_opt_take(int c, const struct pre_opt *t);
/* After getopt: the optional last argument IN into *in ("-" without one);
 * a usage error for more. */
int pre_opt_input(int argc, char **argv, const char **in);

/* seal pre bench, seal pre serve, seal pre stats */
int pre_cmd_bench(int argc, char **argv);
int pre_cmd_serve(int argc, char **argv);
int pre_cmd_stats(int argc, char **argv);
/* seal pre hop, forward, chain (docs/umbral-hops.md) */
int pre_cmd_hop(int argc, char **argv);
int pre_cmd_forward(int argc, char **argv);
int pre_cmd_chain(int argc, char **argv);
/* The header of an age file (its first AGE_MAX_HEADER bytes are read);
 * *used: the header's length in bytes. */
int pre_read_header(const char *in, struct age_header *h, size_t *used, char *err);

#endif
