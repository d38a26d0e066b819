/*
 * Queries in flight to a backend, by ID: see inflight.h.
 */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "dnsname.h"
#include "inflight.h"

#define INFLIGHT_EMPTY	UINT32_MAX	/* slot 65535 never is */
#define INFLIGHT_HBITS	6		/* 64 buckets to begin with */

/* Kept out of their callers, whose fast paths then save fewer registers. */
#if defined(__GNUC__)
#define INFLIGHT_COLD	__attribute__((noinline))
#else
#define INFLIGHT_COLD
#endif

/*
 * INFLIGHT_RNDLEN bytes of ChaCha20 under the key at the start of it_rnd:
 * the next key, then the bytes to use (whole blocks, few refills).
 */
static INFLIGHT_COLD void
inflight_refill(struct inflight_table *t)
{
	static const uint8_t	nonce[crypto_stream_chacha20_NONCEBYTES];
	uint8_t			key[crypto_stream_chacha20_KEYBYTES];

	memcpy(key, t->it_rnd, sizeof(key));
	crypto_stream_chacha20(t->it_rnd, sizeof(t->it_rnd), nonce, key);
	sodium_memzero(key, sizeof(key));
	t->it_nrnd = INFLIGHT_RNDLEN - INFLIGHT_RNDKEY;
}

static inline uint16_t
inflight_rnd16(struct inflight_table *t)
{
	const uint8_t	*p;

	if (t->it_nrnd < 2)
		inflight_refill(t);
	t->it_nrnd -= 2;
	p = t->it_rnd + INFLIGHT_RNDKEY + t->it_nrnd;
	return (uint16_t)(p[0] | p[1] << 8);
}

/* Lemire's multiply and shift, with the rejection that makes it exact. */
uint32_t
inflight_random(struct inflight_table *t, uint32_t n)
{
	uint64_t	m;
	uint32_t	min;

	do {
		m = (uint64_t)((uint32_t)inflight_rnd16(t) << 16 |
		    inflight_rnd16(t)) * n;
		/* Rarely worth a division: only the lowest products. */
		if ((uint32_t)m >= n)
			break;
		min = -n % n;
	} while ((uint32_t)m < min);
	return (uint32_t)(m >> 32);
}

/* The bucket an ID starts from: Fibonacci hashing spreads IDs that count. */
static inline uint32_t
inflight_home(const struct inflight_table *t, uint16_t id)
{
	return (uint32_t)(id * 0x9e3779b1u) >> (32 - t->it_hbits);
}

/* The bucket that holds id, or the empty one where it would go. */
static inline uint32_t
inflight_find(const struct inflight_table *t, uint16_t id)
{
	uint32_t	mask = (1u << t->it_hbits) - 1, i;

	for (i = inflight_home(t, id); t->it_hash[i] != INFLIGHT_EMPTY &&
	    (uint16_t)t->it_hash[i] != id; i = (i + 1) & mask)
		;
	return i;
}

/* Twice the buckets, for a new peak of slots used; 0 or -1. */
static INFLIGHT_COLD int
inflight_grow(struct inflight_table *t)
{
	uint32_t	*old = t->it_hash, n = 1u << t->it_hbits, i;

	if ((t->it_hash = reallocarray(NULL, 2 * n, sizeof(*old))) == NULL) {
		t->it_hash = old;
		return -1;
	}
	memset(t->it_hash, 0xff, 2 * n * sizeof(*old));
	t->it_hbits++;
	for (i = 0; i < n; i++)
		if (old[i] != INFLIGHT_EMPTY)
			t->it_hash[inflight_find(t, (uint16_t)old[i])] = old[i];
	free(old);
	return 0;
}

/* Linear probing's deletion: later entries of the cluster move up. */
static void
inflight_unhash(struct inflight_table *t, uint32_t i)
{
	uint32_t	mask = (1u << t->it_hbits) - 1, j = i, home;

	for (;;) {
		j = (j + 1) & mask;
		if (t->it_hash[j] == INFLIGHT_EMPTY)
			break;
		/* Stays if its home lies cyclically in (i, j]. */
		home = inflight_home(t, (uint16_t)t->it_hash[j]);
		if (((j - home) & mask) < ((j - i) & mask))
			continue;
		t->it_hash[i] = t->it_hash[j];
		i = j;
	}
	t->it_hash[i] = INFLIGHT_EMPTY;
}

static inline bool
inflight_busy(const struct inflight_table *t, uint16_t id)
{
	return (t->it_busy[id >> 6] >> (id & 63) & 1) != 0;
}

static inline void
inflight_mark(struct inflight_table *t, uint16_t id, bool busy)
{
	if (busy)
		t->it_busy[id >> 6] |= 1ULL << (id & 63);
	else
		t->it_busy[id >> 6] &= ~(1ULL << (id & 63));
}

/* Nearly every ID in flight: the first free one from a random place. */
static INFLIGHT_COLD uint16_t
inflight_scan(struct inflight_table *t)
{
	uint64_t	free;
	uint32_t	w;
	int		i;

	for (w = inflight_rnd16(t) >> 6; (free = ~t->it_busy[w]) == 0;
	    w = (w + 1) % (INFLIGHT_IDS / 64))
		;
	for (i = 0; (free >> i & 1) == 0; i++)
		;
	return (uint16_t)(w * 64 + (uint32_t)i);
}

/*
 * An ID not in flight, at random or the next one up.  There is one, as
 * there are fewer slots than IDs.
 */
static inline uint16_t
inflight_newid(struct inflight_table *t)
{
	uint16_t	id;
	int		i;

	if (!t->it_random) {
		for (id = t->it_nextid; inflight_busy(t, id); id++)
			;
		t->it_nextid = (uint16_t)(id + 1);
		return id;
	}
	for (i = 0; i < 8; i++)
		if (!inflight_busy(t, id = inflight_rnd16(t)))
			return id;
	return inflight_scan(t);
}

int
inflight_init(struct inflight_table *t, uint32_t n, size_t stride,
    bool randomids)
{
	memset(t, 0, sizeof(*t));
	if (n == 0 || n > INFLIGHT_MAX || stride < sizeof(struct inflight))
		return -1;
	t->it_n = n;
	t->it_stride = stride;
	t->it_hbits = INFLIGHT_HBITS;
	/* calloc: pages are only touched as slots are first used. */
	t->it_mem = calloc(n, stride);
	t->it_freeq = calloc(n, sizeof(*t->it_freeq));
	t->it_live = calloc(n, sizeof(*t->it_live));
	t->it_livepos = calloc(n, sizeof(*t->it_livepos));
	t->it_busy = calloc(INFLIGHT_IDS / 64, sizeof(*t->it_busy));
	t->it_hash = reallocarray(NULL, 1u << t->it_hbits, sizeof(*t->it_hash));
	if (t->it_mem == NULL || t->it_freeq == NULL || t->it_live == NULL ||
	    t->it_livepos == NULL || t->it_busy == NULL || t->it_hash == NULL) {
		inflight_free(t);
		return -1;
	}
	memset(t->it_hash, 0xff, (1u << t->it_hbits) * sizeof(*t->it_hash));
	randombytes_buf(t->it_key, sizeof(t->it_key));
	randombytes_buf(t->it_rnd, INFLIGHT_RNDKEY);
	t->it_random = randomids;
	return 0;
}

void
inflight_free(struct inflight_table *t)
{
	free(t->it_mem);
	free(t->it_freeq);
	free(t->it_live);
	free(t->it_livepos);
	free(t->it_busy);
	free(t->it_hash);
	t->it_mem = NULL;
	t->it_freeq = NULL;
	t->it_live = t->it_livepos = NULL;
	t->it_busy = NULL;
	t->it_hash = NULL;
	t->it_n = t->it_fresh = t->it_nfree = t->it_nlive = 0;
	sodium_memzero(t->it_rnd, sizeof(t->it_rnd));
	t->it_nrnd = 0;
}

long
inflight_get(struct inflight_table *t)
{
	long	idx;

	/* The longest-freed first. */
	if (t->it_nfree > 0) {
		idx = t->it_freeq[t->it_freehead];
		t->it_freehead = (t->it_freehead + 1) % t->it_n;
		t->it_nfree--;
	} else {
		if (t->it_fresh == t->it_n)
			return -1;
		/* A new peak: the hash stays at most half full. */
		if (2 * (t->it_fresh + 1) > 1u << t->it_hbits &&
		    inflight_grow(t) == -1)
			return -1;
		idx = (long)t->it_fresh++;
	}
	t->it_livepos[idx] = (uint16_t)t->it_nlive;
	t->it_live[t->it_nlive++] = (uint16_t)idx;
	return idx;
}

uint16_t
inflight_send(struct inflight_table *t, uint32_t idx,
    const struct dnsquestion *q, uint64_t now)
{
	struct inflight	*in = INFLIGHT_AT(t, idx);
	uint16_t	 id = inflight_newid(t);

	inflight_mark(t, id, true);
	t->it_hash[inflight_find(t, id)] = idx << 16 | id;
	in->if_id = id;
	in->if_sent = now;
	in->if_qhash = dnsname_hash(q->q_name, q->q_namelen, t->it_key);
	in->if_qtype = q->q_type;
	in->if_qclass = q->q_class;
	return id;
}

void
inflight_put(struct inflight_table *t, uint32_t idx)
{
	struct inflight	*in = INFLIGHT_AT(t, idx);
	uint16_t	 last = t->it_live[--t->it_nlive];

	/* The last taken fills its place in it_live. */
	t->it_live[t->it_livepos[idx]] = last;
	t->it_livepos[last] = t->it_livepos[idx];
	in->if_sent = 0;
	t->it_freeq[(t->it_freehead + t->it_nfree) % t->it_n] = (uint16_t)idx;
	t->it_nfree++;
	inflight_unhash(t, inflight_find(t, in->if_id));
	inflight_mark(t, in->if_id, false);
}

long
inflight_byid(const struct inflight_table *t, uint16_t id)
{
	uint32_t	e = t->it_hash[inflight_find(t, id)];

	return e == INFLIGHT_EMPTY ? -1 : (long)(e >> 16);
}

_Atomic bool	inflight_allow_empty;

bool
inflight_bare(const uint8_t *pkt, size_t len)
{
	return len >= DNS_HDRLEN && dnspacket_qr(pkt) &&
	    dnspacket_qdcount(pkt) == 0 &&
	    ((dnspacket_rcode(pkt) != DNS_RCODE_NOERROR &&
	    dnspacket_rcode(pkt) != DNS_RCODE_NXDOMAIN) ||
	    atomic_load_explicit(&inflight_allow_empty, memory_order_relaxed));
}

long
inflight_answer(const struct inflight_table *t, const uint8_t *pkt,
    size_t len, struct dnsquestion *q)
{
	const struct inflight	*in;
	long			 idx;

	if (inflight_bare(pkt, len)) {
		memset(q, 0, sizeof(*q));
		q->q_namelen = 1;	/* the root: q_name[0] is 0 */
		q->q_end = DNS_HDRLEN;
		return inflight_byid(t, dnspacket_id(pkt));
	}
	if (len < DNS_HDRLEN || !dnspacket_qr(pkt) ||
	    dnspacket_question(pkt, len, q) == -1 ||
	    (idx = inflight_byid(t, dnspacket_id(pkt))) == -1)
		return -1;
	in = INFLIGHT_AT(t, idx);
	if (in->if_qtype != q->q_type || in->if_qclass != q->q_class ||
	    in->if_qhash != dnsname_hash(q->q_name, q->q_namelen, t->it_key))
		return -1;
	return idx;
}

uint32_t
inflight_count(const struct inflight_table *t)
{
	return t->it_nlive;
}

/*
 * From the end of it_live down: a slot freed meanwhile is replaced by the
 * last one, which has been seen already, or is the slot at hand; a slot
 * taken goes at the end, past the walk.
 */
long
inflight_walk(struct inflight_table *t, uint32_t *pos)
{
	uint16_t	idx;

	if (*pos > t->it_nlive)
		*pos = t->it_nlive;
	while (*pos > 0) {
		idx = t->it_live[--*pos];
		t->it_walked++;
		if (INFLIGHT_AT(t, idx)->if_sent != 0)
			return idx;
	}
	return -1;
}
