/* Config files for `vsockfw run`; see config.h. */
#include "vsockfw/config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/core/errfmt.h"


int config_split(char *line, char **tok, int max, char *err, size_t errlen)
{
	char *r = line, *w = line;
	int n = 0;

	for (;;) {
		while (*r == ' ' || *r == '\t' || *r == '\r')
			r++;
		if (!*r || *r == '#')
			return n;
		if (n >= max)
			return errfmt(err, errlen, "more than %d words", max);
		tok[n++] = w;
		while (*r && *r != ' ' && *r != '\t' && *r != '\r') {
			if (*r != '"') {
				*w++ = *r++;
				continue;
			}
			for (r++; *r != '"'; r++) {
				if (!*r)
					return errfmt(err, errlen, "unterminated quote");
				if (*r == '\\' && (r[1] == '"' || r[1] == '\\'))
					r++;
				*w++ = *r;
			}
			r++;
		}
		/* w never passes r: the terminator lands on the separator (or on
		 * quote characters already consumed), never on unread input. */
		if (!*r) {
			*w = '\0';
			return n;
		}
		r++;
		*w++ = '\0';
	}
}

/* The whole file, bounded, NUL-terminated. */
static char *slurp(const char *path, char *err, size_t errlen)
{
	struct stat st;
	char *buf;
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0) {
		errfmt(err, errlen, "%s: %s", path, strerror(errno));
		return NULL;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size > CONFIG_MAX_BYTES) {
		errfmt(err, errlen, "%s: not a regular file of at most %u bytes", path,
		     CONFIG_MAX_BYTES);
		close(fd);
		return NULL;
	}
	buf = malloc((size_t)st.st_size + 1);
	if (!buf) {
		close(fd);
		errfmt(err, errlen, "%s: out of memory", path);
		return NULL;
	}
	n = read(fd, buf, (size_t)st.st_size);
	close(fd);
	if (n != st.st_size) {
		free(buf);
		errfmt(err, errlen, "%s: short read", path);
		return NULL;
	}
	buf[n] = '\0';
	if (strlen(buf) != (size_t)n) {
		free(buf);
		errfmt(err, errlen, "%s: contains a NUL byte", path);
		return NULL;
	}
	return buf;
}

static int mode_of(char **tok, int n, enum fw_mode *m, int *skip)
{
	static const struct {
		const char *name;
		enum fw_mode m;
	} modes[] = {
		{ "ip2vs", FW_IP2VS },	     { "vs2ip", FW_VS2IP },   { "ip2vs-tp", FW_IP2VS_TP },
		{ "vs2ip-tp", FW_VS2IP_TP }, { "tpp2vs", FW_TPP2VS },
	};
	size_t i;

	*skip = 0;
	if (strcmp(tok[0], "dns") == 0 && n >= 2) {
		*skip = 1;
		if (strcmp(tok[1], "stub") == 0)
			*m = FW_DNS_STUB;
		else if (strcmp(tok[1], "host") == 0)
			*m = FW_DNS_HOST;
		else
			return -1;
		return 0;
	}
	for (i = 0; i < sizeof(modes) / sizeof(modes[0]); i++)
		if (strcmp(tok[0], modes[i].name) == 0) {
			*m = modes[i].m;
			return 0;
		}
	return -1;
}

struct parser {
	const char *path;
	struct config *c;
	struct fw_opts dflt;
	int only_rules;
};

static int do_line(struct parser *ps, char **tok, int n, char *err, size_t errlen)
{
	struct config *c = ps->c;
	struct fw_global g2;
	char lerr[FW_ERR_MAX];
	enum fw_mode m;
	int skip, r;

	if (strcmp(tok[0], "global") == 0) {
		/* Forwarder options here become defaults for the lines below. */
		r = fw_parse(n, tok, FW_NONE, &ps->dflt, &c->g, err, errlen);
		return r == 1 ? errfmt(err, errlen, "--help in a config") : r;
	}
	if (strcmp(tok[0], "rules") == 0) {
		if (c->has_rules)
			return errfmt(err, errlen, "a second 'rules' line");
		c->has_rules = 1;
		r = rules_parse(n, tok, &c->rules, err, errlen);
		return r == 1 ? errfmt(err, errlen, "--help in a config") : r;
	}
	if (mode_of(tok, n, &m, &skip) < 0)
		return errfmt(err, errlen, "unknown command '%s'", tok[0]);
	if (ps->only_rules)
		return 0;
	if (c->nfw >= CONFIG_MAX_FW)
		return errfmt(err, errlen, "more than %d forwarders", CONFIG_MAX_FW);
	c->fw[c->nfw] = ps->dflt;
	/* Process-wide options belong on the global line. */
	g2 = c->g;
	r = fw_parse(n - skip, tok + skip, m, &c->fw[c->nfw], &g2, lerr, sizeof(lerr));
	if (r == 1)
		return errfmt(err, errlen, "--help in a config");
	/* On the command line the command name is the prefix already; here the
	 * line's mode is. */
	if (r < 0)
		return errfmt(err, errlen, "%s: %s", fw_mode_name(m), lerr);
	if (memcmp(&g2, &c->g, sizeof(g2)) != 0)
		return errfmt(err, errlen, "process-wide options go on the 'global' line");
	c->nfw++;
	return 0;
}

static int parse_text(struct parser *ps, char *text, char *err, size_t errlen)
{
	char line[CONFIG_MAX_LINE], *tok[CONFIG_MAX_TOKENS], lerr[FW_ERR_MAX];
	char *p = text, *nl;
	unsigned lineno = 0, first = 0;
	size_t len = 0;
	int n;

	while (*p) {
		nl = strchr(p, '\n');
		size_t l = nl ? (size_t)(nl - p) : strlen(p);

		lineno++;
		if (!len)
			first = lineno;
		if (len + l + 1 > sizeof(line))
			return errfmt(err, errlen, "%s:%u: line too long", ps->path, lineno);
		memcpy(line + len, p, l);
		len += l;
		line[len] = '\0';
		p = nl ? nl + 1 : p + l;
		/* A trailing backslash joins the next line. */
		if (len && line[len - 1] == '\\' && *p) {
			line[--len] = ' ';
			len++;
			continue;
		}
		len = 0;
		n = config_split(line, tok, CONFIG_MAX_TOKENS, lerr, sizeof(lerr));
		if (n < 0 || (n > 0 && do_line(ps, tok, n, lerr, sizeof(lerr)) < 0))
			return errfmt(err, errlen, "%s:%u: %s", ps->path, first, lerr);
	}
	return 0;
}

static int load(const char *path, struct config *c, int only_rules, char *err, size_t errlen)
{
	struct parser ps = { .path = path, .c = c, .only_rules = only_rules };
	char *text;
	int r;

	memset(c, 0, sizeof(*c));
	fw_global_defaults(&c->g);
	fw_opts_defaults(&ps.dflt, FW_NONE);
	rules_defaults(&c->rules);
	if (!only_rules) {
		c->fw = calloc(CONFIG_MAX_FW, sizeof(*c->fw));
		if (!c->fw)
			return errfmt(err, errlen, "out of memory");
	}
	text = slurp(path, err, errlen);
	if (!text) {
		config_free(c);
		return -1;
	}
	r = parse_text(&ps, text, err, errlen);
	free(text);
	if (r == 0 && !only_rules && !c->nfw)
		r = errfmt(err, errlen, "%s: no forwarder in the file", path);
	if (r < 0)
		config_free(c);
	return r;
}

int config_load(const char *path, struct config *c, char *err, size_t errlen)
{
	return load(path, c, 0, err, errlen);
}

void config_free(struct config *c)
{
	free(c->fw);
	c->fw = NULL;
	c->nfw = 0;
}

int config_rules(const char *path, struct rules_cfg *r, struct fw_global *g, char *err,
		 size_t errlen)
{
	struct config c;

	if (load(path, &c, 1, err, errlen) < 0)
		return -1;
	if (!c.has_rules)
		return errfmt(err, errlen, "%s: no 'rules' line", path);
	*r = c.rules;
	*g = c.g;
	return 0;
}
