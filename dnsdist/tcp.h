/*
 * The TCP workers' private header: their queries, client and backend
 * connections, and what tcp.c, tcp_client.c, tcp_backend.c and tcp_xfr.c
 * call of each other.
 */
#ifndef TCP_H
#define TCP_H

#include <sys/queue.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "dnscrypt.h"
#include "dnsdist.h"
#include "doh.h"

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
#define QUERY_SIZE(tq)		(sizeof(*(tq)) + (tq)->tq_room)

#define DNS_TYPE_SOA		6
#define DNS_TYPE_IXFR		251
#define DNS_TYPE_AXFR		252

/* Seconds of a setting to the workers' nanoseconds. */
#define TCP_SECS(s)	((uint64_t)(s) * 1000000000ULL)

struct tcp_client;
struct tcp_bconn;
struct doh_conn;

/*
 * One query at a backend, from a TCP client or (tcpOnly) a UDP one, or
 * (DoH) at a UDP loop.
 */
struct tcp_query {
	struct tcp_query	*tq_next;	/* free list, or tw_udpdone */
	struct tcp_client	*tq_client;	/* NULL: gone, or UDP */
	uint8_t			*tq_buf;	/* length-prefixed query */
	size_t			 tq_room;
	uint8_t			*tq_big;	/* tq_buf when a hook grew it */
	size_t			 tq_len;
	struct dnsquestion	 tq_q;
	uint16_t		 tq_origid;	/* the client's ID */
	uint16_t		 tq_bid;	/* ours on the backend connection */
	uint16_t		 tq_qflags;	/* as the client sent them */
	const char		*tq_pool;	/* for a retry: a pool's pl_name */
	int32_t			 tq_stream;	/* DoH: the HTTP/2 stream */
	bool			 tq_replied;	/* an answer went to the client */
	struct pcache		*tq_cache;	/* where the answer goes */
	uint64_t		 tq_ckey;
	uint64_t		 tq_ckey0;	/* scope 0 answers, with... */
	bool			 tq_zeroscope;	/* ... this */
	struct dq_tagset	*tq_tags;	/* for the response rules */
	struct dq_restart	*tq_restart;	/* owned; NULL: not restartable */
	bool			 tq_ecsadded;	/* take ECS out of the answer */
	bool			 tq_optadded;	/* ... or the OPT record */
	uint16_t		 tq_udpcache;	/* dq_udpcache */
	uint32_t		 tq_ttlcap;	/* SetMaxReturnedTTLAction */
	int32_t			 tq_tempfailttl;	/* -1: the cache's */
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
	/* useProxyProtocol: the header its connection must start with. */
	uint8_t			*tq_pp;
	size_t			 tq_pplen;
	/* a DNSCrypt query: its answers are encrypted with tq_dc */
	bool			 tq_dnscrypt;
	struct dnscrypt_query	 tq_dc;
	/*
	 * A DoH query handed to a UDP loop (tq_from: its client): the loop
	 * reads what is above and writes what follows tq_ds, the worker
	 * only tq_client and tq_atudp until it comes back.
	 */
	LIST_ENTRY(tcp_query)	 tq_atudp;	/* tw_atudp */
	struct tcp_worker	*tq_tw;
	struct server		*tq_ds;		/* holds a reference */
	bool			 tq_tcretry;	/* truncated over UDP: counted */
	int			 tq_udpwhat;	/* TCP_UDP_* */
	uint8_t			*tq_ans;	/* TCP_UDP_ANSWER's copy */
	void			*tq_held;	/* TCP_UDP_HELD: async.c's copy */
	size_t			 tq_anslen;
};

/*
 * How a client connection's bytes move: plain TCP (tcp_plain), or TLS
 * over it (tcp_tls, tls.c); DNS over HTTPS can be another.  tt_read and
 * tt_write return what read(2) and write(2) do; -1 with errno EAGAIN
 * means "again when the socket is ready", for what tc_rwant (reads) or
 * tc_wwant (writes) say when they are not 0 (TLS may need to write to
 * read, or the reverse), else for POLLIN or POLLOUT.  tt_handshake (NULL:
 * none) runs before any read, while tc_handshaking, each time the socket
 * is ready for tc_rwant: 1 done, 0 not yet, -1 failed (the connection
 * closes).  tt_close frees what the transport holds (the socket is the
 * caller's); tt_query (NULL: none) counts a query read over it.
 */
struct tcp_transport {
	const char	*tt_name;
	int		(*tt_handshake)(struct tcp_client *);
	ssize_t		(*tt_read)(struct tcp_client *, void *, size_t);
	ssize_t		(*tt_write)(struct tcp_client *, const void *, size_t);
	void		(*tt_close)(struct tcp_client *);
	void		(*tt_query)(struct tcp_client *);
};
extern const struct tcp_transport tcp_plain;
extern const struct tcp_transport tcp_tls;	/* absent with TLS=no */

struct tls;
struct tls_sctx;

struct tcp_client {
	int			 tc_fd;
	const struct tcp_transport *tc_tr;
	short			 tc_rwant;	/* 0, POLLIN or POLLOUT */
	short			 tc_wwant;
	bool			 tc_handshaking;
	bool			 tc_more;	/* may hold bytes not read */
	struct tls		*tc_tls;	/* TLS: the connection */
	struct tls_sctx		*tc_sctx;	/* ... its server context */
	char			*tc_sni;	/* ... what the client asked */
	int			 tc_tlsver;	/* ... its TLSC_Q* counter */
	struct tcp_worker	*tc_tw;
	struct sockaddr_storage	 tc_addr;
	struct listener		*tc_li;
	/* setProxyProtocolACL: the header, then the client it names. */
	bool			 tc_ppwait;	/* not read yet */
	bool			 tc_proxied;
	struct sockaddr_storage	 tc_ppsrc;
	struct sockaddr_storage	 tc_ppdst;
	struct pp_tlvs		*tc_pptlvs;
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
	struct doh_conn		*tc_doh;	/* DNS over HTTPS, or NULL */
};

struct tcp_bconn {
	int			 bc_fd;
	struct tcp_worker	*bc_tw;
	struct tls		*bc_tls;	/* DNS over TLS to the server */
	struct dohc		*bc_h2;		/* DNS over HTTPS (dohPath) */
	short			 bc_want;	/* ... waits for this event */
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
	uint64_t		 bc_opened;	/* tw_now when it was */
	bool			 bc_wfailed;	/* a write failed */
	bool			 bc_answered;	/* it answered one at least */
	uint64_t		 bc_lastanswer;	/* tw_now of the last answer */
	uint8_t			*bc_wbuf;	/* queries being written */
	size_t			 bc_wlen;
	size_t			 bc_woff;
	size_t			 bc_wcap;
	uint8_t			*bc_rbuf;	/* answers being read */
	size_t			 bc_rlen;
	size_t			 bc_rcap;
	uint64_t		 bc_deadline;	/* with queries pending */
	uint64_t		 bc_idle;	/* idle since; 0: busy */
	/*
	 * useProxyProtocol: the header it began with, and the client
	 * connection that owns it (NULL: a UDP query's); no other query
	 * may use it, and it goes with its owner (bc_orphan).
	 */
	uint8_t			*bc_pp;
	size_t			 bc_pplen;
	struct tcp_client	*bc_owner;
	bool			 bc_orphan;
};

enum th_kind { TH_CLIENT, TH_UDPQUERY, TH_WAKE };

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
	uint64_t		  tw_cleaned[2];	/* idle backends last
						   closed: TCP, DoH */
	/* DoH queries at the UDP loops, and those they handed back. */
	LIST_HEAD(, tcp_query)	  tw_atudp;
	_Atomic(struct tcp_query *) tw_udpdone;
	size_t			  tw_nextloop;
	unsigned		  tw_dohdump;	/* requests done */
};

/* tcp.c: the workers, accepting, buffers */
void	*append_ptr(void *, size_t *, void *);
void	buf_free(uint8_t **, size_t *, size_t *);
bool	buf_reserve(uint8_t **, size_t *, size_t, size_t *);
size_t	buf_size(size_t, size_t);
void	conn_give(struct listener *, const struct sockaddr_storage *, bool);
void	query_free(struct tcp_worker *, struct tcp_query *);
struct tcp_query *query_new(struct tcp_worker *, size_t);
int	set_nonblock(int);
/* A DoH query over UDP (false: not for UDP; over TCP then). */
bool	tcp_via_udp(struct tcp_worker *, struct tcp_query *, struct server *,
	    const struct sockaddr_storage *from);

/* tcp_client.c: client connections and answers */
const struct sockaddr *client_addr(const struct tcp_client *);
/* The PROXY protocol header for a query of dq to ds (false: ENOMEM). */
bool	query_proxy_header(struct tcp_query *, const struct dnsq *,
	    const struct server *);
bool	client_out(struct tcp_client *, const uint8_t *, size_t);
void	client_free(struct tcp_worker *, struct tcp_client *);
uint64_t client_idle(const struct tcp_client *);
void	client_resume(struct tcp_worker *, struct tcp_query *);
void	client_query(struct tcp_worker *, struct tcp_client *,
	    const uint8_t *, size_t, int32_t stream,
	    struct sockaddr_storage *from, const struct doh_request *);
void	client_handshake(struct tcp_worker *, struct tcp_client *);
void	client_parse(struct tcp_worker *, struct tcp_client *);
void	client_read(struct tcp_worker *, struct tcp_client *);
bool	client_reading(const struct tcp_client *);
void	client_write(struct tcp_worker *, struct tcp_client *);
bool	client_writing(const struct tcp_client *);
void	query_done(struct tcp_worker *, struct tcp_query *);
void	query_reply(struct tcp_query *, uint8_t *, size_t);
void	query_servfail(struct tcp_worker *, struct tcp_query *);
void	query_giveup(struct tcp_worker *, struct tcp_query *);
/* dr:restart() on the answer to tq, which no connection holds any more. */
void	query_restart(struct tcp_worker *, struct tcp_query *,
	    const char *pool);

/* tcp_backend.c: connections to backends */
void	bconn_fail(struct tcp_worker *, struct tcp_bconn *, bool);
void	bconn_free(struct tcp_worker *, struct tcp_bconn *);
void	bconn_io(struct tcp_worker *, struct tcp_bconn *, short);
bool	bconn_reading(const struct tcp_bconn *);
bool	bconn_send(struct tcp_worker *, struct tcp_query *, struct server *);
bool	bconn_spare(struct tcp_worker *, const struct tcp_bconn *);
void	bconn_write(struct tcp_worker *, struct tcp_bconn *);
bool	tcp_forward(struct tcp_worker *, struct tcp_query *, struct server *);

/*
 * doh.c: DNS over HTTPS connections, HTTP/1.1 and HTTP/2 (nghttp2), in
 * the TCP workers.  A query read from a request goes on through
 * client_query() with its stream; its answer comes back to doh_answer().
 */
bool	doh_conn_new(struct tcp_client *, struct doh_frontend *);
void	doh_conn_free(struct tcp_client *);
void	doh_parse(struct tcp_worker *, struct tcp_client *);
bool	doh_reading(const struct tcp_client *);
bool	doh_want_write(const struct tcp_client *);
void	doh_flush(struct tcp_client *);
void	doh_answer(struct tcp_client *, int32_t, const uint8_t *, size_t);
/* No DNS answer for the stream: an HTTP error (403 for a drop). */
void	doh_error(struct tcp_client *, int32_t, int status);
/* HTTPStatusAction, dq:setHTTPResponse(): a 3xx's body is its Location. */
void	doh_status(struct tcp_client *, int32_t, int status,
	    const char *ctype, const uint8_t *body, size_t len);
/* tls.c: a connection of a TLS listener; 0, or -1 to close it */
int	tls_client_start(struct tcp_client *);

/* tcp_xfr.c: zone transfers */
bool	xfr_message(struct tcp_query *, uint8_t *, size_t);

#endif /* TCP_H */
