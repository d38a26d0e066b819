/*
 * Non-local binds, binds to an interface or without a port, TCP Fast Open,
 * port reuse and socket buffer sizes.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <errno.h>
#include <stdbool.h>
#include <string.h>

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
compat_bind_device(int fd, const char *ifname)
{
#if defined(SO_BINDTODEVICE)
	return setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, ifname,
	    (socklen_t)strlen(ifname));
#else
	(void)fd;
	(void)ifname;
	errno = EOPNOTSUPP;
	return -1;
#endif
}

int
compat_fastopen_connect(int fd)
{
#if defined(TCP_FASTOPEN_CONNECT)
	int	on = 1;

	return setsockopt(fd, IPPROTO_TCP, TCP_FASTOPEN_CONNECT, &on,
	    sizeof(on));
#else
	(void)fd;
	errno = EOPNOTSUPP;
	return -1;
#endif
}

int
compat_fastopen_listen(int fd, int qlen, const uint8_t *key)
{
#if defined(TCP_FASTOPEN)
	if (setsockopt(fd, IPPROTO_TCP, TCP_FASTOPEN, &qlen,
	    sizeof(qlen)) == -1)
		return -1;
	if (key == NULL)
		return 0;
#if defined(TCP_FASTOPEN_KEY)
	return setsockopt(fd, IPPROTO_TCP, TCP_FASTOPEN_KEY, key, 16);
#endif
#endif
	(void)fd;
	(void)qlen;
	(void)key;
	errno = EOPNOTSUPP;
	return -1;
}

void
compat_bind_noport(int fd)
{
#if defined(IP_BIND_ADDRESS_NO_PORT)
	int	on = 1;

	(void)setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &on,
	    sizeof(on));
#else
	(void)fd;
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

bool
compat_reuseport_spreads(void)
{
#if defined(SO_REUSEPORT_LB) || defined(__linux__)
	return true;
#else
	return false;
#endif
}

static int
compat_setbuf(int fd, int opt, int force, int size)
{
	if (size <= 0)
		return 0;
	if (force != 0 && setsockopt(fd, SOL_SOCKET, force, &size,
	    sizeof(size)) == 0)
		return 0;
	return setsockopt(fd, SOL_SOCKET, opt, &size, sizeof(size));
}

int
compat_bufsize(int fd, int rcvbuf, int sndbuf)
{
#if defined(SO_RCVBUFFORCE)		/* Linux, CAP_NET_ADMIN */
	int	rforce = SO_RCVBUFFORCE, sforce = SO_SNDBUFFORCE;
#else
	int	rforce = 0, sforce = 0;
#endif
	int	rc = 0;

	if (compat_setbuf(fd, SO_RCVBUF, rforce, rcvbuf) == -1)
		rc = -1;
	if (compat_setbuf(fd, SO_SNDBUF, sforce, sndbuf) == -1)
		rc = -1;
	return rc;
}
