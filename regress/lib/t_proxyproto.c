/*
 * proxyproto: version 2 headers read and written, and hostile ones: wrong
 * signatures, version 1 text, lengths that lie, truncation, TLVs that
 * overrun, headers past the maximum size, a header inside a header.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <string.h>

#include <atf-c.h>

#include "addr.h"
#include "proxyproto.h"

#include "lsan.h"

/* PROXY UDP from 192.0.2.1:8888 to 192.0.2.2:53, TLV 2 "foo". */
static const uint8_t v4udp[] = {
	0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51,	/* signature */
	0x55, 0x49, 0x54, 0x0a,
	0x21,			/* version 2, PROXY */
	0x12,			/* INET, DGRAM */
	0x00, 0x12,		/* 18 more bytes */
	192, 0, 2, 1,		/* source */
	192, 0, 2, 2,		/* destination */
	0x22, 0xb8,		/* 8888 */
	0x00, 0x35,		/* 53 */
	0x02, 0x00, 0x03, 'f', 'o', 'o'	/* TLV 2, 3 bytes */
};

static struct sockaddr_storage
mkaddr(const char *text)
{
	struct sockaddr_storage	ss;
	socklen_t		len;

	ATF_REQUIRE(addr_parse(text, 53, &ss, &len) == 0);
	return ss;
}

static void
check_addr(const struct sockaddr_storage *ss, const char *want)
{
	char	buf[ADDR_MAXTEXT];

	addr_to_text((const struct sockaddr *)ss, buf, sizeof(buf));
	ATF_CHECK_STREQ(buf, want);
}

ATF_TC_WITHOUT_HEAD(parse_v4);
ATF_TC_BODY(parse_v4, tc)
{
	struct proxyproto	pp;
	uint8_t			buf[sizeof(v4udp) + 12];
	size_t			used, off = 0;
	const uint8_t		*v;
	uint16_t		vlen;
	uint8_t			t;

	memcpy(buf, v4udp, sizeof(v4udp));
	memset(buf + sizeof(v4udp), 0xab, 12);	/* the DNS query after it */
	ATF_REQUIRE_EQ(proxyproto_parse(buf, sizeof(buf), 512, &pp, &used),
	    PP_OK);
	ATF_CHECK_EQ(used, sizeof(v4udp));
	ATF_CHECK(!pp.pp_local);
	ATF_CHECK(!pp.pp_stream);
	check_addr(&pp.pp_src, "192.0.2.1:8888");
	check_addr(&pp.pp_dst, "192.0.2.2:53");
	ATF_REQUIRE_EQ(pp.pp_tlvlen, 6);
	ATF_REQUIRE(proxyproto_tlv_next(pp.pp_tlv, pp.pp_tlvlen, &off, &t, &v,
	    &vlen));
	ATF_CHECK_EQ(t, 2);
	ATF_CHECK_EQ(vlen, 3);
	ATF_CHECK(memcmp(v, "foo", 3) == 0);
	ATF_CHECK(!proxyproto_tlv_next(pp.pp_tlv, pp.pp_tlvlen, &off, &t, &v,
	    &vlen));
}

ATF_TC_WITHOUT_HEAD(build_roundtrip);
ATF_TC_BODY(build_roundtrip, tc)
{
	struct sockaddr_storage	src = mkaddr("[2001:db8::8]:8888");
	struct sockaddr_storage	dst = mkaddr("[2001:db8::9]:9999");
	struct sockaddr_storage	v4 = mkaddr("192.0.2.1:53");
	struct pp_tlvs		*l = NULL;
	struct proxyproto	 pp;
	uint8_t			 buf[PP_MAXLEN];
	size_t			 n, used;

	ATF_REQUIRE(pp_tlvs_add(&l, 0, "foo", 3) == 0);
	ATF_REQUIRE(pp_tlvs_add(&l, 255, "proxy-protocol", 14) == 0);
	ATF_REQUIRE(pp_tlvs_add(&l, 42, "", 0) == 0);
	n = proxyproto_build(buf, sizeof(buf), (struct sockaddr *)&src,
	    (struct sockaddr *)&dst, true, l->pt_buf, l->pt_len);
	ATF_REQUIRE_EQ(n, PP_HDRLEN + 36 + 3 + 3 + 3 + 14 + 3);
	ATF_REQUIRE_EQ(proxyproto_parse(buf, n, n, &pp, &used), PP_OK);
	ATF_CHECK_EQ(used, n);
	ATF_CHECK(pp.pp_stream);
	check_addr(&pp.pp_src, "[2001:db8::8]:8888");
	check_addr(&pp.pp_dst, "[2001:db8::9]:9999");
	ATF_CHECK_EQ(pp.pp_tlvlen, l->pt_len);
	ATF_CHECK(memcmp(pp.pp_tlv, l->pt_buf, l->pt_len) == 0);
	/* One byte short of room: nothing. */
	ATF_CHECK_EQ(proxyproto_build(buf, n - 1, (struct sockaddr *)&src,
	    (struct sockaddr *)&dst, true, l->pt_buf, l->pt_len), 0);
	/* Mixed families make no header, as in dnsdist. */
	ATF_CHECK_EQ(proxyproto_build(buf, sizeof(buf), (struct sockaddr *)&v4,
	    (struct sockaddr *)&dst, false, NULL, 0), 0);
	/* LOCAL, as health checks send it. */
	n = proxyproto_build(buf, sizeof(buf), NULL, NULL, false, NULL, 0);
	ATF_REQUIRE_EQ(n, PP_HDRLEN);
	ATF_REQUIRE_EQ(proxyproto_parse(buf, n, n, &pp, &used), PP_OK);
	ATF_CHECK(pp.pp_local);
	pp_tlvs_free(l);
}

ATF_TC_WITHOUT_HEAD(truncated);
ATF_TC_BODY(truncated, tc)
{
	struct proxyproto	pp;
	size_t			len, used;
	enum pp_result		r;

	/* Every proper prefix is a good start that needs more. */
	for (len = 0; len < sizeof(v4udp); len++) {
		r = proxyproto_parse(v4udp, len, 512, &pp, &used);
		ATF_CHECK_EQ_MSG(r, PP_MORE, "prefix of %zu", len);
		ATF_CHECK(used > len);
		ATF_CHECK(used == PP_HDRLEN || used == sizeof(v4udp));
	}
}

ATF_TC_WITHOUT_HEAD(hostile);
ATF_TC_BODY(hostile, tc)
{
	struct proxyproto	pp;
	uint8_t			b[sizeof(v4udp) + PP_HDRLEN + 64];
	size_t			used;

#define BAD(what) do {							\
	ATF_CHECK_EQ_MSG(proxyproto_parse(b, sizeof(v4udp), 512, &pp,	\
	    &used), PP_INVALID, what);					\
	memcpy(b, v4udp, sizeof(v4udp));				\
} while (0)
	memcpy(b, v4udp, sizeof(v4udp));
	b[3] = 'x';
	BAD("signature");
	memcpy(b, "PROXY TCP4 192.0.2.1 192.0.2.2 1 2\r\n", 36);
	BAD("version 1");
	b[12] = 0x11;
	BAD("version 1 in binary");
	b[12] = 0x22;
	BAD("command 2");
	b[13] = 0x32;
	BAD("AF_UNIX");
	b[13] = 0x02;
	BAD("AF_UNSPEC with PROXY");
	b[13] = 0x13;
	BAD("protocol 3");
	b[15] = 11;			/* shorter than its addresses */
	BAD("addresses past the length");
	b[15] = 14;			/* cuts the TLV in its header */
	BAD("TLV header cut");
	b[15] = 16;			/* the TLV says 3, 1 is there */
	BAD("TLV value cut");
	b[29] = 0x04;			/* TLV length 0x0403 */
	BAD("TLV longer than the header");
	/* A header that says it is longer than what follows waits. */
	b[15] = 40;
	ATF_CHECK_EQ(proxyproto_parse(b, sizeof(v4udp), 512, &pp, &used),
	    PP_MORE);
	ATF_CHECK_EQ(used, PP_HDRLEN + 40);
	/* ... unless that is over the maximum. */
	b[14] = 0xff;
	ATF_CHECK_EQ(proxyproto_parse(b, sizeof(v4udp), 512, &pp, &used),
	    PP_TOOBIG);
	memcpy(b, v4udp, sizeof(v4udp));
	ATF_CHECK_EQ(proxyproto_parse(b, sizeof(v4udp), sizeof(v4udp) - 1,
	    &pp, &used), PP_TOOBIG);
	/* A LOCAL header's content is skipped, whatever it is. */
	b[12] = 0x20;
	b[13] = 0xff;
	ATF_CHECK_EQ(proxyproto_parse(b, sizeof(v4udp), 512, &pp, &used),
	    PP_OK);
	ATF_CHECK(pp.pp_local);
	ATF_CHECK_EQ(used, sizeof(v4udp));
	/* A header inside a header: the outer one only; the inner is data. */
	memcpy(b, v4udp, sizeof(v4udp));
	memcpy(b + sizeof(v4udp), v4udp, sizeof(v4udp));
	ATF_CHECK_EQ(proxyproto_parse(b, 2 * sizeof(v4udp), 512, &pp, &used),
	    PP_OK);
	ATF_CHECK_EQ(used, sizeof(v4udp));
	/* Nested as a TLV value it is a TLV like any other. */
	b[15] = (uint8_t)(12 + 3 + sizeof(v4udp));
	b[PP_HDRLEN + 12] = 0xee;
	b[PP_HDRLEN + 13] = 0;
	b[PP_HDRLEN + 14] = sizeof(v4udp);
	memcpy(b + PP_HDRLEN + 15, v4udp, sizeof(v4udp));
	ATF_CHECK_EQ(proxyproto_parse(b, PP_HDRLEN + 15 + sizeof(v4udp), 512,
	    &pp, &used), PP_OK);
	ATF_CHECK_EQ(pp.pp_tlvlen, 3 + sizeof(v4udp));
#undef BAD
}

ATF_TC_WITHOUT_HEAD(tlv_limits);
ATF_TC_BODY(tlv_limits, tc)
{
	static uint8_t		 big[70000];
	struct pp_tlvs		*l = NULL;
	struct sockaddr_storage	 src = mkaddr("192.0.2.1:1");
	uint8_t			 out[PP_MAXLEN];

	ATF_CHECK(pp_tlvs_add(&l, 1, big, 65536) == -1);
	ATF_CHECK(l == NULL);
	ATF_REQUIRE(pp_tlvs_add(&l, 1, big, 60000) == 0);
	/* The sum may not pass what a header can carry. */
	ATF_CHECK(pp_tlvs_add(&l, 2, big, 6000) == -1);
	ATF_CHECK_EQ(l->pt_len, 60003);
	ATF_CHECK(proxyproto_build(out, sizeof(out), (struct sockaddr *)&src,
	    NULL, false, l->pt_buf, l->pt_len) > 0);
	ATF_CHECK(proxyproto_build(out, sizeof(out), (struct sockaddr *)&src,
	    NULL, false, big, PP_TLVMAX + 1) == 0);
	pp_tlvs_free(l);
	ATF_CHECK(pp_tlvs_from(big, 0) == NULL);
	l = pp_tlvs_from(v4udp + 28, 6);
	ATF_REQUIRE(l != NULL);
	ATF_CHECK_EQ(l->pt_len, 6);
	pp_tlvs_free(l);
}

ATF_TP_ADD_TCS(tp)
{
	ATF_TP_ADD_TC(tp, parse_v4);
	ATF_TP_ADD_TC(tp, build_roundtrip);
	ATF_TP_ADD_TC(tp, truncated);
	ATF_TP_ADD_TC(tp, hostile);
	ATF_TP_ADD_TC(tp, tlv_limits);
	return atf_no_error();
}
