/*
 * Snapshots of the configuration for the packet path: see config.h.
 */
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "settings.h"

_Atomic(struct config *)	config_live;

static _Atomic uint64_t		generation;	/* the live one's */

static int
chain_copy(struct rule_chain *dst, const struct rule_chain *src)
{
	size_t	i;

	memset(dst, 0, sizeof(*dst));
	if (src->rc_count == 0)
		return 0;
	if ((dst->rc_rules = calloc(src->rc_count, sizeof(*dst->rc_rules))) ==
	    NULL)
		return -1;
	for (i = 0; i < src->rc_count; i++) {
		dst->rc_rules[i] = src->rc_rules[i];
		rule_ref(dst->rc_rules[i]);
	}
	dst->rc_count = src->rc_count;
	return 0;
}

static void
chain_free(struct rule_chain *rc)
{
	while (rc->rc_count > 0)
		rule_unref(rc->rc_rules[--rc->rc_count]);
	free(rc->rc_rules);
}

/* A pool as it is now: the arrays copied, the servers referenced. */
static struct pool *
pool_view(struct pool *pl)
{
	struct pool	*v;
	size_t		 i;

	if ((v = calloc(1, sizeof(*v))) == NULL)
		return NULL;
	v->pl_name = pl->pl_name;		/* pools live for ever */
	v->pl_policy = pl->pl_policy;
	v->pl_cache = pl->pl_cache;		/* so do caches */
	v->pl_ecs = pl->pl_ecs;
	/* Round-robin turns across snapshots. */
	v->pl_rrp = pl->pl_rrp != NULL ? pl->pl_rrp :
	    &pl->pl_rr;
	if (pl->pl_count > 0 && (v->pl_servers = calloc(pl->pl_count,
	    sizeof(*v->pl_servers))) == NULL)
		goto fail;
	for (i = 0; i < pl->pl_count; i++) {
		v->pl_servers[i] = pl->pl_servers[i];
		server_ref(v->pl_servers[i]);
		v->pl_count++;
	}
	if (pl->pl_ringlen > 0) {
		if ((v->pl_ring = calloc(pl->pl_ringlen,
		    sizeof(*v->pl_ring))) == NULL)
			goto fail;
		memcpy(v->pl_ring, pl->pl_ring,
		    pl->pl_ringlen * sizeof(*v->pl_ring));
		v->pl_ringlen = pl->pl_ringlen;
	}
	return v;
fail:
	while (v->pl_count > 0)
		server_unref(v->pl_servers[--v->pl_count]);
	free(v->pl_servers);
	free(v);
	return NULL;
}

static void
pool_view_free(struct pool *v)
{
	if (v == NULL)
		return;
	while (v->pl_count > 0)
		server_unref(v->pl_servers[--v->pl_count]);
	free(v->pl_servers);
	free(v->pl_ring);
	free(v);
}

static void
config_free(struct config *cf)
{
	size_t	i;

	chain_free(&cf->cf_query);
	chain_free(&cf->cf_response);
	chain_free(&cf->cf_cachehit);
	chain_free(&cf->cf_selfanswered);
	chain_free(&cf->cf_cacheinserted);
	for (i = 0; i < cf->cf_npools; i++)
		pool_view_free(cf->cf_pools[i]);
	free(cf->cf_pools);
	netmask_group_clear(&cf->cf_acl);
	netmask_group_clear(&cf->cf_ppacl);
	free(cf);
}

static void
config_reclaim(struct qsbr_node *n)
{
	config_free((struct config *)((char *)n -
	    offsetof(struct config, cf_q)));
}

static bool
chain_same(const struct rule_chain *a, const struct rule_chain *b)
{
	return a->rc_count == b->rc_count && (a->rc_count == 0 ||
	    memcmp(a->rc_rules, b->rc_rules, a->rc_count *
	    sizeof(*a->rc_rules)) == 0);
}

static bool
pool_same(const struct pool *a, const struct pool *b)
{
	return a->pl_name == b->pl_name && a->pl_policy == b->pl_policy &&
	    a->pl_cache == b->pl_cache && a->pl_ecs == b->pl_ecs &&
	    a->pl_count == b->pl_count && a->pl_ringlen == b->pl_ringlen &&
	    (a->pl_count == 0 || memcmp(a->pl_servers, b->pl_servers,
	    a->pl_count * sizeof(*a->pl_servers)) == 0) &&
	    (a->pl_ringlen == 0 || memcmp(a->pl_ring, b->pl_ring,
	    a->pl_ringlen * sizeof(*a->pl_ring)) == 0);
}

static bool
acl_same(const struct netmask_group *a, const struct netmask_group *b)
{
	const struct netmask	*x, *y;
	size_t			 i;

	if (a->ng_count != b->ng_count)
		return false;
	for (i = 0; i < a->ng_count; i++) {
		x = &a->ng_masks[i];
		y = &b->ng_masks[i];
		if (x->nm_family != y->nm_family || x->nm_bits != y->nm_bits ||
		    x->nm_negated != y->nm_negated ||
		    memcmp(x->nm_addr, y->nm_addr, sizeof(x->nm_addr)) != 0)
			return false;
	}
	return true;
}

/* Whether b would show the packet path nothing that a does not. */
static bool
config_same(const struct config *a, const struct config *b)
{
	size_t	i;

	if (!chain_same(&a->cf_query, &b->cf_query) ||
	    !chain_same(&a->cf_response, &b->cf_response) ||
	    !chain_same(&a->cf_cachehit, &b->cf_cachehit) ||
	    !chain_same(&a->cf_selfanswered, &b->cf_selfanswered) ||
	    !chain_same(&a->cf_cacheinserted, &b->cf_cacheinserted) ||
	    a->cf_npools != b->cf_npools || !acl_same(&a->cf_acl, &b->cf_acl) ||
	    !acl_same(&a->cf_ppacl, &b->cf_ppacl) ||
	    a->cf_ppapplyacl != b->cf_ppapplyacl ||
	    a->cf_ppmaxsize != b->cf_ppmaxsize ||
	    a->cf_blockfilter != b->cf_blockfilter ||
	    a->cf_servfailwhennoserver != b->cf_servfailwhennoserver ||
	    a->cf_staleentriesttl != b->cf_staleentriesttl ||
	    a->cf_ecsv4 != b->cf_ecsv4 || a->cf_ecsv6 != b->cf_ecsv6 ||
	    a->cf_ecsoverride != b->cf_ecsoverride ||
	    a->cf_tcprecvtimeout != b->cf_tcprecvtimeout ||
	    a->cf_tcpsendtimeout != b->cf_tcpsendtimeout ||
	    a->cf_maxtcpqueriesperconn != b->cf_maxtcpqueriesperconn ||
	    a->cf_maxtcpconnduration != b->cf_maxtcpconnduration ||
	    a->cf_maxtcpconnperclient != b->cf_maxtcpconnperclient ||
	    a->cf_truncatetc != b->cf_truncatetc ||
	    a->cf_dropemptyqueries != b->cf_dropemptyqueries ||
	    a->cf_fixupcase != b->cf_fixupcase ||
	    a->cf_querycount != b->cf_querycount ||
	    a->cf_tcpcachedperds != b->cf_tcpcachedperds ||
	    a->cf_tcpdsmaxidle != b->cf_tcpdsmaxidle ||
	    a->cf_tcpdscleanup != b->cf_tcpdscleanup ||
	    a->cf_dohcachedperds != b->cf_dohcachedperds ||
	    a->cf_dohdsmaxidle != b->cf_dohdsmaxidle ||
	    a->cf_dohdscleanup != b->cf_dohdscleanup ||
	    a->cf_tlssessmax != b->cf_tlssessmax ||
	    a->cf_tlssessvalid != b->cf_tlssessvalid ||
	    a->cf_tlssesscleanup != b->cf_tlssesscleanup ||
	    a->cf_udptimeout != b->cf_udptimeout ||
	    a->cf_failoverms != b->cf_failoverms ||
	    a->cf_randomsockets != b->cf_randomsockets)
		return false;
	for (i = 0; i < a->cf_npools; i++)
		if (!pool_same(a->cf_pools[i], b->cf_pools[i]))
			return false;
	return true;
}

int
config_publish(bool blockfilter)
{
	struct config	*cf, *old;
	size_t		 i;

	if ((cf = calloc(1, sizeof(*cf))) == NULL)
		return -1;
	netmask_group_init(&cf->cf_acl);
	netmask_group_init(&cf->cf_ppacl);
	if (chain_copy(&cf->cf_query, &rules_query) == -1 ||
	    chain_copy(&cf->cf_response, &rules_response) == -1 ||
	    chain_copy(&cf->cf_cachehit, &rules_cachehit) == -1 ||
	    chain_copy(&cf->cf_selfanswered, &rules_selfanswered) == -1 ||
	    chain_copy(&cf->cf_cacheinserted, &rules_cacheinserted) == -1 ||
	    netmask_group_copy(&cf->cf_acl, &settings.st_acl) == -1 ||
	    netmask_group_copy(&cf->cf_ppacl, &settings.st_ppacl) == -1)
		goto fail;
	cf->cf_ppexpect = cf->cf_ppacl.ng_count > 0;
	cf->cf_ppapplyacl = settings.st_ppapplyacl;
	cf->cf_ppmaxsize = settings.st_ppmaxsize;
	if (servers.sr_npools > 0 && (cf->cf_pools = calloc(servers.sr_npools,
	    sizeof(*cf->cf_pools))) == NULL)
		goto fail;
	for (i = 0; i < servers.sr_npools; i++) {
		if ((cf->cf_pools[i] = pool_view(servers.sr_pools[i])) ==
		    NULL)
			goto fail;
		cf->cf_npools++;
		if (servers.sr_pools[i] == servers.sr_default)
			cf->cf_default = cf->cf_pools[i];
	}
	cf->cf_blockfilter = blockfilter;
	cf->cf_servfailwhennoserver = settings.st_servfailwhennoserver;
	cf->cf_staleentriesttl = settings.st_staleentriesttl;
	cf->cf_ecsv4 = settings.st_ecsv4;
	cf->cf_ecsv6 = settings.st_ecsv6;
	cf->cf_ecsoverride = settings.st_ecsoverride;
	cf->cf_tcprecvtimeout = settings.st_tcprecvtimeout;
	cf->cf_tcpsendtimeout = settings.st_tcpsendtimeout;
	cf->cf_maxtcpqueriesperconn = settings.st_maxtcpqueriesperconn;
	cf->cf_maxtcpconnduration = settings.st_maxtcpconnduration;
	cf->cf_maxtcpconnperclient = settings.st_maxtcpconnperclient;
	cf->cf_truncatetc = settings.st_truncatetc;
	cf->cf_dropemptyqueries = settings.st_dropemptyqueries;
	cf->cf_fixupcase = settings.st_fixupcase;
	cf->cf_querycount = settings.st_querycount;
	cf->cf_tcpcachedperds = settings.st_tcpcachedperds;
	cf->cf_tcpdsmaxidle = settings.st_tcpdsmaxidle;
	cf->cf_tcpdscleanup = settings.st_tcpdscleanup;
	cf->cf_dohcachedperds = settings.st_dohcachedperds;
	cf->cf_dohdsmaxidle = settings.st_dohdsmaxidle;
	cf->cf_dohdscleanup = settings.st_dohdscleanup;
	cf->cf_tlssessmax = settings.st_tlssessmax;
	cf->cf_tlssessvalid = settings.st_tlssessvalid;
	cf->cf_tlssesscleanup = settings.st_tlssesscleanup;
	cf->cf_udptimeout = settings.st_udptimeout;
	cf->cf_failoverms = settings.st_failoverms;
	cf->cf_randomsockets = settings.st_randomsockets;
	/* Only this thread publishes: the live one is stable here. */
	old = atomic_load_explicit(&config_live, memory_order_relaxed);
	if (old != NULL && config_same(old, cf)) {
		config_free(cf);
		return 0;
	}
	cf->cf_generation = atomic_load(&generation) + 1;
	old = atomic_exchange_explicit(&config_live, cf, memory_order_acq_rel);
	atomic_store(&generation, cf->cf_generation);
	if (old != NULL)
		qsbr_retire(&old->cf_q, config_reclaim);
	return 1;
fail:
	config_free(cf);
	return -1;
}

void
config_unpublish(void)
{
	struct config	*old;

	old = atomic_exchange_explicit(&config_live, NULL,
	    memory_order_acq_rel);
	if (old != NULL)
		qsbr_retire(&old->cf_q, config_reclaim);
}

uint64_t
config_generation(void)
{
	return atomic_load(&generation);
}

struct pool *
config_pool(const struct config *cf, const char *name)
{
	return pool_find(cf->cf_pools, cf->cf_npools, cf->cf_default, name);
}
