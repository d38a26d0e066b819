/*
 * The queries in flight to one backend over UDP, by the ID the backend
 * sees, and the one test an answer must pass to be taken: its ID names a
 * query in flight, and it is an answer to that query's question, or it
 * has no question and says why (see inflight_bare).
 *
 * The table is an array of caller-sized slots, each beginning with a
 * struct inflight; the rest of a slot is the caller's.  The ID a query
 * goes out with is its slot's index under a random mask, so that IDs
 * cannot be guessed from the order of queries; a freed slot is reused as
 * late as possible.  The slots taken are also kept in a dense array, so
 * that walking them costs what is in flight rather than the table.
 */
#ifndef INFLIGHT_H
#define INFLIGHT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dnspacket.h"

#define INFLIGHT_MAX	65536		/* one slot per ID */

struct inflight {
	uint64_t	if_sent;	/* monotonic ns; 0: the slot is free */
	uint64_t	if_qhash;	/* keyed hash of the name, any case */
	uint16_t	if_qtype;
	uint16_t	if_qclass;
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
	uint16_t	 it_idmask;
	uint8_t		 it_key[16];
	uint64_t	 it_walked;	/* slots the walks looked at */
};

#define INFLIGHT_AT(t, i)						\
	((struct inflight *)(void *)((t)->it_mem + (size_t)(i) * (t)->it_stride))

/* n slots (1 to INFLIGHT_MAX) of stride bytes; 0, or -1 out of memory. */
int		 inflight_init(struct inflight_table *, uint32_t n, size_t stride);
void		 inflight_free(struct inflight_table *);
/* A free slot, or -1 when every ID is in flight. */
long		 inflight_get(struct inflight_table *);
/*
 * Slot idx (from inflight_get) now holds the query for q, sent at now
 * (never 0): the ID to send it with.
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

#endif
