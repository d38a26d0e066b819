/*
 * netmask: parsing, matching (IPv4-mapped IPv6 included) and groups with
 * longest-match negation.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <atf-c.h>

#include "netmask.h"

#include "lsan.h"

/* A numeric address as a sockaddr, for matching. */
static const struct sockaddr *
sa(const char *text)
{
	static struct sockaddr_storage ss;
	struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;

	memset(&ss, 0, sizeof(ss));
	if (inet_pton(AF_INET, text, &sin->sin_addr) == 1)
		sin->sin_family = AF_INET;
	else if (inet_pton(AF_INET6, text, &sin6->sin6_addr) == 1)
		sin6->sin6_family = AF_INET6;
	else
		atf_tc_fail("bad test address %s", text);
	return (const struct sockaddr *)&ss;
}

/* Parse and print again; "(error)" when the text is refused. */
static const char *
roundtrip(const char *text)
{
	static char buf[NETMASK_MAXTEXT];
	struct netmask nm;

	if (netmask_parse(text, &nm) == -1)
		return "(error)";
	return netmask_to_text(&nm, buf, sizeof(buf));
}

static int
match(const char *mask, const char *addr)
{
	struct netmask nm;

	if (netmask_parse(mask, &nm) == -1)
		atf_tc_fail("bad test mask %s", mask);
	return netmask_match(&nm, sa(addr));
}

ATF_TC_WITHOUT_HEAD(parse);
ATF_TC_BODY(parse, tc)
{
	/* 192.0.2.77/24 */
	static const uint8_t v4[16] = { 192, 0, 2, 0 };
	/* 2001:db8:8000::/33 from 2001:db8:ffff::1/33 */
	static const uint8_t v6[16] = {
		0x20, 0x01, 0x0d, 0xb8, 0x80, 0x00, 0x00, 0x00,
		0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	};
	struct netmask nm;

	ATF_REQUIRE_EQ(netmask_parse("192.0.2.77/24", &nm), 0);
	ATF_CHECK_EQ(nm.nm_family, AF_INET);
	ATF_CHECK_EQ(nm.nm_bits, 24);
	ATF_CHECK(!nm.nm_negated);
	ATF_CHECK(memcmp(nm.nm_addr, v4, sizeof(v4)) == 0);

	ATF_REQUIRE_EQ(netmask_parse("!2001:db8:ffff::1/33", &nm), 0);
	ATF_CHECK_EQ(nm.nm_family, AF_INET6);
	ATF_CHECK_EQ(nm.nm_bits, 33);
	ATF_CHECK(nm.nm_negated);
	ATF_CHECK(memcmp(nm.nm_addr, v6, sizeof(v6)) == 0);

	ATF_CHECK_STREQ(roundtrip("192.0.2.1"), "192.0.2.1/32");
	ATF_CHECK_STREQ(roundtrip("::1"), "::1/128");
	ATF_CHECK_STREQ(roundtrip("10.255.255.255/13"), "10.248.0.0/13");
	ATF_CHECK_STREQ(roundtrip("255.255.255.255/0"), "0.0.0.0/0");
	ATF_CHECK_STREQ(roundtrip("ffff::/0"), "::/0");
	ATF_CHECK_STREQ(roundtrip("!10.0.0.0/8"), "!10.0.0.0/8");
	ATF_CHECK_STREQ(roundtrip("10.0.0.0/008"), "10.0.0.0/8");
	ATF_CHECK_STREQ(roundtrip("2001:db8::/127"), "2001:db8::/127");
	ATF_CHECK_STREQ(roundtrip("::ffff:192.0.2.0/120"),
	    "::ffff:192.0.2.0/120");
}

ATF_TC_WITHOUT_HEAD(parse_bad);
ATF_TC_BODY(parse_bad, tc)
{
	static const char *const bad[] = {
		"",
		"!",
		"!!10.0.0.0/8",
		"/24",
		"10.0.0.0/",
		"10.0.0.0/33",
		"10.0.0.0/-1",
		"10.0.0.0/+8",
		"10.0.0.0/8a",
		"10.0.0.0/0008",
		"10.0.0.0/8/8",
		"10.0.0.0 /8",
		"::/129",
		"::/1000",
		"10.0.0",
		"example.com/24",
		"[::1]/128",
		"2001:db8::1:/64",
		/* longer than any address */
		("0123456789012345678901234567890123456789012345678901234567890"
		    "12345/8"),
	};
	struct netmask nm;
	size_t	 i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ATF_CHECK_MSG(netmask_parse(bad[i], &nm) == -1,
		    "\"%s\" accepted", bad[i]);
	ATF_CHECK_EQ(netmask_parse(NULL, &nm), -1);
}

ATF_TC_WITHOUT_HEAD(to_text_small);
ATF_TC_BODY(to_text_small, tc)
{
	struct netmask nm;
	char	 buf[6];

	ATF_REQUIRE_EQ(netmask_parse("!192.0.2.0/24", &nm), 0);
	ATF_CHECK_STREQ(netmask_to_text(&nm, buf, sizeof(buf)), "!192.");
	memset(&nm, 0, sizeof(nm));
	ATF_CHECK_STREQ(netmask_to_text(&nm, buf, sizeof(buf)), "?");
}

ATF_TC_WITHOUT_HEAD(match_v4);
ATF_TC_BODY(match_v4, tc)
{
	ATF_CHECK_EQ(match("192.0.2.0/24", "192.0.2.0"), 1);
	ATF_CHECK_EQ(match("192.0.2.0/24", "192.0.2.255"), 1);
	ATF_CHECK_EQ(match("192.0.2.0/24", "192.0.3.0"), 0);
	ATF_CHECK_EQ(match("192.0.2.0/24", "192.0.1.255"), 0);
	ATF_CHECK_EQ(match("10.248.0.0/13", "10.255.1.2"), 1);
	ATF_CHECK_EQ(match("10.248.0.0/13", "10.247.255.255"), 0);
	ATF_CHECK_EQ(match("192.0.2.1", "192.0.2.1"), 1);
	ATF_CHECK_EQ(match("192.0.2.1", "192.0.2.2"), 0);
	ATF_CHECK_EQ(match("0.0.0.0/0", "203.0.113.9"), 1);
	ATF_CHECK_EQ(match("0.0.0.0/0", "2001:db8::1"), 0);
	/* A negated mask still matches; only groups act on the '!'. */
	ATF_CHECK_EQ(match("!192.0.2.0/24", "192.0.2.1"), 1);
}

/*
 * Every prefix length: an address that differs from the network in one
 * bit only matches when that bit lies past the prefix.
 */
ATF_TC_WITHOUT_HEAD(match_every_length);
ATF_TC_BODY(match_every_length, tc)
{
	struct sockaddr_in	sin;
	struct sockaddr_in6	sin6;
	struct netmask		nm;
	struct netmask_group	ng;
	unsigned int		bits, flip, bad = 0;

	for (bits = 0; bits <= 128; bits++)
		for (flip = 0; flip < 128; flip++) {
			memset(&nm, 0, sizeof(nm));
			nm.nm_family = AF_INET6;
			nm.nm_bits = (uint8_t)bits;
			memset(&sin6, 0, sizeof(sin6));
			sin6.sin6_family = AF_INET6;
			sin6.sin6_addr.s6_addr[flip / 8] = (uint8_t)(0x80 >>
			    (flip % 8));
			if (netmask_match(&nm, (struct sockaddr *)&sin6) !=
			    (flip >= bits))
				bad++;
			if (bits > 32 || flip >= 32)
				continue;
			nm.nm_family = AF_INET;
			memset(&sin, 0, sizeof(sin));
			sin.sin_family = AF_INET;
			((uint8_t *)&sin.sin_addr)[flip / 8] = (uint8_t)(0x80 >>
			    (flip % 8));
			if (netmask_match(&nm, (struct sockaddr *)&sin) !=
			    (flip >= bits))
				bad++;
			/* A group compares IPv4 clients as words: the same. */
			netmask_group_init(&ng);
			ATF_REQUIRE(netmask_group_add(&ng, &nm) == 0);
			if (netmask_group_match(&ng, (struct sockaddr *)&sin) !=
			    (flip >= bits))
				bad++;
			netmask_group_clear(&ng);
		}
	ATF_CHECK_EQ(bad, 0);
}

ATF_TC_WITHOUT_HEAD(match_v6);
ATF_TC_BODY(match_v6, tc)
{
	ATF_CHECK_EQ(match("2001:db8::/32", "2001:db8:ffff::1"), 1);
	ATF_CHECK_EQ(match("2001:db8::/32", "2001:db9::1"), 0);
	ATF_CHECK_EQ(match("2001:db8::/33", "2001:db8:7fff::1"), 1);
	ATF_CHECK_EQ(match("2001:db8::/33", "2001:db8:8000::1"), 0);
	ATF_CHECK_EQ(match("::1", "::1"), 1);
	ATF_CHECK_EQ(match("::1", "::2"), 0);
	ATF_CHECK_EQ(match("::/0", "fe80::1"), 1);
	ATF_CHECK_EQ(match("::/0", "192.0.2.1"), 0);
	ATF_CHECK_EQ(match("2001:db8::1/127", "2001:db8::1"), 1);
	ATF_CHECK_EQ(match("2001:db8::1/127", "2001:db8::2"), 0);
}

/* ::ffff:a.b.c.d is an IPv4 client on a dual-stack socket. */
ATF_TC_WITHOUT_HEAD(match_v4mapped);
ATF_TC_BODY(match_v4mapped, tc)
{
	ATF_CHECK_EQ(match("192.0.2.0/24", "::ffff:192.0.2.9"), 1);
	ATF_CHECK_EQ(match("192.0.2.0/24", "::ffff:192.0.3.9"), 0);
	ATF_CHECK_EQ(match("0.0.0.0/0", "::ffff:0.0.0.0"), 1);
	/* Not mapped: the IPv4-compatible form and NAT64 are not IPv4. */
	ATF_CHECK_EQ(match("192.0.2.0/24", "::192.0.2.9"), 0);
	ATF_CHECK_EQ(match("192.0.2.0/24", "64:ff9b::192.0.2.9"), 0);
	ATF_CHECK_EQ(match("0.0.0.0/0", "::fffe:192.0.2.9"), 0);
	/* A v6 mask over the mapped range matches the mapped form. */
	ATF_CHECK_EQ(match("::ffff:0.0.0.0/96", "::ffff:192.0.2.9"), 1);
}

ATF_TC_WITHOUT_HEAD(group);
ATF_TC_BODY(group, tc)
{
	struct netmask_group ng;

	netmask_group_init(&ng);
	/* An empty group matches nothing. */
	ATF_CHECK_EQ(netmask_group_match(&ng, sa("192.0.2.1")), 0);

	ATF_REQUIRE_EQ(netmask_group_add_text(&ng,
	    "10.0.0.0/8, !10.1.0.0/16 10.1.2.0/24,\t2001:db8::/32"), 0);
	ATF_CHECK_EQ(ng.ng_count, 4);
	ATF_CHECK_EQ(netmask_group_match(&ng, sa("10.2.3.4")), 1);
	ATF_CHECK_EQ(netmask_group_match(&ng, sa("10.1.3.4")), 0);
	ATF_CHECK_EQ(netmask_group_match(&ng, sa("10.1.2.4")), 1);
	ATF_CHECK_EQ(netmask_group_match(&ng, sa("11.0.0.1")), 0);
	ATF_CHECK_EQ(netmask_group_match(&ng, sa("2001:db8::53")), 1);
	ATF_CHECK_EQ(netmask_group_match(&ng, sa("2001:db9::53")), 0);
	ATF_CHECK_EQ(netmask_group_match(&ng, sa("::ffff:10.2.3.4")), 1);
	ATF_CHECK_EQ(netmask_group_match(&ng, sa("::ffff:10.1.3.4")), 0);

	/* Exact duplicates are ignored. */
	ATF_REQUIRE_EQ(netmask_group_add_text(&ng, "10.0.0.0/8 10.9.9.9/8"),
	    0);
	ATF_CHECK_EQ(ng.ng_count, 4);

	/* Order does not matter for different lengths. */
	netmask_group_clear(&ng);
	ATF_CHECK_EQ(ng.ng_count, 0);
	ATF_REQUIRE_EQ(netmask_group_add_text(&ng,
	    "!10.1.0.0/16 10.0.0.0/8"), 0);
	ATF_CHECK_EQ(netmask_group_match(&ng, sa("10.1.3.4")), 0);
	ATF_CHECK_EQ(netmask_group_match(&ng, sa("10.2.3.4")), 1);

	/* The same mask both ways: the later one wins. */
	ATF_REQUIRE_EQ(netmask_group_add_text(&ng, "!10.0.0.0/8"), 0);
	ATF_CHECK_EQ(netmask_group_match(&ng, sa("10.2.3.4")), 0);

	/* An IPv4 /24 is longer than the IPv6 mapped /96. */
	netmask_group_clear(&ng);
	ATF_REQUIRE_EQ(netmask_group_add_text(&ng,
	    "!192.0.2.0/24 ::ffff:0.0.0.0/96"), 0);
	ATF_CHECK_EQ(netmask_group_match(&ng, sa("::ffff:192.0.2.1")), 0);
	ATF_CHECK_EQ(netmask_group_match(&ng, sa("::ffff:192.0.3.1")), 1);
	netmask_group_clear(&ng);
	netmask_group_clear(&ng);		/* twice is fine */
}

ATF_TC_WITHOUT_HEAD(group_bad_text);
ATF_TC_BODY(group_bad_text, tc)
{
	struct netmask_group ng;

	netmask_group_init(&ng);
	ATF_REQUIRE_EQ(netmask_group_add_text(&ng, "192.0.2.0/24"), 0);
	/* All or nothing: the good masks before the bad one are not kept. */
	ATF_CHECK_EQ(netmask_group_add_text(&ng,
	    "10.0.0.0/8, 10.0.0.0/99, 11.0.0.0/8"), -1);
	ATF_CHECK_EQ(ng.ng_count, 1);
	ATF_CHECK_EQ(netmask_group_match(&ng, sa("10.0.0.1")), 0);
	ATF_CHECK_EQ(netmask_group_add_text(&ng, ""), -1);
	ATF_CHECK_EQ(netmask_group_add_text(&ng, " ,, "), -1);
	ATF_CHECK_EQ(netmask_group_add_text(&ng, NULL), -1);
	ATF_CHECK_EQ(netmask_group_add_text(&ng, "10.0.0.0/8 ! 11.0.0.0/8"),
	    -1);
	ATF_CHECK_EQ(ng.ng_count, 1);
	netmask_group_clear(&ng);
}

ATF_TC_WITHOUT_HEAD(group_grow_copy);
ATF_TC_BODY(group_grow_copy, tc)
{
	struct netmask_group ng, cp;
	struct netmask nm;
	char	 t[NETMASK_MAXTEXT];
	int	 i;

	netmask_group_init(&ng);
	netmask_group_init(&cp);
	for (i = 0; i < 200; i++) {
		snprintf(t, sizeof(t), "10.%d.0.0/16", i);
		ATF_REQUIRE_EQ(netmask_parse(t, &nm), 0);
		ATF_REQUIRE_EQ(netmask_group_add(&ng, &nm), 0);
	}
	ATF_CHECK_EQ(ng.ng_count, 200);
	ATF_CHECK(ng.ng_cap >= 200);

	ATF_REQUIRE_EQ(netmask_group_add_text(&cp, "192.0.2.0/24"), 0);
	ATF_REQUIRE_EQ(netmask_group_copy(&cp, &ng), 0);
	ATF_CHECK_EQ(cp.ng_count, 200);
	ATF_CHECK_EQ(netmask_group_match(&cp, sa("10.199.1.1")), 1);
	ATF_CHECK_EQ(netmask_group_match(&cp, sa("10.200.1.1")), 0);
	ATF_CHECK_EQ(netmask_group_match(&cp, sa("192.0.2.1")), 0);
	/* The copy is independent of the original. */
	netmask_group_clear(&ng);
	ATF_CHECK_EQ(netmask_group_match(&cp, sa("10.1.1.1")), 1);
	/* It grows again after a copy filled it exactly. */
	ATF_REQUIRE_EQ(netmask_group_add_text(&cp, "192.0.2.0/24"), 0);
	ATF_CHECK_EQ(netmask_group_match(&cp, sa("192.0.2.1")), 1);
	/* Copying an empty group empties, and a copy onto itself is a no-op. */
	ATF_REQUIRE_EQ(netmask_group_copy(&cp, &cp), 0);
	ATF_CHECK_EQ(cp.ng_count, 201);
	ATF_REQUIRE_EQ(netmask_group_copy(&cp, &ng), 0);
	ATF_CHECK_EQ(cp.ng_count, 0);
	ATF_CHECK_EQ(netmask_group_match(&cp, sa("10.1.1.1")), 0);
	netmask_group_clear(&cp);
}

ATF_TC_WITHOUT_HEAD(group_del);
ATF_TC_BODY(group_del, tc)
{
	struct netmask_group ng;
	struct netmask nm;

	netmask_group_init(&ng);
	ATF_REQUIRE_EQ(netmask_group_add_text(&ng,
	    "10.0.0.0/8 !10.1.0.0/16 10.1.2.0/24 2001:db8::/32"), 0);
	/* The network goes, negated or not; other lengths stay. */
	ATF_REQUIRE_EQ(netmask_parse("10.1.9.9/16", &nm), 0);
	ATF_CHECK_EQ(netmask_group_del(&ng, &nm), 1);
	ATF_CHECK_EQ(ng.ng_count, 3);
	ATF_CHECK_EQ(netmask_group_match(&ng, sa("10.1.3.4")), 1);
	ATF_CHECK_EQ(netmask_group_match(&ng, sa("10.1.2.4")), 1);
	ATF_CHECK_EQ(netmask_group_del(&ng, &nm), 0);
	ATF_REQUIRE_EQ(netmask_parse("10.0.0.0/9", &nm), 0);
	ATF_CHECK_EQ(netmask_group_del(&ng, &nm), 0);
	ATF_REQUIRE_EQ(netmask_parse("2001:db8::/32", &nm), 0);
	ATF_CHECK_EQ(netmask_group_del(&ng, &nm), 1);
	ATF_CHECK_EQ(netmask_group_match(&ng, sa("2001:db8::1")), 0);
	ATF_CHECK_EQ(ng.ng_count, 2);
	netmask_group_clear(&ng);
	ATF_CHECK_EQ(netmask_group_del(&ng, &nm), 0);	/* empty */
}

ATF_TP_ADD_TCS(tp)
{
	ATF_TP_ADD_TC(tp, parse);
	ATF_TP_ADD_TC(tp, parse_bad);
	ATF_TP_ADD_TC(tp, to_text_small);
	ATF_TP_ADD_TC(tp, match_v4);
	ATF_TP_ADD_TC(tp, match_v6);
	ATF_TP_ADD_TC(tp, match_every_length);
	ATF_TP_ADD_TC(tp, match_v4mapped);
	ATF_TP_ADD_TC(tp, group);
	ATF_TP_ADD_TC(tp, group_bad_text);
	ATF_TP_ADD_TC(tp, group_del);
	ATF_TP_ADD_TC(tp, group_grow_copy);
	return atf_no_error();
}
