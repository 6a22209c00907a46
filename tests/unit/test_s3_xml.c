/* The strict S3 XML reader and the answers read on top of it. */
#include <criterion/criterion.h>
#include <string.h>

#include "lib/secrets/s3_xml.h"

static int keys(void *arg, const struct s3_list_entry *e)
{
	strcat(arg, e->key);
	strcat(arg, ";");
	return 0;
}

Test(s3_xml, answers)
{
	const char *err_doc = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>SignatureDoesNotMatch"
			      "</Code><Message>a &amp; b &#x263A;</Message></Error>";
	const char *init = "<InitiateMultipartUploadResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
			   "<Bucket>b</Bucket><Key>k</Key><UploadId>abc123</UploadId></InitiateMultipartUploadResult>";
	const char *list = "<ListBucketResult><IsTruncated>true</IsTruncated><NextContinuationToken>t1"
			   "</NextContinuationToken><Contents><Key>a</Key><Size>5</Size></Contents>"
			   "<!-- c --><Contents><Key>b c</Key><Size>0</Size></Contents></ListBucketResult>";
	struct s3_xml_error e;
	struct s3_list_page page;
	char err[256], id[64], got[64] = "";

	cr_assert_eq(s3_xml_error(err_doc, strlen(err_doc), &e), 1);
	cr_assert_str_eq(e.code, "SignatureDoesNotMatch");
	cr_assert_str_eq(e.message, "a & b \xe2\x98\xba");
	cr_assert_eq(s3_xml_upload_id(init, strlen(init), id, sizeof(id), err, sizeof(err)), 0, "%s", err);
	cr_assert_str_eq(id, "abc123");
	cr_assert_eq(s3_xml_upload_id(err_doc, strlen(err_doc), id, sizeof(id), err, sizeof(err)), -1);
	cr_assert(strstr(err, "SignatureDoesNotMatch"), "%s", err);
	cr_assert_eq(s3_xml_list(list, strlen(list), keys, got, &page, err, sizeof(err)), 0, "%s", err);
	cr_assert_str_eq(got, "a;b c;");
	cr_assert_eq(page.truncated, 1);
	cr_assert_str_eq(page.next, "t1");
	cr_assert_eq(page.count, 2);
}

Test(s3_xml, refuses)
{
	const char *bad[] = {
		"", "<a>", "<a></b>", "<a>x<b/></a>", "<!DOCTYPE a><a/>", "<a><![CDATA[x]]></a>",
		"<a>&bogus;</a>", "<a>&#0;</a>", "<a>&#xD800;</a>", "<a/><b/>", "<a x=1/>",
		"<a><b><c><d><e><f><g><h><i/></h></g></f></e></d></c></b></a>", "<a>-- <!-- x -- y --></a>",
	};
	struct s3_xml_error e;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_assert_eq(s3_xml_error(bad[i], strlen(bad[i]), &e), -1, "%s", bad[i]);
	cr_assert_eq(s3_xml_error("<a/>", 4, &e), 0);
}
