/*
 * Threads: a thread's name, as ps -T, top -H and /proc/PID/task/TID/comm
 * show it (pthread_setname_np on Linux and FreeBSD, pthread_set_name_np
 * on OpenBSD; names longer than 15 bytes are cut), and the CPUs it may
 * run on (pthread_setaffinity_np on Linux and FreeBSD; OpenBSD has no
 * such call).
 */
#include <errno.h>
#include <pthread.h>
#include <string.h>
#if defined(__OpenBSD__) || defined(__FreeBSD__)
#include <pthread_np.h>
#endif
#if defined(__FreeBSD__)
#include <sys/param.h>
#include <sys/cpuset.h>
typedef cpuset_t	compat_cpuset;
#elif defined(__linux__)
#include <sched.h>
typedef cpu_set_t	compat_cpuset;
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

int
compat_thread_cpus(const uint64_t *cpus)
{
#if defined(__linux__) || defined(__FreeBSD__)
	compat_cpuset	set;
	unsigned int	i;

	if (cpus == NULL)
		return 0;
	CPU_ZERO(&set);
	for (i = 0; i < COMPAT_MAXCPUS && i < CPU_SETSIZE; i++)
		if (cpus[i / 64] & (1ULL << (i % 64)))
			CPU_SET(i, &set);
	if ((errno = pthread_setaffinity_np(pthread_self(), sizeof(set),
	    &set)) != 0)
		return -1;
	return 0;
#else
	(void)cpus;
	errno = EOPNOTSUPP;
	return -1;
#endif
}
