/*
 * Remote loggers' queues and the messages they carry: dnsdist's protobuf
 * PBDNSMessage (lib/pb/dnsmessage.proto) and dnstap (lib/pb/dnstap.proto),
 * built from a query or a response and serialized with protobuf-c.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "addr.h"
#include "dnsname.h"
#include "dnspacket.h"
#include "pbwire.h"
#include "remotelog.h"
#include "rule.h"
#include "settings.h"
#include "siphash.h"
#include "pb/dnsmessage.pb-c.h"
#include "pb/dnstap.pb-c.h"

struct rlog_host	rlog_host;

const char *const rlog_fsopt_names[RLOG_NFSOPTS] = {
	"bufferHint", "flushTimeout", "inputQueueSize", "outputQueueSize",
	"queueNotifyThreshold", "reopenInterval"
};

/* Every logger alive, for listings. */
static pthread_mutex_t	  all_lock = PTHREAD_MUTEX_INITIALIZER;
static struct rlog	**all;
static size_t		  nall;

struct rlog *
rlog_new(int kind, const char *name, size_t maxq, struct sbuf *err)
{
	struct rlog	 *rl, **na;

	if ((rl = calloc(1, sizeof(*rl))) == NULL ||
	    (rl->rl_name = strdup(name)) == NULL ||
	    (maxq > 0 && ((rl->rl_q = calloc(maxq, sizeof(*rl->rl_q))) ==
	    NULL || (rl->rl_spare = calloc(maxq, sizeof(*rl->rl_q))) ==
	    NULL))) {
		sbuf_puts(err, "out of memory");
		goto fail;
	}
	rl->rl_kind = kind;
	rl->rl_max = maxq;
	rl->rl_timeout = 2;
	rl->rl_reconnect = 1;
	rl->rl_wake[0] = rl->rl_wake[1] = -1;
	atomic_init(&rl->rl_refs, 1);
	pthread_mutex_init(&rl->rl_lock, NULL);
	pthread_mutex_lock(&all_lock);
	if ((na = reallocarray(all, nall + 1, sizeof(*na))) == NULL) {
		pthread_mutex_unlock(&all_lock);
		pthread_mutex_destroy(&rl->rl_lock);
		sbuf_puts(err, "out of memory");
		goto fail;
	}
	all = na;
	all[nall++] = rl;
	pthread_mutex_unlock(&all_lock);
	return rl;
fail:
	if (rl != NULL) {
		free(rl->rl_name);
		free(rl->rl_q);
		free(rl->rl_spare);
	}
	free(rl);
	return NULL;
}

void
rlog_ref(struct rlog *rl)
{
	atomic_fetch_add(&rl->rl_refs, 1);
}

void
rlog_unref(struct rlog *rl)
{
	size_t	i;

	if (rl == NULL || atomic_fetch_sub(&rl->rl_refs, 1) != 1)
		return;
	pthread_mutex_lock(&all_lock);
	for (i = 0; i < nall; i++)
		if (all[i] == rl) {
			all[i] = all[--nall];
			break;
		}
	pthread_mutex_unlock(&all_lock);
	if (rl->rl_impl != NULL && rlog_host.rh_stop != NULL)
		rlog_host.rh_stop(rl);
	for (i = 0; i < rl->rl_max; i++) {
		free(rl->rl_q[i].m_buf);
		free(rl->rl_spare[i].m_buf);
	}
	free(rl->rl_q);
	free(rl->rl_spare);
	pthread_mutex_destroy(&rl->rl_lock);
	free(rl->rl_name);
	free(rl);
}

void
rlog_walk(void (*fn)(struct rlog *, void *), void *arg)
{
	size_t	i;

	pthread_mutex_lock(&all_lock);
	for (i = 0; i < nall; i++)
		fn(all[i], arg);
	pthread_mutex_unlock(&all_lock);
}

void
rlog_push(struct rlog *rl, const uint8_t *buf, size_t len)
{
	struct rlog_msg	*m;
	uint8_t		*nb;
	bool		 half;

	atomic_fetch_add_explicit(&rl->rl_queued, 1, memory_order_relaxed);
	if (rl->rl_kind != RLOG_TCP) {
		if (rlog_host.rh_submit != NULL && rl->rl_impl != NULL)
			rlog_host.rh_submit(rl, buf, len);
		else
			atomic_fetch_add_explicit(&rl->rl_dropped, 1,
			    memory_order_relaxed);
		return;
	}
	if (len > RLOG_MSGMAX || rl->rl_max == 0) {
		atomic_fetch_add_explicit(&rl->rl_dropped, 1,
		    memory_order_relaxed);
		return;
	}
	pthread_mutex_lock(&rl->rl_lock);
	/* Full: the oldest goes, as the collector is behind. */
	if (rl->rl_n == rl->rl_max) {
		rl->rl_head = (rl->rl_head + 1) % rl->rl_max;
		rl->rl_n--;
		atomic_fetch_add_explicit(&rl->rl_dropped, 1,
		    memory_order_relaxed);
	}
	m = &rl->rl_q[(rl->rl_head + rl->rl_n) % rl->rl_max];
	if (m->m_cap < len) {
		if ((nb = realloc(m->m_buf, len < 512 ? 512 : len)) == NULL) {
			pthread_mutex_unlock(&rl->rl_lock);
			atomic_fetch_add_explicit(&rl->rl_dropped, 1,
			    memory_order_relaxed);
			return;
		}
		m->m_buf = nb;
		m->m_cap = len < 512 ? 512 : len;
	}
	memcpy(m->m_buf, buf, len);
	m->m_len = len;
	rl->rl_n++;
	half = rl->rl_n >= (rl->rl_max + 1) / 2;
	pthread_mutex_unlock(&rl->rl_lock);
	/* Half full: this thread sends the batch, if it can at once. */
	if (half && rlog_host.rh_flush != NULL && rl->rl_impl != NULL)
		rlog_host.rh_flush(rl);
}

size_t
rlog_take(struct rlog *rl, struct rlog_msg **ring, size_t *head)
{
	struct rlog_msg	*t;
	size_t		 n;

	pthread_mutex_lock(&rl->rl_lock);
	if (rl->rl_stop || rl->rl_n == 0) {
		pthread_mutex_unlock(&rl->rl_lock);
		return 0;
	}
	/* The ring goes to the thread whole; producers get the spare. */
	t = rl->rl_q;
	rl->rl_q = rl->rl_spare;
	rl->rl_spare = t;
	n = rl->rl_n;
	*head = rl->rl_head;
	rl->rl_head = 0;
	rl->rl_n = 0;
	pthread_mutex_unlock(&rl->rl_lock);
	*ring = t;
	return n;
}

void
rlog_describe(const struct rlog *rl, struct sbuf *sb)
{
	char	buf[ADDR_MAXTEXT];

	if (rl->rl_kind == RLOG_FSTRM_UNIX)
		sbuf_printf(sb, "FrameStreamLogger to %s", rl->rl_name);
	else
		sbuf_printf(sb, "%s%s", rl->rl_kind == RLOG_FSTRM_TCP ?
		    "FrameStreamLogger to " : "", addr_to_text(
		    (const struct sockaddr *)&rl->rl_addr, buf, sizeof(buf)));
	sbuf_printf(sb, " (%llu processed, %llu dropped, %llu errors, "
	    "%llu connections, %s)",
	    (unsigned long long)atomic_load(&rl->rl_sent),
	    (unsigned long long)atomic_load(&rl->rl_dropped),
	    (unsigned long long)atomic_load(&rl->rl_errors),
	    (unsigned long long)atomic_load(&rl->rl_connects),
	    atomic_load(&rl->rl_connected) ? "connected" : "not connected");
}

void
rlog_action_free(struct rlog_action *ra)
{
	size_t	i;

	if (ra == NULL)
		return;
	rlog_unref(ra->ra_log);
	if (ra->ra_alter != NULL && rule_lua_release != NULL)
		rule_lua_release(ra->ra_alter);
	free(ra->ra_serverid);
	for (i = 0; i < ra->ra_ntags; i++)
		free(ra->ra_tags[i]);
	free(ra->ra_tags);
	for (i = 0; i < ra->ra_nmeta; i++) {
		free(ra->ra_metakey[i]);
		free(ra->ra_metaval[i]);
	}
	free(ra->ra_metakey);
	free(ra->ra_metaval);
	free(ra);
}

/* Protobuf messages */

struct pbmsg {
	PBDNSMessage			 pm_m;
	PBDNSMessage__DNSQuestion	 pm_q;
	PBDNSMessage__DNSResponse	 pm_r;
	PBDNSMessage__DNSResponse__DNSRR pm_rr[PBMSG_MAXRRS];
	PBDNSMessage__DNSResponse__DNSRR *pm_rrp[PBMSG_MAXRRS];
	char				*pm_tags[PBMSG_MAXTAGS];
	PBDNSMessage__Meta		 pm_meta[PBMSG_MAXMETA];
	PBDNSMessage__Meta		*pm_metap[PBMSG_MAXMETA];
	PBDNSMessage__MetaValue		 pm_mv[PBMSG_MAXMETA];
	char				*pm_vals[PBMSG_MAXMETA][PBMSG_MAXVALS];
	size_t				 pm_used;
	uint8_t				 pm_arena[PBMSG_ARENA];
};

static _Thread_local struct pbmsg	 thread_pbmsg;
static uint8_t				 msgid_key[SIPHASH_KEYBYTES];
static pthread_once_t			 msgid_once = PTHREAD_ONCE_INIT;

static void
msgid_init(void)
{
	randombytes_buf(msgid_key, sizeof(msgid_key));
}

/* Room in the arena; NULL when full. */
static void *
pm_alloc(struct pbmsg *pm, size_t n)
{
	void	*p;

	if (PBMSG_ARENA - pm->pm_used < n)
		return NULL;
	p = pm->pm_arena + pm->pm_used;
	pm->pm_used += n;
	return p;
}

static char *
pm_strdup(struct pbmsg *pm, const char *s, size_t n)
{
	char	*p;

	if ((p = pm_alloc(pm, n + 1)) == NULL)
		return NULL;
	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

/* Each thread's own, in its static TLS: nothing to free. */
struct pbmsg *
pbmsg_get(void)
{
	struct pbmsg	*pm = &thread_pbmsg;
	PBDNSMessage	 m = PBDNSMESSAGE__INIT;
	PBDNSMessage__DNSQuestion q = PBDNSMESSAGE__DNSQUESTION__INIT;
	PBDNSMessage__DNSResponse r = PBDNSMESSAGE__DNSRESPONSE__INIT;

	pm->pm_m = m;
	pm->pm_q = q;
	pm->pm_r = r;
	pm->pm_r.rrs = pm->pm_rrp;
	pm->pm_r.tags = pm->pm_tags;
	pm->pm_m.meta = pm->pm_metap;
	pm->pm_used = 0;
	return pm;
}

static void
pm_addr(struct pbmsg *pm, ProtobufCBinaryData *bd, protobuf_c_boolean *has,
    const struct sockaddr *sa)
{
	const void	*p;
	size_t		 n;

	if (sa->sa_family == AF_INET6) {
		p = &((const struct sockaddr_in6 *)sa)->sin6_addr;
		n = 16;
	} else if (sa->sa_family == AF_INET) {
		p = &((const struct sockaddr_in *)sa)->sin_addr;
		n = 4;
	} else
		return;
	if ((bd->data = pm_alloc(pm, n)) == NULL)
		return;
	memcpy(bd->data, p, n);
	bd->len = n;
	*has = 1;
}

struct rr_walk {
	struct pbmsg		*pm;
	const uint8_t		*pkt;
	size_t			 len;
	bool			 cname;
};

static void
pm_walk_rr(void *arg, const struct dnsrr *rr)
{
	struct rr_walk	*w = arg;
	uint8_t		 name[DNSNAME_MAXLEN];
	char		 text[DNSNAME_MAXLEN * 4 + 2];
	size_t		 nlen, off = rr->rr_off;
	int		 tlen;

	if (rr->rr_section != 1 || (rr->rr_type != DNS_TYPE_A &&
	    rr->rr_type != DNS_TYPE_AAAA && !(w->cname &&
	    rr->rr_type == DNS_TYPE_CNAME)))
		return;
	if (dnsname_parse(w->pkt, w->len, &off, name, &nlen) == -1 ||
	    (tlen = dnsname_to_text(name, nlen, text, sizeof(text))) == -1)
		return;
	if (rr->rr_type == DNS_TYPE_CNAME) {
		char	target[DNSNAME_MAXLEN * 4 + 2];
		int	n;

		off = rr->rr_rdoff;
		if (dnsname_parse(w->pkt, w->len, &off, name, &nlen) == -1 ||
		    (n = dnsname_to_text(name, nlen, target,
		    sizeof(target))) == -1)
			return;
		pbmsg_add_rr(w->pm, text, rr->rr_type, rr->rr_class,
		    rr->rr_ttl, target, (size_t)n);
	} else
		pbmsg_add_rr(w->pm, text, rr->rr_type, rr->rr_class,
		    rr->rr_ttl, w->pkt + rr->rr_rdoff, rr->rr_rdlen);
}

/* The wall clock time of the monotonic ns t, given both clocks' now. */
static void
wall_time(const struct timespec *rnow, uint64_t mono, uint64_t t,
    struct timespec *ts)
{
	uint64_t	ns;

	*ts = *rnow;
	if (t == 0 || t >= mono)
		return;
	ns = (uint64_t)ts->tv_sec * 1000000000ULL + (uint64_t)ts->tv_nsec -
	    (mono - t);
	ts->tv_sec = (time_t)(ns / 1000000000ULL);
	ts->tv_nsec = (long)(ns % 1000000000ULL);
}

/*
 * The same ID for a query and its response, with nothing stored: a keyed
 * hash of when the query came, from where and with which ID.
 */
static void
message_id(const struct dnsq *dq, uint8_t id[16])
{
	struct {
		uint64_t	t;
		uint8_t		a[16];
		uint16_t	port;
		uint16_t	id;
	} in;
	const struct sockaddr *sa = dq->dq_remote;

	pthread_once(&msgid_once, msgid_init);
	memset(&in, 0, sizeof(in));
	in.t = dq->dq_qstart != 0 ? dq->dq_qstart : dq->dq_now;
	if (sa->sa_family == AF_INET6)
		memcpy(in.a, &((const struct sockaddr_in6 *)sa)->sin6_addr, 16);
	else if (sa->sa_family == AF_INET)
		memcpy(in.a, &((const struct sockaddr_in *)sa)->sin_addr, 4);
	in.port = addr_port(sa);
	in.id = dnspacket_id(dq->dq_pkt);
	siphash24_128(msgid_key, &in, sizeof(in), id);
	id[6] = (uint8_t)((id[6] & 0x0f) | 0x40);	/* version 4 */
	id[8] = (uint8_t)((id[8] & 0x3f) | 0x80);
}

/*
 * The client's transport as both formats number it (UDP 1, TCP 2, DoT 3,
 * DoH 4, DNSCrypt over UDP 5 and over TCP 6), as dnsdist 1.8 gives it.
 */
static int
dq_protocol(const struct dnsq *dq)
{
	if (dq->dq_http != NULL)
		return PBDNSMESSAGE__SOCKET_PROTOCOL__DOH;
	if (dq->dq_tls)
		return PBDNSMESSAGE__SOCKET_PROTOCOL__DOT;
	if (dq->dq_dnscrypt != NULL)
		return dq->dq_tcp ? PBDNSMESSAGE__SOCKET_PROTOCOL__DNSCryptTCP :
		    PBDNSMESSAGE__SOCKET_PROTOCOL__DNSCryptUDP;
	return dq->dq_tcp ? PBDNSMESSAGE__SOCKET_PROTOCOL__TCP :
	    PBDNSMESSAGE__SOCKET_PROTOCOL__UDP;
}

void
pbmsg_from_dq(struct pbmsg *pm, const struct dnsq *dq, bool response,
    bool cname)
{
	PBDNSMessage	*m = &pm->pm_m;
	struct timespec	 now, qt;
	char		 text[DNSNAME_MAXLEN * 4 + 2];
	struct rr_walk	 w;
	int		 n;

	m->type = response ? PBDNSMESSAGE__TYPE__DNSResponseType :
	    PBDNSMESSAGE__TYPE__DNSQueryType;
	if ((m->messageid.data = pm_alloc(pm, 16)) != NULL) {
		message_id(dq, m->messageid.data);
		m->messageid.len = 16;
		m->has_messageid = 1;
	}
	m->has_socketfamily = 1;
	m->socketfamily = dq->dq_remote->sa_family == AF_INET6 ?
	    PBDNSMESSAGE__SOCKET_FAMILY__INET6 :
	    PBDNSMESSAGE__SOCKET_FAMILY__INET;
	m->has_socketprotocol = 1;
	m->socketprotocol = (PBDNSMessage__SocketProtocol)dq_protocol(dq);
	pm_addr(pm, &m->from, &m->has_from, dq->dq_remote);
	m->has_fromport = 1;
	m->fromport = addr_port(dq->dq_remote);
	if (dq->dq_local != NULL) {
		pm_addr(pm, &m->to, &m->has_to, dq->dq_local);
		m->has_toport = 1;
		m->toport = addr_port(dq->dq_local);
	}
	m->has_inbytes = 1;
	m->inbytes = dq->dq_len;
	clock_gettime(CLOCK_REALTIME, &now);
	m->has_timesec = m->has_timeusec = 1;
	m->timesec = (uint32_t)now.tv_sec;
	m->timeusec = (uint32_t)(now.tv_nsec / 1000);
	m->has_id = 1;
	m->id = dnspacket_id(dq->dq_pkt);
	if ((n = dnsname_to_text(dq->dq_q->q_name, dq->dq_q->q_namelen, text,
	    sizeof(text))) != -1)
		pm->pm_q.qname = pm_strdup(pm, text, (size_t)n);
	pm->pm_q.has_qtype = pm->pm_q.has_qclass = 1;
	pm->pm_q.qtype = dq->dq_q->q_type;
	pm->pm_q.qclass = dq->dq_q->q_class;
	m->question = &pm->pm_q;
	/* What the hooks set, where dnsdist puts it (no room: left out). */
	if (dq->dq_pbid[DQ_PB_REQUESTORID] != NULL)
		(void)pbmsg_set_bytes(pm, PBF_REQUESTORID,
		    dq->dq_pbid[DQ_PB_REQUESTORID],
		    dq->dq_pbidlen[DQ_PB_REQUESTORID]);
	if (dq->dq_pbid[DQ_PB_DEVICEID] != NULL)
		(void)pbmsg_set_bytes(pm, PBF_DEVICEID,
		    dq->dq_pbid[DQ_PB_DEVICEID], dq->dq_pbidlen[DQ_PB_DEVICEID]);
	if (dq->dq_pbid[DQ_PB_DEVICENAME] != NULL)
		(void)pbmsg_set_bytes(pm, PBF_DEVICENAME,
		    dq->dq_pbid[DQ_PB_DEVICENAME],
		    dq->dq_pbidlen[DQ_PB_DEVICENAME]);
	if (!response)
		return;
	wall_time(&now, dq->dq_now, dq->dq_qstart, &qt);
	pbmsg_set_response(pm, (uint64_t)qt.tv_sec,
	    (uint32_t)(qt.tv_nsec / 1000));
	pm->pm_r.has_rcode = 1;
	pm->pm_r.rcode = dnspacket_rcode(dq->dq_pkt);
	w.pm = pm;
	w.pkt = dq->dq_pkt;
	w.len = dq->dq_len;
	w.cname = cname;
	(void)dnspacket_walk(dq->dq_pkt, dq->dq_len, dq->dq_q->q_end,
	    pm_walk_rr, &w);
}

int
pbmsg_set_response(struct pbmsg *pm, uint64_t sec, uint32_t usec)
{
	pm->pm_m.type = PBDNSMESSAGE__TYPE__DNSResponseType;
	pm->pm_m.response = &pm->pm_r;
	pm->pm_r.has_querytimesec = pm->pm_r.has_querytimeusec = 1;
	pm->pm_r.querytimesec = (uint32_t)sec;
	pm->pm_r.querytimeusec = usec;
	return 0;
}

int
pbmsg_add_tag(struct pbmsg *pm, const char *tag)
{
	char	*t;

	if (pm->pm_r.n_tags == PBMSG_MAXTAGS ||
	    (t = pm_strdup(pm, tag, strlen(tag))) == NULL)
		return -1;
	pm->pm_tags[pm->pm_r.n_tags++] = t;
	/* Tags travel in the response part, for queries too. */
	pm->pm_m.response = &pm->pm_r;
	return 0;
}

int
pbmsg_add_rr(struct pbmsg *pm, const char *name, uint16_t type,
    uint16_t cls, uint32_t ttl, const void *rdata, size_t len)
{
	PBDNSMessage__DNSResponse__DNSRR	*rr, init =
	    PBDNSMESSAGE__DNSRESPONSE__DNSRR__INIT;

	if (pm->pm_r.n_rrs == PBMSG_MAXRRS)
		return -1;
	rr = &pm->pm_rr[pm->pm_r.n_rrs];
	*rr = init;
	if ((rr->name = pm_strdup(pm, name, strlen(name))) == NULL ||
	    (rr->rdata.data = pm_alloc(pm, len)) == NULL)
		return -1;
	memcpy(rr->rdata.data, rdata, len);
	rr->rdata.len = len;
	rr->has_rdata = rr->has_type = rr->has_class_ = rr->has_ttl = 1;
	rr->type = type;
	rr->class_ = cls;
	rr->ttl = ttl;
	pm->pm_rrp[pm->pm_r.n_rrs++] = rr;
	pm->pm_m.response = &pm->pm_r;
	return 0;
}

int
pbmsg_set_bytes(struct pbmsg *pm, int field, const void *p, size_t len)
{
	PBDNSMessage		*m = &pm->pm_m;
	ProtobufCBinaryData	*bd;
	protobuf_c_boolean	*has;
	char			*s;

	switch (field) {
	case PBF_REQUESTORID:
	case PBF_DEVICENAME:
		if ((s = pm_strdup(pm, p, len)) == NULL)
			return -1;
		if (field == PBF_REQUESTORID)
			m->requestorid = s;
		else
			m->devicename = s;
		return 0;
	case PBF_SERVERID:
		bd = &m->serveridentity;
		has = &m->has_serveridentity;
		break;
	case PBF_FROM:
		bd = &m->from;
		has = &m->has_from;
		break;
	case PBF_TO:
		bd = &m->to;
		has = &m->has_to;
		break;
	case PBF_DEVICEID:
		bd = &m->deviceid;
		has = &m->has_deviceid;
		break;
	case PBF_ECS:
		bd = &m->originalrequestorsubnet;
		has = &m->has_originalrequestorsubnet;
		break;
	default:
		return -1;
	}
	if ((bd->data = pm_alloc(pm, len)) == NULL)
		return -1;
	memcpy(bd->data, p, len);
	bd->len = len;
	*has = 1;
	if (field == PBF_FROM)
		m->socketfamily = len == 16 ?
		    PBDNSMESSAGE__SOCKET_FAMILY__INET6 :
		    PBDNSMESSAGE__SOCKET_FAMILY__INET;
	return 0;
}

void
pbmsg_set_num(struct pbmsg *pm, int field, uint64_t v)
{
	PBDNSMessage	*m = &pm->pm_m;

	switch (field) {
	case PBF_INBYTES:
		m->has_inbytes = 1;
		m->inbytes = v;
		break;
	case PBF_TIMESEC:
		m->has_timesec = 1;
		m->timesec = (uint32_t)v;
		break;
	case PBF_TIMEUSEC:
		m->has_timeusec = 1;
		m->timeusec = (uint32_t)v;
		break;
	case PBF_QTIMESEC:
		pbmsg_set_response(pm, v, pm->pm_r.querytimeusec);
		break;
	case PBF_QTIMEUSEC:
		pbmsg_set_response(pm, pm->pm_r.querytimesec, (uint32_t)v);
		break;
	case PBF_RCODE:
		m->response = &pm->pm_r;
		pm->pm_r.has_rcode = 1;
		pm->pm_r.rcode = (uint32_t)v;
		break;
	case PBF_FROMPORT:
		m->has_fromport = 1;
		m->fromport = (uint32_t)v;
		break;
	case PBF_TOPORT:
		m->has_toport = 1;
		m->toport = (uint32_t)v;
		break;
	}
}

int
pbmsg_add_meta(struct pbmsg *pm, const char *key, const char *value)
{
	PBDNSMessage__Meta	 mi = PBDNSMESSAGE__META__INIT;
	PBDNSMessage__MetaValue	 vi = PBDNSMESSAGE__META_VALUE__INIT;
	size_t			 i;
	char			*v;

	/* A key is there once, with all its values. */
	for (i = 0; i < pm->pm_m.n_meta; i++)
		if (strcmp(pm->pm_meta[i].key, key) == 0)
			break;
	if (i == pm->pm_m.n_meta) {
		if (i == PBMSG_MAXMETA)
			return -1;
		pm->pm_meta[i] = mi;
		pm->pm_mv[i] = vi;
		if ((pm->pm_meta[i].key = pm_strdup(pm, key,
		    strlen(key))) == NULL)
			return -1;
		pm->pm_meta[i].value = &pm->pm_mv[i];
		pm->pm_mv[i].stringval = pm->pm_vals[i];
		pm->pm_metap[i] = &pm->pm_meta[i];
		pm->pm_m.n_meta++;
	}
	if (value == NULL)
		return 0;
	if (pm->pm_mv[i].n_stringval == PBMSG_MAXVALS ||
	    (v = pm_strdup(pm, value, strlen(value))) == NULL)
		return -1;
	pm->pm_vals[i][pm->pm_mv[i].n_stringval++] = v;
	return 0;
}

void
pbmsg_meta_fill(struct pbmsg *pm)
{
	size_t	i;

	for (i = 0; i < pm->pm_m.n_meta; i++)
		if (pm->pm_mv[i].n_stringval == 0)
			(void)pbmsg_add_meta(pm, pm->pm_meta[i].key, "");
}

size_t
pbmsg_pack(struct pbmsg *pm, uint8_t *buf, size_t cap)
{
	return pbwire_dnsmessage(&pm->pm_m, buf, cap);
}

static void
debug_bytes(struct sbuf *sb, const char *what, const ProtobufCBinaryData *bd)
{
	char	buf[ADDR_MAXTEXT];
	struct sockaddr_storage ss;

	memset(&ss, 0, sizeof(ss));
	if (bd->len == 4) {
		ss.ss_family = AF_INET;
		memcpy(&((struct sockaddr_in *)&ss)->sin_addr, bd->data, 4);
	} else if (bd->len == 16) {
		ss.ss_family = AF_INET6;
		memcpy(&((struct sockaddr_in6 *)&ss)->sin6_addr, bd->data, 16);
	} else
		return;
	sbuf_printf(sb, "%s: %s\n", what, addr_host_to_text(
	    (struct sockaddr *)&ss, buf, sizeof(buf)));
}

void
pbmsg_debug(struct pbmsg *pm, struct sbuf *sb)
{
	PBDNSMessage	*m = &pm->pm_m;
	size_t		 i;

	sbuf_printf(sb, "Type: %s\n", m->type ==
	    PBDNSMESSAGE__TYPE__DNSResponseType ? "Response" : "Query");
	if (m->has_id)
		sbuf_printf(sb, "ID: %u\n", m->id);
	if (m->has_serveridentity)
		sbuf_printf(sb, "Server identity: %.*s\n",
		    (int)m->serveridentity.len, m->serveridentity.data);
	if (m->has_from)
		debug_bytes(sb, "From", &m->from);
	if (m->has_to)
		debug_bytes(sb, "To", &m->to);
	if (m->has_inbytes)
		sbuf_printf(sb, "Bytes: %llu\n",
		    (unsigned long long)m->inbytes);
	if (m->question != NULL && m->question->qname != NULL)
		sbuf_printf(sb, "Question: %s %u %u\n", m->question->qname,
		    m->question->qclass, m->question->qtype);
	if (m->response == NULL)
		return;
	if (m->response->has_rcode)
		sbuf_printf(sb, "Response code: %u\n", m->response->rcode);
	for (i = 0; i < m->response->n_rrs; i++)
		sbuf_printf(sb, "RR: %s %u %u %u\n", m->response->rrs[i]->name,
		    m->response->rrs[i]->class_, m->response->rrs[i]->type,
		    m->response->rrs[i]->ttl);
	for (i = 0; i < m->response->n_tags; i++)
		sbuf_printf(sb, "Tag: %s\n", m->response->tags[i]);
}

/* dnstap */

size_t
dnstap_pack(const struct dnsq *dq, bool response, const char *identity,
    const char *extra, size_t extralen, uint8_t *buf, size_t cap)
{
	Dnstap__Dnstap	 d = DNSTAP__DNSTAP__INIT;
	Dnstap__Message	 m = DNSTAP__MESSAGE__INIT;
	static const char version[] = "dnsdist " DNSDIST_VERSION;
	const struct sockaddr *ra = dq->dq_remote, *la = dq->dq_local;
	struct timespec	 now, qt;
	size_t		 n;

	d.type = DNSTAP__DNSTAP__TYPE__MESSAGE;
	d.has_identity = 1;
	d.identity.data = (uint8_t *)(uintptr_t)identity;
	d.identity.len = strlen(identity);
	d.has_version = 1;
	d.version.data = (uint8_t *)(uintptr_t)version;
	d.version.len = sizeof(version) - 1;
	if (extra != NULL) {
		d.has_extra = 1;
		d.extra.data = (uint8_t *)(uintptr_t)extra;
		d.extra.len = extralen;
	}
	m.type = response ? DNSTAP__MESSAGE__TYPE__CLIENT_RESPONSE :
	    DNSTAP__MESSAGE__TYPE__CLIENT_QUERY;
	m.has_socket_family = m.has_socket_protocol = 1;
	m.socket_family = ra->sa_family == AF_INET6 ?
	    DNSTAP__SOCKET_FAMILY__INET6 : DNSTAP__SOCKET_FAMILY__INET;
	m.socket_protocol = (Dnstap__SocketProtocol)dq_protocol(dq);
	if (ra->sa_family == AF_INET6) {
		m.query_address.data = (uint8_t *)(uintptr_t)
		    &((const struct sockaddr_in6 *)ra)->sin6_addr;
		m.query_address.len = 16;
	} else {
		m.query_address.data = (uint8_t *)(uintptr_t)
		    &((const struct sockaddr_in *)ra)->sin_addr;
		m.query_address.len = 4;
	}
	m.has_query_address = m.has_query_port = 1;
	m.query_port = addr_port(ra);
	if (la != NULL && la->sa_family == ra->sa_family) {
		if (la->sa_family == AF_INET6) {
			m.response_address.data = (uint8_t *)(uintptr_t)
			    &((const struct sockaddr_in6 *)la)->sin6_addr;
			m.response_address.len = 16;
		} else {
			m.response_address.data = (uint8_t *)(uintptr_t)
			    &((const struct sockaddr_in *)la)->sin_addr;
			m.response_address.len = 4;
		}
		m.has_response_address = m.has_response_port = 1;
		m.response_port = addr_port(la);
	}
	clock_gettime(CLOCK_REALTIME, &now);
	wall_time(&now, dq->dq_now, response ? dq->dq_qstart : dq->dq_now,
	    &qt);
	m.has_query_time_sec = m.has_query_time_nsec = 1;
	m.query_time_sec = (uint64_t)qt.tv_sec;
	m.query_time_nsec = (uint32_t)qt.tv_nsec;
	if (response) {
		m.has_response_time_sec = m.has_response_time_nsec = 1;
		m.response_time_sec = (uint64_t)now.tv_sec;
		m.response_time_nsec = (uint32_t)now.tv_nsec;
		m.has_response_message = 1;
		m.response_message.data = dq->dq_pkt;
		m.response_message.len = dq->dq_len;
	} else {
		m.has_query_message = 1;
		m.query_message.data = dq->dq_pkt;
		m.query_message.len = dq->dq_len;
	}
	d.message = &m;
	if ((n = dnstap__dnstap__get_packed_size(&d)) > cap)
		return 0;
	return dnstap__dnstap__pack(&d, buf);
}
