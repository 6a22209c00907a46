/* Captures what a block of code writes to a file descriptor (unit tests). */
#ifndef NEK_TEST_CAPTURE_H
#define NEK_TEST_CAPTURE_H

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct capture {
	int fd, saved;
	FILE *tmp;
};

static inline void capture_start(struct capture *c, int fd)
{
	fflush(NULL);
	c->fd = fd;
	c->tmp = tmpfile();
	cr_assert(c->tmp);
	c->saved = dup(fd);
	dup2(fileno(c->tmp), fd);
}

/* Returns a malloc'ed NUL-terminated copy of the output. */
static inline char *capture_end(struct capture *c)
{
	long n;
	char *s;

	fflush(NULL);
	dup2(c->saved, c->fd);
	close(c->saved);
	n = ftell(c->tmp);
	s = calloc(1, (size_t)n + 1);
	rewind(c->tmp);
	if (n > 0)
		cr_assert_eq(fread(s, 1, (size_t)n, c->tmp), (size_t)n);
	fclose(c->tmp);
	return s;
}

#endif
