/*
 * Rings of recent queries and responses, sharded so that writers on
 * several threads rarely meet, and filled with trylock only: a packet
 * never waits for the console.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "ring.h"

/* A hint only: compilers without it lose nothing but speed. */
#if defined(__GNUC__)
#define RING_PREFETCH(p)	__builtin_prefetch((p), 1)
#else
#define RING_PREFETCH(p)	((void)(p))
#endif

bool		 ring_recording = true;
struct ring	*ring_queries;
struct ring	*ring_responses;

static pthread_mutex_t		 global_lock = PTHREAD_MUTEX_INITIALIZER;

static bool
ring_args_ok(size_t total, size_t shards)
{
	return shards >= 1 && shards <= RING_MAXSHARDS && total >= 1 &&
	    total <= (size_t)1 << 28;
}

static void
ring_setup(struct ring *rg, size_t total, size_t shards)
{
	size_t	i, per = total / shards;

	if (per == 0)
		per = 1;
	for (i = 0; i < RING_MAXSHARDS; i++) {
		struct ring_shard *sh = &rg->rg_shards[i];

		free(sh->rs_entries);
		sh->rs_entries = NULL;
		sh->rs_cap = i < shards ? per : 0;
		sh->rs_head = sh->rs_count = 0;
	}
	atomic_store(&rg->rg_nshards, shards);
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
	for (i = 0; i < RING_MAXSHARDS; i++)
		pthread_mutex_init(&rg->rg_shards[i].rs_lock, NULL);
	ring_setup(rg, total, shards);
	return rg;
}

void
ring_free(struct ring *rg)
{
	size_t	i;

	if (rg == NULL)
		return;
	for (i = 0; i < RING_MAXSHARDS; i++) {
		free(rg->rg_shards[i].rs_entries);
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
	/* In index order, as every locker of several shards. */
	for (i = 0; i < RING_MAXSHARDS; i++)
		pthread_mutex_lock(&rg->rg_shards[i].rs_lock);
	ring_setup(rg, total, shards);
	atomic_store(&rg->rg_skipped, 0);
	for (i = RING_MAXSHARDS; i > 0; i--)
		pthread_mutex_unlock(&rg->rg_shards[i - 1].rs_lock);
	return 0;
}

static void
ring_copy_addr(struct sockaddr_in6 *to, const struct sockaddr *sa)
{
	memset(to, 0, sizeof(*to));
	if (sa == NULL)
		return;
	if (sa->sa_family == AF_INET)
		memcpy(to, sa, sizeof(struct sockaddr_in));
	else if (sa->sa_family == AF_INET6)
		memcpy(to, sa, sizeof(struct sockaddr_in6));
}

static void
ring_write(struct ring_entry *e, const struct ring_rec *r)
{
	size_t	n = r->rr_namelen > sizeof(e->re_name) ?
		    sizeof(e->re_name) : r->rr_namelen;

	e->re_sec = r->rr_sec;
	e->re_usec = r->rr_usec;
	e->re_latency = r->rr_latency > UINT32_MAX ? UINT32_MAX :
	    (uint32_t)r->rr_latency;
	ring_copy_addr(&e->re_client, r->rr_client);
	ring_copy_addr(&e->re_server, r->rr_server);
	e->re_qtype = r->rr_qtype;
	e->re_size = r->rr_size > UINT16_MAX ? UINT16_MAX :
	    (uint16_t)r->rr_size;
	e->re_rcode = (uint8_t)r->rr_rcode;
	e->re_tc = r->rr_tc;
	e->re_namelen = (uint8_t)n;
	if (r->rr_name != NULL)
		memcpy(e->re_name, r->rr_name, n);
}

/*
 * Where this thread writes next: each writer goes round the shards on its
 * own, so that one writer fills every shard without a shared counter.
 */
static _Thread_local size_t	ring_next;

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
		if (sh->rs_cap == 0) {		/* shrunk meanwhile */
			pthread_mutex_unlock(&sh->rs_lock);
			continue;
		}
		if (sh->rs_entries == NULL && (sh->rs_entries =
		    calloc(sh->rs_cap, sizeof(*sh->rs_entries))) == NULL) {
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

/* The slot for the next entry of sh, which the caller holds. */
static struct ring_entry *
ring_advance(struct ring_shard *sh)
{
	struct ring_entry	*e = &sh->rs_entries[sh->rs_head];

	if (++sh->rs_head == sh->rs_cap)
		sh->rs_head = 0;
	if (sh->rs_count < sh->rs_cap)
		sh->rs_count++;
	return e;
}

/*
 * Staging.  A thread that handles packets in batches (the UDP loop) keeps
 * a batch's entries in stages of its own, one per ring, and hands each
 * stage over in one go at ring_flush(): one lock for the batch instead of
 * one per entry, and the ring's cold lines written back to back.  An
 * entry waits there one batch at most; a full stage flushes itself.
 */
#define RING_STAGE	64
#define RING_STAGES	2

struct ring_stage {
	struct ring		*st_ring;
	size_t			 st_next;	/* its rotor */
	size_t			 st_n;
	struct ring_entry	 st_e[RING_STAGE];
};

static _Thread_local struct ring_stage	*stages;

int
ring_stage_start(void)
{
	if (stages == NULL &&
	    (stages = calloc(RING_STAGES, sizeof(*stages))) == NULL)
		return -1;
	return 0;
}

static void
ring_flush_stage(struct ring_stage *st)
{
	struct ring_shard	*sh;
	const struct ring_entry	*e;
	size_t			 i;

	if (st->st_n == 0)
		return;
	if ((sh = ring_lock_next(st->st_ring, &st->st_next, st->st_n)) != NULL) {
		for (i = 0; i < st->st_n; i++) {
			e = &st->st_e[i];
			memcpy(ring_advance(sh), e,
			    offsetof(struct ring_entry, re_name) +
			    e->re_namelen);
		}
		pthread_mutex_unlock(&sh->rs_lock);
	}
	st->st_n = 0;
}

void
ring_flush(void)
{
	size_t	i;

	if (stages == NULL)
		return;
	for (i = 0; i < RING_STAGES; i++)
		ring_flush_stage(&stages[i]);
}

void
ring_stage_stop(void)
{
	ring_flush();
	free(stages);
	stages = NULL;
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
		if (stages[i].st_n == 0) {
			stages[i].st_ring = rg;
			return &stages[i];
		}
	return NULL;
}

bool
ring_push(struct ring *rg, const struct ring_rec *r)
{
	struct ring_stage	*st;
	struct ring_shard	*sh;
	struct ring_entry	*e;

	if (stages != NULL && (st = ring_stage_of(rg)) != NULL) {
		if (st->st_n == RING_STAGE)
			ring_flush_stage(st);
		ring_write(&st->st_e[st->st_n++], r);
		return true;
	}
	if ((sh = ring_lock_next(rg, &ring_next, 1)) == NULL)
		return false;
	e = ring_advance(sh);
	ring_write(e, r);
	/*
	 * The ring is larger than the caches: ask now for the lines the next
	 * write to this shard will need, so that it does not wait for memory.
	 */
	RING_PREFETCH(&sh->rs_entries[sh->rs_head]);
	RING_PREFETCH((const char *)&sh->rs_entries[sh->rs_head] + 64);
	pthread_mutex_unlock(&sh->rs_lock);
	return true;
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
		n += rg->rg_shards[i].rs_count;
		pthread_mutex_unlock(&rg->rg_shards[i].rs_lock);
	}
	return n;
}

uint64_t
ring_skipped(const struct ring *rg)
{
	return atomic_load(&rg->rg_skipped);
}

void
ring_foreach(struct ring *rg, void (*fn)(const struct ring_entry *, void *),
    void *arg)
{
	struct ring_shard	*sh;
	size_t			 i, j, first;

	for (i = 0; i < RING_MAXSHARDS; i++) {
		sh = &rg->rg_shards[i];
		pthread_mutex_lock(&sh->rs_lock);
		if (sh->rs_entries != NULL && sh->rs_count > 0) {
			first = (sh->rs_head + sh->rs_cap - sh->rs_count) %
			    sh->rs_cap;
			for (j = 0; j < sh->rs_count; j++)
				fn(&sh->rs_entries[(first + j) % sh->rs_cap],
				    arg);
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
