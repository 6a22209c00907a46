/* libFuzzer target: the S3 XML reader, which reads what a server (or
 * whoever sits on the path to it) answers. Any input ends in a clean error
 * or a parse; the answer readers never write past their buffers. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/secrets/s3_xml.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int count(void *arg, const struct s3_list_entry *e)
{
	if (strlen(e->key) > S3_MAX_KEY)
		abort();
	(*(size_t *)arg)++;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data;
	struct s3_xml_error e;
	struct s3_list_page page;
	char err[256] = "", id[256];
	size_t n = 0;

	if (s3_xml_error(s, size, &e) == 1 && (strlen(e.code) >= sizeof(e.code)))
		abort();
	if (s3_xml_upload_id(s, size, id, sizeof(id), err, sizeof(err)) < 0 && err[0] == '\0')
		abort();
	err[0] = '\0';
	if (s3_xml_list(s, size, count, &n, &page, err, sizeof(err)) == 0 && n != page.count)
		abort();
	return 0;
}
