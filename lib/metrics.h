/*
 * Statistics for the outside world: one snapshot of the counters, the
 * servers, frontends, pools and rules, rendered as carbon lines, JSON
 * (dnsdist's /jsonstat and /api/v1 layouts) and the Prometheus text
 * format.  Every output is made from the same snapshot by the same names,
 * so that they agree with each other and with dumpStats().
 */
#ifndef METRICS_H
#define METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "addr.h"
#include "sbuf.h"
#include "stats.h"

struct metrics_server {
	int		 ms_num;
	char		*ms_name;
	char		 ms_uuid[37];
	char		 ms_addr[ADDR_MAXTEXT];
	const char	*ms_state;	/* "up", "down", "UP", "DOWN" */
	bool		 ms_up;
	double		 ms_qps;
	double		 ms_qpslimit;
	double		 ms_latency;	/* usec, moving average */
	double		 ms_tcplatency;	/* ... over TCP */
	uint64_t	 ms_noncompliant;
	uint64_t	 ms_tcpdiedsending;
	uint64_t	 ms_tcpgaveup;
	uint64_t	 ms_tcpreadtimeouts;
	uint64_t	 ms_tcpwritetimeouts;
	uint64_t	 ms_tcpconnecttimeouts;
	int		 ms_tcpcurrent;
	double		 ms_tcpavgqueries;
	double		 ms_tcpavgduration;	/* ms */
	double		 ms_droprate;
	int		 ms_order;
	int		 ms_weight;
	int		 ms_outstanding;
	uint64_t	 ms_queries;
	uint64_t	 ms_responses;
	uint64_t	 ms_drops;
	uint64_t	 ms_senderrors;
	uint64_t	 ms_tcpqueries;
	uint64_t	 ms_tcpdied;
	uint64_t	 ms_tcpreused;
	uint64_t	 ms_tcpnew;
	uint64_t	 ms_tlsresumed;
	bool		 ms_tls;
	char		**ms_pools;
	size_t		 ms_npools;
};

/*
 * A DNS over TLS frontend's counters (dnsdist's tlsnewsessions,
 * tlsqueries by version, tlshandshakefailures by error...).
 */
enum tls_counter {
	TLSC_NEWSESSIONS, TLSC_RESUMPTIONS, TLSC_Q10, TLSC_Q11, TLSC_Q12,
	TLSC_Q13, TLSC_QUNKNOWN, TLSC_DHKEYTOOSMALL, TLSC_INAPPROPRIATEFALLBACK,
	TLSC_NOSHAREDCIPHER, TLSC_UNKNOWNCIPHER, TLSC_UNKNOWNKEYEXCHANGE,
	TLSC_UNKNOWNPROTOCOL, TLSC_UNSUPPORTEDEC, TLSC_UNSUPPORTEDPROTOCOL,
	TLSC_HANDSHAKEFAILURES,		/* all of them, and the others */
	TLSC_COUNT
};

struct metrics_frontend {
	char		 mf_addr[ADDR_MAXTEXT];
	const char	*mf_proto;	/* "UDP", "TCP", "DoH", ... */
	uint64_t	 mf_queries;
	uint64_t	 mf_responses;
	uint64_t	 mf_noncompliant;
	bool		 mf_tls;
	uint64_t	 mf_tlsc[TLSC_COUNT];
};

/* A DoH frontend's counters (struct doh_stats), copied. */
enum { MD_CONNECTS, MD_GET, MD_POST, MD_HTTP1, MD_HTTP2, MD_BAD,
	MD_ERRORS, MD_REDIRECTS, MD_VALID, MD_N };
struct metrics_doh {
	char		 md_addr[ADDR_MAXTEXT];
	uint64_t	 md_c[MD_N];
	uint64_t	 md_codes[2][6];	/* HTTP/1, /2 by enum doh_code */
};

/* A pool's cache figures, by their carbon names (cache-size, ...). */
#define METRICS_NCACHE	9
extern const char *const metrics_cache_names[METRICS_NCACHE];

struct metrics_pool {
	char		*mp_name;	/* "" is the default pool */
	size_t		 mp_servers;
	size_t		 mp_up;
	const char	*mp_policy;
	bool		 mp_hascache;
	uint64_t	 mp_cache[METRICS_NCACHE];	/* metrics_cache_names */
	uint64_t	 mp_cleanups;
};

struct metrics_rule {
	char		*mr_name;
	char		 mr_uuid[37];
	uint64_t	 mr_order;
	uint64_t	 mr_matches;
	char		*mr_rule;
	char		*mr_action;
};

enum metrics_chain_id {
	METRICS_RULES,
	METRICS_RESPONSE_RULES,
	METRICS_CACHEHIT_RULES,
	METRICS_SELFANSWERED_RULES,
	METRICS_NCHAINS
};

struct metrics_chain {
	struct metrics_rule	*mc_rules;
	size_t			 mc_count;
};

enum metrics_kind { METRICS_STRING, METRICS_NUMBER, METRICS_BOOL };

struct metrics_config {
	const char		*mk_name;
	enum metrics_kind	 mk_kind;
	char			*mk_text;	/* METRICS_STRING */
	double			 mk_value;	/* NUMBER and BOOL */
};

#define METRICS_NCONFIG	16

struct metrics {
	struct stat_value	 mx_stats[STATS_MAX];
	size_t			 mx_nstats;
	struct metrics_server	*mx_servers;
	size_t			 mx_nservers;
	struct metrics_frontend	*mx_frontends;
	size_t			 mx_nfrontends;
	struct metrics_doh	*mx_dohs;
	size_t			 mx_ndohs;
	struct metrics_pool	*mx_pools;
	size_t			 mx_npools;
	struct metrics_chain	 mx_chains[METRICS_NCHAINS];
	char			*mx_acl;	/* "127.0.0.0/8, ::1/128" */
	char			**mx_aclv;	/* the same, one by one */
	char			*mx_local;	/* the listeners, likewise */
	size_t			 mx_nacl;
	struct metrics_config	 mx_config[METRICS_NCONFIG];
	size_t			 mx_nconfig;
	bool			 mx_failed;	/* an allocation failed */
};

/*
 * A snapshot of the statistics, the servers, pools, rules and settings.
 * The caller holds the configuration lock (read side) or is the thread
 * that changes the configuration.  Counters are read with relaxed loads.
 * Returns an object for metrics_free(), or NULL when out of memory.
 */
struct metrics	*metrics_snapshot(void);
void		 metrics_free(struct metrics *);
/* The daemon adds its listeners.  0, or -1 when out of memory. */
int		 metrics_add_frontend(struct metrics *, const char *addr,
		    const char *proto, uint64_t queries, uint64_t responses);
/* Add a DoH frontend's counters, read now.  0 or -1. */
struct doh_stats;
int		 metrics_add_doh(struct metrics *, const char *addr,
		    struct doh_stats *);
/* The last added's queries that were not DNS queries. */
void		 metrics_frontend_noncompliant(struct metrics *, uint64_t);
/* ... and a TLS one's counters (TLSC_COUNT of them) to the last added. */
void		 metrics_frontend_tls(struct metrics *, const uint64_t *);

/* Carbon lines "prefix.name value when\n"; prefix is ns.host.instance. */
void		 metrics_carbon(struct sbuf *, const struct metrics *,
		    const char *prefix, time_t when);
/* The Prometheus text format (version 0.0.4) of /metrics. */
void		 metrics_prometheus(struct sbuf *, const struct metrics *);
/* /jsonstat?command=stats: one object, statistic names as keys. */
void		 metrics_json_stats(struct sbuf *, const struct metrics *);
/* /api/v1/servers/localhost: servers, frontends, pools, rules, ACL. */
void		 metrics_json_localhost(struct sbuf *, const struct metrics *);
/* /api/v1/servers/localhost/statistics: a list of StatisticItem. */
void		 metrics_json_statistics(struct sbuf *, const struct metrics *);
/* /api/v1/servers/localhost/config: a list of ConfigSetting. */
void		 metrics_json_config(struct sbuf *, const struct metrics *);
/* /api/v1/servers/localhost/config/allow-from. */
void		 metrics_json_allowfrom(struct sbuf *, const struct metrics *);
/* /api/v1/servers/localhost/pool?name=: 0, or -1 when there is none. */
int		 metrics_json_pool(struct sbuf *, const struct metrics *,
		    const char *name);

/*
 * A JSON string with its quotes.  Quotes and backslashes are escaped,
 * control characters and every byte from 0x80 on become \u00XX, so the
 * output is ASCII and valid JSON whatever the bytes.
 */
void		 metrics_json_string(struct sbuf *, const char *);
/* /jsonstat?command=dynblocklist: the dynamic blocks in force. */
void		 metrics_json_dynblocks(struct sbuf *);
struct ring_top;
/*
 * /jsonstat?command=topclients and topqueries (ours): the first n keys of
 * a sorted ring_top(), as {"total": T, "entries": [{KEY: key, "queries":
 * count, "percentage": p}, ...], "rest": {"queries": r, "percentage":
 * p}}, KEY being keyname.
 */
void		 metrics_json_top(struct sbuf *, const struct ring_top *,
		    size_t n, const char *keyname);
/*
 * A Prometheus label value without its quotes: backslash, double quote
 * and newline escaped; other control characters and bytes from 0x80 on,
 * which the format cannot carry safely, become '_'.
 */
void		 metrics_prom_label(struct sbuf *, const char *);
/*
 * A component of a carbon path: characters other than letters, digits,
 * '-', '_' and ':' become '_' (dots too, unless keepdots).
 */
void		 metrics_carbon_name(struct sbuf *, const char *, bool keepdots);

#endif /* METRICS_H */
