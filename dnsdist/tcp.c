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
 * path and their answers go back over UDP.
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

#define TCP_IDLE_PER_SERVER	8	/* idle backend connections kept */
/*
 * Memory for clients that do not read their answers: a client connection
 * holds its answers not yet written and its queries at the backends; a
 * worker thread holds those of its clients, its spare query buffers and
 * its backend connections' buffers, and the threads share
 * setMaxTCPQueuedBytes.  At most TCP_MAXINFLIGHT queries of a connection
 * go to the backends at once, and none is read while it holds TCP_OUTMAX
 * bytes or its thread its share; an answer that would take the
 * connection past TCP_CONNMAX closes it, and one that would take the
 * thread past its share closes the connection that would hold most.
 */
#define TCP_MAXINFLIGHT		128
#define TCP_OUTMAX		(256 * 1024)
#define TCP_CONNMAX		(1024 * 1024)
#define TCP_RBUF		16384	/* first size of a read buffer */
#define TCP_MSGMAX		(2 + 65535)
/*
 * Queries in flight on one backend connection unless newServer's
 * maxInFlight says otherwise; at most TCP_BC_MAXDEPTH, since the low
 * byte of the ID names the query.
 */
#define TCP_BC_DEPTH		100
#define TCP_BC_MAXDEPTH		256
#define TCP_FREEQ		32	/* spare query buffers per worker */
#define TCP_QROOM		(2 + UDP_QUERYMAX)

#define DNS_TYPE_SOA		6
#define DNS_TYPE_IXFR		251
#define DNS_TYPE_AXFR		252

struct tcp_client;
struct tcp_bconn;

/* One query at a backend, from a TCP client or (tcpOnly) a UDP one. */
struct tcp_query {
	struct tcp_query	*tq_next;	/* free list */
	struct tcp_client	*tq_client;	/* NULL: gone, or UDP */
	uint8_t			*tq_buf;	/* length-prefixed query */
	size_t			 tq_room;
	size_t			 tq_len;
	struct dnsquestion	 tq_q;
	uint16_t		 tq_origid;	/* the client's ID */
	uint16_t		 tq_bid;	/* ours on the backend connection */
	const char		*tq_pool;	/* for a retry: a pool's pl_name */
	struct pcache		*tq_cache;	/* where the answer goes */
	uint64_t		 tq_ckey;
	struct dq_tagset	*tq_tags;	/* for the response rules */
	bool			 tq_ecsadded;	/* take ECS out of the answer */
	bool			 tq_ecshadopt;
	uint64_t		 tq_sent;
	int			 tq_tries;
	/* a zone transfer: how far its answer has come */
	bool			 tq_xfr;
	uint32_t		 tq_xfrmsgs;	/* messages relayed */
	uint32_t		 tq_xfrrrs;	/* answer records seen */
	uint32_t		 tq_xfrserial;	/* of the first SOA */
	int			 tq_xfrsoas;	/* SOAs with that serial */
	int			 tq_xfrneed;	/* how many end the transfer */
	bool			 tq_xfrdone;
	/* a UDP query for a tcpOnly server */
	bool			 tq_udp;
	uint16_t		 tq_listener;
	uint16_t		 tq_udpmax;	/* the client's payload size */
	struct sockaddr_storage	 tq_from;
	socklen_t		 tq_fromlen;
	struct compat_dst	 tq_dst;
};

struct tcp_client {
	int			 tc_fd;
	struct tcp_worker	*tc_tw;
	struct sockaddr_storage	 tc_addr;
	struct listener		*tc_li;
	bool			 tc_percl;	/* counted for its address */
	uint8_t			*tc_rbuf;	/* bytes read, not yet queries */
	size_t			 tc_rlen;
	size_t			 tc_rcap;
	uint8_t			*tc_obuf;	/* answers being written */
	size_t			 tc_olen;
	size_t			 tc_ooff;
	size_t			 tc_ocap;
	int			 tc_inflight;
	int			 tc_nqueries;
	size_t			 tc_qheld;	/* by its queries in flight */
	uint64_t		 tc_start;
	uint64_t		 tc_deadline;	/* for reading a query */
	uint64_t		 tc_wdeadline;	/* for writing; 0: not started */
	bool			 tc_eof;
	bool			 tc_dead;
};

struct tcp_bconn {
	int			 bc_fd;
	bool			 bc_connecting;
	bool			 bc_dead;
	bool			 bc_xfr;	/* held by a zone transfer */
	struct server		*bc_ds;		/* holds a reference */
	struct tcp_query	**bc_slots;	/* by the low byte of the ID */
	uint16_t		*bc_free;	/* free slots, a stack */
	int			 bc_nfree;
	int			 bc_depth;
	int			 bc_npending;
	uint8_t			 bc_gen;	/* the high byte of the next ID */
	uint64_t		 bc_used;	/* queries sent over it */
	uint8_t			*bc_wbuf;	/* queries being written */
	size_t			 bc_wlen;
	size_t			 bc_woff;
	size_t			 bc_wcap;
	uint8_t			*bc_rbuf;	/* answers being read */
	size_t			 bc_rlen;
	size_t			 bc_rcap;
	uint64_t		 bc_deadline;	/* with queries pending */
};

enum th_kind { TH_CLIENT, TH_UDPQUERY };

struct tcp_handoff {
	int			 th_kind;
	int			 th_fd;
	uint16_t		 th_listener;
	struct sockaddr_storage	 th_addr;
	bool			 th_percl;	/* see conn_take() */
	struct tcp_query	*th_tq;
	struct server		*th_ds;		/* holds a reference */
};

struct tcp_worker {
	pthread_t		  tw_thread;
	int			  tw_pipe[2];
	struct tcp_client	**tw_clients;
	size_t			  tw_nclients;
	/* Published for showTCPStats() after each sweep. */
	_Atomic size_t		  tw_pubclients;
	_Atomic size_t		  tw_pubbconns;
	_Atomic uint64_t	  tw_accepted;
	_Atomic size_t		  tw_pubheld;
	struct tcp_bconn	**tw_bconns;
	size_t			  tw_nbconns;
	struct tcp_query	 *tw_freeq;
	size_t			  tw_nfreeq;
	size_t			  tw_held;	/* buffers and queries, bytes */
	size_t			  tw_share;	/* of setMaxTCPQueuedBytes */
	uint64_t		  tw_rnd;
	uint64_t		  tw_now;
};

static struct tcp_worker	*workers;
static size_t			 nworkers;
static size_t			 next_worker;
static _Atomic size_t		 next_udp_worker;
static atomic_bool		 tcp_quit;	/* set by the main thread */

static bool	tcp_forward(struct tcp_worker *, struct tcp_query *,
		    struct server *);

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
	int	cmax = settings.st_maxtcpconnperclient;

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

/* A client connection counted by conn_take() is gone. */
static void
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

static int
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
		if (!frontend_acl_allows((struct sockaddr *)&th.th_addr)) {
			stats_inc(STAT_ACL_DROPS);
			close(fd);
			continue;
		}
		if (set_nonblock(fd) == -1 ||
		    !conn_take(li, &th.th_addr, &th.th_percl)) {
			close(fd);
			continue;
		}
		th.th_kind = TH_CLIENT;
		th.th_fd = fd;
		th.th_listener = (uint16_t)(li - listeners);
		if (write(workers[next_worker].tw_pipe[1], &th, sizeof(th)) !=
		    sizeof(th)) {
			stats_inc(STAT_TCP_LISTEN_OVERFLOWS);
			conn_give(li, &th.th_addr, th.th_percl);
			close(fd);
		}
		next_worker = (next_worker + 1) % nworkers;
	}
}

static void *
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
static size_t
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
static bool
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

static void
buf_free(uint8_t **buf, size_t *cap, size_t *held)
{
	if (held != NULL)
		*held -= *cap;
	free(*buf);
	*buf = NULL;
	*cap = 0;
}

#define QUERY_SIZE(tq)	(sizeof(*(tq)) + (tq)->tq_room)

/* A query buffer with room for room bytes: from the free list if it fits. */
static struct tcp_query *
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
static void
query_free(struct tcp_worker *tw, struct tcp_query *tq)
{
	if (tq == NULL)
		return;
	dnsq_tags_free(tq->tq_tags);
	tq->tq_tags = NULL;
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

/* What a client connection holds: its answers and queries in flight. */
static size_t
client_held(const struct tcp_client *tc)
{
	return tc->tc_ocap + tc->tc_qheld;
}

/* The client's answers are written or dropped: their buffer goes. */
static void
client_outfree(struct tcp_client *tc)
{
	buf_free(&tc->tc_obuf, &tc->tc_ocap, &tc->tc_tw->tw_held);
	tc->tc_olen = tc->tc_ooff = 0;
}

/*
 * Room for more bytes of answers for tc, or it is closed (false): past
 * TCP_CONNMAX for tc, or past the thread's share of setMaxTCPQueuedBytes
 * for the connection that would hold most, until there is room.
 */
static bool
client_room(struct tcp_client *tc, size_t more)
{
	struct tcp_worker	*tw = tc->tc_tw;
	struct tcp_client	*big, *c;
	struct linger		 reset = { 1, 0 };
	size_t			 i;

	while (client_held(tc) + more > TCP_CONNMAX ||
	    tw->tw_held + more > tw->tw_share) {
		big = tc;
		for (i = 0; client_held(tc) + more <= TCP_CONNMAX &&
		    i < tw->tw_nclients; i++) {
			c = tw->tw_clients[i];
			if (!c->tc_dead && client_held(c) > client_held(big) +
			    (big == tc ? more : 0))
				big = c;
		}
		log_debug("tcp: closing a client holding %zu bytes",
		    client_held(big));
		stats_inc(STAT_TCP_RESPONSE_QUEUE_FULL);
		/* Reset: what the kernel holds for it goes at once too. */
		setsockopt(big->tc_fd, SOL_SOCKET, SO_LINGER, &reset,
		    sizeof(reset));
		big->tc_dead = true;
		client_outfree(big);
		if (big == tc)
			return false;
	}
	return true;
}

/* Queue a message for the client; written at the end of the round. */
static void
client_queue(struct tcp_client *tc, const uint8_t *pkt, size_t len)
{
	size_t	cap = tc->tc_ocap, need;

	if (tc->tc_dead)
		return;
	if (tc->tc_ooff > 0 && tc->tc_ooff == tc->tc_olen)
		tc->tc_ooff = tc->tc_olen = 0;
	need = buf_size(cap, tc->tc_olen + len + 2);
	if (need > cap && !client_room(tc, need - cap))
		return;
	if (!buf_reserve(&tc->tc_obuf, &tc->tc_ocap, tc->tc_olen + len + 2,
	    &tc->tc_tw->tw_held)) {
		tc->tc_dead = true;
		return;
	}
	atomic_fetch_add_explicit(&tc->tc_li->li_tcpresponses, 1,
	    memory_order_relaxed);
	if (tc->tc_olen == tc->tc_ooff)
		tc->tc_wdeadline = 0;	/* starts at the first write */
	tc->tc_obuf[tc->tc_olen] = (uint8_t)(len >> 8);
	tc->tc_obuf[tc->tc_olen + 1] = (uint8_t)len;
	memcpy(tc->tc_obuf + tc->tc_olen + 2, pkt, len);
	tc->tc_olen += len + 2;
}

static bool
client_writing(const struct tcp_client *tc)
{
	return tc->tc_olen > tc->tc_ooff;
}

/* More queries are read only while little is held (TCP_OUTMAX). */
static bool
client_reading(const struct tcp_client *tc)
{
	return !tc->tc_eof && !tc->tc_dead &&
	    tc->tc_inflight < TCP_MAXINFLIGHT && client_held(tc) < TCP_OUTMAX &&
	    tc->tc_tw->tw_held < tc->tc_tw->tw_share;
}

/* Send an answer to a UDP client of a tcpOnly server. */
static void
udp_answer(struct tcp_query *tq, uint8_t *pkt, size_t len)
{
	struct listener		*li = &listeners[tq->tq_listener];
	struct dnsquestion	 q;
	struct msghdr		 m;
	struct iovec		 iov;
	uint8_t			 cbuf[COMPAT_CMSG_SPACE];

	/* Too big for the client: the question alone, truncated. */
	if (len > tq->tq_udpmax && dnspacket_question(pkt, len, &q) == 0)
		len = dnspacket_truncate(pkt, len, &q, rule_add_edns);
	memset(&m, 0, sizeof(m));
	iov.iov_base = pkt;
	iov.iov_len = len;
	m.msg_name = &tq->tq_from;
	m.msg_namelen = tq->tq_fromlen;
	m.msg_iov = &iov;
	m.msg_iovlen = 1;
	if (li->li_wildcard)
		compat_pktinfo_set(&m, cbuf, &tq->tq_dst);
	if (sendmsg(li->li_udpfd, &m, 0) == -1)
		log_debug("udp_answer: %s", strerror(errno));
	atomic_fetch_add_explicit(&li->li_workerresponses, 1,
	    memory_order_relaxed);
}

/* Hand an answer (or a self-made one) to whoever asked. */
static void
query_reply(struct tcp_query *tq, uint8_t *pkt, size_t len)
{
	if (tq->tq_udp)
		udp_answer(tq, pkt, len);
	else if (tq->tq_client != NULL)
		client_queue(tq->tq_client, pkt, len);
}

/* The query is finished with: the client may send another. */
static void
query_done(struct tcp_worker *tw, struct tcp_query *tq)
{
	if (tq->tq_client != NULL) {
		tq->tq_client->tc_inflight--;
		tq->tq_client->tc_qheld -= QUERY_SIZE(tq);
	}
	query_free(tw, tq);
}

/* No answer will come: SERVFAIL rather than leave the client waiting. */
static void
query_servfail(struct tcp_worker *tw, struct tcp_query *tq)
{
	uint8_t	*pkt = tq->tq_buf + 2;
	size_t	 len;

	if (tq->tq_xfr && tq->tq_xfrmsgs > 0) {
		/* Half a transfer cannot be ended cleanly: hang up. */
		if (tq->tq_client != NULL)
			tq->tq_client->tc_dead = true;
		query_done(tw, tq);
		return;
	}
	dnspacket_set_id(pkt, tq->tq_origid);
	len = dnspacket_make_response(pkt, &tq->tq_q, DNS_RCODE_SERVFAIL,
	    true);
	query_reply(tq, pkt, len);
	stats_inc(STAT_RESPONSES);
	stats_inc(STAT_SERVFAIL_RESPONSES);
	stats_rcode(DNS_RCODE_SERVFAIL);
	query_done(tw, tq);
}

static struct tcp_bconn *
bconn_open(struct tcp_worker *tw, struct server *ds)
{
	struct tcp_bconn	*bc;
	int			 fd, on = 1, depth, i;

	if ((fd = socket(ds->ds_addr.ss_family, SOCK_STREAM, 0)) == -1)
		return NULL;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
	if (set_nonblock(fd) == -1 ||
	    (connect(fd, (struct sockaddr *)&ds->ds_addr, ds->ds_addrlen) == -1 &&
	    errno != EINPROGRESS) ||
	    (bc = calloc(1, sizeof(*bc))) == NULL) {
		close(fd);
		return NULL;
	}
	depth = ds->ds_maxinflight > 0 ? ds->ds_maxinflight : TCP_BC_DEPTH;
	if (depth > TCP_BC_MAXDEPTH)
		depth = TCP_BC_MAXDEPTH;
	bc->bc_slots = calloc((size_t)depth, sizeof(*bc->bc_slots));
	bc->bc_free = calloc((size_t)depth, sizeof(*bc->bc_free));
	if (bc->bc_slots == NULL || bc->bc_free == NULL ||
	    append_ptr(&tw->tw_bconns, &tw->tw_nbconns, bc) == NULL) {
		free(bc->bc_slots);
		free(bc->bc_free);
		free(bc);
		close(fd);
		return NULL;
	}
	bc->bc_depth = depth;
	for (i = 0; i < depth; i++)
		bc->bc_free[i] = (uint16_t)(depth - 1 - i);
	bc->bc_nfree = depth;
	randombytes_buf(&bc->bc_gen, sizeof(bc->bc_gen));
	bc->bc_fd = fd;
	bc->bc_connecting = true;
	bc->bc_ds = ds;
	server_ref(ds);
	return bc;
}

/*
 * A connection to ds with room for one more query: the busiest of those
 * that have room, so that queries share few connections and go out in
 * few writes; a zone transfer wants one to itself.
 */
static struct tcp_bconn *
bconn_get(struct tcp_worker *tw, struct server *ds, bool xfr)
{
	struct tcp_bconn	*bc, *best = NULL;
	size_t			 i;

	for (i = 0; i < tw->tw_nbconns; i++) {
		bc = tw->tw_bconns[i];
		if (bc->bc_dead || bc->bc_xfr || bc->bc_ds != ds ||
		    bc->bc_nfree == 0 || (xfr && bc->bc_npending > 0))
			continue;
		if (best == NULL || bc->bc_npending > best->bc_npending)
			best = bc;
	}
	if (best != NULL) {
		atomic_fetch_add_explicit(&ds->ds_tcpreused, 1,
		    memory_order_relaxed);
		return best;
	}
	return bconn_open(tw, ds);
}

/* Put the query on a connection to ds; false when none can be had. */
static bool
bconn_send(struct tcp_worker *tw, struct tcp_query *tq, struct server *ds)
{
	struct tcp_bconn	*bc;
	uint16_t		 slot;

	if ((bc = bconn_get(tw, ds, tq->tq_xfr)) == NULL ||
	    !buf_reserve(&bc->bc_wbuf, &bc->bc_wcap, bc->bc_wlen + tq->tq_len,
	    &tw->tw_held)) {
		atomic_fetch_add(&ds->ds_senderrors, 1);
		stats_inc(STAT_DOWNSTREAM_SEND_ERRORS);
		return false;
	}
	slot = bc->bc_free[--bc->bc_nfree];
	tq->tq_bid = (uint16_t)(bc->bc_gen++ << 8 | slot);
	bc->bc_slots[slot] = tq;
	if (bc->bc_npending++ == 0)
		bc->bc_deadline = tw->tw_now +
		    (uint64_t)ds->ds_tcprecvtimeout * 1000000000ULL;
	bc->bc_used++;
	if (tq->tq_xfr)
		bc->bc_xfr = true;
	dnspacket_set_id(tq->tq_buf + 2, tq->tq_bid);
	memcpy(bc->bc_wbuf + bc->bc_wlen, tq->tq_buf, tq->tq_len);
	bc->bc_wlen += tq->tq_len;
	tq->tq_sent = tw->tw_now;
	atomic_fetch_add(&ds->ds_outstanding, 1);
	atomic_fetch_add(&ds->ds_queries, 1);
	atomic_fetch_add(&ds->ds_tcpqueries, 1);
	return true;
}

/* Take the query out of its slot. */
static struct tcp_query *
bconn_take(struct tcp_bconn *bc, uint16_t slot)
{
	struct tcp_query	*tq = bc->bc_slots[slot];

	bc->bc_slots[slot] = NULL;
	bc->bc_free[bc->bc_nfree++] = slot;
	bc->bc_npending--;
	atomic_fetch_sub(&bc->bc_ds->ds_outstanding, 1);
	return tq;
}

/*
 * The connection failed: every query on it gets one more try over a fresh
 * connection (a server may close a connection it kept open, or die
 * mid-answer), else SERVFAIL.  After a timeout, SERVFAIL at once.
 */
static void
bconn_fail(struct tcp_worker *tw, struct tcp_bconn *bc, bool timeout)
{
	struct tcp_query	*tq;
	int			 s;

	if (bc->bc_dead)
		return;
	bc->bc_dead = true;
	if (bc->bc_npending > 0) {
		if (timeout) {
			atomic_fetch_add(&bc->bc_ds->ds_drops,
			    (uint64_t)bc->bc_npending);
			stats_add(STAT_DOWNSTREAM_TIMEOUTS,
			    (uint64_t)bc->bc_npending);
		} else
			atomic_fetch_add(&bc->bc_ds->ds_tcpdied, 1);
	}
	for (s = 0; s < bc->bc_depth && bc->bc_npending > 0; s++) {
		if (bc->bc_slots[s] == NULL)
			continue;
		tq = bconn_take(bc, (uint16_t)s);
		if (tq->tq_client == NULL && !tq->tq_udp) {
			query_free(tw, tq);
			continue;
		}
		if (!timeout && tq->tq_tries < 1 &&
		    !(tq->tq_xfr && tq->tq_xfrmsgs > 0)) {
			tq->tq_tries++;
			if (tcp_forward(tw, tq, NULL))
				continue;
		}
		query_servfail(tw, tq);
	}
}

/* The serial of the SOA record rr, or false when it has none. */
static bool
soa_serial(const uint8_t *pkt, size_t len, const struct dnsrr *rr,
    uint32_t *serial)
{
	size_t	off = rr->rr_rdoff, end = rr->rr_rdoff + rr->rr_rdlen;

	if (end > len || dnsname_skip(pkt, end, &off) == -1 ||
	    dnsname_skip(pkt, end, &off) == -1 || off + 4 > end)
		return false;
	*serial = dnspacket_get32(pkt + off);
	return true;
}

struct xfr_walk {
	struct tcp_query	*xw_tq;
	const uint8_t		*xw_pkt;
	size_t			 xw_len;
};

/*
 * Follow the answer records of a transfer (RFC 5936, RFC 1995): it ends
 * with the second SOA of the zone's serial, or the third when an IXFR
 * answer is incremental (its second record is an older SOA).
 */
static void
xfr_record(void *arg, const struct dnsrr *rr)
{
	struct xfr_walk		*xw = arg;
	struct tcp_query	*tq = xw->xw_tq;
	uint32_t		 serial;
	bool			 soa;

	if (rr->rr_section != 1 || tq->tq_xfrdone)
		return;
	soa = rr->rr_type == DNS_TYPE_SOA &&
	    soa_serial(xw->xw_pkt, xw->xw_len, rr, &serial);
	if (tq->tq_xfrrrs++ == 0) {
		if (!soa) {
			tq->tq_xfrdone = true;	/* not a transfer: as it is */
			return;
		}
		tq->tq_xfrserial = serial;
		tq->tq_xfrsoas = 1;
		tq->tq_xfrneed = 2;
		return;
	}
	if (tq->tq_xfrrrs == 2 && tq->tq_q.q_type == DNS_TYPE_IXFR && soa &&
	    serial != tq->tq_xfrserial)
		tq->tq_xfrneed = 3;
	if (soa && serial == tq->tq_xfrserial &&
	    ++tq->tq_xfrsoas >= tq->tq_xfrneed)
		tq->tq_xfrdone = true;
}

/* One message of a transfer: relay it; true once the transfer is over. */
static bool
xfr_message(struct tcp_query *tq, uint8_t *pkt, size_t len)
{
	struct xfr_walk		xw;
	struct dnsquestion	q;
	size_t			off = DNS_HDRLEN;

	if (dnspacket_qdcount(pkt) > 0) {
		if (dnspacket_question(pkt, len, &q) == -1)
			return true;
		off = q.q_end;
	}
	if (tq->tq_xfrmsgs == 0 && (dnspacket_rcode(pkt) != DNS_RCODE_NOERROR ||
	    dnspacket_ancount(pkt) == 0))
		tq->tq_xfrdone = true;
	xw.xw_tq = tq;
	xw.xw_pkt = pkt;
	xw.xw_len = len;
	if (dnspacket_walk(pkt, len, off, xfr_record, &xw) == -1)
		tq->tq_xfrdone = true;
	/* "Up to date": an IXFR answer of the current SOA alone. */
	if (tq->tq_xfrmsgs == 0 && tq->tq_q.q_type == DNS_TYPE_IXFR &&
	    tq->tq_xfrrrs == 1)
		tq->tq_xfrdone = true;
	tq->tq_xfrmsgs++;
	dnspacket_set_id(pkt, tq->tq_origid);
	query_reply(tq, pkt, len);
	return tq->tq_xfrdone;
}

/* A message from the server: which query it answers, then pass it on. */
static void
bconn_answer(struct tcp_worker *tw, struct tcp_bconn *bc, uint8_t *pkt,
    size_t len)
{
	struct tcp_query	*tq;
	struct tcp_client	*tc;
	struct dnsquestion	 q;
	struct dnsq		 dq;
	struct timespec		 now;
	uint16_t		 slot;
	uint64_t		 usec;
	bool			 keep = true;

	slot = len >= DNS_HDRLEN ? dnspacket_id(pkt) & 0xff : 0;
	if (len < DNS_HDRLEN || !dnspacket_qr(pkt) || slot >= bc->bc_depth ||
	    (tq = bc->bc_slots[slot]) == NULL ||
	    dnspacket_id(pkt) != tq->tq_bid)
		goto bad;
	bc->bc_deadline = tw->tw_now +
	    (uint64_t)bc->bc_ds->ds_tcprecvtimeout * 1000000000ULL;
	if (tq->tq_xfr && tq->tq_xfrmsgs > 0 && dnspacket_qdcount(pkt) == 0) {
		/* Later messages of a transfer may leave the question out. */
		if (xfr_message(tq, pkt, len))
			goto xfrend;
		return;
	}
	if (inflight_bare(pkt, len)) {
		/* An error without the question: the query's stands in. */
		q = tq->tq_q;
		q.q_end = DNS_HDRLEN;
	} else if (dnspacket_qdcount(pkt) == 0)
		goto empty;
	else if (dnspacket_question(pkt, len, &q) == -1 ||
	    q.q_type != tq->tq_q.q_type || q.q_class != tq->tq_q.q_class ||
	    !dnsname_equal(q.q_name, q.q_namelen, tq->tq_q.q_name,
	    tq->tq_q.q_namelen))
		goto bad;
	usec = (tw->tw_now - tq->tq_sent) / 1000;
	tc = tq->tq_client;
	if (tq->tq_xfr) {
		if (tq->tq_xfrmsgs == 0) {
			clock_gettime(CLOCK_REALTIME, &now);
			pipeline_ring_response(tc != NULL ?
			    (struct sockaddr *)&tc->tc_addr :
			    (struct sockaddr *)&tq->tq_from, &q, pkt, len, usec,
			    bc->bc_ds, &now);
			record_response(bc->bc_ds, pkt, len, usec);
		}
		if (xfr_message(tq, pkt, len))
			goto xfrend;
		return;
	}
	tq = bconn_take(bc, slot);
	dnspacket_set_id(pkt, tq->tq_origid);
	/* The client gets no ECS it did not send, nor an OPT record. */
	if (tq->tq_ecsadded)
		edns_strip_ecs(pkt, &len, &q, !tq->tq_ecshadopt);
	if ((tc != NULL || tq->tq_udp) &&
	    config_now()->cf_response.rc_count > 0) {
		dnsq_init(&dq, pkt, len, len, &q, tc != NULL ?
		    (struct sockaddr *)&tc->tc_addr :
		    (struct sockaddr *)&tq->tq_from, tw->tw_now, &tw->tw_rnd);
		dq.dq_tcp = !tq->tq_udp;
		dnsq_tags_load(&dq, tq->tq_tags);
		keep = pipeline_response(&dq);
		len = dq.dq_len;
		if (dq.dq_skipcache)
			tq->tq_cache = NULL;
	}
	if (keep && tq->tq_cache != NULL)
		pcache_put(tq->tq_cache, tq->tq_ckey, &q, !tq->tq_udp, pkt, len,
		    (time_t)(tw->tw_now / 1000000000ULL));
	record_response(bc->bc_ds, pkt, len, usec);
	if (keep && (tc != NULL || tq->tq_udp)) {
		clock_gettime(CLOCK_REALTIME, &now);
		pipeline_ring_response(tc != NULL ?
		    (struct sockaddr *)&tc->tc_addr :
		    (struct sockaddr *)&tq->tq_from, &q, pkt, len, usec,
		    bc->bc_ds, &now);
		query_reply(tq, pkt, len);
	}
	query_done(tw, tq);
	return;
empty:
	/*
	 * NOERROR or NXDOMAIN without a question answers nothing: as
	 * dnsdist does, the query ends there and its client is let go.
	 */
	stats_inc(STAT_NONCOMPLIANT_RESPONSES);
	if (tq->tq_client != NULL)
		tq->tq_client->tc_dead = true;
xfrend:
	tq = bconn_take(bc, slot);
	bc->bc_xfr = false;		/* usable again */
	query_done(tw, tq);
	return;
bad:
	/* Not an answer to anything asked here: trust nothing more on it. */
	stats_inc(STAT_NONCOMPLIANT_RESPONSES);
	bconn_fail(tw, bc, false);
}

/* Write the queries queued on bc, all at once. */
static void
bconn_write(struct tcp_worker *tw, struct tcp_bconn *bc)
{
	ssize_t	n;

	while (bc->bc_woff < bc->bc_wlen) {
		n = write(bc->bc_fd, bc->bc_wbuf + bc->bc_woff,
		    bc->bc_wlen - bc->bc_woff);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				bconn_fail(tw, bc, false);
			return;
		}
		bc->bc_woff += (size_t)n;
	}
	bc->bc_woff = bc->bc_wlen = 0;
}

/* Read what the server sent and pass on every whole message. */
static void
bconn_read(struct tcp_worker *tw, struct tcp_bconn *bc)
{
	struct tcp_query	*tq;
	struct tcp_client	*tc;
	size_t			 off, mlen;
	ssize_t			 n;
	int			 s;

	if (!buf_reserve(&bc->bc_rbuf, &bc->bc_rcap, bc->bc_rlen + 512 >
	    TCP_RBUF ? bc->bc_rlen + 512 : TCP_RBUF, &tw->tw_held)) {
		bconn_fail(tw, bc, false);
		return;
	}
	n = read(bc->bc_fd, bc->bc_rbuf + bc->bc_rlen, bc->bc_rcap - bc->bc_rlen);
	if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK ||
	    errno == EINTR))
		return;
	if (n <= 0) {
		/* Closed (or junk) while idle is no failure of a query. */
		bconn_fail(tw, bc, false);
		return;
	}
	bc->bc_rlen += (size_t)n;
	off = 0;
	while (!bc->bc_dead && bc->bc_rlen - off >= 2) {
		mlen = (size_t)bc->bc_rbuf[off] << 8 | bc->bc_rbuf[off + 1];
		if (bc->bc_rlen - off < 2 + mlen)
			break;
		bconn_answer(tw, bc, bc->bc_rbuf + off + 2, mlen);
		off += 2 + mlen;
	}
	if (bc->bc_dead)
		return;
	if (off > 0) {
		memmove(bc->bc_rbuf, bc->bc_rbuf + off, bc->bc_rlen - off);
		bc->bc_rlen -= off;
	}
	if (bc->bc_rlen >= 2 && !buf_reserve(&bc->bc_rbuf, &bc->bc_rcap,
	    2 + ((size_t)bc->bc_rbuf[0] << 8 | bc->bc_rbuf[1]), &tw->tw_held))
		bconn_fail(tw, bc, false);
	/* A transfer whose client left: the rest of it has nowhere to go. */
	if (bc->bc_xfr)
		for (s = 0; s < bc->bc_depth; s++)
			if ((tq = bc->bc_slots[s]) != NULL && !tq->tq_udp &&
			    ((tc = tq->tq_client) == NULL || tc->tc_dead))
				bconn_fail(tw, bc, false);
}

static void
bconn_io(struct tcp_worker *tw, struct tcp_bconn *bc, short revents)
{
	int		err = 0;
	socklen_t	errlen = sizeof(err);

	if (bc->bc_connecting) {
		if (getsockopt(bc->bc_fd, SOL_SOCKET, SO_ERROR, &err,
		    &errlen) == -1 || err != 0) {
			bconn_fail(tw, bc, false);
			return;
		}
		if (!(revents & (POLLOUT | POLLERR | POLLHUP)))
			return;
		bc->bc_connecting = false;
	}
	if (revents & (POLLOUT | POLLERR | POLLHUP))
		bconn_write(tw, bc);
	if (!bc->bc_dead && (revents & (POLLIN | POLLERR | POLLHUP)))
		bconn_read(tw, bc);
}

/*
 * Send a query to a server of its pool (ds NULL) or to ds; false when no
 * server is up or none can be reached.
 */
static bool
tcp_forward(struct tcp_worker *tw, struct tcp_query *tq, struct server *ds)
{
	struct pool	*pl;
	bool		 ok;

	if (ds == NULL) {
		if ((pl = config_pool(config_now(), tq->tq_pool)) != NULL)
			ds = pool_select(pl, &tq->tq_q, tw->tw_now,
			    &tw->tw_rnd);
		if (ds != NULL)
			server_ref(ds);
		if (ds == NULL) {
			stats_inc(STAT_NO_POLICY);
			return false;
		}
	} else
		server_ref(ds);
	ok = bconn_send(tw, tq, ds);
	server_unref(ds);
	return ok;
}

/* The query just read from the client: check it and send it on. */
static void
client_query(struct tcp_worker *tw, struct tcp_client *tc, const uint8_t *msg,
    size_t len)
{
	struct tcp_query	*tq;
	struct dnsquestion	*q;
	struct dnsq		 dq;
	struct server		*ds;
	uint8_t			*pkt;
	struct timespec		 now;
	int			 verdict;

	stats_inc(STAT_QUERIES);
	atomic_fetch_add(&tc->tc_li->li_tcpqueries, 1);
	tc->tc_nqueries++;
	/* Room for an answer built in place by the rules. */
	if ((tq = query_new(tw, 2 + (len < UDP_QUERYMAX ? UDP_QUERYMAX :
	    len))) == NULL) {
		tc->tc_dead = true;
		return;
	}
	pkt = tq->tq_buf + 2;
	memcpy(pkt, msg, len);
	q = &tq->tq_q;
	if (len < DNS_HDRLEN || dnspacket_qr(pkt) ||
	    dnspacket_qdcount(pkt) == 0 ||
	    dnspacket_question(pkt, len, q) == -1) {
		stats_inc(len >= DNS_HDRLEN && !dnspacket_qr(pkt) &&
		    dnspacket_qdcount(pkt) == 0 ? STAT_EMPTY_QUERIES :
		    STAT_NONCOMPLIANT_QUERIES);
		query_free(tw, tq);
		tc->tc_dead = true;	/* dnsdist closes such connections */
		return;
	}
	if (dnspacket_rd(pkt))
		stats_inc(STAT_RDQUERIES);
	clock_gettime(CLOCK_REALTIME, &now);
	pipeline_ring_query((struct sockaddr *)&tc->tc_addr, q, len, &now);
	dnsq_init(&dq, pkt, len, tq->tq_room - 2, q,
	    (struct sockaddr *)&tc->tc_addr, tw->tw_now, &tw->tw_rnd);
	dq.dq_local = (struct sockaddr *)&tc->tc_li->li_local->lc_addr;
	dq.dq_tcp = true;
	/* The snapshot in dq holds rules, pools and servers till the poll. */
	ds = pipeline_query(&dq, &verdict);
	if (ds != NULL)
		server_ref(ds);
	if (ds == NULL && !pipeline_answer_ok(&dq, verdict))
		verdict = VERDICT_DROP;
	if (ds == NULL) {
		if (verdict == VERDICT_ANSWER || verdict == VERDICT_CACHED) {
			pipeline_ring_response((struct sockaddr *)&tc->tc_addr,
			    q, pkt, dq.dq_len, 0, NULL, &now);
			client_queue(tc, pkt, dq.dq_len);
		}
		query_free(tw, tq);
		return;
	}
	/* The rules may have rewritten the query (RD, CD). */
	tq->tq_buf[0] = (uint8_t)(dq.dq_len >> 8);
	tq->tq_buf[1] = (uint8_t)dq.dq_len;
	tq->tq_len = dq.dq_len + 2;
	tq->tq_client = tc;
	tq->tq_origid = dnspacket_id(pkt);
	tq->tq_xfr = q->q_type == DNS_TYPE_AXFR || q->q_type == DNS_TYPE_IXFR;
	tq->tq_cache = tq->tq_xfr ? NULL : dq.dq_cache;
	tq->tq_ckey = dq.dq_ckey;
	tq->tq_ecsadded = dq.dq_ecsadded;
	tq->tq_ecshadopt = dq.dq_ecshadopt;
	tq->tq_tags = dnsq_tags_save(&dq);
	tq->tq_pool = dq.dq_poolp->pl_name;
	tc->tc_inflight++;
	tc->tc_qheld += QUERY_SIZE(tq);
	if (!bconn_send(tw, tq, ds))
		query_servfail(tw, tq);
	server_unref(ds);
}

/* Handle the whole queries in the read buffer, as many as may be. */
static void
client_parse(struct tcp_worker *tw, struct tcp_client *tc)
{
	size_t	off = 0, mlen;

	while (tc->tc_rlen - off >= 2 && client_reading(tc)) {
		mlen = (size_t)tc->tc_rbuf[off] << 8 | tc->tc_rbuf[off + 1];
		if (tc->tc_rlen - off < 2 + mlen)
			break;
		client_query(tw, tc, tc->tc_rbuf + off + 2, mlen);
		off += 2 + mlen;
		if (settings.st_maxtcpqueriesperconn > 0 &&
		    tc->tc_nqueries >= settings.st_maxtcpqueriesperconn) {
			tc->tc_eof = true;	/* read no more */
			off = tc->tc_rlen;
		}
	}
	if (off > 0) {
		memmove(tc->tc_rbuf, tc->tc_rbuf + off, tc->tc_rlen - off);
		tc->tc_rlen -= off;
	}
}

static void
client_read(struct tcp_worker *tw, struct tcp_client *tc)
{
	ssize_t	n;
	size_t	need;

	/*
	 * Whole queries left from before go first; then the buffer needs
	 * room for the rest of the one begun, and more (a read of 0 bytes
	 * would look like the end of the connection).
	 */
	client_parse(tw, tc);
	if (!client_reading(tc))
		return;
	need = TCP_RBUF;
	if (tc->tc_rlen >= 2)
		need = 2 + ((size_t)tc->tc_rbuf[0] << 8 | tc->tc_rbuf[1]);
	if (need < tc->tc_rlen + 512)
		need = tc->tc_rlen + 512;
	if (!buf_reserve(&tc->tc_rbuf, &tc->tc_rcap, need, NULL)) {
		tc->tc_dead = true;
		return;
	}
	n = read(tc->tc_fd, tc->tc_rbuf + tc->tc_rlen, tc->tc_rcap - tc->tc_rlen);
	if (n == -1) {
		if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
			tc->tc_dead = true;
		return;
	}
	if (n == 0) {
		tc->tc_eof = true;
		return;
	}
	tc->tc_rlen += (size_t)n;
	tc->tc_deadline = tw->tw_now +
	    (uint64_t)settings.st_tcprecvtimeout * 1000000000ULL;
	client_parse(tw, tc);
}

/*
 * A client that takes no answer for setTCPSendTimeout is dropped; one that
 * reads its answers has setTCPRecvTimeout again to send the next query.
 */
static void
client_write(struct tcp_worker *tw, struct tcp_client *tc)
{
	ssize_t	n;

	if (tc->tc_wdeadline == 0)
		tc->tc_wdeadline = tw->tw_now +
		    (uint64_t)settings.st_tcpsendtimeout * 1000000000ULL;
	while (client_writing(tc)) {
		n = write(tc->tc_fd, tc->tc_obuf + tc->tc_ooff,
		    tc->tc_olen - tc->tc_ooff);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				tc->tc_dead = true;
			break;
		}
		tc->tc_wdeadline = tw->tw_now +
		    (uint64_t)settings.st_tcpsendtimeout * 1000000000ULL;
		tc->tc_deadline = tw->tw_now +
		    (uint64_t)settings.st_tcprecvtimeout * 1000000000ULL;
		tc->tc_ooff += (size_t)n;
	}
	if (tc->tc_ooff == tc->tc_olen) {
		tc->tc_ooff = tc->tc_olen = 0;
		if (tc->tc_ocap > TCP_RBUF)	/* a big answer went */
			client_outfree(tc);
	} else if (tc->tc_ooff > tc->tc_ocap / 2) {
		memmove(tc->tc_obuf, tc->tc_obuf + tc->tc_ooff,
		    tc->tc_olen - tc->tc_ooff);
		tc->tc_olen -= tc->tc_ooff;
		tc->tc_ooff = 0;
	}
}

static void
client_free(struct tcp_worker *tw, struct tcp_client *tc)
{
	struct tcp_bconn	*bc;
	struct tcp_query	*tq;
	size_t			 i;
	int			 s;

	/* Its queries' answers, when they come, go nowhere. */
	for (i = 0; i < tw->tw_nbconns; i++) {
		bc = tw->tw_bconns[i];
		for (s = 0; s < bc->bc_depth; s++)
			if ((tq = bc->bc_slots[s]) != NULL &&
			    tq->tq_client == tc) {
				tq->tq_client = NULL;
				if (tq->tq_xfr)
					bconn_fail(tw, bc, false);
			}
	}
	conn_give(tc->tc_li, &tc->tc_addr, tc->tc_percl);
	close(tc->tc_fd);
	free(tc->tc_rbuf);
	client_outfree(tc);
	free(tc);
}

static void
bconn_free(struct tcp_worker *tw, struct tcp_bconn *bc)
{
	close(bc->bc_fd);
	free(bc->bc_slots);
	free(bc->bc_free);
	buf_free(&bc->bc_wbuf, &bc->bc_wcap, &tw->tw_held);
	buf_free(&bc->bc_rbuf, &bc->bc_rcap, &tw->tw_held);
	server_unref(bc->bc_ds);
	free(bc);
}

static void
worker_handoff(struct tcp_worker *tw)
{
	struct tcp_handoff	 th;
	struct tcp_client	*tc;

	while (read(tw->tw_pipe[0], &th, sizeof(th)) == sizeof(th)) {
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
		tc->tc_tw = tw;
		tc->tc_addr = th.th_addr;
		tc->tc_percl = th.th_percl;
		tc->tc_li = &listeners[th.th_listener];
		tc->tc_start = tw->tw_now;
		tc->tc_deadline = tw->tw_now +
		    (uint64_t)settings.st_tcprecvtimeout * 1000000000ULL;
	}
}

/* Is bc one too many idle connections to its server? */
static bool
bconn_spare(struct tcp_worker *tw, const struct tcp_bconn *bc)
{
	size_t	i, nidle = 0;

	if (bc->bc_ds->ds_removed)
		return true;
	for (i = 0; i < tw->tw_nbconns && tw->tw_bconns[i] != bc; i++)
		if (tw->tw_bconns[i]->bc_ds == bc->bc_ds &&
		    !tw->tw_bconns[i]->bc_dead &&
		    tw->tw_bconns[i]->bc_npending == 0)
			nidle++;
	return nidle >= TCP_IDLE_PER_SERVER;
}

/* Close what is finished or late; compact the arrays. */
static void
worker_sweep(struct tcp_worker *tw)
{
	struct tcp_client	*tc;
	struct tcp_bconn	*bc;
	uint64_t		 maxdur;
	size_t			 i, j;

	maxdur = (uint64_t)settings.st_maxtcpconnduration * 1000000000ULL;
	for (i = 0; i < tw->tw_nbconns; i++) {
		bc = tw->tw_bconns[i];
		if (bc->bc_dead)
			continue;
		if (bc->bc_npending > 0 && tw->tw_now >= bc->bc_deadline)
			bconn_fail(tw, bc, true);
		else if (bc->bc_npending == 0 && bconn_spare(tw, bc))
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

/* Should bc be read?  Not while its transfer's client is behind. */
static bool
bconn_reading(const struct tcp_bconn *bc)
{
	struct tcp_query	*tq;
	int			 s;

	if (bc->bc_connecting)
		return false;
	if (!bc->bc_xfr)
		return true;
	for (s = 0; s < bc->bc_depth; s++)
		if ((tq = bc->bc_slots[s]) != NULL && tq->tq_client != NULL &&
		    tq->tq_client->tc_olen - tq->tq_client->tc_ooff >=
		    TCP_OUTMAX)
			return false;
	return true;
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
	int			  timeout;

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
			pfd[1 + i].events = (client_reading(tc) ? POLLIN : 0) |
			    (client_writing(tc) ? POLLOUT : 0);
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
		}
		nb = tw->tw_nbconns;
		for (i = 0; i < nb; i++) {
			bc = tw->tw_bconns[i];
			pfd[1 + nc + i].events =
			    (bc->bc_connecting || bc->bc_wlen > bc->bc_woff ?
			    POLLOUT : 0) | (bconn_reading(bc) ? POLLIN : 0);
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
			if ((pfd[1 + i].revents & (POLLIN | POLLHUP | POLLERR)) &&
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
	tq->tq_cache = dq->dq_cache;
	tq->tq_ckey = dq->dq_ckey;
	tq->tq_ecsadded = dq->dq_ecsadded;
	tq->tq_ecshadopt = dq->dq_ecshadopt;
	tq->tq_tags = dnsq_tags_save(dq);
	tq->tq_pool = dq->dq_poolp->pl_name;
	tq->tq_udp = true;
	tq->tq_listener = listener;
	memcpy(&tq->tq_from, from, fromlen);
	tq->tq_fromlen = fromlen;
	tq->tq_dst = *dst;
	tq->tq_udpmax = frontend_udp_limit(dq);
	memset(&th, 0, sizeof(th));
	th.th_kind = TH_UDPQUERY;
	th.th_tq = tq;
	th.th_ds = ds;
	server_ref(ds);
	tw = &workers[atomic_fetch_add(&next_udp_worker, 1) % nworkers];
	if (write(tw->tw_pipe[1], &th, sizeof(th)) != sizeof(th)) {
		server_unref(ds);
		dnsq_tags_free(tq->tq_tags);
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
