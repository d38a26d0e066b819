/*
 * Downstream servers and pools: the configuration model.  The daemon owns
 * the sockets; a server only points at them through ds_io.  The registry
 * (server_list, pools) is changed by the configuration and console under
 * the daemon's configuration lock; counters are atomics so that packet
 * threads update them without locks.
 */
#ifndef SERVER_H
#define SERVER_H

#include <sys/types.h>
#include <sys/socket.h>
#include <net/if.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dnsname.h"
#include "dnspacket.h"
#include "qps.h"

#define SERVER_MAXSOCKETS	1024	/* newServer's sockets */
#define SERVER_LAZYMAX		10000	/* lazyHealthCheckSampleSize */

/* Where a server in lazy health-check mode stands (ds_lazystate). */
enum server_lazy {
	SERVER_LAZY_HEALTHY,	/* no checks: real queries are watched */
	SERVER_LAZY_POTENTIAL,	/* too many failed: checked every interval */
	SERVER_LAZY_FAILED	/* down: checked every failed interval */
};

enum server_avail {
	SERVER_AUTO,		/* health checks decide */
	SERVER_FORCED_UP,
	SERVER_FORCED_DOWN
};

struct server {
	int			 ds_num;	/* creation order, for display */
	char			*ds_name;
	char			 ds_id[37];	/* UUID (newServer's id) */
	char			 ds_addrtext[64];
	struct sockaddr_storage	 ds_addr;
	socklen_t		 ds_addrlen;
	char			**ds_pools;
	size_t			 ds_npools;
	int			 ds_order;
	int			 ds_weight;

	/* qps limit (firstAvailable); ds_qpslock serialises the bucket */
	pthread_mutex_t		 ds_qpslock;
	struct qps		 ds_qps;
	double			 ds_qpslimit;

	/* health checking */
	uint8_t			 ds_checkname[DNSNAME_MAXLEN];
	size_t			 ds_checknamelen;
	uint16_t		 ds_checktype;
	uint16_t		 ds_checkclass;
	int			 ds_checkinterval;	/* seconds */
	int			 ds_checktimeout;	/* milliseconds */
	int			 ds_maxcheckfailures;
	int			 ds_rise;
	bool			 ds_mustresolve;
	bool			 ds_setcd;	/* CD in health checks */
	bool			 ds_useecs;	/* useClientSubnet */
	bool			 ds_disablezeroscope;
	uint16_t		 ds_xpf;	/* addXPF's record type; 0: none */
	int			 ds_tcprecvtimeout;	/* seconds */
	int			 ds_tcpsendtimeout;
	int			 ds_tcpconnecttimeout;	/* seconds */
	int			 ds_retries;	/* TCP tries after the first */
	bool			 ds_tcponly;	/* UDP queries go over TCP */
	bool			 ds_proxyproto;	/* useProxyProtocol */
	int			 ds_maxinflight;	/* per TCP connection */
	/*
	 * DNS over TLS to the server (newServer's tls): set by the
	 * configuration, then read-only; a change makes another server.
	 * ds_tlscfg is the daemon's, made once and freed with the server
	 * through server_tls_free.
	 */
	bool			 ds_tls;
	bool			 ds_tlsverify;
	char			*ds_tlsname;	/* subjectName/Addr; NULL: none */
	char			*ds_tlsca;	/* caStore; NULL: the system's */
	char			*ds_tlsciphers;
	char			*ds_tlsciphers13;	/* OpenSSL only */
	char			*ds_dohpath;	/* DNS over HTTPS; NULL: not */
	bool			 ds_dohxff;	/* addXForwardedHeaders */
	void			*ds_tlscfg;
	int			 ds_sockets;	/* UDP sockets, source ports */
	/* source: address (ds_sourcelen 0: none) and interface ("": none) */
	struct sockaddr_storage	 ds_source;
	socklen_t		 ds_sourcelen;
	char			 ds_sourceif[IF_NAMESIZE];
	bool			 ds_bindnoport;	/* ipBindAddrNoPort */
	bool			 ds_tcpfastopen;	/* tcpFastOpen */
	bool			 ds_reconnectonup;	/* new UDP sockets when up */
	/*
	 * autoUpgrade: ask the server for a designated resolver (RFC 9462)
	 * and add it over DNS over TLS or HTTPS.  The main thread's; the
	 * discovery thread works on its own copy.
	 */
	bool			 ds_upgrade;
	bool			 ds_upgkeep;	/* autoUpgradeKeep */
	bool			 ds_upglazy;	/* lazyHealthCheckWhenUpgraded */
	int			 ds_upginterval;	/* seconds */
	uint16_t		 ds_upgdohkey;	/* autoUpgradeDoHKey */
	char			*ds_upgpool;	/* NULL: the server's pools */
	bool			 ds_upgraded;	/* its upgrade was added */
	struct server		*ds_upgfrom;	/* the plain server (held) */

	_Atomic int		 ds_avail;	/* enum server_avail */
	atomic_bool		 ds_healthy;	/* last verdict of the checks */

	/*
	 * Lazy health checks (healthCheckMode='lazy'): the outcome of real
	 * queries fills a ring of ds_lazysize bits (1: failed), which the
	 * packet threads write with atomics alone; ds_lazyfails counts the
	 * bits set.  They write only while ds_lazyon, which the main thread
	 * sets when the server is lazy, auto and in the healthy state.  The
	 * settings and ds_lazystate, ds_lazynext are the main thread's.
	 */
	bool			 ds_lazy;	/* else active checks */
	int			 ds_lazysize;
	int			 ds_lazyminsamples;
	int			 ds_lazythreshold;	/* percent */
	int			 ds_lazyfailedinterval;	/* seconds */
	bool			 ds_lazyservfail;	/* TimeoutOrServFail */
	bool			 ds_lazybackoff;
	int			 ds_lazymaxbackoff;	/* seconds */
	int			 ds_lazystate;	/* enum server_lazy */
	uint64_t		 ds_lazynext;	/* failed: next check, mono ns */
	atomic_bool		 ds_lazyon;
	_Atomic uint64_t	 ds_lazypos;	/* samples taken */
	_Atomic int		 ds_lazyfails;
	_Atomic uint64_t	 ds_lazybits[(SERVER_LAZYMAX + 63) / 64];

	/* counters */
	_Atomic uint64_t	 ds_queries;
	_Atomic uint64_t	 ds_responses;
	_Atomic uint64_t	 ds_drops;	/* timeouts */
	_Atomic uint64_t	 ds_senderrors;
	_Atomic uint64_t	 ds_tcpqueries;
	_Atomic uint64_t	 ds_tcpdied;
	_Atomic uint64_t	 ds_tcpreused;	/* queries on open connections */
	_Atomic uint64_t	 ds_tcpnew;	/* connections opened */
	_Atomic uint64_t	 ds_tlsresumed;	/* TLS sessions resumed */
	/*
	 * The last answer (monotonic ns) of the connection the server last
	 * closed while idle, for the next query to count as dnsdist counts
	 * it; 0: none.  Any TCP worker, atomic.
	 */
	_Atomic uint64_t	 ds_tcpclosedidle;
	_Atomic uint64_t	 ds_hcfailures;	/* failed health checks */
	_Atomic uint64_t	 ds_hcchanges;	/* up/down transitions */
	_Atomic int		 ds_outstanding;
	_Atomic double		 ds_latency;	/* usec, moving average */
	_Atomic double		 ds_tcplatency;	/* ... of answers over TCP */
	_Atomic uint64_t	 ds_noncompliant;	/* answers to nothing */
	_Atomic uint64_t	 ds_tcpdiedsending;
	_Atomic uint64_t	 ds_tcpgaveup;	/* queries out of tries */
	_Atomic uint64_t	 ds_tcpreadtimeouts;
	_Atomic uint64_t	 ds_tcpwritetimeouts;
	_Atomic uint64_t	 ds_tcpconnecttimeouts;
	_Atomic int		 ds_tcpcurrent;	/* connections open */
	_Atomic double		 ds_tcpavgqueries;	/* per connection */
	_Atomic double		 ds_tcpavgduration;	/* ms, per connection */
	_Atomic double		 ds_qpsrate;	/* measured, per second */
	uint64_t		 ds_lastqueries;	/* for ds_qpsrate */
	_Atomic double		 ds_droprate;
	uint64_t		 ds_lastdrops;

	uint64_t		*ds_points;	/* chashed ring points */
	_Atomic int		 ds_refs;
	atomic_bool		 ds_removed;
	void			*ds_io;		/* the daemon's socket state */
	/* Replaced at a reload by this one (held): its Lua objects act on it. */
	struct server		*ds_forward;
};

struct pool;

/* The registry. */
struct server_registry {
	struct server	**sr_servers;
	size_t		  sr_count;
	struct server	**sr_removed;	/* awaiting the daemon's release */
	size_t		  sr_nremoved;
	struct pool	**sr_pools;	/* never freed */
	size_t		  sr_npools;
	struct pool	 *sr_default;	/* the pool "", once made */
	int		  sr_nextnum;
};

extern struct server_registry servers;

/*
 * A new server for address text (port 53 by default) with dnsdist's
 * defaults, one reference held by the caller.  NULL for a bad address.
 */
struct server	*server_new(const char *addrtext);
void		 server_ref(struct server *);
/* The daemon frees a server's ds_tlscfg with this, when it is set. */
extern void	(*server_tls_free)(void *);
/* Drop a reference; frees on the last one.  server_unref(NULL) is a no-op. */
void		 server_unref(struct server *);
int		 server_set_name(struct server *, const char *);
int		 server_set_checkname(struct server *, const char *);
void		 server_set_qps(struct server *, double);
/* The server that stands for ds now (ds itself unless a reload kept another). */
struct server	*server_current(struct server *);
/* Same address and name: the same server to a reload. */
bool		 server_same(const struct server *, const struct server *);
/*
 * A reload keeps ds, and gives it the settings of nds (which it replaces
 * in the registry and the pools): only fields that differ are written.
 */
void		 server_adopt(struct server *ds, struct server *nds);
/*
 * A new server at addrtext with the settings of ds (pools, source, TLS,
 * health checks, state), one reference held by the caller; NULL for a bad
 * address or no memory.
 */
struct server	*server_clone(const struct server *ds, const char *addrtext);
/* A server leaves (its reference moves to the removed list). */
void		 server_removed_add(struct server *);
/* Empty the registry (after its contents were moved elsewhere). */
void		 server_registry_reset(void);
/* Free a registry's servers (references) and pools, never published. */
void		 server_registry_free(struct server_registry *);
/*
 * Set the source ("address", "interface" or "address@interface"): -1 for a
 * bad one, with *why saying what is wrong.
 */
int		 server_set_source(struct server *, const char *,
		    const char **why);
/*
 * A socket of type (SOCK_DGRAM, SOCK_STREAM) to the server, non-blocking
 * and close-on-exec, bound to the source and connected (a TCP connect may
 * be in progress).  -1 with errno.
 */
int		 server_socket(const struct server *, int type);
/* Up for selection: forced up, or auto and healthy. */
bool		 server_is_up(const struct server *);
const char	*server_state_text(const struct server *);
/* Name as shown in logs: "name (addr)" or addr alone. */
const char	*server_display(const struct server *, char *, size_t);
/*
 * Lazy health checks: a real query's outcome, from any thread (cheap when
 * the server is not watched); the share of failures among the samples
 * reaches lazyHealthCheckThreshold; forget the samples.
 */
void		 server_lazy_push(struct server *, bool failed);
static inline void
server_lazy_report(struct server *ds, bool failed)
{
	if (atomic_load_explicit(&ds->ds_lazyon, memory_order_relaxed))
		server_lazy_push(ds, failed);
}
/* An answer with rcode: a failure when it is SERVFAIL and they count. */
static inline void
server_lazy_answer(struct server *ds, int rcode)
{
	if (atomic_load_explicit(&ds->ds_lazyon, memory_order_relaxed))
		server_lazy_push(ds, rcode == DNS_RCODE_SERVFAIL &&
		    ds->ds_lazyservfail);
}
bool		 server_lazy_over(const struct server *);
void		 server_lazy_clear(struct server *);
/* Take a qps token (true when the server has no limit). */
bool		 server_qps_take(struct server *, uint64_t now);
bool		 server_qps_check(struct server *, uint64_t now);

/* Add to the registry and to its pools (the registry takes a reference). */
int		 server_register(struct server *);
/* Remove from the registry and every pool; queued for server_reap(). */
void		 server_unregister(struct server *);
/* The next removed server that the daemon must release, or NULL. */
struct server	*server_reap(void);
struct server	*server_find_num(int num);	/* by index in sr_servers */
int		 server_add_pool(struct server *, const char *);
int		 server_rm_pool(struct server *, const char *);
bool		 server_in_pool(const struct server *, const char *);

#endif /* SERVER_H */
