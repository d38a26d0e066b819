/*
 * DNS message header accessors, the question, and the small rewrites the
 * balancer makes.  Bit positions are those of RFC 1035 4.1.1: byte 2 holds
 * QR, Opcode (4 bits), AA, TC and RD; byte 3 holds RA, Z, AD, CD and RCODE
 * (4 bits).
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "dnspacket.h"

static inline void
dnspacket_setbit(uint8_t *p, uint8_t bit, bool on)
{
	if (on)
		*p |= bit;
	else
		*p &= (uint8_t)~bit;
}

void
dnspacket_set_qr(uint8_t *pkt, bool on)
{
	dnspacket_setbit(&pkt[2], DNS_F2_QR, on);
}

void
dnspacket_set_aa(uint8_t *pkt, bool on)
{
	dnspacket_setbit(&pkt[2], DNS_F2_AA, on);
}

void
dnspacket_set_tc(uint8_t *pkt, bool on)
{
	dnspacket_setbit(&pkt[2], DNS_F2_TC, on);
}

void
dnspacket_set_rd(uint8_t *pkt, bool on)
{
	dnspacket_setbit(&pkt[2], DNS_F2_RD, on);
}

void
dnspacket_set_ra(uint8_t *pkt, bool on)
{
	dnspacket_setbit(&pkt[3], DNS_F3_RA, on);
}

void
dnspacket_set_ad(uint8_t *pkt, bool on)
{
	dnspacket_setbit(&pkt[3], DNS_F3_AD, on);
}

void
dnspacket_set_cd(uint8_t *pkt, bool on)
{
	dnspacket_setbit(&pkt[3], DNS_F3_CD, on);
}

void
dnspacket_restore_flags(uint8_t *pkt, uint16_t flags)
{
	dnspacket_setbit(&pkt[2], DNS_F2_RD, (flags >> 8) & DNS_F2_RD);
	dnspacket_setbit(&pkt[3], DNS_F3_CD, flags & DNS_F3_CD);
}

/* Only the 4 header bits; extended rcodes live in the OPT record. */
void
dnspacket_set_rcode(uint8_t *pkt, int rcode)
{
	pkt[3] = (uint8_t)((pkt[3] & ~DNS_F3_RCODE) | (rcode & DNS_F3_RCODE));
}

void
dnspacket_set_counts(uint8_t *pkt, uint16_t qd, uint16_t an, uint16_t ns,
    uint16_t ar)
{
	dnspacket_put16(pkt + 4, qd);
	dnspacket_put16(pkt + 6, an);
	dnspacket_put16(pkt + 8, ns);
	dnspacket_put16(pkt + 10, ar);
}

int
dnspacket_question(const uint8_t *pkt, size_t len, struct dnsquestion *q)
{
	size_t	 off = DNS_HDRLEN;

	if (len < DNS_HDRLEN || dnspacket_qdcount(pkt) == 0)
		return -1;
	if (dnsname_parse_lower(pkt, len, &off, q->q_name, q->q_lname,
	    &q->q_namelen) == -1)
		return -1;
	/*
	 * The first name of a message has nothing before it but the header,
	 * so a pointer in it can only point into the header.  A compressed
	 * name takes a different number of bytes than it expands to.
	 */
	if (off - DNS_HDRLEN != q->q_namelen)
		return -1;
	if (len - off < 4)
		return -1;
	q->q_type = dnspacket_get16(pkt + off);
	q->q_class = dnspacket_get16(pkt + off + 2);
	q->q_end = off + 4;
	return 0;
}

size_t
dnspacket_make_response(uint8_t *pkt, const struct dnsquestion *q, int rcode,
    bool ra)
{
	dnspacket_set_qr(pkt, true);
	dnspacket_set_tc(pkt, false);
	dnspacket_set_ra(pkt, ra);
	dnspacket_set_rcode(pkt, rcode);
	dnspacket_set_counts(pkt, 1, 0, 0, 0);
	return q->q_end;
}

size_t
dnspacket_truncate(uint8_t *pkt, size_t len, const struct dnsquestion *q,
    bool keepopt)
{
	struct dnsopt	 o;
	uint8_t		*p = pkt + q->q_end;
	bool		 opt;

	/* The record found lies past the question: read before written. */
	opt = keepopt && dnspacket_find_opt(pkt, len, q->q_end, &o) == 1;
	dnspacket_set_tc(pkt, true);
	dnspacket_set_counts(pkt, 1, 0, 0, opt ? 1 : 0);
	if (!opt)
		return q->q_end;
	/* Root owner, OPT, payload size, ERCODE and version 0, DO, no data. */
	p[0] = 0;
	dnspacket_put16(p + 1, DNS_TYPE_OPT);
	dnspacket_put16(p + 3, o.o_payload);
	memset(p + 5, 0, 6);
	p[7] = o.o_do ? 0x80 : 0;
	return q->q_end + 11;
}

size_t
dnspacket_make_query(uint8_t *buf, size_t bufsz, uint16_t id,
    const uint8_t *name, size_t namelen, uint16_t qtype, uint16_t qclass,
    bool rd)
{
	size_t	 len;

	if (namelen == 0 || namelen > DNSNAME_MAXLEN)
		return 0;
	len = DNS_HDRLEN + namelen + 4;
	if (bufsz < len)
		return 0;
	memset(buf, 0, DNS_HDRLEN);
	dnspacket_set_id(buf, id);
	dnspacket_set_rd(buf, rd);
	dnspacket_set_counts(buf, 1, 0, 0, 0);
	memcpy(buf + DNS_HDRLEN, name, namelen);
	dnspacket_put16(buf + DNS_HDRLEN + namelen, qtype);
	dnspacket_put16(buf + DNS_HDRLEN + namelen + 2, qclass);
	return len;
}

/* The type names dnsdist knows (its DNSQType table), by number. */
static const struct dnspacket_type {
	uint16_t	 t_type;
	const char	*t_name;
} dnspacket_types[] = {
	{ 1,	"A" },
	{ 2,	"NS" },
	{ 5,	"CNAME" },
	{ 6,	"SOA" },
	{ 7,	"MB" },
	{ 8,	"MG" },
	{ 9,	"MR" },
	{ 12,	"PTR" },
	{ 13,	"HINFO" },
	{ 14,	"MINFO" },
	{ 15,	"MX" },
	{ 16,	"TXT" },
	{ 17,	"RP" },
	{ 18,	"AFSDB" },
	{ 24,	"SIG" },
	{ 25,	"KEY" },
	{ 28,	"AAAA" },
	{ 29,	"LOC" },
	{ 33,	"SRV" },
	{ 35,	"NAPTR" },
	{ 36,	"KX" },
	{ 37,	"CERT" },
	{ 38,	"A6" },
	{ 39,	"DNAME" },
	{ 41,	"OPT" },
	{ 42,	"APL" },
	{ 43,	"DS" },
	{ 44,	"SSHFP" },
	{ 45,	"IPSECKEY" },
	{ 46,	"RRSIG" },
	{ 47,	"NSEC" },
	{ 48,	"DNSKEY" },
	{ 49,	"DHCID" },
	{ 50,	"NSEC3" },
	{ 51,	"NSEC3PARAM" },
	{ 52,	"TLSA" },
	{ 53,	"SMIMEA" },
	{ 57,	"RKEY" },
	{ 59,	"CDS" },
	{ 60,	"CDNSKEY" },
	{ 61,	"OPENPGPKEY" },
	{ 62,	"CSYNC" },
	{ 63,	"ZONEMD" },
	{ 64,	"SVCB" },
	{ 65,	"HTTPS" },
	{ 99,	"SPF" },
	{ 104,	"NID" },
	{ 105,	"L32" },
	{ 106,	"L64" },
	{ 107,	"LP" },
	{ 108,	"EUI48" },
	{ 109,	"EUI64" },
	{ 249,	"TKEY" },
	{ 250,	"TSIG" },
	{ 251,	"IXFR" },
	{ 252,	"AXFR" },
	{ 253,	"MAILB" },
	{ 254,	"MAILA" },
	{ 255,	"ANY" },
	{ 256,	"URI" },
	{ 257,	"CAA" },
	{ 32769,	"DLV" },
	{ 65400,	"ADDR" },
	{ 65401,	"ALIAS" },
	{ 65402,	"LUA" },
};
#define DNSPACKET_NTYPES (sizeof(dnspacket_types) / sizeof(dnspacket_types[0]))

/* The i-th known type and its name; NULL past the last. */
const char *
dnspacket_type_at(size_t i, uint16_t *type)
{
	if (i >= DNSPACKET_NTYPES)
		return NULL;
	*type = dnspacket_types[i].t_type;
	return dnspacket_types[i].t_name;
}

/*
 * A known type's name is a constant string; any other type is written as
 * "TYPEnnn" into buf (thread-safe) and buf is returned.
 */
const char *
dnspacket_type_name(uint16_t type, char *buf, size_t bufsz)
{
	size_t	 i;

	for (i = 0; i < DNSPACKET_NTYPES; i++)
		if (dnspacket_types[i].t_type == type)
			return dnspacket_types[i].t_name;
	if (buf == NULL || bufsz == 0)
		return "TYPE";
	(void)snprintf(buf, bufsz, "TYPE%u", (unsigned int)type);
	return buf;
}

/* Decimal 0..65535, digits only; -1 otherwise. */
static int
dnspacket_number(const char *s)
{
	unsigned long v = 0;

	if (*s == '\0')
		return -1;
	for (; *s != '\0'; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		v = v * 10 + (unsigned long)(*s - '0');
		if (v > UINT16_MAX)
			return -1;
	}
	return (int)v;
}

int
dnspacket_type_from_text(const char *text)
{
	size_t	 i;

	if (text == NULL)
		return -1;
	for (i = 0; i < DNSPACKET_NTYPES; i++)
		if (strcasecmp(text, dnspacket_types[i].t_name) == 0)
			return dnspacket_types[i].t_type;
	if (strncasecmp(text, "TYPE", 4) == 0)
		return dnspacket_number(text + 4);
	return dnspacket_number(text);
}

const char *
dnspacket_rcode_name(int rcode)
{
	switch (rcode) {
	case DNS_RCODE_NOERROR:
		return "NOERROR";
	case DNS_RCODE_FORMERR:
		return "FORMERR";
	case DNS_RCODE_SERVFAIL:
		return "SERVFAIL";
	case DNS_RCODE_NXDOMAIN:
		return "NXDOMAIN";
	case DNS_RCODE_NOTIMP:
		return "NOTIMP";
	case DNS_RCODE_REFUSED:
		return "REFUSED";
	default:
		return "UNKNOWN";
	}
}

long
dnspacket_walk(const uint8_t *pkt, size_t len, size_t off, dnsrr_fn fn,
    void *arg)
{
	struct dnsrr	rr;
	unsigned int	n, i;

	for (rr.rr_section = 1; rr.rr_section <= 3; rr.rr_section++) {
		n = rr.rr_section == 1 ? dnspacket_ancount(pkt) :
		    rr.rr_section == 2 ? dnspacket_nscount(pkt) :
		    dnspacket_arcount(pkt);
		for (i = 0; i < n; i++) {
			rr.rr_off = off;
			if (dnsname_skip(pkt, len, &off) == -1 ||
			    len - off < 10)
				return -1;
			rr.rr_type = dnspacket_get16(pkt + off);
			rr.rr_class = dnspacket_get16(pkt + off + 2);
			rr.rr_ttloff = off + 4;
			rr.rr_ttl = dnspacket_get32(pkt + off + 4);
			rr.rr_rdlen = dnspacket_get16(pkt + off + 8);
			off += 10;
			if (len - off < rr.rr_rdlen)
				return -1;
			rr.rr_rdoff = off;
			if (fn != NULL)
				fn(arg, &rr);
			off += rr.rr_rdlen;
		}
	}
	return (long)off;
}

/* Types whose data may hold compressed names (RFC 3597, section 4). */
static bool
type_compresses(uint16_t type)
{
	switch (type) {
	case 2: case 3: case 4: case 5: case 6: case 7: case 8: case 9:
	case 12: case 14: case 15: case 17: case 18: case 21: case 24:
	case 26: case 30: case 33: case 35: case 36: case 39:
		return true;
	}
	return false;
}

struct rr_removal {
	uint8_t		*pkt;
	const uint16_t	*types;
	size_t		 ntypes;
	size_t		 first;		/* the first record removed, or 0 */
	bool		 unsafe;	/* a record after it may point into it */
	size_t		 dst;		/* the second pass: where the next goes */
	uint16_t	 kept[4];
};

static bool
removal_listed(const struct rr_removal *rm, uint16_t type)
{
	size_t	i;

	for (i = 0; i < rm->ntypes; i++)
		if (rm->types[i] == type)
			return true;
	return false;
}

static void
removal_check(void *arg, const struct dnsrr *rr)
{
	struct rr_removal	*rm = arg;
	const uint8_t		*p = rm->pkt;
	size_t			 off = rr->rr_off;

	if (removal_listed(rm, rr->rr_type)) {
		if (rm->first == 0)
			rm->first = rr->rr_off;
		return;
	}
	if (rm->first == 0)
		return;
	/* What stays after the gap must not point into it or past it. */
	if (type_compresses(rr->rr_type))
		rm->unsafe = true;
	while (p[off] != 0 && (p[off] & 0xc0) != 0xc0)
		off += (size_t)p[off] + 1;
	if (p[off] != 0 && (size_t)((p[off] & 0x3f) << 8 | p[off + 1]) >=
	    rm->first)
		rm->unsafe = true;
}

static void
removal_move(void *arg, const struct dnsrr *rr)
{
	struct rr_removal	*rm = arg;
	size_t			 n = rr->rr_rdoff + rr->rr_rdlen - rr->rr_off;

	if (removal_listed(rm, rr->rr_type))
		return;
	/* Never past the record being read: the walk goes on behind it. */
	memmove(rm->pkt + rm->dst, rm->pkt + rr->rr_off, n);
	rm->dst += n;
	rm->kept[rr->rr_section]++;
}

size_t
dnspacket_remove_types(uint8_t *pkt, size_t len, size_t qend,
    const uint16_t *types, size_t ntypes)
{
	struct rr_removal	rm;
	long			end;

	memset(&rm, 0, sizeof(rm));
	rm.pkt = pkt;
	rm.types = types;
	rm.ntypes = ntypes;
	if (dnspacket_walk(pkt, len, qend, removal_check, &rm) == -1 ||
	    rm.first == 0 || rm.unsafe)
		return len;
	rm.dst = qend;
	end = dnspacket_walk(pkt, len, qend, removal_move, &rm);
	/* Trailing data stays behind the records. */
	memmove(pkt + rm.dst, pkt + end, len - (size_t)end);
	dnspacket_set_counts(pkt, dnspacket_qdcount(pkt), rm.kept[1],
	    rm.kept[2], rm.kept[3]);
	return rm.dst + len - (size_t)end;
}

/*
 * Where the names are in the data of a type that may compress them: pre
 * bytes, then n names, then the rest as it is.  False for the types whose
 * layout this does not follow.
 */
static bool
rdata_names(uint16_t type, size_t *pre, int *n)
{
	*pre = 0;
	*n = 1;
	switch (type) {
	case 2: case 3: case 4: case 5: case 7: case 8: case 9: case 12:
	case 39:
		return true;
	case 15: case 18: case 21: case 36:	/* MX, AFSDB, RT, KX */
		*pre = 2;
		return true;
	case 33:				/* SRV */
		*pre = 6;
		return true;
	case 6: case 14: case 17:		/* SOA, MINFO, RP */
		*n = 2;
		return true;
	case 26:				/* PX */
		*pre = 2;
		*n = 2;
		return true;
	}
	return false;
}

struct wbuf {
	uint8_t	*w_buf;
	size_t	 w_len;
	size_t	 w_size;
	bool	 w_bad;
};

static void
wbuf_put(struct wbuf *w, const void *p, size_t n)
{
	if (w->w_bad || w->w_size - w->w_len < n) {
		w->w_bad = true;
		return;
	}
	memcpy(w->w_buf + w->w_len, p, n);
	w->w_len += n;
}

/* One name of pkt[0..end) at *off, written out whole: renamed if asked. */
static int
rename_name(struct wbuf *w, const uint8_t *pkt, size_t end, size_t *off,
    const uint8_t *from, size_t fromlen, const uint8_t *to, size_t tolen)
{
	uint8_t	name[DNSNAME_MAXLEN];
	size_t	nlen;

	if (dnsname_parse(pkt, end, off, name, &nlen) == -1)
		return -1;
	if (from != NULL && dnsname_equal(name, nlen, from, fromlen))
		wbuf_put(w, to, tolen);
	else
		wbuf_put(w, name, nlen);
	return 0;
}

size_t
dnspacket_rename(uint8_t *pkt, size_t len, size_t size, const uint8_t *from,
    size_t fromlen, const uint8_t *to, size_t tolen)
{
	struct wbuf	w;
	size_t		off = DNS_HDRLEN, pre, rdend, rdlenat;
	unsigned int	k, nrr;
	uint16_t	rdlen;
	int		i, nnames;

	if (len < DNS_HDRLEN || dnspacket_qdcount(pkt) != 1 ||
	    (w.w_buf = malloc(size)) == NULL)
		return 0;
	w.w_len = 0;
	w.w_size = size;
	w.w_bad = false;
	wbuf_put(&w, pkt, DNS_HDRLEN);
	if (rename_name(&w, pkt, len, &off, from, fromlen, to, tolen) == -1 ||
	    len - off < 4)
		goto bad;
	wbuf_put(&w, pkt + off, 4);
	off += 4;
	nrr = (unsigned int)dnspacket_ancount(pkt) + dnspacket_nscount(pkt) +
	    dnspacket_arcount(pkt);
	for (k = 0; k < nrr; k++) {
		if (rename_name(&w, pkt, len, &off, from, fromlen, to,
		    tolen) == -1 || len - off < 10)
			goto bad;
		rdlen = dnspacket_get16(pkt + off + 8);
		wbuf_put(&w, pkt + off, 10);
		rdlenat = w.w_len - 2;
		off += 10;
		if (len - off < rdlen)
			goto bad;
		rdend = off + rdlen;
		/* Their names, written out whole: nothing points into them. */
		if (type_compresses(dnspacket_get16(pkt + off - 10))) {
			if (!rdata_names(dnspacket_get16(pkt + off - 10), &pre,
			    &nnames) || rdlen < pre)
				goto bad;
			wbuf_put(&w, pkt + off, pre);
			off += pre;
			for (i = 0; i < nnames; i++)
				if (rename_name(&w, pkt, rdend, &off, NULL, 0,
				    NULL, 0) == -1)
					goto bad;
		}
		wbuf_put(&w, pkt + off, rdend - off);
		off = rdend;
		if (w.w_bad || w.w_len - rdlenat - 2 > 65535)
			goto bad;
		w.w_buf[rdlenat] = (uint8_t)((w.w_len - rdlenat - 2) >> 8);
		w.w_buf[rdlenat + 1] = (uint8_t)(w.w_len - rdlenat - 2);
	}
	/* Trailing data stays behind the records. */
	wbuf_put(&w, pkt + off, len - off);
	if (w.w_bad)
		goto bad;
	memcpy(pkt, w.w_buf, w.w_len);
	free(w.w_buf);
	return w.w_len;
bad:
	free(w.w_buf);
	return 0;
}

static void
find_opt(void *arg, const struct dnsrr *rr)
{
	struct dnsopt	*o = arg;

	if (rr->rr_section == 3 && rr->rr_type == DNS_TYPE_OPT &&
	    o->o_ttloff == 0) {
		o->o_off = rr->rr_off;
		o->o_ttloff = rr->rr_ttloff;
		o->o_rdoff = rr->rr_rdoff;
		o->o_rdlen = rr->rr_rdlen;
		o->o_payload = rr->rr_class;
		o->o_extrcode = (uint8_t)(rr->rr_ttl >> 24);
		o->o_version = (uint8_t)(rr->rr_ttl >> 16);
		o->o_do = (rr->rr_ttl & 0x8000) != 0;
	}
}

int
dnspacket_find_opt(const uint8_t *pkt, size_t len, size_t qend,
    struct dnsopt *o)
{
	memset(o, 0, sizeof(*o));
	if (dnspacket_arcount(pkt) == 0)
		return 0;
	if (dnspacket_walk(pkt, len, qend, find_opt, o) == -1)
		return -1;
	return o->o_ttloff != 0;
}

int
dnspacket_opt_next(const uint8_t *pkt, const struct dnsopt *o, size_t *pos,
    uint16_t *code, uint16_t *len, size_t *data)
{
	size_t	end = o->o_rdoff + o->o_rdlen;

	if (*pos >= end)
		return 0;
	if (end - *pos < 4)
		return -1;
	*code = dnspacket_get16(pkt + *pos);
	*len = dnspacket_get16(pkt + *pos + 2);
	if (end - *pos - 4 < *len)
		return -1;
	*data = *pos + 4;
	*pos += 4 + (size_t)*len;
	return 1;
}

int
dnspacket_add_xpf(uint8_t *pkt, size_t *len, size_t size, size_t qend,
    uint16_t type, bool tcp, const struct sockaddr *src,
    const struct sockaddr *dst)
{
	const struct sockaddr_in	*s4 = (const void *)src;
	const struct sockaddr_in	*d4 = (const void *)dst;
	const struct sockaddr_in6	*s6 = (const void *)src;
	const struct sockaddr_in6	*d6 = (const void *)dst;
	size_t				 alen, rdlen;
	long				 end;
	uint8_t				*p;

	if (src == NULL || dst == NULL || src->sa_family != dst->sa_family ||
	    (src->sa_family != AF_INET && src->sa_family != AF_INET6) ||
	    (end = dnspacket_walk(pkt, *len, qend, NULL, NULL)) == -1)
		return -1;
	alen = src->sa_family == AF_INET ? 4 : 16;
	rdlen = 2 + 2 * alen + 4;
	if (size - (size_t)end < 11 + rdlen)
		return -1;
	p = pkt + end;
	*p++ = 0;				/* the root */
	dnspacket_put16(p, type);
	dnspacket_put16(p + 2, 1);		/* IN */
	memset(p + 4, 0, 4);			/* TTL 0 */
	dnspacket_put16(p + 8, (uint16_t)rdlen);
	p += 10;
	*p++ = src->sa_family == AF_INET ? 4 : 6;
	*p++ = tcp ? IPPROTO_TCP : IPPROTO_UDP;
	memcpy(p, alen == 4 ? (const void *)&s4->sin_addr :
	    (const void *)&s6->sin6_addr, alen);
	memcpy(p + alen, alen == 4 ? (const void *)&d4->sin_addr :
	    (const void *)&d6->sin6_addr, alen);
	p += 2 * alen;
	memcpy(p, alen == 4 ? &s4->sin_port : &s6->sin6_port, 2);
	memcpy(p + 2, alen == 4 ? &d4->sin_port : &d6->sin6_port, 2);
	*len = (size_t)end + 11 + rdlen;
	dnspacket_put16(pkt + 10, (uint16_t)(dnspacket_arcount(pkt) + 1));
	return 0;
}
