/*
 * SipHash-2-4 (Aumasson and Bernstein), the function of libsodium's
 * crypto_shorthash, for the packet path: the same 64-bit value that
 * crypto_shorthash writes out as 8 little-endian bytes, from words loaded
 * in place and without a call through the library; and its 128-bit
 * variant.
 */
#ifndef SIPHASH_H
#define SIPHASH_H

#include <stddef.h>
#include <stdint.h>

#define SIPHASH_KEYBYTES	16

uint64_t	siphash24(const uint8_t key[SIPHASH_KEYBYTES], const void *in,
		    size_t len);
/* The 128-bit variant: crypto_shorthash_siphashx24's 16 bytes. */
void		siphash24_128(const uint8_t key[SIPHASH_KEYBYTES],
		    const void *in, size_t len, uint8_t out[16]);

#endif /* SIPHASH_H */
