/*
 * edns: options put in a query (added, replaced, kept), an OPT record
 * added when there is none, and hostile or full messages left alone.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include <atf-c.h>

#include "edns.h"

#include "lsan.h"

/* a. A IN, no additional records. */
static const uint8_t q_plain[] = {
	0x12, 0x34, 0x01, 0x00,			/* id, RD */
	0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,	/* qd 1 */
	0x01, 'a', 0x00,			/* 12: qname */
	0x00, 0x01, 0x00, 0x01,			/* A IN */
};

/* a. A IN with an OPT record: 4096, DO, a cookie option, then NSID. */
static const uint8_t q_opt[] = {
	0x12, 0x34, 0x01, 0x00,
	0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01,	/* ar 1 */
	0x01, 'a', 0x00,
	0x00, 0x01, 0x00, 0x01,
	0x00, 0x00, 0x29, 0x10, 0x00,		/* 19: OPT, 4096 */
	0x00, 0x00, 0x80, 0x00,			/* DO */
	0x00, 0x10,				/* 28: rdlen 16 */
	0x00, 0x0a, 0x00, 0x08,			/* 30: cookie, 8 bytes */
	1, 2, 3, 4, 5, 6, 7, 8,
	0x00, 0x03, 0x00, 0x00,			/* 42: NSID, empty */
};

/* The same with an option that runs past the record. */
static const uint8_t q_overrun[] = {
	0x12, 0x34, 0x01, 0x00,
	0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01,
	0x01, 'a', 0x00,
	0x00, 0x01, 0x00, 0x01,
	0x00, 0x00, 0x29, 0x10, 0x00,
	0x00, 0x00, 0x00, 0x00,
	0x00, 0x06,				/* rdlen 6 */
	0x00, 0x0a, 0x00, 0x08,			/* 8 bytes announced, 2 there */
	1, 2,
};

static const uint8_t data[] = { 'd', 'e', 'a', 'd' };

static size_t
load(uint8_t *pkt, const uint8_t *q, size_t len, struct dnsquestion *dq)
{
	memcpy(pkt, q, len);
	ATF_REQUIRE(dnspacket_question(pkt, len, dq) == 0);
	return len;
}

ATF_TC_WITHOUT_HEAD(add_opt);
ATF_TC_BODY(add_opt, tc)
{
	uint8_t			pkt[512];
	struct dnsquestion	q;
	size_t			len = load(pkt, q_plain, sizeof(q_plain), &q);
	bool			hadopt = true;
	static const uint8_t	want[] = {
		0x00, 0x00, 0x29, 0x02, 0x00,	/* OPT, 512 */
		0x00, 0x00, 0x00, 0x00,
		0x00, 0x08,			/* rdlen 8 */
		0xfd, 0xe9, 0x00, 0x04, 'd', 'e', 'a', 'd',
	};

	/* Trailing bytes are no part of the message: they go. */
	pkt[len++] = 0xff;
	ATF_CHECK_EQ(edns_set_option(pkt, &len, sizeof(pkt), &q, 65001, data,
	    sizeof(data), 512, true, &hadopt), 1);
	ATF_CHECK(!hadopt);
	ATF_REQUIRE_EQ(len, sizeof(q_plain) + sizeof(want));
	ATF_CHECK(memcmp(pkt + sizeof(q_plain), want, sizeof(want)) == 0);
	ATF_CHECK_EQ(dnspacket_arcount(pkt), 1);
}

ATF_TC_WITHOUT_HEAD(replace_keep_append);
ATF_TC_BODY(replace_keep_append, tc)
{
	uint8_t			pkt[512];
	struct dnsquestion	q;
	size_t			len = load(pkt, q_opt, sizeof(q_opt), &q);
	bool			hadopt = false;
	static const uint8_t	cookie[] = {
		0x00, 0x0a, 0x00, 0x04, 'd', 'e', 'a', 'd',
	};

	/* Kept unless override. */
	ATF_CHECK_EQ(edns_set_option(pkt, &len, sizeof(pkt), &q, 10, data,
	    sizeof(data), 512, false, &hadopt), 0);
	ATF_CHECK(hadopt);
	ATF_CHECK(len == sizeof(q_opt) && memcmp(pkt, q_opt, len) == 0);
	/* Replaced, shorter, last as in dnsdist; payload and DO stay. */
	ATF_CHECK_EQ(edns_set_option(pkt, &len, sizeof(pkt), &q, 10, data,
	    sizeof(data), 512, true, &hadopt), 2);
	ATF_REQUIRE_EQ(len, sizeof(q_opt) - 4);
	ATF_CHECK_EQ(dnspacket_get16(pkt + 28), 12);
	ATF_CHECK(memcmp(pkt + 30, q_opt + 42, 4) == 0);
	ATF_CHECK(memcmp(pkt + 34, cookie, sizeof(cookie)) == 0);
	ATF_CHECK_EQ(dnspacket_get16(pkt + 22), 4096);
	ATF_CHECK_EQ(pkt[26], 0x80);
	ATF_CHECK_EQ(dnspacket_arcount(pkt), 1);
	/* A code not there is appended. */
	ATF_CHECK_EQ(edns_set_option(pkt, &len, sizeof(pkt), &q, 12, NULL, 0,
	    512, true, &hadopt), 1);
	ATF_REQUIRE_EQ(len, sizeof(q_opt));
	ATF_CHECK_EQ(dnspacket_get16(pkt + 28), 16);
	ATF_CHECK(memcmp(pkt + 34, cookie, sizeof(cookie)) == 0);
	ATF_CHECK_EQ(dnspacket_get16(pkt + 42), 12);
	ATF_CHECK_EQ(dnspacket_get16(pkt + 44), 0);
}

ATF_TC_WITHOUT_HEAD(hostile);
ATF_TC_BODY(hostile, tc)
{
	uint8_t			pkt[512];
	struct dnsquestion	q;
	size_t			len;
	bool			hadopt;

	/* Options that do not parse: nothing changes. */
	len = load(pkt, q_overrun, sizeof(q_overrun), &q);
	ATF_CHECK_EQ(edns_set_option(pkt, &len, sizeof(pkt), &q, 10, data,
	    sizeof(data), 512, true, &hadopt), -1);
	ATF_CHECK(len == sizeof(q_overrun) &&
	    memcmp(pkt, q_overrun, len) == 0);
	/* No room for the record or the option. */
	len = load(pkt, q_plain, sizeof(q_plain), &q);
	ATF_CHECK_EQ(edns_set_option(pkt, &len, sizeof(q_plain) + 14, &q, 10,
	    data, sizeof(data), 512, true, &hadopt), -1);
	ATF_CHECK_EQ(len, sizeof(q_plain));
	len = load(pkt, q_opt, sizeof(q_opt), &q);
	ATF_CHECK_EQ(edns_set_option(pkt, &len, sizeof(q_opt) + 7, &q, 11,
	    data, sizeof(data), 512, true, &hadopt), -1);
	ATF_CHECK(len == sizeof(q_opt) && memcmp(pkt, q_opt, len) == 0);
	/* Data longer than an option can be. */
	ATF_CHECK_EQ(edns_set_option(pkt, &len, sizeof(pkt), &q, 11, data,
	    65532, 512, true, &hadopt), -1);
	/* ARCOUNT already at its maximum: no OPT record to add. */
	len = load(pkt, q_plain, sizeof(q_plain), &q);
	pkt[10] = pkt[11] = 0xff;
	ATF_CHECK_EQ(edns_set_option(pkt, &len, sizeof(pkt), &q, 10, data,
	    sizeof(data), 512, true, &hadopt), -1);
}

ATF_TP_ADD_TCS(tp)
{
	ATF_TP_ADD_TC(tp, add_opt);
	ATF_TP_ADD_TC(tp, replace_keep_append);
	ATF_TP_ADD_TC(tp, hostile);
	return atf_no_error();
}
