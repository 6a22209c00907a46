/* seal kms-server: the local KMS that enforces attestation policy
 * (docs/kms-server.md). Internal to the seal program. */
#ifndef NEK_SEAL_KMS_SRV_H
#define NEK_SEAL_KMS_SRV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "lib/secrets/kms_blob.h"
#include "lib/secrets/kms_creds.h"

#define KMS_BODY_MAX 65536
#define KMS_EC_MAX 64
#define KMS_EC_FIELD 1024
#define KMS_PRINCIPALS_MAX KMS_PROFILES_MAX
#define KMS_ARN_MAX 256
#define KMS_RANDOM_MAX 1024

/* An error answer: KMS's __type, a message, the HTTP status. */
struct kms_fault {
	const char *type;
	char msg[256];
	int http;
};

/* Sets f and returns -1. */
int kms_fail(struct kms_fault *f, const char *type, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

enum kms_op {
	KOP_CREATE_KEY,
	KOP_DESCRIBE_KEY,
	KOP_LIST_KEYS,
	KOP_ENCRYPT,
	KOP_DECRYPT,
	KOP_GENERATE_DATA_KEY,
	KOP_GENERATE_DATA_KEY_NP,
	KOP_GENERATE_RANDOM,
	KOP_PUT_KEY_POLICY,
	KOP_GET_KEY_POLICY,
};

/* A parsed request; strings point into root, blobs are malloc'd. */
struct kms_req {
	enum kms_op op;
	const char *action; /* "kms:Decrypt" */
	json_t *root;
	const char *key_id, *key_spec, *key_usage, *description, *policy, *policy_name, *marker;
	size_t policy_len;
	int nbytes, limit; /* 0: not given */
	uint8_t *blob, *pt, *att_doc;
	size_t blob_len, pt_len, att_len;
	struct kms_ec_pair ec[KMS_EC_MAX];
	size_t n_ec;
	bool recipient;
};

/* Parses the body of X-Amz-Target target ("TrentService.Decrypt"), at most
 * KMS_BODY_MAX bytes: JSON types (SerializationException), ranges and what
 * each operation requires (ValidationException), an unknown target
 * (UnknownOperationException). 0, or -1 with f; kms_req_free either way. */
int kms_req_parse(const char *target, const uint8_t *body, size_t len, struct kms_req *r,
		  struct kms_fault *f);
void kms_req_free(struct kms_req *r);

/* A principal of the credentials file. */
struct kms_principal {
	char profile[KMS_PROFILE_NAME_MAX + 1];
	char *access_key, *secret_key, *token;
	char arn[KMS_ARN_MAX];
};

struct kms_principals {
	struct kms_principal p[KMS_PRINCIPALS_MAX];
	size_t n;
};

/* Reads every profile of a shared-credentials file; account fills missing
 * principal_arn. 0, or -1 with err naming the file and line. */
int kms_principals_load(const char *path, const char *account, struct kms_principals *ps,
			char *err, size_t errlen);
int kms_principals_parse(const char *text, size_t len, const char *name, const char *account,
			 struct kms_principals *ps, char *err, size_t errlen);
void kms_principals_free(struct kms_principals *ps);
const struct kms_principal *kms_principal_find(const struct kms_principals *ps,
					       const char *access_key);

/* The state directory (docs/kms-server.md, "State directory"). */
struct kms_key {
	char id[KMS_KEYID_MAX + 1];
	char arn[KMS_ARN_MAX];
	long long created;
	char *description, *policy;
	uint8_t material[KMS_KEY_LEN];
};

struct kms_store {
	int dirfd;
	char dir[4096];
	uint8_t master[KMS_KEY_LEN];
};

int kms_store_open(struct kms_store *st, const char *dir, char *err, size_t errlen);
void kms_store_close(struct kms_store *st);
/* Loads key id; 1 when there is no such key, 0 found, -1 error. */
int kms_store_load(struct kms_store *st, const char *id, struct kms_key *k, char *err,
		   size_t errlen);
int kms_store_save(struct kms_store *st, const struct kms_key *k, char *err, size_t errlen);
void kms_key_clear(struct kms_key *k);
/* The key ids, sorted (malloc'd array of malloc'd strings). */
int kms_store_list(struct kms_store *st, char ***ids, size_t *n, char *err, size_t errlen);
/* Writes name in the state dir atomically (tmp, fsync, rename, dir fsync). */
int kms_store_write(struct kms_store *st, const char *name, const void *data, size_t len,
		    int mode, char *err, size_t errlen);

/* TLS material: makes the CA and server certificate at first start. */
struct ssl_ctx_st;
struct ssl_ctx_st *kms_tls_ctx(struct kms_store *st, const char *cert, const char *key,
			       char *err, size_t errlen);

struct att_verifier;

struct kms_server {
	struct kms_store st;
	struct kms_principals ps;
	struct att_verifier *ver;
	char account[13];
	char region[64];
	uint64_t max_age_ms;
};

/* Runs one parsed request for principal p: the JSON answer (malloc'd
 * text) or -1 with f. */
int kms_ops_run(struct kms_server *s, const struct kms_principal *p, struct kms_req *r,
		char **answer, struct kms_fault *f);

/* The HTTP(S) side: listens on addr until SIGINT/SIGTERM. */
int kms_http_run(struct kms_server *s, const char *listen, struct ssl_ctx_st *ssl,
		 const char *ready_file, char *err, size_t errlen);

#endif
