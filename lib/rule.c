/*
 * Selectors and rule chains.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <sodium.h>

#include "addr.h"
#include "policy.h"
#include "proxyproto.h"
#include "config.h"
#include "server.h"
#include "kvs.h"
#include "rule.h"
#include "uuid.h"
#include "siphash.h"

struct rule_chain	rules_query;
struct rule_chain	rules_response;
struct rule_chain	rules_cachehit;
struct rule_chain	rules_selfanswered;
struct rule_chain	rules_cacheinserted;

bool	(*rule_lua_match)(struct luafn *, struct dnsq *);
int	(*rule_lua_action)(struct luafn *, struct dnsq *);
void	(*rule_lua_release)(struct luafn *);
bool	(*rule_pool_available)(const char *);
void	(*rule_tee_send)(struct action *, const struct dnsq *);
void	(*rule_remote_log)(struct action *, struct dnsq *);
void	(*rule_tee_close)(struct action *);
void	(*rule_tee_drain)(struct action *);
const char *const tee_stat_names[TEE_NSTATS] = { "noerrors", "nxdomains",
    "other-rcode", "queries", "recv-errors", "refuseds", "responses",
    "send-errors", "servfails", "tcp-drops" };

/*
 * Per-client token buckets for MaxQPSIPRule: bounded, entries expire.  An
 * expired entry is taken over by the next client that needs room, so
 * that no sweep is needed (dnsdist's cleanupDelay and scanFraction).
 */
struct qpsip_entry {
	uint8_t		 qe_addr[16];
	uint8_t		 qe_family;	/* 0: empty */
	uint64_t	 qe_seen;	/* monotonic ns */
	struct qps	 qe_bucket;
};

/* One lock's part of the table (MaxQPSIPRule's shards). */
struct qpsip_shard {
	pthread_mutex_t		 qs_lock;
	struct qpsip_entry	*qs_entries;
};

struct qpsip_table {
	struct qpsip_shard	*qt_shards;
	size_t			 qt_nshards;
	size_t			 qt_n;		/* a shard's; a power of two */
	double			 qt_rate;
	double			 qt_burst;
	int			 qt_v4bits;
	int			 qt_v6bits;
	uint64_t		 qt_expire;	/* ns */
	uint8_t			 qt_key[16];
};

#define QPSIP_PROBES	8

/*
 * TimedIPSetRule's addresses: open addressing under a secret key, grown
 * by the configuration's thread, read by packet threads under the lock.
 */
struct tis_entry {
	uint8_t		 te_addr[16];
	uint8_t		 te_family;	/* 0: empty */
	uint64_t	 te_expire;	/* monotonic ns */
};

struct timedipset {
	pthread_rwlock_t	 ts_lock;
	struct tis_entry	*ts_tab;
	size_t			 ts_n;		/* a power of two, or 0 */
	size_t			 ts_used;
	uint8_t			 ts_key[16];
};

struct selector *
selector_new(int kind)
{
	struct selector	*se;

	if ((se = calloc(1, sizeof(*se))) == NULL)
		return NULL;
	se->se_kind = kind;
	atomic_init(&se->se_refs, 1);
	if (kind == SEL_NMG)
		netmask_group_init(&se->se_u.nmg);
	else if (kind == SEL_MAXQPS)
		pthread_mutex_init(&se->se_u.maxqps.lock, NULL);
	return se;
}

void
selector_ref(struct selector *se)
{
	atomic_fetch_add(&se->se_refs, 1);
}

static void
qpsip_free(struct qpsip_table *qt)
{
	size_t	i;

	for (i = 0; i < qt->qt_nshards; i++) {
		pthread_mutex_destroy(&qt->qt_shards[i].qs_lock);
		free(qt->qt_shards[i].qs_entries);
	}
	free(qt->qt_shards);
	free(qt);
}

void
selector_unref(struct selector *se)
{
	size_t	i;

	if (se == NULL || atomic_fetch_sub(&se->se_refs, 1) != 1)
		return;
	switch (se->se_kind) {
	case SEL_LUA:
		if (rule_lua_release != NULL)
			rule_lua_release(se->se_u.luafn);
		break;
	case SEL_QNAMESET:
	case SEL_SUFFIX:
		suffix_unref(se->se_u.names);
		break;
	case SEL_NMG:
		netmask_group_clear(&se->se_u.nmg);
		break;
	case SEL_REGEX:
		regfree(&se->se_u.regex.re);
		break;
	case SEL_HTTPPATHREGEX:
	case SEL_HTTPHEADER:
		regfree(&se->se_u.http.re);
		/* FALLTHROUGH */
	case SEL_HTTPPATH:
		free(se->se_u.http.str);
		break;
	case SEL_TAG:
		free(se->se_u.tag.name);
		free(se->se_u.tag.value);
		break;
	case SEL_PPVALUE:
		free(se->se_u.ppv.value);
		break;
	case SEL_POOLAVAILABLE:
	case SEL_SNI:
		free(se->se_u.pool);
		break;
	case SEL_MAXQPS:
		pthread_mutex_destroy(&se->se_u.maxqps.lock);
		break;
	case SEL_TIMEDIPSET:
		if (se->se_u.tis != NULL) {
			pthread_rwlock_destroy(&se->se_u.tis->ts_lock);
			free(se->se_u.tis->ts_tab);
			free(se->se_u.tis);
		}
		break;
	case SEL_POOLOUTSTANDING:
		free(se->se_u.outstanding.pool);
		break;
	case SEL_KVS:
		kvs_unref(se->se_u.kvs.kl_store);
		kvs_key_free(se->se_u.kvs.kl_key);
		break;
	case SEL_MAXQPSIP:
		if (se->se_u.qpsip != NULL)
			qpsip_free(se->se_u.qpsip);
		break;
	case SEL_AND:
	case SEL_OR:
		for (i = 0; i < se->se_u.list.n; i++)
			selector_unref(se->se_u.list.subs[i]);
		free(se->se_u.list.subs);
		break;
	case SEL_NOT:
		selector_unref(se->se_u.inner);
		break;
	}
	free(se->se_desc);
	free(se);
}

int
selector_set_desc(struct selector *se, const char *fmt, ...)
{
	va_list	ap;
	int	rc;

	va_start(ap, fmt);
	rc = sbuf_vreplace(&se->se_desc, fmt, ap);
	va_end(ap);
	return rc;
}

struct selector *
selector_maxqpsip(double qps, int v4bits, int v6bits, double burst,
    int expiration, size_t maxentries, size_t nshards)
{
	struct selector		*se;
	struct qpsip_table	*qt;
	size_t			 i, n = 1024;

	if (qps <= 0 || v4bits < 0 || v4bits > 32 || v6bits < 0 ||
	    v6bits > 128 || expiration <= 0 || nshards < 1 || nshards > 1024)
		return NULL;
	while (n * nshards < maxentries)
		n *= 2;
	if ((se = selector_new(SEL_MAXQPSIP)) == NULL)
		return NULL;
	if ((qt = calloc(1, sizeof(*qt))) == NULL ||
	    (qt->qt_shards = calloc(nshards, sizeof(*qt->qt_shards))) ==
	    NULL) {
		free(qt);
		selector_unref(se);
		return NULL;
	}
	se->se_u.qpsip = qt;
	for (i = 0; i < nshards; i++) {
		if ((qt->qt_shards[i].qs_entries = calloc(n,
		    sizeof(struct qpsip_entry))) == NULL) {
			selector_unref(se);
			return NULL;
		}
		pthread_mutex_init(&qt->qt_shards[i].qs_lock, NULL);
		qt->qt_nshards++;
	}
	qt->qt_n = n;
	qt->qt_rate = qps;
	qt->qt_burst = burst > 0 ? burst : qps;
	qt->qt_v4bits = v4bits;
	qt->qt_v6bits = v6bits;
	qt->qt_expire = (uint64_t)expiration * 1000000000ULL;
	randombytes_buf(qt->qt_key, sizeof(qt->qt_key));
	if (selector_set_desc(se, "IP (/%d, /%d) match for QPS over %g burst %g",
	    v4bits, v6bits, qps, qt->qt_burst) == -1) {
		selector_unref(se);
		return NULL;
	}
	return se;
}

/* The client's network under the table's masks, as 16 bytes. */
static int
qpsip_key(const struct qpsip_table *qt, const struct sockaddr *sa,
    uint8_t out[16])
{
	int	bits, i, family = sa->sa_family;

	memset(out, 0, 16);
	if (family == AF_INET) {
		memcpy(out, &((const struct sockaddr_in *)sa)->sin_addr, 4);
		bits = qt->qt_v4bits;
	} else if (family == AF_INET6) {
		memcpy(out, &((const struct sockaddr_in6 *)sa)->sin6_addr, 16);
		bits = qt->qt_v6bits;
	} else
		return 0;
	for (i = 0; i < 16; i++) {
		if (bits >= 8)
			bits -= 8;
		else {
			out[i] &= (uint8_t)(0xff << (8 - bits));
			bits = 0;
		}
	}
	return family;
}

/* True when the client is over its rate (and so the rule matches). */
static bool
qpsip_over(struct qpsip_table *qt, const struct sockaddr *sa, uint64_t now)
{
	struct qpsip_entry	*e, *victim = NULL;
	struct qpsip_shard	*qs;
	uint8_t			 key[16];
	uint64_t		 hv;
	size_t			 i, idx;
	int			 family;
	bool			 over;

	if ((family = qpsip_key(qt, sa, key)) == 0)
		return false;
	hv = siphash24(qt->qt_key, key, sizeof(key));
	qs = &qt->qt_shards[(hv >> 32) % qt->qt_nshards];
	pthread_mutex_lock(&qs->qs_lock);
	for (i = 0; i < QPSIP_PROBES; i++) {
		idx = (size_t)(hv + i) & (qt->qt_n - 1);
		e = &qs->qs_entries[idx];
		if (e->qe_family == family && memcmp(e->qe_addr, key, 16) == 0)
			goto found;
		/* Reuse an empty or expired entry, else the stalest. */
		if (e->qe_family == 0 || now - e->qe_seen > qt->qt_expire) {
			if (victim == NULL || victim->qe_family != 0)
				victim = e;
		} else if (victim == NULL || (victim->qe_family != 0 &&
		    e->qe_seen < victim->qe_seen))
			victim = e;
	}
	e = victim;
	memcpy(e->qe_addr, key, 16);
	e->qe_family = (uint8_t)family;
	qps_init(&e->qe_bucket, qt->qt_rate, qt->qt_burst, now);
found:
	e->qe_seen = now;
	over = !qps_take(&e->qe_bucket, now);
	pthread_mutex_unlock(&qs->qs_lock);
	return over;
}

struct selector *
selector_timedipset(void)
{
	struct selector		*se;
	struct timedipset	*ts;

	if ((se = selector_new(SEL_TIMEDIPSET)) == NULL)
		return NULL;
	if ((ts = calloc(1, sizeof(*ts))) == NULL ||
	    selector_set_desc(se, "Src: limited set of IP addresses") == -1) {
		free(ts);
		selector_unref(se);
		return NULL;
	}
	pthread_rwlock_init(&ts->ts_lock, NULL);
	randombytes_buf(ts->ts_key, sizeof(ts->ts_key));
	se->se_u.tis = ts;
	return se;
}

/* The address of sa as a key; 0 for a family without one. */
static int
tis_key(const struct sockaddr *sa, uint8_t out[16])
{
	memset(out, 0, 16);
	if (sa->sa_family == AF_INET)
		memcpy(out, &((const struct sockaddr_in *)sa)->sin_addr, 4);
	else if (sa->sa_family == AF_INET6)
		memcpy(out, &((const struct sockaddr_in6 *)sa)->sin6_addr, 16);
	else
		return 0;
	return sa->sa_family;
}

/* The entry of the address, or the empty one where it would go. */
static struct tis_entry *
tis_slot(struct tis_entry *tab, size_t n, const uint8_t key[16],
    const uint8_t addr[16], int family)
{
	struct tis_entry	*e;
	size_t			 i;

	i = (size_t)siphash24(key, addr, 16) + (size_t)family;
	for (;; i++) {
		e = &tab[i & (n - 1)];
		if (e->te_family == 0 || (e->te_family == family &&
		    memcmp(e->te_addr, addr, 16) == 0))
			return e;
	}
}

/* Make a table of n entries with the live ones of ts; the write lock held. */
static int
tis_rehash(struct timedipset *ts, size_t n, uint64_t now)
{
	struct tis_entry	*tab, *e, *o;
	size_t			 i, used = 0;

	if ((tab = calloc(n, sizeof(*tab))) == NULL)
		return -1;
	for (i = 0; i < ts->ts_n; i++) {
		o = &ts->ts_tab[i];
		if (o->te_family == 0 || o->te_expire <= now)
			continue;
		e = tis_slot(tab, n, ts->ts_key, o->te_addr, o->te_family);
		*e = *o;
		used++;
	}
	free(ts->ts_tab);
	ts->ts_tab = tab;
	ts->ts_n = n;
	ts->ts_used = used;
	return 0;
}

int
timedipset_add(struct timedipset *ts, const struct sockaddr *sa,
    uint64_t expire)
{
	struct tis_entry	*e;
	uint8_t			 addr[16];
	int			 family, rc = 0;

	if ((family = tis_key(sa, addr)) == 0)
		return 0;
	pthread_rwlock_wrlock(&ts->ts_lock);
	/* At most half full, so that probes end soon. */
	if ((ts->ts_used + 1) * 2 > ts->ts_n &&
	    tis_rehash(ts, ts->ts_n ? ts->ts_n * 2 : 64, 0) == -1)
		rc = -1;
	else {
		e = tis_slot(ts->ts_tab, ts->ts_n, ts->ts_key, addr, family);
		if (e->te_family == 0) {
			memcpy(e->te_addr, addr, 16);
			e->te_family = (uint8_t)family;
			ts->ts_used++;
		}
		if (e->te_expire < expire)
			e->te_expire = expire;
	}
	pthread_rwlock_unlock(&ts->ts_lock);
	return rc;
}

int
timedipset_cleanup(struct timedipset *ts, uint64_t now)
{
	int	rc;

	pthread_rwlock_wrlock(&ts->ts_lock);
	rc = ts->ts_n == 0 ? 0 : tis_rehash(ts, ts->ts_n, now);
	pthread_rwlock_unlock(&ts->ts_lock);
	return rc;
}

void
timedipset_clear(struct timedipset *ts)
{
	pthread_rwlock_wrlock(&ts->ts_lock);
	free(ts->ts_tab);
	ts->ts_tab = NULL;
	ts->ts_n = ts->ts_used = 0;
	pthread_rwlock_unlock(&ts->ts_lock);
}

static bool
timedipset_match(struct timedipset *ts, const struct sockaddr *sa,
    uint64_t now)
{
	struct tis_entry	*e;
	uint8_t			 addr[16];
	int			 family;
	bool			 hit = false;

	if ((family = tis_key(sa, addr)) == 0)
		return false;
	pthread_rwlock_rdlock(&ts->ts_lock);
	if (ts->ts_n > 0) {
		e = tis_slot(ts->ts_tab, ts->ts_n, ts->ts_key, addr, family);
		hit = e->te_family != 0 && now < e->te_expire;
	}
	pthread_rwlock_unlock(&ts->ts_lock);
	return hit;
}

/* The queries in flight to the servers of a pool (PoolOutstandingRule). */
static uint64_t
pool_outstanding(const struct config *cf, const char *name)
{
	struct pool	*pl = config_pool(cf, name);
	uint64_t	 n = 0;
	size_t		 i;
	int		 o;

	for (i = 0; pl != NULL && i < pl->pl_count; i++)
		if ((o = atomic_load_explicit(&pl->pl_servers[i]->ds_outstanding,
		    memory_order_relaxed)) > 0)
			n += (uint64_t)o;
	return n;
}

static bool
dq_opt(struct dnsq *dq, struct dnsopt *oi)
{
	return dnspacket_find_opt(dq->dq_pkt, dq->dq_len, dq->dq_q->q_end,
	    oi) == 1;
}

struct type_count {
	int		section;
	uint16_t	type;
	int		n;
};

static void
count_type(void *arg, const struct dnsrr *rr)
{
	struct type_count	*tc = arg;

	if ((tc->section < 1 || tc->section == rr->rr_section) &&
	    rr->rr_type == tc->type)
		tc->n++;
}

static bool
match_edns_option(struct dnsq *dq, uint16_t code)
{
	struct dnsopt	oi;
	size_t		pos, data;
	uint16_t	c, l;

	if (!dq_opt(dq, &oi))
		return false;
	pos = oi.o_rdoff;
	while (dnspacket_opt_next(dq->dq_pkt, &oi, &pos, &c, &l, &data) == 1)
		if (c == code)
			return true;
	return false;
}

static int
dq_section_count(struct dnsq *dq, int section)
{
	switch (section) {
	case 0:
		return dnspacket_qdcount(dq->dq_pkt);
	case 1:
		return dnspacket_ancount(dq->dq_pkt);
	case 2:
		return dnspacket_nscount(dq->dq_pkt);
	case 3:
		return dnspacket_arcount(dq->dq_pkt);
	default:
		return dnspacket_qdcount(dq->dq_pkt) +
		    dnspacket_ancount(dq->dq_pkt) +
		    dnspacket_nscount(dq->dq_pkt) +
		    dnspacket_arcount(dq->dq_pkt);
	}
}

/* ProxyProtocolValueRule: a TLV of the type, with the value if given. */
static bool
dq_has_ppvalue(const struct dnsq *dq, const struct selector *se)
{
	const uint8_t	*v;
	size_t		 off = 0;
	uint16_t	 vlen;
	uint8_t		 t;

	while (dq->dq_pp != NULL && proxyproto_tlv_next(dq->dq_pp->pt_buf,
	    dq->dq_pp->pt_len, &off, &t, &v, &vlen))
		if (t == se->se_u.ppv.type && (se->se_u.ppv.any ||
		    (vlen == se->se_u.ppv.len && (vlen == 0 ||
		    memcmp(v, se->se_u.ppv.value, vlen) == 0))))
			return true;
	return false;
}

static bool
dq_has_tag(struct dnsq *dq, const char *name, const char *value)
{
	int	i;

	for (i = 0; i < dq->dq_ntags; i++)
		if (strcmp(dq->dq_tags[i].t_name, name) == 0)
			return value == NULL ||
			    strcmp(dq->dq_tags[i].t_value, value) == 0;
	return false;
}

bool
selector_match(struct selector *se, struct dnsq *dq)
{
	const struct dnsquestion	*q = dq->dq_q;
	struct dnsopt			 oi;
	struct type_count		 tc;
	char				 text[DNSNAME_MAXTEXT];
	size_t				 i;
	int				 n;
	bool				 ok;

	switch (se->se_kind) {
	case SEL_ALL:
		return true;
	case SEL_QNAME:
		return dnsname_equal(q->q_name, q->q_namelen,
		    se->se_u.qname.name, se->se_u.qname.len);
	case SEL_QNAMESET:
		return suffix_has(se->se_u.names, q->q_name, q->q_namelen);
	case SEL_SUFFIX:
		return suffix_match(se->se_u.names, q->q_name, q->q_namelen,
		    NULL);
	case SEL_NMG:
		if (se->se_dst)
			return dq->dq_local != NULL && netmask_group_match(
			    &se->se_u.nmg, dq->dq_local) == 1;
		return netmask_group_match(&se->se_u.nmg, dq->dq_remote) == 1;
	case SEL_QTYPE:
		return q->q_type == se->se_u.num;
	case SEL_QCLASS:
		return q->q_class == se->se_u.num;
	case SEL_REGEX:
		n = dnsname_to_text(q->q_name, q->q_namelen, text,
		    sizeof(text));
		if (n > 1 && text[n - 1] == '.')
			text[n - 1] = '\0';
		return n > 0 && regexec(&se->se_u.regex.re, text, 0, NULL,
		    0) == 0;
	case SEL_OPCODE:
		return (uint32_t)dnspacket_opcode(dq->dq_pkt) == se->se_u.num;
	case SEL_RD:
		return dnspacket_rd(dq->dq_pkt);
	case SEL_TCP:
		return dq->dq_tcp == se->se_u.flag;
	case SEL_SNI:
		return dq->dq_sni != NULL &&
		    strcmp(dq->dq_sni, se->se_u.pool) == 0;
	case SEL_DSTPORT:
		return dq->dq_local != NULL &&
		    addr_port(dq->dq_local) == se->se_u.num;
	case SEL_DNSSEC:
		return dq_opt(dq, &oi) && (dq->dq_pkt[oi.o_ttloff + 2] & 0x80);
	case SEL_QNAMELABELS:
		/* As dnsdist: names outside the bounds match. */
		n = dnsname_count_labels(q->q_name, q->q_namelen);
		return n < se->se_u.range.min || n > se->se_u.range.max;
	case SEL_QNAMEWIRELEN:
		return (int)q->q_namelen < se->se_u.range.min ||
		    (int)q->q_namelen > se->se_u.range.max;
	case SEL_RECORDSCOUNT:
		n = dq_section_count(dq, se->se_u.range.section);
		return n >= se->se_u.range.min && n <= se->se_u.range.max;
	case SEL_RECORDSTYPECOUNT:
		tc.section = se->se_u.range.section;
		tc.type = se->se_u.range.type;
		tc.n = 0;
		if (tc.section == 0)
			tc.n = q->q_type == tc.type;
		else if (dnspacket_walk(dq->dq_pkt, dq->dq_len, q->q_end,
		    count_type, &tc) == -1)
			return false;
		return tc.n >= se->se_u.range.min && tc.n <= se->se_u.range.max;
	case SEL_TRAILINGDATA: {
		long end = dnspacket_walk(dq->dq_pkt, dq->dq_len, q->q_end,
		    NULL, NULL);
		return end != -1 && (size_t)end < dq->dq_len;
	}
	case SEL_PROBA:
		return (double)(policy_random(dq->dq_rnd) >> 11) *
		    (1.0 / 9007199254740992.0) < se->se_u.proba;
	case SEL_TAG:
		return dq_has_tag(dq, se->se_u.tag.name, se->se_u.tag.value);
	case SEL_PPVALUE:
		return dq_has_ppvalue(dq, se);
	case SEL_HTTPPATH:
		return dq->dq_http != NULL &&
		    strcmp(dq->dq_http->dr_path, se->se_u.http.str) == 0;
	case SEL_HTTPPATHREGEX:
		return dq->dq_http != NULL && regexec(&se->se_u.http.re,
		    dq->dq_http->dr_path, 0, NULL, 0) == 0;
	case SEL_HTTPHEADER:
		for (i = 0; dq->dq_http != NULL &&
		    i < dq->dq_http->dr_nheaders; i++)
			if (strcasecmp(dq->dq_http->dr_headers[i].h_name,
			    se->se_u.http.str) == 0)
				return regexec(&se->se_u.http.re,
				    dq->dq_http->dr_headers[i].h_value, 0,
				    NULL, 0) == 0;
		return false;
	case SEL_POOLAVAILABLE:
		return rule_pool_available != NULL &&
		    rule_pool_available(se->se_u.pool);
	case SEL_MAXQPS:
		pthread_mutex_lock(&se->se_u.maxqps.lock);
		ok = qps_take(&se->se_u.maxqps.bucket, dq->dq_now);
		pthread_mutex_unlock(&se->se_u.maxqps.lock);
		return ok;
	case SEL_MAXQPSIP:
		return qpsip_over(se->se_u.qpsip, dq->dq_remote, dq->dq_now);
	case SEL_TIMEDIPSET:
		return timedipset_match(se->se_u.tis, dq->dq_remote,
		    dq->dq_now);
	case SEL_POOLOUTSTANDING:
		return pool_outstanding(dq->dq_cf, se->se_u.outstanding.pool) >
		    se->se_u.outstanding.limit;
	case SEL_AND:
		for (i = 0; i < se->se_u.list.n; i++)
			if (!selector_match(se->se_u.list.subs[i], dq))
				return false;
		return true;
	case SEL_OR:
		for (i = 0; i < se->se_u.list.n; i++)
			if (selector_match(se->se_u.list.subs[i], dq))
				return true;
		return false;
	case SEL_NOT:
		return !selector_match(se->se_u.inner, dq);
	case SEL_LUA:
		return rule_lua_match != NULL &&
		    rule_lua_match(se->se_u.luafn, dq);
	case SEL_RCODE:
		return (uint32_t)dnspacket_rcode(dq->dq_pkt) == se->se_u.num;
	case SEL_ERCODE:
		n = dnspacket_rcode(dq->dq_pkt);
		if (dq_opt(dq, &oi))
			n |= dq->dq_pkt[oi.o_ttloff] << 4;
		return (uint32_t)n == se->se_u.num;
	case SEL_EDNSVERSION:
		return dq_opt(dq, &oi) &&
		    dq->dq_pkt[oi.o_ttloff + 1] > se->se_u.num;
	case SEL_EDNSOPTION:
		return match_edns_option(dq, (uint16_t)se->se_u.num);
	case SEL_KVS:
		return kvs_match(se->se_u.kvs.kl_store, se->se_u.kvs.kl_key,
		    se->se_u.kvs.kl_range, dq);
	}
	return false;
}

struct dq_tagset {
	struct doh_request *ts_http;	/* a DoH query's request, or NULL */
	int	 ts_n;
	char	*ts_name[DQ_MAXTAGS];
	char	*ts_value[DQ_MAXTAGS];
	char	*ts_pbid[DQ_PBIDS];
	size_t	 ts_pbidlen[DQ_PBIDS];
	char	 ts_buf[];
};

struct dq_tagset *
dnsq_tags_save(const struct dnsq *dq)
{
	struct dq_tagset	*ts;
	size_t			 need = 0, n;
	char			*p;
	int			 i;
	bool			 ids = false;

	for (i = 0; i < DQ_PBIDS; i++)
		if (dq->dq_pbid[i] != NULL) {
			need += dq->dq_pbidlen[i];
			ids = true;
		}
	/*
	 * Only the response chains read them back: without any, a tagged
	 * query (KeyValueStoreLookupAction's, say) costs no allocation.
	 */
	if ((dq->dq_ntags == 0 && !ids && dq->dq_http == NULL) ||
	    (dq->dq_cf != NULL && dq->dq_cf->cf_response.rc_count == 0 &&
	    dq->dq_cf->cf_cacheinserted.rc_count == 0))
		return NULL;
	for (i = 0; i < dq->dq_ntags; i++)
		need += strlen(dq->dq_tags[i].t_name) +
		    strlen(dq->dq_tags[i].t_value) + 2;
	if ((ts = malloc(sizeof(*ts) + need)) == NULL)
		return NULL;
	/* What the response's rules and remote loggers see of HTTP. */
	ts->ts_http = dq->dq_http != NULL ? doh_request_copy(dq->dq_http) :
	    NULL;
	p = ts->ts_buf;
	for (i = 0; i < dq->dq_ntags; i++) {
		n = strlen(dq->dq_tags[i].t_name) + 1;
		ts->ts_name[i] = memcpy(p, dq->dq_tags[i].t_name, n);
		p += n;
		n = strlen(dq->dq_tags[i].t_value) + 1;
		ts->ts_value[i] = memcpy(p, dq->dq_tags[i].t_value, n);
		p += n;
	}
	ts->ts_n = dq->dq_ntags;
	for (i = 0; i < DQ_PBIDS; i++) {
		ts->ts_pbid[i] = NULL;
		if (dq->dq_pbid[i] == NULL)
			continue;
		ts->ts_pbid[i] = memcpy(p, dq->dq_pbid[i], dq->dq_pbidlen[i]);
		ts->ts_pbidlen[i] = dq->dq_pbidlen[i];
		p += dq->dq_pbidlen[i];
	}
	return ts;
}

void
dnsq_tags_load(struct dnsq *dq, const struct dq_tagset *ts)
{
	int	i;

	if (ts == NULL)
		return;
	for (i = 0; i < ts->ts_n; i++) {
		dq->dq_tags[i].t_name = ts->ts_name[i];
		dq->dq_tags[i].t_value = ts->ts_value[i];
	}
	dq->dq_ntags = ts->ts_n;
	if (ts->ts_http != NULL)
		dq->dq_http = ts->ts_http;
	for (i = 0; i < DQ_PBIDS; i++) {
		dq->dq_pbid[i] = ts->ts_pbid[i];
		dq->dq_pbidlen[i] = ts->ts_pbidlen[i];
	}
}

void
dnsq_tags_free(struct dq_tagset *ts)
{
	if (ts != NULL)
		free(ts->ts_http);
	free(ts);
}

struct dq_restart *
dnsq_restart_save(const struct dnsq *dq)
{
	struct dq_restart	*rs;

	if (dq->dq_restart == NULL || (rs = malloc(sizeof(*rs) +
	    dq->dq_restart->rs_len)) == NULL)
		return NULL;
	memcpy(rs, dq->dq_restart, sizeof(*rs) + dq->dq_restart->rs_len);
	rs->rs_skipcache |= dq->dq_skipcache;
	return rs;
}

void
dnsq_init(struct dnsq *dq, uint8_t *pkt, size_t len, size_t size,
    const struct dnsquestion *q, const struct sockaddr *remote, uint64_t now,
    uint64_t *rnd)
{
	const size_t	half = offsetof(struct dnsq, dq_tags) / 2;

	/*
	 * The tags are read only up to dq_ntags: leave the array alone.  In
	 * two halves: compilers turn one memset of this size into a string
	 * instruction, slow to start, and each half into plain stores.
	 */
	memset(dq, 0, half);
	memset((char *)dq + half, 0, offsetof(struct dnsq, dq_tags) - half);
	dq->dq_ntags = 0;
	dq->dq_cf = config_now();
	dq->dq_pkt = pkt;
	dq->dq_len = len;
	dq->dq_size = size;
	dq->dq_q = q;
	dq->dq_qflags = len >= DNS_HDRLEN ? dnspacket_get16(pkt + 2) : 0;
	dq->dq_remote = remote;
	dq->dq_now = now;
	dq->dq_rnd = rnd;
	dq->dq_pool = "";
	dq->dq_ecsoverride = -1;
	dq->dq_ecsv4 = dq->dq_ecsv6 = -1;
	dq->dq_tempfailttl = -1;
}

/* Chains */

int
rule_add(struct rule_chain *rc, struct selector *se, struct action *ac,
    const char *name, const char *uuid)
{
	struct rule	 *ru, **nr;

	if ((ru = calloc(1, sizeof(*ru))) == NULL)
		return -1;
	if (name != NULL && (ru->ru_name = strdup(name)) == NULL) {
		free(ru);
		return -1;
	}
	if (uuid != NULL)
		snprintf(ru->ru_uuid, sizeof(ru->ru_uuid), "%s", uuid);
	else
		uuid_random(ru->ru_uuid);
	if ((nr = reallocarray(rc->rc_rules, rc->rc_count + 1,
	    sizeof(*nr))) == NULL) {
		free(ru->ru_name);
		free(ru);
		return -1;
	}
	rc->rc_rules = nr;
	selector_ref(se);
	action_ref(ac);
	ru->ru_sel = se;
	ru->ru_act = ac;
	ru->ru_order = rc->rc_nextorder++;
	ru->ru_refs = 1;
	rc->rc_rules[rc->rc_count++] = ru;
	return 0;
}

int
rule_find(const struct rule_chain *rc, const char *key)
{
	char	*end;
	long	 n;
	size_t	 i;

	n = strtol(key, &end, 10);
	if (*key != '\0' && *end == '\0')
		return n >= 0 && (size_t)n < rc->rc_count ? (int)n : -1;
	for (i = 0; i < rc->rc_count; i++)
		if (strcmp(rc->rc_rules[i]->ru_uuid, key) == 0 ||
		    (rc->rc_rules[i]->ru_name != NULL &&
		    strcmp(rc->rc_rules[i]->ru_name, key) == 0))
			return (int)i;
	return -1;
}

void
rule_ref(struct rule *ru)
{
	atomic_fetch_add_explicit(&ru->ru_refs, 1, memory_order_relaxed);
}

void
rule_unref(struct rule *ru)
{
	if (ru == NULL || atomic_fetch_sub_explicit(&ru->ru_refs, 1,
	    memory_order_acq_rel) != 1)
		return;
	selector_unref(ru->ru_sel);
	action_unref(ru->ru_act);
	free(ru->ru_name);
	free(ru);
}

int
rule_remove(struct rule_chain *rc, size_t pos)
{
	if (pos >= rc->rc_count)
		return -1;
	rule_unref(rc->rc_rules[pos]);
	memmove(&rc->rc_rules[pos], &rc->rc_rules[pos + 1],
	    (rc->rc_count - pos - 1) * sizeof(*rc->rc_rules));
	rc->rc_count--;
	return 0;
}

int
rule_move(struct rule_chain *rc, size_t from, size_t to)
{
	struct rule	*ru;

	if (from >= rc->rc_count || to > rc->rc_count)
		return -1;
	/* As dnsdist: take the rule out, then insert it before "to". */
	ru = rc->rc_rules[from];
	memmove(&rc->rc_rules[from], &rc->rc_rules[from + 1],
	    (rc->rc_count - from - 1) * sizeof(ru));
	if (to > from)
		to--;
	memmove(&rc->rc_rules[to + 1], &rc->rc_rules[to],
	    (rc->rc_count - 1 - to) * sizeof(ru));
	rc->rc_rules[to] = ru;
	return 0;
}

void
rule_clear(struct rule_chain *rc)
{
	while (rc->rc_count > 0)
		rule_unref(rc->rc_rules[--rc->rc_count]);
}

int
rule_set(struct rule_chain *rc, struct rule **list, size_t n)
{
	size_t	i;

	rule_clear(rc);
	for (i = 0; i < n; i++)
		if (rule_add(rc, list[i]->ru_sel, list[i]->ru_act,
		    list[i]->ru_name, list[i]->ru_uuid) == -1)
			return -1;
	return 0;
}

int
rule_process(const struct rule_chain *rc, struct dnsq *dq)
{
	struct rule	*ru;
	size_t		 i;
	int		 v;

	for (i = 0; i < rc->rc_count; i++) {
		ru = rc->rc_rules[i];
		if (!selector_match(ru->ru_sel, dq))
			continue;
		atomic_fetch_add_explicit(&ru->ru_matches, 1,
		    memory_order_relaxed);
		if ((v = action_apply(ru->ru_act, dq)) != VERDICT_NONE)
			return v;
	}
	return VERDICT_NONE;
}

int
rule_matches_cmp(const void *a, const void *b)
{
	uint64_t x = atomic_load(&(*(struct rule *const *)a)->ru_matches);
	uint64_t y = atomic_load(&(*(struct rule *const *)b)->ru_matches);

	return x < y ? 1 : x > y ? -1 : 0;
}

void
rule_show(const struct rule_chain *rc, struct sbuf *sb, bool uuids,
    int onlykind, size_t limit, bool bymatches)
{
	struct rule	**list, *ru;
	size_t		  i, n = 0;

	if (uuids)
		sbuf_printf(sb, "%-3s %-30s %-38s %9s %9s %-56s %s\n", "#",
		    "Name", "UUID", "Cr. Order", "Matches", "Rule", "Action");
	else
		sbuf_printf(sb, "%-3s %-30s %9s %-56s %s\n", "#", "Name",
		    "Matches", "Rule", "Action");
	if (rc->rc_count == 0 ||
	    (list = calloc(rc->rc_count, sizeof(*list))) == NULL)
		return;
	for (i = 0; i < rc->rc_count; i++)
		if (onlykind < 0 || rc->rc_rules[i]->ru_act->ac_kind == onlykind)
			list[n++] = rc->rc_rules[i];
	if (bymatches)
		qsort(list, n, sizeof(*list), rule_matches_cmp);
	for (i = 0; i < n && i < limit; i++) {
		ru = list[i];
		if (uuids)
			sbuf_printf(sb, "%-3zu %-30.30s %-38s %9llu %9llu "
			    "%-56.56s %s\n", i, ru->ru_name ? ru->ru_name : "",
			    ru->ru_uuid, (unsigned long long)ru->ru_order,
			    (unsigned long long)atomic_load(&ru->ru_matches),
			    ru->ru_sel->se_desc ? ru->ru_sel->se_desc : "",
			    ru->ru_act->ac_desc ? ru->ru_act->ac_desc : "");
		else
			sbuf_printf(sb, "%-3zu %-30.30s %9llu %-56.56s %s\n", i,
			    ru->ru_name ? ru->ru_name : "",
			    (unsigned long long)atomic_load(&ru->ru_matches),
			    ru->ru_sel->se_desc ? ru->ru_sel->se_desc : "",
			    ru->ru_act->ac_desc ? ru->ru_act->ac_desc : "");
	}
	free(list);
}
