/*
 * Destination addresses of datagrams received on wildcard sockets, and the
 * source address of the answers: IP_PKTINFO / IPV6_PKTINFO on Linux,
 * IP_RECVDSTADDR / IP_SENDSRCADDR on the BSDs.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <stdint.h>
#include <string.h>

#include "compat.h"

int
compat_pktinfo_enable(int fd, int family)
{
	int	on = 1;

	if (family == AF_INET6)
		return setsockopt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &on,
		    sizeof(on));
#if defined(IP_PKTINFO)
	return setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &on, sizeof(on));
#else
	return setsockopt(fd, IPPROTO_IP, IP_RECVDSTADDR, &on, sizeof(on));
#endif
}

void
compat_pktinfo_get(const struct msghdr *msg, struct compat_dst *dst)
{
	struct cmsghdr	*cm;

	memset(dst, 0, sizeof(*dst));
	for (cm = CMSG_FIRSTHDR(msg); cm != NULL;
	    cm = CMSG_NXTHDR((struct msghdr *)(uintptr_t)msg, cm)) {
		if (cm->cmsg_level == IPPROTO_IPV6 &&
		    cm->cmsg_type == IPV6_PKTINFO) {
			struct in6_pktinfo pi;

			memcpy(&pi, CMSG_DATA(cm), sizeof(pi));
			dst->cd_family = AF_INET6;
			dst->cd_addr.v6 = pi.ipi6_addr;
			dst->cd_ifindex = pi.ipi6_ifindex;
			return;
		}
#if defined(IP_PKTINFO)
		if (cm->cmsg_level == IPPROTO_IP &&
		    cm->cmsg_type == IP_PKTINFO) {
			struct in_pktinfo pi;

			memcpy(&pi, CMSG_DATA(cm), sizeof(pi));
			dst->cd_family = AF_INET;
			dst->cd_addr.v4 = pi.ipi_addr;
			dst->cd_ifindex = (unsigned int)pi.ipi_ifindex;
			return;
		}
#else
		if (cm->cmsg_level == IPPROTO_IP &&
		    cm->cmsg_type == IP_RECVDSTADDR) {
			dst->cd_family = AF_INET;
			memcpy(&dst->cd_addr.v4, CMSG_DATA(cm),
			    sizeof(struct in_addr));
			return;
		}
#endif
	}
}

void
compat_pktinfo_set(struct msghdr *msg, void *cbuf, const struct compat_dst *dst)
{
	struct cmsghdr	*cm;

	msg->msg_control = NULL;
	msg->msg_controllen = 0;
	if (dst == NULL || dst->cd_family == 0)
		return;
	memset(cbuf, 0, COMPAT_CMSG_SPACE);
	msg->msg_control = cbuf;
	if (dst->cd_family == AF_INET6) {
		struct in6_pktinfo pi;

		memset(&pi, 0, sizeof(pi));
		pi.ipi6_addr = dst->cd_addr.v6;
		pi.ipi6_ifindex = dst->cd_ifindex;
		msg->msg_controllen = CMSG_SPACE(sizeof(pi));
		cm = CMSG_FIRSTHDR(msg);
		cm->cmsg_level = IPPROTO_IPV6;
		cm->cmsg_type = IPV6_PKTINFO;
		cm->cmsg_len = CMSG_LEN(sizeof(pi));
		memcpy(CMSG_DATA(cm), &pi, sizeof(pi));
		return;
	}
#if defined(IP_PKTINFO)
	{
		struct in_pktinfo pi;

		/* The source address only: the routing picks the interface. */
		memset(&pi, 0, sizeof(pi));
		pi.ipi_spec_dst = dst->cd_addr.v4;
		msg->msg_controllen = CMSG_SPACE(sizeof(pi));
		cm = CMSG_FIRSTHDR(msg);
		cm->cmsg_level = IPPROTO_IP;
		cm->cmsg_type = IP_PKTINFO;
		cm->cmsg_len = CMSG_LEN(sizeof(pi));
		memcpy(CMSG_DATA(cm), &pi, sizeof(pi));
	}
#else
	msg->msg_controllen = CMSG_SPACE(sizeof(struct in_addr));
	cm = CMSG_FIRSTHDR(msg);
	cm->cmsg_level = IPPROTO_IP;
	cm->cmsg_type = IP_SENDSRCADDR;
	cm->cmsg_len = CMSG_LEN(sizeof(struct in_addr));
	memcpy(CMSG_DATA(cm), &dst->cd_addr.v4, sizeof(struct in_addr));
#endif
}
