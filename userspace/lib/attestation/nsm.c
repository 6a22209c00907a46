/* The NSM client: /dev/nsm through its ioctl, or the emulator in process;
 * see nsm.h and docs/attestation.md section 3. */
#include "lib/attestation/nsm.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "lib/attestation/nsm_emu.h"
#include "lib/attestation/nsm_proto.h"

/* The uapi header (linux/nsm.h) arrived in Linux 6.8; Debian 12's headers
 * predate it, so its three definitions are repeated here. */
struct nsm_iovec {
	uint64_t addr;
	uint64_t len;
};

struct nsm_raw {
	struct nsm_iovec request;
	struct nsm_iovec response;
};

#define NSM_MAGIC 0x0A
#define NSM_IOCTL_RAW _IOWR(NSM_MAGIC, 0x0, struct nsm_raw)

struct nsm {
	int fd;              /* the device, or -1 */
	struct nsm_emu *emu; /* or the emulator */
	pthread_mutex_t lock;
	uint8_t req[NSM_REQUEST_MAX];
	uint8_t resp[NSM_RESPONSE_MAX];
};

unsigned long nsm_ioctl_request(void)
{
	return NSM_IOCTL_RAW;
}

const char *nsm_strerror(int rc)
{
	const char *name;

	if (rc <= -NSM_ERR_BASE) {
		name = nsm_error_name(-rc - NSM_ERR_BASE);
		return name ? name : "unknown NSM error";
	}
	return strerror(-rc);
}

struct nsm *nsm_open(const char *spec, char *err, size_t errlen)
{
	struct nsm *h = calloc(1, sizeof(*h));

	if (!h) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	h->fd = -1;
	if (pthread_mutex_init(&h->lock, NULL) != 0) {
		free(h);
		snprintf(err, errlen, "pthread_mutex_init failed");
		return NULL;
	}
	if (spec && strncmp(spec, "emu:", 4) == 0) {
		h->emu = nsm_emu_open(spec + 4, err, errlen);
	} else {
		spec = spec ? spec : NSM_DEV_DEFAULT;
		h->fd = open(spec, O_RDWR | O_CLOEXEC);
		if (h->fd < 0)
			snprintf(err, errlen, "'%s': %s", spec, strerror(errno));
	}
	if (!h->emu && h->fd < 0) {
		nsm_close(h);
		return NULL;
	}
	return h;
}

void nsm_close(struct nsm *h)
{
	if (!h)
		return;
	if (h->fd >= 0)
		close(h->fd);
	nsm_emu_close(h->emu);
	pthread_mutex_destroy(&h->lock);
	free(h);
}

bool nsm_is_emulated(const struct nsm *h)
{
	return h->emu != NULL;
}

/* One request/response exchange; h->resp holds the response. */
static int exchange(struct nsm *h, size_t req_len, size_t *resp_len)
{
	struct nsm_raw raw = {
		.request = { (uint64_t)(uintptr_t)h->req, req_len },
		.response = { (uint64_t)(uintptr_t)h->resp, sizeof(h->resp) },
	};

	if (h->emu)
		return nsm_emu_process(h->emu, h->req, req_len, h->resp, sizeof(h->resp), resp_len);
	if (ioctl(h->fd, NSM_IOCTL_RAW, &raw) < 0)
		return errno == EMSGSIZE ? nsm_err(NSM_E_INPUT_TOO_LARGE) : -errno;
	if (raw.response.len > sizeof(h->resp))
		return -EPROTO;
	*resp_len = (size_t)raw.response.len;
	return 0;
}

/* Sends req and decodes the answer into r (pointing into h->resp: the
 * caller holds h->lock until it has copied what it needs). */
static int call(struct nsm *h, const struct nsm_req *req, struct nsm_resp *r)
{
	size_t req_len, resp_len;
	int rc;

	if (nsm_req_encode(req, h->req, sizeof(h->req), &req_len) < 0)
		return nsm_err(NSM_E_INPUT_TOO_LARGE);
	rc = exchange(h, req_len, &resp_len);
	if (rc < 0)
		return rc;
	if (nsm_resp_decode(h->resp, resp_len, req->op, r) < 0)
		return -EPROTO;
	return r->error ? nsm_err(r->error) : 0;
}

int nsm_describe(struct nsm *h, struct nsm_description *out)
{
	struct nsm_req q = { .op = NSM_OP_DESCRIBE_NSM };
	struct nsm_resp r;
	int rc;

	pthread_mutex_lock(&h->lock);
	rc = call(h, &q, &r);
	if (rc == 0)
		*out = r.desc;
	pthread_mutex_unlock(&h->lock);
	return rc;
}

/* Copies a PCR value out of a response. */
static int take_pcr(const struct nsm_resp *r, uint8_t *value, size_t *len)
{
	if (r->data.len == 0 || r->data.len > NSM_PCR_MAX_LEN)
		return -EPROTO;
	memcpy(value, r->data.ptr, r->data.len);
	*len = r->data.len;
	return 0;
}

int nsm_pcr_read(struct nsm *h, unsigned index, uint8_t *value, size_t *len, bool *locked)
{
	struct nsm_req q = { .op = NSM_OP_DESCRIBE_PCR, .index = (uint16_t)index };
	struct nsm_resp r;
	int rc;

	if (index > UINT16_MAX)
		return nsm_err(NSM_E_INVALID_INDEX);
	pthread_mutex_lock(&h->lock);
	rc = call(h, &q, &r);
	if (rc == 0 && (rc = take_pcr(&r, value, len)) == 0)
		*locked = r.lock;
	pthread_mutex_unlock(&h->lock);
	return rc;
}

int nsm_pcr_extend(struct nsm *h, unsigned index, const void *data, size_t data_len,
		   uint8_t *value, size_t *len)
{
	struct nsm_req q = { .op = NSM_OP_EXTEND_PCR, .index = (uint16_t)index,
			     .data = { data, data_len } };
	struct nsm_resp r;
	int rc;

	if (index > UINT16_MAX)
		return nsm_err(NSM_E_INVALID_INDEX);
	if (data_len > NSM_EXTEND_MAX)
		return nsm_err(NSM_E_INPUT_TOO_LARGE);
	pthread_mutex_lock(&h->lock);
	rc = call(h, &q, &r);
	if (rc == 0)
		rc = take_pcr(&r, value, len);
	pthread_mutex_unlock(&h->lock);
	return rc;
}

static int lock_call(struct nsm *h, enum nsm_op op, unsigned arg)
{
	struct nsm_req q = { .op = op, .index = (uint16_t)arg };
	struct nsm_resp r;
	int rc;

	if (arg > UINT16_MAX)
		return nsm_err(NSM_E_INVALID_INDEX);
	pthread_mutex_lock(&h->lock);
	rc = call(h, &q, &r);
	pthread_mutex_unlock(&h->lock);
	return rc;
}

int nsm_pcr_lock(struct nsm *h, unsigned index)
{
	return lock_call(h, NSM_OP_LOCK_PCR, index);
}

int nsm_pcr_lock_range(struct nsm *h, unsigned range)
{
	return lock_call(h, NSM_OP_LOCK_PCRS, range);
}

int nsm_random(struct nsm *h, void *buf, size_t len)
{
	struct nsm_req q = { .op = NSM_OP_GET_RANDOM };
	struct nsm_resp r;
	size_t done = 0, n;
	int rc = 0;

	pthread_mutex_lock(&h->lock);
	while (done < len) {
		rc = call(h, &q, &r);
		if (rc == 0 && r.data.len == 0)
			rc = -EPROTO;
		if (rc < 0)
			break;
		n = r.data.len < len - done ? r.data.len : len - done;
		memcpy((uint8_t *)buf + done, r.data.ptr, n);
		done += n;
	}
	pthread_mutex_unlock(&h->lock);
	return rc;
}

int nsm_attest(struct nsm *h, const struct nsm_attest_in *in, uint8_t *doc, size_t cap,
	       size_t *doc_len)
{
	static const struct nsm_attest_in none;
	struct nsm_req q = { .op = NSM_OP_ATTESTATION };
	struct nsm_resp r;
	int rc;

	if (!in)
		in = &none;
	q.att = *in;
	if (in->nonce.len > ATT_FIELD_MAX || in->user_data.len > ATT_FIELD_MAX ||
	    in->public_key.len > ATT_FIELD_MAX)
		return nsm_err(NSM_E_INPUT_TOO_LARGE);
	pthread_mutex_lock(&h->lock);
	rc = call(h, &q, &r);
	if (rc == 0 && r.data.len > cap)
		rc = -ENOBUFS;
	if (rc == 0) {
		memcpy(doc, r.data.ptr, r.data.len);
		*doc_len = r.data.len;
	}
	pthread_mutex_unlock(&h->lock);
	return rc;
}
