/*
 * Quiescent-state-based reclamation: readers that take no lock at all,
 * for the packet cache's lookups and the configuration snapshots on the
 * UDP loops and TCP workers.  A reader thread
 * registers, and tells when it holds no protected pointer: going offline
 * (before it blocks) or passing a quiescent point.  A writer, under its
 * own lock, unlinks an object so that new readers cannot find it, and
 * retires it; the object is freed once every reader online at the retire
 * has since gone offline or passed a quiescent point.
 *
 * Threads that do not register read under the writers' lock as before.
 */
#ifndef QSBR_H
#define QSBR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * The main loop, every TCP worker (up to 1024), every UDP loop (one per
 * listener, up to 1024) and a few more.
 */
#define QSBR_READERS	2112

/* Kept in a retirable object; qn_free(node) frees the object. */
struct qsbr_node {
	struct qsbr_node	*qn_next;
	uint64_t		 qn_epoch;
	void			(*qn_free)(struct qsbr_node *);
};

/* This thread becomes a reader, online; -1 when all slots are taken. */
int	qsbr_register(void);
void	qsbr_unregister(void);
/* True on a registered thread that is online: it may read without lock. */
extern _Thread_local bool	qsbr_online_now;

static inline bool
qsbr_reading(void)
{
	return qsbr_online_now;
}

void	qsbr_offline(void);
void	qsbr_online(void);
/* The calling reader holds no protected pointer here. */
void	qsbr_quiescent(void);
/*
 * The object holding n, already unreachable for readers that start now,
 * is freed with fn(n) when no reader can hold it any more.  Every
 * QSBR_BATCH retires, the retiring thread also reclaims.
 */
void	qsbr_retire(struct qsbr_node *n, void (*fn)(struct qsbr_node *));
/*
 * Free what no reader can hold; the number freed.  A reader calling it
 * must hold no protected pointer (it passes a quiescent point).
 */
size_t	qsbr_reclaim(void);
/* Objects retired and not yet freed. */
size_t	qsbr_pending(void);

#endif /* QSBR_H */
