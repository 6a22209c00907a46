/* `status` of the acceleration objects: what is pinned, what it is attached
 * to, and the counters; see accel.h. */
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "lib/accel/accel.h"
#include "lib/accel/accel_impl.h"
#include "lib/core/jsonstr.h"

struct st {
	FILE *out;
	int json;
	int first; /* no comma before the next JSON element */
	const char *pin;
	const struct accel_desc *d;
};

static const char *or_num(const char *s, unsigned v, char *buf, size_t len)
{
	if (s)
		return s;
	snprintf(buf, len, "%u", v);
	return buf;
}

static void sep(struct st *s)
{
	if (s->json && !s->first)
		fputc(',', s->out);
	s->first = 0;
}

static void show_prog(struct st *s, const char *pinned, int fd)
{
	struct bpf_prog_info pi = { 0 };
	__u32 len = sizeof(pi);
	char nb[16];
	const char *type;

	if (bpf_obj_get_info_by_fd(fd, &pi, &len) < 0)
		return;
	type = or_num(libbpf_bpf_prog_type_str(pi.type), pi.type, nb, sizeof(nb));
	sep(s);
	if (s->json) {
		fprintf(s->out, "{\"pin\":");
		json_str_put(s->out, pinned);
		fprintf(s->out, ",\"id\":%u,\"name\":\"%s\",\"type\":\"%s\",\"run_cnt\":%llu}", pi.id,
			pi.name, type, (unsigned long long)pi.run_cnt);
	} else {
		fprintf(s->out, "  prog  %-22s id %-6u %s\n", pi.name, pi.id, type);
	}
}

/* Entries of a hash-like map, counted by walking its keys (bounded). */
static long count_entries(int fd, const struct bpf_map_info *mi)
{
	char key[64], next[64];
	long n = 0;
	void *prev = NULL;

	if (mi->key_size > sizeof(key))
		return -1;
	switch (mi->type) {
	case BPF_MAP_TYPE_HASH:
	case BPF_MAP_TYPE_LRU_HASH:
	case BPF_MAP_TYPE_SOCKHASH:
		break;
	default:
		return -1;
	}
	while (n <= (long)mi->max_entries && bpf_map_get_next_key(fd, prev, next) == 0) {
		memcpy(key, next, mi->key_size);
		prev = key;
		n++;
	}
	return n;
}

static void show_map(struct st *s, const char *pinned, int fd)
{
	struct bpf_map_info mi = { 0 };
	__u32 len = sizeof(mi);
	char nb[16];
	const char *type;
	long n;

	if (bpf_obj_get_info_by_fd(fd, &mi, &len) < 0)
		return;
	type = or_num(libbpf_bpf_map_type_str(mi.type), mi.type, nb, sizeof(nb));
	n = count_entries(fd, &mi);
	sep(s);
	if (s->json) {
		fprintf(s->out, "{\"pin\":");
		json_str_put(s->out, pinned);
		fprintf(s->out, ",\"id\":%u,\"name\":\"%s\",\"type\":\"%s\",\"max_entries\":%u",
			mi.id, mi.name, type, mi.max_entries);
		if (n >= 0)
			fprintf(s->out, ",\"entries\":%ld", n);
		fputc('}', s->out);
	} else if (mi.type == BPF_MAP_TYPE_SK_STORAGE) {
		fprintf(s->out, "  map   %-22s id %-6u %s, one per socket\n", mi.name, mi.id, type);
	} else if (n >= 0) {
		fprintf(s->out, "  map   %-22s id %-6u %s, %ld/%u entries\n", mi.name, mi.id, type,
			n, mi.max_entries);
	} else {
		fprintf(s->out, "  map   %-22s id %-6u %s, %u entries max\n", mi.name, mi.id, type,
			mi.max_entries);
	}
}

static void show_link(struct st *s, const char *pinned, int fd)
{
	struct bpf_link_info li = { 0 };
	__u32 len = sizeof(li);
	char nb[16], nb2[16], target[64] = "";
	const char *type, *at = NULL;

	if (bpf_obj_get_info_by_fd(fd, &li, &len) < 0)
		return;
	type = libbpf_bpf_link_type_str(li.type);
	if (!type && li.type == 14) /* BPF_LINK_TYPE_SOCKMAP: newer than libbpf 1.1 */
		type = "sockmap";
	type = or_num(type, li.type, nb, sizeof(nb));
	if (li.type == BPF_LINK_TYPE_CGROUP) {
		at = or_num(libbpf_bpf_attach_type_str(li.cgroup.attach_type),
			    li.cgroup.attach_type, nb2, sizeof(nb2));
		snprintf(target, sizeof(target), "cgroup id %llu",
			 (unsigned long long)li.cgroup.cgroup_id);
	} else if (li.type == BPF_LINK_TYPE_ITER) {
		snprintf(target, sizeof(target), "iterator");
	} else {
		snprintf(target, sizeof(target), "map");
	}
	sep(s);
	if (s->json) {
		fprintf(s->out, "{\"pin\":");
		json_str_put(s->out, pinned);
		fprintf(s->out, ",\"id\":%u,\"type\":\"%s\",\"prog_id\":%u", li.id, type,
			li.prog_id);
		if (li.type == BPF_LINK_TYPE_CGROUP)
			fprintf(s->out, ",\"cgroup_id\":%llu,\"attach_type\":\"%s\"",
				(unsigned long long)li.cgroup.cgroup_id, at);
		fputc('}', s->out);
	} else {
		fprintf(s->out, "  link  %-22s id %-6u %s%s%s, prog %u, %s\n", pinned, li.id, type,
			at ? " " : "", at ? at : "", li.prog_id, target);
	}
}

/* Entries of one kind (prefix), sorted by name for a stable listing. */
static void show_kind(struct st *s, const char *dir, const char *prefix,
		      void (*show)(struct st *, const char *, int))
{
	struct dirent **names;
	int n, i, fd;

	n = scandir(dir, &names, NULL, alphasort);
	if (n < 0)
		return;
	for (i = 0; i < n; i++) {
		if (strncmp(names[i]->d_name, prefix, strlen(prefix)) == 0) {
			fd = accel_pin_open(s->pin, s->d->bit, names[i]->d_name);
			if (fd >= 0) {
				show(s, names[i]->d_name, fd);
				close(fd);
			}
		}
		free(names[i]);
	}
	free(names);
}

static void show_counters(struct st *s)
{
	uint64_t v;
	unsigned i;

	for (i = 0; i < s->d->ncounters; i++) {
		if (accel_counter(s->pin, s->d->bit, i, &v) < 0)
			continue;
		if (s->json)
			fprintf(s->out, "%s\"%s\":%llu", i ? "," : "", s->d->counters[i],
				(unsigned long long)v);
		else
			fprintf(s->out, "%s%s=%llu", i ? " " : "  counters: ", s->d->counters[i],
				(unsigned long long)v);
	}
	if (!s->json)
		fputc('\n', s->out);
}

static void show_obj(struct st *s, const char *dir)
{
	static const struct {
		const char *prefix, *key;
		void (*show)(struct st *, const char *, int);
	} kinds[] = {
		{ "prog_", "programs", show_prog },
		{ "link_", "links", show_link },
		{ "map_", "maps", show_map },
	};
	unsigned k;

	if (s->json)
		fprintf(s->out, "\"%s\":{", s->d->name);
	else
		fprintf(s->out, "%s (%s)\n", s->d->name, dir);
	for (k = 0; k < 3; k++) {
		if (s->json)
			fprintf(s->out, "%s\"%s\":[", k ? "," : "", kinds[k].key);
		s->first = 1;
		show_kind(s, dir, kinds[k].prefix, kinds[k].show);
		if (s->json)
			fputc(']', s->out);
	}
	/* The one optional part: say when the kernel refused it. */
	if (s->d->bit == ACCEL_SPLICE) {
		int it = accel_splice_has_iter(s->pin);

		if (s->json)
			fprintf(s->out, ",\"backlog_iterator\":%s", it ? "true" : "false");
		else if (!it)
			fprintf(s->out, "  no backlog iterator: the kernel refused iter/sockmap; "
					"TCP pairs only, flushes read from TCP's counters\n");
	}
	if (s->json)
		fprintf(s->out, ",\"counters\":{");
	show_counters(s);
	if (s->json)
		fprintf(s->out, "}}");
}

int accel_status(const char *pin, FILE *out, int json)
{
	struct st s = { .out = out, .json = json, .pin = pin ? pin : ACCEL_PIN_DEFAULT };
	char dir[ACCEL_PATH_MAX];
	unsigned i, m = accel_loaded(s.pin);

	accel_quiet_libbpf();
	if (json) {
		fprintf(out, "{\"pin\":");
		json_str_put(out, s.pin);
		fprintf(out, ",\"loaded\":%s", m ? "true" : "false");
	} else if (!m) {
		fprintf(out, "nothing loaded under %s\n", s.pin);
	}
	for (i = 0; i < 3; i++) {
		s.d = &accel_descs[i];
		if (!(m & s.d->bit))
			continue;
		accel_pin_path(dir, sizeof(dir), s.pin, s.d->bit, NULL);
		if (json)
			fputc(',', out);
		show_obj(&s, dir);
	}
	if (json)
		fprintf(out, "}\n");
	return (int)m;
}
