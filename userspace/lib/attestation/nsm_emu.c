/* The NSM emulator: answers NSM requests from state in a directory; see
 * nsm_emu.h and docs/attestation.md section 4. */
#include "lib/attestation/nsm_emu.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/pem.h>
#include <openssl/rand.h>

#include "lib/core/errfmt.h"
#include "lib/attestation/nsm_emu_ca.h"
#include "lib/attestation/nsm_proto.h"
#include "lib/core/parse.h"

#define EMU_PCRS 32
#define EMU_BOOT_LOCKED 0xffffu /* PCR0-15 are measured at boot and read-only */
#define EMU_RANDOM_LEN 256
#define STATE_MAGIC "nek-nsm-emu 1"
#define STATE_MAX 8192

struct nsm_emu {
	char dir[PATH_MAX - 32];
	int lock_fd;
	uint8_t cab[ATT_CABUNDLE_MAX][ATT_CERT_MAX];
	size_t cab_len[ATT_CABUNDLE_MAX];
	unsigned n_cab;
	X509 *instance;
	EVP_PKEY *instance_key;
	/* The current leaf, read from DIR under the lock. */
	uint8_t leaf[ATT_CERT_MAX];
	size_t leaf_len;
	EVP_PKEY *leaf_key;
	/* PCR state, read from DIR/state under the lock for every request. */
	char module_id[ATT_MODULE_ID_MAX + 1];
	uint8_t pcr[EMU_PCRS][ATT_PCR_LEN];
	uint32_t locked;
	uint8_t payload[ATT_DOC_MAX], doc[ATT_DOC_MAX];
	uint8_t rnd[EMU_RANDOM_LEN];
};

/* State file ------------------------------------------------------------ */

static int state_format(const struct nsm_emu *e, char *out, size_t cap, size_t *len)
{
	char hex[2 * ATT_PCR_LEN + 1];
	size_t n;
	int i, k;

	k = snprintf(out, cap, "%s\nmodule_id %s\ndigest SHA384\n", STATE_MAGIC, e->module_id);
	if (k < 0 || (size_t)k >= cap)
		return -1;
	n = (size_t)k;
	for (i = 0; i < EMU_PCRS; i++) {
		format_hex(e->pcr[i], ATT_PCR_LEN, hex);
		k = snprintf(out + n, cap - n, "pcr %d %s %s\n", i, hex,
			     e->locked & (1u << i) ? "locked" : "open");
		if (k < 0 || (size_t)k >= cap - n)
			return -1;
		n += (size_t)k;
	}
	*len = n;
	return 0;
}

static int state_save(const struct nsm_emu *e)
{
	char buf[STATE_MAX];
	size_t len;

	if (state_format(e, buf, sizeof(buf), &len) < 0)
		return -1;
	return emu_write_file(e->dir, "state", buf, len, 0644);
}

static int state_line_pcr(struct nsm_emu *e, const char *line, int want)
{
	char hex[2 * ATT_PCR_LEN + 2], lock[8], err[PARSE_ERR_MAX];
	size_t n;
	int idx;

	if (sscanf(line, "pcr %d %97s %7s", &idx, hex, lock) != 3 || idx != want)
		return -1;
	if (parse_hex(hex, e->pcr[idx], ATT_PCR_LEN, &n, err, sizeof(err)) < 0 || n != ATT_PCR_LEN)
		return -1;
	if (strcmp(lock, "locked") == 0)
		e->locked |= 1u << idx;
	else if (strcmp(lock, "open") != 0)
		return -1;
	return 0;
}

/* Parses the state text strictly: the exact line layout state_format writes. */
static int state_parse(struct nsm_emu *e, char *text)
{
	char *save, *line = strtok_r(text, "\n", &save);
	int i;

	e->locked = 0;
	if (!line || strcmp(line, STATE_MAGIC) != 0)
		return -1;
	line = strtok_r(NULL, "\n", &save);
	if (!line || strncmp(line, "module_id ", 10) != 0 || strlen(line + 10) == 0 ||
	    strlen(line + 10) > ATT_MODULE_ID_MAX)
		return -1;
	strcpy(e->module_id, line + 10);
	line = strtok_r(NULL, "\n", &save);
	if (!line || strcmp(line, "digest SHA384") != 0)
		return -1;
	for (i = 0; i < EMU_PCRS; i++) {
		line = strtok_r(NULL, "\n", &save);
		if (!line || state_line_pcr(e, line, i) < 0)
			return -1;
	}
	return strtok_r(NULL, "\n", &save) ? -1 : 0;
}

static int read_file(const char *dir, const char *name, char *buf, size_t cap, size_t *len)
{
	char path[PATH_MAX];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	n = read(fd, buf, cap - 1);
	close(fd);
	if (n < 0 || (size_t)n >= cap - 1)
		return -1;
	buf[n] = 0;
	*len = (size_t)n;
	return 0;
}

static int state_load(struct nsm_emu *e)
{
	char buf[STATE_MAX];
	size_t len;

	if (read_file(e->dir, "state", buf, sizeof(buf), &len) < 0)
		return -1;
	return state_parse(e, buf);
}

/* Certificates and keys -------------------------------------------------- */

static BIO *open_bio(const char *dir, const char *name)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return BIO_new_file(path, "r");
}

static int load_cabundle(struct nsm_emu *e)
{
	BIO *bio = open_bio(e->dir, "cabundle.pem");
	X509 *x;
	int n;

	if (!bio)
		return -1;
	while (e->n_cab < ATT_CABUNDLE_MAX && (x = PEM_read_bio_X509(bio, NULL, NULL, NULL))) {
		unsigned char *p = e->cab[e->n_cab];

		n = i2d_X509(x, NULL);
		if (n > 0 && n <= ATT_CERT_MAX && i2d_X509(x, &p) == n)
			e->cab_len[e->n_cab++] = (size_t)n;
		X509_free(e->instance);
		e->instance = x; /* the last one is the instance CA */
	}
	BIO_free(bio);
	return e->n_cab >= 2 ? 0 : -1;
}

static EVP_PKEY *load_key(const char *dir, const char *name)
{
	BIO *bio = open_bio(dir, name);
	EVP_PKEY *k = bio ? PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL) : NULL;

	BIO_free(bio);
	return k;
}

/* Loads DIR/leaf.{pem,key}; *na gets its notAfter. */
static int load_leaf(struct nsm_emu *e, int64_t *nb, int64_t *na)
{
	BIO *bio = open_bio(e->dir, "leaf.pem");
	X509 *x = bio ? PEM_read_bio_X509(bio, NULL, NULL, NULL) : NULL;
	unsigned char *p = e->leaf;
	struct tm tm;
	int n, rc = -1;

	BIO_free(bio);
	EVP_PKEY_free(e->leaf_key);
	e->leaf_key = NULL;
	if (!x)
		return -1;
	n = i2d_X509(x, NULL);
	if (n > 0 && n <= ATT_CERT_MAX && i2d_X509(x, &p) == n &&
	    ASN1_TIME_to_tm(X509_get0_notBefore(x), &tm) == 1) {
		*nb = (int64_t)timegm(&tm);
		if (ASN1_TIME_to_tm(X509_get0_notAfter(x), &tm) == 1) {
			*na = (int64_t)timegm(&tm);
			e->leaf_len = (size_t)n;
			e->leaf_key = load_key(e->dir, "leaf.key");
			rc = e->leaf_key && X509_check_private_key(x, e->leaf_key) == 1 ? 0 : -1;
		}
	}
	X509_free(x);
	return rc;
}

/* A leaf valid now and for EMU_LEAF_MARGIN more, issued if needed. */
static int current_leaf(struct nsm_emu *e, int64_t now)
{
	int64_t nb, na;
	char err[256];

	if (load_leaf(e, &nb, &na) == 0 && now >= nb && now + EMU_LEAF_MARGIN < na)
		return 0;
	if (emu_ca_issue_leaf(e->dir, e->instance, e->instance_key, e->module_id, now, err,
			      sizeof(err)) < 0)
		return -1;
	return load_leaf(e, &nb, &na);
}

/* Opening --------------------------------------------------------------- */

void nsm_emu_close(struct nsm_emu *e)
{
	if (!e)
		return;
	if (e->lock_fd >= 0)
		close(e->lock_fd);
	X509_free(e->instance);
	EVP_PKEY_free(e->instance_key);
	EVP_PKEY_free(e->leaf_key);
	free(e);
}

static int open_lock(const char *dir)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/lock", dir);
	return open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
}

struct nsm_emu *nsm_emu_open(const char *dir, char *err, size_t errlen)
{
	struct nsm_emu *e = calloc(1, sizeof(*e));

	if (!e) {
		errfmt(err, errlen, "out of memory");
		return NULL;
	}
	e->lock_fd = -1;
	if (strlen(dir) >= sizeof(e->dir)) {
		errfmt(err, errlen, "emulator directory name too long: '%.64s'", dir);
		goto fail;
	}
	strcpy(e->dir, dir);
	if (state_load(e) < 0) {
		errfmt(err, errlen, "'%s/state': missing or malformed (run 'attest emu init %s')",
			dir, dir);
		goto fail;
	}
	if (load_cabundle(e) < 0 || !(e->instance_key = load_key(dir, "instance.key")) ||
	    X509_check_private_key(e->instance, e->instance_key) != 1) {
		errfmt(err, errlen, "'%s': cabundle.pem or instance.key missing or unusable", dir);
		goto fail;
	}
	e->lock_fd = open_lock(dir);
	if (e->lock_fd < 0) {
		errfmt(err, errlen, "'%s/lock': %s", dir, strerror(errno));
		goto fail;
	}
	return e;
fail:
	nsm_emu_close(e);
	return NULL;
}

/* Requests --------------------------------------------------------------- */

static void describe(const struct nsm_emu *e, struct nsm_resp *r)
{
	r->desc.version_major = 1;
	r->desc.max_pcrs = EMU_PCRS;
	r->desc.locked_mask = e->locked;
	snprintf(r->desc.module_id, sizeof(r->desc.module_id), "%s", e->module_id);
	strcpy(r->desc.digest, "SHA384");
}

static void extend(struct nsm_emu *e, const struct nsm_req *q, struct nsm_resp *r, bool *dirty)
{
	EVP_MD_CTX *ctx;
	unsigned int n = 0;
	int ok;

	if (q->index >= EMU_PCRS) {
		r->error = NSM_E_INVALID_INDEX;
		return;
	}
	if (e->locked & (1u << q->index)) {
		r->error = NSM_E_READ_ONLY_INDEX;
		return;
	}
	if (q->data.len > NSM_EXTEND_MAX) {
		r->error = NSM_E_INPUT_TOO_LARGE;
		return;
	}
	ctx = EVP_MD_CTX_new();
	ok = ctx && EVP_DigestInit_ex(ctx, EVP_sha384(), NULL) == 1 &&
	     EVP_DigestUpdate(ctx, e->pcr[q->index], ATT_PCR_LEN) == 1 &&
	     EVP_DigestUpdate(ctx, q->data.ptr, q->data.len) == 1 &&
	     EVP_DigestFinal_ex(ctx, e->pcr[q->index], &n) == 1 && n == ATT_PCR_LEN;
	EVP_MD_CTX_free(ctx);
	if (!ok) {
		r->error = NSM_E_INTERNAL_ERROR;
		return;
	}
	*dirty = true;
	r->data.ptr = e->pcr[q->index];
	r->data.len = ATT_PCR_LEN;
}

static void lock(struct nsm_emu *e, const struct nsm_req *q, struct nsm_resp *r, bool *dirty)
{
	uint32_t mask;

	if (q->op == NSM_OP_LOCK_PCR) {
		if (q->index >= EMU_PCRS) {
			r->error = NSM_E_INVALID_INDEX;
			return;
		}
		mask = 1u << q->index;
	} else {
		if (q->index > EMU_PCRS) {
			r->error = NSM_E_INVALID_INDEX;
			return;
		}
		mask = q->index == 32 ? UINT32_MAX : (1u << q->index) - 1;
	}
	*dirty |= (e->locked | mask) != e->locked;
	e->locked |= mask;
}

static bool attest_args_ok(const struct nsm_attest_in *a)
{
	return a->nonce.len <= ATT_FIELD_MAX && a->user_data.len <= ATT_FIELD_MAX &&
	       a->public_key.len <= ATT_FIELD_MAX;
}

/* A document like the NSM's: every locked PCR, the current leaf, the CA
 * bundle, the caller's fields, signed by the leaf's key. */
static void attest(struct nsm_emu *e, const struct nsm_req *q, struct nsm_resp *r)
{
	struct att_doc d = { 0 };
	struct timespec ts;
	size_t plen, dlen;
	unsigned i;

	if (!attest_args_ok(&q->att)) {
		r->error = NSM_E_INPUT_TOO_LARGE;
		return;
	}
	clock_gettime(CLOCK_REALTIME, &ts);
	if (current_leaf(e, (int64_t)ts.tv_sec) < 0) {
		r->error = NSM_E_INTERNAL_ERROR;
		return;
	}
	snprintf(d.module_id, sizeof(d.module_id), "%s", e->module_id);
	strcpy(d.digest, "SHA384");
	d.timestamp_ms = (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
	d.pcr_mask = e->locked | 1; /* PCR0 is always locked; keep it even if edited */
	for (i = 0; i < EMU_PCRS; i++)
		d.pcr[i] = e->pcr[i];
	d.certificate = (struct att_bytes){ e->leaf, e->leaf_len };
	d.n_cabundle = e->n_cab;
	for (i = 0; i < e->n_cab; i++)
		d.cabundle[i] = (struct att_bytes){ e->cab[i], e->cab_len[i] };
	d.nonce = q->att.nonce;
	d.user_data = q->att.user_data;
	d.public_key = q->att.public_key;
	if (att_doc_encode_payload(&d, e->payload, sizeof(e->payload), &plen) < 0 ||
	    cose_es384_sign(e->leaf_key, e->payload, plen, false, e->doc, sizeof(e->doc), &dlen) < 0) {
		r->error = NSM_E_INTERNAL_ERROR;
		return;
	}
	r->data.ptr = e->doc;
	r->data.len = dlen;
}

static void handle(struct nsm_emu *e, const struct nsm_req *q, struct nsm_resp *r, bool *dirty)
{
	switch (q->op) {
	case NSM_OP_DESCRIBE_NSM:
		describe(e, r);
		break;
	case NSM_OP_DESCRIBE_PCR:
		if (q->index >= EMU_PCRS) {
			r->error = NSM_E_INVALID_INDEX;
			break;
		}
		r->lock = e->locked & (1u << q->index);
		r->data.ptr = e->pcr[q->index];
		r->data.len = ATT_PCR_LEN;
		break;
	case NSM_OP_EXTEND_PCR:
		extend(e, q, r, dirty);
		break;
	case NSM_OP_LOCK_PCR:
	case NSM_OP_LOCK_PCRS:
		lock(e, q, r, dirty);
		break;
	case NSM_OP_ATTESTATION:
		attest(e, q, r);
		break;
	case NSM_OP_GET_RANDOM:
		if (RAND_bytes(e->rnd, sizeof(e->rnd)) != 1) {
			r->error = NSM_E_INTERNAL_ERROR;
			break;
		}
		r->data.ptr = e->rnd;
		r->data.len = sizeof(e->rnd);
		break;
	default:
		r->error = NSM_E_INVALID_OPERATION;
		break;
	}
}

int nsm_emu_process(struct nsm_emu *e, const uint8_t *req, size_t req_len, uint8_t *resp,
		    size_t cap, size_t *resp_len)
{
	struct nsm_req q;
	struct nsm_resp r = { 0 };
	bool dirty = false;
	int rc = 0;

	if (flock(e->lock_fd, LOCK_EX) < 0)
		return -errno;
	if (state_load(e) < 0) {
		r.error = NSM_E_INTERNAL_ERROR;
	} else if (req_len > NSM_REQUEST_MAX) {
		r.error = NSM_E_INPUT_TOO_LARGE;
	} else if (nsm_req_decode(req, req_len, &q) < 0) {
		r.error = NSM_E_INVALID_ARGUMENT;
	} else {
		r.op = q.op;
		handle(e, &q, &r, &dirty);
	}
	if (dirty && state_save(e) < 0) {
		r.error = NSM_E_INTERNAL_ERROR;
		r.data.ptr = NULL;
	}
	if (nsm_resp_encode(&r, resp, cap, resp_len) < 0)
		rc = -errno;
	flock(e->lock_fd, LOCK_UN);
	return rc;
}

/* Setting up ------------------------------------------------------------- */

/* Goes into a one-line text file and into certificate names. */
static bool module_id_ok(const char *id)
{
	size_t i, n = strlen(id);

	if (n == 0 || n > ATT_MODULE_ID_MAX)
		return false;
	for (i = 0; i < n; i++)
		if (!((id[i] >= 'a' && id[i] <= 'z') || (id[i] >= 'A' && id[i] <= 'Z') ||
		      (id[i] >= '0' && id[i] <= '9') || strchr("-_.", id[i])))
			return false;
	return true;
}

/* PCR0-2 are the image measurements (random here, zero in debug mode),
 * PCR3-4 the IAM role and instance; all of 0-15 locked as after boot. */
static int initial_pcrs(struct nsm_emu *e, const struct nsm_emu_config *cfg)
{
	unsigned i;

	memset(e->pcr, 0, sizeof(e->pcr));
	for (i = cfg->debug ? 3 : 0; i <= 4; i++)
		if (RAND_bytes(e->pcr[i], ATT_PCR_LEN) != 1)
			return -1;
	for (i = 0; i < 16; i++)
		if (cfg->pcr_mask & (1u << i))
			memcpy(e->pcr[i], cfg->pcr[i], ATT_PCR_LEN);
	e->locked = EMU_BOOT_LOCKED;
	return 0;
}

static int init_state(const char *dir, const struct nsm_emu_config *cfg, const char *instance_id,
		      char *err, size_t errlen)
{
	struct nsm_emu *e = calloc(1, sizeof(*e));
	char enc[33];
	int rc = -1;

	if (!e)
		return errfmt(err, errlen, "out of memory");
	snprintf(e->dir, sizeof(e->dir), "%s", dir);
	if (cfg->module_id)
		snprintf(e->module_id, sizeof(e->module_id), "%s", cfg->module_id);
	else if (emu_random_hex(enc, 8) == 0)
		snprintf(e->module_id, sizeof(e->module_id), "%s-enc%s", instance_id, enc);
	if (!e->module_id[0] || initial_pcrs(e, cfg) < 0)
		errfmt(err, errlen, "cannot make the PCR state");
	else if (state_save(e) < 0)
		errfmt(err, errlen, "'%s/state': %s", dir, strerror(errno));
	else
		rc = 0;
	free(e);
	return rc;
}

/* The parents of dir, as `mkdir -p` makes them (0755 less the umask): a
 * first `attest emu init /var/lib/nek/emu` must not need a mkdir by hand. */
static int make_parents(const char *dir, char *err, size_t errlen)
{
	char path[PATH_MAX];
	size_t i, n = strlen(dir);

	if (n >= sizeof(path))
		return errfmt(err, errlen, "directory name too long: '%.64s'", dir);
	memcpy(path, dir, n + 1);
	for (i = 1; i < n; i++) {
		if (path[i] != '/' || path[i - 1] == '/')
			continue;
		path[i] = '\0';
		if (mkdir(path, 0755) < 0 && errno != EEXIST)
			return errfmt(err, errlen, "cannot create '%s': %s", path, strerror(errno));
		path[i] = '/';
	}
	return 0;
}

/* dir itself holds the CA's private keys: only its owner may enter it,
 * also when it existed before (a directory made by hand is often 0755). */
static int make_key_dir(const char *dir, char *err, size_t errlen)
{
	struct stat st;

	if (make_parents(dir, err, errlen) < 0)
		return -1;
	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		return errfmt(err, errlen, "cannot create '%s': %s", dir, strerror(errno));
	if (stat(dir, &st) < 0)
		return errfmt(err, errlen, "'%s': %s", dir, strerror(errno));
	if (!S_ISDIR(st.st_mode))
		return errfmt(err, errlen, "'%s' is not a directory", dir);
	if ((st.st_mode & 077) && chmod(dir, 0700) < 0)
		return errfmt(err, errlen, "cannot make '%s' mode 0700: %s", dir, strerror(errno));
	return 0;
}

/* A directory we may fill: new, empty, or ours with --force. */
static int prepare_dir(const char *dir, bool force, char *err, size_t errlen)
{
	char path[PATH_MAX];
	struct stat st;
	static const char *const old[] = { "leaf.pem", "leaf.key", NULL };
	int i;

	if (make_key_dir(dir, err, errlen) < 0)
		return -1;
	snprintf(path, sizeof(path), "%s/state", dir);
	if (stat(path, &st) == 0 && !force)
		return errfmt(err, errlen, "'%s' already holds an emulator (use --force to replace it)",
			       dir);
	/* A leaf from an old chain would not verify under the new one. */
	for (i = 0; old[i]; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, old[i]);
		if (unlink(path) < 0 && errno != ENOENT)
			return errfmt(err, errlen, "cannot remove '%s': %s", path, strerror(errno));
	}
	return 0;
}

int nsm_emu_init(const char *dir, const struct nsm_emu_config *cfg, char *err, size_t errlen)
{
	char hex[19], instance_id[24];
	struct nsm_emu *e;
	int rc;

	if (strlen(dir) >= sizeof(((struct nsm_emu *)0)->dir))
		return errfmt(err, errlen, "directory name too long: '%.64s'", dir);
	if (cfg->module_id && !module_id_ok(cfg->module_id))
		return errfmt(err, errlen, "module id '%.64s' must be 1-128 of A-Z a-z 0-9 - _ .",
			       cfg->module_id);
	if (prepare_dir(dir, cfg->force, err, errlen) < 0)
		return -1;
	if (emu_random_hex(hex, 9) < 0)
		return errfmt(err, errlen, "no randomness");
	snprintf(instance_id, sizeof(instance_id), "i-%.17s", hex);
	if (emu_ca_create(dir, instance_id, err, errlen) < 0 ||
	    init_state(dir, cfg, instance_id, err, errlen) < 0)
		return -1;
	/* Issue the first leaf now, which also proves the directory works. */
	e = nsm_emu_open(dir, err, errlen);
	if (!e)
		return -1;
	rc = flock(e->lock_fd, LOCK_EX) == 0 ? current_leaf(e, (int64_t)time(NULL)) : -1;
	if (rc < 0)
		errfmt(err, errlen, "cannot issue the enclave certificate in '%s'", dir);
	nsm_emu_close(e);
	return rc;
}
