/*
 * What differs between Linux and the BSDs, behind one interface: non-local
 * binds, the destination address of a datagram and the source of its
 * answer, port reuse, batched datagram I/O, pledge/unveil.  No other file
 * tests the operating system.
 */
#ifndef COMPAT_H
#define COMPAT_H

#include <sys/types.h>
#include <sys/socket.h>
#include <sys/mman.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * A hint that p (len bytes, aligned to COMPAT_HUGEPAGE) is read at random
 * and had better be mapped with large pages: Linux's transparent huge
 * pages in their "madvise" mode.  Nothing elsewhere.
 */
#define COMPAT_HUGEPAGE	(2 * 1024 * 1024)
static inline void
compat_hugepages(void *p, size_t len)
{
#ifdef MADV_HUGEPAGE
	(void)madvise(p, len, MADV_HUGEPAGE);
#else
	(void)p;
	(void)len;
#endif
}

/* Bind addresses the host does not have (yet).  0 or -1 with errno. */
int	compat_nonlocal_bind(int fd, int family);
/*
 * Send fd's packets out of the interface named ifname alone (Linux's
 * SO_BINDTODEVICE).  0 or -1 with errno; EOPNOTSUPP where the system
 * cannot, so that a configuration can say so at once (fd -1 then gives
 * EBADF where it can).
 */
int	compat_bind_device(int fd, const char *ifname);
/*
 * Have connect() on TCP socket fd use TCP Fast Open: the first data goes
 * in the SYN once the server gave a cookie (Linux's
 * TCP_FASTOPEN_CONNECT).  0 or -1 with errno; EOPNOTSUPP where the
 * system cannot (fd -1 then gives EBADF where it can).
 */
int	compat_fastopen_connect(int fd);
/*
 * Let listening TCP socket fd take data in the SYN, with up to qlen
 * such connections pending (TCP_FASTOPEN), and, when key is not NULL,
 * its 16 bytes as the key of the cookies it gives (Linux's
 * TCP_FASTOPEN_KEY), so that servers sharing an address share cookies.
 * 0 or -1 with errno; EOPNOTSUPP where the system cannot.
 */
int	compat_fastopen_listen(int fd, int qlen, const uint8_t *key);
/*
 * The link-layer address of neighbour sa (an IPv4 or IPv6 address), from
 * the kernel's ARP and NDP tables, into mac.  0, or -1 with errno: ENOENT
 * when the table has none, EOPNOTSUPP where the system cannot look
 * (Linux can; sa NULL then gives EINVAL).
 */
int	compat_mac_address(const struct sockaddr *sa, uint8_t mac[6]);
/*
 * Bind a TCP socket to an address without taking a port until connect()
 * (Linux's IP_BIND_ADDRESS_NO_PORT), so that many connections from one
 * source address do not use up its ports; nothing elsewhere.
 */
void	compat_bind_noport(int fd);
/*
 * Several sockets on one address and port.  Linux (SO_REUSEPORT) and
 * FreeBSD (SO_REUSEPORT_LB) spread the datagrams and connections among
 * them by a hash of the peer; OpenBSD's SO_REUSEPORT only lets them bind,
 * and one socket gets the unicast traffic.
 */
int	compat_reuseport(int fd);
/*
 * Whether the system spreads a reused port's datagrams among its sockets
 * (Linux, FreeBSD); where it does not (OpenBSD), loops that would each
 * have one share one socket instead.
 */
bool	compat_reuseport_spreads(void);
/*
 * Socket buffer sizes: past the system's maximum where the system lets a
 * privileged process do so, else as large as the maximum allows.
 */
int	compat_bufsize(int fd, int rcvbuf, int sndbuf);

/* The address a datagram was sent to, and the interface it came in on. */
struct compat_dst {
	int		cd_family;	/* 0 when unknown */
	unsigned int	cd_ifindex;
	union {
		struct in_addr	v4;
		struct in6_addr	v6;
	}		cd_addr;
};

#define COMPAT_CMSG_SPACE	64	/* room for one destination message */

/* Ask for the destination address of each datagram on fd. */
int	compat_pktinfo_enable(int fd, int family);
/* The destination of a received datagram; cd_family 0 when absent. */
void	compat_pktinfo_get(const struct msghdr *msg, struct compat_dst *dst);
/*
 * Set msg's control data (in cbuf, COMPAT_CMSG_SPACE bytes) so that the
 * datagram leaves from dst.  With no destination, msg gets no control data.
 */
void	compat_pktinfo_set(struct msghdr *msg, void *cbuf,
	    const struct compat_dst *dst);

/* Batched datagram I/O; the same layout as Linux's struct mmsghdr. */
struct compat_mmsg {
	struct msghdr	cm_hdr;
	unsigned int	cm_len;
};

/*
 * Receive up to n datagrams without blocking; returns how many (0 when
 * none are waiting), or -1 with errno.  Where the system has no
 * recvmmsg, or with COMPAT_NO_MMSG, a loop of recvmsg.
 */
int	compat_recvmmsg(int fd, struct compat_mmsg *msgs, unsigned int n);
/* Send n datagrams; returns how many went, or -1 with errno. */
int	compat_sendmmsg(int fd, struct compat_mmsg *msgs, unsigned int n);
/* "recvmmsg" or "recvmsg loop", for the start-up log. */
const char *compat_mmsg_kind(void);

/* poll(2), without the cost of a cancellation point where there is one. */
struct pollfd;
int	compat_poll(struct pollfd *fds, unsigned long n, int timeout);

/*
 * Linux capabilities (lib/compat/caps.c).  Whether the system has them;
 * the number of one named as cap_from_name(3) reads names
 * ("CAP_NET_ADMIN", "net_admin", any case), or -1; and, once the sockets
 * are bound, keep of the process's capabilities (a mask of 1 << number)
 * and drop the others from every set, listing those dropped in had
 * (empty when none were).  0, or -1 with errno.  Nothing elsewhere.
 */
bool	compat_caps_exist(void);
int	compat_cap_from_name(const char *name);
int	compat_caps_drop(uint64_t keep, char *had, size_t hadlen);

/* Name the calling thread for ps -T and top -H (at most 15 bytes). */
void	compat_thread_name(const char *name);
/*
 * Let the calling thread run only on the CPUs whose bits are set in cpus
 * (COMPAT_MAXCPUS bits, CPU n in bit n % 64 of word n / 64).  0 or -1
 * with errno; EOPNOTSUPP where the system cannot, which cpus NULL asks
 * without changing anything.
 */
#define COMPAT_MAXCPUS	1024
int	compat_thread_cpus(const uint64_t *cpus);

/*
 * The user the daemon runs as when started as root without -u: _dnsdist
 * on the BSDs, dnsdist elsewhere.
 */
const char *compat_default_user(void);
/*
 * pledge(2) and unveil(2) on OpenBSD, no-ops elsewhere.  0 or -1.
 * compat_unveil(NULL, NULL) locks the list of unveiled paths.
 */
int	compat_pledge(const char *promises);
int	compat_unveil(const char *path, const char *perms);

#endif /* COMPAT_H */
