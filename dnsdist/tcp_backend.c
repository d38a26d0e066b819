/*
 * Connections to backends: queries pipelined under IDs of the connection,
 * answers matched by ID and question in whatever order they come; a
 * failed connection gives its queries another try (up to the server's
 * retries) or a SERVFAIL.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "addr.h"
#include "cache.h"
#include "config.h"
#include "edns.h"
#include "dnsdist.h"
#include "rule.h"
#include "stats.h"
#include "tcp.h"

static const uint8_t	*bconn_h2_body(void *, uint16_t, size_t *);
static void		 bconn_h2_done(void *, uint16_t, int, uint8_t *,
			    size_t);
static void		 bconn_read(struct tcp_worker *, struct tcp_bconn *);

/* A new connection to ds; it starts with tq's header when it has one. */
static struct tcp_bconn *
bconn_open(struct tcp_worker *tw, struct server *ds, struct tcp_query *tq)
{
	struct tcp_bconn	*bc;
	int			 fd, on = 1, depth, i;

	if ((fd = server_socket(ds, SOCK_STREAM)) == -1)
		return NULL;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
	if ((bc = calloc(1, sizeof(*bc))) == NULL) {
		close(fd);
		return NULL;
	}
	depth = ds->ds_maxinflight > 0 ? ds->ds_maxinflight : TCP_BC_DEPTH;
	if (depth > TCP_BC_MAXDEPTH)
		depth = TCP_BC_MAXDEPTH;
	bc->bc_slots = calloc((size_t)depth, sizeof(*bc->bc_slots));
	bc->bc_free = calloc((size_t)depth, sizeof(*bc->bc_free));
	if (ds->ds_dohpath != NULL)
		bc->bc_h2 = dohc_new(bc, bconn_h2_body, bconn_h2_done);
	if (bc->bc_slots == NULL || bc->bc_free == NULL ||
	    (ds->ds_dohpath != NULL && bc->bc_h2 == NULL) ||
	    append_ptr(&tw->tw_bconns, &tw->tw_nbconns, bc) == NULL) {
		dohc_free(bc->bc_h2);
		free(bc->bc_slots);
		free(bc->bc_free);
		free(bc);
		close(fd);
		return NULL;
	}
	if (tq->tq_pplen > 0 && ((bc->bc_pp = malloc(tq->tq_pplen)) == NULL ||
	    !buf_reserve(&bc->bc_wbuf, &bc->bc_wcap, tq->tq_pplen,
	    &tw->tw_held))) {
		tw->tw_nbconns--;
		dohc_free(bc->bc_h2);
		free(bc->bc_pp);
		free(bc->bc_slots);
		free(bc->bc_free);
		free(bc);
		close(fd);
		return NULL;
	}
	if (tq->tq_pplen > 0) {
		memcpy(bc->bc_pp, tq->tq_pp, tq->tq_pplen);
		memcpy(bc->bc_wbuf, tq->tq_pp, tq->tq_pplen);
		bc->bc_pplen = bc->bc_wlen = tq->tq_pplen;
		bc->bc_owner = tq->tq_client;
	}
	bc->bc_depth = depth;
	for (i = 0; i < depth; i++)
		bc->bc_free[i] = (uint16_t)(depth - 1 - i);
	bc->bc_nfree = depth;
	randombytes_buf(&bc->bc_gen, sizeof(bc->bc_gen));
	bc->bc_fd = fd;
	bc->bc_tw = tw;
	bc->bc_connecting = true;
	bc->bc_ds = ds;
	server_ref(ds);
	bc->bc_opened = tw->tw_now;
	atomic_fetch_add_explicit(&ds->ds_tcpnew, 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&ds->ds_tcpcurrent, 1, memory_order_relaxed);
	return bc;
}

/*
 * A connection to ds with room for one more query: the busiest of those
 * that have room, so that queries share few connections and go out in
 * few writes; a zone transfer wants one to itself.  With
 * useProxyProtocol, one that its client owns and that began with the
 * same header.
 */
static struct tcp_bconn *
bconn_get(struct tcp_worker *tw, struct server *ds, struct tcp_query *tq)
{
	struct tcp_bconn	*bc, *best = NULL;
	size_t			 i;
	uint64_t		 closed;
	bool			 xfr = tq->tq_xfr;

	for (i = 0; i < tw->tw_nbconns; i++) {
		bc = tw->tw_bconns[i];
		if (bc->bc_dead || bc->bc_xfr || bc->bc_ds != ds ||
		    bc->bc_nfree == 0 || (xfr && bc->bc_npending > 0) ||
		    (bc->bc_h2 != NULL && !dohc_room(bc->bc_h2)))
			continue;
		if (bc->bc_pplen != tq->tq_pplen || (bc->bc_pplen > 0 &&
		    (bc->bc_orphan || bc->bc_owner != tq->tq_client ||
		    memcmp(bc->bc_pp, tq->tq_pp, bc->bc_pplen) != 0)))
			continue;
		if (best == NULL || bc->bc_npending > best->bc_npending)
			best = bc;
	}
	/*
	 * dnsdist takes an idle connection that answered less than a second
	 * ago without checking it, and counts it reused before it finds the
	 * server closed it; here it was seen closed, and a new one goes at
	 * once, but the count is dnsdist's.
	 */
	closed = best == NULL && tq->tq_pplen == 0 ?
	    atomic_exchange(&ds->ds_tcpclosedidle, 0) : 0;
	if (best != NULL || (closed != 0 &&
	    tw->tw_now - closed < 1000000000ULL))
		atomic_fetch_add_explicit(&ds->ds_tcpreused, 1,
		    memory_order_relaxed);
	return best != NULL ? best : bconn_open(tw, ds, tq);
}

/* The protocol of a query's client, for the latency averages. */
static enum stats_proto
tq_proto(const struct tcp_query *tq)
{
	const struct local	*lc;

	if (tq->tq_udp || tq->tq_client == NULL)
		return tq->tq_udp ? STATS_UDP : STATS_TCP;
	lc = tq->tq_client->tc_li->li_local;
	return lc->lc_doh != NULL ? STATS_DOH : lc->lc_tls != NULL ?
	    STATS_DOT : STATS_TCP;
}

/* Its client, for X-Forwarded-For; NULL when it is gone. */
static const struct sockaddr *
tq_client_addr(const struct tcp_query *tq)
{
	if (tq->tq_udp)
		return (const struct sockaddr *)&tq->tq_from;
	return tq->tq_client != NULL ? client_addr(tq->tq_client) : NULL;
}

/* X-Forwarded-Proto, as dnsdist names its client's transport. */
static const char *
tq_xfproto(const struct tcp_query *tq)
{
	switch (tq_proto(tq)) {
	case STATS_UDP:
		return "dns-over-udp";
	case STATS_DOT:
		return "dns-over-tls";
	case STATS_DOH:
		return tq->tq_client->tc_li->li_local->lc_tls != NULL ?
		    "dns-over-https" : "dns-over-http";
	default:
		return "dns-over-tcp";
	}
}

/* What the HTTP/2 session has to send goes after what is queued. */
static void
bconn_h2_flush(struct tcp_worker *tw, struct tcp_bconn *bc)
{
	const uint8_t	*data;
	ssize_t		 n;

	while (!bc->bc_dead && (n = dohc_output(bc->bc_h2, &data)) != 0) {
		if (n == -1 || !buf_reserve(&bc->bc_wbuf, &bc->bc_wcap,
		    bc->bc_wlen + (size_t)n, &tw->tw_held)) {
			bconn_fail(tw, bc, false);
			return;
		}
		memcpy(bc->bc_wbuf + bc->bc_wlen, data, (size_t)n);
		bc->bc_wlen += (size_t)n;
	}
}

/* Put the query on a connection to ds; false when none can be had. */
bool
bconn_send(struct tcp_worker *tw, struct tcp_query *tq, struct server *ds)
{
	struct tcp_bconn	*bc;
	uint16_t		 slot;

	/* A retry may come to a server of another kind: its header or none. */
	if (!ds->ds_proxyproto && tq->tq_pplen > 0) {
		free(tq->tq_pp);
		tq->tq_pp = NULL;
		tq->tq_pplen = 0;
	}
	if ((ds->ds_proxyproto && tq->tq_pplen == 0) ||
	    (bc = bconn_get(tw, ds, tq)) == NULL ||
	    !buf_reserve(&bc->bc_wbuf, &bc->bc_wcap, bc->bc_wlen + tq->tq_len,
	    &tw->tw_held)) {
		atomic_fetch_add(&ds->ds_senderrors, 1);
		stats_inc(STAT_DOWNSTREAM_SEND_ERRORS);
		return false;
	}
	slot = bc->bc_free[--bc->bc_nfree];
	tq->tq_bid = (uint16_t)(bc->bc_gen++ << 8 | slot);
	dnspacket_set_id(tq->tq_buf + 2, tq->tq_bid);
	if (bc->bc_h2 != NULL) {
		/* The connection may have died in the flush. */
		if (dohc_submit(bc->bc_h2, tq->tq_bid, ds, tq->tq_len - 2,
		    tq_client_addr(tq), tq_xfproto(tq)) == -1) {
			bc->bc_free[bc->bc_nfree++] = slot;
			atomic_fetch_add(&ds->ds_senderrors, 1);
			stats_inc(STAT_DOWNSTREAM_SEND_ERRORS);
			return false;
		}
	} else {
		memcpy(bc->bc_wbuf + bc->bc_wlen, tq->tq_buf, tq->tq_len);
		bc->bc_wlen += tq->tq_len;
	}
	bc->bc_slots[slot] = tq;
	if (bc->bc_npending++ == 0)
		bc->bc_deadline = tw->tw_now + (uint64_t)(bc->bc_connecting ?
		    ds->ds_tcpconnecttimeout : ds->ds_tcprecvtimeout) *
		    1000000000ULL;
	bc->bc_used++;
	if (tq->tq_xfr)
		bc->bc_xfr = true;
	tq->tq_sent = tw->tw_now;
	atomic_fetch_add(&ds->ds_outstanding, 1);
	if (!tq->tq_tcretry)	/* counted when it went over UDP */
		atomic_fetch_add(&ds->ds_queries, 1);
	atomic_fetch_add(&ds->ds_tcpqueries, 1);
	(void)server_qps_take(ds, tw->tw_now);
	if (bc->bc_h2 != NULL)
		bconn_h2_flush(tw, bc);
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
 * The connection failed: every query on it gets another try over a fresh
 * connection (a server may close a connection it kept open, or die
 * mid-answer), up to the server's retries, else SERVFAIL.  After a
 * timeout, SERVFAIL at once.  A connection that answered before it closed
 * did not fail its queries: a server may answer one query a connection,
 * so they go again without using their try (each such round answers one
 * more).
 */
void
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
			for (s = 0; s < bc->bc_npending; s++)
				server_lazy_report(bc->bc_ds, true);
			stats_add(STAT_DOWNSTREAM_TIMEOUTS,
			    (uint64_t)bc->bc_npending);
			/* Where it was stuck: connecting, writing, reading. */
			atomic_fetch_add(bc->bc_connecting ?
			    &bc->bc_ds->ds_tcpconnecttimeouts :
			    bc->bc_woff < bc->bc_wlen ?
			    &bc->bc_ds->ds_tcpwritetimeouts :
			    &bc->bc_ds->ds_tcpreadtimeouts, 1);
		} else if (bc->bc_wfailed)
			atomic_fetch_add(&bc->bc_ds->ds_tcpdiedsending, 1);
		else
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
		/* As dnsdist: retries counts the connections in all. */
		if (!timeout && (tq->tq_tries + 1 < bc->bc_ds->ds_retries ||
		    bc->bc_answered) &&
		    !(tq->tq_xfr && tq->tq_xfrmsgs > 0)) {
			if (!bc->bc_answered)
				tq->tq_tries++;
			if (tcp_forward(tw, tq, NULL))
				continue;
		}
		atomic_fetch_add(&bc->bc_ds->ds_tcpgaveup, 1);
		if (!timeout)
			server_lazy_report(bc->bc_ds, true);
		query_giveup(tw, tq);
	}
}

/*
 * dq_grow of an answer, which sits in the connection's read buffer: a
 * response hook that lengthens it gets a copy of the size TCP carries
 * (dq_growarg: where the copy goes, for the caller to free).
 */
static bool
answer_grow(struct dnsq *dq, size_t size)
{
	uint8_t	**big = dq->dq_growarg;

	if (*big != NULL || size > DNS_MAXUDP ||
	    (*big = malloc(DNS_MAXUDP)) == NULL)
		return false;
	memcpy(*big, dq->dq_pkt, dq->dq_len);
	dq->dq_pkt = *big;
	dq->dq_size = DNS_MAXUDP;
	return true;
}

/* dr:suspend() of the answer to tq (arg): held, it is away as for a query. */
static bool
bconn_hold(struct dnsq *dq, void *arg)
{
	struct tcp_query	*tq = arg;

	if (!async_hold(NULL, dq, dq->dq_remote, addr_len(dq->dq_remote),
	    NULL, true, tq))
		return false;
	LIST_INSERT_HEAD(&tq->tq_tw->tw_atudp, tq, tq_atudp);
	return true;
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
	uint8_t			*big = NULL;
	uint16_t		 slot;
	uint64_t		 usec, ckey;
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
		goto empty;	/* the right ID, another question */
	else if (config_now()->cf_fixupcase) {
		/* fixupCase(): the client's own case in the question. */
		memcpy(pkt + DNS_HDRLEN, tq->tq_q.q_name, q.q_namelen);
		memcpy(q.q_name, tq->tq_q.q_name, q.q_namelen);
	}
	if (!tq->tq_xfr || tq->tq_xfrmsgs == 0)
		server_lazy_answer(bc->bc_ds, dnspacket_rcode(pkt));
	usec = (tw->tw_now - tq->tq_sent) / 1000;
	tc = tq->tq_client;
	if (tq->tq_xfr) {
		if (tq->tq_xfrmsgs == 0) {
			clock_gettime(CLOCK_REALTIME, &now);
			pipeline_ring_response(tc != NULL ? client_addr(tc) :
			    (struct sockaddr *)&tq->tq_from, &q, pkt, len, usec,
			    bc->bc_ds, &now);
			record_response(bc->bc_ds, pkt, len, usec,
			    tq_proto(tq), true);
		}
		if (xfr_message(tq, pkt, len))
			goto xfrend;
		return;
	}
	tq = bconn_take(bc, slot);
	bc->bc_answered = true;
	bc->bc_lastanswer = tw->tw_now;
	dnspacket_set_id(pkt, tq->tq_origid);
	dnspacket_restore_flags(pkt, tq->tq_qflags);
	/* An answer for every subnet goes under the key without ours. */
	ckey = tq->tq_zeroscope && edns_ecs_scope(pkt, len, &q) == 0 ?
	    tq->tq_ckey0 : tq->tq_ckey;
	/*
	 * The client gets no ECS it did not send, nor an OPT record; an
	 * answer too broken to take them out of is dropped, as by dnsdist.
	 */
	if ((tq->tq_ecsadded || tq->tq_optadded) &&
	    edns_strip_ecs(pkt, &len, &q, tq->tq_optadded) == -1) {
		stats_inc(STAT_NONCOMPLIANT_RESPONSES);
		atomic_fetch_add(&bc->bc_ds->ds_noncompliant, 1);
		query_done(tw, tq);
		return;
	}
	if (tc == NULL && !tq->tq_udp) {
		/* Its client is gone: the cache may still use the answer. */
		if (tq->tq_cache != NULL && (tq->tq_udpcache == 0 ||
		    len <= tq->tq_udpcache))
			pcache_put(tq->tq_cache, ckey, &q,
			    tq->tq_udpcache == 0, pkt, len,
			    (time_t)(tw->tw_now / 1000000000ULL),
			    tq->tq_tempfailttl);
	} else if (pipeline_response_needed(tq->tq_cache, tq->tq_ttlcap)) {
		dnsq_init(&dq, pkt, len, len, &q, tc != NULL ? client_addr(tc) :
		    (struct sockaddr *)&tq->tq_from, tw->tw_now, &tw->tw_rnd);
		dq.dq_tcp = !tq->tq_udp;
		dq.dq_udpcache = tq->tq_udpcache;
		dq.dq_qstart = tq->tq_sent;
		if (tc != NULL) {
			dq.dq_local = (struct sockaddr *)
			    &tc->tc_li->li_local->lc_addr;
			dq.dq_tls = tc->tc_tls != NULL;
		}
		dq.dq_dnscrypt = tq->tq_dnscrypt ? &tq->tq_dc : NULL;
		dnsq_tags_load(&dq, tq->tq_tags);
		dq.dq_ttlcap = tq->tq_ttlcap;
		dq.dq_tempfailttl = tq->tq_tempfailttl;
		/* What a held answer takes along (dr:suspend()). */
		dq.dq_cache = tq->tq_cache;
		dq.dq_ckey = ckey;
		dq.dq_pool = tq->tq_pool != NULL ? tq->tq_pool : "";
		dq.dq_restart = tq->tq_restart;
		dq.dq_canrestart = true;
		dq.dq_grow = answer_grow;
		dq.dq_growarg = &big;
		tq->tq_tw = tw;
		dq.dq_hold = bconn_hold;
		dq.dq_holdarg = tq;
		keep = pipeline_response(&dq, tq->tq_cache, ckey);
		pkt = dq.dq_pkt;
		len = dq.dq_len;
		if (dq.dq_restarting) {
			free(big);
			atomic_fetch_add(&bc->bc_ds->ds_responses, 1);
			query_restart(tw, tq, dq.dq_pool);
			return;
		}
		if (!keep && dq.dq_suspend) {
			/* Counted now, sent when it resumes; or dropped. */
			if (!dq.dq_asyncheld) {
				free(big);
				query_done(tw, tq);
				return;
			}
			record_response(bc->bc_ds, pkt, len, usec, tq_proto(tq),
			    true);
			free(big);
			return;
		}
	}
	record_response(bc->bc_ds, pkt, len, usec, tq_proto(tq), true);
	if (keep && (tc != NULL || tq->tq_udp)) {
		clock_gettime(CLOCK_REALTIME, &now);
		pipeline_ring_response(tc != NULL ? client_addr(tc) :
		    (struct sockaddr *)&tq->tq_from, &q, pkt, len, usec,
		    bc->bc_ds, &now);
		query_reply(tq, pkt, len);
	}
	free(big);
	query_done(tw, tq);
	return;
empty:
	/*
	 * NOERROR or NXDOMAIN without a question, or an answer to another
	 * question, answers nothing: as dnsdist does, the query ends there
	 * and its client is let go.  The connection framed it well and
	 * stays.
	 */
	stats_inc(STAT_NONCOMPLIANT_RESPONSES);
	atomic_fetch_add(&bc->bc_ds->ds_noncompliant, 1);
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
	atomic_fetch_add(&bc->bc_ds->ds_noncompliant, 1);
	bconn_fail(tw, bc, false);
}

/* DNS over HTTPS: the query of a stream, by its ID on the connection. */
static const uint8_t *
bconn_h2_body(void *arg, uint16_t bid, size_t *len)
{
	struct tcp_bconn	*bc = arg;
	struct tcp_query	*tq = bc->bc_slots[(bid & 0xff) % bc->bc_depth];

	if (tq == NULL || tq->tq_bid != bid)
		return NULL;
	*len = tq->tq_len - 2;
	return tq->tq_buf + 2;
}

/*
 * A stream's end: a 200 carries the answer, whatever ID the server gave
 * it; any other end fails the query alone, except a stream the server
 * refused (GOAWAY), which goes to another connection.
 */
static void
bconn_h2_done(void *arg, uint16_t bid, int status, uint8_t *body, size_t len)
{
	struct tcp_bconn	*bc = arg;
	struct tcp_worker	*tw = bc->bc_tw;
	struct tcp_query	*tq;
	uint16_t		 slot = (bid & 0xff) % bc->bc_depth;

	if ((tq = bc->bc_slots[slot]) == NULL || tq->tq_bid != bid)
		return;
	if (status == 200 && len >= DNS_HDRLEN) {
		dnspacket_set_id(body, bid);
		bconn_answer(tw, bc, body, len);
		/* A transfer's one message is all it gets here. */
		if (bc->bc_slots[slot] == tq) {
			tq = bconn_take(bc, slot);
			bc->bc_xfr = false;
			query_done(tw, tq);
		}
		return;
	}
	tq = bconn_take(bc, slot);
	if (status == DOHC_REFUSED && tq->tq_tries + 1 < bc->bc_ds->ds_retries) {
		tq->tq_tries++;
		if (tcp_forward(tw, tq, NULL))
			return;
	}
	if (status > 0)
		log_debug("DoH to %s: HTTP status %d", bc->bc_ds->ds_addrtext,
		    status);
	atomic_fetch_add(&bc->bc_ds->ds_tcpgaveup, 1);
	server_lazy_report(bc->bc_ds, true);
	if (tq->tq_client == NULL && !tq->tq_udp)
		query_free(tw, tq);
	else
		query_giveup(tw, tq);
}

/* Read or write bc, in the clear or over TLS. */
static ssize_t
bconn_rw(struct tcp_bconn *bc, uint8_t *buf, size_t len, bool wr)
{
	if (bc->bc_tls != NULL)
		return tls_backend_io(bc->bc_tls, buf, len, wr, &bc->bc_want);
	return wr ? write(bc->bc_fd, buf, len) : read(bc->bc_fd, buf, len);
}

/* Write the queries queued on bc, all at once. */
void
bconn_write(struct tcp_worker *tw, struct tcp_bconn *bc)
{
	ssize_t	n;

	while (bc->bc_woff < bc->bc_wlen) {
		n = bconn_rw(bc, bc->bc_wbuf + bc->bc_woff,
		    bc->bc_wlen - bc->bc_woff, true);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK) {
				/*
				 * A server that answered and closed: its
				 * answers wait unread, and a query they
				 * answer must not go again.
				 */
				bc->bc_wfailed = true;
				bconn_read(tw, bc);
				bconn_fail(tw, bc, false);
			}
			return;
		}
		bc->bc_woff += (size_t)n;
	}
	bc->bc_woff = bc->bc_wlen = 0;
}

/*
 * Read what the server sent and pass on every whole message; false when
 * there is no more to read now.
 */
static bool
bconn_read1(struct tcp_worker *tw, struct tcp_bconn *bc)
{
	struct tcp_query	*tq;
	struct tcp_client	*tc;
	size_t			 off, mlen;
	ssize_t			 n;
	int			 s;

	if (!buf_reserve(&bc->bc_rbuf, &bc->bc_rcap, bc->bc_rlen + 512 >
	    TCP_RBUF ? bc->bc_rlen + 512 : TCP_RBUF, &tw->tw_held)) {
		bconn_fail(tw, bc, false);
		return false;
	}
	n = bconn_rw(bc, bc->bc_rbuf + bc->bc_rlen, bc->bc_rcap - bc->bc_rlen,
	    false);
	if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK ||
	    errno == EINTR))
		return false;
	if (n <= 0) {
		/* Closed (or junk) while idle is no failure of a query. */
		if (bc->bc_npending == 0 && bc->bc_answered &&
		    bc->bc_pplen == 0)
			atomic_store(&bc->bc_ds->ds_tcpclosedidle,
			    bc->bc_lastanswer);
		bconn_fail(tw, bc, false);
		return false;
	}
	if (bc->bc_h2 != NULL) {
		/* HTTP/2 frames: the session keeps what it has not used. */
		if (dohc_input(bc->bc_h2, bc->bc_rbuf, (size_t)n) == -1) {
			bconn_fail(tw, bc, false);
			return false;
		}
		bconn_h2_flush(tw, bc);
		/* Over after a GOAWAY: its queries were answered or moved. */
		if (!bc->bc_dead && !dohc_alive(bc->bc_h2))
			bconn_fail(tw, bc, false);
		return !bc->bc_dead;
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
		return false;
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
	return !bc->bc_dead;
}

/*
 * TLS may hold records it has decrypted with nothing left for poll to
 * report: read until it wants more (a bounded number of times).
 */
static void
bconn_read(struct tcp_worker *tw, struct tcp_bconn *bc)
{
	int	i = 0;

	while (bconn_read1(tw, bc) && bc->bc_tls != NULL && ++i < 64 &&
	    bconn_reading(bc))
		;
}

void
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
		bc->bc_deadline = tw->tw_now +
		    (uint64_t)bc->bc_ds->ds_tcprecvtimeout * 1000000000ULL;
		if (bc->bc_ds->ds_tls && (bc->bc_tls = tls_backend_start(
		    bc->bc_ds, bc->bc_fd, true)) == NULL) {
			bconn_fail(tw, bc, false);
			return;
		}
	}
	/* TLS may want to read to write, or the reverse: try both. */
	if (bc->bc_tls != NULL && revents != 0)
		revents |= POLLIN | POLLOUT;
	/*
	 * Reading first: a server that answered and closed (a reset, when
	 * queries were left unread) has its answers taken before a write
	 * fails on the closed connection.
	 */
	if ((revents & (POLLIN | POLLERR | POLLHUP)) &&
	    (bc->bc_tls == NULL || bconn_reading(bc)))
		bconn_read(tw, bc);
	if (!bc->bc_dead && (revents & (POLLOUT | POLLERR | POLLHUP)))
		bconn_write(tw, bc);
}

/*
 * Send a query to a server of its pool (ds NULL) or to ds; false when no
 * server is up or none can be reached.
 */
bool
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

void
bconn_free(struct tcp_worker *tw, struct tcp_bconn *bc)
{
	struct server	*ds = bc->bc_ds;
	double		 v;

	/* dnsdist's averages over about 100 connections. */
	v = atomic_load(&ds->ds_tcpavgqueries);
	atomic_store(&ds->ds_tcpavgqueries, v * 0.99 +
	    (double)bc->bc_used * 0.01);
	v = atomic_load(&ds->ds_tcpavgduration);
	atomic_store(&ds->ds_tcpavgduration, v * 0.99 +
	    (double)(tw->tw_now - bc->bc_opened) / 1e6 * 0.01);
	atomic_fetch_sub(&ds->ds_tcpcurrent, 1);
	dohc_free(bc->bc_h2);
	tls_backend_close(bc->bc_tls);
	close(bc->bc_fd);
	free(bc->bc_slots);
	free(bc->bc_free);
	buf_free(&bc->bc_wbuf, &bc->bc_wcap, &tw->tw_held);
	buf_free(&bc->bc_rbuf, &bc->bc_rcap, &tw->tw_held);
	server_unref(bc->bc_ds);
	free(bc->bc_pp);
	free(bc);
}

/* Is bc one too many idle connections to its server? */
bool
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
	return nidle >= (size_t)(bc->bc_h2 != NULL ?
	    config_now()->cf_dohcachedperds : config_now()->cf_tcpcachedperds);
}

/* Should bc be read?  Not while its transfer's client is behind. */
bool
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
