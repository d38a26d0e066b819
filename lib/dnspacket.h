/*
 * DNS message header accessors, the question, and the rewrites the balancer
 * makes.  Header fields are read and written through these functions only,
 * never through a struct laid over the packet.
 */
#ifndef DNSPACKET_H
#define DNSPACKET_H

#include <sys/socket.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dnsname.h"

#define DNS_HDRLEN		12
#define DNS_MAXUDP		65535	/* largest message over UDP or TCP */

#define DNS_CLASS_IN		1
#define DNS_TYPE_A		1
#define DNS_TYPE_NS		2
#define DNS_TYPE_CNAME		5
#define DNS_TYPE_SOA		6
#define DNS_TYPE_PTR		12
#define DNS_TYPE_MX		15
#define DNS_TYPE_TXT		16
#define DNS_TYPE_AAAA		28
#define DNS_TYPE_SRV		33
#define DNS_TYPE_OPT		41
#define DNS_TYPE_DS		43
#define DNS_TYPE_RRSIG		46
#define DNS_TYPE_DNSKEY		48
#define DNS_TYPE_AXFR		252
#define DNS_TYPE_IXFR		251
#define DNS_TYPE_ANY		255

#define DNS_RCODE_NOERROR	0
#define DNS_RCODE_FORMERR	1
#define DNS_RCODE_SERVFAIL	2
#define DNS_RCODE_NXDOMAIN	3
#define DNS_RCODE_NOTIMP	4
#define DNS_RCODE_REFUSED	5

#define DNS_OPCODE_QUERY	0
#define DNS_OPCODE_NOTIFY	4
#define DNS_OPCODE_UPDATE	5

/* Integers in network byte order, at any alignment. */
static inline uint16_t
dnspacket_get16(const uint8_t *p)
{
	return (uint16_t)((p[0] << 8) | p[1]);
}

static inline void
dnspacket_put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static inline uint32_t
dnspacket_get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | p[3];
}

static inline void
dnspacket_put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/* Header flag bits, in bytes 2 and 3. */
#define DNS_F2_QR	0x80
#define DNS_F2_OPCODE	0x78
#define DNS_F2_AA	0x04
#define DNS_F2_TC	0x02
#define DNS_F2_RD	0x01
#define DNS_F3_RA	0x80
#define DNS_F3_AD	0x20
#define DNS_F3_CD	0x10
#define DNS_F3_RCODE	0x0f

/* Header fields.  The caller has checked that len >= DNS_HDRLEN. */
static inline uint16_t
dnspacket_id(const uint8_t *pkt)
{
	return dnspacket_get16(pkt);
}

static inline void
dnspacket_set_id(uint8_t *pkt, uint16_t id)
{
	dnspacket_put16(pkt, id);
}

static inline bool
dnspacket_qr(const uint8_t *pkt)
{
	return (pkt[2] & DNS_F2_QR) != 0;
}

static inline int
dnspacket_opcode(const uint8_t *pkt)
{
	return (pkt[2] & DNS_F2_OPCODE) >> 3;
}

static inline bool
dnspacket_aa(const uint8_t *pkt)
{
	return (pkt[2] & DNS_F2_AA) != 0;
}

static inline bool
dnspacket_tc(const uint8_t *pkt)
{
	return (pkt[2] & DNS_F2_TC) != 0;
}

static inline bool
dnspacket_rd(const uint8_t *pkt)
{
	return (pkt[2] & DNS_F2_RD) != 0;
}

static inline bool
dnspacket_ra(const uint8_t *pkt)
{
	return (pkt[3] & DNS_F3_RA) != 0;
}

static inline bool
dnspacket_ad(const uint8_t *pkt)
{
	return (pkt[3] & DNS_F3_AD) != 0;
}

static inline bool
dnspacket_cd(const uint8_t *pkt)
{
	return (pkt[3] & DNS_F3_CD) != 0;
}

static inline int
dnspacket_rcode(const uint8_t *pkt)
{
	return pkt[3] & DNS_F3_RCODE;
}

static inline uint16_t
dnspacket_qdcount(const uint8_t *pkt)
{
	return dnspacket_get16(pkt + 4);
}

static inline uint16_t
dnspacket_ancount(const uint8_t *pkt)
{
	return dnspacket_get16(pkt + 6);
}

static inline uint16_t
dnspacket_nscount(const uint8_t *pkt)
{
	return dnspacket_get16(pkt + 8);
}

static inline uint16_t
dnspacket_arcount(const uint8_t *pkt)
{
	return dnspacket_get16(pkt + 10);
}

void	dnspacket_set_qr(uint8_t *pkt, bool on);
void	dnspacket_set_aa(uint8_t *pkt, bool on);
void	dnspacket_set_tc(uint8_t *pkt, bool on);
void	dnspacket_set_rd(uint8_t *pkt, bool on);
void	dnspacket_set_ra(uint8_t *pkt, bool on);
void	dnspacket_set_ad(uint8_t *pkt, bool on);
void	dnspacket_set_cd(uint8_t *pkt, bool on);
void	dnspacket_set_rcode(uint8_t *pkt, int rcode);
/*
 * RD and CD as in flags, a query's header flags (bytes 2 and 3) as its
 * client sent them: an answer goes back with them, whatever a rule or
 * the backend made of them (dnsdist's restoreFlags).
 */
void	dnspacket_restore_flags(uint8_t *pkt, uint16_t flags);
void	dnspacket_set_counts(uint8_t *pkt, uint16_t qd, uint16_t an,
	    uint16_t ns, uint16_t ar);

/* The first (and for queries, only) question of a message. */
struct dnsquestion {
	uint8_t		q_name[DNSNAME_MAXLEN];	/* uncompressed, packet's case */
	uint8_t		q_lname[DNSNAME_MAXLEN];	/* ... in lower case */
	size_t		q_namelen;
	uint16_t	q_type;
	uint16_t	q_class;
	size_t		q_end;		/* offset just past the question */
};

/*
 * Parse the first question of pkt[0..len).  Fails (-1) when the message is
 * shorter than a header, qdcount is 0, or the question is truncated or bad.
 */
int	dnspacket_question(const uint8_t *pkt, size_t len,
	    struct dnsquestion *q);

/*
 * Turn the query in pkt (len bytes, question already parsed into q) into a
 * response carrying only the question: QR set, RA copied from ra, the
 * given rcode, AN/NS/AR counts 0, TC cleared.  Returns the new length
 * (q->q_end).
 */
size_t	dnspacket_make_response(uint8_t *pkt, const struct dnsquestion *q,
	    int rcode, bool ra);

/*
 * Cut the answer in pkt (len bytes, its question parsed into q) down for
 * a UDP client that cannot take it whole, as dnsdist does: the header
 * with TC set and the question, then, when the answer had an OPT record
 * and keepopt, one with that record's payload size and DO bit and no
 * options.  Returns the new length.
 */
size_t	dnspacket_truncate(uint8_t *pkt, size_t len,
	    const struct dnsquestion *q, bool keepopt);

/*
 * Write a query (header and one question) into buf (bufsz bytes).  Returns
 * its length, or 0 when it does not fit.
 */
size_t	dnspacket_make_query(uint8_t *buf, size_t bufsz, uint16_t id,
	    const uint8_t *name, size_t namelen, uint16_t qtype,
	    uint16_t qclass, bool rd);

/* One resource record after the question, as dnspacket_walk() sees it. */
struct dnsrr {
	int		rr_section;	/* 1 answer, 2 authority, 3 additional */
	size_t		rr_off;		/* owner name */
	uint16_t	rr_type;
	uint16_t	rr_class;
	uint32_t	rr_ttl;
	size_t		rr_ttloff;
	size_t		rr_rdoff;
	uint16_t	rr_rdlen;
};
typedef void (*dnsrr_fn)(void *, const struct dnsrr *);

/*
 * Call fn (when not NULL) for each record of the answer, authority and
 * additional sections, starting at off (just past the question).  Returns
 * the offset after the last record (less than len when trailing data
 * follows), or -1 when the counts promise more than the packet holds or a
 * record is malformed.
 */
long	dnspacket_walk(const uint8_t *pkt, size_t len, size_t off, dnsrr_fn fn,
	    void *arg);

/*
 * Remove the records of the listed types from the message in pkt (len
 * bytes, records from qend), in place; returns the new length.  The
 * message stays as it is when it does not parse, has none of them, or a
 * record left after the first one removed could hold a compression
 * pointer into what moves (its owner name, or data of a type that may
 * be compressed).
 */
size_t	dnspacket_remove_types(uint8_t *pkt, size_t len, size_t qend,
	    const uint16_t *types, size_t ntypes);

/*
 * Rewrite the message in pkt (len bytes of size) with the question name,
 * and the owner name of every record, that equals from (ignoring case)
 * changed to to, as dnsdist's changeName does.  The whole message is
 * written again without compression, names in the data of the types
 * that may compress them included.  Returns the new length, or 0 when
 * the message does not parse, holds a record whose data may compress a
 * name in a way this does not know (NAPTR, SIG, NXT), or would not fit;
 * pkt is then as it was.
 */
size_t	dnspacket_rename(uint8_t *pkt, size_t len, size_t size,
	    const uint8_t *from, size_t fromlen, const uint8_t *to,
	    size_t tolen);

/*
 * Append an XPF record (draft-bellis-dnsop-xpf, dnsdist's addXPF) of the
 * given type: the client's address and port and the one it sent to, and
 * the transport.  Trailing data goes.  Returns 0, or -1 when the message
 * does not parse, has no room in size, or the families differ.
 */
int	dnspacket_add_xpf(uint8_t *pkt, size_t *len, size_t size, size_t qend,
	    uint16_t type, bool tcp, const struct sockaddr *src,
	    const struct sockaddr *dst);

/* The OPT pseudo-record (EDNS) of a message. */
struct dnsopt {
	size_t		o_off;		/* the record (its root owner name) */
	size_t		o_ttloff;	/* extended rcode, version, flags */
	size_t		o_rdoff;	/* the options */
	uint16_t	o_rdlen;
	uint16_t	o_payload;	/* advertised UDP payload size */
	uint8_t		o_extrcode;
	uint8_t		o_version;
	bool		o_do;
};

/*
 * Find the first OPT record of the additional section.  1 found, 0 none,
 * -1 malformed message.
 */
int	dnspacket_find_opt(const uint8_t *pkt, size_t len, size_t qend,
	    struct dnsopt *);
/*
 * Iterate over the options of an OPT record: *pos starts at o_rdoff.
 * 1 with the option's code, length and data offset, 0 at the end, -1 when
 * an option overruns the record.
 */
int	dnspacket_opt_next(const uint8_t *pkt, const struct dnsopt *,
	    size_t *pos, uint16_t *code, uint16_t *len, size_t *data);

/* Type and class mnemonics ("A", "AAAA", "TYPE65534"; "IN", "CLASS3"). */
const char *dnspacket_type_name(uint16_t type, char *buf, size_t bufsz);
const char *dnspacket_type_at(size_t i, uint16_t *type);
/* "A", "aaaa", "TYPE123" or a decimal number to a type; -1 if unknown. */
int	dnspacket_type_from_text(const char *text);
const char *dnspacket_rcode_name(int rcode);

#endif /* DNSPACKET_H */
