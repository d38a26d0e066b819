/*
 * qps: token buckets driven by a caller-supplied monotonic clock.
 */
#include <stdbool.h>
#include <stdint.h>

#include <atf-c.h>

#include "qps.h"

#include "lsan.h"

#define MS	UINT64_C(1000000)
#define SEC	UINT64_C(1000000000)
#define T0	(UINT64_C(5) * SEC)	/* an arbitrary monotonic start */

/* How many tokens can be taken at once at time now. */
static int
drain(struct qps *q, uint64_t now)
{
	int	 n = 0;

	while (qps_take(q, now) && n < 1000000)
		n++;
	return n;
}

ATF_TC_WITHOUT_HEAD(unlimited);
ATF_TC_BODY(unlimited, tc)
{
	struct qps q;
	int	 i;

	qps_init(&q, 0, 0, T0);
	for (i = 0; i < 10000; i++)
		ATF_REQUIRE(qps_take(&q, T0));
	ATF_CHECK(qps_check(&q, T0));
	/* A negative rate is no limit either. */
	qps_init(&q, -5, 0, T0);
	ATF_CHECK_EQ(drain(&q, T0), 1000000);
}

ATF_TC_WITHOUT_HEAD(burst);
ATF_TC_BODY(burst, tc)
{
	struct qps q;

	/* Starts full: burst tokens at once, then nothing. */
	qps_init(&q, 10, 5, T0);
	ATF_CHECK_EQ(drain(&q, T0), 5);
	ATF_CHECK(!qps_take(&q, T0));
	/* Burst 0 means burst = rate. */
	qps_init(&q, 100, 0, T0);
	ATF_CHECK_EQ(drain(&q, T0), 100);
	/* Burst above rate. */
	qps_init(&q, 10, 50, T0);
	ATF_CHECK_EQ(drain(&q, T0), 50);
}

ATF_TC_WITHOUT_HEAD(refill);
ATF_TC_BODY(refill, tc)
{
	struct qps q;
	uint64_t now = T0;

	qps_init(&q, 10, 10, now);
	ATF_CHECK_EQ(drain(&q, now), 10);
	/* 10 per second is one every 100 ms. */
	now += 99 * MS;
	ATF_CHECK(!qps_take(&q, now));
	now += 1 * MS;
	ATF_CHECK(qps_take(&q, now));
	ATF_CHECK(!qps_take(&q, now));
	/* Half a second: five. */
	now += 500 * MS;
	ATF_CHECK_EQ(drain(&q, now), 5);
	/* A long idle time refills to burst, no more. */
	now += 3600 * SEC;
	ATF_CHECK_EQ(drain(&q, now), 10);
}

/* Over a simulated minute, the rate holds whatever the call pattern. */
ATF_TC_WITHOUT_HEAD(steady_rate);
ATF_TC_BODY(steady_rate, tc)
{
	struct qps q;
	uint64_t now = T0;
	int	 passed = 0, i;

	qps_init(&q, 1000, 1, now);
	ATF_CHECK(qps_take(&q, now));
	/* Ask every 0.1 ms for 60 s: 1000/s gets through. */
	for (i = 0; i < 600000; i++) {
		now += MS / 10;
		if (qps_take(&q, now))
			passed++;
	}
	ATF_CHECK_MSG(passed >= 59999 && passed <= 60000, "passed %d",
	    passed);
}

ATF_TC_WITHOUT_HEAD(check_only);
ATF_TC_BODY(check_only, tc)
{
	struct qps q;

	qps_init(&q, 1, 1, T0);
	ATF_CHECK(qps_check(&q, T0));
	ATF_CHECK(qps_check(&q, T0));		/* check takes nothing */
	ATF_CHECK(qps_take(&q, T0));
	ATF_CHECK(!qps_check(&q, T0));
	ATF_CHECK(!qps_check(&q, T0 + SEC / 2));
	ATF_CHECK(qps_check(&q, T0 + SEC));
	ATF_CHECK(qps_take(&q, T0 + SEC));
}

ATF_TC_WITHOUT_HEAD(clock_backwards);
ATF_TC_BODY(clock_backwards, tc)
{
	struct qps q;

	qps_init(&q, 10, 1, T0);
	ATF_CHECK(qps_take(&q, T0));
	/* A clock that jumps back gives nothing, and nothing is lost. */
	ATF_CHECK(!qps_take(&q, T0 - SEC));
	ATF_CHECK(!qps_take(&q, 0));
	ATF_CHECK(qps_take(&q, T0 + 100 * MS));
}

/* Below one query per second: a token is still banked at the start. */
ATF_TC_WITHOUT_HEAD(fractional_rate);
ATF_TC_BODY(fractional_rate, tc)
{
	struct qps q;

	qps_init(&q, 0.5, 0, T0);
	ATF_CHECK(qps_take(&q, T0));
	ATF_CHECK(!qps_take(&q, T0 + SEC));
	ATF_CHECK(qps_take(&q, T0 + 2 * SEC));
	ATF_CHECK(!qps_take(&q, T0 + 2 * SEC));
}

ATF_TP_ADD_TCS(tp)
{
	ATF_TP_ADD_TC(tp, unlimited);
	ATF_TP_ADD_TC(tp, burst);
	ATF_TP_ADD_TC(tp, refill);
	ATF_TP_ADD_TC(tp, steady_rate);
	ATF_TP_ADD_TC(tp, check_only);
	ATF_TP_ADD_TC(tp, clock_backwards);
	ATF_TP_ADD_TC(tp, fractional_rate);
	return atf_no_error();
}
