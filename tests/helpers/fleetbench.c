/* fleetbench: the fleet benchmark's baseline and its latency probe
 * (bench/scenarios/fleet.sh, docs/fleet.md).
 *
 *   fleetbench put URL BUCKET COUNT SIZE REPLICAS
 *       the bare libnats loop attestd's publisher is compared with: COUNT
 *       kvStore_Put of SIZE-byte values to COUNT distinct keys of BUCKET
 *       (created with REPLICAS and history 64 if absent, as attestd does);
 *       prints "put COUNT SECONDS RATE"
 *   fleetbench lat URL BUCKET DIR COUNT
 *       end to end: writes DIR/lat-N (4 KiB, closed), then waits until a
 *       watcher on URL (another node than attestd's) sees the version of
 *       that path in BUCKET; COUNT times, one at a time; prints
 *       "lat COUNT P50_US P99_US MAX_US"
 *
 * URL may carry user:password@ (libnats takes it from there). */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <nats/nats.h>

#include "lib/fleet/fleet_key.h"

#define WAIT_MS 30000

static int fail(const char *what, natsStatus s)
{
	fprintf(stderr, "fleetbench: %s: %s (%s)\n", what, natsStatus_GetText(s),
		nats_GetLastError(NULL) ? nats_GetLastError(NULL) : "");
	return 1;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static natsStatus bucket(jsCtx *js, const char *name, int replicas, kvStore **kv)
{
	kvConfig kc;
	natsStatus s = js_KeyValue(kv, js, name);

	if (s != NATS_NOT_FOUND)
		return s;
	kvConfig_Init(&kc);
	kc.Bucket = name;
	kc.History = 64;
	kc.Replicas = replicas;
	kc.StorageType = js_FileStorage;
	return js_CreateKeyValue(kv, js, &kc);
}

static int put_loop(jsCtx *js, char **argv)
{
	long count = atol(argv[4]), size = atol(argv[5]), i;
	int replicas = atoi(argv[6]);
	kvStore *kv = NULL;
	char key[64], *val;
	natsStatus s;
	double t0, dt;

	if (count < 1 || size < 1 || size > (1 << 20) || replicas < 1 || replicas > 5) {
		fprintf(stderr, "fleetbench: bad COUNT, SIZE or REPLICAS\n");
		return 2;
	}
	if ((s = bucket(js, argv[3], replicas, &kv)) != NATS_OK)
		return fail("bucket", s);
	if (!(val = malloc((size_t)size))) {
		kvStore_Destroy(kv);
		return 1;
	}
	memset(val, 'v', (size_t)size);
	t0 = now_s();
	for (i = 0; i < count; i++) {
		snprintf(key, sizeof(key), "bench.k%ld", i);
		if ((s = kvStore_Put(NULL, kv, key, val, (int)size)) != NATS_OK)
			break;
	}
	dt = now_s() - t0;
	free(val);
	kvStore_Destroy(kv);
	if (s != NATS_OK)
		return fail("put", s);
	printf("put %ld %.3f %.1f\n", count, dt, (double)count / dt);
	return 0;
}

static int write_file(const char *path, long i)
{
	char buf[4096];
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	ssize_t n;

	if (fd < 0)
		return -1;
	memset(buf, 'a' + (int)(i % 26), sizeof(buf));
	snprintf(buf, 32, "%ld %ld\n", i, (long)getpid());
	n = write(fd, buf, sizeof(buf));
	if (close(fd) < 0 || n != (ssize_t)sizeof(buf))
		return -1;
	return 0;
}

/* Waits for an entry whose key ends with ".SUFFIX". */
static natsStatus await_key(kvWatcher *w, const char *suffix)
{
	size_t sl = strlen(suffix);
	double end = now_s() + WAIT_MS / 1000.0;
	natsStatus s;

	while (now_s() < end) {
		kvEntry *e = NULL;
		const char *k;
		size_t kl;
		int hit;

		s = kvWatcher_Next(&e, w, WAIT_MS);
		if (s != NATS_OK)
			return s;
		if (!e)
			continue; /* the "initial values done" marker */
		k = kvEntry_Key(e);
		kl = strlen(k);
		hit = kl > sl && k[kl - sl - 1] == '.' && strcmp(k + kl - sl, suffix) == 0;
		kvEntry_Destroy(e);
		if (hit)
			return NATS_OK;
	}
	return NATS_TIMEOUT;
}

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static int lat_loop(jsCtx *js, char **argv)
{
	long count = atol(argv[5]), i;
	char path[4096], enc[FLEET_KEY_MAX];
	kvWatchOptions wo;
	kvWatcher *w = NULL;
	kvStore *kv = NULL;
	double *us, t0;
	natsStatus s;
	int rc = 0;

	if (count < 2 || count > 1000000 || !(us = calloc((size_t)count, sizeof(*us)))) {
		fprintf(stderr, "fleetbench: bad COUNT\n");
		return 2;
	}
	kvWatchOptions_Init(&wo);
	wo.IgnoreDeletes = true;
	if ((s = js_KeyValue(&kv, js, argv[3])) != NATS_OK ||
	    (s = kvStore_WatchAll(&w, kv, &wo)) != NATS_OK) {
		free(us);
		kvStore_Destroy(kv);
		return fail("watch", s);
	}
	for (i = 0; i < count && rc == 0; i++) {
		snprintf(path, sizeof(path), "%s/lat-%ld", argv[4], i);
		if (fleet_key_encode(path, strlen(path), enc, sizeof(enc)) < 0 ||
		    write_file(path, i) < 0) {
			perror(path);
			rc = 1;
			break;
		}
		t0 = now_s();
		if ((s = await_key(w, enc)) != NATS_OK)
			rc = fail(path, s);
		us[i] = (now_s() - t0) * 1e6;
	}
	kvWatcher_Destroy(w);
	kvStore_Destroy(kv);
	if (rc == 0) {
		qsort(us, (size_t)count, sizeof(*us), cmp_d);
		printf("lat %ld %.0f %.0f %.0f\n", count, us[count / 2], us[(count * 99) / 100],
		       us[count - 1]);
	}
	free(us);
	return rc;
}

int main(int argc, char **argv)
{
	natsConnection *nc = NULL;
	jsCtx *js = NULL;
	natsStatus s;
	int rc;

	if (argc < 2 || !((strcmp(argv[1], "put") == 0 && argc == 7) ||
			  (strcmp(argv[1], "lat") == 0 && argc == 6))) {
		fprintf(stderr, "usage: fleetbench put URL BUCKET COUNT SIZE REPLICAS\n"
				"       fleetbench lat URL BUCKET DIR COUNT\n");
		return 2;
	}
	s = natsConnection_ConnectTo(&nc, argv[2]);
	if (s == NATS_OK)
		s = natsConnection_JetStream(&js, nc, NULL);
	if (s != NATS_OK) {
		natsConnection_Destroy(nc);
		return fail("connect", s);
	}
	rc = argv[1][0] == 'p' ? put_loop(js, argv) : lat_loop(js, argv);
	jsCtx_Destroy(js);
	natsConnection_Destroy(nc);
	nats_Close();
	return rc;
}
