/*
 * hostcount: counts per client address, limits, entries gone at zero,
 * and many addresses.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include <atf-c.h>
#include <sodium.h>

#include "addr.h"
#include "hostcount.h"

#include "lsan.h"

static struct sockaddr_storage
mkaddr(const char *text)
{
	struct sockaddr_storage	ss;
	socklen_t		len;

	ATF_REQUIRE(addr_parse(text, 53, &ss, &len) == 0);
	return ss;
}

#define SA(ss)	((const struct sockaddr *)&(ss))

static struct hostcount *
setup(void)
{
	struct hostcount	*hc;

	ATF_REQUIRE(sodium_init() != -1);
	ATF_REQUIRE((hc = hostcount_new()) != NULL);
	return hc;
}

ATF_TC_WITHOUT_HEAD(limit);
ATF_TC_BODY(limit, tc)
{
	struct hostcount	*hc = setup();
	struct sockaddr_storage	 a = mkaddr("127.0.0.5:1000");
	struct sockaddr_storage	 a2 = mkaddr("127.0.0.5:2000");
	struct sockaddr_storage	 b = mkaddr("127.0.0.6:1000");

	/* The port does not matter, the address does. */
	ATF_CHECK(hostcount_take(hc, SA(a), 2));
	ATF_CHECK(hostcount_take(hc, SA(a2), 2));
	ATF_CHECK(!hostcount_take(hc, SA(a), 2));
	ATF_CHECK_EQ(hostcount_get(hc, SA(a)), 2);
	ATF_CHECK(hostcount_take(hc, SA(b), 2));
	ATF_CHECK_EQ(hostcount_size(hc), 2);
	/* No limit (0 or less): counted all the same. */
	ATF_CHECK(hostcount_take(hc, SA(a), 0));
	ATF_CHECK_EQ(hostcount_get(hc, SA(a)), 3);
	hostcount_give(hc, SA(a));
	hostcount_give(hc, SA(a2));
	ATF_CHECK(hostcount_take(hc, SA(a), 2));
	ATF_CHECK(!hostcount_take(hc, SA(a), 2));
	hostcount_free(hc);
	hostcount_free(NULL);
}

ATF_TC_WITHOUT_HEAD(gone_at_zero);
ATF_TC_BODY(gone_at_zero, tc)
{
	struct hostcount	*hc = setup();
	struct sockaddr_storage	 a = mkaddr("[2001:db8::5]:1000");
	struct sockaddr_storage	 v4 = mkaddr("32.1.13.184:1000");

	ATF_CHECK(hostcount_take(hc, SA(a), 1));
	/* An IPv4 address with the same first bytes is another client. */
	ATF_CHECK(hostcount_take(hc, SA(v4), 1));
	ATF_CHECK_EQ(hostcount_size(hc), 2);
	hostcount_give(hc, SA(a));
	ATF_CHECK_EQ(hostcount_get(hc, SA(a)), 0);
	ATF_CHECK_EQ(hostcount_size(hc), 1);
	/* Giving back what was never taken changes nothing. */
	hostcount_give(hc, SA(a));
	ATF_CHECK_EQ(hostcount_size(hc), 1);
	ATF_CHECK_EQ(hostcount_get(hc, SA(v4)), 1);
	hostcount_give(hc, SA(v4));
	ATF_CHECK_EQ(hostcount_size(hc), 0);
	hostcount_free(hc);
}

ATF_TC_WITHOUT_HEAD(many);
ATF_TC_BODY(many, tc)
{
	struct hostcount	*hc = setup();
	struct sockaddr_storage	 ss;
	char			 text[32];
	int			 i;

	/* 15000 clients, then all gone; the table grows and shrinks. */
	for (i = 0; i < 15000; i++) {
		snprintf(text, sizeof(text), "10.%d.%d.%d", i >> 16,
		    (i >> 8) & 0xff, i & 0xff);
		ss = mkaddr(text);
		ATF_REQUIRE(hostcount_take(hc, SA(ss), 1));
	}
	ATF_CHECK_EQ(hostcount_size(hc), 15000);
	for (i = 0; i < 15000; i++) {
		snprintf(text, sizeof(text), "10.%d.%d.%d", i >> 16,
		    (i >> 8) & 0xff, i & 0xff);
		ss = mkaddr(text);
		ATF_REQUIRE(!hostcount_take(hc, SA(ss), 1));
		ATF_REQUIRE_EQ(hostcount_get(hc, SA(ss)), 1);
		hostcount_give(hc, SA(ss));
	}
	ATF_CHECK_EQ(hostcount_size(hc), 0);
	hostcount_free(hc);
}

ATF_TP_ADD_TCS(tp)
{
	ATF_TP_ADD_TC(tp, limit);
	ATF_TP_ADD_TC(tp, gone_at_zero);
	ATF_TP_ADD_TC(tp, many);
	return atf_no_error();
}
