/*
 * The queries in flight to one backend over UDP, by the ID the backend
 * sees, and the one test an answer must pass to be taken: its ID names a
 * query in flight, and it is an answer to that query's question, or it
 * has no question and says why (see inflight_bare).
 *
 * The table is an array of caller-sized slots, each beginning with a
 * struct inflight; the rest of a slot is the caller's.  The ID a query
 * goes out with is not its slot's: it is drawn at random from the IDs not
 * in flight, so that seeing any number of IDs tells nothing of the next.
 * The randomness is ChaCha20 whose key is replaced from its own output at
 * each refill.  Without randomness IDs count up, as dnsdist's do by
 * default.  What the IDs need is small, a bit per ID and a hash from ID
 * to slot at most half full of the slots used, so that a query touches few
 * cache lines and pages.  The slots taken are also kept in a dense array,
 * so that walking them costs what is in flight rather than the table.
 */
#ifndef INFLIGHT_H
#define INFLIGHT_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dnspacket.h"

#define INFLIGHT_MAX	65535		/* slots: fewer than the IDs */
#define INFLIGHT_IDS	65536
#define INFLIGHT_RNDKEY	32		/* bytes of ChaCha20's key */
#define INFLIGHT_RNDLEN	1024		/* bytes made at a time, key first */

struct inflight {
	uint64_t	if_sent;	/* monotonic ns; 0: the slot is free */
	uint64_t	if_qhash;	/* keyed hash of the name, any case */
	uint16_t	if_qtype;
	uint16_t	if_qclass;
	uint16_t	if_id;		/* the ID it went out with */
};

struct inflight_table {
	uint8_t		*it_mem;	/* it_n slots of it_stride bytes */
	size_t		 it_stride;
	uint32_t	 it_n;
	uint32_t	 it_fresh;	/* slots [0, it_fresh) have been used */
	uint16_t	*it_freeq;	/* freed slots, oldest first */
	uint32_t	 it_freehead;
	uint32_t	 it_nfree;
	uint16_t	*it_live;	/* the slots taken, in no order */
	uint16_t	*it_livepos;	/* where each taken slot is in it_live */
	uint32_t	 it_nlive;
	uint64_t	*it_busy;	/* a bit per ID in flight */
	uint32_t	*it_hash;	/* slot << 16 | ID, or INFLIGHT_EMPTY */
	uint32_t	 it_hbits;	/* 1 << it_hbits buckets */
	uint16_t	 it_nextid;	/* counting up */
	bool		 it_random;
	uint32_t	 it_nrnd;	/* bytes of it_rnd not used yet */
	uint8_t		 it_rnd[INFLIGHT_RNDLEN];
	uint8_t		 it_key[16];
	uint64_t	 it_walked;	/* slots the walks looked at */
};

#define INFLIGHT_AT(t, i)						\
	((struct inflight *)(void *)((t)->it_mem + (size_t)(i) * (t)->it_stride))

/*
 * n slots (1 to INFLIGHT_MAX) of stride bytes, IDs at random or counting
 * up; 0, or -1 out of memory.
 */
int		 inflight_init(struct inflight_table *, uint32_t n,
		    size_t stride, bool randomids);
void		 inflight_free(struct inflight_table *);
/* A free slot, or -1 when every slot is in flight (or out of memory). */
long		 inflight_get(struct inflight_table *);
/*
 * Slot idx (from inflight_get) now holds the query for q, sent at now
 * (never 0): the ID to send it with, which no other query in flight has.
 */
uint16_t	 inflight_send(struct inflight_table *, uint32_t idx,
		    const struct dnsquestion *q, uint64_t now);
/* Free a slot in flight. */
void		 inflight_put(struct inflight_table *, uint32_t idx);
/*
 * Is pkt[0..len) a response without a question (QDCOUNT 0) that is taken
 * on its ID alone?  A server that cannot make sense of a query may not
 * send its question back; dnsdist takes such an answer when its RCODE is
 * an error other than NXDOMAIN, and so do we.
 */
bool		 inflight_bare(const uint8_t *pkt, size_t len);
/* setAllowEmptyResponse(): NOERROR and NXDOMAIN may come bare too. */
extern _Atomic bool	 inflight_allow_empty;
/*
 * The slot in flight whose query pkt[0..len) answers, with its question
 * parsed into *q; -1 when it answers none (not a response, a bad question,
 * an ID not in flight, another question).  The slot stays in flight.  A
 * bare answer (inflight_bare) answers the slot of its ID; *q then has the
 * root name, type and class 0, and q_end at the end of the header.
 */
long		 inflight_answer(const struct inflight_table *,
		    const uint8_t *pkt, size_t len, struct dnsquestion *q);
/* The slot in flight that a query sent with wire ID id holds, or -1. */
long		 inflight_byid(const struct inflight_table *, uint16_t id);
/* Slots in flight. */
uint32_t	 inflight_count(const struct inflight_table *);
/*
 * The slots in flight, one a call, -1 at the end: *pos starts at
 * INFLIGHT_WALK.  A walk looks at the slots in flight only, whatever
 * the table's size.  It may free and take slots as it goes: it sees each
 * slot in flight when it began and still in flight when reached; freeing
 * a slot other than the one just seen may show one again, or one taken
 * since.
 */
#define INFLIGHT_WALK	UINT32_MAX
long		 inflight_walk(struct inflight_table *, uint32_t *pos);
/*
 * A number below n (1 or more), from the table's random stream: for other
 * choices an observer must not predict, such as a query's source port.
 */
uint32_t	 inflight_random(struct inflight_table *, uint32_t n);

#endif
