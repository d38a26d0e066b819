/*
 * The daemon's private header: the loop, the listeners, the backends'
 * socket state, health checks, TCP and the console, in build order.
 */
#ifndef DNSDIST_H
#define DNSDIST_H

#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include <histedit.h>
#include <lua.h>

#include "compat/compat.h"
#include "dnspacket.h"
#include "inflight.h"
#include "policy.h"
#include "proxyproto.h"
#include "sbuf.h"
#include "server.h"
#include "settings.h"
#include "stats.h"

#define UDP_BATCH	32		/* datagrams per recvmmsg/sendmmsg */
#define UDP_QUERYMAX	4096		/* largest query accepted over UDP */
#define UDP_RESPMAX	65535
#define UDP_PASSMAX	4096		/* backend answers passed whatever the client's size */

/* log.c */
void	log_init(bool to_syslog, bool verbose);
void	log_detach(void);
void	log_warn(const char *, ...) __attribute__((__format__(__printf__, 1, 2)));
void	log_warnx(const char *, ...) __attribute__((__format__(__printf__, 1, 2)));
void	log_lua(int, const char *);
int	log_verbose_file(const char *);
void	log_info(const char *, ...) __attribute__((__format__(__printf__, 1, 2)));
void	log_debug(const char *, ...) __attribute__((__format__(__printf__, 1, 2)));
void	fatal(const char *, ...) __attribute__((__format__(__printf__, 1, 2), __noreturn__));
void	fatalx(const char *, ...) __attribute__((__format__(__printf__, 1, 2), __noreturn__));

/*
 * loop.c: the poll loops, the main thread's and one per UDP listener, and
 * their timers.  loop_add, loop_del and loop_timer act on the calling
 * thread's loop.
 */
typedef void (*loop_cb)(int fd, short revents, void *arg);
extern _Thread_local uint64_t		loop_now;	/* monotonic ns, per wakeup */
extern _Thread_local struct timespec	loop_realtime;	/* wall clock, per wakeup */
extern _Thread_local uint64_t		loop_realtime_us; /* ... in microseconds */
extern _Thread_local unsigned int	loop_index;	/* the UDP loop's number */
extern size_t				loop_nudp;	/* UDP loops */
extern volatile sig_atomic_t	loop_quit;	/* SIGTERM, SIGINT, shutdown() */
extern volatile sig_atomic_t	loop_reload;	/* SIGHUP */
uint64_t	mono_ns(void);
void		loop_init(void);	/* the main thread's, before loop_add */
int		loop_add(int fd, short events, loop_cb, void *arg);
void		loop_del(int fd);
void		loop_timer(uint64_t interval_ns, void (*)(void *), void *arg);
void		loop_udp_init(void);	/* after the listeners are bound */
void		loop_udp_start(void);
/* Main thread: run fn(arg) in every UDP loop's thread. */
void		loop_udp_call(void (*fn)(void *), void *arg);
/* A TCP worker: run fn(arg) in UDP loop n (modulo their number); 0 or -1. */
int		loop_udp_hand(size_t n, void (*fn)(void *), void *arg);
void		loop_run(void);

/* The configuration lock: the main thread writes, TCP workers read. */
extern pthread_rwlock_t		config_lock;
extern lua_State		*config_L;

/*
 * discovery.c: newServer's autoUpgrade.  discovery_sync() (after each
 * publication, configuration lock held) asks the servers not asked yet.
 * A reload drops what was asked (discovery_forget), then offers each
 * running server the file does not name to discovery_keep(), which puts
 * an upgrade whose plain server is back in the new registry (true).
 */
void	discovery_sync(void);
void	discovery_forget(void);
bool	discovery_keep(struct server *);
void	discovery_start(void);
void	discovery_stop(void);

/* maint.c: maintenance() and the sweeps of caches and dynamic blocks */
void	maint_init(void);
void	maint_start(void);
void	maint_stop_thread(void);

/* frontend.c: the UDP and TCP listeners */
struct tls_front;
struct listener {
	struct local		*li_local;
	struct tls_front	*li_tls;	/* DNS over TLS (TCP only) */
	int			 li_udpfd;
	int			 li_tcpfd;
	bool			 li_wildcard;
	_Atomic uint64_t	 li_queries;		/* its UDP loop only */
	_Atomic uint64_t	 li_tcpqueries;
	_Atomic uint64_t	 li_responses;		/* its UDP loop only */
	_Atomic uint64_t	 li_workerresponses;	/* UDP, by TCP workers */
	_Atomic uint64_t	 li_tcpresponses;
	_Atomic uint64_t	 li_noncompliant;	/* UDP */
	_Atomic uint64_t	 li_tcpnoncompliant;
	_Atomic unsigned int	 li_tcpconns;	/* with maxConcurrentTCPConnections */
	/* answers waiting for sendmmsg */
	struct compat_mmsg	 li_out[UDP_BATCH];
	struct iovec		 li_outiov[UDP_BATCH];
	struct sockaddr_in6	 li_outname[UDP_BATCH];
	uint8_t			 li_outcmsg[UDP_BATCH][COMPAT_CMSG_SPACE];
	unsigned int		 li_nout;
};
extern struct listener		*listeners;
extern size_t			 nlisteners;
void	frontend_bind_all(void);
void	frontend_start(void);		/* main thread: TCP accepts */
/* Main thread (NULL): no more TCP accepts; a UDP loop: no more queries. */
void	frontend_stop(struct listener *);
/* In a UDP loop's thread: its state, and the listener's socket polled. */
void	frontend_loop_start(struct listener *);
void	frontend_loop_stop(void);
void	frontend_flush(struct listener *);
void	frontend_show_binds(struct sbuf *);
/* Add the listeners to a snapshot (web and carbon threads). */
struct metrics;
int	frontend_metrics(struct metrics *);
/*
 * Queue an answer to a client; flushed at the end of the batch.  The UDP
 * loop of the listener only.
 */
void	frontend_queue(struct listener *, const uint8_t *, size_t,
	    const struct sockaddr *, const struct compat_dst *);
void	frontend_flush_all(void);	/* the calling UDP loop's listener */
/* An answer held back (DelayAction): sent by this loop when it is due. */
void	frontend_delay(struct listener *, const uint8_t *, size_t,
	    const struct sockaddr *, const struct compat_dst *, int ms);
uint64_t frontend_delay_next(void);	/* UINT64_MAX: none waiting */
void	frontend_delay_run(void);
bool	frontend_acl_allows(const struct sockaddr *);
struct dnsq;
const struct sockaddr *frontend_local(const struct listener *,
	    const struct compat_dst *, struct sockaddr_in6 *);
/* The largest answer the UDP client of dq takes (512 without EDNS). */
uint16_t frontend_udp_limit(const struct dnsq *);

/*
 * tls.c (tls_none.c with TLS=no): the DNS over TLS frontends.  Made for
 * a listener of addTLSLocal() when it is bound (a certificate that does
 * not load is fatal); the console's hooks and the rotation of ticket keys
 * once the loop runs; a listener's TLSC_COUNT counters for the metrics.
 */
void	tls_front_init(struct listener *);
void	tls_start(void);
void	tls_stop(void);
void	tls_front_counters(const struct listener *, uint64_t *);
/*
 * DNS over TLS to a backend (newServer's tls), for the TCP workers and
 * the health checks: start on a connected socket (NULL: cannot), then
 * read or write, -1 with errno EAGAIN and *want set to the poll event
 * to wait for (the handshake happens in the first calls), and close.
 * With sessions, the connection resumes a session kept for the server,
 * keeps those it is given and counts its resumption, as dnsdist's query
 * connections do (its health checks do none of it).
 */
struct tls;
struct tls	*tls_backend_start(struct server *, int, bool sessions);
ssize_t	tls_backend_io(struct tls *, void *, size_t, bool wr, short *want);
void	tls_backend_close(struct tls *);
/* The handshake alone: 0 when done, else as tls_backend_io(). */
int	tls_backend_handshake(struct tls *, short *want);

/*
 * doh_client.c: DNS over HTTPS to a backend (newServer's dohPath), an
 * HTTP/2 client session over a connection its owner reads and writes:
 * dohc_submit() posts a query of len bytes under a tag of the owner's,
 * whose bytes the body callback gives (NULL: the query is gone);
 * dohc_output() hands out what to send (0: nothing), dohc_input() takes
 * what came (-1: the session failed).  The done callback gets each
 * query's HTTP status and answer, or DOHC_FAILED (reset, too large, the
 * session ended) or DOHC_REFUSED (never processed: may go elsewhere).
 */
#define DOHC_FAILED	(-1)
#define DOHC_REFUSED	(-2)
struct dohc;
typedef const uint8_t *(*dohc_body_fn)(void *, uint16_t, size_t *);
typedef void	(*dohc_done_fn)(void *, uint16_t, int, uint8_t *, size_t);
struct dohc	*dohc_new(void *, dohc_body_fn, dohc_done_fn);
void	dohc_free(struct dohc *);
int	dohc_submit(struct dohc *, uint16_t, const struct server *, size_t,
	    const struct sockaddr *, const char *);
ssize_t	dohc_output(struct dohc *, const uint8_t **);
int	dohc_input(struct dohc *, const uint8_t *, size_t);
bool	dohc_room(struct dohc *);
bool	dohc_alive(struct dohc *);

/*
 * pipeline.c: what every transport does with a query and an answer.
 *
 * The query: dynamic blocks, blockFilter, the rules, the pool's cache,
 * then the server: returns the server (a reference the caller does not
 * own: the snapshot in dq keeps it) or NULL with the verdict in *verdict:
 * VERDICT_DROP, VERDICT_ANSWER with the answer in dq (rules, or SERVFAIL
 * when no server is up), VERDICT_CACHED with the cache's answer in dq, or
 * (DoH only) VERDICT_HTTP with an HTTP answer in dq's dq_http* fields.
 */
struct server *pipeline_query(struct dnsq *, int *verdict);
/*
 * What pipeline_query() does after the rules: dq_pool's pool, its cache,
 * the server.  A restarted query (dr:restart()) goes through this only,
 * as in dnsdist.
 */
struct server *pipeline_route(struct dnsq *, int *verdict);
/*
 * A query held by dq:suspend() and given back (dq_resumed): a cache hit
 * to send (VERDICT_CACHED), an answer made of it (VERDICT_ANSWER), or on
 * through pipeline_query() after its rules.
 */
struct server *pipeline_resume(struct dnsq *, int *verdict);
void	pipeline_count_verdict(const struct dnsq *, int);
/* Count a cache hit sent to a client, its rcode that of the answer. */
void	pipeline_count_cached(int rcode);
/*
 * The PROXY protocol header at the start of buf (len bytes) from a source
 * in setProxyProtocolACL, for every transport: PP_OK with its length in
 * *used and the client it names in px; PP_MORE with the length needed so
 * far (a stream reads on); anything else is dropped and counted here:
 * proxy-protocol-invalid, or acl-drops for a proxied client that the ACL
 * refuses under setProxyProtocolApplyACLToProxiedClients(true).
 */
struct config;
struct proxied {
	bool			 px_local;	/* LOCAL: the sender's addresses */
	struct sockaddr_storage	 px_src;
	struct sockaddr_storage	 px_dst;
	struct pp_tlvs		*px_tlvs;	/* the caller's to free */
};
int	pipeline_proxy(const struct config *, const uint8_t *buf, size_t len,
	    const struct sockaddr *from, struct proxied *px, size_t *used);
/* Whether the answer pipeline_query() left in dq goes to the client. */
bool	pipeline_answer_ok(struct dnsq *, int verdict);
/*
 * An answer from a backend in dq, which carries what its query left (tags,
 * TTL cap, temporary-failure TTL): the response rules, then the pool's
 * cache (NULL: none) under key with the cache-inserted rules, then the
 * TTL cap.  False when a rule dropped it, restarted it (dq_restarting:
 * the answer is the caller's to drop), or suspended it (dq_suspend;
 * resumed, dq_resumed, the rules do not run again).
 * pipeline_response_needed()
 * says whether there is anything to do.
 */
struct pcache;
bool	pipeline_response(struct dnsq *, struct pcache *, uint64_t key);
bool	pipeline_response_needed(struct pcache *, uint32_t ttlcap);
/*
 * Record a query, or an answer sent to a client (ds NULL: self-answered),
 * in the inspection rings; never blocks.
 */
void	pipeline_ring_query(const struct sockaddr *, const struct dnsquestion *,
	    size_t len, const struct timespec *);
void	pipeline_ring_response(const struct sockaddr *,
	    const struct dnsquestion *, const uint8_t *, size_t len,
	    uint64_t usec, const struct server *, const struct timespec *);

/*
 * async.c: queries held by dq:suspend().  async_hold() takes a copy of
 * dq, whose rules said VERDICT_ASYNC (answer: a backend's answer, whose
 * response rules suspended it), for the UDP loop that calls it, or for
 * owner, a TCP worker's query, which tcp_async_back() gets back with it;
 * the worker then takes the query on from async_held_dq() (NULL: it was
 * dropped; *answer: a backend's answer, whose dq_cache is the pool's
 * cache now) and frees the copy with async_held_free().  async_hold() is false when the query could
 * not be held (too many held, or its IDs taken): it is counted as dropped.  async_next() is the earliest deadline of
 * the held queries (UINT64_MAX: none), and async_expire() resumes those
 * whose deadline is past now.  async_init() sets the Lua host's
 * functions; async_stop() (main thread, before the UDP loops stop) drops
 * what would go back to one from then on; async_shutdown() frees what is
 * still held.
 */
void	async_init(void);
bool	async_hold(struct listener *, struct dnsq *, const struct sockaddr *,
	    socklen_t, const struct compat_dst *, bool answer, void *owner);
struct dnsq *async_held_dq(void *, bool *answer);
void	async_held_free(void *);
uint64_t async_next(void);
void	async_expire(uint64_t now);
void	async_stop(void);
void	async_shutdown(void);
/* tcp.c: a held query of a worker's (owner) comes back, from any thread. */
void	tcp_async_back(void *owner, void *held);
/* frontend.c: a held query (or answer) given back to its UDP loop goes on. */
void	frontend_resume(struct listener *, struct dnsq *,
	    const struct sockaddr *, socklen_t, const struct compat_dst *,
	    bool answer);

/* backend.c: UDP sockets to servers and the in-flight slots */
/*
 * What a query from a proxied client, with PROXY protocol values or to a
 * server with useProxyProtocol keeps in flight: the client the rings and
 * the response rules see, and the header, kept for a failover too.
 */
struct slot_pp {
	struct sockaddr_in6	sp_client;	/* or a sockaddr_in */
	size_t			sp_hdrlen;
	uint8_t			sp_hdr[];
};
struct slot {
	struct inflight		sl_if;		/* first: the table's part */
	struct sockaddr_in6	sl_client;	/* or a sockaddr_in */
	struct compat_dst	sl_dst;		/* wildcard listeners */
	uint16_t		sl_origid;
	uint16_t		sl_listener;
	uint16_t		sl_delayms;	/* DelayAction */
	uint16_t		sl_udpmax;	/* the client's payload size */
	struct pcache		*sl_cache;	/* where the answer goes */
	uint64_t		sl_ckey;
	uint64_t		sl_ckey0;	/* scope 0 answers, with... */
	bool			sl_zeroscope;	/* ... this */
	bool			sl_ecsadded;	/* take ECS out of the answer */
	bool			sl_optadded;	/* ... or the OPT record */
	uint8_t			sl_tries;	/* sends before this one */
	uint32_t		sl_ttlcap;	/* SetMaxReturnedTTLAction */
	int32_t			sl_tempfailttl;	/* -1: the cache's */
	struct dq_tagset	*sl_tags;	/* for the response rules */
	uint16_t		sl_qlen;	/* the query's copy, for failover */
	uint16_t		sl_qflags;	/* as the client sent them */
	uint64_t		sl_qpos;
	const char		*sl_pool;	/* its pool's name, for ever */
	struct slot_pp		*sl_pp;		/* NULL: none of that */
	struct dnscrypt_query	*sl_dnscrypt;	/* owned; NULL: plain DNS */
	void			*sl_owner;	/* a TCP worker's query, or NULL */
	struct dq_restart	*sl_restart;	/* owned; NULL: not restartable */
};

/* One of a backend's UDP sockets, with its queries waiting for sendmmsg. */
struct backend_sock {
	int			 bs_fd;
	unsigned int		 bs_nout;
	struct compat_mmsg	 bs_out[UDP_BATCH];
	struct iovec		 bs_outiov[UDP_BATCH][2];	/* header, query */
};

/*
 * A backend as one UDP loop sees it: made by the main thread before the
 * server is published, then the loop's alone until the loop frees it.
 */
struct backend_loop {
	struct backend		*bl_be;
	struct server		*bl_ds;
	struct backend_sock	*bl_socks;	/* newServer's sockets */
	unsigned int		 bl_nsocks;
	unsigned int		 bl_nextsock;	/* round robin */
	struct inflight_table	 bl_ids;	/* of struct slot */
	/* Copies of the queries in flight, to send them elsewhere. */
	uint8_t			*bl_qarena;
	uint64_t		 bl_qhead;
	uint64_t		 bl_lastanswer;	/* monotonic ns */
	bool			 bl_polled;	/* its sockets are in the loop */
	bool			 bl_failing;	/* on the failover list */
	bool			 bl_silent;	/* failing over for silence */
	bool			 bl_pending;	/* on the flush list */
	bool			 bl_removed;	/* freed once nothing is in flight */
	unsigned int		 bl_dead;	/* be_dead when last failed over */
};

/* What a UDP loop asks of the health checks (be_hkick). */
#define BACKEND_HCHECK	0x1		/* check now: it fell silent */
#define BACKEND_HDOWN	0x2		/* marked down: count rise anew */

/* A server's I/O: the main thread's, but for the loops' parts. */
struct backend {
	struct server		*be_ds;
	struct backend_loop	**be_loops;	/* one per UDP loop */
	_Atomic unsigned int	 be_left;	/* removed: loops yet to free */
	_Atomic int		 be_hkick;	/* BACKEND_H*, from the loops */
	_Atomic unsigned int	 be_dead;	/* times a loop found it dead */
	/* health check */
	int			 be_hfd;
	short			 be_hevents;	/* what be_hfd waits for */
	uint8_t			 be_hbuf[512];	/* tcpOnly: query, then answer */
	struct tls		*be_htls;	/* ... over TLS (newServer's tls) */
	struct dohc		*be_hdoh;	/* ... over HTTPS (dohPath) */
	uint8_t			*be_hout;	/* ... its bytes to send */
	size_t			 be_houtlen;
	size_t			 be_houtoff;
	size_t			 be_hpplen;	/* PROXY header in be_hbuf */
	int			 be_hstatus;	/* HTTP; 0: no answer yet */
	bool			 be_hconnected;
	bool			 be_hsent;
	size_t			 be_hlen;
	uint16_t		 be_hid;
	uint64_t		 be_hdeadline;	/* of the connect, then the check */
	uint64_t		 be_hend;	/* of the check */
	uint64_t		 be_hnext;
	uint64_t		 be_hstart;	/* of the check */
	int			 be_hsuccess;
	int			 be_hfailures;
	bool			 be_hfirst;
};

/* Main thread: open new servers (before they are published). */
int	backend_sync(void);
/* Main thread: release removed servers (once they are not published). */
void	backend_reap(void);
void	backend_reconnect(struct backend *);
/* Forward the query in dq (its answer will be cached in dq_cache). */
void	backend_send_query(struct server *, const struct dnsq *,
	    const struct sockaddr *, socklen_t, uint16_t listener,
	    const struct compat_dst *);
/*
 * A TCP worker's query (DoH) sent over UDP in this loop, with hdr (NULL:
 * none) for useProxyProtocol: owner gets back what becomes of it through
 * tcp_udp_done(), whatever that is; false when it could not be sent (and
 * owner is not called back).
 */
bool	backend_send_owned(struct server *, const struct dnsq *,
	    uint16_t listener, const uint8_t *hdr, size_t hdrlen, void *owner);
void	backend_flush_all(void);
void	backend_start(void);
void	backend_close_all(void);
/* A UDP loop's: its state, and its queries in flight. */
void	backend_loop_start(void);
void	backend_loop_stop(void);
uint64_t backend_inflight(void);

/* health.c */
void	health_start(void);
void	health_initial(void);
void	health_check_now(struct backend *);
void	health_close(struct backend *);

/* tcp.c */
void	tcp_start(void);
void	tcp_accept(struct listener *);
void	tcp_stop(void);
void	tcp_show_stats(struct sbuf *);
/*
 * What became of a TCP worker's query sent over UDP (backend_send_owned):
 * an answer (pkt, len bytes, to copy), a truncated answer (to ask again
 * over TCP), dropped by the response rules, none (send error, timeout,
 * nowhere to fail over), or not sent at all (over TCP then).  Any thread.
 */
enum { TCP_UDP_ANSWER, TCP_UDP_TRUNCATED, TCP_UDP_DROPPED, TCP_UDP_FAILED,
	TCP_UDP_NOTSENT, TCP_UDP_HELD };
void	tcp_udp_done(void *owner, const uint8_t *pkt, size_t len, int what);
/* Forward a UDP query over TCP (tcpOnly); the answer goes back over UDP. */
void	tcp_udp_query(struct server *, const struct dnsq *,
	    const struct sockaddr *, socklen_t, uint16_t listener,
	    const struct compat_dst *);

/* console.c: line editing shared by the console and the -c client */
struct lineedit {
	EditLine	*le_el;
	History		*le_hist;
	char		 le_path[1024];	/* ~/.dnsdist_history, "" without HOME */
};
/* libedit with emacs keys and the history file loaded.  0 or -1. */
int	lineedit_open(struct lineedit *, char *(*)(EditLine *));
/* Keep a line (without its newline, blank ones not) and save the file. */
void	lineedit_remember(struct lineedit *, const char *);
void	lineedit_close(struct lineedit *);

/* console.c */
void	console_start(bool interactive);
void	console_stop(void);
/* Run one console line under the config lock; output to out. */
int	console_exec(const char *line, struct sbuf *out);

/* control.c: the remote console server, controlSocket() */
void	control_start(void);
void	control_stop(void);

/* web.c: the web server thread, webserver(); bind, then run */
void	web_start(void);
void	web_run(void);
void	web_stop(void);

/* dashboard.c: the dashboard's page and script, served by web.c */
extern const char dashboard_html[];
extern const char dashboard_js[];

/* carbon.c: the carbon sender thread, carbonServer() */
void	carbon_start(void);
/*
 * Remote loggers (remotelog.c): init sets the hooks before the
 * configuration runs; start starts the loggers it made (after detaching,
 * and after a reload); stop, at exit, flushes and stops them all.
 */
void	remotelog_init(void);
void	remotelog_start(void);
void	remotelog_stop(void);
void	carbon_stop(void);

/* client.c: dnsdist -c; returns the exit status */
int	client_main(const char *config, bool config_given, const char *addr,
	    const char *command);

/* main.c */
/*
 * The configuration changed (file, console, maintenance()): make the
 * packet path's snapshot of it anew.  Main thread.  0, or -1 when it
 * could not be made and the old one stays.
 */
int	daemon_publish(void);
void	daemon_shutdown(void);
void	daemon_reload(void);		/* SIGHUP, from the loop */

/* reload.c: read the configuration file again (SIGHUP, reloadConfig()) */
/* Before the configuration runs: the command line, and the defaults. */
void	reload_setup(char **servers, int nservers, char **acls, size_t nacls,
	    bool locals);
void	reload_set_path(const char *);
/* Loop's thread; 0, or -1 with the reason in out and nothing changed. */
int	reload_now(struct sbuf *out);
/* reloadConfig(): reload once the Lua call returns. */
void	reload_request(void);
/* After Lua ran, without the configuration lock: do what was asked. */
int	reload_pending(struct sbuf *out);
/* The system's counters (cpu-iowait, udp-in-errors...) where /proc has them. */
void	sysstats_init(void);
/* An answer from a backend, to a client of that protocol. */
void	record_response(struct server *, const uint8_t *, size_t,
	    uint64_t usec, enum stats_proto, bool tcp);

#endif /* DNSDIST_H */
