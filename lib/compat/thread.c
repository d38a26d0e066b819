/*
 * A thread's name, as ps -T, top -H and /proc/PID/task/TID/comm show it:
 * pthread_setname_np on Linux and FreeBSD, pthread_set_name_np on
 * OpenBSD.  Names longer than 15 bytes are cut.
 */
#include <pthread.h>
#include <string.h>
#if defined(__OpenBSD__) || defined(__FreeBSD__)
#include <pthread_np.h>
#endif

#include "compat.h"

void
compat_thread_name(const char *name)
{
	char	buf[16];

	strlcpy(buf, name, sizeof(buf));
#if defined(__OpenBSD__)
	pthread_set_name_np(pthread_self(), buf);
#elif defined(__linux__) || defined(__FreeBSD__)
	(void)pthread_setname_np(pthread_self(), buf);
#else
	(void)buf;
#endif
}
