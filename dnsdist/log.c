/*
 * Logging, OpenBSD style: to syslog (facility daemon, ident "dnsdist")
 * unless disabled, and on standard output, as dnsdist prints them, until
 * the daemon detaches.
 */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "dnsdist.h"

static bool	log_syslog;
/* setVerboseLogDestination(): where debug messages go instead. */
static FILE		*verbose_file;
static pthread_mutex_t	 verbose_lock = PTHREAD_MUTEX_INITIALIZER;
static bool	log_stdout = true;
static bool	log_verbose;

void
log_init(bool to_syslog, bool verbose)
{
	log_syslog = to_syslog;
	log_verbose = verbose;
	/* LOG_NDELAY: the socket stays usable after a chroot. */
	if (to_syslog)
		openlog("dnsdist", LOG_PID | LOG_NDELAY, LOG_DAEMON);
}

/* Standard output is about to become /dev/null: syslog alone from now. */
void
log_detach(void)
{
	log_stdout = false;
}

static void __attribute__((__format__(__printf__, 2, 0)))
vlog(int pri, const char *fmt, va_list ap, const char *suffix)
{
	char	msg[1024];

	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (log_syslog)
		syslog(pri | atomic_load(&settings_syslogfacility),
		    "%s%s%s", msg, suffix ? ": " : "",
		    suffix ? suffix : "");
	if (!log_stdout)
		return;
	flockfile(stdout);
	fprintf(stdout, "%s%s%s\n", msg, suffix ? ": " : "",
	    suffix ? suffix : "");
	fflush(stdout);
	funlockfile(stdout);
}

void
log_warn(const char *fmt, ...)
{
	va_list	ap;
	int	saved = errno;

	va_start(ap, fmt);
	vlog(LOG_WARNING, fmt, ap, strerror(saved));
	va_end(ap);
	errno = saved;
}

void
log_warnx(const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	vlog(LOG_WARNING, fmt, ap, NULL);
	va_end(ap);
}

/* A message of Lua's (infolog() and friends) at a syslog priority. */
static void __attribute__((__format__(__printf__, 2, 3)))
log_pri(int pri, const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	vlog(pri, fmt, ap, NULL);
	va_end(ap);
}

void
log_lua(int pri, const char *msg)
{
	if (pri == LOG_DEBUG)
		log_debug("%s", msg);
	else
		log_pri(pri, "%s", msg);
}

void
log_info(const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	vlog(LOG_INFO, fmt, ap, NULL);
	va_end(ap);
}

/* Open path for the debug messages (append); 0, or -1 with errno. */
int
log_verbose_file(const char *path)
{
	FILE	*f;

	if ((f = fopen(path, "a")) == NULL)
		return -1;
	pthread_mutex_lock(&verbose_lock);
	if (verbose_file != NULL)
		fclose(verbose_file);
	verbose_file = f;
	pthread_mutex_unlock(&verbose_lock);
	return 0;
}

void
log_debug(const char *fmt, ...)
{
	va_list	ap;

	if (!log_verbose && !settings.st_verbose)
		return;
	pthread_mutex_lock(&verbose_lock);
	if (verbose_file != NULL) {
		va_start(ap, fmt);
		vfprintf(verbose_file, fmt, ap);
		va_end(ap);
		fputc('\n', verbose_file);
		fflush(verbose_file);
		pthread_mutex_unlock(&verbose_lock);
		return;
	}
	pthread_mutex_unlock(&verbose_lock);
	va_start(ap, fmt);
	vlog(LOG_DEBUG, fmt, ap, NULL);
	va_end(ap);
}

void
fatal(const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	vlog(LOG_CRIT, fmt, ap, strerror(errno));
	va_end(ap);
	exit(1);
}

void
fatalx(const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	vlog(LOG_CRIT, fmt, ap, NULL);
	va_end(ap);
	exit(1);
}
