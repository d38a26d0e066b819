/*
 * Discovery of designated resolvers (RFC 9462): the SVCB query for
 * _dns.resolver.arpa and the reading of its answer (RFC 9460 records with
 * the keys of RFC 9461), as dnsdist's autoUpgrade uses them.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <string.h>

#include "ddr.h"
#include "dnsname.h"
#include "dnspacket.h"

#define DDR_MAXRECS	32	/* SVCB and address records looked at */

/* SvcParamKeys (RFC 9460, section 14.3.2). */
#define KEY_MANDATORY	0
#define KEY_ALPN	1
#define KEY_PORT	3
#define KEY_IPV4HINT	4
#define KEY_IPV6HINT	6

static const char ddr_name[] = "_dns.resolver.arpa.";

/* What dnspacket_walk() found: SVCB answers and additional addresses. */
struct ddr_walk {
	struct dnsrr	dw_svcb[DDR_MAXRECS];
	size_t		dw_nsvcb;
	struct dnsrr	dw_addr[DDR_MAXRECS];
	size_t		dw_naddr;
};

size_t
ddr_make_query(uint8_t *buf, size_t bufsz, uint16_t id)
{
	uint8_t	name[DNSNAME_MAXLEN];
	size_t	namelen, len;

	if (dnsname_from_text(ddr_name, name, &namelen) == -1 ||
	    (len = dnspacket_make_query(buf, bufsz, id, name, namelen,
	    DDR_TYPE_SVCB, DNS_CLASS_IN, true)) == 0 || bufsz - len < 11)
		return 0;
	/* OPT: root owner, payload 4096, no extended rcode, no data. */
	memset(buf + len, 0, 11);
	dnspacket_put16(buf + len + 1, DNS_TYPE_OPT);
	dnspacket_put16(buf + len + 3, 4096);
	dnspacket_set_counts(buf, 1, 0, 0, 1);
	return len + 11;
}

static void
ddr_collect(void *arg, const struct dnsrr *rr)
{
	struct ddr_walk	*w = arg;

	if (rr->rr_section == 1 && rr->rr_type == DDR_TYPE_SVCB &&
	    w->dw_nsvcb < DDR_MAXRECS)
		w->dw_svcb[w->dw_nsvcb++] = *rr;
	else if (rr->rr_section == 3 && (rr->rr_type == DNS_TYPE_A ||
	    rr->rr_type == DNS_TYPE_AAAA) && w->dw_naddr < DDR_MAXRECS)
		w->dw_addr[w->dw_naddr++] = *rr;
}

static void
ddr_add_hint(struct ddr_result *res, const uint8_t *p, size_t alen)
{
	struct sockaddr_in	*sin;
	struct sockaddr_in6	*sin6;
	struct sockaddr_storage	*ss;

	if (res->dr_nhints == DDR_MAXHINTS)
		return;
	ss = &res->dr_hints[res->dr_nhints++];
	memset(ss, 0, sizeof(*ss));
	if (alen == 4) {
		sin = (struct sockaddr_in *)ss;
		sin->sin_family = AF_INET;
		memcpy(&sin->sin_addr, p, 4);
	} else {
		sin6 = (struct sockaddr_in6 *)ss;
		sin6->sin6_family = AF_INET6;
		memcpy(&sin6->sin6_addr, p, 16);
	}
}

/* The hints of an ipv4hint or ipv6hint value: false when malformed. */
static bool
ddr_hints(struct ddr_result *res, const uint8_t *v, size_t vlen,
    size_t alen)
{
	size_t	i;

	if (vlen == 0 || vlen % alen != 0)
		return false;
	for (i = 0; i < vlen; i += alen)
		ddr_add_hint(res, v + i, alen);
	return true;
}

/* The protocol an alpn value asks for (the last one known wins). */
static bool
ddr_alpn(struct ddr_result *res, const uint8_t *v, size_t vlen)
{
	size_t	i, n;

	for (i = 0; i < vlen; i += n) {
		n = v[i++];
		if (n == 0 || vlen - i < n)
			return false;
		if (n == 3 && memcmp(v + i, "dot", 3) == 0)
			res->dr_proto = DDR_DOT;
		else if (n == 2 && memcmp(v + i, "h2", 2) == 0)
			res->dr_proto = DDR_DOH;
	}
	return true;
}

/* The path of a dohpath template, up to its first '{'. */
static bool
ddr_dohpath(struct ddr_result *res, const uint8_t *v, size_t vlen)
{
	size_t	i;

	for (i = 0; i < vlen && v[i] != '{'; i++)
		if (v[i] <= ' ' || v[i] >= 0x7f)
			return false;
	if (i == 0 || v[0] != '/' || i >= sizeof(res->dr_dohpath))
		return false;
	memcpy(res->dr_dohpath, v, i);
	res->dr_dohpath[i] = '\0';
	return true;
}

static bool
ddr_key_known(uint16_t key, uint16_t dohkey)
{
	return key == KEY_ALPN || key == KEY_PORT || key == KEY_IPV4HINT ||
	    key == KEY_IPV6HINT || (dohkey != 0 && key == dohkey);
}

/*
 * One SVCB record's data (rdoff, rdlen) into res: true when it offers a
 * protocol we speak.  Keys must come in increasing order (RFC 9460,
 * section 2.2); a record that breaks a rule is skipped whole.
 */
static bool
ddr_record(const uint8_t *pkt, const struct dnsrr *rr,
    uint16_t dohkey, struct ddr_result *res, uint8_t *target,
    size_t *targetlen)
{
	const uint8_t	*v;
	size_t		 off = rr->rr_rdoff + 2, end = off - 2 + rr->rr_rdlen;
	size_t		 vlen, i;
	uint16_t	 key, last = 0;
	bool		 first = true, ok = true, port = false;

	memset(res, 0, sizeof(*res));
	if (dnsname_parse(pkt, end, &off, target, targetlen) == -1)
		return false;
	while (ok && off < end) {
		if (end - off < 4)
			return false;
		key = dnspacket_get16(pkt + off);
		vlen = dnspacket_get16(pkt + off + 2);
		v = pkt + off + 4;
		off += 4;
		if (end - off < vlen || (!first && key <= last))
			return false;
		off += vlen;
		first = false;
		last = key;
		if (key == KEY_MANDATORY) {
			ok = vlen > 0 && vlen % 2 == 0;
			for (i = 0; ok && i < vlen; i += 2)
				ok = ddr_key_known(dnspacket_get16(v + i),
				    dohkey);
		} else if (key == KEY_ALPN)
			ok = ddr_alpn(res, v, vlen);
		else if (key == KEY_PORT) {
			ok = vlen == 2 && dnspacket_get16(v) != 0;
			res->dr_port = ok ? dnspacket_get16(v) : 0;
			port = true;
		} else if (key == KEY_IPV4HINT)
			ok = ddr_hints(res, v, vlen, 4);
		else if (key == KEY_IPV6HINT)
			ok = ddr_hints(res, v, vlen, 16);
		else if (dohkey != 0 && key == dohkey)
			ok = ddr_dohpath(res, v, vlen);
	}
	if (!ok || res->dr_proto == DDR_NONE ||
	    (res->dr_proto == DDR_DOH && res->dr_dohpath[0] == '\0'))
		return false;
	if (res->dr_proto == DDR_DOT)
		res->dr_dohpath[0] = '\0';
	if (!port)
		res->dr_port = res->dr_proto == DDR_DOT ? 853 : 443;
	return true;
}

/* The target as a host name: no escapes, no final dot, not the root. */
static bool
ddr_target_text(const uint8_t *target, size_t targetlen, char *buf,
    size_t bufsz)
{
	char	text[DNSNAME_MAXTEXT];
	int	n;

	if (targetlen <= 1 || (n = dnsname_to_text(target, targetlen, text,
	    sizeof(text))) <= 1 || strchr(text, '\\') != NULL ||
	    (size_t)n > bufsz)
		return false;
	memcpy(buf, text, (size_t)n - 1);
	buf[n - 1] = '\0';
	return true;
}

enum ddr_error
ddr_parse(const uint8_t *pkt, size_t len, uint16_t id, uint16_t dohkey,
    struct ddr_result *res)
{
	struct dnsquestion	 q;
	struct ddr_walk		 w;
	const struct dnsrr	*rr;
	uint8_t			 name[DNSNAME_MAXLEN], lname[DNSNAME_MAXLEN];
	uint8_t			 target[DNSNAME_MAXLEN], owner[DNSNAME_MAXLEN];
	size_t			 namelen, targetlen, ownerlen, i, j, off;
	uint16_t		 prio, best;
	bool			 tried[DDR_MAXRECS] = { false };

	if (len < DNS_HDRLEN)
		return DDR_EMALFORMED;
	if (dnspacket_id(pkt) != id || !dnspacket_qr(pkt))
		return DDR_EID;
	if (dnspacket_rcode(pkt) != DNS_RCODE_NOERROR)
		return DDR_ERCODE;
	if (dnspacket_qdcount(pkt) != 1)
		return DDR_EQUESTION;
	if (dnspacket_question(pkt, len, &q) == -1)
		return DDR_EMALFORMED;
	dnsname_from_text(ddr_name, name, &namelen);
	dnsname_lower(name, namelen, lname);
	if (q.q_namelen != namelen || memcmp(q.q_lname, lname, namelen) != 0 ||
	    q.q_type != DDR_TYPE_SVCB || q.q_class != DNS_CLASS_IN)
		return DDR_EQUESTION;
	memset(&w, 0, sizeof(w));
	if (dnspacket_walk(pkt, len, q.q_end, ddr_collect, &w) == -1)
		return DDR_EMALFORMED;
	if (w.dw_nsvcb == 0)
		return DDR_ENOSVCB;
	/* Service records by priority; 0 (an alias) is not one. */
	for (;;) {
		for (i = 0, j = w.dw_nsvcb, best = 0; i < w.dw_nsvcb; i++) {
			rr = &w.dw_svcb[i];
			if (tried[i] || rr->rr_rdlen < 3)
				continue;
			prio = dnspacket_get16(pkt + rr->rr_rdoff);
			if (prio != 0 && (j == w.dw_nsvcb || prio < best)) {
				j = i;
				best = prio;
			}
		}
		if (j == w.dw_nsvcb)
			return DDR_ENOUSABLE;
		tried[j] = true;
		if (ddr_record(pkt, &w.dw_svcb[j], dohkey, res, target,
		    &targetlen) && ddr_target_text(target, targetlen,
		    res->dr_target, sizeof(res->dr_target)))
			break;
	}
	/* The target's addresses in the additional section. */
	for (i = 0; i < w.dw_naddr; i++) {
		rr = &w.dw_addr[i];
		off = rr->rr_off;
		if (dnsname_parse(pkt, len, &off, owner, &ownerlen) == -1 ||
		    !dnsname_equal(owner, ownerlen, target, targetlen) ||
		    rr->rr_rdlen != (rr->rr_type == DNS_TYPE_A ? 4 : 16))
			continue;
		ddr_add_hint(res, pkt + rr->rr_rdoff, rr->rr_rdlen);
	}
	return DDR_OK;
}

const char *
ddr_strerror(enum ddr_error e)
{
	switch (e) {
	case DDR_OK:
		return "no error";
	case DDR_EMALFORMED:
		return "malformed answer";
	case DDR_EID:
		return "not an answer to the query (ID or QR)";
	case DDR_ERCODE:
		return "error rcode";
	case DDR_EQUESTION:
		return "answer to another question";
	case DDR_ENOSVCB:
		return "no SVCB record";
	case DDR_ENOUSABLE:
		return "no SVCB record with a protocol, port or path we can use";
	}
	return "unknown error";
}
