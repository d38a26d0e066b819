/*
 * Batched datagram I/O: recvmmsg/sendmmsg where the system has them (one
 * system call for a batch), a loop of recvmsg/sendmsg elsewhere or when
 * built with COMPAT_NO_MMSG.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <errno.h>

#include "compat.h"

#if !defined(COMPAT_NO_MMSG) && (defined(__linux__) || defined(__FreeBSD__))
#define HAVE_MMSG	1
#endif

/*
 * On Linux the calls go straight to the kernel: the C library's wrappers
 * are cancellation points, which costs two atomic operations a call, and
 * no thread here is ever cancelled.
 */
#if defined(HAVE_MMSG) && defined(__linux__)
#include <sys/syscall.h>
#include <unistd.h>
#define sys_recvmmsg(fd, m, n, fl)	(int)syscall(SYS_recvmmsg, (fd), (m), \
					    (n), (fl), NULL)
#define sys_sendmmsg(fd, m, n, fl)	(int)syscall(SYS_sendmmsg, (fd), (m), \
					    (n), (fl))
#elif defined(HAVE_MMSG)
#define sys_recvmmsg(fd, m, n, fl)	recvmmsg((fd), (m), (n), (fl), NULL)
#define sys_sendmmsg(fd, m, n, fl)	sendmmsg((fd), (m), (n), (fl))
#endif

#ifdef HAVE_MMSG
/* Our struct is laid out like the system's. */
_Static_assert(sizeof(struct compat_mmsg) == sizeof(struct mmsghdr),
    "struct compat_mmsg differs from struct mmsghdr");
#endif

int
compat_recvmmsg(int fd, struct compat_mmsg *msgs, unsigned int n)
{
	int		r;
#ifdef HAVE_MMSG
	r = sys_recvmmsg(fd, (struct mmsghdr *)msgs, n, MSG_DONTWAIT);
	if (r == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
		return 0;
	return r;
#else
	unsigned int	i;
	ssize_t		len;

	for (i = 0; i < n; i++) {
		len = recvmsg(fd, &msgs[i].cm_hdr, MSG_DONTWAIT);
		if (len == -1) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				break;
			return i > 0 ? (int)i : -1;
		}
		msgs[i].cm_len = (unsigned int)len;
	}
	r = (int)i;
	return r;
#endif
}

int
compat_sendmmsg(int fd, struct compat_mmsg *msgs, unsigned int n)
{
#ifdef HAVE_MMSG
	return sys_sendmmsg(fd, (struct mmsghdr *)msgs, n, MSG_DONTWAIT);
#else
	unsigned int	i;
	ssize_t		len;

	for (i = 0; i < n; i++) {
		len = sendmsg(fd, &msgs[i].cm_hdr, MSG_DONTWAIT);
		if (len == -1)
			return i > 0 ? (int)i : -1;
		msgs[i].cm_len = (unsigned int)len;
	}
	return (int)i;
#endif
}

const char *
compat_mmsg_kind(void)
{
#ifdef HAVE_MMSG
	return "recvmmsg/sendmmsg";
#else
	return "recvmsg/sendmsg loop";
#endif
}
