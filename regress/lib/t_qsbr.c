/*
 * qsbr: objects retired while a reader may hold them wait for that reader
 * to pass a quiescent point or go offline; readers that hammer a shared
 * pointer never see a freed object.
 */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <atf-c.h>

#include "qsbr.h"

#include "lsan.h"

struct obj {
	struct qsbr_node	o_q;
	_Atomic bool		o_freed;
	struct obj		*o_grave;	/* freed ones, kept to be checked */
};

static pthread_mutex_t	grave_lock = PTHREAD_MUTEX_INITIALIZER;
static struct obj	*grave;
static _Atomic size_t	nfreed;

/* Marks the object freed and keeps it, so that a late reader sees it. */
static void
obj_free(struct qsbr_node *n)
{
	struct obj	*o = (struct obj *)n;

	atomic_store(&o->o_freed, true);
	pthread_mutex_lock(&grave_lock);
	o->o_grave = grave;
	grave = o;
	pthread_mutex_unlock(&grave_lock);
	atomic_fetch_add(&nfreed, 1);
}

static void
bury_all(void)
{
	struct obj	*o;

	while ((o = grave) != NULL) {
		grave = o->o_grave;
		free(o);
	}
}

static struct obj *
obj_new(void)
{
	struct obj	*o;

	ATF_REQUIRE((o = calloc(1, sizeof(*o))) != NULL);
	return o;
}

/* A reader thread that does one step each time the test says so. */
enum step { STEP_NONE, STEP_QUIESCENT, STEP_OFFLINE, STEP_QUIT };

static pthread_mutex_t	step_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t	step_cond = PTHREAD_COND_INITIALIZER;
static enum step	step;
static int		registered = -2;
static unsigned int	done;

static void *
stepper(void *arg)
{
	enum step	s;

	(void)arg;
	pthread_mutex_lock(&step_lock);
	registered = qsbr_register();
	pthread_cond_broadcast(&step_cond);
	for (;;) {
		while (step == STEP_NONE)
			pthread_cond_wait(&step_cond, &step_lock);
		s = step;
		step = STEP_NONE;
		if (s == STEP_QUIESCENT)
			qsbr_quiescent();
		else if (s == STEP_OFFLINE)
			qsbr_offline();
		done++;
		pthread_cond_broadcast(&step_cond);
		if (s == STEP_QUIT)
			break;
	}
	pthread_mutex_unlock(&step_lock);
	qsbr_unregister();
	return NULL;
}

static void
do_step(enum step s)
{
	unsigned int	d;

	pthread_mutex_lock(&step_lock);
	d = done;
	step = s;
	pthread_cond_broadcast(&step_cond);
	while (done == d)
		pthread_cond_wait(&step_cond, &step_lock);
	pthread_mutex_unlock(&step_lock);
}

ATF_TC_WITHOUT_HEAD(waits_for_reader);
ATF_TC_BODY(waits_for_reader, tc)
{
	pthread_t	t;
	struct obj	*a, *b;

	ATF_REQUIRE(pthread_create(&t, NULL, stepper, NULL) == 0);
	pthread_mutex_lock(&step_lock);
	while (registered == -2)
		pthread_cond_wait(&step_cond, &step_lock);
	pthread_mutex_unlock(&step_lock);
	ATF_REQUIRE_EQ(registered, 0);

	/* Online since before the retire: the object waits for it. */
	a = obj_new();
	qsbr_retire(&a->o_q, obj_free);
	ATF_CHECK_EQ(qsbr_reclaim(), 0);
	ATF_CHECK_EQ(qsbr_pending(), 1);
	ATF_CHECK(!atomic_load(&a->o_freed));
	do_step(STEP_QUIESCENT);
	ATF_CHECK_EQ(qsbr_reclaim(), 1);
	ATF_CHECK(atomic_load(&a->o_freed));

	/* A quiescent point before the retire does not count. */
	b = obj_new();
	qsbr_retire(&b->o_q, obj_free);
	ATF_CHECK_EQ(qsbr_reclaim(), 0);

	/* Offline: nothing to wait for. */
	do_step(STEP_OFFLINE);
	ATF_CHECK_EQ(qsbr_reclaim(), 1);
	ATF_CHECK(atomic_load(&b->o_freed));
	do_step(STEP_QUIT);
	ATF_REQUIRE(pthread_join(t, NULL) == 0);
	ATF_CHECK_EQ(qsbr_pending(), 0);
	bury_all();
}

/* A registered thread that reclaims does not wait for itself. */
ATF_TC_WITHOUT_HEAD(reclaim_self);
ATF_TC_BODY(reclaim_self, tc)
{
	struct obj	*a;

	ATF_REQUIRE_EQ(qsbr_register(), 0);
	ATF_CHECK(qsbr_reading());
	a = obj_new();
	qsbr_retire(&a->o_q, obj_free);
	ATF_CHECK_EQ(qsbr_reclaim(), 1);
	qsbr_unregister();
	ATF_CHECK(!qsbr_reading());
	bury_all();
}

ATF_TC_WITHOUT_HEAD(slots);
ATF_TC_BODY(slots, tc)
{
	/* Registering twice keeps the one slot. */
	ATF_REQUIRE_EQ(qsbr_register(), 0);
	ATF_REQUIRE_EQ(qsbr_register(), 0);
	qsbr_unregister();
	qsbr_unregister();
	ATF_CHECK(!qsbr_reading());
	/* Offline and online without registering do nothing. */
	qsbr_online();
	ATF_CHECK(!qsbr_reading());
	qsbr_offline();
}

/*
 * Readers load a shared pointer and look at the object many times, with
 * a quiescent point every few loads, while the test replaces and retires
 * objects as fast as it can: a reader must never see one freed.
 */
#define NREADERS	3
#define MAXREADS	100000000	/* a bound, should the test stall */
#define NSWAPS		20000

static struct obj *_Atomic	 shared;
static _Atomic size_t		 seen_freed;
static _Atomic unsigned int	 readers_ready;
static _Atomic bool		 swaps_done;

/* No ATF calls here: they are not for threads of their own. */
static void *
reader(void *arg)
{
	struct obj	*o;
	size_t		 i, bad = 0;
	int		 k;

	(void)arg;
	if (qsbr_register() == -1) {
		atomic_fetch_add(&seen_freed, 1000000);
		atomic_fetch_add(&readers_ready, 1);
		return NULL;
	}
	atomic_fetch_add(&readers_ready, 1);
	for (i = 0; i < MAXREADS && !atomic_load(&swaps_done); i++) {
		o = atomic_load_explicit(&shared, memory_order_acquire);
		for (k = 0; k < 4; k++)
			if (atomic_load_explicit(&o->o_freed,
			    memory_order_relaxed))
				bad++;
		if (i % 8 == 7)
			qsbr_quiescent();
		if (i % 4096 == 4095) {
			qsbr_offline();
			qsbr_online();
		}
	}
	qsbr_unregister();
	atomic_fetch_add(&seen_freed, bad);
	return NULL;
}

ATF_TC_WITHOUT_HEAD(readers_never_see_freed);
ATF_TC_BODY(readers_never_see_freed, tc)
{
	pthread_t	t[NREADERS];
	struct obj	*o, *old;
	size_t		i, freed_early;

	atomic_store(&shared, obj_new());
	for (i = 0; i < NREADERS; i++)
		ATF_REQUIRE(pthread_create(&t[i], NULL, reader, NULL) == 0);
	while (atomic_load(&readers_ready) < NREADERS)
		sched_yield();
	for (i = 0; i < NSWAPS; i++) {
		o = obj_new();
		old = atomic_exchange(&shared, o);
		qsbr_retire(&old->o_q, obj_free);
		if (i % 64 == 63)
			(void)qsbr_reclaim();
	}
	/*
	 * Objects go while the readers run, once each has passed a
	 * quiescent point (a loaded machine may not have run them yet).
	 */
	for (i = 0; i < 100000 && atomic_load(&nfreed) == 0; i++) {
		(void)qsbr_reclaim();
		sched_yield();
	}
	freed_early = atomic_load(&nfreed);
	atomic_store(&swaps_done, true);
	for (i = 0; i < NREADERS; i++)
		ATF_REQUIRE(pthread_join(t[i], NULL) == 0);
	ATF_CHECK_EQ(atomic_load(&seen_freed), 0);
	ATF_CHECK(freed_early > 0);
	(void)qsbr_reclaim();
	ATF_CHECK_EQ(qsbr_pending(), 0);
	ATF_CHECK_EQ(atomic_load(&nfreed), NSWAPS);
	free(atomic_exchange(&shared, NULL));
	bury_all();
}

ATF_TP_ADD_TCS(tp)
{
	ATF_TP_ADD_TC(tp, waits_for_reader);
	ATF_TP_ADD_TC(tp, reclaim_self);
	ATF_TP_ADD_TC(tp, slots);
	ATF_TP_ADD_TC(tp, readers_never_see_freed);
	return atf_no_error();
}
