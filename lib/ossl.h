/*
 * What libtls cannot do, through the libcrypto under it: a PKCS#12 file
 * turned into the PEM that libtls loads, and an OCSP response signed by
 * a CA (dnsdist's generateOCSPResponse, for tests).  The only file that
 * includes OpenSSL's headers for TLS; a build without TLS
 * (DNSDIST_NO_TLS) has none of it.
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

#endif /* OSSL_H */
