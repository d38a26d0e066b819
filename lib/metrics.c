/*
 * The snapshot and its renderings: carbon, JSON and Prometheus.
 */
#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cache.h"
#include "doh.h"
#include "dynblock.h"
#include "inflight.h"
#include "metrics.h"
#include "netmask.h"
#include "policy.h"
#include "ring.h"
#include "rule.h"
#include "server.h"
#include "settings.h"

const char *const metrics_cache_names[METRICS_NCACHE] = {
	"cache-size", "cache-entries", "cache-hits", "cache-misses",
	"cache-deferred-inserts", "cache-deferred-lookups",
	"cache-lookup-collisions", "cache-insert-collisions",
	"cache-ttl-too-shorts"
};
static const char *const cache_json[METRICS_NCACHE] = {
	"cacheSize", "cacheEntries", "cacheHits", "cacheMisses",
	"cacheDeferredInserts", "cacheDeferredLookups",
	"cacheLookupCollisions", "cacheInsertCollisions", "cacheTTLTooShorts"
};
static const char *const cache_help[METRICS_NCACHE] = {
	"Maximum number of entries in the pool's cache",
	"Entries in the pool's cache",
	"Answers taken from the pool's cache",
	"Lookups in the pool's cache that found nothing",
	"Answers not kept because the cache shard was busy",
	"Lookups given up because the cache shard was busy",
	"Lookups that found another question under the same key",
	"Answers not kept because another question had the key",
	"Answers not kept because their TTL was below minTTL"
};
/* Prometheus descriptions and types of the global statistics. */
static const struct {
	const char	*name;
	const char	*type;		/* NULL: counter, or gauge if computed */
	const char	*help;
} stat_help[] = {
	{ "acl-drops", NULL, "Packets dropped by the ACL" },
	{ "backend-discovery-failures", NULL, "Backend discoveries (autoUpgrade) that found no usable upgrade" },
	{ "cache-hits", NULL, "Answers taken from a packet cache" },
	{ "cache-misses", NULL, "Lookups that found no answer in a packet cache" },
	{ "cpu-sys-msec", "counter", "Milliseconds of CPU time in the system state" },
	{ "cpu-user-msec", "counter", "Milliseconds of CPU time in the user state" },
	{ "downstream-reroutes", NULL, "Queries sent again to another backend when theirs failed" },
	{ "downstream-send-errors", NULL, "Errors sending a query to a backend" },
	{ "downstream-timeouts", NULL, "Queries a backend did not answer in time" },
	{ "dyn-blocked", NULL, "Queries dropped by a dynamic block" },
	{ "empty-queries", NULL, "Queries without a question" },
	{ "fd-usage", NULL, "File descriptors in use" },
	{ "frontend-noerror", NULL, "NOERROR answers sent to clients" },
	{ "frontend-nxdomain", NULL, "NXDOMAIN answers sent to clients" },
	{ "frontend-servfail", NULL, "SERVFAIL answers sent to clients" },
	{ "latency-avg100", NULL, "Average latency of the last 100 answers, in microseconds" },
	{ "latency-avg1000", NULL, "Average latency of the last 1000 answers, in microseconds" },
	{ "latency-avg10000", NULL, "Average latency of the last 10000 answers, in microseconds" },
	{ "latency-avg1000000", NULL, "Average latency of the last 1000000 answers, in microseconds" },
	{ "latency-slow", NULL, "Answers that took a second or more" },
	{ "latency0-1", NULL, "Answers within 1 ms" },
	{ "latency1-10", NULL, "Answers within 1 to 10 ms" },
	{ "latency10-50", NULL, "Answers within 10 to 50 ms" },
	{ "latency50-100", NULL, "Answers within 50 to 100 ms" },
	{ "latency100-1000", NULL, "Answers within 100 to 1000 ms" },
	{ "no-policy", NULL, "Queries dropped because no server was available" },
	{ "noncompliant-queries", NULL, "Queries dropped as malformed" },
	{ "noncompliant-responses", NULL, "Backend answers dropped as malformed or unexpected" },
	{ "proxy-protocol-invalid", NULL, "Queries dropped for an invalid, oversized or missing PROXY protocol header" },
	{ "queries", NULL, "Queries received" },
	{ "rdqueries", NULL, "Queries received with the RD bit" },
	{ "real-memory-usage", NULL, "Resident memory in bytes" },
	{ "responses", NULL, "Answers sent to clients" },
	{ "rule-drop", NULL, "Queries dropped by a rule" },
	{ "rule-nxdomain", NULL, "NXDOMAIN answers made by a rule" },
	{ "rule-refused", NULL, "REFUSED answers made by a rule" },
	{ "rule-servfail", NULL, "SERVFAIL answers made by a rule" },
	{ "rule-truncated", NULL, "Truncated answers made by a rule" },
	{ "security-status", "gauge", "Security status; always 0 (unknown): no polling" },
	{ "self-answered", NULL, "Answers made without a backend" },
	{ "servfail-responses", NULL, "SERVFAIL answers received from backends" },
	{ "tcp-listen-overflows", "gauge", "TCP listen queue overflows of the whole system" },
	{ "doh-query-pipe-full", NULL, "DoH queries sent over TCP because no UDP loop could take them in" },
	{ "doh-response-pipe-full", NULL, "Always 0: DoH answers come back on a list that is never full" },
	{ "tcp-query-pipe-full", NULL, "TCP connections closed because no TCP worker could take them in" },
	{ "tcp-cross-protocol-query-pipe-full", NULL, "UDP queries for a TCP backend dropped because no TCP worker could take them in" },
	{ "tcp-cross-protocol-response-pipe-full", NULL, "Always 0: TCP workers send answers to UDP clients themselves" },
	{ "outgoing-doh-query-pipe-full", NULL, "Always 0: no pipe carries queries to DoH backends" },
	{ "tcp-response-queue-full", NULL, "TCP client connections closed for holding too many unread answers" },
	{ "trunc-failures", NULL, "Errors while truncating an answer" },
	{ "uptime", NULL, "Seconds since the start" },
	{ "web-auth-failures", NULL, "Web requests whose credentials failed" },
	{ "web-auth-limited", NULL, "Web requests refused unchecked after failures" },
};

static const char *chain_keys[METRICS_NCHAINS] = {
	"rules", "response-rules", "cache-hit-response-rules",
	"self-answered-response-rules"
};

static char *
dup_or_fail(struct metrics *mx, const char *s)
{
	char	*d;

	if ((d = strdup(s != NULL ? s : "")) == NULL)
		mx->mx_failed = true;
	return d;
}

/* A counter of ds, read relaxed. */
#define SNAP(f)	atomic_load_explicit(&ds->f, memory_order_relaxed)

static void
snap_servers(struct metrics *mx)
{
	struct metrics_server	*ms;
	struct server		*ds;
	size_t			 i, j;

	if (servers.sr_count == 0 || (mx->mx_servers = calloc(servers.sr_count,
	    sizeof(*mx->mx_servers))) == NULL)
		return;
	for (i = 0; i < servers.sr_count; i++) {
		ds = servers.sr_servers[i];
		ms = &mx->mx_servers[mx->mx_nservers++];
		ms->ms_num = (int)i;
		ms->ms_name = dup_or_fail(mx, ds->ds_name);
		strlcpy(ms->ms_uuid, ds->ds_id, sizeof(ms->ms_uuid));
		strlcpy(ms->ms_addr, ds->ds_addrtext, sizeof(ms->ms_addr));
		ms->ms_state = server_state_text(ds);
		ms->ms_up = server_is_up(ds);
		ms->ms_qps = SNAP(ds_qpsrate);
		ms->ms_qpslimit = ds->ds_qpslimit;
		ms->ms_latency = SNAP(ds_latency);
		ms->ms_tcplatency = SNAP(ds_tcplatency);
		ms->ms_noncompliant = SNAP(ds_noncompliant);
		ms->ms_tcpdiedsending = SNAP(ds_tcpdiedsending);
		ms->ms_tcpgaveup = SNAP(ds_tcpgaveup);
		ms->ms_tcpreadtimeouts = SNAP(ds_tcpreadtimeouts);
		ms->ms_tcpwritetimeouts = SNAP(ds_tcpwritetimeouts);
		ms->ms_tcpconnecttimeouts = SNAP(ds_tcpconnecttimeouts);
		ms->ms_tcpcurrent = SNAP(ds_tcpcurrent);
		ms->ms_tcpavgqueries = SNAP(ds_tcpavgqueries);
		ms->ms_tcpavgduration = SNAP(ds_tcpavgduration);
		ms->ms_droprate = SNAP(ds_droprate);
		ms->ms_order = ds->ds_order;
		ms->ms_weight = ds->ds_weight;
		ms->ms_outstanding = SNAP(ds_outstanding);
		ms->ms_queries = SNAP(ds_queries);
		ms->ms_responses = SNAP(ds_responses);
		ms->ms_drops = SNAP(ds_drops);
		ms->ms_senderrors = SNAP(ds_senderrors);
		ms->ms_tcpqueries = SNAP(ds_tcpqueries);
		ms->ms_tcpdied = SNAP(ds_tcpdied);
		ms->ms_tcpreused = SNAP(ds_tcpreused);
		ms->ms_tcpnew = SNAP(ds_tcpnew);
		ms->ms_tlsresumed = SNAP(ds_tlsresumed);
		ms->ms_tls = ds->ds_tls;
		if (ds->ds_npools == 0 || (ms->ms_pools = calloc(ds->ds_npools,
		    sizeof(char *))) == NULL)
			continue;
		for (j = 0; j < ds->ds_npools; j++)
			ms->ms_pools[ms->ms_npools++] = dup_or_fail(mx,
			    ds->ds_pools[j]);
	}
}
#undef SNAP

static void
snap_pools(struct metrics *mx)
{
	struct metrics_pool	*mp;
	struct pcache_stats	 st;
	struct pool		*pl;
	size_t			 i;
	int			 kind;

	if (servers.sr_npools == 0 || (mx->mx_pools = calloc(servers.sr_npools,
	    sizeof(*mx->mx_pools))) == NULL)
		return;
	for (i = 0; i < servers.sr_npools; i++) {
		pl = servers.sr_pools[i];
		mp = &mx->mx_pools[mx->mx_npools++];
		mp->mp_name = dup_or_fail(mx, pl->pl_name);
		mp->mp_servers = pl->pl_count;
		mp->mp_up = pool_count_up(pl);
		kind = pl->pl_policy >= 0 ? pl->pl_policy :
		    atomic_load(&policy_global);
		mp->mp_policy = policy_name(kind);
		if (pl->pl_cache != NULL) {
			pcache_get_stats(pl->pl_cache, &st);
			mp->mp_hascache = true;
			mp->mp_cache[0] = st.maxentries;
			mp->mp_cache[1] = st.entries;
			mp->mp_cache[2] = st.hits;
			mp->mp_cache[3] = st.misses;
			mp->mp_cache[4] = st.deferredinserts;
			mp->mp_cache[5] = st.deferredlookups;
			mp->mp_cache[6] = st.lookupcollisions;
			mp->mp_cache[7] = st.insertcollisions;
			mp->mp_cache[8] = st.ttltooshorts;
			mp->mp_cleanups = st.cleanups;
		}
	}
}

static void
snap_chain(struct metrics *mx, struct metrics_chain *mc,
    const struct rule_chain *rc)
{
	struct metrics_rule	*mr;
	struct rule		*ru;
	size_t			 i;

	if (rc->rc_count == 0 || (mc->mc_rules = calloc(rc->rc_count,
	    sizeof(*mc->mc_rules))) == NULL)
		return;
	for (i = 0; i < rc->rc_count; i++) {
		ru = rc->rc_rules[i];
		mr = &mc->mc_rules[mc->mc_count++];
		mr->mr_name = dup_or_fail(mx, ru->ru_name);
		strlcpy(mr->mr_uuid, ru->ru_uuid, sizeof(mr->mr_uuid));
		mr->mr_order = ru->ru_order;
		mr->mr_matches = atomic_load_explicit(&ru->ru_matches,
		    memory_order_relaxed);
		mr->mr_rule = dup_or_fail(mx, ru->ru_sel->se_desc);
		mr->mr_action = dup_or_fail(mx, ru->ru_act->ac_desc);
	}
}

static void
config_add(struct metrics *mx, const char *name, enum metrics_kind kind,
    const char *text, double value)
{
	struct metrics_config	*mk;

	if (mx->mx_nconfig == METRICS_NCONFIG)
		return;
	mk = &mx->mx_config[mx->mx_nconfig++];
	mk->mk_name = name;
	mk->mk_kind = kind;
	mk->mk_value = value;
	if (kind == METRICS_STRING)
		mk->mk_text = dup_or_fail(mx, text);
}

static void
snap_settings(struct metrics *mx)
{
	char		buf[NETMASK_MAXTEXT];
	struct sbuf	sb, local;
	size_t		i, j;

	sbuf_init(&sb);
	sbuf_init(&local);
	if (settings.st_acl.ng_count > 0 && (mx->mx_aclv = calloc(
	    settings.st_acl.ng_count, sizeof(char *))) == NULL)
		mx->mx_failed = true;
	for (i = 0; i < settings.st_acl.ng_count; i++) {
		netmask_to_text(&settings.st_acl.ng_masks[i], buf, sizeof(buf));
		sbuf_printf(&sb, "%s%s", i ? ", " : "", buf);
		if (mx->mx_aclv != NULL)
			mx->mx_aclv[mx->mx_nacl++] = dup_or_fail(mx, buf);
	}
	mx->mx_acl = dup_or_fail(mx, sbuf_text(&sb));
	if (sb.sb_failed)
		mx->mx_failed = true;
	sbuf_free(&sb);
	/* The listeners' addresses, each once, in the order of the list. */
	for (i = 0; i < settings.st_nlocals; i++) {
		addr_to_text((struct sockaddr *)&settings.st_locals[i].lc_addr,
		    buf, sizeof(buf));
		for (j = 0; j < i; j++)
			if (addr_equal((struct sockaddr *)
			    &settings.st_locals[j].lc_addr, (struct sockaddr *)
			    &settings.st_locals[i].lc_addr))
				break;
		if (j == i)
			sbuf_printf(&local, "%s%s", local.sb_len > 0 ? ", " : "",
			    buf);
	}
	mx->mx_local = dup_or_fail(mx, sbuf_text(&local));
	if (local.sb_failed)
		mx->mx_failed = true;
	sbuf_free(&local);
	/* dnsdist's list, in its order. */
	config_add(mx, "acl", METRICS_STRING, mx->mx_acl, 0);
	config_add(mx, "allow-empty-response", METRICS_BOOL, NULL,
	    atomic_load(&inflight_allow_empty));
	if (settings.st_ctladdrlen > 0)
		addr_to_text((struct sockaddr *)&settings.st_ctladdr, buf,
		    sizeof(buf));
	else
		buf[0] = '\0';
	config_add(mx, "control-socket", METRICS_STRING, buf, 0);
	config_add(mx, "ecs-override", METRICS_BOOL, NULL,
	    settings.st_ecsoverride);
	config_add(mx, "ecs-source-prefix-v4", METRICS_NUMBER, NULL,
	    settings.st_ecsv4);
	config_add(mx, "ecs-source-prefix-v6", METRICS_NUMBER, NULL,
	    settings.st_ecsv6);
	config_add(mx, "fixup-case", METRICS_BOOL, NULL, settings.st_fixupcase);
	config_add(mx, "max-outstanding", METRICS_NUMBER, NULL,
	    settings.st_maxudpoutstanding);
	config_add(mx, "server-policy", METRICS_STRING,
	    policy_name(atomic_load(&policy_global)), 0);
	config_add(mx, "stale-cache-entries-ttl", METRICS_NUMBER, NULL,
	    settings.st_staleentriesttl);
	config_add(mx, "tcp-recv-timeout", METRICS_NUMBER, NULL,
	    settings.st_tcprecvtimeout);
	config_add(mx, "tcp-send-timeout", METRICS_NUMBER, NULL,
	    settings.st_tcpsendtimeout);
	config_add(mx, "truncate-tc", METRICS_BOOL, NULL, settings.st_truncatetc);
	config_add(mx, "verbose", METRICS_BOOL, NULL, settings.st_verbose);
	config_add(mx, "verbose-health-checks", METRICS_BOOL, NULL,
	    atomic_load(&settings_verbosehealthchecks));
}

struct metrics *
metrics_snapshot(void)
{
	struct metrics	*mx;

	if ((mx = calloc(1, sizeof(*mx))) == NULL)
		return NULL;
	mx->mx_nstats = stats_snapshot(mx->mx_stats, STATS_MAX);
	snap_servers(mx);
	snap_pools(mx);
	snap_chain(mx, &mx->mx_chains[METRICS_RULES], &rules_query);
	snap_chain(mx, &mx->mx_chains[METRICS_RESPONSE_RULES],
	    &rules_response);
	snap_chain(mx, &mx->mx_chains[METRICS_CACHEHIT_RULES],
	    &rules_cachehit);
	snap_chain(mx, &mx->mx_chains[METRICS_SELFANSWERED_RULES],
	    &rules_selfanswered);
	snap_settings(mx);
	if ((servers.sr_count > 0 && mx->mx_servers == NULL) ||
	    (servers.sr_npools > 0 && mx->mx_pools == NULL))
		mx->mx_failed = true;
	if (mx->mx_failed) {
		metrics_free(mx);
		return NULL;
	}
	return mx;
}

void
metrics_free(struct metrics *mx)
{
	size_t	i, j;

	if (mx == NULL)
		return;
	for (i = 0; i < mx->mx_nservers; i++) {
		free(mx->mx_servers[i].ms_name);
		for (j = 0; j < mx->mx_servers[i].ms_npools; j++)
			free(mx->mx_servers[i].ms_pools[j]);
		free(mx->mx_servers[i].ms_pools);
	}
	free(mx->mx_servers);
	free(mx->mx_frontends);
	free(mx->mx_dohs);
	for (i = 0; i < mx->mx_npools; i++)
		free(mx->mx_pools[i].mp_name);
	free(mx->mx_pools);
	for (i = 0; i < METRICS_NCHAINS; i++) {
		for (j = 0; j < mx->mx_chains[i].mc_count; j++) {
			free(mx->mx_chains[i].mc_rules[j].mr_name);
			free(mx->mx_chains[i].mc_rules[j].mr_rule);
			free(mx->mx_chains[i].mc_rules[j].mr_action);
		}
		free(mx->mx_chains[i].mc_rules);
	}
	for (i = 0; i < mx->mx_nconfig; i++)
		free(mx->mx_config[i].mk_text);
	for (i = 0; i < mx->mx_nacl; i++)
		free(mx->mx_aclv[i]);
	free(mx->mx_aclv);
	free(mx->mx_acl);
	free(mx->mx_local);
	free(mx);
}

int
metrics_add_frontend(struct metrics *mx, const char *addr, const char *proto,
    uint64_t queries, uint64_t responses)
{
	struct metrics_frontend	*nf, *mf;

	nf = reallocarray(mx->mx_frontends, mx->mx_nfrontends + 1,
	    sizeof(*nf));
	if (nf == NULL)
		return -1;
	mx->mx_frontends = nf;
	mf = &nf[mx->mx_nfrontends++];
	memset(mf, 0, sizeof(*mf));
	strlcpy(mf->mf_addr, addr, sizeof(mf->mf_addr));
	mf->mf_proto = proto;
	mf->mf_queries = queries;
	mf->mf_responses = responses;
	return 0;
}

void
metrics_frontend_noncompliant(struct metrics *mx, uint64_t n)
{
	if (mx->mx_nfrontends > 0)
		mx->mx_frontends[mx->mx_nfrontends - 1].mf_noncompliant = n;
}

int
metrics_add_doh(struct metrics *mx, const char *addr, struct doh_stats *ds)
{
	struct metrics_doh	*nd, *md;
	int			 v, c;

	nd = reallocarray(mx->mx_dohs, mx->mx_ndohs + 1, sizeof(*nd));
	if (nd == NULL)
		return -1;
	mx->mx_dohs = nd;
	md = &nd[mx->mx_ndohs++];
	memset(md, 0, sizeof(*md));
	strlcpy(md->md_addr, addr, sizeof(md->md_addr));
#define MD(i, f)	md->md_c[i] = atomic_load_explicit(&ds->f, \
			    memory_order_relaxed)
	MD(MD_CONNECTS, ds_connects);
	MD(MD_GET, ds_get);
	MD(MD_POST, ds_post);
	MD(MD_HTTP1, ds_http1);
	MD(MD_HTTP2, ds_http2);
	MD(MD_BAD, ds_bad);
	MD(MD_ERRORS, ds_errors);
	MD(MD_REDIRECTS, ds_redirects);
	MD(MD_VALID, ds_valid);
#undef MD
	for (v = 0; v < 2; v++)
		for (c = 0; c < DOH_NCODES; c++)
			md->md_codes[v][c] = atomic_load_explicit(
			    &ds->ds_codes[v][c], memory_order_relaxed);
	return 0;
}

void
metrics_frontend_tls(struct metrics *mx, const uint64_t *c)
{
	struct metrics_frontend	*mf = &mx->mx_frontends[mx->mx_nfrontends - 1];

	mf->mf_tls = true;
	memcpy(mf->mf_tlsc, c, sizeof(mf->mf_tlsc));
}

/*
 * The TLS counters by dnsdist's names: the Prometheus metric and its
 * extra label (tls= or error=), and the API's field.
 */
static const struct {
	const char	*t_prom;
	const char	*t_label;
	const char	*t_json;
} tls_names[TLSC_COUNT] = {
	[TLSC_NEWSESSIONS] = { "tlsnewsessions", NULL, "tlsNewSessions" },
	[TLSC_RESUMPTIONS] = { "tlsresumptions", NULL, "tlsResumptions" },
	[TLSC_Q10] = { "tlsqueries", "tls=\"tls10\"", "tls10Queries" },
	[TLSC_Q11] = { "tlsqueries", "tls=\"tls11\"", "tls11Queries" },
	[TLSC_Q12] = { "tlsqueries", "tls=\"tls12\"", "tls12Queries" },
	[TLSC_Q13] = { "tlsqueries", "tls=\"tls13\"", "tls13Queries" },
	[TLSC_QUNKNOWN] = { "tlsqueries", "tls=\"unknown\"",
	    "tlsUnknownQueries" },
	[TLSC_DHKEYTOOSMALL] = { "tlshandshakefailures",
	    "error=\"dhKeyTooSmall\"", "tlsHandshakeFailuresDHKeyTooSmall" },
	[TLSC_INAPPROPRIATEFALLBACK] = { "tlshandshakefailures",
	    "error=\"inappropriateFallBack\"",
	    "tlsHandshakeFailuresInappropriateFallBack" },
	[TLSC_NOSHAREDCIPHER] = { "tlshandshakefailures",
	    "error=\"noSharedCipher\"", "tlsHandshakeFailuresNoSharedCipher" },
	[TLSC_UNKNOWNCIPHER] = { "tlshandshakefailures",
	    "error=\"unknownCipherType\"", "tlsHandshakeFailuresUnknownCipher" },
	[TLSC_UNKNOWNKEYEXCHANGE] = { "tlshandshakefailures",
	    "error=\"unknownKeyExchangeType\"",
	    "tlsHandshakeFailuresUnknownKeyExchangeType" },
	[TLSC_UNKNOWNPROTOCOL] = { "tlshandshakefailures",
	    "error=\"unknownProtocol\"",
	    "tlsHandshakeFailuresUnknownProtocol" },
	[TLSC_UNSUPPORTEDEC] = { "tlshandshakefailures",
	    "error=\"unsupportedEC\"", "tlsHandshakeFailuresUnsupportedEC" },
	[TLSC_UNSUPPORTEDPROTOCOL] = { "tlshandshakefailures",
	    "error=\"unsupportedProtocol\"",
	    "tlsHandshakeFailuresUnsupportedProtocol" },
	/* not dnsdist's: every failure, whatever OpenSSL said */
	[TLSC_HANDSHAKEFAILURES] = { "tlshandshakefailures",
	    "error=\"all\"", "tlsHandshakeFailures" },
};

/* Escaping */

void
metrics_json_string(struct sbuf *sb, const char *s)
{
	const unsigned char	*p;
	char			 esc[8];

	sbuf_puts(sb, "\"");
	for (p = (const unsigned char *)s; *p != '\0'; p++) {
		if (*p == '"')
			sbuf_puts(sb, "\\\"");
		else if (*p == '\\')
			sbuf_puts(sb, "\\\\");
		else if (*p < 0x20 || *p >= 0x7f) {
			snprintf(esc, sizeof(esc), "\\u%04x", *p);
			sbuf_puts(sb, esc);
		} else
			sbuf_add(sb, (const char *)p, 1);
	}
	sbuf_puts(sb, "\"");
}

void
metrics_prom_label(struct sbuf *sb, const char *s)
{
	const unsigned char	*p;

	for (p = (const unsigned char *)s; *p != '\0'; p++) {
		if (*p == '\\')
			sbuf_puts(sb, "\\\\");
		else if (*p == '"')
			sbuf_puts(sb, "\\\"");
		else if (*p == '\n')
			sbuf_puts(sb, "\\n");
		else if (*p < 0x20 || *p >= 0x7f)
			sbuf_puts(sb, "_");
		else
			sbuf_add(sb, (const char *)p, 1);
	}
}

void
metrics_carbon_name(struct sbuf *sb, const char *s, bool keepdots)
{
	const unsigned char	*p;
	bool			 ok;

	for (p = (const unsigned char *)s; *p != '\0'; p++) {
		ok = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9') || *p == '-' || *p == '_' ||
		    *p == ':' || (keepdots && *p == '.');
		sbuf_add(sb, ok ? (const char *)p : "_", 1);
	}
}

/* A number as carbon, JSON and Prometheus all read it. */
static void
put_number(struct sbuf *sb, double v)
{
	if (!isfinite(v))
		v = 0;
	if (v == floor(v) && fabs(v) < 1e15)
		sbuf_printf(sb, "%.0f", v);
	else
		sbuf_printf(sb, "%.3f", v);
}

static const char *
pool_display(const char *name)
{
	return name[0] == '\0' ? "_default_" : name;
}

/* Carbon */

static void
carbon_line(struct sbuf *sb, const char *prefix, const char *what,
    const char *name, const char *key, double v, time_t when)
{
	sbuf_printf(sb, "%s.", prefix);
	if (what != NULL) {
		sbuf_printf(sb, "%s.", what);
		metrics_carbon_name(sb, name, false);
		sbuf_puts(sb, ".");
	}
	metrics_carbon_name(sb, key, false);
	sbuf_puts(sb, " ");
	put_number(sb, v);
	sbuf_printf(sb, " %lld\n", (long long)when);
}

void
metrics_carbon(struct sbuf *sb, const struct metrics *mx, const char *prefix,
    time_t when)
{
	const struct metrics_server	*ms;
	const struct metrics_frontend	*mf;
	const struct metrics_pool	*mp;
	char				 fname[ADDR_MAXTEXT + 8];
	size_t				 i, j;

	for (i = 0; i < mx->mx_nstats; i++)
		carbon_line(sb, prefix, NULL, NULL, mx->mx_stats[i].sv_name,
		    mx->mx_stats[i].sv_value, when);
	for (i = 0; i < mx->mx_nservers; i++) {
		ms = &mx->mx_servers[i];
		carbon_line(sb, prefix, "servers", ms->ms_name, "queries",
		    (double)ms->ms_queries, when);
		carbon_line(sb, prefix, "servers", ms->ms_name, "responses",
		    (double)ms->ms_responses, when);
		carbon_line(sb, prefix, "servers", ms->ms_name, "drops",
		    (double)ms->ms_drops, when);
		carbon_line(sb, prefix, "servers", ms->ms_name, "latency",
		    ms->ms_up ? ms->ms_latency / 1000.0 : 0, when);
		carbon_line(sb, prefix, "servers", ms->ms_name, "senderrors",
		    (double)ms->ms_senderrors, when);
		carbon_line(sb, prefix, "servers", ms->ms_name, "outstanding",
		    ms->ms_outstanding, when);
		carbon_line(sb, prefix, "servers", ms->ms_name, "tcpqueries",
		    (double)ms->ms_tcpqueries, when);
		carbon_line(sb, prefix, "servers", ms->ms_name,
		    "tcpdiedreadingresponse", (double)ms->ms_tcpdied, when);
	}
	for (i = 0; i < mx->mx_nfrontends; i++) {
		mf = &mx->mx_frontends[i];
		/* dnsdist's frontend names: address, then _udp or _tcp */
		snprintf(fname, sizeof(fname), "%s_%s", mf->mf_addr,
		    strcmp(mf->mf_proto, "UDP") == 0 ? "udp" : "tcp");
		carbon_line(sb, prefix, "frontends", fname, "queries",
		    (double)mf->mf_queries, when);
		carbon_line(sb, prefix, "frontends", fname, "responses",
		    (double)mf->mf_responses, when);
	}
	for (i = 0; i < mx->mx_npools; i++) {
		mp = &mx->mx_pools[i];
		carbon_line(sb, prefix, "pools", pool_display(mp->mp_name),
		    "servers", (double)mp->mp_servers, when);
		carbon_line(sb, prefix, "pools", pool_display(mp->mp_name),
		    "servers-up", (double)mp->mp_up, when);
		for (j = 0; mp->mp_hascache && j < METRICS_NCACHE; j++)
			carbon_line(sb, prefix, "pools",
			    pool_display(mp->mp_name), metrics_cache_names[j],
			    (double)mp->mp_cache[j], when);
	}
}

/* Prometheus */

static void
prom_name(struct sbuf *sb, const char *name)
{
	const char	*p;

	sbuf_puts(sb, "dnsdist_");
	for (p = name; *p != '\0'; p++)
		sbuf_add(sb, *p == '-' ? "_" : p, 1);
}

static void
prom_family(struct sbuf *sb, const char *name, const char *type,
    const char *help)
{
	sbuf_puts(sb, "# HELP ");
	prom_name(sb, name);
	sbuf_printf(sb, " %s\n# TYPE ", help);
	prom_name(sb, name);
	sbuf_printf(sb, " %s\n", type);
}

static void
prom_stat(struct sbuf *sb, const struct stat_value *sv)
{
	const char	*type = sv->sv_gauge ? "gauge" : "counter";
	const char	*help = sv->sv_name;
	size_t		 i;

	if (sv->sv_promname != NULL) {
		sbuf_printf(sb, "# HELP %s %s\n# TYPE %s %s\n%s ",
		    sv->sv_promname, sv->sv_help, sv->sv_promname, type,
		    sv->sv_promname);
		put_number(sb, sv->sv_value);
		sbuf_puts(sb, "\n");
		return;
	}
	if (sv->sv_help != NULL)
		help = sv->sv_help;

	for (i = 0; i < sizeof(stat_help) / sizeof(stat_help[0]); i++)
		if (strcmp(stat_help[i].name, sv->sv_name) == 0) {
			if (stat_help[i].type != NULL)
				type = stat_help[i].type;
			help = stat_help[i].help;
			break;
		}
	prom_family(sb, sv->sv_name, type, help);
	prom_name(sb, sv->sv_name);
	sbuf_puts(sb, " ");
	put_number(sb, sv->sv_value);
	sbuf_puts(sb, "\n");
}

static double
stat_of(const struct metrics *mx, const char *name)
{
	size_t	i;

	for (i = 0; i < mx->mx_nstats; i++)
		if (strcmp(mx->mx_stats[i].sv_name, name) == 0)
			return mx->mx_stats[i].sv_value;
	return 0;
}

/* dnsdist_latency: the latency buckets as a histogram, in milliseconds. */
static void
prom_latency(struct sbuf *sb, const struct metrics *mx)
{
	static const char *buckets[] = { "latency0-1", "latency1-10",
	    "latency10-50", "latency50-100", "latency100-1000",
	    "latency-slow" };
	static const char *le[] = { "1", "10", "50", "100", "1000", "+Inf" };
	double		 n = 0;
	size_t		 i;

	prom_family(sb, "latency", "histogram",
	    "Answers by latency, in milliseconds");
	for (i = 0; i < sizeof(buckets) / sizeof(buckets[0]); i++) {
		n += stat_of(mx, buckets[i]);
		sbuf_printf(sb, "dnsdist_latency_bucket{le=\"%s\"} ", le[i]);
		put_number(sb, n);
		sbuf_puts(sb, "\n");
	}
	/* The count is the +Inf bucket, even while counters move. */
	sbuf_puts(sb, "dnsdist_latency_sum ");
	put_number(sb, stat_of(mx, "latency-sum"));
	sbuf_puts(sb, "\ndnsdist_latency_count ");
	put_number(sb, n);
	sbuf_puts(sb, "\n");
}

enum prom_field {
	PF_STATUS, PF_QUERIES, PF_RESPONSES, PF_DROPS, PF_LATENCY,
	PF_SENDERRORS, PF_OUTSTANDING, PF_ORDER, PF_WEIGHT, PF_TCPQUERIES,
	PF_TCPDIED, PF_QPS, PF_TLSRESUMED
};

static const struct {
	const char	*name;
	const char	*type;
	const char	*help;
} server_fields[] = {
	[PF_STATUS] = { "server-status", "gauge", "Whether the server is up (1) or down (0)" },
	[PF_QUERIES] = { "server-queries", "counter", "Queries sent to the server" },
	[PF_RESPONSES] = { "server-responses", "counter", "Answers received from the server" },
	[PF_DROPS] = { "server-drops", "counter", "Queries the server did not answer in time" },
	[PF_LATENCY] = { "server-latency", "gauge", "Moving average of the server's latency, in milliseconds" },
	[PF_SENDERRORS] = { "server-senderrors", "counter", "Errors sending queries to the server" },
	[PF_OUTSTANDING] = { "server-outstanding", "gauge", "Queries waiting for an answer from the server" },
	[PF_ORDER] = { "server-order", "gauge", "The server's order" },
	[PF_WEIGHT] = { "server-weight", "gauge", "The server's weight" },
	[PF_TCPQUERIES] = { "server-tcpqueries", "counter", "Queries sent to the server over TCP" },
	[PF_TCPDIED] = { "server-tcpdiedreadingresponse", "counter", "TCP connections to the server that failed" },
	[PF_QPS] = { "server-qps", "gauge", "Queries per second sent to the server" },
	[PF_TLSRESUMED] = { "server-tlsresumptions", "counter", "TLS sessions to the server resumed" },
};

static double
server_field(const struct metrics_server *ms, enum prom_field f)
{
	switch (f) {
	case PF_STATUS:
		return ms->ms_up;
	case PF_QUERIES:
		return (double)ms->ms_queries;
	case PF_RESPONSES:
		return (double)ms->ms_responses;
	case PF_DROPS:
		return (double)ms->ms_drops;
	case PF_LATENCY:
		return ms->ms_latency / 1000.0;
	case PF_SENDERRORS:
		return (double)ms->ms_senderrors;
	case PF_OUTSTANDING:
		return ms->ms_outstanding;
	case PF_ORDER:
		return ms->ms_order;
	case PF_WEIGHT:
		return ms->ms_weight;
	case PF_TCPQUERIES:
		return (double)ms->ms_tcpqueries;
	case PF_TCPDIED:
		return (double)ms->ms_tcpdied;
	case PF_QPS:
		return ms->ms_qps;
	case PF_TLSRESUMED:
		return (double)ms->ms_tlsresumed;
	}
	return 0;
}

/* dnsdist's server label: the name with dots as underscores. */
static void
prom_server_labels(struct sbuf *sb, const struct metrics_server *ms)
{
	struct sbuf	name;
	char		*p;

	sbuf_init(&name);
	sbuf_puts(&name, ms->ms_name);
	for (p = name.sb_buf; p != NULL && *p != '\0'; p++)
		if (*p == '.')
			*p = '_';
	sbuf_puts(sb, "{server=\"");
	metrics_prom_label(sb, sbuf_text(&name));
	sbuf_puts(sb, "\",address=\"");
	metrics_prom_label(sb, ms->ms_addr);
	sbuf_puts(sb, "\"}");
	sbuf_free(&name);
}

static void
prom_servers(struct sbuf *sb, const struct metrics *mx)
{
	size_t	f, i;

	for (f = 0; f < sizeof(server_fields) / sizeof(server_fields[0]);
	    f++) {
		prom_family(sb, server_fields[f].name, server_fields[f].type,
		    server_fields[f].help);
		for (i = 0; i < mx->mx_nservers; i++) {
			prom_name(sb, server_fields[f].name);
			prom_server_labels(sb, &mx->mx_servers[i]);
			sbuf_puts(sb, " ");
			put_number(sb, server_field(&mx->mx_servers[i],
			    (enum prom_field)f));
			sbuf_puts(sb, "\n");
		}
	}
}

static void
prom_frontends(struct sbuf *sb, const struct metrics *mx)
{
	const struct metrics_frontend	*mf;
	char				 name[64];
	size_t				 f, i, ntls = 0;

	for (i = 0; i < mx->mx_nfrontends; i++)
		ntls += mx->mx_frontends[i].mf_tls;
	for (f = 0; f < 2; f++) {
		if (f == 0)
			prom_family(sb, "frontend-queries", "counter",
			    "Queries received by the frontend");
		else
			prom_family(sb, "frontend-responses", "counter",
			    "Answers sent by the frontend");
		for (i = 0; i < mx->mx_nfrontends; i++) {
			mf = &mx->mx_frontends[i];
			sbuf_puts(sb, f == 0 ? "dnsdist_frontend_queries" :
			    "dnsdist_frontend_responses");
			sbuf_puts(sb, "{frontend=\"");
			metrics_prom_label(sb, mf->mf_addr);
			sbuf_printf(sb, "\",proto=\"%s\",thread=\"0\"} ",
			    mf->mf_proto);
			put_number(sb, (double)(f == 0 ? mf->mf_queries :
			    mf->mf_responses));
			sbuf_puts(sb, "\n");
		}
	}
	for (f = 0; ntls > 0 && f < TLSC_COUNT; f++) {
		if (f == 0 || strcmp(tls_names[f].t_prom,
		    tls_names[f - 1].t_prom) != 0) {
			snprintf(name, sizeof(name), "frontend-%s",
			    tls_names[f].t_prom);
			prom_family(sb, name, "counter", "DNS over TLS");
		}
		for (i = 0; i < mx->mx_nfrontends; i++) {
			mf = &mx->mx_frontends[i];
			if (!mf->mf_tls)
				continue;
			sbuf_printf(sb, "dnsdist_frontend_%s{frontend=\"",
			    tls_names[f].t_prom);
			metrics_prom_label(sb, mf->mf_addr);
			sbuf_printf(sb, "\",proto=\"%s\",thread=\"0\"%s%s} ",
			    mf->mf_proto, tls_names[f].t_label != NULL ? "," :
			    "", tls_names[f].t_label != NULL ?
			    tls_names[f].t_label : "");
			put_number(sb, (double)mf->mf_tlsc[f]);
			sbuf_puts(sb, "\n");
		}
	}
}

/* dnsdist's DoH families, with its labels. */
static void
prom_doh_line(struct sbuf *sb, const char *name, const char *label,
    const struct metrics_doh *md, uint64_t v)
{
	sbuf_printf(sb, "dnsdist_frontend_%s{%s%sfrontend=\"", name, label,
	    label[0] != '\0' ? "," : "");
	metrics_prom_label(sb, md->md_addr);
	sbuf_puts(sb, "\",thread=\"0\"} ");
	put_number(sb, (double)v);
	sbuf_puts(sb, "\n");
}

static void
prom_dohs(struct sbuf *sb, const struct metrics *mx)
{
	static const char *const codes[] = { "200", "400", "403", "500",
	    "502", "other" };
	const struct metrics_doh	*md;
	char				 label[64];
	size_t				 i;
	int				 v, c;

	if (mx->mx_ndohs == 0)
		return;
	prom_family(sb, "frontend-http-connects", "counter",
	    "Number of DoH TCP connections established to this frontend");
	for (i = 0; i < mx->mx_ndohs; i++)
		prom_doh_line(sb, "http_connects", "", &mx->mx_dohs[i],
		    mx->mx_dohs[i].md_c[MD_CONNECTS]);
	prom_family(sb, "frontend-doh-http-method-queries", "counter",
	    "Number of DoH queries received by dnsdist, by HTTP method");
	for (i = 0; i < mx->mx_ndohs; i++) {
		md = &mx->mx_dohs[i];
		prom_doh_line(sb, "doh_http_method_queries", "method=\"get\"",
		    md, md->md_c[MD_GET]);
		prom_doh_line(sb, "doh_http_method_queries",
		    "method=\"post\"", md, md->md_c[MD_POST]);
	}
	prom_family(sb, "frontend-doh-http-version-queries", "counter",
	    "Number of DoH queries received by dnsdist, by HTTP version");
	for (i = 0; i < mx->mx_ndohs; i++) {
		md = &mx->mx_dohs[i];
		prom_doh_line(sb, "doh_http_version_queries", "version=\"1\"",
		    md, md->md_c[MD_HTTP1]);
		prom_doh_line(sb, "doh_http_version_queries", "version=\"2\"",
		    md, md->md_c[MD_HTTP2]);
	}
	prom_family(sb, "frontend-doh-bad-requests", "counter",
	    "Number of requests that could not be converted to a DNS query");
	for (i = 0; i < mx->mx_ndohs; i++)
		prom_doh_line(sb, "doh_bad_requests", "", &mx->mx_dohs[i],
		    mx->mx_dohs[i].md_c[MD_BAD]);
	prom_family(sb, "frontend-doh-responses", "counter",
	    "Number of responses sent, by type");
	for (i = 0; i < mx->mx_ndohs; i++) {
		md = &mx->mx_dohs[i];
		prom_doh_line(sb, "doh_responses", "type=\"error\"", md,
		    md->md_c[MD_ERRORS]);
		prom_doh_line(sb, "doh_responses", "type=\"redirect\"", md,
		    md->md_c[MD_REDIRECTS]);
		prom_doh_line(sb, "doh_responses", "type=\"valid\"", md,
		    md->md_c[MD_VALID]);
	}
	prom_family(sb, "frontend-doh-version-status-responses", "counter",
	    "Number of DoH responses sent, by HTTP version and status");
	for (i = 0; i < mx->mx_ndohs; i++)
		for (v = 0; v < 2; v++)
			for (c = 0; c < 6; c++) {
				snprintf(label, sizeof(label), "httpversion="
				    "\"%d\",status=\"%s\"", v + 1, codes[c]);
				prom_doh_line(sb, "doh_version_status_responses",
				    label, &mx->mx_dohs[i],
				    mx->mx_dohs[i].md_codes[v][c]);
			}
}

static void
prom_pools(struct sbuf *sb, const struct metrics *mx)
{
	size_t	f, i;

	for (f = 0; f < 2; f++) {
		if (f == 0)
			prom_family(sb, "pool-servers", "gauge",
			    "Servers in the pool");
		else
			prom_family(sb, "pool-active-servers", "gauge",
			    "Servers of the pool that are up");
		for (i = 0; i < mx->mx_npools; i++) {
			sbuf_puts(sb, f == 0 ? "dnsdist_pool_servers" :
			    "dnsdist_pool_active_servers");
			sbuf_puts(sb, "{pool=\"");
			metrics_prom_label(sb,
			    pool_display(mx->mx_pools[i].mp_name));
			sbuf_puts(sb, "\"} ");
			put_number(sb, (double)(f == 0 ?
			    mx->mx_pools[i].mp_servers : mx->mx_pools[i].mp_up));
			sbuf_puts(sb, "\n");
		}
	}
}

/* dnsdist_pool_cache_size{pool="..."} and its siblings, for cached pools. */
static void
prom_pool_caches(struct sbuf *sb, const struct metrics *mx)
{
	char	family[64], *p;
	size_t	j, i;

	for (j = 0; j < METRICS_NCACHE; j++) {
		snprintf(family, sizeof(family), "pool-%s",
		    metrics_cache_names[j]);
		prom_family(sb, family, j < 2 ? "gauge" : "counter",
		    cache_help[j]);
		for (p = family; *p != '\0'; p++)
			if (*p == '-')
				*p = '_';
		for (i = 0; i < mx->mx_npools; i++) {
			if (!mx->mx_pools[i].mp_hascache)
				continue;
			sbuf_printf(sb, "dnsdist_%s{pool=\"", family);
			metrics_prom_label(sb,
			    pool_display(mx->mx_pools[i].mp_name));
			sbuf_puts(sb, "\"} ");
			put_number(sb, (double)mx->mx_pools[i].mp_cache[j]);
			sbuf_puts(sb, "\n");
		}
	}
}

static void
prom_rules(struct sbuf *sb, const struct metrics *mx)
{
	const struct metrics_rule	*mr;
	size_t				 c, i;

	prom_family(sb, "rule-hits", "counter", "Matches of the rule");
	for (c = 0; c < METRICS_NCHAINS; c++)
		for (i = 0; i < mx->mx_chains[c].mc_count; i++) {
			mr = &mx->mx_chains[c].mc_rules[i];
			sbuf_printf(sb, "dnsdist_rule_hits{id=\"%s\",name=\"",
			    mr->mr_uuid);
			metrics_prom_label(sb, mr->mr_name);
			sbuf_printf(sb, "\",type=\"%s\"} ", chain_keys[c]);
			put_number(sb, (double)mr->mr_matches);
			sbuf_puts(sb, "\n");
		}
}

void
metrics_prometheus(struct sbuf *sb, const struct metrics *mx)
{
	size_t	i;

	for (i = 0; i < mx->mx_nstats; i++) {
		/* Both are in the histogram, under the same names. */
		if (strcmp(mx->mx_stats[i].sv_name, "latency-sum") == 0 ||
		    strcmp(mx->mx_stats[i].sv_name, "latency-count") == 0)
			continue;
		prom_stat(sb, &mx->mx_stats[i]);
	}
	prom_latency(sb, mx);
	prom_servers(sb, mx);
	prom_frontends(sb, mx);
	prom_dohs(sb, mx);
	prom_pools(sb, mx);
	prom_pool_caches(sb, mx);
	prom_rules(sb, mx);
	prom_family(sb, "info", "gauge", "Always 1; the version is a label");
	sbuf_printf(sb, "dnsdist_info{version=\"%s\"} 1\n", DNSDIST_VERSION);
}

/* JSON */

static void
json_key(struct sbuf *sb, const char *key, bool *first)
{
	if (!*first)
		sbuf_puts(sb, ", ");
	*first = false;
	metrics_json_string(sb, key);
	sbuf_puts(sb, ": ");
}

static void
json_num(struct sbuf *sb, const char *key, double v, bool *first)
{
	json_key(sb, key, first);
	put_number(sb, v);
}

static void
json_str(struct sbuf *sb, const char *key, const char *v, bool *first)
{
	json_key(sb, key, first);
	metrics_json_string(sb, v);
}

static void
json_bool(struct sbuf *sb, const char *key, bool v, bool *first)
{
	json_key(sb, key, first);
	sbuf_puts(sb, v ? "true" : "false");
}

void
metrics_json_stats(struct sbuf *sb, const struct metrics *mx)
{
	bool	first = true;
	size_t	i;

	sbuf_puts(sb, "{");
	for (i = 0; i < mx->mx_nstats; i++)
		if (!mx->mx_stats[i].sv_ours)
			json_num(sb, mx->mx_stats[i].sv_name,
			    mx->mx_stats[i].sv_value, &first);
	sbuf_puts(sb, "}");
}

static void
json_server(struct sbuf *sb, const struct metrics_server *ms)
{
	bool	first = true;
	size_t	i;

	sbuf_puts(sb, "{");
	json_num(sb, "id", ms->ms_num, &first);
	json_str(sb, "name", ms->ms_name, &first);
	json_str(sb, "uuid", ms->ms_uuid, &first);
	json_str(sb, "address", ms->ms_addr, &first);
	json_str(sb, "state", ms->ms_state, &first);
	json_str(sb, "protocol", ms->ms_tls ? "DoT" : "Do53", &first);
	json_num(sb, "qps", ms->ms_qps, &first);
	json_num(sb, "qpsLimit", ms->ms_qpslimit, &first);
	json_num(sb, "order", ms->ms_order, &first);
	json_num(sb, "weight", ms->ms_weight, &first);
	json_num(sb, "queries", (double)ms->ms_queries, &first);
	json_num(sb, "responses", (double)ms->ms_responses, &first);
	json_num(sb, "reuseds", (double)ms->ms_drops, &first);
	json_num(sb, "drops", (double)ms->ms_drops, &first);
	json_num(sb, "dropRate", ms->ms_droprate, &first);
	json_num(sb, "sendErrors", (double)ms->ms_senderrors, &first);
	json_num(sb, "outstanding", ms->ms_outstanding, &first);
	/* As dnsdist: no latency for a server forced down. */
	if (strcmp(ms->ms_state, "DOWN") == 0) {
		json_key(sb, "latency", &first);
		sbuf_puts(sb, "null");
		json_key(sb, "tcpLatency", &first);
		sbuf_puts(sb, "null");
	} else {
		json_num(sb, "latency", ms->ms_latency / 1000.0, &first);
		json_num(sb, "tcpLatency", ms->ms_tcplatency / 1000.0, &first);
	}
	json_num(sb, "tcpQueries", (double)ms->ms_tcpqueries, &first);
	json_num(sb, "nonCompliantResponses", (double)ms->ms_noncompliant,
	    &first);
	json_num(sb, "tcpDiedSendingQuery", (double)ms->ms_tcpdiedsending,
	    &first);
	json_num(sb, "tcpDiedReadingResponse", (double)ms->ms_tcpdied,
	    &first);
	json_num(sb, "tcpGaveUp", (double)ms->ms_tcpgaveup, &first);
	json_num(sb, "tcpConnectTimeouts", (double)ms->ms_tcpconnecttimeouts,
	    &first);
	json_num(sb, "tcpReadTimeouts", (double)ms->ms_tcpreadtimeouts,
	    &first);
	json_num(sb, "tcpWriteTimeouts", (double)ms->ms_tcpwritetimeouts,
	    &first);
	json_num(sb, "tcpCurrentConnections", ms->ms_tcpcurrent, &first);
	json_num(sb, "tcpAvgQueriesPerConnection", ms->ms_tcpavgqueries,
	    &first);
	json_num(sb, "tcpAvgConnectionDuration", ms->ms_tcpavgduration,
	    &first);
	json_num(sb, "tcpReusedConnections", (double)ms->ms_tcpreused,
	    &first);
	json_num(sb, "tcpNewConnections", (double)ms->ms_tcpnew, &first);
	json_num(sb, "tlsResumptions", (double)ms->ms_tlsresumed, &first);
	json_key(sb, "pools", &first);
	sbuf_puts(sb, "[");
	for (i = 0; i < ms->ms_npools; i++) {
		if (i > 0)
			sbuf_puts(sb, ", ");
		metrics_json_string(sb, ms->ms_pools[i]);
	}
	sbuf_puts(sb, "]}");
}

static void
json_rules(struct sbuf *sb, const struct metrics_chain *mc, bool response)
{
	const struct metrics_rule	*mr;
	bool				 first;
	size_t				 i;

	sbuf_puts(sb, "[");
	for (i = 0; i < mc->mc_count; i++) {
		mr = &mc->mc_rules[i];
		first = true;
		sbuf_puts(sb, i > 0 ? ", {" : "{");
		json_num(sb, "id", (double)i, &first);
		json_num(sb, "creationOrder", (double)mr->mr_order, &first);
		json_str(sb, "uuid", mr->mr_uuid, &first);
		json_str(sb, "name", mr->mr_name, &first);
		json_num(sb, "matches", (double)mr->mr_matches, &first);
		json_str(sb, "rule", mr->mr_rule, &first);
		json_str(sb, "action", mr->mr_action, &first);
		if (!response) {
			json_key(sb, "action-stats", &first);
			sbuf_puts(sb, "{}");
		}
		sbuf_puts(sb, "}");
	}
	sbuf_puts(sb, "]");
}

/* A pool's cache figures; dnsdist says 0 for a pool without a cache. */
static void
json_pool_cache(struct sbuf *sb, const struct metrics_pool *mp, bool *first)
{
	size_t	j;

	for (j = 0; j < METRICS_NCACHE; j++)
		json_num(sb, cache_json[j], (double)mp->mp_cache[j], first);
	json_num(sb, "cacheCleanupCount", (double)mp->mp_cleanups, first);
}

void
metrics_json_localhost(struct sbuf *sb, const struct metrics *mx)
{
	const struct metrics_frontend	*mf;
	const struct metrics_pool	*mp;
	bool				 first = true, f2;
	size_t				 i, j;

	sbuf_puts(sb, "{");
	json_str(sb, "daemon_type", "dnsdist", &first);
	json_str(sb, "version", DNSDIST_VERSION, &first);
	json_str(sb, "acl", mx->mx_acl, &first);
	json_str(sb, "local", mx->mx_local, &first);
	json_key(sb, "servers", &first);
	sbuf_puts(sb, "[");
	for (i = 0; i < mx->mx_nservers; i++) {
		if (i > 0)
			sbuf_puts(sb, ", ");
		json_server(sb, &mx->mx_servers[i]);
	}
	sbuf_puts(sb, "]");
	json_key(sb, "frontends", &first);
	sbuf_puts(sb, "[");
	for (i = 0; i < mx->mx_nfrontends; i++) {
		mf = &mx->mx_frontends[i];
		f2 = true;
		sbuf_puts(sb, i > 0 ? ", {" : "{");
		json_num(sb, "id", (double)i, &f2);
		json_str(sb, "address", mf->mf_addr, &f2);
		json_str(sb, "type", mf->mf_proto, &f2);
		json_bool(sb, "udp", strcmp(mf->mf_proto, "UDP") == 0, &f2);
		json_bool(sb, "tcp", strcmp(mf->mf_proto, "UDP") != 0, &f2);
		json_num(sb, "queries", (double)mf->mf_queries, &f2);
		json_num(sb, "responses", (double)mf->mf_responses, &f2);
		json_num(sb, "nonCompliantQueries", (double)mf->mf_noncompliant,
		    &f2);
		for (j = 0; mf->mf_tls && j < TLSC_COUNT; j++)
			json_num(sb, tls_names[j].t_json,
			    (double)mf->mf_tlsc[j], &f2);
		sbuf_puts(sb, "}");
	}
	sbuf_puts(sb, "]");
	json_key(sb, "pools", &first);
	sbuf_puts(sb, "[");
	for (i = 0; i < mx->mx_npools; i++) {
		mp = &mx->mx_pools[i];
		f2 = true;
		sbuf_puts(sb, i > 0 ? ", {" : "{");
		json_num(sb, "id", (double)i, &f2);
		json_str(sb, "name", mp->mp_name, &f2);
		json_num(sb, "serversCount", (double)mp->mp_servers, &f2);
		json_num(sb, "serversUp", (double)mp->mp_up, &f2);
		json_str(sb, "policy", mp->mp_policy, &f2);
		json_pool_cache(sb, mp, &f2);
		sbuf_puts(sb, "}");
	}
	sbuf_puts(sb, "]");
	for (i = 0; i < METRICS_NCHAINS; i++) {
		json_key(sb, chain_keys[i], &first);
		json_rules(sb, &mx->mx_chains[i], i != METRICS_RULES);
	}
	json_key(sb, "statistics", &first);
	metrics_json_stats(sb, mx);
	sbuf_puts(sb, "}");
}

int
metrics_json_pool(struct sbuf *sb, const struct metrics *mx,
    const char *name)
{
	const struct metrics_pool	*mp = NULL;
	bool				 first = true, f2 = true, any = false;
	size_t				 i, j;

	for (i = 0; i < mx->mx_npools && mp == NULL; i++)
		if (strcmp(mx->mx_pools[i].mp_name, name) == 0)
			mp = &mx->mx_pools[i];
	if (mp == NULL)
		return -1;
	sbuf_puts(sb, "{");
	json_key(sb, "stats", &first);
	sbuf_puts(sb, "{");
	json_str(sb, "name", mp->mp_name, &f2);
	json_num(sb, "serversCount", (double)mp->mp_servers, &f2);
	json_num(sb, "serversUp", (double)mp->mp_up, &f2);
	json_str(sb, "policy", mp->mp_policy, &f2);
	json_pool_cache(sb, mp, &f2);
	sbuf_puts(sb, "}");
	json_key(sb, "servers", &first);
	sbuf_puts(sb, "[");
	for (i = 0; i < mx->mx_nservers; i++)
		for (j = 0; j < mx->mx_servers[i].ms_npools; j++)
			if (strcmp(mx->mx_servers[i].ms_pools[j], name) == 0) {
				if (any)
					sbuf_puts(sb, ", ");
				json_server(sb, &mx->mx_servers[i]);
				any = true;
				break;
			}
	sbuf_puts(sb, "]}");
	return 0;
}

void
metrics_json_statistics(struct sbuf *sb, const struct metrics *mx)
{
	bool	first;
	size_t	i, n;

	sbuf_puts(sb, "[");
	for (i = 0, n = 0; i < mx->mx_nstats; i++) {
		if (mx->mx_stats[i].sv_ours)
			continue;
		first = true;
		sbuf_puts(sb, n++ > 0 ? ", {" : "{");
		json_str(sb, "type", "StatisticItem", &first);
		json_str(sb, "name", mx->mx_stats[i].sv_name, &first);
		json_num(sb, "value", mx->mx_stats[i].sv_value, &first);
		sbuf_puts(sb, "}");
	}
	sbuf_puts(sb, "]");
}

void
metrics_json_config(struct sbuf *sb, const struct metrics *mx)
{
	const struct metrics_config	*mk;
	bool				 first;
	size_t				 i;

	sbuf_puts(sb, "[");
	for (i = 0; i < mx->mx_nconfig; i++) {
		mk = &mx->mx_config[i];
		first = true;
		sbuf_puts(sb, i > 0 ? ", {" : "{");
		json_str(sb, "type", "ConfigSetting", &first);
		json_str(sb, "name", mk->mk_name, &first);
		if (mk->mk_kind == METRICS_STRING)
			json_str(sb, "value", mk->mk_text, &first);
		else if (mk->mk_kind == METRICS_BOOL)
			json_bool(sb, "value", mk->mk_value != 0, &first);
		else
			json_num(sb, "value", mk->mk_value, &first);
		sbuf_puts(sb, "}");
	}
	sbuf_puts(sb, "]");
}

void
metrics_json_allowfrom(struct sbuf *sb, const struct metrics *mx)
{
	bool	first = true;
	size_t	i;

	sbuf_puts(sb, "{");
	json_str(sb, "name", "allow-from", &first);
	json_str(sb, "type", "ConfigSetting", &first);
	json_key(sb, "value", &first);
	sbuf_puts(sb, "[");
	for (i = 0; i < mx->mx_nacl; i++) {
		if (i > 0)
			sbuf_puts(sb, ", ");
		metrics_json_string(sb, mx->mx_aclv[i]);
	}
	sbuf_puts(sb, "]}");
}

struct dynblock_json {
	struct sbuf	*dj_sb;
	bool		 dj_first;
};

static void
json_dynblock(const struct dynblock_info *di, void *arg)
{
	struct dynblock_json	*dj = arg;
	bool			 f = true;

	json_key(dj->dj_sb, di->di_what, &dj->dj_first);
	sbuf_puts(dj->dj_sb, "{");
	json_str(dj->dj_sb, "reason", di->di_reason, &f);
	json_num(dj->dj_sb, "seconds", (double)di->di_seconds, &f);
	json_num(dj->dj_sb, "blocks", (double)di->di_blocks, &f);
	json_str(dj->dj_sb, "action", dynblock_action_name(di->di_action), &f);
	json_bool(dj->dj_sb, "warning", di->di_warning, &f);
	json_bool(dj->dj_sb, "ebpf", false, &f);
	sbuf_puts(dj->dj_sb, "}");
}

void
metrics_json_dynblocks(struct sbuf *sb)
{
	struct dynblock_json	dj = { sb, true };

	sbuf_puts(sb, "{");
	dynblock_foreach(dynblock_now(), json_dynblock, &dj);
	sbuf_puts(sb, "}");
}

static void
json_top_count(struct sbuf *sb, uint64_t n, uint64_t total, bool *first)
{
	json_num(sb, "queries", (double)n, first);
	json_num(sb, "percentage", total > 0 ? 100.0 * (double)n /
	    (double)total : 0, first);
}

void
metrics_json_top(struct sbuf *sb, const struct ring_top *rt, size_t n,
    const char *keyname)
{
	uint64_t	shown = 0;
	size_t		i;
	bool		first = true, f;

	sbuf_puts(sb, "{");
	json_num(sb, "total", (double)rt->rt_total, &first);
	json_key(sb, "entries", &first);
	sbuf_puts(sb, "[");
	for (i = 0; i < rt->rt_t.qt_count && i < n; i++) {
		f = true;
		sbuf_puts(sb, i > 0 ? ", {" : "{");
		json_str(sb, keyname, rt->rt_t.qt_items[i].qi_key, &f);
		json_top_count(sb, rt->rt_t.qt_items[i].qi_n, rt->rt_total,
		    &f);
		sbuf_puts(sb, "}");
		shown += rt->rt_t.qt_items[i].qi_n;
	}
	sbuf_puts(sb, "]");
	json_key(sb, "rest", &first);
	f = true;
	sbuf_puts(sb, "{");
	json_top_count(sb, rt->rt_total - shown, rt->rt_total, &f);
	sbuf_puts(sb, "}}");
}
