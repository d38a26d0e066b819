/*
 * Actions: what a matching rule does to a query or a response, and the
 * answers the balancer builds itself (RCODE, truncation, spoofing).
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "compat/compat.h"
#include "edns.h"
#include "kvs.h"
#include "proxyproto.h"
#include "remotelog.h"
#include "rule.h"

/* Every LogAction with a file, for action_log_reopen(). */
static pthread_mutex_t	  logs_lock = PTHREAD_MUTEX_INITIALIZER;
static struct action	**logs;
static size_t		  nlogs;

struct action *
action_new(int kind)
{
	struct action	*ac;

	if ((ac = calloc(1, sizeof(*ac))) == NULL)
		return NULL;
	ac->ac_kind = kind;
	atomic_init(&ac->ac_refs, 1);
	ac->ac_aa = ac->ac_ad = ac->ac_ra = -1;
	if (kind == ACT_QPS || kind == ACT_QPSPOOL)
		pthread_mutex_init(&ac->ac_u.qps.lock, NULL);
	else if (kind == ACT_LOG || kind == ACT_RLOG)
		pthread_mutex_init(&ac->ac_u.log.lock, NULL);
	else if (kind == ACT_TEE) {
		pthread_mutex_init(&ac->ac_u.tee.lock, NULL);
		ac->ac_u.tee.fd = -1;
	}
	return ac;
}

void
action_ref(struct action *ac)
{
	atomic_fetch_add(&ac->ac_refs, 1);
}

void
action_unref(struct action *ac)
{
	size_t	i;

	if (ac == NULL || atomic_fetch_sub(&ac->ac_refs, 1) != 1)
		return;
	switch (ac->ac_kind) {
	case ACT_LUA:
	case ACT_RLUA:
		if (rule_lua_release != NULL)
			rule_lua_release(ac->ac_u.luafn);
		break;
	case ACT_POOL:
		free(ac->ac_u.pool);
		break;
	case ACT_QPS:
	case ACT_QPSPOOL:
		pthread_mutex_destroy(&ac->ac_u.qps.lock);
		free(ac->ac_u.qps.pool);
		break;
	case ACT_SPOOFRAW:
	case ACT_SPOOFSVC:
		for (i = 0; i < ac->ac_u.spoof.n; i++)
			free(ac->ac_u.spoof.raw[i]);
		free(ac->ac_u.spoof.extra);
		break;
	case ACT_SETTAG:
	case ACT_RSETTAG:
		free(ac->ac_u.tag.name);
		free(ac->ac_u.tag.value);
		break;
	case ACT_KVS:
		kvs_unref(ac->ac_u.kvs.kl_store);
		kvs_key_free(ac->ac_u.kvs.kl_key);
		free(ac->ac_u.kvs.kl_tag);
		break;
	case ACT_RLIMITTTL:
	case ACT_RCLEARTYPES:
		free(ac->ac_u.rrs.types);
		break;
	case ACT_EDNSOPTION:
	case ACT_MACADDR:
	case ACT_SPOOFPACKET:
	case ACT_PPSET:
	case ACT_PPADD:
		free(ac->ac_u.raw.data);
		break;
	case ACT_HTTPSTATUS:
		free(ac->ac_u.http.body);
		free(ac->ac_u.http.ctype);
		break;
	case ACT_LOG:
	case ACT_RLOG:
		pthread_mutex_lock(&logs_lock);
		for (i = 0; i < nlogs; i++)
			if (logs[i] == ac) {
				logs[i] = logs[--nlogs];
				break;
			}
		pthread_mutex_unlock(&logs_lock);
		free(ac->ac_u.log.path);
		if (ac->ac_u.log.fp != NULL && ac->ac_u.log.fp != stdout)
			fclose(ac->ac_u.log.fp);
		pthread_mutex_destroy(&ac->ac_u.log.lock);
		break;
	case ACT_CONTINUE:
		action_unref(ac->ac_u.inner);
		break;
	case ACT_REMOTELOG:
	case ACT_RREMOTELOG:
	case ACT_DNSTAP:
	case ACT_RDNSTAP:
		rlog_action_free(ac->ac_u.rlog);
		break;
	case ACT_TEE:
		if (rule_tee_close != NULL)
			rule_tee_close(ac);
		pthread_mutex_destroy(&ac->ac_u.tee.lock);
		break;
	}
	free(ac->ac_desc);
	free(ac);
}

int
action_log_open(struct action *ac, const char *path, bool append)
{
	struct action	**nl;

	pthread_mutex_lock(&logs_lock);
	if ((nl = reallocarray(logs, nlogs + 1, sizeof(*nl))) == NULL) {
		pthread_mutex_unlock(&logs_lock);
		return -1;
	}
	logs = nl;
	if ((ac->ac_u.log.fp = fopen(path, append ? "a" : "w")) == NULL) {
		pthread_mutex_unlock(&logs_lock);
		return -1;
	}
	/* The full name still holds after the daemon changes directory. */
	if ((ac->ac_u.log.path = realpath(path, NULL)) == NULL &&
	    (ac->ac_u.log.path = strdup(path)) == NULL) {
		pthread_mutex_unlock(&logs_lock);
		return -1;
	}
	logs[nlogs++] = ac;
	pthread_mutex_unlock(&logs_lock);
	return 0;
}

int
action_log_reopen(void)
{
	struct action	*ac;
	FILE		*fp;
	size_t		 i;
	int		 failed = 0;

	pthread_mutex_lock(&logs_lock);
	for (i = 0; i < nlogs; i++) {
		ac = logs[i];
		if ((fp = fopen(ac->ac_u.log.path, "a")) == NULL) {
			failed++;
			continue;
		}
		pthread_mutex_lock(&ac->ac_u.log.lock);
		fclose(ac->ac_u.log.fp);
		ac->ac_u.log.fp = fp;
		pthread_mutex_unlock(&ac->ac_u.log.lock);
	}
	pthread_mutex_unlock(&logs_lock);
	return failed;
}

void
action_log_paths(void (*fn)(const char *))
{
	size_t	i;

	pthread_mutex_lock(&logs_lock);
	for (i = 0; i < nlogs; i++)
		fn(logs[i]->ac_u.log.path);
	pthread_mutex_unlock(&logs_lock);
}

int
action_set_desc(struct action *ac, const char *fmt, ...)
{
	va_list	ap;
	int	rc;

	va_start(ap, fmt);
	rc = sbuf_vreplace(&ac->ac_desc, fmt, ap);
	va_end(ap);
	return rc;
}

_Atomic bool	rule_add_edns = true;
_Atomic uint16_t rule_edns_payload = 1232;

/* RD and CD as the client sent them, whatever the rules did (dnsdist's). */
#define DQ_RD(dq)	(((dq)->dq_qflags & 0x0100) != 0)
#define DQ_CD(dq)	(((dq)->dq_qflags & 0x0010) != 0)

/*
 * What the query said of EDNS, before its records go; the OPT record
 * (where).  dnsq_finish_answer() puts a new one in.
 */
static bool
dnsq_note_edns(struct dnsq *dq, struct dnsopt *o)
{
	bool	found = false;

	if (!dq->dq_built) {
		found = !dq->dq_response && dnspacket_find_opt(dq->dq_pkt,
		    dq->dq_len, dq->dq_q->q_end, o) == 1;
		dq->dq_qedns = found && !dq->dq_optadded;
		dq->dq_qdo = dq->dq_qedns && o->o_do;
		dq->dq_qpayload = dq->dq_qedns ? o->o_payload : 0;
		dq->dq_built = true;
	}
	dq->dq_ercode = 0;
	return found;
}

/*
 * The query turned into a response as dnsdist turns it, header edits
 * only: QR and the RCODE set, RD and CD as received, the records kept but
 * for the OPT record, which dnsq_finish_answer() makes anew.  Where the
 * OPT record is not the last one, or the records do not parse, they go
 * as in dnsq_to_response().
 */
void
dnsq_turn_response(struct dnsq *dq, int rcode)
{
	struct dnsopt	o;
	uint16_t	ar;
	long		end;

	/* Trailing data is the client's, not part of an answer. */
	end = dnspacket_walk(dq->dq_pkt, dq->dq_len, dq->dq_q->q_end, NULL,
	    NULL);
	if (end > 0)
		dq->dq_len = end;
	if (!dnsq_note_edns(dq, &o)) {
		if (end == -1)
			dq->dq_len = dnspacket_make_response(dq->dq_pkt,
			    dq->dq_q, rcode, DQ_RD(dq));
	} else if (end > 0 && o.o_rdoff + o.o_rdlen == dq->dq_len &&
	    (ar = dnspacket_arcount(dq->dq_pkt)) > 0) {
		dq->dq_len = o.o_off;
		dnspacket_set_counts(dq->dq_pkt, dnspacket_qdcount(dq->dq_pkt),
		    dnspacket_ancount(dq->dq_pkt),
		    dnspacket_nscount(dq->dq_pkt), ar - 1);
	} else
		dq->dq_len = dnspacket_make_response(dq->dq_pkt, dq->dq_q,
		    rcode, DQ_RD(dq));
	dnspacket_set_qr(dq->dq_pkt, true);
	dnspacket_set_rcode(dq->dq_pkt, rcode);
	dnspacket_set_rd(dq->dq_pkt, DQ_RD(dq));
	dnspacket_set_cd(dq->dq_pkt, DQ_CD(dq));
}

/* The query becomes a response carrying its question only. */
static void
dnsq_to_response(struct dnsq *dq, int rcode)
{
	bool		rd = DQ_RD(dq), cd = DQ_CD(dq);
	struct dnsopt	o;

	(void)dnsq_note_edns(dq, &o);

	/* As dnsdist: RA mirrors the query's RD unless an option says. */
	dq->dq_len = dnspacket_make_response(dq->dq_pkt, dq->dq_q, rcode, rd);
	dnspacket_set_rd(dq->dq_pkt, rd);
	dnspacket_set_cd(dq->dq_pkt, cd);
	/* Nothing here was validated. */
	dnspacket_set_ad(dq->dq_pkt, false);
}

void
dnsq_finish_answer(struct dnsq *dq)
{
	uint8_t	*p;
	bool	 opt = (dq->dq_qedns && atomic_load_explicit(&rule_add_edns,
	    memory_order_relaxed)) || dq->dq_ercode != 0;
	uint16_t payload = atomic_load_explicit(&rule_edns_payload,
	    memory_order_relaxed);
	size_t	 max = dq->dq_qpayload > 512 ? dq->dq_qpayload : 512;

	if (!dq->dq_built || dq->dq_len < DNS_HDRLEN)
		return;
	dq->dq_built = false;
	/*
	 * No more than a UDP client can take, as for the backends' answers:
	 * the question and TC set, and it asks again over TCP.
	 */
	if (!dq->dq_tcp && !dq->dq_response && dq->dq_len + (opt ? 11 : 0) >
	    max)
		dq->dq_len = dnspacket_truncate(dq->dq_pkt, dq->dq_len,
		    dq->dq_q, false);
	if (!opt)
		return;
	/* Root owner, OPT, payload size, ERCODE/version/DO, no options. */
	if (dq->dq_size - dq->dq_len < 11 ||
	    dnspacket_arcount(dq->dq_pkt) == UINT16_MAX)
		return;
	p = dq->dq_pkt + dq->dq_len;
	p[0] = 0;
	p[1] = 0;
	p[2] = DNS_TYPE_OPT;
	p[3] = (uint8_t)(payload >> 8);
	p[4] = (uint8_t)payload;
	p[5] = dq->dq_ercode;
	p[6] = 0;
	p[7] = dq->dq_qdo ? 0x80 : 0;
	p[8] = 0;
	p[9] = 0;
	p[10] = 0;
	dq->dq_len += 11;
	dnspacket_set_counts(dq->dq_pkt, dnspacket_qdcount(dq->dq_pkt),
	    dnspacket_ancount(dq->dq_pkt), dnspacket_nscount(dq->dq_pkt),
	    dnspacket_arcount(dq->dq_pkt) + 1);
}

int
dnsq_answer_rcode(struct dnsq *dq, int rcode)
{
	dnsq_to_response(dq, rcode);
	return 0;
}

int
dnsq_answer_truncated(struct dnsq *dq)
{
	dnsq_to_response(dq, DNS_RCODE_NOERROR);
	dnspacket_set_tc(dq->dq_pkt, true);
	return 0;
}

/* Append one record to the answer being built; 0 or -1 when full. */
static int
dnsq_put_rr(struct dnsq *dq, const uint8_t *name, size_t namelen,
    uint16_t type, uint32_t ttl, const uint8_t *rdata, size_t rdlen)
{
	uint8_t	*p;
	size_t	 need = (name ? namelen : 2) + 10 + rdlen;

	if (dq->dq_size - dq->dq_len < need || rdlen > 65535)
		return -1;
	p = dq->dq_pkt + dq->dq_len;
	if (name == NULL) {
		*p++ = 0xc0;		/* the question's name */
		*p++ = DNS_HDRLEN;
	} else {
		memcpy(p, name, namelen);
		p += namelen;
	}
	*p++ = (uint8_t)(type >> 8);
	*p++ = (uint8_t)type;
	*p++ = 0;
	*p++ = DNS_CLASS_IN;
	*p++ = (uint8_t)(ttl >> 24);
	*p++ = (uint8_t)(ttl >> 16);
	*p++ = (uint8_t)(ttl >> 8);
	*p++ = (uint8_t)ttl;
	*p++ = (uint8_t)(rdlen >> 8);
	*p++ = (uint8_t)rdlen;
	memcpy(p, rdata, rdlen);
	dq->dq_len += need;
	return 0;
}

/* The options of the action: aa, ad and ra, where it gave them. */
static void
spoof_flags(struct dnsq *dq, const struct action *ac)
{
	if (ac->ac_aa >= 0)
		dnspacket_set_aa(dq->dq_pkt, ac->ac_aa);
	if (ac->ac_ad >= 0)
		dnspacket_set_ad(dq->dq_pkt, ac->ac_ad);
	if (ac->ac_ra >= 0)
		dnspacket_set_ra(dq->dq_pkt, ac->ac_ra);
}

static int
action_spoof(struct action *ac, struct dnsq *dq)
{
	uint16_t			 qt = dq->dq_q->q_type, n = 0;
	const struct sockaddr_storage	*ss;
	size_t				 i, start;

	/* Only the addresses of the asked type; none: not ours to answer. */
	for (i = 0; i < ac->ac_u.spoof.n; i++) {
		ss = &ac->ac_u.spoof.addrs[i];
		if ((ss->ss_family == AF_INET && (qt == DNS_TYPE_A ||
		    qt == DNS_TYPE_ANY)) || (ss->ss_family == AF_INET6 &&
		    (qt == DNS_TYPE_AAAA || qt == DNS_TYPE_ANY)))
			n++;
	}
	if (n == 0)
		return VERDICT_NONE;
	dnsq_to_response(dq, DNS_RCODE_NOERROR);
	spoof_flags(dq, ac);
	start = dq->dq_len;
	n = 0;
	for (i = 0; i < ac->ac_u.spoof.n; i++) {
		ss = &ac->ac_u.spoof.addrs[i];
		if (ss->ss_family == AF_INET && (qt == DNS_TYPE_A ||
		    qt == DNS_TYPE_ANY)) {
			if (dnsq_put_rr(dq, NULL, 0, DNS_TYPE_A,
			    ac->ac_u.spoof.ttl, (const uint8_t *)
			    &((const struct sockaddr_in *)ss)->sin_addr, 4) == 0)
				n++;
		} else if (ss->ss_family == AF_INET6 && (qt == DNS_TYPE_AAAA ||
		    qt == DNS_TYPE_ANY)) {
			if (dnsq_put_rr(dq, NULL, 0, DNS_TYPE_AAAA,
			    ac->ac_u.spoof.ttl, (const uint8_t *)
			    &((const struct sockaddr_in6 *)ss)->sin6_addr,
			    16) == 0)
				n++;
		}
	}
	(void)start;
	dnspacket_set_counts(dq->dq_pkt, 1, n, 0, 0);
	return VERDICT_ANSWER;
}

static int
action_spoof_cname(struct action *ac, struct dnsq *dq)
{
	dnsq_to_response(dq, DNS_RCODE_NOERROR);
	spoof_flags(dq, ac);
	if (dnsq_put_rr(dq, NULL, 0, DNS_TYPE_CNAME, ac->ac_u.spoof.ttl,
	    ac->ac_u.spoof.cname, ac->ac_u.spoof.cnamelen) == -1)
		return VERDICT_DROP;
	dnspacket_set_counts(dq->dq_pkt, 1, 1, 0, 0);
	return VERDICT_ANSWER;
}

static int
action_spoof_raw(struct action *ac, struct dnsq *dq)
{
	uint16_t	n = 0, type = dq->dq_q->q_type;
	size_t		i;

	/* typeForAny: what the records of an answer to ANY are. */
	if (type == DNS_TYPE_ANY && ac->ac_u.spoof.anytype != 0)
		type = ac->ac_u.spoof.anytype;
	dnsq_to_response(dq, DNS_RCODE_NOERROR);
	spoof_flags(dq, ac);
	for (i = 0; i < ac->ac_u.spoof.n; i++)
		if (dnsq_put_rr(dq, NULL, 0, type,
		    ac->ac_u.spoof.ttl, ac->ac_u.spoof.raw[i],
		    ac->ac_u.spoof.rawlen[i]) == 0)
			n++;
	dnspacket_set_counts(dq->dq_pkt, 1, n, 0, 0);
	return VERDICT_ANSWER;
}

/*
 * SpoofSVCAction: the records as SpoofRawAction's, then the address hints
 * of their targets in the additional section, each as name length, name
 * (the root for the query's name), type and address.
 */
static int
action_spoof_svc(struct action *ac, struct dnsq *dq)
{
	const uint8_t	*p = ac->ac_u.spoof.extra;
	size_t		 off, n;
	uint16_t	 ar = 0, type;

	(void)action_spoof_raw(ac, dq);
	for (off = 0; off < ac->ac_u.spoof.extralen; off += 3 + n +
	    (type == DNS_TYPE_A ? 4 : 16)) {
		n = p[off];
		type = dnspacket_get16(p + off + 1 + n);
		if (dnsq_put_rr(dq, n > 1 ? p + off + 1 : NULL, n, type,
		    ac->ac_u.spoof.ttl, p + off + 3 + n,
		    type == DNS_TYPE_A ? 4 : 16) == 0)
			ar++;
	}
	dnspacket_set_counts(dq->dq_pkt, 1, dnspacket_ancount(dq->dq_pkt), 0,
	    ar);
	return VERDICT_ANSWER;
}

static int
action_negative_soa(struct action *ac, struct dnsq *dq)
{
	uint8_t	rdata[2 * DNSNAME_MAXLEN + 20], *p = rdata;

	dnsq_to_response(dq, ac->ac_u.soa.nxd ? DNS_RCODE_NXDOMAIN :
	    DNS_RCODE_NOERROR);
	spoof_flags(dq, ac);
	memcpy(p, ac->ac_u.soa.mname, ac->ac_u.soa.mnamelen);
	p += ac->ac_u.soa.mnamelen;
	memcpy(p, ac->ac_u.soa.rname, ac->ac_u.soa.rnamelen);
	p += ac->ac_u.soa.rnamelen;
	dnspacket_put32(p, ac->ac_u.soa.serial);
	dnspacket_put32(p + 4, ac->ac_u.soa.refresh);
	dnspacket_put32(p + 8, ac->ac_u.soa.retry);
	dnspacket_put32(p + 12, ac->ac_u.soa.expire);
	dnspacket_put32(p + 16, ac->ac_u.soa.minimum);
	p += 20;
	if (dnsq_put_rr(dq, ac->ac_u.soa.zone, ac->ac_u.soa.zonelen,
	    DNS_TYPE_SOA, ac->ac_u.soa.ttl, rdata, (size_t)(p - rdata)) == -1)
		return VERDICT_DROP;
	/* As dnsdist: additional, unless soaInAuthoritySection. */
	if (ac->ac_u.soa.inauth)
		dnspacket_set_counts(dq->dq_pkt, 1, 0, 1, 0);
	else
		dnspacket_set_counts(dq->dq_pkt, 1, 0, 0, 1);
	return VERDICT_ANSWER;
}

/* A one-off answer of the spoofing kind, as the actions' with defaults. */
static void
spoof_tmp(struct action *ac, int kind)
{
	memset(ac, 0, sizeof(*ac));
	ac->ac_kind = kind;
	ac->ac_aa = ac->ac_ad = ac->ac_ra = -1;
	ac->ac_u.spoof.ttl = 60;
}

int
dnsq_spoof_addrs(struct dnsq *dq, const struct sockaddr_storage *ss,
    size_t n)
{
	struct action	ac;

	spoof_tmp(&ac, ACT_SPOOF);
	ac.ac_u.spoof.n = n < SPOOF_MAX ? n : SPOOF_MAX;
	memcpy(ac.ac_u.spoof.addrs, ss, ac.ac_u.spoof.n * sizeof(*ss));
	return action_spoof(&ac, dq);
}

int
dnsq_spoof_raws(struct dnsq *dq, const uint8_t *const *raw,
    const size_t *len, size_t n)
{
	struct action	ac;
	size_t		i;

	spoof_tmp(&ac, ACT_SPOOFRAW);
	for (i = 0; i < n && i < SPOOF_MAX; i++) {
		ac.ac_u.spoof.raw[i] = (uint8_t *)(uintptr_t)raw[i];
		ac.ac_u.spoof.rawlen[i] = len[i];
	}
	ac.ac_u.spoof.n = i;
	return action_spoof_raw(&ac, dq);
}

/*
 * The text a LuaAction returns with DNSAction.Spoof or SpoofRaw, read as
 * dnsdist reads it: raw, rdata separated by commas (the text may hold any
 * byte); else addresses separated by spaces or commas, where a single
 * word that is no address is the target of a CNAME.
 */
int
dnsq_spoof_text(struct dnsq *dq, const char *text, size_t len, bool raw)
{
	struct sockaddr_storage	 ss[SPOOF_MAX];
	const uint8_t		*rd[SPOOF_MAX];
	size_t			 rdlen[SPOOF_MAX], n = 0, words = 0, i, j;
	struct action		 ac;
	socklen_t		 sl;
	char			 word[DNSNAME_MAXTEXT];

	word[0] = '\0';
	for (i = 0; i < len && n < SPOOF_MAX; i = j + 1) {
		for (j = i; j < len && text[j] != ',' && (raw ||
		    text[j] != ' '); j++)
			;
		if (j == i)
			continue;
		words++;
		if (raw) {
			rd[n] = (const uint8_t *)text + i;
			rdlen[n++] = j - i;
		} else {
			word[0] = '\0';
			if (j - i < sizeof(word)) {
				memcpy(word, text + i, j - i);
				word[j - i] = '\0';
			}
			if (word[0] != '\0' && addr_parse(word, 0, &ss[n],
			    &sl) == 0)
				n++;
		}
	}
	if (raw)
		return dnsq_spoof_raws(dq, rd, rdlen, n);
	if (n > 0)
		return dnsq_spoof_addrs(dq, ss, n);
	spoof_tmp(&ac, ACT_SPOOFCNAME);
	if (words != 1 || dnsname_from_text(word, ac.ac_u.spoof.cname,
	    &ac.ac_u.spoof.cnamelen) == -1)
		return VERDICT_NONE;
	return action_spoof_cname(&ac, dq);
}

/* dnsdist's names of the RCODEs in the lines of LogResponseAction. */
static const char *
log_rcode(int rcode, char *buf, size_t len)
{
	static const char *const names[] = {
		"No Error", "Form Error", "Server Failure",
		"Non-Existent domain", "Not Implemented", "Query Refused",
		"Name Exists when it should not",
		"RR Set Exists when it should not",
		"RR Set that should exist does not",
		"Server Not Authoritative for zone / Not Authorized",
		"Name not contained in zone"
	};

	if (rcode >= 0 && rcode < (int)(sizeof(names) / sizeof(names[0])))
		return names[rcode];
	snprintf(buf, len, "Err#%d", rcode);
	return buf;
}

/*
 * LogAction's binary record, as dnsdist writes it (host byte order where
 * dnsdist writes its own integers): [seconds (8) and nanoseconds (4)],
 * the ID (2), the name in wire format, the type (2), the address family
 * (2), the address (4 or 16, network order) and the port (network order).
 */
static void
log_binary(FILE *fp, const struct dnsq *dq, const struct timespec *ts,
    bool timestamp)
{
	const struct sockaddr	*sa = dq->dq_remote;
	uint64_t		 sec = (uint64_t)ts->tv_sec;
	uint32_t		 nsec = (uint32_t)ts->tv_nsec;
	uint16_t		 id = dnspacket_id(dq->dq_pkt);
	uint16_t		 type = dq->dq_q->q_type;
	uint16_t		 family = (uint16_t)sa->sa_family;

	if (timestamp) {
		fwrite(&sec, sizeof(sec), 1, fp);
		fwrite(&nsec, sizeof(nsec), 1, fp);
	}
	fwrite(&id, sizeof(id), 1, fp);
	fwrite(dq->dq_q->q_name, 1, dq->dq_q->q_namelen, fp);
	fwrite(&type, sizeof(type), 1, fp);
	fwrite(&family, sizeof(family), 1, fp);
	if (sa->sa_family == AF_INET) {
		fwrite(&((const struct sockaddr_in *)sa)->sin_addr, 4, 1, fp);
		fwrite(&((const struct sockaddr_in *)sa)->sin_port, 2, 1, fp);
	} else if (sa->sa_family == AF_INET6) {
		fwrite(&((const struct sockaddr_in6 *)sa)->sin6_addr, 16, 1,
		    fp);
		fwrite(&((const struct sockaddr_in6 *)sa)->sin6_port, 2, 1,
		    fp);
	}
}

static void
action_log(struct action *ac, struct dnsq *dq)
{
	char		 name[DNSNAME_MAXTEXT], tbuf[16], from[ADDR_MAXTEXT];
	char		 when[48], rbuf[16];
	const char	*type;
	struct timespec	 ts;
	FILE		*fp = ac->ac_u.log.fp;

	/* No file: standard output, in verbose mode only unless told. */
	if (fp == NULL || (fp == stdout && ac->ac_u.log.verboseonly &&
	    !settings.st_verbose))
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	when[0] = '\0';
	if (ac->ac_u.log.timestamp)
		snprintf(when, sizeof(when), "[%llu.%lu] ",
		    (unsigned long long)ts.tv_sec, (unsigned long)ts.tv_nsec);
	pthread_mutex_lock(&ac->ac_u.log.lock);
	if (ac->ac_u.log.binary)
		log_binary(fp, dq, &ts, ac->ac_u.log.timestamp);
	else {
		dnsname_to_text(dq->dq_q->q_name, dq->dq_q->q_namelen, name,
		    sizeof(name));
		type = dnspacket_type_name(dq->dq_q->q_type, tbuf,
		    sizeof(tbuf));
		addr_to_text(dq->dq_remote, from, sizeof(from));
		if (dq->dq_response)
			fprintf(fp, "%sAnswer to %s for %s %s (%s) with id "
			    "%u\n", when, from, name, type,
			    log_rcode(dnspacket_rcode(dq->dq_pkt), rbuf,
			    sizeof(rbuf)), dnspacket_id(dq->dq_pkt));
		else
			fprintf(fp, "%sPacket from %s for %s %s with id %u\n",
			    when, from, name, type, dnspacket_id(dq->dq_pkt));
	}
	if (!ac->ac_u.log.buffered)
		fflush(fp);
	pthread_mutex_unlock(&ac->ac_u.log.lock);
}

static bool
type_listed(const struct action *ac, uint16_t type)
{
	size_t	i;

	for (i = 0; i < ac->ac_u.rrs.ntypes; i++)
		if (ac->ac_u.rrs.types[i] == type)
			return true;
	return ac->ac_u.rrs.types == NULL;
}

struct ttl_edit {
	uint8_t			*pkt;
	const struct action	*ac;	/* NULL: cap at max */
	uint32_t		 max;
};

static void
edit_ttl(void *arg, const struct dnsrr *rr)
{
	struct ttl_edit		*te = arg;
	const struct action	*ac = te->ac;
	uint32_t		 ttl = rr->rr_ttl;

	/* The OPT record's "TTL" is its extended RCODE and flags. */
	if (rr->rr_type == DNS_TYPE_OPT)
		return;
	if (ac == NULL)
		ttl = ttl < te->max ? ttl : te->max;
	else if (ac->ac_kind == ACT_RREDUCETTL)
		ttl = (uint32_t)((uint64_t)ttl * ac->ac_u.rrs.pct / 100);
	else if (type_listed(ac, rr->rr_type)) {
		/* As dnsdist: the minimum first, then the maximum. */
		if (ttl < ac->ac_u.rrs.min)
			ttl = ac->ac_u.rrs.min;
		if (ttl > ac->ac_u.rrs.max)
			ttl = ac->ac_u.rrs.max;
	}
	dnspacket_put32(te->pkt + rr->rr_ttloff, ttl);
}

static void
dnsq_edit_ttls(struct dnsq *dq, const struct action *ac, uint32_t max)
{
	struct ttl_edit	te = { dq->dq_pkt, ac, max };

	(void)dnspacket_walk(dq->dq_pkt, dq->dq_len, dq->dq_q->q_end,
	    edit_ttl, &te);
}

void
dnsq_cap_ttls(struct dnsq *dq, uint32_t max)
{
	dnsq_edit_ttls(dq, NULL, max);
}

/* SpoofPacketAction: the packet as given, under the query's ID. */
static int
action_spoof_packet(struct action *ac, struct dnsq *dq)
{
	uint16_t	id = dnspacket_id(dq->dq_pkt);

	if (ac->ac_u.raw.len > dq->dq_size)
		return VERDICT_NONE;
	memcpy(dq->dq_pkt, ac->ac_u.raw.data, ac->ac_u.raw.len);
	dq->dq_len = ac->ac_u.raw.len;
	dnspacket_set_id(dq->dq_pkt, id);
	return VERDICT_ANSWER;
}

int
dnsq_tag_slot(struct dnsq *dq, const char *name)
{
	int	i;

	for (i = 0; i < dq->dq_ntags; i++)
		if (strcmp(dq->dq_tags[i].t_name, name) == 0)
			return i;
	if (dq->dq_ntags == DQ_MAXTAGS)
		return -1;
	dq->dq_tags[i].t_name = name;
	dq->dq_tags[i].t_value = "";
	return dq->dq_ntags++;
}

static void
dq_set_tag(struct dnsq *dq, const char *name, const char *value)
{
	int	i;

	if ((i = dnsq_tag_slot(dq, name)) != -1)
		dq->dq_tags[i].t_value = value;
}

int
action_apply(struct action *ac, struct dnsq *dq)
{
	uint8_t	mac[6];
	bool	ok, hadopt;

	switch (ac->ac_kind) {
	case ACT_DROP:
	case ACT_RDROP:
		return VERDICT_DROP;
	case ACT_ALLOW:
	case ACT_RALLOW:
		return VERDICT_ALLOW;
	case ACT_NONE:
		return VERDICT_NONE;
	case ACT_RCODE:
	case ACT_ERCODE:
		/* As dnsdist: the query's records stay, AD off, RA = RD. */
		dnsq_turn_response(dq, ac->ac_u.rcode & 0xf);
		dnspacket_set_ad(dq->dq_pkt, false);
		dnspacket_set_ra(dq->dq_pkt, DQ_RD(dq));
		/* The upper bits of an extended RCODE live in the OPT. */
		dq->dq_ercode = (uint8_t)(ac->ac_u.rcode >> 4);
		spoof_flags(dq, ac);
		return VERDICT_ANSWER;
	case ACT_TC:
		/* Over TCP there is nothing to truncate: go on. */
		if (dq->dq_tcp)
			return VERDICT_NONE;
		dnsq_answer_truncated(dq);
		return VERDICT_ANSWER;
	case ACT_POOL:
		dq->dq_pool = ac->ac_u.pool;
		return ac->ac_goon ? VERDICT_NONE : VERDICT_POOL;
	case ACT_QPS:
		pthread_mutex_lock(&ac->ac_u.qps.lock);
		ok = qps_take(&ac->ac_u.qps.bucket, dq->dq_now);
		pthread_mutex_unlock(&ac->ac_u.qps.lock);
		return ok ? VERDICT_NONE : VERDICT_DROP;
	case ACT_QPSPOOL:
		pthread_mutex_lock(&ac->ac_u.qps.lock);
		ok = qps_take(&ac->ac_u.qps.bucket, dq->dq_now);
		pthread_mutex_unlock(&ac->ac_u.qps.lock);
		if (!ok)
			return VERDICT_NONE;
		dq->dq_pool = ac->ac_u.qps.pool;
		return ac->ac_goon ? VERDICT_NONE : VERDICT_POOL;
	case ACT_SPOOF:
		return action_spoof(ac, dq);
	case ACT_SPOOFCNAME:
		return action_spoof_cname(ac, dq);
	case ACT_SPOOFRAW:
		return action_spoof_raw(ac, dq);
	case ACT_SPOOFSVC:
		return action_spoof_svc(ac, dq);
	case ACT_NEGATIVESOA:
		return action_negative_soa(ac, dq);
	case ACT_DELAY:
	case ACT_RDELAY:
		if (!dq->dq_tcp)
			dq->dq_delayms = ac->ac_u.delayms;
		return VERDICT_NONE;
	case ACT_NORECURSE:
		dnspacket_set_rd(dq->dq_pkt, false);
		return VERDICT_NONE;
	case ACT_DISABLEVALIDATION:
		dnspacket_set_cd(dq->dq_pkt, true);
		return VERDICT_NONE;
	case ACT_SKIPCACHE:
		dq->dq_skipcache = true;
		return VERDICT_NONE;
	case ACT_SETECS:
		if (dq->dq_remote->sa_family == AF_INET6 &&
		    ac->ac_u.ecs.v6.nm_family != 0)
			dq->dq_ecsnm = ac->ac_u.ecs.v6;
		else
			dq->dq_ecsnm = ac->ac_u.ecs.v4;
		return VERDICT_NONE;
	case ACT_ECSPREFIX:
		dq->dq_ecsv4 = (int16_t)ac->ac_u.ecsprefix.v4;
		dq->dq_ecsv6 = (int16_t)ac->ac_u.ecsprefix.v6;
		return VERDICT_NONE;
	case ACT_DISABLEECS:
		dq->dq_noecs = true;
		return VERDICT_NONE;
	case ACT_ECSOVERRIDE:
		dq->dq_ecsoverride = ac->ac_u.flag;
		return VERDICT_NONE;
	case ACT_EDNSOPTION:
		/* An OPT record put in here does not go back to the client. */
		if (edns_set_option(dq->dq_pkt, &dq->dq_len, dq->dq_size,
		    dq->dq_q, ac->ac_u.raw.code, ac->ac_u.raw.data,
		    ac->ac_u.raw.len, EDNS_QUERY_PAYLOAD, true,
		    &hadopt) > 0 && !hadopt)
			dq->dq_optadded = true;
		return VERDICT_NONE;
	case ACT_MACADDR:
		/* As dnsdist: only into a query with no additional record. */
		if (dnspacket_arcount(dq->dq_pkt) == 0 &&
		    compat_mac_address(dq->dq_remote, mac) == 0 &&
		    edns_set_option(dq->dq_pkt, &dq->dq_len, dq->dq_size,
		    dq->dq_q, ac->ac_u.raw.code, mac, sizeof(mac),
		    EDNS_QUERY_PAYLOAD, true, &hadopt) > 0)
			dq->dq_optadded = true;
		return VERDICT_NONE;
	case ACT_SETTAG:
	case ACT_RSETTAG:
		dq_set_tag(dq, ac->ac_u.tag.name, ac->ac_u.tag.value);
		return VERDICT_NONE;
	case ACT_KVS:
		kvs_action(ac->ac_u.kvs.kl_store, ac->ac_u.kvs.kl_key,
		    ac->ac_u.kvs.kl_range, ac->ac_u.kvs.kl_tag, dq);
		return VERDICT_NONE;
	case ACT_PPSET:
		pp_tlvs_free(dq->dq_pp);
		dq->dq_pp = pp_tlvs_from(ac->ac_u.raw.data, ac->ac_u.raw.len);
		return VERDICT_NONE;
	case ACT_PPADD:
		/* At the limit of a header the value is left out. */
		(void)pp_tlvs_add(&dq->dq_pp, (uint8_t)ac->ac_u.raw.code,
		    ac->ac_u.raw.data, ac->ac_u.raw.len);
		return VERDICT_NONE;
	case ACT_MAXRETTTL:
	case ACT_RMAXRETTTL:
		dq->dq_ttlcap = ac->ac_u.rrs.max;
		return VERDICT_NONE;
	case ACT_TEMPFAILTTL:
		dq->dq_tempfailttl = ac->ac_u.rrs.max;
		return VERDICT_NONE;
	case ACT_RSKIPCACHE:
		dq->dq_skipcache = true;
		return VERDICT_NONE;
	case ACT_RLIMITTTL:
	case ACT_RREDUCETTL:
		dnsq_edit_ttls(dq, ac, 0);
		return VERDICT_NONE;
	case ACT_RCLEARTYPES:
		dq->dq_len = dnspacket_remove_types(dq->dq_pkt, dq->dq_len,
		    dq->dq_q->q_end, ac->ac_u.rrs.types, ac->ac_u.rrs.ntypes);
		return VERDICT_NONE;
	case ACT_SPOOFPACKET:
		return action_spoof_packet(ac, dq);
	case ACT_HTTPSTATUS:
		/* As dnsdist: nothing for a query that did not come over DoH. */
		if (dq->dq_http == NULL)
			return VERDICT_NONE;
		dq->dq_httpstatus = ac->ac_u.http.status;
		dq->dq_httpbody = ac->ac_u.http.body;
		dq->dq_httpbodylen = ac->ac_u.http.len;
		dq->dq_httpctype = ac->ac_u.http.ctype;
		return VERDICT_HTTP;
	case ACT_LOG:
	case ACT_RLOG:
		action_log(ac, dq);
		return VERDICT_NONE;
	case ACT_CONTINUE:
		(void)action_apply(ac->ac_u.inner, dq);
		return VERDICT_NONE;
	case ACT_TEE:
		if (rule_tee_send != NULL)
			rule_tee_send(ac, dq);
		return VERDICT_NONE;
	case ACT_REMOTELOG:
	case ACT_RREMOTELOG:
	case ACT_DNSTAP:
	case ACT_RDNSTAP:
		if (rule_remote_log != NULL)
			rule_remote_log(ac, dq);
		return VERDICT_NONE;
	case ACT_LUA:
	case ACT_RLUA:
		return rule_lua_action != NULL ?
		    rule_lua_action(ac->ac_u.luafn, dq) : VERDICT_NONE;
	}
	return VERDICT_NONE;
}
