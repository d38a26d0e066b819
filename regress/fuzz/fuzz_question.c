/*
 * libFuzzer target for the question parser and the rewrites built on it.
 * A message whose question parses is turned into a response; the result
 * must parse again with the same question and carry no records beyond it
 * (nothing smuggled through AN/NS/AR), and the header must say what the
 * rewrite asked for.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dnspacket.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

#define CHECK(e)	do { if (!(e)) abort(); } while (0)

static void
check_same_question(const struct dnsquestion *a, const struct dnsquestion *b)
{
	CHECK(a->q_namelen == b->q_namelen);
	CHECK(memcmp(a->q_name, b->q_name, a->q_namelen) == 0);
	CHECK(a->q_type == b->q_type && a->q_class == b->q_class);
	CHECK(a->q_end == b->q_end);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dnsquestion q, q2;
	uint8_t	*pkt, qbuf[DNS_HDRLEN + DNSNAME_MAXLEN + 4];
	char	 tb[16];
	size_t	 off, len, qlen;
	uint16_t id;
	int	 opcode, rcode;
	bool	 ra;

	/* Exactly size bytes on the heap: ASan sees a read past the end. */
	if ((pkt = malloc(size > 0 ? size : 1)) == NULL)
		return 0;
	memcpy(pkt, data, size);
	if (dnspacket_question(pkt, size, &q) == -1) {
		free(pkt);
		return 0;
	}
	CHECK(size >= DNS_HDRLEN && dnspacket_qdcount(pkt) > 0);
	CHECK(q.q_namelen >= 1 && q.q_namelen <= DNSNAME_MAXLEN);
	CHECK(q.q_end == DNS_HDRLEN + q.q_namelen + 4 && q.q_end <= size);
	off = DNS_HDRLEN;
	CHECK(dnsname_skip(pkt, size, &off) == 0 && off + 4 == q.q_end);
	(void)dnspacket_type_name(q.q_type, tb, sizeof(tb));

	/* The response rewrite, with knobs taken from the input. */
	id = dnspacket_id(pkt);
	opcode = dnspacket_opcode(pkt);
	rcode = size > q.q_end ? pkt[q.q_end] & 0x0f : DNS_RCODE_REFUSED;
	ra = (id & 1) != 0;
	len = dnspacket_make_response(pkt, &q, rcode, ra);
	CHECK(len == q.q_end);
	CHECK(dnspacket_question(pkt, len, &q2) == 0);
	check_same_question(&q, &q2);
	CHECK(dnspacket_qdcount(pkt) == 1);
	CHECK(dnspacket_ancount(pkt) == 0 && dnspacket_nscount(pkt) == 0 &&
	    dnspacket_arcount(pkt) == 0);
	CHECK(dnspacket_qr(pkt) && !dnspacket_tc(pkt));
	CHECK(dnspacket_ra(pkt) == ra && dnspacket_rcode(pkt) == rcode);
	CHECK(dnspacket_id(pkt) == id && dnspacket_opcode(pkt) == opcode);

	/* A fresh query for the same question says the same. */
	qlen = dnspacket_make_query(qbuf, sizeof(qbuf), id, q.q_name,
	    q.q_namelen, q.q_type, q.q_class, true);
	CHECK(qlen == q.q_end);
	CHECK(dnspacket_question(qbuf, qlen, &q2) == 0);
	check_same_question(&q, &q2);
	CHECK(!dnspacket_qr(qbuf) && dnspacket_rd(qbuf) &&
	    dnspacket_id(qbuf) == id);
	CHECK(dnspacket_make_query(qbuf, qlen - 1, id, q.q_name, q.q_namelen,
	    q.q_type, q.q_class, true) == 0);
	free(pkt);
	return 0;
}
