/*
 * Socket addresses as text: "192.0.2.1", "192.0.2.1:53", "2001:db8::1",
 * "[2001:db8::1]:53".  Numeric only; no name lookups.
 */
#ifndef ADDR_H
#define ADDR_H

#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <stdint.h>

#define ADDR_MAXTEXT	64	/* "[ffff:...:ffff%ifname]:65535" */

/*
 * Parse text into *ss with *sslen set; a missing port becomes defport.
 * Returns 0, or -1 for anything that is not a numeric address with an
 * optional port in 0..65535.
 */
int	addr_parse(const char *text, uint16_t defport,
	    struct sockaddr_storage *ss, socklen_t *sslen);

/* "192.0.2.1:53" / "[2001:db8::1]:53" into buf; returns buf. */
const char *addr_to_text(const struct sockaddr *sa, char *buf, size_t bufsz);
/* The address alone, without port or brackets; returns buf. */
const char *addr_host_to_text(const struct sockaddr *sa, char *buf,
	    size_t bufsz);

uint16_t addr_port(const struct sockaddr *sa);
void	addr_set_port(struct sockaddr *sa, uint16_t port);

/* The length of a sockaddr of sa's family; 0 for other families. */
static inline socklen_t
addr_len(const struct sockaddr *sa)
{
	switch (sa->sa_family) {
	case AF_INET:
		return sizeof(struct sockaddr_in);
	case AF_INET6:
		return sizeof(struct sockaddr_in6);
	}
	return 0;
}

/* 1 when family, address and port are equal. */
int	addr_equal(const struct sockaddr *a, const struct sockaddr *b);
/* 1 for 0.0.0.0 and ::. */
int	addr_is_wildcard(const struct sockaddr *sa);

#endif /* ADDR_H */
