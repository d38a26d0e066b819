/*
 * ddr: the discovery query of RFC 9462, and answers read: the designated
 * resolver of lowest priority we can use, its port, path and hints; bad
 * answers, keys out of order, unknown mandatory keys, hostile names.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <stdint.h>
#include <string.h>

#include <atf-c.h>

#include "ddr.h"
#include "dnspacket.h"

#include "lsan.h"

/* The header and question of an answer to ID 0x1234, one answer record. */
static const uint8_t head[] = {
	0x12, 0x34, 0x81, 0x80,			/* id, QR RD RA, NOERROR */
	0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00,	/* qd 1, an 1 */
	0x04, '_', 'd', 'n', 's',		/* 12: _dns.resolver.arpa. */
	0x08, 'r', 'e', 's', 'o', 'l', 'v', 'e', 'r',
	0x04, 'a', 'r', 'p', 'a', 0x00,
	0x00, 0x40, 0x00, 0x01,			/* SVCB IN */
};

/* The target dns.test. in wire form. */
static const uint8_t target[] = {
	0x03, 'd', 'n', 's', 0x04, 't', 'e', 's', 't', 0x00
};

/* Append an SVCB record (owner: the qname) with prio, target and params. */
static size_t
add_svcb(uint8_t *pkt, size_t len, uint16_t prio, const uint8_t *params,
    size_t plen)
{
	uint8_t	*p = pkt + len;

	p[0] = 0xc0;
	p[1] = 0x0c;
	dnspacket_put16(p + 2, DDR_TYPE_SVCB);
	dnspacket_put16(p + 4, DNS_CLASS_IN);
	dnspacket_put32(p + 6, 60);
	dnspacket_put16(p + 10, (uint16_t)(2 + sizeof(target) + plen));
	dnspacket_put16(p + 12, prio);
	memcpy(p + 14, target, sizeof(target));
	if (plen > 0)
		memcpy(p + 14 + sizeof(target), params, plen);
	return len + 14 + sizeof(target) + plen;
}

static size_t
one(uint8_t *pkt, uint16_t prio, const uint8_t *params, size_t plen)
{
	memcpy(pkt, head, sizeof(head));
	return add_svcb(pkt, sizeof(head), prio, params, plen);
}

/* alpn=dot port=8853 ipv4hint=192.0.2.1 */
static const uint8_t p_dot[] = {
	0x00, 0x01, 0x00, 0x04, 0x03, 'd', 'o', 't',
	0x00, 0x03, 0x00, 0x02, 0x22, 0x95,
	0x00, 0x04, 0x00, 0x04, 192, 0, 2, 1,
};

/* alpn=h2 key7="/q{?dns}" */
static const uint8_t p_doh[] = {
	0x00, 0x01, 0x00, 0x03, 0x02, 'h', '2',
	0x00, 0x07, 0x00, 0x08, '/', 'q', '{', '?', 'd', 'n', 's', '}',
};

ATF_TC_WITHOUT_HEAD(query);
ATF_TC_BODY(query, tc)
{
	struct dnsquestion	q;
	uint8_t			buf[512];
	size_t			len;

	len = ddr_make_query(buf, sizeof(buf), 0xbeef);
	ATF_REQUIRE_EQ(len, sizeof(head) + 11);
	ATF_CHECK_EQ(dnspacket_id(buf), 0xbeef);
	ATF_CHECK(dnspacket_rd(buf) && !dnspacket_qr(buf));
	ATF_CHECK_EQ(dnspacket_arcount(buf), 1);
	ATF_REQUIRE_EQ(dnspacket_question(buf, len, &q), 0);
	ATF_CHECK(memcmp(buf + 12, head + 12, sizeof(head) - 12) == 0);
	ATF_CHECK_EQ(dnspacket_get16(buf + q.q_end + 1), DNS_TYPE_OPT);
	ATF_CHECK_EQ(dnspacket_get16(buf + q.q_end + 3), 4096);
	ATF_CHECK_EQ(ddr_make_query(buf, len - 1, 1), 0);
}

ATF_TC_WITHOUT_HEAD(dot_doh);
ATF_TC_BODY(dot_doh, tc)
{
	struct ddr_result	 r;
	struct sockaddr_in	*sin;
	uint8_t			 pkt[512];
	size_t			 len;

	len = one(pkt, 1, p_dot, sizeof(p_dot));
	ATF_REQUIRE_EQ(ddr_parse(pkt, len, 0x1234, DDR_DOHKEY, &r), DDR_OK);
	ATF_CHECK_EQ(r.dr_proto, DDR_DOT);
	ATF_CHECK_EQ(r.dr_port, 8853);
	ATF_CHECK_STREQ(r.dr_target, "dns.test");
	ATF_REQUIRE_EQ(r.dr_nhints, 1);
	sin = (struct sockaddr_in *)&r.dr_hints[0];
	ATF_CHECK_EQ(sin->sin_family, AF_INET);
	ATF_CHECK_EQ(ntohl(sin->sin_addr.s_addr), 0xc0000201);
	/* The DoH path up to its template; the default port. */
	len = one(pkt, 1, p_doh, sizeof(p_doh));
	ATF_REQUIRE_EQ(ddr_parse(pkt, len, 0x1234, DDR_DOHKEY, &r), DDR_OK);
	ATF_CHECK_EQ(r.dr_proto, DDR_DOH);
	ATF_CHECK_EQ(r.dr_port, 443);
	ATF_CHECK_STREQ(r.dr_dohpath, "/q");
	/* Another key for the path: none, so not usable. */
	ATF_CHECK_EQ(ddr_parse(pkt, len, 0x1234, 9, &r), DDR_ENOUSABLE);
	ATF_CHECK_EQ(ddr_parse(pkt, len, 0x1234, 0, &r), DDR_ENOUSABLE);
}

ATF_TC_WITHOUT_HEAD(priority_hints);
ATF_TC_BODY(priority_hints, tc)
{
	struct ddr_result	 r;
	uint8_t			 pkt[512], *p;
	size_t			 len;
	const uint8_t		 h3[] = { 0x00, 0x01, 0x00, 0x03, 0x02, 'h',
				    '3' };

	/* Priority 5 DoH, then 2 DoT, then an alias and an h3 at 1. */
	len = one(pkt, 5, p_doh, sizeof(p_doh));
	len = add_svcb(pkt, len, 2, p_dot, sizeof(p_dot));
	len = add_svcb(pkt, len, 0, NULL, 0);
	len = add_svcb(pkt, len, 1, h3, sizeof(h3));
	pkt[7] = 4;
	/* An AAAA of the target and an A of another name, additional. */
	p = pkt + len;
	memcpy(p, target, sizeof(target));
	p += sizeof(target);
	dnspacket_put16(p, DNS_TYPE_AAAA);
	dnspacket_put16(p + 2, DNS_CLASS_IN);
	dnspacket_put32(p + 4, 60);
	dnspacket_put16(p + 8, 16);
	memset(p + 10, 0, 16);
	p[25] = 1;				/* ::1 */
	p += 26;
	memcpy(p, "\x01x\x00\x00\x01\x00\x01\x00\x00\x00\x3c\x00\x04\x7f"
	    "\x00\x00\x09", 17);
	len = (size_t)(p + 17 - pkt);
	pkt[11] = 2;
	ATF_REQUIRE_EQ(ddr_parse(pkt, len, 0x1234, DDR_DOHKEY, &r), DDR_OK);
	ATF_CHECK_EQ(r.dr_proto, DDR_DOT);
	ATF_REQUIRE_EQ(r.dr_nhints, 2);
	ATF_CHECK_EQ(r.dr_hints[1].ss_family, AF_INET6);
	/* Only the alias and the h3: nothing. */
	len = one(pkt, 0, NULL, 0);
	len = add_svcb(pkt, len, 1, h3, sizeof(h3));
	pkt[7] = 2;
	ATF_CHECK_EQ(ddr_parse(pkt, len, 0x1234, DDR_DOHKEY, &r),
	    DDR_ENOUSABLE);
}

ATF_TC_WITHOUT_HEAD(keys);
ATF_TC_BODY(keys, tc)
{
	struct ddr_result	r;
	uint8_t			pkt[512], params[64];
	size_t			len;
	/* mandatory=key65000, alpn=dot, key65000="x" */
	const uint8_t		mand[] = { 0x00, 0x00, 0x00, 0x02, 0xfd, 0xe8,
				    0x00, 0x01, 0x00, 0x04, 0x03, 'd', 'o', 't',
				    0xfd, 0xe8, 0x00, 0x01, 'x' };
	/* port before alpn: out of order */
	const uint8_t		order[] = { 0x00, 0x03, 0x00, 0x02, 0x03, 0x55,
				    0x00, 0x01, 0x00, 0x04, 0x03, 'd', 'o',
				    't' };

	len = one(pkt, 1, mand, sizeof(mand));
	ATF_CHECK_EQ(ddr_parse(pkt, len, 0x1234, DDR_DOHKEY, &r),
	    DDR_ENOUSABLE);
	/* Not mandatory, the unknown key is skipped. */
	len = one(pkt, 1, mand + 6, sizeof(mand) - 6);
	ATF_CHECK_EQ(ddr_parse(pkt, len, 0x1234, DDR_DOHKEY, &r), DDR_OK);
	ATF_CHECK_EQ(r.dr_port, 853);
	len = one(pkt, 1, order, sizeof(order));
	ATF_CHECK_EQ(ddr_parse(pkt, len, 0x1234, DDR_DOHKEY, &r),
	    DDR_ENOUSABLE);
	/* Port 0, an empty ALPN, a hint of 3 bytes, a path not from '/'. */
	memcpy(params, p_dot, sizeof(p_dot));
	params[12] = params[13] = 0;
	len = one(pkt, 1, params, sizeof(p_dot));
	ATF_CHECK_EQ(ddr_parse(pkt, len, 0x1234, 0, &r), DDR_ENOUSABLE);
	memcpy(params, p_dot, sizeof(p_dot));
	params[4] = 0;
	len = one(pkt, 1, params, sizeof(p_dot));
	ATF_CHECK_EQ(ddr_parse(pkt, len, 0x1234, 0, &r), DDR_ENOUSABLE);
	memcpy(params, p_dot, sizeof(p_dot));
	params[17] = 3;
	len = one(pkt, 1, params, sizeof(p_dot) - 1);
	ATF_CHECK_EQ(ddr_parse(pkt, len, 0x1234, 0, &r), DDR_ENOUSABLE);
	memcpy(params, p_doh, sizeof(p_doh));
	params[11] = 'q';
	len = one(pkt, 1, params, sizeof(p_doh));
	ATF_CHECK_EQ(ddr_parse(pkt, len, 0x1234, DDR_DOHKEY, &r),
	    DDR_ENOUSABLE);
	/* A value that runs past the record. */
	memcpy(params, p_dot, sizeof(p_dot));
	params[17] = 40;
	len = one(pkt, 1, params, sizeof(p_dot));
	ATF_CHECK_EQ(ddr_parse(pkt, len, 0x1234, 0, &r), DDR_ENOUSABLE);
}

ATF_TC_WITHOUT_HEAD(hostile);
ATF_TC_BODY(hostile, tc)
{
	struct ddr_result	r;
	uint8_t			pkt[512];
	size_t			len, i;

	len = one(pkt, 1, p_dot, sizeof(p_dot));
	ATF_CHECK_EQ(ddr_parse(pkt, len, 0x1235, 0, &r), DDR_EID);
	pkt[2] &= 0x7f;
	ATF_CHECK_EQ(ddr_parse(pkt, len, 0x1234, 0, &r), DDR_EID);
	pkt[2] |= 0x80;
	pkt[3] |= DNS_RCODE_SERVFAIL;
	ATF_CHECK_EQ(ddr_parse(pkt, len, 0x1234, 0, &r), DDR_ERCODE);
	pkt[3] &= 0xf0;
	pkt[5] = 2;
	ATF_CHECK_EQ(ddr_parse(pkt, len, 0x1234, 0, &r), DDR_EQUESTION);
	pkt[5] = 1;
	pkt[14] = 'D';				/* case does not matter */
	ATF_CHECK_EQ(ddr_parse(pkt, len, 0x1234, 0, &r), DDR_OK);
	pkt[14] = 'x';
	ATF_CHECK_EQ(ddr_parse(pkt, len, 0x1234, 0, &r), DDR_EQUESTION);
	pkt[14] = 'd';
	pkt[12] = 0xff;				/* a bad first label */
	ATF_CHECK_EQ(ddr_parse(pkt, len, 0x1234, 0, &r), DDR_EMALFORMED);
	pkt[12] = 4;
	pkt[7] = 0;
	ATF_CHECK_EQ(ddr_parse(pkt, len, 0x1234, 0, &r), DDR_ENOSVCB);
	pkt[7] = 2;				/* promises more */
	ATF_CHECK_EQ(ddr_parse(pkt, len, 0x1234, 0, &r), DDR_EMALFORMED);
	pkt[7] = 1;
	/* Every truncation fails cleanly. */
	for (i = 0; i < len; i++)
		ATF_CHECK(ddr_parse(pkt, i, 0x1234, 0, &r) != DDR_OK);
	/* A target that points at itself. */
	pkt[sizeof(head) + 14] = 0xc0;
	pkt[sizeof(head) + 15] = (uint8_t)(sizeof(head) + 14);
	ATF_CHECK_EQ(ddr_parse(pkt, len, 0x1234, 0, &r), DDR_ENOUSABLE);
	/* The root as the target is not a name to check a certificate for. */
	len = one(pkt, 1, p_dot, sizeof(p_dot));
	memmove(pkt + sizeof(head) + 14, pkt + sizeof(head) + 23,
	    len - sizeof(head) - 23);
	len -= 9;
	pkt[sizeof(head) + 11] -= 9;
	ATF_CHECK_EQ(ddr_parse(pkt, len, 0x1234, 0, &r), DDR_ENOUSABLE);
}

ATF_TP_ADD_TCS(tp)
{
	ATF_TP_ADD_TC(tp, query);
	ATF_TP_ADD_TC(tp, dot_doh);
	ATF_TP_ADD_TC(tp, priority_hints);
	ATF_TP_ADD_TC(tp, keys);
	ATF_TP_ADD_TC(tp, hostile);
	return atf_no_error();
}
