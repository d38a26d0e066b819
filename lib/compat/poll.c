/*
 * poll(2) for the event loop.  On Linux it goes straight to the kernel
 * (ppoll without a signal mask): the C library's wrapper is a cancellation
 * point, which costs two atomic operations a call, and no thread here is
 * ever cancelled.  Elsewhere, poll itself.
 */
#include <poll.h>
#include <time.h>

#include "compat.h"

#if defined(__linux__)
#include <sys/syscall.h>
#include <unistd.h>

int
compat_poll(struct pollfd *fds, unsigned long n, int timeout)
{
	struct timespec	ts;

	if (timeout < 0)
		return (int)syscall(SYS_ppoll, fds, n, NULL, NULL, 0);
	ts.tv_sec = timeout / 1000;
	ts.tv_nsec = (long)(timeout % 1000) * 1000000L;
	return (int)syscall(SYS_ppoll, fds, n, &ts, NULL, 0);
}

#else

int
compat_poll(struct pollfd *fds, unsigned long n, int timeout)
{
	return poll(fds, (nfds_t)n, timeout);
}

#endif
