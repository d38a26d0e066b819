/*
 * Linux capabilities: the names dnsdist's addCapabilitiesToRetain takes
 * (as cap_from_name(3) reads them, any case), and dropping all but
 * those once the sockets are bound, with capget/capset directly rather
 * than through libcap.  A process started with capabilities and no user
 * to switch to (systemd's AmbientCapabilities, or root without -u)
 * keeps only what the configuration asks for.  Other systems have no
 * capabilities: nothing to name or drop.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#if defined(__linux__)
#include <sys/syscall.h>
#include <linux/capability.h>
#endif

#include "compat.h"

#if defined(__linux__)
/* By number, as <linux/capability.h> numbers them. */
static const char *const cap_names[] = {
	"chown", "dac_override", "dac_read_search", "fowner", "fsetid",
	"kill", "setgid", "setuid", "setpcap", "linux_immutable",
	"net_bind_service", "net_broadcast", "net_admin", "net_raw",
	"ipc_lock", "ipc_owner", "sys_module", "sys_rawio", "sys_chroot",
	"sys_ptrace", "sys_pacct", "sys_admin", "sys_boot", "sys_nice",
	"sys_resource", "sys_time", "sys_tty_config", "mknod", "lease",
	"audit_write", "audit_control", "setfcap", "mac_override",
	"mac_admin", "syslog", "wake_alarm", "block_suspend", "audit_read",
	"perfmon", "bpf", "checkpoint_restore"
};
#define NCAPS	(int)(sizeof(cap_names) / sizeof(cap_names[0]))

int
compat_cap_from_name(const char *name)
{
	int	i;

	if (strncasecmp(name, "cap_", 4) == 0)
		name += 4;
	for (i = 0; i < NCAPS; i++)
		if (strcasecmp(name, cap_names[i]) == 0)
			return i;
	return -1;
}

static int
caps_io(bool set, struct __user_cap_data_struct d[2])
{
	struct __user_cap_header_struct	h;

	h.version = _LINUX_CAPABILITY_VERSION_3;
	h.pid = 0;
	return (int)syscall(set ? SYS_capset : SYS_capget, &h, d);
}

int
compat_caps_drop(uint64_t keep, char *had, size_t hadlen)
{
	struct __user_cap_data_struct	d[2];
	uint64_t			perm;
	size_t				off = 0;
	int				i, n;

	if (hadlen > 0)
		had[0] = '\0';
	if (caps_io(false, d) == -1)
		return -1;
	perm = (uint64_t)d[1].permitted << 32 | d[0].permitted;
	if ((perm & ~keep) == 0)
		return 0;
	for (i = 0; hadlen > 0 && i < 64; i++) {
		if (!(perm & ~keep & (uint64_t)1 << i))
			continue;
		n = snprintf(had + off, hadlen - off, "%s%s%s",
		    off > 0 ? " " : "", "cap_",
		    i < NCAPS ? cap_names[i] : "?");
		if (n < 0 || (size_t)n >= hadlen - off)
			break;
		off += (size_t)n;
	}
	perm &= keep;
	for (i = 0; i < 2; i++) {
		d[i].permitted = (uint32_t)(perm >> (32 * i));
		d[i].effective &= d[i].permitted;
		d[i].inheritable &= d[i].permitted;
	}
	/* The ambient set goes with what leaves the other two. */
	return caps_io(true, d);
}
#else
int
compat_cap_from_name(const char *name)
{
	(void)name;
	return -1;
}

int
compat_caps_drop(uint64_t keep, char *had, size_t hadlen)
{
	(void)keep;
	if (hadlen > 0)
		had[0] = '\0';
	return 0;
}
#endif

bool
compat_caps_exist(void)
{
#if defined(__linux__)
	return true;
#else
	return false;
#endif
}
