/*
 * Socket addresses to and from text.  Numeric only: inet_pton and
 * inet_ntop, never the resolver.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <net/if.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "addr.h"

/* Decimal digits only, at most 5 of them, 0..65535.  0 or -1. */
static int
addr_parse_port(const char *s, uint16_t *port)
{
	unsigned long v = 0;
	size_t	 n;

	for (n = 0; s[n] != '\0'; n++) {
		if (s[n] < '0' || s[n] > '9' || n == 5)
			return -1;
		v = v * 10 + (unsigned long)(s[n] - '0');
	}
	if (n == 0 || v > UINT16_MAX)
		return -1;
	*port = (uint16_t)v;
	return 0;
}

/* "fe80::1%2" or "fe80::1%em0"; the scope is optional.  0 or -1. */
static int
addr_parse_v6(char *host, struct sockaddr_in6 *sin6)
{
	char	*pct;
	uint64_t v = 0;
	size_t	 n;

	if ((pct = strchr(host, '%')) != NULL) {
		*pct++ = '\0';
		if (*pct == '\0')
			return -1;
		if (*pct >= '0' && *pct <= '9') {
			for (n = 0; pct[n] != '\0'; n++) {
				if (pct[n] < '0' || pct[n] > '9' || n == 10)
					return -1;
				v = v * 10 + (uint64_t)(pct[n] - '0');
			}
			if (v > UINT32_MAX)
				return -1;
		} else if ((v = if_nametoindex(pct)) == 0)
			return -1;
		sin6->sin6_scope_id = (uint32_t)v;
	}
	return inet_pton(AF_INET6, host, &sin6->sin6_addr) == 1 ? 0 : -1;
}

int
addr_parse(const char *text, uint16_t defport, struct sockaddr_storage *ss,
    socklen_t *sslen)
{
	char	 host[ADDR_MAXTEXT];
	const char *p, *portstr = NULL;
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;
	uint16_t port = defport;
	size_t	 hl;
	int	 v6;

	if (text == NULL)
		return -1;
	if (text[0] == '[') {
		/* "[2001:db8::1]" or "[2001:db8::1]:53" */
		if ((p = strchr(text, ']')) == NULL)
			return -1;
		hl = (size_t)(p - text - 1);
		if (p[1] == ':')
			portstr = p + 2;
		else if (p[1] != '\0')
			return -1;
		text++;
		v6 = 1;
	} else if ((p = strchr(text, ':')) != NULL &&
	    strchr(p + 1, ':') == NULL) {
		/* One colon: "192.0.2.1:53" */
		hl = (size_t)(p - text);
		portstr = p + 1;
		v6 = 0;
	} else {
		/* "192.0.2.1" or, with two colons or more, "2001:db8::1" */
		hl = strlen(text);
		v6 = p != NULL;
	}
	if (hl == 0 || hl >= sizeof(host))
		return -1;
	memcpy(host, text, hl);
	host[hl] = '\0';
	if (portstr != NULL && addr_parse_port(portstr, &port) == -1)
		return -1;

	memset(ss, 0, sizeof(*ss));
	if (v6) {
		if (addr_parse_v6(host, sin6) == -1)
			return -1;
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(port);
		*sslen = sizeof(*sin6);
	} else {
		if (inet_pton(AF_INET, host, &sin->sin_addr) != 1)
			return -1;
		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
		*sslen = sizeof(*sin);
	}
	return 0;
}

const char *
addr_host_to_text(const struct sockaddr *sa, char *buf, size_t bufsz)
{
	const struct sockaddr_in *sin = (const struct sockaddr_in *)sa;
	const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)sa;
	char	 a[INET6_ADDRSTRLEN];

	if (bufsz == 0)
		return buf;
	switch (sa->sa_family) {
	case AF_INET:
		if (inet_ntop(AF_INET, &sin->sin_addr, a, sizeof(a)) == NULL)
			break;
		(void)snprintf(buf, bufsz, "%s", a);
		return buf;
	case AF_INET6:
		if (inet_ntop(AF_INET6, &sin6->sin6_addr, a, sizeof(a)) == NULL)
			break;
		if (sin6->sin6_scope_id != 0)
			(void)snprintf(buf, bufsz, "%s%%%u", a,
			    (unsigned int)sin6->sin6_scope_id);
		else
			(void)snprintf(buf, bufsz, "%s", a);
		return buf;
	}
	(void)snprintf(buf, bufsz, "?");
	return buf;
}

const char *
addr_to_text(const struct sockaddr *sa, char *buf, size_t bufsz)
{
	char	 h[ADDR_MAXTEXT];

	if (bufsz == 0)
		return buf;
	addr_host_to_text(sa, h, sizeof(h));
	switch (sa->sa_family) {
	case AF_INET:
		(void)snprintf(buf, bufsz, "%s:%u", h,
		    (unsigned int)addr_port(sa));
		break;
	case AF_INET6:
		(void)snprintf(buf, bufsz, "[%s]:%u", h,
		    (unsigned int)addr_port(sa));
		break;
	default:
		(void)snprintf(buf, bufsz, "%s", h);
		break;
	}
	return buf;
}

uint16_t
addr_port(const struct sockaddr *sa)
{
	switch (sa->sa_family) {
	case AF_INET:
		return ntohs(((const struct sockaddr_in *)sa)->sin_port);
	case AF_INET6:
		return ntohs(((const struct sockaddr_in6 *)sa)->sin6_port);
	}
	return 0;
}

void
addr_set_port(struct sockaddr *sa, uint16_t port)
{
	switch (sa->sa_family) {
	case AF_INET:
		((struct sockaddr_in *)sa)->sin_port = htons(port);
		break;
	case AF_INET6:
		((struct sockaddr_in6 *)sa)->sin6_port = htons(port);
		break;
	}
}

int
addr_equal(const struct sockaddr *a, const struct sockaddr *b)
{
	const struct sockaddr_in *a4, *b4;
	const struct sockaddr_in6 *a6, *b6;

	if (a->sa_family != b->sa_family)
		return 0;
	switch (a->sa_family) {
	case AF_INET:
		a4 = (const struct sockaddr_in *)a;
		b4 = (const struct sockaddr_in *)b;
		return a4->sin_port == b4->sin_port &&
		    a4->sin_addr.s_addr == b4->sin_addr.s_addr;
	case AF_INET6:
		a6 = (const struct sockaddr_in6 *)a;
		b6 = (const struct sockaddr_in6 *)b;
		return a6->sin6_port == b6->sin6_port &&
		    a6->sin6_scope_id == b6->sin6_scope_id &&
		    memcmp(&a6->sin6_addr, &b6->sin6_addr,
		    sizeof(a6->sin6_addr)) == 0;
	}
	return 0;
}

int
addr_is_wildcard(const struct sockaddr *sa)
{
	const struct sockaddr_in6 *sin6;

	switch (sa->sa_family) {
	case AF_INET:
		return ((const struct sockaddr_in *)sa)->sin_addr.s_addr ==
		    htonl(INADDR_ANY);
	case AF_INET6:
		sin6 = (const struct sockaddr_in6 *)sa;
		return memcmp(&sin6->sin6_addr, &in6addr_any,
		    sizeof(in6addr_any)) == 0;
	}
	return 0;
}
