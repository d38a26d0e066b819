/*
 * Global statistics with dnsdist's names.  Counters are relaxed atomics so
 * packet threads bump them without locks; gauges are read through
 * functions that the daemon registers.
 */
#ifndef STATS_H
#define STATS_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dnspacket.h"
#include "sbuf.h"

enum stat_id {
	STAT_ACL_DROPS,
	STAT_BACKEND_DISCOVERY_FAILURES,
	STAT_CACHE_HITS,
	STAT_CACHE_MISSES,
	STAT_DOWNSTREAM_REROUTES,
	STAT_DOWNSTREAM_SEND_ERRORS,
	STAT_DOWNSTREAM_TIMEOUTS,
	STAT_DOH_QUERY_PIPE_FULL,	/* no pipe here: always 0 */
	STAT_DOH_RESPONSE_PIPE_FULL,
	STAT_DYN_BLOCKED,
	STAT_EMPTY_QUERIES,
	STAT_FRONTEND_NOERROR,
	STAT_FRONTEND_NXDOMAIN,
	STAT_FRONTEND_SERVFAIL,
	STAT_LATENCY_COUNT,
	STAT_LATENCY_SLOW,
	STAT_LATENCY_SUM,
	STAT_LATENCY0_1,
	STAT_LATENCY1_10,
	STAT_LATENCY10_50,
	STAT_LATENCY50_100,
	STAT_LATENCY100_1000,
	STAT_NO_POLICY,
	STAT_NONCOMPLIANT_QUERIES,
	STAT_NONCOMPLIANT_RESPONSES,
	STAT_PROXY_PROTOCOL_INVALID,
	STAT_QUERIES,
	STAT_RDQUERIES,
	STAT_RESPONSES,
	STAT_RULE_DROP,
	STAT_RULE_NXDOMAIN,
	STAT_RULE_REFUSED,
	STAT_RULE_SERVFAIL,
	STAT_RULE_TRUNCATED,
	STAT_SECURITY_STATUS,
	STAT_SELF_ANSWERED,
	STAT_SERVFAIL_RESPONSES,
	STAT_OUTGOING_DOH_QUERY_PIPE_FULL,
	STAT_TCP_CROSS_PROTOCOL_QUERY_PIPE_FULL,
	STAT_TCP_CROSS_PROTOCOL_RESPONSE_PIPE_FULL,
	STAT_TCP_QUERY_PIPE_FULL,
	STAT_TCP_RESPONSE_QUEUE_FULL,
	STAT_TCP_TOO_MANY_CONNECTIONS,
	STAT_TRUNC_FAILURES,
	STAT_WEB_AUTH_FAILURES,
	STAT_WEB_AUTH_LIMITED,
	STAT_COUNT
};

/*
 * Each thread counts in a block of its own, so that a count is a plain
 * load and store rather than a locked read-modify-write; readers add the
 * blocks up.  A thread's block is made at its first count.
 */
struct stats_block {
	_Atomic uint64_t	 sb_c[STAT_COUNT];
	struct stats_block	*sb_next;
};

extern _Thread_local struct stats_block *stats_mine;
struct stats_block	*stats_block_new(void);

static inline void
stats_add(enum stat_id id, uint64_t n)
{
	struct stats_block	*b = stats_mine;

	if (b == NULL && (b = stats_block_new()) == NULL)
		return;
	/* One writer per block: no lock prefix needed. */
	atomic_store_explicit(&b->sb_c[id], atomic_load_explicit(&b->sb_c[id],
	    memory_order_relaxed) + n, memory_order_relaxed);
}

static inline void
stats_inc(enum stat_id id)
{
	stats_add(id, 1);
}

/* The client's protocol, for the moving averages of latency. */
enum stats_proto { STATS_UDP, STATS_TCP, STATS_DOT, STATS_DOH, STATS_NPROTO };
/*
 * One answered query's latency: buckets, sum and count (of every
 * protocol), and the moving averages of its protocol.
 */
void	stats_latency(enum stats_proto, uint64_t usec);
/* Count the rcode of an answer sent to a client (frontend-*, servfail). */
static inline void
stats_rcode(int rcode)
{
	switch (rcode) {
	case DNS_RCODE_NOERROR:
		stats_inc(STAT_FRONTEND_NOERROR);
		break;
	case DNS_RCODE_NXDOMAIN:
		stats_inc(STAT_FRONTEND_NXDOMAIN);
		break;
	case DNS_RCODE_SERVFAIL:
		stats_inc(STAT_FRONTEND_SERVFAIL);
		break;
	}
}

/* Gauges: uptime, memory, fds, cpu.  fn returns the current value. */
void	stats_set_gauge(const char *name, double (*fn)(void));
/* ... or fn(arg). */
void	stats_set_gauge_arg(const char *name, double (*fn)(const void *),
	    const void *arg);

struct stat_value {
	const char	*sv_name;
	double		 sv_value;
	bool		 sv_double;	/* printed with one decimal */
	bool		 sv_gauge;	/* computed, not counted */
	bool		 sv_ours;	/* not one of dnsdist's: not in JSON */
	const char	*sv_help;	/* declareMetric()'s, else NULL */
	const char	*sv_promname;	/* its Prometheus name, else NULL */
};

/* Every statistic, sorted by name; returns the number (<= max) written. */
size_t	stats_snapshot(struct stat_value *out, size_t max);
#define STATS_MAX	160
/*
 * Custom metrics (declareMetric()): counters and gauges that Lua sets,
 * shown with the others.  They are kept for the life of the process, so
 * that a new configuration finds them as they were.  The name is made of
 * lower case letters, digits and dashes, and is not a built-in one.
 * stats_declare(): 0 (a name declared again with its type is kept as it
 * is), or -1 with errno EINVAL (bad name, or declared with the other
 * type), EEXIST (a built-in name), ENOSPC (STATS_MAXCUSTOM reached) or
 * ENOMEM.  help and promname (NULL: dnsdist_ and the name) are copied.
 */
#define STATS_MAXCUSTOM	64
int	stats_declare(const char *name, bool gauge, const char *help,
	    const char *promname);
/*
 * Add delta to a counter (gauge false) or set a gauge (gauge true); the
 * new value in *v.  -1 with ENOENT when there is no such metric of that
 * type.
 */
int	stats_custom_update(const char *name, bool gauge, double delta,
	    double *v);
/* A custom metric's value and type; -1 when there is none. */
int	stats_custom_get(const char *name, double *v, bool *gauge);
/* Look one up; -1 when unknown. */
int	stats_get(const char *name, struct stat_value *);
/* dumpStats(): two columns, sorted by name, as dnsdist prints them. */
void	stats_dump(struct sbuf *);

#endif /* STATS_H */
