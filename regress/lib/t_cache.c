/*
 * cache: the packet cache's table as it grows from a few buckets per shard
 * to its maximum, with every entry found again at each size; counting from
 * many threads; lookups without a lock while entries are replaced,
 * removed and tables grow.
 */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <atf-c.h>

#include "cache.h"
#include "dnsname.h"
#include "dnspacket.h"
#include "qsbr.h"

#include "lsan.h"

#define NOW	1000

/* The query for hostN.example. A into buf (512 bytes); its length. */
static size_t
query(uint8_t *buf, unsigned int n, uint16_t id, struct dnsquestion *q)
{
	uint8_t	name[DNSNAME_MAXLEN];
	char	text[64];
	size_t	namelen, len;

	snprintf(text, sizeof(text), "Host%u.example.", n);
	ATF_REQUIRE(dnsname_from_text(text, name, &namelen) == 0);
	len = dnspacket_make_query(buf, 512, id, name, namelen, DNS_TYPE_A,
	    DNS_CLASS_IN, true);
	ATF_REQUIRE(len > 0);
	ATF_REQUIRE(dnspacket_question(buf, len, q) == 0);
	return len;
}

/* Its answer: one A record, 10.0.N, TTL 300. */
static size_t
answer(uint8_t *buf, unsigned int n, struct dnsquestion *q)
{
	static const uint8_t rr[] = { 0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 1, 0x2c,
	    0, 4, 10, 0 };
	size_t	len;

	len = query(buf, n, 7, q);
	dnspacket_set_qr(buf, true);
	dnspacket_put16(buf + 6, 1);
	memcpy(buf + len, rr, sizeof(rr));
	dnspacket_put16(buf + len + sizeof(rr), (uint16_t)n);
	return len + sizeof(rr) + 2;
}

static void
fill_at(struct pcache *pc, unsigned int from, unsigned int to, time_t now)
{
	struct dnsquestion	q;
	uint8_t			buf[512];
	uint64_t		key;
	size_t			len;
	unsigned int		i;

	for (i = from; i < to; i++) {
		len = query(buf, i, 7, &q);
		ATF_REQUIRE(pcache_key(pc, buf, len, &q, false, &key));
		len = answer(buf, i, &q);
		pcache_put(pc, key, &q, false, buf, len, now, -1);
	}
}

static void
fill(struct pcache *pc, unsigned int from, unsigned int to)
{
	fill_at(pc, from, to, NOW);
}

/* How many of hostN for N in [from, to) hit, each with its own answer. */
static unsigned int
hits(struct pcache *pc, unsigned int from, unsigned int to)
{
	struct dnsquestion	q;
	uint8_t			buf[512];
	uint64_t		key;
	size_t			len, n;
	unsigned int		i, found = 0;

	for (i = from; i < to; i++) {
		len = query(buf, i, (uint16_t)i, &q);
		ATF_REQUIRE(pcache_key(pc, buf, len, &q, false, &key));
		n = pcache_get(pc, key, &q, false, buf, sizeof(buf), NOW + 1,
		    PCACHE_FRESH, 0, NULL);
		if (n == 0)
			continue;
		/* The query's ID and spelling, the record of this name. */
		ATF_CHECK_EQ(dnspacket_id(buf), (uint16_t)i);
		ATF_CHECK(memcmp(buf + DNS_HDRLEN, q.q_name, q.q_namelen) == 0);
		ATF_CHECK_EQ(dnspacket_get16(buf + n - 2), (uint16_t)i);
		ATF_CHECK_EQ(dnspacket_get32(buf + n - 10), 299);
		found++;
	}
	return found;
}

/* The key of buf, which must have one. */
static uint64_t
key_of(struct pcache *pc, uint8_t *buf, size_t len, bool tcp)
{
	struct dnsquestion	q;
	uint64_t		key;

	ATF_REQUIRE(dnspacket_question(buf, len, &q) == 0);
	ATF_REQUIRE(pcache_key(pc, buf, len, &q, tcp, &key));
	return key;
}

ATF_TC_WITHOUT_HEAD(keys);
ATF_TC_BODY(keys, tc)
{
	struct pcache_config	cfg;
	struct pcache		*pc;
	struct dnsquestion	q;
	uint8_t			buf[512], alt[512];
	uint64_t		key, k;
	size_t			len;

	pcache_config_default(&cfg, 100);
	ATF_REQUIRE((pc = pcache_new(&cfg)) != NULL);
	len = query(buf, 1, 1, &q);
	key = key_of(pc, buf, len, false);

	/* The ID and the spelling of the name make no difference... */
	memcpy(alt, buf, len);
	dnspacket_set_id(alt, 999);
	alt[DNS_HDRLEN + 1] = 'h';
	ATF_CHECK_EQ(key_of(pc, alt, len, false), key);
	/* ... the transport and every flag do. */
	ATF_CHECK(key_of(pc, buf, len, true) != key);
	memcpy(alt, buf, len);
	dnspacket_set_rd(alt, false);
	ATF_CHECK(key_of(pc, alt, len, false) != key);
	k = key_of(pc, alt, len, true);
	ATF_CHECK(k != key && k != key_of(pc, buf, len, true));
	memcpy(alt, buf, len);
	dnspacket_set_cd(alt, true);
	ATF_CHECK(key_of(pc, alt, len, false) != key);
	memcpy(alt, buf, len);
	alt[len - 1] = 3;			/* class CH */
	ATF_CHECK(key_of(pc, alt, len, false) != key);

	/* Only plain queries have a key. */
	memcpy(alt, buf, len);
	dnspacket_set_qr(alt, true);
	ATF_CHECK(!pcache_key(pc, alt, len, &q, false, &k));
	memcpy(alt, buf, len);
	dnspacket_put16(alt + 6, 1);		/* an answer record */
	ATF_CHECK(!pcache_key(pc, alt, len, &q, false, &k));
	memcpy(alt, buf, len);
	dnspacket_put16(alt + 8, 1);		/* an authority record */
	ATF_CHECK(!pcache_key(pc, alt, len, &q, false, &k));
	memcpy(alt, buf, len);
	dnspacket_put16(alt + 4, 2);		/* two questions */
	ATF_CHECK(!pcache_key(pc, alt, len, &q, false, &k));
	/* Nor a zone transfer, over UDP or TCP. */
	memcpy(alt, buf, len);
	dnspacket_put16(alt + len - 4, 252);	/* AXFR */
	ATF_REQUIRE(dnspacket_question(alt, len, &q) == 0);
	ATF_CHECK(!pcache_key(pc, alt, len, &q, false, &k));
	ATF_CHECK(!pcache_key(pc, alt, len, &q, true, &k));
	dnspacket_put16(alt + len - 4, 251);	/* IXFR */
	ATF_REQUIRE(dnspacket_question(alt, len, &q) == 0);
	ATF_CHECK(!pcache_key(pc, alt, len, &q, true, &k));
}

ATF_TC_WITHOUT_HEAD(grow);
ATF_TC_BODY(grow, tc)
{
	struct pcache_config	cfg;
	struct pcache_stats	st;
	struct pcache		*pc;
	unsigned int		n;

	pcache_config_default(&cfg, 100000);
	ATF_REQUIRE((pc = pcache_new(&cfg)) != NULL);
	/* Each step doubles the entries: the tables grow several times. */
	for (n = 1; n <= 65536; n *= 2) {
		fill(pc, n / 2, n);
		ATF_REQUIRE_EQ(hits(pc, 0, n), n);
		ATF_CHECK_EQ(hits(pc, n, n + 100), 0);
	}
	pcache_get_stats(pc, &st);
	ATF_CHECK_EQ(st.entries, 65536);
	ATF_CHECK_EQ(st.lookupcollisions, 0);
	ATF_CHECK_EQ(st.insertcollisions, 0);
	/* Removal still finds every entry after the growth. */
	ATF_CHECK_EQ(pcache_expunge(pc, 1000), 65536 - 1000);
	ATF_CHECK_EQ(hits(pc, 0, 65536), 1000);
}

ATF_TC_WITHOUT_HEAD(bounded);
ATF_TC_BODY(bounded, tc)
{
	struct pcache_config	cfg;
	struct pcache_stats	st;
	struct pcache		*pc;

	/* 50 per shard: the tables stop growing, the entries at the cap. */
	pcache_config_default(&cfg, 1000);
	ATF_REQUIRE((pc = pcache_new(&cfg)) != NULL);
	fill(pc, 0, 20000);
	pcache_get_stats(pc, &st);
	ATF_CHECK(st.entries <= 1000 && st.entries >= 900);
	ATF_CHECK_EQ(hits(pc, 0, 20000), st.entries);
	ATF_CHECK(pcache_is_full(pc) == (st.entries == 1000));
}

/*
 * Hits and misses are counted per thread and added up: from more threads
 * than have counters of their own, none is lost.
 */
#define NTHREADS	20
#define NLOOKUPS	50000
#define NNAMES		50

/* The queries, made and keyed by the test before the threads start. */
static struct lookup {
	uint8_t			 l_pkt[512];
	size_t			 l_len;
	struct dnsquestion	 l_q;
	uint64_t		 l_key;
} lookups[NNAMES];

static struct pcache	*shared_pc;
static pthread_barrier_t start;		/* all together, to collide */

/* No ATF calls here: they are not for threads of their own. */
static void *
looker(void *arg)
{
	uint8_t		buf[512];
	unsigned int	i;

	(void)arg;
	(void)pthread_barrier_wait(&start);
	for (i = 0; i < NLOOKUPS; i++) {
		const struct lookup *l = &lookups[i % NNAMES];

		memcpy(buf, l->l_pkt, l->l_len);
		(void)pcache_get(shared_pc, l->l_key, &l->l_q, false, buf,
		    sizeof(buf), NOW + 1, PCACHE_FRESH, 0, NULL);
	}
	return NULL;
}

ATF_TC_WITHOUT_HEAD(counts_threads);
ATF_TC_BODY(counts_threads, tc)
{
	struct pcache_config	cfg;
	struct pcache_stats	st;
	struct pcache		*pc;
	pthread_t		t[NTHREADS];
	size_t			i;

	pcache_config_default(&cfg, 1000);
	ATF_REQUIRE((pc = pcache_new(&cfg)) != NULL);
	fill(pc, 0, NNAMES);
	for (i = 0; i < NNAMES; i++) {
		lookups[i].l_len = query(lookups[i].l_pkt, (unsigned int)i, 9,
		    &lookups[i].l_q);
		ATF_REQUIRE(pcache_key(pc, lookups[i].l_pkt, lookups[i].l_len,
		    &lookups[i].l_q, false, &lookups[i].l_key));
	}
	shared_pc = pc;
	ATF_REQUIRE(pthread_barrier_init(&start, NULL, NTHREADS) == 0);
	for (i = 0; i < NTHREADS; i++)
		ATF_REQUIRE(pthread_create(&t[i], NULL, looker, NULL) == 0);
	for (i = 0; i < NTHREADS; i++)
		ATF_REQUIRE(pthread_join(t[i], NULL) == 0);
	pthread_barrier_destroy(&start);
	pcache_get_stats(pc, &st);
	/* Every lookup found its entry, unless its shard was busy. */
	ATF_CHECK_EQ(st.hits + st.misses, (uint64_t)NTHREADS * NLOOKUPS);
	ATF_CHECK_EQ(st.misses, st.deferredlookups);
	ATF_CHECK(st.hits > 0);
}

/*
 * Readers that look up without a lock (qsbr) while the test inserts,
 * replaces expired entries, expunges and grows the tables of new caches:
 * every hit is the right answer, and what was retired is freed once the
 * readers are gone.  The sanitizer build turns a use after free into a
 * failure here.
 */
#define LF_READERS	2
#define LF_NAMES	2000
#define LF_MAXREADS	50000000	/* a bound, should the test stall */

static struct lookup		 lf[LF_NAMES];
static struct pcache *_Atomic	 lf_pc;
static _Atomic bool		 lf_stop;
static _Atomic unsigned int	 lf_ready;
static _Atomic size_t		 lf_bad, lf_hits;

/* No ATF calls here: they are not for threads of their own. */
static void *
lf_reader(void *arg)
{
	uint8_t		buf[512];
	size_t		i, n, bad = 0, found = 0;

	(void)arg;
	if (qsbr_register() == -1 || !qsbr_reading())
		bad++;
	atomic_fetch_add(&lf_ready, 1);
	for (i = 0; i < LF_MAXREADS && !atomic_load(&lf_stop); i++) {
		const struct lookup *l = &lf[i % LF_NAMES];

		memcpy(buf, l->l_pkt, l->l_len);
		n = pcache_get(atomic_load(&lf_pc), l->l_key, &l->l_q, false,
		    buf, sizeof(buf), NOW + 1, PCACHE_FRESH, 0, NULL);
		if (n > 0) {
			found++;
			if (dnspacket_id(buf) != (uint16_t)(i % LF_NAMES) ||
			    dnspacket_get16(buf + n - 2) !=
			    (uint16_t)(i % LF_NAMES) ||
			    memcmp(buf + DNS_HDRLEN, l->l_q.q_name,
			    l->l_q.q_namelen) != 0)
				bad++;
		}
		if (i % 16 == 15)
			qsbr_quiescent();
	}
	qsbr_unregister();
	atomic_fetch_add(&lf_bad, bad);
	atomic_fetch_add(&lf_hits, found);
	return NULL;
}

ATF_TC_WITHOUT_HEAD(lockfree_readers);
ATF_TC_BODY(lockfree_readers, tc)
{
	struct pcache_config	cfg;
	struct pcache		*pc;
	pthread_t		t[LF_READERS];
	unsigned int		i, round;
	uint8_t			name[DNSNAME_MAXLEN];
	size_t			namelen;

	pcache_config_default(&cfg, 100000);
	ATF_REQUIRE((pc = pcache_new(&cfg)) != NULL);
	atomic_store(&lf_pc, pc);
	/* Keyed by the first cache; every cache has the same secret. */
	for (i = 0; i < LF_NAMES; i++) {
		lf[i].l_len = query(lf[i].l_pkt, i, (uint16_t)i, &lf[i].l_q);
		ATF_REQUIRE(pcache_key(pc, lf[i].l_pkt, lf[i].l_len,
		    &lf[i].l_q, false, &lf[i].l_key));
	}
	for (i = 0; i < LF_READERS; i++)
		ATF_REQUIRE(pthread_create(&t[i], NULL, lf_reader, NULL) == 0);
	while (atomic_load(&lf_ready) < LF_READERS)
		sched_yield();
	for (round = 0; round < 120; round++) {
		if (round % 6 == 5) {
			/* A new, empty cache: its tables grow again. */
			ATF_REQUIRE((pc = pcache_new(&cfg)) != NULL);
			atomic_store(&lf_pc, pc);
		}
		/* Each round's entries replace the last round's, expired. */
		fill_at(pc, 0, LF_NAMES, NOW + 400 * round);
		if (round % 3 == 1)
			(void)pcache_expunge(pc, LF_NAMES / 2);
		if (round % 3 == 2) {
			ATF_REQUIRE(dnsname_from_text("example.", name,
			    &namelen) == 0);
			(void)pcache_expunge_name(pc, name, namelen, 0, true);
		}
	}
	atomic_store(&lf_stop, true);
	for (i = 0; i < LF_READERS; i++)
		ATF_REQUIRE(pthread_join(t[i], NULL) == 0);
	ATF_CHECK_EQ(atomic_load(&lf_bad), 0);
	ATF_CHECK(atomic_load(&lf_hits) > 0);
	(void)qsbr_reclaim();
	ATF_CHECK_EQ(qsbr_pending(), 0);
	/* The cache is whole: emptied and filled again, all are there. */
	(void)pcache_expunge(pc, 0);
	fill(pc, 0, LF_NAMES);
	ATF_CHECK_EQ(hits(pc, 0, LF_NAMES), LF_NAMES);
}

ATF_TP_ADD_TCS(tp)
{
	ATF_TP_ADD_TC(tp, keys);
	ATF_TP_ADD_TC(tp, grow);
	ATF_TP_ADD_TC(tp, bounded);
	ATF_TP_ADD_TC(tp, counts_threads);
	ATF_TP_ADD_TC(tp, lockfree_readers);
	return atf_no_error();
}
