/*
 * ossl: see ossl.h.  libtls takes certificates and keys as PEM only and
 * has no OCSP responder side, so these go through libcrypto directly
 * (OpenSSL 1.1 or later, or LibreSSL: both have PKCS12_parse and the
 * OCSP API).
 */
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ossl.h"

#ifndef DNSDIST_NO_TLS
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ocsp.h>
#include <openssl/pem.h>
#include <openssl/pkcs12.h>
#include <openssl/x509.h>

/* err as "path: what: libcrypto's reason"; the error queue emptied. */
static int
fail(char *err, size_t errlen, const char *path, const char *what)
{
	unsigned long	e = ERR_peek_last_error();
	const char	*r = e != 0 ? ERR_reason_error_string(e) : NULL;

	snprintf(err, errlen, "%s: %s%s%s", path, what, r != NULL ? ": " : "",
	    r != NULL ? r : "");
	ERR_clear_error();
	return -1;
}

/* The contents of a memory BIO into a fresh buffer, or NULL. */
static uint8_t *
bio_take(BIO *b, size_t *len)
{
	char	*p;
	long	 n = BIO_get_mem_data(b, &p);
	uint8_t	*buf;

	if (n <= 0 || (buf = malloc((size_t)n)) == NULL)
		return NULL;
	memcpy(buf, p, (size_t)n);
	*len = (size_t)n;
	return buf;
}

int
ossl_pkcs12(const char *path, const char *pass, uint8_t **cert,
    size_t *certlen, uint8_t **key, size_t *keylen, char *err,
    size_t errlen)
{
	FILE		*fp;
	PKCS12		*p12;
	EVP_PKEY	*pkey = NULL;
	X509		*x = NULL;
	STACK_OF(X509)	*ca = NULL;
	BIO		*cb = NULL, *kb = NULL;
	int		 i, r = -1;

	*cert = *key = NULL;
	if ((fp = fopen(path, "rb")) == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	p12 = d2i_PKCS12_fp(fp, NULL);
	fclose(fp);
	if (p12 == NULL) {
		ERR_clear_error();
		return 1;
	}
	if (!PKCS12_parse(p12, pass, &pkey, &x, &ca)) {
		PKCS12_free(p12);
		return fail(err, errlen, path, "cannot open the PKCS#12 file "
		    "(wrong password?)");
	}
	PKCS12_free(p12);
	if (x == NULL || pkey == NULL) {
		snprintf(err, errlen, "%s: no certificate and key in it", path);
		goto out;
	}
	if ((cb = BIO_new(BIO_s_mem())) == NULL ||
	    (kb = BIO_new(BIO_s_mem())) == NULL ||
	    !PEM_write_bio_X509(cb, x) ||
	    !PEM_write_bio_PrivateKey(kb, pkey, NULL, NULL, 0, NULL, NULL)) {
		fail(err, errlen, path, "cannot convert it to PEM");
		goto out;
	}
	for (i = 0; i < sk_X509_num(ca); i++)
		if (!PEM_write_bio_X509(cb, sk_X509_value(ca, i))) {
			fail(err, errlen, path, "cannot convert it to PEM");
			goto out;
		}
	if ((*cert = bio_take(cb, certlen)) == NULL ||
	    (*key = bio_take(kb, keylen)) == NULL) {
		free(*cert);
		*cert = NULL;
		snprintf(err, errlen, "%s: out of memory", path);
		goto out;
	}
	r = 0;
out:
	BIO_free(cb);
	if (kb != NULL) {
		/* The key's PEM, in clear: wiped before it goes. */
		char	*p;
		long	 n = BIO_get_mem_data(kb, &p);

		if (n > 0)
			OPENSSL_cleanse(p, (size_t)n);
		BIO_free(kb);
	}
	EVP_PKEY_free(pkey);
	X509_free(x);
	sk_X509_pop_free(ca, X509_free);
	return r;
}

/* The first PEM certificate, or private key (key), in path: NULL and err. */
static void *
pem_read(const char *path, bool key, char *err, size_t errlen)
{
	FILE	*fp;
	void	*r;

	if ((fp = fopen(path, "r")) == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return NULL;
	}
	r = key ? (void *)PEM_read_PrivateKey(fp, NULL, NULL, NULL) :
	    (void *)PEM_read_X509(fp, NULL, NULL, NULL);
	fclose(fp);
	if (r == NULL)
		fail(err, errlen, path, key ? "not a PEM private key" :
		    "not a PEM certificate");
	return r;
}

bool
ossl_ocsp_valid(const uint8_t *buf, size_t len)
{
	const unsigned char	*p = buf;
	OCSP_RESPONSE		*rsp;

	if (len == 0 || len > LONG_MAX ||
	    (rsp = d2i_OCSP_RESPONSE(NULL, &p, (long)len)) == NULL) {
		ERR_clear_error();
		return false;
	}
	OCSP_RESPONSE_free(rsp);
	return true;
}

int
ossl_ocsp(const char *cert, const char *cacert, const char *cakey,
    const char *out, int days, int minutes, char *err, size_t errlen)
{
	X509		*x, *ca = NULL;
	EVP_PKEY	*key = NULL;
	OCSP_CERTID	*id = NULL;
	OCSP_BASICRESP	*bs = NULL;
	OCSP_RESPONSE	*rsp = NULL;
	ASN1_TIME	*now = NULL, *next = NULL;
	unsigned char	*der = NULL;
	FILE		*fp;
	int		 len, r = -1;

	if ((x = pem_read(cert, false, err, errlen)) == NULL ||
	    (ca = pem_read(cacert, false, err, errlen)) == NULL ||
	    (key = pem_read(cakey, true, err, errlen)) == NULL)
		goto out;
	if ((id = OCSP_cert_to_id(EVP_sha1(), x, ca)) == NULL ||
	    (bs = OCSP_BASICRESP_new()) == NULL ||
	    (now = X509_gmtime_adj(NULL, 0)) == NULL ||
	    (next = X509_time_adj_ex(NULL, days, (long)minutes * 60,
	    NULL)) == NULL ||
	    OCSP_basic_add1_status(bs, id, V_OCSP_CERTSTATUS_GOOD, 0, NULL,
	    now, next) == NULL) {
		fail(err, errlen, cert, "cannot make the OCSP response");
		goto out;
	}
	if (!OCSP_basic_sign(bs, ca, key, EVP_sha256(), NULL, 0)) {
		fail(err, errlen, cakey, "cannot sign the OCSP response");
		goto out;
	}
	if ((rsp = OCSP_response_create(OCSP_RESPONSE_STATUS_SUCCESSFUL,
	    bs)) == NULL || (len = i2d_OCSP_RESPONSE(rsp, &der)) <= 0) {
		fail(err, errlen, cert, "cannot encode the OCSP response");
		goto out;
	}
	if ((fp = fopen(out, "wb")) == NULL) {
		snprintf(err, errlen, "%s: %s", out, strerror(errno));
		goto out;
	}
	if (fwrite(der, 1, (size_t)len, fp) != (size_t)len) {
		snprintf(err, errlen, "%s: %s", out, strerror(errno));
		fclose(fp);
		goto out;
	}
	if (fclose(fp) != 0) {
		snprintf(err, errlen, "%s: %s", out, strerror(errno));
		goto out;
	}
	r = 0;
out:
	OPENSSL_free(der);
	OCSP_RESPONSE_free(rsp);
	ASN1_TIME_free(now);
	ASN1_TIME_free(next);
	OCSP_BASICRESP_free(bs);
	OCSP_CERTID_free(id);
	EVP_PKEY_free(key);
	X509_free(ca);
	X509_free(x);
	return r;
}

int
ossl_aes128_block(const uint8_t *key, uint8_t *b, bool decrypt)
{
	EVP_CIPHER_CTX	*ctx;
	uint8_t		 out[32];
	int		 n = 0, ok;

	if ((ctx = EVP_CIPHER_CTX_new()) == NULL)
		return -1;
	ok = EVP_CipherInit_ex(ctx, EVP_aes_128_ecb(), NULL, key, NULL,
	    decrypt ? 0 : 1) == 1 &&
	    EVP_CIPHER_CTX_set_padding(ctx, 0) == 1 &&
	    EVP_CipherUpdate(ctx, out, &n, b, 16) == 1 && n == 16;
	EVP_CIPHER_CTX_free(ctx);
	if (!ok)
		return -1;
	memcpy(b, out, 16);
	return 0;
}

int
ossl_pbkdf2_sha1(const char *pass, size_t len, const uint8_t *salt,
    size_t saltlen, int rounds, uint8_t *out, size_t outlen)
{
	if (len > INT_MAX || saltlen > INT_MAX || outlen > INT_MAX)
		return -1;
	return PKCS5_PBKDF2_HMAC_SHA1(pass, (int)len, salt, (int)saltlen,
	    rounds, (int)outlen, out) == 1 ? 0 : -1;
}

#else /* DNSDIST_NO_TLS */

int
ossl_pkcs12(const char *path, const char *pass, uint8_t **cert,
    size_t *certlen, uint8_t **key, size_t *keylen, char *err,
    size_t errlen)
{
	(void)pass;
	(void)certlen;
	(void)keylen;
	*cert = *key = NULL;
	snprintf(err, errlen, "%s: TLS is not built in", path);
	return -1;
}

bool
ossl_ocsp_valid(const uint8_t *buf, size_t len)
{
	(void)buf;
	(void)len;
	return false;
}

int
ossl_ocsp(const char *cert, const char *cacert, const char *cakey,
    const char *out, int days, int minutes, char *err, size_t errlen)
{
	(void)cacert;
	(void)cakey;
	(void)out;
	(void)days;
	(void)minutes;
	snprintf(err, errlen, "%s: TLS is not built in", cert);
	return -1;
}

int
ossl_aes128_block(const uint8_t *key, uint8_t *b, bool decrypt)
{
	(void)key;
	(void)b;
	(void)decrypt;
	return -1;
}

int
ossl_pbkdf2_sha1(const char *pass, size_t len, const uint8_t *salt,
    size_t saltlen, int rounds, uint8_t *out, size_t outlen)
{
	(void)pass;
	(void)len;
	(void)salt;
	(void)saltlen;
	(void)rounds;
	(void)out;
	(void)outlen;
	return -1;
}

#endif /* DNSDIST_NO_TLS */
