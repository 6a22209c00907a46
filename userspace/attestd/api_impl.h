/* Private to api*.c: the per-thread state and the reply helpers. */
#ifndef NEK_ATTESTD_API_IMPL_H
#define NEK_ATTESTD_API_IMPL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "attestd/api.h"
#include "attestd/apiquery.h"
#include "attestd/db.h"
#include "lib/attestation/att_doc.h"
#include "lib/attestation/fclaim.h"

struct nsm;

struct api_thread {
	struct api_shared *s;
	struct dbr *dbr;
	struct nsm *nsm; /* NULL: no NSM configured */
	uint8_t doc[ATT_DOC_MAX];
};

void api_reply_json(struct evhttp_request *req, int code, json_t *o);
void api_error(struct evhttp_request *req, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
json_t *api_hex(const uint8_t *p, size_t n);
json_t *api_base64(const uint8_t *p, size_t n);
void api_set_path(json_t *o, const char *key, const char *key_hex, const char *p, size_t n);
json_t *api_version_json(const struct dbr_version *v);
int api_num(struct evhttp_request *req, const struct apiq *q, const char *key, uint64_t min,
	    uint64_t max, uint64_t deflt, uint64_t *out);
const struct apiq_pair *api_path(struct api_thread *t, struct evhttp_request *req,
				 const struct apiq *q, bool required);

/* The claim of a version (pointers into v). */
void api_claim_of(const struct dbr_version *v, struct fclaim *c);
json_t *api_claim_json(const struct fclaim *c);

/* api_nsm.c */
int api_nsm_open(struct api_thread *t, char *err, size_t errlen);
void api_nsm_close(struct api_thread *t);
const char *api_nsm_kind(const struct api_thread *t);
void api_route_attestation(struct api_thread *t, struct evhttp_request *req,
			   const struct apiq *q);
void api_route_pcrs(struct api_thread *t, struct evhttp_request *req, const struct apiq *q);

#endif
