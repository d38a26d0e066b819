/*
 * Rings of recent queries and responses, sharded so that writers on
 * several threads rarely meet, and filled with trylock only: a packet
 * never waits for the console.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "dnsname.h"
#include "ring.h"

_Atomic bool	 ring_recording = true;
struct ring	*ring_queries;
struct ring	*ring_responses;

#define RING_LINE	64	/* bytes in a cache line */

static pthread_mutex_t		 global_lock = PTHREAD_MUTEX_INITIALIZER;

static void	ring_stage_forget(struct ring *);

static bool
ring_args_ok(size_t total, size_t shards)
{
	return shards >= 1 && shards <= RING_MAXSHARDS && total >= 1 &&
	    total <= (size_t)1 << 28;
}

/* Shard i for a ring of total entries over shards; the caller holds it. */
static void
ring_shard_setup(struct ring_shard *sh, size_t i, size_t total, size_t shards)
{
	size_t	per = total / shards;

	if (per == 0)
		per = 1;
	/* A claimant frees its arrays itself, at its flush. */
	if (sh->rs_claim == 0) {
		free(sh->rs_slots);
		free(sh->rs_long);
	}
	sh->rs_slots = NULL;
	sh->rs_long = NULL;
	sh->rs_cap = i < shards ? per : 0;
	sh->rs_head = sh->rs_count = sh->rs_claim = 0;
	sh->rs_gen++;
}

struct ring *
ring_new(size_t total, size_t shards)
{
	struct ring	*rg;
	size_t		 i;

	if (!ring_args_ok(total, shards)) {
		errno = EINVAL;
		return NULL;
	}
	if ((rg = calloc(1, sizeof(*rg))) == NULL)
		return NULL;
	for (i = 0; i < RING_MAXSHARDS; i++) {
		pthread_mutex_init(&rg->rg_shards[i].rs_lock, NULL);
		ring_shard_setup(&rg->rg_shards[i], i, total, shards);
	}
	atomic_store(&rg->rg_nshards, shards);
	return rg;
}

void
ring_free(struct ring *rg)
{
	size_t	i;

	if (rg == NULL)
		return;
	ring_stage_forget(rg);
	for (i = 0; i < RING_MAXSHARDS; i++) {
		free(rg->rg_shards[i].rs_slots);
		free(rg->rg_shards[i].rs_long);
		pthread_mutex_destroy(&rg->rg_shards[i].rs_lock);
	}
	free(rg);
}

int
ring_resize(struct ring *rg, size_t total, size_t shards)
{
	size_t	i;

	if (!ring_args_ok(total, shards)) {
		errno = EINVAL;
		return -1;
	}
	/*
	 * One shard at a time: a writer that meets a shard not yet resized
	 * fills it with entries that go with it; one past the new count
	 * finds it empty (rs_cap 0) and moves on.
	 */
	atomic_store(&rg->rg_nshards, shards);
	for (i = 0; i < RING_MAXSHARDS; i++) {
		pthread_mutex_lock(&rg->rg_shards[i].rs_lock);
		ring_shard_setup(&rg->rg_shards[i], i, total, shards);
		pthread_mutex_unlock(&rg->rg_shards[i].rs_lock);
	}
	atomic_store(&rg->rg_skipped, 0);
	return 0;
}

static void
ring_copy_addr(struct sockaddr_in6 *to, const struct sockaddr *sa)
{
	if (sa != NULL && sa->sa_family == AF_INET6) {
		memcpy(to, sa, sizeof(*to));
		return;
	}
	memset(to, 0, sizeof(*to));
	if (sa != NULL && sa->sa_family == AF_INET)
		memcpy(to, sa, sizeof(struct sockaddr_in));
}

/*
 * A name's n bytes, without a call: whole words, the last one ending at
 * the end over its neighbour; short names byte by byte.
 */
static void
ring_copy_name(uint8_t *to, const uint8_t *from, size_t n)
{
	uint64_t	w;
	size_t		i;

	if (n < 8) {
		for (i = 0; i < n; i++)
			to[i] = from[i];
		return;
	}
	for (i = 0; i + 8 < n; i += 8) {
		memcpy(&w, from + i, 8);
		memcpy(to + i, &w, 8);
	}
	memcpy(&w, from + n - 8, 8);
	memcpy(to + n - 8, &w, 8);
}

_Static_assert(sizeof(struct ring_slot) == 64, "a ring slot is a line");

/*
 * The server addresses seen, numbered from 1 in the order they came, for
 * the slots of responses.  Chunks are made as needed and never change
 * once published, so a reader looks one up without a lock; a writer that
 * meets a new address adds it under srv_lock.
 */
#define SRV_CHUNK	256
#define SRV_CHUNKS	255	/* ids fit a slot's 16 bits */

static struct sockaddr_in6 *_Atomic	srv_chunks[SRV_CHUNKS];
static _Atomic uint32_t			srv_count;
static pthread_mutex_t			srv_lock = PTHREAD_MUTEX_INITIALIZER;
/* The last server this thread numbered, as most responses repeat it. */
static _Thread_local const struct sockaddr *srv_last_sa;
static _Thread_local uint16_t		srv_last_id;

static const struct sockaddr_in6 *
srv_addr(uint32_t id)
{
	struct sockaddr_in6	*c;

	c = atomic_load_explicit(&srv_chunks[(id - 1) / SRV_CHUNK],
	    memory_order_acquire);
	return &c[(id - 1) % SRV_CHUNK];
}

/* The number of the first of ids 1 to n with address a, or 0. */
static uint16_t
srv_find(const struct sockaddr_in6 *a, uint32_t n)
{
	uint32_t	id;

	for (id = 1; id <= n; id++)
		if (memcmp(srv_addr(id), a, sizeof(*a)) == 0)
			return (uint16_t)id;
	return 0;
}

/* The number of server sa; 0 for none, or when the table is full. */
static uint16_t
srv_id(struct ring *rg, const struct sockaddr *sa)
{
	struct sockaddr_in6	 a, *c;
	uint32_t		 n;
	uint16_t		 id;

	if (sa == NULL || (sa->sa_family != AF_INET &&
	    sa->sa_family != AF_INET6))
		return 0;
	ring_copy_addr(&a, sa);
	if (sa == srv_last_sa &&
	    memcmp(srv_addr(srv_last_id), &a, sizeof(a)) == 0)
		return srv_last_id;
	n = atomic_load_explicit(&srv_count, memory_order_acquire);
	if ((id = srv_find(&a, n)) == 0) {
		pthread_mutex_lock(&srv_lock);
		n = atomic_load_explicit(&srv_count, memory_order_relaxed);
		if ((id = srv_find(&a, n)) == 0 &&
		    n < (uint32_t)SRV_CHUNK * SRV_CHUNKS) {
			c = atomic_load_explicit(&srv_chunks[n / SRV_CHUNK],
			    memory_order_relaxed);
			if (c == NULL && (c = calloc(SRV_CHUNK,
			    sizeof(*c))) != NULL)
				atomic_store_explicit(&srv_chunks[n /
				    SRV_CHUNK], c, memory_order_release);
			if (c != NULL) {
				c[n % SRV_CHUNK] = a;
				id = (uint16_t)(n + 1);
				atomic_store_explicit(&srv_count, n + 1,
				    memory_order_release);
			}
		}
		pthread_mutex_unlock(&srv_lock);
		if (id == 0) {
			atomic_fetch_add_explicit(&rg->rg_nomem, 1,
			    memory_order_relaxed);
			return 0;
		}
	}
	srv_last_sa = sa;
	srv_last_id = id;
	return id;
}

static void
ring_put_client(struct ring_slot *s, const struct sockaddr *sa)
{
	const struct sockaddr_in	*sin = (const void *)sa;
	const struct sockaddr_in6	*sin6 = (const void *)sa;

	s->sl_family = 0;
	if (sa == NULL)
		return;
	if (sa->sa_family == AF_INET) {
		s->sl_family = 4;
		s->sl_port = sin->sin_port;
		memcpy(s->sl_addr, &sin->sin_addr, 4);
	} else if (sa->sa_family == AF_INET6) {
		s->sl_family = 6;
		s->sl_port = sin6->sin6_port;
		memcpy(s->sl_addr, &sin6->sin6_addr, 16);
	}
}

static void
ring_get_client(const struct ring_slot *s, struct sockaddr_in6 *to)
{
	struct sockaddr_in	*sin = (void *)to;

	memset(to, 0, sizeof(*to));
	if (s->sl_family == 4) {
		sin->sin_family = AF_INET;
		sin->sin_port = s->sl_port;
		memcpy(&sin->sin_addr, s->sl_addr, 4);
	} else if (s->sl_family == 6) {
		to->sin6_family = AF_INET6;
		to->sin6_port = s->sl_port;
		memcpy(&to->sin6_addr, s->sl_addr, 16);
	}
}

void
ring_make_query(struct ring_slot *s, uint64_t usec,
    const struct sockaddr *client, const uint8_t *name, size_t namelen,
    uint16_t qtype, size_t size)
{
	size_t	n = name == NULL ? 0 : namelen > 255 ? 255 : namelen;

	s->sl_time = usec;
	s->sl_latency = 0;
	ring_put_client(s, client);
	s->sl_server = 0;
	s->sl_qtype = qtype;
	s->sl_size = size > UINT16_MAX ? UINT16_MAX : (uint16_t)size;
	s->sl_rcode = 0;
	s->sl_tc = false;
	s->sl_namelen = (uint8_t)n;
	if (n > 0 && n <= RING_INLINE)
		ring_copy_name(s->sl_name, name, n);
}

void
ring_make(struct ring *rg, struct ring_slot *s, const struct ring_rec *r)
{
	ring_make_query(s, r->rr_sec < 0 ? 0 :
	    (uint64_t)r->rr_sec * 1000000 + r->rr_usec, r->rr_client,
	    r->rr_name, r->rr_namelen, r->rr_qtype, r->rr_size);
	s->sl_latency = r->rr_latency > UINT32_MAX ? UINT32_MAX :
	    (uint32_t)r->rr_latency;
	s->sl_server = r->rr_server == NULL ? 0 : srv_id(rg, r->rr_server);
	s->sl_rcode = (uint8_t)r->rr_rcode;
	s->sl_tc = r->rr_tc;
}

/* Slot at of arrays slots and lname takes s, its long name from name. */
static inline void
ring_put(struct ring_slot *slots, uint8_t (*lname)[255], size_t at,
    const struct ring_slot *s, const uint8_t *name)
{
	slots[at] = *s;
	if (s->sl_namelen > RING_INLINE)
		ring_copy_name(lname[at], name, s->sl_namelen);
}

/* The long-name room of sh, which the caller holds; NULL without memory. */
static uint8_t (*ring_long_room(struct ring_shard *sh))[255]
{
	if (sh->rs_long == NULL)
		sh->rs_long = calloc(sh->rs_cap, sizeof(*sh->rs_long));
	return sh->rs_long;
}

/*
 * Where this thread writes next: each writer goes round the shards on its
 * own, so that one writer fills every shard without a shared counter.
 */
static _Thread_local size_t	ring_next;

/*
 * n slots, line-aligned.  Not zeroed: readers look at the rs_count slots
 * written, and at a name up to its length only.
 */
static struct ring_slot *
ring_alloc(size_t n)
{
	void	*p;

	if (n > SIZE_MAX / sizeof(struct ring_slot) ||
	    posix_memalign(&p, RING_LINE, n * sizeof(struct ring_slot)) != 0)
		return NULL;
	return p;
}

/*
 * The shard to write next, from the writer's rotor *next: locked and with
 * entries; or NULL, with the n_lost entries that were to go there counted.
 */
static struct ring_shard *
ring_lock_next(struct ring *rg, size_t *next, size_t n_lost)
{
	struct ring_shard	*sh;
	size_t			 n = atomic_load_explicit(&rg->rg_nshards,
				    memory_order_relaxed), i, k;

	k = *next < n ? *next : 0;
	*next = k + 1;
	for (i = 0; i < n; i++, k = k + 1 == n ? 0 : k + 1) {
		sh = &rg->rg_shards[k];
		if (pthread_mutex_trylock(&sh->rs_lock) != 0)
			continue;
		if (sh->rs_cap == 0 || sh->rs_claim != 0) {
			/* Shrunk meanwhile, or another writer's batch. */
			pthread_mutex_unlock(&sh->rs_lock);
			continue;
		}
		if (sh->rs_slots == NULL && (sh->rs_slots =
		    ring_alloc(sh->rs_cap)) == NULL) {
			pthread_mutex_unlock(&sh->rs_lock);
			atomic_fetch_add_explicit(&rg->rg_nomem, n_lost,
			    memory_order_relaxed);
			return NULL;
		}
		return sh;
	}
	atomic_fetch_add_explicit(&rg->rg_skipped, n_lost,
	    memory_order_relaxed);
	return NULL;
}

/* The index of the next slot of sh, which the caller holds. */
static size_t
ring_advance(struct ring_shard *sh)
{
	size_t	i = sh->rs_head;

	if (++sh->rs_head == sh->rs_cap)
		sh->rs_head = 0;
	if (sh->rs_count < sh->rs_cap)
		sh->rs_count++;
	return i;
}

/*
 * Claims.  A thread that handles packets in batches (the UDP loop) takes
 * up to RING_CLAIM slots of a shard under its lock, writes its entries
 * into them without the lock, and hands them over at ring_flush(): two
 * short lock holds per ring and batch, each entry written once, and no
 * lock held while the batch runs (its Lua may wait for a thread that
 * reads the rings).  A claim fills one shard for a whole lap before the
 * next shard, so that the ring as a whole keeps the newest entries.
 */
#define RING_STAGES	2

/* A hint only: compilers without it lose nothing but speed. */
#if defined(__GNUC__)
#define RING_PREFETCH(p)	__builtin_prefetch((p), 1)
/* Kept out of its caller, whose fast path then saves fewer registers. */
#define RING_COLD		__attribute__((noinline))
#else
#define RING_PREFETCH(p)	((void)(p))
#define RING_COLD
#endif

struct ring_stage {
	struct ring		*st_ring;
	size_t			 st_next;	/* the shard it fills */
	size_t			 st_left;	/* ... for so many more entries */
	uint64_t		 st_gen;	/* ... of the ring sized so */
	struct ring_shard	*st_sh;		/* claimed; NULL: none */
	struct ring_slot	*st_slots;	/* its arrays at the claim */
	uint8_t			(*st_long)[255];
	size_t			 st_cap;
	size_t			 st_at;		/* first slot claimed */
	size_t			 st_k;		/* slots claimed */
	size_t			 st_n;		/* ... and filled */
};

static _Thread_local struct ring_stage	*stages;

int
ring_stage_start(void)
{
	if (stages != NULL)
		return 0;
	if ((stages = calloc(RING_STAGES, sizeof(*stages))) == NULL)
		return -1;
	return 0;
}

/*
 * A claim that a resize has taken from its shard: the arrays are the
 * claimant's to free, and its entries are gone with the others.
 */
static void
ring_drop_claim(struct ring_stage *st)
{
	free(st->st_slots);
	free(st->st_long);
	st->st_sh = NULL;
}

/*
 * Hands the claim's filled slots to readers, the rest back to the shard.
 * Without wait, false when a reader holds the shard: the claim stays
 * open, to be handed over at the next flush.
 */
static bool
ring_publish(struct ring_stage *st, bool wait)
{
	struct ring_shard	*sh = st->st_sh;

	if (wait)
		pthread_mutex_lock(&sh->rs_lock);
	else if (pthread_mutex_trylock(&sh->rs_lock) != 0)
		return false;
	if (st->st_gen != sh->rs_gen) {
		pthread_mutex_unlock(&sh->rs_lock);
		ring_drop_claim(st);
		return true;
	}
	sh->rs_head = (st->st_at + st->st_n) % st->st_cap;
	sh->rs_count = sh->rs_count + st->st_n > st->st_cap ? st->st_cap :
	    sh->rs_count + st->st_n;
	sh->rs_claim = 0;
	pthread_mutex_unlock(&sh->rs_lock);
	if ((st->st_left -= st->st_n) == 0)
		st->st_next++;
	st->st_sh = NULL;
	return true;
}

/* A claim on the shard the stage fills; false if every shard is busy. */
static bool
ring_claim(struct ring_stage *st)
{
	struct ring		*rg = st->st_ring;
	struct ring_shard	*sh;
	size_t			 k = st->st_next;

	if ((sh = ring_lock_next(rg, &k, 1)) == NULL)
		return false;
	k = (size_t)(sh - rg->rg_shards);
	if (k != st->st_next || st->st_left == 0 || st->st_gen != sh->rs_gen) {
		st->st_next = k;
		st->st_left = sh->rs_cap;
		st->st_gen = sh->rs_gen;
	}
	st->st_k = st->st_left < RING_CLAIM ? st->st_left : RING_CLAIM;
	st->st_sh = sh;
	st->st_slots = sh->rs_slots;
	st->st_long = sh->rs_long;
	st->st_cap = sh->rs_cap;
	st->st_at = sh->rs_head;
	st->st_n = 0;
	sh->rs_claim = st->st_k;
	pthread_mutex_unlock(&sh->rs_lock);
	return true;
}

/* The claim's long-name room, made under the lock; NULL if it cannot be. */
static uint8_t (*ring_claim_long(struct ring_stage *st))[255]
{
	struct ring_shard	*sh = st->st_sh;

	if (st->st_long != NULL)
		return st->st_long;
	if (pthread_mutex_trylock(&sh->rs_lock) != 0) {
		atomic_fetch_add_explicit(&st->st_ring->rg_skipped, 1,
		    memory_order_relaxed);
		return NULL;
	}
	if (st->st_gen != sh->rs_gen) {
		pthread_mutex_unlock(&sh->rs_lock);
		ring_drop_claim(st);
		return NULL;
	}
	st->st_long = ring_long_room(sh);
	pthread_mutex_unlock(&sh->rs_lock);
	if (st->st_long == NULL)
		atomic_fetch_add_explicit(&st->st_ring->rg_nomem, 1,
		    memory_order_relaxed);
	return st->st_long;
}

/* The next slot of the claim, which has room (and a long-name room). */
static inline void
ring_stage_put(struct ring_stage *st, const struct ring_slot *s,
    const uint8_t *name)
{
	size_t	at;

	/* No division: a claim never holds more slots than the shard. */
	if ((at = st->st_at + st->st_n) >= st->st_cap)
		at -= st->st_cap;
	ring_put(st->st_slots, st->st_long, at, s, name);
	/* The line the entry after next takes, most likely: fetch it early. */
	RING_PREFETCH(&st->st_slots[at + 2 < st->st_cap ? at + 2 :
	    (at + 2) % st->st_cap]);
	st->st_n++;
}

static bool
ring_stage_push(struct ring_stage *st, const struct ring_slot *s,
    const uint8_t *name)
{
	/* A reader holding the shard of a full claim: this entry waits not. */
	if (st->st_sh != NULL && st->st_n == st->st_k &&
	    !ring_publish(st, false)) {
		atomic_fetch_add_explicit(&st->st_ring->rg_skipped, 1,
		    memory_order_relaxed);
		return false;
	}
	if (st->st_sh == NULL && !ring_claim(st))
		return false;
	if (s->sl_namelen > RING_INLINE && ring_claim_long(st) == NULL)
		return false;
	ring_stage_put(st, s, name);
	return true;
}

static void
ring_flush_all(bool wait)
{
	size_t	i;

	if (stages == NULL)
		return;
	for (i = 0; i < RING_STAGES; i++)
		if (stages[i].st_sh != NULL)
			(void)ring_publish(&stages[i], wait);
}

void
ring_flush(void)
{
	ring_flush_all(false);
}

void
ring_stage_stop(void)
{
	ring_flush_all(true);
	free(stages);
	stages = NULL;
}

/* rg goes away: this thread's claim on it with it. */
static void
ring_stage_forget(struct ring *rg)
{
	size_t	i;

	for (i = 0; stages != NULL && i < RING_STAGES; i++) {
		if (stages[i].st_ring != rg)
			continue;
		/* Still the shard's arrays, unless a resize left them. */
		if (stages[i].st_sh != NULL &&
		    stages[i].st_gen != stages[i].st_sh->rs_gen)
			ring_drop_claim(&stages[i]);
		stages[i].st_sh = NULL;
		stages[i].st_ring = NULL;
	}
}

/* This thread's stage for rg: its own, or a free one; NULL if none. */
static struct ring_stage *
ring_stage_of(struct ring *rg)
{
	size_t	i;

	for (i = 0; i < RING_STAGES; i++)
		if (stages[i].st_ring == rg)
			return &stages[i];
	for (i = 0; i < RING_STAGES; i++)
		if (stages[i].st_sh == NULL) {
			stages[i].st_ring = rg;
			stages[i].st_left = 0;
			return &stages[i];
		}
	return NULL;
}

/* An entry without a claim open for it: it claims or locks. */
static RING_COLD bool
ring_push_slow(struct ring *rg, const struct ring_slot *s,
    const uint8_t *name)
{
	struct ring_stage	*st;
	struct ring_shard	*sh;
	size_t			 at;

	if (stages != NULL && (st = ring_stage_of(rg)) != NULL)
		return ring_stage_push(st, s, name);
	if ((sh = ring_lock_next(rg, &ring_next, 1)) == NULL)
		return false;
	if (s->sl_namelen > RING_INLINE && ring_long_room(sh) == NULL) {
		pthread_mutex_unlock(&sh->rs_lock);
		atomic_fetch_add_explicit(&rg->rg_nomem, 1,
		    memory_order_relaxed);
		return false;
	}
	at = ring_advance(sh);
	ring_put(sh->rs_slots, sh->rs_long, at, s, name);
	pthread_mutex_unlock(&sh->rs_lock);
	return true;
}

bool
ring_push_slot(struct ring *rg, const struct ring_slot *s,
    const uint8_t *name)
{
	struct ring_stage	*st;
	size_t			 i;

	if (atomic_load_explicit(&rg->rg_off, memory_order_relaxed))
		return false;
	/* Most entries: a claim with room, and a name that fits the slot. */
	for (i = 0; stages != NULL && i < RING_STAGES; i++) {
		st = &stages[i];
		if (st->st_ring != rg)
			continue;
		if (st->st_sh == NULL || st->st_n == st->st_k ||
		    s->sl_namelen > RING_INLINE)
			break;
		ring_stage_put(st, s, name);
		return true;
	}
	return ring_push_slow(rg, s, name);
}

bool
ring_push(struct ring *rg, const struct ring_rec *r)
{
	struct ring_slot	s;

	ring_make(rg, &s, r);
	return ring_push_slot(rg, &s, r->rr_name);
}

/*
 * The entries of sh, which the caller holds, that readers see: the newest
 * ones outside a claim, whose slots are being written.
 */
static size_t
ring_visible(const struct ring_shard *sh)
{
	return sh->rs_count + sh->rs_claim > sh->rs_cap ?
	    sh->rs_cap - sh->rs_claim : sh->rs_count;
}

size_t
ring_capacity(struct ring *rg)
{
	size_t	i, n = 0;

	for (i = 0; i < RING_MAXSHARDS; i++) {
		pthread_mutex_lock(&rg->rg_shards[i].rs_lock);
		n += rg->rg_shards[i].rs_cap;
		pthread_mutex_unlock(&rg->rg_shards[i].rs_lock);
	}
	return n;
}

size_t
ring_count(struct ring *rg)
{
	size_t	i, n = 0;

	for (i = 0; i < RING_MAXSHARDS; i++) {
		pthread_mutex_lock(&rg->rg_shards[i].rs_lock);
		n += ring_visible(&rg->rg_shards[i]);
		pthread_mutex_unlock(&rg->rg_shards[i].rs_lock);
	}
	return n;
}

uint64_t
ring_skipped(const struct ring *rg)
{
	return atomic_load(&rg->rg_skipped);
}

/* Slot i of sh, which the caller holds, as readers see it. */
static void
ring_decode(const struct ring_shard *sh, size_t i, struct ring_entry *e)
{
	const struct ring_slot	*s = &sh->rs_slots[i];

	e->re_sec = (int64_t)(s->sl_time / 1000000);
	e->re_usec = (uint32_t)(s->sl_time % 1000000);
	e->re_latency = s->sl_latency;
	ring_get_client(s, &e->re_client);
	if (s->sl_server != 0)
		e->re_server = *srv_addr(s->sl_server);
	else
		memset(&e->re_server, 0, sizeof(e->re_server));
	e->re_qtype = s->sl_qtype;
	e->re_size = s->sl_size;
	e->re_rcode = s->sl_rcode;
	e->re_tc = s->sl_tc;
	e->re_namelen = s->sl_namelen;
	memcpy(e->re_name, s->sl_namelen > RING_INLINE ? sh->rs_long[i] :
	    s->sl_name, s->sl_namelen);
}

void
ring_foreach(struct ring *rg, void (*fn)(const struct ring_entry *, void *),
    void *arg)
{
	struct ring_shard	*sh;
	struct ring_entry	 e;
	size_t			 i, j, n, first;

	for (i = 0; i < RING_MAXSHARDS; i++) {
		sh = &rg->rg_shards[i];
		pthread_mutex_lock(&sh->rs_lock);
		if (sh->rs_slots != NULL && (n = ring_visible(sh)) > 0) {
			first = (sh->rs_head + sh->rs_cap - n) % sh->rs_cap;
			for (j = 0; j < n; j++) {
				ring_decode(sh, (first + j) % sh->rs_cap, &e);
				fn(&e, arg);
			}
		}
		pthread_mutex_unlock(&sh->rs_lock);
	}
}

int
ring_global_init(void)
{
	int	rv = 0;

	pthread_mutex_lock(&global_lock);
	if (ring_queries == NULL)
		ring_queries = ring_new(RING_DEFAULT_SIZE, RING_DEFAULT_SHARDS);
	if (ring_responses == NULL)
		ring_responses = ring_new(RING_DEFAULT_SIZE,
		    RING_DEFAULT_SHARDS);
	if (ring_queries == NULL || ring_responses == NULL)
		rv = -1;
	pthread_mutex_unlock(&global_lock);
	return rv;
}

int
ring_global_resize(size_t total, size_t shards)
{
	if (ring_global_init() == -1)
		return -1;
	if (ring_resize(ring_queries, total, shards) == -1 ||
	    ring_resize(ring_responses, total, shards) == -1)
		return -1;
	return 0;
}

void
ring_name_text(const struct ring_entry *e, int labels, char *buf,
    size_t bufsz)
{
	uint8_t	name[DNSNAME_MAXLEN];
	size_t	off = 0, len = e->re_namelen;
	int	n;

	dnsname_lower(e->re_name, len, name);
	if (labels > 0) {
		n = dnsname_count_labels(name, len);
		while (n > labels && off < len && name[off] != 0) {
			off += (size_t)name[off] + 1;
			n--;
		}
	}
	if (off >= len || dnsname_to_text(name + off, len - off, buf,
	    bufsz) == -1)
		strlcpy(buf, "?", bufsz);
}

struct ring_top_walk {
	const struct ring_top_query	*tw_q;
	struct ring_top			*tw_rt;
};

static void
ring_top_cb(const struct ring_entry *e, void *arg)
{
	struct ring_top_walk		*tw = arg;
	const struct ring_top_query	*q = tw->tw_q;
	uint64_t			 n = q->tq_bytes ? e->re_size : 1;
	char				 key[RING_TOP_KEYMAX];

	if (q->tq_rcode >= 0 && e->re_rcode != q->tq_rcode)
		return;
	if (e->re_latency < q->tq_minusec)
		return;
	if (q->tq_clients) {
		if (e->re_client.sin6_family == 0)
			return;
		addr_host_to_text((const struct sockaddr *)&e->re_client, key,
		    sizeof(key));
	} else
		ring_name_text(e, q->tq_labels, key, sizeof(key));
	tw->tw_rt->rt_total += n;
	if (qcount_table_add(&tw->tw_rt->rt_t, key, n, SIZE_MAX) == -1)
		tw->tw_rt->rt_nomem = true;
}

/* Most counted first, then by key; the free slots last. */
static int
ring_top_cmp(const void *a, const void *b)
{
	const struct qcount_item	*x = a, *y = b;

	if (x->qi_key == NULL || y->qi_key == NULL)
		return (x->qi_key == NULL) - (y->qi_key == NULL);
	if (x->qi_n != y->qi_n)
		return x->qi_n > y->qi_n ? -1 : 1;
	return strcmp(x->qi_key, y->qi_key);
}

void
ring_top(struct ring *a, struct ring *b, const struct ring_top_query *q,
    struct ring_top *rt)
{
	struct ring_top_walk	tw = { q, rt };

	ring_foreach(a, ring_top_cb, &tw);
	if (b != NULL)
		ring_foreach(b, ring_top_cb, &tw);
	if (rt->rt_t.qt_cap > 0)
		qsort(rt->rt_t.qt_items, rt->rt_t.qt_cap,
		    sizeof(*rt->rt_t.qt_items), ring_top_cmp);
}

void
ring_top_free(struct ring_top *rt)
{
	qcount_table_free(&rt->rt_t);
	memset(rt, 0, sizeof(*rt));
}
