/*
 * policy: pools and the built-in load-balancing policies; the servers'
 * samples for lazy health checks.
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <atf-c.h>
#include <sodium.h>

#include "dnsname.h"
#include "dnspacket.h"
#include "policy.h"
#include "server.h"

#include "lsan.h"

static struct server *
mkserver(const char *addr, int order, int weight, bool up)
{
	struct server	*ds;

	ATF_REQUIRE((ds = server_new(addr)) != NULL);
	ds->ds_order = order;
	ds->ds_weight = weight;
	atomic_store(&ds->ds_healthy, up);
	ATF_REQUIRE(server_register(ds) == 0);
	server_unref(ds);
	return ds;
}

static void
mkquestion(struct dnsquestion *q, const char *name)
{
	memset(q, 0, sizeof(*q));
	ATF_REQUIRE(dnsname_from_text(name, q->q_name, &q->q_namelen) == 0);
	q->q_type = DNS_TYPE_A;
	q->q_class = DNS_CLASS_IN;
}

static struct pool *
setup(int kind)
{
	ATF_REQUIRE(sodium_init() != -1);
	memset(&servers, 0, sizeof(servers));
	atomic_store(&policy_global, kind);
	return NULL;
}

ATF_TC_WITHOUT_HEAD(names);
ATF_TC_BODY(names, tc)
{
	int	i;

	for (i = 0; i < POLICY_COUNT; i++)
		ATF_CHECK_EQ(policy_from_name(policy_name(i)), i);
	ATF_CHECK_EQ(policy_from_name("nosuchpolicy"), -1);
	ATF_CHECK_STREQ(policy_name(POLICY_LEASTOUTSTANDING),
	    "leastOutstanding");
}

ATF_TC_WITHOUT_HEAD(leastoutstanding);
ATF_TC_BODY(leastoutstanding, tc)
{
	struct server		*a, *b, *c;
	struct dnsquestion	 q;
	struct pool		*pl;
	uint64_t		 rnd = 1;

	setup(POLICY_LEASTOUTSTANDING);
	a = mkserver("127.0.0.1:1001", 1, 1, true);
	b = mkserver("127.0.0.1:1002", 1, 1, true);
	c = mkserver("127.0.0.1:1003", 1, 1, false);
	pl = pool_get("", false);
	ATF_REQUIRE(pl != NULL);
	ATF_CHECK_EQ(pl->pl_count, 3);
	mkquestion(&q, "www.example.");
	atomic_store(&a->ds_outstanding, 5);
	atomic_store(&b->ds_outstanding, 2);
	ATF_CHECK(pool_select(pl, &q, 0, &rnd) == b);
	/* Down servers are never chosen, however idle. */
	atomic_store(&b->ds_outstanding, 9);
	ATF_CHECK(pool_select(pl, &q, 0, &rnd) == a);
	/* Ties: lower order, then lower latency. */
	atomic_store(&a->ds_outstanding, 0);
	atomic_store(&b->ds_outstanding, 0);
	a->ds_order = 2;
	ATF_CHECK(pool_select(pl, &q, 0, &rnd) == b);
	a->ds_order = 1;
	atomic_store(&a->ds_latency, 500.0);
	atomic_store(&b->ds_latency, 100.0);
	ATF_CHECK(pool_select(pl, &q, 0, &rnd) == b);
	/* Forced states override the checks. */
	atomic_store(&c->ds_avail, SERVER_FORCED_UP);
	atomic_store(&a->ds_avail, SERVER_FORCED_DOWN);
	atomic_store(&b->ds_avail, SERVER_FORCED_DOWN);
	ATF_CHECK(pool_select(pl, &q, 0, &rnd) == c);
	atomic_store(&c->ds_avail, SERVER_FORCED_DOWN);
	ATF_CHECK(pool_select(pl, &q, 0, &rnd) == NULL);
}

ATF_TC_WITHOUT_HEAD(firstavailable);
ATF_TC_BODY(firstavailable, tc)
{
	struct server		*a, *b;
	struct dnsquestion	 q;
	struct pool		*pl;
	uint64_t		 rnd = 1, now = 1000000000ULL;
	int			 i, na = 0, nb = 0;

	setup(POLICY_FIRSTAVAILABLE);
	b = mkserver("127.0.0.1:1002", 2, 1, true);
	a = mkserver("127.0.0.1:1001", 1, 1, true);
	pl = pool_get("", false);
	mkquestion(&q, "www.example.");
	for (i = 0; i < 10; i++)
		ATF_CHECK(pool_select(pl, &q, now, &rnd) == a);
	/*
	 * With a qps limit on the first, the excess goes to the next.  The
	 * choice only looks at the tokens; a query sent takes one.
	 */
	server_set_qps(a, 5);
	for (i = 0; i < 20; i++) {
		struct server *ds = pool_select(pl, &q, now, &rnd);
		na += ds == a;
		nb += ds == b;
		(void)server_qps_take(ds, now);
	}
	ATF_CHECK_EQ(na, 5);
	ATF_CHECK_EQ(nb, 15);
	/* Chosen but not sent (a cache hit): no token goes. */
	server_set_qps(a, 1);
	for (i = 0; i < 5; i++)
		ATF_CHECK(pool_select(pl, &q, now, &rnd) == a);
	/* When every server is over its limit: leastOutstanding. */
	server_set_qps(b, 1);
	(void)server_qps_take(a, now);
	(void)server_qps_take(b, now);
	atomic_store(&a->ds_outstanding, 3);
	ATF_CHECK(pool_select(pl, &q, now, &rnd) == b);
}

ATF_TC_WITHOUT_HEAD(roundrobin);
ATF_TC_BODY(roundrobin, tc)
{
	struct server		*s[3];
	struct dnsquestion	 q;
	struct pool		*pl;
	uint64_t		 rnd = 1;
	int			 i, j, n[3] = { 0, 0, 0 };
	char			 addr[32];

	setup(POLICY_ROUNDROBIN);
	for (i = 0; i < 3; i++) {
		snprintf(addr, sizeof(addr), "127.0.0.1:%d", 1001 + i);
		s[i] = mkserver(addr, 1, 1, true);
	}
	pl = pool_get("", false);
	mkquestion(&q, "www.example.");
	for (i = 0; i < 300; i++) {
		struct server *ds = pool_select(pl, &q, 0, &rnd);
		for (j = 0; j < 3; j++)
			n[j] += ds == s[j];
	}
	for (j = 0; j < 3; j++)
		ATF_CHECK_EQ(n[j], 100);
	atomic_store(&s[1]->ds_healthy, false);
	for (i = 0; i < 10; i++)
		ATF_CHECK(pool_select(pl, &q, 0, &rnd) != s[1]);
}

/* How many of n wrandom choices go to the first of two servers. */
static int
wrandom_first(int wa, int wb, int n, struct server **a, struct server **b,
    struct pool **pl)
{
	struct dnsquestion	q;
	uint64_t		rnd = 12345;
	int			i, na = 0;

	setup(POLICY_WRANDOM);
	*a = mkserver("127.0.0.1:1001", 1, wa, true);
	*b = mkserver("127.0.0.1:1002", 1, wb, true);
	*pl = pool_get("", false);
	mkquestion(&q, "www.example.");
	for (i = 0; i < n; i++)
		na += pool_select(*pl, &q, 0, &rnd) == *a;
	return na;
}

ATF_TC_WITHOUT_HEAD(wrandom);
ATF_TC_BODY(wrandom, tc)
{
	struct server		*a, *b;
	struct dnsquestion	 q;
	struct pool		*pl;
	uint64_t		 rnd = 1;
	int			 i, na;

	/* 1:3 weights: about a quarter, well within 2% at this count. */
	na = wrandom_first(1, 3, 40000, &a, &b, &pl);
	ATF_CHECK_MSG(na > 9200 && na < 10800, "a got %d of 40000", na);
	mkquestion(&q, "www.example.");
	atomic_store(&a->ds_healthy, false);
	for (i = 0; i < 100; i++)
		ATF_CHECK(pool_select(pl, &q, 0, &rnd) == b);
}

ATF_TC_WITHOUT_HEAD(wrandom_intmax);
ATF_TC_BODY(wrandom_intmax, tc)
{
	struct server	*a, *b;
	struct pool	*pl;
	int		 na;

	/*
	 * As dnsdist: weights add up to INT_MAX at most, the second gets
	 * what is left, 2000000000 / 2147483647 = 93.1 % to the first.
	 */
	na = wrandom_first(2000000000, 2000000000, 10000, &a, &b, &pl);
	ATF_CHECK_MSG(na > 9100 && na < 9500, "a got %d of 10000", na);
	/* No chashed ring of a point per unit of weight for wrandom. */
	ATF_CHECK_EQ(pl->pl_ringlen, 0);
}

/* The ring appears when chashed becomes the policy, and goes with it. */
ATF_TC_WITHOUT_HEAD(chashed_switch);
ATF_TC_BODY(chashed_switch, tc)
{
	struct server		*a, *b;
	struct dnsquestion	 q;
	struct pool		*pl;
	uint64_t		 rnd = 1;

	(void)wrandom_first(100, 50, 1, &a, &b, &pl);
	ATF_CHECK_EQ(pl->pl_ringlen, 0);
	atomic_store(&policy_global, POLICY_CHASHED);
	/* Before the rebuild chashed still answers, as whashed does. */
	mkquestion(&q, "www.example.");
	ATF_CHECK(pool_select(pl, &q, 0, &rnd) != NULL);
	pool_rebuild_all();
	ATF_CHECK_EQ(pl->pl_ringlen, 150);
	ATF_CHECK(pool_select(pl, &q, 0, &rnd) != NULL);
	atomic_store(&policy_global, POLICY_WHASHED);
	pool_rebuild_all();
	ATF_CHECK_EQ(pl->pl_ringlen, 0);
	pl->pl_policy = POLICY_CHASHED;
	pool_rebuild(pl);
	ATF_CHECK_EQ(pl->pl_ringlen, 150);
}

static void
hashed(int kind)
{
	struct server		*s[4], *first[64], *ds;
	struct dnsquestion	 q;
	struct pool		*pl;
	uint64_t		 rnd = 1;
	int			 i, j, used[4] = { 0, 0, 0, 0 }, moved = 0;
	char			 name[64], addr[32];

	setup(kind);
	for (i = 0; i < 4; i++) {
		snprintf(addr, sizeof(addr), "127.0.0.1:%d", 1001 + i);
		s[i] = mkserver(addr, 1, kind == POLICY_CHASHED ? 100 : 1,
		    true);
	}
	pl = pool_get("", false);
	for (i = 0; i < 64; i++) {
		snprintf(name, sizeof(name), "host%d.example.", i);
		mkquestion(&q, name);
		first[i] = pool_select(pl, &q, 0, &rnd);
		/* The same name goes to the same server, in any case. */
		ATF_CHECK(pool_select(pl, &q, 0, &rnd) == first[i]);
		snprintf(name, sizeof(name), "HOST%d.EXAMPLE.", i);
		mkquestion(&q, name);
		ATF_CHECK(pool_select(pl, &q, 0, &rnd) == first[i]);
		for (j = 0; j < 4; j++)
			used[j] += first[i] == s[j];
	}
	for (i = 0; i < 4; i++)
		ATF_CHECK_MSG(used[i] > 0, "server %d got no name", i);
	/* One server down: its names move, the others stay (chashed). */
	atomic_store(&s[3]->ds_healthy, false);
	for (i = 0; i < 64; i++) {
		snprintf(name, sizeof(name), "host%d.example.", i);
		mkquestion(&q, name);
		ds = pool_select(pl, &q, 0, &rnd);
		ATF_CHECK(ds != s[3]);
		if (first[i] != s[3] && ds != first[i])
			moved++;
	}
	if (kind == POLICY_CHASHED)
		ATF_CHECK_EQ(moved, 0);
}

ATF_TC_WITHOUT_HEAD(whashed);
ATF_TC_BODY(whashed, tc)
{
	hashed(POLICY_WHASHED);
}

ATF_TC_WITHOUT_HEAD(chashed);
ATF_TC_BODY(chashed, tc)
{
	hashed(POLICY_CHASHED);
}

/*
 * With every server down, roundrobin takes them all in turn, as dnsdist's
 * does, unless setRoundRobinFailOnNoServer(true).
 */
ATF_TC_WITHOUT_HEAD(roundrobin_all_down);
ATF_TC_BODY(roundrobin_all_down, tc)
{
	struct server		*a, *b, *ds;
	struct dnsquestion	 q;
	struct pool		*pl;
	uint64_t		 rnd = 1;
	int			 i, na = 0, nb = 0;

	setup(POLICY_ROUNDROBIN);
	a = mkserver("127.0.0.1:1001", 1, 1, false);
	b = mkserver("127.0.0.1:1002", 1, 1, false);
	pl = pool_get("", false);
	mkquestion(&q, "www.example.");
	for (i = 0; i < 10; i++) {
		ds = pool_select(pl, &q, 0, &rnd);
		na += ds == a;
		nb += ds == b;
	}
	ATF_CHECK_EQ(na, 5);
	ATF_CHECK_EQ(nb, 5);
	atomic_store(&policy_rr_fail_no_server, true);
	ATF_CHECK(pool_select(pl, &q, 0, &rnd) == NULL);
	atomic_store(&policy_rr_fail_no_server, false);
}

/*
 * The balancing factors: a server over factor times its share of the
 * outstanding queries is passed over by the weighted and hashed
 * policies; 0 turns the bound off.
 */
static void
bounded(int kind, _Atomic double *factor)
{
	struct server		*first;
	struct dnsquestion	 q;
	struct pool		*pl;
	uint64_t		 rnd = 1;

	setup(kind);
	(void)mkserver("127.0.0.1:1001", 1, 100, true);
	(void)mkserver("127.0.0.1:1002", 1, 100, true);
	pl = pool_get("", false);
	mkquestion(&q, "www.example.");
	first = pool_select(pl, &q, 0, &rnd);
	ATF_REQUIRE(first != NULL);
	/* 10 of 11 (with this one) outstanding: over 1.5 times half. */
	atomic_store(&first->ds_outstanding, 10);
	ATF_CHECK(pool_select(pl, &q, 0, &rnd) == first);
	atomic_store(factor, 1.5);
	ATF_CHECK(pool_select(pl, &q, 0, &rnd) != first);
	/* 8 of 9: within 2 times half. */
	atomic_store(factor, 2.0);
	atomic_store(&first->ds_outstanding, 8);
	ATF_CHECK(pool_select(pl, &q, 0, &rnd) == first);
	atomic_store(factor, 0.0);
	atomic_store(&first->ds_outstanding, 0);
}

ATF_TC_WITHOUT_HEAD(bounded_whashed);
ATF_TC_BODY(bounded_whashed, tc)
{
	bounded(POLICY_WHASHED, &policy_weighted_factor);
}

ATF_TC_WITHOUT_HEAD(bounded_chashed);
ATF_TC_BODY(bounded_chashed, tc)
{
	bounded(POLICY_CHASHED, &policy_chashed_factor);
}

/* Which of s[0..n) ds is; n when none. */
static size_t
server_index(struct server *const *s, size_t n, const struct server *ds)
{
	size_t	i;

	for (i = 0; i < n && s[i] != ds; i++)
		;
	return i;
}

/*
 * As states change between choices, roundrobin and wrandom share among
 * the servers up at each choice; in a pool too big for the stack too.
 */
ATF_TC_WITHOUT_HEAD(states_change);
ATF_TC_BODY(states_change, tc)
{
	static struct server	*s[1100];
	static int		 n[1101];
	struct dnsquestion	 q;
	struct pool		*pl;
	uint64_t		 rnd = 1;
	size_t			 i, j;
	char			 addr[32];

	setup(POLICY_ROUNDROBIN);
	for (i = 0; i < 1100; i++) {
		snprintf(addr, sizeof(addr), "127.0.%zu.%zu:53", i / 250,
		    i % 250 + 1);
		s[i] = mkserver(addr, 1, 1, false);
	}
	pl = pool_get("", false);
	mkquestion(&q, "www.example.");
	/* None up: one of those down (see roundrobin_all_down). */
	ATF_CHECK(pool_select(pl, &q, 0, &rnd) != NULL);
	atomic_store(&policy_rr_fail_no_server, true);
	ATF_CHECK(pool_select(pl, &q, 0, &rnd) == NULL);
	atomic_store(&policy_rr_fail_no_server, false);
	/* The even ones, then the odd ones, then every one, in turn. */
	for (j = 0; j < 3; j++) {
		for (i = 0; i < 1100; i++)
			atomic_store(&s[i]->ds_healthy, j == 2 || i % 2 == j);
		memset(n, 0, sizeof(n));
		for (i = 0; i < 2 * 1100; i++)
			n[server_index(s, 1100, pool_select(pl, &q, 0,
			    &rnd))]++;
		for (i = 0; i < 1100; i++)
			ATF_CHECK_EQ_MSG(n[i], j == 2 ? 2 : i % 2 == j ? 4 : 0,
			    "round %zu: server %zu chosen %d times", j, i,
			    n[i]);
		ATF_CHECK_EQ(n[1100], 0);
	}
	/* wrandom: never one that is down, never none. */
	atomic_store(&policy_global, POLICY_WRANDOM);
	for (i = 0; i < 1100; i++)
		atomic_store(&s[i]->ds_healthy, i == 1099 || i % 3 == 0);
	memset(n, 0, sizeof(n));
	for (i = 0; i < 20000; i++)
		n[server_index(s, 1100, pool_select(pl, &q, 0, &rnd))]++;
	for (i = 0; i < 1100; i++)
		if (i != 1099 && i % 3 != 0)
			ATF_CHECK_EQ_MSG(n[i], 0, "server %zu is down", i);
	ATF_CHECK_EQ(n[1100], 0);
	ATF_CHECK(n[1099] > 0);
}

/* Servers whose health a thread turns down and up until told to stop. */
struct flipper {
	struct server	*fl_ds[2];
	atomic_bool	 fl_stop;
};

static void *
flip(void *arg)
{
	struct flipper	*fl = arg;
	volatile int	 spin;
	int		 i;

	/* Each state held for about as long as a choice takes. */
	while (!atomic_load(&fl->fl_stop))
		for (i = 0; i < 4; i++) {
			atomic_store(&fl->fl_ds[i % 2]->ds_healthy, i >= 2);
			for (spin = 0; spin < 20; spin++)
				;
		}
	return NULL;
}

/*
 * One server always up, two going down and up all the time: each choice
 * must still be a server (the one always up, or one up at some moment).
 * Counting the servers up, then walking them again, once lost some in
 * between and found none.
 */
static void
state_race(int kind)
{
	struct flipper		 fl;
	struct server		*a, *ds;
	struct dnsquestion	 q;
	struct pool		*pl;
	struct timespec		 t0, t;
	pthread_t		 th;
	uint64_t		 rnd = 1;
	long			 i, none = 0;

	setup(kind);
	a = mkserver("127.0.0.1:1001", 1, 1, true);
	fl.fl_ds[0] = mkserver("127.0.0.1:1002", 1, 5, true);
	fl.fl_ds[1] = mkserver("127.0.0.1:1003", 1, 5, true);
	atomic_store(&fl.fl_stop, false);
	pl = pool_get("", false);
	mkquestion(&q, "www.example.");
	ATF_REQUIRE(pthread_create(&th, NULL, flip, &fl) == 0);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	/* Bounded: 10 million choices or a second. */
	for (i = 0; i < 10000000; i++) {
		if (kind == POLICY_WHASHED)
			q.q_name[1] = (uint8_t)('a' + i % 26);
		if ((ds = pool_select(pl, &q, 0, &rnd)) == NULL)
			none++;
		else
			ATF_REQUIRE(ds == a || ds == fl.fl_ds[0] ||
			    ds == fl.fl_ds[1]);
		if (i % 4096 == 0) {
			clock_gettime(CLOCK_MONOTONIC, &t);
			if ((t.tv_sec - t0.tv_sec) * 1000000000L +
			    t.tv_nsec - t0.tv_nsec >= 1000000000L)
				break;
		}
	}
	atomic_store(&fl.fl_stop, true);
	pthread_join(th, NULL);
	ATF_CHECK_MSG(none == 0, "%s: no server for %ld of %ld choices",
	    policy_name(kind), none, i);
}

ATF_TC_WITHOUT_HEAD(roundrobin_race);
ATF_TC_BODY(roundrobin_race, tc)
{
	state_race(POLICY_ROUNDROBIN);
}

ATF_TC_WITHOUT_HEAD(wrandom_race);
ATF_TC_BODY(wrandom_race, tc)
{
	state_race(POLICY_WRANDOM);
}

ATF_TC_WITHOUT_HEAD(whashed_race);
ATF_TC_BODY(whashed_race, tc)
{
	state_race(POLICY_WHASHED);
}

ATF_TC_WITHOUT_HEAD(pools);
ATF_TC_BODY(pools, tc)
{
	struct server		*a, *b;
	struct dnsquestion	 q;
	struct pool		*pl;
	uint64_t		 rnd = 1;

	setup(POLICY_LEASTOUTSTANDING);
	ATF_REQUIRE((a = server_new("127.0.0.1:1001")) != NULL);
	ATF_REQUIRE(server_add_pool(a, "abuse") == 0);
	atomic_store(&a->ds_healthy, true);
	ATF_REQUIRE(server_register(a) == 0);
	b = mkserver("127.0.0.1:1002", 1, 1, true);
	mkquestion(&q, "www.example.");
	/* A server with a pool is not in the default pool. */
	ATF_CHECK(pool_select(pool_get("", false), &q, 0, &rnd) == b);
	ATF_CHECK(pool_select(pool_get("abuse", false), &q, 0, &rnd) == a);
	/* Joining and leaving at run time. */
	ATF_REQUIRE(server_add_pool(b, "abuse") == 0);
	ATF_CHECK_EQ(pool_get("abuse", false)->pl_count, 2);
	ATF_REQUIRE(server_rm_pool(a, "abuse") == 0);
	ATF_CHECK_EQ(pool_get("abuse", false)->pl_count, 1);
	ATF_CHECK_EQ(server_rm_pool(a, "nosuchpool"), -1);
	/* Removal: out of every pool, queued for the daemon. */
	server_unregister(b);
	ATF_CHECK_EQ(pool_get("abuse", false)->pl_count, 0);
	ATF_CHECK_EQ(servers.sr_count, 1);
	ATF_CHECK(server_reap() == b);
	server_unref(b);
	ATF_CHECK(server_reap() == NULL);
	server_unref(a);
	pl = pool_get("", false);
	ATF_CHECK_EQ(pl->pl_count, 0);
}

/* Lazy health checks: the threshold over the samples kept. */
ATF_TC_WITHOUT_HEAD(lazy_samples);
ATF_TC_BODY(lazy_samples, tc)
{
	struct server	*ds;
	int		 i;

	ATF_REQUIRE((ds = server_new("127.0.0.1:1001")) != NULL);
	ds->ds_lazysize = 10;
	ds->ds_lazyminsamples = 5;
	ds->ds_lazythreshold = 50;
	/* Not watched: nothing is kept. */
	for (i = 0; i < 10; i++)
		server_lazy_report(ds, true);
	ATF_CHECK_EQ(atomic_load(&ds->ds_lazypos), 0);
	atomic_store(&ds->ds_lazyon, true);
	/* 4 failures: fewer than the 5 samples needed. */
	for (i = 0; i < 4; i++)
		server_lazy_report(ds, true);
	ATF_CHECK(!server_lazy_over(ds));
	server_lazy_answer(ds, DNS_RCODE_NOERROR);
	ATF_CHECK(server_lazy_over(ds));		/* 4 of 5 */
	for (i = 0; i < 4; i++)
		server_lazy_answer(ds, DNS_RCODE_NXDOMAIN);
	ATF_CHECK(!server_lazy_over(ds));		/* 4 of 9 */
	server_lazy_answer(ds, DNS_RCODE_SERVFAIL);
	ATF_CHECK(server_lazy_over(ds));		/* 5 of 10 */
	/* The ring wraps: the first failures give way to successes. */
	server_lazy_report(ds, false);
	ATF_CHECK_EQ(atomic_load(&ds->ds_lazyfails), 4);
	ATF_CHECK(!server_lazy_over(ds));
	/* TimeoutOnly: SERVFAIL is no failure. */
	ds->ds_lazyservfail = false;
	server_lazy_answer(ds, DNS_RCODE_SERVFAIL);
	ATF_CHECK_EQ(atomic_load(&ds->ds_lazyfails), 3);
	server_lazy_clear(ds);
	ATF_CHECK_EQ(atomic_load(&ds->ds_lazyfails), 0);
	ATF_CHECK_EQ(atomic_load(&ds->ds_lazypos), 0);
	ATF_CHECK(!server_lazy_over(ds));
	server_unref(ds);
}

/* Threads report at once: the count of failures stays that of the bits. */
#define LAZY_THREADS	4
#define LAZY_REPORTS	200000

static void *
lazy_reporter(void *arg)
{
	struct server	*ds = arg;
	uint64_t	 x = (uint64_t)(uintptr_t)pthread_self() | 1;
	int		 i;

	for (i = 0; i < LAZY_REPORTS; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		server_lazy_report(ds, (x & 3) == 0);
	}
	return NULL;
}

ATF_TC_WITHOUT_HEAD(lazy_threads);
ATF_TC_BODY(lazy_threads, tc)
{
	pthread_t	 t[LAZY_THREADS];
	struct server	*ds;
	int		 i, bits = 0;

	ATF_REQUIRE((ds = server_new("127.0.0.1:1001")) != NULL);
	ds->ds_lazysize = 1000;
	atomic_store(&ds->ds_lazyon, true);
	for (i = 0; i < LAZY_THREADS; i++)
		ATF_REQUIRE(pthread_create(&t[i], NULL, lazy_reporter, ds) == 0);
	for (i = 0; i < LAZY_THREADS; i++)
		pthread_join(t[i], NULL);
	ATF_CHECK_EQ(atomic_load(&ds->ds_lazypos),
	    (uint64_t)LAZY_THREADS * LAZY_REPORTS);
	for (i = 0; i < (int)(sizeof(ds->ds_lazybits) /
	    sizeof(ds->ds_lazybits[0])); i++)
		bits += __builtin_popcountll(atomic_load(&ds->ds_lazybits[i]));
	ATF_CHECK_EQ(atomic_load(&ds->ds_lazyfails), bits);
	/* About a quarter failed. */
	ATF_CHECK(bits > 150 && bits < 350);
	server_unref(ds);
}

ATF_TP_ADD_TCS(tp)
{
	ATF_TP_ADD_TC(tp, names);
	ATF_TP_ADD_TC(tp, leastoutstanding);
	ATF_TP_ADD_TC(tp, firstavailable);
	ATF_TP_ADD_TC(tp, roundrobin);
	ATF_TP_ADD_TC(tp, roundrobin_all_down);
	ATF_TP_ADD_TC(tp, bounded_whashed);
	ATF_TP_ADD_TC(tp, bounded_chashed);
	ATF_TP_ADD_TC(tp, wrandom);
	ATF_TP_ADD_TC(tp, wrandom_intmax);
	ATF_TP_ADD_TC(tp, chashed_switch);
	ATF_TP_ADD_TC(tp, whashed);
	ATF_TP_ADD_TC(tp, chashed);
	ATF_TP_ADD_TC(tp, pools);
	ATF_TP_ADD_TC(tp, lazy_samples);
	ATF_TP_ADD_TC(tp, lazy_threads);
	ATF_TP_ADD_TC(tp, states_change);
	ATF_TP_ADD_TC(tp, roundrobin_race);
	ATF_TP_ADD_TC(tp, wrandom_race);
	ATF_TP_ADD_TC(tp, whashed_race);
	return atf_no_error();
}
