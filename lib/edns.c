/*
 * EDNS Client Subnet rewrites.  The message is walked first: only a
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

/* The option's bytes for nm: code, length, family, prefixes, address. */
static size_t
ecs_option(const struct netmask *nm, uint8_t *out)
{
	size_t	alen = ((size_t)nm->nm_bits + 7) / 8;

	dnspacket_put16(out, EDNS_OPT_ECS);
	dnspacket_put16(out + 2, (uint16_t)(4 + alen));
	dnspacket_put16(out + 4, nm->nm_family == AF_INET ? 1 : 2);
	out[6] = nm->nm_bits;
	out[7] = 0;
	memcpy(out + 8, nm->nm_addr, alen);
	return 8 + alen;
}

/*
 * Find the (first) ECS option: 1 with its offset and full size (4 +
 * length), 0 when there is none, -1 when the options do not all parse.
 */
static int
find_ecs(const uint8_t *pkt, const struct dnsopt *o, size_t *off,
    size_t *size)
{
	size_t		pos = o->o_rdoff, data;
	uint16_t	code, olen;
	int		r;

	*size = 0;
	while ((r = dnspacket_opt_next(pkt, o, &pos, &code, &olen,
	    &data)) == 1)
		if (code == EDNS_OPT_ECS && *size == 0) {
			*off = data - 4;
			*size = (size_t)olen + 4;
		}
	if (r == -1)
		return -1;
	return *size != 0;
}

int
edns_add_ecs(uint8_t *pkt, size_t *len, size_t size,
    const struct dnsquestion *q, const struct netmask *nm, bool override,
    bool *hadopt)
{
	struct dnsopt	o;
	uint8_t		opt[8 + 16];
	size_t		optlen, end, off = 0, old;
	long		walked;
	int		r;

	*hadopt = false;
	if (nm->nm_family != AF_INET && nm->nm_family != AF_INET6)
		return -1;
	if ((walked = dnspacket_walk(pkt, *len, q->q_end, NULL, NULL)) == -1 ||
	    (r = dnspacket_find_opt(pkt, *len, q->q_end, &o)) == -1)
		return -1;
	/* Whatever follows the records is no part of the message. */
	end = (size_t)walked;
	optlen = ecs_option(nm, opt);
	if (r == 0) {
		if (size < end + 11 + optlen)
			return -1;
		pkt[end] = 0;			/* root */
		dnspacket_put16(pkt + end + 1, DNS_TYPE_OPT);
		dnspacket_put16(pkt + end + 3, EDNS_DEFAULT_PAYLOAD);
		memset(pkt + end + 5, 0, 4);	/* ERCODE, version, flags */
		dnspacket_put16(pkt + end + 9, (uint16_t)optlen);
		memcpy(pkt + end + 11, opt, optlen);
		*len = end + 11 + optlen;
		dnspacket_put16(pkt + 10, (uint16_t)(dnspacket_arcount(pkt) + 1));
		return 1;
	}
	*hadopt = true;
	if ((r = find_ecs(pkt, &o, &off, &old)) == -1)
		return -1;
	if (r == 1 && !override)
		return 0;
	if (old == 0)
		off = o.o_rdoff + o.o_rdlen;	/* append */
	if (size < end - old + optlen ||
	    (size_t)o.o_rdlen - old + optlen > UINT16_MAX)
		return -1;
	/* Make room for the new option where the old one was (or at the end). */
	memmove(pkt + off + optlen, pkt + off + old, end - off - old);
	memcpy(pkt + off, opt, optlen);
	dnspacket_put16(pkt + o.o_rdoff - 2, (uint16_t)(o.o_rdlen - old + optlen));
	*len = end - old + optlen;
	return 1;
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
	if ((r = find_ecs(pkt, &o, &off, &n)) != 1)
		return r;
	memmove(pkt + off, pkt + off + n, *len - off - n);
	*len -= n;
	dnspacket_put16(pkt + o.o_rdoff - 2, (uint16_t)(dnspacket_get16(pkt + o.o_rdoff - 2) - n));
	return 0;
}
