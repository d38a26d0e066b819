/*
 * Netmasks and netmask groups.  A group is a plain array scanned for the
 * longest matching mask: groups are ACLs of a few dozen entries at most.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "netmask.h"

#define NETMASK_SEPARATORS	", \t\r\n"

/* ::ffff:0:0/96, the IPv4-mapped prefix. */
static const uint8_t netmask_v4mapped[12] = {
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff
};

void
netmask_clear_host(uint8_t *a, size_t alen, unsigned int bits)
{
	size_t	 i = bits / 8;

	if (bits % 8 != 0) {
		a[i] &= (uint8_t)(0xff << (8 - bits % 8));
		i++;
	}
	for (; i < alen; i++)
		a[i] = 0;
}

/* 1 when the first bits of net and a agree. */
static int
netmask_prefix_equal(const uint8_t *net, const uint8_t *a, unsigned int bits)
{
	uint32_t	 x, y;
	size_t		 i = 0;

	/* Four bytes at a time, then bytes, then the bits left: no call. */
	for (; bits >= 32; bits -= 32, i += 4) {
		memcpy(&x, net + i, 4);
		memcpy(&y, a + i, 4);
		if (x != y)
			return 0;
	}
	for (; bits >= 8; bits -= 8, i++)
		if (net[i] != a[i])
			return 0;
	if (bits != 0 &&
	    ((net[i] ^ a[i]) & (uint8_t)(0xff << (8 - bits))) != 0)
		return 0;
	return 1;
}

int
netmask_parse(const char *text, struct netmask *nm)
{
	char	 a[NETMASK_MAXTEXT];
	const char *slash, *p;
	unsigned int bits, max;
	size_t	 al, n;
	bool	 neg = false;

	if (text == NULL)
		return -1;
	if (*text == '!') {
		neg = true;
		text++;
	}
	slash = strchr(text, '/');
	al = slash != NULL ? (size_t)(slash - text) : strlen(text);
	if (al == 0 || al >= sizeof(a))
		return -1;
	memcpy(a, text, al);
	a[al] = '\0';

	memset(nm, 0, sizeof(*nm));
	if (strchr(a, ':') != NULL) {
		if (inet_pton(AF_INET6, a, nm->nm_addr) != 1)
			return -1;
		nm->nm_family = AF_INET6;
		max = 128;
	} else {
		if (inet_pton(AF_INET, a, nm->nm_addr) != 1)
			return -1;
		nm->nm_family = AF_INET;
		max = 32;
	}
	bits = max;
	if (slash != NULL) {
		p = slash + 1;
		bits = 0;
		for (n = 0; p[n] != '\0'; n++) {
			if (p[n] < '0' || p[n] > '9' || n == 3)
				return -1;
			bits = bits * 10 + (unsigned int)(p[n] - '0');
		}
		if (n == 0 || bits > max)
			return -1;
	}
	netmask_clear_host(nm->nm_addr, max / 8, bits);
	nm->nm_bits = (uint8_t)bits;
	nm->nm_negated = neg;
	return 0;
}

const char *
netmask_to_text(const struct netmask *nm, char *buf, size_t bufsz)
{
	char	 a[INET6_ADDRSTRLEN];

	if (bufsz == 0)
		return buf;
	if ((nm->nm_family != AF_INET && nm->nm_family != AF_INET6) ||
	    inet_ntop(nm->nm_family, nm->nm_addr, a, sizeof(a)) == NULL) {
		(void)snprintf(buf, bufsz, "?");
		return buf;
	}
	(void)snprintf(buf, bufsz, "%s%s/%u", nm->nm_negated ? "!" : "", a,
	    (unsigned int)nm->nm_bits);
	return buf;
}

int
netmask_match(const struct netmask *nm, const struct sockaddr *sa)
{
	const uint8_t *a;

	switch (sa->sa_family) {
	case AF_INET:
		if (nm->nm_family != AF_INET)
			return 0;
		a = (const uint8_t *)
		    &((const struct sockaddr_in *)sa)->sin_addr.s_addr;
		break;
	case AF_INET6:
		a = ((const struct sockaddr_in6 *)sa)->sin6_addr.s6_addr;
		if (nm->nm_family == AF_INET) {
			if (memcmp(a, netmask_v4mapped,
			    sizeof(netmask_v4mapped)) != 0)
				return 0;
			a += sizeof(netmask_v4mapped);
		} else if (nm->nm_family != AF_INET6)
			return 0;
		break;
	default:
		return 0;
	}
	return netmask_prefix_equal(nm->nm_addr, a, nm->nm_bits);
}

void
netmask_group_init(struct netmask_group *ng)
{
	ng->ng_masks = NULL;
	ng->ng_count = 0;
	ng->ng_cap = 0;
}

void
netmask_group_clear(struct netmask_group *ng)
{
	free(ng->ng_masks);
	netmask_group_init(ng);
}

static bool
same_network(const struct netmask *a, const struct netmask *b)
{
	return a->nm_family == b->nm_family && a->nm_bits == b->nm_bits &&
	    memcmp(a->nm_addr, b->nm_addr, sizeof(a->nm_addr)) == 0;
}

int
netmask_group_del(struct netmask_group *ng, const struct netmask *nm)
{
	size_t	i, n = 0;

	for (i = 0; i < ng->ng_count; i++)
		if (!same_network(&ng->ng_masks[i], nm))
			ng->ng_masks[n++] = ng->ng_masks[i];
	i = ng->ng_count - n;
	ng->ng_count = n;
	return (int)i;
}

int
netmask_group_add(struct netmask_group *ng, const struct netmask *nm)
{
	struct netmask *m;
	size_t	 i, cap;

	for (i = 0; i < ng->ng_count; i++)
		if (same_network(&ng->ng_masks[i], nm) &&
		    ng->ng_masks[i].nm_negated == nm->nm_negated)
			return 0;
	if (ng->ng_count == ng->ng_cap) {
		cap = ng->ng_cap == 0 ? 8 : ng->ng_cap * 2;
		m = reallocarray(ng->ng_masks, cap, sizeof(*m));
		if (m == NULL)
			return -1;
		ng->ng_masks = m;
		ng->ng_cap = cap;
	}
	ng->ng_masks[ng->ng_count++] = *nm;
	return 0;
}

/* All or nothing: on error the masks added so far are taken back. */
int
netmask_group_add_text(struct netmask_group *ng, const char *text)
{
	char	 tok[NETMASK_MAXTEXT];
	struct netmask nm;
	size_t	 old = ng->ng_count, n;
	int	 found = 0;

	if (text == NULL)
		return -1;
	for (;;) {
		text += strspn(text, NETMASK_SEPARATORS);
		if (*text == '\0')
			break;
		n = strcspn(text, NETMASK_SEPARATORS);
		if (n >= sizeof(tok))
			goto fail;
		memcpy(tok, text, n);
		tok[n] = '\0';
		text += n;
		if (netmask_parse(tok, &nm) == -1 ||
		    netmask_group_add(ng, &nm) == -1)
			goto fail;
		found = 1;
	}
	if (found)
		return 0;
 fail:
	ng->ng_count = old;
	return -1;
}

int
netmask_group_match(const struct netmask_group *ng,
    const struct sockaddr *sa)
{
	const struct netmask *m, *best = NULL;
	unsigned int bits, bestbits = 0;
	uint32_t a = 0, net;
	size_t	 i;
	bool	 v4 = sa->sa_family == AF_INET;

	/* An IPv4 client is a word to compare with each IPv4 mask's. */
	if (v4)
		a = ((const struct sockaddr_in *)sa)->sin_addr.s_addr;
	for (i = 0; i < ng->ng_count; i++) {
		m = &ng->ng_masks[i];
		if (v4) {
			if (m->nm_family != AF_INET)
				continue;
			memcpy(&net, m->nm_addr, sizeof(net));
			if (m->nm_bits > 0 && ((a ^ net) & htonl(0xffffffffU <<
			    (32 - (m->nm_bits > 32 ? 32 : m->nm_bits)))) != 0)
				continue;
		} else if (!netmask_match(m, sa))
			continue;
		/* Rank IPv4 masks as the IPv4-mapped IPv6 prefixes they are. */
		bits = m->nm_bits + (m->nm_family == AF_INET ? 96U : 0U);
		/* On a tie the later mask wins, as a later rule would. */
		if (best == NULL || bits >= bestbits) {
			best = m;
			bestbits = bits;
		}
	}
	return best != NULL && !best->nm_negated;
}

int
netmask_group_copy(struct netmask_group *dst,
    const struct netmask_group *src)
{
	struct netmask *m = NULL;

	if (dst == src)
		return 0;
	if (src->ng_count > 0) {
		m = reallocarray(NULL, src->ng_count, sizeof(*m));
		if (m == NULL)
			return -1;
		memcpy(m, src->ng_masks, src->ng_count * sizeof(*m));
	}
	free(dst->ng_masks);
	dst->ng_masks = m;
	dst->ng_count = dst->ng_cap = src->ng_count;
	return 0;
}

int
netmask_from_sockaddr(const struct sockaddr *sa, int v4bits, int v6bits,
    struct netmask *nm)
{
	int	bits;

	memset(nm, 0, sizeof(*nm));
	if (sa->sa_family == AF_INET) {
		memcpy(nm->nm_addr, &((const struct sockaddr_in *)sa)->sin_addr,
		    4);
		bits = v4bits < 0 ? 0 : v4bits > 32 ? 32 : v4bits;
		netmask_clear_host(nm->nm_addr, 4, (unsigned int)bits);
	} else if (sa->sa_family == AF_INET6) {
		memcpy(nm->nm_addr,
		    &((const struct sockaddr_in6 *)sa)->sin6_addr, 16);
		bits = v6bits < 0 ? 0 : v6bits > 128 ? 128 : v6bits;
		netmask_clear_host(nm->nm_addr, 16, (unsigned int)bits);
	} else
		return -1;
	nm->nm_family = sa->sa_family;
	nm->nm_bits = (uint8_t)bits;
	return 0;
}

void
netmask_network(const struct netmask *nm, struct sockaddr_storage *ss)
{
	struct sockaddr_in	*sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6	*sin6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (nm->nm_family == AF_INET) {
		sin->sin_family = AF_INET;
		memcpy(&sin->sin_addr, nm->nm_addr, 4);
	} else {
		sin6->sin6_family = AF_INET6;
		memcpy(&sin6->sin6_addr, nm->nm_addr, 16);
	}
}
