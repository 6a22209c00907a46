/* SigV4 of a received request, checked against the credentials file
 * (docs/kms-server.md, "Principals and signatures"). */
#include "seal/kms_srv_auth.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <openssl/crypto.h>

#include "lib/secrets/sigv4.h"

#define SKEW_MAX_S (15 * 60)

static const char *hdr_get(const struct sigv4_request *r, const char *name)
{
	for (size_t i = 0; i < r->nheaders; i++)
		if (strcasecmp(r->headers[i].name, name) == 0)
			return r->headers[i].value;
	return NULL;
}

static bool signed_has(const char *list, const char *name)
{
	size_t n = strlen(name);

	for (const char *p = list; *p;) {
		size_t l = strcspn(p, ";");

		if (l == n && strncmp(p, name, n) == 0)
			return true;
		p += l;
		if (*p == ';')
			p++;
	}
	return false;
}

static int check_date(const char *amz, const struct sigv4_auth *a, time_t now,
		      struct kms_fault *f)
{
	struct tm tm = { 0 };
	const char *end;
	time_t t;

	if (!amz || strlen(amz) != 16 || !(end = strptime(amz, "%Y%m%dT%H%M%SZ", &tm)) || *end)
		return kms_fail(f, "IncompleteSignatureException", "X-Amz-Date is missing or malformed");
	if (strncmp(amz, a->date, 8) != 0)
		return kms_fail(f, "InvalidSignatureException",
				"the credential scope date differs from X-Amz-Date");
	t = timegm(&tm);
	if (t < now - SKEW_MAX_S || t > now + SKEW_MAX_S)
		return kms_fail(f, "InvalidSignatureException",
				"Signature expired: X-Amz-Date is more than 15 minutes from the server's time");
	return 0;
}

static int check_token(const struct kms_principal *p, const char *tok, struct kms_fault *f)
{
	if (!p->token && !tok)
		return 0;
	if (!p->token || !tok || strlen(tok) != strlen(p->token) ||
	    CRYPTO_memcmp(tok, p->token, strlen(tok)) != 0)
		return kms_fail(f, "UnrecognizedClientException", "The security token included in the request is invalid.");
	return 0;
}

const struct kms_principal *kms_auth_check(const struct kms_principals *ps,
					   const struct sigv4_request *r, time_t now,
					   struct kms_fault *f)
{
	const char *auth = hdr_get(r, "authorization");
	const struct kms_principal *p;
	struct sigv4_auth a;
	char err[256];

	if (!auth) {
		kms_fail(f, "MissingAuthenticationTokenException", "Request is missing Authentication Token");
		return NULL;
	}
	if (sigv4_parse_authorization(auth, strlen(auth), &a, err, sizeof(err)) != 0) {
		kms_fail(f, "IncompleteSignatureException", "Authorization: %s", err);
		return NULL;
	}
	if (strcmp(a.service, "kms") != 0) {
		kms_fail(f, "InvalidSignatureException", "Credential should be scoped to correct service: 'kms'.");
		return NULL;
	}
	if (!signed_has(a.signed_headers, "host") || !signed_has(a.signed_headers, "x-amz-date")) {
		kms_fail(f, "IncompleteSignatureException", "SignedHeaders must include host and x-amz-date");
		return NULL;
	}
	if (check_date(hdr_get(r, "x-amz-date"), &a, now, f) != 0)
		return NULL;
	p = kms_principal_find(ps, a.access_key);
	if (!p) {
		kms_fail(f, "UnrecognizedClientException", "The security token included in the request is invalid.");
		return NULL;
	}
	if (sigv4_verify(r, &a, p->secret_key, err, sizeof(err)) != 0) {
		kms_fail(f, "InvalidSignatureException",
			 "The request signature we calculated does not match the signature you provided.");
		return NULL;
	}
	if (check_token(p, hdr_get(r, "x-amz-security-token"), f) != 0)
		return NULL;
	return p;
}
