/*
 * The link-layer (MAC) address of a neighbour, from the kernel's ARP and
 * NDP table: a netlink dump on Linux, as dnsdist reads it.  Elsewhere the
 * lookup is refused, so that a configuration says so at once.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#if defined(__linux__)
#include <linux/neighbour.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#endif

#include "compat.h"

#if defined(__linux__)
/* The entry nh describes, when it is sa's with a 6-byte address. */
static int
neigh_match(struct nlmsghdr *nh, const struct sockaddr *sa, uint8_t mac[6])
{
	struct ndmsg		*nd = NLMSG_DATA(nh);
	struct rtattr		*rta;
	const void		*want;
	size_t			 alen;
	int			 left, dst = 0, ll = 0;

	if (nh->nlmsg_type != RTM_NEWNEIGH || nd->ndm_family != sa->sa_family ||
	    (nd->ndm_state & (NUD_INCOMPLETE | NUD_FAILED)))
		return 0;
	if (sa->sa_family == AF_INET) {
		want = &((const struct sockaddr_in *)sa)->sin_addr;
		alen = sizeof(struct in_addr);
	} else {
		want = &((const struct sockaddr_in6 *)sa)->sin6_addr;
		alen = sizeof(struct in6_addr);
	}
	left = (int)nh->nlmsg_len - (int)NLMSG_LENGTH(sizeof(*nd));
	for (rta = (struct rtattr *)((char *)nd + NLMSG_ALIGN(sizeof(*nd)));
	    RTA_OK(rta, left);
	    rta = RTA_NEXT(rta, left)) {
		if (rta->rta_type == NDA_DST &&
		    RTA_PAYLOAD(rta) == alen &&
		    memcmp(RTA_DATA(rta), want, alen) == 0)
			dst = 1;
		else if (rta->rta_type == NDA_LLADDR && RTA_PAYLOAD(rta) == 6) {
			memcpy(mac, RTA_DATA(rta), 6);
			ll = 1;
		}
	}
	return dst && ll;
}

int
compat_mac_address(const struct sockaddr *sa, uint8_t mac[6])
{
	struct {
		struct nlmsghdr	nh;
		struct ndmsg	nd;
	}			 req;
	union {
		struct nlmsghdr	nh;
		char		buf[8192];
	}			 u;
	struct nlmsghdr		*nh;
	ssize_t			 n;
	int			 fd, found = 0, done = 0, e = ENOENT;

	if (sa == NULL || (sa->sa_family != AF_INET &&
	    sa->sa_family != AF_INET6)) {
		errno = EINVAL;
		return -1;
	}
	if ((fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC,
	    NETLINK_ROUTE)) == -1)
		return -1;
	memset(&req, 0, sizeof(req));
	req.nh.nlmsg_len = NLMSG_LENGTH(sizeof(struct ndmsg));
	req.nh.nlmsg_type = RTM_GETNEIGH;
	req.nh.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	req.nd.ndm_family = (uint8_t)sa->sa_family;
	if (send(fd, &req, sizeof(req), 0) != (ssize_t)sizeof(req)) {
		e = errno;
		done = 1;
	}
	/* The whole dump is read, so that nothing is left on the socket. */
	while (!done) {
		if ((n = recv(fd, u.buf, sizeof(u.buf), 0)) <= 0) {
			if (n == -1 && errno == EINTR)
				continue;
			e = n == 0 ? EIO : errno;
			break;
		}
		for (nh = &u.nh; NLMSG_OK(nh, (unsigned int)n);
		    nh = NLMSG_NEXT(nh, n)) {
			if (nh->nlmsg_type == NLMSG_DONE) {
				done = 1;
				break;
			}
			if (nh->nlmsg_type == NLMSG_ERROR) {
				e = EIO;
				done = 1;
				break;
			}
			if (!found && neigh_match(nh, sa, mac))
				found = 1;
		}
	}
	close(fd);
	if (found)
		return 0;
	errno = e;
	return -1;
}
#else
int
compat_mac_address(const struct sockaddr *sa, uint8_t mac[6])
{
	(void)sa;
	(void)mac;
	errno = EOPNOTSUPP;
	return -1;
}
#endif
