/*
 * What a daemon does to give up what it no longer needs: the unprivileged
 * user it runs as by default, and pledge(2) and unveil(2) where they exist.
 */
#include <unistd.h>

#include "compat.h"

const char *
compat_default_user(void)
{
#if defined(__OpenBSD__) || defined(__FreeBSD__) || defined(__NetBSD__)
	return "_dnsdist";	/* the BSDs' convention for daemon users */
#else
	return "dnsdist";
#endif
}

int
compat_pledge(const char *promises)
{
#if defined(__OpenBSD__)
	return pledge(promises, NULL);
#else
	(void)promises;
	return 0;
#endif
}

int
compat_unveil(const char *path, const char *perms)
{
#if defined(__OpenBSD__)
	return unveil(path, perms);
#else
	(void)path;
	(void)perms;
	return 0;
#endif
}
