/*
 * dnsdist: a DNS, DoS and abuse-aware load balancer.  Start-up: options,
 * the Lua configuration, detaching, listeners, backends and their first
 * health checks, privileges, then the loop.
 */
#include <sys/types.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <dirent.h>
#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "addr.h"
#include "config.h"
#include "dnsdist.h"
#include "lua.h"
#include "netmask.h"
#include "rule.h"
#include "stats.h"

/* The Makefiles set the place each system expects. */
#ifndef DNSDIST_CONFIG
#define DNSDIST_CONFIG	"/etc/dnsdist/dnsdist.conf"
#endif

pthread_rwlock_t	 config_lock = PTHREAD_RWLOCK_INITIALIZER;
lua_State		*config_L;
static time_t		 start_time;
static char		*config_path;	/* absolute, for SIGHUP */
static char		*pid_path;	/* absolute */
static int		 pid_fd = -1;

/* --version: what this build has, named as dnsdist names its features. */
static void
version(void)
{
	printf("dnsdist %s\n", DNSDIST_VERSION);
	printf("Enabled features: cdb dns-over-https(nghttp2)%s dnscrypt "
	    "fstrm ipcipher libsodium lmdb outgoing-dns-over-https(nghttp2) "
	    "protobuf%s\n",
#if defined(DNSDIST_NO_TLS)
	    "",
#elif defined(DNSDIST_TLS_OPENSSL)
	    " dns-over-tls(openssl)",
#else
	    " dns-over-tls(libtls)",
#endif
	    strcmp(compat_mmsg_kind(), "recvmmsg/sendmmsg") == 0 ?
	    " recvmmsg/sendmmsg" : "");
}

static void __attribute__((__noreturn__))
usage(void)
{
	fprintf(stderr, "usage: dnsdist [-hVv] [--check-config] "
	    "[--chroot dir] [--daemon | --foreground | --supervised]\n"
	    "               [--disable-syslog] [--pidfile file] [-a netmask] "
	    "[-C file] [-g group]\n"
	    "               [-k key] [-l address] [-u user] [address ...]\n"
	    "       dnsdist -c [-C file] [-e command] [-k key] [address]\n");
	exit(1);
}

void
record_response(struct server *ds, const uint8_t *pkt, size_t len,
    uint64_t usec, enum stats_proto proto, bool tcp)
{
	double	lat;
	int	rcode;

	(void)len;
	rcode = dnspacket_rcode(pkt);
	stats_inc(STAT_RESPONSES);
	stats_rcode(rcode);
	if (rcode == DNS_RCODE_SERVFAIL)
		stats_inc(STAT_SERVFAIL_RESPONSES);
	stats_latency(proto, usec);
	atomic_fetch_add_explicit(&ds->ds_responses, 1, memory_order_relaxed);
	lat = atomic_load_explicit(&ds->ds_latency, memory_order_relaxed);
	atomic_store_explicit(&ds->ds_latency,
	    lat * 127.0 / 128.0 + (double)usec / 128.0, memory_order_relaxed);
	if (tcp) {
		lat = atomic_load_explicit(&ds->ds_tcplatency,
		    memory_order_relaxed);
		atomic_store_explicit(&ds->ds_tcplatency, lat * 127.0 / 128.0 +
		    (double)usec / 128.0, memory_order_relaxed);
	}
}

int
daemon_publish(void)
{
	int	rc;

	if ((rc = config_publish(dlua_blockfilter_set)) == 1)
		log_debug("daemon_publish: configuration generation %llu",
		    (unsigned long long)config_generation());
	/* The removed servers are in no live snapshot now. */
	if (rc >= 0)
		backend_reap();
	discovery_sync();
	return rc;
}

void
daemon_shutdown(void)
{
	loop_quit = 1;
}

static void
sig_quit(int sig)
{
	(void)sig;
	loop_quit = 1;
}

static void
sig_reload(int sig)
{
	(void)sig;
	loop_reload = 1;
}

/* A Lua hook failed: say so, at most once a second. */
static void
hook_error(const char *msg)
{
	static _Atomic time_t	last;
	static _Atomic unsigned	suppressed;
	time_t			now = time(NULL), prev = atomic_load(&last);

	if (now == prev || !atomic_compare_exchange_strong(&last, &prev,
	    now)) {
		atomic_fetch_add(&suppressed, 1);
		return;
	}
	log_warnx("error in a Lua hook: %s (%u more since the last report)",
	    msg, atomic_exchange(&suppressed, 0));
}

/* Gauges for dumpStats() */

static double
gauge_uptime(void)
{
	return (double)(time(NULL) - start_time);
}

static double
gauge_memory(void)
{
	FILE		*f;
	unsigned long	 size, rss;
	struct rusage	 ru;

	if ((f = fopen("/proc/self/statm", "r")) != NULL) {
		if (fscanf(f, "%lu %lu", &size, &rss) == 2) {
			fclose(f);
			return (double)rss * (double)sysconf(_SC_PAGESIZE);
		}
		fclose(f);
	}
	/* Without /proc, the peak: ru_maxrss is in kilobytes. */
	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_maxrss * 1024.0;
}

static double
gauge_fds(void)
{
	DIR		*d;
	struct dirent	*de;
	int		 n = 0;

	if ((d = opendir("/dev/fd")) == NULL)
		return 0;
	while ((de = readdir(d)) != NULL)
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	return n - 1;		/* not the directory's own descriptor */
}

static double
gauge_cpu(bool user)
{
	struct rusage	ru;
	struct timeval	*tv;

	getrusage(RUSAGE_SELF, &ru);
	tv = user ? &ru.ru_utime : &ru.ru_stime;
	return (double)tv->tv_sec * 1000.0 + (double)(tv->tv_usec / 1000);
}

static double
gauge_cpu_user(void)
{
	return gauge_cpu(true);
}

static double
gauge_cpu_sys(void)
{
	return gauge_cpu(false);
}

/*
 * Look name up in /etc/passwd or /etc/group first, and only then through
 * the C library: a local system user is the common case, and the name
 * service modules that getpwnam(3) may load stay resident for the life of
 * the daemon.  The default user is looked for in the file alone (nss
 * false).  1 found (*id, and *gid for a user), 0 not found.
 */
static int
lookup_id(bool user, const char *name, bool nss, unsigned long *id,
    unsigned long *gid)
{
	struct passwd	*pw;
	struct group	*gr;
	FILE		*fp;
	char		 line[1024], *f[4], *p;
	size_t		 n = strlen(name);
	int		 i, found = 0;

	if ((fp = fopen(user ? "/etc/passwd" : "/etc/group", "r")) != NULL) {
		while (!found && fgets(line, sizeof(line), fp) != NULL) {
			if (strncmp(line, name, n) != 0 || line[n] != ':')
				continue;
			/* name:password:id:gid... */
			for (p = line, i = 0; i < 4 && p != NULL; i++)
				f[i] = strsep(&p, ":\n");
			if (i < (user ? 4 : 3) || *f[2] == '\0')
				continue;
			*id = strtoul(f[2], NULL, 10);
			if (user)
				*gid = strtoul(f[3], NULL, 10);
			found = 1;
		}
		fclose(fp);
	}
	if (found || !nss)
		return found;
	if (user && (pw = getpwnam(name)) != NULL) {
		*id = pw->pw_uid;
		*gid = pw->pw_gid;
		return 1;
	}
	if (!user && (gr = getgrnam(name)) != NULL) {
		*id = gr->gr_gid;
		return 1;
	}
	return 0;
}

/*
 * Give up root once the sockets are bound: -u and -g, or the system's
 * daemon user when root was given neither, and --chroot.
 */
static void
drop_privileges(const char *user, const char *group, const char *dir)
{
	unsigned long	 id, pgid = 0;
	uid_t		 uid = 0;
	gid_t		 gid = 0;
	bool		 setu = false, setg = false, known = false;
	char		*end;

	if (geteuid() == 0 && user == NULL && group == NULL) {
		user = compat_default_user();
		if (!lookup_id(true, user, false, &id, &pgid)) {
			log_warnx("no user %s on this system: running as root; "
			    "create it or give -u and -g", user);
			user = NULL;
		}
	}
	if (group != NULL) {
		if (lookup_id(false, group, true, &id, NULL))
			gid = (gid_t)id;
		else {
			gid = (gid_t)strtoul(group, &end, 10);
			if (*group == '\0' || *end != '\0')
				fatalx("unknown group %s", group);
		}
		setg = true;
	}
	if (user != NULL) {
		if ((known = lookup_id(true, user, true, &id, &pgid)))
			uid = (uid_t)id;
		else {
			uid = (uid_t)strtoul(user, &end, 10);
			if (*user == '\0' || *end != '\0')
				fatalx("unknown user %s", user);
		}
		setu = true;
		if (!setg && known) {
			gid = (gid_t)pgid;
			setg = true;
		}
	}
	if (dir != NULL && (chroot(dir) == -1 || chdir("/") == -1))
		fatal("unable to chroot to %s", dir);
	/* As root, setgid and setuid change the real, effective and saved ids. */
	if (setg && (setgroups(1, &gid) == -1 || setgid(gid) == -1))
		fatal("unable to set group %lu", (unsigned long)gid);
	if (setu && setuid(uid) == -1)
		fatal("unable to set user %lu", (unsigned long)uid);
	if (setu && uid != 0 && (setuid(0) != -1 || seteuid(0) != -1))
		fatalx("root could be regained after dropping it");
	if (setu || setg)
		log_info("running as uid %lu, gid %lu%s%s",
		    (unsigned long)getuid(), (unsigned long)getgid(),
		    dir != NULL ? ", chroot " : "", dir != NULL ? dir : "");
}

/*
 * What a process started with capabilities and not switched to another
 * user (which drops them all) still has, but addCapabilitiesToRetain's:
 * as dnsdist does once its sockets are bound.
 */
static void
drop_capabilities(void)
{
	char	had[512];

	if (compat_caps_drop(settings.st_capretain, had, sizeof(had)) == -1)
		fatal("unable to drop capabilities");
	if (had[0] != '\0')
		log_info("capabilities dropped: %s", had);
}

static void
unveil_log(const char *path)
{
	if (compat_unveil(path, "rwc") == -1)
		log_warn("unveil %s", path);
}

/*
 * Where pledge(2) and unveil(2) exist: files to read again on SIGHUP,
 * LogAction files to open again, /dev/fd for the fd-usage gauge and, for
 * the console on a terminal, its history and the terminal, and no more.
 */
static void
sandbox(bool tty)
{
	const char	*home;
	char		 hist[PATH_MAX];

	if (compat_unveil(config_path, "r") == -1)
		log_warn("unveil %s", config_path);
	if (compat_unveil("/dev/fd", "r") == -1)
		log_warn("unveil /dev/fd");
	action_log_paths(unveil_log);
	if (settings.st_apiconfdir != NULL &&
	    compat_unveil(settings.st_apiconfdir, "rwc") == -1)
		log_warn("unveil %s", settings.st_apiconfdir);
	if (tty && (home = getenv("HOME")) != NULL) {
		snprintf(hist, sizeof(hist), "%s/.dnsdist_history", home);
		unveil_log(hist);
	}
	if (compat_unveil(NULL, NULL) == -1)
		fatal("unveil");
	if (compat_pledge(tty ? "stdio rpath wpath cpath inet tty" :
	    "stdio rpath wpath cpath inet") == -1)
		fatal("pledge");
}

/* A name that stays right after chdir("/"), or NULL. */
static char *
absolute(const char *path)
{
	char	 cwd[PATH_MAX], *abs;
	size_t	 len;

	if (path[0] == '/')
		return strdup(path);
	if (getcwd(cwd, sizeof(cwd)) == NULL)
		return NULL;
	len = strlen(cwd) + 1 + strlen(path) + 1;
	if ((abs = malloc(len)) != NULL)
		snprintf(abs, len, "%s/%s", cwd, path);
	return abs;
}

/*
 * Detach from the terminal.  The parent waits until the child is ready to
 * answer queries, or has failed, and exits 0 or with the child's status,
 * so that a script can query as soon as dnsdist returns.  The child gets
 * the pipe on which daemon_ready() says so.
 */
static int
daemon_detach(void)
{
	int	fds[2], status = 0;
	pid_t	pid;
	ssize_t	n;
	char	c;

	if (pipe(fds) == -1)
		err(1, "pipe");
	fflush(NULL);
	if ((pid = fork()) == -1)
		err(1, "fork");
	if (pid == 0) {
		close(fds[0]);
		if (fcntl(fds[1], F_SETFD, FD_CLOEXEC) == -1 ||
		    setsid() == -1)
			err(1, "detach");
		return fds[1];
	}
	close(fds[1]);
	while ((n = read(fds[0], &c, 1)) == -1 && errno == EINTR)
		;
	if (n == 1)
		_exit(0);
	/* It said why on standard error. */
	while (waitpid(pid, &status, 0) == -1 && errno == EINTR)
		;
	if (WIFEXITED(status) && WEXITSTATUS(status) != 0)
		_exit(WEXITSTATUS(status));
	_exit(1);
}

/* Started: standard input and output become /dev/null, the parent exits. */
static void
daemon_ready(int fd, int devnull)
{
	log_detach();
	fflush(NULL);
	if (dup2(devnull, STDIN_FILENO) == -1 ||
	    dup2(devnull, STDOUT_FILENO) == -1 ||
	    dup2(devnull, STDERR_FILENO) == -1)
		fatal("dup2");
	if (devnull > STDERR_FILENO)
		close(devnull);
	if (write(fd, "r", 1) != 1)
		fatal("unable to tell the parent process");
	close(fd);
}

static void
daemon_unpid(void)
{
	/* Without the right to unlink it (after -u), leave it empty. */
	if (unlink(pid_path) == -1 && ftruncate(pid_fd, 0) == -1)
		log_warn("unable to remove %s", pid_path);
	close(pid_fd);
}

/* The pid file, locked while we run, so a second instance stops. */
static void
daemon_pid(const char *path)
{
	char	buf[32];
	int	len;

	if ((pid_path = absolute(path)) == NULL)
		err(1, "%s", path);
	if ((pid_fd = open(pid_path, O_WRONLY | O_CREAT | O_CLOEXEC,
	    0644)) == -1)
		err(1, "%s", pid_path);
	if (flock(pid_fd, LOCK_EX | LOCK_NB) == -1)
		errx(1, "%s: locked by a running dnsdist", pid_path);
	len = snprintf(buf, sizeof(buf), "%ld\n", (long)getpid());
	if (ftruncate(pid_fd, 0) == -1 || write(pid_fd, buf, (size_t)len) !=
	    len)
		err(1, "%s", pid_path);
	atexit(daemon_unpid);
}

/*
 * SIGHUP: open LogAction files again (after rotation), and read the
 * configuration file again into a new configuration (reload.c); a file
 * with errors changes nothing.
 */
void
daemon_reload(void)
{
	struct sbuf	out;
	int		failed;

	if ((failed = action_log_reopen()) > 0)
		log_warnx("SIGHUP: %d LogAction file(s) could not be opened "
		    "again and keep the old file", failed);
	sbuf_init(&out);
	(void)reload_now(&out);
	sbuf_free(&out);
}

static void
print_acl(void)
{
	char		buf[NETMASK_MAXTEXT];
	struct sbuf	sb;
	size_t		i;

	sbuf_init(&sb);
	for (i = 0; i < settings.st_acl.ng_count; i++)
		sbuf_printf(&sb, "%s%s", i ? ", " : "", netmask_to_text(
		    &settings.st_acl.ng_masks[i], buf, sizeof(buf)));
	log_info("ACL allowing queries from: %s", sbuf_text(&sb));
	sbuf_free(&sb);
}

struct cmdline {
	const char	 *config;
	bool		  config_given;
	bool		  check;
	bool		  supervised;
	bool		  daemon;	/* --daemon: always detach */
	bool		  foreground;	/* --foreground: never */
	const char	 *pidfile;
	const char	 *chroot;
	bool		  nosyslog;
	bool		  verbose;
	const char	 *user;
	const char	 *group;
	bool		  client;	/* -c, -e */
	const char	 *command;	/* -e */
	const char	 *key;		/* -k */
	char		**locals;
	size_t		  nlocals;
	char		**acls;
	size_t		  nacls;
};

static void
push_arg(char ***list, size_t *n, char *arg)
{
	char	**nl;

	if ((nl = reallocarray(*list, *n + 1, sizeof(*nl))) == NULL)
		err(1, NULL);
	nl[(*n)++] = arg;
	*list = nl;
}

static void
parse_args(int argc, char *argv[], struct cmdline *cl)
{
	enum { OPT_CHECK = 256, OPT_SUPERVISED, OPT_NOSYSLOG, OPT_DAEMON,
	    OPT_FOREGROUND, OPT_PIDFILE, OPT_CHROOT };
	static const struct option longopts[] = {
		{ "acl", required_argument, NULL, 'a' },
		{ "config", required_argument, NULL, 'C' },
		{ "check-config", no_argument, NULL, OPT_CHECK },
		{ "chroot", required_argument, NULL, OPT_CHROOT },
		{ "client", no_argument, NULL, 'c' },
		{ "daemon", no_argument, NULL, OPT_DAEMON },
		{ "disable-syslog", no_argument, NULL, OPT_NOSYSLOG },
		{ "execute", required_argument, NULL, 'e' },
		{ "foreground", no_argument, NULL, OPT_FOREGROUND },
		{ "gid", required_argument, NULL, 'g' },
		{ "help", no_argument, NULL, 'h' },
		{ "local", required_argument, NULL, 'l' },
		{ "pidfile", required_argument, NULL, OPT_PIDFILE },
		{ "setkey", required_argument, NULL, 'k' },
		{ "supervised", no_argument, NULL, OPT_SUPERVISED },
		{ "uid", required_argument, NULL, 'u' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 }
	};
	int	ch;

	memset(cl, 0, sizeof(*cl));
	cl->config = DNSDIST_CONFIG;
	while ((ch = getopt_long(argc, argv, "a:cC:e:g:hk:l:u:vV", longopts,
	    NULL)) != -1) {
		switch (ch) {
		case 'a':
			push_arg(&cl->acls, &cl->nacls, optarg);
			break;
		case 'C':
			cl->config = optarg;
			cl->config_given = true;
			break;
		case 'c':
			cl->client = true;
			break;
		case 'e':
			cl->client = true;
			cl->command = optarg;
			break;
		case 'g':
			cl->group = optarg;
			break;
		case 'k':
			cl->key = optarg;
			break;
		case 'l':
			push_arg(&cl->locals, &cl->nlocals, optarg);
			break;
		case 'u':
			cl->user = optarg;
			break;
		case 'v':
			cl->verbose = true;
			break;
		case 'V':
			version();
			exit(0);
		case OPT_CHECK:
			cl->check = true;
			break;
		case OPT_SUPERVISED:
			cl->supervised = true;
			break;
		case OPT_NOSYSLOG:
			cl->nosyslog = true;
			break;
		case OPT_DAEMON:
			cl->daemon = true;
			break;
		case OPT_FOREGROUND:
			cl->foreground = true;
			break;
		case OPT_PIDFILE:
			cl->pidfile = optarg;
			break;
		case OPT_CHROOT:
			cl->chroot = optarg;
			break;
		case 'h':
		default:
			usage();
		}
	}
	if (cl->daemon + cl->foreground + cl->supervised > 1)
		usage();
}

/* Servers named on the command line, then the configuration file. */
static void
load_config(struct cmdline *cl, int argc, char *argv[])
{
	struct sbuf	 out, errb;
	struct server	*ds;
	struct stat	 st;
	int		 i, rc = 0;

	sbuf_init(&out);
	sbuf_init(&errb);
	for (i = 0; i < argc; i++) {
		if ((ds = server_new(argv[i])) == NULL)
			errx(1, "bad downstream address '%s'", argv[i]);
		if (server_register(ds) == -1)
			err(1, NULL);
		server_unref(ds);
		if (!cl->check)
			printf("Added downstream server %s\n", ds->ds_addrtext);
	}
	/* The default file may be absent; a named one must be there. */
	if (cl->config_given || cl->check || stat(cl->config, &st) == 0)
		rc = dlua_run_file(config_L, cl->config, &out, &errb);
	else
		warnx("no configuration file %s: running on the command line's "
		    "settings", cl->config);
	if (!cl->check)
		fputs(sbuf_text(&out), stdout);
	if (rc == -1) {
		fprintf(stderr, "%s\n", sbuf_text(&errb));
		if (cl->check)
			fprintf(stderr, "Configuration '%s' has errors\n",
			    cl->config);
		exit(1);
	}
	if (cl->check) {
		/* What dnsdist says of its own check, and nothing else. */
		for (i = 0; i < (int)settings.st_nlocals; i++)
			if (settings.st_locals[i].lc_doh != NULL &&
			    settings.st_locals[i].lc_tls == NULL)
				printf("No certificate provided for DoH "
				    "endpoint %s, running in DNS over HTTP "
				    "mode instead of DNS over HTTPS\n",
				    settings.st_locals[i].lc_text);
		printf("Configuration '%s' OK!\n", cl->config);
		exit(0);
	}
	sbuf_free(&out);
	sbuf_free(&errb);
	fflush(stdout);
}

static void
apply_cmdline(struct cmdline *cl)
{
	size_t	i;

	/* -l replaces the configuration's listeners. */
	if (cl->nlocals > 0) {
		settings_clear_locals();
		for (i = 0; i < cl->nlocals; i++)
			if (settings_add_local(cl->locals[i], 53, false, 0) == NULL)
				errx(1, "bad listen address '%s'",
				    cl->locals[i]);
	}
	if (settings.st_nlocals == 0 &&
	    settings_add_local("127.0.0.1:53", 53, false, 0) == NULL)
		errx(1, "default listen address");
}

/*
 * -a replaces the default ACL before the file runs, as dnsdist's does:
 * the file's setACL() replaces it in turn, its addACL() adds to it.
 */
static void
apply_cmdline_acl(struct cmdline *cl)
{
	size_t	i;

	if (cl->nacls > 0) {
		netmask_group_clear(&settings.st_acl);
		for (i = 0; i < cl->nacls; i++)
			if (netmask_group_add_text(&settings.st_acl,
			    cl->acls[i]) == -1)
				errx(1, "bad ACL netmask '%s'", cl->acls[i]);
	}
}

/*
 * As many descriptors as the system lets us have, since each TCP client
 * takes one: the soft limit goes up to the hard one (at most MAXFDS).
 */
#define MAXFDS	1048576

static void
raise_fd_limit(void)
{
	struct rlimit	rl;
	rlim_t		want;

	if (getrlimit(RLIMIT_NOFILE, &rl) == -1)
		return;
	want = rl.rlim_max == RLIM_INFINITY || rl.rlim_max > MAXFDS ?
	    MAXFDS : rl.rlim_max;
	if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < want) {
		rl.rlim_cur = want;
		if (setrlimit(RLIMIT_NOFILE, &rl) == -1)
			log_debug("main: descriptor limit: %s", strerror(errno));
	}
}

static void
setup_signals(void)
{
	struct sigaction	sa;

	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	sa.sa_handler = sig_quit;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sa.sa_handler = sig_reload;
	sigaction(SIGHUP, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
}

int
main(int argc, char *argv[])
{
	/* Static: the -a and -l lists live as long as the process. */
	static struct cmdline	cl;
	sigset_t	sigs, oldsigs;
	bool		detach, console;
	int		readyfd = -1, devnull = -1;

	parse_args(argc, argv, &cl);
	argc -= optind;
	argv += optind;
	if (sodium_init() == -1)
		errx(1, "libsodium initialisation failed");
	start_time = time(NULL);
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (settings_init() == -1 || (config_L = dlua_open()) == NULL)
		err(1, NULL);
	remotelog_init();
	dlua_host.h_shutdown = daemon_shutdown;
	dlua_host.h_show_binds = frontend_show_binds;
	dlua_host.h_show_tcp_stats = tcp_show_stats;
	dlua_host.h_hook_error = hook_error;
	dlua_host.h_reload = reload_request;
	dlua_host.h_log = log_lua;
	dlua_host.h_verbose_log = log_verbose_file;
	async_init();
	stats_set_gauge("uptime", gauge_uptime);
	stats_set_gauge("real-memory-usage", gauge_memory);
	stats_set_gauge("fd-usage", gauge_fds);
	stats_set_gauge("cpu-user-msec", gauge_cpu_user);
	stats_set_gauge("cpu-sys-msec", gauge_cpu_sys);
	sysstats_init();
	maint_init();
	if (cl.key != NULL) {
		if (settings_set_console_key(cl.key) == -1)
			errx(1, "-k: the key must be the base64 of 32 bytes, "
			    "as makeKey() prints");
		settings.st_consolekeycmdline = true;
	}
	if (cl.client) {
		settings.st_clientmode = true;
		if (argc > 1)
			usage();
		return client_main(cl.config, cl.config_given,
		    argc > 0 ? argv[0] : NULL, cl.command);
	}

	/* This thread runs the health checks: its waits for Lua come first. */
	dlua_urgent = true;
	reload_setup(argv, argc, cl.acls, cl.nacls, cl.nlocals > 0);
	settings.st_configcheck = cl.check;
	settings.st_verbose = cl.verbose;
	apply_cmdline_acl(&cl);
	load_config(&cl, argc, argv);
	apply_cmdline(&cl);
	dlua_activate(config_L);
	if ((config_path = absolute(cl.config)) == NULL)
		err(1, "%s", cl.config);
	reload_set_path(config_path);

	/* A terminal gets the console; anything else a daemon. */
	detach = cl.daemon || (!cl.supervised && !cl.foreground &&
	    !isatty(STDIN_FILENO));
	console = !detach && !cl.supervised;
	if (detach) {
		if ((devnull = open("/dev/null", O_RDWR)) == -1)
			err(1, "/dev/null");
		readyfd = daemon_detach();
	}
	if (cl.pidfile != NULL)
		daemon_pid(cl.pidfile);
	if (detach && chdir("/") == -1)
		err(1, "chdir /");
	log_init(!cl.nosyslog, cl.verbose);
	setup_signals();
	raise_fd_limit();

	loop_init();
	frontend_bind_all();
	loop_udp_init();
	control_start();
	web_start();
	settings.st_running = true;
	backend_start();
	if (backend_sync() == -1)
		fatalx("unable to set up the backends");
	/* Before the snapshot whose rules use them goes live. */
	remotelog_start();
	if (daemon_publish() == -1)
		fatalx("unable to publish the configuration");
	health_initial();
	health_start();
	drop_privileges(cl.user, cl.group, cl.chroot);
	drop_capabilities();
	sandbox(console && isatty(STDIN_FILENO));

	print_acl();
	log_debug("main: datagram I/O with %s", compat_mmsg_kind());
	frontend_start();
	/* Signals go to the loop's thread, which they wake. */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &sigs, &oldsigs);
	tcp_start();
	tls_start();
	loop_udp_start();
	maint_start();
	discovery_start();
	web_run();
	carbon_start();
	if (console)
		console_start(isatty(STDIN_FILENO));
	pthread_sigmask(SIG_SETMASK, &oldsigs, NULL);
	if (detach)
		daemon_ready(readyfd, devnull);
	loop_run();

	if (console)
		console_stop();
	maint_stop_thread();
	discovery_stop();
	carbon_stop();
	web_stop();
	tcp_stop();
	remotelog_stop();
	tls_stop();
	control_stop();
	backend_close_all();
	dlua_close(config_L);
	async_shutdown();
	return 0;
}
