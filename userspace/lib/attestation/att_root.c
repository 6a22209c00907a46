/* The AWS Nitro Enclaves Root-G1 certificate, the trust anchor of every real
 * attestation document.
 *
 * AWS publishes it as AWS_NitroEnclaves_Root-G1.zip, whose SHA-256 is
 * 8cf60e2b2efca96c6a9e71e851d00c1b6991cc09eadbe64a6a1d1b1eb9faff7c
 * (docs.aws.amazon.com/enclaves/latest/user/verify-root.html); the PEM below
 * is the text of the root.pem inside that archive. Its DER hashes to
 * ATT_AWS_ROOT_SHA256; att_aws_root_der() refuses to return anything else, so
 * an edit to this text cannot silently change the trust anchor.
 */
#include <pthread.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "lib/attestation/att_verify.h"
#include "lib/core/parse.h"

static const char aws_root_pem[] =
	"-----BEGIN CERTIFICATE-----\n"
	"MIICETCCAZagAwIBAgIRAPkxdWgbkK/hHUbMtOTn+FYwCgYIKoZIzj0EAwMwSTEL\n"
	"MAkGA1UEBhMCVVMxDzANBgNVBAoMBkFtYXpvbjEMMAoGA1UECwwDQVdTMRswGQYD\n"
	"VQQDDBJhd3Mubml0cm8tZW5jbGF2ZXMwHhcNMTkxMDI4MTMyODA1WhcNNDkxMDI4\n"
	"MTQyODA1WjBJMQswCQYDVQQGEwJVUzEPMA0GA1UECgwGQW1hem9uMQwwCgYDVQQL\n"
	"DANBV1MxGzAZBgNVBAMMEmF3cy5uaXRyby1lbmNsYXZlczB2MBAGByqGSM49AgEG\n"
	"BSuBBAAiA2IABPwCVOumCMHzaHDimtqQvkY4MpJzbolL//Zy2YlES1BR5TSksfbb\n"
	"48C8WBoyt7F2Bw7eEtaaP+ohG2bnUs990d0JX28TcPQXCEPZ3BABIeTPYwEoCWZE\n"
	"h8l5YoQwTcU/9KNCMEAwDwYDVR0TAQH/BAUwAwEB/zAdBgNVHQ4EFgQUkCW1DdkF\n"
	"R+eWw5b6cp3PmanfS5YwDgYDVR0PAQH/BAQDAgGGMAoGCCqGSM49BAMDA2kAMGYC\n"
	"MQCjfy+Rocm9Xue4YnwWmNJVA44fA0P5W2OpYow9OYCVRaEevL8uO1XYru5xtMPW\n"
	"rfMCMQCi85sWBbJwKKXdS6BptQFuZbT73o/gBh1qUxl/nNr12UO8Yfwr6wPLb+6N\n"
	"IwLz3/Y=\n"
	"-----END CERTIFICATE-----\n";

static uint8_t root_der[1024];
static size_t root_der_len;
static pthread_once_t root_once = PTHREAD_ONCE_INIT;

static void decode_root(void)
{
	BIO *bio = BIO_new_mem_buf(aws_root_pem, sizeof(aws_root_pem) - 1);
	X509 *x = bio ? PEM_read_bio_X509(bio, NULL, NULL, NULL) : NULL;
	unsigned char md[32], *p = root_der;
	char hex[65];
	int n;

	BIO_free(bio);
	if (!x)
		return;
	n = i2d_X509(x, NULL);
	if (n > 0 && (size_t)n <= sizeof(root_der) && i2d_X509(x, &p) == n &&
	    EVP_Digest(root_der, (size_t)n, md, NULL, EVP_sha256(), NULL) == 1) {
		format_hex(md, sizeof(md), hex);
		if (strcmp(hex, ATT_AWS_ROOT_SHA256) == 0)
			root_der_len = (size_t)n;
	}
	X509_free(x);
}

const uint8_t *att_aws_root_der(size_t *len)
{
	pthread_once(&root_once, decode_root);
	*len = root_der_len;
	return root_der_len ? root_der : NULL;
}
