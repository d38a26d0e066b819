/*
 * The packet cache.  An entry is an answer as the backend sent it, with the
 * offsets of its TTL fields so that a hit is a copy and a few stores.  The
 * key is SipHash, keyed with a secret drawn at start, over what makes two
 * queries the same: the flags, the additional count, the name in lower
 * case, the type and class, and the additional section without the EDNS
 * cookie (and any skipOptions) or the OPT length.  Only plain queries (one
 * question, no answer or authority records) are kept.  A hit is checked
 * against the stored name, type, class and transport, so a collision is a
 * counted miss.  An entry's question has its name in lower case: a hit
 * compares it with the query's lower-case name, and leaves the query's own
 * spelling in place.
 *
 * Entries never change once they are in a bucket: an insert links a new
 * one in, a replace or a removal links the old one out and retires it.  A
 * thread registered with lib/qsbr.h therefore looks up without a lock;
 * other threads take the shard's read lock, and writers its write lock.
 */
#include <sys/types.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "cache.h"
#include "dnsname.h"
#include "qsbr.h"
#include "siphash.h"

#define EDNS_OPT_COOKIE	10

/* A hint only: compilers without it lose nothing but speed. */
#if defined(__GNUC__)
#define PCACHE_PREFETCH(p)	__builtin_prefetch((p))
#else
#define PCACHE_PREFETCH(p)	((void)(p))
#endif
#define MAXTTLS		512	/* TTL fields tracked per answer */

/* Bucket links, read without a lock by qsbr readers. */
#define LINK(p)		atomic_load_explicit(&(p), memory_order_acquire)
/* ... and by a writer, which holds the write lock. */
#define PEEK(p)		atomic_load_explicit(&(p), memory_order_relaxed)
#define PUBLISH(p, v)	atomic_store_explicit(&(p), (v), memory_order_release)

struct pcache_entry {
	struct qsbr_node	 ce_q;		/* until it is freed */
	struct pcache_entry *_Atomic ce_next;
	uint64_t		 ce_key;
	time_t			 ce_added;
	time_t			 ce_expire;
	uint16_t		 ce_qtype;
	uint16_t		 ce_qclass;
	uint16_t		 ce_len;
	uint16_t		 ce_namelen;
	uint16_t		 ce_nttl;
	bool			 ce_tcp;
	/* the answer, then ce_nttl TTL offsets (uint16_t, unaligned) */
	uint8_t			 ce_data[];
};

/*
 * A shard's bucket array grows with its entries, not with maxEntries, so
 * that a cache with few entries touches few pages: a hit's first load is
 * the bucket, and a bucket array sized for a large, mostly empty cache
 * costs a TLB miss on nearly every hit.
 */
#define BUCKETS_MIN	16

struct pcache_table {
	struct qsbr_node	 t_q;
	size_t			 t_mask;
	struct pcache_entry *_Atomic t_b[];
};

/*
 * Where a lookup starts: the table and mask of each shard, side by side
 * (four shards to a line) so that they stay in the caches.  A reader takes
 * the mask, then the table: a table grows before its mask does, so a mask
 * never indexes past its table.
 */
struct pcache_ix {
	struct pcache_table *_Atomic ix_table;
	_Atomic size_t		 ix_mask;
};

struct pcache_shard {
	_Alignas(64) pthread_rwlock_t sh_lock;
	struct pcache_ix	 *sh_ix;	/* its table */
	size_t			  sh_maxmask;
	_Atomic size_t		  sh_count;
};

/*
 * Hits and misses, counted on every lookup, in a block per thread so that
 * a count is a plain load and store rather than a locked one: the first
 * PCACHE_TALLIES - 1 threads that count get a block of their own, any
 * later ones share the last with atomic additions.  Readers add them up.
 */
#define PCACHE_TALLIES	16

struct pcache_tally {
	_Alignas(64) _Atomic uint64_t	pt_hits;
	_Atomic uint64_t		pt_misses;
};

static _Atomic unsigned int	 tally_next;
static _Thread_local int	 tally_mine = -1;

struct pcache {
	struct pcache_config	 pc_cfg;
	struct pcache_shard	*pc_shards;
	struct pcache_ix	*pc_ix;		/* one per shard */
	size_t			 pc_shardmax;	/* entries per shard */
	struct pcache		*pc_next;
	struct pcache		*pc_forward;	/* a reload kept that one */
	struct pcache_tally	*pc_tally;	/* PCACHE_TALLIES of them */
	_Atomic uint64_t	 pc_deferredinserts;
	_Atomic uint64_t	 pc_deferredlookups;
	_Atomic uint64_t	 pc_lookupcollisions;
	_Atomic uint64_t	 pc_insertcollisions;
	_Atomic uint64_t	 pc_ttltooshorts;
	_Atomic uint64_t	 pc_cleanups;
};

static void
tally_add(_Atomic uint64_t *c, bool shared)
{
	if (shared)
		atomic_fetch_add_explicit(c, 1, memory_order_relaxed);
	else
		atomic_store_explicit(c, atomic_load_explicit(c,
		    memory_order_relaxed) + 1, memory_order_relaxed);
}

/* This thread's block of pc; *shared when other threads count there too. */
static struct pcache_tally *
tally_of(struct pcache *pc, bool *shared)
{
	if (tally_mine == -1) {
		unsigned int	n = atomic_fetch_add_explicit(&tally_next, 1,
				    memory_order_relaxed);

		tally_mine = n < PCACHE_TALLIES - 1 ? (int)n :
		    PCACHE_TALLIES - 1;
	}
	*shared = tally_mine == PCACHE_TALLIES - 1;
	return &pc->pc_tally[tally_mine];
}

/* Count a lookup, a hit or a miss, in this thread's block of pc. */
static void
count_lookup(struct pcache *pc, bool hit)
{
	struct pcache_tally	*t;
	bool			 shared;

	t = tally_of(pc, &shared);
	tally_add(hit ? &t->pt_hits : &t->pt_misses, shared);
}

static pthread_mutex_t	 all_lock = PTHREAD_MUTEX_INITIALIZER;
static struct pcache	*all_caches;
static uint8_t		 secret[SIPHASH_KEYBYTES];
static pthread_once_t	 secret_once = PTHREAD_ONCE_INIT;

#define INC(c)	atomic_fetch_add_explicit(&(c), 1, memory_order_relaxed)

static void
secret_init(void)
{
	randombytes_buf(secret, sizeof(secret));
}

time_t
pcache_now(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec;
}

void
pcache_config_default(struct pcache_config *cfg, size_t maxentries)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->pc_maxentries = maxentries;
	cfg->pc_maxttl = 86400;
	cfg->pc_tempfailttl = 60;
	cfg->pc_stalettl = 60;
	cfg->pc_maxnegttl = 3600;
	cfg->pc_maxentrysize = PCACHE_MAXPACKET;
	cfg->pc_nshards = 20;
}

/* A bucket table of mask + 1 empty buckets. */
static struct pcache_table *
table_new(size_t mask)
{
	struct pcache_table	*t;
	size_t			 b;

	if (mask >= (SIZE_MAX - sizeof(*t)) / sizeof(t->t_b[0]) ||
	    (t = malloc(sizeof(*t) + (mask + 1) * sizeof(t->t_b[0]))) == NULL)
		return NULL;
	t->t_mask = mask;
	for (b = 0; b <= mask; b++)
		atomic_init(&t->t_b[b], NULL);
	return t;
}

static void
table_free(struct qsbr_node *n)
{
	free((char *)n - offsetof(struct pcache_table, t_q));
}

static void
entry_free(struct qsbr_node *n)
{
	free((char *)n - offsetof(struct pcache_entry, ce_q));
}

struct pcache *
pcache_new(const struct pcache_config *cfg)
{
	struct pcache	*pc;
	size_t		 i, nb;
	void		*p;

	pthread_once(&secret_once, secret_init);
	if (cfg->pc_maxentries == 0 || cfg->pc_nshards == 0 ||
	    (pc = calloc(1, sizeof(*pc))) == NULL)
		return NULL;
	pc->pc_cfg = *cfg;
	if (pc->pc_cfg.pc_nshards > pc->pc_cfg.pc_maxentries)
		pc->pc_cfg.pc_nshards = pc->pc_cfg.pc_maxentries;
	pc->pc_shardmax = (cfg->pc_maxentries + pc->pc_cfg.pc_nshards - 1) /
	    pc->pc_cfg.pc_nshards;
	for (nb = BUCKETS_MIN; nb < pc->pc_shardmax && nb < ((size_t)1 << 30);
	    nb <<= 1)
		;
	if (posix_memalign(&p, 64, PCACHE_TALLIES * sizeof(*pc->pc_tally)) !=
	    0) {
		free(pc);
		return NULL;
	}
	pc->pc_tally = memset(p, 0, PCACHE_TALLIES * sizeof(*pc->pc_tally));
	if ((pc->pc_shards = calloc(pc->pc_cfg.pc_nshards,
	    sizeof(*pc->pc_shards))) == NULL ||
	    posix_memalign(&p, 64, pc->pc_cfg.pc_nshards *
	    sizeof(*pc->pc_ix)) != 0) {
		free(pc->pc_shards);
		free(pc->pc_tally);
		free(pc);
		return NULL;
	}
	pc->pc_ix = p;
	for (i = 0; i < pc->pc_cfg.pc_nshards; i++) {
		struct pcache_shard *sh = &pc->pc_shards[i];
		struct pcache_table *t;

		if ((t = table_new(BUCKETS_MIN - 1)) == NULL) {
			while (i-- > 0)
				free(PEEK(pc->pc_ix[i].ix_table));
			free(pc->pc_ix);
			free(pc->pc_shards);
			free(pc->pc_tally);
			free(pc);
			return NULL;
		}
		pthread_rwlock_init(&sh->sh_lock, NULL);
		sh->sh_maxmask = nb - 1;
		sh->sh_ix = &pc->pc_ix[i];
		atomic_init(&sh->sh_ix->ix_mask, BUCKETS_MIN - 1);
		atomic_init(&sh->sh_ix->ix_table, t);
	}
	pthread_mutex_lock(&all_lock);
	pc->pc_next = all_caches;
	all_caches = pc;
	pthread_mutex_unlock(&all_lock);
	return pc;
}

const struct pcache_config *
pcache_config(const struct pcache *pc)
{
	return &pc->pc_cfg;
}

bool
pcache_same_config(const struct pcache *a, const struct pcache *b)
{
	const struct pcache_config *x = &a->pc_cfg, *y = &b->pc_cfg;

	return x->pc_maxentries == y->pc_maxentries &&
	    x->pc_maxttl == y->pc_maxttl && x->pc_minttl == y->pc_minttl &&
	    x->pc_tempfailttl == y->pc_tempfailttl &&
	    x->pc_stalettl == y->pc_stalettl &&
	    x->pc_maxnegttl == y->pc_maxnegttl &&
	    x->pc_dontage == y->pc_dontage &&
	    x->pc_keepstale == y->pc_keepstale &&
	    x->pc_parseecs == y->pc_parseecs &&
	    x->pc_cookiehashing == y->pc_cookiehashing &&
	    x->pc_waitinsert == y->pc_waitinsert &&
	    x->pc_maxentrysize == y->pc_maxentrysize &&
	    x->pc_nshards == y->pc_nshards &&
	    x->pc_nskipopts == y->pc_nskipopts &&
	    memcmp(x->pc_skipopts, y->pc_skipopts,
	    x->pc_nskipopts * sizeof(x->pc_skipopts[0])) == 0;
}

void
pcache_forward(struct pcache *pc, struct pcache *to)
{
	pc->pc_forward = to;
}

struct pcache *
pcache_current(struct pcache *pc)
{
	while (pc->pc_forward != NULL)
		pc = pc->pc_forward;
	return pc;
}

struct pcache *
pcache_next(struct pcache *pc)
{
	struct pcache	*next;

	pthread_mutex_lock(&all_lock);
	next = pc == NULL ? all_caches : pc->pc_next;
	pthread_mutex_unlock(&all_lock);
	return next;
}

static bool
skipped_option(const struct pcache *pc, uint16_t code)
{
	size_t	i;

	if (code == EDNS_OPT_COOKIE && !pc->pc_cfg.pc_cookiehashing)
		return true;
	for (i = 0; i < pc->pc_cfg.pc_nskipopts; i++)
		if (pc->pc_cfg.pc_skipopts[i] == code)
			return true;
	return false;
}

bool
pcache_key(const struct pcache *pc, const uint8_t *pkt, size_t len,
    const struct dnsquestion *q, bool tcp, uint64_t *key)
{
	uint8_t		m[PCACHE_KEYMAX + 16];
	struct dnsopt	o;
	size_t		n = 0, pos, data, tail;
	uint16_t	code, olen;
	int		r;

	if (len > PCACHE_KEYMAX || q->q_end < 4 || q->q_end > len)
		return false;
	/*
	 * Only plain queries are kept: QR clear, one question, no answer or
	 * authority records.  Those fields then need no hashing: the flags
	 * go in with the transport in QR's place, and the additional count.
	 */
	if (dnspacket_qr(pkt) || dnspacket_qdcount(pkt) != 1 ||
	    dnspacket_ancount(pkt) != 0 || dnspacket_nscount(pkt) != 0)
		return false;
	/* As dnsdist: zone transfers are never kept, whatever the transport. */
	if (q->q_type == 251 || q->q_type == 252)
		return false;
	m[n++] = (uint8_t)(pkt[2] | (tcp ? 0x80 : 0));
	m[n++] = pkt[3];
	m[n++] = pkt[10];
	m[n++] = pkt[11];
	memcpy(m + n, q->q_lname, q->q_namelen);
	n += q->q_namelen;
	if ((r = dnspacket_find_opt(pkt, len, q->q_end, &o)) == -1)
		return false;
	tail = q->q_end - 4;
	if (r == 1) {
		/* Up to the OPT's RDLENGTH, then the options we keep. */
		memcpy(m + n, pkt + tail, o.o_rdoff - 2 - tail);
		n += o.o_rdoff - 2 - tail;
		pos = o.o_rdoff;
		while ((r = dnspacket_opt_next(pkt, &o, &pos, &code, &olen,
		    &data)) == 1) {
			/*
			 * A skipped option's content does not count, its
			 * presence does (a query with a cookie is not one
			 * without), as in dnsdist.
			 */
			if (skipped_option(pc, code)) {
				memcpy(m + n, pkt + data - 4, 2);
				n += 2;
				continue;
			}
			memcpy(m + n, pkt + data - 4, (size_t)olen + 4);
			n += (size_t)olen + 4;
		}
		if (r == -1)
			return false;
		tail = o.o_rdoff + o.o_rdlen;
	}
	memcpy(m + n, pkt + tail, len - tail);
	n += len - tail;
	*key = siphash24(secret, m, n);
	return true;
}

/* From the key's low half, by multiplication: a division costs more. */
static size_t
shard_index(const struct pcache *pc, uint64_t key)
{
	return ((key & 0xffffffffu) * pc->pc_cfg.pc_nshards) >> 32;
}

static struct pcache_shard *
shard_of(struct pcache *pc, uint64_t key)
{
	return &pc->pc_shards[shard_index(pc, key)];
}

/* The bucket of a key in table t; the buckets use the key's high half. */
static struct pcache_entry *_Atomic *
bucket_of(struct pcache_table *t, uint64_t key)
{
	return &t->t_b[(key >> 32) & t->t_mask];
}

/*
 * Doubles the bucket array of a shard that has more entries than buckets;
 * write-locked.  Without memory the shard keeps its array: chains get
 * longer, nothing is lost.
 */
static void
shard_grow(struct pcache_shard *sh)
{
	struct pcache_table	*t = PEEK(sh->sh_ix->ix_table), *nt;
	struct pcache_entry	*ce, *next;
	size_t			 b;

	if (t->t_mask >= sh->sh_maxmask ||
	    atomic_load_explicit(&sh->sh_count, memory_order_relaxed) <=
	    t->t_mask + 1)
		return;
	if ((nt = table_new(t->t_mask * 2 + 1)) == NULL)
		return;
	/*
	 * A reader walking an old chain meanwhile follows each entry either
	 * to its old successor or into a new chain: it may miss its entry,
	 * never loops, and reaches only entries, which all stay.
	 */
	for (b = 0; b <= t->t_mask; b++)
		for (ce = PEEK(t->t_b[b]); ce != NULL; ce = next) {
			next = PEEK(ce->ce_next);
			PUBLISH(ce->ce_next, PEEK(*bucket_of(nt, ce->ce_key)));
			PUBLISH(*bucket_of(nt, ce->ce_key), ce);
		}
	PUBLISH(sh->sh_ix->ix_table, nt);
	atomic_store_explicit(&sh->sh_ix->ix_mask, nt->t_mask,
	    memory_order_release);
	qsbr_retire(&t->t_q, table_free);
}

static bool
entry_is(const struct pcache_entry *ce, const struct dnsquestion *q, bool tcp)
{
	/* The entry's question has its name in lower case. */
	return ce->ce_qtype == q->q_type && ce->ce_qclass == q->q_class &&
	    ce->ce_tcp == tcp && ce->ce_namelen == q->q_namelen &&
	    memcmp(ce->ce_data + DNS_HDRLEN, q->q_lname, q->q_namelen) == 0;
}

size_t
pcache_get(struct pcache *pc, uint64_t key, const struct dnsquestion *q,
    bool tcp, uint8_t *pkt, size_t size, time_t now, int how,
    uint32_t staleage, bool *wasstale)
{
	struct pcache_shard	*sh;
	struct pcache_ix	*ix;
	struct pcache_entry	*ce;
	const uint8_t		*offs;
	uint32_t		 age, ttl;
	uint16_t		 off, flags;
	size_t			 i, mask, len = 0;
	bool			 old = false, locked;

	i = shard_index(pc, key);
	ix = &pc->pc_ix[i];
	sh = &pc->pc_shards[i];
	/* A qsbr reader takes no lock; the others never wait for one. */
	locked = !qsbr_reading();
	if (locked && pthread_rwlock_tryrdlock(&sh->sh_lock) != 0) {
		INC(pc->pc_deferredlookups);
		if (how != PCACHE_PEEK)
			count_lookup(pc, false);
		return 0;
	}
	mask = atomic_load_explicit(&ix->ix_mask, memory_order_acquire);
	ce = LINK(LINK(ix->ix_table)->t_b[(key >> 32) & mask]);
	/*
	 * The entry's first line has the key, the next ones the name and
	 * the answer: ask for them together rather than one after another.
	 */
	if (ce != NULL) {
		PCACHE_PREFETCH((const char *)ce + 64);
		PCACHE_PREFETCH((const char *)ce + 128);
	}
	for (; ce != NULL; ce = LINK(ce->ce_next))
		if (ce->ce_key == key)
			break;
	if (ce == NULL)
		goto out;
	if (!entry_is(ce, q, tcp)) {
		INC(pc->pc_lookupcollisions);
		ce = NULL;
		goto out;
	}
	if (now >= ce->ce_expire) {
		/* Expired for less than staleage seconds; 0 means never. */
		if (how != PCACHE_STALE || (!pc->pc_cfg.pc_keepstale &&
		    now - ce->ce_expire >= (time_t)staleage)) {
			ce = NULL;
			goto out;
		}
		old = true;
	}
	if (ce->ce_len > size) {
		ce = NULL;
		goto out;
	}
	/*
	 * The answer around the query's ID and name, which stay: a question
	 * is never compressed, and the entry's name has the same length.
	 */
	off = (uint16_t)(DNS_HDRLEN + q->q_namelen);
	flags = dnspacket_get16(pkt + 2);
	memcpy(pkt + 2, ce->ce_data + 2, DNS_HDRLEN - 2);
	dnspacket_restore_flags(pkt, flags);
	if (ce->ce_len > off)
		memcpy(pkt + off, ce->ce_data + off, ce->ce_len - off);
	age = now > ce->ce_added ? (uint32_t)(now - ce->ce_added) : 0;
	offs = ce->ce_data + (ce->ce_len > off ? ce->ce_len : off);
	if (old || (!pc->pc_cfg.pc_dontage && age > 0))
		for (i = 0; i < ce->ce_nttl; i++) {
			memcpy(&off, offs + 2 * i, sizeof(off));
			ttl = dnspacket_get32(pkt + off);
			if (old)
				ttl = pc->pc_cfg.pc_stalettl;
			else
				ttl = ttl > age ? ttl - age : 0;
			dnspacket_put32(pkt + off, ttl);
		}
	len = ce->ce_len;
out:
	if (locked)
		pthread_rwlock_unlock(&sh->sh_lock);
	if (wasstale != NULL)
		*wasstale = old;
	if (len > 0)
		count_lookup(pc, true);
	else if (how != PCACHE_PEEK)
		count_lookup(pc, false);
	return len;
}

void
pcache_miss(struct pcache *pc)
{
	count_lookup(pc, false);
}

struct ttl_scan {
	uint16_t	offs[MAXTTLS];
	size_t		n;
	uint32_t	min;
	bool		overflow;
	bool		soa;
	uint32_t	soamin;		/* min(SOA TTL, SOA MINIMUM) */
	const uint8_t	*pkt;
	size_t		len;
};

static void
scan_ttl(void *arg, const struct dnsrr *rr)
{
	struct ttl_scan	*ts = arg;
	size_t		 off;
	uint32_t	 minimum;

	if (rr->rr_type == DNS_TYPE_OPT)
		return;
	if (ts->n == MAXTTLS || rr->rr_ttloff > UINT16_MAX) {
		ts->overflow = true;
		return;
	}
	ts->offs[ts->n++] = (uint16_t)rr->rr_ttloff;
	if (rr->rr_ttl < ts->min)
		ts->min = rr->rr_ttl;
	if (rr->rr_section == 2 && rr->rr_type == DNS_TYPE_SOA && !ts->soa) {
		off = rr->rr_rdoff;
		if (dnsname_skip(ts->pkt, ts->len, &off) == -1 ||
		    dnsname_skip(ts->pkt, ts->len, &off) == -1 ||
		    off + 20 > rr->rr_rdoff + rr->rr_rdlen)
			return;
		minimum = dnspacket_get32(ts->pkt + off + 16);
		ts->soa = true;
		ts->soamin = minimum < rr->rr_ttl ? minimum : rr->rr_ttl;
	}
}

/* How long an answer may be kept: 0 for not at all. */
static uint32_t
answer_ttl(struct pcache *pc, const uint8_t *pkt, size_t len,
    const struct dnsquestion *q, struct ttl_scan *ts, int64_t tempfailttl)
{
	const struct pcache_config *cfg = &pc->pc_cfg;
	int		 rcode = dnspacket_rcode(pkt);
	uint32_t	 ttl;

	if (dnspacket_tc(pkt))
		return 0;
	ts->n = 0;
	ts->overflow = ts->soa = false;
	ts->min = UINT32_MAX;
	ts->pkt = pkt;
	ts->len = len;
	if (dnspacket_walk(pkt, len, q->q_end, scan_ttl, ts) == -1 ||
	    ts->overflow)
		return 0;
	if (rcode == DNS_RCODE_SERVFAIL || rcode == DNS_RCODE_REFUSED)
		return tempfailttl >= 0 ? (uint32_t)tempfailttl :
		    cfg->pc_tempfailttl;
	if (rcode == DNS_RCODE_NXDOMAIN ||
	    (rcode == DNS_RCODE_NOERROR && dnspacket_ancount(pkt) == 0)) {
		/* Negative: the SOA says how long (RFC 2308). */
		if (!ts->soa)
			return 0;
		ttl = ts->soamin < cfg->pc_maxnegttl ? ts->soamin :
		    cfg->pc_maxnegttl;
	} else if (rcode == DNS_RCODE_NOERROR) {
		if (ts->min == UINT32_MAX)
			return 0;
		ttl = ts->min;
	} else
		return 0;
	if (ttl < cfg->pc_minttl) {
		INC(pc->pc_ttltooshorts);
		return 0;
	}
	return ttl < cfg->pc_maxttl ? ttl : cfg->pc_maxttl;
}

void
pcache_put(struct pcache *pc, uint64_t key, const struct dnsquestion *q,
    bool tcp, const uint8_t *pkt, size_t len, time_t now, int64_t tempfailttl)
{
	struct ttl_scan		 ts;
	struct pcache_shard	*sh;
	struct pcache_entry	*_Atomic *bucket, *_Atomic *pp, *ce, *old;
	uint32_t		 ttl;
	size_t			 room;

	/*
	 * The question must be spelled out, as the hit rewrites it, or the
	 * answer be a header alone (an error without a question, kept as
	 * it came as dnsdist keeps it); the entry has the name after its
	 * header all the same.
	 */
	if (len > pc->pc_cfg.pc_maxentrysize || len < DNS_HDRLEN ||
	    (q->q_end != DNS_HDRLEN + q->q_namelen + 4 &&
	    (q->q_end != DNS_HDRLEN || len != DNS_HDRLEN)))
		return;
	if ((ttl = answer_ttl(pc, pkt, len, q, &ts, tempfailttl)) == 0)
		return;
	room = len > DNS_HDRLEN + q->q_namelen ? len :
	    DNS_HDRLEN + q->q_namelen;
	if ((ce = malloc(sizeof(*ce) + room + 2 * ts.n)) == NULL)
		return;
	ce->ce_key = key;
	ce->ce_added = now;
	ce->ce_expire = now + (time_t)ttl;
	ce->ce_qtype = q->q_type;
	ce->ce_qclass = q->q_class;
	ce->ce_len = (uint16_t)len;
	ce->ce_namelen = (uint16_t)q->q_namelen;
	ce->ce_nttl = (uint16_t)ts.n;
	ce->ce_tcp = tcp;
	memcpy(ce->ce_data, pkt, len);
	memcpy(ce->ce_data + DNS_HDRLEN, q->q_lname, q->q_namelen);
	memcpy(ce->ce_data + room, ts.offs, 2 * ts.n);

	sh = shard_of(pc, key);
	/* deferrableInsertLock (the default): a busy shard is not waited for. */
	if (pc->pc_cfg.pc_waitinsert ? pthread_rwlock_wrlock(&sh->sh_lock) != 0 :
	    pthread_rwlock_trywrlock(&sh->sh_lock) != 0) {
		INC(pc->pc_deferredinserts);
		free(ce);
		return;
	}
	bucket = bucket_of(PEEK(sh->sh_ix->ix_table), key);
	for (pp = bucket; PEEK(*pp) != NULL; pp = &PEEK(*pp)->ce_next)
		if (PEEK(*pp)->ce_key == key)
			break;
	if ((old = PEEK(*pp)) != NULL) {
		if (!entry_is(old, q, tcp)) {
			INC(pc->pc_insertcollisions);
			goto drop;
		}
		/* A live entry stays; an expired one is replaced. */
		if (now < old->ce_expire)
			goto drop;
		atomic_init(&ce->ce_next, PEEK(old->ce_next));
		PUBLISH(*pp, ce);
	} else {
		if (atomic_load_explicit(&sh->sh_count, memory_order_relaxed) >=
		    pc->pc_shardmax)
			goto drop;
		atomic_init(&ce->ce_next, PEEK(*bucket));
		PUBLISH(*bucket, ce);
		atomic_fetch_add_explicit(&sh->sh_count, 1,
		    memory_order_relaxed);
		shard_grow(sh);
	}
	pthread_rwlock_unlock(&sh->sh_lock);
	if (old != NULL)
		qsbr_retire(&old->ce_q, entry_free);
	return;
drop:
	pthread_rwlock_unlock(&sh->sh_lock);
	free(ce);
}

static size_t
total_count(struct pcache *pc)
{
	size_t	i, n = 0;

	for (i = 0; i < pc->pc_cfg.pc_nshards; i++)
		n += atomic_load_explicit(&pc->pc_shards[i].sh_count,
		    memory_order_relaxed);
	return n;
}

/*
 * Remove the entries for which keep() says no, while more than upto
 * remain; returns how many went.
 */
typedef bool (*keep_fn)(const struct pcache_entry *, const void *);

static size_t
sweep(struct pcache *pc, size_t upto, keep_fn keep, const void *arg)
{
	struct pcache_shard	*sh;
	struct pcache_table	*t;
	struct pcache_entry	*_Atomic *pp, *ce;
	size_t			 i, b, removed = 0, total;

	total = total_count(pc);
	for (i = 0; i < pc->pc_cfg.pc_nshards && total > upto; i++) {
		sh = &pc->pc_shards[i];
		pthread_rwlock_wrlock(&sh->sh_lock);
		t = PEEK(sh->sh_ix->ix_table);
		for (b = 0; b <= t->t_mask && total > upto; b++) {
			pp = &t->t_b[b];
			while ((ce = PEEK(*pp)) != NULL && total > upto) {
				if (keep != NULL && keep(ce, arg)) {
					pp = &ce->ce_next;
					continue;
				}
				PUBLISH(*pp, PEEK(ce->ce_next));
				qsbr_retire(&ce->ce_q, entry_free);
				atomic_fetch_sub_explicit(&sh->sh_count, 1,
				    memory_order_relaxed);
				removed++;
				total--;
			}
		}
		pthread_rwlock_unlock(&sh->sh_lock);
	}
	return removed;
}

static bool
keep_live(const struct pcache_entry *ce, const void *arg)
{
	return ce->ce_expire > *(const time_t *)arg;
}

size_t
pcache_purge_expired(struct pcache *pc, size_t upto, time_t now)
{
	atomic_fetch_add_explicit(&pc->pc_cleanups, 1, memory_order_relaxed);
	return sweep(pc, upto, keep_live, &now);
}

size_t
pcache_expunge(struct pcache *pc, size_t upto)
{
	time_t	now = pcache_now();

	/* The expired first, then whatever it takes. */
	return sweep(pc, upto, keep_live, &now) + sweep(pc, upto, NULL, NULL);
}

struct name_match {
	const uint8_t	*name;
	size_t		 namelen;
	uint16_t	 qtype;
	bool		 suffix;
};

static bool
keep_other_names(const struct pcache_entry *ce, const void *arg)
{
	const struct name_match	*nm = arg;
	const uint8_t		*name = ce->ce_data + DNS_HDRLEN;

	if (nm->qtype != 0 && nm->qtype != DNS_TYPE_ANY &&
	    ce->ce_qtype != nm->qtype)
		return true;
	if (nm->suffix)
		return !dnsname_is_part_of(name, ce->ce_namelen, nm->name,
		    nm->namelen);
	return !dnsname_equal(name, ce->ce_namelen, nm->name, nm->namelen);
}

size_t
pcache_expunge_name(struct pcache *pc, const uint8_t *name, size_t namelen,
    uint16_t qtype, bool suffix)
{
	struct name_match	nm = { name, namelen, qtype, suffix };

	return sweep(pc, 0, keep_other_names, &nm);
}

void
pcache_get_stats(struct pcache *pc, struct pcache_stats *st)
{
	size_t	i;

	st->entries = total_count(pc);
	st->maxentries = pc->pc_cfg.pc_maxentries;
	st->hits = st->misses = 0;
	for (i = 0; i < PCACHE_TALLIES; i++) {
		st->hits += atomic_load_explicit(&pc->pc_tally[i].pt_hits,
		    memory_order_relaxed);
		st->misses += atomic_load_explicit(&pc->pc_tally[i].pt_misses,
		    memory_order_relaxed);
	}
	st->deferredinserts = atomic_load(&pc->pc_deferredinserts);
	st->deferredlookups = atomic_load(&pc->pc_deferredlookups);
	st->lookupcollisions = atomic_load(&pc->pc_lookupcollisions);
	st->insertcollisions = atomic_load(&pc->pc_insertcollisions);
	st->ttltooshorts = atomic_load(&pc->pc_ttltooshorts);
	st->cleanups = atomic_load(&pc->pc_cleanups);
}

bool
pcache_is_full(struct pcache *pc)
{
	return total_count(pc) >= pc->pc_cfg.pc_maxentries;
}

void
pcache_print_stats(struct pcache *pc, struct sbuf *sb)
{
	struct pcache_stats	st;

	pcache_get_stats(pc, &st);
	sbuf_printf(sb, "Entries: %llu/%llu\n", (unsigned long long)st.entries,
	    (unsigned long long)st.maxentries);
	sbuf_printf(sb, "Hits: %llu\n", (unsigned long long)st.hits);
	sbuf_printf(sb, "Misses: %llu\n", (unsigned long long)st.misses);
	sbuf_printf(sb, "Deferred inserts: %llu\n",
	    (unsigned long long)st.deferredinserts);
	sbuf_printf(sb, "Deferred lookups: %llu\n",
	    (unsigned long long)st.deferredlookups);
	sbuf_printf(sb, "Lookup Collisions: %llu\n",
	    (unsigned long long)st.lookupcollisions);
	sbuf_printf(sb, "Insert Collisions: %llu\n",
	    (unsigned long long)st.insertcollisions);
	sbuf_printf(sb, "TTL Too Shorts: %llu\n",
	    (unsigned long long)st.ttltooshorts);
}

/* Call fn for each entry, each shard under its read lock in turn. */
static size_t
each_entry(struct pcache *pc, void (*fn)(void *,
    const struct pcache_entry *), void *arg)
{
	struct pcache_shard	*sh;
	struct pcache_table	*t;
	struct pcache_entry	*ce;
	size_t			 i, b, n = 0;

	for (i = 0; i < pc->pc_cfg.pc_nshards; i++) {
		sh = &pc->pc_shards[i];
		pthread_rwlock_rdlock(&sh->sh_lock);
		t = PEEK(sh->sh_ix->ix_table);
		for (b = 0; b <= t->t_mask; b++)
			for (ce = PEEK(t->t_b[b]); ce != NULL;
			    ce = PEEK(ce->ce_next), n++)
				fn(arg, ce);
		pthread_rwlock_unlock(&sh->sh_lock);
	}
	return n;
}

struct walk_arg {
	void	(*wa_fn)(void *, const uint8_t *, size_t);
	void	 *wa_arg;
	FILE	 *wa_fp;
	time_t	  wa_now;
};

static void
walk_one(void *arg, const struct pcache_entry *ce)
{
	struct walk_arg	*wa = arg;

	wa->wa_fn(wa->wa_arg, ce->ce_data, ce->ce_len);
}

size_t
pcache_walk(struct pcache *pc, void (*fn)(void *, const uint8_t *, size_t),
    void *arg)
{
	struct walk_arg	wa = { fn, arg, NULL, 0 };

	return each_entry(pc, walk_one, &wa);
}

static void
dump_one(void *arg, const struct pcache_entry *ce)
{
	struct walk_arg	*wa = arg;
	char		 name[DNSNAME_MAXTEXT], type[16];

	if (dnsname_to_text(ce->ce_data + DNS_HDRLEN, ce->ce_namelen, name,
	    sizeof(name)) == -1)
		strlcpy(name, "?", sizeof(name));
	fprintf(wa->wa_fp, "%s %lld IN %s ; rcode %d, key %llu, length %u, "
	    "received over UDP %d, added %lld\n", name,
	    (long long)(ce->ce_expire - wa->wa_now),
	    dnspacket_type_name(ce->ce_qtype, type, sizeof(type)),
	    dnspacket_rcode(ce->ce_data), (unsigned long long)ce->ce_key,
	    ce->ce_len, !ce->ce_tcp, (long long)ce->ce_added);
}

size_t
pcache_dump(struct pcache *pc, FILE *fp, time_t now)
{
	struct walk_arg	wa = { NULL, NULL, fp, now };

	fprintf(fp, "; packet cache dump follows\n;\n");
	return each_entry(pc, dump_one, &wa);
}

void
pcache_clean(struct pcache *pc, double percentage, time_t now,
    bool keepstale_now)
{
	double	keep = (double)pc->pc_cfg.pc_maxentries *
		    (1.0 - percentage / 100.0);

	/* keepStaleData: no backend is up, so expired entries are precious. */
	if (keepstale_now && pc->pc_cfg.pc_keepstale)
		return;
	pcache_purge_expired(pc, keep > 0 ? (size_t)keep : 0, now);
}

void
pcache_count_miss(struct pcache *pc)
{
	count_lookup(pc, false);
}
