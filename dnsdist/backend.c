/*
 * UDP to the backends.  Each server has newServer's `sockets' connected
 * sockets, each from its own port, and a table of in-flight slots
 * (lib/inflight.c) that gives each query a random ID.  Queries go out on
 * the sockets in turn, or at random, and answers are taken on any of them,
 * but only when the ID names a live slot and the question (name hash,
 * type, class) is the one that slot sent, or it is an error without a
 * question (inflight_bare).
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "addr.h"
#include "cache.h"
#include "config.h"
#include "edns.h"
#include "dnsdist.h"
#include "rule.h"
#include "stats.h"

/*
 * Each backend keeps the queries it has in flight in a ring of bytes, so
 * that when it dies they go to another server: a copy is good while fewer
 * than QARENA bytes have been written after it.
 */
#define QARENA		(512 * 1024)
/* Under this much load, silence is telling sooner (see backend_timeouts). */
#define FAILOVER_BUSY		256
#define FAILOVER_BUSY_NS	100000000ULL

static struct backend	**failq;	/* backends found dead, to fail over */
static size_t		  nfailq;
static uint64_t		  failover_rnd = 0x9e3779b97f4a7c15ULL;

static struct backend	**flushq;	/* backends with queries to send */
static size_t		  nflushq;
static struct backend	**backends;
static size_t		  nbackends;

/* The receive batch for answers. */
static uint8_t			(*rx_buf)[UDP_RESPMAX];
static struct iovec		 rx_iov[UDP_BATCH];
static struct compat_mmsg	 rx_msg[UDP_BATCH];

static void backend_read(int, short, void *);
static void backend_failover_run(void);

static int
backend_socket(struct server *ds)
{
	int	fd;

	if ((fd = socket(ds->ds_addr.ss_family, SOCK_DGRAM, 0)) == -1)
		return -1;
	if (fcntl(fd, F_SETFL, O_NONBLOCK) == -1 ||
	    fcntl(fd, F_SETFD, FD_CLOEXEC) == -1 ||
	    connect(fd, (struct sockaddr *)&ds->ds_addr, ds->ds_addrlen) == -1) {
		close(fd);
		return -1;
	}
	/* Answers to a burst of queries arrive together. */
	compat_bufsize(fd, settings.st_udprcvbuf, settings.st_udpsndbuf);
	return fd;
}

static void
backend_close_socks(struct backend *be)
{
	unsigned int	i;

	for (i = 0; i < be->be_nsocks; i++) {
		loop_del(be->be_socks[i].bs_fd);
		close(be->be_socks[i].bs_fd);
	}
	free(be->be_socks);
	be->be_socks = NULL;
	be->be_nsocks = 0;
}

static struct backend *
backend_new(struct server *ds)
{
	struct backend	*be;
	int		 fd;

	if ((be = calloc(1, sizeof(*be))) == NULL)
		return NULL;
	be->be_ds = ds;
	/* malloc: the pages are only touched as queries go. */
	be->be_qarena = malloc(QARENA);
	be->be_socks = calloc((size_t)ds->ds_sockets, sizeof(*be->be_socks));
	if (inflight_init(&be->be_ids,
	    (uint32_t)settings.st_maxudpoutstanding, sizeof(struct slot),
	    settings.st_randomids) == -1 || be->be_qarena == NULL ||
	    be->be_socks == NULL)
		goto fail;
	while (be->be_nsocks < (unsigned int)ds->ds_sockets) {
		if ((fd = backend_socket(ds)) == -1)
			goto fail;
		if (loop_add(fd, POLLIN, backend_read, be) == -1) {
			close(fd);
			goto fail;
		}
		be->be_socks[be->be_nsocks++].bs_fd = fd;
	}
	be->be_hfd = -1;
	be->be_hfirst = true;
	return be;
fail:
	log_warn("backend %s", ds->ds_addrtext);
	backend_close_socks(be);
	inflight_free(&be->be_ids);
	free(be->be_qarena);
	free(be);
	return NULL;
}

static void
backend_free(struct backend *be)
{
	struct slot	*sl;
	size_t		 i;
	uint32_t	 pos = INFLIGHT_WALK;
	long		 idx;

	health_close(be);
	/* Queries still in flight: nothing else holds their tags. */
	while ((idx = inflight_walk(&be->be_ids, &pos)) != -1) {
		sl = (struct slot *)(void *)INFLIGHT_AT(&be->be_ids, idx);
		dnsq_tags_free(sl->sl_tags);
	}
	backend_close_socks(be);
	for (i = 0; i < nflushq; i++)
		if (flushq[i] == be)
			flushq[i] = flushq[--nflushq];
	for (i = 0; i < nfailq; i++)
		if (failq[i] == be)
			failq[i] = failq[--nfailq];
	inflight_free(&be->be_ids);
	free(be->be_qarena);
	free(be);
}

int
backend_sync(void)
{
	struct backend	**nb, **nq, *be;
	struct server	 *ds;
	size_t		  i;

	while ((ds = server_reap()) != NULL) {
		for (i = 0; i < nbackends; i++)
			if (backends[i]->be_ds == ds) {
				backend_free(backends[i]);
				backends[i] = backends[--nbackends];
				break;
			}
		ds->ds_io = NULL;
		server_unref(ds);
	}
	for (i = 0; i < servers.sr_count; i++) {
		ds = servers.sr_servers[i];
		if (ds->ds_io != NULL)
			continue;
		if ((be = backend_new(ds)) == NULL)
			return -1;
		if ((nb = reallocarray(backends, nbackends + 1,
		    sizeof(*nb))) == NULL) {
			backend_free(be);
			return -1;
		}
		backends = nb;
		if ((nq = reallocarray(flushq, nbackends + 1,
		    sizeof(*nq))) == NULL) {
			backend_free(be);
			return -1;
		}
		flushq = nq;
		if ((nq = reallocarray(failq, nbackends + 1,
		    sizeof(*nq))) == NULL) {
			backend_free(be);
			return -1;
		}
		failq = nq;
		backends[nbackends++] = be;
		server_ref(ds);
		ds->ds_io = be;
		health_check_now(be);
	}
	return 0;
}

static struct slot *
slot_at(struct backend *be, uint32_t idx)
{
	return (struct slot *)(void *)INFLIGHT_AT(&be->be_ids, idx);
}

/* The copy of the slot's query, or NULL when it is gone. */
static uint8_t *
slot_query(struct backend *be, const struct slot *sl)
{
	if (sl->sl_qlen == 0 || be->be_qhead > sl->sl_qpos + QARENA)
		return NULL;
	return be->be_qarena + sl->sl_qpos % QARENA;
}

static void
slot_put(struct backend *be, uint32_t idx)
{
	struct slot	*sl = slot_at(be, idx);

	if (sl->sl_tags != NULL) {
		dnsq_tags_free(sl->sl_tags);
		sl->sl_tags = NULL;
	}
	inflight_put(&be->be_ids, idx);
	atomic_fetch_sub_explicit(&be->be_ds->ds_outstanding, 1,
	    memory_order_relaxed);
}

void
backend_send_query(struct server *ds, const struct dnsq *dq,
    const struct sockaddr *from, socklen_t fromlen, uint16_t listener,
    const struct compat_dst *dst)
{
	const struct dnsquestion *q = dq->dq_q;
	uint8_t			*pkt = dq->dq_pkt;
	size_t			 len = dq->dq_len;
	struct backend		*be = ds->ds_io;
	struct backend_sock	*bs;
	struct slot		*sl;
	struct compat_mmsg	*m;
	long			 idx;
	unsigned int		 i;
	uint16_t		 id;

	if (ds->ds_tcponly) {
		tcp_udp_query(ds, dq, from, fromlen, listener, dst);
		return;
	}
	if (be == NULL || (idx = inflight_get(&be->be_ids)) == -1) {
		/* Every ID is in flight: never put two queries on one. */
		atomic_fetch_add_explicit(&ds->ds_senderrors, 1,
		    memory_order_relaxed);
		stats_inc(STAT_DOWNSTREAM_SEND_ERRORS);
		return;
	}
	sl = slot_at(be, (uint32_t)idx);
	id = inflight_send(&be->be_ids, (uint32_t)idx, q, loop_now);
	memcpy(&sl->sl_client, from, fromlen < sizeof(sl->sl_client) ?
	    fromlen : sizeof(sl->sl_client));
	sl->sl_dst = *dst;
	sl->sl_origid = dnspacket_id(pkt);
	sl->sl_listener = listener;
	sl->sl_delayms = (uint16_t)dq->dq_delayms;
	sl->sl_udpmax = frontend_udp_limit(dq);
	sl->sl_cache = dq->dq_cache;
	sl->sl_ckey = dq->dq_ckey;
	/* As dnsdist: ECS goes back to a client that sent its own. */
	sl->sl_ecsadded = dq->dq_ecsadded && !dq->dq_ecsclient;
	sl->sl_optadded = dq->dq_optadded;
	sl->sl_ttlcap = dq->dq_ttlcap;
	sl->sl_tempfailttl = dq->dq_tempfailttl;
	sl->sl_tries = dq->dq_tries;
	sl->sl_pool = dq->dq_poolp != NULL ? dq->dq_poolp->pl_name : NULL;
	sl->sl_tags = dq->dq_ntags > 0 ? dnsq_tags_save(dq) : NULL;
	sl->sl_qlen = 0;
	if (len <= UDP_QUERYMAX) {
		/* A copy that does not fit before the end starts over. */
		if (be->be_qhead % QARENA + len > QARENA)
			be->be_qhead += QARENA - be->be_qhead % QARENA;
		memcpy(be->be_qarena + be->be_qhead % QARENA, pkt, len);
		sl->sl_qpos = be->be_qhead;
		sl->sl_qlen = (uint16_t)len;
		be->be_qhead += len;
	}
	dnspacket_set_id(pkt, id);
	atomic_fetch_add_explicit(&ds->ds_outstanding, 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&ds->ds_queries, 1, memory_order_relaxed);

	/* The source port: the sockets in turn, or one at random. */
	if (be->be_nsocks == 1)
		bs = &be->be_socks[0];
	else if (settings.st_randomsockets)
		bs = &be->be_socks[inflight_random(&be->be_ids, be->be_nsocks)];
	else
		bs = &be->be_socks[be->be_nextsock++ % be->be_nsocks];
	i = bs->bs_nout++;
	m = &bs->bs_out[i];
	memset(&m->cm_hdr, 0, sizeof(m->cm_hdr));
	bs->bs_outiov[i].iov_base = pkt;
	bs->bs_outiov[i].iov_len = len;
	m->cm_hdr.msg_iov = &bs->bs_outiov[i];
	m->cm_hdr.msg_iovlen = 1;
	if (!be->be_pending) {
		be->be_pending = true;
		flushq[nflushq++] = be;
	}
	if (bs->bs_nout == UDP_BATCH) {
		backend_flush_all();
	}
}

/*
 * Queue the backend's queries in flight for another server of their pool.
 * A backend that is gone for sure (the kernel said port unreachable) is
 * also marked down now rather than at the next health check; one that is
 * only silent gets a health check now, which decides as usual, so that a
 * slow server alone in its pool is not taken out.  Health checks bring a
 * server back after `rise' good checks.
 */
static void
backend_fail(struct backend *be, const char *why, bool dead)
{
	struct server	*ds = be->be_ds;
	char		 name[256];
	unsigned int	 i;

	if (dead && atomic_load(&ds->ds_healthy)) {
		atomic_store(&ds->ds_healthy, false);
		atomic_fetch_add(&ds->ds_hcchanges, 1);
		be->be_hsuccess = 0;
		if (atomic_load(&ds->ds_avail) == SERVER_AUTO)
			log_info("Marking downstream %s as 'down' (%s)",
			    server_display(ds, name, sizeof(name)), why);
	} else if (!dead && !be->be_silent) {
		be->be_silent = true;
		log_info("Downstream %s %s: its queries go elsewhere",
		    server_display(ds, name, sizeof(name)), why);
		if (be->be_hfd == -1)
			health_check_now(be);
	}
	/* Its queries waiting for sendmmsg go from their slots too. */
	if (dead)
		for (i = 0; i < be->be_nsocks; i++)
			be->be_socks[i].bs_nout = 0;
	if (!be->be_failing) {
		be->be_failing = true;
		failq[nfailq++] = be;
	}
}

/*
 * Another server of the pool for q: the policy's choice, unless that is
 * the failing one (a silent server is still up), then the first other
 * server that is up.  NULL when there is none.
 */
static struct server *
failover_target(struct pool *pl, const struct dnsquestion *q,
    const struct server *failing)
{
	struct server	*to;
	size_t		 i;

	to = pool_select(pl, q, loop_now, &failover_rnd);
	if (to != NULL && to != failing)
		return to;
	for (i = 0; i < pl->pl_count; i++)
		if (pl->pl_servers[i] != failing &&
		    server_is_up(pl->pl_servers[i]))
			return pl->pl_servers[i];
	return NULL;
}

/* Send the queries in flight to failed backends to other servers. */
static void
backend_resend(struct backend *be)
{
	struct dnsquestion	 q;
	struct server		*to;
	struct slot		*sl;
	struct pool		*pl;
	struct dnsq		 dq;
	uint8_t			*pkt;
	uint32_t		 i, pos = INFLIGHT_WALK;
	long			 idx;

	while ((idx = inflight_walk(&be->be_ids, &pos)) != -1) {
		i = (uint32_t)idx;
		sl = slot_at(be, i);
		pkt = slot_query(be, sl);
		to = NULL;
		/* The pool as the live configuration has it now. */
		pl = sl->sl_pool != NULL ? config_pool(config_now(),
		    sl->sl_pool) : NULL;
		if (pkt != NULL && sl->sl_tries == 0 && pl != NULL &&
		    dnspacket_question(pkt, sl->sl_qlen, &q) == 0)
			to = failover_target(pl, &q, be->be_ds);
		/* Nowhere else to go: it waits here, for its timeout. */
		if (to == NULL || to == be->be_ds || to->ds_io == NULL)
			continue;
		/* The copy still has the client's ID. */
		dnsq_init(&dq, pkt, sl->sl_qlen, sl->sl_qlen, &q,
		    (struct sockaddr *)&sl->sl_client, loop_now, &failover_rnd);
		dq.dq_delayms = sl->sl_delayms;
		dq.dq_cache = sl->sl_cache;
		dq.dq_ckey = sl->sl_ckey;
		dq.dq_ecsadded = sl->sl_ecsadded;
		dq.dq_optadded = sl->sl_optadded;
		dq.dq_ttlcap = sl->sl_ttlcap;
		dq.dq_tempfailttl = sl->sl_tempfailttl;
		dq.dq_poolp = pl;
		dq.dq_tries = (uint8_t)(sl->sl_tries + 1);
		dnsq_tags_load(&dq, sl->sl_tags);
		stats_inc(STAT_DOWNSTREAM_REROUTES);
		backend_send_query(to, &dq, (struct sockaddr *)&sl->sl_client,
		    addr_len((struct sockaddr *)&sl->sl_client),
		    sl->sl_listener, &sl->sl_dst);
		slot_put(be, i);
	}
}

static void
backend_failover_run(void)
{
	struct backend	*be;

	while (nfailq > 0) {
		be = failq[--nfailq];
		be->be_failing = false;
		backend_resend(be);
	}
	/* The copies live in the failed backends' rings: send them now. */
	backend_flush_all();
}

static void
backend_flush_sock(struct backend *be, struct backend_sock *bs)
{
	unsigned int	done = 0;
	int		n;
	long		idx;

	while (done < bs->bs_nout) {
		n = compat_sendmmsg(bs->bs_fd, &bs->bs_out[done],
		    bs->bs_nout - done);
		if (n > 0) {
			done += (unsigned int)n;
			continue;
		}
		if (n == -1 && errno == ECONNREFUSED) {
			backend_fail(be, "port unreachable", true);
			break;
		}
		/* Release the slot of the query that could not go. */
		if ((idx = inflight_byid(&be->be_ids,
		    dnspacket_id(bs->bs_outiov[done].iov_base))) != -1)
			slot_put(be, (uint32_t)idx);
		atomic_fetch_add_explicit(&be->be_ds->ds_senderrors, 1,
		    memory_order_relaxed);
		stats_inc(STAT_DOWNSTREAM_SEND_ERRORS);
		done++;
	}
	bs->bs_nout = 0;
}

static void
backend_flush(struct backend *be)
{
	unsigned int	i;

	for (i = 0; i < be->be_nsocks; i++)
		if (be->be_socks[i].bs_nout > 0)
			backend_flush_sock(be, &be->be_socks[i]);
	be->be_pending = false;
}

void
backend_flush_all(void)
{
	size_t	i;

	for (i = 0; i < nflushq; i++)
		backend_flush(flushq[i]);
	nflushq = 0;
	if (nfailq > 0)
		backend_failover_run();
}

static void
backend_answer(struct backend *be, uint8_t *pkt, size_t len)
{
	static uint64_t		 rnd = 0x853c49e6748fea9bULL;
	struct dnsq		 dq;
	struct server		*ds = be->be_ds;
	struct dnsquestion	 q, oq;
	struct slot		*sl;
	struct listener		*li;
	const uint8_t		*qpkt;
	long			 i;
	uint32_t		 idx;
	uint64_t		 usec;

	if ((i = inflight_answer(&be->be_ids, pkt, len, &q)) == -1) {
		stats_inc(STAT_NONCOMPLIANT_RESPONSES);
		return;
	}
	idx = (uint32_t)i;
	sl = slot_at(be, idx);
	/*
	 * A bare error answer: the rules and the ring see the query's
	 * question when its copy is still there, the root otherwise.
	 */
	if (q.q_end == DNS_HDRLEN && (qpkt = slot_query(be, sl)) != NULL &&
	    dnspacket_question(qpkt, sl->sl_qlen, &q) == 0)
		q.q_end = DNS_HDRLEN;
	/* fixupCase(): the question goes back in the client's own case. */
	else if (q.q_end > DNS_HDRLEN && config_now()->cf_fixupcase &&
	    (qpkt = slot_query(be, sl)) != NULL &&
	    dnspacket_question(qpkt, sl->sl_qlen, &oq) == 0 &&
	    oq.q_namelen == q.q_namelen) {
		memcpy(pkt + DNS_HDRLEN, oq.q_name, oq.q_namelen);
		memcpy(q.q_name, oq.q_name, oq.q_namelen);
	}
	dnspacket_set_id(pkt, sl->sl_origid);
	usec = (loop_now - sl->sl_if.if_sent) / 1000;
	be->be_lastanswer = loop_now;
	be->be_silent = false;
	/* The client gets no ECS it did not send, nor an OPT record. */
	if (sl->sl_ecsadded || sl->sl_optadded)
		edns_strip_ecs(pkt, &len, &q, sl->sl_optadded);
	/* truncateTC(true): a truncated answer keeps its question only. */
	if (config_now()->cf_truncatetc && dnspacket_tc(pkt) &&
	    q.q_end > DNS_HDRLEN)
		len = dnspacket_truncate(pkt, len, &q, rule_add_edns);
	/*
	 * Nor more than it can take: TC set, it asks again over TCP.  As in
	 * dnsdist, the rules and the cache see what the client gets.
	 */
	if (len > sl->sl_udpmax)
		len = dnspacket_truncate(pkt, len, &q, rule_add_edns);
	li = &listeners[sl->sl_listener];
	if (pipeline_response_needed(sl->sl_cache, sl->sl_ttlcap)) {
		dnsq_init(&dq, pkt, len, UDP_RESPMAX, &q,
		    (struct sockaddr *)&sl->sl_client, loop_now, &rnd);
		dnsq_tags_load(&dq, sl->sl_tags);
		dq.dq_ttlcap = sl->sl_ttlcap;
		dq.dq_tempfailttl = sl->sl_tempfailttl;
		if (!pipeline_response(&dq, sl->sl_cache, sl->sl_ckey)) {
			slot_put(be, idx);
			atomic_fetch_add_explicit(&ds->ds_responses, 1,
			    memory_order_relaxed);
			return;
		}
		len = dq.dq_len;
		if (dq.dq_delayms > sl->sl_delayms)
			sl->sl_delayms = (uint16_t)dq.dq_delayms;
	}
	pipeline_ring_response((struct sockaddr *)&sl->sl_client, &q, pkt, len,
	    usec, ds, &loop_realtime);
	if (sl->sl_delayms > 0)
		frontend_delay(li, pkt, len, (struct sockaddr *)&sl->sl_client,
		    &sl->sl_dst, sl->sl_delayms);
	else
		frontend_queue(li, pkt, len,
		    (struct sockaddr *)&sl->sl_client, &sl->sl_dst);
	slot_put(be, idx);
	record_response(ds, pkt, len, usec);
}

static void
backend_read(int fd, short revents, void *arg)
{
	struct backend	*be = arg;
	int		 i, n;

	(void)revents;
	for (i = 0; i < UDP_BATCH; i++) {
		rx_iov[i].iov_base = rx_buf[i];
		rx_iov[i].iov_len = UDP_RESPMAX;
		memset(&rx_msg[i].cm_hdr, 0, sizeof(rx_msg[i].cm_hdr));
		rx_msg[i].cm_hdr.msg_iov = &rx_iov[i];
		rx_msg[i].cm_hdr.msg_iovlen = 1;
	}
	n = compat_recvmmsg(fd, rx_msg, UDP_BATCH);
	if (n == -1 && errno == ECONNREFUSED)
		backend_fail(be, "port unreachable", true);
	for (i = 0; i < n; i++)
		backend_answer(be, rx_buf[i], rx_msg[i].cm_len);
	/* The answers point into rx_buf: send them before the next batch. */
	frontend_flush_all();
}

/* Free the slots of queries the backend has not answered in time. */
static void
backend_timeouts(void *arg)
{
	uint64_t	 limit = (uint64_t)settings.st_udptimeout * 1000000000ULL;
	uint64_t	 silence = (uint64_t)settings.st_failoverms * 1000000ULL;
	uint64_t	 oldest, quiet, sent;
	struct backend	*be;
	char		 why[64];
	size_t		 b;
	uint32_t	 pos, live;
	long		 i;

	(void)arg;
	for (b = 0; b < nbackends; b++) {
		be = backends[b];
		oldest = UINT64_MAX;
		pos = INFLIGHT_WALK;
		while ((i = inflight_walk(&be->be_ids, &pos)) != -1) {
			sent = slot_at(be, (uint32_t)i)->sl_if.if_sent;
			if (loop_now - sent < limit) {
				if (sent < oldest)
					oldest = sent;
				continue;
			}
			slot_put(be, (uint32_t)i);
			atomic_fetch_add_explicit(&be->be_ds->ds_drops, 1,
			    memory_order_relaxed);
			stats_inc(STAT_DOWNSTREAM_TIMEOUTS);
		}
		live = inflight_count(&be->be_ids);
		/*
		 * Queries in flight for that long and not one answer for
		 * that long either: the server is gone, not slow on one
		 * query.  Under load (FAILOVER_BUSY queries waiting), a
		 * shorter silence says as much, and fewer queries pile up.
		 */
		if (silence == 0 || oldest == UINT64_MAX ||
		    !atomic_load(&be->be_ds->ds_healthy))
			continue;
		quiet = loop_now - be->be_lastanswer;
		if (loop_now - oldest < quiet)
			quiet = loop_now - oldest;
		if (quiet >= silence || (live >= FAILOVER_BUSY &&
		    quiet >= FAILOVER_BUSY_NS && quiet * 5 >= silence)) {
			snprintf(why, sizeof(why), "answered nothing for %llu ms",
			    (unsigned long long)(quiet / 1000000ULL));
			backend_fail(be, why, false);
		}
	}
	if (nfailq > 0)
		backend_failover_run();
}

/* Queries and drops per second, for showServers(). */
static void
backend_rates(void *arg)
{
	struct server	*ds;
	uint64_t	 q, d;
	size_t		 i;

	(void)arg;
	for (i = 0; i < servers.sr_count; i++) {
		ds = servers.sr_servers[i];
		q = atomic_load(&ds->ds_queries);
		d = atomic_load(&ds->ds_drops);
		atomic_store(&ds->ds_qpsrate, (double)(q - ds->ds_lastqueries));
		atomic_store(&ds->ds_droprate, (double)(d - ds->ds_lastdrops));
		ds->ds_lastqueries = q;
		ds->ds_lastdrops = d;
	}
}

/* TeeAction: a copy of the query to another server, answers ignored. */
static void
backend_tee_send(struct action *ac, const struct dnsq *dq)
{
	struct sockaddr	*sa = (struct sockaddr *)&ac->ac_u.tee.addr;
	int		 fd;

	pthread_mutex_lock(&ac->ac_u.tee.lock);
	if ((fd = ac->ac_u.tee.fd) == -1) {
		if ((fd = socket(sa->sa_family, SOCK_DGRAM, 0)) != -1 &&
		    (fcntl(fd, F_SETFL, O_NONBLOCK) == -1 ||
		    fcntl(fd, F_SETFD, FD_CLOEXEC) == -1 ||
		    connect(fd, sa, addr_len(sa)) == -1)) {
			close(fd);
			fd = -1;
		}
		/* -2: it failed once; do not try for every packet. */
		ac->ac_u.tee.fd = fd == -1 ? -2 : fd;
	}
	pthread_mutex_unlock(&ac->ac_u.tee.lock);
	if (fd >= 0 && send(fd, dq->dq_pkt, dq->dq_len, MSG_DONTWAIT) ==
	    (ssize_t)dq->dq_len)
		atomic_fetch_add_explicit(&ac->ac_u.tee.sent, 1,
		    memory_order_relaxed);
	else
		atomic_fetch_add_explicit(&ac->ac_u.tee.senderrors, 1,
		    memory_order_relaxed);
}

static void
backend_tee_close(struct action *ac)
{
	if (ac->ac_u.tee.fd >= 0)
		close(ac->ac_u.tee.fd);
	ac->ac_u.tee.fd = -1;
}

void
backend_start(void)
{
	rule_tee_send = backend_tee_send;
	rule_tee_close = backend_tee_close;
	if ((rx_buf = calloc(UDP_BATCH, sizeof(*rx_buf))) == NULL)
		fatal("backend buffers");
	loop_timer(100000000ULL, backend_timeouts, NULL);
	loop_timer(1000000000ULL, backend_rates, NULL);
}

/* UDP queries sent and neither answered nor timed out yet. */
uint64_t
backend_inflight(void)
{
	uint64_t	n = 0;
	size_t		b;

	for (b = 0; b < nbackends; b++)
		n += inflight_count(&backends[b]->be_ids);
	return n;
}

void
backend_close_all(void)
{
	while (nbackends > 0)
		backend_free(backends[--nbackends]);
}
