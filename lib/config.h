/*
 * The configuration as packet threads see it: an immutable snapshot of
 * the rule chains, the pools and the settings the query path reads, made
 * by the main thread from what the configuration, the console and
 * maintenance() built (the draft: rules_query and friends, the server
 * registry, settings), and published through one atomic pointer.
 *
 * A packet thread loads the current snapshot when a query starts and may
 * use it, and every rule, action, pool and server it reaches, until its
 * next quiescent point (lib/qsbr.h); a snapshot replaced by a newer one
 * is freed once no reader can hold it.  Threads that are not QSBR readers
 * must not use snapshots.  State that outlives configurations (server
 * health and counters, caches, rule match counts, rate limiters) is in
 * the shared objects that snapshots point to.
 */
#ifndef CONFIG_H
#define CONFIG_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "netmask.h"
#include "policy.h"
#include "qsbr.h"
#include "rule.h"

struct config {
	struct qsbr_node	 cf_q;
	uint64_t		 cf_generation;	/* 1 for the first */
	/* Copies of the chains: the same rules, with a reference each. */
	struct rule_chain	 cf_query;
	struct rule_chain	 cf_response;
	struct rule_chain	 cf_cachehit;
	struct rule_chain	 cf_selfanswered;
	struct rule_chain	 cf_cacheinserted;
	/* Pools as they were: their servers, with a reference each. */
	struct pool		**cf_pools;
	size_t			  cf_npools;
	struct pool		 *cf_default;	/* NULL: no pool "" */
	struct netmask_group	  cf_acl;
	/* The PROXY protocol: headers expected from cf_ppacl (when set). */
	bool			  cf_ppexpect;
	bool			  cf_ppapplyacl;
	struct netmask_group	  cf_ppacl;
	size_t			  cf_ppmaxsize;
	bool			  cf_blockfilter;	/* blockFilter defined */
	/* Settings the query path reads. */
	bool			  cf_servfailwhennoserver;
	uint32_t		  cf_staleentriesttl;
	int			  cf_ecsv4;
	int			  cf_ecsv6;
	bool			  cf_ecsoverride;
	/* TCP clients' limits, in seconds and counts (0: none). */
	int			  cf_tcprecvtimeout;
	int			  cf_tcpsendtimeout;
	int			  cf_maxtcpqueriesperconn;
	int			  cf_maxtcpconnduration;
	int			  cf_maxtcpconnperclient;
	bool			  cf_truncatetc;	/* truncateTC() */
	bool			  cf_dropemptyqueries;
	bool			  cf_fixupcase;		/* fixupCase() */
	bool			  cf_querycount;	/* setQueryCount() */
	/* Idle TCP connections to backends: how many, how long (s). */
	int			  cf_tcpcachedperds;
	int			  cf_tcpdsmaxidle;
	int			  cf_tcpdscleanup;
	int			  cf_dohcachedperds;	/* the same, DoH */
	int			  cf_dohdsmaxidle;
	int			  cf_dohdscleanup;
	/* TLS sessions to resume, per backend: how many, how long (s). */
	int			  cf_tlssessmax;
	int			  cf_tlssessvalid;
	int			  cf_tlssesscleanup;
	/* The UDP loops': setUDPTimeout, setUDPFailoverTimeout (ms). */
	int			  cf_udptimeout;
	int			  cf_failoverms;
	bool			  cf_randomsockets;
};

/* The current snapshot; NULL before the first config_publish(). */
extern _Atomic(struct config *)	config_live;

static inline const struct config *
config_now(void)
{
	return atomic_load_explicit(&config_live, memory_order_acquire);
}

/*
 * Main thread: make a snapshot of the draft and publish it unless it is
 * the same as the live one; the one it replaces is retired.  1 when a new
 * one is live, 0 when nothing changed, -1 on ENOMEM (the old one stays).
 */
int		 config_publish(bool blockfilter);
/* Retire the live snapshot at shutdown (reclaimed with the rest). */
void		 config_unpublish(void);
/* The generation of the last snapshot published; any thread. */
uint64_t	 config_generation(void);
/* The snapshot's pool of that name ("" the default), or NULL. */
struct pool	*config_pool(const struct config *, const char *name);

#endif /* CONFIG_H */
