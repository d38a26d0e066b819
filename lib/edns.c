/*
 * EDNS option and Client Subnet rewrites.  The message is walked first: only a
 * message whose records all parse is changed, so that bytes that were not
 * records never become one.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <string.h>

#include "edns.h"

void
edns_ecs_source(const struct sockaddr *sa, int v4bits, int v6bits,
    struct netmask *nm)
{
	(void)netmask_from_sockaddr(sa, v4bits, v6bits, nm);
}

/*
 * Find the (first) option code: 1 with its offset and full size (4 +
 * length), 0 when there is none, -1 when the options do not all parse.
 */
static int
find_option(const uint8_t *pkt, const struct dnsopt *o, uint16_t want,
    size_t *off, size_t *size)
{
	size_t		pos = o->o_rdoff, data;
	uint16_t	code, olen;
	int		r;

	*size = 0;
	while ((r = dnspacket_opt_next(pkt, o, &pos, &code, &olen,
	    &data)) == 1)
		if (code == want && *size == 0) {
			*off = data - 4;
			*size = (size_t)olen + 4;
		}
	if (r == -1)
		return -1;
	return *size != 0;
}

static void
put_option(uint8_t *p, uint16_t code, const uint8_t *data, size_t len)
{
	dnspacket_put16(p, code);
	dnspacket_put16(p + 2, (uint16_t)len);
	if (len > 0)
		memcpy(p + 4, data, len);
}

/* A new OPT record at end, with rdlen bytes of options to follow. */
static void
opt_append(uint8_t *pkt, size_t end, uint16_t payload, size_t rdlen)
{
	pkt[end] = 0;			/* root */
	dnspacket_put16(pkt + end + 1, DNS_TYPE_OPT);
	dnspacket_put16(pkt + end + 3, payload);
	memset(pkt + end + 5, 0, 4);	/* ERCODE, version, flags */
	dnspacket_put16(pkt + end + 9, (uint16_t)rdlen);
	dnspacket_put16(pkt + 10, (uint16_t)(dnspacket_arcount(pkt) + 1));
}

int
edns_add_opt(uint8_t *pkt, size_t *len, size_t size,
    const struct dnsquestion *q, uint16_t payload)
{
	struct dnsopt	o;
	long		walked;
	int		r;

	if ((walked = dnspacket_walk(pkt, *len, q->q_end, NULL, NULL)) == -1 ||
	    (r = dnspacket_find_opt(pkt, *len, q->q_end, &o)) == -1)
		return -1;
	if (r == 1)
		return 0;
	if (size < (size_t)walked + 11 || dnspacket_arcount(pkt) == UINT16_MAX)
		return -1;
	opt_append(pkt, (size_t)walked, payload, 0);
	*len = (size_t)walked + 11;
	return 1;
}

int
edns_set_option(uint8_t *pkt, size_t *len, size_t size,
    const struct dnsquestion *q, uint16_t code, const uint8_t *data,
    size_t dlen, uint16_t payload, bool override, bool *hadopt)
{
	struct dnsopt	o;
	size_t		optlen = 4 + dlen, end, off = 0, old;
	long		walked;
	int		r;

	*hadopt = false;
	if (dlen > UINT16_MAX - 4)
		return -1;
	if ((walked = dnspacket_walk(pkt, *len, q->q_end, NULL, NULL)) == -1 ||
	    (r = dnspacket_find_opt(pkt, *len, q->q_end, &o)) == -1)
		return -1;
	/* Whatever follows the records is no part of the message. */
	end = (size_t)walked;
	if (r == 0) {
		if (size < end + 11 + optlen ||
		    dnspacket_arcount(pkt) == UINT16_MAX)
			return -1;
		opt_append(pkt, end, payload, optlen);
		put_option(pkt + end + 11, code, data, dlen);
		*len = end + 11 + optlen;
		return 1;
	}
	*hadopt = true;
	if ((r = find_option(pkt, &o, code, &off, &old)) == -1)
		return -1;
	if (r == 1 && !override)
		return 0;
	if (size < end - old + optlen ||
	    (size_t)o.o_rdlen - old + optlen > UINT16_MAX)
		return -1;
	/* As dnsdist: the old option goes, the new one comes last. */
	if (old > 0) {
		memmove(pkt + off, pkt + off + old, end - off - old);
		end -= old;
	}
	off = o.o_rdoff + o.o_rdlen - old;
	memmove(pkt + off + optlen, pkt + off, end - off);
	put_option(pkt + off, code, data, dlen);
	dnspacket_put16(pkt + o.o_rdoff - 2, (uint16_t)(o.o_rdlen - old + optlen));
	*len = end + optlen;
	return old > 0 ? 2 : 1;
}

int
edns_add_ecs(uint8_t *pkt, size_t *len, size_t size,
    const struct dnsquestion *q, const struct netmask *nm, bool override,
    bool *hadopt)
{
	uint8_t	data[4 + 16];
	size_t	alen = ((size_t)nm->nm_bits + 7) / 8;

	*hadopt = false;
	if ((nm->nm_family != AF_INET && nm->nm_family != AF_INET6) ||
	    alen > 16)
		return -1;
	/* Family, source and scope prefix lengths, the address's bytes. */
	dnspacket_put16(data, nm->nm_family == AF_INET ? 1 : 2);
	data[2] = nm->nm_bits;
	data[3] = 0;
	memcpy(data + 4, nm->nm_addr, alen);
	return edns_set_option(pkt, len, size, q, EDNS_OPT_ECS, data, 4 + alen,
	    EDNS_QUERY_PAYLOAD, override, hadopt);
}

int
edns_ecs_scope(const uint8_t *pkt, size_t len, const struct dnsquestion *q)
{
	struct dnsopt	o;
	size_t		off, n;

	/* Family (2 bytes), source and scope prefix lengths. */
	if (dnspacket_find_opt(pkt, len, q->q_end, &o) != 1 ||
	    find_option(pkt, &o, EDNS_OPT_ECS, &off, &n) != 1 || n < 4 + 4)
		return -1;
	return pkt[off + 4 + 3];
}

int
edns_strip_ecs(uint8_t *pkt, size_t *len, const struct dnsquestion *q,
    bool wholeopt)
{
	struct dnsopt	o;
	size_t		off, n, rrend;
	int		r;

	if ((r = dnspacket_find_opt(pkt, *len, q->q_end, &o)) == -1)
		return -1;
	if (r == 0)
		return 0;
	rrend = o.o_rdoff + o.o_rdlen;
	if (wholeopt) {
		memmove(pkt + o.o_off, pkt + rrend, *len - rrend);
		*len -= rrend - o.o_off;
		dnspacket_put16(pkt + 10, (uint16_t)(dnspacket_arcount(pkt) - 1));
		return 0;
	}
	if ((r = find_option(pkt, &o, EDNS_OPT_ECS, &off, &n)) != 1)
		return r;
	memmove(pkt + off, pkt + off + n, *len - off - n);
	*len -= n;
	dnspacket_put16(pkt + o.o_rdoff - 2, (uint16_t)(dnspacket_get16(pkt + o.o_rdoff - 2) - n));
	return 0;
}
