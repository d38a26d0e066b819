/*
 * ipcipher: see ipcipher.h.  The IPv4 permutation is ipcrypt's: four ARX
 * rounds over the address's bytes, each step between key xors; the IPv6
 * one a single AES-128 block.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <string.h>

#include "ipcipher.h"
#include "ossl.h"

#ifndef DNSDIST_NO_TLS

#define IPCIPHER_SALT	"ipcipheripcipher"
#define IPCIPHER_ROUNDS	50000

static uint8_t
rotl(uint8_t b, int n)
{
	return (uint8_t)(b << n | b >> (8 - n));
}

static void
permute_fwd(uint8_t *b)
{
	b[0] += b[1];
	b[2] += b[3];
	b[1] = rotl(b[1], 2);
	b[3] = rotl(b[3], 5);
	b[1] ^= b[0];
	b[3] ^= b[2];
	b[0] = rotl(b[0], 4);
	b[0] += b[3];
	b[2] += b[1];
	b[1] = rotl(b[1], 3);
	b[3] = rotl(b[3], 7);
	b[1] ^= b[2];
	b[3] ^= b[0];
	b[2] = rotl(b[2], 4);
}

/* permute_fwd() undone, step by step from its end. */
static void
permute_bwd(uint8_t *b)
{
	b[2] = rotl(b[2], 4);
	b[1] ^= b[2];
	b[3] ^= b[0];
	b[1] = rotl(b[1], 5);
	b[3] = rotl(b[3], 1);
	b[0] -= b[3];
	b[2] -= b[1];
	b[0] = rotl(b[0], 4);
	b[1] ^= b[0];
	b[3] ^= b[2];
	b[1] = rotl(b[1], 6);
	b[3] = rotl(b[3], 3);
	b[0] -= b[1];
	b[2] -= b[3];
}

static void
xor4(uint8_t *b, const uint8_t *k)
{
	int	i;

	for (i = 0; i < 4; i++)
		b[i] ^= k[i];
}

static void
ipcrypt(const uint8_t *key, uint8_t *b, bool decrypt)
{
	int	i;

	if (!decrypt) {
		for (i = 0; i < 3; i++) {
			xor4(b, key + 4 * i);
			permute_fwd(b);
		}
		xor4(b, key + 12);
		return;
	}
	xor4(b, key + 12);
	for (i = 2; i >= 0; i--) {
		permute_bwd(b);
		xor4(b, key + 4 * i);
	}
}

bool
ipcipher_available(void)
{
	return true;
}

int
ipcipher_key(const char *pass, size_t len, uint8_t *key)
{
	return ossl_pbkdf2_sha1(pass, len, (const uint8_t *)IPCIPHER_SALT,
	    sizeof(IPCIPHER_SALT) - 1, IPCIPHER_ROUNDS, key, IPCIPHER_KEYLEN);
}

int
ipcipher_apply(const uint8_t *key, struct sockaddr *sa, bool decrypt)
{
	if (sa->sa_family == AF_INET) {
		ipcrypt(key, (uint8_t *)&((struct sockaddr_in *)sa)->sin_addr,
		    decrypt);
		return 0;
	}
	if (sa->sa_family == AF_INET6)
		return ossl_aes128_block(key,
		    ((struct sockaddr_in6 *)sa)->sin6_addr.s6_addr, decrypt);
	return -1;
}

#else /* DNSDIST_NO_TLS */

bool
ipcipher_available(void)
{
	return false;
}

int
ipcipher_key(const char *pass, size_t len, uint8_t *key)
{
	(void)pass;
	(void)len;
	(void)key;
	return -1;
}

int
ipcipher_apply(const uint8_t *key, struct sockaddr *sa, bool decrypt)
{
	(void)key;
	(void)sa;
	(void)decrypt;
	return -1;
}

#endif /* DNSDIST_NO_TLS */
