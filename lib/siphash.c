/*
 * SipHash-2-4: two rounds per 8-byte word, four to finish.  Words are read
 * little-endian whatever the host; the last partial word is read as the
 * tail of a whole one when the input has one, else byte by byte.
 */
#include "siphash.h"

#define ROTL(x, b)	(((x) << (b)) | ((x) >> (64 - (b))))

#define SIPROUND do {							\
	v0 += v1; v1 = ROTL(v1, 13); v1 ^= v0; v0 = ROTL(v0, 32);	\
	v2 += v3; v3 = ROTL(v3, 16); v3 ^= v2;				\
	v0 += v3; v3 = ROTL(v3, 21); v3 ^= v0;				\
	v2 += v1; v1 = ROTL(v1, 17); v1 ^= v2; v2 = ROTL(v2, 32);	\
} while (0)

/* Compilers make one load of this on little-endian hosts. */
static inline uint64_t
load64le(const uint8_t *p)
{
	return (uint64_t)p[0] | (uint64_t)p[1] << 8 | (uint64_t)p[2] << 16 |
	    (uint64_t)p[3] << 24 | (uint64_t)p[4] << 32 |
	    (uint64_t)p[5] << 40 | (uint64_t)p[6] << 48 |
	    (uint64_t)p[7] << 56;
}

static inline void
store64le(uint8_t *p, uint64_t v)
{
	int	i;

	for (i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

/*
 * The compression of in; then the 64-bit value, or with out128 the
 * 128-bit one (whose initialization and finalization differ) in out128.
 */
static inline uint64_t
siphash_core(const uint8_t key[SIPHASH_KEYBYTES], const void *in, size_t len,
    uint8_t *out128)
{
	const uint8_t	*p = in;
	uint64_t	 k0 = load64le(key), k1 = load64le(key + 8);
	uint64_t	 v0 = k0 ^ 0x736f6d6570736575ULL;
	uint64_t	 v1 = k1 ^ 0x646f72616e646f6dULL;
	uint64_t	 v2 = k0 ^ 0x6c7967656e657261ULL;
	uint64_t	 v3 = k1 ^ 0x7465646279746573ULL;
	uint64_t	 m, b = (uint64_t)len << 56;
	size_t		 i, left = len & 7;

	if (out128 != NULL)
		v1 ^= 0xee;
	for (i = 0; i + 8 <= len; i += 8) {
		m = load64le(p + i);
		v3 ^= m;
		SIPROUND;
		SIPROUND;
		v0 ^= m;
	}
	if (left > 0 && len >= 8)
		b |= load64le(p + len - 8) >> (64 - 8 * left);
	else
		while (left > 0) {
			left--;
			b |= (uint64_t)p[i + left] << (8 * left);
		}
	v3 ^= b;
	SIPROUND;
	SIPROUND;
	v0 ^= b;
	v2 ^= out128 != NULL ? 0xee : 0xff;
	SIPROUND;
	SIPROUND;
	SIPROUND;
	SIPROUND;
	if (out128 == NULL)
		return v0 ^ v1 ^ v2 ^ v3;
	store64le(out128, v0 ^ v1 ^ v2 ^ v3);
	v1 ^= 0xdd;
	SIPROUND;
	SIPROUND;
	SIPROUND;
	SIPROUND;
	store64le(out128 + 8, v0 ^ v1 ^ v2 ^ v3);
	return 0;
}

uint64_t
siphash24(const uint8_t key[SIPHASH_KEYBYTES], const void *in, size_t len)
{
	return siphash_core(key, in, len, NULL);
}

void
siphash24_128(const uint8_t key[SIPHASH_KEYBYTES], const void *in, size_t len,
    uint8_t out[16])
{
	(void)siphash_core(key, in, len, out);
}
