/*
 * Queries held by dq:suspend() (dnsdist 1.8's asynchronous processing).
 *
 * A UDP loop whose rules suspended a query copies it here, with all it
 * needs to go on (its packet, question, addresses, tags, pool name, PROXY
 * values, DNSCrypt state), and goes on with other queries.  Nothing here
 * points into a snapshot: the query takes the snapshot that is current
 * when it resumes.  The table is bounded (ASYNC_MAX); a query past it is
 * dropped and counted as rule-drop.
 *
 * getAsynchronousObject() (main thread, Lua lock) takes a query out of
 * the table; resume() hands it back to its own UDP loop through the
 * loop's pipe, where its processing goes on after the query rules (or,
 * for a cache hit, after the cache-hit rules), as dnsdist's does.  A
 * query whose timeout passes is resumed the same way, by whichever loop
 * sees it first.  Whoever takes a query out of the table, under the
 * mutex, owns it: there is no other sharing.
 */
#include <sys/types.h>
#include <sys/queue.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "config.h"
#include "dnscrypt.h"
#include "dnsdist.h"
#include "lua.h"
#include "rule.h"
#include "stats.h"

#define ASYNC_MAX	10000		/* held at once */
#define ASYNC_BUCKETS	1024

struct held {
	LIST_ENTRY(held)	 h_entry;	/* bucket; NULL prev: taken */
	uint16_t		 h_aid;
	uint16_t		 h_qid;
	uint64_t		 h_deadline;	/* monotonic ns */
	struct listener		*h_li;
	unsigned int		 h_loop;
	void			*h_owner;	/* a TCP worker's query, or NULL */
	struct sockaddr_in6	 h_from;	/* where the answer goes */
	socklen_t		 h_fromlen;
	struct compat_dst	 h_dst;
	struct sockaddr_storage	 h_client;	/* dq_remote */
	struct sockaddr_storage	 h_local;	/* dq_local */
	bool			 h_haslocal;
	struct dnsquestion	 h_q;
	struct dnscrypt_query	 h_dc;
	struct dq_tagset	*h_tags;
	char			 h_pool[256];
	uint64_t		 h_rnd;
	bool			 h_answer;	/* a backend's, rules done */
	bool			 h_dropped;	/* drop() of a TCP worker's */
	bool			 h_cached;	/* ... for its pool's cache */
	struct dnsq		 h_dq;
	size_t			 h_size;
	uint8_t			 h_pkt[];
};

LIST_HEAD(heldlist, held);
static void	async_run(void *);
static pthread_mutex_t		async_mutex = PTHREAD_MUTEX_INITIALIZER;
static struct heldlist		async_table[ASYNC_BUCKETS];
static size_t			async_count;		/* under the mutex */
/* Set when the UDP loops begin to stop: none takes a held query then. */
static _Atomic bool		async_stopping;
/* The earliest deadline in the table, UINT64_MAX: none; read by loops. */
static _Atomic uint64_t		async_earliest = UINT64_MAX;

static struct heldlist *
bucket(uint16_t aid, uint16_t qid)
{
	return &async_table[((uint32_t)aid * 40503u + qid) % ASYNC_BUCKETS];
}

static void
held_free(struct held *h)
{
	if (h->h_dq.dq_pp != NULL)
		pp_tlvs_free(h->h_dq.dq_pp);
	dnsq_tags_free(h->h_tags);
	free(h);
}

/*
 * The strings a hook set point into its thread's buffers: copy them into
 * h, which the query carries from now on.
 */
static void
held_own(struct held *h)
{
	struct dnsq		*dq = &h->h_dq;
	const struct config	*cf = dq->dq_cf;
	struct dq_tagset	*ts;

	if (dq->dq_pool != h->h_pool) {
		strlcpy(h->h_pool, dq->dq_pool, sizeof(h->h_pool));
		dq->dq_pool = h->h_pool;
	}
	/*
	 * Tags and protobuf IDs: dnsq_tags_save() copies them all when it
	 * has no snapshot to ask whether response rules want them.
	 */
	dq->dq_cf = NULL;
	ts = dnsq_tags_save(dq);
	dq->dq_cf = cf;
	dnsq_tags_free(h->h_tags);
	h->h_tags = ts;
	dnsq_tags_load(dq, ts);
}

static void
earliest_update(void)
{
	struct held	*h;
	uint64_t	 e = UINT64_MAX;
	size_t		 i;

	for (i = 0; async_count > 0 && i < ASYNC_BUCKETS; i++)
		LIST_FOREACH(h, &async_table[i], h_entry)
			if (h->h_deadline < e)
				e = h->h_deadline;
	atomic_store(&async_earliest, e);
}

/* See dnsdist.h. */
bool
async_hold(struct listener *li, struct dnsq *dq, const struct sockaddr *from,
    socklen_t fromlen, const struct compat_dst *dst, bool answer, void *owner)
{
	struct held	*h, *o;
	struct heldlist	*b;
	/* Room for what setContent() may put in, as a UDP query has. */
	size_t		 size = dq->dq_len > UDP_QUERYMAX ? dq->dq_len :
	    UDP_QUERYMAX;

	if ((h = calloc(1, sizeof(*h) + size)) == NULL) {
		stats_inc(STAT_RULE_DROP);
		return false;
	}
	h->h_size = size;
	h->h_answer = answer;
	h->h_cached = answer && dq->dq_cache != NULL;
	h->h_aid = dq->dq_asyncid;
	h->h_qid = dq->dq_asyncqid;
	h->h_deadline = mono_ns() + (uint64_t)dq->dq_asyncms * 1000000ULL;
	h->h_li = li;
	h->h_loop = loop_index;
	h->h_owner = owner;
	memcpy(&h->h_from, from, fromlen);
	h->h_fromlen = fromlen;
	if (dst != NULL)
		h->h_dst = *dst;
	memcpy(&h->h_client, dq->dq_remote, addr_len(dq->dq_remote));
	if ((h->h_haslocal = dq->dq_local != NULL))
		memcpy(&h->h_local, dq->dq_local, addr_len(dq->dq_local));
	h->h_q = *dq->dq_q;
	h->h_dq = *dq;
	memcpy(h->h_pkt, dq->dq_pkt, dq->dq_len);
	dq->dq_pp = NULL;		/* the held query's now */
	if (dq->dq_dnscrypt != NULL) {
		h->h_dc = *dq->dq_dnscrypt;
		h->h_dq.dq_dnscrypt = &h->h_dc;
	}
	dq = &h->h_dq;
	dq->dq_pkt = h->h_pkt;
	dq->dq_size = h->h_size;
	dq->dq_grow = NULL;
	dq->dq_q = dq->dq_qown = &h->h_q;
	dq->dq_remote = (struct sockaddr *)&h->h_client;
	dq->dq_local = h->h_haslocal ? (struct sockaddr *)&h->h_local : NULL;
	dq->dq_rnd = &h->h_rnd;
	dq->dq_hold = NULL;		/* its thread's, when resumed */
	dq->dq_holdarg = NULL;
	dq->dq_suspend = dq->dq_asyncheld = false;
	/* Shared objects of the snapshot: looked up again on resumption. */
	dq->dq_poolp = NULL;
	dq->dq_cache = dq->dq_missed = NULL;
	held_own(h);
	dq->dq_cf = NULL;

	b = bucket(h->h_aid, h->h_qid);
	pthread_mutex_lock(&async_mutex);
	LIST_FOREACH(o, b, h_entry)
		if (o->h_aid == h->h_aid && o->h_qid == h->h_qid)
			break;
	/* As dnsdist: a second query under the same IDs is not held. */
	if (o != NULL || async_count >= ASYNC_MAX) {
		pthread_mutex_unlock(&async_mutex);
		stats_inc(STAT_RULE_DROP);
		held_free(h);
		return false;
	}
	LIST_INSERT_HEAD(b, h, h_entry);
	async_count++;
	if (h->h_deadline < atomic_load(&async_earliest))
		atomic_store(&async_earliest, h->h_deadline);
	pthread_mutex_unlock(&async_mutex);
	return true;
}

/* Any thread: back to the thread that held it. */
static void
async_resume(void *arg)
{
	struct held	*h = arg;

	/* The strings a hook set on the main thread are its own buffers. */
	held_own(h);
	h->h_dq.dq_suspend = false;
	h->h_dq.dq_resumed = true;
	/* An answer (setContent()) has the client's RD and CD, as dnsdist's. */
	if (h->h_dq.dq_len >= DNS_HDRLEN && dnspacket_qr(h->h_dq.dq_pkt))
		dnspacket_restore_flags(h->h_dq.dq_pkt, h->h_dq.dq_qflags);
	/* Stopping: a UDP loop may have read its last command. */
	if (h->h_owner != NULL)
		tcp_async_back(h->h_owner, h);
	else if (atomic_load(&async_stopping) ||
	    loop_udp_hand(h->h_loop, async_run, h) == -1) {
		stats_inc(STAT_RULE_DROP);
		held_free(h);
	}
}

/* See dnsdist.h. */
struct dnsq *
async_held_dq(void *arg, bool *answer)
{
	struct held	*h = arg;
	struct pool	*pl;

	if (h->h_dropped)
		return NULL;
	*answer = h->h_answer;
	/* A backend's answer goes to its pool's cache, as it is now. */
	h->h_dq.dq_cache = NULL;
	if (h->h_cached && (pl = config_pool(config_now(),
	    h->h_dq.dq_pool)) != NULL)
		h->h_dq.dq_cache = pl->pl_cache;
	return &h->h_dq;
}

/* In the query's UDP loop: on with it, and free it. */
static void
async_run(void *arg)
{
	struct held	*h = arg;
	struct dnsq	*dq;
	bool		 answer;

	dq = async_held_dq(h, &answer);
	frontend_resume(h->h_li, dq, (struct sockaddr *)&h->h_from,
	    h->h_fromlen, &h->h_dst, answer);
	held_free(h);
}

/* See dnsdist.h. */
void
async_held_free(void *arg)
{
	held_free(arg);
}

/* See dnsdist.h. */
uint64_t
async_next(void)
{
	return atomic_load_explicit(&async_earliest, memory_order_relaxed);
}

/* See dnsdist.h. */
void
async_expire(uint64_t now)
{
	struct heldlist	 due = LIST_HEAD_INITIALIZER(due);
	struct held	*h, *t;
	size_t		 i;

	if (async_next() > now)
		return;
	pthread_mutex_lock(&async_mutex);
	for (i = 0; i < ASYNC_BUCKETS; i++)
		LIST_FOREACH_SAFE(h, &async_table[i], h_entry, t)
			if (h->h_deadline <= now) {
				LIST_REMOVE(h, h_entry);
				async_count--;
				LIST_INSERT_HEAD(&due, h, h_entry);
			}
	earliest_update();
	pthread_mutex_unlock(&async_mutex);
	/* As dnsdist: a query whose time is up goes on where it was. */
	LIST_FOREACH_SAFE(h, &due, h_entry, t)
		async_resume(h);
}

static void *
async_take(uint16_t aid, uint16_t qid)
{
	struct held	*h;

	pthread_mutex_lock(&async_mutex);
	LIST_FOREACH(h, bucket(aid, qid), h_entry)
		if (h->h_aid == aid && h->h_qid == qid) {
			LIST_REMOVE(h, h_entry);
			async_count--;
			earliest_update();
			break;
		}
	pthread_mutex_unlock(&async_mutex);
	return h;
}

static struct dnsq *
async_dq(void *arg)
{
	struct held	*h = arg;

	/* The main thread's snapshot, for the length of the Lua call. */
	h->h_dq.dq_cf = config_now();
	return &h->h_dq;
}

/* drop(), or an object collected unused: a worker's query ends there. */
static void
async_drop(void *arg)
{
	struct held	*h = arg;

	stats_inc(STAT_RULE_DROP);
	if (h->h_owner == NULL) {
		held_free(h);
		return;
	}
	h->h_dropped = true;
	tcp_async_back(h->h_owner, h);
}

/* See dnsdist.h. */
void
async_init(void)
{
	dlua_host.h_async_take = async_take;
	dlua_host.h_async_dq = async_dq;
	dlua_host.h_async_resume = async_resume;
	dlua_host.h_async_free = async_drop;
}

/* See dnsdist.h. */
void
async_stop(void)
{
	atomic_store(&async_stopping, true);
}

/* See dnsdist.h: after tcp_stop() and the Lua state's end. */
void
async_shutdown(void)
{
	struct held	*h;
	size_t		 i;

	pthread_mutex_lock(&async_mutex);
	for (i = 0; i < ASYNC_BUCKETS; i++)
		while ((h = LIST_FIRST(&async_table[i])) != NULL) {
			LIST_REMOVE(h, h_entry);
			/* The workers have stopped: this frees their query. */
			if (h->h_owner != NULL)
				tcp_async_back(h->h_owner, h);
			else
				held_free(h);
		}
	async_count = 0;
	atomic_store(&async_earliest, UINT64_MAX);
	pthread_mutex_unlock(&async_mutex);
}
