/*
 * ctlproto: the remote console's nonces, sealed frames and keys.  The
 * fixtures were computed with libsodium from Python, following the
 * protocol as observed against dnsdist 1.7.
 */
#include <stdint.h>
#include <string.h>

#include <atf-c.h>
#include <sodium.h>

#include "ctlproto.h"

#include "lsan.h"

/* Key 01 02 .. 20, "AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA=". */
static const char key_b64[] = "AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA=";
static uint8_t key[CTLPROTO_KEYLEN];
/* The client's random bytes 00 .. 17, the server's 80 .. 97. */
static uint8_t cbytes[CTLPROTO_NONCELEN], sbytes[CTLPROTO_NONCELEN];

/* The client's first message, "1+1": length 19, then tag and text. */
static const uint8_t first[] = {
	0x00, 0x00, 0x00, 0x13,				/* length 19 */
	0x4a, 0x69, 0x9c, 0x4b, 0xaa, 0xe9, 0xe6, 0x9a,	/* Poly1305 tag */
	0x51, 0x34, 0xb3, 0xc6, 0x69, 0x5c, 0x17, 0xa0,
	0xec, 0xdd, 0x11				/* "1+1" */
};
/* The client's second message, empty: the nonce counted once. */
static const uint8_t second[] = {
	0x00, 0x00, 0x00, 0x10,				/* length 16 */
	0xc2, 0x6c, 0xa7, 0x83, 0xa3, 0x87, 0x9a, 0x40,	/* tag only */
	0xb6, 0x2a, 0x18, 0x08, 0xfc, 0x37, 0x5c, 0x2a
};
/* The server's first answer, "2\n", without its length prefix. */
static const uint8_t answer[] = {
	0x0a, 0x26, 0x3f, 0xf2, 0x69, 0x69, 0xdb, 0xd0,	/* tag */
	0x02, 0x70, 0x99, 0x0f, 0x9e, 0xcc, 0xb1, 0x2c,
	0xff, 0x73					/* "2\n" */
};

static void
setup(void)
{
	int	i;

	ATF_REQUIRE(sodium_init() >= 0);
	for (i = 0; i < CTLPROTO_NONCELEN; i++) {
		cbytes[i] = (uint8_t)i;
		sbytes[i] = (uint8_t)(0x80 + i);
	}
	ATF_REQUIRE_EQ(ctlproto_key_decode(key_b64, key), 0);
}

ATF_TC_WITHOUT_HEAD(nonces);
ATF_TC_BODY(nonces, tc)
{
	struct ctlproto_nonces	c, s;

	setup();
	ctlproto_nonces(&c, cbytes, sbytes);
	ctlproto_nonces(&s, sbytes, cbytes);
	/* What one side sends with, the other receives with. */
	ATF_CHECK(memcmp(c.cn_send, s.cn_recv, CTLPROTO_NONCELEN) == 0);
	ATF_CHECK(memcmp(s.cn_send, c.cn_recv, CTLPROTO_NONCELEN) == 0);
	/* Client to server: the server's first half, the client's second. */
	ATF_CHECK(memcmp(c.cn_send, sbytes, 12) == 0);
	ATF_CHECK(memcmp(c.cn_send + 12, cbytes + 12, 12) == 0);
	ATF_CHECK(memcmp(c.cn_recv, cbytes, 12) == 0);
	ATF_CHECK(memcmp(c.cn_recv + 12, sbytes + 12, 12) == 0);
}

ATF_TC_WITHOUT_HEAD(nonce_next);
ATF_TC_BODY(nonce_next, tc)
{
	uint8_t	n[CTLPROTO_NONCELEN];

	memset(n, 0xaa, sizeof(n));
	n[0] = 0x00; n[1] = 0x00; n[2] = 0x00; n[3] = 0xff;
	ctlproto_nonce_next(n);
	/* Big-endian: the carry goes to byte 2. */
	ATF_CHECK(n[0] == 0 && n[1] == 0 && n[2] == 1 && n[3] == 0);
	n[0] = n[1] = n[2] = n[3] = 0xff;
	ctlproto_nonce_next(n);
	/* Wraps within the four bytes; the rest is untouched. */
	ATF_CHECK(n[0] == 0 && n[1] == 0 && n[2] == 0 && n[3] == 0);
	ATF_CHECK(n[4] == 0xaa && n[23] == 0xaa);
}

ATF_TC_WITHOUT_HEAD(known_answer);
ATF_TC_BODY(known_answer, tc)
{
	struct ctlproto_nonces	c, s;
	uint8_t			buf[64], text[8];

	setup();
	ctlproto_nonces(&c, cbytes, sbytes);
	ATF_REQUIRE_EQ(ctlproto_seal(&c, key, (const uint8_t *)"1+1", 3, buf),
	    sizeof(first));
	ATF_CHECK(memcmp(buf, first, sizeof(first)) == 0);
	ATF_REQUIRE_EQ(ctlproto_seal(&c, key, (const uint8_t *)"", 0, buf),
	    sizeof(second));
	ATF_CHECK(memcmp(buf, second, sizeof(second)) == 0);
	ATF_CHECK_EQ(ctlproto_getlen(first), 19);

	/* The server opens both, in order, and its answer matches. */
	ctlproto_nonces(&s, sbytes, cbytes);
	ATF_REQUIRE_EQ(ctlproto_open(&s, key, first + 4, sizeof(first) - 4,
	    text), 0);
	ATF_CHECK(memcmp(text, "1+1", 3) == 0);
	ATF_CHECK_EQ(ctlproto_open(&s, key, second + 4, sizeof(second) - 4,
	    text), 0);
	ATF_REQUIRE_EQ(ctlproto_seal(&s, key, (const uint8_t *)"2\n", 2, buf),
	    4 + sizeof(answer));
	ATF_CHECK(memcmp(buf + 4, answer, sizeof(answer)) == 0);
}

ATF_TC_WITHOUT_HEAD(refused);
ATF_TC_BODY(refused, tc)
{
	struct ctlproto_nonces	s, saved;
	uint8_t			other[CTLPROTO_KEYLEN], box[sizeof(first)];
	uint8_t			text[sizeof(first)];

	setup();
	ctlproto_nonces(&s, sbytes, cbytes);
	saved = s;
	/* Shorter than a tag. */
	ATF_CHECK_EQ(ctlproto_open(&s, key, first + 4, 15, text), -1);
	ATF_CHECK_EQ(ctlproto_open(&s, key, first + 4, 0, text), -1);
	/* A wrong key. */
	memcpy(other, key, sizeof(other));
	other[31] ^= 1;
	ATF_CHECK_EQ(ctlproto_open(&s, other, first + 4, sizeof(first) - 4,
	    text), -1);
	/* One changed bit in the text, then in the tag. */
	memcpy(box, first + 4, sizeof(first) - 4);
	box[sizeof(first) - 5] ^= 0x01;
	ATF_CHECK_EQ(ctlproto_open(&s, key, box, sizeof(first) - 4, text), -1);
	memcpy(box, first + 4, sizeof(first) - 4);
	box[0] ^= 0x80;
	ATF_CHECK_EQ(ctlproto_open(&s, key, box, sizeof(first) - 4, text), -1);
	/* Out of order: the second message first. */
	ATF_CHECK_EQ(ctlproto_open(&s, key, second + 4, sizeof(second) - 4,
	    text), -1);
	/* Failures did not count: the first message still opens, once. */
	ATF_CHECK(memcmp(&s, &saved, sizeof(s)) == 0);
	ATF_CHECK_EQ(ctlproto_open(&s, key, first + 4, sizeof(first) - 4,
	    text), 0);
	ATF_CHECK_EQ(ctlproto_open(&s, key, first + 4, sizeof(first) - 4,
	    text), -1);
}

ATF_TC_WITHOUT_HEAD(keys);
ATF_TC_BODY(keys, tc)
{
	uint8_t	k[CTLPROTO_KEYLEN], k2[CTLPROTO_KEYLEN];
	char	text[CTLPROTO_KEYTEXT], text2[CTLPROTO_KEYTEXT];

	setup();
	ATF_CHECK_EQ(ctlproto_key_decode(" \t" "AQIDBAUGBwgJCgsMDQ4PEBESExQV"
	    "FhcYGRobHB0eHyA=\n", k), 0);
	ATF_CHECK(memcmp(k, key, sizeof(k)) == 0);
	/* 31 and 33 bytes, no padding, a bad character, nothing. */
	ATF_CHECK_EQ(ctlproto_key_decode(
	    "AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHw==", k), -1);
	ATF_CHECK_EQ(ctlproto_key_decode(
	    "AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyAh", k), -1);
	ATF_CHECK_EQ(ctlproto_key_decode(
	    "AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA", k), -1);
	ATF_CHECK_EQ(ctlproto_key_decode(
	    "AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHy*=", k), -1);
	ATF_CHECK_EQ(ctlproto_key_decode("AQID BAUGBwgJCgsMDQ4PEBESExQVFh"
	    "cYGRobHB0eHyA=", k), -1);
	ATF_CHECK_EQ(ctlproto_key_decode("", k), -1);
	/* A made key decodes; two differ. */
	ctlproto_key_make(text);
	ctlproto_key_make(text2);
	ATF_CHECK_EQ(strlen(text), 44);
	ATF_CHECK_EQ(ctlproto_key_decode(text, k), 0);
	ATF_CHECK_EQ(ctlproto_key_decode(text2, k2), 0);
	ATF_CHECK(memcmp(k, k2, sizeof(k)) != 0);
}

ATF_TC_WITHOUT_HEAD(selftest);
ATF_TC_BODY(selftest, tc)
{
	const char	*why = NULL;

	setup();
	ATF_CHECK_EQ(ctlproto_selftest(&why), 0);
	ATF_CHECK(why == NULL);
}

ATF_TP_ADD_TCS(tp)
{
	ATF_TP_ADD_TC(tp, nonces);
	ATF_TP_ADD_TC(tp, nonce_next);
	ATF_TP_ADD_TC(tp, known_answer);
	ATF_TP_ADD_TC(tp, refused);
	ATF_TP_ADD_TC(tp, keys);
	ATF_TP_ADD_TC(tp, selftest);
	return atf_no_error();
}
