/*
 * Web server credentials: hashPassword() and checking a password or an
 * API key against what the configuration holds, plain or hashed.  Hashes
 * are dnsdist's "$scrypt$ln=10,p=1,r=8$<salt>$<hash>" (scrypt with a
 * 16-byte salt and a 32-byte output, base64), made with libsodium, so
 * either program reads the other's.
 */
#ifndef CREDENTIALS_H
#define CREDENTIALS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CRED_MAXLEN		128	/* a hashed credential, with NUL */
#define CRED_WORKFACTOR		1024	/* scrypt N, dnsdist's default */
#define CRED_MAXWORKFACTOR	32768

/* Whether text has the form of a hashed credential. */
bool	cred_is_hashed(const char *text);
/*
 * Hash password with a random salt and scrypt's N = workfactor (a power
 * of two up to CRED_MAXWORKFACTOR) into out.  0, or -1 for a bad work
 * factor or when out is too small (CRED_MAXLEN is enough).
 */
int	cred_hash(const char *password, uint64_t workfactor, char *out,
	    size_t outsz);
/*
 * Whether given matches stored, a plain text or a hashed credential.
 * Plain texts are compared in constant time through keyed hashes, so
 * neither their contents nor their lengths leak.  An empty stored
 * credential matches nothing.
 */
bool	cred_check(const char *stored, const char *given);

#endif /* CREDENTIALS_H */
