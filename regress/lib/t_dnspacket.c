/*
 * dnspacket: header accessors, the question (including hostile messages),
 * responses, queries and mnemonics.
 */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include <atf-c.h>

#include "dnspacket.h"

#include "lsan.h"

/* www.example.com. A IN, RD, with an EDNS OPT record (arcount 1). */
static const uint8_t query_www[] = {
	0xbe, 0xef,				/* id */
	0x01, 0x00,				/* RD */
	0x00, 0x01, 0x00, 0x00,			/* qd 1, an 0 */
	0x00, 0x00, 0x00, 0x01,			/* ns 0, ar 1 */
	0x03, 'w', 'w', 'w',			/* 12: qname */
	0x07, 'e', 'x', 'a', 'm', 'p', 'l', 'e',
	0x03, 'c', 'o', 'm',
	0x00,
	0x00, 0x01,				/* 29: qtype A */
	0x00, 0x01,				/* 31: qclass IN */
	0x00,					/* 33: OPT owner . */
	0x00, 0x29, 0x10, 0x00,			/* OPT, 4096 */
	0x00, 0x00, 0x00, 0x00,			/* ext rcode, flags */
	0x00, 0x00,				/* rdlen 0 */
};
#define QUERY_WWW_QEND	33

/* Flags: QR, AA, RD in byte 2; RA and NXDOMAIN in byte 3. */
static const uint8_t hdr_flags1[] = {
	0x12, 0x34, 0x85, 0x83,
	0x00, 0x01, 0x00, 0x02, 0x00, 0x03, 0x00, 0x04,
};

/* Opcode UPDATE (5), TC in byte 2; AD, CD, rcode 15 in byte 3. */
static const uint8_t hdr_flags2[] = {
	0xff, 0xff, 0x2a, 0x3f,
	0xff, 0xfe, 0x80, 0x00, 0x01, 0x00, 0x00, 0xff,
};

/* qdcount 0, but a question follows anyway. */
static const uint8_t query_qd0[] = {
	0x00, 0x01, 0x01, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x01, 'a', 0x00, 0x00, 0x01, 0x00, 0x01,
};

/* A qname with the reserved label types 0x40 and 0x80. */
static const uint8_t query_res40[] = {
	0x00, 0x01, 0x01, 0x00,
	0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x41, 0x02, 0x00, 0x00, 0x01, 0x00, 0x01,
};
static const uint8_t query_res80[] = {
	0x00, 0x01, 0x01, 0x00,
	0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x80, 0x02, 0x00, 0x00, 0x01, 0x00, 0x01,
};

/* A qname that points back into the header, where 0x01 0x00 is "\001." */
static const uint8_t query_ptr_header[] = {
	0x00, 0x01, 0x01, 0x00,
	0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x01, 'a', 0xc0, 0x04,			/* 12: a -> 4 */
	0x00, 0x01, 0x00, 0x01,
};

/* A qname that points to itself, and one that points forward. */
static const uint8_t query_self[] = {
	0x00, 0x01, 0x01, 0x00,
	0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0xc0, 0x0c, 0x00, 0x01, 0x00, 0x01,
};
static const uint8_t query_forward[] = {
	0x00, 0x01, 0x01, 0x00,
	0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0xc0, 0x12, 0x00, 0x01, 0x00, 0x01,	/* 12: -> 18 */
	0x01, 'a', 0x00,			/* 18: a. */
};

ATF_TC_WITHOUT_HEAD(header_get);
ATF_TC_BODY(header_get, tc)
{
	ATF_CHECK_EQ(dnspacket_id(hdr_flags1), 0x1234);
	ATF_CHECK(dnspacket_qr(hdr_flags1));
	ATF_CHECK_EQ(dnspacket_opcode(hdr_flags1), DNS_OPCODE_QUERY);
	ATF_CHECK(dnspacket_aa(hdr_flags1));
	ATF_CHECK(!dnspacket_tc(hdr_flags1));
	ATF_CHECK(dnspacket_rd(hdr_flags1));
	ATF_CHECK(dnspacket_ra(hdr_flags1));
	ATF_CHECK(!dnspacket_ad(hdr_flags1));
	ATF_CHECK(!dnspacket_cd(hdr_flags1));
	ATF_CHECK_EQ(dnspacket_rcode(hdr_flags1), DNS_RCODE_NXDOMAIN);
	ATF_CHECK_EQ(dnspacket_qdcount(hdr_flags1), 1);
	ATF_CHECK_EQ(dnspacket_ancount(hdr_flags1), 2);
	ATF_CHECK_EQ(dnspacket_nscount(hdr_flags1), 3);
	ATF_CHECK_EQ(dnspacket_arcount(hdr_flags1), 4);

	ATF_CHECK_EQ(dnspacket_id(hdr_flags2), 0xffff);
	ATF_CHECK(!dnspacket_qr(hdr_flags2));
	ATF_CHECK_EQ(dnspacket_opcode(hdr_flags2), DNS_OPCODE_UPDATE);
	ATF_CHECK(!dnspacket_aa(hdr_flags2));
	ATF_CHECK(dnspacket_tc(hdr_flags2));
	ATF_CHECK(!dnspacket_rd(hdr_flags2));
	ATF_CHECK(!dnspacket_ra(hdr_flags2));
	ATF_CHECK(dnspacket_ad(hdr_flags2));
	ATF_CHECK(dnspacket_cd(hdr_flags2));
	ATF_CHECK_EQ(dnspacket_rcode(hdr_flags2), 15);
	ATF_CHECK_EQ(dnspacket_qdcount(hdr_flags2), 0xfffe);
	ATF_CHECK_EQ(dnspacket_ancount(hdr_flags2), 0x8000);
	ATF_CHECK_EQ(dnspacket_nscount(hdr_flags2), 0x0100);
	ATF_CHECK_EQ(dnspacket_arcount(hdr_flags2), 0x00ff);
}

/* Each setter changes its own bit and nothing else. */
ATF_TC_WITHOUT_HEAD(header_set);
ATF_TC_BODY(header_set, tc)
{
	static const struct {
		void	(*set)(uint8_t *, bool);
		size_t	 byte;
		uint8_t	 bit;
	} f[] = {
		{ dnspacket_set_qr, 2, 0x80 },
		{ dnspacket_set_aa, 2, 0x04 },
		{ dnspacket_set_tc, 2, 0x02 },
		{ dnspacket_set_rd, 2, 0x01 },
		{ dnspacket_set_ra, 3, 0x80 },
		{ dnspacket_set_ad, 3, 0x20 },
		{ dnspacket_set_cd, 3, 0x10 },
	};
	uint8_t	 h[DNS_HDRLEN], want[DNS_HDRLEN];
	size_t	 i;
	int	 fill;

	for (fill = 0; fill <= 0xff; fill += 0xff) {
		for (i = 0; i < sizeof(f) / sizeof(f[0]); i++) {
			memset(h, fill, sizeof(h));
			memcpy(want, h, sizeof(h));
			f[i].set(h, true);
			want[f[i].byte] |= f[i].bit;
			ATF_CHECK_MSG(memcmp(h, want, sizeof(h)) == 0,
			    "set %zu on", i);
			f[i].set(h, false);
			want[f[i].byte] &= (uint8_t)~f[i].bit;
			ATF_CHECK_MSG(memcmp(h, want, sizeof(h)) == 0,
			    "set %zu off", i);
		}
	}

	memset(h, 0, sizeof(h));
	dnspacket_set_id(h, 0xa55a);
	ATF_CHECK_EQ(h[0], 0xa5);
	ATF_CHECK_EQ(h[1], 0x5a);
	dnspacket_set_counts(h, 0x0102, 0x0304, 0x0506, 0x0708);
	ATF_CHECK_EQ(h[4], 0x01);
	ATF_CHECK_EQ(h[5], 0x02);
	ATF_CHECK_EQ(h[11], 0x08);
	ATF_CHECK_EQ(dnspacket_nscount(h), 0x0506);

	/* rcode takes the low 4 bits of byte 3 only. */
	memset(h, 0xff, sizeof(h));
	dnspacket_set_rcode(h, DNS_RCODE_NOERROR);
	ATF_CHECK_EQ(h[3], 0xf0);
	ATF_CHECK_EQ(h[2], 0xff);
	dnspacket_set_rcode(h, DNS_RCODE_REFUSED);
	ATF_CHECK_EQ(h[3], 0xf5);
	dnspacket_set_rcode(h, 0x1f3);		/* extended bits dropped */
	ATF_CHECK_EQ(h[3], 0xf3);
}

ATF_TC_WITHOUT_HEAD(question);
ATF_TC_BODY(question, tc)
{
	struct dnsquestion q;

	ATF_REQUIRE_EQ(dnspacket_question(query_www, sizeof(query_www), &q),
	    0);
	ATF_CHECK_EQ(q.q_namelen, 17);
	ATF_CHECK(memcmp(q.q_name, query_www + 12, 17) == 0);
	ATF_CHECK_EQ(q.q_type, DNS_TYPE_A);
	ATF_CHECK_EQ(q.q_class, DNS_CLASS_IN);
	ATF_CHECK_EQ(q.q_end, QUERY_WWW_QEND);

	/* The question alone, with nothing after it, is enough. */
	ATF_CHECK_EQ(dnspacket_question(query_www, QUERY_WWW_QEND, &q), 0);
}

ATF_TC_WITHOUT_HEAD(question_short);
ATF_TC_BODY(question_short, tc)
{
	struct dnsquestion q;
	size_t	 n;

	/* Shorter than a header, down to nothing at all. */
	for (n = 0; n < DNS_HDRLEN; n++)
		ATF_CHECK_EQ(dnspacket_question(query_www, n, &q), -1);
	/* Truncated anywhere in the name, the type or the class. */
	for (n = DNS_HDRLEN; n < QUERY_WWW_QEND; n++)
		ATF_CHECK_MSG(dnspacket_question(query_www, n, &q) == -1,
		    "length %zu", n);
}

ATF_TC_WITHOUT_HEAD(question_qdcount0);
ATF_TC_BODY(question_qdcount0, tc)
{
	struct dnsquestion q;

	ATF_CHECK_EQ(dnspacket_question(query_qd0, sizeof(query_qd0), &q), -1);
}

ATF_TC_WITHOUT_HEAD(question_bad_name);
ATF_TC_BODY(question_bad_name, tc)
{
	struct dnsquestion q;

	ATF_CHECK_EQ(dnspacket_question(query_res40, sizeof(query_res40), &q),
	    -1);
	ATF_CHECK_EQ(dnspacket_question(query_res80, sizeof(query_res80), &q),
	    -1);
	ATF_CHECK_EQ(dnspacket_question(query_self, sizeof(query_self), &q),
	    -1);
	ATF_CHECK_EQ(dnspacket_question(query_forward, sizeof(query_forward),
	    &q), -1);
	ATF_CHECK_EQ(dnspacket_question(query_ptr_header,
	    sizeof(query_ptr_header), &q), -1);
}

ATF_TC_WITHOUT_HEAD(make_response);
ATF_TC_BODY(make_response, tc)
{
	struct dnsquestion q;
	uint8_t	 pkt[sizeof(query_www)];
	size_t	 n;

	memcpy(pkt, query_www, sizeof(pkt));
	pkt[2] |= 0x02;				/* TC, to be cleared */
	ATF_REQUIRE_EQ(dnspacket_question(pkt, sizeof(pkt), &q), 0);
	n = dnspacket_make_response(pkt, &q, DNS_RCODE_REFUSED, true);
	ATF_CHECK_EQ(n, QUERY_WWW_QEND);
	ATF_CHECK_EQ(dnspacket_id(pkt), 0xbeef);
	ATF_CHECK(dnspacket_qr(pkt));
	ATF_CHECK(!dnspacket_tc(pkt));
	ATF_CHECK(dnspacket_rd(pkt));
	ATF_CHECK(dnspacket_ra(pkt));
	ATF_CHECK_EQ(dnspacket_rcode(pkt), DNS_RCODE_REFUSED);
	ATF_CHECK_EQ(dnspacket_qdcount(pkt), 1);
	ATF_CHECK_EQ(dnspacket_ancount(pkt), 0);
	ATF_CHECK_EQ(dnspacket_nscount(pkt), 0);
	ATF_CHECK_EQ(dnspacket_arcount(pkt), 0);
	ATF_CHECK(memcmp(pkt + DNS_HDRLEN, query_www + DNS_HDRLEN,
	    QUERY_WWW_QEND - DNS_HDRLEN) == 0);
	/* Still a well-formed message with the same question. */
	ATF_CHECK_EQ(dnspacket_question(pkt, n, &q), 0);

	n = dnspacket_make_response(pkt, &q, DNS_RCODE_NXDOMAIN, false);
	ATF_CHECK(!dnspacket_ra(pkt));
	ATF_CHECK_EQ(dnspacket_rcode(pkt), DNS_RCODE_NXDOMAIN);
}

/* An answer to query_www: one A record, an OPT record of 1232, DO, a cookie. */
static const uint8_t answer_www[] = {
	0xbe, 0xef,				/* id */
	0x85, 0x80,				/* QR AA RD, RA */
	0x00, 0x01, 0x00, 0x01,			/* qd 1, an 1 */
	0x00, 0x00, 0x00, 0x01,			/* ns 0, ar 1 */
	0x03, 'w', 'w', 'w',			/* 12: qname */
	0x07, 'e', 'x', 'a', 'm', 'p', 'l', 'e',
	0x03, 'c', 'o', 'm',
	0x00,
	0x00, 0x01, 0x00, 0x01,			/* 29: A IN */
	0xc0, 0x0c, 0x00, 0x01, 0x00, 0x01,	/* 33: www A IN */
	0x00, 0x00, 0x0e, 0x10, 0x00, 0x04,	/* ttl 3600, rdlen 4 */
	192, 0, 2, 1,
	0x00,					/* 49: OPT owner . */
	0x00, 0x29, 0x04, 0xd0,			/* OPT, 1232 */
	0x00, 0x00, 0x80, 0x00,			/* ext rcode, DO */
	0x00, 0x0c,				/* rdlen 12 */
	0x00, 0x0a, 0x00, 0x08,			/* cookie, 8 bytes */
	1, 2, 3, 4, 5, 6, 7, 8,
};

ATF_TC_WITHOUT_HEAD(truncate);
ATF_TC_BODY(truncate, tc)
{
	/* The header (TC, counts 1/0/0/1), the question, an empty OPT. */
	static const uint8_t want[QUERY_WWW_QEND + 11] = {
		0xbe, 0xef, 0x87, 0x80,
		0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01,
		[QUERY_WWW_QEND] = 0x00,
		0x00, 0x29, 0x04, 0xd0, 0x00, 0x00, 0x80, 0x00, 0x00, 0x00,
	};
	struct dnsquestion q;
	uint8_t	 pkt[sizeof(answer_www)];
	size_t	 n;

	memcpy(pkt, answer_www, sizeof(pkt));
	ATF_REQUIRE_EQ(dnspacket_question(pkt, sizeof(pkt), &q), 0);
	n = dnspacket_truncate(pkt, sizeof(pkt), &q, true);
	ATF_REQUIRE_EQ(n, sizeof(want));
	ATF_CHECK(memcmp(pkt, want, DNS_HDRLEN) == 0);
	ATF_CHECK(memcmp(pkt + DNS_HDRLEN, answer_www + DNS_HDRLEN,
	    QUERY_WWW_QEND - DNS_HDRLEN) == 0);
	ATF_CHECK(memcmp(pkt + QUERY_WWW_QEND, want + QUERY_WWW_QEND, 11) == 0);
	/* setAddEDNSToSelfGeneratedResponses(false): no OPT record. */
	memcpy(pkt, answer_www, sizeof(pkt));
	ATF_CHECK_EQ(dnspacket_truncate(pkt, sizeof(pkt), &q, false),
	    QUERY_WWW_QEND);
	ATF_CHECK(dnspacket_tc(pkt));
	ATF_CHECK_EQ(dnspacket_ancount(pkt), 0);
	ATF_CHECK_EQ(dnspacket_arcount(pkt), 0);
	/* Records cut short: the question alone, never read past the end. */
	memcpy(pkt, answer_www, sizeof(pkt));
	ATF_CHECK_EQ(dnspacket_truncate(pkt, 45, &q, true), QUERY_WWW_QEND);
	ATF_CHECK_EQ(dnspacket_arcount(pkt), 0);
	ATF_CHECK_EQ(dnspacket_question(pkt, QUERY_WWW_QEND, &q), 0);
}

ATF_TC_WITHOUT_HEAD(make_query);
ATF_TC_BODY(make_query, tc)
{
	/* id 0x4242, RD, example.com. AAAA IN */
	static const uint8_t want[] = {
		0x42, 0x42, 0x01, 0x00,
		0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
		0x07, 'e', 'x', 'a', 'm', 'p', 'l', 'e',
		0x03, 'c', 'o', 'm', 0x00,
		0x00, 0x1c,
		0x00, 0x01,
	};
	uint8_t	 buf[64];
	struct dnsquestion q;
	size_t	 n;

	memset(buf, 0xaa, sizeof(buf));
	n = dnspacket_make_query(buf, sizeof(buf), 0x4242, want + 12, 13,
	    DNS_TYPE_AAAA, DNS_CLASS_IN, true);
	ATF_REQUIRE_EQ(n, sizeof(want));
	ATF_CHECK(memcmp(buf, want, n) == 0);
	ATF_CHECK_EQ(dnspacket_question(buf, n, &q), 0);

	n = dnspacket_make_query(buf, sizeof(want), 1, want + 12, 13,
	    DNS_TYPE_AAAA, DNS_CLASS_IN, false);
	ATF_CHECK_EQ(n, sizeof(want));
	ATF_CHECK(!dnspacket_rd(buf));
	ATF_CHECK_EQ(dnspacket_make_query(buf, sizeof(want) - 1, 1, want + 12,
	    13, DNS_TYPE_AAAA, DNS_CLASS_IN, false), 0);
	ATF_CHECK_EQ(dnspacket_make_query(buf, 0, 1, want + 12, 13,
	    DNS_TYPE_AAAA, DNS_CLASS_IN, false), 0);
	ATF_CHECK_EQ(dnspacket_make_query(buf, sizeof(buf), 1, want + 12, 0,
	    DNS_TYPE_AAAA, DNS_CLASS_IN, false), 0);
}

ATF_TC_WITHOUT_HEAD(type_name);
ATF_TC_BODY(type_name, tc)
{
	char	 buf[16];

	ATF_CHECK_STREQ(dnspacket_type_name(DNS_TYPE_A, buf, sizeof(buf)),
	    "A");
	ATF_CHECK_STREQ(dnspacket_type_name(DNS_TYPE_AAAA, buf, sizeof(buf)),
	    "AAAA");
	ATF_CHECK_STREQ(dnspacket_type_name(35, buf, sizeof(buf)), "NAPTR");
	ATF_CHECK_STREQ(dnspacket_type_name(65, buf, sizeof(buf)), "HTTPS");
	ATF_CHECK_STREQ(dnspacket_type_name(257, buf, sizeof(buf)), "CAA");
	ATF_CHECK_STREQ(dnspacket_type_name(DNS_TYPE_IXFR, buf, sizeof(buf)),
	    "IXFR");
	ATF_CHECK_STREQ(dnspacket_type_name(65534, buf, sizeof(buf)),
	    "TYPE65534");
	ATF_CHECK_STREQ(dnspacket_type_name(0, buf, sizeof(buf)), "TYPE0");
	/* A short buffer truncates, never overflows. */
	ATF_CHECK_STREQ(dnspacket_type_name(65534, buf, 5), "TYPE");
}

ATF_TC_WITHOUT_HEAD(type_from_text);
ATF_TC_BODY(type_from_text, tc)
{
	ATF_CHECK_EQ(dnspacket_type_from_text("A"), DNS_TYPE_A);
	ATF_CHECK_EQ(dnspacket_type_from_text("aaaa"), DNS_TYPE_AAAA);
	ATF_CHECK_EQ(dnspacket_type_from_text("Https"), 65);
	ATF_CHECK_EQ(dnspacket_type_from_text("nsec3"), 50);
	ATF_CHECK_EQ(dnspacket_type_from_text("CAA"), 257);
	ATF_CHECK_EQ(dnspacket_type_from_text("ANY"), DNS_TYPE_ANY);
	ATF_CHECK_EQ(dnspacket_type_from_text("TYPE123"), 123);
	ATF_CHECK_EQ(dnspacket_type_from_text("type65535"), 65535);
	ATF_CHECK_EQ(dnspacket_type_from_text("28"), 28);
	ATF_CHECK_EQ(dnspacket_type_from_text("0"), 0);
	ATF_CHECK_EQ(dnspacket_type_from_text("65536"), -1);
	ATF_CHECK_EQ(dnspacket_type_from_text("TYPE65536"), -1);
	ATF_CHECK_EQ(dnspacket_type_from_text("99999999999999999999"), -1);
	ATF_CHECK_EQ(dnspacket_type_from_text("TYPE"), -1);
	ATF_CHECK_EQ(dnspacket_type_from_text(""), -1);
	ATF_CHECK_EQ(dnspacket_type_from_text("-1"), -1);
	ATF_CHECK_EQ(dnspacket_type_from_text("+1"), -1);
	ATF_CHECK_EQ(dnspacket_type_from_text("12a"), -1);
	ATF_CHECK_EQ(dnspacket_type_from_text("AAAAA"), -1);
	ATF_CHECK_EQ(dnspacket_type_from_text(NULL), -1);
}

ATF_TC_WITHOUT_HEAD(rcode_name);
ATF_TC_BODY(rcode_name, tc)
{
	ATF_CHECK_STREQ(dnspacket_rcode_name(DNS_RCODE_NOERROR), "NOERROR");
	ATF_CHECK_STREQ(dnspacket_rcode_name(DNS_RCODE_FORMERR), "FORMERR");
	ATF_CHECK_STREQ(dnspacket_rcode_name(DNS_RCODE_SERVFAIL), "SERVFAIL");
	ATF_CHECK_STREQ(dnspacket_rcode_name(DNS_RCODE_NXDOMAIN), "NXDOMAIN");
	ATF_CHECK_STREQ(dnspacket_rcode_name(DNS_RCODE_NOTIMP), "NOTIMP");
	ATF_CHECK_STREQ(dnspacket_rcode_name(DNS_RCODE_REFUSED), "REFUSED");
	ATF_CHECK_STREQ(dnspacket_rcode_name(6), "UNKNOWN");
	ATF_CHECK_STREQ(dnspacket_rcode_name(-1), "UNKNOWN");
}

/*
 * An answer with compression everywhere: the CNAME's owner points at the
 * question, its data at "example.com" in the question, the A record's
 * owner into the CNAME's data, the SOA's names at the question again.
 */
static const uint8_t answer_cname[] = {
	0x12, 0x34, 0x81, 0x80,
	0x00, 0x01, 0x00, 0x02, 0x00, 0x01, 0x00, 0x00,
	0x03, 'w', 'w', 'w', 0x07, 'e', 'x', 'a', 'm', 'p', 'l', 'e',
	0x03, 'c', 'o', 'm', 0x00,		/* 12: www.example.com. */
	0x00, 0x01, 0x00, 0x01,
	0xc0, 0x0c, 0x00, 0x05, 0x00, 0x01,	/* 33: CNAME */
	0x00, 0x00, 0x00, 0x3c, 0x00, 0x08,
	0x05, 'a', 'l', 'i', 'a', 's', 0xc0, 0x10, /* 45: alias.example.com. */
	0xc0, 0x2d, 0x00, 0x01, 0x00, 0x01,	/* 53: A, owner at 45 */
	0x00, 0x00, 0x00, 0x3c, 0x00, 0x04, 192, 0, 2, 1,
	0xc0, 0x10, 0x00, 0x06, 0x00, 0x01,	/* 69: SOA of example.com. */
	0x00, 0x00, 0x00, 0x3c, 0x00, 0x20,
	0x02, 'n', 's', 0xc0, 0x10,
	0x04, 'h', 'o', 's', 't', 0xc0, 0x10,
	0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 4, 0, 0, 0, 5,
};

/* The same renamed to a.test.: nothing compressed any more. */
static const uint8_t answer_renamed[] = {
	0x12, 0x34, 0x81, 0x80,
	0x00, 0x01, 0x00, 0x02, 0x00, 0x01, 0x00, 0x00,
	0x01, 'a', 0x04, 't', 'e', 's', 't', 0x00,
	0x00, 0x01, 0x00, 0x01,
	0x01, 'a', 0x04, 't', 'e', 's', 't', 0x00,
	0x00, 0x05, 0x00, 0x01, 0x00, 0x00, 0x00, 0x3c, 0x00, 0x13,
	0x05, 'a', 'l', 'i', 'a', 's', 0x07, 'e', 'x', 'a', 'm', 'p', 'l', 'e',
	0x03, 'c', 'o', 'm', 0x00,
	0x05, 'a', 'l', 'i', 'a', 's', 0x07, 'e', 'x', 'a', 'm', 'p', 'l', 'e',
	0x03, 'c', 'o', 'm', 0x00,
	0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x00, 0x3c, 0x00, 0x04, 192, 0, 2, 1,
	0x07, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 0x03, 'c', 'o', 'm', 0x00,
	0x00, 0x06, 0x00, 0x01, 0x00, 0x00, 0x00, 0x3c, 0x00, 0x36,
	0x02, 'n', 's', 0x07, 'e', 'x', 'a', 'm', 'p', 'l', 'e',
	0x03, 'c', 'o', 'm', 0x00,
	0x04, 'h', 'o', 's', 't', 0x07, 'e', 'x', 'a', 'm', 'p', 'l', 'e',
	0x03, 'c', 'o', 'm', 0x00,
	0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 4, 0, 0, 0, 5,
};

static const uint8_t name_www[] = {
	0x03, 'W', 'W', 'W', 0x07, 'e', 'x', 'a', 'm', 'p', 'l', 'e',
	0x03, 'C', 'O', 'M', 0x00 };
static const uint8_t name_atest[] = { 0x01, 'a', 0x04, 't', 'e', 's', 't',
	0x00 };

ATF_TC_WITHOUT_HEAD(rename);
ATF_TC_BODY(rename, tc)
{
	uint8_t			buf[512];
	struct dnsquestion	q;
	size_t			n;

	memcpy(buf, answer_cname, sizeof(answer_cname));
	n = dnspacket_rename(buf, sizeof(answer_cname), sizeof(buf),
	    name_www, sizeof(name_www), name_atest, sizeof(name_atest));
	ATF_REQUIRE_EQ(n, sizeof(answer_renamed));
	ATF_CHECK(memcmp(buf, answer_renamed, n) == 0);
	ATF_REQUIRE_EQ(dnspacket_question(buf, n, &q), 0);
	ATF_CHECK_EQ(q.q_namelen, sizeof(name_atest));
	/* And back: only the question and the first owner change. */
	n = dnspacket_rename(buf, n, sizeof(buf), name_atest,
	    sizeof(name_atest), name_www, sizeof(name_www));
	ATF_CHECK_EQ(n, sizeof(answer_renamed) + 2 * (sizeof(name_www) -
	    sizeof(name_atest)));
	ATF_REQUIRE_EQ(dnspacket_question(buf, n, &q), 0);
	ATF_CHECK(memcmp(q.q_name, name_www, sizeof(name_www)) == 0);
}

ATF_TC_WITHOUT_HEAD(rename_refused);
ATF_TC_BODY(rename_refused, tc)
{
	uint8_t	buf[512];

	/* No room for the longer message: nothing changes. */
	memcpy(buf, answer_cname, sizeof(answer_cname));
	ATF_CHECK_EQ(dnspacket_rename(buf, sizeof(answer_cname),
	    sizeof(answer_renamed) - 1, name_www, sizeof(name_www),
	    name_atest, sizeof(name_atest)), 0);
	ATF_CHECK(memcmp(buf, answer_cname, sizeof(answer_cname)) == 0);
	/* A NAPTR record, whose data this does not follow. */
	buf[69 + 3] = 35;
	ATF_CHECK_EQ(dnspacket_rename(buf, sizeof(answer_cname), sizeof(buf),
	    name_www, sizeof(name_www), name_atest, sizeof(name_atest)), 0);
	/* Cut anywhere: refused, never read past the end. */
	memcpy(buf, answer_cname, sizeof(answer_cname));
	for (size_t len = 0; len < sizeof(answer_cname); len++)
		ATF_CHECK_EQ(dnspacket_rename(buf, len, sizeof(buf), name_www,
		    sizeof(name_www), name_atest, sizeof(name_atest)), 0);
}

ATF_TP_ADD_TCS(tp)
{
	ATF_TP_ADD_TC(tp, header_get);
	ATF_TP_ADD_TC(tp, header_set);
	ATF_TP_ADD_TC(tp, question);
	ATF_TP_ADD_TC(tp, question_short);
	ATF_TP_ADD_TC(tp, question_qdcount0);
	ATF_TP_ADD_TC(tp, question_bad_name);
	ATF_TP_ADD_TC(tp, make_response);
	ATF_TP_ADD_TC(tp, truncate);
	ATF_TP_ADD_TC(tp, make_query);
	ATF_TP_ADD_TC(tp, type_name);
	ATF_TP_ADD_TC(tp, type_from_text);
	ATF_TP_ADD_TC(tp, rcode_name);
	ATF_TP_ADD_TC(tp, rename);
	ATF_TP_ADD_TC(tp, rename_refused);
	return atf_no_error();
}
