/*
 * siphash: our SipHash-2-4 against the published test vector and against
 * libsodium's crypto_shorthash, which computes the same function; the
 * 128-bit variant against crypto_shorthash_siphashx24.
 */
#include <stdint.h>
#include <string.h>

#include <atf-c.h>
#include <sodium.h>

#include "siphash.h"

#include "lsan.h"

/* The value crypto_shorthash writes out, as a number. */
static uint64_t
sodium_value(const uint8_t key[16], const uint8_t *in, size_t len)
{
	uint8_t		out[crypto_shorthash_BYTES];
	uint64_t	v = 0;
	int		i;

	crypto_shorthash(out, in, len, key);
	for (i = 7; i >= 0; i--)
		v = v << 8 | out[i];
	return v;
}

ATF_TC_WITHOUT_HEAD(vector);
ATF_TC_BODY(vector, tc)
{
	uint8_t	key[16], in[64];
	int	i;

	/* Appendix A of the SipHash paper: key 00..0f, input 00..0e. */
	for (i = 0; i < 16; i++)
		key[i] = (uint8_t)i;
	for (i = 0; i < 15; i++)
		in[i] = (uint8_t)i;
	ATF_CHECK_EQ(siphash24(key, in, 15), UINT64_C(0xa129ca6149be45e5));
}

ATF_TC_WITHOUT_HEAD(as_libsodium);
ATF_TC_BODY(as_libsodium, tc)
{
	uint8_t	key[16], buf[300 + 8];
	size_t	len, off;
	int	k;

	ATF_REQUIRE(sodium_init() >= 0);
	randombytes_buf(buf, sizeof(buf));
	/* Every length up to 300, at every alignment, under several keys. */
	for (k = 0; k < 4; k++) {
		randombytes_buf(key, sizeof(key));
		for (off = 0; off < 8; off++)
			for (len = 0; len <= 300; len++)
				ATF_REQUIRE_EQ_MSG(siphash24(key, buf + off,
				    len), sodium_value(key, buf + off, len),
				    "length %zu at offset %zu", len, off);
	}
}

ATF_TC_WITHOUT_HEAD(wide_as_libsodium);
ATF_TC_BODY(wide_as_libsodium, tc)
{
	uint8_t	key[16], buf[300 + 8];
	uint8_t	ours[16], theirs[crypto_shorthash_siphashx24_BYTES];
	size_t	len, off;
	int	k;

	ATF_REQUIRE(sodium_init() >= 0);
	ATF_REQUIRE_EQ(sizeof(theirs), sizeof(ours));
	randombytes_buf(buf, sizeof(buf));
	for (k = 0; k < 4; k++) {
		randombytes_buf(key, sizeof(key));
		for (off = 0; off < 8; off++)
			for (len = 0; len <= 300; len++) {
				siphash24_128(key, buf + off, len, ours);
				crypto_shorthash_siphashx24(theirs, buf + off,
				    len, key);
				ATF_REQUIRE_MSG(memcmp(ours, theirs, 16) == 0,
				    "length %zu at offset %zu", len, off);
			}
	}
}

ATF_TC_WITHOUT_HEAD(every_byte_counts);
ATF_TC_BODY(every_byte_counts, tc)
{
	uint8_t		key[16] = { 1 }, buf[40];
	uint64_t	h;
	size_t		len, i;

	memset(buf, 0, sizeof(buf));
	/* A tail read as part of a word must keep all its bytes, and only them. */
	for (len = 1; len <= sizeof(buf); len++) {
		h = siphash24(key, buf, len);
		for (i = 0; i < len; i++) {
			buf[i] ^= 0x40;
			ATF_CHECK(siphash24(key, buf, len) != h);
			buf[i] ^= 0x40;
		}
		if (len < sizeof(buf)) {
			buf[len] = 0xff;	/* past the end: no effect */
			ATF_CHECK_EQ(siphash24(key, buf, len), h);
			buf[len] = 0;
		}
	}
}

ATF_TP_ADD_TCS(tp)
{
	ATF_TP_ADD_TC(tp, vector);
	ATF_TP_ADD_TC(tp, as_libsodium);
	ATF_TP_ADD_TC(tp, wide_as_libsodium);
	ATF_TP_ADD_TC(tp, every_byte_counts);
	return atf_no_error();
}
