/*
 * UDP to the backends.  In each UDP loop, each server has newServer's
 * `sockets' connected sockets, each from its own port, and a table of
 * in-flight slots (lib/inflight.c) that gives each query a random ID: a
 * query is sent, answered, timed out and failed over in the loop that
 * received it (see loop.c).  Queries go out on
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

#include <sodium.h>

#include "addr.h"
#include "cache.h"
#include "config.h"
#include "dnscrypt.h"
#include "edns.h"
#include "dnsdist.h"
#include "rule.h"
#include "stats.h"

/*
 * Each backend keeps, in each loop, the queries it has in flight in a
 * ring of bytes, so that when it dies they go to another server: a copy
 * is good while fewer than QARENA bytes have been written after it.
 */
#define QARENA		(512 * 1024)
/* Under this much load, silence is telling sooner (see backend_timeouts). */
#define FAILOVER_BUSY		256
#define FAILOVER_BUSY_NS	100000000ULL

/* The main thread's: every server's backend, and the removed ones. */
static struct backend	**backends;
static size_t		  nbackends;
static struct backend	**dying;	/* removed, parts still in loops */
static size_t		  ndying;

/* What a UDP loop keeps of the backends; its thread alone uses it. */
struct backend_mine {
	struct backend_loop	**bm_list;	/* polled: for the timeouts */
	size_t			  bm_n, bm_cap;
	struct backend_loop	**bm_flushq;	/* with queries to send */
	size_t			  bm_nflushq;
	struct backend_loop	**bm_failq;	/* found dead, to fail over */
	size_t			  bm_nfailq;
	uint64_t		  bm_rnd;	/* failover's choices */
	uint64_t		  bm_rrnd;	/* response rules' */
	/* The receive batch for answers. */
	uint8_t			(*bm_rxbuf)[UDP_RESPMAX];
	struct iovec		  bm_rxiov[UDP_BATCH];
	struct compat_mmsg	  bm_rxmsg[UDP_BATCH];
};
static _Thread_local struct backend_mine	*bm;

static void backend_read(int, short, void *);
static void backend_failover_run(void);
static void backend_flush_sock(struct backend_loop *, struct backend_sock *);

static int
backend_socket(struct server *ds)
{
	int	fd;

	if ((fd = server_socket(ds, SOCK_DGRAM)) == -1)
		return -1;
	/* Answers to a burst of queries arrive together. */
	compat_bufsize(fd, settings.st_udprcvbuf, settings.st_udpsndbuf);
	return fd;
}

/* Free a loop's part: on its loop, or on the main thread once they end. */
/* A DNSCrypt query's shared key: wiped. */
static void
slot_dnscrypt_free(struct slot *sl)
{
	if (sl->sl_dnscrypt == NULL)
		return;
	sodium_memzero(sl->sl_dnscrypt, sizeof(*sl->sl_dnscrypt));
	free(sl->sl_dnscrypt);
	sl->sl_dnscrypt = NULL;
}

static void
backend_loop_free(struct backend_loop *bl)
{
	struct slot	*sl;
	uint32_t	 pos = INFLIGHT_WALK;
	unsigned int	 i;
	long		 idx;

	if (bl == NULL)
		return;
	/* Queries still in flight: nothing else holds their tags. */
	while ((idx = inflight_walk(&bl->bl_ids, &pos)) != -1) {
		sl = (struct slot *)(void *)INFLIGHT_AT(&bl->bl_ids, idx);
		dnsq_tags_free(sl->sl_tags);
		free(sl->sl_restart);
		slot_dnscrypt_free(sl);
		if (sl->sl_owner != NULL)
			tcp_udp_done(sl->sl_owner, NULL, 0, TCP_UDP_FAILED);
	}
	for (i = 0; i < bl->bl_nsocks; i++) {
		/* On the main thread the loop is gone, and this a no-op. */
		if (bl->bl_polled)
			loop_del(bl->bl_socks[i].bs_fd);
		close(bl->bl_socks[i].bs_fd);
	}
	free(bl->bl_socks);
	inflight_free(&bl->bl_ids);
	free(bl->bl_qarena);
	free(bl);
}

static struct backend_loop *
backend_loop_new(struct backend *be)
{
	struct server		*ds = be->be_ds;
	struct backend_loop	*bl;
	int			 fd;

	if ((bl = calloc(1, sizeof(*bl))) == NULL)
		return NULL;
	bl->bl_be = be;
	bl->bl_ds = ds;
	/* malloc: the pages are only touched as queries go. */
	bl->bl_qarena = malloc(QARENA);
	bl->bl_socks = calloc((size_t)ds->ds_sockets, sizeof(*bl->bl_socks));
	if (inflight_init(&bl->bl_ids,
	    (uint32_t)settings.st_maxudpoutstanding, sizeof(struct slot),
	    settings.st_randomids) == -1 || bl->bl_qarena == NULL ||
	    bl->bl_socks == NULL) {
		backend_loop_free(bl);
		return NULL;
	}
	while (bl->bl_nsocks < (unsigned int)ds->ds_sockets) {
		if ((fd = backend_socket(ds)) == -1) {
			backend_loop_free(bl);
			return NULL;
		}
		bl->bl_socks[bl->bl_nsocks++].bs_fd = fd;
	}
	return bl;
}

static void
backend_free(struct backend *be)
{
	size_t	i;

	health_close(be);
	for (i = 0; i < loop_nudp; i++)
		backend_loop_free(be->be_loops[i]);
	free(be->be_loops);
	free(be);
}

static struct backend *
backend_new(struct server *ds)
{
	struct backend	*be;
	size_t		 i;

	if ((be = calloc(1, sizeof(*be))) == NULL)
		goto fail;
	be->be_ds = ds;
	be->be_hfd = -1;
	be->be_hfirst = true;
	if ((be->be_loops = calloc(loop_nudp ? loop_nudp : 1,
	    sizeof(*be->be_loops))) == NULL)
		goto fail;
	for (i = 0; i < loop_nudp; i++)
		if ((be->be_loops[i] = backend_loop_new(be)) == NULL)
			goto fail;
	return be;
fail:
	log_warn("backend %s", ds->ds_addrtext);
	if (be != NULL && be->be_loops != NULL)
		backend_free(be);
	else
		free(be);
	return NULL;
}

int
backend_sync(void)
{
	struct backend	**nb, *be;
	struct server	 *ds;
	size_t		  i;

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
		backends[nbackends++] = be;
		server_ref(ds);
		/* Readers find it through the snapshot published next. */
		ds->ds_io = be;
		/* As dnsdist: a server forced up or down is not checked. */
		if (atomic_load(&ds->ds_avail) == SERVER_AUTO)
			health_check_now(be);
	}
	return 0;
}

/* A loop's part of a removed server: freed once its queries are done. */
static void
backend_loop_done(struct backend_loop *bl)
{
	struct backend	*be = bl->bl_be;
	size_t		 i;

	if (bl->bl_pending || inflight_count(&bl->bl_ids) > 0)
		return;
	for (i = 0; i < bm->bm_n; i++)
		if (bm->bm_list[i] == bl)
			bm->bm_list[i] = bm->bm_list[--bm->bm_n];
	for (i = 0; i < bm->bm_nfailq; i++)
		if (bm->bm_failq[i] == bl)
			bm->bm_failq[i] = bm->bm_failq[--bm->bm_nfailq];
	be->be_loops[loop_index] = NULL;
	backend_loop_free(bl);
	/* The main thread frees the rest once every loop is done. */
	atomic_fetch_sub_explicit(&be->be_left, 1, memory_order_release);
}

/* A loop's command: the server is removed, and no snapshot has it now. */
static void
backend_loop_release(void *arg)
{
	struct backend		*be = arg;
	struct backend_loop	*bl = be->be_loops[loop_index];

	bl->bl_removed = true;
	backend_loop_done(bl);
}

/* Main thread: free what the loops are done with. */
static void
backend_collect(void *arg)
{
	struct backend	*be;
	size_t		 i;

	(void)arg;
	for (i = 0; i < ndying; ) {
		be = dying[i];
		if (atomic_load_explicit(&be->be_left,
		    memory_order_acquire) > 0) {
			i++;
			continue;
		}
		dying[i] = dying[--ndying];
		be->be_ds->ds_io = NULL;
		server_unref(be->be_ds);
		backend_free(be);
	}
}

void
backend_reap(void)
{
	struct backend	**nd;
	struct server	 *ds;
	size_t		  i;

	while ((ds = server_reap()) != NULL) {
		for (i = 0; i < nbackends; i++)
			if (backends[i]->be_ds == ds)
				break;
		if (i == nbackends) {
			server_unref(ds);
			continue;
		}
		if ((nd = reallocarray(dying, ndying + 1,
		    sizeof(*nd))) == NULL)
			fatal("backend_reap");
		dying = nd;
		dying[ndying++] = backends[i];
		backends[i] = backends[--nbackends];
		health_close(dying[ndying - 1]);
		atomic_store(&dying[ndying - 1]->be_left,
		    (unsigned int)loop_nudp);
		loop_udp_call(backend_loop_release, dying[ndying - 1]);
		/* The registry's reference; ours goes in backend_collect. */
		server_unref(ds);
	}
	backend_collect(NULL);
}

/*
 * A loop's command: the server is up again and has reconnectOnUp, so its
 * sockets are made anew, from new ports, for a middlebox that forgot the
 * old ones.  Answers still due on the old sockets are lost, and their
 * queries time out, as in dnsdist.  A socket that cannot be made anew
 * stays as it was.
 */
static void
backend_loop_reconnect(void *arg)
{
	struct backend		*be = arg;
	struct backend_loop	*bl = be->be_loops[loop_index];
	struct backend_sock	*bs;
	unsigned int		 i;
	int			 fd;

	if (bl == NULL || bl->bl_removed)
		return;
	for (i = 0; i < bl->bl_nsocks; i++) {
		bs = &bl->bl_socks[i];
		if ((fd = backend_socket(bl->bl_ds)) == -1 ||
		    (bl->bl_polled &&
		    loop_add(fd, POLLIN, backend_read, bl) == -1)) {
			log_warn("%s: new socket", bl->bl_ds->ds_addrtext);
			if (fd != -1)
				close(fd);
			continue;
		}
		if (bl->bl_polled)
			loop_del(bs->bs_fd);
		close(bs->bs_fd);
		bs->bs_fd = fd;
		/* Queries not sent yet leave from the new port. */
		if (bs->bs_nout > 0)
			backend_flush_sock(bl, bs);
	}
}

/* Main thread: the server's UDP sockets, in every loop, are made anew. */
void
backend_reconnect(struct backend *be)
{
	loop_udp_call(backend_loop_reconnect, be);
}

/* The loop's first query to this backend: its sockets join the loop. */
static int
backend_adopt(struct backend_loop *bl)
{
	struct backend_loop	**nl;
	size_t			  cap;
	unsigned int		  i;

	if (bm->bm_n == bm->bm_cap) {
		cap = bm->bm_cap ? bm->bm_cap * 2 : 16;
		if ((nl = reallocarray(bm->bm_list, cap, sizeof(*nl))) == NULL)
			return -1;
		bm->bm_list = nl;
		if ((nl = reallocarray(bm->bm_flushq, cap,
		    sizeof(*nl))) == NULL)
			return -1;
		bm->bm_flushq = nl;
		if ((nl = reallocarray(bm->bm_failq, cap,
		    sizeof(*nl))) == NULL)
			return -1;
		bm->bm_failq = nl;
		bm->bm_cap = cap;
	}
	for (i = 0; i < bl->bl_nsocks; i++)
		if (loop_add(bl->bl_socks[i].bs_fd, POLLIN, backend_read,
		    bl) == -1) {
			while (i-- > 0)
				loop_del(bl->bl_socks[i].bs_fd);
			return -1;
		}
	bm->bm_list[bm->bm_n++] = bl;
	bl->bl_polled = true;
	bl->bl_lastanswer = loop_now;
	return 0;
}

static struct slot *
slot_at(struct backend_loop *bl, uint32_t idx)
{
	return (struct slot *)(void *)INFLIGHT_AT(&bl->bl_ids, idx);
}

/* The copy of the slot's query, or NULL when it is gone. */
static uint8_t *
slot_query(struct backend_loop *bl, const struct slot *sl)
{
	if (sl->sl_qlen == 0 || bl->bl_qhead > sl->sl_qpos + QARENA)
		return NULL;
	return bl->bl_qarena + sl->sl_qpos % QARENA;
}

static void
slot_put(struct backend_loop *bl, uint32_t idx)
{
	struct slot	*sl = slot_at(bl, idx);

	if (sl->sl_tags != NULL) {
		dnsq_tags_free(sl->sl_tags);
		sl->sl_tags = NULL;
	}
	if (sl->sl_pp != NULL) {
		free(sl->sl_pp);
		sl->sl_pp = NULL;
	}
	free(sl->sl_restart);
	sl->sl_restart = NULL;
	slot_dnscrypt_free(sl);
	/* A TCP worker's query that got no answer it can use. */
	if (sl->sl_owner != NULL) {
		tcp_udp_done(sl->sl_owner, NULL, 0, TCP_UDP_FAILED);
		sl->sl_owner = NULL;
	}
	inflight_put(&bl->bl_ids, idx);
	atomic_fetch_sub_explicit(&bl->bl_ds->ds_outstanding, 1,
	    memory_order_relaxed);
}

/* The client the rings and the response rules see. */
static const struct sockaddr *
slot_client(const struct slot *sl)
{
	return (const struct sockaddr *)(sl->sl_pp != NULL ?
	    &sl->sl_pp->sp_client : &sl->sl_client);
}

/*
 * The slot's PROXY protocol part: the client of dq, and the header (hdr,
 * kept from before a failover, or made for dq's client and destination
 * and its values).  NULL on ENOMEM or when the header cannot be made.
 */
static struct slot_pp *
slot_pp_new(const struct dnsq *dq, uint16_t listener,
    const struct compat_dst *dst, const uint8_t *hdr, size_t hdrlen)
{
	struct slot_pp		*sp;
	struct sockaddr_in6	 lbuf;
	const struct sockaddr	*local = dq->dq_local;
	size_t			 tlvlen = dq->dq_pp != NULL ?
				    dq->dq_pp->pt_len : 0;

	if (local == NULL)
		local = frontend_local(&listeners[listener], dst, &lbuf);
	if ((sp = malloc(sizeof(*sp) + (hdr != NULL ? hdrlen :
	    PP_HDRLEN + 36 + tlvlen))) == NULL)
		return NULL;
	memset(&sp->sp_client, 0, sizeof(sp->sp_client));
	memcpy(&sp->sp_client, dq->dq_remote, addr_len(dq->dq_remote));
	if (hdr != NULL) {
		memcpy(sp->sp_hdr, hdr, hdrlen);
		sp->sp_hdrlen = hdrlen;
	} else if ((sp->sp_hdrlen = proxyproto_build(sp->sp_hdr,
	    PP_HDRLEN + 36 + tlvlen, dq->dq_remote, local, dq->dq_tcp,
	    tlvlen > 0 ? dq->dq_pp->pt_buf : NULL, tlvlen)) == 0) {
		free(sp);
		return NULL;
	}
	return sp;
}

/*
 * Send the query in dq; owner (NULL: none) is a TCP worker's query that
 * slot_put() or the answer calls back.  False when it took no slot (not
 * sent, or handed to TCP); true even when its send fails at once.
 */
static bool
backend_send(struct server *ds, const struct dnsq *dq,
    const struct sockaddr *from, socklen_t fromlen, uint16_t listener,
    const struct compat_dst *dst, const uint8_t *hdr, size_t hdrlen,
    void *owner)
{
	const struct dnsquestion *q = dq->dq_q;
	uint8_t			*pkt = dq->dq_pkt;
	size_t			 len = dq->dq_len;
	struct backend		*be = ds->ds_io;
	struct backend_loop	*bl;
	struct backend_sock	*bs;
	struct slot		*sl;
	struct compat_mmsg	*m;
	struct slot_pp		*sp = NULL;
	struct iovec		*iov;
	struct dnscrypt_query	*dc = NULL;
	long			 idx;
	unsigned int		 i;
	uint16_t		 id;

	if (ds->ds_tcponly) {
		tcp_udp_query(ds, dq, from, fromlen, listener, dst);
		return false;
	}
	/* This loop's part; its sockets join the loop at its first query. */
	bl = be != NULL ? be->be_loops[loop_index] : NULL;
	if (bl == NULL || (!bl->bl_polled && backend_adopt(bl) == -1) ||
	    ((hdr != NULL || ds->ds_proxyproto || dq->dq_remote != from ||
	    dq->dq_pp != NULL) && (sp = slot_pp_new(dq, listener, dst, hdr,
	    hdrlen)) == NULL) ||
	    (dq->dq_dnscrypt != NULL && (dc = malloc(sizeof(*dc))) == NULL) ||
	    (idx = inflight_get(&bl->bl_ids)) == -1) {
		free(sp);
		/* Every ID is in flight: never put two queries on one. */
		free(dc);
		atomic_fetch_add_explicit(&ds->ds_senderrors, 1,
		    memory_order_relaxed);
		stats_inc(STAT_DOWNSTREAM_SEND_ERRORS);
		return false;
	}
	/* Its answer is encrypted as the client's query was. */
	if (dc != NULL)
		*dc = *dq->dq_dnscrypt;
	sl = slot_at(bl, (uint32_t)idx);
	id = inflight_send(&bl->bl_ids, (uint32_t)idx, q, loop_now);
	memcpy(&sl->sl_client, from, fromlen < sizeof(sl->sl_client) ?
	    fromlen : sizeof(sl->sl_client));
	sl->sl_dst = *dst;
	sl->sl_origid = dnspacket_id(pkt);
	sl->sl_qflags = dq->dq_qflags;
	sl->sl_listener = listener;
	sl->sl_delayms = (uint16_t)dq->dq_delayms;
	/* A worker's client takes any size over its stream. */
	sl->sl_udpmax = owner != NULL ? UINT16_MAX : frontend_udp_limit(dq);
	sl->sl_cache = dq->dq_cache;
	sl->sl_ckey = dq->dq_ckey;
	sl->sl_ckey0 = dq->dq_ckey0;
	sl->sl_zeroscope = dq->dq_zeroscope;
	/* As dnsdist: ECS goes back to a client that sent its own. */
	sl->sl_ecsadded = dq->dq_ecsadded && !dq->dq_ecsclient;
	sl->sl_optadded = dq->dq_optadded;
	sl->sl_ttlcap = dq->dq_ttlcap;
	sl->sl_tempfailttl = dq->dq_tempfailttl;
	sl->sl_tries = dq->dq_tries;
	sl->sl_pool = dq->dq_poolp != NULL ? dq->dq_poolp->pl_name : NULL;
	sl->sl_tags = dnsq_tags_save(dq);
	sl->sl_restart = dnsq_restart_save(dq);
	sl->sl_pp = sp;
	sl->sl_dnscrypt = dc;
	sl->sl_owner = owner;
	sl->sl_qlen = 0;
	if (len <= UDP_QUERYMAX) {
		/* A copy that does not fit before the end starts over. */
		if (bl->bl_qhead % QARENA + len > QARENA)
			bl->bl_qhead += QARENA - bl->bl_qhead % QARENA;
		memcpy(bl->bl_qarena + bl->bl_qhead % QARENA, pkt, len);
		sl->sl_qpos = bl->bl_qhead;
		sl->sl_qlen = (uint16_t)len;
		bl->bl_qhead += len;
	}
	dnspacket_set_id(pkt, id);
	atomic_fetch_add_explicit(&ds->ds_outstanding, 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&ds->ds_queries, 1, memory_order_relaxed);
	(void)server_qps_take(ds, loop_now);

	/* The source port: the sockets in turn, or one at random. */
	if (bl->bl_nsocks == 1)
		bs = &bl->bl_socks[0];
	else if (dq->dq_cf->cf_randomsockets)
		bs = &bl->bl_socks[inflight_random(&bl->bl_ids, bl->bl_nsocks)];
	else
		bs = &bl->bl_socks[bl->bl_nextsock++ % bl->bl_nsocks];
	i = bs->bs_nout++;
	m = &bs->bs_out[i];
	memset(&m->cm_hdr, 0, sizeof(m->cm_hdr));
	iov = bs->bs_outiov[i];
	m->cm_hdr.msg_iov = iov;
	m->cm_hdr.msg_iovlen = 1;
	/* useProxyProtocol: the header goes in front of every query. */
	if (sp != NULL && ds->ds_proxyproto) {
		iov->iov_base = sp->sp_hdr;
		iov->iov_len = sp->sp_hdrlen;
		iov++;
		m->cm_hdr.msg_iovlen = 2;
	}
	iov->iov_base = pkt;
	iov->iov_len = len;
	if (!bl->bl_pending) {
		bl->bl_pending = true;
		bm->bm_flushq[bm->bm_nflushq++] = bl;
	}
	if (bs->bs_nout == UDP_BATCH)
		backend_flush_all();
	return true;
}

void
backend_send_query(struct server *ds, const struct dnsq *dq,
    const struct sockaddr *from, socklen_t fromlen, uint16_t listener,
    const struct compat_dst *dst)
{
	(void)backend_send(ds, dq, from, fromlen, listener, dst, NULL, 0,
	    NULL);
}

bool
backend_send_owned(struct server *ds, const struct dnsq *dq,
    uint16_t listener, const uint8_t *hdr, size_t hdrlen, void *owner)
{
	struct compat_dst	dst;

	memset(&dst, 0, sizeof(dst));
	return !ds->ds_tcponly && backend_send(ds, dq, dq->dq_remote,
	    addr_len(dq->dq_remote), listener, &dst, hdr, hdrlen, owner);
}

/*
 * Queue the backend's queries in flight for another server of their pool.
 * A backend that is gone for sure (the kernel said port unreachable) is
 * also marked down now rather than at the next health check, and the
 * other loops, which may have queries in flight there and hear nothing
 * from the kernel, fail them over at their next timer tick; one that is
 * only silent gets a health check now, which decides as usual, so that a
 * slow server alone in its pool is not taken out.  Health checks bring a
 * server back after `rise' good checks.
 */
static void
backend_fail_queue(struct backend_loop *bl, bool dead)
{
	unsigned int	i;

	/* Its queries waiting for sendmmsg go from their slots too. */
	if (dead)
		for (i = 0; i < bl->bl_nsocks; i++)
			bl->bl_socks[i].bs_nout = 0;
	if (!bl->bl_failing) {
		bl->bl_failing = true;
		bm->bm_failq[bm->bm_nfailq++] = bl;
	}
}

static void
backend_fail(struct backend_loop *bl, const char *why, bool dead)
{
	struct server	*ds = bl->bl_ds;
	char		 name[256];
	bool		 up = true;

	/* The health checks are the main thread's: they hear of it. */
	if (dead && atomic_compare_exchange_strong(&ds->ds_healthy, &up,
	    false)) {
		atomic_fetch_add(&ds->ds_hcchanges, 1);
		atomic_fetch_or(&bl->bl_be->be_hkick, BACKEND_HDOWN);
		if (atomic_load(&ds->ds_avail) == SERVER_AUTO)
			log_info("Marking downstream %s as 'down' (%s)",
			    server_display(ds, name, sizeof(name)), why);
	} else if (!dead && !bl->bl_silent) {
		bl->bl_silent = true;
		log_info("Downstream %s %s: its queries go elsewhere",
		    server_display(ds, name, sizeof(name)), why);
		atomic_fetch_or(&bl->bl_be->be_hkick, BACKEND_HCHECK);
	}
	/* The other loops send their queries to it elsewhere too. */
	if (dead)
		bl->bl_dead = atomic_fetch_add(&bl->bl_be->be_dead, 1) + 1;
	backend_fail_queue(bl, dead);
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

	to = pool_select(pl, q, loop_now, &bm->bm_rnd);
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
backend_resend(struct backend_loop *bl)
{
	struct dnsquestion	 q;
	struct server		*to;
	struct slot		*sl;
	struct pool		*pl;
	struct dnsq		 dq;
	uint8_t			*pkt;
	uint32_t		 i, pos = INFLIGHT_WALK;
	long			 idx;

	while ((idx = inflight_walk(&bl->bl_ids, &pos)) != -1) {
		i = (uint32_t)idx;
		sl = slot_at(bl, i);
		pkt = slot_query(bl, sl);
		to = NULL;
		/* The pool as the live configuration has it now. */
		pl = sl->sl_pool != NULL ? config_pool(config_now(),
		    sl->sl_pool) : NULL;
		if (pkt != NULL && sl->sl_tries == 0 && pl != NULL &&
		    dnspacket_question(pkt, sl->sl_qlen, &q) == 0)
			to = failover_target(pl, &q, bl->bl_ds);
		/*
		 * Nowhere else to go: it waits here, for its timeout.  A TCP
		 * worker's query does not go to a tcpOnly server from here.
		 */
		if (to == NULL || to == bl->bl_ds || to->ds_io == NULL ||
		    (sl->sl_owner != NULL && to->ds_tcponly))
			continue;
		/* The copy still has the client's ID. */
		dnsq_init(&dq, pkt, sl->sl_qlen, sl->sl_qlen, &q,
		    slot_client(sl), loop_now, &bm->bm_rnd);
		dq.dq_delayms = sl->sl_delayms;
		dq.dq_qflags = sl->sl_qflags;
		dq.dq_cache = sl->sl_cache;
		dq.dq_ckey = sl->sl_ckey;
		dq.dq_ckey0 = sl->sl_ckey0;
		dq.dq_zeroscope = sl->sl_zeroscope;
		dq.dq_ecsadded = sl->sl_ecsadded;
		dq.dq_optadded = sl->sl_optadded;
		dq.dq_ttlcap = sl->sl_ttlcap;
		dq.dq_tempfailttl = sl->sl_tempfailttl;
		dq.dq_poolp = pl;
		dq.dq_tries = (uint8_t)(sl->sl_tries + 1);
		dq.dq_dnscrypt = sl->sl_dnscrypt;
		dq.dq_restart = sl->sl_restart;
		dnsq_tags_load(&dq, sl->sl_tags);
		stats_inc(STAT_DOWNSTREAM_REROUTES);
		/* To lazy health checks, a query it did not answer. */
		server_lazy_report(bl->bl_ds, true);
		/* A worker's query goes with it, or slot_put() fails it. */
		if (backend_send(to, &dq, (struct sockaddr *)&sl->sl_client,
		    addr_len((struct sockaddr *)&sl->sl_client),
		    sl->sl_listener, &sl->sl_dst, sl->sl_pp != NULL ?
		    sl->sl_pp->sp_hdr : NULL, sl->sl_pp != NULL ?
		    sl->sl_pp->sp_hdrlen : 0, sl->sl_owner))
			sl->sl_owner = NULL;
		slot_put(bl, i);
	}
}

static void
backend_failover_run(void)
{
	struct backend_loop	*bl;

	while (bm->bm_nfailq > 0) {
		bl = bm->bm_failq[--bm->bm_nfailq];
		bl->bl_failing = false;
		backend_resend(bl);
	}
	/* The copies live in the failed backends' rings: send them now. */
	backend_flush_all();
}

static void
backend_flush_sock(struct backend_loop *bl, struct backend_sock *bs)
{
	struct msghdr	*m;
	unsigned int	 done = 0;
	int		 n;
	long		 idx;

	while (done < bs->bs_nout) {
		n = compat_sendmmsg(bs->bs_fd, &bs->bs_out[done],
		    bs->bs_nout - done);
		if (n > 0) {
			done += (unsigned int)n;
			continue;
		}
		if (n == -1 && errno == ECONNREFUSED) {
			backend_fail(bl, "port unreachable", true);
			break;
		}
		/* Release the slot of the query that could not go. */
		m = &bs->bs_out[done].cm_hdr;
		if ((idx = inflight_byid(&bl->bl_ids, dnspacket_id(
		    m->msg_iov[m->msg_iovlen - 1].iov_base))) != -1)
			slot_put(bl, (uint32_t)idx);
		atomic_fetch_add_explicit(&bl->bl_ds->ds_senderrors, 1,
		    memory_order_relaxed);
		stats_inc(STAT_DOWNSTREAM_SEND_ERRORS);
		done++;
	}
	bs->bs_nout = 0;
}

static void
backend_flush(struct backend_loop *bl)
{
	unsigned int	i;

	for (i = 0; i < bl->bl_nsocks; i++)
		if (bl->bl_socks[i].bs_nout > 0)
			backend_flush_sock(bl, &bl->bl_socks[i]);
	bl->bl_pending = false;
}

void
backend_flush_all(void)
{
	size_t	i;

	for (i = 0; i < bm->bm_nflushq; i++)
		backend_flush(bm->bm_flushq[i]);
	bm->bm_nflushq = 0;
	if (bm->bm_nfailq > 0)
		backend_failover_run();
}

/* Send the answer in pkt (UDP_RESPMAX bytes of room) to the slot's client. */
static void
slot_reply(struct backend_loop *bl, uint32_t idx, uint8_t *pkt, size_t len)
{
	struct slot	*sl = slot_at(bl, idx);
	struct listener	*li = &listeners[sl->sl_listener];

	if (sl->sl_owner != NULL) {
		tcp_udp_done(sl->sl_owner, pkt, len, TCP_UDP_ANSWER);
		sl->sl_owner = NULL;
	/* The receive buffer has room for what encryption adds. */
	} else if (sl->sl_dnscrypt == NULL || (len = dnscrypt_encrypt(
	    sl->sl_dnscrypt, pkt, len, UDP_RESPMAX, false)) > 0) {
		if (sl->sl_delayms > 0)
			frontend_delay(li, pkt, len,
			    (struct sockaddr *)&sl->sl_client, &sl->sl_dst,
			    sl->sl_delayms);
		else
			frontend_queue(li, pkt, len,
			    (struct sockaddr *)&sl->sl_client, &sl->sl_dst);
	}
	slot_put(bl, idx);
}

/*
 * dr:restart() on the answer to the slot's query, whose buffer pkt
 * (UDP_RESPMAX bytes) is free now: as dnsdist's processQueryAfterRules(),
 * the query goes again, as setRestartable() kept it, to a server of pool
 * (dr.pool) with what its rules left (tags, skipCache, TTL cap, delay),
 * or gets that pool's cached answer, or none when no server is up.  The
 * rules do not run again.
 */
static void
backend_restart(struct backend_loop *bl, uint32_t idx, uint8_t *pkt,
    const char *pool)
{
	struct slot		*sl = slot_at(bl, idx);
	struct dq_restart	*rs = sl->sl_restart;
	struct sockaddr_in6	 local;
	struct dnsquestion	 q;
	struct server		*ds;
	struct dnsq		 dq;
	int			 verdict;

	rs->rs_count++;
	memcpy(pkt, rs->rs_pkt, rs->rs_len);
	if (dnspacket_question(pkt, rs->rs_len, &q) == -1) {
		slot_put(bl, idx);
		return;
	}
	dnsq_init(&dq, pkt, rs->rs_len, UDP_RESPMAX, &q, slot_client(sl),
	    loop_now, &bm->bm_rrnd);
	dq.dq_pool = pool;
	dq.dq_skipcache = rs->rs_skipcache;
	dq.dq_tcp = sl->sl_owner != NULL;
	dq.dq_qflags = sl->sl_qflags;
	dq.dq_delayms = sl->sl_delayms;
	dq.dq_optadded = sl->sl_optadded;
	dq.dq_ttlcap = sl->sl_ttlcap;
	dq.dq_tempfailttl = sl->sl_tempfailttl;
	dq.dq_dnscrypt = sl->sl_dnscrypt;
	dq.dq_local = frontend_local(&listeners[sl->sl_listener], &sl->sl_dst,
	    &local);
	dnsq_tags_load(&dq, sl->sl_tags);
	ds = pipeline_route(&dq, &verdict);
	free(dq.dq_restart);	/* what a Lua policy made: not this query */
	dq.dq_restart = rs;
	if (ds == NULL) {
		if (pipeline_answer_ok(&dq, verdict))
			slot_reply(bl, idx, pkt, dq.dq_len);
		else
			slot_put(bl, idx);
		return;
	}
	/* A worker's query goes with it, or slot_put() fails it. */
	if ((sl->sl_owner == NULL || !ds->ds_tcponly) &&
	    backend_send(ds, &dq, (struct sockaddr *)&sl->sl_client,
	    addr_len((struct sockaddr *)&sl->sl_client), sl->sl_listener,
	    &sl->sl_dst, sl->sl_pp != NULL ? sl->sl_pp->sp_hdr : NULL,
	    sl->sl_pp != NULL ? sl->sl_pp->sp_hdrlen : 0, sl->sl_owner))
		sl->sl_owner = NULL;
	slot_put(bl, idx);
}

/* What dr:suspend() of a backend's answer needs. */
struct answer_to {
	struct listener		*at_li;
	struct slot		*at_sl;
};

static bool
backend_hold(struct dnsq *dq, void *arg)
{
	struct answer_to	*at = arg;
	struct slot		*sl = at->at_sl;

	/* A DoH query's goes back to its worker, the others' here. */
	if (!async_hold(at->at_li, dq, (struct sockaddr *)&sl->sl_client,
	    addr_len((struct sockaddr *)&sl->sl_client), &sl->sl_dst, true,
	    sl->sl_owner))
		return false;
	sl->sl_owner = NULL;	/* the held answer's now */
	return true;
}

static void
backend_answer(struct backend_loop *bl, uint8_t *pkt, size_t len)
{
	struct dnsq		 dq;
	struct server		*ds = bl->bl_ds;
	struct dnsquestion	 q, oq;
	struct sockaddr_in6	 local;
	struct slot		*sl;
	struct listener		*li;
	struct answer_to	 at;
	const uint8_t		*qpkt;
	long			 i;
	uint32_t		 idx;
	uint64_t		 usec, ckey;
	bool			 keep;

	if ((i = inflight_answer(&bl->bl_ids, pkt, len, &q)) == -1) {
		stats_inc(STAT_NONCOMPLIANT_RESPONSES);
		atomic_fetch_add_explicit(&ds->ds_noncompliant, 1,
		    memory_order_relaxed);
		return;
	}
	idx = (uint32_t)i;
	sl = slot_at(bl, idx);
	/*
	 * A bare error answer: the rules and the ring see the query's
	 * question when its copy is still there, the root otherwise.
	 */
	if (q.q_end == DNS_HDRLEN && (qpkt = slot_query(bl, sl)) != NULL &&
	    dnspacket_question(qpkt, sl->sl_qlen, &q) == 0)
		q.q_end = DNS_HDRLEN;
	/* fixupCase(): the question goes back in the client's own case. */
	else if (q.q_end > DNS_HDRLEN && config_now()->cf_fixupcase &&
	    (qpkt = slot_query(bl, sl)) != NULL &&
	    dnspacket_question(qpkt, sl->sl_qlen, &oq) == 0 &&
	    oq.q_namelen == q.q_namelen) {
		memcpy(pkt + DNS_HDRLEN, oq.q_name, oq.q_namelen);
		memcpy(q.q_name, oq.q_name, oq.q_namelen);
	}
	dnspacket_set_id(pkt, sl->sl_origid);
	dnspacket_restore_flags(pkt, sl->sl_qflags);
	usec = (loop_now - sl->sl_if.if_sent) / 1000;
	bl->bl_lastanswer = loop_now;
	bl->bl_silent = false;
	server_lazy_answer(ds, dnspacket_rcode(pkt));
	/*
	 * A TCP worker's query with a truncated answer: asked again over TCP,
	 * where its answer is counted (as dnsdist does for DoH).
	 */
	if (sl->sl_owner != NULL && dnspacket_tc(pkt)) {
		tcp_udp_done(sl->sl_owner, NULL, 0, TCP_UDP_TRUNCATED);
		sl->sl_owner = NULL;
		slot_put(bl, idx);
		return;
	}
	/* An answer for every subnet goes under the key without ours. */
	ckey = sl->sl_zeroscope && edns_ecs_scope(pkt, len, &q) == 0 ?
	    sl->sl_ckey0 : sl->sl_ckey;
	/*
	 * The client gets no ECS it did not send, nor an OPT record; an
	 * answer too broken to take them out of is dropped, as by dnsdist.
	 */
	if ((sl->sl_ecsadded || sl->sl_optadded) &&
	    edns_strip_ecs(pkt, &len, &q, sl->sl_optadded) == -1) {
		slot_put(bl, idx);
		stats_inc(STAT_NONCOMPLIANT_RESPONSES);
		atomic_fetch_add_explicit(&ds->ds_noncompliant, 1,
		    memory_order_relaxed);
		return;
	}
	/* truncateTC(true): a truncated answer keeps its question only. */
	if (config_now()->cf_truncatetc && dnspacket_tc(pkt) &&
	    q.q_end > DNS_HDRLEN)
		len = dnspacket_truncate(pkt, len, &q, rule_add_edns);
	/*
	 * Nor more than it can take: TC set, it asks again over TCP.  As in
	 * dnsdist, the rules and the cache see what the client gets.  But
	 * the backend saw the client's own OPT record and sized its answer
	 * for it: dnsdist passes such an answer as it came, so we do up to
	 * the 4096 bytes that dnsdist takes from a backend.
	 */
	if (len > sl->sl_udpmax && (sl->sl_optadded || len > UDP_PASSMAX))
		len = dnspacket_truncate(pkt, len, &q, rule_add_edns);
	li = &listeners[sl->sl_listener];
	if (pipeline_response_needed(sl->sl_cache, sl->sl_ttlcap)) {
		dnsq_init(&dq, pkt, len, UDP_RESPMAX, &q, slot_client(sl),
		    loop_now, &bm->bm_rrnd);
		dnsq_tags_load(&dq, sl->sl_tags);
		dq.dq_dnscrypt = sl->sl_dnscrypt;
		dq.dq_ttlcap = sl->sl_ttlcap;
		dq.dq_tempfailttl = sl->sl_tempfailttl;
		dq.dq_qstart = sl->sl_if.if_sent;
		dq.dq_local = frontend_local(li, &sl->sl_dst, &local);
		/* What a held answer takes along (dr:suspend()). */
		dq.dq_cache = sl->sl_cache;
		dq.dq_ckey = ckey;
		dq.dq_pool = sl->sl_pool != NULL ? sl->sl_pool : "";
		dq.dq_delayms = sl->sl_delayms;
		dq.dq_restart = sl->sl_restart;
		dq.dq_canrestart = true;
		at.at_li = li;
		at.at_sl = sl;
		dq.dq_hold = backend_hold;
		dq.dq_holdarg = &at;
		keep = pipeline_response(&dq, sl->sl_cache, ckey);
		if (!keep && dq.dq_suspend) {
			/* Counted now, sent when it resumes; or dropped. */
			if (dq.dq_asyncheld) {
				pipeline_ring_response(slot_client(sl), &q, pkt,
				    dq.dq_len, usec, ds, &loop_realtime);
				record_response(ds, pkt, dq.dq_len, usec,
				    STATS_UDP, false);
			} else if (sl->sl_owner != NULL) {
				tcp_udp_done(sl->sl_owner, NULL, 0,
				    TCP_UDP_DROPPED);
				sl->sl_owner = NULL;
			}
			slot_put(bl, idx);
			return;
		}
		if (!keep) {
			atomic_fetch_add_explicit(&ds->ds_responses, 1,
			    memory_order_relaxed);
			if (dq.dq_restarting) {
				backend_restart(bl, idx, pkt, dq.dq_pool);
				return;
			}
			if (sl->sl_owner != NULL)
				tcp_udp_done(sl->sl_owner, NULL, 0,
				    TCP_UDP_DROPPED);
			sl->sl_owner = NULL;
			slot_put(bl, idx);
			return;
		}
		len = dq.dq_len;
		if (dq.dq_delayms > sl->sl_delayms)
			sl->sl_delayms = (uint16_t)dq.dq_delayms;
	}
	pipeline_ring_response(slot_client(sl), &q, pkt, len, usec, ds,
	    &loop_realtime);
	record_response(ds, pkt, len, usec, sl->sl_owner != NULL ? STATS_DOH :
	    STATS_UDP, false);
	slot_reply(bl, idx, pkt, len);
}

static void
backend_read(int fd, short revents, void *arg)
{
	struct backend_loop	*bl = arg;
	struct compat_mmsg	*m = bm->bm_rxmsg;
	int			 i, n;

	(void)revents;
	for (i = 0; i < UDP_BATCH; i++) {
		bm->bm_rxiov[i].iov_base = bm->bm_rxbuf[i];
		bm->bm_rxiov[i].iov_len = UDP_RESPMAX;
		memset(&m[i].cm_hdr, 0, sizeof(m[i].cm_hdr));
		m[i].cm_hdr.msg_iov = &bm->bm_rxiov[i];
		m[i].cm_hdr.msg_iovlen = 1;
	}
	n = compat_recvmmsg(fd, m, UDP_BATCH);
	if (n == -1 && errno == ECONNREFUSED)
		backend_fail(bl, "port unreachable", true);
	for (i = 0; i < n; i++)
		backend_answer(bl, bm->bm_rxbuf[i], m[i].cm_len);
	/*
	 * The answers, and restarted queries, point into the buffers: send
	 * them before the next.
	 */
	backend_flush_all();
	frontend_flush_all();
}

/* Free the slots of queries the backend has not answered in time. */
static void
backend_timeouts(void *arg)
{
	const struct config *cf = config_now();
	uint64_t	 limit = (uint64_t)cf->cf_udptimeout * 1000000000ULL;
	uint64_t	 silence = (uint64_t)cf->cf_failoverms * 1000000ULL;
	uint64_t	 oldest, quiet, sent;
	struct backend_loop *bl;
	char		 why[64];
	size_t		 b;
	uint32_t	 pos, live;
	unsigned int	 dead;
	long		 i;

	(void)arg;
	for (b = 0; b < bm->bm_n; b++) {
		bl = bm->bm_list[b];
		/* Another loop found it dead: fail this loop's queries over. */
		if ((dead = atomic_load_explicit(&bl->bl_be->be_dead,
		    memory_order_relaxed)) != bl->bl_dead) {
			bl->bl_dead = dead;
			backend_fail_queue(bl, false);
		}
		oldest = UINT64_MAX;
		pos = INFLIGHT_WALK;
		while ((i = inflight_walk(&bl->bl_ids, &pos)) != -1) {
			sent = slot_at(bl, (uint32_t)i)->sl_if.if_sent;
			if (loop_now - sent < limit) {
				if (sent < oldest)
					oldest = sent;
				continue;
			}
			slot_put(bl, (uint32_t)i);
			atomic_fetch_add_explicit(&bl->bl_ds->ds_drops, 1,
			    memory_order_relaxed);
			stats_inc(STAT_DOWNSTREAM_TIMEOUTS);
			server_lazy_report(bl->bl_ds, true);
		}
		live = inflight_count(&bl->bl_ids);
		/*
		 * Queries in flight for that long and not one answer for
		 * that long either: the server is gone, not slow on one
		 * query.  Under load (FAILOVER_BUSY queries waiting), a
		 * shorter silence says as much, and fewer queries pile up.
		 */
		if (silence == 0 || oldest == UINT64_MAX ||
		    !atomic_load(&bl->bl_ds->ds_healthy))
			continue;
		quiet = loop_now - bl->bl_lastanswer;
		if (loop_now - oldest < quiet)
			quiet = loop_now - oldest;
		if (quiet >= silence || (live >= FAILOVER_BUSY &&
		    quiet >= FAILOVER_BUSY_NS && quiet * 5 >= silence)) {
			snprintf(why, sizeof(why), "answered nothing for %llu ms",
			    (unsigned long long)(quiet / 1000000ULL));
			backend_fail(bl, why, false);
		}
	}
	if (bm->bm_nfailq > 0)
		backend_failover_run();
	/* Removed servers' parts that have nothing in flight any more. */
	for (b = bm->bm_n; b-- > 0; )
		if (bm->bm_list[b]->bl_removed)
			backend_loop_done(bm->bm_list[b]);
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

static void
tee_count(struct action *ac, enum tee_stat st)
{
	atomic_fetch_add_explicit(&ac->ac_u.tee.st[st], 1,
	    memory_order_relaxed);
}

/*
 * The answers to TeeAction's copies that have come, counted by RCODE as
 * dnsdist counts them.  Any thread: the socket is connected and never
 * blocks, and each datagram is read once.
 */
static void
tee_drain_fd(struct action *ac, int fd)
{
	uint8_t	buf[512];
	ssize_t	n;
	int	i;

	for (i = 0; fd >= 0 && i < 256; i++) {
		if ((n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT)) == -1) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				break;
			tee_count(ac, TEE_RECVERRORS);
			continue;
		}
		if (n < DNS_HDRLEN) {
			tee_count(ac, TEE_RECVERRORS);
			continue;
		}
		tee_count(ac, TEE_RESPONSES);
		if (dnspacket_tc(buf))
			tee_count(ac, TEE_TCPDROPS);
		switch (dnspacket_rcode(buf)) {
		case DNS_RCODE_NOERROR:	tee_count(ac, TEE_NOERRORS); break;
		case DNS_RCODE_NXDOMAIN: tee_count(ac, TEE_NXDOMAINS); break;
		case DNS_RCODE_REFUSED:	tee_count(ac, TEE_REFUSEDS); break;
		case DNS_RCODE_SERVFAIL: tee_count(ac, TEE_SERVFAILS); break;
		default:		tee_count(ac, TEE_OTHERRCODE); break;
		}
	}
}

static void
backend_tee_drain(struct action *ac)
{
	int	fd;

	pthread_mutex_lock(&ac->ac_u.tee.lock);
	fd = ac->ac_u.tee.fd;
	pthread_mutex_unlock(&ac->ac_u.tee.lock);
	tee_drain_fd(ac, fd);
}

/* The socket of a TeeAction, opened at its first copy; -1 if it failed. */
static int
backend_tee_socket(struct action *ac)
{
	struct sockaddr	*sa = (struct sockaddr *)&ac->ac_u.tee.addr;
	struct sockaddr	*la = (struct sockaddr *)&ac->ac_u.tee.local;
	int		 fd;

	pthread_mutex_lock(&ac->ac_u.tee.lock);
	if ((fd = ac->ac_u.tee.fd) == -1) {
		if ((fd = socket(sa->sa_family, SOCK_DGRAM, 0)) != -1 &&
		    (fcntl(fd, F_SETFL, O_NONBLOCK) == -1 ||
		    fcntl(fd, F_SETFD, FD_CLOEXEC) == -1 ||
		    (la->sa_family != 0 && bind(fd, la, addr_len(la)) == -1) ||
		    connect(fd, sa, addr_len(sa)) == -1)) {
			close(fd);
			fd = -1;
		}
		/* -2: it failed once; do not try for every packet. */
		ac->ac_u.tee.fd = fd == -1 ? -2 : fd;
	}
	pthread_mutex_unlock(&ac->ac_u.tee.lock);
	return fd;
}

/*
 * TeeAction: a copy of the query to another server, with the client's
 * subnet when addECS; the answers are read and counted, never sent on.
 */
static void
backend_tee_send(struct action *ac, const struct dnsq *dq)
{
	uint8_t		 copy[UDP_QUERYMAX];
	const uint8_t	*pkt = dq->dq_pkt;
	size_t		 len = dq->dq_len;
	struct netmask	 nm;
	bool		 hadopt;
	int		 fd = backend_tee_socket(ac);

	tee_count(ac, TEE_QUERIES);
	if (fd >= 0 && ac->ac_u.tee.addecs && len <= sizeof(copy)) {
		memcpy(copy, pkt, len);
		edns_ecs_source(dq->dq_remote, dq->dq_cf->cf_ecsv4,
		    dq->dq_cf->cf_ecsv6, &nm);
		if (edns_add_ecs(copy, &len, sizeof(copy), dq->dq_q, &nm,
		    dq->dq_cf->cf_ecsoverride, &hadopt) >= 0)
			pkt = copy;
		else
			len = dq->dq_len;
	}
	if (fd < 0 || send(fd, pkt, len, MSG_DONTWAIT) != (ssize_t)len)
		tee_count(ac, TEE_SENDERRORS);
	tee_drain_fd(ac, fd);
}

static void
backend_tee_close(struct action *ac)
{
	if (ac->ac_u.tee.fd >= 0)
		close(ac->ac_u.tee.fd);
	ac->ac_u.tee.fd = -1;
}

/* Main thread. */
void
backend_start(void)
{
	rule_tee_send = backend_tee_send;
	rule_tee_close = backend_tee_close;
	rule_tee_drain = backend_tee_drain;
	loop_timer(1000000000ULL, backend_rates, NULL);
	loop_timer(100000000ULL, backend_collect, NULL);
}

/* A UDP loop, in its thread. */
void
backend_loop_start(void)
{
	if ((bm = calloc(1, sizeof(*bm))) == NULL ||
	    (bm->bm_rxbuf = calloc(UDP_BATCH, sizeof(*bm->bm_rxbuf))) == NULL)
		fatal("backend buffers");
	bm->bm_rnd = 0x9e3779b97f4a7c15ULL + loop_index;
	bm->bm_rrnd = 0x853c49e6748fea9bULL + loop_index;
	loop_timer(100000000ULL, backend_timeouts, NULL);
}

/* The backends' parts stay until backend_close_all(). */
void
backend_loop_stop(void)
{
	free(bm->bm_list);
	free(bm->bm_flushq);
	free(bm->bm_failq);
	free(bm->bm_rxbuf);
	free(bm);
	bm = NULL;
}

/* This loop's UDP queries sent and neither answered nor timed out yet. */
uint64_t
backend_inflight(void)
{
	uint64_t	n = 0;
	size_t		b;

	for (b = 0; b < bm->bm_n; b++)
		n += inflight_count(&bm->bm_list[b]->bl_ids);
	return n;
}

/* Main thread, once the UDP loops have stopped. */
void
backend_close_all(void)
{
	while (nbackends > 0)
		backend_free(backends[--nbackends]);
	while (ndying > 0) {
		server_unref(dying[--ndying]->be_ds);
		backend_free(dying[ndying]);
	}
}
