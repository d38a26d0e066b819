/*
 * Maintenance: once a second, the configuration's maintenance() function
 * runs in the main loop between batches (as a console command would, so it
 * may change anything), while a thread of its own does the slow sweeps that
 * need no Lua: expired cache entries every setCacheCleaningDelay() seconds,
 * expired dynamic blocks, and CDB files that changed (read again here, off
 * the packet path and the main loop).
 */
#include <sys/types.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cache.h"
#include "dnsdist.h"
#include "dynblock.h"
#include "kvs.h"
#include "lua.h"
#include "qsbr.h"
#include "stats.h"

#define MAINT_BUDGET	10000000	/* VM instructions per maintenance() */

static pthread_t	maint_tid;
static pthread_mutex_t	maint_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t	maint_cond;
static bool		maint_stop;
static bool		maint_started;

/* Whether every pool that uses the cache has no server up. */
static bool
cache_pools_down(struct pcache *pc)
{
	struct pool	*pl;
	bool		 used = false, down = true;
	size_t		 i;

	pthread_rwlock_rdlock(&config_lock);
	for (i = 0; i < servers.sr_npools; i++) {
		pl = servers.sr_pools[i];
		if (pl->pl_cache != pc)
			continue;
		used = true;
		if (pool_count_up(pl) > 0)
			down = false;
	}
	pthread_rwlock_unlock(&config_lock);
	return used && down;
}

static void
maint_caches(int pct)
{
	struct pcache	*pc;
	time_t		 now = pcache_now();

	for (pc = pcache_next(NULL); pc != NULL; pc = pcache_next(pc))
		pcache_clean(pc, pct, now,
		    pcache_config(pc)->pc_keepstale && cache_pools_down(pc));
}

static void
maint_log_warn(const char *line)
{
	log_warnx("%s", line);
}

static void *
maint_main(void *arg)
{
	struct timespec	deadline;
	time_t		lastclean, lastpurge, now;
	int		delay, pct, purge;

	(void)arg;
	lastclean = lastpurge = pcache_now();
	pthread_mutex_lock(&maint_lock);
	while (!maint_stop) {
		clock_gettime(CLOCK_MONOTONIC, &deadline);
		deadline.tv_sec++;
		while (!maint_stop && pthread_cond_timedwait(&maint_cond,
		    &maint_lock, &deadline) != ETIMEDOUT)
			;
		if (maint_stop)
			break;
		pthread_mutex_unlock(&maint_lock);
		now = pcache_now();
		/* The configuration (a reload too) sets these. */
		pthread_rwlock_rdlock(&config_lock);
		delay = settings.st_cachecleaningdelay;
		pct = settings.st_cachecleaningpct;
		purge = settings.st_dynblockpurge;
		pthread_rwlock_unlock(&config_lock);
		if (now - lastclean >= delay) {
			maint_caches(pct);
			lastclean = now;
		}
		if (purge > 0 && now - lastpurge >= purge) {
			dynblock_purge(now);
			lastpurge = now;
		}
		kvs_refresh_all(time(NULL), maint_log_warn);
		/* Cache entries replaced or removed since the last pass. */
		(void)qsbr_reclaim();
		pthread_mutex_lock(&maint_lock);
	}
	pthread_mutex_unlock(&maint_lock);
	return NULL;
}

/* The configuration's maintenance(), with the configuration lock held. */
static void
maint_lua(void *arg)
{
	struct sbuf	out;

	(void)arg;
	sbuf_init(&out);
	pthread_rwlock_wrlock(&config_lock);
	if (dlua_call_global(config_L, "maintenance", MAINT_BUDGET,
	    &out) == -1) {
		log_warnx("Error in maintenance function: %s",
		    sbuf_text(&out));
	} else if (out.sb_len > 0)
		log_info("maintenance: %s", sbuf_text(&out));
	if (backend_sync() == -1)
		log_warnx("maintenance: unable to open a backend socket");
	if (daemon_publish() == -1)
		log_warnx("maintenance: out of memory: changes not live yet");
	pthread_rwlock_unlock(&config_lock);
	sbuf_reset(&out);
	(void)reload_pending(&out);
	sbuf_free(&out);
}

/*
 * Messages of newThread()'s threads, to threadmessage() as a console
 * command would run it, every tenth of a second when there are some.
 */
static void
maint_threads(void *arg)
{
	struct sbuf	out;

	(void)arg;
	if (!dlua_threads_pending())
		return;
	sbuf_init(&out);
	pthread_rwlock_wrlock(&config_lock);
	dlua_lock();
	(void)dlua_threads_deliver(config_L, MAINT_BUDGET, &out);
	dlua_hooks_changed(config_L);
	dlua_unlock();
	if (out.sb_len > 0)
		log_warnx("%s", sbuf_text(&out));
	if (backend_sync() == -1)
		log_warnx("threadmessage: unable to open a backend socket");
	if (daemon_publish() == -1)
		log_warnx("threadmessage: out of memory: changes not live "
		    "yet");
	pthread_rwlock_unlock(&config_lock);
	sbuf_free(&out);
}

static void
maint_log_block(const char *line)
{
	log_info("%s", line);
}

static double
gauge_nmg_size(void)
{
	return (double)dynblock_nmg_size();
}

void
maint_init(void)
{
	dynblock_log = maint_log_block;
	stats_set_gauge("dyn-block-nmg-size", gauge_nmg_size);
}

void
maint_start(void)
{
	pthread_condattr_t	attr;

	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&maint_cond, &attr);
	pthread_condattr_destroy(&attr);
	if (pthread_create(&maint_tid, NULL, maint_main, NULL) != 0)
		fatalx("unable to start the maintenance thread");
	maint_started = true;
	loop_timer(1000000000ULL, maint_lua, NULL);
	loop_timer(100000000ULL, maint_threads, NULL);
}

void
maint_stop_thread(void)
{
	if (!maint_started)
		return;
	pthread_mutex_lock(&maint_lock);
	maint_stop = true;
	pthread_cond_signal(&maint_cond);
	pthread_mutex_unlock(&maint_lock);
	pthread_join(maint_tid, NULL);
	maint_started = false;
}
