/*
 * The system's counters that dnsdist shows beside its own: cpu-iowait and
 * cpu-steal from /proc/stat (in USER_HZ ticks, for the whole system), and
 * the UDP errors of /proc/net/snmp and /proc/net/snmp6.  The files are
 * opened at start, before a chroot, and read again from their start for
 * each value.  Where a file is missing (the BSDs) its statistics are left
 * out rather than shown as zeros.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dnsdist.h"

enum sys_file { SF_STAT, SF_SNMP, SF_SNMP6, SF_NETSTAT, SF_COUNT };

static const char *const sys_paths[SF_COUNT] = {
	"/proc/stat", "/proc/net/snmp", "/proc/net/snmp6", "/proc/net/netstat"
};
static int	sys_fds[SF_COUNT] = { -1, -1, -1, -1 };

static const struct sys_stat {
	const char	*ss_name;
	enum sys_file	 ss_file;
	const char	*ss_key;	/* the column or the line */
	int		 ss_field;	/* SF_STAT: after "cpu" */
} sys_stats[] = {
	{ "cpu-iowait", SF_STAT, "cpu", 5 },
	{ "cpu-steal", SF_STAT, "cpu", 8 },
	{ "udp-in-errors", SF_SNMP, "InErrors", 0 },
	{ "udp-noport-errors", SF_SNMP, "NoPorts", 0 },
	{ "udp-recvbuf-errors", SF_SNMP, "RcvbufErrors", 0 },
	{ "udp-sndbuf-errors", SF_SNMP, "SndbufErrors", 0 },
	{ "udp-in-csum-errors", SF_SNMP, "InCsumErrors", 0 },
	{ "udp6-in-errors", SF_SNMP6, "Udp6InErrors", 0 },
	{ "udp6-noport-errors", SF_SNMP6, "Udp6NoPorts", 0 },
	{ "udp6-recvbuf-errors", SF_SNMP6, "Udp6RcvbufErrors", 0 },
	{ "udp6-sndbuf-errors", SF_SNMP6, "Udp6SndbufErrors", 0 },
	{ "udp6-in-csum-errors", SF_SNMP6, "Udp6InCsumErrors", 0 },
	{ "tcp-listen-overflows", SF_NETSTAT, "ListenOverflows", 0 },
};

/* The n-th blank-separated word of line (0 is the first), or NULL. */
static const char *
word(const char *line, int n)
{
	for (;;) {
		line += strspn(line, " \t");
		if (*line == '\0' || *line == '\n')
			return NULL;
		if (n-- == 0)
			return line;
		line += strcspn(line, " \t\n");
	}
}

static const char *
line_after(const char *text, const char *start)
{
	const char	*p = text;
	size_t		 len = strlen(start);

	while (p != NULL) {
		if (strncmp(p, start, len) == 0)
			return p;
		if ((p = strchr(p, '\n')) != NULL)
			p++;
	}
	return NULL;
}

static double
sys_value(const void *arg)
{
	const struct sys_stat	*ss = arg;
	char			 buf[16384];
	const char		*head, *vals, *w, *pfx;
	ssize_t			 n;
	int			 i;

	if ((n = pread(sys_fds[ss->ss_file], buf, sizeof(buf) - 1, 0)) <= 0)
		return 0;
	buf[n] = '\0';
	switch (ss->ss_file) {
	case SF_STAT:
		if ((head = line_after(buf, "cpu ")) == NULL ||
		    (w = word(head, ss->ss_field)) == NULL)
			return 0;
		return strtod(w, NULL);
	case SF_SNMP:
	case SF_NETSTAT:
		/* "Udp: names...", then "Udp: values..."; TcpExt: alike. */
		pfx = ss->ss_file == SF_SNMP ? "Udp: " : "TcpExt: ";
		if ((head = line_after(buf, pfx)) == NULL ||
		    (vals = line_after(strchr(head, '\n'), pfx)) == NULL)
			return 0;
		for (i = 1; (w = word(head, i)) != NULL; i++)
			if (strncmp(w, ss->ss_key, strlen(ss->ss_key)) == 0 &&
			    strchr(" \t\n", w[strlen(ss->ss_key)]) != NULL)
				break;
		if (w == NULL || (w = word(vals, i)) == NULL)
			return 0;
		return strtod(w, NULL);
	default:
		for (head = buf; (head = line_after(head, ss->ss_key)) != NULL;
		    head++)
			if (strchr(" \t", head[strlen(ss->ss_key)]) != NULL)
				return (w = word(head, 1)) != NULL ?
				    strtod(w, NULL) : 0;
		return 0;
	}
}

void
sysstats_init(void)
{
	size_t	i;
	int	f;

	for (f = 0; f < SF_COUNT; f++)
		if (sys_fds[f] == -1)
			sys_fds[f] = open(sys_paths[f], O_RDONLY | O_CLOEXEC);
	for (i = 0; i < sizeof(sys_stats) / sizeof(sys_stats[0]); i++)
		if (sys_fds[sys_stats[i].ss_file] != -1)
			stats_set_gauge_arg(sys_stats[i].ss_name, sys_value,
			    &sys_stats[i]);
}
