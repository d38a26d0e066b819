/*
 * Rules: a selector that matches queries (or responses) and an action that
 * says what to do with them, in ordered chains.  Everything here runs in C;
 * Lua selectors and actions call back through hooks the Lua layer sets.
 * Chains are read by packet threads and changed by the configuration
 * under the daemon's configuration lock; selectors and actions with state
 * (rate limits, logs) lock it themselves.
 */
#ifndef RULE_H
#define RULE_H

#include <sys/types.h>
#include <sys/socket.h>
#include <pthread.h>
#include <regex.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "dnspacket.h"
#include "doh.h"
#include "netmask.h"
#include "qps.h"
#include "sbuf.h"
#include "suffix.h"

#define DQ_MAXTAGS	8
enum { DQ_PB_REQUESTORID, DQ_PB_DEVICEID, DQ_PB_DEVICENAME, DQ_PBIDS };

/* What a query or a response is, for selectors and actions. */
struct config;
struct pp_tlvs;
struct dnscrypt_query;
struct dnsq {
	const struct config	*dq_cf;		/* the snapshot it runs under */
	uint8_t			*dq_pkt;
	size_t			 dq_len;
	size_t			 dq_size;	/* room in dq_pkt */
	/* Makes dq_pkt hold size bytes (TCP, up to 65535); NULL: fixed. */
	bool			(*dq_grow)(struct dnsq *, size_t size);
	void			*dq_growarg;
	const struct dnsquestion *dq_q;
	const struct sockaddr	*dq_remote;
	const struct sockaddr	*dq_local;	/* NULL when unknown */
	/* DNS over HTTPS: the request, and an HTTP answer a rule made */
	const struct doh_request *dq_http;	/* NULL: not DoH */
	int			 dq_httpstatus;	/* 0: none */
	const char		*dq_httpbody;	/* a 3xx's Location */
	size_t			 dq_httpbodylen;
	const char		*dq_httpctype;
	bool			 dq_tcp;
	bool			 dq_tls;	/* over DNS over TLS */
	const char		*dq_sni;	/* ... its SNI, or NULL */
	bool			 dq_response;
	uint16_t		 dq_qflags;	/* the header's flags as received */
	uint64_t		 dq_now;	/* monotonic ns */
	uint64_t		 dq_qstart;	/* a response's query; 0: unknown */
	uint64_t		*dq_rnd;
	const char		*dq_pool;	/* "" unless an action chose */
	bool			 dq_skipcache;
	int			 dq_delayms;
	struct pool		*dq_poolp;	/* the pool routed to */
	uint8_t			 dq_tries;	/* sends before this one */
	struct pcache		*dq_cache;	/* the pool's, once looked up */
	uint64_t		 dq_ckey;
	/*
	 * dq_zeroscope: the key without the ECS we put in, where an answer
	 * valid for every subnet (scope 0) is kept (dnsdist's zero scope).
	 */
	uint64_t		 dq_ckey0;
	bool			 dq_zeroscope;
	struct pcache		*dq_missed;	/* asked already: dq_ckey missed */
	/* The query's EDNS, kept when it becomes an answer built here. */
	bool			 dq_built;	/* dq_pkt is a self-built answer */
	bool			 dq_qedns;	/* the query had an OPT record */
	bool			 dq_qdo;		/* ... with the DO bit */
	uint16_t		 dq_qpayload;	/* ... and this payload size */
	uint8_t			 dq_ercode;	/* upper 8 bits of an ERCODE */
	/* EDNS Client Subnet, as rules and hooks left it */
	bool			 dq_noecs;	/* SetDisableECSAction */
	int8_t			 dq_ecsoverride;	/* -1: setECSOverride()'s */
	int16_t			 dq_ecsv4;	/* -1: the global prefix */
	int16_t			 dq_ecsv6;
	struct netmask		 dq_ecsnm;	/* SetECSAction; family 0: none */
	bool			 dq_ecsadded;	/* we put ECS in the query */
	bool			 dq_ecsclient;	/* ... instead of the client's */
	bool			 dq_optadded;	/* we put in the OPT record */
	/*
	 * A DoH query with its own OPT record: cached as a UDP one, as
	 * dnsdist does, when the answer is no larger than this; 0: not.
	 */
	uint16_t		 dq_udpcache;
	/* What rules leave for the answer, carried from query to response. */
	uint32_t		 dq_ttlcap;	/* SetMaxReturnedTTL*; 0: none */
	int32_t			 dq_tempfailttl;	/* -1: the cache's own */
	/*
	 * PROXY protocol TLVs, received or set by rules, for the backend's
	 * header: the transport that made dq frees them.  NULL: none.
	 */
	struct pp_tlvs		*dq_pp;
	/* A DNSCrypt query: what its answer is encrypted with; NULL: none */
	const struct dnscrypt_query *dq_dnscrypt;
	/*
	 * dq:setRestartable(): the query as it was then, owned by the
	 * transport that made dq; NULL: not restartable.  On a backend's
	 * answer (dq_canrestart), the query's, and dr:restart() sets
	 * dq_restarting.
	 */
	struct dq_restart	*dq_restart;
	bool			 dq_canrestart;
	bool			 dq_restarting;
	/*
	 * dq.requestorID, deviceID and deviceName (DQ_PB_*) for protobuf
	 * messages, NULL when unset; they go to the response with the tags.
	 */
	const char		*dq_pbid[DQ_PBIDS];
	size_t			 dq_pbidlen[DQ_PBIDS];
	/*
	 * dq:suspend(): the transport's dq_hold (NULL: none here) copies the
	 * query, or answer, as it is into the table of held ones, where its
	 * processing goes on from when it is resumed: dq_suspend, and
	 * dq_asyncheld unless that failed (a drop).  Either way what the
	 * rest of the chain does to dq is moot.  dq_resumed: held and given
	 * back, its rules done.  A held query owns its question (dq_qown),
	 * which setContent may then change.
	 */
	bool			(*dq_hold)(struct dnsq *, void *);
	void			*dq_holdarg;
	bool			 dq_suspend;
	bool			 dq_asyncheld;
	bool			 dq_resumed;
	uint16_t		 dq_asyncid;
	uint16_t		 dq_asyncqid;
	uint32_t		 dq_asyncms;
	struct dnsquestion	*dq_qown;
	struct {
		const char	*t_name;
		const char	*t_value;
	}			 dq_tags[DQ_MAXTAGS];
	int			 dq_ntags;
};

/*
 * A restartable query's copy: sent again, from this, through server
 * selection when a response rule calls dr:restart(), at most
 * DQ_MAXRESTARTS times.
 */
#define DQ_MAXRESTARTS	5
struct dq_restart {
	uint8_t		rs_count;	/* restarts so far */
	bool		rs_skipcache;	/* dq.skipCache as the rules left it */
	uint16_t	rs_len;
	uint8_t		rs_pkt[];
};

enum rule_verdict {
	VERDICT_NONE,		/* go on with the next rule */
	VERDICT_ALLOW,		/* stop, forward (or send the response) */
	VERDICT_DROP,
	VERDICT_ANSWER,		/* dq_pkt now holds the answer to send */
	VERDICT_POOL,		/* stop, forward to dq_pool */
	VERDICT_CACHED,		/* dq_pkt holds an answer from the cache */
	VERDICT_HTTP,		/* DoH: answer with dq_httpstatus */
	VERDICT_ASYNC		/* dq:suspend(): the transport holds it */
};

enum selector_kind {
	SEL_ALL, SEL_QNAME, SEL_QNAMESET, SEL_SUFFIX, SEL_NMG, SEL_QTYPE,
	SEL_QCLASS, SEL_REGEX, SEL_OPCODE, SEL_RD, SEL_TCP, SEL_DSTPORT,
	SEL_DNSSEC, SEL_QNAMELABELS, SEL_QNAMEWIRELEN, SEL_RECORDSCOUNT,
	SEL_RECORDSTYPECOUNT, SEL_TRAILINGDATA, SEL_PROBA, SEL_TAG,
	SEL_POOLAVAILABLE, SEL_MAXQPS, SEL_MAXQPSIP, SEL_AND, SEL_OR, SEL_NOT,
	SEL_LUA, SEL_RCODE, SEL_ERCODE, SEL_EDNSVERSION, SEL_EDNSOPTION,
	SEL_TIMEDIPSET, SEL_POOLOUTSTANDING, SEL_KVS, SEL_PPVALUE,
	SEL_HTTPPATH, SEL_HTTPPATHREGEX, SEL_HTTPHEADER, SEL_SNI
};

struct qpsip_table;
struct timedipset;
struct kvs;
struct kvs_key;

/* KeyValueStore*Lookup{Rule,Action}: the store, the key, the tag. */
struct kvs_lookup_args {
	struct kvs	*kl_store;
	struct kvs_key	*kl_key;
	bool		 kl_range;
	char		*kl_tag;		/* actions only */
};
struct pcache;
struct pool;

struct selector {
	int			 se_kind;
	_Atomic int		 se_refs;
	char			*se_desc;
	bool			 se_dst;	/* NMG: the local address */
	union {
		struct {
			uint8_t	 name[DNSNAME_MAXLEN];
			size_t	 len;
		}			 qname;
		struct suffix_set	*names;		/* QNAMESET, SUFFIX */
		struct netmask_group	 nmg;
		struct {
			regex_t	 re;
		}			 regex;
		struct {
			char	*str;	/* the path, or the header's name */
			regex_t	 re;	/* HTTPPathRegexRule, HTTPHeaderRule */
		}			 http;
		uint32_t		 num;	/* qtype, qclass, opcode... */
		bool			 flag;
		struct {
			int	 min;
			int	 max;
			int	 section;	/* -1 all, 0..3 */
			uint16_t type;
		}			 range;
		double			 proba;
		struct {
			char	*name;
			char	*value;		/* NULL: any value */
		}			 tag;
		char			*pool;		/* and SNI */
		struct {
			pthread_mutex_t	 lock;
			struct qps	 bucket;
		}			 maxqps;
		struct qpsip_table	*qpsip;
		struct timedipset	*tis;
		struct {
			char	*pool;
			uint64_t limit;
		}			 outstanding;
		struct {
			struct selector	**subs;
			size_t		  n;
		}			 list;
		struct selector		*inner;
		struct luafn		*luafn;
		struct kvs_lookup_args	 kvs;
		struct {
			uint8_t	 type;
			bool	 any;		/* no value given */
			uint8_t	*value;
			size_t	 len;
		}			 ppv;		/* ProxyProtocolValueRule */
	}			 se_u;
};

enum action_kind {
	ACT_DROP, ACT_ALLOW, ACT_NONE, ACT_RCODE, ACT_ERCODE, ACT_TC,
	ACT_POOL, ACT_QPS, ACT_QPSPOOL, ACT_SPOOF, ACT_SPOOFCNAME,
	ACT_SPOOFRAW, ACT_DELAY, ACT_NORECURSE, ACT_DISABLEVALIDATION,
	ACT_SKIPCACHE, ACT_SETTAG, ACT_LOG, ACT_TEE, ACT_CONTINUE,
	ACT_NEGATIVESOA, ACT_LUA, ACT_SETECS, ACT_ECSPREFIX, ACT_DISABLEECS,
	ACT_ECSOVERRIDE, ACT_MAXRETTTL, ACT_TEMPFAILTTL, ACT_EDNSOPTION,
	ACT_SPOOFPACKET, ACT_SPOOFSVC, ACT_KVS, ACT_PPSET, ACT_PPADD,
	ACT_REMOTELOG, ACT_DNSTAP, ACT_HTTPSTATUS, ACT_MACADDR,
	/* response actions */
	ACT_RALLOW, ACT_RDROP, ACT_RDELAY, ACT_RLOG, ACT_RLUA, ACT_RLIMITTTL,
	ACT_RREDUCETTL, ACT_RMAXRETTTL, ACT_RCLEARTYPES, ACT_RSKIPCACHE,
	ACT_RSETTAG, ACT_RREMOTELOG, ACT_RDNSTAP
};

#define SPOOF_MAX	16

/* TeeAction's counters, in the order of dnsdist's getStats() names. */
enum tee_stat {
	TEE_NOERRORS, TEE_NXDOMAINS, TEE_OTHERRCODE, TEE_QUERIES,
	TEE_RECVERRORS, TEE_REFUSEDS, TEE_RESPONSES, TEE_SENDERRORS,
	TEE_SERVFAILS, TEE_TCPDROPS, TEE_NSTATS
};
extern const char *const tee_stat_names[TEE_NSTATS];

struct action {
	int			 ac_kind;
	_Atomic int		 ac_refs;
	char			*ac_desc;
	/* Header bits of answers built here: -1 for the default. */
	int8_t			 ac_aa, ac_ad, ac_ra;
	bool			 ac_goon;	/* a pool chosen, rules go on */
	union {
		int			 rcode;
		char			*pool;
		struct {
			int		 status;
			char		*body;
			size_t		 len;
			char		*ctype;
		}			 http;
		struct {
			pthread_mutex_t	 lock;
			struct qps	 bucket;
			char		*pool;
		}			 qps;
		struct {
			struct sockaddr_storage addrs[SPOOF_MAX];
			size_t		 n;
			uint8_t		 cname[DNSNAME_MAXLEN];
			size_t		 cnamelen;
			uint8_t		*raw[SPOOF_MAX];	/* rdata */
			size_t		 rawlen[SPOOF_MAX];
			uint32_t	 ttl;
			uint16_t	 anytype;	/* typeForAny; 0: ANY */
			/* SpoofSVCAction's hints: see action_spoof_svc() */
			uint8_t		*extra;
			size_t		 extralen;
		}			 spoof;
		int			 delayms;
		struct {
			struct netmask	 v4;	/* family 0: none */
			struct netmask	 v6;
		}			 ecs;
		struct {
			int		 v4;
			int		 v6;
		}			 ecsprefix;
		bool			 flag;
		struct {
			char		*name;
			char		*value;
		}			 tag;
		struct {
			pthread_mutex_t	 lock;
			FILE		*fp;
			char		*path;	/* for action_log_reopen() */
			bool		 buffered;
			bool		 binary;
			bool		 verboseonly;	/* to stdout */
			bool		 timestamp;
		}			 log;
		struct action		*inner;
		struct {
			uint32_t	 min, max;	/* LimitTTL, caps */
			uint32_t	 pct;		/* SetReducedTTL */
			uint16_t	*types;		/* NULL: all */
			size_t		 ntypes;
		}			 rrs;
		struct {
			uint16_t	 code;
			uint16_t	 len;
			uint8_t		*data;		/* an option, a packet,
							   PROXY protocol TLVs */
		}			 raw;
		struct {
			struct sockaddr_storage addr;
			struct sockaddr_storage local;	/* family 0: any */
			bool		 addecs;
			pthread_mutex_t	 lock;
			int		 fd;	/* -1 until first used */
			_Atomic uint64_t st[TEE_NSTATS];
		}			 tee;
		struct {
			uint8_t		 zone[DNSNAME_MAXLEN];
			size_t		 zonelen;
			uint8_t		 mname[DNSNAME_MAXLEN];
			size_t		 mnamelen;
			uint8_t		 rname[DNSNAME_MAXLEN];
			size_t		 rnamelen;
			uint32_t	 ttl, serial, refresh, retry, expire,
					 minimum;
			bool		 nxd;
			bool		 inauth;	/* else additional */
		}			 soa;
		struct luafn		*luafn;
		struct kvs_lookup_args	 kvs;
		struct rlog_action	*rlog;	/* RemoteLog*, DnstapLog* */
	}			 ac_u;
};

struct rule {
	_Atomic int		 ru_refs;	/* the draft's and snapshots' */
	struct selector		*ru_sel;
	struct action		*ru_act;
	char			*ru_name;
	char			 ru_uuid[37];
	uint64_t		 ru_order;	/* creation order */
	_Atomic uint64_t	 ru_matches;
};

struct rule_chain {
	struct rule		**rc_rules;
	size_t			  rc_count;
	uint64_t		  rc_nextorder;
};

/*
 * The chains: queries, responses, cache hits, self-answered responses,
 * answers handed to a packet cache.
 */
extern struct rule_chain	rules_query;
extern struct rule_chain	rules_response;
extern struct rule_chain	rules_cachehit;
extern struct rule_chain	rules_selfanswered;
extern struct rule_chain	rules_cacheinserted;

/*
 * Hooks into Lua for LuaRule and LuaAction, set by the Lua layer; they
 * take the Lua lock themselves.  A failing hook returns "no match" and
 * "no action".
 */
struct luafn;
extern bool	(*rule_lua_match)(struct luafn *, struct dnsq *);
extern int	(*rule_lua_action)(struct luafn *, struct dnsq *);
/*
 * A LuaRule, LuaAction or LuaResponseAction is gone: its function may be
 * collected.  Set by the Lua layer; it only queues the reference, as the
 * last release may come from any thread.
 */
extern void	(*rule_lua_release)(struct luafn *);
/* TeeAction: send a copy of the query; release the action's socket. */
extern void	(*rule_tee_send)(struct action *, const struct dnsq *);
extern void	(*rule_tee_close)(struct action *);
/* TeeAction: count the answers to the copies that have come (any thread). */
extern void	(*rule_tee_drain)(struct action *);
/*
 * RemoteLogAction and DnstapLogAction (and their response forms): build
 * the message, run the alter function, queue it.  Set by the Lua layer.
 */
extern void	(*rule_remote_log)(struct action *, struct dnsq *);
/* Whether a pool has a server up (PoolAvailableRule), set by the daemon. */
extern bool	(*rule_pool_available)(const char *);

/* Selectors: constructors return one reference, NULL on bad input. */
struct selector	*selector_new(int kind);
void		 selector_ref(struct selector *);
void		 selector_unref(struct selector *);	/* NULL is fine */
int		 selector_set_desc(struct selector *, const char *, ...)
		    __attribute__((__format__(__printf__, 2, 3)));
struct selector	*selector_maxqpsip(double qps, int v4bits, int v6bits,
		    double burst, int expiration, size_t maxentries,
		    size_t nshards);
bool		 selector_match(struct selector *, struct dnsq *);
/*
 * TimedIPSetRule: addresses that match until their time is up (monotonic
 * ns).  add keeps the later expiry of an address added twice; cleanup
 * drops the expired ones.  -1 on ENOMEM.
 */
struct selector	*selector_timedipset(void);
int		 timedipset_add(struct timedipset *, const struct sockaddr *,
		    uint64_t expire);
int		 timedipset_cleanup(struct timedipset *, uint64_t now);
void		 timedipset_clear(struct timedipset *);

struct action	*action_new(int kind);
void		 action_ref(struct action *);
void		 action_unref(struct action *);
int		 action_set_desc(struct action *, const char *, ...)
		    __attribute__((__format__(__printf__, 2, 3)));
int		 action_apply(struct action *, struct dnsq *);
/*
 * LogAction's file: open path (truncated unless append) for the action and
 * remember it, so that action_log_reopen() can open it again after it was
 * renamed.  0, or -1 with errno.
 */
int		 action_log_open(struct action *, const char *path,
		    bool append);
/* Open every LogAction file again, appending; how many failed (kept). */
int		 action_log_reopen(void);
/* Call fn with the file name of every LogAction. */
void		 action_log_paths(void (*fn)(const char *));

/* Chains */
/* A rule is shared by the draft chain and the snapshots that copy it. */
void		 rule_ref(struct rule *);
void		 rule_unref(struct rule *);
int		 rule_add(struct rule_chain *, struct selector *,
		    struct action *, const char *name, const char *uuid);
/* By position, name or uuid; 0 or -1 when there is no such rule. */
int		 rule_find(const struct rule_chain *, const char *key);
int		 rule_remove(struct rule_chain *, size_t pos);
int		 rule_move(struct rule_chain *, size_t from, size_t to);
void		 rule_clear(struct rule_chain *);
/* Replace the chain's rules with a copy of the given list. */
int		 rule_set(struct rule_chain *, struct rule **, size_t);
/* Run the chain; dq may be rewritten.  Returns the verdict. */
int		 rule_process(const struct rule_chain *, struct dnsq *);
/* qsort() order of rule pointers: most matches first. */
int		 rule_matches_cmp(const void *, const void *);
/* showRules()-style listing; filter: only rules whose action is kind. */
void		 rule_show(const struct rule_chain *, struct sbuf *,
		    bool uuids, int onlykind, size_t limit, bool bymatches);

/*
 * Start a dnsq for the packet pkt (len bytes, room for size) whose question
 * is q, from remote, under the live configuration snapshot; the rest is
 * zero: UDP, no local address, default pool.
 */
void		 dnsq_init(struct dnsq *, uint8_t *pkt, size_t len,
		    size_t size, const struct dnsquestion *q,
		    const struct sockaddr *remote, uint64_t now, uint64_t *rnd);

/*
 * The tags of a query, its protobuf IDs and a DoH query's request,
 * copied so that its response sees them: NULL when it has none, when no
 * response rule could read them (or on ENOMEM); give them to the
 * response's dq, then free.
 */
struct dq_tagset;
/*
 * The slot of the tag name in dq, made with the value "" when there is
 * none; -1 when every slot is taken.  name must outlive the query.
 */
int		 dnsq_tag_slot(struct dnsq *, const char *name);
struct dq_tagset *dnsq_tags_save(const struct dnsq *);
void		 dnsq_tags_load(struct dnsq *, const struct dq_tagset *);
void		 dnsq_tags_free(struct dq_tagset *);
/*
 * A copy of dq's dq_restart, with dq's skipCache, for the query in flight;
 * NULL when there is none or on ENOMEM.  The caller frees it.
 */
struct dq_restart *dnsq_restart_save(const struct dnsq *);

/*
 * Cap the TTLs of every record of the answer in dq but OPT to max
 * (SetMaxReturnedTTL*, applied after the answer went to the cache).
 */
void		 dnsq_cap_ttls(struct dnsq *, uint32_t max);

/* Build answers in dq (spoofing and friends).  0, or -1 when it won't fit. */
int		 dnsq_answer_rcode(struct dnsq *, int rcode);
int		 dnsq_answer_truncated(struct dnsq *);
/*
 * The query made a response by header edits, as a LuaAction's Nxdomain or
 * an RCodeAction make it: its records stay, the OPT record aside.
 */
void		 dnsq_turn_response(struct dnsq *, int rcode);
/* dq:spoof() and LuaAction's Spoof/SpoofRaw: a verdict (NONE: not ours). */
int		 dnsq_spoof_addrs(struct dnsq *, const struct sockaddr_storage *,
		    size_t);
int		 dnsq_spoof_raws(struct dnsq *, const uint8_t *const *raw,
		    const size_t *len, size_t);
int		 dnsq_spoof_text(struct dnsq *, const char *text, size_t len,
		    bool raw);
/*
 * The last touch on an answer built here: an OPT record when the query
 * had one (setAddEDNSToSelfGeneratedResponses) or the RCODE needs it,
 * with the payload size of setPayloadSizeOnSelfGeneratedAnswers and the
 * query's DO bit.  Does nothing to other packets.
 */
void		 dnsq_finish_answer(struct dnsq *);
/* setAddEDNSToSelfGeneratedResponses(), setPayloadSizeOnSelfGenerated...() */
extern _Atomic bool	 rule_add_edns;
extern _Atomic uint16_t	 rule_edns_payload;

#endif /* RULE_H */
