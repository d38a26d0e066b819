/*
 * Quiescent-state-based reclamation.  A global epoch counts retires; each
 * reader slot holds the epoch its thread saw at its last quiescent point,
 * or 0 while offline.  An object retired at epoch e may go once every
 * slot is 0 or at least e: the reader has since loaded an epoch that the
 * unlink happened before, so none of its later reads can find the object.
 *
 * The fast path is a thread-local load (qsbr_reading) and, once per
 * wakeup of the reader, a store (quiescent, offline) or a store and a
 * full fence (online: the slot must be seen before the reader's next
 * loads, or a reclaimer could take it for offline meanwhile).
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "qsbr.h"

#define QSBR_BATCH	1024	/* retired objects that make a retire reclaim */

/*
 * The full fences pair a reader going online with a reclaimer's scan.
 * ThreadSanitizer does not model fences: in its builds both sides do a
 * read-modify-write of one variable instead, which it does, at a cost
 * that does not matter there.
 */
#if defined(__SANITIZE_THREAD__)
static _Atomic int		 fence_var;
#define qsbr_fence()	((void)atomic_fetch_add(&fence_var, 0))
#else
#define qsbr_fence()	atomic_thread_fence(memory_order_seq_cst)
#endif

struct qsbr_slot {
	_Alignas(64) _Atomic uint64_t	qs_seen;	/* 0: offline */
	_Atomic bool			qs_used;
};

static struct qsbr_slot		 slots[QSBR_READERS];
static _Atomic size_t		 nslots;	/* ever used: scan no further */
static _Atomic uint64_t		 epoch = 1;
static pthread_mutex_t		 limbo_lock = PTHREAD_MUTEX_INITIALIZER;
static struct qsbr_node		*limbo;		/* newest first */
static size_t			 nlimbo;
static _Thread_local struct qsbr_slot	*me;
_Thread_local bool		 qsbr_online_now;

int
qsbr_register(void)
{
	size_t	i, n;
	bool	f;

	if (me != NULL)
		return 0;
	for (i = 0; i < QSBR_READERS; i++) {
		f = false;
		if (atomic_compare_exchange_strong(&slots[i].qs_used, &f,
		    true)) {
			me = &slots[i];
			for (f = false; !f; )
				f = (n = atomic_load(&nslots)) > i ||
				    atomic_compare_exchange_weak(&nslots, &n,
				    i + 1);
			qsbr_online();
			return 0;
		}
	}
	return -1;
}

void
qsbr_unregister(void)
{
	if (me == NULL)
		return;
	qsbr_offline();
	atomic_store(&me->qs_used, false);
	me = NULL;
}

void
qsbr_offline(void)
{
	if (me == NULL)
		return;
	qsbr_online_now = false;
	atomic_store_explicit(&me->qs_seen, 0, memory_order_release);
}

void
qsbr_online(void)
{
	if (me == NULL)
		return;
	atomic_store_explicit(&me->qs_seen, atomic_load(&epoch),
	    memory_order_relaxed);
	qsbr_fence();
	qsbr_online_now = true;
}

void
qsbr_quiescent(void)
{
	if (me == NULL || !qsbr_online_now)
		return;
	atomic_store_explicit(&me->qs_seen, atomic_load(&epoch),
	    memory_order_release);
}

/* The oldest epoch a reader may still act on; UINT64_MAX if none. */
static uint64_t
oldest_seen(void)
{
	uint64_t	min = UINT64_MAX, s;
	size_t		i, n;

	qsbr_fence();
	n = atomic_load(&nslots);
	for (i = 0; i < n; i++) {
		s = atomic_load(&slots[i].qs_seen);
		if (s != 0 && s < min)
			min = s;
	}
	return min;
}

size_t
qsbr_reclaim(void)
{
	struct qsbr_node	*n, **pp, *done = NULL;
	uint64_t		 min;
	size_t			 freed = 0;

	qsbr_quiescent();
	pthread_mutex_lock(&limbo_lock);
	min = oldest_seen();
	/* Newest first: once one may go, so may all older ones. */
	for (pp = &limbo; (n = *pp) != NULL; pp = &n->qn_next)
		if (n->qn_epoch <= min)
			break;
	done = *pp;
	*pp = NULL;
	for (n = done; n != NULL; n = n->qn_next)
		nlimbo--;
	pthread_mutex_unlock(&limbo_lock);
	while ((n = done) != NULL) {
		done = n->qn_next;
		n->qn_free(n);
		freed++;
	}
	return freed;
}

void
qsbr_retire(struct qsbr_node *n, void (*fn)(struct qsbr_node *))
{
	bool	full;

	n->qn_free = fn;
	pthread_mutex_lock(&limbo_lock);
	/* After the unlink, which the caller's lock release orders. */
	n->qn_epoch = atomic_fetch_add(&epoch, 1) + 1;
	n->qn_next = limbo;
	limbo = n;
	full = ++nlimbo % QSBR_BATCH == 0;
	pthread_mutex_unlock(&limbo_lock);
	if (full)
		(void)qsbr_reclaim();
}

size_t
qsbr_pending(void)
{
	size_t	n;

	pthread_mutex_lock(&limbo_lock);
	n = nlimbo;
	pthread_mutex_unlock(&limbo_lock);
	return n;
}
