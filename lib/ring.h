/*
 * Fixed-capacity rings of recent queries and responses, for the console's
 * inspection functions (topQueries, grepq, ...).  A ring is split into
 * shards, each with its own mutex; a writer only ever tries a lock
 * (pthread_mutex_trylock), moving to the next shard when one is busy, and
 * skips the entry (counted) when all are: packets never wait on a reader.
 * The entries of a shard are allocated at its first use, so an idle
 * daemon does not pay for them.
 */
#ifndef RING_H
#define RING_H

#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "qcount.h"

#define RING_MAXSHARDS		64
#define RING_DEFAULT_SIZE	10000
#define RING_DEFAULT_SHARDS	10

/* An entry as readers see it (ring_foreach). */
struct ring_entry {
	int64_t			re_sec;		/* wall clock */
	uint32_t		re_usec;
	uint32_t		re_latency;	/* responses: microseconds */
	struct sockaddr_in6	re_client;	/* or a sockaddr_in */
	struct sockaddr_in6	re_server;	/* responses; family 0: self */
	uint16_t		re_qtype;
	uint16_t		re_size;	/* packet bytes */
	uint8_t			re_rcode;	/* responses */
	bool			re_tc;		/* responses */
	uint8_t			re_namelen;
	uint8_t			re_name[255];	/* wire, packet's case */
};

/*
 * An entry as it is kept: one cache line, the slots of a shard back to
 * back, so that writing them is one stream through memory.  The time is
 * in microseconds since the epoch; a client address is its family (4 or
 * 6, 0 for none), port and address bytes; a server is a number in a table
 * of the server addresses seen (0: none), as there are few of them.  A
 * name longer than fits goes to the shard's long-name room, at the slot's
 * index.
 */
#define RING_INLINE	24

struct ring_slot {
	_Alignas(64) uint64_t	sl_time;
	uint32_t		sl_latency;
	uint16_t		sl_qtype;
	uint16_t		sl_size;
	uint16_t		sl_server;
	uint16_t		sl_port;	/* network order */
	uint8_t			sl_family;
	uint8_t			sl_rcode;
	bool			sl_tc;
	uint8_t			sl_namelen;
	uint8_t			sl_addr[16];
	uint8_t			sl_name[RING_INLINE];
};

/*
 * A batch writer claims the rs_claim slots from rs_head on, fills them
 * without the lock and hands them over at its flush; meanwhile readers
 * see only the entries outside the claim, and other writers skip the
 * shard.
 */
struct ring_shard {
	pthread_mutex_t		 rs_lock;
	struct ring_slot	*rs_slots;	/* NULL until first used */
	uint8_t			(*rs_long)[255];	/* NULL until needed */
	size_t			 rs_cap;
	size_t			 rs_head;	/* next slot written */
	size_t			 rs_count;	/* entries handed over */
	size_t			 rs_claim;
	uint64_t		 rs_gen;	/* bumped when it is resized */
};

struct ring {
	_Atomic size_t		 rg_nshards;
	_Atomic uint64_t	 rg_skipped;	/* every shard was busy */
	_Atomic uint64_t	 rg_nomem;	/* a shard could not allocate */
	_Atomic bool		 rg_off;	/* pushes are left out */
	struct ring_shard	 rg_shards[RING_MAXSHARDS];
};

/*
 * What a writer hands in; pointers are only read during the call.  client
 * and server may be NULL (server NULL: a self-answered response).
 */
struct ring_rec {
	int64_t			 rr_sec;
	uint32_t		 rr_usec;
	const struct sockaddr	*rr_client;
	const struct sockaddr	*rr_server;
	const uint8_t		*rr_name;
	size_t			 rr_namelen;
	uint16_t		 rr_qtype;
	size_t			 rr_size;
	int			 rr_rcode;
	bool			 rr_tc;
	uint64_t		 rr_latency;	/* microseconds */
};

/*
 * A ring of total entries over shards shards (1 to RING_MAXSHARDS; each
 * shard holds total / shards, at least 1).  The caller owns the result
 * (ring_free).  NULL on ENOMEM or bad arguments (EINVAL).
 */
struct ring	*ring_new(size_t total, size_t shards);
void		 ring_free(struct ring *);
/*
 * New sizes; the entries are dropped.  Waits for the shard locks (readers
 * only hold them briefly).  0, or -1 with EINVAL.
 */
int		 ring_resize(struct ring *, size_t total, size_t shards);
/*
 * Record one entry; false when it was skipped (busy shards or ENOMEM, or
 * rg_off set: setRingBuffersOptions' recordQueries and recordResponses).
 */
bool		 ring_push(struct ring *, const struct ring_rec *);
/*
 * The same in two steps, for a writer that records several entries alike
 * (a query, then its response): r made into a slot of rg's form, which
 * the writer may change and push as often as it likes.  A name longer
 * than RING_INLINE stays out of the slot: the push takes it from name,
 * which must be r's.
 */
void		 ring_make(struct ring *, struct ring_slot *,
		    const struct ring_rec *);
/* The same for a query, from its parts: usec is the wall clock's time. */
void		 ring_make_query(struct ring_slot *, uint64_t usec,
		    const struct sockaddr *client, const uint8_t *name,
		    size_t namelen, uint16_t qtype, size_t size);
bool		 ring_push_slot(struct ring *, const struct ring_slot *,
		    const uint8_t *name);

/* A query's slot made the answer's, answered here at once: size, rcode, TC. */
static inline void
ring_slot_answered(struct ring_slot *s, size_t size, int rcode, bool tc)
{
	s->sl_size = size > UINT16_MAX ? UINT16_MAX : (uint16_t)size;
	s->sl_rcode = (uint8_t)rcode;
	s->sl_tc = tc;
}
/*
 * Batches: after ring_stage_start() (-1: ENOMEM, nothing changes), this
 * thread's ring_push() claims slots of a shard for up to RING_CLAIM
 * entries at a time, writes its entries straight into them, and hands
 * them to readers at ring_flush(); the caller flushes at the end of each
 * batch.  No lock is held between push and flush, and none is waited
 * for: a flush that finds a reader on the shard leaves the claim to the
 * next flush, and an entry that finds the claim full meanwhile is
 * skipped (counted).  ring_stage_stop() hands everything over, waiting
 * if need be, and goes back to writing each entry with a lock of its own.
 * A resize meanwhile drops the claimed entries with all others.
 */
#define RING_CLAIM	64
int		 ring_stage_start(void);
void		 ring_flush(void);
void		 ring_stage_stop(void);
/* Total capacity and entries held now. */
size_t		 ring_capacity(struct ring *);
size_t		 ring_count(struct ring *);
uint64_t	 ring_skipped(const struct ring *);
/*
 * Call fn for every entry, oldest first within each shard; one shard is
 * locked at a time (writers skip it meanwhile).  fn must not push.
 */
void		 ring_foreach(struct ring *,
		    void (*fn)(const struct ring_entry *, void *), void *arg);

/* The daemon's two rings, made by ring_global_init() (idempotent). */
/* False after setRingBuffersSize(0): nothing is recorded. */
extern _Atomic bool	 ring_recording;
extern struct ring	*ring_queries;
extern struct ring	*ring_responses;
int		 ring_global_init(void);
/* setRingBuffersSize(): both rings; 0 or -1 (EINVAL, ENOMEM). */
int		 ring_global_resize(size_t total, size_t shards);

/*
 * Tallies of the rings, for the console's top functions and the web
 * server's lists: each entry that passes the filters counts once (or its
 * bytes) for its key, the client's address or the name as lower-case
 * text cut to its last tq_labels labels.
 */
#define RING_TOP_KEYMAX	(255 * 4 + 8)	/* a name as text, escaped */

struct ring_top_query {
	bool		 tq_clients;	/* the key is the client, else the name */
	bool		 tq_bytes;	/* count bytes, not entries */
	int		 tq_labels;	/* 0: the whole name */
	int		 tq_rcode;	/* -1: any */
	uint64_t	 tq_minusec;	/* only entries at least this slow */
};

struct ring_top {
	struct qcount_table	 rt_t;
	uint64_t		 rt_total;	/* of every key */
	bool			 rt_nomem;	/* counts were lost */
};

/*
 * Tally a, then b when not NULL, into rt (zeroed by the caller), and sort
 * it: rt_t.qt_items[0 .. rt_t.qt_count) hold the keys, most counted
 * first, then by key.  The caller frees it with ring_top_free().
 */
void		 ring_top(struct ring *a, struct ring *b,
		    const struct ring_top_query *, struct ring_top *rt);
void		 ring_top_free(struct ring_top *);
/* An entry's name as text, lower case, cut to its last labels (0: all). */
void		 ring_name_text(const struct ring_entry *, int labels,
		    char *buf, size_t bufsz);

#endif /* RING_H */
