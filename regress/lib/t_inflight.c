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

	ATF_CHECK_EQ(inflight_init(&t, 0, sizeof(struct inflight), true), -1);
	ATF_CHECK_EQ(inflight_init(&t, INFLIGHT_MAX + 1,
	    sizeof(struct inflight), true), -1);
	ATF_CHECK_EQ(inflight_init(&t, 10, sizeof(struct inflight) - 1,
	    true), -1);
	ATF_REQUIRE_EQ(inflight_init(&t, INFLIGHT_MAX,
	    sizeof(struct inflight), true), 0);
	ATF_CHECK_EQ(inflight_count(&t), 0);
	inflight_free(&t);
}

ATF_TC_WITHOUT_HEAD(slot_reuse);
ATF_TC_BODY(slot_reuse, tc)
{
	struct inflight_table	t;
	struct dnsquestion	q;
	uint8_t			buf[512];

	query(buf, sizeof(buf), "www.example.", DNS_TYPE_A, &q);
	ATF_REQUIRE_EQ(inflight_init(&t, 3, sizeof(struct inflight), true), 0);
	ATF_CHECK_EQ(inflight_get(&t), 0);
	ATF_CHECK_EQ(inflight_get(&t), 1);
	ATF_CHECK_EQ(inflight_get(&t), 2);
	inflight_send(&t, 0, &q, NOW);
	inflight_send(&t, 1, &q, NOW);
	inflight_send(&t, 2, &q, NOW);
	/* Every slot in flight: none for a fourth query. */
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

	ATF_REQUIRE_EQ(inflight_init(&t, 100, sizeof(struct inflight), true), 0);
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

	ATF_REQUIRE_EQ(inflight_init(&t, 100, sizeof(struct inflight), true), 0);
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
 * A full table, 65535 slots, IDs at random or counting: every wire ID but
 * one in use once, each naming its own slot; the one left and the ends of
 * the range answer as they should.  Then all of them again, once more.
 */
static void
fill(bool randomids)
{
	struct inflight_table	t;
	struct dnsquestion	q, aq;
	uint8_t			buf[512], a[512], *seen;
	size_t			alen;
	long			i, idx, round;
	uint16_t		id;

	ATF_REQUIRE((seen = calloc(INFLIGHT_IDS, 1)) != NULL);
	ATF_REQUIRE_EQ(inflight_init(&t, INFLIGHT_MAX,
	    sizeof(struct inflight), randomids), 0);
	query(buf, sizeof(buf), "edge.example.", DNS_TYPE_TXT, &q);
	for (round = 0; round < 2; round++) {
		memset(seen, 0, INFLIGHT_IDS);
		for (i = 0; i < INFLIGHT_MAX; i++) {
			ATF_REQUIRE((idx = inflight_get(&t)) >= 0);
			id = inflight_send(&t, (uint32_t)idx, &q,
			    NOW + (uint64_t)i);
			ATF_REQUIRE_MSG(!seen[id], "ID %u given twice", id);
			seen[id] = 1;
		}
		ATF_CHECK_EQ(inflight_get(&t), -1);
		ATF_CHECK_EQ(inflight_count(&t), INFLIGHT_MAX);
		for (i = 0; i < INFLIGHT_IDS; i++) {
			id = (uint16_t)i;
			alen = answer(a, sizeof(a), "edge.example.",
			    DNS_TYPE_TXT, id);
			idx = inflight_answer(&t, a, alen, &aq);
			ATF_REQUIRE_EQ(idx >= 0, seen[id]);
			ATF_REQUIRE_EQ(inflight_byid(&t, id), idx);
			if (idx == -1)
				continue;
			inflight_put(&t, (uint32_t)idx);
			ATF_REQUIRE_EQ(inflight_answer(&t, a, alen, &aq), -1);
		}
		ATF_CHECK_EQ(inflight_count(&t), 0);
	}
	inflight_free(&t);
	free(seen);
}

ATF_TC_WITHOUT_HEAD(all_ids);
ATF_TC_BODY(all_ids, tc)
{
	fill(true);
	fill(false);
}

/*
 * Queries that come and go in any order, up to 5000 at once: the table
 * grows, and an ID always finds its slot until it is freed.
 */
ATF_TC_WITHOUT_HEAD(churn);
ATF_TC_BODY(churn, tc)
{
	static uint32_t		live[5000];
	static uint16_t		ids[5000];
	struct inflight_table	t;
	struct dnsquestion	q;
	uint8_t			buf[512];
	uint32_t		nlive = 0, k, step, x = 1;
	long			idx;

	ATF_REQUIRE_EQ(inflight_init(&t, 5000, sizeof(struct inflight), true),
	    0);
	query(buf, sizeof(buf), "www.example.", DNS_TYPE_A, &q);
	for (step = 0; step < 300000; step++) {
		x = x * 1103515245 + 12345;
		/* Mostly sends early on, mostly answers later. */
		if (nlive < 5000 && (nlive == 0 || (x >> 16) % 100 <
		    (step < 100000 ? 70u : 45u))) {
			ATF_REQUIRE((idx = inflight_get(&t)) >= 0);
			live[nlive] = (uint32_t)idx;
			ids[nlive++] = inflight_send(&t, (uint32_t)idx, &q, NOW);
		} else {
			k = (x >> 8) % nlive;
			ATF_REQUIRE_EQ(inflight_byid(&t, ids[k]), live[k]);
			inflight_put(&t, live[k]);
			ATF_REQUIRE_EQ(inflight_byid(&t, ids[k]), -1);
			live[k] = live[--nlive];
			ids[k] = ids[nlive];
		}
	}
	for (k = 0; k < nlive; k++)
		ATF_REQUIRE_EQ(inflight_byid(&t, ids[k]), live[k]);
	ATF_CHECK_EQ(inflight_count(&t), nlive);
	inflight_free(&t);
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
	    sizeof(struct inflight), true), 0);
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
	ATF_REQUIRE_EQ(inflight_init(&t, 100, sizeof(struct inflight), true), 0);
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

/*
 * n queries one after the other, each answered before the next is sent,
 * through a table of 65535 slots: the IDs they went out with.
 */
static void
one_at_a_time(bool randomids, uint16_t *ids, size_t n)
{
	struct inflight_table	t;
	struct dnsquestion	q;
	uint8_t			buf[512];
	size_t			i;
	long			idx;

	ATF_REQUIRE_EQ(inflight_init(&t, 65535, sizeof(struct inflight),
	    randomids), 0);
	query(buf, sizeof(buf), "www.example.", DNS_TYPE_A, &q);
	for (i = 0; i < n; i++) {
		ATF_REQUIRE((idx = inflight_get(&t)) >= 0);
		ids[i] = inflight_send(&t, (uint32_t)idx, &q, NOW);
		ATF_REQUIRE_EQ(inflight_byid(&t, ids[i]), idx);
		inflight_put(&t, (uint32_t)idx);
	}
	inflight_free(&t);
}

#define SEQ	70000

/*
 * Random IDs: what an observer of every ID sees follows no pattern.  Each
 * bound would fail by chance less than once in 2^40 runs.
 */
ATF_TC_WITHOUT_HEAD(random_ids);
ATF_TC_BODY(random_ids, tc)
{
	static uint16_t	ids[SEQ];
	static uint8_t	seen[INFLIGHT_IDS];
	size_t		i, samexor = 0, samediff = 0, up = 0, distinct = 0;
	unsigned int	hi[256] = { 0 }, lo[256] = { 0 };

	one_at_a_time(true, ids, SEQ);
	for (i = 0; i < SEQ; i++) {
		if (i < 10000 && !seen[ids[i]]) {
			seen[ids[i]] = 1;
			distinct++;
		}
		hi[ids[i] >> 8]++;
		lo[ids[i] & 0xff]++;
		if (i >= 2 &&
		    (ids[i] ^ ids[i - 1]) == (ids[i - 1] ^ ids[i - 2]))
			samexor++;
		if (i >= 2 && (uint16_t)(ids[i] - ids[i - 1]) ==
		    (uint16_t)(ids[i - 1] - ids[i - 2]))
			samediff++;
		if (i >= 1 && ids[i] > ids[i - 1])
			up++;
	}
	/* 10000 draws from 65536 IDs: 9275 distinct, give or take 25. */
	ATF_CHECK_MSG(distinct > 9000, "%zu distinct IDs in 10000", distinct);
	/* Neither a counter nor a counter under a mask (about 1 expected). */
	ATF_CHECK_MSG(samexor < 20, "%zu equal XORs in a row", samexor);
	ATF_CHECK_MSG(samediff < 20, "%zu equal steps in a row", samediff);
	/* Going up about half the time; every byte value in both bytes. */
	ATF_CHECK_MSG(up > SEQ * 45 / 100 && up < SEQ * 55 / 100,
	    "%zu of %d steps up", up, SEQ);
	for (i = 0; i < 256; i++) {
		ATF_CHECK_MSG(hi[i] > 100, "high byte %zu: %u", i, hi[i]);
		ATF_CHECK_MSG(lo[i] > 100, "low byte %zu: %u", i, lo[i]);
	}
}

/* Two tables draw different IDs. */
ATF_TC_WITHOUT_HEAD(random_tables);
ATF_TC_BODY(random_tables, tc)
{
	uint16_t	a[64], b[64];

	one_at_a_time(true, a, 64);
	one_at_a_time(true, b, 64);
	ATF_CHECK(memcmp(a, b, sizeof(a)) != 0);
}

/* setRandomizedIdsOverUDP(false): IDs count up, wrapping, as dnsdist's. */
ATF_TC_WITHOUT_HEAD(counting_ids);
ATF_TC_BODY(counting_ids, tc)
{
	static uint16_t	ids[SEQ];
	size_t		i;

	one_at_a_time(false, ids, SEQ);
	for (i = 0; i < SEQ; i++)
		ATF_REQUIRE_EQ(ids[i], (uint16_t)i);
}

/* inflight_random(n): below n, each value about as often. */
ATF_TC_WITHOUT_HEAD(random_below);
ATF_TC_BODY(random_below, tc)
{
	struct inflight_table	t;
	unsigned int		seen[3] = { 0 };
	uint32_t		v;
	int			i;

	ATF_REQUIRE_EQ(inflight_init(&t, 1, sizeof(struct inflight), true),
	    0);
	for (i = 0; i < 3000; i++) {
		ATF_CHECK_EQ(inflight_random(&t, 1), 0);
		ATF_REQUIRE((v = inflight_random(&t, 3)) < 3);
		seen[v]++;
		ATF_CHECK(inflight_random(&t, UINT32_MAX) < UINT32_MAX);
	}
	for (i = 0; i < 3; i++)
		ATF_CHECK_MSG(seen[i] > 800 && seen[i] < 1200, "%d: %u of 3000",
		    i, seen[i]);
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

	ATF_REQUIRE_EQ(inflight_init(&t, 4, sizeof(struct big), true), 0);
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
	ATF_TP_ADD_TC(tp, slot_reuse);
	ATF_TP_ADD_TC(tp, answer_match);
	ATF_TP_ADD_TC(tp, bare_answer);
	ATF_TP_ADD_TC(tp, all_ids);
	ATF_TP_ADD_TC(tp, churn);
	ATF_TP_ADD_TC(tp, walk_after_exhaustion);
	ATF_TP_ADD_TC(tp, walk_changes);
	ATF_TP_ADD_TC(tp, stride);
	ATF_TP_ADD_TC(tp, random_ids);
	ATF_TP_ADD_TC(tp, random_tables);
	ATF_TP_ADD_TC(tp, counting_ids);
	ATF_TP_ADD_TC(tp, random_below);
	return atf_no_error();
}
