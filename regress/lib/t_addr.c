/*
 * addr: numeric socket addresses to and from text.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <stdint.h>
#include <string.h>

#include <atf-c.h>

#include "addr.h"

#include "lsan.h"

/* 2001:db8::1 */
static const uint8_t v6_doc1[16] = {
	0x20, 0x01, 0x0d, 0xb8, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01,
};

/* Parse text and return its text form again, or "(error)". */
static const char *
roundtrip(const char *text, uint16_t defport)
{
	static char buf[ADDR_MAXTEXT];
	struct sockaddr_storage ss;
	socklen_t sslen;

	if (addr_parse(text, defport, &ss, &sslen) == -1)
		return "(error)";
	if (sslen != addr_len((struct sockaddr *)&ss))
		return "(bad length)";
	return addr_to_text((struct sockaddr *)&ss, buf, sizeof(buf));
}

ATF_TC_WITHOUT_HEAD(parse_v4);
ATF_TC_BODY(parse_v4, tc)
{
	struct sockaddr_storage ss;
	struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
	socklen_t sslen;

	ATF_REQUIRE_EQ(addr_parse("192.0.2.1", 53, &ss, &sslen), 0);
	ATF_CHECK_EQ(ss.ss_family, AF_INET);
	ATF_CHECK_EQ(sslen, sizeof(struct sockaddr_in));
	ATF_CHECK_EQ(sin->sin_addr.s_addr, htonl(0xc0000201));
	ATF_CHECK_EQ(addr_port((struct sockaddr *)&ss), 53);

	ATF_REQUIRE_EQ(addr_parse("192.0.2.1:5300", 53, &ss, &sslen), 0);
	ATF_CHECK_EQ(addr_port((struct sockaddr *)&ss), 5300);
	ATF_CHECK_STREQ(roundtrip("192.0.2.1:0", 53), "192.0.2.1:0");
	ATF_CHECK_STREQ(roundtrip("192.0.2.1:65535", 53), "192.0.2.1:65535");
	ATF_CHECK_STREQ(roundtrip("192.0.2.1:00053", 1), "192.0.2.1:53");
	ATF_CHECK_STREQ(roundtrip("0.0.0.0", 0), "0.0.0.0:0");
}

ATF_TC_WITHOUT_HEAD(parse_v6);
ATF_TC_BODY(parse_v6, tc)
{
	struct sockaddr_storage ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
	socklen_t sslen;

	ATF_REQUIRE_EQ(addr_parse("2001:db8::1", 53, &ss, &sslen), 0);
	ATF_CHECK_EQ(ss.ss_family, AF_INET6);
	ATF_CHECK_EQ(sslen, sizeof(struct sockaddr_in6));
	ATF_CHECK(memcmp(&sin6->sin6_addr, v6_doc1, 16) == 0);
	ATF_CHECK_EQ(addr_port((struct sockaddr *)&ss), 53);

	ATF_CHECK_STREQ(roundtrip("[2001:db8::1]:5300", 53),
	    "[2001:db8::1]:5300");
	ATF_CHECK_STREQ(roundtrip("[2001:db8::1]", 53), "[2001:db8::1]:53");
	ATF_CHECK_STREQ(roundtrip("::", 0), "[::]:0");
	ATF_CHECK_STREQ(roundtrip("::1", 853), "[::1]:853");
	/* Two colons or more without brackets: all address, no port. */
	ATF_CHECK_STREQ(roundtrip("2001:db8::1:53", 1),
	    "[2001:db8::1:53]:1");
	ATF_CHECK_STREQ(roundtrip("::ffff:192.0.2.1", 53),
	    "[::ffff:192.0.2.1]:53");
	/* Numeric scope. */
	ATF_CHECK_STREQ(roundtrip("[fe80::1%3]:53", 1), "[fe80::1%3]:53");
	ATF_CHECK_STREQ(roundtrip("fe80::1%3", 1), "[fe80::1%3]:1");
}

ATF_TC_WITHOUT_HEAD(parse_bad);
ATF_TC_BODY(parse_bad, tc)
{
	static const char *const bad[] = {
		"",
		":",
		":53",
		"192.0.2.1:",
		"192.0.2.1:65536",
		"192.0.2.1:99999999999999999999",
		"192.0.2.1:000053",		/* six digits */
		"192.0.2.1:+53",
		"192.0.2.1:-1",
		"192.0.2.1: 53",
		"192.0.2.1:53 ",
		"192.0.2.1:0x35",
		" 192.0.2.1",
		"192.0.2",
		"192.0.2.256",
		"192.0.2.1.",
		"localhost",
		"localhost:53",
		"[192.0.2.1]:53",
		"[2001:db8::1",
		"2001:db8::1]",
		"[2001:db8::1]:",
		"[2001:db8::1]53",
		"[2001:db8::1]:65536",
		"[]",
		"[]:53",
		"2001:db8:::1",
		"[fe80::1%]:53",
		"fe80::1%99999999999",
		"1.2.3.4:53:1",
		"[::1]:53:1",
		/* longer than any address */
		("0123456789012345678901234567890123456789012345678901234567890"
		    "12345"),
	};
	struct sockaddr_storage ss;
	socklen_t sslen;
	size_t	 i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ATF_CHECK_MSG(addr_parse(bad[i], 53, &ss, &sslen) == -1,
		    "\"%s\" accepted", bad[i]);
	ATF_CHECK_EQ(addr_parse(NULL, 53, &ss, &sslen), -1);
}

ATF_TC_WITHOUT_HEAD(to_text);
ATF_TC_BODY(to_text, tc)
{
	struct sockaddr_storage ss;
	socklen_t sslen;
	char	 buf[ADDR_MAXTEXT], small[8];

	ATF_REQUIRE_EQ(addr_parse("[2001:db8::1]:53", 0, &ss, &sslen), 0);
	ATF_CHECK_STREQ(addr_host_to_text((struct sockaddr *)&ss, buf,
	    sizeof(buf)), "2001:db8::1");
	ATF_CHECK_STREQ(addr_to_text((struct sockaddr *)&ss, buf,
	    sizeof(buf)), "[2001:db8::1]:53");
	/* Too small: truncated and terminated. */
	memset(small, 'x', sizeof(small));
	ATF_CHECK_STREQ(addr_to_text((struct sockaddr *)&ss, small,
	    sizeof(small)), "[2001:d");

	ATF_REQUIRE_EQ(addr_parse("198.51.100.7:8053", 0, &ss, &sslen), 0);
	ATF_CHECK_STREQ(addr_host_to_text((struct sockaddr *)&ss, buf,
	    sizeof(buf)), "198.51.100.7");
	ATF_CHECK_STREQ(addr_to_text((struct sockaddr *)&ss, buf,
	    sizeof(buf)), "198.51.100.7:8053");

	/* The longest form fits ADDR_MAXTEXT. */
	ATF_REQUIRE_EQ(addr_parse("[ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"
	    "%4294967295]:65535", 0, &ss, &sslen), 0);
	ATF_CHECK_STREQ(addr_to_text((struct sockaddr *)&ss, buf,
	    sizeof(buf)),
	    "[ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff%4294967295]:65535");

	memset(&ss, 0, sizeof(ss));
	ss.ss_family = AF_UNIX;
	ATF_CHECK_STREQ(addr_to_text((struct sockaddr *)&ss, buf,
	    sizeof(buf)), "?");
}

ATF_TC_WITHOUT_HEAD(port);
ATF_TC_BODY(port, tc)
{
	struct sockaddr_storage ss;
	struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
	socklen_t sslen;

	ATF_REQUIRE_EQ(addr_parse("192.0.2.1:53", 0, &ss, &sslen), 0);
	ATF_CHECK_EQ(sin->sin_port, htons(53));
	addr_set_port((struct sockaddr *)&ss, 65535);
	ATF_CHECK_EQ(addr_port((struct sockaddr *)&ss), 65535);
	ATF_CHECK_EQ(sin->sin_port, htons(65535));

	ATF_REQUIRE_EQ(addr_parse("[::1]:53", 0, &ss, &sslen), 0);
	addr_set_port((struct sockaddr *)&ss, 8053);
	ATF_CHECK_STREQ(roundtrip("[::1]:8053", 0), "[::1]:8053");
	ATF_CHECK_EQ(addr_port((struct sockaddr *)&ss), 8053);

	memset(&ss, 0, sizeof(ss));
	ss.ss_family = AF_UNIX;
	ATF_CHECK_EQ(addr_port((struct sockaddr *)&ss), 0);
	ATF_CHECK_EQ(addr_len((struct sockaddr *)&ss), 0);
}

ATF_TC_WITHOUT_HEAD(equal);
ATF_TC_BODY(equal, tc)
{
	struct sockaddr_storage a, b;
	socklen_t sl;

	ATF_REQUIRE_EQ(addr_parse("192.0.2.1:53", 0, &a, &sl), 0);
	ATF_REQUIRE_EQ(addr_parse("192.0.2.1", 53, &b, &sl), 0);
	ATF_CHECK_EQ(addr_equal((struct sockaddr *)&a, (struct sockaddr *)&b),
	    1);
	addr_set_port((struct sockaddr *)&b, 54);
	ATF_CHECK_EQ(addr_equal((struct sockaddr *)&a, (struct sockaddr *)&b),
	    0);
	ATF_REQUIRE_EQ(addr_parse("192.0.2.2:53", 0, &b, &sl), 0);
	ATF_CHECK_EQ(addr_equal((struct sockaddr *)&a, (struct sockaddr *)&b),
	    0);
	/* The same bits in another family are another address. */
	ATF_REQUIRE_EQ(addr_parse("[::ffff:192.0.2.1]:53", 0, &b, &sl), 0);
	ATF_CHECK_EQ(addr_equal((struct sockaddr *)&a, (struct sockaddr *)&b),
	    0);

	ATF_REQUIRE_EQ(addr_parse("[2001:db8::1]:53", 0, &a, &sl), 0);
	ATF_REQUIRE_EQ(addr_parse("2001:0db8:0::0001", 53, &b, &sl), 0);
	ATF_CHECK_EQ(addr_equal((struct sockaddr *)&a, (struct sockaddr *)&b),
	    1);
	ATF_REQUIRE_EQ(addr_parse("[2001:db8::2]:53", 0, &b, &sl), 0);
	ATF_CHECK_EQ(addr_equal((struct sockaddr *)&a, (struct sockaddr *)&b),
	    0);
}

ATF_TC_WITHOUT_HEAD(wildcard);
ATF_TC_BODY(wildcard, tc)
{
	struct sockaddr_storage ss;
	socklen_t sl;

	ATF_REQUIRE_EQ(addr_parse("0.0.0.0:53", 0, &ss, &sl), 0);
	ATF_CHECK_EQ(addr_is_wildcard((struct sockaddr *)&ss), 1);
	ATF_REQUIRE_EQ(addr_parse("[::]:53", 0, &ss, &sl), 0);
	ATF_CHECK_EQ(addr_is_wildcard((struct sockaddr *)&ss), 1);
	ATF_REQUIRE_EQ(addr_parse("127.0.0.1:53", 0, &ss, &sl), 0);
	ATF_CHECK_EQ(addr_is_wildcard((struct sockaddr *)&ss), 0);
	ATF_REQUIRE_EQ(addr_parse("::1", 0, &ss, &sl), 0);
	ATF_CHECK_EQ(addr_is_wildcard((struct sockaddr *)&ss), 0);
}

ATF_TP_ADD_TCS(tp)
{
	ATF_TP_ADD_TC(tp, parse_v4);
	ATF_TP_ADD_TC(tp, parse_v6);
	ATF_TP_ADD_TC(tp, parse_bad);
	ATF_TP_ADD_TC(tp, to_text);
	ATF_TP_ADD_TC(tp, port);
	ATF_TP_ADD_TC(tp, equal);
	ATF_TP_ADD_TC(tp, wildcard);
	return atf_no_error();
}
