/*
 * TCP: the main thread accepts and hands each connection to one of a pool
 * of worker threads.  A worker runs its own poll loop over its client
 * connections and the backend connections their queries use.  Queries are
 * read as they come, many per read(2), and go out pipelined over a few
 * backend connections, each query under an ID of that connection; answers
 * are matched by ID and question, in whatever order the server sends
 * them, and written back to each client in one write per round.  Zone
 * transfers hold a backend connection to themselves until the last
 * message.  Queries for tcpOnly servers that came over UDP take the same
 * path and their answers go back over UDP.  DoH queries go the other way:
 * to the UDP loops, and over TCP when their answer comes truncated.
 *
 * This file has the workers, accepting and the buffers; tcp_client.c the
 * client connections, tcp_backend.c the backend connections, tcp_xfr.c
 * the zone transfers, and tcp.h what they share.
 */
#include <sys/types.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "addr.h"
#include "cache.h"
#include "config.h"
#include "qsbr.h"
#include "edns.h"
#include "dnsdist.h"
#include "hostcount.h"
#include "rule.h"
#include "stats.h"

#include "tcp.h"

static struct tcp_worker	*workers;
static size_t			 nworkers;
static size_t			 ndohworkers;	/* setOutgoingDoHWorkerThreads */
static size_t			 next_worker;
static _Atomic size_t		 next_udp_worker;
static atomic_bool		 tcp_quit;	/* set by the main thread */

/*
 * Client connections are bounded by the descriptors the process may have:
 * a quarter of them, or FD_RESERVE plus what the console and the web
 * server may hold if that is more, stays for what must go on working
 * under a flood of connections (health checks, connections to the
 * backends, the console, the web server).  spare_fd is held for the day
 * accept() fails for want of a descriptor anyway: closed for a moment, it
 * lets the connection be taken and closed, so that the listen queue drains
 * instead of waking the loop again and again.
 */
#define FD_RESERVE	64
static _Atomic unsigned int	 tcp_nclients;
static unsigned int		 tcp_maxclients = UINT_MAX;
static int			 spare_fd = -1;

/*
 * Connections per client address, counted while a limit is set; each
 * connection remembers whether it was, since the limit may change or go
 * before it closes.
 */
static struct hostcount		*percl;

/*
 * Count a new client connection on li from ss, or refuse it (false) when
 * the process, the frontend or the client has as many as it may.
 * *counted says whether it counts for its address.
 */
static bool
conn_take(struct listener *li, const struct sockaddr_storage *ss,
    bool *counted)
{
	int	fmax = li->li_local->lc_maxtcpconns;
	int	cmax = config_now()->cf_maxtcpconnperclient;

	*counted = false;
	if (atomic_fetch_add(&tcp_nclients, 1) >= tcp_maxclients)
		goto refuse;
	if (fmax > 0 && atomic_fetch_add(&li->li_tcpconns, 1) >=
	    (unsigned int)fmax)
		goto refuse_frontend;
	if (cmax > 0) {
		if (!hostcount_take(percl, (const struct sockaddr *)ss, cmax))
			goto refuse_frontend;
		*counted = true;
	}
	return true;
refuse_frontend:
	if (fmax > 0)
		atomic_fetch_sub(&li->li_tcpconns, 1);
refuse:
	atomic_fetch_sub(&tcp_nclients, 1);
	stats_inc(STAT_TCP_TOO_MANY_CONNECTIONS);
	return false;
}

/*
 * Under a connection limit, a connection its client closed before we
 * took it (a probe that connects and hangs up, which the kernel
 * completes before the daemon's first accept) has nothing to answer and
 * must not hold one of the client's places while a worker finds out.
 */
static bool
conn_gone(struct listener *li, int fd)
{
	char	c;

	if (li->li_local->lc_maxtcpconns <= 0 &&
	    config_now()->cf_maxtcpconnperclient <= 0)
		return false;
	return recv(fd, &c, 1, MSG_PEEK | MSG_DONTWAIT) == 0;
}

/* A client connection counted by conn_take() is gone. */
void
conn_give(struct listener *li, const struct sockaddr_storage *ss,
    bool counted)
{
	if (counted)
		hostcount_give(percl, (const struct sockaddr *)ss);
	if (li->li_local->lc_maxtcpconns > 0)
		atomic_fetch_sub(&li->li_tcpconns, 1);
	atomic_fetch_sub(&tcp_nclients, 1);
}

/* Out of descriptors: take one connection with the spare one, and close it. */
static void
conn_shed(struct listener *li)
{
	int	fd;

	if (spare_fd == -1)
		return;
	close(spare_fd);
	if ((fd = accept(li->li_tcpfd, NULL, NULL)) != -1) {
		close(fd);
		stats_inc(STAT_TCP_TOO_MANY_CONNECTIONS);
	}
	spare_fd = fcntl(li->li_tcpfd, F_DUPFD_CLOEXEC, 0);
}

int
set_nonblock(int fd)
{
	return fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) == -1 ||
	    fcntl(fd, F_SETFD, FD_CLOEXEC) == -1 ? -1 : 0;
}

void
tcp_accept(struct listener *li)
{
	struct tcp_handoff	 th;
	socklen_t		 len;
	int			 fd, n;

	/* A handful per wakeup, so that UDP keeps its share. */
	for (n = 0; n < 16; n++) {
		memset(&th, 0, sizeof(th));
		len = sizeof(th.th_addr);
		fd = accept(li->li_tcpfd, (struct sockaddr *)&th.th_addr, &len);
		if (fd == -1) {
			if (errno == EMFILE || errno == ENFILE) {
				log_debug("tcp_accept: %s", strerror(errno));
				conn_shed(li);
			} else if (errno != EAGAIN && errno != EWOULDBLOCK &&
			    errno != EINTR && errno != ECONNABORTED)
				log_debug("tcp_accept: %s", strerror(errno));
			return;
		}
		/* DoH answers each request with a 403 instead. */
		if (li->li_local->lc_doh == NULL &&
		    !frontend_acl_allows((struct sockaddr *)&th.th_addr)) {
			stats_inc(STAT_ACL_DROPS);
			close(fd);
			continue;
		}
		if (set_nonblock(fd) == -1 || conn_gone(li, fd) ||
		    !conn_take(li, &th.th_addr, &th.th_percl)) {
			close(fd);
			continue;
		}
		th.th_kind = TH_CLIENT;
		th.th_fd = fd;
		th.th_listener = (uint16_t)(li - listeners);
		if (write(workers[next_worker].tw_pipe[1], &th, sizeof(th)) !=
		    sizeof(th)) {
			stats_inc(STAT_TCP_QUERY_PIPE_FULL);
			conn_give(li, &th.th_addr, th.th_percl);
			close(fd);
		}
		next_worker = (next_worker + 1) % nworkers;
	}
}

void *
append_ptr(void *arrayp, size_t *n, void *p)
{
	void	**a = *(void ***)arrayp, **na;

	if ((na = reallocarray(a, *n + 1, sizeof(*na))) == NULL)
		return NULL;
	na[(*n)++] = p;
	*(void ***)arrayp = na;
	return p;
}

/* The size a growing buffer of cap bytes takes to hold need bytes. */
size_t
buf_size(size_t cap, size_t need)
{
	size_t	ncap = cap > 0 ? cap : TCP_RBUF;

	while (ncap < need)
		ncap *= 2;
	return ncap;
}

/*
 * Make room for more bytes in a growing buffer, counted in *held unless
 * it is NULL; false when out of memory.
 */
bool
buf_reserve(uint8_t **buf, size_t *cap, size_t need, size_t *held)
{
	uint8_t	*nb;
	size_t	 ncap;

	if (need <= *cap)
		return true;
	ncap = buf_size(*cap, need);
	if ((nb = realloc(*buf, ncap)) == NULL)
		return false;
	if (held != NULL)
		*held += ncap - *cap;
	*buf = nb;
	*cap = ncap;
	return true;
}

void
buf_free(uint8_t **buf, size_t *cap, size_t *held)
{
	if (held != NULL)
		*held -= *cap;
	free(*buf);
	*buf = NULL;
	*cap = 0;
}


/* A query buffer with room for room bytes: from the free list if it fits. */
struct tcp_query *
query_new(struct tcp_worker *tw, size_t room)
{
	struct tcp_query	*tq;

	if (room <= TCP_QROOM && (tq = tw->tw_freeq) != NULL) {
		tw->tw_freeq = tq->tq_next;
		tw->tw_nfreeq--;
		memset(tq, 0, sizeof(*tq));
		tq->tq_buf = (uint8_t *)(tq + 1);
		tq->tq_room = TCP_QROOM;
		return tq;
	}
	if (room < TCP_QROOM)
		room = TCP_QROOM;
	if ((tq = calloc(1, sizeof(*tq) + room)) == NULL)
		return NULL;
	tq->tq_buf = (uint8_t *)(tq + 1);
	tq->tq_room = room;
	tw->tw_held += QUERY_SIZE(tq);
	return tq;
}

/* Spare query buffers stay counted in tw_held, kept while it is low. */
void
query_free(struct tcp_worker *tw, struct tcp_query *tq)
{
	if (tq == NULL)
		return;
	dnsq_tags_free(tq->tq_tags);
	tq->tq_tags = NULL;
	free(tq->tq_restart);
	tq->tq_restart = NULL;
	free(tq->tq_pp);
	tq->tq_pp = NULL;
	if (tq->tq_big != NULL) {
		tw->tw_held -= 2 + DNS_MAXUDP;
		free(tq->tq_big);
		tq->tq_big = NULL;
		tq->tq_buf = (uint8_t *)(tq + 1);
	}
	if (tq->tq_room == TCP_QROOM && tw->tw_nfreeq < TCP_FREEQ &&
	    tw->tw_held < tw->tw_share / 2) {
		tq->tq_next = tw->tw_freeq;
		tw->tw_freeq = tq;
		tw->tw_nfreeq++;
		return;
	}
	tw->tw_held -= QUERY_SIZE(tq);
	free(tq);
}

/*
 * DoH over UDP.  As in dnsdist, a DoH query for a server that is not
 * tcpOnly goes over UDP: the worker hands it to a UDP loop (each in turn),
 * which sends it from its own sockets and matches, times out and fails
 * over its answer as it does its own queries (backend.c), then hands back
 * what became of it (tcp_udp_done()) on tw_udpdone, which the worker
 * empties when its pipe wakes it.  A truncated answer sends the query
 * again, over TCP.  Until it comes back, which it always does, the query
 * is on tw_atudp so that its client may leave, and nothing frees it.
 */

/* A UDP loop: send a worker's query (the worker's snapshot had tq_ds). */
static void
udp_send(void *arg)
{
	struct tcp_query	*tq = arg;
	struct dnsq		 dq;
	uint64_t		 rnd = 0;

	/* Removed since: the loop's part of it may be gone. */
	if (tq->tq_ds->ds_removed || tq->tq_ds->ds_io == NULL) {
		tcp_udp_done(tq, NULL, 0, TCP_UDP_NOTSENT);
		return;
	}
	dnsq_init(&dq, tq->tq_buf + 2, tq->tq_len - 2, tq->tq_len - 2,
	    &tq->tq_q, (struct sockaddr *)&tq->tq_from, loop_now, &rnd);
	dq.dq_local = (struct sockaddr *)
	    &listeners[tq->tq_listener].li_local->lc_addr;
	dq.dq_tcp = true;
	dq.dq_qflags = tq->tq_qflags;
	dq.dq_cache = tq->tq_cache;
	dq.dq_ckey = tq->tq_ckey;
	dq.dq_ckey0 = tq->tq_ckey0;
	dq.dq_zeroscope = tq->tq_zeroscope;
	dq.dq_ecsadded = tq->tq_ecsadded;
	dq.dq_optadded = tq->tq_optadded;
	dq.dq_ttlcap = tq->tq_ttlcap;
	dq.dq_tempfailttl = tq->tq_tempfailttl;
	dq.dq_poolp = config_pool(config_now(), tq->tq_pool);
	dq.dq_restart = tq->tq_restart;
	dnsq_tags_load(&dq, tq->tq_tags);
	if (!backend_send_owned(tq->tq_ds, &dq, tq->tq_listener,
	    tq->tq_pplen > 0 ? tq->tq_pp : NULL, tq->tq_pplen, tq))
		tcp_udp_done(tq, NULL, 0, TCP_UDP_FAILED);
}

bool
tcp_via_udp(struct tcp_worker *tw, struct tcp_query *tq, struct server *ds,
    const struct sockaddr_storage *from)
{
	if (tq->tq_client == NULL || tq->tq_client->tc_doh == NULL ||
	    ds->ds_tcponly || tq->tq_xfr || loop_nudp == 0)
		return false;
	tq->tq_from = *from;
	tq->tq_fromlen = addr_len((const struct sockaddr *)from);
	tq->tq_listener = (uint16_t)(tq->tq_client->tc_li - listeners);
	tq->tq_tw = tw;
	tq->tq_ds = ds;
	server_ref(ds);
	LIST_INSERT_HEAD(&tw->tw_atudp, tq, tq_atudp);
	if (loop_udp_hand(tw->tw_nextloop++, udp_send, tq) == 0)
		return true;
	/* As dnsdist counts it; the query then goes over TCP. */
	stats_inc(STAT_DOH_QUERY_PIPE_FULL);
	LIST_REMOVE(tq, tq_atudp);
	tq->tq_ds = NULL;
	server_unref(ds);
	return false;
}

/*
 * Any thread: hand the query back to its worker.  Once the workers have
 * stopped (the loops' last queries are freed at exit), it is freed here.
 */
void
tcp_udp_done(void *owner, const uint8_t *pkt, size_t len, int what)
{
	struct tcp_query	*tq = owner, *old;
	struct tcp_worker	*tw = tq->tq_tw;
	struct tcp_handoff	 th;

	if (atomic_load(&tcp_quit)) {
		if (what == TCP_UDP_HELD)
			async_held_free(tq->tq_held);
		server_unref(tq->tq_ds);
		dnsq_tags_free(tq->tq_tags);
		free(tq->tq_pp);
		free(tq->tq_big);
		free(tq);
		return;
	}
	tq->tq_udpwhat = what;
	tq->tq_ans = NULL;
	if (what == TCP_UDP_ANSWER) {
		/* No memory: as good as no answer. */
		if ((tq->tq_ans = malloc(len)) == NULL)
			tq->tq_udpwhat = TCP_UDP_FAILED;
		else
			memcpy(tq->tq_ans, pkt, len);
		tq->tq_anslen = len;
	}
	old = atomic_load(&tw->tw_udpdone);
	do
		tq->tq_next = old;
	while (!atomic_compare_exchange_weak(&tw->tw_udpdone, &old, tq));
	/*
	 * The first on the list wakes the worker; a full pipe needs no
	 * more, the worker reads it and then the list.
	 */
	if (old == NULL) {
		memset(&th, 0, sizeof(th));
		th.th_kind = TH_WAKE;
		(void)write(tw->tw_pipe[1], &th, sizeof(th));
	}
}

/* See dnsdist.h. */
void
tcp_async_back(void *owner, void *held)
{
	struct tcp_query	*tq = owner;

	tq->tq_held = held;
	tcp_udp_done(tq, NULL, 0, TCP_UDP_HELD);
}

/*
 * The DoH queries the UDP loops handed back: answers, or TCP now; and
 * the queries that dq:suspend() held, back.
 */
static void
worker_udp_done(struct tcp_worker *tw)
{
	struct tcp_query	*tq, *next;
	struct tcp_client	*tc;
	struct server		*ds;

	for (tq = atomic_exchange(&tw->tw_udpdone, NULL); tq != NULL;
	    tq = next) {
		next = tq->tq_next;
		LIST_REMOVE(tq, tq_atudp);
		ds = tq->tq_ds;
		tq->tq_ds = NULL;
		tc = tq->tq_client;
		switch (tq->tq_udpwhat) {
		case TCP_UDP_ANSWER:
			if (tc != NULL)
				query_reply(tq, tq->tq_ans, tq->tq_anslen);
			free(tq->tq_ans);
			query_done(tw, tq);
			break;
		case TCP_UDP_TRUNCATED:
		case TCP_UDP_NOTSENT:
			/*
			 * As dnsdist: the server counts it once, and its answer
			 * over TCP is kept as one (a DoH query looks there too).
			 */
			if ((tq->tq_tcretry = tq->tq_udpwhat ==
			    TCP_UDP_TRUNCATED) && tq->tq_cache != NULL) {
				tq->tq_udpcache = 0;
				tq->tq_zeroscope = false;
				if (!pcache_key(tq->tq_cache, tq->tq_buf + 2,
				    tq->tq_len - 2, &tq->tq_q, true,
				    &tq->tq_ckey))
					tq->tq_cache = NULL;
			}
			if (!bconn_send(tw, tq, ds))
				query_servfail(tw, tq);
			break;
		case TCP_UDP_DROPPED:
			query_done(tw, tq);	/* 403, as over TCP */
			break;
		case TCP_UDP_HELD:
			client_resume(tw, tq);
			break;
		default:
			/* As dnsdist: no answer from the server is a 502. */
			if (tc != NULL) {
				doh_error(tc, tq->tq_stream, 502);
				tq->tq_replied = true;
			}
			query_done(tw, tq);
			break;
		}
		server_unref(ds);
	}
}

static void
worker_handoff(struct tcp_worker *tw)
{
	struct tcp_handoff	 th;
	struct tcp_client	*tc;

	while (read(tw->tw_pipe[0], &th, sizeof(th)) == sizeof(th)) {
		if (th.th_kind == TH_WAKE)
			continue;
		if (th.th_kind == TH_UDPQUERY) {
			tw->tw_held += QUERY_SIZE(th.th_tq);
			if (!bconn_send(tw, th.th_tq, th.th_ds))
				query_servfail(tw, th.th_tq);
			server_unref(th.th_ds);
			continue;
		}
		if ((tc = calloc(1, sizeof(*tc))) == NULL ||
		    append_ptr(&tw->tw_clients, &tw->tw_nclients, tc) == NULL) {
			free(tc);
			conn_give(&listeners[th.th_listener], &th.th_addr,
			    th.th_percl);
			close(th.th_fd);
			continue;
		}
		atomic_fetch_add_explicit(&tw->tw_accepted, 1,
		    memory_order_relaxed);
		tc->tc_fd = th.th_fd;
		tc->tc_tr = &tcp_plain;
		tc->tc_tw = tw;
		tc->tc_addr = th.th_addr;
		tc->tc_percl = th.th_percl;
		tc->tc_li = &listeners[th.th_listener];
		tc->tc_ppwait = !tc->tc_li->li_local->lc_ppoff &&
		    config_now()->cf_ppexpect &&
		    netmask_group_match(&config_now()->cf_ppacl,
		    (struct sockaddr *)&tc->tc_addr) == 1;
		tc->tc_start = tw->tw_now;
		if (tc->tc_li->li_local->lc_doh != NULL &&
		    !doh_conn_new(tc, tc->tc_li->li_local->lc_doh))
			tc->tc_dead = true;
		tc->tc_deadline = tw->tw_now + client_idle(tc);
		/* The handshake waits for the client's first bytes. */
		if (tc->tc_li->li_tls != NULL && tls_client_start(tc) == -1)
			tc->tc_dead = true;
	}
	worker_udp_done(tw);
}

/* requestDoHStatesDump(): this worker's DNS over HTTPS connections. */
static void
worker_dohdump(struct tcp_worker *tw)
{
	struct tcp_bconn	*bc;
	unsigned		 n = atomic_load(&settings_dohdump);
	size_t			 i;

	if (n == tw->tw_dohdump)
		return;
	tw->tw_dohdump = n;
	for (i = 0; i < tw->tw_nbconns; i++) {
		bc = tw->tw_bconns[i];
		if (bc->bc_h2 != NULL)
			log_info("tcp worker %zu: DoH connection to backend "
			    "%s over FD %d, %d streams%s%s",
			    (size_t)(tw - workers), bc->bc_ds->ds_addrtext,
			    bc->bc_fd, bc->bc_npending, bc->bc_connecting ?
			    ", connecting" : "", bc->bc_dead ? ", closed" : "");
	}
}

/* Close what is finished or late; compact the arrays. */
static void
worker_sweep(struct tcp_worker *tw)
{
	struct tcp_client	*tc;
	struct tcp_bconn	*bc;
	const struct config	*cf = config_now();
	uint64_t		 maxdur, maxidle[2];
	size_t			 i, j;
	bool			 clean[2];
	int			 h;

	maxdur = TCP_SECS(cf->cf_maxtcpconnduration);
	/*
	 * Idle connections to backends go after setTCPDownstreamMaxIdleTime,
	 * looked for every setTCPDownstreamCleanupInterval, as in dnsdist;
	 * those of DNS over HTTPS after their own (setDoHDownstream...).
	 */
	maxidle[0] = TCP_SECS(cf->cf_tcpdsmaxidle);
	maxidle[1] = TCP_SECS(cf->cf_dohdsmaxidle);
	if ((clean[0] = tw->tw_now - tw->tw_cleaned[0] >=
	    TCP_SECS(cf->cf_tcpdscleanup)))
		tw->tw_cleaned[0] = tw->tw_now;
	if ((clean[1] = tw->tw_now - tw->tw_cleaned[1] >=
	    TCP_SECS(cf->cf_dohdscleanup)))
		tw->tw_cleaned[1] = tw->tw_now;
	for (i = 0; i < tw->tw_nbconns; i++) {
		bc = tw->tw_bconns[i];
		if (bc->bc_dead)
			continue;
		h = bc->bc_h2 != NULL;
		if (bc->bc_npending > 0 || bc->bc_connecting)
			bc->bc_idle = 0;
		else if (bc->bc_idle == 0)
			bc->bc_idle = tw->tw_now;
		if (bc->bc_npending > 0 && tw->tw_now >= bc->bc_deadline)
			bconn_fail(tw, bc, true);
		else if (bc->bc_npending == 0 && (bc->bc_orphan ||
		    bconn_spare(tw, bc) ||
		    (clean[h] && bc->bc_idle != 0 &&
		    tw->tw_now - bc->bc_idle >= maxidle[h])))
			bc->bc_dead = true;
		else if (bc->bc_npending == 0 && bc->bc_rlen == 0 &&
		    bc->bc_wlen == 0) {
			/* Idle: its buffers go until it has queries again. */
			buf_free(&bc->bc_rbuf, &bc->bc_rcap, &tw->tw_held);
			buf_free(&bc->bc_wbuf, &bc->bc_wcap, &tw->tw_held);
		}
	}
	for (i = j = 0; i < tw->tw_nclients; i++) {
		tc = tw->tw_clients[i];
		if (tc->tc_inflight == 0 && !client_writing(tc) &&
		    (tc->tc_eof || tw->tw_now >= tc->tc_deadline ||
		    (maxdur > 0 && tw->tw_now - tc->tc_start >= maxdur)))
			tc->tc_dead = true;
		if (client_writing(tc) && tc->tc_wdeadline != 0 &&
		    tw->tw_now >= tc->tc_wdeadline)
			tc->tc_dead = true;
		if (tc->tc_dead)
			client_free(tw, tc);
		else
			tw->tw_clients[j++] = tc;
	}
	tw->tw_nclients = j;
	atomic_store_explicit(&tw->tw_pubclients, j, memory_order_relaxed);
	atomic_store_explicit(&tw->tw_pubheld, tw->tw_held,
	    memory_order_relaxed);
	for (i = j = 0; i < tw->tw_nbconns; i++) {
		bc = tw->tw_bconns[i];
		if (bc->bc_dead)
			bconn_free(tw, bc);
		else
			tw->tw_bconns[j++] = bc;
	}
	tw->tw_nbconns = j;
	atomic_store_explicit(&tw->tw_pubbconns, j, memory_order_relaxed);
}

static void *
worker_main(void *arg)
{
	struct tcp_worker	 *tw = arg;
	struct pollfd		 *pfd = NULL, *np;
	size_t			  cap = 0, n, i, nc, nb;
	uint64_t		  next;
	struct tcp_client	 *tc;
	struct tcp_bconn	 *bc;
	int			  timeout, k;

	/* Its share of what clients may hold, at least TCP_CONNMAX. */
	tw->tw_share = (size_t)settings.st_maxtcpqueuedbytes / nworkers;
	if (tw->tw_share < TCP_CONNMAX)
		tw->tw_share = TCP_CONNMAX;
	randombytes_buf(&tw->tw_rnd, sizeof(tw->tw_rnd));
	/*
	 * A reader of configuration snapshots and cache entries: what a
	 * round takes from them is used up by its end, and the thread holds
	 * nothing while it waits in poll.
	 */
	if (qsbr_register() == -1)
		fatalx("tcp worker: no reclamation slot left");
	while (!atomic_load_explicit(&tcp_quit, memory_order_relaxed)) {
		tw->tw_now = mono_ns();
		worker_sweep(tw);
		worker_dohdump(tw);
		n = 1 + tw->tw_nclients + tw->tw_nbconns;
		if (n > cap) {
			if ((np = reallocarray(pfd, n, sizeof(*np))) == NULL) {
				log_warnx("tcp worker: out of memory");
				continue;
			}
			pfd = np;
			cap = n;
		}
		next = tw->tw_now + 1000000000ULL;
		pfd[0].fd = tw->tw_pipe[0];
		pfd[0].events = POLLIN;
		nc = tw->tw_nclients;
		for (i = 0; i < nc; i++) {
			tc = tw->tw_clients[i];
			/* A closed client waiting for answers: not polled. */
			/*
			 * Nothing asked, not polled: a hung-up client would
			 * wake the loop at once, again and again.
			 */
			if (tc->tc_handshaking)
				pfd[1 + i].events = tc->tc_dead ? 0 :
				    tc->tc_rwant;
			else
				pfd[1 + i].events = (client_reading(tc) ?
				    (tc->tc_rwant != 0 ? tc->tc_rwant :
				    POLLIN) : 0) | (client_writing(tc) ?
				    (tc->tc_wwant != 0 ? tc->tc_wwant :
				    POLLOUT) : 0);
			pfd[1 + i].fd = pfd[1 + i].events != 0 ? tc->tc_fd : -1;
			/*
			 * Only a deadline the sweep acts on: a past read
			 * deadline while queries are out would spin the loop.
			 */
			if (client_writing(tc) && tc->tc_wdeadline != 0 &&
			    tc->tc_wdeadline < next)
				next = tc->tc_wdeadline;
			else if (!client_writing(tc) && tc->tc_inflight == 0 &&
			    tc->tc_deadline < next)
				next = tc->tc_deadline;
			/* Bytes the transport holds: no waiting for them. */
			if (tc->tc_more && client_reading(tc))
				next = tw->tw_now;
		}
		nb = tw->tw_nbconns;
		for (i = 0; i < nb; i++) {
			bc = tw->tw_bconns[i];
			pfd[1 + nc + i].events =
			    (bc->bc_connecting || bc->bc_wlen > bc->bc_woff ?
			    POLLOUT : 0) | (bconn_reading(bc) ? POLLIN : 0) |
			    bc->bc_want;
			pfd[1 + nc + i].fd = pfd[1 + nc + i].events != 0 ?
			    bc->bc_fd : -1;
			if (bc->bc_npending > 0 && bc->bc_deadline < next)
				next = bc->bc_deadline;
		}
		timeout = next <= tw->tw_now ? 0 :
		    (int)((next - tw->tw_now) / 1000000ULL) + 1;
		qsbr_offline();
		if (poll(pfd, n, timeout) == -1 && errno != EINTR)
			fatal("tcp worker poll");
		qsbr_online();
		tw->tw_now = mono_ns();
		for (i = 0; i < nc; i++) {
			tc = tw->tw_clients[i];
			if (tc->tc_handshaking) {
				if (pfd[1 + i].revents != 0 && !tc->tc_dead)
					client_handshake(tw, tc);
			} else if ((pfd[1 + i].revents & (POLLIN | POLLHUP |
			    POLLERR) || (tc->tc_rwant == POLLOUT &&
			    (pfd[1 + i].revents & POLLOUT))) &&
			    client_reading(tc))
				client_read(tw, tc);
			else if (pfd[1 + i].revents & (POLLHUP | POLLERR))
				tc->tc_dead = true;
		}
		for (i = 0; i < nb; i++) {
			bc = tw->tw_bconns[i];
			if (pfd[1 + nc + i].revents != 0 && !bc->bc_dead)
				bconn_io(tw, bc, pfd[1 + nc + i].revents);
		}
		if (pfd[0].revents & POLLIN)
			worker_handoff(tw);
		/*
		 * Queries waiting in a read buffer for room, then everything
		 * this round produced goes out, one write per connection.
		 */
		for (i = 0; i < tw->tw_nclients; i++) {
			tc = tw->tw_clients[i];
			if (tc->tc_rlen >= 2 && client_reading(tc))
				client_parse(tw, tc);
			for (k = 0; k < 8 && tc->tc_more &&
			    client_reading(tc); k++)
				client_read(tw, tc);
		}
		for (i = 0; i < tw->tw_nbconns; i++) {
			bc = tw->tw_bconns[i];
			if (!bc->bc_dead && !bc->bc_connecting &&
			    bc->bc_wlen > bc->bc_woff)
				bconn_write(tw, bc);
		}
		for (i = 0; i < tw->tw_nclients; i++) {
			tc = tw->tw_clients[i];
			if (client_writing(tc) && !tc->tc_dead)
				client_write(tw, tc);
		}
	}
	qsbr_unregister();
	free(pfd);
	return NULL;
}

/*
 * A UDP query for a tcpOnly server (main thread): copied, and handed to a
 * worker that sends it over TCP and the answer back over UDP.
 */
void
tcp_udp_query(struct server *ds, const struct dnsq *dq,
    const struct sockaddr *from, socklen_t fromlen, uint16_t listener,
    const struct compat_dst *dst)
{
	struct tcp_handoff	 th;
	struct tcp_query	*tq;
	struct tcp_worker	*tw;

	if ((tq = calloc(1, sizeof(*tq) + TCP_QROOM)) == NULL)
		goto fail;
	tq->tq_buf = (uint8_t *)(tq + 1);
	tq->tq_room = TCP_QROOM;
	if (dq->dq_len + 2 > tq->tq_room || fromlen > sizeof(tq->tq_from)) {
		free(tq);
		goto fail;
	}
	tq->tq_buf[0] = (uint8_t)(dq->dq_len >> 8);
	tq->tq_buf[1] = (uint8_t)dq->dq_len;
	memcpy(tq->tq_buf + 2, dq->dq_pkt, dq->dq_len);
	tq->tq_len = dq->dq_len + 2;
	tq->tq_q = *dq->dq_q;
	tq->tq_origid = dnspacket_id(dq->dq_pkt);
	tq->tq_qflags = dq->dq_qflags;
	tq->tq_cache = dq->dq_cache;
	tq->tq_ckey = dq->dq_ckey;
	tq->tq_ckey0 = dq->dq_ckey0;
	tq->tq_zeroscope = dq->dq_zeroscope;
	tq->tq_ecsadded = dq->dq_ecsadded && !dq->dq_ecsclient;
	tq->tq_optadded = dq->dq_optadded;
	tq->tq_ttlcap = dq->dq_ttlcap;
	tq->tq_tempfailttl = dq->dq_tempfailttl;
	tq->tq_tags = dnsq_tags_save(dq);
	tq->tq_restart = dnsq_restart_save(dq);
	tq->tq_pool = dq->dq_poolp->pl_name;
	tq->tq_udp = true;
	tq->tq_listener = listener;
	memcpy(&tq->tq_from, from, fromlen);
	tq->tq_fromlen = fromlen;
	tq->tq_dst = *dst;
	tq->tq_udpmax = frontend_udp_limit(dq);
	if (!query_proxy_header(tq, dq, ds)) {
		dnsq_tags_free(tq->tq_tags);
		free(tq->tq_restart);
		free(tq->tq_pp);
		free(tq);
		goto fail;
	}
	if ((tq->tq_dnscrypt = dq->dq_dnscrypt != NULL))
		tq->tq_dc = *dq->dq_dnscrypt;
	memset(&th, 0, sizeof(th));
	th.th_kind = TH_UDPQUERY;
	th.th_tq = tq;
	th.th_ds = ds;
	server_ref(ds);
	/* As dnsdist: DoH backends' UDP queries on setOutgoingDoHWorkerThreads. */
	tw = &workers[atomic_fetch_add(&next_udp_worker, 1) %
	    (ds->ds_dohpath != NULL ? ndohworkers : nworkers)];
	if (write(tw->tw_pipe[1], &th, sizeof(th)) != sizeof(th)) {
		stats_inc(STAT_TCP_CROSS_PROTOCOL_QUERY_PIPE_FULL);
		server_unref(ds);
		dnsq_tags_free(tq->tq_tags);
		free(tq->tq_restart);
		free(tq->tq_pp);
		free(tq);
		goto fail;
	}
	return;
fail:
	atomic_fetch_add(&ds->ds_senderrors, 1);
	stats_inc(STAT_DOWNSTREAM_SEND_ERRORS);
}

/* showTCPStats(): connections per worker thread, then per server. */
void
tcp_show_stats(struct sbuf *sb)
{
	struct server	*ds;
	size_t		 i, c, b, h, tc = 0, tb = 0, th = 0;
	uint64_t	 a, ta = 0;

	sbuf_printf(sb, "%-8s %10s %10s %12s %12s\n", "Thread", "Clients",
	    "Backends", "Accepted", "Queued");
	for (i = 0; i < nworkers; i++) {
		c = atomic_load(&workers[i].tw_pubclients);
		b = atomic_load(&workers[i].tw_pubbconns);
		a = atomic_load(&workers[i].tw_accepted);
		h = atomic_load(&workers[i].tw_pubheld);
		sbuf_printf(sb, "%-8zu %10zu %10zu %12llu %12zu\n", i, c, b,
		    (unsigned long long)a, h);
		tc += c;
		tb += b;
		ta += a;
		th += h;
	}
	sbuf_printf(sb, "%-8s %10zu %10zu %12llu %12zu\n", "All", tc, tb,
	    (unsigned long long)ta, th);
	sbuf_printf(sb, "\n%-3s %-20s %-24s %12s %12s %10s\n", "#", "Server",
	    "Address", "TCPQueries", "Reused", "Died");
	for (i = 0; i < servers.sr_count; i++) {
		ds = servers.sr_servers[i];
		sbuf_printf(sb, "%-3zu %-20.20s %-24s %12llu %12llu %10llu\n",
		    i, ds->ds_name != NULL ? ds->ds_name : "",
		    ds->ds_addrtext, (unsigned long long)atomic_load(
		    &ds->ds_tcpqueries), (unsigned long long)atomic_load(
		    &ds->ds_tcpreused), (unsigned long long)atomic_load(
		    &ds->ds_tcpdied));
	}
}

void
tcp_start(void)
{
	struct rlimit	rl;
	rlim_t		reserve;
	size_t		i;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY) {
		/* Enough for the console's and the web server's own caps. */
		reserve = FD_RESERVE + (rlim_t)settings.st_webmaxconns +
		    (rlim_t)settings.st_consolemaxconns;
		if (reserve < rl.rlim_cur / 4)
			reserve = rl.rlim_cur / 4;
		rl.rlim_cur = rl.rlim_cur > 2 * reserve ?
		    rl.rlim_cur - reserve : rl.rlim_cur / 2;
		tcp_maxclients = rl.rlim_cur == 0 ? 1 : rl.rlim_cur > UINT_MAX ?
		    UINT_MAX : (unsigned int)rl.rlim_cur;
	}
	log_debug("tcp: at most %u client connections", tcp_maxclients);
	for (i = 0; i < nlisteners && spare_fd == -1; i++)
		if (listeners[i].li_tcpfd != -1)
			spare_fd = fcntl(listeners[i].li_tcpfd,
			    F_DUPFD_CLOEXEC, 0);

	nworkers = (size_t)settings.st_maxtcpclientthreads;
	/* Fixed at start, as in dnsdist: a reload does not change it. */
	ndohworkers = (size_t)settings.st_dohworkers < nworkers ?
	    (size_t)settings.st_dohworkers : nworkers;
	if ((workers = calloc(nworkers, sizeof(*workers))) == NULL ||
	    (percl = hostcount_new()) == NULL)
		fatal("tcp workers");
	for (i = 0; i < nworkers; i++) {
		if (pipe(workers[i].tw_pipe) == -1 ||
		    set_nonblock(workers[i].tw_pipe[0]) == -1 ||
		    set_nonblock(workers[i].tw_pipe[1]) == -1)
			fatal("tcp worker pipe");
		if (pthread_create(&workers[i].tw_thread, NULL, worker_main,
		    &workers[i]) != 0)
			fatalx("unable to start a tcp worker");
	}
}

void
tcp_stop(void)
{
	size_t	i;

	atomic_store(&tcp_quit, true);
	if (spare_fd != -1) {
		close(spare_fd);
		spare_fd = -1;
	}
	for (i = 0; i < nworkers; i++) {
		/* Wake it: the closed pipe reads as the end of file. */
		close(workers[i].tw_pipe[1]);
		pthread_join(workers[i].tw_thread, NULL);
	}
	hostcount_free(percl);
	percl = NULL;
}
