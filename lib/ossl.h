/*
 * What this program takes from OpenSSL's libcrypto (or LibreSSL's), the
 * one under libtls, for what neither libtls nor libsodium offers: a
 * PKCS#12 file turned into the PEM that libtls loads, OCSP responses
 * signed by a CA (dnsdist's generateOCSPResponse, for tests) and checked
 * before they are stapled, and ipcipher's AES-128 block and PBKDF2-SHA1.
 * ossl.c is the only file that includes OpenSSL's headers; a build
 * without TLS (DNSDIST_NO_TLS) has none of it, and its functions fail.
 */
#ifndef OSSL_H
#define OSSL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * The PKCS#12 file at path, opened with pass (NULL: none), as PEM: the
 * certificate and the chain under it in *cert, the key in *key, both
 * malloc'd for the caller to explicit_bzero and free (tls_unload_file).
 * 0; 1 when the file is not DER PKCS#12 at all (PEM, say); -1 and err
 * when it cannot be read or opened (a wrong password).
 */
int	ossl_pkcs12(const char *path, const char *pass, uint8_t **cert,
	    size_t *certlen, uint8_t **key, size_t *keylen, char *err,
	    size_t errlen);
/* Whether buf holds a DER OCSP response, one a client can parse. */
bool	ossl_ocsp_valid(const uint8_t *buf, size_t len);
/*
 * Write to out a DER OCSP response saying "good" for the certificate in
 * the PEM file cert, signed with the CA's certificate and key (PEM),
 * valid from now for days and minutes.  0, or -1 and err.
 */
int	ossl_ocsp(const char *cert, const char *cacert, const char *cakey,
	    const char *out, int days, int minutes, char *err, size_t errlen);

/* One AES-128 block, 16 bytes at b, in place under a 16-byte key.  0 or -1. */
int	ossl_aes128_block(const uint8_t *key, uint8_t *b, bool decrypt);
/* PBKDF2-HMAC-SHA1 of pass with salt over rounds into out.  0 or -1. */
int	ossl_pbkdf2_sha1(const char *pass, size_t len, const uint8_t *salt,
	    size_t saltlen, int rounds, uint8_t *out, size_t outlen);

/*
 * Load an OpenSSL engine (and set its default string when not NULL) or
 * a provider for the TLS contexts made from now on (lib/ossl_load.c);
 * a name loaded before is kept.  0, or -1 and err.  Only with OpenSSL's
 * libssl (TLS=openssl); otherwise they fail.
 */
int	ossl_load_engine(const char *name, const char *defstr, char *err,
	    size_t errlen);
int	ossl_load_provider(const char *name, char *err, size_t errlen);

#endif /* OSSL_H */
