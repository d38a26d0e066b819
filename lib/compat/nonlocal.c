/* Non-local binds and port reuse. */
#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <errno.h>

#include "compat.h"

int
compat_nonlocal_bind(int fd, int family)
{
	int	on = 1;

#if defined(IP_FREEBIND)		/* Linux: one option for both families */
	(void)family;
	return setsockopt(fd, IPPROTO_IP, IP_FREEBIND, &on, sizeof(on));
#elif defined(IP_BINDANY)		/* FreeBSD */
	if (family == AF_INET6)
		return setsockopt(fd, IPPROTO_IPV6, IPV6_BINDANY, &on,
		    sizeof(on));
	return setsockopt(fd, IPPROTO_IP, IP_BINDANY, &on, sizeof(on));
#elif defined(SO_BINDANY)		/* OpenBSD */
	(void)family;
	return setsockopt(fd, SOL_SOCKET, SO_BINDANY, &on, sizeof(on));
#else
	(void)fd;
	(void)family;
	(void)on;
	errno = EOPNOTSUPP;
	return -1;
#endif
}

int
compat_reuseport(int fd)
{
	int	on = 1;

#if defined(SO_REUSEPORT_LB)		/* FreeBSD: load-balancing variant */
	return setsockopt(fd, SOL_SOCKET, SO_REUSEPORT_LB, &on, sizeof(on));
#elif defined(SO_REUSEPORT)
	return setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &on, sizeof(on));
#else
	(void)fd;
	(void)on;
	errno = EOPNOTSUPP;
	return -1;
#endif
}
