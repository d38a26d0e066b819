/*
 * TCP: the main thread accepts and hands each connection to one of a pool
 * of worker threads.  A worker runs its own poll loop over its client
 * connections and the backend connections their queries use: queries are
 * read as they come (several per connection, pipelined), each goes to a
 * backend over its own connection (kept for reuse afterwards), and answers
 * are written back as they arrive, in any order.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "addr.h"
#include "cache.h"
#include "dnsdist.h"
#include "rule.h"
#include "stats.h"

#define TCP_IDLE_PER_SERVER	8	/* idle backend connections kept */
/*
 * Queries of one client connection at the backends or answered and not yet
 * written, at once; the rest wait in the socket buffer.  Each query takes
 * a backend connection and each answer memory, so without a cap one
 * pipelining client would open as many connections as it sends queries,
 * and one that does not read would have its answers pile up.
 */
#define TCP_MAXINFLIGHT		16

struct tcp_out {
	struct tcp_out	*to_next;
	size_t		 to_len;
	size_t		 to_off;
	uint8_t		 to_buf[];
};

struct tcp_client {
	int			 tc_fd;
	struct sockaddr_storage	 tc_addr;
	struct listener		*tc_li;
	uint8_t			 tc_lenbuf[2];
	size_t			 tc_lenhave;
	uint8_t			*tc_qbuf;	/* the query being read */
	size_t			 tc_qlen;
	size_t			 tc_qhave;
	size_t			 tc_qroom;
	struct tcp_out		*tc_out;	/* answers being written */
	struct tcp_out		*tc_outtail;
	int			 tc_nout;	/* answers in tc_out */
	int			 tc_inflight;
	int			 tc_nqueries;
	uint64_t		 tc_start;
	uint64_t		 tc_deadline;	/* for reading a query */
	uint64_t		 tc_wdeadline;	/* for writing; 0: not started */
	bool			 tc_eof;
	bool			 tc_dead;
};

enum bc_state { BC_CONNECTING, BC_WRITING, BC_READING, BC_IDLE };

struct tcp_bconn {
	int			 bc_fd;
	enum bc_state		 bc_state;
	struct server		*bc_ds;		/* holds a reference */
	struct tcp_client	*bc_client;	/* NULL once the client left */
	uint8_t			*bc_qbuf;	/* length-prefixed query */
	size_t			 bc_qlen;
	size_t			 bc_qoff;
	uint8_t			 bc_lenbuf[2];
	size_t			 bc_lenhave;
	uint8_t			*bc_rbuf;
	size_t			 bc_rlen;
	size_t			 bc_rhave;
	struct dnsquestion	 bc_q;
	uint16_t		 bc_id;
	char			 bc_pool[64];	/* for a retry */
	struct pcache		*bc_cache;	/* where the answer goes */
	uint64_t		 bc_ckey;
	uint64_t		 bc_sent;
	uint64_t		 bc_deadline;
	bool			 bc_reused;
	int			 bc_tries;
	bool			 bc_dead;
};

struct tcp_handoff {
	int			 th_fd;
	uint16_t		 th_listener;
	struct sockaddr_storage	 th_addr;
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
	struct tcp_bconn	**tw_bconns;
	size_t			  tw_nbconns;
	uint64_t		  tw_rnd;
	uint64_t		  tw_now;
};

static struct tcp_worker	*workers;
static size_t			 nworkers;
static size_t			 next_worker;
static volatile sig_atomic_t	 tcp_quit;

/* Connections per client address, when a limit is set. */
static pthread_mutex_t		 percl_lock = PTHREAD_MUTEX_INITIALIZER;
static struct percl {
	struct sockaddr_storage	 pc_addr;
	int			 pc_count;
}				*percl;
static size_t			 npercl;

static bool
same_host(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
	if (a->ss_family != b->ss_family)
		return false;
	if (a->ss_family == AF_INET)
		return memcmp(&((const struct sockaddr_in *)a)->sin_addr,
		    &((const struct sockaddr_in *)b)->sin_addr,
		    sizeof(struct in_addr)) == 0;
	return memcmp(&((const struct sockaddr_in6 *)a)->sin6_addr,
	    &((const struct sockaddr_in6 *)b)->sin6_addr,
	    sizeof(struct in6_addr)) == 0;
}

/* Count a connection in (delta 1) or out (-1); false when over the limit. */
static bool
percl_count(const struct sockaddr_storage *ss, int delta, int limit)
{
	struct percl	*np;
	size_t		 i;
	bool		 ok = true;

	pthread_mutex_lock(&percl_lock);
	for (i = 0; i < npercl; i++)
		if (same_host(&percl[i].pc_addr, ss))
			break;
	if (delta > 0) {
		if (i == npercl) {
			np = reallocarray(percl, npercl + 1, sizeof(*np));
			if (np == NULL) {
				ok = false;
				goto out;
			}
			percl = np;
			percl[npercl].pc_addr = *ss;
			percl[npercl++].pc_count = 0;
		}
		if (limit > 0 && percl[i].pc_count >= limit)
			ok = false;
		else
			percl[i].pc_count++;
	} else if (i < npercl && --percl[i].pc_count <= 0)
		percl[i] = percl[--npercl];
out:
	pthread_mutex_unlock(&percl_lock);
	return ok;
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
	int			 fd, n, limit;

	/* A handful per wakeup, so that UDP keeps its share. */
	for (n = 0; n < 16; n++) {
		memset(&th, 0, sizeof(th));
		len = sizeof(th.th_addr);
		fd = accept(li->li_tcpfd, (struct sockaddr *)&th.th_addr, &len);
		if (fd == -1) {
			if (errno != EAGAIN && errno != EWOULDBLOCK &&
			    errno != EINTR && errno != ECONNABORTED)
				log_debug("tcp_accept: %s", strerror(errno));
			return;
		}
		if (!frontend_acl_allows((struct sockaddr *)&th.th_addr)) {
			stats_inc(STAT_ACL_DROPS);
			close(fd);
			continue;
		}
		limit = settings.st_maxtcpconnperclient;
		if (set_nonblock(fd) == -1 ||
		    (limit > 0 && !percl_count(&th.th_addr, 1, limit))) {
			close(fd);
			continue;
		}
		th.th_fd = fd;
		th.th_listener = (uint16_t)(li - listeners);
		if (write(workers[next_worker].tw_pipe[1], &th, sizeof(th)) !=
		    sizeof(th)) {
			stats_inc(STAT_TCP_LISTEN_OVERFLOWS);
			if (limit > 0)
				percl_count(&th.th_addr, -1, 0);
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

static void
client_queue(struct tcp_client *tc, const uint8_t *pkt, size_t len)
{
	struct tcp_out	*to;

	if ((to = malloc(sizeof(*to) + len + 2)) == NULL) {
		tc->tc_dead = true;
		return;
	}
	atomic_fetch_add_explicit(&tc->tc_li->li_tcpresponses, 1,
	    memory_order_relaxed);
	to->to_next = NULL;
	to->to_len = len + 2;
	to->to_off = 0;
	to->to_buf[0] = (uint8_t)(len >> 8);
	to->to_buf[1] = (uint8_t)len;
	memcpy(to->to_buf + 2, pkt, len);
	if (tc->tc_outtail != NULL)
		tc->tc_outtail->to_next = to;
	else {
		tc->tc_out = to;
		tc->tc_wdeadline = 0;	/* starts at the first write */
	}
	tc->tc_outtail = to;
	tc->tc_nout++;
}

/* More queries are read only while few are pending (TCP_MAXINFLIGHT). */
static bool
client_reading(const struct tcp_client *tc)
{
	return !tc->tc_eof && tc->tc_inflight + tc->tc_nout < TCP_MAXINFLIGHT;
}

static void
bconn_close(struct tcp_bconn *bc)
{
	bc->bc_dead = true;
}

static struct tcp_bconn *
bconn_connect(struct tcp_worker *tw, struct server *ds)
{
	struct tcp_bconn	*bc;
	size_t			 i;
	int			 fd, on = 1;

	/* An idle connection to this server first. */
	for (i = 0; i < tw->tw_nbconns; i++) {
		bc = tw->tw_bconns[i];
		if (!bc->bc_dead && bc->bc_state == BC_IDLE && bc->bc_ds == ds) {
			bc->bc_reused = true;
			bc->bc_state = BC_WRITING;
			return bc;
		}
	}
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
	bc->bc_fd = fd;
	bc->bc_state = BC_CONNECTING;
	bc->bc_ds = ds;
	server_ref(ds);
	if (append_ptr(&tw->tw_bconns, &tw->tw_nbconns, bc) == NULL) {
		server_unref(ds);
		close(fd);
		free(bc);
		return NULL;
	}
	return bc;
}

/* Send the query (already in a length-prefixed buffer) to a server. */
static bool
bconn_start(struct tcp_worker *tw, struct tcp_client *tc, struct server *ds,
    uint8_t *qbuf, size_t qlen, const struct dnsquestion *q, const char *pool,
    struct pcache *pc, uint64_t ckey, int tries)
{
	struct tcp_bconn	*bc;

	if ((bc = bconn_connect(tw, ds)) == NULL) {
		atomic_fetch_add(&ds->ds_senderrors, 1);
		stats_inc(STAT_DOWNSTREAM_SEND_ERRORS);
		return false;
	}
	bc->bc_client = tc;
	bc->bc_qbuf = qbuf;
	bc->bc_qlen = qlen;
	bc->bc_qoff = 0;
	bc->bc_q = *q;
	bc->bc_id = dnspacket_id(qbuf + 2);
	bc->bc_tries = tries;
	bc->bc_cache = pc;
	bc->bc_ckey = ckey;
	snprintf(bc->bc_pool, sizeof(bc->bc_pool), "%s", pool);
	bc->bc_sent = tw->tw_now;
	bc->bc_deadline = tw->tw_now +
	    (uint64_t)ds->ds_tcpsendtimeout * 1000000000ULL;
	bc->bc_lenhave = bc->bc_rhave = bc->bc_rlen = 0;
	atomic_fetch_add(&ds->ds_outstanding, 1);
	atomic_fetch_add(&ds->ds_queries, 1);
	atomic_fetch_add(&ds->ds_tcpqueries, 1);
	return true;
}

/* Send a query to a server of the pool; false when none is up. */
static bool
tcp_forward(struct tcp_worker *tw, struct tcp_client *tc, uint8_t *qbuf,
    size_t qlen, const struct dnsquestion *q, const char *pool,
    struct pcache *pc, uint64_t ckey, int tries)
{
	struct pool	*pl;
	struct server	*ds = NULL;
	bool		 ok;

	pthread_rwlock_rdlock(&config_lock);
	if ((pl = pool_get(pool, false)) != NULL)
		ds = pool_select(pl, q, tw->tw_now, &tw->tw_rnd);
	if (ds != NULL)
		server_ref(ds);
	pthread_rwlock_unlock(&config_lock);
	if (ds == NULL) {
		stats_inc(STAT_NO_POLICY);
		return false;
	}
	ok = bconn_start(tw, tc, ds, qbuf, qlen, q, pool, pc, ckey, tries);
	server_unref(ds);
	return ok;
}

/* The query just read from the client: check it and send it on. */
static void
client_query(struct tcp_worker *tw, struct tcp_client *tc, uint8_t *qbuf,
    size_t qlen, size_t room)
{
	struct dnsquestion	 q;
	struct dnsq		 dq;
	struct server		*ds;
	uint8_t			*pkt = qbuf + 2;
	size_t			 len = qlen - 2;
	struct timespec		 now;
	int			 verdict;

	stats_inc(STAT_QUERIES);
	atomic_fetch_add(&tc->tc_li->li_tcpqueries, 1);
	tc->tc_nqueries++;
	if (len < DNS_HDRLEN || dnspacket_qr(pkt) ||
	    dnspacket_qdcount(pkt) == 0 ||
	    dnspacket_question(pkt, len, &q) == -1) {
		stats_inc(len >= DNS_HDRLEN && !dnspacket_qr(pkt) &&
		    dnspacket_qdcount(pkt) == 0 ? STAT_EMPTY_QUERIES :
		    STAT_NONCOMPLIANT_QUERIES);
		free(qbuf);
		tc->tc_dead = true;	/* dnsdist closes such connections */
		return;
	}
	if (dnspacket_rd(pkt))
		stats_inc(STAT_RDQUERIES);
	clock_gettime(CLOCK_REALTIME, &now);
	frontend_ring_query((struct sockaddr *)&tc->tc_addr, &q, len, &now);
	dnsq_init(&dq, pkt, len, room - 2, &q, (struct sockaddr *)&tc->tc_addr,
	    tw->tw_now, &tw->tw_rnd);
	dq.dq_local = (struct sockaddr *)&tc->tc_li->li_local->lc_addr;
	dq.dq_tcp = true;
	/* Rules, pools and servers are read under the configuration lock. */
	pthread_rwlock_rdlock(&config_lock);
	ds = frontend_route(&dq, &verdict);
	if (ds != NULL)
		server_ref(ds);
	if (ds == NULL && !frontend_answer_ok(&dq, verdict))
		verdict = VERDICT_DROP;
	pthread_rwlock_unlock(&config_lock);
	if (ds == NULL) {
		if (verdict == VERDICT_ANSWER || verdict == VERDICT_CACHED) {
			frontend_ring_response((struct sockaddr *)&tc->tc_addr,
			    &q, pkt, dq.dq_len, 0, NULL, &now);
			client_queue(tc, pkt, dq.dq_len);
		}
		free(qbuf);
		return;
	}
	/* The rules may have rewritten the query (RD, CD). */
	qbuf[0] = (uint8_t)(dq.dq_len >> 8);
	qbuf[1] = (uint8_t)dq.dq_len;
	if (bconn_start(tw, tc, ds, qbuf, dq.dq_len + 2, &q, dq.dq_pool,
	    dq.dq_cache, dq.dq_ckey, 0))
		tc->tc_inflight++;
	else
		free(qbuf);
	server_unref(ds);
}

static void
client_read(struct tcp_worker *tw, struct tcp_client *tc)
{
	ssize_t	n;

	for (;;) {
		if (tc->tc_lenhave < 2) {
			n = read(tc->tc_fd, tc->tc_lenbuf + tc->tc_lenhave,
			    2 - tc->tc_lenhave);
		} else {
			n = read(tc->tc_fd, tc->tc_qbuf + 2 + tc->tc_qhave,
			    tc->tc_qlen - tc->tc_qhave);
		}
		if (n == -1) {
			if (errno != EAGAIN && errno != EWOULDBLOCK &&
			    errno != EINTR)
				tc->tc_dead = true;
			return;
		}
		if (n == 0) {
			tc->tc_eof = true;
			return;
		}
		tc->tc_deadline = tw->tw_now +
		    (uint64_t)settings.st_tcprecvtimeout * 1000000000ULL;
		if (tc->tc_lenhave < 2) {
			tc->tc_lenhave += (size_t)n;
			if (tc->tc_lenhave < 2)
				continue;
			tc->tc_qlen = (size_t)tc->tc_lenbuf[0] << 8 |
			    tc->tc_lenbuf[1];
			tc->tc_qhave = 0;
			/* Room for an answer built in place by the rules. */
			tc->tc_qroom = (tc->tc_qlen < UDP_QUERYMAX ?
			    UDP_QUERYMAX : tc->tc_qlen) + 2;
			if ((tc->tc_qbuf = malloc(tc->tc_qroom)) == NULL) {
				tc->tc_dead = true;
				return;
			}
			memcpy(tc->tc_qbuf, tc->tc_lenbuf, 2);
		} else
			tc->tc_qhave += (size_t)n;
		if (tc->tc_qhave < tc->tc_qlen)
			continue;
		client_query(tw, tc, tc->tc_qbuf, tc->tc_qlen + 2,
		    tc->tc_qroom);
		tc->tc_qbuf = NULL;
		tc->tc_lenhave = 0;
		if (tc->tc_dead || !client_reading(tc))
			return;
		if (settings.st_maxtcpqueriesperconn > 0 &&
		    tc->tc_nqueries >= settings.st_maxtcpqueriesperconn) {
			tc->tc_eof = true;	/* read no more */
			return;
		}
	}
}

/*
 * A client that takes no answer for setTCPSendTimeout is dropped; one that
 * reads its answers has setTCPRecvTimeout again to send the next query.
 */
static void
client_write(struct tcp_worker *tw, struct tcp_client *tc)
{
	struct tcp_out	*to;
	ssize_t		 n;

	if (tc->tc_wdeadline == 0)
		tc->tc_wdeadline = tw->tw_now +
		    (uint64_t)settings.st_tcpsendtimeout * 1000000000ULL;
	while ((to = tc->tc_out) != NULL) {
		n = write(tc->tc_fd, to->to_buf + to->to_off,
		    to->to_len - to->to_off);
		if (n == -1) {
			if (errno != EAGAIN && errno != EWOULDBLOCK &&
			    errno != EINTR)
				tc->tc_dead = true;
			return;
		}
		tc->tc_wdeadline = tw->tw_now +
		    (uint64_t)settings.st_tcpsendtimeout * 1000000000ULL;
		tc->tc_deadline = tw->tw_now +
		    (uint64_t)settings.st_tcprecvtimeout * 1000000000ULL;
		to->to_off += (size_t)n;
		if (to->to_off < to->to_len)
			return;
		tc->tc_out = to->to_next;
		if (tc->tc_out == NULL)
			tc->tc_outtail = NULL;
		tc->tc_nout--;
		free(to);
	}
}

/* The query on bc failed: try a fresh connection once, else give up. */
static void
bconn_failed(struct tcp_worker *tw, struct tcp_bconn *bc, bool timeout)
{
	struct tcp_client	*tc = bc->bc_client;
	uint8_t			*qbuf = bc->bc_qbuf;
	size_t			 len;

	atomic_fetch_sub(&bc->bc_ds->ds_outstanding, 1);
	bc->bc_qbuf = NULL;
	bconn_close(bc);
	if (tc == NULL) {
		free(qbuf);
		return;
	}
	/* A reused connection may have been closed by the server meanwhile. */
	if (!timeout && bc->bc_reused && bc->bc_rhave == 0 &&
	    bc->bc_lenhave == 0 && bc->bc_tries < 1 &&
	    tcp_forward(tw, tc, qbuf, bc->bc_qlen, &bc->bc_q, bc->bc_pool,
	    bc->bc_cache, bc->bc_ckey, bc->bc_tries + 1))
		return;
	if (timeout) {
		atomic_fetch_add(&bc->bc_ds->ds_drops, 1);
		stats_inc(STAT_DOWNSTREAM_TIMEOUTS);
	} else
		atomic_fetch_add(&bc->bc_ds->ds_tcpdied, 1);
	/* Tell the client rather than leave it waiting: SERVFAIL. */
	len = dnspacket_make_response(qbuf + 2, &bc->bc_q, DNS_RCODE_SERVFAIL,
	    true);
	client_queue(tc, qbuf + 2, len);
	stats_inc(STAT_RESPONSES);
	stats_inc(STAT_SERVFAIL_RESPONSES);
	stats_rcode(DNS_RCODE_SERVFAIL);
	free(qbuf);
	tc->tc_inflight--;
}

static void
bconn_answer(struct tcp_worker *tw, struct tcp_bconn *bc)
{
	struct tcp_client	*tc = bc->bc_client;
	struct dnsquestion	 q;
	struct dnsq		 dq;
	bool			 keep = true;
	struct timespec		 now;
	uint8_t			*pkt = bc->bc_rbuf;
	size_t			 len = bc->bc_rlen, i, nidle = 0;

	if (len < DNS_HDRLEN || !dnspacket_qr(pkt) ||
	    dnspacket_id(pkt) != bc->bc_id ||
	    dnspacket_question(pkt, len, &q) == -1 ||
	    q.q_type != bc->bc_q.q_type || q.q_class != bc->bc_q.q_class ||
	    !dnsname_equal(q.q_name, q.q_namelen, bc->bc_q.q_name,
	    bc->bc_q.q_namelen)) {
		stats_inc(STAT_NONCOMPLIANT_RESPONSES);
		bconn_failed(tw, bc, false);
		return;
	}
	atomic_fetch_sub(&bc->bc_ds->ds_outstanding, 1);
	if (tc != NULL && rules_response.rc_count > 0) {
		dnsq_init(&dq, pkt, len, len, &q,
		    (struct sockaddr *)&tc->tc_addr, tw->tw_now, &tw->tw_rnd);
		dq.dq_tcp = true;
		pthread_rwlock_rdlock(&config_lock);
		keep = backend_response_rules(&dq);
		pthread_rwlock_unlock(&config_lock);
		len = dq.dq_len;
		if (dq.dq_skipcache)
			bc->bc_cache = NULL;
	}
	if (keep && bc->bc_cache != NULL)
		pcache_put(bc->bc_cache, bc->bc_ckey, &q, true, pkt, len,
		    (time_t)(tw->tw_now / 1000000000ULL));
	record_response(bc->bc_ds, pkt, len,
	    (tw->tw_now - bc->bc_sent) / 1000);
	if (tc != NULL) {
		if (keep) {
			clock_gettime(CLOCK_REALTIME, &now);
			frontend_ring_response((struct sockaddr *)&tc->tc_addr,
			    &q, pkt, len, (tw->tw_now - bc->bc_sent) / 1000,
			    bc->bc_ds, &now);
			client_queue(tc, pkt, len);
		}
		tc->tc_inflight--;
	}
	free(bc->bc_qbuf);
	free(bc->bc_rbuf);
	bc->bc_qbuf = bc->bc_rbuf = NULL;
	bc->bc_client = NULL;
	for (i = 0; i < tw->tw_nbconns; i++)
		if (tw->tw_bconns[i]->bc_ds == bc->bc_ds &&
		    tw->tw_bconns[i]->bc_state == BC_IDLE)
			nidle++;
	if (nidle >= TCP_IDLE_PER_SERVER || bc->bc_ds->ds_removed) {
		bconn_close(bc);
		return;
	}
	bc->bc_state = BC_IDLE;
	bc->bc_lenhave = bc->bc_rhave = bc->bc_rlen = 0;
}

static void
bconn_io(struct tcp_worker *tw, struct tcp_bconn *bc, short revents)
{
	ssize_t		n;
	int		err = 0;
	socklen_t	errlen = sizeof(err);

	if (bc->bc_state == BC_IDLE) {
		/* The server closed (or sent junk on) an idle connection. */
		bconn_close(bc);
		return;
	}
	if (bc->bc_state == BC_CONNECTING) {
		if (getsockopt(bc->bc_fd, SOL_SOCKET, SO_ERROR, &err,
		    &errlen) == -1 || err != 0) {
			bconn_failed(tw, bc, false);
			return;
		}
		bc->bc_state = BC_WRITING;
	}
	if (bc->bc_state == BC_WRITING && (revents & (POLLOUT | POLLERR |
	    POLLHUP))) {
		n = write(bc->bc_fd, bc->bc_qbuf + bc->bc_qoff,
		    bc->bc_qlen - bc->bc_qoff);
		if (n == -1) {
			if (errno != EAGAIN && errno != EWOULDBLOCK &&
			    errno != EINTR)
				bconn_failed(tw, bc, false);
			return;
		}
		bc->bc_qoff += (size_t)n;
		if (bc->bc_qoff < bc->bc_qlen)
			return;
		bc->bc_state = BC_READING;
		bc->bc_deadline = tw->tw_now +
		    (uint64_t)bc->bc_ds->ds_tcprecvtimeout * 1000000000ULL;
		return;
	}
	if (bc->bc_state != BC_READING)
		return;
	for (;;) {
		if (bc->bc_lenhave < 2)
			n = read(bc->bc_fd, bc->bc_lenbuf + bc->bc_lenhave,
			    2 - bc->bc_lenhave);
		else
			n = read(bc->bc_fd, bc->bc_rbuf + bc->bc_rhave,
			    bc->bc_rlen - bc->bc_rhave);
		if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK ||
		    errno == EINTR))
			return;
		if (n <= 0) {
			bconn_failed(tw, bc, false);
			return;
		}
		if (bc->bc_lenhave < 2) {
			bc->bc_lenhave += (size_t)n;
			if (bc->bc_lenhave < 2)
				continue;
			bc->bc_rlen = (size_t)bc->bc_lenbuf[0] << 8 |
			    bc->bc_lenbuf[1];
			if (bc->bc_rlen == 0 ||
			    (bc->bc_rbuf = malloc(bc->bc_rlen)) == NULL) {
				bconn_failed(tw, bc, false);
				return;
			}
			continue;
		}
		bc->bc_rhave += (size_t)n;
		if (bc->bc_rhave == bc->bc_rlen) {
			bconn_answer(tw, bc);
			return;
		}
	}
}

static void
client_free(struct tcp_worker *tw, struct tcp_client *tc)
{
	struct tcp_out	*to;
	size_t		 i;

	for (i = 0; i < tw->tw_nbconns; i++)
		if (tw->tw_bconns[i]->bc_client == tc)
			tw->tw_bconns[i]->bc_client = NULL;
	while ((to = tc->tc_out) != NULL) {
		tc->tc_out = to->to_next;
		free(to);
	}
	if (settings.st_maxtcpconnperclient > 0)
		percl_count(&tc->tc_addr, -1, 0);
	close(tc->tc_fd);
	free(tc->tc_qbuf);
	free(tc);
}

static void
bconn_free(struct tcp_bconn *bc)
{
	close(bc->bc_fd);
	free(bc->bc_qbuf);
	free(bc->bc_rbuf);
	server_unref(bc->bc_ds);
	free(bc);
}

static void
worker_handoff(struct tcp_worker *tw)
{
	struct tcp_handoff	 th;
	struct tcp_client	*tc;

	while (read(tw->tw_pipe[0], &th, sizeof(th)) == sizeof(th)) {
		if ((tc = calloc(1, sizeof(*tc))) == NULL ||
		    append_ptr(&tw->tw_clients, &tw->tw_nclients, tc) == NULL) {
			free(tc);
			close(th.th_fd);
			continue;
		}
		atomic_fetch_add_explicit(&tw->tw_accepted, 1,
		    memory_order_relaxed);
		tc->tc_fd = th.th_fd;
		tc->tc_addr = th.th_addr;
		tc->tc_li = &listeners[th.th_listener];
		tc->tc_start = tw->tw_now;
		tc->tc_deadline = tw->tw_now +
		    (uint64_t)settings.st_tcprecvtimeout * 1000000000ULL;
	}
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
		if (!bc->bc_dead && bc->bc_state != BC_IDLE &&
		    tw->tw_now >= bc->bc_deadline)
			bconn_failed(tw, bc, true);
	}
	for (i = j = 0; i < tw->tw_nclients; i++) {
		tc = tw->tw_clients[i];
		if (tc->tc_inflight == 0 && tc->tc_out == NULL &&
		    (tc->tc_eof || tw->tw_now >= tc->tc_deadline ||
		    (maxdur > 0 && tw->tw_now - tc->tc_start >= maxdur)))
			tc->tc_dead = true;
		if (tc->tc_out != NULL && tc->tc_wdeadline != 0 &&
		    tw->tw_now >= tc->tc_wdeadline)
			tc->tc_dead = true;
		if (tc->tc_dead)
			client_free(tw, tc);
		else
			tw->tw_clients[j++] = tc;
	}
	tw->tw_nclients = j;
	atomic_store_explicit(&tw->tw_pubclients, j, memory_order_relaxed);
	for (i = j = 0; i < tw->tw_nbconns; i++) {
		bc = tw->tw_bconns[i];
		if (bc->bc_dead)
			bconn_free(bc);
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
	size_t			  cap = 0, n, i, nc;
	uint64_t		  next;
	struct tcp_client	 *tc;
	struct tcp_bconn	 *bc;
	int			  timeout;

	randombytes_buf(&tw->tw_rnd, sizeof(tw->tw_rnd));
	while (!tcp_quit) {
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
			pfd[1 + i].fd = tc->tc_eof && tc->tc_out == NULL ?
			    -1 : tc->tc_fd;
			pfd[1 + i].events = (client_reading(tc) ? POLLIN : 0) |
			    (tc->tc_out != NULL ? POLLOUT : 0);
			/*
			 * Only a deadline the sweep acts on: a past read
			 * deadline while queries are out would spin the loop.
			 */
			if (tc->tc_out != NULL && tc->tc_wdeadline != 0 &&
			    tc->tc_wdeadline < next)
				next = tc->tc_wdeadline;
			else if (tc->tc_out == NULL && tc->tc_inflight == 0 &&
			    tc->tc_deadline < next)
				next = tc->tc_deadline;
		}
		for (i = 0; i < tw->tw_nbconns; i++) {
			bc = tw->tw_bconns[i];
			pfd[1 + nc + i].fd = bc->bc_fd;
			pfd[1 + nc + i].events = bc->bc_state == BC_CONNECTING ||
			    bc->bc_state == BC_WRITING ? POLLOUT : POLLIN;
			if (bc->bc_state != BC_IDLE && bc->bc_deadline < next)
				next = bc->bc_deadline;
		}
		timeout = next <= tw->tw_now ? 0 :
		    (int)((next - tw->tw_now) / 1000000ULL) + 1;
		if (poll(pfd, n, timeout) == -1 && errno != EINTR)
			fatal("tcp worker poll");
		tw->tw_now = mono_ns();
		for (i = 0; i < nc; i++) {
			tc = tw->tw_clients[i];
			if (pfd[1 + i].revents & (POLLIN | POLLHUP | POLLERR))
				client_read(tw, tc);
		}
		for (i = 0; i < tw->tw_nbconns && 1 + nc + i < n; i++) {
			if (pfd[1 + nc + i].revents == 0)
				continue;
			bc = tw->tw_bconns[i];
			if (!bc->bc_dead)
				bconn_io(tw, bc, pfd[1 + nc + i].revents);
		}
		/* Answers that arrived this round go out now. */
		for (i = 0; i < tw->tw_nclients; i++) {
			tc = tw->tw_clients[i];
			if (tc->tc_out != NULL && !tc->tc_dead)
				client_write(tw, tc);
		}
		if (pfd[0].revents & POLLIN)
			worker_handoff(tw);
	}
	free(pfd);
	return NULL;
}

/* showTCPStats(): connections per worker thread. */
void
tcp_show_stats(struct sbuf *sb)
{
	size_t		i, c, b, tc = 0, tb = 0;
	uint64_t	a, ta = 0;

	sbuf_printf(sb, "%-8s %10s %10s %12s\n", "Thread", "Clients",
	    "Backends", "Accepted");
	for (i = 0; i < nworkers; i++) {
		c = atomic_load(&workers[i].tw_pubclients);
		b = atomic_load(&workers[i].tw_pubbconns);
		a = atomic_load(&workers[i].tw_accepted);
		sbuf_printf(sb, "%-8zu %10zu %10zu %12llu\n", i, c, b,
		    (unsigned long long)a);
		tc += c;
		tb += b;
		ta += a;
	}
	sbuf_printf(sb, "%-8s %10zu %10zu %12llu\n", "All", tc, tb,
	    (unsigned long long)ta);
}

void
tcp_start(void)
{
	size_t	i;

	nworkers = (size_t)settings.st_maxtcpclientthreads;
	if ((workers = calloc(nworkers, sizeof(*workers))) == NULL)
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

	tcp_quit = 1;
	for (i = 0; i < nworkers; i++) {
		/* Wake it: the closed pipe reads as the end of file. */
		close(workers[i].tw_pipe[1]);
		pthread_join(workers[i].tw_thread, NULL);
	}
}
