/*
 * The query and response pipelines, one for every transport: the ACL is
 * the listener's, then dynamic blocks, blockFilter, the query rules, the
 * pool's cache and the policy for a query; the response rules for an
 * answer; the rings for both.  The I/O files (frontend.c for UDP, tcp.c)
 * only move packets; what a query runs on is the snapshot in its dq.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <stdbool.h>
#include <string.h>
#include <time.h>

#include "addr.h"
#include "cache.h"
#include "config.h"
#include "dynblock.h"
#include "edns.h"
#include "dnsdist.h"
#include "lua.h"
#include "ring.h"
#include "rule.h"
#include "stats.h"

int
pipeline_proxy(const struct config *cf, const uint8_t *buf, size_t len,
    const struct sockaddr *from, struct proxied *px, size_t *used)
{
	struct proxyproto	pp;
	char			text[ADDR_MAXTEXT];
	int			r;

	px->px_tlvs = NULL;
	r = proxyproto_parse(buf, len, cf->cf_ppmaxsize, &pp, used);
	if (r == PP_MORE)
		return r;
	if (r != PP_OK) {
		stats_inc(STAT_PROXY_PROTOCOL_INVALID);
		log_debug("pipeline_proxy: %s PROXY protocol header from %s",
		    r == PP_TOOBIG ? "oversized" : "invalid",
		    addr_to_text(from, text, sizeof(text)));
		return r;
	}
	px->px_local = pp.pp_local;
	if (pp.pp_local)
		return PP_OK;
	if (cf->cf_ppapplyacl && netmask_group_match(&cf->cf_acl,
	    (struct sockaddr *)&pp.pp_src) != 1) {
		stats_inc(STAT_ACL_DROPS);
		return PP_INVALID;
	}
	px->px_src = pp.pp_src;
	px->px_dst = pp.pp_dst;
	if (pp.pp_tlvlen > 0 &&
	    (px->px_tlvs = pp_tlvs_from(pp.pp_tlv, pp.pp_tlvlen)) == NULL)
		return PP_INVALID;
	return PP_OK;
}

/*
 * Count an answer made here from a rule or a dynamic block, as dnsdist
 * 1.8 does: self-answered and rule-<rcode>, and frontend-<rcode> as for
 * every answer sent; not "responses" nor "servfail-responses", which
 * count what backends and the cache answer.  False when its rcode has no
 * rule-<rcode> counter.
 */
static bool
count_self_answered(const struct dnsq *dq)
{
	int	rcode;

	rcode = dnspacket_rcode(dq->dq_pkt);
	stats_inc(STAT_SELF_ANSWERED);
	stats_rcode(rcode);
	if (rcode == DNS_RCODE_NXDOMAIN)
		stats_inc(STAT_RULE_NXDOMAIN);
	else if (rcode == DNS_RCODE_REFUSED)
		stats_inc(STAT_RULE_REFUSED);
	else if (rcode == DNS_RCODE_SERVFAIL)
		stats_inc(STAT_RULE_SERVFAIL);
	else
		return false;
	return true;
}

/* Count what the query rules decided. */
void
pipeline_count_verdict(const struct dnsq *dq, int verdict)
{
	if (verdict == VERDICT_DROP)
		stats_inc(STAT_RULE_DROP);
	else if (verdict == VERDICT_ANSWER && !count_self_answered(dq) &&
	    dnspacket_tc(dq->dq_pkt))
		stats_inc(STAT_RULE_TRUNCATED);
}

/* See dnsdist.h. */
void
pipeline_count_cached(int rcode)
{
	stats_inc(STAT_CACHE_HITS);
	stats_inc(STAT_RESPONSES);
	stats_rcode(rcode);
}

/*
 * Whether dq's answer is kept as a TCP one: not a DoH query with its own
 * OPT record, which shares UDP's entries (dq_udpcache).
 */
#define CACHE_TCP(dq)	((dq)->dq_tcp && (dq)->dq_udpcache == 0)

/*
 * The cache's answer (n bytes) is in dq, with the RD and CD bits of the
 * query as the rules left them (as dnsdist's cache gives them): on to the
 * cache-hit rules.
 */
static bool
cache_answer(struct dnsq *dq, size_t n, int *verdict)
{
	dq->dq_len = n;
	*verdict = VERDICT_CACHED;
	dq->dq_response = true;
	if (dq->dq_cf->cf_cachehit.rc_count > 0 &&
	    rule_process(&dq->dq_cf->cf_cachehit, dq) == VERDICT_DROP &&
	    !dq->dq_suspend) {
		*verdict = VERDICT_DROP;
		return true;
	}
	/* dr:suspend(): held, counted when it is sent. */
	if (dq->dq_suspend) {
		*verdict = VERDICT_ASYNC;
		return true;
	}
	pipeline_count_cached(dnspacket_rcode(dq->dq_pkt));
	return true;
}

/*
 * The answer to dq from its pool's cache, an expired one too when stale
 * (no server to ask, as dnsdist looks once the server is chosen): true
 * when dq now holds it, with *verdict VERDICT_CACHED, or VERDICT_DROP
 * when the cache-hit response rules dropped it.
 */
static bool
cache_hit(struct dnsq *dq, bool stale, int *verdict)
{
	time_t		now = (time_t)(dq->dq_now / 1000000000ULL);
	size_t		n;
	uint64_t	key;
	bool		tcptoo;

	if (dq->dq_missed != NULL && dq->dq_missed == dq->dq_cache) {
		/*
		 * The UDP path's first look (a peek) missed, and nothing
		 * changed since; the key is made.
		 */
		if (!stale) {
			pcache_miss(dq->dq_cache);
			stats_inc(STAT_CACHE_MISSES);
			return false;
		}
	} else if (!pcache_key(dq->dq_cache, dq->dq_pkt, dq->dq_len,
	    dq->dq_q, CACHE_TCP(dq), &dq->dq_ckey)) {
		dq->dq_cache = NULL;	/* not cacheable */
		return false;
	}
	/*
	 * As dnsdist, a DoH query that shares UDP's entries takes one that
	 * came over TCP too (after a truncated answer over UDP): a second
	 * look, which alone counts the miss.
	 */
	tcptoo = dq->dq_http != NULL && !CACHE_TCP(dq);
	n = pcache_get(dq->dq_cache, dq->dq_ckey, dq->dq_q, CACHE_TCP(dq),
	    dq->dq_pkt, dq->dq_size, now, stale ? PCACHE_STALE : tcptoo ?
	    PCACHE_PEEK : PCACHE_FRESH, dq->dq_cf->cf_staleentriesttl, NULL);
	if (n == 0 && tcptoo && pcache_key(dq->dq_cache, dq->dq_pkt,
	    dq->dq_len, dq->dq_q, true, &key))
		n = pcache_get(dq->dq_cache, key, dq->dq_q, true, dq->dq_pkt,
		    dq->dq_size, now, stale ? PCACHE_STALE : PCACHE_FRESH,
		    dq->dq_cf->cf_staleentriesttl, NULL);
	if (n == 0) {
		stats_inc(STAT_CACHE_MISSES);
		return false;
	}
	return cache_answer(dq, n, verdict);
}

/*
 * dnsdist's zero scope, before the subnet of the pool or server goes into
 * a query that has none of its own: an answer that a backend said was for
 * every subnet (scope 0) is kept under the key without it.  True when dq
 * now holds one, as cache_hit(); else the query carries that key along.
 */
static bool
zero_scope(struct dnsq *dq, struct pcache *pc, int *verdict)
{
	size_t	n;

	if (dq->dq_ecsadded || edns_ecs_scope(dq->dq_pkt, dq->dq_len,
	    dq->dq_q) != -1 || !pcache_key(pc, dq->dq_pkt, dq->dq_len,
	    dq->dq_q, CACHE_TCP(dq), &dq->dq_ckey0))
		return false;
	n = pcache_get(pc, dq->dq_ckey0, dq->dq_q, CACHE_TCP(dq), dq->dq_pkt,
	    dq->dq_size, (time_t)(dq->dq_now / 1000000000ULL), PCACHE_PEEK, 0,
	    NULL);
	if (n == 0) {
		dq->dq_zeroscope = true;
		return false;
	}
	dq->dq_cache = pc;
	return cache_answer(dq, n, verdict);
}

/* What a dynamic block makes of dq: VERDICT_NONE to go on. */
static int
blocked(struct dnsq *dq)
{
	int	action, v = VERDICT_ANSWER;

	action = dynblock_check(dq->dq_remote, dq->dq_q->q_name,
	    dq->dq_q->q_namelen, (time_t)(dq->dq_now / 1000000000ULL));
	switch (action) {
	case DYN_DROP:
		v = VERDICT_DROP;
		break;
	/* As dnsdist: header edits, the query's records stay. */
	case DYN_NXDOMAIN:
		dnsq_turn_response(dq, DNS_RCODE_NXDOMAIN);
		break;
	case DYN_REFUSED:
		dnsq_turn_response(dq, DNS_RCODE_REFUSED);
		break;
	case DYN_SERVFAIL:
		dnsq_turn_response(dq, DNS_RCODE_SERVFAIL);
		break;
	case DYN_TRUNCATE:
		/* Over TCP the client has done what was asked. */
		if (dq->dq_tcp)
			return VERDICT_NONE;
		dnsq_answer_truncated(dq);
		break;
	case DYN_NORECURSE:
		dnspacket_set_rd(dq->dq_pkt, false);
		stats_inc(STAT_DYN_BLOCKED);
		return VERDICT_NONE;
	default:
		return VERDICT_NONE;
	}
	stats_inc(STAT_DYN_BLOCKED);
	if (v == VERDICT_ANSWER)
		(void)count_self_answered(dq);
	return v;
}

/*
 * Put the client's subnet (or SetECSAction's) in the query, as rules and
 * hooks say.  A message that does not parse, or has no room, goes as it
 * came.
 */
static void
client_subnet(struct dnsq *dq)
{
	struct netmask	nm;
	bool		override, hadopt;
	int		r;

	if (dq->dq_ecsadded || dq->dq_noecs)
		return;
	if (dq->dq_ecsnm.nm_family != 0)
		nm = dq->dq_ecsnm;
	else
		edns_ecs_source(dq->dq_remote, dq->dq_ecsv4 >= 0 ?
		    dq->dq_ecsv4 : dq->dq_cf->cf_ecsv4, dq->dq_ecsv6 >= 0 ?
		    dq->dq_ecsv6 : dq->dq_cf->cf_ecsv6, &nm);
	override = dq->dq_ecsoverride >= 0 ? dq->dq_ecsoverride :
	    dq->dq_cf->cf_ecsoverride;
	/* A DoH query's OPT record offers 4096 bytes, ECS or not. */
	if (dq->dq_http != NULL && edns_add_opt(dq->dq_pkt, &dq->dq_len,
	    dq->dq_size, dq->dq_q, EDNS_DOH_PAYLOAD) == 1)
		dq->dq_optadded = true;
	if ((r = edns_add_ecs(dq->dq_pkt, &dq->dq_len, dq->dq_size, dq->dq_q,
	    &nm, override, &hadopt)) > 0) {
		dq->dq_ecsadded = true;
		dq->dq_ecsclient = r == 2;
		if (!hadopt)
			dq->dq_optadded = true;
	}
}

/* See dnsdist.h. */
struct server *
pipeline_query(struct dnsq *dq, int *verdict)
{
	const struct config	*cf = dq->dq_cf;
	int			 v = VERDICT_NONE;

	/*
	 * A first look at the cache (UDP) holds while nothing here may change
	 * the query; blocks and rules may have appeared since.
	 */
	if (dq->dq_missed != NULL && (cf->cf_query.rc_count > 0 ||
	    cf->cf_blockfilter ||
	    atomic_load_explicit(&dynblock_count, memory_order_relaxed) > 0))
		dq->dq_missed = NULL;
	/* Resumed after dq:suspend(): on from where the rules ended. */
	if (dq->dq_resumed)
		return pipeline_route(dq, verdict);
	if (cf->cf_querycount)
		dlua_query_count(dq);
	if (atomic_load_explicit(&dynblock_count, memory_order_relaxed) > 0 &&
	    (v = blocked(dq)) != VERDICT_NONE) {
		*verdict = v;
		return NULL;
	}
	/* The seed's hook: drop what blockFilter returns true for. */
	if (cf->cf_blockfilter && dlua_blockfilter(dq))
		v = VERDICT_DROP;
	else if (cf->cf_query.rc_count > 0)
		v = rule_process(&cf->cf_query, dq);
	/* dq:suspend(): held as it was then, whatever the rules did after. */
	if (dq->dq_suspend) {
		*verdict = VERDICT_ASYNC;
		return NULL;
	}
	if (v == VERDICT_DROP || v == VERDICT_ANSWER || v == VERDICT_HTTP) {
		pipeline_count_verdict(dq, v);
		*verdict = v;
		return NULL;
	}
	return pipeline_route(dq, verdict);
}

/* See dnsdist.h. */
struct server *
pipeline_route(struct dnsq *dq, int *verdict)
{
	const struct config	*cf = dq->dq_cf;
	struct server		*ds = NULL;
	struct pool		*pl;

	if ((pl = config_pool(cf, dq->dq_pool)) != NULL) {
		dq->dq_poolp = pl;
		ds = pool_select(pl, dq->dq_q, dq->dq_now, dq->dq_rnd);
		/*
		 * The pool's ECS, or the chosen server's, goes in first, so
		 * that the cache key has it: answers are kept per subnet.
		 * With no server up and no ECS from the pool, an answer kept
		 * with one is not found.
		 */
		if (pl->pl_ecs || (ds != NULL && ds->ds_useecs)) {
			dq->dq_missed = NULL;
			if (pl->pl_cache != NULL && !dq->dq_skipcache &&
			    (ds == NULL || !ds->ds_disablezeroscope) &&
			    pcache_config(pl->pl_cache)->pc_parseecs &&
			    zero_scope(dq, pl->pl_cache, verdict))
				return NULL;
			client_subnet(dq);
		}
		if (pl->pl_cache != NULL && !dq->dq_skipcache) {
			dq->dq_cache = pl->pl_cache;
			if (cache_hit(dq, ds == NULL, verdict))
				return NULL;
		}
	}
	if (ds != NULL) {
		/* As dnsdist: after the cache, which keeps answers without. */
		if (ds->ds_xpf != 0)
			(void)dnspacket_add_xpf(dq->dq_pkt, &dq->dq_len,
			    dq->dq_size, dq->dq_q->q_end, ds->ds_xpf,
			    dq->dq_tcp, dq->dq_remote, dq->dq_local);
		return ds;
	}
	stats_inc(STAT_NO_POLICY);
	*verdict = VERDICT_DROP;
	if (cf->cf_servfailwhennoserver) {
		/* As dnsdist 1.8: a response, but none from a backend. */
		dnsq_turn_response(dq, DNS_RCODE_SERVFAIL);
		stats_inc(STAT_RESPONSES);
		stats_rcode(DNS_RCODE_SERVFAIL);
		*verdict = VERDICT_ANSWER;
	}
	return NULL;
}

/* See dnsdist.h. */
struct server *
pipeline_resume(struct dnsq *dq, int *verdict)
{
	*verdict = VERDICT_CACHED;
	if (dq->dq_response)
		/* A cache hit: its rules have run. */
		pipeline_count_cached(dnspacket_rcode(dq->dq_pkt));
	else if (dnspacket_qr(dq->dq_pkt)) {
		/* setRCode(), or setContent() with an answer. */
		*verdict = VERDICT_ANSWER;
		pipeline_count_verdict(dq, *verdict);
	} else
		return pipeline_query(dq, verdict);
	return NULL;
}

void
pipeline_ring_query(const struct sockaddr *from, const struct dnsquestion *q,
    size_t len, const struct timespec *now)
{
	struct ring_rec	r;

	if (!ring_recording || ring_queries == NULL)
		return;
	memset(&r, 0, sizeof(r));
	r.rr_sec = now->tv_sec;
	r.rr_usec = (uint32_t)(now->tv_nsec / 1000);
	r.rr_client = from;
	r.rr_name = q->q_name;
	r.rr_namelen = q->q_namelen;
	r.rr_qtype = q->q_type;
	r.rr_size = len;
	ring_push(ring_queries, &r);
}

void
pipeline_ring_response(const struct sockaddr *to, const struct dnsquestion *q,
    const uint8_t *pkt, size_t len, uint64_t usec, const struct server *ds,
    const struct timespec *now)
{
	struct ring_rec	r;

	if (!ring_recording || ring_responses == NULL || len < DNS_HDRLEN)
		return;
	memset(&r, 0, sizeof(r));
	r.rr_sec = now->tv_sec;
	r.rr_usec = (uint32_t)(now->tv_nsec / 1000);
	r.rr_client = to;
	r.rr_server = ds != NULL ? (const struct sockaddr *)&ds->ds_addr : NULL;
	r.rr_name = q->q_name;
	r.rr_namelen = q->q_namelen;
	r.rr_qtype = q->q_type;
	r.rr_size = len;
	r.rr_rcode = dnspacket_rcode(pkt);
	r.rr_tc = dnspacket_tc(pkt);
	r.rr_latency = usec;
	ring_push(ring_responses, &r);
}

/*
 * Whether the answer pipeline_query() left in dq goes to the client:
 * self-generated answers pass the self-answered response chain first;
 * cache hits have passed theirs.
 */
bool
pipeline_answer_ok(struct dnsq *dq, int verdict)
{
	if (verdict == VERDICT_CACHED)
		return true;
	if (verdict != VERDICT_ANSWER)
		return false;
	dnsq_finish_answer(dq);
	dq->dq_response = true;
	dq->dq_hold = NULL;	/* not in this chain */
	return dq->dq_cf->cf_selfanswered.rc_count == 0 ||
	    rule_process(&dq->dq_cf->cf_selfanswered, dq) != VERDICT_DROP;
}

bool
pipeline_response(struct dnsq *dq, struct pcache *cache, uint64_t key)
{
	const struct config	*cf = dq->dq_cf;

	dq->dq_response = true;
	/* Resumed after dr:suspend(): its rules are done. */
	if (cf->cf_response.rc_count > 0 && !dq->dq_resumed &&
	    (rule_process(&cf->cf_response, dq) == VERDICT_DROP ||
	    dq->dq_restarting || dq->dq_suspend))
		return false;
	dq->dq_hold = NULL;	/* not in the cache-inserted chain */
	/*
	 * As dnsdist: the cache keeps the answer as the response rules left
	 * it; what the cache-inserted rules and the TTL cap do after is for
	 * this client only.
	 */
	if (cache != NULL && !dq->dq_skipcache &&
	    (dq->dq_udpcache == 0 || dq->dq_len <= dq->dq_udpcache)) {
		pcache_put(cache, key, dq->dq_q, CACHE_TCP(dq), dq->dq_pkt,
		    dq->dq_len, (time_t)(dq->dq_now / 1000000000ULL),
		    dq->dq_tempfailttl);
		if (cf->cf_cacheinserted.rc_count > 0 &&
		    rule_process(&cf->cf_cacheinserted, dq) == VERDICT_DROP)
			return false;
	}
	if (dq->dq_ttlcap > 0)
		dnsq_cap_ttls(dq, dq->dq_ttlcap);
	return true;
}

/* Whether an answer needs pipeline_response() at all. */
bool
pipeline_response_needed(struct pcache *cache, uint32_t ttlcap)
{
	return cache != NULL || ttlcap > 0 ||
	    config_now()->cf_response.rc_count > 0;
}
