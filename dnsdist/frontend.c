/*
 * Listeners: binding (non-local where the address is not there yet), the
 * UDP query path in batches, and answers leaving from the address the
 * query came to.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "addr.h"
#include "cache.h"
#include "config.h"
#include "dnscrypt.h"
#include "dynblock.h"
#include "doh.h"
#include "edns.h"
#include "dnsdist.h"
#include "lua.h"
#include "metrics.h"
#include "netmask.h"
#include "ring.h"
#include "rule.h"
#include "stats.h"

struct listener	*listeners;
size_t		 nlisteners;

/* Answers held back by DelayAction, soonest first; bounded. */
#define DELAY_MAX	10000

struct delayed {
	uint64_t		 dl_due;
	struct listener		*dl_li;
	struct sockaddr_in6	 dl_to;
	struct compat_dst	 dl_dst;
	size_t			 dl_len;
	uint8_t			 dl_pkt[];
};

/* What a UDP loop keeps of its listener; its thread alone uses it. */
struct frontend_mine {
	struct listener		*fm_li;
	uint64_t		 fm_rnd;
	/* The receive batch: buffers for UDP_BATCH queries. */
	uint8_t			 fm_buf[UDP_BATCH][UDP_QUERYMAX];
	struct iovec		 fm_iov[UDP_BATCH];
	struct sockaddr_in6	 fm_name[UDP_BATCH];
	uint8_t			 fm_cmsg[UDP_BATCH][COMPAT_CMSG_SPACE];
	struct compat_mmsg	 fm_msg[UDP_BATCH];
	unsigned int		 fm_used;	/* headers the kernel wrote */
	struct delayed		**fm_delayq;
	size_t			 fm_ndelayed;
};
static _Thread_local struct frontend_mine	*fm;

/*
 * The receive headers are set up once (frontend_loop_start); after that
 * only the fields that the kernel changes are put back, in the headers it
 * used.  Every listener gets room for a destination message: those
 * without IP_PKTINFO get none.
 */
static void
frontend_rx_ready(void)
{
	unsigned int	i;

	for (i = 0; i < fm->fm_used; i++) {
		fm->fm_msg[i].cm_hdr.msg_namelen = sizeof(fm->fm_name[i]);
		fm->fm_msg[i].cm_hdr.msg_controllen = sizeof(fm->fm_cmsg[i]);
		fm->fm_msg[i].cm_hdr.msg_flags = 0;
	}
	fm->fm_used = 0;
}

static int
frontend_socket(struct local *lc, int type)
{
	int	fd, on = 1, family = lc->lc_addr.ss_family;

	if ((fd = socket(family, type, 0)) == -1 ||
	    fcntl(fd, F_SETFL, O_NONBLOCK) == -1 ||
	    fcntl(fd, F_SETFD, FD_CLOEXEC) == -1)
		fatal("socket for %s", lc->lc_text);
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
	if (family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof(on));
	/* An address that is not on the host yet (CARP, keepalived). */
	if (compat_nonlocal_bind(fd, family) == -1)
		log_debug("frontend_socket: no non-local bind for %s",
		    lc->lc_text);
	if (lc->lc_reuseport && compat_reuseport(fd) == -1)
		log_warn("reusePort on %s", lc->lc_text);
	if (lc->lc_ifname[0] != '\0' &&
	    compat_bind_device(fd, lc->lc_ifname) == -1)
		fatal("unable to bind %s to interface %s", lc->lc_text,
		    lc->lc_ifname);
	if (bind(fd, (struct sockaddr *)&lc->lc_addr, lc->lc_addrlen) == -1)
		fatal("unable to bind to %s (%s)", lc->lc_text,
		    type == SOCK_DGRAM ? "UDP" : "TCP");
	if (type == SOCK_DGRAM && compat_bufsize(fd, settings.st_udprcvbuf,
	    settings.st_udpsndbuf) == -1)
		log_warn("socket buffer sizes on %s", lc->lc_text);
	if (type == SOCK_DGRAM && addr_is_wildcard(
	    (struct sockaddr *)&lc->lc_addr) &&
	    compat_pktinfo_enable(fd, family) == -1)
		fatal("destination address option on %s", lc->lc_text);
	if (type == SOCK_STREAM) {
		/* As dnsdist: the key is a must, Fast Open itself is not. */
		if (lc->lc_tcpfastopen > 0 && compat_fastopen_listen(fd,
		    lc->lc_tcpfastopen, settings.st_tfokeyset ?
		    settings.st_tfokey : NULL) == -1) {
			if (settings.st_tfokeyset)
				fatal("setTCPFastOpenKey on %s", lc->lc_text);
			log_warn("tcpFastOpenQueueSize on %s", lc->lc_text);
		}
		if (listen(fd, settings.st_maxtcpqueuedconns > 0 ?
		    settings.st_maxtcpqueuedconns : lc->lc_tcplistenqueue) == -1)
			fatal("listen on %s", lc->lc_text);
	}
	return fd;
}

/*
 * A listener's UDP socket.  Where the system does not spread a reused
 * port's datagrams among its sockets, one of an earlier listener of the
 * same address with reusePort: their loops share it.
 */
static int
frontend_udp_socket(struct listener *li)
{
	struct local	*lc = li->li_local;
	size_t		 i;
	int		 fd;

	for (i = 0; lc->lc_reuseport && !compat_reuseport_spreads() &&
	    i < nlisteners; i++)
		if (listeners[i].li_local->lc_reuseport &&
		    listeners[i].li_udpfd != -1 && addr_equal((struct sockaddr *)&listeners[i].li_local->lc_addr,
		    (struct sockaddr *)&lc->lc_addr) == 1) {
			if ((fd = fcntl(listeners[i].li_udpfd, F_DUPFD_CLOEXEC,
			    0)) == -1)
				fatal("socket for %s", lc->lc_text);
			return fd;
		}
	return frontend_socket(lc, SOCK_DGRAM);
}

void
frontend_bind_all(void)
{
	size_t	i;

	listeners = calloc(settings.st_nlocals, sizeof(*listeners));
	if (listeners == NULL)
		fatal("listeners");
	for (i = 0; i < settings.st_nlocals; i++) {
		struct listener *li = &listeners[i];

		li->li_local = &settings.st_locals[i];
		li->li_wildcard = addr_is_wildcard(
		    (struct sockaddr *)&li->li_local->lc_addr);
		li->li_udpfd = li->li_local->lc_udp ?
		    frontend_udp_socket(li) : -1;
		li->li_tcpfd = li->li_local->lc_tcp ?
		    frontend_socket(li->li_local, SOCK_STREAM) : -1;
		nlisteners++;
		if (li->li_local->lc_tls != NULL)
			tls_front_init(li);
	}
}

bool
frontend_acl_allows(const struct sockaddr *sa)
{
	return netmask_group_match(&config_now()->cf_acl, sa) == 1;
}

void
frontend_queue(struct listener *li, const uint8_t *pkt, size_t len,
    const struct sockaddr *to, const struct compat_dst *dst)
{
	struct compat_mmsg	*m;
	unsigned int		 i;

	if (li->li_nout == UDP_BATCH)
		frontend_flush(li);
	/* Only this thread writes it: a plain load and store. */
	atomic_store_explicit(&li->li_responses, atomic_load_explicit(
	    &li->li_responses, memory_order_relaxed) + 1, memory_order_relaxed);
	if (atomic_load_explicit(&li->li_local->lc_muted, memory_order_relaxed))
		return;
	i = li->li_nout++;
	m = &li->li_out[i];
	memset(&m->cm_hdr, 0, sizeof(m->cm_hdr));
	li->li_outiov[i].iov_base = (void *)(uintptr_t)pkt;
	li->li_outiov[i].iov_len = len;
	/* Copies of a fixed size, which compilers make a few moves. */
	if (to->sa_family == AF_INET) {
		memcpy(&li->li_outname[i], to, sizeof(struct sockaddr_in));
		m->cm_hdr.msg_namelen = sizeof(struct sockaddr_in);
	} else if (to->sa_family == AF_INET6) {
		memcpy(&li->li_outname[i], to, sizeof(struct sockaddr_in6));
		m->cm_hdr.msg_namelen = sizeof(struct sockaddr_in6);
	}
	m->cm_hdr.msg_name = &li->li_outname[i];
	m->cm_hdr.msg_iov = &li->li_outiov[i];
	m->cm_hdr.msg_iovlen = 1;
	if (li->li_wildcard)
		compat_pktinfo_set(&m->cm_hdr, li->li_outcmsg[i], dst);
}

void
frontend_flush(struct listener *li)
{
	unsigned int	done = 0;
	int		n;

	while (done < li->li_nout) {
		n = compat_sendmmsg(li->li_udpfd, &li->li_out[done],
		    li->li_nout - done);
		if (n <= 0) {
			/* This answer cannot go: count it, try the rest. */
			log_debug("frontend_flush: %s", strerror(errno));
			done++;
			continue;
		}
		done += (unsigned int)n;
	}
	li->li_nout = 0;
}

void
frontend_flush_all(void)
{
	if (fm->fm_li->li_nout > 0)
		frontend_flush(fm->fm_li);
}

/*
 * The address a query came to: the listener's, or on a wildcard listener
 * the one the kernel reported.  NULL when unknown.
 */
const struct sockaddr *
frontend_local(const struct listener *li, const struct compat_dst *dst,
    struct sockaddr_in6 *buf)
{
	struct sockaddr_in	*sin = (struct sockaddr_in *)buf;

	if (!li->li_wildcard)
		return (const struct sockaddr *)&li->li_local->lc_addr;
	if (dst == NULL || dst->cd_family == 0)
		return NULL;
	memset(buf, 0, sizeof(*buf));
	if (dst->cd_family == AF_INET) {
		sin->sin_family = AF_INET;
		sin->sin_addr = dst->cd_addr.v4;
		sin->sin_port = htons(addr_port((const struct sockaddr *)
		    &li->li_local->lc_addr));
	} else {
		buf->sin6_family = AF_INET6;
		buf->sin6_addr = dst->cd_addr.v6;
		buf->sin6_port = htons(addr_port((const struct sockaddr *)
		    &li->li_local->lc_addr));
	}
	return (const struct sockaddr *)buf;
}

void
frontend_delay(struct listener *li, const uint8_t *pkt, size_t len,
    const struct sockaddr *to, const struct compat_dst *dst, int ms)
{
	struct delayed	*d;
	size_t		 i;

	if (fm->fm_delayq == NULL && (fm->fm_delayq = calloc(DELAY_MAX,
	    sizeof(*fm->fm_delayq))) == NULL)
		fm->fm_ndelayed = DELAY_MAX;
	/* Full: better early than never. */
	if (fm->fm_ndelayed == DELAY_MAX ||
	    (d = malloc(sizeof(*d) + len)) == NULL) {
		frontend_queue(li, pkt, len, to, dst);
		return;
	}
	d->dl_due = loop_now + (uint64_t)ms * 1000000ULL;
	d->dl_li = li;
	memset(&d->dl_to, 0, sizeof(d->dl_to));
	memcpy(&d->dl_to, to, addr_len(to));
	d->dl_dst = *dst;
	d->dl_len = len;
	memcpy(d->dl_pkt, pkt, len);
	for (i = fm->fm_ndelayed; i > 0 &&
	    fm->fm_delayq[i - 1]->dl_due > d->dl_due; i--)
		fm->fm_delayq[i] = fm->fm_delayq[i - 1];
	fm->fm_delayq[i] = d;
	fm->fm_ndelayed++;
}

uint64_t
frontend_delay_next(void)
{
	return fm->fm_ndelayed > 0 ? fm->fm_delayq[0]->dl_due : UINT64_MAX;
}

void
frontend_delay_run(void)
{
	struct delayed	**q = fm->fm_delayq;
	size_t		  n = 0, i;

	while (n < fm->fm_ndelayed && q[n]->dl_due <= loop_now) {
		struct delayed *d = q[n++];

		frontend_queue(d->dl_li, d->dl_pkt, d->dl_len,
		    (struct sockaddr *)&d->dl_to, &d->dl_dst);
	}
	if (n == 0)
		return;
	/* The packets must live until the batch has gone. */
	frontend_flush_all();
	for (i = 0; i < n; i++)
		free(q[i]);
	memmove(q, q + n, (fm->fm_ndelayed - n) * sizeof(*q));
	fm->fm_ndelayed -= n;
}

/*
 * As dnsdist reckons it: the payload size the client's OPT record
 * advertised, or 512 without one (or for less).  An OPT record that we
 * put in for ECS is not the client's.
 */
uint16_t
frontend_udp_limit(const struct dnsq *dq)
{
	struct dnsopt	o;

	if (dq->dq_optadded ||
	    dnspacket_find_opt(dq->dq_pkt, dq->dq_len, dq->dq_q->q_end,
	    &o) != 1 || o.o_payload < 512)
		return 512;
	return o.o_payload;
}

/*
 * The cache of the default pool when a UDP query may look there first:
 * nothing is configured that could change or stop a query before its
 * lookup, or see a hit (query or cache-hit rules, blockFilter, dynamic
 * blocks, ECS from the pool, query counting).  NULL otherwise.
 */
static struct pcache *
frontend_first_cache(const struct config *cf)
{
	struct pool	*pl = cf->cf_default;

	if (pl == NULL || pl->pl_cache == NULL || pl->pl_ecs ||
	    cf->cf_query.rc_count > 0 || cf->cf_cachehit.rc_count > 0 ||
	    cf->cf_blockfilter ||
	    atomic_load_explicit(&dynblock_count, memory_order_relaxed) > 0 ||
	    cf->cf_querycount)
		return NULL;
	return pl->pl_cache;
}

/*
 * An answer made here for a UDP query: recorded (rs, unless NULL),
 * encrypted for a DNSCrypt client (dc, unless NULL), sent.
 */
static void
frontend_udp_answer(struct listener *li, uint8_t *pkt, size_t len,
    const struct sockaddr *to, const struct compat_dst *dst,
    struct ring_slot *rs, const uint8_t *name, int delayms,
    const struct dnscrypt_query *dc)
{
	if (rs != NULL && len >= DNS_HDRLEN) {
		ring_slot_answered(rs, len, dnspacket_rcode(pkt),
		    dnspacket_tc(pkt));
		ring_push_slot(ring_responses, rs, name);
	}
	/* No longer than the padded query: UDP_QUERYMAX holds it. */
	if (dc != NULL && (len = dnscrypt_encrypt(dc, pkt, len, UDP_QUERYMAX,
	    false)) == 0)
		return;
	if (delayms > 0)
		frontend_delay(li, pkt, len, to, dst, delayms);
	else
		frontend_queue(li, pkt, len, to, dst);
}

/*
 * A datagram from a source in setProxyProtocolACL: the header comes off
 * the front, and the client it names is the one the rules, the rings and
 * the backends see; the answer still goes to the sender.  False when it
 * is dropped (counted).
 */
static bool
frontend_unproxy(uint8_t **pkt, size_t *len, size_t *room,
    const struct sockaddr *from, struct proxied *px)
{
	size_t	used;
	int	r;

	r = pipeline_proxy(config_now(), *pkt, *len, from, px, &used);
	/* A datagram shorter than the header it starts is all there is. */
	if (r == PP_MORE)
		stats_inc(STAT_PROXY_PROTOCOL_INVALID);
	if (r != PP_OK)
		return false;
	*pkt += used;
	*len -= used;
	*room -= used;
	return true;
}

/* A query over UDP that is not one, counted globally and per listener. */
static void
noncompliant(struct listener *li)
{
	stats_inc(STAT_NONCOMPLIANT_QUERIES);
	atomic_fetch_add_explicit(&li->li_noncompliant, 1,
	    memory_order_relaxed);
}

/* Where a UDP query's answer goes, for dq:suspend(). */
struct udp_to {
	struct listener		*ut_li;
	const struct sockaddr	*ut_from;
	socklen_t		 ut_fromlen;
	const struct compat_dst	*ut_dst;
};

static bool
frontend_hold(struct dnsq *dq, void *arg)
{
	struct udp_to	*ut = arg;

	return async_hold(ut->ut_li, dq, ut->ut_from, ut->ut_fromlen,
	    ut->ut_dst, false, NULL);
}

/*
 * Where the pipeline sent dq: to ds, or to the client (an answer); or
 * nowhere, when dq:suspend() held it (or dropped it).
 */
static void
frontend_send(struct listener *li, struct dnsq *dq, struct server *ds,
    int verdict, const struct sockaddr *from, socklen_t fromlen,
    const struct compat_dst *dst, struct ring_slot *rs)
{
	if (ds != NULL)
		backend_send_query(ds, dq, from, fromlen,
		    (uint16_t)(li - listeners), dst);
	else if (verdict != VERDICT_ASYNC && pipeline_answer_ok(dq, verdict))
		frontend_udp_answer(li, dq->dq_pkt, dq->dq_len, from, dst, rs,
		    dq->dq_q->q_name, dq->dq_delayms, dq->dq_dnscrypt);
}

/* See dnsdist.h. */
void
frontend_resume(struct listener *li, struct dnsq *dq,
    const struct sockaddr *from, socklen_t fromlen,
    const struct compat_dst *dst, bool answer)
{
	struct server	*ds;
	struct udp_to	 ut = { li, from, fromlen, dst };
	int		 verdict;

	dq->dq_cf = config_now();
	dq->dq_now = loop_now;
	dq->dq_rnd = &fm->fm_rnd;
	dq->dq_hold = frontend_hold;
	dq->dq_holdarg = &ut;
	if (answer) {
		/* A backend's: the cache, and on to the client. */
		if (pipeline_response(dq, dq->dq_cache, dq->dq_ckey))
			frontend_udp_answer(li, dq->dq_pkt, dq->dq_len, from,
			    dst, NULL, NULL, dq->dq_delayms, dq->dq_dnscrypt);
		return;
	}
	ds = pipeline_resume(dq, &verdict);
	frontend_send(li, dq, ds, verdict, from, fromlen, dst, NULL);
}

static void
frontend_query(struct listener *li, uint8_t *pkt, size_t len,
    struct sockaddr *from, socklen_t fromlen, const struct compat_dst *dst)
{
	struct dnsquestion	 q;
	struct server		*ds;
	struct dnsq		 dq;
	struct sockaddr_in6	 local;
	struct ring_slot	 rs;
	struct pcache		*pc;
	struct proxied		 px;
	struct udp_to		 ut = { li, from, fromlen, dst };
	const struct sockaddr	*client = from, *localp = NULL;
	struct dnscrypt_query	 dcq, *dc = NULL;
	uint64_t		 key;
	size_t			 n, room = UDP_QUERYMAX;
	int			 verdict;
	bool			 rec, keyed = false;

	px.px_tlvs = NULL;
	if (!frontend_acl_allows(from)) {
		stats_inc(STAT_ACL_DROPS);
		return;
	}
	stats_inc(STAT_QUERIES);
	/* Only this thread writes it: a plain load and store. */
	atomic_store_explicit(&li->li_queries, atomic_load_explicit(
	    &li->li_queries, memory_order_relaxed) + 1, memory_order_relaxed);
	if (!li->li_local->lc_ppoff && config_now()->cf_ppexpect &&
	    netmask_group_match(&config_now()->cf_ppacl, from) == 1) {
		if (!frontend_unproxy(&pkt, &len, &room, from, &px))
			return;
		if (!px.px_local) {
			client = (struct sockaddr *)&px.px_src;
			localp = (struct sockaddr *)&px.px_dst;
		}
	}
	if (li->li_local->lc_dnscrypt != NULL) {
		switch (dnscrypt_query(li->li_local->lc_dnscrypt,
		    loop_realtime.tv_sec, pkt, &len, false, &dcq)) {
		case DNSCRYPT_CERTREQ:
			if ((n = dnscrypt_cert_answer(li->li_local->lc_dnscrypt,
			    loop_realtime.tv_sec, pkt, len, room)) > 0)
				frontend_udp_answer(li, pkt, n, from, dst, NULL,
				    NULL, 0, NULL);
			goto done;
		case DNSCRYPT_BAD:
			/* Garbled, a stale or unknown certificate, too short. */
			noncompliant(li);
			goto done;
		case DNSCRYPT_QUERY:
			dc = &dcq;
			break;
		}
	}
	if (len < DNS_HDRLEN || dnspacket_qr(pkt)) {
		noncompliant(li);
		goto done;
	}
	if (dnspacket_qdcount(pkt) == 0) {
		/* As dnsdist: NOTIMP, unless setDropEmptyQueries(true). */
		stats_inc(STAT_EMPTY_QUERIES);
		if (!config_now()->cf_dropemptyqueries) {
			dnspacket_set_qr(pkt, true);
			dnspacket_set_rcode(pkt, DNS_RCODE_NOTIMP);
			frontend_udp_answer(li, pkt, len, from, dst, NULL, NULL,
			    0, dc);
		}
		goto done;
	}
	if (dnspacket_question(pkt, len, &q) == -1) {
		noncompliant(li);
		goto done;
	}
	if (dnspacket_rd(pkt))
		stats_inc(STAT_RDQUERIES);
	/* The query's entry, made once, is its answer's too when one is. */
	if ((rec = ring_recording && ring_queries != NULL &&
	    ring_responses != NULL)) {
		ring_make_query(&rs, loop_realtime_us, client, q.q_name,
		    q.q_namelen, q.q_type, len);
		ring_push_slot(ring_queries, &rs, q.q_name);
	}
	/* Most queries of a busy cache: a hit that nothing else needs to see. */
	if ((pc = frontend_first_cache(config_now())) != NULL &&
	    (keyed = pcache_key(pc, pkt, len, &q, false, &key))) {
		n = pcache_get(pc, key, &q, false, pkt, room,
		    (time_t)(loop_now / 1000000000ULL), PCACHE_PEEK, 0, NULL);
		if (n > 0) {
			pipeline_count_cached(dnspacket_rcode(pkt));
			frontend_udp_answer(li, pkt, n, from, dst,
			    rec ? &rs : NULL, q.q_name, 0, dc);
			goto done;
		}
	}
	dnsq_init(&dq, pkt, len, room, &q, client, loop_now, &fm->fm_rnd);
	dq.dq_dnscrypt = dc;
	if (keyed) {
		dq.dq_missed = pc;
		dq.dq_ckey = key;
	}
	dq.dq_local = localp != NULL ? localp : frontend_local(li, dst, &local);
	dq.dq_pp = px.px_tlvs;
	dq.dq_hold = frontend_hold;
	dq.dq_holdarg = &ut;
	ds = pipeline_query(&dq, &verdict);
	frontend_send(li, &dq, ds, verdict, from, fromlen, dst,
	    rec ? &rs : NULL);
	px.px_tlvs = dq.dq_pp;	/* the rules may have changed them */
	free(dq.dq_restart);	/* the slot has its own copy */
done:
	if (px.px_tlvs != NULL)
		pp_tlvs_free(px.px_tlvs);
}

static void
frontend_udp_read(int fd, short revents, void *arg)
{
	struct listener		*li = arg;
	struct compat_mmsg	*m = fm->fm_msg;
	struct compat_dst	 dst;
	int			 n, i, rounds;

	(void)revents;
	/* A few batches per wakeup, so that answers get their turn. */
	for (rounds = 0; rounds < 4; rounds++) {
		frontend_rx_ready();
		n = compat_recvmmsg(fd, m, UDP_BATCH);
		/* One more: a failed receive may have touched it. */
		fm->fm_used = n >= 0 && n < UDP_BATCH ? (unsigned int)n + 1 :
		    UDP_BATCH;
		if (n <= 0)
			break;
		for (i = 0; i < n; i++) {
			if (m[i].cm_hdr.msg_flags & MSG_TRUNC) {
				/* Larger than any query we accept. */
				stats_inc(STAT_QUERIES);
				noncompliant(li);
				continue;
			}
			memset(&dst, 0, sizeof(dst));
			if (li->li_wildcard)
				compat_pktinfo_get(&m[i].cm_hdr, &dst);
			frontend_query(li, fm->fm_buf[i], m[i].cm_len,
			    (struct sockaddr *)&fm->fm_name[i],
			    m[i].cm_hdr.msg_namelen, &dst);
		}
		/*
		 * The buffers are reused by the next batch: send now.  The
		 * ring entries first, while the sending has not yet pushed
		 * them out of the caches.
		 */
		ring_flush();
		backend_flush_all();
		frontend_flush_all();
		if (n < UDP_BATCH)
			break;
	}
}

static void
frontend_tcp_accept(int fd, short revents, void *arg)
{
	(void)fd;
	(void)revents;
	tcp_accept(arg);
}

static bool
frontend_pool_available(const char *name)
{
	struct pool	*pl = config_pool(config_now(), name);

	return pl != NULL && pool_count_up(pl) > 0;
}

/* Main thread: TCP accepts; the UDP loops take the rest. */
void
frontend_start(void)
{
	size_t	i;

	rule_pool_available = frontend_pool_available;
	for (i = 0; i < nlisteners; i++) {
		if (listeners[i].li_tcpfd != -1 &&
		    loop_add(listeners[i].li_tcpfd, POLLIN,
		    frontend_tcp_accept, &listeners[i]) == -1)
			fatal("loop_add");
		log_info("Listening on %s%s", listeners[i].li_local->lc_text,
		    listeners[i].li_tls != NULL ? " (DNS over TLS)" : "");
	}
}

void
frontend_loop_start(struct listener *li)
{
	unsigned int	i;

	if ((fm = calloc(1, sizeof(*fm))) == NULL)
		fatal("udp loop buffers");
	fm->fm_li = li;
	randombytes_buf(&fm->fm_rnd, sizeof(fm->fm_rnd));
	for (i = 0; i < UDP_BATCH; i++) {
		fm->fm_iov[i].iov_base = fm->fm_buf[i];
		fm->fm_iov[i].iov_len = sizeof(fm->fm_buf[i]);
		fm->fm_msg[i].cm_hdr.msg_name = &fm->fm_name[i];
		fm->fm_msg[i].cm_hdr.msg_iov = &fm->fm_iov[i];
		fm->fm_msg[i].cm_hdr.msg_iovlen = 1;
		fm->fm_msg[i].cm_hdr.msg_control = fm->fm_cmsg[i];
	}
	fm->fm_used = UDP_BATCH;
	if (loop_add(li->li_udpfd, POLLIN, frontend_udp_read, li) == -1)
		fatal("loop_add");
}

void
frontend_loop_stop(void)
{
	size_t	i;

	for (i = 0; fm->fm_delayq != NULL && i < fm->fm_ndelayed; i++)
		free(fm->fm_delayq[i]);
	free(fm->fm_delayq);
	free(fm);
	fm = NULL;
}

/* The listener's kind, as dnsdist names it in showBinds() and metrics. */
static const char *
frontend_type(const struct listener *li, bool tcp)
{
	if (li->li_local->lc_dnscrypt != NULL)
		return tcp ? "TCP (DNSCrypt)" : "UDP (DNSCrypt)";
	if (tcp && li->li_tls != NULL)
		return "TCP (DNS over TLS)";
	return tcp ? "TCP" : "UDP";
}

int
frontend_metrics(struct metrics *mx)
{
	struct listener	*li;
	size_t		 i;

	uint64_t	 tlsc[TLSC_COUNT];

	for (i = 0; i < nlisteners; i++) {
		li = &listeners[i];
		if (li->li_local->lc_doh != NULL) {
			if (metrics_add_frontend(mx, li->li_local->lc_text,
			    "DoH", atomic_load_explicit(&li->li_tcpqueries,
			    memory_order_relaxed), atomic_load_explicit(
			    &li->li_tcpresponses, memory_order_relaxed)) == -1 ||
			    metrics_add_doh(mx, li->li_local->lc_text,
			    &li->li_local->lc_doh->df_stats) == -1)
				return -1;
			continue;
		}
		if (li->li_udpfd != -1) {
			if (metrics_add_frontend(mx, li->li_local->lc_text,
			    frontend_type(li, false), atomic_load_explicit(
			    &li->li_queries, memory_order_relaxed),
			    atomic_load_explicit(&li->li_responses,
			    memory_order_relaxed) + atomic_load_explicit(
			    &li->li_workerresponses, memory_order_relaxed)) ==
			    -1)
				return -1;
			metrics_frontend_noncompliant(mx, atomic_load_explicit(
			    &li->li_noncompliant, memory_order_relaxed));
		}
		if (metrics_add_frontend(mx, li->li_local->lc_text,
		    frontend_type(li, true), atomic_load_explicit(
		    &li->li_tcpqueries, memory_order_relaxed),
		    atomic_load_explicit(&li->li_tcpresponses,
		    memory_order_relaxed)) == -1)
			return -1;
		metrics_frontend_noncompliant(mx, atomic_load_explicit(
		    &li->li_tcpnoncompliant, memory_order_relaxed));
		if (li->li_tls != NULL) {
			tls_front_counters(li, tlsc);
			metrics_frontend_tls(mx, tlsc);
		}
	}
	return 0;
}

/* Shutting down: take no more queries; answers still leave. */
void
frontend_stop(struct listener *li)
{
	size_t	i;

	if (li != NULL) {
		loop_del(li->li_udpfd);
		return;
	}
	for (i = 0; i < nlisteners; i++)
		if (listeners[i].li_tcpfd != -1)
			loop_del(listeners[i].li_tcpfd);
}

void
frontend_show_binds(struct sbuf *sb)
{
	size_t	i, n;

	sbuf_printf(sb, "%-3s %-30s %-21s %s\n", "#", "Address", "Protocol",
	    "Queries");
	for (i = n = 0; i < nlisteners; i++) {
		if (listeners[i].li_local->lc_doh != NULL) {
			sbuf_printf(sb, "%-3zu %-30s %-21s %llu\n", n++,
			    listeners[i].li_local->lc_text, "DoH",
			    (unsigned long long)atomic_load(
			    &listeners[i].li_tcpqueries));
			continue;
		}
		if (listeners[i].li_udpfd != -1)
			sbuf_printf(sb, "%-3zu %-30s %-21s %llu\n", n++,
			    listeners[i].li_local->lc_text,
			    frontend_type(&listeners[i], false),
			    (unsigned long long)atomic_load(
			    &listeners[i].li_queries));
		sbuf_printf(sb, "%-3zu %-30s %-21s %llu\n", n++,
		    listeners[i].li_local->lc_text,
		    frontend_type(&listeners[i], true),
		    (unsigned long long)atomic_load(
		    &listeners[i].li_tcpqueries));
	}
}
