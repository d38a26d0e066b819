/*
 * The poll(2) loops: the main thread's, and one UDP loop per listener.
 *
 * Design.  The main thread's loop carries what is configuration or
 * control: the console, the control socket, TCP accepts (handed to the
 * TCP workers), health checks, timers (rates, maintenance) and signals.
 * Every listener with UDP has a loop of its own in a thread of its own,
 * which carries its UDP path from end to end: it receives queries on the
 * listener's socket, runs them through the pipeline against the live
 * configuration snapshot (it is a QSBR reader, and its quiescent point is
 * the top of each wakeup), sends them on its own sockets to the backends,
 * matches their answers in its own in-flight tables and sends them back
 * on the listener's socket.  A query and its answer never leave the loop
 * that received the query, so the loops share no lock and no cache line
 * on that path, only the atomic counters of the servers and the shared
 * objects of the pipeline (caches, dynamic blocks, rings).
 *
 * What belongs to one loop: the listener's send batch and counters
 * (struct listener), the receive batches and the answers held back by
 * DelayAction (frontend.c), and for every backend a struct backend_loop:
 * newServer's `sockets' UDP sockets, the in-flight table, the copies of
 * queries for failover, the send batches, the silence detection
 * (backend.c).  The struct backend of a server, made and freed by the
 * main thread, holds its health checks and the loops' parts.
 *
 * Servers come and go on the main thread (backend_sync): a new server's
 * parts for every loop are made before the snapshot that names it is
 * published, and a loop starts polling its sockets when it first sends
 * to it.  A removed server is handed to each loop through the loop's
 * command pipe once the snapshot without it is live: the loop, which
 * cannot see it any more past its next quiescent point, lets the queries
 * it has in flight there finish (answers or timeouts), then frees its
 * part and says so with an atomic counter that the main thread watches
 * before it frees the rest.
 *
 * Several addLocal() of one address with reusePort=true are several
 * listeners and so several loops: the kernel spreads the clients among
 * their sockets (SO_REUSEPORT, SO_REUSEPORT_LB); where it would not
 * (compat_reuseport_spreads()), the loops share one socket.
 *
 * Each loop keeps its timers, and its poll timeout is the earliest
 * deadline.  Asked to stop, a UDP loop stops reading queries and runs on,
 * for LOOP_DRAIN_NS at most, until the queries it has in flight have
 * their answers.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "dnsdist.h"
#include "lua.h"
#include "qsbr.h"
#include "ring.h"

#define LOOP_DRAIN_NS	(2 * 1000000000ULL)

_Thread_local uint64_t		loop_now;
_Thread_local struct timespec	loop_realtime;
_Thread_local uint64_t		loop_realtime_us;
volatile sig_atomic_t		loop_quit;
volatile sig_atomic_t		loop_reload;
_Thread_local unsigned int	loop_index;	/* of the UDP loop running */

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

/* One thread's poll set and timers. */
struct loop {
	struct loop_entry	*l_entries;
	struct pollfd		*l_pfds;
	size_t			 l_n, l_cap;
	bool			 l_dirty;
	struct loop_timer	*l_timers;
	size_t			 l_ntimers;
};

/* A listener's UDP loop: written by the main thread before it starts. */
struct udploop {
	struct loop		 ul_loop;
	struct listener		*ul_li;
	unsigned int		 ul_index;
	pthread_t		 ul_thread;
	int			 ul_cmd[2];	/* struct loop_cmd, main to loop */
	int			 ul_hand[2];	/* ... TCP workers to loop */
	bool			 ul_quit;	/* the loop's own */
};

struct loop_cmd {
	void	(*lc_fn)(void *);
	void	*lc_arg;
};

static struct loop		 main_loop;
static _Thread_local struct loop *loop_mine;	/* the calling thread's */
static struct udploop		*udploops;
size_t				 loop_nudp;

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
	struct loop		*l = loop_mine;
	struct loop_entry	*ne;
	struct pollfd		*np;
	size_t			 cap;

	if (l->l_n == l->l_cap) {
		cap = l->l_cap ? l->l_cap * 2 : 16;
		if ((ne = reallocarray(l->l_entries, cap, sizeof(*ne))) == NULL)
			return -1;
		l->l_entries = ne;
		if ((np = reallocarray(l->l_pfds, cap, sizeof(*np))) == NULL)
			return -1;
		l->l_pfds = np;
		l->l_cap = cap;
	}
	l->l_entries[l->l_n].le_fd = fd;
	l->l_entries[l->l_n].le_events = events;
	l->l_entries[l->l_n].le_cb = cb;
	l->l_entries[l->l_n].le_arg = arg;
	l->l_n++;
	l->l_dirty = true;
	return 0;
}

void
loop_del(int fd)
{
	struct loop	*l = loop_mine;
	size_t		 i;

	for (i = 0; i < l->l_n; i++)
		if (l->l_entries[i].le_fd == fd) {
			l->l_entries[i] = l->l_entries[--l->l_n];
			l->l_dirty = true;
			return;
		}
}

void
loop_timer(uint64_t interval, void (*fn)(void *), void *arg)
{
	struct loop		*l = loop_mine;
	struct loop_timer	*nt;

	if ((nt = reallocarray(l->l_timers, l->l_ntimers + 1,
	    sizeof(*nt))) == NULL)
		fatal("loop_timer");
	l->l_timers = nt;
	nt[l->l_ntimers].lt_interval = interval;
	nt[l->l_ntimers].lt_next = mono_ns() + interval;
	nt[l->l_ntimers].lt_fn = fn;
	nt[l->l_ntimers].lt_arg = arg;
	l->l_ntimers++;
}

static int
loop_timeout(const struct loop *l, uint64_t next)
{
	size_t	i;

	for (i = 0; i < l->l_ntimers; i++)
		if (l->l_timers[i].lt_next < next)
			next = l->l_timers[i].lt_next;
	if (next == UINT64_MAX)
		return 1000;
	if (next <= loop_now)
		return 0;
	return (int)((next - loop_now) / 1000000ULL) + 1;
}

static void
loop_fire_timers(struct loop *l)
{
	size_t	i;

	for (i = 0; i < l->l_ntimers; i++) {
		if (l->l_timers[i].lt_next > loop_now)
			continue;
		l->l_timers[i].lt_next = loop_now + l->l_timers[i].lt_interval;
		l->l_timers[i].lt_fn(l->l_timers[i].lt_arg);
	}
}

/*
 * The clocks, once per wakeup.  The wall clock (for the rings) is the
 * monotonic one plus an offset read again every second, which saves a
 * clock read per wakeup and follows a stepped clock within a second.
 */
static void
loop_clock(void)
{
	static _Thread_local uint64_t		base;	/* when it was read */
	static _Thread_local struct timespec	wall;	/* the wall clock then */
	uint64_t				ns;

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

/* One wakeup: poll until ready or the next deadline, run what is ready. */
static void
loop_once(struct loop *l, uint64_t next)
{
	size_t	i, n;
	int	nready;

	if (l->l_dirty) {
		for (i = 0; i < l->l_n; i++) {
			l->l_pfds[i].fd = l->l_entries[i].le_fd;
			l->l_pfds[i].events = l->l_entries[i].le_events;
		}
		l->l_dirty = false;
	}
	n = l->l_n;
	/* loop_now is from the last wakeup: the work since is short. */
	nready = compat_poll(l->l_pfds, n, loop_timeout(l, next));
	if (nready == -1 && errno != EINTR)
		fatal("poll");
	loop_clock();
	for (i = 0; nready > 0 && i < n && !l->l_dirty; i++) {
		if (l->l_pfds[i].revents == 0)
			continue;
		nready--;
		l->l_entries[i].le_cb(l->l_pfds[i].fd, l->l_pfds[i].revents,
		    l->l_entries[i].le_arg);
	}
}

/* Commands from the main thread, run on the loop's thread. */
static void
loop_udp_cmd(int fd, short revents, void *arg)
{
	struct loop_cmd	 cmd;
	struct udploop	*ul = arg;
	ssize_t		 n;

	(void)revents;
	while ((n = read(fd, &cmd, sizeof(cmd))) == sizeof(cmd))
		cmd.lc_fn(cmd.lc_arg);
	/* The end of file: stop. */
	if (n == 0) {
		loop_del(fd);
		ul->ul_quit = true;
	}
}

/* True once nothing waits for an answer, or the drain time is over. */
static bool
loop_drained(struct udploop *ul, uint64_t *deadline)
{
	uint64_t	n = backend_inflight();

	if (*deadline == 0) {
		frontend_stop(ul->ul_li);
		*deadline = mono_ns() + LOOP_DRAIN_NS;
		if (n > 0)
			log_info("stopping: waiting for the answers to %llu "
			    "queries on %s", (unsigned long long)n,
			    ul->ul_li->li_local->lc_text);
	}
	if (n == 0 && frontend_delay_next() == UINT64_MAX)
		return true;
	if (mono_ns() < *deadline)
		return false;
	log_info("stopping: %llu queries left unanswered on %s",
	    (unsigned long long)n, ul->ul_li->li_local->lc_text);
	return true;
}

static void *
loop_udp_main(void *arg)
{
	struct udploop	*ul = arg;
	uint64_t	 drain = 0, next;
	char		 name[16];

	snprintf(name, sizeof(name), "udp%u", ul->ul_index);
	compat_thread_name(name);
	/* As dnsdist: a thread that cannot be pinned runs, and says so. */
	if (ul->ul_li->li_local->lc_pinned &&
	    compat_thread_cpus(ul->ul_li->li_local->lc_cpus) == -1)
		log_warn("cpus: the UDP loop of %s is not pinned",
		    ul->ul_li->li_local->lc_text);
	loop_mine = &ul->ul_loop;
	loop_index = ul->ul_index;
	/* Hooks that hold up this loop get the Lua lock first. */
	dlua_urgent = true;
	/* Ring entries go in once per wakeup (or unstaged, without memory). */
	(void)ring_stage_start();
	/*
	 * Snapshots and cache entries without a lock: this thread holds
	 * none from one wakeup to the next, which is its quiescent point.
	 * A retired object waits at most one poll timeout.
	 */
	if (qsbr_register() == -1)
		fatalx("udp loop: no reclamation slot left");
	loop_clock();
	frontend_loop_start(ul->ul_li);
	backend_loop_start();
	if (loop_add(ul->ul_cmd[0], POLLIN, loop_udp_cmd, ul) == -1 ||
	    loop_add(ul->ul_hand[0], POLLIN, loop_udp_cmd, ul) == -1)
		fatal("loop_add");
	while (!ul->ul_quit || !loop_drained(ul, &drain)) {
		qsbr_quiescent();
		next = frontend_delay_next();
		if (async_next() < next)
			next = async_next();
		loop_once(loop_mine, next);
		/* Answers and queries leave in batches, once per wakeup. */
		backend_flush_all();
		frontend_flush_all();
		frontend_delay_run();
		async_expire(loop_now);
		ring_flush();
		loop_fire_timers(loop_mine);
	}
	backend_loop_stop();
	frontend_loop_stop();
	qsbr_unregister();
	ring_stage_stop();
	return NULL;
}

/* A UDP loop for every listener that has UDP: counted, not started. */
void
loop_udp_init(void)
{
	struct udploop	*ul;
	size_t		 i;

	if ((udploops = calloc(nlisteners, sizeof(*udploops))) == NULL)
		fatal("udp loops");
	for (i = 0; i < nlisteners; i++) {
		if (listeners[i].li_udpfd == -1)
			continue;
		ul = &udploops[loop_nudp];
		ul->ul_li = &listeners[i];
		ul->ul_index = (unsigned int)loop_nudp;
		if (pipe(ul->ul_cmd) == -1 || pipe(ul->ul_hand) == -1 ||
		    fcntl(ul->ul_cmd[0], F_SETFL, O_NONBLOCK) == -1 ||
		    fcntl(ul->ul_hand[0], F_SETFL, O_NONBLOCK) == -1 ||
		    fcntl(ul->ul_hand[1], F_SETFL, O_NONBLOCK) == -1)
			fatal("udp loop pipe");
		loop_nudp++;
	}
}

/* Start the UDP loops: after loop_udp_init() and the first backend_sync(). */
void
loop_udp_start(void)
{
	size_t	i;

	for (i = 0; i < loop_nudp; i++)
		if ((errno = pthread_create(&udploops[i].ul_thread, NULL,
		    loop_udp_main, &udploops[i])) != 0)
			fatal("unable to start a udp loop");
}

/*
 * Run fn(arg) on every UDP loop, in its thread, at its next wakeup.  The
 * pipe holds thousands of commands and the loops never wait for the main
 * thread, so the write does not block for long.
 */
void
loop_udp_call(void (*fn)(void *), void *arg)
{
	struct loop_cmd	cmd = { fn, arg };
	size_t		i;

	/* Stopped loops take none: what they held is freed at the end. */
	for (i = 0; i < loop_nudp; i++)
		if (udploops[i].ul_cmd[1] != -1 && write(udploops[i].ul_cmd[1],
		    &cmd, sizeof(cmd)) != sizeof(cmd))
			fatal("udp loop command");
}

/*
 * A TCP worker: run fn(arg) on UDP loop n % loop_nudp, in its thread;
 * -1 when that cannot be (no loop, or its pipe is full).  The write end
 * stays open to the end, so that a worker never writes to a closed one;
 * what a stopped loop did not read is lost with the process.
 */
int
loop_udp_hand(size_t n, void (*fn)(void *), void *arg)
{
	struct loop_cmd	cmd = { fn, arg };

	if (loop_nudp == 0)
		return -1;
	return write(udploops[n % loop_nudp].ul_hand[1], &cmd, sizeof(cmd)) ==
	    sizeof(cmd) ? 0 : -1;
}

/* Stop the UDP loops (each drains first) and wait for them. */
static void
loop_udp_stop(void)
{
	size_t	i;

	for (i = 0; i < loop_nudp; i++) {
		close(udploops[i].ul_cmd[1]);
		udploops[i].ul_cmd[1] = -1;
	}
	for (i = 0; i < loop_nudp; i++) {
		pthread_join(udploops[i].ul_thread, NULL);
		close(udploops[i].ul_cmd[0]);
		close(udploops[i].ul_hand[0]);	/* workers' writes fail now */
	}
}

/* The main thread's loop: returns once the UDP loops have stopped. */
void
loop_run(void)
{
	loop_mine = &main_loop;
	/* Hooks and console lines hold no snapshot across a wakeup. */
	(void)qsbr_register();
	loop_clock();
	while (!loop_quit) {
		qsbr_quiescent();
		if (loop_reload) {
			loop_reload = 0;
			daemon_reload();
		}
		/* Held queries time out here too, with no UDP loop. */
		loop_once(&main_loop, async_next());
		async_expire(loop_now);
		loop_fire_timers(&main_loop);
	}
	frontend_stop(NULL);
	async_stop();
	qsbr_offline();
	loop_udp_stop();
	qsbr_unregister();
}

/* The main thread's loop is the one loop_add() uses until loop_run(). */
void
loop_init(void)
{
	loop_mine = &main_loop;
	loop_clock();
}
