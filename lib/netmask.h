/*
 * Netmasks and netmask groups, for ACLs and client rules.  A group matches
 * an address when its longest matching netmask is not negated ("!").
 */
#ifndef NETMASK_H
#define NETMASK_H

#include <sys/types.h>
#include <sys/socket.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define NETMASK_MAXTEXT	64

struct netmask {
	int		nm_family;	/* AF_INET or AF_INET6 */
	uint8_t		nm_addr[16];	/* network, host bits cleared */
	uint8_t		nm_bits;	/* 0..32 or 0..128 */
	bool		nm_negated;	/* "!192.0.2.0/24" in a group */
};

/*
 * "192.0.2.0/24", "2001:db8::/32", "192.0.2.1" (a /32), "::1" (a /128),
 * optionally preceded by '!'.  Host bits are cleared.  Returns 0 or -1.
 */
int	netmask_parse(const char *text, struct netmask *nm);
/* "192.0.2.0/24" (with '!' when negated); returns buf. */
const char *netmask_to_text(const struct netmask *nm, char *buf,
	    size_t bufsz);
/* 1 when sa (AF_INET or AF_INET6; v4-mapped v6 matches v4 masks) is in nm. */
int	netmask_match(const struct netmask *nm, const struct sockaddr *sa);
/* The network address of nm as a socket address (port 0). */
void	netmask_network(const struct netmask *nm, struct sockaddr_storage *ss);
/* Clear the bits past the prefix in an address of alen bytes. */
void	netmask_clear_host(uint8_t *a, size_t alen, unsigned int bits);
/*
 * The netmask of the first v4bits (IPv4) or v6bits (IPv6) of sa's address,
 * the lengths brought within bounds; -1 for another family.
 */
int	netmask_from_sockaddr(const struct sockaddr *sa, int v4bits,
	    int v6bits, struct netmask *nm);

struct netmask_group {
	struct netmask	*ng_masks;
	size_t		 ng_count;
	size_t		 ng_cap;
};

void	netmask_group_init(struct netmask_group *ng);
/* Frees the masks; the group is empty and usable afterwards. */
void	netmask_group_clear(struct netmask_group *ng);
/* Add one mask, ignoring an exact duplicate.  0, or -1 on allocation failure. */
int	netmask_group_add(struct netmask_group *ng, const struct netmask *nm);
/* Remove the mask of nm's network, negated or not; how many went. */
int	netmask_group_del(struct netmask_group *ng, const struct netmask *nm);
/* Parse and add; "a, b c" lists separated by commas or blanks.  0 or -1. */
int	netmask_group_add_text(struct netmask_group *ng, const char *text);
/* 1 when the longest mask matching sa exists and is not negated. */
int	netmask_group_match(const struct netmask_group *ng,
	    const struct sockaddr *sa);
/* Replace dst's contents with a copy of src.  0 or -1. */
int	netmask_group_copy(struct netmask_group *dst,
	    const struct netmask_group *src);

#endif /* NETMASK_H */
