/* Options, connection and buckets; see fleet_conn.h. */
#include "lib/fleet/fleet_conn.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/ssl.h>

#include "lib/core/errfmt.h"

#define FILE_MAX (64 * 1024) /* creds files and CA bundles are small */

void fleet_opts_init(struct fleet_opts *o)
{
	memset(o, 0, sizeof(*o));
	strcpy(o->prefix, "nek_");
	o->replicas = 3;
	o->history = 64;
	o->js_wait_ms = 2000;
}

void fleet_opts_free(struct fleet_opts *o)
{
	unsigned i;

	for (i = 0; i < o->nurls; i++)
		free(o->urls[i]);
	free(o->creds_file);
	if (o->password)
		explicit_bzero(o->password, strlen(o->password));
	if (o->token)
		explicit_bzero(o->token, strlen(o->token));
	free(o->user);
	free(o->password);
	free(o->token);
	free(o->ca_pem);
	free(o->tls_name);
	memset(o, 0, sizeof(*o));
}

static bool url_ok(const char *u)
{
	const char *host;

	if (strncmp(u, "nats://", 7) == 0)
		host = u + 7;
	else if (strncmp(u, "tls://", 6) == 0)
		host = u + 6;
	else
		return false;
	return *host && !strchr(host, ' ') && strlen(u) < 512;
}

int fleet_opts_urls(struct fleet_opts *o, const char *list, char *err, size_t errlen)
{
	char *copy = strdup(list), *save = NULL, *tok;
	int rc = 0;

	if (!copy)
		return errfmt(err, errlen, "out of memory");
	for (tok = strtok_r(copy, ",", &save); tok && rc == 0; tok = strtok_r(NULL, ",", &save)) {
		char red[512];

		fleet_url_redact(tok, red, sizeof(red));
		if (!url_ok(tok))
			rc = errfmt(err, errlen, "'%s': not a nats://HOST:PORT or tls://HOST:PORT URL",
				    red);
		else if (o->nurls >= FLEET_URLS_MAX)
			rc = errfmt(err, errlen, "at most %d URLs", FLEET_URLS_MAX);
		else if (!(o->urls[o->nurls] = strdup(tok)))
			rc = errfmt(err, errlen, "out of memory");
		else
			o->nurls++;
	}
	explicit_bzero(copy, strlen(list));
	free(copy);
	if (rc == 0 && o->nurls == 0)
		rc = errfmt(err, errlen, "no URL");
	return rc;
}

/* The whole of a small file, NUL-terminated. */
static char *slurp(const char *path, char *err, size_t errlen)
{
	FILE *f = fopen(path, "re");
	char *buf;
	size_t n;

	if (!f) {
		errfmt(err, errlen, "%s: %s", path, strerror(errno));
		return NULL;
	}
	buf = malloc(FILE_MAX + 1);
	if (!buf) {
		fclose(f);
		errfmt(err, errlen, "out of memory");
		return NULL;
	}
	n = fread(buf, 1, FILE_MAX + 1, f);
	if (ferror(f) || n > FILE_MAX || n == 0) {
		errfmt(err, errlen, "%s: %s", path,
		       ferror(f) ? "read error" : n ? "larger than 64 KiB" : "empty");
		fclose(f);
		free(buf);
		return NULL;
	}
	fclose(f);
	buf[n] = '\0';
	return buf;
}

int fleet_opts_creds(struct fleet_opts *o, const char *path, char *err, size_t errlen)
{
	char *text = slurp(path, err, errlen), *nl, *colon;
	int rc = 0;

	if (!text)
		return -1;
	if (strstr(text, "-----BEGIN NATS USER JWT-----")) {
		/* libnats reads the file at each connect and signs with its seed. */
		if (!(o->creds_file = strdup(path)))
			rc = errfmt(err, errlen, "out of memory");
		goto out;
	}
	if ((nl = strpbrk(text, "\r\n")))
		*nl = '\0';
	if (!*text) {
		rc = errfmt(err, errlen, "%s: the first line is empty", path);
		goto out;
	}
	colon = strchr(text, ':');
	if (colon) {
		*colon = '\0';
		o->user = strdup(text);
		o->password = strdup(colon + 1);
		if (!o->user || !o->password)
			rc = errfmt(err, errlen, "out of memory");
	} else if (!(o->token = strdup(text))) {
		rc = errfmt(err, errlen, "out of memory");
	}
out:
	explicit_bzero(text, strlen(text));
	free(text);
	return rc;
}

int fleet_opts_ca(struct fleet_opts *o, const char *path, char *err, size_t errlen)
{
	free(o->ca_pem);
	o->ca_pem = slurp(path, err, errlen);
	if (!o->ca_pem)
		return -1;
	if (!strstr(o->ca_pem, "-----BEGIN CERTIFICATE-----"))
		return errfmt(err, errlen, "%s: no PEM certificate in it", path);
	return 0;
}

int fleet_opts_prefix(struct fleet_opts *o, const char *prefix, char *err, size_t errlen)
{
	size_t i, n = strlen(prefix);

	if (n > FLEET_PREFIX_MAX)
		return errfmt(err, errlen, "'%s': longer than %d bytes", prefix, FLEET_PREFIX_MAX);
	for (i = 0; i < n; i++) {
		char c = prefix[i];

		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		      c == '_' || c == '-'))
			return errfmt(err, errlen, "'%s': only A-Z a-z 0-9 _ - are allowed", prefix);
	}
	memcpy(o->prefix, prefix, n + 1);
	o->prefix_set = true;
	return 0;
}

int fleet_opts_tls_name(struct fleet_opts *o, const char *name, char *err, size_t errlen)
{
	size_t i, n = strlen(name);

	if (n == 0 || n > FLEET_TLS_NAME_MAX)
		return errfmt(err, errlen, "'%s': 1 to %d bytes", name, FLEET_TLS_NAME_MAX);
	for (i = 0; i < n; i++) {
		char c = name[i];

		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '-' || c == ':' || c == '*' || c == '_'))
			return errfmt(err, errlen, "'%s': not a host name or address", name);
	}
	free(o->tls_name);
	if (!(o->tls_name = strdup(name)))
		return errfmt(err, errlen, "out of memory");
	return 0;
}

/* The host of scheme://[user[:pass]@]host[:port], brackets of an IPv6
 * literal removed. */
static int url_host(const char *url, char *out, size_t cap)
{
	const char *h = strstr(url, "://"), *at, *end;
	size_t n;

	if (!h)
		return -1;
	h += 3;
	at = strrchr(h, '@');
	if (at)
		h = at + 1;
	if (*h == '[') {
		h++;
		end = strchr(h, ']');
	} else {
		end = strchr(h, ':');
	}
	n = end ? (size_t)(end - h) : strlen(h);
	if (n == 0 || n >= cap)
		return -1;
	memcpy(out, h, n);
	out[n] = '\0';
	return 0;
}

int fleet_tls_name(const struct fleet_opts *o, char *out, size_t cap, char *err, size_t errlen)
{
	char host[FLEET_TLS_NAME_MAX + 1], red[512];
	unsigned i;

	if (o->tls_name) {
		snprintf(out, cap, "%s", o->tls_name);
		return 0;
	}
	for (i = 0; i < o->nurls; i++) {
		fleet_url_redact(o->urls[i], red, sizeof(red));
		if (url_host(o->urls[i], host, sizeof(host)) < 0)
			return errfmt(err, errlen, "'%s': no host in it", red);
		if (i == 0)
			snprintf(out, cap, "%s", host);
		else if (strcmp(out, host) != 0)
			return errfmt(err, errlen, "the URLs name different hosts (%s, %s): give the "
						   "name their certificates share", out, host);
	}
	return 0;
}

void fleet_url_redact(const char *url, char *out, size_t cap)
{
	const char *s = strstr(url, "://"), *at;

	at = s ? strchr(s + 3, '@') : NULL;
	if (!s || !at)
		snprintf(out, cap, "%s", url);
	else
		snprintf(out, cap, "%.*s***%s", (int)(s + 3 - url), url, at);
}

void fleet_nats_err(natsStatus s, char *err, size_t errlen, const char *what)
{
	natsStatus ls;
	const char *last = nats_GetLastError(&ls);

	/* libnats prefixes its source position: "(conn.c:1905): ". */
	if (last && last[0] == '(' && strstr(last, "): "))
		last = strstr(last, "): ") + 3;
	if (last && *last && ls == s)
		errfmt(err, errlen, "%s: %s", what, last);
	else
		errfmt(err, errlen, "%s: %s", what, natsStatus_GetText(s));
}

bool fleet_transient(natsStatus s)
{
	return s == NATS_TIMEOUT || s == NATS_NO_SERVER || s == NATS_CONNECTION_CLOSED ||
	       s == NATS_CONNECTION_DISCONNECTED || s == NATS_NOT_YET_CONNECTED ||
	       s == NATS_NO_RESPONDERS || s == NATS_IO_ERROR || s == NATS_STALE_CONNECTION;
}

/* The chain alone would accept any certificate the CA ever issued, for any
 * host; the name ties it to the server we meant to reach. */
static natsStatus set_tls(natsOptions *no, const struct fleet_opts *o)
{
	char name[FLEET_TLS_NAME_MAX + 1], err[600];
	natsStatus s;

	if (fleet_tls_name(o, name, sizeof(name), err, sizeof(err)) < 0)
		return NATS_INVALID_ARG;
	s = natsOptions_SetSecure(no, true);
	if (s == NATS_OK)
		s = natsOptions_SetCATrustedCertificates(no, o->ca_pem);
	if (s == NATS_OK)
		s = natsOptions_SetExpectedHostname(no, name);
	return s;
}

static natsStatus set_auth(natsOptions *no, const struct fleet_opts *o)
{
	natsStatus s = NATS_OK;

	if (o->creds_file)
		s = natsOptions_SetUserCredentialsFromFiles(no, o->creds_file, NULL);
	else if (o->user)
		s = natsOptions_SetUserInfo(no, o->user, o->password);
	else if (o->token)
		s = natsOptions_SetToken(no, o->token);
	if (s == NATS_OK && o->ca_pem)
		s = set_tls(no, o);
	return s;
}

static natsStatus make_options(natsOptions **out, const struct fleet_opts *o)
{
	natsOptions *no = NULL;
	natsStatus s = natsOptions_Create(&no);

	if (s == NATS_OK)
		s = natsOptions_SetServers(no, (const char **)o->urls, (int)o->nurls);
	if (s == NATS_OK)
		s = natsOptions_SetName(no, "nek-attestd");
	/* Once connected, libnats reconnects forever on its own; the caller
	 * retries the first connect. */
	if (s == NATS_OK)
		s = natsOptions_SetMaxReconnect(no, -1);
	if (s == NATS_OK)
		s = natsOptions_SetReconnectWait(no, 250);
	if (s == NATS_OK)
		s = natsOptions_SetTimeout(no, 2000);
	if (s == NATS_OK)
		s = set_auth(no, o);
	if (s != NATS_OK) {
		natsOptions_Destroy(no);
		return s;
	}
	*out = no;
	return NATS_OK;
}

int fleet_connect(const struct fleet_opts *o, struct fleet_conn *c, char *err, size_t errlen)
{
	natsOptions *no = NULL;
	jsOptions jo;
	natsStatus s;
	char red[512], what[600];

	char name[FLEET_TLS_NAME_MAX + 1];

	memset(c, 0, sizeof(*c));
	fleet_url_redact(o->urls[0], red, sizeof(red));
	snprintf(what, sizeof(what), "%s%s", red, o->nurls > 1 ? " (and the others)" : "");
	if (o->ca_pem && fleet_tls_name(o, name, sizeof(name), err, errlen) < 0)
		return -1;
	s = make_options(&no, o);
	if (s == NATS_OK)
		s = natsConnection_Connect(&c->nc, no);
	natsOptions_Destroy(no);
	if (s == NATS_OK) {
		jsOptions_Init(&jo);
		jo.Wait = o->js_wait_ms ? (int64_t)o->js_wait_ms : 2000;
		s = natsConnection_JetStream(&c->js, c->nc, &jo);
	}
	if (s != NATS_OK) {
		fleet_nats_err(s, err, errlen, what);
		fleet_disconnect(c);
		return -1;
	}
	return 0;
}

void fleet_disconnect(struct fleet_conn *c)
{
	jsCtx_Destroy(c->js);
	natsConnection_Destroy(c->nc);
	c->js = NULL;
	c->nc = NULL;
}

bool fleet_connected(const struct fleet_conn *c)
{
	return c->nc && natsConnection_Status(c->nc) == NATS_CONN_STATUS_CONNECTED;
}

int fleet_bucket_name(const struct fleet_opts *o, const char *suffix, bool compat, char *out,
		      size_t cap)
{
	const char *p = compat && !o->prefix_set ? "" : o->prefix;
	int n = snprintf(out, cap, "%s%s", p, suffix);

	return n < 0 || (size_t)n >= cap ? -1 : 0;
}

int fleet_bucket(struct fleet_conn *c, const struct fleet_opts *o, const char *suffix,
		 bool create, kvStore **kv, char *err, size_t errlen)
{
	bool compat = strncmp(suffix, "fs_", 3) == 0;
	char name[FLEET_BUCKET_MAX], what[FLEET_BUCKET_MAX + 16];
	kvConfig kc;
	natsStatus s;

	if (fleet_bucket_name(o, suffix, compat, name, sizeof(name)) < 0)
		return errfmt(err, errlen, "bucket name too long");
	snprintf(what, sizeof(what), "bucket %s", name);
	s = js_KeyValue(kv, c->js, name);
	if (s == NATS_NOT_FOUND && create) {
		kvConfig_Init(&kc);
		kc.Bucket = name;
		kc.History = (uint8_t)o->history;
		kc.Replicas = (int)o->replicas;
		kc.StorageType = js_FileStorage;
		s = js_CreateKeyValue(kv, c->js, &kc);
	}
	if (s != NATS_OK) {
		fleet_nats_err(s, err, errlen, what);
		*kv = NULL;
		return -1;
	}
	return 0;
}

static void comp_free(SSL_COMP *c)
{
	OPENSSL_free(c);
}

void fleet_lib_close(int64_t timeout_ms)
{
	/* libnats 3.4.1 registers an exit handler that sk_frees OpenSSL's
	 * compression-method stack behind its back (an OpenSSL 1.0 idiom, nats.c
	 * issue 904). Where OpenSSL's own exit handler runs after it (OpenSSL
	 * was in use first, as in attestd), that frees the stack again and the
	 * process dies at exit. So the stack is taken out of OpenSSL's hands and
	 * freed here, once: both handlers then find NULL, a no-op. TLS needs no
	 * compression methods (TLS 1.3 has none). */
	STACK_OF(SSL_COMP) *mine;

	(void)nats_CloseAndWait(timeout_ms);
	mine = SSL_COMP_set0_compression_methods(NULL);
	sk_SSL_COMP_pop_free(mine, comp_free);
}
