/*
 * Token buckets: rate tokens per second, up to burst tokens banked.  Time
 * is passed in by the caller (monotonic nanoseconds) so the bucket is pure
 * logic.  Not thread-safe; callers serialise.
 */
#ifndef QPS_H
#define QPS_H

#include <stdbool.h>
#include <stdint.h>

struct qps {
	double		q_rate;		/* tokens per second, 0 = unlimited */
	double		q_burst;
	double		q_tokens;
	uint64_t	q_last;		/* nanoseconds of the last refill */
};

/* A full bucket; burst 0 means burst = rate. */
void	qps_init(struct qps *q, double rate, double burst, uint64_t now);
/* Take one token if there is one: true if taken (or unlimited). */
bool	qps_take(struct qps *q, uint64_t now);
/* True if a token is available, without taking it. */
bool	qps_check(struct qps *q, uint64_t now);

#endif /* QPS_H */
