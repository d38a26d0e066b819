/*
 * inflight: the table of queries in flight to a backend, and which answer
 * is taken for which query.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <atf-c.h>

#include "dnsname.h"
#include "dnspacket.h"
#include "inflight.h"

#include "lsan.h"

#define NOW	UINT64_C(5000000000)

/* A query for text/type into buf, parsed into *q; its length. */
static size_t
query(uint8_t *buf, size_t size, const char *text, uint16_t type,
    struct dnsquestion *q)
{
	uint8_t	name[DNSNAME_MAXLEN];
	size_t	namelen, len;

	ATF_REQUIRE(dnsname_from_text(text, name, &namelen) == 0);
	len = dnspacket_make_query(buf, size, 0x4242, name, namelen, type,
	    DNS_CLASS_IN, true);
	ATF_REQUIRE(len > 0);
	ATF_REQUIRE(dnspacket_question(buf, len, q) == 0);
	return len;
}

/* The backend's answer to a query sent with id: its question, QR set. */
static size_t
answer(uint8_t *buf, size_t size, const char *text, uint16_t type,
    uint16_t id)
{
	struct dnsquestion	q;
	size_t			len;

	len = query(buf, size, text, type, &q);
	dnspacket_set_id(buf, id);
	dnspacket_set_qr(buf, true);
	return len;
}

ATF_TC_WITHOUT_HEAD(init_limits);
ATF_TC_BODY(init_limits, tc)
{
	struct inflight_table	t;

	ATF_CHECK_EQ(inflight_init(&t, 0, sizeof(struct inflight)), -1);
	ATF_CHECK_EQ(inflight_init(&t, INFLIGHT_MAX + 1,
	    sizeof(struct inflight)), -1);
	ATF_CHECK_EQ(inflight_init(&t, 10, sizeof(struct inflight) - 1), -1);
	ATF_REQUIRE_EQ(inflight_init(&t, INFLIGHT_MAX,
	    sizeof(struct inflight)), 0);
	ATF_CHECK_EQ(inflight_count(&t), 0);
	inflight_free(&t);
}

ATF_TC_WITHOUT_HEAD(reuse_late);
ATF_TC_BODY(reuse_late, tc)
{
	struct inflight_table	t;
	struct dnsquestion	q;
	uint8_t			buf[512];

	query(buf, sizeof(buf), "www.example.", DNS_TYPE_A, &q);
	ATF_REQUIRE_EQ(inflight_init(&t, 3, sizeof(struct inflight)), 0);
	ATF_CHECK_EQ(inflight_get(&t), 0);
	ATF_CHECK_EQ(inflight_get(&t), 1);
	ATF_CHECK_EQ(inflight_get(&t), 2);
	inflight_send(&t, 0, &q, NOW);
	inflight_send(&t, 1, &q, NOW);
	inflight_send(&t, 2, &q, NOW);
	/* Every ID in flight: none for a fourth query. */
	ATF_CHECK_EQ(inflight_get(&t), -1);
	ATF_CHECK_EQ(inflight_count(&t), 3);
	/* Freed slots come back in the order they were freed. */
	inflight_put(&t, 2);
	inflight_put(&t, 0);
	ATF_CHECK_EQ(inflight_count(&t), 1);
	ATF_CHECK_EQ(inflight_get(&t), 2);
	ATF_CHECK_EQ(inflight_get(&t), 0);
	ATF_CHECK_EQ(inflight_get(&t), -1);
	inflight_free(&t);
}

ATF_TC_WITHOUT_HEAD(answer_match);
ATF_TC_BODY(answer_match, tc)
{
	struct inflight_table	t;
	struct dnsquestion	q, aq;
	uint8_t			buf[512], a[512];
	size_t			alen;
	uint16_t		id;
	long			idx;

	ATF_REQUIRE_EQ(inflight_init(&t, 100, sizeof(struct inflight)), 0);
	query(buf, sizeof(buf), "www.Example.", DNS_TYPE_A, &q);
	idx = inflight_get(&t);
	ATF_REQUIRE(idx >= 0);
	id = inflight_send(&t, (uint32_t)idx, &q, NOW);
	ATF_CHECK_EQ(inflight_byid(&t, id), idx);

	/* The answer, in any case. */
	alen = answer(a, sizeof(a), "WWW.example.", DNS_TYPE_A, id);
	ATF_CHECK_EQ(inflight_answer(&t, a, alen, &aq), idx);
	ATF_CHECK_EQ(aq.q_type, DNS_TYPE_A);
	/* Not a response. */
	dnspacket_set_qr(a, false);
	ATF_CHECK_EQ(inflight_answer(&t, a, alen, &aq), -1);
	/* Another name, type, or ID; a header alone; a cut question. */
	alen = answer(a, sizeof(a), "www.example.org.", DNS_TYPE_A, id);
	ATF_CHECK_EQ(inflight_answer(&t, a, alen, &aq), -1);
	alen = answer(a, sizeof(a), "www.example.", DNS_TYPE_AAAA, id);
	ATF_CHECK_EQ(inflight_answer(&t, a, alen, &aq), -1);
	alen = answer(a, sizeof(a), "www.example.", DNS_TYPE_A,
	    (uint16_t)(id ^ 1));
	ATF_CHECK_EQ(inflight_answer(&t, a, alen, &aq), -1);
	alen = answer(a, sizeof(a), "www.example.", DNS_TYPE_A, id);
	ATF_CHECK_EQ(inflight_answer(&t, a, DNS_HDRLEN, &aq), -1);
	ATF_CHECK_EQ(inflight_answer(&t, a, alen - 1, &aq), -1);
	ATF_CHECK_EQ(inflight_answer(&t, a, alen, &aq), idx);
	/* Once freed (answered, timed out), the ID answers nothing. */
	inflight_put(&t, (uint32_t)idx);
	ATF_CHECK_EQ(inflight_answer(&t, a, alen, &aq), -1);
	ATF_CHECK_EQ(inflight_byid(&t, id), -1);
	inflight_free(&t);
}

/*
 * An error without the question (QDCOUNT 0) answers the query of its ID,
 * as dnsdist takes it: FORMERR, SERVFAIL, NOTIMP, REFUSED and the other
 * errors, not NOERROR or NXDOMAIN, and only for an ID in flight.
 */
ATF_TC_WITHOUT_HEAD(bare_answer);
ATF_TC_BODY(bare_answer, tc)
{
	struct inflight_table	t;
	struct dnsquestion	q, aq;
	uint8_t			buf[512], a[DNS_HDRLEN + 11];
	uint16_t		id;
	long			idx;
	int			rcode;
	bool			bare;

	ATF_REQUIRE_EQ(inflight_init(&t, 100, sizeof(struct inflight)), 0);
	query(buf, sizeof(buf), "www.example.", DNS_TYPE_A, &q);
	ATF_REQUIRE((idx = inflight_get(&t)) >= 0);
	id = inflight_send(&t, (uint32_t)idx, &q, NOW);
	memset(a, 0, sizeof(a));
	dnspacket_set_id(a, id);
	dnspacket_set_qr(a, true);
	for (rcode = 0; rcode < 16; rcode++) {
		dnspacket_set_rcode(a, rcode);
		bare = rcode != DNS_RCODE_NOERROR && rcode != DNS_RCODE_NXDOMAIN;
		ATF_CHECK_EQ(inflight_bare(a, DNS_HDRLEN), bare);
		ATF_CHECK_EQ(inflight_answer(&t, a, DNS_HDRLEN, &aq),
		    bare ? idx : -1);
	}
	/* The root stands in for its question, which ends with the header. */
	dnspacket_set_rcode(a, DNS_RCODE_NOTIMP);
	ATF_CHECK_EQ(inflight_answer(&t, a, DNS_HDRLEN, &aq), idx);
	ATF_CHECK_EQ(aq.q_end, DNS_HDRLEN);
	ATF_CHECK(aq.q_namelen == 1 && aq.q_name[0] == 0);
	/* Bytes after the header do not matter. */
	ATF_CHECK_EQ(inflight_answer(&t, a, sizeof(a), &aq), idx);
	/* Not a response, short, another ID, a freed ID: nothing. */
	dnspacket_set_qr(a, false);
	ATF_CHECK_EQ(inflight_answer(&t, a, DNS_HDRLEN, &aq), -1);
	dnspacket_set_qr(a, true);
	ATF_CHECK_EQ(inflight_answer(&t, a, DNS_HDRLEN - 1, &aq), -1);
	dnspacket_set_id(a, (uint16_t)(id ^ 1));
	ATF_CHECK_EQ(inflight_answer(&t, a, DNS_HDRLEN, &aq), -1);
	dnspacket_set_id(a, id);
	inflight_put(&t, (uint32_t)idx);
	ATF_CHECK_EQ(inflight_answer(&t, a, DNS_HDRLEN, &aq), -1);
	inflight_free(&t);
}

/*
 * A full table of 65536: every wire ID in use once, each naming its own
 * slot, the ones at both ends of the range included.
 */
ATF_TC_WITHOUT_HEAD(all_ids);
ATF_TC_BODY(all_ids, tc)
{
	struct inflight_table	t;
	struct dnsquestion	q, aq;
	uint8_t			buf[512], a[512], *seen;
	size_t			alen;
	long			i, idx;
	uint16_t		id;

	ATF_REQUIRE((seen = calloc(INFLIGHT_MAX, 1)) != NULL);
	ATF_REQUIRE_EQ(inflight_init(&t, INFLIGHT_MAX,
	    sizeof(struct inflight)), 0);
	query(buf, sizeof(buf), "edge.example.", DNS_TYPE_TXT, &q);
	for (i = 0; i < INFLIGHT_MAX; i++) {
		idx = inflight_get(&t);
		ATF_REQUIRE_EQ(idx, i);
		id = inflight_send(&t, (uint32_t)idx, &q, NOW + (uint64_t)i);
		ATF_REQUIRE_MSG(!seen[id], "ID %u given twice", id);
		seen[id] = 1;
	}
	ATF_CHECK_EQ(inflight_get(&t), -1);
	ATF_CHECK_EQ(inflight_count(&t), INFLIGHT_MAX);
	for (i = 0; i < INFLIGHT_MAX; i += INFLIGHT_MAX - 1) {
		/* IDs 0 and 65535 */
		id = (uint16_t)i;
		alen = answer(a, sizeof(a), "edge.example.", DNS_TYPE_TXT, id);
		idx = inflight_answer(&t, a, alen, &aq);
		ATF_REQUIRE(idx >= 0);
		ATF_CHECK_EQ(inflight_byid(&t, id), idx);
		inflight_put(&t, (uint32_t)idx);
		ATF_CHECK_EQ(inflight_answer(&t, a, alen, &aq), -1);
	}
	ATF_CHECK_EQ(inflight_count(&t), INFLIGHT_MAX - 2);
	inflight_free(&t);
	free(seen);
}

/*
 * After every ID was in flight and most came back, a walk costs the slots
 * still in flight, not the whole table: it looks at each of them once.
 */
ATF_TC_WITHOUT_HEAD(walk_after_exhaustion);
ATF_TC_BODY(walk_after_exhaustion, tc)
{
	static const long	 keep[] = { 7, 40000, INFLIGHT_MAX - 1 };
	struct inflight_table	 t;
	struct dnsquestion	 q;
	uint8_t			 buf[512], *seen;
	uint64_t		 w0;
	uint32_t		 pos;
	long			 i, idx;
	size_t			 k;

	ATF_REQUIRE((seen = calloc(INFLIGHT_MAX, 1)) != NULL);
	ATF_REQUIRE_EQ(inflight_init(&t, INFLIGHT_MAX,
	    sizeof(struct inflight)), 0);
	query(buf, sizeof(buf), "www.example.", DNS_TYPE_A, &q);
	while ((idx = inflight_get(&t)) != -1)
		inflight_send(&t, (uint32_t)idx, &q, NOW);
	for (i = 0; i < INFLIGHT_MAX; i++)
		if (i != keep[0] && i != keep[1] && i != keep[2])
			inflight_put(&t, (uint32_t)i);
	ATF_REQUIRE_EQ(inflight_count(&t), 3);
	w0 = t.it_walked;
	for (pos = INFLIGHT_WALK; (idx = inflight_walk(&t, &pos)) != -1; ) {
		ATF_REQUIRE(idx >= 0 && idx < INFLIGHT_MAX);
		ATF_CHECK_MSG(!seen[idx], "slot %ld seen twice", idx);
		seen[idx] = 1;
	}
	for (k = 0; k < 3; k++)
		ATF_CHECK_MSG(seen[keep[k]], "slot %ld not seen", keep[k]);
	ATF_CHECK_MSG(t.it_walked - w0 <= 3, "the walk looked at %llu slots",
	    (unsigned long long)(t.it_walked - w0));
	/* All gone: a walk looks at nothing. */
	for (k = 0; k < 3; k++)
		inflight_put(&t, (uint32_t)keep[k]);
	w0 = t.it_walked;
	pos = INFLIGHT_WALK;
	ATF_CHECK_EQ(inflight_walk(&t, &pos), -1);
	ATF_CHECK_EQ(t.it_walked, w0);
	inflight_free(&t);
	free(seen);
}

/*
 * A walk that frees what it sees, and takes new slots meanwhile, as the
 * timeout sweep and the failover do: each slot in flight at the start is
 * seen once, the new ones need not be.
 */
ATF_TC_WITHOUT_HEAD(walk_changes);
ATF_TC_BODY(walk_changes, tc)
{
	struct inflight_table	 t;
	struct dnsquestion	 q;
	uint8_t			 buf[512], seen[100];
	uint32_t		 pos;
	long			 i, idx, n = 0;

	memset(seen, 0, sizeof(seen));
	ATF_REQUIRE_EQ(inflight_init(&t, 100, sizeof(struct inflight)), 0);
	query(buf, sizeof(buf), "www.example.", DNS_TYPE_A, &q);
	for (i = 0; i < 60; i++)
		inflight_send(&t, (uint32_t)inflight_get(&t), &q, NOW);
	for (i = 0; i < 60; i += 2)
		inflight_put(&t, (uint32_t)i);
	/* 30 in flight: the odd ones. */
	for (pos = INFLIGHT_WALK; (idx = inflight_walk(&t, &pos)) != -1; ) {
		ATF_REQUIRE(idx >= 0 && idx < 100);
		ATF_CHECK_MSG(!seen[idx]++, "slot %ld seen twice", idx);
		if (idx < 60) {
			ATF_CHECK(idx % 2 == 1);
			n++;
		}
		inflight_put(&t, (uint32_t)idx);
		if (n <= 10)
			inflight_send(&t, (uint32_t)inflight_get(&t), &q, NOW);
	}
	ATF_CHECK_EQ(n, 30);
	inflight_free(&t);
}

/* The caller's part of a slot is left alone. */
ATF_TC_WITHOUT_HEAD(stride);
ATF_TC_BODY(stride, tc)
{
	struct big {
		struct inflight	b_if;
		char		b_mine[100];
	};
	struct inflight_table	t;
	struct dnsquestion	q;
	struct big		*b;
	uint8_t			buf[512];
	long			idx;

	ATF_REQUIRE_EQ(inflight_init(&t, 4, sizeof(struct big)), 0);
	query(buf, sizeof(buf), "www.example.", DNS_TYPE_A, &q);
	while ((idx = inflight_get(&t)) != -1) {
		b = (struct big *)(void *)INFLIGHT_AT(&t, idx);
		memset(b->b_mine, 'x', sizeof(b->b_mine));
		inflight_send(&t, (uint32_t)idx, &q, NOW);
	}
	inflight_put(&t, 1);
	b = (struct big *)(void *)INFLIGHT_AT(&t, 2);
	ATF_CHECK(b->b_if.if_sent == NOW);
	ATF_CHECK(b->b_mine[0] == 'x' && b->b_mine[99] == 'x');
	inflight_free(&t);
}

ATF_TP_ADD_TCS(tp)
{
	ATF_TP_ADD_TC(tp, init_limits);
	ATF_TP_ADD_TC(tp, reuse_late);
	ATF_TP_ADD_TC(tp, answer_match);
	ATF_TP_ADD_TC(tp, bare_answer);
	ATF_TP_ADD_TC(tp, all_ids);
	ATF_TP_ADD_TC(tp, walk_after_exhaustion);
	ATF_TP_ADD_TC(tp, walk_changes);
	ATF_TP_ADD_TC(tp, stride);
	return atf_no_error();
}
