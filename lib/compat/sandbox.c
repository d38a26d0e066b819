/* pledge(2) and unveil(2) where they exist. */
#include <unistd.h>

#include "compat.h"

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
