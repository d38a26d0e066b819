/*
 * TCP client connections: queries read many at a time, sent on through
 * the pipeline, and their answers queued and written once a round, within
 * what a connection and its worker may hold.  Answers for UDP clients of
 * tcpOnly servers go back over UDP from here too.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "addr.h"
#include "cache.h"
#include "config.h"
#include "edns.h"
#include "dnsdist.h"
#include "rule.h"
#include "stats.h"
#include "tcp.h"

static ssize_t
plain_read(struct tcp_client *tc, void *buf, size_t len)
{
	return read(tc->tc_fd, buf, len);
}

static ssize_t
plain_write(struct tcp_client *tc, const void *buf, size_t len)
{
	return write(tc->tc_fd, buf, len);
}

static void
plain_close(struct tcp_client *tc)
{
	(void)tc;
}

const struct tcp_transport tcp_plain = {
	"TCP", NULL, plain_read, plain_write, plain_close, NULL
};

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

/*
 * Queue bytes for the client, written at the end of the round; false
 * when the connection is closed instead.
 */
bool
client_out(struct tcp_client *tc, const uint8_t *p, size_t len)
{
	size_t	cap = tc->tc_ocap, need;

	if (tc->tc_dead)
		return false;
	if (len == 0)
		return true;
	if (tc->tc_ooff > 0 && tc->tc_ooff == tc->tc_olen)
		tc->tc_ooff = tc->tc_olen = 0;
	need = buf_size(cap, tc->tc_olen + len);
	if (need > cap && !client_room(tc, need - cap))
		return false;
	if (!buf_reserve(&tc->tc_obuf, &tc->tc_ocap, tc->tc_olen + len,
	    &tc->tc_tw->tw_held)) {
		tc->tc_dead = true;
		return false;
	}
	if (tc->tc_olen == tc->tc_ooff)
		tc->tc_wdeadline = 0;	/* starts at the first write */
	memcpy(tc->tc_obuf + tc->tc_olen, p, len);
	tc->tc_olen += len;
	return true;
}

/* A DNS message for the client: length-prefixed, or a DoH answer. */
static void
client_queue(struct tcp_client *tc, int32_t stream, const uint8_t *pkt,
    size_t len)
{
	uint8_t	pfx[2] = { (uint8_t)(len >> 8), (uint8_t)len };

	atomic_fetch_add_explicit(&tc->tc_li->li_tcpresponses, 1,
	    memory_order_relaxed);
	if (tc->tc_doh != NULL)
		doh_answer(tc, stream, pkt, len);
	else if (client_out(tc, pfx, 2))
		client_out(tc, pkt, len);
}

bool
client_writing(const struct tcp_client *tc)
{
	return tc->tc_olen > tc->tc_ooff ||
	    (tc->tc_doh != NULL && !tc->tc_dead && doh_want_write(tc));
}

/* More queries are read only while little is held (TCP_OUTMAX). */
bool
client_reading(const struct tcp_client *tc)
{
	int	max = tc->tc_li->li_local->lc_maxinflight;

	if (max <= 0 || max > TCP_MAXINFLIGHT)
		max = TCP_MAXINFLIGHT;
	return !tc->tc_eof && !tc->tc_dead && !tc->tc_handshaking &&
	    tc->tc_inflight < max && client_held(tc) < TCP_OUTMAX &&
	    tc->tc_tw->tw_held < tc->tc_tw->tw_share &&
	    (tc->tc_doh == NULL || doh_reading(tc));
}

/* How long a connection may stay without a query: DoH's idleTimeout. */
uint64_t
client_idle(const struct tcp_client *tc)
{
	return TCP_SECS(tc->tc_li->li_local->lc_doh != NULL ?
	    tc->tc_li->li_local->lc_doh->df_idletimeout :
	    config_now()->cf_tcprecvtimeout);
}

/*
 * The answer to a DNSCrypt query, encrypted in a copy that the caller
 * frees; NULL when it cannot be (dropped).
 */
static uint8_t *
dnscrypt_copy(const struct tcp_query *tq, const uint8_t *pkt, size_t *len,
    bool tcp)
{
	uint8_t	*enc;

	if ((enc = malloc(*len + DNSCRYPT_OVERHEAD)) == NULL)
		return NULL;
	memcpy(enc, pkt, *len);
	if ((*len = dnscrypt_encrypt(&tq->tq_dc, enc, *len,
	    *len + DNSCRYPT_OVERHEAD, tcp)) == 0) {
		free(enc);
		return NULL;
	}
	return enc;
}

/* Send an answer to a UDP client of a tcpOnly server. */
static void
udp_answer(struct tcp_query *tq, uint8_t *pkt, size_t len)
{
	struct listener		*li = &listeners[tq->tq_listener];
	struct dnsquestion	 q;
	struct msghdr		 m;
	struct iovec		 iov;
	uint8_t			 cbuf[COMPAT_CMSG_SPACE], *enc = NULL;

	/* Too big for the client: the question alone, truncated. */
	if (len > tq->tq_udpmax && dnspacket_question(pkt, len, &q) == 0)
		len = dnspacket_truncate(pkt, len, &q, rule_add_edns);
	if (tq->tq_dnscrypt && (pkt = enc = dnscrypt_copy(tq, pkt, &len,
	    false)) == NULL)
		return;
	memset(&m, 0, sizeof(m));
	iov.iov_base = pkt;
	iov.iov_len = len;
	m.msg_name = &tq->tq_from;
	m.msg_namelen = tq->tq_fromlen;
	m.msg_iov = &iov;
	m.msg_iovlen = 1;
	if (li->li_wildcard)
		compat_pktinfo_set(&m, cbuf, &tq->tq_dst);
	if (!atomic_load_explicit(&li->li_local->lc_muted,
	    memory_order_relaxed) && sendmsg(li->li_udpfd, &m, 0) == -1)
		log_debug("udp_answer: %s", strerror(errno));
	free(enc);
	atomic_fetch_add_explicit(&li->li_workerresponses, 1,
	    memory_order_relaxed);
}

/* Hand an answer (or a self-made one) to whoever asked. */
void
query_reply(struct tcp_query *tq, uint8_t *pkt, size_t len)
{
	uint8_t	*enc;

	tq->tq_replied = true;
	if (tq->tq_udp)
		udp_answer(tq, pkt, len);
	else if (tq->tq_client != NULL && !tq->tq_dnscrypt)
		client_queue(tq->tq_client, tq->tq_stream, pkt, len);
	else if (tq->tq_client != NULL &&
	    (enc = dnscrypt_copy(tq, pkt, &len, true)) != NULL) {
		client_queue(tq->tq_client, tq->tq_stream, enc, len);
		free(enc);
	}
}

/* The query is finished with: the client may send another. */
void
query_done(struct tcp_worker *tw, struct tcp_query *tq)
{
	if (tq->tq_client != NULL) {
		/* A DoH stream that got no answer (a response rule dropped it). */
		if (tq->tq_client->tc_doh != NULL && !tq->tq_replied)
			doh_error(tq->tq_client, tq->tq_stream, 403);
		tq->tq_client->tc_inflight--;
		tq->tq_client->tc_qheld -= QUERY_SIZE(tq);
	}
	query_free(tw, tq);
}

/* No answer will come: SERVFAIL rather than leave the client waiting. */
void
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
	/* servfail-responses counts the backends' only. */
	stats_inc(STAT_RESPONSES);
	stats_rcode(DNS_RCODE_SERVFAIL);
	query_done(tw, tq);
}

/*
 * A query that no backend will answer.  As dnsdist does, a TCP or DoT
 * client's connection is closed: it gets no answer rather than a
 * SERVFAIL.  A DoH stream and a query from a UDP client get SERVFAIL.
 */
void
query_giveup(struct tcp_worker *tw, struct tcp_query *tq)
{
	if (tq->tq_client != NULL && tq->tq_client->tc_doh == NULL) {
		tq->tq_client->tc_dead = true;
		query_done(tw, tq);
		return;
	}
	query_servfail(tw, tq);
}

/* The client the rules and rings see: the proxied one, if it is. */
const struct sockaddr *
client_addr(const struct tcp_client *tc)
{
	return (const struct sockaddr *)(tc->tc_proxied ? &tc->tc_ppsrc :
	    &tc->tc_addr);
}

bool
query_proxy_header(struct tcp_query *tq, const struct dnsq *dq,
    const struct server *ds)
{
	size_t	tlvlen = dq->dq_pp != NULL ? dq->dq_pp->pt_len : 0;
	size_t	room = PP_HDRLEN + 36 + tlvlen;

	if (!ds->ds_proxyproto || tq->tq_pp != NULL)
		return true;
	if ((tq->tq_pp = malloc(room)) == NULL)
		return false;
	tq->tq_pplen = proxyproto_build(tq->tq_pp, room, dq->dq_remote,
	    dq->dq_local, dq->dq_tcp, tlvlen > 0 ? dq->dq_pp->pt_buf : NULL,
	    tlvlen);
	return tq->tq_pplen > 0;
}

/* dq_grow over TCP: a hook may make the query a whole TCP message. */
static bool
query_grow(struct dnsq *dq, size_t size)
{
	struct tcp_query	*tq = dq->dq_growarg;
	uint8_t			*big;

	if (tq->tq_big != NULL || size > DNS_MAXUDP ||
	    (big = malloc(2 + DNS_MAXUDP)) == NULL)
		return false;
	memcpy(big, tq->tq_buf, 2 + dq->dq_len);
	tq->tq_big = tq->tq_buf = big;
	dq->dq_pkt = big + 2;
	dq->dq_size = DNS_MAXUDP;
	return true;
}

/*
 * Send tq on to ds, which dq (its query, in tq's buffer) was routed to:
 * over TCP, or as DoH queries go; false when it cannot go.
 */
static bool
query_forward(struct tcp_worker *tw, struct tcp_query *tq,
    const struct dnsq *dq, struct server *ds,
    const struct sockaddr_storage *from)
{
	struct dq_tagset	*ts;

	/* The rules may have rewritten the query (RD, CD). */
	tq->tq_buf[0] = (uint8_t)(dq->dq_len >> 8);
	tq->tq_buf[1] = (uint8_t)dq->dq_len;
	tq->tq_len = dq->dq_len + 2;
	tq->tq_origid = dnspacket_id(dq->dq_pkt);
	tq->tq_qflags = dq->dq_qflags;
	tq->tq_xfr = dq->dq_q->q_type == DNS_TYPE_AXFR ||
	    dq->dq_q->q_type == DNS_TYPE_IXFR;
	tq->tq_cache = tq->tq_xfr ? NULL : dq->dq_cache;
	tq->tq_ckey = dq->dq_ckey;
	tq->tq_ckey0 = dq->dq_ckey0;
	tq->tq_zeroscope = dq->dq_zeroscope;
	tq->tq_ecsadded = dq->dq_ecsadded && !dq->dq_ecsclient;
	tq->tq_optadded = dq->dq_optadded;
	tq->tq_udpcache = dq->dq_udpcache;
	tq->tq_ttlcap = dq->dq_ttlcap;
	tq->tq_tempfailttl = dq->dq_tempfailttl;
	/* A restarted query's tags are still read from the old set. */
	ts = dnsq_tags_save(dq);
	dnsq_tags_free(tq->tq_tags);
	tq->tq_tags = ts;
	tq->tq_pool = dq->dq_poolp->pl_name;
	if (tq->tq_restart != NULL)
		tq->tq_restart->rs_skipcache |= dq->dq_skipcache;
	return tcp_via_udp(tw, tq, ds, from) || bconn_send(tw, tq, ds);
}

/*
 * dq:suspend() of the query of tq (arg): held, it is away as a DoH query
 * at a UDP loop is, and its client may go; it comes back to
 * client_resume().
 */
static bool
client_hold(struct dnsq *dq, void *arg)
{
	struct tcp_query	*tq = arg;
	struct tcp_client	*tc = tq->tq_client;

	if (!async_hold(tc->tc_li, dq, (struct sockaddr *)&tq->tq_from,
	    addr_len((struct sockaddr *)&tq->tq_from), NULL, false, tq))
		return false;
	tc->tc_inflight++;
	tc->tc_qheld += QUERY_SIZE(tq);
	LIST_INSERT_HEAD(&tq->tq_tw->tw_atudp, tq, tq_atudp);
	return true;
}

/*
 * Where the pipeline sent the query of tq: to ds, to the client (an
 * answer, or an HTTP status); or nowhere, held by dq:suspend().
 */
static void
client_send(struct tcp_worker *tw, struct tcp_query *tq, struct dnsq *dq,
    struct server *ds, int verdict, struct sockaddr_storage *from,
    const struct timespec *now)
{
	struct tcp_client	*tc = tq->tq_client;
	const struct dnsquestion *q = &tq->tq_q;
	int32_t			 stream = tq->tq_stream;
	uint8_t			*pkt = dq->dq_pkt;

	if (ds == NULL && verdict == VERDICT_ASYNC) {
		pp_tlvs_free(dq->dq_pp);
		dq->dq_pp = NULL;
		/* A held query is not restarted: its copy goes. */
		free(dq->dq_restart);
		dq->dq_restart = NULL;
		if (dq->dq_asyncheld)
			return;
		verdict = VERDICT_DROP;	/* it could not be held */
	}
	if (ds == NULL && verdict == VERDICT_HTTP) {
		doh_status(tc, stream, dq->dq_httpstatus, dq->dq_httpctype,
		    (const uint8_t *)dq->dq_httpbody, dq->dq_httpbodylen);
		free(dq->dq_restart);
		query_free(tw, tq);
		return;
	}
	if (ds != NULL)
		server_ref(ds);
	if (ds == NULL && !pipeline_answer_ok(dq, verdict))
		verdict = VERDICT_DROP;
	if (ds != NULL && !query_proxy_header(tq, dq, ds)) {
		server_unref(ds);
		ds = NULL;
		verdict = VERDICT_DROP;
	}
	pp_tlvs_free(dq->dq_pp);
	dq->dq_pp = NULL;
	if (ds == NULL) {
		free(dq->dq_restart);
		if (verdict == VERDICT_ANSWER || verdict == VERDICT_CACHED) {
			pipeline_ring_response((struct sockaddr *)from,
			    q, pkt, dq->dq_len, 0, NULL, now);
			query_reply(tq, pkt, dq->dq_len);
		} else if (tc->tc_doh != NULL)
			doh_error(tc, stream, 403);
		query_free(tw, tq);
		return;
	}
	tq->tq_restart = dq->dq_restart;
	tc->tc_inflight++;
	tc->tc_qheld += QUERY_SIZE(tq);
	if (!query_forward(tw, tq, dq, ds, from))
		query_giveup(tw, tq);
	server_unref(ds);
}

/*
 * A query just read from the client (from the HTTP/2 stream, 0 over TCP
 * or HTTP/1, and from the address X-Forwarded-For gave, or NULL): check
 * it and send it on.
 */
void
client_query(struct tcp_worker *tw, struct tcp_client *tc, const uint8_t *msg,
    size_t len, int32_t stream, struct sockaddr_storage *from,
    const struct doh_request *http)
{
	struct tcp_query	*tq;
	struct dnsquestion	*q;
	struct dnsq		 dq;
	struct server		*ds;
	bool			 optadded;
	struct dnscrypt_ctx	*dc = tc->tc_li->li_local->lc_dnscrypt;
	struct dnsopt		 opt;
	uint8_t			*pkt;
	struct timespec		 now;
	size_t			 n;
	int			 verdict;

	/* The client: X-Forwarded-For's, the PROXY header's, the peer. */
	if (from == NULL)
		from = tc->tc_proxied ? &tc->tc_ppsrc : &tc->tc_addr;
	stats_inc(STAT_QUERIES);
	atomic_fetch_add(&tc->tc_li->li_tcpqueries, 1);
	if (tc->tc_tr->tt_query != NULL)
		tc->tc_tr->tt_query(tc);
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
	/* Answers made here go through query_reply(), encrypted if need be. */
	tq->tq_client = tc;
	tq->tq_stream = stream;
	clock_gettime(CLOCK_REALTIME, &now);
	if (dc != NULL) {
		switch (dnscrypt_query(dc, now.tv_sec, pkt, &len, true,
		    &tq->tq_dc)) {
		case DNSCRYPT_CERTREQ:
			if ((n = dnscrypt_cert_answer(dc, now.tv_sec, pkt, len,
			    tq->tq_room - 2)) > 0)
				client_queue(tc, stream, pkt, n);
			query_free(tw, tq);
			return;
		case DNSCRYPT_BAD:
			stats_inc(STAT_NONCOMPLIANT_QUERIES);
			atomic_fetch_add(&tc->tc_li->li_tcpnoncompliant, 1);
			query_free(tw, tq);
			tc->tc_dead = true;
			return;
		case DNSCRYPT_QUERY:
			tq->tq_dnscrypt = true;
			break;
		}
	}
	/* As dnsdist: a query without a question gets NOTIMP, or nothing. */
	if (len >= DNS_HDRLEN && !dnspacket_qr(pkt) &&
	    dnspacket_qdcount(pkt) == 0 &&
	    !config_now()->cf_dropemptyqueries) {
		stats_inc(STAT_EMPTY_QUERIES);
		dnspacket_set_qr(pkt, true);
		dnspacket_set_rcode(pkt, DNS_RCODE_NOTIMP);
		query_reply(tq, pkt, len);
		query_free(tw, tq);
		return;
	}
	if (len < DNS_HDRLEN || dnspacket_qr(pkt) ||
	    dnspacket_qdcount(pkt) == 0 ||
	    dnspacket_question(pkt, len, q) == -1) {
		if (len >= DNS_HDRLEN && !dnspacket_qr(pkt) &&
		    dnspacket_qdcount(pkt) == 0)
			stats_inc(STAT_EMPTY_QUERIES);
		else {
			stats_inc(STAT_NONCOMPLIANT_QUERIES);
			atomic_fetch_add(&tc->tc_li->li_tcpnoncompliant, 1);
		}
		query_free(tw, tq);
		if (tc->tc_doh != NULL)
			doh_error(tc, stream, 400);
		else
			tc->tc_dead = true;	/* dnsdist closes them */
		return;
	}
	if (dnspacket_rd(pkt))
		stats_inc(STAT_RDQUERIES);
	pipeline_ring_query((struct sockaddr *)from, q, len, &now);
	/*
	 * As dnsdist, a DoH query has an OPT record offering 4096 bytes
	 * before the rules and the cache see it, so that it may go over UDP
	 * and share UDP's cache entries; its answer loses it again.
	 */
	optadded = tc->tc_doh != NULL && edns_add_opt(pkt, &len,
	    tq->tq_room - 2, q, EDNS_DOH_PAYLOAD) == 1;
	dnsq_init(&dq, pkt, len, tq->tq_room - 2, q,
	    (struct sockaddr *)from, tw->tw_now, &tw->tw_rnd);
	dq.dq_grow = query_grow;
	dq.dq_growarg = tq;
	dq.dq_local = tc->tc_proxied ? (struct sockaddr *)&tc->tc_ppdst :
	    (struct sockaddr *)&tc->tc_li->li_local->lc_addr;
	dq.dq_tcp = true;
	dq.dq_http = http;
	/* As dnsdist, DoH shares the cache with UDP (its answers fit). */
	if (http != NULL && dnspacket_find_opt(dq.dq_pkt, dq.dq_len, q->q_end,
	    &opt) == 1)
		dq.dq_udpcache = frontend_udp_limit(&dq);
	dq.dq_optadded = optadded;
	dq.dq_dnscrypt = tq->tq_dnscrypt ? &tq->tq_dc : NULL;
	dq.dq_tls = tc->tc_tls != NULL;
	dq.dq_sni = tc->tc_sni;
	/* Each query starts with the values of its connection's header. */
	if (tc->tc_pptlvs != NULL)
		dq.dq_pp = pp_tlvs_from(tc->tc_pptlvs->pt_buf,
		    tc->tc_pptlvs->pt_len);
	/* The snapshot in dq holds rules, pools and servers till the poll. */
	tq->tq_tw = tw;
	tq->tq_from = *from;
	dq.dq_hold = client_hold;
	dq.dq_holdarg = tq;
	ds = pipeline_query(&dq, &verdict);
	if (tq->tq_big != NULL)
		tw->tw_held += 2 + DNS_MAXUDP;
	client_send(tw, tq, &dq, ds, verdict, from, &now);
}

/*
 * dr:restart() on the answer to tq: as backend_restart() for UDP, the
 * query goes again, as setRestartable() kept it, to a server of pool
 * (dr.pool), over TCP or as DoH queries go, with what its rules left; or
 * gets that pool's cached answer, or none.  The rules do not run again.
 */
void
query_restart(struct tcp_worker *tw, struct tcp_query *tq, const char *pool)
{
	struct dq_restart	*rs = tq->tq_restart;
	struct tcp_client	*tc = tq->tq_client;
	struct sockaddr_storage	 from = tq->tq_from;
	struct server		*ds;
	struct dnsq		 dq;
	size_t			 size;
	int			 verdict;

	size = tq->tq_big != NULL ? DNS_MAXUDP : tq->tq_room - 2;
	rs->rs_count++;
	tq->tq_tcretry = false;		/* a new query for its server */
	if (rs->rs_len > size) {
		query_giveup(tw, tq);
		return;
	}
	memcpy(tq->tq_buf + 2, rs->rs_pkt, rs->rs_len);
	if (dnspacket_question(tq->tq_buf + 2, rs->rs_len, &tq->tq_q) == -1) {
		query_giveup(tw, tq);
		return;
	}
	if (tc != NULL)
		memcpy(&from, client_addr(tc), addr_len(client_addr(tc)));
	dnsq_init(&dq, tq->tq_buf + 2, rs->rs_len, size, &tq->tq_q,
	    (struct sockaddr *)&from, tw->tw_now, &tw->tw_rnd);
	dq.dq_local = tc == NULL ? (struct sockaddr *)
	    &listeners[tq->tq_listener].li_local->lc_addr : tc->tc_proxied ?
	    (struct sockaddr *)&tc->tc_ppdst :
	    (struct sockaddr *)&tc->tc_li->li_local->lc_addr;
	dq.dq_tcp = !tq->tq_udp;
	dq.dq_tls = tc != NULL && tc->tc_tls != NULL;
	dq.dq_sni = tc != NULL ? tc->tc_sni : NULL;
	dq.dq_pool = pool;
	dq.dq_skipcache = rs->rs_skipcache;
	dq.dq_qflags = tq->tq_qflags;
	dq.dq_optadded = tq->tq_optadded;
	dq.dq_udpcache = tq->tq_udpcache;
	dq.dq_ttlcap = tq->tq_ttlcap;
	dq.dq_tempfailttl = tq->tq_tempfailttl;
	dq.dq_dnscrypt = tq->tq_dnscrypt ? &tq->tq_dc : NULL;
	dnsq_tags_load(&dq, tq->tq_tags);
	ds = pipeline_route(&dq, &verdict);
	free(dq.dq_restart);	/* what a Lua policy made: not this query */
	if (ds == NULL) {
		if (pipeline_answer_ok(&dq, verdict))
			query_reply(tq, dq.dq_pkt, dq.dq_len);
		query_done(tw, tq);
		return;
	}
	server_ref(ds);
	if (!query_proxy_header(tq, &dq, ds) ||
	    !query_forward(tw, tq, &dq, ds, &from))
		query_giveup(tw, tq);
	server_unref(ds);
}

/*
 * A held query of tq's comes back (TCP_UDP_HELD): the pipeline goes on
 * with it where its rules ended, unless its client went.
 */
void
client_resume(struct tcp_worker *tw, struct tcp_query *tq)
{
	struct tcp_client	*tc = tq->tq_client;
	struct dnsq		*dq;
	struct server		*ds;
	struct timespec		 now;
	int			 verdict;
	bool			 answer;

	dq = async_held_dq(tq->tq_held, &answer);
	if (dq != NULL && answer) {
		/* A backend's answer: the cache, and on to the client. */
		dq->dq_cf = config_now();
		dq->dq_now = tw->tw_now;
		dq->dq_rnd = &tw->tw_rnd;
		if ((tc != NULL || tq->tq_udp) &&
		    pipeline_response(dq, dq->dq_cache, dq->dq_ckey)) {
			clock_gettime(CLOCK_REALTIME, &now);
			pipeline_ring_response(dq->dq_remote, &tq->tq_q,
			    dq->dq_pkt, dq->dq_len, 0, NULL, &now);
			query_reply(tq, dq->dq_pkt, dq->dq_len);
		}
		query_done(tw, tq);
		async_held_free(tq->tq_held);
		return;
	}
	/* drop(), a client gone, or no room for what setContent() made. */
	if (tc == NULL || dq == NULL || dq->dq_len > tq->tq_room - 2) {
		query_done(tw, tq);
		async_held_free(tq->tq_held);
		return;
	}
	tc->tc_inflight--;
	tc->tc_qheld -= QUERY_SIZE(tq);
	memcpy(tq->tq_buf + 2, dq->dq_pkt, dq->dq_len);
	tq->tq_q = *dq->dq_q;
	dq->dq_pkt = tq->tq_buf + 2;
	dq->dq_size = tq->tq_room - 2;
	dq->dq_q = &tq->tq_q;
	dq->dq_qown = NULL;
	dq->dq_grow = query_grow;
	dq->dq_growarg = tq;
	dq->dq_cf = config_now();
	dq->dq_now = tw->tw_now;
	dq->dq_rnd = &tw->tw_rnd;
	dq->dq_sni = tc->tc_sni;
	dq->dq_dnscrypt = tq->tq_dnscrypt ? &tq->tq_dc : NULL;
	dq->dq_hold = client_hold;
	dq->dq_holdarg = tq;
	clock_gettime(CLOCK_REALTIME, &now);
	ds = pipeline_resume(dq, &verdict);
	client_send(tw, tq, dq, ds, verdict, &tq->tq_from, &now);
	async_held_free(tq->tq_held);
}

/*
 * setProxyProtocolACL: the header before the first query.  False while it
 * has not all come, or when the connection is to go.
 */
static bool
client_unproxy(struct tcp_client *tc, size_t *need)
{
	struct proxied	px;
	size_t		used;
	int		r;

	r = pipeline_proxy(config_now(), tc->tc_rbuf, tc->tc_rlen,
	    (struct sockaddr *)&tc->tc_addr, &px, &used);
	if (r == PP_MORE) {
		*need = used;
		return false;
	}
	if (r != PP_OK) {
		tc->tc_dead = true;
		return false;
	}
	tc->tc_ppwait = false;
	if (!px.px_local) {
		tc->tc_proxied = true;
		tc->tc_ppsrc = px.px_src;
		tc->tc_ppdst = px.px_dst;
		tc->tc_pptlvs = px.px_tlvs;
	}
	memmove(tc->tc_rbuf, tc->tc_rbuf + used, tc->tc_rlen - used);
	tc->tc_rlen -= used;
	return true;
}

/* Handle the whole queries in the read buffer, as many as may be. */
void
client_parse(struct tcp_worker *tw, struct tcp_client *tc)
{
	size_t	off = 0, mlen, need;
	int	maxq;

	if (tc->tc_ppwait && !client_unproxy(tc, &need))
		return;
	if (tc->tc_doh != NULL) {
		doh_parse(tw, tc);
		return;
	}
	while (tc->tc_rlen - off >= 2 && client_reading(tc)) {
		mlen = (size_t)tc->tc_rbuf[off] << 8 | tc->tc_rbuf[off + 1];
		if (tc->tc_rlen - off < 2 + mlen)
			break;
		client_query(tw, tc, tc->tc_rbuf + off + 2, mlen, 0, NULL,
		    NULL);
		off += 2 + mlen;
		maxq = config_now()->cf_maxtcpqueriesperconn;
		if (maxq > 0 && tc->tc_nqueries >= maxq) {
			tc->tc_eof = true;	/* read no more */
			off = tc->tc_rlen;
		}
	}
	if (off > 0) {
		memmove(tc->tc_rbuf, tc->tc_rbuf + off, tc->tc_rlen - off);
		tc->tc_rlen -= off;
	}
}

/*
 * A PROXY header before a TLS handshake (proxyProtocolOutsideTLS) comes in
 * the clear: read from the socket no further than its end, so that the
 * handshake starts with the bytes after it.  True once it is in.
 */
static bool
client_unproxy_raw(struct tcp_client *tc)
{
	size_t	need;
	ssize_t	n;

	for (;;) {
		need = PP_HDRLEN;
		if (tc->tc_rlen >= PP_HDRLEN) {
			if (client_unproxy(tc, &need))
				return true;
			if (tc->tc_dead)
				return false;
		}
		if (!buf_reserve(&tc->tc_rbuf, &tc->tc_rcap, need, NULL)) {
			tc->tc_dead = true;
			return false;
		}
		n = read(tc->tc_fd, tc->tc_rbuf + tc->tc_rlen,
		    need - tc->tc_rlen);
		if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK ||
		    errno == EINTR))
			return false;
		if (n <= 0) {
			tc->tc_dead = true;
			return false;
		}
		tc->tc_rlen += (size_t)n;
	}
}

/* The transport's handshake: when done, what came with it is read. */
void
client_handshake(struct tcp_worker *tw, struct tcp_client *tc)
{
	int	r;

	if (tc->tc_ppwait && tc->tc_li->li_local->lc_ppoutside &&
	    !client_unproxy_raw(tc))
		return;
	if ((r = tc->tc_tr->tt_handshake(tc)) == -1)
		tc->tc_dead = true;
	else if (r == 1) {
		tc->tc_handshaking = false;
		tc->tc_more = true;
		client_read(tw, tc);
	}
}

void
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
	if (tc->tc_doh != NULL)
		need = tc->tc_rlen + TCP_RBUF;
	else if (tc->tc_rlen >= 2)
		need = 2 + ((size_t)tc->tc_rbuf[0] << 8 | tc->tc_rbuf[1]);
	if (need < tc->tc_rlen + 512)
		need = tc->tc_rlen + 512;
	if (!buf_reserve(&tc->tc_rbuf, &tc->tc_rcap, need, NULL)) {
		tc->tc_dead = true;
		return;
	}
	/*
	 * A transport that buffers (TLS) may hold more than it returned,
	 * with nothing for poll to report: read again while the buffer
	 * fills.
	 */
	n = tc->tc_tr->tt_read(tc, tc->tc_rbuf + tc->tc_rlen,
	    tc->tc_rcap - tc->tc_rlen);
	tc->tc_more = false;
	if (n == -1) {
		if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
			tc->tc_dead = true;
		return;
	}
	if (n == 0) {
		tc->tc_eof = true;
		return;
	}
	tc->tc_more = tc->tc_tr != &tcp_plain;
	tc->tc_rlen += (size_t)n;
	tc->tc_deadline = tw->tw_now + client_idle(tc);
	client_parse(tw, tc);
}

/*
 * A client that takes no answer for setTCPSendTimeout is dropped; one that
 * reads its answers has setTCPRecvTimeout again to send the next query.
 */
void
client_write(struct tcp_worker *tw, struct tcp_client *tc)
{
	ssize_t	n;

	if (tc->tc_doh != NULL)
		doh_flush(tc);
	if (tc->tc_wdeadline == 0)
		tc->tc_wdeadline = tw->tw_now +
		    TCP_SECS(config_now()->cf_tcpsendtimeout);
	while (tc->tc_olen > tc->tc_ooff) {
		n = tc->tc_tr->tt_write(tc, tc->tc_obuf + tc->tc_ooff,
		    tc->tc_olen - tc->tc_ooff);
		if (n == 0) {		/* no progress: never loop on it */
			tc->tc_dead = true;
			break;
		}
		if (n == -1) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				tc->tc_dead = true;
			break;
		}
		tc->tc_wdeadline = tw->tw_now +
		    TCP_SECS(config_now()->cf_tcpsendtimeout);
		tc->tc_deadline = tw->tw_now + client_idle(tc);
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

void
client_free(struct tcp_worker *tw, struct tcp_client *tc)
{
	struct tcp_bconn	*bc;
	struct tcp_query	*tq;
	size_t			 i;
	int			 s;

	/*
	 * Its queries' answers, when they come, go nowhere; its own backend
	 * connections go when they are done with.
	 */
	for (i = 0; i < tw->tw_nbconns; i++) {
		bc = tw->tw_bconns[i];
		if (bc->bc_owner == tc) {
			bc->bc_owner = NULL;
			bc->bc_orphan = true;
		}
		for (s = 0; s < bc->bc_depth; s++)
			if ((tq = bc->bc_slots[s]) != NULL &&
			    tq->tq_client == tc) {
				tq->tq_client = NULL;
				if (tq->tq_xfr)
					bconn_fail(tw, bc, false);
			}
	}
	LIST_FOREACH(tq, &tw->tw_atudp, tq_atudp)
		if (tq->tq_client == tc)
			tq->tq_client = NULL;
	pp_tlvs_free(tc->tc_pptlvs);
	conn_give(tc->tc_li, &tc->tc_addr, tc->tc_percl);
	doh_conn_free(tc);
	tc->tc_tr->tt_close(tc);
	close(tc->tc_fd);
	free(tc->tc_rbuf);
	client_outfree(tc);
	free(tc);
}
