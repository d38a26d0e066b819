/*
 * Remote loggers (newRemoteLogger, newFrameStream*Logger) and the
 * messages RemoteLogAction and DnstapLogAction send them: dnsdist's
 * PBDNSMessage and dnstap's Dnstap, serialized here, then handed to the
 * logger without waiting.  A TCP logger keeps a bounded queue that its
 * thread (the daemon's) drains, dropping the oldest message when full; a
 * frame stream logger hands the message to libfstrm's own queue.
 */
#ifndef REMOTELOG_H
#define REMOTELOG_H

#include <sys/types.h>
#include <sys/socket.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sbuf.h"

enum rlog_kind { RLOG_TCP, RLOG_FSTRM_UNIX, RLOG_FSTRM_TCP };

/* libfstrm's options: 0 takes the library's default. */
enum rlog_fsopt {
	RLOG_BUFFERHINT, RLOG_FLUSHTIMEOUT, RLOG_INPUTQUEUE,
	RLOG_OUTPUTQUEUE, RLOG_NOTIFYTHRESHOLD, RLOG_REOPENINTERVAL,
	RLOG_NFSOPTS
};
extern const char *const rlog_fsopt_names[RLOG_NFSOPTS];

#define RLOG_MSGMAX	65535	/* the 16-bit length prefix */

struct rlog_msg {
	uint8_t		*m_buf;
	size_t		 m_len;
	size_t		 m_cap;
};

struct rlog {
	int			 rl_kind;
	_Atomic int		 rl_refs;
	char			*rl_name;	/* address or path, as given */
	struct sockaddr_storage	 rl_addr;	/* RLOG_TCP, RLOG_FSTRM_TCP */
	int			 rl_timeout;	/* seconds: connect, write */
	int			 rl_reconnect;	/* seconds between attempts */
	unsigned int		 rl_fsopt[RLOG_NFSOPTS];
	/*
	 * RLOG_TCP: a ring of rl_max messages under rl_lock.  Whoever
	 * sends (the daemon's rh_flush) swaps it for the spare one
	 * (rl_spare) and writes what it took without the lock.
	 */
	pthread_mutex_t		 rl_lock;
	struct rlog_msg		*rl_q;
	struct rlog_msg		*rl_spare;
	size_t			 rl_max;
	size_t			 rl_head;
	size_t			 rl_n;
	bool			 rl_stop;
	int			 rl_wake[2];	/* the thread's pipe, or -1 */
	/* counters, any thread */
	_Atomic uint64_t	 rl_queued;	/* messages handed to us */
	_Atomic uint64_t	 rl_sent;	/* written to the collector */
	_Atomic uint64_t	 rl_dropped;	/* queue full, or lost */
	_Atomic uint64_t	 rl_errors;	/* connects and writes failed */
	_Atomic uint64_t	 rl_connects;
	_Atomic bool		 rl_connected;
	void			*rl_impl;	/* the daemon's */
};

/*
 * The daemon's side: start the thread or the frame stream writer (0, or
 * -1 with the reason in err), stop it and free what it holds (waits for
 * its thread), hand a frame stream logger a message (copied), and send
 * what a TCP logger's queue holds when that can be done at once (a
 * packet thread calls it when the queue is half full; it never waits).
 * Unset (checking a configuration), loggers keep their queue and send
 * nothing.
 */
struct rlog_host {
	int	(*rh_start)(struct rlog *, struct sbuf *err);
	void	(*rh_stop)(struct rlog *);
	void	(*rh_submit)(struct rlog *, const uint8_t *, size_t);
	void	(*rh_flush)(struct rlog *);
};
extern struct rlog_host rlog_host;

/* A logger with one reference, started; NULL with the reason in err. */
struct rlog	*rlog_new(int kind, const char *name, size_t maxq,
		    struct sbuf *err);
void		 rlog_ref(struct rlog *);
void		 rlog_unref(struct rlog *);	/* the last one stops it */
/* Queue a message (copied); never blocks on the collector. */
void		 rlog_push(struct rlog *, const uint8_t *, size_t);
/* The logger as dnsdist shows it, with its counters. */
void		 rlog_describe(const struct rlog *, struct sbuf *);
/*
 * Take every queued message, the ring of rl_max from *head on, valid
 * until the next call (the daemon's sender, under its own lock); 0 when
 * there are none or when stopped.
 */
#define RLOG_FLUSH_MS	20	/* the longest a message waits to go */
size_t		 rlog_take(struct rlog *, struct rlog_msg **ring,
		    size_t *head);
/* Every logger alive, for showRemoteLoggers()-style listings. */
void		 rlog_walk(void (*)(struct rlog *, void *), void *);

/*
 * A protobuf message being built: PBDNSMessage's fields as dnsdist fills
 * them from a query or a response, which the alter function may change.
 * Text and bytes live in pm_arena.
 */
#define PBMSG_MAXTAGS	64
#define PBMSG_MAXRRS	32
#define PBMSG_MAXMETA	16
#define PBMSG_MAXVALS	16
#define PBMSG_ARENA	8192
struct pbmsg;
struct dnsq;

struct pbmsg	*pbmsg_get(void);	/* this thread's, cleared */
/* Fill it from dq: a query, or a response with its records. */
void		 pbmsg_from_dq(struct pbmsg *, const struct dnsq *,
		    bool response, bool cname);
/* Setters for the alter function and the options; -1 when full. */
int		 pbmsg_set_response(struct pbmsg *, uint64_t sec,
		    uint32_t usec);
int		 pbmsg_add_tag(struct pbmsg *, const char *);
int		 pbmsg_add_rr(struct pbmsg *, const char *name, uint16_t type,
		    uint16_t cls, uint32_t ttl, const void *rdata, size_t);
int		 pbmsg_set_bytes(struct pbmsg *, int field, const void *,
		    size_t);
void		 pbmsg_set_num(struct pbmsg *, int field, uint64_t);
int		 pbmsg_add_meta(struct pbmsg *, const char *key,
		    const char *value);
/*
 * Give each meta key without a value the empty string: dnsdist's
 * MetaValue always has one.
 */
void		 pbmsg_meta_fill(struct pbmsg *);
/* Fields for pbmsg_set_bytes() and pbmsg_set_num(). */
enum pbmsg_field {
	PBF_SERVERID, PBF_FROM, PBF_TO, PBF_REQUESTORID, PBF_DEVICEID,
	PBF_DEVICENAME, PBF_ECS,
	PBF_INBYTES, PBF_TIMESEC, PBF_TIMEUSEC, PBF_QTIMESEC, PBF_QTIMEUSEC,
	PBF_RCODE, PBF_FROMPORT, PBF_TOPORT
};
/* Serialize into buf: its length, or 0 when it does not fit. */
size_t		 pbmsg_pack(struct pbmsg *, uint8_t *buf, size_t cap);
void		 pbmsg_debug(struct pbmsg *, struct sbuf *);

/* The dnstap message dnsdist writes for dq; its length, or 0. */
size_t		 dnstap_pack(const struct dnsq *, bool response,
		    const char *identity, const char *extra, size_t extralen,
		    uint8_t *buf, size_t cap);

/*
 * What RemoteLogAction, RemoteLogResponseAction, DnstapLogAction and
 * DnstapLogResponseAction hold; freed with their action.
 */
struct luafn;
struct rlog_action {
	struct rlog	*ra_log;
	struct luafn	*ra_alter;
	char		*ra_serverid;	/* or the dnstap identity */
	bool		 ra_ipcipher;	/* ipEncryptKey: ra_ipkey */
	uint8_t		 ra_ipkey[16];
	bool		 ra_cname;	/* includeCNAME */
	bool		 ra_alltags;	/* exportTags='*' */
	char		**ra_tags;	/* exportTags, else NULL */
	size_t		 ra_ntags;
	char		**ra_metakey;	/* metas: key, */
	char		**ra_metaval;	/* ... the name after "kind:" */
	uint8_t		 ra_metakind[PBMSG_MAXMETA];	/* enum rlog_meta */
	uint8_t		 ra_metatlv[PBMSG_MAXMETA];	/* proxy-protocol-value:N */
	size_t		 ra_nmeta;
};
/* What a meta value says, as dnsdist 1.8 names them. */
enum rlog_meta {
	RMETA_B64, RMETA_TAGS, RMETA_TAG, RMETA_POOL, RMETA_SNI,
	RMETA_DOHHEADER, RMETA_DOHHOST, RMETA_DOHPATH, RMETA_DOHQUERY,
	RMETA_DOHSCHEME, RMETA_PPVALUE, RMETA_PPVALUES
};
void		 rlog_action_free(struct rlog_action *);

#endif /* REMOTELOG_H */
