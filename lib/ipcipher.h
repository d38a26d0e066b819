/*
 * ipcipher: an address encrypted into another address of its family, as
 * PowerDNS dnsdist anonymises the addresses it logs.  IPv4 goes through
 * ipcrypt (a permutation of the 4 bytes under a 16-byte key), IPv6
 * through AES-128 on its 16 bytes; the key comes from a passphrase by
 * PBKDF2-HMAC-SHA1.  Through libcrypto, which the TLS build has; a build
 * without TLS (DNSDIST_NO_TLS) has none of it.
 */
#ifndef IPCIPHER_H
#define IPCIPHER_H

#include <sys/types.h>
#include <sys/socket.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define IPCIPHER_KEYLEN	16

/* Whether this build can do it at all. */
bool	ipcipher_available(void);
/* The key of a passphrase (dnsdist's makeIPCipherKey).  0 or -1. */
int	ipcipher_key(const char *pass, size_t len, uint8_t *key);
/*
 * Encrypt (or decrypt) the address of sa in place, its port left alone.
 * 0, or -1 for another family or without libcrypto.
 */
int	ipcipher_apply(const uint8_t *key, struct sockaddr *sa, bool decrypt);

#endif /* IPCIPHER_H */
