/*
 * Token buckets.  The bucket refills continuously at q_rate tokens per
 * second and never holds more than q_burst; a query takes one token.
 */
#include <stdbool.h>
#include <stdint.h>

#include "qps.h"

#define QPS_NSEC	1e9
/*
 * Refills add up many small fractions, and ten additions of 0.1 make
 * 0.9999999999999999: a token counts as whole a hair early.
 */
#define QPS_WHOLE	(1 - 1e-9)

void
qps_init(struct qps *q, double rate, double burst, uint64_t now)
{
	if (!(rate > 0))	/* also catches NaN */
		rate = 0;
	if (!(burst > 0))
		burst = rate;
	/* Less than one token banked would never let a query through. */
	if (rate > 0 && burst < 1)
		burst = 1;
	q->q_rate = rate;
	q->q_burst = burst;
	q->q_tokens = burst;
	q->q_last = now;
}

/* A clock that goes backwards adds nothing; q_last only moves forward. */
static void
qps_refill(struct qps *q, uint64_t now)
{
	if (now <= q->q_last)
		return;
	q->q_tokens += (double)(now - q->q_last) * q->q_rate / QPS_NSEC;
	if (q->q_tokens > q->q_burst)
		q->q_tokens = q->q_burst;
	q->q_last = now;
}

bool
qps_take(struct qps *q, uint64_t now)
{
	if (q->q_rate == 0)
		return true;
	qps_refill(q, now);
	if (q->q_tokens < QPS_WHOLE)
		return false;
	q->q_tokens -= 1;
	return true;
}

bool
qps_check(struct qps *q, uint64_t now)
{
	if (q->q_rate == 0)
		return true;
	qps_refill(q, now);
	return q->q_tokens >= QPS_WHOLE;
}
