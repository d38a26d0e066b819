/*
 * Statistics: names, latency accounting and dumpStats().
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dnspacket.h"
#include "stats.h"

_Thread_local struct stats_block *stats_mine;
static struct stats_block	*stats_blocks;
static pthread_mutex_t		 stats_blocks_lock = PTHREAD_MUTEX_INITIALIZER;

struct stats_block *
stats_block_new(void)
{
	struct stats_block	*b;

	if ((b = calloc(1, sizeof(*b))) == NULL)
		return NULL;
	pthread_mutex_lock(&stats_blocks_lock);
	b->sb_next = stats_blocks;
	stats_blocks = b;
	pthread_mutex_unlock(&stats_blocks_lock);
	stats_mine = b;
	return b;
}

static uint64_t
stats_sum(enum stat_id id)
{
	struct stats_block	*b;
	uint64_t		 n = 0;

	pthread_mutex_lock(&stats_blocks_lock);
	for (b = stats_blocks; b != NULL; b = b->sb_next)
		n += atomic_load_explicit(&b->sb_c[id], memory_order_relaxed);
	pthread_mutex_unlock(&stats_blocks_lock);
	return n;
}

static const char *stat_names[STAT_COUNT] = {
	[STAT_ACL_DROPS] = "acl-drops",
	[STAT_BACKEND_DISCOVERY_FAILURES] = "backend-discovery-failures",
	[STAT_CACHE_HITS] = "cache-hits",
	[STAT_CACHE_MISSES] = "cache-misses",
	[STAT_DOWNSTREAM_REROUTES] = "downstream-reroutes",
	[STAT_DOWNSTREAM_SEND_ERRORS] = "downstream-send-errors",
	[STAT_DOWNSTREAM_TIMEOUTS] = "downstream-timeouts",
	[STAT_DOH_QUERY_PIPE_FULL] = "doh-query-pipe-full",
	[STAT_DOH_RESPONSE_PIPE_FULL] = "doh-response-pipe-full",
	[STAT_DYN_BLOCKED] = "dyn-blocked",
	[STAT_EMPTY_QUERIES] = "empty-queries",
	[STAT_FRONTEND_NOERROR] = "frontend-noerror",
	[STAT_FRONTEND_NXDOMAIN] = "frontend-nxdomain",
	[STAT_FRONTEND_SERVFAIL] = "frontend-servfail",
	[STAT_LATENCY_COUNT] = "latency-count",
	[STAT_LATENCY_SLOW] = "latency-slow",
	[STAT_LATENCY_SUM] = "latency-sum",
	[STAT_LATENCY0_1] = "latency0-1",
	[STAT_LATENCY1_10] = "latency1-10",
	[STAT_LATENCY10_50] = "latency10-50",
	[STAT_LATENCY50_100] = "latency50-100",
	[STAT_LATENCY100_1000] = "latency100-1000",
	[STAT_NO_POLICY] = "no-policy",
	[STAT_NONCOMPLIANT_QUERIES] = "noncompliant-queries",
	[STAT_NONCOMPLIANT_RESPONSES] = "noncompliant-responses",
	[STAT_PROXY_PROTOCOL_INVALID] = "proxy-protocol-invalid",
	[STAT_QUERIES] = "queries",
	[STAT_RDQUERIES] = "rdqueries",
	[STAT_RESPONSES] = "responses",
	[STAT_RULE_DROP] = "rule-drop",
	[STAT_RULE_NXDOMAIN] = "rule-nxdomain",
	[STAT_RULE_REFUSED] = "rule-refused",
	[STAT_RULE_SERVFAIL] = "rule-servfail",
	[STAT_RULE_TRUNCATED] = "rule-truncated",
	[STAT_SECURITY_STATUS] = "security-status",
	[STAT_SELF_ANSWERED] = "self-answered",
	[STAT_SERVFAIL_RESPONSES] = "servfail-responses",
	[STAT_OUTGOING_DOH_QUERY_PIPE_FULL] = "outgoing-doh-query-pipe-full",
	[STAT_TCP_CROSS_PROTOCOL_QUERY_PIPE_FULL] =
	    "tcp-cross-protocol-query-pipe-full",
	[STAT_TCP_CROSS_PROTOCOL_RESPONSE_PIPE_FULL] =
	    "tcp-cross-protocol-response-pipe-full",
	[STAT_TCP_QUERY_PIPE_FULL] = "tcp-query-pipe-full",
	[STAT_TCP_RESPONSE_QUEUE_FULL] = "tcp-response-queue-full",
	[STAT_TCP_TOO_MANY_CONNECTIONS] = "tcp-too-many-connections",
	[STAT_TRUNC_FAILURES] = "trunc-failures",
	[STAT_WEB_AUTH_FAILURES] = "web-auth-failures",
	[STAT_WEB_AUTH_LIMITED] = "web-auth-limited",
};

/*
 * Moving averages of latency over about 100 ... 1000000 answers, in usec,
 * per protocol of the client as dnsdist keeps them: latency-avg* for
 * UDP, latency-tcp-avg*, latency-dot-avg* and latency-doh-avg*.
 */
static const double	 avg_keep[] = { 0.99, 0.999, 0.9999, 0.999999 };
static const double	 avg_take[] = { 0.01, 0.001, 0.0001, 0.000001 };
#define NAVG	(sizeof(avg_keep) / sizeof(avg_keep[0]))
static const char	*avg_names[STATS_NPROTO][NAVG] = {
	{ "latency-avg100", "latency-avg1000", "latency-avg10000",
	    "latency-avg1000000" },
	{ "latency-tcp-avg100", "latency-tcp-avg1000", "latency-tcp-avg10000",
	    "latency-tcp-avg1000000" },
	{ "latency-dot-avg100", "latency-dot-avg1000", "latency-dot-avg10000",
	    "latency-dot-avg1000000" },
	{ "latency-doh-avg100", "latency-doh-avg1000", "latency-doh-avg10000",
	    "latency-doh-avg1000000" },
};
static _Atomic double	 avg_values[STATS_NPROTO][NAVG];

#define MAXGAUGES	32
static struct {
	const char	*name;
	double		(*fn)(void);
	double		(*afn)(const void *);	/* when fn is NULL */
	const void	*arg;
}			 gauges[MAXGAUGES];
static size_t		 ngauges;

void
stats_latency(enum stats_proto proto, uint64_t usec)
{
	enum stat_id	b;
	double		v;
	size_t		i;

	if (usec < 1000)
		b = STAT_LATENCY0_1;
	else if (usec < 10000)
		b = STAT_LATENCY1_10;
	else if (usec < 50000)
		b = STAT_LATENCY10_50;
	else if (usec < 100000)
		b = STAT_LATENCY50_100;
	else if (usec < 1000000)
		b = STAT_LATENCY100_1000;
	else
		b = STAT_LATENCY_SLOW;
	stats_inc(b);
	stats_inc(STAT_LATENCY_COUNT);
	stats_add(STAT_LATENCY_SUM, usec / 1000);
	/*
	 * Racing updates from two threads may lose one sample: harmless.
	 * Multiplications only: this runs for every answer.
	 */
	for (i = 0; i < NAVG; i++) {
		v = atomic_load_explicit(&avg_values[proto][i],
		    memory_order_relaxed);
		v = v * avg_keep[i] + (double)usec * avg_take[i];
		atomic_store_explicit(&avg_values[proto][i], v,
		    memory_order_relaxed);
	}
}

static void
set_gauge(const char *name, double (*fn)(void), double (*afn)(const void *),
    const void *arg)
{
	size_t	i;

	for (i = 0; i < ngauges && strcmp(gauges[i].name, name) != 0; i++)
		;
	if (i == MAXGAUGES)
		return;
	if (i == ngauges)
		ngauges++;
	gauges[i].name = name;
	gauges[i].fn = fn;
	gauges[i].afn = afn;
	gauges[i].arg = arg;
}

void
stats_set_gauge(const char *name, double (*fn)(void))
{
	set_gauge(name, fn, NULL, NULL);
}

void
stats_set_gauge_arg(const char *name, double (*fn)(const void *),
    const void *arg)
{
	set_gauge(name, NULL, fn, arg);
}

/*
 * Custom metrics: written by Lua (under its lock) and read by the web,
 * carbon and console threads, so the table is under a lock of its own.
 * Entries are never removed: their names stay valid for snapshots.
 */
static struct custom {
	char		*cm_name;
	char		*cm_help;
	char		*cm_promname;
	bool		 cm_gauge;
	double		 cm_value;
}			 customs[STATS_MAXCUSTOM];
static size_t		 ncustoms;
static pthread_mutex_t	 customs_lock = PTHREAD_MUTEX_INITIALIZER;

static struct custom *
custom_find(const char *name)
{
	size_t	i;

	for (i = 0; i < ncustoms; i++)
		if (strcmp(customs[i].cm_name, name) == 0)
			return &customs[i];
	return NULL;
}

static bool
stats_builtin(const char *name)
{
	size_t	i;

	for (i = 0; i < STAT_COUNT; i++)
		if (strcmp(stat_names[i], name) == 0)
			return true;
	for (i = 0; i < STATS_NPROTO * NAVG; i++)
		if (strcmp(avg_names[i / NAVG][i % NAVG], name) == 0)
			return true;
	for (i = 0; i < ngauges; i++)
		if (strcmp(gauges[i].name, name) == 0)
			return true;
	return false;
}

int
stats_declare(const char *name, bool gauge, const char *help,
    const char *promname)
{
	struct custom	*cm;
	const char	*p;
	int		 rc = 0;

	if (name[0] == '\0' || strlen(name) > 100)
		return errno = EINVAL, -1;
	for (p = name; *p != '\0'; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
		    *p == '-'))
			return errno = EINVAL, -1;
	if (stats_builtin(name))
		return errno = EEXIST, -1;
	pthread_mutex_lock(&customs_lock);
	if ((cm = custom_find(name)) != NULL) {
		if (cm->cm_gauge != gauge)
			rc = -1, errno = EINVAL;
	} else if (ncustoms == STATS_MAXCUSTOM)
		rc = -1, errno = ENOSPC;
	else {
		cm = &customs[ncustoms];
		cm->cm_name = strdup(name);
		cm->cm_help = strdup(help);
		cm->cm_promname = promname != NULL ? strdup(promname) : NULL;
		if (cm->cm_name == NULL || cm->cm_help == NULL ||
		    (promname != NULL && cm->cm_promname == NULL)) {
			free(cm->cm_name);
			free(cm->cm_help);
			free(cm->cm_promname);
			memset(cm, 0, sizeof(*cm));
			rc = -1, errno = ENOMEM;
		} else {
			cm->cm_gauge = gauge;
			ncustoms++;
		}
	}
	pthread_mutex_unlock(&customs_lock);
	return rc;
}

int
stats_custom_update(const char *name, bool gauge, double delta, double *v)
{
	struct custom	*cm;
	int		 rc = -1;

	pthread_mutex_lock(&customs_lock);
	if ((cm = custom_find(name)) != NULL && cm->cm_gauge == gauge) {
		if (gauge)
			cm->cm_value = delta;
		else
			cm->cm_value += delta;
		*v = cm->cm_value;
		rc = 0;
	} else
		errno = ENOENT;
	pthread_mutex_unlock(&customs_lock);
	return rc;
}

int
stats_custom_get(const char *name, double *v, bool *gauge)
{
	struct custom	*cm;
	int		 rc = -1;

	pthread_mutex_lock(&customs_lock);
	if ((cm = custom_find(name)) != NULL) {
		*v = cm->cm_value;
		*gauge = cm->cm_gauge;
		rc = 0;
	}
	pthread_mutex_unlock(&customs_lock);
	return rc;
}

static int
stat_value_cmp(const void *a, const void *b)
{
	return strcmp(((const struct stat_value *)a)->sv_name,
	    ((const struct stat_value *)b)->sv_name);
}

/*
 * Our own statistics, which dnsdist does not have: /metrics, carbon and
 * the console show them, the JSON of the web API leaves them out, since
 * scripts written for dnsdist's may take its set of names as complete.
 */
static bool
stats_ours(const char *name)
{
	static const char *const ours[] = {
		"backend-discovery-failures", "downstream-reroutes",
		"ring-buffer-skipped",
		"tcp-response-queue-full", "tcp-too-many-connections",
		"web-auth-failures", "web-auth-limited"
	};
	size_t	i;

	for (i = 0; i < sizeof(ours) / sizeof(ours[0]); i++)
		if (strcmp(name, ours[i]) == 0)
			return true;
	return false;
}

size_t
stats_snapshot(struct stat_value *out, size_t max)
{
	size_t	i, n = 0, nbuilt;

	for (i = 0; i < STAT_COUNT && n < max; i++, n++) {
		out[n].sv_name = stat_names[i];
		out[n].sv_value = (double)stats_sum((enum stat_id)i);
		out[n].sv_double = false;
		out[n].sv_gauge = false;
		out[n].sv_help = out[n].sv_promname = NULL;
	}
	for (i = 0; i < STATS_NPROTO * NAVG && n < max; i++, n++) {
		out[n].sv_name = avg_names[i / NAVG][i % NAVG];
		out[n].sv_value = atomic_load_explicit(
		    &avg_values[i / NAVG][i % NAVG], memory_order_relaxed);
		out[n].sv_double = true;
		out[n].sv_gauge = true;
		out[n].sv_help = out[n].sv_promname = NULL;
	}
	for (i = 0; i < ngauges && n < max; i++, n++) {
		out[n].sv_name = gauges[i].name;
		out[n].sv_value = gauges[i].fn != NULL ? gauges[i].fn() :
		    gauges[i].afn(gauges[i].arg);
		out[n].sv_double = false;
		out[n].sv_gauge = true;
		out[n].sv_help = out[n].sv_promname = NULL;
	}
	nbuilt = n;
	pthread_mutex_lock(&customs_lock);
	for (i = 0; i < ncustoms && n < max; i++, n++) {
		out[n].sv_name = customs[i].cm_name;
		out[n].sv_value = customs[i].cm_value;
		out[n].sv_double = customs[i].cm_gauge;
		out[n].sv_gauge = customs[i].cm_gauge;
		out[n].sv_help = customs[i].cm_help;
		out[n].sv_promname = customs[i].cm_promname;
	}
	pthread_mutex_unlock(&customs_lock);
	for (i = 0; i < n; i++)
		out[i].sv_ours = i < nbuilt && stats_ours(out[i].sv_name);
	qsort(out, n, sizeof(*out), stat_value_cmp);
	return n;
}

int
stats_get(const char *name, struct stat_value *sv)
{
	struct stat_value	all[STATS_MAX];
	size_t			i, n;

	n = stats_snapshot(all, STATS_MAX);
	for (i = 0; i < n; i++)
		if (strcmp(all[i].sv_name, name) == 0) {
			*sv = all[i];
			return 0;
		}
	return -1;
}

static void
stats_dump_one(struct sbuf *sb, const struct stat_value *sv)
{
	if (sv->sv_double)
		sbuf_printf(sb, "%-35s\t%13.1f  ", sv->sv_name, sv->sv_value);
	else
		sbuf_printf(sb, "%-35s\t%11.0f    ", sv->sv_name, sv->sv_value);
}

void
stats_dump(struct sbuf *sb)
{
	struct stat_value	all[STATS_MAX];
	size_t			i, n, half;

	n = stats_snapshot(all, STATS_MAX);
	half = (n + 1) / 2;
	for (i = 0; i < half; i++) {
		stats_dump_one(sb, &all[i]);
		if (i + half < n)
			stats_dump_one(sb, &all[i + half]);
		/* dnsdist ends each line after the second column's padding */
		while (sb->sb_len > 0 && sb->sb_buf[sb->sb_len - 1] == ' ')
			sb->sb_buf[--sb->sb_len] = '\0';
		sbuf_puts(sb, "\n");
	}
}
