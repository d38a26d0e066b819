/*
 * The main thread's poll(2) loop: UDP listeners, backend sockets, health
 * checks and the console, plus periodic timers.  The poll timeout is the
 * earliest timer deadline.  Asked to stop, it stops reading queries and
 * runs on, for LOOP_DRAIN_NS at most, until the queries in flight have
 * their answers.
 */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dnsdist.h"
#include "qsbr.h"
#include "ring.h"

#define LOOP_DRAIN_NS	(2 * 1000000000ULL)

uint64_t		loop_now;
struct timespec		loop_realtime;
uint64_t		loop_realtime_us;
volatile sig_atomic_t	loop_quit;
volatile sig_atomic_t	loop_reload;

struct loop_entry {
	int		 le_fd;
	short		 le_events;
	loop_cb		 le_cb;
	void		*le_arg;
};

struct loop_timer {
	uint64_t	 lt_interval;
	uint64_t	 lt_next;
	void		(*lt_fn)(void *);
	void		*lt_arg;
};

static struct loop_entry	*entries;
static struct pollfd		*pfds;
static size_t			 nentries, capentries;
static bool			 dirty;
static struct loop_timer	*timers;
static size_t			 ntimers;

uint64_t
mono_ns(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

int
loop_add(int fd, short events, loop_cb cb, void *arg)
{
	struct loop_entry	*ne;
	struct pollfd		*np;
	size_t			 cap;

	if (nentries == capentries) {
		cap = capentries ? capentries * 2 : 16;
		if ((ne = reallocarray(entries, cap, sizeof(*ne))) == NULL)
			return -1;
		entries = ne;
		if ((np = reallocarray(pfds, cap, sizeof(*np))) == NULL)
			return -1;
		pfds = np;
		capentries = cap;
	}
	entries[nentries].le_fd = fd;
	entries[nentries].le_events = events;
	entries[nentries].le_cb = cb;
	entries[nentries].le_arg = arg;
	nentries++;
	dirty = true;
	return 0;
}

void
loop_del(int fd)
{
	size_t	i;

	for (i = 0; i < nentries; i++)
		if (entries[i].le_fd == fd) {
			entries[i] = entries[--nentries];
			dirty = true;
			return;
		}
}

void
loop_timer(uint64_t interval, void (*fn)(void *), void *arg)
{
	struct loop_timer	*nt;

	if ((nt = reallocarray(timers, ntimers + 1, sizeof(*nt))) == NULL)
		fatal("loop_timer");
	timers = nt;
	timers[ntimers].lt_interval = interval;
	timers[ntimers].lt_next = mono_ns() + interval;
	timers[ntimers].lt_fn = fn;
	timers[ntimers].lt_arg = arg;
	ntimers++;
}

static int
loop_timeout(void)
{
	uint64_t	next = UINT64_MAX;
	size_t		i;

	for (i = 0; i < ntimers; i++)
		if (timers[i].lt_next < next)
			next = timers[i].lt_next;
	if (frontend_delay_next() < next)
		next = frontend_delay_next();
	if (next == UINT64_MAX)
		return 1000;
	if (next <= loop_now)
		return 0;
	return (int)((next - loop_now) / 1000000ULL) + 1;
}

static void
loop_fire_timers(void)
{
	size_t	i;

	for (i = 0; i < ntimers; i++) {
		if (timers[i].lt_next > loop_now)
			continue;
		timers[i].lt_next = loop_now + timers[i].lt_interval;
		timers[i].lt_fn(timers[i].lt_arg);
	}
}

/* True once nothing waits for an answer, or the drain time is over. */
static bool
loop_drained(uint64_t *deadline)
{
	uint64_t	n = backend_inflight();

	if (*deadline == 0) {
		frontend_stop();
		*deadline = mono_ns() + LOOP_DRAIN_NS;
		if (n > 0)
			log_info("stopping: waiting for the answers to %llu "
			    "queries", (unsigned long long)n);
	}
	if (n == 0 && frontend_delay_next() == UINT64_MAX)
		return true;
	if (mono_ns() < *deadline)
		return false;
	log_info("stopping: %llu queries left unanswered",
	    (unsigned long long)n);
	return true;
}

/*
 * The clocks, once per wakeup.  The wall clock (for the rings) is the
 * monotonic one plus an offset read again every second, which saves a
 * clock read per wakeup and follows a stepped clock within a second.
 */
static void
loop_clock(void)
{
	static uint64_t		base;	/* loop_now when the offset was read */
	static struct timespec	wall;	/* the wall clock then */
	uint64_t		ns;

	loop_now = mono_ns();
	if (base == 0 || loop_now - base >= 1000000000ULL) {
		clock_gettime(CLOCK_REALTIME, &wall);
		base = loop_now;
	}
	ns = (uint64_t)wall.tv_nsec + (loop_now - base);
	loop_realtime.tv_sec = wall.tv_sec + (time_t)(ns / 1000000000ULL);
	loop_realtime.tv_nsec = (long)(ns % 1000000000ULL);
	loop_realtime_us = loop_realtime.tv_sec < 0 ? 0 :
	    (uint64_t)loop_realtime.tv_sec * 1000000 +
	    (uint64_t)loop_realtime.tv_nsec / 1000;
}

void
loop_run(void)
{
	uint64_t	drain = 0;
	size_t		i, n;
	int		nready;

	/* Ring entries go in once per wakeup (or unstaged, without memory). */
	(void)ring_stage_start();
	/*
	 * Cache lookups without a lock: this thread holds no cached entry
	 * from one wakeup to the next, which is its quiescent point.  A
	 * retired entry waits at most one poll timeout.
	 */
	(void)qsbr_register();
	loop_clock();
	while (!loop_quit || !loop_drained(&drain)) {
		qsbr_quiescent();
		if (loop_reload) {
			loop_reload = 0;
			daemon_reload();
		}
		if (dirty) {
			for (i = 0; i < nentries; i++) {
				pfds[i].fd = entries[i].le_fd;
				pfds[i].events = entries[i].le_events;
			}
			dirty = false;
		}
		n = nentries;
		/* loop_now is from the last wakeup: the work since is short. */
		nready = compat_poll(pfds, n, loop_timeout());
		if (nready == -1 && errno != EINTR)
			fatal("poll");
		loop_clock();
		for (i = 0; nready > 0 && i < n && !dirty; i++) {
			if (pfds[i].revents == 0)
				continue;
			nready--;
			entries[i].le_cb(pfds[i].fd, pfds[i].revents,
			    entries[i].le_arg);
		}
		/* Answers and queries leave in batches, once per wakeup. */
		backend_flush_all();
		frontend_flush_all();
		frontend_delay_run();
		ring_flush();
		loop_fire_timers();
	}
	qsbr_unregister();
	ring_stage_stop();
}
